// The JS half of the Lua FXServer emulator (tests/fxserver/jshost.lua): runs one resource's
// `.js` server scripts under fxjs.js and answers the emulator over two FIFOs with length-prefixed
// MessagePack frames, so that a Lua resource's calls of its own JS exports cross a real
// MessagePack boundary, as on FXServer.
//   node sidecar.js <resourceName> <resourceDir> <requestFifo> <replyFifo>
// Requests: ["load", file] → ["ok", [exportNames], [printedLines]];
//           ["call", exportName, [args], n, invoker] → ["ok", result, [printedLines]] | ["err", message, lines]
//             (`invoker`: the calling resource, what GetInvokingResource answers);
//           ["stop"] → fires onResourceStop, answers ["ok"], exits. End of input: exits.
'use strict';

const fs = require('fs');
const msgpack = require('./msgpack');
const { createResource } = require('./fxjs');

const [name, dir, requestPath, replyPath] = process.argv.slice(2);
const input = fs.openSync(requestPath, 'r');
const output = fs.openSync(replyPath, 'w');
let lines = [];
const resource = createResource({ name, dir, print: (line) => lines.push(line) });

function readExactly(n) {
  const buf = Buffer.alloc(n);
  let done = 0;
  while (done < n) {
    const got = fs.readSync(input, buf, done, n - done, null);
    if (got === 0) process.exit(0);
    done += got;
  }
  return buf;
}

function send(value) {
  const body = msgpack.encode(value);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  fs.writeSync(output, Buffer.concat([head, body]));
}

for (;;) {
  const len = readExactly(4).readUInt32BE(0);
  const [op, a, b, n, invoker] = msgpack.decode(readExactly(len));
  lines = [];
  try {
    if (op === 'load') {
      resource.runScript(a);
      send(['ok', resource.exportNames(), lines]);
    } else if (op === 'call') {
      // Lua sends the argument list with its count: a list with holes travels as a map.
      const args = Array.isArray(b) ? b : Array.from({ length: n || 0 }, (_, i) => (b || {})[String(i + 1)] ?? null);
      const result = resource.callExportFrom(invoker, a, ...args);
      send(['ok', result, lines]);
    } else if (op === 'stop') {
      resource.emit('onResourceStop', name);
      send(['ok', null, lines]);
      process.exit(0);
    } else {
      send(['err', `unknown request ${op}`, lines]);
    }
  } catch (e) {
    send(['err', String(e && e.stack ? e.stack : e), lines]);
  }
}
