// `darkchat import npwd|lbphone [--dry-run]` through js/import.js and the wasm core, into a
// SQLite store and into a MySQL/MariaDB one: the source tables are seeded in the test MariaDB
// with the peers' public schemas (NPWD's import.sql, lb-phone's phone.sql) and a framework's
// player table (QBCore's `players`, ESX's `users`). Checked: conversations with their names,
// owners, members in order and messages with senders and times; members without a phone number,
// repeated member rows and names that are not valid codes; a dry run writes nothing; a second
// run imports nothing; the source tables are unchanged. The server comes from DARKCHAT_MYSQL
// (scripts/test.sh starts a private MariaDB and sets it).
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { createCore } = require('../../js/host.js');
const { importPeer } = require('../../js/import.js');
const { wasmPath, tmpRoot, mysqlUrl, freshDatabase, adminConnection } = require('./helpers');

const NOW = 1_750_000_000;
const T0 = 1_700_000_000;

// NPWD's darkchat tables as its import.sql creates them, and QBCore's player table (the
// columns the import reads: citizenid, charinfo).
const NPWD_SCHEMA = `
CREATE TABLE npwd_darkchat_channels (
  id INT(11) NOT NULL AUTO_INCREMENT,
  channel_identifier VARCHAR(191) NOT NULL COLLATE 'utf8mb4_general_ci',
  label VARCHAR(255) NULL DEFAULT '' COLLATE 'utf8mb4_general_ci',
  PRIMARY KEY (id) USING BTREE,
  UNIQUE INDEX darkchat_channels_channel_identifier_uindex (channel_identifier) USING BTREE
) COLLATE='utf8mb4_general_ci' ENGINE=InnoDB;
CREATE TABLE npwd_darkchat_channel_members (
  channel_id INT(11) NOT NULL,
  user_identifier VARCHAR(255) NOT NULL COLLATE 'utf8mb4_general_ci',
  is_owner TINYINT(4) NOT NULL DEFAULT '0',
  INDEX npwd_darkchat_channel_members_npwd_darkchat_channels_id_fk (channel_id) USING BTREE,
  CONSTRAINT npwd_darkchat_channel_members_npwd_darkchat_channels_id_fk FOREIGN KEY (channel_id)
    REFERENCES npwd_darkchat_channels (id) ON UPDATE RESTRICT ON DELETE RESTRICT
) COLLATE='utf8mb4_general_ci' ENGINE=InnoDB;
CREATE TABLE npwd_darkchat_messages (
  id INT(11) NOT NULL AUTO_INCREMENT,
  channel_id INT(11) NOT NULL,
  message VARCHAR(255) NOT NULL COLLATE 'utf8mb4_general_ci',
  user_identifier VARCHAR(255) NOT NULL COLLATE 'utf8mb4_general_ci',
  createdAt TIMESTAMP NOT NULL DEFAULT current_timestamp(),
  is_image TINYINT(4) NOT NULL DEFAULT '0',
  PRIMARY KEY (id) USING BTREE,
  INDEX darkchat_messages_darkchat_channels_id_fk (channel_id) USING BTREE,
  CONSTRAINT darkchat_messages_darkchat_channels_id_fk FOREIGN KEY (channel_id)
    REFERENCES npwd_darkchat_channels (id) ON UPDATE RESTRICT ON DELETE RESTRICT
) COLLATE='utf8mb4_general_ci' ENGINE=InnoDB;
CREATE TABLE players (
  id INT NOT NULL AUTO_INCREMENT,
  citizenid VARCHAR(50) NOT NULL,
  charinfo TEXT NULL,
  PRIMARY KEY (id), KEY citizenid (citizenid)
);`;

// lb-phone's darkchat tables as its phone.sql creates them (the newer version, with passwords
// and phone_phones.owner_id), and ESX's users table (identifier, phone_number).
const LBPHONE_SCHEMA = `
CREATE TABLE phone_phones (
  id VARCHAR(100) NOT NULL, owner_id VARCHAR(100) NOT NULL, phone_number VARCHAR(15) NOT NULL,
  name VARCHAR(50), pin VARCHAR(4) DEFAULT NULL, face_id VARCHAR(100) DEFAULT NULL,
  settings LONGTEXT, is_setup BOOLEAN DEFAULT FALSE, assigned BOOLEAN DEFAULT FALSE,
  battery INT NOT NULL DEFAULT 100,
  PRIMARY KEY (id), UNIQUE KEY phone_number (phone_number)
) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE TABLE phone_darkchat_accounts (
  phone_number VARCHAR(15) NOT NULL, username VARCHAR(20) NOT NULL, password VARCHAR(100) NOT NULL,
  PRIMARY KEY (username), KEY phone_number (phone_number)
) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE TABLE phone_darkchat_channels (
  name VARCHAR(50) NOT NULL, password VARCHAR(100) DEFAULT NULL, PRIMARY KEY (name)
) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE TABLE phone_darkchat_members (
  channel_name VARCHAR(50) NOT NULL, username VARCHAR(20) NOT NULL,
  PRIMARY KEY (channel_name, username),
  FOREIGN KEY (channel_name) REFERENCES phone_darkchat_channels (name) ON DELETE CASCADE ON UPDATE CASCADE,
  FOREIGN KEY (username) REFERENCES phone_darkchat_accounts (username) ON DELETE CASCADE ON UPDATE CASCADE
) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE TABLE phone_darkchat_messages (
  id INT NOT NULL AUTO_INCREMENT, channel VARCHAR(50) NOT NULL, sender VARCHAR(20) NOT NULL,
  content VARCHAR(1000) DEFAULT NULL, timestamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  FOREIGN KEY (channel) REFERENCES phone_darkchat_channels (name) ON DELETE CASCADE ON UPDATE CASCADE
) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE TABLE users (
  identifier VARCHAR(60) NOT NULL, phone_number VARCHAR(20) DEFAULT NULL, PRIMARY KEY (identifier)
);`;

const at = (s) => `FROM_UNIXTIME(${T0 + s})`;

// NPWD on QBCore. Channel 1 "Heist Crew" (identifier `heist`, a valid code): owner CIT_A, CIT_B
// twice (NPWD allows repeated rows), CIT_C with no players row, CIT_D whose charinfo has no
// phone; messages by B, A, C (no number), an empty one, and CIT_E (who left: not a member).
// Channel 2: an identifier that is no code ("the back room!"), no label. Channel 3: `taken42`,
// a code a Darkchat conversation already holds. Channel 4: only a member without a number.
const NPWD_ROWS = `
INSERT INTO players (citizenid, charinfo) VALUES
  ('CIT_A', '{"firstname":"Ann","phone":"5550101"}'), ('CIT_B', '{"phone":5550102}'),
  ('CIT_D', '{"firstname":"Dan"}'), ('CIT_E', '{"phone":"5550105"}');
INSERT INTO npwd_darkchat_channels (id, channel_identifier, label) VALUES
  (1, 'heist', 'Heist Crew'), (2, 'the back room!', ''), (3, 'taken42', 'Heist'), (4, 'ghosts', 'Ghosts');
INSERT INTO npwd_darkchat_channel_members (channel_id, user_identifier, is_owner) VALUES
  (1, 'CIT_B', 0), (1, 'CIT_A', 1), (1, 'CIT_B', 0), (1, 'CIT_C', 0), (1, 'CIT_D', 0),
  (2, 'CIT_E', 1), (3, 'CIT_A', 1), (4, 'CIT_C', 1);
INSERT INTO npwd_darkchat_messages (id, channel_id, message, user_identifier, createdAt) VALUES
  (10, 1, 'first from B', 'CIT_B', ${at(10)}), (11, 1, 'then A', 'CIT_A', ${at(20)}),
  (12, 1, 'C has no phone', 'CIT_C', ${at(30)}), (13, 1, '   ', 'CIT_A', ${at(40)}),
  (14, 1, 'E left since', 'CIT_E', ${at(50)}), (15, 2, 'back room', 'CIT_E', ${at(60)}),
  (16, 4, 'boo', 'CIT_C', ${at(70)});`;

// lb-phone on ESX: accounts → phone_phones (owner_id) → users. Channel `crew` (a valid code):
// alice, bob, carl (no account), dora (phone without an ESX number); `the docks` (no code);
// `empty` with no members left.
const LBPHONE_ROWS = `
INSERT INTO users (identifier, phone_number) VALUES ('char1:aaa', '5550201'), ('char1:bbb', '5550202'),
  ('char1:ddd', NULL);
INSERT INTO phone_phones (id, owner_id, phone_number) VALUES ('p1', 'char1:aaa', '111'),
  ('p2', 'char1:bbb', '222'), ('p4', 'char1:ddd', '444');
INSERT INTO phone_darkchat_accounts (phone_number, username, password) VALUES ('111', 'alice', 'x'),
  ('222', 'bob', 'x'), ('444', 'dora', 'x');
INSERT INTO phone_darkchat_channels (name) VALUES ('crew'), ('the docks'), ('empty');
INSERT INTO phone_darkchat_members (channel_name, username) VALUES ('crew', 'alice'), ('crew', 'bob'),
  ('crew', 'dora'), ('the docks', 'bob');
INSERT INTO phone_darkchat_messages (id, channel, sender, content, timestamp) VALUES
  (1, 'crew', 'bob', 'bob first', ${at(1)}), (2, 'crew', 'alice', 'alice next', ${at(2)}),
  (3, 'crew', 'carl', 'carl was here', ${at(3)}), (4, 'the docks', 'bob', 'at the docks', ${at(4)});`;

async function seed(database, schema, rows) {
  await freshDatabase(database);
  const conn = await adminConnection(database);
  try {
    await conn.query(schema);
    await conn.query(rows);
  } finally {
    await conn.end();
  }
}

/** A checksum of every source table, to show the import left them as they were. */
async function checksums(database, tables) {
  const conn = await adminConnection(database);
  try {
    const [rows] = await conn.query(`CHECKSUM TABLE ${tables.join(', ')}`);
    return rows.map((r) => `${r.Table}=${r.Checksum}`);
  } finally {
    await conn.end();
  }
}

async function ok(core, method, ...args) {
  const outcome = await core.call(method, JSON.stringify(args));
  assert.strictEqual(outcome.ok, true, `${method}: ${JSON.stringify(outcome)}`);
  return outcome.v;
}

/** A core on `storage` ('sqlite' or 'mysql', a fresh database either way). */
async function target(storage, name) {
  const root = tmpRoot();
  const core = createCore({ wasmPath, root, clock: () => NOW });
  const opened =
    storage === 'mysql'
      ? core.open({ storage: 'mysql', connection: mysqlUrl(await freshDatabase(name)) })
      : core.open({ path: path.join(root, 'darkchat.db') });
  assert.strictEqual(opened.ok, true, JSON.stringify(opened));
  assert.strictEqual(await core.ready, true);
  return core;
}

/** Every conversation as the admin sees it, with all its messages (oldest first). */
async function everything(core) {
  const [list] = await ok(core, 'list', null);
  const out = [];
  for (const c of list.sort((a, b) => a.id - b.id)) {
    const [view] = await ok(core, 'conversation', null, c.id);
    out.push(view);
  }
  return out;
}

const counts = async (core) => {
  const [s] = await ok(core, 'stats');
  return [s.conversations, s.memberships, s.messages];
};

/** Where the bridge's adapters say QBCore's and ESX's numbers are (`Bridge.numbersAt`:
 * lua/bridge/qb_family.lua, lua/bridge/esx.lua), as `darkchat import` hands it over. */
const QBCORE = {
  framework: 'qbcore',
  table: 'players',
  key: 'citizenid',
  phone: 'charinfo',
  phones: 'charinfo',
};
const ESX = {
  framework: 'esx',
  table: 'users',
  key: 'identifier',
  phone: 'phone_number',
  phones: 'plain',
};

const has = (lines, pattern) =>
  assert.ok(
    lines.some((l) => pattern.test(l)),
    `no line matches ${pattern}:\n${lines.join('\n')}`,
  );

for (const storage of ['sqlite', 'mysql']) {
  test(`NPWD channels become conversations (QBCore numbers, ${storage} storage)`, async () => {
    const source = `darkchat_import_npwd_${storage}`;
    await seed(source, NPWD_SCHEMA, NPWD_ROWS);
    const tables = [
      'npwd_darkchat_channels',
      'npwd_darkchat_channel_members',
      'npwd_darkchat_messages',
      'players',
    ];
    const before = await checksums(source, tables);
    const core = await target(storage, `darkchat_import_npwd_target_${storage}`);
    const run = (dryRun) =>
      importPeer({
        live: core,
        peer: 'npwd',
        dryRun,
        numbersAt: QBCORE,
        connection: mysqlUrl(source),
        pageChannels: 2,
      });
    try {
      // A conversation made here before holds the code `TAKEN42`.
      const [existing] = await ok(core, 'create', '5550999', 'Existing', 'taken42');
      // A dry run reports what it would do and writes nothing.
      const dry = await run(true);
      const summary = dry.lines[dry.lines.length - 1];
      assert.match(
        summary,
        /^import npwd: dry run: would import 3 channels as conversations \(join codes: 1 kept, 2 generated\), 4 members \(4 skipped\), 4 messages \(3 skipped\); 0 already imported, 1 not imported; nothing written$/,
        dry.lines.join('\n'),
      );
      assert.deepStrictEqual(await counts(core), [1, 1, 0], 'a dry run writes nothing');
      // Past `maxLines` lines about single rows, the rest are counted in one line.
      const short = await importPeer({
        live: core,
        peer: 'npwd',
        dryRun: true,
        numbersAt: QBCORE,
        connection: mysqlUrl(source),
        pageChannels: 2,
        maxLines: 3,
      });
      assert.ok(dry.lines.length > 5, dry.lines.join('\n'));
      assert.deepStrictEqual(short.lines, [
        ...dry.lines.slice(0, 3),
        `... and ${dry.lines.length - 4} more lines like these`,
        summary,
      ]);

      const report = await run(false);
      const lines = report.lines;
      assert.match(
        lines[lines.length - 1],
        /^import npwd: imported 3 channels as conversations \(join codes: 1 kept, 2 generated\), 4 members \(4 skipped\), 4 messages \(3 skipped\); 0 already imported, 1 not imported; the source tables are unchanged$/,
        lines.join('\n'),
      );
      assert.deepStrictEqual(
        lines.slice(0, -1),
        dry.lines.slice(0, -1),
        'the dry run said what the run did',
      );
      has(lines, /^npwd channel 1 "Heist Crew": member CIT_B skipped: a repeated member row$/);
      has(
        lines,
        /^npwd channel 1 "Heist Crew": member CIT_C skipped: no phone number \(players\.citizenid CIT_C not found\)$/,
      );
      has(
        lines,
        /^npwd channel 1 "Heist Crew": member CIT_D skipped: no phone number \(no phone number set\)$/,
      );
      has(
        lines,
        /^npwd channel 1 "Heist Crew": message 12 skipped: its sender CIT_C has no phone number/,
      );
      has(
        lines,
        /^npwd channel 1 "Heist Crew": message 13 skipped: message must be 1-1000 characters/,
      );
      has(lines, /^npwd channel 4 "Ghosts": not imported: no member has a phone number$/);

      const all = (await everything(core)).filter((c) => c.id !== existing.id);
      assert.deepStrictEqual(
        all.map((c) => [c.name, c.owner, c.recipients]),
        [
          ['Heist Crew', '5550101', ['5550101', '5550102']],
          ['the back room!', '5550105', ['5550105']],
          ['Heist', '5550101', ['5550101']],
        ],
      );
      const [heist, back, second] = all;
      assert.strictEqual(heist.joinCode, 'HEIST', 'a valid identifier is kept as the code');
      assert.match(back.joinCode, /^[A-Z2-9]{6}$/, 'no valid code: one is generated');
      assert.match(
        second.joinCode,
        /^[A-Z2-9]{6}$/,
        'a code taken (case-insensitively): generated',
      );
      assert.notStrictEqual(second.joinCode, 'HEIST');
      // Messages in order, with their senders and times; the sender who left keeps an alias.
      assert.deepStrictEqual(
        heist.messages.map((m) => [m.sender, m.content, m.createdAt, m.type]),
        [
          ['5550102', 'first from B', T0 + 10, 'text'],
          ['5550101', 'then A', T0 + 20, 'text'],
          ['5550105', 'E left since', T0 + 50, 'text'],
        ],
      );
      const aliases = heist.members.map((m) => m.alias);
      assert.strictEqual(new Set(aliases.map((a) => a.toLowerCase())).size, 2);
      assert.ok(
        !aliases.includes(heist.messages[2].senderAlias),
        'a former member has an alias no member goes by',
      );
      assert.strictEqual(
        heist.messages[0].senderAlias,
        heist.members.find((m) => m.number === '5550102').alias,
      );
      assert.strictEqual(heist.createdAt, T0 + 10);
      assert.strictEqual(heist.updatedAt, T0 + 50);
      // Every member has read what was imported.
      const [list] = await ok(core, 'list', '5550102');
      assert.deepStrictEqual(
        list.map((c) => [c.name, c.unreadCount]),
        [['Heist Crew', 0]],
      );
      // The conversation works as any other.
      await ok(core, 'send', '5550102', heist.id, 'hello again');
      await ok(core, 'join', '5550105', 'heist');

      // A second run imports nothing.
      const counted = await counts(core);
      const again = await run(false);
      assert.match(
        again.lines[again.lines.length - 1],
        /imported 0 channels .* 0 members \(1 skipped\), 0 messages \(1 skipped\); 3 already imported, 1 not imported;/,
        again.lines.join('\n'),
      );
      has(again.lines, new RegExp(`^npwd channel 1: already imported as #${heist.id}$`));
      assert.deepStrictEqual(await counts(core), counted);
      assert.deepStrictEqual(
        await checksums(source, tables),
        before,
        'the source tables are unchanged',
      );
      assert.deepStrictEqual((await ok(core, 'integrityCheck'))[0], 'ok');
    } finally {
      core.close();
    }
  });

  test(`lb-phone channels become conversations (ESX numbers through phone_phones, ${storage} storage)`, async () => {
    const source = `darkchat_import_lb_${storage}`;
    await seed(source, LBPHONE_SCHEMA, LBPHONE_ROWS);
    const tables = [
      'phone_darkchat_channels',
      'phone_darkchat_members',
      'phone_darkchat_messages',
      'phone_darkchat_accounts',
      'phone_phones',
      'users',
    ];
    const before = await checksums(source, tables);
    const core = await target(storage, `darkchat_import_lb_target_${storage}`);
    const run = (dryRun) =>
      importPeer({
        live: core,
        peer: 'lbphone',
        dryRun,
        numbersAt: ESX,
        connection: mysqlUrl(source),
      });
    try {
      const dry = await run(true);
      assert.deepStrictEqual(await counts(core), [0, 0, 0], 'a dry run writes nothing');
      const { lines } = await run(false);
      assert.deepStrictEqual(
        lines,
        dry.lines.map((l) =>
          l
            .replace('dry run: would import', 'imported')
            .replace('nothing written', 'the source tables are unchanged'),
        ),
      );
      assert.match(
        lines[lines.length - 1],
        /^import lbphone: imported 2 channels as conversations \(join codes: 1 kept, 1 generated\), 3 members \(1 skipped\), 3 messages \(1 skipped\); 0 already imported, 1 not imported;/,
        lines.join('\n'),
      );
      has(
        lines,
        /^lbphone channel crew "crew": member dora skipped: no phone number \(no phone number set\)$/,
      );
      has(
        lines,
        /^lbphone channel crew "crew": message 3 skipped: its sender carl has no phone number \(no phone_darkchat_accounts row for carl\)$/,
      );
      has(lines, /^lbphone channel empty "empty": not imported: no member has a phone number$/);
      const all = await everything(core);
      assert.deepStrictEqual(
        all.map((c) => [
          c.name,
          c.joinCode.length === 6 ? 'generated' : c.joinCode,
          c.owner,
          c.recipients,
        ]),
        [
          // No owner in lb-phone: the first to write owns it.
          ['crew', 'CREW', '5550202', ['5550202', '5550201']],
          ['the docks', 'generated', '5550202', ['5550202']],
        ],
      );
      assert.deepStrictEqual(
        all[0].messages.map((m) => [m.sender, m.content, m.createdAt]),
        [
          ['5550202', 'bob first', T0 + 1],
          ['5550201', 'alice next', T0 + 2],
        ],
      );
      const again = await run(false);
      assert.match(
        again.lines[again.lines.length - 1],
        /imported 0 channels .*; 2 already imported, 1 not imported;/,
      );
      assert.deepStrictEqual(
        (await everything(core)).map((c) => c.id),
        all.map((c) => c.id),
      );
      assert.deepStrictEqual(
        await checksums(source, tables),
        before,
        'the source tables are unchanged',
      );
    } finally {
      core.close();
    }
  });
}

test('an import refuses in one line when the source or the framework is not there', async () => {
  const source = 'darkchat_import_none';
  await freshDatabase(source);
  const core = await target('sqlite');
  try {
    const none = await importPeer({
      live: core,
      peer: 'npwd',
      numbersAt: QBCORE,
      connection: mysqlUrl(source),
    });
    assert.deepStrictEqual(none.lines, [
      'import npwd: no NPWD dark chat tables in this database (npwd_darkchat_channels, npwd_darkchat_channel_members, npwd_darkchat_messages); nothing imported',
    ]);
    await seed(source, NPWD_SCHEMA, 'SELECT 1');
    const esx = await importPeer({
      live: core,
      peer: 'npwd',
      numbersAt: ESX,
      connection: mysqlUrl(source),
    });
    assert.deepStrictEqual(esx.lines, [
      'import npwd: the esx player table users (identifier, phone_number) is not in this database; nothing imported',
    ]);
    const ox = await importPeer({
      live: core,
      peer: 'npwd',
      numbersAt: { framework: 'ox' },
      connection: mysqlUrl(source),
    });
    assert.match(
      ox.lines[0],
      /^import refused: it finds phone numbers through QBCore, Qbox, ESX or standalone; the framework here is ox$/,
    );
    const bad = await importPeer({
      live: core,
      peer: 'npwd',
      numbersAt: QBCORE,
      connection: 'mysql://nobody@127.0.0.1:1/x',
    });
    assert.match(bad.lines[0], /^import refused: cannot read the source database: /);
    assert.deepStrictEqual(await counts(core), [0, 0, 0]);
  } finally {
    core.close();
  }
});
