// `darkchat migrate-storage` through js/host.js: a SQLite store filled through the core is
// copied into an empty MySQL/MariaDB database and back into a new SQLite file, every id kept;
// every member's view of every conversation is the same on both sides, the counts match, ids
// are never reused afterwards, and a copy into a database that holds Darkchat data is refused
// with nothing written. The server comes from DARKCHAT_MYSQL, as in mysql_cases.test.js
// (scripts/test.sh starts a private MariaDB and sets it).
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { createCore, migrateStorage } = require('../../js/host.js');
const { wasmPath, tmpRoot, mysqlUrl, freshDatabase } = require('./helpers');

const NUMBERS = ['5550101', '5550102', '5550103', '5550104'];
let clock = 1_700_000_000;
const tick = () => clock++;

async function ok(core, method, ...args) {
  const outcome = await core.call(method, JSON.stringify(args));
  assert.strictEqual(
    outcome.ok,
    true,
    `${method}(${JSON.stringify(args)}): ${JSON.stringify(outcome)}`,
  );
  return outcome.v;
}

/** Every conversation as each member sees it: the list, each conversation, all its messages in
 * pages of 2 (newest first, as a phone scrolls back). */
async function views(core) {
  const seen = {};
  for (const number of NUMBERS) {
    const [list] = await ok(core, 'list', number);
    const conversations = {};
    for (const c of list) {
      const [conversation] = await ok(core, 'conversation', number, c.id);
      const pages = [];
      let before = null;
      for (let i = 0; i < 100; i++) {
        const [page] = await ok(core, 'messages', number, c.id, before, 2);
        if (page.length === 0) break;
        pages.push(page);
        before = page[0].id;
      }
      conversations[c.id] = { conversation, pages };
    }
    seen[number] = { list, conversations };
  }
  const [all] = await ok(core, 'list', null);
  const [staffBans] = await ok(core, 'staffBans');
  const [reports] = await ok(core, 'reports');
  return { seen, all, staffBans, reports };
}

function countsOf(lines) {
  return lines.filter((l) => / in the source, /.test(l));
}

test('a SQLite store moves to MySQL and back with every id, view and count kept', async () => {
  const root = tmpRoot();
  const source = path.join(root, 'data', 'darkchat.db');
  const database = await freshDatabase('darkchat_migrate');
  const makeCore = () => createCore({ wasmPath, root, clock: tick });

  // Fill a SQLite store through the core.
  const filler = makeCore();
  assert.strictEqual(filler.open({ path: source }).ok, true);
  const [a] = await ok(filler, 'create', NUMBERS[0], 'Heist Planning');
  const [b] = await ok(filler, 'create', NUMBERS[1], 'Crew', 'CREW42');
  await ok(filler, 'add', NUMBERS[1], a.id);
  await ok(filler, 'add', NUMBERS[2], a.id);
  await ok(filler, 'join', NUMBERS[3], 'CREW42');
  for (let i = 0; i < 7; i++)
    await ok(filler, 'send', NUMBERS[i % 3], a.id, `message ${i} \u{1F600}`);
  await ok(filler, 'send', NUMBERS[3], b.id, 'line one\nline two');
  await ok(filler, 'markRead', NUMBERS[1], a.id);
  await ok(filler, 'remove', NUMBERS[2], a.id, true);
  await ok(filler, 'standaloneNumber', 'license:abc');
  // Staff tools: a report (the message as it was) and a staff ban of a number seen nowhere.
  const [page] = await ok(filler, 'messages', NUMBERS[0], a.id, null, 50);
  const byB = page.find((m) => m.sender === NUMBERS[1] && m.type === 'text');
  await ok(filler, 'report', NUMBERS[0], a.id, byB.id, 'rude');
  await ok(filler, 'staffBan', '5550199', null, 'spam');
  // The newest conversation and messages deleted: only the sequences remember their ids.
  const [gone] = await ok(filler, 'create', NUMBERS[2], 'Gone');
  const [goneMessage] = await ok(filler, 'send', NUMBERS[2], gone.id, 'soon deleted');
  await ok(filler, 'delete', null, gone.id);
  const before = await views(filler);
  assert.strictEqual(filler.close(), true);
  const sourceBytes = fs.readFileSync(source);

  const live = createCore({ wasmPath, root, clock: tick });
  assert.strictEqual(live.open({ storage: 'mysql', connection: mysqlUrl(database) }).ok, true);
  assert.strictEqual(await live.ready, true);
  try {
    // Refused on a SQLite core, and for a file that is missing or outside the folder.
    const sqliteCore = makeCore();
    sqliteCore.open({ path: path.join(root, 'other.db') });
    const onSqlite = await migrateStorage({
      live: sqliteCore,
      makeCore,
      root,
      direction: 'from-sqlite',
      file: source,
    });
    sqliteCore.close();
    assert.deepStrictEqual(onSqlite.lines.length, 1);
    assert.match(onSqlite.lines[0], /run it while darkchat:storage is mysql/);
    const missing = await migrateStorage({
      live,
      makeCore,
      root,
      direction: 'from-sqlite',
      file: 'nope.db',
    });
    assert.match(missing.lines[0], /does not exist; nothing written/);
    const outside = await migrateStorage({
      live,
      makeCore,
      root,
      direction: 'to-sqlite',
      file: '/tmp/x.db',
    });
    assert.match(outside.lines[0], /outside the resource folder/);

    // SQLite → MySQL.
    const moved = await migrateStorage({
      live,
      makeCore,
      root,
      direction: 'from-sqlite',
      file: source,
      pageRows: 3,
    });
    assert.strictEqual(moved.migrated, true, moved.lines.join('\n'));
    const lines = countsOf(moved.lines);
    assert.deepStrictEqual(
      lines.map((l) => l.split(':')[0]),
      [
        'phones',
        'conversations',
        'members',
        'messages',
        'bans',
        'standalone_numbers',
        'staff_bans',
        'reports',
        'imports',
      ],
    );
    for (const line of lines) assert.match(line, /^\w+: (\d+) in the source, \1 copied$/);
    assert.match(
      moved.lines[moved.lines.length - 1],
      /^migrated \d+ rows from .* to mysql database darkchat_migrate/,
    );
    assert.deepStrictEqual(await views(live), before);
    assert.deepStrictEqual(fs.readFileSync(source), sourceBytes, 'the source is unchanged');
    assert.strictEqual(
      (await ok(live, 'standaloneNumber', 'license:abc'))[0],
      (await ok(live, 'standaloneNumber', 'license:abc'))[0],
    );

    // A second copy into the now non-empty database is refused, and writes nothing.
    const [countsBefore] = await ok(live, 'tableCounts');
    const again = await migrateStorage({
      live,
      makeCore,
      root,
      direction: 'from-sqlite',
      file: source,
    });
    assert.strictEqual(again.migrated, false);
    assert.strictEqual(again.lines.length, 1);
    assert.match(
      again.lines[0],
      /^refused: the mysql database darkchat_migrate already holds Darkchat data \(phones \d+, .*\); nothing written$/,
    );
    assert.deepStrictEqual((await ok(live, 'tableCounts'))[0], countsBefore);

    // Ids are never reused: the next ones are above the deleted conversation's and message's.
    const [next] = await ok(live, 'create', NUMBERS[3], 'Next');
    assert.ok(next.id > gone.id, `${next.id} > ${gone.id}`);
    const [nextMessage] = await ok(live, 'send', NUMBERS[3], next.id, 'hello');
    assert.ok(nextMessage.id > goneMessage.id, `${nextMessage.id} > ${goneMessage.id}`);
    await ok(live, 'delete', null, next.id);
    const onMysql = await views(live);

    // MySQL → a new SQLite file; refused when the file exists.
    const exists = await migrateStorage({
      live,
      makeCore,
      root,
      direction: 'to-sqlite',
      file: source,
    });
    assert.match(exists.lines[0], /already exists; name a new file; nothing written/);
    const copy = path.join(root, 'data', 'copy.db');
    const back = await migrateStorage({
      live,
      makeCore,
      root,
      direction: 'to-sqlite',
      file: 'data/copy.db',
      pageRows: 4,
    });
    assert.strictEqual(back.migrated, true, back.lines.join('\n'));
    for (const line of countsOf(back.lines))
      assert.match(line, /^\w+: (\d+) in the source, \1 copied$/);
    const copied = makeCore();
    assert.strictEqual(copied.open({ path: copy }).ok, true);
    try {
      assert.deepStrictEqual(await views(copied), onMysql);
      const [later] = await ok(copied, 'create', NUMBERS[0], 'Later');
      assert.ok(later.id > next.id, `${later.id} > ${next.id}`);
      const [laterMessage] = await ok(copied, 'send', NUMBERS[0], later.id, 'hi');
      assert.ok(laterMessage.id > nextMessage.id, `${laterMessage.id} > ${nextMessage.id}`);
    } finally {
      copied.close();
    }
  } finally {
    live.close();
  }
});

test('a failed copy into MySQL removes what it inserted', async () => {
  const root = tmpRoot();
  const source = path.join(root, 'data', 'darkchat.db');
  const database = await freshDatabase('darkchat_migrate_failed');
  const makeCore = () => createCore({ wasmPath, root, clock: tick });
  const filler = makeCore();
  assert.strictEqual(filler.open({ path: source }).ok, true);
  const [a] = await ok(filler, 'create', NUMBERS[0], 'Crew');
  for (let i = 0; i < 5; i++) await ok(filler, 'send', NUMBERS[0], a.id, `m${i}`);
  filler.close();
  const live = createCore({ wasmPath, root, clock: tick });
  assert.strictEqual(live.open({ storage: 'mysql', connection: mysqlUrl(database) }).ok, true);
  assert.strictEqual(await live.ready, true);
  try {
    // The messages' second page fails as the target refuses it (a row already there).
    let pages = 0;
    const failing = {
      get storage() {
        return live.storage;
      },
      get limits() {
        return live.limits;
      },
      call(method, args) {
        if (method === 'importRows' && JSON.parse(args)[0] === 'messages' && ++pages === 2) {
          return Promise.resolve({ ok: false, code: 'storage_error', message: 'injected' });
        }
        return live.call(method, args);
      },
    };
    const report = await migrateStorage({
      live: failing,
      makeCore,
      root,
      direction: 'from-sqlite',
      file: source,
      pageRows: 2,
    });
    assert.strictEqual(report.migrated, false);
    assert.deepStrictEqual(report.lines, [
      'migration failed: importRows: injected; the rows copied into the mysql database darkchat_migrate_failed are removed',
    ]);
    const [counts] = await ok(live, 'tableCounts');
    assert.deepStrictEqual(
      counts.map(([, n]) => n),
      [0, 0, 0, 0, 0, 0, 0, 0, 0],
    );

    // A failed to-sqlite removes its new file.
    const moved = await migrateStorage({
      live,
      makeCore,
      root,
      direction: 'from-sqlite',
      file: source,
    });
    assert.strictEqual(moved.migrated, true, moved.lines.join('\n'));
    const failingSqlite = () => {
      const core = makeCore();
      return {
        open: (options) => core.open(options),
        close: () => core.close(),
        call(method, args) {
          if (method === 'importRows' && JSON.parse(args)[0] === 'messages') {
            return { ok: false, code: 'storage_error', message: 'injected' };
          }
          return core.call(method, args);
        },
      };
    };
    const report2 = await migrateStorage({
      live,
      makeCore: failingSqlite,
      root,
      direction: 'to-sqlite',
      file: 'data/new.db',
    });
    assert.strictEqual(report2.migrated, false);
    assert.match(
      report2.lines[0],
      /^migration failed: importRows: injected; the new file .*new\.db is removed$/,
    );
    assert.deepStrictEqual(
      fs.readdirSync(path.join(root, 'data')).filter((f) => f.startsWith('new.db')),
      [],
    );
  } finally {
    live.close();
  }
});
