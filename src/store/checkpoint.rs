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
//! a player's, the thread makes it itself, straight after a complete checkpoint that no other
//! commit interrupted, by bumping the one-row `wal_marker` table; only this connection sets
//! `journal_size_limit`, so a rare restart that does land on the caller's connection (a write
//! slipping in between) never truncates there.
//!
//! A flood of back-to-back writes leaves no quiet moment for a complete round; past a cap the
//! thread makes one, holding writers back briefly (see [`checkpoint_and_restart`]), so that the
//! log stays bounded.
//!
//! The wasm build has no threads: there the JS host calls [`super::Store::checkpoint_if_written`]
//! ([`copy_log`]) from a timer when its event loop is idle, between calls, and
//! [`super::Store::restart_log`] ([`marker_commit`]) once the database file is synced.

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
/// one copies no more than [`CATCH_UP_FRAMES`] (what came in while the previous one ran), so
/// that the RESTART holds writers back only for about that much copying.
#[cfg(not(target_arch = "wasm32"))]
const CATCH_UP_ROUNDS: usize = 8;
#[cfg(not(target_arch = "wasm32"))]
const CATCH_UP_FRAMES: i64 = 256;
/// The RESTART runs only when the last catch-up round copied no more than this (8 MiB; a
/// round's worth of a flood is ~1,000 frames here): a catch-up that did not settle (a slow disk,
/// a faster writer, a busy round) waits for the next tick rather than hold writers back while
/// it copies much; unless the log has reached [`INSIST_FACTOR`] times the cap.
#[cfg(not(target_arch = "wasm32"))]
const RESTART_MAX_FRAMES: i64 = 2048;
/// Past this many times the cap the RESTART runs even when the catch-up did not settle. Why:
/// a writer that adds more per round than the disk copies in one (a slow disk, a fast flood)
/// would otherwise never let the catch-up settle, and the log would grow without end; holding
/// writers back for a longer copy, once, is the lesser harm.
#[cfg(not(target_arch = "wasm32"))]
const INSIST_FACTOR: i64 = 2;

/// A PASSIVE checkpoint and, when it copied the whole log, the one-row `wal_marker` commit that
/// restarts the log on this connection (header rewrite, fsync, truncation to
/// `journal_size_limit`) instead of in the next player-facing commit.
///
/// Under a flood of writes with no pause of a few milliseconds (one commit every ~100 µs in
/// the benchmark) a PASSIVE round never completes: a commit always lands while it copies and
/// syncs, and the log can only restart when no commit followed the copy. The log then grows
/// (~150 MB a second of back-to-back sends here) until the flood pauses, when the next quiet
/// round restarts it and truncates it back to [`JOURNAL_SIZE_LIMIT`]; or until it reaches
/// `cap_frames`. Past the cap the round catches up with PASSIVE rounds, syncs the database
/// file, and then runs a RESTART checkpoint, which holds new writers back while it copies the
/// little left and syncs, and waits for readers to leave the log; the marker commit follows at
/// once (a writer already waiting may beat it, and then restarts the log itself, with the
/// header's fsync). Writers on other connections wait that long, the only time a caller ever
/// waits on a checkpoint: 2–15 ms on the development VM (instrumented),
/// once per cap's worth of log, and only in such a flood. Unbounded, the log would fill the
/// disk instead.
///
/// Why the separate sync: a PASSIVE round syncs the database file only when no commit landed
/// while it ran, so during a flood none does, and the RESTART's own sync, made while it holds
/// writers back, would flush every page the flood's rounds copied (the 20 ms–2.8 s stalls of an
/// earlier attempt without it).
///
/// The marker commit runs only when `quiet()` says no other connection committed during the
/// round (or after a RESTART): otherwise the log cannot restart, and the commit would only hold
/// the write lock for nothing. During a flood that was a ~2 ms wait for the caller's next
/// write after every round, four times a second.
///
/// Returns `true` when the log was copied completely (nothing left for a later round).
#[cfg(not(target_arch = "wasm32"))]
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
        let mut last_round = i64::MAX;
        for _ in 0..CATCH_UP_ROUNDS {
            let copied_before = outcome.2;
            outcome = checkpoint(conn, "PRAGMA wal_checkpoint(PASSIVE)")?;
            last_round = outcome.2 - copied_before;
            if outcome.0 != 0 || last_round <= CATCH_UP_FRAMES {
                break;
            }
        }
        let insist = outcome.1 >= cap_frames.saturating_mul(INSIST_FACTOR);
        if outcome.0 != 0 || (last_round > RESTART_MAX_FRAMES && !insist) {
            return Ok(false);
        }
        #[cfg(not(target_arch = "wasm32"))]
        sync_database_file(conn)?;
        outcome = checkpoint(conn, "PRAGMA wal_checkpoint(RESTART)")?;
    }
    let (busy, log_frames, copied) = outcome;
    let complete = busy == 0 && copied == log_frames;
    if complete && log_frames > 0 && (forced || quiet()?) {
        marker_commit(conn)?;
    }
    Ok(complete)
}

/// One PASSIVE checkpoint: (busy, frames in the log, frames copied).
#[cfg(target_arch = "wasm32")]
pub(super) fn copy_log(conn: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    checkpoint(conn, "PRAGMA wal_checkpoint(PASSIVE)")
}

/// The marker commit, a one-row commit of its own: after a complete checkpoint the first
/// commit restarts the log, and at an open (see [`super::Store::open_announcing`]) the first
/// commit into a fresh log starts it; either way that commit writes the log's header and syncs
/// it, so this one does, not a caller's.
pub(super) fn marker_commit(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE wal_marker SET n = n + 1 WHERE id = 1")?.execute([])?;
    Ok(())
}

/// Runs one `PRAGMA wal_checkpoint(...)`: (busy, frames in the log, frames copied).
fn checkpoint(conn: &Connection, pragma: &'static str) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row(pragma, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
}

/// fsyncs the database file through `conn`'s own open file (SQLite's VFS `xSync`).
///
/// Why not a `File` of our own: closing any descriptor of a file drops all of this process's
/// POSIX locks on it, the other connections' included.
#[cfg(not(target_arch = "wasm32"))]
fn sync_database_file(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::ffi;
    let failed = |rc| rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None);
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: `conn` is open and used only on this thread; SQLITE_FCNTL_FILE_POINTER writes the
    // main database's `sqlite3_file` (owned by the connection, open for its whole life) into
    // `file`, and `xSync` is that file's own method, called as SQLite itself calls it.
    unsafe {
        let rc = ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            (&mut file as *mut *mut ffi::sqlite3_file).cast(),
        );
        if rc != ffi::SQLITE_OK {
            return Err(failed(rc));
        }
        let sync = file.as_ref().and_then(|f| f.pMethods.as_ref()).and_then(|m| m.xSync);
        let Some(sync) = sync else { return Err(failed(ffi::SQLITE_MISUSE)) };
        match sync(file, ffi::SQLITE_SYNC_NORMAL) {
            ffi::SQLITE_OK => Ok(()),
            rc => Err(failed(rc)),
        }
    }
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
    /// At most this much is cut off the log file per restart. Why: SQLite truncates the file
    /// inside the restarting commit, holding the write lock, and a caller's write waits for it:
    /// cutting a 750 MB log back to 64 MiB took 95–300 ms (measured, ~0.2 ms per MiB on the
    /// development VM). 16 MiB is ~4 ms; a long log shrinks over a few seconds of rounds
    /// instead.
    const TRUNCATE_STEP: i64 = 16 * 1024 * 1024;

    pub(in crate::store) struct Checkpointer {
        stop: Arc<(Mutex<bool>, Condvar)>,
        thread: Option<JoinHandle<()>>,
    }

    impl Checkpointer {
        /// Starts the thread on its own connection to `path`; past `log_cap_bytes` of log it
        /// forces a restart (see [`checkpoint_and_restart`]; at least one page).
        pub(in crate::store) fn start(path: &Path, log_cap_bytes: u64) -> Result<Self> {
            let mut conn = crate::store::connect(path)?;
            conn.busy_handler(Some(wait_briefly))?;
            // A log frame is a page and its 24-byte header.
            let page: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
            let frame = u64::try_from(page).unwrap_or(4096) + 24;
            let cap_frames = i64::try_from(log_cap_bytes / frame).unwrap_or(i64::MAX).max(1);
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
        let mut last = None;
        let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
        while !*stopped {
            let (guard, _) =
                wake.wait_timeout(stopped, INTERVAL).unwrap_or_else(|p| p.into_inner());
            stopped = guard;
            // A busy or failed step is simply retried on the next tick: nothing is lost, the
            // log only grows a little longer meanwhile.
            let _ = tick(&conn, cap_frames, &mut last);
        }
    }

    /// What the last complete round saw.
    struct Round {
        /// `data_version` when it began.
        version: i64,
        /// Whether its restart cut the log file (so another round may cut more).
        shrank: bool,
    }

    /// One round: checkpoint if another connection committed since the last complete round,
    /// or while the log file is still being cut back, and restart the log here when the
    /// checkpoint copied all of it and no commit interrupted it.
    fn tick(conn: &Connection, cap_frames: i64, last: &mut Option<Round>) -> rusqlite::Result<()> {
        // `data_version` changes only for commits of *other* connections: the marker does not
        // count, so an idle server does no I/O at all once its log file is back to its limit
        // (or cannot be cut, a reader holding the log: then until the next commit).
        let version = data_version(conn)?;
        let log_bytes = log_file_bytes(conn);
        let idle = last.as_ref().is_some_and(|round| {
            round.version == version && (log_bytes <= JOURNAL_SIZE_LIMIT || !round.shrank)
        });
        if idle {
            return Ok(());
        }
        // The restart this round may make cuts the file down to here (see TRUNCATE_STEP).
        let limit = (log_bytes - TRUNCATE_STEP).max(JOURNAL_SIZE_LIMIT);
        conn.pragma_update(None, "journal_size_limit", limit)?;
        let quiet = || Ok(data_version(conn)? == version);
        if checkpoint_and_restart(conn, cap_frames, quiet)? {
            *last = Some(Round { version, shrank: log_file_bytes(conn) < log_bytes });
        }
        Ok(())
    }

    /// The size of the log file (0 when there is none).
    fn log_file_bytes(conn: &Connection) -> i64 {
        conn.path()
            .and_then(|db| std::fs::metadata(format!("{db}-wal")).ok())
            .map_or(0, |m| i64::try_from(m.len()).unwrap_or(i64::MAX))
    }

    fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
        conn.pragma_query_value(None, "data_version", |r| r.get(0))
    }

    /// The checkpointer's busy handler: short naps (50 µs asked, 55–110 µs slept), 100 of them
    /// at most, one budget for a RESTART's wait for the write lock and then for readers. It
    /// holds writers back while it waits for readers, so it gives up rather than hold them long
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

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::store::scratch::Scratch;

    /// A writer and a checkpointer connection on a fresh file, with a log of `rows` inserts that
    /// no checkpoint has copied yet.
    fn log_of(name: &str, rows: usize) -> (Scratch, Connection, Connection) {
        let dir = Scratch::new(&format!("ckpt-{name}"));
        let path = dir.join("t.db");
        let writer = crate::store::connect(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE wal_marker (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
                 INSERT INTO wal_marker VALUES (1, 0);
                 CREATE TABLE t (x TEXT);",
            )
            .unwrap();
        for i in 0..rows {
            writer.execute("INSERT INTO t VALUES (?1)", [format!("{i:0>500}")]).unwrap();
        }
        let checkpointer = crate::store::connect(&path).unwrap();
        (dir, writer, checkpointer)
    }

    /// Frames in the log now (a PASSIVE checkpoint's report; it copies them too).
    fn log_frames(conn: &Connection) -> i64 {
        checkpoint(conn, "PRAGMA wal_checkpoint(PASSIVE)").unwrap().1
    }

    #[test]
    fn a_complete_round_restarts_the_log_only_when_no_commit_interrupted_it() {
        let (_dir, _writer, conn) = log_of("quiet", 200);
        let before = log_frames(&conn);
        assert!(before > 20, "the writes made a log ({before} frames)");
        assert!(checkpoint_and_restart(&conn, i64::MAX, || Ok(false)).unwrap());
        assert_eq!(log_frames(&conn), before, "interrupted: no marker commit, the log stays");
        assert!(checkpoint_and_restart(&conn, i64::MAX, || Ok(true)).unwrap());
        assert!(log_frames(&conn) < 5, "quiet: the marker commit restarted the log");
    }

    #[test]
    fn past_the_cap_the_round_restarts_the_log_even_when_interrupted() {
        let (_dir, _writer, conn) = log_of("cap", 200);
        let before = log_frames(&conn);
        assert!(checkpoint_and_restart(&conn, before, || Ok(false)).unwrap());
        assert!(log_frames(&conn) < 5, "forced: RESTART and the marker restarted the log");
    }
}
