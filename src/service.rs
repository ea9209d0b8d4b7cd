//! The Darkchat domain: every operation and rule, written once against the storage interface
//! ([`crate::storage`]) and so the same on SQLite and on MySQL/MariaDB.
//!
//! Knows nothing of Lua, JSON, SQL or the OS: the caller passes the time (`now`, unix seconds)
//! and the randomness comes from a generator seeded by the caller, so the same code runs
//! natively and as WebAssembly. Each operation is one transaction: it happens whole or not at
//! all. A write may be run again from the start when a shared database aborted it to settle a
//! race ([`Storage::write`]), so each decides only from what it reads inside its transaction,
//! and takes the conversation's row before reading what it decides on.

use std::cell::RefCell;
use std::rc::Rc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::ids::{ConversationId, MessageId, PhoneId};
use crate::input::{ConversationName, JoinCode, PhoneNumber};
use crate::model::{Conversation, MembershipChange, Message, MessageKind, SystemEvent};
use crate::storage::{ConversationRow, MemberRow, Read, Stats, Storage, Write};

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
pub const UNREAD_CAP: u32 = 999;
/// Attempts at a free random join code before giving up (the space is 32^6 ≈ 10^9).
const CODE_ATTEMPTS: usize = 64;

/// The generator of join codes and standalone numbers, shared by the calls of one core (a
/// MySQL core runs several at once: each draws from the same sequence, so a core gives the
/// same codes for the same seed and calls on either storage).
pub type SharedRng = Rc<RefCell<StdRng>>;

/// The rules over one storage, with the owner's limits and the generator of join codes and
/// standalone numbers.
pub struct Service<S> {
    storage: S,
    limits: Limits,
    rng: SharedRng,
}

impl<S: Storage> Service<S> {
    /// `seed` feeds join-code and number generation: give 32 bytes from a real entropy source
    /// (codes must not be guessable).
    pub fn new(storage: S, limits: Limits, seed: [u8; 32]) -> Self {
        Service::with_rng(storage, limits, Rc::new(RefCell::new(StdRng::from_seed(seed))))
    }

    /// A service drawing from a generator shared with others (the calls of one MySQL core).
    pub fn with_rng(storage: S, limits: Limits, rng: SharedRng) -> Self {
        Service { storage, limits, rng }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn storage(&self) -> &S {
        &self.storage
    }

    // --- the documented exports -------------------------------------------------------

    /// Creates a conversation with `creator` as first member and owner. `code` is a custom
    /// join code; `None` generates one.
    pub async fn create_conversation(
        &mut self,
        creator: &PhoneNumber,
        name: &ConversationName,
        code: Option<&JoinCode>,
        now: i64,
    ) -> Result<Conversation> {
        let Service { storage, limits, rng } = self;
        // A chosen code taken meanwhile is the caller's `join_code_taken`; a generated one is
        // simply drawn again.
        let chosen = code.is_some();
        storage
            .write(async |tx| {
                let phone = tx.ensure_phone(creator.as_str()).await?;
                check_membership_quota(tx, phone, limits).await?;
                let code = match code {
                    Some(code) if tx.conversation_id_by_code(code.as_str()).await?.is_some() => {
                        return Err(Error::JoinCodeTaken { code: code.as_str().to_owned() });
                    }
                    Some(code) => code.clone(),
                    None => free_code(tx, rng).await?,
                };
                let id = match tx
                    .insert_conversation(name.as_str(), phone, code.as_str(), now)
                    .await
                {
                    // A generated code another server took meanwhile: try again with a new one.
                    Err(Error::JoinCodeTaken { code: taken }) if !chosen => {
                        return Err(Error::Conflict(format!("generated join code {taken} taken")));
                    }
                    other => other?,
                };
                tx.insert_member(id, phone, now, MessageId::NONE).await?;
                view(tx, limits, id, phone).await
            })
            .await
    }

    /// Adds `number` to a conversation (a script putting a player in). The new member has not
    /// read anything yet.
    pub async fn add_member(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        now: i64,
    ) -> Result<MembershipChange> {
        let Service { storage, limits, .. } = self;
        storage
            .write(async |tx| {
                tx.lock_conversation(id).await?;
                ensure_exists(tx, id).await?;
                let phone = tx.ensure_phone(number.as_str()).await?;
                add(tx, limits, id, phone, number, now).await.map(|(change, _)| change)
            })
            .await
    }

    /// Removes `number`; `is_self` records "left" rather than "removed". The owner leaving
    /// hands ownership to the longest-standing member; the last member leaving deletes the
    /// conversation, its messages, and frees its code.
    pub async fn remove_member(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        is_self: bool,
        now: i64,
    ) -> Result<MembershipChange> {
        self.storage
            .write(async |tx| {
                let conversation = existing_for_update(tx, id).await?;
                let phone = member_phone(tx, id, number).await?;
                remove(tx, &conversation, phone, number, is_self, now).await
            })
            .await
    }

    /// The owner (or an admin) removing another member: recorded as "removed".
    pub async fn kick(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        number: &PhoneNumber,
        now: i64,
    ) -> Result<MembershipChange> {
        self.storage
            .write(async |tx| {
                let conversation = existing_for_update(tx, id).await?;
                let (actor_phone, _) = owner_check(tx, &conversation, actor).await?;
                let phone = member_phone(tx, id, number).await?;
                if actor_phone == Some(phone) {
                    return Err(Error::Forbidden { reason: "leave instead of removing yourself" });
                }
                remove(tx, &conversation, phone, number, false, now).await
            })
            .await
    }

    // --- what a player does in the app ------------------------------------------------

    /// Joins by code (case-insensitive), the way a player does in the app. The joiner has read
    /// everything up to their own "joined" message.
    pub async fn join_by_code(
        &mut self,
        number: &PhoneNumber,
        code: &JoinCode,
        now: i64,
    ) -> Result<(Conversation, MembershipChange)> {
        let Service { storage, limits, .. } = self;
        storage
            .write(async |tx| {
                let id = tx
                    .conversation_id_by_code_for_update(code.as_str())
                    .await?
                    .ok_or(Error::NoConversationWithCode)?;
                let phone = tx.ensure_phone(number.as_str()).await?;
                let (change, message_id) = add(tx, limits, id, phone, number, now).await?;
                tx.mark_read(id, phone, message_id).await?;
                Ok((view(tx, limits, id, phone).await?, change))
            })
            .await
    }

    /// Posts a text message; returns it with the members to notify.
    pub async fn send_message(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        text: &str,
        now: i64,
    ) -> Result<(Message, Vec<String>)> {
        let content = crate::input::message_text(text, self.limits.max_message_chars)?;
        self.storage
            .write(async |tx| {
                tx.lock_conversation(id).await?;
                let phone = member_of_existing(tx, id, number).await?;
                let message_id = tx
                    .insert_message(id, Some(phone), MessageKind::Text, None, &content, now)
                    .await?;
                tx.mark_read(id, phone, message_id).await?;
                let message = Message {
                    id: message_id,
                    sender: Some(number.as_str().to_owned()),
                    content: content.clone(),
                    kind: MessageKind::Text,
                    event: None,
                    created_at: now,
                };
                Ok((message, tx.recipients(id).await?))
            })
            .await
    }

    /// One conversation as `number` sees it, with its latest page of messages.
    pub async fn conversation(
        &self,
        number: &PhoneNumber,
        id: ConversationId,
    ) -> Result<Conversation> {
        let limits = &self.limits;
        self.storage
            .read(async |tx| {
                let phone = member_of_existing(tx, id, number).await?;
                view(tx, limits, id, phone).await
            })
            .await
    }

    /// A conversation as an admin sees it (no member's read state: `isItRead` is true).
    pub async fn conversation_for_admin(&self, id: ConversationId) -> Result<Conversation> {
        let limits = &self.limits;
        self.storage
            .read(async |tx| {
                let row = existing(tx, id).await?;
                build_view(tx, limits, row, Viewer::Admin).await
            })
            .await
    }

    /// `number`'s conversations, most recently active first, each with only its last message.
    pub async fn conversations_of(&self, number: &PhoneNumber) -> Result<Vec<Conversation>> {
        let max_list = self.limits.max_list;
        self.storage
            .read(async |tx| {
                let Some(phone) = tx.phone_id(number.as_str()).await? else {
                    return Ok(Vec::new());
                };
                let listed = tx.conversations_of(phone, max_list, UNREAD_CAP).await?;
                Ok(listed.into_iter().map(|l| summary(l.row, l.unread)).collect())
            })
            .await
    }

    /// Every conversation, newest first (admin listing).
    pub async fn all_conversations(&self, limit: u32) -> Result<Vec<Conversation>> {
        self.storage
            .read(async |tx| {
                let rows = tx.all_conversations(limit).await?;
                Ok(rows.into_iter().map(|row| summary(row, 0)).collect())
            })
            .await
    }

    /// Up to `limit` messages older than message `before` (the newest when `None`), oldest
    /// first. Paging with the first id of each page returns every message exactly once.
    pub async fn messages_before(
        &self,
        number: &PhoneNumber,
        id: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let limit = limit.clamp(1, self.limits.max_page_size);
        self.storage
            .read(async |tx| {
                member_of_existing(tx, id, number).await?;
                tx.messages_before(id, before, limit).await
            })
            .await
    }

    /// Moves `number`'s read position to message `up_to` (the newest when `None`).
    pub async fn mark_read(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        up_to: Option<MessageId>,
    ) -> Result<()> {
        self.storage
            .write(async |tx| {
                let row = existing(tx, id).await?;
                let phone = member_phone(tx, id, number).await?;
                let up_to = up_to.unwrap_or(row.last_message_id).min(row.last_message_id);
                tx.mark_read(id, phone, up_to).await
            })
            .await
    }

    // --- owner actions (Actor::Admin passes the owner check) ----------------------------

    /// Renames; returns the system message and the members to notify.
    pub async fn rename(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        name: &ConversationName,
        now: i64,
    ) -> Result<(Message, Vec<String>)> {
        self.storage
            .write(async |tx| {
                let row = existing_for_update(tx, id).await?;
                let (phone, number) = owner_check(tx, &row, actor).await?;
                tx.set_name(id, name.as_str(), now).await?;
                let subject = phone.unwrap_or(row.owner_id);
                let event = SystemEvent::Renamed;
                let message =
                    system_message(tx, id, subject, &number, event, Some(name.as_str()), now)
                        .await?;
                Ok((message, tx.recipients(id).await?))
            })
            .await
    }

    /// A new random join code; the old one stops working at once.
    pub async fn regenerate_code(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
    ) -> Result<String> {
        let Service { storage, rng, .. } = self;
        storage
            .write(async |tx| {
                let row = existing_for_update(tx, id).await?;
                owner_check(tx, &row, actor).await?;
                let code = free_code(tx, rng).await?;
                match tx.set_join_code(id, code.as_str()).await {
                    Err(Error::JoinCodeTaken { code }) => {
                        Err(Error::Conflict(format!("generated join code {code} taken")))
                    }
                    other => other,
                }?;
                Ok(code.as_str().to_owned())
            })
            .await
    }

    /// Deletes the conversation and its messages; returns who were members.
    pub async fn delete(&mut self, actor: Actor<'_>, id: ConversationId) -> Result<Vec<String>> {
        self.storage
            .write(async |tx| {
                let row = existing_for_update(tx, id).await?;
                owner_check(tx, &row, actor).await?;
                let members = tx.recipients(id).await?;
                tx.delete_conversation(id).await?;
                Ok(members)
            })
            .await
    }

    /// Hands ownership to another member.
    pub async fn transfer_ownership(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        to: &PhoneNumber,
        now: i64,
    ) -> Result<(Message, Vec<String>)> {
        self.storage
            .write(async |tx| {
                let row = existing_for_update(tx, id).await?;
                owner_check(tx, &row, actor).await?;
                let phone = member_phone(tx, id, to).await?;
                tx.set_owner(id, phone).await?;
                let message =
                    system_message(tx, id, phone, to.as_str(), SystemEvent::Owner, None, now)
                        .await?;
                Ok((message, tx.recipients(id).await?))
            })
            .await
    }

    // --- standalone servers -----------------------------------------------------------

    /// The phone number of a license on a server without a framework: generated once
    /// (7 digits, unique), then kept.
    pub async fn standalone_number(&mut self, license: &str, now: i64) -> Result<String> {
        if license.is_empty() || license.len() > 128 || license.chars().any(char::is_control) {
            return Err(Error::invalid("license"));
        }
        if let Some(number) =
            self.storage.read(async |tx| tx.standalone_number(license).await).await?
        {
            return Ok(number);
        }
        let Service { storage, rng, .. } = self;
        storage
            .write(async |tx| {
                // Another server may have given this license a number since the read above.
                if let Some(number) = tx.standalone_number(license).await? {
                    return Ok(number);
                }
                for _ in 0..CODE_ATTEMPTS {
                    let number =
                        rng.borrow_mut().random_range(2_000_000..10_000_000u32).to_string();
                    if !tx.standalone_number_taken(&number).await? {
                        tx.insert_standalone_number(license, &number, now).await?;
                        return Ok(number);
                    }
                }
                Err(Error::Internal("no free standalone number found".into()))
            })
            .await
    }

    // --- statistics -------------------------------------------------------------------

    pub async fn stats(&self) -> Result<Stats> {
        self.storage.read(async |tx| tx.stats().await).await
    }

    pub async fn integrity_check(&self) -> Result<String> {
        self.storage.read(async |tx| tx.integrity_check().await).await
    }
}

// --- rules shared by the operations ------------------------------------------------------

/// Removes a member, records it, hands ownership on, deletes the conversation when empty.
async fn remove(
    tx: &impl Write,
    conversation: &ConversationRow,
    phone: PhoneId,
    number: &PhoneNumber,
    is_self: bool,
    now: i64,
) -> Result<MembershipChange> {
    let id = conversation.id;
    tx.delete_member(id, phone).await?;
    let Some(oldest) = tx.oldest_member(id).await? else {
        tx.delete_conversation(id).await?;
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
    let message = system_message(tx, id, phone, number.as_str(), event, None, now).await?;
    let recipients = tx.recipients(id).await?;
    let mut new_owner = None;
    if conversation.owner_id == phone {
        tx.set_owner(id, oldest).await?;
        let owner = recipients.first().cloned().unwrap_or_default();
        system_message(tx, id, oldest, &owner, SystemEvent::Owner, None, now).await?;
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

async fn existing(tx: &impl Read, id: ConversationId) -> Result<ConversationRow> {
    tx.conversation(id).await?.ok_or(Error::ConversationNotFound { id })
}

/// [`existing`], with the row held against other writers until the transaction ends.
async fn existing_for_update(tx: &impl Write, id: ConversationId) -> Result<ConversationRow> {
    tx.conversation_for_update(id).await?.ok_or(Error::ConversationNotFound { id })
}

/// `conversation_not_found` unless conversation `id` exists (for callers that need no more of
/// it than that).
async fn ensure_exists(tx: &impl Read, id: ConversationId) -> Result<()> {
    if tx.conversation_exists(id).await? {
        Ok(())
    } else {
        Err(Error::ConversationNotFound { id })
    }
}

/// The phone id of `number` if it is a member of `id` (one lookup); `not_member` otherwise.
async fn member_phone(tx: &impl Read, id: ConversationId, number: &PhoneNumber) -> Result<PhoneId> {
    tx.member_phone_id(id, number.as_str())
        .await?
        .ok_or_else(|| Error::NotMember { number: number.as_str().to_owned(), id })
}

/// [`member_phone`] for a caller that has not read the conversation: the same errors as
/// [`existing`] then [`member_phone`], with the existence checked only when the member is not
/// found (a member row implies its conversation).
async fn member_of_existing(
    tx: &impl Read,
    id: ConversationId,
    number: &PhoneNumber,
) -> Result<PhoneId> {
    match member_phone(tx, id, number).await {
        Err(not_member @ Error::NotMember { .. }) => {
            ensure_exists(tx, id).await?;
            Err(not_member)
        }
        found => found,
    }
}

async fn check_membership_quota(tx: &impl Read, phone: PhoneId, limits: &Limits) -> Result<()> {
    if tx.count_memberships_of(phone).await? >= i64::from(limits.max_conversations_per_number) {
        return Err(Error::LimitReached {
            what: "conversations per number",
            max: limits.max_conversations_per_number,
        });
    }
    Ok(())
}

/// Adds a member and records "joined"; returns the change and the message id.
async fn add(
    tx: &impl Write,
    limits: &Limits,
    id: ConversationId,
    phone: PhoneId,
    number: &PhoneNumber,
    now: i64,
) -> Result<(MembershipChange, MessageId)> {
    if tx.member(id, phone).await?.is_some() {
        return Err(Error::AlreadyMember { number: number.as_str().to_owned(), id });
    }
    if tx.count_members(id).await? >= i64::from(limits.max_members) {
        return Err(Error::LimitReached {
            what: "members per conversation",
            max: limits.max_members,
        });
    }
    check_membership_quota(tx, phone, limits).await?;
    tx.insert_member(id, phone, now, MessageId::NONE).await?;
    let message =
        system_message(tx, id, phone, number.as_str(), SystemEvent::Joined, None, now).await?;
    let message_id = message.id;
    let change = MembershipChange {
        conversation_id: id,
        number: number.as_str().to_owned(),
        recipients: tx.recipients(id).await?,
        new_owner: None,
        deleted: false,
        message: Some(message),
    };
    Ok((change, message_id))
}

/// Records a system message about `subject` (a phone id and its number).
async fn system_message(
    tx: &impl Write,
    id: ConversationId,
    subject: PhoneId,
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
    let message_id = tx
        .insert_message(id, Some(subject), MessageKind::System, Some(event), &content, now)
        .await?;
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
async fn owner_check(
    tx: &impl Read,
    row: &ConversationRow,
    actor: Actor<'_>,
) -> Result<(Option<PhoneId>, String)> {
    match actor {
        Actor::Admin => Ok((None, "admin".to_owned())),
        Actor::Member(number) => {
            let phone = member_phone(tx, row.id, number).await?;
            if phone != row.owner_id {
                return Err(Error::Forbidden { reason: "only the owner may do this" });
            }
            Ok((Some(phone), number.as_str().to_owned()))
        }
    }
}

async fn free_code(tx: &impl Read, rng: &RefCell<StdRng>) -> Result<JoinCode> {
    for _ in 0..CODE_ATTEMPTS {
        let code = JoinCode::generate(&mut *rng.borrow_mut());
        if tx.conversation_id_by_code(code.as_str()).await?.is_none() {
            return Ok(code);
        }
    }
    Err(Error::Internal("no free join code found".into()))
}

/// Whose view of a conversation: a member's (with their read state) or an admin's (everything
/// read).
enum Viewer {
    Member(MemberRow),
    Admin,
}

/// The full view of a conversation for the member `phone`.
async fn view(
    tx: &impl Read,
    limits: &Limits,
    id: ConversationId,
    phone: PhoneId,
) -> Result<Conversation> {
    let row = existing(tx, id).await?;
    let member = tx.member(id, phone).await?.ok_or(Error::ConversationNotFound { id })?;
    build_view(tx, limits, row, Viewer::Member(member)).await
}

async fn build_view(
    tx: &impl Read,
    limits: &Limits,
    row: ConversationRow,
    viewer: Viewer,
) -> Result<Conversation> {
    let recipients = tx.recipients(row.id).await?;
    let messages = tx.messages_before(row.id, None, limits.page_size).await?;
    let unread = match viewer {
        Viewer::Member(member) if member.last_read_message_id < row.last_message_id => {
            tx.count_messages_after(row.id, member.last_read_message_id, UNREAD_CAP).await?
        }
        Viewer::Member(_) | Viewer::Admin => 0,
    };
    Ok(conversation(row, recipients, messages, unread))
}

/// A list entry: no member list, only the last message.
fn summary(mut row: ConversationRow, unread: i64) -> Conversation {
    let messages = row.last_message.take().into_iter().collect();
    conversation(row, Vec::new(), messages, unread)
}

fn conversation(
    row: ConversationRow,
    recipients: Vec<String>,
    messages: Vec<Message>,
    unread_count: i64,
) -> Conversation {
    Conversation {
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
    }
}
