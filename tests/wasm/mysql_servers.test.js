// Several servers on one MySQL/MariaDB database: two wasm cores (two "servers", each with its
// own pool) run interleaved joins, leaves, kicks, owner hand-offs, sends, code changes and
// creates with the same chosen codes, many calls in flight at once; then every rule is
// checked in the database itself. Also the faults a shared database brings: a database down at
// start, connections cut in the middle of calls, a lock held past the deadline, and two servers
// taking the same join code at the same moment.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { createCore } = require('../../js/host.js');
const {
  wasmPath,
  tmpRoot,
  wire,
  freshDatabase,
  mysqlUrl,
  adminConnection,
  relay,
} = require('./helpers');

const LIMITS = { maxMembers: 6, maxConversationsPerNumber: 5 };

/** A server's core on `connection`, ready. */
async function server(connection, seed, options = {}) {
  const core = createCore({ wasmPath, root: tmpRoot(), seed, log: options.log });
  const opened = core.open({
    storage: 'mysql',
    connection,
    limits: LIMITS,
    deadlineMs: options.deadlineMs,
  });
  assert.strictEqual(opened.ok, true, JSON.stringify(opened));
  if (options.wait !== false) assert.strictEqual(await core.ready, true);
  return core;
}

/** A deterministic generator (xorshift), so a failing run can be repeated. */
function generator(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** Every rule that must hold in the database, whatever the interleaving was. */
async function checkInvariants(db, context) {
  const [convs] = await db.query('SELECT id, owner_id, join_code FROM darkchat_conversations');
  const [members] = await db.query('SELECT conversation_id, phone_id FROM darkchat_members');
  const byConv = new Map();
  const byPhone = new Map();
  const seen = new Set();
  for (const m of members) {
    const key = `${m.conversation_id}/${m.phone_id}`;
    assert.ok(!seen.has(key), `duplicate member ${key} ${context}`);
    seen.add(key);
    if (!byConv.has(m.conversation_id)) byConv.set(m.conversation_id, new Set());
    byConv.get(m.conversation_id).add(m.phone_id);
    byPhone.set(m.phone_id, (byPhone.get(m.phone_id) || 0) + 1);
  }
  const codes = new Set();
  for (const c of convs) {
    const set = byConv.get(c.id);
    assert.ok(set && set.size > 0, `conversation ${c.id} has no member ${context}`);
    assert.ok(set.has(c.owner_id), `owner of ${c.id} is not a member ${context}`);
    assert.ok(
      set.size <= LIMITS.maxMembers,
      `conversation ${c.id} has ${set.size} members ${context}`,
    );
    assert.strictEqual(c.join_code, c.join_code.toUpperCase(), `code of ${c.id} ${context}`);
    assert.ok(!codes.has(c.join_code), `code ${c.join_code} twice ${context}`);
    codes.add(c.join_code);
  }
  for (const [conv] of byConv)
    assert.ok(
      convs.some((c) => c.id === conv),
      `members outlived conversation ${conv} ${context}`,
    );
  for (const [phone, n] of byPhone) {
    assert.ok(
      n <= LIMITS.maxConversationsPerNumber,
      `phone ${phone} is in ${n} conversations ${context}`,
    );
  }
  const [orphans] = await db.query(
    'SELECT COUNT(*) AS n FROM darkchat_messages m LEFT JOIN darkchat_conversations c ON c.id = m.conversation_id WHERE c.id IS NULL',
  );
  assert.strictEqual(orphans[0].n, 0, `messages outlived their conversation ${context}`);
  return convs.length;
}

test('two servers on one database: interleaved changes keep every rule, and no acknowledged write is lost', async () => {
  const database = await freshDatabase('darkchat_two_servers');
  const servers = [
    await server(mysqlUrl(database), '11'.repeat(32)),
    await server(mysqlUrl(database), '22'.repeat(32)),
  ];
  const db = await adminConnection(database);
  const pick = generator(20261205);
  const numbers = Array.from({ length: 24 }, (_, i) => String(5550100 + i));
  const createdIds = [];
  const sent = []; // acknowledged messages: { conversationId, id, content }
  const deleted = new Set();
  const counts = {};
  const call = async (method, args) => {
    const core = servers[pick(2)];
    const outcome = await core.call(method, wire(args));
    const key = `${method} ${outcome.ok ? 'ok' : outcome.code}`;
    counts[key] = (counts[key] || 0) + 1;
    assert.notStrictEqual(
      outcome.code,
      'storage_error',
      `${method} ${JSON.stringify(args)}: ${JSON.stringify(outcome)}`,
    );
    return outcome;
  };
  try {
    for (let round = 0; round < 40; round++) {
      // This round's picture of the database; by the time each call runs, the other calls of
      // the round (on either server) have changed it: that is the race.
      const [rows] = await db.query(
        `SELECT c.id, c.join_code, o.number AS owner, GROUP_CONCAT(p.number) AS members
           FROM darkchat_conversations c JOIN darkchat_phones o ON o.id = c.owner_id
           JOIN darkchat_members m ON m.conversation_id = c.id JOIN darkchat_phones p ON p.id = m.phone_id
          GROUP BY c.id`,
      );
      const convs = rows.map((r) => ({
        id: r.id,
        code: r.join_code,
        owner: r.owner,
        members: r.members.split(','),
      }));
      const someConv = () =>
        convs.length
          ? convs[pick(convs.length)]
          : { id: 1, code: 'NONE', owner: numbers[0], members: [numbers[0]] };
      const someNumber = () => numbers[pick(numbers.length)];
      const memberOf = (c) => c.members[pick(c.members.length)];
      const calls = [];
      for (let i = 0; i < 24; i++) {
        const c = someConv();
        switch (pick(9)) {
          case 0:
            // The same chosen code from several calls at once: one wins.
            calls.push(
              call('create', [someNumber(), `Crew ${round}`, `RACE${round % 5}X`]).then(
                (o) => o.ok && createdIds.push(o.v[0].id),
              ),
            );
            break;
          case 1:
            calls.push(
              call('create', [someNumber(), `Talk ${round}`]).then(
                (o) => o.ok && createdIds.push(o.v[0].id),
              ),
            );
            break;
          case 2:
            calls.push(call('join', [someNumber(), c.code.toLowerCase()]));
            break;
          case 3:
            calls.push(call('add', [someNumber(), c.id]));
            break;
          case 4:
            calls.push(
              call('remove', [memberOf(c), c.id, true]).then(
                (o) => o.ok && o.v[0].deleted && deleted.add(o.v[0].conversationId),
              ),
            );
            break;
          case 5: {
            const content = `m${round}.${i}`;
            calls.push(
              call('send', [memberOf(c), c.id, content]).then(
                (o) => o.ok && sent.push({ conversationId: c.id, id: o.v[0].id, content }),
              ),
            );
            break;
          }
          case 6:
            calls.push(call('transfer', [c.owner, c.id, memberOf(c)]));
            break;
          case 7:
            calls.push(call('regenerateCode', [c.owner, c.id]));
            break;
          default:
            calls.push(
              call('kick', [c.owner, c.id, memberOf(c)]).then(
                (o) => o.ok && o.v[0].deleted && deleted.add(o.v[0].conversationId),
              ),
            );
        }
      }
      await Promise.all(calls);
      await checkInvariants(db, `after round ${round}`);
    }
    // Ids are never handed out twice.
    assert.strictEqual(
      new Set(createdIds).size,
      createdIds.length,
      'a conversation id was given twice',
    );
    // Every acknowledged message is there, unless its conversation was deleted since.
    const [messages] = await db.query(
      "SELECT id, conversation_id, content FROM darkchat_messages WHERE kind = 'text'",
    );
    const stored = new Map(messages.map((m) => [m.id, m]));
    for (const m of sent) {
      if (deleted.has(m.conversationId)) continue;
      const row = stored.get(m.id);
      if (!row) {
        const [gone] = await db.query('SELECT 1 FROM darkchat_conversations WHERE id = ?', [
          m.conversationId,
        ]);
        assert.strictEqual(gone.length, 0, `acknowledged message ${m.id} lost`);
        continue;
      }
      assert.strictEqual(row.content, m.content);
      assert.strictEqual(row.conversation_id, m.conversationId);
    }
    // The mix really raced: refusals and successes of each kind happened.
    for (const kind of [
      'create ok',
      'join ok',
      'send ok',
      'remove ok',
      'kick ok',
      'transfer ok',
      'regenerateCode ok',
      'create join_code_taken',
    ]) {
      assert.ok(counts[kind] > 0, `no "${kind}" in ${JSON.stringify(counts)}`);
    }
    test.diagnostic?.(JSON.stringify(counts));
    console.log(`# outcomes: ${JSON.stringify(counts)}`);
  } finally {
    servers.forEach((s) => s.close());
    await db.end();
  }
});

test('two servers creating the same chosen code at the same moment: exactly one gets it', async () => {
  const database = await freshDatabase('darkchat_code_race');
  const a = await server(mysqlUrl(database), '33'.repeat(32));
  const b = await server(mysqlUrl(database), '44'.repeat(32));
  try {
    for (let i = 0; i < 20; i++) {
      const code = `SAME${i}`;
      const outcomes = await Promise.all([
        a.call('create', wire([`555020${i % 10}`, 'A', code])),
        b.call('create', wire([`555030${i % 10}`, 'B', code.toLowerCase()])),
      ]);
      const won = outcomes.filter((o) => o.ok);
      assert.strictEqual(won.length, 1, JSON.stringify(outcomes));
      assert.strictEqual(
        outcomes.find((o) => !o.ok).code,
        'join_code_taken',
        JSON.stringify(outcomes),
      );
      assert.strictEqual(won[0].v[0].joinCode, code);
    }
  } finally {
    a.close();
    b.close();
  }
});

test('a database down at start: one line, storage_error meanwhile, ready when it comes back', async () => {
  const database = await freshDatabase('darkchat_down_at_start');
  const link = await relay();
  link.cut();
  const lines = [];
  const core = await server(link.url(database), '55'.repeat(32), {
    wait: false,
    log: (l) => lines.push(l),
    deadlineMs: 1000,
  });
  try {
    const refused = await core.call('create', wire(['5550101', 'Early']));
    assert.strictEqual(refused.ok, false);
    assert.strictEqual(refused.code, 'storage_error');
    // Give it time to try and fail at least once, then bring the database back.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const downLines = lines.filter((l) => l.includes('unavailable'));
    assert.strictEqual(downLines.length, 1, JSON.stringify(lines));
    assert.match(downLines[0], /darkchat_down_at_start/);
    link.restore();
    assert.strictEqual(await core.ready, true);
    // The schema version is the number of MySQL migration files, each applied once.
    const version = fs
      .readdirSync(path.join(__dirname, '..', '..', 'migrations', 'mysql'))
      .filter((f) => f.endsWith('.sql')).length;
    assert.ok(
      lines.some((l) => l.includes(`ready (schema version ${version})`)),
      JSON.stringify(lines),
    );
    const created = await core.call('create', wire(['5550101', 'Later']));
    assert.strictEqual(created.ok, true, JSON.stringify(created));
  } finally {
    core.close();
    await link.close();
  }
});

test('connections cut in the middle of calls: those calls fail, nothing acknowledged is lost, and it recovers', async () => {
  const database = await freshDatabase('darkchat_cut');
  const link = await relay();
  const core = await server(link.url(database), '66'.repeat(32), { deadlineMs: 2000 });
  const db = await adminConnection(database);
  try {
    const conv = (await core.call('create', wire(['5550101', 'Cut']))).v[0];
    const acknowledged = [];
    for (let round = 0; round < 5; round++) {
      const calls = Array.from({ length: 30 }, (_, i) =>
        core.call('send', wire(['5550101', conv.id, `r${round}.${i}`])).then((o) => {
          if (o.ok) acknowledged.push(o.v[0].id);
          else assert.strictEqual(o.code, 'storage_error', JSON.stringify(o));
          return o;
        }),
      );
      setTimeout(() => {
        link.cut();
        link.restore();
      }, 2 + round);
      await Promise.all(calls);
    }
    const [rows] = await db.query("SELECT id FROM darkchat_messages WHERE kind = 'text'");
    const stored = new Set(rows.map((r) => r.id));
    // The cuts landed in the middle of calls (some failed) and not all calls failed.
    assert.ok(
      acknowledged.length > 0 && acknowledged.length < 150,
      `${acknowledged.length} of 150 acknowledged`,
    );
    console.log(`# ${acknowledged.length} of 150 sends acknowledged around the cuts`);
    for (const id of acknowledged) assert.ok(stored.has(id), `acknowledged message ${id} lost`);
    const after = await core.call('send', wire(['5550101', conv.id, 'after']));
    assert.strictEqual(after.ok, true, JSON.stringify(after));
    await checkInvariants(db, 'after cuts');
  } finally {
    core.close();
    await db.end();
    await link.close();
  }
});

test('a lock held past the deadline: storage_error within the deadline, and the next call works', async () => {
  const database = await freshDatabase('darkchat_lock_wait');
  const core = await server(mysqlUrl(database), '77'.repeat(32), { deadlineMs: 1500 });
  const holder = await adminConnection(database);
  try {
    const conv = (await core.call('create', wire(['5550101', 'Held']))).v[0];
    await holder.query('START TRANSACTION');
    await holder.query('SELECT id FROM darkchat_conversations WHERE id = ? FOR UPDATE', [conv.id]);
    const started = Date.now();
    const refused = await core.call('send', wire(['5550101', conv.id, 'blocked']));
    const waited = Date.now() - started;
    assert.strictEqual(refused.ok, false, JSON.stringify(refused));
    assert.strictEqual(refused.code, 'storage_error');
    assert.ok(waited < 3000, `answered after ${waited} ms`);
    await holder.query('ROLLBACK');
    const sent = await core.call('send', wire(['5550101', conv.id, 'free']));
    assert.strictEqual(sent.ok, true, JSON.stringify(sent));
    const page = await core.call('messages', wire(['5550101', conv.id]));
    assert.deepStrictEqual(
      page.v[0].map((m) => m.content).filter((c) => c === 'blocked' || c === 'free'),
      ['free'],
    );
  } finally {
    core.close();
    await holder.end();
  }
});
