//! The staff-ban check of a call, riding along its first transaction.
//!
//! Every act of a member is refused while staff have banned the number (see
//! [`super::staff::verdict`]). Asked as a read of its own before the operation, that check cost
//! a database round trip on every call on MySQL. Here it is held until the operation opens its
//! first transaction and then runs beside the operation's own first statements, so
//! on MySQL it travels in the same batch; the operation's outcome is kept only when the number
//! is not banned, and a refused write is rolled back with everything it did. On SQLite it is
//! one more indexed read inside the same transaction.

use std::cell::RefCell;

use super::staff::verdict;
use crate::changes::{ChangeBatch, Retention};
use crate::error::Result;
use crate::input::PhoneNumber;
use crate::storage::{both_unless, Read, Storage};

/// A staff-ban check not yet made: who acts, whether the act is a join (or an add), and when.
#[derive(Debug, Clone)]
pub struct StaffCheck {
    pub number: PhoneNumber,
    pub joining: bool,
    pub now: i64,
}

impl StaffCheck {
    /// Runs `op` beside the check on the same transaction: the check's refusal first, then
    /// `op`'s own outcome. The check's statement and `op`'s first ones go out together; once
    /// the check refuses, `op` is not resumed (dropped: it asks for nothing more, and what it
    /// ran in that first batch is rolled back with the transaction), so a refused act writes
    /// nothing beyond its first statements (on MySQL an insert there would still use up an
    /// auto-increment id, so the ids a storage hands out would differ from SQLite's).
    async fn beside<R: Read, T>(&self, tx: &R, op: impl AsyncFnOnce() -> Result<T>) -> Result<T> {
        let check = async {
            let ban = tx.staff_ban(self.number.as_str(), self.now).await?;
            verdict(ban.is_some(), &self.number, self.joining)
        };
        match both_unless(check, op(), |passed| passed.is_err()).await {
            (Err(refused), _) => Err(refused),
            (Ok(()), Some(value)) => value,
            (Ok(()), None) => unreachable!("`op` is dropped only when the check refuses"),
        }
    }
}

/// A storage whose next transaction also makes the pending [`StaffCheck`], if any.
pub struct StaffGate<S> {
    inner: S,
    pending: RefCell<Option<StaffCheck>>,
}

impl<S> StaffGate<S> {
    pub fn new(inner: S) -> Self {
        StaffGate { inner, pending: RefCell::new(None) }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The next transaction makes `check` (replacing one not yet made; `None`: none).
    pub fn hold(&self, check: Option<StaffCheck>) {
        *self.pending.borrow_mut() = check;
    }

    /// The check no transaction has made yet, taken back (a call that never reached the
    /// storage makes it on its own).
    pub fn take(&self) -> Option<StaffCheck> {
        self.pending.borrow_mut().take()
    }
}

impl<S: Storage> StaffGate<S> {
    /// [`Storage::write_at_once`], with the pending check handed to `op`, which makes it in its
    /// own statement's `WHERE` (and reads the ban beside it, to say why it was refused). Not
    /// beside the statement as [`Storage::write`] makes it: without a transaction, a check
    /// refusing after the statement ran could not take the write back.
    pub async fn write_at_once_checked<T>(
        &mut self,
        mut op: impl AsyncFnMut(&S::Write<'_>, Option<&StaffCheck>) -> Result<T>,
    ) -> Result<T> {
        let check = self.take();
        self.inner.write_at_once(async |tx| op(tx, check.as_ref()).await).await
    }
}

impl<S: Storage> Storage for StaffGate<S> {
    type Read<'s>
        = S::Read<'s>
    where
        Self: 's;
    type Write<'s>
        = S::Write<'s>
    where
        Self: 's;

    async fn read<T>(&self, op: impl AsyncFnOnce(&Self::Read<'_>) -> Result<T>) -> Result<T> {
        match self.take() {
            None => self.inner.read(op).await,
            Some(check) => {
                self.inner.read(async |tx| check.beside(tx, async || op(tx).await).await).await
            }
        }
    }

    async fn write<T>(
        &mut self,
        mut op: impl AsyncFnMut(&Self::Write<'_>) -> Result<T>,
    ) -> Result<T> {
        match self.take() {
            None => self.inner.write(op).await,
            Some(check) => {
                self.inner.write(async |tx| check.beside(tx, async || op(tx).await).await).await
            }
        }
    }

    async fn write_then_read<T, U>(
        &mut self,
        mut change: impl AsyncFnMut(&Self::Write<'_>) -> Result<T>,
        answer: impl AsyncFnMut(&Self::Read<'_>, &T) -> Result<U>,
    ) -> Result<U> {
        match self.take() {
            None => self.inner.write_then_read(change, answer).await,
            Some(check) => {
                let change =
                    async |tx: &S::Write<'_>| check.beside(tx, async || change(tx).await).await;
                self.inner.write_then_read(change, answer).await
            }
        }
    }

    fn set_rehearsing(&mut self, on: bool) {
        self.inner.set_rehearsing(on);
    }

    fn log_behind(&self) -> bool {
        self.inner.log_behind()
    }

    async fn changes(
        &mut self,
        server: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<ChangeBatch> {
        self.inner.changes(server, after, limit).await
    }

    async fn prune_changes(&mut self, retention: Retention) -> Result<i64> {
        self.inner.prune_changes(retention).await
    }
}
