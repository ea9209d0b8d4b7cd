//! Backups in bounded steps (the wasm core's, run here natively on the same store code): each
//! step copies at most the pages asked for, writes between steps reach the copy, the copy is
//! a checked single file; and the files a backup or restore refuses.

mod support;

use support::scratch;

use darkchat::store::stepped::Progress;
use darkchat::{Darkchat, Limits, Store};
use rusqlite::Connection;

fn filled(path: &std::path::Path, messages: usize) -> Darkchat {
    let mut dc = Darkchat::new(Store::open(path).unwrap(), Limits::default(), [3; 32]);
    let owner = darkchat::input::PhoneNumber::parse("5550101").unwrap();
    let name = darkchat::input::ConversationName::parse("Busy").unwrap();
    let id = dc.create_conversation(&owner, &name, None, 1).unwrap().id;
    for i in 0..messages {
        dc.send_message(&owner, id, &format!("message {i} {}", "x".repeat(200)), 1).unwrap();
    }
    dc
}

fn count(path: &std::path::Path) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0)).unwrap()
}

#[test]
fn each_step_copies_at_most_its_pages_and_writes_between_steps_reach_the_copy() {
    let dir = scratch::Scratch::new("stepped-backup");
    let mut dc = filled(&dir.join("live.db"), 2000);
    let dest = dir.join("backups/copy.db");
    dc.store().start_stepped_backup(&dest).unwrap();
    assert!(dc.store().backup_running());
    let owner = darkchat::input::PhoneNumber::parse("5550101").unwrap();
    let id = darkchat::ConversationId(1);
    let (mut last, mut steps, mut written) = (None, 0, 0);
    let (mut checked, mut checking_steps, mut written_while_checking) = (0, 0, 0);
    loop {
        match dc.store().backup_step(8).unwrap() {
            Progress::Verifying { rows, bytes, pages } => {
                // The check reads as much as a copying step may copy: 8 pages' worth of rows
                // (8 a page) and bytes, overshooting by at most the row that crossed the line
                // (~230 bytes here); at most 8 raw pages.
                assert!(rows <= 8 * 8, "{rows} rows in one step");
                assert!(bytes <= 8 * 4096 + 512, "{bytes} bytes in one step");
                assert!(pages <= 8, "{pages} pages in one step");
                checked += rows;
                checking_steps += 1;
                // The store serves between the check's steps too.
                dc.send_message(&owner, id, "while checking", 2).unwrap();
                written_while_checking += 1;
            }
            Progress::Copying { remaining, total } => {
                assert!(total > 100, "a database of many pages: {total}");
                if let Some(before) = last {
                    // Never more than 8 pages at once (a write may add pages to copy).
                    assert!(before - remaining <= 8, "{before} -> {remaining}");
                }
                last = Some(remaining);
                steps += 1;
                if steps % 10 == 0 {
                    dc.send_message(&owner, id, "during", 2).unwrap();
                    written += 1;
                }
            }
            Progress::Done => break,
        }
    }
    assert!(steps > 10, "{steps} steps");
    // Every message read through in the table and in each of its three indexes (the partial
    // one holds none: no replies here), the other tables too, in many steps.
    assert!(checked >= 2000 * 3, "{checked} rows and entries checked");
    assert!(checking_steps > 2000 * 3 / 64, "{checking_steps} steps");
    assert!(!dc.store().backup_running());
    let conn = Connection::open(&dest).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete", "a single file");
    drop(conn);
    assert!(written > 0);
    assert_eq!(
        count(&dest) + written_while_checking,
        count(&dir.join("live.db")),
        "the writes made during the copy are in it (and not those made after it)"
    );
    // The copy opens as a Darkchat store.
    assert!(Store::check_restorable(&dest).is_ok());
}

/// Runs a stepped backup of `live` to `dest`; when its check starts, overwrites the cell
/// pointers of a leaf page in the middle of `object` (a table or an index) in the copy and
/// keeps a copy of the damaged file as `evidence`. Returns the backup's end.
fn backup_damaging(
    dc: &Darkchat,
    dest: &std::path::Path,
    object: &str,
    evidence: &std::path::Path,
) -> darkchat::Result<()> {
    dc.store().start_stepped_backup(dest).unwrap();
    let mut damaged = false;
    loop {
        match dc.store().backup_step(64)? {
            Progress::Copying { .. } => {}
            Progress::Verifying { .. } if !damaged => {
                let page: i64 = Connection::open(dest)
                    .unwrap()
                    .query_row(
                        "SELECT pageno FROM dbstat WHERE name = ?1 AND pagetype = 'leaf' \
                         ORDER BY pageno LIMIT 1 OFFSET (SELECT count(*) / 2 FROM dbstat \
                         WHERE name = ?1 AND pagetype = 'leaf')",
                        [object],
                        |r| r.get(0),
                    )
                    .unwrap();
                use std::io::{Seek, SeekFrom, Write};
                let mut file = std::fs::OpenOptions::new().write(true).open(dest).unwrap();
                // Past the page's 8-byte header: its cell pointers, pointing out of the page.
                file.seek(SeekFrom::Start((page as u64 - 1) * 4096 + 8)).unwrap();
                file.write_all(&[0xff; 64]).unwrap();
                drop(file);
                std::fs::copy(dest, evidence).unwrap();
                damaged = true;
            }
            Progress::Verifying { .. } => {}
            Progress::Done => return Ok(()),
        }
    }
}

fn quick_check(path: &std::path::Path) -> String {
    let conn = Connection::open(path).unwrap();
    conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).unwrap_or_else(|e| e.to_string())
}

#[test]
fn a_copy_with_a_damaged_table_or_index_page_fails_its_check_and_is_removed() {
    let dir = scratch::Scratch::new("stepped-damaged");
    let dc = filled(&dir.join("live.db"), 3000);
    for (n, object) in ["messages", "messages_unread", "messages_page"].iter().enumerate() {
        let dest = dir.join(format!("backups/copy{n}.db"));
        let evidence = dir.join(format!("evidence{n}.db"));
        let err = backup_damaging(&dc, &dest, object, &evidence).unwrap_err().to_string();
        assert!(err.contains("failed its check") && err.contains(object), "{object}: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
        assert!(!dest.exists(), "{object}: the damaged copy is removed");
        assert!(!dc.store().backup_running());
        // The whole-file quick_check the backup used to run refuses the same file.
        assert_ne!(quick_check(&evidence), "ok", "{object}");
    }
    // An undamaged copy of the same database passes.
    dc.store().start_stepped_backup(dir.join("backups/good.db")).unwrap();
    while dc.store().backup_step(64).unwrap() != Progress::Done {}
    assert_eq!(quick_check(&dir.join("backups/good.db")), "ok");
}

#[test]
fn a_copy_cut_short_fails_its_check() {
    let dir = scratch::Scratch::new("stepped-short");
    let dc = filled(&dir.join("live.db"), 500);
    let dest = dir.join("copy.db");
    dc.store().start_stepped_backup(&dest).unwrap();
    let mut cut = false;
    let end = loop {
        match dc.store().backup_step(64) {
            Ok(Progress::Verifying { .. }) if !cut => {
                let len = std::fs::metadata(&dest).unwrap().len();
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&dest)
                    .unwrap()
                    .set_len(len - 4096)
                    .unwrap();
                cut = true;
            }
            Ok(Progress::Done) => break Ok(()),
            Ok(_) => {}
            Err(e) => break Err(e),
        }
    };
    let err = end.unwrap_err().to_string();
    assert!(err.contains("failed its check"), "{err}");
    assert!(!dest.exists());
}

#[test]
fn a_stepped_backup_never_overwrites_and_runs_one_at_a_time() {
    let dir = scratch::Scratch::new("stepped-refusals");
    let dc = filled(&dir.join("live.db"), 10);
    let taken = dir.join("taken.db");
    std::fs::write(&taken, b"someone's file").unwrap();
    let err = dc.store().start_stepped_backup(&taken).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&taken).unwrap(), b"someone's file");
    #[cfg(unix)]
    {
        let outside = dir.join("outside.db");
        std::os::unix::fs::symlink(&outside, dir.join("link.db")).unwrap();
        assert!(dc.store().start_stepped_backup(dir.join("link.db")).is_err());
        assert!(!outside.exists(), "a link is never followed");
    }
    dc.store().start_stepped_backup(dir.join("one.db")).unwrap();
    let err = dc.store().start_stepped_backup(dir.join("two.db")).unwrap_err();
    assert!(err.to_string().contains("already running"), "{err}");
    assert!(!dir.join("two.db").exists());
    while dc.store().backup_step(1000).unwrap() != Progress::Done {}
}

#[test]
fn restore_refuses_corrupt_foreign_empty_and_linked_files_and_changes_nothing() {
    let dir = scratch::Scratch::new("restore-refusals");
    let live = dir.join("live.db");
    drop(filled(&live, 5));
    let before = std::fs::read(&live).unwrap();
    let corrupt = dir.join("corrupt.db");
    std::fs::write(&corrupt, b"garbage ".repeat(1000)).unwrap();
    let foreign = dir.join("foreign.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE invoices (id INTEGER);")
        .unwrap();
    let empty = dir.join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let mut refused = vec![corrupt, foreign, empty, dir.join("missing.db")];
    #[cfg(unix)]
    {
        let link = dir.join("link.db");
        std::os::unix::fs::symlink(&live, &link).unwrap();
        refused.push(link);
    }
    for file in refused {
        let err = darkchat::backups::stage_restore(&file, &live).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("refused: ") && text.ends_with("nothing changed"), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
        assert!(!darkchat::backups::staging_path(&live).exists(), "nothing staged");
        assert_eq!(std::fs::read(&live).unwrap(), before, "{}", file.display());
    }
}
