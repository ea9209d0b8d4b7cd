// A MySQL migration's statement that rebuilds a table (an index on millions of messages), and a
// start's wait for the schema lock while another server migrates, may run far longer than a
// call's deadline: each is given its own, said when it is slow, and the server is ready when it
// ends, with no outage line and no retry into the schema lock. The slow statement is stood in
// for by holding back the query that carries it (a wrapper around mysql2 given to the core);
// the other server, by a connection holding the lock.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { createCore } = require('../../js/host.js');
const {
  interceptedMysql2,
  wasmPath,
  tmpRoot,
  wire,
  freshDatabase,
  mysqlUrl,
  adminConnection,
} = require('./helpers');

/** mysql2, with a query whose SQL matches `slow` held back `ms` (and noted in `sent`). */
function slowMysql2(slow, ms, sent) {
  return interceptedMysql2((sql, send) => {
    if (!slow.test(sql)) return send();
    sent.push(sql);
    setTimeout(send, ms);
  });
}

test('a migration step slower than the call deadline is given its time, said, and the server is ready after it', async () => {
  const database = await freshDatabase('darkchat_slow_migration');
  const lines = [];
  const sent = [];
  const core = createCore({
    wasmPath,
    root: tmpRoot(),
    seed: '08'.repeat(32),
    log: (line) => lines.push(line),
    mysql2: slowMysql2(/ADD KEY messages_expiry/, 2600, sent),
  });
  const opened = core.open({ storage: 'mysql', connection: mysqlUrl(database), deadlineMs: 1000 });
  assert.strictEqual(opened.ok, true);
  try {
    assert.strictEqual(await core.ready, true);
    assert.strictEqual(sent.length, 1, 'the slow statement was sent once');
    assert.deepStrictEqual(
      lines.filter((l) => /unavailable|reachable again/.test(l)),
      [],
      JSON.stringify(lines),
    );
    const notice = lines.findIndex((l) =>
      /migrating MySQL database .*darkchat_slow_migration/.test(l),
    );
    assert.ok(notice >= 0, JSON.stringify(lines));
    assert.match(lines[notice], /ALTER TABLE darkchat_messages ADD KEY messages_expiry/);
    assert.match(lines[notice], /taking a while/);
    assert.match(lines[notice + 1], /^migrating: done in \d+\.\d s$/);
    assert.match(lines[notice + 2], /ready \(schema version \d+\)/);
    const created = await core.call('create', wire(['5550101', 'After']));
    assert.strictEqual(created.ok, true, JSON.stringify(created));
  } finally {
    core.close();
  }
});

test('a migration whose statements are quick says nothing about them', async () => {
  const database = await freshDatabase('darkchat_quick_migration');
  const lines = [];
  const core = createCore({ wasmPath, root: tmpRoot(), log: (line) => lines.push(line) });
  assert.strictEqual(core.open({ storage: 'mysql', connection: mysqlUrl(database) }).ok, true);
  try {
    assert.strictEqual(await core.ready, true);
    assert.deepStrictEqual(
      lines.filter((l) => l.startsWith('migrating')),
      [],
      JSON.stringify(lines),
    );
  } finally {
    core.close();
  }
});

test('a server starting while another migrates waits for the schema lock, says so, and is ready after it', async () => {
  const database = await freshDatabase('darkchat_lock_wait');
  const other = await adminConnection(database);
  const lines = [];
  let core = null;
  try {
    // Named locks are the server's, not the database's: held briefly, so that other tests'
    // migrations on the same server only wait.
    await other.query("SELECT GET_LOCK('darkchat_schema', 0)");
    core = createCore({ wasmPath, root: tmpRoot(), log: (line) => lines.push(line) });
    const opened = core.open({
      storage: 'mysql',
      connection: mysqlUrl(database),
      deadlineMs: 1000,
    });
    assert.strictEqual(opened.ok, true);
    await new Promise((resolve) => setTimeout(resolve, 2600));
    const early = await core.call('create', wire(['5550101', 'Early']));
    assert.strictEqual(early.code, 'storage_error', JSON.stringify(early));
    const notice = lines.findIndex((l) => /another server is migrating it/.test(l));
    assert.ok(notice >= 0, JSON.stringify(lines));
    assert.match(lines[notice], /darkchat_lock_wait.*waiting up to 60 s/);
    await other.query("SELECT RELEASE_LOCK('darkchat_schema')");
    assert.strictEqual(await core.ready, true);
    assert.deepStrictEqual(
      lines.filter((l) => /unavailable|reachable again/.test(l)),
      [],
      JSON.stringify(lines),
    );
    assert.match(lines[notice + 1], /^the schema lock was free after \d+\.\d s$/);
    const created = await core.call('create', wire(['5550101', 'After']));
    assert.strictEqual(created.ok, true, JSON.stringify(created));
  } finally {
    if (core) core.close();
    await other.end();
  }
});
