//! Disappearing messages: a conversation's retention (set by its owner or a moderator: off,
//! one hour, a day, a week) and the server's caps (`Limits::max_message_age_seconds`,
//! `Limits::max_messages_per_conversation`, for every conversation), and the sweep that deletes
//! what they expire.
//!
//! The sweep is a step the host calls again and again (a Lua timer): each step is one write
//! transaction that deletes at most `batch` messages. It first reads the next
//! [`EXAMINED_PER_STEP`] conversations (fewer under a large count cap), without a lock: each
//! one's retention, its oldest message's time (a seek in `messages_expiry`) and whether it
//! holds more than the count cap (a walk of the id index). Only those with something due are
//! locked and swept, at most [`SWEPT_PER_STEP`] of them, each through an index range; so a step
//! costs the same however many messages are due, and a round over conversations with nothing
//! due takes no lock and writes nothing (on a shared MySQL database, one read a step instead of
//! a lock and two reads per conversation). The caller carries the cursor (the last
//! conversation looked at) from one step to the next; a step that reaches the last
//! conversation says the round is over.
//!
//! Expired messages are deleted (their rows are gone, not hidden). The conversation's copy of
//! its newest message is refreshed when that one went, so listings show the newest message
//! left, and unread counts (messages above the member's read position) drop with the rows.
//! Replies keep the quote they were written with: the quote is part of the reply, and the
//! reply, newer than what it answers, goes under the same rule soon after.
//!
//! Each step also says whether the database's log is behind (SQLite's checkpointer has not
//! caught up): a million messages deleted back to back would otherwise write the log faster
//! than it is copied back, until the checkpointer, past its cap, holds every writer back to
//! restart it (a 100 ms stall of the server, measured). The pacer then waits longer.
//!
//! A sweep writes nothing to the change log of a server network: the servers read the same
//! database, so a message swept by one is gone for all of them at its commit, and no push
//! follows (phones read the conversation's `retentionSeconds` and may drop what it expires).

use super::{member_list, moderating, system_message, Moderating, Service};
use crate::changes::Change;
use crate::error::{Error, Result};
use crate::ids::ConversationId;
use crate::model::{Member, Message, SystemEvent};
use crate::storage::{Read, Storage, Write};

use super::Actor;

/// The retentions an owner may choose, in seconds: off, one hour, 24 hours, 7 days.
pub const RETENTION_CHOICES: [i64; 4] = [0, 3600, 86_400, 604_800];
/// Conversations one sweep step reads at most, in one read that takes no lock.
pub const EXAMINED_PER_STEP: u32 = 64;
/// Of those, the conversations with something due that one step locks and sweeps at most.
pub const SWEPT_PER_STEP: u32 = 8;
/// Index entries a step's read may walk to tell whether its conversations hold more than the
/// count cap: that is an offset into the newest-first id range, a walk of up to the cap's
/// length each, where the age is one seek.
const COUNT_WALK_PER_STEP: u32 = 4096;

/// How many conversations a step reads with the count cap `max_count` (0: none): fewer as the
/// cap's walks grow, never fewer than a step may sweep (what a step read before it read first).
fn examined_per_step(max_count: u32) -> u32 {
    match max_count {
        0 => EXAMINED_PER_STEP,
        cap => (COUNT_WALK_PER_STEP / cap).clamp(SWEPT_PER_STEP, EXAMINED_PER_STEP),
    }
}
/// The most messages one step may delete, and how many when the caller names no batch.
pub const MAX_SWEEP_BATCH: i64 = 5000;
pub const DEFAULT_SWEEP_BATCH: i64 = 50;

/// `seconds` when it is one of [`RETENTION_CHOICES`]; `invalid_argument` otherwise.
pub fn retention(seconds: i64) -> Result<i64> {
    if RETENTION_CHOICES.contains(&seconds) {
        Ok(seconds)
    } else {
        Err(Error::invalid("retentionSeconds"))
    }
}

/// A retention as a system message says it.
fn spoken(seconds: i64) -> &'static str {
    match seconds {
        3600 => "1 hour",
        86_400 => "24 hours",
        604_800 => "7 days",
        _ => "off",
    }
}

/// The text of a retention's system message (`who` set it).
pub(super) fn retention_text(who: &str, detail: &str) -> String {
    match detail.parse::<i64>() {
        Ok(seconds) if seconds > 0 => {
            format!("{who} set messages to disappear after {}", spoken(seconds))
        }
        _ => format!("{who} turned disappearing messages off"),
    }
}

/// What one sweep step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep {
    /// Messages deleted.
    pub deleted: i64,
    /// Where the next step starts (the last conversation looked at); 0 when the round is over.
    pub next: i64,
    /// Whether the round goes on (else the next step starts a new round from the first).
    pub more: bool,
    /// The conversations that lost messages.
    pub conversations: Vec<ConversationId>,
    /// The database's log is behind (see [`Storage::log_behind`]): the next step should wait
    /// for the checkpointer (lua/retention.lua pauses longer), however short the pause between
    /// steps is otherwise.
    pub behind: bool,
}

impl<S: Storage> Service<S> {
    /// Sets how long the messages of conversation `id` are kept (one of [`RETENTION_CHOICES`]):
    /// the owner, a moderator or an admin. Returns the system message saying so (none when
    /// nothing changed) and the members. Checks: `invalid_argument` (not a choice), then
    /// `conversation_not_found`, `not_member`, `forbidden`.
    pub async fn set_retention(
        &mut self,
        actor: Actor<'_>,
        id: ConversationId,
        seconds: i64,
        now: i64,
    ) -> Result<(Option<Message>, Vec<Member>)> {
        let seconds = retention(seconds)?;
        let change = async |tx: &S::Write<'_>| {
            let Moderating { row, actor: phone, .. } = moderating(tx, id, actor).await?;
            if row.retention_seconds == seconds {
                return Ok(None);
            }
            let (alias, number) = match (phone, actor) {
                (Some(phone), Actor::Member(number)) => {
                    (tx.alias_of(id, phone).await?, number.as_str().to_owned())
                }
                _ => (None, "admin".to_owned()),
            };
            tx.set_retention(id, seconds).await?;
            let detail = seconds.to_string();
            let event = SystemEvent::Retention;
            let note =
                system_message(tx, id, phone, &number, alias.as_deref(), event, Some(&detail), now)
                    .await?;
            tx.record(|| Change::retention_changed(id, &note, seconds)).await?;
            Ok(Some(note))
        };
        let answer = async |tx: &S::Read<'_>, note: &Option<Message>| {
            Ok((note.clone(), member_list(tx, id).await?))
        };
        self.storage.write_then_read(change, answer).await
    }

    /// One step of the sweep at time `now`: from the conversation after `after`, deletes at
    /// most `batch` expired messages (see the module comment).
    pub async fn sweep_expired(&mut self, now: i64, after: i64, batch: u32) -> Result<Sweep> {
        let max_age = i64::from(self.limits.max_message_age_seconds);
        let max_count = self.limits.max_messages_per_conversation;
        let all = max_age > 0 || max_count > 0;
        self.storage
            .write(async |tx| {
                let examined = examined_per_step(max_count);
                let candidates = tx.retention_candidates(after, all, max_count, examined).await?;
                let mut sweep = Sweep {
                    deleted: 0,
                    next: 0,
                    more: candidates.len() == examined as usize,
                    conversations: Vec::new(),
                    behind: false,
                };
                let mut swept = 0;
                for candidate in &candidates {
                    let id = candidate.id;
                    let age = match (candidate.retention_seconds, max_age) {
                        (0, age) | (age, 0) => age,
                        (own, cap) => own.min(cap),
                    };
                    let old = age > 0 && candidate.oldest_at.is_some_and(|at| at < now - age);
                    if !old && !candidate.over_count {
                        // Nothing due here: no lock taken, nothing written.
                        sweep.next = id.get();
                        continue;
                    }
                    if swept == SWEPT_PER_STEP {
                        // The next step starts at this conversation.
                        sweep.more = true;
                        break;
                    }
                    swept += 1;
                    sweep.next = id.get();
                    let budget = batch.saturating_sub(sweep.deleted as u32);
                    // A conversation that sends meanwhile waits for this step (and a send's
                    // order, the conversation first, is kept: no deadlock on a shared database).
                    // What was read above is checked again under the lock.
                    tx.lock_conversation(id).await?;
                    let mut here = 0;
                    if old {
                        here += tx.delete_messages_before_time(id, now - age, budget).await?;
                    }
                    let left = budget.saturating_sub(here as u32);
                    if max_count > 0 && left > 0 {
                        if let Some(last) = tx.message_id_from_newest(id, max_count).await? {
                            here += tx.delete_messages_up_to(id, last, left).await?;
                        }
                    }
                    if here > 0 {
                        tx.refresh_last_message(id).await?;
                        sweep.conversations.push(id);
                        sweep.deleted += here;
                    }
                    if here as u32 >= budget {
                        // Out of budget: the next step starts again at this conversation.
                        sweep.next = id.get() - 1;
                        sweep.more = true;
                        break;
                    }
                }
                if !sweep.more {
                    sweep.next = 0;
                }
                Ok(sweep)
            })
            .await
            .map(|sweep| Sweep { behind: self.storage.log_behind(), ..sweep })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_reads_fewer_conversations_as_the_count_caps_walks_grow() {
        let read: Vec<u32> = [0, 64, 100, 500, 1_000_000].map(examined_per_step).to_vec();
        assert_eq!(read, [64, 64, 40, 8, 8]);
    }
}
