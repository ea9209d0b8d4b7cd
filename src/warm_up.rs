//! A scripted run of the rules on a private in-memory database, made once when the wasm host
//! starts, before the first real call.
//!
//! Why: V8 compiles a WebAssembly function the first time it runs (lazy compilation, its
//! default), on the thread that calls it. On stock FXServer that is the server's main thread,
//! and the module's first call of each kind paid for the compilation of all the code it
//! reached: measured on the development VM (a 297 MB database), the first listing held the
//! thread 35 ms, the first sweep step 26 ms, the open itself 82 ms, against 3 ms, 2 ms and
//! 12 ms once compiled. The compiled code belongs to the compiled module, which every
//! instance the host makes of it shares (a reopen, a restore, the recovery from a trap), so
//! running the common paths once at start moves that cost to the start, where the server is
//! not yet serving players. (A V8 flag would compile everything up front, but flags are the
//! whole server process's, shared with every other resource.)
//!
//! The run goes through the same decoding, rules, SQL and reply encoding (JSON and
//! MessagePack) as a host's call, with its own seed and clock; it touches no file and leaves
//! nothing behind. Its result is not used: a step that fails only warms less (the unit test
//! below keeps every step succeeding).
//!
//! On MySQL the rules are compiled again, for the MySQL storage (the service is generic over
//! its storage), with the statements' batches and their results crossing as JSON: untouched
//! by the run above, that code cost a MySQL server's first create 70-78 ms of its main thread
//! after every start (measured with a private MariaDB on the development VM; 3 ms once
//! compiled). [`run_mysql`] plays the same script there with no database: every batch gets
//! results of the right form (in three passes, reads answer no row, one row whose every column
//! is "1", which every column reader accepts, or a row only where they lock; writes answer one
//! row affected and a new id), so the calls take their ways through the rules, to refusals
//! and to their writes, and their code is compiled at start. The host runs it when it opens on
//! MySQL.

use std::cell::RefCell;
use std::rc::Rc;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

use crate::api::{self, Method, Request};
use crate::error::{Error, Result};
use crate::mysql::{Resumed, Step};
use crate::service::{Limits, SharedRng};
use crate::store::Store;
use crate::Darkchat;

/// When the script's calls happen (unix seconds): fixed, so the run is the same every time.
const START: i64 = 1_800_000_000;

/// The script's players.
const OWNER: &str = "5550001";
const MEMBER: &str = "5550002";
const OTHER: &str = "5550003";

/// What a run did.
#[derive(Debug, Default)]
pub struct Played {
    /// Calls made, and how many of them answered ok.
    pub made: usize,
    pub ok: usize,
    /// Messages the sweep deleted.
    pub swept: i64,
    /// On MySQL: the batches the calls sent, and the calls given up after MAX_BATCHES.
    pub batches: usize,
    pub given_up: usize,
}

/// Runs the script.
pub fn run() -> Played {
    let played = match open() {
        Ok(store) => play(store),
        Err(_) => Played::default(),
    };
    #[cfg(target_arch = "wasm32")]
    crate::store::drop_memory_files();
    played
}

/// On wasm a database file in the module's memory, opened as the live one is (WAL, the file
/// system of the module, migrations); elsewhere (the unit test) SQLite's in-memory database.
fn open() -> Result<Store> {
    #[cfg(target_arch = "wasm32")]
    let store = Store::open_announcing(
        format!("{}warm-up.db", crate::store::MEMORY_PATH_PREFIX),
        &Default::default(),
        &mut |_| {},
    );
    #[cfg(not(target_arch = "wasm32"))]
    let store = Store::open_in_memory();
    store
}

/// Runs the script on the MySQL storage's code, once for each way the reads answer ([`Rows`]),
/// with no database (see the module's documentation).
pub fn run_mysql() -> Played {
    let rng: SharedRng = Rc::new(RefCell::new(StdRng::from_seed([7; 32])));
    let mut played = Played::default();
    for rows in [Rows::None, Rows::One, Rows::WhenLocked] {
        let mut backend = FormalMysql::new(rows, Rc::clone(&rng));
        let mut script = Script { core: &mut backend, now: START, played };
        script.play();
        played = script.played;
        played.batches += backend.batches;
        played.given_up += backend.given_up;
    }
    played
}

fn play(store: Store) -> Played {
    let mut core = Darkchat::new(store, Limits::default(), [7; 32]);
    let mut script = Script { core: &mut core, now: START, played: Played::default() };
    script.play();
    // The host's checkpoint between calls, and the log's restart by the next write.
    #[cfg(target_arch = "wasm32")]
    {
        let _ = script.core.store().checkpoint_if_written();
        let _ = script.core.store().restart_log();
        script.call("create", json!([OWNER, "Warm again"]));
        script.call("list", json!([OWNER]));
    }
    script.played
}

/// Where the script's calls run.
trait Backend {
    fn limits(&self) -> &Limits;
    fn execute(&mut self, request: Request, now: i64) -> Result<Vec<api::Reply>>;
}

impl Backend for Darkchat {
    fn limits(&self) -> &Limits {
        Darkchat::limits(self)
    }

    fn execute(&mut self, request: Request, now: i64) -> Result<Vec<api::Reply>> {
        crate::storage::run_inline(api::execute(self.service(), request, now))
    }
}

/// The MySQL storage's code with no database behind it: each batch is answered with results
/// of the right form, through the JSON the host's results cross in.
struct FormalMysql {
    limits: Limits,
    rng: SharedRng,
    rows: Rows,
    batches: usize,
    given_up: usize,
}

/// What the reads of a pass answer.
#[derive(Clone, Copy, PartialEq)]
enum Rows {
    /// No row: the ways of "not found" (mostly refusals, and a create's inserts).
    None,
    /// One row of "1"s: the ways of "found" (a member who sends, reads, leaves).
    One,
    /// One row for a locking read (`FOR UPDATE`: the conversation or phone a write holds),
    /// none for the others (no ban, no member yet, no alias taken): a join's way through.
    WhenLocked,
}

/// Batches after which a call of the script is given up (a retry loop that the formal
/// answers never settle, such as a join code that every lookup finds taken).
const MAX_BATCHES: usize = 64;

impl Backend for FormalMysql {
    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn execute(&mut self, request: Request, now: i64) -> Result<Vec<api::Reply>> {
        if let Some(answer) = request.answer_without_storage() {
            return Ok(answer);
        }
        let mut operation = crate::mysql::operation(request, now, &self.limits, &self.rng, None);
        let mut step = operation.start();
        for _ in 0..MAX_BATCHES {
            let statements = match step {
                Step::Batch(statements) => statements,
                Step::Done { outcome, .. } => return outcome,
            };
            self.batches += 1;
            // As the host gets the batch and gives back its results: JSON both ways.
            let _batch = serde_json::to_vec(&statements);
            let results = self.results(&statements);
            let resumed: Resumed = serde_json::from_slice(&results)
                .map_err(|e| Error::Internal(format!("warm-up results: {e}")))?;
            let outcome = resumed.outcome().map_err(|e| Error::Internal(e.into()))?;
            step = operation.resume(outcome);
        }
        self.given_up += 1;
        Err(Error::Internal("a warm-up call did not end".into()))
    }
}

impl FormalMysql {
    fn new(rows: Rows, rng: SharedRng) -> Self {
        FormalMysql { limits: Limits::default(), rng, rows, batches: 0, given_up: 0 }
    }

    /// The results of `statements` as the host writes them.
    fn results(&self, statements: &[crate::mysql::Statement]) -> Vec<u8> {
        let row = Value::Array(vec![json!("1"); 40]);
        let results: Vec<Value> = statements
            .iter()
            .enumerate()
            .map(|(i, s)| match s.sql.split_whitespace().next() {
                Some("SELECT" | "SHOW" | "CHECK") => {
                    let found = match self.rows {
                        Rows::None => false,
                        Rows::One => true,
                        Rows::WhenLocked => s.sql.ends_with("FOR UPDATE"),
                    };
                    json!({ "rows": if found { vec![row.clone()] } else { Vec::new() } })
                }
                _ => json!({ "affected": 1, "insertId": 1000 + i }),
            })
            .collect();
        serde_json::to_vec(&json!({ "op": 1, "results": results })).unwrap_or_default()
    }
}

struct Script<'a, B: Backend> {
    core: &'a mut B,
    now: i64,
    played: Played,
}

impl<B: Backend> Script<'_, B> {
    fn play(&mut self) {
        let id = json!(1);
        self.call("create", json!([OWNER, "Warm", "WARM01"]));
        self.call("rehearse", json!(["join", MEMBER, "warm01"]));
        self.call("join", json!([MEMBER, "warm01"]));
        self.call("add", json!([OTHER, id]));
        let first = message_id(self.call("send", json!([OWNER, id, "hello"])));
        let reply = self.call("send", json!([MEMBER, id, "hi there", first]));
        let answer = message_id(reply);
        self.call("sendLocation", json!([OTHER, id, 100.5, -200.25, 30.0, "here", first]));
        self.call("sendImage", json!([OWNER, id, "https://i.imgur.com/warm.png"]));
        self.call("editMessage", json!([MEMBER, id, answer, "hi again"]));
        self.call("markRead", json!([MEMBER, id]));
        self.call("list", json!([MEMBER]));
        self.call("messages", json!([MEMBER, id, Value::Null, 50]));
        self.call("conversation", json!([MEMBER, id]));
        self.call("members", json!([MEMBER, id]));
        self.call("rename", json!([OWNER, id, "Warmer"]));
        self.call("regenerateCode", json!([OWNER, id]));
        self.call("setAlias", json!([OTHER, id, "Warm Fox"]));
        self.call("setMuted", json!([OTHER, id, true]));
        self.call("setModerator", json!([OWNER, id, MEMBER, true]));
        self.call("report", json!([OTHER, id, answer, "warming"]));
        self.call("reports", json!([10]));
        self.call("deleteMessage", json!([MEMBER, id, answer]));
        self.call("kick", json!([OWNER, id, OTHER, true]));
        self.call("bans", json!([OWNER, id]));
        self.call("unban", json!([OWNER, id, OTHER]));
        self.call("transfer", json!([OWNER, id, MEMBER]));
        self.call("setRetention", json!([MEMBER, id, 3600]));
        self.call("checkNumber", json!([OWNER]));
        self.call("stats", json!([]));
        // Two hours on, the conversation's messages have expired.
        self.now += 7200;
        let swept = self.call("sweepExpired", json!([0, 200]));
        self.played.swept = swept.and_then(|r| r.pointer("/v/0/deleted")?.as_i64()).unwrap_or(0);
        self.call("remove", json!([OWNER, id, true]));
        self.call("remove", json!([MEMBER, id, true]));
    }

    /// One call as a host makes it; its reply as the host reads it (JSON), when ok.
    fn call(&mut self, method: &str, args: Value) -> Option<Value> {
        self.played.made += 1;
        let outcome = self.execute(method, &args);
        let mut packed = Vec::new();
        api::msgpack::pack_outcome(&outcome, &mut packed);
        let text = serde_json::to_vec(&api::WireOutcome(&outcome)).ok()?;
        let reply: Value = serde_json::from_slice(&text).ok()?;
        if reply.get("ok") != Some(&Value::Bool(true)) {
            return None;
        }
        self.played.ok += 1;
        Some(reply)
    }

    fn execute(&mut self, method: &str, args: &Value) -> Result<Vec<api::Reply>> {
        let args: Vec<api::Arg> =
            args.as_array().into_iter().flatten().map(api::arg_from_json).collect();
        let request = Request::decode(Method::parse(method)?, &args, self.core.limits())?;
        self.core.execute(request, self.now)
    }
}

/// The id of the message a send answered with.
fn message_id(reply: Option<Value>) -> Value {
    reply.and_then(|r| r.pointer("/v/0/id").cloned()).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The MySQL run reaches the storage's code: its calls get past decoding to the database
    /// (a batch each at least), some answer, and none is left waiting for more batches.
    #[test]
    fn the_mysql_run_takes_every_call_to_the_database_and_to_an_end() {
        let sqlite = run();
        let played = run_mysql();
        assert_eq!(played.made, 3 * sqlite.made, "every pass plays the whole script");
        assert_eq!(played.given_up, 0, "{played:?}");
        assert!(played.batches >= played.made, "{played:?}");
        assert!(played.ok > 0, "{played:?}");
    }

    /// How each pass answers a batch: rows for reads by the pass's rule, a row affected and an
    /// id for anything else.
    #[test]
    fn each_pass_answers_reads_by_its_rule_and_writes_with_a_row_and_an_id() {
        use crate::mysql::Statement;
        let batch: Vec<Statement> = [
            "SELECT id FROM darkchat_conversations WHERE join_code = ? FOR UPDATE",
            "SELECT COUNT(*) FROM darkchat_members WHERE conversation_id = ?",
            "INSERT INTO darkchat_members (conversation_id) VALUES (?)",
        ]
        .into_iter()
        .map(|sql| Statement::new(sql, Vec::new()))
        .collect();
        let answer = |rows| {
            let mysql = FormalMysql::new(rows, Rc::new(RefCell::new(StdRng::from_seed([7; 32]))));
            let text = mysql.results(&batch);
            let resumed: Resumed = serde_json::from_slice(&text).unwrap();
            match resumed.outcome().unwrap() {
                crate::mysql::BatchOutcome::Ran { results } => results
                    .into_iter()
                    .map(|r| match r {
                        crate::mysql::link::Outcome::Rows { rows } => {
                            format!("{} rows", rows.len())
                        }
                        crate::mysql::link::Outcome::Done { affected, insert_id } => {
                            format!("{affected} affected, id {insert_id}")
                        }
                    })
                    .collect::<Vec<_>>(),
                other => panic!("{other:?}"),
            }
        };
        let write = "1 affected, id 1002";
        assert_eq!(answer(Rows::None), ["0 rows", "0 rows", write]);
        assert_eq!(answer(Rows::One), ["1 rows", "1 rows", write]);
        assert_eq!(answer(Rows::WhenLocked), ["1 rows", "0 rows", write]);
    }

    /// A step that failed would leave its code cold: the script must keep up with the API.
    #[test]
    fn every_call_of_the_script_succeeds_and_the_sweep_deletes() {
        let played = run();
        assert!(played.made > 30, "{played:?}");
        assert_eq!(played.ok, played.made, "{played:?}");
        assert!(played.swept >= 5, "{played:?}");
    }
}
