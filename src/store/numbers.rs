//! Phone numbers by phone id, remembered for the senders of messages.
//!
//! Why: a page of 50 messages looked up each sender's number in `phones` (one b-tree search per
//! message), about a fifth of the page's SQL work; a server's talkers are few and recur.
//!
//! Why it is always right: Darkchat never updates or deletes a phone row (and one a message
//! refers to cannot be deleted while foreign keys are on), so an id read from a committed row
//! keeps its number, in this process and any other.
//! Only read transactions add to it (see [`super::Tx`]): a write may still roll back, and the
//! id of a phone it inserted could then be given to another number.

use std::collections::HashMap;

/// At most this many numbers are kept (about 1 MiB); when full it starts over.
const CAPACITY: usize = 16384;

#[derive(Default)]
pub(super) struct NumberCache {
    numbers: HashMap<i64, String>,
}

impl NumberCache {
    pub(super) fn get(&self, phone: i64) -> Option<&str> {
        self.numbers.get(&phone).map(String::as_str)
    }

    pub(super) fn insert(&mut self, phone: i64, number: &str) {
        if self.numbers.len() >= CAPACITY {
            self.numbers.clear();
        }
        self.numbers.insert(phone, number.to_owned());
    }
}
