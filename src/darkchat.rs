//! [`Darkchat`]: the rules over the embedded SQLite store, as plain calls.
//!
//! What the Lua module, the wasm core on SQLite, the tests and the benchmark hold. Every
//! SQLite statement completes inline, so each call runs its operation to the end at once
//! ([`run_inline`]); the MySQL storage drives the same [`Service`] step by step instead
//! (`crate::mysql`).

use crate::error::Result;
use crate::ids::{ConversationId, MessageId};
use crate::input::{Alias, ConversationName, JoinCode, PhoneNumber};
use crate::model::{Ban, Conversation, Member, MembershipChange, Message};
use crate::service::{Actor, Limits, Service};
use crate::storage::{run_inline, Stats};
use crate::store::Store;

pub struct Darkchat {
    service: Service<Store>,
}

impl Darkchat {
    /// `seed` feeds join-code and number generation: give 32 bytes from a real entropy source
    /// (codes must not be guessable).
    pub fn new(store: Store, limits: Limits, seed: [u8; 32]) -> Self {
        Darkchat { service: Service::new(store, limits, seed) }
    }

    pub fn limits(&self) -> &Limits {
        self.service.limits()
    }

    pub fn store(&self) -> &Store {
        self.service.storage()
    }

    /// The rules themselves, for the dispatch of host calls (`crate::api`).
    pub fn service(&mut self) -> &mut Service<Store> {
        &mut self.service
    }

    pub fn create_conversation(
        &mut self,
        creator: &PhoneNumber,
        name: &ConversationName,
        code: Option<&JoinCode>,
        now: i64,
    ) -> Result<Conversation> {
        run_inline(self.service.create_conversation(creator, name, code, None, now))
    }

    pub fn add_member(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        now: i64,
    ) -> Result<MembershipChange> {
        run_inline(self.service.add_member(number, id, None, now))
    }

    pub fn remove_member(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        is_self: bool,
        now: i64,
    ) -> Result<MembershipChange> {
        run_inline(self.service.remove_member(number, id, is_self, now))
    }

    pub fn kick(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        number: &PhoneNumber,
        ban: bool,
        now: i64,
    ) -> Result<MembershipChange> {
        run_inline(self.service.kick(actor, id, number, ban, now))
    }

    pub fn unban(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        number: &PhoneNumber,
    ) -> Result<()> {
        run_inline(self.service.unban(actor, id, number))
    }

    pub fn bans(&self, actor: Actor<'_>, id: ConversationId) -> Result<Vec<Ban>> {
        run_inline(self.service.bans(actor, id))
    }

    pub fn set_moderator(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        number: &PhoneNumber,
        on: bool,
        now: i64,
    ) -> Result<(Option<Message>, Vec<Member>)> {
        run_inline(self.service.set_moderator(actor, id, number, on, now))
    }

    pub fn set_alias(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        alias: &Alias,
        now: i64,
    ) -> Result<(Message, Vec<Member>)> {
        run_inline(self.service.set_alias(number, id, alias, now))
    }

    pub fn set_muted(&mut self, number: &PhoneNumber, id: ConversationId, on: bool) -> Result<()> {
        run_inline(self.service.set_muted(number, id, on))
    }

    pub fn members(&self, viewer: Option<&PhoneNumber>, id: ConversationId) -> Result<Vec<Member>> {
        run_inline(self.service.members(viewer, id))
    }

    /// [`Darkchat::join_by_code`] under a chosen alias (a generated one when `None`).
    pub fn join_as(
        &mut self,
        number: &PhoneNumber,
        code: &JoinCode,
        alias: Option<&Alias>,
        now: i64,
    ) -> Result<(Conversation, MembershipChange)> {
        run_inline(self.service.join_by_code(number, code, alias, now))
    }

    pub fn join_by_code(
        &mut self,
        number: &PhoneNumber,
        code: &JoinCode,
        now: i64,
    ) -> Result<(Conversation, MembershipChange)> {
        run_inline(self.service.join_by_code(number, code, None, now))
    }

    pub fn send_message(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        text: &str,
        now: i64,
    ) -> Result<(Message, Vec<String>)> {
        run_inline(self.service.send_message(number, id, text, now))
            .map(|(message, listeners)| (message, listeners.numbers))
    }

    pub fn conversation(&self, number: &PhoneNumber, id: ConversationId) -> Result<Conversation> {
        run_inline(self.service.conversation(number, id))
    }

    pub fn conversation_for_admin(&self, id: ConversationId) -> Result<Conversation> {
        run_inline(self.service.conversation_for_admin(id))
    }

    pub fn conversations_of(&self, number: &PhoneNumber) -> Result<Vec<Conversation>> {
        run_inline(self.service.conversations_of(number))
    }

    pub fn all_conversations(&self, limit: u32) -> Result<Vec<Conversation>> {
        run_inline(self.service.all_conversations(limit))
    }

    pub fn messages_before(
        &self,
        number: &PhoneNumber,
        id: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        run_inline(self.service.messages_before(number, id, before, limit))
    }

    pub fn mark_read(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        up_to: Option<MessageId>,
    ) -> Result<()> {
        run_inline(self.service.mark_read(number, id, up_to))
    }

    pub fn rename(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        name: &ConversationName,
        now: i64,
    ) -> Result<(Message, Vec<String>)> {
        run_inline(self.service.rename(actor, id, name, now))
            .map(|(message, members)| (message, numbers(members)))
    }

    pub fn regenerate_code(&mut self, actor: Actor<'_>, id: ConversationId) -> Result<String> {
        run_inline(self.service.regenerate_code(actor, id))
    }

    pub fn delete(&mut self, actor: Actor<'_>, id: ConversationId) -> Result<Vec<String>> {
        run_inline(self.service.delete(actor, id))
    }

    pub fn transfer_ownership(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        to: &PhoneNumber,
        now: i64,
    ) -> Result<(Message, Vec<String>)> {
        run_inline(self.service.transfer_ownership(actor, id, to, now))
            .map(|(message, members)| (message, numbers(members)))
    }

    pub fn standalone_number(&mut self, license: &str, now: i64) -> Result<String> {
        run_inline(self.service.standalone_number(license, now))
    }

    pub fn stats(&self) -> Result<Stats> {
        run_inline(self.service.stats())
    }

    pub fn integrity_check(&self) -> Result<String> {
        run_inline(self.service.integrity_check())
    }
}

/// The members' numbers, longest-standing first.
fn numbers(members: Vec<Member>) -> Vec<String> {
    members.into_iter().map(|m| m.number).collect()
}
