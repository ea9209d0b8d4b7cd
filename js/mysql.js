// The MySQL/MariaDB side of the wasm core's host (js/host.js), used when darkchat:storage is
// `mysql`: the connection pool, and the statements the core asks for, run in batches.
//
// The core (src/mysql) decides everything: which statements, in which transaction, what a
// result means. This file only runs them: a call's first step comes from the core; while the
// step is a batch, it runs the batch on the call's own connection (one round trip: the
// statements travel as one multi-statement query) and hands the results back for the next
// step. So the rules are never written twice.
//
// What it guarantees:
// - every call has a deadline (`deadlineMs`): past it the call answers storage_error and its
//   connection is destroyed (the server then rolls its transaction back), so a stalled
//   database never hangs an export or piles calls up;
// - connection settings that the core's statements and the driver's escaping rely on are set
//   on every new connection (SQL mode without NO_BACKSLASH_ESCAPES, UTC, a lock wait shorter
//   than the deadline, READ COMMITTED), and a connection whose setup failed is never used;
// - a database that is down at start, or goes away, is said in one line, calls meanwhile
//   answer storage_error at once, and it connects again by itself when the database is back.
//
// Values are bound by the driver (mysql2's placeholders), never written into the SQL text.
'use strict';

// Node's own timers, in real time: on FXServer the global setTimeout is the server's, which fires
// only in server frames, by game time; a deadline on a database is about the clock on the wall.
const { setTimeout, clearTimeout } = require('timers');

/** Milliseconds between attempts to reach a database that is down. */
const RECONNECT_MS = 5000;
/** A statement with patience (see `drive`) still running after this long is said. */
const PATIENCE_NOTICE_MS = 2000;
/**
 * What each new connection runs first. READ COMMITTED for the session: the core's write
 * transactions rely on it (each read after the conversation's row is locked sees what the last
 * holder committed, and no gap locks are taken) and send no statement asking for it, which cost
 * every write one more statement in its batch. Reads outside a transaction are the same in any
 * level (each statement its own snapshot), so the whole session may have it.
 */
const SESSION_SETUP =
  "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO," +
  "NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', innodb_lock_wait_timeout = ?;\n" +
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED';

/**
 * mysql2 options from `mysql_connection_string`, in either form oxmysql reads:
 * `mysql://user:password@host:port/database?option=value` or
 * `host=...;user=...;password=...;database=...;port=...` (with oxmysql's aliases: server,
 * data source, uid, user id, pwd, db...). Throws with one line when it cannot be read.
 */
function connectionOptions(text) {
  const raw = String(text || '').trim();
  if (!raw)
    throw new Error('mysql_connection_string is empty: set it in server.cfg (as for oxmysql)');
  const options = {};
  if (/^mysql:\/\//i.test(raw)) {
    let url;
    try {
      url = new URL(raw);
    } catch (e) {
      throw new Error(`mysql_connection_string is not a valid URI (${e.message})`);
    }
    options.host = url.hostname;
    if (url.port) options.port = Number(url.port);
    if (url.username) options.user = decodeURIComponent(url.username);
    if (url.password) options.password = decodeURIComponent(url.password);
    options.database = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
    for (const [key, value] of url.searchParams) options[key] = value;
  } else {
    const aliases = {
      host: 'host',
      hostname: 'host',
      ip: 'host',
      server: 'host',
      datasource: 'host',
      'data source': 'host',
      address: 'host',
      addr: 'host',
      user: 'user',
      userid: 'user',
      'user id': 'user',
      username: 'user',
      'user name': 'user',
      uid: 'user',
      password: 'password',
      pwd: 'password',
      pass: 'password',
      database: 'database',
      db: 'database',
      port: 'port',
      socketpath: 'socketPath',
    };
    for (const part of raw.split(';')) {
      const at = part.indexOf('=');
      if (at <= 0) continue;
      const key = part.slice(0, at).trim();
      const value = part.slice(at + 1).trim();
      options[aliases[key.toLowerCase()] || key] = value;
    }
    if (options.port !== undefined) options.port = Number(options.port);
  }
  if (!options.database) throw new Error('mysql_connection_string names no database');
  if (options.port !== undefined && !(options.port > 0 && options.port < 65536)) {
    throw new Error('mysql_connection_string has an invalid port');
  }
  return options;
}

/** mysql2 `flags` (a comma-separated string or a list) with FOUND_ROWS never taken off. */
function foundRows(flags) {
  const list = Array.isArray(flags) ? flags : String(flags || '').split(',');
  return list
    .map((flag) => String(flag).trim().toUpperCase())
    .filter((flag) => flag && flag !== '-FOUND_ROWS');
}

/** Where a connection string points, for log lines (never the password). */
function describe(options) {
  const where = options.socketPath || `${options.host || 'localhost'}:${options.port || 3306}`;
  return `${options.user || '?'}@${where}/${options.database}`;
}

/**
 * A pool for `connection` (mysql_connection_string) that runs the core's steps.
 * `log(line)` is told of outages and recoveries.
 * @param {{ connection: string, log?: (line: string) => void, deadlineMs?: number,
 *   poolSize?: number, mysql2?: any }} options
 */
function createDriver({ connection, log = () => {}, deadlineMs = 5000, poolSize = 10, mysql2 }) {
  const options = connectionOptions(connection);
  const driver = mysql2 || require('mysql2');
  const where = describe(options);
  const pool = driver.createPool({
    ...options,
    // An UPDATE's affected count is the rows it matched, also those already as it would make
    // them (mysql2's default, CLIENT_FOUND_ROWS): the core reads a guarded UPDATE's count as
    // whether its conditions held, so a connection string cannot turn it off.
    flags: foundRows(options.flags),
    multipleStatements: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    dateStrings: true,
    charset: 'utf8mb4',
    connectionLimit: poolSize,
    // Calls beyond the pool wait for a connection, but never past their deadline.
    waitForConnections: true,
    queueLimit: 0,
    connectTimeout: Math.max(1000, deadlineMs),
    enableKeepAlive: true,
  });
  const lockWaitSeconds = Math.max(1, Math.floor(deadlineMs / 2000));
  pool.on('connection', (conn) => {
    // Queued ahead of anything the connection is given. A connection without these settings
    // must never run a call (a write would run in the server's default level): on failure it
    // is destroyed, so what was queued behind the setup fails and the pool opens another.
    conn.query(SESSION_SETUP, [lockWaitSeconds], (err) => {
      if (err) conn.destroy();
    });
  });
  let down = null; // the cause while the database cannot be reached

  function getConnection() {
    return new Promise((resolve, reject) => {
      pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn)));
    });
  }

  /** Runs `batch` (the core's statements) on `conn` in one round trip. */
  function runBatch(conn, batch) {
    const sql = batch.map((s) => s.sql).join(';\n');
    const values = [];
    for (const s of batch) for (const p of s.params) values.push(p);
    return new Promise((resolve, reject) => {
      conn.query({ sql, values, rowsAsArray: true }, (err, results) => {
        if (err) return reject(err);
        const list = batch.length === 1 ? [results] : results;
        resolve(
          list.map((r) =>
            Array.isArray(r)
              ? { rows: r }
              : { affected: r.affectedRows || 0, insertId: r.insertId || 0 },
          ),
        );
      });
    });
  }

  /** A server error about a statement (the core decides what it means), or null. */
  function statementError(err) {
    if (err && typeof err.errno === 'number' && err.sqlMessage !== undefined && !err.fatal) {
      return { errno: err.errno, message: String(err.sqlMessage) };
    }
    return null;
  }

  function noteDown(err) {
    const cause = err && err.message ? err.message.split('\n')[0] : String(err);
    if (down === null)
      log(
        `MySQL database ${where} unavailable: ${cause}; calls answer storage_error until it is back`,
      );
    down = cause;
  }

  function noteUp() {
    if (down !== null) log(`MySQL database ${where} reachable again`);
    down = null;
  }

  /**
   * Says `patience.notice` when the statement is still running after PATIENCE_NOTICE_MS, and
   * then, at `end()`, `patience.done` with the time it took.
   * @param {{ notice: string, done: string }} patience
   */
  function sayWhenSlow(patience) {
    const started = Date.now();
    let said = false;
    const notice = after(PATIENCE_NOTICE_MS, () => {
      said = true;
      log(patience.notice.replace('{database}', `MySQL database ${where}`));
    });
    return {
      end() {
        clearTimeout(notice);
        if (said) log(`${patience.done} ${((Date.now() - started) / 1000).toFixed(1)} s`);
      },
    };
  }

  /**
   * Drives one call from its first step to its outcome: `resume(outcome)` gives the next step,
   * `abort(op)` tells the core the call is abandoned. Resolves to the outcome; never rejects.
   * A batch holding a statement with `patience` (src/mysql/link.rs: a migration's change to a
   * table, the wait for another server's schema lock) gets that many seconds instead of the
   * call's deadline; still running after PATIENCE_NOTICE_MS, it is said, and then its end.
   */
  function drive(first, resume, abort) {
    let conn = null;
    let finished = false;
    let timer = null;
    let expire = () => {};
    const deadline = new Promise((resolve) => {
      expire = () => resolve('deadline');
      timer = after(deadlineMs, expire);
    });
    const work = (async () => {
      let step = first;
      while (step && Array.isArray(step.batch)) {
        if (!conn) conn = await getConnection();
        const patient = step.batch.find((s) => s.patience);
        const said = patient ? sayWhenSlow(patient.patience) : null;
        if (patient) {
          clearTimeout(timer);
          timer = after(patient.patience.seconds * 1000, expire);
        }
        let outcome;
        try {
          outcome = { op: step.op, results: await runBatch(conn, step.batch) };
        } catch (err) {
          const error = statementError(err);
          if (!error) throw err;
          outcome = { op: step.op, error };
        } finally {
          if (said) said.end();
        }
        if (finished) return null;
        step = resume(outcome);
      }
      return step;
    })();
    return Promise.race([
      work.then(
        (s) => ({ step: s }),
        (err) => ({ err }),
      ),
      deadline,
    ]).then((result) => {
      finished = true;
      clearTimeout(timer);
      const op = first && first.op;
      if (result === 'deadline') {
        if (conn) conn.destroy();
        else
          work.then(
            () => conn && conn.destroy(),
            () => conn && conn.destroy(),
          );
        abort(op);
        return {
          ok: false,
          code: 'storage_error',
          message: `the database did not answer within ${deadlineMs} ms`,
        };
      }
      if (result.err) {
        if (conn) conn.destroy();
        abort(op);
        noteDown(result.err);
        return {
          ok: false,
          code: 'storage_error',
          message: `database error: ${String(result.err.message).split('\n')[0]}`,
        };
      }
      noteUp();
      const step = result.step || {
        ok: false,
        code: 'storage_error',
        message: 'the core did not answer',
      };
      const cleanup = Array.isArray(step.cleanup) ? step.cleanup : [];
      delete step.cleanup;
      if (conn) {
        const used = conn;
        if (cleanup.length)
          runBatch(used, cleanup).then(
            () => used.release(),
            () => used.destroy(),
          );
        else used.release();
      }
      return step;
    });
  }

  return {
    where,
    drive,
    /** The cause while the database is unreachable, else null. */
    get down() {
      return down;
    },
    noteDown,
    noteUp,
    close() {
      return /** @type {Promise<void>} */ (new Promise((resolve) => pool.end(() => resolve())));
    },
  };
}

/** Runs `fn` after `ms` of real time, without keeping the process alive. */
function after(ms, fn) {
  const timer = setTimeout(fn, ms);
  if (timer && typeof timer.unref === 'function') timer.unref();
  return timer;
}

module.exports = { connectionOptions, createDriver, after, RECONNECT_MS };
