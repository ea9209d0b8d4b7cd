//! The JSON wire between lua/wire.lua (which writes it for lua/core.lua), js/host.js and the
//! wasm module (and the shared test cases): arguments in, outcomes out.

use super::args::Arg;
use super::reply::Reply;
use crate::error::Result;

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
        // (its size is checked by the rule of the argument it is, against the limits)
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
            Reply::Float(f) => s.serialize_f64(*f),
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

impl WireOutcome<'_> {
    /// Its fields, into a map being written (a MySQL step adds its own after them).
    pub fn entries<M: serde::ser::SerializeMap>(
        &self,
        map: &mut M,
    ) -> std::result::Result<(), M::Error> {
        match self.0 {
            Ok(values) => {
                map.serialize_entry("ok", &true)?;
                map.serialize_entry("v", values)
            }
            Err(e) => {
                map.serialize_entry("ok", &false)?;
                map.serialize_entry("code", e.code())?;
                map.serialize_entry("message", &e.to_string())
            }
        }
    }
}

impl serde::Serialize for WireOutcome<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        self.entries(&mut map)?;
        map.end()
    }
}

/// [`WireOutcome`] as a JSON value (tests compare these).
pub fn outcome_to_json(outcome: &Result<Vec<Reply>>) -> serde_json::Value {
    serde_json::to_value(WireOutcome(outcome)).unwrap_or(serde_json::Value::Null)
}

/// The limits of the open options' JSON form (`"limits": {...}`, `null` or absent: the
/// defaults), the word filter included (`"filter": {"words": [...], "mode": ...}`): what the
/// wasm module opens with, and the shared test cases.
pub fn limits_from_json(limits: Option<&serde_json::Value>) -> Result<crate::service::Limits> {
    use serde_json::Value;
    let mut parsed = super::limits(|key| match limits {
        None | Some(Value::Null) => Arg::Nil,
        Some(Value::Object(map)) => map.get(key).map_or(Arg::Nil, arg_from_json),
        Some(_) => Arg::Other,
    })?;
    if let Some(filter) = limits.and_then(|l| l.get("filter")) {
        let words = match filter.get("words") {
            None | Some(Value::Null) => None,
            Some(Value::Array(list)) => Some(list.iter().map(arg_from_json).collect()),
            Some(_) => return Err(crate::Error::invalid("filter words")),
        };
        let mode = filter.get("mode").map_or(Arg::Nil, arg_from_json);
        parsed.filter = std::sync::Arc::new(super::filter(words, &mode)?);
    }
    Ok(parsed)
}
