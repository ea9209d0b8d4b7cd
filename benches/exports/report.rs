//! What a run prints and writes: the table, start-up and memory, the targets of the issue, and
//! `exports.json` with every round.

use std::path::Path;

use serde_json::json;

use crate::options::Options;
use crate::seed::{self, SeedReport};
use crate::statistics::{kib_to_mib, Memory, Summary};
use crate::{AnyResult, Case, Measured, Mix, Op, Via, CASES};

/// Everything one run measured.
pub struct Run<'a> {
    pub opts: &'a Options,
    pub seeded: &'a SeedReport,
    /// Start-up times in ms, sorted.
    pub startup: Vec<f64>,
    pub memory: Memories,
    /// Operations whose export the resource did not register (measured through the handle).
    pub missing: Vec<Op>,
    /// Each measured case and path, with one summary per round.
    pub results: Measured,
    /// The empty call, one summary per round (none when Lua was not opened).
    pub noop_rounds: Vec<Summary>,
}

/// The process's memory at the steps of a run.
pub struct Memories {
    pub start: Memory,
    pub before_open: Memory,
    pub after_open: Memory,
    pub after_run: Memory,
}

impl Run<'_> {
    fn startup_median(&self) -> f64 {
        self.startup[self.startup.len() / 2]
    }

    /// The table's rows: the empty call first, then each case and path in measuring order,
    /// medians over the rounds.
    fn rows(&self) -> Vec<Row> {
        let noop = (!self.noop_rounds.is_empty()).then(|| Summary::median(&self.noop_rounds));
        let floor_p50 = |case: Case| {
            self.results
                .iter()
                .find(|(c, v, _)| *c == case && *v == Via::Floor)
                .map(|(_, _, r)| Summary::median(r).p50)
        };
        let mut rows: Vec<Row> = noop
            .into_iter()
            .map(|s| Row { op: "empty call".into(), via: Via::Noop, s, x_floor: None })
            .collect();
        for (case, via, rounds) in &self.results {
            let s = Summary::median(rounds);
            let x_floor = floor_p50(*case).map(|f| s.p50 / f);
            rows.push(Row { op: case.name(), via: *via, s, x_floor });
        }
        rows
    }
}

/// Prints the report on stdout and writes it as JSON to `out`.
pub fn report(run: &Run, out: &Path) -> AnyResult<()> {
    let rows = run.rows();
    let checks = targets(run);
    print(run, &rows, &checks);
    std::fs::write(out, serde_json::to_string_pretty(&json(run, &rows, &checks))?)?;
    println!();
    println!("written {}", out.display());
    Ok(())
}

fn print(run: &Run, rows: &[Row], checks: &[Check]) {
    let (opts, mem) = (run.opts, &run.memory);
    println!();
    println!(
        "Darkchat exports — {} phones, {} conversations, {} messages, {} memberships; {} core(s); \
         {} round(s) × {} calls{}",
        seed::PHONES,
        seed::CONVERSATIONS,
        seed::MESSAGES,
        run.seeded.memberships,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        opts.rounds,
        opts.iterations,
        if opts.quick { " (--quick: indicative only)" } else { "" }
    );
    println!();
    print_table(rows);
    println!();
    println!(
        "start-up (Store::open + migrations on the {:.0} MB database, median of 5): {:.2} ms  [{}]",
        run.seeded.bytes as f64 / 1e6,
        run.startup_median(),
        run.startup.iter().map(|ms| format!("{ms:.2}")).collect::<Vec<_>>().join(", ")
    );
    println!(
        "resident memory: {:.1} MiB before opening, {:.1} MiB after opening (Lua state + 2 stores + \
         floor connection), {:.1} MiB after the run; peak {:.1} MiB",
        kib_to_mib(mem.before_open.rss),
        kib_to_mib(mem.after_open.rss),
        kib_to_mib(mem.after_run.rss),
        kib_to_mib(mem.after_run.peak)
    );
    println!(
        "  of which private (heaps, page caches): {:.1} MiB after opening, {:.1} MiB after the run; \
         mapped database pages: {:.1} MiB after the run (bounded by mmap_size per connection)",
        kib_to_mib(mem.after_open.anon),
        kib_to_mib(mem.after_run.anon),
        kib_to_mib(mem.after_run.file.saturating_sub(mem.after_open.file))
    );
    println!("  (at process start: {:.1} MiB)", kib_to_mib(mem.start.rss));

    println!();
    println!("targets (issue; medians over rounds):");
    for c in checks {
        println!(
            "  [{}] {:<44} {:>9.2} {:<3} (limit {} {})",
            if c.met { "met" } else { "MISS" },
            c.what,
            c.value,
            c.unit,
            c.limit,
            c.unit
        );
    }
}

fn json(run: &Run, rows: &[Row], checks: &[Check]) -> serde_json::Value {
    let (opts, seeded, mem) = (run.opts, run.seeded, &run.memory);
    json!({
        "command": "cargo bench --features vendored --bench exports",
        "options": {
            "quick": opts.quick, "iterations": opts.iterations, "warmup": opts.warmup,
            "rounds": opts.rounds, "floor_pragmas": opts.floor_pragmas,
        },
        "machine": {
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "os": std::env::consts::OS, "arch": std::env::consts::ARCH,
        },
        "database": {
            "phones": seed::PHONES, "conversations": seed::CONVERSATIONS,
            "messages": seed::MESSAGES, "memberships": seeded.memberships,
            "bytes": seeded.bytes, "seed": seeded.to_json(),
        },
        "startup_ms": { "median": run.startup_median(), "samples": run.startup },
        "rss_kib": {
            "process_start": mem.start.rss, "before_open": mem.before_open.rss,
            "after_open": mem.after_open.rss, "after_run": mem.after_run.rss,
            "peak": mem.after_run.peak,
            "anon_after_open": mem.after_open.anon, "anon_after_run": mem.after_run.anon,
            "file_after_open": mem.after_open.file, "file_after_run": mem.after_run.file,
        },
        "exports_missing": run.missing.iter().map(|op| op.export()).collect::<Vec<_>>(),
        "results": rows.iter().map(|r| json!({
            "operation": r.op, "path": r.via.name(),
            "ops_per_s": r.s.ops, "p50_us": r.s.p50, "p99_us": r.s.p99,
            "p999_us": r.s.p999, "max_us": r.s.max, "x_floor": r.x_floor,
            "samples": r.s.n,
        })).collect::<Vec<_>>(),
        "rounds": run.results.iter().map(|(case, via, rounds)| json!({
            "operation": case.name(), "path": via.name(),
            "rounds": rounds.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "targets": checks.iter().map(|c| json!({
            "what": c.what, "value": c.value, "limit": c.limit, "unit": c.unit, "met": c.met,
        })).collect::<Vec<_>>(),
    })
}

struct Row {
    op: String,
    via: Via,
    s: Summary,
    x_floor: Option<f64>,
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<18} | {:<14} | {:>9} | {:>8} | {:>8} | {:>9} | {:>9} | {:>6}",
        "operation", "path", "ops/s", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "×floor"
    );
    println!("{}", "-".repeat(18 + 14 + 9 + 8 + 8 + 9 + 9 + 6 + 7 * 3));
    let mut last = String::new();
    for r in rows {
        let op = if r.op == last { String::new() } else { r.op.clone() };
        last = r.op.clone();
        println!(
            "{:<18} | {:<14} | {:>9.0} | {:>8.1} | {:>8.1} | {:>9.1} | {:>9.1} | {:>6}",
            op,
            r.via.name(),
            r.s.ops,
            r.s.p50,
            r.s.p99,
            r.s.p999,
            r.s.max,
            r.x_floor.map(|x| format!("{x:.2}")).unwrap_or_else(|| "—".into())
        );
    }
}

struct Check {
    what: String,
    value: f64,
    limit: f64,
    unit: &'static str,
    met: bool,
}

/// The targets of the issue, each checked on the medians over the rounds.
fn targets(run: &Run) -> Vec<Check> {
    let (missing, startup_ms) = (&run.missing, run.startup_median());
    let (rss_open, rss_run) = (run.memory.after_open.anon, run.memory.after_run.anon);
    let get = |case: Case, via: Via| {
        run.results
            .iter()
            .find(|(c, v, _)| *c == case && *v == via)
            .map(|(_, _, r)| Summary::median(r))
    };
    let mut checks = Vec::new();
    let mut check = |what: String, value: f64, limit: f64, unit: &'static str| {
        checks.push(Check { what, value, limit, unit, met: value <= limit });
    };
    for case in CASES {
        // The export when it exists, else the handle (noted at start).
        let via = if missing.contains(&case.op) { Via::Handle } else { Via::Export };
        let (Some(s), Some(floor)) = (get(case, via), get(case, Via::Floor)) else { continue };
        let label = format!("{} ({})", case.key(), via.name());
        if case.mix == Mix::Paced {
            // Few samples: the max is the honest tail.
            check(format!("{label} p50 / floor p50"), s.p50 / floor.p50, 1.5, "×");
            check(format!("{label} max ({} calls)", s.n), s.max, 1000.0, "µs");
        } else if case.op.writes() {
            check(format!("{label} p50 / floor p50"), s.p50 / floor.p50, 1.5, "×");
            check(format!("{label} p99"), s.p99, 150.0, "µs");
            check(format!("{label} p99.9"), s.p999, 1000.0, "µs");
        } else {
            check(format!("{label} p50"), s.p50, 50.0, "µs");
            check(format!("{label} p99"), s.p99, 200.0, "µs");
        }
    }
    check("start-up on the large database".into(), startup_ms, 100.0, "ms");
    // "Memory bounded": the run must not grow the process's private memory much past its
    // opened size (page caches are capped at 8 MiB per connection; the Lua heap is collected).
    // Mapped database pages are the OS's page cache, capped by mmap_size, and reported apart.
    check(
        "private memory growth during the run".into(),
        kib_to_mib(rss_run.saturating_sub(rss_open)),
        64.0,
        "MiB",
    );
    checks
}
