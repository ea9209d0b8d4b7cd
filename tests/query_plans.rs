//! Every SQL statement of the store runs on an index: no full-table scan on a hot path.
//!
//! The statements are read out of `src/store/queries.rs` at test time (string literals and
//! `concat!` groups that start with a SQL verb, with `conversation_columns!()` expanded), so a
//! statement added or changed there is checked without touching this file. Each is run through
//! `EXPLAIN QUERY PLAN` on the real schema; a `SCAN` of a table (with or without a covering
//! index: both read the whole table) fails the test unless the statement is allow-listed below
//! with the reason it may scan. Scans of a subquery's own result are fine. No statement may
//! sort through a temporary b-tree either (SQLite builds and frees one on every run).
//!
//! Foreign-key actions do not show in query plans, so a second test checks that every foreign
//! key whose parent table has rows deleted by some statement is backed by an index on the
//! child columns (otherwise each delete scans the child table).
//!
//! A third test (it needs the store to enable SQLite's query-planner stability guarantee)
//! checks that no statement is compiled again each time it is reused from the cache.

use std::collections::BTreeMap;

use darkchat::Store;

const QUERIES: &str = include_str!("../src/store/queries.rs");

/// Statements allowed to scan a whole table, with the reason. Each is matched by how the
/// statement ends (the whole statement for short ones), and must match exactly one.
const MAY_SCAN: &[(&str, &str)] = &[
    ("SELECT count(*) FROM conversations", "admin statistics: counts the whole table on request"),
    ("SELECT count(*) FROM messages", "admin statistics: counts the whole table on request"),
    ("SELECT count(*) FROM members", "admin statistics: counts the whole table on request"),
    ("SELECT count(*) FROM phones", "admin statistics: counts the whole table on request"),
    (
        "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
        "admin statistics: the file's size from two one-row pragmas",
    ),
    (
        "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = ?2",
        "a storage move (darkchat migrate-storage) raising a high-water mark, once per \
         AUTOINCREMENT table: SQLite's own table of two rows, which has no index",
    ),
    (
        "FROM staff_bans WHERE expires_at IS NULL OR expires_at > ?1",
        "a staff ban written: counts the bans in force, a table of at most maxStaffBans rows \
         in force (ended ones are deleted by the same write)",
    ),
    (
        "ORDER BY created_at DESC, number DESC LIMIT ?2",
        "staff's list of bans in force, newest first: walks staff_bans_created backwards and \
         stops after LIMIT rows",
    ),
    (
        "SELECT count(*) FROM reports",
        "a report written: counts the reports kept (at most maxReports)",
    ),
    (
        "FROM reports ORDER BY id DESC LIMIT ?1",
        "staff's list of reports, newest first: walks the primary key backwards and stops after \
         LIMIT rows",
    ),
    (
        "(SELECT id FROM reports ORDER BY id LIMIT ?1)",
        "the oldest reports dropped for a new one: walks the primary key from the start and \
         stops after LIMIT rows",
    ),
    (
        "FROM conversations c ORDER BY c.id DESC LIMIT ?1",
        "admin listing of every conversation, newest first: walks the primary key backwards \
         and stops after LIMIT rows",
    ),
];

const SQL_VERBS: &[&str] = &["SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "REPLACE"];

#[test]
fn every_store_statement_uses_an_index() {
    let store = Store::open_in_memory().unwrap();
    let conn = store.connection();
    let statements = statements(QUERIES);
    assert!(
        statements.len() >= 20,
        "found only {} statements: is the scanner broken?",
        statements.len()
    );
    for fragment in
        ["FROM members m JOIN conversations c", "INSERT INTO messages", "FROM phones WHERE number"]
    {
        assert!(
            statements.iter().any(|s| s.contains(fragment)),
            "scanner missed the statement with {fragment:?}"
        );
    }
    for (fragment, _) in MAY_SCAN {
        let n = statements.iter().filter(|s| s.ends_with(fragment)).count();
        assert_eq!(n, 1, "allow-list entry {fragment:?} matches {n} statements; keep it exact");
    }

    let mut failures = Vec::new();
    for sql in &statements {
        let plan = query_plan(conn, sql);
        let scans: Vec<&String> = plan.iter().filter(|step| is_table_scan(step)).collect();
        let allowed = MAY_SCAN.iter().find(|(fragment, _)| sql.ends_with(fragment));
        println!("{sql}\n    {}", plan.join("\n    "));
        if !scans.is_empty() && allowed.is_none() {
            failures.push(format!("{sql}\n    plan: {}", plan.join(" | ")));
        }
        // A temporary b-tree (ORDER BY / DISTINCT / GROUP BY not served by an index) is built
        // and freed on every run: sort the few rows in Rust instead (see queries.rs).
        if plan.iter().any(|step| step.contains("TEMP B-TREE")) {
            failures
                .push(format!("{sql}\n    sorts through a temporary b-tree: {}", plan.join(" | ")));
        }
    }
    assert!(
        failures.is_empty(),
        "statements scanning a table or sorting per call:\n{}",
        failures.join("\n")
    );
}

#[test]
fn foreign_keys_of_deleted_parents_are_indexed() {
    let store = Store::open_in_memory().unwrap();
    let conn = store.connection();
    // Tables some statement deletes rows from.
    let deleted: Vec<String> = statements(QUERIES)
        .iter()
        .filter_map(|s| s.strip_prefix("DELETE FROM "))
        .map(|rest| rest.split_whitespace().next().unwrap_or_default().to_owned())
        .collect();
    assert!(!deleted.is_empty());

    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut failures = Vec::new();
    for child in &tables {
        // (fk id) → (parent table, child columns in order)
        let mut keys: BTreeMap<i64, (String, Vec<String>)> = BTreeMap::new();
        let mut stmt = conn.prepare(&format!("PRAGMA foreign_key_list({child})")).unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
            })
            .unwrap();
        for row in rows {
            let (id, parent, column) = row.unwrap();
            keys.entry(id).or_insert_with(|| (parent, Vec::new())).1.push(column);
        }
        for (parent, columns) in keys.values() {
            if deleted.contains(parent) && !indexed_prefix(conn, child, columns) {
                failures.push(format!(
                    "{child}({}) → {parent}: no index starts with these columns",
                    columns.join(", ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "deleting a parent row scans the child table:\n{}",
        failures.join("\n")
    );
}

/// A listing counts each conversation's unread messages (up to a cap) by walking index entries
/// after the member's read position. The page index holds every message's content, so walking
/// it reads pages full of text for nothing: the count must walk an index of ids alone.
#[test]
fn unread_counts_walk_an_index_without_contents() {
    let store = Store::open_in_memory().unwrap();
    let conn = store.connection();
    let count = statements(QUERIES)
        .into_iter()
        .find(|s| s.contains("SELECT count(*) FROM (SELECT 1 FROM messages"))
        .expect("the unread count statement");
    let plan = query_plan(conn, &count);
    let index = plan
        .iter()
        .find_map(|step| step.split("USING COVERING INDEX ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{count}\n    reads no covering index: {}", plan.join(" | ")));
    let columns: Vec<String> = conn
        .prepare(&format!("PRAGMA index_info({index})"))
        .unwrap()
        .query_map([], |r| r.get::<_, Option<String>>(2))
        .unwrap()
        .map(|c| c.unwrap().unwrap_or_default())
        .collect();
    assert_eq!(
        columns,
        ["conversation_id", "id"],
        "{count}\n    walks {index}: {}",
        plan.join(" | ")
    );
}

/// SQLite 3.54 lets the value bound to `LIMIT ?n` (and to some `= ?n` terms) steer the plan and
/// marks such a statement to be compiled again when that parameter is rebound; rusqlite clears
/// the bindings of every statement it returns to its cache, which SQLite treats the same way.
/// So each such statement is parsed and planned anew on every call (measured with
/// `benches/exports`: 40% of a conversation listing). The query-planner stability guarantee
/// (`SQLITE_DBCONFIG_ENABLE_QPSG`) turns this off; the schema has no ANALYZE statistics for
/// values to matter anyway.
#[test]
fn statements_are_not_recompiled_on_reuse() {
    let store = Store::open_in_memory().unwrap();
    let recompiled = recompiled_statements(store.connection());
    // The store turns the guarantee on; the same check with it off shows what it cures.
    let unguarded = Store::open_in_memory().unwrap();
    unguarded
        .connection()
        .set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, false)
        .unwrap();
    println!(
        "without the query-planner stability guarantee: {} statements recompiled",
        recompiled_statements(unguarded.connection()).len()
    );
    // The guarantee must not cost a worse plan (LIMIT values are no longer known when planning).
    for sql in statements(QUERIES) {
        let (before, after) =
            (query_plan(unguarded.connection(), &sql), query_plan(store.connection(), &sql));
        assert_eq!(before, after, "the plan of {sql} changes under the guarantee");
    }
    assert!(
        recompiled.is_empty(),
        "{} statements are compiled again on every reuse:\n{}",
        recompiled.len(),
        recompiled.join("\n")
    );
}

/// Statements whose cached copy SQLite prepares again when it is used a second time.
fn recompiled_statements(conn: &rusqlite::Connection) -> Vec<String> {
    let mut out = Vec::new();
    for sql in statements(QUERIES) {
        // Run twice through the statement cache, inside a savepoint rolled back afterwards;
        // failures (NULL into NOT NULL columns) do not matter, only whether it recompiles.
        conn.execute_batch("SAVEPOINT plan_check").unwrap();
        let mut reprepares = 0;
        for _ in 0..2 {
            let mut stmt = conn.prepare_cached(&sql).unwrap();
            let nulls = rusqlite::params_from_iter(std::iter::repeat_n(
                rusqlite::types::Null,
                stmt.parameter_count(),
            ));
            if let Ok(mut rows) = stmt.query(nulls) {
                while let Ok(Some(_)) = rows.next() {}
            }
            reprepares = stmt.get_status(rusqlite::StatementStatus::RePrepare);
        }
        conn.execute_batch("ROLLBACK TO plan_check; RELEASE plan_check").unwrap();
        if reprepares > 0 {
            out.push(sql);
        }
    }
    out
}

// --- plans -------------------------------------------------------------------------------------

fn query_plan(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("cannot prepare {sql:?}: {e}"));
    // Parameters stay NULL: the plan depends on the statement, not on the values.
    let nulls = rusqlite::params_from_iter(std::iter::repeat_n(
        rusqlite::types::Null,
        stmt.parameter_count(),
    ));
    stmt.query_map(nulls, |r| r.get::<_, String>(3)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// `SCAN t` or `SCAN t USING [COVERING] INDEX i`: every row of a table or index. Not
/// `SCAN (subquery-N)` (a subquery's own rows) nor `SCAN CONSTANT ROW`.
fn is_table_scan(step: &str) -> bool {
    match step.strip_prefix("SCAN ") {
        Some(what) => !what.starts_with('(') && !what.starts_with("CONSTANT ROW"),
        None => false,
    }
}

/// Whether some index of `table` (the primary key included) starts with `columns`.
fn indexed_prefix(conn: &rusqlite::Connection, table: &str, columns: &[String]) -> bool {
    let mut indexes: Vec<String> = conn
        .prepare(&format!("PRAGMA index_list({table})"))
        .unwrap()
        .query_map([], |r| r.get(1))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    indexes.sort();
    indexes.iter().any(|index| {
        let indexed: Vec<String> = conn
            .prepare(&format!("PRAGMA index_info({index})"))
            .unwrap()
            .query_map([], |r| r.get::<_, Option<String>>(2))
            .unwrap()
            .map(|c| c.unwrap().unwrap_or_default())
            .collect();
        indexed.len() >= columns.len() && indexed[..columns.len()] == *columns
    })
}

// --- statements out of the Rust source ------------------------------------------------------

/// The SQL statements in `source`: each string literal, or each `concat!(...)` group of
/// literals and `conversation_columns!()` (expanded from its `macro_rules!` body), whose text
/// starts with a SQL verb. Comments are skipped; `\` line continuations are honoured. The
/// file's unit tests (from `#[cfg(test)]` on) are not the store's statements: what they run to
/// look at a result never runs on a server.
fn statements(source: &str) -> Vec<String> {
    let source = source.split("#[cfg(test)]").next().unwrap_or(source);
    let columns = macro_body(source, "conversation_columns");
    let tokens = tokens(source);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Macro(name) if name == "concat" => {
                // Everything up to the matching close paren is one statement.
                let mut depth = 0;
                let mut text = String::new();
                i += 1;
                while i < tokens.len() {
                    match &tokens[i] {
                        Token::Punct('(') => depth += 1,
                        Token::Punct(')') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Token::Str(s) => text.push_str(s),
                        Token::Macro(name) if name == "conversation_columns" => {
                            text.push_str(&columns)
                        }
                        _ => {}
                    }
                    i += 1;
                }
                out.push(text);
            }
            Token::Str(s) => out.push(s.clone()),
            _ => {}
        }
        i += 1;
    }
    out.into_iter()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| SQL_VERBS.iter().any(|verb| s.starts_with(verb)))
        .collect()
}

/// The concatenated string literals of `macro_rules! name { ... }`.
fn macro_body(source: &str, name: &str) -> String {
    let start = source
        .find(&format!("macro_rules! {name}"))
        .unwrap_or_else(|| panic!("macro {name} not found in queries.rs"));
    let tokens = tokens(&source[start..]);
    let mut depth = 0;
    let mut text = String::new();
    for token in tokens {
        match token {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::Str(s) => text.push_str(&s),
            _ => {}
        }
    }
    text
}

#[derive(Debug)]
enum Token {
    Str(String),
    /// `name!` (the `!` consumed).
    Macro(String),
    Punct(char),
}

/// A lexer just good enough for this file: comments, string literals (plain and raw),
/// identifiers followed by `!`, and single punctuation characters.
fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            let (text, next) = plain_string(&chars, i + 1);
            out.push(Token::Str(text));
            i = next;
        } else if c == 'r'
            && matches!(chars.get(i + 1), Some('"') | Some('#'))
            && !ident_char(chars.get(i.wrapping_sub(1)))
        {
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                i += 1;
                continue;
            }
            let close: String =
                std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let rest: String = chars[j + 1..].iter().collect();
            let end = rest.find(&close).expect("unterminated raw string");
            out.push(Token::Str(rest[..end].to_owned()));
            i = j + 1 + rest[..end].chars().count() + close.chars().count();
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && ident_char(Some(&chars[i])) {
                i += 1;
            }
            if chars.get(i) == Some(&'!') && chars.get(i + 1) != Some(&'=') {
                out.push(Token::Macro(chars[start..i].iter().collect()));
                i += 1;
            }
        } else {
            if !c.is_whitespace() {
                out.push(Token::Punct(c));
            }
            i += 1;
        }
    }
    out
}

fn ident_char(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// A `"..."` literal's text from just after the opening quote; returns it and the index after
/// the closing quote.
fn plain_string(chars: &[char], mut i: usize) -> (String, usize) {
    let mut text = String::new();
    while i < chars.len() {
        match chars[i] {
            '"' => return (text, i + 1),
            '\\' => {
                i += 1;
                match chars.get(i) {
                    // Line continuation: the newline and the next line's indentation vanish.
                    Some('\n') => {
                        while chars.get(i + 1).is_some_and(|c| c.is_whitespace()) {
                            i += 1;
                        }
                    }
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    Some(&other) => text.push(other),
                    None => {}
                }
            }
            c => text.push(c),
        }
        i += 1;
    }
    panic!("unterminated string literal");
}
