//! The proximity share of `footfall bench`: sightings per second through the whole on-device path (advertisement
//! bytes parsed into a sighting, smoothed, run through presence), one core, against parsing alone measured in the
//! same run. The stream is the simulation's: six store beacons heard by shoppers walking in and out, plus a third
//! as many readings of beacons in no zone (the shop next door), with the scan cycles between them.

use std::hint::black_box;
use std::time::Instant;

use footfall_core::consent::record::Method;
use footfall_core::proximity::simulation::{shoppers, ScanEvent, TraceEvent};
use footfall_core::proximity::{BeaconId, PresenceEngine, Sighting, SmoothingStrategy};
use footfall_core::{Config, Footfall, ManualClock};
use serde_json::{json, Value};

const SHOPPERS: usize = 120;
/// Each measurement runs this many times; the fastest counts (the others paid for page faults and other tenants).
const ROUNDS: usize = 5;
/// An iBeacon advertisement: flags, then manufacturer data (Apple, type 0x02 0x15, UUID, major, minor, power).
const ADVERTISEMENT_LEN: usize = 30;

/// One scan result as Android hands it: the advertisement's bytes, its RSSI and when it was heard.
struct Heard {
    start: usize,
    rssi: i16,
    at_ms: u64,
}

enum Input {
    Heard(Heard),
    Tick(u64),
}

pub fn run() -> Result<Value, String> {
    let (bytes, inputs) = stream();
    let sightings = inputs.iter().filter(|input| matches!(input, Input::Heard(_))).count();

    let parse_s = best_of(|| {
        for input in &inputs {
            if let Input::Heard(heard) = input {
                let data = &bytes[heard.start..heard.start + ADVERTISEMENT_LEN];
                let _ = black_box(Sighting::from_advertisement(black_box(data), heard.rssi, heard.at_ms));
            }
        }
        Ok(())
    })?;
    let mut transitions = 0usize;
    let full_s = best_of(|| {
        let zone = shoppers::store_zone();
        let mut engine = PresenceEngine::new(vec![zone], SmoothingStrategy::default()).map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(16);
        transitions = 0;
        for input in &inputs {
            match input {
                Input::Heard(heard) => {
                    let data = &bytes[heard.start..heard.start + ADVERTISEMENT_LEN];
                    if let Ok(sighting) = Sighting::from_advertisement(data, heard.rssi, heard.at_ms) {
                        engine.observe(&sighting, &mut out);
                    }
                }
                Input::Tick(at_ms) => engine.tick(*at_ms, &mut out),
            }
            transitions += out.len();
            out.clear();
        }
        Ok(())
    })?;
    let parse_per_s = sightings as f64 / parse_s;
    let full_per_s = sightings as f64 / full_s;
    let sdk_per_s = sightings as f64 / through_the_sdk(&bytes, &inputs)?;
    Ok(json!({
        "sightings_per_s": full_per_s.round(),
        "sdk_sightings_per_s": sdk_per_s.round(),
        "sdk_vs_engine": (sdk_per_s / full_per_s * 100.0).round() / 100.0,
        "parse_only_sightings_per_s": parse_per_s.round(),
        "sightings_vs_parse_only": (full_per_s / parse_per_s * 100.0).round() / 100.0,
        "proximity_stream_sightings": sightings,
        "proximity_stream_transitions": transitions,
        "targets_proximity": { "sightings_ge_1m_per_s": full_per_s >= 1_000_000.0 },
    }))
}

/// The same stream through the public API an app calls (`Footfall::proximity_advertisement` and
/// `proximity_scan_tick`): the consent check, the engine's lock, and the visits written by the writer thread (their
/// last one waited for). The SDK's clock is a manual one that follows the stream.
fn through_the_sdk(bytes: &[u8], inputs: &[Input]) -> Result<f64, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let document = json!({"proximity": {"version": 1, "zones": [shoppers::store_zone()]}}).to_string();
    let clock = ManualClock::new(1_796_000_000_000);
    let sdk = Footfall::builder(Config::new(dir.path()).with_proximity(document))
        .clock(clock.clone())
        .open()
        .map_err(|e| e.to_string())?;
    sdk.grant(&["location"], Method::Api).map_err(|e| e.to_string())?;
    let mut now = 0u64;
    let started = Instant::now();
    for input in inputs {
        let at = match input {
            Input::Heard(heard) => heard.at_ms,
            Input::Tick(at_ms) => *at_ms,
        };
        clock.advance_ms(at.saturating_sub(now));
        now = now.max(at);
        let _ = match input {
            Input::Heard(heard) => {
                sdk.proximity_advertisement(&bytes[heard.start..heard.start + ADVERTISEMENT_LEN], heard.rssi, 0)
            }
            Input::Tick(_) => sdk.proximity_scan_tick(),
        };
    }
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    let elapsed = started.elapsed().as_secs_f64();
    if sdk.proximity_visits(1).map_err(|e| e.to_string())?.is_empty() {
        return Err("the bench stream made no visit through the SDK".into());
    }
    Ok(elapsed)
}

fn best_of(mut work: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let mut best = f64::INFINITY;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        work()?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// The simulation's readings as advertisement bytes (one flat buffer), with a foreign beacon heard after every
/// third store reading, and the scan cycles.
fn stream() -> (Vec<u8>, Vec<Input>) {
    let events = shoppers::generate(20_260_101, SHOPPERS);
    let foreign = BeaconId::Uuid { uuid: [0x5a; 16], major: 7, minor: 7 };
    let mut bytes = Vec::new();
    let mut inputs = Vec::new();
    let mut heard = 0usize;
    for event in &events {
        match event {
            TraceEvent::Reading { t, beacon, rssi } => {
                for (id, rssi) in std::iter::once((beacon, *rssi)).chain((heard % 3 == 2).then_some((&foreign, -88))) {
                    inputs.push(Input::Heard(Heard { start: bytes.len(), rssi, at_ms: *t }));
                    bytes.extend_from_slice(&advertisement(id));
                }
                heard += 1;
            }
            TraceEvent::Scan { t, scan: ScanEvent::Tick } => inputs.push(Input::Tick(*t)),
            _ => {}
        }
    }
    (bytes, inputs)
}

fn advertisement(beacon: &BeaconId) -> [u8; ADVERTISEMENT_LEN] {
    let mut data = [0u8; ADVERTISEMENT_LEN];
    data[..9].copy_from_slice(&[0x02, 0x01, 0x06, 0x1a, 0xff, 0x4c, 0x00, 0x02, 0x15]);
    if let BeaconId::Uuid { uuid, major, minor } = beacon {
        data[9..25].copy_from_slice(uuid);
        data[25..27].copy_from_slice(&major.to_be_bytes());
        data[27..29].copy_from_slice(&minor.to_be_bytes());
    }
    data[29] = (-59i8) as u8;
    data
}
