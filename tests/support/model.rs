//! Random domain operations against the service, checked after every step against a simple
//! in-memory model and the store's invariants. Shared by the property test (tests/property.rs,
//! choices from a seeded generator) and the fuzz target (fuzz/, choices from the fuzzer's bytes).
//!
//! Checked after every step:
//! - the outcome (success, or the exact error code) is the one the model predicts;
//! - a failed operation wrote nothing (the whole database content is compared);
//! - the conversations, their names, codes, owners and members (in order) are the model's;
//! - every conversation has at least one member and its owner is one of them; members unique;
//! - join codes are unique and follow the code rule; ids are never reused;
//! - no message or member row outlives its conversation; every text message's sender was a
//!   member of its conversation.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use darkchat::input::{self, ConversationName, JoinCode, PhoneNumber};
use darkchat::{Actor, ConversationId, Darkchat, Limits, MessageId, Store};

/// Where the choices come from: a seeded generator or the fuzzer's bytes.
pub trait Choices {
    /// A number in `0..n` (n > 0); `None` when the choices ran out.
    fn pick(&mut self, n: usize) -> Option<usize>;
}

pub const NUMBERS: &[&str] = &["5550101", "5550102", "5550103", "5550104", "5550105", " 5550101 "];
/// Raw numbers that break the rule (all `invalid_argument`).
pub const BAD_NUMBERS: &[&str] = &["", "   ", "123456789012345678901", "555\u{0}0101"];
pub const NAMES: &[&str] =
    &["Crew", "  Heist Planning  ", "'; DROP TABLE conversations; --", "Ünïcödé 🙂"];
/// Raw names that break the rule, with the code.
pub const BAD_NAMES: &[(&str, &str)] = &[
    ("", "invalid_name"),
    ("   ", "invalid_name"),
    ("a\nb", "invalid_name"),
    ("\u{7f}", "invalid_name"),
];
pub const CODES: &[&str] =
    &["crew42", "CREW42", "abcd", "ZZZZ9999", "Q1W2E3R4T5Y6U7I8", "  room1  "];
pub const BAD_CODES: &[&str] = &["abc", "a-bc", "ABCDEFGHJKLMNPQRS", "", "ÄBCD", "ab cd"];
pub const CONTENTS: &[&str] =
    &["hi", "  hello crew  ", "line\nbreak\ttab", "'; DELETE FROM messages; --"];
pub const BAD_CONTENTS: &[&str] = &["", "   ", "bell\u{7}", "x\u{0}y"];

pub fn limits() -> Limits {
    Limits {
        max_members: 4,
        max_conversations_per_number: 3,
        max_message_chars: 40,
        ..Limits::default()
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Conv {
    name: String,
    code: String,
    owner: String,
    members: Vec<String>,
    /// Everyone who was ever a member (text senders must be among them).
    ever: BTreeSet<String>,
    /// Numbers kicked with a ban: they cannot join or be added back.
    banned: BTreeSet<String>,
}

pub struct Harness {
    pub core: Darkchat,
    convs: BTreeMap<ConversationId, Conv>,
    /// Every id ever handed out.
    ids: BTreeSet<ConversationId>,
    now: i64,
    pub steps: usize,
    pub successes: usize,
}

type Outcome = std::result::Result<(), &'static str>;

fn code_of<T>(r: &darkchat::Result<T>) -> Outcome {
    match r {
        Ok(_) => Ok(()),
        Err(e) => Err(e.code()),
    }
}

impl Harness {
    pub fn new(seed: [u8; 32]) -> Self {
        let store = Store::open_in_memory().expect("in-memory store");
        Harness {
            core: Darkchat::new(store, limits(), seed),
            convs: BTreeMap::new(),
            ids: BTreeSet::new(),
            now: 1_700_000_000,
            steps: 0,
            successes: 0,
        }
    }

    /// Runs operations until the choices run out or `max_steps` is reached.
    pub fn run(&mut self, choices: &mut impl Choices, max_steps: usize) {
        for _ in 0..max_steps {
            if self.step(choices).is_none() {
                return;
            }
        }
    }

    fn memberships(&self, number: &str) -> usize {
        self.convs.values().filter(|c| c.members.iter().any(|m| m == number)).count()
    }

    fn number(&self, c: &mut impl Choices) -> Option<Result<PhoneNumber, &'static str>> {
        Some(if c.pick(12)? == 0 {
            let raw = BAD_NUMBERS[c.pick(BAD_NUMBERS.len())?];
            assert!(PhoneNumber::parse(raw).is_err(), "{raw:?} must be refused");
            Err("invalid_argument")
        } else {
            Ok(PhoneNumber::parse(NUMBERS[c.pick(NUMBERS.len())?]).expect("pool number"))
        })
    }

    fn id(&self, c: &mut impl Choices) -> Option<Result<ConversationId, &'static str>> {
        let existing: Vec<i64> = self.convs.keys().map(|id| id.get()).collect();
        let max = self.ids.iter().next_back().map_or(0, |id| id.get());
        let raw = match c.pick(10)? {
            0 => 0,
            1 => -1,
            2 => max + 1,
            3 => self.ids.iter().nth(c.pick(self.ids.len().max(1))?).map_or(1, |id| id.get()), // maybe deleted
            _ if !existing.is_empty() => existing[c.pick(existing.len())?],
            _ => 1,
        };
        Some(input::conversation_id(raw).map_err(|e| e.code()))
    }

    fn name(&self, c: &mut impl Choices) -> Option<Result<ConversationName, &'static str>> {
        Some(if c.pick(8)? == 0 {
            let (raw, code) = BAD_NAMES[c.pick(BAD_NAMES.len())?];
            assert_eq!(ConversationName::parse(raw).unwrap_err().code(), code, "{raw:?}");
            Err(code)
        } else {
            Ok(ConversationName::parse(NAMES[c.pick(NAMES.len())?]).expect("pool name"))
        })
    }

    /// A code: a custom one, an existing conversation's (in any case), or a bad one.
    fn code(&self, c: &mut impl Choices) -> Option<Result<JoinCode, &'static str>> {
        Some(match c.pick(8)? {
            0 => {
                let raw = BAD_CODES[c.pick(BAD_CODES.len())?];
                assert_eq!(
                    JoinCode::parse(raw).unwrap_err().code(),
                    "invalid_join_code",
                    "{raw:?}"
                );
                Err("invalid_join_code")
            }
            1..=3 if !self.convs.is_empty() => {
                let codes: Vec<&String> = self.convs.values().map(|c| &c.code).collect();
                let code = codes[c.pick(codes.len())?];
                let raw = if c.pick(2)? == 0 { code.to_lowercase() } else { code.clone() };
                Ok(JoinCode::parse(&raw).expect("stored codes parse"))
            }
            _ => Ok(JoinCode::parse(CODES[c.pick(CODES.len())?]).expect("pool code")),
        })
    }

    fn content(&self, c: &mut impl Choices) -> Option<(String, bool)> {
        Some(match c.pick(6)? {
            0 => (BAD_CONTENTS[c.pick(BAD_CONTENTS.len())?].to_owned(), false),
            1 => ("x".repeat(limits().max_message_chars + 1), false),
            _ => (CONTENTS[c.pick(CONTENTS.len())?].to_owned(), true),
        })
    }

    fn actor_number(
        &self,
        c: &mut impl Choices,
    ) -> Option<Result<Option<PhoneNumber>, &'static str>> {
        Some(if c.pick(6)? == 0 { Ok(None) } else { self.number(c)?.map(Some) })
    }

    /// The model's checks shared by the owner actions: `Ok(())` for an admin or the owner.
    fn owner_check(&self, id: ConversationId, actor: &Option<PhoneNumber>) -> Outcome {
        let conv = self.convs.get(&id).ok_or("conversation_not_found")?;
        if let Some(number) = actor {
            if !conv.members.iter().any(|m| m == number.as_str()) {
                return Err("not_member");
            }
            if conv.owner != number.as_str() {
                return Err("forbidden");
            }
        }
        Ok(())
    }

    fn member_check(&self, id: ConversationId, number: &PhoneNumber) -> Outcome {
        let conv = self.convs.get(&id).ok_or("conversation_not_found")?;
        if !conv.members.iter().any(|m| m == number.as_str()) {
            return Err("not_member");
        }
        Ok(())
    }

    fn add_check(&self, id: ConversationId, number: &PhoneNumber) -> Outcome {
        let conv = self.convs.get(&id).ok_or("conversation_not_found")?;
        if conv.members.iter().any(|m| m == number.as_str()) {
            return Err("already_member");
        }
        if conv.banned.contains(number.as_str()) {
            return Err("banned");
        }
        if conv.members.len() >= limits().max_members as usize {
            return Err("forbidden");
        }
        if self.memberships(number.as_str()) >= limits().max_conversations_per_number as usize {
            return Err("forbidden");
        }
        Ok(())
    }

    fn apply_add(&mut self, id: ConversationId, number: &str) {
        let conv = self.convs.get_mut(&id).expect("checked");
        conv.members.push(number.to_owned());
        conv.ever.insert(number.to_owned());
    }

    fn apply_remove(&mut self, id: ConversationId, number: &str) {
        let conv = self.convs.get_mut(&id).expect("checked");
        conv.members.retain(|m| m != number);
        if conv.members.is_empty() {
            self.convs.remove(&id);
        } else if conv.owner == number {
            conv.owner = conv.members[0].clone();
        }
    }

    /// One random operation; `None` when the choices ran out.
    pub fn step(&mut self, c: &mut impl Choices) -> Option<()> {
        self.now += 1;
        let now = self.now;
        let before = snapshot(&self.core);
        let op = c.pick(12)?;
        let (label, expected, actual): (String, Outcome, Outcome) = match op {
            // Each arm: when an input broke its rule, the core is never called (it takes only
            // validated types), so the first such error is both the expectation and the
            // outcome; otherwise the model predicts (before the call) and the core answers.
            0 | 1 => {
                let number = self.number(c)?;
                let name = self.name(c)?;
                let code = if c.pick(2)? == 0 { None } else { Some(self.code(c)?) };
                let label = format!("create {number:?} {name:?} {code:?}");
                let (expected, actual) = match (&number, &name, code.clone().transpose()) {
                    (Ok(n), Ok(name), Ok(code)) => {
                        let expected = if self.memberships(n.as_str())
                            >= limits().max_conversations_per_number as usize
                        {
                            Err("forbidden")
                        } else if code.as_ref().is_some_and(|code| {
                            self.convs.values().any(|c| c.code == code.as_str())
                        }) {
                            Err("join_code_taken")
                        } else {
                            Ok(())
                        };
                        let r = self.core.create_conversation(n, name, code.as_ref(), now);
                        if let Ok(conv) = &r {
                            assert!(!self.ids.contains(&conv.id), "id {} reused", conv.id);
                            assert!(self.ids.iter().all(|&old| old < conv.id), "ids increase");
                            self.ids.insert(conv.id);
                            if let Some(code) = &code {
                                assert_eq!(conv.join_code, code.as_str());
                            } else {
                                assert_generated(&conv.join_code);
                            }
                            assert_eq!(conv.recipients, vec![n.as_str().to_owned()]);
                            assert_eq!(conv.owner, n.as_str());
                            self.convs.insert(
                                conv.id,
                                Conv {
                                    name: name.as_str().to_owned(),
                                    code: conv.join_code.clone(),
                                    owner: n.as_str().to_owned(),
                                    members: vec![n.as_str().to_owned()],
                                    ever: [n.as_str().to_owned()].into(),
                                    banned: BTreeSet::new(),
                                },
                            );
                        }
                        (expected, code_of(&r))
                    }
                    (Err(e), _, _) | (_, Err(e), _) => (Err(*e), Err(*e)),
                    (_, _, Err(e)) => (Err(e), Err(e)),
                };
                (label, expected, actual)
            }
            2 => {
                let (number, id) = (self.number(c)?, self.id(c)?);
                let label = format!("add {number:?} {id:?}");
                let (expected, actual) = match (&number, &id) {
                    (Ok(n), Ok(id)) => {
                        let expected = self.add_check(*id, n);
                        let actual = code_of(&self.core.add_member(n, *id, now));
                        if actual.is_ok() {
                            self.apply_add(*id, n.as_str());
                        }
                        (expected, actual)
                    }
                    (Err(e), _) | (_, Err(e)) => (Err(*e), Err(*e)),
                };
                (label, expected, actual)
            }
            3 => {
                let (number, id, is_self) = (self.number(c)?, self.id(c)?, c.pick(2)? == 0);
                let label = format!("remove {number:?} {id:?} {is_self}");
                let (expected, actual) = match (&number, &id) {
                    (Ok(n), Ok(id)) => {
                        let expected = self.member_check(*id, n);
                        let r = self.core.remove_member(n, *id, is_self, now);
                        if let Ok(change) = &r {
                            let deleted = self.convs[id].members.len() == 1;
                            assert_eq!(change.deleted, deleted);
                            self.apply_remove(*id, n.as_str());
                        }
                        (expected, code_of(&r))
                    }
                    (Err(e), _) | (_, Err(e)) => (Err(*e), Err(*e)),
                };
                (label, expected, actual)
            }
            4 => {
                let (number, code) = (self.number(c)?, self.code(c)?);
                let label = format!("join {number:?} {code:?}");
                let (expected, actual) = match (&number, &code) {
                    (Ok(n), Ok(code)) => {
                        let target = self
                            .convs
                            .iter()
                            .find(|(_, c)| c.code == code.as_str())
                            .map(|(id, _)| *id);
                        let expected = match target {
                            None => Err("conversation_not_found"),
                            Some(id) => self.add_check(id, n),
                        };
                        let r = self.core.join_by_code(n, code, now);
                        if let Ok((conv, _)) = &r {
                            assert_eq!(Some(conv.id), target);
                            assert!(conv.is_it_read, "the joiner has read up to their own joining");
                        }
                        let actual = code_of(&r);
                        if let (Ok(()), Some(id)) = (actual, target) {
                            self.apply_add(id, n.as_str());
                        }
                        (expected, actual)
                    }
                    (Err(e), _) | (_, Err(e)) => (Err(*e), Err(*e)),
                };
                (label, expected, actual)
            }
            5 | 6 => {
                let (number, id, (text, good)) = (self.number(c)?, self.id(c)?, self.content(c)?);
                let label = format!("send {number:?} {id:?} {text:?}");
                let (expected, actual) = match (&number, &id) {
                    (Ok(n), Ok(id)) => {
                        let expected =
                            if good { self.member_check(*id, n) } else { Err("invalid_argument") };
                        let r = self.core.send_message(n, *id, &text, now);
                        if let Ok((message, members)) = &r {
                            assert_eq!(message.content, text.trim());
                            assert_eq!(members, &self.convs[id].members);
                        }
                        (expected, code_of(&r))
                    }
                    (Err(e), _) | (_, Err(e)) => (Err(*e), Err(*e)),
                };
                (label, expected, actual)
            }
            7 => {
                let (actor, id, name) = (self.actor_number(c)?, self.id(c)?, self.name(c)?);
                let label = format!("rename {actor:?} {id:?} {name:?}");
                let (expected, actual) = match (&actor, &id, &name) {
                    (Ok(a), Ok(id), Ok(name)) => {
                        let expected = self.owner_check(*id, a);
                        let actual = code_of(&self.core.rename(actor_of(a), *id, name, now));
                        if actual.is_ok() {
                            self.convs.get_mut(id).expect("renamed").name =
                                name.as_str().to_owned();
                        }
                        (expected, actual)
                    }
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => (Err(*e), Err(*e)),
                };
                (label, expected, actual)
            }
            8 => {
                let (actor, id) = (self.actor_number(c)?, self.id(c)?);
                let label = format!("regenerate {actor:?} {id:?}");
                let (expected, actual) = match (&actor, &id) {
                    (Ok(a), Ok(id)) => {
                        let expected = self.owner_check(*id, a);
                        let r = self.core.regenerate_code(actor_of(a), *id);
                        if let Ok(code) = &r {
                            assert_generated(code);
                            let conv = self.convs.get_mut(id).expect("regenerated");
                            assert_ne!(&conv.code, code, "a new code");
                            conv.code = code.clone();
                        }
                        (expected, code_of(&r))
                    }
                    (Err(e), _) | (_, Err(e)) => (Err(*e), Err(*e)),
                };
                (label, expected, actual)
            }
            9 => {
                let (actor, id, to) = (self.actor_number(c)?, self.id(c)?, self.number(c)?);
                let label = format!("transfer {actor:?} {id:?} {to:?}");
                let (expected, actual) = match (&actor, &id, &to) {
                    (Ok(a), Ok(id), Ok(to)) => {
                        let expected =
                            self.owner_check(*id, a).and_then(|()| self.member_check(*id, to));
                        let actual =
                            code_of(&self.core.transfer_ownership(actor_of(a), *id, to, now));
                        if actual.is_ok() {
                            self.convs.get_mut(id).expect("transferred").owner =
                                to.as_str().to_owned();
                        }
                        (expected, actual)
                    }
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => (Err(*e), Err(*e)),
                };
                (label, expected, actual)
            }
            10 => {
                let (actor, id, number) = (self.actor_number(c)?, self.id(c)?, self.number(c)?);
                let ban = c.pick(2)? == 0;
                let label = format!("kick {actor:?} {id:?} {number:?} ban {ban}");
                let (expected, actual) = match (&actor, &id, &number) {
                    (Ok(a), Ok(id), Ok(n)) => {
                        let expected = self.owner_check(*id, a).and_then(|()| {
                            self.member_check(*id, n)?;
                            if a.as_ref() == Some(n) {
                                return Err("forbidden");
                            }
                            Ok(())
                        });
                        let actual = code_of(&self.core.kick(actor_of(a), *id, n, ban, now));
                        if actual.is_ok() {
                            if ban {
                                let conv = self.convs.get_mut(id).expect("kicked from");
                                conv.banned.insert(n.as_str().to_owned());
                            }
                            self.apply_remove(*id, n.as_str());
                        }
                        (expected, actual)
                    }
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => (Err(*e), Err(*e)),
                };
                (label, expected, actual)
            }
            _ => match c.pick(3)? {
                0 => {
                    let (actor, id) = (self.actor_number(c)?, self.id(c)?);
                    let label = format!("delete {actor:?} {id:?}");
                    let (expected, actual) = match (&actor, &id) {
                        (Ok(a), Ok(id)) => {
                            let expected = self.owner_check(*id, a);
                            let actual = code_of(&self.core.delete(actor_of(a), *id));
                            if actual.is_ok() {
                                self.convs.remove(id);
                            }
                            (expected, actual)
                        }
                        (Err(e), _) | (_, Err(e)) => (Err(*e), Err(*e)),
                    };
                    (label, expected, actual)
                }
                _ => {
                    let (number, id) = (self.number(c)?, self.id(c)?);
                    let up_to = if c.pick(2)? == 0 {
                        None
                    } else {
                        Some(MessageId(c.pick(50)? as i64 + 1))
                    };
                    let label = format!("markRead {number:?} {id:?} {up_to:?}");
                    let (expected, actual) = match (&number, &id) {
                        (Ok(n), Ok(id)) => (
                            self.member_check(*id, n),
                            code_of(&self.core.mark_read(n, *id, up_to)),
                        ),
                        (Err(e), _) | (_, Err(e)) => (Err(*e), Err(*e)),
                    };
                    (label, expected, actual)
                }
            },
        };
        self.steps += 1;
        assert_eq!(actual, expected, "step {}: {label}", self.steps);
        if actual.is_ok() {
            self.successes += 1;
        } else {
            assert_eq!(
                snapshot(&self.core),
                before,
                "step {}: the failed {label} wrote something",
                self.steps
            );
        }
        self.check(&label);
        Some(())
    }

    /// The store agrees with the model, and its invariants hold.
    pub fn check(&self, label: &str) {
        let conn = self.core.store().connection();
        let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
        let ctx = format!("after step {} ({label})", self.steps);
        assert_eq!(
            q("SELECT count(*) FROM conversations c WHERE NOT EXISTS \
               (SELECT 1 FROM members m WHERE m.conversation_id = c.id)"),
            0,
            "a conversation without members {ctx}"
        );
        assert_eq!(
            q("SELECT count(*) FROM conversations c WHERE NOT EXISTS \
               (SELECT 1 FROM members m WHERE m.conversation_id = c.id AND m.phone_id = c.owner_id)"),
            0,
            "an owner who is not a member {ctx}"
        );
        assert_eq!(
            q("SELECT count(*) FROM (SELECT 1 FROM members GROUP BY conversation_id, phone_id HAVING count(*) > 1)"),
            0,
            "duplicate members {ctx}"
        );
        assert_eq!(
            q("SELECT count(*) - count(DISTINCT upper(join_code)) FROM conversations"),
            0,
            "codes {ctx}"
        );
        assert_eq!(
            q("SELECT count(*) FROM messages WHERE conversation_id NOT IN (SELECT id FROM conversations)"),
            0,
            "messages outlived their conversation {ctx}"
        );
        assert_eq!(
            q("SELECT count(*) FROM members WHERE conversation_id NOT IN (SELECT id FROM conversations)"),
            0,
            "members outlived their conversation {ctx}"
        );
        assert_eq!(
            q("SELECT count(*) FROM bans WHERE conversation_id NOT IN (SELECT id FROM conversations)"),
            0,
            "bans outlived their conversation {ctx}"
        );
        assert_eq!(
            q("SELECT count(*) FROM (SELECT 1 FROM members GROUP BY conversation_id, lower(alias) \
               HAVING count(*) > 1)"),
            0,
            "two members of a conversation go by one alias {ctx}"
        );
        assert_eq!(
            q("SELECT count(*) FROM members m JOIN phones p ON p.id = m.phone_id \
               WHERE length(m.alias) < 2 OR instr(m.alias, trim(p.number)) > 0"),
            0,
            "an alias that is empty or holds the member's number {ctx}"
        );
        let mut stmt = conn.prepare("SELECT id FROM conversations ORDER BY id").unwrap();
        let ids: Vec<i64> = stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(
            ids,
            self.convs.keys().map(|id| id.get()).collect::<Vec<_>>(),
            "conversation ids {ctx}"
        );
        for (id, model) in &self.convs {
            let seen = self.core.conversation_for_admin(*id).expect("admin view");
            assert_eq!(seen.name, model.name, "name of {id} {ctx}");
            assert_eq!(seen.join_code, model.code, "code of {id} {ctx}");
            assert!(
                JoinCode::parse(&seen.join_code).is_ok_and(|c| c.as_str() == seen.join_code),
                "code rule {ctx}"
            );
            assert_eq!(seen.owner, model.owner, "owner of {id} {ctx}");
            assert_eq!(seen.recipients, model.members, "members of {id} {ctx}");
            let bans: BTreeSet<String> = self
                .core
                .bans(Actor::Admin, *id)
                .expect("bans")
                .into_iter()
                .map(|b| b.number)
                .collect();
            assert_eq!(bans, model.banned, "bans of {id} {ctx}");
        }
        // Text messages only from (then) members.
        let mut stmt = conn
            .prepare("SELECT m.conversation_id, p.number FROM messages m JOIN phones p ON p.id = m.sender_id WHERE m.kind = 'text'")
            .unwrap();
        let senders: Vec<(i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for (id, sender) in senders {
            assert!(
                self.convs[&ConversationId(id)].ever.contains(&sender),
                "{sender} posted in {id} without being a member {ctx}"
            );
        }
    }
}

fn actor_of(number: &Option<PhoneNumber>) -> Actor<'_> {
    number.as_ref().map_or(Actor::Admin, Actor::Member)
}

/// A generated join code as documented (README "Inputs"): six characters of this alphabet,
/// spelled out here so that a wrong alphabet or length in the library fails the model.
fn assert_generated(code: &str) {
    const DOCUMENTED_ALPHABET: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    assert_eq!(code.len(), 6, "{code}");
    assert!(code.chars().all(|c| DOCUMENTED_ALPHABET.contains(c)), "{code}");
}

/// The whole database content as text (every row of every table, and the id sequences).
pub fn snapshot(core: &Darkchat) -> String {
    let conn = core.store().connection();
    let mut out = String::new();
    for table in [
        "phones",
        "conversations",
        "members",
        "messages",
        "bans",
        "standalone_numbers",
        "sqlite_sequence",
    ] {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        out.push_str(table);
        out.push('\n');
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                out.push_str(&format!("{:?}|", row.get_ref(i).unwrap()));
            }
            out.push('\n');
        }
    }
    out
}
