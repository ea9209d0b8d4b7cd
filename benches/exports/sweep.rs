//! The retention sweep over the whole seeded database: every conversation is given a one-hour
//! retention, so all 1,000,000 seeded messages (months old) are due at once. The sweep runs as
//! lua/retention.lua runs it on a server: `sweepExpired` steps through the Lua handle (binding,
//! core, store), each timed, until the round is over. Between two steps one send and one page
//! go through the handle too, timed, beside the same calls made before the sweep in the same
//! run: what a server's other calls see while a million messages go.

use std::time::Instant;

use mlua::{MultiValue, ObjectLike, Table, Value};
use serde_json::json;

use crate::statistics::Summary;
use crate::{AnyResult, Bench, Case, Mix, Op, Via};

/// Messages one step deletes at most (lua/config.lua's Config.Retention.batch).
pub const BATCH: i64 = 200;
/// Calls of each kind timed before the sweep (the baseline).
const BASELINE_CALLS: usize = 300;

pub struct SweepReport {
    pub steps: Summary,
    pub deleted: i64,
    pub total_seconds: f64,
    pub longest_block_ms: f64,
    pub send_before: Summary,
    pub send_during: Summary,
    pub page_before: Summary,
    pub page_during: Summary,
}

pub fn run(bench: &mut Bench) -> AnyResult<SweepReport> {
    eprintln!("sweeping the seeded messages (all due: a one-hour retention everywhere)...");
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
    let (mut after, mut deleted) = (0i64, 0i64);
    loop {
        let host = bench.host.as_ref().ok_or("the Lua host is not open")?;
        let start = Instant::now();
        let out = host.core.call_method::<MultiValue>("sweepExpired", (after, BATCH))?;
        steps.push(start.elapsed().as_nanos() as u64);
        let (Some(Value::Boolean(true)), Some(Value::Table(step))) = (out.front(), out.get(1))
        else {
            return Err(format!("sweepExpired failed: {out:?}").into());
        };
        let step: &Table = step;
        deleted += step.get::<i64>("deleted")?;
        after = step.get("next")?;
        if !step.get::<bool>("more")? {
            break;
        }
        send_during.push(time(bench, Op::Send)?);
        page_during.push(time(bench, Op::Page)?);
    }
    let total_seconds = steps.iter().sum::<u64>() as f64 / 1e9;
    let longest = steps.iter().chain(&send_during).chain(&page_during).max().copied().unwrap_or(0);
    Ok(SweepReport {
        steps: Summary::of(steps),
        deleted,
        total_seconds,
        longest_block_ms: longest as f64 / 1e6,
        send_before: Summary::of(send_before),
        send_during: Summary::of(send_during),
        page_before: Summary::of(page_before),
        page_during: Summary::of(page_during),
    })
}

impl SweepReport {
    pub fn print(&self) {
        println!();
        println!(
            "retention sweep: {} messages due at once, steps of {BATCH} (lua handle)",
            self.deleted
        );
        println!(
            "  steps: {} , p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs; all steps {:.1} s",
            self.steps.n, self.steps.p50, self.steps.p99, self.steps.max, self.total_seconds
        );
        println!(
            "  longest block of the main thread during the sweep: {:.2} ms",
            self.longest_block_ms
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
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "batch": BATCH,
            "deleted": self.deleted,
            "steps": self.steps.to_json(),
            "totalSeconds": self.total_seconds,
            "longestBlockMs": self.longest_block_ms,
            "sendBefore": self.send_before.to_json(),
            "sendDuring": self.send_during.to_json(),
            "pageBefore": self.page_before.to_json(),
            "pageDuring": self.page_during.to_json(),
        })
    }
}
