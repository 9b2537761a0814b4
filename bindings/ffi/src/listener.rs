//! SDK events for the app through a foreign `EventListener`, adapted from the core's `SdkListener`.
//!
//! The core calls it on its sync thread after each upload pass (before an explicit flush returns) and after a
//! wallet sync, on its writer thread after a consent change, a visit change, an offer or a pickup arrival is
//! durable, and on the caller's thread after a wallet clip or presentation (before that call returns), with no
//! lock held. A foreign exception is logged and dropped; the SDK goes on.

use std::sync::Arc;

use footfall_core::SdkEvent;

use crate::config::{millis, saturate};
use crate::consent_records::ConsentStatus;
use crate::error::FootfallError;
use crate::proximity_records::{Offer, Pickup, Visit};
use crate::wallet_records::Coupon;

/// Something the SDK did. New variants will be added: match with an else branch.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum FootfallEvent {
    /// The server accepted `count` messages; `duplicates` of them it already had.
    Delivered { count: i64, duplicates: i64 },
    /// The server refused `count` messages with this status and reason; they are in the dead letters.
    DeadLettered { count: i64, status: Option<i32>, reason: String },
    /// An upload failed transiently; data is kept and the next attempt is due after `after_ms`.
    RetryScheduled { after_ms: i64, reason: String },
    /// The server refused the credentials or endpoint; uploads wait for an explicit flush; data is kept.
    Paused { reason: String },
    /// A consent change took effect: a decision, or a policy or context applied. `purged` queued events of the
    /// purposes now denied were deleted with it; `status` is the consent status it produced (keep it: no need to
    /// read it back).
    ConsentChanged {
        record_id: Option<String>,
        now_allowed: Vec<String>,
        now_denied: Vec<String>,
        purged: i64,
        status: ConsentStatus,
    },
    /// The wallet changed: a sync brought coupons or tombstones, the issuer answered a redemption, or the shopper
    /// clipped or presented a coupon. `coupons` is the whole wallet as `wallet_coupons()` returns it now (keep
    /// it: no need to read it back).
    WalletChanged { coupons: Vec<Coupon> },
    /// A store visit opened, became a dwell or ended (told once each, once it is durable with its event).
    VisitChanged { visit: Visit },
    /// The campaign rules chose an offer for a visit: at most one per campaign and visit, within the caps.
    OfferMade { offer: Offer },
    /// The shopper arrived at the store of an expected pickup, inside its window (once per order).
    PickupArrived { pickup: Pickup },
}

/// Implemented by the app. Called on an SDK thread: hand the event over (a channel, a flow) and return quickly,
/// and do not call `flush()` or `close()` from inside.
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: FootfallEvent) -> Result<(), FootfallError>;
}

/// The core-side listener that forwards to the foreign one.
pub(crate) struct Forward(pub Arc<dyn EventListener>);

impl footfall_core::SdkListener for Forward {
    fn on_event(&self, event: &SdkEvent) {
        let Some(event) = convert(event) else { return };
        if let Err(e) = self.0.on_event(event) {
            tracing::warn!(error = %e, "the app's event listener failed");
        }
    }
}

/// None for core events this version of the facade does not know yet.
fn convert(event: &SdkEvent) -> Option<FootfallEvent> {
    Some(match event {
        SdkEvent::Delivered { count, duplicates } => {
            FootfallEvent::Delivered { count: saturate(*count), duplicates: saturate(*duplicates) }
        }
        SdkEvent::DeadLettered { count, status, reason } => FootfallEvent::DeadLettered {
            count: saturate(*count),
            status: status.map(i32::from),
            reason: reason.clone(),
        },
        SdkEvent::RetryScheduled { after, reason } => {
            FootfallEvent::RetryScheduled { after_ms: millis(*after), reason: reason.clone() }
        }
        SdkEvent::Paused { reason } => FootfallEvent::Paused { reason: reason.clone() },
        SdkEvent::ConsentChanged { record_id, now_allowed, now_denied, purged, status } => {
            FootfallEvent::ConsentChanged {
                record_id: record_id.clone(),
                now_allowed: now_allowed.clone(),
                now_denied: now_denied.clone(),
                purged: saturate(*purged),
                status: status.as_ref().clone().into(),
            }
        }
        SdkEvent::WalletChanged { coupons } => {
            FootfallEvent::WalletChanged { coupons: coupons.iter().cloned().map(Coupon::from).collect() }
        }
        SdkEvent::VisitChanged { visit } => FootfallEvent::VisitChanged { visit: visit.clone().into() },
        SdkEvent::OfferMade { offer } => FootfallEvent::OfferMade { offer: offer.clone().into() },
        SdkEvent::PickupArrived { pickup } => FootfallEvent::PickupArrived { pickup: pickup.clone().into() },
        _ => return None,
    })
}
