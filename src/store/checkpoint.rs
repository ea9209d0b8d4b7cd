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
//! A flood of back-to-back writes leaves no quiet moment for a complete round; past a cap the
//! thread makes one, holding writers back briefly (see [`checkpoint_and_restart`]), so that the
//! log stays bounded.
//!
//! The wasm build has no threads: there the JS host calls [`super::Store::checkpoint_if_written`]
//! from a timer when its event loop is idle, between calls, and the same
//! [`checkpoint_and_restart`] runs on the one connection.

use rusqlite::Connection;

#[cfg(not(target_arch = "wasm32"))]
pub(super) use background::Checkpointer;

/// The log file is truncated back to this size when the checkpointer restarts it.
pub(super) const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;
/// Default log length at which a round stops waiting for a quiet moment and makes one (see
/// [`checkpoint_and_restart`]): 1 GiB. A live server's writes leave quiet moments many times a
/// second, so only a flood of back-to-back writes lasting several seconds (a runaway loop in
/// some resource) ever reaches it; the benchmark's blocks of 11,000 writes (up to ~750 MB of
/// log) stay under it.
pub(super) const DEFAULT_LOG_CAP_BYTES: u64 = 1 << 30;
/// Before the RESTART checkpoint past the cap, PASSIVE rounds repeat (at most this many) until
/// one copies no more than [`CATCH_UP_FRAMES`], so that the RESTART holds writers back only
/// for that little copying and its syncs.
const CATCH_UP_ROUNDS: usize = 8;
const CATCH_UP_FRAMES: i64 = 256;
/// The RESTART runs only when no more than this is left to copy (8 MiB; a round's worth of a
/// flood is ~1,000 frames here): a catch-up that did not get there (a busy round) waits for the
/// next tick rather than hold writers back while it copies much.
const RESTART_MAX_LEFT: i64 = 2048;

/// A PASSIVE checkpoint and, when it copied the whole log, the one-row `wal_marker` commit that
/// restarts the log on this connection (header rewrite, fsync, truncation to
/// `journal_size_limit`) instead of in the next player-facing commit.
///
/// Under a flood of writes with no pause of a few milliseconds (one commit every ~100 µs in
/// the benchmark) a PASSIVE round never completes: a commit always lands while it copies and
/// syncs, and the log can only restart when no commit followed the copy. The log then grows
/// (~150 MB a second of back-to-back sends here) until the flood pauses, when the next quiet
/// round restarts it and truncates it back to [`JOURNAL_SIZE_LIMIT`]; or until it reaches
/// `cap_frames`. Past the cap the round catches up with PASSIVE rounds and then runs a
/// RESTART checkpoint, which holds new writers back while it copies the little left and
/// syncs, and waits for readers to leave the log; the marker commit follows at once. Writers
/// on other connections wait that long, the only time a caller ever waits on a checkpoint:
/// tens of milliseconds on the development VM (its fsyncs are slow), once per cap's worth of
/// log, and only in such a flood. Unbounded, the log would fill the disk instead.
///
/// The marker commit runs only when `quiet()` says no other connection committed during the
/// round (or after a RESTART): otherwise the log cannot restart, and the commit would only hold
/// the write lock for nothing. During a flood that was a ~2 ms wait for the caller's next
/// write after every round, four times a second.
///
/// Returns `true` when the log was copied completely (nothing left for a later round).
pub(super) fn checkpoint_and_restart(
    conn: &Connection,
    cap_frames: i64,
    quiet: impl FnOnce() -> rusqlite::Result<bool>,
) -> rusqlite::Result<bool> {
    let mut outcome = checkpoint(conn, "PRAGMA wal_checkpoint(PASSIVE)")?;
    let forced = outcome.1 >= cap_frames;
    if forced {
        // Catch up without holding anyone back first: each PASSIVE round copies what came in
        // during the previous one, so the rounds shrink to what the writers add meanwhile;
        // only then hold writers back, for a copy that small.
        for _ in 0..CATCH_UP_ROUNDS {
            let copied_before = outcome.2;
            outcome = checkpoint(conn, "PRAGMA wal_checkpoint(PASSIVE)")?;
            if outcome.0 != 0 || outcome.2 - copied_before <= CATCH_UP_FRAMES {
                break;
            }
        }
        let (busy, log_frames, copied) = outcome;
        if busy != 0 || log_frames - copied > RESTART_MAX_LEFT {
            return Ok(false);
        }
        outcome = checkpoint(conn, "PRAGMA wal_checkpoint(RESTART)")?;
    }
    let (busy, log_frames, copied) = outcome;
    let complete = busy == 0 && copied == log_frames;
    if complete && log_frames > 0 && (forced || quiet()?) {
        conn.prepare_cached("UPDATE wal_marker SET n = n + 1 WHERE id = 1")?.execute([])?;
    }
    Ok(complete)
}

/// Runs one `PRAGMA wal_checkpoint(...)`: (busy, frames in the log, frames copied).
fn checkpoint(conn: &Connection, pragma: &'static str) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row(pragma, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
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
        /// Starts the thread on its own connection to `path`; `cap_frames`: see
        /// [`checkpoint_and_restart`].
        pub(in crate::store) fn start(path: &Path, cap_frames: i64) -> Result<Self> {
            let mut conn = crate::store::connect(path)?;
            conn.busy_handler(Some(wait_briefly))?;
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
            let stop = Arc::new((Mutex::new(false), Condvar::new()));
            let signal = Arc::clone(&stop);
            let thread = std::thread::Builder::new()
                .name("darkchat-checkpoint".into())
                .spawn(move || run(conn, cap_frames, &signal))
                .map_err(|e| Error::Unusable(format!("cannot start thread: {e}")))?;
            Ok(Checkpointer { stop, thread: Some(thread) })
        }
    }

    fn run(conn: Connection, cap_frames: i64, stop: &(Mutex<bool>, Condvar)) {
        let (lock, wake) = stop;
        let mut last_seen = None;
        let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
        while !*stopped {
            let (guard, _) =
                wake.wait_timeout(stopped, INTERVAL).unwrap_or_else(|p| p.into_inner());
            stopped = guard;
            // A busy or failed step is simply retried on the next tick: nothing is lost, the
            // log only grows a little longer meanwhile.
            let _ = tick(&conn, cap_frames, &mut last_seen);
        }
    }

    /// One round: checkpoint if another connection committed since the last round, and
    /// restart the log here when the checkpoint copied all of it.
    fn tick(
        conn: &Connection,
        cap_frames: i64,
        last_seen: &mut Option<i64>,
    ) -> rusqlite::Result<()> {
        // `data_version` changes only for commits of *other* connections: the marker does not
        // count, so an idle server does no I/O at all.
        let version = data_version(conn)?;
        if *last_seen == Some(version) {
            return Ok(());
        }
        let quiet = || Ok(data_version(conn)? == version);
        if checkpoint_and_restart(conn, cap_frames, quiet)? {
            *last_seen = Some(version);
        }
        Ok(())
    }

    fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
        conn.pragma_query_value(None, "data_version", |r| r.get(0))
    }

    /// The checkpointer's busy handler: short naps, and not for long. A RESTART checkpoint
    /// waits for readers while it holds writers back, so it gives up rather than hold them long
    /// (the next tick tries again); SQLite's own `busy_timeout` naps 1, 2, 5, 10 ms... and misses
    /// the short gaps between a writer's transactions.
    fn wait_briefly(attempt: i32) -> bool {
        const NAP: Duration = Duration::from_micros(50);
        const NAPS: i32 = 100;
        if attempt >= NAPS {
            return false;
        }
        std::thread::sleep(NAP);
        true
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
