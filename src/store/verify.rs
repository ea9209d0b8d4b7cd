//! The check of a finished stepped backup, in bounded steps too: the wasm core runs every step
//! on the server's main thread, where one `PRAGMA quick_check` of the whole copy held it for
//! ~100 ms at 100,000 messages and ~1 s at a million.
//!
//! What it checks, on its own connection to the copy (no page of it cached yet, `PRAGMA
//! cell_size_check` on, so every b-tree page read is decoded and its cells bounds-checked):
//! - the file: its size is `page_count × page_size`; the freelist's trunk pages are walked
//!   (every page number in range, as many pages as the header's `freelist_count`); every
//!   table's and index's root page is in range and no two share one;
//! - every table, read through in key order, every column of every row (a damaged page or
//!   record is SQLite's "database disk image is malformed"; overflow pages are followed), rowids
//!   strictly ascending, no NULL in a NOT NULL column;
//! - every index, read through in its own order as a covering scan (only its own pages), with
//!   as many entries as its table has rows (a partial index: rows that satisfy its WHERE);
//! - a table that turned out small (all its rows and index entries within one step's budget)
//!   also gets `PRAGMA quick_check(table)`, SQLite's own checks of its pages;
//! - last, that it is a Darkchat database this build can open.
//!
//! Not covered, against the whole-file `quick_check`: pages that no b-tree and no freelist
//! reference, or that two reference (that needs a map of every page, i.e. every tree walked
//! whole), the order of keys inside an index, and UNIQUE and foreign keys (which `quick_check`
//! skips too). The copy is SQLite's page-for-page backup of the live database, so such a fault
//! could only be the live database's own; what goes wrong in the copying (a page torn, lost or
//! garbled on its way to the disk) shows as a page that does not decode, a short file or a
//! count that does not add up.
//!
//! Invariants:
//! - A step reads at most the rows and record bytes it is given ([`Budget`]); the bookkeeping
//!   steps (the schema, the file's facts) read the schema and at most `pages` freelist pages.
//! - An open scan is a prepared statement kept across steps (its cursor keeps its place); it is
//!   finalized before the connection closes (the field order of [`Verifier`]).
//! - Every scan's query plan is checked before its first row: a plain scan of its own b-tree, no
//!   sorting (a plan that sorted would read everything in its first step).

use std::collections::{HashMap, VecDeque};
use std::ffi::{c_int, CStr, CString};
use std::path::Path;
use std::ptr::NonNull;

use rusqlite::{ffi, Connection, OpenFlags};

use crate::error::{Error, Result};

use super::migrations;

/// Rows (or index entries) a step may read per page of its budget.
pub const ROWS_PER_PAGE: i64 = 8;

/// What one step may read.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub rows: i64,
    pub bytes: i64,
    pub pages: i64,
}

impl Budget {
    /// The budget of a step that may copy `pages` pages of `page_size` bytes.
    pub fn of_pages(pages: i32, page_size: i64) -> Self {
        let pages = i64::from(pages.max(1));
        Budget { rows: pages * ROWS_PER_PAGE, bytes: pages * page_size, pages }
    }
}

/// What one step read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Read {
    /// Rows and index entries.
    pub rows: i64,
    /// Bytes of the values in them.
    pub bytes: i64,
    /// Raw pages (freelist trunks).
    pub pages: i64,
}

/// The verification of one copy, step by step.
pub struct Verifier {
    /// The scan in progress; declared before `conn` so that it is finalized first.
    scan: Option<Scan>,
    tasks: VecDeque<Task>,
    /// Rows of each table read so far, and per partial index the rows under its WHERE.
    rows: HashMap<String, i64>,
    /// Per table: rows + index entries and their bytes, to tell whether it is small.
    sizes: HashMap<String, (i64, i64)>,
    page_size: i64,
    page_count: i64,
    conn: Connection,
}

enum Task {
    /// The file's facts and the freelist's first trunk.
    File,
    /// The freelist from this trunk page on, with the pages met so far.
    Freelist {
        trunk: i64,
        seen: i64,
        expected: i64,
    },
    Table(TableScan),
    Index(IndexScan),
    /// `PRAGMA quick_check(table)` if the table turned out small.
    Small {
        table: String,
    },
    Recognised,
}

struct TableScan {
    name: String,
    rowid: bool,
    /// Columns of the result that must not be NULL, with their names.
    not_null: Vec<(c_int, String)>,
    /// Partial indexes of the table, in the order their WHERE is appended to the result.
    partial: Vec<(String, String)>,
}

struct IndexScan {
    name: String,
    table: String,
    columns: Vec<(String, Option<String>, bool)>,
    with_rowid: bool,
    partial: Option<String>,
}

/// A statement kept open across steps.
struct Scan {
    stmt: NonNull<ffi::sqlite3_stmt>,
    what: Kind,
    rows: i64,
    bytes: i64,
    last_rowid: Option<i64>,
    /// Per partial index (in the table scan's result order), rows under its WHERE.
    partial_rows: Vec<i64>,
}

enum Kind {
    Table(TableScan),
    Index(IndexScan),
}

impl Drop for Scan {
    fn drop(&mut self) {
        // SAFETY: prepared on the verifier's connection, which outlives it (field order).
        unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
    }
}

/// A name as an SQL identifier (the names come from the copy's schema).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn malformed(what: String) -> Error {
    Error::Unusable(format!("the copy failed its check: {what}"))
}

impl Verifier {
    /// Opens the finished copy at `path` for checking (nothing read yet but its header).
    pub fn open(path: &Path) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        conn.pragma_update(None, "cell_size_check", true)?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(Verifier {
            scan: None,
            tasks: VecDeque::from([Task::File]),
            rows: HashMap::new(),
            sizes: HashMap::new(),
            page_size: 0,
            page_count: 0,
            conn,
        })
    }

    /// The page size of the copy (after the first step).
    pub fn page_size(&self) -> i64 {
        self.page_size
    }

    /// Reads at most `budget`; `Ok(None)` once everything is checked.
    pub fn step(&mut self, budget: Budget) -> Result<Option<Read>> {
        let mut read = Read::default();
        loop {
            if read.rows >= budget.rows || read.bytes >= budget.bytes || read.pages >= budget.pages
            {
                return Ok(Some(read));
            }
            if self.scan.is_some() {
                let finished = self.advance(budget, &mut read)?;
                if finished {
                    self.finish_scan()?;
                }
                continue;
            }
            let Some(task) = self.tasks.pop_front() else {
                // What this step read is told; the next one says it is over.
                return Ok((read != Read::default()).then_some(read));
            };
            match task {
                Task::File => {
                    let expected = self.file_facts()?;
                    let first = self.header_u32(32)?;
                    self.tasks.push_front(Task::Freelist { trunk: first, seen: 0, expected });
                    // The schema and the facts: one step of their own.
                    read.pages += 1;
                    return Ok(Some(read));
                }
                Task::Freelist { trunk, seen, expected } => {
                    self.freelist(trunk, seen, expected, budget, &mut read)?;
                }
                Task::Table(table) => self.start_table(table)?,
                Task::Index(index) => self.start_index(index)?,
                Task::Small { table } => {
                    let (rows, bytes) = self.sizes.get(&table).copied().unwrap_or_default();
                    // Small: within what this step may still read.
                    if rows <= budget.rows - read.rows && bytes <= budget.bytes - read.bytes {
                        let sql = format!("PRAGMA main.quick_check({})", ident(&table));
                        let verdict: String = self.conn.query_row(&sql, [], |r| r.get(0))?;
                        if verdict != "ok" {
                            return Err(malformed(format!("{table}: {verdict}")));
                        }
                        read.rows += rows;
                        read.bytes += bytes;
                    }
                }
                Task::Recognised => {
                    migrations::check_recognised(&self.conn)?;
                    read.pages += 1;
                }
            }
        }
    }

    /// The file's facts and the schema's tasks; returns the freelist's page count.
    fn file_facts(&mut self) -> Result<i64> {
        let conn = &self.conn;
        self.page_size = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        self.page_count = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let freelist: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        let size = self.file_size()?;
        if size != self.page_count * self.page_size {
            return Err(malformed(format!(
                "the file holds {size} bytes, not {} pages of {}",
                self.page_count, self.page_size
            )));
        }
        if freelist < 0 || freelist >= self.page_count {
            return Err(malformed(format!("{freelist} free pages of {} in all", self.page_count)));
        }
        let mut objects = Vec::new();
        {
            let mut stmt = conn.prepare(
                "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema \
                 WHERE type IN ('table', 'index') ORDER BY type DESC, name",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let kind: String = row.get(0)?;
                let name: String = row.get(1)?;
                let table: String = row.get(2)?;
                let root: i64 = row.get(3)?;
                let sql: Option<String> = row.get(4)?;
                objects.push((kind, name, table, root, sql));
            }
        }
        let mut roots: HashMap<i64, &str> = HashMap::new();
        let mut table_roots: HashMap<&str, i64> = HashMap::new();
        for (kind, name, _, root, _) in &objects {
            if kind == "table" {
                table_roots.insert(name, *root);
            }
        }
        for (kind, name, table, root, _) in &objects {
            // A virtual table has none; a WITHOUT ROWID table's primary key is the table.
            if *root == 0 || (kind == "index" && table_roots.get(table.as_str()) == Some(root)) {
                continue;
            }
            if *root < 1 || *root > self.page_count {
                return Err(malformed(format!("{name}: root page {root} out of range")));
            }
            if let Some(other) = roots.insert(*root, name) {
                return Err(malformed(format!("{name} and {other} share root page {root}")));
            }
        }
        let mut tasks = VecDeque::new();
        for (kind, name, _, root, _) in &objects {
            if kind != "table" || *root == 0 {
                continue;
            }
            let rowid: bool = conn.query_row(
                "SELECT NOT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
                [name],
                |r| r.get(0),
            )?;
            let mut not_null = Vec::new();
            {
                let mut stmt =
                    conn.prepare("SELECT cid, name, \"notnull\" FROM pragma_table_info(?1)")?;
                let mut rows = stmt.query([name])?;
                while let Some(row) = rows.next()? {
                    let (cid, column, nn): (c_int, String, bool) =
                        (row.get(0)?, row.get(1)?, row.get(2)?);
                    if nn {
                        not_null.push((cid + c_int::from(rowid), column));
                    }
                }
            }
            let mut partial = Vec::new();
            let mut indexes = Vec::new();
            for (kind, index, table, root, sql) in &objects {
                if kind != "index" || table != name || table_roots.get(table.as_str()) == Some(root)
                {
                    continue;
                }
                let condition = sql.as_deref().and_then(partial_condition);
                if let Some(condition) = &condition {
                    partial.push((index.clone(), condition.clone()));
                }
                let mut columns = Vec::new();
                let mut with_rowid = false;
                let mut stmt = conn.prepare(
                    "SELECT cid, name, \"desc\", coll, key FROM pragma_index_xinfo(?1) ORDER BY seqno",
                )?;
                let mut rows = stmt.query([index])?;
                while let Some(row) = rows.next()? {
                    let cid: i64 = row.get(0)?;
                    let column: Option<String> = row.get(1)?;
                    let desc: bool = row.get(2)?;
                    let coll: Option<String> = row.get(3)?;
                    let key: bool = row.get(4)?;
                    match (cid, column) {
                        (-1, _) => with_rowid = true,
                        (c, Some(column)) if c >= 0 => {
                            columns.push((column, if key { coll } else { None }, desc && key))
                        }
                        _ => {
                            return Err(malformed(format!(
                                "{index}: an index on an expression, which this check cannot read in steps"
                            )))
                        }
                    }
                }
                indexes.push(IndexScan {
                    name: index.clone(),
                    table: name.clone(),
                    columns,
                    with_rowid,
                    partial: condition,
                });
            }
            tasks.push_back(Task::Table(TableScan {
                name: name.clone(),
                rowid,
                not_null,
                partial,
            }));
            tasks.extend(indexes.into_iter().map(Task::Index));
            tasks.push_back(Task::Small { table: name.clone() });
        }
        tasks.push_back(Task::Recognised);
        self.tasks.extend(tasks);
        Ok(freelist)
    }

    /// The copy's size in bytes, from its file as SQLite sees it.
    fn file_size(&self) -> Result<i64> {
        let file = self.file()?;
        let mut size: ffi::sqlite3_int64 = 0;
        // SAFETY: an open file of an open connection; xFileSize is mandatory in a VFS.
        let rc = unsafe {
            let methods = (*file.as_ptr()).pMethods;
            ((*methods).xFileSize.expect("xFileSize"))(file.as_ptr(), &mut size)
        };
        if rc != ffi::SQLITE_OK {
            return Err(sqlite_error(rc, "cannot size the copy"));
        }
        Ok(size)
    }

    fn file(&self) -> Result<NonNull<ffi::sqlite3_file>> {
        let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
        // SAFETY: an open connection; the file pointer lives as long as it.
        let rc = unsafe {
            ffi::sqlite3_file_control(
                self.conn.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&mut file as *mut *mut ffi::sqlite3_file).cast(),
            )
        };
        match NonNull::new(file) {
            Some(file)
                if rc == ffi::SQLITE_OK && unsafe { !(*file.as_ptr()).pMethods.is_null() } =>
            {
                Ok(file)
            }
            _ => Err(sqlite_error(rc, "the copy's file is not open")),
        }
    }

    /// `len` bytes of the file at `offset`.
    fn read_raw(&self, offset: i64, len: usize) -> Result<Vec<u8>> {
        let file = self.file()?;
        let mut buf = vec![0u8; len];
        // SAFETY: as in file_size; the buffer holds `len` bytes.
        let rc = unsafe {
            let methods = (*file.as_ptr()).pMethods;
            ((*methods).xRead.expect("xRead"))(
                file.as_ptr(),
                buf.as_mut_ptr().cast(),
                len as c_int,
                offset,
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(malformed(format!("cannot read {len} bytes at {offset} (code {rc})")));
        }
        Ok(buf)
    }

    fn header_u32(&self, offset: i64) -> Result<i64> {
        let b = self.read_raw(offset, 4)?;
        Ok(i64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    }

    /// Walks the freelist's trunk pages, at most the budget's pages in this step.
    fn freelist(
        &mut self,
        mut trunk: i64,
        mut seen: i64,
        expected: i64,
        budget: Budget,
        read: &mut Read,
    ) -> Result<()> {
        // Leaf page numbers a trunk may hold.
        let capacity = self.page_size / 4 - 2;
        while trunk != 0 {
            if read.pages >= budget.pages {
                self.tasks.push_front(Task::Freelist { trunk, seen, expected });
                return Ok(());
            }
            if trunk < 2 || trunk > self.page_count || seen >= expected {
                return Err(malformed(format!("freelist trunk page {trunk} after {seen} pages")));
            }
            let page = self.read_raw((trunk - 1) * self.page_size, self.page_size as usize)?;
            read.pages += 1;
            let word = |i: usize| {
                i64::from(u32::from_be_bytes([page[i], page[i + 1], page[i + 2], page[i + 3]]))
            };
            let leaves = word(4);
            if leaves < 0 || leaves > capacity {
                return Err(malformed(format!("freelist trunk page {trunk} lists {leaves} pages")));
            }
            for i in 0..leaves as usize {
                let leaf = word(8 + 4 * i);
                if leaf < 2 || leaf > self.page_count {
                    return Err(malformed(format!(
                        "free page {leaf} out of range (trunk {trunk})"
                    )));
                }
            }
            seen += 1 + leaves;
            trunk = word(0);
        }
        if seen != expected {
            return Err(malformed(format!(
                "the freelist holds {seen} pages, the header says {expected}"
            )));
        }
        Ok(())
    }

    fn start_table(&mut self, table: TableScan) -> Result<()> {
        let mut select = if table.rowid { "rowid, *".to_owned() } else { "*".to_owned() };
        for (_, condition) in &table.partial {
            select.push_str(&format!(", ({condition})"));
        }
        let sql = format!("SELECT {select} FROM main.{} NOT INDEXED", ident(&table.name));
        self.check_plan(&sql, &table.name, None)?;
        let partial_rows = vec![0; table.partial.len()];
        let stmt = self.prepare(&sql)?;
        self.scan = Some(Scan {
            stmt,
            what: Kind::Table(table),
            rows: 0,
            bytes: 0,
            last_rowid: None,
            partial_rows,
        });
        Ok(())
    }

    fn start_index(&mut self, index: IndexScan) -> Result<()> {
        let mut select: Vec<String> = index.columns.iter().map(|(c, _, _)| ident(c)).collect();
        if index.with_rowid {
            select.push("rowid".into());
        }
        let order: Vec<String> = index
            .columns
            .iter()
            .filter(|(_, coll, _)| coll.is_some())
            .map(|(c, coll, desc)| {
                format!(
                    "{} COLLATE {}{}",
                    ident(c),
                    ident(coll.as_deref().unwrap_or("BINARY")),
                    if *desc { " DESC" } else { "" }
                )
            })
            .collect();
        let mut sql = format!(
            "SELECT {} FROM main.{} INDEXED BY {}",
            select.join(", "),
            ident(&index.table),
            ident(&index.name)
        );
        if let Some(condition) = &index.partial {
            sql.push_str(&format!(" WHERE {condition}"));
        }
        if !order.is_empty() {
            sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
        }
        self.check_plan(&sql, &index.table, Some(&index.name))?;
        let stmt = self.prepare(&sql)?;
        self.scan = Some(Scan {
            stmt,
            what: Kind::Index(index),
            rows: 0,
            bytes: 0,
            last_rowid: None,
            partial_rows: Vec::new(),
        });
        Ok(())
    }

    /// A scan's plan must read its own b-tree in order, nothing else, and sort nothing.
    fn check_plan(&self, sql: &str, table: &str, index: Option<&str>) -> Result<()> {
        let mut stmt = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let details: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(3))?
            .map(|d| d.map(|d| d.replace("main.", "")))
            .collect::<rusqlite::Result<_>>()?;
        let plan = details.join("; ");
        let fits = match index {
            // A partial index's WHERE may be read as a range of it: still one ordered pass. A
            // WITHOUT ROWID table's index may not count as covering: then each entry also looks
            // its row up, still a bounded amount of work per entry.
            Some(index) => ["SCAN", "SEARCH"].iter().any(|how| {
                ["COVERING INDEX", "INDEX"].iter().any(|using| {
                    details[0].starts_with(&format!("{how} {table} USING {using} {index}"))
                })
            }),
            None => details[0] == format!("SCAN {table}"),
        };
        if details.len() != 1 || !fits {
            return Err(malformed(format!(
                "cannot read {} in steps: its plan is {plan}",
                index.unwrap_or(table)
            )));
        }
        Ok(())
    }

    fn prepare(&self, sql: &str) -> Result<NonNull<ffi::sqlite3_stmt>> {
        let text = CString::new(sql).map_err(|_| Error::invalid("name"))?;
        let mut stmt: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
        // SAFETY: an open connection; a NUL-terminated statement.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                self.conn.handle(),
                text.as_ptr(),
                -1,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        match NonNull::new(stmt) {
            Some(stmt) if rc == ffi::SQLITE_OK => Ok(stmt),
            Some(stmt) => {
                // SAFETY: prepared just now.
                unsafe { ffi::sqlite3_finalize(stmt.as_ptr()) };
                Err(self.error(rc))
            }
            None => Err(self.error(rc)),
        }
    }

    fn error(&self, rc: c_int) -> Error {
        // SAFETY: an open connection.
        let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.conn.handle())) };
        malformed(format!("{} ({rc})", message.to_string_lossy()))
    }

    /// Reads rows of the open scan within the budget; whether it reached its end.
    fn advance(&mut self, budget: Budget, read: &mut Read) -> Result<bool> {
        let scan = self.scan.as_mut().expect("a scan is open");
        let stmt = scan.stmt.as_ptr();
        while read.rows < budget.rows && read.bytes < budget.bytes {
            // SAFETY: a live statement of the verifier's connection.
            let rc = unsafe { ffi::sqlite3_step(stmt) };
            if rc == ffi::SQLITE_DONE {
                return Ok(true);
            }
            if rc != ffi::SQLITE_ROW {
                // SAFETY: as above.
                let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.conn.handle())) };
                let name = match &scan.what {
                    Kind::Table(t) => &t.name,
                    Kind::Index(i) => &i.name,
                };
                return Err(malformed(format!(
                    "{name}, after {} rows: {} ({rc})",
                    scan.rows,
                    message.to_string_lossy()
                )));
            }
            scan.rows += 1;
            read.rows += 1;
            // SAFETY: as above, on a row.
            let columns = unsafe { ffi::sqlite3_column_count(stmt) };
            let mut bytes = 0;
            for i in 0..columns {
                // SAFETY: as above; `i` within the row.
                bytes += i64::from(unsafe { ffi::sqlite3_column_bytes(stmt, i) }).max(8);
            }
            read.bytes += bytes;
            scan.bytes += bytes;
            if let Kind::Table(table) = &scan.what {
                if table.rowid {
                    // SAFETY: as above.
                    let rowid = unsafe { ffi::sqlite3_column_int64(stmt, 0) };
                    if scan.last_rowid.is_some_and(|last| rowid <= last) {
                        return Err(malformed(format!(
                            "{}: rowid {rowid} out of order",
                            table.name
                        )));
                    }
                    scan.last_rowid = Some(rowid);
                }
                for (column, name) in &table.not_null {
                    // SAFETY: as above.
                    if unsafe { ffi::sqlite3_column_type(stmt, *column) } == ffi::SQLITE_NULL {
                        return Err(malformed(format!("NULL value in {}.{name}", table.name)));
                    }
                }
                let first = columns - table.partial.len() as c_int;
                for (i, count) in scan.partial_rows.iter_mut().enumerate() {
                    let column = first + i as c_int;
                    // SAFETY: as above.
                    let holds = unsafe {
                        ffi::sqlite3_column_type(stmt, column) != ffi::SQLITE_NULL
                            && ffi::sqlite3_column_double(stmt, column) != 0.0
                    };
                    *count += i64::from(holds);
                }
            }
        }
        Ok(false)
    }

    /// Books a finished scan's counts; an index must hold one entry per row it covers.
    fn finish_scan(&mut self) -> Result<()> {
        let scan = self.scan.take().expect("a scan is open");
        let bytes = scan.bytes;
        match &scan.what {
            Kind::Table(table) => {
                self.rows.insert(table.name.clone(), scan.rows);
                for ((index, _), count) in table.partial.iter().zip(&scan.partial_rows) {
                    self.rows.insert(format!("{index}\0partial"), *count);
                }
                let size = self.sizes.entry(table.name.clone()).or_default();
                size.0 += scan.rows;
                size.1 += bytes;
            }
            Kind::Index(index) => {
                let key = match index.partial {
                    Some(_) => format!("{}\0partial", index.name),
                    None => index.table.clone(),
                };
                let expected = self.rows.get(&key).copied().unwrap_or(-1);
                if expected != scan.rows {
                    return Err(malformed(format!(
                        "index {} holds {} entries for {expected} rows of {}",
                        index.name, scan.rows, index.table
                    )));
                }
                let size = self.sizes.entry(index.table.clone()).or_default();
                size.0 += scan.rows;
                size.1 += bytes;
            }
        }
        Ok(())
    }
}

fn sqlite_error(rc: c_int, what: &str) -> Error {
    Error::Storage(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), Some(what.into())))
}

/// The WHERE of a partial index's `CREATE INDEX` text, if any.
fn partial_condition(sql: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    let boundary =
        |b: Option<&u8>| b.is_none_or(|b| b.is_ascii_whitespace() || *b == b'(' || *b == b')');
    let at = upper.match_indices("WHERE").map(|(at, _)| at).find(|&at| {
        boundary(at.checked_sub(1).and_then(|i| bytes.get(i))) && boundary(bytes.get(at + 5))
    })?;
    Some(sql[at + 5..].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::partial_condition;

    /// The WHERE of a partial index is taken from the schema's text, whatever its case and
    /// layout, and a WHERE that is only part of a name is not one.
    #[test]
    fn a_partial_index_condition_is_read_from_its_create_text() {
        let ours =
            "CREATE INDEX messages_replies ON messages (reply_to) WHERE reply_to IS NOT NULL";
        assert_eq!(partial_condition(ours).as_deref(), Some("reply_to IS NOT NULL"));
        let laid_out = "create index i on t(x)\n  where(x > 0)";
        assert_eq!(partial_condition(laid_out).as_deref(), Some("(x > 0)"));
        assert_eq!(partial_condition("CREATE INDEX i ON t (x, y)"), None);
        assert_eq!(partial_condition("CREATE INDEX nowhere ON t (somewhere)"), None);
        let named = "CREATE INDEX wherever ON t (x) WHERE x IS NOT NULL";
        assert_eq!(partial_condition(named).as_deref(), Some("x IS NOT NULL"));
    }
}
