//! Darkchat on MySQL/MariaDB: the same rules ([`crate::service`]) on the server owner's own
//! database, for owners who keep everything there and for several servers sharing one.
//!
//! The core cannot reach a database itself (it runs as WebAssembly in FXServer's Node, which
//! owns the connections), so a call runs as an [`Operation`]: the rules' future asks for
//! statements, the host (js/host.js, with the mysql2 driver) runs each batch on the call's own
//! connection and feeds the results back, until the answer is ready ([`link`]). Everything
//! that decides anything stays here, in Rust: the host only runs what it is given.
//!
//! - [`link`]: statements out in batches, results in; the operation in flight;
//! - [`session`]: transactions (READ COMMITTED, locking reads, retried races);
//! - [`queries`]: every statement, in the method that owns it;
//! - [`schema`]: the numbered migrations of `migrations/mysql/`.

mod changes;
pub mod link;
mod queries;
pub mod schema;
mod session;

use std::cell::RefCell;
use std::rc::Rc;

pub use link::{BatchOutcome, Operation, Resumed, Statement, Step};
pub use session::Session;

use crate::api::{self, Request};
use crate::service::{Limits, Service, SharedRng};

/// A call as an operation for the host to drive: the rules on a session of its own, sharing the
/// core's generator; its changes logged under `origin` (see [`link::Link::origin`]).
pub fn operation(
    request: Request,
    now: i64,
    limits: &Limits,
    rng: &SharedRng,
    origin: Option<Rc<str>>,
) -> Operation {
    let link = Rc::new(RefCell::new(link::Link::default()));
    link.borrow_mut().origin = origin;
    let mut service =
        Service::with_rng(Session::new(Rc::clone(&link)), limits.clone(), Rc::clone(rng));
    Operation::new(link, async move { api::execute(&mut service, request, now).await })
}
