//! What a run measures, summed up: per-call latencies into percentiles, and the process's
//! memory from /proc.

use serde_json::json;

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub n: usize,
    pub ops: f64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Summary {
    /// From per-call nanoseconds. ops/s is calls over the summed call time: the throughput of
    /// one thread doing nothing else.
    pub fn of(mut ns: Vec<u64>) -> Summary {
        if ns.is_empty() {
            return Summary { n: 0, ops: 0.0, p50: 0.0, p99: 0.0, p999: 0.0, max: 0.0 };
        }
        ns.sort_unstable();
        let n = ns.len().max(1);
        let at = |q: f64| ns[((q * n as f64).ceil() as usize).clamp(1, n) - 1] as f64 / 1e3;
        let total: u64 = ns.iter().sum();
        Summary {
            n: ns.len(),
            ops: ns.len() as f64 / (total.max(1) as f64 / 1e9),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: ns.last().copied().unwrap_or(0) as f64 / 1e3,
        }
    }

    /// Median of each statistic over rounds; max is the largest of all.
    pub fn median(rounds: &[Summary]) -> Summary {
        let med = |f: fn(&Summary) -> f64| {
            let mut v: Vec<f64> = rounds.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        Summary {
            n: rounds.iter().map(|r| r.n).sum(),
            ops: med(|s| s.ops),
            p50: med(|s| s.p50),
            p99: med(|s| s.p99),
            p999: med(|s| s.p999),
            max: rounds.iter().map(|r| r.max).fold(0.0, f64::max),
        }
    }

    pub fn to_json(self) -> serde_json::Value {
        json!({ "samples": self.n, "ops_per_s": self.ops, "p50_us": self.p50, "p99_us": self.p99,
                "p999_us": self.p999, "max_us": self.max })
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    /// Private memory (heaps, page caches): what the process itself holds.
    pub anon: u64,
    /// Mapped file pages resident (the database mapping: the OS's page cache, shared and
    /// reclaimable, capped by the store's `mmap_size`).
    pub file: u64,
    pub peak: u64,
}

/// VmRSS, RssAnon, RssFile and VmHWM of this process, in KiB (0 where /proc is unavailable).
pub fn memory() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss: field("VmRSS:"),
        anon: field("RssAnon:"),
        file: field("RssFile:"),
        peak: field("VmHWM:"),
    }
}

pub fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Where the calling thread's time went, from Linux's per-thread scheduler statistics
/// (`/proc/thread-self/schedstat`: time on a CPU, time waiting in the run queue) and its major
/// page faults (`/proc/thread-self/stat`, reads that went to the disk). What remains of a
/// block's wall time besides the two is time the thread slept: a lock, a sync, a fault's I/O.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadClock {
    pub on_cpu_ns: u64,
    pub queued_ns: u64,
    pub major_faults: u64,
}

impl ThreadClock {
    /// Now (zeros where /proc is unavailable).
    pub fn now() -> ThreadClock {
        let sched = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
        let mut sched = sched.split_whitespace().map(|v| v.parse().unwrap_or(0));
        // The command name (field 2) is in parentheses and may hold spaces: count after it.
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        // Fields after the name start at field 3 (state); majflt is field 12.
        let major_faults = after_name.split_whitespace().nth(9).and_then(|v| v.parse().ok());
        ThreadClock {
            on_cpu_ns: sched.next().unwrap_or(0),
            queued_ns: sched.next().unwrap_or(0),
            major_faults: major_faults.unwrap_or(0),
        }
    }

    /// What happened between `self` and `later`.
    pub fn until(self, later: ThreadClock) -> ThreadClock {
        ThreadClock {
            on_cpu_ns: later.on_cpu_ns.saturating_sub(self.on_cpu_ns),
            queued_ns: later.queued_ns.saturating_sub(self.queued_ns),
            major_faults: later.major_faults.saturating_sub(self.major_faults),
        }
    }
}
