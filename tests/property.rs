//! Property tests on stable Rust (run by `cargo test`): random sequences of domain operations
//! with valid and invalid inputs, checked after every step against an in-memory model and the
//! store's invariants (tests/support/model.rs), and the input parsers on random strings, bytes
//! and floats against the rules written out again here.
//!
//! Fixed seeds, so a failure reproduces. CI runs a bounded number of cases (a few seconds);
//! `DARKCHAT_PROPTEST_CASES=20000 cargo test --release --test property` runs longer locally,
//! and `DARKCHAT_PROPTEST_SEED=<n>` moves to other seeds.

mod support;

use support::model;

use darkchat::input::{
    self, ConversationName, JoinCode, PhoneNumber, MAX_INPUT_BYTES, MAX_SAFE_INTEGER,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn cases(default: usize) -> usize {
    std::env::var("DARKCHAT_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn base_seed() -> u64 {
    std::env::var("DARKCHAT_PROPTEST_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x0da4_c4a7)
}

struct Random(StdRng);

impl model::Choices for Random {
    fn pick(&mut self, n: usize) -> Option<usize> {
        Some(self.0.random_range(0..n))
    }
}

#[test]
fn random_operation_sequences_keep_every_invariant() {
    let sequences = cases(300);
    let (mut steps, mut successes) = (0, 0);
    for case in 0..sequences as u64 {
        let seed = base_seed().wrapping_add(case);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut core_seed = [0u8; 32];
        rng.fill(&mut core_seed);
        let mut harness = model::Harness::new(core_seed);
        let length = rng.random_range(1..120);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            harness.run(&mut Random(rng), length);
        }));
        if let Err(panic) = result {
            eprintln!("failing sequence: DARKCHAT_PROPTEST_SEED={seed} DARKCHAT_PROPTEST_CASES=1");
            std::panic::resume_unwind(panic);
        }
        steps += harness.steps;
        successes += harness.successes;
    }
    eprintln!("property: {sequences} sequences, {steps} operations ({successes} succeeded)");
    assert!(successes * 5 > steps, "the generator must reach success often: {successes}/{steps}");
}

// --- the input rules, written out again ------------------------------------------------------

fn trimmed_chars(raw: &str) -> Option<(String, usize)> {
    if raw.len() > MAX_INPUT_BYTES {
        return None;
    }
    let t = raw.trim_matches(char::is_whitespace).to_owned();
    let n = t.chars().count();
    Some((t, n))
}

fn number_rule(raw: &str) -> Option<String> {
    let (t, n) = trimmed_chars(raw)?;
    ((1..=20).contains(&n) && !t.chars().any(char::is_control)).then_some(t)
}

fn name_rule(raw: &str) -> Result<String, &'static str> {
    let (t, n) = trimmed_chars(raw).ok_or("invalid_argument")?;
    // The set of invisible characters is the crate's data; the rule that uses it is written
    // out again (a plain scan of its ranges).
    let invisible =
        |c: char| input::INVISIBLE.iter().any(|&(first, last)| (first..=last).contains(&c));
    if (1..=64).contains(&n) && !t.chars().any(|c| c.is_control() || invisible(c)) {
        Ok(t)
    } else {
        Err("invalid_name")
    }
}

fn code_rule(raw: &str) -> Result<String, &'static str> {
    let (t, _) = trimmed_chars(raw).ok_or("invalid_argument")?;
    if (4..=16).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(t.to_ascii_uppercase())
    } else {
        Err("invalid_join_code")
    }
}

const PIECES: &[&str] = &[
    "a", "Z", "0", "9", "x", " ", "\t", "\n", "\r", "\u{0}", "\u{7}", "\u{1b}", "\u{7f}", "\u{85}",
    "\u{a0}", "\u{2028}", "\u{3000}", "é", "中", "🙂", "\u{200b}", "\u{feff}", "-", "'", ";", "\"",
    "%", "_",
];

const ALNUM: &[&str] = &["a", "Z", "0", "9", "k", "Q", "7", " ", "-"];

fn random_string(rng: &mut StdRng) -> String {
    let len = match rng.random_range(0..20) {
        0 => rng.random_range(MAX_INPUT_BYTES - 8..MAX_INPUT_BYTES + 8),
        1..=3 => rng.random_range(10..70),
        _ => rng.random_range(0..22),
    };
    // One string in four is mostly letters and digits, so codes are often valid too.
    let pieces = if rng.random_range(0..4) == 0 { ALNUM } else { PIECES };
    let mut s = String::new();
    while s.len() < len {
        s.push_str(pieces[rng.random_range(0..pieces.len())]);
    }
    s
}

fn check_string(raw: &str) {
    assert_eq!(
        PhoneNumber::parse(raw).ok().map(|n| n.as_str().to_owned()),
        number_rule(raw),
        "number {raw:?}"
    );
    if let Err(e) = PhoneNumber::parse(raw) {
        assert_eq!(e.code(), "invalid_argument");
    }
    let name = ConversationName::parse(raw).map(|n| n.as_str().to_owned()).map_err(|e| e.code());
    assert_eq!(name, name_rule(raw), "name {raw:?}");
    let code = JoinCode::parse(raw).map(|c| c.as_str().to_owned()).map_err(|e| e.code());
    assert_eq!(code, code_rule(raw), "code {raw:?}");
    let message = input::message_text(raw, 40);
    let t = raw.trim();
    let n = t.chars().count();
    let want = raw.len() <= 160
        && (1..=40).contains(&n)
        && !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
    assert_eq!(message.is_ok(), want, "message {raw:?}");
}

#[test]
fn parsers_accept_exactly_per_the_rules_on_random_strings_and_bytes() {
    let mut rng = StdRng::seed_from_u64(base_seed() ^ 0x5eed);
    let n = cases(150) * 200;
    let mut accepted = [0usize; 3];
    for _ in 0..n {
        let raw = random_string(&mut rng);
        check_string(&raw);
        accepted[0] += PhoneNumber::parse(&raw).is_ok() as usize;
        accepted[1] += ConversationName::parse(&raw).is_ok() as usize;
        accepted[2] += JoinCode::parse(&raw).is_ok() as usize;
        // Random bytes: whatever is valid UTF-8 goes through the same parsers.
        let bytes: Vec<u8> = (0..rng.random_range(0..24)).map(|_| rng.random()).collect();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            check_string(text);
        }
    }
    eprintln!(
        "parsers: {n} random strings; accepted numbers {}, names {}, codes {}",
        accepted[0], accepted[1], accepted[2]
    );
    assert!(accepted.iter().all(|&a| a > 0), "the generator reaches valid inputs: {accepted:?}");
}

#[test]
fn integral_accepts_exactly_the_safe_integers() {
    let mut rng = StdRng::seed_from_u64(base_seed() ^ 0xf10a7);
    let special = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        1.5,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        9007199254740991.0,
        9007199254740992.0,
        -9007199254740991.0,
        -9007199254740992.0,
        2f64.powi(63),
        -(2f64.powi(63)),
        2f64.powi(31),
        4294967296.0,
    ];
    let n = cases(150) * 400;
    for i in 0..n + special.len() {
        let f = if i < special.len() {
            special[i]
        } else {
            match rng.random_range(0..4) {
                0 => f64::from_bits(rng.random()),
                1 => rng.random_range(-1e6..1e6f64).round(),
                2 => (rng.random_range(-(1i64 << 54)..(1i64 << 54))) as f64,
                _ => rng.random_range(-100.0..100.0f64),
            }
        };
        let want = f.is_finite() && f.trunc() == f && f.abs() <= MAX_SAFE_INTEGER as f64;
        match input::integral(f, "x") {
            Ok(v) => {
                assert!(want, "{f:?} accepted");
                assert_eq!(v as f64, f, "{f:?} kept its value");
                let id = input::conversation_id(v);
                assert_eq!(id.is_ok(), v > 0, "conversation id {v}");
                let src = input::player_source(v);
                assert_eq!(src.is_ok(), v > 0 && v <= i64::from(i32::MAX), "source {v}");
                let number = PhoneNumber::from_integer(v);
                assert_eq!(
                    number.map(|n| n.as_str().to_owned()).ok(),
                    (v > 0).then(|| v.to_string()),
                    "number {v}"
                );
            }
            Err(e) => {
                assert!(!want, "{f:?} refused");
                assert_eq!(e.code(), "invalid_argument");
            }
        }
    }
    for v in [i64::MIN, -1, 0, 1, MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, i64::MAX] {
        assert_eq!(input::conversation_id(v).is_ok(), (1..=MAX_SAFE_INTEGER).contains(&v), "{v}");
        assert_eq!(
            PhoneNumber::from_integer(v).is_ok(),
            (1..=MAX_SAFE_INTEGER).contains(&v),
            "{v}"
        );
    }
}
