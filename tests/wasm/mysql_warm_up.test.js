// The warm-up on MySQL/MariaDB: before its first open on MySQL the host has the module play its
// script on the MySQL storage's code (dc_warm_up_mysql), with no database, so that V8 compiles
// that code at start and not in a player's first call; SQLite's warm-up, code a server on MySQL
// never runs, is not made. What it compiles is measured by `node benches/first-calls.js
// --mysql URL`; here, that it runs once, whole, ahead of the open, and changes no answer.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { createCore } = require('../../js/host.js');
const {
  wasmPath,
  tmpRoot,
  wire,
  freshDatabase,
  mysqlUrl,
  recordExportCalls,
} = require('./helpers');

test("on MySQL the module warms the MySQL storage's paths once, before the first open, and not SQLite's; reopens share them", async () => {
  const database = await freshDatabase('darkchat_warm_up');
  // Every call into the module's warm-up and open, in order, with what it answered.
  const recorded = recordExportCalls(['dc_warm_up', 'dc_warm_up_mysql', 'dc_open']);
  const calls = recorded.calls;
  const core = createCore({ wasmPath, root: tmpRoot(), seed: '07'.repeat(32) });
  try {
    for (let open = 0; open < 2; open++) {
      assert.strictEqual(core.open({ storage: 'mysql', connection: mysqlUrl(database) }).ok, true);
      assert.strictEqual(await core.ready, true);
      const created = await core.call('create', wire([`555010${open}`, 'Crew']));
      assert.strictEqual(created.ok, true, JSON.stringify(created));
      const id = created.v[0].id;
      assert.strictEqual(id, open + 1, 'the first conversation the database holds, then the next');
      const sent = await core.call('send', wire([`555010${open}`, id, 'hello']));
      assert.strictEqual(sent.ok, true, JSON.stringify(sent));
      core.close();
    }
  } finally {
    recorded.restore();
    core.close();
  }
  assert.deepStrictEqual(
    calls.map(([name]) => name),
    ['dc_warm_up_mysql', 'dc_open', 'dc_open'],
  );
  assert.strictEqual(calls[0][1], 1, 'every call of the warm-up came to an end');
});
