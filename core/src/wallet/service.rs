//! The wallet on the device: what the app asks (list, clip, present, evaluate) and what sync brings (feed pages,
//! redemption answers), over the storage type. Every decision is made by the pure modules beside this one; this
//! file orders the steps so each state change commits with its outbox row, and a grant is verified again every
//! time it is read back (a key that was withdrawn since takes its coupons out of use).

use std::sync::{Arc, Mutex};

use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::evaluate::{evaluate, standing, Basket, CouponOutcome, CouponState, Reason, WalletCoupon};
use super::feed::{self, FeedPage, FeedTombstone, Refusal};
use super::grant::{verify_grant, Discount, VerifiedGrant};
use super::keys::KeySet;
use super::lifecycle::CouponLifecycle;
use super::redemption::{decode_code, device_id, present_code, DeviceSigner, PresentError, SoftwareDeviceSigner};
use crate::clock::{rfc3339_ms, Clock};
use crate::error::{Error, Result, WalletError};
use crate::storage::{
    CouponTombstone, CouponUpsert, Identity, MetaKey, NewRedemption, RedemptionResult, Storage, StoredCoupon, Tx,
};

/// The wallet's fixed parts: the key set the app pinned, the device key, the clock.
pub struct Wallet {
    pinned: KeySet,
    /// The key set in force, read from storage once and replaced when a rotation is accepted.
    in_force: Mutex<Option<KeySet>>,
    /// The platform's key (Keystore, Secure Enclave); without one, a software key kept in storage.
    platform_signer: Option<Arc<dyn DeviceSigner>>,
    /// The software key parsed once, with the stored bytes it came from.
    software_signer: Mutex<Option<(Vec<u8>, Arc<SoftwareDeviceSigner>)>>,
    clock: Arc<dyn Clock>,
}

/// A coupon as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouponView {
    pub id: String,
    pub serial: String,
    pub state: &'static str,
    /// Why it was rejected or ended (`double_spend`, `revoked`, …).
    pub state_reason: Option<String>,
    pub title: Option<String>,
    pub terms: Option<String>,
    /// `10%` or `300 JPY` (minor units written out in the currency's usual form).
    pub discount: String,
    pub valid_from: String,
    /// The first instant it is no longer valid (UTC, grace not included).
    pub valid_until: String,
    /// The store-local last day and its zone, when the issuer stated validity that way.
    pub valid_until_local: Option<String>,
    pub zone: Option<String>,
    pub usable_now: bool,
    /// Why it is not usable now (empty when it is): evaluator codes or the state.
    pub reasons: Vec<String>,
    pub uses_allowed: u32,
    /// Uses the server accepted plus those waiting for its answer.
    pub uses: u32,
    /// The last code presented and not answered yet, to show again instead of presenting twice.
    pub pending_code: Option<String>,
    /// Tombstone detail.
    pub ended_at: Option<String>,
    pub store_id: Option<String>,
    pub device: Option<String>,
}

/// What `present` returns: the code, once its counter and redemption are durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresentedCode {
    pub code: String,
    pub counter: u64,
    /// The device key's short id (what the issuer attributes a double spend to).
    pub device: String,
    pub redemption_id: String,
    pub coupon_id: String,
    pub serial: String,
}

/// What applying one feed page did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PageApplied {
    pub upserts: u32,
    pub tombstones: u32,
    pub refused: Vec<Refusal>,
    pub keyset_version: Option<u64>,
}

impl Wallet {
    pub fn new(pinned: KeySet, platform_signer: Option<Arc<dyn DeviceSigner>>, clock: Arc<dyn Clock>) -> Self {
        Wallet { pinned, in_force: Mutex::new(None), platform_signer, software_signer: Mutex::new(None), clock }
    }

    /// The key set in force: a rotation accepted earlier when it is newer than the pinned one.
    pub fn keyset(&self, storage: &Storage) -> Result<KeySet> {
        let mut in_force = self.in_force.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(keys) = in_force.as_ref() {
            return Ok(keys.clone());
        }
        let rotated = storage.meta(MetaKey::WalletKeySet)?.and_then(|json| KeySet::from_json(json.as_bytes()).ok());
        let keys = match rotated {
            Some(set) if set.version > self.pinned.version => set,
            _ => self.pinned.clone(),
        };
        *in_force = Some(keys.clone());
        Ok(keys)
    }

    /// Server-corrected UTC seconds (the offset from the wallet answers' `Date` headers).
    pub fn now_secs(&self, storage: &Storage) -> Result<i64> {
        let offset: i64 = storage.meta(MetaKey::WalletServerOffsetMs)?.and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok((self.clock.now_ms().saturating_add(offset)).div_euclid(1000))
    }

    /// Every coupon the device holds, judged at `at` (UTC seconds; server-corrected now by default). A stored
    /// grant that no longer verifies is left out (and logged): never shown.
    pub fn coupons(&self, storage: &Storage, at: Option<i64>) -> Result<Vec<CouponView>> {
        let keys = self.keyset(storage)?;
        let now = match at {
            Some(at) => at,
            None => self.now_secs(storage)?,
        };
        Ok(storage
            .wallet_coupons()?
            .iter()
            .filter_map(|stored| self.reverify(stored, &keys, now).map(|grant| view(stored, &grant, now)))
            .collect())
    }

    /// Clips a coupon: `available → clipped` with its clip in the outbox, in one transaction. Clipping a coupon
    /// that is already clipped (or further along) changes nothing. Returns whether it changed.
    pub fn clip(&self, storage: &Storage, coupon_id: &str, holder: &Identity) -> Result<bool> {
        let keys = self.keyset(storage)?;
        let now = self.now_secs(storage)?;
        let now_ms = self.clock.now_ms();
        storage.write(|tx| {
            let (stored, _) = self.live_coupon(tx, coupon_id, &keys, now)?;
            let clip_id = Uuid::now_v7().to_string();
            let body = with_holder(
                json!({
                    "clipId": clip_id,
                    "couponId": stored.coupon_id,
                    "serial": stored.serial,
                    "clippedAt": rfc3339_ms(now_ms),
                }),
                holder,
            );
            tx.record_clip(&stored.coupon_id, &stored.serial, &clip_id, &body.to_string(), now_ms)
        })
    }

    /// Makes a device-bound redemption code for `coupon_id` at `store_id`. The counter is committed before the
    /// device key signs, and the code is returned only after the coupon is `pending_redeem` with its redemption
    /// in the outbox: a crash at any point leaves no code without its record and never reuses a counter.
    pub fn present(
        &self,
        storage: &Storage,
        coupon_id: &str,
        store_id: &str,
        challenge: Option<&[u8]>,
        holder: &Identity,
    ) -> Result<PresentedCode> {
        if store_id.trim().is_empty() || store_id.len() > 64 {
            return Err(WalletError::Invalid("store id must be 1-64 characters".into()).into());
        }
        let keys = self.keyset(storage)?;
        let now = self.now_secs(storage)?;
        let signer = self.signer(storage)?;
        // First transaction: the coupon can be used, and the counter is reserved durably.
        let (grant, counter) = storage.write(|tx| {
            let (stored, grant) = self.live_coupon(tx, coupon_id, &keys, now)?;
            let reasons = standing(&WalletCoupon { grant: &grant, state: local_state(&stored) }, now);
            if !reasons.is_empty() {
                return Err(unusable(&stored, reasons.iter().map(|r| r.code().to_string()).collect()));
            }
            Ok((grant, tx.next_presentation_counter()?))
        })?;
        // Outside any transaction: the platform key may take a while (Secure Enclave) or fail.
        let code = present_code(&grant, signer.as_ref(), counter, now, challenge).map_err(present_error)?;
        let device = device_id(&signer.public_key().map_err(|e| WalletError::DeviceKey(e.to_string()))?);
        let g = grant.grant();
        let redemption_id = Uuid::now_v7().to_string();
        let presented_at = rfc3339_ms(now.saturating_mul(1000));
        let mut body = with_holder(
            json!({"redemptionId": redemption_id, "code": code, "storeId": store_id, "presentedAt": presented_at}),
            holder,
        );
        if let Some(challenge) = challenge {
            body["challenge"] = Value::String(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(challenge));
        }
        let value_minor = match g.discount {
            Discount::Amount { minor } => minor,
            Discount::Percent { .. } => 0,
        };
        let record = NewRedemption {
            redemption_id: redemption_id.clone(),
            coupon_id: g.coupon_id.clone(),
            serial: g.serial.clone(),
            counter,
            code: code.clone(),
            store_id: store_id.to_string(),
            value_minor,
            body: body.to_string(),
        };
        storage.write(|tx| tx.record_redemption(&record, self.clock.now_ms()))?;
        Ok(PresentedCode {
            code,
            counter,
            device,
            redemption_id,
            coupon_id: g.coupon_id.clone(),
            serial: g.serial.clone(),
        })
    }

    /// "Why didn't it apply?" for every live coupon against `basket` (its `at` is used as given).
    pub fn evaluate(&self, storage: &Storage, basket: &Basket) -> Result<Vec<CouponOutcome>> {
        let keys = self.keyset(storage)?;
        let stored: Vec<StoredCoupon> = storage.wallet_coupons()?.into_iter().filter(|c| c.state.is_live()).collect();
        let grants: Vec<(VerifiedGrant, CouponState)> =
            stored.iter().filter_map(|c| self.reverify(c, &keys, basket.at).map(|g| (g, local_state(c)))).collect();
        let coupons: Vec<WalletCoupon<'_>> =
            grants.iter().map(|(grant, state)| WalletCoupon { grant, state: *state }).collect();
        evaluate(&coupons, basket).map_err(|e| WalletError::Invalid(e.to_string()).into())
    }

    /// Verifies one feed page and commits everything it says in one transaction: a rotation first (so the
    /// page's grants can be under the new key), then upserts and tombstones. Returns what it did and the keys
    /// of the coupons it listed (for a full listing's reconciliation).
    pub fn apply_page(
        &self,
        storage: &Storage,
        page: &FeedPage,
        now: i64,
    ) -> Result<(PageApplied, Vec<(String, String)>)> {
        let mut applied = PageApplied::default();
        let mut keys = self.keyset(storage)?;
        let mut rotated = None;
        match feed::rotate(&keys, page, now) {
            Ok(Some(set)) => {
                applied.keyset_version = Some(set.version);
                keys = set.clone();
                rotated = Some(set);
            }
            Ok(None) => {}
            Err(refusal) => applied.refused.push(refusal),
        }
        let (verified, refused) = feed::verify_upserts(&page.upserts, &keys, now);
        applied.refused.extend(refused);
        let (tombstones, refused) = feed::read_tombstones(&page.tombstones);
        applied.refused.extend(refused);
        let mut listed = Vec::new();
        let now_ms = self.clock.now_ms();
        storage.write(|tx| {
            if let Some(set) = &rotated {
                tx.set_meta(MetaKey::WalletKeySet, Some(&set.to_json()))?;
            }
            for upsert in &verified {
                let g = upsert.grant.grant();
                tx.upsert_coupon(
                    &CouponUpsert {
                        coupon_id: g.coupon_id.clone(),
                        serial: g.serial.clone(),
                        grant: upsert.grant.bytes().to_vec(),
                        display: upsert.display.clone(),
                        uses_allowed: g.uses_allowed,
                        server_uses: upsert.uses,
                    },
                    now_ms,
                )?;
                listed.push((g.coupon_id.clone(), g.serial.clone()));
                applied.upserts += 1;
            }
            for t in &tombstones {
                applied.tombstones += u32::from(tx.tombstone_coupon(&tombstone(t), now_ms)?);
                listed.push((t.coupon_id.clone(), t.serial.clone()));
            }
            Ok(())
        })?;
        if let Some(set) = rotated {
            *self.in_force.lock().unwrap_or_else(|p| p.into_inner()) = Some(set);
        }
        for refusal in &applied.refused {
            tracing::warn!(reason = refusal.reason, detail = %refusal.detail, "wallet feed entry refused; not stored");
        }
        Ok((applied, listed))
    }

    /// The server's answers to redemptions: each outbox item is answered once, and its coupon moves on —
    /// `redeemed` when an accepted use was the last, back to `clipped` when uses remain, `rejected` with the
    /// reason otherwise (a double spend names it). Returns the answers that were new.
    pub fn apply_redemption_results(&self, storage: &Storage, results: &[RedemptionResult]) -> Result<u32> {
        let now_ms = self.clock.now_ms();
        storage.write(|tx| {
            let mut answered = 0;
            for result in results {
                let Some(item) = tx.answer_redemption(result, now_ms)? else { continue };
                answered += 1;
                let Some(coupon) = tx.wallet_coupon(&item.coupon_id)?.filter(|c| c.serial == item.serial) else {
                    continue;
                };
                if !coupon.state.is_live() {
                    continue; // a tombstone the feed brought stays
                }
                let body: Value = serde_json::from_str(&item.body).unwrap_or(Value::Null);
                let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                let (state, reason, uses, ended) = match result.status.as_str() {
                    "accepted" => {
                        let uses = coupon.server_uses.saturating_add(1);
                        if uses >= coupon.uses_allowed {
                            (CouponLifecycle::Redeemed, None, uses, true)
                        } else if coupon.pending_uses > 0 {
                            (CouponLifecycle::PendingRedeem, None, uses, false)
                        } else {
                            (CouponLifecycle::Clipped, None, uses, false)
                        }
                    }
                    status => {
                        let reason = if status == "double_spend" {
                            "double_spend".to_string()
                        } else {
                            result.reason.clone().unwrap_or_else(|| status.to_string())
                        };
                        if coupon.pending_uses > 0 {
                            (CouponLifecycle::PendingRedeem, Some(reason), coupon.server_uses, false)
                        } else {
                            (CouponLifecycle::Rejected, Some(reason), coupon.server_uses, false)
                        }
                    }
                };
                let (at, store) = (field("presentedAt"), field("storeId"));
                let device = decode_code(&field("code")).map(|c| device_id(&c.proof.device_key)).unwrap_or_default();
                let ended = ended.then_some((at.as_str(), store.as_str(), device.as_str()));
                tx.set_coupon_state(&item.coupon_id, &item.serial, state, reason.as_deref(), uses, ended, now_ms)?;
            }
            Ok(answered)
        })
    }

    /// The device key: the platform's, or the software key kept in storage (created on first use). The stored key
    /// is read every time, so a deletion (which wipes it) means a new key from the next presentation on.
    fn signer(&self, storage: &Storage) -> Result<Arc<dyn DeviceSigner>> {
        if let Some(signer) = &self.platform_signer {
            return Ok(signer.clone());
        }
        let pkcs8 = storage.software_device_key(|| {
            SoftwareDeviceSigner::generate()
                .map(|(_, pkcs8)| pkcs8)
                .map_err(|e| Error::from(WalletError::DeviceKey(e.to_string())))
        })?;
        let mut cached = self.software_signer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((bytes, signer)) = cached.as_ref() {
            if *bytes == pkcs8 {
                return Ok(signer.clone());
            }
        }
        let signer =
            Arc::new(SoftwareDeviceSigner::from_pkcs8(&pkcs8).map_err(|e| WalletError::DeviceKey(e.to_string()))?);
        *cached = Some((pkcs8, signer.clone()));
        Ok(signer)
    }

    /// The coupon `coupon_id` names, when it is still live and its grant still verifies at `now`.
    fn live_coupon(
        &self,
        tx: &Tx<'_>,
        coupon_id: &str,
        keys: &KeySet,
        now: i64,
    ) -> Result<(StoredCoupon, VerifiedGrant)> {
        let stored = tx.wallet_coupon(coupon_id)?.ok_or_else(|| WalletError::UnknownCoupon(coupon_id.into()))?;
        if !stored.state.is_live() {
            return Err(unusable(&stored, vec![stored.state.as_str().to_string()]));
        }
        let grant = self.reverify(&stored, keys, now).ok_or_else(|| unusable(&stored, vec!["not_verified".into()]))?;
        Ok((stored, grant))
    }

    /// The stored grant verified again with the keys in force; None (logged) when it no longer verifies.
    fn reverify(&self, stored: &StoredCoupon, keys: &KeySet, now: i64) -> Option<VerifiedGrant> {
        match verify_grant(&stored.grant, keys, now) {
            Ok(grant) => Some(grant),
            Err(e) => {
                tracing::warn!(reason = feed::grant_refusal_code(&e), "a stored coupon no longer verifies; not shown");
                None
            }
        }
    }
}

/// What the evaluator needs to know about the coupon's local history.
fn local_state(c: &StoredCoupon) -> CouponState {
    CouponState {
        uses: c.server_uses.saturating_add(c.pending_uses),
        offline_uses_since_sync: c.pending_uses,
        offline_value_since_sync: c.pending_value_minor,
        revoked: c.state == CouponLifecycle::Revoked,
    }
}

fn view(stored: &StoredCoupon, grant: &VerifiedGrant, now: i64) -> CouponView {
    let g = grant.grant();
    let mut reasons: Vec<String> = if stored.state.is_live() {
        standing(&WalletCoupon { grant, state: local_state(stored) }, now)
            .iter()
            .map(Reason::code)
            .map(String::from)
            .collect()
    } else {
        vec![stored.state.as_str().to_string()]
    };
    reasons.dedup();
    let display: Option<Value> = stored.display.as_deref().and_then(|d| serde_json::from_str(d).ok());
    let text = |key: &str| display.as_ref().and_then(|d| d.get(key)).and_then(Value::as_str).map(String::from);
    CouponView {
        id: g.coupon_id.clone(),
        serial: g.serial.clone(),
        state: stored.state.as_str(),
        state_reason: stored.reason.clone(),
        title: text("title"),
        terms: text("terms"),
        discount: discount_text(&g.discount, &g.currency),
        valid_from: rfc3339_ms(g.validity.not_before.saturating_mul(1000)),
        valid_until: rfc3339_ms(g.validity.not_after.saturating_mul(1000)),
        valid_until_local: g.validity.local.as_ref().map(|l| l.last_day.to_string()),
        zone: g.validity.local.as_ref().map(|l| l.zone.clone()),
        usable_now: reasons.is_empty(),
        reasons,
        uses_allowed: g.uses_allowed,
        uses: stored.server_uses.saturating_add(stored.pending_uses),
        pending_code: stored.pending_code.clone(),
        ended_at: stored.ended_at.clone(),
        store_id: stored.store_id.clone(),
        device: stored.device.clone(),
    }
}

/// `10%`, `12.5%`, `300 JPY`, `2.50 EUR`: minor units written with the currency's usual decimals.
pub fn discount_text(discount: &Discount, currency: &str) -> String {
    match discount {
        Discount::Percent { basis_points } => {
            let (whole, frac) = (basis_points / 100, basis_points % 100);
            if frac == 0 {
                format!("{whole}%")
            } else {
                format!("{}%", format!("{whole}.{frac:02}").trim_end_matches('0'))
            }
        }
        Discount::Amount { minor } => match minor_digits(currency) {
            0 => format!("{minor} {currency}"),
            d => {
                let unit = 10u64.pow(d);
                format!("{}.{:0width$} {currency}", minor / unit, minor % unit, width = d as usize)
            }
        },
    }
}

/// ISO 4217 minor-unit digits for the currencies without two.
fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" | "PYG" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
        _ => 2,
    }
}

fn tombstone(t: &FeedTombstone) -> CouponTombstone {
    CouponTombstone {
        coupon_id: t.coupon_id.clone(),
        serial: t.serial.clone(),
        state: CouponLifecycle::from_tombstone(&t.reason).unwrap_or(CouponLifecycle::Withdrawn),
        at: t.at.clone(),
        store_id: t.store_id.clone(),
        device: t.device.clone(),
    }
}

/// An outbox item's JSON with the holder who acted: `anonymousId`, and `userId` when signed in.
fn with_holder(mut body: Value, holder: &Identity) -> Value {
    body["anonymousId"] = Value::String(holder.anonymous_id.clone());
    if let Some(user_id) = &holder.user_id {
        body["userId"] = Value::String(user_id.clone());
    }
    body
}

fn unusable(stored: &StoredCoupon, reasons: Vec<String>) -> Error {
    WalletError::Unusable { coupon_id: stored.coupon_id.clone(), reasons }.into()
}

fn present_error(e: PresentError) -> Error {
    match e {
        PresentError::ChallengeTooLong(_) => WalletError::Invalid(e.to_string()).into(),
        other => WalletError::DeviceKey(other.to_string()).into(),
    }
}
