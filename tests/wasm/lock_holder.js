// Child process of lock_race.test.js: one wasm-core server (js/host.js) that opens and closes
// one database when told. Reads commands from stdin, one a line, and answers each on stdout:
//   open  → "got" | "refused <message>" (a line break in it shown as \n)
//   close → "closed"
//   node lock_holder.js <root> <db>
'use strict';

const readline = require('readline');
const { createCore } = require('../../js/host.js');
const { wasmPath } = require('./helpers');

const [root, db] = process.argv.slice(2);
const core = createCore({ wasmPath, root });
const say = (line) => process.stdout.write(`${line}\n`);

readline
  .createInterface({ input: process.stdin })
  .on('line', (command) => {
    if (command === 'open') {
      const opened = core.open({ path: db });
      say(opened.ok ? 'got' : `refused ${String(opened.message).replace(/\n/g, '\\n')}`);
    } else if (command === 'close') {
      core.close();
      say('closed');
    }
  })
  .on('close', () => process.exit(0));
say('ready');
