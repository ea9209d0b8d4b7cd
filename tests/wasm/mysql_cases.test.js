// The shared core cases (tests/cases/core_cases.json) on MySQL/MariaDB: the wasm module through
// js/host.js and js/mysql.js against a real server, each case on a fresh database, every reply
// the same as the native core's on SQLite (target/cases/native.json, written by
// `cargo test --test shared_cases`, checked current by its fingerprint). The server comes from DARKCHAT_MYSQL (scripts/test.sh
// starts a private MariaDB and sets it).
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { createCore } = require('../../js/host.js');
const {
  repo,
  wasmPath,
  tmpRoot,
  wire,
  matches,
  mysqlUrl,
  freshDatabase,
  loadNative,
} = require('./helpers');

const file = JSON.parse(fs.readFileSync(path.join(repo, 'tests/cases/core_cases.json'), 'utf8'));
const { replies: native, why: noNative } = loadNative();

/** What both storages must agree on: the outcome without the store's own details (its size,
 * where it is, and its schema version, which each storage numbers on its own). */
function comparable(outcome) {
  const copy = JSON.parse(JSON.stringify(outcome));
  for (const v of copy.v || []) {
    if (v && typeof v === 'object' && 'schemaVersion' in v) {
      delete v.sizeBytes;
      delete v.path;
      delete v.schemaVersion;
    }
  }
  return copy;
}

function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical(value[k])]),
    );
  }
  return value;
}

test('the native replies are there, current, to compare with', () => {
  assert.ok(native, noNative);
  assert.strictEqual(native.length, file.cases.length);
});

file.cases.forEach((c, caseIndex) => {
  // A case about what only SQLite answers so (the change log exists on MySQL alone).
  if (c.storage === 'sqlite') return;
  test(`case on MySQL: ${c.name}`, async () => {
    const database = await freshDatabase(`darkchat_case_${caseIndex}`);
    let now = file.now; // a step may set the clock, as in the other runs
    const core = createCore({ wasmPath, root: tmpRoot(), seed: file.seed, clock: () => now });
    const opened = core.open({
      storage: 'mysql',
      connection: mysqlUrl(database),
      limits: c.limits || null,
    });
    assert.strictEqual(opened.ok, true, JSON.stringify(opened));
    assert.strictEqual(await core.ready, true);
    try {
      for (const [i, step] of c.steps.entries()) {
        const at = `${c.name} / step ${i} (${step.call})`;
        now = step.now ?? file.now;
        const outcome = await core.call(step.call, wire(step.args));
        if (step.error) {
          assert.strictEqual(outcome.ok, false, `${at}: ${JSON.stringify(outcome)}`);
          assert.strictEqual(outcome.code, step.error, `${at}: ${JSON.stringify(outcome)}`);
        } else {
          assert.strictEqual(outcome.ok, true, `${at}: ${JSON.stringify(outcome)}`);
          matches(step.ok, outcome.v, at);
        }
        assert.deepStrictEqual(
          canonical(comparable(outcome)),
          canonical(comparable(native[caseIndex][i])),
          `${at}: differs from the native core on SQLite`,
        );
      }
      assert.deepStrictEqual((await core.call('integrityCheck', '[]')).v, ['ok']);
    } finally {
      core.close();
    }
  });
});
