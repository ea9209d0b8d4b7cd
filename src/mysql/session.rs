//! MySQL/MariaDB as a [`Storage`]: transactions over one connection that the host holds for
//! the operation.
//!
//! - A write is `SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION` (queued,
//!   so they travel with the first statement), its statements, and `COMMIT`. READ COMMITTED
//!   because every decision is made on rows the transaction holds (the conversation's row
//!   first, see [`crate::storage`]): each read then sees what the last holder committed, with
//!   no gap locks to deadlock on. A race the database settles by aborting the transaction
//!   (deadlock, lock wait past its limit, a key taken meanwhile) runs the operation again, on
//!   a fresh transaction, up to [`WRITE_ATTEMPTS`] times.
//! - A read runs its statements without a transaction: each sees the latest committed state.
//!   Reads only build answers (every rule is decided in a write transaction), so a member
//!   list a few microseconds newer than the page read before it is harmless, and a read costs
//!   no BEGIN and COMMIT round trips.

use std::rc::Rc;

use super::changes;
use super::link::{Link, Shared};
use super::queries::{ReadTx, WriteTx};
use crate::changes::{ChangeBatch, Retention};
use crate::error::{Error, Result};
use crate::storage::both;
use crate::storage::Storage;

/// How many times a write that lost a race is tried in all.
pub const WRITE_ATTEMPTS: usize = 5;

/// The storage of one operation in flight.
pub struct Session {
    link: Shared,
    /// See [`Storage::set_rehearsing`]: the answer is then read inside the transaction, which
    /// is rolled back.
    rehearsing: bool,
}

impl Session {
    pub fn new(link: Shared) -> Self {
        Session { link, rehearsing: false }
    }
}

impl Storage for Session {
    type Read<'s> = ReadTx;
    type Write<'s> = WriteTx;

    async fn read<T>(&self, op: impl AsyncFnOnce(&ReadTx) -> Result<T>) -> Result<T> {
        op(&ReadTx::new(Rc::clone(&self.link))).await
    }

    async fn write<T>(&mut self, mut op: impl AsyncFnMut(&WriteTx) -> Result<T>) -> Result<T> {
        let mut value = None;
        let changed = async |tx: &WriteTx| {
            value = Some(op(tx).await?);
            Ok(())
        };
        self.write_then_read(changed, async |_, _| Ok(())).await?;
        value.ok_or_else(|| Error::Internal("a write ended without its value".into()))
    }

    /// The answer's reads travel in the same batch as the COMMIT, right after it: outside the
    /// transaction, they see the change (and anything committed since, as any read does).
    async fn write_then_read<T, U>(
        &mut self,
        mut change: impl AsyncFnMut(&WriteTx) -> Result<T>,
        mut answer: impl AsyncFnMut(&ReadTx, &T) -> Result<U>,
    ) -> Result<U> {
        let (link, rehearsing) = (&self.link, self.rehearsing);
        let mut attempt = 1;
        loop {
            Link::defer(link, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED", vec![]);
            Link::defer(link, "START TRANSACTION", vec![]);
            let outcome = match change(&WriteTx::new(Rc::clone(link))).await {
                Ok(value) if rehearsing => {
                    // Read inside the transaction, then nothing kept (queued: the ROLLBACK
                    // goes out after the answer).
                    let answered = answer(&ReadTx::new(Rc::clone(link)), &value).await;
                    if answered.is_ok() {
                        Link::defer(link, "ROLLBACK", vec![]);
                        return answered;
                    }
                    answered
                }
                Ok(value) => {
                    let reader = ReadTx::new(Rc::clone(link));
                    let (committed, answered) =
                        both(Link::run(link, "COMMIT", vec![]), answer(&reader, &value)).await;
                    committed.and(answered)
                }
                Err(e) => Err(e),
            };
            let error = match outcome {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            // Whatever broke the transaction, end it before anything else uses the connection
            // (queued: it goes out with the next try's first batch, or after the answer).
            Link::defer(link, "ROLLBACK", vec![]);
            Link::clear_failure(link);
            if !error.is_retryable() || attempt >= WRITE_ATTEMPTS {
                return Err(match error {
                    Error::Conflict(why) => {
                        Error::Conflict(format!("{why}; gave up after {attempt} attempts"))
                    }
                    other => other,
                });
            }
            attempt += 1;
        }
    }

    fn set_rehearsing(&mut self, on: bool) {
        self.rehearsing = on;
        self.link.borrow_mut().rehearsing = on;
    }

    async fn changes(
        &mut self,
        server: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<ChangeBatch> {
        let link = Rc::clone(&self.link);
        let store = async |_: &WriteTx| {
            let position = match after {
                Some(position) => position,
                None => match changes::stored_position(&link, server).await? {
                    Some(position) => position,
                    // A server never seen starts at the log's end: what happened before it
                    // joined the network is history, not news.
                    None => changes::head(&link).await?,
                },
            };
            changes::save_position(&link, server, position);
            Ok(position)
        };
        let read =
            async |_: &ReadTx, &position: &i64| changes::read(&link, server, position, limit).await;
        self.write_then_read(store, read).await
    }

    async fn prune_changes(&mut self, retention: Retention) -> Result<i64> {
        let link = Rc::clone(&self.link);
        self.write(async |_: &WriteTx| changes::prune(&link, retention).await).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The MySQL server keeps its own log: background work (the retention sweep's pacing) never
    /// waits for it on MySQL.
    #[test]
    fn a_session_never_reports_the_log_behind() {
        let session = Session::new(Shared::default());
        assert!(!session.log_behind());
    }
}
