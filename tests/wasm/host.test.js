// js/host.js as FXServer runs it: a server script under an emulation of FXServer's JS API
// (fxjs.js) whose export is called across MessagePack bytes; plus the host's own guarantees:
// files only inside the resource folder, the lock file, recovery from a trap.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { createResource } = require('./fxjs');
const { createCore } = require('../../js/host.js');
const { repo, wasmPath, tmpRoot, wire } = require('./helpers');

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
  return { res, printed };
}

test('host.js registers DarkchatCore and serves the core across MessagePack', () => {
  const root = resourceFolder();
  const { res, printed } = startResource(root);
  assert.deepStrictEqual(res.exportNames(), ['DarkchatCore']);
  const db = path.join(root, 'data', 'darkchat.db');
  const opened = res.callExport('DarkchatCore', 'open', JSON.stringify({ path: db, limits: { maxMembers: 5 } }));
  assert.strictEqual(opened.ok, true, JSON.stringify(opened));
  assert.match(opened.version, /^\d+\.\d+\.\d+$/);
  const created = res.callExport('DarkchatCore', 'create', wire(['5550101', 'Heist Planning', null]));
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
  assert.deepStrictEqual(refused, { ok: false, code: 'invalid_argument', message: 'invalid argument: number' });
  const tooMany = res.callExport('DarkchatCore', 'add', wire(['5550102', { f: '1' }]));
  assert.strictEqual(tooMany.ok, true, 'an integral float is the same id');
  assert.strictEqual(fs.readFileSync(db + '.lock', 'utf8'), `${process.pid} wasm\n`);
  res.emit('onResourceStop', '17mov_Phone');
  assert.ok(!fs.existsSync(db + '.lock'), 'stopping releases the lock');
  assert.strictEqual(res.callExport('DarkchatCore', 'close'), false, 'already closed by the stop');
  assert.deepStrictEqual(printed, []);
});

test('DarkchatCore answers only its own resource', () => {
  const root = resourceFolder();
  const { res } = startResource(root);
  const db = path.join(root, 'data', 'darkchat.db');
  assert.strictEqual(res.callExport('DarkchatCore', 'open', JSON.stringify({ path: db })).ok, true);
  const id = res.callExport('DarkchatCore', 'create', wire(['5550101', 'Crew'])).v[0].id;
  for (const [method, args] of [['list', wire([null])], ['delete', wire([null, id])], ['close', undefined],
    ['open', JSON.stringify({ path: path.join(root, 'data', 'other.db') })]]) {
    const reply = res.callExportFrom('other_resource', 'DarkchatCore', method, args);
    assert.strictEqual(reply.code, 'forbidden', method);
    assert.strictEqual(res.callExportFrom(null, 'DarkchatCore', method, args).code, 'forbidden', `${method}, no invoker`);
  }
  assert.strictEqual(res.callExport('DarkchatCore', 'list', wire([null])).v[0][0].id, id, 'still open, nothing deleted');
  res.emit('onResourceStop', '17mov_Phone');
});

test('a database outside the resource folder is refused with one line', () => {
  const root = resourceFolder();
  const { res } = startResource(root);
  const elsewhere = path.join(tmpRoot(), 'darkchat.db');
  for (const p of [elsewhere, path.join(root, '..', 'escape.db'), '/etc/darkchat.db']) {
    const reply = res.callExport('DarkchatCore', 'open', JSON.stringify({ path: p }));
    assert.strictEqual(reply.ok, false);
    assert.match(reply.message, /outside the resource folder/);
    assert.ok(!reply.message.includes('\n'));
  }
  assert.ok(!fs.existsSync(elsewhere));
  fs.symlinkSync(path.dirname(elsewhere), path.join(root, 'linked'));
  const linked = res.callExport('DarkchatCore', 'open', JSON.stringify({ path: path.join(root, 'linked', 'x.db') }));
  assert.strictEqual(linked.ok, false, 'a symlink out of the folder is outside too');
  assert.ok(!fs.existsSync(path.join(path.dirname(elsewhere), 'x.db')));
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
  assert.match(second.open({ path: db }).message, /in use by the native core of process 1/);
  fs.writeFileSync(db + '.lock', `${process.pid} wasm\n`); // our pid, but not held: a restart
  assert.strictEqual(second.open({ path: db }).ok, true);
  second.close();
  fs.writeFileSync(db + '.lock', '999999999 wasm\n'); // a process that is gone
  assert.strictEqual(second.open({ path: db }).ok, true);
  assert.strictEqual(fs.readFileSync(db + '.lock', 'utf8'), `${process.pid} wasm\n`);
  second.close();
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
  assert.deepStrictEqual(after.v[0].map((m) => m.content), ['before the trap']);
  assert.deepStrictEqual(core.call('integrityCheck', '[]').v, ['ok']);
  core.close();
});

test('without bin/darkchat.wasm the export says how to build it', () => {
  const root = tmpRoot();
  fs.symlinkSync(path.join(repo, 'js'), path.join(root, 'js'));
  const { res } = startResource(root);
  const reply = res.callExport('DarkchatCore', 'open', JSON.stringify({ path: path.join(root, 'd.db') }));
  assert.strictEqual(reply.ok, false);
  assert.match(reply.message, /build-wasm\.sh/);
  assert.strictEqual(res.callExport('DarkchatCore', 'create', '[]').code, 'storage_error');
});

test('the module imports only the host file functions (no wasm-bindgen, no WASI)', () => {
  const module = new WebAssembly.Module(fs.readFileSync(wasmPath));
  const imports = WebAssembly.Module.imports(module);
  assert.ok(imports.length > 0);
  for (const i of imports) {
    assert.strictEqual(i.module, 'darkchat_fs', JSON.stringify(i));
    assert.match(i.name, /^fs_(open|read|write|sync|truncate|size|close|delete|access)$/);
  }
  const exported = WebAssembly.Module.exports(module).map((e) => e.name);
  for (const name of ['memory', 'dc_alloc', 'dc_free', 'dc_open', 'dc_call', 'dc_checkpoint', 'dc_close']) assert.ok(exported.includes(name), name);
});
