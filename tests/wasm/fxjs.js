// A tiny emulation of FXServer's server-side JS API for one resource, enough to run js/host.js:
// `exports(name, fn)`, `on(event, fn)`, `GetCurrentResourceName`, `GetResourcePath`, `require`
// and `console`, with scripts run as FXServer runs them (plain scripts, not CommonJS modules:
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
  const say = (...parts) => print(parts.map(String).join(' '));
  const globals = {
    exports: (exportName, fn) => { exported.set(exportName, fn); },
    on: (event, fn) => { if (!handlers.has(event)) handlers.set(event, []); handlers.get(event).push(fn); },
    GetCurrentResourceName: () => name,
    GetResourcePath: (res) => (res === name ? dir : undefined),
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
    /** `exports[name][exportName](...args)` from another runtime: arguments and result copied. */
    callExport(exportName, ...args) {
      const fn = exported.get(exportName);
      if (!fn) throw new Error(`No such export ${exportName} in resource ${name}`);
      const result = fn(...msgpack.copy(args));
      return msgpack.copy(result === undefined ? null : result);
    },
    /** Fires a server event to this resource's handlers, arguments copied. */
    emit(event, ...args) {
      for (const fn of handlers.get(event) || []) fn(...msgpack.copy(args));
    },
  };
}

module.exports = { createResource };
