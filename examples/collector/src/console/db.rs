//! The console's tables: every published remote config as an immutable revision (the newest is what
//! `GET /v1/config` serves), and the audit log of every change and sign-in.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

pub(crate) const SCHEMA: &str = "
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
";

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

pub(crate) fn init(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

pub(crate) fn latest(conn: &Connection) -> rusqlite::Result<Option<Revision>> {
    conn.query_row(
        "SELECT revision, body, published_at, published_by, summary FROM config_revisions
         ORDER BY revision DESC LIMIT 1",
        [],
        revision_from_row,
    )
    .optional()
}

/// The newest first.
pub(crate) fn history(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Revision>> {
    let mut stmt = conn.prepare(
        "SELECT revision, body, published_at, published_by, summary FROM config_revisions
         ORDER BY revision DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit as i64], revision_from_row)?;
    rows.collect()
}

/// Publishes `body` as the next revision and audits it, in one transaction; `expected` is the revision the change
/// was made against: if another change landed in between, nothing is written and `Ok(None)` says so.
pub(crate) fn publish(
    conn: &mut Connection,
    expected: Option<i64>,
    body: &str,
    at: &str,
    actor: &str,
    action: &str,
) -> rusqlite::Result<Option<i64>> {
    let tx = conn.transaction()?;
    let current = latest(&tx)?;
    if current.as_ref().map(|r| r.revision) != expected {
        return Ok(None);
    }
    let revision = expected.unwrap_or(0) + 1;
    tx.execute(
        "INSERT INTO config_revisions (revision, body, published_at, published_by, summary) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![revision, body, at, actor, action],
    )?;
    audit(&tx, at, actor, action, current.as_ref().map(|r| r.body.as_str()), Some(body))?;
    tx.commit()?;
    Ok(Some(revision))
}

pub(crate) fn audit(
    conn: &Connection,
    at: &str,
    actor: &str,
    action: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO console_audit (at, actor, action, before, after) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, actor, action, before, after],
    )?;
    Ok(())
}

/// The newest first.
pub(crate) fn audit_log(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt =
        conn.prepare("SELECT at, actor, action, before, after FROM console_audit ORDER BY id DESC LIMIT ?1")?;
    let rows = stmt.query_map(params![limit as i64], |r| {
        Ok(AuditEntry { at: r.get(0)?, actor: r.get(1)?, action: r.get(2)?, before: r.get(3)?, after: r.get(4)? })
    })?;
    rows.collect()
}

fn revision_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Revision> {
    Ok(Revision {
        revision: r.get(0)?,
        body: r.get(1)?,
        published_at: r.get(2)?,
        published_by: r.get(3)?,
        summary: r.get(4)?,
    })
}
