//! The wasm binding: raw exports that take and return JSON, for the JS host (js/host.js) on
//! stock FXServer. Like the Lua binding it only converts values; every rule is in [`crate::api`].
//!
//! Protocol (all strings UTF-8 JSON in module memory):
//! - `dc_alloc(len) → ptr` / `dc_free(ptr, len)`: buffers the host writes requests into and
//!   frees replies with;
//! - `dc_open(ptr, len) → reply`: `{"path", "limits": {key: wire value}, "seed": "<64 hex>",
//!   "now"}` → `{"ok": true, "version", "schemaVersion"}` or `{"ok": false, "message"}`;
//! - `dc_call(ptr, len) → reply`: `{"m": "<method>", "a": [wire values], "now": <unix s>}` →
//!   [`api::WireOutcome`];
//! - `dc_checkpoint() → 1 | 0 | -1`: the host's timer, between calls: checkpointed (and
//!   restarted the log) / nothing written since the last one, or closed / failed (nothing lost:
//!   the next one retries);
//! - `dc_close() → 1 | 0` (whether it was open).
//!
//! A reply is a pointer to a little-endian u32 length followed by that many bytes; the host
//! frees `len + 4` bytes at the pointer. The time and the 32-byte seed come from the host.
//! wasm32-unknown-unknown cannot unwind: a panic traps the instance; the host then answers
//! `storage_error`, makes a new instance and reopens the database.

use std::alloc::{alloc, dealloc, Layout};
use std::cell::RefCell;

use serde_json::{json, Value};

use crate::api::{self, Arg};
use crate::error::{Error, Result};
use crate::service::Darkchat;
use crate::store::{self, Store};

thread_local! {
    static CORE: RefCell<Option<Darkchat>> = const { RefCell::new(None) };
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
    let reply = match open(request(ptr, len)) {
        Ok(core) => {
            let schema = core.store().schema_version().unwrap_or(0);
            CORE.with(|c| *c.borrow_mut() = Some(core));
            json!({ "ok": true, "version": env!("CARGO_PKG_VERSION"), "schemaVersion": schema })
        }
        Err(e) => json!({ "ok": false, "message": e.to_string() }),
    };
    respond(&reply)
}

/// # Safety
/// `ptr..ptr+len` must be a buffer from [`dc_alloc`] holding the request.
#[no_mangle]
pub unsafe extern "C" fn dc_call(ptr: *const u8, len: usize) -> *mut u8 {
    let outcome = call(request(ptr, len));
    respond(&api::WireOutcome(&outcome))
}

#[no_mangle]
pub extern "C" fn dc_checkpoint() -> i32 {
    CORE.with(|c| {
        let Ok(slot) = c.try_borrow() else { return -1 };
        match slot.as_ref().map(|core| core.store().checkpoint_if_written()) {
            Some(Ok(true)) => 1,
            Some(Ok(false)) | None => 0,
            Some(Err(_)) => -1,
        }
    })
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

unsafe fn request(ptr: *const u8, len: usize) -> Result<Value> {
    let bytes = std::slice::from_raw_parts(ptr, len);
    serde_json::from_slice(bytes).map_err(|_| Error::invalid("request"))
}

fn respond(reply: &impl serde::Serialize) -> *mut u8 {
    let body = serde_json::to_vec(reply).unwrap_or_else(|_| b"{\"ok\":false}".to_vec());
    let out = dc_alloc(body.len() + 4);
    // SAFETY: `out` holds `body.len() + 4` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping((body.len() as u32).to_le_bytes().as_ptr(), out, 4);
        std::ptr::copy_nonoverlapping(body.as_ptr(), out.add(4), body.len());
    }
    out
}

/// The request's time, which SQLite's clock follows too.
fn now_of(request: &Value) -> i64 {
    let now = request.get("now").and_then(Value::as_i64).unwrap_or(0);
    store::set_sqlite_clock(now);
    now
}

fn open(request: Result<Value>) -> Result<Darkchat> {
    let request = request?;
    now_of(&request);
    let path = request.get("path").and_then(Value::as_str).ok_or(Error::invalid("path"))?;
    let seed = seed_of(&request)?;
    let limits = api::limits(|key| match request.get("limits") {
        None | Some(Value::Null) => Arg::Nil,
        Some(Value::Object(map)) => map.get(key).map_or(Arg::Nil, api::arg_from_json),
        Some(_) => Arg::Other,
    })?;
    // SQLite's generator gets a seed of its own, derived from the host's; the core's is the
    // host's own, so a given seed gives the same join codes as the native core.
    let mut sqlite_seed = seed;
    sqlite_seed.reverse();
    store::seed_sqlite_random(sqlite_seed);
    let store = Store::open(path)?;
    Ok(Darkchat::new(store, limits, seed))
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

fn call(request: Result<Value>) -> Result<Vec<api::Reply>> {
    let request = request?;
    let now = now_of(&request);
    let method = request.get("m").and_then(Value::as_str).ok_or(Error::invalid("method"))?;
    let args: Vec<Arg> = match request.get("a") {
        Some(Value::Array(items)) => items.iter().map(api::arg_from_json).collect(),
        _ => Vec::new(),
    };
    CORE.with(|c| {
        let mut slot = c.try_borrow_mut().map_err(|_| Error::Internal("re-entered".into()))?;
        let core = slot.as_mut().ok_or_else(|| Error::Unusable("the store is closed".into()))?;
        api::call(core, method, &args, now)
    })
}
