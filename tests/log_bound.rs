//! The write-ahead log stays bounded under a flood of writes.
//!
//! During back-to-back writes a PASSIVE checkpoint never completes, so the log cannot restart
//! and grows (see `src/store/checkpoint.rs`); past its cap the checkpointer catches up and holds
//! writers back once so that it restarts. This writes back to back, far past a small cap, and
//! checks the log file never grows much beyond it. Latencies are printed, not asserted (shared
//! machines are noisy): `cargo test --release --test log_bound -- --nocapture`.

mod support;

use std::time::{Duration, Instant};

use darkchat::{Store, StoreOptions};
use support::flood::{log_size, Flood};
use support::scratch;

/// Small, so that the test is quick (the default is 1 GiB).
const CAP_BYTES: u64 = 32 << 20;

#[test]
fn a_flood_of_writes_keeps_the_log_near_its_cap() {
    let dir = scratch::Scratch::new("log-bound");
    let wal = dir.join("darkchat.db-wal");
    let options = StoreOptions { log_cap_bytes: CAP_BYTES };
    let mut flood = Flood::new(Store::open_with(dir.join("darkchat.db"), &options).unwrap());

    // Write back to back until twice the bound below has gone through the log (counted as the
    // file's growth, which undercounts once the file is reused): an unbounded log would then be
    // twice the bound, a bounded one stays under it.
    let started = Instant::now();
    let (mut written, mut largest, mut slowest, mut sends) = (0u64, 0u64, Duration::ZERO, 0u64);
    let mut last_size = 0u64;
    let bound = |elapsed: Duration, written: u64| {
        // The cap, plus what the writer adds while the checkpointer notices (it ticks every
        // 250 ms), catches up and restarts the log: 0.5–0.7 s here, in a release build; three
        // seconds of writing at the measured rate leave room for a slower disk or build.
        let rate = written as f64 / elapsed.as_secs_f64().max(1e-3);
        CAP_BYTES + 3 * rate as u64
    };
    while written < 2 * bound(started.elapsed(), written)
        || started.elapsed() < Duration::from_secs(2)
    {
        assert!(started.elapsed() < Duration::from_secs(120), "the flood was too slow to test");
        let call = Instant::now();
        flood.send();
        slowest = slowest.max(call.elapsed());
        sends += 1;
        let size = log_size(&wal);
        written += size.saturating_sub(last_size);
        last_size = size;
        largest = largest.max(size);
    }
    let elapsed = started.elapsed();
    let limit = bound(elapsed, written);
    println!(
        "{sends} sends in {elapsed:.1?}: ≥ {} MiB through the log ({:.0} MiB/s); largest log \
         {} MiB (bound {} MiB); slowest send {slowest:.1?}",
        written >> 20,
        written as f64 / elapsed.as_secs_f64() / (1 << 20) as f64,
        largest >> 20,
        limit >> 20
    );
    assert!(largest <= limit, "log grew to {largest} bytes (bound {limit})");
}
