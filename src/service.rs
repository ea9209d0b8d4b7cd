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
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::changes::{Change, ChangeBatch, Retention};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::ids::{ConversationId, MessageId, PhoneId};
use crate::input::{Alias, ConversationName, JoinCode, PhoneNumber};
use crate::model::{
    Ban, Conversation, Extra, Listeners, Member, MembershipChange, Message, MessageData,
    MessageKind, Quote, SystemEvent, QUOTE_CHARS,
};
use crate::storage::{
    both, ConversationRow, MemberEntry, MemberRow, MessageRow, NewMessage, Read, Stats, Storage,
    Write,
};

pub mod retention;
pub mod staff;
pub mod staff_gate;

pub use retention::Sweep;
pub use staff::{ReportRequest, MAX_NOTE_CHARS};
pub use staff_gate::StaffCheck;
use staff_gate::StaffGate;

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
    /// Bans kept per conversation; a ban beyond it is refused (`forbidden`) until one is lifted.
    pub max_bans: u32,
    /// Seconds after sending during which the sender may edit a text message.
    pub edit_window_seconds: u32,
    /// Hosts an image's https URL may name (lower-case; compared case-insensitively).
    pub image_hosts: Vec<String>,
    /// Staff bans in force at once (`darkchat ban`); one beyond it is refused (`forbidden`).
    pub max_staff_bans: u32,
    /// Reports kept; a new one beyond it drops the oldest.
    pub max_reports: u32,
    /// The word filter of messages, names and aliases ([`crate::filter`]).
    pub filter: Arc<Filter>,
    /// Seconds after which any message is swept, whatever its conversation's retention (0: no
    /// cap).
    pub max_message_age_seconds: u32,
    /// Messages a conversation keeps at most; the sweep deletes the oldest beyond it (0: no cap).
    pub max_messages_per_conversation: u32,
}

/// The image hosts allowed when the owner configured none (lua/config.lua lists the same).
pub const DEFAULT_IMAGE_HOSTS: [&str; 3] =
    ["i.imgur.com", "cdn.discordapp.com", "media.discordapp.net"];

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_members: 100,
            max_conversations_per_number: 100,
            max_message_chars: 1000,
            page_size: 50,
            max_page_size: 100,
            max_list: 200,
            max_bans: 200,
            edit_window_seconds: 300,
            image_hosts: DEFAULT_IMAGE_HOSTS.iter().map(|h| (*h).to_owned()).collect(),
            max_staff_bans: 10_000,
            max_reports: 1000,
            filter: Arc::default(),
            max_message_age_seconds: 0,
            max_messages_per_conversation: 0,
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
/// Attempts at a free generated alias: plain "Adjective Noun" first (1024 of them), then with
/// a number after it (about a million).
const ALIAS_ATTEMPTS: usize = 64;
const PLAIN_ALIAS_ATTEMPTS: usize = 16;

/// The generator of join codes and standalone numbers, shared by the calls of one core (a
/// MySQL core runs several at once: each draws from the same sequence, so a core gives the
/// same codes for the same seed and calls on either storage).
pub type SharedRng = Rc<RefCell<StdRng>>;

/// The rules over one storage, with the owner's limits and the generator of join codes and
/// standalone numbers.
pub struct Service<S> {
    /// Each call's staff-ban check rides along its first transaction (see [`staff_gate`]).
    storage: StaffGate<S>,
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
        Service { storage: StaffGate::new(storage), limits, rng }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn storage(&self) -> &S {
        self.storage.inner()
    }

    /// The generator of codes and aliases, for rules written outside this file (imports).
    pub(crate) fn rng(&self) -> &SharedRng {
        &self.rng
    }

    /// The storage, for the admin methods that move a whole store ([`crate::transfer`]).
    pub fn storage_mut(&mut self) -> &mut S {
        self.storage.inner_mut()
    }

    /// Whether the writes that follow are rehearsals (see [`Storage::set_rehearsing`]).
    /// The next transaction of this call also checks that `check`'s number is not banned by
    /// staff (see [`staff_gate`]; `None`: no check); [`Service::finish_staff_check`] after the
    /// call.
    pub fn hold_staff_check(&self, check: Option<StaffCheck>) {
        self.storage.hold(check);
    }

    /// Makes the held staff-ban check if the call ended without a transaction (refused before
    /// reaching the storage): a banned number is told so before anything else.
    pub async fn finish_staff_check(&self) -> Result<()> {
        match self.storage.take() {
            Some(check) => self.check_staff_ban(&check.number, check.joining, check.now).await,
            None => Ok(()),
        }
    }

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
        alias: Option<&Alias>,
        now: i64,
    ) -> Result<Conversation> {
        self.filter_names(&[
            Some(name.as_str()),
            code.map(JoinCode::as_str),
            alias.map(Alias::as_str),
        ])?;
        let Service { storage, limits, rng } = self;
        let change = async |tx: &S::Write<'_>| {
            // The phone (held), its memberships and the code, read side by side (one round trip
            // on MySQL): the chosen code unless taken, else a generated one found free (the
            // first drawn nearly always is).
            let join_code = async {
                match code {
                    Some(code) => match tx.conversation_id_by_code(code.as_str()).await? {
                        Some(_) => Err(Error::JoinCodeTaken { code: code.as_str().to_owned() }),
                        None => Ok(code.clone()),
                    },
                    None => free_code(tx, rng).await,
                }
            };
            let (phone, (memberships, join_code)) = both(
                tx.ensure_phone(creator.as_str()),
                both(tx.count_memberships_of_number(creator.as_str()), join_code),
            )
            .await;
            let phone = phone?;
            check_membership_quota(memberships?, limits)?;
            let join_code = join_code?;
            let id =
                match tx.insert_conversation(name.as_str(), phone, join_code.as_str(), now).await {
                    // A generated code another server took meanwhile: try again with a new one. (A
                    // chosen one taken meanwhile is the caller's `join_code_taken`.)
                    Err(Error::JoinCodeTaken { code: taken }) if code.is_none() => {
                        return Err(Error::Conflict(format!("generated join code {taken} taken")));
                    }
                    other => other?,
                };
            // The first member: no alias can be taken yet.
            let alias = match alias {
                Some(alias) => alias.clone(),
                None => Alias::generate(&mut *rng.borrow_mut(), false),
            };
            tx.insert_member(id, phone, &alias, now, MessageId::NONE).await?;
            tx.record(|| Change::created(id, creator.as_str(), name.as_str())).await?;
            Ok((id, phone))
        };
        let answer = async |tx: &S::Read<'_>, &(id, _): &(ConversationId, PhoneId)| {
            view(tx, limits, id, creator).await
        };
        storage.write_then_read(change, answer).await
    }

    /// Adds `number` to a conversation (a script putting a player in). The new member has not
    /// read anything yet.
    pub async fn add_member(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        alias: Option<&Alias>,
        now: i64,
    ) -> Result<MembershipChange> {
        self.filter_names(&[alias.map(Alias::as_str)])?;
        let Service { storage, limits, rng } = self;
        let change = async |tx: &S::Write<'_>| {
            tx.lock_conversation(id).await?;
            let (exists, phone) =
                both(tx.conversation_exists(id), tx.ensure_phone(number.as_str())).await;
            if !exists? {
                return Err(Error::ConversationNotFound { id });
            }
            let joined = add(tx, limits, rng, id, phone?, number, alias, now).await?;
            tx.record(|| Change::member_added(id, number.as_str(), &joined, false)).await?;
            Ok(joined)
        };
        let answer = async |tx: &S::Read<'_>, joined: &Message| {
            joined_change(id, number, member_list(tx, id).await?, joined)
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
                let ((conversation, member), members) = both(
                    both(existing_for_update(tx, id), member_alias(tx, id, number)),
                    tx.members(id),
                )
                .await;
                let (conversation, (phone, alias)) = (conversation?, member?);
                let leaving = Leaving { phone, alias, number, is_self };
                let change = remove(tx, &conversation, members?, leaving, now).await?;
                tx.record(|| Change::member_removed(&change, is_self, false)).await?;
                Ok(change)
            })
            .await
    }

    /// The owner, a moderator or an admin removing another member: recorded as "removed".
    /// With `ban`, the number cannot come back (by code, or added by anyone) until the owner
    /// or an admin lifts the ban. A moderator may remove only members who are neither the
    /// owner nor moderators.
    pub async fn kick(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        number: &PhoneNumber,
        ban: bool,
        now: i64,
    ) -> Result<MembershipChange> {
        let max_bans = self.limits.max_bans;
        self.storage
            .write(async |tx| {
                let ((authority, member), members) = both(
                    both(moderating(tx, id, actor), member_alias(tx, id, number)),
                    tx.members(id),
                )
                .await;
                let Moderating { row: conversation, actor: actor_phone, owner } = authority?;
                let ((phone, alias), members) = (member?, members?);
                if actor_phone == Some(phone) {
                    return Err(Error::Forbidden { reason: "leave instead of removing yourself" });
                }
                if !owner {
                    let moderator = members.iter().any(|m| m.phone == phone && m.is_moderator);
                    if phone == conversation.owner_id || moderator {
                        return Err(Error::Forbidden {
                            reason: "a moderator may remove only ordinary members",
                        });
                    }
                }
                if ban {
                    if tx.count_bans(id).await? >= i64::from(max_bans) {
                        return Err(Error::LimitReached {
                            what: "bans per conversation",
                            max: max_bans,
                        });
                    }
                    tx.insert_ban(id, phone, &alias, now).await?;
                }
                let leaving = Leaving { phone, alias, number, is_self: false };
                let change = remove(tx, &conversation, members, leaving, now).await?;
                tx.record(|| Change::member_removed(&change, false, ban)).await?;
                Ok(change)
            })
            .await
    }

    /// Lifts a ban (the owner or an admin): the number may join or be added again.
    pub async fn unban(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        number: &PhoneNumber,
    ) -> Result<()> {
        self.storage
            .write(async |tx| {
                let (owned, phone) = both(owned(tx, id, actor), tx.phone_id(number.as_str())).await;
                owned?;
                let not_banned = || Error::NotBanned { number: number.as_str().to_owned(), id };
                let phone = phone?.ok_or_else(not_banned)?;
                if !tx.is_banned(id, phone).await? {
                    return Err(not_banned());
                }
                tx.delete_ban(id, phone).await?;
                tx.record(|| Change::unbanned(id, number.as_str())).await
            })
            .await
    }

    /// The numbers banned from a conversation, oldest ban first (the owner or an admin).
    pub async fn bans(&self, actor: Actor<'_>, id: ConversationId) -> Result<Vec<Ban>> {
        self.storage
            .read(async |tx| {
                let (row, bans) = both(existing(tx, id), tx.bans(id)).await;
                let row = row?;
                if let Actor::Member(number) = actor {
                    if member_phone(tx, id, number).await? != row.owner_id {
                        return Err(Error::Forbidden { reason: "only the owner may do this" });
                    }
                }
                bans
            })
            .await
    }

    /// Makes a member a moderator (`on`) or an ordinary member again (the owner or an admin).
    /// Returns the system message (none when nothing changed) and the members.
    pub async fn set_moderator(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        number: &PhoneNumber,
        on: bool,
        now: i64,
    ) -> Result<(Option<Message>, Vec<Member>)> {
        let change = async |tx: &S::Write<'_>| {
            let (owned, phone) = both(owned(tx, id, actor), member_phone(tx, id, number)).await;
            let Owned { row, .. } = owned?;
            let phone = phone?;
            if phone == row.owner_id {
                return Err(Error::Forbidden { reason: "the owner already moderates" });
            }
            let Some(member) = tx.member(id, phone).await? else {
                return Err(Error::NotMember { number: number.as_str().to_owned(), id });
            };
            if member.is_moderator == on {
                return Ok(None);
            }
            tx.set_moderator(id, phone, on).await?;
            let detail = if on { "granted" } else { "revoked" };
            let note = system_message(
                tx,
                id,
                phone,
                number.as_str(),
                Some(&member.alias),
                SystemEvent::Moderator,
                Some(detail),
                now,
            )
            .await?;
            tx.record(|| Change::moderator_changed(id, &note, on)).await?;
            Ok(Some(note))
        };
        let answer = async |tx: &S::Read<'_>, note: &Option<Message>| {
            Ok((note.clone(), member_list(tx, id).await?))
        };
        self.storage.write_then_read(change, answer).await
    }

    /// A member changes their own alias; returns the system message and the members.
    pub async fn set_alias(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        alias: &Alias,
        now: i64,
    ) -> Result<(Message, Vec<Member>)> {
        self.filter_names(&[Some(alias.as_str())])?;
        let change = async |tx: &S::Write<'_>| {
            tx.lock_conversation(id).await?;
            let phone = member_of_existing(tx, id, number).await?;
            let (holder, old) =
                both(tx.member_by_alias(id, &alias.key()), tx.alias_of(id, phone)).await;
            if holder?.is_some_and(|m| m.phone != phone) {
                return Err(Error::AliasTaken);
            }
            let old = old?.unwrap_or_default();
            tx.set_alias(id, phone, alias).await?;
            let event = SystemEvent::Alias;
            let note = system_message(
                tx,
                id,
                phone,
                number.as_str(),
                Some(alias.as_str()),
                event,
                Some(&old),
                now,
            )
            .await?;
            tx.record(|| Change::alias_changed(id, &note)).await?;
            Ok(note)
        };
        let answer =
            async |tx: &S::Read<'_>, note: &Message| Ok((note.clone(), member_list(tx, id).await?));
        self.storage.write_then_read(change, answer).await
    }

    /// Mutes (`on`) or unmutes a conversation for the member: no pushes while muted; unread
    /// counts are kept as always.
    pub async fn set_muted(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        on: bool,
    ) -> Result<()> {
        self.storage
            .write(async |tx| {
                let phone = member_of_existing(tx, id, number).await?;
                tx.set_muted(id, phone, on).await
            })
            .await
    }

    /// The members with their aliases and roles, as `viewer` (a member; `None` for an admin)
    /// may see them.
    pub async fn members(
        &self,
        viewer: Option<&PhoneNumber>,
        id: ConversationId,
    ) -> Result<Vec<Member>> {
        self.storage
            .read(async |tx| {
                if let Some(number) = viewer {
                    member_of_existing(tx, id, number).await?;
                }
                member_list(tx, id).await
            })
            .await
    }

    /// The number of the member of `id` called `alias`, for a member (`viewer`) who named
    /// them so: `not_member` when nobody is called that. The number is for the server alone
    /// (a player's request names members by alias; this finds whom it means).
    pub async fn member_by_alias(
        &self,
        viewer: &PhoneNumber,
        id: ConversationId,
        alias: &Alias,
    ) -> Result<String> {
        self.storage
            .read(async |tx| {
                member_of_existing(tx, id, viewer).await?;
                match tx.member_by_alias(id, &alias.key()).await? {
                    Some(member) => Ok(member.number),
                    None => Err(Error::NotMember { number: alias.as_str().to_owned(), id }),
                }
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
        alias: Option<&Alias>,
        now: i64,
    ) -> Result<(Conversation, MembershipChange)> {
        self.filter_names(&[alias.map(Alias::as_str)])?;
        let Service { storage, limits, rng } = self;
        let change = async |tx: &S::Write<'_>| {
            let (id, phone) = both(
                tx.conversation_id_by_code_for_update(code.as_str()),
                tx.ensure_phone(number.as_str()),
            )
            .await;
            let id = id?.ok_or(Error::NoConversationWithCode)?;
            let phone = phone?;
            let joined = add(tx, limits, rng, id, phone, number, alias, now).await?;
            tx.mark_read(id, phone, joined.id).await?;
            tx.record(|| Change::member_added(id, number.as_str(), &joined, true)).await?;
            Ok((id, phone, joined))
        };
        let answer =
            async |tx: &S::Read<'_>, (id, _, joined): &(ConversationId, PhoneId, Message)| {
                let conversation = view(tx, limits, *id, number).await?;
                let members = conversation.members.clone();
                let change = joined_change(*id, number, members, joined)?;
                Ok((conversation, change))
            };
        storage.write_then_read(change, answer).await
    }

    /// Posts a text message; returns it with who hears of it.
    pub async fn send_message(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        text: &str,
        now: i64,
    ) -> Result<(Message, Listeners)> {
        self.send(number, id, Body::Text(text), None, now).await
    }

    /// One conversation as `number` sees it, with its latest page of messages.
    pub async fn conversation(
        &self,
        number: &PhoneNumber,
        id: ConversationId,
    ) -> Result<Conversation> {
        let limits = &self.limits;
        self.storage.read(async |tx| member_view(tx, limits, id, number).await).await
    }

    /// A conversation as an admin sees it (no member's read state: `isItRead` is true).
    pub async fn conversation_for_admin(&self, id: ConversationId) -> Result<Conversation> {
        let limits = &self.limits;
        self.storage
            .read(async |tx| {
                let row = existing(tx, id).await?;
                admin_view(tx, limits, row).await
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
                Ok(listed.into_iter().map(|l| summary(l.row, l.unread, Some(l.member))).collect())
            })
            .await
    }

    /// Every conversation, newest first (admin listing).
    pub async fn all_conversations(&self, limit: u32) -> Result<Vec<Conversation>> {
        self.storage
            .read(async |tx| {
                let rows = tx.all_conversations(limit).await?;
                Ok(rows.into_iter().map(|row| summary(row, 0, None)).collect())
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
        // One guarded statement decides and writes (the member exists, so does its
        // conversation, no staff ban is in force; `up_to` clamped to the newest message), so
        // that no change can come between the decision and the write. Only when it matched no
        // row are the reasons read (one more round trip on MySQL, for a refusal only: the
        // statement alone is the peers' one statement, where reading the reasons beside it
        // cost every call a result set to parse).
        self.storage
            .write_at_once_checked(async |tx, staff| {
                let unbanned_at = staff.map(|check| check.now);
                if tx.mark_read_guarded(id, number.as_str(), up_to, unbanned_at).await? {
                    return Ok(());
                }
                mark_read_refusal(tx, id, number, staff).await?;
                Err(Error::Conflict(
                    "mark read: refused on a state that changed before its reasons were read"
                        .into(),
                ))
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
    ) -> Result<(Message, Vec<Member>)> {
        self.filter_names(&[Some(name.as_str())])?;
        let change = async |tx: &S::Write<'_>| {
            // An admin's rename has no subject: it was not done by any member.
            let Owned { actor: phone, actor_name, .. } = owned(tx, id, actor).await?;
            let alias = match phone {
                Some(phone) => tx.alias_of(id, phone).await?,
                None => None,
            };
            tx.set_name(id, name.as_str(), now).await?;
            let event = SystemEvent::Renamed;
            let detail = Some(name.as_str());
            let note =
                system_message(tx, id, phone, &actor_name, alias.as_deref(), event, detail, now)
                    .await?;
            tx.record(|| Change::renamed(id, &note)).await?;
            Ok(note)
        };
        let answer = async |tx: &S::Read<'_>, renamed: &Message| {
            Ok((renamed.clone(), member_list(tx, id).await?))
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
                tx.record(|| Change::join_code_changed(id)).await?;
                Ok(code.as_str().to_owned())
            })
            .await
    }

    /// Deletes the conversation and its messages; returns who were members.
    pub async fn delete(&mut self, actor: Actor<'_>, id: ConversationId) -> Result<Vec<String>> {
        self.storage
            .write(async |tx| {
                let (owned, listeners) = both(owned(tx, id, actor), tx.listeners(id)).await;
                owned?;
                let members = listeners?.numbers;
                tx.delete_conversation(id).await?;
                tx.record(|| Change::deleted(id, &members)).await?;
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
    ) -> Result<(Message, Vec<Member>)> {
        let change = async |tx: &S::Write<'_>| {
            let (owned, phone) = both(owned(tx, id, actor), member_phone(tx, id, to)).await;
            owned?;
            let phone = phone?;
            let alias = tx.alias_of(id, phone).await?;
            tx.set_owner(id, phone).await?;
            let event = SystemEvent::Owner;
            let note =
                system_message(tx, id, phone, to.as_str(), alias.as_deref(), event, None, now)
                    .await?;
            tx.record(|| Change::owner_changed(id, &note)).await?;
            Ok(note)
        };
        let answer =
            async |tx: &S::Read<'_>, note: &Message| Ok((note.clone(), member_list(tx, id).await?));
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

    // --- the change log of a server network (MySQL; see crate::changes) ----------------

    /// Stores `after` as where `server` has read the log up to (the stored position when
    /// `None`), then reads the other servers' entries after it.
    pub async fn changes(
        &mut self,
        server: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<ChangeBatch> {
        self.storage.changes(server, after, limit).await
    }

    /// Deletes one batch of the log's entries beyond `retention`; returns how many.
    pub async fn prune_changes(&mut self, retention: Retention) -> Result<i64> {
        self.storage.prune_changes(retention).await
    }

    // --- statistics -------------------------------------------------------------------

    pub async fn stats(&self) -> Result<Stats> {
        self.storage.read(async |tx| tx.stats().await).await
    }

    pub async fn integrity_check(&self) -> Result<String> {
        self.storage.read(async |tx| tx.integrity_check().await).await
    }
}

// --- messages: kinds, replies, edits and deletions ----------------------------------------

/// What a member posts, as the caller gave it (checked by [`Service::send`]).
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    Text(&'a str),
    /// An https URL on an allowed host.
    Image(&'a str),
    Location {
        x: f64,
        y: f64,
        z: f64,
        label: Option<&'a str>,
    },
}

impl<S: Storage> Service<S> {
    /// Posts a message of any kind, optionally answering `reply_to` (a message of the same
    /// conversation that exists, is not a system message and is not deleted: otherwise
    /// `invalid_argument`); returns it with who hears of it. The reply stores a quote of
    /// the original (its sender's alias, its first characters) beside itself.
    pub async fn send(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        body: Body<'_>,
        reply_to: Option<MessageId>,
        now: i64,
    ) -> Result<(Message, Listeners)> {
        let (kind, content, data) = checked_body(body, &self.limits)?;
        // The word filter: a text is refused or masked; a location's label is refused.
        let content = match kind {
            MessageKind::Text => self.filtered_content(content)?,
            _ => content,
        };
        if let Some(MessageData::Location { label, .. }) = &data {
            self.filter_names(&[label.as_deref()])?;
        }
        let change = async |tx: &S::Write<'_>| {
            tx.lock_conversation(id).await?;
            // The member and its alias in one lookup, in the batch that takes the lock, and the
            // message it answers read beside them.
            let answered = async {
                match reply_to {
                    Some(original) => tx.message(id, original).await,
                    None => Ok(None),
                }
            };
            let (found, original) = both(tx.member_with_alias(id, number.as_str()), answered).await;
            let (phone, alias) = existing_unless_member(tx, id, number, found).await?;
            let original = original?;
            let alias = Some(alias);
            let extra = Extra {
                data: data.clone(),
                reply_to: match reply_to {
                    Some(_) => Some(quote(original)?),
                    None => None,
                },
                ..Extra::default()
            };
            let new = NewMessage {
                sender: Some(phone),
                sender_alias: alias.as_deref(),
                kind,
                event: None,
                content: &content,
                reply_to,
            };
            let message_id =
                tx.insert_full_message(id, &new, extra.to_stored().as_deref(), now).await?;
            tx.mark_read(id, phone, message_id).await?;
            let message = Message {
                id: message_id,
                sender: Some(number.as_str().to_owned()),
                sender_alias: alias,
                content: content.clone(),
                kind,
                event: None,
                created_at: now,
                extra,
            };
            tx.record(|| Change::message_sent(id, &message)).await?;
            Ok(message)
        };
        let answer = async |tx: &S::Read<'_>, message: &Message| {
            Ok((message.clone(), tx.listeners(id).await?))
        };
        self.storage.write_then_read(change, answer).await
    }

    /// Deletes a message, leaving a tombstone (its id, sender and time, `deleted`): its text,
    /// data and quote are overwritten, and so is its text in the quotes of replies to it. A
    /// member deletes their own messages; the owner, a moderator and an admin anyone's; system
    /// messages only an admin. Checks: `conversation_not_found`, `not_member`,
    /// `invalid_argument` (no such message in the conversation), `forbidden`. Deleting a
    /// tombstone again writes nothing. Returns the tombstone and who hears of it.
    pub async fn delete_message(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        message: MessageId,
        now: i64,
    ) -> Result<(Message, Listeners)> {
        let change = async |tx: &S::Write<'_>| {
            let actor_phone = async {
                match actor {
                    Actor::Member(number) => member_phone(tx, id, number).await.map(Some),
                    Actor::Admin => Ok(None),
                }
            };
            let (row, (phone, target)) =
                both(existing_for_update(tx, id), both(actor_phone, tx.message(id, message))).await;
            let (row, phone) = (row?, phone?);
            let MessageRow { message: mut target, sender_id } =
                target?.ok_or(Error::invalid("messageId"))?;
            if let Some(phone) = phone {
                let system = target.kind == MessageKind::System;
                let own = sender_id == Some(phone) && !system;
                if !own {
                    let moderates = phone == row.owner_id
                        || tx.member(id, phone).await?.is_some_and(|m| m.is_moderator);
                    if system || !moderates {
                        return Err(Error::Forbidden {
                            reason: "only the sender, the owner or a moderator may delete this",
                        });
                    }
                }
            }
            if target.extra.deleted_at.is_some() {
                return Ok(target);
            }
            target.content.clear();
            target.extra = Extra { deleted_at: Some(now), ..Extra::default() };
            tx.rewrite_message(id, message, Some(""), target.extra.to_stored().as_deref()).await?;
            for (reply, mut extra) in tx.replies_to(id, message).await? {
                if let Some(quote) = extra.reply_to.as_mut() {
                    quote.content.clear();
                    quote.deleted = true;
                }
                tx.rewrite_message(id, reply, None, extra.to_stored().as_deref()).await?;
            }
            let deleted_by = match actor {
                Actor::Member(number) => Some(number.as_str()),
                Actor::Admin => None,
            };
            tx.record(|| Change::message_deleted(id, &target, deleted_by)).await?;
            Ok(target)
        };
        let answer = async |tx: &S::Read<'_>, tombstone: &Message| {
            Ok((tombstone.clone(), tx.listeners(id).await?))
        };
        self.storage.write_then_read(change, answer).await
    }

    /// The sender changes the text of their own text message, within
    /// [`Limits::edit_window_seconds`] of sending it; the message is marked edited. Quotes of
    /// it in replies keep the text that was answered. Checks: the text's rule, then
    /// `conversation_not_found`, `not_member`, `invalid_argument` (no such message),
    /// `forbidden` (another's message, not a text message, deleted, too late).
    pub async fn edit_message(
        &mut self,
        number: &PhoneNumber,
        id: ConversationId,
        message: MessageId,
        text: &str,
        now: i64,
    ) -> Result<(Message, Listeners)> {
        let content = crate::input::message_text(text, self.limits.max_message_chars)?;
        let content = self.filtered_content(content)?;
        let window = i64::from(self.limits.edit_window_seconds);
        let change = async |tx: &S::Write<'_>| {
            tx.lock_conversation(id).await?;
            let phone = member_of_existing(tx, id, number).await?;
            let MessageRow { message: mut target, sender_id } =
                tx.message(id, message).await?.ok_or(Error::invalid("messageId"))?;
            if sender_id != Some(phone) || target.kind != MessageKind::Text {
                return Err(Error::Forbidden { reason: "only the sender may edit a text message" });
            }
            if target.extra.deleted_at.is_some() {
                return Err(Error::Forbidden { reason: "the message was deleted" });
            }
            if now - target.created_at > window {
                return Err(Error::Forbidden {
                    reason: "the time to edit this message has passed",
                });
            }
            target.content = content.clone();
            target.extra.edited_at = Some(now);
            let extra = target.extra.to_stored();
            tx.rewrite_message(id, message, Some(&content), extra.as_deref()).await?;
            tx.record(|| Change::message_edited(id, &target)).await?;
            Ok(target)
        };
        let answer = async |tx: &S::Read<'_>, edited: &Message| {
            Ok((edited.clone(), tx.listeners(id).await?))
        };
        self.storage.write_then_read(change, answer).await
    }
}

/// A message body checked against its rules and the owner's limits: its kind, its text ("" for
/// an image or a location) and its data.
fn checked_body(
    body: Body<'_>,
    limits: &Limits,
) -> Result<(MessageKind, String, Option<MessageData>)> {
    use crate::input::{coordinate, image_url, location_label, MAP_X, MAP_Y, MAP_Z};
    Ok(match body {
        Body::Text(text) => {
            (MessageKind::Text, crate::input::message_text(text, limits.max_message_chars)?, None)
        }
        Body::Image(url) => {
            let url = image_url(url, &limits.image_hosts)?;
            (MessageKind::Image, String::new(), Some(MessageData::Image { url }))
        }
        Body::Location { x, y, z, label } => {
            let data = MessageData::Location {
                x: coordinate(x, MAP_X, "x")?,
                y: coordinate(y, MAP_Y, "y")?,
                z: coordinate(z, MAP_Z, "z")?,
                label: label.map(location_label).transpose()?,
            };
            (MessageKind::Location, String::new(), Some(data))
        }
    })
}

/// The quote a reply stores of `original`: `invalid_argument` when there is no such message in
/// the conversation, or it is a system message or a tombstone.
fn quote(original: Option<MessageRow>) -> Result<Quote> {
    let invalid = || Error::invalid("replyTo");
    let original = original.ok_or_else(invalid)?.message;
    if original.kind == MessageKind::System || original.extra.deleted_at.is_some() {
        return Err(invalid());
    }
    Ok(Quote {
        id: original.id,
        sender_alias: original.sender_alias,
        content: original.content.chars().take(QUOTE_CHARS).collect(),
        kind: original.kind,
        deleted: false,
    })
}

// --- rules shared by the operations ------------------------------------------------------

/// Who leaves a conversation (or is removed from it), and how it is recorded.
struct Leaving<'a> {
    phone: PhoneId,
    alias: String,
    number: &'a PhoneNumber,
    /// "left" rather than "removed".
    is_self: bool,
}

/// Removes a member, records it, hands ownership on, deletes the conversation when empty.
/// `members` are the members read under the conversation's lock before the removal, with the
/// leaver among them: read beside the lock (one batch on MySQL), not again after the delete.
async fn remove(
    tx: &impl Write,
    conversation: &ConversationRow,
    members: Vec<MemberEntry>,
    leaving: Leaving<'_>,
    now: i64,
) -> Result<MembershipChange> {
    let Leaving { phone, alias, number, is_self } = leaving;
    let id = conversation.id;
    tx.delete_member(id, phone).await?;
    let entries: Vec<MemberEntry> = members.into_iter().filter(|m| m.phone != phone).collect();
    let Some(oldest) = entries.first().cloned() else {
        tx.delete_conversation(id).await?;
        return Ok(MembershipChange {
            conversation_id: id,
            number: number.as_str().to_owned(),
            alias,
            recipients: Vec::new(),
            new_owner: None,
            new_owner_alias: None,
            members: Vec::new(),
            deleted: true,
            message: None,
        });
    };
    let event = if is_self { SystemEvent::Left } else { SystemEvent::Removed };
    let message =
        system_message(tx, id, phone, number.as_str(), Some(&alias), event, None, now).await?;
    let (mut owner, mut new_owner, mut new_owner_alias) = (conversation.owner_id, None, None);
    if conversation.owner_id == phone {
        tx.set_owner(id, oldest.phone).await?;
        let (who, called) = (&oldest.number, Some(oldest.alias.as_str()));
        system_message(tx, id, oldest.phone, who, called, SystemEvent::Owner, None, now).await?;
        owner = oldest.phone;
        new_owner = Some(oldest.number);
        new_owner_alias = Some(oldest.alias);
    }
    let members = members_view(entries, owner);
    Ok(MembershipChange {
        conversation_id: id,
        number: number.as_str().to_owned(),
        alias,
        recipients: numbers(&members),
        new_owner,
        new_owner_alias,
        members,
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

/// Why `number` may not mark `id` read, in the order the refusals are answered: a staff ban
/// (when `staff` asks), no such conversation, no such member; `Ok` when none of them holds.
async fn mark_read_refusal(
    tx: &impl Read,
    id: ConversationId,
    number: &PhoneNumber,
    staff: Option<&StaffCheck>,
) -> Result<()> {
    let asked = staff.map(|check| (check.number.as_str(), check.now));
    let facts = tx.mark_read_facts(id, number.as_str(), asked).await?;
    if let Some(check) = staff {
        staff::verdict(facts.banned, &check.number, check.joining)?;
    }
    if !facts.conversation {
        return Err(Error::ConversationNotFound { id });
    }
    match facts.member {
        true => Ok(()),
        false => Err(Error::NotMember { number: number.as_str().to_owned(), id }),
    }
}

/// [`member_phone`] for a caller that has not read the conversation: the same errors as
/// [`existing`] then [`member_phone`], with the existence checked only when the member is not
/// found (a member row implies its conversation).
async fn member_of_existing(
    tx: &impl Read,
    id: ConversationId,
    number: &PhoneNumber,
) -> Result<PhoneId> {
    let found = tx.member_phone_id(id, number.as_str()).await;
    existing_unless_member(tx, id, number, found).await
}

/// A member lookup's result (`found`) as [`member_of_existing`] answers it: the member, or
/// `conversation_not_found` before `not_member` when there is none.
async fn existing_unless_member<T>(
    tx: &impl Read,
    id: ConversationId,
    number: &PhoneNumber,
    found: Result<Option<T>>,
) -> Result<T> {
    match found? {
        Some(member) => Ok(member),
        None => {
            ensure_exists(tx, id).await?;
            Err(Error::NotMember { number: number.as_str().to_owned(), id })
        }
    }
}

/// [`member_phone`] with the member's alias, read in the same lookup.
async fn member_alias(
    tx: &impl Read,
    id: ConversationId,
    number: &PhoneNumber,
) -> Result<(PhoneId, String)> {
    tx.member_with_alias(id, number.as_str())
        .await?
        .ok_or_else(|| Error::NotMember { number: number.as_str().to_owned(), id })
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

/// Adds `phone` (`number`) to conversation `id` under `alias` (a generated one when `None`)
/// and records "joined"; returns that message. The facts it decides on are read side by side.
#[allow(clippy::too_many_arguments)]
async fn add(
    tx: &impl Write,
    limits: &Limits,
    rng: &RefCell<StdRng>,
    id: ConversationId,
    phone: PhoneId,
    number: &PhoneNumber,
    alias: Option<&Alias>,
    now: i64,
) -> Result<Message> {
    // The first alias to try is looked up beside the checks (one batch on MySQL): the chosen
    // one, or the one the generator gives next, drawn from a copy of it so that a refused act
    // draws nothing and the generator's sequence is the one drawing after the checks gives.
    let first = match alias {
        Some(alias) => alias.clone(),
        // (as `free_alias`'s first attempt draws it: plain unless no plain attempt is allowed)
        None => Alias::generate(&mut rng.borrow().clone(), PLAIN_ALIAS_ATTEMPTS == 0),
    };
    let (((member, members), (memberships, banned)), holder) = both(
        both(
            both(tx.member(id, phone), tx.count_members(id)),
            both(tx.count_memberships_of(phone), tx.is_banned(id, phone)),
        ),
        tx.member_by_alias(id, &first.key()),
    )
    .await;
    if member?.is_some() {
        return Err(Error::AlreadyMember { number: number.as_str().to_owned(), id });
    }
    if banned? {
        return Err(Error::Banned { number: number.as_str().to_owned(), id });
    }
    if members? >= i64::from(limits.max_members) {
        return Err(Error::LimitReached {
            what: "members per conversation",
            max: limits.max_members,
        });
    }
    check_membership_quota(memberships?, limits)?;
    let alias = free_alias(tx, rng, id, alias, Some((&first, holder?.is_some()))).await?;
    tx.insert_member(id, phone, &alias, now, MessageId::NONE).await?;
    let subject = (number.as_str(), Some(alias.as_str()));
    system_message(tx, id, phone, subject.0, subject.1, SystemEvent::Joined, None, now).await
}

/// `chosen` if no member of `id` goes by it (`invalid_argument` otherwise), or a generated
/// alias no member goes by. `looked_up` is an alias already looked up in this transaction and
/// whether a member goes by it (an add looks up its first candidate beside its checks): that
/// one is not asked again. Generated aliases are drawn from `rng` the same way either way.
pub(crate) async fn free_alias(
    tx: &impl Read,
    rng: &RefCell<StdRng>,
    id: ConversationId,
    chosen: Option<&Alias>,
    looked_up: Option<(&Alias, bool)>,
) -> Result<Alias> {
    let taken = async |alias: &Alias| -> Result<bool> {
        match looked_up {
            Some((known, taken)) if known == alias => Ok(taken),
            _ => Ok(tx.member_by_alias(id, &alias.key()).await?.is_some()),
        }
    };
    if let Some(alias) = chosen {
        return if taken(alias).await? { Err(Error::AliasTaken) } else { Ok(alias.clone()) };
    }
    for attempt in 0..ALIAS_ATTEMPTS {
        let alias = Alias::generate(&mut *rng.borrow_mut(), attempt >= PLAIN_ALIAS_ATTEMPTS);
        if !taken(&alias).await? {
            return Ok(alias);
        }
    }
    Err(Error::Internal("no free alias found".into()))
}

/// What an add or a join did, for the caller to notify the members.
fn joined_change(
    id: ConversationId,
    number: &PhoneNumber,
    members: Vec<Member>,
    joined: &Message,
) -> Result<MembershipChange> {
    Ok(MembershipChange {
        conversation_id: id,
        number: number.as_str().to_owned(),
        alias: joined.sender_alias.clone().unwrap_or_default(),
        recipients: numbers(&members),
        new_owner: None,
        new_owner_alias: None,
        members,
        deleted: false,
        message: Some(joined.clone()),
    })
}

/// The members of `id` with their roles.
async fn member_list(tx: &impl Read, id: ConversationId) -> Result<Vec<Member>> {
    let (row, entries) = both(existing(tx, id), tx.members(id)).await;
    Ok(members_view(entries?, row?.owner_id))
}

fn members_view(entries: Vec<MemberEntry>, owner: PhoneId) -> Vec<Member> {
    entries
        .into_iter()
        .map(|m| Member {
            is_owner: m.phone == owner,
            number: m.number,
            alias: m.alias,
            is_moderator: m.is_moderator,
            is_muted: m.muted,
        })
        .collect()
}

fn numbers(members: &[Member]) -> Vec<String> {
    members.iter().map(|m| m.number.clone()).collect()
}

/// Records a system message about `subject` (a phone id, its number and its alias in the
/// conversation; no phone for an admin). The text names the subject by alias only: members
/// read it.
#[allow(clippy::too_many_arguments)]
async fn system_message(
    tx: &impl Write,
    id: ConversationId,
    subject: impl Into<Option<PhoneId>>,
    subject_number: &str,
    subject_alias: Option<&str>,
    event: SystemEvent,
    detail: Option<&str>,
    now: i64,
) -> Result<Message> {
    let who = subject_alias.unwrap_or("An admin");
    let detail = detail.unwrap_or_default();
    let content = match event {
        SystemEvent::Joined => format!("{who} joined"),
        SystemEvent::Left => format!("{who} left"),
        SystemEvent::Removed => format!("{who} was removed"),
        SystemEvent::Renamed => format!("Renamed to {detail}"),
        SystemEvent::Owner => format!("{who} is now the owner"),
        SystemEvent::Alias => format!("{detail} is now called {who}"),
        SystemEvent::Moderator if detail == "granted" => format!("{who} is now a moderator"),
        SystemEvent::Moderator => format!("{who} is no longer a moderator"),
        SystemEvent::Retention => retention::retention_text(who, detail),
    };
    let message_id = tx
        .insert_message(
            id,
            subject.into(),
            subject_alias,
            MessageKind::System,
            Some(event),
            &content,
            now,
        )
        .await?;
    Ok(Message {
        id: message_id,
        sender: Some(subject_number.to_owned()),
        sender_alias: subject_alias.map(str::to_owned),
        content,
        kind: MessageKind::System,
        event: Some(event),
        created_at: now,
        extra: Extra::default(),
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

/// A conversation a moderation action (a kick, a ban) may proceed on, held against other
/// writers.
struct Moderating {
    row: ConversationRow,
    /// The acting member's phone (None for an admin).
    actor: Option<PhoneId>,
    /// Whether the actor is the owner or an admin (else a moderator).
    owner: bool,
}

/// Passes for an admin, the owner or a moderator: `conversation_not_found`, then `not_member`
/// for outsiders, then `forbidden` for ordinary members.
async fn moderating(tx: &impl Write, id: ConversationId, actor: Actor<'_>) -> Result<Moderating> {
    match actor {
        Actor::Admin => {
            let row = existing_for_update(tx, id).await?;
            Ok(Moderating { row, actor: None, owner: true })
        }
        Actor::Member(number) => {
            let (row, phone) =
                both(existing_for_update(tx, id), member_phone(tx, id, number)).await;
            let (row, phone) = (row?, phone?);
            if phone == row.owner_id {
                return Ok(Moderating { row, actor: Some(phone), owner: true });
            }
            match tx.member(id, phone).await? {
                Some(member) if member.is_moderator => {
                    Ok(Moderating { row, actor: Some(phone), owner: false })
                }
                _ => Err(Error::Forbidden { reason: "only the owner or a moderator may do this" }),
            }
        }
    }
}

pub(crate) async fn free_code(tx: &impl Read, rng: &RefCell<StdRng>) -> Result<JoinCode> {
    for _ in 0..CODE_ATTEMPTS {
        let code = JoinCode::generate(&mut *rng.borrow_mut());
        if tx.conversation_id_by_code(code.as_str()).await?.is_none() {
            return Ok(code);
        }
    }
    Err(Error::Internal("no free join code found".into()))
}

/// The full view of conversation `id` for its member `number`, after a write that made them one.
async fn view(
    tx: &impl Read,
    limits: &Limits,
    id: ConversationId,
    number: &PhoneNumber,
) -> Result<Conversation> {
    // Read as the conversation view reads it (one batch on MySQL); a member gone by then
    // leaves no view to answer with, as a conversation gone does.
    member_view(tx, limits, id, number).await.map_err(|e| match e {
        Error::NotMember { .. } => Error::ConversationNotFound { id },
        other => other,
    })
}

/// The full view of conversation `id` for `number`, its reads side by side (one batch on
/// MySQL): the conversation with the member's state and unread count, its members, its latest
/// page (the last two dropped when `number` is not a member).
async fn member_view(
    tx: &impl Read,
    limits: &Limits,
    id: ConversationId,
    number: &PhoneNumber,
) -> Result<Conversation> {
    let (seen, (entries, messages)) = both(
        tx.conversation_seen_by(id, number.as_str(), UNREAD_CAP),
        both(tx.members(id), tx.messages_before(id, None, limits.page_size)),
    )
    .await;
    let (row, membership) = seen?.ok_or(Error::ConversationNotFound { id })?;
    let (member, unread) =
        membership.ok_or_else(|| Error::NotMember { number: number.as_str().to_owned(), id })?;
    let members = members_view(entries?, row.owner_id);
    Ok(conversation(row, members, messages?, unread, Some(member)))
}

/// The full view of a conversation for an admin (no read state of their own).
async fn admin_view(tx: &impl Read, limits: &Limits, row: ConversationRow) -> Result<Conversation> {
    let (entries, messages) =
        both(tx.members(row.id), tx.messages_before(row.id, None, limits.page_size)).await;
    let (members, messages) = (members_view(entries?, row.owner_id), messages?);
    Ok(conversation(row, members, messages, 0, None))
}

/// A list entry: no member list, only the last message.
fn summary(mut row: ConversationRow, unread: i64, you: Option<MemberRow>) -> Conversation {
    let messages = row.last_message.take().into_iter().collect();
    conversation(row, Vec::new(), messages, unread, you)
}

fn conversation(
    row: ConversationRow,
    members: Vec<Member>,
    messages: Vec<Message>,
    unread_count: i64,
    you: Option<MemberRow>,
) -> Conversation {
    let recipients = numbers(&members);
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
        members,
        is_moderator: you.as_ref().is_some_and(|m| m.is_moderator),
        is_muted: you.as_ref().is_some_and(|m| m.muted),
        alias: you.map(|m| m.alias),
        retention_seconds: row.retention_seconds,
    }
}
