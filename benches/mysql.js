// Export latency on MySQL/MariaDB: the wasm core driven by js/host.js and js/mysql.js, against
// the same operations done without the core (its batches replayed) and done the other phones'
// way (one awaited statement at a time through mysql2, as NPWD and lb-phone do through their own
// pool or oxmysql).
//
//     bash scripts/build-wasm.sh && node benches/mysql.js [--quick] [--json out.json]
//         [--mysql mysql://user:pass@host:port/db] [--iterations N] [--warmup N] [--show-batches]
//
// `--show-batches` prints, per operation, the batches one of ours' calls sent (SQL only).
//
// The server: --mysql, else DARKCHAT_MYSQL, else a private MariaDB started here with
// scripts/mariadb.sh (folder target/bench-mysql/server, port 33090) and stopped at the end. The
// benchmark drops and re-creates the database `darkchat_bench` on it.
//
// Seeding: the core migrates the empty database (its own schema, migrations/mysql/), then the
// rows go in by bulk INSERTs: 5,000 numbers, 2,000 conversations of 2-30 members (~17,700
// memberships), 100,000 messages (--quick: 500 / 200 / 10,000). Ids are explicit and kept in
// disjoint ranges (phones from 100,001, conversations from 1,000,001, messages from
// 10,000,001) so that a value in a statement tells what it is (see "bare" below). Members get
// aliases as migrations/mysql/0002_anonymity.sql gave existing members theirs (an adjective and a
// noun by the member's place in the conversation: unique in it), and messages and each
// conversation's copy of its last message carry their sender's alias, as the core writes them.
//
// Three lanes per operation, alternated call by call (the lane order rotates every call) so that
// the VM's drift (a third between runs) falls on all three alike:
// - ours: `await core.callPacked(method, argsJson)` of js/host.js, as the DarkchatCore export
//   runs it on FXServer: the core (rules, validation) in wasm, its batches run by js/mysql.js on
//   a pool connection (one multi-statement query per batch), JSON in, the reply as the
//   MessagePack bytes Lua unpacks (an object where the core answers so: a host without packed
//   MySQL replies, a failure). Not included: the Lua side and FXServer's MessagePack hop
//   between runtimes. The reply is decoded after the timing, for the benchmark's own checks.
// - bare: the same batches with no core: the statements that ours sent for the call (recorded
//   from the driver), replayed on a connection of a plain mysql2 pool with the same options and
//   session settings, batch after batch, one multi-statement query each. The difference from
//   ours is the core's own cost (wasm, JSON, the driving loop). Reads replay the recorded call
//   on the same target. A write cannot run twice on the same rows (a join code or membership
//   taken, a member already gone), so it replays the latest recorded call of that operation on
//   another target of the same kind: its values (number, phone id, conversation id, join code,
//   last message id, the member's alias, its key and the system message naming it) are swapped
//   for the other target's (a join's: an alias no member has), and an id the recorded call got
//   from an INSERT for the one the replay's INSERT got.
// - peers: the statements such a phone runs for the operation, as plain mysql2 code below
//   (`PEERS`): `pool.execute` with placeholders (prepared statements), one awaited statement at
//   a time, no transaction, on the same tables and rows (a number's phone id found by a subquery,
//   where the peers' own tables hold the identifier in the row, so it costs no extra round trip).
//
// Per call: wall-clock time (hrtime around the awaited call) and Node's CPU time
// (process.cpuUsage, user + system): how much of the server's JS thread the call takes, against
// the time spent waiting on the database (another process). After every call the benchmark
// yields to the event loop (untimed), as a server tick boundary would.
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { createCore } = require('../js/host.js');

const repo = path.resolve(__dirname, '..');
const wasmPath = path.join(repo, 'bin', 'darkchat.wasm');
const mysql = require(path.join(repo, 'node_modules', 'mysql2'));
const mysqlPromise = require(path.join(repo, 'node_modules', 'mysql2', 'promise'));
const msgpack = require(path.join(repo, 'node_modules', 'msgpack-lite'));

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const quick = flag('--quick');
const iterations = Number(option('--iterations', quick ? 300 : 2000));
const warmup = Number(option('--warmup', quick ? 50 : 200));
const jsonOut = option('--json', null);
const showBatches = flag('--show-batches');
const SCALE = quick
  ? { numbers: 500, conversations: 200, messages: 10000 }
  : { numbers: 5000, conversations: 2000, messages: 100000 };
const DATABASE = 'darkchat_bench';
const PHONE_BASE = 100000;
const CONVERSATION_BASE = 1000000;
const MESSAGE_BASE = 10000000;
const CONTENT = 'a message of ordinary length, typed on a phone';
const PAGE = 50;

// --- the server ---------------------------------------------------------------------------------

let serverDir = null;
function serverUrl() {
  const given = option('--mysql', process.env.DARKCHAT_MYSQL || '');
  if (given) return given;
  serverDir = path.join(repo, 'target', 'bench-mysql', 'server');
  const out = execFileSync('bash', [
    path.join(repo, 'scripts', 'mariadb.sh'),
    'start',
    serverDir,
    '33090',
  ]);
  return out.toString().trim().split('\n').pop();
}

function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** What js/mysql.js runs on each new connection (the bare lane's connections get it too). */
const SESSION_SETUP =
  "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO," +
  "NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', innodb_lock_wait_timeout = 2;\n" +
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED';

// --- recording what the core sends --------------------------------------------------------------

/** The batches of the call in flight on the ours lane: { sql, values, count, results }. */
let recording = null;

/**
 * mysql2 for js/mysql.js, with each pool connection's `query` watched: while `recording` is set,
 * every batch and its results are kept (an array push per batch; the ours lane pays it).
 */
const recordingMysql2 = {
  createPool(options) {
    const pool = mysql.createPool(options);
    const getConnection = pool.getConnection.bind(pool);
    pool.getConnection = (cb) =>
      getConnection((err, conn) => {
        if (!err && !conn.benchWatched) {
          conn.benchWatched = true;
          const query = conn.query.bind(conn);
          conn.query = (q, ...rest) => {
            const cb2 = rest[rest.length - 1];
            if (!recording || typeof q !== 'object' || typeof cb2 !== 'function')
              return query(q, ...rest);
            const entry = {
              sql: q.sql,
              values: q.values,
              count: q.sql.split(';\n').length,
              results: null,
            };
            recording.push(entry);
            return query(q, (e, results) => {
              entry.results = e ? null : entry.count === 1 ? [results] : results;
              cb2(e, results);
            });
          };
        }
        cb(err, conn);
      });
    return pool;
  },
};

// --- time spent inside the wasm module -----------------------------------------------------------

/** Nanoseconds spent in the core's exports (dc_call, dc_resume, ...) since it was last reset. */
let wasmNs = 0;
{
  // js/host.js instantiates the module itself: each exported function is wrapped to time it (a
  // few hrtime reads per call, on the ours lane only); the memory passes through untouched.
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function TimedInstance(module, imports) {
    const instance = new Instance(module, imports);
    const exports = {};
    for (const [name, value] of Object.entries(instance.exports)) {
      exports[name] =
        typeof value === 'function'
          ? (...args) => {
              const t = process.hrtime.bigint();
              try {
                return value(...args);
              } finally {
                wasmNs += Number(process.hrtime.bigint() - t);
              }
            }
          : value;
    }
    return { exports };
  };
}

// --- seeding ------------------------------------------------------------------------------------

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const numberOf = (k) => String(5550000 + k); // phone id PHONE_BASE + 1 + k
const codeOf = (c) => `K${String(c).padStart(7, '0')}`; // conversation CONVERSATION_BASE + 1 + c

// The words of generated aliases (src/input.rs), and the alias migrations/mysql/0002 gives the
// member at place `rn` (0 = longest-standing) of conversation `id`: 1024 distinct ones per
// conversation, a number after them from the 1025th member on. The key is the alias lower-cased
// (`Alias::key`: single spaces already).
const ALIAS_ADJECTIVES = [
  'Amber',
  'Brave',
  'Calm',
  'Clever',
  'Crimson',
  'Dusty',
  'Eager',
  'Fuzzy',
  'Gentle',
  'Golden',
  'Hidden',
  'Icy',
  'Jolly',
  'Lucky',
  'Misty',
  'Night',
  'Noble',
  'Quiet',
  'Rapid',
  'Rusty',
  'Silent',
  'Silver',
  'Sleepy',
  'Sly',
  'Stormy',
  'Swift',
  'Tidy',
  'Velvet',
  'Wild',
  'Witty',
  'Young',
  'Zesty',
];
const ALIAS_NOUNS = [
  'Badger',
  'Crow',
  'Dingo',
  'Eagle',
  'Falcon',
  'Ferret',
  'Fox',
  'Gecko',
  'Heron',
  'Ibis',
  'Jackal',
  'Koala',
  'Lynx',
  'Marten',
  'Moth',
  'Newt',
  'Otter',
  'Owl',
  'Panda',
  'Puma',
  'Raven',
  'Robin',
  'Seal',
  'Shark',
  'Sparrow',
  'Tiger',
  'Toad',
  'Viper',
  'Walrus',
  'Wolf',
  'Yak',
  'Zebra',
];
function aliasOf(id, rn) {
  const k = (rn + id * 7) % 1024;
  return (
    `${ALIAS_ADJECTIVES[k % 32]} ${ALIAS_NOUNS[(Math.floor(k / 32) + 5 * (k % 32)) % 32]}` +
    (rn >= 1024 ? ` ${Math.floor(rn / 1024) + 1}` : '')
  );
}

/** The seed in memory, kept for drawing targets. */
function makeSeed() {
  const random = rng(17);
  const now = Math.floor(Date.now() / 1000);
  const phones = Array.from({ length: SCALE.numbers }, (_, k) => [PHONE_BASE + 1 + k, numberOf(k)]);
  const conversations = [];
  for (let c = 0; c < SCALE.conversations; c++) {
    const size = 2 + Math.floor(random() * random() * 29);
    const members = new Set();
    while (members.size < size) members.add(Math.floor(random() * SCALE.numbers));
    const id = CONVERSATION_BASE + 1 + c;
    const aliases = new Map([...members].map((k, rn) => [k, aliasOf(id, rn)]));
    conversations.push({ id, code: codeOf(c), members: [...members], aliases, messages: [] });
  }
  const messages = [];
  for (let m = 0; m < SCALE.messages; m++) {
    const c = conversations[Math.floor(random() * conversations.length)];
    const sender = c.members[Math.floor(random() * c.members.length)];
    const id = MESSAGE_BASE + 1 + m;
    const at = now - 86400 + Math.floor((m * 86400) / SCALE.messages);
    messages.push([
      id,
      c.id,
      PHONE_BASE + 1 + sender,
      'text',
      null,
      `seed message ${m}, ${CONTENT}`,
      at,
      c.aliases.get(sender),
    ]);
    c.messages.push(messages.length - 1);
  }
  const conversationRows = [];
  const memberRows = [];
  for (const c of conversations) {
    const owner = PHONE_BASE + 1 + c.members[0];
    const last = c.messages.length ? messages[c.messages[c.messages.length - 1]] : null;
    const created = now - 2 * 86400;
    conversationRows.push([
      c.id,
      `Seed ${c.id}`,
      'darkchat',
      owner,
      owner,
      c.code,
      created,
      last ? last[6] : created,
      last ? last[0] : 0,
      last ? numberOf(last[2] - PHONE_BASE - 1) : null,
      last ? 'text' : null,
      null,
      last ? last[5] : null,
      last ? last[6] : null,
      last ? last[7] : null,
    ]);
    for (const k of c.members) {
      const read = c.messages.length
        ? messages[c.messages[Math.floor(random() * c.messages.length)]][0]
        : 0;
      const alias = c.aliases.get(k);
      memberRows.push([c.id, PHONE_BASE + 1 + k, created, read, alias, alias.toLowerCase()]);
    }
  }
  return { phones, conversations, conversationRows, memberRows, messages };
}

async function insertAll(conn, sql, rows) {
  for (let i = 0; i < rows.length; i += 2000) await conn.query(sql, [rows.slice(i, i + 2000)]);
}

async function seedDatabase(url, seed) {
  const conn = await mysqlPromise.createConnection({
    uri: withDatabase(url, DATABASE),
    charset: 'utf8mb4',
  });
  try {
    await conn.query('SET foreign_key_checks = 0, unique_checks = 0');
    await insertAll(conn, 'INSERT INTO darkchat_phones (id, number) VALUES ?', seed.phones);
    await insertAll(
      conn,
      'INSERT INTO darkchat_conversations (id, name, app_name, created_by, owner_id, ' +
        'join_code, created_at, updated_at, last_message_id, last_sender, last_kind, last_event, last_content, ' +
        'last_created_at, last_sender_alias) VALUES ?',
      seed.conversationRows,
    );
    await insertAll(
      conn,
      'INSERT INTO darkchat_members (conversation_id, phone_id, joined_at, last_read_message_id, ' +
        'alias, alias_key) VALUES ?',
      seed.memberRows,
    );
    await insertAll(
      conn,
      'INSERT INTO darkchat_messages (id, conversation_id, sender_id, kind, event, content, ' +
        'created_at, sender_alias) VALUES ?',
      seed.messages,
    );
    await conn.query('SET foreign_key_checks = 1, unique_checks = 1');
    await conn.query(
      'ANALYZE TABLE darkchat_phones, darkchat_conversations, darkchat_members, darkchat_messages',
    );
  } finally {
    await conn.end();
  }
}

// --- the peers' way -----------------------------------------------------------------------------
// The baseline: what NPWD's darkchat (its own mysql2 pool) and lb-phone's (oxmysql, which is
// mysql2 underneath) do for each operation, one awaited statement after another, each a
// prepared statement with placeholders (`pool.execute`), no transaction around them. Written on
// this project's tables so that the data, the indexes and the server are the same; where a peer
// keeps the player's identifier in the row itself, a subquery finds the phone id in the same
// statement (no extra round trip). What each does differently from ours is said per operation.
// A membership row names its member by an alias unique in the conversation (the peers' own rows
// carry the player's name in the row): the INSERTs give one (a counter's, never in use) in the
// same statement, and a message and the channel's copy of it carry the sender's (the target's,
// read before the timed call, as a peer has the player's name at hand) as a parameter.

/** `execute` on the peers' pool, counting statements (one round trip each). */
let peerTrips = 0;
let peerPool = null;
function ex(sql, params) {
  peerTrips++;
  return peerPool.execute(sql, params);
}

const PHONE = '(SELECT id FROM darkchat_phones WHERE number = ?)';
const now = () => Math.floor(Date.now() / 1000);
let peerAliases = 0;
/** The alias and its key for a peers' membership: unlike any generated alias ("Adjective Noun"). */
const peerAlias = () => {
  const a = `Peer ${++peerAliases}`;
  return [a, a.toLowerCase()];
};

const PEERS = {
  // lb-phone: is the channel name taken, is there an account row, insert the channel, insert
  // the creator's membership (NPWD: SELECT by identifier, INSERT channel, INSERT owner member).
  // No transaction: a crash between the two INSERTs leaves a channel without its owner.
  async create({ number, code }) {
    const [taken] = await ex('SELECT id FROM darkchat_conversations WHERE join_code = ?', [code]);
    if (taken.length) throw new Error('code taken');
    await ex('INSERT IGNORE INTO darkchat_phones (number) VALUES (?)', [number]);
    const t = now();
    const [made] = await ex(
      'INSERT INTO darkchat_conversations (name, created_by, owner_id, join_code, ' +
        `created_at, updated_at) VALUES (?, ${PHONE}, ${PHONE}, ?, ?, ?)`,
      ['Bench conversation', number, number, code, t, t],
    );
    await ex(
      'INSERT INTO darkchat_members (conversation_id, phone_id, joined_at, alias, alias_key) ' +
        `VALUES (?, ${PHONE}, ?, ?, ?)`,
      [made.insertId, number, t, ...peerAlias()],
    );
    return made.insertId;
  },
  // NPWD joinChannel / lb-phone: account row, the channel by its code, is the player already a
  // member (check-then-insert: two joins at once both pass), insert the membership, then the
  // members to tell. No "joined" message and no read position (neither phone has unread state).
  async join({ number, code }) {
    await ex('INSERT IGNORE INTO darkchat_phones (number) VALUES (?)', [number]);
    const [found] = await ex('SELECT id FROM darkchat_conversations WHERE join_code = ?', [code]);
    const id = found[0].id;
    const [already] = await ex(
      `SELECT 1 FROM darkchat_members WHERE conversation_id = ? AND phone_id = ${PHONE}`,
      [id, number],
    );
    if (already.length) throw new Error('already a member');
    await ex(
      'INSERT INTO darkchat_members (conversation_id, phone_id, joined_at, alias, alias_key) ' +
        `VALUES (?, ${PHONE}, ?, ?, ?)`,
      [id, number, now(), ...peerAlias()],
    );
    await ex(
      'SELECT p.number FROM darkchat_members m JOIN darkchat_phones p ON p.id = m.phone_id WHERE m.conversation_id = ?',
      [id],
    );
    return id;
  },
  // lb-phone sendMessage: insert the message, update the channel's last message, read the
  // members to notify. No membership check (neither peer checks on send).
  async send({ number, id, alias }) {
    const t = now();
    await ex(
      'INSERT INTO darkchat_messages (conversation_id, sender_id, kind, content, created_at, sender_alias) ' +
        `VALUES (?, ${PHONE}, 'text', ?, ?, ?)`,
      [id, number, CONTENT, t, alias],
    );
    await ex(
      "UPDATE darkchat_conversations SET last_sender = ?, last_sender_alias = ?, last_kind = 'text', " +
        'last_content = ?, last_created_at = ?, updated_at = ? WHERE id = ?',
      [number, alias, CONTENT, t, t, id],
    );
    await ex(
      'SELECT p.number FROM darkchat_members m JOIN darkchat_phones p ON p.id = m.phone_id WHERE m.conversation_id = ?',
      [id],
    );
  },
  // No peer keeps a read position; the nearest one-statement equivalent.
  async markRead({ number, id }) {
    await ex(
      'UPDATE darkchat_members SET last_read_message_id = (SELECT last_message_id FROM ' +
        `darkchat_conversations WHERE id = ?) WHERE conversation_id = ? AND phone_id = ${PHONE}`,
      [id, id, number],
    );
  },
  // NPWD getAllChannels / lb-phone's channel list: one join query. No unread counts (ours
  // computes one per conversation in the same statement).
  async list({ number }) {
    await ex(
      'SELECT c.id, c.name, c.join_code, c.owner_id, o.number, c.updated_at, c.last_sender, ' +
        'c.last_content, c.last_created_at FROM darkchat_members m JOIN darkchat_conversations c ON ' +
        'c.id = m.conversation_id JOIN darkchat_phones o ON o.id = c.owner_id WHERE m.phone_id = ' +
        `${PHONE} ORDER BY c.updated_at DESC, c.id DESC`,
      [number],
    );
  },
  // lb-phone's page (NPWD reads every message of the channel at once): the newest 50, with the
  // senders' numbers. No membership check.
  async page({ id }) {
    await ex(
      'SELECT m.id, p.number, m.content, m.kind, m.event, m.created_at FROM darkchat_messages m ' +
        'LEFT JOIN darkchat_phones p ON p.id = m.sender_id WHERE m.conversation_id = ? ORDER BY m.id DESC ' +
        `LIMIT ${PAGE}`,
      [id],
    );
  },
  // Opening a channel: its row with the owner, then its members.
  async get({ id }) {
    await ex(
      'SELECT c.id, c.name, c.join_code, o.number, c.updated_at, c.last_content FROM ' +
        'darkchat_conversations c JOIN darkchat_phones o ON o.id = c.owner_id WHERE c.id = ?',
      [id],
    );
    await ex(
      'SELECT p.number FROM darkchat_members m JOIN darkchat_phones p ON p.id = m.phone_id WHERE m.conversation_id = ?',
      [id],
    );
  },
  // NPWD leaveChannel / lb-phone: delete the membership, then the members to tell. No "left"
  // message, no owner hand-over.
  async remove({ number, id }) {
    await ex(`DELETE FROM darkchat_members WHERE conversation_id = ? AND phone_id = ${PHONE}`, [
      id,
      number,
    ]);
    await ex(
      'SELECT p.number FROM darkchat_members m JOIN darkchat_phones p ON p.id = m.phone_id WHERE m.conversation_id = ?',
      [id],
    );
  },
};

// --- the bare lane ------------------------------------------------------------------------------

let barePool = null;
function connection(pool) {
  return new Promise((resolve, reject) =>
    pool.getConnection((e, c) => (e ? reject(e) : resolve(c))),
  );
}
function query(conn, sql, values) {
  return new Promise((resolve, reject) => {
    conn.query({ sql, values, rowsAsArray: true }, (e, r) => (e ? reject(e) : resolve(r)));
  });
}

/** Replays `batches` with values swapped through `swap` (a Map, added to as INSERTs answer). */
async function replay(batches, swap) {
  const conn = await connection(barePool);
  try {
    for (const batch of batches) {
      const values = swap.size
        ? batch.values.map((v) => (swap.has(v) ? swap.get(v) : v))
        : batch.values;
      const got = await query(conn, batch.sql, values);
      if (!batch.results) continue;
      const results = batch.count === 1 ? [got] : got;
      batch.results.forEach((was, i) => {
        const now = results[i];
        if (was && now && was.insertId > 0 && now.insertId > 0)
          swap.set(was.insertId, now.insertId);
      });
    }
  } finally {
    conn.release();
  }
}

// --- targets ------------------------------------------------------------------------------------

const lanes = ['ours', 'bare', 'peers'];
const ORDERS = [
  [0, 1, 2],
  [1, 2, 0],
  [2, 0, 1],
  [0, 2, 1],
  [2, 1, 0],
  [1, 0, 2],
];
let fresh = 0;
const freshNumber = (lane) => `9${lanes.indexOf(lane) + 1}${String(++fresh).padStart(7, '0')}`;
const freshCode = (lane) => `${lane[0].toUpperCase()}X${String(++fresh).padStart(6, '0')}`;

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;
}

async function main() {
  const url = serverUrl();
  const admin = await mysqlPromise.createConnection({ uri: url, charset: 'utf8mb4' });
  await admin.query(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
  await admin.query(`CREATE DATABASE \`${DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const [[{ v: serverVersion }]] = await admin.query('SELECT VERSION() AS v');
  await admin.end();
  const dbUrl = withDatabase(url, DATABASE);

  const root = path.join(repo, 'target', 'bench-mysql', 'root');
  fs.mkdirSync(root, { recursive: true });
  const core = createCore({
    wasmPath,
    root,
    log: (line) => console.error(`[core] ${line}`),
    mysql2: recordingMysql2,
  });
  const opened = core.open({ storage: 'mysql', connection: dbUrl });
  if (!opened.ok) throw new Error(opened.message);
  if (!(await core.ready)) throw new Error('the core did not migrate the database');

  const t0 = Date.now();
  const seed = makeSeed();
  await seedDatabase(url, seed);
  const seedSeconds = (Date.now() - t0) / 1000;
  console.error(
    `seeded ${SCALE.numbers} numbers, ${SCALE.conversations} conversations, ` +
      `${seed.memberRows.length} memberships, ${SCALE.messages} messages in ${seedSeconds.toFixed(1)} s`,
  );

  const poolOptions = {
    uri: dbUrl,
    supportBigNumbers: true,
    bigNumberStrings: false,
    dateStrings: true,
    charset: 'utf8mb4',
    connectionLimit: 10,
  };
  barePool = mysql.createPool({ ...poolOptions, multipleStatements: true });
  barePool.on('connection', (conn) => conn.query(SESSION_SETUP, () => {}));
  peerPool = mysqlPromise.createPool(poolOptions);
  const facts = await mysqlPromise.createConnection({ uri: dbUrl, charset: 'utf8mb4' });

  // Targets: members who are not owners (so a leave hands nothing over), listings of the
  // numbers in the most conversations, pages of conversations with at least 50 messages.
  const random = rng(99);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const pairs = [];
  for (const c of seed.conversations)
    for (const k of c.members.slice(1))
      pairs.push({ id: c.id, number: numberOf(k), phone: PHONE_BASE + 1 + k });
  const counts = new Map();
  for (const c of seed.conversations)
    for (const k of c.members) counts.set(k, (counts.get(k) || 0) + 1);
  const busiest = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Math.max(50, SCALE.numbers / 10));
  const listNumbers = busiest.map(([k]) => numberOf(k));
  const listSizes = busiest.map(([, n]) => n);
  const pages = seed.conversations
    .filter((c) => c.messages.length >= PAGE)
    .map((c) => ({ id: c.id, number: numberOf(c.members[0]) }));
  const codes = seed.conversations.map((c) => ({ id: c.id, code: c.code }));
  const joined = { ours: [], bare: [], peers: [] }; // memberships each lane's joins made, for remove

  async function conversationFacts(id) {
    const [rows] = await facts.query(
      'SELECT join_code, last_message_id FROM darkchat_conversations WHERE id = ?',
      [id],
    );
    return rows[0] ? { code: rows[0].join_code, last: Number(rows[0].last_message_id) } : {};
  }
  async function aliasIn(id, number) {
    const [rows] = await facts.query(
      'SELECT m.alias FROM darkchat_members m JOIN darkchat_phones p ON p.id = m.phone_id ' +
        'WHERE m.conversation_id = ? AND p.number = ?',
      [id, number],
    );
    return rows[0] ? rows[0].alias : null;
  }
  async function phoneOf(number) {
    const [rows] = await facts.query('SELECT id FROM darkchat_phones WHERE number = ?', [number]);
    return rows[0] ? Number(rows[0].id) : null;
  }

  // Each operation: `target(lane)` draws a target (untimed), `ours(t)` gives method and args,
  // `after(lane, t, reply)` keeps what later operations need, `swap(a, b)` the values to swap.
  const membership = async (lane) => {
    const t = { ...pick(pairs) };
    Object.assign(t, await conversationFacts(t.id), { alias: await aliasIn(t.id, t.number) });
    return t;
  };
  const OPS = [
    {
      name: 'create',
      write: true,
      target: async (lane) => ({ number: freshNumber(lane), code: freshCode(lane) }),
      ours: (t) => ['create', [t.number, 'Bench conversation', null]],
      // ours generates its code: the replay gets a fresh one in its place
      after: (lane, t, reply) => {
        if (lane === 'ours') t.code = reply.v[0].joinCode;
      },
    },
    {
      name: 'join',
      write: true,
      target: async (lane) => {
        const c = pick(codes);
        // the alias: ours' is the one the core gives (below), the replay's one no member has
        const alias = lane === 'bare' ? `Bare ${fresh}` : null;
        return {
          number: freshNumber(lane),
          id: c.id,
          code: c.code,
          alias,
          ...(await conversationFacts(c.id)),
        };
      },
      ours: (t) => ['join', [t.number, t.code]],
      after: (lane, t, reply) => {
        if (lane === 'ours') t.alias = reply.v[0].alias;
        joined[lane].push({ id: t.id, number: t.number });
      },
    },
    {
      name: 'send',
      write: true,
      target: membership,
      ours: (t) => ['send', [t.number, t.id, CONTENT]],
    },
    {
      name: 'markRead',
      write: true,
      target: membership,
      ours: (t) => ['markRead', [t.number, t.id, null]],
    },
    {
      name: 'list',
      target: async () => ({ number: pick(listNumbers) }),
      ours: (t) => ['list', [t.number]],
    },
    {
      name: 'page',
      target: async () => ({ ...pick(pages) }),
      ours: (t) => ['messages', [t.number, t.id, null, PAGE]],
    },
    {
      name: 'get',
      target: async () => ({ ...pick(pairs) }),
      ours: (t) => ['conversation', [t.number, t.id]],
    },
    {
      name: 'remove',
      write: true,
      target: async (lane) => {
        const m = joined[lane].pop();
        if (!m) throw new Error(`remove: no membership left that ${lane}'s joins made`);
        return {
          ...m,
          phone: await phoneOf(m.number),
          alias: await aliasIn(m.id, m.number),
          ...(await conversationFacts(m.id)),
        };
      },
      ours: (t) => ['remove', [t.number, t.id, true]],
    },
  ];
  const peerOf = {
    create: PEERS.create,
    join: PEERS.join,
    send: PEERS.send,
    markRead: PEERS.markRead,
    list: PEERS.list,
    page: PEERS.page,
    get: PEERS.get,
    remove: PEERS.remove,
  };

  const nextTick = () => new Promise(setImmediate);
  const rows = [];
  for (const op of OPS) {
    const stats = Object.fromEntries(
      lanes.map((l) => [
        l,
        { wall: [], cpu: [], trips: [], wasm: [], failures: 0, firstError: null },
      ]),
    );
    let last = null; // the latest recorded ours call: { batches, target }
    const shared = op.write ? null : {};
    for (let i = 0; i < warmup + iterations; i++) {
      const order = ORDERS[i % ORDERS.length];
      const sameTarget = op.write ? null : await op.target('ours');
      for (const index of order) {
        const lane = lanes[index];
        const s = stats[lane];
        if (lane === 'bare' && op.write && !last) continue; // nothing recorded yet (first calls only)
        const t = sameTarget || (await op.target(lane));
        let trips = 0;
        let failed = null;
        let reply = null;
        let swap = null;
        if (lane === 'bare') {
          swap = new Map();
          if (op.write) {
            const a = last.target;
            for (const key of ['number', 'phone', 'id', 'code', 'last']) {
              if (
                a[key] !== undefined &&
                a[key] !== null &&
                a[key] !== 0 &&
                t[key] !== undefined &&
                t[key] !== null
              )
                swap.set(a[key], t[key]);
            }
            if (a.alias && t.alias) {
              swap.set(a.alias.toLowerCase(), t.alias.toLowerCase()); // the key (first: an alias may be its own key)
              for (const text of ['', ' joined', ' left', ' was removed'])
                swap.set(a.alias + text, t.alias + text);
            }
          }
        }
        const batches = lane === 'bare' ? (op.write ? last.batches : null) : null;
        let readBatches = null;
        if (lane === 'bare' && !op.write) {
          // reads: the recorded call of this very target (recorded now if ours has not run yet)
          if (!shared.batches) {
            recording = [];
            const [m, a] = op.ours(t);
            await core.call(m, JSON.stringify(a));
            shared.batches = recording;
            recording = null;
          }
          readBatches = shared.batches;
        }
        const cpu0 = process.cpuUsage();
        const w0 = process.hrtime.bigint();
        try {
          if (lane === 'ours') {
            const [method, args] = op.ours(t);
            recording = [];
            wasmNs = 0;
            reply = await core.callPacked(method, JSON.stringify(args));
          } else if (lane === 'bare') {
            await replay(readBatches || batches, swap);
          } else {
            peerTrips = 0;
            await peerOf[op.name](t);
          }
        } catch (e) {
          failed = String(e && e.message ? e.message : e).split('\n')[0];
        }
        const wall = Number(process.hrtime.bigint() - w0) / 1000;
        const c = process.cpuUsage(cpu0);
        if (Buffer.isBuffer(reply)) reply = msgpack.decode(reply);
        if (reply && !reply.ok) failed = `${reply.code}: ${reply.message || ''}`;
        if (lane === 'ours') {
          trips = recording.length;
          if (!failed) {
            if (showBatches && i === warmup) {
              console.error(`${op.name}: ${recording.length} round trips`);
              recording.forEach((b, k) =>
                console.error(
                  `  batch ${k + 1}: ${b.sql
                    .split(';\n')
                    .map((x) => x.replace(/\s+/g, ' '))
                    .join(' ; ')}`,
                ),
              );
            }
            if (op.after) op.after(lane, t, reply);
            if (op.write) last = { batches: recording, target: t };
            else if (!shared.batches) shared.batches = recording;
          }
          recording = null;
        } else if (lane === 'bare') {
          trips = (readBatches || batches).length;
          if (!failed && op.after) op.after(lane, t, null);
        } else {
          trips = peerTrips;
          if (!failed && op.after) op.after(lane, t, null);
        }
        if (failed) {
          s.failures++;
          if (!s.firstError) s.firstError = `${lane} ${op.name}: ${failed}`;
        }
        if (i >= warmup) {
          s.wall.push(wall);
          s.cpu.push(c.user + c.system);
          s.trips.push(trips);
          if (lane === 'ours') s.wasm.push(wasmNs / 1000);
        }
        await nextTick();
      }
      if (shared) delete shared.batches;
    }
    const row = { op: op.name };
    for (const lane of lanes) {
      const s = stats[lane];
      const wall = [...s.wall].sort((a, b) => a - b);
      const cpu = [...s.cpu].sort((a, b) => a - b);
      row[lane] = {
        samples: wall.length,
        p50: percentile(wall, 0.5),
        p99: percentile(wall, 0.99),
        max: wall[wall.length - 1],
        cpuMean: cpu.reduce((a, b) => a + b, 0) / Math.max(1, cpu.length),
        cpuP50: percentile(cpu, 0.5),
        tripsMean: s.trips.reduce((a, b) => a + b, 0) / Math.max(1, s.trips.length),
        wasmMean: s.wasm.length ? s.wasm.reduce((a, b) => a + b, 0) / s.wasm.length : null,
        failures: s.failures,
        firstError: s.firstError,
      };
      if (s.firstError) console.error(`  ${s.firstError} (${s.failures} failed)`);
    }
    rows.push(row);
    console.error(`${op.name}: done`);
  }

  const integrity = (await core.call('integrityCheck', '[]')).v;
  core.close();
  await facts.end();
  await new Promise((resolve) => barePool.end(resolve));
  await peerPool.end();
  if (serverDir)
    execFileSync('bash', [path.join(repo, 'scripts', 'mariadb.sh'), 'stop', serverDir]);

  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    server: serverVersion,
    quick,
    iterations,
    warmup,
    scale: { ...SCALE, memberships: seed.memberRows.length },
    seedSeconds,
    listSizeMedian: percentile(
      [...listSizes].sort((a, b) => a - b),
      0.5,
    ),
    wasmBytes: fs.statSync(wasmPath).size,
    integrity,
  };
  report(meta, rows);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ ...meta, rows }, null, 2));
}

function report(meta, rows) {
  console.log(
    `MySQL benchmark: ${meta.server}, Node ${meta.node}, wasm core (${(meta.wasmBytes / 1e6).toFixed(2)} MB); ` +
      `${meta.scale.numbers} numbers, ${meta.scale.conversations} conversations, ${meta.scale.memberships} memberships, ` +
      `${meta.scale.messages} messages (seeded in ${meta.seedSeconds.toFixed(1)} s); ${meta.iterations} calls per lane ` +
      `and operation after ${meta.warmup} warm-up, lanes alternated; listings of numbers in ~${meta.listSizeMedian} ` +
      `conversations; integrity ${meta.integrity}`,
  );
  const f = (v) => (Number.isFinite(v) ? v.toFixed(0) : '-').padStart(6);
  const head =
    `${'op'.padEnd(9)} | ${'ours p50'.padStart(8)} ${'p99'.padStart(6)} ${'max'.padStart(6)} | ${'bare p50'.padStart(8)} ${'p99'.padStart(6)} ` +
    `| ${'peers p50'.padStart(9)} ${'p99'.padStart(6)} | ${'trips ours/peers'.padStart(16)} | ${'CPU µs ours/bare/peers'.padStart(22)} | ${'in wasm'.padStart(7)} | failed`;
  console.log(
    'wall µs per call; CPU = Node process CPU per call (mean); in wasm = of which inside the core module (mean µs)',
  );
  console.log(head);
  console.log('-'.repeat(head.length));
  for (const r of rows) {
    const trips = `${r.ours.tripsMean.toFixed(1)} / ${r.peers.tripsMean.toFixed(1)}`;
    const cpu = `${r.ours.cpuMean.toFixed(0)} / ${r.bare.cpuMean.toFixed(0)} / ${r.peers.cpuMean.toFixed(0)}`;
    console.log(
      `${r.op.padEnd(9)} | ${f(r.ours.p50).padStart(8)} ${f(r.ours.p99)} ${f(r.ours.max)} | ${f(r.bare.p50).padStart(8)} ${f(r.bare.p99)} ` +
        `| ${f(r.peers.p50).padStart(9)} ${f(r.peers.p99)} | ${trips.padStart(16)} | ${cpu.padStart(22)} | ${f(r.ours.wasmMean).padStart(7)} | ` +
        `${r.ours.failures}/${r.bare.failures}/${r.peers.failures}`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  if (serverDir) {
    try {
      execFileSync('bash', [path.join(repo, 'scripts', 'mariadb.sh'), 'stop', serverDir]);
    } catch (x) {
      /* gone */
    }
  }
  process.exit(1);
});
