//! SQLite storage: one row per distinct `messageId`, plus counters for duplicates and batches so the stats
//! survive restarts and can be read from another process.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::error::CollectorError;
use crate::timefmt::now_rfc3339_ms;
use crate::validate::Batch;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    rx          INTEGER PRIMARY KEY AUTOINCREMENT, -- received order
    id          TEXT NOT NULL UNIQUE,              -- messageId: the dedupe key
    type        TEXT NOT NULL,
    name        TEXT,
    properties  TEXT NOT NULL,
    purpose     TEXT,
    timestamp   TEXT NOT NULL,
    anonymous_id TEXT,
    user_id     TEXT,
    session_id  TEXT,
    seq         INTEGER,
    sent_at     TEXT,
    received_at TEXT NOT NULL,
    raw         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters (name, value) VALUES ('duplicates', 0), ('batches', 0);
";

/// Totals since the database was created.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Distinct events stored.
    pub events: u64,
    /// Messages received again (or twice in one batch) and not stored again.
    pub duplicates: u64,
    /// Batches stored (injected failures and rejected batches are not counted).
    pub batches: u64,
}

/// One stored event as read back.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: String,
    pub r#type: String,
    pub name: Option<String>,
    /// `properties` for track, `traits` for identify.
    pub properties: serde_json::Value,
    pub purpose: Option<String>,
    pub timestamp: String,
    pub anonymous_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub seq: Option<i64>,
    pub sent_at: Option<String>,
    pub received_at: String,
}

/// The outcome of storing one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stored {
    pub accepted: u64,
    pub duplicates: u64,
}

/// The server's single writable connection; callers run it off the async workers (spawn_blocking).
pub(crate) struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, CollectorError> {
        let err = CollectorError::db(path);
        let conn = Connection::open(path).map_err(CollectorError::db(path))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(CollectorError::db(path))?;
        // WAL lets `footfall collector stats` read while this process writes.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(CollectorError::db(path))?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(CollectorError::db(path))?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Store { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    pub fn store(&self, batch: &Batch) -> Result<Stored, CollectorError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(CollectorError::db(&self.path))?;
        let received_at = now_rfc3339_ms();
        let mut stored = Stored { accepted: 0, duplicates: 0 };
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO events (id, type, name, properties, purpose, timestamp, anonymous_id, user_id,
                     session_id, seq, sent_at, received_at, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(CollectorError::db(&self.path))?;
            for m in &batch.messages {
                let inserted = insert
                    .execute(params![
                        m.id,
                        m.kind,
                        m.name,
                        m.properties.to_string(),
                        m.purpose,
                        m.timestamp,
                        m.anonymous_id,
                        m.user_id,
                        m.session_id,
                        m.seq,
                        batch.sent_at,
                        received_at,
                        m.raw
                    ])
                    .map_err(CollectorError::db(&self.path))?;
                if inserted == 1 {
                    stored.accepted += 1;
                } else {
                    stored.duplicates += 1;
                }
            }
            let mut bump = tx.prepare_cached("UPDATE counters SET value = value + ?2 WHERE name = ?1").map_err(CollectorError::db(&self.path))?;
            bump.execute(params!["duplicates", stored.duplicates as i64]).map_err(CollectorError::db(&self.path))?;
            bump.execute(params!["batches", 1]).map_err(CollectorError::db(&self.path))?;
        }
        tx.commit().map_err(CollectorError::db(&self.path))?;
        Ok(stored)
    }

    pub fn stats(&self) -> Result<Stats, CollectorError> {
        query_stats(&self.lock()).map_err(CollectorError::db(&self.path))
    }

    pub fn events(&self) -> Result<Vec<StoredEvent>, CollectorError> {
        query_events(&self.lock()).map_err(CollectorError::db(&self.path))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // rusqlite rolls back an unfinished transaction on drop, so a poisoned connection is still consistent.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reads the stats of a collector database, even while another process serves it.
pub fn read_stats(db: &Path) -> Result<Stats, CollectorError> {
    query_stats(&open_read_only(db)?).map_err(CollectorError::db(db))
}

/// Reads every stored event in received order, even while another process serves the database.
pub fn read_events(db: &Path) -> Result<Vec<StoredEvent>, CollectorError> {
    query_events(&open_read_only(db)?).map_err(CollectorError::db(db))
}

fn open_read_only(db: &Path) -> Result<Connection, CollectorError> {
    // SQLite would happily create an empty file; a typo in --db deserves a clear error instead.
    if !db.is_file() {
        return Err(CollectorError::MissingDatabase(db.to_path_buf()));
    }
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(CollectorError::db(db))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(CollectorError::db(db))?;
    Ok(conn)
}

fn query_stats(conn: &Connection) -> rusqlite::Result<Stats> {
    let counter = |name: &str| -> rusqlite::Result<u64> {
        let value: Option<i64> = conn.query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| r.get(0)).optional()?;
        Ok(value.unwrap_or(0).max(0) as u64)
    };
    // One read transaction so the three numbers agree with each other.
    let tx = conn.unchecked_transaction()?;
    let events: i64 = tx.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
    let stats = Stats { events: events.max(0) as u64, duplicates: counter("duplicates")?, batches: counter("batches")? };
    tx.commit()?;
    Ok(stats)
}

fn query_events(conn: &Connection) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut stmt = conn.prepare(
        "SELECT id, type, name, properties, purpose, timestamp, anonymous_id, user_id, session_id, seq, sent_at, received_at
         FROM events ORDER BY rx",
    )?;
    let rows = stmt.query_map([], |r| {
        let properties: String = r.get(3)?;
        Ok(StoredEvent {
            id: r.get(0)?,
            r#type: r.get(1)?,
            name: r.get(2)?,
            // Written by us from a serde_json::Value, so it parses; fall back to a string rather than fail a listing.
            properties: serde_json::from_str(&properties).unwrap_or(serde_json::Value::String(properties)),
            purpose: r.get(4)?,
            timestamp: r.get(5)?,
            anonymous_id: r.get(6)?,
            user_id: r.get(7)?,
            session_id: r.get(8)?,
            seq: r.get(9)?,
            sent_at: r.get(10)?,
            received_at: r.get(11)?,
        })
    })?;
    rows.collect()
}
