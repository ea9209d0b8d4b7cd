//! Darkchat for 17mov_Phone: anonymous group chats joined by a code.
//!
//! Layers, each the only one that knows its neighbour:
//! - [`input`]: raw values → validated types (the input rules);
//! - [`service`]: the domain operations and rules, clock and randomness given by the caller,
//!   written once against [`storage`], the transaction interface;
//! - [`store`]: the embedded SQLite store, every SQLite statement, migrations, background
//!   checkpoints; [`Darkchat`] is the rules over it as plain calls;
//! - [`mysql`]: the same interface on MySQL/MariaDB, whose statements the host runs;
//! - [`api`]: the one dispatch of the core's methods for every host: host values in, a reply
//!   tree out;
//! - `lua` (features `module`/`vendored`): the Lua 5.4 binding, the only code that knows mlua;
//! - `wasm` (target `wasm32`): raw wasm exports taking and returning JSON, for the JS host.

pub mod api;
pub mod backups;
pub mod changes;
mod darkchat;
pub mod error;
pub mod filter;
pub mod ids;
pub mod import;
pub mod input;
pub mod model;
pub mod mysql;
pub mod service;
pub mod storage;
pub mod store;
pub mod transfer;

#[cfg(any(feature = "module", feature = "vendored"))]
pub mod lua;

#[cfg(target_arch = "wasm32")]
mod wasm;

#[cfg(any(test, target_arch = "wasm32"))]
mod warm_up;

/// Test folders removed when a test ends: for the store's unit tests and the integration tests
/// (tests/support). Not part of the API.
#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
pub mod scratch;

pub use darkchat::Darkchat;
pub use error::{Error, Result};
pub use ids::{ConversationId, MessageId, PhoneId};
pub use service::{Actor, Limits, Service};
pub use store::{Store, StoreOptions};
