//! Store proximity through the facade, as the generated bindings drive it: the methods convert, the listener
//! forwards visits, offers and pickup arrivals, refused input is `InvalidInput`, and the two new settings reach
//! the core (a bad document or zone is a `Config` error). Time is the real clock here: an enter needs 2 of the
//! zone's last 4 readings near; exits (30 s of observed absence) are the core's tests.

use std::sync::{Arc, Mutex};

use footfall_ffi::consent_records::ConsentMethod;
use footfall_ffi::{
    EventListener, Footfall, FootfallConfig, FootfallError, FootfallEvent, Ingested, VisitPhase, ZonePresence,
};

const UUID: &str = "2F234454-CF6D-4A0F-ADF2-F4911BA9FFA6";

fn config(dir: &std::path::Path) -> FootfallConfig {
    let mut config = footfall_ffi::config::default_config(dir.to_string_lossy().into_owned());
    config.consent.policy_refresh_interval_ms = 0;
    config.time_zone = Some("Asia/Tokyo".into());
    config.proximity = Some(
        serde_json::json!({"proximity": {
            "version": 3,
            "zones": [{"id": "tokyo-1/entrance", "store": "tokyo-1", "beacons": [format!("{}:1:2", UUID.to_lowercase())],
                       "enterRssi": -75}],
            "campaigns": [{"id": "welcome", "zones": ["tokyo-1/entrance"], "trigger": "enter", "priority": 1,
                           "offer": {"title": "offer.welcome.title", "body": "offer.welcome.body"}}],
        }})
        .to_string(),
    );
    config
}

#[derive(Default)]
struct Events(Mutex<Vec<FootfallEvent>>);

impl EventListener for Events {
    fn on_event(&self, event: FootfallEvent) -> Result<(), FootfallError> {
        self.0.lock().unwrap().push(event);
        Ok(())
    }
}

fn open(dir: &std::path::Path, purposes: &[&str]) -> (Arc<Footfall>, Arc<Events>) {
    let events = Arc::new(Events::default());
    let sdk = Footfall::new(config(dir), None, Some(events.clone()), None, None).unwrap();
    sdk.flush_to_disk().unwrap(); // the start-up job (open visits restored) has run
    sdk.grant(purposes.iter().map(|p| p.to_string()).collect(), ConsentMethod::Api).unwrap();
    (sdk, events)
}

#[test]
fn readings_become_a_visit_an_offer_and_a_pickup_arrival_told_to_the_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (sdk, events) = open(dir.path(), &["location"]);
    let now_ms = i64::try_from(std::time::SystemTime::UNIX_EPOCH.elapsed().unwrap().as_millis()).unwrap();
    sdk.expect_pickup("order-7".into(), "tokyo-1".into(), now_ms - 60_000, now_ms + 3_600_000).unwrap();
    for _ in 0..2 {
        assert_eq!(sdk.proximity_identity(UUID.into(), 1, 2, -62, 0).unwrap(), Ingested::Processed);
        assert_eq!(sdk.proximity_scan_tick().unwrap(), Ingested::Processed);
    }
    sdk.flush_to_disk().unwrap();

    let visits = sdk.proximity_visits(10).unwrap();
    assert_eq!(visits.len(), 1, "{visits:?}");
    let visit = &visits[0];
    assert_eq!(
        (visit.zone.as_str(), visit.store.as_str(), visit.phase),
        ("tokyo-1/entrance", "tokyo-1", VisitPhase::Entered)
    );
    let status = sdk.proximity_status().unwrap();
    assert_eq!(status.inside, [ZonePresence { zone: "tokyo-1/entrance".into(), visit_id: visit.id.clone() }]);
    assert_eq!((status.processed, status.zones, status.campaigns, status.config_version), (4, 1, 1, 3));

    let told = events.0.lock().unwrap().clone();
    assert!(told.iter().any(|e| matches!(e, FootfallEvent::VisitChanged { visit: v } if v == visit)), "{told:?}");
    let offer = told.iter().find_map(|e| match e {
        FootfallEvent::OfferMade { offer } => Some(offer.clone()),
        _ => None,
    });
    let offer = offer.expect("an offer was told");
    assert_eq!((offer.campaign_id.as_str(), offer.visit_id.as_str()), ("welcome", visit.id.as_str()));
    let arrived = told.iter().find_map(|e| match e {
        FootfallEvent::PickupArrived { pickup } => Some(pickup.clone()),
        _ => None,
    });
    let arrived = arrived.expect("the pickup arrival was told");
    assert_eq!((arrived.order_id.as_str(), arrived.visit_id.as_deref()), ("order-7", Some(visit.id.as_str())));
    assert_eq!(sdk.pickups().unwrap(), [arrived]);

    // Scanning stopped and started: unknown time, the visit goes on.
    assert_eq!(sdk.proximity_scanning(false).unwrap(), Ingested::Processed);
    assert_eq!(sdk.proximity_scanning(true).unwrap(), Ingested::Processed);
    assert_eq!(sdk.proximity_visits(10).unwrap()[0].phase, VisitPhase::Entered);
    sdk.close();
    assert!(matches!(sdk.proximity_scan_tick(), Err(FootfallError::Closed)));
}

#[test]
fn without_location_input_is_dropped_and_bad_input_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let (sdk, _events) = open(dir.path(), &["analytics"]);
    assert_eq!(sdk.proximity_identity(UUID.into(), 1, 2, -62, 0).unwrap(), Ingested::NoConsent);
    assert_eq!(sdk.proximity_scan_tick().unwrap(), Ingested::NoConsent);
    for bad in [vec![0x02, 0x01], vec![]] {
        assert!(matches!(sdk.proximity_advertisement(bad, -60, 0), Err(FootfallError::InvalidInput { .. })));
    }
    assert!(matches!(sdk.proximity_identity("nope".into(), 1, 2, -60, 0), Err(FootfallError::InvalidInput { .. })));
    assert!(matches!(sdk.expect_pickup("o".into(), "s".into(), 10, 0), Err(FootfallError::InvalidInput { .. })));
    let status = sdk.proximity_status().unwrap();
    assert_eq!((status.processed, status.without_consent, status.refused), (0, 2, 3));
    assert!(sdk.proximity_visits(10).unwrap().is_empty());
}

#[test]
fn a_document_or_zone_that_cannot_be_read_is_a_config_error_and_the_defaults_are_none() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = footfall_ffi::config::default_config("/tmp/x".into());
    assert_eq!((defaults.proximity, defaults.time_zone), (None, None));
    let mut bad = config(dir.path());
    bad.proximity = Some(r#"{"proximity": {"version": 1, "zones": [{"id": "x"}]}}"#.into());
    assert!(
        matches!(Footfall::new(bad, None, None, None, None), Err(FootfallError::Config { reason }) if reason.contains("proximity"))
    );
    let mut bad = config(dir.path());
    bad.time_zone = Some("Mars/Olympus".into());
    assert!(
        matches!(Footfall::new(bad, None, None, None, None), Err(FootfallError::Config { reason }) if reason.contains("Mars/Olympus"))
    );
}
