// js/host.js as FXServer runs it: a server script under an emulation of FXServer's JS API
// (fxjs.js) whose export is called across MessagePack bytes; plus the host's own guarantees:
// files only inside the resource folder, the lock file, recovery from a trap.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const msgpackLite = require('msgpack-lite');
const { createResource } = require('./fxjs');
const { createCore } = require('../../js/host.js');
const { repo, wasmPath, tmpRoot, wire, recordExportCalls } = require('./helpers');

/** A resource folder with the repository's js/ and bin/, like an installed resource. */
function resourceFolder() {
  const root = tmpRoot();
  fs.symlinkSync(path.join(repo, 'js'), path.join(root, 'js'));
  fs.symlinkSync(path.join(repo, 'bin'), path.join(root, 'bin'));
  return root;
}

function startResource(root) {
  const printed = [];
  const res = createResource({ name: '17mov_Phone', dir: root, print: (l) => printed.push(l) });
  res.runScript(path.join(root, 'js', 'host.js'));
  // What lua/core.lua does with a reply: a calls' MessagePack bytes (a Buffer here, a string in
  // Lua) are unpacked; objects (open, close, refusals) come as they are.
  const unpacked = (reply) => (Buffer.isBuffer(reply) ? msgpackLite.decode(reply) : reply);
  const callExportFrom = res.callExportFrom.bind(res);
  res.callExportFrom = (...args) => unpacked(callExportFrom(...args));
  res.callExport = (...args) => res.callExportFrom('17mov_Phone', ...args);
  return { res, printed };
}

test('host.js registers DarkchatCore and serves the core across MessagePack', () => {
  const root = resourceFolder();
  const { res, printed } = startResource(root);
  assert.deepStrictEqual(res.exportNames(), ['DarkchatCore']);
  const db = path.join(root, 'data', 'darkchat.db');
  const opened = res.callExport(
    'DarkchatCore',
    'open',
    JSON.stringify({ path: db, limits: { maxMembers: 5 } }),
  );
  assert.strictEqual(opened.ok, true, JSON.stringify(opened));
  assert.match(opened.version, /^\d+\.\d+\.\d+$/);
  const created = res.callExport(
    'DarkchatCore',
    'create',
    wire(['5550101', 'Heist Planning', null]),
  );
  assert.strictEqual(created.ok, true);
  const conv = created.v[0];
  assert.ok(Number.isInteger(conv.id) && Number.isInteger(conv.createdAt));
  assert.deepStrictEqual(conv.recipients, ['5550101']);
  assert.deepStrictEqual(conv.messages, []);
  assert.strictEqual(conv.isItRead, true);
  assert.ok(!('event' in conv), 'no null fields');
  const sent = res.callExport('DarkchatCore', 'send', wire(['5550101', conv.id, 'héllo ✓']));
  assert.strictEqual(sent.v[0].content, 'héllo ✓');
  const refused = res.callExport('DarkchatCore', 'create', wire([{ f: 'nan' }, 'x']));
  assert.deepStrictEqual(refused, {
    ok: false,
    code: 'invalid_argument',
    message: 'invalid argument: number',
  });
  const tooMany = res.callExport('DarkchatCore', 'add', wire(['5550102', { f: '1' }]));
  assert.strictEqual(tooMany.ok, true, 'an integral float is the same id');
  assert.strictEqual(fs.readFileSync(db + '.lock', 'utf8'), `${process.pid} wasm\n`);
  res.emit('onResourceStop', '17mov_Phone');
  assert.ok(!fs.existsSync(db + '.lock'), 'stopping releases the lock');
  assert.strictEqual(res.callExport('DarkchatCore', 'close'), false, 'already closed by the stop');
  assert.deepStrictEqual(
    res.callExport('DarkchatCore', 'list', wire(['5550101'])),
    { ok: false, code: 'storage_error', message: 'the store is closed' },
    'a call after the stop',
  );
  assert.deepStrictEqual(printed, []);
});

test('DarkchatCore answers only its own resource', () => {
  const root = resourceFolder();
  const { res } = startResource(root);
  const db = path.join(root, 'data', 'darkchat.db');
  assert.strictEqual(res.callExport('DarkchatCore', 'open', JSON.stringify({ path: db })).ok, true);
  const id = res.callExport('DarkchatCore', 'create', wire(['5550101', 'Crew'])).v[0].id;
  for (const [method, args] of [
    ['list', wire([null])],
    ['delete', wire([null, id])],
    ['close', undefined],
    ['open', JSON.stringify({ path: path.join(root, 'data', 'other.db') })],
  ]) {
    const reply = res.callExportFrom('other_resource', 'DarkchatCore', method, args);
    assert.strictEqual(reply.code, 'forbidden', method);
    assert.strictEqual(
      res.callExportFrom(null, 'DarkchatCore', method, args).code,
      'forbidden',
      `${method}, no invoker`,
    );
  }
  assert.strictEqual(
    res.callExport('DarkchatCore', 'list', wire([null])).v[0][0].id,
    id,
    'still open, nothing deleted',
  );
  res.emit('onResourceStop', '17mov_Phone');
});

test('a database outside the resource folder is refused with one line', () => {
  const root = resourceFolder();
  const { res } = startResource(root);
  const elsewhere = path.join(tmpRoot(), 'darkchat.db');
  for (const p of [elsewhere, path.join(root, '..', 'escape.db'), '/etc/darkchat.db']) {
    const reply = res.callExport('DarkchatCore', 'open', JSON.stringify({ path: p }));
    assert.strictEqual(reply.ok, false);
    // No link on the way: the refusal names none (an operator would go looking for one).
    assert.strictEqual(
      reply.message,
      `database ${path.resolve(p)} is outside the resource folder ${root}; ` +
        'set darkchat:db to a path inside it',
    );
  }
  assert.ok(!fs.existsSync(elsewhere));
  fs.symlinkSync(path.dirname(elsewhere), path.join(root, 'linked'));
  const linked = res.callExport(
    'DarkchatCore',
    'open',
    JSON.stringify({ path: path.join(root, 'linked', 'x.db') }),
  );
  assert.strictEqual(linked.ok, false, 'a symlink out of the folder is outside too');
  assert.ok(!fs.existsSync(path.join(path.dirname(elsewhere), 'x.db')));
});

test('a link out of the resource folder is never followed, and no folder is made outside it', () => {
  const root = resourceFolder();
  const { res } = startResource(root);
  const outside = tmpRoot();
  const open = (p) => res.callExport('DarkchatCore', 'open', JSON.stringify({ path: p }));
  const refusedInOneLine = (reply) => {
    assert.strictEqual(reply.ok, false);
    assert.match(
      reply.message,
      /is outside the resource folder .*; set darkchat:db to a path inside it$/,
    );
    assert.ok(!reply.message.includes('\n'));
  };
  // A linked folder whose subfolder does not exist yet: checked before any folder is made.
  fs.symlinkSync(outside, path.join(root, 'linked'));
  refusedInOneLine(open(path.join(root, 'linked', 'sub', 'x.db')));
  assert.ok(!fs.existsSync(path.join(outside, 'sub')), 'no folder made outside');
  // The database file itself a link to a file outside, or to one that does not exist yet.
  const victim = path.join(outside, 'victim.db');
  fs.writeFileSync(victim, '');
  fs.mkdirSync(path.join(root, 'data'));
  fs.symlinkSync(victim, path.join(root, 'data', 'darkchat.db'));
  refusedInOneLine(open(path.join(root, 'data', 'darkchat.db')));
  assert.strictEqual(fs.readFileSync(victim).length, 0, 'the file outside is untouched');
  fs.symlinkSync(path.join(outside, 'new.db'), path.join(root, 'data', 'dangling.db'));
  refusedInOneLine(open(path.join(root, 'data', 'dangling.db')));
  assert.ok(!fs.existsSync(path.join(outside, 'new.db')), 'no file made outside');
  // The log beside the database a link to a file outside: never written through (SQLite,
  // unable to open it, removes the link itself and makes its log in the folder).
  const log = path.join(outside, 'log');
  fs.writeFileSync(log, 'not yours');
  fs.symlinkSync(log, path.join(root, 'data', 'd.db-wal'));
  if (open(path.join(root, 'data', 'd.db')).ok) {
    assert.strictEqual(
      res.callExport('DarkchatCore', 'create', wire(['5550101', 'Crew'])).ok,
      true,
    );
    res.callExport('DarkchatCore', 'close');
  }
  assert.strictEqual(fs.readFileSync(log, 'utf8'), 'not yours');
});

test('the lock file: a live holder is refused, a dead one taken over', () => {
  const root = tmpRoot();
  const db = path.join(root, 'data', 'darkchat.db');
  const first = createCore({ wasmPath, root });
  assert.strictEqual(first.open({ path: db }).ok, true);
  const second = createCore({ wasmPath, root });
  const refused = second.open({ path: db });
  assert.strictEqual(refused.ok, false);
  assert.match(refused.message, new RegExp(`in use by the wasm core of process ${process.pid}`));
  assert.ok(first.close());
  fs.writeFileSync(db + '.lock', '1 native\n'); // pid 1 is always alive
  const byNative = second.open({ path: db }).message;
  assert.match(
    byNative,
    /in use by the native core of process 1 \(lock file .*darkchat\.db\.lock\); stop that server first/,
  );
  assert.ok(!byNative.includes('\n'));
  assert.strictEqual(
    fs.readFileSync(db + '.lock', 'utf8'),
    '1 native\n',
    'a refused opener writes nothing there',
  );
  // Our pid with the other core: another runtime of this process (FXServer runs Lua and Node).
  fs.writeFileSync(db + '.lock', `${process.pid} native\n`);
  assert.match(
    second.open({ path: db }).message,
    new RegExp(`in use by the native core of process ${process.pid}`),
  );
  fs.writeFileSync(db + '.lock', `${process.pid} wasm\n`); // our pid, but not held: a restart
  assert.strictEqual(second.open({ path: db }).ok, true);
  second.close();
  fs.writeFileSync(db + '.lock', '999999999 wasm\n'); // a process that is gone
  assert.strictEqual(second.open({ path: db }).ok, true);
  assert.strictEqual(fs.readFileSync(db + '.lock', 'utf8'), `${process.pid} wasm\n`);
  second.close();
  assert.ok(!fs.existsSync(db + '.lock'));
});

/** A process that is dead but not reaped (its parent, a `sleep`, never waits for it), and that parent. */
async function zombie() {
  const parent = spawn('sh', ['-c', 'sleep 60 & echo $!; exec sleep 60'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const pid = await new Promise((resolve) =>
    parent.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
  );
  process.kill(pid, 'SIGKILL');
  // Until the kernel has made it a zombie (a few scheduler ticks at most).
  for (let i = 0; i < 10000; i++) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    if (stat.slice(stat.lastIndexOf(')') + 1).trim()[0] === 'Z') return { pid, parent };
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  parent.kill('SIGKILL');
  throw new Error(`${pid} never became a zombie`);
}

test(
  'a holder that crashed a moment ago and is not yet reaped (a zombie) holds nothing',
  { skip: !fs.existsSync('/proc/self/stat') },
  async () => {
    const root = tmpRoot();
    const db = path.join(root, 'd.db');
    const { pid, parent } = await zombie();
    try {
      fs.writeFileSync(db + '.lock', `${pid} wasm\n`);
      fs.writeFileSync(db + '.lock.mutex', `${pid} native ${pid}.1.0\n`);
      const core = createCore({ wasmPath, root });
      const opened = core.open({ path: db });
      assert.strictEqual(opened.ok, true, opened.message);
      assert.strictEqual(fs.readFileSync(db + '.lock', 'utf8'), `${process.pid} wasm\n`);
      core.close();
    } finally {
      parent.kill('SIGKILL');
    }
  },
);

test('what processes that died inside an open left is taken over and swept away', () => {
  const root = tmpRoot();
  const db = path.join(root, 'd.db');
  // A dead process's mutex, a dead stealer of it, a dead stealer of a mutex long gone, and a
  // dead process's staging file.
  fs.writeFileSync(db + '.lock.mutex', '999999998 native 999999998.1.0\n');
  fs.writeFileSync(db + '.lock.steal-999999998.1.0', '999999997 wasm 999999997.2.0\n');
  fs.writeFileSync(db + '.lock.steal-5.3.0', '999999996 native 999999996.4.0\n');
  fs.writeFileSync(db + '.lock.tmp-999999995-native', '');
  const core = createCore({ wasmPath, root });
  assert.strictEqual(core.open({ path: db }).ok, true);
  const lockFiles = () =>
    fs
      .readdirSync(root)
      .filter((n) => n.startsWith('d.db.lock'))
      .sort();
  assert.deepStrictEqual(lockFiles(), ['d.db.lock']);
  core.close();
  assert.deepStrictEqual(lockFiles(), []);
  fs.writeFileSync(db + '.lock.mutex', 'not a lock\n');
  const refused = core.open({ path: db }).message;
  assert.match(
    refused,
    /d\.db\.lock\.mutex is not a lock file Darkchat can read; delete it if no server is running/,
  );
  assert.ok(!refused.includes('\n'));
});

test('a trap answers storage_error once; the next call runs on a fresh instance, data intact', () => {
  const root = tmpRoot();
  const core = createCore({ wasmPath, root });
  assert.strictEqual(core.open({ path: path.join(root, 'd.db') }).ok, true);
  const id = core.call('create', wire(['5550101', 'Crew'])).v[0].id;
  core.call('send', wire(['5550101', id, 'before the trap']));
  const trapped = core.trapForTest();
  assert.strictEqual(trapped.ok, false);
  assert.strictEqual(trapped.code, 'storage_error');
  assert.match(trapped.message, /^internal error: unreachable/);
  const after = core.call('messages', wire(['5550101', id]));
  assert.strictEqual(after.ok, true, JSON.stringify(after));
  assert.deepStrictEqual(
    after.v[0].map((m) => m.content),
    ['before the trap'],
  );
  assert.deepStrictEqual(core.call('integrityCheck', '[]').v, ['ok']);
  core.close();
});

test("the module's common paths run once at start, on a private database, before the first open; reopens and fresh instances share them", () => {
  // Every call into the module's warm-up and open, in order, with what it answered.
  const recorded = recordExportCalls(['dc_warm_up', 'dc_warm_up_mysql', 'dc_open']);
  const calls = recorded.calls;
  const root = tmpRoot();
  const db = path.join(root, 'd.db');
  let core;
  try {
    core = createCore({ wasmPath, root });
    assert.strictEqual(core.open({ path: db }).ok, true);
    const id = core.call('create', wire(['5550101', 'Crew'])).v[0].id;
    core.close();
    assert.strictEqual(core.open({ path: db }).ok, true);
    assert.strictEqual(core.trapForTest().code, 'storage_error');
    assert.strictEqual(core.call('conversation', wire(['5550101', id])).ok, true);
  } finally {
    recorded.restore();
  }
  assert.deepStrictEqual(
    calls.map(([name]) => name),
    ['dc_warm_up', 'dc_open', 'dc_open', 'dc_open'],
  );
  // Every call of the script answered ok and its sweep deleted: none of its paths was left cold.
  assert.strictEqual(calls[0][1], 1, 'the whole warm-up ran');
  // It wrote nothing: the folder holds the database, its log and the lock file alone.
  for (const name of fs.readdirSync(root)) assert.match(name, /^d\.db/, name);
  core.close();
});

test('without bin/darkchat.wasm the export says how to build it', () => {
  const root = tmpRoot();
  fs.symlinkSync(path.join(repo, 'js'), path.join(root, 'js'));
  const { res } = startResource(root);
  const reply = res.callExport(
    'DarkchatCore',
    'open',
    JSON.stringify({ path: path.join(root, 'd.db') }),
  );
  assert.strictEqual(reply.ok, false);
  assert.match(reply.message, /build-wasm\.sh/);
  assert.strictEqual(res.callExport('DarkchatCore', 'create', '[]').code, 'storage_error');
});

test('the module imports only the host file functions and its clock (no wasm-bindgen, no WASI)', () => {
  const module = new WebAssembly.Module(fs.readFileSync(wasmPath));
  const imports = WebAssembly.Module.imports(module);
  assert.ok(imports.length > 0);
  for (const i of imports) {
    assert.strictEqual(i.module, 'darkchat_fs', JSON.stringify(i));
    assert.match(
      i.name,
      /^(fs_(open|read|write|sync|truncate|size|close|delete|access)|clock_ms)$/,
    );
  }
  const exported = WebAssembly.Module.exports(module).map((e) => e.name);
  for (const name of [
    'memory',
    'dc_alloc',
    'dc_free',
    'dc_open',
    'dc_call',
    'dc_checkpoint',
    'dc_backup',
    'dc_close',
  ])
    assert.ok(exported.includes(name), name);
});

test('the module traps when its memory cannot grow, instead of handing out address 0', () => {
  const module = new WebAssembly.Module(fs.readFileSync(wasmPath));
  const imports = { darkchat_fs: {} };
  for (const i of WebAssembly.Module.imports(module)) imports[i.module][i.name] = () => -1;
  const x = new WebAssembly.Instance(module, imports).exports;
  // Two buffers of almost 2 GiB: wasm32 memory ends at 4 GiB, so the second cannot fit.
  const huge = 0x7fff0000;
  assert.notStrictEqual(x.dc_alloc(huge), 0);
  assert.throws(() => x.dc_alloc(huge), WebAssembly.RuntimeError);
});
