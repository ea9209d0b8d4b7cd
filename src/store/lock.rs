//! The lock file beside a database, `<db>.lock`, holding `"<pid> <core>"`: the one rule shared
//! by the two cores that cannot otherwise see each other. The wasm core (js/host.js) holds its
//! database alone (exclusive locking, its WAL index in its own memory), so nobody else may open
//! it meanwhile; native openers share a database through SQLite's own locks.
//!
//! Native side, here:
//! - a lock held by a live process of the wasm core (or of a core this build does not know) →
//!   refused, with one line naming the file, the holder and what to do;
//! - a lock held by a live native opener (this process or another) → shared, nothing written;
//! - a lock left by a process that is gone → taken over;
//! - no lock → created exclusively and removed when the last handle of this process that
//!   created it closes.
//!
//! Liveness is checked through `/proc/<pid>` where there is a `/proc`; elsewhere a holder is
//! taken to be alive (refusing is the safe side; the message says which file to delete).

#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

const CORE: &str = "native";

/// Handles of this process per lock file it created.
static CREATED: Mutex<Option<HashMap<PathBuf, usize>>> = Mutex::new(None);

/// A claim on `<db>.lock`, released on drop.
pub(super) struct LockFile {
    /// Set when this process created the file (and so removes it after its last handle).
    created: Option<PathBuf>,
}

/// What this process writes into a lock file it creates.
fn me() -> String {
    format!("{} {CORE}", std::process::id())
}

fn is_alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

fn count(path: &Path, delta: isize) -> usize {
    let mut guard = CREATED.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    let entry = map.entry(path.to_owned()).or_insert(0);
    *entry = entry.saturating_add_signed(delta);
    let now = *entry;
    if now == 0 {
        map.remove(path);
    }
    now
}

/// Claims the lock file of the database at `db`.
pub(super) fn acquire(db: &Path) -> Result<LockFile> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    for _ in 0..3 {
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                file.write_all(format!("{}\n", me()).as_bytes()).map_err(|e| {
                    let _ = std::fs::remove_file(&path);
                    Error::Unusable(format!("cannot write lock file {}: {e}", path.display()))
                })?;
                count(&path, 1);
                return Ok(LockFile { created: Some(path) });
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            // No lock file can be made here (read-only folder): SQLite's own locks still hold.
            Err(_) => return Ok(LockFile { created: None }),
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(_) => continue, // removed meanwhile: try again
        };
        let mut words = text.split_whitespace();
        let pid = words.next().and_then(|p| p.parse::<u32>().ok());
        let core = words.next().unwrap_or("unknown");
        match pid {
            // Ours, from an earlier handle of this process: share it.
            Some(pid) if pid == std::process::id() && core == CORE && count(&path, 0) > 0 => {
                count(&path, 1);
                return Ok(LockFile { created: Some(path) });
            }
            // Our pid but not our lock: left by an earlier process that had the same pid (a
            // restarted container): taken over below.
            Some(pid) if pid == std::process::id() => {
                let _ = std::fs::remove_file(&path);
            }
            Some(pid) if is_alive(pid) && core == CORE => return Ok(LockFile { created: None }),
            Some(pid) if is_alive(pid) => {
                return Err(Error::Unusable(format!(
                    "database {} is in use by the {core} core of process {pid} (lock file {}); \
                     stop that server first, or delete the lock file if no server is running",
                    db.display(),
                    path.display()
                )));
            }
            // Left by a process that is gone (or unreadable): take it over.
            _ => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    Err(Error::Unusable(format!("cannot take the lock file {}", path.display())))
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let Some(path) = self.created.take() else { return };
        if count(&path, -1) == 0 {
            if std::fs::read_to_string(&path).is_ok_and(|text| text.trim() == me()) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch::Scratch;

    /// A database named `name` in a fresh folder of this test, and its lock file.
    fn db_and_lock(name: &str) -> (Scratch, PathBuf, PathBuf) {
        let dir = Scratch::new(&format!("lock-{name}"));
        let db = dir.join(name);
        let lock = db.with_extension("db.lock");
        (dir, db, lock)
    }

    /// `acquire` takes the lock file over (it then names this process) and removes it on drop.
    fn takes_over(db: &Path, lock: &Path) {
        let taken = acquire(db).unwrap();
        assert_eq!(
            std::fs::read_to_string(lock).unwrap().trim(),
            format!("{} native", std::process::id())
        );
        drop(taken);
        assert!(!lock.exists());
    }

    #[test]
    fn native_openers_share_and_the_last_one_removes_the_file() {
        let (_dir, db, lock) = db_and_lock("a.db");
        let first = acquire(&db).unwrap();
        let second = acquire(&db).unwrap();
        assert!(lock.exists());
        drop(first);
        assert!(lock.exists(), "still held by the second handle");
        drop(second);
        assert!(!lock.exists());
    }

    #[test]
    fn a_lock_with_our_pid_that_is_not_ours_is_stale() {
        let (_dir, db, lock) = db_and_lock("c.db");
        std::fs::write(&lock, format!("{} wasm\n", std::process::id())).unwrap();
        takes_over(&db, &lock);
    }

    #[test]
    fn a_live_wasm_holder_is_refused_and_a_dead_one_taken_over() {
        let (_dir, db, lock) = db_and_lock("b.db");
        // pid 1 is alive wherever there is a /proc (init, or a container's first process).
        std::fs::write(&lock, "1 wasm\n").unwrap();
        let err = acquire(&db).err().expect("refused");
        assert!(err.to_string().contains("in use by the wasm core"), "{err}");
        assert_eq!(err.code(), "storage_error");
        if Path::new("/proc/self").exists() {
            std::fs::write(&lock, "999999999 wasm\n").unwrap();
            takes_over(&db, &lock);
        }
    }
}
