//! Every SQL statement of Darkchat, each in the method that owns it.
//!
//! A [`Tx`] is the view of one open transaction (read or write). Methods return `Option` for
//! "not found" and never decide domain rules: that is the service's job.

use std::cell::RefCell;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::numbers::NumberCache;
use crate::error::Result;
use crate::ids::{ConversationId, MessageId, PhoneId};
use crate::input::Alias;
use crate::model::{Ban, Extra, Listeners, Message, MessageKind, Report, StaffBan, SystemEvent};
use crate::storage::{
    ConversationRow, ImportedMessage, Listed, MemberEntry, MemberRow, MessageRow, NewMessage,
    RetentionCandidate, Stats,
};
use crate::transfer::{self, Cell, Sequences, Table};

pub struct Tx<'c> {
    conn: &'c Connection,
    numbers: &'c RefCell<NumberCache>,
    /// A read transaction: only committed rows are seen, so numbers may be remembered.
    reading: bool,
}

/// The columns [`Tx::conversation_row`] reads, as a macro so statements stay `&'static str`.
/// The owner's number is not joined in: it comes from the number cache (see [`Tx::number_of`]).
macro_rules! conversation_columns {
    () => {
        "c.id, c.name, c.app_name, c.created_by, c.owner_id, c.join_code, c.created_at, \
         c.updated_at, c.last_message_id, c.last_sender, c.last_kind, c.last_event, \
         c.last_content, c.last_created_at, c.last_sender_alias, c.last_extra, \
         c.retention_seconds"
    };
}

/// Columns read by [`Tx::conversation_row`], for statements that select more after them:
/// counted from the list itself, so the two cannot drift apart.
const CONVERSATION_COLUMNS: usize = column_count(conversation_columns!());

/// Items in a comma-separated column list.
const fn column_count(columns: &str) -> usize {
    let bytes = columns.as_bytes();
    let (mut i, mut commas) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b',' {
            commas += 1;
        }
        i += 1;
    }
    commas + 1
}

/// A text column borrowed from the row: the short codes (a message's kind and event) are only
/// matched, so copying them into a `String` per row is waste a page of 50 messages can feel.
fn optional_text<'r>(row: &'r Row<'_>, index: usize) -> rusqlite::Result<Option<&'r str>> {
    match row.get_ref(index)? {
        ValueRef::Null => Ok(None),
        value => value.as_str().map(Some).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(index, value.data_type(), Box::new(e))
        }),
    }
}

/// Ids are stored as SQLite integers.
macro_rules! sql_id {
    ($($name:ident),*) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($name)
            }
        }
    )*};
}

sql_id!(ConversationId, PhoneId, MessageId);

impl<'c> Tx<'c> {
    pub(super) fn new(
        conn: &'c Connection,
        numbers: &'c RefCell<NumberCache>,
        reading: bool,
    ) -> Self {
        Tx { conn, numbers, reading }
    }

    // --- phones -------------------------------------------------------------------------

    pub fn phone_id(&self, number: &str) -> Result<Option<PhoneId>> {
        let mut stmt = self.conn.prepare_cached("SELECT id FROM phones WHERE number = ?1")?;
        Ok(stmt.query_row([number], |r| r.get(0)).optional()?)
    }

    /// The phone id of `number`, creating it on first sight.
    pub fn ensure_phone(&self, number: &str) -> Result<PhoneId> {
        if let Some(id) = self.phone_id(number)? {
            return Ok(id);
        }
        let mut stmt = self.conn.prepare_cached("INSERT INTO phones (number) VALUES (?1)")?;
        stmt.execute([number])?;
        Ok(PhoneId(self.conn.last_insert_rowid()))
    }

    // --- conversations ------------------------------------------------------------------

    pub fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>> {
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations c WHERE c.id = ?1"
        ))?;
        let mut rows = stmt.query([id])?;
        rows.next()?.map(|row| self.conversation_row(row)).transpose()
    }

    /// A row of [`conversation_columns!`] with its owner's number.
    fn conversation_row(&self, row: &Row<'_>) -> Result<ConversationRow> {
        let owner_id: PhoneId = row.get(4)?;
        let last_message_id: MessageId = row.get(8)?;
        let last_message = match optional_text(row, 10)? {
            Some(kind) if last_message_id != MessageId::NONE => Some(Message {
                id: last_message_id,
                sender: row.get(9)?,
                sender_alias: row.get(14)?,
                kind: MessageKind::parse(kind),
                event: optional_text(row, 11)?.and_then(SystemEvent::parse),
                content: row.get(12)?,
                created_at: row.get(13)?,
                extra: Extra::from_stored(optional_text(row, 15)?),
            }),
            _ => None,
        };
        Ok(ConversationRow {
            id: row.get(0)?,
            name: row.get(1)?,
            app_name: row.get(2)?,
            created_by: row.get(3)?,
            owner_id,
            owner_number: self.number_of(owner_id)?,
            join_code: row.get(5)?,
            created_at: row.get(6)?,
            updated_at: row.get(7)?,
            last_message_id,
            last_message,
            retention_seconds: row.get(16)?,
        })
    }

    pub fn conversation_exists(&self, id: ConversationId) -> Result<bool> {
        let mut stmt = self.conn.prepare_cached("SELECT 1 FROM conversations WHERE id = ?1")?;
        Ok(stmt.exists([id])?)
    }

    pub fn conversation_id_by_code(&self, code: &str) -> Result<Option<ConversationId>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT id FROM conversations WHERE join_code = ?1")?;
        Ok(stmt.query_row([code], |r| r.get(0)).optional()?)
    }

    pub fn insert_conversation(
        &self,
        name: &str,
        creator: PhoneId,
        join_code: &str,
        now: i64,
    ) -> Result<ConversationId> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO conversations (name, created_by, owner_id, join_code, created_at, updated_at) \
             VALUES (?1, ?2, ?2, ?3, ?4, ?4)",
        )?;
        stmt.execute(params![name, creator, join_code, now])?;
        Ok(ConversationId(self.conn.last_insert_rowid()))
    }

    pub fn set_owner(&self, conversation: ConversationId, phone: PhoneId) -> Result<()> {
        let mut stmt =
            self.conn.prepare_cached("UPDATE conversations SET owner_id = ?2 WHERE id = ?1")?;
        stmt.execute(params![conversation, phone])?;
        Ok(())
    }

    pub fn set_name(&self, conversation: ConversationId, name: &str, now: i64) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE conversations SET name = ?2, updated_at = max(updated_at, ?3) WHERE id = ?1",
        )?;
        stmt.execute(params![conversation, name, now])?;
        Ok(())
    }

    pub fn set_join_code(&self, conversation: ConversationId, code: &str) -> Result<()> {
        let mut stmt =
            self.conn.prepare_cached("UPDATE conversations SET join_code = ?2 WHERE id = ?1")?;
        stmt.execute(params![conversation, code])?;
        Ok(())
    }

    /// Deletes the conversation; members and messages go with it (ON DELETE CASCADE).
    pub fn delete_conversation(&self, conversation: ConversationId) -> Result<()> {
        let mut stmt = self.conn.prepare_cached("DELETE FROM conversations WHERE id = ?1")?;
        stmt.execute([conversation])?;
        Ok(())
    }

    /// Conversations of `phone`, most recently active first, at most `limit`, each with the
    /// member's unread count up to `unread_cap`.
    ///
    /// Sorted here rather than by `ORDER BY ... LIMIT`: SQLite sorts that through a temporary
    /// b-tree it builds and frees per call, which cost more than reading the rows (callgrind).
    /// A number is in at most `maxConversationsPerNumber` conversations, so all of its rows are
    /// few.
    pub fn conversations_of(
        &self,
        phone: PhoneId,
        limit: u32,
        unread_cap: u32,
    ) -> Result<Vec<Listed>> {
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT ",
            conversation_columns!(),
            ", m.id, m.last_read_message_id, m.is_moderator, m.muted, m.alias \
             FROM members m JOIN conversations c ON c.id = m.conversation_id WHERE m.phone_id = ?1"
        ))?;
        let mut rows = stmt.query([phone])?;
        let mut list = Vec::new();
        while let Some(row) = rows.next()? {
            let member = MemberRow {
                id: row.get(CONVERSATION_COLUMNS)?,
                last_read_message_id: row.get(CONVERSATION_COLUMNS + 1)?,
                is_moderator: row.get(CONVERSATION_COLUMNS + 2)?,
                muted: row.get(CONVERSATION_COLUMNS + 3)?,
                alias: row.get(CONVERSATION_COLUMNS + 4)?,
            };
            list.push((self.conversation_row(row)?, member));
        }
        list.sort_unstable_by_key(|(c, _)| std::cmp::Reverse((c.updated_at, c.id)));
        list.truncate(limit as usize);
        list.into_iter()
            .map(|(row, member)| {
                let unread = self.unread(&row, member.last_read_message_id, unread_cap)?;
                Ok(Listed { row, member, unread })
            })
            .collect()
    }

    /// Messages of `row` after `read_up_to`, up to `cap`; none without a look at the messages
    /// when the read position is the newest message.
    pub fn unread(&self, row: &ConversationRow, read_up_to: MessageId, cap: u32) -> Result<i64> {
        if read_up_to >= row.last_message_id {
            return Ok(0);
        }
        self.count_messages_after(row.id, read_up_to, cap)
    }

    /// All conversations, newest first, at most `limit` (admin listing).
    pub fn all_conversations(&self, limit: u32) -> Result<Vec<ConversationRow>> {
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations c ORDER BY c.id DESC LIMIT ?1"
        ))?;
        let mut rows = stmt.query([limit])?;
        let mut list = Vec::new();
        while let Some(row) = rows.next()? {
            list.push(self.conversation_row(row)?);
        }
        Ok(list)
    }

    /// Counts, the file's size and schema version, for `darkchat stats`.
    pub fn stats(&self) -> Result<Stats> {
        Ok(Stats {
            conversations: self.count("SELECT count(*) FROM conversations", [])?,
            memberships: self.count("SELECT count(*) FROM members", [])?,
            messages: self.count("SELECT count(*) FROM messages", [])?,
            phones: self.count("SELECT count(*) FROM phones", [])?,
            size_bytes: self.count(
                "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
                [],
            )?,
            schema_version: super::migrations::version(self.conn)?,
            location: self.conn.path().filter(|p| !p.is_empty()).map(str::to_owned),
        })
    }

    /// A full `PRAGMA integrity_check`: "ok" or SQLite's first complaint.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    // --- members ------------------------------------------------------------------------

    pub fn member(
        &self,
        conversation: ConversationId,
        phone: PhoneId,
    ) -> Result<Option<MemberRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, last_read_message_id, is_moderator, muted, alias FROM members \
             WHERE conversation_id = ?1 AND phone_id = ?2",
        )?;
        Ok(stmt
            .query_row(params![conversation, phone], |r| {
                Ok(MemberRow {
                    id: r.get(0)?,
                    last_read_message_id: r.get(1)?,
                    is_moderator: r.get(2)?,
                    muted: r.get(3)?,
                    alias: r.get(4)?,
                })
            })
            .optional()?)
    }

    /// The phone id of `number` if it is a member of `conversation`.
    pub fn member_phone_id(
        &self,
        conversation: ConversationId,
        number: &str,
    ) -> Result<Option<PhoneId>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.phone_id FROM phones p JOIN members m \
             ON m.conversation_id = ?1 AND m.phone_id = p.id WHERE p.number = ?2",
        )?;
        Ok(stmt.query_row(params![conversation, number], |r| r.get(0)).optional()?)
    }

    /// [`Tx::member_phone_id`] with the member's alias.
    pub fn member_with_alias(
        &self,
        conversation: ConversationId,
        number: &str,
    ) -> Result<Option<(PhoneId, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.phone_id, m.alias FROM phones p JOIN members m \
             ON m.conversation_id = ?1 AND m.phone_id = p.id WHERE p.number = ?2",
        )?;
        Ok(stmt
            .query_row(params![conversation, number], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    pub fn insert_member(
        &self,
        conversation: ConversationId,
        phone: PhoneId,
        alias: &Alias,
        now: i64,
        read_up_to: MessageId,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO members \
             (conversation_id, phone_id, joined_at, last_read_message_id, alias, alias_key) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        stmt.execute(params![conversation, phone, now, read_up_to, alias.as_str(), alias.key()])?;
        Ok(())
    }

    pub fn set_alias(
        &self,
        conversation: ConversationId,
        phone: PhoneId,
        alias: &Alias,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE members SET alias = ?3, alias_key = ?4 WHERE conversation_id = ?1 AND phone_id = ?2",
        )?;
        stmt.execute(params![conversation, phone, alias.as_str(), alias.key()])?;
        Ok(())
    }

    pub fn set_moderator(
        &self,
        conversation: ConversationId,
        phone: PhoneId,
        on: bool,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE members SET is_moderator = ?3 WHERE conversation_id = ?1 AND phone_id = ?2",
        )?;
        stmt.execute(params![conversation, phone, on])?;
        Ok(())
    }

    pub fn set_muted(&self, conversation: ConversationId, phone: PhoneId, on: bool) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE members SET muted = ?3 WHERE conversation_id = ?1 AND phone_id = ?2",
        )?;
        stmt.execute(params![conversation, phone, on])?;
        Ok(())
    }

    /// Members with aliases and roles, longest-standing first (sorted here, as in
    /// [`Tx::listeners`]).
    pub fn members(&self, conversation: ConversationId) -> Result<Vec<MemberEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, m.phone_id, p.number, m.alias, m.is_moderator, m.muted \
             FROM members m JOIN phones p ON p.id = m.phone_id WHERE m.conversation_id = ?1",
        )?;
        let rows = stmt.query_map([conversation], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                MemberEntry {
                    phone: r.get(1)?,
                    number: r.get(2)?,
                    alias: r.get(3)?,
                    is_moderator: r.get(4)?,
                    muted: r.get(5)?,
                },
            ))
        })?;
        let mut members: Vec<(i64, MemberEntry)> = rows.collect::<rusqlite::Result<_>>()?;
        members.sort_unstable_by_key(|(id, _)| *id);
        Ok(members.into_iter().map(|(_, member)| member).collect())
    }

    pub fn member_by_alias(
        &self,
        conversation: ConversationId,
        alias_key: &str,
    ) -> Result<Option<MemberEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.phone_id, p.number, m.alias, m.is_moderator, m.muted \
             FROM members m JOIN phones p ON p.id = m.phone_id \
             WHERE m.conversation_id = ?1 AND m.alias_key = ?2",
        )?;
        Ok(stmt
            .query_row(params![conversation, alias_key], |r| {
                Ok(MemberEntry {
                    phone: r.get(0)?,
                    number: r.get(1)?,
                    alias: r.get(2)?,
                    is_moderator: r.get(3)?,
                    muted: r.get(4)?,
                })
            })
            .optional()?)
    }

    pub fn alias_of(&self, conversation: ConversationId, phone: PhoneId) -> Result<Option<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT alias FROM members WHERE conversation_id = ?1 AND phone_id = ?2",
        )?;
        Ok(stmt.query_row(params![conversation, phone], |r| r.get(0)).optional()?)
    }

    // --- bans ---------------------------------------------------------------------------

    pub fn is_banned(&self, conversation: ConversationId, phone: PhoneId) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM bans WHERE conversation_id = ?1 AND phone_id = ?2")?;
        Ok(stmt.exists(params![conversation, phone])?)
    }

    pub fn bans(&self, conversation: ConversationId) -> Result<Vec<Ban>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT b.id, p.number, b.alias, b.created_at FROM bans b \
             JOIN phones p ON p.id = b.phone_id WHERE b.conversation_id = ?1",
        )?;
        let rows = stmt.query_map([conversation], |r| {
            Ok(Ban { id: r.get(0)?, number: r.get(1)?, alias: r.get(2)?, created_at: r.get(3)? })
        })?;
        // Sorted here, as in `recipients`: no temporary b-tree per call.
        let mut bans: Vec<Ban> = rows.collect::<rusqlite::Result<_>>()?;
        bans.sort_unstable_by_key(|b| b.id);
        Ok(bans)
    }

    pub fn count_bans(&self, conversation: ConversationId) -> Result<i64> {
        self.count("SELECT count(*) FROM bans WHERE conversation_id = ?1", [conversation])
    }

    pub fn insert_ban(
        &self,
        conversation: ConversationId,
        phone: PhoneId,
        alias: &str,
        now: i64,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO bans (conversation_id, phone_id, alias, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        stmt.execute(params![conversation, phone, alias, now])?;
        Ok(())
    }

    pub fn delete_ban(&self, conversation: ConversationId, phone: PhoneId) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("DELETE FROM bans WHERE conversation_id = ?1 AND phone_id = ?2")?;
        stmt.execute(params![conversation, phone])?;
        Ok(())
    }

    pub fn delete_member(&self, conversation: ConversationId, phone: PhoneId) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("DELETE FROM members WHERE conversation_id = ?1 AND phone_id = ?2")?;
        stmt.execute(params![conversation, phone])?;
        Ok(())
    }

    /// [`crate::storage::Read::listeners`].
    ///
    /// Sorted here: an `ORDER BY m.id` made SQLite build and free a temporary b-tree on every
    /// call (the index it reads is ordered by phone), and this runs with every message sent.
    pub fn listeners(&self, conversation: ConversationId) -> Result<Listeners> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, p.number, m.muted FROM members m JOIN phones p ON p.id = m.phone_id \
             WHERE m.conversation_id = ?1",
        )?;
        let rows = stmt.query_map([conversation], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?))
        })?;
        let mut members: Vec<(i64, String, bool)> = rows.collect::<rusqlite::Result<_>>()?;
        members.sort_unstable_by_key(|(id, ..)| *id);
        Ok(members.into_iter().map(|(_, number, muted)| (number, muted)).collect())
    }

    pub fn count_members(&self, conversation: ConversationId) -> Result<i64> {
        self.count("SELECT count(*) FROM members WHERE conversation_id = ?1", [conversation])
    }

    pub fn count_memberships_of(&self, phone: PhoneId) -> Result<i64> {
        self.count("SELECT count(*) FROM members WHERE phone_id = ?1", [phone])
    }

    /// [`Tx::count_memberships_of`] the phone of `number`, found in the same statement.
    pub fn count_memberships_of_number(&self, number: &str) -> Result<i64> {
        self.count(
            "SELECT count(*) FROM members WHERE phone_id = (SELECT id FROM phones WHERE number = ?1)",
            [number],
        )
    }

    /// Moves a member's read position forward (never back).
    pub fn mark_read(
        &self,
        conversation: ConversationId,
        phone: PhoneId,
        up_to: MessageId,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE members SET last_read_message_id = max(last_read_message_id, ?3) \
             WHERE conversation_id = ?1 AND phone_id = ?2",
        )?;
        stmt.execute(params![conversation, phone, up_to])?;
        Ok(())
    }

    /// [`crate::storage::Write::mark_read_guarded`]: one `UPDATE`, whose changed-row count is
    /// the rows its `WHERE` matched (SQLite counts a row written with its own value).
    pub fn mark_read_guarded(
        &self,
        conversation: ConversationId,
        number: &str,
        up_to: Option<MessageId>,
        unbanned_at: Option<i64>,
    ) -> Result<bool> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE members SET last_read_message_id = max(last_read_message_id, \
               (SELECT min(coalesce(?3, c.last_message_id), c.last_message_id) \
                FROM conversations c WHERE c.id = members.conversation_id)) \
             WHERE conversation_id = ?1 \
               AND phone_id = (SELECT id FROM phones WHERE number = ?2) \
               AND NOT EXISTS (SELECT 1 FROM staff_bans b WHERE b.number = ?4 \
                               AND (b.expires_at IS NULL OR b.expires_at > ?5))",
        )?;
        let banned_number = unbanned_at.map(|_| number);
        let found =
            stmt.execute(params![conversation, number, up_to, banned_number, unbanned_at])?;
        Ok(found > 0)
    }

    // --- disappearing messages (crate::service::retention) ----------------------------

    pub fn set_retention(&self, conversation: ConversationId, seconds: i64) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE conversations SET retention_seconds = ?2 WHERE id = ?1")?;
        stmt.execute(params![conversation, seconds])?;
        Ok(())
    }

    /// Conversations after `after` in id order (those with a retention only, unless `all`),
    /// each with what the sweep decides on (see [`RetentionCandidate`]).
    pub fn retention_candidates(
        &self,
        after: i64,
        all: bool,
        max_count: u32,
        limit: u32,
    ) -> Result<Vec<RetentionCandidate>> {
        // The oldest message by one seek in messages_expiry; over the count cap by a walk down
        // the newest-first id range, up to the cap's length (the service reads fewer
        // conversations a step when the cap is large).
        macro_rules! candidates {
            ($filter:literal) => {
                concat!(
                    "SELECT c.id, c.retention_seconds, \
                     (SELECT m.created_at FROM messages m WHERE m.conversation_id = c.id \
                     ORDER BY m.created_at LIMIT 1), \
                     CASE WHEN ?3 > 0 THEN (SELECT m.id FROM messages m \
                     WHERE m.conversation_id = c.id ORDER BY m.id DESC LIMIT 1 OFFSET ?3) END \
                     FROM conversations c WHERE ",
                    $filter,
                    "c.id > ?1 ORDER BY c.id LIMIT ?2"
                )
            };
        }
        let sql = if all { candidates!("") } else { candidates!("c.retention_seconds > 0 AND ") };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![after, limit, max_count], |r| {
            Ok(RetentionCandidate {
                id: r.get(0)?,
                retention_seconds: r.get(1)?,
                oldest_at: r.get(2)?,
                over_count: r.get::<_, Option<i64>>(3)?.is_some(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The id of the message of `conversation` with `offset` newer ones.
    pub fn message_id_from_newest(
        &self,
        conversation: ConversationId,
        offset: u32,
    ) -> Result<Option<MessageId>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM messages WHERE conversation_id = ?1 \
             ORDER BY id DESC LIMIT 1 OFFSET ?2",
        )?;
        Ok(stmt.query_row(params![conversation, offset], |r| r.get(0)).optional()?)
    }

    /// Deletes up to `limit` messages of `conversation` written before `before`, oldest first.
    pub fn delete_messages_before_time(
        &self,
        conversation: ConversationId,
        before: i64,
        limit: u32,
    ) -> Result<i64> {
        let mut stmt = self.conn.prepare_cached(
            "DELETE FROM messages WHERE id IN (SELECT id FROM messages \
             WHERE conversation_id = ?1 AND created_at < ?2 ORDER BY created_at LIMIT ?3)",
        )?;
        Ok(stmt.execute(params![conversation, before, limit])? as i64)
    }

    /// Deletes up to `limit` messages of `conversation` with ids up to `up_to`, oldest first.
    pub fn delete_messages_up_to(
        &self,
        conversation: ConversationId,
        up_to: MessageId,
        limit: u32,
    ) -> Result<i64> {
        let mut stmt = self.conn.prepare_cached(
            "DELETE FROM messages WHERE id IN (SELECT id FROM messages \
             WHERE conversation_id = ?1 AND id <= ?2 ORDER BY id LIMIT ?3)",
        )?;
        Ok(stmt.execute(params![conversation, up_to, limit])? as i64)
    }

    /// Makes the newest message left the conversation's copy when its copy names a message
    /// that is gone (none left: no copy, `last_message_id` 0).
    pub fn refresh_last_message(&self, conversation: ConversationId) -> Result<()> {
        let mut stale = self.conn.prepare_cached(
            "SELECT 1 FROM conversations c WHERE c.id = ?1 AND c.last_message_id > 0 \
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = c.last_message_id)",
        )?;
        if !stale.exists([conversation])? {
            return Ok(());
        }
        let mut newest = self.conn.prepare_cached(
            "SELECT id, sender_id, kind, event, content, created_at, sender_alias, extra \
             FROM messages WHERE conversation_id = ?1 ORDER BY id DESC LIMIT 1",
        )?;
        let mut rows = newest.query([conversation])?;
        let mut copy = self.conn.prepare_cached(
            "UPDATE conversations SET last_message_id = ?2, \
             last_sender = (SELECT number FROM phones WHERE id = ?3), last_kind = ?4, \
             last_event = ?5, last_content = ?6, last_created_at = ?7, last_sender_alias = ?8, \
             last_extra = ?9 WHERE id = ?1",
        )?;
        match rows.next()? {
            Some(n) => copy.execute(params![
                conversation,
                n.get::<_, MessageId>(0)?,
                n.get::<_, Option<PhoneId>>(1)?,
                n.get::<_, String>(2)?,
                n.get::<_, Option<String>>(3)?,
                n.get::<_, String>(4)?,
                n.get::<_, i64>(5)?,
                n.get::<_, Option<String>>(6)?,
                n.get::<_, Option<String>>(7)?
            ])?,
            None => copy.execute(params![
                conversation,
                MessageId::NONE,
                None::<PhoneId>,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<i64>,
                None::<String>,
                None::<String>
            ])?,
        };
        Ok(())
    }

    // --- messages -----------------------------------------------------------------------

    /// Stores a message and makes it the conversation's newest: `updated_at` moves and the
    /// conversation keeps a copy of it for listings.
    pub fn insert_full_message(
        &self,
        conversation: ConversationId,
        new: &NewMessage<'_>,
        extra: Option<&str>,
        now: i64,
    ) -> Result<MessageId> {
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO messages (conversation_id, sender_id, kind, event, content, created_at, \
             sender_alias, reply_to, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let (kind, event) = (new.kind.as_str(), new.event.map(SystemEvent::as_str));
        insert.execute(params![
            conversation,
            new.sender,
            kind,
            event,
            new.content,
            now,
            new.sender_alias,
            new.reply_to,
            extra
        ])?;
        let id = MessageId(self.conn.last_insert_rowid());
        let mut touch = self.conn.prepare_cached(
            "UPDATE conversations SET last_message_id = ?2, updated_at = max(updated_at, ?3), \
             last_sender = (SELECT number FROM phones WHERE id = ?4), last_kind = ?5, \
             last_event = ?6, last_content = ?7, last_created_at = ?3, last_sender_alias = ?8, \
             last_extra = ?9 WHERE id = ?1",
        )?;
        touch.execute(params![
            conversation,
            id,
            now,
            new.sender,
            kind,
            event,
            new.content,
            new.sender_alias,
            extra
        ])?;
        Ok(id)
    }

    /// Replaces a message's content and extra, and the conversation's copy when it is the
    /// newest.
    pub fn rewrite_message(
        &self,
        conversation: ConversationId,
        message: MessageId,
        content: Option<&str>,
        extra: Option<&str>,
    ) -> Result<()> {
        let mut update = self.conn.prepare_cached(
            "UPDATE messages SET content = coalesce(?3, content), extra = ?4 \
             WHERE conversation_id = ?1 AND id = ?2",
        )?;
        update.execute(params![conversation, message, content, extra])?;
        let mut copy = self.conn.prepare_cached(
            "UPDATE conversations SET last_content = coalesce(?3, last_content), last_extra = ?4 \
             WHERE id = ?1 AND last_message_id = ?2",
        )?;
        copy.execute(params![conversation, message, content, extra])?;
        Ok(())
    }

    /// Message `message` of `conversation` (none when it belongs to another).
    pub fn message(
        &self,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<Option<MessageRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, sender_id, content, kind, event, created_at, sender_alias, extra \
             FROM messages WHERE conversation_id = ?1 AND id = ?2",
        )?;
        let mut rows = stmt.query(params![conversation, message])?;
        let Some(row) = rows.next()? else { return Ok(None) };
        let sender_id: Option<PhoneId> = row.get(1)?;
        Ok(Some(MessageRow { message: self.message_row(row)?, sender_id }))
    }

    /// The messages of `conversation` answering `message`, with their extras.
    pub fn replies_to(
        &self,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<Vec<(MessageId, Extra)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, extra FROM messages WHERE reply_to = ?2 AND conversation_id = ?1",
        )?;
        let rows = stmt.query_map(params![conversation, message], |r| {
            Ok((r.get::<_, MessageId>(0)?, Extra::from_stored(optional_text(r, 1)?)))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A row of `id, sender_id, content, kind, event, created_at, sender_alias, extra`.
    fn message_row(&self, row: &Row<'_>) -> Result<Message> {
        let sender = match row.get::<_, Option<PhoneId>>(1)? {
            Some(phone) => Some(self.number_of(phone)?),
            None => None,
        };
        Ok(Message {
            id: row.get(0)?,
            sender,
            sender_alias: row.get(6)?,
            content: row.get(2)?,
            kind: MessageKind::parse(optional_text(row, 3)?.unwrap_or_default()),
            event: optional_text(row, 4)?.and_then(SystemEvent::parse),
            created_at: row.get(5)?,
            extra: Extra::from_stored(optional_text(row, 7)?),
        })
    }

    /// Up to `limit` messages older than `before` (all newest when `before` is None),
    /// returned oldest first.
    pub fn messages_before(
        &self,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, sender_id, content, kind, event, created_at, sender_alias, extra \
             FROM messages WHERE conversation_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
        )?;
        let mut rows =
            stmt.query(params![conversation, before.map_or(i64::MAX, MessageId::get), limit])?;
        let mut messages = Vec::with_capacity(limit as usize);
        while let Some(row) = rows.next()? {
            messages.push(self.message_row(row)?);
        }
        messages.reverse();
        Ok(messages)
    }

    /// The number of phone `id` (a message's sender, a conversation's owner), from the cache
    /// when it is there.
    fn number_of(&self, id: PhoneId) -> Result<String> {
        if let Some(number) = self.numbers.borrow().get(id) {
            return Ok(number.to_owned());
        }
        let mut stmt = self.conn.prepare_cached("SELECT number FROM phones WHERE id = ?1")?;
        let number: String = stmt.query_row([id], |r| r.get(0))?;
        if self.reading {
            self.numbers.borrow_mut().insert(id, &number);
        }
        Ok(number)
    }

    /// Messages after `after` in the conversation, counted up to `cap` (unread badge).
    pub fn count_messages_after(
        &self,
        conversation: ConversationId,
        after: MessageId,
        cap: u32,
    ) -> Result<i64> {
        self.count(
            "SELECT count(*) FROM (SELECT 1 FROM messages \
             WHERE conversation_id = ?1 AND id > ?2 LIMIT ?3)",
            params![conversation, after, cap],
        )
    }

    // --- standalone numbers -------------------------------------------------------------

    pub fn standalone_number(&self, license: &str) -> Result<Option<String>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT number FROM standalone_numbers WHERE license = ?1")?;
        Ok(stmt.query_row([license], |r| r.get(0)).optional()?)
    }

    pub fn standalone_number_taken(&self, number: &str) -> Result<bool> {
        let mut stmt =
            self.conn.prepare_cached("SELECT 1 FROM standalone_numbers WHERE number = ?1")?;
        Ok(stmt.exists([number])?)
    }

    pub fn insert_standalone_number(&self, license: &str, number: &str, now: i64) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO standalone_numbers (license, number, created_at) VALUES (?1, ?2, ?3)",
        )?;
        stmt.execute(params![license, number, now])?;
        Ok(())
    }

    // --- moving a store (darkchat migrate-storage) -------------------------------------------

    pub fn export_rows(
        &self,
        table: &'static Table,
        after: Option<&Cell>,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>> {
        let sql = transfer::sql(table, false);
        let limit = i64::from(limit);
        let mut stmt = self.conn.prepare_cached(match after {
            None => sql.first_page,
            Some(_) => sql.page_after,
        })?;
        let read = |r: &Row<'_>| {
            (0..table.columns.len())
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => Cell::Null,
                        ValueRef::Integer(n) => Cell::Int(n),
                        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                        other => {
                            return Err(rusqlite::Error::InvalidColumnType(
                                i,
                                table.columns[i].0.to_owned(),
                                other.data_type(),
                            ))
                        }
                    })
                })
                .collect::<rusqlite::Result<Vec<Cell>>>()
        };
        let rows = match after {
            None => stmt.query_map(params![limit], read)?.collect::<rusqlite::Result<Vec<_>>>(),
            Some(key) => {
                stmt.query_map(params![key, limit], read)?.collect::<rusqlite::Result<Vec<_>>>()
            }
        }?;
        Ok(rows)
    }

    pub fn table_counts(&self) -> Result<Vec<i64>> {
        transfer::TABLES.iter().map(|t| self.count(transfer::sql(t, false).count, [])).collect()
    }

    /// `sqlite_sequence` holds the largest id an AUTOINCREMENT table ever handed out (no row
    /// until it handed out one).
    pub fn sequences(&self) -> Result<Sequences> {
        let mut stmt =
            self.conn.prepare_cached("SELECT max(seq) FROM sqlite_sequence WHERE name = ?1")?;
        transfer::TABLES
            .iter()
            .filter(|t| t.sequence)
            .map(|t| {
                let seq: Option<i64> = stmt.query_row([t.name], |r| r.get(0))?;
                Ok((t, seq.unwrap_or(0).max(0) as u64))
            })
            .collect()
    }

    pub fn import_rows(&self, table: &'static Table, rows: &[Vec<Cell>]) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(transfer::sql(table, false).insert)?;
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row))?;
        }
        Ok(())
    }

    /// Inserting a row with an explicit id already moves `sqlite_sequence` up to it; this
    /// raises it further, to ids used by rows deleted since.
    pub fn raise_sequence(&self, table: &'static Table, high_water: u64) -> Result<()> {
        let value = i64::try_from(high_water).map_err(|_| crate::Error::invalid("sequence"))?;
        let updated = self.conn.execute(
            "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = ?2",
            params![value, table.name],
        )?;
        if updated == 0 && value > 0 {
            self.conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
                params![table.name, value],
            )?;
        }
        Ok(())
    }

    pub fn delete_all_rows(&self) -> Result<()> {
        for table in transfer::TABLES.iter().rev() {
            self.conn.execute(transfer::sql(table, false).delete_all, [])?;
        }
        Ok(())
    }

    // --- imports from other phones (darkchat import) -------------------------------------------

    pub fn imported(&self, source_key: &str) -> Result<Option<ConversationId>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT conversation_id FROM imports WHERE source_key = ?1")?;
        Ok(stmt.query_row([source_key], |r| r.get(0)).optional()?.map(ConversationId))
    }

    pub fn record_import(&self, source_key: &str, id: ConversationId, now: i64) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO imports (source_key, conversation_id, imported_at) VALUES (?1, ?2, ?3)",
        )?;
        stmt.execute(params![source_key, id, now])?;
        Ok(())
    }

    /// Each message as a sent one is stored, in order: the last becomes the newest.
    pub fn insert_imported_messages(
        &self,
        id: ConversationId,
        messages: &[ImportedMessage],
    ) -> Result<MessageId> {
        let mut last = MessageId::NONE;
        for m in messages {
            let new = NewMessage {
                sender: Some(m.sender),
                sender_alias: Some(&m.sender_alias),
                kind: MessageKind::Text,
                event: None,
                content: &m.content,
                reply_to: None,
            };
            last = self.insert_full_message(id, &new, None, m.created_at)?;
        }
        Ok(last)
    }

    fn count(&self, sql: &str, params: impl rusqlite::Params) -> Result<i64> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        Ok(stmt.query_row(params, |r| r.get(0))?)
    }
}

// --- staff tools and reports ---------------------------------------------------------------

/// A report row, columns in the order the report statements below select them.
fn report_row(r: &Row<'_>) -> rusqlite::Result<Report> {
    Ok(Report {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        message_id: r.get(2)?,
        reporter: r.get(3)?,
        reporter_alias: r.get(4)?,
        sender: r.get(5)?,
        sender_alias: r.get(6)?,
        content: r.get(7)?,
        reason: r.get(8)?,
        created_at: r.get(9)?,
    })
}

fn staff_ban_row(r: &Row<'_>) -> rusqlite::Result<StaffBan> {
    Ok(StaffBan {
        number: r.get(0)?,
        reason: r.get(1)?,
        created_at: r.get(2)?,
        expires_at: r.get(3)?,
    })
}

impl Tx<'_> {
    pub fn staff_ban(&self, number: &str, now: i64) -> Result<Option<StaffBan>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT number, reason, created_at, expires_at FROM staff_bans \
             WHERE number = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
        )?;
        Ok(stmt.query_row(params![number, now], staff_ban_row).optional()?)
    }

    pub fn staff_bans(&self, now: i64, limit: u32) -> Result<Vec<StaffBan>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT number, reason, created_at, expires_at FROM staff_bans \
             WHERE +expires_at IS NULL OR +expires_at > ?1 \
             ORDER BY created_at DESC, number DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now, limit], staff_ban_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn count_staff_bans(&self, now: i64) -> Result<i64> {
        self.count(
            "SELECT count(*) FROM staff_bans WHERE expires_at IS NULL OR expires_at > ?1",
            [now],
        )
    }

    pub fn insert_staff_ban(&self, ban: &StaffBan) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO staff_bans (number, reason, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        stmt.execute(params![ban.number, ban.reason, ban.created_at, ban.expires_at])?;
        Ok(())
    }

    pub fn delete_staff_ban(&self, number: &str) -> Result<()> {
        let mut stmt = self.conn.prepare_cached("DELETE FROM staff_bans WHERE number = ?1")?;
        stmt.execute([number])?;
        Ok(())
    }

    pub fn delete_expired_staff_bans(&self, now: i64) -> Result<()> {
        let mut stmt = self.conn.prepare_cached("DELETE FROM staff_bans WHERE expires_at <= ?1")?;
        stmt.execute([now])?;
        Ok(())
    }

    pub fn reports(&self, limit: u32) -> Result<Vec<Report>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, conversation_id, message_id, reporter, reporter_alias, sender, \
             sender_alias, content, reason, created_at FROM reports ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], report_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn report(&self, id: i64) -> Result<Option<Report>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, conversation_id, message_id, reporter, reporter_alias, sender, \
             sender_alias, content, reason, created_at FROM reports WHERE id = ?1",
        )?;
        Ok(stmt.query_row([id], report_row).optional()?)
    }

    pub fn count_reports(&self) -> Result<i64> {
        self.count("SELECT count(*) FROM reports", [])
    }

    pub fn reported(&self, message: MessageId, reporter: &str) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM reports WHERE message_id = ?1 AND reporter = ?2")?;
        Ok(stmt.exists(params![message, reporter])?)
    }

    pub fn insert_report(&self, r: &Report) -> Result<i64> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO reports (conversation_id, message_id, reporter, reporter_alias, sender, \
             sender_alias, content, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        stmt.execute(params![
            r.conversation_id,
            r.message_id,
            r.reporter,
            r.reporter_alias,
            r.sender,
            r.sender_alias,
            r.content,
            r.reason,
            r.created_at
        ])?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn delete_report(&self, id: i64) -> Result<()> {
        let mut stmt = self.conn.prepare_cached("DELETE FROM reports WHERE id = ?1")?;
        stmt.execute([id])?;
        Ok(())
    }

    pub fn delete_oldest_reports(&self, count: i64) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "DELETE FROM reports WHERE id IN (SELECT id FROM reports ORDER BY id LIMIT ?1)",
        )?;
        stmt.execute([count])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Runs `test` on a view of `store` outside any transaction (each statement commits).
    fn on(store: &Store, test: impl FnOnce(&Tx<'_>)) {
        test(&Tx::new(&store.conn, &store.numbers, false));
    }

    /// `darkchat stats` names the database's file; an in-memory store has none.
    #[test]
    fn stats_name_the_file_and_no_file_in_memory() {
        let dir = crate::scratch::Scratch::new("stats-location");
        let path = dir.join("darkchat.db");
        on(&Store::open(&path).unwrap(), |tx| {
            let location = tx.stats().unwrap().location.expect("a file store has a location");
            assert_eq!(std::path::Path::new(&location), path);
        });
        on(&Store::open_in_memory().unwrap(), |tx| assert_eq!(tx.stats().unwrap().location, None));
    }

    #[test]
    fn a_standalone_number_is_taken_once_stored() {
        on(&Store::open_in_memory().unwrap(), |tx| {
            assert!(!tx.standalone_number_taken("5550101").unwrap());
            tx.insert_standalone_number("license:abc", "5550101", 1).unwrap();
            assert!(tx.standalone_number_taken("5550101").unwrap());
            assert!(!tx.standalone_number_taken("5550102").unwrap());
        });
    }

    /// One count per copied table, in the order of `transfer::TABLES`.
    #[test]
    fn table_counts_count_each_table_in_order() {
        on(&Store::open_in_memory().unwrap(), |tx| {
            let [a, _] = ["5550101", "5550102"].map(|n| tx.ensure_phone(n).unwrap());
            tx.insert_conversation("A", a, "CODE1", 1).unwrap();
            let counts = tx.table_counts().unwrap();
            let named: Vec<(&str, i64)> =
                transfer::TABLES.iter().map(|t| t.name).zip(counts).collect();
            assert_eq!(named.len(), transfer::TABLES.len());
            for (name, count) in named {
                let expected = match name {
                    "phones" => 2,
                    "conversations" => 1,
                    _ => 0,
                };
                assert_eq!(count, expected, "{name}");
            }
        });
    }

    /// A table's high-water mark is raised (never lowered) in its one `sqlite_sequence` row,
    /// made when the table has none yet; a mark of 0 makes none.
    #[test]
    fn raising_a_sequence_keeps_one_row_per_table_and_the_next_id_follows_it() {
        let store = Store::open_in_memory().unwrap();
        on(&store, |tx| {
            let table = |name| transfer::TABLES.iter().find(|t| t.name == name).unwrap();
            let rows = |name: &str| -> (i64, Option<i64>) {
                tx.conn
                    .query_row(
                        "SELECT count(*), max(seq) FROM sqlite_sequence WHERE name = ?1",
                        [name],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap()
            };
            assert_eq!(rows("conversations"), (0, None), "no conversation was ever made");
            tx.raise_sequence(table("conversations"), 0).unwrap();
            assert_eq!(rows("conversations"), (0, None), "a mark of 0 makes no row");
            tx.raise_sequence(table("conversations"), 40).unwrap();
            assert_eq!(rows("conversations"), (1, Some(40)));
            tx.raise_sequence(table("conversations"), 10).unwrap();
            tx.raise_sequence(table("conversations"), 40).unwrap();
            assert_eq!(rows("conversations"), (1, Some(40)), "never lowered, never a second row");
            let phone = tx.ensure_phone("5550101").unwrap();
            let id = tx.insert_conversation("A", phone, "CODE1", 1).unwrap();
            assert_eq!(id, ConversationId(41));
        });
    }
}
