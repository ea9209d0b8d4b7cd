//! Export latency on a server-scale database.
//!
//!     cargo bench --features vendored --bench exports             # full run (a few minutes)
//!     cargo bench --features vendored --bench exports -- --quick  # smoke test (seconds)
//!
//! Options after `--`:
//! - `--quick`: one short round (smoke test; numbers indicative only);
//! - `--iterations N`, `--warmup N`, `--rounds N`: timed and untimed calls per operation, path
//!   and round (default 10,000, 1,000, 3);
//! - `--only create,add,join,send,reply,delete,remove,list,page,list-online,page-online,send-paced,sweep` and
//!   `--paths export,handle,core,floor`: a subset (for profiling; `--paths floor` alone opens
//!   no store, so no background checkpoint runs and the log only grows: it isolates what the
//!   checkpoint thread costs the writer);
//! - `--reseed`: rebuild the seed database;
//! - `--paced-sweep N` (or `all`): the retention sweep's first N steps come 50 ms apart, as a
//!   server's pacer makes them (default 200; the rest follow each other at once);
//! - `--sweep-batch N`: messages a sweep step deletes at most (default 50, as
//!   Config.Retention.batch ships);
//! - what-if experiments on the sql floor's connection only: `--floor-pragmas "PRAGMA ...;"`
//!   (run after the store's settings).
//!
//! Last (it deletes every seeded message), the retention sweep (benches/exports/sweep.rs): all
//! 1,000,000 messages due at once, swept in steps as lua/retention.lua does, each step timed,
//! and sends and pages between steps against the same calls before it.
//!
//! Output: a table on stdout and `target/bench/exports.json` (the folder can be changed with
//! the `DARKCHAT_BENCH_DIR` environment variable). The seed database is kept in the same
//! folder (`seed.db`, about 150 MB) and reused while it matches; each run works on a copy.
//!
//! Why this shape: FXServer runs every resource's Lua on the server's main thread, so what
//! matters is the latency of one export call as another resource makes it, and its tail. Each
//! operation is timed, call by call, along four paths that peel off one layer at a time:
//!
//! - `lua export`: the registered export function, called in the Lua state that loaded the
//!   resource's scripts (exports → actions → hooks → module → core → SQLite → notifications);
//! - `lua handle`: the module handle's method (`Darkchat.core:add(...)`): binding + core;
//! - `rust core`: `darkchat::Darkchat` called from Rust: validation + rules + store;
//! - `sql floor`: the bare SQL statements of the operation on their own connection.
//!
//! plus `lua→rust no-op`, an empty call with an export's shape: the price of crossing into
//! Rust at all. `×floor` is a row's p50 over the sql floor's p50 for the same operation.
//!
//! Targets are drawn at random over the whole database (the pessimistic case for caches);
//! `list, online` and `page, online` repeat reads within 200 numbers / conversations (the
//! players online); `send, 1 per 300 ms` spaces writes out as a live server does, which is
//! when the first write after a caught-up background checkpoint restarts the WAL.
//!
//! Each operation is measured in `rounds` rounds; the table shows the median of each statistic
//! over the rounds (max: the largest seen).

mod floor;
mod lua_host;
mod options;
mod report;
mod seed;
mod statistics;
mod sweep;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use darkchat::input::{ConversationName, JoinCode, PhoneNumber};
use darkchat::service::Body;
use darkchat::storage::run_inline;
use darkchat::{Actor, ConversationId, Darkchat, Limits, MessageId, Store};
use mlua::{IntoLuaMulti, MultiValue, ObjectLike, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection, OptionalExtension};

use floor::Floor;
use lua_host::LuaHost;
use options::Options;
use statistics::{memory, Summary};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;
/// Each measured case and path with one summary per round, in measuring order.
type Measured = Vec<(Case, Via, Vec<Summary>)>;

// --- what is measured ------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Add,
    Join,
    Send,
    Remove,
    List,
    Page,
    /// A send answering the conversation's newest text message (its quote is stored).
    Reply,
    /// The owner deleting a message: a tombstone, quotes of it emptied.
    Delete,
}

const OPS: [Op; 9] = [
    Op::Create,
    Op::Add,
    Op::Join,
    Op::Send,
    Op::Remove,
    Op::List,
    Op::Page,
    Op::Reply,
    Op::Delete,
];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Add => "add",
            Op::Join => "join",
            Op::Send => "send",
            Op::Remove => "remove",
            Op::List => "list (~30 convs)",
            Op::Page => "page (50 msgs)",
            Op::Reply => "reply",
            Op::Delete => "delete",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Page => "page",
            other => other.name(),
        }
    }

    /// The ByNumber export; its arguments are the same as the handle method's.
    fn export(self) -> &'static str {
        match self {
            Op::Create => "Darkchat_CreateConversationByNumber",
            Op::Add => "Darkchat_AddToConversationByNumber",
            Op::Join => "Darkchat_JoinConversationByNumber",
            Op::Send => "Darkchat_SendMessageByNumber",
            Op::Remove => "Darkchat_RemoveFromConversationByNumber",
            Op::List => "Darkchat_GetConversationsByNumber",
            Op::Page => "Darkchat_GetMessagesByNumber",
            Op::Reply => "Darkchat_SendMessageByNumber",
            Op::Delete => "Darkchat_DeleteMessageByNumber",
        }
    }

    /// The handle method: named as the key, except the page read.
    fn method(self) -> &'static str {
        match self {
            Op::Page => "messages",
            Op::Reply => "send",
            Op::Delete => "deleteMessage",
            other => other.key(),
        }
    }

    fn writes(self) -> bool {
        !matches!(self, Op::List | Op::Page)
    }
}

/// Which targets an operation gets, and how fast they come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// Back to back, on any of the 50,000 numbers and 100,000 conversations: almost every
    /// call touches pages no recent call touched (the pessimistic case for caches).
    Any,
    /// Back to back, among a fixed set of 200 numbers or conversations (the players online
    /// now, whose data a live server keeps touching).
    Online,
    /// One call every PACE, as a live server's writes come: exposes work that happens on the
    /// first write after the background checkpoint caught up (which back-to-back calls hide).
    Paced,
}

const PACE: Duration = Duration::from_millis(300);
/// Size of the "online" set.
const ONLINE: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Case {
    op: Op,
    mix: Mix,
}

/// In this order: remove takes back what add and join put in.
const CASES: [Case; 12] = [
    Case { op: Op::Create, mix: Mix::Any },
    Case { op: Op::Add, mix: Mix::Any },
    Case { op: Op::Join, mix: Mix::Any },
    Case { op: Op::Send, mix: Mix::Any },
    Case { op: Op::Reply, mix: Mix::Any },
    Case { op: Op::Delete, mix: Mix::Any },
    Case { op: Op::Remove, mix: Mix::Any },
    Case { op: Op::List, mix: Mix::Any },
    Case { op: Op::Page, mix: Mix::Any },
    Case { op: Op::List, mix: Mix::Online },
    Case { op: Op::Page, mix: Mix::Online },
    Case { op: Op::Send, mix: Mix::Paced },
];

impl Case {
    fn name(self) -> String {
        match self.mix {
            Mix::Any => self.op.name().to_owned(),
            Mix::Online => format!("{}, online", self.op.key()),
            Mix::Paced => format!("{}, 1 per {} ms", self.op.key(), PACE.as_millis()),
        }
    }

    /// For `--only`.
    fn key(self) -> String {
        match self.mix {
            Mix::Any => self.op.key().to_owned(),
            Mix::Online => format!("{}-online", self.op.key()),
            Mix::Paced => format!("{}-paced", self.op.key()),
        }
    }

    /// Paced calls take PACE each: only the export (what the issue is about) and the floor.
    /// Replies and deletions have no bare-SQL floor of their own (a send's is the nearest).
    fn measured_on(self, via: Via) -> bool {
        if matches!(self.op, Op::Reply | Op::Delete) && via == Via::Floor {
            return false;
        }
        self.mix != Mix::Paced || matches!(via, Via::Export | Via::Floor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Export,
    Handle,
    Core,
    Floor,
    Noop,
}

const VIAS: [Via; 4] = [Via::Export, Via::Handle, Via::Core, Via::Floor];

impl Via {
    fn name(self) -> &'static str {
        match self {
            Via::Export => "lua export",
            Via::Handle => "lua handle",
            Via::Core => "rust core",
            Via::Floor => "sql floor",
            Via::Noop => "lua→rust no-op",
        }
    }
}

/// One call's arguments, chosen before the clock starts.
#[derive(Debug, Clone, Default)]
struct Target {
    number: String,
    id: i64,
    /// Join code (join), or the pre-drawn free code the floor inserts (create).
    code: String,
    /// Conversation name (create) or message text (send).
    text: String,
    is_self: bool,
    /// The message answered (reply) or deleted (delete).
    message: i64,
}

// --- entry ----------------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--seed-only") {
        seed_child(&args[1..])
    } else {
        run(&args)
    };
    if let Err(e) = result {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

/// The seeding child: builds or checks the seed, answers with one JSON line.
fn seed_child(args: &[String]) -> AnyResult<()> {
    let path = PathBuf::from(args.first().ok_or("--seed-only needs a path")?);
    let force = args.iter().any(|a| a == "--reseed");
    let report = seed::ensure(&path, force)?;
    println!("{}", report.to_json());
    Ok(())
}

/// A whole run: the seed and its working copy, start-up, every path opened, the rounds, the
/// report.
fn run(args: &[String]) -> AnyResult<()> {
    let opts = options::parse(args)?;
    let cases = opts.cases()?;
    let memory_start = memory();
    let resource = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("DARKCHAT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| resource.join("target/bench"));
    std::fs::create_dir_all(&dir)?;
    let work = dir.join("work.db");
    let seeded = seed_and_copy(&dir.join("seed.db"), &work, opts.reseed)?;
    let startup = startup_times(&work)?;

    let memory_before_open = memory();
    let mut bench = Bench::open(&resource, &work, &opts)?;
    let memory_after_open = memory();
    let missing = bench.missing_exports();
    let (results, noop_rounds) = measure_rounds(&mut bench, &opts, &cases, &missing)?;
    let memory_after_run = memory();

    let run = report::Run {
        opts: &opts,
        seeded: &seeded,
        startup,
        memory: report::Memories {
            start: memory_start,
            before_open: memory_before_open,
            after_open: memory_after_open,
            after_run: memory_after_run,
        },
        missing,
        results,
        noop_rounds,
    };
    report::report(&run, &dir.join("exports.json"))?;
    if opts.sweep() {
        let swept = sweep::run(&mut bench, opts.paced_sweep, opts.sweep_batch)?;
        swept.print();
        let path = dir.join("exports.json");
        let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        json["sweep"] = swept.to_json();
        std::fs::write(&path, serde_json::to_string_pretty(&json)?)?;
    }
    drop(bench);
    seed::remove_database(&work);
    Ok(())
}

/// Builds the seed database at `seed_path` (or reuses it while it matches) and copies it to
/// `work`, where the run writes.
fn seed_and_copy(seed_path: &Path, work: &Path, reseed: bool) -> AnyResult<seed::SeedReport> {
    eprintln!(
        "seeding {} ({} phones, {} conversations, {} messages)...",
        seed_path.display(),
        seed::PHONES,
        seed::CONVERSATIONS,
        seed::MESSAGES
    );
    let seeded = seed_in_child(seed_path, reseed)?;
    eprintln!(
        "  {} in {:.1} s; {} memberships, {:.0} MB",
        if seeded.reused { "reused" } else { "seeded" },
        seeded.seconds,
        seeded.memberships,
        seeded.bytes as f64 / 1e6
    );
    seed::remove_database(work);
    std::fs::copy(seed_path, work)?;
    Ok(seeded)
}

/// Start-up: open (migrations find nothing to do) and close, five times; in ms, sorted.
fn startup_times(work: &Path) -> AnyResult<Vec<f64>> {
    let mut startup: Vec<f64> = (0..5)
        .map(|_| -> AnyResult<f64> {
            let t = Instant::now();
            let store = Store::open(work)?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            drop(store);
            Ok(ms)
        })
        .collect::<AnyResult<_>>()?;
    startup.sort_by(f64::total_cmp);
    Ok(startup)
}

/// Each round: the empty call (when Lua is open), then every case along every path asked for;
/// one summary per round of each case and path, in measuring order.
fn measure_rounds(
    bench: &mut Bench,
    opts: &Options,
    cases: &[Case],
    missing: &[Op],
) -> AnyResult<(Measured, Vec<Summary>)> {
    eprintln!(
        "measuring {} round(s) × {} calls (+{} warm-up) per operation and path...",
        opts.rounds, opts.iterations, opts.warmup
    );
    let started = Instant::now();
    let mut results: Measured = Vec::new();
    let mut noop_rounds = Vec::new();
    for round in 0..opts.rounds {
        if bench.host.is_some() {
            noop_rounds.push(bench.noop(opts.warmup, opts.iterations)?);
        }
        for &case in cases {
            for &via in &opts.paths {
                if (via == Via::Export && missing.contains(&case.op)) || !case.measured_on(via) {
                    continue;
                }
                let summary = bench.measure(case, via)?;
                match results.iter_mut().find(|(c, v, _)| *c == case && *v == via) {
                    Some((_, _, rounds)) => rounds.push(summary),
                    None => results.push((case, via, vec![summary])),
                }
            }
            if case.op.writes() {
                bench.tidy()?;
            }
        }
        eprintln!("  round {} done ({:.0} s)", round + 1, started.elapsed().as_secs_f64());
    }
    Ok((results, noop_rounds))
}

fn seed_in_child(path: &Path, force: bool) -> AnyResult<seed::SeedReport> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--seed-only").arg(path);
    if force {
        cmd.arg("--reseed");
    }
    let out = cmd.stderr(Stdio::inherit()).output()?;
    if !out.status.success() {
        return Err(format!("seeding failed ({})", out.status).into());
    }
    let line = String::from_utf8(out.stdout)?;
    let value: serde_json::Value = serde_json::from_str(line.trim())?;
    Ok(seed::SeedReport::from_json(&value).ok_or("seeding child answered nonsense")?)
}

// --- the bench: every path open on the same working database --------------------------------

struct Bench {
    /// The resource in Lua and the Rust core; not opened when only the floor is measured.
    host: Option<LuaHost>,
    core: Option<Darkchat>,
    floor: Floor,
    /// Picks targets and tidies between operations; never timed.
    aux: Connection,
    rng: StdRng,
    iterations: usize,
    warmup: usize,
    quick: bool,
    limits: Limits,
    /// Seeded id ranges: anything above was made by the benchmark and is tidied away.
    max_phone: i64,
    max_conversation: i64,
    max_message: i64,
    /// Numbers with about 30 conversations (list) and conversations with a long history (page).
    list_numbers: Vec<String>,
    page_conversations: Vec<i64>,
    /// The "online" set: numbers to list, (conversation, member) pairs to page.
    online_numbers: Vec<String>,
    online_pages: Vec<(i64, String)>,
    /// Members added by add/join, per path, for remove to take back.
    added: [Vec<(String, i64)>; 4],
    fresh: u64,
}

impl Bench {
    /// The operations whose export the resource did not register, said on stderr with the
    /// resource's own log (none when Lua is not opened).
    fn missing_exports(&self) -> Vec<Op> {
        let Some(host) = &self.host else { return Vec::new() };
        for line in &host.log {
            eprintln!("  resource: {line}");
        }
        let missing: Vec<Op> =
            OPS.iter().copied().filter(|op| host.export(op.export()).is_none()).collect();
        for op in &missing {
            eprintln!(
                "  note: export {} not registered; {} is measured through the handle only",
                op.export(),
                op.key()
            );
        }
        missing
    }

    fn open(resource: &Path, work: &Path, opts: &Options) -> AnyResult<Bench> {
        let stores = opts.paths.iter().any(|v| *v != Via::Floor);
        let host = if stores { Some(LuaHost::start(resource, work)?) } else { None };
        // The core with the limits the scripts opened theirs with (config.lua).
        let mut limits = Limits::default();
        if let Some(host) = &host {
            let set = |key: &str, into: &mut u32| {
                if let Some(v) = host.limit(key) {
                    *into = v as u32;
                }
            };
            set("maxMembers", &mut limits.max_members);
            set("maxConversationsPerNumber", &mut limits.max_conversations_per_number);
            set("pageSize", &mut limits.page_size);
            set("maxPageSize", &mut limits.max_page_size);
            set("maxList", &mut limits.max_list);
            if let Some(v) = host.limit("maxMessageLength") {
                limits.max_message_chars = v as usize;
            }
        }
        let core = if stores {
            let mut seed = [0u8; 32];
            StdRng::from_os_rng().fill(&mut seed);
            Some(Darkchat::new(Store::open(work)?, limits.clone(), seed))
        } else {
            None
        };
        let store_conn = core.as_ref().map(|c| c.store().connection());
        let floor = Floor::open(work, store_conn, limits.page_size, limits.max_list)?;
        eprintln!("  sql floor connection, as the store's: {}", floor.settings()?);
        if let Some(sql) = &opts.floor_pragmas {
            eprintln!("  sql floor connection also runs: {sql}");
            floor.pragmas(sql)?;
        }

        let aux = Connection::open(work)?;
        aux.busy_timeout(Duration::from_secs(5))?;
        // Off explicitly: the bundled SQLite defaults foreign keys on (see `tidy`).
        aux.pragma_update(None, "foreign_keys", "OFF")?;
        let max = |table: &str| -> rusqlite::Result<i64> {
            aux.query_row(&format!("SELECT coalesce(max(id), 0) FROM {table}"), [], |r| r.get(0))
        };
        let (max_phone, max_conversation, max_message) =
            (max("phones")?, max("conversations")?, max("messages")?);
        let list_numbers: Vec<String> = aux
            .prepare(
                "SELECT p.number FROM (SELECT phone_id, count(*) AS n FROM members GROUP BY phone_id) c \
                 JOIN phones p ON p.id = c.phone_id WHERE c.n BETWEEN 28 AND 32 LIMIT 5000",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let page_conversations: Vec<i64> = aux
            .prepare("SELECT conversation_id FROM messages GROUP BY conversation_id HAVING count(*) >= 60")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if list_numbers.is_empty() || page_conversations.is_empty() {
            return Err(
                "the seed has no number with ~30 conversations or no long conversation".into()
            );
        }
        eprintln!(
            "  {} numbers with 28-32 conversations, {} conversations with ≥ 60 messages",
            list_numbers.len(),
            page_conversations.len()
        );
        let mut rng = StdRng::seed_from_u64(0xB3AC4);
        let online_numbers: Vec<String> = (0..ONLINE)
            .map(|_| list_numbers[rng.random_range(0..list_numbers.len())].clone())
            .collect();
        let mut online_pages = Vec::with_capacity(ONLINE);
        for _ in 0..ONLINE {
            let id = page_conversations[rng.random_range(0..page_conversations.len())];
            let member: String = aux.query_row(
                "SELECT p.number FROM members m JOIN phones p ON p.id = m.phone_id \
                 WHERE m.conversation_id = ?1 ORDER BY m.id LIMIT 1",
                [id],
                |r| r.get(0),
            )?;
            online_pages.push((id, member));
        }
        Ok(Bench {
            host,
            core,
            floor,
            aux,
            rng,
            iterations: opts.iterations,
            warmup: opts.warmup,
            quick: opts.quick,
            limits,
            max_phone,
            max_conversation,
            max_message,
            list_numbers,
            page_conversations,
            online_numbers,
            online_pages,
            added: Default::default(),
            fresh: 0,
        })
    }

    /// Times one case along one path: `warmup` untimed calls, then `iterations` timed (paced
    /// cases: `paced_calls()` timed calls, one per PACE, no warm-up).
    fn measure(&mut self, case: Case, via: Via) -> AnyResult<Summary> {
        let op = case.op;
        let slot = VIAS.iter().position(|v| *v == via).expect("a measured path");
        let targets = self.targets(case, slot)?;
        // Every block starts from an empty log, so paths are compared under the same
        // conditions: back-to-back writes outrun the background checkpoint (it can never
        // catch up while they last), so the log grows during a block and reads slow down.
        self.aux.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        if let (Via::Export | Via::Handle, Some(host)) = (via, &self.host) {
            // Each Lua block starts from the same heap state; collection during it counts.
            host.lua.gc_collect()?;
        }
        let timed = if case.mix == Mix::Paced { self.paced_calls() } else { self.iterations };
        let warm = targets.len() - timed;
        let mut samples = Vec::with_capacity(targets.len());
        for (i, t) in targets.iter().enumerate() {
            if case.mix == Mix::Paced {
                std::thread::sleep(PACE);
            }
            let ns = self.call(op, via, t)?;
            if i >= warm {
                samples.push(ns);
            }
            if matches!(op, Op::Add | Op::Join) {
                self.added[slot].push((t.number.clone(), t.id));
            }
        }
        Ok(Summary::of(samples))
    }

    /// One call, timed from just before to just after it; the result is checked afterwards.
    fn call(&mut self, op: Op, via: Via, t: &Target) -> AnyResult<u64> {
        let now = unix_now();
        match via {
            Via::Export | Via::Handle => {
                let host = self.host.as_ref().ok_or("the Lua host is not open")?;
                let args = lua_args(&host.lua, op, t)?;
                let (ns, out) = if via == Via::Export {
                    let f = host.export(op.export()).ok_or("export missing")?;
                    let start = Instant::now();
                    let out = f.call::<MultiValue>(args);
                    (start.elapsed(), out)
                } else {
                    let start = Instant::now();
                    let out = host.core.call_method::<MultiValue>(op.method(), args);
                    (start.elapsed(), out)
                };
                check_lua(op, via, t, &out?)?;
                Ok(ns.as_nanos() as u64)
            }
            Via::Core => {
                let core = self.core.as_mut().ok_or("the core is not open")?;
                let start = Instant::now();
                let out: darkchat::Result<()> = (|| {
                    let number = PhoneNumber::parse(&t.number)?;
                    match op {
                        Op::Create => {
                            let name = ConversationName::parse(&t.text)?;
                            core.create_conversation(&number, &name, None, now).map(drop)
                        }
                        Op::Add => core.add_member(&number, ConversationId(t.id), now).map(drop),
                        Op::Join => {
                            let code = JoinCode::parse(&t.code)?;
                            core.join_by_code(&number, &code, now).map(drop)
                        }
                        Op::Send => {
                            core.send_message(&number, ConversationId(t.id), &t.text, now).map(drop)
                        }
                        Op::Remove => core
                            .remove_member(&number, ConversationId(t.id), t.is_self, now)
                            .map(drop),
                        Op::List => core.conversations_of(&number).map(drop),
                        Op::Page => core
                            .messages_before(
                                &number,
                                ConversationId(t.id),
                                None,
                                core.limits().page_size,
                            )
                            .map(drop),
                        Op::Reply => run_inline(core.service().send(
                            &number,
                            ConversationId(t.id),
                            Body::Text(&t.text),
                            Some(MessageId(t.message)),
                            now,
                        ))
                        .map(drop),
                        Op::Delete => run_inline(core.service().delete_message(
                            Actor::Member(&number),
                            ConversationId(t.id),
                            MessageId(t.message),
                            now,
                        ))
                        .map(drop),
                    }
                })();
                let ns = start.elapsed().as_nanos() as u64;
                out.map_err(|e| format!("{} via rust core failed on {t:?}: {e}", op.key()))?;
                Ok(ns)
            }
            Via::Floor => {
                let f = &self.floor;
                let start = Instant::now();
                let out: rusqlite::Result<()> = match op {
                    Op::Create => f.create(&t.number, &t.text, &t.code, now).map(drop),
                    Op::Add => f.add(&t.number, t.id, now),
                    Op::Join => f.join(&t.number, &t.code, now),
                    Op::Send => f.send(&t.number, t.id, &t.text, now),
                    Op::Remove => f.remove(&t.number, t.id, t.is_self, now),
                    Op::List => f.list(&t.number).map(drop),
                    Op::Page => f.page(&t.number, t.id, self.limits.page_size).map(drop),
                    Op::Reply | Op::Delete => unreachable!("not measured on the floor"),
                };
                let ns = start.elapsed().as_nanos() as u64;
                out.map_err(|e| format!("{} via sql floor failed on {t:?}: {e}", op.key()))?;
                Ok(ns)
            }
            Via::Noop => unreachable!("timed by Bench::noop"),
        }
    }
}

/// The export's arguments (the handle method takes the same), built as the calling resource
/// would have them before the call.
fn lua_args(lua: &mlua::Lua, op: Op, t: &Target) -> mlua::Result<MultiValue> {
    let n = t.number.as_str();
    match op {
        Op::Create => (n, t.text.as_str()).into_lua_multi(lua),
        Op::Add => (n, t.id).into_lua_multi(lua),
        Op::Join => (n, t.code.as_str()).into_lua_multi(lua),
        Op::Send => (n, t.id, t.text.as_str()).into_lua_multi(lua),
        Op::Remove => (n, t.id, t.is_self).into_lua_multi(lua),
        Op::List => (n,).into_lua_multi(lua),
        Op::Page => (n, t.id).into_lua_multi(lua),
        Op::Reply => (n, t.id, t.text.as_str(), t.message).into_lua_multi(lua),
        Op::Delete => (n, t.id, t.message).into_lua_multi(lua),
    }
}

impl Bench {
    /// The empty call: an export-shaped Lua function whose only work is calling a Rust no-op.
    fn noop(&mut self, warmup: usize, iterations: usize) -> AnyResult<Summary> {
        let host = self.host.as_ref().ok_or("the Lua host is not open")?;
        let args = (seed::SEEDED_NUMBER_END.to_string(), 42i64).into_lua_multi(&host.lua)?;
        let mut samples = Vec::with_capacity(iterations);
        for i in 0..warmup + iterations {
            let args = args.clone();
            let start = Instant::now();
            host.noop.call::<()>(args)?;
            let ns = start.elapsed().as_nanos() as u64;
            if i >= warmup {
                samples.push(ns);
            }
        }
        Ok(Summary::of(samples))
    }

    // --- targets ------------------------------------------------------------------------

    /// Paced calls per block: enough to see what every such call pays, in seconds not minutes.
    fn paced_calls(&self) -> usize {
        if self.quick {
            10
        } else {
            40
        }
    }

    fn targets(&mut self, case: Case, slot: usize) -> AnyResult<Vec<Target>> {
        let n =
            if case.mix == Mix::Paced { self.paced_calls() } else { self.warmup + self.iterations };
        let mut out = Vec::with_capacity(n);
        if case.mix == Mix::Online {
            while out.len() < n {
                let i = self.rng.random_range(0..ONLINE);
                out.push(match case.op {
                    Op::List => {
                        Target { number: self.online_numbers[i].clone(), ..Target::default() }
                    }
                    Op::Page => {
                        let (id, number) = self.online_pages[i].clone();
                        Target { number, id, ..Target::default() }
                    }
                    other => return Err(format!("no online mix for {}", other.key()).into()),
                });
            }
            return Ok(out);
        }
        match case.op {
            Op::Create => {
                let mut codes = HashSet::new();
                while out.len() < n {
                    self.fresh += 1;
                    let code = self.free_code(&mut codes)?;
                    out.push(Target {
                        number: format!("9{:09}", self.fresh),
                        text: format!("Bench crew {}", self.fresh),
                        code,
                        ..Target::default()
                    });
                }
            }
            Op::Add | Op::Join => {
                let mut used = HashSet::new();
                while out.len() < n {
                    let id = self.rng.random_range(1..=self.max_conversation);
                    let phone = self.rng.random_range(1..=seed::PHONES);
                    if !used.insert((id, phone)) || self.is_member(id, phone)? {
                        continue;
                    }
                    let code = if case.op == Op::Join { self.code_of(id)? } else { String::new() };
                    out.push(Target {
                        number: self.number_of(phone)?,
                        id,
                        code,
                        ..Target::default()
                    });
                }
            }
            Op::Send => {
                while out.len() < n {
                    let id = self.rng.random_range(1..=self.max_conversation);
                    let number = self.random_member(id)?;
                    let text =
                        format!("{} (#{})", SEND_TEXTS[out.len() % SEND_TEXTS.len()], out.len());
                    out.push(Target { number, id, text, ..Target::default() });
                }
            }
            Op::Remove => {
                // Take back this path's additions; top up (untimed, through the floor) when
                // add/join did not run or ran fewer calls.
                let mut pairs = std::mem::take(&mut self.added[slot]);
                let need = self.iterations + self.warmup;
                while pairs.len() < need {
                    let id = self.rng.random_range(1..=self.max_conversation);
                    let phone = self.rng.random_range(1..=seed::PHONES);
                    if self.is_member(id, phone)? {
                        continue;
                    }
                    let number = self.number_of(phone)?;
                    self.floor.add(&number, id, unix_now())?;
                    pairs.push((number, id));
                }
                for (i, (number, id)) in pairs.into_iter().enumerate() {
                    out.push(Target { number, id, is_self: i % 2 == 0, ..Target::default() });
                }
                shuffle(&mut out, &mut self.rng);
            }
            Op::List => {
                while out.len() < n {
                    let number = self.list_numbers
                        [self.rng.random_range(0..self.list_numbers.len())]
                    .clone();
                    out.push(Target { number, ..Target::default() });
                }
            }
            Op::Reply => {
                while out.len() < n {
                    let id = self.rng.random_range(1..=self.max_conversation);
                    let Some(message) = self.newest_text(id)? else { continue };
                    let number = self.random_member(id)?;
                    let text = format!(
                        "re: {} (#{})",
                        SEND_TEXTS[out.len() % SEND_TEXTS.len()],
                        out.len()
                    );
                    out.push(Target { number, id, text, message, ..Target::default() });
                }
            }
            Op::Delete => {
                // Seeded text messages not deleted yet, each once, deleted by the owner.
                let mut used = HashSet::new();
                while out.len() < n {
                    let message = self.rng.random_range(1..=self.max_message);
                    if !used.insert(message) {
                        continue;
                    }
                    let Some((id, number)) = self.deletable(message)? else { continue };
                    out.push(Target { number, id, message, ..Target::default() });
                }
            }
            Op::Page => {
                while out.len() < n {
                    let id = self.page_conversations
                        [self.rng.random_range(0..self.page_conversations.len())];
                    let number = self.random_member(id)?;
                    out.push(Target { number, id, ..Target::default() });
                }
            }
        }
        Ok(out)
    }

    fn free_code(&mut self, drawn: &mut HashSet<String>) -> AnyResult<String> {
        loop {
            let code = JoinCode::generate(&mut self.rng).as_str().to_owned();
            let taken: bool = self
                .aux
                .prepare_cached("SELECT 1 FROM conversations WHERE join_code = ?1")?
                .exists([&code])?;
            if !taken && drawn.insert(code.clone()) {
                return Ok(code);
            }
        }
    }

    fn is_member(&self, id: i64, phone: i64) -> rusqlite::Result<bool> {
        self.aux
            .prepare_cached("SELECT 1 FROM members WHERE conversation_id = ?1 AND phone_id = ?2")?
            .exists(params![id, phone])
    }

    fn number_of(&self, phone: i64) -> rusqlite::Result<String> {
        self.aux
            .prepare_cached("SELECT number FROM phones WHERE id = ?1")?
            .query_row([phone], |r| r.get(0))
    }

    /// The newest text message of `id` that is not deleted.
    fn newest_text(&self, id: i64) -> rusqlite::Result<Option<i64>> {
        self.aux
            .prepare_cached(
                "SELECT id FROM messages WHERE conversation_id = ?1 AND kind = 'text' \
                 AND extra IS NULL ORDER BY id DESC LIMIT 1",
            )?
            .query_row([id], |r| r.get(0))
            .optional()
    }

    /// The conversation of text message `message` and its owner's number, when the message
    /// is there and not deleted.
    fn deletable(&self, message: i64) -> rusqlite::Result<Option<(i64, String)>> {
        self.aux
            .prepare_cached(
                "SELECT m.conversation_id, p.number FROM messages m \
                 JOIN conversations c ON c.id = m.conversation_id \
                 JOIN phones p ON p.id = c.owner_id \
                 WHERE m.id = ?1 AND m.kind = 'text' AND m.extra IS NULL",
            )?
            .query_row([message], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
    }

    fn code_of(&self, id: i64) -> rusqlite::Result<String> {
        self.aux
            .prepare_cached("SELECT join_code FROM conversations WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
    }

    fn random_member(&mut self, id: i64) -> AnyResult<String> {
        let members: Vec<String> = self
            .aux
            .prepare_cached(
                "SELECT p.number FROM members m JOIN phones p ON p.id = m.phone_id WHERE m.conversation_id = ?1",
            )?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if members.is_empty() {
            return Err(format!("conversation {id} has no members").into());
        }
        Ok(members[self.rng.random_range(0..members.len())].clone())
    }

    /// Puts the database back to its seeded size after a write operation: conversations,
    /// phones and messages the benchmark made are deleted, and each conversation's last message
    /// (its id and the copy kept beside it) repaired, so every round and path sees the same
    /// data. Members added by add/join stay until remove
    /// takes them back. Foreign keys are off on this connection: the rows deleted are known to
    /// be unreferenced, and checking would scan `messages.sender_id` (not indexed) per phone.
    fn tidy(&mut self) -> AnyResult<()> {
        let tx = self.aux.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM members WHERE conversation_id > ?1", [self.max_conversation])?;
        tx.execute("DELETE FROM conversations WHERE id > ?1", [self.max_conversation])?;
        tx.execute("DELETE FROM phones WHERE id > ?1", [self.max_phone])?;
        tx.execute("DELETE FROM messages WHERE id > ?1", [self.max_message])?;
        // Conversations whose last message was one of the benchmark's: back to their newest
        // remaining message, and their copy of it with them.
        let touched: Vec<i64> = tx
            .prepare("SELECT id FROM conversations WHERE last_message_id > ?1")?
            .query_map([self.max_message], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in touched {
            tx.execute(
                "UPDATE conversations SET last_message_id = coalesce( \
                   (SELECT max(id) FROM messages WHERE conversation_id = ?1), 0) WHERE id = ?1",
                [id],
            )?;
            tx.execute(concat!(seed::copy_last_message!(), " WHERE id = ?1"), [id])?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn check_lua(op: Op, via: Via, t: &Target, out: &MultiValue) -> AnyResult<()> {
    let ok = match out.front() {
        Some(Value::Boolean(true)) => true,
        Some(Value::Table(t)) => t.get::<Option<bool>>("success")?.unwrap_or(false),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let shown: Vec<String> = out
        .iter()
        .map(|v| match v {
            Value::Table(t) => format!("{{ error = {:?} }}", t.get::<Value>("error").ok()),
            other => format!("{other:?}"),
        })
        .collect();
    Err(format!("{} via {} failed on {t:?}: {}", op.key(), via.name(), shown.join(", ")).into())
}

fn shuffle<T>(items: &mut [T], rng: &mut StdRng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.random_range(0..=i));
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

const SEND_TEXTS: &[&str] = &[
    "meet at the pier at 9",
    "who's bringing the car?",
    "got the package, heading back now",
    "ok",
    "don't take the highway, there's a checkpoint on the bridge",
];
