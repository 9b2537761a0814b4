//! The console's tables: every published remote config as an immutable revision (the newest is what
//! `GET /v1/config` serves), the audit log of every change and sign-in, and the sessions and sign-in lock
//! (`session.rs`, `throttle.rs`).

use serde::Serialize;

use crate::db::{args, migrate, Database, DbError, Migration, Row, Sql};
use crate::timefmt::now_rfc3339_ms;

const MIGRATIONS: [Migration; 2] = [
    Migration {
        version: 1,
        name: "config revisions, audit log",
        // IF NOT EXISTS: a file from before versioned migrations is adopted as it is.
        sqlite: "
CREATE TABLE IF NOT EXISTS config_revisions (
    revision    INTEGER PRIMARY KEY,              -- 1, 2, ...: never edited, never reused
    body        TEXT NOT NULL,                    -- the whole document served by GET /v1/config
    published_at TEXT NOT NULL,                   -- RFC 3339
    published_by TEXT NOT NULL,
    summary     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS console_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,                    -- RFC 3339
    actor       TEXT NOT NULL,                    -- the admin user, or the name tried at a failed sign-in
    action      TEXT NOT NULL,
    before      TEXT,                             -- JSON, when the action changed something
    after       TEXT
);
",
        postgres: "
CREATE TABLE config_revisions (
    revision    BIGINT PRIMARY KEY,
    body        TEXT NOT NULL,
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL,
    summary     TEXT NOT NULL
);
CREATE TABLE console_audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    before      TEXT,
    after       TEXT
);
",
    },
    Migration {
        version: 2,
        name: "sessions and the sign-in lock, shared by every instance",
        sqlite: "
CREATE TABLE console_sessions (
    token_hash  TEXT PRIMARY KEY,                 -- SHA-256 of the cookie, hex: the table alone opens no session
    user_name   TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL                  -- Unix seconds
);
CREATE TABLE console_sign_in (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    failures    INTEGER NOT NULL,                 -- refused passwords in a row
    locked_until INTEGER NOT NULL                 -- Unix seconds; 0: not locked
);
INSERT INTO console_sign_in(id, failures, locked_until) VALUES (1, 0, 0);
",
        postgres: "
CREATE TABLE console_sessions (
    token_hash  TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE TABLE console_sign_in (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    failures    BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
INSERT INTO console_sign_in(id, failures, locked_until) VALUES (1, 0, 0);
",
    },
];

/// One published config document.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Revision {
    pub revision: i64,
    pub body: String,
    pub published_at: String,
    pub published_by: String,
    pub summary: String,
}

/// One line of the audit log.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub(crate) fn init(db: &Database) -> Result<(), DbError> {
    migrate(db, "console", &MIGRATIONS, &now_rfc3339_ms())
}

pub(crate) fn latest(tx: &mut dyn Sql) -> Result<Option<Revision>, DbError> {
    tx.query_opt(
        "SELECT revision, body, published_at, published_by, summary FROM config_revisions
         ORDER BY revision DESC LIMIT 1",
        &[],
    )?
    .as_ref()
    .map(revision_from_row)
    .transpose()
}

/// The newest first.
pub(crate) fn history(tx: &mut dyn Sql, limit: usize) -> Result<Vec<Revision>, DbError> {
    let rows = tx.query(
        "SELECT revision, body, published_at, published_by, summary FROM config_revisions
         ORDER BY revision DESC LIMIT ?1",
        &args![limit as i64],
    )?;
    rows.iter().map(revision_from_row).collect()
}

/// Publishes `body` as the next revision and audits it, in the caller's transaction (a `Lock::Config` one, so
/// writers on other instances wait); `expected` is the revision the change was made against: if another change
/// landed in between, nothing is written and `Ok(None)` says so.
pub(crate) fn publish(
    tx: &mut dyn Sql,
    expected: Option<i64>,
    body: &str,
    at: &str,
    actor: &str,
    action: &str,
) -> Result<Option<i64>, DbError> {
    let current = latest(tx)?;
    if current.as_ref().map(|r| r.revision) != expected {
        return Ok(None);
    }
    let revision = expected.unwrap_or(0) + 1;
    tx.execute(
        "INSERT INTO config_revisions (revision, body, published_at, published_by, summary) VALUES (?1, ?2, ?3, ?4, ?5)",
        &args![revision, body, at, actor, action],
    )?;
    audit(tx, at, actor, action, current.as_ref().map(|r| r.body.as_str()), Some(body))?;
    Ok(Some(revision))
}

pub(crate) fn audit(
    tx: &mut dyn Sql,
    at: &str,
    actor: &str,
    action: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO console_audit (at, actor, action, before, after) VALUES (?1, ?2, ?3, ?4, ?5)",
        &args![at, actor, action, before, after],
    )?;
    Ok(())
}

/// The newest first.
pub(crate) fn audit_log(tx: &mut dyn Sql, limit: usize) -> Result<Vec<AuditEntry>, DbError> {
    let rows = tx.query(
        "SELECT at, actor, action, before, after FROM console_audit ORDER BY id DESC LIMIT ?1",
        &args![limit as i64],
    )?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry { at: r.get(0)?, actor: r.get(1)?, action: r.get(2)?, before: r.get(3)?, after: r.get(4)? })
        })
        .collect()
}

fn revision_from_row(r: &Row) -> Result<Revision, DbError> {
    Ok(Revision {
        revision: r.get(0)?,
        body: r.get(1)?,
        published_at: r.get(2)?,
        published_by: r.get(3)?,
        summary: r.get(4)?,
    })
}
