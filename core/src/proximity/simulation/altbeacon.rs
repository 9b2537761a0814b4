//! The baseline: presence as AltBeacon's android-beacon-library does it with its defaults, scored on the same
//! traces as ours.
//!
//! How it is modelled:
//! - smoothing: `RunningAverageRssiFilter` (20 s window, readings sorted, `n/10 + 1` dropped at each end once
//!   there are more than 2, the rest averaged), per beacon;
//! - a reading *qualifies* when its beacon's running average is at or above the zone's `enter_rssi` (the same
//!   threshold as ours; AltBeacon itself has none, which would only make it enter more often);
//! - enter: on the first qualifying reading (no k-of-m);
//! - exit: at the end of a scan cycle (a tick) more than 10 s (`regionExitPeriod`) after the last qualifying
//!   reading, as `MonitoringStatus` checks at each cycle's end; no hysteresis;
//! - scan start/stop are ignored: it has no notion of unknown time, so the first cycle after a gap judges the
//!   whole gap as absence (readings in that cycle come before its end, as in AltBeacon, and can still save it).

use std::collections::HashMap;
use std::sync::Arc;

use crate::proximity::presence::Transition;
use crate::proximity::sighting::{BeaconId, Sighting};
use crate::proximity::smoothing::{RssiFilter, SmoothingStrategy};
use crate::proximity::zone::ZoneConfig;

/// AltBeacon's `regionExitPeriod` default.
pub const REGION_EXIT_PERIOD_MS: u64 = 10_000;

#[derive(Debug)]
pub struct AltBeaconDefaults {
    zones: Vec<RegionState>,
    index: HashMap<BeaconId, usize>,
    beacons: Vec<(RssiFilter, Vec<usize>)>,
    now_ms: u64,
}

#[derive(Debug)]
struct RegionState {
    id: Arc<str>,
    enter_rssi: f32,
    /// The last qualifying reading while inside.
    inside_since_seen: Option<u64>,
}

impl AltBeaconDefaults {
    pub fn new(zones: &[ZoneConfig]) -> AltBeaconDefaults {
        let mut index = HashMap::new();
        let mut beacons: Vec<(RssiFilter, Vec<usize>)> = Vec::new();
        for (z, zone) in zones.iter().enumerate() {
            for beacon in &zone.beacons {
                let slot = *index.entry(*beacon).or_insert_with(|| {
                    beacons.push((SmoothingStrategy::ALTBEACON.filter(), Vec::new()));
                    beacons.len() - 1
                });
                beacons[slot].1.push(z);
            }
        }
        let zones = zones
            .iter()
            .map(|zone| RegionState {
                id: Arc::from(zone.id.as_str()),
                enter_rssi: f32::from(zone.enter_rssi),
                inside_since_seen: None,
            })
            .collect();
        AltBeaconDefaults { zones, index, beacons, now_ms: 0 }
    }

    pub fn observe(&mut self, sighting: &Sighting, out: &mut Vec<Transition>) {
        let Some(&slot) = self.index.get(&sighting.beacon) else { return };
        self.now_ms = self.now_ms.max(sighting.at_ms);
        let at_ms = self.now_ms;
        let (filter, zones) = &mut self.beacons[slot];
        let smoothed = filter.update(sighting.rssi, at_ms);
        for &z in zones.iter() {
            let Some(zone) = self.zones.get_mut(z) else { continue };
            if smoothed >= zone.enter_rssi {
                if zone.inside_since_seen.is_none() {
                    out.push(Transition::Enter { zone: zone.id.clone(), at_ms });
                }
                zone.inside_since_seen = Some(at_ms);
            }
        }
    }

    pub fn tick(&mut self, at_ms: u64, out: &mut Vec<Transition>) {
        self.now_ms = self.now_ms.max(at_ms);
        for zone in &mut self.zones {
            if let Some(seen) = zone.inside_since_seen {
                if self.now_ms - seen > REGION_EXIT_PERIOD_MS {
                    out.push(Transition::Exit { zone: zone.id.clone(), at_ms: seen, detected_at_ms: self.now_ms });
                    zone.inside_since_seen = None;
                }
            }
        }
    }
}
