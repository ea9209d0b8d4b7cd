// The first calls after a start on the wasm core, as a server meets them: V8 compiles a
// WebAssembly function the first time it runs, on the calling thread (FXServer's main thread),
// so each kind of call is slower the first time. js/host.js runs the module's warm-up at start
// (dc_warm_up: the common paths on a database in the module's memory) to move that to the
// start; this measures both ways.
//
//     bash scripts/build-wasm.sh && node benches/first-calls.js [--rounds N] [--json FILE]
//
// Each start is a fresh Node process (V8's compiled code is the process's): `createCore` and
// the open of a copy of target/bench/seed.db (the native benchmark's server-scale database,
// with a one-hour cap on a message's age, so the sweep has work), then the first call of each
// kind, then a second one on other targets (where the first call's compilation is paid):
// a listing of a number with ~30 conversations, a page of 50 messages, a send, a sweep step
// of 200 messages. Starts with and without the warm-up alternate, `--rounds` of each (3).
// Prints the medians in ms, writes target/bench/first-calls.json.
//
//     node benches/first-calls.js --mysql mysql://user:pass@host:port/db [--rounds N]
//
// The same on MySQL/MariaDB (the warm-up there plays the rules on the MySQL storage's code, see
// src/warm_up.rs): each start on a database of its own (dropped and created on that server,
// `darkchat_first_calls`), a create, a join, a send, a markRead, a listing, the conversation
// view, a page and a leave, then the same again on a second conversation. What is timed is
// the main thread's time on a CPU during each awaited call (Linux's per-thread scheduler
// statistics: the module and the driver's JavaScript, not the database's wait), and the wall
// time. Writes target/bench/first-calls-mysql.json.
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { threadClock } = require('./thread-clock');

const repo = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const KINDS = ['list', 'page', 'send', 'sweep'];

/** In a child process: one start, its calls timed; prints the figures as JSON. */
function child(warmUp, db, targets) {
  const { createCore } = require('../js/host.js');
  const wasmPath = path.join(repo, 'bin', 'darkchat.wasm');
  const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
  let t = process.hrtime.bigint();
  const core = createCore({ wasmPath, root: path.dirname(db), warmUp });
  const created = ms(t);
  t = process.hrtime.bigint();
  const opened = core.open({ path: db, limits: { maxMessageAgeSeconds: 3600 } });
  if (!opened.ok) throw new Error(opened.message);
  const open = ms(t);
  const calls = (round) => {
    const [a, b] = targets[round];
    const args = {
      list: ['list', [a.number]],
      page: ['messages', [b.number, b.id, null, 50]],
      send: ['send', [a.number, a.id, 'a first message after the start']],
      sweep: ['sweepExpired', [0, 200]],
    };
    const out = {};
    for (const kind of KINDS) {
      const [method, values] = args[kind];
      const t0 = process.hrtime.bigint();
      const reply = core.call(method, JSON.stringify(values));
      out[kind] = ms(t0);
      if (!reply.ok) throw new Error(`${kind}: ${JSON.stringify(reply)}`);
    }
    return out;
  };
  const first = calls(0);
  const second = calls(1);
  core.close();
  process.stdout.write(JSON.stringify({ created, open, first, second }));
}

const median = (values) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)];
};

function main() {
  const seed = path.join(repo, 'target', 'bench', 'seed.db');
  if (!fs.existsSync(seed)) {
    console.error(
      'no target/bench/seed.db: run `cargo bench --features vendored --bench exports -- --quick` first',
    );
    process.exit(1);
  }
  const rounds = Number(option('--rounds', 3));
  const work = path.join(repo, 'target', 'bench-first-calls');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const db = path.join(work, 'first.db');
  fs.copyFileSync(seed, db);
  // Members of conversations with some history: a number's listing and a page of its own.
  const rows = execFileSync('sqlite3', [
    '-readonly',
    db,
    `SELECT m.conversation_id, p.number FROM members m JOIN phones p ON p.id = m.phone_id
     WHERE m.conversation_id IN (SELECT conversation_id FROM messages GROUP BY conversation_id
                                 HAVING COUNT(*) >= 60 LIMIT 200) ORDER BY random() LIMIT ${8 * rounds}`,
  ])
    .toString()
    .trim()
    .split('\n')
    .map((line) => {
      const [id, number] = line.split('|');
      return { id: Number(id), number };
    });
  const runs = { warm: [], cold: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? ['cold', 'warm'] : ['warm', 'cold']) {
      const at = 4 * (2 * r + (mode === 'warm' ? 0 : 1));
      const targets = [rows.slice(at, at + 2), rows.slice(at + 2, at + 4)];
      const out = execFileSync(
        process.execPath,
        [__filename, '--child', mode, db, JSON.stringify(targets)],
        {
          maxBuffer: 1 << 20,
        },
      );
      runs[mode].push(JSON.parse(out.toString()));
    }
  }
  const summary = {};
  for (const mode of ['cold', 'warm']) {
    const list = runs[mode];
    summary[mode] = {
      start: median(list.map((r) => r.created + r.open)),
      first: Object.fromEntries(KINDS.map((k) => [k, median(list.map((r) => r.first[k]))])),
      second: Object.fromEntries(KINDS.map((k) => [k, median(list.map((r) => r.second[k]))])),
    };
  }
  const cell = (v) => v.toFixed(2).padStart(8);
  console.log(
    `first calls after a start, wasm core, Node ${process.version}; medians of ${rounds} starts each, ms`,
  );
  console.log(
    `start            | ${KINDS.map((k) => `first ${k}`.padStart(12)).join(' ')} | ${KINDS.map((k) => `then ${k}`.padStart(11)).join(' ')}`,
  );
  for (const mode of ['cold', 'warm']) {
    const s = summary[mode];
    const name = mode === 'warm' ? 'with warm-up' : 'without';
    console.log(
      `${name.padEnd(12)} ${cell(s.start)} | ${KINDS.map((k) => cell(s.first[k]).padStart(12)).join(' ')} | ${KINDS.map((k) => cell(s.second[k]).padStart(11)).join(' ')}`,
    );
  }
  const out = option('--json', path.join(repo, 'target', 'bench', 'first-calls.json'));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ rounds, summary, runs }, null, 2));
  fs.rmSync(work, { recursive: true, force: true });
}

const MYSQL_KINDS = [
  'create',
  'join',
  'send',
  'markRead',
  'list',
  'conversation',
  'messages',
  'remove',
];
const MYSQL_DATABASE = 'darkchat_first_calls';

/** This thread's time on a CPU so far, in ms (0 elsewhere than Linux). */
const threadCpuMs = () => threadClock().onCpu / 1000;

/** In a child process: one start on MySQL, its calls timed; prints the figures as JSON. */
async function mysqlChild(warmUp, connection) {
  const { createCore } = require('../js/host.js');
  const wasmPath = path.join(repo, 'bin', 'darkchat.wasm');
  const core = createCore({ wasmPath, root: path.join(repo, 'target'), warmUp });
  let t = process.hrtime.bigint();
  const opened = core.open({ storage: 'mysql', connection });
  const open = Number(process.hrtime.bigint() - t) / 1e6;
  if (!opened.ok) throw new Error(opened.message);
  if (!(await core.ready)) throw new Error('the database was not reached');
  const timed = async (method, ...args) => {
    const cpu = threadCpuMs();
    const t0 = process.hrtime.bigint();
    const reply = await core.call(method, JSON.stringify(args));
    const figures = { cpu: threadCpuMs() - cpu, wall: Number(process.hrtime.bigint() - t0) / 1e6 };
    if (!reply.ok) throw new Error(`${method}: ${JSON.stringify(reply)}`);
    return { reply, figures };
  };
  const calls = async (round) => {
    const [owner, joiner] = [`55501${round}1`, `55501${round}2`];
    const out = {};
    const created = await timed('create', owner, `First calls ${round}`);
    out.create = created.figures;
    const { id, joinCode } = created.reply.v[0];
    out.join = (await timed('join', joiner, joinCode)).figures;
    out.send = (await timed('send', joiner, id, 'a first message after the start')).figures;
    out.markRead = (await timed('markRead', owner, id)).figures;
    out.list = (await timed('list', owner)).figures;
    out.conversation = (await timed('conversation', owner, id)).figures;
    out.messages = (await timed('messages', owner, id, null, 50)).figures;
    out.remove = (await timed('remove', joiner, id, true)).figures;
    return out;
  };
  const first = await calls(0);
  const second = await calls(1);
  core.close();
  process.stdout.write(JSON.stringify({ open, first, second }));
  process.exit(0);
}

async function mysqlMain(url) {
  const mysql = require(path.join(repo, 'node_modules', 'mysql2', 'promise'));
  const connection = new URL(url);
  connection.pathname = `/${MYSQL_DATABASE}`;
  const rounds = Number(option('--rounds', 3));
  const runs = { warm: [], cold: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? ['cold', 'warm'] : ['warm', 'cold']) {
      const admin = await mysql.createConnection(url);
      await admin.query(`DROP DATABASE IF EXISTS \`${MYSQL_DATABASE}\``);
      await admin.query(
        `CREATE DATABASE \`${MYSQL_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
      );
      await admin.end();
      const out = execFileSync(
        process.execPath,
        [__filename, '--mysql-child', mode, connection.toString()],
        { maxBuffer: 1 << 20 },
      );
      runs[mode].push(JSON.parse(out.toString()));
    }
  }
  const admin = await mysql.createConnection(url);
  await admin.query(`DROP DATABASE IF EXISTS \`${MYSQL_DATABASE}\``);
  await admin.end();
  const cell = (v) => v.toFixed(2).padStart(7);
  console.log(
    `first calls after a start on MySQL, wasm core, Node ${process.version}; medians of ${rounds} starts each, ms: ` +
      'main-thread CPU / wall',
  );
  const summary = {};
  for (const mode of ['cold', 'warm']) {
    const list = runs[mode];
    const of = (round, k, what) => median(list.map((r) => r[round][k][what]));
    summary[mode] = {
      open: median(list.map((r) => r.open)),
      first: Object.fromEntries(
        MYSQL_KINDS.map((k) => [k, { cpu: of('first', k, 'cpu'), wall: of('first', k, 'wall') }]),
      ),
      second: Object.fromEntries(
        MYSQL_KINDS.map((k) => [k, { cpu: of('second', k, 'cpu'), wall: of('second', k, 'wall') }]),
      ),
    };
  }
  console.log(
    `${'call'.padEnd(13)} | ${'without: first'.padStart(17)} ${'then'.padStart(17)} | ${'with warm-up: first'.padStart(19)} ${'then'.padStart(17)}`,
  );
  const pair = (f) => `${cell(f.cpu)} / ${cell(f.wall)}`;
  for (const k of MYSQL_KINDS) {
    const [c, w] = [summary.cold, summary.warm];
    console.log(
      `${k.padEnd(13)} | ${pair(c.first[k])} ${pair(c.second[k])} | ${pair(w.first[k]).padStart(19)} ${pair(w.second[k])}`,
    );
  }
  // The open itself (wall: all of it on the main thread; with the warm-up, that run included).
  console.log(
    `${'open'.padEnd(13)} | ${''.padStart(10)}${cell(summary.cold.open)} ${''.padStart(17)} | ${''.padStart(12)}${cell(summary.warm.open)}`,
  );
  const out = option('--json', path.join(repo, 'target', 'bench', 'first-calls-mysql.json'));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ rounds, summary, runs }, null, 2));
}

if (argv[0] === '--child') child(argv[1] === 'warm', argv[2], JSON.parse(argv[3]));
else if (argv[0] === '--mysql-child') mysqlChild(argv[1] === 'warm', argv[2]);
else if (option('--mysql', null)) mysqlMain(option('--mysql', null));
else main();
