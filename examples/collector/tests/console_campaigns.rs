//! The console's campaigns page: the campaigns in force, what devices reported of them, and stopping one, which
//! devices see as a new proximity version with the campaign's end.

mod common;

use common::database::database;

use common::console::{admin, hidden, text, Browser, PASSWORD};
use common::{batch, get, id, post};
use footfall_collector::{Collector, CollectorConfig};
use serde_json::{json, Value};

const CONFIG: &str = r#"{"consent": {"policyVersion": 1, "purposes": [{"id": "location"}, {"id": "marketing"}]},
  "proximity": {"version": 2, "dailyCap": 3,
    "zones": [{"id": "tokyo-1/entrance", "store": "tokyo-1", "timeZone": "Asia/Tokyo",
               "beacons": ["2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2"], "enterRssi": -75}],
    "campaigns": [{"id": "welcome", "zones": ["tokyo-1/entrance"], "trigger": "enter", "priority": 10,
                   "cap": {"count": 1, "windowDays": 7},
                   "offer": {"title": "offer.welcome.title", "body": "offer.welcome.body", "couponId": "visit-500"}}]}}"#;

fn event(n: u32, name: &str, properties: Value) -> Value {
    json!({"type": "track", "messageId": id(n), "timestamp": "2026-12-06T10:15:30.123Z", "anonymousId": "anon-1",
           "event": name, "properties": properties})
}

#[test]
fn the_campaigns_page_shows_what_devices_reported_and_stops_a_campaign_for_every_device() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, CONFIG).unwrap();
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), database(dir.path()));
    config.config_path = Some(file);
    config.console = Some(admin());
    let collector = Collector::start(config).unwrap();
    let reported = batch(vec![
        event(1, "visit_started", json!({"store": "tokyo-1", "zone": "tokyo-1/entrance"})),
        event(2, "offer_shown", json!({"campaign_id": "welcome", "zone": "tokyo-1/entrance"})),
        event(3, "visit_ended", json!({"store": "tokyo-1", "duration_s": 540})),
        // A device that reports something other than a number: left out of the average, the page still shows.
        event(4, "visit_ended", json!({"store": "tokyo-1", "duration_s": "nine minutes"})),
    ]);
    assert_eq!(post(&collector, &reported).status, 200);

    let mut browser = Browser::new(&collector);
    browser.sign_in(PASSWORD);
    let page = browser.get("/console/campaigns");
    let html = text(&page);
    assert!(html.contains("proximity version 2") && html.contains("at most 3 offers per shopper per day"), "{html}");
    let row = &html[html.find("<th scope=\"row\">welcome</th>").expect("the campaign is listed")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("1 per 7 days") && row.contains("coupon visit-500"), "{row}");
    assert!(row.contains("<td>1</td>"), "one offer shown, as devices reported: {row}");
    assert!(html.contains("<th scope=\"row\">tokyo-1</th><td>1</td><td>9.0</td>"), "one visit of 9 minutes");

    let (csrf, revision) = (hidden(&page, "csrf"), hidden(&page, "revision"));
    let stopped =
        browser.post("/console/campaigns/stop", &[("csrf", &csrf), ("revision", &revision), ("campaign", "welcome")]);
    assert!(
        stopped.header("location").unwrap().starts_with("/console/campaigns?done="),
        "{:?}",
        stopped.header("location")
    );
    let served = get(&collector, "/v1/config", &[]).json();
    assert_eq!(served["proximity"]["version"], 3, "devices replace the proximity config on a higher version");
    assert!(served["proximity"]["campaigns"][0]["endsAt"].is_string(), "the campaign ends now");
    assert!(text(&browser.get("/console/campaigns")).contains("Ended"));
    assert!(
        text(&browser.get("/console/audit")).contains("campaign &#39;welcome&#39; stopped at")
            || text(&browser.get("/console/audit")).contains("campaign &#x27;welcome&#x27; stopped at")
    );
    collector.shutdown();
}
