//! Every way a Darkchat operation can fail, and the stable code each failure shows callers.
//!
//! Codes are part of the public API (`{ success = false, error = "<code>" }`, `false, "<code>"`):
//! they are mapped in exactly one place, [`Error::code`], and never change once released.

use thiserror::Error;

use crate::ids::ConversationId;

/// Result of a Darkchat operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    /// A value of the wrong type or outside its range; `what` names the argument.
    #[error("invalid argument: {what}")]
    InvalidArgument { what: &'static str },

    #[error("no phone number for player source {source_id}")]
    PlayerNotFound { source_id: i64 },

    #[error("conversation {id} not found")]
    ConversationNotFound { id: ConversationId },

    #[error("no conversation has that join code")]
    NoConversationWithCode,

    #[error("{number} is already a member of conversation {id}")]
    AlreadyMember { number: String, id: ConversationId },

    #[error("{number} is not a member of conversation {id}")]
    NotMember { number: String, id: ConversationId },

    #[error("{number} is banned from conversation {id}")]
    Banned { number: String, id: ConversationId },

    #[error("{number} is not banned from conversation {id}")]
    NotBanned { number: String, id: ConversationId },

    #[error("{number} is banned from Darkchat")]
    StaffBanned { number: String },

    #[error("{number} is not banned from Darkchat")]
    NotStaffBanned { number: String },

    #[error("invalid argument: alias taken by another member")]
    AliasTaken,

    #[error("join code {code} is taken")]
    JoinCodeTaken { code: String },

    #[error("join code must be 4-16 letters or digits")]
    InvalidJoinCode,

    #[error("name must be 1-64 characters without control characters")]
    InvalidName,

    #[error("{what} must be 1-{max} characters and not blank")]
    InvalidMessage { what: &'static str, max: usize },

    #[error("too many requests; try again shortly")]
    RateLimited,

    #[error("not allowed: {reason}")]
    Forbidden { reason: &'static str },

    #[error("limit reached: {what} (at most {max})")]
    LimitReached { what: &'static str, max: u32 },

    #[error("storage error: {0}")]
    Storage(#[from] rusqlite::Error),

    /// A MySQL/MariaDB error the host reported for a statement (`errno` as the server gives it).
    #[error("database error {errno}: {message}")]
    Database { errno: u32, message: String },

    /// The database aborted the transaction to settle a race with another writer (a deadlock,
    /// a lock wait past its limit, a key taken meanwhile): the operation is run again.
    #[error("transaction lost a race with another writer: {0}")]
    Conflict(String),

    /// The database cannot be used by this build (newer schema, unreadable file, ...).
    #[error("{0}")]
    Unusable(String),

    /// An operation panicked; reported instead of unwinding into the host.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable code callers see. The only place codes are spelled.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument { .. } | Error::InvalidMessage { .. } | Error::AliasTaken => {
                "invalid_argument"
            }
            Error::PlayerNotFound { .. } => "player_not_found",
            Error::ConversationNotFound { .. } | Error::NoConversationWithCode => {
                "conversation_not_found"
            }
            Error::AlreadyMember { .. } => "already_member",
            Error::NotMember { .. } | Error::NotBanned { .. } | Error::NotStaffBanned { .. } => {
                "not_member"
            }
            Error::Banned { .. } | Error::StaffBanned { .. } => "banned",
            Error::JoinCodeTaken { .. } => "join_code_taken",
            Error::InvalidJoinCode => "invalid_join_code",
            Error::InvalidName => "invalid_name",
            Error::RateLimited => "rate_limited",
            Error::Forbidden { .. } | Error::LimitReached { .. } => "forbidden",
            Error::Storage(_)
            | Error::Database { .. }
            | Error::Conflict(_)
            | Error::Unusable(_)
            | Error::Internal(_) => "storage_error",
        }
    }

    /// Whether running the operation again on a fresh transaction may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Conflict(_))
    }

    pub(crate) fn invalid(what: &'static str) -> Self {
        Error::InvalidArgument { what }
    }
}
