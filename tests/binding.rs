//! No panic crosses into Lua: with the `fault-injection` feature, `darkchat.injectPanic()` makes
//! the next handle call panic inside the binding. Each method must then answer
//! `false, "storage_error", message` without raising, and the same handle must keep working
//! with the data intact (a panic inside a write rolls it back).
//!
//! `cargo test --release --features vendored,fault-injection --test binding`

#![cfg(all(feature = "vendored", feature = "fault-injection"))]

#[path = "support/scratch.rs"]
mod scratch;

use mlua::Lua;

/// A database path of its own, in a folder removed when the test ends.
fn temp_db(name: &str) -> (scratch::Scratch, std::path::PathBuf) {
    let dir = scratch::Scratch::new(&format!("binding-{name}"));
    let db = dir.join("binding.db");
    (dir, db)
}

fn lua_with_module(db: &std::path::Path) -> Lua {
    let lua = Lua::new();
    let module = darkchat::lua::module_table(&lua).expect("module table");
    lua.globals().set("darkchat", module).unwrap();
    lua.globals().set("DB", db.display().to_string()).unwrap();
    lua
}

#[test]
fn an_injected_panic_is_a_storage_error_and_the_handle_keeps_working() {
    let (_dir, db) = temp_db("panic");
    let lua = lua_with_module(&db);
    // Every method the resource calls, with valid arguments; a write that panics must leave
    // nothing behind.
    let script = r#"
        local core = assert(darkchat.open({ path = DB }))
        local ok, conv = core:create("5550101", "Before")
        assert(ok, conv)
        assert(core:send("5550101", conv.id, "kept"))
        local calls = {
          { "create", "5550102", "Panicked" },
          { "add", "5550103", conv.id },
          { "remove", "5550101", conv.id, true },
          { "join", "5550104", conv.joinCode },
          { "send", "5550101", conv.id, "lost" },
          { "conversation", "5550101", conv.id },
          { "list", "5550101" },
          { "messages", "5550101", conv.id },
          { "markRead", "5550101", conv.id },
          { "rename", "5550101", conv.id, "Panicked" },
          { "regenerateCode", "5550101", conv.id },
          { "delete", "5550101", conv.id },
          { "transfer", "5550101", conv.id, "5550101" },
          { "kick", nil, conv.id, "5550101" },
          { "standaloneNumber", "license:abc" },
          { "checkSource", 1 },
          { "checkNumber", "5550101" },
          { "stats" },
          { "integrityCheck" },
        }
        local n = 0
        for _, call in ipairs(calls) do
          darkchat.injectPanic()
          local method = call[1]
          local raised, a, b, c = pcall(core[method], core, table.unpack(call, 2, 4))
          assert(raised, method .. " raised: " .. tostring(a))
          assert(a == false, method .. ": expected false, got " .. tostring(a))
          assert(b == "storage_error", method .. ": code " .. tostring(b))
          assert(type(c) == "string" and c:find("injected fault", 1, true), method .. ": message " .. tostring(c))
          -- The next call on the same handle works.
          local fine, seen = core:conversation("5550101", conv.id)
          assert(fine, method .. ": next call failed: " .. tostring(seen))
          n = n + 1
        end
        -- Nothing the panicked calls would have written is there.
        local _, seen = core:conversation("5550101", conv.id)
        assert(seen.name == "Before", seen.name)
        assert(seen.joinCode == conv.joinCode)
        assert(#seen.recipients == 1 and seen.recipients[1] == "5550101")
        assert(#seen.messages == 1 and seen.messages[1].content == "kept")
        local _, stats = core:stats()
        assert(stats.conversations == 1 and stats.messages == 1, "counts unchanged")
        local _, integrity = core:integrityCheck()
        assert(integrity == "ok", integrity)
        -- And the handle still writes.
        assert(core:send("5550101", conv.id, "after"))
        assert(core:close())
        return n
    "#;
    let n: i64 = lua.load(script).eval().expect("the script runs without a Lua error");
    assert_eq!(n, 19);
}

#[test]
fn panicked_calls_write_nothing_and_the_file_stays_intact_for_the_next_opener() {
    let (_dir, db) = temp_db("reopen");
    let lua = lua_with_module(&db);
    let script = r#"
        local core = assert(darkchat.open({ path = DB }))
        local _, conv = assert(core:create("5550101", "Durable"))
        for i = 1, 20 do
          if i % 3 == 0 then darkchat.injectPanic() end
          local ok, code = core:send("5550101", conv.id, "m" .. i)
          assert(ok == (i % 3 ~= 0), "message " .. i .. ": " .. tostring(code))
        end
        core:close()
        local again = assert(darkchat.open({ path = DB }))
        local _, messages = again:messages("5550101", conv.id, nil, 100)
        local _, integrity = again:integrityCheck()
        again:close()
        return #messages, integrity
    "#;
    let (count, integrity): (i64, String) = lua.load(script).eval().expect("script");
    assert_eq!(count, 14, "the 14 acknowledged messages, none of the 6 that panicked");
    assert_eq!(integrity, "ok");
}
