//! Darkchat for 17mov_Phone: anonymous group chats joined by a code.
//!
//! Layers, each the only one that knows its neighbour:
//! - [`input`]: raw values → validated types (the input rules);
//! - [`service`]: the domain operations and rules ([`Darkchat`]), clock and randomness given
//!   by the caller;
//! - [`store`]: SQLite, every SQL statement, migrations, background checkpoints;
//! - [`api`]: the one dispatch of the core's methods for every host: host values in, a reply
//!   tree out;
//! - `lua` (features `module`/`vendored`): the Lua 5.4 binding, the only code that knows mlua;
//! - `wasm` (target `wasm32`): raw wasm exports taking and returning JSON, for the JS host.

pub mod api;
pub mod error;
pub mod input;
pub mod model;
pub mod service;
pub mod store;

#[cfg(any(feature = "module", feature = "vendored"))]
pub mod lua;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use error::{Error, Result};
pub use service::{Actor, Darkchat, Limits};
pub use store::{Store, StoreOptions};
