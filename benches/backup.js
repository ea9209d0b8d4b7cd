// How long a backup holds the server's main thread on the wasm core: `darkchat backup` as
// js/host.js runs it (SQLite's online backup in steps from setImmediate, at most 2 ms of steps a
// turn of the event loop, then the copy's check), on a database of N messages.
//
//     bash scripts/build-wasm.sh && node benches/backup.js [--messages N] [--wasm FILE]
//
// The database: 100 conversations of 4 members made through the core, then N messages of ~120
// characters inserted by the sqlite3 shell (fast; the backup does not care how rows came). A
// turn is what runs between two yields to the event loop: a ticker on setImmediate numbers the
// turns, each step is booked to the turn it ran in. Prints the copy's and the check's steps
// (count, median and longest step), the longest turn (the longest the main thread was held:
// the number that matters on a server), and the whole backup's wall time. `--wasm` measures
// another build (an older one, to compare).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { createCore } = require('../js/host.js');
const { wasmPath: builtWasm } = require('../tests/wasm/helpers');

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const messages = Number(option('--messages', 100000));
const wasmPath = path.resolve(option('--wasm', builtWasm));

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'darkchat-backup-bench-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
const db = path.join(root, 'data', 'darkchat.db');

function seed() {
  const core = createCore({ wasmPath, root });
  const opened = core.open({ path: db });
  if (!opened.ok) throw new Error(opened.message);
  for (let c = 0; c < 100; c++) {
    const owner = String(5550000 + c);
    const id = core.call('create', JSON.stringify([owner, `Crew ${c}`])).v[0].id;
    for (let m = 1; m <= 3; m++)
      core.call('add', JSON.stringify([String(5560000 + c * 3 + m), id]));
  }
  core.close();
  execFileSync('sqlite3', [
    db,
    `
    PRAGMA journal_mode = WAL;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${messages})
    INSERT INTO messages (conversation_id, sender_id, sender_alias, kind, content, created_at)
      SELECT c.id, p.id, 'Member', 'text', printf('message %d %s', i, hex(randomblob(56))), 1700000000 + i
        FROM n JOIN conversations c ON c.id = 1 + i % 100
        JOIN phones p ON p.id = (SELECT min(id) FROM phones);
    PRAGMA wal_checkpoint(TRUNCATE);`,
  ]);
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] || 0;
  return { n: sorted.length, p50: at(0.5), max: sorted[sorted.length - 1] || 0 };
}

async function main() {
  seed();
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  const steps = [];
  const core = createCore({
    wasmPath,
    root,
    onBackupStep: (ms, reply) =>
      steps.push({ ms, state: reply.state, turn, end: performance.now() }),
  });
  const opened = core.open({ path: db });
  if (!opened.ok) throw new Error(opened.message);
  const started = performance.now();
  setImmediate(tick);
  const job = core.call(
    'startBackup',
    JSON.stringify([path.join(root, 'data', 'backups', 'copy.db')]),
  );
  if (!job.ok) throw new Error(job.message);
  const status = await new Promise((resolve) => {
    const poll = () => {
      const s = core.call('backupStatus', JSON.stringify([job.v[0]]));
      if (s.ok && s.v[0] === 'running') return setImmediate(poll);
      resolve(s);
    };
    poll();
  });
  const wall = performance.now() - started;
  ticking = false;
  core.close();
  if (!status.ok) throw new Error(status.message);
  // A turn's block: from its first step's start to its last step's end.
  const turns = new Map();
  for (const s of steps) {
    const t = turns.get(s.turn) || { from: s.end - s.ms, to: s.end };
    t.to = s.end;
    turns.set(s.turn, t);
  }
  const blocks = [...turns.values()].map((t) => t.to - t.from);
  const copying = stats(steps.filter((s) => s.state === 'copying').map((s) => s.ms));
  // The step that finished the copy (the first after the last 'copying') made it a single file.
  const rest = stats(steps.filter((s) => s.state !== 'copying').map((s) => s.ms));
  const longest = stats(blocks);
  const size = fs.statSync(path.join(root, 'data', 'backups', 'copy.db')).size;
  const f = (ms) => ms.toFixed(2);
  console.log(
    `wasm backup, ${messages} messages, ${(size / 1e6).toFixed(1)} MB, ${path.basename(wasmPath)}:`,
  );
  console.log(`  copy: ${copying.n} steps, p50 ${f(copying.p50)} ms, longest ${f(copying.max)} ms`);
  console.log(
    `  then (single file + check): ${rest.n} steps, p50 ${f(rest.p50)} ms, longest ${f(rest.max)} ms`,
  );
  const top = steps
    .map((s, i) => ({ i, ms: s.ms, state: s.state }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 4);
  console.log(`  longest steps: ${top.map((s) => `#${s.i} ${s.state} ${f(s.ms)} ms`).join(', ')}`);
  console.log(
    `  turns: ${longest.n}, p50 ${f(longest.p50)} ms, longest main-thread block ${f(longest.max)} ms; wall ${f(wall)} ms`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
