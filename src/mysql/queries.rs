//! Every MySQL/MariaDB statement of Darkchat, each in the method that owns it: the same
//! interface as the SQLite store's queries ([`crate::storage`]), in MySQL's dialect, on the
//! `darkchat_` tables of `migrations/mysql/`.
//!
//! Round trips are what a MySQL operation costs, so statements whose result nobody needs go
//! out with the next one that is waited for ([`Link::defer`]), and a listing's unread counts
//! and owners' numbers are read by the listing's own statement.

use std::vec::IntoIter;

use super::link::{Link, Outcome, Shared, Value};
use crate::error::{Error, Result};
use crate::ids::{ConversationId, MessageId, PhoneId};
use crate::input::Alias;
use crate::model::{Ban, Extra, Listeners, Message, MessageKind, Report, StaffBan, SystemEvent};
use crate::storage::{
    ConversationRow, ImportedMessage, Listed, MarkReadFacts, MemberEntry, MemberRow, MessageRow,
    NewMessage, Read, RetentionCandidate, Stats, Write,
};
use crate::transfer::{self, Cell, Sequences, Table};

/// The columns [`conversation_row`] reads, owner's number included.
macro_rules! conversation_columns {
    () => {
        "c.id, c.name, c.app_name, c.created_by, c.owner_id, o.number, c.join_code, c.created_at, \
         c.updated_at, c.last_message_id, c.last_sender, c.last_kind, c.last_event, \
         c.last_content, c.last_created_at, c.last_sender_alias, c.last_extra, \
         c.retention_seconds"
    };
}

/// A conversation joined with its owner's phone row.
macro_rules! conversations_with_owner {
    () => {
        "darkchat_conversations c JOIN darkchat_phones o ON o.id = c.owner_id"
    };
}

/// A member's own columns and unread count, beside [`conversation_columns!`], the member as
/// `m` and its conversation as `c` (two parameters: the cap less one, then the cap). The count
/// looks at most `cap` index entries ahead: a count beyond the cap is the cap, without
/// counting the rest. A missing member (`m` of a `LEFT JOIN`) reads as NULLs and 0.
macro_rules! member_columns {
    () => {
        "m.id, m.last_read_message_id, m.is_moderator, m.muted, m.alias, \
         CASE WHEN m.last_read_message_id >= c.last_message_id THEN 0 \
         WHEN (SELECT x.id FROM darkchat_messages x WHERE x.conversation_id = c.id \
               AND x.id > m.last_read_message_id ORDER BY x.id LIMIT 1 OFFSET ?) \
              IS NOT NULL THEN ? \
         ELSE (SELECT COUNT(*) FROM darkchat_messages x WHERE x.conversation_id = c.id \
               AND x.id > m.last_read_message_id) END"
    };
}

/// A member's conversation list, up to its `WHERE`: the columns of [`conversation_row`] and
/// [`member_columns!`] (its two parameters first).
macro_rules! listing {
    () => {
        concat!(
            "SELECT ",
            conversation_columns!(),
            ", ",
            member_columns!(),
            " FROM darkchat_members m \
             JOIN darkchat_conversations c ON c.id = m.conversation_id \
             JOIN darkchat_phones o ON o.id = c.owner_id"
        )
    };
}

/// The columns of [`member_columns!`]: the member and its unread count (`None` when no member
/// was joined).
fn member_with_unread(c: &mut Columns) -> Result<Option<(MemberRow, i64)>> {
    let Some(id) = c.optional_int()? else {
        return Ok(None);
    };
    let member = MemberRow {
        id,
        last_read_message_id: MessageId(c.int()?),
        is_moderator: c.int()? != 0,
        muted: c.int()? != 0,
        alias: c.text()?,
    };
    Ok(Some((member, c.int()?)))
}

/// Rows of [`listing!`].
fn listed(rows: Vec<Vec<Value>>) -> Result<Vec<Listed>> {
    rows.into_iter()
        .map(|row| {
            let mut c = Columns::of(row);
            let row = conversation_row(&mut c)?;
            let (member, unread) = member_with_unread(&mut c)?
                .ok_or_else(|| Error::Internal("a listing row without its member".into()))?;
            Ok(Listed { row, member, unread })
        })
        .collect()
}

/// The statements of a read; shared by both transaction types.
pub struct Queries {
    link: Shared,
}

/// A read (no transaction: see `session.rs`): [`Read`] only.
pub struct ReadTx(Queries);

/// A write transaction: [`Read`] and [`Write`].
pub struct WriteTx(Queries);

impl ReadTx {
    pub fn new(link: Shared) -> Self {
        ReadTx(Queries { link })
    }
}

impl WriteTx {
    pub fn new(link: Shared) -> Self {
        WriteTx(Queries { link })
    }
}

// --- reading rows -----------------------------------------------------------------------------

/// The columns of one row, taken in order.
struct Columns(IntoIter<Value>);

impl Columns {
    fn of(row: Vec<Value>) -> Self {
        Columns(row.into_iter())
    }

    fn value(&mut self) -> Result<Value> {
        self.0.next().ok_or_else(|| Error::Internal("a row has fewer columns than read".into()))
    }

    fn int(&mut self) -> Result<i64> {
        int(self.value()?)
    }

    fn optional_int(&mut self) -> Result<Option<i64>> {
        match self.value()? {
            Value::Null => Ok(None),
            other => int(other).map(Some),
        }
    }

    fn text(&mut self) -> Result<String> {
        match self.value()? {
            Value::Text(s) => Ok(s),
            Value::Int(n) => Ok(n.to_string()),
            other => Err(Error::Internal(format!("expected text, got {other:?}"))),
        }
    }

    fn optional_text(&mut self) -> Result<Option<String>> {
        match self.value()? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s)),
            other => Err(Error::Internal(format!("expected text, got {other:?}"))),
        }
    }
}

fn int(value: Value) -> Result<i64> {
    match value {
        Value::Int(n) => Ok(n),
        // Wide integers (BIGINT beyond 2^53, DECIMAL sums) come as text from the driver.
        Value::Text(s) => s.parse().map_err(|_| Error::Internal(format!("not an integer: {s}"))),
        Value::Float(f) if f.fract() == 0.0 => Ok(f as i64),
        other => Err(Error::Internal(format!("expected an integer, got {other:?}"))),
    }
}

fn conversation_row(c: &mut Columns) -> Result<ConversationRow> {
    let id = ConversationId(c.int()?);
    let name = c.text()?;
    let app_name = c.text()?;
    let created_by = PhoneId(c.int()?);
    let owner_id = PhoneId(c.int()?);
    let owner_number = c.text()?;
    let join_code = c.text()?;
    let created_at = c.int()?;
    let updated_at = c.int()?;
    let last_message_id = MessageId(c.int()?);
    let sender = c.optional_text()?;
    let kind = c.optional_text()?;
    let event = c.optional_text()?;
    let content = c.optional_text()?;
    let last_created_at = c.optional_int()?;
    let sender_alias = c.optional_text()?;
    let extra = c.optional_text()?;
    let retention_seconds = c.int()?;
    let last_message = match kind {
        Some(kind) if last_message_id != MessageId::NONE => Some(Message {
            id: last_message_id,
            sender,
            sender_alias,
            kind: MessageKind::parse(&kind),
            event: event.as_deref().and_then(SystemEvent::parse),
            content: content.unwrap_or_default(),
            created_at: last_created_at.unwrap_or(updated_at),
            extra: Extra::from_stored(extra.as_deref()),
        }),
        _ => None,
    };
    Ok(ConversationRow {
        id,
        name,
        app_name,
        created_by,
        owner_id,
        owner_number,
        join_code,
        created_at,
        updated_at,
        last_message_id,
        last_message,
        retention_seconds,
    })
}

/// A row of `m.id, p.number, m.sender_alias, m.content, m.kind, m.event, m.created_at,
/// m.extra, m.sender_id`.
fn message_row(row: Vec<Value>) -> Result<MessageRow> {
    let mut c = Columns::of(row);
    let message = Message {
        id: MessageId(c.int()?),
        sender: c.optional_text()?,
        sender_alias: c.optional_text()?,
        content: c.text()?,
        kind: MessageKind::parse(&c.text()?),
        event: c.optional_text()?.as_deref().and_then(SystemEvent::parse),
        created_at: c.int()?,
        extra: Extra::from_stored(c.optional_text()?.as_deref()),
    };
    Ok(MessageRow { message, sender_id: c.optional_int()?.map(PhoneId) })
}

fn member_entry(c: &mut Columns) -> Result<MemberEntry> {
    Ok(MemberEntry {
        phone: PhoneId(c.int()?),
        number: c.text()?,
        alias: c.text()?,
        is_moderator: c.int()? != 0,
        muted: c.int()? != 0,
    })
}

fn cell_value(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Int(n) => Value::Int(*n),
        Cell::Text(s) => Value::Text(s.clone()),
    }
}

fn first(rows: Vec<Vec<Value>>) -> Option<Columns> {
    rows.into_iter().next().map(Columns::of)
}

fn affected(outcome: Outcome) -> Result<i64> {
    match outcome {
        Outcome::Done { affected, .. } => Ok(affected),
        other => Err(Error::Internal(format!("no affected count from {other:?}"))),
    }
}

fn inserted(outcome: Outcome) -> Result<i64> {
    match outcome {
        Outcome::Done { insert_id, .. } if insert_id > 0 => Ok(insert_id),
        other => Err(Error::Internal(format!("no insert id from {other:?}"))),
    }
}

impl Queries {
    async fn rows(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Vec<Value>>> {
        Link::rows(&self.link, sql, params).await
    }

    async fn count(&self, sql: &'static str, params: Vec<Value>) -> Result<i64> {
        match first(self.rows(sql, params).await?) {
            Some(mut c) => c.int(),
            None => Ok(0),
        }
    }

    async fn exists(&self, sql: &'static str, params: Vec<Value>) -> Result<bool> {
        Ok(!self.rows(sql, params).await?.is_empty())
    }

    fn defer(&self, sql: &'static str, params: Vec<Value>) {
        Link::defer(&self.link, sql, params);
    }

    // --- phones -------------------------------------------------------------------------

    async fn phone_id(&self, number: &str) -> Result<Option<PhoneId>> {
        let rows = self
            .rows("SELECT id FROM darkchat_phones WHERE number = ?", vec![number.into()])
            .await?;
        first(rows).map(|mut c| c.int().map(PhoneId)).transpose()
    }

    /// Locks the phone row when it exists; a number two servers insert at once fails on its
    /// unique key in one of them, which then runs again and finds it.
    async fn ensure_phone(&self, number: &str) -> Result<PhoneId> {
        let rows = self
            .rows("SELECT id FROM darkchat_phones WHERE number = ? FOR UPDATE", vec![number.into()])
            .await?;
        if let Some(mut c) = first(rows) {
            return Ok(PhoneId(c.int()?));
        }
        let outcome = Link::run(
            &self.link,
            "INSERT INTO darkchat_phones (number) VALUES (?)",
            vec![number.into()],
        )
        .await?;
        Ok(PhoneId(inserted(outcome)?))
    }

    // --- conversations ------------------------------------------------------------------

    async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>> {
        let rows = self
            .rows(
                concat!(
                    "SELECT ",
                    conversation_columns!(),
                    " FROM ",
                    conversations_with_owner!(),
                    " WHERE c.id = ?"
                ),
                vec![id.get().into()],
            )
            .await?;
        first(rows).map(|mut c| conversation_row(&mut c)).transpose()
    }

    async fn conversation_for_update(&self, id: ConversationId) -> Result<Option<ConversationRow>> {
        let rows = self
            .rows(
                concat!(
                    "SELECT ",
                    conversation_columns!(),
                    " FROM ",
                    conversations_with_owner!(),
                    " WHERE c.id = ? FOR UPDATE"
                ),
                vec![id.get().into()],
            )
            .await?;
        first(rows).map(|mut c| conversation_row(&mut c)).transpose()
    }

    async fn conversation_exists(&self, id: ConversationId) -> Result<bool> {
        self.exists("SELECT 1 FROM darkchat_conversations WHERE id = ?", vec![id.get().into()])
            .await
    }

    async fn conversation_id_by_code(&self, code: &str) -> Result<Option<ConversationId>> {
        let rows = self
            .rows("SELECT id FROM darkchat_conversations WHERE join_code = ?", vec![code.into()])
            .await?;
        first(rows).map(|mut c| c.int().map(ConversationId)).transpose()
    }

    async fn conversation_id_by_code_for_update(
        &self,
        code: &str,
    ) -> Result<Option<ConversationId>> {
        let rows = self
            .rows(
                "SELECT id FROM darkchat_conversations WHERE join_code = ? FOR UPDATE",
                vec![code.into()],
            )
            .await?;
        first(rows).map(|mut c| c.int().map(ConversationId)).transpose()
    }

    /// The member's list in one statement: the owners' numbers joined, and each unread count
    /// capped by looking at most `cap` index entries ahead (a count beyond the cap is the cap,
    /// without counting the rest).
    async fn conversations_of(&self, phone: PhoneId, limit: u32, cap: u32) -> Result<Vec<Listed>> {
        let rows = self
            .rows(
                concat!(
                    listing!(),
                    " WHERE m.phone_id = ? ORDER BY c.updated_at DESC, c.id DESC LIMIT ?"
                ),
                vec![cap.saturating_sub(1).into(), cap.into(), phone.get().into(), limit.into()],
            )
            .await?;
        listed(rows)
    }

    /// [`Queries::conversations_of`] the phone of `number`, found in the same statement.
    async fn conversations_of_number(
        &self,
        number: &str,
        limit: u32,
        cap: u32,
    ) -> Result<Vec<Listed>> {
        let rows = self
            .rows(
                concat!(
                    listing!(),
                    " WHERE m.phone_id = (SELECT id FROM darkchat_phones WHERE number = ?) \
                     ORDER BY c.updated_at DESC, c.id DESC LIMIT ?"
                ),
                vec![cap.saturating_sub(1).into(), cap.into(), number.into(), limit.into()],
            )
            .await?;
        listed(rows)
    }

    async fn all_conversations(&self, limit: u32) -> Result<Vec<ConversationRow>> {
        let rows = self
            .rows(
                concat!(
                    "SELECT ",
                    conversation_columns!(),
                    " FROM ",
                    conversations_with_owner!(),
                    " ORDER BY c.id DESC LIMIT ?"
                ),
                vec![limit.into()],
            )
            .await?;
        rows.into_iter().map(|row| conversation_row(&mut Columns::of(row))).collect()
    }

    // --- members ------------------------------------------------------------------------

    async fn member(&self, id: ConversationId, phone: PhoneId) -> Result<Option<MemberRow>> {
        let rows = self
            .rows(
                "SELECT id, last_read_message_id, is_moderator, muted, alias FROM darkchat_members \
                 WHERE conversation_id = ? AND phone_id = ?",
                vec![id.get().into(), phone.get().into()],
            )
            .await?;
        first(rows)
            .map(|mut c| {
                Ok(MemberRow {
                    id: c.int()?,
                    last_read_message_id: MessageId(c.int()?),
                    is_moderator: c.int()? != 0,
                    muted: c.int()? != 0,
                    alias: c.text()?,
                })
            })
            .transpose()
    }

    /// The conversation, the member and its unread count in one statement: the member
    /// `LEFT JOIN`ed by its number, so that a missing conversation (no row) and a missing
    /// member (NULLs) are told apart.
    async fn conversation_seen_by(
        &self,
        id: ConversationId,
        number: &str,
        cap: u32,
    ) -> Result<Option<(ConversationRow, Option<(MemberRow, i64)>)>> {
        let rows = self
            .rows(
                concat!(
                    "SELECT ",
                    conversation_columns!(),
                    ", ",
                    member_columns!(),
                    " FROM ",
                    conversations_with_owner!(),
                    " LEFT JOIN darkchat_members m ON m.conversation_id = c.id \
                     AND m.phone_id = (SELECT id FROM darkchat_phones WHERE number = ?) \
                     WHERE c.id = ?"
                ),
                vec![cap.saturating_sub(1).into(), cap.into(), number.into(), id.get().into()],
            )
            .await?;
        first(rows)
            .map(|mut c| Ok((conversation_row(&mut c)?, member_with_unread(&mut c)?)))
            .transpose()
    }

    async fn member_phone_id(&self, id: ConversationId, number: &str) -> Result<Option<PhoneId>> {
        let rows = self
            .rows(
                "SELECT m.phone_id FROM darkchat_phones p JOIN darkchat_members m \
                 ON m.conversation_id = ? AND m.phone_id = p.id WHERE p.number = ?",
                vec![id.get().into(), number.into()],
            )
            .await?;
        first(rows).map(|mut c| c.int().map(PhoneId)).transpose()
    }

    /// The member lookup of [`Queries::member_phone_id`] with the alias in the same row: an
    /// act that names its member by alias (a send, a leave) reads both in its first batch.
    async fn member_with_alias(
        &self,
        id: ConversationId,
        number: &str,
    ) -> Result<Option<(PhoneId, String)>> {
        let rows = self
            .rows(
                "SELECT m.phone_id, m.alias FROM darkchat_phones p JOIN darkchat_members m \
                 ON m.conversation_id = ? AND m.phone_id = p.id WHERE p.number = ?",
                vec![id.get().into(), number.into()],
            )
            .await?;
        first(rows).map(|mut c| Ok((PhoneId(c.int()?), c.text()?))).transpose()
    }

    /// The three facts as one row of one statement (one result set to parse instead of
    /// three, its columns named short: the driver reads every column's name); no staff number
    /// (`None`) is looked up as NULL, which no row has.
    async fn mark_read_facts(
        &self,
        id: ConversationId,
        number: &str,
        staff: Option<(&str, i64)>,
    ) -> Result<MarkReadFacts> {
        let rows = self
            .rows(
                "SELECT EXISTS (SELECT 1 FROM darkchat_staff_bans WHERE number = ? \
                                AND (expires_at IS NULL OR expires_at > ?)) AS banned, \
                        EXISTS (SELECT 1 FROM darkchat_conversations WHERE id = ?) AS found, \
                        EXISTS (SELECT 1 FROM darkchat_phones p JOIN darkchat_members m \
                                ON m.conversation_id = ? AND m.phone_id = p.id \
                                WHERE p.number = ?) AS member",
                vec![
                    staff.map(|(banned, _)| banned).into(),
                    staff.map(|(_, now)| now).into(),
                    id.get().into(),
                    id.get().into(),
                    number.into(),
                ],
            )
            .await?;
        let mut c = first(rows).ok_or_else(|| Error::Internal("no row of facts".into()))?;
        Ok(MarkReadFacts {
            banned: c.int()? != 0,
            conversation: c.int()? != 0,
            member: c.int()? != 0,
        })
    }

    async fn listeners(&self, id: ConversationId) -> Result<Listeners> {
        let rows = self
            .rows(
                "SELECT p.number, m.muted FROM darkchat_members m \
                 JOIN darkchat_phones p ON p.id = m.phone_id \
                 WHERE m.conversation_id = ? ORDER BY m.id",
                vec![id.get().into()],
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let mut c = Columns::of(row);
                Ok((c.text()?, c.int()? != 0))
            })
            .collect()
    }

    async fn members(&self, id: ConversationId) -> Result<Vec<MemberEntry>> {
        let rows = self
            .rows(
                "SELECT m.phone_id, p.number, m.alias, m.is_moderator, m.muted \
                 FROM darkchat_members m JOIN darkchat_phones p ON p.id = m.phone_id \
                 WHERE m.conversation_id = ? ORDER BY m.id",
                vec![id.get().into()],
            )
            .await?;
        rows.into_iter().map(|row| member_entry(&mut Columns::of(row))).collect()
    }

    async fn member_by_alias(
        &self,
        id: ConversationId,
        alias_key: &str,
    ) -> Result<Option<MemberEntry>> {
        let rows = self
            .rows(
                "SELECT m.phone_id, p.number, m.alias, m.is_moderator, m.muted \
                 FROM darkchat_members m JOIN darkchat_phones p ON p.id = m.phone_id \
                 WHERE m.conversation_id = ? AND m.alias_key = ?",
                vec![id.get().into(), alias_key.into()],
            )
            .await?;
        first(rows).map(|mut c| member_entry(&mut c)).transpose()
    }

    async fn alias_of(&self, id: ConversationId, phone: PhoneId) -> Result<Option<String>> {
        let rows = self
            .rows(
                "SELECT alias FROM darkchat_members WHERE conversation_id = ? AND phone_id = ?",
                vec![id.get().into(), phone.get().into()],
            )
            .await?;
        first(rows).map(|mut c| c.text()).transpose()
    }

    async fn is_banned(&self, id: ConversationId, phone: PhoneId) -> Result<bool> {
        self.exists(
            "SELECT 1 FROM darkchat_bans WHERE conversation_id = ? AND phone_id = ?",
            vec![id.get().into(), phone.get().into()],
        )
        .await
    }

    async fn bans(&self, id: ConversationId) -> Result<Vec<Ban>> {
        let rows = self
            .rows(
                "SELECT b.id, p.number, b.alias, b.created_at FROM darkchat_bans b \
                 JOIN darkchat_phones p ON p.id = b.phone_id WHERE b.conversation_id = ? \
                 ORDER BY b.id",
                vec![id.get().into()],
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let mut c = Columns::of(row);
                Ok(Ban { id: c.int()?, number: c.text()?, alias: c.text()?, created_at: c.int()? })
            })
            .collect()
    }

    async fn count_bans(&self, id: ConversationId) -> Result<i64> {
        self.count(
            "SELECT COUNT(*) FROM darkchat_bans WHERE conversation_id = ?",
            vec![id.get().into()],
        )
        .await
    }

    async fn count_members(&self, id: ConversationId) -> Result<i64> {
        self.count(
            "SELECT COUNT(*) FROM darkchat_members WHERE conversation_id = ?",
            vec![id.get().into()],
        )
        .await
    }

    async fn count_memberships_of(&self, phone: PhoneId) -> Result<i64> {
        self.count(
            "SELECT COUNT(*) FROM darkchat_members WHERE phone_id = ?",
            vec![phone.get().into()],
        )
        .await
    }

    async fn count_memberships_of_number(&self, number: &str) -> Result<i64> {
        self.count(
            "SELECT COUNT(*) FROM darkchat_members \
             WHERE phone_id = (SELECT id FROM darkchat_phones WHERE number = ?)",
            vec![number.into()],
        )
        .await
    }

    // --- messages -----------------------------------------------------------------------

    async fn messages_before(
        &self,
        id: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let rows = self
            .rows(
                "SELECT m.id, p.number, m.sender_alias, m.content, m.kind, m.event, m.created_at, \
                 m.extra, m.sender_id \
                 FROM darkchat_messages m LEFT JOIN darkchat_phones p ON p.id = m.sender_id \
                 WHERE m.conversation_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?",
                vec![id.get().into(), before.map_or(i64::MAX, MessageId::get).into(), limit.into()],
            )
            .await?;
        let mut messages = rows
            .into_iter()
            .map(|row| Ok(message_row(row)?.message))
            .collect::<Result<Vec<_>>>()?;
        messages.reverse();
        Ok(messages)
    }

    async fn message(&self, id: ConversationId, message: MessageId) -> Result<Option<MessageRow>> {
        let rows = self
            .rows(
                "SELECT m.id, p.number, m.sender_alias, m.content, m.kind, m.event, m.created_at, \
                 m.extra, m.sender_id \
                 FROM darkchat_messages m LEFT JOIN darkchat_phones p ON p.id = m.sender_id \
                 WHERE m.conversation_id = ? AND m.id = ?",
                vec![id.get().into(), message.get().into()],
            )
            .await?;
        rows.into_iter().next().map(message_row).transpose()
    }

    async fn replies_to(
        &self,
        id: ConversationId,
        message: MessageId,
    ) -> Result<Vec<(MessageId, Extra)>> {
        let rows = self
            .rows(
                "SELECT id, extra FROM darkchat_messages WHERE reply_to = ? AND conversation_id = ?",
                vec![message.get().into(), id.get().into()],
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let mut c = Columns::of(row);
                Ok((MessageId(c.int()?), Extra::from_stored(c.optional_text()?.as_deref())))
            })
            .collect()
    }

    async fn count_messages_after(
        &self,
        id: ConversationId,
        after: MessageId,
        cap: u32,
    ) -> Result<i64> {
        self.count(
            "SELECT COUNT(*) FROM (SELECT 1 FROM darkchat_messages \
             WHERE conversation_id = ? AND id > ? LIMIT ?) t",
            vec![id.get().into(), after.get().into(), cap.into()],
        )
        .await
    }

    // --- standalone numbers -------------------------------------------------------------

    async fn standalone_number(&self, license: &str) -> Result<Option<String>> {
        let rows = self
            .rows(
                "SELECT number FROM darkchat_standalone_numbers WHERE license = ?",
                vec![license.into()],
            )
            .await?;
        first(rows).map(|mut c| c.text()).transpose()
    }

    async fn standalone_number_taken(&self, number: &str) -> Result<bool> {
        self.exists(
            "SELECT 1 FROM darkchat_standalone_numbers WHERE number = ?",
            vec![number.into()],
        )
        .await
    }

    // --- the store as a whole -----------------------------------------------------------

    async fn stats(&self) -> Result<Stats> {
        let rows = self
            .rows(
                "SELECT (SELECT COUNT(*) FROM darkchat_conversations), \
                 (SELECT COUNT(*) FROM darkchat_members), (SELECT COUNT(*) FROM darkchat_messages), \
                 (SELECT COUNT(*) FROM darkchat_phones), \
                 (SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables \
                  WHERE table_schema = DATABASE() AND table_name LIKE 'darkchat\\_%'), \
                 (SELECT COALESCE(MAX(version), 0) FROM darkchat_schema), DATABASE()",
                vec![],
            )
            .await?;
        let mut c = first(rows).ok_or_else(|| Error::Internal("no statistics row".into()))?;
        Ok(Stats {
            conversations: c.int()?,
            memberships: c.int()?,
            messages: c.int()?,
            phones: c.int()?,
            size_bytes: c.int()?,
            schema_version: c.int()?,
            location: c.optional_text()?.map(|db| format!("mysql database {db}")),
        })
    }

    // --- moving a store (darkchat migrate-storage) -------------------------------------

    async fn export_rows(
        &self,
        table: &'static Table,
        after: Option<&Cell>,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>> {
        let sql = transfer::sql(table, true);
        let rows = match after {
            None => self.rows(sql.first_page, vec![limit.into()]).await?,
            Some(key) => self.rows(sql.page_after, vec![cell_value(key), limit.into()]).await?,
        };
        rows.into_iter()
            .map(|row| {
                let cells = row
                    .into_iter()
                    .map(|v| match v {
                        Value::Null => Ok(Cell::Null),
                        Value::Int(n) => Ok(Cell::Int(n)),
                        Value::Text(s) => Ok(Cell::Text(s)),
                        Value::Float(f) => Err(Error::Internal(format!("unexpected float {f}"))),
                    })
                    .collect::<Result<Vec<Cell>>>()?;
                transfer::checked_row(table, cells)
                    .map_err(|_| Error::Internal(format!("a row of {} does not fit", table.name)))
            })
            .collect()
    }

    async fn table_counts(&self) -> Result<Vec<i64>> {
        let mut counts = Vec::new();
        for table in &transfer::TABLES {
            counts.push(self.count(transfer::sql(table, true).count, vec![]).await?);
        }
        Ok(counts)
    }

    /// `AUTO_INCREMENT` less one, from information_schema after `ANALYZE TABLE` (MySQL 8
    /// caches that column; ANALYZE refreshes the cache, MariaDB reads it live), and never below
    /// the largest id present, in case the read was stale anyway.
    async fn sequences(&self) -> Result<Sequences> {
        self.rows(
            "ANALYZE TABLE darkchat_conversations, darkchat_messages, darkchat_reports",
            vec![],
        )
        .await?;
        let mut marks = Vec::new();
        for table in transfer::TABLES.iter().filter(|t| t.sequence) {
            let next = self
                .count(
                    "SELECT COALESCE(MAX(AUTO_INCREMENT), 0) FROM information_schema.TABLES \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                    vec![table.mysql.into()],
                )
                .await?;
            let max = self.count(transfer::sql(table, true).max_key, vec![]).await?;
            marks.push((table, (next - 1).max(max).max(0) as u64));
        }
        Ok(marks)
    }

    /// One INSERT per row, queued: the page goes out in one round trip (the last one waited
    /// for, so a failure is this call's error).
    async fn import_rows(&self, table: &'static Table, rows: &[Vec<Cell>]) -> Result<()> {
        let insert = transfer::sql(table, true).insert;
        let Some((last, rest)) = rows.split_last() else { return Ok(()) };
        for row in rest {
            self.defer(insert, row.iter().map(cell_value).collect());
        }
        Link::run(&self.link, insert, last.iter().map(cell_value).collect()).await?;
        Ok(())
    }

    /// `ALTER TABLE ... AUTO_INCREMENT = n`: DDL takes no placeholders, so the value is written
    /// into the statement; it is a `u64` formatted by Rust here (digits only), never text from
    /// anywhere else. InnoDB never sets the counter below the largest id present.
    async fn raise_sequence(&self, table: &'static Table, high_water: u64) -> Result<()> {
        if !table.sequence {
            return Err(Error::invalid("table"));
        }
        let next: u64 = high_water.checked_add(1).ok_or(Error::invalid("sequence"))?;
        Link::run(
            &self.link,
            format!("ALTER TABLE {} AUTO_INCREMENT = {next}", table.mysql),
            vec![],
        )
        .await?;
        Ok(())
    }

    async fn delete_all_rows(&self) -> Result<()> {
        for table in transfer::TABLES.iter().rev() {
            Link::run(&self.link, transfer::sql(table, true).delete_all, vec![]).await?;
        }
        Ok(())
    }

    async fn imported(&self, source_key: &str) -> Result<Option<ConversationId>> {
        let rows = self
            .rows(
                "SELECT conversation_id FROM darkchat_imports WHERE source_key = ?",
                vec![source_key.into()],
            )
            .await?;
        first(rows).map(|mut c| c.int().map(ConversationId)).transpose()
    }

    /// Conversations after `after` in id order (those with a retention only, unless `all`).
    async fn retention_candidates(
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
                     (SELECT m.created_at FROM darkchat_messages m WHERE m.conversation_id = c.id \
                     ORDER BY m.created_at LIMIT 1), \
                     CASE WHEN ? > 0 THEN (SELECT m.id FROM darkchat_messages m \
                     WHERE m.conversation_id = c.id ORDER BY m.id DESC LIMIT 1 OFFSET ?) END \
                     FROM darkchat_conversations c WHERE ",
                    $filter,
                    "c.id > ? ORDER BY c.id LIMIT ?"
                )
            };
        }
        let sql = if all { candidates!("") } else { candidates!("c.retention_seconds > 0 AND ") };
        let count = i64::from(max_count);
        let rows = self
            .rows(sql, vec![count.into(), count.into(), after.into(), i64::from(limit).into()])
            .await?;
        rows.into_iter()
            .map(|row| {
                let mut c = Columns::of(row);
                Ok(RetentionCandidate {
                    id: ConversationId(c.int()?),
                    retention_seconds: c.int()?,
                    oldest_at: c.optional_int()?,
                    over_count: c.optional_int()?.is_some(),
                })
            })
            .collect()
    }

    async fn message_id_from_newest(
        &self,
        id: ConversationId,
        offset: u32,
    ) -> Result<Option<MessageId>> {
        let rows = self
            .rows(
                "SELECT id FROM darkchat_messages WHERE conversation_id = ? \
                 ORDER BY id DESC LIMIT 1 OFFSET ?",
                vec![id.get().into(), i64::from(offset).into()],
            )
            .await?;
        first(rows).map(|mut c| c.int().map(MessageId)).transpose()
    }

    /// `CHECK TABLE` of every Darkchat table: "ok", or the first complaint.
    async fn integrity_check(&self) -> Result<String> {
        let rows = self
            .rows(
                "CHECK TABLE darkchat_phones, darkchat_conversations, darkchat_members, \
                 darkchat_messages, darkchat_standalone_numbers, darkchat_bans, \
                 darkchat_staff_bans, darkchat_reports, darkchat_imports",
                vec![],
            )
            .await?;
        for row in rows {
            let mut c = Columns::of(row);
            let (table, _op, kind, text) = (c.text()?, c.text()?, c.text()?, c.text()?);
            if kind.eq_ignore_ascii_case("error")
                || (kind.eq_ignore_ascii_case("status") && text != "OK")
            {
                return Ok(format!("{table}: {text}"));
            }
        }
        Ok("ok".into())
    }
}

/// [`Read`] for a transaction type, each method the query of the same name.
macro_rules! read_through {
    ($tx:ident) => {
        impl Read for $tx {
            async fn phone_id(&self, number: &str) -> Result<Option<PhoneId>> {
                self.0.phone_id(number).await
            }
            async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>> {
                self.0.conversation(id).await
            }
            async fn conversation_exists(&self, id: ConversationId) -> Result<bool> {
                self.0.conversation_exists(id).await
            }
            async fn conversation_id_by_code(&self, code: &str) -> Result<Option<ConversationId>> {
                self.0.conversation_id_by_code(code).await
            }
            async fn conversations_of(
                &self,
                phone: PhoneId,
                limit: u32,
                cap: u32,
            ) -> Result<Vec<Listed>> {
                self.0.conversations_of(phone, limit, cap).await
            }
            async fn all_conversations(&self, limit: u32) -> Result<Vec<ConversationRow>> {
                self.0.all_conversations(limit).await
            }
            async fn member(
                &self,
                id: ConversationId,
                phone: PhoneId,
            ) -> Result<Option<MemberRow>> {
                self.0.member(id, phone).await
            }
            async fn member_phone_id(
                &self,
                id: ConversationId,
                number: &str,
            ) -> Result<Option<PhoneId>> {
                self.0.member_phone_id(id, number).await
            }
            async fn conversation_seen_by(
                &self,
                id: ConversationId,
                number: &str,
                cap: u32,
            ) -> Result<Option<(ConversationRow, Option<(MemberRow, i64)>)>> {
                self.0.conversation_seen_by(id, number, cap).await
            }
            async fn member_with_alias(
                &self,
                id: ConversationId,
                number: &str,
            ) -> Result<Option<(PhoneId, String)>> {
                self.0.member_with_alias(id, number).await
            }
            async fn mark_read_facts(
                &self,
                id: ConversationId,
                number: &str,
                staff: Option<(&str, i64)>,
            ) -> Result<MarkReadFacts> {
                self.0.mark_read_facts(id, number, staff).await
            }
            async fn listeners(&self, id: ConversationId) -> Result<Listeners> {
                self.0.listeners(id).await
            }
            async fn members(&self, id: ConversationId) -> Result<Vec<MemberEntry>> {
                self.0.members(id).await
            }
            async fn member_by_alias(
                &self,
                id: ConversationId,
                alias_key: &str,
            ) -> Result<Option<MemberEntry>> {
                self.0.member_by_alias(id, alias_key).await
            }
            async fn alias_of(&self, id: ConversationId, phone: PhoneId) -> Result<Option<String>> {
                self.0.alias_of(id, phone).await
            }
            async fn is_banned(&self, id: ConversationId, phone: PhoneId) -> Result<bool> {
                self.0.is_banned(id, phone).await
            }
            async fn bans(&self, id: ConversationId) -> Result<Vec<Ban>> {
                self.0.bans(id).await
            }
            async fn count_bans(&self, id: ConversationId) -> Result<i64> {
                self.0.count_bans(id).await
            }
            async fn count_members(&self, id: ConversationId) -> Result<i64> {
                self.0.count_members(id).await
            }
            async fn count_memberships_of(&self, phone: PhoneId) -> Result<i64> {
                self.0.count_memberships_of(phone).await
            }
            async fn count_memberships_of_number(&self, number: &str) -> Result<i64> {
                self.0.count_memberships_of_number(number).await
            }
            async fn conversations_of_number(
                &self,
                number: &str,
                limit: u32,
                cap: u32,
            ) -> Result<Vec<Listed>> {
                self.0.conversations_of_number(number, limit, cap).await
            }
            async fn messages_before(
                &self,
                id: ConversationId,
                before: Option<MessageId>,
                limit: u32,
            ) -> Result<Vec<Message>> {
                self.0.messages_before(id, before, limit).await
            }
            async fn message(
                &self,
                id: ConversationId,
                message: MessageId,
            ) -> Result<Option<MessageRow>> {
                self.0.message(id, message).await
            }
            async fn replies_to(
                &self,
                id: ConversationId,
                message: MessageId,
            ) -> Result<Vec<(MessageId, Extra)>> {
                self.0.replies_to(id, message).await
            }
            async fn count_messages_after(
                &self,
                id: ConversationId,
                after: MessageId,
                cap: u32,
            ) -> Result<i64> {
                self.0.count_messages_after(id, after, cap).await
            }
            async fn standalone_number(&self, license: &str) -> Result<Option<String>> {
                self.0.standalone_number(license).await
            }
            async fn standalone_number_taken(&self, number: &str) -> Result<bool> {
                self.0.standalone_number_taken(number).await
            }
            async fn stats(&self) -> Result<Stats> {
                self.0.stats().await
            }
            async fn integrity_check(&self) -> Result<String> {
                self.0.integrity_check().await
            }
            async fn export_rows(
                &self,
                table: &'static Table,
                after: Option<&Cell>,
                limit: u32,
            ) -> Result<Vec<Vec<Cell>>> {
                self.0.export_rows(table, after, limit).await
            }
            async fn table_counts(&self) -> Result<Vec<i64>> {
                self.0.table_counts().await
            }
            async fn sequences(&self) -> Result<Sequences> {
                self.0.sequences().await
            }
            async fn staff_ban(&self, number: &str, now: i64) -> Result<Option<StaffBan>> {
                self.0.staff_ban(number, now).await
            }
            async fn staff_bans(&self, now: i64, limit: u32) -> Result<Vec<StaffBan>> {
                self.0.staff_bans(now, limit).await
            }
            async fn count_staff_bans(&self, now: i64) -> Result<i64> {
                self.0.count_staff_bans(now).await
            }
            async fn reports(&self, limit: u32) -> Result<Vec<Report>> {
                self.0.reports(limit).await
            }
            async fn report(&self, id: i64) -> Result<Option<Report>> {
                self.0.report(id).await
            }
            async fn count_reports(&self) -> Result<i64> {
                self.0.count_reports().await
            }
            async fn reported(&self, message: MessageId, reporter: &str) -> Result<bool> {
                self.0.reported(message, reporter).await
            }
            async fn imported(&self, source_key: &str) -> Result<Option<ConversationId>> {
                self.0.imported(source_key).await
            }
            async fn retention_candidates(
                &self,
                after: i64,
                all: bool,
                max_count: u32,
                limit: u32,
            ) -> Result<Vec<RetentionCandidate>> {
                self.0.retention_candidates(after, all, max_count, limit).await
            }
            async fn message_id_from_newest(
                &self,
                id: ConversationId,
                offset: u32,
            ) -> Result<Option<MessageId>> {
                self.0.message_id_from_newest(id, offset).await
            }
        }
    };
}

read_through!(ReadTx);
read_through!(WriteTx);

impl Write for WriteTx {
    async fn record(&self, change: impl FnOnce() -> crate::changes::Change) -> Result<()> {
        super::changes::record(&self.0.link, change);
        Ok(())
    }

    async fn lock_conversation(&self, id: ConversationId) -> Result<()> {
        self.0.defer(
            "SELECT id FROM darkchat_conversations WHERE id = ? FOR UPDATE",
            vec![id.get().into()],
        );
        Ok(())
    }

    async fn conversation_for_update(&self, id: ConversationId) -> Result<Option<ConversationRow>> {
        self.0.conversation_for_update(id).await
    }

    async fn conversation_id_by_code_for_update(
        &self,
        code: &str,
    ) -> Result<Option<ConversationId>> {
        self.0.conversation_id_by_code_for_update(code).await
    }

    async fn ensure_phone(&self, number: &str) -> Result<PhoneId> {
        self.0.ensure_phone(number).await
    }

    async fn insert_conversation(
        &self,
        name: &str,
        creator: PhoneId,
        join_code: &str,
        now: i64,
    ) -> Result<ConversationId> {
        let outcome = Link::run(
            &self.0.link,
            "INSERT INTO darkchat_conversations \
             (name, created_by, owner_id, join_code, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                name.into(),
                creator.get().into(),
                creator.get().into(),
                join_code.into(),
                now.into(),
                now.into(),
            ],
        )
        .await?;
        Ok(ConversationId(inserted(outcome)?))
    }

    async fn set_owner(&self, id: ConversationId, phone: PhoneId) -> Result<()> {
        self.0.defer(
            "UPDATE darkchat_conversations SET owner_id = ? WHERE id = ?",
            vec![phone.get().into(), id.get().into()],
        );
        Ok(())
    }

    async fn set_name(&self, id: ConversationId, name: &str, now: i64) -> Result<()> {
        self.0.defer(
            "UPDATE darkchat_conversations SET name = ?, updated_at = GREATEST(updated_at, ?) WHERE id = ?",
            vec![name.into(), now.into(), id.get().into()],
        );
        Ok(())
    }

    /// Waited for: a code another server took meanwhile must come back as `JoinCodeTaken`
    /// here, where the caller can tell it apart.
    async fn set_join_code(&self, id: ConversationId, code: &str) -> Result<()> {
        Link::run(
            &self.0.link,
            "UPDATE darkchat_conversations SET join_code = ? WHERE id = ?",
            vec![code.into(), id.get().into()],
        )
        .await?;
        Ok(())
    }

    /// Members and messages go with it (ON DELETE CASCADE).
    async fn delete_conversation(&self, id: ConversationId) -> Result<()> {
        self.0.defer("DELETE FROM darkchat_conversations WHERE id = ?", vec![id.get().into()]);
        Ok(())
    }

    async fn insert_member(
        &self,
        id: ConversationId,
        phone: PhoneId,
        alias: &Alias,
        now: i64,
        read_up_to: MessageId,
    ) -> Result<()> {
        self.0.defer(
            "INSERT INTO darkchat_members \
             (conversation_id, phone_id, joined_at, last_read_message_id, alias, alias_key) \
             VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                id.get().into(),
                phone.get().into(),
                now.into(),
                read_up_to.get().into(),
                alias.as_str().into(),
                alias.key().as_str().into(),
            ],
        );
        Ok(())
    }

    async fn set_alias(&self, id: ConversationId, phone: PhoneId, alias: &Alias) -> Result<()> {
        self.0.defer(
            "UPDATE darkchat_members SET alias = ?, alias_key = ? \
             WHERE conversation_id = ? AND phone_id = ?",
            vec![
                alias.as_str().into(),
                alias.key().as_str().into(),
                id.get().into(),
                phone.get().into(),
            ],
        );
        Ok(())
    }

    async fn set_moderator(&self, id: ConversationId, phone: PhoneId, on: bool) -> Result<()> {
        self.0.defer(
            "UPDATE darkchat_members SET is_moderator = ? WHERE conversation_id = ? AND phone_id = ?",
            vec![i64::from(on).into(), id.get().into(), phone.get().into()],
        );
        Ok(())
    }

    async fn set_muted(&self, id: ConversationId, phone: PhoneId, on: bool) -> Result<()> {
        self.0.defer(
            "UPDATE darkchat_members SET muted = ? WHERE conversation_id = ? AND phone_id = ?",
            vec![i64::from(on).into(), id.get().into(), phone.get().into()],
        );
        Ok(())
    }

    async fn insert_ban(
        &self,
        id: ConversationId,
        phone: PhoneId,
        alias: &str,
        now: i64,
    ) -> Result<()> {
        self.0.defer(
            "INSERT INTO darkchat_bans (conversation_id, phone_id, alias, created_at) \
             VALUES (?, ?, ?, ?)",
            vec![id.get().into(), phone.get().into(), alias.into(), now.into()],
        );
        Ok(())
    }

    async fn delete_ban(&self, id: ConversationId, phone: PhoneId) -> Result<()> {
        self.0.defer(
            "DELETE FROM darkchat_bans WHERE conversation_id = ? AND phone_id = ?",
            vec![id.get().into(), phone.get().into()],
        );
        Ok(())
    }

    async fn delete_member(&self, id: ConversationId, phone: PhoneId) -> Result<()> {
        self.0.defer(
            "DELETE FROM darkchat_members WHERE conversation_id = ? AND phone_id = ?",
            vec![id.get().into(), phone.get().into()],
        );
        Ok(())
    }

    async fn mark_read(&self, id: ConversationId, phone: PhoneId, up_to: MessageId) -> Result<()> {
        self.0.defer(
            "UPDATE darkchat_members SET last_read_message_id = GREATEST(last_read_message_id, ?) \
             WHERE conversation_id = ? AND phone_id = ?",
            vec![up_to.get().into(), id.get().into(), phone.get().into()],
        );
        Ok(())
    }

    /// One `UPDATE` whose `WHERE` is the whole decision; its affected count is the rows it
    /// matched, not only those it changed (the host's connections have `CLIENT_FOUND_ROWS`:
    /// see js/mysql.js), so a position already there still counts as found. A staff ban is
    /// looked up by an absent number (NULL: no row) when none is to be checked.
    async fn mark_read_guarded(
        &self,
        id: ConversationId,
        number: &str,
        up_to: Option<MessageId>,
        unbanned_at: Option<i64>,
    ) -> Result<bool> {
        let outcome = Link::run(
            &self.0.link,
            "UPDATE darkchat_members m JOIN darkchat_conversations c ON c.id = m.conversation_id \
             SET m.last_read_message_id = GREATEST(m.last_read_message_id, \
                 LEAST(COALESCE(?, c.last_message_id), c.last_message_id)) \
             WHERE m.conversation_id = ? \
               AND m.phone_id = (SELECT id FROM darkchat_phones WHERE number = ?) \
               AND NOT EXISTS (SELECT 1 FROM darkchat_staff_bans b WHERE b.number = ? \
                               AND (b.expires_at IS NULL OR b.expires_at > ?))",
            vec![
                up_to.map(MessageId::get).into(),
                id.get().into(),
                number.into(),
                unbanned_at.map(|_| number).into(),
                unbanned_at.into(),
            ],
        )
        .await?;
        Ok(affected(outcome)? > 0)
    }

    /// The insert is waited for (its id is the answer); the conversation's copy of its newest
    /// message is queued behind it.
    async fn insert_full_message(
        &self,
        id: ConversationId,
        new: &NewMessage<'_>,
        extra: Option<&str>,
        now: i64,
    ) -> Result<MessageId> {
        let link = &self.0.link;
        let sender = new.sender.map(PhoneId::get);
        let event = new.event.map(SystemEvent::as_str);
        let insert = Link::run(
            link,
            "INSERT INTO darkchat_messages (conversation_id, sender_id, kind, event, content, \
             created_at, sender_alias, reply_to, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                id.get().into(),
                sender.into(),
                new.kind.as_str().into(),
                event.into(),
                new.content.into(),
                now.into(),
                new.sender_alias.into(),
                new.reply_to.map(MessageId::get).into(),
                extra.into(),
            ],
        );
        let message = MessageId(inserted(insert.await?)?);
        Link::defer(
            link,
            "UPDATE darkchat_conversations SET last_message_id = ?, updated_at = GREATEST(updated_at, ?), \
             last_sender = (SELECT number FROM darkchat_phones WHERE id = ?), last_kind = ?, \
             last_event = ?, last_content = ?, last_created_at = ?, last_sender_alias = ?, \
             last_extra = ? WHERE id = ?",
            vec![
                message.get().into(),
                now.into(),
                sender.into(),
                new.kind.as_str().into(),
                event.into(),
                new.content.into(),
                now.into(),
                new.sender_alias.into(),
                extra.into(),
                id.get().into(),
            ],
        );
        Ok(message)
    }

    async fn rewrite_message(
        &self,
        id: ConversationId,
        message: MessageId,
        content: Option<&str>,
        extra: Option<&str>,
    ) -> Result<()> {
        self.0.defer(
            "UPDATE darkchat_messages SET content = COALESCE(?, content), extra = ? \
             WHERE conversation_id = ? AND id = ?",
            vec![content.into(), extra.into(), id.get().into(), message.get().into()],
        );
        self.0.defer(
            "UPDATE darkchat_conversations SET last_content = COALESCE(?, last_content), last_extra = ? \
             WHERE id = ? AND last_message_id = ?",
            vec![content.into(), extra.into(), id.get().into(), message.get().into()],
        );
        Ok(())
    }

    async fn insert_standalone_number(&self, license: &str, number: &str, now: i64) -> Result<()> {
        Link::run(
            &self.0.link,
            "INSERT INTO darkchat_standalone_numbers (license, number, created_at) VALUES (?, ?, ?)",
            vec![license.into(), number.into(), now.into()],
        )
        .await?;
        Ok(())
    }
    async fn import_rows(&self, table: &'static Table, rows: &[Vec<Cell>]) -> Result<()> {
        self.0.import_rows(table, rows).await
    }
    async fn raise_sequence(&self, table: &'static Table, high_water: u64) -> Result<()> {
        self.0.raise_sequence(table, high_water).await
    }
    async fn delete_all_rows(&self) -> Result<()> {
        self.0.delete_all_rows().await
    }
    async fn insert_staff_ban(&self, ban: &StaffBan) -> Result<()> {
        self.0.defer(
            "INSERT INTO darkchat_staff_bans (number, reason, created_at, expires_at) \
             VALUES (?, ?, ?, ?)",
            vec![
                ban.number.as_str().into(),
                ban.reason.as_deref().into(),
                ban.created_at.into(),
                ban.expires_at.into(),
            ],
        );
        Ok(())
    }
    async fn set_retention(&self, id: ConversationId, seconds: i64) -> Result<()> {
        self.0.defer(
            "UPDATE darkchat_conversations SET retention_seconds = ? WHERE id = ?",
            vec![seconds.into(), id.get().into()],
        );
        Ok(())
    }
    async fn delete_messages_before_time(
        &self,
        id: ConversationId,
        before: i64,
        limit: u32,
    ) -> Result<i64> {
        let outcome = Link::run(
            &self.0.link,
            "DELETE FROM darkchat_messages WHERE conversation_id = ? AND created_at < ? \
             ORDER BY created_at LIMIT ?",
            vec![id.get().into(), before.into(), i64::from(limit).into()],
        );
        affected(outcome.await?)
    }
    async fn delete_messages_up_to(
        &self,
        id: ConversationId,
        up_to: MessageId,
        limit: u32,
    ) -> Result<i64> {
        let outcome = Link::run(
            &self.0.link,
            "DELETE FROM darkchat_messages WHERE conversation_id = ? AND id <= ? \
             ORDER BY id LIMIT ?",
            vec![id.get().into(), up_to.get().into(), i64::from(limit).into()],
        );
        affected(outcome.await?)
    }
    /// One statement: the newest message left (a derived table, so MySQL may read the table
    /// it updates), or no copy when none is left; only when the copy names a message gone.
    async fn refresh_last_message(&self, id: ConversationId) -> Result<()> {
        self.0.defer(
            "UPDATE darkchat_conversations c \
             LEFT JOIN (SELECT m.id, p.number, m.kind, m.event, m.content, m.created_at, \
                m.sender_alias, m.extra FROM darkchat_messages m \
                LEFT JOIN darkchat_phones p ON p.id = m.sender_id \
                WHERE m.conversation_id = ? ORDER BY m.id DESC LIMIT 1) n ON 1 = 1 \
             SET c.last_message_id = COALESCE(n.id, 0), c.last_sender = n.number, \
                c.last_kind = n.kind, c.last_event = n.event, c.last_content = n.content, \
                c.last_created_at = n.created_at, c.last_sender_alias = n.sender_alias, \
                c.last_extra = n.extra \
             WHERE c.id = ? AND c.last_message_id > 0 AND NOT EXISTS \
                (SELECT 1 FROM darkchat_messages x WHERE x.id = c.last_message_id)",
            vec![id.get().into(), id.get().into()],
        );
        Ok(())
    }
    async fn delete_staff_ban(&self, number: &str) -> Result<()> {
        self.0.defer("DELETE FROM darkchat_staff_bans WHERE number = ?", vec![number.into()]);
        Ok(())
    }
    async fn delete_expired_staff_bans(&self, now: i64) -> Result<()> {
        self.0.defer("DELETE FROM darkchat_staff_bans WHERE expires_at <= ?", vec![now.into()]);
        Ok(())
    }
    async fn insert_report(&self, r: &Report) -> Result<i64> {
        let insert = Link::run(
            &self.0.link,
            "INSERT INTO darkchat_reports (conversation_id, message_id, reporter, reporter_alias, \
             sender, sender_alias, content, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                r.conversation_id.get().into(),
                r.message_id.get().into(),
                r.reporter.as_str().into(),
                r.reporter_alias.as_str().into(),
                r.sender.as_deref().into(),
                r.sender_alias.as_deref().into(),
                r.content.as_str().into(),
                r.reason.as_str().into(),
                r.created_at.into(),
            ],
        );
        inserted(insert.await?)
    }
    async fn delete_report(&self, id: i64) -> Result<()> {
        self.0.defer("DELETE FROM darkchat_reports WHERE id = ?", vec![id.into()]);
        Ok(())
    }
    async fn delete_oldest_reports(&self, count: i64) -> Result<()> {
        self.0.defer("DELETE FROM darkchat_reports ORDER BY id LIMIT ?", vec![count.into()]);
        Ok(())
    }
    /// Queued: it goes out with the next statement; a key another server recorded meanwhile
    /// fails there (duplicate key) and the transaction cannot commit.
    async fn record_import(&self, source_key: &str, id: ConversationId, now: i64) -> Result<()> {
        self.0.defer(
            "INSERT INTO darkchat_imports (source_key, conversation_id, imported_at) \
             VALUES (?, ?, ?)",
            vec![source_key.into(), id.get().into(), now.into()],
        );
        Ok(())
    }
    /// Multi-row INSERTs of [`IMPORT_ROWS`] messages each, in order (ids rise with the order
    /// of the rows), one round trip each (so no batch grows with the channel); then the newest
    /// id is read, and the conversation's copy of its newest message follows with the next
    /// statement.
    async fn insert_imported_messages(
        &self,
        id: ConversationId,
        messages: &[ImportedMessage],
    ) -> Result<MessageId> {
        let Some(newest) = messages.last() else { return Ok(MessageId::NONE) };
        for chunk in messages.chunks(IMPORT_ROWS) {
            let marks = vec!["(?, ?, 'text', NULL, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO darkchat_messages \
                 (conversation_id, sender_id, kind, event, content, created_at, sender_alias) \
                 VALUES {marks}"
            );
            let mut params = Vec::with_capacity(chunk.len() * 5);
            for m in chunk {
                params.extend([
                    id.get().into(),
                    m.sender.get().into(),
                    m.content.as_str().into(),
                    m.created_at.into(),
                    m.sender_alias.as_str().into(),
                ]);
            }
            Link::run(&self.0.link, sql, params).await?;
        }
        let last = MessageId(
            self.0
                .count(
                    "SELECT COALESCE(MAX(id), 0) FROM darkchat_messages WHERE conversation_id = ?",
                    vec![id.get().into()],
                )
                .await?,
        );
        self.0.defer(
            "UPDATE darkchat_conversations SET last_message_id = ?, \
             updated_at = GREATEST(updated_at, ?), \
             last_sender = (SELECT number FROM darkchat_phones WHERE id = ?), last_kind = 'text', \
             last_event = NULL, last_content = ?, last_created_at = ?, last_sender_alias = ? \
             WHERE id = ?",
            vec![
                last.get().into(),
                newest.created_at.into(),
                newest.sender.get().into(),
                newest.content.as_str().into(),
                newest.created_at.into(),
                newest.sender_alias.as_str().into(),
                id.get().into(),
            ],
        );
        Ok(last)
    }
}

// --- staff tools and reports ---------------------------------------------------------------

fn staff_ban_row(row: Vec<Value>) -> Result<StaffBan> {
    let mut c = Columns::of(row);
    Ok(StaffBan {
        number: c.text()?,
        reason: c.optional_text()?,
        created_at: c.int()?,
        expires_at: c.optional_int()?,
    })
}

fn report_row(row: Vec<Value>) -> Result<Report> {
    let mut c = Columns::of(row);
    Ok(Report {
        id: c.int()?,
        conversation_id: ConversationId(c.int()?),
        message_id: MessageId(c.int()?),
        reporter: c.text()?,
        reporter_alias: c.text()?,
        sender: c.optional_text()?,
        sender_alias: c.optional_text()?,
        content: c.text()?,
        reason: c.text()?,
        created_at: c.int()?,
    })
}

impl Queries {
    async fn staff_ban(&self, number: &str, now: i64) -> Result<Option<StaffBan>> {
        let rows = self
            .rows(
                "SELECT number, reason, created_at, expires_at FROM darkchat_staff_bans \
                 WHERE number = ? AND (expires_at IS NULL OR expires_at > ?)",
                vec![number.into(), now.into()],
            )
            .await?;
        rows.into_iter().next().map(staff_ban_row).transpose()
    }

    async fn staff_bans(&self, now: i64, limit: u32) -> Result<Vec<StaffBan>> {
        let rows = self
            .rows(
                "SELECT number, reason, created_at, expires_at FROM darkchat_staff_bans \
                 WHERE expires_at IS NULL OR expires_at > ? \
                 ORDER BY created_at DESC, number DESC LIMIT ?",
                vec![now.into(), limit.into()],
            )
            .await?;
        rows.into_iter().map(staff_ban_row).collect()
    }

    async fn count_staff_bans(&self, now: i64) -> Result<i64> {
        self.count(
            "SELECT COUNT(*) FROM darkchat_staff_bans WHERE expires_at IS NULL OR expires_at > ?",
            vec![now.into()],
        )
        .await
    }

    async fn reports(&self, limit: u32) -> Result<Vec<Report>> {
        let rows = self
            .rows(
                "SELECT id, conversation_id, message_id, reporter, reporter_alias, sender, \
                 sender_alias, content, reason, created_at FROM darkchat_reports \
                 ORDER BY id DESC LIMIT ?",
                vec![limit.into()],
            )
            .await?;
        rows.into_iter().map(report_row).collect()
    }

    async fn report(&self, id: i64) -> Result<Option<Report>> {
        let rows = self
            .rows(
                "SELECT id, conversation_id, message_id, reporter, reporter_alias, sender, \
                 sender_alias, content, reason, created_at FROM darkchat_reports WHERE id = ?",
                vec![id.into()],
            )
            .await?;
        rows.into_iter().next().map(report_row).transpose()
    }

    async fn count_reports(&self) -> Result<i64> {
        self.count("SELECT COUNT(*) FROM darkchat_reports", vec![]).await
    }

    async fn reported(&self, message: MessageId, reporter: &str) -> Result<bool> {
        self.exists(
            "SELECT 1 FROM darkchat_reports WHERE message_id = ? AND reporter = ?",
            vec![message.get().into(), reporter.into()],
        )
        .await
    }
}

/// Messages per INSERT of an import: at most 4 KiB each, so a statement stays far below the
/// server's `max_allowed_packet` (16 MiB by default on MariaDB, 64 MiB on MySQL 8).
const IMPORT_ROWS: usize = 200;
