//! Presence: sightings and scan cycles in, enter / dwell / exit out, without flapping.
//!
//! Rules (per zone):
//! - **enter** once `enter_k` of the zone's last `enter_m` readings had a smoothed RSSI at or above `enter_rssi`
//!   (readings further apart than `max_scan_gap_ms` start the count afresh);
//! - **inside**, a reading at or above `exit_rssi` (below `enter_rssi`: hysteresis) keeps the visit, and ends
//!   any absence;
//! - **exit** once the *observed* absence reaches `exit_after_ms`: time with scanning on, between evidence points
//!   (readings, scan cycles, scan start/stop) no further apart than `max_scan_gap_ms`, without a reading at or
//!   above `exit_rssi`. Time with scanning stopped, or inside a longer gap (Android throttling scans silently), is
//!   unknown and counts for nothing;
//! - **dwell** once per visit, at the first keeping reading `dwell_after_ms` after the enter.
//!
//! Time is the sightings' monotonic milliseconds. An input older than the latest one seen is processed as if it
//! arrived at that latest time (clamped, never reordered), so every output is in time order. Nothing here reads a
//! clock, allocates per reading, or panics.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::sighting::{BeaconId, Sighting};
use super::smoothing::{RssiFilter, SmoothingStrategy};
use super::zone::{validate_zones, ZoneConfig, ZoneError};

/// What the engine decided, in time order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Transition {
    Enter {
        #[serde(serialize_with = "text")]
        zone: Arc<str>,
        at_ms: u64,
    },
    /// Once per visit, at the first reading `dwell_after_ms` or more after the enter.
    Dwell {
        #[serde(serialize_with = "text")]
        zone: Arc<str>,
        at_ms: u64,
        entered_at_ms: u64,
    },
    /// `at_ms`: when the absence began (the last keeping reading); `detected_at_ms`: when the rule fired.
    Exit {
        #[serde(serialize_with = "text")]
        zone: Arc<str>,
        at_ms: u64,
        detected_at_ms: u64,
    },
}

fn text<S: Serializer>(value: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value)
}

impl Transition {
    pub fn zone(&self) -> &str {
        match self {
            Transition::Enter { zone, .. } | Transition::Dwell { zone, .. } | Transition::Exit { zone, .. } => zone,
        }
    }
}

/// Presence in every configured zone, for one phone.
#[derive(Debug)]
pub struct PresenceEngine {
    zones: Vec<ZoneState>,
    index: HashMap<BeaconId, usize>,
    beacons: Vec<TrackedBeacon>,
    /// The latest time seen: earlier inputs are clamped to it.
    now_ms: Option<u64>,
    /// The last evidence point while scanning was known to be on; None while it is off or unknown.
    last_evidence_ms: Option<u64>,
}

#[derive(Debug)]
struct TrackedBeacon {
    filter: RssiFilter,
    zones: Box<[usize]>,
}

#[derive(Debug)]
struct ZoneState {
    id: Arc<str>,
    enter_rssi: f32,
    exit_rssi: f32,
    enter_k: u32,
    enter_mask: u32,
    exit_after_ms: u64,
    dwell_after_ms: u64,
    max_scan_gap_ms: u64,
    /// The near/not-near bits of the latest readings while outside, newest lowest.
    recent: u32,
    last_reading_ms: Option<u64>,
    visit: Option<Visit>,
}

#[derive(Debug, Clone, Copy)]
struct Visit {
    entered_at_ms: u64,
    /// The last reading that kept the visit; None for a restored visit until evidence arrives.
    last_kept_ms: Option<u64>,
    absent_ms: u64,
    dwell_reported: bool,
}

impl PresenceEngine {
    /// An engine for these zones (validated first), each beacon smoothed with `smoothing`.
    pub fn new(zones: Vec<ZoneConfig>, smoothing: SmoothingStrategy) -> Result<PresenceEngine, ZoneError> {
        validate_zones(&zones)?;
        let mut index = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (z, zone) in zones.iter().enumerate() {
            for beacon in &zone.beacons {
                let slot = *index.entry(*beacon).or_insert_with(|| {
                    members.push(Vec::new());
                    members.len() - 1
                });
                members[slot].push(z);
            }
        }
        let beacons = members
            .into_iter()
            .map(|zones| TrackedBeacon { filter: smoothing.filter(), zones: zones.into_boxed_slice() })
            .collect();
        let zones = zones
            .into_iter()
            .map(|zone| ZoneState {
                id: Arc::from(zone.id.as_str()),
                enter_rssi: f32::from(zone.enter_rssi),
                exit_rssi: f32::from(zone.exit_rssi()),
                enter_k: u32::from(zone.enter_k),
                enter_mask: if zone.enter_m >= 32 { u32::MAX } else { (1u32 << zone.enter_m) - 1 },
                exit_after_ms: zone.exit_after_ms,
                dwell_after_ms: zone.dwell_after_ms,
                max_scan_gap_ms: zone.max_scan_gap_ms,
                recent: 0,
                last_reading_ms: None,
                visit: None,
            })
            .collect();
        Ok(PresenceEngine { zones, index, beacons, now_ms: None, last_evidence_ms: None })
    }

    /// A reading. Beacons in no zone are ignored (one hash lookup); a reading also says scanning is on.
    pub fn observe(&mut self, sighting: &Sighting, out: &mut Vec<Transition>) {
        let Some(&slot) = self.index.get(&sighting.beacon) else { return };
        let at_ms = self.evidence(sighting.at_ms, out);
        let beacon = &mut self.beacons[slot];
        let smoothed = beacon.filter.update(sighting.rssi, at_ms);
        for &z in beacon.zones.iter() {
            if let Some(zone) = self.zones.get_mut(z) {
                zone.reading(smoothed, at_ms, out);
            }
        }
    }

    /// A scan cycle ended at `at_ms` with scanning on: what was not heard was absent for the cycle.
    pub fn tick(&mut self, at_ms: u64, out: &mut Vec<Transition>) {
        self.evidence(at_ms, out);
    }

    /// Scanning stopped (background, Bluetooth off) or restarted at `at_ms`. Time while stopped is unknown.
    pub fn scanning(&mut self, active: bool, at_ms: u64, out: &mut Vec<Transition>) {
        if active {
            let at_ms = self.clamp(at_ms);
            self.last_evidence_ms = Some(at_ms);
        } else {
            self.evidence(at_ms, out);
            self.last_evidence_ms = None;
        }
    }

    /// A visit that was open when the process died: the zone starts inside, entered at `entered_at_ms`, with the
    /// time since unknown. New readings continue the visit (no second Enter); observed absence ends it. A Dwell
    /// may be reported again for it (the visit's store keys it by visit). Returns false for an unknown zone.
    pub fn restore(&mut self, zone_id: &str, entered_at_ms: u64) -> bool {
        let Some(zone) = self.zones.iter_mut().find(|zone| &*zone.id == zone_id) else { return false };
        if zone.visit.is_none() {
            zone.visit = Some(Visit { entered_at_ms, last_kept_ms: None, absent_ms: 0, dwell_reported: false });
        }
        true
    }

    /// The zones the phone is inside, with when each visit began.
    pub fn inside(&self) -> impl Iterator<Item = (&str, u64)> {
        self.zones.iter().filter_map(|zone| zone.visit.map(|visit| (&*zone.id, visit.entered_at_ms)))
    }

    fn clamp(&mut self, at_ms: u64) -> u64 {
        let at_ms = self.now_ms.map_or(at_ms, |now| at_ms.max(now));
        self.now_ms = Some(at_ms);
        at_ms
    }

    /// Scanning was on at `at_ms`: the time since the previous evidence point is observed absence for every open
    /// visit, unless the gap is too long to vouch for. Returns the clamped time.
    fn evidence(&mut self, at_ms: u64, out: &mut Vec<Transition>) -> u64 {
        let at_ms = self.clamp(at_ms);
        if let Some(previous) = self.last_evidence_ms {
            let gap = at_ms - previous;
            for zone in &mut self.zones {
                zone.absent(previous, gap, at_ms, out);
            }
        }
        self.last_evidence_ms = Some(at_ms);
        at_ms
    }
}

impl ZoneState {
    fn absent(&mut self, previous: u64, gap: u64, at_ms: u64, out: &mut Vec<Transition>) {
        let Some(visit) = &mut self.visit else { return };
        // A restored visit's absence can begin no earlier than the first evidence after the restart.
        let kept = *visit.last_kept_ms.get_or_insert(previous);
        if gap > self.max_scan_gap_ms {
            return;
        }
        visit.absent_ms = visit.absent_ms.saturating_add(gap);
        if visit.absent_ms >= self.exit_after_ms {
            out.push(Transition::Exit { zone: self.id.clone(), at_ms: kept, detected_at_ms: at_ms });
            self.visit = None;
            self.recent = 0;
        }
    }

    fn reading(&mut self, smoothed: f32, at_ms: u64, out: &mut Vec<Transition>) {
        let previous = self.last_reading_ms.replace(at_ms);
        if let Some(visit) = &mut self.visit {
            if smoothed >= self.exit_rssi {
                visit.last_kept_ms = Some(at_ms);
                visit.absent_ms = 0;
                if !visit.dwell_reported && at_ms.saturating_sub(visit.entered_at_ms) >= self.dwell_after_ms {
                    visit.dwell_reported = true;
                    out.push(Transition::Dwell { zone: self.id.clone(), at_ms, entered_at_ms: visit.entered_at_ms });
                }
            }
            return;
        }
        // Readings on either side of unknown time do not add up to an enter.
        if previous.is_some_and(|previous| at_ms - previous > self.max_scan_gap_ms) {
            self.recent = 0;
        }
        self.recent = ((self.recent << 1) | u32::from(smoothed >= self.enter_rssi)) & self.enter_mask;
        if self.recent.count_ones() >= self.enter_k {
            self.recent = 0;
            self.visit =
                Some(Visit { entered_at_ms: at_ms, last_kept_ms: Some(at_ms), absent_ms: 0, dwell_reported: false });
            out.push(Transition::Enter { zone: self.id.clone(), at_ms });
        }
    }
}
