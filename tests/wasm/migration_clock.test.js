// A long migration's lines on the wasm core say how long each step took by the host's clock
// (js/host.js's clock_ms, performance.now): here a clock that jumps 1.5 s at every reading, so
// no step can report 0.0 s. The same on the native core's clock: src/store/migrations.rs.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { createCore } = require('../../js/host.js');
const { wasmPath, tmpRoot, repo } = require('./helpers');

test("a long migration's steps are timed by the host's clock", () => {
  const root = tmpRoot();
  const db = path.join(root, 'old.db');
  const initial = fs.readFileSync(path.join(repo, 'migrations/0001_initial.sql'), 'utf8');
  execFileSync('sqlite3', [db], {
    input:
      `${initial}\nPRAGMA user_version = 1;\n` +
      "INSERT INTO phones (id, number) VALUES (1, '5550101');\n" +
      'INSERT INTO conversations (id, name, created_by, owner_id, join_code, created_at, updated_at)' +
      " VALUES (1, 'Old', 1, 1, 'OLD1', 1, 1);\n" +
      "INSERT INTO messages (conversation_id, sender_id, kind, content, created_at) VALUES (1, 1, 'text', 'm', 1);\n",
  });
  const lines = [];
  const core = createCore({ wasmPath, root, log: (line) => lines.push(line) });
  const realNow = performance.now;
  let clock = 0;
  performance.now = () => (clock += 1500);
  let reply;
  try {
    reply = core.open({ path: db });
  } finally {
    performance.now = realNow;
  }
  assert.strictEqual(reply.ok, true, JSON.stringify(reply));
  const done = lines.filter((line) => line.startsWith('migrating: ') && line.includes(' done in '));
  assert.ok(done.length > 0, lines.join('\n'));
  for (const line of done) {
    const seconds = Number(/ done in (\d+\.\d) s$/.exec(line)[1]);
    assert.ok(seconds >= 1.5, line);
  }
});
