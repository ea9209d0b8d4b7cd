// SIGKILL during writes on the wasm path: a child process writes through js/host.js and prints
// every acknowledged write; it is killed at random points, again and again on the same file.
// After each kill: the database reopens (the dead writer's lock is taken over), integrity_check
// is ok and every acknowledged write is there. While a writer runs, a second opener is refused.
// The writer lets the host's checkpoint timer run between writes, and is killed 0–700 ms after
// its first write (the first checkpoint is 250 ms after it), so kills land before, during and
// after checkpoints and log restarts. Then the same on a quiet server (a write every 20 ms), whose
// checkpoints keep the pages they copy and write them a turn at a time: killed while those
// writes are under way.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { spawn } = require('child_process');
const { createCore } = require('../../js/host.js');
const { wasmPath, tmpRoot, wire } = require('./helpers');

const RUNS = 15;
const RUNS_SPACED = 8;

/**
 * Runs writer.js on `db` and kills it: 0-700 ms after its first acknowledged write, or with
 * `spaced` (its quiet mode) 0-30 ms after a checkpoint began writing its kept pages. `probe`: a
 * second opener is tried while it runs.
 */
function runAndKill(root, db, probe, spaced = false) {
  return new Promise((resolve, reject) => {
    const args = [path.join(__dirname, 'writer.js'), root, db, ...(spaced ? ['spaced'] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked = [];
    let pages = 0;
    let checkpoints = 0;
    let buffered = '';
    let killTimer = null;
    let fallback = null;
    let refusedSecond = null;
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('ack ')) acked.push(line.slice(4));
        else if (line === 'page') pages++;
        else if (line === 'checkpoint 1') checkpoints++;
        else if (!line.startsWith('checkpoint ')) reject(new Error(`writer: ${line}`));
      }
      // Quiet: if no checkpoint writes a page within 5 s, killed anyway (the test then fails on
      // the pages it saw, rather than wait for ever).
      if (spaced && acked.length > 0 && fallback === null)
        fallback = setTimeout(() => child.kill('SIGKILL'), 5000);
      if (acked.length > 0 && killTimer === null && (!spaced || pages > 0)) {
        if (probe) refusedSecond = createCore({ wasmPath, root }).open({ path: db });
        const within = spaced ? 30 : 700;
        killTimer = setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * within));
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(fallback);
      if (signal !== 'SIGKILL') return reject(new Error(`writer ended by itself (${code})`));
      // Lines still in the pipe were acknowledged too.
      for (const line of buffered.split('\n'))
        if (line.startsWith('ack ')) acked.push(line.slice(4));
      resolve({ acked, refusedSecond, checkpoints, pages });
    });
  });
}

test(`SIGKILL at random points (${RUNS} runs) loses no acknowledged write`, async (t) => {
  const root = tmpRoot();
  const db = path.join(root, 'data', 'darkchat.db');
  const everything = [];
  let checkpoints = 0;
  for (let run = 0; run < RUNS; run++) {
    const { acked, refusedSecond, checkpoints: done } = await runAndKill(root, db, run === 0);
    checkpoints += done;
    if (run === 0) {
      assert.strictEqual(
        refusedSecond.ok,
        false,
        'a second opener is refused while the writer runs',
      );
      assert.match(refusedSecond.message, /in use by the wasm core of process \d+/);
    }
    everything.push(...acked);
    assertAllThere(root, db, everything, run);
  }
  assert.ok(everything.length > RUNS, `${everything.length} acknowledged writes in all`);
  // A run lives 250 ms or longer with probability 9/14: none of 15 doing so is ~1e-7.
  assert.ok(checkpoints > 0, 'some kills came after a timer checkpoint');
  t.diagnostic(
    `${everything.length} acknowledged writes, ${checkpoints} timer checkpoints over ${RUNS} kills`,
  );
});

/** After a kill: the database reopens, is intact, and holds every write in `everything`. */
function assertAllThere(root, db, everything, run) {
  const core = createCore({ wasmPath, root });
  const opened = core.open({ path: db });
  assert.strictEqual(opened.ok, true, `run ${run}: ${opened.message}`);
  assert.deepStrictEqual(core.call('integrityCheck', '[]').v, ['ok'], `run ${run}`);
  const stored = new Set();
  // Paging is bounded by the messages stored: a paging bug fails here instead of hanging.
  const stats = core.call('stats', '[]');
  assert.strictEqual(stats.ok, true, JSON.stringify(stats));
  const maxPages = Math.ceil(stats.v[0].messages / 100) + 1;
  let before = null;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < maxPages, `run ${run}: paging did not end after ${pages} pages`);
    const page = core.call('messages', wire(['5550101', 1, before, 100]));
    assert.strictEqual(page.ok, true, JSON.stringify(page));
    if (page.v[0].length === 0) break;
    const newest = page.v[0][page.v[0].length - 1].id;
    assert.ok(before === null || newest < before, `run ${run}: a page is not older than the last`);
    for (const m of page.v[0]) if (m.type === 'text') stored.add(m.content);
    before = page.v[0][0].id;
  }
  const lost = everything.filter((c) => !stored.has(c));
  assert.deepStrictEqual(lost, [], `run ${run}: acknowledged writes lost`);
  core.close();
}

test(`SIGKILL while a quiet server's checkpoint writes its pages (${RUNS_SPACED} runs) loses no acknowledged write`, async (t) => {
  const root = tmpRoot();
  const db = path.join(root, 'data', 'darkchat.db');
  const everything = [];
  const pagesEachRun = [];
  for (let run = 0; run < RUNS_SPACED; run++) {
    const killed = await runAndKill(root, db, false, true);
    pagesEachRun.push(killed.pages);
    everything.push(...killed.acked);
    assertAllThere(root, db, everything, run);
  }
  // Each kill came 0-30 ms after a checkpoint began writing its pages (2 ms a page).
  assert.ok(
    pagesEachRun.every((n) => n > 0),
    `page writes seen per run: ${pagesEachRun}`,
  );
  t.diagnostic(
    `${everything.length} acknowledged writes; page writes seen per run: ${pagesEachRun}`,
  );
});
