//! `footfall proximity replay --data-dir`: a trace fed to the real SDK (consent checked, visits persisted with
//! their events, campaigns and pickups run), on a manual clock that follows the trace's timestamps. Prints one JSON
//! line per thing the SDK told (visit, offer, pickup), then a summary.

use std::path::Path;
use std::process::ExitCode;
use std::sync::{mpsc, Arc};

use footfall_core::proximity::simulation::{ScanEvent, TraceEvent};
use footfall_core::proximity::BeaconId;
use footfall_core::{Config, Footfall, ManualClock, SdkEvent};
use serde_json::json;

use crate::CmdResult;

/// Feeds `events` to the SDK in `data_dir`, with `document` (`{"proximity": {...}}`) as the bundled configuration
/// and the trace's time 0 at `start_ms` (UTC).
pub fn replay(data_dir: &Path, document: String, events: &[TraceEvent], start_ms: i64) -> CmdResult {
    let clock = ManualClock::new(start_ms);
    let (told, heard) = mpsc::channel();
    let listener = move |event: &SdkEvent| {
        let line = match event {
            SdkEvent::VisitChanged { visit } => json!({"visit": visit}),
            SdkEvent::OfferMade { offer } => json!({"offer": offer}),
            SdkEvent::PickupArrived { pickup } => json!({"pickup": pickup}),
            _ => return,
        };
        let _ = told.send(line);
    };
    let config = Config::new(data_dir).with_proximity(document);
    let sdk = Footfall::builder(config)
        .clock(clock.clone())
        .listener(Arc::new(listener))
        .open()
        .map_err(|e| format!("opening {}: {e}", data_dir.display()))?;
    // Started: the consent log and the visits left open are read before the first input.
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    let mut now = 0u64;
    for event in events {
        clock.advance_ms(event.t().saturating_sub(now));
        now = now.max(event.t());
        let fed = match event {
            TraceEvent::Reading { beacon, rssi, .. } => ingest(&sdk, beacon, *rssi),
            TraceEvent::Scan { scan: ScanEvent::Tick, .. } => sdk.proximity_scan_tick().map(drop),
            TraceEvent::Scan { scan: ScanEvent::Start, .. } => sdk.proximity_scanning(true).map(drop),
            TraceEvent::Scan { scan: ScanEvent::Stop, .. } => sdk.proximity_scanning(false).map(drop),
            TraceEvent::Truth { .. } => Ok(()),
        };
        // A reading the SDK refuses is counted in its status (`refused`); the replay goes on.
        drop(fed);
    }
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    let status = sdk.proximity_status().map_err(|e| e.to_string())?;
    sdk.close();
    for line in heard.try_iter() {
        println!("{line}");
    }
    println!("{}", json!({"summary": status}));
    if status.processed == 0 && status.without_consent > 0 {
        eprintln!(
            "footfall: location is not granted in {}: every input was dropped (footfall consent grant --data-dir {} location)",
            data_dir.display(),
            data_dir.display()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// iBeacon/AltBeacon ids take CoreLocation's path; Eddystone ids arrive as the UID frame Android would hear.
fn ingest(sdk: &Footfall, beacon: &BeaconId, rssi: i16) -> footfall_core::Result<()> {
    match beacon {
        BeaconId::Uuid { uuid, major, minor } => {
            let text = uuid::Uuid::from_bytes(*uuid).to_string();
            sdk.proximity_identity(&text, *major, *minor, rssi, 0).map(drop)
        }
        BeaconId::Eddystone { namespace, instance } => {
            let mut frame = vec![0x02, 0x01, 0x06, 0x03, 0x03, 0xaa, 0xfe, 0x17, 0x16, 0xaa, 0xfe, 0x00, 0xee];
            frame.extend_from_slice(namespace);
            frame.extend_from_slice(instance);
            frame.extend_from_slice(&[0, 0]);
            sdk.proximity_advertisement(&frame, rssi, 0).map(drop)
        }
    }
}
