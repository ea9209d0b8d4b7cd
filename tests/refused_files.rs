//! A file that is not an empty or a Darkchat database is refused with one line and left byte for
//! byte as it was: another application's database (whatever its journal mode, even with tables
//! named like Darkchat's), a newer Darkchat schema, a file that is not a database. An empty file
//! and an older Darkchat schema open as before. The same files through the wasm core:
//! tests/wasm/refused.test.js.

mod support;

use std::path::{Path, PathBuf};

use darkchat::store::migrations::{latest_version, MIGRATIONS};
use darkchat::store::Store;
use rusqlite::Connection;
use support::scratch::Scratch;

/// A database at `dir/name` made by `setup` (another application, or an older Darkchat).
fn made(dir: &Scratch, name: &str, setup: impl FnOnce(&Connection)) -> PathBuf {
    let path = dir.join(name);
    let conn = Connection::open(&path).unwrap();
    setup(&conn);
    conn.close().unwrap();
    path
}

/// `path` is refused in one line containing `why`, and no byte of it changed.
fn refused_untouched(dir: &Scratch, path: &Path, why: &str) {
    let before = std::fs::read(path).unwrap();
    let message = match Store::open(path) {
        Ok(_) => panic!("{} was opened", path.display()),
        Err(e) => e.to_string(),
    };
    assert!(message.contains(why), "{message}");
    assert!(message.contains(&path.display().to_string()), "names the file: {message}");
    assert!(!message.contains('\n'), "one line: {message}");
    assert_eq!(std::fs::read(path).unwrap(), before, "{} was modified", path.display());
    let name = path.file_name().unwrap().to_string_lossy();
    let left: Vec<String> = std::fs::read_dir(dir.join(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{name}.lock")))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "lock files left beside {name}");
}

fn another_application(conn: &Connection) {
    conn.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO users (name) VALUES ('ada'), ('bob');
         CREATE TABLE items (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES users (id));",
    )
    .unwrap();
}

#[test]
fn another_applications_database_is_refused_untouched() {
    let dir = Scratch::new("refused-foreign");
    let path = made(&dir, "inventory.db", another_application);
    refused_untouched(&dir, &path, "not a Darkchat database (tables \"items\", \"users\"");
    let conn = Connection::open(&path).unwrap();
    let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(journal, "delete", "still in its own journal mode");
}

#[test]
fn another_applications_database_in_wal_mode_is_refused_untouched() {
    let dir = Scratch::new("refused-foreign-wal");
    let path = made(&dir, "inventory.db", |conn| {
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        another_application(conn);
        conn.pragma_update(None, "user_version", 7).unwrap();
    });
    refused_untouched(
        &dir,
        &path,
        "not a Darkchat database (tables \"items\", \"users\", user_version 7)",
    );
}

#[test]
fn a_database_with_a_table_named_like_darkchats_is_refused_in_one_line() {
    let dir = Scratch::new("refused-lookalike");
    let path = made(&dir, "phones.db", |conn| {
        conn.execute_batch("CREATE TABLE phones (imei TEXT PRIMARY KEY, model TEXT);").unwrap();
    });
    refused_untouched(&dir, &path, "not a Darkchat database (tables \"phones\", user_version 0)");
}

#[test]
fn a_versioned_database_without_darkchats_tables_is_refused_untouched() {
    let dir = Scratch::new("refused-versioned");
    let empty = made(&dir, "versioned.db", |conn| {
        conn.pragma_update(None, "user_version", 1).unwrap();
    });
    refused_untouched(&dir, &empty, "not a Darkchat database (no tables, user_version 1)");
    let partial = made(&dir, "partial.db", |conn| {
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.execute_batch("DROP TABLE messages").unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    });
    refused_untouched(&dir, &partial, "not a Darkchat database");
}

#[test]
fn a_newer_darkchat_schema_is_refused_untouched() {
    let dir = Scratch::new("refused-newer");
    let path = made(&dir, "newer.db", |conn| {
        for (_, sql) in MIGRATIONS {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch("CREATE TABLE from_the_future (id INTEGER PRIMARY KEY);").unwrap();
        conn.pragma_update(None, "user_version", latest_version() + 1).unwrap();
    });
    refused_untouched(&dir, &path, "is newer than this build supports");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_untouched() {
    let dir = Scratch::new("refused-garbage");
    let path = dir.join("notes.db");
    std::fs::write(&path, "these are someone's notes, not a database\n".repeat(200)).unwrap();
    refused_untouched(&dir, &path, "file is not a database");
}

#[test]
fn an_empty_file_and_an_older_darkchat_schema_open() {
    let dir = Scratch::new("refused-not");
    let empty = dir.join("empty.db");
    std::fs::write(&empty, "").unwrap();
    assert_eq!(Store::open(&empty).unwrap().schema_version().unwrap(), latest_version());
    let older = made(&dir, "older.db", |conn| {
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    });
    // The oldest schema is a backup this build restores (and migrates on the reopen).
    Store::check_restorable(&older).unwrap();
    assert_eq!(Store::open(&older).unwrap().schema_version().unwrap(), latest_version());
}

#[test]
fn a_database_of_many_tables_is_named_by_its_first_three_and_how_many_more() {
    let dir = Scratch::new("refused-many");
    let tables = |names: &[&str]| {
        let sql: String = names.iter().map(|t| format!("CREATE TABLE {t} (x);")).collect();
        move |conn: &Connection| conn.execute_batch(&sql).unwrap()
    };
    let three = made(&dir, "three.db", tables(&["a", "b", "c"]));
    refused_untouched(&dir, &three, "(tables \"a\", \"b\", \"c\", user_version 0)");
    let five = made(&dir, "five.db", tables(&["e", "d", "c", "b", "a"]));
    refused_untouched(&dir, &five, "(tables \"a\", \"b\", \"c\" and 2 more, user_version 0)");
}
