//! Store proximity on the foreign `Footfall` object: the two ingestion paths (Android's advertisement bytes,
//! iOS's ranged beacon identity), scan state, visits, status and click-and-collect pickups. Each function converts
//! and calls the core; the rules (presence, campaigns, pickups, consent) are the core's. The records are in
//! `proximity_records.rs`.
//!
//! The ingestion calls (`proximity_advertisement`, `proximity_identity`, `proximity_scan_tick`,
//! `proximity_scanning`) never wait for the disk: they take one in-memory lock and hand any change to the
//! writer thread, so a platform's scan callback may call them directly. `proximity_visits`, `pickups` and
//! `expect_pickup` read or write the database: the Kotlin and Swift layers call them off the main thread.
//! Instants cross as UTC milliseconds since the epoch (the core's unit for a pickup window).

use crate::error::Result;
use crate::footfall::Footfall;
use crate::proximity_records::{Ingested, Pickup, ProximityStatus, Visit};

#[uniffi::export]
impl Footfall {
    /// Android's path: one BLE advertisement's bytes (the scan record) and RSSI, heard `age_ms` ago. A frame that
    /// names no beacon (iBeacon, Eddystone-UID) is refused with `InvalidInput` and counted; nothing is kept.
    #[uniffi::method(default(age_ms = 0))]
    pub fn proximity_advertisement(&self, bytes: Vec<u8>, rssi: i16, age_ms: u64) -> Result<Ingested> {
        Ok(self.core.proximity_advertisement(&bytes, rssi, age_ms)?.into())
    }

    /// iOS's path: a beacon CoreLocation ranged (proximity UUID in either case, major, minor, its RSSI), heard
    /// `age_ms` ago. An RSSI of 0 (CoreLocation measured nothing) or a malformed UUID is `InvalidInput`.
    #[uniffi::method(default(age_ms = 0))]
    pub fn proximity_identity(&self, uuid: String, major: u16, minor: u16, rssi: i16, age_ms: u64) -> Result<Ingested> {
        Ok(self.core.proximity_identity(&uuid, major, minor, rssi, age_ms)?.into())
    }

    /// A scan cycle ended with scanning on: what was not heard in it was absent. Once per cycle (iOS: each ranging
    /// callback; Android: each scan period).
    pub fn proximity_scan_tick(&self) -> Result<Ingested> {
        Ok(self.core.proximity_scan_tick()?.into())
    }

    /// Scanning stopped (background, Bluetooth off, permission revoked) or started again. Time while stopped is
    /// unknown: it never counts as absence.
    pub fn proximity_scanning(&self, active: bool) -> Result<Ingested> {
        Ok(self.core.proximity_scanning(active)?.into())
    }

    /// The latest visits, newest first.
    pub fn proximity_visits(&self, limit: u32) -> Result<Vec<Visit>> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(self.core.proximity_visits(limit)?.into_iter().map(Visit::from).collect())
    }

    /// Counters since the instance started, the configuration's size and version, and the zones the shopper is in.
    pub fn proximity_status(&self) -> Result<ProximityStatus> {
        Ok(self.core.proximity_status()?.into())
    }

    /// Click-and-collect: watch for the shopper entering one of `store`'s zones between `from_ms` and `until_ms`
    /// (UTC milliseconds). The arrival is told once per order (`PickupArrived`); calling it again for the same
    /// order moves its window until it has arrived. Returns once the expectation is durable.
    pub fn expect_pickup(&self, order_id: String, store: String, from_ms: i64, until_ms: i64) -> Result<()> {
        Ok(self.core.expect_pickup(&order_id, &store, from_ms, until_ms)?)
    }

    /// Every expected pickup, arrived or not.
    pub fn pickups(&self) -> Result<Vec<Pickup>> {
        Ok(self.core.pickups()?.into_iter().map(Pickup::from).collect())
    }
}
