//! The MySQL/MariaDB schema: the numbered files of `migrations/mysql/`, embedded at build time
//! and applied in order when a server connects.
//!
//! Several servers may start together on one database, so the steps run under a named lock
//! (`GET_LOCK`), and each statement is recorded in `darkchat_schema` once it has run: DDL
//! commits on its own in MySQL (there is no transaction to roll a half-applied file back), so
//! a start that stopped half-way resumes at the next statement instead of repeating one.
//! Never edit or reorder a released step: append a new file and a line to [`MIGRATIONS`].
//! A database whose schema is newer than this build is refused, never touched.

use super::link::{Link, Outcome, Patience, Shared, Statement, Value};
use crate::error::{Error, Result};

/// (file name, SQL), in order. Version N means the first N files are applied.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_initial.sql", include_str!("../../migrations/mysql/0001_initial.sql")),
    ("0002_anonymity.sql", include_str!("../../migrations/mysql/0002_anonymity.sql")),
    ("0003_message_features.sql", include_str!("../../migrations/mysql/0003_message_features.sql")),
    ("0004_staff_tools.sql", include_str!("../../migrations/mysql/0004_staff_tools.sql")),
    ("0005_change_log.sql", include_str!("../../migrations/mysql/0005_change_log.sql")),
    ("0006_imports.sql", include_str!("../../migrations/mysql/0006_imports.sql")),
    ("0007_retention.sql", include_str!("../../migrations/mysql/0007_retention.sql")),
];

/// The oldest servers whose AUTO_INCREMENT counters survive a restart (so ids are never handed
/// out twice): MariaDB 10.2.4 and MySQL 8.0. Checked at connect time.
pub const MINIMUM_MARIADB: (u32, u32) = (10, 3);
pub const MINIMUM_MYSQL: (u32, u32) = (8, 0);

/// Seconds a starting server waits for another one that is migrating.
const LOCK_WAIT_SECONDS: i64 = 60;
/// Seconds one migration statement may run: a change to a large table rebuilds it (MySQL 0007's
/// index over 5,000,000 messages took 8 s on the development VM).
const STATEMENT_SECONDS: i64 = 30 * 60;

/// The statements of one migration file, in order (split at `;` ending a line; comments and
/// blank lines dropped). The files hold no `;` inside a statement's text.
pub fn statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut offset = 0;
    for line in sql.split_inclusive('\n') {
        let trimmed = line.trim();
        let is_code = !trimmed.is_empty() && !trimmed.starts_with("--");
        if is_code && start.is_none() {
            start = Some(offset);
        }
        offset += line.len();
        if is_code && trimmed.ends_with(';') {
            let text = sql[start.take().unwrap_or(0)..offset].trim();
            out.push(text.trim_end_matches(';').trim_end());
        }
    }
    out
}

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Checks the server, brings the schema up to date and returns its version.
pub async fn migrate(link: &Shared) -> Result<i64> {
    check_server(link).await?;
    let Outcome::Rows { rows: got } = Link::run_statement(link, schema_lock()).await? else {
        return Err(Error::Internal("no rows from GET_LOCK".into()));
    };
    if got.first().and_then(|row| row.first()) != Some(&Value::Int(1)) {
        return Err(Error::Unusable(format!(
            "another server kept the schema lock for {LOCK_WAIT_SECONDS} s (migrating?); try again"
        )));
    }
    let result = apply(link).await;
    // Named locks belong to the connection, which goes back to the pool: release it always.
    Link::defer(link, "SELECT RELEASE_LOCK('darkchat_schema')", vec![]);
    let version = result?;
    Link::run(link, "DO 0", vec![]).await?; // sends the release
    Ok(version)
}

/// Takes the schema lock, waiting while another server migrates: that wait has the patience of
/// its own length, and time for the answer (then `migrate` says the lock was kept too long).
fn schema_lock() -> Statement {
    let notice = format!(
        "{{database}}: another server is migrating it (it holds the schema lock); waiting up to \
         {LOCK_WAIT_SECONDS} s, calls answer storage_error meanwhile"
    );
    Statement::new("SELECT GET_LOCK('darkchat_schema', ?)", vec![LOCK_WAIT_SECONDS.into()]).patient(
        Patience { seconds: LOCK_WAIT_SECONDS + 5, notice, done: "the schema lock was free after" },
    )
}

async fn check_server(link: &Shared) -> Result<()> {
    let rows = Link::rows(link, "SELECT VERSION()", vec![]).await?;
    let version = match rows.first().and_then(|row| row.first()) {
        Some(Value::Text(v)) => v.clone(),
        other => {
            return Err(Error::Unusable(format!("the server did not say its version ({other:?})")))
        }
    };
    let mut parts =
        version.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse::<u32>().ok());
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let (product, minimum) = if version.to_ascii_lowercase().contains("mariadb") {
        ("MariaDB", MINIMUM_MARIADB)
    } else {
        ("MySQL", MINIMUM_MYSQL)
    };
    if found < minimum {
        return Err(Error::Unusable(format!(
            "{product} {version} is too old: Darkchat needs {product} {}.{} or newer",
            minimum.0, minimum.1
        )));
    }
    Ok(())
}

async fn apply(link: &Shared) -> Result<i64> {
    Link::run(
        link,
        "CREATE TABLE IF NOT EXISTS darkchat_schema (version INT NOT NULL PRIMARY KEY, \
         statements INT NOT NULL, complete TINYINT NOT NULL) ENGINE = InnoDB",
        vec![],
    )
    .await?;
    let rows =
        Link::rows(link, "SELECT version, statements, complete FROM darkchat_schema", vec![])
            .await?;
    let mut applied = vec![0usize; MIGRATIONS.len()];
    for row in rows {
        let number = |i: usize| match row.get(i) {
            Some(Value::Int(n)) => *n,
            _ => 0,
        };
        let (version, done) = (number(0), number(1));
        if version > latest_version() {
            return Err(Error::Unusable(format!(
                "database schema version {version} is newer than this build supports ({}); \
                 refusing to touch it (update the resource)",
                latest_version()
            )));
        }
        if version >= 1 {
            applied[version as usize - 1] = done.max(0) as usize;
        }
    }
    for (index, (_, sql)) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        let steps = statements(sql);
        for (step, statement) in steps.iter().enumerate().skip(applied[index]) {
            Link::defer_statement(link, migration_statement(statement));
            let complete = i64::from(step + 1 == steps.len());
            Link::run(
                link,
                "INSERT INTO darkchat_schema (version, statements, complete) VALUES (?, ?, ?) \
                 ON DUPLICATE KEY UPDATE statements = VALUES(statements), complete = VALUES(complete)",
                vec![version.into(), (step as i64 + 1).into(), complete.into()],
            )
            .await?;
        }
    }
    Ok(latest_version())
}

/// A statement of a migration file, with the patience of one that may rebuild a large table,
/// named in its notice by its text on one line.
fn migration_statement(statement: &str) -> Statement {
    let one_line: String = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    let what: String = one_line.chars().take(160).collect();
    Statement::new(statement_text(statement), vec![]).patient(Patience {
        seconds: STATEMENT_SECONDS,
        notice: format!(
            "migrating {{database}}: {what} is taking a while (a large table); calls answer \
             storage_error until it is done"
        ),
        done: "migrating: done in",
    })
}

/// A statement of an embedded file, as the `&'static str` a [`super::link::Statement`] holds.
fn statement_text(statement: &str) -> &'static str {
    MIGRATIONS
        .iter()
        .find_map(|(_, sql)| {
            let start = sql.find(statement)?;
            Some(&sql[start..start + statement.len()])
        })
        .unwrap_or("DO 0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_migrations_mysql_is_embedded_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/mysql");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<&str> = MIGRATIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(files, embedded);
    }

    #[test]
    fn files_split_into_their_statements() {
        let sql = "-- a comment; with a semicolon\nCREATE TABLE a (\n  x INT -- note\n);\n\nCREATE TABLE b (y INT);\n";
        assert_eq!(
            statements(sql),
            vec!["CREATE TABLE a (\n  x INT -- note\n)", "CREATE TABLE b (y INT)"]
        );
        let initial = statements(MIGRATIONS[0].1);
        assert_eq!(initial.len(), 5);
        assert!(initial.iter().all(|s| s.starts_with("CREATE TABLE IF NOT EXISTS darkchat_")));
    }
}
