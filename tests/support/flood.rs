//! Back-to-back sends for the log tests: a core with 200 conversations (one per number) and
//! messages spread over them, so that writes touch many pages, as a live server's do.

use std::path::Path;

use darkchat::input::{ConversationName, PhoneNumber};
use darkchat::{ConversationId, Darkchat, Limits, Store};

pub struct Flood {
    dc: Darkchat,
    ids: Vec<ConversationId>,
    sends: usize,
}

fn number(i: usize) -> PhoneNumber {
    PhoneNumber::parse(&format!("555{i:04}")).unwrap()
}

impl Flood {
    pub fn new(store: Store) -> Self {
        let mut dc = Darkchat::new(store, Limits::default(), [1; 32]);
        let name = ConversationName::parse("flood").unwrap();
        let ids = (0..200).map(|i| dc.create_conversation(&number(i), &name, None, 1).unwrap().id);
        Flood { ids: ids.collect(), dc, sends: 0 }
    }

    /// One short message, in the next conversation of the spread (each send still logs whole
    /// pages, ~20 KB, while the database itself grows little).
    pub fn send(&mut self) {
        let i = (self.sends * 7919) % self.ids.len();
        self.dc.send_message(&number(i), self.ids[i], "hello", 2).unwrap();
        self.sends += 1;
    }
}

/// The size of the log file at `wal` (0 when there is none).
pub fn log_size(wal: &Path) -> u64 {
    std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}
