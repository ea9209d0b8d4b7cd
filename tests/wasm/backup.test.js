// The wasm core's online backup, driven by js/host.js: steps of at most BACKUP_STEP_PAGES (64)
// pages from setImmediate, calls served in between (their writes reach the copy), the copy a
// single file checked in steps of the same budget (calls served between those too), a damaged
// copy refused and removed; paths outside the resource folder, existing files and links
// refused.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { createCore } = require('../../js/host.js');
const { wasmPath, tmpRoot, wire } = require('./helpers');

const until = (core, id) =>
  new Promise((resolve) => {
    const poll = () => {
      const s = core.call('backupStatus', wire([id]));
      if (s.ok && s.v[0] === 'running') return setImmediate(poll);
      resolve(s);
    };
    poll();
  });

test('a backup runs in steps of at most 64 pages while calls are served, and is checked', async () => {
  const root = tmpRoot();
  const steps = [];
  // Calls served since the last step: how many ran between two steps of the check.
  let served = 0;
  let servedWhileChecking = 0;
  const core = createCore({
    wasmPath,
    root,
    onBackupStep: (ms, reply) => {
      if (
        reply.state === 'verifying' &&
        steps.length &&
        steps[steps.length - 1].state === 'verifying'
      )
        servedWhileChecking += served;
      served = 0;
      steps.push(reply);
    },
  });
  assert.strictEqual(core.open({ path: path.join(root, 'data', 'darkchat.db') }).ok, true);
  const id = core.call('create', wire(['5550101', 'Crew'])).v[0].id;
  const text = 'x'.repeat(900);
  for (let i = 0; i < 1500; i++)
    assert.strictEqual(core.call('send', wire(['5550101', id, `${i} ${text}`])).ok, true);
  const dest = path.join(root, 'data', 'backups', 'copy.db');
  const started = core.call('startBackup', wire([dest]));
  assert.strictEqual(started.ok, true, JSON.stringify(started));
  // While it runs: a second one is refused, and writes are served.
  const second = core.call('startBackup', wire([path.join(root, 'data', 'backups', 'two.db')]));
  assert.match(second.message, /already running/);
  assert.ok(!fs.existsSync(path.join(root, 'data', 'backups', 'two.db')));
  let during = 0;
  const writer = setInterval(() => {
    if (core.call('send', wire(['5550101', id, 'during'])).ok) {
      during++;
      served++;
    }
  }, 0);
  const status = await until(core, started.v[0]);
  clearInterval(writer);
  assert.deepStrictEqual(status, { ok: true, v: ['done'] });
  const copying = steps.filter((s) => s.state === 'copying');
  assert.ok(copying.length > 10, `${copying.length} steps`);
  for (let i = 1; i < copying.length; i++) {
    assert.ok(
      copying[i - 1].remaining - copying[i].remaining <= 64,
      JSON.stringify([copying[i - 1], copying[i]]),
    );
  }
  // The check: every message read in the table and its indexes, 64 pages' worth a step (8 rows
  // a page; the bytes may pass the line by the one row that crossed it), calls served between.
  const checking = steps.filter((s) => s.state === 'verifying');
  const rows = checking.reduce((n, s) => n + s.rows, 0);
  assert.ok(rows >= 1500 * 3, `${rows} rows and entries checked`);
  for (const s of checking) {
    assert.ok(s.rows <= 64 * 8 && s.bytes <= 64 * 4096 + 4096 && s.pages <= 64, JSON.stringify(s));
  }
  assert.ok(checking.length > (1500 * 3) / 512, `${checking.length} steps`);
  assert.ok(servedWhileChecking > 0, 'calls were served between two steps of the check');
  assert.strictEqual(steps[steps.length - 1].state, 'done');
  const live = core.call('stats', '[]').v[0].messages;
  core.close();
  const sql = (file, q) => execFileSync('sqlite3', [file, q], { encoding: 'utf8' });
  assert.strictEqual(sql(dest, 'PRAGMA integrity_check; PRAGMA journal_mode;'), 'ok\ndelete\n');
  const copied = Number(sql(dest, 'SELECT count(*) FROM messages;'));
  // Everything written before it ended; the last writes may come after the last step.
  assert.ok(copied >= 1500 && copied <= live, `${copied} of ${live} (${during} written during)`);
  assert.strictEqual((fs.statSync(dest).mode & 0o777).toString(8), '600');
});

test('a backup counts as done only after the copy was synced, in the pool, after its last write', async () => {
  const root = tmpRoot();
  const dest = path.join(root, 'data', 'backups', 'synced.db');
  const fileOf = (fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch (e) {
      return '';
    }
  };
  // Writes to the copy, and the pool's syncs of it: [writes before it began, completed].
  let writes = 0;
  const syncs = [];
  const { writeSync, fdatasync, fdatasyncSync } = fs;
  let syncedOnThread = 0;
  fs.writeSync = function (fd, ...rest) {
    if (fileOf(fd) === dest) writes++;
    return writeSync.call(fs, fd, ...rest);
  };
  fs.fdatasyncSync = function (fd) {
    if (fileOf(fd) === dest) syncedOnThread++;
    return fdatasyncSync.call(fs, fd);
  };
  fs.fdatasync = function (fd, done) {
    if (fileOf(fd) !== dest) return fdatasync.call(fs, fd, done);
    const sync = { after: writes, completed: false };
    syncs.push(sync);
    return fdatasync.call(fs, fd, (err) => {
      sync.completed = !err;
      done(err);
    });
  };
  try {
    const core = createCore({ wasmPath, root });
    assert.strictEqual(core.open({ path: path.join(root, 'data', 'darkchat.db') }).ok, true);
    const id = core.call('create', wire(['5550101', 'Crew'])).v[0].id;
    for (let i = 0; i < 1500; i++)
      core.call('send', wire(['5550101', id, `${i} ${'y'.repeat(500)}`]));
    const started = core.call('startBackup', wire([dest]));
    assert.deepStrictEqual(await until(core, started.v[0]), { ok: true, v: ['done'] });
    assert.ok(writes > 100, `${writes} writes`);
    assert.ok(
      syncs.some((s) => s.after === writes && s.completed),
      JSON.stringify({ writes, syncs }),
    );
    assert.ok(syncs.length > 1, 'synced between the steps too');
    assert.strictEqual(syncedOnThread, 0, 'no sync of the copy on the main thread');
    core.close();
  } finally {
    Object.assign(fs, { writeSync, fdatasync, fdatasyncSync });
  }
});

test('a copy whose index page is damaged fails its check: no file is left, and quick_check agrees', async () => {
  const root = tmpRoot();
  const sql = (file, q) => execFileSync('sqlite3', [file, q], { encoding: 'utf8' }).trim();
  const dest = path.join(root, 'data', 'backups', 'damaged.db');
  const evidence = path.join(root, 'evidence.db');
  let damaged = false;
  const core = createCore({
    wasmPath,
    root,
    onBackupStep: (ms, reply) => {
      if (reply.state !== 'verifying' || damaged) return;
      // The check has opened the copy and read nothing but its header: damage the cell pointers
      // of a leaf page in the middle of an index on messages, and keep the damaged file.
      const leaves = `FROM dbstat WHERE name = 'messages_unread' AND pagetype = 'leaf'`;
      const page = Number(
        sql(
          dest,
          `SELECT pageno ${leaves} ORDER BY pageno LIMIT 1 OFFSET (SELECT count(*) / 2 ${leaves});`,
        ),
      );
      const fd = fs.openSync(dest, 'r+');
      fs.writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, (page - 1) * 4096 + 8);
      fs.closeSync(fd);
      fs.copyFileSync(dest, evidence);
      damaged = true;
    },
  });
  assert.strictEqual(core.open({ path: path.join(root, 'data', 'darkchat.db') }).ok, true);
  const id = core.call('create', wire(['5550101', 'Crew'])).v[0].id;
  for (let i = 0; i < 3000; i++)
    assert.strictEqual(core.call('send', wire(['5550101', id, `message ${i}`])).ok, true);
  const started = core.call('startBackup', wire([dest]));
  assert.strictEqual(started.ok, true, JSON.stringify(started));
  const status = await until(core, started.v[0]);
  assert.ok(damaged);
  assert.strictEqual(status.ok, false, JSON.stringify(status));
  assert.match(status.message, /failed its check.*messages_unread/);
  assert.ok(!status.message.includes('\n'));
  assert.ok(!fs.existsSync(dest), 'the damaged copy is removed');
  assert.notStrictEqual(sql(evidence, 'PRAGMA quick_check;'), 'ok', 'quick_check refuses it too');
  // The store is fine, and the next backup is good.
  assert.strictEqual(core.call('send', wire(['5550101', id, 'after'])).ok, true);
  const again = core.call('startBackup', wire([path.join(root, 'data', 'backups', 'good.db')]));
  assert.deepStrictEqual(await until(core, again.v[0]), { ok: true, v: ['done'] });
  core.close();
});

test('a backup refuses a path outside the folder, an existing file and a link, writing nothing', () => {
  const root = tmpRoot();
  const outside = tmpRoot();
  const core = createCore({ wasmPath, root });
  assert.strictEqual(core.open({ path: path.join(root, 'data', 'darkchat.db') }).ok, true);
  const backups = path.join(root, 'data', 'backups');
  fs.mkdirSync(backups, { recursive: true });
  fs.writeFileSync(path.join(backups, 'taken.db'), 'mine');
  fs.symlinkSync(path.join(outside, 'planted.db'), path.join(backups, 'link.db'));
  fs.symlinkSync(outside, path.join(root, 'data', 'out'));
  for (const [file, why] of [
    [path.join(outside, 'x.db'), /outside the resource folder/],
    ['../escape.db', /outside the resource folder/],
    [path.join(root, 'data', 'out', 'x.db'), /outside the resource folder/],
    [path.join(backups, 'taken.db'), /already exists/],
    [path.join(backups, 'link.db'), /already exists/],
  ]) {
    const reply = core.call('startBackup', wire([file]));
    assert.strictEqual(reply.ok, false, file);
    assert.match(reply.message, why, file);
  }
  assert.deepStrictEqual(fs.readdirSync(outside), []);
  assert.strictEqual(fs.readFileSync(path.join(backups, 'taken.db'), 'utf8'), 'mine');
  assert.strictEqual(core.call('startBackup', wire([{ b: 3 }])).code, 'invalid_argument');
  core.close();
});
