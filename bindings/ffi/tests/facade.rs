//! The facade from Rust, as the generated bindings drive it: the foreign traits implemented in Rust carry uploads
//! and hear events, errors map onto the one error enum, and the transport feature decides what opening needs.

use std::sync::{Arc, Mutex};

use footfall_ffi::consent_records::{ConsentMethod, Jurisdiction, PromptReason, RightsState};
use footfall_ffi::{
    EventListener, FlushOutcome, FlushPolicy, Footfall, FootfallConfig, FootfallError, FootfallEvent, HttpHeader,
    HttpRequest, HttpResponse, HttpTransport,
};

fn config(dir: &std::path::Path, endpoint: Option<&str>) -> FootfallConfig {
    let mut config = footfall_ffi::config::default_config(dir.to_string_lossy().into_owned());
    config.endpoint = endpoint.map(str::to_string);
    config.flush_policy = FlushPolicy { automatic: false, ..FlushPolicy::default() };
    // The transport and error tests count requests: no start-up policy fetch, no consent receipts. The consent
    // test below turns gating back on.
    config.consent.enforce = false;
    config.consent.policy_refresh_interval_ms = 0;
    config
}

/// Answers each request with the next status of a script (the last one repeats) and records what it saw.
struct Scripted {
    statuses: Mutex<Vec<i32>>,
    seen: Mutex<Vec<HttpRequest>>,
}

impl Scripted {
    fn new(statuses: &[i32]) -> Arc<Self> {
        Arc::new(Scripted { statuses: Mutex::new(statuses.to_vec()), seen: Mutex::new(Vec::new()) })
    }
}

#[async_trait::async_trait]
impl HttpTransport for Scripted {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, FootfallError> {
        self.seen.lock().unwrap().push(request);
        let mut statuses = self.statuses.lock().unwrap();
        let status = if statuses.len() > 1 { statuses.remove(0) } else { statuses[0] };
        if status == 0 {
            return Err(FootfallError::Network { reason: "connection refused".into() });
        }
        let body = if (200..300).contains(&status) { b"{}".to_vec() } else { Vec::new() };
        Ok(HttpResponse {
            status,
            headers: vec![HttpHeader { name: "Content-Type".into(), value: "application/json".into() }],
            body,
        })
    }
}

#[derive(Default)]
struct Events(Mutex<Vec<FootfallEvent>>);

impl EventListener for Events {
    fn on_event(&self, event: FootfallEvent) -> Result<(), FootfallError> {
        self.0.lock().unwrap().push(event);
        Ok(())
    }
}

#[tokio::test]
async fn a_foreign_transport_carries_uploads_and_the_listener_hears_each_pass() {
    let dir = tempfile::tempdir().unwrap();
    let transport = Scripted::new(&[0, 503, 200]);
    let events = Arc::new(Events::default());
    let sdk = Footfall::new(
        config(dir.path(), Some("https://collector.test")),
        Some(transport.clone()),
        Some(events.clone()),
        None,
        None,
    )
    .unwrap();
    let id = sdk.track("product_viewed".into(), r#"{"sku":"1"}"#.into(), Some("marketing".into())).unwrap();
    assert_eq!(id.len(), 36, "a hyphenated UUID: {id}");

    let report = sdk.flush().await.unwrap();
    assert!(
        matches!(&report.outcome, FlushOutcome::RetryLater { reason, .. } if reason.contains("connection refused")),
        "{report:?}"
    );
    let report = sdk.flush().await.unwrap();
    assert!(
        matches!(&report.outcome, FlushOutcome::RetryLater { reason, after_ms } if reason == "HTTP 503" && *after_ms > 0),
        "{report:?}"
    );
    let report = sdk.flush().await.unwrap();
    assert_eq!((report.delivered, report.remaining, report.outcome), (1, 0, FlushOutcome::Drained));

    let seen = transport.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].url, "https://collector.test/v1/batch");
    assert_eq!(seen[0].timeout_ms, 30_000);
    assert!(seen[0].headers.iter().any(|h| h.name == "Content-Encoding" && h.value == "gzip"));
    let events = events.0.lock().unwrap().clone();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        matches!(&events[0], FootfallEvent::RetryScheduled { reason, .. } if reason.contains("connection refused"))
    );
    assert!(matches!(&events[1], FootfallEvent::RetryScheduled { reason, .. } if reason == "HTTP 503"));
    assert_eq!(events[2], FootfallEvent::Delivered { count: 1, duplicates: 0 });
    let status = sdk.status().unwrap();
    assert_eq!((status.tracked, status.delivered, status.retries), (1, 1, 2));
}

#[tokio::test]
async fn errors_map_onto_the_one_enum_and_close_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = Footfall::new(config(dir.path(), None), None, None, None, None).unwrap();
    assert!(matches!(sdk.track(String::new(), "{}".into(), None), Err(FootfallError::InvalidInput { .. })));
    assert!(
        matches!(sdk.track("e".into(), "[]".into(), None), Err(FootfallError::InvalidInput { reason }) if reason.contains("object"))
    );
    assert!(matches!(sdk.identify("u".into(), "nope".into()), Err(FootfallError::InvalidInput { .. })));
    assert!(matches!(sdk.flush().await, Err(FootfallError::Config { .. })), "no endpoint, nothing to flush to");
    sdk.track("kept".into(), "{}".into(), None).unwrap();
    let event = |props: &str| footfall_ffi::TrackedEvent {
        name: "kept_too".into(),
        properties_json: props.into(),
        purpose: None,
    };
    assert!(
        matches!(sdk.track_event(event("[]")), Err(FootfallError::InvalidInput { reason }) if reason.contains("object"))
    );
    assert_eq!(sdk.track_event(event(r#"{"a":1}"#)).unwrap().len(), 36);
    sdk.flush_to_disk().unwrap();
    assert_eq!(sdk.status().unwrap().pending, 2);
    sdk.close();
    sdk.close();
    assert_eq!(sdk.track("e".into(), "{}".into(), None), Err(FootfallError::Closed));
    assert_eq!(sdk.status().err(), Some(FootfallError::Closed));
    assert_eq!(sdk.flush().await.err(), Some(FootfallError::Closed));
    assert_eq!(sdk.dead_letters(10).err(), Some(FootfallError::Closed));
}

#[test]
fn an_unexpected_foreign_exception_becomes_the_callback_variant() {
    let e: FootfallError = uniffi::UnexpectedUniFFICallbackError::new("java.lang.IllegalStateException: bug").into();
    assert_eq!(e, FootfallError::Callback { reason: "java.lang.IllegalStateException: bug".into() });
}

#[cfg(feature = "reqwest-transport")]
#[test]
fn with_the_builtin_transport_no_foreign_one_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = Footfall::new(config(dir.path(), Some("https://collector.test")), None, None, None, None).unwrap();
    sdk.close();
}

#[cfg(not(feature = "reqwest-transport"))]
#[test]
fn without_the_builtin_transport_an_endpoint_needs_a_foreign_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = Footfall::new(config(dir.path(), Some("https://collector.test")), None, None, None, None)
        .err()
        .expect("refused");
    // A typed Config error (Kotlin FootfallException.Config, Swift FootfallError.config) that says what to do.
    assert_eq!(err, FootfallError::Config { reason: footfall_core::sdk::NO_BUILTIN_TRANSPORT.into() });
    // Recording without an endpoint, or uploading through the app's transport, still works.
    Footfall::new(config(dir.path(), None), None, None, None, None).unwrap().close();
    Footfall::new(config(dir.path(), Some("https://collector.test")), Some(Scripted::new(&[200])), None, None, None)
        .unwrap()
        .close();
}

#[tokio::test]
async fn consent_and_rights_through_the_facade() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), None);
    config.consent.enforce = true;
    config.app_version = "3.1.0".into();
    let events = Arc::new(Events::default());
    let sdk = Footfall::new(config, None, Some(events.clone()), None, None).unwrap();
    sdk.flush_to_disk().unwrap();
    let status = sdk.consent_status().unwrap();
    assert!(status.enforced && !status.tcf_import && !status.opt_out_mode);
    assert_eq!(status.jurisdiction, Jurisdiction::Unknown);
    assert_eq!(
        sdk.track("viewed".into(), "{}".into(), None),
        Err(FootfallError::ConsentDenied { purpose: "analytics".into() })
    );
    assert_eq!(sdk.needs_prompt().unwrap().reason, PromptReason::NoDecision);

    sdk.prompt_shown("main".into()).unwrap();
    let granted = sdk.grant(vec!["analytics".into()], ConsentMethod::Prompt { prompt_id: "main".into() }).unwrap();
    assert_eq!(granted.now_allowed, vec!["analytics"]);
    sdk.track("viewed".into(), "{}".into(), None).unwrap();
    assert!(sdk.is_allowed("analytics".into()).unwrap());
    assert!(sdk.consent_status().unwrap().google_consent_mode.analytics_storage);
    let withdrawn = sdk.deny(vec!["analytics".into()], ConsentMethod::Settings).unwrap();
    assert_eq!((withdrawn.purged, withdrawn.now_denied.clone()), (1, vec!["analytics".to_string()]));
    let heard: Vec<FootfallEvent> = events.0.lock().unwrap().clone();
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert!(
        matches!(&heard[1], FootfallEvent::ConsentChanged { purged: 1, now_denied, .. } if now_denied == &vec!["analytics".to_string()])
    );

    let log = sdk.consent_log().unwrap();
    assert!(log.verified);
    assert_eq!(log.records.len(), 3, "prompt shown, grant, withdrawal");
    assert_eq!(log.records[1].method, ConsentMethod::Prompt { prompt_id: "main".into() });
    assert_eq!(log.records[1].app_version, "3.1.0");
    assert_eq!(log.records[2].prev_hash, log.records[1].hash);

    // Only importTcf may record a TCF import, and only in TCF import mode.
    let claimed = sdk.grant(vec!["analytics".into()], ConsentMethod::TcfImport { cmp_id: 1 });
    assert!(matches!(claimed, Err(FootfallError::InvalidInput { .. })));
    assert!(matches!(
        sdk.import_tcf(Some("CP-x2RrP-x2RrEsACBENDXEAAAAAAAAAAAAAAAAAAAAA".into()), None),
        Err(FootfallError::Config { .. })
    ));
    assert!(matches!(sdk.apply_consent_policy("{".into()), Err(FootfallError::Config { .. })));

    let export: serde_json::Value = serde_json::from_str(&sdk.export_data().unwrap()).unwrap();
    assert_eq!(export["consent"]["records"].as_array().unwrap().len(), 3);
    let request = sdk.request_deletion().unwrap();
    let requests = sdk.rights_requests().unwrap();
    assert_eq!((requests[0].request_id.as_str(), requests[0].state), (request.as_str(), RightsState::Received));
    sdk.close();
    assert_eq!(sdk.track("viewed".into(), "{}".into(), None), Err(FootfallError::Closed), "closed comes first");
}

#[tokio::test]
async fn tcf_import_mode_through_the_facade() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), None);
    config.consent.enforce = true;
    config.consent.tcf_import = true;
    let sdk = Footfall::new(config, None, None, None, None).unwrap();
    // @iabtcf/core's encoding of a string with TCF purposes 1-11 consented (tests/tcf-vectors: core-range-vendors).
    let tc = "CP-x2RrP-x2RrEsACBENDXEAAP_gAAAAAAAAJYQA4AAgSxAyAD6AJYAV5ABgBkBXgAAA";
    let import = sdk.import_tcf(Some(tc.into()), Some(true)).unwrap();
    assert_eq!(import.result, footfall_ffi::consent_records::TcfImportResult::Recorded);
    assert_eq!(import.decisions.get("analytics"), Some(&true));
    assert!(sdk.consent_status().unwrap().tcf_import);
    assert!(
        matches!(sdk.grant(vec!["marketing".into()], ConsentMethod::Api), Err(FootfallError::InvalidInput { reason }) if reason.contains("CMP"))
    );
    let log = sdk.consent_log().unwrap();
    assert!(matches!(log.records[0].method, ConsentMethod::TcfImport { cmp_id: 300 }));
    sdk.close();
}
