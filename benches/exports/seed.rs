//! The server-scale database: 50,000 phone numbers, 100,000 conversations, 1,000,000 messages.
//!
//! The schema comes from the real migrations (`darkchat::Store::open` on an empty file); the
//! rows are then bulk-inserted straight through rusqlite in one transaction, with the journal
//! and syncs off (a half-written seed is never used: it is built under a temporary name and
//! renamed only when complete). The result is kept at `seed.db` and reused while it still has
//! the right counts and schema version; each benchmark run works on a file copy of it.
//!
//! Seeding runs in a child process (`--seed-only`), so the generator's memory never shows in
//! the resident-memory figures of the measuring process.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection};

/// Sets conversations' copy of their last message (`last_sender` ... `last_created_at`) from
/// the message `last_message_id` points at (NULLs when it is 0), as the store keeps it; a
/// `WHERE` clause follows. A macro so statements stay `&'static str`.
macro_rules! copy_last_message {
    () => {
        "UPDATE conversations \
            SET (last_sender, last_kind, last_event, last_content, last_created_at) = \
                (SELECT p.number, m.kind, m.event, m.content, m.created_at \
                   FROM messages m LEFT JOIN phones p ON p.id = m.sender_id \
                  WHERE m.id = conversations.last_message_id)"
    };
}
pub(crate) use copy_last_message;

pub const PHONES: i64 = 50_000;
pub const CONVERSATIONS: i64 = 100_000;
pub const MESSAGES: i64 = 1_000_000;
/// Members per conversation: 1..=MAX_MEMBERS, skewed towards small groups.
const MAX_MEMBERS: usize = 30;

/// Seeded phone numbers are 10-digit numbers below this; fresh numbers (for create) start
/// with 9, so they never collide with a seeded one.
pub const SEEDED_NUMBER_END: u64 = 8_000_000_000;
const SEEDED_NUMBER_START: u64 = 2_000_000_000;

/// The seeded history spans 90 days before this instant (unix seconds).
const T0: i64 = 1_700_000_000;
const SPAN: i64 = 90 * 86_400;

const CODE_ALPHABET: &[u8] = darkchat::input::GENERATED_CODE_ALPHABET;

/// What the parent learns from the seeding child (one JSON line on its stdout).
#[derive(Debug, Clone)]
pub struct SeedReport {
    pub reused: bool,
    pub seconds: f64,
    pub memberships: i64,
    pub bytes: u64,
}

impl SeedReport {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "reused": self.reused, "seconds": self.seconds,
            "memberships": self.memberships, "bytes": self.bytes,
        })
    }

    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        Some(SeedReport {
            reused: v["reused"].as_bool()?,
            seconds: v["seconds"].as_f64()?,
            memberships: v["memberships"].as_i64()?,
            bytes: v["bytes"].as_u64()?,
        })
    }
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Child-process entry: makes sure `path` holds a complete seed, building it if needed.
pub fn ensure(path: &Path, force: bool) -> AnyResult<SeedReport> {
    let started = Instant::now();
    if !force {
        if let Some(memberships) = usable(path)? {
            let bytes = std::fs::metadata(path)?.len();
            return Ok(SeedReport {
                reused: true,
                seconds: started.elapsed().as_secs_f64(),
                memberships,
                bytes,
            });
        }
    }
    let tmp = path.with_extension("db.tmp");
    for stale in [path.to_owned(), tmp.clone()] {
        remove_database(&stale);
    }
    // The schema exactly as the resource creates it.
    drop(darkchat::Store::open(&tmp)?);
    let memberships = fill(&tmp)?;
    std::fs::rename(&tmp, path)?;
    let bytes = std::fs::metadata(path)?.len();
    Ok(SeedReport { reused: false, seconds: started.elapsed().as_secs_f64(), memberships, bytes })
}

/// Removes a database file and its WAL companions, if present.
pub fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(&name);
    }
}

/// The membership count when `path` is a finished seed of the current schema; None otherwise.
fn usable(path: &Path) -> AnyResult<Option<i64>> {
    if !path.exists() {
        return Ok(None);
    }
    let Ok(conn) = Connection::open(path) else { return Ok(None) };
    let check = || -> rusqlite::Result<Option<i64>> {
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version != darkchat::store::migrations::latest_version() {
            return Ok(None);
        }
        let count = |table: &str| -> rusqlite::Result<i64> {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        };
        let right = count("phones")? == PHONES
            && count("conversations")? == CONVERSATIONS
            && count("messages")? == MESSAGES;
        let memberships = count("members")?;
        // Fold any leftover log into the file, so a plain file copy is the whole database.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok((right && memberships >= CONVERSATIONS).then_some(memberships))
    };
    Ok(check().unwrap_or(None))
}

/// One conversation as generated, before insertion.
struct Conv {
    created_at: i64,
    /// Phone ids, creator (owner) first, in joining order.
    members: Vec<i64>,
    joined_at: Vec<i64>,
    /// Ids of its messages, ascending.
    message_ids: Vec<i64>,
    last_message_at: i64,
}

fn fill(path: &Path) -> AnyResult<i64> {
    let mut rng = StdRng::seed_from_u64(0x0170_DA2C);
    let end = T0 + SPAN;

    let numbers = distinct(&mut rng, PHONES as usize, |rng| {
        rng.random_range(SEEDED_NUMBER_START..SEEDED_NUMBER_END)
    });
    let codes = distinct(&mut rng, CONVERSATIONS as usize, |rng| {
        let mut code = [0u8; 6];
        for b in &mut code {
            *b = CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())];
        }
        code
    });

    // Conversations, created evenly over the span (ids ascend with time, as AUTOINCREMENT
    // does); most groups are small, a few reach 30 members.
    let mut convs: Vec<Conv> = (0..CONVERSATIONS)
        .map(|i| {
            let created_at = T0 + i * SPAN / CONVERSATIONS;
            let u: f64 = rng.random();
            let size = 1 + ((MAX_MEMBERS - 1) as f64 * u * u) as usize;
            let mut members = Vec::with_capacity(size);
            while members.len() < size {
                let phone = rng.random_range(1..=PHONES);
                if !members.contains(&phone) {
                    members.push(phone);
                }
            }
            let mut joined_at: Vec<i64> = (0..size)
                .map(|j| if j == 0 { created_at } else { rng.random_range(created_at..end) })
                .collect();
            joined_at.sort_unstable();
            Conv {
                created_at,
                members,
                joined_at,
                message_ids: Vec::new(),
                last_message_at: created_at,
            }
        })
        .collect();

    // Message counts: a tenth of the conversations are busy and hold most of the history;
    // then adjusted so the total is exactly MESSAGES.
    let mut counts: Vec<i64> = (0..CONVERSATIONS)
        .map(|_| {
            if rng.random_bool(0.1) {
                rng.random_range(20..=130)
            } else {
                rng.random_range(0..=5)
            }
        })
        .collect();
    let mut total: i64 = counts.iter().sum();
    while total != MESSAGES {
        let i = rng.random_range(0..counts.len());
        if total > MESSAGES && counts[i] > 0 {
            counts[i] -= 1;
            total -= 1;
        } else if total < MESSAGES && counts[i] >= 20 {
            counts[i] += 1;
            total += 1;
        }
    }

    // Every message gets a time after its conversation's creation; ids follow global time,
    // so a conversation's messages are interleaved with everyone else's in the table, as on
    // a live server. Sender: a random member who had joined by then (else the creator).
    let mut events: Vec<(i64, u32, i64)> = Vec::with_capacity(MESSAGES as usize);
    for (c, conv) in convs.iter().enumerate() {
        for _ in 0..counts[c] {
            let at = rng.random_range(conv.created_at..end);
            let j = rng.random_range(0..conv.members.len());
            let sender = if conv.joined_at[j] <= at { conv.members[j] } else { conv.members[0] };
            events.push((at, c as u32, sender));
        }
    }
    events.sort_unstable_by_key(|e| e.0);

    let conn = Connection::open(path)?;
    // Seeding only: no journal, no syncs, a large cache so index inserts stay in memory.
    conn.query_row("PRAGMA journal_mode = OFF", [], |_| Ok(()))?;
    conn.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY;
         PRAGMA foreign_keys = OFF;",
    )?;
    let tx = conn.unchecked_transaction()?;
    {
        let mut phone = tx.prepare("INSERT INTO phones (id, number) VALUES (?1, ?2)")?;
        for (i, n) in numbers.iter().enumerate() {
            phone.execute(params![i as i64 + 1, n.to_string()])?;
        }

        let mut message = tx.prepare(
            "INSERT INTO messages (id, conversation_id, sender_id, kind, event, content, created_at) \
             VALUES (?1, ?2, ?3, 'text', NULL, ?4, ?5)",
        )?;
        let mut content = String::new();
        for (i, &(at, c, sender)) in events.iter().enumerate() {
            let id = i as i64 + 1;
            content.clear();
            content.push_str(TEXTS[rng.random_range(0..TEXTS.len())]);
            if rng.random_bool(0.5) {
                content.push(' ');
                content.push_str(TEXTS[rng.random_range(0..TEXTS.len())]);
            }
            message.execute(params![id, c as i64 + 1, sender, content, at])?;
            let conv = &mut convs[c as usize];
            conv.message_ids.push(id);
            conv.last_message_at = at;
        }
        drop(events);

        let mut conversation = tx.prepare(
            "INSERT INTO conversations (id, name, app_name, created_by, owner_id, join_code, \
             created_at, updated_at, last_message_id) VALUES (?1, ?2, 'darkchat', ?3, ?3, ?4, ?5, ?6, ?7)",
        )?;
        // Members in joining order within each conversation: the smallest id is the oldest.
        let mut member = tx.prepare(
            "INSERT INTO members (id, conversation_id, phone_id, joined_at, last_read_message_id, \
             alias, alias_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, lower(?6))",
        )?;
        let mut member_id = 0i64;
        for (c, conv) in convs.iter().enumerate() {
            let id = c as i64 + 1;
            let name = format!(
                "{} {}",
                ADJECTIVES[rng.random_range(0..ADJECTIVES.len())],
                NOUNS[rng.random_range(0..NOUNS.len())]
            );
            let code = std::str::from_utf8(&codes[c])?;
            let last = conv.message_ids.last().copied().unwrap_or(0);
            conversation.execute(params![
                id,
                name,
                conv.members[0],
                code,
                conv.created_at,
                conv.last_message_at,
                last
            ])?;
            for (j, &phone) in conv.members.iter().enumerate() {
                member_id += 1;
                // Most members are caught up; the rest stopped reading somewhere.
                let read = match conv.message_ids.len() {
                    0 => 0,
                    n if rng.random_bool(0.7) => conv.message_ids[n - 1],
                    n => conv.message_ids[rng.random_range(0..n)],
                };
                // Aliases are unique per conversation (migration 0004): "Member <n>" is.
                let alias = format!("Member {}", j + 1);
                member.execute(params![member_id, id, phone, conv.joined_at[j], read, alias])?;
            }
        }
    }
    // Each conversation's copy of its last message, as the store keeps it.
    tx.execute_batch(concat!(copy_last_message!(), " WHERE last_message_id > 0"))?;
    tx.commit()?;
    // Back to WAL, as the store runs it; closing leaves a single self-contained file.
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    let memberships: i64 = conn.query_row("SELECT count(*) FROM members", [], |r| r.get(0))?;
    drop(conn);
    Ok(memberships)
}

/// `n` distinct values drawn by `draw`, in drawing order.
fn distinct<T: std::hash::Hash + Eq + Copy>(
    rng: &mut StdRng,
    n: usize,
    mut draw: impl FnMut(&mut StdRng) -> T,
) -> Vec<T> {
    let mut seen = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let v = draw(rng);
        if seen.insert(v) {
            out.push(v);
        }
    }
    out
}

const ADJECTIVES: &[&str] = &[
    "Midnight",
    "Silent",
    "Red",
    "Ghost",
    "Southside",
    "Paleto",
    "Vinewood",
    "Harbor",
    "Neon",
    "Desert",
    "Quiet",
    "Iron",
    "Velvet",
    "Lucky",
    "Northern",
    "Burnt",
];
const NOUNS: &[&str] = &[
    "Crew",
    "Heist Planning",
    "Runners",
    "Syndicate",
    "Garage",
    "Club",
    "Dealers",
    "Drivers",
    "Lookouts",
    "Family",
    "Network",
    "Meet",
    "Market",
    "Union",
];
const TEXTS: &[&str] = &[
    "meet at the docks in 10",
    "who has the van?",
    "cops on grove street, stay away",
    "ok",
    "on my way",
    "bring the tools and two bags, we go at midnight",
    "price went up, 40k now",
    "lol",
    "anyone selling a burner?",
    "same spot as last time",
    "got it, thanks",
    "don't use the main road",
    "need a driver for tonight, pays well",
    "👀",
    "call me when you're free",
    "the code changed, ask the owner",
];
