//! The coupon wallet's records as foreign code sees them, mirroring the core's, with their conversions. Kept apart
//! from the methods (`wallet.rs`) so the listener's `WalletChanged` event can carry them. Counters cross as i64
//! (Kotlin `Long`, Swift `Int64`), like every other counter of the facade; reason codes cross as the core's
//! stable strings.

use footfall_core::wallet::lifecycle::CouponLifecycle;
use footfall_core::wallet::service::{CouponView, PresentedCode as CorePresentedCode};
use footfall_core::wallet::{self as core_wallet, QrMatrix};
use footfall_core::WalletError;

use crate::config::saturate;
use crate::error::{FootfallError, Result};

/// Where a coupon is on the device: `Available → Clipped → PendingRedeem → Redeemed` (or `Rejected` with a
/// reason), plus the issuer's tombstones (`Revoked`, `Expired`, `Withdrawn`, and `Redeemed` elsewhere). Only the
/// server makes a coupon `Redeemed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CouponState {
    Available,
    Clipped,
    /// Presented at a till; the redemption waits for the server's answer (offline it waits for the network).
    PendingRedeem,
    Redeemed,
    /// The server refused this device's redemption; `Coupon.state_reason` says why (`double_spend`, …).
    Rejected,
    Revoked,
    Expired,
    /// The issuer no longer lists it for this shopper.
    Withdrawn,
}

impl From<CouponLifecycle> for CouponState {
    fn from(state: CouponLifecycle) -> Self {
        match state {
            CouponLifecycle::Available => CouponState::Available,
            CouponLifecycle::Clipped => CouponState::Clipped,
            CouponLifecycle::PendingRedeem => CouponState::PendingRedeem,
            CouponLifecycle::Redeemed => CouponState::Redeemed,
            CouponLifecycle::Rejected => CouponState::Rejected,
            CouponLifecycle::Revoked => CouponState::Revoked,
            CouponLifecycle::Expired => CouponState::Expired,
            CouponLifecycle::Withdrawn => CouponState::Withdrawn,
        }
    }
}

/// A coupon in the wallet, as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Coupon {
    pub id: String,
    /// The shopper's serial of it: the unit of single use.
    pub serial: String,
    pub state: CouponState,
    /// Why it was rejected or ended (`double_spend`, `revoked`, …).
    pub state_reason: Option<String>,
    pub title: Option<String>,
    pub terms: Option<String>,
    /// `10%` or `300 JPY`, ready to show.
    pub discount: String,
    /// RFC 3339, UTC.
    pub valid_from: String,
    /// The first instant it is no longer valid (RFC 3339, UTC, grace not included).
    pub valid_until: String,
    /// The store-local last day (`2026-12-24`) and its IANA zone, when the issuer stated validity that way: what
    /// to show the shopper.
    pub valid_until_local: Option<String>,
    pub zone: Option<String>,
    /// It can be presented now.
    pub usable_now: bool,
    /// Why it is not usable now (empty when it is): evaluator codes (`expired`, `uses_exhausted`,
    /// `offline_limit`, …) or the state (`redeemed`, `revoked`, …).
    pub reasons: Vec<String>,
    pub uses_allowed: i64,
    /// Uses the server accepted plus those waiting for its answer.
    pub uses: i64,
    /// The last code presented and not answered yet: show it again (`qr_code(pending_code)`) rather than
    /// presenting twice.
    pub pending_code: Option<String>,
    /// When it ended (tombstones), RFC 3339.
    pub ended_at: Option<String>,
    /// For a coupon redeemed: the store and the device key's short id of the accepted redemption.
    pub store_id: Option<String>,
    pub device: Option<String>,
}

impl From<CouponView> for Coupon {
    fn from(v: CouponView) -> Self {
        Coupon {
            id: v.id,
            serial: v.serial,
            // The core's own reading of its state names (an unknown one offers nothing).
            state: CouponLifecycle::parse(v.state).into(),
            state_reason: v.state_reason,
            title: v.title,
            terms: v.terms,
            discount: v.discount,
            valid_from: v.valid_from,
            valid_until: v.valid_until,
            valid_until_local: v.valid_until_local,
            zone: v.zone,
            usable_now: v.usable_now,
            reasons: v.reasons,
            uses_allowed: i64::from(v.uses_allowed),
            uses: i64::from(v.uses),
            pending_code: v.pending_code,
            ended_at: v.ended_at,
            store_id: v.store_id,
            device: v.device,
        }
    }
}

/// A QR symbol as modules: `width × width`, row-major, `true` = dark. The app draws squares and a light quiet
/// zone of 4 modules around them; no image type crosses.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QrCode {
    pub width: i32,
    /// 1-40: `width = 17 + 4 × version`.
    pub version: i32,
    pub modules: Vec<bool>,
}

impl TryFrom<QrMatrix> for QrCode {
    type Error = FootfallError;

    fn try_from(m: QrMatrix) -> Result<Self> {
        let width = i32::try_from(m.width)
            .map_err(|_| FootfallError::Internal { reason: format!("a QR symbol {} modules wide", m.width) })?;
        Ok(QrCode { width, version: i32::from(m.version), modules: m.modules })
    }
}

/// What presenting a coupon returns once its redemption is durable: the code for the till, as text and as a QR
/// symbol of that text.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PresentedCode {
    /// Base45 text: what the QR symbol holds and what a keyboard-wedge scanner types.
    pub code: String,
    /// The device's presentation counter this code used.
    pub counter: i64,
    /// The device key's short id (what the issuer attributes a double spend to).
    pub device: String,
    /// The redemption's idempotency key, sent to the issuer when the network allows.
    pub redemption_id: String,
    pub coupon_id: String,
    pub serial: String,
    pub qr: QrCode,
}

impl PresentedCode {
    pub(crate) fn new(code: CorePresentedCode, qr: QrCode) -> Self {
        PresentedCode {
            code: code.code,
            counter: saturate(code.counter),
            device: code.device,
            redemption_id: code.redemption_id,
            coupon_id: code.coupon_id,
            serial: code.serial,
            qr,
        }
    }
}

/// A feed entry that was not stored, and why (`reason` is a stable code such as `bad_signature`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WalletRefusal {
    /// The coupon it named, when that much could be read.
    pub coupon_id: Option<String>,
    pub reason: String,
    pub detail: String,
}

/// What one wallet sync did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WalletSyncReport {
    /// False when the server said nothing changed (304).
    pub changed: bool,
    /// The server no longer knew the device's position (410) and listed the wallet again in full.
    pub started_over: bool,
    pub pages: i64,
    pub upserts: i64,
    pub tombstones: i64,
    /// Coupons a full listing no longer named (kept as `Withdrawn`).
    pub withdrawn: i64,
    /// Entries that were not stored, each with its reason.
    pub refused: Vec<WalletRefusal>,
    /// The issuer key set version a rotation in this sync moved to.
    pub keyset_version: Option<i64>,
    /// Server time minus device time, ms: the correction the wallet judges validity with.
    pub server_offset_ms: i64,
}

impl From<footfall_core::sync::WalletSyncReport> for WalletSyncReport {
    fn from(r: footfall_core::sync::WalletSyncReport) -> Self {
        WalletSyncReport {
            changed: r.changed,
            started_over: r.started_over,
            pages: i64::from(r.pages),
            upserts: i64::from(r.upserts),
            tombstones: i64::from(r.tombstones),
            withdrawn: i64::from(r.withdrawn),
            refused: r
                .refused
                .into_iter()
                .map(|f| WalletRefusal { coupon_id: f.coupon_id, reason: f.reason.to_string(), detail: f.detail })
                .collect(),
            keyset_version: r.keyset_version.map(saturate),
            server_offset_ms: r.server_offset_ms,
        }
    }
}

/// One basket line.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BasketLine {
    /// GTIN-8, 12, 13 or 14 digits with a correct check digit.
    pub gtin: String,
    /// The item's product family code, when the store knows it.
    #[uniffi(default = None)]
    pub family: Option<String>,
    #[uniffi(default = 1)]
    pub quantity: i64,
    /// Minor units of the basket's currency (yen, cents).
    pub unit_price_minor: i64,
}

/// What is being bought, where and when, for "which coupons apply?".
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Basket {
    pub store_id: String,
    /// ISO 4217 code of every price in the basket.
    pub currency: String,
    pub lines: Vec<BasketLine>,
    /// UTC seconds to judge validity at; None: the wallet's server-corrected now.
    #[uniffi(default = None)]
    pub at_secs: Option<i64>,
    /// Whether the device can reach the issuer now; offline, the coupons' offline limits apply.
    #[uniffi(default = true)]
    pub online: bool,
}

impl Basket {
    /// The core's basket at `at` (UTC seconds). A line that cannot be one (not a GTIN, a negative quantity or
    /// price) is the wallet's `Invalid` refusal, like the core's own basket refusals.
    pub(crate) fn to_core(&self, at: i64) -> Result<core_wallet::Basket> {
        let lines = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let invalid =
                    |what: String| FootfallError::from(WalletError::Invalid(format!("basket line {i}: {what}")));
                Ok(core_wallet::BasketLine {
                    gtin: core_wallet::Gtin::parse(&line.gtin).map_err(|e| invalid(e.to_string()))?,
                    family: line.family.clone(),
                    quantity: u32::try_from(line.quantity)
                        .map_err(|_| invalid(format!("quantity must be 0-{}, got {}", u32::MAX, line.quantity)))?,
                    unit_price_minor: u64::try_from(line.unit_price_minor).map_err(|_| {
                        invalid(format!("unit price must not be negative, got {}", line.unit_price_minor))
                    })?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(core_wallet::Basket {
            store_id: self.store_id.clone(),
            currency: self.currency.clone(),
            lines,
            at,
            online: self.online,
        })
    }
}

/// The verdict for one coupon against a basket.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CouponOutcome {
    pub coupon_id: String,
    pub serial: String,
    pub applies: bool,
    /// Minor units of the basket's currency; 0 unless it applies.
    pub discount_minor: i64,
    /// Every reason against it, sorted (`min_basket`, `not_eligible_item`, `stack_conflict`, …); empty when it
    /// applies.
    pub reasons: Vec<String>,
}

impl From<core_wallet::CouponOutcome> for CouponOutcome {
    fn from(o: core_wallet::CouponOutcome) -> Self {
        CouponOutcome {
            coupon_id: o.coupon_id,
            serial: o.serial,
            applies: o.applies,
            discount_minor: saturate(o.discount_minor),
            reasons: o.reasons.iter().map(|r| r.code().to_string()).collect(),
        }
    }
}

/// A till's verdict on a redemption code.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RedemptionVerdict {
    /// Accept the coupon: apply it to the sale.
    pub valid: bool,
    /// What the code redeems (when valid).
    pub coupon_id: Option<String>,
    pub serial: Option<String>,
    /// The presenting device key's short id (when valid).
    pub device: Option<String>,
    /// The device's presentation counter (when valid).
    pub counter: Option<i64>,
    /// Why it was refused, a stable code (`stale`, `bad_proof`, `expired`, `replayed`, `already_redeemed`, …).
    pub reason: Option<String>,
    /// The refusal as an English sentence.
    pub detail: Option<String>,
}

impl RedemptionVerdict {
    pub(crate) fn accepted(v: &core_wallet::VerifiedRedemption) -> Self {
        let g = v.grant.grant();
        RedemptionVerdict {
            valid: true,
            coupon_id: Some(g.coupon_id.clone()),
            serial: Some(g.serial.clone()),
            device: Some(v.device_id.clone()),
            counter: Some(saturate(v.counter)),
            reason: None,
            detail: None,
        }
    }

    pub(crate) fn refused(e: &core_wallet::RedemptionRefused) -> Self {
        RedemptionVerdict {
            valid: false,
            coupon_id: None,
            serial: None,
            device: None,
            counter: None,
            reason: Some(core_wallet::refusal_reason(e).to_string()),
            detail: Some(e.to_string()),
        }
    }
}
