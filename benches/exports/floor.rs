//! The floor: the bare SQLite statements each operation runs, and nothing else.
//!
//! The statements of `src/store/queries.rs`, in the same order as the service issues them,
//! except that phone numbers (senders, owners) are joined from `phones` here where the store
//! takes them from its in-memory cache: a cache is not SQL, and the floor is what any
//! implementation on SQLite pays. Few rows are sorted in Rust, as the store does, never
//! through a per-call temporary b-tree. Prepared through the statement cache, one `BEGIN IMMEDIATE` /
//! `COMMIT` per write, on a separate connection to the same file configured like the store:
//! its settings are copied from the store's own connection when one is open (so a change to
//! the store's configuration moves the floor with it), else set to the store's as written
//! when this was (WAL, `synchronous = NORMAL`, `wal_autocheckpoint = 0`, 8 MiB page cache,
//! 256 MiB mapped), with the store's busy handler.
//! It has no checkpoint thread of its own: the stores open in the same process checkpoint the
//! shared log in the background, as the resource's does. Column values are read into owned Rust values,
//! as the store does, so the floor pays the same copying.
//!
//! No validation, no domain rules, no error mapping, no Lua: what remains is what any
//! implementation on SQLite must pay for the operation. A path's ratio to this is its overhead.

use std::path::Path;

use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OptionalExtension};

pub struct Floor {
    conn: Connection,
    page_size: u32,
    max_list: u32,
}

/// A conversation row as the store reads it (owner's number resolved).
#[allow(dead_code)] // read for the cost of reading, not used
struct Row {
    id: i64,
    name: String,
    app_name: String,
    created_by: i64,
    owner_id: i64,
    owner: String,
    join_code: String,
    created_at: i64,
    updated_at: i64,
    last_message_id: i64,
    last_message: Option<Msg>,
}

#[allow(dead_code)]
struct Msg {
    id: i64,
    sender: Option<String>,
    content: String,
    kind: String,
    event: Option<String>,
    created_at: i64,
}

const CONVERSATION: &str =
    "SELECT c.id, c.name, c.app_name, c.created_by, c.owner_id, o.number, c.join_code, \
     c.created_at, c.updated_at, c.last_message_id, c.last_sender, c.last_kind, c.last_event, \
     c.last_content, c.last_created_at FROM conversations c \
     JOIN phones o ON o.id = c.owner_id WHERE c.id = ?1";
const CONVERSATIONS_OF: &str =
    "SELECT c.id, c.name, c.app_name, c.created_by, c.owner_id, o.number, c.join_code, \
     c.created_at, c.updated_at, c.last_message_id, c.last_sender, c.last_kind, c.last_event, \
     c.last_content, c.last_created_at, m.id, m.last_read_message_id \
     FROM members m JOIN conversations c ON c.id = m.conversation_id \
     JOIN phones o ON o.id = c.owner_id WHERE m.phone_id = ?1";
const PHONE_ID: &str = "SELECT id FROM phones WHERE number = ?1";
const INSERT_PHONE: &str = "INSERT INTO phones (number) VALUES (?1)";
const ID_BY_CODE: &str = "SELECT id FROM conversations WHERE join_code = ?1";
const INSERT_CONVERSATION: &str =
    "INSERT INTO conversations (name, created_by, owner_id, join_code, created_at, updated_at) \
     VALUES (?1, ?2, ?2, ?3, ?4, ?4)";
const MEMBER: &str = "SELECT id, last_read_message_id FROM members \
     WHERE conversation_id = ?1 AND phone_id = ?2";
/// With an alias unique in the conversation (0004): the phone's id makes one.
const INSERT_MEMBER: &str =
    "INSERT INTO members (conversation_id, phone_id, joined_at, last_read_message_id, alias, \
     alias_key) VALUES (?1, ?2, ?3, ?4, 'Floor ' || ?2, 'floor ' || ?2)";
const DELETE_MEMBER: &str = "DELETE FROM members WHERE conversation_id = ?1 AND phone_id = ?2";
const RECIPIENTS: &str = "SELECT m.id, p.number FROM members m JOIN phones p ON p.id = m.phone_id \
     WHERE m.conversation_id = ?1";
const OLDEST_MEMBER: &str = "SELECT phone_id, min(id) FROM members WHERE conversation_id = ?1";
const COUNT_MEMBERS: &str = "SELECT count(*) FROM members WHERE conversation_id = ?1";
const COUNT_MEMBERSHIPS_OF: &str = "SELECT count(*) FROM members WHERE phone_id = ?1";
const MARK_READ: &str = "UPDATE members SET last_read_message_id = max(last_read_message_id, ?3) \
     WHERE conversation_id = ?1 AND phone_id = ?2";
const INSERT_MESSAGE: &str =
    "INSERT INTO messages (conversation_id, sender_id, kind, event, content, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const TOUCH_CONVERSATION: &str =
    "UPDATE conversations SET last_message_id = ?2, updated_at = max(updated_at, ?3), \
     last_sender = (SELECT number FROM phones WHERE id = ?4), last_kind = ?5, \
     last_event = ?6, last_content = ?7, last_created_at = ?3 WHERE id = ?1";
const MESSAGES_BEFORE: &str = "SELECT m.id, p.number, m.content, m.kind, m.event, m.created_at \
     FROM messages m LEFT JOIN phones p ON p.id = m.sender_id \
     WHERE m.conversation_id = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3";
const COUNT_AFTER: &str = "SELECT count(*) FROM (SELECT 1 FROM messages \
     WHERE conversation_id = ?1 AND id > ?2 LIMIT ?3)";

/// Connection settings copied from the store's connection (all read back as integers).
const MIRRORED: [&str; 7] = [
    "synchronous",
    "wal_autocheckpoint",
    "journal_size_limit",
    "foreign_keys",
    "cache_size",
    "temp_store",
    "mmap_size",
];
const MIRRORED_CONFIG: [DbConfig; 1] = [DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG];

/// Unread counts stop here, as in the service.
const UNREAD_CAP: u32 = 999;

type R<T> = rusqlite::Result<T>;

impl Floor {
    /// Opens the floor's connection, configured like `store` (the store's own connection)
    /// when given.
    pub fn open(
        path: &Path,
        store: Option<&Connection>,
        page_size: u32,
        max_list: u32,
    ) -> R<Floor> {
        let mut conn = Connection::open(path)?;
        // The store's busy handler (not a pragma, so not mirrored below).
        conn.busy_handler(Some(darkchat::store::wait_for_lock))?;
        let conn = conn;
        conn.set_prepared_statement_cache_capacity(128);
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        match store {
            Some(store) => {
                for pragma in MIRRORED {
                    let value: i64 = store.pragma_query_value(None, pragma, |r| r.get(0))?;
                    conn.pragma_update(None, pragma, value)?;
                }
                for setting in MIRRORED_CONFIG {
                    conn.set_db_config(setting, store.db_config(setting)?)?;
                }
            }
            None => conn.execute_batch(
                "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; \
                 PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY; \
                 PRAGMA mmap_size = 268435456;",
            )?,
        }
        if store.is_none() {
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        }
        Ok(Floor { conn, page_size, max_list })
    }

    /// The settings that differ from SQLite's defaults on the store's connection, for the
    /// report.
    pub fn settings(&self) -> R<String> {
        let mut out = Vec::new();
        for pragma in MIRRORED {
            let value: i64 = self.conn.pragma_query_value(None, pragma, |r| r.get(0))?;
            out.push(format!("{pragma}={value}"));
        }
        for setting in MIRRORED_CONFIG {
            out.push(format!("{setting:?}={}", self.conn.db_config(setting)?));
        }
        Ok(out.join(" "))
    }

    /// Extra settings for what-if runs (`--floor-pragmas`).
    pub fn pragmas(&self, sql: &str) -> R<()> {
        self.conn.execute_batch(sql)
    }

    /// Create: new phone, quota, free code, conversation, creator as member, then the view.
    pub fn create(&self, number: &str, name: &str, code: &str, now: i64) -> R<i64> {
        self.write(|| {
            let phone = match self.phone_id(number)? {
                Some(id) => id,
                None => {
                    self.conn.prepare_cached(INSERT_PHONE)?.execute([number])?;
                    self.conn.last_insert_rowid()
                }
            };
            self.count(COUNT_MEMBERSHIPS_OF, phone)?;
            let taken: Option<i64> =
                self.conn.prepare_cached(ID_BY_CODE)?.query_row([code], |r| r.get(0)).optional()?;
            assert!(taken.is_none(), "generated code taken");
            self.conn
                .prepare_cached(INSERT_CONVERSATION)?
                .execute(params![name, phone, code, now])?;
            let id = self.conn.last_insert_rowid();
            self.conn.prepare_cached(INSERT_MEMBER)?.execute(params![id, phone, now, 0])?;
            self.view(id, phone)?;
            Ok(id)
        })
    }

    /// Add by a script: conversation, phone, not yet a member, both quotas, insert, "joined"
    /// message, recipients.
    pub fn add(&self, number: &str, id: i64, now: i64) -> R<()> {
        self.write(|| {
            self.conversation(id)?.expect("conversation exists");
            let phone = self.phone_id(number)?.expect("phone exists");
            self.join_member(id, phone, number, now)?;
            Ok(())
        })
    }

    /// Join by code: as add, plus reading up to the "joined" message and the joiner's view.
    pub fn join(&self, number: &str, code: &str, now: i64) -> R<()> {
        self.write(|| {
            let id: i64 = self.conn.prepare_cached(ID_BY_CODE)?.query_row([code], |r| r.get(0))?;
            let phone = self.phone_id(number)?.expect("phone exists");
            let message = self.join_member(id, phone, number, now)?;
            self.conn.prepare_cached(MARK_READ)?.execute(params![id, phone, message])?;
            self.view(id, phone)?;
            Ok(())
        })
    }

    /// Send: conversation, membership, message, read position, recipients.
    pub fn send(&self, number: &str, id: i64, text: &str, now: i64) -> R<()> {
        self.write(|| {
            self.conversation(id)?.expect("conversation exists");
            let phone = self.member_phone(id, number)?;
            let message = self.message(id, phone, "text", None, text, now)?;
            self.conn.prepare_cached(MARK_READ)?.execute(params![id, phone, message])?;
            self.recipients(id)?;
            Ok(())
        })
    }

    /// Remove a member who is not the owner (the benchmark removes members it added): delete,
    /// oldest remaining, "left"/"removed" message, recipients.
    pub fn remove(&self, number: &str, id: i64, is_self: bool, now: i64) -> R<()> {
        self.write(|| {
            self.conversation(id)?.expect("conversation exists");
            let phone = self.member_phone(id, number)?;
            self.conn.prepare_cached(DELETE_MEMBER)?.execute(params![id, phone])?;
            let _oldest: i64 =
                self.conn.prepare_cached(OLDEST_MEMBER)?.query_row([id], |r| r.get(0))?;
            let (event, verb) = if is_self { ("left", "left") } else { ("removed", "was removed") };
            self.message(id, phone, "system", Some(event), &format!("{number} {verb}"), now)?;
            self.recipients(id)?;
            Ok(())
        })
    }

    /// A member's conversation list, each with its last message and unread count.
    pub fn list(&self, number: &str) -> R<usize> {
        self.read(|| {
            let phone = self.phone_id(number)?.expect("phone exists");
            let mut stmt = self.conn.prepare_cached(CONVERSATIONS_OF)?;
            let mut rows: Vec<(Row, i64)> =
                stmt.query_map([phone], |r| Ok((row(r)?, r.get(16)?)))?.collect::<R<_>>()?;
            // Sorted here as the store does (an ORDER BY builds a temporary b-tree per call).
            rows.sort_unstable_by_key(|(r, _)| std::cmp::Reverse((r.updated_at, r.id)));
            rows.truncate(self.max_list as usize);
            // The last message comes with the row (kept beside the conversation).
            for (row, last_read) in &rows {
                if *last_read < row.last_message_id {
                    self.conn
                        .prepare_cached(COUNT_AFTER)?
                        .query_row(params![row.id, last_read, UNREAD_CAP], |r| {
                            r.get::<_, i64>(0)
                        })?;
                }
            }
            Ok(rows.len())
        })
    }

    /// The newest page of a conversation, for a member.
    pub fn page(&self, number: &str, id: i64, limit: u32) -> R<usize> {
        self.read(|| {
            self.conversation(id)?.expect("conversation exists");
            self.member_phone(id, number)?;
            Ok(self.messages(id, i64::MAX, limit)?.len())
        })
    }

    // --- pieces shared by the operations ------------------------------------------------

    fn write<T>(&self, f: impl FnOnce() -> R<T>) -> R<T> {
        self.transaction("BEGIN IMMEDIATE", f)
    }

    fn read<T>(&self, f: impl FnOnce() -> R<T>) -> R<T> {
        self.transaction("BEGIN", f)
    }

    /// `BEGIN`/`COMMIT` from the statement cache, as the store does (parsing them per call is
    /// measurable at this scale).
    fn transaction<T>(&self, begin: &str, f: impl FnOnce() -> R<T>) -> R<T> {
        self.conn.prepare_cached(begin)?.execute([])?;
        match f() {
            Ok(value) => {
                self.conn.prepare_cached("COMMIT")?.execute([])?;
                Ok(value)
            }
            Err(e) => {
                self.conn.prepare_cached("ROLLBACK")?.execute([])?;
                Err(e)
            }
        }
    }

    fn phone_id(&self, number: &str) -> R<Option<i64>> {
        self.conn.prepare_cached(PHONE_ID)?.query_row([number], |r| r.get(0)).optional()
    }

    fn conversation(&self, id: i64) -> R<Option<Row>> {
        self.conn.prepare_cached(CONVERSATION)?.query_row([id], row).optional()
    }

    fn member(&self, id: i64, phone: i64) -> R<Option<(i64, i64)>> {
        self.conn
            .prepare_cached(MEMBER)?
            .query_row(params![id, phone], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
    }

    fn member_phone(&self, id: i64, number: &str) -> R<i64> {
        let phone = self.phone_id(number)?.expect("phone exists");
        self.member(id, phone)?.expect("is a member");
        Ok(phone)
    }

    fn count(&self, sql: &str, key: i64) -> R<i64> {
        self.conn.prepare_cached(sql)?.query_row([key], |r| r.get(0))
    }

    /// Membership checks, insert, "joined" message, recipients; returns the message id.
    fn join_member(&self, id: i64, phone: i64, number: &str, now: i64) -> R<i64> {
        assert!(self.member(id, phone)?.is_none(), "already a member");
        self.count(COUNT_MEMBERS, id)?;
        self.count(COUNT_MEMBERSHIPS_OF, phone)?;
        self.conn.prepare_cached(INSERT_MEMBER)?.execute(params![id, phone, now, 0])?;
        let message =
            self.message(id, phone, "system", Some("joined"), &format!("{number} joined"), now)?;
        self.recipients(id)?;
        Ok(message)
    }

    fn message(
        &self,
        id: i64,
        sender: i64,
        kind: &str,
        event: Option<&str>,
        text: &str,
        now: i64,
    ) -> R<i64> {
        self.conn
            .prepare_cached(INSERT_MESSAGE)?
            .execute(params![id, sender, kind, event, text, now])?;
        let message = self.conn.last_insert_rowid();
        self.conn
            .prepare_cached(TOUCH_CONVERSATION)?
            .execute(params![id, message, now, sender, kind, event, text])?;
        Ok(message)
    }

    fn recipients(&self, id: i64) -> R<Vec<String>> {
        let mut members: Vec<(i64, String)> = self
            .conn
            .prepare_cached(RECIPIENTS)?
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<R<_>>()?;
        members.sort_unstable_by_key(|(id, _)| *id);
        Ok(members.into_iter().map(|(_, number)| number).collect())
    }

    fn messages(&self, id: i64, before: i64, limit: u32) -> R<Vec<Msg>> {
        let mut stmt = self.conn.prepare_cached(MESSAGES_BEFORE)?;
        let rows = stmt.query_map(params![id, before, limit], |r| {
            Ok(Msg {
                id: r.get(0)?,
                sender: r.get(1)?,
                content: r.get(2)?,
                kind: r.get(3)?,
                event: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?;
        let mut messages: Vec<Msg> = rows.collect::<R<_>>()?;
        messages.reverse();
        Ok(messages)
    }

    /// A conversation as its member sees it: row, membership, recipients, newest page, and
    /// the unread count when behind.
    fn view(&self, id: i64, phone: i64) -> R<()> {
        let row = self.conversation(id)?.expect("conversation exists");
        let (_, last_read) = self.member(id, phone)?.expect("is a member");
        self.recipients(id)?;
        self.messages(id, i64::MAX, self.page_size)?;
        if last_read < row.last_message_id {
            self.conn
                .prepare_cached(COUNT_AFTER)?
                .query_row(params![id, last_read, UNREAD_CAP], |r| r.get::<_, i64>(0))?;
        }
        Ok(())
    }
}

fn row(r: &rusqlite::Row<'_>) -> R<Row> {
    Ok(Row {
        id: r.get(0)?,
        name: r.get(1)?,
        app_name: r.get(2)?,
        created_by: r.get(3)?,
        owner_id: r.get(4)?,
        owner: r.get(5)?,
        join_code: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        last_message_id: r.get(9)?,
        last_message: match r.get::<_, Option<String>>(11)? {
            Some(kind) => Some(Msg {
                id: r.get(9)?,
                sender: r.get(10)?,
                kind,
                event: r.get(12)?,
                content: r.get(13)?,
                created_at: r.get(14)?,
            }),
            None => None,
        },
    })
}
