//! Arguments as a host hands them over ([`Arg`]), and their decoding into the validated inputs
//! of [`crate::input`]: which argument is what type, and the error each wrong one gives.

use crate::error::{Error, Result};
use crate::ids::{ConversationId, MessageId};
use crate::input::{self, Alias, ConversationName, JoinCode, PhoneNumber, MAX_INPUT_BYTES};
use crate::service::Limits;

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

pub(super) fn phone_number(value: &Arg) -> Result<PhoneNumber> {
    match value {
        Arg::Str(_) | Arg::Unreadable => PhoneNumber::parse(short_string(value, "number")?),
        other => PhoneNumber::from_integer(integer(other, "number")?),
    }
}

/// A number, or `None` (a server admin) for nil.
pub(super) fn optional_number(value: &Arg) -> Result<Option<PhoneNumber>> {
    match value {
        Arg::Nil => Ok(None),
        other => phone_number(other).map(Some),
    }
}

pub(super) fn conversation_name(value: &Arg) -> Result<ConversationName> {
    ConversationName::parse(short_string(value, "name")?)
}

pub(super) fn join_code(value: &Arg) -> Result<JoinCode> {
    JoinCode::parse(short_string(value, "joinCode")?)
}

pub(super) fn optional_join_code(value: &Arg) -> Result<Option<JoinCode>> {
    match value {
        Arg::Nil => Ok(None),
        other => join_code(other).map(Some),
    }
}

pub(super) fn conversation_id(value: &Arg) -> Result<ConversationId> {
    input::conversation_id(integer(value, "conversationId")?)
}

pub(super) fn optional_message_id(value: &Arg, what: &'static str) -> Result<Option<MessageId>> {
    match value {
        Arg::Nil => Ok(None),
        other => {
            let id = integer(other, what)?;
            if id <= 0 {
                return Err(Error::invalid(what));
            }
            Ok(Some(MessageId(id)))
        }
    }
}

/// A message id: a positive integer.
pub(super) fn message_id(value: &Arg, what: &'static str) -> Result<MessageId> {
    match value {
        Arg::Nil => Err(Error::invalid(what)),
        other => Ok(optional_message_id(other, what)?.ok_or(Error::invalid(what))?),
    }
}

/// A number that may have a fraction (a coordinate): an integer or a float, NaN and the
/// infinities included (the rule that reads it refuses those).
pub(super) fn real(value: &Arg, what: &'static str) -> Result<f64> {
    match *value {
        Arg::Int(n) => Ok(n as f64),
        Arg::Float(f) => Ok(f),
        _ => Err(Error::invalid(what)),
    }
}

pub(super) fn flag(value: &Arg, what: &'static str) -> Result<bool> {
    flag_or(value, what, false)
}

/// A boolean that means `default` when absent.
pub(super) fn flag_or(value: &Arg, what: &'static str, default: bool) -> Result<bool> {
    match *value {
        Arg::Nil => Ok(default),
        Arg::Bool(b) => Ok(b),
        _ => Err(Error::invalid(what)),
    }
}

pub(super) fn alias(value: &Arg) -> Result<Alias> {
    Alias::parse(short_string(value, "alias")?)
}

pub(super) fn optional_alias(value: &Arg) -> Result<Option<Alias>> {
    match value {
        Arg::Nil => Ok(None),
        other => alias(other).map(Some),
    }
}

/// A message's text: a generous byte bound here; the character limit itself is the rules'.
pub(super) fn message_text<'a>(value: &'a Arg, limits: &Limits) -> Result<&'a str> {
    text(value, max_arg_bytes(limits), "message")
}
