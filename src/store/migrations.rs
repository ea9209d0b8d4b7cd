//! Schema migrations: the numbered files of `migrations/`, embedded at build time and applied
//! in order inside one transaction. The schema version is SQLite's `user_version`.
//!
//! Never edit or reorder a released step: append a new file and a new line to [`MIGRATIONS`].
//! A database whose version is newer than this build is refused, never touched.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// (file name, SQL), in order. Version N means the first N steps are applied.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_initial.sql", include_str!("../../migrations/0001_initial.sql")),
    ("0002_read_paths.sql", include_str!("../../migrations/0002_read_paths.sql")),
    ("0003_unread_index.sql", include_str!("../../migrations/0003_unread_index.sql")),
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema up to date; returns how many steps were applied (0 when up to date).
pub fn migrate(conn: &mut Connection) -> Result<usize> {
    let current = version(conn)?;
    let latest = latest_version();
    if current > latest {
        return Err(Error::Unusable(format!(
            "database schema version {current} is newer than this build supports ({latest}); \
             refusing to touch it (update the resource)"
        )));
    }
    if current == latest {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    // Re-read under the lock: another process may have migrated meanwhile.
    let current = version(&tx)?;
    let pending = &MIGRATIONS[current.clamp(0, latest) as usize..];
    for (_, sql) in pending {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", latest)?;
    tx.commit()?;
    Ok(pending.len())
}

pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_migrations_is_embedded_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<&str> = MIGRATIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(files, embedded);
        for (i, name) in embedded.iter().enumerate() {
            assert!(name.starts_with(&format!("{:04}_", i + 1)), "{name} out of sequence");
        }
    }

    #[test]
    fn migrating_twice_applies_nothing_the_second_time() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), MIGRATIONS.len());
        assert_eq!(migrate(&mut conn).unwrap(), 0);
        assert_eq!(version(&conn).unwrap(), latest_version());
    }

    #[test]
    fn a_newer_database_is_refused_and_left_alone() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", latest_version() + 1).unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("newer than this build"), "{err}");
        assert_eq!(version(&conn).unwrap(), latest_version() + 1);
        let tables: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
        assert_eq!(tables, 0);
    }
}
