//! The one type that owns the SQLite database. Domain modules use its methods (grouped per domain in the
//! sibling files); nothing else opens the file.

pub(crate) mod at_rest;
mod checkpoint;
mod consent;
mod counters;
mod meta;
mod open;
pub(crate) mod personal_data;
mod proximity;
mod queue;
mod rights;
mod schema;
mod wallet;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

use at_rest::AtRest;
use checkpoint::{Checkpoints, Policy};

pub use at_rest::KeyOutcome;
pub use checkpoint::CheckpointCounts;
pub use consent::StoredConsent;
pub use counters::{Counter, Counters};
pub use meta::MetaKey;
pub use open::{classify, OpenFailure};
pub use proximity::{StoredOffer, StoredPickup, StoredVisit, PROXIMITY_RETENTION_MS};
pub use queue::{DeadLetter, Evictions, Identity, LeasedMessage, QueueCounts};
pub use rights::{ExportedEvent, RightsRequest, RightsState};
pub use wallet::{
    CouponTombstone, CouponUpsert, NewRedemption, RedemptionResult, StoredCoupon, WalletOutboxItem, WalletOutboxKind,
};

use crate::crypto::Encryption;
use crate::error::{Error, Result};

pub const DB_FILE: &str = "footfall.db";

pub struct Storage {
    inner: Mutex<Inner>,
    path: PathBuf,
}

/// An open write transaction (see [`Storage::write`]).
pub struct Tx<'a> {
    conn: &'a Connection,
    at_rest: &'a AtRest,
}

struct Inner {
    conn: Connection,
    /// The context row the latest appended message used, so consecutive messages share it.
    current_ctx: Option<(Identity, i64)>,
    checkpoints: Checkpoints,
    /// The data key personal columns are sealed with.
    at_rest: AtRest,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Before the connection closes: the hook holds the thread's request channel, and the writer's connection,
        // closing last, checkpoints what is left and deletes the WAL.
        self.checkpoints.stop(&mut self.conn);
    }
}

impl Storage {
    /// Opens (creating, migrating or recovering) the database in `dir`. A corrupt or incompatible file is moved
    /// aside and recreated, and the recovery counted; a locked file returns a retryable error and is left alone.
    /// Personal columns are sealed under a key the default provider (an owner-only file in `dir`) wraps.
    pub fn open(dir: &Path) -> Result<Storage> {
        Storage::open_encrypted(dir, &Encryption::default())
    }

    /// [`Storage::open`] with the data key wrapped as `encryption` says (the platform's key store, say). A key
    /// the platform has lost starts the sealed data over, counted as `key_resets`; one unavailable for now (a
    /// locked device) is a retryable error.
    pub fn open_encrypted(dir: &Path, encryption: &Encryption) -> Result<Storage> {
        Storage::open_with(dir, Policy::default(), encryption)
    }

    fn open_with(dir: &Path, policy: Policy, encryption: &Encryption) -> Result<Storage> {
        let (mut conn, recovered) = open::open_or_recover(dir)?;
        let (at_rest, _) = AtRest::load(&conn, dir, encryption)?;
        let path = dir.join(DB_FILE);
        let checkpoints = Checkpoints::start(&path, &mut conn, policy).map_err(sql_err)?;
        let storage = Storage { inner: Mutex::new(Inner { conn, current_ctx: None, checkpoints, at_rest }), path };
        if recovered {
            storage.add_counters(&[(Counter::StorageRecoveries, 1)])?;
        }
        Ok(storage)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes the database occupies on disk, write-ahead log included.
    pub fn bytes_on_disk(&self) -> u64 {
        ["", "-wal"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(format!("{}{}", self.path.display(), suffix)).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Runs `f` in one transaction: a domain's change and its effects elsewhere (a consent decision and the purge
    /// it causes) commit together or not at all. `Tx`'s methods are grouped per area in the sibling files.
    pub fn write<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let inner = self.lock();
        let tx = inner.conn.unchecked_transaction().map_err(sql_err)?;
        let out = f(&Tx { conn: &tx, at_rest: &inner.at_rest })?;
        tx.commit().map_err(sql_err)?;
        Ok(out)
    }

    /// Replaces the data key (see `AtRest::rotate`): every sealed value re-encrypted under a new key the provider
    /// wraps as it is now, in one transaction. The new key's id; `None` when encryption is off.
    pub fn rotate_encryption_key(&self) -> Result<Option<u32>> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        match inner.at_rest.rotate(&inner.conn)? {
            Some(rotated) => {
                inner.at_rest = rotated;
                Ok(inner.at_rest.key_id())
            }
            None => Ok(None),
        }
    }

    /// Ends the checkpointer thread (the SDK is closing); the writer's connection checkpoints itself from here on.
    pub fn stop_checkpoints(&self) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        inner.checkpoints.stop(&mut inner.conn);
    }

    /// How many checkpoints were requested and where they ran, and whether the checkpointer thread is alive.
    pub fn checkpoint_counts(&self) -> (Arc<CheckpointCounts>, bool) {
        let inner = self.lock();
        (inner.checkpoints.counts.clone(), inner.checkpoints.is_running())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll back), so keep going.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) fn sql_err(e: rusqlite::Error) -> Error {
    let retryable = matches!(classify(&e), OpenFailure::Busy(_) | OpenFailure::Io(_));
    Error::Storage { message: e.to_string(), retryable }
}

#[cfg(test)]
mod at_rest_tests;
#[cfg(test)]
mod tests;
