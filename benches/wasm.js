// Export latency through the wasm core (bin/darkchat.wasm served by js/host.js in Node), on a
// copy of the native benchmark's server-scale database when it is there: the path every stock
// FXServer runs, measured as it runs there.
//
//     bash scripts/build-wasm.sh && node benches/wasm.js [--quick] [--iterations N] [--warmup N]
//       [--paced N] [--no-sweep] [--paced-sweep N|all] [--sweep-batch N] [--sweep-steps N]
//
// The seed database is target/bench/seed.db (made by `cargo bench --features vendored --bench
// exports -- --quick`; 50,000 numbers, 100,000 conversations, 1,000,000 messages); without it a
// small database is made here. Each run works on a copy under target/bench-wasm/.
//
// Three paths per operation, calls alternating between the first two so that the machine's
// drift hits both alike (the third is derived):
// - `wasm core call`: one `core.call(method, argsJson)` of js/host.js: the request string, the
//   copy into wasm memory, the core (validation, rules, SQLite through the fs VFS), the JSON
//   reply and JSON.parse;
// - `wasm, as Lua receives it`: the call the DarkchatCore export makes (`callPacked`: the reply
//   as the core's MessagePack bytes) with FXServer's cross-runtime export hop around it: the
//   arguments and the bytes packed and unpacked with msgpack-lite, the MessagePack codec
//   FXServer's JS runtime embeds, then the bytes unpacked as lua/core.lua does (the Lua side's
//   C unpacker is stood in for by msgpack-lite);
// - `wasm main thread incl. checkpoints`: the previous plus this operation's share of the
//   checkpoints the host's timer ran between its calls (they run on the same thread).
// `empty call` does no storage work (checkSource): the price of crossing into wasm at all.
// Targets are drawn at random over the whole database, as in the native benchmark: a listing is
// of a number with ~30 conversations, a page of a conversation with at least 60 messages, and
// remove takes back what add and join made; `list, online` / `page, online` repeat within 200
// numbers / conversations. Prints p50 / p99 / p99.9 / max in microseconds, then per operation
// the longest single main-thread block (a call, or one checkpoint) and the timer checkpoints
// (count, p50 / max / total ms, p50 of the fs writes each made), then the paced writes: one send
// every 300 ms, as a live chat writes, each with its share of the copy that took it into the
// database file.
//
// Pacing: after every call the benchmark yields to Node's event loop (`await new
// Promise(setImmediate)`, untimed), as a server tick boundary between calls would, so the
// host's checkpoint timer (250 ms after a call) runs between calls as it does on a server.
// With `--no-yield` the calls run back to back and the timer never fires (only SQLite's
// safety-net autocheckpoint, inside a call), and there is no paced block.
// Last, the retention sweep of every seeded message at once (`--no-sweep`: none): steps of
// `sweepExpired`, each timed, with a send and a page between steps: the first 200 (`--paced-sweep
// N`, or `all`) 50 ms apart as a server's sweep comes, the rest at once; the longest checkpoint
// taken apart.
// Output: the tables, and target/bench/wasm.json with rows shaped as the native benchmark's
// (`operation`, `path`, `p50_us`, `p99_us`, `p999_us`, `max_us`, `samples`).
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const msgpack = require('msgpack-lite');
const { PerformanceObserver, constants: perfConstants } = require('perf_hooks');
const { createCore } = require('../js/host.js');
const { threadClock } = require('./thread-clock');

const { repo, wasmPath } = require('../tests/wasm/helpers');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const quick = flag('--quick');
const iterations = option('--iterations', quick ? 500 : 5000);
const warmup = option('--warmup', quick ? 100 : 500);
const yieldBetweenCalls = !flag('--no-yield');
const pacedCount = option('--paced', quick ? 15 : 50);
const PACED_GAP_MS = 300;
/**
 * The sweep's first steps come as lua/retention.lua makes them on a server, 50 ms apart
 * (Config.Retention.pauseMs), with a send and a page in the middle of each pause; the rest
 * follow each other at once (the million seeded messages at 50 ms a step take about 5 minutes:
 * `--paced-sweep all` paces every step).
 */
const PACED_SWEEP_STEPS =
  argv[argv.indexOf('--paced-sweep') + 1] === 'all' ? Infinity : option('--paced-sweep', 200);
const SWEEP_PAUSE_MS = 50;
/** Messages a sweep step deletes at most (`--sweep-batch N`; default Config.Retention.batch's). */
const SWEEP_BATCH = option('--sweep-batch', 50);
/** Steps after which the sweep stops (`--sweep-steps N`; default: until every message went). */
const SWEEP_STEPS = option('--sweep-steps', Infinity);
/** A block of the main thread longer than this is over the bound the sweep is held to. */
const LONG_BLOCK_US = 5000;

const work = path.join(repo, 'target', 'bench-wasm');
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(path.join(work, 'data'), { recursive: true });
const db = path.join(work, 'data', 'bench.db');
const seed = path.join(repo, 'target', 'bench', 'seed.db');
const seeded = fs.existsSync(seed);

const sql = (query) =>
  execFileSync('sqlite3', ['-readonly', db, query], { maxBuffer: 1 << 28 })
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('|'));

/** The checkpoint of `list` that held this thread longest (null for none). */
const longestCheckpoint = (list) => list.reduce((w, c) => (w && w.ms >= c.ms ? w : c), null);

/**
 * The garbage collector's pauses of this thread, as V8 reports them ({ at, ms, major }; `at` on
 * performance.now()'s clock): a full (mark-compact) collection holds the thread whatever it
 * interrupts, so the sweep's report counts them apart from the steps.
 */
const gcPauses = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = e.detail ? e.detail.kind : e.kind;
    gcPauses.push({
      at: e.startTime,
      ms: e.duration,
      major: kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR,
    });
  }
}).observe({ entryTypes: ['gc'] });

/** Timer checkpoints (duration in ms, dc_checkpoint's answer, pages written), per operation. */
let checkpoints = [];
/** Timers that only synced the log (a quiet server's small log, copied later), ms each. */
let logSyncsMs = [];
// Page writes through the host's fs, counted to tell how many a checkpoint made: the timer runs
// between calls, so the writes since the end of the last call are the checkpoint's.
let fsWrites = 0;
let writesAtLastCall = 0;
// Time in the host's synchronous writes and syncs on this thread, in ms, to tell what a long
// checkpoint spent its time on (the copy's writes, a sync, or the work in the module).
const fsMs = { write: 0, sync: 0 };
const timedFs = (name, kind, count) => {
  const original = fs[name];
  fs[name] = (...args) => {
    if (count) fsWrites++;
    const t0 = process.hrtime.bigint();
    try {
      return original.apply(fs, args);
    } finally {
      fsMs[kind] += Number(process.hrtime.bigint() - t0) / 1e6;
    }
  };
};
timedFs('writeSync', 'write', true);
timedFs('fdatasyncSync', 'sync', false);
let fsMsAtLastCall = { ...fsMs };
const core = createCore({
  wasmPath,
  root: work,
  onLogSync: (ms) => logSyncsMs.push(ms),
  onCheckpoint: (ms, result, steps) => {
    // `longest`: its longest step on the main thread (the pool's syncs run between them).
    checkpoints.push({
      ms,
      result,
      longest: Math.max(0, ...steps),
      steps,
      pages: fsWrites - writesAtLastCall,
      writeMs: fsMs.write - fsMsAtLastCall.write,
      syncMs: fsMs.sync - fsMsAtLastCall.sync,
    });
    writesAtLastCall = fsWrites;
    fsMsAtLastCall = { ...fsMs };
  },
});
const call = (method, args) => core.call(method, JSON.stringify(args));

if (seeded) {
  fs.copyFileSync(seed, db);
} else {
  console.error('no target/bench/seed.db: making a small database (2,000 conversations)');
  const opened = core.open({ path: db });
  if (!opened.ok) throw new Error(opened.message);
  for (let c = 1; c <= 2000; c++) {
    const owner = String(5000000 + (c % 500));
    const id = call('create', [owner, `Seed ${c}`]).v[0].id;
    for (let m = 1; m <= 5; m++) call('add', [String(5000000 + ((c * 7 + m) % 500)), id]);
    for (let k = 0; k < 60; k++) call('send', [owner, id, `seed message ${k}`]);
  }
  core.close();
}
const size = fs.statSync(db).size;

// Targets, read before the core holds the database.
const numbers = sql('SELECT number FROM phones ORDER BY random() LIMIT 20000').map((r) => r[0]);
const codes = sql('SELECT join_code FROM conversations ORDER BY random() LIMIT 20000').map(
  (r) => r[0],
);
const conversations = sql('SELECT id FROM conversations ORDER BY random() LIMIT 20000').map((r) =>
  Number(r[0]),
);
const pairs =
  sql(`SELECT m.conversation_id, p.number FROM members m JOIN phones p ON p.id = m.phone_id
  WHERE m.id IN (SELECT id FROM members ORDER BY random() LIMIT ${3 * (iterations + warmup) + 1000})`).map(
    (r) => [Number(r[0]), r[1]],
  );
// As the native benchmark: numbers with about 30 conversations (a listing of ~30 entries); on
// the seed, thousands have 28-32.
const listNumbers =
  sql(`SELECT p.number FROM (SELECT phone_id, count(*) AS n FROM members GROUP BY phone_id) c
  JOIN phones p ON p.id = c.phone_id ORDER BY abs(c.n - 30) LIMIT 5000`).map((r) => r[0]);
const pages =
  sql(`SELECT m.conversation_id, p.number FROM members m JOIN phones p ON p.id = m.phone_id
  WHERE m.conversation_id IN (SELECT conversation_id FROM messages GROUP BY conversation_id
  HAVING count(*) >= 60 LIMIT 5000) GROUP BY m.conversation_id`).map((r) => [Number(r[0]), r[1]]);

const opened = core.open({ path: db });
if (!opened.ok) throw new Error(opened.message);

let fresh = 0;
const freshNumber = () => `9${String(++fresh).padStart(8, '0')}`;
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const onlineNumbers = Array.from({ length: 200 }, () => pick(listNumbers));
const onlinePages = Array.from({ length: 200 }, () => pick(pages));
let pairAt = 0;
const nextPair = () => pairs[pairAt++ % pairs.length];
// Memberships add and join made: remove takes them back (as the native benchmark does), so the
// seeded members that send, list and page use stay in place.
const added = [];

const OPS = [
  ['empty call', () => ['checkSource', [3]]],
  ['create', () => ['create', [freshNumber(), 'Bench conversation', null]]],
  [
    'add',
    () => {
      const number = freshNumber();
      const id = pick(conversations);
      return ['add', [number, id], (reply) => reply.ok && added.push([id, number])];
    },
  ],
  [
    'join',
    () => {
      const number = freshNumber();
      return [
        'join',
        [number, pick(codes)],
        (reply) => reply.ok && added.push([reply.v[0].id, number]),
      ];
    },
  ],
  [
    'send',
    () => {
      const [id, number] = nextPair();
      return ['send', [number, id, 'a message of ordinary length, typed on a phone']];
    },
  ],
  [
    'remove',
    () => {
      if (added.length === 0) throw new Error('remove needs the memberships add and join made');
      const [id, number] = added.pop();
      return ['remove', [number, id, true]];
    },
  ],
  ['list', () => ['list', [pick(listNumbers)]]],
  [
    'page',
    () => {
      const [id, number] = pick(pages);
      return ['messages', [number, id, null, 50]];
    },
  ],
  ['list, online', () => ['list', [pick(onlineNumbers)]]],
  [
    'page, online',
    () => {
      const [id, number] = pick(onlinePages);
      return ['messages', [number, id, null, 50]];
    },
  ],
];

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted[sorted.length - 1],
    samples: sorted.length,
  };
}

const nextTick = () => new Promise(setImmediate);
const elapsedUs = (t0) => Number(process.hrtime.bigint() - t0) / 1000;

/**
 * One call as the Lua layer receives it on FXServer: lua/core.lua calls the in-resource export
 * with (method, argsJson); FXServer packs the arguments with MessagePack in Lua and unpacks them
 * in JS, runs the export, packs its return value in JS (msgpack-lite, the codec FXServer's JS
 * runtime embeds) and unpacks it in Lua. The Lua side's C unpacker cannot run here: msgpack-lite
 * decodes in its place (so this path's figure is an estimate of the hop, not the Lua side's).
 */
function callAsLuaReceivesIt(method, text) {
  const [m, a] = msgpack.decode(msgpack.encode([method, text]));
  const crossed = msgpack.decode(msgpack.encode(core.callPacked(m, a)));
  // On SQLite the core's own MessagePack bytes: the Lua side unpacks them (lua/core.lua).
  return Buffer.isBuffer(crossed) ? msgpack.decode(crossed) : crossed;
}

async function main() {
  const rows = [];
  const blocks = [];
  for (const [name, make] of OPS) {
    const core_ = [];
    const lua = [];
    let failures = 0;
    let longestCallUs = 0;
    for (let i = 0; i < warmup + 2 * iterations; i++) {
      if (i === warmup) {
        checkpoints = [];
        logSyncsMs = [];
      }
      const [method, args, after] = make();
      const text = JSON.stringify(args);
      // Calls alternate between the two paths, so that drift hits both alike.
      const viaLua = i % 2 === 1;
      const t0 = process.hrtime.bigint();
      const reply = viaLua ? callAsLuaReceivesIt(method, text) : core.call(method, text);
      const us = elapsedUs(t0);
      writesAtLastCall = fsWrites;
      fsMsAtLastCall = { ...fsMs };
      if (!reply.ok) failures++;
      if (after) after(reply);
      if (i >= warmup) {
        (viaLua ? lua : core_).push(us);
        longestCallUs = Math.max(longestCallUs, us);
      }
      if (yieldBetweenCalls) await nextTick();
    }
    // The checkpoint due after this operation's last calls belongs to it too (a small log's copy
    // waits until its oldest write is 2 s old).
    if (yieldBetweenCalls) await new Promise((resolve) => setTimeout(resolve, 2300));
    const done = checkpoints.filter((c) => c.result === 1);
    const worked = done.map((c) => c.ms).sort((a, b) => a - b);
    const written = done.map((c) => c.pages).sort((a, b) => a - b);
    const checkpointUs =
      1000 *
      (checkpoints.reduce((sum, c) => sum + c.ms, 0) + logSyncsMs.reduce((sum, ms) => sum + ms, 0));
    // Main-thread time per export: the call as Lua receives it plus an equal share of every
    // checkpoint (and sync of the log) this block's calls made the host run (they run on the
    // same thread).
    const share = checkpointUs / (core_.length + lua.length);
    const longestCheckpointUs = 1000 * checkpoints.reduce((m, c) => Math.max(m, c.longest), 0);
    rows.push({ operation: name, path: 'wasm core call', ...stats(core_), failures });
    rows.push({ operation: name, path: 'wasm, as Lua receives it', ...stats(lua) });
    rows.push({
      operation: name,
      path: 'wasm main thread incl. checkpoints',
      ...stats(lua.map((us) => us + share)),
    });
    blocks.push({
      operation: name,
      longestCallUs,
      longestCheckpointUs,
      longestBlockUs: Math.max(longestCallUs, longestCheckpointUs),
      checkpoints: {
        count: worked.length,
        idle: checkpoints.length - worked.length,
        p50Ms: worked.length ? percentile(worked, 0.5) : 0,
        maxMs: worked.length ? worked[worked.length - 1] : 0,
        totalMs: worked.reduce((a, b) => a + b, 0),
        pagesP50: written.length ? percentile(written, 0.5) : 0,
      },
    });
  }
  const paced = yieldBetweenCalls ? await pacedWrites() : null;
  const integrity = call('integrityCheck', []).v[0];
  const sweep = flag('--no-sweep') ? null : await sweepAll();
  core.close();
  report(rows, blocks, paced, integrity, sweep);
}

/**
 * The retention sweep of every seeded message at once: the core reopened with a one-hour cap
 * on a message's age (Config.Limits.maxMessageAgeSeconds), which the months-old seed exceeds
 * entirely, then `sweepExpired` steps of SWEEP_BATCH as lua/retention.lua makes them (as Lua receives
 * them), each timed; between steps a send and a page, timed, and a yield to the event loop so
 * the host's checkpoint timer runs as on a server. Last: it empties the database.
 */
async function sweepAll() {
  core.close();
  const reopened = core.open({ path: db, limits: { maxMessageAgeSeconds: 3600 } });
  if (!reopened.ok) throw new Error(reopened.message);
  checkpoints = [];
  const gcFrom = gcPauses.length;
  const steps = [];
  const sends = [];
  const pagesDuring = [];
  let after = 0;
  let deleted = 0;
  let longestCheckpointUs = 0;
  let paced = null; // the paced steps' figures, once they are done
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // The longest step by its own time (wall less waiting for a CPU, as the native benchmark
  // ranks them), taken apart: { us, onCpu, queued, index }.
  let longestStep = null;
  // Every step over 5 ms, taken apart as the longest is, and the collector's pauses within it.
  const longSteps = [];
  const ownUs = (step) => step.us - step.queued;
  const summarisePaced = () => {
    const worst = longestCheckpoint(checkpoints);
    paced = { steps: stats(steps.slice()), checkpoints: checkpoints.length, worst };
    // Per checkpoint: its longest single block on this thread, and all its blocks together (a
    // checkpoint runs in several: its copy, the turns that write its pages, its log restart).
    paced.checkpointBlockUs = stats(checkpoints.map((c) => 1000 * c.longest));
    paced.checkpointTotalUs = stats(checkpoints.map((c) => 1000 * c.ms));
    paced.longestBlockUs = Math.max(1000 * (worst ? worst.longest : 0), ...steps);
    paced.longestStep = longestStep;
  };
  for (;;) {
    if (PACED_SWEEP_STEPS > 0 && steps.length === PACED_SWEEP_STEPS && !paced) summarisePaced();
    const clock = threadClock();
    const from = performance.now();
    const t0 = process.hrtime.bigint();
    const reply = callAsLuaReceivesIt('sweepExpired', JSON.stringify([after, SWEEP_BATCH]));
    const stepUs = elapsedUs(t0);
    steps.push(stepUs);
    const later = threadClock();
    const timing = {
      us: stepUs,
      onCpu: later.onCpu - clock.onCpu,
      queued: later.queued - clock.queued,
      index: steps.length - 1,
    };
    if (stepUs > LONG_BLOCK_US) longSteps.push({ ...timing, from, to: performance.now() });
    if (!longestStep || ownUs(timing) > ownUs(longestStep)) longestStep = timing;
    writesAtLastCall = fsWrites;
    fsMsAtLastCall = { ...fsMs };
    if (!reply.ok) throw new Error(`sweepExpired: ${JSON.stringify(reply)}`);
    const step = reply.v[0];
    deleted += step.deleted;
    after = step.next;
    if (!step.more || steps.length >= SWEEP_STEPS) break;
    if (steps.length < PACED_SWEEP_STEPS) await sleep(SWEEP_PAUSE_MS / 2);
    const [id, number] = nextPair();
    let t = process.hrtime.bigint();
    callAsLuaReceivesIt('send', JSON.stringify([number, id, 'a message while the sweep runs']));
    sends.push(elapsedUs(t));
    const [pageId, pageNumber] = pick(pages);
    t = process.hrtime.bigint();
    callAsLuaReceivesIt('messages', JSON.stringify([pageNumber, pageId, null, 50]));
    pagesDuring.push(elapsedUs(t));
    writesAtLastCall = fsWrites;
    fsMsAtLastCall = { ...fsMs };
    if (steps.length < PACED_SWEEP_STEPS) await sleep(SWEEP_PAUSE_MS / 2);
    else if (yieldBetweenCalls) await nextTick();
  }
  if (!paced && steps.length <= PACED_SWEEP_STEPS) summarisePaced();
  if (yieldBetweenCalls) await new Promise((resolve) => setTimeout(resolve, 300));
  longestCheckpointUs = 1000 * checkpoints.reduce((m, c) => Math.max(m, c.longest), 0);
  const worst = longestCheckpoint(checkpoints);
  const totalMs = steps.reduce((a, b) => a + b, 0) / 1000;
  const over = (list) => list.filter((us) => us > LONG_BLOCK_US).length;
  const pausesDuring = gcPauses.slice(gcFrom);
  const gc = (major) => {
    const pauses = pausesDuring.filter((g) => g.major === major);
    return { count: pauses.length, longestMs: Math.max(0, ...pauses.map((g) => g.ms)) };
  };
  for (const l of longSteps) {
    const within = pausesDuring.filter((g) => g.at >= l.from && g.at < l.to);
    l.gcUs = 1000 * within.reduce((sum, g) => sum + g.ms, 0);
  }
  return {
    over5ms: { steps: over(steps), sends: over(sends), pages: over(pagesDuring) },
    longSteps,
    gc: { minor: gc(false), major: gc(true) },
    batch: SWEEP_BATCH,
    deleted,
    steps: stats(steps),
    totalMs,
    send: stats(sends),
    page: stats(pagesDuring),
    longestCheckpointUs,
    longestCheckpoint: worst,
    longestStep,
    paced,
    longestBlockUs: Math.max(longestCheckpointUs, ...steps, ...sends, ...pagesDuring),
  };
}

/**
 * A live server's writes: one send every PACED_GAP_MS (a chat of a few players). Per write: the
 * call as Lua receives it, the timers' syncs of the log after it, and its share of the copy
 * that took it into the database file (a copy's time spread evenly over the writes it copied:
 * the host copies a quiet server's small log only every few writes), all on the main thread.
 * Also each copy whole, and the longest single block.
 */
async function pacedWrites() {
  const callsUs = [];
  const perWrite = []; // the call and the log's syncs after it; shares of copies added below
  const copiesUs = []; // each copy's time on this thread
  const stepsUs = []; // each copy's steps on this thread, in order
  let longestBlockUs = 0;
  let uncopied = []; // the writes since the last copy, by index
  const takeCopies = () => {
    for (const c of checkpoints) {
      const us = 1000 * c.ms;
      copiesUs.push(us);
      c.steps.forEach((ms, k) => (stepsUs[k] ||= []).push(1000 * ms));
      longestBlockUs = Math.max(longestBlockUs, 1000 * c.longest);
      for (const i of uncopied) perWrite[i] += us / uncopied.length;
      uncopied = [];
    }
    checkpoints = [];
  };
  checkpoints = [];
  logSyncsMs = [];
  for (let i = 0; i < pacedCount; i++) {
    const [id, number] = nextPair();
    const t0 = process.hrtime.bigint();
    callAsLuaReceivesIt('send', JSON.stringify([number, id, 'a paced message of ordinary length']));
    const us = elapsedUs(t0);
    writesAtLastCall = fsWrites;
    fsMsAtLastCall = { ...fsMs };
    callsUs.push(us);
    longestBlockUs = Math.max(longestBlockUs, us);
    uncopied.push(i);
    await new Promise((resolve) => setTimeout(resolve, PACED_GAP_MS));
    const syncsUs = 1000 * logSyncsMs.reduce((sum, ms) => sum + ms, 0);
    logSyncsMs = [];
    perWrite.push(us + syncsUs);
    takeCopies();
  }
  // The last writes' copy comes when the oldest of them is old enough.
  for (let waited = 0; uncopied.length > 0 && waited < 5000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    takeCopies();
  }
  return {
    gapMs: PACED_GAP_MS,
    ...stats(perWrite),
    longestBlockUs,
    callUs: stats(callsUs),
    copies: copiesUs.length,
    copyUs: stats(copiesUs),
    copyStepsP50Us: stepsUs.map((v) => stats(v).p50),
  };
}

function report(rows, blocks, paced, integrity, sweep) {
  const wasmBytes = fs.statSync(wasmPath).size;
  console.log(
    `wasm core ${opened.version} (${(wasmBytes / 1e6).toFixed(2)} MB module), Node ${process.version}, ` +
      `database ${(size / 1e6).toFixed(0)} MB (${seeded ? 'copy of target/bench/seed.db' : 'small, made here'}), ` +
      `${iterations} calls per operation and path after ${warmup} warm-up; integrity_check ${integrity}`,
  );
  console.log(
    yieldBetweenCalls
      ? "paced: yields to the event loop after every call (untimed); checkpoints run in the host's timer between calls"
      : 'not paced (--no-yield): calls back to back, the timer never runs',
  );
  const fmt = (us) => us.toFixed(1).padStart(9);
  console.log(
    `${'operation'.padEnd(14)} ${'path'.padEnd(36)} ${'p50 µs'.padStart(9)} ${'p99 µs'.padStart(9)} ${'p99.9 µs'.padStart(9)} ${'max µs'.padStart(9)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.operation.padEnd(14)} ${r.path.padEnd(36)} ${fmt(r.p50)} ${fmt(r.p99)} ${fmt(r.p999)} ${fmt(r.max)}` +
        (r.failures ? `  (${r.failures} refused)` : ''),
    );
  }
  const ms = (v) => v.toFixed(2).padStart(8);
  console.log();
  console.log(
    `${'operation'.padEnd(14)} longest main-thread block ms: ${'call'.padStart(8)} ${'chkpt'.padStart(8)}` +
      `  | timer checkpoints: ${'count'.padStart(5)} ${'p50 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'total ms'.padStart(8)} ${'p50 writes'.padStart(10)}`,
  );
  for (const b of blocks) {
    const c = b.checkpoints;
    console.log(
      `${b.operation.padEnd(14)} ${' '.repeat(30)} ${ms(b.longestCallUs / 1000)} ${ms(b.longestCheckpointUs / 1000)}` +
        `  |                    ${String(c.count).padStart(5)} ${ms(c.p50Ms)} ${ms(c.maxMs)} ${c.totalMs.toFixed(1).padStart(8)} ${String(c.pagesP50).padStart(10)}`,
    );
  }
  if (paced) {
    console.log();
    console.log(
      `paced writes (one send every ${paced.gapMs} ms, ${paced.samples} of them), main-thread time per write ` +
        `incl. its checkpoint: p50 ${(paced.p50 / 1000).toFixed(2)} ms, p99 ${(paced.p99 / 1000).toFixed(2)} ms, ` +
        `max ${(paced.max / 1000).toFixed(2)} ms; longest single block ${(paced.longestBlockUs / 1000).toFixed(2)} ms`,
    );
    console.log(
      `  of it the call p50 ${(paced.callUs.p50 / 1000).toFixed(2)} ms, p99 ${(paced.callUs.p99 / 1000).toFixed(2)} ms; ` +
        `${paced.copies} copies into the database file, each p50 ${(paced.copyUs.p50 / 1000).toFixed(2)} ms, max ${(paced.copyUs.max / 1000).toFixed(2)} ms ` +
        `(a copy's steps on this thread, p50 each: ${paced.copyStepsP50Us.map((v) => (v / 1000).toFixed(2)).join(' / ')} ms)`,
    );
  }
  if (sweep) {
    const us = (v) => `${v.toFixed(0)} µs`;
    console.log();
    const s = sweep.steps;
    const ms = (v) => `${(v / 1000).toFixed(2)} ms`;
    console.log(
      `retention sweep: ${sweep.deleted} messages due at once, ${s.samples} steps of` +
        ` ${sweep.batch} (as Lua receives them): p50 ${us(s.p50)}, p99 ${us(s.p99)},` +
        ` max ${us(s.max)}; all steps ${(sweep.totalMs / 1000).toFixed(1)} s`,
    );
    console.log(
      `  between steps: send p50 ${us(sweep.send.p50)} max ${us(sweep.send.max)};` +
        ` page p50 ${us(sweep.page.p50)} max ${us(sweep.page.max)};` +
        ` longest checkpoint ${ms(sweep.longestCheckpointUs)};` +
        ` longest main-thread block ${ms(sweep.longestBlockUs)}`,
    );
    const o = sweep.over5ms;
    console.log(
      `  over 5 ms: ${o.steps} of ${s.samples} steps, ${o.sends} sends and ${o.pages} pages between` +
        ` them; the collector meanwhile: ${sweep.gc.minor.count} young-generation pauses (longest` +
        ` ${sweep.gc.minor.longestMs.toFixed(2)} ms), ${sweep.gc.major.count} full ones (longest` +
        ` ${sweep.gc.major.longestMs.toFixed(2)} ms)`,
    );
    for (const l of sweep.longSteps)
      console.log(
        `    step ${l.index + 1}: ${us(l.us)}, of it ${us(l.onCpu)} on a CPU, ${us(l.queued)} waiting` +
          ` for one, ${us(Math.max(0, l.us - l.onCpu - l.queued))} asleep; the collector's pauses` +
          ` within it ${us(l.gcUs)}`,
      );
    const p = sweep.paced;
    if (p)
      console.log(
        `  the first ${p.steps.samples} steps paced as on a server (${SWEEP_PAUSE_MS} ms apart):` +
          ` p50 ${us(p.steps.p50)}, max ${us(p.steps.max)}; ${p.checkpoints} checkpoints, the` +
          ` longest ${p.worst ? p.worst.ms.toFixed(2) : 0} ms on this thread` +
          ` (${p.worst ? p.worst.syncMs.toFixed(2) : 0} ms of it in fdatasync);` +
          ` longest block ${ms(p.longestBlockUs)}; the longest step by its own time (the` +
          ` ${p.longestStep.index + 1}th) ${us(p.longestStep.us - p.longestStep.queued)}`,
      );
    if (p && p.checkpoints > 0)
      console.log(
        `  their checkpoints' longest single block p50 ${us(p.checkpointBlockUs.p50)}, p99` +
          ` ${us(p.checkpointBlockUs.p99)}, max ${us(p.checkpointBlockUs.max)}; all of a` +
          ` checkpoint's blocks p50 ${us(p.checkpointTotalUs.p50)}, p99` +
          ` ${us(p.checkpointTotalUs.p99)}, max ${us(p.checkpointTotalUs.max)}`,
      );
    const l = sweep.longestStep;
    if (l)
      console.log(
        `  the longest step by its own time (the ${l.index + 1}th): ${us(l.us)}, of it ${us(l.onCpu)} on a CPU,` +
          ` ${us(l.queued)} waiting for one, ${us(Math.max(0, l.us - l.onCpu - l.queued))} asleep`,
      );
    const w = sweep.longestCheckpoint;
    if (w)
      console.log(
        `  the longest checkpoint: ${w.ms.toFixed(2)} ms on this thread in steps of` +
          ` ${w.steps.map((t) => t.toFixed(2)).join(' + ')} ms; of it ${w.writeMs.toFixed(2)} ms` +
          ` in ${w.pages} fs writes and ${w.syncMs.toFixed(2)} ms in fdatasync on this thread`,
      );
  }
  const results = rows.map((r) => ({
    operation: r.operation,
    path: r.path,
    p50_us: r.p50,
    p99_us: r.p99,
    p999_us: r.p999,
    max_us: r.max,
    samples: r.samples,
  }));
  const out = path.join(repo, 'target', 'bench', 'wasm.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    JSON.stringify(
      {
        command: 'node benches/wasm.js',
        node: process.version,
        iterations,
        warmup,
        seeded,
        wasmBytes,
        paced: yieldBetweenCalls,
        machine: { cores: require('os').cpus().length },
        results,
        blocks,
        pacedWrites: paced,
        sweep,
      },
      null,
      2,
    ),
  );
  console.log(`\nwritten ${path.relative(repo, out)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
