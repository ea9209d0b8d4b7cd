//! A reply as MessagePack bytes, for the wasm host's own Lua: FXServer hands a JS export's
//! return value to Lua through MessagePack anyway, and a reply the core packs itself crosses that
//! hop as one byte string (Lua unpacks it with FXServer's C `msgpack.unpack`), where a reply
//! object would cost JS a `JSON.parse` and a MessagePack packing of every field (measured on a
//! 10 KB listing: 160 µs of the JS thread against 5 µs for the bytes).
//!
//! The forms are the smallest that fit, as any MessagePack writer's: integers stay integers
//! (signed forms for negatives, unsigned otherwise), other numbers are float 64, strings are
//! UTF-8 `str`, arrays and maps keep their order.

#[cfg(test)]
use serde_json::Value;

use super::reply::Reply;
use crate::error::Result;

/// Appends a call's outcome as [`super::WireOutcome`] writes it in JSON (`{ok, v}` or `{ok,
/// code, message}`), packed straight from the reply tree: the same bytes as packing its JSON
/// value (map keys in that value's order, sorted; `Null` fields left out), without
/// building that value (a map and a copy of every string per object).
pub fn pack_outcome(outcome: &Result<Vec<Reply>>, out: &mut Vec<u8>) {
    match outcome {
        Ok(values) => {
            out.push(0x82);
            text("ok", out);
            out.push(0xc3);
            text("v", out);
            head(values.len(), 0x90, 15, [0, 0xdc, 0xdd], out);
            values.iter().for_each(|value| pack_reply(value, out));
        }
        Err(e) => {
            out.push(0x83);
            text("code", out);
            text(e.code(), out);
            text("message", out);
            text(&e.to_string(), out);
            text("ok", out);
            out.push(0xc2);
        }
    }
}

fn pack_reply(reply: &Reply, out: &mut Vec<u8>) {
    match reply {
        Reply::Null => out.push(0xc0),
        Reply::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Reply::Int(n) if *n >= 0 => unsigned(*n as u64, out),
        Reply::Int(n) => signed(*n, out),
        // As serde_json holds it: a float that is not finite is JSON's null.
        Reply::Float(f) if !f.is_finite() => out.push(0xc0),
        Reply::Float(f) => {
            out.push(0xcb);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Reply::Str(s) => text(s, out),
        Reply::Array(items) => {
            head(items.len(), 0x90, 15, [0, 0xdc, 0xdd], out);
            items.iter().for_each(|item| pack_reply(item, out));
        }
        Reply::Object(fields) => {
            let mut present: Vec<_> =
                fields.iter().filter(|(_, v)| !matches!(v, Reply::Null)).collect();
            present.sort_by_key(|(key, _)| key.to_bytes());
            head(present.len(), 0x80, 15, [0, 0xde, 0xdf], out);
            for (key, value) in present {
                text(key.to_str().unwrap_or_default(), out);
                pack_reply(value, out);
            }
        }
    }
}

fn text(s: &str, out: &mut Vec<u8>) {
    head(s.len(), 0xa0, 31, [0xd9, 0xda, 0xdb], out);
    out.extend_from_slice(s.as_bytes());
}

/// Appends `value` to `out`: a JSON value packed field by field, the tests' reference for
/// [`pack_outcome`] (the replies themselves are packed from their tree).
#[cfg(test)]
fn pack(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => unsigned(u, out),
            (None, Some(i)) => signed(i, out),
            _ => {
                out.push(0xcb);
                out.extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_be_bytes());
            }
        },
        Value::String(s) => {
            head(s.len(), 0xa0, 31, [0xd9, 0xda, 0xdb], out);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => {
            head(items.len(), 0x90, 15, [0, 0xdc, 0xdd], out);
            items.iter().for_each(|item| pack(item, out));
        }
        Value::Object(entries) => {
            head(entries.len(), 0x80, 15, [0, 0xde, 0xdf], out);
            for (key, item) in entries {
                pack(&Value::String(key.clone()), out);
                pack(item, out);
            }
        }
    }
}

fn unsigned(u: u64, out: &mut Vec<u8>) {
    match u {
        0..=0x7f => out.push(u as u8),
        0x80..=0xff => out.extend_from_slice(&[0xcc, u as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        }
        _ => {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    }
}

/// A negative integer (non-negative ones are [`unsigned`]).
fn signed(i: i64, out: &mut Vec<u8>) {
    match i {
        -32..=-1 => out.push(i as u8),
        -0x80..=-33 => out.extend_from_slice(&[0xd0, i as u8]),
        -0x8000..=-0x81 => {
            out.push(0xd1);
            out.extend_from_slice(&(i as i16).to_be_bytes());
        }
        -0x8000_0000..=-0x8001 => {
            out.push(0xd2);
            out.extend_from_slice(&(i as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&i.to_be_bytes());
        }
    }
}

/// A length-prefixed form's head: the fix form up to `fix_max`, else the 8-bit (strings
/// only: `wide[0]`), 16-bit or 32-bit one.
fn head(len: usize, fix: u8, fix_max: usize, wide: [u8; 3], out: &mut Vec<u8>) {
    if len <= fix_max {
        out.push(fix | len as u8);
    } else if len <= 0xff && wide[0] != 0 {
        out.extend_from_slice(&[wide[0], len as u8]);
    } else if len <= 0xffff {
        out.push(wide[1]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(wide[2]);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn packed(value: Value) -> Vec<u8> {
        let mut out = Vec::new();
        pack(&value, &mut out);
        out
    }

    #[test]
    fn integers_take_the_smallest_form_at_every_boundary() {
        let cases: [(i64, &[u8]); 14] = [
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0xcc, 0x80]),
            (255, &[0xcc, 0xff]),
            (256, &[0xcd, 0x01, 0x00]),
            (65_536, &[0xce, 0x00, 0x01, 0x00, 0x00]),
            (1 << 32, &[0xcf, 0, 0, 0, 1, 0, 0, 0, 0]),
            (-1, &[0xff]),
            (-32, &[0xe0]),
            (-33, &[0xd0, 0xdf]),
            (-128, &[0xd0, 0x80]),
            (-129, &[0xd1, 0xff, 0x7f]),
            (-32_769, &[0xd2, 0xff, 0xff, 0x7f, 0xff]),
            (i64::MIN, &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ];
        for (n, bytes) in cases {
            assert_eq!(packed(json!(n)), bytes, "{n}");
        }
        assert_eq!(packed(json!(1.5)), [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn an_outcome_packs_straight_from_its_reply_as_its_json_value_packs() {
        use crate::api::reply::Reply;
        use crate::error::Error;
        use std::borrow::Cow;
        let long = Reply::Str(Cow::Owned("y".repeat(300)));
        let many = Reply::Array((0..20).map(Reply::Int).collect());
        // Keys as a reply's are: distinct static C strings.
        let key = |i: usize| -> &'static std::ffi::CStr {
            Box::leak(std::ffi::CString::new(format!("k{i:02}")).unwrap().into_boxed_c_str())
        };
        let object = Reply::Object(vec![
            (c"zeta", Reply::Int(-40_000)),
            (c"alpha", Reply::Null),
            (c"id", Reply::Int(1 << 40)),
            (c"x", Reply::Float(-2.25)),
            (c"nan", Reply::Float(f64::NAN)),
            (c"ok", Reply::Bool(false)),
            (c"items", Reply::Array(vec![long, many, Reply::Null])),
            (c"nested", Reply::Object((0..17).map(|i| (key(i), Reply::Int(i as i64))).collect())),
        ]);
        let wide = Reply::Object((0..16).map(|i| (key(i), Reply::Null)).collect());
        for outcome in [
            Ok(vec![object, wide, Reply::Int(-1), Reply::Str(Cow::Borrowed("text"))]),
            Ok(Vec::new()),
            Err(Error::NotMember { number: "5550101".into(), id: crate::ids::ConversationId(7) }),
        ] {
            let mut direct = Vec::new();
            pack_outcome(&outcome, &mut direct);
            assert_eq!(direct, packed(crate::api::outcome_to_json(&outcome)), "{outcome:?}");
        }
    }

    #[test]
    fn strings_arrays_and_maps_carry_their_lengths() {
        assert_eq!(packed(json!("ab")), [0xa2, b'a', b'b']);
        let s32 = "x".repeat(32);
        assert_eq!(packed(json!(s32))[..2], [0xd9, 32]);
        let s256 = "x".repeat(256);
        assert_eq!(packed(json!(s256))[..3], [0xda, 0x01, 0x00]);
        let s65536 = "x".repeat(65_536);
        assert_eq!(packed(json!(s65536))[..5], [0xdb, 0, 1, 0, 0]);
        assert_eq!(packed(json!([null, true, false])), [0x93, 0xc0, 0xc3, 0xc2]);
        let a16: Vec<u8> = packed(json!(vec![1; 16]));
        assert_eq!(a16[..3], [0xdc, 0, 16]);
        assert_eq!(packed(json!({"ok": true})), [0x81, 0xa2, b'o', b'k', 0xc3]);
        let m16: serde_json::Map<String, Value> =
            (0..16).map(|i| (format!("k{i}"), json!(i))).collect();
        assert_eq!(packed(Value::Object(m16))[..3], [0xde, 0, 16]);
    }
}
