//! How a MySQL operation talks to its host: statements go out in batches, results come back.
//!
//! The rules run as a future (see [`crate::storage`]). Each statement a MySQL transaction needs
//! is queued here; when the future can go no further without a result, [`Operation::resume`]
//! hands the host the queued statements as one batch, which the host runs in order on the
//! operation's own connection in one round trip, and feeds the results back. So:
//! - statements whose result nobody waits for (a lock, an update, the transaction's start) are
//!   only queued ([`Link::defer`]): they go out with the next statement that is waited for, or
//!   with the COMMIT;
//! - statements started together (several reads awaited at once) share one batch.
//!
//! A failed batch stops at the failing statement (the rest of it does not run): every
//! statement of it that was waited for gets the error, and a transaction whose deferred
//! statement failed cannot commit.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use serde::{Deserialize, Serialize};

use crate::api::Reply;
use crate::error::{Error, Result};

/// A value bound to a statement's `?` or read from a row.
///
/// Read by hand rather than as an untagged enum: serde buffers an untagged value and tries each
/// variant in turn, which made reading a page of 50 rows 8 times slower than the JSON parse
/// itself (measured natively: 113 µs against 14 µs); every row of every batch comes through
/// here on the server's main thread.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("null, a number or a string")
            }
            fn visit_unit<E>(self) -> std::result::Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> std::result::Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
                Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
                Ok(Value::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
                Ok(Value::Text(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
                Ok(Value::Text(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One statement for the host: constant SQL with `?` placeholders, and the values bound to
/// them (the SQL text never contains a value: the one exception is an integer written into DDL
/// by Rust, see `raise_sequence` in queries.rs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub sql: Cow<'static, str>,
    pub params: Vec<Value>,
    /// Only on the few statements that may rightly run long; absent from the JSON otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patience: Option<Patience>,
}

impl Statement {
    pub fn new(sql: impl Into<Cow<'static, str>>, params: Vec<Value>) -> Self {
        Statement { sql: sql.into(), params, patience: None }
    }

    /// This statement with `patience` (see [`Patience`]).
    pub fn patient(self, patience: Patience) -> Self {
        Statement { patience: Some(patience), ..self }
    }
}

/// How long a statement may rightly run, far past a call's deadline: a migration's change to a
/// table (an index built over millions of messages), or the wait for another server's schema
/// lock. The host gives its batch `seconds` instead of the deadline (which would drop the
/// connection while the database carries on), and when it is still running after a moment
/// says `notice` (`{database}` standing for the database the host names), and at its end
/// `done` and the time it took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Patience {
    pub seconds: i64,
    pub notice: String,
    pub done: &'static str,
}

/// What one statement gave back: `{"rows": [...]}` or `{"affected": n, "insertId": id}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawOutcome")]
pub enum Outcome {
    Rows {
        rows: Vec<Vec<Value>>,
    },
    Done {
        affected: i64,
        #[serde(rename = "insertId", default)]
        insert_id: i64,
    },
}

/// An [`Outcome`] as it arrives: its fields read straight into place (no buffering, unlike an
/// untagged enum; see [`Value`]), then told apart.
#[derive(Deserialize)]
struct RawOutcome {
    rows: Option<Vec<Vec<Value>>>,
    affected: Option<i64>,
    #[serde(rename = "insertId", default)]
    insert_id: i64,
}

impl TryFrom<RawOutcome> for Outcome {
    type Error = &'static str;
    fn try_from(raw: RawOutcome) -> std::result::Result<Self, Self::Error> {
        match raw {
            RawOutcome { rows: Some(rows), .. } => Ok(Outcome::Rows { rows }),
            RawOutcome { affected: Some(affected), insert_id, .. } => {
                Ok(Outcome::Done { affected, insert_id })
            }
            _ => Err("a statement's outcome has neither rows nor an affected count"),
        }
    }
}

/// An error the server gave for a statement of a batch.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ServerError {
    pub errno: u32,
    #[serde(default)]
    pub message: String,
}

/// What the host answers for a batch: a result per statement, or the error that stopped it.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOutcome {
    Ran { results: Vec<Outcome> },
    Failed { error: ServerError },
}

/// The host's answer to a batch of call `op`, read in one pass from its JSON text:
/// `{"op": n, "results": [...]}` or `{"op": n, "error": {"errno", "message"}}`.
#[derive(Deserialize)]
pub struct Resumed {
    pub op: u32,
    results: Option<Vec<Outcome>>,
    error: Option<ServerError>,
}

impl Resumed {
    pub fn outcome(self) -> std::result::Result<BatchOutcome, &'static str> {
        match (self.results, self.error) {
            (_, Some(error)) => Ok(BatchOutcome::Failed { error }),
            (Some(results), None) => Ok(BatchOutcome::Ran { results }),
            (None, None) => Err("a batch outcome has neither results nor an error"),
        }
    }
}

impl ServerError {
    /// The core's error for it: the races the database settles by aborting a transaction are
    /// [`Error::Conflict`] (the operation runs again); a join code taken meanwhile is
    /// [`Error::JoinCodeTaken`] (the unique key is the arbiter when two servers pick the same
    /// code at once).
    pub fn to_error(&self) -> Error {
        const DUPLICATE_KEY: u32 = 1062;
        const LOCK_WAIT_TIMEOUT: u32 = 1205;
        const DEADLOCK: u32 = 1213;
        match self.errno {
            DUPLICATE_KEY if self.message.contains("join_code") => {
                let code = self.message.split('\'').nth(1).unwrap_or_default().to_owned();
                Error::JoinCodeTaken { code }
            }
            DUPLICATE_KEY | LOCK_WAIT_TIMEOUT | DEADLOCK => {
                Error::Conflict(format!("{} ({})", self.message, self.errno))
            }
            errno => Error::Database { errno, message: self.message.clone() },
        }
    }
}

/// The queue and results shared by an operation's transactions and its [`Operation`].
#[derive(Default)]
pub struct Link {
    /// Statements not yet handed to the host, in order, each with the ticket of whoever waits
    /// for its result (`None`: nobody does).
    queue: Vec<(Statement, Option<u64>)>,
    /// Results that came back, by ticket, until their waiter takes them.
    results: HashMap<u64, std::result::Result<Outcome, ServerError>>,
    /// The error of a batch in which only deferred statements failed: the transaction is
    /// broken until it is rolled back.
    failed: Option<ServerError>,
    next_ticket: u64,
    /// The id of the server this operation runs for, which its changes are logged under (see
    /// `changes.rs`); none: nothing is logged.
    pub origin: Option<Rc<str>>,
    /// While the operation's writes are rehearsals (nothing they write is kept, nor logged).
    pub rehearsing: bool,
}

/// A link shared by reference count: the transactions hold it, and so does the operation.
pub type Shared = Rc<RefCell<Link>>;

impl Link {
    /// Queues a statement nobody waits for; it runs with the next batch.
    pub fn defer(link: &Shared, sql: impl Into<Cow<'static, str>>, params: Vec<Value>) {
        Link::defer_statement(link, Statement::new(sql, params));
    }

    /// [`Link::defer`] for a statement built with more than its SQL and values.
    pub fn defer_statement(link: &Shared, statement: Statement) {
        link.borrow_mut().queue.push((statement, None));
    }

    /// Runs a statement (with everything queued before it) and waits for its result.
    pub async fn run(
        link: &Shared,
        sql: impl Into<Cow<'static, str>>,
        params: Vec<Value>,
    ) -> Result<Outcome> {
        Link::run_statement(link, Statement::new(sql, params)).await
    }

    /// [`Link::run`] for a statement built with more than its SQL and values.
    pub async fn run_statement(link: &Shared, statement: Statement) -> Result<Outcome> {
        let ticket = {
            let mut l = link.borrow_mut();
            if let Some(e) = &l.failed {
                return Err(e.to_error());
            }
            l.next_ticket += 1;
            let ticket = l.next_ticket;
            l.queue.push((statement, Some(ticket)));
            ticket
        };
        Waiter { link, ticket }.await.map_err(|e| e.to_error())
    }

    /// Rows of a statement (an error when it gave none).
    pub async fn rows(
        link: &Shared,
        sql: &'static str,
        params: Vec<Value>,
    ) -> Result<Vec<Vec<Value>>> {
        match Link::run(link, sql, params).await? {
            Outcome::Rows { rows } => Ok(rows),
            Outcome::Done { .. } => Err(Error::Internal(format!("no rows from: {sql}"))),
        }
    }

    /// Forgets a failure once the transaction it broke was rolled back.
    pub fn clear_failure(link: &Shared) {
        link.borrow_mut().failed = None;
    }

    fn take_batch(&mut self) -> Vec<(Statement, Option<u64>)> {
        std::mem::take(&mut self.queue)
    }

    fn deliver(&mut self, tickets: &[Option<u64>], outcome: BatchOutcome) {
        match outcome {
            BatchOutcome::Ran { mut results } => {
                results.resize(tickets.len(), Outcome::Done { affected: 0, insert_id: 0 });
                for (ticket, result) in tickets.iter().zip(results) {
                    if let Some(ticket) = ticket {
                        self.results.insert(*ticket, Ok(result));
                    }
                }
            }
            BatchOutcome::Failed { error } => {
                let mut waited = false;
                for ticket in tickets.iter().flatten() {
                    self.results.insert(*ticket, Err(error.clone()));
                    waited = true;
                }
                if !waited {
                    self.failed = Some(error);
                }
            }
        }
    }
}

/// The wait for one ticket's result.
struct Waiter<'a> {
    link: &'a Shared,
    ticket: u64,
}

impl Future for Waiter<'_> {
    type Output = std::result::Result<Outcome, ServerError>;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        match self.link.borrow_mut().results.remove(&self.ticket) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

/// What an operation needs next.
#[derive(Debug)]
pub enum Step {
    /// Run these statements in order, in one round trip, on this operation's connection.
    Batch(Vec<Statement>),
    /// The answer. `cleanup` (a rollback) must run on the connection before it is reused,
    /// after the answer has gone out.
    Done { outcome: Result<Vec<Reply>>, cleanup: Vec<Statement> },
}

/// One call in flight: the rules' future, driven by the host's results.
pub struct Operation {
    future: Pin<Box<dyn Future<Output = Result<Vec<Reply>>>>>,
    link: Shared,
    /// Who waits for each statement of the batch the host is running.
    in_flight: Vec<Option<u64>>,
    /// Whether any batch went out: before that, the connection has seen nothing to clean up.
    sent: bool,
}

impl Operation {
    pub fn new(link: Shared, future: impl Future<Output = Result<Vec<Reply>>> + 'static) -> Self {
        Operation { future: Box::pin(future), link, in_flight: Vec::new(), sent: false }
    }

    /// Runs the operation until it needs the database or is done.
    pub fn start(&mut self) -> Step {
        self.advance()
    }

    /// Feeds back the outcome of the last batch and runs on.
    pub fn resume(&mut self, outcome: BatchOutcome) -> Step {
        let tickets = std::mem::take(&mut self.in_flight);
        self.link.borrow_mut().deliver(&tickets, outcome);
        self.advance()
    }

    fn advance(&mut self) -> Step {
        let polled = self.future.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        let batch = self.link.borrow_mut().take_batch();
        match polled {
            Poll::Ready(outcome) => {
                let cleanup = if self.sent {
                    batch.into_iter().map(|(s, _)| s).collect()
                } else {
                    Vec::new()
                };
                Step::Done { outcome, cleanup }
            }
            Poll::Pending if batch.is_empty() => Step::Done {
                outcome: Err(Error::Internal(
                    "a MySQL operation waited with nothing to run".into(),
                )),
                cleanup: Vec::new(),
            },
            Poll::Pending => {
                let (statements, tickets) = batch.into_iter().unzip();
                self.in_flight = tickets;
                self.sent = true;
                Step::Batch(statements)
            }
        }
    }
}
