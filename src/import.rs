//! Bringing in another phone's dark chat (`darkchat import npwd|lbphone`): one source channel
//! becomes one conversation, in one write transaction, by the same rules as every other write.
//!
//! The host (js/host.js) reads the source tables and the framework's player table and hands
//! over each channel as it found it ([`Channel`]); everything decided about it is decided here:
//! - the name (the channel's label, else its identifier) and the join code (the channel's
//!   identifier or name when it is a valid code that no conversation holds, else a generated
//!   one);
//! - each member's phone number, read from what the framework stores ([`Phones`]), checked as
//!   any number; the owner first, then the members in the order they first wrote, then the rest
//!   in the source's order; a member without a number, a repeated row and a second row with
//!   the same number are left out with a reason, as is a member the limits would refuse;
//! - each message, in the source's order with its own time, checked as a sent message is; a
//!   message whose sender has no number, or whose text no member could send, is left out with a
//!   reason;
//! - members get generated aliases like any member; a sender who is no longer a member gets one
//!   too (no member goes by it), so that the message keeps an author without naming them;
//! - every member has read everything imported (they read it in the other phone);
//! - `imports` records the source channel with the conversation, in the same transaction, so
//!   that a second run finds it and imports nothing twice.
//!
//! A dry run is the same transaction rolled back (a rehearsal, [`Storage::set_rehearsing`]):
//! the same report, nothing kept. Each channel is rehearsed alone, so a dry run does not see
//! what the channels before it would have taken (codes, places in conversations).

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::ids::{ConversationId, MessageId, PhoneId};
use crate::input::{self, Alias, ConversationName, JoinCode, PhoneNumber};
use crate::service::{free_alias, free_code, Service};
use crate::storage::{ImportedMessage, Read, Storage, Write};

/// The other phones an import reads, by the names the console uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Npwd,
    LbPhone,
}

impl Peer {
    pub fn parse(name: &str) -> Result<Peer> {
        match name {
            "npwd" => Ok(Peer::Npwd),
            "lbphone" => Ok(Peer::LbPhone),
            _ => Err(Error::invalid("peer")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Peer::Npwd => "npwd",
            Peer::LbPhone => "lbphone",
        }
    }
}

/// How the framework's player table holds a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phones {
    /// QBCore and Qbox: `players.charinfo`, a JSON object whose `phone` is the number.
    Charinfo,
    /// ESX (`users.phone_number`) and ox_core (`characters.phoneNumber`): the number itself.
    Plain,
    /// No framework: the number Darkchat gave the player's license (its own table).
    Standalone,
}

/// One source channel as the host read it, rows in the source's order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// The channel's key in the source (NPWD's id, lb-phone's name): what `imports` records.
    pub key: String,
    /// The names to try, in order (NPWD: the label, then the identifier; lb-phone: the name).
    #[serde(default)]
    pub names: Vec<Option<String>>,
    /// The join code to keep when it fits the rules (NPWD: the identifier; lb-phone: the name).
    #[serde(default)]
    pub code: Option<String>,
    pub phones: Phones,
    #[serde(default)]
    pub members: Vec<SourceMember>,
    #[serde(default)]
    pub messages: Vec<SourceMessage>,
    /// What the framework told about each person the rows name, by the name the rows use.
    #[serde(default)]
    pub people: HashMap<String, Person>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceMember {
    pub who: String,
    #[serde(default)]
    pub owner: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceMessage {
    pub id: i64,
    pub who: String,
    pub content: Option<String>,
    /// Unix seconds.
    pub at: i64,
}

/// A person as the host found them: the framework's value holding their number (its raw
/// form, see [`Phones`]) and the identifier it was found by, or why not.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    #[serde(default)]
    pub phone: Option<serde_json::Value>,
    /// The framework identifier (a license, for [`Phones::Standalone`]).
    #[serde(default)]
    pub identifier: Option<String>,
    /// What was looked up and not found, for the report.
    #[serde(default)]
    pub missing: Option<String>,
}

/// What importing one channel did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The conversation it became (in a dry run, the id it had in the rolled-back
    /// transaction); `None` when the channel was not imported.
    pub conversation: Option<ConversationId>,
    /// Imported by an earlier run, as this conversation: nothing done now.
    pub already: Option<ConversationId>,
    pub name: String,
    pub join_code: Option<String>,
    /// Whether the join code is the channel's own (else generated).
    pub code_kept: bool,
    pub members: usize,
    pub messages: usize,
    pub skipped_members: usize,
    pub skipped_messages: usize,
    /// One line for every row not imported, saying why.
    pub lines: Vec<String>,
}

/// The channel as the console names it: `npwd channel 12 "Heist"`.
fn label(peer: Peer, channel: &Channel) -> String {
    let names = channel.names.iter().flatten();
    let name = names.map(|n| n.trim()).find(|n| !n.is_empty()).unwrap_or("");
    format!("{} channel {} \"{}\"", peer.name(), channel.key, name)
}

/// Reads the number a framework value holds.
fn number_from(
    phones: Phones,
    raw: &serde_json::Value,
) -> std::result::Result<PhoneNumber, String> {
    let value = match (phones, raw) {
        (Phones::Charinfo, serde_json::Value::String(text)) => {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(info)) => info.get("phone").cloned(),
                _ => return Err("charinfo is not a JSON object".into()),
            }
        }
        (Phones::Charinfo, serde_json::Value::Object(info)) => info.get("phone").cloned(),
        (_, other) => Some(other.clone()),
    };
    let parsed = match value {
        Some(serde_json::Value::String(s)) => PhoneNumber::parse(&s),
        Some(serde_json::Value::Number(n)) => match n.as_i64() {
            Some(n) => PhoneNumber::from_integer(n),
            None => Err(Error::invalid("number")),
        },
        None | Some(serde_json::Value::Null) => return Err("no phone number set".into()),
        Some(_) => Err(Error::invalid("number")),
    };
    parsed.map_err(|_| "the phone number is not a valid number".into())
}

/// A person's number, or why there is none (the outer error: the store failed).
async fn resolve(
    tx: &impl Read,
    phones: Phones,
    who: &str,
    person: Option<&Person>,
) -> Result<std::result::Result<PhoneNumber, String>> {
    let Some(person) = person else { return Ok(Err("not found".into())) };
    if let Some(missing) = &person.missing {
        return Ok(Err(missing.clone()));
    }
    if phones == Phones::Standalone {
        let license = person.identifier.as_deref().unwrap_or(who);
        return Ok(match tx.standalone_number(license).await? {
            Some(number) => PhoneNumber::parse(&number).map_err(|e| e.to_string()),
            None => Err(format!("{license} has no Darkchat number yet (given at first join)")),
        });
    }
    Ok(match &person.phone {
        Some(raw) => number_from(phones, raw),
        None => Err("no phone number set".into()),
    })
}

/// The member rows to import, in the order they will hold, with the reasons for the others.
struct Plan {
    members: Vec<(String, PhoneNumber)>,
    lines: Vec<String>,
    skipped: usize,
}

/// Orders, resolves and deduplicates the member rows (no limit applied yet).
fn plan_members(
    channel: &Channel,
    numbers: &HashMap<String, std::result::Result<PhoneNumber, String>>,
    label: &str,
) -> Plan {
    // The owner first, then by first message, then the rest in row order.
    let first_message: HashMap<&str, usize> =
        channel.messages.iter().enumerate().rev().map(|(i, m)| (m.who.as_str(), i)).collect();
    let mut rows: Vec<(usize, &SourceMember)> = channel.members.iter().enumerate().collect();
    let owner_row =
        rows.iter().position(|(_, m)| m.owner && numbers.get(&m.who).is_some_and(|n| n.is_ok()));
    rows.sort_by_key(|(i, m)| {
        let is_owner = owner_row.is_some_and(|o| o == *i);
        (!is_owner, first_message.get(m.who.as_str()).copied().unwrap_or(usize::MAX), *i)
    });
    let mut plan = Plan { members: Vec::new(), lines: Vec::new(), skipped: 0 };
    let mut seen_rows: HashSet<&str> = HashSet::new();
    let mut seen_numbers: HashMap<String, String> = HashMap::new();
    for (_, member) in rows {
        let who = member.who.as_str();
        if !seen_rows.insert(who) {
            plan.skipped += 1;
            plan.lines.push(format!("{label}: member {who} skipped: a repeated member row"));
            continue;
        }
        match numbers.get(who) {
            Some(Ok(number)) => {
                if let Some(earlier) = seen_numbers.get(number.as_str()) {
                    plan.skipped += 1;
                    plan.lines.push(format!(
                        "{label}: member {who} skipped: same phone number as member {earlier}"
                    ));
                    continue;
                }
                seen_numbers.insert(number.as_str().to_owned(), who.to_owned());
                plan.members.push((who.to_owned(), number.clone()));
            }
            Some(Err(why)) => {
                plan.skipped += 1;
                plan.lines.push(format!("{label}: member {who} skipped: no phone number ({why})"));
            }
            None => {
                plan.skipped += 1;
                plan.lines.push(format!("{label}: member {who} skipped: no phone number"));
            }
        }
    }
    plan
}

impl<S: Storage> Service<S> {
    /// Imports one channel of `peer` as a conversation (see the module). With `dry_run` the
    /// transaction is rolled back: the same outcome, nothing kept.
    pub async fn import_channel(
        &mut self,
        peer: Peer,
        channel: &Channel,
        dry_run: bool,
        now: i64,
    ) -> Result<Outcome> {
        let limits = self.limits().clone();
        let rng = self.rng().clone();
        self.set_rehearsing(dry_run);
        let label = label(peer, channel);
        let source_key = format!("{}:{}", peer.name(), channel.key);
        let storage = self.storage_mut();
        let result = storage
            .write(async |tx| {
                let mut out = Outcome {
                    conversation: None,
                    already: None,
                    name: String::new(),
                    join_code: None,
                    code_kept: false,
                    members: 0,
                    messages: 0,
                    skipped_members: 0,
                    skipped_messages: 0,
                    lines: Vec::new(),
                };
                if let Some(id) = tx.imported(&source_key).await? {
                    out.already = Some(id);
                    return Ok(out);
                }
                let skip_all = |mut out: Outcome, why: String| {
                    out.skipped_members = channel.members.len();
                    out.skipped_messages = channel.messages.len();
                    out.lines.push(format!("{label}: not imported: {why}"));
                    out
                };
                // The name: the first candidate that is a valid name.
                let mut name = None;
                let mut why_not = "it has no name".to_owned();
                for candidate in channel.names.iter().flatten() {
                    match ConversationName::parse(candidate) {
                        Ok(n) => {
                            name = Some(n);
                            break;
                        }
                        Err(e) => why_not = format!("its name is not valid ({e})"),
                    }
                }
                let Some(name) = name else { return Ok(skip_all(out, why_not)) };
                out.name = name.as_str().to_owned();

                // Every person the rows name, resolved once.
                let mut numbers = HashMap::new();
                let names = channel.members.iter().map(|m| &m.who);
                for who in names.chain(channel.messages.iter().map(|m| &m.who)) {
                    if !numbers.contains_key(who) {
                        let person = channel.people.get(who);
                        numbers
                            .insert(who.clone(), resolve(tx, channel.phones, who, person).await?);
                    }
                }
                let plan = plan_members(channel, &numbers, &label);
                out.skipped_members = plan.skipped;
                out.lines = plan.lines;

                // The limits, as for any member who joins.
                let mut members: Vec<(String, PhoneNumber, PhoneId)> = Vec::new();
                for (who, number) in plan.members {
                    if members.len() >= limits.max_members as usize {
                        out.skipped_members += 1;
                        out.lines.push(format!(
                            "{label}: member {who} skipped: the conversation is full ({} members)",
                            limits.max_members
                        ));
                        continue;
                    }
                    let held = tx.count_memberships_of_number(number.as_str()).await?;
                    if held >= i64::from(limits.max_conversations_per_number) {
                        out.skipped_members += 1;
                        out.lines.push(format!(
                            "{label}: member {who} skipped: {} is in {} conversations already \
                             (the limit)",
                            number.as_str(),
                            limits.max_conversations_per_number
                        ));
                        continue;
                    }
                    let phone = tx.ensure_phone(number.as_str()).await?;
                    members.push((who, number, phone));
                }
                if members.is_empty() {
                    return Ok(skip_all(out, "no member has a phone number".into()));
                }

                // The messages, checked as sent ones are.
                let mut kept: Vec<(&SourceMessage, PhoneNumber, String)> = Vec::new();
                for m in &channel.messages {
                    let number = match numbers.get(&m.who) {
                        Some(Ok(number)) => number.clone(),
                        Some(Err(why)) => {
                            out.skipped_messages += 1;
                            out.lines.push(format!(
                                "{label}: message {} skipped: its sender {} has no phone number \
                                 ({why})",
                                m.id, m.who
                            ));
                            continue;
                        }
                        None => unreachable!("every sender was resolved"),
                    };
                    let text = m.content.as_deref().unwrap_or("");
                    match input::message_text(text, limits.max_message_chars) {
                        Ok(content) => kept.push((m, number, content)),
                        Err(e) => {
                            out.skipped_messages += 1;
                            out.lines.push(format!("{label}: message {} skipped: {e}", m.id));
                        }
                    }
                }
                let created_at = kept.iter().map(|(m, ..)| m.at).min().unwrap_or(now).min(now);

                // The join code: the channel's own when it is one and free.
                let own = channel.code.as_deref().map(JoinCode::parse);
                let code = match own {
                    Some(Ok(code))
                        if tx.conversation_id_by_code(code.as_str()).await?.is_none() =>
                    {
                        out.code_kept = true;
                        code
                    }
                    _ => free_code(tx, &rng).await?,
                };
                let owner = members[0].2;
                let id = match tx
                    .insert_conversation(name.as_str(), owner, code.as_str(), created_at)
                    .await
                {
                    // Taken by another server meanwhile: run again (then it is generated).
                    Err(Error::JoinCodeTaken { code }) => {
                        return Err(Error::Conflict(format!("join code {code} taken")));
                    }
                    other => other?,
                };
                out.join_code = Some(code.as_str().to_owned());

                let mut aliases: HashMap<String, String> = HashMap::new();
                let mut taken: HashSet<String> = HashSet::new();
                for (_, number, phone) in &members {
                    let alias = free_alias(tx, &rng, id, None, None).await?;
                    tx.insert_member(id, *phone, &alias, created_at, MessageId::NONE).await?;
                    taken.insert(alias.key());
                    aliases.insert(number.as_str().to_owned(), alias.as_str().to_owned());
                }
                // Senders who are no longer members: an alias no member goes by, and a phone.
                let mut phones: HashMap<String, PhoneId> =
                    members.iter().map(|(_, n, p)| (n.as_str().to_owned(), *p)).collect();
                let mut rows = Vec::with_capacity(kept.len());
                for (m, number, content) in kept {
                    let key = number.as_str().to_owned();
                    if !phones.contains_key(&key) {
                        phones.insert(key.clone(), tx.ensure_phone(&key).await?);
                    }
                    if !aliases.contains_key(&key) {
                        let alias = former_member_alias(&rng, &mut taken)?;
                        aliases.insert(key.clone(), alias);
                    }
                    rows.push(ImportedMessage {
                        sender: phones[&key],
                        sender_alias: aliases[&key].clone(),
                        content,
                        created_at: m.at,
                    });
                }
                let last = tx.insert_imported_messages(id, &rows).await?;
                if last != MessageId::NONE {
                    for (_, _, phone) in &members {
                        tx.mark_read(id, *phone, last).await?;
                    }
                }
                tx.record_import(&source_key, id, now).await?;
                out.conversation = Some(id);
                out.members = members.len();
                out.messages = rows.len();
                Ok(out)
            })
            .await;
        self.set_rehearsing(false);
        result
    }
}

/// A generated alias whose key ([`Alias::key`]) none of `taken` has, for a sender who left.
fn former_member_alias(
    rng: &crate::service::SharedRng,
    taken: &mut HashSet<String>,
) -> Result<String> {
    for attempt in 0..64 {
        let alias = Alias::generate(&mut *rng.borrow_mut(), attempt >= 16);
        if taken.insert(alias.key()) {
            return Ok(alias.as_str().to_owned());
        }
    }
    Err(Error::Internal("no free alias found".into()))
}

/// A channel from the host's JSON (`importConversation`'s third argument).
pub fn channel_from_json(json: &str) -> Result<Channel> {
    let channel: Channel = serde_json::from_str(json).map_err(|_| Error::invalid("channel"))?;
    if channel.key.is_empty() || channel.key.len() > 190 {
        return Err(Error::invalid("channel"));
    }
    Ok(channel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{call, Arg, Reply};
    use crate::store::Store;
    use crate::{Darkchat, Limits};
    use serde_json::json;

    fn core(limits: Limits) -> Darkchat {
        Darkchat::new(Store::open_in_memory().unwrap(), limits, [3; 32])
    }

    fn field<'r>(reply: &'r Reply, key: &str) -> &'r Reply {
        let Reply::Object(fields) = reply else { panic!("an object: {reply:?}") };
        &fields.iter().find(|(k, _)| k.to_str().unwrap() == key).unwrap().1
    }

    fn import(dc: &mut Darkchat, channel: serde_json::Value, dry_run: bool) -> Reply {
        let args = [Arg::Str("npwd".into()), Arg::Str(channel.to_string()), Arg::Bool(dry_run)];
        call(dc, "importConversation", &args, 1_800_000_000).unwrap().remove(0)
    }

    fn lines(reply: &Reply) -> Vec<String> {
        let Reply::Array(lines) = field(reply, "lines") else { panic!("lines") };
        lines
            .iter()
            .map(|l| {
                format!(
                    "{}",
                    match l {
                        Reply::Str(s) => s,
                        _ => panic!(),
                    }
                )
            })
            .collect()
    }

    fn counts(dc: &mut Darkchat) -> (Reply, Reply) {
        let stats = call(dc, "stats", &[], 1).unwrap().remove(0);
        (field(&stats, "conversations").clone(), field(&stats, "messages").clone())
    }

    /// Five members with numbers (two of them the same number), limits of 3 members.
    fn crowded() -> serde_json::Value {
        let person = |n: &str| json!({ "phone": n });
        json!({
            "key": "7", "names": ["Crowd"], "code": "crowd", "phones": "plain",
            "members": [{"who": "a", "owner": true}, {"who": "b"}, {"who": "b2"}, {"who": "c"},
                        {"who": "d"}],
            "messages": [{"id": 1, "who": "d", "content": "d first", "at": 100},
                         {"id": 2, "who": "a", "content": "hi", "at": 200}],
            "people": {"a": person("5550101"), "b": person("5550102"), "b2": person(" 5550102 "),
                       "c": person("5550103"), "d": person("5550104")}
        })
    }

    #[test]
    fn limits_and_shared_numbers_are_rows_left_out() {
        let mut dc = core(Limits { max_members: 3, ..Limits::default() });
        let dry = import(&mut dc, crowded(), true);
        assert_eq!(counts(&mut dc), (Reply::Int(0), Reply::Int(0)), "a dry run writes nothing");
        let done = import(&mut dc, crowded(), false);
        assert_eq!(lines(&dry), lines(&done));
        assert_eq!(
            lines(&done),
            [
                "npwd channel 7 \"Crowd\": member b2 skipped: same phone number as member b",
                "npwd channel 7 \"Crowd\": member c skipped: the conversation is full (3 members)",
            ]
        );
        assert_eq!(field(&done, "members"), &Reply::Int(3));
        assert_eq!(field(&done, "skippedMembers"), &Reply::Int(2));
        let Reply::Int(id) = *field(&done, "conversationId") else { panic!("imported") };
        let view = call(&mut dc, "conversation", &[Arg::Nil, Arg::Int(id)], 1).unwrap().remove(0);
        // The owner first, then by first message (d wrote before b, who never wrote).
        let recipients = field(&view, "recipients").clone();
        let numbers = ["5550101", "5550104", "5550102"].map(|n| Reply::Str(n.into()));
        assert_eq!(recipients, Reply::Array(numbers.to_vec()));
        assert_eq!(field(&view, "joinCode"), &Reply::Str("CROWD".into()));
        // Run again: nothing twice.
        let again = import(&mut dc, crowded(), false);
        assert_eq!(field(&again, "alreadyImported"), &Reply::Int(id));
        assert_eq!(counts(&mut dc), (Reply::Int(1), Reply::Int(2)));
    }

    #[test]
    fn standalone_numbers_come_from_the_store() {
        let mut dc = core(Limits::default());
        let license = Arg::Str("license:abc".into());
        let number = call(&mut dc, "standaloneNumber", &[license], 1).unwrap().remove(0);
        let Reply::Str(number) = number else { panic!("a number") };
        let channel = json!({
            "key": "s", "names": ["", "Solo"], "code": "no", "phones": "standalone",
            "members": [{"who": "license:abc"}, {"who": "license:new"}],
            "people": {"license:abc": {"identifier": "license:abc"},
                       "license:new": {"identifier": "license:new"}}
        });
        let done = import(&mut dc, channel, false);
        assert_eq!(field(&done, "name"), &Reply::Str("Solo".into()), "the first valid name");
        assert_eq!(field(&done, "codeKept"), &Reply::Bool(false), "`no` is too short a code");
        assert_eq!(
            lines(&done),
            ["npwd channel s \"Solo\": member license:new skipped: no phone number (license:new has \
              no Darkchat number yet (given at first join))"]
        );
        let Reply::Int(id) = *field(&done, "conversationId") else { panic!("imported") };
        let view = call(&mut dc, "conversation", &[Arg::Nil, Arg::Int(id)], 1).unwrap().remove(0);
        assert_eq!(field(&view, "owner"), &Reply::Str(number));
    }

    #[test]
    fn a_channel_the_host_wrote_wrongly_is_invalid() {
        let mut dc = core(Limits::default());
        for bad in [json!({"key": "1"}), json!({"key": "", "phones": "plain"}), json!([1])] {
            let args = [Arg::Str("npwd".into()), Arg::Str(bad.to_string()), Arg::Bool(false)];
            let err = call(&mut dc, "importConversation", &args, 1).unwrap_err();
            assert_eq!(err.to_string(), "invalid argument: channel", "{bad}");
        }
        let args = [Arg::Str("sms".into()), Arg::Str("{}".into())];
        let err = call(&mut dc, "importConversation", &args, 1).unwrap_err();
        assert_eq!(err.to_string(), "invalid argument: peer");
    }

    #[test]
    fn numbers_are_read_as_each_framework_stores_them() {
        let charinfo = json!(r#"{"firstname":"A","phone":"5550101"}"#);
        assert_eq!(number_from(Phones::Charinfo, &charinfo).unwrap().as_str(), "5550101");
        let numeric = json!(r#"{"phone":5550102}"#);
        assert_eq!(number_from(Phones::Charinfo, &numeric).unwrap().as_str(), "5550102");
        assert!(number_from(Phones::Charinfo, &json!(r#"{"firstname":"A"}"#)).is_err());
        assert!(number_from(Phones::Charinfo, &json!("not json")).is_err());
        assert_eq!(number_from(Phones::Plain, &json!(" 555-0103 ")).unwrap().as_str(), "555-0103");
        assert!(number_from(Phones::Plain, &json!("")).is_err());
        assert!(number_from(Phones::Plain, &serde_json::Value::Null).is_err());
    }
}
