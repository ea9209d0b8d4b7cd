//! The fuzzer's bytes become Lua values (nil, booleans, integers, floats, strings of any bytes
//! and size, tables, functions) passed to the methods of the binding's handle. Every call must
//! return `true, ...` or `false, <stable code>, <message>`: never raise, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mlua::{AnyUserData, Function, Lua, MultiValue, ObjectLike, Table, Value};

const CODES: &[&str] = &[
    "invalid_argument",
    "player_not_found",
    "conversation_not_found",
    "already_member",
    "not_member",
    "join_code_taken",
    "invalid_join_code",
    "invalid_name",
    "storage_error",
    "rate_limited",
    "forbidden",
];

// Every method of the shared dispatch (backups and close are the binding's own: their
// arguments are files to create, or they end the handle).
use darkchat::api::Method;

const STRINGS: &[&str] = &[
    "5550101",
    "5550102",
    " 5550103 ",
    "555-0123",
    "Crew",
    "crew42",
    "CREW42",
    "",
    "   ",
    "'; DROP TABLE conversations; --",
    "ABCDEFGHJKLMNPQRS",
    "a\u{0}b",
    "é🙂",
    "license:abc",
];

struct State {
    lua: Lua,
    handle: AnyUserData,
    function: Function,
}

thread_local! {
    static STATE: State = setup();
}

fn setup() -> State {
    let lua = Lua::new();
    let module = darkchat::lua::module_table(&lua).expect("module");
    let path = std::env::temp_dir().join(format!("darkchat-fuzz-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let options = lua.create_table().unwrap();
    options.set("path", path.display().to_string()).unwrap();
    let limits = lua.create_table().unwrap();
    limits.set("maxMembers", 5).unwrap();
    limits.set("maxConversationsPerNumber", 5).unwrap();
    options.set("limits", limits).unwrap();
    let open: Function = module.get("open").unwrap();
    let (handle, error): (Value, Value) = open.call(options).unwrap();
    let Value::UserData(handle) = handle else {
        panic!("cannot open {}: {error:?}", path.display())
    };
    let function = lua.create_function(|_, ()| Ok(())).unwrap();
    State { lua, handle, function }
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }

    fn eight(&mut self) -> Option<[u8; 8]> {
        let (head, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(*head)
    }

    fn value(&mut self, s: &State, depth: u32) -> Option<Value> {
        let lua = &s.lua;
        Some(match self.byte()? % 12 {
            0 => Value::Nil,
            1 => Value::Boolean(self.byte()? & 1 == 1),
            2 => Value::Integer(i64::from_le_bytes(self.eight()?)),
            3 | 4 => Value::Integer(i64::from(self.byte()?) - 8),
            5 => Value::Number(f64::from_bits(u64::from_le_bytes(self.eight()?))),
            6 => Value::Number(f64::from(self.byte()?) / 2.0 - 4.0),
            7 | 8 => Value::String(
                lua.create_string(STRINGS[self.byte()? as usize % STRINGS.len()]).unwrap(),
            ),
            9 => {
                let len = self.byte()? as usize % 24;
                let bytes: Vec<u8> = (0..len).map(|_| self.byte().unwrap_or(0)).collect();
                Value::String(lua.create_string(bytes).unwrap())
            }
            10 => Value::String(lua.create_string("x".repeat(self.byte()? as usize * 64)).unwrap()),
            _ => {
                if depth > 2 || self.byte()? & 1 == 0 {
                    Value::Function(s.function.clone())
                } else {
                    let t: Table = lua.create_table().unwrap();
                    for _ in 0..self.byte()? % 3 {
                        let (k, v) = (self.value(s, depth + 1)?, self.value(s, depth + 1)?);
                        let _ = t.raw_set(k, v); // nil / NaN keys are simply not set
                    }
                    Value::Table(t)
                }
            }
        })
    }
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|s| {
        let mut bytes = Bytes(data);
        while let Some(which) = bytes.byte() {
            let method = Method::ALL[which as usize % Method::ALL.len()].name();
            let mut args = MultiValue::new();
            for _ in 0..4 {
                match bytes.value(s, 0) {
                    Some(v) => args.push_back(v),
                    None => break,
                }
            }
            let results: MultiValue = s
                .handle
                .call_method(method, args)
                .unwrap_or_else(|e| panic!("{method} raised: {e}"));
            match results.front() {
                Some(Value::Boolean(true)) => {}
                Some(Value::Boolean(false)) => {
                    let code = match results.get(1) {
                        Some(Value::String(c)) => c.to_str().unwrap().to_owned(),
                        other => panic!("{method}: no code, got {other:?}"),
                    };
                    assert!(CODES.contains(&code.as_str()), "{method}: unknown code {code}");
                    assert!(
                        code != "storage_error",
                        "{method}: storage_error from plain input: {results:?}"
                    );
                    assert!(
                        matches!(results.get(2), Some(Value::String(_))),
                        "{method}: no message"
                    );
                }
                other => panic!("{method}: first result {other:?}"),
            }
        }
    });
});
