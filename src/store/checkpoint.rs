//! Background WAL checkpoints.
//!
//! Why: with `wal_autocheckpoint` on, the commit that crosses the threshold copies the log into
//! the database and fsyncs it, on the caller's thread: a multi-millisecond hitch for every
//! player on a FiveM server. Here a thread with its own connection runs a PASSIVE checkpoint
//! every [`INTERVAL`] (it never blocks writers or readers), and SQLite restarts the log from
//! its beginning on the next commit once it is fully copied, so the log stays bounded.
//!
//! Not built for wasm32 (no threads there; that host checkpoints between calls).

#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::Result;

const INTERVAL: Duration = Duration::from_millis(250);

pub(super) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_millis(100))?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("darkchat-checkpoint".into())
            .spawn(move || run(conn, &signal))
            .map_err(|e| crate::error::Error::Unusable(format!("cannot start thread: {e}")))?;
        Ok(Checkpointer { stop, thread: Some(thread) })
    }
}

fn run(conn: Connection, stop: &(Mutex<bool>, Condvar)) {
    let (lock, wake) = stop;
    let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
    while !*stopped {
        let (guard, _) = wake.wait_timeout(stopped, INTERVAL).unwrap_or_else(|p| p.into_inner());
        stopped = guard;
        // A busy or failed checkpoint is simply retried on the next tick: nothing is lost,
        // the log only grows a little longer meanwhile.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
