//! The storage interface the rules are written against, once for every database.
//!
//! [`crate::service`] runs each operation inside one transaction of a [`Storage`]: reads through
//! a [`Read`] transaction, changes through a [`Write`] one (the only type with write methods, so
//! a read path cannot write by mistake). Two storages implement it:
//! - the embedded SQLite store ([`crate::store`]), where every statement runs inline: the
//!   futures are ready when first polled, and [`run_inline`] polls them once;
//! - MySQL/MariaDB ([`crate::mysql`]), where the host runs the statements: each one the core
//!   needs suspends the operation until the host feeds the result back, so one copy of the
//!   rules drives a database the core cannot reach itself.
//!
//! The methods are `async` for that second case only; on SQLite they cost what the plain calls
//! cost. Locking: a write that reads a conversation to decide something first takes that
//! conversation's row with [`Write::lock_conversation`] or [`Write::conversation_for_update`]
//! (on SQLite a write transaction already holds the whole database, so these only read), so
//! that on a database shared by several servers every change of one conversation is made in
//! turn and every rule holds.

#![allow(async_fn_in_trait)] // implemented only inside this crate, never as `dyn` or across threads

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::changes::{Change, ChangeBatch, Retention};
use crate::error::{Error, Result};
use crate::ids::{ConversationId, MessageId, PhoneId};
use crate::input::Alias;
use crate::model::{Ban, Extra, Listeners, Message, MessageKind, Report, StaffBan, SystemEvent};
use crate::transfer::{Cell, Sequences, Table};

/// A conversation row with its owner's number resolved.
#[derive(Debug, Clone)]
pub struct ConversationRow {
    pub id: ConversationId,
    pub name: String,
    pub app_name: String,
    pub created_by: PhoneId,
    pub owner_id: PhoneId,
    pub owner_number: String,
    pub join_code: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The newest message ([`MessageId::NONE`] when there is none).
    pub last_message_id: MessageId,
    /// That message, kept beside the conversation for listings.
    pub last_message: Option<Message>,
    /// Seconds its messages are kept (0: no retention of its own).
    pub retention_seconds: i64,
}

/// A member's own state in a conversation.
#[derive(Debug, Clone)]
pub struct MemberRow {
    /// Membership age: smaller is longer-standing.
    pub id: i64,
    pub last_read_message_id: MessageId,
    pub is_moderator: bool,
    pub muted: bool,
    pub alias: String,
}

/// A member of a conversation as stored.
#[derive(Debug, Clone)]
pub struct MemberEntry {
    pub phone: PhoneId,
    pub number: String,
    pub alias: String,
    pub is_moderator: bool,
    pub muted: bool,
}

/// One entry of a member's conversation list, with the member's unread count (capped).
#[derive(Debug, Clone)]
pub struct Listed {
    pub row: ConversationRow,
    pub member: MemberRow,
    pub unread: i64,
}

/// A message as stored, with its sender's phone id (who may edit or delete it).
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub message: Message,
    pub sender_id: Option<PhoneId>,
}

/// See [`Read::mark_read_facts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkReadFacts {
    /// The number checked has a staff ban in force.
    pub banned: bool,
    /// The conversation exists.
    pub conversation: bool,
    /// The number is a member of it.
    pub member: bool,
}

/// Counts and facts about a store, for `darkchat stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub conversations: i64,
    pub memberships: i64,
    pub messages: i64,
    pub phones: i64,
    pub size_bytes: i64,
    pub schema_version: i64,
    /// Where the data lives (a file, or a database name).
    pub location: Option<String>,
}

/// See [`Read::retention_candidates`]: a conversation as the sweep first reads it, before it
/// takes any lock, with what decides whether any of its messages could be due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionCandidate {
    pub id: ConversationId,
    /// Its own retention, in seconds (0: off).
    pub retention_seconds: i64,
    /// When its oldest message was written (none when it has no message).
    pub oldest_at: Option<i64>,
    /// It holds more messages than the count asked about.
    pub over_count: bool,
}

/// The columns of a message being stored, but its extra and time.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    pub sender: Option<PhoneId>,
    pub sender_alias: Option<&'a str>,
    pub kind: MessageKind,
    pub event: Option<SystemEvent>,
    pub content: &'a str,
    pub reply_to: Option<MessageId>,
}

/// What every transaction can read.
pub trait Read {
    async fn phone_id(&self, number: &str) -> Result<Option<PhoneId>>;
    async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>>;
    async fn conversation_exists(&self, id: ConversationId) -> Result<bool>;
    async fn conversation_id_by_code(&self, code: &str) -> Result<Option<ConversationId>>;
    /// `phone`'s conversations, most recently active first, at most `limit`, each with the
    /// member's unread count counted up to `unread_cap`.
    async fn conversations_of(
        &self,
        phone: PhoneId,
        limit: u32,
        unread_cap: u32,
    ) -> Result<Vec<Listed>>;
    /// [`Read::conversations_of`] the phone of `number` (none when the number was never seen).
    async fn conversations_of_number(
        &self,
        number: &str,
        limit: u32,
        unread_cap: u32,
    ) -> Result<Vec<Listed>> {
        match self.phone_id(number).await? {
            Some(phone) => self.conversations_of(phone, limit, unread_cap).await,
            None => Ok(Vec::new()),
        }
    }
    /// Every conversation, newest first, at most `limit` (the admin listing).
    async fn all_conversations(&self, limit: u32) -> Result<Vec<ConversationRow>>;
    async fn member(&self, id: ConversationId, phone: PhoneId) -> Result<Option<MemberRow>>;
    /// Conversation `id` as `number` sees it: its row and, when `number` is a member, the
    /// membership with its unread count (counted up to `unread_cap`); `None` when the
    /// conversation does not exist. Read here one statement after another; a storage that pays
    /// a round trip per statement (MySQL) reads it all in one.
    async fn conversation_seen_by(
        &self,
        id: ConversationId,
        number: &str,
        unread_cap: u32,
    ) -> Result<Option<(ConversationRow, Option<(MemberRow, i64)>)>> {
        let Some(row) = self.conversation(id).await? else {
            return Ok(None);
        };
        let member = match self.member_phone_id(id, number).await? {
            Some(phone) => self.member(id, phone).await?,
            None => None,
        };
        let Some(member) = member else {
            return Ok(Some((row, None)));
        };
        let unread = if member.last_read_message_id < row.last_message_id {
            self.count_messages_after(id, member.last_read_message_id, unread_cap).await?
        } else {
            0
        };
        Ok(Some((row, Some((member, unread)))))
    }
    /// The phone id of `number` if it is a member of `id`.
    async fn member_phone_id(&self, id: ConversationId, number: &str) -> Result<Option<PhoneId>>;
    /// [`Read::member_phone_id`] with the alias the member goes by in `id`, in one statement
    /// (every message sent reads it).
    async fn member_with_alias(
        &self,
        id: ConversationId,
        number: &str,
    ) -> Result<Option<(PhoneId, String)>>;
    /// What tells why a guarded markRead ([`Write::mark_read_guarded`]) of `number` in `id`
    /// matched no row: whether `staff` (a number and the time, when a staff ban is to be
    /// checked) names a number with a staff ban in force then, whether `id` exists, whether
    /// `number` is a member of it. Read here side by side; MySQL reads the three in one
    /// statement.
    async fn mark_read_facts(
        &self,
        id: ConversationId,
        number: &str,
        staff: Option<(&str, i64)>,
    ) -> Result<MarkReadFacts> {
        let ban = async {
            match staff {
                Some((banned, now)) => self.staff_ban(banned, now).await.map(|b| b.is_some()),
                None => Ok(false),
            }
        };
        let ((banned, conversation), member) =
            both(both(ban, self.conversation_exists(id)), self.member_phone_id(id, number)).await;
        Ok(MarkReadFacts {
            banned: banned?,
            conversation: conversation?,
            member: member?.is_some(),
        })
    }
    /// [`Listeners`]: the members' numbers, longest-standing first, and who muted `id`.
    async fn listeners(&self, id: ConversationId) -> Result<Listeners>;
    /// Members with their aliases and roles, longest-standing first.
    async fn members(&self, id: ConversationId) -> Result<Vec<MemberEntry>>;
    /// The member of `id` whose alias has the key `alias_key` ([`Alias::key`]), if any.
    async fn member_by_alias(
        &self,
        id: ConversationId,
        alias_key: &str,
    ) -> Result<Option<MemberEntry>>;
    /// The alias `phone` goes by in `id`.
    async fn alias_of(&self, id: ConversationId, phone: PhoneId) -> Result<Option<String>>;
    async fn is_banned(&self, id: ConversationId, phone: PhoneId) -> Result<bool>;
    /// The bans of `id`, oldest first.
    async fn bans(&self, id: ConversationId) -> Result<Vec<Ban>>;
    async fn count_bans(&self, id: ConversationId) -> Result<i64>;
    async fn count_members(&self, id: ConversationId) -> Result<i64>;
    async fn count_memberships_of(&self, phone: PhoneId) -> Result<i64>;
    /// [`Read::count_memberships_of`] the phone of `number` (0 when the number was never seen).
    async fn count_memberships_of_number(&self, number: &str) -> Result<i64> {
        match self.phone_id(number).await? {
            Some(phone) => self.count_memberships_of(phone).await,
            None => Ok(0),
        }
    }
    /// Up to `limit` messages older than `before` (the newest when `None`), oldest first.
    async fn messages_before(
        &self,
        id: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>>;
    /// Message `message` of conversation `id` (none when it is another conversation's).
    async fn message(&self, id: ConversationId, message: MessageId) -> Result<Option<MessageRow>>;
    /// The messages of `id` that answer `message`, with their extras.
    async fn replies_to(
        &self,
        id: ConversationId,
        message: MessageId,
    ) -> Result<Vec<(MessageId, Extra)>>;
    /// Messages after `after`, counted up to `cap`.
    async fn count_messages_after(
        &self,
        id: ConversationId,
        after: MessageId,
        cap: u32,
    ) -> Result<i64>;
    async fn standalone_number(&self, license: &str) -> Result<Option<String>>;
    async fn standalone_number_taken(&self, number: &str) -> Result<bool>;
    async fn stats(&self) -> Result<Stats>;
    // --- disappearing messages (see crate::service::retention) ----------------------------

    /// Up to `limit` conversations with an id above `after`, in id order: every conversation
    /// when `all`, else only those with a retention set. Each with its retention, its oldest
    /// message's time and whether it holds more than `max_count` messages (never when
    /// `max_count` is 0). One read through the conversations' key, each with a seek for its
    /// oldest message and a walk of up to `max_count` entries for its count.
    async fn retention_candidates(
        &self,
        after: i64,
        all: bool,
        max_count: u32,
        limit: u32,
    ) -> Result<Vec<RetentionCandidate>>;
    /// The id of the message of `id` that has `offset` newer ones (none when it has fewer).
    async fn message_id_from_newest(
        &self,
        id: ConversationId,
        offset: u32,
    ) -> Result<Option<MessageId>>;
    /// A full consistency check of the store: "ok", or the first complaint.
    async fn integrity_check(&self) -> Result<String>;
    /// Up to `limit` rows of `table` whose key is greater than `after` (from the first when
    /// `None`), in key order, columns as [`Table::columns`] lists them (a storage move).
    async fn export_rows(
        &self,
        table: &'static Table,
        after: Option<&Cell>,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>>;
    /// The row count of every table of [`crate::transfer::TABLES`], in that order.
    async fn table_counts(&self) -> Result<Vec<i64>>;
    /// The high-water mark of every AUTOINCREMENT table.
    async fn sequences(&self) -> Result<Sequences>;

    // --- staff tools and reports ---------------------------------------------------------

    /// The staff ban of `number` in force at `now` (its end after `now`, or none).
    async fn staff_ban(&self, number: &str, now: i64) -> Result<Option<StaffBan>>;
    /// The staff bans in force at `now`, newest first, at most `limit`.
    async fn staff_bans(&self, now: i64, limit: u32) -> Result<Vec<StaffBan>>;
    async fn count_staff_bans(&self, now: i64) -> Result<i64>;
    /// The reports kept, newest first, at most `limit`.
    async fn reports(&self, limit: u32) -> Result<Vec<Report>>;
    async fn report(&self, id: i64) -> Result<Option<Report>>;
    async fn count_reports(&self) -> Result<i64>;
    /// Whether `reporter` reported message `message` before.
    async fn reported(&self, message: MessageId, reporter: &str) -> Result<bool>;
    /// The conversation an import made of the source channel `source_key`
    /// (`darkchat import`), if one did.
    async fn imported(&self, source_key: &str) -> Result<Option<ConversationId>>;
}

/// What only a write transaction can do.
pub trait Write: Read {
    /// Holds conversation `id` against other writers until the transaction ends (nothing
    /// happens when it does not exist).
    async fn lock_conversation(&self, id: ConversationId) -> Result<()>;
    /// [`Read::conversation`], holding the row as [`Write::lock_conversation`] does.
    async fn conversation_for_update(&self, id: ConversationId) -> Result<Option<ConversationRow>>;
    /// [`Read::conversation_id_by_code`], holding the row found.
    async fn conversation_id_by_code_for_update(
        &self,
        code: &str,
    ) -> Result<Option<ConversationId>>;
    /// The phone id of `number`, created on first sight; held until the transaction ends.
    async fn ensure_phone(&self, number: &str) -> Result<PhoneId>;
    /// A new conversation owned by `creator`. A code another conversation has meanwhile
    /// taken is [`crate::Error::JoinCodeTaken`].
    async fn insert_conversation(
        &self,
        name: &str,
        creator: PhoneId,
        join_code: &str,
        now: i64,
    ) -> Result<ConversationId>;
    async fn set_owner(&self, id: ConversationId, phone: PhoneId) -> Result<()>;
    async fn set_name(&self, id: ConversationId, name: &str, now: i64) -> Result<()>;
    /// As [`Write::insert_conversation`], a code taken meanwhile is `JoinCodeTaken`.
    async fn set_join_code(&self, id: ConversationId, code: &str) -> Result<()>;
    /// Deletes the conversation with its members and messages.
    async fn delete_conversation(&self, id: ConversationId) -> Result<()>;
    /// A member named `alias`; an alias another member holds meanwhile is a storage error.
    async fn insert_member(
        &self,
        id: ConversationId,
        phone: PhoneId,
        alias: &Alias,
        now: i64,
        read_up_to: MessageId,
    ) -> Result<()>;
    async fn set_alias(&self, id: ConversationId, phone: PhoneId, alias: &Alias) -> Result<()>;
    async fn set_moderator(&self, id: ConversationId, phone: PhoneId, on: bool) -> Result<()>;
    async fn set_muted(&self, id: ConversationId, phone: PhoneId, on: bool) -> Result<()>;
    async fn insert_ban(
        &self,
        id: ConversationId,
        phone: PhoneId,
        alias: &str,
        now: i64,
    ) -> Result<()>;
    async fn delete_ban(&self, id: ConversationId, phone: PhoneId) -> Result<()>;
    async fn delete_member(&self, id: ConversationId, phone: PhoneId) -> Result<()>;
    /// Moves a member's read position forward (never back).
    async fn mark_read(&self, id: ConversationId, phone: PhoneId, up_to: MessageId) -> Result<()>;
    /// [`Write::mark_read`] as one statement that decides for itself (for
    /// [`Storage::write_at_once`]): moves `number`'s read position in `id` to `up_to` (the
    /// newest message when `None`; never past the newest, never back) only where `number` is a
    /// member of `id` and, with `unbanned_at` = `Some(now)`, has no staff ban in force at `now`.
    /// Whether it found such a member (also when the position was already there).
    async fn mark_read_guarded(
        &self,
        id: ConversationId,
        number: &str,
        up_to: Option<MessageId>,
        unbanned_at: Option<i64>,
    ) -> Result<bool>;
    /// Stores a plain message (no reply, no extra): [`Write::insert_full_message`].
    #[allow(clippy::too_many_arguments)]
    async fn insert_message(
        &self,
        id: ConversationId,
        sender: Option<PhoneId>,
        sender_alias: Option<&str>,
        kind: MessageKind,
        event: Option<SystemEvent>,
        content: &str,
        now: i64,
    ) -> Result<MessageId> {
        let new = NewMessage { sender, sender_alias, kind, event, content, reply_to: None };
        self.insert_full_message(id, &new, None, now).await
    }
    /// Stores a message and makes it the conversation's newest (`updated_at` moves, and the
    /// conversation keeps a copy for listings). `extra` is [`Extra::to_stored`].
    async fn insert_full_message(
        &self,
        id: ConversationId,
        message: &NewMessage<'_>,
        extra: Option<&str>,
        now: i64,
    ) -> Result<MessageId>;
    /// Replaces a message's extra and, unless `None`, its content (an edit, a deletion, a quote
    /// whose original went), and the conversation's copy of it when it is the newest.
    async fn rewrite_message(
        &self,
        id: ConversationId,
        message: MessageId,
        content: Option<&str>,
        extra: Option<&str>,
    ) -> Result<()>;
    async fn insert_standalone_number(&self, license: &str, number: &str, now: i64) -> Result<()>;
    async fn set_retention(&self, id: ConversationId, seconds: i64) -> Result<()>;
    /// Deletes up to `limit` messages of `id` written before `before`, oldest first; returns
    /// how many.
    async fn delete_messages_before_time(
        &self,
        id: ConversationId,
        before: i64,
        limit: u32,
    ) -> Result<i64>;
    /// Deletes up to `limit` messages of `id` with an id up to `up_to`, oldest first; returns
    /// how many.
    async fn delete_messages_up_to(
        &self,
        id: ConversationId,
        up_to: MessageId,
        limit: u32,
    ) -> Result<i64>;
    /// When the conversation's copy of its newest message names a message that is gone, makes
    /// the newest message left its copy (none when no message is left).
    async fn refresh_last_message(&self, id: ConversationId) -> Result<()>;
    /// Inserts rows of `table` with their keys as given (a storage move).
    async fn import_rows(&self, table: &'static Table, rows: &[Vec<Cell>]) -> Result<()>;
    /// Raises the high-water mark of an AUTOINCREMENT table to at least `high_water` (the
    /// largest id ever handed out), so that the next id is above it.
    async fn raise_sequence(&self, table: &'static Table, high_water: u64) -> Result<()>;
    /// Deletes every row of every copied table (undoing a storage move into an empty store).
    async fn delete_all_rows(&self) -> Result<()>;

    // --- staff tools and reports ---------------------------------------------------------

    async fn insert_staff_ban(&self, ban: &StaffBan) -> Result<()>;
    async fn delete_staff_ban(&self, number: &str) -> Result<()>;
    /// Deletes the staff bans that ended by `now`.
    async fn delete_expired_staff_bans(&self, now: i64) -> Result<()>;
    /// Stores `report` (its `id` is not read) and returns the new id.
    async fn insert_report(&self, report: &Report) -> Result<i64>;
    async fn delete_report(&self, id: i64) -> Result<()>;
    /// Deletes the `count` oldest reports.
    async fn delete_oldest_reports(&self, count: i64) -> Result<()>;

    /// Records the change `change()` describes in the change log of a server network, in this
    /// transaction, so that the change and its entry commit together (see [`crate::changes`]).
    /// The last call of an operation's write. A storage without a log (SQLite: one server per
    /// file) does nothing, and never builds the entry.
    async fn record(&self, change: impl FnOnce() -> Change) -> Result<()> {
        let _ = change;
        Ok(())
    }
    /// Records that the source channel `source_key` became conversation `id` (`darkchat
    /// import`); a key recorded meanwhile by another server is a storage error.
    async fn record_import(&self, source_key: &str, id: ConversationId, now: i64) -> Result<()>;
    /// Stores imported text messages in the order given, each with its own time, and makes the
    /// last the conversation's newest; returns its id ([`MessageId::NONE`] when none).
    async fn insert_imported_messages(
        &self,
        id: ConversationId,
        messages: &[ImportedMessage],
    ) -> Result<MessageId>;
}

/// A text message brought in by `darkchat import`, checked by the rules.
#[derive(Debug, Clone)]
pub struct ImportedMessage {
    pub sender: PhoneId,
    pub sender_alias: String,
    pub content: String,
    pub created_at: i64,
}

/// A database the rules run on: each operation in one transaction, committed when it returns
/// `Ok` and rolled back on `Err`. A storage owns what it works on (`'static`: no borrowed
/// connection), so that it can be wrapped (see `crate::service::staff_gate`).
pub trait Storage: 'static {
    type Read<'s>: Read
    where
        Self: 's;
    type Write<'s>: Write
    where
        Self: 's;

    /// Runs `op` on one consistent snapshot.
    async fn read<T>(&self, op: impl AsyncFnOnce(&Self::Read<'_>) -> Result<T>) -> Result<T>;

    /// Runs `op` in one write transaction. A storage shared with other writers may run `op`
    /// again, from the start on a fresh transaction, when the first try lost a race that the
    /// database resolved by aborting it (a deadlock, a lock wait past its limit): so `op`
    /// must decide everything from what it reads inside.
    async fn write<T>(&mut self, op: impl AsyncFnMut(&Self::Write<'_>) -> Result<T>) -> Result<T>;

    /// [`Storage::write`] for a change made by one statement that decides for itself: its
    /// `WHERE` carries every condition the rules check, so that the decision and the write are
    /// the same statement and nothing can change between them. `op` writes with that one
    /// statement at most, and answers from its result (whether it matched); the reads it makes
    /// after it only tell why it matched nothing, and a refusal that they cannot explain (the
    /// state changed between the statement and them) is to be answered as
    /// [`Error::Conflict`], which runs `op` again. A storage may then run `op` without a
    /// transaction: on MySQL the statement goes out alone, one round trip with no `START
    /// TRANSACTION` and `COMMIT` (a rehearsal still runs in a transaction, to roll it back).
    /// SQLite runs it as [`Storage::write`].
    async fn write_at_once<T>(
        &mut self,
        op: impl AsyncFnMut(&Self::Write<'_>) -> Result<T>,
    ) -> Result<T> {
        self.write(op).await
    }

    /// [`Storage::write`] `change`, then `answer` reads what the caller is told about it (the
    /// conversation as it now is, who to notify). A storage may run `answer` inside the write
    /// transaction (SQLite: no second transaction to pay for) or just after its commit, in
    /// the same round trip (MySQL); either way it sees the change.
    async fn write_then_read<T, U>(
        &mut self,
        change: impl AsyncFnMut(&Self::Write<'_>) -> Result<T>,
        answer: impl AsyncFnMut(&Self::Read<'_>, &T) -> Result<U>,
    ) -> Result<U>;

    /// While `on`, every write is a rehearsal: it runs in full (every rule checked, every row
    /// written, the answer read inside the transaction) and is then rolled back, so its
    /// outcome is known and nothing of it is kept. Veto hooks are shown what an action would
    /// do this way, with the rules written once.
    fn set_rehearsing(&mut self, on: bool);

    /// Whether the write-ahead log has grown past the length it is cut back to: the native
    /// SQLite store's background checkpointer has not caught up with the writes (it copies
    /// the log and restarts it only in a quiet moment). Background work (the retention sweep)
    /// waits while it is, so that it never pushes the log towards the cap where the
    /// checkpointer holds every writer back to restart it. Read after a commit of this
    /// storage. Never on MySQL, nor on the wasm build (its host checkpoints in every pause).
    fn log_behind(&self) -> bool {
        false
    }

    /// The change log of a server network (MySQL only; see [`crate::changes`]): stores
    /// `after` as where `server` has read up to (the stored position when `None`; the log's end
    /// for a server never seen), then reads the entries after it.
    async fn changes(
        &mut self,
        server: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<ChangeBatch> {
        let _ = (server, after, limit);
        Err(no_change_log())
    }

    /// Deletes a batch of the log's entries beyond `retention`; returns how many.
    async fn prune_changes(&mut self, retention: Retention) -> Result<i64> {
        let _ = retention;
        Err(no_change_log())
    }
}

/// The answer of a storage that keeps no change log.
fn no_change_log() -> Error {
    Error::invalid("storage: the change log of a server network needs MySQL storage")
}

/// Both futures' values, the two run side by side: on MySQL the statements they start go out
/// in one batch (one round trip); on SQLite they simply run one after the other.
pub async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    match both_unless(a, b, |_| false).await {
        (x, Some(y)) => (x, y),
        (_, None) => unreachable!("`b` is dropped only when `a`'s value settles the answer"),
    }
}

/// `a` and `b` side by side as [`both`] runs them, except that once `a`'s value `settles` the
/// answer alone, `b` is dropped unfinished (`None`): it asks for nothing more.
pub async fn both_unless<A: Future, B: Future>(
    a: A,
    b: B,
    settles: impl Fn(&A::Output) -> bool,
) -> (A::Output, Option<B::Output>) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut first, mut second) = (None, None);
    poll_fn(|cx| {
        if first.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                if settles(&v) {
                    return Poll::Ready((v, None));
                }
                first = Some(v);
            }
        }
        if second.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                second = Some(v);
            }
        }
        match (first.take(), second.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, Some(y))),
            (x, y) => {
                (first, second) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

/// The value of a future that never waits, as on SQLite, where every statement completes in
/// the call: polled once. A future that does wait is a bug of the storage that made it.
pub fn run_inline<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("an inline storage operation waited"),
    }
}
