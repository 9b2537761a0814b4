//! Store proximity through the public API, on a real SQLite file and an injected clock: sightings become visits
//! with their events, a restart continues (never duplicates) the visit it left open, `location` gates everything
//! and its withdrawal deletes what was kept, offers respect consent and caps, and a pickup is recognised once.

use std::sync::{Arc, Mutex};

use footfall_core::consent::record::Method;
use footfall_core::proximity::service::Ingested;
use footfall_core::proximity::views::{OfferView, PickupView, VisitPhase, VisitView};
use footfall_core::{
    Config, Event, Footfall, HttpRequest, HttpResponse, HttpTransport, ManualClock, SdkEvent, TransportError,
};
use serde_json::{json, Value};

const T0: i64 = 1_796_000_000_000; // 2026-11-30T00:53:20Z, a Monday
const UUID: &str = "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6";

fn document(campaigns: Value) -> String {
    json!({"proximity": {
        "version": 1,
        "zones": [{
            "id": "tokyo-1/entrance", "store": "tokyo-1", "timeZone": "Asia/Tokyo",
            "beacons": [format!("{UUID}:1:2")],
            "enterRssi": -75, "enterK": 2, "enterM": 3, "exitAfterMs": 30000, "dwellAfterMs": 60000
        }],
        "campaigns": campaigns,
    }})
    .to_string()
}

#[derive(Default)]
struct Heard(Mutex<Vec<SdkEvent>>);

impl Heard {
    fn visits(&self) -> Vec<VisitView> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                SdkEvent::VisitChanged { visit } => Some(visit.clone()),
                _ => None,
            })
            .collect()
    }
    fn offers(&self) -> Vec<OfferView> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                SdkEvent::OfferMade { offer } => Some(offer.clone()),
                _ => None,
            })
            .collect()
    }
    fn pickups(&self) -> Vec<PickupView> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                SdkEvent::PickupArrived { pickup } => Some(pickup.clone()),
                _ => None,
            })
            .collect()
    }
}

struct Phone {
    sdk: Footfall,
    clock: Arc<ManualClock>,
    heard: Arc<Heard>,
}

fn open(dir: &std::path::Path, clock: &Arc<ManualClock>, campaigns: Value) -> Phone {
    let heard = Arc::new(Heard::default());
    let sink = heard.clone();
    let mut config = Config::new(dir).with_proximity(document(campaigns));
    config.time_zone = Some("Asia/Tokyo".into());
    let sdk = Footfall::builder(config)
        .clock(clock.clone())
        .listener(Arc::new(move |e: &SdkEvent| sink.0.lock().unwrap().push(e.clone())))
        .open()
        .unwrap();
    sdk.flush_to_disk().unwrap(); // the start-up job (open visits restored) has run
    Phone { sdk, clock: clock.clone(), heard }
}

impl Phone {
    /// `seconds` scan cycles of one second, each hearing the entrance beacon at `rssi` (None: nothing heard).
    fn walk(&self, seconds: u32, rssi: Option<i16>) {
        for _ in 0..seconds {
            if let Some(rssi) = rssi {
                self.sdk.proximity_identity(UUID, 1, 2, rssi, 0).unwrap();
            }
            self.sdk.proximity_scan_tick().unwrap();
            self.clock.advance_ms(1000);
        }
        self.sdk.flush_to_disk().unwrap();
    }

    fn queued(&self) -> Vec<(String, String, Value)> {
        let export = self.sdk.export_data().unwrap();
        export["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["purpose"].as_str().unwrap().to_string(),
                    e["properties"].clone(),
                )
            })
            .collect()
    }

    fn names(&self) -> Vec<String> {
        self.queued().into_iter().map(|(n, _, _)| n).collect()
    }
}

fn located(dir: &std::path::Path, clock: &Arc<ManualClock>, campaigns: Value) -> Phone {
    let phone = open(dir, clock, campaigns);
    phone.sdk.grant(&["location", "analytics"], Method::Api).unwrap();
    phone
}

#[test]
fn a_walk_in_becomes_a_visit_with_its_events_and_ends_after_observed_absence() {
    let dir = tempfile::tempdir().unwrap();
    let phone = located(dir.path(), &ManualClock::new(T0), json!([]));
    phone.walk(5, Some(-62));
    let visits = phone.sdk.proximity_visits(10).unwrap();
    assert_eq!(visits.len(), 1, "{visits:?}");
    let visit = &visits[0];
    assert_eq!(
        (visit.zone.as_str(), visit.store.as_str(), visit.phase),
        ("tokyo-1/entrance", "tokyo-1", VisitPhase::Entered)
    );
    assert_eq!(phone.names(), ["visit_started"]);
    let (_, purpose, props) = &phone.queued()[0];
    assert_eq!(purpose, "location", "visits go to the backend under location");
    assert_eq!(props["visit_id"], json!(visit.id));

    phone.walk(70, Some(-66)); // browsing near the entrance: a dwell, no exit
    assert_eq!(phone.sdk.proximity_visits(10).unwrap()[0].phase, VisitPhase::Dwelling);
    phone.walk(20, None); // 20 s unheard: not yet gone
    assert_eq!(phone.sdk.proximity_status().unwrap().inside.len(), 1);
    phone.walk(15, None);
    let ended = &phone.sdk.proximity_visits(10).unwrap()[0];
    assert_eq!((ended.phase, ended.end_reason.as_deref()), (VisitPhase::Ended, Some("absence")));
    assert_eq!(phone.names(), ["visit_started", "visit_dwell", "visit_ended"]);
    let told: Vec<VisitPhase> = phone.heard.visits().iter().map(|v| v.phase).collect();
    assert_eq!(told, [VisitPhase::Entered, VisitPhase::Dwelling, VisitPhase::Ended]);
    // The exit is dated when the shopper was last near, not when the rule fired.
    let exited = chrono_ms(ended.exited_at.as_deref().unwrap());
    assert!((T0 + 74_000..=T0 + 76_000).contains(&exited), "exited at {exited} (last near reading at T0+74 s)");
}

#[test]
fn scanning_stopped_is_unknown_time_not_absence() {
    let dir = tempfile::tempdir().unwrap();
    let phone = located(dir.path(), &ManualClock::new(T0), json!([]));
    phone.walk(5, Some(-62));
    phone.sdk.proximity_scanning(false).unwrap();
    phone.clock.advance_ms(10 * 60_000); // ten minutes in the background
    phone.sdk.proximity_scanning(true).unwrap();
    phone.walk(3, Some(-62));
    let visits = phone.sdk.proximity_visits(10).unwrap();
    assert_eq!(visits.len(), 1, "the background gap neither ended the visit nor opened a second one: {visits:?}");
    assert_eq!(visits[0].phase, VisitPhase::Dwelling, "the visit went on through the gap, long enough to dwell");
}

#[test]
fn nothing_is_processed_or_kept_without_location() {
    let dir = tempfile::tempdir().unwrap();
    let phone = open(dir.path(), &ManualClock::new(T0), json!([]));
    phone.sdk.grant(&["analytics"], Method::Api).unwrap();
    assert_eq!(phone.sdk.proximity_identity(UUID, 1, 2, -60, 0).unwrap(), Ingested::NoConsent);
    phone.walk(10, Some(-60));
    assert!(phone.sdk.proximity_visits(10).unwrap().is_empty());
    assert!(phone.names().is_empty());
    assert_eq!(phone.sdk.proximity_status().unwrap().without_consent, 21);
}

#[test]
fn withdrawing_location_deletes_visits_and_their_queued_events_and_stops_processing() {
    let dir = tempfile::tempdir().unwrap();
    let phone = located(dir.path(), &ManualClock::new(T0), json!([]));
    phone.walk(5, Some(-62));
    assert_eq!(phone.sdk.proximity_visits(10).unwrap().len(), 1);
    phone.sdk.deny(&["location"], Method::Api).unwrap();
    assert!(phone.sdk.proximity_visits(10).unwrap().is_empty(), "the open visit is deleted with the withdrawal");
    assert!(phone.names().is_empty(), "queued visit events are purged");
    assert_eq!(phone.sdk.proximity_identity(UUID, 1, 2, -60, 0).unwrap(), Ingested::NoConsent);
    assert!(phone.sdk.proximity_status().unwrap().inside.is_empty(), "no presence state outlives the withdrawal");
    // Granted again: a new visit starts from scratch (nothing remembered from before).
    phone.sdk.grant(&["location"], Method::Api).unwrap();
    phone.walk(5, Some(-62));
    let visits = phone.sdk.proximity_visits(10).unwrap();
    assert_eq!(visits.len(), 1);
    // Withdrawn and granted again with no reading between: the presence state went with the withdrawal, so the
    // shopper still in the store is entered again (a new visit), not left inside a visit that no longer exists.
    phone.sdk.deny(&["location"], Method::Api).unwrap();
    phone.sdk.grant(&["location"], Method::Api).unwrap();
    phone.walk(5, Some(-62));
    let again = phone.sdk.proximity_visits(10).unwrap();
    assert_eq!(again.len(), 1, "{again:?}");
    assert_ne!(again[0].id, visits[0].id);
}

#[test]
fn a_restart_continues_the_open_visit_and_never_repeats_its_enter() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let first_id = {
        let phone = located(dir.path(), &clock, json!([]));
        phone.walk(5, Some(-62));
        let id = phone.sdk.proximity_visits(10).unwrap()[0].id.clone();
        phone.sdk.close();
        id
    };
    clock.advance_ms(20_000);
    let phone = open(dir.path(), &clock, json!([]));
    assert_eq!(phone.sdk.proximity_status().unwrap().inside, vec![("tokyo-1/entrance".to_string(), first_id.clone())]);
    phone.walk(10, Some(-62));
    let visits = phone.sdk.proximity_visits(10).unwrap();
    assert_eq!(visits.len(), 1, "the restart continued the visit: {visits:?}");
    phone.walk(40, None);
    let visits = phone.sdk.proximity_visits(10).unwrap();
    assert_eq!((visits.len(), visits[0].id.as_str(), visits[0].phase), (1, first_id.as_str(), VisitPhase::Ended));
    let names = phone.names();
    assert_eq!(names.iter().filter(|n| *n == "visit_started").count(), 1, "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "visit_ended").count(), 1, "{names:?}");
}

#[test]
fn a_visit_left_open_long_ago_is_closed_at_its_last_sighting_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    {
        let phone = located(dir.path(), &clock, json!([]));
        phone.walk(5, Some(-62));
        phone.sdk.close();
    }
    clock.advance_ms(5 * 3_600_000);
    let phone = open(dir.path(), &clock, json!([]));
    let visit = &phone.sdk.proximity_visits(10).unwrap()[0];
    assert_eq!((visit.phase, visit.end_reason.as_deref()), (VisitPhase::Ended, Some("stale")));
    assert!(chrono_ms(visit.exited_at.as_deref().unwrap()) <= T0 + 5_000, "{visit:?}");
    assert!(phone.sdk.proximity_status().unwrap().inside.is_empty());
}

fn welcome(cap: u32) -> Value {
    json!([{
        "id": "welcome", "zones": ["tokyo-1/entrance"], "trigger": "enter", "priority": 1,
        "cap": {"count": cap, "windowDays": 7},
        "offer": {"title": "offer.welcome.title", "body": "offer.welcome.body"}
    }])
}

#[test]
fn an_offer_per_visit_within_its_cap_tracked_under_marketing_only_when_granted() {
    let dir = tempfile::tempdir().unwrap();
    let phone = located(dir.path(), &ManualClock::new(T0), welcome(2));
    phone.walk(5, Some(-62));
    let offers = phone.heard.offers();
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0].campaign_id, "welcome");
    assert!(!phone.names().contains(&"offer_shown".to_string()), "marketing is not granted: the offer is not tracked");
    phone.sdk.grant(&["marketing"], Method::Api).unwrap();
    phone.walk(40, None); // leave
    phone.walk(5, Some(-62)); // come back: a second visit, a second offer (cap 2)
    assert_eq!(phone.heard.offers().len(), 2);
    let shown: Vec<(String, String, Value)> =
        phone.queued().into_iter().filter(|(n, _, _)| n == "offer_shown").collect();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].1, "marketing");
    phone.walk(40, None);
    phone.walk(5, Some(-62)); // a third visit: the cap is reached
    assert_eq!(phone.heard.offers().len(), 2, "the cap of 2 in 7 days holds");
    assert_eq!(phone.sdk.proximity_visits(10).unwrap().len(), 3);
}

#[test]
fn an_audience_rule_needs_personalization_and_the_shoppers_own_events() {
    let dir = tempfile::tempdir().unwrap();
    let campaigns = json!([{
        "id": "shoes", "zones": ["tokyo-1/entrance"], "trigger": "enter", "priority": 5,
        "audience": {"event": "product_viewed", "where": {"category": "shoes"}, "atLeast": 2, "withinDays": 14},
        "offer": {"title": "offer.shoes.title", "body": "offer.shoes.body"}
    }]);
    let phone = located(dir.path(), &ManualClock::new(T0), campaigns);
    for _ in 0..2 {
        phone.sdk.track(Event::new("product_viewed").properties(json!({"category": "shoes"}))).unwrap();
    }
    phone.walk(5, Some(-62));
    assert!(phone.heard.offers().is_empty(), "without personalization the audience is not evaluated (nor counted)");
    phone.walk(40, None);
    phone.sdk.grant(&["personalization"], Method::Api).unwrap();
    phone.sdk.track(Event::new("product_viewed").properties(json!({"category": "shoes"}))).unwrap();
    phone.sdk.track(Event::new("product_viewed").properties(json!({"category": "bags"}))).unwrap();
    phone.walk(5, Some(-62));
    assert!(phone.heard.offers().is_empty(), "one matching view counted since personalization was granted");
    phone.walk(40, None);
    phone.sdk.track(Event::new("product_viewed").properties(json!({"category": "shoes"}))).unwrap();
    phone.walk(5, Some(-62));
    assert_eq!(phone.heard.offers().len(), 1, "two matching views: the shopper is in the audience");
    phone.sdk.deny(&["personalization"], Method::Api).unwrap();
    assert_eq!(
        phone.sdk.export_data().unwrap()["proximity"]["audienceCounts"],
        json!([]),
        "counts go with the consent"
    );
}

#[test]
fn a_pickup_is_recognised_once_when_the_shopper_enters_its_store_inside_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let phone = located(dir.path(), &ManualClock::new(T0), json!([]));
    phone.sdk.expect_pickup("order-7", "tokyo-1", T0 + 60_000, T0 + 3_600_000).unwrap();
    phone.sdk.expect_pickup("order-8", "osaka-2", T0, T0 + 3_600_000).unwrap();
    phone.walk(5, Some(-62)); // too early: the window opens at T0 + 60 s
    assert!(phone.heard.pickups().is_empty());
    phone.walk(40, None); // gone at T0 + 45 s
    phone.clock.advance_ms(30_000);
    phone.walk(5, Some(-62)); // back at T0 + 76 s, inside the window
    let arrived = phone.heard.pickups();
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert_eq!((arrived[0].order_id.as_str(), arrived[0].store.as_str()), ("order-7", "tokyo-1"));
    let events: Vec<(String, String, Value)> =
        phone.queued().into_iter().filter(|(n, _, _)| n == "pickup_arrived").collect();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].1.as_str(), &events[0].2["order_id"]), ("location", &json!("order-7")));
    phone.walk(40, None);
    phone.walk(5, Some(-62));
    assert_eq!(phone.heard.pickups().len(), 1, "told once per order");
    let pickups = phone.sdk.pickups().unwrap();
    assert!(pickups.iter().any(|p| p.order_id == "order-8" && p.arrived_at.is_none()));
}

#[test]
fn bad_input_is_a_typed_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let phone = located(dir.path(), &ManualClock::new(T0), json!([]));
    for bad in [&[0x02u8, 0x01][..], &[0x1a, 0xff, 0x4c, 0x00, 0x02, 0x15][..], &[][..]] {
        let err = phone.sdk.proximity_advertisement(bad, -60, 0).unwrap_err();
        assert!(matches!(err, footfall_core::Error::Proximity(_)), "{err:?}");
    }
    assert!(phone.sdk.proximity_identity("not-a-uuid", 1, 2, -60, 0).is_err());
    assert!(phone.sdk.proximity_identity(UUID, 1, 2, 0, 0).is_err(), "RSSI 0 is CoreLocation measuring nothing");
    assert!(phone.sdk.expect_pickup("", "tokyo-1", T0, T0 + 1).is_err());
    assert!(phone.sdk.expect_pickup("o", "tokyo-1", T0 + 1, T0).is_err());
    assert_eq!(phone.sdk.proximity_status().unwrap().refused, 5);
    assert!(phone.sdk.proximity_visits(10).unwrap().is_empty());
}

fn chrono_ms(rfc3339: &str) -> i64 {
    let ts: jiff::Timestamp = rfc3339.parse().unwrap();
    ts.as_millisecond()
}

/// `GET /v1/config` answering whatever document the test put there (always 200: every refresh re-reads it).
struct RemoteConfig(Mutex<String>);

#[async_trait::async_trait]
impl HttpTransport for RemoteConfig {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse { status: 200, headers: vec![], body: self.0.lock().unwrap().clone().into_bytes() })
    }
}

fn served(version: u32, zone_id: &str, minor: u16) -> String {
    json!({"consent": {"policyVersion": 1, "purposes": [{"id": "location"}, {"id": "analytics"}]},
           "proximity": {"version": version, "zones": [{"id": zone_id, "store": "tokyo-1",
               "beacons": [format!("{UUID}:1:{minor}")], "enterRssi": -75}]}})
    .to_string()
}

#[test]
fn zones_from_the_remote_config_replace_the_bundled_ones_and_stay_across_restarts_never_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let server = Arc::new(RemoteConfig(Mutex::new(served(2, "till", 9))));
    let open_online = || {
        let mut config =
            Config::new(dir.path()).with_proximity(document(json!([]))).with_endpoint("https://collector.test");
        config.flush.automatic = false;
        config.consent_refresh_interval = None;
        let sdk = Footfall::builder(config).clock(clock.clone()).transport(server.clone()).open().unwrap();
        sdk.flush_to_disk().unwrap();
        sdk
    };
    let sdk = open_online();
    sdk.grant(&["location"], Method::Api).unwrap();
    assert_eq!(sdk.proximity_status().unwrap().config_version, 1, "the bundled document until the server answers");
    sdk.refresh_consent_policy().unwrap();
    let status = sdk.proximity_status().unwrap();
    assert_eq!((status.config_version, status.zones), (2, 1));
    let hear = |minor: u16, seconds: u32| {
        for _ in 0..seconds {
            sdk.proximity_identity(UUID, 1, minor, -60, 0).unwrap();
            sdk.proximity_scan_tick().unwrap();
            clock.advance_ms(1000);
        }
        sdk.flush_to_disk().unwrap();
    };
    hear(2, 5);
    assert!(sdk.proximity_visits(10).unwrap().is_empty(), "the bundled entrance zone was replaced");
    hear(9, 5);
    assert_eq!(sdk.proximity_visits(10).unwrap()[0].zone, "till");

    // An older version, then a broken zone: refused, the one in force stays (and the consent part still applies).
    *server.0.lock().unwrap() = served(1, "old", 3);
    sdk.refresh_consent_policy().unwrap();
    *server.0.lock().unwrap() = served(3, "", 3);
    sdk.refresh_consent_policy().unwrap();
    assert_eq!(sdk.proximity_status().unwrap().config_version, 2);
    assert_eq!(sdk.proximity_status().unwrap().inside.len(), 1, "refused documents do not disturb the visit");

    // Version 3 drops the till zone: its open visit ends (`zone_removed`).
    *server.0.lock().unwrap() = served(3, "door", 4);
    sdk.refresh_consent_policy().unwrap();
    sdk.flush_to_disk().unwrap();
    let ended = &sdk.proximity_visits(10).unwrap()[0];
    assert_eq!((ended.phase, ended.end_reason.as_deref()), (VisitPhase::Ended, Some("zone_removed")));
    sdk.close();

    // Offline after a restart: the server's last document (v3) is in force, not the bundled v1.
    *server.0.lock().unwrap() = String::from("not json");
    let sdk = open_online();
    assert_eq!(sdk.proximity_status().unwrap().config_version, 3);
}
