// What travels to MySQL/MariaDB together: a member's act is checked against staff bans beside
// the act's own first statements (one batch, one round trip), not in a read of its own before
// them; and an act that the check refuses keeps nothing of what it did in that batch. The
// batches are recorded by a wrapper around mysql2 given to the core (`createCore({ mysql2 })`).
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

const STAFF_BANS = /darkchat_staff_bans/;

/** mysql2, with every query sent on a pooled connection written down in `batches`. */
function recordingMysql2(batches) {
  return interceptedMysql2((sql, send) => {
    batches.push(sql);
    send();
  });
}

test("a member's act checks staff bans in its own first batch, and a refused one keeps nothing", async () => {
  const batches = [];
  const { core, call, db } = await recordedCore('darkchat_batches', batches);
  try {
    const created = await call('create', '5550101', 'Crew');
    assert.strictEqual(created.ok, true, JSON.stringify(created));
    const id = created.v[0].id;
    assert.strictEqual((await call('add', '5550102', id)).ok, true);

    // Each act: exactly one batch names the staff bans, and it also carries the act's own
    // first statements (the write's transaction, or the read's first query).
    for (const [method, args, own] of [
      ['send', ['5550102', id, 'hello'], /START TRANSACTION/],
      ['markRead', ['5550102', id, 1], /UPDATE darkchat_members/],
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

/**
 * A core on a fresh database whose every batch is written down in `batches`; `query` is added to
 * the connection string, `clock` and `limits` are the core's.
 */
async function recordedCore(name, batches, { query = '', clock, limits } = {}) {
  const database = await freshDatabase(name);
  const core = createCore({
    wasmPath,
    root: tmpRoot(),
    seed: '07'.repeat(32),
    clock,
    mysql2: recordingMysql2(batches),
  });
  const opened = core.open({ storage: 'mysql', connection: mysqlUrl(database) + query, limits });
  assert.strictEqual(opened.ok, true, JSON.stringify(opened));
  assert.strictEqual(await core.ready, true);
  const call = async (method, ...args) => core.call(method, wire(args));
  return { core, call, db: await adminConnection(database) };
}

test('markRead is one round trip, one statement: a guarded UPDATE decides and writes, no transaction; a refusal reads its reason after it', async () => {
  const batches = [];
  const { core, call, db } = await recordedCore('darkchat_batches_read', batches);
  const position = async () => {
    const [[row]] = await db.query(
      'SELECT m.last_read_message_id AS n FROM darkchat_members m ' +
        "JOIN darkchat_phones p ON p.id = m.phone_id WHERE p.number = '5550102'",
    );
    return Number(row.n);
  };
  try {
    const id = (await call('create', '5550101', 'Crew')).v[0].id;
    assert.strictEqual((await call('add', '5550102', id)).ok, true);
    for (const text of ['one', 'two'])
      assert.strictEqual((await call('send', '5550101', id, text)).ok, true);
    const newest = (await call('send', '5550101', id, 'three')).v[0].id;

    // Allowed: the UPDATE alone, no transaction around it. Refused: the UPDATE, then one
    // SELECT of the facts that explain it.
    const outcomes = [
      [['5550102', id, newest - 1], null],
      [['5550102', id], null],
      [['5550102', id], null], // already there: the statement still matched its row
      [['5550109', id], 'not_member'],
      [['5550102', id + 1], 'conversation_not_found'],
    ];
    for (const [args, code] of outcomes) {
      batches.length = 0;
      const outcome = await call('markRead', ...args);
      assert.deepStrictEqual(
        [outcome.ok, outcome.code],
        code ? [false, code] : [true, undefined],
        `${JSON.stringify(args)}: ${JSON.stringify(outcome)}`,
      );
      const sent = batches.map((batch) => batch.split(';\n').map((sql) => sql.split(' ')[0]));
      assert.deepStrictEqual(
        sent,
        code ? [['UPDATE'], ['SELECT']] : [['UPDATE']],
        `${JSON.stringify(args)}: ${JSON.stringify(batches)}`,
      );
      assert.doesNotMatch(batches[0], /START TRANSACTION|\bCOMMIT\b/);
      assert.match(batches[0], /UPDATE darkchat_members[^;]*darkchat_staff_bans/);
    }
    assert.strictEqual(await position(), newest);

    // Refused by a staff ban: the UPDATE, then its reason; the position stays where it was.
    const unread = (await call('send', '5550101', id, 'four')).v[0].id;
    assert.strictEqual((await call('staffBan', '5550102', null, 'spam')).ok, true);
    batches.length = 0;
    const refused = await call('markRead', '5550102', id);
    assert.deepStrictEqual([refused.ok, refused.code], [false, 'forbidden']);
    assert.strictEqual(batches.length, 2, JSON.stringify(batches));
    assert.strictEqual(await position(), newest, 'the refused markRead wrote nothing');
    assert.strictEqual((await call('staffUnban', '5550102')).ok, true);
    assert.strictEqual((await call('markRead', '5550102', id)).ok, true);
    assert.strictEqual(await position(), unread);
  } finally {
    await db.end();
    core.close();
  }
});

test('markRead of a position already there answers ok even when the connection string asks mysql2 not to count found rows', async () => {
  const batches = [];
  const { core, call, db } = await recordedCore('darkchat_batches_found', batches, {
    query: '?flags=-FOUND_ROWS',
  });
  try {
    const id = (await call('create', '5550101', 'Crew')).v[0].id;
    assert.strictEqual((await call('add', '5550102', id)).ok, true);
    assert.strictEqual((await call('markRead', '5550102', id)).ok, true);
    batches.length = 0;
    const again = await call('markRead', '5550102', id);
    assert.strictEqual(again.ok, true, JSON.stringify(again));
    assert.strictEqual(batches.length, 1, JSON.stringify(batches));
  } finally {
    await db.end();
    core.close();
  }
});

test("the conversation view is one round trip, read or unread, the member's state read with the conversation", async () => {
  const batches = [];
  const { core, call, db } = await recordedCore('darkchat_batches_view', batches);
  try {
    const id = (await call('create', '5550101', 'Crew')).v[0].id;
    assert.strictEqual((await call('add', '5550102', id)).ok, true);
    assert.strictEqual((await call('markRead', '5550102', id)).ok, true);
    assert.strictEqual((await call('send', '5550101', id, 'one')).ok, true);
    for (const [number, expect] of [
      ['5550102', { ok: true, unreadCount: 1 }],
      ['5550101', { ok: true, unreadCount: 0 }],
      ['5550109', { ok: false, code: 'not_member' }],
    ]) {
      batches.length = 0;
      const outcome = await call('conversation', number, id);
      assert.strictEqual(outcome.ok, expect.ok, JSON.stringify(outcome));
      if (expect.ok) assert.strictEqual(outcome.v[0].unreadCount, expect.unreadCount);
      else assert.strictEqual(outcome.code, expect.code);
      assert.strictEqual(batches.length, 1, `${number}: ${JSON.stringify(batches)}`);
      assert.match(batches[0], /darkchat_staff_bans/);
    }
    batches.length = 0;
    const missing = await call('conversation', '5550102', id + 1);
    assert.strictEqual(missing.code, 'conversation_not_found');
    assert.strictEqual(batches.length, 1, JSON.stringify(batches));
  } finally {
    await db.end();
    core.close();
  }
});

/** The SQL of each statement of `batch` (one multi-statement query). */
const statements = (batch) => batch.split(';\n');

test("send, join, leave and create read a member's alias with the member (a reply the message it answers beside it): 3, 5, 3 and 4 round trips, no statement setting the isolation level", async () => {
  const batches = [];
  const { core, call, db } = await recordedCore('darkchat_batches_trips', batches);
  const trips = async (method, ...args) => {
    batches.length = 0;
    const outcome = await call(method, ...args);
    assert.strictEqual(outcome.ok, true, `${method}: ${JSON.stringify(outcome)}`);
    for (const batch of batches) assert.doesNotMatch(batch, /ISOLATION/, `${method}: ${batch}`);
    return { outcome, count: batches.length, sent: [...batches] };
  };
  try {
    const created = await trips('create', '5550101', 'Crew');
    // A number never seen (its phone row inserted in a round trip of its own); the generated
    // code looked up in the first batch, beside the phone and its memberships; the view a
    // create answers with read in the batch of the COMMIT, as the conversation view reads it.
    assert.strictEqual(created.count, 4, JSON.stringify(created.sent));
    assert.match(created.sent[0], /FROM darkchat_conversations WHERE join_code = \?/);
    const id = created.outcome.v[0].id;
    const code = created.outcome.v[0].joinCode;
    // A number never seen: its phone row is inserted (one round trip of its own); the alias
    // the joiner gets is looked up beside the checks of the join.
    const joined = await trips('join', '5550102', code);
    assert.strictEqual(joined.count, 5, JSON.stringify(joined.sent));
    const alias = joined.outcome.v[0].alias;
    assert.ok(alias, JSON.stringify(joined.outcome));
    const sent = await trips('send', '5550102', id, 'hello');
    assert.strictEqual(sent.count, 3, JSON.stringify(sent.sent));
    assert.match(sent.sent[0], /FOR UPDATE;\nSELECT m\.phone_id, m\.alias FROM/);
    assert.strictEqual(sent.outcome.v[0].senderAlias, alias, JSON.stringify(sent.outcome));
    // A reply reads the message it answers beside the member, not in a round trip after it.
    const replied = await trips('send', '5550101', id, 'hi', sent.outcome.v[0].id);
    assert.strictEqual(replied.count, 3, JSON.stringify(replied.sent));
    assert.match(replied.sent[0], /FROM darkchat_messages m LEFT JOIN darkchat_phones p/);
    assert.strictEqual(replied.outcome.v[0].replyTo.id, sent.outcome.v[0].id);
    const left = await trips('remove', '5550102', id, true);
    // The members who stay (for the owner hand-off and the answer) are read beside the lock,
    // before the delete, not in a round trip of their own after it.
    assert.strictEqual(left.count, 3, JSON.stringify(left.sent));
    assert.match(
      left.sent[0],
      /FOR UPDATE;\n.*\n?SELECT m\.phone_id, p\.number, m\.alias, m\.is_moderator/,
    );
    const [[note]] = await db.query(
      "SELECT content, sender_alias FROM darkchat_messages WHERE event = 'left'",
    );
    assert.deepStrictEqual([note.content, note.sender_alias], [`${alias} left`, alias]);
  } finally {
    await db.end();
    core.close();
  }
});

test('a write sees what the holder of its conversation committed before it got the lock: connections are READ COMMITTED for the session', async () => {
  const batches = [];
  const { core, call, db } = await recordedCore('darkchat_batches_isolation', batches);
  const holder = await adminConnection('darkchat_batches_isolation');
  try {
    const id = (await call('create', '5550101', 'Crew')).v[0].id;
    // The holder locks the conversation and makes 5550102 a member, not yet committed.
    await holder.query('START TRANSACTION');
    await holder.query('SELECT id FROM darkchat_conversations WHERE id = ? FOR UPDATE', [id]);
    await holder.query("INSERT INTO darkchat_phones (number) VALUES ('5550102')");
    await holder.query(
      'INSERT INTO darkchat_members (conversation_id, phone_id, joined_at, alias, alias_key) ' +
        "SELECT ?, id, 0, 'Held Member', 'held member' FROM darkchat_phones WHERE number = '5550102'",
      [id],
    );
    // The send's first batch reads (its staff-ban check) before it waits for the lock; in
    // REPEATABLE READ that read would fix the snapshot its member lookup sees after the wait.
    const sending = call('send', '5550102', id, 'after the wait');
    const waiting = async () => {
      const [rows] = await db.query(
        'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST ' +
          "WHERE INFO LIKE '%FOR UPDATE%' AND ID <> CONNECTION_ID()",
      );
      return Number(rows[0].n) > 0;
    };
    while (!(await waiting())) await new Promise((resolve) => setTimeout(resolve, 5));
    await holder.query('COMMIT');
    const sent = await sending;
    assert.strictEqual(sent.ok, true, JSON.stringify(sent));
    assert.strictEqual(sent.v[0].senderAlias, 'Held Member');
    assert.doesNotMatch(batches.join('\n'), /ISOLATION/);
  } finally {
    await holder.end();
    await db.end();
    core.close();
  }
});

test("callPacked on MySQL answers the outcome as MessagePack bytes, the same reply call's JSON gives, and an object where the core did not answer", async () => {
  const msgpack = require('./msgpack');
  const { core, call, db } = await recordedCore('darkchat_batches_packed', []);
  const packed = async (method, ...args) => core.callPacked(method, wire(args));
  try {
    const id = (await call('create', '5550101', 'Crew')).v[0].id;
    assert.strictEqual((await call('send', '5550101', id, 'one')).ok, true);
    // Reads answer the same either way; a write's reply is compared with a read of its result.
    for (const [method, ...args] of [
      ['conversation', '5550101', id],
      ['messages', '5550101', id, null, 10],
      ['list', '5550101'],
      ['conversation', '5550109', id], // refused: not_member
      ['conversation', '5550101', 'x'], // bad input, answered before any batch
    ]) {
      const bytes = await packed(method, ...args);
      assert.ok(Buffer.isBuffer(bytes), `${method}: ${JSON.stringify(bytes)}`);
      assert.deepStrictEqual(msgpack.decode(bytes), await call(method, ...args), method);
    }
    const sent = await packed('send', '5550101', id, 'two');
    assert.ok(Buffer.isBuffer(sent), JSON.stringify(sent));
    const message = msgpack.decode(sent).v[0];
    const page = (await call('messages', '5550101', id, null, 10)).v[0];
    assert.deepStrictEqual(message, page[page.length - 1]);
    // The store closed: the host's own answer, an object.
    core.close();
    const closed = await packed('conversation', '5550101', id);
    assert.deepStrictEqual([closed.ok, closed.code], [false, 'storage_error']);
  } finally {
    await db.end();
    core.close();
  }
});

test('a sweep step reads its conversations in one statement and locks only those with something due: a quiet step is one read and a commit', async () => {
  const batches = [];
  let now = 1_700_000_000;
  const { core, call, db } = await recordedCore('darkchat_batches', batches, {
    clock: () => now,
    limits: { maxMessageAgeSeconds: 3600 },
  });
  try {
    const ids = [];
    for (let i = 0; i < 20; i++) {
      const created = await call('create', `55502${String(i).padStart(2, '0')}`, `C${i}`);
      assert.strictEqual(created.ok, true, JSON.stringify(created));
      ids.push(created.v[0].id);
    }
    const owner = (i) => `55502${String(i).padStart(2, '0')}`;
    assert.strictEqual((await call('send', owner(5), ids[5], 'old')).ok, true);
    now += 7200;
    for (let i = 0; i < 20; i++)
      assert.strictEqual((await call('send', owner(i), ids[i], 'new')).ok, true);

    const locks = () =>
      batches.filter((sql) => /darkchat_conversations WHERE id = \? FOR UPDATE/.test(sql));
    batches.length = 0;
    const step = await call('sweepExpired', 0, 50);
    assert.strictEqual(step.ok, true, JSON.stringify(step));
    assert.deepStrictEqual(
      [step.v[0].deleted, step.v[0].conversations, step.v[0].more],
      [1, [ids[5]], false],
    );
    assert.strictEqual(locks().length, 1, JSON.stringify(batches));

    batches.length = 0;
    const quiet = await call('sweepExpired', 0, 50);
    assert.deepStrictEqual([quiet.v[0].deleted, quiet.v[0].more], [0, false]);
    assert.strictEqual(locks().length, 0, JSON.stringify(batches));
    assert.strictEqual(batches.length, 2, JSON.stringify(batches));
  } finally {
    await db.end();
    await core.close();
  }
});
