// Type declarations for the type check of js/ (tsconfig.json); not loaded at runtime, not in
// the release package.
//
// Node has the WebAssembly global, but @types/node does not declare it (TypeScript keeps it in
// its DOM library, which would also redeclare FXServer's timers and console). This declares the
// part of it js/host.js uses, and the exports of bin/darkchat.wasm (src/wasm.rs): pointers and
// lengths are numbers into the module's memory; a reply is a pointer to a little-endian u32
// length followed by that many bytes of JSON.

declare namespace WebAssembly {
  interface Memory {
    readonly buffer: ArrayBuffer;
  }
  type ImportValue = (...args: any[]) => number | void;
  type Imports = Record<string, Record<string, ImportValue>>;
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: DarkchatWasmExports;
  }
}

/** What bin/darkchat.wasm exports (src/wasm.rs). */
interface DarkchatWasmExports {
  memory: WebAssembly.Memory;
  dc_alloc(len: number): number;
  dc_free(ptr: number, len: number): void;
  dc_open(ptr: number, len: number): number;
  dc_call(ptr: number, len: number): number;
  /** The same call with the reply as MessagePack bytes (SQLite only). */
  dc_call_packed(ptr: number, len: number): number;
  dc_migrate(): number;
  dc_resume(ptr: number, len: number): number;
  dc_abort(call: number): number;
  dc_checkpoint(): number;
  dc_restart_log(): number;
  dc_backup(ptr: number, len: number): number;
  dc_close(): number;
  /** Runs the common paths once on a database in memory; 1 when all of it ran, else 0. */
  dc_warm_up(): number;
  /** The same on the MySQL storage's code, with no database; 1 when every call of it ended. */
  dc_warm_up_mysql(): number;
  dc_trap(): void;
}
