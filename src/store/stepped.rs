//! An online backup on the store's own connection, a bounded number of pages at a time: the
//! wasm core's backup (it has no threads), driven by its JS host between calls so that no step
//! holds the server for long (js/host.js).
//!
//! Invariants:
//! - The copy is SQLite's online backup (`sqlite3_backup_*`) from the live connection itself:
//!   a write made on that connection between two steps is applied to the copy as well (SQLite
//!   does it), so the copy is consistent as of its last step and never restarts.
//! - Each [`Stepped::step`] copies at most the pages it is given; the last one also turns the
//!   copy into a plain single file (no `-wal` beside it) and checks it (see [`verify`]).
//! - The destination file exists, empty, before a backup starts: the caller creates it
//!   exclusively (never overwriting, no link followed) and removes it again when a step fails.
//! - It is dropped before the store's connection (the field order in `Store`), which finishes
//!   SQLite's backup object first.

use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use rusqlite::{ffi, Connection, OpenFlags};

use crate::error::{Error, Result};

use super::migrations;

/// A backup in progress.
pub struct Stepped {
    /// SQLite's backup object; finished on drop.
    raw: NonNull<ffi::sqlite3_backup>,
    /// The copy's connection; declared after `raw` so that it closes after the backup finished.
    dest: Connection,
    path: PathBuf,
}

/// Where a backup stands after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Pages still to copy, of the database's total.
    Copying { remaining: i64, total: i64 },
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
        Ok(Stepped { raw, dest: conn, path: dest.to_owned() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies at most `pages` pages (at least 1); after the last page, checks the copy.
    pub fn step(&mut self, pages: i32) -> Result<Progress> {
        // SAFETY: `raw` is live until drop.
        let rc = unsafe { ffi::sqlite3_backup_step(self.raw.as_ptr(), pages.max(1)) };
        match rc {
            ffi::SQLITE_DONE => {
                verify(&self.dest)?;
                Ok(Progress::Done)
            }
            // Busy or locked: nothing copied this time; the next step tries again.
            ffi::SQLITE_OK | ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => {
                // SAFETY: as above.
                let (remaining, total) = unsafe {
                    (
                        ffi::sqlite3_backup_remaining(self.raw.as_ptr()),
                        ffi::sqlite3_backup_pagecount(self.raw.as_ptr()),
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
}

impl Drop for Stepped {
    fn drop(&mut self) {
        // SAFETY: finished once, here; `dest` closes after (field order).
        unsafe { ffi::sqlite3_backup_finish(self.raw.as_ptr()) };
    }
}

/// Makes a finished copy a single self-contained file (rollback journal: no `-wal` needed
/// beside it; Darkchat switches it back to WAL when it opens it) and checks it: `PRAGMA
/// quick_check` (every page and record well formed; full `integrity_check` also cross-checks
/// each index against its table, several times longer on a large database, too long for one
/// step of the wasm core: the copy is page for page, so an index can only disagree with its
/// table if the source's did), and that it is a Darkchat database this build can open.
pub fn verify(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
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
