//! The fuzzer's bytes choose a sequence of domain operations (inputs valid and invalid) on an
//! in-memory store; the model of tests/support/model.rs checks every step.

#![no_main]

#[path = "../../tests/support/model.rs"]
mod model;

use libfuzzer_sys::fuzz_target;

/// Choices read from the input bytes, one byte each (two when `n` > 256).
struct Bytes<'a>(&'a [u8]);

impl model::Choices for Bytes<'_> {
    fn pick(&mut self, n: usize) -> Option<usize> {
        let (value, rest) = if n > 256 {
            let (head, rest) = self.0.split_first_chunk::<2>()?;
            (u16::from_le_bytes(*head) as usize, rest)
        } else {
            let (head, rest) = self.0.split_first()?;
            (*head as usize, rest)
        };
        self.0 = rest;
        Some(value % n)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut seed = [0u8; 32];
    let take = data.len().min(8);
    seed[..take].copy_from_slice(&data[..take]);
    let mut harness = model::Harness::new(seed);
    harness.run(&mut Bytes(&data[take..]), 400);
});
