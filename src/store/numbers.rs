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
use std::hash::{BuildHasherDefault, Hasher};

use crate::ids::PhoneId;

/// At most this many numbers are kept (about 1 MiB); when full it starts over.
const CAPACITY: usize = 16384;

#[derive(Default)]
pub(super) struct NumberCache {
    numbers: HashMap<PhoneId, String, BuildHasherDefault<PhoneIdHasher>>,
}

/// A multiplicative hash of a phone id. Why not the standard SipHash: a page looks up every
/// message's sender, and SipHash was ~5% of a page read. Phone ids are rowids SQLite hands out
/// in order, never chosen by a client, so there is nothing for a flooding attack to choose.
#[derive(Default)]
struct PhoneIdHasher(u64);

impl Hasher for PhoneIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    /// The whole state: the key is one `i64`, hashed once (a composite key would need mixing).
    fn write_i64(&mut self, id: i64) {
        self.0 = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        // A product's best-mixed bits are its high ones; the table indexes with the low ones.
        self.0.rotate_left(26)
    }
}

impl NumberCache {
    pub(super) fn get(&self, phone: PhoneId) -> Option<&str> {
        self.numbers.get(&phone).map(String::as_str)
    }

    pub(super) fn insert(&mut self, phone: PhoneId, number: &str) {
        if self.numbers.len() >= CAPACITY {
            self.numbers.clear();
        }
        self.numbers.insert(phone, number.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::*;

    #[test]
    fn remembers_each_number_by_its_phone() {
        let mut cache = NumberCache::default();
        cache.insert(PhoneId(1), "555-0101");
        cache.insert(PhoneId(2), "555-0102");
        assert_eq!(cache.get(PhoneId(1)), Some("555-0101"));
        assert_eq!(cache.get(PhoneId(2)), Some("555-0102"));
        assert_eq!(cache.get(PhoneId(3)), None);
    }

    #[test]
    fn starts_over_when_full_and_never_holds_more() {
        let mut cache = NumberCache::default();
        for id in 0..CAPACITY as i64 {
            cache.insert(PhoneId(id), "555");
        }
        assert_eq!(cache.numbers.len(), CAPACITY);
        assert_eq!(cache.get(PhoneId(0)), Some("555"));
        cache.insert(PhoneId(-1), "556");
        assert_eq!(cache.numbers.len(), 1);
        assert_eq!(cache.get(PhoneId(-1)), Some("556"));
        assert_eq!(cache.get(PhoneId(0)), None);
    }

    /// Phone ids are consecutive rowids: their hashes must differ, in the low bits the table
    /// indexes with too, or every lookup would walk one long probe sequence.
    #[test]
    fn consecutive_ids_spread_over_the_low_bits() {
        let build = BuildHasherDefault::<PhoneIdHasher>::default();
        let hashes: Vec<u64> = (1..=4096).map(|id| build.hash_one(PhoneId(id))).collect();
        let mut full = hashes.clone();
        full.sort_unstable();
        full.dedup();
        assert_eq!(full.len(), hashes.len());
        let mut low: Vec<u64> = hashes.iter().map(|h| h & 4095).collect();
        low.sort_unstable();
        low.dedup();
        assert!(low.len() > 2048, "{} of 4096 buckets", low.len());
    }
}
