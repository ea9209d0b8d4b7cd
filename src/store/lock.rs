//! Who may hold a database: at any moment either one wasm core (js/host.js, which keeps its
//! database to itself: exclusive locking, its WAL index in its own memory) or any number of
//! native openers (which share it through SQLite's own locks), never both. The two cores cannot
//! see each other's locks, so they follow one protocol over files beside the database; js/host.js
//! implements the same protocol, and a change here must be made there too.
//!
//! Files beside `<db>` (Node has no `flock`, so only exclusive creates, links, renames and
//! unlinks, plus whether a process on this host is alive):
//! - `<db>.lock`, the holders: one line `"<pid> <core>"` per process that has the database open
//!   (a native process counts once, however many handles it has). Read and changed only by the
//!   holder of the mutex below; replaced whole (written to `<db>.lock.new`, renamed over), and
//!   removed when the last holder leaves.
//! - `<db>.lock.mutex`, `"<pid> <core> <generation>"`: held by whoever reads or changes
//!   `<db>.lock`, for the few file operations that takes. It appears whole: written to
//!   `<db>.lock.tmp-<pid>-<core>` first, then hard-linked to its name (which fails if the name
//!   exists), so the link is the exclusive create.
//! - `<db>.lock.steal-<generation>`: the right to remove a dead process's mutex of that
//!   generation, taken the same way. Only one process can create it, and it re-reads the mutex
//!   under it before removing it, so a mutex made afresh meanwhile is never removed (the lock
//!   a racer just made is not unlinked by a slower racer that read the dead one's). A dead
//!   process's steal file is removed the same way, under `<db>.lock.steal-<its generation>`.
//!   Generations are unique (pid, time, counter), so no two files ever share a steal name.
//!
//! Opening, under the mutex: the holders of `<db>.lock` that are gone are dropped; a wasm opener
//! is refused while any holder is left, a native opener while a wasm (or unknown) core holds;
//! otherwise the opener adds its line. Closing removes the line. Refusals are one line naming
//! the database, the holder and what to do.
//!
//! A process is gone when it has ended or is a zombie (dead but not yet reaped: it runs no more
//! code and its files are closed), read from `/proc/<pid>/stat` on Linux, else asked with
//! signal 0 (where a zombie counts as alive); elsewhere (Windows) a holder is taken to be alive,
//! which refuses rather than risking the database, and the message names the file to delete.
//! A line or file with this process's pid and this core that this process does not hold was
//! left by an earlier process that had the same pid (a restarted container), so it is stale;
//! with this pid and the other core it is another runtime of this process (FXServer runs Lua and
//! Node in one process), so it is alive.
//!
//! Files left by crashed processes never block for good and do not pile up: a dead holder's line
//! is dropped at the next open or close; a dead process's mutex is taken over; and whoever holds
//! the mutex removes dead processes' steal and staging files. A mutex whose live holder keeps it
//! for over [`MUTEX_WAIT`] (a stopped process) refuses the open with a line naming the file.
//!
//! Where no lock file can be made (a read-only folder), native openers go ahead with SQLite's own
//! locks: a wasm core could not write a database there anyway.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};

const CORE: &str = "native";
/// How long an opener waits for a live process to finish with the mutex (it takes
/// microseconds; this bounds a stopped or stuck holder).
const MUTEX_WAIT: Duration = Duration::from_secs(5);
/// Bounds a chain of dead stealers (each a process that died while removing a dead mutex).
const MAX_STEAL_DEPTH: usize = 16;

/// Open handles of this process per `<db>.lock` it is listed in. Held for the whole protocol,
/// so that this process's threads take their turns.
static HELD: Mutex<Option<HashMap<PathBuf, usize>>> = Mutex::new(None);

/// A claim on a database, released on drop.
pub(super) struct LockFile {
    /// The database, whose `<db>.lock` lists this process; `None` when no lock file could be
    /// made.
    db: Option<PathBuf>,
}

/// The files of the protocol for one database.
struct Files {
    db: PathBuf,
    holders: PathBuf,
}

impl Files {
    fn new(db: &Path) -> Self {
        Files { db: db.to_owned(), holders: sibling(db, ".lock") }
    }

    fn mutex(&self) -> PathBuf {
        sibling(&self.db, ".lock.mutex")
    }

    fn steal(&self, generation: &str) -> PathBuf {
        sibling(&self.db, &format!(".lock.steal-{generation}"))
    }

    fn staging(&self) -> PathBuf {
        sibling(&self.db, &format!(".lock.tmp-{}-{CORE}", std::process::id()))
    }

    fn next_holders(&self) -> PathBuf {
        sibling(&self.db, ".lock.new")
    }
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A line of `<db>.lock`, or the first words of a mutex or steal file.
#[derive(Clone, Debug, PartialEq)]
struct Owner {
    pid: u32,
    core: String,
    generation: String,
}

impl Owner {
    fn parse(line: &str) -> Option<Owner> {
        let mut words = line.split_whitespace();
        let pid = words.next()?.parse::<u32>().ok().filter(|&p| p > 0)?;
        let core = words.next()?.to_owned();
        let generation = words.next().unwrap_or("").to_owned();
        Some(Owner { pid, core, generation })
    }

    /// Whether the process is still there. `held_here`: this process holds what the line
    /// stands for (only asked when the pid and core are ours).
    fn alive(&self, held_here: bool) -> bool {
        if self.pid == std::process::id() {
            return self.core != CORE || held_here;
        }
        process_alive(self.pid)
    }
}

/// Whether process `pid` of this host is alive (a zombie is not).
fn process_alive(pid: u32) -> bool {
    let Ok(signed) = i32::try_from(pid) else { return false };
    if signed <= 0 {
        return false;
    }
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "<pid> (<name>) <state> ...": the name may hold spaces and parentheses.
        let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
        return !matches!(state, Some('Z' | 'X'));
    }
    exists(signed)
}

/// Signal 0: whether a process exists (where /proc does not say; a zombie exists).
#[cfg(unix)]
fn exists(pid: i32) -> bool {
    extern "C" {
        fn kill(pid: i32, signal: i32) -> i32;
    }
    const ESRCH: i32 = 3;
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    if unsafe { kill(pid, 0) } == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() != Some(ESRCH)
}

#[cfg(not(unix))]
fn exists(_pid: i32) -> bool {
    true
}

/// A generation no other file of the protocol ever had: pid, time, and a counter.
fn generation() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos =
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}.{nanos:x}.{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Reads a mutex or steal file: `None` when it is gone, `Some(None)` when it is not one.
fn read_owner(file: &Path) -> Option<Option<Owner>> {
    match std::fs::read_to_string(file) {
        Ok(text) => Some(Owner::parse(&text).filter(|o| !o.generation.is_empty())),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(_) => Some(None),
    }
}

fn remove(file: &Path) {
    let _ = std::fs::remove_file(file);
}

/// Writes `text` into a new file at `file` (whatever was there is removed first: a symlink is
/// replaced, never followed).
fn write_new(file: &Path, text: &str) -> std::io::Result<()> {
    remove(file);
    OpenOptions::new().write(true).create_new(true).open(file)?.write_all(text.as_bytes())
}

fn unusable(files: &Files, what: std::fmt::Arguments<'_>) -> Error {
    Error::Unusable(format!("database {}: {what}", files.db.display()))
}

/// Creates `file` holding this process's pid, core and a new generation, whole and
/// exclusively; while it exists, waits for a live owner and removes a dead one's ([`steal`]).
fn take(files: &Files, file: &Path, depth: usize) -> Result<()> {
    let deadline = Instant::now() + MUTEX_WAIT;
    let staging = files.staging();
    loop {
        let text = format!("{} {CORE} {}\n", std::process::id(), generation());
        write_new(&staging, &text).map_err(|e| {
            unusable(files, format_args!("cannot write lock file {}: {e}", staging.display()))
        })?;
        let linked = std::fs::hard_link(&staging, file);
        remove(&staging);
        match linked {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(unusable(
                    files,
                    format_args!("cannot create lock file {}: {e}", file.display()),
                ))
            }
        }
        let owner = match read_owner(file) {
            None => continue, // released meanwhile
            Some(Some(owner)) => owner,
            Some(None) => {
                let what = "is not a lock file Darkchat can read";
                return Err(unusable(
                    files,
                    format_args!("{} {what}; delete it if no server is running", file.display()),
                ));
            }
        };
        if !owner.alive(false) {
            steal(files, file, &owner.generation, depth)?;
        } else if Instant::now() >= deadline {
            return Err(unusable(
                files,
                format_args!(
                    "process {} has held {} for over {} s; stop it, or delete the file if no \
                     server is running",
                    owner.pid,
                    file.display(),
                    MUTEX_WAIT.as_secs()
                ),
            ));
        } else {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
}

/// Removes `file`, a mutex or steal file of generation `generation` whose owner is gone, unless
/// it was replaced meanwhile: under `<db>.lock.steal-<generation>`, which only one process can
/// hold, so it is removed at most once and a fresh one never.
fn steal(files: &Files, file: &Path, generation: &str, depth: usize) -> Result<()> {
    if depth >= MAX_STEAL_DEPTH {
        return Err(unusable(
            files,
            format_args!("cannot take over {}; delete it if no server is running", file.display()),
        ));
    }
    let claim = files.steal(generation);
    take(files, &claim, depth + 1)?;
    if matches!(read_owner(file), Some(Some(o)) if o.generation == generation) {
        remove(file);
    }
    remove(&claim);
    Ok(())
}

/// Runs `f` holding `<db>.lock.mutex`.
fn with_mutex<T>(files: &Files, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let mutex = files.mutex();
    take(files, &mutex, 0)?;
    let out = f();
    remove(&mutex);
    out
}

/// The lines of `<db>.lock` (none when it is absent; unreadable lines are dropped).
fn read_holders(files: &Files) -> Vec<Owner> {
    std::fs::read_to_string(&files.holders)
        .map(|text| text.lines().filter_map(Owner::parse).collect())
        .unwrap_or_default()
}

fn write_holders(files: &Files, holders: &[Owner]) -> Result<()> {
    if holders.is_empty() {
        remove(&files.holders);
        return Ok(());
    }
    let text: String = holders.iter().map(|h| format!("{} {}\n", h.pid, h.core)).collect();
    let next = files.next_holders();
    write_new(&next, &text).and_then(|()| std::fs::rename(&next, &files.holders)).map_err(|e| {
        unusable(files, format_args!("cannot write lock file {}: {e}", files.holders.display()))
    })
}

/// Under the mutex: removes the steal and staging files of processes that are gone.
fn sweep(files: &Files) {
    let (Some(dir), Some(name)) = (files.db.parent(), files.db.file_name()) else { return };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let mut prefix = name.to_owned();
    prefix.push(".lock.");
    let prefix = prefix.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else { continue };
        let path = files.holders.with_file_name(&name);
        if let Some(owner) = rest.strip_prefix("tmp-") {
            // "<pid>-<core>": this process's own is not in use while it holds the mutex.
            let gone = owner.split_once('-').and_then(|(pid, core)| {
                Owner::parse(&format!("{pid} {core}")).map(|o| !o.alive(false))
            });
            if gone == Some(true) {
                remove(&path);
            }
        } else if rest.starts_with("steal-") {
            if let Some(Some(owner)) = read_owner(&path) {
                if !owner.alive(false) {
                    let _ = steal(files, &path, &owner.generation, 0);
                }
            }
        }
    }
}

fn me() -> Owner {
    Owner { pid: std::process::id(), core: CORE.to_owned(), generation: String::new() }
}

/// Under the mutex: lists this process among the holders, unless a core that does not share
/// holds the database.
fn register(files: &Files) -> Result<()> {
    let mut holders: Vec<Owner> =
        read_holders(files).into_iter().filter(|h| h.alive(false)).collect();
    if let Some(h) = holders.iter().find(|h| h.core != CORE) {
        return Err(Error::Unusable(format!(
            "database {} is in use by the {} core of process {} (lock file {}); stop that server \
             first, or delete the lock file if no server is running",
            files.db.display(),
            h.core,
            h.pid,
            files.holders.display()
        )));
    }
    holders.push(me());
    write_holders(files, &holders)?;
    sweep(files);
    Ok(())
}

/// Under the mutex: takes this process off the holders.
fn unregister(files: &Files) -> Result<()> {
    let mine = me();
    let holders: Vec<Owner> = read_holders(files)
        .into_iter()
        .filter(|h| !(h.pid == mine.pid && h.core == mine.core) && h.alive(false))
        .collect();
    write_holders(files, &holders)?;
    sweep(files);
    Ok(())
}

/// The other live processes listed as holding the database at `db`, as "process <pid> (<core>
/// core)": whoever would be left with a file replaced under them.
pub(super) fn other_holders(db: &Path) -> Vec<String> {
    let files = Files::new(db);
    let mine = std::process::id();
    read_holders(&files)
        .into_iter()
        .filter(|h| h.pid != mine && h.alive(false))
        .map(|h| format!("process {} ({} core)", h.pid, h.core))
        .collect()
}

/// Claims the database at `db` for this process (see the module comment).
pub(super) fn acquire(db: &Path) -> Result<LockFile> {
    let files = Files::new(db);
    let mut guard = HELD.lock().unwrap_or_else(|p| p.into_inner());
    let held = guard.get_or_insert_with(HashMap::new);
    if let Some(handles) = held.get_mut(&files.holders) {
        // Listed already: no wasm core can have come in since.
        *handles += 1;
        return Ok(LockFile { db: Some(files.db) });
    }
    // No lock file can be made here (read-only folder): SQLite's own locks still hold.
    let staging = files.staging();
    let probe = write_new(&staging, "");
    remove(&staging);
    if let Err(e) = probe {
        if matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem) {
            return Ok(LockFile { db: None });
        }
    }
    with_mutex(&files, || register(&files))?;
    held.insert(files.holders.clone(), 1);
    Ok(LockFile { db: Some(files.db) })
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let Some(db) = self.db.take() else { return };
        let files = Files::new(&db);
        let mut guard = HELD.lock().unwrap_or_else(|p| p.into_inner());
        let held = guard.get_or_insert_with(HashMap::new);
        let Some(handles) = held.get_mut(&files.holders) else { return };
        *handles -= 1;
        if *handles > 0 {
            return;
        }
        held.remove(&files.holders);
        // When this fails the line stays until this process is gone, then is dropped.
        let _ = with_mutex(&files, || unregister(&files));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch::Scratch;

    /// A database named `name` in a fresh folder of this test, and its lock file.
    fn db_and_lock(name: &str) -> (Scratch, PathBuf, PathBuf) {
        let dir = Scratch::new(&format!("lock-{name}"));
        let db = dir.join(name);
        let lock = db.with_extension("db.lock");
        (dir, db, lock)
    }

    /// The files of the lock protocol left beside `db`.
    fn lock_files(dir: &Scratch, db: &Path) -> Vec<String> {
        let prefix = format!("{}.lock", db.file_name().unwrap().to_string_lossy());
        let mut names: Vec<String> = std::fs::read_dir(dir.join(""))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        names.sort();
        names
    }

    fn mine() -> String {
        format!("{} native\n", std::process::id())
    }

    /// A process that is dead but not reaped: its parent (this test) has not waited for it.
    struct Zombie(std::process::Child);

    impl Zombie {
        fn new() -> Zombie {
            let mut child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
            child.kill().unwrap();
            let stat = format!("/proc/{}/stat", child.id());
            // Until the kernel has made it a zombie (a few scheduler ticks at most).
            for _ in 0..10_000 {
                let text = std::fs::read_to_string(&stat).unwrap();
                if text.rsplit_once(')').unwrap().1.trim_start().starts_with('Z') {
                    return Zombie(child);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            let pid = child.id();
            let _ = child.wait();
            panic!("{pid} never became a zombie");
        }

        fn pid(&self) -> u32 {
            self.0.id()
        }
    }

    impl Drop for Zombie {
        fn drop(&mut self) {
            let _ = self.0.wait();
        }
    }

    #[test]
    fn native_openers_share_and_the_last_one_removes_the_file() {
        let (dir, db, lock) = db_and_lock("a.db");
        let first = acquire(&db).unwrap();
        let second = acquire(&db).unwrap();
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), mine(), "one line per process");
        drop(first);
        assert!(lock.exists(), "still held by the second handle");
        drop(second);
        assert_eq!(lock_files(&dir, &db), Vec::<String>::new());
    }

    #[test]
    fn another_native_process_is_listed_beside_this_one_and_stays_listed() {
        let (_dir, db, lock) = db_and_lock("shared.db");
        // pid 1 is alive wherever there is a /proc (init, or a container's first process).
        std::fs::write(&lock, "1 native\n").unwrap();
        let taken = acquire(&db).unwrap();
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), format!("1 native\n{}", mine()));
        drop(taken);
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), "1 native\n");
    }

    #[test]
    fn a_line_with_our_pid_is_stale_for_this_core_and_alive_for_the_other() {
        let (dir, db, lock) = db_and_lock("c.db");
        std::fs::write(&lock, mine()).unwrap();
        drop(acquire(&db).unwrap());
        assert_eq!(lock_files(&dir, &db), Vec::<String>::new(), "left by an earlier process");
        std::fs::write(&lock, format!("{} wasm\n", std::process::id())).unwrap();
        let err = acquire(&db).err().expect("another runtime of this process holds it");
        assert!(err.to_string().contains("in use by the wasm core"), "{err}");
    }

    #[test]
    fn a_live_wasm_holder_is_refused_in_one_line_and_a_dead_one_dropped() {
        let (_dir, db, lock) = db_and_lock("b.db");
        std::fs::write(&lock, "1 wasm\n").unwrap();
        let err = acquire(&db).err().expect("refused");
        let message = err.to_string();
        assert!(message.contains("in use by the wasm core of process 1"), "{message}");
        assert!(message.contains(&lock.display().to_string()), "{message}");
        assert!(!message.contains('\n'), "{message}");
        assert_eq!(err.code(), "storage_error");
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), "1 wasm\n", "refusing writes nothing");
        std::fs::write(&lock, "999999999 wasm\n").unwrap();
        let taken = acquire(&db).unwrap();
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), mine());
        drop(taken);
    }

    #[test]
    fn a_zombie_holds_nothing() {
        if !Path::new("/proc/self/stat").exists() {
            return;
        }
        let (dir, db, lock) = db_and_lock("z.db");
        let zombie = Zombie::new();
        std::fs::write(&lock, format!("{} wasm\n", zombie.pid())).unwrap();
        let mutex = dir.join("z.db.lock.mutex");
        std::fs::write(&mutex, format!("{} wasm {}.1.0\n", zombie.pid(), zombie.pid())).unwrap();
        let taken = acquire(&db).expect("a holder that crashed a moment ago is gone");
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), mine());
        drop(taken);
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(zombie.pid()));
    }

    #[test]
    fn a_dead_mutex_holder_and_a_dead_stealer_are_taken_over_and_swept() {
        let (dir, db, _lock) = db_and_lock("m.db");
        let files = Files::new(&db);
        std::fs::write(files.mutex(), "999999998 wasm 999999998.1.0\n").unwrap();
        std::fs::write(files.steal("999999998.1.0"), "999999997 native 999999997.2.0\n").unwrap();
        // A dead stealer of a mutex long gone, and a dead process's staging file.
        std::fs::write(files.steal("5.3.0"), "999999996 wasm 999999996.4.0\n").unwrap();
        std::fs::write(dir.join("m.db.lock.tmp-999999995-wasm"), "").unwrap();
        let taken = acquire(&db).unwrap();
        assert_eq!(lock_files(&dir, &db), vec!["m.db.lock".to_owned()]);
        drop(taken);
        assert_eq!(lock_files(&dir, &db), Vec::<String>::new());
    }

    #[test]
    fn a_fresh_mutex_is_never_removed_by_a_steal_of_an_older_generation() {
        let (_dir, db, _lock) = db_and_lock("aba.db");
        let files = Files::new(&db);
        // A slower racer read the dead holder's mutex (generation 1) and steals it only now,
        // after another process took the mutex afresh (generation 2, alive: pid 1).
        std::fs::write(files.mutex(), "1 wasm 1.2.0\n").unwrap();
        steal(&files, &files.mutex(), "999999998.1.0", 0).unwrap();
        assert_eq!(std::fs::read_to_string(files.mutex()).unwrap(), "1 wasm 1.2.0\n");
        assert!(!files.steal("999999998.1.0").exists());
    }

    #[test]
    fn a_mutex_that_is_not_one_is_refused_in_one_line_naming_it() {
        let (_dir, db, _lock) = db_and_lock("g.db");
        let files = Files::new(&db);
        std::fs::write(files.mutex(), "not a lock\n").unwrap();
        let message = acquire(&db).err().expect("refused").to_string();
        assert!(message.contains(&files.mutex().display().to_string()), "{message}");
        assert!(message.contains("delete it if no server is running"), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
}
