//! Replies: the tree of values a call answers with, which each host turns into its own values
//! (Lua tables, JSON), and how the core's results become one.

use std::borrow::Cow;
use std::ffi::CStr;

use crate::model::{
    Ban, Conversation, Listeners, Member, MembershipChange, Message, MessageData, Quote, Report,
    StaffBan, SystemEvent,
};
use crate::storage::Stats;

/// A reply value. `Null` fields of an object are left out by every host (Lua: absent key).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Null,
    Bool(bool),
    Int(i64),
    /// A number with a fraction (a location's coordinates).
    Float(f64),
    /// Borrowed when the text is fixed (a message's type, its event): no copy per message.
    Str(Cow<'static, str>),
    Array(Vec<Reply>),
    /// Keys are C strings so that a Lua host can hand them to `lua_setfield` as they are
    /// (Lua then finds the key by its address instead of hashing it per field).
    Object(Vec<(&'static CStr, Reply)>),
}

pub(super) fn str(value: impl Into<Cow<'static, str>>) -> Reply {
    Reply::Str(value.into())
}

pub(super) fn optional_str(value: Option<impl Into<Cow<'static, str>>>) -> Reply {
    value.map_or(Reply::Null, str)
}

pub(super) fn strings(list: Vec<String>) -> Reply {
    Reply::Array(list.into_iter().map(str).collect())
}

// Builders take the results by value: their strings move into the reply, uncopied.

pub(super) fn conversation(c: Conversation) -> Reply {
    Reply::Object(vec![
        (c"id", Reply::Int(c.id.get())),
        (c"name", str(c.name)),
        (c"appName", str(c.app_name)),
        (c"createdBy", Reply::Int(c.created_by.get())),
        (c"owner", str(c.owner)),
        (c"joinCode", str(c.join_code)),
        (c"createdAt", Reply::Int(c.created_at)),
        (c"updatedAt", Reply::Int(c.updated_at)),
        (c"recipients", strings(c.recipients)),
        (c"messages", messages(c.messages)),
        (c"isItRead", Reply::Bool(c.is_it_read)),
        (c"unreadCount", Reply::Int(c.unread_count)),
        (c"members", members(c.members)),
        (c"alias", optional_str(c.alias)),
        (c"isModerator", Reply::Bool(c.is_moderator)),
        (c"isMuted", Reply::Bool(c.is_muted)),
        (c"retentionSeconds", Reply::Int(c.retention_seconds)),
    ])
}

pub(super) fn members(list: Vec<Member>) -> Reply {
    Reply::Array(
        list.into_iter()
            .map(|m| {
                Reply::Object(vec![
                    (c"number", str(m.number)),
                    (c"alias", str(m.alias)),
                    (c"isOwner", Reply::Bool(m.is_owner)),
                    (c"isModerator", Reply::Bool(m.is_moderator)),
                    (c"isMuted", Reply::Bool(m.is_muted)),
                ])
            })
            .collect(),
    )
}

/// `[value, recipients, members]`: what a change answers with, the numbers to notify (as
/// before) and the members with their aliases and mutes.
pub(super) fn with_members(value: Reply, list: Vec<Member>) -> Vec<Reply> {
    let numbers = list.iter().map(|m| str(m.number.clone())).collect();
    vec![value, Reply::Array(numbers), members(list)]
}

/// `[message, recipients, muted]`: what a message's change (a send, an edit, a deletion)
/// answers with: the message, the numbers to tell (as [`with_members`]) and those among them
/// who muted the conversation.
pub(super) fn with_listeners(message: Reply, listeners: Listeners) -> Vec<Reply> {
    let strings = |list: Vec<String>| Reply::Array(list.into_iter().map(str).collect());
    vec![message, strings(listeners.numbers), strings(listeners.muted)]
}

pub(super) fn bans(list: Vec<Ban>) -> Reply {
    Reply::Array(
        list.into_iter()
            .map(|b| {
                Reply::Object(vec![
                    (c"id", Reply::Int(b.id)),
                    (c"number", str(b.number)),
                    (c"alias", str(b.alias)),
                    (c"createdAt", Reply::Int(b.created_at)),
                ])
            })
            .collect(),
    )
}

pub(super) fn conversations(list: Vec<Conversation>) -> Reply {
    Reply::Array(list.into_iter().map(conversation).collect())
}

pub(super) fn messages(list: Vec<Message>) -> Reply {
    Reply::Array(list.into_iter().map(message).collect())
}

pub(crate) fn message(m: Message) -> Reply {
    Reply::Object(vec![
        (c"id", Reply::Int(m.id.get())),
        (c"sender", optional_str(m.sender)),
        (c"senderAlias", optional_str(m.sender_alias)),
        (c"content", str(m.content)),
        (c"type", str(m.kind.as_str())),
        (c"event", optional_str(m.event.map(SystemEvent::as_str))),
        (c"createdAt", Reply::Int(m.created_at)),
        // The fields a message gained with kinds, replies, edits and deletions: absent on a
        // message that has none of them, so older messages read exactly as before.
        (c"data", m.extra.data.map_or(Reply::Null, data)),
        (c"replyTo", m.extra.reply_to.map_or(Reply::Null, quote)),
        (c"edited", flag(m.extra.edited_at.is_some())),
        (c"deleted", flag(m.extra.deleted_at.is_some())),
    ])
}

/// `true`, or absent.
fn flag(on: bool) -> Reply {
    if on {
        Reply::Bool(true)
    } else {
        Reply::Null
    }
}

fn data(d: MessageData) -> Reply {
    match d {
        MessageData::Image { url } => Reply::Object(vec![(c"url", str(url))]),
        MessageData::Location { x, y, z, label } => Reply::Object(vec![
            (c"x", Reply::Float(x)),
            (c"y", Reply::Float(y)),
            (c"z", Reply::Float(z)),
            (c"label", optional_str(label)),
        ]),
    }
}

fn quote(q: Quote) -> Reply {
    Reply::Object(vec![
        (c"id", Reply::Int(q.id.get())),
        (c"senderAlias", optional_str(q.sender_alias)),
        (c"content", str(q.content)),
        (c"type", str(q.kind.as_str())),
        (c"deleted", flag(q.deleted)),
    ])
}

pub(super) fn change(c: MembershipChange) -> Reply {
    Reply::Object(vec![
        (c"conversationId", Reply::Int(c.conversation_id.get())),
        (c"number", str(c.number)),
        (c"alias", str(c.alias)),
        (c"recipients", strings(c.recipients)),
        (c"newOwner", optional_str(c.new_owner)),
        (c"newOwnerAlias", optional_str(c.new_owner_alias)),
        (c"members", members(c.members)),
        (c"deleted", Reply::Bool(c.deleted)),
        (c"message", c.message.map_or(Reply::Null, message)),
    ])
}

pub(super) fn stats(s: Stats) -> Reply {
    Reply::Object(vec![
        (c"conversations", Reply::Int(s.conversations)),
        (c"memberships", Reply::Int(s.memberships)),
        (c"messages", Reply::Int(s.messages)),
        (c"phones", Reply::Int(s.phones)),
        (c"sizeBytes", Reply::Int(s.size_bytes)),
        (c"schemaVersion", Reply::Int(s.schema_version)),
        (c"path", optional_str(s.location)),
    ])
}

pub(super) fn staff_ban(b: StaffBan) -> Reply {
    Reply::Object(vec![
        (c"number", str(b.number)),
        (c"reason", optional_str(b.reason)),
        (c"createdAt", Reply::Int(b.created_at)),
        (c"expiresAt", b.expires_at.map_or(Reply::Null, Reply::Int)),
    ])
}

pub(super) fn report(r: Report) -> Reply {
    Reply::Object(vec![
        (c"id", Reply::Int(r.id)),
        (c"conversationId", Reply::Int(r.conversation_id.get())),
        (c"messageId", Reply::Int(r.message_id.get())),
        (c"reporter", str(r.reporter)),
        (c"reporterAlias", str(r.reporter_alias)),
        (c"sender", optional_str(r.sender)),
        (c"senderAlias", optional_str(r.sender_alias)),
        (c"content", str(r.content)),
        (c"reason", str(r.reason)),
        (c"createdAt", Reply::Int(r.created_at)),
    ])
}
