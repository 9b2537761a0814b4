//! One answer of `GET /v1/wallet/changes` for one holder: which coupons to upsert (grants signed now) and which to
//! tombstone, from a cursor, a page at a time.
//!
//! A coupon's state for a holder is decided at answer time, first match wins: `redeemed` (the holder's serial has
//! no use left), `revoked`, `expired` (its end plus grace has passed), else live. A full listing names every
//! coupon the holder may hold; an incremental one names those whose row or serial changed after the cursor's
//! revision, those that expired after the cursor's expiry mark, and live ones the holder has no serial for yet.
//! Tombstones are only for coupons the holder was handed (has a serial for): the others it never saw.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ring::rand::SecureRandom;
use serde_json::{json, Map, Value};

use super::coupon::{load_for_holder, CouponRow};
use super::cursor::{Cursor, Mark, Page};
use super::db;
use super::issuer::WalletIssuer;
use crate::db::{args, DbError, Sql};
use crate::record::hex;
use crate::timefmt::rfc3339_secs;

/// Most entries (upserts plus tombstones) in one answer; more set `hasMore`.
pub const PAGE_SIZE: usize = 100;

/// Who is asking: the user id when the app identified the shopper, else the install's anonymous id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    /// The serials table's key: `user:<id>` or `anon:<id>`, so the two id spaces never meet.
    pub key: String,
    pub user: Option<String>,
}

impl Holder {
    pub fn user(id: &str) -> Holder {
        Holder { key: format!("user:{id}"), user: Some(id.to_string()) }
    }
    pub fn anonymous(id: &str) -> Holder {
        Holder { key: format!("anon:{id}"), user: None }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FeedError {
    /// The cursor is not one this collector made, or is from its future (410: the device starts over).
    #[error("{0}")]
    Gone(&'static str),
    #[error(transparent)]
    Storage(#[from] DbError),
    #[error("cannot sign coupon {0}")]
    Sign(String),
}

/// A holder's serial of one coupon.
struct Serial {
    serial: String,
    uses: u32,
    revision: i64,
    exhausted_at: Option<i64>,
    exhausted_store: Option<String>,
    exhausted_device: Option<String>,
}

enum State {
    Live,
    Redeemed,
    Revoked(i64),
    Expired(i64),
}

fn state(coupon: &CouponRow, serial: Option<&Serial>, now: i64) -> State {
    if serial.is_some_and(|s| s.uses >= coupon.uses_allowed) {
        State::Redeemed
    } else if let Some(at) = coupon.revoked_at {
        State::Revoked(at)
    } else if now >= coupon.usable_until() {
        State::Expired(coupon.usable_until())
    } else {
        State::Live
    }
}

/// Whether an incremental answer since `mark` names this coupon.
fn changed(coupon: &CouponRow, serial: Option<&Serial>, state: &State, mark: Mark) -> bool {
    let Some(serial) = serial else {
        // Never handed out: a live coupon is new to this holder; any other the holder never saw.
        return matches!(state, State::Live);
    };
    coupon.revision > mark.revision
        || serial.revision > mark.revision
        || matches!(state, State::Expired(at) if *at > mark.expiry)
}

/// The answer's JSON body. Runs in the caller's wallet transaction (`Lock::Wallet`): handing out serials is part
/// of answering.
pub(crate) fn changes(
    tx: &mut dyn Sql,
    issuer: &WalletIssuer,
    holder: &Holder,
    since: Option<&str>,
    now: i64,
) -> Result<Vec<u8>, FeedError> {
    let current = Mark { revision: db::revision(tx)?, expiry: db::last_expiry_at_or_before(tx, now)? };
    let page = match since {
        None => Page { since: None, snapshot: current, after: String::new() },
        Some(text) => {
            let cursor = Cursor::decode(text).ok_or(FeedError::Gone("the cursor is not known to this server"))?;
            let latest = cursor.latest();
            if latest.revision > current.revision || latest.expiry > now {
                return Err(FeedError::Gone("the cursor is from this server's future (was its database reset?)"));
            }
            match cursor {
                Cursor::Since(mark) => Page { since: Some(mark), snapshot: current, after: String::new() },
                Cursor::Page(page) => page,
            }
        }
    };

    let coupons = load_for_holder(tx, holder.user.as_deref(), &page.after)?;
    let mut serials = load_serials(tx, &holder.key)?;
    let mut listed: Vec<(&CouponRow, State)> = Vec::new();
    for coupon in &coupons {
        let serial = serials.get(&coupon.id);
        let state = state(coupon, serial, now);
        let named = match page.since {
            None => serial.is_some() || matches!(state, State::Live),
            Some(mark) => changed(coupon, serial, &state, mark),
        };
        if named {
            listed.push((coupon, state));
            if listed.len() > PAGE_SIZE {
                break;
            }
        }
    }
    let has_more = listed.len() > PAGE_SIZE;
    listed.truncate(PAGE_SIZE);

    let (mut upserts, mut tombstones) = (Vec::new(), Vec::new());
    for (coupon, state) in &listed {
        if !serials.contains_key(&coupon.id) {
            // Stamped with the listing's snapshot, which the final page's cursor names: the holder is told about
            // this serial within this listing, so the next pull need not repeat it.
            let serial = hand_out(tx, &coupon.id, &holder.key, page.snapshot.revision)?;
            serials.insert(coupon.id.clone(), serial);
        }
        let Some(serial) = serials.get(&coupon.id) else { continue };
        let tombstone = |reason: &str, at: i64| json!({"couponId": coupon.id, "serial": serial.serial, "reason": reason, "at": rfc3339_secs(at)});
        match state {
            State::Live => upserts.push(upsert(issuer, coupon, serial)?),
            State::Revoked(at) => tombstones.push(tombstone("revoked", *at)),
            State::Expired(at) => tombstones.push(tombstone("expired", *at)),
            State::Redeemed => {
                let mut entry = tombstone("redeemed", serial.exhausted_at.unwrap_or_default());
                entry["storeId"] = json!(serial.exhausted_store);
                entry["device"] = json!(serial.exhausted_device);
                tombstones.push(entry);
            }
        }
    }

    let next = match listed.last().filter(|_| has_more) {
        Some((last, _)) => Cursor::Page(Page { since: page.since, snapshot: page.snapshot, after: last.id.clone() }),
        None => Cursor::Since(page.snapshot),
    };
    let mut body = Map::new();
    body.insert("cursor".into(), next.encode().into());
    body.insert("hasMore".into(), has_more.into());
    body.insert("full".into(), page.since.is_none().into());
    body.insert("upserts".into(), upserts.into());
    body.insert("tombstones".into(), tombstones.into());
    if let Some(rotation) = issuer.rotation() {
        body.insert("keyset".into(), rotation.clone());
    }
    Ok(serde_json::to_vec(&Value::Object(body)).unwrap_or_default())
}

fn upsert(issuer: &WalletIssuer, coupon: &CouponRow, serial: &Serial) -> Result<Value, FeedError> {
    // Ed25519 is deterministic: an unchanged coupon signs to the same bytes every time, so the body (and its
    // ETag) only changes when something did.
    let grant = coupon
        .grant(&serial.serial)
        .sign(issuer.signer())
        .map_err(|e| FeedError::Sign(format!("{}: {e}", coupon.id)))?;
    Ok(json!({"grant": B64.encode(grant), "display": B64.encode(coupon.display()), "uses": serial.uses}))
}

fn load_serials(tx: &mut dyn Sql, holder: &str) -> Result<std::collections::HashMap<String, Serial>, DbError> {
    let rows = tx.query(
        "SELECT coupon_id, serial, uses, revision, exhausted_at, exhausted_store, exhausted_device
         FROM wallet_serials WHERE holder = ?1",
        &args![holder],
    )?;
    rows.iter()
        .map(|r| {
            Ok((
                r.get::<String>(0)?,
                Serial {
                    serial: r.get(1)?,
                    uses: u32::try_from(r.get::<i64>(2)?).unwrap_or(u32::MAX),
                    revision: r.get(3)?,
                    exhausted_at: r.get(4)?,
                    exhausted_store: r.get(5)?,
                    exhausted_device: r.get(6)?,
                },
            ))
        })
        .collect()
}

/// A new serial for (coupon, holder): `s-` and 12 random hex digits, unique per coupon.
fn hand_out(tx: &mut dyn Sql, coupon_id: &str, holder: &str, revision: i64) -> Result<Serial, FeedError> {
    let rng = ring::rand::SystemRandom::new();
    for _ in 0..4 {
        let mut random = [0u8; 6];
        rng.fill(&mut random).map_err(|_| FeedError::Sign("no randomness for a serial".into()))?;
        let serial = format!("s-{}", hex(&random));
        // Not an error on a clash: a failed statement would abort a PostgreSQL transaction. Under the wallet lock
        // the holder has no serial yet, so nothing inserted means another holder drew this one: draw again.
        let inserted = tx.execute(
            "INSERT INTO wallet_serials (coupon_id, holder, serial, uses, revision) VALUES (?1, ?2, ?3, 0, ?4)
             ON CONFLICT DO NOTHING",
            &args![coupon_id, holder, &serial, revision],
        )?;
        if inserted == 1 {
            return Ok(Serial {
                serial,
                uses: 0,
                revision,
                exhausted_at: None,
                exhausted_store: None,
                exhausted_device: None,
            });
        }
    }
    Err(FeedError::Sign(format!("{coupon_id}: no free serial after 4 draws")))
}
