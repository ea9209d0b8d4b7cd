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
mod reply;
mod wire;

pub use args::{integer, max_arg_bytes, short_string, text, Arg};
pub use reply::Reply;
pub use wire::{arg_from_json, outcome_to_json, WireOutcome};

use crate::darkchat::Darkchat;
use crate::error::{Error, Result};
use crate::ids::{ConversationId, MessageId};
use crate::import;
use crate::input::{self, Alias, ConversationName, JoinCode, PhoneNumber};
use crate::service::{Actor, Limits, Service};
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
    ImportConversation,
}

impl Method {
    pub const ALL: [Method; 34] = [
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
        Method::ImportConversation,
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
            Method::ImportConversation => "importConversation",
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
    /// `create`, `join` or `send` run in full and rolled back: the same answer as the real
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
            Method::ImportConversation => {
                let peer = import::Peer::parse(short_string(arg(0), "peer")?)?;
                let Arg::Str(json) = arg(1) else { return Err(Error::invalid("channel")) };
                let channel = Box::new(import::channel_from_json(json)?);
                Request::ImportConversation { peer, channel, dry_run: flag(arg(2), "dryRun")? }
            }
        })
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
        Request::Send { number, id, text } => {
            let (sent, members) = service.send_message(&number, id, &text, now).await?;
            with_members(message(sent), members)
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
            vec![pairs_reply(pairs.map(|(t, n)| (t, n)))]
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
        Request::ImportConversation { peer, channel, dry_run } => {
            vec![import_outcome(service.import_channel(peer, &channel, dry_run, now).await?)]
        }
        Request::CheckSource { .. } | Request::CheckNumber { .. } => unreachable!("answered above"),
        Request::Rehearse(_) => unreachable!("unwrapped above (a rehearsal holds one action)"),
    })
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
    limits.max_message_chars = message_chars as usize;
    Ok(limits)
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
    fn every_method_is_dispatched() {
        let mut dc = core();
        for method in Method::ALL {
            assert_eq!(Method::parse(method.name()).unwrap(), method);
            let err = call(&mut dc, method.name(), &[Arg::Other, Arg::Other, Arg::Other], 1).err();
            assert!(
                err.map_or(true, |e| e.to_string() != "invalid argument: method"),
                "{method:?}"
            );
        }
    }
}
