//! The one dispatch of the core's methods, shared by every host (the Lua module, the wasm
//! module on SQLite or MySQL): a method name and its arguments as a host sees them ([`Arg`]) →
//! a validated [`Request`] → a call of the rules → a reply tree ([`Reply`]) that each host turns
//! into its own values (Lua tables, JSON).
//!
//! Why here and not in each binding: the rules of which argument is what, in which order they
//! are checked and what each method returns must be spelled once, so that both hosts give the
//! same answer to the same call, error codes included. A binding only converts values.
//!
//! - [`args`]: host values → validated inputs;
//! - [`reply`]: results → reply trees;
//! - [`wire`]: the JSON form of both, for the wasm host.
//!
//! Never reads the clock or the OS: `now` comes from the host with every call.

mod args;
pub mod msgpack;
pub(crate) mod reply;
mod wire;

pub use args::{integer, max_arg_bytes, short_string, text, Arg};
pub use reply::Reply;
pub use wire::{arg_from_json, limits_from_json, outcome_to_json, WireOutcome};

use crate::changes::{self, ChangeBatch, Retention};
use crate::darkchat::Darkchat;
use crate::error::{Error, Result};
use crate::filter::{Filter, FilterMode};
use crate::ids::{ConversationId, MessageId};
use crate::import;
use crate::input::{self, Alias, ConversationName, JoinCode, PhoneNumber};
use crate::service::{retention, staff, Actor, Body, Limits, ReportRequest, Service, StaffCheck};
use crate::storage::{run_inline, Read, Storage, Write};
use crate::transfer::{self, Cell, Table};

/// `[[table, n], ...]` in [`transfer::TABLES`] order (an array: a JSON object's key order is
/// not kept on every path to the host).
fn pairs_reply<'t>(pairs: impl Iterator<Item = (&'t Table, i64)>) -> Reply {
    Reply::Array(
        pairs.map(|(t, n)| Reply::Array(vec![reply::str(t.name), Reply::Int(n)])).collect(),
    )
}

fn cell(value: Cell) -> Reply {
    match value {
        Cell::Null => Reply::Null,
        Cell::Int(n) => Reply::Int(n),
        Cell::Text(s) => reply::str(s),
    }
}

/// Every method a host can call, by the name hosts use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Create,
    Add,
    Remove,
    Join,
    Send,
    Conversation,
    List,
    Messages,
    MarkRead,
    Rename,
    RegenerateCode,
    Delete,
    Transfer,
    Kick,
    Unban,
    Bans,
    SetModerator,
    SetAlias,
    SetMuted,
    Members,
    MemberByAlias,
    StandaloneNumber,
    CheckSource,
    CheckNumber,
    Stats,
    IntegrityCheck,
    Rehearse,
    ExportRows,
    ImportRows,
    TableCounts,
    Sequences,
    RaiseSequence,
    DeleteAllRows,
    SendImage,
    SendLocation,
    DeleteMessage,
    EditMessage,
    StaffBan,
    StaffUnban,
    StaffBans,
    History,
    Report,
    Reports,
    DismissReport,
    StaffBanned,
    Changes,
    PruneChanges,
    ImportConversation,
    SetRetention,
    SweepExpired,
}

impl Method {
    pub const ALL: [Method; 50] = [
        Method::Create,
        Method::Add,
        Method::Remove,
        Method::Join,
        Method::Send,
        Method::Conversation,
        Method::List,
        Method::Messages,
        Method::MarkRead,
        Method::Rename,
        Method::RegenerateCode,
        Method::Delete,
        Method::Transfer,
        Method::Kick,
        Method::Unban,
        Method::Bans,
        Method::SetModerator,
        Method::SetAlias,
        Method::SetMuted,
        Method::Members,
        Method::MemberByAlias,
        Method::StandaloneNumber,
        Method::CheckSource,
        Method::CheckNumber,
        Method::Stats,
        Method::IntegrityCheck,
        Method::Rehearse,
        Method::ExportRows,
        Method::ImportRows,
        Method::TableCounts,
        Method::Sequences,
        Method::RaiseSequence,
        Method::DeleteAllRows,
        Method::SendImage,
        Method::SendLocation,
        Method::DeleteMessage,
        Method::EditMessage,
        Method::StaffBan,
        Method::StaffUnban,
        Method::StaffBans,
        Method::History,
        Method::Report,
        Method::Reports,
        Method::DismissReport,
        Method::StaffBanned,
        Method::Changes,
        Method::PruneChanges,
        Method::ImportConversation,
        Method::SetRetention,
        Method::SweepExpired,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Create => "create",
            Method::Add => "add",
            Method::Remove => "remove",
            Method::Join => "join",
            Method::Send => "send",
            Method::Conversation => "conversation",
            Method::List => "list",
            Method::Messages => "messages",
            Method::MarkRead => "markRead",
            Method::Rename => "rename",
            Method::RegenerateCode => "regenerateCode",
            Method::Delete => "delete",
            Method::Transfer => "transfer",
            Method::Kick => "kick",
            Method::Unban => "unban",
            Method::Bans => "bans",
            Method::SetModerator => "setModerator",
            Method::SetAlias => "setAlias",
            Method::SetMuted => "setMuted",
            Method::Members => "members",
            Method::MemberByAlias => "memberByAlias",
            Method::StandaloneNumber => "standaloneNumber",
            Method::CheckSource => "checkSource",
            Method::CheckNumber => "checkNumber",
            Method::Stats => "stats",
            Method::IntegrityCheck => "integrityCheck",
            Method::Rehearse => "rehearse",
            Method::ExportRows => "exportRows",
            Method::ImportRows => "importRows",
            Method::TableCounts => "tableCounts",
            Method::Sequences => "sequences",
            Method::RaiseSequence => "raiseSequence",
            Method::DeleteAllRows => "deleteAllRows",
            Method::SendImage => "sendImage",
            Method::SendLocation => "sendLocation",
            Method::DeleteMessage => "deleteMessage",
            Method::EditMessage => "editMessage",
            Method::StaffBan => "staffBan",
            Method::StaffUnban => "staffUnban",
            Method::StaffBans => "staffBans",
            Method::History => "history",
            Method::Report => "report",
            Method::Reports => "reports",
            Method::DismissReport => "dismissReport",
            Method::StaffBanned => "staffBanned",
            Method::Changes => "changes",
            Method::PruneChanges => "pruneChanges",
            Method::ImportConversation => "importConversation",
            Method::SetRetention => "setRetention",
            Method::SweepExpired => "sweepExpired",
        }
    }

    /// The method a host named; `invalid_argument` for an unknown name.
    pub fn parse(name: &str) -> Result<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name).ok_or(Error::invalid("method"))
    }
}

/// A call with its arguments validated: everything the rules need, owned (a MySQL call keeps
/// it across the statements it waits for). `actor`/`viewer` `None` is a server admin.
#[derive(Debug, Clone)]
pub enum Request {
    Create {
        creator: PhoneNumber,
        name: ConversationName,
        code: Option<JoinCode>,
        alias: Option<Alias>,
    },
    Add {
        number: PhoneNumber,
        id: ConversationId,
        alias: Option<Alias>,
    },
    Remove {
        number: PhoneNumber,
        id: ConversationId,
        is_self: bool,
    },
    Join {
        number: PhoneNumber,
        code: JoinCode,
        alias: Option<Alias>,
    },
    Send {
        number: PhoneNumber,
        id: ConversationId,
        text: String,
        reply_to: Option<MessageId>,
    },
    SendImage {
        number: PhoneNumber,
        id: ConversationId,
        url: String,
        reply_to: Option<MessageId>,
    },
    SendLocation {
        number: PhoneNumber,
        id: ConversationId,
        x: f64,
        y: f64,
        z: f64,
        label: Option<String>,
        reply_to: Option<MessageId>,
    },
    /// `actor` `None` is a server admin (the console's `purge`).
    DeleteMessage {
        actor: Option<PhoneNumber>,
        id: ConversationId,
        message: MessageId,
    },
    EditMessage {
        number: PhoneNumber,
        id: ConversationId,
        message: MessageId,
        text: String,
    },
    Conversation {
        viewer: Option<PhoneNumber>,
        id: ConversationId,
    },
    List {
        viewer: Option<PhoneNumber>,
    },
    Messages {
        number: PhoneNumber,
        id: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    },
    MarkRead {
        number: PhoneNumber,
        id: ConversationId,
        up_to: Option<MessageId>,
    },
    Rename {
        actor: Option<PhoneNumber>,
        id: ConversationId,
        name: ConversationName,
    },
    RegenerateCode {
        actor: Option<PhoneNumber>,
        id: ConversationId,
    },
    Delete {
        actor: Option<PhoneNumber>,
        id: ConversationId,
    },
    Transfer {
        actor: Option<PhoneNumber>,
        id: ConversationId,
        to: PhoneNumber,
    },
    /// `ban` is true unless the caller passed `false`.
    Kick {
        actor: Option<PhoneNumber>,
        id: ConversationId,
        number: PhoneNumber,
        ban: bool,
    },
    Unban {
        actor: Option<PhoneNumber>,
        id: ConversationId,
        number: PhoneNumber,
    },
    Bans {
        actor: Option<PhoneNumber>,
        id: ConversationId,
    },
    SetModerator {
        actor: Option<PhoneNumber>,
        id: ConversationId,
        number: PhoneNumber,
        on: bool,
    },
    SetAlias {
        number: PhoneNumber,
        id: ConversationId,
        alias: Alias,
    },
    SetMuted {
        number: PhoneNumber,
        id: ConversationId,
        on: bool,
    },
    Members {
        viewer: Option<PhoneNumber>,
        id: ConversationId,
    },
    MemberByAlias {
        viewer: PhoneNumber,
        id: ConversationId,
        alias: Alias,
    },
    StandaloneNumber {
        license: String,
    },
    CheckSource {
        src: i64,
    },
    CheckNumber {
        number: PhoneNumber,
    },
    Stats,
    IntegrityCheck,
    /// `create`, `join`, a send of any kind or an edit run in full and rolled back: the same answer as the real
    /// call, nothing stored (what veto hooks are shown; see [`Storage::set_rehearsing`]).
    Rehearse(Box<Request>),
    // Moving a whole store between storages (`darkchat migrate-storage`, run by js/host.js for
    // the server console; the Lua actions behind players' requests never name these):
    /// Up to `limit` rows of `table` after the key `after`, in key order.
    ExportRows {
        table: &'static Table,
        after: Option<Cell>,
        limit: u32,
    },
    /// Rows inserted with their keys, in one write transaction.
    ImportRows {
        table: &'static Table,
        rows: Vec<Vec<Cell>>,
    },
    /// Rows per table.
    TableCounts,
    /// The AUTOINCREMENT tables' high-water marks.
    Sequences,
    RaiseSequence {
        table: &'static Table,
        high_water: u64,
    },
    /// Every row of every copied table deleted (undoes a move into an empty store).
    DeleteAllRows,
    // Staff tools (the server console, server scripts) and members' reports:
    /// `seconds` `None`: until lifted.
    StaffBan {
        number: PhoneNumber,
        seconds: Option<i64>,
        reason: Option<String>,
    },
    StaffUnban {
        number: PhoneNumber,
    },
    StaffBans {
        limit: u32,
    },
    /// A conversation's latest messages with numbers and aliases (staff, no membership).
    History {
        id: ConversationId,
        limit: u32,
    },
    Report(ReportRequest),
    Reports {
        limit: u32,
    },
    DismissReport {
        id: i64,
    },
    /// Which of these numbers are banned by staff now (who gets no pushes).
    StaffBanned {
        numbers: Vec<PhoneNumber>,
    },
    // The change log of a server network (MySQL; lua/network.lua polls it):
    /// Stores `after` as where `server` has read up to, reads the other servers' entries
    /// after it (at most `limit`).
    Changes {
        server: String,
        after: Option<i64>,
        limit: u32,
    },
    /// Deletes one batch of the entries beyond the bounds.
    PruneChanges(Retention),
    /// How long a conversation keeps its messages (`seconds` one of the retention choices).
    SetRetention {
        actor: Option<PhoneNumber>,
        id: ConversationId,
        seconds: i64,
    },
    /// One step of the sweep of expired messages (lua/retention.lua's timer), from the
    /// conversation after `after`, deleting at most `batch`.
    SweepExpired {
        after: i64,
        batch: u32,
    },
    /// One channel of another phone's dark chat imported as a conversation (`darkchat import`,
    /// run by js/host.js for the server console); with `dry_run`, rolled back.
    ImportConversation {
        peer: import::Peer,
        channel: Box<import::Channel>,
        dry_run: bool,
    },
}

impl Request {
    /// Validates `args` for `method` (missing ones are `Nil`, extra ones ignored), in the order
    /// callers see the errors: each argument in turn.
    pub fn decode(method: Method, args: &[Arg], limits: &Limits) -> Result<Request> {
        use args::*;
        let arg = |i: usize| args.get(i).unwrap_or(&Arg::Nil);
        Ok(match method {
            Method::Create => Request::Create {
                creator: phone_number(arg(0))?,
                name: conversation_name(arg(1))?,
                code: optional_join_code(arg(2))?,
                alias: optional_alias(arg(3))?,
            },
            Method::Add => Request::Add {
                number: phone_number(arg(0))?,
                id: conversation_id(arg(1))?,
                alias: optional_alias(arg(2))?,
            },
            Method::Remove => Request::Remove {
                number: phone_number(arg(0))?,
                id: conversation_id(arg(1))?,
                is_self: flag(arg(2), "isSelf")?,
            },
            Method::Join => Request::Join {
                number: phone_number(arg(0))?,
                code: join_code(arg(1))?,
                alias: optional_alias(arg(2))?,
            },
            Method::Send => Request::Send {
                number: phone_number(arg(0))?,
                id: conversation_id(arg(1))?,
                text: message_text(arg(2), limits)?.to_owned(),
                reply_to: optional_message_id(arg(3), "replyTo")?,
            },
            Method::SendImage => Request::SendImage {
                number: phone_number(arg(0))?,
                id: conversation_id(arg(1))?,
                url: short_string(arg(2), "url")?.to_owned(),
                reply_to: optional_message_id(arg(3), "replyTo")?,
            },
            Method::SendLocation => Request::SendLocation {
                number: phone_number(arg(0))?,
                id: conversation_id(arg(1))?,
                x: real(arg(2), "x")?,
                y: real(arg(3), "y")?,
                z: real(arg(4), "z")?,
                label: match arg(5) {
                    Arg::Nil => None,
                    other => Some(short_string(other, "label")?.to_owned()),
                },
                reply_to: optional_message_id(arg(6), "replyTo")?,
            },
            Method::DeleteMessage => Request::DeleteMessage {
                actor: optional_number(arg(0))?,
                id: conversation_id(arg(1))?,
                message: message_id(arg(2), "messageId")?,
            },
            Method::EditMessage => Request::EditMessage {
                number: phone_number(arg(0))?,
                id: conversation_id(arg(1))?,
                message: message_id(arg(2), "messageId")?,
                text: message_text(arg(3), limits)?.to_owned(),
            },
            Method::Conversation => {
                let id = conversation_id(arg(1))?;
                Request::Conversation { viewer: optional_number(arg(0))?, id }
            }
            Method::List => Request::List { viewer: optional_number(arg(0))? },
            Method::Messages => {
                let number = phone_number(arg(0))?;
                let id = conversation_id(arg(1))?;
                let before = optional_message_id(arg(2), "before")?;
                let limit = match arg(3) {
                    Arg::Nil => limits.page_size,
                    other => u32::try_from(integer(other, "limit")?)
                        .map_err(|_| Error::invalid("limit"))?,
                };
                if limit == 0 {
                    return Err(Error::invalid("limit"));
                }
                Request::Messages { number, id, before, limit }
            }
            Method::MarkRead => Request::MarkRead {
                number: phone_number(arg(0))?,
                id: conversation_id(arg(1))?,
                up_to: optional_message_id(arg(2), "messageId")?,
            },
            Method::Rename => Request::Rename {
                actor: optional_number(arg(0))?,
                id: conversation_id(arg(1))?,
                name: conversation_name(arg(2))?,
            },
            Method::RegenerateCode => Request::RegenerateCode {
                actor: optional_number(arg(0))?,
                id: conversation_id(arg(1))?,
            },
            Method::Delete => {
                Request::Delete { actor: optional_number(arg(0))?, id: conversation_id(arg(1))? }
            }
            Method::Transfer => Request::Transfer {
                actor: optional_number(arg(0))?,
                id: conversation_id(arg(1))?,
                to: phone_number(arg(2))?,
            },
            Method::Kick => Request::Kick {
                actor: optional_number(arg(0))?,
                id: conversation_id(arg(1))?,
                number: phone_number(arg(2))?,
                ban: flag_or(arg(3), "ban", true)?,
            },
            Method::Unban => Request::Unban {
                actor: optional_number(arg(0))?,
                id: conversation_id(arg(1))?,
                number: phone_number(arg(2))?,
            },
            Method::Bans => {
                Request::Bans { actor: optional_number(arg(0))?, id: conversation_id(arg(1))? }
            }
            Method::SetModerator => Request::SetModerator {
                actor: optional_number(arg(0))?,
                id: conversation_id(arg(1))?,
                number: phone_number(arg(2))?,
                on: flag_or(arg(3), "isModerator", true)?,
            },
            Method::SetAlias => Request::SetAlias {
                number: phone_number(arg(0))?,
                id: conversation_id(arg(1))?,
                alias: alias(arg(2))?,
            },
            Method::SetMuted => Request::SetMuted {
                number: phone_number(arg(0))?,
                id: conversation_id(arg(1))?,
                on: flag_or(arg(2), "muted", true)?,
            },
            Method::Members => {
                Request::Members { viewer: optional_number(arg(0))?, id: conversation_id(arg(1))? }
            }
            Method::MemberByAlias => Request::MemberByAlias {
                viewer: phone_number(arg(0))?,
                id: conversation_id(arg(1))?,
                alias: alias(arg(2))?,
            },
            Method::StandaloneNumber => {
                Request::StandaloneNumber { license: short_string(arg(0), "license")?.to_owned() }
            }
            Method::CheckSource => {
                Request::CheckSource { src: input::player_source(integer(arg(0), "src")?)? }
            }
            Method::CheckNumber => Request::CheckNumber { number: phone_number(arg(0))? },
            Method::Stats => Request::Stats,
            Method::IntegrityCheck => Request::IntegrityCheck,
            Method::Rehearse => {
                let action = match short_string(arg(0), "action")? {
                    "create" => Method::Create,
                    "join" => Method::Join,
                    "send" => Method::Send,
                    "sendImage" => Method::SendImage,
                    "sendLocation" => Method::SendLocation,
                    "editMessage" => Method::EditMessage,
                    _ => return Err(Error::invalid("action")),
                };
                let rest = args.get(1..).unwrap_or_default();
                Request::Rehearse(Box::new(Request::decode(action, rest, limits)?))
            }
            Method::ExportRows => {
                let table = transfer::table(short_string(arg(0), "table")?)?;
                let after = match (arg(1), table.columns[0].1) {
                    (Arg::Nil, _) => None,
                    (Arg::Int(n), transfer::Kind::Int) => Some(Cell::Int(*n)),
                    (Arg::Str(s), transfer::Kind::Text) => Some(Cell::Text(s.clone())),
                    _ => return Err(Error::invalid("afterKey")),
                };
                let limit = match integer(arg(2), "limit")? {
                    n @ 1.. if n <= i64::from(transfer::MAX_PAGE) => n as u32,
                    _ => return Err(Error::invalid("limit")),
                };
                Request::ExportRows { table, after, limit }
            }
            Method::ImportRows => {
                let table = transfer::table(short_string(arg(0), "table")?)?;
                let Arg::Str(json) = arg(1) else { return Err(Error::invalid("rows")) };
                Request::ImportRows { table, rows: transfer::rows_from_json(table, json)? }
            }
            Method::TableCounts => Request::TableCounts,
            Method::Sequences => Request::Sequences,
            Method::RaiseSequence => {
                let table = transfer::table(short_string(arg(0), "table")?)?;
                if !table.sequence {
                    return Err(Error::invalid("table"));
                }
                let high_water = u64::try_from(integer(arg(1), "highWater")?)
                    .map_err(|_| Error::invalid("highWater"))?;
                Request::RaiseSequence { table, high_water }
            }
            Method::DeleteAllRows => Request::DeleteAllRows,
            Method::StaffBan => Request::StaffBan {
                number: phone_number(arg(0))?,
                seconds: match arg(1) {
                    Arg::Nil => None,
                    Arg::Str(_) | Arg::Unreadable => {
                        staff::duration(short_string(arg(1), "duration")?)?
                    }
                    other => Some(staff::seconds(integer(other, "duration")?)?),
                },
                reason: match arg(2) {
                    Arg::Nil => None,
                    other => Some(short_string(other, "reason")?.to_owned()),
                },
            },
            Method::StaffUnban => Request::StaffUnban { number: phone_number(arg(0))? },
            Method::StaffBans => Request::StaffBans { limit: list_limit(arg(0), 100, 1000)? },
            Method::History => Request::History {
                id: conversation_id(arg(0))?,
                limit: list_limit(arg(1), limits.page_size, limits.max_page_size)?,
            },
            Method::Report => Request::Report(ReportRequest {
                reporter: phone_number(arg(0))?,
                id: conversation_id(arg(1))?,
                message: optional_message_id(arg(2), "messageId")?
                    .ok_or(Error::invalid("messageId"))?,
                reason: short_string(arg(3), "reason")?.to_owned(),
            }),
            Method::Reports => Request::Reports { limit: list_limit(arg(0), 20, 1000)? },
            Method::DismissReport => Request::DismissReport {
                id: match integer(arg(0), "reportId")? {
                    id @ 1.. => id,
                    _ => return Err(Error::invalid("reportId")),
                },
            },
            Method::StaffBanned => {
                if args.len() > MAX_NUMBERS_ASKED {
                    return Err(Error::invalid("numbers"));
                }
                Request::StaffBanned {
                    numbers: args.iter().map(phone_number).collect::<Result<_>>()?,
                }
            }
            Method::Changes => Request::Changes {
                server: changes::server_id(short_string(arg(0), "serverId")?)?,
                after: match arg(1) {
                    Arg::Nil => None,
                    other => match integer(other, "after")? {
                        n @ 0.. => Some(n),
                        _ => return Err(Error::invalid("after")),
                    },
                },
                limit: bounded(arg(2), "limit", 1, changes::MAX_READ, changes::DEFAULT_READ)?
                    as u32,
            },
            Method::PruneChanges => Request::PruneChanges(Retention {
                keep: bounded(arg(0), "keep", 1, i64::MAX, changes::DEFAULT_KEEP)?,
                max_age_seconds: bounded(
                    arg(1),
                    "maxAgeSeconds",
                    1,
                    i64::MAX,
                    changes::DEFAULT_MAX_AGE_SECONDS,
                )?,
                batch: bounded(arg(2), "batch", 1, changes::MAX_PRUNE_BATCH, 500)? as u32,
            }),
            Method::SetRetention => Request::SetRetention {
                actor: optional_number(arg(0))?,
                id: conversation_id(arg(1))?,
                seconds: retention::retention(integer(arg(2), "retentionSeconds")?)?,
            },
            Method::SweepExpired => Request::SweepExpired {
                after: bounded(arg(0), "after", 0, i64::MAX, 0)?,
                batch: bounded(
                    arg(1),
                    "batch",
                    1,
                    retention::MAX_SWEEP_BATCH,
                    retention::DEFAULT_SWEEP_BATCH,
                )? as u32,
            },
            Method::ImportConversation => {
                let peer = import::Peer::parse(short_string(arg(0), "peer")?)?;
                let Arg::Str(json) = arg(1) else { return Err(Error::invalid("channel")) };
                let channel = Box::new(import::channel_from_json(json)?);
                Request::ImportConversation { peer, channel, dry_run: flag(arg(2), "dryRun")? }
            }
        })
    }

    /// The number acting in this call, if a member's (not an admin's, not a script's subject),
    /// and whether it is joining (a join or an add): what a staff ban is checked against.
    /// Every variant is named, so that a new method must say whose act it is.
    fn acting_member(&self) -> Option<(&PhoneNumber, bool)> {
        match self {
            Request::Add { number, .. } | Request::Join { number, .. } => Some((number, true)),
            Request::Create { creator: number, .. }
            | Request::Remove { number, is_self: true, .. }
            | Request::Send { number, .. }
            | Request::SendImage { number, .. }
            | Request::SendLocation { number, .. }
            | Request::EditMessage { number, .. }
            | Request::DeleteMessage { actor: Some(number), .. }
            | Request::Messages { number, .. }
            | Request::MarkRead { number, .. }
            | Request::SetAlias { number, .. }
            | Request::SetMuted { number, .. }
            | Request::MemberByAlias { viewer: number, .. }
            | Request::Report(ReportRequest { reporter: number, .. })
            | Request::Conversation { viewer: Some(number), .. }
            | Request::List { viewer: Some(number) }
            | Request::Members { viewer: Some(number), .. }
            | Request::Rename { actor: Some(number), .. }
            | Request::RegenerateCode { actor: Some(number), .. }
            | Request::Delete { actor: Some(number), .. }
            | Request::Transfer { actor: Some(number), .. }
            | Request::Kick { actor: Some(number), .. }
            | Request::Unban { actor: Some(number), .. }
            | Request::Bans { actor: Some(number), .. }
            | Request::SetModerator { actor: Some(number), .. }
            | Request::SetRetention { actor: Some(number), .. } => Some((number, false)),
            Request::Remove { is_self: false, .. }
            | Request::DeleteMessage { actor: None, .. }
            | Request::Conversation { viewer: None, .. }
            | Request::List { viewer: None }
            | Request::Members { viewer: None, .. }
            | Request::Rename { actor: None, .. }
            | Request::RegenerateCode { actor: None, .. }
            | Request::Delete { actor: None, .. }
            | Request::Transfer { actor: None, .. }
            | Request::Kick { actor: None, .. }
            | Request::Unban { actor: None, .. }
            | Request::Bans { actor: None, .. }
            | Request::SetModerator { actor: None, .. }
            | Request::SetRetention { actor: None, .. }
            | Request::SweepExpired { .. }
            | Request::StandaloneNumber { .. }
            | Request::CheckSource { .. }
            | Request::CheckNumber { .. }
            | Request::Stats
            | Request::IntegrityCheck
            | Request::Rehearse(_)
            | Request::ExportRows { .. }
            | Request::ImportRows { .. }
            | Request::TableCounts
            | Request::Sequences
            | Request::RaiseSequence { .. }
            | Request::DeleteAllRows
            | Request::StaffBan { .. }
            | Request::StaffUnban { .. }
            | Request::StaffBans { .. }
            | Request::History { .. }
            | Request::Reports { .. }
            | Request::DismissReport { .. }
            | Request::StaffBanned { .. }
            | Request::Changes { .. }
            | Request::PruneChanges(_)
            | Request::ImportConversation { .. } => None,
        }
    }

    /// The answer when it needs no storage (a pure check), else `None`.
    pub fn answer_without_storage(&self) -> Option<Vec<Reply>> {
        match self {
            Request::CheckSource { src } => Some(vec![Reply::Int(*src)]),
            Request::CheckNumber { number } => Some(vec![reply::str(number.as_str().to_owned())]),
            _ => None,
        }
    }
}

/// Runs `request` on the rules at time `now` (unix seconds); returns the method's values.
pub async fn execute<S: Storage>(
    service: &mut Service<S>,
    request: Request,
    now: i64,
) -> Result<Vec<Reply>> {
    // Every call says whether it is a rehearsal, so that none is left on by a call that
    // ended early (an error, a panic caught by the host).
    let (request, rehearsal) = match request {
        Request::Rehearse(action) => (*action, true),
        other => (other, false),
    };
    service.set_rehearsing(rehearsal);
    if let Some(answer) = request.answer_without_storage() {
        return Ok(answer);
    }
    // Always set, so that none is left over from a call that ended early.
    let check = request.acting_member().map(|(number, joining)| StaffCheck {
        number: number.clone(),
        joining,
        now,
    });
    service.hold_staff_check(check);
    let outcome = run(service, request, now).await;
    service.finish_staff_check().await?;
    outcome
}

/// [`execute`]'s work: the method's values.
async fn run<S: Storage>(
    service: &mut Service<S>,
    request: Request,
    now: i64,
) -> Result<Vec<Reply>> {
    use reply::*;
    Ok(match request {
        Request::Create { creator, name, code, alias } => {
            let (code, alias) = (code.as_ref(), alias.as_ref());
            vec![conversation(
                service.create_conversation(&creator, &name, code, alias, now).await?,
            )]
        }
        Request::Add { number, id, alias } => {
            vec![change(service.add_member(&number, id, alias.as_ref(), now).await?)]
        }
        Request::Remove { number, id, is_self } => {
            vec![change(service.remove_member(&number, id, is_self, now).await?)]
        }
        Request::Join { number, code, alias } => {
            let (conv, joined) = service.join_by_code(&number, &code, alias.as_ref(), now).await?;
            vec![conversation(conv), change(joined)]
        }
        Request::Send { number, id, text, reply_to } => {
            let (sent, listeners) =
                service.send(&number, id, Body::Text(&text), reply_to, now).await?;
            with_listeners(message(sent), listeners)
        }
        Request::SendImage { number, id, url, reply_to } => {
            let (sent, listeners) =
                service.send(&number, id, Body::Image(&url), reply_to, now).await?;
            with_listeners(message(sent), listeners)
        }
        Request::SendLocation { number, id, x, y, z, label, reply_to } => {
            let body = Body::Location { x, y, z, label: label.as_deref() };
            let (sent, listeners) = service.send(&number, id, body, reply_to, now).await?;
            with_listeners(message(sent), listeners)
        }
        Request::DeleteMessage { actor, id, message: target } => {
            let (tombstone, listeners) =
                service.delete_message(as_actor(&actor), id, target, now).await?;
            with_listeners(message(tombstone), listeners)
        }
        Request::EditMessage { number, id, message: target, text } => {
            let (edited, listeners) = service.edit_message(&number, id, target, &text, now).await?;
            with_listeners(message(edited), listeners)
        }
        Request::Conversation { viewer: None, id } => {
            vec![conversation(service.conversation_for_admin(id).await?)]
        }
        Request::Conversation { viewer: Some(number), id } => {
            vec![conversation(service.conversation(&number, id).await?)]
        }
        Request::List { viewer: None } => {
            let limit = service.limits().max_list;
            vec![conversations(service.all_conversations(limit).await?)]
        }
        Request::List { viewer: Some(number) } => {
            vec![conversations(service.conversations_of(&number).await?)]
        }
        Request::Messages { number, id, before, limit } => {
            vec![messages(service.messages_before(&number, id, before, limit).await?)]
        }
        Request::MarkRead { number, id, up_to } => {
            service.mark_read(&number, id, up_to).await?;
            vec![]
        }
        Request::Rename { actor, id, name } => {
            let (note, members) = service.rename(as_actor(&actor), id, &name, now).await?;
            with_members(message(note), members)
        }
        Request::RegenerateCode { actor, id } => {
            vec![str(service.regenerate_code(as_actor(&actor), id).await?)]
        }
        Request::Delete { actor, id } => vec![strings(service.delete(as_actor(&actor), id).await?)],
        Request::Transfer { actor, id, to } => {
            let (note, members) =
                service.transfer_ownership(as_actor(&actor), id, &to, now).await?;
            with_members(message(note), members)
        }
        Request::Kick { actor, id, number, ban } => {
            vec![change(service.kick(as_actor(&actor), id, &number, ban, now).await?)]
        }
        Request::Unban { actor, id, number } => {
            service.unban(as_actor(&actor), id, &number).await?;
            vec![]
        }
        Request::Bans { actor, id } => vec![bans(service.bans(as_actor(&actor), id).await?)],
        Request::SetModerator { actor, id, number, on } => {
            let (note, members) =
                service.set_moderator(as_actor(&actor), id, &number, on, now).await?;
            with_members(note.map_or(Reply::Null, message), members)
        }
        Request::SetAlias { number, id, alias } => {
            let (note, members) = service.set_alias(&number, id, &alias, now).await?;
            with_members(message(note), members)
        }
        Request::SetMuted { number, id, on } => {
            service.set_muted(&number, id, on).await?;
            vec![]
        }
        Request::Members { viewer, id } => {
            vec![members(service.members(viewer.as_ref(), id).await?)]
        }
        Request::MemberByAlias { viewer, id, alias } => {
            vec![str(service.member_by_alias(&viewer, id, &alias).await?)]
        }
        Request::StandaloneNumber { license } => {
            vec![str(service.standalone_number(&license, now).await?)]
        }
        Request::Stats => vec![stats(service.stats().await?)],
        Request::IntegrityCheck => vec![str(service.integrity_check().await?)],
        Request::ExportRows { table, after, limit } => {
            let rows = service
                .storage()
                .read(async |tx| tx.export_rows(table, after.as_ref(), limit).await)
                .await?;
            vec![Reply::Array(
                rows.into_iter()
                    .map(|row| Reply::Array(row.into_iter().map(cell).collect()))
                    .collect(),
            )]
        }
        Request::ImportRows { table, rows } => {
            service.storage_mut().write(async |tx| tx.import_rows(table, &rows).await).await?;
            vec![Reply::Int(rows.len() as i64)]
        }
        Request::TableCounts => {
            let counts = service.storage().read(async |tx| tx.table_counts().await).await?;
            let pairs = transfer::TABLES.iter().zip(counts);
            vec![pairs_reply(pairs)]
        }
        Request::Sequences => {
            let marks = service.storage().read(async |tx| tx.sequences().await).await?;
            vec![pairs_reply(marks.into_iter().map(|(t, n)| (t, n as i64)))]
        }
        Request::RaiseSequence { table, high_water } => {
            service
                .storage_mut()
                .write(async |tx| tx.raise_sequence(table, high_water).await)
                .await?;
            vec![]
        }
        Request::DeleteAllRows => {
            service.storage_mut().write(async |tx| tx.delete_all_rows().await).await?;
            vec![]
        }
        Request::StaffBan { number, seconds, reason } => {
            vec![staff_ban(service.staff_ban(&number, seconds, reason.as_deref(), now).await?)]
        }
        Request::StaffUnban { number } => vec![staff_ban(service.staff_unban(&number, now).await?)],
        Request::StaffBans { limit } => {
            vec![Reply::Array(
                service.staff_bans(now, limit).await?.into_iter().map(staff_ban).collect(),
            )]
        }
        Request::History { id, limit } => vec![messages(service.history(id, limit).await?)],
        Request::Report(request) => vec![report(service.report(&request, now).await?)],
        Request::Reports { limit } => {
            vec![Reply::Array(service.reports(limit).await?.into_iter().map(report).collect())]
        }
        Request::DismissReport { id } => vec![report(service.dismiss_report(id).await?)],
        Request::StaffBanned { numbers } => {
            vec![strings(service.staff_banned(&numbers, now).await?)]
        }
        Request::Changes { server, after, limit } => {
            vec![change_batch(service.changes(&server, after, limit).await?)]
        }
        Request::PruneChanges(retention) => {
            vec![Reply::Int(service.prune_changes(retention).await?)]
        }
        Request::SetRetention { actor, id, seconds } => {
            let (note, members) = service.set_retention(as_actor(&actor), id, seconds, now).await?;
            with_members(note.map_or(Reply::Null, message), members)
        }
        Request::SweepExpired { after, batch } => {
            let sweep = service.sweep_expired(now, after, batch).await?;
            let ids = sweep.conversations.iter().map(|id| Reply::Int(id.get())).collect();
            vec![Reply::Object(vec![
                (c"deleted", Reply::Int(sweep.deleted)),
                (c"next", Reply::Int(sweep.next)),
                (c"more", Reply::Bool(sweep.more)),
                (c"behind", Reply::Bool(sweep.behind)),
                (c"conversations", Reply::Array(ids)),
            ])]
        }
        Request::ImportConversation { peer, channel, dry_run } => {
            vec![import_outcome(service.import_channel(peer, &channel, dry_run, now).await?)]
        }
        Request::CheckSource { .. } | Request::CheckNumber { .. } => unreachable!("answered above"),
        Request::Rehearse(_) => unreachable!("unwrapped above (a rehearsal holds one action)"),
    })
}

/// An integer argument in `min..=max`; `default` when absent.
fn bounded(value: &Arg, what: &'static str, min: i64, max: i64, default: i64) -> Result<i64> {
    match value {
        Arg::Nil => Ok(default),
        other => match integer(other, what)? {
            n if (min..=max).contains(&n) => Ok(n),
            _ => Err(Error::invalid(what)),
        },
    }
}

/// A read of the change log: `{ position, missed, more, entries = { { id, server, kind,
/// conversationId, data (JSON text), createdAt } }, conversations = { { id, members } } }`.
fn change_batch(batch: ChangeBatch) -> Reply {
    let entries = batch
        .entries
        .into_iter()
        .map(|e| {
            let mut fields = vec![
                (c"id", Reply::Int(e.id)),
                (c"server", reply::str(e.server)),
                (c"kind", reply::str(e.kind)),
                (c"data", reply::str(e.data)),
                (c"createdAt", Reply::Int(e.created_at)),
            ];
            if let Some(id) = e.conversation {
                fields.push((c"conversationId", Reply::Int(id.get())));
            }
            Reply::Object(fields)
        })
        .collect();
    let conversations = batch
        .members
        .into_iter()
        .map(|(id, list)| {
            Reply::Object(vec![(c"id", Reply::Int(id.get())), (c"members", reply::members(list))])
        })
        .collect();
    Reply::Object(vec![
        (c"position", Reply::Int(batch.position)),
        (c"missed", Reply::Int(batch.missed)),
        (c"more", Reply::Bool(batch.more)),
        (c"entries", Reply::Array(entries)),
        (c"conversations", Reply::Array(conversations)),
    ])
}

/// Runs `method` with `args` on a core over the embedded SQLite store, at time `now`.
pub fn call(core: &mut Darkchat, method: &str, args: &[Arg], now: i64) -> Result<Vec<Reply>> {
    let request = Request::decode(Method::parse(method)?, args, core.limits())?;
    run_inline(execute(core.service(), request, now))
}

/// Limits from the host's open options: `get(key)` gives each key's value (`Nil` = default).
pub fn limits(get: impl Fn(&'static str) -> Arg) -> Result<Limits> {
    let mut limits = Limits::default();
    let read = |key: &'static str, into: &mut u32| -> Result<()> {
        match get(key) {
            Arg::Nil => Ok(()),
            Arg::Int(n) if (1..=1_000_000).contains(&n) => {
                *into = n as u32;
                Ok(())
            }
            _ => Err(Error::invalid(key)),
        }
    };
    let mut message_chars = limits.max_message_chars as u32;
    read("maxMembers", &mut limits.max_members)?;
    read("maxConversationsPerNumber", &mut limits.max_conversations_per_number)?;
    read("maxMessageLength", &mut message_chars)?;
    read("pageSize", &mut limits.page_size)?;
    read("maxPageSize", &mut limits.max_page_size)?;
    read("maxList", &mut limits.max_list)?;
    read("maxBans", &mut limits.max_bans)?;
    read("editWindowSeconds", &mut limits.edit_window_seconds)?;
    read("maxStaffBans", &mut limits.max_staff_bans)?;
    read("maxReports", &mut limits.max_reports)?;
    // The sweep's caps: 0 (or absent) is off.
    let cap = |key: &'static str, max: i64, into: &mut u32| -> Result<()> {
        match get(key) {
            Arg::Nil => Ok(()),
            Arg::Int(n) if (0..=max).contains(&n) => {
                *into = n as u32;
                Ok(())
            }
            _ => Err(Error::invalid(key)),
        }
    };
    cap("maxMessageAgeSeconds", 10 * 365 * 86_400, &mut limits.max_message_age_seconds)?;
    cap("maxMessagesPerConversation", 1_000_000, &mut limits.max_messages_per_conversation)?;
    limits.max_message_chars = message_chars as usize;
    match get("imageHosts") {
        Arg::Nil => {}
        Arg::Str(list) => {
            // Host names separated by commas or spaces (lua/core.lua joins the configured list).
            limits.image_hosts = list
                .split([',', ' '])
                .filter(|h| !h.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
        }
        _ => return Err(Error::invalid("imageHosts")),
    }
    Ok(limits)
}

/// The word filter from the host's open options (`Config.Filter`): `words` a list of strings
/// (`None`: no list), `mode` `"refuse"` or `"mask"` (`Nil`: refuse).
pub fn filter(words: Option<Vec<Arg>>, mode: &Arg) -> Result<Filter> {
    let mode = match mode {
        Arg::Nil => FilterMode::Refuse,
        other => FilterMode::parse(short_string(other, "filter mode")?)?,
    };
    let words = words.unwrap_or_default();
    if words.len() > crate::filter::MAX_WORDS {
        return Err(Error::invalid("filter words"));
    }
    let words =
        words.iter().map(|w| short_string(w, "filter word")).collect::<Result<Vec<&str>>>()?;
    Filter::new(&words, mode)
}

/// Most numbers one `staffBanned` call asks about (a conversation's online members).
const MAX_NUMBERS_ASKED: usize = 1000;

/// A listing's length: `default` when absent, else 1..=`max`.
fn list_limit(value: &Arg, default: u32, max: u32) -> Result<u32> {
    match value {
        Arg::Nil => Ok(default),
        other => match integer(other, "limit")? {
            n @ 1.. if n <= i64::from(max) => Ok(n as u32),
            _ => Err(Error::invalid("limit")),
        },
    }
}

/// What importing one channel did, for js/host.js's report.
fn import_outcome(o: import::Outcome) -> Reply {
    let id = |id: Option<ConversationId>| id.map_or(Reply::Null, |id| Reply::Int(id.get()));
    Reply::Object(vec![
        (c"conversationId", id(o.conversation)),
        (c"alreadyImported", id(o.already)),
        (c"name", reply::str(o.name)),
        (c"joinCode", reply::optional_str(o.join_code)),
        (c"codeKept", Reply::Bool(o.code_kept)),
        (c"members", Reply::Int(o.members as i64)),
        (c"messages", Reply::Int(o.messages as i64)),
        (c"skippedMembers", Reply::Int(o.skipped_members as i64)),
        (c"skippedMessages", Reply::Int(o.skipped_messages as i64)),
        (c"lines", reply::strings(o.lines)),
    ])
}

fn as_actor(number: &Option<PhoneNumber>) -> Actor<'_> {
    number.as_ref().map_or(Actor::Admin, Actor::Member)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::Limits;

    fn core() -> Darkchat {
        Darkchat::new(Store::open_in_memory().unwrap(), Limits::default(), [1; 32])
    }

    #[test]
    fn wire_arguments_keep_their_types() {
        let arg = |s: &str| arg_from_json(&serde_json::from_str(s).unwrap());
        assert_eq!(arg("3"), Arg::Int(3));
        assert_eq!(arg("3.0"), Arg::Float(3.0));
        assert_eq!(arg(r#"{"f":"3"}"#), Arg::Float(3.0));
        assert!(matches!(arg(r#"{"f":"nan"}"#), Arg::Float(f) if f.is_nan()));
        assert_eq!(arg(r#"{"f":"-inf"}"#), Arg::Float(f64::NEG_INFINITY));
        assert_eq!(arg(r#"{"b":7}"#), Arg::Unreadable);
        assert_eq!(arg(r#"{"o":"table"}"#), Arg::Other);
        assert_eq!(arg("null"), Arg::Nil);
        assert_eq!(arg(r#""x""#), Arg::Str("x".into()));
    }

    #[test]
    fn unreadable_strings_are_invalid_wherever_a_string_goes() {
        let mut dc = core();
        let err = call(&mut dc, "create", &[Arg::Unreadable, Arg::Str("x".into())], 1).unwrap_err();
        assert_eq!(
            (err.code(), err.to_string().as_str()),
            ("invalid_argument", "invalid argument: number")
        );
        let err = call(&mut dc, "create", &[Arg::Int(5), Arg::Unreadable], 1).unwrap_err();
        assert_eq!(err.to_string(), "invalid argument: name");
        assert!(call(&mut dc, "nope", &[], 1).is_err());
    }

    #[test]
    fn a_rehearsal_answers_as_the_call_would_and_stores_nothing() {
        let mut dc = core();
        let s = |text: &str| Arg::Str(text.into());
        let count = |dc: &mut Darkchat| {
            let stats = call(dc, "stats", &[], 1).unwrap();
            let Reply::Object(fields) = &stats[0] else { panic!("stats") };
            fields.iter().find(|(key, _)| *key == c"messages").map(|(_, v)| v.clone()).unwrap()
        };
        let created = call(&mut dc, "create", &[s("5550101"), s("Crew")], 1).unwrap();
        let Reply::Object(fields) = &created[0] else { panic!("a conversation") };
        let id = match fields.iter().find(|(key, _)| *key == c"id") {
            Some((_, Reply::Int(id))) => *id,
            _ => panic!("an id"),
        };
        let send = [s("send"), s("5550101"), Arg::Float(id as f64), s("  hi  ")];
        let rehearsed = call(&mut dc, "rehearse", &send, 2).unwrap();
        let Reply::Object(message) = &rehearsed[0] else { panic!("a message") };
        assert!(message.contains(&(c"content", Reply::Str("hi".into()))));
        assert_eq!(count(&mut dc), Reply::Int(0), "nothing stored");
        let outsider = [s("send"), s("5550102"), Arg::Int(id), s("hi")];
        assert_eq!(call(&mut dc, "rehearse", &outsider, 2).unwrap_err().code(), "not_member");
        let other = [s("delete"), Arg::Nil, Arg::Int(id)];
        assert_eq!(
            call(&mut dc, "rehearse", &other, 2).unwrap_err().to_string(),
            "invalid argument: action"
        );
        call(&mut dc, "send", &send[1..], 3).unwrap();
        assert_eq!(count(&mut dc), Reply::Int(1), "writes after a rehearsal are kept");
    }

    #[test]
    fn every_action_a_hook_sees_can_be_rehearsed() {
        let mut dc = core();
        let s = |text: &str| Arg::Str(text.into());
        let stored = |dc: &mut Darkchat| {
            let Reply::Object(fields) = call(dc, "stats", &[], 1).unwrap().remove(0) else {
                panic!("stats")
            };
            let rows = [c"conversations", c"memberships", c"messages", c"phones"];
            fields.into_iter().filter(|(key, _)| rows.contains(key)).collect::<Vec<_>>()
        };
        let created = call(&mut dc, "create", &[s("5550101"), s("Crew"), s("CREW42")], 1).unwrap();
        let Reply::Object(fields) = &created[0] else { panic!("a conversation") };
        let Some((_, Reply::Int(id))) = fields.iter().find(|(key, _)| *key == c"id") else {
            panic!("an id")
        };
        let id = Arg::Int(*id);
        let sent = call(&mut dc, "send", &[s("5550101"), id.clone(), s("hi")], 1).unwrap();
        let Reply::Object(fields) = &sent[0] else { panic!("a message") };
        let Some((_, Reply::Int(message))) = fields.iter().find(|(key, _)| *key == c"id") else {
            panic!("a message id")
        };
        let before = stored(&mut dc);
        let actions: [&[Arg]; 6] = [
            &[s("create"), s("5550102"), s("Other")],
            &[s("join"), s("5550102"), s("crew42")],
            &[s("send"), s("5550101"), id.clone(), s("again")],
            &[s("sendImage"), s("5550101"), id.clone(), s("https://i.imgur.com/a.png")],
            &[s("sendLocation"), s("5550101"), id.clone(), Arg::Int(1), Arg::Int(2), Arg::Int(3)],
            &[s("editMessage"), s("5550101"), id.clone(), Arg::Int(*message), s("edited")],
        ];
        for action in actions {
            let rehearsed = call(&mut dc, "rehearse", action, 2);
            assert!(rehearsed.is_ok(), "{action:?}: {rehearsed:?}");
            assert_eq!(stored(&mut dc), before, "{action:?} stored nothing");
        }
    }

    #[test]
    fn exported_rows_page_on_from_the_key_given() {
        let mut dc = core();
        let s = |text: &str| Arg::Str(text.into());
        for number in ["5550101", "5550102", "5550103"] {
            call(&mut dc, "create", &[s(number), s("Crew")], 1).unwrap();
            call(&mut dc, "staffBan", &[s(number)], 1).unwrap();
        }
        let export = |dc: &mut Darkchat, args: &[Arg]| -> Result<Vec<Reply>> {
            match call(dc, "exportRows", args, 1)?.remove(0) {
                Reply::Array(rows) => Ok(rows),
                other => panic!("{other:?}"),
            }
        };
        let first = |row: &Reply| match row {
            Reply::Array(cells) => cells[0].clone(),
            other => panic!("{other:?}"),
        };
        // An integer key (phones by id), then a text key (staff bans by number).
        let page = export(&mut dc, &[s("phones"), Arg::Nil, Arg::Int(2)]).unwrap();
        assert_eq!(page.iter().map(first).collect::<Vec<_>>(), [Reply::Int(1), Reply::Int(2)]);
        let rest = export(&mut dc, &[s("phones"), Arg::Int(2), Arg::Int(2)]).unwrap();
        assert_eq!(rest.iter().map(first).collect::<Vec<_>>(), [Reply::Int(3)]);
        let rest = export(&mut dc, &[s("staff_bans"), s("5550101"), Arg::Int(1000)]).unwrap();
        let numbers = [Reply::Str("5550102".into()), Reply::Str("5550103".into())];
        assert_eq!(rest.iter().map(first).collect::<Vec<_>>(), numbers);
        // A key of the other kind, and a page of 0 or more than 1000 rows, are refused.
        let refused = |dc: &mut Darkchat, args: &[Arg]| export(dc, args).unwrap_err().to_string();
        let wrong_key = [s("staff_bans"), Arg::Int(1), Arg::Int(10)];
        assert_eq!(refused(&mut dc, &wrong_key), "invalid argument: afterKey");
        let wrong_key = [s("phones"), s("1"), Arg::Int(10)];
        assert_eq!(refused(&mut dc, &wrong_key), "invalid argument: afterKey");
        for limit in [0, 1001] {
            let args = [s("phones"), Arg::Nil, Arg::Int(limit)];
            assert_eq!(refused(&mut dc, &args), "invalid argument: limit", "{limit}");
        }
        assert_eq!(export(&mut dc, &[s("phones"), Arg::Nil, Arg::Int(1000)]).unwrap().len(), 3);
    }

    #[test]
    fn a_staff_ban_question_names_at_most_1000_numbers() {
        let mut dc = core();
        let numbers = |n: i64| (0..n).map(|i| Arg::Int(5_550_000 + i)).collect::<Vec<_>>();
        assert!(call(&mut dc, "staffBanned", &numbers(1000), 1).is_ok());
        let err = call(&mut dc, "staffBanned", &numbers(1001), 1).unwrap_err();
        assert_eq!(err.to_string(), "invalid argument: numbers");
    }

    #[test]
    fn the_change_log_and_sweep_bounds_are_checked_before_the_storage_is_asked() {
        let mut dc = core();
        let server = || Arg::Str("city-1".into());
        let (nil, int) = (Arg::Nil, Arg::Int);
        let mut refusal = |method: &str, args: &[Arg]| match call(&mut dc, method, args, 1) {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.to_string(),
        };
        // In bounds, the call reaches the storage, which on SQLite keeps no change log.
        let storage = "invalid argument: storage: the change log of a server network needs \
                       MySQL storage";
        assert_eq!(refusal("changes", &[server(), int(0), int(1)]), storage);
        assert_eq!(refusal("changes", &[server(), nil.clone(), int(1000)]), storage);
        assert_eq!(refusal("changes", &[server(), int(-1)]), "invalid argument: after");
        for limit in [0, 1001] {
            let args = [server(), nil.clone(), int(limit)];
            assert_eq!(refusal("changes", &args), "invalid argument: limit", "{limit}");
        }
        assert_eq!(refusal("pruneChanges", &[int(1), int(1), int(5000)]), storage);
        assert_eq!(refusal("pruneChanges", &[int(0)]), "invalid argument: keep");
        let age = [nil.clone(), int(0)];
        assert_eq!(refusal("pruneChanges", &age), "invalid argument: maxAgeSeconds");
        let batch = [nil.clone(), nil.clone(), int(5001)];
        assert_eq!(refusal("pruneChanges", &batch), "invalid argument: batch");
        assert_eq!(refusal("sweepExpired", &[int(0), int(5000)]), "ok");
        assert_eq!(refusal("sweepExpired", &[int(-1)]), "invalid argument: after");
        for batch in [0, 5001] {
            let args = [nil.clone(), int(batch)];
            assert_eq!(refusal("sweepExpired", &args), "invalid argument: batch", "{batch}");
        }
    }

    /// `limits` over a map of options (absent keys `Nil`), as a host reads its open options.
    fn limits_of(options: &[(&'static str, Arg)]) -> Result<Limits> {
        limits(|key| options.iter().find(|(k, _)| *k == key).map_or(Arg::Nil, |(_, v)| v.clone()))
    }

    #[test]
    fn open_options_are_read_within_their_bounds() {
        let defaults = limits_of(&[]).unwrap();
        assert_eq!(defaults.max_members, Limits::default().max_members);
        assert_eq!(defaults.image_hosts, Limits::default().image_hosts);
        // A limit is 1..=1,000,000; the sweep's caps 0 (off) up to their own bound.
        let read = |key: &'static str, n: i64| limits_of(&[(key, Arg::Int(n))]);
        assert_eq!(read("maxMembers", 1).unwrap().max_members, 1);
        assert_eq!(read("maxMembers", 1_000_000).unwrap().max_members, 1_000_000);
        assert_eq!(read("maxMessageLength", 7).unwrap().max_message_chars, 7);
        for (key, n) in [("maxMembers", 0), ("maxMembers", 1_000_001), ("pageSize", -1)] {
            let err = read(key, n).unwrap_err();
            assert_eq!(err.to_string(), format!("invalid argument: {key}"), "{key} = {n}");
        }
        let ten_years = 10 * 365 * 86_400;
        let age = |n| read("maxMessageAgeSeconds", n).map(|l| l.max_message_age_seconds);
        assert_eq!(age(0).unwrap(), 0);
        assert_eq!(age(ten_years).unwrap(), 315_360_000);
        assert_eq!(age(ten_years + 1).unwrap_err().code(), "invalid_argument");
        assert_eq!(age(-1).unwrap_err().code(), "invalid_argument");
        let count =
            |n| read("maxMessagesPerConversation", n).map(|l| l.max_messages_per_conversation);
        assert_eq!(count(1_000_000).unwrap(), 1_000_000);
        assert_eq!(count(1_000_001).unwrap_err().code(), "invalid_argument");
        // Image hosts: separated by commas or spaces, empty names skipped, lower-cased.
        let hosts =
            limits_of(&[("imageHosts", Arg::Str("A.example, b.example,,c.example ".into()))]);
        assert_eq!(hosts.unwrap().image_hosts, ["a.example", "b.example", "c.example"]);
        let err = limits_of(&[("imageHosts", Arg::Int(1))]).unwrap_err();
        assert_eq!(err.to_string(), "invalid argument: imageHosts");
    }

    #[test]
    fn the_filter_list_is_bounded_before_its_words_are_read() {
        let words = |n: usize, word: Arg| Some(vec![word; n]);
        let most = filter(words(crate::filter::MAX_WORDS, Arg::Str("bad".into())), &Arg::Nil);
        assert!(most.unwrap().holds("bad"));
        // One word too many is refused as a list, before any word is looked at.
        let err = filter(words(crate::filter::MAX_WORDS + 1, Arg::Int(1)), &Arg::Nil).unwrap_err();
        assert_eq!(err.to_string(), "invalid argument: filter words");
    }

    #[test]
    fn every_method_is_dispatched() {
        let mut dc = core();
        for method in Method::ALL {
            assert_eq!(Method::parse(method.name()).unwrap(), method);
            let err = call(&mut dc, method.name(), &[Arg::Other, Arg::Other, Arg::Other], 1).err();
            assert!(err.is_none_or(|e| e.to_string() != "invalid argument: method"), "{method:?}");
        }
    }
}
