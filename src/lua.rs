//! The Lua 5.4 binding: the only code that knows mlua.
//!
//! It turns Lua values into the host-neutral arguments of [`crate::api`] (which validates them
//! and calls the service, for the wasm host too) and the api's replies into plain Lua tables. Contract for every method of the handle: it returns `true, ...` on success or
//! `false, "<code>", "<message>"` on an expected failure; it never raises for bad input and a
//! panic inside is caught and reported as `storage_error` (it must never unwind into Lua).
//!
//! The time (`now`) and the random seed come from the OS here, at the edge, never in the core.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use mlua::{
    ffi, IntoLuaMulti, Lua, MultiValue, Result as LuaResult, Table, UserData, UserDataMethods,
    Value,
};
use rand::{Rng, SeedableRng};

use crate::api::{self, Arg, Method, Reply};
use crate::darkchat::Darkchat;
use crate::error::{Error, Result};
use crate::input::MAX_INPUT_BYTES;
use crate::store::Store;

/// The Lua module table: `require("darkchat")`.
pub fn module_table(lua: &Lua) -> LuaResult<Table> {
    let exports = lua.create_table()?;
    exports.set("version", env!("CARGO_PKG_VERSION"))?;
    exports.set("schemaVersion", crate::store::migrations::latest_version())?;
    exports.set("open", lua.create_function(open)?)?;
    #[cfg(feature = "fault-injection")]
    exports.set("injectPanic", lua.create_function(fault::inject_panic)?)?;
    Ok(exports)
}

#[cfg(feature = "module")]
#[mlua::lua_module(name = "darkchat")]
fn darkchat_module(lua: &Lua) -> LuaResult<Table> {
    module_table(lua)
}

/// `darkchat.open{ path = "...", limits = {...}, announce = print }` → handle, or
/// `nil, "<one-line reason>"`. `announce` (optional) is called with each line a long migration
/// says, as it runs.
fn open(lua: &Lua, options: Value) -> LuaResult<MultiValue> {
    let opened = catch_unwind(AssertUnwindSafe(|| -> Result<Darkchat> {
        let Value::Table(options) = options else { return Err(Error::invalid("options")) };
        let path: String = options.get("path").map_err(|_| Error::invalid("path"))?;
        let limits = limits_from(&options)?;
        let announce = match options.get::<Value>("announce") {
            Ok(Value::Function(f)) => Some(f),
            _ => None,
        };
        let mut say = |line: &str| {
            if let Some(f) = &announce {
                // A failing printer must not stop the open.
                let _ = f.call::<()>(line);
            }
        };
        let store = Store::open_announcing(&path, &Default::default(), &mut say)?;
        let mut seed = [0u8; 32];
        rand::rngs::StdRng::from_os_rng().fill(&mut seed);
        Ok(Darkchat::new(store, limits, seed))
    }));
    match opened {
        Ok(Ok(core)) => {
            (Handle { core: RefCell::new(Some(core)), backups: Default::default() }, Value::Nil)
                .into_lua_multi(lua)
        }
        Ok(Err(e)) => (Value::Nil, e.to_string()).into_lua_multi(lua),
        Err(_) => (Value::Nil, "internal error while opening the database").into_lua_multi(lua),
    }
}

fn limits_from(options: &Table) -> Result<crate::Limits> {
    let Ok(Value::Table(t)) = options.get::<Value>("limits") else {
        return Ok(crate::Limits::default());
    };
    let mut limits =
        api::limits(|key| t.get::<Value>(key).map_or(Arg::Other, |v| arg(&v, MAX_INPUT_BYTES)))?;
    // `limits.filter = { words = { ... }, mode = "refuse" | "mask" }` (Config.Filter).
    if let Ok(Value::Table(filter)) = t.get::<Value>("filter") {
        let words = match filter.get::<Value>("words") {
            Ok(Value::Table(list)) => Some(
                list.sequence_values::<Value>()
                    .map(|v| v.map_or(Arg::Other, |v| arg(&v, MAX_INPUT_BYTES)))
                    .collect(),
            ),
            Ok(Value::Nil) => None,
            _ => return Err(Error::invalid("filter words")),
        };
        let mode = filter.get::<Value>("mode").map_or(Arg::Other, |v| arg(&v, MAX_INPUT_BYTES));
        limits.filter = std::sync::Arc::new(api::filter(words, &mode)?);
    }
    Ok(limits)
}

/// The open core, as Lua userdata. `close()` empties it; later calls report `storage_error`.
struct Handle {
    core: RefCell<Option<Darkchat>>,
    backups: RefCell<Backups>,
}

/// Backups running on their own threads, by job id.
#[derive(Default)]
struct Backups {
    next_id: i64,
    running: HashMap<i64, JoinHandle<Result<()>>>,
}

impl Handle {
    /// Runs `f` on the core with panics caught; shapes the outcome as `true, ...` /
    /// `false, code, message`.
    fn call<F>(&self, lua: &Lua, f: F) -> LuaResult<MultiValue>
    where
        F: FnOnce(&Lua, &mut Darkchat) -> Result<MultiValue>,
    {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut slot =
                self.core.try_borrow_mut().map_err(|_| Error::Internal("re-entered".into()))?;
            let core =
                slot.as_mut().ok_or_else(|| Error::Unusable("the store is closed".into()))?;
            #[cfg(feature = "fault-injection")]
            fault::fire();
            f(lua, core)
        }));
        let error = match outcome {
            Ok(Ok(values)) => {
                let mut all = MultiValue::with_capacity(values.len() + 1);
                all.push_back(Value::Boolean(true));
                all.extend(values);
                return Ok(all);
            }
            Ok(Err(e)) => e,
            Err(panic) => Error::Internal(panic_message(&panic)),
        };
        (false, error.code(), error.to_string()).into_lua_multi(lua)
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

impl UserData for Handle {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        // Every method of the core, through the one host-neutral dispatch (api.rs).
        for method in Method::ALL {
            m.add_method(method.name(), move |lua, h, args: MultiValue| {
                h.call(lua, |lua, core| {
                    let max_bytes = api::max_arg_bytes(core.limits());
                    let args: Vec<Arg> = args.iter().map(|v| arg(v, max_bytes)).collect();
                    let replies = api::call(core, method.name(), &args, now())?;
                    to_lua(lua, &replies)
                })
            });
        }
        m.add_method("startBackup", |lua, h, dest: Value| {
            h.call(lua, |lua, core| {
                let dest = arg(&dest, MAX_INPUT_BYTES);
                let dest = api::short_string(&dest, "file")?;
                if dest.trim().is_empty() {
                    return Err(Error::invalid("file"));
                }
                let job = core.store().start_backup(dest)?;
                let mut backups = h.backups.borrow_mut();
                backups.next_id += 1;
                let id = backups.next_id;
                backups.running.insert(id, job);
                values(lua, (id,))
            })
        });
        m.add_method("backupStatus", |lua, h, id: Value| {
            h.call(lua, |lua, _| {
                let id = api::integer(&arg(&id, MAX_INPUT_BYTES), "job")?;
                let mut backups = h.backups.borrow_mut();
                let finished = match backups.running.get(&id) {
                    None => return Err(Error::invalid("job")),
                    Some(job) => job.is_finished(),
                };
                if !finished {
                    return values(lua, ("running",));
                }
                let job = backups.running.remove(&id).expect("checked above");
                match job.join() {
                    Ok(Ok(())) => values(lua, ("done",)),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err(Error::Internal("backup thread panicked".into())),
                }
            })
        });
        m.add_method("rotateBackups", |lua, h, (dir, keep): (Value, Value)| {
            h.call(lua, |lua, _| {
                let dir = api::short_string(&arg(&dir, MAX_INPUT_BYTES), "folder")?.to_owned();
                let keep = api::integer(&arg(&keep, MAX_INPUT_BYTES), "keep")?;
                let removed =
                    crate::backups::rotate(std::path::Path::new(&dir), keep.max(1) as usize)?;
                values(lua, (removed.len(),))
            })
        });
        m.add_method("newestBackup", |lua, h, dir: Value| {
            h.call(lua, |lua, _| {
                let dir = api::short_string(&arg(&dir, MAX_INPUT_BYTES), "folder")?.to_owned();
                let newest = crate::backups::newest(std::path::Path::new(&dir))?;
                values(lua, (newest.map(|p| p.display().to_string()),))
            })
        });
        // restore(file, keep, announce): the backup `file` replaces the live database, which
        // is first copied to `keep`; see README "Backups".
        m.add_method("restore", |lua, h, (src, keep, announce): (Value, Value, Value)| {
            let outcome = catch_unwind(AssertUnwindSafe(|| restore(h, &src, &keep, &announce)));
            let error = match outcome {
                Ok(Ok(())) => return (true,).into_lua_multi(lua),
                Ok(Err(e)) => e,
                Err(panic) => Error::Internal(panic_message(&panic)),
            };
            (false, error.code(), error.to_string()).into_lua_multi(lua)
        });
        m.add_method("close", |lua, h, ()| {
            let closed = h.core.try_borrow_mut().map(|mut slot| slot.take().is_some());
            (closed.unwrap_or(false),).into_lua_multi(lua)
        });
    }
}

/// The native restore: stage and check the copy, keep the live database as a backup, close
/// it, rename the copy into place, reopen (migrating an older backup's schema).
fn restore(h: &Handle, src: &Value, keep: &Value, announce: &Value) -> Result<()> {
    let src = api::short_string(&arg(src, MAX_INPUT_BYTES), "file")?.to_owned();
    let keep = api::short_string(&arg(keep, MAX_INPUT_BYTES), "keep")?.to_owned();
    let mut slot = h.core.try_borrow_mut().map_err(|_| Error::Internal("re-entered".into()))?;
    let core = slot.as_mut().ok_or_else(|| Error::Unusable("the store is closed".into()))?;
    let db = core
        .store()
        .path()
        .ok_or_else(|| Error::Unusable("an in-memory store cannot be restored".into()))?
        .to_owned();
    let limits = core.limits().clone();
    // Native servers may share a database; replacing the file under another one would leave
    // it writing to the replaced file. Asked again just before the swap, when this process's
    // own line is gone (the window between the two is the rename's).
    let shared = || -> Result<()> {
        let others = crate::store::other_holders(&db);
        if others.is_empty() {
            return Ok(());
        }
        Err(Error::Unusable(format!(
            "the database is also open in {}; stop that server first; nothing changed",
            others.join(", ")
        )))
    };
    shared()?;
    let staged = crate::backups::stage_restore(std::path::Path::new(&src), &db)?;
    let kept = core.store().start_backup(&keep).and_then(|job| {
        job.join().map_err(|_| Error::Internal("backup thread panicked".into()))?
    });
    if let Err(e) = kept {
        let _ = std::fs::remove_file(&staged);
        return Err(Error::Unusable(format!(
            "cannot keep the live database as {keep} ({e}); nothing changed"
        )));
    }
    drop(slot.take());
    let mut say = |line: &str| {
        if let Value::Function(f) = announce {
            let _ = f.call::<()>(line);
        }
    };
    let swapped = shared().and_then(|()| crate::backups::put_in_place(&staged, &db));
    if swapped.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    // Reopened either way: the restored database, or the live one left as it was.
    let store = Store::open_announcing(&db, &Default::default(), &mut say)?;
    let mut seed = [0u8; 32];
    rand::rngs::StdRng::from_os_rng().fill(&mut seed);
    *slot = Some(Darkchat::new(store, limits, seed));
    swapped
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn values(lua: &Lua, v: impl IntoLuaMulti) -> Result<MultiValue> {
    Ok(v.into_lua_multi(lua)?)
}

impl From<mlua::Error> for Error {
    fn from(e: mlua::Error) -> Self {
        Error::Internal(format!("lua: {e}"))
    }
}

// --- Lua values ⇄ the api's values --------------------------------------------------------

/// A Lua value as an argument. Strings over `max_bytes` (longer than any argument may be) are
/// not copied or scanned.
fn arg(value: &Value, max_bytes: usize) -> Arg {
    match value {
        Value::Nil => Arg::Nil,
        Value::Boolean(b) => Arg::Bool(*b),
        Value::Integer(n) => Arg::Int(*n),
        Value::Number(f) => Arg::Float(*f),
        Value::String(s) => {
            let bytes = s.as_bytes();
            if bytes.len() > max_bytes {
                return Arg::Unreadable;
            }
            std::str::from_utf8(&bytes).map_or(Arg::Unreadable, |text| Arg::Str(text.to_owned()))
        }
        _ => Arg::Other,
    }
}

/// Replies as Lua values: objects become tables without their `Null` fields.
///
/// Built with Lua's C API inside one protected call. Why: a listing is hundreds of small
/// tables, and mlua's safe API makes a protected call per field, which cost more than reading
/// the rows from SQLite (benchmark: list and page through the binding).
fn to_lua(lua: &Lua, replies: &[Reply]) -> Result<MultiValue> {
    // SAFETY: `exec_raw` runs the closure in protected mode on a stack it guards; `push` only
    // pushes onto that stack, checks room before each value, and its frames own nothing with a
    // destructor, so a Lua error raised inside (out of memory) may unwind through them.
    let values = unsafe {
        lua.exec_raw::<MultiValue>((), |state| {
            for reply in replies {
                push(state, reply);
            }
        })
    }?;
    Ok(values)
}

/// Pushes `reply` onto the Lua stack (one value).
///
/// # Safety
/// `state` must be a live Lua state in protected mode (see [`to_lua`]).
unsafe fn push(state: *mut ffi::lua_State, reply: &Reply) {
    // Room for this value and a nested one, with one to spare.
    ffi::luaL_checkstack(state, 3, std::ptr::null());
    match reply {
        Reply::Null => ffi::lua_pushnil(state),
        Reply::Bool(b) => ffi::lua_pushboolean(state, c_int::from(*b)),
        Reply::Int(n) => ffi::lua_pushinteger(state, *n),
        Reply::Float(f) => ffi::lua_pushnumber(state, *f),
        Reply::Str(s) => {
            ffi::lua_pushlstring(state, s.as_ptr().cast(), s.len());
        }
        Reply::Array(items) => {
            ffi::lua_createtable(state, c_int::try_from(items.len()).unwrap_or(0), 0);
            for (i, item) in items.iter().enumerate() {
                push(state, item);
                ffi::lua_rawseti(state, -2, i as ffi::lua_Integer + 1);
            }
        }
        Reply::Object(fields) => {
            ffi::lua_createtable(state, 0, c_int::try_from(fields.len()).unwrap_or(0));
            for (key, value) in fields {
                if matches!(value, Reply::Null) {
                    continue;
                }
                push(state, value);
                // A C-string key: Lua looks it up in its cache of API strings by address.
                ffi::lua_setfield(state, -2, key.as_ptr());
            }
        }
    }
}

// --- fault injection (feature `fault-injection`, tests only) --------------------------------

/// `darkchat.injectPanic()` makes the next handle call panic inside its `catch_unwind`, so a
/// test can show the panic comes back as `storage_error` and the handle keeps working;
/// `darkchat.injectPanic("beforeCommit")` makes the next write panic once its statements ran,
/// just before its commit (see `store::fault`).
#[cfg(feature = "fault-injection")]
mod fault {
    use std::cell::Cell;

    thread_local!(static ARMED: Cell<bool> = const { Cell::new(false) });

    /// `darkchat.injectPanic([where])`: arms the fault on this thread, for the next handle call
    /// or, with "beforeCommit", for the next write.
    pub(super) fn inject_panic(_: &mlua::Lua, at: Option<String>) -> mlua::Result<()> {
        match at.as_deref() {
            None => ARMED.with(|armed| armed.set(true)),
            Some("beforeCommit") => crate::store::fault::panic_before_next_commit(),
            Some(other) => return Err(mlua::Error::runtime(format!("no fault point {other:?}"))),
        }
        Ok(())
    }

    pub(super) fn fire() {
        if ARMED.with(|armed| armed.replace(false)) {
            panic!("injected fault");
        }
    }
}
