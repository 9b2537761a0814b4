//! The reference wallet issuer (`docs/protocol.md` § The wallet): coupon definitions in the collector database,
//! one serial per (coupon, holder), the feed of signed grants (`GET /v1/wallet/changes`), clips, and redemptions
//! spent atomically with double spends attributed to the device key that made them.
//!
//! Grants, key sets and the check of a redemption code all come from `footfall_core::wallet`, so the issuer
//! signs exactly the bytes devices and tills verify. What only an issuer can decide — a serial's remaining
//! uses, revocation, idempotency — lives here, in the collector's database (SQLite or PostgreSQL).

mod answer;
pub(crate) mod changes;
pub(crate) mod clips;
mod coupon;
mod cursor;
mod db;
mod feed;
pub(crate) mod issuer;
mod issuer_key;
mod item;
mod redeem;
pub(crate) mod redemptions;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use coupon::{
    add_coupon, parse_discount, revoke_coupon, CouponSpec, MAX_TERMS_CHARS, MAX_TITLE_CHARS, UNLIMITED_VALUE,
};
pub(crate) use coupon::{add_coupon_and, revoke_coupon_and};
pub use feed::PAGE_SIZE;

use crate::db::{DatabaseUrl, DbError, Sql};
use crate::error::CollectorError;
use crate::store::open_existing;

/// The public key set (`{"version":1,"keys":[…]}`) of the issuer key file at `key_file`, as a till loads it and
/// an app pins it. The file must exist (serve creates it).
pub fn keyset_json(key_file: &Path) -> Result<String, CollectorError> {
    Ok(issuer_key::own_keyset(&issuer_key::load(key_file)?).to_json())
}

/// The key set the collector serving `db` recorded when it started with `--issuer-key`: the same JSON as
/// [`keyset_json`], without needing the private key file.
pub fn read_keyset(db: impl Into<DatabaseUrl>) -> Result<String, CollectorError> {
    let url = db.into();
    let keyset = open_existing(&url)?.read(|tx: &mut dyn Sql| {
        if !tx.has_table("wallet_meta")? {
            return Ok(None);
        }
        db::meta(tx, "keyset")
    });
    let no_keyset = || CollectorError::NoKeyset(PathBuf::from(url.to_string()));
    keyset.map_err(CollectorError::db(&url))?.ok_or_else(no_keyset)
}

/// One redemption as the issuer recorded it.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct StoredRedemption {
    pub redemption_id: String,
    /// From the grant in the code, when the issuer's signature on it verified.
    pub coupon_id: Option<String>,
    pub serial: Option<String>,
    /// The device key's short id (hex of 8 bytes of its SHA-256), when the device proof verified: who made an
    /// accepted use or a double spend.
    pub device: Option<String>,
    pub counter: Option<u64>,
    pub store_id: String,
    pub presented_at: String,
    pub received_at: String,
    /// `accepted`, `double_spend` or `rejected`.
    pub status: String,
    /// Why a redemption was rejected.
    pub reason: Option<String>,
}

/// Every recorded redemption in received order, even while another process serves the database.
pub fn read_redemptions(db: impl Into<DatabaseUrl>) -> Result<Vec<StoredRedemption>, CollectorError> {
    let url = db.into();
    let read = open_existing(&url)?.read(|tx: &mut dyn Sql| {
        if !tx.has_table("wallet_redemptions")? {
            return Ok(Vec::new());
        }
        let rows = tx.query(
            "SELECT redemption_id, coupon_id, serial, device_id, counter, store_id, presented_at, received_at, status,
             reason FROM wallet_redemptions ORDER BY rx",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(StoredRedemption {
                    redemption_id: r.get(0)?,
                    coupon_id: r.get(1)?,
                    serial: r.get(2)?,
                    device: r.get(3)?,
                    // Stored as the same 64 bits (see redeem.rs).
                    counter: r.get::<Option<i64>>(4)?.map(|c| c as u64),
                    store_id: r.get(5)?,
                    presented_at: r.get(6)?,
                    received_at: r.get(7)?,
                    status: r.get(8)?,
                    reason: r.get(9)?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()
    });
    read.map_err(CollectorError::db(&url))
}
