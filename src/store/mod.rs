//! The SQLite store: the only code that knows SQL or rusqlite.
//!
//! Invariants:
//! - One write transaction per domain operation (`BEGIN IMMEDIATE`), run through
//!   [`Store::write`]; an `Err` or a panic inside rolls everything back, so a failed operation
//!   writes nothing.
//! - Every statement is prepared through the connection's statement cache and takes bound
//!   parameters; no SQL text is ever built from values.
//! - WAL with `synchronous = NORMAL`: a commit is durable against a crash of the process (the
//!   log is in the OS page cache) with no fsync on the caller's thread. Checkpoints (the only
//!   fsyncs) run on a background thread with its own connection ([`checkpoint`]), so the
//!   calling thread (FXServer's main thread) does not wait for the disk; the one exception is a
//!   flood of writes that fills the log to its cap ([`StoreOptions::log_cap_bytes`]), when
//!   writers are held back for one checkpoint so that the log stays bounded. The wasm build
//!   has no threads: its JS host calls [`Store::checkpoint_if_written`] from a timer between
//!   calls, which runs the same checkpoint and log restart on the one connection.
//! - Files are touched only here: the database, its `-wal`/`-shm`, its `.lock` ([`lock`]: never
//!   open a database a live wasm core holds), and backups.

mod checkpoint;
mod lock;
pub mod migrations;
mod numbers;
mod queries;
pub mod stepped;
mod transactions;
pub mod verify;
#[cfg(target_arch = "wasm32")]
mod vfs;

#[cfg(all(test, not(target_arch = "wasm32")))]
use crate::scratch;

/// Files kept in the module's memory under a path prefix (the warm-up's database).
#[cfg(target_arch = "wasm32")]
pub use vfs::{drop_memory_files, MEMORY_PATH_PREFIX};
/// What the wasm host feeds SQLite: its clock (before every call) and a random seed.
#[cfg(target_arch = "wasm32")]
pub use vfs::{seed as seed_sqlite_random, set_clock as set_sqlite_clock};

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

pub use queries::Tx;
pub use transactions::{ReadTx, WriteTx};

/// Page cache per connection, in KiB: bounds memory whatever the database size.
const CACHE_KIB: i64 = 8 * 1024;
/// The other processes that have the database at `db` open (native servers may share one),
/// named for a message ("process 4242 (native core)").
#[cfg(not(target_arch = "wasm32"))]
pub fn other_holders(db: &Path) -> Vec<String> {
    lock::other_holders(db)
}

/// How long a statement waits for another connection's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Reads map the file instead of copying pages through the page cache: a page of messages or a
/// listing touches scattered pages, and each copy was a system call. The mapping is the OS's
/// page cache (shared, reclaimable), bounded by this size whatever the database grows to.
const MMAP_BYTES: i64 = 256 * 1024 * 1024;

/// How a store on a file runs; [`Store::open`] takes the defaults.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Length of the write-ahead log at which the background checkpointer stops waiting for a
    /// quiet moment and holds writers back briefly to restart it (see `checkpoint.rs`): the
    /// bound on the log during a flood of writes. Native builds only (the wasm host checkpoints
    /// between calls, when nothing else writes).
    pub log_cap_bytes: u64,
    /// Length of the log past which background work waits for the checkpointer (see
    /// [`crate::storage::Storage::log_behind`]): by default the length the checkpointer cuts
    /// the log file back to. Native builds only.
    pub log_behind_bytes: u64,
    /// Whether the open starts the log (see [`Store::open_announcing`]); off for a file that
    /// is only read (the source of a storage move), which it would otherwise change.
    pub start_log: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            log_cap_bytes: checkpoint::DEFAULT_LOG_CAP_BYTES,
            log_behind_bytes: checkpoint::JOURNAL_SIZE_LIMIT as u64,
            start_log: true,
        }
    }
}

pub struct Store {
    /// A backup in steps in progress (see [`stepped`]); before `conn`, so dropped first.
    stepped: RefCell<Option<stepped::Stepped>>,
    conn: Connection,
    path: Option<PathBuf>,
    /// Senders' numbers by phone id (see [`numbers`]).
    numbers: RefCell<numbers::NumberCache>,
    /// While set, every write transaction is rolled back instead of committed (see
    /// [`crate::storage::Storage::set_rehearsing`]).
    rehearsing: bool,
    /// The background checkpoint thread (see [`checkpoint`]); held for its `Drop`, which stops it.
    #[cfg(not(target_arch = "wasm32"))]
    _checkpointer: Option<checkpoint::Checkpointer>,
    /// The log's length in frames after this connection's last commit (SQLite's WAL hook), and
    /// the length past which the log is behind (see [`crate::storage::Storage::log_behind`]).
    #[cfg(not(target_arch = "wasm32"))]
    log_frames: std::sync::Arc<std::sync::atomic::AtomicI64>,
    #[cfg(not(target_arch = "wasm32"))]
    log_behind_frames: i64,
    /// `total_changes()` right after the last complete [`Store::checkpoint_if_written`] (or
    /// the [`Store::restart_log`] after it); `None` until the first one.
    #[cfg(target_arch = "wasm32")]
    checkpointed_at: std::cell::Cell<Option<u64>>,
    /// The last checkpoint copied a log with frames in it completely: [`Store::restart_log`]
    /// has a log to restart.
    #[cfg(target_arch = "wasm32")]
    restart_due: std::cell::Cell<bool>,
    /// `<db>.lock` (see [`lock`]); last, so it is released after the connections close.
    #[cfg(not(target_arch = "wasm32"))]
    _lock: Option<lock::LockFile>,
}

impl Store {
    /// Opens (creating if absent) the database at `path` and brings its schema up to date.
    /// A file that is neither empty nor a Darkchat database (another application's, or not a
    /// database at all; see [`migrations`]), or has a newer schema, is refused with one line
    /// naming the file and the cause, and left byte for byte as it was.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Store::open_with(path, &StoreOptions::default())
    }

    /// [`Store::open`] with `options`.
    pub fn open_with(path: impl AsRef<Path>, options: &StoreOptions) -> Result<Self> {
        Store::open_announcing(path, options, &mut |_| {})
    }

    /// [`Store::open_with`], telling `announce` the lines of long migrations as they run (see
    /// [`migrations::migrate_announcing`]).
    pub fn open_announcing(
        path: impl AsRef<Path>,
        options: &StoreOptions,
        announce: &mut dyn FnMut(&str),
    ) -> Result<Self> {
        let path = path.as_ref();
        let describe = |e: Error| {
            // SQLite's "unable to open database file" (wasm) or "attempt to write a readonly
            // database" (native) does not say why; the file system does.
            let why = match write_refusal(path) {
                Some(refusal) => format!("{}; {refusal}", cause(&e)),
                None => cause(&e),
            };
            Error::Unusable(format!("cannot open database {}: {why}", path.display()))
        };
        // On wasm the JS host makes the folder (it owns the file system).
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::Unusable(format!("cannot create folder {}: {e}", dir.display()))
            })?;
        }
        // Never beside a live wasm core (which holds its database alone).
        #[cfg(not(target_arch = "wasm32"))]
        let lock = lock::acquire(path)?;
        // The wasm build's files are the host's, through its VFS (installed once).
        #[cfg(target_arch = "wasm32")]
        vfs::install()?;
        let conn = connect(path).map_err(|e| describe(e.into()))?;
        let store = Store::ready(conn, Some(path.to_owned()), announce).map_err(describe)?;
        #[cfg(not(target_arch = "wasm32"))]
        let mut store = Store {
            _checkpointer: Some(
                checkpoint::Checkpointer::start(path, options.log_cap_bytes).map_err(describe)?,
            ),
            _lock: Some(lock),
            ..store
        };
        #[cfg(not(target_arch = "wasm32"))]
        store.watch_log(options.log_behind_bytes).map_err(describe)?;
        #[cfg(target_arch = "wasm32")]
        vfs::after_open(&store.conn).map_err(describe)?;
        // The log is started here, while the server starts, rather than by the first write
        // after the open: the first commit into a fresh log writes its header and waits for
        // the disk to sync it, on the caller's thread (0.5-14 ms on the development VM, the
        // server's main thread). From here on the log is never fresh: each restart is the
        // checkpointer's marker commit, which writes the new header itself.
        if options.start_log {
            checkpoint::marker_commit(&store.conn).map_err(|e| describe(e.into()))?;
        }
        Ok(store)
    }

    /// A private in-memory database (tests, fuzzing).
    pub fn open_in_memory() -> Result<Self> {
        Store::ready(Connection::open_in_memory()?, None, &mut |_| {})
    }

    /// A store on `conn`, configured (as a file when it has a `path`) and migrated, with no
    /// background work started yet.
    fn ready(
        conn: Connection,
        path: Option<PathBuf>,
        announce: &mut dyn FnMut(&str),
    ) -> Result<Self> {
        let on_disk = path.is_some();
        let mut store = Store {
            stepped: RefCell::new(None),
            conn,
            path,
            numbers: RefCell::default(),
            rehearsing: false,
            #[cfg(not(target_arch = "wasm32"))]
            _checkpointer: None,
            #[cfg(not(target_arch = "wasm32"))]
            log_frames: Default::default(),
            #[cfg(not(target_arch = "wasm32"))]
            log_behind_frames: i64::MAX,
            #[cfg(target_arch = "wasm32")]
            checkpointed_at: std::cell::Cell::new(None),
            #[cfg(target_arch = "wasm32")]
            restart_due: std::cell::Cell::new(false),
            #[cfg(not(target_arch = "wasm32"))]
            _lock: None,
        };
        store.configure(on_disk)?;
        migrations::migrate_announcing(&mut store.conn, announce)?;
        Ok(store)
    }

    fn configure(&mut self, on_disk: bool) -> Result<()> {
        self.conn.busy_handler(Some(wait_for_lock))?;
        let conn = &self.conn;
        // Before the first read: a log left by a crash can only be read in exclusive mode there.
        #[cfg(target_arch = "wasm32")]
        if on_disk {
            vfs::before_wal(conn)?;
        }
        conn.set_prepared_statement_cache_capacity(128);
        // Query-planner stability: without it SQLite re-plans cached statements whose bound
        // LIMIT or join values change, which was 40% of a listing's time (benchmark + perf).
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        // Nothing is written before the file is known to be new or Darkchat's (reading it also
        // turns "file is not a database" into an error here): a refused file is left as it was,
        // and closed without the checkpoint SQLite otherwise runs at a close.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        migrations::check_recognised(conn)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
        if on_disk {
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::Unusable(format!("could not switch to WAL (got {mode})")));
            }
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // Checkpoints, and the log restarts and truncations after them, belong to the
            // background thread, never to a caller's commit (see checkpoint.rs).
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // A deleted message's text (and anything else deleted or overwritten) is zeroed in the
        // pages that held it, where that costs no extra write: "deleted" means gone from the
        // file, not left in free space (the log's older frames go when it restarts).
        conn.pragma_update(None, "secure_delete", "FAST")?;
        Ok(())
    }

    /// Keeps [`Store::log_frames`] (SQLite tells the log's length after each commit of this
    /// connection) and the length past which the log is behind. Native only: on wasm SQLite's
    /// own automatic checkpoint is this hook (its safety net there), and the host checkpoints
    /// between calls, so a sweep's pause always lets it run.
    #[cfg(not(target_arch = "wasm32"))]
    fn watch_log(&mut self, behind_bytes: u64) -> Result<()> {
        use std::sync::atomic::Ordering;
        let page: i64 = self.conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        // A log frame is a page and its 24-byte header.
        let frames = behind_bytes / (u64::try_from(page).unwrap_or(4096) + 24);
        self.log_behind_frames = i64::try_from(frames).unwrap_or(i64::MAX);
        let log_frames = std::sync::Arc::clone(&self.log_frames);
        self.conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames: i32| {
            log_frames.store(i64::from(frames), Ordering::Relaxed);
            Ok(())
        }))?;
        Ok(())
    }

    /// The wasm host's checkpoint, run from a timer between calls (no threads there): when
    /// something was committed since the last complete round, a PASSIVE checkpoint. Returns
    /// whether it did any work. An error or an incomplete checkpoint loses nothing: the next
    /// round tries again.
    ///
    /// Unlike the native checkpointer it does not restart the log itself: the host first makes
    /// the database file durable off its main thread (its VFS defers the sync the checkpoint
    /// asks for, see js/host.js), then calls [`Store::restart_log`], whose write to the log
    /// would otherwise have to wait for that sync on the main thread.
    ///
    /// `total_changes()` rather than `data_version`, which does not see this connection's own
    /// commits.
    #[cfg(target_arch = "wasm32")]
    pub fn checkpoint_if_written(&self) -> Result<bool> {
        if self.path.is_none() || self.checkpointed_at.get() == Some(self.conn.total_changes()) {
            return Ok(false);
        }
        let (busy, log_frames, copied) = checkpoint::copy_log(&self.conn)?;
        if busy == 0 && copied == log_frames {
            self.checkpointed_at.set(Some(self.conn.total_changes()));
            self.restart_due.set(log_frames > 0);
        }
        Ok(true)
    }

    /// The second step of the wasm host's checkpoint: the `wal_marker` commit that restarts the
    /// log (see checkpoint.rs), when the last [`Store::checkpoint_if_written`] copied the whole
    /// log and nothing was committed since (a commit since then has restarted it already).
    /// Returns whether it committed.
    #[cfg(target_arch = "wasm32")]
    pub fn restart_log(&self) -> Result<bool> {
        let due = self.restart_due.replace(false);
        if !due || self.checkpointed_at.get() != Some(self.conn.total_changes()) {
            return Ok(false);
        }
        checkpoint::marker_commit(&self.conn)?;
        self.checkpointed_at.set(Some(self.conn.total_changes()));
        Ok(true)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn schema_version(&self) -> Result<i64> {
        migrations::version(&self.conn)
    }

    /// Starts a consistent copy of the live database at `dest` on a thread with its own
    /// connection, so the caller (the server's main thread) keeps serving meanwhile. The copy
    /// is one read transaction of a WAL snapshot: writes go on and are simply not in it. The
    /// copy is then made a single file (no `-wal` beside it) and must pass `PRAGMA
    /// integrity_check` and be a Darkchat database; if not, it is removed and the job fails.
    /// `dest` is created here, before the thread starts (see [`create_backup_file`]); a copy
    /// that fails removes it again.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn start_backup(
        &self,
        dest: impl AsRef<Path>,
    ) -> Result<std::thread::JoinHandle<Result<()>>> {
        let Some(source) = self.path.clone() else {
            return Err(Error::Unusable("an in-memory store has no file to back up".into()));
        };
        let dest = dest.as_ref().to_owned();
        create_backup_file(&dest)?;
        let target = dest.clone();
        std::thread::Builder::new()
            .name("darkchat-backup".into())
            .spawn(move || {
                let copied = Connection::open_with_flags(&source, OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .map_err(Error::from)
                    .and_then(|conn| {
                        conn.busy_timeout(BUSY_TIMEOUT)?;
                        copy_database(&conn, &target)
                    });
                if copied.is_err() {
                    let _ = std::fs::remove_file(&target);
                }
                copied
            })
            .map_err(|e| {
                let _ = std::fs::remove_file(&dest);
                Error::Unusable(format!("cannot start backup thread: {e}"))
            })
    }

    /// Starts a backup into `dest` copied in steps on this connection ([`Store::backup_step`]),
    /// for the wasm core, which has no threads. Natively `dest` is created here (see
    /// [`create_backup_file`]); on wasm the host has created it, empty, and removes it when
    /// this or a step fails. One at a time.
    pub fn start_stepped_backup(&self, dest: impl AsRef<Path>) -> Result<()> {
        let dest = dest.as_ref();
        if self.path.is_none() {
            return Err(Error::Unusable("an in-memory store has no file to back up".into()));
        }
        let mut slot = self.stepped.try_borrow_mut().map_err(|_| busy_backup())?;
        if slot.is_some() {
            return Err(busy_backup());
        }
        #[cfg(not(target_arch = "wasm32"))]
        create_backup_file(dest)?;
        match stepped::Stepped::start(&self.conn, dest) {
            Ok(job) => {
                *slot = Some(job);
                Ok(())
            }
            Err(e) => {
                #[cfg(not(target_arch = "wasm32"))]
                let _ = std::fs::remove_file(dest);
                Err(e)
            }
        }
    }

    /// Copies at most `pages` more pages of the backup [`Store::start_stepped_backup`]
    /// started; once all are copied, the next steps check the copy, each reading as much as a
    /// step may copy ([`verify`]), and the last answers `Done`.
    /// A failed step ends the backup (natively its file is removed).
    pub fn backup_step(&self, pages: i32) -> Result<stepped::Progress> {
        let mut slot = self.stepped.try_borrow_mut().map_err(|_| busy_backup())?;
        let job = slot.as_mut().ok_or_else(|| Error::invalid("job"))?;
        let progress = job.step(pages);
        if !matches!(
            progress,
            Ok(stepped::Progress::Copying { .. } | stepped::Progress::Verifying { .. })
        ) {
            let job = slot.take().expect("checked above");
            #[cfg(not(target_arch = "wasm32"))]
            let failed = progress.is_err().then(|| job.path().to_owned());
            drop(job);
            #[cfg(not(target_arch = "wasm32"))]
            if let Some(path) = failed {
                let _ = std::fs::remove_file(path);
            }
        }
        progress
    }

    /// Checks that the file at `path` (a copy about to replace the live database) is a
    /// Darkchat database this build can open, holding a schema (not a new empty file), that
    /// passes `PRAGMA quick_check`. The file is made a single file on the way (its log, if
    /// any, folded in); nothing else is changed. A refusal says why in one line.
    pub fn check_restorable(path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let refused =
            |e: Error| Error::Unusable(format!("not a usable Darkchat backup: {}", cause(&e)));
        #[cfg(target_arch = "wasm32")]
        vfs::install()?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| refused(e.into()))?;
        let checked = (|| -> Result<()> {
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
            migrations::check_recognised(&conn)?;
            if migrations::version(&conn)? < 1 {
                return Err(Error::Unusable("an empty file, not a backup".into()));
            }
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
            conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
            stepped::verify(&conn)
        })();
        checked.map_err(refused)
    }

    /// Whether a backup in steps is in progress, for tests (tests/backups.rs): the hosts keep
    /// their own account of the backup they drive.
    #[doc(hidden)]
    pub fn backup_running(&self) -> bool {
        self.stepped.try_borrow().map_or(true, |slot| slot.is_some())
    }

    /// The underlying connection, for tests that inspect query plans.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Tests only (feature `fault-injection`): a panic armed for the next write on this thread,
/// fired after all its statements ran and before its commit (src/store/transactions.rs), so that a test can show that a
/// write that panics midway leaves nothing behind.
#[cfg(feature = "fault-injection")]
pub mod fault {
    use std::cell::Cell;

    thread_local!(static ARMED: Cell<bool> = const { Cell::new(false) });

    /// Arms the panic for the next write on this thread.
    pub fn panic_before_next_commit() {
        ARMED.with(|armed| armed.set(true));
    }

    pub(super) fn fire_before_commit() {
        if ARMED.with(|armed| armed.replace(false)) {
            panic!("injected fault before commit");
        }
    }
}

/// An open transaction whose `BEGIN`, `COMMIT` and `ROLLBACK` come from the statement cache.
///
/// Why not rusqlite's `Transaction`: it parses its `BEGIN` and `COMMIT` text on every call,
/// which was a tenth of a page read (benchmark + perf). Dropped without [`Transaction::commit`]
/// (an `Err` or a panic in between), it rolls back, so a failed operation writes nothing.
struct Transaction<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Transaction<'c> {
    fn begin(conn: &'c Connection, begin: &'static str) -> Result<Self> {
        conn.prepare_cached(begin)?.execute([])?;
        Ok(Transaction { conn, open: true })
    }

    fn commit(mut self) -> Result<()> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // SQLite may already have rolled back on its own (a failed commit, a full disk).
        if self.open && !self.conn.is_autocommit() {
            let _ = self.conn.prepare_cached("ROLLBACK").and_then(|mut s| s.execute([]));
        }
    }
}

/// Opens a read-write connection to the file at `path` (created if absent).
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags)
}

/// SQLite's busy handler for the caller's connection: `true` = try the lock again.
///
/// SQLite's own `busy_timeout` sleeps at least a millisecond before its first retry, while the
/// locks here are held for tens of microseconds (the checkpointer's marker commit, another
/// process's write): short naps first keep a collision from costing a whole millisecond on the
/// server's main thread; then millisecond naps up to [`BUSY_TIMEOUT`] in all.
pub fn wait_for_lock(attempt: i32) -> bool {
    // The wasm core has no threads to sleep on and holds its database exclusively.
    if cfg!(target_arch = "wasm32") {
        return false;
    }
    const SHORT_NAPS: u32 = 40;
    const SHORT: Duration = Duration::from_micros(50);
    const LONG: Duration = Duration::from_millis(1);
    let attempt = attempt.max(0) as u32;
    let (nap, waited) = if attempt < SHORT_NAPS {
        (SHORT, SHORT * attempt)
    } else {
        (LONG, SHORT * SHORT_NAPS + LONG * (attempt - SHORT_NAPS))
    };
    if waited >= BUSY_TIMEOUT {
        return false;
    }
    let start = std::time::Instant::now();
    std::thread::sleep(nap);
    let slept = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    LOCK_WAIT_NS.fetch_add(slept, std::sync::atomic::Ordering::Relaxed);
    true
}

/// Nanoseconds this process's callers have slept in [`wait_for_lock`] so far, on any thread.
static LOCK_WAIT_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How long callers have waited for a lock held by another connection so far, in all: the
/// benchmark takes a long block's sleep apart into this and the rest (I/O, SQLite's own waits).
pub fn lock_wait_ns() -> u64 {
    LOCK_WAIT_NS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Creates a backup's file, empty: exclusively (backups never overwrite: an existing file may
/// be someone's only good copy; a link already there is refused, never followed) and readable
/// by the server's user only (it holds every conversation). Its folder is made if missing.
#[cfg(not(target_arch = "wasm32"))]
fn create_backup_file(dest: &Path) -> Result<()> {
    let mut folder = std::fs::DirBuilder::new();
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        folder.mode(0o700);
        file.mode(0o600);
    }
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        folder
            .recursive(true)
            .create(dir)
            .map_err(|e| Error::Unusable(format!("cannot create folder {}: {e}", dir.display())))?;
    }
    file.open(dest).map(drop).map_err(|e| {
        Error::Unusable(if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("{} already exists; choose a new file", dest.display())
        } else {
            format!("cannot create {}: {e}", dest.display())
        })
    })
}

/// Copies into the file [`create_backup_file`] made (opened as it is: never created anew, no
/// link followed).
#[cfg(not(target_arch = "wasm32"))]
fn copy_database(source: &Connection, dest: &Path) -> Result<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NOFOLLOW;
    let mut target = Connection::open_with_flags(dest, flags)?;
    target.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    let backup = rusqlite::backup::Backup::new(source, &mut target)?;
    // All pages in one step: one snapshot, never restarted by concurrent writes.
    backup.step(-1)?;
    drop(backup);
    // On its own thread, the full check costs the server nothing (see stepped::verify).
    target.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
    stepped::check(&target, "integrity_check")
}

fn busy_backup() -> Error {
    Error::Unusable("a backup is already running; wait for it to finish".into())
}

/// Why the server may not write the database file at `path`, when the file system refuses it
/// (asked after an open failed); None when it may, or the file is missing.
fn write_refusal(path: &Path) -> Option<&'static str> {
    const PERMISSION: &str =
        "the server's user may not write the file (permission denied): give it to that user";
    const READ_ONLY: &str = "the file is on a read-only file system";
    #[cfg(target_arch = "wasm32")]
    {
        const EPERM: i32 = -1;
        const EACCES: i32 = -13;
        const EROFS: i32 = -30;
        match vfs::write_open_error(path.to_str()?)? {
            EACCES | EPERM => Some(PERMISSION),
            EROFS => Some(READ_ONLY),
            _ => None,
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::io::ErrorKind;
        match std::fs::OpenOptions::new().read(true).write(true).open(path) {
            Err(e) if e.kind() == ErrorKind::PermissionDenied => Some(PERMISSION),
            Err(e) if e.kind() == ErrorKind::ReadOnlyFilesystem => Some(READ_ONLY),
            _ => None,
        }
    }
}

/// The most useful words of an error for a one-line message.
fn cause(e: &Error) -> String {
    match e {
        Error::Storage(rusqlite::Error::SqliteFailure(code, Some(msg))) => {
            format!("{msg} ({:?})", code.code)
        }
        Error::Storage(rusqlite::Error::SqliteFailure(code, None)) => format!("{:?}", code.code),
        // Without the statement's text, which may run over many lines.
        Error::Storage(rusqlite::Error::SqlInputError { error, msg, .. }) => {
            format!("{msg} ({:?})", error.code)
        }
        other => other.to_string().lines().collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::MessageId;
    use crate::model::MessageKind;
    use crate::storage::{run_inline, Read, Storage, Write};

    fn phones(store: &Store) -> i64 {
        run_inline(store.read(async |tx| tx.stats().await)).unwrap().phones
    }

    /// Text overwritten in place (a deleted message) leaves no copy in the page's free space:
    /// without `secure_delete` SQLite keeps the old bytes of a row that shrank or moved.
    #[test]
    fn overwritten_text_is_zeroed_in_the_file() {
        let dir = crate::scratch::Scratch::new("secure-delete");
        let path = dir.join("darkchat.db");
        let store = Store::open(&path).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO phones VALUES (1, '5550101');
                 INSERT INTO conversations (id, name, created_by, owner_id, join_code, created_at,
                     updated_at) VALUES (1, 'A', 1, 1, 'AAAA', 1, 1);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
                 INSERT INTO messages (id, conversation_id, sender_id, kind, content, created_at)
                     SELECT i, 1, 1, 'text', 'row ' || i, 1 FROM n;
                 BEGIN;
                 UPDATE messages SET content = 'the vault code is 4-8-15-16' WHERE id = 20;
                 UPDATE messages SET content = '' WHERE id = 20;
                 COMMIT;",
            )
            .unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(dir.join("darkchat.db-wal")).unwrap_or_default());
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"row 21"), "the file read holds the rows");
        assert!(!has(b"vault code"), "the overwritten text is still in the file");
    }

    /// The open starts the log (header and marker frame), so that no caller's commit is the
    /// first into a fresh log, which would write and sync its header on the caller's thread.
    #[test]
    fn the_open_starts_the_log() {
        let dir = crate::scratch::Scratch::new("start-log");
        let path = dir.join("darkchat.db");
        drop(Store::open(&path).unwrap());
        let log = dir.join("darkchat.db-wal");
        let log_bytes = || std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        assert_eq!(log_bytes(), 0, "a close leaves no log");
        let store = Store::open(&path).unwrap();
        // The 32-byte header and at least one frame (a 4 KiB page and its 24-byte header).
        assert!(log_bytes() >= 32 + 4096 + 24, "the open left a log of {} bytes", log_bytes());
        drop(store);
    }

    /// The log is behind only once it is longer than the length given: a log of exactly that
    /// length (as SQLite reports it after this connection's commit) is not.
    #[test]
    fn the_log_is_behind_only_past_its_length() {
        use std::sync::atomic::Ordering;
        let dir = crate::scratch::Scratch::new("log-behind");
        let mut store = Store::open(dir.join("darkchat.db")).unwrap();
        run_inline(store.write(async |tx| tx.ensure_phone("5550101").await.map(drop))).unwrap();
        let frames = store.log_frames.load(Ordering::Relaxed);
        assert!(frames > 0, "the commit's frames were reported");
        store.log_behind_frames = frames;
        assert!(!store.log_behind(), "a log of exactly the length is not behind");
        store.log_behind_frames = frames - 1;
        assert!(store.log_behind(), "a log one frame longer is");
    }

    #[test]
    fn a_write_that_fails_or_panics_leaves_nothing_and_the_next_one_commits() {
        let mut store = Store::open_in_memory().unwrap();
        let failed: Result<()> = run_inline(store.write(async |tx| {
            tx.ensure_phone("111").await?;
            Err(Error::invalid("test"))
        }));
        assert!(failed.is_err());
        assert_eq!(phones(&store), 0);

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_inline(store.write(async |tx| -> Result<()> {
                tx.ensure_phone("222").await?;
                panic!("inside a write");
            }))
        }));
        assert!(panicked.is_err());
        assert_eq!(phones(&store), 0);
        assert!(store.conn.is_autocommit(), "no transaction left open");

        run_inline(store.write(async |tx| tx.ensure_phone("333").await)).unwrap();
        assert_eq!(phones(&store), 1);
        // A failed read leaves no snapshot open either.
        let failed: Result<()> = run_inline(store.read(async |_| Err(Error::invalid("test"))));
        assert!(failed.is_err());
        assert!(store.conn.is_autocommit());
    }

    #[test]
    fn a_sender_number_read_in_a_write_that_rolls_back_is_not_remembered() {
        let mut store = Store::open_in_memory().unwrap();
        // Post as a phone inserted by this write, read the page inside it, then roll back.
        let rolled_back: Result<()> = run_inline(store.write(async |tx| {
            let phone = tx.ensure_phone("111").await?;
            let id = tx.insert_conversation("A", phone, "CODE1", 1).await?;
            tx.insert_message(id, Some(phone), Some("Night Owl"), MessageKind::Text, None, "hi", 1)
                .await?;
            let page = tx.messages_before(id, None, 10).await?;
            assert_eq!(page[0].sender.as_deref(), Some("111"));
            Err(Error::invalid("test"))
        }));
        assert!(rolled_back.is_err());
        // The same phone id now belongs to another number.
        let id = run_inline(store.write(async |tx| {
            let phone = tx.ensure_phone("222").await?;
            let id = tx.insert_conversation("B", phone, "CODE2", 2).await?;
            tx.insert_message(
                id,
                Some(phone),
                Some("Night Owl"),
                MessageKind::Text,
                None,
                "hello",
                2,
            )
            .await?;
            Ok(id)
        }))
        .unwrap();
        for _ in 0..2 {
            let page =
                run_inline(store.read(async |tx| tx.messages_before(id, None, 10).await)).unwrap();
            assert_eq!(page[0].sender.as_deref(), Some("222"));
            assert!(page[0].id > MessageId::NONE);
        }
    }

    /// SQLite asks again while the naps add up to less than `BUSY_TIMEOUT`: 40 naps of 50 µs
    /// (2 ms), then naps of 1 ms, so attempt 40 + 4998 is the first to find 5 s waited and give
    /// up. Every nap taken is counted in `lock_wait_ns`.
    #[test]
    fn the_busy_handler_gives_up_once_its_naps_add_up_to_the_timeout() {
        let last = 40 + 4998;
        let before = lock_wait_ns();
        for attempt in [-1, 0, 1, 39, 40, 41, last - 1] {
            assert!(wait_for_lock(attempt), "attempt {attempt} gave up");
        }
        assert!(lock_wait_ns() > before, "the naps were not counted");
        assert!(!wait_for_lock(last), "5 s waited and still trying");
        assert!(!wait_for_lock(i32::MAX));
    }

    /// The length past which the log is behind is counted in log frames: a page and its
    /// 24-byte header each.
    #[test]
    fn the_behind_length_is_counted_in_frames_of_a_page_and_its_header() {
        let dir = crate::scratch::Scratch::new("log-frames");
        let page = 4096;
        let options = StoreOptions { log_behind_bytes: 100 * (page + 24), ..Default::default() };
        let store = Store::open_with(dir.join("darkchat.db"), &options).unwrap();
        let size: i64 = store.conn.pragma_query_value(None, "page_size", |r| r.get(0)).unwrap();
        assert_eq!(size, page as i64);
        assert_eq!(store.log_behind_frames, 100);
    }

    /// An open store's lock file lists this process (a wasm core keeps off), and the other
    /// processes listed there are named for a restore (pid 1: alive wherever /proc is).
    #[test]
    fn an_open_store_is_listed_in_its_lock_file_beside_the_other_holders() {
        let dir = crate::scratch::Scratch::new("holders");
        let (db, lock) = (dir.join("darkchat.db"), dir.join("darkchat.db.lock"));
        let store = Store::open(&db).unwrap();
        assert_eq!(store.path(), Some(db.as_path()));
        let mine = format!("{} native\n", std::process::id());
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), mine);
        assert!(other_holders(&db).is_empty(), "this process is not another holder");
        std::fs::write(&lock, format!("1 native\n{mine}")).unwrap();
        assert_eq!(other_holders(&db), ["process 1 (native core)"]);
        drop(store);
        assert_eq!(Store::open_in_memory().unwrap().path(), None);
    }

    /// The native backup, on its own thread and connection, copies every committed row into a
    /// new single file (folder made) that passes its check; it never overwrites a file, and an
    /// in-memory store has none to copy.
    #[test]
    fn a_backup_on_its_thread_is_a_complete_checked_single_file() {
        let dir = crate::scratch::Scratch::new("thread-backup");
        let mut store = Store::open(dir.join("live.db")).unwrap();
        run_inline(store.write(async |tx| {
            let phone = tx.ensure_phone("5550101").await?;
            let id = tx.insert_conversation("A", phone, "CODE1", 1).await?;
            for i in 0..500 {
                let text = format!("message {i} {}", "x".repeat(200));
                tx.insert_message(id, Some(phone), None, MessageKind::Text, None, &text, 1).await?;
            }
            Ok(())
        }))
        .unwrap();
        let dest = dir.join("backups/copy.db");
        store.start_backup(&dest).unwrap().join().unwrap().unwrap();
        let copy = Connection::open(&dest).unwrap();
        let pages: i64 = copy.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        assert!(pages > 20, "a copy of many pages: {pages}");
        let rows: i64 = copy.query_row("SELECT count(*) FROM messages", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 500);
        let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        let mode: String = copy.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "delete", "a single file");
        drop(copy);
        let before = std::fs::read(&dest).unwrap();
        let err = store.start_backup(&dest).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        assert_eq!(std::fs::read(&dest).unwrap(), before, "the file there is left as it was");
        let memory = Store::open_in_memory().unwrap();
        assert!(memory.start_backup(dir.join("memory.db")).is_err());
        assert!(!dir.join("memory.db").exists());
    }
}
