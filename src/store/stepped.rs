//! An online backup on the store's own connection, a bounded number of pages at a time: the
//! wasm core's backup (it has no threads), driven by its JS host between calls so that no step
//! holds the server for long (js/host.js).
//!
//! Invariants:
//! - The copy is SQLite's online backup (`sqlite3_backup_*`) from the live connection itself:
//!   a write made on that connection between two steps is applied to the copy as well (SQLite
//!   does it), so the copy is consistent as of its last step and never restarts.
//! - Each [`Stepped::step`] copies at most the pages it is given; the last one also turns the
//!   copy into a plain single file (no `-wal` beside it) and closes it. The steps after it check
//!   the copy on a new connection, each reading at most as much as a copying step may copy
//!   ([`super::verify`]); the last of them answers [`Progress::Done`].
//! - The destination file exists, empty, before a backup starts: the caller creates it
//!   exclusively (never overwriting, no link followed) and removes it again when a step fails.
//! - The copy is written without syncs; the caller syncs the file after [`Progress::Done`]
//!   before it counts it as written.
//! - It is dropped before the store's connection (the field order in `Store`), which finishes
//!   SQLite's backup object first. A failed step ends it: the next step is refused.

use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use rusqlite::{ffi, Connection, OpenFlags};

use crate::error::{Error, Result};

use super::migrations;
use super::verify::{Budget, Verifier};

/// A backup in progress.
pub struct Stepped {
    phase: Phase,
    path: PathBuf,
}

enum Phase {
    Copying(Copy),
    /// Copied, made a single file and closed; checked in steps on a new connection.
    Verifying(Box<Verifier>),
    /// Between the two, or after a failed step.
    Ended,
}

/// SQLite's backup object and the copy's connection.
struct Copy {
    /// Finished on drop.
    raw: NonNull<ffi::sqlite3_backup>,
    /// Declared after `raw`: closes after the backup finished.
    dest: Connection,
}

impl Drop for Copy {
    fn drop(&mut self) {
        // SAFETY: finished once, here; `dest` closes after (field order).
        unsafe { ffi::sqlite3_backup_finish(self.raw.as_ptr()) };
    }
}

/// Where a backup stands after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Pages still to copy, of the database's total.
    Copying { remaining: i64, total: i64 },
    /// Copied; this step checked `rows` rows and index entries holding `bytes` bytes and read
    /// `pages` raw pages (see [`super::verify`]).
    Verifying { rows: i64, bytes: i64, pages: i64 },
    /// Copied and checked.
    Done,
}

impl Stepped {
    /// Starts a backup of `source` (the store's connection) into the existing empty file
    /// `dest`.
    pub(super) fn start(source: &Connection, dest: &Path) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(dest, flags)?;
        // The copy is a WAL database (the source is); one connection alone reads it, with no
        // shared memory (which the wasm VFS has none of).
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        // The copy's pages reach its file step by step: SQLite keeps a backup's destination in
        // one write transaction to the end, and with the default cache the step that finished it
        // wrote ~3,600 pages still held in memory (at 100,000 messages: 95 ms of that step).
        conn.pragma_update(None, "cache_size", 64)?;
        // Nor does SQLite sync the copy (its commit synced the whole file and its journal: ~140
        // ms on that step): the caller makes it durable before it counts as written (js/host.js
        // syncs it in libuv's thread pool between the steps and once more after the last).
        conn.pragma_update(None, "synchronous", "OFF")?;
        // SAFETY: both handles are open connections; `Store` drops this before `source`.
        let raw = unsafe {
            ffi::sqlite3_backup_init(
                conn.handle(),
                c"main".as_ptr(),
                source.handle(),
                c"main".as_ptr(),
            )
        };
        let Some(raw) = NonNull::new(raw) else {
            return Err(Error::Storage(rusqlite::Error::SqliteFailure(
                // SAFETY: an open connection.
                ffi::Error::new(unsafe { ffi::sqlite3_extended_errcode(conn.handle()) }),
                Some(format!("cannot start the backup into {}", dest.display())),
            )));
        };
        Ok(Stepped { phase: Phase::Copying(Copy { raw, dest: conn }), path: dest.to_owned() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies at most `pages` pages (at least 1); once all are copied, checks the copy with
    /// steps of the same budget ([`Budget::of_pages`]).
    pub fn step(&mut self, pages: i32) -> Result<Progress> {
        let result = self.step_phase(pages);
        if result.is_err() {
            self.phase = Phase::Ended;
        }
        result
    }

    fn step_phase(&mut self, pages: i32) -> Result<Progress> {
        match &mut self.phase {
            Phase::Copying(copy) => {
                // SAFETY: `raw` is live until drop.
                let rc = unsafe { ffi::sqlite3_backup_step(copy.raw.as_ptr(), pages.max(1)) };
                match rc {
                    ffi::SQLITE_DONE => {
                        single_file(&copy.dest)?;
                        // The check reads the file anew: nothing of it cached from the copying.
                        self.phase = Phase::Ended;
                        self.phase = Phase::Verifying(Box::new(Verifier::open(&self.path)?));
                        Ok(Progress::Verifying { rows: 0, bytes: 0, pages: 0 })
                    }
                    // Busy or locked: nothing copied this time; the next step tries again.
                    ffi::SQLITE_OK | ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => {
                        // SAFETY: as above.
                        let (remaining, total) = unsafe {
                            (
                                ffi::sqlite3_backup_remaining(copy.raw.as_ptr()),
                                ffi::sqlite3_backup_pagecount(copy.raw.as_ptr()),
                            )
                        };
                        Ok(Progress::Copying { remaining: remaining.into(), total: total.into() })
                    }
                    code => Err(Error::Storage(rusqlite::Error::SqliteFailure(
                        ffi::Error::new(code),
                        Some(format!("backup into {} failed", self.path.display())),
                    ))),
                }
            }
            Phase::Verifying(verifier) => {
                let budget = Budget::of_pages(pages, verifier.page_size().max(512));
                let checked = verifier.step(budget).map_err(|e| match e {
                    Error::Unusable(_) => e,
                    other => Error::Unusable(format!("the copy failed its check: {other}")),
                })?;
                match checked {
                    Some(read) => Ok(Progress::Verifying {
                        rows: read.rows,
                        bytes: read.bytes,
                        pages: read.pages,
                    }),
                    None => {
                        self.phase = Phase::Ended;
                        Ok(Progress::Done)
                    }
                }
            }
            Phase::Ended => Err(Error::invalid("job")),
        }
    }
}

/// Makes a finished copy a single self-contained file (rollback journal: no `-wal` needed
/// beside it; Darkchat switches it back to WAL when it opens it).
fn single_file(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
    Ok(())
}

/// Makes a file about to be restored a single file and checks it whole, in one go: `PRAGMA
/// quick_check` (every page and record well formed, every page accounted for) and that it is a
/// Darkchat database this build can open. A restore stops the store anyway; a backup is
/// checked in steps instead ([`super::verify`]).
pub fn verify(conn: &Connection) -> Result<()> {
    single_file(conn)?;
    check(conn, "quick_check")
}

/// Runs `pragma` (`quick_check` or `integrity_check`) on `conn` and the Darkchat check; an
/// error names the first problem.
pub fn check(conn: &Connection, pragma: &str) -> Result<()> {
    let sql = match pragma {
        "integrity_check" => "PRAGMA integrity_check(1)",
        _ => "PRAGMA quick_check(1)",
    };
    let verdict: String = conn.query_row(sql, [], |r| r.get(0))?;
    if verdict != "ok" {
        return Err(Error::Unusable(format!("the copy failed its {pragma}: {verdict}")));
    }
    migrations::check_recognised(conn)
}
