//! The wasm binding: raw exports that take and return JSON, for the JS host (js/host.js) on
//! stock FXServer. Like the Lua binding it only converts values; every rule is in [`crate::api`]
//! and [`crate::service`].
//!
//! Two storages. On SQLite (the default) the module owns its database file (through the
//! host's file functions) and every call answers at once. On MySQL/MariaDB the host owns the
//! connections: a call that needs the database answers with a batch of statements for the
//! host to run, and goes on when the host feeds the results back (see [`crate::mysql`]);
//! several calls may be in flight at once, each with its own connection.
//!
//! Protocol (all strings UTF-8 JSON in module memory):
//! - `dc_alloc(len) → ptr` / `dc_free(ptr, len)`: buffers the host writes requests into and
//!   frees replies with;
//! - `dc_open(ptr, len) → reply`: `{"storage": "sqlite" | "mysql", "path" (sqlite), "limits":
//!   {key: wire value}, "seed": "<64 hex>", "now", "serverId" (mysql, optional: the id its
//!   changes are logged under for the other servers, see [`crate::changes`]), "startLog"
//!   (sqlite, optional, true by default; false for a file that is only read, which the open
//!   then leaves as it was: see [`crate::store::StoreOptions::start_log`])}` → `{"ok": true, "version",
//!   "schemaVersion", "lines"}` or `{"ok": false, "message", "lines"}` (`lines`: what a long
//!   migration said, for the host to print);
//! - `dc_call_packed(ptr, len) → reply`: the same call with the reply as MessagePack bytes
//!   (the host's own Lua unpacks them); on MySQL its steps are `dc_call`'s, but the outcome,
//!   when it comes with no cleanup, is packed too (told from a JSON step by its first byte:
//!   a MessagePack map never starts with `{`);
//! - `dc_call(ptr, len) → reply`: `{"m": "<method>", "a": [wire values], "now": <unix s>}` →
//!   [`api::WireOutcome`], or on MySQL a step (below);
//! - MySQL only: `dc_migrate() → step` (the schema, before the first call);
//!   `dc_resume(ptr, len) → step` with `{"op": id, "results": [...]} | {"op": id, "error":
//!   {"errno", "message"}}`; `dc_abort(op)` drops a call the host gave up on (its connection
//!   is closed, so the database rolls its transaction back). A step is `{"op": id, "batch":
//!   [{"sql", "params"}]}` (run these in one round trip, answer with `dc_resume`) or the
//!   outcome, with `"cleanup": [statements]` (when there are any) to run on the connection
//!   before it is reused;
//! - `dc_checkpoint() → 1 | 0 | -1`: SQLite only, the host's timer, between calls:
//!   checkpointed / nothing written since the last one, or closed / failed (nothing lost: the
//!   next one retries); `dc_restart_log() → 1 | 0 | -1`, its second step once the host has
//!   synced the database file: the log restarted / nothing to restart / failed;
//! - `dc_backup(ptr, len) → reply`: SQLite only, backups in steps and the checks of a restore
//!   (see [`dc_backup`]);
//! - `dc_close() → 1 | 0` (whether it was open);
//! - `dc_warm_up() → 1 | 0` (whether all of it ran): runs the common paths once on a database
//!   in the module's memory, so that V8 compiles their code at start rather than in a player's
//!   first calls;
//! - `dc_warm_up_mysql() → 1 | 0` (whether every call of it ended): the same for the MySQL
//!   storage's code, with no database (see `warm_up.rs`).
//!
//! A reply is a pointer to a little-endian u32 length followed by that many bytes; the host
//! frees `len + 4` bytes at the pointer. The time and the 32-byte seed come from the host.
//! wasm32-unknown-unknown cannot unwind: a panic traps the instance; the host then answers
//! `storage_error`, makes a new instance and reopens the database.

use std::alloc::{alloc, dealloc, Layout};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

use crate::api::{self, Arg, Method, Request};
use crate::error::{Error, Result};
use crate::mysql::{self, Operation, Resumed, Step};
use crate::service::{Limits, SharedRng};
use crate::store::{self, Store};
use crate::Darkchat;

/// The open core: a database file of its own, or a MySQL database the host connects to.
enum Core {
    Sqlite(Darkchat),
    Mysql(MysqlCore),
}

/// A core on MySQL: what every call shares, and the calls in flight.
struct MysqlCore {
    limits: Limits,
    rng: SharedRng,
    calls: HashMap<u32, Operation>,
    /// The calls in flight whose outcome is to be packed ([`dc_call_packed`]).
    packed: HashSet<u32>,
    next_call: u32,
    /// This server's id in the change log of a server network (`serverId` at open): every
    /// change is logged under it. None: nothing is logged.
    origin: Option<Rc<str>>,
}

thread_local! {
    static CORE: RefCell<Option<Core>> = const { RefCell::new(None) };
}

fn layout(len: usize) -> Layout {
    Layout::from_size_align(len.max(1), 8).expect("buffer size")
}

/// Traps when memory cannot grow (the host then recovers as from any trap): a null pointer
/// handed back would have the host write the request at address 0, over the module's data.
#[no_mangle]
pub extern "C" fn dc_alloc(len: usize) -> *mut u8 {
    let layout = layout(len);
    // SAFETY: non-zero size.
    let ptr = unsafe { alloc(layout) };
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    ptr
}

/// # Safety
/// `ptr` must come from [`dc_alloc`] (or be a reply) with the same `len`.
#[no_mangle]
pub unsafe extern "C" fn dc_free(ptr: *mut u8, len: usize) {
    dealloc(ptr, layout(len));
}

/// # Safety
/// `ptr..ptr+len` must be a buffer from [`dc_alloc`] holding the request.
#[no_mangle]
pub unsafe extern "C" fn dc_open(ptr: *const u8, len: usize) -> *mut u8 {
    let mut lines = Vec::new();
    let reply = match open(request(ptr, len), &mut lines) {
        Ok(core) => {
            let schema = match &core {
                Core::Sqlite(core) => core.store().schema_version().unwrap_or(0),
                Core::Mysql(_) => mysql::schema::latest_version(),
            };
            CORE.with(|c| *c.borrow_mut() = Some(core));
            json!({ "ok": true, "version": env!("CARGO_PKG_VERSION"), "schemaVersion": schema,
                    "lines": lines })
        }
        Err(e) => json!({ "ok": false, "message": e.to_string(), "lines": lines }),
    };
    respond(&reply)
}

/// # Safety
/// `ptr..ptr+len` must be a buffer from [`dc_alloc`] holding the request.
#[no_mangle]
pub unsafe extern "C" fn dc_call(ptr: *const u8, len: usize) -> *mut u8 {
    let request = request(ptr, len);
    let reply = with_core(|core| match core {
        Core::Sqlite(core) => Ok(respond(&api::WireOutcome(&call_sqlite(core, request)))),
        Core::Mysql(core) => Ok(respond_step(core.call(request))),
    });
    reply.unwrap_or_else(|e| respond(&api::WireOutcome(&Err(e))))
}

/// [`dc_call`] with the reply as MessagePack bytes (see `api::msgpack`): the host hands them to
/// its Lua as they are, so its thread neither parses the reply nor packs its fields. On MySQL
/// the call is driven step by step as [`dc_call`]'s, and its outcome (which reaches Lua from a
/// promise) is packed when it comes.
///
/// # Safety
/// `ptr..ptr+len` must be a buffer from [`dc_alloc`] holding the request.
#[no_mangle]
pub unsafe extern "C" fn dc_call_packed(ptr: *const u8, len: usize) -> *mut u8 {
    let request = request(ptr, len);
    let outcome = with_core(|core| match core {
        Core::Sqlite(core) => Ok(Ok(call_sqlite(core, request))),
        Core::Mysql(core) => {
            let (call, step) = core.call(request);
            if matches!(step, Ok(Step::Batch(_))) {
                core.packed.insert(call);
            }
            Ok(Err((call, step)))
        }
    });
    match outcome {
        Ok(Ok(outcome)) => packed(&outcome),
        Ok(Err(step)) => respond_packed_step(step),
        Err(e) => packed(&Err(e)),
    }
}

/// An outcome as MessagePack bytes.
fn packed(outcome: &Result<Vec<api::Reply>>) -> *mut u8 {
    let mut body = Vec::with_capacity(256);
    api::msgpack::pack_outcome(outcome, &mut body);
    framed(&body)
}

/// A MySQL step of a packed call: a batch as JSON ([`respond_step`]); the outcome packed, but
/// when the connection needs a cleanup first (told in JSON, beside the outcome).
fn respond_packed_step((call, step): (u32, Result<Step>)) -> *mut u8 {
    match step {
        Ok(Step::Done { outcome, cleanup }) if cleanup.is_empty() => packed(&outcome),
        Err(e) => packed(&Err(e)),
        step => respond_step((call, step)),
    }
}

/// MySQL: starts bringing the schema up to date (the host runs it before the first call).
#[no_mangle]
pub extern "C" fn dc_migrate() -> *mut u8 {
    let reply = with_core(|core| match core {
        Core::Mysql(core) => Ok(respond_step(core.migrate())),
        Core::Sqlite(_) => Err(Error::invalid("storage")),
    });
    reply.unwrap_or_else(|e| respond(&api::WireOutcome(&Err(e))))
}

/// # Safety
/// `ptr..ptr+len` must be a buffer from [`dc_alloc`] holding the request.
#[no_mangle]
pub unsafe extern "C" fn dc_resume(ptr: *const u8, len: usize) -> *mut u8 {
    // Read straight into its shape: a batch's rows are most of what crosses here.
    let bytes = std::slice::from_raw_parts(ptr, len);
    let request = serde_json::from_slice::<Resumed>(bytes)
        .map_err(|e| Error::Internal(format!("bad batch outcome: {e}")));
    let reply = with_core(|core| match core {
        Core::Mysql(core) => {
            let (call, step) = core.resume(request);
            let done = !matches!(step, Ok(Step::Batch(_)));
            Ok(if done && core.packed.remove(&call) {
                respond_packed_step((call, step))
            } else {
                respond_step((call, step))
            })
        }
        Core::Sqlite(_) => Err(Error::invalid("storage")),
    });
    reply.unwrap_or_else(|e| respond(&api::WireOutcome(&Err(e))))
}

/// Runs the warm-up script once ([`crate::warm_up`]): the host calls it when it has compiled
/// the module, before opening the database. Returns 1 when every call of the script answered
/// ok and its sweep deleted messages (all its paths ran), else 0.
#[no_mangle]
pub extern "C" fn dc_warm_up() -> i32 {
    let played = crate::warm_up::run();
    i32::from(played.made > 0 && played.ok == played.made && played.swept > 0)
}

/// MySQL: forgets a call the host gave up on. Returns whether it was in flight.
#[no_mangle]
pub extern "C" fn dc_abort(call: u32) -> i32 {
    with_core(|core| match core {
        Core::Mysql(core) => {
            core.packed.remove(&call);
            Ok(core.calls.remove(&call).is_some() as i32)
        }
        Core::Sqlite(_) => Ok(0),
    })
    .unwrap_or(0)
}

#[no_mangle]
pub extern "C" fn dc_checkpoint() -> i32 {
    CORE.with(|c| {
        let Ok(slot) = c.try_borrow() else { return -1 };
        match slot.as_ref() {
            Some(Core::Sqlite(core)) => match core.store().checkpoint_if_written() {
                Ok(true) => 1,
                Ok(false) => 0,
                Err(_) => -1,
            },
            Some(Core::Mysql(_)) | None => 0,
        }
    })
}

/// The checkpoint's second step (SQLite only): restarts the log when the last
/// [`dc_checkpoint`] copied all of it and nothing was committed since; the host calls it once
/// the database file is synced. 1 restarted, 0 nothing to do, -1 failed (the next checkpoint
/// tries again).
#[no_mangle]
pub extern "C" fn dc_restart_log() -> i32 {
    CORE.with(|c| {
        let Ok(slot) = c.try_borrow() else { return -1 };
        match slot.as_ref() {
            Some(Core::Sqlite(core)) => match core.store().restart_log() {
                Ok(true) => 1,
                Ok(false) => 0,
                Err(_) => -1,
            },
            Some(Core::Mysql(_)) | None => 0,
        }
    })
}

/// SQLite only: backups and restores, driven by the host (it owns the files: it creates a
/// backup's file, lists folders, removes and renames). `{"op": ...}`:
/// - `"start", "path"`: a backup in steps into the empty file `path` → `{"ok"}`;
/// - `"step", "pages"`: copies at most `pages` pages → `{"ok", "state": "copying",
///   "remaining", "total"}`; once copied, checks the copy as much as a step may copy →
///   `{"ok", "state": "verifying", "rows", "bytes", "pages"}` (what this step read); then
///   `{"ok", "state": "done"}` (copied and checked);
/// - `"check", "path"`: whether `path` may replace the live database → `{"ok"}`;
/// - `"rotate", "names", "keep"`: the automatic backups among `names` to remove → `{"ok",
///   "remove": [names]}`;
/// - `"newest", "files": [[name, mtime]]` → `{"ok", "newest": name | null}`.
///
/// Errors are `{"ok": false, "code", "message"}`.
///
/// # Safety
/// `ptr..ptr+len` must be a buffer from [`dc_alloc`] holding the request.
#[no_mangle]
pub unsafe extern "C" fn dc_backup(ptr: *const u8, len: usize) -> *mut u8 {
    let reply = request(ptr, len).and_then(|request| backup_op(&request));
    respond(
        &reply
            .unwrap_or_else(|e| json!({ "ok": false, "code": e.code(), "message": e.to_string() })),
    )
}

fn backup_op(request: &Value) -> Result<Value> {
    let text =
        |key: &str| request.get(key).and_then(Value::as_str).ok_or(Error::invalid("request"));
    match text("op")? {
        "check" => {
            Store::check_restorable(text("path")?)?;
            Ok(json!({ "ok": true }))
        }
        "rotate" => {
            let names: Vec<String> = request
                .get("names")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            let keep = request.get("keep").and_then(Value::as_u64).unwrap_or(1) as usize;
            Ok(json!({ "ok": true, "remove": crate::backups::to_remove(&names, keep) }))
        }
        "newest" => {
            let files: Vec<(String, i64)> = request
                .get("files")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|f| Some((f.get(0)?.as_str()?.to_owned(), f.get(1)?.as_i64()?)))
                        .collect()
                })
                .unwrap_or_default();
            Ok(json!({ "ok": true, "newest": crate::backups::pick_newest(&files) }))
        }
        op @ ("start" | "step") => with_core(|core| {
            let Core::Sqlite(core) = core else { return Err(Error::invalid("storage")) };
            let store = core.store();
            if op == "start" {
                store.start_stepped_backup(text("path")?)?;
                return Ok(json!({ "ok": true }));
            }
            let pages = request.get("pages").and_then(Value::as_i64).unwrap_or(1);
            Ok(match store.backup_step(pages.clamp(1, i32::MAX as i64) as i32)? {
                store::stepped::Progress::Copying { remaining, total } => {
                    json!({ "ok": true, "state": "copying", "remaining": remaining, "total": total })
                }
                store::stepped::Progress::Verifying { rows, bytes, pages } => {
                    json!({ "ok": true, "state": "verifying", "rows": rows, "bytes": bytes, "pages": pages })
                }
                store::stepped::Progress::Done => json!({ "ok": true, "state": "done" }),
            })
        }),
        _ => Err(Error::invalid("op")),
    }
}

#[no_mangle]
pub extern "C" fn dc_close() -> i32 {
    CORE.with(|c| c.borrow_mut().take().is_some()) as i32
}

/// Traps on purpose: lets the host's tests check that it recovers from a trapped instance.
#[no_mangle]
pub extern "C" fn dc_trap() {
    std::process::abort();
}

fn with_core<T>(f: impl FnOnce(&mut Core) -> Result<T>) -> Result<T> {
    CORE.with(|c| {
        let mut slot = c.try_borrow_mut().map_err(|_| Error::Internal("re-entered".into()))?;
        let core = slot.as_mut().ok_or_else(|| Error::Unusable("the store is closed".into()))?;
        f(core)
    })
}

unsafe fn request(ptr: *const u8, len: usize) -> Result<Value> {
    let bytes = std::slice::from_raw_parts(ptr, len);
    serde_json::from_slice(bytes).map_err(|_| Error::invalid("request"))
}

fn respond(reply: &impl serde::Serialize) -> *mut u8 {
    let body = serde_json::to_vec(reply).unwrap_or_else(|_| b"{\"ok\":false}".to_vec());
    framed(&body)
}

/// `body` in a buffer from [`dc_alloc`], after its length (4 bytes, little-endian).
fn framed(body: &[u8]) -> *mut u8 {
    let out = dc_alloc(body.len() + 4);
    // SAFETY: `out` holds `body.len() + 4` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping((body.len() as u32).to_le_bytes().as_ptr(), out, 4);
        std::ptr::copy_nonoverlapping(body.as_ptr(), out.add(4), body.len());
    }
    out
}

/// A MySQL call's next step as JSON: a batch for the host, or the outcome (with the cleanup
/// its connection needs, when it needs one).
///
/// Written straight from the step, not through a `serde_json::Value`: building and dropping
/// that tree (a map per object, a copy of every string) took most of `dc_resume`'s time for a
/// page of messages. `cleanup` comes last and only when there is one: the host deletes it from
/// the outcome, which V8 does cheaply only for the property added last.
fn respond_step((call, step): (u32, Result<Step>)) -> *mut u8 {
    struct Batch<'a> {
        call: u32,
        batch: &'a [mysql::Statement],
    }
    impl serde::Serialize for Batch<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(Some(2))?;
            map.serialize_entry("op", &self.call)?;
            map.serialize_entry("batch", self.batch)?;
            map.end()
        }
    }
    struct Done<'a> {
        outcome: api::WireOutcome<'a>,
        cleanup: &'a [mysql::Statement],
    }
    impl serde::Serialize for Done<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(None)?;
            self.outcome.entries(&mut map)?;
            if !self.cleanup.is_empty() {
                map.serialize_entry("cleanup", self.cleanup)?;
            }
            map.end()
        }
    }
    match step {
        Ok(Step::Batch(batch)) => respond(&Batch { call, batch: &batch }),
        Ok(Step::Done { outcome, cleanup }) => {
            respond(&Done { outcome: api::WireOutcome(&outcome), cleanup: &cleanup })
        }
        Err(e) => respond(&api::WireOutcome(&Err(e))),
    }
}

/// The request's time, which SQLite's clock follows too.
/// Runs the warm-up script on the MySQL storage's code ([`crate::warm_up::run_mysql`]): the host
/// calls it once, before its first open on MySQL. Returns 1 when every call of it ended.
#[no_mangle]
pub extern "C" fn dc_warm_up_mysql() -> i32 {
    let played = crate::warm_up::run_mysql();
    i32::from(played.made > 0 && played.given_up == 0)
}

fn now_of(request: &Value) -> i64 {
    let now = request.get("now").and_then(Value::as_i64).unwrap_or(0);
    store::set_sqlite_clock(now);
    now
}

/// `lines` gets what the owner should see of the open: the long migrations' lines.
fn open(request: Result<Value>, lines: &mut Vec<String>) -> Result<Core> {
    let request = request?;
    now_of(&request);
    let seed = seed_of(&request)?;
    let limits = api::limits_from_json(request.get("limits"))?;
    match request.get("storage").and_then(Value::as_str).unwrap_or("sqlite") {
        "sqlite" => {
            let path = request.get("path").and_then(Value::as_str).ok_or(Error::invalid("path"))?;
            // SQLite's generator gets a seed of its own, derived from the host's; the core's is
            // the host's own, so a given seed gives the same join codes as the native core.
            let mut sqlite_seed = seed;
            sqlite_seed.reverse();
            store::seed_sqlite_random(sqlite_seed);
            let start_log = match request.get("startLog") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(on)) => *on,
                Some(_) => return Err(Error::invalid("startLog")),
            };
            let options = store::StoreOptions { start_log, ..Default::default() };
            let store =
                Store::open_announcing(path, &options, &mut |line| lines.push(line.to_owned()))?;
            Ok(Core::Sqlite(Darkchat::new(store, limits, seed)))
        }
        "mysql" => Ok(Core::Mysql(MysqlCore {
            limits,
            rng: Rc::new(RefCell::new(StdRng::from_seed(seed))),
            calls: HashMap::new(),
            packed: HashSet::new(),
            next_call: 0,
            origin: match request.get("serverId") {
                None | Some(Value::Null) => None,
                Some(Value::String(id)) => Some(crate::changes::server_id(id)?.into()),
                Some(_) => return Err(Error::invalid("serverId")),
            },
        })),
        _ => Err(Error::invalid("storage")),
    }
}

fn seed_of(request: &Value) -> Result<[u8; 32]> {
    let hex = request.get("seed").and_then(Value::as_str).ok_or(Error::invalid("seed"))?;
    let mut seed = [0u8; 32];
    if hex.len() != 64 {
        return Err(Error::invalid("seed"));
    }
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte =
            u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| Error::invalid("seed"))?;
    }
    Ok(seed)
}

/// The method, arguments and time of a call request.
fn decode_call(request: Result<Value>, limits: &Limits) -> Result<(Request, i64)> {
    let request = request?;
    let now = now_of(&request);
    let method = request.get("m").and_then(Value::as_str).ok_or(Error::invalid("method"))?;
    let args: Vec<Arg> = match request.get("a") {
        Some(Value::Array(items)) => items.iter().map(api::arg_from_json).collect(),
        _ => Vec::new(),
    };
    Ok((Request::decode(Method::parse(method)?, &args, limits)?, now))
}

fn call_sqlite(core: &mut Darkchat, request: Result<Value>) -> Result<Vec<api::Reply>> {
    let (request, now) = decode_call(request, core.limits())?;
    crate::storage::run_inline(api::execute(core.service(), request, now))
}

impl MysqlCore {
    fn call(&mut self, request: Result<Value>) -> (u32, Result<Step>) {
        let (request, now) = match decode_call(request, &self.limits) {
            Ok(decoded) => decoded,
            Err(e) => return (0, Err(e)),
        };
        if let Some(answer) = request.answer_without_storage() {
            return (0, Ok(Step::Done { outcome: Ok(answer), cleanup: Vec::new() }));
        }
        self.begin(mysql::operation(request, now, &self.limits, &self.rng, self.origin.clone()))
    }

    fn migrate(&mut self) -> (u32, Result<Step>) {
        let link = Rc::new(RefCell::new(mysql::link::Link::default()));
        let schema_link = Rc::clone(&link);
        self.begin(Operation::new(link, async move {
            let version = mysql::schema::migrate(&schema_link).await?;
            Ok(vec![api::Reply::Int(version)])
        }))
    }

    /// Runs a new call to its first step; keeps it while it waits for the host.
    fn begin(&mut self, mut operation: Operation) -> (u32, Result<Step>) {
        let step = operation.start();
        self.next_call = self.next_call.wrapping_add(1).max(1);
        let call = self.next_call;
        if matches!(step, Step::Batch(_)) {
            self.calls.insert(call, operation);
        }
        (call, Ok(step))
    }

    fn resume(&mut self, request: Result<Resumed>) -> (u32, Result<Step>) {
        let parsed = request.and_then(|r| {
            let call = r.op;
            let outcome =
                r.outcome().map_err(|e| Error::Internal(format!("bad batch outcome: {e}")))?;
            Ok((call, outcome))
        });
        let (call, outcome) = match parsed {
            Ok(parsed) => parsed,
            Err(e) => return (0, Err(e)),
        };
        let Some(operation) = self.calls.get_mut(&call) else {
            return (call, Err(Error::Internal(format!("no call {call} in flight"))));
        };
        let step = operation.resume(outcome);
        if !matches!(step, Step::Batch(_)) {
            self.calls.remove(&call);
        }
        (call, Ok(step))
    }
}
