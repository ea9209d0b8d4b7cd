//! The change log of a server network on MySQL/MariaDB (see [`crate::changes`]): written with
//! each change, read by the other servers, pruned in small batches.
//!
//! Tables (`migrations/mysql/0005_change_log.sql`): `darkchat_changes` (the entries),
//! `darkchat_change_head` (one row: the last id handed out) and `darkchat_servers` (where each
//! server has read up to).
//!
//! Ids are gapless and in commit order. An entry takes its id from the head row
//! (`UPDATE ... SET last_id = LAST_INSERT_ID(last_id + 1)`), which it holds until its
//! transaction ends: a second writer waits for the first to commit (or roll back, which gives
//! the id back) before it gets the next. So what a reader sees is always every entry up to
//! some id and none after it: reading "after my position, in id order" never skips an entry
//! that commits later, and an id missing before the first one read can only mean the entry
//! was pruned. Both statements are only queued ([`Link::defer`]): they go out in the batch
//! that ends with the COMMIT, so the head row is held for the time the database takes to run
//! that batch, not for a round trip.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::link::{Link, Shared, Value};
use crate::changes::{Change, ChangeBatch, LoggedChange, Retention};
use crate::error::{Error, Result};
use crate::ids::ConversationId;
use crate::model::Member;
use crate::storage::both;

/// Queues `change` as the log entry of the transaction in flight, by the server the link's
/// operation runs for ([`Link::origin`]); nothing when none is set (a core opened without a
/// server id) or while rehearsing (a rehearsal keeps nothing).
pub fn record(link: &Shared, change: impl FnOnce() -> Change) {
    let server = {
        let l = link.borrow();
        match (&l.origin, l.rehearsing) {
            (Some(server), false) => std::rc::Rc::clone(server),
            _ => return,
        }
    };
    let change = change();
    Link::defer(
        link,
        "UPDATE darkchat_change_head SET last_id = LAST_INSERT_ID(last_id + 1) WHERE one = 1",
        vec![],
    );
    Link::defer(
        link,
        "INSERT INTO darkchat_changes (id, server_id, kind, conversation_id, data, created_at) \
         VALUES (LAST_INSERT_ID(), ?, ?, ?, ?, UNIX_TIMESTAMP())",
        vec![
            Value::Text(server.to_string()),
            change.kind.into(),
            // 0 for none: conversation ids start at 1.
            change.conversation.map_or(0, ConversationId::get).into(),
            Value::Text(change.data.to_string()),
        ],
    );
}

/// Stores `position` as where `server` has read up to (queued: it commits with the
/// transaction).
pub fn save_position(link: &Shared, server: &str, position: i64) {
    Link::defer(
        link,
        "INSERT INTO darkchat_servers (server_id, position, seen_at) \
         VALUES (?, ?, UNIX_TIMESTAMP()) \
         ON DUPLICATE KEY UPDATE position = VALUES(position), seen_at = VALUES(seen_at)",
        vec![server.into(), position.into()],
    );
}

/// Where `server` had read up to when it last read the log (none for a server never seen).
pub async fn stored_position(link: &Shared, server: &str) -> Result<Option<i64>> {
    let rows = Link::rows(
        link,
        "SELECT position FROM darkchat_servers WHERE server_id = ?",
        vec![server.into()],
    )
    .await?;
    rows.into_iter().next().and_then(|row| row.into_iter().next()).map(int).transpose()
}

/// The last id handed out.
pub async fn head(link: &Shared) -> Result<i64> {
    let rows =
        Link::rows(link, "SELECT last_id FROM darkchat_change_head WHERE one = 1", vec![]).await?;
    match rows.into_iter().next().and_then(|row| row.into_iter().next()) {
        Some(value) => int(value),
        None => Err(Error::Internal("the change log has no head row".into())),
    }
}

/// Reads the entries after `position` (at most `limit`) for `server`: see [`ChangeBatch`].
pub async fn read(link: &Shared, server: &str, position: i64, limit: u32) -> Result<ChangeBatch> {
    // The head first: every entry up to it is committed, so an empty read below it means
    // pruned entries, not entries still on their way.
    let (head, rows) = both(
        head(link),
        Link::rows(
            link,
            "SELECT id, server_id, kind, conversation_id, data, created_at FROM darkchat_changes \
             WHERE id > ? ORDER BY id LIMIT ?",
            vec![position.into(), (limit + 1).into()],
        ),
    )
    .await;
    let (head, rows) = (head?, rows?);
    // A database restored from an older copy: start again from where its log ends.
    let position = position.min(head);
    let mut entries = rows
        .into_iter()
        .map(|row| {
            let mut c = row.into_iter();
            let mut next = || c.next().ok_or_else(|| Error::Internal("a short change row".into()));
            Ok(LoggedChange {
                id: int(next()?)?,
                server: text(next()?)?,
                kind: text(next()?)?,
                conversation: match int(next()?)? {
                    0 => None,
                    id => Some(ConversationId(id)),
                },
                data: text(next()?)?,
                created_at: int(next()?)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    let (missed, next_position) = match (entries.first(), entries.last()) {
        (Some(first), Some(last)) => (first.id - position - 1, last.id),
        _ => (head - position, head),
    };
    entries.retain(|e| e.server != server);
    let members = members_of(link, &entries).await?;
    Ok(ChangeBatch { position: next_position, entries, members, missed, more })
}

/// The members of the conversations `entries` name, as [`ChangeBatch::members`].
async fn members_of(
    link: &Shared,
    entries: &[LoggedChange],
) -> Result<Vec<(ConversationId, Vec<Member>)>> {
    let ids: Vec<i64> = {
        let mut ids: Vec<i64> =
            entries.iter().filter_map(|e| e.conversation.map(ConversationId::get)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // One placeholder per id: the text holds no value.
    let sql = format!(
        "SELECT m.conversation_id, p.number, m.alias, m.phone_id = c.owner_id, m.is_moderator, \
         m.muted FROM darkchat_members m JOIN darkchat_phones p ON p.id = m.phone_id \
         JOIN darkchat_conversations c ON c.id = m.conversation_id \
         WHERE m.conversation_id IN ({}) ORDER BY m.conversation_id, m.id",
        vec!["?"; ids.len()].join(", ")
    );
    let params = ids.iter().map(|&id| id.into()).collect();
    let rows = match Link::run(link, Cow::Owned(sql), params).await? {
        super::link::Outcome::Rows { rows } => rows,
        _ => return Err(Error::Internal("no rows from the members of the change log".into())),
    };
    let mut by_conversation: BTreeMap<i64, Vec<Member>> = BTreeMap::new();
    for row in rows {
        let mut c = row.into_iter();
        let mut next = || c.next().ok_or_else(|| Error::Internal("a short member row".into()));
        let id = int(next()?)?;
        let member = Member {
            number: text(next()?)?,
            alias: text(next()?)?,
            is_owner: int(next()?)? != 0,
            is_moderator: int(next()?)? != 0,
            is_muted: int(next()?)? != 0,
        };
        by_conversation.entry(id).or_default().push(member);
    }
    Ok(by_conversation.into_iter().map(|(id, list)| (ConversationId(id), list)).collect())
}

/// Deletes at most `retention.batch` of the oldest entries beyond the bounds; returns how
/// many. Both bounds are turned into one id (everything up to it goes), so the log is always
/// cut from its old end and stays gapless above the cut.
pub async fn prune(link: &Shared, retention: Retention) -> Result<i64> {
    let (head, young) = both(
        head(link),
        Link::rows(
            link,
            "SELECT id FROM darkchat_changes WHERE created_at >= UNIX_TIMESTAMP() - ? \
             ORDER BY created_at, id LIMIT 1",
            vec![retention.max_age_seconds.into()],
        ),
    )
    .await;
    let head = head?;
    let first_young = match young?.into_iter().next().and_then(|row| row.into_iter().next()) {
        Some(id) => int(id)?,
        None => head + 1,
    };
    let up_to = (head - retention.keep).max(first_young - 1);
    if up_to <= 0 {
        return Ok(0);
    }
    match Link::run(
        link,
        "DELETE FROM darkchat_changes WHERE id <= ? ORDER BY id LIMIT ?",
        vec![up_to.into(), retention.batch.into()],
    )
    .await?
    {
        super::link::Outcome::Done { affected, .. } => Ok(affected),
        _ => Ok(0),
    }
}

fn int(value: Value) -> Result<i64> {
    match value {
        Value::Int(n) => Ok(n),
        Value::Text(s) => s.parse().map_err(|_| Error::Internal(format!("not an integer: {s}"))),
        Value::Float(f) if f.fract() == 0.0 => Ok(f as i64),
        other => Err(Error::Internal(format!("expected an integer, got {other:?}"))),
    }
}

fn text(value: Value) -> Result<String> {
    match value {
        Value::Text(s) => Ok(s),
        Value::Int(n) => Ok(n.to_string()),
        other => Err(Error::Internal(format!("expected text, got {other:?}"))),
    }
}
