//! The Darkchat domain: every operation and rule, on top of the store.
//!
//! Knows nothing of Lua, JSON or the OS: the caller passes the time (`now`, unix seconds) and
//! the randomness comes from a generator seeded by the caller, so the same code runs natively
//! and as WebAssembly. Each operation is one store transaction: it happens whole or not at all.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::input::{ConversationName, JoinCode, PhoneNumber};
use crate::model::{Conversation, MembershipChange, Message, MessageKind, SystemEvent};
use crate::store::{ConversationRow, MemberRow, Store, Tx};

/// Limits a server owner can configure (`config.lua`); enforced here, on the server.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_members: u32,
    pub max_conversations_per_number: u32,
    pub max_message_chars: usize,
    /// Messages in a conversation's latest page (`messages` of a DarkchatConversation).
    pub page_size: u32,
    /// Largest page a caller may ask for when paging back.
    pub max_page_size: u32,
    /// Largest list of conversations returned at once.
    pub max_list: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_members: 100,
            max_conversations_per_number: 100,
            max_message_chars: 1000,
            page_size: 50,
            max_page_size: 100,
            max_list: 200,
        }
    }
}

/// Who is acting: a member (a player, or a script acting for one), or a server admin, who
/// passes owner checks.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    Member(&'a PhoneNumber),
    Admin,
}

/// Unread counts stop at this (a badge shows "999+").
const UNREAD_CAP: u32 = 999;
/// Attempts at a free random join code before giving up (the space is 32^6 ≈ 10^9).
const CODE_ATTEMPTS: usize = 64;

pub struct Darkchat {
    store: Store,
    limits: Limits,
    rng: StdRng,
}

impl Darkchat {
    /// `seed` feeds join-code and number generation: give 32 bytes from a real entropy source
    /// (codes must not be guessable).
    pub fn new(store: Store, limits: Limits, seed: [u8; 32]) -> Self {
        Darkchat { store, limits, rng: StdRng::from_seed(seed) }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    // --- the documented exports -------------------------------------------------------

    /// Creates a conversation with `creator` as first member and owner. `code` is a custom
    /// join code; `None` generates one.
    pub fn create_conversation(
        &mut self,
        creator: &PhoneNumber,
        name: &ConversationName,
        code: Option<&JoinCode>,
        now: i64,
    ) -> Result<Conversation> {
        let Darkchat { store, limits, rng } = self;
        store.write(|tx| {
            let phone = tx.ensure_phone(creator.as_str())?;
            check_membership_quota(tx, phone, limits)?;
            let code = match code {
                Some(code) if tx.join_code_taken(code.as_str())? => {
                    return Err(Error::JoinCodeTaken { code: code.as_str().to_owned() });
                }
                Some(code) => code.clone(),
                None => free_code(tx, rng)?,
            };
            let id = tx.insert_conversation(name.as_str(), phone, code.as_str(), now)?;
            tx.insert_member(id, phone, now, 0)?;
            view(tx, limits, id, phone)
        })
    }

    /// Adds `number` to a conversation (a script putting a player in). The new member has not
    /// read anything yet.
    pub fn add_member(&mut self, number: &PhoneNumber, id: i64, now: i64) -> Result<MembershipChange> {
        let Darkchat { store, limits, .. } = self;
        store.write(|tx| {
            ensure_exists(tx, id)?;
            let phone = tx.ensure_phone(number.as_str())?;
            add(tx, limits, id, phone, number, now).map(|(change, _)| change)
        })
    }

    /// Removes `number`; `is_self` records "left" rather than "removed". The owner leaving
    /// hands ownership to the longest-standing member; the last member leaving deletes the
    /// conversation, its messages, and frees its code.
    pub fn remove_member(
        &mut self,
        number: &PhoneNumber,
        id: i64,
        is_self: bool,
        now: i64,
    ) -> Result<MembershipChange> {
        self.store.write(|tx| {
            let conversation = existing(tx, id)?;
            let phone = member_phone(tx, id, number)?;
            remove(tx, &conversation, phone, number, is_self, now)
        })
    }

    /// The owner (or an admin) removing another member: recorded as "removed".
    pub fn kick(
        &mut self,
        actor: Actor<'_>,
        id: i64,
        number: &PhoneNumber,
        now: i64,
    ) -> Result<MembershipChange> {
        self.store.write(|tx| {
            let conversation = existing(tx, id)?;
            let (actor_phone, _) = owner_check(tx, &conversation, actor)?;
            let phone = member_phone(tx, id, number)?;
            if actor_phone == Some(phone) {
                return Err(Error::Forbidden { reason: "leave instead of removing yourself" });
            }
            remove(tx, &conversation, phone, number, false, now)
        })
    }

    // --- what a player does in the app ------------------------------------------------

    /// Joins by code (case-insensitive), the way a player does in the app. The joiner has read
    /// everything up to their own "joined" message.
    pub fn join_by_code(
        &mut self,
        number: &PhoneNumber,
        code: &JoinCode,
        now: i64,
    ) -> Result<(Conversation, MembershipChange)> {
        let Darkchat { store, limits, .. } = self;
        store.write(|tx| {
            let id = tx
                .conversation_id_by_code(code.as_str())?
                .ok_or(Error::ConversationNotFound { id: 0 })?;
            let phone = tx.ensure_phone(number.as_str())?;
            let (change, message_id) = add(tx, limits, id, phone, number, now)?;
            tx.mark_read(id, phone, message_id)?;
            Ok((view(tx, limits, id, phone)?, change))
        })
    }

    /// Posts a text message; returns it with the members to notify.
    pub fn send_message(
        &mut self,
        number: &PhoneNumber,
        id: i64,
        text: &str,
        now: i64,
    ) -> Result<(Message, Vec<String>)> {
        let content = crate::input::message_text(text, self.limits.max_message_chars)?;
        self.store.write(|tx| {
            let phone = member_of_existing(tx, id, number)?;
            let message_id =
                tx.insert_message(id, Some(phone), MessageKind::Text, None, &content, now)?;
            tx.mark_read(id, phone, message_id)?;
            let message = Message {
                id: message_id,
                sender: Some(number.as_str().to_owned()),
                content,
                kind: MessageKind::Text,
                event: None,
                created_at: now,
            };
            Ok((message, tx.recipients(id)?))
        })
    }

    /// One conversation as `number` sees it, with its latest page of messages.
    pub fn conversation(&self, number: &PhoneNumber, id: i64) -> Result<Conversation> {
        self.store.read(|tx| {
            let phone = member_of_existing(tx, id, number)?;
            view(tx, &self.limits, id, phone)
        })
    }

    /// A conversation as an admin sees it (no member's read state: `isItRead` is true).
    pub fn conversation_for_admin(&self, id: i64) -> Result<Conversation> {
        self.store.read(|tx| {
            let row = existing(tx, id)?;
            let member = MemberRow { id: 0, last_read_message_id: row.last_message_id };
            build_view(tx, &self.limits, row, member)
        })
    }

    /// `number`'s conversations, most recently active first, each with only its last message.
    pub fn conversations_of(&self, number: &PhoneNumber) -> Result<Vec<Conversation>> {
        self.store.read(|tx| {
            let Some(phone) = tx.phone_id(number.as_str())? else { return Ok(Vec::new()) };
            tx.conversations_of(phone, self.limits.max_list)?
                .into_iter()
                .map(|(row, member)| summary(tx, row, member))
                .collect()
        })
    }

    /// Every conversation, newest first (admin listing).
    pub fn all_conversations(&self, limit: u32) -> Result<Vec<Conversation>> {
        self.store.read(|tx| {
            tx.all_conversations(limit)?
                .into_iter()
                .map(|row| {
                    let member = MemberRow { id: 0, last_read_message_id: row.last_message_id };
                    summary(tx, row, member)
                })
                .collect()
        })
    }

    /// Up to `limit` messages older than message `before` (the newest when `None`), oldest
    /// first. Paging with the first id of each page returns every message exactly once.
    pub fn messages_before(
        &self,
        number: &PhoneNumber,
        id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let limit = limit.clamp(1, self.limits.max_page_size);
        self.store.read(|tx| {
            member_of_existing(tx, id, number)?;
            tx.messages_before(id, before, limit)
        })
    }

    /// Moves `number`'s read position to message `up_to` (the newest when `None`).
    pub fn mark_read(&mut self, number: &PhoneNumber, id: i64, up_to: Option<i64>) -> Result<()> {
        self.store.write(|tx| {
            let row = existing(tx, id)?;
            let phone = member_phone(tx, id, number)?;
            let up_to = up_to.unwrap_or(row.last_message_id).min(row.last_message_id);
            tx.mark_read(id, phone, up_to)
        })
    }

    // --- owner actions (Actor::Admin passes the owner check) ----------------------------

    /// Renames; returns the system message and the members to notify.
    pub fn rename(
        &mut self,
        actor: Actor<'_>,
        id: i64,
        name: &ConversationName,
        now: i64,
    ) -> Result<(Message, Vec<String>)> {
        self.store.write(|tx| {
            let row = existing(tx, id)?;
            let (phone, number) = owner_check(tx, &row, actor)?;
            tx.set_name(id, name.as_str(), now)?;
            let message = system_message(
                tx,
                id,
                phone,
                &number,
                SystemEvent::Renamed,
                Some(name.as_str()),
                now,
            )?;
            Ok((message, tx.recipients(id)?))
        })
    }

    /// A new random join code; the old one stops working at once.
    pub fn regenerate_code(&mut self, actor: Actor<'_>, id: i64) -> Result<String> {
        let rng = &mut self.rng;
        self.store.write(|tx| {
            let row = existing(tx, id)?;
            owner_check(tx, &row, actor)?;
            let code = free_code(tx, rng)?;
            tx.set_join_code(id, code.as_str())?;
            Ok(code.as_str().to_owned())
        })
    }

    /// Deletes the conversation and its messages; returns who were members.
    pub fn delete(&mut self, actor: Actor<'_>, id: i64) -> Result<Vec<String>> {
        self.store.write(|tx| {
            let row = existing(tx, id)?;
            owner_check(tx, &row, actor)?;
            let members = tx.recipients(id)?;
            tx.delete_conversation(id)?;
            Ok(members)
        })
    }

    /// Hands ownership to another member.
    pub fn transfer_ownership(
        &mut self,
        actor: Actor<'_>,
        id: i64,
        to: &PhoneNumber,
        now: i64,
    ) -> Result<(Message, Vec<String>)> {
        self.store.write(|tx| {
            let row = existing(tx, id)?;
            owner_check(tx, &row, actor)?;
            let phone = member_phone(tx, id, to)?;
            tx.set_owner(id, phone)?;
            let message = system_message(tx, id, phone, to.as_str(), SystemEvent::Owner, None, now)?;
            Ok((message, tx.recipients(id)?))
        })
    }

    // --- standalone servers -----------------------------------------------------------

    /// The phone number of a license on a server without a framework: generated once
    /// (7 digits, unique), then kept.
    pub fn standalone_number(&mut self, license: &str, now: i64) -> Result<String> {
        if license.is_empty() || license.len() > 128 || license.chars().any(char::is_control) {
            return Err(Error::invalid("license"));
        }
        if let Some(number) = self.store.read(|tx| tx.standalone_number(license))? {
            return Ok(number);
        }
        let rng = &mut self.rng;
        self.store.write(|tx| {
            for _ in 0..CODE_ATTEMPTS {
                let number = rng.random_range(2_000_000..10_000_000u32).to_string();
                if !tx.standalone_number_taken(&number)? {
                    tx.insert_standalone_number(license, &number, now)?;
                    return Ok(number);
                }
            }
            Err(Error::Internal("no free standalone number found".into()))
        })
    }

    // --- statistics -------------------------------------------------------------------

    pub fn stats(&self) -> Result<Stats> {
        self.store.read(|tx| {
            Ok(Stats {
                conversations: tx.count_conversations()?,
                memberships: tx.count_memberships()?,
                messages: tx.count_messages()?,
                phones: tx.count_phones()?,
            })
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub conversations: i64,
    pub memberships: i64,
    pub messages: i64,
    pub phones: i64,
}

// --- rules shared by the operations ------------------------------------------------------

/// Removes a member, records it, hands ownership on, deletes the conversation when empty.
fn remove(
    tx: &Tx<'_>,
    conversation: &ConversationRow,
    phone: i64,
    number: &PhoneNumber,
    is_self: bool,
    now: i64,
) -> Result<MembershipChange> {
    let id = conversation.id;
    tx.delete_member(id, phone)?;
    let Some(oldest) = tx.oldest_member(id)? else {
        tx.delete_conversation(id)?;
        return Ok(MembershipChange {
            conversation_id: id,
            number: number.as_str().to_owned(),
            recipients: Vec::new(),
            new_owner: None,
            deleted: true,
            message: None,
        });
    };
    let event = if is_self { SystemEvent::Left } else { SystemEvent::Removed };
    let message = system_message(tx, id, phone, number.as_str(), event, None, now)?;
    let recipients = tx.recipients(id)?;
    let mut new_owner = None;
    if conversation.owner_id == phone {
        tx.set_owner(id, oldest)?;
        let owner = recipients.first().cloned().unwrap_or_default();
        system_message(tx, id, oldest, &owner, SystemEvent::Owner, None, now)?;
        new_owner = Some(owner);
    }
    Ok(MembershipChange {
        conversation_id: id,
        number: number.as_str().to_owned(),
        recipients,
        new_owner,
        deleted: false,
        message: Some(message),
    })
}

fn existing(tx: &Tx<'_>, id: i64) -> Result<ConversationRow> {
    tx.conversation(id)?.ok_or(Error::ConversationNotFound { id })
}

/// `conversation_not_found` unless conversation `id` exists (for callers that need no more of
/// it than that).
fn ensure_exists(tx: &Tx<'_>, id: i64) -> Result<()> {
    if tx.conversation_exists(id)? {
        Ok(())
    } else {
        Err(Error::ConversationNotFound { id })
    }
}

/// The phone id of `number` if it is a member of `id` (one lookup); `not_member` otherwise.
fn member_phone(tx: &Tx<'_>, id: i64, number: &PhoneNumber) -> Result<i64> {
    tx.member_phone_id(id, number.as_str())?
        .ok_or_else(|| Error::NotMember { number: number.as_str().to_owned(), id })
}

/// [`member_phone`] for a caller that has not read the conversation: the same errors as
/// [`existing`] then [`member_phone`], with the existence checked only when the member is not
/// found (a member row implies its conversation).
fn member_of_existing(tx: &Tx<'_>, id: i64, number: &PhoneNumber) -> Result<i64> {
    match member_phone(tx, id, number) {
        Err(not_member @ Error::NotMember { .. }) => {
            ensure_exists(tx, id)?;
            Err(not_member)
        }
        found => found,
    }
}

fn check_membership_quota(tx: &Tx<'_>, phone: i64, limits: &Limits) -> Result<()> {
    if tx.count_memberships_of(phone)? >= i64::from(limits.max_conversations_per_number) {
        return Err(Error::LimitReached {
            what: "conversations per number",
            max: limits.max_conversations_per_number,
        });
    }
    Ok(())
}

/// Adds a member and records "joined"; returns the change and the message id.
fn add(
    tx: &Tx<'_>,
    limits: &Limits,
    id: i64,
    phone: i64,
    number: &PhoneNumber,
    now: i64,
) -> Result<(MembershipChange, i64)> {
    if tx.member(id, phone)?.is_some() {
        return Err(Error::AlreadyMember { number: number.as_str().to_owned(), id });
    }
    if tx.count_members(id)? >= i64::from(limits.max_members) {
        return Err(Error::LimitReached { what: "members per conversation", max: limits.max_members });
    }
    check_membership_quota(tx, phone, limits)?;
    tx.insert_member(id, phone, now, 0)?;
    let message = system_message(tx, id, phone, number.as_str(), SystemEvent::Joined, None, now)?;
    let message_id = message.id;
    let change = MembershipChange {
        conversation_id: id,
        number: number.as_str().to_owned(),
        recipients: tx.recipients(id)?,
        new_owner: None,
        deleted: false,
        message: Some(message),
    };
    Ok((change, message_id))
}

/// Records a system message about `subject` (a phone id and its number).
fn system_message(
    tx: &Tx<'_>,
    id: i64,
    subject: impl Into<Option<i64>>,
    subject_number: &str,
    event: SystemEvent,
    detail: Option<&str>,
    now: i64,
) -> Result<Message> {
    let content = match (event, detail) {
        (SystemEvent::Joined, _) => format!("{subject_number} joined"),
        (SystemEvent::Left, _) => format!("{subject_number} left"),
        (SystemEvent::Removed, _) => format!("{subject_number} was removed"),
        (SystemEvent::Renamed, name) => format!("Renamed to {}", name.unwrap_or_default()),
        (SystemEvent::Owner, _) => format!("{subject_number} is now the owner"),
    };
    let message_id =
        tx.insert_message(id, subject.into(), MessageKind::System, Some(event), &content, now)?;
    Ok(Message {
        id: message_id,
        sender: Some(subject_number.to_owned()),
        content,
        kind: MessageKind::System,
        event: Some(event),
        created_at: now,
    })
}

/// Passes for an admin or the owner; `forbidden` for anyone else (`not_member` for outsiders).
/// Returns the acting phone id (None for an admin) and a name for system messages.
fn owner_check(tx: &Tx<'_>, row: &ConversationRow, actor: Actor<'_>) -> Result<(Option<i64>, String)> {
    match actor {
        Actor::Admin => Ok((None, "admin".to_owned())),
        Actor::Member(number) => {
            let phone = member_phone(tx, row.id, number)?;
            if phone != row.owner_id {
                return Err(Error::Forbidden { reason: "only the owner may do this" });
            }
            Ok((Some(phone), number.as_str().to_owned()))
        }
    }
}

fn free_code(tx: &Tx<'_>, rng: &mut StdRng) -> Result<JoinCode> {
    for _ in 0..CODE_ATTEMPTS {
        let code = JoinCode::generate(rng);
        if !tx.join_code_taken(code.as_str())? {
            return Ok(code);
        }
    }
    Err(Error::Internal("no free join code found".into()))
}

/// The full view of a conversation for the member `phone`.
fn view(tx: &Tx<'_>, limits: &Limits, id: i64, phone: i64) -> Result<Conversation> {
    let row = existing(tx, id)?;
    let member = tx.member(id, phone)?.ok_or(Error::ConversationNotFound { id })?;
    build_view(tx, limits, row, member)
}

fn build_view(tx: &Tx<'_>, limits: &Limits, row: ConversationRow, member: MemberRow) -> Result<Conversation> {
    let recipients = tx.recipients(row.id)?;
    let messages = tx.messages_before(row.id, None, limits.page_size)?;
    finish(tx, row, member, recipients, messages)
}

/// A list entry: no member list, only the last message.
fn summary(tx: &Tx<'_>, mut row: ConversationRow, member: MemberRow) -> Result<Conversation> {
    let messages = row.last_message.take().into_iter().collect();
    finish(tx, row, member, Vec::new(), messages)
}

fn finish(
    tx: &Tx<'_>,
    row: ConversationRow,
    member: MemberRow,
    recipients: Vec<String>,
    messages: Vec<Message>,
) -> Result<Conversation> {
    let unread_count = if member.last_read_message_id >= row.last_message_id {
        0
    } else {
        tx.count_messages_after(row.id, member.last_read_message_id, UNREAD_CAP)?
    };
    Ok(Conversation {
        id: row.id,
        name: row.name,
        app_name: row.app_name,
        created_by: row.created_by,
        owner: row.owner_number,
        join_code: row.join_code,
        created_at: row.created_at,
        updated_at: row.updated_at,
        recipients,
        messages,
        is_it_read: unread_count == 0,
        unread_count,
    })
}
