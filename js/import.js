// `darkchat import npwd|lbphone [--dry-run]` (the server console only): reads another phone's
// dark chat from the MySQL/MariaDB database of `mysql_connection_string` and hands each channel
// to the live core (`importConversation`), which decides everything about it and writes it in
// one transaction, on SQLite or MySQL storage alike (src/import.rs).
//
// This file only reads, always with bound values: the source's tables (which tables and
// columns, and where they come from, is in docs/import.md), and the framework's player table
// for the phone numbers of the people the rows name. Which table and columns hold a
// framework's numbers is the bridge's to say (each adapter's `numbersAt`, lua/bridge/): the
// console command hands that description over with the framework's name. It never writes to
// the source. It pages through the channels (PAGE_CHANNELS at a time, awaiting between pages
// so the server keeps ticking) and sums up the core's answers into the report: counts, then
// one line for every row not imported (at most MAX_LINES, then how many more).
'use strict';

const path = require('path');

/** Channels read and imported per page. */
const PAGE_CHANNELS = 50;
/** Values per `IN (...)` list. */
const IN_CHUNK = 500;
/** Report lines about single rows, at most; the rest are counted. */
const MAX_LINES = 50;

/** What each peer's import reads: its tables and the columns it relies on. */
const PEERS = {
  npwd: {
    title: 'NPWD',
    tables: {
      npwd_darkchat_channels: ['id', 'channel_identifier', 'label'],
      npwd_darkchat_channel_members: ['channel_id', 'user_identifier', 'is_owner'],
      npwd_darkchat_messages: ['id', 'channel_id', 'message', 'user_identifier', 'createdAt'],
    },
  },
  lbphone: {
    title: 'lb-phone',
    tables: {
      phone_darkchat_channels: ['name'],
      phone_darkchat_members: ['channel_name', 'username'],
      phone_darkchat_messages: ['id', 'channel', 'sender', 'content', 'timestamp'],
      phone_darkchat_accounts: ['username', 'phone_number'],
      phone_phones: ['id', 'phone_number'],
    },
  },
};

/** How the core reads a number the framework's table holds (src/import.rs `Phones`); only
 * `standalone` needs no table. */
const PHONES = ['charinfo', 'plain', 'standalone'];

/**
 * Where the framework keeps a character's phone number, as the bridge describes it (lua/bridge/,
 * `Bridge.numbersAt`), or null when it does not say enough to read them.
 * @param {any} at `{ framework, table?, key?, phone?, phones }`
 */
function numbersAtOf(at) {
  if (!at || typeof at !== 'object' || !PHONES.includes(at.phones)) return null;
  if (at.phones === 'standalone') return { phones: at.phones };
  const named = [at.table, at.key, at.phone].every((n) => typeof n === 'string' && n !== '');
  return named ? { table: at.table, key: at.key, phone: at.phone, phones: at.phones } : null;
}

/** `rows` of a query with bound `values` on `conn` (mysql2's callback API). */
function query(conn, sql, values = []) {
  return new Promise((resolve, reject) => {
    conn.query({ sql, values }, (err, rows) => (err ? reject(err) : resolve(rows)));
  });
}

/** `fn(chunk)` for `list` in chunks of IN_CHUNK; the rows of every call, concatenated. */
async function inChunks(list, fn) {
  const out = [];
  for (let i = 0; i < list.length; i += IN_CHUNK)
    out.push(...(await fn(list.slice(i, i + IN_CHUNK))));
  return out;
}

/** `{ table: Set(columns) }` of the source database, for the tables named. */
async function columnsOf(conn, tables) {
  const rows = await query(
    conn,
    'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS ' +
      'WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)',
    [tables],
  );
  const found = {};
  for (const { t, c } of rows) (found[t] = found[t] || new Set()).add(c);
  return found;
}

/**
 * What `darkchat import` runs: resolves to `{ lines }` (never rejects). `numbersAt` is where
 * the running framework keeps its numbers, with its name as `framework` (`Bridge.numbersAt`).
 * @param {{ live: any, peer: string, dryRun?: boolean, numbersAt: any, connection: string,
 *   mysql2?: any, pageChannels?: number, pause?: () => Promise<void>, maxLines?: number }} options
 */
async function importPeer(options) {
  const { live, peer, connection } = options;
  const framework = options.numbersAt && options.numbersAt.framework;
  const dryRun = Boolean(options.dryRun);
  const spec = PEERS[peer];
  if (!spec) return { lines: ['usage: darkchat import npwd|lbphone [--dry-run]'] };
  if (!live || !live.storage) return { lines: ['import refused: the Darkchat store is not open'] };
  const fw = numbersAtOf(options.numbersAt);
  if (!fw) {
    return {
      lines: [
        `import refused: it finds phone numbers through QBCore, Qbox, ESX or standalone; the framework here is ${framework}`,
      ],
    };
  }
  let conn;
  try {
    const { connectionOptions } = require(path.join(__dirname, 'mysql.js'));
    const driver = options.mysql2 || require('mysql2');
    conn = driver.createConnection({
      ...connectionOptions(connection),
      supportBigNumbers: true,
      bigNumberStrings: false,
      dateStrings: true,
      charset: 'utf8mb4',
    });
    await query(conn, 'SELECT 1');
  } catch (e) {
    if (conn) conn.destroy();
    return {
      lines: [
        `import refused: cannot read the source database: ${String(e && e.message).split('\n')[0]}`,
      ],
    };
  }
  try {
    return await run({ ...options, live, peer, dryRun, spec, fw, conn, framework });
  } catch (e) {
    return { lines: [`import failed: ${String(e && e.message).split('\n')[0]}`] };
  } finally {
    conn.destroy();
  }
}

/**
 * The import itself, on an open source connection `conn`.
 * @param {{ live: any, peer: string, dryRun: boolean, spec: any, fw: any, conn: any,
 *   framework: string, pageChannels?: number, pause?: () => Promise<void>, maxLines?: number }} o
 */
async function run({
  live,
  peer,
  dryRun,
  spec,
  fw,
  conn,
  pageChannels,
  pause,
  maxLines,
  framework,
}) {
  const page = pageChannels || PAGE_CHANNELS;
  const wait = pause || (() => new Promise((resolve) => setImmediate(resolve)));
  const bound = maxLines || MAX_LINES;
  // The source: every table and column read must be there.
  const wanted = Object.keys(spec.tables);
  const have = await columnsOf(conn, fw.table ? [...wanted, fw.table] : wanted);
  const absent = wanted.filter((t) => !have[t]);
  if (absent.length === wanted.length) {
    return {
      lines: [
        `import ${peer}: no ${spec.title} dark chat tables in this database (${wanted.join(', ')}); nothing imported`,
      ],
    };
  }
  for (const [table, columns] of Object.entries(spec.tables)) {
    const missing = have[table] ? columns.filter((c) => !have[table].has(c)) : ['(the table)'];
    if (missing.length) {
      return { lines: [`import ${peer}: ${table} lacks ${missing.join(', ')}; nothing imported`] };
    }
  }
  if (fw.table && !(have[fw.table] && have[fw.table].has(fw.key) && have[fw.table].has(fw.phone))) {
    return {
      lines: [
        `import ${peer}: the ${framework} player table ${fw.table} (${fw.key}, ${fw.phone}) is not in this database; nothing imported`,
      ],
    };
  }
  // lb-phone: who owns a phone (its newer `owner_id`, an older `owner`, else `id`, which is
  // the player identifier unless phones are items).
  let owner = null;
  if (peer === 'lbphone') {
    const cols = have.phone_phones;
    owner = cols.has('owner_id') ? 'owner_id' : cols.has('owner') ? 'owner' : 'id';
  }

  const totals = {
    channels: 0,
    already: 0,
    notImported: 0,
    failed: 0,
    members: 0,
    skippedMembers: 0,
    messages: 0,
    skippedMessages: 0,
    codesKept: 0,
    codesGenerated: 0,
  };
  const lines = [];
  let hidden = 0;
  const note = (line) => {
    if (lines.length < bound) lines.push(line);
    else hidden += 1;
  };

  let after = null;
  for (;;) {
    const channels =
      peer === 'npwd'
        ? await query(
            conn,
            `SELECT id, channel_identifier, label FROM npwd_darkchat_channels ${after === null ? '' : 'WHERE id > ? '}ORDER BY id LIMIT ?`,
            after === null ? [page] : [after, page],
          )
        : await query(
            conn,
            `SELECT name FROM phone_darkchat_channels ${after === null ? '' : 'WHERE name > ? '}ORDER BY name LIMIT ?`,
            after === null ? [page] : [after, page],
          );
    if (channels.length === 0) break;
    const found =
      peer === 'npwd'
        ? await readNpwd(conn, channels, fw)
        : await readLbPhone(conn, channels, fw, owner);
    for (const channel of found) {
      const outcome = await live.call(
        'importConversation',
        JSON.stringify([peer, JSON.stringify(channel), dryRun]),
      );
      const title = `${peer} channel ${channel.key}`;
      if (!outcome || !outcome.ok) {
        totals.failed += 1;
        note(`${title}: failed: ${outcome ? outcome.message || outcome.code : 'no answer'}`);
        continue;
      }
      const o = outcome.v[0];
      if (o.alreadyImported) {
        totals.already += 1;
        note(`${title}: already imported as #${o.alreadyImported}`);
        continue;
      }
      totals.skippedMembers += o.skippedMembers;
      totals.skippedMessages += o.skippedMessages;
      for (const line of o.lines || []) note(line);
      if (!o.conversationId) {
        totals.notImported += 1;
        continue;
      }
      totals.channels += 1;
      totals.members += o.members;
      totals.messages += o.messages;
      if (o.codeKept) totals.codesKept += 1;
      else totals.codesGenerated += 1;
    }
    if (channels.length < page) break;
    after = peer === 'npwd' ? channels[channels.length - 1].id : channels[channels.length - 1].name;
    await wait();
  }
  if (hidden) lines.push(`... and ${hidden} more lines like these`);
  const t = totals;
  const verb = dryRun ? 'dry run: would import' : 'imported';
  lines.push(
    `import ${peer}: ${verb} ${t.channels} channels as conversations (join codes: ${t.codesKept} kept, ` +
      `${t.codesGenerated} generated), ${t.members} members (${t.skippedMembers} skipped), ${t.messages} messages ` +
      `(${t.skippedMessages} skipped); ${t.already} already imported, ${t.notImported} not imported` +
      `${t.failed ? `, ${t.failed} failed` : ''}; ${dryRun ? 'nothing written' : 'the source tables are unchanged'}`,
  );
  return { lines };
}

/** The people `ids` (framework identifiers) as the core reads them: `{ id: person }`. */
async function frameworkPeople(conn, fw, ids) {
  const people = {};
  if (!fw.table) {
    for (const id of ids) people[id] = { identifier: id };
    return people;
  }
  const rows = await inChunks(ids, (chunk) =>
    query(
      conn,
      `SELECT \`${fw.key}\` AS k, \`${fw.phone}\` AS p FROM \`${fw.table}\` WHERE \`${fw.key}\` IN (?)`,
      [chunk],
    ),
  );
  const byKey = new Map(rows.map((r) => [String(r.k), r.p]));
  for (const id of ids) {
    people[id] = byKey.has(id)
      ? { identifier: id, phone: byKey.get(id) === undefined ? null : byKey.get(id) }
      : { identifier: id, missing: `${fw.table}.${fw.key} ${id} not found` };
  }
  return people;
}

/** NPWD channels with their member and message rows (src/import.rs `Channel`). */
async function readNpwd(conn, channels, fw) {
  const ids = channels.map((c) => c.id);
  const members = await inChunks(ids, (chunk) =>
    query(
      conn,
      'SELECT channel_id, user_identifier, is_owner FROM npwd_darkchat_channel_members WHERE channel_id IN (?)',
      [chunk],
    ),
  );
  const messages = await inChunks(ids, (chunk) =>
    query(
      conn,
      'SELECT id, channel_id, message, user_identifier, ' +
        'CAST(COALESCE(UNIX_TIMESTAMP(createdAt), UNIX_TIMESTAMP()) AS SIGNED) AS at ' +
        'FROM npwd_darkchat_messages WHERE channel_id IN (?) ORDER BY id',
      [chunk],
    ),
  );
  messages.sort((a, b) => a.id - b.id);
  const who = new Set([
    ...members.map((m) => String(m.user_identifier)),
    ...messages.map((m) => String(m.user_identifier)),
  ]);
  const people = await frameworkPeople(conn, fw, [...who]);
  return channels.map((c) => {
    const rows = members.filter((m) => m.channel_id === c.id);
    const posts = messages.filter((m) => m.channel_id === c.id);
    const names = new Set([
      ...rows.map((m) => String(m.user_identifier)),
      ...posts.map((m) => String(m.user_identifier)),
    ]);
    return {
      key: String(c.id),
      names: [c.label, c.channel_identifier],
      code: c.channel_identifier,
      phones: fw.phones,
      members: rows.map((m) => ({
        who: String(m.user_identifier),
        owner: Number(m.is_owner) === 1,
      })),
      messages: posts.map((m) => ({
        id: Number(m.id),
        who: String(m.user_identifier),
        content: m.message,
        at: Number(m.at),
      })),
      people: Object.fromEntries([...names].map((n) => [n, people[n]])),
    };
  });
}

/** lb-phone channels, their members (usernames) and messages; a username's number is found
 * through its account's lb-phone number, that phone's owner, then the framework. */
async function readLbPhone(conn, channels, fw, owner) {
  const names = channels.map((c) => c.name);
  const members = await inChunks(names, (chunk) =>
    query(
      conn,
      'SELECT channel_name, username FROM phone_darkchat_members WHERE channel_name IN (?)',
      [chunk],
    ),
  );
  const messages = await inChunks(names, (chunk) =>
    query(
      conn,
      'SELECT id, channel, sender, content, ' +
        'CAST(COALESCE(UNIX_TIMESTAMP(`timestamp`), UNIX_TIMESTAMP()) AS SIGNED) AS at ' +
        'FROM phone_darkchat_messages WHERE channel IN (?) ORDER BY id',
      [chunk],
    ),
  );
  messages.sort((a, b) => a.id - b.id);
  const usernames = [
    ...new Set([...members.map((m) => m.username), ...messages.map((m) => m.sender)]),
  ];
  const accounts = await inChunks(usernames, (chunk) =>
    query(
      conn,
      `SELECT a.username AS u, a.phone_number AS n, p.\`${owner}\` AS o FROM phone_darkchat_accounts a ` +
        'LEFT JOIN phone_phones p ON p.phone_number = a.phone_number WHERE a.username IN (?)',
      [chunk],
    ),
  );
  const byUser = new Map(accounts.map((a) => [String(a.u).toLowerCase(), a]));
  const owners = [...new Set(accounts.filter((a) => a.o !== null).map((a) => String(a.o)))];
  const framework = await frameworkPeople(conn, fw, owners);
  const people = {};
  for (const username of usernames) {
    const account = byUser.get(String(username).toLowerCase());
    if (!account) people[username] = { missing: `no phone_darkchat_accounts row for ${username}` };
    else if (account.o === null)
      people[username] = { missing: `no phone_phones row for lb-phone number ${account.n}` };
    else people[username] = framework[String(account.o)];
  }
  const same = (a, b) => String(a).toLowerCase() === String(b).toLowerCase();
  return channels.map((c) => {
    const rows = members.filter((m) => same(m.channel_name, c.name));
    const posts = messages.filter((m) => same(m.channel, c.name));
    const who = new Set([...rows.map((m) => m.username), ...posts.map((m) => m.sender)]);
    return {
      key: c.name,
      names: [c.name],
      code: c.name,
      phones: fw.phones,
      members: rows.map((m) => ({ who: m.username })),
      messages: posts.map((m) => ({
        id: Number(m.id),
        who: m.sender,
        content: m.content,
        at: Number(m.at),
      })),
      people: Object.fromEntries([...who].map((n) => [n, people[n]])),
    };
  });
}

module.exports = { importPeer, PEERS };
