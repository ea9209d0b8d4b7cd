// The host's checkpoint timer (js/host.js): checkpoints run between calls, never inside one.
// After a burst of writes and one timer period the database file alone holds them (the log was
// copied into it); an idle host, and a checkpoint that finds nothing new to copy, touch no file;
// a write the checkpoint did not copy is copied by the next one; closing cancels a pending
// checkpoint; a failed checkpoint is retried after the next call; the timer never keeps a
// process alive.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { createCore } = require('../../js/host.js');
const { wasmPath, tmpRoot, wire } = require('./helpers');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A core whose timer checkpoints are recorded, and a promise of the next one. `options` are
 * more of createCore's. Most tests here are of the copy's steps: their timer copies whatever
 * the log holds (`copyWorthBytes: 0`); those of the quiet server's deferred copy say otherwise.
 */
function recordedCore(root, options = {}) {
  const checkpoints = [];
  let waiting = null;
  const core = createCore({
    copyWorthBytes: 0,
    ...options,
    wasmPath,
    root,
    onCheckpoint: (ms, result) => {
      checkpoints.push(result);
      if (waiting) {
        waiting(result);
        waiting = null;
      }
    },
  });
  // The host's timer is unref'd (it never keeps a process alive): this one holds the loop.
  const next = () =>
    new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('no checkpoint within 5 s')), 5000);
      waiting = (result) => {
        clearTimeout(guard);
        resolve(result);
      };
    });
  return { core, checkpoints, next };
}

/** Messages of conversation 1 seen by a fresh core on a copy of the database file alone. */
function messagesInFileAlone(db) {
  const root = tmpRoot();
  const copy = path.join(root, 'copy.db');
  fs.copyFileSync(db, copy);
  const core = createCore({ wasmPath, root });
  assert.strictEqual(core.open({ path: copy }).ok, true);
  const page = core.call('messages', wire(['5550101', 1, null, 50]));
  core.close();
  return page.ok ? page.v[0].map((m) => m.content) : [];
}

/** A recorded core on `d.db` in a fresh folder, opened, with conversation `id` created. */
function openedWithConversation(options = {}) {
  const root = tmpRoot();
  const db = path.join(root, 'd.db');
  const recorded = recordedCore(root, options);
  assert.strictEqual(recorded.core.open({ path: db }).ok, true);
  const id = recorded.core.call('create', wire(['5550101', 'Crew'])).v[0].id;
  return { ...recorded, root, db, id };
}

/** Runs `fn` with Node's fs functions `names` wrapped to call `seen()` before each use. */
async function watchFs(names, seen, fn) {
  const saved = names.map((n) => fs[n]);
  names.forEach((n, i) => {
    fs[n] = (...args) => {
      seen();
      return saved[i].apply(fs, args);
    };
  });
  try {
    await fn();
  } finally {
    names.forEach((n, i) => {
      fs[n] = saved[i];
    });
  }
}

/** Waits (up to 5 s) until the pool holds a sync `recordFileOrder` was told to hold. */
async function untilHeld(files) {
  const by = Date.now() + 5000;
  while (!files.held() && Date.now() < by) await sleep(10);
}

/**
 * Records the host's synchronous writes and syncs through Node's fs, in order (`write d.db-wal`,
 * `sync d.db`; with `positions`, `write d.db-wal at 32`), and holds back the first sync the
 * thread pool is asked for (`fs.fdatasync`) that `hold(fd)` picks, until the test calls it:
 * `held()` returns it (null while none was asked for). `restore()` puts fs back.
 */
function recordFileOrder({ hold, positions = false }) {
  const order = [];
  const { fdatasyncSync, fdatasync, writeSync } = fs;
  let held = null;
  fs.fdatasyncSync = (fd) => {
    order.push(`sync ${path.basename(fileOf(fd))}`);
    return fdatasyncSync(fd);
  };
  fs.writeSync = (fd, buffer, at, length, position) => {
    const where = positions ? ` at ${position}` : '';
    order.push(`write ${path.basename(fileOf(fd))}${where}`);
    return writeSync(fd, buffer, at, length, position);
  };
  fs.fdatasync = (fd, done) => {
    if (!held && hold(fd)) {
      held = () => fdatasync(fd, done);
      return;
    }
    return fdatasync(fd, done);
  };
  return {
    order,
    held: () => held,
    restore: () => Object.assign(fs, { fdatasyncSync, fdatasync, writeSync }),
  };
}

/** Counts the host's writes, syncs and truncations through Node's fs while `fn` runs. */
async function countFileWork(fn) {
  let count = 0;
  await watchFs(
    ['writeSync', 'fdatasyncSync', 'fsyncSync', 'ftruncateSync'],
    () => {
      count++;
    },
    fn,
  );
  return count;
}

test('after a burst of writes and one timer period, the log is in the database file', async () => {
  const root = tmpRoot();
  const db = path.join(root, 'data', 'darkchat.db');
  const { core, checkpoints, next } = recordedCore(root);
  assert.strictEqual(core.open({ path: db }).ok, true);
  // Creating the schema wrote more log than CHECKPOINT_SOON_BYTES: the first checkpoint comes at
  // the next turn of the event loop. The burst after it is the timer's.
  const schema = next();
  const id = core.call('create', wire(['5550101', 'Crew'])).v[0].id;
  assert.strictEqual(id, 1);
  assert.strictEqual(await schema, 1);
  checkpoints.length = 0;
  const checkpointed = next();
  const started = Date.now();
  const sent = [];
  // A burst that stays under CHECKPOINT_SOON_BYTES (~3 log pages a write), so the timer runs it.
  for (let i = 0; i < 15; i++) {
    sent.push(`burst ${i}`);
    assert.strictEqual(core.call('send', wire(['5550101', id, sent[i]])).ok, true);
  }
  // No call checkpointed: the writes are only in the log (far below the safety net's length).
  assert.deepStrictEqual(checkpoints, []);
  assert.deepStrictEqual(messagesInFileAlone(db), []);
  assert.strictEqual(await checkpointed, 1, 'the timer checkpointed');
  // One timer period (250 ms) after the first write; the bound leaves room for a slow machine.
  const after = Date.now() - started;
  assert.ok(after >= 240 && after < 1500, `checkpointed ${after} ms after the first write`);
  assert.deepStrictEqual(messagesInFileAlone(db), sent);
  assert.deepStrictEqual(core.call('integrityCheck', '[]').v, ['ok']);
  core.close();
});

test('an idle host does no checkpoint work; a read arms no timer and does no I/O', async () => {
  const { core, checkpoints, next, id } = openedWithConversation();
  const first = next();
  core.call('send', wire(['5550101', id, 'hello']));
  assert.strictEqual(await first, 1);
  const idle = await countFileWork(() => sleep(800));
  assert.strictEqual(idle, 0, 'no file written or synced while idle');
  assert.deepStrictEqual(checkpoints, [1], 'no timer ran while idle');
  const reads = await countFileWork(async () => {
    assert.strictEqual(core.call('list', wire(['5550101'])).ok, true);
    assert.strictEqual(core.call('messages', wire(['5550101', id, null, 50])).ok, true);
    await sleep(800); // beyond the checkpoint delay
  });
  assert.strictEqual(reads, 0, 'reads write nothing');
  assert.deepStrictEqual(checkpoints, [1], 'no timer ran after the reads');
  const wrote = next();
  core.call('send', wire(['5550101', id, 'again']));
  assert.strictEqual(await wrote, 1, 'a new write is checkpointed again');
  core.close();
});

test('writes left in the log by a trapped instance are checkpointed after the next call, even a read', async () => {
  const { core, checkpoints, next, db, id } = openedWithConversation();
  const sent = ['one', 'two', 'three'];
  for (const text of sent)
    assert.strictEqual(core.call('send', wire(['5550101', id, text])).ok, true);
  assert.strictEqual(core.trapForTest().ok, false, 'the instance trapped');
  await sleep(600); // the timer the writes armed finds no instance
  assert.deepStrictEqual(checkpoints, []);
  const checkpointed = next();
  assert.strictEqual(core.call('list', wire(['5550101'])).ok, true, 'a read on a fresh instance');
  assert.strictEqual(await checkpointed, 1);
  assert.deepStrictEqual(messagesInFileAlone(db), sent);
  core.close();
});

test('closing cancels a pending checkpoint; the data is all there on reopen', async () => {
  const { core, checkpoints, root, db, id } = openedWithConversation();
  core.call('send', wire(['5550101', id, 'last words']));
  assert.ok(core.close());
  await sleep(600);
  assert.deepStrictEqual(checkpoints, [], 'no timer ran after close');
  const again = createCore({ wasmPath, root });
  assert.strictEqual(again.open({ path: db }).ok, true);
  const page = again.call('messages', wire(['5550101', id]));
  assert.deepStrictEqual(
    page.v[0].map((m) => m.content),
    ['last words'],
  );
  again.close();
});

test('the log is started at the open: the first write after it syncs nothing on this thread', async () => {
  const { core, root, db, id } = openedWithConversation();
  assert.strictEqual(core.call('send', wire(['5550101', id, 'kept'])).ok, true);
  // Closing folds the log into the database file: the reopened database's log starts empty.
  assert.ok(core.close());
  const logBytes = () => (fs.existsSync(`${db}-wal`) ? fs.statSync(`${db}-wal`).size : 0);
  assert.strictEqual(logBytes(), 0, 'no log left after a close');
  const again = recordedCore(root);
  assert.strictEqual(again.core.open({ path: db }).ok, true);
  assert.ok(logBytes() > 32, `the open wrote the log's header and a frame (${logBytes()} bytes)`);
  // A fresh log's first commit would write its header and sync it before its frames.
  const files = recordFileOrder({ hold: () => false });
  const checkpointed = again.next();
  try {
    const sent = again.core.call('send', wire(['5550101', id, 'first after the open']));
    assert.strictEqual(sent.ok, true);
  } finally {
    files.restore();
  }
  assert.ok(files.order.length > 0, 'the send wrote the log');
  assert.deepStrictEqual(
    files.order.filter((entry) => entry !== 'write d.db-wal'),
    [],
    'the first write after the open only wrote the log',
  );
  assert.strictEqual(await checkpointed, 1, "the open's marker and the send are checkpointed");
  assert.deepStrictEqual(messagesInFileAlone(db), ['kept', 'first after the open']);
  again.core.close();
});

test("under a stream of writes no call syncs: every checkpoint and log restart is the timer's", async (t) => {
  const { core, checkpoints, id } = openedWithConversation();
  let inCall = false;
  let syncsInCalls = 0;
  // A stream as the host tells one (more than SPACED_CALLS calls ended in the last
  // STREAM_GAP_MS) however loaded this machine is: the host's clock runs 20 times slower here,
  // so calls that a busy machine spaces 10 ms apart still end 0.5 ms apart. Without it, a slow
  // machine's calls count as spaced, their checkpoints sync on the pool, and a call that
  // overtakes such a sync makes it itself, as it must on a quiet server.
  const realNow = performance.now.bind(performance);
  const started = realNow();
  performance.now = () => started + (realNow() - started) / 20;
  t.after(() => delete performance.now);
  await watchFs(
    ['fdatasyncSync', 'fsyncSync'],
    () => {
      if (inCall) syncsInCalls++;
    },
    async () => {
      // ~15 log pages a write: a few thousand writes are many times the 512 KiB that has the
      // host checkpoint at the next turn of the event loop, and past SQLite's 10,000-page
      // safety net if the host did not.
      for (let i = 0; i < 3000; i++) {
        inCall = true;
        const reply = core.call('send', wire(['5550101', id, `stream ${i} `.repeat(20)]));
        inCall = false;
        assert.strictEqual(reply.ok, true, JSON.stringify(reply));
        await new Promise(setImmediate); // a server tick between calls
      }
    },
  );
  assert.strictEqual(syncsInCalls, 0, 'no call checkpointed or restarted the log');
  assert.ok(checkpoints.filter((r) => r === 1).length >= 2, `timer checkpoints: ${checkpoints}`);
  assert.deepStrictEqual(core.call('integrityCheck', '[]').v, ['ok']);
  core.close();
});

test('once calls have written 512 KiB of log, the checkpoint runs at the next turn, not a timer period later', async () => {
  const { core, checkpoints, next, id } = openedWithConversation();
  await next(); // the schema's (its log was past the bound)
  // The timer period never ends in this test: the host's timers of CHECKPOINT_DELAY_MS are put
  // an hour out; a timer of no delay runs as usual. Log bytes written are counted.
  const realSetTimeout = global.setTimeout;
  const { writeSync } = fs;
  global.setTimeout = (fn, ms, ...rest) => realSetTimeout(fn, ms > 0 ? 3600 * 1000 : ms, ...rest);
  let logBytes = 0;
  fs.writeSync = (fd, buffer, at, length, position) => {
    if (fileOf(fd).endsWith('-wal')) logBytes += length;
    return writeSync(fd, buffer, at, length, position);
  };
  let sent = 0;
  try {
    // Many small writes (some 30 KiB of log each), a turn of the event loop after each one.
    while (checkpoints.length === 1 && logBytes < 4 * 1024 * 1024) {
      const reply = core.call('send', wire(['5550101', id, `soon ${sent} `.repeat(20)]));
      assert.strictEqual(reply.ok, true, JSON.stringify(reply));
      sent++;
      await new Promise((resolve) => realSetTimeout(resolve, 1));
    }
  } finally {
    global.setTimeout = realSetTimeout;
    fs.writeSync = writeSync;
  }
  assert.deepStrictEqual(
    checkpoints,
    [1, 1],
    `no checkpoint after ${sent} sends, ${logBytes} bytes of log`,
  );
  // Not before the bound; soon after it (on a loaded machine the pool's syncs of a quiet
  // checkpoint may let a few more sends in).
  assert.ok(
    logBytes >= 512 * 1024 && logBytes < 2 * 1024 * 1024,
    `checkpointed once the log had grown by 512 KiB: after ${sent} sends, ${logBytes} bytes`,
  );
  assert.deepStrictEqual(core.call('integrityCheck', '[]').v, ['ok']);
  core.close();
});

/** The file `fd` names (Linux). */
const fileOf = (fd) => {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch (e) {
    return '?';
  }
};

test('on a quiet server the checkpoint syncs the log, the database file and the restarted log in the thread pool', async () => {
  const { core, next, db, id } = openedWithConversation();
  await next();
  await sleep(100); // quiet: no call in the last 50 ms when the next checkpoint falls due
  const onThread = [];
  const inPool = [];
  const { fdatasyncSync, fdatasync } = fs;
  fs.fdatasyncSync = (fd) => {
    onThread.push(path.basename(fileOf(fd)));
    return fdatasyncSync(fd);
  };
  fs.fdatasync = (fd, done) => {
    inPool.push(path.basename(fileOf(fd)));
    return fdatasync(fd, done);
  };
  try {
    const checkpointed = next();
    assert.strictEqual(core.call('send', wire(['5550101', id, 'quiet'])).ok, true);
    assert.strictEqual(await checkpointed, 1);
  } finally {
    Object.assign(fs, { fdatasyncSync, fdatasync });
  }
  assert.deepStrictEqual(
    inPool,
    ['d.db-wal', 'd.db', 'd.db-wal'],
    "the log before the copy, the database after, then the restarted log's new header",
  );
  assert.deepStrictEqual(onThread, [], 'no sync on the main thread');
  assert.deepStrictEqual(messagesInFileAlone(db), ['quiet']);
  core.close();
});

/**
 * Counts the turns of the event loop while it runs (`turn()`: how many so far), and records
 * the writes into the database file `d.db` with the turn each came in (`writes`, in order).
 * `onFirstWrite()` runs, once, in the first turn that starts after the first such write.
 * `stop()` puts fs back.
 */
function turnsOfDatabaseWrites(onFirstWrite = () => {}) {
  let turns = 0;
  let running = true;
  let firstSeen = false;
  const writes = [];
  const { writeSync } = fs;
  fs.writeSync = (fd, ...rest) => {
    if (path.basename(fileOf(fd)) === 'd.db') writes.push(turns);
    return writeSync(fd, ...rest);
  };
  const tick = () => {
    if (!running) return;
    turns++;
    if (writes.length > 0 && !firstSeen) {
      firstSeen = true;
      onFirstWrite();
    }
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    writes,
    turn: () => turns,
    stop: () => {
      running = false;
      fs.writeSync = writeSync;
    },
  };
}

test("on a quiet server the checkpoint's copied pages are written after the copy, a bounded share per turn of the event loop", async () => {
  // A budget of 0 ms a turn: each page in a turn of its own.
  const { core, next, db, id } = openedWithConversation({ pagesTurnMs: 0 });
  await next();
  await sleep(100);
  const watched = turnsOfDatabaseWrites();
  try {
    const checkpointed = next();
    assert.strictEqual(core.call('send', wire(['5550101', id, 'quiet'])).ok, true);
    assert.strictEqual(await checkpointed, 1);
  } finally {
    watched.stop();
  }
  const { writes } = watched;
  assert.ok(writes.length >= 2, `pages written: ${writes}`);
  assert.strictEqual(new Set(writes).size, writes.length, `a page a turn: turns ${writes}`);
  assert.deepStrictEqual(messagesInFileAlone(db), ['quiet']);
  core.close();
});

test("a write that comes while the checkpoint's pages are being written writes the rest first, then syncs the file, before the log changes", async () => {
  const { core, next, db, id } = openedWithConversation({ pagesTurnMs: 0 });
  await next();
  await sleep(100);
  const files = recordFileOrder({ hold: () => false });
  const { order } = files;
  let overtook = null;
  const watched = turnsOfDatabaseWrites(() => {
    order.length = 0;
    // The log was copied whole: this commit restarts it, over frames whose pages are not all
    // in the file yet.
    overtook = core.call('send', wire(['5550101', id, 'overtaking'])).ok;
  });
  try {
    const checkpointed = next();
    assert.strictEqual(core.call('send', wire(['5550101', id, 'copied'])).ok, true);
    assert.strictEqual(await checkpointed, 1);
  } finally {
    watched.stop();
    files.restore();
  }
  assert.strictEqual(overtook, true, 'the send came between two turns of page writes');
  const firstLogWrite = order.indexOf('write d.db-wal');
  assert.ok(firstLogWrite > 0, order.join(', '));
  const before = order.slice(0, firstLogWrite);
  assert.ok(before.includes('write d.db'), `the pages left are written first: ${order}`);
  assert.strictEqual(before[before.length - 1], 'sync d.db', `then synced: ${order}`);
  assert.ok(!order.slice(firstLogWrite).includes('write d.db'), `none after: ${order}`);
  assert.deepStrictEqual(core.call('integrityCheck', '[]').v, ['ok']);
  assert.strictEqual(await next(), 1);
  assert.deepStrictEqual(messagesInFileAlone(db), ['copied', 'overtaking']);
  core.close();
});

test("what SQLite reads from the database file while the checkpoint's pages are being written includes them", async () => {
  const root = tmpRoot();
  const db = path.join(root, 'd.db');
  const { core, next } = recordedCore(root, { pagesTurnMs: 0 });
  assert.strictEqual(core.open({ path: db }).ok, true);
  // Creating the schema filled the log: the call after the open has it copied at the next turn.
  const checkpointed = next();
  assert.strictEqual(core.call('stats', '[]').ok, true);
  let rehearsed = null;
  let created = null;
  const watched = turnsOfDatabaseWrites(() => {
    // The log was copied whole, so SQLite now reads what its cache lacks from the database
    // file. A rehearsal (a create, rolled back) drops the pages it touched from the cache; the
    // create reads them again, from a file most of them have not reached yet.
    rehearsed = core.call('rehearse', wire(['create', '5550101', 'Crew', null, null]));
    created = core.call('create', wire(['5550101', 'Crew']));
  });
  try {
    assert.strictEqual(await checkpointed, 1);
  } finally {
    watched.stop();
  }
  assert.ok(watched.writes.length >= 2, `pages written a turn each: ${watched.writes}`);
  assert.strictEqual(rehearsed && rehearsed.ok, true, JSON.stringify(rehearsed));
  assert.strictEqual(created && created.ok, true, JSON.stringify(created));
  assert.deepStrictEqual(core.call('integrityCheck', '[]').v, ['ok']);
  const listed = core.call('list', wire(['5550101']));
  assert.deepStrictEqual(
    listed.v[0].map((c) => c.name),
    ['Crew'],
  );
  core.close();
});

/** Records the files Node's thread pool is asked to sync (by name), until `restore()`. */
function recordPoolSyncs() {
  const inPool = [];
  const { fdatasync } = fs;
  fs.fdatasync = (fd, done) => {
    inPool.push(path.basename(fileOf(fd)));
    return fdatasync(fd, done);
  };
  return { inPool, restore: () => (fs.fdatasync = fdatasync) };
}

test('calls that come spaced (a few in 50 ms) leave the checkpoint its thread-pool syncs', async () => {
  const { core, next, db, id } = openedWithConversation();
  await next();
  await sleep(100);
  const { inPool, restore } = recordPoolSyncs();
  let sent = 0;
  try {
    // A send every 30 ms: when the timer's checkpoint falls due (250 ms after the first), the
    // last call is less than STREAM_GAP_MS old, but the server was idle 30 ms before it.
    let done = false;
    const checkpointed = next().then((result) => {
      done = true;
      return result;
    });
    while (!done && sent < 100) {
      assert.strictEqual(core.call('send', wire(['5550101', id, `spaced ${sent}`])).ok, true);
      sent++;
      await sleep(30);
    }
    assert.strictEqual(await checkpointed, 1);
    await sleep(50); // the restart's header sync, in the pool after the copy
  } finally {
    restore();
  }
  assert.ok(sent >= 3, `${sent} sends`);
  assert.deepStrictEqual(
    inPool.slice(0, 2),
    ['d.db-wal', 'd.db'],
    `the log and the database file synced in the pool: ${inPool}`,
  );
  assert.ok(messagesInFileAlone(db).includes('spaced 0'));
  core.close();
});

test('a write that comes before the pool has synced the database file syncs it first', async () => {
  const { core, next, id } = openedWithConversation();
  await next();
  await sleep(100);
  // The pool syncs the log at once and holds the database file's sync until the test lets it.
  const files = recordFileOrder({ hold: (fd) => !fileOf(fd).endsWith('-wal') });
  const { order } = files;
  let checkpointed;
  let heldSync;
  try {
    checkpointed = next();
    assert.strictEqual(core.call('send', wire(['5550101', id, 'copied'])).ok, true);
    await untilHeld(files);
    heldSync = files.held();
    assert.ok(heldSync, 'the checkpoint copied the log and asked the pool to sync the database');
    order.length = 0;
    assert.strictEqual(core.call('send', wire(['5550101', id, 'overtaking'])).ok, true);
  } finally {
    files.restore();
  }
  const firstLogWrite = order.indexOf('write d.db-wal');
  assert.ok(firstLogWrite > 0, order.join(', '));
  assert.strictEqual(
    order[0],
    'sync d.db',
    `the database file is synced before the log changes: ${order}`,
  );
  heldSync();
  assert.strictEqual(await checkpointed, 1);
  assert.deepStrictEqual(core.call('integrityCheck', '[]').v, ['ok']);
  core.close();
});

test('a write between the copy and the log restart leaves the log as it is, for the next checkpoint to copy', async () => {
  const { core, next, db, id } = openedWithConversation();
  await next();
  await sleep(100);
  // The pool syncs the log at once and holds the database file's sync until the test lets it.
  const files = recordFileOrder({ hold: (fd) => !fileOf(fd).endsWith('-wal') });
  try {
    const checkpointed = next();
    assert.strictEqual(core.call('send', wire(['5550101', id, 'copied'])).ok, true);
    await untilHeld(files);
    assert.ok(
      files.held(),
      'the checkpoint copied the log and asked the pool to sync the database',
    );
    // After the copy: this write restarts the log itself and arms the next checkpoint.
    assert.strictEqual(core.call('send', wire(['5550101', id, 'overtaking'])).ok, true);
    files.held()();
    assert.strictEqual(await checkpointed, 1);
  } finally {
    files.restore();
  }
  // No marker commit over it (which would count the write as copied): it waits in the log for
  // the checkpoint it armed.
  assert.deepStrictEqual(messagesInFileAlone(db), ['copied']);
  assert.strictEqual(await next(), 1, 'the next checkpoint copied the write');
  assert.deepStrictEqual(messagesInFileAlone(db), ['copied', 'overtaking']);
  core.close();
});

test("a write past the restarted log's first frame before the pool has synced its header syncs it first", async () => {
  const { core, next, id } = openedWithConversation();
  await next();
  await sleep(100);
  // The pool syncs the log before the copy and the database file at once, and holds the
  // restarted log's header sync (its second sync of the log) until the test lets it.
  let logSyncs = 0;
  const files = recordFileOrder({
    hold: (fd) => fileOf(fd).endsWith('-wal') && ++logSyncs === 2,
    positions: true,
  });
  const { order } = files;
  let checkpointed;
  let heldSync;
  try {
    checkpointed = next();
    assert.strictEqual(core.call('send', wire(['5550101', id, 'copied'])).ok, true);
    await untilHeld(files);
    heldSync = files.held();
    assert.ok(heldSync, 'the log was restarted and its header sync given to the pool');
    // The restart wrote the header and the marker's frame (the first: its header, its page)
    // and synced nothing on this thread.
    const restart = order.slice(order.indexOf('write d.db-wal at 0'));
    assert.deepStrictEqual(
      restart,
      ['write d.db-wal at 0', 'write d.db-wal at 32', 'write d.db-wal at 56'],
      order.join(', '),
    );
    assert.ok(!order.includes('sync d.db-wal'), order.join(', '));
    order.length = 0;
    assert.strictEqual(core.call('send', wire(['5550101', id, 'overtaking'])).ok, true);
  } finally {
    files.restore();
  }
  const firstLogWrite = order.findIndex((o) => o.startsWith('write d.db-wal'));
  assert.ok(firstLogWrite > 0, order.join(', '));
  assert.strictEqual(
    order.indexOf('sync d.db-wal'),
    firstLogWrite - 1,
    `the log's header is synced right before the log goes past its first frame: ${order}`,
  );
  heldSync();
  assert.strictEqual(await checkpointed, 1);
  assert.deepStrictEqual(core.call('integrityCheck', '[]').v, ['ok']);
  core.close();
});

test('a write made while the pool syncs the log is synced on the spot before the checkpoint copies it', async () => {
  const { core, next, db, id } = openedWithConversation();
  await next();
  await sleep(100);
  // The pool holds its sync of the log until the test lets it; the rest it makes at once.
  const files = recordFileOrder({ hold: (fd) => fileOf(fd).endsWith('-wal') });
  const { order } = files;
  let checkpointed;
  try {
    checkpointed = next();
    assert.strictEqual(core.call('send', wire(['5550101', id, 'first'])).ok, true);
    await untilHeld(files);
    assert.ok(files.held(), 'the checkpoint asked the pool to sync the log');
    assert.strictEqual(core.call('send', wire(['5550101', id, 'meanwhile'])).ok, true);
    order.length = 0;
    files.held()();
    assert.strictEqual(await checkpointed, 1);
  } finally {
    files.restore();
  }
  // The pool's sync began before 'meanwhile' was written: it does not cover it.
  const copied = order.indexOf('write d.db');
  assert.ok(copied > 0, order.join(', '));
  assert.ok(
    order.slice(0, copied).includes('sync d.db-wal'),
    `the log is synced before it is copied: ${order}`,
  );
  assert.deepStrictEqual(messagesInFileAlone(db), ['first', 'meanwhile']);
  core.close();
});

test('the timer a write armed while the checkpoint ran finds that write copied and does nothing', async () => {
  const { core, next, id } = openedWithConversation();
  await next();
  await sleep(100);
  // The pool holds its sync of the log until the test lets it; the rest it makes at once.
  const files = recordFileOrder({ hold: (fd) => fileOf(fd).endsWith('-wal') });
  try {
    const checkpointed = next();
    assert.strictEqual(core.call('send', wire(['5550101', id, 'first'])).ok, true);
    await untilHeld(files);
    assert.ok(files.held(), 'the checkpoint asked the pool to sync the log');
    // Arms a timer; the checkpoint under way copies this write and restarts the log after it.
    assert.strictEqual(core.call('send', wire(['5550101', id, 'meanwhile'])).ok, true);
    files.held()();
    assert.strictEqual(await checkpointed, 1);
  } finally {
    files.restore();
  }
  const work = await countFileWork(async () => {
    assert.strictEqual(await next(), 0, "the timer's checkpoint found nothing written since");
  });
  assert.strictEqual(work, 0, 'nothing written or synced');
  core.close();
});

test('a checkpoint that failed is retried after the next call, even a read', async () => {
  const { core, checkpoints, next, db, id } = openedWithConversation();
  const failed = next();
  const { fdatasyncSync, fdatasync } = fs;
  const eio = () => Object.assign(new Error('EIO: injected'), { errno: -5, code: 'EIO' });
  // Both forms: the host syncs in the thread pool when it can, on the spot when it must.
  fs.fdatasyncSync = () => {
    throw eio();
  };
  fs.fdatasync = (fd, done) => setImmediate(() => done(eio()));
  try {
    assert.strictEqual(core.call('send', wire(['5550101', id, 'kept'])).ok, true);
    assert.strictEqual(await failed, -1, 'the checkpoint failed');
  } finally {
    Object.assign(fs, { fdatasyncSync, fdatasync });
  }
  await sleep(600);
  assert.deepStrictEqual(checkpoints, [-1], 'nothing runs until the next call');
  const retried = next();
  assert.strictEqual(core.call('list', wire(['5550101'])).ok, true);
  assert.strictEqual(await retried, 1, 'the read armed the retry');
  assert.deepStrictEqual(messagesInFileAlone(db), ['kept']);
  core.close();
});

test('on a quiet server a small log is synced at the timer and copied once its oldest write is 2 s old', async () => {
  const { core, checkpoints, next, db, id } = openedWithConversation({ copyWorthBytes: undefined });
  await next(); // the schema's (its log was past the bound)
  await sleep(100);
  const { inPool, restore } = recordPoolSyncs();
  try {
    const copied = next();
    const sentAt = Date.now();
    assert.strictEqual(core.call('send', wire(['5550101', id, 'first'])).ok, true);
    await sleep(600);
    // One write is far under COPY_WORTH_BYTES: the timer synced the log and copied nothing.
    assert.deepStrictEqual(checkpoints, [1]);
    assert.deepStrictEqual(inPool, ['d.db-wal']);
    assert.deepStrictEqual(messagesInFileAlone(db), []);
    await sleep(400);
    // A later write does not put the copy off: it is due 2 s after the first.
    assert.strictEqual(core.call('send', wire(['5550101', id, 'second'])).ok, true);
    assert.strictEqual(await copied, 1);
    const after = Date.now() - sentAt;
    assert.ok(after >= 1900 && after < 2700, `copied ${after} ms after the first write`);
  } finally {
    restore();
  }
  assert.deepStrictEqual(messagesInFileAlone(db), ['first', 'second']);
  core.close();
});

test('writes a few hundred ms apart are copied together once their log is worth a copy', async () => {
  const { core, checkpoints, next, db, id } = openedWithConversation({ copyWorthBytes: undefined });
  await next();
  await sleep(100);
  const logBytes = { written: 0 };
  const { writeSync } = fs;
  fs.writeSync = (fd, buffer, at, length, position) => {
    if (fileOf(fd).endsWith('-wal')) logBytes.written += length;
    return writeSync(fd, buffer, at, length, position);
  };
  const sent = [];
  let copiedAt = -1;
  let logAtCopy = 0;
  try {
    const copied = next().then((result) => {
      copiedAt = sent.length;
      logAtCopy = logBytes.written;
      return result;
    });
    // A message every 300 ms, as a few players chat: each timer (250 ms after a write) finds
    // a log under 128 KiB until about the fourth.
    while (copiedAt < 0 && sent.length < 6) {
      sent.push(`chat ${sent.length}`);
      assert.strictEqual(core.call('send', wire(['5550101', id, sent.at(-1)])).ok, true);
      await sleep(300);
    }
    assert.strictEqual(await copied, 1);
  } finally {
    fs.writeSync = writeSync;
  }
  assert.deepStrictEqual(checkpoints, [1, 1]);
  // Copied for its length (about 33 KiB of log a message), not for its age (2 s: 7 messages).
  assert.ok(logAtCopy >= 128 * 1024, `${logAtCopy} bytes of log at the copy`);
  assert.ok(copiedAt >= 2 && copiedAt <= 5, `the first copy took ${copiedAt} messages`);
  assert.deepStrictEqual(messagesInFileAlone(db), sent.slice(0, copiedAt));
  core.close();
});

test('the checkpoint timer never keeps a process alive', () => {
  const root = tmpRoot();
  const script = `
    const { createCore } = require(${JSON.stringify(path.join(__dirname, '../../js/host.js'))});
    const core = createCore({ wasmPath: ${JSON.stringify(wasmPath)}, root: ${JSON.stringify(root)},
      onCheckpoint: () => console.log('checkpoint') });
    core.open({ path: ${JSON.stringify(path.join(root, 'd.db'))} });
    core.call('create', JSON.stringify(['5550101', 'Crew']));
    console.log('written');`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10000 });
  assert.strictEqual(run.status, 0, run.stderr);
  assert.strictEqual(run.stdout, 'written\n', 'the process ended before its pending checkpoint');
});
