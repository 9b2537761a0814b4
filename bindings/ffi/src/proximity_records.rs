//! Store proximity's records as foreign code sees them, mirroring the core's views, with their conversions. Kept
//! apart from the methods (`proximity.rs`) so the listener's `VisitChanged`, `OfferMade` and `PickupArrived`
//! events can carry them. Instants cross as RFC 3339 UTC text (like a coupon's validity), counters as i64.

use footfall_core::proximity::service::Ingested as CoreIngested;
use footfall_core::proximity::views::{OfferView, PickupView, VisitPhase as CoreVisitPhase, VisitView};
use footfall_core::sdk::ProximityStatus as CoreProximityStatus;

use crate::config::saturate;

/// What became of one input (a reading, a scan tick, a scanning change). Refused input is an `InvalidInput` error
/// instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Ingested {
    /// Fed to the presence engine.
    Processed,
    /// `location` is not granted (or not known yet): dropped, nothing kept.
    NoConsent,
    /// The visits left open by the last run are still being read (just after start-up): dropped.
    NotReady,
}

impl From<CoreIngested> for Ingested {
    fn from(i: CoreIngested) -> Self {
        match i {
            CoreIngested::Processed => Ingested::Processed,
            CoreIngested::NoConsent => Ingested::NoConsent,
            CoreIngested::NotReady => Ingested::NotReady,
        }
    }
}

/// Where a visit is: `Entered → Dwelling → Ended` (a short visit goes from `Entered` to `Ended`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum VisitPhase {
    /// Entered, not yet a dwell.
    Entered,
    /// Inside for the zone's dwell time.
    Dwelling,
    Ended,
}

impl From<CoreVisitPhase> for VisitPhase {
    fn from(phase: CoreVisitPhase) -> Self {
        match phase {
            CoreVisitPhase::Entered => VisitPhase::Entered,
            CoreVisitPhase::Dwelling => VisitPhase::Dwelling,
            CoreVisitPhase::Ended => VisitPhase::Ended,
        }
    }
}

/// A store visit: one stay in one zone.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Visit {
    pub id: String,
    pub zone: String,
    pub store: String,
    pub phase: VisitPhase,
    /// RFC 3339, UTC.
    pub entered_at: String,
    /// When it became a dwell (RFC 3339, UTC).
    pub dwell_at: Option<String>,
    /// When the shopper was last near, for an ended visit (RFC 3339, UTC).
    pub exited_at: Option<String>,
    /// `absence` (observed absence for the zone's exit time), `stale` (the app did not run long enough after a
    /// restart to observe anything) or `zone_removed` (the configuration dropped the zone).
    pub end_reason: Option<String>,
}

impl From<VisitView> for Visit {
    fn from(v: VisitView) -> Self {
        Visit {
            id: v.id,
            zone: v.zone,
            store: v.store,
            phase: v.phase.into(),
            entered_at: v.entered_at,
            dwell_at: v.dwell_at,
            exited_at: v.exited_at,
            end_reason: v.end_reason,
        }
    }
}

/// An offer the campaign rules chose for a visit; the app shows it (`title` and `body` are copy keys it
/// resolves).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Offer {
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
    /// RFC 3339, UTC.
    pub at: String,
}

impl From<OfferView> for Offer {
    fn from(o: OfferView) -> Self {
        Offer {
            offer_id: o.offer_id,
            campaign_id: o.campaign_id,
            visit_id: o.visit_id,
            zone: o.zone,
            title: o.title,
            body: o.body,
            coupon_id: o.coupon_id,
            coupon_clipped: o.coupon_clipped,
            at: o.at,
        }
    }
}

/// An expected click-and-collect pickup, and its arrival once the shopper entered the store inside its window.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Pickup {
    pub order_id: String,
    pub store: String,
    /// The window, RFC 3339 UTC.
    pub window_from: String,
    pub window_until: String,
    /// When the shopper arrived (RFC 3339, UTC); None while expected.
    pub arrived_at: Option<String>,
    /// The visit the arrival was recognised in.
    pub visit_id: Option<String>,
}

impl From<PickupView> for Pickup {
    fn from(p: PickupView) -> Self {
        Pickup {
            order_id: p.order_id,
            store: p.store,
            window_from: p.window_from,
            window_until: p.window_until,
            arrived_at: p.arrived_at,
            visit_id: p.visit_id,
        }
    }
}

/// A zone the shopper is in now, and the visit open in it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ZonePresence {
    pub zone: String,
    pub visit_id: String,
}

/// Proximity's counters since the instance started, its configuration's size and version, and the zones the
/// shopper is in.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ProximityStatus {
    /// Inputs fed to the presence engine.
    pub processed: i64,
    /// Inputs dropped because `location` is not granted.
    pub without_consent: i64,
    /// Inputs refused as not a sighting.
    pub refused: i64,
    pub zones: i64,
    pub campaigns: i64,
    /// The proximity configuration's version (0: none).
    pub config_version: i64,
    /// Every visit open now.
    pub inside: Vec<ZonePresence>,
}

impl From<CoreProximityStatus> for ProximityStatus {
    fn from(s: CoreProximityStatus) -> Self {
        ProximityStatus {
            processed: saturate(s.processed),
            without_consent: saturate(s.without_consent),
            refused: saturate(s.refused),
            zones: saturate(s.zones as u64),
            campaigns: saturate(s.campaigns as u64),
            config_version: i64::from(s.config_version),
            inside: s.inside.into_iter().map(|(zone, visit_id)| ZonePresence { zone, visit_id }).collect(),
        }
    }
}
