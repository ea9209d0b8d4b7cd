//! Copying a whole store between SQLite and MySQL/MariaDB, ids kept (`darkchat migrate-storage`):
//! the one list of the tables copied and their columns, which both storages' statements are
//! built from, and the rows as they travel between them.
//!
//! The tables are listed parents first, so inserting them in this order satisfies every foreign
//! key. The SQLite checkpointer's `wal_marker` is internal to SQLite and never copied. The
//! AUTOINCREMENT tables (`sequence`) carry their high-water marks across (SQLite's
//! `sqlite_sequence`, MySQL's `AUTO_INCREMENT`), so an id used once, even by a row deleted
//! since, is never handed out again on the other side.
//!
//! Reachable only by the server: the methods that use this are called by js/host.js for the
//! console command, never by the Lua actions that players' requests go through.

use std::sync::OnceLock;

use crate::error::{Error, Result};

/// A column's type, the same on both storages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    OptInt,
    Text,
    OptText,
}

/// One copied table: its SQLite name, MySQL name, and columns (the key first).
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub mysql: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    /// AUTOINCREMENT: its high-water mark is carried over.
    pub sequence: bool,
}

use Kind::*;

/// Every table copied, parents before children.
pub const TABLES: [Table; 9] = [
    Table {
        name: "phones",
        mysql: "darkchat_phones",
        columns: &[("id", Int), ("number", Text)],
        sequence: false,
    },
    Table {
        name: "conversations",
        mysql: "darkchat_conversations",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("app_name", Text),
            ("created_by", Int),
            ("owner_id", Int),
            ("join_code", Text),
            ("created_at", Int),
            ("updated_at", Int),
            ("last_message_id", Int),
            ("last_sender", OptText),
            ("last_kind", OptText),
            ("last_event", OptText),
            ("last_content", OptText),
            ("last_created_at", OptInt),
            ("last_sender_alias", OptText),
            ("last_extra", OptText),
            ("retention_seconds", Int),
        ],
        sequence: true,
    },
    Table {
        name: "members",
        mysql: "darkchat_members",
        columns: &[
            ("id", Int),
            ("conversation_id", Int),
            ("phone_id", Int),
            ("joined_at", Int),
            ("last_read_message_id", Int),
            ("alias", Text),
            ("alias_key", Text),
            ("is_moderator", Int),
            ("muted", Int),
        ],
        sequence: false,
    },
    Table {
        name: "messages",
        mysql: "darkchat_messages",
        columns: &[
            ("id", Int),
            ("conversation_id", Int),
            ("sender_id", OptInt),
            ("kind", Text),
            ("event", OptText),
            ("content", Text),
            ("created_at", Int),
            ("sender_alias", OptText),
            ("reply_to", OptInt),
            ("extra", OptText),
        ],
        sequence: true,
    },
    Table {
        name: "bans",
        mysql: "darkchat_bans",
        columns: &[
            ("id", Int),
            ("conversation_id", Int),
            ("phone_id", Int),
            ("alias", Text),
            ("created_at", Int),
        ],
        sequence: false,
    },
    Table {
        name: "standalone_numbers",
        mysql: "darkchat_standalone_numbers",
        columns: &[("license", Text), ("number", Text), ("created_at", Int)],
        sequence: false,
    },
    Table {
        name: "staff_bans",
        mysql: "darkchat_staff_bans",
        columns: &[
            ("number", Text),
            ("reason", OptText),
            ("created_at", Int),
            ("expires_at", OptInt),
        ],
        sequence: false,
    },
    Table {
        name: "reports",
        mysql: "darkchat_reports",
        columns: &[
            ("id", Int),
            ("conversation_id", Int),
            ("message_id", Int),
            ("reporter", Text),
            ("reporter_alias", Text),
            ("sender", OptText),
            ("sender_alias", OptText),
            ("content", Text),
            ("reason", Text),
            ("created_at", Int),
        ],
        sequence: true,
    },
    Table {
        name: "imports",
        mysql: "darkchat_imports",
        columns: &[("source_key", Text), ("conversation_id", Int), ("imported_at", Int)],
        sequence: false,
    },
];

/// Rows per page at most, either way.
pub const MAX_PAGE: u32 = 1000;

/// The table of a name (the SQLite one, as hosts name them).
pub fn table(name: &str) -> Result<&'static Table> {
    TABLES.iter().find(|t| t.name == name).ok_or(Error::invalid("table"))
}

/// One value of a copied row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

impl Cell {
    /// The cell as column `kind` holds it, or `None` when it does not fit.
    pub fn checked(self, kind: Kind) -> Option<Cell> {
        match (kind, self) {
            (OptInt | OptText, Cell::Null) => Some(Cell::Null),
            (Int | OptInt, Cell::Int(n)) => Some(Cell::Int(n)),
            // Wide integers may come as text from the MySQL driver.
            (Int | OptInt, Cell::Text(s)) => s.parse().ok().map(Cell::Int),
            (Text | OptText, Cell::Text(s)) => Some(Cell::Text(s)),
            _ => None,
        }
    }
}

impl rusqlite::types::ToSql for Cell {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Cell::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Cell::Int(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            Cell::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// Checks a row against `table`'s columns (count and types).
pub fn checked_row(table: &Table, row: Vec<Cell>) -> Result<Vec<Cell>> {
    if row.len() != table.columns.len() {
        return Err(Error::invalid("rows"));
    }
    row.into_iter()
        .zip(table.columns)
        .map(|(cell, (_, kind))| cell.checked(*kind).ok_or(Error::invalid("rows")))
        .collect()
}

/// Rows as the wire carries them (a JSON array of arrays of `null`, integers and strings),
/// checked against `table`.
pub fn rows_from_json(table: &Table, json: &str) -> Result<Vec<Vec<Cell>>> {
    let rows: Vec<Vec<serde_json::Value>> =
        serde_json::from_str(json).map_err(|_| Error::invalid("rows"))?;
    if rows.len() > MAX_PAGE as usize {
        return Err(Error::invalid("rows"));
    }
    rows.into_iter()
        .map(|row| {
            let cells = row
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::Null => Ok(Cell::Null),
                    serde_json::Value::Number(n) => {
                        n.as_i64().map(Cell::Int).ok_or(Error::invalid("rows"))
                    }
                    serde_json::Value::String(s) => Ok(Cell::Text(s)),
                    _ => Err(Error::invalid("rows")),
                })
                .collect::<Result<Vec<Cell>>>()?;
            checked_row(table, cells)
        })
        .collect()
}

/// The statements of one table in one dialect, built once from [`TABLES`] (so they are
/// `&'static str`, as the MySQL link wants). Values are always bound, never written in.
#[derive(Debug)]
pub struct Sql {
    /// The first page: `LIMIT ?`.
    pub first_page: &'static str,
    /// A page after a key: `key > ?`, `LIMIT ?`.
    pub page_after: &'static str,
    pub insert: &'static str,
    pub count: &'static str,
    pub delete_all: &'static str,
    /// The largest key (0 when the table is empty).
    pub max_key: &'static str,
}

/// [`Sql`] of `table` for MySQL (`true`, `darkchat_` names) or SQLite.
pub fn sql(table: &Table, mysql: bool) -> &'static Sql {
    static SQLITE: OnceLock<Vec<Sql>> = OnceLock::new();
    static MYSQL: OnceLock<Vec<Sql>> = OnceLock::new();
    let cell = if mysql { &MYSQL } else { &SQLITE };
    let all = cell.get_or_init(|| TABLES.iter().map(|t| build(t, mysql)).collect());
    let index = TABLES.iter().position(|t| t.name == table.name).expect("a listed table");
    &all[index]
}

fn build(table: &Table, mysql: bool) -> Sql {
    let name = if mysql { table.mysql } else { table.name };
    let key = table.columns[0].0;
    let columns = table.columns.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
    let marks = vec!["?"; table.columns.len()].join(", ");
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    Sql {
        first_page: leak(format!("SELECT {columns} FROM {name} ORDER BY {key} LIMIT ?")),
        page_after: leak(format!(
            "SELECT {columns} FROM {name} WHERE {key} > ? ORDER BY {key} LIMIT ?"
        )),
        insert: leak(format!("INSERT INTO {name} ({columns}) VALUES ({marks})")),
        count: leak(format!("SELECT COUNT(*) FROM {name}")),
        delete_all: leak(format!("DELETE FROM {name}")),
        max_key: leak(format!("SELECT COALESCE(MAX({key}), 0) FROM {name}")),
    }
}

/// The high-water marks of the AUTOINCREMENT tables, in [`TABLES`] order: the largest id ever
/// handed out (0 when none was).
pub type Sequences = Vec<(&'static Table, u64)>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_follow_the_list() {
        let s = sql(table("phones").unwrap(), true);
        assert_eq!(s.insert, "INSERT INTO darkchat_phones (id, number) VALUES (?, ?)");
        assert_eq!(
            sql(table("standalone_numbers").unwrap(), false).page_after,
            "SELECT license, number, created_at FROM standalone_numbers WHERE license > ? \
             ORDER BY license LIMIT ?"
        );
        assert!(table("wal_marker").is_err());
    }

    /// Column names, in order, of `table` in the SQLite schema (all migrations applied).
    fn sqlite_columns(table: &str) -> Vec<String> {
        let store = crate::store::Store::open_in_memory().unwrap();
        let mut stmt = store
            .connection()
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap();
        let names = stmt.query_map([table], |r| r.get(0)).unwrap();
        names.collect::<rusqlite::Result<Vec<String>>>().unwrap()
    }

    /// Column names, in order, of `table` in the MySQL migrations: its `CREATE TABLE`, then
    /// the columns later files add with `ALTER TABLE ... ADD COLUMN`.
    fn mysql_columns(table: &str) -> Vec<String> {
        let files = crate::mysql::schema::MIGRATIONS.iter().map(|(_, sql)| *sql);
        let mut columns: Vec<String> = Vec::new();
        for schema in files {
            if let Some(start) = schema.find(&format!("CREATE TABLE IF NOT EXISTS {table} (")) {
                let body = &schema[start..start + schema[start..].find(") ENGINE").unwrap()];
                columns.extend(
                    body.lines()
                        .skip(1)
                        .map(str::trim)
                        .filter_map(|line| line.split_whitespace().next())
                        .filter(|word| {
                            !word.starts_with("--")
                                && !["PRIMARY", "UNIQUE", "KEY", "CONSTRAINT", "REFERENCES"]
                                    .contains(word)
                        })
                        .map(str::to_owned),
                );
            }
            for statement in crate::mysql::schema::statements(schema) {
                let Some(rest) = statement.strip_prefix(&format!("ALTER TABLE {table}")) else {
                    continue;
                };
                let mut words = rest.split_whitespace();
                while let Some(word) = words.next() {
                    if word == "COLUMN" {
                        columns.extend(words.next().map(str::to_owned));
                    }
                }
            }
        }
        columns
    }

    #[test]
    fn the_list_is_every_column_of_both_schemas() {
        for table in &TABLES {
            let listed: Vec<String> = table.columns.iter().map(|(c, _)| (*c).to_owned()).collect();
            assert_eq!(sqlite_columns(table.name), listed, "{}", table.name);
            assert_eq!(mysql_columns(table.mysql), listed, "{}", table.mysql);
        }
    }

    #[test]
    fn rows_are_checked_against_their_columns() {
        let phones = table("phones").unwrap();
        assert_eq!(
            rows_from_json(phones, r#"[[1,"555"]]"#).unwrap(),
            vec![vec![Cell::Int(1), Cell::Text("555".into())]]
        );
        assert!(rows_from_json(phones, r#"[[1]]"#).is_err());
        assert!(rows_from_json(phones, r#"[["x","555"]]"#).is_err());
        assert!(rows_from_json(phones, r#"[[null,"555"]]"#).is_err());
        assert!(rows_from_json(phones, r#"[[1.5,"555"]]"#).is_err());
    }
}
