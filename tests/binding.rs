//! No panic crosses into Lua: with the `fault-injection` feature, `darkchat.injectPanic()` makes
//! the next handle call panic inside the binding, and `darkchat.injectPanic("beforeCommit")`
//! the next write once its statements ran, just before its commit. Each method must then answer
//! `false, "storage_error", message` without raising, and the same handle must keep working
//! with the data intact (a panic inside a write rolls it back: nothing of it is committed, and
//! the handle does not see it either).
//!
//! `cargo test --release --features vendored,fault-injection --test binding`

#![cfg(all(feature = "vendored", feature = "fault-injection"))]

mod support;

use support::scratch;

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
    // `committed()`: the database's rows as another connection reads them (what was committed).
    let path = db.to_owned();
    let committed = lua.create_function(move |_, ()| Ok(committed_rows(&path))).unwrap();
    lua.globals().set("committed", committed).unwrap();
    lua
}

/// Every row of every Darkchat table, read through a connection of its own. (`wal_marker` is
/// left out: the background checkpointer writes it.)
fn committed_rows(db: &std::path::Path) -> String {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut out = String::new();
    for table in
        ["phones", "conversations", "members", "messages", "standalone_numbers", "sqlite_sequence"]
    {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        out.push_str(table);
        out.push('\n');
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) => {
                        out.push_str(&format!("{:?}|", String::from_utf8_lossy(t)))
                    }
                    other => out.push_str(&format!("{other:?}|")),
                }
            }
            out.push('\n');
        }
    }
    out
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
fn a_write_that_panics_after_its_statements_ran_leaves_nothing_behind() {
    let (_dir, db) = temp_db("before-commit");
    let lua = lua_with_module(&db);
    // Every write method, with arguments that succeed: each runs its statements, then panics
    // just before its commit.
    let script = r#"
        local core = assert(darkchat.open({ path = DB }))
        local _, conv = assert(core:create("5550101", "Before"))
        assert(core:add("5550102", conv.id))
        assert(core:send("5550101", conv.id, "unread by 5550102"))
        local function show(v)
          if type(v) ~= "table" then return type(v) .. ":" .. tostring(v) end
          local keys = {}
          for k in pairs(v) do keys[#keys + 1] = tostring(k) end
          table.sort(keys)
          local parts = {}
          for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. show(v[k] == nil and v[tonumber(k)] or v[k]) end
          return "{" .. table.concat(parts, ",") .. "}"
        end
        -- What the handle itself reads: an open transaction left behind would show here.
        local function seen()
          local views = {}
          for _, call in ipairs({ { "conversation", "5550101", conv.id }, { "conversation", "5550102", conv.id },
              { "list", "5550101" }, { "list", "5550103" }, { "stats" } }) do
            views[#views + 1] = { core[call[1]](core, table.unpack(call, 2, 3)) }
          end
          return show(views)
        end
        local writes = {
          { "create", "5550103", "Panicked" },
          { "add", "5550103", conv.id },
          { "remove", "5550102", conv.id, true },
          { "join", "5550104", conv.joinCode },
          { "send", "5550102", conv.id, "lost" },
          { "markRead", "5550102", conv.id },
          { "rename", "5550101", conv.id, "Panicked" },
          { "regenerateCode", "5550101", conv.id },
          { "delete", "5550101", conv.id },
          { "transfer", "5550101", conv.id, "5550102" },
          { "kick", "5550101", conv.id, "5550102" },
          { "standaloneNumber", "license:new" },
        }
        local rows, view = committed(), seen()
        assert(rows:find("unread by 5550102", 1, true), rows)
        for _, call in ipairs(writes) do
          local method = call[1]
          darkchat.injectPanic("beforeCommit")
          local raised, a, b, c = pcall(core[method], core, table.unpack(call, 2, 4))
          assert(raised, method .. " raised: " .. tostring(a))
          assert(a == false and b == "storage_error", method .. ": " .. tostring(a) .. ", " .. tostring(b))
          -- The fault fired at the commit of this call: its statements had run.
          assert(type(c) == "string" and c:find("injected fault before commit", 1, true), method .. ": " .. tostring(c))
          assert(committed() == rows, method .. ": rows were committed:\n" .. committed())
          assert(seen() == view, method .. ": the handle sees a change:\n" .. seen() .. "\nwas\n" .. view)
        end
        -- The handle still writes, and the writes are committed.
        assert(core:send("5550101", conv.id, "after"))
        assert(committed():find("after", 1, true))
        local _, integrity = core:integrityCheck()
        assert(integrity == "ok", integrity)
        assert(core:close())
        return #writes
    "#;
    let n: i64 = lua.load(script).eval().expect("the script runs without a Lua error");
    assert_eq!(n, 12);
}

#[test]
fn panicked_calls_write_nothing_and_the_file_stays_intact_for_the_next_opener() {
    let (_dir, db) = temp_db("reopen");
    let lua = lua_with_module(&db);
    let script = r#"
        local core = assert(darkchat.open({ path = DB }))
        local _, conv = assert(core:create("5550101", "Durable"))
        for i = 1, 20 do
          if i % 3 == 0 then darkchat.injectPanic("beforeCommit") end
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
