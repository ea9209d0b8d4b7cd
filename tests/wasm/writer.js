// Child process of durability.test.js: writes through the wasm core as fast as it can and
// prints "ack <n>" after each write the core acknowledged, until it is killed. It yields to the
// event loop after every write (as a server tick would), so the host's checkpoint timer runs
// between writes and a kill can land before, during or after a checkpoint; it prints
// "checkpoint <result>" after each timer checkpoint.
//   node writer.js <root> <db> [spaced]
// `spaced`: a write every 20 ms instead (a quiet server, whose checkpoints keep the pages they
// copy and write them in later turns), a page a turn, each page write taking 2 ms (a slow
// disk), and "page" printed before each: a kill can land while a checkpoint's pages are only
// partly in the file.
'use strict';

const fs = require('fs');
const { createCore } = require('../../js/host.js');
const { wasmPath, wire } = require('./helpers');

const [root, db, mode] = process.argv.slice(2);
const spaced = mode === 'spaced';
if (spaced) {
  const { writeSync } = fs;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  fs.writeSync = (fd, ...rest) => {
    if (fs.readlinkSync(`/proc/self/fd/${fd}`) === db) {
      writeSync(1, 'page\n');
      Atomics.wait(nap, 0, 0, 2);
    }
    return writeSync(fd, ...rest);
  };
}
const core = createCore({
  wasmPath,
  root,
  onCheckpoint: (ms, result) => fs.writeSync(1, `checkpoint ${result}\n`),
  pagesTurnMs: spaced ? 0 : undefined,
});
const opened = core.open({ path: db });
if (!opened.ok) {
  process.stdout.write(`refused ${opened.message}\n`);
  process.exit(1);
}
let id = null;
const listed = core.call('list', '["5550101"]');
if (listed.ok && listed.v[0].length > 0) id = listed.v[0][0].id;
if (id === null) id = core.call('create', '["5550101","Durable"]').v[0].id;

(async () => {
  for (let n = 1; ; n++) {
    const content = `${process.pid}:${n}`;
    const reply = core.call('send', wire(['5550101', id, content]));
    if (!reply.ok) {
      process.stdout.write(`failed ${JSON.stringify(reply)}\n`);
      process.exit(1);
    }
    if (n % 25 === 0) core.call('add', wire([String(6000000 + n), id]));
    fs.writeSync(1, `ack ${content}\n`);
    await new Promise((resolve) => (spaced ? setTimeout(resolve, 20) : setImmediate(resolve)));
  }
})();
