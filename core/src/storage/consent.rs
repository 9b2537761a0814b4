//! The consent log's table. A decision is appended and what it denies purged in one `Storage::write`, so no
//! reader — the uploader included — ever sees the new decision with the old events still queued.

use rusqlite::{params, OptionalExtension};

use super::counters::{self, Counter};
use super::{sql_err, Storage, Tx};
use crate::consent::record::{ConsentRecord, NewRecord, GENESIS_HASH};
use crate::error::Result;

/// A log entry as stored: the sealed record's JSON, exactly what verification re-hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConsent {
    pub seq: i64,
    pub body: String,
    pub synced: bool,
}

impl Storage {
    /// Every purpose stored data is held under (the queue, dead letters, visits, audience counts…): what a
    /// withdrawal has to judge.
    pub fn held_purposes(&self) -> Result<Vec<String>> {
        let inner = self.lock();
        super::personal_data::held_purposes(&inner.conn).map_err(sql_err)
    }

    /// The whole log, oldest first.
    pub fn consent_log(&self) -> Result<Vec<StoredConsent>> {
        let inner = self.lock();
        let mut stmt =
            inner.conn.prepare_cached("SELECT seq, body, synced FROM consent_log ORDER BY seq").map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| Ok(StoredConsent { seq: r.get(0)?, body: r.get(1)?, synced: r.get::<_, i64>(2)? != 0 }))
            .map_err(sql_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
    }

    /// Records whose receipt the backend has not acknowledged yet, oldest first.
    pub fn unsynced_consent(&self, limit: usize) -> Result<Vec<StoredConsent>> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare_cached("SELECT seq, body, synced FROM consent_log WHERE synced = 0 ORDER BY seq LIMIT ?1")
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![limit as i64], |r| Ok(StoredConsent { seq: r.get(0)?, body: r.get(1)?, synced: false }))
            .map_err(sql_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
    }

    pub fn mark_consent_synced(&self, seqs: &[i64]) -> Result<()> {
        let inner = self.lock();
        let tx = inner.conn.unchecked_transaction().map_err(sql_err)?;
        {
            let mut mark = tx.prepare_cached("UPDATE consent_log SET synced = 1 WHERE seq = ?1").map_err(sql_err)?;
            for seq in seqs {
                mark.execute(params![seq]).map_err(sql_err)?;
            }
        }
        tx.commit().map_err(sql_err)
    }
}

impl Tx<'_> {
    /// Seals `record` after the last one in the log.
    pub fn append_consent(&self, record: NewRecord) -> Result<ConsentRecord> {
        let prev: Option<String> = self
            .conn
            .query_row("SELECT hash FROM consent_log ORDER BY seq DESC LIMIT 1", [], |r| r.get(0))
            .optional()
            .map_err(sql_err)?;
        let sealed = record.chain(prev.as_deref().unwrap_or(GENESIS_HASH));
        let body = serde_json::to_string(&sealed).map_err(crate::error::Error::storage)?;
        self.conn
            .execute(
                "INSERT INTO consent_log(record_id, body, hash) VALUES (?1, ?2, ?3)",
                params![sealed.record_id, body, sealed.hash],
            )
            .map_err(sql_err)?;
        Ok(sealed)
    }

    /// Withdraws these purposes from every registered table (queued events pending or leased included) and
    /// counts the queued events purged.
    pub fn withdraw(&self, purposes: &[String]) -> Result<u64> {
        let purged = super::personal_data::withdraw(self.conn, purposes).map_err(sql_err)?;
        counters::add(self.conn, &[(Counter::PurgedByConsent, purged)]).map_err(sql_err)?;
        Ok(purged)
    }
}
