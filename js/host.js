// The WebAssembly core's host, for stock FXServer (whose Lua cannot load native modules).
//
// Loads bin/darkchat.wasm (the same Rust core and SQLite store as the native module, built by
// `bash scripts/build-wasm.sh`) synchronously from the resource folder, gives it the file
// functions its SQLite VFS imports (Node's synchronous `fs`), and serves it to the resource's
// own Lua through the in-resource export `DarkchatCore(method, argsJson)` (lua/core.lua).
//
// What it guarantees:
// - only this resource calls the core: an export is reachable by every resource, and through
//   this one a caller would act as a server admin (no number passes owner checks, lists every
//   conversation with its code) and could close or reopen the live database; any other invoking
//   resource gets `forbidden` (other resources use the Darkchat_* exports, which check them);
// - files only inside the resource folder: the database, its -wal/-journal and its lock files;
//   any other path is refused, and so is a path a link leads out of the folder (checked before
//   any folder is made);
// - a database held by nobody else: this process is listed in `<db>.lock` while the database is
//   open (the lock protocol below, shared with the native core); a live holder (this core or the
//   native one, in any process) makes open fail with one line; what dead processes left is taken
//   over;
// - the time (unix seconds) and a 32-byte seed come from here, with every call / at open;
// - a trap (a panic inside the module) never escapes: that call answers `storage_error`, the
//   module is instantiated afresh and the database reopened before the next call;
// - checkpoints run between calls, never inside one: after a call, while the log may hold what
//   no checkpoint copied yet (a write since the last one, or a log found at a (re)open), a timer
//   (CHECKPOINT_DELAY_MS, unref'd so it never keeps a process alive) asks the core to checkpoint
//   the log and restart it (on a quiet server with little in the log, syncs it and copies it
//   later: COPY_WORTH_BYTES); reads after a checkpoint arm none (nothing to copy); when calls
//   have written CHECKPOINT_SOON_BYTES of log since the last one, at the next turn of the event
//   loop instead, so one checkpoint stays short under a burst of writes. There are no threads in
//   wasm; this is the native core's background checkpointer, run when the event loop gets to
//   it, with the two fdatasyncs it needs made on libuv's thread pool (see "Syncs off the main
//   thread" below). SQLite's own automatic checkpoint stays as a safety net for a starved timer (a log of
//   10,000 pages, src/store/vfs.rs).
//
// Also a CommonJS module (`createCore`) so that tests and the benchmark run it in plain Node.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
// Node's own, not the global: FXServer replaces the global timers with ones that run in its
// server frames, 50 ms apart, where Node's run in its event loop, which FXServer turns every
// millisecond (docs/fxserver-runtime.md).
const { setImmediate: nextTurn } = require('timers');

/** js/mysql.js, loaded on first use (a server on SQLite never loads the MySQL driver). */
let mysqlModule = null;
function Mysql() {
  if (!mysqlModule) mysqlModule = require(path.join(__dirnameOfHost(), 'mysql.js'));
  return mysqlModule;
}

/** The folder of this file: as a CommonJS module, its own; as a resource script, js/. */
function __dirnameOfHost() {
  if (typeof __dirname === 'string' && fs.existsSync(path.join(__dirname, 'mysql.js')))
    return __dirname;
  return path.join(GetResourcePath(GetCurrentResourceName()), 'js');
}

const CORE_NAME = 'wasm';
/** Delay from a call to the checkpoint after it (the native checkpointer's interval). */
const CHECKPOINT_DELAY_MS = 250;
/** A call within this long before a checkpoint means a stream of calls (see `checkpoint`)... */
const STREAM_GAP_MS = 50;
/**
 * ...unless no more than this many calls ended in those STREAM_GAP_MS: calls that come spaced
 * (the retention sweep's steps, 50 ms apart, a few players' messages between them) leave the
 * pool time to sync before the next one. Measured: a checkpoint between the sweep's steps held
 * this thread 106 ms in an fdatasync on a busy disk (benches/README.md, run H).
 */
const SPACED_CALLS = 4;
/**
 * Log written since the last checkpoint that has the next one run at once (128 pages): it bounds
 * how much one checkpoint copies while calls stream in. Measured on a quiet machine
 * (benches/README.md, 2026-12-06): at 4 MiB a checkpoint under back-to-back writes held the
 * main thread 6-10.5 ms, at 512 KiB 1.5-3.5 ms, for about 1.5 times the checkpoint time in all.
 */
const CHECKPOINT_SOON_BYTES = 512 * 1024;
/**
 * On a quiet server a timer's checkpoint copies the log only once it holds this much (about
 * four messages' worth)...
 */
const COPY_WORTH_BYTES = 128 * 1024;
/**
 * ...or its oldest write is this old; until then the timer only syncs the log, in the pool, so a
 * power cut still loses no more than CHECKPOINT_DELAY_MS of writes. A copy costs the main thread
 * 0.3-0.5 ms whatever it copies (the call into the module, the turn that writes its pages, the
 * log's restart): on a server with a message every few hundred milliseconds, one copy per write
 * was a third of the main thread's time for writes (benches/README.md, run R).
 */
const COPY_WITHIN_MS = 2000;
/**
 * How long one turn of the event loop writes a checkpoint's copied pages into the database file
 * (see "Syncs off the main thread"): 1 ms is 25-100 pages here.
 */
const KEPT_PAGES_TURN_MS = 1;
/** A buffer for kept pages grown past this (a large checkpoint's) is let go once they are written. */
const ARENA_KEPT_BYTES = 8 * 1024 * 1024;
/** How long an opener waits for a live process to finish with the lock mutex (it takes
 * microseconds; this bounds a stopped or stuck holder). */
const MUTEX_WAIT_MS = 5000;
/** Pages (4 KiB) one backup step copies: see README "Backups" for what a step costs. */
const BACKUP_STEP_PAGES = 64;
/** How long the steps of a backup may run in one turn of the event loop. */
const BACKUP_TURN_MS = 2;
/** Bounds a chain of dead stealers (each a process that died while removing a dead mutex). */
const MAX_STEAL_DEPTH = 16;

// The file functions the module imports (`darkchat_fs`, declared in src/store/vfs.rs).
/** `fs_open` flag bits. */
const OPEN_CREATE = 1;
const OPEN_READ_ONLY = 2;
const OPEN_EXCLUSIVE = 4;
/** Failures answer a negated errno: a path outside the resource folder is refused as EACCES; a
 * failure without an errno of its own answers EIO. */
const ERR_ACCESS = -13; // -EACCES
const ERR_IO = -5; // -EIO

// Who may hold a database: one wasm core alone, or any number of native openers and no wasm
// core. The protocol below is the one src/store/lock.rs implements for the native core (its
// module comment explains it at length); a change here must be made there too.
//
// Beside `<db>`: `<db>.lock` lists the holders, one line "<pid> <core>" per process, and is read
// and replaced (written to `<db>.lock.new`, renamed over) only under `<db>.lock.mutex`
// ("<pid> <core> <generation>"), which appears whole and exclusively: staged in
// `<db>.lock.tmp-<pid>-<core>`, then hard-linked to its name. A dead process's mutex (or steal
// file) of generation g is removed only under `<db>.lock.steal-<g>`, taken the same way, after
// reading it again: only one process can do that for g, and a fresh mutex is never removed.
// Under the mutex, holders that are gone are dropped; a wasm opener is refused while any holder
// is left, and adds its line otherwise; dead processes' steal and staging files are removed.
// A zombie is gone. A line with this pid and this core that this process does not hold was left
// by an earlier process with the same pid (stale); with the other core it is another runtime of
// this process (alive).

/** Lock files (`<db>.lock`) this process is listed in (a core of this process holds it). */
const heldLocks = new Set();
let generationCounter = 0;
const napCell = new Int32Array(new SharedArrayBuffer(4));

/** Whether process `pid` of this host is alive; a zombie is not (Linux's /proc says which). */
function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "<pid> (<name>) <state> ...": the name may hold spaces and parentheses.
    const state = stat.slice(stat.lastIndexOf(')') + 1).trim()[0];
    return state !== 'Z' && state !== 'X';
  } catch (e) {
    /* no /proc, or no such process: ask with signal 0 */
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** "<pid> <core> [generation]" → { pid, core, generation }, or null. */
function parseOwner(line) {
  const [pidText, core, generation = ''] = line.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || !core) return null;
  return { pid, core, generation };
}

/** Whether the owner of a line or file is still there; `heldHere` for this pid and core. */
function ownerAlive(owner, heldHere) {
  if (owner.pid === process.pid) return owner.core !== CORE_NAME || heldHere;
  return isAlive(owner.pid);
}

function lockFiles(dbPath) {
  return {
    db: dbPath,
    holders: `${dbPath}.lock`,
    mutex: `${dbPath}.lock.mutex`,
    next: `${dbPath}.lock.new`,
    staging: `${dbPath}.lock.tmp-${process.pid}-${CORE_NAME}`,
    steal: (generation) => `${dbPath}.lock.steal-${generation}`,
  };
}

function removeQuietly(file) {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    /* gone already */
  }
}

/** A new file at `file` holding `text` (whatever was there is removed: a symlink is not followed). */
function writeNew(file, text) {
  removeQuietly(file);
  const fd = fs.openSync(file, 'wx', 0o644);
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/** A mutex or steal file's owner: undefined when it is gone, null when it is not one. */
function readOwner(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return e.code === 'ENOENT' ? undefined : null;
  }
  const owner = parseOwner(text);
  return owner && owner.generation ? owner : null;
}

/**
 * Creates `file` holding this process's pid, core and a new generation, whole and exclusively;
 * while it exists, waits for a live owner and removes a dead one's (`steal`).
 */
function takeFile(files, file, depth) {
  const deadline = Date.now() + MUTEX_WAIT_MS;
  for (;;) {
    const generation = `${process.pid}.${process.hrtime.bigint().toString(16)}.${generationCounter++}`;
    try {
      writeNew(files.staging, `${process.pid} ${CORE_NAME} ${generation}\n`);
    } catch (e) {
      throw new Error(
        `database ${files.db}: cannot write lock file ${files.staging}: ${e.message}`,
      );
    }
    let linked = null;
    try {
      fs.linkSync(files.staging, file);
    } catch (e) {
      linked = e;
    }
    removeQuietly(files.staging);
    if (!linked) return;
    if (linked.code !== 'EEXIST')
      throw new Error(`database ${files.db}: cannot create lock file ${file}: ${linked.message}`);
    const owner = readOwner(file);
    if (owner === undefined) continue; // released meanwhile
    if (owner === null) {
      throw new Error(
        `database ${files.db}: ${file} is not a lock file Darkchat can read; ` +
          'delete it if no server is running',
      );
    }
    if (!ownerAlive(owner, false)) {
      steal(files, file, owner.generation, depth);
    } else if (Date.now() >= deadline) {
      throw new Error(
        `database ${files.db}: process ${owner.pid} has held ${file} for over ` +
          `${MUTEX_WAIT_MS / 1000} s; stop it, or delete the file if no server is running`,
      );
    } else {
      Atomics.wait(napCell, 0, 0, 1);
    }
  }
}

/**
 * Removes `file`, a mutex or steal file of `generation` whose owner is gone, unless it was
 * replaced meanwhile: under `<db>.lock.steal-<generation>`, which only one process can hold.
 */
function steal(files, file, generation, depth) {
  if (depth >= MAX_STEAL_DEPTH) {
    throw new Error(
      `database ${files.db}: cannot take over ${file}; delete it if no server is running`,
    );
  }
  const claim = files.steal(generation);
  takeFile(files, claim, depth + 1);
  const owner = readOwner(file);
  if (owner && owner.generation === generation) removeQuietly(file);
  removeQuietly(claim);
}

function withMutex(files, fn) {
  takeFile(files, files.mutex, 0);
  try {
    return fn();
  } finally {
    removeQuietly(files.mutex);
  }
}

function readHolders(files) {
  let text = '';
  try {
    text = fs.readFileSync(files.holders, 'utf8');
  } catch (e) {
    /* no holders */
  }
  return text.split('\n').map(parseOwner).filter(Boolean);
}

function writeHolders(files, holders) {
  if (holders.length === 0) {
    removeQuietly(files.holders);
    return;
  }
  writeNew(files.next, holders.map((h) => `${h.pid} ${h.core}\n`).join(''));
  fs.renameSync(files.next, files.holders);
}

/** Under the mutex: removes the steal and staging files of processes that are gone. */
function sweep(files) {
  const prefix = `${path.basename(files.db)}.lock.`;
  let names = [];
  try {
    names = fs.readdirSync(path.dirname(files.db));
  } catch (e) {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const file = path.join(path.dirname(files.db), name);
    try {
      if (rest.startsWith('tmp-')) {
        const dash = rest.indexOf('-', 4);
        const owner = parseOwner(`${rest.slice(4, dash)} ${rest.slice(dash + 1)}`);
        if (dash > 0 && owner && !ownerAlive(owner, false)) removeQuietly(file);
      } else if (rest.startsWith('steal-')) {
        const owner = readOwner(file);
        if (owner && !ownerAlive(owner, false)) steal(files, file, owner.generation, 0);
      }
    } catch (e) {
      /* left for the next sweep */
    }
  }
}

/** Lists this process among the holders of `dbPath` (see above); throws one line if refused. */
function acquireLock(dbPath) {
  const files = lockFiles(dbPath);
  withMutex(files, () => {
    const holders = readHolders(files).filter((h) => ownerAlive(h, heldLocks.has(files.holders)));
    if (holders.length > 0) {
      const h = holders[0];
      throw new Error(
        `database ${dbPath} is in use by the ${h.core} core of process ${h.pid}` +
          ` (lock file ${files.holders}); stop that server first, or delete the lock file if no server is running`,
      );
    }
    writeHolders(files, [{ pid: process.pid, core: CORE_NAME }]);
    sweep(files);
  });
  heldLocks.add(files.holders);
}

/** Takes this process off the holders of `dbPath`. */
function releaseLock(dbPath) {
  const files = lockFiles(dbPath);
  if (!heldLocks.delete(files.holders)) return;
  try {
    withMutex(files, () => {
      const holders = readHolders(files).filter(
        (h) => !(h.pid === process.pid && h.core === CORE_NAME) && ownerAlive(h, false),
      );
      writeHolders(files, holders);
      sweep(files);
    });
  } catch (e) {
    /* the line stays until this process is gone, then is dropped */
  }
}

// Syncs off the main thread ------------------------------------------------------------------
// A checkpoint asks for two fdatasyncs: of the log before it copies the log's pages into the
// database (nothing copied may be lost from the log), and of the database file after it (the
// log may then be overwritten). Each takes 0.3–0.7 ms on the development VM: most of a small
// checkpoint's time on the server's main thread. Node's asynchronous fs.fdatasync runs on
// libuv's thread pool (no server.cfg permission needed, unlike worker_threads), so:
// - before a checkpoint the host syncs the log in the pool; if nothing was written to the log
//   since that sync began, the checkpoint's own sync of the log is already done and skipped;
// - the checkpoint's sync of the database file is deferred: the host starts it in the pool
//   after the checkpoint; until it has completed with no database write since, the first
//   write, truncation or removal of the log, or the close of the database, first syncs the
//   database file on the spot, where SQLite would have needed it.
// - the restart of the log after the checkpoint (the marker commit) asks for a third: of the
//   log's new header, before the log's frames that follow it. That sync too goes to the pool:
//   the marker commit's own frame (the log's first) may be written before it has completed,
//   and any other write to the log (past its first frame, or a truncation), and the close or
//   removal of the log, first makes it on the spot. Why the first frame may go ahead: after a
//   power cut the log then holds the new header or the old, and the new first frame or the
//   old. With the new header and an old frame, or the old header and the new frame, the frame's
//   salt does not match and the log reads as empty: the database file, synced before the
//   restart, is complete. With the old header and the old first frame the log replays as it
//   was, all of it already copied into the file. What the sync prevents, the old header read
//   with old frames beyond a new one, cannot happen: nothing is written past the first frame
//   before the header is on disk.
// - the checkpoint's copies into the database file are written in bounded turns: inside the
//   copy the host keeps each page SQLite writes to the database file (and its truncation of
//   the file) in memory, and writes them in later turns of Node's event loop (FXServer turns
//   it every millisecond), KEPT_PAGES_TURN_MS of writing a turn; the deferred sync of the file
//   waits until they are all written. Why: a write of a page into the page cache cost 10-40 µs
//   of this thread on the development VM, so the 150-300 pages of one retention sweep step held
//   it 1.6-5.6 ms in one block, more when the kernel first read the rest of a folio back from
//   the disk. (Handing them to the thread pool instead was tried: on two cores each request's
//   wake-up of a pool thread took the main thread's CPU for as long, 12.6 ms for 129 scattered
//   pages.) Reads of the file see them meanwhile: once the log is copied whole, SQLite reads
//   every page its cache lacks from the database file, not the log (a rolled-back write drops
//   the pages it touched from the cache, so the next call reads them there), so a read, and
//   the file's size, are answered from the file with the kept pages and truncation laid over
//   it (without that, a call in those turns read pages older than the log's: "database disk
//   image is malformed"). The log is not restarted before they are in the file. Any other
//   write of the file (SQLite's own safety-net checkpoint), and whatever settles the
//   database's sync on the spot (above), first writes what is still kept, so a kept page
//   never lands over a newer one.
// Every sync SQLite asks for is still made before anything depends on it. (A SIGKILL loses
// nothing either way: what was written is in the page cache, and the log is not restarted
// before the pages copied out of it are written; syncs are for power cuts.)

/** Writes all of `data` (or its `length` bytes from `start`) at `offset` of `fd`. */
function writeAll(fd, data, offset, start = 0, length = data.length - start) {
  let done = 0;
  while (done < length) done += fs.writeSync(fd, data, start + done, length - done, offset + done);
}

/**
 * The sync bookkeeping of one core's live database (`watch`ed at each open); the checkpoint's
 * pages are written `pagesTurnMs` a turn.
 */
function createSyncs(pagesTurnMs) {
  let dbPath = null;
  let walPath = null;
  let dbFd = -1;
  let walFd = -1;
  let epoch = 0; // advanced when the files close: a pool sync that completes after is ignored
  let dbWrites = 0;
  let walWrites = 0;
  let walSyncedAt = -1; // walWrites when the last completed pool sync of the log began
  let dbSyncOwed = false; // a checkpoint's deferred sync of the database file is not yet made
  let deferring = false; // inside a checkpoint: its sync of the database file is deferred
  let frameBytes = 0; // one log frame (a page and its 24-byte header), from the log's header
  let headerWritten = false; // the log's last write was its header (a restart)
  let headerOwed = false; // the restarted log's header sync is deferred and not yet made
  let headerSyncs = 0; // deferred header syncs so far (a pool sync clears only its own)
  let deferringHeader = false; // inside a log restart: its header sync may be deferred
  // The checkpoint's pages for the database file, kept while the copy runs and then written a
  // turn of the event loop at a time (see above), in the order SQLite wrote them, one after
  // another in `arena`: the page `keptAt[i]` (its offset in the file) is the next
  // `keptLength[i]` bytes; those before `keptNext` are written, the first `arenaWritten` bytes
  // of the arena. One buffer and plain number arrays, reused, so that the
  // copy allocates nothing per page: with a new 4 KiB buffer per page, then a map entry per page,
  // the benchmark saw copies of 9-15 ms (not taken apart; V8's collections running inside the
  // copy the likely cause), with these none over 4 ms in its paced sweep.
  /** @type {number[]} */
  const keptAt = [];
  /** @type {number[]} */
  const keptLength = [];
  let keptNext = 0;
  let arena = Buffer.alloc(0);
  let arenaUsed = 0;
  let arenaWritten = 0;
  let keptSize = -1; // the copy's truncation of the database file, made after its pages
  let writingKept = false; // a turn that writes kept pages is due
  /** @type {Array<() => void>} what waits for the kept pages to be written */
  const whenWritten = [];
  /** @type {number[]} how long each turn that wrote kept pages held this thread, in ms */
  const turnMs = [];

  /**
   * Writes the kept pages, in the order SQLite wrote them, until none is left or `budgetMs` has
   * passed; then, with none left, the kept truncation. Throws what a write throws (the page
   * stays kept).
   */
  function writeKept(budgetMs) {
    const until = performance.now() + budgetMs;
    while (keptNext < keptAt.length) {
      const length = keptLength[keptNext];
      writeAll(dbFd, arena, keptAt[keptNext], arenaWritten, length);
      arenaWritten += length;
      keptNext++;
      if (performance.now() >= until) return;
    }
    if (keptSize >= 0) {
      fs.ftruncateSync(dbFd, keptSize);
      keptSize = -1;
    }
    releaseKept();
  }

  /**
   * Forgets the kept pages (written, or dropped); the arena is reused, unless a large copy grew
   * it.
   */
  function releaseKept() {
    keptAt.length = keptLength.length = 0;
    keptNext = 0;
    arenaUsed = arenaWritten = 0;
    if (arena.length > ARENA_KEPT_BYTES) arena = Buffer.alloc(0);
  }

  /** Keeps a copy of `data` (a view of the module's memory) to write at `offset` later. */
  function keepPage(offset, data) {
    if (arenaUsed + data.length > arena.length) {
      const grown = Buffer.allocUnsafe(
        Math.max(2 * arena.length, arenaUsed + data.length, 1 << 20),
      );
      arena.copy(grown, 0, 0, arenaUsed);
      arena = grown;
    }
    arena.set(data, arenaUsed);
    keptAt.push(offset);
    keptLength.push(data.length);
    arenaUsed += data.length;
  }

  /** Whether pages or a truncation of the database file are kept, not yet written. */
  const keeping = () => keptNext < keptAt.length || keptSize >= 0;

  /**
   * Lays the kept pages (and the kept truncation) over what a read of `into.length` bytes at
   * `offset` of the database file got from it, `got` bytes: the read then sees the file as
   * SQLite wrote it. Returns how many bytes the read gives.
   */
  function readThroughKept(into, offset, got) {
    let end = got;
    let from = arenaWritten;
    for (let i = keptNext; i < keptAt.length; i++) {
      const page = keptAt[i];
      const length = keptLength[i];
      const start = Math.max(page, offset);
      const stop = Math.min(page + length, offset + into.length);
      if (start < stop) {
        // Past the file's end: what lies between it and this page reads as a hole would.
        if (start - offset > end) into.fill(0, end, start - offset);
        into.set(arena.subarray(from + start - page, from + stop - page), start - offset);
        end = Math.max(end, stop - offset);
      }
      from += length;
    }
    if (keptSize >= 0) end = Math.min(end, Math.max(0, keptSize - offset));
    return end;
  }

  /** The database file's size as SQLite wrote it, `size` being the file's own. */
  function sizeThroughKept(size) {
    if (keptSize >= 0) return keptSize;
    for (let i = keptNext; i < keptAt.length; i++) size = Math.max(size, keptAt[i] + keptLength[i]);
    return size;
  }

  /** One turn's share of the kept pages; the next turn is asked for while some are left. */
  function writeKeptTurn() {
    writingKept = false;
    if (dbFd >= 0 && keeping()) {
      const t0 = performance.now();
      try {
        writeKept(pagesTurnMs);
        turnMs.push(performance.now() - t0);
      } catch (e) {
        // Left kept: whatever settles the database's sync writes them, or fails the same way.
        for (const fn of whenWritten.splice(0)) fn();
        return;
      }
      if (keeping()) {
        writingKept = true;
        nextTurn(writeKeptTurn);
        return;
      }
    }
    for (const fn of whenWritten.splice(0)) fn();
  }

  /**
   * The deferred sync of the database file, made now (before the log may change), after the
   * checkpoint's kept pages, all written first.
   */
  function settleDatabase() {
    if (!dbSyncOwed && !keeping()) return;
    if (dbFd >= 0) {
      writeKept(Infinity);
      fs.fdatasyncSync(dbFd);
    }
    dbSyncOwed = false;
  }

  /**
   * Drops what is kept when the files close without SQLite (a trap; settling first failed) and
   * when a database opens: those pages are still in the log, which is never restarted without
   * them, and the reopened database copies them again.
   */
  function forgetKept() {
    keptSize = -1;
    releaseKept();
    turnMs.length = 0;
    for (const fn of whenWritten.splice(0)) fn();
  }

  /** The deferred sync of the restarted log's header, made now (before the log goes on). */
  function settleHeader() {
    if (!headerOwed) return;
    if (walFd >= 0) fs.fdatasyncSync(walFd);
    headerOwed = false;
  }

  return {
    /** The database at `p` is being opened: its file and its log are the ones tracked. */
    watch(p) {
      epoch++;
      dbPath = p ? path.resolve(p) : null;
      walPath = dbPath ? `${dbPath}-wal` : null;
      dbFd = walFd = -1;
      dbWrites = walWrites = 0;
      walSyncedAt = -1;
      dbSyncOwed = deferring = false;
      headerWritten = headerOwed = deferringHeader = false;
      forgetKept();
    },
    opened(fd, p) {
      if (p === dbPath) dbFd = fd;
      else if (p === walPath) walFd = fd;
    },
    /**
     * Before a write of `len` bytes at `offset` to `fd` (neither for a truncation);
     * `pageSize` when the write is the log's header (which names it).
     */
    beforeWrite(fd, offset, len, pageSize) {
      if (fd === walFd) {
        settleDatabase();
        const firstFrame = offset >= 32 && offset + len <= 32 + frameBytes;
        if (!firstFrame) settleHeader();
        headerWritten = pageSize > 0;
        if (headerWritten) frameBytes = pageSize + 24;
        walWrites++;
      } else if (fd === dbFd) {
        // Any other write of the file (SQLite's own safety-net checkpoint) comes after the kept
        // pages, never under them.
        if (!deferring && keeping()) writeKept(Infinity);
        dbWrites++;
      }
    },
    /**
     * A read of `len` bytes of `fd` at `offset` into `memory` at `ptr` got `got` bytes from the
     * file; returns what it gives, the kept pages included (see above).
     */
    afterRead(fd, memory, ptr, len, offset, got) {
      if (fd !== dbFd || !keeping()) return got;
      return readThroughKept(memory.subarray(ptr, ptr + len), offset, got);
    },
    /** The size of `fd` as SQLite wrote it, `size` being the file's own. */
    sizeOf(fd, size) {
      return fd === dbFd && keeping() ? sizeThroughKept(size) : size;
    },
    /** Whether a write to `fd` is kept for later turns rather than made now (see above). */
    keeps(fd) {
      return fd === dbFd && deferring;
    },
    /** Keeps a copy of `data`, what the copy writes at `offset` of the database file. */
    keep: keepPage,
    /** Keeps the copy's truncation of the database file to `size` for after its pages. */
    keepTruncation(size) {
      keptSize = size;
    },
    beforeClose(fd) {
      if (fd === walFd || fd === dbFd) {
        settleDatabase();
        settleHeader();
      }
      if (fd === walFd) walFd = -1;
      if (fd === dbFd) dbFd = -1;
    },
    beforeDelete(p) {
      if (p === walPath) {
        settleDatabase();
        settleHeader();
      }
    },
    /** Whether the VFS's sync of `fd` is already done or deferred (see above). */
    skip(fd) {
      if (fd === walFd && deferringHeader && headerWritten) {
        headerOwed = true;
        headerSyncs++;
        return true;
      }
      if (fd === walFd && walSyncedAt === walWrites) return true;
      if (fd === dbFd && deferring) {
        dbSyncOwed = true;
        return true;
      }
      return false;
    },
    /** The VFS synced `fd` itself. */
    synced(fd) {
      if (fd === dbFd) dbSyncOwed = false;
    },
    /** The files are being closed without SQLite (a trap): what is owed is made first. */
    forget() {
      try {
        settleDatabase();
        settleHeader();
      } catch (e) {
        /* the next open recovers from the log */
      }
      epoch++;
      dbFd = walFd = -1;
      dbSyncOwed = headerOwed = false;
      forgetKept();
    },
    /** Runs `fn` with the database file's sync deferred. */
    deferDatabaseSync(fn) {
      deferring = true;
      try {
        return fn();
      } finally {
        deferring = false;
        if (keeping() && !writingKept) {
          writingKept = true;
          nextTurn(writeKeptTurn);
        }
      }
    },
    /** Runs `fn` (the log's restart) with the sync of the log's new header deferred. */
    deferLogHeaderSync(fn) {
      deferringHeader = true;
      try {
        return fn();
      } finally {
        deferringHeader = false;
      }
    },
    /** Makes the deferred sync of the log's header in the pool, then `done()`. */
    syncLogHeader(done) {
      if (!headerOwed || walFd < 0) return done();
      const at = headerSyncs;
      const from = epoch;
      fs.fdatasync(walFd, (err) => {
        if (!err && from === epoch && at === headerSyncs) headerOwed = false;
        done();
      });
    },
    /** How long each turn that wrote kept pages since the last call held this thread, in ms. */
    takeTurnMs() {
      return turnMs.splice(0);
    },
    /** Syncs the log in the pool (when written since the last such sync), then `done()`. */
    syncLog(done) {
      if (walFd < 0 || walSyncedAt === walWrites) return done();
      const at = walWrites;
      const from = epoch;
      fs.fdatasync(walFd, (err) => {
        if (!err && from === epoch) walSyncedAt = Math.max(walSyncedAt, at);
        done();
      });
    },
    syncDatabase,
  };

  /**
   * Makes the deferred sync of the database file in the pool, once the copy's kept pages (and
   * its truncation) are all written, then `done()`.
   */
  function syncDatabase(done) {
    if (writingKept) {
      whenWritten.push(() => syncDatabase(done));
      return;
    }
    // A kept page whose write failed: the restart writes it on the spot, or fails the same way.
    if (keeping() || !dbSyncOwed || dbFd < 0) return done();
    const at = dbWrites;
    const from = epoch;
    fs.fdatasync(dbFd, (err) => {
      if (!err && from === epoch && at === dbWrites) dbSyncOwed = false;
      done();
    });
  }
}

/**
 * A core served from `wasmPath`, allowed to write only inside `root`. `seed` (64 hex digits) and
 * `clock` (unix seconds) replace the random seed and the real time: for tests only.
 * `onCheckpoint(ms, result, steps)` is told of every timer checkpoint that ran (the benchmark
 * and tests): the milliseconds it held this thread, dc_checkpoint's answer (1 did work, 0
 * nothing to do, -1 failed and left for the next one, null trapped) and the milliseconds of
 * each of its steps on this thread (the copy, each turn that wrote its pages, the log's
 * restart).
 * `onLogSync(ms)` is told of every timer that only synced the log (a quiet server's small log,
 * not copied yet; see COPY_WORTH_BYTES): the milliseconds it held this thread.
 * `onBackupStep(ms, reply)` is told of every step of a backup (the benchmark and tests).
 * `log(line)` gets the lines a server owner should see (MySQL outages, long migrations); `mysql2` replaces the
 * driver (tests). `pagesTurnMs` replaces KEPT_PAGES_TURN_MS (tests: 0 writes a page a turn),
 * `copyWorthBytes` COPY_WORTH_BYTES (tests of the copy's steps: 0 copies at every timer).
 * `warmUp: false` skips the module's warm-up at start (the benchmark's comparison).
 * @param {{ wasmPath: string, root: string, seed?: string, clock?: () => number,
 *   onCheckpoint?: (ms: number, result: number | null, steps: number[]) => void,
 *   onLogSync?: (ms: number) => void,
 *   onBackupStep?: (ms: number, reply: any) => void, log?: (line: string) => void,
 *   mysql2?: any, pagesTurnMs?: number, copyWorthBytes?: number, warmUp?: boolean }} options
 */
function createCore({
  wasmPath,
  root,
  seed,
  clock,
  onCheckpoint,
  onLogSync,
  onBackupStep,
  log = () => {},
  mysql2,
  pagesTurnMs = KEPT_PAGES_TURN_MS,
  copyWorthBytes = COPY_WORTH_BYTES,
  warmUp: warmingUp = true,
}) {
  const wasmModule = new WebAssembly.Module(fs.readFileSync(wasmPath));
  const rootDir = path.resolve(root);
  const rootPrefix = rootDir + path.sep;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const fds = new Set();
  const walFds = new Set(); // descriptors of the -wal file
  const syncs = createSyncs(pagesTurnMs);
  let walBytes = 0; // written to the log since the last checkpoint
  // The log may hold what no checkpoint has copied yet: after a write, and after each (re)open
  // (a log left by a crash, or by writes before a trap). Cleared by a checkpoint that ran.
  let logPending = false;
  let pendingSince = 0; // performance.now() when logPending last became true

  function markLogPending() {
    if (!logPending) pendingSince = performance.now();
    logPending = true;
  }
  /** @type {WebAssembly.Instance | null} */
  let instance = null;
  let opened = null; // { path, limits } while open
  let version = null;
  let checkpointTimer = null;
  let checkpointing = false; // a checkpoint's steps are under way (see checkpoint)
  let checkpointAgain = false; // one fell due meanwhile
  const recentCallEnds = []; // performance.now() at the end of the last SPACED_CALLS + 1 calls

  const inside = (p) => path.resolve(p).startsWith(rootPrefix);
  /**
   * Whether `p`, with every link on its way followed, stays in the resource folder: the part of
   * it that exists resolves inside, and no link in it dangles (opening it would create its
   * target, wherever that is).
   */
  function resolvesInside(p) {
    try {
      fs.lstatSync(p);
    } catch (e) {
      const up = path.dirname(p);
      return e.code === 'ENOENT' && up !== p && resolvesInside(up);
    }
    try {
      const real = fs.realpathSync(p);
      const realRoot = fs.realpathSync(rootDir);
      return real === realRoot || real.startsWith(realRoot + path.sep);
    } catch (e) {
      return false;
    }
  }
  // A view of the module's memory, made again only when the memory is another (grown, or a new
  // instance): the page reads and writes of the VFS go through it without a view of their own,
  // so a call leaves less garbage behind for the collector, which pauses this thread (a quarter
  // as many young-generation collections, benches/README.md run O).
  let memoryView = null;
  const bytes = () => {
    const buffer = instance.exports.memory.buffer;
    if (memoryView === null || memoryView.buffer !== buffer) memoryView = new Uint8Array(buffer);
    return memoryView;
  };
  const str = (ptr, len) => decoder.decode(bytes().subarray(ptr, ptr + len));
  const errno = (e) => (typeof e.errno === 'number' && e.errno < 0 ? e.errno : ERR_IO);

  const imports = {
    darkchat_fs: {
      fs_open(ptr, len, flags) {
        const p = str(ptr, len);
        if (!inside(p) || !resolvesInside(p)) return ERR_ACCESS;
        const c = fs.constants;
        let mode = flags & OPEN_READ_ONLY ? c.O_RDONLY : c.O_RDWR;
        if (flags & OPEN_CREATE) mode |= c.O_CREAT;
        if (flags & OPEN_EXCLUSIVE) mode |= c.O_EXCL;
        try {
          const fd = fs.openSync(p, mode, 0o644);
          fds.add(fd);
          if (p.endsWith('-wal')) walFds.add(fd);
          syncs.opened(fd, p);
          return fd;
        } catch (e) {
          return errno(e);
        }
      },
      fs_read(fd, ptr, len, offset) {
        try {
          const memory = bytes();
          let done = 0;
          while (done < len) {
            const n = fs.readSync(fd, memory, ptr + done, len - done, offset + done);
            if (n === 0) break;
            done += n;
          }
          return syncs.afterRead(fd, memory, ptr, len, offset, done);
        } catch (e) {
          return errno(e);
        }
      },
      fs_write(fd, ptr, len, offset) {
        try {
          // The log's header (32 bytes at its start) names the page size at its byte 8.
          const header = walFds.has(fd) && offset === 0 && len === 32;
          const pageSize = header ? new DataView(bytes().buffer, ptr + 8, 4).getUint32(0) : 0;
          syncs.beforeWrite(fd, offset, len, pageSize);
          if (syncs.keeps(fd)) {
            syncs.keep(offset, bytes().subarray(ptr, ptr + len));
            return 0;
          }
          writeAll(fd, bytes(), offset, ptr, len);
          if (walFds.has(fd)) {
            walBytes += len;
            markLogPending();
          }
          return 0;
        } catch (e) {
          return errno(e);
        }
      },
      fs_sync(fd) {
        try {
          if (!syncs.skip(fd)) {
            fs.fdatasyncSync(fd);
            syncs.synced(fd);
          }
          return 0;
        } catch (e) {
          return errno(e);
        }
      },
      fs_truncate(fd, size) {
        try {
          syncs.beforeWrite(fd);
          if (syncs.keeps(fd)) syncs.keepTruncation(size);
          else fs.ftruncateSync(fd, size);
          return 0;
        } catch (e) {
          return errno(e);
        }
      },
      fs_size(fd) {
        try {
          return syncs.sizeOf(fd, fs.fstatSync(fd).size);
        } catch (e) {
          return errno(e);
        }
      },
      fs_close(fd) {
        syncs.beforeClose(fd);
        fds.delete(fd);
        walFds.delete(fd);
        try {
          fs.closeSync(fd);
          return 0;
        } catch (e) {
          return errno(e);
        }
      },
      fs_delete(ptr, len, syncDir) {
        const p = str(ptr, len);
        if (!inside(p) || !resolvesInside(path.dirname(p))) return ERR_ACCESS;
        try {
          syncs.beforeDelete(p);
          fs.unlinkSync(p);
        } catch (e) {
          return e.code === 'ENOENT' ? 1 : errno(e);
        }
        if (syncDir) {
          try {
            const dir = fs.openSync(path.dirname(p), 'r');
            try {
              fs.fsyncSync(dir);
            } finally {
              fs.closeSync(dir);
            }
          } catch (e) {
            return errno(e);
          }
        }
        return 0;
      },
      fs_access(ptr, len) {
        const p = str(ptr, len);
        return inside(p) && fs.existsSync(p) ? 1 : 0;
      },
      clock_ms() {
        return performance.now();
      },
    },
  };

  /** Closes every file the instance had open (its memory is being dropped). */
  function closeFiles() {
    syncs.forget();
    for (const fd of fds) {
      try {
        fs.closeSync(fd);
      } catch (e) {
        /* gone */
      }
    }
    fds.clear();
    walFds.clear();
  }

  /** Writes `text` into the module, runs `fn(ptr, len)`, reads the reply and frees both. */
  function exchange(fn, text) {
    return readReply(put(fn, text));
  }

  /**
   * Runs `fn(ptr, len)` on `text` written into the module and frees it; returns the reply's
   * pointer. The UTF-8 goes straight into the module's memory, in room for its longest form (3
   * bytes per UTF-16 unit): no intermediate copy, whose external buffer each call left to the
   * garbage collector.
   */
  function put(fn, text) {
    const x = instance.exports;
    const room = text.length * 3;
    const ptr = x.dc_alloc(room);
    const { written } = encoder.encodeInto(text, bytes().subarray(ptr, ptr + room));
    const reply = fn(ptr, written);
    x.dc_free(ptr, room);
    return reply;
  }

  /** `exchange` for a reply of bytes: a copy of them, as a Buffer. */
  function exchangeBytes(fn, text) {
    const x = instance.exports;
    const reply = put(fn, text);
    const len = new DataView(x.memory.buffer).getUint32(reply, true);
    const out = Buffer.from(bytes().subarray(reply + 4, reply + 4 + len));
    x.dc_free(reply, len + 4);
    return out;
  }

  /**
   * A MySQL step the module wrote at `reply` (freed here): JSON (a batch, or an outcome), or
   * the outcome of a packed call as MessagePack bytes (a Buffer; a MessagePack map never
   * starts with `{`).
   */
  function readStep(reply) {
    const x = instance.exports;
    const len = new DataView(x.memory.buffer).getUint32(reply, true);
    const at = reply + 4;
    const out =
      len > 0 && bytes()[at] !== 0x7b
        ? Buffer.from(bytes().subarray(at, at + len))
        : JSON.parse(str(at, len));
    x.dc_free(reply, len + 4);
    return out;
  }

  /** The text of a reply the module wrote at `reply` (freed here). */
  function readReply(reply) {
    const x = instance.exports;
    const len = new DataView(x.memory.buffer).getUint32(reply, true);
    const out = str(reply + 4, len);
    x.dc_free(reply, len + 4);
    return out;
  }

  const now = clock || (() => Math.floor(Date.now() / 1000));

  // The storages whose paths this compiled module has run (see warmUp).
  const warmed = { sqlite: !warmingUp, mysql: !warmingUp };
  /**
   * Once per compiled module and storage, before its first open on that storage: the module
   * runs its common paths, so that V8 compiles their code now, at start (SQLite: on a private
   * in-memory database, dc_warm_up; MySQL: the rules as compiled for the MySQL storage, with
   * the batches' and results' JSON, against results of the right form and no database,
   * dc_warm_up_mysql). V8 compiles a WebAssembly function the first time it runs, on the
   * calling thread: without this, the first call of each kind held the main thread for the
   * compilation of all the code it reached (on the development VM 35 ms for the first
   * listing, 26 ms for the first sweep step, against 3 and 2 ms once compiled; on MySQL 70-78
   * ms for the first create). A server on one storage never runs the other's paths (a storage
   * move opens the other one once, cold). Every instance of the module (a reopen, a restore,
   * the recovery from a trap) shares its compiled code. A trap in the warm-up only costs a
   * fresh instance.
   */
  function warmUp(storage) {
    if (warmed[storage]) return;
    warmed[storage] = true;
    try {
      if (storage === 'mysql') instance.exports.dc_warm_up_mysql();
      else instance.exports.dc_warm_up();
    } catch (e) {
      instance = new WebAssembly.Instance(wasmModule, imports);
    }
  }

  /** A fresh instance with the database (re)opened; throws with one line on failure. */
  function start(options) {
    closeFiles();
    walBytes = 0;
    syncs.watch(options.path);
    instance = new WebAssembly.Instance(wasmModule, imports);
    warmUp(options.mysql ? 'mysql' : 'sqlite');
    const request = JSON.stringify({
      storage: options.mysql ? 'mysql' : 'sqlite',
      path: options.path,
      limits: options.limits || null,
      now: now(),
      seed: seed || crypto.randomBytes(32).toString('hex'),
      // MySQL: the id this server's changes are logged under for the others (lua/network.lua).
      serverId: options.serverId || null,
      // false: the file is only read (a storage move's source); its open writes nothing.
      startLog: options.startLog !== false,
    });
    const reply = JSON.parse(exchange(instance.exports.dc_open, request));
    // A long migration's lines ("migrating: ... on N messages", "... done in X s").
    for (const line of reply.lines || []) log(line);
    if (!reply.ok) throw new Error(reply.message);
    version = reply.version;
    markLogPending();
  }

  /**
   * Opens the database at `options.path` (inside the resource folder) with `options.limits`
   * (wire values). Returns `{ ok: true, version }` or `{ ok: false, message }`.
   */
  function open(options) {
    if (opened) return { ok: false, message: 'the core is already open' };
    if (options && options.storage === 'mysql') return openMysql(options);
    const dbPath = path.resolve(String(options && options.path));
    if (!inside(dbPath)) {
      return {
        ok: false,
        message:
          `database ${dbPath} is outside the resource folder ${rootDir}; ` +
          'set darkchat:db to a path inside it',
      };
    }
    // What a reopen (after a trap) starts from again.
    const settings = { path: dbPath, limits: options.limits, startLog: options.startLog };
    let locked = false;
    try {
      const leadsOut = () =>
        new Error(
          `database ${dbPath} is outside the resource folder ${rootDir}` +
            ' (a link leads out of it); set darkchat:db to a path inside it',
        );
      // Checked before any folder is made, and again once they are: the database file itself
      // may be a link, or one may have been placed meanwhile.
      if (!resolvesInside(path.dirname(dbPath))) throw leadsOut();
      fs.mkdirSync(path.dirname(dbPath), { recursive: true });
      if (!resolvesInside(dbPath)) throw leadsOut();
      acquireLock(dbPath);
      locked = true;
      start(settings);
    } catch (e) {
      instance = null;
      if (locked) releaseLock(dbPath);
      return { ok: false, message: String(e && e.message ? e.message : e).split('\n')[0] };
    }
    opened = settings;
    return { ok: true, version };
  }

  /** Runs a core method; `argsJson` is the JSON array of wire values lua/wire.lua writes. */
  function call(method, argsJson) {
    return callCore(method, argsJson, false);
  }

  /**
   * `call` for this resource's own Lua: the reply as the MessagePack bytes the core packed (a
   * Buffer, which FXServer hands to Lua as one string for `msgpack.unpack`), so that this thread
   * neither parses the reply nor packs its fields; on MySQL a promise of them. Answers as `call`
   * does (an object) where the core did not run (the store closed, a trap, the database away or
   * past the deadline), for a MySQL outcome that needs its connection cleaned up first, and for
   * the backup and restore methods, which this host serves.
   * @returns {Buffer | object | Promise<Buffer | object>}
   */
  function callPacked(method, argsJson) {
    return callCore(method, argsJson, true);
  }

  function callCore(method, argsJson, packed) {
    if (!opened) return { ok: false, code: 'storage_error', message: 'the store is closed' };
    if (opened.mysql) return callMysql(method, argsJson, packed);
    if (!instance) {
      try {
        start(opened);
      } catch (e) {
        instance = null;
        return {
          ok: false,
          code: 'storage_error',
          message: `cannot reopen the database: ${e.message}`,
        };
      }
    }
    const args = typeof argsJson === 'string' ? argsJson : '[]';
    if (Object.prototype.hasOwnProperty.call(FILE_METHODS, method)) return fileMethod(method, args);
    const request = `{"m":${JSON.stringify(String(method))},"now":${now()},"a":${args}}`;
    const reply = guarded(() =>
      packed
        ? exchangeBytes(instance.exports.dc_call_packed, request)
        : JSON.parse(exchange(instance.exports.dc_call, request)),
    );
    recentCallEnds.push(performance.now());
    if (recentCallEnds.length > SPACED_CALLS + 1) recentCallEnds.shift();
    if (logPending) scheduleCheckpoint();
    return reply;
  }

  /**
   * After a call, while the log may hold something to copy: the timer CHECKPOINT_DELAY_MS later,
   * unless it is due sooner; at the next turn of the event loop once the log has grown by
   * CHECKPOINT_SOON_BYTES.
   */
  function scheduleCheckpoint() {
    armCheckpoint(walBytes >= CHECKPOINT_SOON_BYTES ? 0 : CHECKPOINT_DELAY_MS);
  }

  /** The checkpoint's timer, `ms` from now, unless it is due sooner. */
  function armCheckpoint(ms) {
    if (typeof setTimeout !== 'function') return;
    const due = performance.now() + ms;
    if (checkpointTimer !== null) {
      if (checkpointTimer.due <= due) return;
      cancelCheckpoint();
    }
    const timer = setTimeout(checkpoint, ms);
    if (timer && typeof timer.unref === 'function') timer.unref();
    checkpointTimer = { timer, due };
  }

  function cancelCheckpoint() {
    if (checkpointTimer === null) return;
    clearTimeout(checkpointTimer.timer);
    checkpointTimer = null;
  }

  /**
   * The timer: between calls, through the same trap guard as a call. On a quiet server (no
   * call in the last STREAM_GAP_MS, or no more than SPACED_CALLS), in four steps so that
   * neither fdatasync a checkpoint needs runs on this thread (see createSyncs): the log synced
   * in the pool; its pages copied into the database here (dc_checkpoint, its sync of the
   * database file deferred); that sync in the pool; the log restarted here (dc_restart_log).
   * There, a log shorter than COPY_WORTH_BYTES whose oldest write is younger than
   * COPY_WITHIN_MS is only synced, and copied later with what follows. Under a stream of calls
   * (one every tick) the next write would overtake the pool's sync and have to make it itself,
   * inside a call, so there the steps run at once, syncs included, in this one turn of the
   * timer.
   */
  function checkpoint() {
    checkpointTimer = null;
    if (!opened || !instance) return;
    if (checkpointing) {
      // Due while the last one waits for the pool: run once that has finished.
      checkpointAgain = true;
      return;
    }
    checkpointing = true;
    checkpointAgain = false;
    const inst = instance;
    const live = () => opened !== null && instance === inst;
    // Quiet unless more than SPACED_CALLS calls ended in the last STREAM_GAP_MS.
    const quiet = !(
      performance.now() - recentCallEnds[0] < STREAM_GAP_MS && recentCallEnds.length > SPACED_CALLS
    );
    if (quiet && walBytes < copyWorthBytes && performance.now() - pendingSince < COPY_WITHIN_MS) {
      // Too little to copy yet: only the log's sync, in the pool; the copy once more is
      // written or the oldest write is COPY_WITHIN_MS old.
      const t0 = performance.now();
      syncs.syncLog(() => {
        checkpointing = false;
        if (!live()) return;
        if (checkpointAgain) armCheckpoint(0);
        else armCheckpoint(Math.max(0, pendingSince + COPY_WITHIN_MS - performance.now()));
      });
      if (onLogSync) onLogSync(performance.now() - t0);
      return;
    }
    const steps = [];
    const timed = (fn) => {
      const t0 = process.hrtime.bigint();
      const out = guarded(fn);
      steps.push(Number(process.hrtime.bigint() - t0) / 1e6);
      return out;
    };
    const finish = (result) => {
      // The turns that wrote the copy's pages ran on this thread too, between the steps.
      steps.push(...syncs.takeTurnMs());
      checkpointing = false;
      if (onCheckpoint)
        onCheckpoint(
          steps.reduce((a, b) => a + b, 0),
          result,
          steps,
        );
      if (checkpointAgain && live()) scheduleCheckpoint();
    };
    const restart = (copied) => {
      if (!live()) return finish(copied);
      const restartLog = () => inst.exports.dc_restart_log();
      const restarted = timed(() => ({
        ok: true,
        result: quiet ? syncs.deferLogHeaderSync(restartLog) : restartLog(),
      }));
      // The marker commit's own write is part of the checkpoint, not something to copy.
      if (restarted.ok && restarted.result === 1) {
        logPending = false;
        walBytes = 0;
      }
      if (quiet) syncs.syncLogHeader(() => finish(copied));
      else finish(copied);
    };
    const copy = () => {
      if (!live()) return finish(null);
      // A failed one is retried after the next call (or CHECKPOINT_SOON_BYTES more log).
      const copied = timed(() => ({
        ok: true,
        result: quiet
          ? syncs.deferDatabaseSync(() => inst.exports.dc_checkpoint())
          : inst.exports.dc_checkpoint(),
      }));
      walBytes = 0;
      if (!copied.ok) return finish(null);
      if (copied.result >= 0) logPending = false;
      if (copied.result !== 1) return finish(copied.result);
      if (quiet) syncs.syncDatabase(() => restart(copied.result));
      else restart(copied.result);
    };
    if (quiet) syncs.syncLog(copy);
    else copy();
  }

  /**
   * Runs `fn` on the instance; a trap (or any throw) leaves that instance's memory unusable:
   * its files are closed, the next call gets a fresh instance, and this one answers
   * `storage_error`.
   */
  function guarded(fn) {
    try {
      return fn();
    } catch (e) {
      instance = null;
      closeFiles();
      return { ok: false, code: 'storage_error', message: `internal error: ${e && e.message}` };
    }
  }

  /** Closes the database and releases its lock; true when it was open. */
  function close() {
    cancelCheckpoint();
    if (runningBackup)
      failBackup(runningBackup, new Error('the database was closed during the backup'));
    if (!opened) return false;
    if (opened.mysql) return closeMysql();
    try {
      if (instance) instance.exports.dc_close();
    } catch (e) {
      /* trapped: files closed below */
    }
    closeFiles();
    instance = null;
    releaseLock(opened.path);
    opened = null;
    return true;
  }

  // MySQL/MariaDB ------------------------------------------------------------------------------
  // The core keeps no file: each call's statements run on a connection of js/mysql.js's pool.
  // Calls answer a Promise (FXServer awaits it for a Lua caller in a thread).

  /**
   * Opens on MySQL: `options.connection` is mysql_connection_string. Answers at once; the
   * schema is brought up to date in the background, and until the database is reached calls
   * answer storage_error (one line says why, another when it is reached).
   */
  function openMysql(options) {
    let driver;
    try {
      driver = Mysql().createDriver({
        connection: options.connection,
        log,
        mysql2,
        deadlineMs: Number(options.deadlineMs) > 0 ? Number(options.deadlineMs) : 5000,
        poolSize: Number(options.poolSize) > 0 ? Number(options.poolSize) : 10,
      });
      start({ mysql: true, limits: options.limits, serverId: options.serverId });
    } catch (e) {
      instance = null;
      return { ok: false, message: String(e && e.message ? e.message : e).split('\n')[0] };
    }
    opened = {
      mysql: driver,
      limits: options.limits,
      serverId: options.serverId,
      ready: null,
      schemaVersion: null,
    };
    opened.ready = connectMysql(opened);
    return { ok: true, version, database: driver.where };
  }

  /** Migrates until it succeeds (retrying while the database is down); resolves when ready. */
  function connectMysql(state) {
    return new Promise((resolve) => {
      const attempt = () => {
        if (opened !== state) return resolve(false);
        driveStep(() => instance.exports.dc_migrate()).then((outcome) => {
          if (opened !== state) return resolve(false);
          if (outcome.ok) {
            state.schemaVersion = outcome.v && outcome.v[0];
            log(
              `MySQL database ${state.mysql.where} ready (schema version ${state.schemaVersion})`,
            );
            return resolve(true);
          }
          if (!state.mysql.down) state.mysql.noteDown(new Error(outcome.message));
          Mysql().after(Mysql().RECONNECT_MS, attempt);
        });
      };
      attempt();
    });
  }

  /**
   * A call on MySQL. What the core answers without the database (bad input, a number's form)
   * is answered whatever the database's state; a call that needs the database gets
   * storage_error at once while the schema is not known to be in place.
   */
  function callMysql(method, argsJson, packed) {
    const args = typeof argsJson === 'string' ? argsJson : '[]';
    const request = `{"m":${JSON.stringify(String(method))},"now":${now()},"a":${args}}`;
    return driveStep(
      () => put(packed ? instance.exports.dc_call_packed : instance.exports.dc_call, request),
      () => {
        if (opened.schemaVersion !== null) return null;
        const why = opened.mysql.down || 'still connecting';
        return { ok: false, code: 'storage_error', message: `database not ready: ${why}` };
      },
    );
  }

  /**
   * Runs a core step (`first()` gives the reply it is in) and the batches it asks for, to the outcome. When
   * the step asks for a batch and `refusal()` gives an answer, the call is abandoned with it.
   */
  function driveStep(first, refusal = () => null) {
    if (!instance) {
      try {
        start(opened);
      } catch (e) {
        instance = null;
        return Promise.resolve({
          ok: false,
          code: 'storage_error',
          message: `cannot restart the core: ${e.message}`,
        });
      }
    }
    const step = guarded(() => readStep(first()));
    if (!Array.isArray(step.batch)) {
      delete step.cleanup;
      return Promise.resolve(step);
    }
    const abort = (op) => {
      try {
        if (instance) instance.exports.dc_abort(op);
      } catch (e) {
        /* trapped */
      }
    };
    const refused = refusal();
    if (refused) {
      abort(step.op);
      return Promise.resolve(refused);
    }
    const resume = (outcome) => {
      const next = guarded(() =>
        readStep(put(instance.exports.dc_resume, JSON.stringify(outcome))),
      );
      if (
        next.ok === false &&
        next.code === 'storage_error' &&
        !Array.isArray(next.batch) &&
        !instance
      ) {
        throw new Error(next.message);
      }
      return next;
    };
    return opened.mysql.drive(step, resume, abort);
  }

  function closeMysql() {
    const driver = opened.mysql;
    opened = null;
    try {
      if (instance) instance.exports.dc_close();
    } catch (e) {
      /* trapped */
    }
    instance = null;
    driver.close();
    return true;
  }

  // Backups and restores (SQLite) ----------------------------------------------------------------
  // The module copies and checks; the files are this host's: it creates a backup's file (new,
  // exclusively, readable by the server's user only, inside the resource folder, no link
  // followed), lists folders, removes and renames. A backup is copied in steps of
  // BACKUP_STEP_PAGES pages on the live connection, then checked in steps of the same budget,
  // run from setImmediate between calls for at most BACKUP_TURN_MS per turn of the event loop,
  // so the server keeps serving. The module writes the copy without syncs; this host syncs it
  // in libuv's thread pool (fs.fdatasync on its own descriptor of the file): after every turn
  // (none running yet), so that little is left unwritten, and once more after the last step
  // (one begun after the last write); only then is the backup done.

  /** The backup in progress or finished and not yet asked about, by job id. */
  const backupJobs = new Map();
  let nextBackupJob = 0;
  let runningBackup = null;

  const FILE_METHODS = { startBackup, backupStatus, rotateBackups, newestBackup, restore };

  function fileMethod(method, args) {
    let values;
    try {
      values = JSON.parse(args);
    } catch (e) {
      values = [];
    }
    try {
      return FILE_METHODS[method](...(Array.isArray(values) ? values : []));
    } catch (e) {
      return {
        ok: false,
        code: e.code === 'invalid_argument' ? e.code : 'storage_error',
        message: String(e && e.message).split('\n')[0],
      };
    }
  }

  function invalid(what) {
    return Object.assign(new Error(`invalid argument: ${what}`), { code: 'invalid_argument' });
  }

  /** A path argument inside the resource folder, links on its way resolved inside too. */
  function filePath(value, what) {
    if (typeof value !== 'string' || value.trim() === '' || value.includes('\0'))
      throw invalid(what);
    const p = path.resolve(rootDir, value);
    if (!inside(p) || !resolvesInside(path.dirname(p))) {
      throw new Error(`${p} is outside the resource folder ${rootDir} (or a link leads out of it)`);
    }
    return p;
  }

  /** One dc_backup request; throws its error. */
  function backupOp(request) {
    const reply = guarded(() =>
      JSON.parse(exchange(instance.exports.dc_backup, JSON.stringify(request))),
    );
    if (!reply.ok) throw Object.assign(new Error(reply.message), { code: reply.code });
    return reply;
  }

  /** Creates `p` new and empty (0600), its folder (0700) if missing; never overwrites. */
  function createBackupFile(p) {
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o700 });
    if (!resolvesInside(path.dirname(p)))
      throw new Error(`${p}: a link leads out of the resource folder`);
    let fd;
    try {
      fd = fs.openSync(p, 'wx', 0o600);
    } catch (e) {
      if (e.code === 'EEXIST') throw new Error(`${p} already exists; choose a new file`);
      throw new Error(`cannot create ${p}: ${e.message}`);
    }
    fs.closeSync(fd);
  }

  function startBackup(file) {
    const p = filePath(file, 'file');
    if (runningBackup) throw new Error('a backup is already running; wait for it to finish');
    createBackupFile(p);
    let fd;
    try {
      fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      backupOp({ op: 'start', path: p });
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      removeDatabase(p);
      throw e;
    }
    // `syncing`: the callbacks waiting for the pool's sync in flight, or null.
    const job = { id: ++nextBackupJob, path: p, state: 'running', error: null, fd, syncing: null };
    backupJobs.set(job.id, job);
    runningBackup = job;
    setImmediate(() => stepBackup(job));
    return { ok: true, v: [job.id] };
  }

  /** Steps `job` for at most BACKUP_TURN_MS, then yields to the event loop. */
  function stepBackup(job) {
    if (runningBackup !== job) return;
    const turnEnds = performance.now() + BACKUP_TURN_MS;
    try {
      for (;;) {
        if (!opened || !instance) throw new Error('the database was closed during the backup');
        const t0 = performance.now();
        const reply = backupOp({ op: 'step', pages: BACKUP_STEP_PAGES });
        if (onBackupStep) onBackupStep(performance.now() - t0, reply);
        if (reply.state === 'done') {
          finishBackup(job);
          return;
        }
        if (performance.now() >= turnEnds) break;
      }
    } catch (e) {
      failBackup(job, e);
      return;
    }
    if (!job.syncing) syncCopy(job, null);
    setImmediate(() => stepBackup(job));
  }

  /** Syncs the copy in the pool (unless a sync is in flight); `then(err)` after it, if given. */
  function syncCopy(job, then) {
    if (job.syncing) {
      if (then) job.syncing.push(then);
      return;
    }
    job.syncing = then ? [then] : [];
    fs.fdatasync(job.fd, (err) => {
      const waiting = job.syncing;
      job.syncing = null;
      for (const f of waiting) f(err);
    });
  }

  /** Copied and checked: done once a sync begun after the last write has completed. */
  function finishBackup(job) {
    const last = () =>
      syncCopy(job, (err) => {
        if (runningBackup !== job) return;
        if (err) return failBackup(job, new Error(`cannot sync ${job.path}: ${err.message}`));
        job.state = 'done';
        runningBackup = null;
        closeCopy(job);
      });
    if (job.syncing) job.syncing.push(last);
    else last();
  }

  /** Closes the host's descriptor of the copy (after a sync in flight). */
  function closeCopy(job) {
    if (job.fd < 0) return;
    if (job.syncing) {
      job.syncing.push(() => closeCopy(job));
      return;
    }
    try {
      fs.closeSync(job.fd);
    } catch (e) {
      /* closed */
    }
    job.fd = -1;
  }

  function failBackup(job, e) {
    job.state = 'failed';
    job.error = { code: 'storage_error', message: String(e && e.message).split('\n')[0] };
    if (runningBackup === job) runningBackup = null;
    closeCopy(job);
    removeDatabase(job.path);
  }

  function backupStatus(id) {
    const job = backupJobs.get(id);
    if (!job) throw invalid('job');
    if (job.state === 'running') return { ok: true, v: ['running'] };
    backupJobs.delete(id);
    if (job.state === 'done') return { ok: true, v: ['done'] };
    return { ok: false, ...job.error };
  }

  /** The regular files of folder `dir` (none when it is missing): [[name, mtime s]]. */
  function regularFiles(dir) {
    let entries = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      if (e.code === 'ENOENT') return [];
      throw new Error(`cannot list ${dir}: ${e.message}`);
    }
    const files = [];
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      try {
        files.push([
          entry.name,
          Math.floor(fs.lstatSync(path.join(dir, entry.name)).mtimeMs / 1000),
        ]);
      } catch (e) {
        /* gone */
      }
    }
    return files;
  }

  function rotateBackups(folder, keep) {
    const dir = filePath(folder, 'folder');
    if (!Number.isInteger(keep)) throw invalid('keep');
    const names = regularFiles(dir).map(([name]) => name);
    const { remove } = backupOp({ op: 'rotate', names, keep: Math.max(1, keep) });
    for (const name of remove) fs.unlinkSync(path.join(dir, name));
    return { ok: true, v: [remove.length] };
  }

  function newestBackup(folder) {
    const dir = filePath(folder, 'folder');
    const { newest } = backupOp({ op: 'newest', files: regularFiles(dir) });
    return { ok: true, v: newest ? [path.join(dir, newest)] : [] };
  }

  /**
   * The backup `file` replaces the live database: copied beside it and checked (a refusal
   * changes nothing), the live database copied whole to `keep` first, then closed, the copy
   * renamed over it (atomic), and reopened (an older schema is migrated).
   */
  function restore(file, keep) {
    if (runningBackup) throw new Error('a backup is running; restore when it has finished');
    const src = filePath(file, 'file');
    const keepPath = filePath(keep, 'keep');
    const refused = (why) => new Error(`refused: ${src}: ${why}; nothing changed`);
    let stat;
    try {
      stat = fs.lstatSync(src);
    } catch (e) {
      throw refused(e.code === 'ENOENT' ? 'no such file' : e.message);
    }
    if (stat.isSymbolicLink()) throw refused('a link');
    if (!stat.isFile()) throw refused('not a file');
    const dbPath = opened.path;
    const staged = `${dbPath}.restoring`;
    removeDatabase(staged);
    try {
      fs.copyFileSync(src, staged, fs.constants.COPYFILE_EXCL);
      fs.chmodSync(staged, 0o600);
      backupOp({ op: 'check', path: staged });
    } catch (e) {
      removeDatabase(staged);
      throw refused(String(e && e.message).split('\n')[0]);
    }
    try {
      createBackupFile(keepPath);
      try {
        backupOp({ op: 'start', path: keepPath });
        while (backupOp({ op: 'step', pages: 1 << 20 }).state !== 'done') {
          /* one go */
        }
        // Written without syncs (see startBackup): made durable before anything is replaced.
        const fd = fs.openSync(keepPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          fs.fdatasyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      } catch (e) {
        removeDatabase(keepPath);
        throw e;
      }
    } catch (e) {
      removeDatabase(staged);
      throw new Error(
        `cannot keep the live database as ${keepPath} (${String(e.message).split('\n')[0]}); nothing changed`,
      );
    }
    const options = { path: opened.path, limits: opened.limits };
    close();
    for (const suffix of ['-wal', '-shm', '-journal']) removeQuietly(dbPath + suffix);
    fs.renameSync(staged, dbPath);
    const reopened = open(options);
    if (!reopened.ok) throw new Error(`restored, but cannot reopen: ${reopened.message}`);
    return { ok: true, v: [] };
  }

  /** Tests only: a call whose core traps, as a panic inside it would. */
  function trapForTest() {
    if (!opened || !instance) return null;
    return guarded(() => {
      instance.exports.dc_trap();
      return { ok: true };
    });
  }

  return {
    open,
    call,
    callPacked,
    close,
    trapForTest,
    get version() {
      return version;
    },
    /** 'sqlite' or 'mysql' while open, else null. */
    get storage() {
      return opened ? (opened.mysql ? 'mysql' : 'sqlite') : null;
    },
    /** The limits it was opened with (wire values), or null. */
    get limits() {
      return opened ? opened.limits || null : null;
    },
    /** MySQL: resolves true once the schema is in place (false if closed first). */
    get ready() {
      return opened && opened.ready ? opened.ready : Promise.resolve(Boolean(opened));
    },
  };
}

/** Rows per page of `migrateStorage`. */
const MIGRATE_PAGE_ROWS = 500;

/**
 * `darkchat migrate-storage` (the server console only): copies a whole store between the live
 * core, open on MySQL, and a SQLite file inside the resource folder, keeping every id. The core
 * decides everything (which tables, their columns and order, the statements, the checks on
 * each row, the sequences): this only moves pages between two cores, awaiting between pages so
 * the server keeps ticking.
 * - `from-sqlite`: `file` (an existing Darkchat database) into the MySQL database, which must
 *   hold no Darkchat rows; on a failure or a count mismatch every row is deleted again (the
 *   target was empty);
 * - `to-sqlite`: the MySQL data into `file`, which must not exist yet; removed again on a
 *   failure or mismatch.
 * The source is only read. Resolves to `{ migrated, lines }`, never rejects.
 * @param {{ live: any, makeCore: () => any, root: string, direction: string, file: string,
 *   pageRows?: number, pause?: () => Promise<void> }} options
 */
async function migrateStorage({ live, makeCore, root, direction, file, pageRows, pause }) {
  const rows = pageRows || MIGRATE_PAGE_ROWS;
  const wait = pause || (() => new Promise((resolve) => setImmediate(resolve)));
  const refused = (line) => ({ migrated: false, lines: [line] });
  if (direction !== 'from-sqlite' && direction !== 'to-sqlite') {
    return refused('usage: darkchat migrate-storage from-sqlite [file] | to-sqlite <file>');
  }
  if (!live || live.storage !== 'mysql') {
    return refused(
      'migrate-storage copies between SQLite and MySQL: run it while darkchat:storage is mysql',
    );
  }
  if (typeof file !== 'string' || file === '') return refused(`${direction}: name the SQLite file`);
  const rootDir = path.resolve(root);
  const dbPath = path.resolve(rootDir, file);
  if (!dbPath.startsWith(rootDir + path.sep)) {
    return refused(`refused: ${dbPath} is outside the resource folder ${rootDir}; nothing written`);
  }
  const exists = fs.existsSync(dbPath);
  if (direction === 'from-sqlite' && !exists)
    return refused(`refused: ${dbPath} does not exist; nothing written`);
  if (direction === 'to-sqlite' && exists) {
    return refused(`refused: ${dbPath} already exists; name a new file; nothing written`);
  }

  const call = async (core, method, args) => {
    const outcome = await core.call(method, JSON.stringify(args));
    if (!outcome || !outcome.ok) {
      throw new Error(`${method}: ${outcome ? outcome.message || outcome.code : 'no answer'}`);
    }
    return outcome.v || [];
  };
  /** `[[table, rows], ...]` in the core's order of the tables (parents first) → a Map. */
  const counts = async (core) => new Map((await call(core, 'tableCounts', []))[0]);

  let where;
  try {
    where = (await call(live, 'stats', []))[0].path;
    if (direction === 'from-sqlite') {
      const before = await counts(live);
      const held = [...before].filter(([, n]) => n !== 0);
      if (held.length) {
        return refused(
          `refused: the ${where} already holds Darkchat data (${held.map(([t, n]) => `${t} ${n}`).join(', ')}); nothing written`,
        );
      }
    }
  } catch (e) {
    return refused(`migration failed: ${e.message}; nothing written`);
  }

  const sqlite = makeCore();
  // The source of a move is only read: its open leaves it byte for byte as it was.
  const opened = sqlite.open({
    path: dbPath,
    limits: live.limits,
    startLog: direction !== 'from-sqlite',
  });
  if (!opened.ok) {
    if (direction === 'to-sqlite') removeDatabase(dbPath);
    return refused(`refused: cannot open ${dbPath}: ${opened.message}; nothing written`);
  }
  const [source, target] = direction === 'from-sqlite' ? [sqlite, live] : [live, sqlite];
  const [sourceName, targetName] = direction === 'from-sqlite' ? [dbPath, where] : [where, dbPath];
  const lines = [];
  let migrated = false;
  try {
    const tables = [...(await counts(source)).keys()];
    let copied = 0;
    for (const table of tables) {
      let after = null;
      for (;;) {
        const page = (await call(source, 'exportRows', [table, after, rows]))[0];
        if (page.length === 0) break;
        await call(target, 'importRows', [table, JSON.stringify(page)]);
        copied += page.length;
        after = page[page.length - 1][0];
        if (page.length < rows) break;
        await wait();
      }
    }
    for (const [table, highWater] of (await call(source, 'sequences', []))[0]) {
      await call(target, 'raiseSequence', [table, highWater]);
    }
    const [from, to] = [await counts(source), await counts(target)];
    let same = true;
    for (const table of tables) {
      const ok = from.get(table) === to.get(table);
      same = same && ok;
      lines.push(
        `${table}: ${from.get(table)} in the source, ${to.get(table)} copied${ok ? '' : ' (MISMATCH)'}`,
      );
    }
    if (same) {
      migrated = true;
      lines.push(
        `migrated ${copied} rows from ${sourceName} to ${targetName}; the source is unchanged`,
      );
    } else {
      lines.push(`migration failed: the row counts differ; ${undo(direction, targetName)}`);
    }
  } catch (e) {
    lines.push(
      `migration failed: ${String(e && e.message ? e.message : e).split('\n')[0]}; ${undo(direction, targetName)}`,
    );
  }
  if (!migrated && direction === 'from-sqlite') {
    try {
      await call(live, 'deleteAllRows', []);
    } catch (e) {
      lines.push(`could not remove the copied rows from the ${where}: ${e.message}`);
    }
  }
  sqlite.close();
  if (!migrated && direction === 'to-sqlite') removeDatabase(dbPath);
  return { migrated, lines };
}

function undo(direction, target) {
  return direction === 'from-sqlite'
    ? `the rows copied into the ${target} are removed`
    : `the new file ${target} is removed`;
}

/** A SQLite database this migration created, with its side files. */
function removeDatabase(dbPath) {
  for (const suffix of ['', '-wal', '-shm', '-journal', '.lock']) removeQuietly(dbPath + suffix);
}

/** The in-resource export on FXServer: `DarkchatCore(method, argsJson)`. */
function serveResource() {
  const resourceName = GetCurrentResourceName();
  const root = GetResourcePath(resourceName);
  let core = null;
  let loadError = null;
  let migrating = false;
  try {
    core = createCore({
      wasmPath: path.join(root, 'bin', 'darkchat.wasm'),
      root,
      log: (line) => console.log(`[Darkchat] ${line}`),
    });
  } catch (e) {
    loadError =
      `cannot load bin/darkchat.wasm: ${String(e.message).split('\n')[0]}` +
      ' (build it with `bash scripts/build-wasm.sh`)';
  }
  // On FXServer `exports` is its global function that registers an export. TypeScript sees this
  // file as a CommonJS module (it is one in plain Node, for the tests), where `exports` is the
  // module's object; serveResource runs only when it is FXServer's function (checked below).
  const registerExport = /** @type {CitizenExports} */ (/** @type {unknown} */ (exports));
  registerExport('DarkchatCore', (method, args) => {
    if (GetInvokingResource() !== resourceName) {
      return { ok: false, code: 'forbidden', message: `DarkchatCore serves only ${resourceName}` };
    }
    if (!core) {
      if (method === 'open') return { ok: false, message: loadError };
      return { ok: false, code: 'storage_error', message: loadError };
    }
    if (method === 'open') {
      let options;
      try {
        options = JSON.parse(args);
      } catch (e) {
        return { ok: false, message: 'bad open options' };
      }
      return core.open(options);
    }
    if (method === 'close') return core.close();
    if (method === 'migrateStorage') {
      // The console command's: lua/commands.lua refuses it to players before calling.
      if (migrating)
        return { ok: true, v: [{ migrated: false, lines: ['a migration is already running'] }] };
      let direction;
      let file;
      try {
        [direction, file] = JSON.parse(args);
      } catch (e) {
        /* answered as a usage line */
      }
      migrating = true;
      const makeCore = () =>
        createCore({ wasmPath: path.join(root, 'bin', 'darkchat.wasm'), root });
      return migrateStorage({ live: core, makeCore, root, direction, file })
        .then((report) => ({ ok: true, v: [report] }))
        .finally(() => {
          migrating = false;
        });
    }
    if (method === 'importPeer') return importFromPeer(args);
    return core.callPacked(method, args);
  });
  // `darkchat import` (js/import.js): the console command's; lua/commands.lua refuses it to
  // players before calling. One at a time.
  let importing = false;
  function importFromPeer(args) {
    if (importing) return { ok: true, v: [{ lines: ['an import is already running'] }] };
    // `numbersAt`: the bridge's description of where the framework keeps its numbers, as JSON.
    let peer;
    let dryRun;
    let numbersAt;
    let connection;
    try {
      [peer, dryRun, numbersAt, connection] = JSON.parse(args);
    } catch (e) {
      /* a usage line */
    }
    try {
      numbersAt = JSON.parse(numbersAt);
    } catch (e) {
      numbersAt = null; /* refused */
    }
    importing = true;
    const { importPeer } = require(path.join(__dirnameOfHost(), 'import.js'));
    return importPeer({ live: core, peer, dryRun, numbersAt, connection })
      .then((report) => ({ ok: true, v: [report] }))
      .finally(() => {
        importing = false;
      });
  }
  on('onResourceStop', (name) => {
    if (name === resourceName && core) core.close();
  });
}

if (typeof GetCurrentResourceName === 'function' && typeof exports === 'function') serveResource();
if (typeof module === 'object' && module && module.exports)
  module.exports = { createCore, migrateStorage };
