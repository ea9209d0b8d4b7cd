//! Staff tools and reports: staff bans (a number kept out of Darkchat entirely), a
//! conversation's history for moderation, and members' reports of messages. Rules of the
//! same [`Service`], kept apart from the members' operations.

use std::borrow::Cow;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use super::{existing, member_of_existing, Service};
use crate::changes::Change;
use crate::error::{Error, Result};
use crate::ids::{ConversationId, MessageId};
use crate::input::PhoneNumber;
use crate::model::{Message, MessageKind, Report, StaffBan};
use crate::storage::{both, Read, Storage, Write};

/// Most characters in a staff ban's or a report's reason.
pub const MAX_NOTE_CHARS: usize = 200;
/// The longest staff ban with an end: ten years (longer is `permanent`).
const MAX_DURATION_SECONDS: i64 = 10 * 365 * 86_400;

/// A report as a member makes it.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub reporter: PhoneNumber,
    pub id: ConversationId,
    pub message: MessageId,
    pub reason: String,
}

/// A reason (a ban's, a report's): trimmed, 1..=[`MAX_NOTE_CHARS`] characters, no control
/// characters but newline and tab.
pub fn note(raw: &str, what: &'static str) -> Result<String> {
    if raw.len() > MAX_NOTE_CHARS * 4 {
        return Err(Error::invalid(what));
    }
    let text = raw.trim();
    let chars = text.chars().count();
    if chars == 0
        || chars > MAX_NOTE_CHARS
        || text.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::invalid(what));
    }
    Ok(text.to_owned())
}

/// A staff ban's length in seconds from the console's words: `30m`, `12h`, `7d`, `2w`, `90s`
/// (a positive whole number and a unit, up to ten years), or `permanent` (`None`).
pub fn duration(text: &str) -> Result<Option<i64>> {
    let invalid = || Error::invalid("duration");
    let text = text.trim();
    if text.eq_ignore_ascii_case("permanent") {
        return Ok(None);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
    let (digits, unit) = text.split_at(split);
    let unit = match unit.to_ascii_lowercase().as_str() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(invalid()),
    };
    let count: i64 = digits.parse().map_err(|_| invalid())?;
    seconds(count.checked_mul(unit).ok_or_else(invalid)?).map(Some)
}

/// A staff ban's length given in seconds: 1 up to ten years.
pub fn seconds(n: i64) -> Result<i64> {
    if (1..=MAX_DURATION_SECONDS).contains(&n) {
        Ok(n)
    } else {
        Err(Error::invalid("duration"))
    }
}

/// What a staff ban in force (`banned`) means for an act of `number`: `banned` for a join or an
/// add (`joining`), `forbidden` for anything else the number does.
pub(super) fn verdict(banned: bool, number: &PhoneNumber, joining: bool) -> Result<()> {
    match banned {
        false => Ok(()),
        true if joining => Err(Error::StaffBanned { number: number.as_str().to_owned() }),
        true => Err(Error::Forbidden { reason: "the number is banned from Darkchat" }),
    }
}

impl<S: Storage> Service<S> {
    /// Passes unless `number` is banned by staff at `now` (see [`verdict`]), asked on its own:
    /// for a call that never reached the storage (most calls make the check beside their
    /// first statements, see [`super::staff_gate`]).
    pub async fn check_staff_ban(
        &self,
        number: &PhoneNumber,
        joining: bool,
        now: i64,
    ) -> Result<()> {
        let ban = self.storage.read(async |tx| tx.staff_ban(number.as_str(), now).await).await?;
        verdict(ban.is_some(), number, joining)
    }

    /// Bans `number` from Darkchat, for `seconds` (`None`: until lifted), replacing a ban it
    /// had. Bans that ended are deleted first; a new ban beyond `max_staff_bans` in force is
    /// `forbidden`.
    pub async fn staff_ban(
        &mut self,
        number: &PhoneNumber,
        seconds: Option<i64>,
        reason: Option<&str>,
        now: i64,
    ) -> Result<StaffBan> {
        let reason = reason.map(|r| note(r, "reason")).transpose()?;
        let max = self.limits.max_staff_bans;
        let ban = StaffBan {
            number: number.as_str().to_owned(),
            reason,
            created_at: now,
            expires_at: seconds.map(|s| now.saturating_add(s)),
        };
        self.storage
            .write(async |tx| {
                tx.delete_expired_staff_bans(now).await?;
                let (held, count) =
                    both(tx.staff_ban(number.as_str(), now), tx.count_staff_bans(now)).await;
                if held?.is_none() && count? >= i64::from(max) {
                    return Err(Error::LimitReached { what: "staff bans", max });
                }
                tx.delete_staff_ban(number.as_str()).await?;
                tx.insert_staff_ban(&ban).await?;
                tx.record(|| Change::staff_banned(&ban)).await?;
                Ok(ban.clone())
            })
            .await
    }

    /// Lifts `number`'s staff ban; `not_member` when none is in force.
    pub async fn staff_unban(&mut self, number: &PhoneNumber, now: i64) -> Result<StaffBan> {
        self.storage
            .write(async |tx| {
                let Some(ban) = tx.staff_ban(number.as_str(), now).await? else {
                    return Err(Error::NotStaffBanned { number: number.as_str().to_owned() });
                };
                tx.delete_staff_ban(number.as_str()).await?;
                tx.record(|| Change::staff_unbanned(number.as_str())).await?;
                Ok(ban)
            })
            .await
    }

    /// Which of `numbers` are banned by staff at `now` (in their order): pushes skip them. The
    /// lookups go out together (one batch on MySQL).
    pub async fn staff_banned(&self, numbers: &[PhoneNumber], now: i64) -> Result<Vec<String>> {
        self.storage
            .read(async |tx| {
                let lookups = numbers.iter().map(|n| tx.staff_ban(n.as_str(), now)).collect();
                let mut banned = Vec::new();
                for (number, ban) in numbers.iter().zip(all(lookups).await) {
                    if ban?.is_some() {
                        banned.push(number.as_str().to_owned());
                    }
                }
                Ok(banned)
            })
            .await
    }

    /// The staff bans in force at `now`, newest first, at most `limit`.
    pub async fn staff_bans(&self, now: i64, limit: u32) -> Result<Vec<StaffBan>> {
        self.storage.read(async |tx| tx.staff_bans(now, limit).await).await
    }

    /// A conversation's latest `limit` messages (clamped to the largest page), oldest first,
    /// with their senders' numbers and aliases: for staff, who need not be members.
    pub async fn history(&self, id: ConversationId, limit: u32) -> Result<Vec<Message>> {
        let limit = limit.clamp(1, self.limits.max_page_size);
        self.storage
            .read(async |tx| {
                let (row, page) = both(existing(tx, id), tx.messages_before(id, None, limit)).await;
                row?;
                page
            })
            .await
    }

    /// A member reports a message of a conversation they are in: kept with the message as it
    /// is now (content, sender's number and alias), the reporter's number and alias, and the
    /// reason. Refused: a message not in that conversation (`invalid_argument`), a system
    /// message, one's own message, or one reported before by the same member (`forbidden`).
    /// When `max_reports` are kept the oldest go.
    pub async fn report(&mut self, request: &ReportRequest, now: i64) -> Result<Report> {
        let ReportRequest { reporter, id, message, reason } = request;
        let (id, message) = (*id, *message);
        let reason = note(reason, "reason")?;
        let max = i64::from(self.limits.max_reports);
        self.storage
            .write(async |tx| {
                tx.lock_conversation(id).await?;
                let phone = member_of_existing(tx, id, reporter).await?;
                let ((found, alias), (already, count)) = both(
                    both(tx.message(id, message), tx.alias_of(id, phone)),
                    both(tx.reported(message, reporter.as_str()), tx.count_reports()),
                )
                .await;
                let found = found?.ok_or(Error::invalid("messageId"))?.message;
                if found.kind == MessageKind::System {
                    return Err(Error::Forbidden { reason: "system messages cannot be reported" });
                }
                if found.extra.deleted_at.is_some() {
                    return Err(Error::Forbidden { reason: "the message was deleted" });
                }
                if found.sender.as_deref() == Some(reporter.as_str()) {
                    return Err(Error::Forbidden { reason: "one's own message" });
                }
                if already? {
                    return Err(Error::Forbidden { reason: "already reported" });
                }
                let count = count?;
                if count >= max {
                    tx.delete_oldest_reports(count - max + 1).await?;
                }
                let mut report = Report {
                    id: 0,
                    conversation_id: id,
                    message_id: message,
                    reporter: reporter.as_str().to_owned(),
                    reporter_alias: alias?.unwrap_or_default(),
                    sender: found.sender,
                    sender_alias: found.sender_alias,
                    content: found.content,
                    reason: reason.clone(),
                    created_at: now,
                };
                report.id = tx.insert_report(&report).await?;
                Ok(report)
            })
            .await
    }

    /// The reports kept, newest first, at most `limit`.
    pub async fn reports(&self, limit: u32) -> Result<Vec<Report>> {
        self.storage.read(async |tx| tx.reports(limit).await).await
    }

    /// Deletes report `id` (staff dealt with it); `invalid_argument` when there is none.
    pub async fn dismiss_report(&mut self, id: i64) -> Result<Report> {
        self.storage
            .write(async |tx| {
                let report = tx.report(id).await?.ok_or(Error::invalid("reportId"))?;
                tx.delete_report(id).await?;
                Ok(report)
            })
            .await
    }

    /// `forbidden` when a name, a join code or an alias holds a filtered word.
    pub(super) fn filter_names(&self, texts: &[Option<&str>]) -> Result<()> {
        let filter = &self.limits.filter;
        if filter.is_empty() {
            return Ok(());
        }
        texts.iter().flatten().try_for_each(|text| filter.name(text))
    }

    /// A message's content as stored: the filter's mask applied, or `forbidden`.
    pub(super) fn filtered_content(&self, content: String) -> Result<String> {
        let masked = match self.limits.filter.message(&content)? {
            Cow::Borrowed(_) => None,
            Cow::Owned(masked) => Some(masked),
        };
        Ok(masked.unwrap_or(content))
    }
}

/// Every future's value, all polled side by side (as [`crate::storage::both`] does for two):
/// on MySQL the statements they start go out in one batch.
async fn all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future ended")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30m").unwrap(), Some(1800));
        assert_eq!(duration("12h").unwrap(), Some(43_200));
        assert_eq!(duration("7D").unwrap(), Some(604_800));
        assert_eq!(duration("2w").unwrap(), Some(1_209_600));
        assert_eq!(duration("90s").unwrap(), Some(90));
        assert_eq!(duration("Permanent").unwrap(), None);
        // Ten years is the longest with an end; one second the shortest.
        assert_eq!(duration("3650d").unwrap(), Some(315_360_000));
        assert_eq!(seconds(315_360_000).unwrap(), 315_360_000);
        assert_eq!(seconds(1).unwrap(), 1);
        for bad in [0, -1, 315_360_001] {
            assert_eq!(seconds(bad).unwrap_err().to_string(), "invalid argument: duration");
        }
        for bad in
            ["", "m", "30", "0m", "-5m", "5x", "5 m", "1.5h", "99999999999999999999d", "3651d"]
        {
            assert_eq!(
                duration(bad).unwrap_err().to_string(),
                "invalid argument: duration",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn notes() {
        assert_eq!(note("  spam \n ads ", "reason").unwrap(), "spam \n ads");
        for bad in ["", "  ", "a\u{7}b", &"x".repeat(MAX_NOTE_CHARS + 1)] {
            assert_eq!(note(bad, "reason").unwrap_err().to_string(), "invalid argument: reason");
        }
        assert!(note(&"é".repeat(MAX_NOTE_CHARS), "reason").is_ok());
        // The longest reason in bytes (four-byte characters) passes the byte bound ...
        let widest = "😀".repeat(MAX_NOTE_CHARS);
        assert_eq!(note(&widest, "reason").unwrap(), widest);
        // ... which refuses anything longer before reading it, however short it is trimmed.
        let padded = format!("spam{}", " ".repeat(MAX_NOTE_CHARS * 4));
        assert_eq!(note(&padded, "reason").unwrap_err().to_string(), "invalid argument: reason");
    }
}
