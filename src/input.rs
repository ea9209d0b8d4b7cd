//! Validated inputs. Every value from outside (Lua, JSON, the console) becomes one of these
//! types before the core sees it, so the input rules live here and nowhere else.
//!
//! Size guard: any string over [`MAX_INPUT_BYTES`] is `invalid_argument` before its own rule is
//! looked at. (The hosts copy a string argument only up to `api::max_arg_bytes`, a message's
//! bound at the configured length; anything longer, a 10 MB string say, costs them one length
//! check.)

use crate::error::{Error, Result};
use crate::ids::ConversationId;

/// Hard cap on any string argument, in bytes (names, numbers, codes).
pub const MAX_INPUT_BYTES: usize = 4096;
/// Largest integer accepted where an integer id or number is expected (2^53 - 1: exact in a double,
/// the largest a JS or MessagePack caller can send without rounding).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

const NUMBER_MAX_CHARS: usize = 20;
const NAME_MAX_CHARS: usize = 64;
const CODE_MIN_LEN: usize = 4;
const CODE_MAX_LEN: usize = 16;

/// Alphabet of generated join codes: no 0/O, 1/I, so codes read aloud survive.
pub const GENERATED_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
pub const GENERATED_CODE_LEN: usize = 6;

/// A phone number as the framework writes it: trimmed, 1-20 characters, no control characters.
/// `5550123` and `"5550123"` are the same number; `"555-0123"` is kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self> {
        let text = bounded(raw, "number")?.trim();
        let chars = text.chars().count();
        if chars == 0 || chars > NUMBER_MAX_CHARS || text.chars().any(char::is_control) {
            return Err(Error::invalid("number"));
        }
        Ok(PhoneNumber(text.to_owned()))
    }

    /// A number given as an integer (Lua or JSON): positive, written in decimal.
    pub fn from_integer(value: i64) -> Result<Self> {
        if value <= 0 || value > MAX_SAFE_INTEGER {
            return Err(Error::invalid("number"));
        }
        Ok(PhoneNumber(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters a name may not hold besides the control characters, as sorted inclusive ranges:
/// they render as nothing or reorder the text around them, so a name could look like another
/// (`Crew` and `Cr<U+200B>ew`) or display as something else (U+202E turns what follows
/// around). The set:
/// - every Unicode format character (general category Cf): the soft hyphen, bidirectional
///   marks, embeddings, overrides and isolates, zero-width space and joiners (so emoji joined
///   into one, such as families, are refused too), word joiner and invisible operators, the
///   byte order mark, interlinear annotation marks, tags, and the rest of Cf;
/// - the line and paragraph separators (U+2028, U+2029);
/// - other characters that show nothing: the combining grapheme joiner (U+034F), the Hangul
///   fillers (U+115F, U+1160, U+3164, U+FFA0), the Khmer inherent vowels (U+17B4, U+17B5), the
///   Mongolian free variation selectors (U+180B-U+180D, U+180F) and the Braille blank (U+2800).
///
/// Variation selectors (U+FE00-U+FE0F) stay allowed: emoji need them. The console escapes the
/// same set when it prints user-written text (lua/commands.lua).
pub const INVISIBLE: &[(char, char)] = &[
    ('\u{AD}', '\u{AD}'),
    ('\u{34F}', '\u{34F}'),
    ('\u{600}', '\u{605}'),
    ('\u{61C}', '\u{61C}'),
    ('\u{6DD}', '\u{6DD}'),
    ('\u{70F}', '\u{70F}'),
    ('\u{890}', '\u{891}'),
    ('\u{8E2}', '\u{8E2}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{2028}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{2800}', '\u{2800}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// Whether `c` is in [`INVISIBLE`].
pub fn is_invisible(c: char) -> bool {
    INVISIBLE
        .binary_search_by(|&(first, last)| {
            if last < c {
                std::cmp::Ordering::Less
            } else if first > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// A conversation name: trimmed, 1-64 characters, no control characters and none of
/// [`INVISIBLE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationName(String);

impl ConversationName {
    pub fn parse(raw: &str) -> Result<Self> {
        let text = bounded(raw, "name")?.trim();
        let chars = text.chars().count();
        if chars == 0
            || chars > NAME_MAX_CHARS
            || text.chars().any(|c| c.is_control() || is_invisible(c))
        {
            return Err(Error::InvalidName);
        }
        Ok(ConversationName(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const ALIAS_MIN_CHARS: usize = 2;
const ALIAS_MAX_CHARS: usize = 24;

/// Words of generated aliases ("Night Owl"): readable, and chosen at random, never from the
/// member's number. The migration that gave existing members aliases uses the same lists.
const ALIAS_ADJECTIVES: [&str; 32] = [
    "Amber", "Brave", "Calm", "Clever", "Crimson", "Dusty", "Eager", "Fuzzy", "Gentle", "Golden",
    "Hidden", "Icy", "Jolly", "Lucky", "Misty", "Night", "Noble", "Quiet", "Rapid", "Rusty",
    "Silent", "Silver", "Sleepy", "Sly", "Stormy", "Swift", "Tidy", "Velvet", "Wild", "Witty",
    "Young", "Zesty",
];
const ALIAS_NOUNS: [&str; 32] = [
    "Badger", "Crow", "Dingo", "Eagle", "Falcon", "Ferret", "Fox", "Gecko", "Heron", "Ibis",
    "Jackal", "Koala", "Lynx", "Marten", "Moth", "Newt", "Otter", "Owl", "Panda", "Puma", "Raven",
    "Robin", "Seal", "Shark", "Sparrow", "Tiger", "Toad", "Viper", "Walrus", "Wolf", "Yak",
    "Zebra",
];

/// What a member is called in one conversation, instead of their phone number: trimmed, 2-24
/// characters, no control characters and none of [`INVISIBLE`]. Unique in its conversation
/// compared by [`Alias::key`] (case and spacing do not make two aliases different).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias(String);

impl Alias {
    pub fn parse(raw: &str) -> Result<Self> {
        let text = bounded(raw, "alias")?.trim();
        let chars = text.chars().count();
        if !(ALIAS_MIN_CHARS..=ALIAS_MAX_CHARS).contains(&chars)
            || text.chars().any(|c| c.is_control() || is_invisible(c))
        {
            return Err(Error::invalid("alias"));
        }
        Ok(Alias(text.to_owned()))
    }

    /// A random "Adjective Noun"; with `suffix`, a number after it (for when the plain ones
    /// drawn were taken). The caller checks it is free.
    pub fn generate(rng: &mut impl rand::Rng, suffix: bool) -> Self {
        let adjective = ALIAS_ADJECTIVES[rng.random_range(0..ALIAS_ADJECTIVES.len())];
        let noun = ALIAS_NOUNS[rng.random_range(0..ALIAS_NOUNS.len())];
        if suffix {
            Alias(format!("{adjective} {noun} {}", rng.random_range(2..1000u32)))
        } else {
            Alias(format!("{adjective} {noun}"))
        }
    }

    /// The form uniqueness is decided on: lower-case, inner spaces collapsed to one.
    pub fn key(&self) -> String {
        self.0.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A join code, stored upper-case so that uniqueness and lookup are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCode(String);

impl JoinCode {
    /// A code typed by a person or chosen by a script: 4-16 ASCII letters or digits.
    /// Surrounding whitespace is forgiven (it comes from copy and paste); inner is not.
    pub fn parse(raw: &str) -> Result<Self> {
        let text = bounded(raw, "joinCode")?.trim();
        if !(CODE_MIN_LEN..=CODE_MAX_LEN).contains(&text.len())
            || !text.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(Error::InvalidJoinCode);
        }
        Ok(JoinCode(text.to_ascii_uppercase()))
    }

    /// A fresh code from [`GENERATED_CODE_ALPHABET`]; the caller checks it is free.
    pub fn generate(rng: &mut impl rand::Rng) -> Self {
        let code = (0..GENERATED_CODE_LEN)
            .map(|_| {
                GENERATED_CODE_ALPHABET[rng.random_range(0..GENERATED_CODE_ALPHABET.len())] as char
            })
            .collect();
        JoinCode(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A conversation id: a positive integer.
pub fn conversation_id(value: i64) -> Result<ConversationId> {
    if value <= 0 || value > MAX_SAFE_INTEGER {
        return Err(Error::invalid("conversationId"));
    }
    Ok(ConversationId(value))
}

/// A player's server id ("source"). 0 is the console, never a player.
pub fn player_source(value: i64) -> Result<i64> {
    if value <= 0 || value > i64::from(i32::MAX) {
        return Err(Error::invalid("src"));
    }
    Ok(value)
}

/// An integer given as a double (Lua float, JSON number): only exact integers in the safe
/// range count; NaN, infinities and fractions are rejected.
pub fn integral(value: f64, what: &'static str) -> Result<i64> {
    if value.is_finite() && value.fract() == 0.0 && value.abs() <= MAX_SAFE_INTEGER as f64 {
        Ok(value as i64)
    } else {
        Err(Error::invalid(what))
    }
}

/// Message text: trimmed, not blank, at most `max_chars` characters. Newlines and tabs are
/// allowed in messages; other control characters are not.
pub fn message_text(raw: &str, max_chars: usize) -> Result<String> {
    let invalid = Error::InvalidMessage { what: "message", max: max_chars };
    if raw.len() > max_chars.saturating_mul(4) {
        return Err(invalid);
    }
    let text = raw.trim();
    let chars = text.chars().count();
    if chars == 0
        || chars > max_chars
        || text.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid);
    }
    Ok(text.to_owned())
}

/// Longest image URL accepted, in bytes.
pub const MAX_URL_BYTES: usize = 512;
/// Characters a location's label may have.
pub const LABEL_MAX_CHARS: usize = 64;
/// The map a location must lie on: GTA V's playable world with a margin (x -4,500 to 4,500;
/// y -4,500 to 8,500; z -500 to 2,000, metres).
pub const MAP_X: (f64, f64) = (-4500.0, 4500.0);
pub const MAP_Y: (f64, f64) = (-4500.0, 8500.0);
pub const MAP_Z: (f64, f64) = (-500.0, 2000.0);

/// An image's URL: at most [`MAX_URL_BYTES`], `https://` (any case) followed by a host on
/// `hosts` (compared case-insensitively; no user name, no port), then optionally a path, a
/// query or a fragment; printable ASCII only, no spaces, quotes, angle brackets or
/// backslashes (anything else must be percent-encoded). Kept as written.
pub fn image_url(raw: &str, hosts: &[String]) -> Result<String> {
    let invalid = || Error::invalid("url");
    if raw.len() > MAX_URL_BYTES
        || !raw.bytes().all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b))
    {
        return Err(invalid());
    }
    let scheme = raw.get(..8).ok_or_else(invalid)?;
    if !scheme.eq_ignore_ascii_case("https://") {
        return Err(invalid());
    }
    let rest = &raw[8..];
    let host = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if host.is_empty()
        || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        || !hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(host))
    {
        return Err(invalid());
    }
    Ok(raw.to_owned())
}

/// A coordinate of a location: finite and within `range` (`what` names it).
pub fn coordinate(value: f64, range: (f64, f64), what: &'static str) -> Result<f64> {
    if value.is_finite() && value >= range.0 && value <= range.1 {
        Ok(value)
    } else {
        Err(Error::invalid(what))
    }
}

/// A location's label: trimmed, 1 to [`LABEL_MAX_CHARS`] characters, none of them control or
/// invisible characters (the name rule's set).
pub fn location_label(raw: &str) -> Result<String> {
    let text = bounded(raw, "label")?.trim();
    let chars = text.chars().count();
    if chars == 0
        || chars > LABEL_MAX_CHARS
        || text.chars().any(|c| c.is_control() || is_invisible(c))
    {
        return Err(Error::invalid("label"));
    }
    Ok(text.to_owned())
}

fn bounded<'a>(raw: &'a str, what: &'static str) -> Result<&'a str> {
    if raw.len() > MAX_INPUT_BYTES {
        return Err(Error::invalid(what));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn numbers_are_trimmed_and_kept_as_written() {
        assert_eq!(PhoneNumber::parse("  5550123 ").unwrap().as_str(), "5550123");
        assert_eq!(PhoneNumber::parse("555-0123").unwrap().as_str(), "555-0123");
        assert_eq!(
            PhoneNumber::from_integer(5550123).unwrap(),
            PhoneNumber::parse("5550123").unwrap()
        );
        for bad in ["", "   ", "123456789012345678901", "555\n0123", "\u{7f}"] {
            assert_eq!(PhoneNumber::parse(bad).unwrap_err().code(), "invalid_argument", "{bad:?}");
        }
        assert!(PhoneNumber::from_integer(0).is_err());
        assert!(PhoneNumber::from_integer(-5).is_err());
        assert!(PhoneNumber::from_integer(MAX_SAFE_INTEGER + 1).is_err());
    }

    #[test]
    fn names_follow_their_rule_and_huge_strings_are_invalid_arguments() {
        assert_eq!(
            ConversationName::parse("  Heist Planning ").unwrap().as_str(),
            "Heist Planning"
        );
        assert_eq!(ConversationName::parse(&"é".repeat(64)).unwrap().as_str().chars().count(), 64);
        for bad in ["", "  ", "a\u{0}b", "tab\there", &"x".repeat(65)] {
            assert_eq!(ConversationName::parse(bad).unwrap_err().code(), "invalid_name", "{bad:?}");
        }
        let huge = "x".repeat(MAX_INPUT_BYTES + 1);
        assert_eq!(ConversationName::parse(&huge).unwrap_err().code(), "invalid_argument");
    }

    #[test]
    fn names_refuse_invisible_and_bidirectional_characters() {
        for c in ['\u{AD}', '\u{200B}', '\u{200D}', '\u{202E}', '\u{2028}', '\u{2029}', '\u{2066}']
            .into_iter()
            .chain(['\u{FEFF}', '\u{3164}', '\u{180E}', '\u{E0041}', '\u{E007F}', '\u{1D173}'])
        {
            let name = format!("Cr{c}ew");
            assert_eq!(ConversationName::parse(&name).unwrap_err().code(), "invalid_name", "{c:?}");
        }
        for good in ["Café ☕", "Heart \u{2764}\u{FE0F}", "日本語", "Ünïcø", "a\u{301}"] {
            assert_eq!(ConversationName::parse(good).unwrap().as_str(), good);
        }
        let sorted = INVISIBLE.windows(2).all(|w| w[0].1 < w[1].0);
        assert!(sorted && INVISIBLE.iter().all(|(first, last)| first <= last), "sorted ranges");
        assert!(!is_invisible('\u{AC}') && !is_invisible('\u{AE}') && !is_invisible('\u{FE0F}'));
    }

    #[test]
    fn join_codes_are_case_insensitive_and_generated_from_the_alphabet() {
        assert_eq!(JoinCode::parse("ab12").unwrap().as_str(), "AB12");
        for bad in ["abc", "a-bc", "ÄBCD", "abcdefghijklmnopq", "ab cd"] {
            assert_eq!(JoinCode::parse(bad).unwrap_err().code(), "invalid_join_code", "{bad:?}");
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let code = JoinCode::generate(&mut rng);
            assert_eq!(code.as_str().len(), GENERATED_CODE_LEN);
            assert!(code.as_str().bytes().all(|b| GENERATED_CODE_ALPHABET.contains(&b)));
            assert!(!code.as_str().contains(['0', 'O', '1', 'I']));
            assert_eq!(JoinCode::parse(code.as_str()).unwrap(), code);
        }
    }

    #[test]
    fn integral_floats_only() {
        assert_eq!(integral(3.0, "src").unwrap(), 3);
        for bad in [1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2f64.powi(63)] {
            assert!(integral(bad, "src").is_err(), "{bad}");
        }
        assert!(player_source(0).is_err());
        assert!(player_source(-1).is_err());
        assert!(player_source(1 << 40).is_err());
        assert_eq!(player_source(i64::from(i32::MAX)).unwrap(), i64::from(i32::MAX));
        assert!(player_source(i64::from(i32::MAX) + 1).is_err());
        assert!(conversation_id(0).is_err());
    }

    /// The bound is 2^53 - 1 written out, not through the constant: a constant off by one (or
    /// by its `- 1`) would move every check with it.
    #[test]
    fn integers_stop_at_two_to_the_53_minus_one() {
        let (largest, next) = (9_007_199_254_740_991_i64, 9_007_199_254_740_992_i64);
        assert_eq!(PhoneNumber::from_integer(largest).unwrap().as_str(), "9007199254740991");
        assert!(PhoneNumber::from_integer(next).is_err());
        assert_eq!(conversation_id(largest).unwrap().get(), largest);
        assert!(conversation_id(next).is_err());
        assert_eq!(integral(largest as f64, "x").unwrap(), largest);
        assert!(integral(next as f64, "x").is_err());
    }

    #[test]
    fn messages_are_trimmed_and_capped() {
        assert_eq!(message_text("  hi\nthere ", 10).unwrap(), "hi\nthere");
        assert!(message_text("   ", 10).is_err());
        assert!(message_text(&"x".repeat(11), 10).is_err());
        assert!(message_text("bell\u{7}", 10).is_err());
        // Up to 4 bytes a character as given, before trimming: the widest ten characters pass,
        // a short text padded past 40 bytes is refused unread (as a host refuses it uncopied).
        assert_eq!(message_text(&"😀".repeat(10), 10).unwrap(), "😀".repeat(10));
        assert!(message_text(&format!("hi{}", " ".repeat(39)), 10).is_err());
        assert!(message_text(&format!("hi{}", " ".repeat(38)), 10).is_ok());
    }

    #[test]
    fn aliases_follow_their_rule_and_generated_ones_are_readable() {
        assert_eq!(Alias::parse("  Night Owl ").unwrap().as_str(), "Night Owl");
        assert_eq!(Alias::parse("Night  OWL").unwrap().key(), "night owl");
        assert_eq!(Alias::parse(&"é".repeat(24)).unwrap().as_str().chars().count(), 24);
        for bad in ["", " x ", "a\u{0}b", "Ni\u{200B}ght", "tab\there", &"x".repeat(25)] {
            assert_eq!(Alias::parse(bad).unwrap_err().to_string(), "invalid argument: alias");
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for suffix in [false, true] {
            for _ in 0..200 {
                let alias = Alias::generate(&mut rng, suffix);
                assert_eq!(Alias::parse(alias.as_str()).unwrap(), alias);
                let words: Vec<&str> = alias.as_str().split(' ').collect();
                assert_eq!(words.len(), if suffix { 3 } else { 2 }, "{alias:?}");
                assert!(ALIAS_ADJECTIVES.contains(&words[0]) && ALIAS_NOUNS.contains(&words[1]));
            }
        }
    }

    #[test]
    fn image_urls_are_https_on_an_allowed_host() {
        let hosts = vec!["i.imgur.com".to_owned()];
        for good in
            ["https://i.imgur.com/a.png", "HTTPS://I.IMGUR.COM/a.png?x=1#y", "https://i.imgur.com"]
        {
            assert_eq!(image_url(good, &hosts).unwrap(), good);
        }
        // The host rule holds whatever the configured list holds: a port or a user name
        // written into the list lets no such URL through, and hyphens are part of host names.
        let odd = ["i.imgur.com:444", "ann@i.imgur.com", "cdn-1.example.com"].map(String::from);
        assert!(image_url("https://i.imgur.com:444/a.png", &odd).is_err());
        assert!(image_url("https://ann@i.imgur.com/a.png", &odd).is_err());
        let hyphen = "https://CDN-1.example.com/a.png";
        assert_eq!(image_url(hyphen, &odd).unwrap(), hyphen);
        let widest = format!("https://i.imgur.com/{}", "a".repeat(512 - 20));
        assert_eq!(image_url(&widest, &hosts).unwrap().len(), 512);
        let long = format!("https://i.imgur.com/{}", "a".repeat(MAX_URL_BYTES));
        for bad in [
            "http://i.imgur.com/a.png",
            "https://evil.com/a.png",
            "https://i.imgur.com.evil.com/a.png",
            "https://i.imgur.com@evil.com/a.png",
            "https://evil.com@i.imgur.com/a.png",
            "https://i.imgur.com:444/a.png",
            "https://i.imgur.com/a b.png",
            "https://i.imgur.com/\u{e9}.png",
            "https://i.imgur.com/a\".png",
            "javascript:alert(1)",
            "https://",
            "",
            &long,
        ] {
            assert_eq!(image_url(bad, &hosts).unwrap_err().to_string(), "invalid argument: url");
        }
    }

    #[test]
    fn coordinates_are_finite_and_on_the_map() {
        assert_eq!(coordinate(-4500.0, MAP_X, "x").unwrap(), -4500.0);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 4500.5, -4501.0] {
            assert!(coordinate(bad, MAP_X, "x").is_err(), "{bad}");
        }
        assert!(coordinate(8500.0, MAP_Y, "y").is_ok());
        assert!(coordinate(-4500.0, MAP_Y, "y").is_ok());
        assert!(coordinate(-4500.5, MAP_Y, "y").is_err());
        assert!(coordinate(2000.1, MAP_Z, "z").is_err());
        assert!(coordinate(-500.0, MAP_Z, "z").is_ok());
        assert!(coordinate(-500.5, MAP_Z, "z").is_err());
        assert_eq!(location_label("  Pier ").unwrap(), "Pier");
        assert_eq!(location_label(&"é".repeat(64)).unwrap().chars().count(), 64);
        for bad in ["", "  ", "a\u{202E}b", "a\nb", &"x".repeat(65)] {
            assert_eq!(location_label(bad).unwrap_err().to_string(), "invalid argument: label");
        }
    }
}
