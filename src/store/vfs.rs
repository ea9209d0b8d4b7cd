//! SQLite's files on the wasm host: a VFS over functions the JS host imports into the module
//! (`darkchat_fs.*`, implemented with Node's synchronous `fs` in js/host.js), installed as
//! SQLite's default so that [`super::Store::open`] and every statement stay the same code as on
//! the native build.
//!
//! Invariants:
//! - One process, one connection: the JS host holds a lock file beside the database for as long
//!   as it is open, and SQLite runs in `locking_mode = EXCLUSIVE`, so the byte-range locks of a
//!   native VFS are not needed and WAL needs no shared memory (its index lives in the heap).
//! - `xSync` is a real `fdatasync` in the host: checkpoints are durable; commits are durable
//!   against a crash of the process (WAL, `synchronous = NORMAL`, as on the native build).
//! - No threads here: the JS host checkpoints between calls, from a timer
//!   ([`super::Store::checkpoint_if_written`]); SQLite's automatic checkpoint is only a safety
//!   net that keeps the log bounded if that timer is starved (a call that crosses it pays).
//! - Anonymous temporary files stay in memory; nothing but the database, its `-wal` and
//!   `-journal` reaches the host.
//! - Time and randomness inside SQLite come from what the host passed in ([`set_clock`],
//!   [`seed`]), never from an OS call here.
//!
//! Only built for wasm32.

#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rusqlite::Connection;
use sqlite_wasm_rs::vfs::{
    register_vfs, AccessMode, LockLevel, MemChunksFile, OpenAccess, OpenOptions, OpenRequest,
    OpenedFile, OsCallback, SQLiteIoMethods, SQLiteVfs, SyncOptions, VfsError, VfsErrorCode,
    VfsFile, VfsResult, VfsStore,
};

use crate::error::{Error, Result};

/// Pages in the log before the committing call checkpoints it anyway: a safety net (about 40 MB
/// of log) for when the host's timer does not get to run; normally the timer checkpoints long
/// before (SQLite's default is 1000).
const AUTOCHECKPOINT_PAGES: i64 = 10_000;

mod host {
    #[link(wasm_import_module = "darkchat_fs")]
    extern "C" {
        /// flags: 1 create, 2 read-only, 4 exclusive. Returns a descriptor, or < 0.
        pub fn fs_open(path: *const u8, len: usize, flags: u32) -> i32;
        /// Returns the bytes read (fewer only at the end of the file), or < 0.
        pub fn fs_read(fd: i32, buf: *mut u8, len: usize, offset: f64) -> i32;
        /// Writes everything; returns 0, or < 0.
        pub fn fs_write(fd: i32, buf: *const u8, len: usize, offset: f64) -> i32;
        pub fn fs_sync(fd: i32) -> i32;
        pub fn fs_truncate(fd: i32, size: f64) -> i32;
        /// Returns the size in bytes, or < 0.
        pub fn fs_size(fd: i32) -> f64;
        pub fn fs_close(fd: i32) -> i32;
        /// Returns 0, 1 when there was no such file, or < 0.
        pub fn fs_delete(path: *const u8, len: usize, sync_dir: u32) -> i32;
        /// Returns 1 when the file exists, 0 when not.
        pub fn fs_access(path: *const u8, len: usize) -> i32;
        /// A monotonic clock in milliseconds (for durations only).
        pub fn clock_ms() -> f64;
    }
}

/// Files whose path starts with this live in the module's memory, never on the host's disk:
/// the warm-up's database and its log ([`crate::warm_up`]), so that it runs SQLite's file,
/// WAL and checkpoint code as the live database does without touching the resource folder.
pub const MEMORY_PATH_PREFIX: &str = "/:darkchat-memory:/";

thread_local! {
    static CLOCK_MS: Cell<i64> = const { Cell::new(0) };
    static RNG: RefCell<StdRng> = RefCell::new(StdRng::from_seed([0; 32]));
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
    /// The files under [`MEMORY_PATH_PREFIX`], by path, kept from one open to the next.
    static MEMORY_FILES: RefCell<HashMap<String, MemChunksFile>> = RefCell::default();
}

/// Forgets every file under [`MEMORY_PATH_PREFIX`] (their memory goes back to the allocator).
pub fn drop_memory_files() {
    MEMORY_FILES.with(|files| files.borrow_mut().clear());
}

/// Runs `f` on the memory file at `path` (an error when there is none).
fn with_memory_file<T>(
    path: &str,
    f: impl FnOnce(&mut MemChunksFile) -> VfsResult<T>,
) -> VfsResult<T> {
    MEMORY_FILES.with(|files| match files.borrow_mut().get_mut(path) {
        Some(file) => f(file),
        None => Err(VfsError::new(VfsErrorCode::IoRead, format!("no file {path}").into())),
    })
}

/// The host's time for SQLite's clock (`date('now')`), set before every call.
pub fn set_clock(unix_seconds: i64) {
    CLOCK_MS.with(|c| c.set(unix_seconds.saturating_mul(1000)));
}

/// The host's monotonic clock, in milliseconds: how long something took (a long migration).
pub fn monotonic_ms() -> f64 {
    // SAFETY: an import with no arguments.
    unsafe { host::clock_ms() }
}

/// Seeds SQLite's randomness (temporary names, `random()`) from the host's seed.
pub fn seed(seed: [u8; 32]) {
    RNG.with(|r| *r.borrow_mut() = StdRng::from_seed(seed));
}

fn fill_random(buf: &mut [u8]) {
    RNG.with(|r| r.borrow_mut().fill_bytes(buf));
}

/// Installs the host VFS as SQLite's default, once per module instance.
pub fn install() -> Result<()> {
    if INSTALLED.with(Cell::get) {
        return Ok(());
    }
    // SAFETY: single-threaded module; the registration lives as long as the instance.
    let registration = unsafe { register_vfs::<HostIo, HostVfs>("darkchat-host", HostOs, true) }
        .map_err(|e| Error::Unusable(format!("cannot register the file system: {e}")))?;
    let _ = registration.into_raw();
    INSTALLED.with(|c| c.set(true));
    Ok(())
}

/// Before anything is read: without shared memory, WAL (and a log left by a crash) can only be
/// used in exclusive locking mode.
pub(super) fn before_wal(conn: &Connection) -> Result<()> {
    let mode: String = conn.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("exclusive") {
        return Err(Error::Unusable(format!(
            "could not lock the database exclusively (got {mode})"
        )));
    }
    Ok(())
}

/// What the file system answers when the host opens `path` for reading and writing: None when
/// it opens (or is missing), else the error number (`-errno`).
pub(super) fn write_open_error(path: &str) -> Option<i32> {
    let fd = unsafe { host::fs_open(path.as_ptr(), path.len(), 0) };
    if fd >= 0 {
        unsafe { host::fs_close(fd) };
        return None;
    }
    Some(fd)
}

/// After open: no checkpoint thread here; the host's timer checkpoints, and commits only once
/// the log is very long. The restart after a complete checkpoint truncates the log back to the
/// same limit as the native checkpointer's.
pub(super) fn after_open(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES)?;
    conn.pragma_update(None, "journal_size_limit", super::checkpoint::JOURNAL_SIZE_LIMIT)?;
    Ok(())
}

// --- SQLite's host services (sqlite-wasm-rs calls these by name) ------------------------------

#[no_mangle]
pub extern "C" fn rust_sqlite_wasm_host_sleep(_seconds: u64, _nanoseconds: u32) {
    // One exclusive connection: there is never anybody to wait for.
}

#[no_mangle]
pub unsafe extern "C" fn rust_sqlite_wasm_host_random(buf: *mut u8, len: usize) -> usize {
    if len > 0 {
        fill_random(std::slice::from_raw_parts_mut(buf, len));
    }
    len
}

#[no_mangle]
pub unsafe extern "C" fn rust_sqlite_wasm_host_epoch_timestamp_in_ms(out: *mut i64) -> i32 {
    *out = CLOCK_MS.with(Cell::get);
    0
}

/// Secure entropy is only for encryption builds, which this is not: unsupported.
#[no_mangle]
pub extern "C" fn rust_sqlite_wasm_host_fill_entropy(_buf: *mut u8, _len: usize) -> i32 {
    1
}

/// Local time (`'localtime'` modifier) is unsupported: the core stores unix seconds.
#[no_mangle]
pub extern "C" fn rust_sqlite_wasm_host_localtime(_unix_seconds: i64, _out: *mut u8) -> i32 {
    1
}

// --- the VFS ---------------------------------------------------------------------------------

struct HostOs;

impl OsCallback for HostOs {
    fn sleep(&self, _duration: Duration) {}

    fn random(&self, buf: &mut [u8]) -> usize {
        fill_random(buf);
        buf.len()
    }

    fn epoch_timestamp_in_ms(&self) -> VfsResult<i64> {
        Ok(CLOCK_MS.with(Cell::get))
    }
}

fn failed(code: VfsErrorCode, what: &str, status: impl std::fmt::Display) -> VfsError {
    VfsError::new(code, format!("{what} failed ({status})").into())
}

/// A host function's status: below 0 is an error (`-errno`), anything else done.
fn checked(status: i32, code: VfsErrorCode, what: &str) -> VfsResult<()> {
    if status < 0 {
        return Err(failed(code, what, status));
    }
    Ok(())
}

/// A file SQLite opened, with the lock level SQLite asked for (only recorded: one connection).
struct HostFile {
    body: Body,
    lock: LockLevel,
}

enum Body {
    /// A host file descriptor.
    Disk(i32),
    /// An anonymous temporary file.
    Memory(MemChunksFile),
    /// A file under [`MEMORY_PATH_PREFIX`], by its path.
    Named(String),
}

impl HostFile {
    fn new(body: Body) -> Self {
        HostFile { body, lock: LockLevel::None }
    }
}

impl VfsFile for HostFile {
    fn read(&mut self, buf: &mut [u8], offset: u64) -> VfsResult<usize> {
        match &mut self.body {
            Body::Memory(file) => file.read(buf, offset),
            Body::Named(path) => with_memory_file(path, |file| file.read(buf, offset)),
            Body::Disk(fd) => {
                let n = unsafe { host::fs_read(*fd, buf.as_mut_ptr(), buf.len(), offset as f64) };
                usize::try_from(n).map_err(|_| failed(VfsErrorCode::IoRead, "read", n))
            }
        }
    }

    fn write(&mut self, buf: &[u8], offset: u64) -> VfsResult<()> {
        match &mut self.body {
            Body::Memory(file) => file.write(buf, offset),
            Body::Named(path) => with_memory_file(path, |file| file.write(buf, offset)),
            Body::Disk(fd) => {
                let n = unsafe { host::fs_write(*fd, buf.as_ptr(), buf.len(), offset as f64) };
                checked(n, VfsErrorCode::IoWrite, "write")
            }
        }
    }

    fn truncate(&mut self, size: u64) -> VfsResult<()> {
        match &mut self.body {
            Body::Memory(file) => file.truncate(size),
            Body::Named(path) => with_memory_file(path, |file| file.truncate(size)),
            Body::Disk(fd) => {
                let n = unsafe { host::fs_truncate(*fd, size as f64) };
                checked(n, VfsErrorCode::IoTruncate, "truncate")
            }
        }
    }

    fn sync(&mut self, options: SyncOptions) -> VfsResult<()> {
        match &mut self.body {
            Body::Memory(file) => file.sync(options),
            Body::Named(_) => Ok(()),
            Body::Disk(fd) => {
                checked(unsafe { host::fs_sync(*fd) }, VfsErrorCode::IoSync, "fdatasync")
            }
        }
    }

    fn size(&self) -> VfsResult<u64> {
        match &self.body {
            Body::Memory(file) => file.size(),
            Body::Named(path) => with_memory_file(path, |file| file.size()),
            Body::Disk(fd) => {
                let size = unsafe { host::fs_size(*fd) };
                if size < 0.0 {
                    return Err(failed(VfsErrorCode::IoStat, "fstat", size));
                }
                Ok(size as u64)
            }
        }
    }

    fn lock(&mut self, level: LockLevel) -> VfsResult<()> {
        self.lock = self.lock.max(level);
        Ok(())
    }

    fn unlock(&mut self, level: LockLevel) -> VfsResult<()> {
        self.lock = self.lock.min(level);
        Ok(())
    }

    fn check_reserved_lock(&self) -> VfsResult<bool> {
        Ok(self.lock >= LockLevel::Reserved)
    }
}

struct HostStore;

impl VfsStore for HostStore {
    type File = HostFile;
    type AppData = HostOs;

    fn open_file(_: &HostOs, request: OpenRequest<'_>) -> VfsResult<OpenedFile<HostFile>> {
        let options = request.options;
        let Some(name) = request.filename else {
            let file = HostFile::new(Body::Memory(MemChunksFile::default()));
            return Ok(OpenedFile { file, access: options.access() });
        };
        let path = name.path();
        if path.starts_with(MEMORY_PATH_PREFIX) {
            let known = MEMORY_FILES.with(|files| {
                let mut files = files.borrow_mut();
                if options.create() {
                    files.entry(path.to_owned()).or_default();
                }
                files.contains_key(path)
            });
            if !known {
                return Err(VfsError::new(
                    VfsErrorCode::CantOpen,
                    format!("no file {path}").into(),
                ));
            }
            let file = HostFile::new(Body::Named(path.to_owned()));
            return Ok(OpenedFile { file, access: options.access() });
        }
        let read_only = options.access() == OpenAccess::ReadOnly;
        let flags = u32::from(options.create())
            | u32::from(read_only) << 1
            | u32::from(options.exclusive()) << 2;
        let fd = unsafe { host::fs_open(path.as_ptr(), path.len(), flags) };
        if fd < 0 {
            return Err(failed(VfsErrorCode::CantOpen, &format!("open {path}"), fd));
        }
        Ok(OpenedFile { file: HostFile::new(Body::Disk(fd)), access: options.access() })
    }

    fn close_file(
        _: &HostOs,
        name: Option<&str>,
        file: HostFile,
        options: OpenOptions,
    ) -> VfsResult<()> {
        if let (Body::Named(path), true) = (&file.body, options.delete_on_close()) {
            MEMORY_FILES.with(|files| files.borrow_mut().remove(path));
        }
        let Body::Disk(fd) = file.body else { return Ok(()) };
        let closed = unsafe { host::fs_close(fd) };
        if let (true, Some(name)) = (options.delete_on_close(), name) {
            unsafe { host::fs_delete(name.as_ptr(), name.len(), 0) };
        }
        checked(closed, VfsErrorCode::IoClose, "close")
    }

    fn access(_: &HostOs, name: &str, _mode: AccessMode) -> VfsResult<bool> {
        if name.starts_with(MEMORY_PATH_PREFIX) {
            return Ok(MEMORY_FILES.with(|files| files.borrow().contains_key(name)));
        }
        Ok(unsafe { host::fs_access(name.as_ptr(), name.len()) } == 1)
    }

    fn full_pathname(_: &HostOs, name: &str) -> VfsResult<String> {
        // The host hands over absolute paths already resolved inside the resource folder.
        Ok(name.to_owned())
    }

    fn delete_file(_: &HostOs, name: &str, sync_dir: bool) -> VfsResult<()> {
        if name.starts_with(MEMORY_PATH_PREFIX) {
            return match MEMORY_FILES.with(|files| files.borrow_mut().remove(name)) {
                Some(_) => Ok(()),
                None => Err(VfsError::new(
                    VfsErrorCode::IoDeleteNoEntry,
                    format!("no file {name}").into(),
                )),
            };
        }
        match unsafe { host::fs_delete(name.as_ptr(), name.len(), u32::from(sync_dir)) } {
            0 => Ok(()),
            1 => {
                Err(VfsError::new(VfsErrorCode::IoDeleteNoEntry, format!("no file {name}").into()))
            }
            n => Err(failed(VfsErrorCode::IoDelete, "delete", n)),
        }
    }
}

struct HostIo;

impl SQLiteIoMethods for HostIo {
    type Store = HostStore;
}

struct HostVfs;

impl SQLiteVfs<HostIo> for HostVfs {
    type Os = HostOs;

    fn os(data: &HostOs) -> &HostOs {
        data
    }
}
