//! Darkchat for 17mov_Phone: anonymous group chats joined by a code.
//!
//! Layers, each the only one that knows its neighbour:
//! - [`input`]: raw values → validated types (the input rules);
//! - [`service`]: the domain operations and rules ([`Darkchat`]), clock and randomness given
//!   by the caller;
//! - [`store`]: SQLite, every SQL statement, migrations, background checkpoints;
//! - `lua` (features `module`/`vendored`): the Lua 5.4 binding, the only code that knows mlua.

pub mod error;
pub mod input;
pub mod model;
pub mod service;
pub mod store;

#[cfg(any(feature = "module", feature = "vendored"))]
pub mod lua;

pub use error::{Error, Result};
pub use service::{Actor, Darkchat, Limits};
pub use store::Store;
