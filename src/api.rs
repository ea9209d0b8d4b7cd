//! The one dispatch of the core's methods, shared by every host (the Lua module, the wasm
//! module): argument values as a host sees them ([`Arg`]) → validated inputs → a service call →
//! a reply tree ([`Reply`]) that each host turns into its own values (Lua tables, JSON).
//!
//! Why here and not in each binding: the rules of which argument is what, in which order they
//! are checked and what each method returns must be spelled once, so that both hosts give the
//! same answer to the same call, error codes included. A binding only converts values.
//!
//! Never reads the clock or the OS: `now` comes from the host with every call.

use std::borrow::Cow;
use std::ffi::CStr;

use crate::error::{Error, Result};
use crate::input::{self, ConversationName, JoinCode, PhoneNumber, MAX_INPUT_BYTES};
use crate::model::{Conversation, MembershipChange, Message, SystemEvent};
use crate::service::{Actor, Darkchat, Limits};

/// The largest string any argument may be under `limits`: a message at the configured length,
/// 4 bytes a character (never under [`MAX_INPUT_BYTES`], every other string's bound). A host
/// may hand over longer strings as [`Arg::Unreadable`] without copying or scanning them: no
/// argument accepts them.
pub fn max_arg_bytes(limits: &Limits) -> usize {
    limits.max_message_chars.saturating_mul(4).max(MAX_INPUT_BYTES)
}

/// One argument as the host's value model has it.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A string that is not UTF-8, or longer than [`max_arg_bytes`]: a string no rule accepts.
    Unreadable,
    /// A table, function, userdata or anything else that is not a scalar.
    Other,
}

/// A reply value. `Null` fields of an object are left out by every host (Lua: absent key).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Null,
    Bool(bool),
    Int(i64),
    /// Borrowed when the text is fixed (a message's type, its event): no copy per message.
    Str(Cow<'static, str>),
    Array(Vec<Reply>),
    /// Keys are C strings so that a Lua host can hand them to `lua_setfield` as they are
    /// (Lua then finds the key by its address instead of hashing it per field).
    Object(Vec<(&'static CStr, Reply)>),
}

/// Every method [`call`] knows, as hosts name them.
pub const METHODS: &[&str] = &[
    "create",
    "add",
    "remove",
    "join",
    "send",
    "conversation",
    "list",
    "messages",
    "markRead",
    "rename",
    "regenerateCode",
    "delete",
    "transfer",
    "kick",
    "standaloneNumber",
    "checkSource",
    "checkNumber",
    "stats",
    "integrityCheck",
    "rehearse",
];

/// Runs `method` on the core with `args` (missing ones are `Nil`, extra ones ignored) at time
/// `now` (unix seconds). Returns the method's values, or the failure.
pub fn call(core: &mut Darkchat, method: &str, args: &[Arg], now: i64) -> Result<Vec<Reply>> {
    let arg = |i: usize| args.get(i).unwrap_or(&Arg::Nil);
    match method {
        "create" => {
            let number = phone_number(arg(0))?;
            let name = conversation_name(arg(1))?;
            let code = optional_join_code(arg(2))?;
            let conv = core.create_conversation(&number, &name, code.as_ref(), now)?;
            Ok(vec![conversation(conv)])
        }
        "add" => {
            let (number, id) = (phone_number(arg(0))?, conversation_id(arg(1))?);
            Ok(vec![change(core.add_member(&number, id, now)?)])
        }
        "remove" => {
            let (number, id) = (phone_number(arg(0))?, conversation_id(arg(1))?);
            let is_self = flag(arg(2), "isSelf")?;
            Ok(vec![change(core.remove_member(&number, id, is_self, now)?)])
        }
        "join" => {
            let number = phone_number(arg(0))?;
            let code = join_code(arg(1))?;
            let (conv, joined) = core.join_by_code(&number, &code, now)?;
            Ok(vec![conversation(conv), change(joined)])
        }
        "send" => {
            let (number, id) = (phone_number(arg(0))?, conversation_id(arg(1))?);
            let text = message_text(arg(2), core.limits())?;
            let (sent, members) = core.send_message(&number, id, text, now)?;
            Ok(vec![message(sent), strings(members)])
        }
        "conversation" => {
            let id = conversation_id(arg(1))?;
            let conv = match arg(0) {
                Arg::Nil => core.conversation_for_admin(id)?,
                number => core.conversation(&phone_number(number)?, id)?,
            };
            Ok(vec![conversation(conv)])
        }
        "list" => {
            let list = match arg(0) {
                Arg::Nil => core.all_conversations(core.limits().max_list)?,
                number => core.conversations_of(&phone_number(number)?)?,
            };
            Ok(vec![Reply::Array(list.into_iter().map(conversation).collect())])
        }
        "messages" => {
            let (number, id) = (phone_number(arg(0))?, conversation_id(arg(1))?);
            let before = optional_id(arg(2), "before")?;
            let limit = match arg(3) {
                Arg::Nil => core.limits().page_size,
                other => {
                    u32::try_from(integer(other, "limit")?).map_err(|_| Error::invalid("limit"))?
                }
            };
            if limit == 0 {
                return Err(Error::invalid("limit"));
            }
            Ok(vec![messages(core.messages_before(&number, id, before, limit)?)])
        }
        "markRead" => {
            let (number, id) = (phone_number(arg(0))?, conversation_id(arg(1))?);
            core.mark_read(&number, id, optional_id(arg(2), "messageId")?)?;
            Ok(vec![])
        }
        "rename" => {
            let actor = optional_number(arg(0))?;
            let id = conversation_id(arg(1))?;
            let name = conversation_name(arg(2))?;
            let (note, members) = core.rename(as_actor(&actor), id, &name, now)?;
            Ok(vec![message(note), strings(members)])
        }
        "regenerateCode" => {
            let actor = optional_number(arg(0))?;
            let code = core.regenerate_code(as_actor(&actor), conversation_id(arg(1))?)?;
            Ok(vec![Reply::Str(code.into())])
        }
        "delete" => {
            let actor = optional_number(arg(0))?;
            let members = core.delete(as_actor(&actor), conversation_id(arg(1))?)?;
            Ok(vec![strings(members)])
        }
        "transfer" => {
            let actor = optional_number(arg(0))?;
            let id = conversation_id(arg(1))?;
            let to = phone_number(arg(2))?;
            let (note, members) = core.transfer_ownership(as_actor(&actor), id, &to, now)?;
            Ok(vec![message(note), strings(members)])
        }
        "kick" => {
            let actor = optional_number(arg(0))?;
            let id = conversation_id(arg(1))?;
            let number = phone_number(arg(2))?;
            Ok(vec![change(core.kick(as_actor(&actor), id, &number, now)?)])
        }
        "standaloneNumber" => {
            let license = short_string(arg(0), "license")?;
            Ok(vec![Reply::Str(core.standalone_number(license, now)?.into())])
        }
        "checkSource" => Ok(vec![Reply::Int(input::player_source(integer(arg(0), "src")?)?)]),
        "checkNumber" => Ok(vec![Reply::Str(phone_number(arg(0))?.as_str().to_owned().into())]),
        "stats" => {
            let stats = core.stats()?;
            let store = core.store();
            Ok(vec![Reply::Object(vec![
                (c"conversations", Reply::Int(stats.conversations)),
                (c"memberships", Reply::Int(stats.memberships)),
                (c"messages", Reply::Int(stats.messages)),
                (c"phones", Reply::Int(stats.phones)),
                (c"sizeBytes", Reply::Int(store.size_bytes()?)),
                (c"schemaVersion", Reply::Int(store.schema_version()?)),
                (c"path", optional_str(store.path().map(|p| p.display().to_string()))),
            ])])
        }
        "integrityCheck" => Ok(vec![Reply::Str(core.store().integrity_check()?.into())]),
        // `create`, `join` or `send` (its arguments follow) run in full and rolled back: the
        // same answer as the real call, nothing stored. Veto hooks see only what passes.
        "rehearse" => {
            let action = short_string(arg(0), "action")?;
            if !matches!(action, "create" | "join" | "send") {
                return Err(Error::invalid("action"));
            }
            core.store().set_rehearsing(true);
            let rest = args.get(1..).unwrap_or_default();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                call(core, action, rest, now)
            }));
            core.store().set_rehearsing(false);
            outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }
        _ => Err(Error::invalid("method")),
    }
}

/// Limits from the host's open options: `get(key)` gives each key's value (`Nil` = default).
pub fn limits(get: impl Fn(&'static str) -> Arg) -> Result<Limits> {
    let mut limits = Limits::default();
    let read = |key: &'static str, into: &mut u32| -> Result<()> {
        match get(key) {
            Arg::Nil => Ok(()),
            Arg::Int(n) if (1..=1_000_000).contains(&n) => {
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

fn as_actor(number: &Option<PhoneNumber>) -> Actor<'_> {
    number.as_ref().map_or(Actor::Admin, Actor::Member)
}

// --- arguments → inputs ----------------------------------------------------------------------

/// A string argument as UTF-8, refusing oversize before anything else.
pub fn text<'a>(value: &'a Arg, max_bytes: usize, what: &'static str) -> Result<&'a str> {
    match value {
        Arg::Str(s) if s.len() <= max_bytes => Ok(s),
        _ => Err(Error::invalid(what)),
    }
}

pub fn short_string<'a>(value: &'a Arg, what: &'static str) -> Result<&'a str> {
    text(value, MAX_INPUT_BYTES, what)
}

pub fn integer(value: &Arg, what: &'static str) -> Result<i64> {
    match *value {
        Arg::Int(n) => Ok(n),
        Arg::Float(f) => input::integral(f, what),
        _ => Err(Error::invalid(what)),
    }
}

fn phone_number(value: &Arg) -> Result<PhoneNumber> {
    match value {
        Arg::Str(_) | Arg::Unreadable => PhoneNumber::parse(short_string(value, "number")?),
        other => PhoneNumber::from_integer(integer(other, "number")?),
    }
}

fn optional_number(value: &Arg) -> Result<Option<PhoneNumber>> {
    match value {
        Arg::Nil => Ok(None),
        other => phone_number(other).map(Some),
    }
}

fn conversation_name(value: &Arg) -> Result<ConversationName> {
    ConversationName::parse(short_string(value, "name")?)
}

fn join_code(value: &Arg) -> Result<JoinCode> {
    JoinCode::parse(short_string(value, "joinCode")?)
}

fn optional_join_code(value: &Arg) -> Result<Option<JoinCode>> {
    match value {
        Arg::Nil => Ok(None),
        other => join_code(other).map(Some),
    }
}

fn conversation_id(value: &Arg) -> Result<i64> {
    input::conversation_id(integer(value, "conversationId")?)
}

fn optional_id(value: &Arg, what: &'static str) -> Result<Option<i64>> {
    match value {
        Arg::Nil => Ok(None),
        other => {
            let id = integer(other, what)?;
            if id <= 0 {
                return Err(Error::invalid(what));
            }
            Ok(Some(id))
        }
    }
}

fn flag(value: &Arg, what: &'static str) -> Result<bool> {
    match *value {
        Arg::Nil => Ok(false),
        Arg::Bool(b) => Ok(b),
        _ => Err(Error::invalid(what)),
    }
}

fn message_text<'a>(value: &'a Arg, limits: &Limits) -> Result<&'a str> {
    // Generous byte bound; the character limit itself is the service's.
    text(value, max_arg_bytes(limits), "message")
}

// --- results → reply trees -------------------------------------------------------------------

fn str(value: impl Into<Cow<'static, str>>) -> Reply {
    Reply::Str(value.into())
}

fn optional_str(value: Option<impl Into<Cow<'static, str>>>) -> Reply {
    value.map_or(Reply::Null, str)
}

fn strings(list: Vec<String>) -> Reply {
    Reply::Array(list.into_iter().map(str).collect())
}

/// Reply builders take the results by value: their strings move into the reply, uncopied.
fn conversation(c: Conversation) -> Reply {
    Reply::Object(vec![
        (c"id", Reply::Int(c.id)),
        (c"name", str(c.name)),
        (c"appName", str(c.app_name)),
        (c"createdBy", Reply::Int(c.created_by)),
        (c"owner", str(c.owner)),
        (c"joinCode", str(c.join_code)),
        (c"createdAt", Reply::Int(c.created_at)),
        (c"updatedAt", Reply::Int(c.updated_at)),
        (c"recipients", strings(c.recipients)),
        (c"messages", messages(c.messages)),
        (c"isItRead", Reply::Bool(c.is_it_read)),
        (c"unreadCount", Reply::Int(c.unread_count)),
    ])
}

fn messages(list: Vec<Message>) -> Reply {
    Reply::Array(list.into_iter().map(message).collect())
}

fn message(m: Message) -> Reply {
    Reply::Object(vec![
        (c"id", Reply::Int(m.id)),
        (c"sender", optional_str(m.sender)),
        (c"content", str(m.content)),
        (c"type", str(m.kind.as_str())),
        (c"event", optional_str(m.event.map(SystemEvent::as_str))),
        (c"createdAt", Reply::Int(m.created_at)),
    ])
}

fn change(c: MembershipChange) -> Reply {
    Reply::Object(vec![
        (c"conversationId", Reply::Int(c.conversation_id)),
        (c"number", str(c.number)),
        (c"recipients", strings(c.recipients)),
        (c"newOwner", optional_str(c.new_owner)),
        (c"deleted", Reply::Bool(c.deleted)),
        (c"message", c.message.map_or(Reply::Null, message)),
    ])
}

// --- the JSON wire (wasm host, shared test cases) ----------------------------------------------

/// Decodes one argument of the JSON wire: `null`, booleans, integers and strings as they are;
/// `{"f": "<number>" | "nan" | "inf" | "-inf"}` a float (a JSON number with a fraction or an
/// exponent is a float too); `{"b": <length>}` an unreadable string; `{"o": "<type>"}` or any
/// other value a table, function or the like. Lua writes this form so that integers vs floats,
/// NaN and invalid UTF-8 survive the hops through MessagePack and JavaScript.
pub fn arg_from_json(value: &serde_json::Value) -> Arg {
    use serde_json::Value;
    match value {
        Value::Null => Arg::Nil,
        Value::Bool(b) => Arg::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Arg::Int(i),
            None => Arg::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Arg::Str(s.clone()),
        Value::Object(map) => {
            if let Some(Value::String(f)) = map.get("f") {
                return Arg::Float(match f.as_str() {
                    "nan" => f64::NAN,
                    "inf" => f64::INFINITY,
                    "-inf" => f64::NEG_INFINITY,
                    other => other.parse().unwrap_or(f64::NAN),
                });
            }
            if map.contains_key("b") {
                return Arg::Unreadable;
            }
            Arg::Other
        }
        Value::Array(_) => Arg::Other,
    }
}

/// A reply as JSON, written straight from the tree (no intermediate JSON value): `Null` object
/// fields are left out, as Lua leaves them out.
impl serde::Serialize for Reply {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Reply::Null => s.serialize_unit(),
            Reply::Bool(b) => s.serialize_bool(*b),
            Reply::Int(n) => s.serialize_i64(*n),
            Reply::Str(text) => s.serialize_str(text),
            Reply::Array(items) => s.collect_seq(items),
            Reply::Object(fields) => {
                let present = fields.iter().filter(|(_, v)| !matches!(v, Reply::Null));
                s.collect_map(present.map(|(k, v)| (k.to_str().unwrap_or_default(), v)))
            }
        }
    }
}

/// The outcome of a call as the JSON wire carries it:
/// `{"ok": true, "v": [values...]}` or `{"ok": false, "code": "<code>", "message": "..."}`.
pub struct WireOutcome<'a>(pub &'a Result<Vec<Reply>>);

impl serde::Serialize for WireOutcome<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        match self.0 {
            Ok(values) => {
                map.serialize_entry("ok", &true)?;
                map.serialize_entry("v", values)?;
            }
            Err(e) => {
                map.serialize_entry("ok", &false)?;
                map.serialize_entry("code", e.code())?;
                map.serialize_entry("message", &e.to_string())?;
            }
        }
        map.end()
    }
}

/// [`WireOutcome`] as a JSON value (tests compare these).
pub fn outcome_to_json(outcome: &Result<Vec<Reply>>) -> serde_json::Value {
    serde_json::to_value(WireOutcome(outcome)).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn core() -> Darkchat {
        Darkchat::new(Store::open_in_memory().unwrap(), Limits::default(), [1; 32])
    }

    #[test]
    fn wire_arguments_keep_their_types() {
        let arg = |s: &str| arg_from_json(&serde_json::from_str(s).unwrap());
        assert_eq!(arg("3"), Arg::Int(3));
        assert_eq!(arg("3.0"), Arg::Float(3.0));
        assert_eq!(arg(r#"{"f":"3"}"#), Arg::Float(3.0));
        assert!(matches!(arg(r#"{"f":"nan"}"#), Arg::Float(f) if f.is_nan()));
        assert_eq!(arg(r#"{"f":"-inf"}"#), Arg::Float(f64::NEG_INFINITY));
        assert_eq!(arg(r#"{"b":7}"#), Arg::Unreadable);
        assert_eq!(arg(r#"{"o":"table"}"#), Arg::Other);
        assert_eq!(arg("null"), Arg::Nil);
        assert_eq!(arg(r#""x""#), Arg::Str("x".into()));
    }

    #[test]
    fn unreadable_strings_are_invalid_wherever_a_string_goes() {
        let mut dc = core();
        let err = call(&mut dc, "create", &[Arg::Unreadable, Arg::Str("x".into())], 1).unwrap_err();
        assert_eq!(
            (err.code(), err.to_string().as_str()),
            ("invalid_argument", "invalid argument: number")
        );
        let err = call(&mut dc, "create", &[Arg::Int(5), Arg::Unreadable], 1).unwrap_err();
        assert_eq!(err.to_string(), "invalid argument: name");
        assert!(call(&mut dc, "nope", &[], 1).is_err());
    }

    #[test]
    fn a_rehearsal_answers_as_the_call_would_and_stores_nothing() {
        let mut dc = core();
        let s = |text: &str| Arg::Str(text.into());
        let count = |dc: &Darkchat| dc.stats().unwrap().messages;
        let created = call(&mut dc, "create", &[s("5550101"), s("Crew")], 1).unwrap();
        let Reply::Object(fields) = &created[0] else { panic!("a conversation") };
        let id = match fields.iter().find(|(key, _)| *key == c"id") {
            Some((_, Reply::Int(id))) => *id,
            _ => panic!("an id"),
        };
        let send = [s("send"), s("5550101"), Arg::Float(id as f64), s("  hi  ")];
        let rehearsed = call(&mut dc, "rehearse", &send, 2).unwrap();
        let Reply::Object(message) = &rehearsed[0] else { panic!("a message") };
        assert!(message.contains(&(c"content", Reply::Str("hi".into()))));
        assert_eq!(count(&dc), 0, "nothing stored");
        let outsider = [s("send"), s("5550102"), Arg::Int(id), s("hi")];
        assert_eq!(call(&mut dc, "rehearse", &outsider, 2).unwrap_err().code(), "not_member");
        let other = [s("delete"), Arg::Nil, Arg::Int(id)];
        assert_eq!(
            call(&mut dc, "rehearse", &other, 2).unwrap_err().to_string(),
            "invalid argument: action"
        );
        call(&mut dc, "send", &send[1..], 3).unwrap();
        assert_eq!(count(&dc), 1, "writes after a rehearsal are kept");
    }

    #[test]
    fn every_method_is_dispatched() {
        let mut dc = core();
        for method in METHODS {
            let err = call(&mut dc, method, &[Arg::Other, Arg::Other, Arg::Other], 1).err();
            assert!(err.map_or(true, |e| e.to_string() != "invalid argument: method"), "{method}");
        }
    }
}
