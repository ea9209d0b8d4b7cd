//! The retention sweep over the whole seeded database: every conversation is given a one-hour
//! retention, so all 1,000,000 seeded messages (months old) are due at once. The sweep runs as
//! lua/retention.lua runs it on a server: `sweepExpired` steps through the Lua handle (binding,
//! core, store), each timed, until the round is over. Between two steps one send and one page
//! go through the handle too, timed, beside the same calls made before the sweep in the same
//! run: what a server's other calls see while a million messages go. Steps follow each other
//! at once, except that after a step that finds the log behind the sweep waits as
//! lua/retention.lua does (untimed); the first steps (200, `--paced-sweep N` or `all`) come 50 ms
//! apart as the server's pacer makes them, the send and the page in the middle of each pause,
//! and their figures are also reported apart: the sweep as a server runs it, then the rest as a
//! stress (steps back to back write the log as fast as the disk takes it).
//!
//! Only the Lua handle's store is open during the sweep: a server has one store and one
//! checkpoint thread, and the benchmark's second store (the `core` path's) would checkpoint the
//! same log too, doubling the disk's work.

use std::time::Instant;

use mlua::{MultiValue, ObjectLike, Table, Value};
use serde_json::json;

use crate::statistics::{Summary, ThreadClock};
use crate::{AnyResult, Bench, Case, Mix, Op, Via};

/// Messages one step deletes at most when `--sweep-batch` names none: the core's own default,
/// which lua/config.lua's Config.Retention.batch ships with.
pub use darkchat::service::retention::DEFAULT_SWEEP_BATCH as DEFAULT_BATCH;
/// How long the sweep waits after a step that found the log behind (lua/config.lua's
/// Config.Retention.behindPauseMs), untimed: the checkpointer's time to copy and restart it.
const BEHIND_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);
/// The pause between two paced steps (lua/config.lua's Config.Retention.pauseMs).
const STEP_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);
/// Calls of each kind timed before the sweep (the baseline).
const BASELINE_CALLS: usize = 300;
/// The longest main-thread blocks of the sweep that the report takes apart.
const ANATOMIES: usize = 5;

/// One long block of the main thread during the sweep, taken apart: where its wall time went
/// (see [`ThreadClock`]) and how long the log file was when it began.
#[derive(Debug, Clone)]
pub struct Anatomy {
    pub what: &'static str,
    pub wall_ns: u64,
    pub thread: ThreadClock,
    /// Of its sleep, the time spent waiting for a lock another connection held (the
    /// checkpointer's).
    pub lock_wait_ns: u64,
    pub log_bytes: u64,
    /// When it began (to line it up with a trace of the other threads' system calls).
    pub began: std::time::SystemTime,
    /// The step it was (1 for the first) or came after.
    pub step: usize,
}

impl Anatomy {
    fn slept_ns(&self) -> u64 {
        self.wall_ns.saturating_sub(self.thread.on_cpu_ns + self.thread.queued_ns)
    }
}

/// Keeps the [`ANATOMIES`] longest blocks seen, by their own time (the wall time less the
/// time the thread waited for a CPU: on a shared machine the longest by wall time are mostly
/// other processes' turns).
fn keep_longest(longest: &mut Vec<Anatomy>, block: Anatomy) {
    longest.push(block);
    longest.sort_by_key(|b| std::cmp::Reverse(b.wall_ns.saturating_sub(b.thread.queued_ns)));
    longest.truncate(ANATOMIES);
}

/// The length of the log file next to the database at `db` (0 when there is none).
fn log_bytes(db: Option<&str>) -> u64 {
    db.and_then(|db| std::fs::metadata(format!("{db}-wal")).ok()).map_or(0, |m| m.len())
}

pub struct SweepReport {
    /// Messages a step deleted at most.
    pub batch: i64,
    pub steps: Summary,
    /// The first steps, paced as on a server, and the longest block of the thread among them
    /// and the calls between them, by its own time.
    pub paced_steps: Summary,
    pub paced_longest_own_block_ms: f64,
    pub deleted: i64,
    pub total_seconds: f64,
    /// Steps after which the sweep waited for the checkpointer (the log was behind).
    pub waits: usize,
    pub longest_block_ms: f64,
    /// The same without the time the thread waited for a CPU (other processes' share of a
    /// loaded machine): what the sweep and the calls themselves held the thread.
    pub longest_own_block_ms: f64,
    pub send_before: Summary,
    pub send_during: Summary,
    pub page_before: Summary,
    pub page_during: Summary,
    pub longest: Vec<Anatomy>,
}

pub fn run(bench: &mut Bench, paced_steps: usize, batch: i64) -> AnyResult<SweepReport> {
    eprintln!("sweeping the seeded messages (all due: a one-hour retention everywhere)...");
    bench.core = None;
    let sends = bench.targets(Case { op: Op::Send, mix: Mix::Any }, 1)?;
    let pages = bench.targets(Case { op: Op::Page, mix: Mix::Any }, 1)?;
    let (mut sends, mut pages) = (sends.into_iter().cycle(), pages.into_iter().cycle());
    let mut time = |bench: &mut Bench, op: Op| -> AnyResult<u64> {
        let t = if op == Op::Send { sends.next() } else { pages.next() };
        bench.call(op, Via::Handle, &t.ok_or("no targets")?)
    };
    let (mut send_before, mut page_before) = (Vec::new(), Vec::new());
    for _ in 0..BASELINE_CALLS {
        send_before.push(time(bench, Op::Send)?);
        page_before.push(time(bench, Op::Page)?);
    }
    bench.aux.execute("UPDATE conversations SET retention_seconds = 3600", [])?;
    let (mut steps, mut send_during, mut page_during) = (Vec::new(), Vec::new(), Vec::new());
    let (mut after, mut deleted, mut waits) = (0i64, 0i64, 0usize);
    let db = bench.aux.path().map(str::to_owned);
    let mut anatomies = Vec::new();
    let (mut longest_own_ns, mut paced_own_ns) = (0u64, 0u64);
    // Times `block` on the wall clock and the thread's clock, keeping it if among the longest;
    // its wall time and its own time.
    let mut anatomised =
        |what, step, block: &mut dyn FnMut() -> AnyResult<u64>| -> AnyResult<(u64, u64)> {
            let log = log_bytes(db.as_deref());
            let began = std::time::SystemTime::now();
            let before = ThreadClock::now();
            let waited_before = darkchat::store::lock_wait_ns();
            let wall_ns = block()?;
            let thread = before.until(ThreadClock::now());
            let lock_wait_ns = darkchat::store::lock_wait_ns() - waited_before;
            let own_ns = wall_ns.saturating_sub(thread.queued_ns);
            keep_longest(
                &mut anatomies,
                Anatomy { what, wall_ns, thread, lock_wait_ns, log_bytes: log, began, step },
            );
            Ok((wall_ns, own_ns))
        };
    loop {
        let paced = steps.len() < paced_steps;
        let host = bench.host.as_ref().ok_or("the Lua host is not open")?;
        let mut out = MultiValue::new();
        let (step_ns, step_own_ns) = anatomised("step", steps.len() + 1, &mut || {
            let start = Instant::now();
            out = host.core.call_method::<MultiValue>("sweepExpired", (after, batch))?;
            Ok(start.elapsed().as_nanos() as u64)
        })?;
        steps.push(step_ns);
        let mut own = vec![step_own_ns];
        let (Some(Value::Boolean(true)), Some(Value::Table(step))) = (out.front(), out.get(1))
        else {
            return Err(format!("sweepExpired failed: {out:?}").into());
        };
        let step: &Table = step;
        deleted += step.get::<i64>("deleted")?;
        after = step.get("next")?;
        let more = step.get::<bool>("more")?;
        if more && step.get::<bool>("behind")? {
            waits += 1;
            std::thread::sleep(BEHIND_PAUSE);
        }
        if more {
            if paced {
                std::thread::sleep(STEP_PAUSE / 2);
            }
            let (send_ns, send_own_ns) =
                anatomised("send", steps.len(), &mut || time(bench, Op::Send))?;
            let (page_ns, page_own_ns) =
                anatomised("page", steps.len(), &mut || time(bench, Op::Page))?;
            send_during.push(send_ns);
            page_during.push(page_ns);
            own.extend([send_own_ns, page_own_ns]);
            if paced {
                std::thread::sleep(STEP_PAUSE / 2);
            }
        }
        let own = own.into_iter().max().unwrap_or(0);
        longest_own_ns = longest_own_ns.max(own);
        if paced {
            paced_own_ns = paced_own_ns.max(own);
        }
        if !more {
            break;
        }
    }
    let paced = Summary::of(steps[..paced_steps.min(steps.len())].to_vec());
    let total_seconds = steps.iter().sum::<u64>() as f64 / 1e9;
    let longest = steps.iter().chain(&send_during).chain(&page_during).max().copied().unwrap_or(0);
    Ok(SweepReport {
        batch,
        steps: Summary::of(steps),
        paced_steps: paced,
        paced_longest_own_block_ms: paced_own_ns as f64 / 1e6,
        deleted,
        total_seconds,
        waits,
        longest_block_ms: longest as f64 / 1e6,
        longest_own_block_ms: longest_own_ns as f64 / 1e6,
        send_before: Summary::of(send_before),
        send_during: Summary::of(send_during),
        page_before: Summary::of(page_before),
        page_during: Summary::of(page_during),
        longest: anatomies,
    })
}

impl SweepReport {
    pub fn print(&self) {
        println!();
        println!(
            "retention sweep: {} messages due at once, steps of {} (lua handle)",
            self.deleted, self.batch
        );
        println!(
            "  steps: {} , p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs; all steps {:.1} s",
            self.steps.n, self.steps.p50, self.steps.p99, self.steps.max, self.total_seconds
        );
        println!(
            "  the first {} steps paced as on a server ({} ms apart): p50 {:.0} µs, p99 {:.0} µs, \
             max {:.0} µs; longest block {:.2} ms by its own time",
            self.paced_steps.n,
            STEP_PAUSE.as_millis(),
            self.paced_steps.p50,
            self.paced_steps.p99,
            self.paced_steps.max,
            self.paced_longest_own_block_ms
        );
        println!(
            "  waits for the checkpointer (the log behind): {} of {} ms",
            self.waits,
            BEHIND_PAUSE.as_millis()
        );
        println!(
            "  longest block of the main thread during the sweep: {:.2} ms ({:.2} ms without \
             waiting for a CPU)",
            self.longest_block_ms, self.longest_own_block_ms
        );
        for (what, before, during) in [
            ("send", &self.send_before, &self.send_during),
            ("page", &self.page_before, &self.page_during),
        ] {
            println!(
                "  {what}: before p50 {:.0} µs max {:.0} µs; between steps p50 {:.0} µs max {:.0} µs",
                before.p50, before.max, during.p50, during.max
            );
        }
        println!(
            "  the longest blocks by their own time, taken apart (on a CPU / waiting for one / \
             asleep, of which waiting for a lock):"
        );
        for block in &self.longest {
            println!(
                "    {:<4} {:>8.2} ms: {:.2} / {:.2} / {:.2} ({:.2}) ms, {} major faults, log {:.0} MiB",
                block.what,
                block.wall_ns as f64 / 1e6,
                block.thread.on_cpu_ns as f64 / 1e6,
                block.thread.queued_ns as f64 / 1e6,
                block.slept_ns() as f64 / 1e6,
                block.lock_wait_ns as f64 / 1e6,
                block.thread.major_faults,
                block.log_bytes as f64 / (1 << 20) as f64
            );
            let since_epoch = block.began.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let (s, us) = (since_epoch.as_secs() % 86_400, since_epoch.subsec_micros());
            println!(
                "         step {}, began {:02}:{:02}:{:02}.{us:06} UTC",
                block.step,
                s / 3600,
                s / 60 % 60,
                s % 60
            );
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "batch": self.batch,
            "deleted": self.deleted,
            "steps": self.steps.to_json(),
            "totalSeconds": self.total_seconds,
            "pacedSteps": self.paced_steps.to_json(),
            "pacedLongestOwnBlockMs": self.paced_longest_own_block_ms,
            "behindWaits": self.waits,
            "longestBlockMs": self.longest_block_ms,
            "longestOwnBlockMs": self.longest_own_block_ms,
            "sendBefore": self.send_before.to_json(),
            "sendDuring": self.send_during.to_json(),
            "pageBefore": self.page_before.to_json(),
            "pageDuring": self.page_during.to_json(),
            "longestBlocks": self.longest.iter().map(|b| json!({
                "what": b.what,
                "wallMs": b.wall_ns as f64 / 1e6,
                "onCpuMs": b.thread.on_cpu_ns as f64 / 1e6,
                "queuedMs": b.thread.queued_ns as f64 / 1e6,
                "asleepMs": b.slept_ns() as f64 / 1e6,
                "lockWaitMs": b.lock_wait_ns as f64 / 1e6,
                "majorFaults": b.thread.major_faults,
                "logBytes": b.log_bytes,
                "step": b.step,
            })).collect::<Vec<_>>(),
        })
    }
}
