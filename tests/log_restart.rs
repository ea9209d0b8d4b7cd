//! The write-ahead log is restarted and cut back once writes pause.
//!
//! The checkpointer (src/store/checkpoint.rs) copies the log into the database on its own
//! thread and restarts it after a round that copied all of it; during a flood of writes with
//! no pause it cannot, and the log grows (see there). This shows the other half: after a
//! flood, the quiet rounds restart the log and cut the file back to the journal size limit
//! (64 MiB, at most 16 MiB a round), and later writes reuse it from the start instead of
//! growing it; once idle, the checkpointer touches neither file.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use darkchat::Store;
use support::flood::{log_size, Flood};
use support::scratch;

const LIMIT_BYTES: u64 = 64 << 20;

#[test]
fn after_a_flood_the_log_restarts_and_is_cut_back() {
    let dir = scratch::Scratch::new("log-restart");
    let wal = dir.join("darkchat.db-wal");
    let mut flood = Flood::new(Store::open(dir.join("darkchat.db")).unwrap());

    // A flood: back-to-back sends until the log is well past the limit.
    let started = Instant::now();
    while log_size(&wal) < LIMIT_BYTES + (32 << 20) {
        flood.send();
        assert!(started.elapsed() < Duration::from_secs(60), "the flood never filled the log");
    }
    let flooded = log_size(&wal);

    // A pause: within a few checkpoint rounds the log is restarted and cut back.
    let paused = Instant::now();
    while log_size(&wal) > LIMIT_BYTES {
        assert!(paused.elapsed() < Duration::from_secs(5), "log still {} bytes", log_size(&wal));
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "log {} MiB after the flood, cut to {} MiB in {:.0?}",
        flooded >> 20,
        log_size(&wal) >> 20,
        paused.elapsed()
    );

    // Writes at a live server's pace reuse the restarted log: its file does not grow.
    for _ in 0..50 {
        for _ in 0..20 {
            flood.send();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(log_size(&wal) <= LIMIT_BYTES, "log grew again to {} bytes", log_size(&wal));

    // Once the last writes are checkpointed, an idle server touches neither file.
    std::thread::sleep(Duration::from_millis(800));
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).unwrap();
    let db = dir.join("darkchat.db");
    let settled = (modified(&db), modified(&wal));
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!((modified(&db), modified(&wal)), settled, "the checkpointer wrote while idle");
}
