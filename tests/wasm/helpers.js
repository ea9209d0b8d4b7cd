// Shared by the Node tests of the wasm core.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const repo = path.resolve(__dirname, '..', '..');
const wasmPath = path.join(repo, 'bin', 'darkchat.wasm');

/** A fresh folder standing for the resource folder. */
function tmpRoot() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'darkchat-wasm-'));
}

/** The JSON wire lua/core.lua writes, from JS test values (tags pass through). */
function wire(args) {
  return JSON.stringify(args);
}

/** `expected` matches `actual`: objects on the keys given, arrays element by element, "$any". */
function matches(expected, actual, at = '') {
  if (expected === '$any') return;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      throw new Error(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
    expected.forEach((e, i) => matches(e, actual[i], `${at}[${i}]`));
    return;
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object') throw new Error(`${at}: expected an object, got ${JSON.stringify(actual)}`);
    for (const key of Object.keys(expected)) {
      if (!(key in actual)) throw new Error(`${at}.${key}: missing in ${JSON.stringify(actual)}`);
      matches(expected[key], actual[key], `${at}.${key}`);
    }
    return;
  }
  if (expected !== actual) throw new Error(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

module.exports = { repo, wasmPath, tmpRoot, wire, matches };
