//! The word filter (`Config.Filter`): which words a message, a conversation name or an alias
//! may not hold, and how they are found despite the usual disguises.
//!
//! A listed word matches text when, reading the text as the filter does, the word's letters
//! appear in order as a whole word:
//! - **case and accents**: letters are compared lower-cased, common accented Latin letters as
//!   their base letter (`é` is `e`, `ß` is `s`), full-width Latin letters as ASCII, and the
//!   Cyrillic and Greek letters that look like Latin ones as those (`а` U+0430 is `a`);
//! - **look-alikes**: `0`→o, `1`→i or l, `3`→e, `4`→a, `5`→s, `7`→t, `@`→a, `$`→s, but only
//!   inside a match that holds at least one real letter (a plain number such as `455` is
//!   never a word);
//! - **repeated letters**: each letter of the word may be repeated in the text (`baaad` is
//!   `bad`), but a double letter of the word needs at least two (`as` is not `ass`);
//! - **spaced out**: the letters may be separated, each from the next, by 1 to 3 characters
//!   that are neither letters nor digits (`b.a.d`, `b a d`, `b - a - d`); the spacing must be
//!   between every two letters of the match (`ba.d` and `he'll` do not spell `bad`, `hell`);
//! - **whole words**: the character before and after a match may not be a letter or a digit,
//!   so `ass` does not match `class` or `assume`. A `*` at the start or end of a listed word
//!   lifts that side's rule: `bad*` matches `badly`, `*bad*` matches inside any word, and the
//!   match then runs to that end of the word (all of `badly` is masked).
//!
//! A listed word is 2 to 64 letters (any script) with an optional `*` at either end. In
//! messages a match is refused (`forbidden`, nothing written) or masked (each character of the
//! match, separators included, becomes `*`), as `Config.Filter.mode` says; in conversation
//! names and aliases a match is always refused: a masked name would be one nobody chose.

use std::borrow::Cow;

use crate::error::{Error, Result};

/// What a message holding a listed word gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FilterMode {
    /// `forbidden`, nothing written.
    #[default]
    Refuse,
    /// Stored with each matched character replaced by `*`.
    Mask,
}

impl FilterMode {
    pub fn parse(text: &str) -> Result<FilterMode> {
        match text {
            "refuse" => Ok(FilterMode::Refuse),
            "mask" => Ok(FilterMode::Mask),
            _ => Err(Error::invalid("filter mode")),
        }
    }
}

/// Most words a list may hold, and most characters in one.
pub const MAX_WORDS: usize = 2000;
pub const MAX_WORD_CHARS: usize = 64;
/// Most separators between two letters of a spaced-out word.
const MAX_GAP: usize = 3;

/// One listed word: its letters as runs (a letter and how many of it at least, so `ass` is
/// `a`×1 then `s`×2), and whether either side may continue into other letters.
#[derive(Debug, Clone)]
struct Pattern {
    runs: Vec<(char, usize)>,
    open_start: bool,
    open_end: bool,
}

/// The configured word list (empty: nothing is filtered).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    patterns: Vec<Pattern>,
    mode: FilterMode,
}

/// A character of the text as the filter reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    /// A letter, folded (lower case, accents and look-alike scripts taken off).
    Letter(char),
    /// A digit or symbol that stands for letters when inside a word; `digit` tells whether it
    /// counts as part of a word at a match's edge.
    LookAlike(&'static [char], bool),
    /// Any other letter-or-digit (a digit that stands for nothing, a letter of no case).
    Word,
    /// Anything else: spaces, punctuation, symbols.
    Separator,
}

impl Class {
    fn of(c: char) -> Class {
        if let Some(letters) = look_alike(c) {
            return Class::LookAlike(letters, c.is_ascii_digit());
        }
        if c.is_alphabetic() {
            return Class::Letter(fold(c));
        }
        if c.is_alphanumeric() {
            return Class::Word;
        }
        Class::Separator
    }

    fn stands_for(self, letter: char) -> bool {
        match self {
            Class::Letter(l) => l == letter,
            Class::LookAlike(letters, _) => letters.contains(&letter),
            _ => false,
        }
    }

    /// Part of a word, for the whole-word rule.
    fn is_word(self) -> bool {
        matches!(self, Class::Letter(_) | Class::Word | Class::LookAlike(_, true))
    }
}

fn look_alike(c: char) -> Option<&'static [char]> {
    Some(match c {
        '0' => &['o'],
        '1' => &['i', 'l'],
        '3' => &['e'],
        '4' | '@' => &['a'],
        '5' | '$' => &['s'],
        '7' => &['t'],
        _ => return None,
    })
}

/// A letter lower-cased, with common accents taken off and the Cyrillic and Greek letters that
/// look like Latin ones read as those.
fn fold(c: char) -> char {
    let c = c.to_lowercase().next().unwrap_or(c);
    match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' | 'а' | 'α' => 'a',
        'ç' | 'ć' | 'č' | 'с' => 'c',
        'è'..='ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'е' | 'ё' | 'ε' => 'e',
        'ì'..='ï' | 'ī' | 'į' | 'ı' | 'і' | 'ї' | 'ι' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'ł' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò'..='ö' | 'ø' | 'ō' | 'ő' | 'о' | 'ο' => 'o',
        'р' | 'ρ' => 'p',
        'ß' | 'ś' | 'š' | 'ş' | 'ѕ' => 's',
        'τ' => 't',
        'ù'..='ü' | 'ū' | 'ů' | 'ű' | 'ų' | 'υ' => 'u',
        'ν' => 'v',
        'х' | 'χ' => 'x',
        'ý' | 'ÿ' | 'у' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        // Full-width Latin (U+FF41..U+FF5A) as ASCII.
        '\u{FF41}'..='\u{FF5A}' => char::from_u32(c as u32 - 0xFF41 + 'a' as u32).unwrap_or(c),
        other => other,
    }
}

impl Pattern {
    fn parse(word: &str) -> Result<Pattern> {
        let invalid = || Error::invalid("filter word");
        let word = word.trim();
        let (open_start, word) = match word.strip_prefix('*') {
            Some(rest) => (true, rest),
            None => (false, word),
        };
        let (open_end, word) = match word.strip_suffix('*') {
            Some(rest) => (true, rest),
            None => (false, word),
        };
        let count = word.chars().count();
        if !(2..=MAX_WORD_CHARS).contains(&count) || !word.chars().all(char::is_alphabetic) {
            return Err(invalid());
        }
        let mut runs: Vec<(char, usize)> = Vec::new();
        for letter in word.chars().map(fold) {
            match runs.last_mut() {
                Some((last, n)) if *last == letter => *n += 1,
                _ => runs.push((letter, 1)),
            }
        }
        Ok(Pattern { runs, open_start, open_end })
    }

    /// The end (inclusive, the longest) of a match starting at `start`, if one does.
    fn match_at(&self, text: &[Class], start: usize) -> Option<usize> {
        if !self.open_start && start > 0 && text[start - 1].is_word() {
            return None;
        }
        [false, true].into_iter().filter_map(|spaced| self.run(text, start, spaced)).max()
    }

    /// Follows the text from `start`, letters adjacent (`spaced` false) or each separated from
    /// the next by 1..=MAX_GAP separators. A state is (run, letters taken of it, a real letter
    /// seen); look-alikes that stand for two letters and repeated letters make several.
    fn run(&self, text: &[Class], start: usize, spaced: bool) -> Option<usize> {
        let last = self.runs.len() - 1;
        let is_letter = |i: usize| matches!(text[i], Class::Letter(_));
        if !text[start].stands_for(self.runs[0].0) {
            return None;
        }
        let mut states = vec![(0usize, 1usize, is_letter(start))];
        let mut at = start;
        let mut best = None;
        loop {
            let complete =
                states.iter().any(|&(r, n, real)| r == last && n >= self.runs[r].1 && real);
            if complete && (self.open_end || text.get(at + 1).is_none_or(|c| !c.is_word())) {
                best = Some(at);
            }
            let next = if spaced {
                let gap = text[at + 1..].iter().take_while(|c| **c == Class::Separator).count();
                if gap == 0 || gap > MAX_GAP {
                    break;
                }
                at + 1 + gap
            } else {
                at + 1
            };
            let Some(&class) = text.get(next) else { break };
            let mut following = Vec::with_capacity(states.len() + 1);
            for &(r, n, real) in &states {
                let real = real || is_letter(next);
                let (letter, least) = self.runs[r];
                if class.stands_for(letter) {
                    following.push((r, (n + 1).min(least), real));
                }
                if n >= least && r < last && class.stands_for(self.runs[r + 1].0) {
                    following.push((r + 1, 1, real));
                }
            }
            following.sort_unstable();
            following.dedup();
            if following.is_empty() {
                break;
            }
            states = following;
            at = next;
        }
        best
    }
}

impl Filter {
    /// A filter of `words` (each as [the module](self) says) for messages in `mode`.
    pub fn new<W: AsRef<str>>(words: &[W], mode: FilterMode) -> Result<Filter> {
        if words.len() > MAX_WORDS {
            return Err(Error::invalid("filter words"));
        }
        let patterns = words.iter().map(|w| Pattern::parse(w.as_ref())).collect::<Result<_>>()?;
        Ok(Filter { patterns, mode })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn mode(&self) -> FilterMode {
        self.mode
    }

    /// Each match in `text` as a range of character positions (inclusive), in order, merged
    /// where they overlap.
    fn matches(&self, text: &str) -> Vec<(usize, usize)> {
        if self.patterns.is_empty() {
            return Vec::new();
        }
        let classes: Vec<Class> = text.chars().map(Class::of).collect();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for pattern in &self.patterns {
            let mut start = 0;
            while start < classes.len() {
                match pattern.match_at(&classes, start) {
                    Some(mut end) => {
                        // An open side takes the rest of the word it continues into.
                        let mut first = start;
                        if pattern.open_start {
                            while first > 0 && classes[first - 1].is_word() {
                                first -= 1;
                            }
                        }
                        if pattern.open_end {
                            while classes.get(end + 1).is_some_and(|c| c.is_word()) {
                                end += 1;
                            }
                        }
                        spans.push((first, end));
                        start = end + 1;
                    }
                    None => start += 1,
                }
            }
        }
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match merged.last_mut() {
                Some((_, last_end)) if start <= *last_end + 1 => *last_end = (*last_end).max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }

    /// Whether `text` holds a listed word.
    pub fn holds(&self, text: &str) -> bool {
        !self.matches(text).is_empty()
    }

    /// A message's content as it is stored: unchanged, masked, or refused (`forbidden`).
    pub fn message<'a>(&self, content: &'a str) -> Result<Cow<'a, str>> {
        let spans = self.matches(content);
        if spans.is_empty() {
            return Ok(Cow::Borrowed(content));
        }
        if self.mode == FilterMode::Refuse {
            return Err(refused());
        }
        let mut spans = spans.into_iter().peekable();
        let mut out = String::with_capacity(content.len());
        for (i, c) in content.chars().enumerate() {
            while spans.peek().is_some_and(|&(_, end)| end < i) {
                spans.next();
            }
            match spans.peek() {
                Some(&(start, _)) if start <= i => out.push('*'),
                _ => out.push(c),
            }
        }
        Ok(Cow::Owned(out))
    }

    /// A conversation name, a join code or an alias: refused (`forbidden`) when it holds a
    /// listed word, whatever the mode.
    pub fn name(&self, text: &str) -> Result<()> {
        if self.holds(text) {
            return Err(refused());
        }
        Ok(())
    }
}

fn refused() -> Error {
    Error::Forbidden { reason: "the text holds a word the server filters" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(words: &[&str]) -> Filter {
        Filter::new(words, FilterMode::Mask).unwrap()
    }

    fn masked(f: &Filter, text: &str) -> String {
        f.message(text).unwrap().into_owned()
    }

    #[test]
    fn whole_words_case_insensitively() {
        let f = filter(&["bad", "ass"]);
        assert_eq!(masked(&f, "a bad day"), "a *** day");
        assert_eq!(masked(&f, "BAD!"), "***!");
        assert_eq!(masked(&f, "Bad, bad."), "***, ***.");
        for clean in ["badge", "abad", "class", "assume", "passes", "as", "ba d", "b ad"] {
            assert_eq!(masked(&f, clean), clean, "{clean:?}");
        }
    }

    #[test]
    fn repeated_letters_but_not_fewer_than_the_word_has() {
        let f = filter(&["bad", "ass"]);
        assert_eq!(masked(&f, "baaaaad"), "*******");
        assert_eq!(masked(&f, "bbbaddd"), "*******");
        assert_eq!(masked(&f, "asssss"), "******");
        assert_eq!(masked(&f, "as"), "as");
        assert_eq!(masked(&f, "aas"), "aas");
    }

    #[test]
    fn look_alikes_inside_words_with_a_letter() {
        let f = filter(&["bad", "ass", "hello", "toilet"]);
        assert_eq!(masked(&f, "b4d"), "***");
        assert_eq!(masked(&f, "@$$"), "@$$", "no real letter: not a word");
        assert_eq!(masked(&f, "a$$ and 4ss"), "*** and ***");
        assert_eq!(masked(&f, "h3110 w0rld"), "***** w0rld");
        assert_eq!(masked(&f, "70113t"), "******", "1 as i and as l, 7 as t");
        assert_eq!(masked(&f, "call 455 or 7011"), "call 455 or 7011", "numbers stay");
    }

    #[test]
    fn accents_other_scripts_and_full_width() {
        let f = filter(&["bad", "poop"]);
        assert_eq!(masked(&f, "bÀd"), "***");
        assert_eq!(masked(&f, "b\u{0430}d"), "***", "Cyrillic a");
        assert_eq!(masked(&f, "\u{FF42}\u{FF41}\u{FF44}"), "***", "full-width");
        assert_eq!(masked(&f, "\u{0440}\u{043E}\u{043E}\u{0440}"), "****", "Cyrillic poop");
    }

    #[test]
    fn spaced_out_letters_only_when_every_letter_is_spaced() {
        let f = filter(&["bad", "hell", "anal"]);
        assert_eq!(masked(&f, "so b.a.d"), "so *****");
        assert_eq!(masked(&f, "b a d"), "*****");
        assert_eq!(masked(&f, "b - a - d!"), "*********!");
        assert_eq!(masked(&f, "b_4_d"), "*****");
        assert_eq!(masked(&f, "b....a.d"), "b....a.d", "gap over 3");
        assert_eq!(masked(&f, "ba.d"), "ba.d");
        assert_eq!(masked(&f, "he'll be fine"), "he'll be fine");
        assert_eq!(masked(&f, "an all day thing, can all"), "an all day thing, can all");
        assert_eq!(masked(&f, "I am a bad b"), "I am a *** b");
    }

    #[test]
    fn wildcards_open_a_side() {
        let f = filter(&["bad*", "*word"]);
        assert_eq!(masked(&f, "badly"), "*****");
        assert_eq!(masked(&f, "so b.a.dly"), "so *******");
        assert_eq!(masked(&f, "abad"), "abad");
        assert_eq!(masked(&f, "swordfish password"), "swordfish ********");
        // An open side stops at the word's edge: the text's start, the space after it.
        assert_eq!(masked(&f, "word up"), "**** up");
        assert_eq!(masked(&f, "badly done"), "***** done");
        let any = filter(&["*ass*"]);
        assert_eq!(masked(&any, "a classy one"), "a ****** one");
    }

    #[test]
    fn refuse_mode_and_names() {
        let f = Filter::new(&["bad"], FilterMode::Refuse).unwrap();
        assert_eq!(f.message("so b.a.d").unwrap_err().code(), "forbidden");
        assert_eq!(f.message("fine").unwrap(), "fine");
        assert_eq!(f.mode(), FilterMode::Refuse);
        let mask = filter(&["bad"]);
        assert_eq!(mask.mode(), FilterMode::Mask);
        assert_eq!(mask.name("Bad Crew").unwrap_err().code(), "forbidden");
        assert!(mask.name("Badger Crew").is_ok());
    }

    #[test]
    fn the_list_is_checked() {
        for bad in ["a", "", "*", "two words", "b4d", "bad!", &"x".repeat(65)] {
            let err = Filter::new(&[bad], FilterMode::Mask).unwrap_err();
            assert_eq!(err.to_string(), "invalid argument: filter word", "{bad:?}");
        }
        assert!(Filter::new(&["ok"; MAX_WORDS + 1], FilterMode::Mask).is_err());
        assert_eq!(FilterMode::parse("mask").unwrap(), FilterMode::Mask);
        assert!(FilterMode::parse("Mask").is_err());
        assert!(Filter::new(&["  Über*  "], FilterMode::Mask).unwrap().holds("uberly"));
    }

    #[test]
    fn empty_filter_borrows() {
        let f = Filter::default();
        assert!(matches!(f.message("anything").unwrap(), Cow::Borrowed(_)));
    }
}
