//! The change log of a server network: what one server records, with each change it makes, so
//! that the other servers sharing the database can tell their own players and resources.
//!
//! A [`Change`] is written by the storage in the same transaction as the change itself
//! ([`crate::storage::Write::record`]; only MySQL/MariaDB keeps a log, SQLite ignores it), so a
//! change and its entry commit together or not at all. An entry holds the conversation (none
//! for a staff ban, which is about Darkchat as a whole; stored as 0), the kind (the name of the
//! server event lua/notify.lua fires for it) and the facts the notify layer needs beyond the
//! conversation's members, as JSON with the field names the Lua layer reads. Numbers are in
//! it: the log is read by servers only, and lua/client.lua builds what a player is sent, as for
//! a change made locally. The members are not: the reading server reads them when it reads the
//! entry (see [`ChangeBatch`]).
//!
//! Adding a kind: a constructor here, one `tx.record(|| Change::...)` line in the operation
//! of `src/service.rs` (the last statement of its write), and one line in `Network.kinds` of
//! lua/network.lua that calls the same Notify function the local action calls.

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::ids::ConversationId;
use crate::model::{Member, MembershipChange, Message, StaffBan};

/// Entries a read returns when the caller names no limit, and the most it may ask for.
pub const DEFAULT_READ: i64 = 200;
pub const MAX_READ: i64 = 1000;
/// The log's bounds when the caller names none: the newest 20000 entries, none older than an
/// hour; and the most entries one prune deletes.
pub const DEFAULT_KEEP: i64 = 20_000;
pub const DEFAULT_MAX_AGE_SECONDS: i64 = 3600;
pub const MAX_PRUNE_BATCH: i64 = 5000;

/// A server's id as the log keeps it: 1-64 ASCII letters, digits and `-_.:`.
pub fn server_id(text: &str) -> Result<String> {
    let valid = (1..=64).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if valid {
        Ok(text.to_owned())
    } else {
        Err(Error::invalid("serverId"))
    }
}

/// One change, as the log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The server event's name: `messageSent`, `memberAdded`, ...
    pub kind: &'static str,
    /// The conversation it is about; none for a change of Darkchat as a whole (a staff ban).
    pub conversation: Option<ConversationId>,
    /// The facts beyond the conversation's members (a JSON object).
    pub data: Value,
}

impl Change {
    fn new(kind: &'static str, conversation: ConversationId, data: Value) -> Self {
        Change { kind, conversation: Some(conversation), data }
    }

    /// A number banned from Darkchat by staff (every server's pushes skip it from then on).
    pub fn staff_banned(ban: &StaffBan) -> Self {
        let data = json!({
            "number": ban.number, "reason": ban.reason, "expiresAt": ban.expires_at,
        });
        Change { kind: "staffBanned", conversation: None, data }
    }

    pub fn staff_unbanned(number: &str) -> Self {
        Change { kind: "staffUnbanned", conversation: None, data: json!({ "number": number }) }
    }

    pub fn created(conversation: ConversationId, number: &str, name: &str) -> Self {
        Change::new("conversationCreated", conversation, json!({ "number": number, "name": name }))
    }

    /// `joined`: the "joined" message; `self_joined`: joined by code (the joiner has their
    /// answer: no `conversationAdded` for them).
    pub fn member_added(
        conversation: ConversationId,
        number: &str,
        joined: &Message,
        self_joined: bool,
    ) -> Self {
        Change::new(
            "memberAdded",
            conversation,
            json!({
                "number": number, "alias": joined.sender_alias.as_deref().unwrap_or_default(),
                "message": message_json(joined), "selfJoined": self_joined,
            }),
        )
    }

    pub fn member_removed(change: &MembershipChange, is_self: bool, banned: bool) -> Self {
        Change::new(
            "memberRemoved",
            change.conversation_id,
            json!({
                "number": change.number, "alias": change.alias, "isSelf": is_self,
                "banned": banned, "newOwner": change.new_owner,
                "newOwnerAlias": change.new_owner_alias, "deleted": change.deleted,
                "message": change.message.as_ref().map(message_json),
            }),
        )
    }

    pub fn message_sent(conversation: ConversationId, message: &Message) -> Self {
        Change::new("messageSent", conversation, json!({ "message": message_json(message) }))
    }

    /// `deleted_by`: the member who deleted it; none for the console.
    pub fn message_deleted(
        conversation: ConversationId,
        tombstone: &Message,
        deleted_by: Option<&str>,
    ) -> Self {
        Change::new(
            "messageDeleted",
            conversation,
            json!({ "message": message_json(tombstone), "deletedBy": deleted_by }),
        )
    }
    pub fn message_edited(conversation: ConversationId, message: &Message) -> Self {
        Change::new("messageEdited", conversation, json!({ "message": message_json(message) }))
    }
    pub fn renamed(conversation: ConversationId, message: &Message) -> Self {
        Change::new(
            "conversationRenamed",
            conversation,
            json!({ "message": message_json(message) }),
        )
    }

    /// `members`: who were members (the conversation is gone when the entry is read).
    pub fn deleted(conversation: ConversationId, members: &[String]) -> Self {
        Change::new("conversationDeleted", conversation, json!({ "members": members }))
    }

    pub fn owner_changed(conversation: ConversationId, message: &Message) -> Self {
        Change::new("ownerChanged", conversation, json!({ "message": message_json(message) }))
    }

    pub fn join_code_changed(conversation: ConversationId) -> Self {
        Change::new("joinCodeChanged", conversation, json!({}))
    }

    pub fn alias_changed(conversation: ConversationId, message: &Message) -> Self {
        Change::new("aliasChanged", conversation, json!({ "message": message_json(message) }))
    }

    pub fn moderator_changed(conversation: ConversationId, message: &Message, on: bool) -> Self {
        Change::new(
            "moderatorChanged",
            conversation,
            json!({ "message": message_json(message), "isModerator": on }),
        )
    }

    pub fn retention_changed(
        conversation: ConversationId,
        message: &Message,
        seconds: i64,
    ) -> Self {
        Change::new(
            "retentionChanged",
            conversation,
            json!({ "message": message_json(message), "retentionSeconds": seconds }),
        )
    }

    pub fn unbanned(conversation: ConversationId, number: &str) -> Self {
        Change::new("memberUnbanned", conversation, json!({ "number": number }))
    }
}

/// A message as every reply carries it (`data`, `replyTo`, `edited`, `deleted` beside the
/// common fields, only where they apply): what lua/client.lua reads on the other server too.
fn message_json(message: &Message) -> Value {
    serde_json::to_value(crate::api::reply::message(message.clone())).unwrap_or(Value::Null)
}

/// One entry of the log as a server reads it back.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedChange {
    pub id: i64,
    /// The server that made the change.
    pub server: String,
    pub kind: String,
    /// As [`Change::conversation`].
    pub conversation: Option<ConversationId>,
    /// [`Change::data`] as stored (JSON text).
    pub data: String,
    /// Unix seconds, by the database's clock.
    pub created_at: i64,
}

/// What one read of the log gives a server: the entries of other servers after its position,
/// in order, with the members of their conversations as they are now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeBatch {
    /// Where the next read starts: the last entry read (its own entries included, which are
    /// skipped), or the position it was given when there was none.
    pub position: i64,
    /// Entries of other servers, oldest first.
    pub entries: Vec<LoggedChange>,
    /// The members (longest-standing first) of each conversation an entry names that still
    /// exists.
    pub members: Vec<(ConversationId, Vec<Member>)>,
    /// Entries that were pruned before this server read them (it was away longer than the
    /// log keeps, or it is new and its position was never stored): none when it kept up.
    pub missed: i64,
    /// Whether more entries wait (the read stopped at its limit).
    pub more: bool,
}

/// The bounds of the log: entries beyond `keep` (the newest are kept) or older than
/// `max_age_seconds` are deleted, at most `batch` per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub keep: i64,
    pub max_age_seconds: i64,
    pub batch: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::MessageId;
    use crate::model::{MessageKind, SystemEvent};

    #[test]
    fn server_ids_are_short_and_plain() {
        for good in ["a", "city-1", "srv_2.eu:3", &"x".repeat(64)] {
            assert_eq!(server_id(good).unwrap(), good);
        }
        for bad in ["", "with space", "é", "a/b", "'; DROP", &"x".repeat(65)] {
            assert!(server_id(bad).is_err(), "{bad:?}");
        }
    }

    /// The data carries the fields lua/network.lua hands to the Notify functions, under the
    /// names the Lua layer reads (a message as the core answers it).
    #[test]
    fn entries_carry_what_the_notify_layer_reads() {
        let message = Message {
            id: MessageId(7),
            sender: Some("5550101".into()),
            sender_alias: Some("Night Owl".into()),
            content: "Night Owl joined".into(),
            kind: MessageKind::System,
            event: Some(SystemEvent::Joined),
            created_at: 1_700_000_000,
            extra: Default::default(),
        };
        let added = Change::member_added(ConversationId(3), "5550101", &message, true);
        assert_eq!(added.kind, "memberAdded");
        assert_eq!(added.conversation, Some(ConversationId(3)));
        assert_eq!(
            added.data,
            json!({
                "number": "5550101", "alias": "Night Owl", "selfJoined": true,
                "message": {
                    "id": 7, "sender": "5550101", "senderAlias": "Night Owl",
                    "content": "Night Owl joined", "type": "system", "event": "joined",
                    "createdAt": 1_700_000_000,
                },
            })
        );
        let sent = Change::moderator_changed(ConversationId(3), &message, false);
        assert_eq!(sent.data["isModerator"], json!(false));
        assert_eq!(
            Change::deleted(ConversationId(3), &["1".into()]).data,
            json!({ "members": ["1"] })
        );
    }
}
