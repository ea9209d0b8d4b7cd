//! Background WAL checkpoints.
//!
//! Why: with `wal_autocheckpoint` on, the commit that crosses the threshold copies the log into
//! the database and fsyncs it, on the caller's thread: a multi-millisecond hitch for every
//! player on a FiveM server. Here a thread with its own connection runs a PASSIVE checkpoint
//! every [`INTERVAL`] when something was committed since the last one (a PASSIVE checkpoint
//! never blocks writers or readers).
//!
//! The log must also be *restarted* from its beginning once fully copied, or it grows forever.
//! SQLite does that in the first commit after a complete checkpoint: it rewrites the log
//! header, fsyncs it and truncates the file to `journal_size_limit`. So that this commit is not
//! a player's, the thread makes it itself, straight after each complete checkpoint, by bumping
//! the one-row `wal_marker` table; only this connection sets `journal_size_limit`, so a rare
//! restart that does land on the caller's connection (a write slipping in between) never
//! truncates there.
//!
//! The wasm build has no threads: there the JS host calls [`super::Store::checkpoint_if_written`]
//! from a timer when its event loop is idle, between calls, and the same
//! [`checkpoint_and_restart`] runs on the one connection.

use rusqlite::Connection;

#[cfg(not(target_arch = "wasm32"))]
pub(super) use background::Checkpointer;

/// The log file is truncated back to this size when the checkpointer restarts it.
pub(super) const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// A PASSIVE checkpoint and, when it copied the whole log, the one-row `wal_marker` commit that
/// restarts the log on this connection (header rewrite, fsync, truncation to
/// `journal_size_limit`) instead of in the next player-facing commit.
///
/// Under a flood of writes with no pause of a few milliseconds (one commit every ~100 µs in
/// the benchmark) the restart never happens: a commit always lands while the round copies and
/// syncs, and the log can only restart when no commit followed the copy. The log then grows
/// until the flood pauses (~150 MB a second of back-to-back sends here), and the next quiet
/// round restarts it and truncates it back to [`JOURNAL_SIZE_LIMIT`]. Forcing the restart
/// means holding writers back across a checkpoint's fsyncs (a RESTART checkpoint): tried,
/// that stalled the caller's writes for 20 ms to 2.8 s on this VM, so it is not done.
///
/// Returns `true` when the log was copied completely (nothing left for a later round).
pub(super) fn checkpoint_and_restart(conn: &Connection) -> rusqlite::Result<bool> {
    let (busy, log_frames, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 || copied != log_frames {
        return Ok(false);
    }
    if log_frames > 0 {
        conn.execute("UPDATE wal_marker SET n = n + 1 WHERE id = 1", [])?;
    }
    Ok(true)
}

/// The native build's checkpoint thread.
#[cfg(not(target_arch = "wasm32"))]
mod background {
    use std::path::Path;
    use std::sync::{Arc, Condvar, Mutex};
    use std::thread::JoinHandle;
    use std::time::Duration;

    use rusqlite::Connection;

    use super::{checkpoint_and_restart, JOURNAL_SIZE_LIMIT};
    use crate::error::{Error, Result};

    const INTERVAL: Duration = Duration::from_millis(250);

    pub(in crate::store) struct Checkpointer {
        stop: Arc<(Mutex<bool>, Condvar)>,
        thread: Option<JoinHandle<()>>,
    }

    impl Checkpointer {
        pub(in crate::store) fn start(path: &Path) -> Result<Self> {
            let conn = crate::store::connect(path)?;
            conn.busy_timeout(Duration::from_millis(100))?;
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
            let stop = Arc::new((Mutex::new(false), Condvar::new()));
            let signal = Arc::clone(&stop);
            let thread = std::thread::Builder::new()
                .name("darkchat-checkpoint".into())
                .spawn(move || run(conn, &signal))
                .map_err(|e| Error::Unusable(format!("cannot start thread: {e}")))?;
            Ok(Checkpointer { stop, thread: Some(thread) })
        }
    }

    fn run(conn: Connection, stop: &(Mutex<bool>, Condvar)) {
        let (lock, wake) = stop;
        let mut last_seen = None;
        let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
        while !*stopped {
            let (guard, _) =
                wake.wait_timeout(stopped, INTERVAL).unwrap_or_else(|p| p.into_inner());
            stopped = guard;
            // A busy or failed step is simply retried on the next tick: nothing is lost, the
            // log only grows a little longer meanwhile.
            let _ = tick(&conn, &mut last_seen);
        }
    }

    /// One round: checkpoint if another connection committed since the last round, and
    /// restart the log here when the checkpoint copied all of it.
    fn tick(conn: &Connection, last_seen: &mut Option<i64>) -> rusqlite::Result<()> {
        // `data_version` changes only for commits of *other* connections: the marker does not
        // count, so an idle server does no I/O at all.
        let version: i64 = conn.pragma_query_value(None, "data_version", |r| r.get(0))?;
        if *last_seen == Some(version) {
            return Ok(());
        }
        if checkpoint_and_restart(conn)? {
            *last_seen = Some(version);
        }
        Ok(())
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
}
