// What travels to MySQL/MariaDB together: a member's act is checked against staff bans beside
// the act's own first statements (one batch, one round trip), not in a read of its own before
// them; and an act that the check refuses keeps nothing of what it did in that batch. The
// batches are recorded by a wrapper around mysql2 given to the core (`createCore({ mysql2 })`).
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { createCore } = require('../../js/host.js');
const {
  repo,
  wasmPath,
  tmpRoot,
  wire,
  freshDatabase,
  mysqlUrl,
  adminConnection,
} = require('./helpers');

const STAFF_BANS = /darkchat_staff_bans/;

/** mysql2, with every query sent on a pooled connection written down in `batches`. */
function recordingMysql2(batches) {
  const real = require(path.join(repo, 'node_modules', 'mysql2'));
  return {
    ...real,
    createPool(options) {
      const pool = real.createPool(options);
      const getConnection = pool.getConnection.bind(pool);
      pool.getConnection = (callback) =>
        getConnection((err, conn) => {
          if (conn && !conn.recorded) {
            const query = conn.query.bind(conn);
            conn.query = (what, ...rest) => {
              batches.push(typeof what === 'string' ? what : what.sql);
              return query(what, ...rest);
            };
            conn.recorded = true;
          }
          callback(err, conn);
        });
      return pool;
    },
  };
}

test("a member's act checks staff bans in its own first batch, and a refused one keeps nothing", async () => {
  const database = await freshDatabase('darkchat_batches');
  const batches = [];
  const core = createCore({
    wasmPath,
    root: tmpRoot(),
    seed: '07'.repeat(32),
    mysql2: recordingMysql2(batches),
  });
  assert.strictEqual(core.open({ storage: 'mysql', connection: mysqlUrl(database) }).ok, true);
  assert.strictEqual(await core.ready, true);
  const call = async (method, ...args) => core.call(method, wire(args));
  const db = await adminConnection(database);
  try {
    const created = await call('create', '5550101', 'Crew');
    assert.strictEqual(created.ok, true, JSON.stringify(created));
    const id = created.v[0].id;
    assert.strictEqual((await call('add', '5550102', id)).ok, true);

    // Each act: exactly one batch names the staff bans, and it also carries the act's own
    // first statements (the write's transaction, or the read's first query).
    for (const [method, args, own] of [
      ['send', ['5550102', id, 'hello'], /START TRANSACTION/],
      ['markRead', ['5550102', id, 1], /START TRANSACTION/],
      ['list', ['5550102'], /darkchat_conversations|darkchat_members/],
      ['messages', ['5550102', id, null, 10], /darkchat_messages|darkchat_members/],
    ]) {
      batches.length = 0;
      const outcome = await call(method, ...args);
      assert.strictEqual(outcome.ok, true, `${method}: ${JSON.stringify(outcome)}`);
      const checking = batches.filter((sql) => STAFF_BANS.test(sql));
      assert.strictEqual(checking.length, 1, `${method}: ${JSON.stringify(batches)}`);
      assert.match(checking[0], own, `${method}: the check rides along the act's first batch`);
    }

    // Banned: the send is refused and its insert, made beside the check, is rolled back.
    assert.strictEqual((await call('staffBan', '5550102', null, 'spam')).ok, true);
    const [[before]] = await db.query('SELECT COUNT(*) AS n FROM darkchat_messages');
    const refused = await call('send', '5550102', id, 'after the ban');
    assert.deepStrictEqual([refused.ok, refused.code], [false, 'forbidden']);
    const [[after]] = await db.query('SELECT COUNT(*) AS n FROM darkchat_messages');
    assert.strictEqual(after.n, before.n, 'nothing of the refused send is kept');
    // A call refused before it reaches the database still answers for the ban first.
    const invalid = await call('send', '5550102', id, '');
    assert.deepStrictEqual([invalid.ok, invalid.code], [false, 'forbidden']);
  } finally {
    await db.end();
    core.close();
  }
});
