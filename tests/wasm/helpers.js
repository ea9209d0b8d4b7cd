// Shared by the Node tests of the wasm core.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const repo = path.resolve(__dirname, '..', '..');
const wasmPath = path.join(repo, 'bin', 'darkchat.wasm');

const made = [];
// Each test file runs in its own process: its folders go when it ends, whatever the outcome.
process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder standing for the resource folder, removed when the test process exits. */
function tmpRoot() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkchat-wasm-'));
  made.push(dir);
  return dir;
}

/** The JSON wire lua/wire.lua writes, from JS test values (tags pass through). */
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
    if (!actual || typeof actual !== 'object')
      throw new Error(`${at}: expected an object, got ${JSON.stringify(actual)}`);
    for (const key of Object.keys(expected)) {
      if (!(key in actual)) throw new Error(`${at}.${key}: missing in ${JSON.stringify(actual)}`);
      matches(expected[key], actual[key], `${at}.${key}`);
    }
    return;
  }
  if (expected !== actual)
    throw new Error(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/**
 * The MySQL/MariaDB server of the tests: DARKCHAT_MYSQL, a connection string whose user may
 * create databases named darkchat* (scripts/test.sh starts a private server and sets it).
 * `database` replaces the one it names.
 */
function mysqlUrl(database) {
  const base = process.env.DARKCHAT_MYSQL;
  if (!base)
    throw new Error(
      'DARKCHAT_MYSQL is not set: run the tests through scripts/test.sh, which starts a private MariaDB',
    );
  if (!database) return base;
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Drops and creates `name` on the test server; resolves to its name. */
async function freshDatabase(name) {
  const mysql = require(path.join(repo, 'node_modules', 'mysql2', 'promise'));
  const conn = await mysql.createConnection(mysqlUrl(''));
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
  return name;
}

/** A connection to the test server's `database` for checks behind the core's back. */
async function adminConnection(database) {
  const mysql = require(path.join(repo, 'node_modules', 'mysql2', 'promise'));
  return mysql.createConnection({ uri: mysqlUrl(database), multipleStatements: true });
}

/**
 * A TCP relay in front of the test server, so a test can take "the database" away and bring it
 * back: `cut()` closes every relayed connection and refuses new ones; `restore()` accepts again.
 */
async function relay() {
  const net = require('net');
  const target = new URL(mysqlUrl());
  const sockets = new Set();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  return {
    /** The test server's connection string for `database`, through this relay. */
    url(database) {
      const url = new URL(mysqlUrl(database));
      url.host = `127.0.0.1:${port}`;
      return url.toString();
    },
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      open = true;
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const nativePath = path.join(repo, 'target/cases/native.json');

/** The files the native replies depend on, as tests/shared_cases.rs lists them. */
function fingerprintInputs() {
  const files = ['tests/cases/core_cases.json', 'Cargo.toml', 'Cargo.lock'];
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(repo, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else files.push(child);
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
    return {
      why:
        `${nativePath} is stale (written for fingerprint ${written && written.fingerprint}, ` +
        `the cases and sources are now ${current}): ${rerun}`,
    };
  }
  return { replies: written.replies };
}

/**
 * Writes down every call into the exports `names` of each module instance made until
 * `restore()` is called, in order, with what it answered: `calls` holds `[name, answer]`.
 */
function recordExportCalls(names) {
  const calls = [];
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function RecordedInstance(module, imports) {
    const instance = new Instance(module, imports);
    const exports = { ...instance.exports };
    for (const name of names) {
      const fn = instance.exports[name];
      exports[name] = (...args) => {
        const answer = fn(...args);
        calls.push([name, answer]);
        return answer;
      };
    }
    return { exports };
  };
  return {
    calls,
    restore() {
      WebAssembly.Instance = Instance;
    },
  };
}

/**
 * mysql2 for `createCore({ mysql2 })` with every query sent on a pooled connection handed first
 * to `intercept(sql, send)`: `send()` sends it (a test notes it, or holds it back a while).
 * @param {(sql: string, send: () => void) => void} intercept
 */
function interceptedMysql2(intercept) {
  const real = require(path.join(repo, 'node_modules', 'mysql2'));
  return {
    ...real,
    createPool(options) {
      const pool = real.createPool(options);
      const getConnection = pool.getConnection.bind(pool);
      pool.getConnection = (callback) =>
        getConnection((err, conn) => {
          if (conn && !conn.intercepted) {
            const query = conn.query.bind(conn);
            conn.query = (what, ...rest) =>
              intercept(typeof what === 'string' ? what : what.sql, () => query(what, ...rest));
            conn.intercepted = true;
          }
          callback(err, conn);
        });
      return pool;
    },
  };
}

module.exports = {
  repo,
  interceptedMysql2,
  wasmPath,
  tmpRoot,
  wire,
  matches,
  mysqlUrl,
  freshDatabase,
  adminConnection,
  relay,
  loadNative,
  recordExportCalls,
};
