//! Persistent counters: every event the SDK accepted, delivered, retried, dead-lettered or evicted is counted,
//! and the counts survive restarts so `status()` in a new process tells the whole story.

use std::collections::BTreeMap;

use rusqlite::params;

use super::meta::MetaKey;
use super::{sql_err, Storage, Tx};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Counter {
    Tracked,
    Delivered,
    DuplicatesReported,
    UploadAttempts,
    UploadFailures,
    Retries,
    DeadLettered,
    EvictedMaxEvents,
    EvictedMaxBytes,
    EvictedMaxAge,
    DeadLettersDropped,
    QueueFullRejections,
    StorageRecoveries,
    StorageErrors,
    PurgedByConsent,
    ConsentRefused,
    /// The platform's key was lost (data restored on another device, key store wiped): sealed data started over.
    KeyResets,
    /// Sealed values that did not open (altered, or moved to another row): removed, never shown.
    UnreadableValues,
}

impl Counter {
    pub fn key(self) -> &'static str {
        match self {
            Counter::Tracked => "tracked",
            Counter::Delivered => "delivered",
            Counter::DuplicatesReported => "duplicates_reported",
            Counter::UploadAttempts => "upload_attempts",
            Counter::UploadFailures => "upload_failures",
            Counter::Retries => "retries",
            Counter::DeadLettered => "dead_lettered",
            Counter::EvictedMaxEvents => "evicted_max_events",
            Counter::EvictedMaxBytes => "evicted_max_bytes",
            Counter::EvictedMaxAge => "evicted_max_age",
            Counter::DeadLettersDropped => "dead_letters_dropped",
            Counter::QueueFullRejections => "queue_full_rejections",
            Counter::StorageRecoveries => "storage_recoveries",
            Counter::StorageErrors => "storage_errors",
            Counter::PurgedByConsent => "purged_by_consent",
            Counter::ConsentRefused => "consent_refused",
            Counter::KeyResets => "key_resets",
            Counter::UnreadableValues => "unreadable_values",
        }
    }
}

/// A snapshot of all counters by key.
pub type Counters = BTreeMap<String, u64>;

pub(super) fn add(conn: &rusqlite::Connection, deltas: &[(Counter, u64)]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO counters(name, value) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
    )?;
    for (counter, delta) in deltas.iter().filter(|(_, d)| *d > 0) {
        stmt.execute(params![counter.key(), *delta as i64])?;
    }
    Ok(())
}

impl Storage {
    pub fn add_counters(&self, deltas: &[(Counter, u64)]) -> Result<()> {
        add(&self.lock().conn, deltas).map_err(sql_err)
    }

    pub fn counters(&self) -> Result<Counters> {
        let inner = self.lock();
        let mut stmt = inner.conn.prepare_cached("SELECT name, value FROM counters").map_err(sql_err)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))).map_err(sql_err)?;
        rows.collect::<rusqlite::Result<Counters>>().map_err(sql_err)
    }

    pub fn set_meta(&self, key: MetaKey, value: Option<&str>) -> Result<()> {
        set_meta(&self.lock().conn, key, value).map_err(sql_err)
    }

    pub fn meta(&self, key: MetaKey) -> Result<Option<String>> {
        get_meta(&self.lock().conn, key).map_err(sql_err)
    }
}

impl Tx<'_> {
    pub fn set_meta(&self, key: MetaKey, value: Option<&str>) -> Result<()> {
        set_meta(self.conn, key, value).map_err(sql_err)
    }
}

pub(super) fn set_meta(conn: &rusqlite::Connection, key: MetaKey, value: Option<&str>) -> rusqlite::Result<()> {
    let key = key.as_str();
    match value {
        Some(v) => {
            conn.prepare_cached("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)")?.execute(params![key, v])?
        }
        None => conn.prepare_cached("DELETE FROM meta WHERE key = ?1")?.execute(params![key])?,
    };
    Ok(())
}

pub(super) fn get_meta(conn: &rusqlite::Connection, key: MetaKey) -> rusqlite::Result<Option<String>> {
    let key = key.as_str();
    use rusqlite::OptionalExtension;
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row(params![key], |r| r.get(0)).optional()
}
