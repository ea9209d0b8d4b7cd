//! Backup files: which of a folder's files are automatic backups, which of those rotation
//! removes, which backup is the newest, and whether a file may be restored. The policy is
//! here once for both cores; the native core applies it to the disk itself ([`rotate`],
//! [`newest`]), the wasm core's JS host lists the folder and asks the module ([`to_remove`],
//! [`pick_newest`]).
//!
//! Automatic backups are named `darkchat-YYYYMMDD-HHMMSS.db` (UTC), with `-N` before `.db`
//! when a second one falls in the same second: the names sort in time order, and rotation
//! never touches a file named otherwise (a backup someone made by hand, a database kept by a
//! restore).

#[cfg(not(target_arch = "wasm32"))]
use std::path::{Path, PathBuf};

#[cfg(not(target_arch = "wasm32"))]
use crate::error::{Error, Result};

/// The prefix of automatic backups' names.
pub const AUTO_PREFIX: &str = "darkchat-";

/// Whether `name` is an automatic backup's: `darkchat-YYYYMMDD-HHMMSS[-N].db`.
pub fn is_auto(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(AUTO_PREFIX).and_then(|r| r.strip_suffix(".db")) else {
        return false;
    };
    let bytes = rest.as_bytes();
    if bytes.len() < 15 || bytes[8] != b'-' {
        return false;
    }
    let digits = |b: &[u8]| !b.is_empty() && b.iter().all(u8::is_ascii_digit);
    if !digits(&bytes[..8]) || !digits(&bytes[9..15]) {
        return false;
    }
    match &bytes[15..] {
        [] => true,
        [b'-', n @ ..] => digits(n) && n.len() <= 4,
        _ => false,
    }
}

/// Of a folder's file names, the automatic backups that rotation removes so that the newest
/// `keep` (at least 1) stay; oldest first. Other names are never in the answer.
pub fn to_remove(names: &[String], keep: usize) -> Vec<String> {
    let mut auto: Vec<&String> = names.iter().filter(|n| is_auto(n)).collect();
    // By time, then N (the plain name is N = 0; "-10" after "-9").
    auto.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    let keep = keep.max(1);
    let excess = auto.len().saturating_sub(keep);
    auto.into_iter().take(excess).cloned().collect()
}

/// (timestamp, N) of an automatic backup's name, for ordering.
fn order_key(name: &str) -> (&str, u32) {
    let stem = &name[AUTO_PREFIX.len()..name.len() - 3];
    let (time, n) = stem.split_at(15);
    (time, n.strip_prefix('-').and_then(|n| n.parse().ok()).unwrap_or(0))
}

/// Of `(name, modified unix seconds)` pairs of a folder's `.db` files, the newest (by time,
/// then by name).
pub fn pick_newest(files: &[(String, i64)]) -> Option<String> {
    files
        .iter()
        .filter(|(name, _)| name.ends_with(".db") && !name.starts_with('.'))
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
        .map(|(name, _)| name.clone())
}

/// Removes the automatic backups in `dir` beyond the newest `keep`; returns the paths removed.
/// Only regular files are looked at (a link is never followed nor removed).
#[cfg(not(target_arch = "wasm32"))]
pub fn rotate(dir: &Path, keep: usize) -> Result<Vec<PathBuf>> {
    let names: Vec<String> = regular_files(dir)?.into_iter().map(|(name, _)| name).collect();
    let mut removed = Vec::new();
    for name in to_remove(&names, keep) {
        let path = dir.join(&name);
        std::fs::remove_file(&path)
            .map_err(|e| Error::Unusable(format!("cannot remove {}: {e}", path.display())))?;
        removed.push(path);
    }
    Ok(removed)
}

/// The newest `.db` file in `dir` (see [`pick_newest`]), or `None` (no such file, no folder).
#[cfg(not(target_arch = "wasm32"))]
pub fn newest(dir: &Path) -> Result<Option<PathBuf>> {
    Ok(pick_newest(&regular_files(dir)?).map(|name| dir.join(name)))
}

/// The file a restore copies its backup into before it replaces the live database: beside it,
/// so that the final rename stays on one file system (atomic).
#[cfg(not(target_arch = "wasm32"))]
pub fn staging_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".restoring");
    PathBuf::from(name)
}

/// First half of a restore: copies the backup `src` (a regular file; a link is refused, never
/// followed) to [`staging_path`] and checks the copy ([`crate::Store::check_restorable`]).
/// On a refusal nothing is left behind and the live database was never touched.
#[cfg(not(target_arch = "wasm32"))]
pub fn stage_restore(src: &Path, db: &Path) -> Result<PathBuf> {
    let refused = |why: String| {
        Error::Unusable(format!("refused: {}: {why}; nothing changed", src.display()))
    };
    match std::fs::symlink_metadata(src) {
        Ok(meta) if meta.file_type().is_file() => {}
        Ok(meta) if meta.file_type().is_symlink() => return Err(refused("a link".into())),
        Ok(_) => return Err(refused("not a file".into())),
        Err(e) => return Err(refused(e.to_string())),
    }
    let staged = staging_path(db);
    remove_side_files(&staged);
    let copied = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        let mut out = file.open(&staged)?;
        std::io::copy(&mut std::fs::File::open(src)?, &mut out)?;
        out.sync_all()
    })();
    let checked = copied
        .map_err(|e| refused(e.to_string()))
        .and_then(|()| crate::Store::check_restorable(&staged).map_err(|e| refused(e.to_string())));
    if let Err(e) = checked {
        remove_side_files(&staged);
        return Err(e);
    }
    Ok(staged)
}

/// Second half, with the live database closed: renames the staged copy over it (atomic) and
/// removes the old database's side files (its log belongs to the file replaced).
#[cfg(not(target_arch = "wasm32"))]
pub fn put_in_place(staged: &Path, db: &Path) -> Result<()> {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    std::fs::rename(staged, db).map_err(|e| {
        Error::Unusable(format!("cannot move {} to {}: {e}", staged.display(), db.display()))
    })
}

/// Removes `path` and its SQLite side files, quietly.
#[cfg(not(target_arch = "wasm32"))]
fn remove_side_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
}

/// The regular files of `dir` with their modification times; none when it does not exist.
#[cfg(not(target_arch = "wasm32"))]
fn regular_files(dir: &Path) -> Result<Vec<(String, i64)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::Unusable(format!("cannot list {}: {e}", dir.display()))),
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let Ok(name) = entry.file_name().into_string() else { continue };
        if !meta.file_type().is_file() {
            continue;
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64);
        files.push((name, modified));
    }
    Ok(files)
}

/// Test folders, removed when a test ends (the same helper as the integration tests').
#[cfg(all(test, not(target_arch = "wasm32")))]
use crate::scratch;

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_automatic_names_are_recognised() {
        for good in ["darkchat-20261205-153000.db", "darkchat-20261205-153000-2.db"] {
            assert!(is_auto(good), "{good}");
        }
        for bad in [
            "darkchat.db",
            "mine.db",
            "darkchat-20261205-153000.db-wal",
            "darkchat-2026125-153000.db",
            "darkchat-20261205-15300a.db",
            "darkchat-20261205-153000-.db",
            "darkchat-20261205-153000x.db",
            "before-restore-20261205-153000.db",
            "darkchat-20261205_153000.db",
        ] {
            assert!(!is_auto(bad), "{bad}");
        }
    }

    #[test]
    fn rotation_removes_the_oldest_automatic_backups_beyond_keep_and_nothing_else() {
        let folder = names(&[
            "darkchat-20261205-120000.db",
            "mine.db",
            "darkchat-20261204-235959.db",
            "darkchat-20261205-120000-2.db",
            "darkchat-20261205-120000-10.db",
            "darkchat-20261206-000000.db",
            "before-restore-20261201-000000.db",
        ]);
        assert_eq!(
            to_remove(&folder, 2),
            names(&[
                "darkchat-20261204-235959.db",
                "darkchat-20261205-120000.db",
                "darkchat-20261205-120000-2.db",
            ])
        );
        assert!(to_remove(&folder, 5).is_empty());
        assert!(to_remove(&folder, 50).is_empty());
        // keep 0 keeps one: rotation never empties the folder of its last backup.
        assert_eq!(to_remove(&folder, 0).len(), 4);
    }

    #[test]
    fn the_newest_backup_is_by_time_then_name() {
        let files = vec![
            ("a.db".to_string(), 10),
            ("b.db".to_string(), 30),
            ("c.db-wal".to_string(), 99),
            (".hidden.db".to_string(), 99),
            ("c.db".to_string(), 30),
        ];
        assert_eq!(pick_newest(&files).as_deref(), Some("c.db"));
        assert_eq!(pick_newest(&[]), None);
    }

    #[test]
    fn rotate_on_disk_leaves_links_and_other_files() {
        let dir = super::scratch::Scratch::new("rotate");
        let folder = dir.join("backups");
        std::fs::create_dir_all(&folder).unwrap();
        for name in ["darkchat-20261201-000000.db", "darkchat-20261202-000000.db", "mine.db"] {
            std::fs::write(folder.join(name), b"x").unwrap();
        }
        let outside = dir.join("outside.db");
        std::fs::write(&outside, b"keep me").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, folder.join("darkchat-20261130-000000.db")).unwrap();
        let removed = rotate(&folder, 1).unwrap();
        assert_eq!(removed, vec![folder.join("darkchat-20261201-000000.db")]);
        assert!(folder.join("darkchat-20261202-000000.db").exists());
        assert!(folder.join("mine.db").exists());
        assert_eq!(std::fs::read(&outside).unwrap(), b"keep me");
        assert!(rotate(&dir.join("missing"), 1).unwrap().is_empty());
    }
}
