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
                exit_rssi: f32::from(zone.exit_rssi),
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

    /// An engine with no zones (nothing configured yet, or a configuration that could not be used).
    pub fn idle() -> PresenceEngine {
        PresenceEngine {
            zones: Vec::new(),
            index: HashMap::new(),
            beacons: Vec::new(),
            now_ms: None,
            last_evidence_ms: None,
        }
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
        // Scanning was on until a stop; a start after a stop opens a new observed stretch (and a start while on
        // is one more evidence point).
        self.evidence(at_ms, out);
        if !active {
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

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE_BEACON: &str = "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2";
    const OTHER_BEACON: &str = "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:9:9";

    /// One zone: near at −75, kept down to −81, 2 of 4, exit after 30 s, dwell after 2 min.
    fn engine() -> PresenceEngine {
        let zone = ZoneConfig::new("entrance", "paris-01", vec![ZONE_BEACON.parse().unwrap()], -75);
        PresenceEngine::new(vec![zone], SmoothingStrategy::default()).unwrap()
    }

    fn reading(rssi: i16, at_ms: u64) -> Sighting {
        Sighting { beacon: ZONE_BEACON.parse().unwrap(), rssi, tx_power: None, at_ms }
    }

    /// One reading (if any) and a tick per second over `from..to` (ms).
    fn seconds(engine: &mut PresenceEngine, from: u64, to: u64, rssi: Option<i16>) -> Vec<Transition> {
        let mut out = Vec::new();
        for t in (from..to).step_by(1_000) {
            if let Some(rssi) = rssi {
                engine.observe(&reading(rssi, t + 500), &mut out);
            }
            engine.tick(t + 1_000, &mut out);
        }
        out
    }

    fn enter(at_ms: u64) -> Transition {
        Transition::Enter { zone: Arc::from("entrance"), at_ms }
    }

    #[test]
    fn k_of_m_near_readings_enter_and_one_does_not() {
        let mut engine = engine();
        let mut out = Vec::new();
        engine.observe(&reading(-60, 500), &mut out);
        for t in [1_500, 2_500, 3_500] {
            engine.observe(&reading(-95, t), &mut out);
        }
        assert!(out.is_empty(), "one near reading in four: {out:?}");
        engine.observe(&reading(-60, 60_000), &mut out);
        engine.observe(&reading(-60, 61_000), &mut out);
        assert_eq!(out, vec![enter(61_000)]);
        assert_eq!(engine.inside().collect::<Vec<_>>(), vec![("entrance", 61_000)]);
    }

    #[test]
    fn a_reading_between_the_thresholds_keeps_a_visit_but_does_not_start_one() {
        let mut engine = engine();
        assert!(seconds(&mut engine, 0, 300_000, Some(-78)).is_empty(), "-78 is below enterRssi -75");
        let mut engine = self::engine();
        assert_eq!(seconds(&mut engine, 0, 5_000, Some(-60)), vec![enter(1_500)]);
        // Five minutes at -78 (above exitRssi -81): still inside, one dwell.
        let kept = seconds(&mut engine, 5_000, 305_000, Some(-78));
        assert!(matches!(kept.as_slice(), [Transition::Dwell { entered_at_ms: 1_500, .. }]), "{kept:?}");
        // Far readings end it once 30 s of absence were observed, dated from the last keeping reading.
        let out = seconds(&mut engine, 305_000, 400_000, Some(-100));
        let [Transition::Exit { at_ms, detected_at_ms, .. }] = out.as_slice() else { panic!("{out:?}") };
        assert!(*at_ms > 300_000 && *at_ms < 310_000, "{at_ms}");
        // Far readings are evidence too: the rule fires at the reading 30 s after the last keeping one.
        assert_eq!(detected_at_ms - at_ms, 30_000);
    }

    #[test]
    fn scan_gaps_never_produce_an_exit_by_themselves() {
        let mut engine = engine();
        assert_eq!(seconds(&mut engine, 0, 5_000, Some(-60)).len(), 1);
        let mut out = Vec::new();
        // Told: stopped for ten minutes.
        engine.scanning(false, 5_000, &mut out);
        engine.scanning(true, 605_000, &mut out);
        // Silent: nothing for ten minutes (Android throttling), twice, 10 s of scan cycles after each.
        let mut t = 605_000;
        for _ in 0..2 {
            out.extend(seconds(&mut engine, t, t + 10_000, None));
            t += 10_000 + 600_000;
        }
        assert!(out.is_empty(), "{out:?}");
        // Still the same visit. Observed so far: 0.5 s before the stop, 10 s after the told restart, 9 s after the
        // silent gap (the cycle that spans it is unknown): 19.5 s. After the next silent gap, 10.5 s more is
        // observed at the 12th cycle (the first one is unknown again).
        out.extend(seconds(&mut engine, t, t + 20_000, None));
        assert!(
            matches!(out.as_slice(), [Transition::Exit { detected_at_ms, .. }] if *detected_at_ms == t + 12_000),
            "{out:?}"
        );
    }

    #[test]
    fn a_restored_visit_continues_without_a_second_enter() {
        let mut engine = engine();
        assert!(engine.restore("entrance", 1_000));
        assert!(!engine.restore("nowhere", 1_000));
        // The restarted process hears the shopper again: the same visit, no Enter.
        let out = seconds(&mut engine, 900_000, 960_000, Some(-60));
        assert!(out.iter().all(|t| !matches!(t, Transition::Enter { .. })), "{out:?}");
        assert_eq!(engine.inside().collect::<Vec<_>>(), vec![("entrance", 1_000)]);
        // Observed absence ends it; the next visit enters anew.
        let out = seconds(&mut engine, 960_000, 1_000_000, None);
        assert!(matches!(out.as_slice(), [Transition::Exit { .. }]), "{out:?}");
        assert_eq!(seconds(&mut engine, 1_000_000, 1_005_000, Some(-60)), vec![enter(1_001_500)]);
    }

    #[test]
    fn a_restored_visit_with_no_reading_exits_on_observed_absence_dated_from_the_restart() {
        let mut engine = engine();
        engine.restore("entrance", 1_000);
        let out = seconds(&mut engine, 500_000, 540_000, None);
        assert_eq!(
            out,
            vec![Transition::Exit { zone: Arc::from("entrance"), at_ms: 501_000, detected_at_ms: 531_000 }]
        );
    }

    #[test]
    fn beacons_in_no_zone_are_ignored() {
        let mut engine = engine();
        let mut out = Vec::new();
        for t in 0..100 {
            engine.observe(
                &Sighting { beacon: OTHER_BEACON.parse().unwrap(), rssi: -40, tx_power: None, at_ms: t },
                &mut out,
            );
        }
        assert!(out.is_empty());
        assert_eq!(engine.inside().count(), 0);
    }

    /// Random inputs (seeded), time jumping back and forth: never a panic, never an Exit without its Enter, never
    /// two Enters without an Exit between, every output in time order.
    #[test]
    fn random_inputs_keep_the_transitions_well_formed() {
        let beacons: Vec<BeaconId> = (0..4u16)
            .map(|minor| BeaconId::Uuid { uuid: [7; 16], major: 1, minor })
            .chain([OTHER_BEACON.parse().unwrap()])
            .collect();
        for seed in 0..200u64 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut zones = vec![
                ZoneConfig::new("a", "s", beacons[..2].to_vec(), -70),
                ZoneConfig::new("b", "s", beacons[1..4].to_vec(), -80),
            ];
            zones[1].exit_after_ms = 5_000;
            zones[1].max_scan_gap_ms = 1_000;
            zones[1].enter_k = 1;
            zones[1].enter_m = 1;
            let smoothing = match seed % 3 {
                0 => SmoothingStrategy::default(),
                1 => SmoothingStrategy::Ewma { time_constant_ms: 3_000 },
                _ => SmoothingStrategy::ALTBEACON,
            };
            let mut engine = PresenceEngine::new(zones, smoothing).unwrap();
            let mut out = Vec::new();
            let mut t: u64 = rng.u64(0..u64::MAX / 2);
            for _ in 0..2_000 {
                t = match rng.u8(0..10) {
                    0 => t.saturating_sub(rng.u64(0..100_000)),
                    1 => t.saturating_add(rng.u64(0..1_000_000)),
                    9 if rng.u8(0..50) == 0 => u64::MAX - rng.u64(0..3),
                    _ => t.saturating_add(rng.u64(0..2_000)),
                };
                match rng.u8(0..10) {
                    0..=5 => {
                        let beacon = beacons[rng.usize(0..beacons.len())];
                        engine
                            .observe(&Sighting { beacon, rssi: rng.i16(-127..=20), tx_power: None, at_ms: t }, &mut out)
                    }
                    6 | 7 => engine.tick(t, &mut out),
                    8 => engine.scanning(rng.bool(), t, &mut out),
                    _ => {
                        engine.restore(["a", "b", "c"][rng.usize(0..3)], t);
                    }
                }
            }
            check_well_formed(&out, seed);
        }
    }

    fn check_well_formed(out: &[Transition], seed: u64) {
        let mut inside: HashMap<&str, bool> = HashMap::new();
        let mut last_time = 0;
        for transition in out {
            let state = inside.entry(transition.zone()).or_default();
            let time = match transition {
                Transition::Enter { at_ms, .. } => {
                    assert!(!*state, "seed {seed}: two Enters without an Exit: {out:?}");
                    *state = true;
                    *at_ms
                }
                // A restored visit may exit without an Enter in this process: restore() is its Enter.
                Transition::Exit { detected_at_ms, at_ms, .. } => {
                    assert!(at_ms <= detected_at_ms, "seed {seed}");
                    *state = false;
                    *detected_at_ms
                }
                Transition::Dwell { at_ms, .. } => *at_ms,
            };
            assert!(time >= last_time, "seed {seed}: out of order");
            last_time = time;
        }
    }

    #[test]
    fn without_restore_every_exit_follows_its_enter() {
        let mut exits = 0;
        for seed in 0..100u64 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut engine = engine();
            let mut out = Vec::new();
            let mut t = 0u64;
            for i in 0..3_000 {
                t = if rng.u8(0..20) == 0 { t.saturating_sub(5_000) } else { t + rng.u64(0..3_000) };
                // Spells near the beacon and away from it.
                let rssi = if (i / 150) % 2 == 0 { rng.i16(-75..=-50) } else { rng.i16(-110..=-80) };
                match rng.u8(0..4) {
                    0 | 1 => engine.observe(&reading(rssi, t), &mut out),
                    2 => engine.tick(t, &mut out),
                    _ => engine.scanning(rng.u8(0..10) > 0, t, &mut out),
                }
            }
            let mut inside = false;
            for transition in &out {
                match transition {
                    Transition::Enter { .. } => {
                        assert!(!inside, "seed {seed}");
                        inside = true;
                    }
                    Transition::Exit { .. } => {
                        assert!(inside, "seed {seed}: Exit without Enter");
                        inside = false;
                    }
                    Transition::Dwell { .. } => assert!(inside, "seed {seed}"),
                }
            }
            exits += out.iter().filter(|t| matches!(t, Transition::Exit { .. })).count();
        }
        assert!(exits > 100, "the inputs exercised exits: {exits}");
    }
}
