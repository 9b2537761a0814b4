//! SQLite storage: one row per distinct `messageId`, plus counters for duplicates and batches so the stats
//! survive restarts and can be read from another process; one row per distinct consent `record_id` and per
//! deletion `requestId`, each counting how often it was received again.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::deletion_request::DeletionRequest;
use crate::error::CollectorError;
use crate::record::RecordBatch;
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
CREATE TABLE IF NOT EXISTS consent_records (
    rx          INTEGER PRIMARY KEY AUTOINCREMENT, -- received order
    record_id   TEXT NOT NULL UNIQUE,              -- the dedupe key
    subject_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,                     -- verified before storing
    body        TEXT NOT NULL,                     -- the sealed record, canonical JSON (hash included)
    sent_at     TEXT,
    received_at TEXT NOT NULL,
    duplicates  INTEGER NOT NULL DEFAULT 0         -- times received again after the first
);
CREATE TABLE IF NOT EXISTS deletion_requests (
    rx          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  TEXT NOT NULL UNIQUE,              -- the idempotency key
    anonymous_ids TEXT NOT NULL,                   -- JSON array
    user_id     TEXT,
    requested_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    duplicates  INTEGER NOT NULL DEFAULT 0,        -- times received again after the first
    raw         TEXT NOT NULL,
    erased_at   TEXT,                              -- when the events of its ids were erased (on receipt)
    erased_events INTEGER                          -- how many
);
";

/// Columns added after the first release, for databases created before them.
const LATER_COLUMNS: [(&str, &str, &str); 2] =
    [("deletion_requests", "erased_at", "TEXT"), ("deletion_requests", "erased_events", "INTEGER")];

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

/// One stored consent record as read back.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct StoredConsentRecord {
    pub record_id: String,
    pub subject_id: String,
    pub hash: String,
    /// The sealed record, every field (`hash` included) as the SDK sealed it; its hash was verified on receipt.
    pub record: serde_json::Value,
    pub sent_at: Option<String>,
    /// When the first copy arrived.
    pub received_at: String,
    /// How many times it was received again after the first.
    pub duplicates: u64,
}

/// One stored deletion request as read back.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct StoredDeletionRequest {
    pub request_id: String,
    pub anonymous_ids: Vec<String>,
    pub user_id: Option<String>,
    pub requested_at: String,
    /// When the first copy arrived.
    pub received_at: String,
    /// How many times it was received again after the first.
    pub duplicates: u64,
    /// When the events of its ids were erased: on receipt (`None` only in a database from before erasure).
    pub erased_at: Option<String>,
    /// How many stored events were erased.
    pub erased_events: Option<u64>,
}

/// The outcome of storing one batch (of events or of consent records).
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
        add_later_columns(&conn).map_err(CollectorError::db(path))?;
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
                        m.properties,
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
            let mut bump = tx
                .prepare_cached("UPDATE counters SET value = value + ?2 WHERE name = ?1")
                .map_err(CollectorError::db(&self.path))?;
            bump.execute(params!["duplicates", stored.duplicates as i64]).map_err(CollectorError::db(&self.path))?;
            bump.execute(params!["batches", 1]).map_err(CollectorError::db(&self.path))?;
        }
        tx.commit().map_err(CollectorError::db(&self.path))?;
        Ok(stored)
    }

    /// Inserts each record not stored yet (by `record_id`), in one transaction; a repeat bumps its `duplicates`.
    pub fn store_consent_records(&self, batch: &RecordBatch) -> Result<Stored, CollectorError> {
        let err = || CollectorError::db(&self.path);
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(err())?;
        let received_at = now_rfc3339_ms();
        let mut stored = Stored { accepted: 0, duplicates: 0 };
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO consent_records (record_id, subject_id, kind, timestamp_ms, prev_hash, hash, body, sent_at,
                     received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(err())?;
            let mut repeat = tx
                .prepare_cached("UPDATE consent_records SET duplicates = duplicates + 1 WHERE record_id = ?1")
                .map_err(err())?;
            for r in &batch.records {
                let inserted = insert
                    .execute(params![
                        r.record_id,
                        r.subject_id,
                        r.kind.as_str(),
                        r.timestamp_ms,
                        r.prev_hash,
                        r.hash,
                        r.to_json(),
                        batch.sent_at,
                        received_at
                    ])
                    .map_err(err())?;
                if inserted == 1 {
                    stored.accepted += 1;
                } else {
                    repeat.execute(params![r.record_id]).map_err(err())?;
                    stored.duplicates += 1;
                }
            }
        }
        tx.commit().map_err(err())?;
        Ok(stored)
    }

    /// Stores the request unless its `requestId` is known; `true` when it was (a repeat, counted).
    pub fn store_deletion(&self, request: &DeletionRequest) -> Result<bool, CollectorError> {
        let err = || CollectorError::db(&self.path);
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(err())?;
        let ids = serde_json::to_string(&request.anonymous_ids).unwrap_or_default();
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO deletion_requests (request_id, anonymous_ids, user_id, requested_at, received_at, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![request.request_id, ids, request.user_id, request.requested_at, now_rfc3339_ms(), request.raw],
            )
            .map_err(err())?;
        if inserted == 0 {
            tx.execute(
                "UPDATE deletion_requests SET duplicates = duplicates + 1 WHERE request_id = ?1",
                params![request.request_id],
            )
            .map_err(err())?;
        } else {
            // Recorded, then erased (protocol.md, "Writing a backend"): every event of the user id and of every
            // anonymous id the install used, in the same transaction. Consent records stay: they are the proof.
            let erased = tx
                .execute(
                    "DELETE FROM events WHERE (?1 IS NOT NULL AND user_id = ?1)
                        OR anonymous_id IN (SELECT value FROM json_each(?2))",
                    params![request.user_id, ids],
                )
                .map_err(err())?;
            tx.execute(
                "UPDATE deletion_requests SET erased_at = ?2, erased_events = ?3 WHERE request_id = ?1",
                params![request.request_id, now_rfc3339_ms(), erased as i64],
            )
            .map_err(err())?;
        }
        tx.commit().map_err(err())?;
        Ok(inserted == 0)
    }

    pub fn consent_records(&self) -> Result<Vec<StoredConsentRecord>, CollectorError> {
        query_consent_records(&self.lock()).map_err(CollectorError::db(&self.path))
    }

    pub fn deletion_requests(&self) -> Result<Vec<StoredDeletionRequest>, CollectorError> {
        query_deletion_requests(&self.lock()).map_err(CollectorError::db(&self.path))
    }

    pub fn stats(&self) -> Result<Stats, CollectorError> {
        query_stats(&self.lock()).map_err(CollectorError::db(&self.path))
    }

    pub fn events(&self) -> Result<Vec<StoredEvent>, CollectorError> {
        query_events(&self.lock()).map_err(CollectorError::db(&self.path))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
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

/// Every stored consent record in received order, even while another process serves the database. A database
/// written by an older collector, without the table, has none.
pub fn read_consent_records(db: &Path) -> Result<Vec<StoredConsentRecord>, CollectorError> {
    query_consent_records(&open_read_only(db)?).map_err(CollectorError::db(db))
}

/// Every stored deletion request in received order, even while another process serves the database.
pub fn read_deletion_requests(db: &Path) -> Result<Vec<StoredDeletionRequest>, CollectorError> {
    query_deletion_requests(&open_read_only(db)?).map_err(CollectorError::db(db))
}

pub(crate) fn open_read_only(db: &Path) -> Result<Connection, CollectorError> {
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
        let value: Option<i64> =
            conn.query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| r.get(0)).optional()?;
        Ok(value.unwrap_or(0).max(0) as u64)
    };
    // One read transaction so the three numbers agree with each other.
    let tx = conn.unchecked_transaction()?;
    let events: i64 = tx.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
    let stats =
        Stats { events: events.max(0) as u64, duplicates: counter("duplicates")?, batches: counter("batches")? };
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

pub(crate) fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n > 0)
}

fn query_consent_records(conn: &Connection) -> rusqlite::Result<Vec<StoredConsentRecord>> {
    if !has_table(conn, "consent_records")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT record_id, subject_id, hash, body, sent_at, received_at, duplicates FROM consent_records ORDER BY rx",
    )?;
    let rows = stmt.query_map([], |r| {
        let body: String = r.get(3)?;
        Ok(StoredConsentRecord {
            record_id: r.get(0)?,
            subject_id: r.get(1)?,
            hash: r.get(2)?,
            // Written by us from a serialized record, so it parses; fall back to a string rather than fail a listing.
            record: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
            sent_at: r.get(4)?,
            received_at: r.get(5)?,
            duplicates: r.get::<_, i64>(6)?.max(0) as u64,
        })
    })?;
    rows.collect()
}

fn query_deletion_requests(conn: &Connection) -> rusqlite::Result<Vec<StoredDeletionRequest>> {
    if !has_table(conn, "deletion_requests")? {
        return Ok(Vec::new());
    }
    // A database from before erasure (read-only here, so not migrated) has no erased_* columns.
    let erased: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('deletion_requests') WHERE name = 'erased_at')",
        [],
        |r| r.get(0),
    )?;
    let erased = if erased { "erased_at, erased_events" } else { "NULL, NULL" };
    let mut stmt = conn.prepare(&format!(
        "SELECT request_id, anonymous_ids, user_id, requested_at, received_at, duplicates, {erased}
             FROM deletion_requests ORDER BY rx"
    ))?;
    let rows = stmt.query_map([], |r| {
        let ids: String = r.get(1)?;
        Ok(StoredDeletionRequest {
            request_id: r.get(0)?,
            anonymous_ids: serde_json::from_str(&ids).unwrap_or_default(),
            user_id: r.get(2)?,
            requested_at: r.get(3)?,
            received_at: r.get(4)?,
            duplicates: r.get::<_, i64>(5)?.max(0) as u64,
            erased_at: r.get(6)?,
            erased_events: r.get::<_, Option<i64>>(7)?.map(|n| n.max(0) as u64),
        })
    })?;
    rows.collect()
}

fn add_later_columns(conn: &Connection) -> rusqlite::Result<()> {
    for (table, column, kind) in LATER_COLUMNS {
        let present: bool = conn.query_row(
            &format!("SELECT EXISTS (SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1)"),
            params![column],
            |r| r.get(0),
        )?;
        if !present {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    Ok(())
}
