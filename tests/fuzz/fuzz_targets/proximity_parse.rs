//! What store proximity reads from outside: advertisement bytes from any radio nearby, CoreLocation identities,
//! the remote configuration's zones and campaigns, and replayed traces. Each is accepted or refused with a typed
//! reason, never a panic; a parsed Eddystone URL encodes back to the bytes it came from, and whatever sightings
//! and scan events arrive, the presence engine never exits a zone it did not enter.
#![no_main]

use footfall_core::proximity::config::ProximityConfig;
use footfall_core::proximity::eddystone_url;
use footfall_core::proximity::simulation::parse_jsonl;
use footfall_core::proximity::{
    parse_advertisement, BeaconFrame, BeaconId, PresenceEngine, Sighting, SmoothingStrategy, Transition, ZoneConfig,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else { return };
    match selector % 5 {
        0 => match parse_advertisement(input) {
            Ok(BeaconFrame::EddystoneUrl { url, .. }) => assert!(eddystone_url::encode(&url).is_ok(), "{url}"),
            Ok(_) => {}
            Err(e) => assert!(!e.to_string().is_empty()),
        },
        1 => {
            if let Ok(text) = std::str::from_utf8(input) {
                let _ = Sighting::from_identity(text, 1, 2, -60, 0);
                let _ = text.parse::<BeaconId>();
            }
        }
        2 => {
            if let Ok(Some(config)) = ProximityConfig::from_remote_config(input) {
                let _ = config.engine();
            }
        }
        3 => {
            if let Ok(text) = std::str::from_utf8(input) {
                let _ = parse_jsonl(text);
            }
        }
        _ => presence(input),
    }
});

/// Bytes as a stream of (beacon, rssi, time step, scan event): the engine's transitions stay well formed.
fn presence(input: &[u8]) {
    let beacons: Vec<BeaconId> =
        (0..3u16).map(|m| BeaconId::Uuid { uuid: [7; 16], major: 1, minor: m }).collect();
    let zone = ZoneConfig::new("z", "s", beacons[..2].to_vec(), -75);
    let Ok(mut engine) = PresenceEngine::new(vec![zone], SmoothingStrategy::default()) else { return };
    let (mut at, mut inside, mut out) = (0u64, false, Vec::new());
    for chunk in input.chunks(3) {
        let [a, b, c] = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        at = at.saturating_add(u64::from(c) * 97).saturating_sub(u64::from(a & 1) * 500);
        match a % 4 {
            0 | 1 => {
                let sighting = Sighting { beacon: beacons[usize::from(b) % 3], rssi: -(i16::from(b) / 2), tx_power: None, at_ms: at };
                engine.observe(&sighting, &mut out);
            }
            2 => engine.tick(at, &mut out),
            _ => engine.scanning(b & 1 == 0, at, &mut out),
        }
        for t in out.drain(..) {
            match t {
                Transition::Enter { .. } => assert!(!std::mem::replace(&mut inside, true), "entered twice"),
                Transition::Exit { .. } => assert!(std::mem::replace(&mut inside, false), "exited without an enter"),
                Transition::Dwell { .. } => assert!(inside, "dwell outside"),
            }
        }
    }
}
