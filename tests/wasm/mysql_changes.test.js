// The change log of a server network (src/changes.rs, src/mysql/changes.rs) on a real
// MariaDB, through the wasm core as js/host.js runs it: two servers write at once and the log
// stays gapless, in commit order, one entry per change and none for a refused, rehearsed or
// read-only call; a server reads only the other's entries; pruning cuts the old end in batches
// and a reader behind the cut is told how many it missed. The e2e side (pushes and server
// events on the other server) is tests/e2e/network_test.lua.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { createCore } = require('../../js/host.js');
const { wasmPath, tmpRoot, wire, freshDatabase, mysqlUrl, adminConnection } = require('./helpers');

async function server(connection, serverId, seed) {
  const core = createCore({ wasmPath, root: tmpRoot(), seed });
  const opened = core.open({ storage: 'mysql', connection, serverId });
  assert.strictEqual(opened.ok, true, JSON.stringify(opened));
  assert.strictEqual(await core.ready, true);
  return core;
}

async function ok(core, method, args) {
  const outcome = await core.call(method, wire(args));
  const what = `${method} ${JSON.stringify(args)}: ${JSON.stringify(outcome)}`;
  assert.strictEqual(outcome.ok, true, what);
  return outcome.v;
}

test('two servers writing at once: gapless, in commit order, an entry a change', async () => {
  const database = await freshDatabase('darkchat_change_log');
  const a = await server(mysqlUrl(database), 'server-a', '61'.repeat(32));
  const b = await server(mysqlUrl(database), 'server-b', '62'.repeat(32));
  const db = await adminConnection(database);
  try {
    const [conv] = await ok(a, 'create', ['5550101', 'Busy']);
    const servers = [a, b];
    const numbers = ['5550101'];
    for (let i = 2; i <= 6; i++) {
      const number = `555010${i}`;
      await ok(servers[i % 2], 'add', [number, conv.id]);
      numbers.push(number);
    }
    // Sends from both servers, many in flight at once, and a few refusals and rehearsals.
    const calls = [];
    let refused = 0;
    for (let i = 0; i < 120; i++) {
      const core = servers[i % 2];
      calls.push(core.call('send', wire([numbers[i % numbers.length], conv.id, `m${i}`])));
      if (i % 10 === 0) {
        const outsider = core.call('send', wire(['5559999', conv.id, 'not a member']));
        calls.push(
          outsider.then((o) => {
            refused += o.ok ? 0 : 1;
            return { ok: true };
          }),
        );
        calls.push(core.call('rehearse', wire(['send', numbers[0], conv.id, 'rehearsed'])));
        calls.push(core.call('list', wire([numbers[1]])));
      }
    }
    const outcomes = await Promise.all(calls);
    assert.ok(
      outcomes.every((o) => o.ok),
      JSON.stringify(outcomes.filter((o) => !o.ok)),
    );
    assert.strictEqual(refused, 12);
    const [rows] = await db.query(
      'SELECT id, server_id, kind, conversation_id, data FROM darkchat_changes ORDER BY id',
    );
    const [[headRow]] = await db.query('SELECT last_id FROM darkchat_change_head');
    // 1 create + 5 adds + 120 sends, ids 1..126 with no gap.
    assert.strictEqual(rows.length, 126);
    const oneTo126 = Array.from({ length: 126 }, (_, i) => i + 1);
    assert.deepStrictEqual(
      rows.map((r) => Number(r.id)),
      oneTo126,
    );
    assert.strictEqual(Number(headRow.last_id), 126);
    const sends = rows
      .filter((r) => r.kind === 'messageSent')
      .map((r) => JSON.parse(r.data).message);
    assert.strictEqual(sends.length, 120);
    assert.ok(!sends.some((m) => m.content === 'rehearsed' || m.content === 'not a member'));
    // Commit order: a conversation's messages appear in the log in the order they were stored.
    const ids = sends.map((m) => m.id);
    assert.deepStrictEqual(
      ids,
      [...ids].sort((x, y) => x - y),
    );
    // Each change is logged under the server that made it.
    const [[messageRows]] = await db.query(
      "SELECT COUNT(*) AS n FROM darkchat_messages WHERE kind = 'text'",
    );
    assert.strictEqual(Number(messageRows.n), 120);
    const byB = rows.filter((r) => r.server_id === 'server-b' && r.kind === 'messageSent');
    assert.strictEqual(byB.length, 60);

    // B reads from the start: only A's entries, with the conversation's members as they are now.
    const [batch] = await ok(b, 'changes', ['server-b', 0, 1000]);
    assert.strictEqual(batch.position, 126);
    assert.strictEqual(batch.missed, 0);
    assert.strictEqual(batch.more, false);
    assert.ok(batch.entries.every((e) => e.server === 'server-a'));
    assert.strictEqual(batch.entries.length, rows.filter((r) => r.server_id === 'server-a').length);
    assert.deepStrictEqual(
      batch.conversations.map((c) => c.id),
      [conv.id],
    );
    assert.deepStrictEqual(
      batch.conversations[0].members.map((m) => m.number),
      numbers,
    );
    // A page at a time: the position moves to the last entry read (own ones included).
    const [page] = await ok(a, 'changes', ['server-a', 0, 10]);
    assert.strictEqual(page.position, 10);
    assert.strictEqual(page.more, true);
    // The position given is stored; without one, the stored one is used.
    const [[stored]] = await db.query(
      "SELECT position FROM darkchat_servers WHERE server_id = 'server-a'",
    );
    assert.strictEqual(Number(stored.position), 0);
    const [again] = await ok(a, 'changes', ['server-a', null, 5]);
    assert.strictEqual(again.position, 5);

    // Pruning: in batches of at most `batch`, from the old end, down to `keep`.
    const [deleted] = await ok(a, 'pruneChanges', [100, 3600, 7]);
    assert.strictEqual(deleted, 7);
    let left = 126 - 7;
    while (left > 100) {
      const [n] = await ok(b, 'pruneChanges', [100, 3600, 7]);
      assert.ok(n > 0 && n <= 7);
      left -= n;
    }
    const [[range]] = await db.query(
      'SELECT MIN(id) AS lo, MAX(id) AS hi, COUNT(*) AS n FROM darkchat_changes',
    );
    assert.deepStrictEqual([Number(range.lo), Number(range.hi), Number(range.n)], [27, 126, 100]);
    assert.strictEqual((await ok(a, 'pruneChanges', [100, 3600, 7]))[0], 0);
    // A reader behind the cut is told what it missed, and carries on from the oldest kept.
    const [behind] = await ok(b, 'changes', ['server-b', 10, 1000]);
    assert.strictEqual(behind.missed, 16);
    assert.strictEqual(behind.position, 126);
    // By age: entries older than the bound go, even when fewer than `keep` are left.
    await db.query('UPDATE darkchat_changes SET created_at = created_at - 7200 WHERE id <= 60');
    const [byAge] = await ok(a, 'pruneChanges', [1000, 3600, 1000]);
    assert.strictEqual(byAge, 60 - 26);
    // An empty log behind the reader: everything up to the head was missed.
    await db.query('DELETE FROM darkchat_changes');
    const [empty] = await ok(b, 'changes', ['server-b', 100, 10]);
    assert.deepStrictEqual([empty.missed, empty.position, empty.entries.length], [26, 126, 0]);
  } finally {
    a.close();
    b.close();
    await db.end();
  }
});

test('a server never seen starts at the log end; bad ids and arguments are refused', async () => {
  const database = await freshDatabase('darkchat_change_log_new');
  const a = await server(mysqlUrl(database), 'server-a', '63'.repeat(32));
  try {
    await ok(a, 'create', ['5550101', 'Before']);
    const [first] = await ok(a, 'changes', ['newcomer']);
    assert.deepStrictEqual([first.position, first.missed, first.entries.length], [1, 0, 0]);
    const bad = [['bad id!'], [''], ['x'.repeat(65)], ['ok', -1], ['ok', 0, 0], ['ok', 0, 1001]];
    for (const args of bad) {
      const outcome = await a.call('changes', wire(args));
      assert.strictEqual(outcome.code, 'invalid_argument', JSON.stringify(args));
    }
    const outcome = await a.call('pruneChanges', wire([0]));
    assert.strictEqual(outcome.code, 'invalid_argument');
    // A core opened with a bad server id does not open.
    const refused = createCore({ wasmPath, root: tmpRoot(), seed: '64'.repeat(32) });
    const connection = mysqlUrl(database);
    const opened = refused.open({ storage: 'mysql', connection, serverId: 'no spaces' });
    assert.strictEqual(opened.ok, false);
    // A core opened without one logs nothing.
    const quiet = createCore({ wasmPath, root: tmpRoot(), seed: '65'.repeat(32) });
    assert.strictEqual(quiet.open({ storage: 'mysql', connection: mysqlUrl(database) }).ok, true);
    assert.strictEqual(await quiet.ready, true);
    await ok(quiet, 'create', ['5550102', 'Unlogged']);
    const [after] = await ok(a, 'changes', ['newcomer', 1]);
    assert.deepStrictEqual([after.position, after.entries.length], [1, 0]);
    quiet.close();
  } finally {
    a.close();
  }
});
