//! The write-ahead log stays bounded under a sustained stream of writes.
//!
//! A PASSIVE checkpoint alone never lets the log restart while commits keep arriving (see
//! `src/store/checkpoint.rs`); this writes back to back for a few seconds, far past the cap,
//! and checks the log file never grows much beyond it. Latencies are printed, not asserted
//! (shared machines are noisy): `cargo test --release --test log_bound -- --nocapture`.

use std::time::{Duration, Instant};

use darkchat::input::{ConversationName, PhoneNumber};
use darkchat::{Darkchat, Limits, Store};

/// The checkpointer's cap (`LOG_CAP_FRAMES` × 4 KiB pages).
const CAP_BYTES: u64 = 256 << 20;

#[test]
fn the_log_is_restarted_during_a_stream_of_writes() {
    let dir = std::env::temp_dir().join(format!("darkchat-log-bound-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("darkchat.db");
    let wal = dir.join("darkchat.db-wal");
    let mut dc = Darkchat::new(Store::open(&db).unwrap(), Limits::default(), [1; 32]);

    // Many conversations so that writes touch many pages, as a live server's do.
    let number = |i: usize| PhoneNumber::parse(&format!("555{i:04}")).unwrap();
    let name = ConversationName::parse("stream").unwrap();
    let ids: Vec<i64> =
        (0..200).map(|i| dc.create_conversation(&number(i), &name, None, 1).unwrap().id).collect();
    // Short messages: each send still logs whole pages (about 20 KB), while the database
    // itself grows little.
    let text = "hello";

    // Write until 3× the cap has gone through the log (counted as the file's growth, which
    // undercounts once the file is reused), so an unbounded log ends far past the limit below.
    let started = Instant::now();
    let (mut written, mut largest, mut slowest, mut sends) = (0u64, 0u64, Duration::ZERO, 0u64);
    let mut last_size = 0u64;
    while written < 3 * CAP_BYTES && started.elapsed() < Duration::from_secs(60) {
        let i = (sends as usize * 7919) % ids.len();
        let call = Instant::now();
        dc.send_message(&number(i), ids[i], text, 2).unwrap();
        slowest = slowest.max(call.elapsed());
        sends += 1;
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        written += size.saturating_sub(last_size);
        last_size = size;
        largest = largest.max(size);
    }
    let elapsed = started.elapsed();
    let rate = written as f64 / elapsed.as_secs_f64();
    println!(
        "{sends} sends in {elapsed:.1?}: ≥ {} MiB through the log ({:.0} MiB/s); largest log \
         {} MiB; slowest send {slowest:.1?}",
        written >> 20,
        rate / (1 << 20) as f64,
        largest >> 20
    );
    assert!(written >= 3 * CAP_BYTES, "the stream did not get far past the cap in a minute");
    // The cap, plus what the writer adds in 3/4 of a second while the checkpointer notices (it
    // ticks every 250 ms) and catches up. Unbounded, the log would be all 3 caps written.
    let limit = CAP_BYTES + (rate * 0.75) as u64;
    assert!(largest <= limit, "log grew to {largest} bytes (limit {limit})");
    drop(dc);
    let _ = std::fs::remove_dir_all(&dir);
}
