//! `footfall demo`, part three: the store visit. The product team's zones and a welcome campaign arrive in the
//! remote configuration (no app release); the shopper, with a click-and-collect order waiting, walks in: the visit
//! opens after two readings, the campaign's coupon goes into her wallet, the pickup is recognised, she browses
//! long enough to dwell and leaves; the collector receives each event once. Real core, real collector on
//! loopback; the phone's clock is a manual one so the walk takes no real time.

use std::time::Duration;

use footfall_collector::wallet::{add_coupon, CouponSpec};
use footfall_collector::{Collector, CollectorConfig};
use footfall_core::consent::record::Method;
use footfall_core::proximity::views::VisitPhase;
use footfall_core::wallet::{Discount, LocalDate};
use footfall_core::{Clock, Config, Footfall, ManualClock, RetryPolicy, SdkEvent};
use serde_json::json;

const STORE: &str = "tokyo-shibuya-01";
const BEACON: &str = "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6";
const COUPON: &str = "visit-500";

/// The document the product team edits: the consent policy and, next to it, store proximity.
fn remote_config() -> String {
    json!({
        "consent": {"policyVersion": 1, "purposes": [{"id": "analytics"}, {"id": "location"}, {"id": "marketing"}]},
        "proximity": {
            "version": 1,
            "zones": [{"id": "shibuya/entrance", "store": STORE, "timeZone": "Asia/Tokyo",
                       "beacons": [format!("{BEACON}:100:1")], "enterRssi": -75, "dwellAfterMs": 60000}],
            "campaigns": [{"id": "welcome-back", "zones": ["shibuya/entrance"], "trigger": "enter", "priority": 10,
                           "cap": {"count": 1, "windowDays": 7},
                           "offer": {"title": "offer.welcome.title", "body": "offer.welcome.body", "couponId": COUPON}}]
        }
    })
    .to_string()
}

/// Runs the store visit; Ok(true) when the visit, the offer's coupon, the pickup and every event arrived once.
pub fn run(workdir: &std::path::Path) -> Result<bool, String> {
    let db = workdir.join("store-collector.db");
    let config_file = workdir.join("remote-config.json");
    std::fs::write(&config_file, remote_config()).map_err(|e| format!("cannot write the remote config: {e}"))?;
    let mut collector_config = CollectorConfig::new("127.0.0.1:0".parse().expect("literal address"), &db);
    collector_config.config_path = Some(config_file);
    collector_config.issuer_key = Some(workdir.join("store-issuer-key.json"));
    let collector = Collector::start(collector_config).map_err(|e| format!("cannot start the collector: {e}"))?;
    let keyset = collector.wallet_keyset_json().ok_or("the issuer has no key set")?;
    let last_day = LocalDate::new(2027, 1, 31).map_err(|e| e.to_string())?;
    add_coupon(
        &db,
        CouponSpec::new(COUPON, "¥500 off today", Discount::Amount { minor: 500 }, "JPY", last_day, "Asia/Tokyo"),
    )
    .map_err(|e| e.to_string())?;

    println!("Part three: the store visit");
    println!("  collector  {} (zones and campaigns in GET /v1/config)", collector.base_url());
    println!();
    let clock = ManualClock::new(jiff::Timestamp::now().as_millisecond());
    let (told, heard) = std::sync::mpsc::channel();
    let mut config =
        Config::new(workdir.join("phone-store")).with_endpoint(collector.base_url()).with_wallet_keyset(keyset);
    config.flush.automatic = false;
    config.time_zone = Some("Asia/Tokyo".into());
    config.retry =
        RetryPolicy { base: Duration::from_millis(100), cap: Duration::from_millis(800), ..RetryPolicy::default() };
    let sdk = Footfall::builder(config)
        .clock(clock.clone())
        .listener(std::sync::Arc::new(move |e: &SdkEvent| drop(told.send(e.clone()))))
        .open()
        .map_err(|e| e.to_string())?;
    sdk.grant(&["analytics", "location", "marketing"], Method::Settings).map_err(|e| e.to_string())?;
    let refreshed = sdk.refresh_consent_policy().map_err(|e| e.to_string())?;
    sdk.wallet_sync().map_err(|e| e.to_string())?;
    let status = sdk.proximity_status().map_err(|e| e.to_string())?;
    println!(
        "10. At home: policy v{} fetched with proximity v{} ({} zone, {} campaign); the wallet holds {COUPON}.",
        refreshed.policy_version.unwrap_or_default(),
        status.config_version,
        status.zones,
        status.campaigns
    );
    let now = clock.now_ms();
    sdk.expect_pickup("order-1001", STORE, now, now + 2 * 3_600_000).map_err(|e| e.to_string())?;
    println!("    a click-and-collect order (order-1001) is ready at {STORE} for the next two hours.");

    println!();
    println!("11. She walks in. Every second the phone ranges the entrance beacon (RSSI −60…−68 dBm).");
    let walk = |seconds: u32, rssi: Option<i16>| -> Result<(), String> {
        for second in 0..seconds {
            if let Some(rssi) = rssi {
                sdk.proximity_identity(BEACON, 100, 1, rssi - (second % 3) as i16 * 4, 0).map_err(|e| e.to_string())?;
            }
            sdk.proximity_scan_tick().map_err(|e| e.to_string())?;
            clock.advance_ms(1000);
        }
        sdk.flush_to_disk().map_err(|e| e.to_string())
    };
    walk(3, Some(-60))?;
    let mut coupon_clipped = false;
    let mut pickups = 0;
    for event in heard.try_iter() {
        match event {
            SdkEvent::VisitChanged { visit } => {
                println!("    visit {} {:?} at {}", short(&visit.id), visit.phase, visit.entered_at)
            }
            SdkEvent::OfferMade { offer } => {
                coupon_clipped = offer.coupon_clipped;
                println!(
                    "    offer '{}' from campaign {} — coupon {} {}",
                    offer.title,
                    offer.campaign_id,
                    offer.coupon_id.as_deref().unwrap_or("-"),
                    if offer.coupon_clipped { "clipped into the wallet" } else { "not in the wallet" }
                );
            }
            SdkEvent::PickupArrived { pickup } => {
                pickups += 1;
                println!("    pickup {} recognised: the store is told she has arrived", pickup.order_id);
            }
            _ => {}
        }
    }
    println!();
    println!(
        "12. She browses near the entrance for 70 s (a dwell), then leaves; 30 s unheard with scanning on ends it."
    );
    walk(70, Some(-64))?;
    walk(40, None)?;
    let visits = sdk.proximity_visits(5).map_err(|e| e.to_string())?;
    let visit = visits.first().ok_or("no visit was recorded")?;
    println!(
        "    visit {} {:?}: entered {}, dwell {}, exited {} ({})",
        short(&visit.id),
        visit.phase,
        visit.entered_at,
        visit.dwell_at.as_deref().unwrap_or("-"),
        visit.exited_at.as_deref().unwrap_or("-"),
        visit.end_reason.as_deref().unwrap_or("-")
    );
    for event in heard.try_iter() {
        if let SdkEvent::PickupArrived { .. } = event {
            pickups += 1;
        }
    }

    println!();
    println!("13. Back online: one flush.");
    sdk.flush().map_err(|e| e.to_string())?;
    let names: Vec<String> = collector
        .events()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|e| e.name)
        .filter(|n| {
            ["visit_started", "visit_dwell", "visit_ended", "offer_shown", "pickup_arrived"].contains(&n.as_str())
        })
        .collect();
    println!("    the collector stored: {}", names.join(", "));
    let expected = ["visit_started", "pickup_arrived", "offer_shown", "visit_dwell", "visit_ended"];
    let once = expected.iter().all(|n| names.iter().filter(|m| m == n).count() == 1);
    let ok = once && coupon_clipped && pickups == 1 && visits.len() == 1 && visit.phase == VisitPhase::Ended;
    println!();
    if ok {
        println!(
            "✓ one visit (enter, dwell, exit), one offer with its coupon in the wallet, the pickup recognised once"
        );
    } else {
        println!(
            "✗ store visit: events {names:?}, coupon clipped {coupon_clipped}, pickups {pickups}, visits {}",
            visits.len()
        );
    }
    sdk.close();
    Ok(ok)
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
