//! The write-ahead log stays bounded under a flood of writes.
//!
//! During back-to-back writes a PASSIVE checkpoint never completes, so the log cannot restart
//! and grows (see `src/store/checkpoint.rs`); past its cap the checkpointer catches up and holds
//! writers back once so that it restarts. This writes back to back, far past a small cap, and
//! checks that the log restarts again and again while the flood goes on and that its file stops
//! growing: the flood goes on until four times the largest log file has gone through the log,
//! which an unbounded log (its file as long as everything written) never reaches.
//!
//! How far past the cap the file gets depends on how fast the writer is against the disk's
//! copying and syncing, so it is printed, not asserted, as are latencies (shared machines are
//! noisy): `cargo test --release --test log_bound -- --nocapture`.

mod support;

use std::time::{Duration, Instant};

use darkchat::{Store, StoreOptions};
use support::flood::{log_size, Flood, LogWatch};
use support::scratch;

/// Small, so that the test is quick (the default is 1 GiB).
const CAP_BYTES: u64 = 32 << 20;
/// A log file this long (64 times the cap) means the log is not bounded: the test stops there
/// rather than fill the disk.
const GIVE_UP_BYTES: u64 = 2 << 30;
/// A log frame: a 4 KiB page and its 24-byte header.
const FRAME_BYTES: u64 = 4096 + 24;

#[test]
fn a_flood_of_writes_keeps_the_log_bounded() {
    let dir = scratch::Scratch::new("log-bound");
    let (db, wal) = (dir.join("darkchat.db"), dir.join("darkchat.db-wal"));
    let options = StoreOptions { log_cap_bytes: CAP_BYTES, ..StoreOptions::default() };
    let mut flood = Flood::new(Store::open_with(&db, &options).unwrap());
    let mut watch = LogWatch::new(&db);

    let started = Instant::now();
    let (mut largest, mut slowest, mut sends) = (0u64, Duration::ZERO, 0u64);
    loop {
        let call = Instant::now();
        flood.send();
        slowest = slowest.max(call.elapsed());
        sends += 1;
        watch.look();
        largest = largest.max(log_size(&wal));
        if watch.through * FRAME_BYTES >= 4 * largest.max(CAP_BYTES) && watch.restarts >= 4 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60) && largest < GIVE_UP_BYTES,
            "the log kept growing with the flood: file {largest} bytes after {} bytes through \
             it, {} restarts",
            watch.through * FRAME_BYTES,
            watch.restarts
        );
    }
    let elapsed = started.elapsed();
    println!(
        "{sends} sends in {elapsed:.1?}: {} MiB through the log ({:.0} MiB/s), {} restarts; \
         largest log file {} MiB (cap {} MiB); slowest send {slowest:.1?}",
        (watch.through * FRAME_BYTES) >> 20,
        (watch.through * FRAME_BYTES) as f64 / elapsed.as_secs_f64() / (1 << 20) as f64,
        watch.restarts,
        largest >> 20,
        CAP_BYTES >> 20
    );
}
