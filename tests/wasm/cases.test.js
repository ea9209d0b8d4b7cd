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
const { repo, wasmPath, tmpRoot, wire, matches } = require('./helpers');

const file = JSON.parse(fs.readFileSync(path.join(repo, 'tests/cases/core_cases.json'), 'utf8'));
const nativePath = path.join(repo, 'target/cases/native.json');

/** The files the native replies depend on, as tests/shared_cases.rs lists them. */
function fingerprintInputs() {
  const files = ['tests/cases/core_cases.json', 'Cargo.toml', 'Cargo.lock'];
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(repo, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child); else files.push(child);
    }
  };
  walk('src');
  walk('migrations');
  // Rust sorts strings by bytes; so does this comparison for the ASCII paths of the repository.
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** FNV-1a (64 bits), exactly as tests/shared_cases.rs computes it. */
function fingerprint() {
  const MASK = (1n << 64n) - 1n;
  let hash = 0xcbf29ce484222325n;
  const feed = (bytes) => {
    for (const b of bytes) hash = ((hash ^ BigInt(b)) * 0x100000001b3n) & MASK;
  };
  for (const rel of fingerprintInputs()) {
    const content = fs.readFileSync(path.join(repo, rel));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(content.length));
    feed(Buffer.from(rel));
    feed([0]);
    feed(length);
    feed(content);
  }
  return hash.toString(16).padStart(16, '0');
}

/** The native replies when they are there and were written from the current files, else why not. */
function loadNative() {
  const rerun = 'run `cargo test --release --test shared_cases` first';
  if (!fs.existsSync(nativePath)) return { why: `${nativePath} is missing: ${rerun}` };
  const written = JSON.parse(fs.readFileSync(nativePath, 'utf8'));
  const current = fingerprint();
  if (!written || written.fingerprint !== current) {
    return { why: `${nativePath} is stale (written for fingerprint ${written && written.fingerprint}, `
      + `the cases and sources are now ${current}): ${rerun}` };
  }
  return { replies: written.replies };
}

const { replies: native, why: noNative } = loadNative();

/** What both cores must agree on: the outcome without the store's file details. */
function comparable(outcome) {
  const copy = JSON.parse(JSON.stringify(outcome));
  for (const v of copy.v || []) {
    if (v && typeof v === 'object' && 'sizeBytes' in v) { delete v.sizeBytes; delete v.path; }
  }
  return copy;
}

/** Sorted keys, so that two replies compare by content. */
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
  }
  return value;
}

file.cases.forEach((c, caseIndex) => {
  test(`case: ${c.name}`, () => {
    const root = tmpRoot();
    // The cases fix the seed and the clock, as the Rust run does.
    const core = createCore({ wasmPath, root, seed: file.seed, clock: () => file.now });
    const limits = c.limits || null;
    assert.deepStrictEqual(core.open({ path: path.join(root, 'data', 'cases.db'), limits }).ok, true);
    try {
      c.steps.forEach((step, i) => {
        const at = `${c.name} / step ${i} (${step.call})`;
        const outcome = core.call(step.call, wire(step.args));
        if (step.error) {
          assert.strictEqual(outcome.ok, false, `${at}: ${JSON.stringify(outcome)}`);
          assert.strictEqual(outcome.code, step.error, `${at}: ${JSON.stringify(outcome)}`);
        } else {
          assert.strictEqual(outcome.ok, true, `${at}: ${JSON.stringify(outcome)}`);
          matches(step.ok, outcome.v, at);
        }
        if (native) {
          assert.deepStrictEqual(canonical(comparable(outcome)), canonical(native[caseIndex][i]), `${at}: differs from the native core`);
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
