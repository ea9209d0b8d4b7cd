//! Typed ids: a conversation's, a phone's and a message's ids are all integers in the
//! database, and mixing them up (a phone id where a conversation id belongs) would compile as
//! bare `i64`s. Each is its own type here; the storage layers convert at their edge.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type! {
    /// A conversation; never reused, even after the conversation is deleted.
    ConversationId
}

id_type! {
    /// A phone number as the store keeps it: one stable id per number ever seen (the
    /// documented `createdBy`).
    PhoneId
}

id_type! {
    /// A message. Ids grow with time across all conversations, so they order messages and
    /// mark read positions; `MessageId(0)` is the position before any message.
    MessageId
}

impl MessageId {
    /// The read position of someone who has read nothing yet.
    pub const NONE: MessageId = MessageId(0);
}
