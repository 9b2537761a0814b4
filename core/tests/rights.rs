//! Rights: the export shows everything the SDK holds; a deletion request wipes the device (keeping the consent
//! log), rotates the identity in order with the events around it, and is sent until acknowledged, across restarts.

mod support;

use std::sync::Arc;

use footfall_core::consent::record::Method;
use footfall_core::{Event, Footfall, ManualClock, RightsState};
use serde_json::{json, Value};
use support::*;

const DELETION: &str = "/v1/rights/deletion";

fn deletion_bodies(server: &FakeServer) -> Vec<(Value, Option<u16>)> {
    server
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.request.url.ends_with(DELETION))
        .map(|s| (s.body.clone(), s.status))
        .collect()
}

fn state(sdk: &Footfall, id: &str) -> RightsState {
    sdk.rights_requests().unwrap().into_iter().find(|r| r.id == id).unwrap().state
}

#[test]
fn export_shows_identity_events_dead_letters_consent_and_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|body, _| {
        let poison = body["batch"].as_array().is_some_and(|b| b.iter().any(|m| m["event"] == "poison"));
        if poison {
            ok(400, "bad event")
        } else {
            ok(503, "")
        }
    });
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    sdk.grant(&["analytics"], Method::Api).unwrap();
    sdk.track(Event::new("poison")).unwrap();
    sdk.flush().unwrap();
    sdk.identify("shopper-1", json!({"tier": "gold"})).unwrap();
    sdk.track(Event::new("viewed").properties(json!({"sku": "A1"}))).unwrap();
    let export = sdk.export_data().unwrap();
    assert_eq!(export["userId"], "shopper-1");
    assert!(export["anonymousId"].is_string() && export["sessionId"].is_string());
    let events = export["events"].as_array().unwrap();
    assert_eq!(events.iter().map(|e| e["name"].as_str().unwrap()).collect::<Vec<_>>(), vec!["", "viewed"]);
    assert_eq!(events[1]["properties"], json!({"sku": "A1"}));
    assert_eq!(events[1]["purpose"], "analytics");
    assert!(events[1]["id"].is_string() && events[1]["timestamp"].is_string());
    assert_eq!(export["deadLetters"][0]["name"], "poison");
    assert_eq!(export["deadLetters"][0]["status"], 400);
    assert_eq!(export["consent"]["records"].as_array().unwrap().len(), 1);
    assert_eq!(export["consent"]["verified"], true);
    assert!(export["consent"]["status"]["purposes"].is_array());
    assert_eq!(export["rightsRequests"], json!([]));
}

#[test]
fn deletion_wipes_local_data_keeps_the_consent_log_and_rotates_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    sdk.grant(&["analytics"], Method::Api).unwrap();
    sdk.track(Event::new("before_reset")).unwrap();
    sdk.flush_to_disk().unwrap();
    let first_anon = sdk.export_data().unwrap()["anonymousId"].as_str().unwrap().to_string();
    sdk.reset().unwrap();
    sdk.identify("shopper-1", json!({})).unwrap();
    sdk.track(Event::new("before_deletion")).unwrap();
    let before = sdk.export_data().unwrap();
    let second_anon = before["anonymousId"].as_str().unwrap().to_string();
    assert_ne!(first_anon, second_anon);

    let id = sdk.request_deletion().unwrap();
    sdk.track(Event::new("after_deletion")).unwrap();
    let after = sdk.export_data().unwrap();
    assert_eq!(after["events"].as_array().unwrap().len(), 1, "only what was tracked after the request");
    assert_eq!(after["deadLetters"], json!([]));
    assert_eq!(after["userId"], Value::Null);
    let third_anon = after["anonymousId"].as_str().unwrap();
    assert!(third_anon != first_anon && third_anon != second_anon);
    assert_eq!(after["consent"]["records"].as_array().unwrap().len(), 1, "the consent log is kept as proof");
    assert_eq!(after["consent"]["verified"], true);
    let request = &after["rightsRequests"][0];
    assert_eq!((request["requestId"].as_str(), request["state"].as_str()), (Some(id.as_str()), Some("received")));
    let mut ids: Vec<&str> =
        request["body"]["anonymousIds"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(ids[0], second_anon, "the current id first");
    ids.sort();
    let mut expected = vec![first_anon.as_str(), second_anon.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(request["body"]["userId"], "shopper-1");

    sdk.flush().unwrap();
    assert_eq!(
        server.delivered_names(),
        vec!["after_deletion"],
        "nothing tracked before the request leaves the device"
    );
    assert_eq!(server.delivered()[0]["anonymousId"], third_anon);
    assert_eq!(state(&sdk, &id), RightsState::Acknowledged);
}

#[test]
fn the_request_is_retried_across_a_restart_with_the_same_body_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, _| ok(503, ""));
    let clock = ManualClock::new(T0);
    let id = {
        let sdk = open(dir.path(), &server, &clock);
        sdk.track(Event::new("viewed")).unwrap();
        let id = sdk.request_deletion().unwrap();
        assert_eq!(state(&sdk, &id), RightsState::Received);
        sdk.flush().unwrap();
        assert_eq!(state(&sdk, &id), RightsState::Sent);
        id
    };
    server.set_rule(|body, _| ok(202, &json!({"status": "acknowledged", "requestId": body["requestId"]}).to_string()));
    let sdk = open(dir.path(), &server, &clock);
    assert_eq!(state(&sdk, &id), RightsState::Sent, "durable across the restart");
    sdk.flush().unwrap();
    assert_eq!(state(&sdk, &id), RightsState::Acknowledged);
    sdk.flush().unwrap();
    let sent = deletion_bodies(&server);
    assert_eq!(
        sent.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        vec![Some(503), Some(202)],
        "acknowledged once, then never again"
    );
    assert_eq!(sent[0].0, sent[1].0, "the same JSON on every attempt");
    assert_eq!(sent[0].0["requestId"], id.as_str());
}

#[test]
fn a_refused_request_is_not_resent() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, _| ok(400, r#"{"error":{"code":"invalid_request","message":"no"}}"#));
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    let id = sdk.request_deletion().unwrap();
    sdk.flush().unwrap();
    sdk.flush().unwrap();
    assert_eq!(state(&sdk, &id), RightsState::Refused);
    assert_eq!(deletion_bodies(&server).len(), 1);
    assert_eq!(sdk.rights_requests().unwrap()[0].last_error.as_deref(), Some("HTTP 400: no"));
}

#[test]
fn deletion_is_ordered_with_the_events_around_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = Arc::new(open(dir.path(), &server, &ManualClock::new(T0)));
    for i in 0..50 {
        sdk.track(Event::new(format!("before_{i}"))).unwrap();
    }
    sdk.request_deletion().unwrap();
    for i in 0..5 {
        sdk.track(Event::new(format!("after_{i}"))).unwrap();
    }
    sdk.flush().unwrap();
    let names = server.delivered_names();
    assert_eq!(names, (0..5).map(|i| format!("after_{i}")).collect::<Vec<_>>());
}
