//! The collector's own tables: one row per distinct `messageId`, plus counters for duplicates and batches so the
//! stats survive restarts and can be read from another process; one row per distinct consent `record_id` and per
//! deletion `requestId`, each counting how often it was received again. On either engine ([`Database`]).

use serde::Serialize;

use crate::db::{args, migrate, Database, DatabaseUrl, DbError, Engine, Lock, Migration, Row, Sql};
use crate::deletion_request::DeletionRequest;
use crate::error::CollectorError;
use crate::record::RecordBatch;
use crate::timefmt::now_rfc3339_ms;
use crate::validate::Batch;

const MIGRATIONS: [Migration; 2] = [
    Migration {
        version: 1,
        name: "events, consent records, deletion requests",
        // IF NOT EXISTS: a file from before versioned migrations is adopted as it is.
        sqlite: "
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
",
        postgres: "
CREATE TABLE events (
    rx          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    name        TEXT,
    properties  TEXT NOT NULL,
    purpose     TEXT,
    timestamp   TEXT NOT NULL,
    anonymous_id TEXT,
    user_id     TEXT,
    session_id  TEXT,
    seq         BIGINT,
    sent_at     TEXT,
    received_at TEXT NOT NULL,
    raw         TEXT NOT NULL
);
CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO counters (name, value) VALUES ('duplicates', 0), ('batches', 0);
CREATE TABLE consent_records (
    rx          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_id   TEXT NOT NULL UNIQUE,
    subject_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    body        TEXT NOT NULL,
    sent_at     TEXT,
    received_at TEXT NOT NULL,
    duplicates  BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE deletion_requests (
    rx          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id  TEXT NOT NULL UNIQUE,
    anonymous_ids TEXT NOT NULL,
    user_id     TEXT,
    requested_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    duplicates  BIGINT NOT NULL DEFAULT 0,
    raw         TEXT NOT NULL,
    erased_at   TEXT,
    erased_events BIGINT
);
",
    },
    Migration {
        version: 2,
        name: "sharded ingest counters",
        // One counter row per (name, shard): concurrent batches on several instances bump different rows instead
        // of queueing on one row lock until each other's commit. No index on the events' user or anonymous ids:
        // one cost 40 % of ingest in the load test (docs/collector.md), for lookups only deletion requests and the
        // console's identity view make; those scan.
        sqlite: "
CREATE TABLE ingest_counters (name TEXT NOT NULL, shard INTEGER NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (name, shard));
INSERT INTO ingest_counters (name, shard, value) SELECT name, 0, value FROM counters WHERE name IN ('duplicates', 'batches');
DELETE FROM counters WHERE name IN ('duplicates', 'batches');
",
        postgres: "
CREATE TABLE ingest_counters (name TEXT NOT NULL, shard BIGINT NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (name, shard));
INSERT INTO ingest_counters (name, shard, value) SELECT name, 0, value FROM counters WHERE name IN ('duplicates', 'batches');
DELETE FROM counters WHERE name IN ('duplicates', 'batches');
",
    },
];

/// Rows per `INSERT` of events (13 arguments each: far below either engine's limit).
const EVENTS_PER_INSERT: usize = 50;
const EVENT_COLUMNS: usize = 13;

/// [`insert_events`] of a full chunk, built once: the statement text is also the key of the prepared statement
/// cache, and rebuilding a 650-placeholder string per chunk showed in profiles.
fn full_insert() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| insert_events(EVENTS_PER_INSERT))
}

/// `INSERT INTO events … VALUES (?1 … ?13), (?14 … ?26), … ON CONFLICT (id) DO NOTHING` for `rows` rows.
fn insert_events(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO events (id, type, name, properties, purpose, timestamp, anonymous_id, user_id, session_id, seq, \
         sent_at, received_at, raw) VALUES ",
    );
    for row in 0..rows {
        let first = row * EVENT_COLUMNS + 1;
        let placeholders: Vec<String> = (first..first + EVENT_COLUMNS).map(|n| format!("?{n}")).collect();
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(&placeholders.join(", "));
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    sql
}

/// Shards of each ingest counter.
const COUNTER_SHARDS: i64 = 16;

/// Columns a file from before versioned migrations may lack (SQLite only: PostgreSQL started versioned).
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

/// The server's database; callers run it off the async workers (spawn_blocking).
pub(crate) struct Store {
    db: Database,
}

impl Store {
    pub fn open(url: &DatabaseUrl) -> Result<Store, CollectorError> {
        let err = CollectorError::db(url);
        let db = Database::open(url).map_err(err)?;
        if let Database::Sqlite(_) = db {
            db.write(Lock::Migrations, add_later_columns).map_err(CollectorError::db(url))?;
        }
        migrate(&db, "store", &MIGRATIONS, &now_rfc3339_ms()).map_err(CollectorError::db(url))?;
        Ok(Store { db })
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    fn err(&self) -> impl FnOnce(DbError) -> CollectorError + '_ {
        CollectorError::db(&self.db)
    }

    pub fn store(&self, batch: &Batch) -> Result<Stored, CollectorError> {
        let received_at = now_rfc3339_ms();
        let shard = fastrand::i64(0..COUNTER_SHARDS);
        let stored = self.db.write(Lock::Rows, |tx: &mut dyn Sql| {
            let mut stored = Stored { accepted: 0, duplicates: 0 };
            // Several rows per statement: one round trip per chunk instead of per event on PostgreSQL, fewer
            // statement runs on SQLite. A repeat within the statement is skipped like one already stored.
            for chunk in batch.messages.chunks(EVENTS_PER_INSERT) {
                let mut values = Vec::with_capacity(chunk.len() * EVENT_COLUMNS);
                for m in chunk {
                    values.extend(args![
                        &m.id,
                        &m.kind,
                        &m.name,
                        &m.properties,
                        &m.purpose,
                        &m.timestamp,
                        &m.anonymous_id,
                        &m.user_id,
                        &m.session_id,
                        &m.seq,
                        &batch.sent_at,
                        &received_at,
                        &m.raw
                    ]);
                }
                let inserted = match chunk.len() {
                    EVENTS_PER_INSERT => tx.execute(full_insert(), &values)?,
                    rows => tx.execute(&insert_events(rows), &values)?,
                };
                stored.accepted += inserted;
                stored.duplicates += chunk.len() as u64 - inserted;
            }
            bump(tx, "duplicates", shard, stored.duplicates as i64)?;
            bump(tx, "batches", shard, 1)?;
            Ok::<_, DbError>(stored)
        });
        stored.map_err(self.err())
    }

    /// Inserts each record not stored yet (by `record_id`), in one transaction; a repeat bumps its `duplicates`.
    pub fn store_consent_records(&self, batch: &RecordBatch) -> Result<Stored, CollectorError> {
        let received_at = now_rfc3339_ms();
        let stored = self.db.write(Lock::Rows, |tx: &mut dyn Sql| {
            let mut stored = Stored { accepted: 0, duplicates: 0 };
            for r in &batch.records {
                let inserted = tx.execute(
                    "INSERT INTO consent_records (record_id, subject_id, kind, timestamp_ms, prev_hash, hash, body, sent_at,
                     received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (record_id) DO NOTHING",
                    &args![
                        &r.record_id,
                        &r.subject_id,
                        r.kind.as_str(),
                        r.timestamp_ms,
                        &r.prev_hash,
                        &r.hash,
                        &r.to_json(),
                        &batch.sent_at,
                        &received_at
                    ],
                )?;
                if inserted == 1 {
                    stored.accepted += 1;
                } else {
                    tx.execute(
                        "UPDATE consent_records SET duplicates = duplicates + 1 WHERE record_id = ?1",
                        &args![&r.record_id],
                    )?;
                    stored.duplicates += 1;
                }
            }
            Ok::<_, DbError>(stored)
        });
        stored.map_err(self.err())
    }

    /// Stores the request unless its `requestId` is known; `true` when it was (a repeat, counted).
    pub fn store_deletion(&self, request: &DeletionRequest) -> Result<bool, CollectorError> {
        let ids = serde_json::to_string(&request.anonymous_ids).unwrap_or_default();
        let repeat = self.db.write(Lock::Rows, |tx: &mut dyn Sql| {
            let received_at = now_rfc3339_ms();
            let inserted = tx.execute(
                "INSERT INTO deletion_requests (request_id, anonymous_ids, user_id, requested_at, received_at, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (request_id) DO NOTHING",
                &args![&request.request_id, &ids, &request.user_id, &request.requested_at, &received_at, &request.raw],
            )?;
            if inserted == 0 {
                tx.execute(
                    "UPDATE deletion_requests SET duplicates = duplicates + 1 WHERE request_id = ?1",
                    &args![&request.request_id],
                )?;
                return Ok::<_, DbError>(true);
            }
            // Recorded, then erased (protocol.md, "Writing a backend"): every event of the user id and of every
            // anonymous id the install used, in the same transaction. Consent records stay: they are the proof.
            // (`user_id = NULL` matches nothing.)
            let erase = match tx.engine() {
                Engine::Sqlite => {
                    "DELETE FROM events WHERE user_id = ?1 OR anonymous_id IN (SELECT value FROM json_each(?2))"
                }
                Engine::Postgres => {
                    "DELETE FROM events WHERE user_id = ?1
                        OR anonymous_id IN (SELECT jsonb_array_elements_text(CAST(CAST(?2 AS TEXT) AS JSONB)))"
                }
            };
            let erased = tx.execute(erase, &args![&request.user_id, &ids])?;
            tx.execute(
                "UPDATE deletion_requests SET erased_at = ?2, erased_events = ?3 WHERE request_id = ?1",
                &args![&request.request_id, &received_at, erased as i64],
            )?;
            Ok(false)
        });
        repeat.map_err(self.err())
    }

    pub fn consent_records(&self) -> Result<Vec<StoredConsentRecord>, CollectorError> {
        self.db.read(query_consent_records).map_err(self.err())
    }

    pub fn deletion_requests(&self) -> Result<Vec<StoredDeletionRequest>, CollectorError> {
        self.db.read(query_deletion_requests).map_err(self.err())
    }

    pub fn stats(&self) -> Result<Stats, CollectorError> {
        self.db.read(query_stats).map_err(self.err())
    }

    pub fn events(&self) -> Result<Vec<StoredEvent>, CollectorError> {
        self.db.read(query_events).map_err(self.err())
    }
}

fn bump(tx: &mut dyn Sql, name: &str, shard: i64, by: i64) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO ingest_counters (name, shard, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (name, shard) DO UPDATE SET value = ingest_counters.value + excluded.value",
        &args![name, shard, by],
    )
    .map(|_| ())
}

/// Reads a database another process may be serving: a SQLite file read-only (a typo in `--db` is an error, not
/// a new empty file), or the PostgreSQL database.
fn read<T>(
    url: impl Into<DatabaseUrl>,
    query: impl FnMut(&mut dyn Sql) -> Result<T, DbError>,
) -> Result<T, CollectorError> {
    let url = url.into();
    let db = Database::open_existing(&url).map_err(CollectorError::db(&url))?;
    let db =
        db.ok_or_else(|| CollectorError::MissingDatabase(url.sqlite_path().unwrap_or_else(|| "".as_ref()).into()))?;
    db.read(query).map_err(CollectorError::db(&url))
}

/// Reads the stats of a collector database, even while another process serves it.
pub fn read_stats(db: impl Into<DatabaseUrl>) -> Result<Stats, CollectorError> {
    read(db, query_stats)
}

/// Reads every stored event in received order, even while another process serves the database.
pub fn read_events(db: impl Into<DatabaseUrl>) -> Result<Vec<StoredEvent>, CollectorError> {
    read(db, query_events)
}

/// Every stored consent record in received order, even while another process serves the database. A database
/// written by an older collector, without the table, has none.
pub fn read_consent_records(db: impl Into<DatabaseUrl>) -> Result<Vec<StoredConsentRecord>, CollectorError> {
    read(db, query_consent_records)
}

/// Every stored deletion request in received order, even while another process serves the database.
pub fn read_deletion_requests(db: impl Into<DatabaseUrl>) -> Result<Vec<StoredDeletionRequest>, CollectorError> {
    read(db, query_deletion_requests)
}

/// Opens a database another process may be serving, for the CLI's readers in other modules (the wallet's).
pub(crate) fn open_existing(url: &DatabaseUrl) -> Result<Database, CollectorError> {
    Database::open_existing(url)
        .map_err(CollectorError::db(url))?
        .ok_or_else(|| CollectorError::MissingDatabase(url.sqlite_path().unwrap_or_else(|| "".as_ref()).into()))
}

fn query_stats(tx: &mut dyn Sql) -> Result<Stats, DbError> {
    // A file from before the sharded counters (read-only here, so not migrated) keeps them in `counters`.
    let table = if tx.has_table("ingest_counters")? { "ingest_counters" } else { "counters" };
    let counter = |tx: &mut dyn Sql, name: &str| -> Result<u64, DbError> {
        tx.value(&format!("SELECT CAST(COALESCE(SUM(value), 0) AS BIGINT) FROM {table} WHERE name = ?1"), &args![name])
    };
    // One read transaction (the caller's) so the three numbers agree with each other.
    Ok(Stats {
        events: tx.value("SELECT COUNT(*) FROM events", &[])?,
        duplicates: counter(tx, "duplicates")?,
        batches: counter(tx, "batches")?,
    })
}

fn query_events(tx: &mut dyn Sql) -> Result<Vec<StoredEvent>, DbError> {
    let rows = tx.query(
        "SELECT id, type, name, properties, purpose, timestamp, anonymous_id, user_id, session_id, seq, sent_at, received_at
         FROM events ORDER BY rx",
        &[],
    )?;
    rows.iter().map(event).collect()
}

fn event(r: &Row) -> Result<StoredEvent, DbError> {
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
}

fn query_consent_records(tx: &mut dyn Sql) -> Result<Vec<StoredConsentRecord>, DbError> {
    if !tx.has_table("consent_records")? {
        return Ok(Vec::new());
    }
    let rows = tx.query(
        "SELECT record_id, subject_id, hash, body, sent_at, received_at, duplicates FROM consent_records ORDER BY rx",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            let body: String = r.get(3)?;
            Ok(StoredConsentRecord {
                record_id: r.get(0)?,
                subject_id: r.get(1)?,
                hash: r.get(2)?,
                // Written by us from a serialized record, so it parses; fall back to a string rather than fail.
                record: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
                sent_at: r.get(4)?,
                received_at: r.get(5)?,
                duplicates: r.get(6)?,
            })
        })
        .collect()
}

fn query_deletion_requests(tx: &mut dyn Sql) -> Result<Vec<StoredDeletionRequest>, DbError> {
    if !tx.has_table("deletion_requests")? {
        return Ok(Vec::new());
    }
    // A SQLite file from before erasure (read-only here, so not migrated) has no erased_* columns.
    let erased = tx.engine() == Engine::Postgres
        || tx.value::<bool>(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info('deletion_requests') WHERE name = 'erased_at')",
            &[],
        )?;
    let erased = if erased { "erased_at, erased_events" } else { "NULL, NULL" };
    let rows = tx.query(
        &format!(
            "SELECT request_id, anonymous_ids, user_id, requested_at, received_at, duplicates, {erased}
             FROM deletion_requests ORDER BY rx"
        ),
        &[],
    )?;
    rows.iter()
        .map(|r| {
            let ids: String = r.get(1)?;
            Ok(StoredDeletionRequest {
                request_id: r.get(0)?,
                anonymous_ids: serde_json::from_str(&ids).unwrap_or_default(),
                user_id: r.get(2)?,
                requested_at: r.get(3)?,
                received_at: r.get(4)?,
                duplicates: r.get(5)?,
                erased_at: r.get(6)?,
                erased_events: r.get(7)?,
            })
        })
        .collect()
}

/// A SQLite file from before versioned migrations may lack the erasure columns; add them once.
fn add_later_columns(tx: &mut dyn Sql) -> Result<(), DbError> {
    if !tx.has_table("deletion_requests")? {
        return Ok(());
    }
    for (table, column, kind) in LATER_COLUMNS {
        let present: bool = tx.value(
            &format!("SELECT EXISTS (SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1)"),
            &args![column],
        )?;
        if !present {
            tx.batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    Ok(())
}
