//! Deterministic synthetic shoppers: one phone's timeline, shopper after shopper, from a seed.
//!
//! The store is a 30 × 20 m room (x 0–30, y 0–20) with six beacons on a 10 × 10 m grid, a door at (15, 0) and a
//! pavement along y = −4 outside. Each second (one scan cycle) every beacon is heard at
//! `−59 − 10·2.2·log10(d) − wall − shadow + N(0, σ)` dBm (σ 5–9 dB per shopper; 6 dB through the shop front;
//! body-shadowing dips of 6–14 dB for 5–40 s), unless the reading is lost (10–40 % per shopper) or below −100.
//! Shoppers walk in, browse near and far from beacons, queue at the till, leave, walk past outside, and some come
//! back later; scanning stops for 30 s–15 min, half the time saying so (iOS backgrounding) and half silently
//! (Android throttling). Ground truth is the time the shopper is inside the room.

use fastrand::Rng;

use super::trace::{ScanEvent, TraceEvent, TruthEvent};
use crate::proximity::sighting::BeaconId;
use crate::proximity::zone::ZoneConfig;

/// The zone the simulated store is scored on.
pub const STORE_ZONE: &str = "store";
const WIDTH: f64 = 30.0;
const DEPTH: f64 = 20.0;
const DOOR: (f64, f64) = (15.0, 0.0);
const TILL: (f64, f64) = (4.0, 17.0);
const PAVEMENT_Y: f64 = -4.0;
const TX_AT_1M: f64 = -59.0;
const PATH_LOSS_EXPONENT: f64 = 2.2;
const WALL_DB: f64 = 6.0;
const SENSITIVITY_DBM: f64 = -100.0;
const CYCLE_MS: u64 = 1_000;
/// Scanning runs this long after each shopper has walked away, so every detector can conclude.
const TAIL_MS: u64 = 120_000;
/// Between two shoppers nothing happens (the phone is elsewhere, scanning off).
const BETWEEN_SHOPPERS_MS: u64 = 600_000;

/// The simulated store's beacons and where they hang.
pub fn beacons() -> Vec<(BeaconId, (f64, f64))> {
    let uuid = [0x2f, 0x23, 0x44, 0x54, 0xcf, 0x6d, 0x4a, 0x0f, 0xad, 0xf2, 0xf4, 0x91, 0x1b, 0xa9, 0xff, 0xa6];
    let mut out = Vec::new();
    for (i, y) in [5.0, 15.0].into_iter().enumerate() {
        for (j, x) in [5.0, 15.0, 25.0].into_iter().enumerate() {
            out.push((BeaconId::Uuid { uuid, major: 1, minor: (i * 3 + j + 1) as u16 }, (x, y)));
        }
    }
    out
}

/// The store's zone with our defaults: near at −80 dBm smoothed (the far corners of the room read about −78 on
/// average, the pavement about −86).
pub fn store_zone() -> ZoneConfig {
    ZoneConfig::new(STORE_ZONE, "sim-store", beacons().into_iter().map(|(id, _)| id).collect(), -80)
}

/// A trace of `shoppers` shoppers, one after another on one phone's timeline.
pub fn generate(seed: u64, shoppers: usize) -> Vec<TraceEvent> {
    let mut rng = Rng::with_seed(seed);
    let beacons = beacons();
    let mut events = Vec::new();
    let mut t0 = 0u64;
    for _ in 0..shoppers {
        let shopper = Shopper::draw(&mut rng);
        t0 = shopper.emit(&mut rng, &beacons, t0, &mut events) + BETWEEN_SHOPPERS_MS;
    }
    events
}

/// One shopper's phone and walk.
struct Shopper {
    sigma_db: f64,
    dropout: f64,
    speed_m_s: f64,
    /// Where to go and how long to stay there (s).
    route: Vec<((f64, f64), u64)>,
}

impl Shopper {
    fn draw(rng: &mut Rng) -> Shopper {
        let sigma_db = 5.0 + 4.0 * rng.f64();
        let dropout = 0.1 + 0.3 * rng.f64();
        let speed_m_s = 0.9 + 0.6 * rng.f64();
        let side = |rng: &mut Rng| if rng.bool() { -60.0 } else { WIDTH + 60.0 };
        let mut route = vec![((side(rng), PAVEMENT_Y), 0)];
        if rng.f64() < 0.15 {
            // Walks past, maybe pausing at the window.
            route.push(((DOOR.0 + rng.f64() * 10.0 - 5.0, PAVEMENT_Y + 1.5), rng.u64(0..30)));
        } else {
            let visits = if rng.f64() < 0.25 { 2 } else { 1 };
            for visit in 0..visits {
                route.push(((DOOR.0, -1.0), 0));
                route.push(((DOOR.0, 1.0), 0));
                for _ in 0..rng.usize(2..7) {
                    let spot = (1.0 + rng.f64() * (WIDTH - 2.0), 1.0 + rng.f64() * (DEPTH - 2.0));
                    route.push((spot, rng.u64(10..150)));
                }
                if rng.f64() < 0.7 {
                    route.push((TILL, rng.u64(45..240)));
                }
                route.push(((DOOR.0, 1.0), 0));
                route.push(((DOOR.0, -1.0), 0));
                if visit + 1 < visits {
                    // Away down the street, then back for something forgotten.
                    route.push(((side(rng), PAVEMENT_Y), rng.u64(120..900)));
                }
            }
        }
        route.push(((side(rng), PAVEMENT_Y), 0));
        Shopper { sigma_db, dropout, speed_m_s, route }
    }

    /// Appends this shopper's events from `t0`; returns when the last one happened.
    fn emit(&self, rng: &mut Rng, beacons: &[(BeaconId, (f64, f64))], t0: u64, out: &mut Vec<TraceEvent>) -> u64 {
        let positions = self.positions();
        let duration_ms = positions.len() as u64 * CYCLE_MS + TAIL_MS;
        let gaps = scan_gaps(rng, positions.len() as u64 * CYCLE_MS);
        let last_position = positions.last().copied().unwrap_or((WIDTH + 60.0, PAVEMENT_Y));
        out.push(TraceEvent::Scan { t: t0, scan: ScanEvent::Start });
        let mut inside = false;
        let mut shadow = (0.0, 0u64);
        let mut scanning = true;
        let mut gap_told = false;
        let mut cycle = Vec::with_capacity(beacons.len());
        for step in 1..=duration_ms / CYCLE_MS {
            let t = t0 + step * CYCLE_MS;
            let position = positions.get(step as usize - 1).copied().unwrap_or(last_position);
            let now_inside = (0.0..=WIDTH).contains(&position.0) && (0.0..=DEPTH).contains(&position.1);
            if now_inside != inside {
                let truth = if now_inside { TruthEvent::Enter } else { TruthEvent::Exit };
                out.push(TraceEvent::Truth { t: t - CYCLE_MS / 2, truth, zone: STORE_ZONE.into() });
                inside = now_inside;
            }
            // Body shadowing: the phone in a back pocket, a turn away from the beacons.
            if shadow.1 == 0 && rng.f64() < 1.0 / 45.0 {
                shadow = (6.0 + 8.0 * rng.f64(), rng.u64(5..40));
            }
            let shadow_db = if shadow.1 > 0 {
                shadow.1 -= 1;
                shadow.0
            } else {
                0.0
            };
            let offset = t - t0;
            let gap = gaps.iter().find(|gap| (gap.from_ms..gap.to_ms).contains(&offset));
            match (gap, scanning) {
                (Some(gap), true) => {
                    scanning = false;
                    gap_told = gap.told;
                    if gap.told {
                        out.push(TraceEvent::Scan { t: t - CYCLE_MS, scan: ScanEvent::Stop });
                    }
                    continue;
                }
                (Some(_), false) => continue,
                (None, false) => {
                    scanning = true;
                    if gap_told {
                        out.push(TraceEvent::Scan { t: t - CYCLE_MS, scan: ScanEvent::Start });
                    }
                }
                (None, true) => {}
            }
            cycle.clear();
            for (beacon, at) in beacons {
                let distance = ((position.0 - at.0).powi(2) + (position.1 - at.1).powi(2)).sqrt().max(0.5);
                let wall = if now_inside { 0.0 } else { WALL_DB };
                let mean = TX_AT_1M - 10.0 * PATH_LOSS_EXPONENT * distance.log10() - wall - shadow_db;
                let rssi = mean + self.sigma_db * gaussian(rng);
                if rng.f64() < self.dropout || rssi < SENSITIVITY_DBM {
                    continue;
                }
                let heard_at = t - CYCLE_MS + rng.u64(1..CYCLE_MS);
                cycle.push(TraceEvent::Reading {
                    t: heard_at,
                    beacon: *beacon,
                    rssi: rssi.round().clamp(-127.0, -1.0) as i16,
                });
            }
            cycle.sort_by_key(TraceEvent::t);
            out.append(&mut cycle);
            out.push(TraceEvent::Scan { t, scan: ScanEvent::Tick });
        }
        let end = t0 + duration_ms;
        out.push(TraceEvent::Scan { t: end, scan: ScanEvent::Stop });
        end
    }

    /// Where the shopper is at the end of each second, walking the route at their speed.
    fn positions(&self) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        let Some(&(mut at, _)) = self.route.first() else { return out };
        for &(target, pause_s) in &self.route[1..] {
            loop {
                let (dx, dy) = (target.0 - at.0, target.1 - at.1);
                let left = (dx * dx + dy * dy).sqrt();
                if left <= self.speed_m_s {
                    at = target;
                    out.push(at);
                    break;
                }
                at = (at.0 + dx / left * self.speed_m_s, at.1 + dy / left * self.speed_m_s);
                out.push(at);
            }
            // Standing still, shuffling a little.
            out.extend((0..pause_s).map(|_| at));
        }
        out
    }
}

/// A stretch without scanning, relative to the shopper's start; `told`: the platform said so.
struct ScanGap {
    from_ms: u64,
    to_ms: u64,
    told: bool,
}

/// Half the shoppers lose scanning once (some twice), for 30 s to 15 min (log-uniform), inside their walk.
fn scan_gaps(rng: &mut Rng, walk_ms: u64) -> Vec<ScanGap> {
    let mut gaps = Vec::new();
    let count = if rng.f64() < 0.5 {
        0
    } else if rng.f64() < 0.7 {
        1
    } else {
        2
    };
    for _ in 0..count {
        let length_ms = (30_000.0 * 30f64.powf(rng.f64())) as u64;
        let from_ms = rng.u64(0..walk_ms.max(1)) / CYCLE_MS * CYCLE_MS;
        let to_ms = (from_ms + length_ms / CYCLE_MS * CYCLE_MS).min(walk_ms);
        if to_ms > from_ms
            && !gaps.iter().any(|g: &ScanGap| from_ms < g.to_ms + CYCLE_MS && g.from_ms < to_ms + CYCLE_MS)
        {
            gaps.push(ScanGap { from_ms, to_ms, told: rng.bool() });
        }
    }
    gaps
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut Rng) -> f64 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
