//! The SQLite store as a [`Storage`]: the rules' transactions, run inline.
//!
//! A read is a deferred `BEGIN` (one snapshot); a write is `BEGIN IMMEDIATE`, which takes the
//! database's write lock at once, so a write transaction is alone among writers from its first
//! statement: the row locks the interface asks for are already held and cost nothing. Every
//! future here is ready when first polled ([`crate::storage::run_inline`]).

use crate::error::Result;
use crate::ids::{ConversationId, MessageId, PhoneId};
use crate::input::Alias;
use crate::model::{Ban, Extra, Listeners, Message, Report, StaffBan};
use crate::storage::{
    ConversationRow, ImportedMessage, Listed, MemberEntry, MemberRow, MessageRow, NewMessage, Read,
    RetentionCandidate, Stats, Storage, Write,
};
use crate::transfer::{Cell, Sequences, Table};

use super::{Store, Transaction, Tx};

/// A read transaction: [`Read`] only.
pub struct ReadTx<'c>(Tx<'c>);

/// A write transaction: [`Read`] and [`Write`].
pub struct WriteTx<'c>(Tx<'c>);

impl Storage for Store {
    type Read<'s> = ReadTx<'s>;
    type Write<'s> = WriteTx<'s>;

    async fn read<T>(&self, op: impl AsyncFnOnce(&ReadTx<'_>) -> Result<T>) -> Result<T> {
        let tx = Transaction::begin(&self.conn, "BEGIN")?;
        let value = op(&ReadTx(Tx::new(&self.conn, &self.numbers, true))).await?;
        tx.commit()?;
        Ok(value)
    }

    /// Never retried: nothing else writes while this transaction holds the write lock.
    async fn write<T>(&mut self, mut op: impl AsyncFnMut(&WriteTx<'_>) -> Result<T>) -> Result<T> {
        let tx = Transaction::begin(&self.conn, "BEGIN IMMEDIATE")?;
        let value = op(&WriteTx(Tx::new(&self.conn, &self.numbers, false))).await?;
        #[cfg(feature = "fault-injection")]
        super::fault::fire_before_commit();
        if !self.rehearsing {
            tx.commit()?; // (a rehearsal's is rolled back as `tx` drops)
        }
        Ok(value)
    }

    /// The answer is read inside the write transaction: no second transaction to pay for. (Its
    /// reads do not fill the number cache: the transaction may still roll back.)
    async fn write_then_read<T, U>(
        &mut self,
        mut change: impl AsyncFnMut(&WriteTx<'_>) -> Result<T>,
        mut answer: impl AsyncFnMut(&ReadTx<'_>, &T) -> Result<U>,
    ) -> Result<U> {
        let tx = Transaction::begin(&self.conn, "BEGIN IMMEDIATE")?;
        let value = change(&WriteTx(Tx::new(&self.conn, &self.numbers, false))).await?;
        let answered = answer(&ReadTx(Tx::new(&self.conn, &self.numbers, false)), &value).await?;
        #[cfg(feature = "fault-injection")]
        super::fault::fire_before_commit();
        if !self.rehearsing {
            tx.commit()?; // (a rehearsal's is rolled back as `tx` drops)
        }
        Ok(answered)
    }

    fn set_rehearsing(&mut self, on: bool) {
        self.rehearsing = on;
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn log_behind(&self) -> bool {
        self.log_frames.load(std::sync::atomic::Ordering::Relaxed) > self.log_behind_frames
    }
}

/// [`Read`] for a transaction type, each method the query of the same name.
macro_rules! read_through {
    ($tx:ident) => {
        impl Read for $tx<'_> {
            async fn phone_id(&self, number: &str) -> Result<Option<PhoneId>> {
                self.0.phone_id(number)
            }
            async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>> {
                self.0.conversation(id)
            }
            async fn conversation_exists(&self, id: ConversationId) -> Result<bool> {
                self.0.conversation_exists(id)
            }
            async fn conversation_id_by_code(&self, code: &str) -> Result<Option<ConversationId>> {
                self.0.conversation_id_by_code(code)
            }
            async fn conversations_of(
                &self,
                phone: PhoneId,
                limit: u32,
                unread_cap: u32,
            ) -> Result<Vec<Listed>> {
                self.0.conversations_of(phone, limit, unread_cap)
            }
            async fn all_conversations(&self, limit: u32) -> Result<Vec<ConversationRow>> {
                self.0.all_conversations(limit)
            }
            async fn member(
                &self,
                id: ConversationId,
                phone: PhoneId,
            ) -> Result<Option<MemberRow>> {
                self.0.member(id, phone)
            }
            async fn member_phone_id(
                &self,
                id: ConversationId,
                number: &str,
            ) -> Result<Option<PhoneId>> {
                self.0.member_phone_id(id, number)
            }
            async fn member_with_alias(
                &self,
                id: ConversationId,
                number: &str,
            ) -> Result<Option<(PhoneId, String)>> {
                self.0.member_with_alias(id, number)
            }
            async fn listeners(&self, id: ConversationId) -> Result<Listeners> {
                self.0.listeners(id)
            }
            async fn members(&self, id: ConversationId) -> Result<Vec<MemberEntry>> {
                self.0.members(id)
            }
            async fn member_by_alias(
                &self,
                id: ConversationId,
                alias_key: &str,
            ) -> Result<Option<MemberEntry>> {
                self.0.member_by_alias(id, alias_key)
            }
            async fn alias_of(&self, id: ConversationId, phone: PhoneId) -> Result<Option<String>> {
                self.0.alias_of(id, phone)
            }
            async fn is_banned(&self, id: ConversationId, phone: PhoneId) -> Result<bool> {
                self.0.is_banned(id, phone)
            }
            async fn bans(&self, id: ConversationId) -> Result<Vec<Ban>> {
                self.0.bans(id)
            }
            async fn count_bans(&self, id: ConversationId) -> Result<i64> {
                self.0.count_bans(id)
            }
            async fn count_members(&self, id: ConversationId) -> Result<i64> {
                self.0.count_members(id)
            }
            async fn count_memberships_of(&self, phone: PhoneId) -> Result<i64> {
                self.0.count_memberships_of(phone)
            }
            async fn count_memberships_of_number(&self, number: &str) -> Result<i64> {
                self.0.count_memberships_of_number(number)
            }
            async fn messages_before(
                &self,
                id: ConversationId,
                before: Option<MessageId>,
                limit: u32,
            ) -> Result<Vec<Message>> {
                self.0.messages_before(id, before, limit)
            }
            async fn message(
                &self,
                id: ConversationId,
                message: MessageId,
            ) -> Result<Option<MessageRow>> {
                self.0.message(id, message)
            }
            async fn replies_to(
                &self,
                id: ConversationId,
                message: MessageId,
            ) -> Result<Vec<(MessageId, Extra)>> {
                self.0.replies_to(id, message)
            }
            async fn count_messages_after(
                &self,
                id: ConversationId,
                after: MessageId,
                cap: u32,
            ) -> Result<i64> {
                self.0.count_messages_after(id, after, cap)
            }
            async fn standalone_number(&self, license: &str) -> Result<Option<String>> {
                self.0.standalone_number(license)
            }
            async fn standalone_number_taken(&self, number: &str) -> Result<bool> {
                self.0.standalone_number_taken(number)
            }
            async fn stats(&self) -> Result<Stats> {
                self.0.stats()
            }
            async fn integrity_check(&self) -> Result<String> {
                self.0.integrity_check()
            }
            async fn export_rows(
                &self,
                table: &'static Table,
                after: Option<&Cell>,
                limit: u32,
            ) -> Result<Vec<Vec<Cell>>> {
                self.0.export_rows(table, after, limit)
            }
            async fn table_counts(&self) -> Result<Vec<i64>> {
                self.0.table_counts()
            }
            async fn sequences(&self) -> Result<Sequences> {
                self.0.sequences()
            }
            async fn staff_ban(&self, number: &str, now: i64) -> Result<Option<StaffBan>> {
                self.0.staff_ban(number, now)
            }
            async fn staff_bans(&self, now: i64, limit: u32) -> Result<Vec<StaffBan>> {
                self.0.staff_bans(now, limit)
            }
            async fn count_staff_bans(&self, now: i64) -> Result<i64> {
                self.0.count_staff_bans(now)
            }
            async fn reports(&self, limit: u32) -> Result<Vec<Report>> {
                self.0.reports(limit)
            }
            async fn report(&self, id: i64) -> Result<Option<Report>> {
                self.0.report(id)
            }
            async fn count_reports(&self) -> Result<i64> {
                self.0.count_reports()
            }
            async fn reported(&self, message: MessageId, reporter: &str) -> Result<bool> {
                self.0.reported(message, reporter)
            }
            async fn imported(&self, source_key: &str) -> Result<Option<ConversationId>> {
                self.0.imported(source_key)
            }
            async fn retention_candidates(
                &self,
                after: i64,
                all: bool,
                max_count: u32,
                limit: u32,
            ) -> Result<Vec<RetentionCandidate>> {
                self.0.retention_candidates(after, all, max_count, limit)
            }
            async fn message_id_from_newest(
                &self,
                id: ConversationId,
                offset: u32,
            ) -> Result<Option<MessageId>> {
                self.0.message_id_from_newest(id, offset)
            }
        }
    };
}

read_through!(ReadTx);
read_through!(WriteTx);

impl Write for WriteTx<'_> {
    async fn lock_conversation(&self, _id: ConversationId) -> Result<()> {
        Ok(()) // held since BEGIN IMMEDIATE
    }
    async fn conversation_for_update(&self, id: ConversationId) -> Result<Option<ConversationRow>> {
        self.0.conversation(id)
    }
    async fn conversation_id_by_code_for_update(
        &self,
        code: &str,
    ) -> Result<Option<ConversationId>> {
        self.0.conversation_id_by_code(code)
    }
    async fn ensure_phone(&self, number: &str) -> Result<PhoneId> {
        self.0.ensure_phone(number)
    }
    async fn insert_conversation(
        &self,
        name: &str,
        creator: PhoneId,
        join_code: &str,
        now: i64,
    ) -> Result<ConversationId> {
        self.0.insert_conversation(name, creator, join_code, now)
    }
    async fn set_owner(&self, id: ConversationId, phone: PhoneId) -> Result<()> {
        self.0.set_owner(id, phone)
    }
    async fn set_name(&self, id: ConversationId, name: &str, now: i64) -> Result<()> {
        self.0.set_name(id, name, now)
    }
    async fn set_join_code(&self, id: ConversationId, code: &str) -> Result<()> {
        self.0.set_join_code(id, code)
    }
    async fn delete_conversation(&self, id: ConversationId) -> Result<()> {
        self.0.delete_conversation(id)
    }
    async fn insert_member(
        &self,
        id: ConversationId,
        phone: PhoneId,
        alias: &Alias,
        now: i64,
        read_up_to: MessageId,
    ) -> Result<()> {
        self.0.insert_member(id, phone, alias, now, read_up_to)
    }
    async fn set_alias(&self, id: ConversationId, phone: PhoneId, alias: &Alias) -> Result<()> {
        self.0.set_alias(id, phone, alias)
    }
    async fn set_moderator(&self, id: ConversationId, phone: PhoneId, on: bool) -> Result<()> {
        self.0.set_moderator(id, phone, on)
    }
    async fn set_muted(&self, id: ConversationId, phone: PhoneId, on: bool) -> Result<()> {
        self.0.set_muted(id, phone, on)
    }
    async fn insert_ban(
        &self,
        id: ConversationId,
        phone: PhoneId,
        alias: &str,
        now: i64,
    ) -> Result<()> {
        self.0.insert_ban(id, phone, alias, now)
    }
    async fn delete_ban(&self, id: ConversationId, phone: PhoneId) -> Result<()> {
        self.0.delete_ban(id, phone)
    }
    async fn delete_member(&self, id: ConversationId, phone: PhoneId) -> Result<()> {
        self.0.delete_member(id, phone)
    }
    async fn mark_read(&self, id: ConversationId, phone: PhoneId, up_to: MessageId) -> Result<()> {
        self.0.mark_read(id, phone, up_to)
    }
    async fn mark_read_guarded(
        &self,
        id: ConversationId,
        number: &str,
        up_to: Option<MessageId>,
        unbanned_at: Option<i64>,
    ) -> Result<bool> {
        self.0.mark_read_guarded(id, number, up_to, unbanned_at)
    }
    async fn insert_full_message(
        &self,
        id: ConversationId,
        message: &NewMessage<'_>,
        extra: Option<&str>,
        now: i64,
    ) -> Result<MessageId> {
        self.0.insert_full_message(id, message, extra, now)
    }
    async fn rewrite_message(
        &self,
        id: ConversationId,
        message: MessageId,
        content: Option<&str>,
        extra: Option<&str>,
    ) -> Result<()> {
        self.0.rewrite_message(id, message, content, extra)
    }
    async fn insert_standalone_number(&self, license: &str, number: &str, now: i64) -> Result<()> {
        self.0.insert_standalone_number(license, number, now)
    }
    async fn set_retention(&self, id: ConversationId, seconds: i64) -> Result<()> {
        self.0.set_retention(id, seconds)
    }
    async fn delete_messages_before_time(
        &self,
        id: ConversationId,
        before: i64,
        limit: u32,
    ) -> Result<i64> {
        self.0.delete_messages_before_time(id, before, limit)
    }
    async fn delete_messages_up_to(
        &self,
        id: ConversationId,
        up_to: MessageId,
        limit: u32,
    ) -> Result<i64> {
        self.0.delete_messages_up_to(id, up_to, limit)
    }
    async fn refresh_last_message(&self, id: ConversationId) -> Result<()> {
        self.0.refresh_last_message(id)
    }
    async fn import_rows(&self, table: &'static Table, rows: &[Vec<Cell>]) -> Result<()> {
        self.0.import_rows(table, rows)
    }
    async fn raise_sequence(&self, table: &'static Table, high_water: u64) -> Result<()> {
        self.0.raise_sequence(table, high_water)
    }
    async fn delete_all_rows(&self) -> Result<()> {
        self.0.delete_all_rows()
    }
    async fn insert_staff_ban(&self, ban: &StaffBan) -> Result<()> {
        self.0.insert_staff_ban(ban)
    }
    async fn delete_staff_ban(&self, number: &str) -> Result<()> {
        self.0.delete_staff_ban(number)
    }
    async fn delete_expired_staff_bans(&self, now: i64) -> Result<()> {
        self.0.delete_expired_staff_bans(now)
    }
    async fn insert_report(&self, report: &Report) -> Result<i64> {
        self.0.insert_report(report)
    }
    async fn delete_report(&self, id: i64) -> Result<()> {
        self.0.delete_report(id)
    }
    async fn delete_oldest_reports(&self, count: i64) -> Result<()> {
        self.0.delete_oldest_reports(count)
    }
    async fn record_import(&self, source_key: &str, id: ConversationId, now: i64) -> Result<()> {
        self.0.record_import(source_key, id, now)
    }
    async fn insert_imported_messages(
        &self,
        id: ConversationId,
        messages: &[ImportedMessage],
    ) -> Result<MessageId> {
        self.0.insert_imported_messages(id, messages)
    }
}
