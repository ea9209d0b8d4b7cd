//! What the integration tests share, one module of each test file (`mod support;`):
//! - [`scratch`]: a folder of one test, removed when it ends (the library's `scratch`, which
//!   the store's unit tests use too);
//! - [`flood`]: back-to-back sends for the write-ahead log tests;
//! - [`model`]: random domain operations checked against an in-memory model (the property
//!   test; the fuzz target in fuzz/ includes the same file).
//!
//! Each test file uses only some of it.

#![allow(dead_code, unused_imports)]

pub mod flood;
pub mod model;

pub use darkchat::scratch;
