// A tiny emulation of FXServer's server-side JS API for one resource, enough to run js/host.js:
// `exports(name, fn)`, `on(event, fn)`, `GetCurrentResourceName`, `GetResourcePath`,
// `GetInvokingResource`, `require` and `console`, with scripts run as FXServer runs them (plain scripts, not CommonJS modules:
// `exports` is FXServer's function, there is no `module`). Every value that crosses into or out
// of an export is copied through MessagePack bytes (msgpack.js), as FXServer does.
'use strict';

const fs = require('fs');
const vm = require('vm');
const msgpack = require('./msgpack');

/**
 * @param {{ name: string, dir: string, print?: (line: string) => void }} options
 */
function createResource({ name, dir, print = (line) => process.stdout.write(line + '\n') }) {
  const exported = new Map();
  const handlers = new Map();
  let invoking = null; // the resource whose call of an export is running
  const say = (...parts) => print(parts.map(String).join(' '));
  const globals = {
    exports: (exportName, fn) => { exported.set(exportName, fn); },
    on: (event, fn) => { if (!handlers.has(event)) handlers.set(event, []); handlers.get(event).push(fn); },
    GetCurrentResourceName: () => name,
    GetResourcePath: (res) => (res === name ? dir : undefined),
    GetInvokingResource: () => invoking,
    require,
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
    exportNames() { return [...exported.keys()]; },
    /**
     * `exports[name][exportName](...args)` from another runtime of this resource (its Lua):
     * arguments and result copied.
     */
    callExport(exportName, ...args) {
      return this.callExportFrom(name, exportName, ...args);
    },
    /** The same call made by resource `invoker` (what GetInvokingResource answers meanwhile). */
    callExportFrom(invoker, exportName, ...args) {
      const fn = exported.get(exportName);
      if (!fn) throw new Error(`No such export ${exportName} in resource ${name}`);
      const outer = invoking;
      invoking = invoker === undefined ? null : invoker;
      try {
        const result = fn(...msgpack.copy(args));
        return msgpack.copy(result === undefined ? null : result);
      } finally {
        invoking = outer;
      }
    },
    /** Fires a server event to this resource's handlers, arguments copied. */
    emit(event, ...args) {
      for (const fn of handlers.get(event) || []) fn(...msgpack.copy(args));
    },
  };
}

module.exports = { createResource };
