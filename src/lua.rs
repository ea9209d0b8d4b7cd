//! The Lua 5.4 binding: the only code that knows mlua.
//!
//! It turns Lua values into validated inputs, calls the service, and turns results into plain
//! Lua tables. Contract for every method of the handle: it returns `true, ...` on success or
//! `false, "<code>", "<message>"` on an expected failure; it never raises for bad input and a
//! panic inside is caught and reported as `storage_error` (it must never unwind into Lua).
//!
//! The time (`now`) and the random seed come from the OS here, at the edge, never in the core.

use std::cell::RefCell;
use std::collections::HashMap;
use std::thread::JoinHandle;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{SystemTime, UNIX_EPOCH};

use mlua::{
    IntoLua, IntoLuaMulti, Lua, MultiValue, Result as LuaResult, Table, UserData, UserDataMethods,
    Value,
};
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::input::{self, ConversationName, JoinCode, PhoneNumber, MAX_INPUT_BYTES};
use crate::model::{Conversation, MembershipChange, Message};
use crate::service::{Actor, Darkchat, Limits};
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

/// `darkchat.open{ path = "...", limits = {...} }` → handle, or `nil, "<one-line reason>"`.
fn open(lua: &Lua, options: Value) -> LuaResult<MultiValue> {
    let opened = catch_unwind(AssertUnwindSafe(|| -> Result<Darkchat> {
        let Value::Table(options) = options else { return Err(Error::invalid("options")) };
        let path: String = options.get("path").map_err(|_| Error::invalid("path"))?;
        let limits = limits_from(&options)?;
        let store = Store::open(&path)?;
        let mut seed = [0u8; 32];
        rand::rngs::StdRng::from_os_rng().fill(&mut seed);
        Ok(Darkchat::new(store, limits, seed))
    }));
    match opened {
        Ok(Ok(core)) => (Handle { core: RefCell::new(Some(core)), backups: Default::default() }, Value::Nil).into_lua_multi(lua),
        Ok(Err(e)) => (Value::Nil, e.to_string()).into_lua_multi(lua),
        Err(_) => (Value::Nil, "internal error while opening the database").into_lua_multi(lua),
    }
}

fn limits_from(options: &Table) -> Result<Limits> {
    let mut limits = Limits::default();
    let Ok(Value::Table(t)) = options.get::<Value>("limits") else { return Ok(limits) };
    let read = |key: &'static str, into: &mut u32| -> Result<()> {
        match t.get::<Value>(key).map_err(|_| Error::invalid(key))? {
            Value::Nil => Ok(()),
            Value::Integer(n) if (1..=1_000_000).contains(&n) => {
                *into = n as u32;
                Ok(())
            }
            _ => Err(Error::invalid(key)),
        }
    };
    let mut message_chars = limits.max_message_chars as u32;
    read("maxMembers", &mut limits.max_members)?;
    read("maxConversationsPerNumber", &mut limits.max_conversations_per_number)?;
    read("maxMessageLength", &mut message_chars)?;
    read("pageSize", &mut limits.page_size)?;
    read("maxPageSize", &mut limits.max_page_size)?;
    read("maxList", &mut limits.max_list)?;
    limits.max_message_chars = message_chars as usize;
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
            let mut slot = self.core.try_borrow_mut().map_err(|_| Error::Internal("re-entered".into()))?;
            let core = slot.as_mut().ok_or_else(|| Error::Unusable("the store is closed".into()))?;
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

type Args3 = (Value, Value, Value);
type Args4 = (Value, Value, Value, Value);

impl UserData for Handle {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("create", |lua, h, (number, name, code): Args3| {
            h.call(lua, |lua, core| {
                let number = phone_number(&number)?;
                let name = conversation_name(&name)?;
                let code = optional_join_code(&code)?;
                let conv = core.create_conversation(&number, &name, code.as_ref(), now())?;
                values(lua, (conversation_table(lua, &conv)?,))
            })
        });
        m.add_method("add", |lua, h, (number, id): (Value, Value)| {
            h.call(lua, |lua, core| {
                let (number, id) = (phone_number(&number)?, conversation_id(&id)?);
                let change = core.add_member(&number, id, now())?;
                values(lua, (change_table(lua, &change)?,))
            })
        });
        m.add_method("remove", |lua, h, (number, id, is_self): Args3| {
            h.call(lua, |lua, core| {
                let (number, id) = (phone_number(&number)?, conversation_id(&id)?);
                let is_self = flag(&is_self, "isSelf")?;
                let change = core.remove_member(&number, id, is_self, now())?;
                values(lua, (change_table(lua, &change)?,))
            })
        });
        m.add_method("join", |lua, h, (number, code): (Value, Value)| {
            h.call(lua, |lua, core| {
                let number = phone_number(&number)?;
                let code = join_code(&code)?;
                let (conv, change) = core.join_by_code(&number, &code, now())?;
                values(lua, (conversation_table(lua, &conv)?, change_table(lua, &change)?))
            })
        });
        m.add_method("send", |lua, h, (number, id, text): Args3| {
            h.call(lua, |lua, core| {
                let (number, id) = (phone_number(&number)?, conversation_id(&id)?);
                let text = message_text(&text)?;
                let (message, members) = core.send_message(&number, id, &text, now())?;
                values(lua, (message_table(lua, &message)?, lua.create_sequence_from(members)?))
            })
        });
        m.add_method("conversation", |lua, h, (number, id): (Value, Value)| {
            h.call(lua, |lua, core| {
                let id = conversation_id(&id)?;
                let conv = match number {
                    Value::Nil => core.conversation_for_admin(id)?,
                    number => core.conversation(&phone_number(&number)?, id)?,
                };
                values(lua, (conversation_table(lua, &conv)?,))
            })
        });
        m.add_method("list", |lua, h, number: Value| {
            h.call(lua, |lua, core| {
                let list = match number {
                    Value::Nil => core.all_conversations(core.limits().max_list)?,
                    number => core.conversations_of(&phone_number(&number)?)?,
                };
                let table = lua.create_table_with_capacity(list.len(), 0)?;
                for conv in &list {
                    table.raw_push(conversation_table(lua, conv)?)?;
                }
                values(lua, (table,))
            })
        });
        m.add_method("messages", |lua, h, (number, id, before, limit): Args4| {
            h.call(lua, |lua, core| {
                let (number, id) = (phone_number(&number)?, conversation_id(&id)?);
                let before = optional_id(&before, "before")?;
                let limit = match limit {
                    Value::Nil => core.limits().page_size,
                    other => u32::try_from(integer(&other, "limit")?)
                        .map_err(|_| Error::invalid("limit"))?,
                };
                if limit == 0 {
                    return Err(Error::invalid("limit"));
                }
                let messages = core.messages_before(&number, id, before, limit)?;
                values(lua, (messages_table(lua, &messages)?,))
            })
        });
        m.add_method("markRead", |lua, h, (number, id, up_to): Args3| {
            h.call(lua, |lua, core| {
                let (number, id) = (phone_number(&number)?, conversation_id(&id)?);
                core.mark_read(&number, id, optional_id(&up_to, "messageId")?)?;
                values(lua, ())
            })
        });
        m.add_method("rename", |lua, h, (actor, id, name): Args3| {
            h.call(lua, |lua, core| {
                let actor_number = optional_number(&actor)?;
                let id = conversation_id(&id)?;
                let name = conversation_name(&name)?;
                let (message, members) = core.rename(as_actor(&actor_number), id, &name, now())?;
                values(lua, (message_table(lua, &message)?, lua.create_sequence_from(members)?))
            })
        });
        m.add_method("regenerateCode", |lua, h, (actor, id): (Value, Value)| {
            h.call(lua, |lua, core| {
                let actor_number = optional_number(&actor)?;
                let code = core.regenerate_code(as_actor(&actor_number), conversation_id(&id)?)?;
                values(lua, (code,))
            })
        });
        m.add_method("delete", |lua, h, (actor, id): (Value, Value)| {
            h.call(lua, |lua, core| {
                let actor_number = optional_number(&actor)?;
                let members = core.delete(as_actor(&actor_number), conversation_id(&id)?)?;
                values(lua, (lua.create_sequence_from(members)?,))
            })
        });
        m.add_method("transfer", |lua, h, (actor, id, to): Args3| {
            h.call(lua, |lua, core| {
                let actor_number = optional_number(&actor)?;
                let id = conversation_id(&id)?;
                let to = phone_number(&to)?;
                let (message, members) =
                    core.transfer_ownership(as_actor(&actor_number), id, &to, now())?;
                values(lua, (message_table(lua, &message)?, lua.create_sequence_from(members)?))
            })
        });
        m.add_method("kick", |lua, h, (actor, id, number): Args3| {
            h.call(lua, |lua, core| {
                let actor_number = optional_number(&actor)?;
                let id = conversation_id(&id)?;
                let number = phone_number(&number)?;
                let change = core.kick(as_actor(&actor_number), id, &number, now())?;
                values(lua, (change_table(lua, &change)?,))
            })
        });
        m.add_method("standaloneNumber", |lua, h, license: Value| {
            h.call(lua, |lua, core| {
                let license = short_string(&license, "license")?;
                values(lua, (core.standalone_number(&license, now())?,))
            })
        });
        m.add_method("checkSource", |lua, h, src: Value| {
            h.call(lua, |lua, _| values(lua, (input::player_source(integer(&src, "src")?)?,)))
        });
        m.add_method("checkNumber", |lua, h, number: Value| {
            h.call(lua, |lua, _| values(lua, (phone_number(&number)?.as_str().to_owned(),)))
        });
        m.add_method("stats", |lua, h, ()| {
            h.call(lua, |lua, core| {
                let stats = core.stats()?;
                let store = core.store();
                let t = lua.create_table()?;
                t.set("conversations", stats.conversations)?;
                t.set("memberships", stats.memberships)?;
                t.set("messages", stats.messages)?;
                t.set("phones", stats.phones)?;
                t.set("sizeBytes", store.size_bytes()?)?;
                t.set("schemaVersion", store.schema_version()?)?;
                t.set("path", store.path().map(|p| p.display().to_string()))?;
                values(lua, (t,))
            })
        });
        m.add_method("startBackup", |lua, h, dest: Value| {
            h.call(lua, |lua, core| {
                let dest = short_string(&dest, "file")?;
                if dest.trim().is_empty() {
                    return Err(Error::invalid("file"));
                }
                let job = core.store().start_backup(&dest)?;
                let mut backups = h.backups.borrow_mut();
                backups.next_id += 1;
                let id = backups.next_id;
                backups.running.insert(id, job);
                values(lua, (id,))
            })
        });
        m.add_method("backupStatus", |lua, h, id: Value| {
            h.call(lua, |lua, _| {
                let id = integer(&id, "job")?;
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
        m.add_method("integrityCheck", |lua, h, ()| {
            h.call(lua, |lua, core| values(lua, (core.store().integrity_check()?,)))
        });
        m.add_method("close", |lua, h, ()| {
            let closed = h.core.try_borrow_mut().map(|mut slot| slot.take().is_some());
            (closed.unwrap_or(false),).into_lua_multi(lua)
        });
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn values(lua: &Lua, v: impl IntoLuaMulti) -> Result<MultiValue> {
    v.into_lua_multi(lua).map_err(lua_failure)
}

fn lua_failure(e: mlua::Error) -> Error {
    Error::Internal(format!("lua: {e}"))
}

impl From<mlua::Error> for Error {
    fn from(e: mlua::Error) -> Self {
        lua_failure(e)
    }
}

fn as_actor(number: &Option<PhoneNumber>) -> Actor<'_> {
    number.as_ref().map_or(Actor::Admin, Actor::Member)
}

// --- Lua values → inputs -------------------------------------------------------------------

/// A string argument as UTF-8, refusing oversize before looking at the bytes.
fn text(value: &Value, max_bytes: usize, what: &'static str) -> Result<String> {
    let Value::String(s) = value else { return Err(Error::invalid(what)) };
    let bytes = s.as_bytes();
    if bytes.len() > max_bytes {
        return Err(Error::invalid(what));
    }
    std::str::from_utf8(&bytes).map(str::to_owned).map_err(|_| Error::invalid(what))
}

fn short_string(value: &Value, what: &'static str) -> Result<String> {
    text(value, MAX_INPUT_BYTES, what)
}

fn integer(value: &Value, what: &'static str) -> Result<i64> {
    match *value {
        Value::Integer(n) => Ok(n),
        Value::Number(f) => input::integral(f, what),
        _ => Err(Error::invalid(what)),
    }
}

fn phone_number(value: &Value) -> Result<PhoneNumber> {
    match value {
        Value::String(_) => PhoneNumber::parse(&short_string(value, "number")?),
        other => PhoneNumber::from_integer(integer(other, "number")?),
    }
}

fn optional_number(value: &Value) -> Result<Option<PhoneNumber>> {
    match value {
        Value::Nil => Ok(None),
        other => phone_number(other).map(Some),
    }
}

fn conversation_name(value: &Value) -> Result<ConversationName> {
    ConversationName::parse(&short_string(value, "name")?)
}

fn join_code(value: &Value) -> Result<JoinCode> {
    JoinCode::parse(&short_string(value, "joinCode")?)
}

fn optional_join_code(value: &Value) -> Result<Option<JoinCode>> {
    match value {
        Value::Nil => Ok(None),
        other => join_code(other).map(Some),
    }
}

fn conversation_id(value: &Value) -> Result<i64> {
    input::conversation_id(integer(value, "conversationId")?)
}

fn optional_id(value: &Value, what: &'static str) -> Result<Option<i64>> {
    match value {
        Value::Nil => Ok(None),
        other => {
            let id = integer(other, what)?;
            if id <= 0 {
                return Err(Error::invalid(what));
            }
            Ok(Some(id))
        }
    }
}

fn flag(value: &Value, what: &'static str) -> Result<bool> {
    match *value {
        Value::Nil => Ok(false),
        Value::Boolean(b) => Ok(b),
        _ => Err(Error::invalid(what)),
    }
}

fn message_text(value: &Value) -> Result<String> {
    // Generous byte bound (4 bytes a character at the largest configurable length); the
    // character limit itself is the service's.
    text(value, 4 * 1_000_000, "message")
}

// --- results → Lua tables ------------------------------------------------------------------

fn conversation_table(lua: &Lua, c: &Conversation) -> Result<Table> {
    let t = lua.create_table_with_capacity(0, 13)?;
    t.raw_set("id", c.id)?;
    t.raw_set("name", c.name.as_str())?;
    t.raw_set("appName", c.app_name.as_str())?;
    t.raw_set("createdBy", c.created_by)?;
    t.raw_set("owner", c.owner.as_str())?;
    t.raw_set("joinCode", c.join_code.as_str())?;
    t.raw_set("createdAt", c.created_at)?;
    t.raw_set("updatedAt", c.updated_at)?;
    t.raw_set("recipients", lua.create_sequence_from(c.recipients.iter().map(String::as_str))?)?;
    t.raw_set("messages", messages_table(lua, &c.messages)?)?;
    t.raw_set("isItRead", c.is_it_read)?;
    t.raw_set("unreadCount", c.unread_count)?;
    Ok(t)
}

fn messages_table(lua: &Lua, messages: &[Message]) -> Result<Table> {
    let t = lua.create_table_with_capacity(messages.len(), 0)?;
    for m in messages {
        t.raw_push(message_table(lua, m)?)?;
    }
    Ok(t)
}

fn message_table(lua: &Lua, m: &Message) -> Result<Table> {
    let t = lua.create_table_with_capacity(0, 6)?;
    t.raw_set("id", m.id)?;
    t.raw_set("sender", m.sender.as_deref())?;
    t.raw_set("content", m.content.as_str())?;
    t.raw_set("type", m.kind.as_str())?;
    t.raw_set("event", m.event.map(|e| e.as_str()))?;
    t.raw_set("createdAt", m.created_at)?;
    Ok(t)
}

fn change_table(lua: &Lua, c: &MembershipChange) -> Result<Table> {
    let t = lua.create_table_with_capacity(0, 6)?;
    t.raw_set("conversationId", c.conversation_id)?;
    t.raw_set("number", c.number.as_str())?;
    t.raw_set("recipients", lua.create_sequence_from(c.recipients.iter().map(String::as_str))?)?;
    t.raw_set("newOwner", c.new_owner.as_deref())?;
    t.raw_set("deleted", c.deleted)?;
    t.raw_set(
        "message",
        match &c.message {
            Some(m) => message_table(lua, m)?.into_lua(lua)?,
            None => Value::Nil,
        },
    )?;
    Ok(t)
}

// --- fault injection (feature `fault-injection`, tests only) --------------------------------

/// `darkchat.injectPanic()` makes the next handle call panic inside its `catch_unwind`, so a
/// test can show the panic comes back as `storage_error` and the handle keeps working.
#[cfg(feature = "fault-injection")]
mod fault {
    use std::cell::Cell;

    thread_local!(static ARMED: Cell<bool> = const { Cell::new(false) });

    /// `darkchat.injectPanic()`: arms the fault for the next handle call on this thread.
    pub(super) fn inject_panic(_: &mlua::Lua, _: ()) -> mlua::Result<()> {
        ARMED.with(|armed| armed.set(true));
        Ok(())
    }

    pub(super) fn fire() {
        if ARMED.with(|armed| armed.replace(false)) {
            panic!("injected fault");
        }
    }
}
