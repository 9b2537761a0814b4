//! TCF import mode through the public API: the CMP's TC string decides the mapped purposes, gating and purging
//! follow it, re-importing the same answer records nothing, and Footfall never fights the CMP. Also the
//! `ConsentChanged` event every consent change sends to the listener.

mod support;

use std::sync::{Arc, Mutex};

use footfall_core::consent::record::{Method, RecordKind};
use footfall_core::{
    Config, ConsentSource, Error, Event, Footfall, ManualClock, SdkEvent, SeededRandom, TcfImportResult,
    ValidationError,
};
use support::*;

/// Purposes 1–11 consented, no special feature (so no precise location); CMP 300.
fn everything_but_location() -> String {
    tcf_string("core-range-vendors")
}

/// Nothing consented; CMP 300.
fn nothing() -> String {
    tcf_string("core-minimal")
}

fn tcf_mode(dir: &std::path::Path) -> Config {
    let mut config = manual_config(dir);
    config.enforce_consent = true;
    config.consent_source = ConsentSource::Tcf { vendor_id: None };
    config
}

type Heard = Arc<Mutex<Vec<SdkEvent>>>;

fn open_listening(config: Config, server: &Arc<FakeServer>) -> (Footfall, Heard) {
    let heard: Heard = Arc::default();
    let sink = heard.clone();
    let sdk = Footfall::builder(config)
        .transport(server.clone())
        .clock(ManualClock::new(T0))
        .random(SeededRandom::new(7))
        .listener(Arc::new(move |e: &SdkEvent| sink.lock().unwrap().push(e.clone())))
        .open()
        .unwrap();
    (sdk, heard)
}

fn consent_events(heard: &Heard) -> Vec<SdkEvent> {
    heard.lock().unwrap().iter().filter(|e| matches!(e, SdkEvent::ConsentChanged { .. })).cloned().collect()
}

#[test]
fn the_cmp_answer_gates_collection_and_is_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = open_with(tcf_mode(dir.path()), &server, &ManualClock::new(T0));
    sdk.flush_to_disk().unwrap();
    assert!(matches!(sdk.track(Event::new("viewed")), Err(Error::ConsentDenied { .. })), "default deny before the CMP");

    let import = sdk.import_tcf(Some(&everything_but_location()), Some(true)).unwrap();
    assert_eq!(import.result, TcfImportResult::Recorded);
    assert!(import.decisions["analytics"]);
    assert!(!import.decisions["location"], "no precise-geolocation opt-in");
    assert_eq!(import.outcome.now_allowed, vec!["analytics", "marketing", "personalization"]);
    sdk.track(Event::new("viewed")).unwrap();
    assert!(matches!(sdk.track(Event::new("near_store").purpose("location")), Err(Error::ConsentDenied { .. })));
    sdk.flush().unwrap();
    assert!(server.delivered_names().contains(&"viewed".to_string()));

    // The glue calls again at every start and change notification: the same answer writes nothing.
    let again = sdk.import_tcf(Some(&everything_but_location()), None).unwrap();
    assert_eq!(again.result, TcfImportResult::Unchanged);
    let log = sdk.consent_log().unwrap();
    assert!(log.verified);
    let decisions: Vec<_> = log.records.iter().filter(|r| r.kind == RecordKind::Decision).collect();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].method, Method::TcfImport { cmp_id: 300 });
    assert_eq!(sdk.consent_status().unwrap().source, footfall_core::sdk::ConsentSourceKind::Tcf);

    // An app (Rust callers included) cannot claim a TCF import to decide a purpose the CMP decides.
    let claimed = sdk.set_consent(&[("location", true)], Method::TcfImport { cmp_id: 300 }).unwrap_err();
    assert!(matches!(claimed, Error::InvalidInput(ValidationError::TcfImportMethod)), "{claimed}");
    assert!(!sdk.is_allowed("location").unwrap());
}

#[test]
fn a_withdrawal_in_the_cmp_purges_the_queue_and_is_heard() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let (sdk, heard) = open_listening(tcf_mode(dir.path()), &server);
    sdk.import_tcf(Some(&everything_but_location()), Some(true)).unwrap();
    for _ in 0..3 {
        sdk.track(Event::new("viewed")).unwrap();
    }
    sdk.track(Event::new("ad_seen").purpose("marketing")).unwrap();

    let import = sdk.import_tcf(Some(&nothing()), Some(true)).unwrap();
    assert_eq!(import.result, TcfImportResult::Recorded);
    assert_eq!(import.outcome.purged, 4);
    sdk.flush().unwrap();
    assert!(server.delivered_names().iter().all(|n| n != "viewed" && n != "ad_seen"), "{:?}", server.delivered_names());

    let events = consent_events(&heard);
    assert_eq!(events.len(), 2, "{events:?}");
    let SdkEvent::ConsentChanged { now_denied, purged, record_id, .. } = &events[1] else { unreachable!() };
    assert_eq!(now_denied, &vec!["analytics".to_string(), "marketing".into(), "personalization".into()]);
    assert_eq!(*purged, 4);
    assert!(record_id.is_some());
}

#[test]
fn gdpr_not_applying_a_cleared_string_and_a_bad_string() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = open_with(tcf_mode(dir.path()), &server, &ManualClock::new(T0));

    let skipped = sdk.import_tcf(Some(&everything_but_location()), Some(false)).unwrap();
    assert_eq!(skipped.result, TcfImportResult::GdprDoesNotApply);
    assert!(!sdk.is_allowed("analytics").unwrap());
    assert_eq!(sdk.import_tcf(None, None).unwrap().result, TcfImportResult::Unchanged, "nothing imported to clear");

    sdk.import_tcf(Some(&everything_but_location()), Some(true)).unwrap();
    let before = sdk.consent_log().unwrap().records.len();
    let err = sdk.import_tcf(Some("BOgarbage!"), Some(true)).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(ValidationError::TcString(ref m)) if m.contains("character")), "{err}");
    assert!(sdk.is_allowed("analytics").unwrap(), "a bad string loses nothing");
    assert_eq!(sdk.consent_log().unwrap().records.len(), before);

    // The shopper reset consent in the CMP: it removed the string, so its grants no longer hold.
    let cleared = sdk.import_tcf(Some(""), Some(true)).unwrap();
    assert_eq!(cleared.result, TcfImportResult::Cleared);
    assert!(cleared.decisions.values().all(|g| !g));
    assert!(!sdk.is_allowed("analytics").unwrap());
}

#[test]
fn footfall_does_not_fight_the_cmp() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = open_with(tcf_mode(dir.path()), &server, &ManualClock::new(T0));
    let err = sdk.grant(&["analytics"], Method::Api).unwrap_err();
    assert_eq!(err, Error::InvalidInput(ValidationError::DecidedByCmp("analytics".into())));
    // Purposes TCF does not cover stay Footfall's to ask about.
    let policy = serde_json::json!({"consent": {
        "policyVersion": 1,
        "purposes": [{"id": "analytics"}, {"id": "loyalty_sync"}],
        "prompts": [{"id": "main", "enabled": true, "purposes": ["analytics", "loyalty_sync"]}]
    }});
    sdk.apply_consent_policy(policy.to_string().as_bytes()).unwrap();
    let need = sdk.needs_prompt().unwrap();
    assert_eq!(need.purposes, vec!["loyalty_sync"], "the CMP asks about analytics");
    sdk.grant(&["loyalty_sync"], Method::Api).unwrap();
    assert_eq!(sdk.needs_prompt().unwrap().prompt, None);

    // Outside TCF mode there is nothing to import into.
    let dir = tempfile::tempdir().unwrap();
    let own = open_with(manual_config(dir.path()), &server, &ManualClock::new(T0));
    assert!(matches!(own.import_tcf(Some(&nothing()), None), Err(Error::Config(_))));
}

#[test]
fn every_decision_and_policy_is_heard_once_it_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let mut config = manual_config(dir.path());
    config.enforce_consent = true;
    let (sdk, heard) = open_listening(config, &server);
    sdk.prompt_shown("main").unwrap();
    assert!(consent_events(&heard).is_empty(), "a prompt shown is not a change");
    let outcome = sdk.grant(&["analytics"], Method::Prompt { prompt_id: "main".into() }).unwrap();
    sdk.grant(&["analytics"], Method::Settings).unwrap();
    let events = consent_events(&heard);
    let SdkEvent::ConsentChanged { record_id, now_allowed, now_denied, purged, status } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (record_id, now_allowed.as_slice(), now_denied.len(), *purged),
        (&outcome.record_id, &["analytics".to_string()][..], 0, 0)
    );
    assert!(status.purposes.iter().any(|p| p.id == "analytics" && p.allowed));
    assert_eq!(events.len(), 2, "a repeated grant is still a recorded decision");
    // The last event carries the status the change produced: what consent_status() says now, nothing to re-read.
    let SdkEvent::ConsentChanged { status: latest, .. } = &events[1] else { panic!("{events:?}") };
    assert_eq!(**latest, sdk.consent_status().unwrap());
    let revision = |e: &SdkEvent| match e {
        SdkEvent::ConsentChanged { status, .. } => status.revision,
        other => panic!("{other:?}"),
    };
    assert!(revision(&events[1]) > revision(&events[0]), "later changes carry higher revisions");

    // A policy that switches a prompt on changes nothing allowed, but the app must re-ask `needs_prompt`.
    let policy = r#"{"consent":{"policyVersion":1,"purposes":[{"id":"analytics"},{"id":"loyalty_sync"}],
        "prompts":[{"id":"loyalty","enabled":true,"purposes":["loyalty_sync"]}]}}"#;
    sdk.apply_consent_policy(policy.as_bytes()).unwrap();
    let events = consent_events(&heard);
    let SdkEvent::ConsentChanged { record_id: None, now_allowed, now_denied, purged: 0, status } = &events[2] else {
        panic!("{events:?}")
    };
    assert!(now_allowed.is_empty() && now_denied.is_empty());
    assert_eq!(status.policy_version, 1, "the status inside the event already shows the new policy");
    assert_eq!(sdk.needs_prompt().unwrap().prompt.as_deref(), Some("loyalty"));
}
