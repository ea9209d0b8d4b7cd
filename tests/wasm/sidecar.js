// The JS half of the Lua FXServer emulator (tests/fxserver/jshost.lua): runs one resource's
// `.js` server scripts under fxjs.js and answers the emulator over two FIFOs with length-prefixed
// MessagePack frames, so that a Lua resource's calls of its JS exports cross a real MessagePack
// boundary, as on FXServer.
//   node sidecar.js <resourceName> <resourceDir> <requestFifo> <replyFifo>
//
// Node's event loop runs all the time, as a resource's does on FXServer (libuv polled every
// millisecond): requests are read from a non-blocking pipe, so I/O, promises and Node's own
// timers progress between requests and while the emulator does other work. The scripts' global
// setTimeout/setInterval/setImmediate are FXServer's tick timers (fxjs.js createTimers), run by
// the emulator's `tick` requests on its clock (the game time).
//
// A request is one map with an `op`; every reply is a map with `ok` plus what happened since
// the last reply: `lines` (printed), `settled` (async exports that settled: { id, ok, value |
// error }), `pending` (async exports whose settlement is not told yet) and `due` (the game time
// of the next timer, or nil). New fields may be added to either side; readers ignore the rest.
//   { op = 'load', file, now }               → { exports = [names] } | { ok = false, error }
//   { op = 'call', id, name, args, n, now, invoker }  → { value } | { async = true } (a Promise:
//        its settlement comes later under `id`) | { ok = false, error }; `invoker` is the
//        calling resource, what GetInvokingResource answers during the call
//   { op = 'tick', now }                     → runs the timers due at game time `now`
//   { op = 'wait', ms }                      → returns once something settled or `ms` ms of real
//        time passed; `waited` is the real time it took (ms, rounded up)
//   { op = 'stop' }                          → fires onResourceStop, answers, exits.
// `now` is the emulator's clock: the game time the JS timers see from then on. End of input: exits.
'use strict';

const fs = require('fs');
const net = require('net');
const nodeTimers = require('timers'); // the sidecar's own waits, whatever the scripts see
const { performance } = require('perf_hooks');
const msgpack = require('./msgpack');
const { createResource, createTimers } = require('./fxjs');

const [name, dir, requestPath, replyPath] = process.argv.slice(2);
const input = fs.openSync(requestPath, 'r');
const output = fs.openSync(replyPath, 'w');
let lines = [];
const print = (line) => lines.push(String(line));
const describe = (e) => String(e && e.stack ? e.stack : e);
const timers = createTimers({
  onError: (where, e) => print(`SCRIPT ERROR in ${where}: ${describe(e)}`),
});
timers.install(globalThis); // FXServer defines them on the resource's global object (timer.js)
const resource = createResource({ name, dir, print });

// FXServer starts Node with --unhandled-rejections=warn and ignores uncaught exceptions in
// resources: a script's stray error is printed, never the end of its runtime.
process.on('unhandledRejection', (e) =>
  print(`SCRIPT ERROR in promise (unhandled rejection): ${describe(e)}`),
);
process.on('uncaughtException', (e) => print(`SCRIPT ERROR: ${describe(e)}`));

const settled = []; // settlements not told yet
let pending = 0; // async calls whose settlement is not told yet
let onSettle = null; // a `wait` in progress

function send(reply) {
  const told = settled.splice(0);
  pending -= told.length;
  const body = msgpack.encode({
    ok: true,
    ...reply,
    lines,
    settled: told,
    pending,
    due: timers.nextDue(),
  });
  lines = [];
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  fs.writeSync(output, Buffer.concat([head, body]));
}

function settle(event) {
  settled.push(event);
  if (onSettle) onSettle();
}

/** Handles one request; calls `done(reply)` once (now or later). */
function handle(request, done) {
  const { op } = request;
  if (typeof request.now === 'number') timers.setGameTime(request.now);
  if (op === 'load') {
    resource.runScript(request.file);
    done({ exports: resource.exportNames() });
  } else if (op === 'call') {
    // Lua sends the argument list with its count: a list with holes travels as a map.
    const { args, n, id } = request;
    const list = Array.isArray(args)
      ? args
      : Array.from({ length: n || 0 }, (_, i) => (args || {})[String(i + 1)] ?? null);
    const result = resource.callExportFrom(request.invoker, request.name, ...list);
    if (result instanceof Promise) {
      pending += 1;
      result.then(
        (value) => settle({ id, ok: true, value }),
        (error) => settle({ id, ok: false, error }),
      );
      done({ async: true });
    } else {
      done({ value: result });
    }
  } else if (op === 'tick') {
    timers.tick(request.now);
    // one turn of the event loop, so that I/O already done is handled before the answer
    nodeTimers.setImmediate(() => done({}));
  } else if (op === 'wait') {
    const t0 = performance.now();
    let timer = null;
    const finish = () => {
      onSettle = null;
      nodeTimers.clearTimeout(timer);
      // settlements of the same turn are told together
      nodeTimers.setImmediate(() => done({ waited: Math.ceil(performance.now() - t0) }));
    };
    if (settled.length > 0) return finish();
    onSettle = finish;
    timer = nodeTimers.setTimeout(finish, Math.max(0, Number(request.ms) || 0));
  } else if (op === 'stop') {
    resource.emit('onResourceStop', name);
    done({});
    process.exit(0);
  } else {
    done({ ok: false, error: `unknown request ${op}` });
  }
}

// Requests, one at a time (the emulator waits for each answer).
let buffered = Buffer.alloc(0);
let busy = false;
function next() {
  if (busy || buffered.length < 4) return;
  const len = buffered.readUInt32BE(0);
  if (buffered.length < 4 + len) return;
  const request = msgpack.decode(buffered.subarray(4, 4 + len));
  buffered = buffered.subarray(4 + len);
  busy = true;
  const done = (reply) => {
    busy = false;
    send(reply);
    next();
  };
  try {
    handle(request || {}, done);
  } catch (e) {
    done({ ok: false, error: describe(e) });
  }
}
const pipe = new net.Socket({ fd: input, readable: true, writable: false });
pipe.on('data', (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  next();
});
pipe.on('end', () => process.exit(0));
