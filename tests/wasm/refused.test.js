// The wasm core refuses a file that is not an empty or a Darkchat database with one line and
// leaves it byte for byte as it was: another application's database (in either journal mode,
// or with a table named like Darkchat's), a newer Darkchat schema, a file that is not a
// database. The same files on the native core: tests/refused_files.rs.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { createCore } = require('../../js/host.js');
const { repo, wasmPath, tmpRoot } = require('./helpers');

const sqlite = (db, sql) => execFileSync('sqlite3', [db, sql], { encoding: 'utf8' });
const OTHER_APP =
  "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada');" +
  ' CREATE TABLE items (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES users (id));';

function refusedUntouched(root, db, why) {
  const before = fs.readFileSync(db);
  const core = createCore({ wasmPath, root });
  const reply = core.open({ path: db });
  assert.strictEqual(reply.ok, false, `${db} was opened`);
  assert.ok(reply.message.includes(why), reply.message);
  assert.ok(reply.message.includes(db), `names the file: ${reply.message}`);
  assert.ok(!reply.message.includes('\n'), `one line: ${reply.message}`);
  assert.ok(before.equals(fs.readFileSync(db)), `${db} was modified`);
  const name = path.basename(db);
  assert.deepStrictEqual(
    fs.readdirSync(root).filter((n) => n.startsWith(`${name}.lock`)),
    [],
    'no lock files left',
  );
}

test("another application's database is refused untouched, in either journal mode", () => {
  const root = tmpRoot();
  const plain = path.join(root, 'inventory.db');
  sqlite(plain, OTHER_APP);
  refusedUntouched(
    root,
    plain,
    'not a Darkchat database (tables "items", "users", user_version 0)',
  );
  assert.strictEqual(
    sqlite(plain, 'PRAGMA journal_mode').trim(),
    'delete',
    'still in its own journal mode',
  );
  const wal = path.join(root, 'wal.db');
  sqlite(wal, `PRAGMA journal_mode = WAL; ${OTHER_APP} PRAGMA user_version = 7;`);
  refusedUntouched(root, wal, 'not a Darkchat database (tables "items", "users", user_version 7)');
});

test("a database with a table named like Darkchat's is refused in one line", () => {
  const root = tmpRoot();
  const db = path.join(root, 'phones.db');
  sqlite(db, 'CREATE TABLE phones (imei TEXT PRIMARY KEY, model TEXT);');
  refusedUntouched(root, db, 'not a Darkchat database (tables "phones", user_version 0)');
});

test('a newer Darkchat schema and a file that is not a database are refused untouched', () => {
  const root = tmpRoot();
  const db = path.join(root, 'newer.db');
  const core = createCore({ wasmPath, root });
  const opened = core.open({ path: db });
  assert.strictEqual(opened.ok, true, opened.message);
  core.close();
  const version = Number(sqlite(db, 'PRAGMA user_version').trim());
  // In rollback-journal mode, which an open that switched it to WAL first would change.
  sqlite(db, `PRAGMA journal_mode = DELETE; PRAGMA user_version = ${version + 1};`);
  refusedUntouched(root, db, 'is newer than this build supports');
  const notes = path.join(root, 'notes.db');
  fs.writeFileSync(notes, "these are someone's notes, not a database\n".repeat(200));
  refusedUntouched(root, notes, 'file is not a database');
});

test("a database file the server's user may not write is refused at the open, in one line that says so, untouched", () => {
  // A folder the server may write (its lock files go there), the database in it read-only.
  // As root the mode would not refuse anything, so the open then runs as `nobody`, from copies
  // of the host and module that user can read.
  const root = tmpRoot();
  fs.chmodSync(root, 0o1777);
  const db = path.join(root, 'darkchat.db');
  const core = createCore({ wasmPath, root });
  assert.strictEqual(core.open({ path: db }).ok, true);
  assert.strictEqual(core.call('create', JSON.stringify(['5550101', 'Crew'])).ok, true);
  core.close();
  for (const name of fs.readdirSync(root)) fs.chmodSync(path.join(root, name), 0o444);
  const before = fs.readFileSync(db);
  const runner = path.join(root, 'runner');
  fs.mkdirSync(runner, { mode: 0o755 });
  fs.copyFileSync(path.join(repo, 'js', 'host.js'), path.join(runner, 'host.js'));
  fs.copyFileSync(wasmPath, path.join(runner, 'darkchat.wasm'));
  const script =
    `const { createCore } = require(${JSON.stringify(path.join(runner, 'host.js'))});` +
    `const core = createCore({ wasmPath: ${JSON.stringify(path.join(runner, 'darkchat.wasm'))},` +
    ` root: ${JSON.stringify(root)} });` +
    `process.stdout.write(JSON.stringify(core.open({ path: ${JSON.stringify(db)} })));`;
  const asServer =
    process.getuid && process.getuid() === 0
      ? [
          'setpriv',
          ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script],
        ]
      : [process.execPath, ['-e', script]];
  const reply = JSON.parse(execFileSync(asServer[0], asServer[1], { encoding: 'utf8' }));
  assert.strictEqual(reply.ok, false, JSON.stringify(reply));
  assert.match(reply.message, /^cannot open database /);
  assert.ok(reply.message.includes(db), `names the file: ${reply.message}`);
  assert.match(reply.message, /may not write the file \(permission denied\)/);
  assert.ok(!reply.message.includes('\n'), `one line: ${reply.message}`);
  assert.ok(before.equals(fs.readFileSync(db)), 'the database was modified');
  assert.deepStrictEqual(
    fs.readdirSync(root).filter((n) => n.includes('.lock')),
    [],
    'no lock files left',
  );
});
