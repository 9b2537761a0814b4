//! Consent receipts in the essential lane: sent verbatim, oldest first, once; never gated by consent; a server
//! failure keeps them for the next pass; a refused record is isolated by bisection and not re-sent; a pause of
//! this lane never stops event uploads.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use footfall_core::consent::record::Method;
use footfall_core::{Config, Event, Footfall, ManualClock, SeededRandom, TransportError};
use serde_json::Value;
use support::*;

const RECORDS: &str = "/v1/consent-records";

fn config(dir: &std::path::Path) -> Config {
    let mut config = manual_config(dir);
    config.enforce_consent = true;
    config
}

fn open_receipts(dir: &std::path::Path, server: &Arc<FakeServer>, clock: &Arc<ManualClock>) -> Footfall {
    Footfall::builder(config(dir))
        .transport(server.clone())
        .clock(clock.clone())
        .random(SeededRandom::new(7))
        .consent_receipts(true)
        .open()
        .unwrap()
}

/// Record ids of every consent-records request the server answered 2xx, in arrival order.
fn accepted_ids(server: &FakeServer) -> Vec<String> {
    server
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.request.url.ends_with(RECORDS) && s.status.is_some_and(|st| (200..300).contains(&st)))
        .flat_map(|s| s.body["records"].as_array().cloned().unwrap_or_default())
        .map(|r| r["record_id"].as_str().unwrap().to_string())
        .collect()
}

fn records_requests(server: &FakeServer) -> usize {
    server.seen.lock().unwrap().iter().filter(|s| s.request.url.ends_with(RECORDS)).count()
}

fn record_ids(sdk: &Footfall) -> Vec<String> {
    sdk.consent_log().unwrap().records.iter().map(|r| r.record_id.clone()).collect()
}

#[test]
fn offline_decisions_reach_the_server_once_verbatim_in_chain_order() {
    let dir = tempfile::tempdir().unwrap();
    let online = Arc::new(AtomicBool::new(false));
    let server = {
        let online = online.clone();
        FakeServer::new(move |_, _| {
            if online.load(Ordering::SeqCst) {
                ok(200, "{}")
            } else {
                Err(TransportError::Connect("offline".into()))
            }
        })
    };
    let clock = ManualClock::new(T0);
    let sdk = open_receipts(dir.path(), &server, &clock);
    sdk.prompt_shown("default").unwrap();
    sdk.grant(&["analytics"], Method::Prompt { prompt_id: "default".into() }).unwrap();
    sdk.deny(&["marketing"], Method::Settings).unwrap();
    sdk.flush().unwrap();
    assert!(records_requests(&server) > 0, "the lane tried while offline");
    assert!(accepted_ids(&server).is_empty());
    assert_eq!(sdk.status().unwrap().retries, 1, "an offline attempt counts a retry");

    online.store(true, Ordering::SeqCst);
    sdk.flush().unwrap();
    assert_eq!(accepted_ids(&server), record_ids(&sdk), "every record once, oldest first");
    // Verbatim: each record sent is exactly the sealed record, hash included.
    let log = sdk.consent_log().unwrap();
    let sent = server.seen.lock().unwrap().last().unwrap().body.clone();
    let expected: Vec<Value> = log.records.iter().map(|r| serde_json::to_value(r).unwrap()).collect();
    assert_eq!(sent["records"].as_array().unwrap(), &expected);
    assert!(sent["sentAt"].as_str().is_some());
    let headers = server.seen.lock().unwrap().last().unwrap().request.headers.clone();
    assert!(headers.iter().any(|(k, v)| k == "Content-Encoding" && v == "gzip"));
    assert!(headers.iter().any(|(k, _)| k == "Authorization"));

    let before = server.request_count();
    sdk.flush().unwrap();
    assert_eq!(server.request_count(), before, "nothing is sent twice");
}

#[test]
fn a_withdrawal_is_sent_although_the_purpose_is_now_denied() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = open_receipts(dir.path(), &server, &ManualClock::new(T0));
    sdk.grant(&["analytics"], Method::Api).unwrap();
    sdk.deny(&["analytics"], Method::Settings).unwrap();
    assert!(!sdk.is_allowed("analytics").unwrap());
    sdk.flush().unwrap();
    let ids = accepted_ids(&server);
    assert_eq!(ids, record_ids(&sdk));
    let withdrawal = &sdk.consent_log().unwrap().records[1];
    assert_eq!(withdrawal.decisions.get("analytics"), Some(&false));
    assert_eq!(ids.last(), Some(&withdrawal.record_id));
}

#[test]
fn server_errors_keep_records_for_the_next_pass() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, _| ok(503, ""));
    let sdk = open_receipts(dir.path(), &server, &ManualClock::new(T0));
    sdk.grant(&["analytics"], Method::Api).unwrap();
    sdk.flush().unwrap();
    sdk.flush().unwrap();
    assert_eq!(records_requests(&server), 2, "retried on the next pass, never dead-lettered");
    server.set_rule(|_, _| ok(200, r#"{"accepted":1,"duplicates":0}"#));
    sdk.flush().unwrap();
    assert_eq!(accepted_ids(&server), record_ids(&sdk));
}

#[test]
fn a_refused_record_is_isolated_and_not_resent_but_stays_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = open_receipts(dir.path(), &server, &ManualClock::new(T0));
    for purpose in ["analytics", "marketing", "personalization", "analytics"] {
        sdk.grant(&[purpose], Method::Api).unwrap();
    }
    let ids = record_ids(&sdk);
    let victim = ids[2].clone();
    {
        let victim = victim.clone();
        server.set_rule(move |body, _| {
            let bad = body["records"].as_array().is_some_and(|r| r.iter().any(|r| r["record_id"] == victim.as_str()));
            if bad {
                ok(400, r#"{"error":{"code":"invalid_record","message":"bad hash"}}"#)
            } else {
                ok(200, "{}")
            }
        });
    }
    sdk.flush().unwrap();
    let mut expected = ids.clone();
    expected.retain(|id| *id != victim);
    assert_eq!(accepted_ids(&server), expected);
    assert_eq!(record_ids(&sdk), ids, "the refused record stays in the log");
    let export = sdk.export_data().unwrap();
    assert_eq!(export["consent"]["refusedByBackend"][0]["reason"], "HTTP 400: bad hash");
    let before = server.request_count();
    sdk.flush().unwrap();
    assert_eq!(server.request_count(), before, "the refused record is not sent again");
}

#[test]
fn a_pause_of_the_essential_lane_does_not_stop_event_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|body, _| if body.get("records").is_some() { ok(404, "") } else { ok(200, "{}") });
    let sdk = open_receipts(dir.path(), &server, &ManualClock::new(T0));
    sdk.grant(&["analytics"], Method::Api).unwrap();
    sdk.track(Event::new("viewed")).unwrap();
    let report = sdk.flush().unwrap();
    assert_eq!(report.delivered, 1);
    sdk.track(Event::new("viewed_again")).unwrap();
    assert_eq!(sdk.flush().unwrap().delivered, 1);
    assert_eq!(server.delivered_names(), vec!["viewed", "viewed_again"]);
    assert!(accepted_ids(&server).is_empty());
}

#[test]
fn receipts_stay_on_the_device_when_the_app_turns_them_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = footfall_core::Footfall::builder(config(dir.path()))
        .transport(server.clone())
        .clock(ManualClock::new(T0))
        .consent_receipts(false)
        .open()
        .unwrap();
    sdk.grant(&["analytics"], Method::Api).unwrap();
    sdk.flush().unwrap();
    assert_eq!(records_requests(&server), 0);
    assert!(!sdk.consent_log().unwrap().records.is_empty());
}
