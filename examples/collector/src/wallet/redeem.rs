//! Spending a serial's use for one delivered redemption, atomically and idempotently.
//!
//! Each redemption runs in its own wallet transaction (`Lock::Wallet`: SQLite's `BEGIN IMMEDIATE`, one advisory
//! lock for every collector on a PostgreSQL database), so two redemptions of one single-use serial —
//! from two devices, two connections or two processes — give exactly one `accepted`; the other is a
//! `double_spend` recorded against the device key that made it. A repeated `redemptionId`, or the same (device
//! key, counter) under a new id, gets the first answer back and changes nothing.

use footfall_core::wallet::{decode_code, refusal_reason, verify_at_issuer, verify_grant, IssuerRedemption, KeySet};

use super::coupon;
use super::db;
use crate::db::{args, Arg, DbError, Sql};
use crate::record::hex;

/// How far ahead of the collector's clock a `presentedAt` may be (device clocks are corrected, not exact).
pub(crate) const MAX_PRESENTED_AHEAD_SECS: i64 = 300;

/// One redemption of a `POST /v1/wallet/redemptions` body, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Redemption {
    pub redemption_id: String,
    pub code: String,
    pub store_id: String,
    /// As received (RFC 3339), and in UTC seconds.
    pub presented_at: String,
    pub presented_at_secs: i64,
    pub challenge: Option<Vec<u8>>,
    /// `user:<id>` or `anon:<id>`, when the body names one.
    pub holder: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Accepted,
    DoubleSpend,
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::DoubleSpend => "double_spend",
            Status::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> Status {
        match text {
            "accepted" => Status::Accepted,
            "double_spend" => Status::DoubleSpend,
            _ => Status::Rejected,
        }
    }
}

/// The answer for one redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub status: Status,
    pub reason: Option<String>,
}

fn rejected(reason: &str) -> Outcome {
    Outcome { status: Status::Rejected, reason: Some(reason.to_string()) }
}

/// What is recorded about the redemption besides its outcome.
#[derive(Default)]
struct Attribution {
    coupon_id: Option<String>,
    serial: Option<String>,
    device_id: Option<String>,
    device_key: Option<String>,
    counter: Option<i64>,
}

/// Decides and records one redemption, in the caller's wallet transaction. `now` is the collector's clock (UTC
/// seconds), `received_at` its RFC 3339.
pub(crate) fn redeem(
    tx: &mut dyn Sql,
    keys: &KeySet,
    r: &Redemption,
    now: i64,
    received_at: &str,
) -> Result<Outcome, DbError> {
    if let Some(first) = stored(tx, "redemption_id = ?1", &args![&r.redemption_id])? {
        return Ok(first);
    }
    let decoded = decode_code(&r.code).ok();
    if let Some(d) = &decoded {
        // The code is not verified yet: a forged one naming someone's (key, counter) only reads that answer.
        let key = hex(&d.proof.device_key);
        if let Some(first) = stored(tx, "device_key = ?1 AND counter = ?2", &args![&key, d.proof.counter as i64])? {
            return Ok(first);
        }
    }
    let mut who = Attribution::default();
    let outcome = match verify_at_issuer(&r.code, keys, r.presented_at_secs, r.challenge.as_deref()) {
        Err(refused) => {
            // The coupon is named when the grant itself is the issuer's, even if the proof around it is not.
            let grant = decoded.and_then(|d| verify_grant(&d.grant_bytes, keys, r.presented_at_secs).ok());
            if let Some(grant) = grant {
                who.coupon_id = Some(grant.grant().coupon_id.clone());
                who.serial = Some(grant.grant().serial.clone());
            }
            rejected(refusal_reason(&refused))
        }
        Ok(verified) => {
            let g = verified.grant.grant();
            who = Attribution {
                coupon_id: Some(g.coupon_id.clone()),
                serial: Some(g.serial.clone()),
                device_id: Some(verified.device_id.clone()),
                device_key: Some(hex(&verified.device_key)),
                // Stored as the same 64 bits: the pair stays unique whatever the value.
                counter: Some(verified.counter as i64),
            };
            spend(tx, &verified, r, now)?
        }
    };
    tx.execute(
        "INSERT INTO wallet_redemptions (redemption_id, coupon_id, serial, device_id, device_key, counter, store_id,
         presented_at, holder, received_at, status, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        &args![
            &r.redemption_id,
            &who.coupon_id,
            &who.serial,
            &who.device_id,
            &who.device_key,
            who.counter,
            &r.store_id,
            &r.presented_at,
            &r.holder,
            received_at,
            outcome.status.as_str(),
            &outcome.reason
        ],
    )?;
    Ok(outcome)
}

/// The issuer's own rules, on a code that verified: the coupon, its revocation, the serial and its uses.
fn spend(tx: &mut dyn Sql, v: &IssuerRedemption, r: &Redemption, now: i64) -> Result<Outcome, DbError> {
    if r.presented_at_secs > now.saturating_add(MAX_PRESENTED_AHEAD_SECS) {
        return Ok(rejected("presented_in_future"));
    }
    let g = v.grant.grant();
    let Some(coupon) = coupon::load(tx, &g.coupon_id)? else {
        return Ok(rejected("unknown_coupon"));
    };
    // Revoked after the checkout: the sale happened while the coupon was good, so it counts.
    if coupon.revoked_at.is_some_and(|at| at <= r.presented_at_secs) {
        return Ok(rejected("revoked"));
    }
    let uses: Option<i64> = tx.value_opt(
        "SELECT uses FROM wallet_serials WHERE coupon_id = ?1 AND serial = ?2",
        &args![&g.coupon_id, &g.serial],
    )?;
    let Some(uses) = uses else {
        return Ok(rejected("unknown_serial"));
    };
    let allowed = i64::from(coupon.uses_allowed);
    if uses >= allowed {
        return Ok(Outcome { status: Status::DoubleSpend, reason: None });
    }
    let revision = db::bump_revision(tx)?;
    let last_use = uses + 1 >= allowed;
    tx.execute(
        "UPDATE wallet_serials SET uses = uses + 1, revision = ?3,
            exhausted_at = ?4, exhausted_store = ?5, exhausted_device = ?6
         WHERE coupon_id = ?1 AND serial = ?2",
        &args![
            &g.coupon_id,
            &g.serial,
            revision,
            last_use.then_some(r.presented_at_secs),
            last_use.then_some(&r.store_id),
            last_use.then_some(&v.device_id)
        ],
    )?;
    Ok(Outcome { status: Status::Accepted, reason: None })
}

fn stored(tx: &mut dyn Sql, filter: &str, args: &[Arg<'_>]) -> Result<Option<Outcome>, DbError> {
    let row = tx.query_opt(&format!("SELECT status, reason FROM wallet_redemptions WHERE {filter}"), args)?;
    row.map(|row| Ok(Outcome { status: Status::parse(&row.get::<String>(0)?), reason: row.get(1)? })).transpose()
}
