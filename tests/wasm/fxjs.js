// A tiny emulation of FXServer's server-side JS API for one resource, enough to run js/host.js:
// `exports(name, fn)`, `on(event, fn)`, `GetCurrentResourceName`, `GetResourcePath`,
// `GetInvokingResource`, `require` and `console`, with scripts run as FXServer runs them (plain
// scripts, not CommonJS modules:
// `exports` is FXServer's function, there is no `module`). Every value that crosses into or out
// of an export is copied through MessagePack bytes (msgpack.js), as FXServer does. FXServer's
// timers (setTimeout and friends run from the server tick, on game time) are `createTimers`;
// the emulator's sidecar installs them, plain Node tests keep Node's own.
// docs/fxserver-runtime.md says what each piece copies from FXServer, with its source.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');
const { createRequire } = require('module');
const msgpack = require('./msgpack');

/**
 * What a Lua caller is told when an export's promise rejects: FXServer's JS runtime passes the
 * error's `message`, else its string form, else '' (citizen:/scripting/v8/main.js, the
 * `__cfx_async_retval` callback of setCallRefFunction).
 */
function rejectionMessage(err) {
  if (!err) return '';
  return err.message ? String(err.message) : String(err);
}

/**
 * @param {{ name: string, dir: string, print?: (line: string) => void }} options
 */
function createResource({ name, dir, print = (line) => process.stdout.write(line + '\n') }) {
  const exported = new Map();
  const handlers = new Map();
  let invoking = null; // the resource whose call of an export is running
  const say = (...parts) => print(parts.map(String).join(' '));
  const globals = {
    exports: (exportName, fn) => {
      exported.set(exportName, fn);
    },
    on: (event, fn) => {
      if (!handlers.has(event)) handlers.set(event, []);
      handlers.get(event).push(fn);
    },
    GetCurrentResourceName: () => name,
    GetResourcePath: (res) => (res === name ? dir : undefined),
    // FXServer's `require` belongs to a module at <resource>/dummy.js: packages come from
    // <resource>/node_modules (then the folders above), relative paths from the resource root.
    require: createRequire(path.join(path.resolve(dir), 'dummy.js')),
    GetInvokingResource: () => invoking,
    console: { log: say, info: say, warn: say, error: say },
  };

  return {
    /** Runs a server script of the resource. */
    runScript(file) {
      const code = fs.readFileSync(file, 'utf8');
      const fn = vm.compileFunction(code, Object.keys(globals), { filename: file });
      fn(...Object.values(globals));
    },
    /** Names of the exports registered so far. */
    exportNames() {
      return [...exported.keys()];
    },
    /**
     * `exports[name][exportName](...args)` from another runtime: arguments and result copied.
     * A Promise (as FXServer tells one: `instanceof Promise`) comes back as a Promise of the
     * copied value, rejected with the message a Lua caller would see.
     */
    callExport(exportName, ...args) {
      return this.callExportFrom(name, exportName, ...args);
    },
    /** The same call made by resource `invoker` (what GetInvokingResource answers meanwhile). */
    callExportFrom(invoker, exportName, ...args) {
      const fn = exported.get(exportName);
      if (!fn) throw new Error(`No such export ${exportName} in resource ${name}`);
      // GetInvokingResource answers `invoker` while the export runs (up to its first await, as
      // on FXServer, where the invoking resource is known only during the call itself).
      const outer = invoking;
      invoking = invoker === undefined ? null : invoker;
      let result;
      try {
        result = fn(...msgpack.copy(args));
      } finally {
        invoking = outer;
      }
      if (result instanceof Promise) {
        return result.then(
          (v) => msgpack.copy(v === undefined ? null : v),
          (e) => {
            throw rejectionMessage(e);
          },
        );
      }
      return msgpack.copy(result === undefined ? null : result);
    },
    /** Fires a server event to this resource's handlers, arguments copied. */
    emit(event, ...args) {
      for (const fn of handlers.get(event) || []) fn(...msgpack.copy(args));
    },
  };
}

/**
 * FXServer's JS timers (citizen:/scripting/v8/timer.js), which replace Node's global
 * setTimeout, setInterval, setImmediate and their clear functions in every resource: nothing
 * runs them but the resource's tick (`tick(gameTime)`, once per server frame on FXServer), and a
 * timer fires in the first tick whose game time is more than its interval (at least 1 ms) past
 * the game time of the tick before it was set. `unref`/`ref` do nothing; `clearTimeout` takes
 * the timer object (a bare id clears nothing, as there). `setGameTime` stands for ticks that
 * had nothing to run (they only move the game time on).
 * @param {{ now?: number, onError?: (where: string, e: unknown) => void }} [options]
 */
function createTimers({ now = 0, onError = () => {} } = {}) {
  let gameTime = now;
  let lastId = 0;
  const timers = new Map(); // id → { callback, interval, lastRun }, in creation order

  const normalizeInterval = (interval) => Math.max(1, Math.min(2147483647, interval || 1)) | 0;
  function handle(id) {
    return {
      id,
      unref() {
        return this;
      },
      ref() {
        return this;
      },
      hasRef() {
        return true;
      },
      refresh() {
        const t = timers.get(id);
        if (t) t.lastRun = gameTime;
        return this;
      },
      [Symbol.toPrimitive]() {
        return id;
      },
    };
  }
  function clearTimer(timer) {
    if (timer) timers.delete(timer.id);
  }
  function add(callback, interval, once, args) {
    if (typeof callback !== 'function')
      throw new TypeError(`Callback must be a function. Received ${callback}`);
    const timer = handle(++lastId);
    const run = once
      ? () => {
          try {
            callback(...args);
          } finally {
            clearTimer(timer);
          }
        }
      : () => callback(...args);
    timers.set(timer.id, {
      callback: run,
      interval: normalizeInterval(interval),
      lastRun: gameTime,
    });
    return timer;
  }
  const api = {
    setTimeout: (callback, timeout, ...args) => add(callback, timeout, true, args),
    setInterval: (callback, interval, ...args) => add(callback, interval, false, args),
    setImmediate: (callback, ...args) => add(callback, 0, true, args),
    clearTimeout: clearTimer,
    clearInterval: clearTimer,
    clearImmediate: clearTimer,
  };

  return {
    api,
    /** Defines the timers on `target` the way timer.js does (read-only globals). */
    install(target) {
      for (const [key, value] of Object.entries(api)) {
        Object.defineProperty(target, key, {
          value,
          writable: false,
          enumerable: true,
          configurable: false,
        });
      }
    },
    /** One tick at `localGameTime`: every due timer runs, in creation order. */
    tick(localGameTime) {
      for (const id of [...timers.keys()]) {
        const timer = timers.get(id);
        if (timer && localGameTime - timer.lastRun > timer.interval) {
          try {
            timer.callback();
          } catch (e) {
            onError('timer', e);
          }
          timer.lastRun = localGameTime;
        }
      }
      gameTime = localGameTime;
    },
    setGameTime(t) {
      if (t > gameTime) gameTime = t;
    },
    /** The earliest integral game time at which a tick would run a timer; null when none. */
    nextDue() {
      let due = null;
      for (const t of timers.values()) {
        const at = Math.floor(t.lastRun + t.interval) + 1;
        if (due === null || at < due) due = at;
      }
      return due;
    },
  };
}

module.exports = { createResource, createTimers, rejectionMessage };
