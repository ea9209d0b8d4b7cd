//! MySQL/MariaDB as a [`Storage`]: transactions over one connection that the host holds for
//! the operation.
//!
//! - A write is `START TRANSACTION` (queued, so it travels with the first statement), its
//!   statements, and `COMMIT`, in READ COMMITTED: every decision is made on rows the
//!   transaction holds (the conversation's row first, see [`crate::storage`]), and each read
//!   then sees what the last holder committed, with no gap locks to deadlock on. The host sets
//!   that level once per connection, for the session (js/mysql.js, before the connection runs
//!   anything else), rather than each write asking for it in a statement of its batch: every
//!   statement a core sends runs on such a connection, and a read outside a transaction is
//!   the same in either level (each statement its own snapshot). A race the database settles
//!   by aborting the transaction (deadlock, lock wait past its limit, a key taken meanwhile)
//!   runs the operation again, on a fresh transaction, up to [`WRITE_ATTEMPTS`] times.
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

    /// No transaction: `op`'s one write is a statement that decides for itself, which the
    /// database applies atomically on its own (autocommit), in READ COMMITTED as a write
    /// transaction's statements are (the session's level: its guard reads the latest committed
    /// rows, taking no gap locks). One round trip, where BEGIN ... COMMIT around a decision
    /// read and the write took two; the reads that explain a refusal follow only then. A race
    /// the database settles by aborting the statement (a deadlock, a lock wait past its limit),
    /// and a refusal those reads could not explain ([`Error::Conflict`]), run `op` again, as
    /// [`Session::write_then_read`] runs a transaction again. A rehearsal runs in a
    /// transaction, to be rolled back.
    async fn write_at_once<T>(
        &mut self,
        mut op: impl AsyncFnMut(&WriteTx) -> Result<T>,
    ) -> Result<T> {
        if self.rehearsing {
            return self.write(op).await;
        }
        let link = &self.link;
        let mut attempt = 1;
        loop {
            let error = match op(&WriteTx::new(Rc::clone(link))).await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            Link::clear_failure(link);
            if let Some(error) = final_error(error, attempt) {
                return Err(error);
            }
            attempt += 1;
        }
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
            if let Some(error) = final_error(error, attempt) {
                return Err(error);
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

/// What a write answers after its attempt `attempt` failed with `error`: `None` when it is to run
/// again (a race the database settled, attempts left), else the error, saying how many
/// attempts a conflict took.
fn final_error(error: Error, attempt: usize) -> Option<Error> {
    if error.is_retryable() && attempt < WRITE_ATTEMPTS {
        return None;
    }
    Some(match error {
        Error::Conflict(why) => Error::Conflict(format!("{why}; gave up after {attempt} attempts")),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::api::Reply;
    use crate::ids::ConversationId;
    use crate::input::{ConversationName, JoinCode, PhoneNumber};
    use crate::mysql::link::{
        BatchOutcome, Link, Operation, Outcome, ServerError, Statement, Step, Value,
    };
    use crate::service::{Limits, Service, StaffCheck};

    const NUMBER: &str = "5550102";

    /// The database as markRead's UPDATE and the reads after it find it.
    #[derive(Clone, Copy)]
    struct Found {
        /// Rows the UPDATE matched.
        matched: i64,
        banned: bool,
        conversation: bool,
        member: bool,
    }

    const ALLOWED: Found = Found { matched: 0, banned: false, conversation: true, member: true };

    /// A markRead of NUMBER in conversation 1 by the rules, its staff check held as a call's is.
    fn mark_read(rehearsing: bool) -> Operation {
        let link = Rc::new(RefCell::new(Link::default()));
        let rng = Rc::new(RefCell::new(StdRng::from_seed([7; 32])));
        let mut service = Service::with_rng(Session::new(Rc::clone(&link)), Limits::default(), rng);
        let number = PhoneNumber::parse(NUMBER).unwrap();
        service.set_rehearsing(rehearsing);
        service.hold_staff_check(Some(StaffCheck {
            number: number.clone(),
            joining: false,
            now: 1_700_000_000,
        }));
        Operation::new(link, async move {
            service.mark_read(&number, ConversationId(1), None).await?;
            Ok(Vec::<Reply>::new())
        })
    }

    /// Each statement's result as the server would give it with the rows of `found`.
    fn results(batch: &[Statement], found: Found) -> BatchOutcome {
        let rows = |present: bool, row: Vec<Value>| Outcome::Rows {
            rows: if present { vec![row] } else { Vec::new() },
        };
        let results = batch
            .iter()
            .map(|s| {
                if s.sql.starts_with("UPDATE darkchat_members") {
                    Outcome::Done { affected: found.matched, insert_id: 0 }
                } else if s.sql.starts_with("SELECT EXISTS") {
                    let fact = |on: bool| Value::Int(on.into());
                    let facts =
                        vec![fact(found.banned), fact(found.conversation), fact(found.member)];
                    rows(true, facts)
                } else {
                    Outcome::Done { affected: 0, insert_id: 0 }
                }
            })
            .collect();
        BatchOutcome::Ran { results }
    }

    fn batch(step: &Step) -> &[Statement] {
        match step {
            Step::Batch(statements) => statements,
            Step::Done { outcome, .. } => panic!("done early: {outcome:?}"),
        }
    }

    fn outcome(step: Step) -> Result<Vec<Reply>> {
        match step {
            Step::Done { outcome, cleanup } => {
                assert!(cleanup.is_empty(), "nothing to clean up: {cleanup:?}");
                outcome
            }
            Step::Batch(statements) => panic!("another batch: {statements:?}"),
        }
    }

    fn sql(statements: &[Statement]) -> Vec<&str> {
        statements.iter().map(|s| s.sql.as_ref()).collect()
    }

    /// Feeds each batch the results `found` gives, until the outcome; the batches it took.
    fn run(op: &mut Operation, found: Found) -> (Result<Vec<Reply>>, Vec<Vec<String>>) {
        let mut sent = Vec::new();
        let mut step = op.start();
        loop {
            match step {
                Step::Batch(statements) => {
                    sent.push(statements.iter().map(|s| s.sql.to_string()).collect());
                    step = op.resume(results(&statements, found));
                }
                done => return (outcome(done), sent),
            }
        }
    }

    #[test]
    fn mark_read_is_one_statement_without_a_transaction_its_staff_check_in_the_update() {
        let mut op = mark_read(false);
        let step = op.start();
        let statements = batch(&step);
        let update = &statements[0];
        assert!(update.sql.starts_with("UPDATE"), "{}", update.sql);
        assert!(update.sql.contains("darkchat_staff_bans"), "{}", update.sql);
        assert!(update.params.contains(&Value::from(NUMBER)), "{:?}", update.params);
        // Alone: no transaction, no statement setting the isolation level (the session has
        // it), no reads beside it; nothing more is asked once it matched.
        assert_eq!(sql(statements), vec![update.sql.as_ref()]);
        let found = Found { matched: 1, ..ALLOWED };
        assert_eq!(outcome(op.resume(results(statements, found))).unwrap(), Vec::new());
    }

    #[test]
    fn a_refusal_answers_the_reason_the_reads_after_the_statement_found() {
        for (found, code) in [
            (Found { banned: true, ..ALLOWED }, "forbidden"),
            (Found { banned: true, conversation: false, member: false, ..ALLOWED }, "forbidden"),
            (Found { conversation: false, member: false, ..ALLOWED }, "conversation_not_found"),
            (Found { member: false, ..ALLOWED }, "not_member"),
        ] {
            let (refused, sent) = run(&mut mark_read(false), found);
            assert_eq!(refused.unwrap_err().code(), code);
            // The statement, then one statement of the three facts.
            assert_eq!(sent.len(), 2, "{sent:?}");
            assert_eq!(sent[1].len(), 1, "{sent:?}");
            assert!(sent[1][0].starts_with("SELECT EXISTS"), "{sent:?}");
        }
    }

    #[test]
    fn a_refusal_the_reads_cannot_explain_runs_the_statement_again() {
        // The UPDATE saw a ban (or no membership) that was gone when the reads ran: no answer
        // may be given from reads that disagree with the write, so the statement runs again.
        let (gave_up, sent) = run(&mut mark_read(false), ALLOWED);
        assert!(matches!(gave_up, Err(Error::Conflict(_))), "{gave_up:?}");
        assert_eq!(sent.len(), 2 * WRITE_ATTEMPTS, "{sent:?}");
        for pair in sent.chunks(2) {
            assert!(pair[0][0].starts_with("UPDATE") && pair[1][0].starts_with("SELECT"));
        }

        let mut op = mark_read(false);
        let step = op.start();
        let reasons = op.resume(results(batch(&step), ALLOWED));
        let again = op.resume(results(batch(&reasons), ALLOWED));
        assert!(batch(&again)[0].sql.starts_with("UPDATE"));
        let found = Found { matched: 1, ..ALLOWED };
        assert_eq!(outcome(op.resume(results(batch(&again), found))).unwrap(), Vec::new());
    }

    #[test]
    fn a_rehearsed_mark_read_runs_in_a_transaction_rolled_back() {
        let mut op = mark_read(true);
        let step = op.start();
        assert!(sql(batch(&step)).contains(&"START TRANSACTION"), "{:?}", sql(batch(&step)));
        let found = Found { matched: 1, ..ALLOWED };
        match op.resume(results(batch(&step), found)) {
            Step::Done { outcome, cleanup } => {
                assert_eq!(outcome.unwrap(), Vec::new());
                assert_eq!(sql(&cleanup), vec!["ROLLBACK"]);
            }
            Step::Batch(statements) => panic!("another batch: {statements:?}"),
        }
    }

    /// A create by NUMBER named "Crew", with `code` chosen or (`None`) generated.
    fn create(code: Option<&str>) -> Operation {
        let link = Rc::new(RefCell::new(Link::default()));
        let rng = Rc::new(RefCell::new(StdRng::from_seed([7; 32])));
        let mut service = Service::with_rng(Session::new(Rc::clone(&link)), Limits::default(), rng);
        let creator = PhoneNumber::parse(NUMBER).unwrap();
        let name = ConversationName::parse("Crew").unwrap();
        let code = code.map(|c| JoinCode::parse(c).unwrap());
        Operation::new(link, async move {
            service.create_conversation(&creator, &name, code.as_ref(), None, 1).await?;
            Ok(Vec::<Reply>::new())
        })
    }

    fn inserts_conversation(statement: &Statement) -> bool {
        statement.sql.starts_with("INSERT INTO darkchat_conversations")
    }

    /// The answers of a database where every join code reads as free but the conversation's
    /// insert fails on the code's unique key: another server took the code in between.
    fn code_taken_at_insert(batch: &[Statement]) -> BatchOutcome {
        if batch.iter().any(inserts_conversation) {
            let message = "Duplicate entry 'TAKEN1' for key 'join_code'".to_owned();
            return BatchOutcome::Failed { error: ServerError { errno: 1062, message } };
        }
        let rows = |rows| Outcome::Rows { rows };
        let results = batch
            .iter()
            .map(|s| match &*s.sql {
                sql if sql.starts_with("SELECT id FROM darkchat_phones") => {
                    rows(vec![vec![Value::Int(7)]])
                }
                sql if sql.starts_with("SELECT COUNT(*)") => rows(vec![vec![Value::Int(0)]]),
                sql if sql.starts_with("SELECT") => rows(Vec::new()),
                _ => Outcome::Done { affected: 0, insert_id: 0 },
            })
            .collect();
        BatchOutcome::Ran { results }
    }

    #[test]
    fn a_generated_join_code_taken_meanwhile_is_tried_again_with_another() {
        let mut op = create(None);
        let mut step = op.start();
        let mut inserted = Vec::new();
        while inserted.len() < 2 {
            let statements = batch(&step);
            inserted.extend(
                statements.iter().filter(|s| inserts_conversation(s)).map(|s| &s.params).cloned(),
            );
            let answer = code_taken_at_insert(statements);
            step = op.resume(answer);
        }
        assert_ne!(inserted[0], inserted[1], "the second try has a code of its own");
    }

    #[test]
    fn a_chosen_join_code_taken_meanwhile_is_the_callers_join_code_taken() {
        let mut op = create(Some("crew42"));
        let mut step = op.start();
        let mut inserts = 0;
        for _ in 0..100 {
            let Step::Batch(statements) = &step else { break };
            inserts += statements.iter().filter(|s| inserts_conversation(s)).count();
            let answer = code_taken_at_insert(statements);
            step = op.resume(answer);
        }
        let Step::Done { outcome, .. } = step else { panic!("no answer") };
        assert_eq!(outcome.unwrap_err().code(), "join_code_taken");
        assert_eq!(inserts, 1, "refused at once, not tried again");
    }

    /// The MySQL server keeps its own log: background work (the retention sweep's pacing) never
    /// waits for it on MySQL.
    #[test]
    fn a_session_never_reports_the_log_behind() {
        let session = Session::new(Shared::default());
        assert!(!session.log_behind());
    }
}
