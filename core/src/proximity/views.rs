//! What the app sees of proximity (listener events, `proximity_visits()`, the bindings), and the events that go to
//! the backend through the queue. Times are RFC 3339 UTC with milliseconds, like every other timestamp the SDK
//! shows.

use serde::Serialize;
use serde_json::{json, Value};

use crate::clock::rfc3339_ms;
use crate::storage::{StoredOffer, StoredPickup, StoredVisit};

/// Where a visit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitPhase {
    /// Entered, not yet a dwell.
    Entered,
    /// Inside for the zone's dwell time.
    Dwelling,
    Ended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitView {
    pub id: String,
    pub zone: String,
    pub store: String,
    pub phase: VisitPhase,
    pub entered_at: String,
    pub dwell_at: Option<String>,
    pub exited_at: Option<String>,
    /// `absence` (observed absence for the zone's exit time), `stale` (the app did not run long enough after a
    /// restart to observe anything) or `zone_removed` (the remote configuration dropped the zone).
    pub end_reason: Option<String>,
}

impl From<&StoredVisit> for VisitView {
    fn from(v: &StoredVisit) -> VisitView {
        let phase = match (v.exited_ms, v.dwell_ms) {
            (Some(_), _) => VisitPhase::Ended,
            (None, Some(_)) => VisitPhase::Dwelling,
            (None, None) => VisitPhase::Entered,
        };
        VisitView {
            id: v.id.clone(),
            zone: v.zone.clone(),
            store: v.store.clone(),
            phase,
            entered_at: rfc3339_ms(v.entered_ms),
            dwell_at: v.dwell_ms.map(rfc3339_ms),
            exited_at: v.exited_ms.map(rfc3339_ms),
            end_reason: v.end_reason.clone(),
        }
    }
}

/// An offer the rules chose for this visit; the app shows it (title and body are copy keys it resolves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferView {
    pub offer_id: String,
    pub campaign_id: String,
    pub visit_id: String,
    pub zone: String,
    pub title: String,
    pub body: String,
    /// The wallet coupon the offer grants, if any.
    pub coupon_id: Option<String>,
    /// True when the coupon was in the wallet and is now clipped; false when the wallet does not hold it (yet).
    pub coupon_clipped: bool,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PickupView {
    pub order_id: String,
    pub store: String,
    pub window_from: String,
    pub window_until: String,
    pub arrived_at: Option<String>,
    pub visit_id: Option<String>,
}

impl From<&StoredPickup> for PickupView {
    fn from(p: &StoredPickup) -> PickupView {
        PickupView {
            order_id: p.order_id.clone(),
            store: p.store.clone(),
            window_from: rfc3339_ms(p.from_ms),
            window_until: rfc3339_ms(p.until_ms),
            arrived_at: p.arrived_ms.map(rfc3339_ms),
            visit_id: p.visit_id.clone(),
        }
    }
}

/// The backend events (names and properties as docs/protocol.md lists them).
pub(crate) fn visit_event(name: &str, v: &StoredVisit) -> (String, Value) {
    let mut props = json!({"visit_id": v.id, "zone": v.zone, "store": v.store, "entered_at": rfc3339_ms(v.entered_ms)});
    if let Some(dwell) = v.dwell_ms {
        props["dwell_at"] = json!(rfc3339_ms(dwell));
    }
    if let Some(exited) = v.exited_ms {
        props["exited_at"] = json!(rfc3339_ms(exited));
        props["duration_s"] = json!((exited - v.entered_ms).max(0) / 1000);
        props["reason"] = json!(v.end_reason);
    }
    (name.to_string(), props)
}

pub(crate) fn offer_event(o: &StoredOffer) -> (String, Value) {
    (
        "offer_shown".into(),
        json!({"offer_id": o.offer_id, "campaign_id": o.campaign_id, "visit_id": o.visit_id,
        "zone": o.zone, "coupon_id": o.coupon_id}),
    )
}

pub(crate) fn pickup_event(p: &StoredPickup) -> (String, Value) {
    (
        "pickup_arrived".into(),
        json!({"order_id": p.order_id, "store": p.store, "visit_id": p.visit_id,
        "arrived_at": p.arrived_ms.map(rfc3339_ms)}),
    )
}
