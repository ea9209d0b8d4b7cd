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
use crate::storage::{both, ConversationRow, MemberRow, Read, Stats, Storage, Write};

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

    /// The storage, for the admin methods that move a whole store ([`crate::transfer`]).
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// Whether the writes that follow are rehearsals (see [`Storage::set_rehearsing`]).
    pub fn set_rehearsing(&mut self, on: bool) {
        self.storage.set_rehearsing(on);
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
        let change = async |tx: &S::Write<'_>| {
            // The phone (held), its memberships and the chosen code, read side by side.
            let chosen_taken = async {
                match code {
                    Some(code) => {
                        tx.conversation_id_by_code(code.as_str()).await.map(|id| id.is_some())
                    }
                    None => Ok(false),
                }
            };
            let (phone, (memberships, taken)) = both(
                tx.ensure_phone(creator.as_str()),
                both(tx.count_memberships_of_number(creator.as_str()), chosen_taken),
            )
            .await;
            let phone = phone?;
            check_membership_quota(memberships?, limits)?;
            let join_code = match code {
                Some(code) if taken? => {
                    return Err(Error::JoinCodeTaken { code: code.as_str().to_owned() });
                }
                Some(code) => code.clone(),
                None => free_code(tx, rng).await?,
            };
            let id =
                match tx.insert_conversation(name.as_str(), phone, join_code.as_str(), now).await {
                    // A generated code another server took meanwhile: try again with a new one. (A
                    // chosen one taken meanwhile is the caller's `join_code_taken`.)
                    Err(Error::JoinCodeTaken { code: taken }) if code.is_none() => {
                        return Err(Error::Conflict(format!("generated join code {taken} taken")));
                    }
                    other => other?,
                };
            tx.insert_member(id, phone, now, MessageId::NONE).await?;
            Ok((id, phone))
        };
        let answer = async |tx: &S::Read<'_>, &(id, phone): &(ConversationId, PhoneId)| {
            view(tx, limits, id, phone).await
        };
        storage.write_then_read(change, answer).await
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
        let change = async |tx: &S::Write<'_>| {
            tx.lock_conversation(id).await?;
            let (exists, phone) =
                both(tx.conversation_exists(id), tx.ensure_phone(number.as_str())).await;
            if !exists? {
                return Err(Error::ConversationNotFound { id });
            }
            add(tx, limits, id, phone?, number, now).await
        };
        let answer = async |tx: &S::Read<'_>, joined: &Message| {
            Ok(joined_change(id, number, tx.recipients(id).await?, joined))
        };
        storage.write_then_read(change, answer).await
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
                let (conversation, phone) =
                    both(existing_for_update(tx, id), member_phone(tx, id, number)).await;
                remove(tx, &conversation?, phone?, number, is_self, now).await
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
                let (owned, phone) = both(owned(tx, id, actor), member_phone(tx, id, number)).await;
                let Owned { row: conversation, actor: actor_phone, .. } = owned?;
                let phone = phone?;
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
        let change = async |tx: &S::Write<'_>| {
            let (id, phone) = both(
                tx.conversation_id_by_code_for_update(code.as_str()),
                tx.ensure_phone(number.as_str()),
            )
            .await;
            let id = id?.ok_or(Error::NoConversationWithCode)?;
            let phone = phone?;
            let joined = add(tx, limits, id, phone, number, now).await?;
            tx.mark_read(id, phone, joined.id).await?;
            Ok((id, phone, joined))
        };
        let answer =
            async |tx: &S::Read<'_>, (id, phone, joined): &(ConversationId, PhoneId, Message)| {
                let conversation = view(tx, limits, *id, *phone).await?;
                let change = joined_change(*id, number, conversation.recipients.clone(), joined);
                Ok((conversation, change))
            };
        storage.write_then_read(change, answer).await
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
        let change = async |tx: &S::Write<'_>| {
            tx.lock_conversation(id).await?;
            let phone = member_of_existing(tx, id, number).await?;
            let message_id =
                tx.insert_message(id, Some(phone), MessageKind::Text, None, &content, now).await?;
            tx.mark_read(id, phone, message_id).await?;
            Ok(message_id)
        };
        let answer = async |tx: &S::Read<'_>, &message_id: &MessageId| {
            let message = Message {
                id: message_id,
                sender: Some(number.as_str().to_owned()),
                content: content.clone(),
                kind: MessageKind::Text,
                event: None,
                created_at: now,
            };
            Ok((message, tx.recipients(id).await?))
        };
        self.storage.write_then_read(change, answer).await
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
                let listed =
                    tx.conversations_of_number(number.as_str(), max_list, UNREAD_CAP).await?;
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
                // The page is read beside the membership check, and dropped if that fails.
                let (member, page) =
                    both(member_of_existing(tx, id, number), tx.messages_before(id, before, limit))
                        .await;
                member?;
                page
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
                let (row, phone) = both(existing(tx, id), member_phone(tx, id, number)).await;
                let (row, phone) = (row?, phone?);
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
        let change = async |tx: &S::Write<'_>| {
            // An admin's rename has no subject: it was not done by any member.
            let Owned { actor: phone, actor_name, .. } = owned(tx, id, actor).await?;
            tx.set_name(id, name.as_str(), now).await?;
            let event = SystemEvent::Renamed;
            system_message(tx, id, phone, &actor_name, event, Some(name.as_str()), now).await
        };
        let answer = async |tx: &S::Read<'_>, renamed: &Message| {
            Ok((renamed.clone(), tx.recipients(id).await?))
        };
        self.storage.write_then_read(change, answer).await
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
                owned(tx, id, actor).await?;
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
                let (owned, members) = both(owned(tx, id, actor), tx.recipients(id)).await;
                owned?;
                tx.delete_conversation(id).await?;
                members
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
        let change = async |tx: &S::Write<'_>| {
            let (owned, phone) = both(owned(tx, id, actor), member_phone(tx, id, to)).await;
            owned?;
            let phone = phone?;
            tx.set_owner(id, phone).await?;
            system_message(tx, id, phone, to.as_str(), SystemEvent::Owner, None, now).await
        };
        let answer =
            async |tx: &S::Read<'_>, note: &Message| Ok((note.clone(), tx.recipients(id).await?));
        self.storage.write_then_read(change, answer).await
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
    let (oldest, recipients) = both(tx.oldest_member(id), tx.recipients(id)).await;
    let Some(oldest) = oldest? else {
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
    let recipients = recipients?;
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

fn check_membership_quota(memberships: i64, limits: &Limits) -> Result<()> {
    if memberships >= i64::from(limits.max_conversations_per_number) {
        return Err(Error::LimitReached {
            what: "conversations per number",
            max: limits.max_conversations_per_number,
        });
    }
    Ok(())
}

/// Adds `phone` (`number`) to conversation `id` and records "joined"; returns that message.
/// The three facts it decides on are read side by side.
async fn add(
    tx: &impl Write,
    limits: &Limits,
    id: ConversationId,
    phone: PhoneId,
    number: &PhoneNumber,
    now: i64,
) -> Result<Message> {
    let ((member, members), memberships) =
        both(both(tx.member(id, phone), tx.count_members(id)), tx.count_memberships_of(phone))
            .await;
    if member?.is_some() {
        return Err(Error::AlreadyMember { number: number.as_str().to_owned(), id });
    }
    if members? >= i64::from(limits.max_members) {
        return Err(Error::LimitReached {
            what: "members per conversation",
            max: limits.max_members,
        });
    }
    check_membership_quota(memberships?, limits)?;
    tx.insert_member(id, phone, now, MessageId::NONE).await?;
    system_message(tx, id, phone, number.as_str(), SystemEvent::Joined, None, now).await
}

/// What an add or a join did, for the caller to notify the members.
fn joined_change(
    id: ConversationId,
    number: &PhoneNumber,
    recipients: Vec<String>,
    joined: &Message,
) -> MembershipChange {
    MembershipChange {
        conversation_id: id,
        number: number.as_str().to_owned(),
        recipients,
        new_owner: None,
        deleted: false,
        message: Some(joined.clone()),
    }
}

/// Records a system message about `subject` (a phone id and its number; no phone for an admin).
async fn system_message(
    tx: &impl Write,
    id: ConversationId,
    subject: impl Into<Option<PhoneId>>,
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
        .insert_message(id, subject.into(), MessageKind::System, Some(event), &content, now)
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

/// A conversation an owner action may proceed on, held against other writers.
struct Owned {
    row: ConversationRow,
    /// The acting member's phone (None for an admin).
    actor: Option<PhoneId>,
    /// Who acted, for system messages.
    actor_name: String,
}

/// Passes for an admin or the owner (the row and the actor's membership read side by side);
/// `conversation_not_found`, then `not_member` for outsiders, then `forbidden` for members who
/// do not own it.
async fn owned(tx: &impl Write, id: ConversationId, actor: Actor<'_>) -> Result<Owned> {
    match actor {
        Actor::Admin => {
            let row = existing_for_update(tx, id).await?;
            Ok(Owned { row, actor: None, actor_name: "admin".to_owned() })
        }
        Actor::Member(number) => {
            let (row, phone) =
                both(existing_for_update(tx, id), member_phone(tx, id, number)).await;
            let (row, phone) = (row?, phone?);
            if phone != row.owner_id {
                return Err(Error::Forbidden { reason: "only the owner may do this" });
            }
            Ok(Owned { row, actor: Some(phone), actor_name: number.as_str().to_owned() })
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
    let (row, member) = both(existing(tx, id), tx.member(id, phone)).await;
    let member = member?.ok_or(Error::ConversationNotFound { id })?;
    build_view(tx, limits, row?, Viewer::Member(member)).await
}

async fn build_view(
    tx: &impl Read,
    limits: &Limits,
    row: ConversationRow,
    viewer: Viewer,
) -> Result<Conversation> {
    let (recipients, messages) =
        both(tx.recipients(row.id), tx.messages_before(row.id, None, limits.page_size)).await;
    let (recipients, messages) = (recipients?, messages?);
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
