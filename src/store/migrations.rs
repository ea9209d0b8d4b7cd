//! Schema migrations: the numbered files of `migrations/`, embedded at build time and applied
//! in order inside one transaction. The schema version is SQLite's `user_version`.
//!
//! Never edit or reorder a released step: append a new file and a new line to [`MIGRATIONS`].
//! A database whose version is newer than this build is refused, never touched.
//!
//! Which files are Darkchat's ([`check_recognised`], before anything is written to a file):
//! - a new database: no schema object at all and `user_version` 0 (an empty or zero-length
//!   file), which the migrations then fill;
//! - a Darkchat database: `user_version` 1 or more and every table the migrations up to that
//!   version create (the latest's, for a newer version); other tables may sit beside them;
//! - anything else belongs to someone else (another application's SQLite database, or a file
//!   that is not a database at all) and is refused with one line, left exactly as it was.

use std::collections::BTreeSet;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// (file name, SQL), in order. Version N means the first N steps are applied.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_initial.sql", include_str!("../../migrations/0001_initial.sql")),
    ("0002_read_paths.sql", include_str!("../../migrations/0002_read_paths.sql")),
    ("0003_unread_index.sql", include_str!("../../migrations/0003_unread_index.sql")),
    ("0004_anonymity.sql", include_str!("../../migrations/0004_anonymity.sql")),
    ("0005_message_features.sql", include_str!("../../migrations/0005_message_features.sql")),
    ("0006_staff_tools.sql", include_str!("../../migrations/0006_staff_tools.sql")),
    ("0007_imports.sql", include_str!("../../migrations/0007_imports.sql")),
    ("0008_retention.sql", include_str!("../../migrations/0008_retention.sql")),
];

/// The steps that rewrite or index the messages table, by file name, with what they do: on a
/// large database they take a while, so the runner says so before and after (see [`migrate`]).
/// A new step of that kind gets a line here (the test below checks every name is a step).
pub const LONG_STEPS: &[(&str, &str)] = &[
    ("0002_read_paths.sql", "indexing messages for pages and listings (0002_read_paths)"),
    ("0003_unread_index.sql", "indexing messages for unread counts (0003_unread_index)"),
    (
        "0004_anonymity.sql",
        "giving members aliases and rewriting messages to name them (0004_anonymity)",
    ),
    (
        "0005_message_features.sql",
        "rebuilding messages for replies, deletion, images and locations (0005_message_features)",
    ),
    ("0008_retention.sql", "indexing messages by time for disappearing messages (0008_retention)"),
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema up to date; returns how many steps were applied (0 when up to date).
pub fn migrate(conn: &mut Connection) -> Result<usize> {
    migrate_announcing(conn, &mut |_| {})
}

/// [`migrate`], telling `announce` one line before each step of [`LONG_STEPS`] ("migrating:
/// <what> on N messages") and one after ("migrating: <what> done in X s"), so that a server
/// owner whose start takes minutes knows why. A new database (version 0) is quiet.
pub fn migrate_announcing(conn: &mut Connection, announce: &mut dyn FnMut(&str)) -> Result<usize> {
    let current = version(conn)?;
    let latest = latest_version();
    if current > latest {
        return Err(newer(current));
    }
    if current == latest {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    // Re-read under the lock: another process may have migrated meanwhile.
    let current = version(&tx)?;
    let pending = &MIGRATIONS[current.clamp(0, latest) as usize..];
    for (name, sql) in pending {
        // A new database has no rows to rewrite: its steps are quick and say nothing.
        let long = LONG_STEPS.iter().find(|(step, _)| step == name).map(|(_, what)| *what);
        let long = long.filter(|_| current >= 1);
        let Some(what) = long else {
            tx.execute_batch(sql)?;
            continue;
        };
        let rows: i64 = tx.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
        announce(&format!("migrating: {what} on {rows} messages"));
        let started = Clock::start();
        tx.execute_batch(sql)?;
        announce(&format!("migrating: {what} done{}", started.took()));
    }
    tx.pragma_update(None, "user_version", latest)?;
    tx.commit()?;
    Ok(pending.len())
}

/// Refuses, with one line and without writing anything, a file that is neither a new database
/// nor a Darkchat one of a schema this build can use (see the module comment).
pub fn check_recognised(conn: &Connection) -> Result<()> {
    // One snapshot: a native process may be migrating the same new file meanwhile.
    let tx = conn.unchecked_transaction()?;
    let version = version(&tx)?;
    let objects: i64 = tx.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    let tables = table_names(&tx)?;
    tx.commit()?;
    if version == 0 && objects == 0 {
        return Ok(());
    }
    let latest = latest_version();
    if version >= 1 && table_names_at(version.min(latest))?.is_subset(&tables) {
        if version > latest {
            return Err(newer(version));
        }
        return Ok(());
    }
    let held = if tables.is_empty() {
        "no tables".to_owned()
    } else {
        // Debug-quoted: a name with a line break in it stays on the line.
        let names: Vec<String> = tables.iter().take(3).map(|t| format!("{t:?}")).collect();
        let more =
            if tables.len() > 3 { format!(" and {} more", tables.len() - 3) } else { "".into() };
        format!("tables {}{more}", names.join(", "))
    };
    Err(Error::Unusable(format!(
        "not a Darkchat database ({held}, user_version {version}); left untouched: set \
         darkchat:db to a new file or to a Darkchat database"
    )))
}

/// How long a long step took: the OS clock natively, the host's monotonic clock on wasm.
struct Clock(f64);

impl Clock {
    fn start() -> Self {
        Clock(now_ms())
    }

    /// " in X s".
    fn took(&self) -> String {
        format!(" in {:.1} s", (now_ms() - self.0).max(0.0) / 1000.0)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn now_ms() -> f64 {
    use std::sync::OnceLock;
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    ORIGIN.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1000.0
}

#[cfg(target_arch = "wasm32")]
fn now_ms() -> f64 {
    super::vfs::monotonic_ms()
}

fn newer(version: i64) -> Error {
    Error::Unusable(format!(
        "database schema version {version} is newer than this build supports ({}); refusing to \
         touch it (update the resource)",
        latest_version()
    ))
}

/// The tables of a database, SQLite's own left out.
fn table_names(conn: &Connection) -> Result<BTreeSet<String>> {
    let mut names = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )?;
    let rows = names.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The tables the first `version` migrations create.
fn table_names_at(version: i64) -> Result<BTreeSet<String>> {
    let conn = Connection::open_in_memory()?;
    for (_, sql) in &MIGRATIONS[..version.clamp(0, latest_version()) as usize] {
        conn.execute_batch(sql)?;
    }
    table_names(&conn)
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
    fn every_long_step_names_a_step() {
        for (name, _) in LONG_STEPS {
            assert!(MIGRATIONS.iter().any(|(step, _)| step == name), "{name} is not a step");
        }
    }

    /// A database at version 1 with messages, opened by this build: one line before and one
    /// after each long step, with the number of messages; none for a database up to date.
    #[test]
    fn long_steps_announce_themselves_with_the_row_count() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO phones (id, number) VALUES (1, '5550101');
             INSERT INTO conversations
                 (id, name, created_by, owner_id, join_code, created_at, updated_at)
                 VALUES (1, 'A', 1, 1, 'CODE1', 1, 1);",
        )
        .unwrap();
        for i in 0..37 {
            conn.execute(
                "INSERT INTO messages (conversation_id, sender_id, kind, content, created_at)
                     VALUES (1, 1, 'text', ?1, 1)",
                [format!("m{i}")],
            )
            .unwrap();
        }
        let mut lines = Vec::new();
        migrate_announcing(&mut conn, &mut |line| lines.push(line.to_owned())).unwrap();
        assert_eq!(lines.len(), 2 * LONG_STEPS.len(), "{lines:?}");
        for (pair, (_, what)) in lines.chunks(2).zip(LONG_STEPS) {
            assert_eq!(pair[0], format!("migrating: {what} on 37 messages"));
            assert!(pair[1].starts_with(&format!("migrating: {what} done in ")), "{pair:?}");
            assert!(pair[1].ends_with(" s"), "{pair:?}");
        }
        lines.clear();
        migrate_announcing(&mut conn, &mut |line| lines.push(line.to_owned())).unwrap();
        assert!(lines.is_empty(), "{lines:?}");
        let mut new = Connection::open_in_memory().unwrap();
        migrate_announcing(&mut new, &mut |line| lines.push(line.to_owned())).unwrap();
        assert!(lines.is_empty(), "a new database is quiet: {lines:?}");
    }

    /// A long step's line says how long it took, in tenths of a second of the clock.
    #[test]
    fn a_step_is_timed_in_seconds() {
        let started = Clock::start();
        std::thread::sleep(std::time::Duration::from_millis(400));
        let took = started.took();
        let seconds: f64 =
            took.strip_prefix(" in ").and_then(|t| t.strip_suffix(" s")).unwrap().parse().unwrap();
        assert!((0.4..60.0).contains(&seconds), "{took:?}");
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

    #[test]
    fn existing_members_get_distinct_generated_aliases_and_messages_name_them() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (_, sql) in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute_batch(
            "INSERT INTO phones VALUES (1, '5550101'), (2, '5550102'), (3, '5550103');
             INSERT INTO conversations (id, name, created_by, owner_id, join_code, created_at,
                 updated_at, last_message_id) VALUES (1, 'A', 1, 1, 'AAAA', 1, 1, 3);
             INSERT INTO members (id, conversation_id, phone_id, joined_at)
                 VALUES (1, 1, 1, 1), (2, 1, 2, 1);
             INSERT INTO messages (id, conversation_id, sender_id, kind, event, content, created_at)
                 VALUES (1, 1, 2, 'system', 'joined', '5550102 joined', 1),
                        (2, 1, 2, 'text', NULL, 'hi 5550101', 1),
                        (3, 1, 3, 'system', 'left', '5550103 left', 1);",
        )
        .unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), MIGRATIONS.len() - 3);
        let aliases: Vec<String> = conn
            .prepare("SELECT alias FROM members ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(aliases.len(), 2);
        assert_ne!(aliases[0].to_lowercase(), aliases[1].to_lowercase());
        for alias in &aliases {
            let parsed = crate::input::Alias::parse(alias).unwrap();
            assert_eq!(parsed.as_str(), alias);
            assert!(!alias.chars().any(|c| c.is_ascii_digit()), "{alias}");
        }
        let contents: Vec<String> = conn
            .prepare("SELECT content FROM messages ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let joined = format!("{} joined", aliases[1]);
        assert_eq!(contents, [joined.as_str(), "hi 5550101", "Former member left"]);
        let last: String =
            conn.query_row("SELECT last_content FROM conversations", [], |r| r.get(0)).unwrap();
        assert_eq!(last, "Former member left");
    }

    /// 0005 rebuilds the messages table: every row keeps its id and columns, the AUTOINCREMENT
    /// mark survives (an id handed out before, even of a deleted message, is never reused), the
    /// new kinds are allowed and the indexes are there again.
    #[test]
    fn the_messages_rebuild_keeps_rows_ids_and_the_high_water_mark() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (_, sql) in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.execute_batch(
            "INSERT INTO phones VALUES (1, '5550101');
             INSERT INTO conversations (id, name, created_by, owner_id, join_code, created_at,
                 updated_at, last_message_id) VALUES (1, 'A', 1, 1, 'AAAA', 1, 1, 2);
             INSERT INTO messages (id, conversation_id, sender_id, kind, event, content,
                 created_at, sender_alias)
                 VALUES (1, 1, 1, 'system', 'joined', 'Ace joined', 1, 'Ace'),
                        (2, 1, 1, 'text', NULL, 'hello', 2, 'Ace'),
                        (9, 1, 1, 'text', NULL, 'gone soon', 3, 'Ace');
             DELETE FROM messages WHERE id = 9;",
        )
        .unwrap();
        let before: Vec<(i64, String, String)> = rows(&conn);
        assert_eq!(migrate(&mut conn).unwrap(), MIGRATIONS.len() - 4);
        assert_eq!(rows(&conn), before);
        conn.execute(
            "INSERT INTO messages (conversation_id, sender_id, kind, content, created_at, extra)
                 VALUES (1, 1, 'image', '', 4, '{}')",
            [],
        )
        .unwrap();
        assert_eq!(conn.last_insert_rowid(), 10, "ids continue above the deleted 9");
        let bad = conn.execute(
            "INSERT INTO messages (conversation_id, kind, content, created_at) VALUES (1, 'x', '', 5)",
            [],
        );
        assert!(bad.is_err(), "the kind check still holds");
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        // 0005's three, and 0008's index by time (disappearing messages).
        assert_eq!(
            indexes,
            ["messages_expiry", "messages_page", "messages_replies", "messages_unread"]
        );
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        let fk: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 0);

        fn rows(conn: &Connection) -> Vec<(i64, String, String)> {
            conn.prepare("SELECT id, kind, content FROM messages ORDER BY id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        }
    }
}
