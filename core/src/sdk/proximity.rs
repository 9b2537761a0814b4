//! Store proximity on [`Footfall`]: the two ingestion paths, scan state, visits and pickups. The rules live in
//! [`crate::proximity`]; this file stamps inputs on the SDK clock and finds the storage. Ingestion never waits for
//! the disk (it runs on the platform's scan callback); everything it changes is written by the writer thread.

use std::sync::Arc;

use super::Footfall;
use crate::error::{Error, ProximityError, Result};
use crate::proximity::service::{Ingested, Proximity};
use crate::proximity::views::{PickupView, VisitView};
use crate::proximity::Sighting;
use crate::storage::StoredPickup;

/// Proximity's counters since the instance started, and the zones the shopper is in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProximityStatus {
    /// Inputs fed to the presence engine.
    pub processed: u64,
    /// Inputs dropped because `location` is not granted.
    pub without_consent: u64,
    /// Inputs refused as not a sighting.
    pub refused: u64,
    pub zones: usize,
    pub campaigns: usize,
    pub config_version: u32,
    /// (zone, visit id) for every visit open now.
    pub inside: Vec<(String, String)>,
}

impl Footfall {
    /// Android's path: one advertisement's bytes and RSSI, heard `age_ms` ago (the scan result's timestamp
    /// subtracted from now, both on `elapsedRealtime`). A frame that names no beacon is refused with a typed error
    /// and counted; nothing is kept.
    pub fn proximity_advertisement(&self, bytes: &[u8], rssi: i16, age_ms: u64) -> Result<Ingested> {
        let proximity = self.proximity()?;
        let at = self.clock.monotonic_ms().saturating_sub(age_ms);
        let sighting = Sighting::from_advertisement(bytes, rssi, at).map_err(|e| refused(&proximity, e))?;
        Ok(proximity.observe(&sighting))
    }

    /// iOS's path: a beacon CoreLocation ranged (UUID in either case, major, minor, its averaged RSSI).
    pub fn proximity_identity(&self, uuid: &str, major: u16, minor: u16, rssi: i16, age_ms: u64) -> Result<Ingested> {
        let proximity = self.proximity()?;
        let at = self.clock.monotonic_ms().saturating_sub(age_ms);
        let sighting = Sighting::from_identity(uuid, major, minor, rssi, at).map_err(|e| refused(&proximity, e))?;
        Ok(proximity.observe(&sighting))
    }

    /// A scan cycle ended with scanning on: what was not heard in it was absent. Call it once per cycle (iOS:
    /// each ranging callback; Android: each scan period).
    pub fn proximity_scan_tick(&self) -> Result<Ingested> {
        let proximity = self.proximity()?;
        Ok(proximity.tick(self.clock.monotonic_ms()))
    }

    /// Scanning stopped (the app went to the background, Bluetooth is off, permission was revoked) or started
    /// again. Time while it is stopped is unknown: it never counts as absence.
    pub fn proximity_scanning(&self, active: bool) -> Result<Ingested> {
        let proximity = self.proximity()?;
        Ok(proximity.scanning(active, self.clock.monotonic_ms()))
    }

    /// The latest visits, newest first.
    pub fn proximity_visits(&self, limit: usize) -> Result<Vec<VisitView>> {
        Ok(self.storage()?.visits(limit)?.iter().map(VisitView::from).collect())
    }

    pub fn proximity_status(&self) -> Result<ProximityStatus> {
        use std::sync::atomic::Ordering::Relaxed;
        let proximity = self.proximity()?;
        let config = proximity.config();
        Ok(ProximityStatus {
            processed: proximity.counts.processed.load(Relaxed),
            without_consent: proximity.counts.without_consent.load(Relaxed),
            refused: proximity.counts.refused.load(Relaxed),
            zones: config.zones.len(),
            campaigns: config.campaigns.campaigns.len(),
            config_version: config.version,
            inside: proximity.inside(),
        })
    }

    /// Click-and-collect: watch for the shopper entering one of `store`'s zones between `from_ms` and
    /// `until_ms` (UTC). The arrival is told once per order (`PickupArrived` and a `pickup_arrived` event under
    /// `location`); calling it again for the same order moves its window until it has arrived.
    pub fn expect_pickup(&self, order_id: &str, store: &str, from_ms: i64, until_ms: i64) -> Result<()> {
        let invalid = |why: &str| Error::Proximity(ProximityError::InvalidPickup(why.to_string()));
        if order_id.is_empty() || order_id.len() > 128 {
            return Err(invalid("the order id must be 1 to 128 bytes"));
        }
        if store.is_empty() || store.len() > 128 {
            return Err(invalid("the store id must be 1 to 128 bytes"));
        }
        if until_ms < from_ms {
            return Err(invalid("the window ends before it starts"));
        }
        let proximity = self.proximity()?;
        let recorder = self.proximity_recorder.clone();
        let pickup = StoredPickup {
            order_id: order_id.to_string(),
            store: store.to_string(),
            from_ms,
            until_ms,
            arrived_ms: None,
            visit_id: None,
            created_ms: self.clock.now_ms(),
        };
        let inside = proximity.open_visit_in_store(store);
        self.handoff.run(move |ctx| recorder.expect_pickup(ctx, pickup, inside))
    }

    /// Every expected pickup, arrived or not.
    pub fn pickups(&self) -> Result<Vec<PickupView>> {
        Ok(self.storage()?.pickups()?.iter().map(PickupView::from).collect())
    }

    fn proximity(&self) -> Result<Arc<Proximity>> {
        if self.handoff.shared.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(self.proximity.clone())
    }
}

fn refused(proximity: &Proximity, e: crate::proximity::SightingError) -> Error {
    proximity.counts.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Error::Proximity(ProximityError::NotASighting(e.to_string()))
}
