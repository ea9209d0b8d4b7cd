// The shared core cases (tests/cases/core_cases.json) on the wasm module, through js/host.js,
// each on a fresh database file; every reply must be the same as the native core's, which the
// native run (cargo test --release --test shared_cases) leaves in target/cases/native.json with
// a fingerprint of the files it came from. A missing file, or one written from other cases or
// other sources, fails the comparison test instead of being skipped or trusted.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { createCore } = require('../../js/host.js');
const { repo, wasmPath, tmpRoot, wire, matches, loadNative } = require('./helpers');

const file = JSON.parse(fs.readFileSync(path.join(repo, 'tests/cases/core_cases.json'), 'utf8'));
const { replies: native, why: noNative } = loadNative();

/** What both cores must agree on: the outcome without the store's file details. */
function comparable(outcome) {
  const copy = JSON.parse(JSON.stringify(outcome));
  for (const v of copy.v || []) {
    if (v && typeof v === 'object' && 'sizeBytes' in v) {
      delete v.sizeBytes;
      delete v.path;
    }
  }
  return copy;
}

/** Sorted keys, so that two replies compare by content. */
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

file.cases.forEach((c, caseIndex) => {
  test(`case: ${c.name}`, () => {
    const root = tmpRoot();
    // The cases fix the seed and the clock, as the Rust run does.
    // A step may set the clock (a retention expiring); the file's time otherwise.
    let now = file.now;
    const core = createCore({ wasmPath, root, seed: file.seed, clock: () => now });
    const limits = c.limits || null;
    assert.deepStrictEqual(
      core.open({ path: path.join(root, 'data', 'cases.db'), limits }).ok,
      true,
    );
    try {
      c.steps.forEach((step, i) => {
        const at = `${c.name} / step ${i} (${step.call})`;
        now = step.now ?? file.now;
        const outcome = core.call(step.call, wire(step.args));
        if (step.error) {
          assert.strictEqual(outcome.ok, false, `${at}: ${JSON.stringify(outcome)}`);
          assert.strictEqual(outcome.code, step.error, `${at}: ${JSON.stringify(outcome)}`);
        } else {
          assert.strictEqual(outcome.ok, true, `${at}: ${JSON.stringify(outcome)}`);
          matches(step.ok, outcome.v, at);
        }
        if (native) {
          assert.deepStrictEqual(
            canonical(comparable(outcome)),
            canonical(native[caseIndex][i]),
            `${at}: differs from the native core`,
          );
        }
      });
      assert.deepStrictEqual(core.call('integrityCheck', '[]').v, ['ok']);
    } finally {
      core.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

test('the native replies are there, current, and were compared with', () => {
  assert.ok(native, noNative);
  assert.strictEqual(native.length, file.cases.length);
  file.cases.forEach((c, i) => assert.strictEqual(native[i].length, c.steps.length, c.name));
});
