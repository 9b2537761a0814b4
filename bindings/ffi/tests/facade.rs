//! The facade from Rust, as the generated bindings drive it: the foreign traits implemented in Rust carry uploads
//! and hear events, errors map onto the one error enum, and the transport feature decides what opening needs.

use std::sync::{Arc, Mutex};

use footfall_ffi::{
    EventListener, FlushOutcome, FlushPolicy, Footfall, FootfallConfig, FootfallError, FootfallEvent, HttpHeader,
    HttpRequest, HttpResponse, HttpTransport,
};

fn config(dir: &std::path::Path, endpoint: Option<&str>) -> FootfallConfig {
    let mut config = footfall_ffi::config::default_config(dir.to_string_lossy().into_owned());
    config.endpoint = endpoint.map(str::to_string);
    config.flush_policy = FlushPolicy { automatic: false, ..FlushPolicy::default() };
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
        Ok(HttpResponse { status, headers: vec![HttpHeader { name: "Content-Type".into(), value: "application/json".into() }], body })
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
    let sdk = Footfall::new(config(dir.path(), Some("https://collector.test")), Some(transport.clone()), Some(events.clone())).unwrap();
    let id = sdk.track("product_viewed".into(), r#"{"sku":"1"}"#.into(), Some("marketing".into())).unwrap();
    assert_eq!(id.len(), 36, "a hyphenated UUID: {id}");

    let report = sdk.flush().await.unwrap();
    assert!(matches!(&report.outcome, FlushOutcome::RetryLater { reason, .. } if reason.contains("connection refused")), "{report:?}");
    let report = sdk.flush().await.unwrap();
    assert!(matches!(&report.outcome, FlushOutcome::RetryLater { reason, after_ms } if reason == "HTTP 503" && *after_ms > 0), "{report:?}");
    let report = sdk.flush().await.unwrap();
    assert_eq!((report.delivered, report.remaining, report.outcome), (1, 0, FlushOutcome::Drained));

    let seen = transport.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].url, "https://collector.test/v1/batch");
    assert_eq!(seen[0].timeout_ms, 30_000);
    assert!(seen[0].headers.iter().any(|h| h.name == "Content-Encoding" && h.value == "gzip"));
    let events = events.0.lock().unwrap().clone();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(matches!(&events[0], FootfallEvent::RetryScheduled { reason, .. } if reason.contains("connection refused")));
    assert!(matches!(&events[1], FootfallEvent::RetryScheduled { reason, .. } if reason == "HTTP 503"));
    assert_eq!(events[2], FootfallEvent::Delivered { count: 1, duplicates: 0 });
    let status = sdk.status().unwrap();
    assert_eq!((status.tracked, status.delivered, status.retries), (1, 1, 2));
}

#[tokio::test]
async fn errors_map_onto_the_one_enum_and_close_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = Footfall::new(config(dir.path(), None), None, None).unwrap();
    assert!(matches!(sdk.track(String::new(), "{}".into(), None), Err(FootfallError::InvalidInput { .. })));
    assert!(matches!(sdk.track("e".into(), "[]".into(), None), Err(FootfallError::InvalidInput { reason }) if reason.contains("object")));
    assert!(matches!(sdk.identify("u".into(), "nope".into()), Err(FootfallError::InvalidInput { .. })));
    assert!(matches!(sdk.flush().await, Err(FootfallError::Config { .. })), "no endpoint, nothing to flush to");
    sdk.track("kept".into(), "{}".into(), None).unwrap();
    sdk.flush_to_disk().unwrap();
    assert_eq!(sdk.status().unwrap().pending, 1);
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
    let sdk = Footfall::new(config(dir.path(), Some("https://collector.test")), None, None).unwrap();
    sdk.close();
}

#[cfg(not(feature = "reqwest-transport"))]
#[test]
fn without_the_builtin_transport_an_endpoint_needs_a_foreign_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = Footfall::new(config(dir.path(), Some("https://collector.test")), None, None).err().expect("refused");
    assert!(matches!(&err, FootfallError::Config { reason } if reason.contains("HttpTransport")), "{err:?}");
    // Recording without an endpoint, or uploading through the app's transport, still works.
    Footfall::new(config(dir.path(), None), None, None).unwrap().close();
    Footfall::new(config(dir.path(), Some("https://collector.test")), Some(Scripted::new(&[200])), None).unwrap().close();
}
