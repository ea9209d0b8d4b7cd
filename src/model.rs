//! The shapes the core hands back: what a caller sees of a conversation and its messages.
//! Field names follow the documented `DarkchatConversation` (serde renames them for JSON).

use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, MessageId, PhoneId};

/// A conversation seen by one member (`is_it_read` and `unread_count` are that member's).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: ConversationId,
    pub name: String,
    pub app_name: String,
    /// Phone id of the creator (stable integer per phone number).
    pub created_by: PhoneId,
    /// Phone number of the current owner (changes when the owner leaves or hands over).
    pub owner: String,
    pub join_code: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Current members' phone numbers, longest-standing first.
    pub recipients: Vec<String>,
    /// The latest page of messages, oldest first.
    pub messages: Vec<Message>,
    pub is_it_read: bool,
    pub unread_count: i64,
    /// Every member with their alias and role, longest-standing first (empty in listings).
    pub members: Vec<Member>,
    /// The viewing member's own alias, role and mute (none for an admin's view).
    pub alias: Option<String>,
    pub is_moderator: bool,
    pub is_muted: bool,
    /// Seconds its messages are kept, as its owner set it (0: off; the server's caps apply
    /// either way).
    pub retention_seconds: i64,
}

/// A member of a conversation: the number (for the server only: what players see of each other
/// is the alias), the alias and the member's role.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub number: String,
    pub alias: String,
    pub is_owner: bool,
    pub is_moderator: bool,
    pub is_muted: bool,
}

/// Who hears of a message (sent, edited, deleted): every member's number, longest-standing
/// first, and those among them who muted the conversation. A message's answer reads only this,
/// not [`Member`]'s aliases and roles, as it runs with every message sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listeners {
    pub numbers: Vec<String>,
    pub muted: Vec<String>,
}

/// From each member's number and whether they muted, longest-standing first.
impl FromIterator<(String, bool)> for Listeners {
    fn from_iter<I: IntoIterator<Item = (String, bool)>>(members: I) -> Self {
        let mut listeners = Listeners::default();
        for (number, muted) in members {
            if muted {
                listeners.muted.push(number.clone());
            }
            listeners.numbers.push(number);
        }
        listeners
    }
}

/// A number banned from a conversation, as its owner's ban list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ban {
    /// Names this ban within its conversation (what a player unbans by).
    pub id: i64,
    pub number: String,
    /// The alias the member had when banned.
    pub alias: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Text,
    System,
    /// A picture: its https URL is in [`MessageData::Image`].
    Image,
    /// A map pin: its coordinates are in [`MessageData::Location`].
    Location,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::System => "system",
            MessageKind::Image => "image",
            MessageKind::Location => "location",
        }
    }

    /// The stored form back (the schema allows only these four).
    pub fn parse(stored: &str) -> Self {
        match stored {
            "system" => MessageKind::System,
            "image" => MessageKind::Image,
            "location" => MessageKind::Location,
            _ => MessageKind::Text,
        }
    }
}

/// The fields of a message that are not text: an image's URL, a location's coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageData {
    Image { url: String },
    Location { x: f64, y: f64, z: f64, label: Option<String> },
}

/// The quote a reply carries of the message it answers, stored with the reply when it is
/// written: it reads the same after the original is edited. When the original is deleted its
/// text goes from every quote too (`content` empty, `deleted` true): deleted text is kept
/// nowhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    pub id: MessageId,
    /// The original's sender's alias when it was written.
    pub sender_alias: Option<String>,
    /// The original's first [`QUOTE_CHARS`] characters (empty for an image or a location).
    pub content: String,
    #[serde(rename = "type")]
    pub kind: MessageKind,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// Characters of the original a quote keeps.
pub const QUOTE_CHARS: usize = 80;

/// What a message carries besides the columns every message has, stored as one JSON text
/// (`extra`; NULL for a plain message, as every message written before these existed is).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extra {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<MessageData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Quote>,
    /// When the sender last edited it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    /// When it was deleted (the message is then a tombstone: no content, no data, no quote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<i64>,
}

impl Extra {
    /// The stored JSON, or `None` when there is nothing to store.
    pub fn to_stored(&self) -> Option<String> {
        if *self == Extra::default() {
            return None;
        }
        serde_json::to_string(self).ok()
    }

    /// The stored JSON back; a text this build cannot read counts as nothing (it is only ever
    /// written by [`Extra::to_stored`]).
    pub fn from_stored(stored: Option<&str>) -> Self {
        stored.and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
    }
}

/// What a system message records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemEvent {
    Joined,
    Left,
    Removed,
    Renamed,
    Owner,
    /// A member changed alias.
    Alias,
    /// A member was made a moderator, or stopped being one.
    Moderator,
    /// The conversation's retention changed (its detail: the new one in seconds, 0 for off).
    Retention,
}

impl SystemEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemEvent::Joined => "joined",
            SystemEvent::Left => "left",
            SystemEvent::Removed => "removed",
            SystemEvent::Renamed => "renamed",
            SystemEvent::Owner => "owner",
            SystemEvent::Alias => "alias",
            SystemEvent::Moderator => "moderator",
            SystemEvent::Retention => "retention",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "joined" => SystemEvent::Joined,
            "left" => SystemEvent::Left,
            "removed" => SystemEvent::Removed,
            "renamed" => SystemEvent::Renamed,
            "owner" => SystemEvent::Owner,
            "alias" => SystemEvent::Alias,
            "moderator" => SystemEvent::Moderator,
            "retention" => SystemEvent::Retention,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: MessageId,
    /// Author of a text message; subject of a system message (who joined, left, ...).
    pub sender: Option<String>,
    /// The sender's (or subject's) alias when the message was written.
    pub sender_alias: Option<String>,
    pub content: String,
    #[serde(rename = "type")]
    pub kind: MessageKind,
    /// For system messages: what happened.
    pub event: Option<SystemEvent>,
    pub created_at: i64,
    /// Kind-specific fields, the quote of the message answered, edit and deletion marks.
    pub extra: Extra,
}

/// What a membership change did, for the caller to notify the members concerned.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipChange {
    pub conversation_id: ConversationId,
    pub number: String,
    /// The alias of the member who came or went.
    pub alias: String,
    /// Members after the change, longest-standing first (empty when the conversation was deleted).
    pub recipients: Vec<String>,
    /// Set when ownership passed to someone else because of this change.
    pub new_owner: Option<String>,
    pub new_owner_alias: Option<String>,
    /// Members after the change with their aliases and roles (empty when deleted).
    pub members: Vec<Member>,
    /// True when the last member left and the conversation was deleted.
    pub deleted: bool,
    /// The system message recorded, when the conversation still exists.
    pub message: Option<Message>,
}

/// A number banned from Darkchat by staff (`darkchat ban`): while in force, joining or being
/// added answers `banned` and anything else the number does `forbidden`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaffBan {
    pub number: String,
    pub reason: Option<String>,
    pub created_at: i64,
    /// When the ban ends (unix seconds); `None`: until lifted.
    pub expires_at: Option<i64>,
}

/// A member's report of a message, with the message as it was when reported. Numbers are for
/// staff and server scripts only.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub id: i64,
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub reporter: String,
    pub reporter_alias: String,
    pub sender: Option<String>,
    pub sender_alias: Option<String>,
    pub content: String,
    pub reason: String,
    pub created_at: i64,
}
