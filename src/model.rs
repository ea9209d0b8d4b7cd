//! The shapes the core hands back: what a caller sees of a conversation and its messages.
//! Field names follow the documented `DarkchatConversation` (serde renames them for JSON).

use serde::Serialize;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Text,
    System,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::System => "system",
        }
    }

    /// The stored form back (the schema allows only these two).
    pub fn parse(stored: &str) -> Self {
        if stored == "system" {
            MessageKind::System
        } else {
            MessageKind::Text
        }
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
}

impl SystemEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemEvent::Joined => "joined",
            SystemEvent::Left => "left",
            SystemEvent::Removed => "removed",
            SystemEvent::Renamed => "renamed",
            SystemEvent::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "joined" => SystemEvent::Joined,
            "left" => SystemEvent::Left,
            "removed" => SystemEvent::Removed,
            "renamed" => SystemEvent::Renamed,
            "owner" => SystemEvent::Owner,
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
    pub content: String,
    #[serde(rename = "type")]
    pub kind: MessageKind,
    /// For system messages: what happened.
    pub event: Option<SystemEvent>,
    pub created_at: i64,
}

/// What a membership change did, for the caller to notify the members concerned.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipChange {
    pub conversation_id: ConversationId,
    pub number: String,
    /// Members after the change, longest-standing first (empty when the conversation was deleted).
    pub recipients: Vec<String>,
    /// Set when ownership passed to someone else because of this change.
    pub new_owner: Option<String>,
    /// True when the last member left and the conversation was deleted.
    pub deleted: bool,
    /// The system message recorded, when the conversation still exists.
    pub message: Option<Message>,
}
