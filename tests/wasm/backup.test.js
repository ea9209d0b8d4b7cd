// The wasm core's online backup, driven by js/host.js: steps of at most BACKUP_STEP_PAGES (64)
// pages from setImmediate, calls served in between (their writes reach the copy), the copy a
// checked single file; paths outside the resource folder, existing files and links refused.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { createCore } = require('../../js/host.js');
const { wasmPath, tmpRoot, wire } = require('./helpers');

const until = (core, id) => new Promise((resolve) => {
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
  const core = createCore({ wasmPath, root, onBackupStep: (ms, reply) => steps.push(reply) });
  assert.strictEqual(core.open({ path: path.join(root, 'data', 'darkchat.db') }).ok, true);
  const id = core.call('create', wire(['5550101', 'Crew'])).v[0].id;
  const text = 'x'.repeat(900);
  for (let i = 0; i < 1500; i++) assert.strictEqual(core.call('send', wire(['5550101', id, `${i} ${text}`])).ok, true);
  const dest = path.join(root, 'data', 'backups', 'copy.db');
  const started = core.call('startBackup', wire([dest]));
  assert.strictEqual(started.ok, true, JSON.stringify(started));
  // While it runs: a second one is refused, and writes are served.
  const second = core.call('startBackup', wire([path.join(root, 'data', 'backups', 'two.db')]));
  assert.match(second.message, /already running/);
  assert.ok(!fs.existsSync(path.join(root, 'data', 'backups', 'two.db')));
  let during = 0;
  const writer = setInterval(() => { if (core.call('send', wire(['5550101', id, 'during'])).ok) during++; }, 0);
  const status = await until(core, started.v[0]);
  clearInterval(writer);
  assert.deepStrictEqual(status, { ok: true, v: ['done'] });
  const copying = steps.filter((s) => s.state === 'copying');
  assert.ok(copying.length > 10, `${copying.length} steps`);
  for (let i = 1; i < copying.length; i++) {
    assert.ok(copying[i - 1].remaining - copying[i].remaining <= 64, JSON.stringify([copying[i - 1], copying[i]]));
  }
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
