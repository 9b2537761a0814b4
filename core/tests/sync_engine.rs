//! The upload engine driven through the public API against a scripted server: each row of the status table,
//! bisection of poison messages, splitting on 413, backoff and Retry-After on an injected clock.

mod support;

use std::time::Duration;

use footfall_core::sync::CertificateProblem;
use footfall_core::{Event, FlushOutcome, ManualClock, TransportError};
use serde_json::json;
use support::*;

fn track_n(sdk: &footfall_core::Footfall, prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| sdk.track(Event::new(format!("{prefix}{i}")).properties(json!({"i": i}))).unwrap().to_string())
        .collect()
}

#[test]
fn delivered_batches_are_deleted_and_ids_arrive_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    let ids = track_n(&sdk, "e", 250);
    let report = sdk.flush().unwrap();
    assert_eq!((report.delivered, report.remaining, report.outcome), (250, 0, FlushOutcome::Drained));
    assert_eq!(server.request_count(), 3, "batches of at most 100");
    let delivered: Vec<String> =
        server.delivered().iter().map(|m| m["messageId"].as_str().unwrap().to_string()).collect();
    assert_eq!(delivered, ids);
    let seqs: Vec<i64> = server.delivered().iter().map(|m| m["context"]["footfall"]["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let status = sdk.status().unwrap();
    assert_eq!((status.pending, status.in_flight, status.delivered, status.tracked), (0, 0, 250, 250));
    assert!(status.last_successful_sync.is_some());
}

#[test]
fn requests_carry_protocol_headers_and_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    track_n(&sdk, "e", 1);
    sdk.flush().unwrap();
    let seen = server.seen.lock().unwrap();
    let request = &seen[0].request;
    assert_eq!(request.url, "https://collector.test/v1/batch");
    let header = |n: &str| request.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.clone());
    assert_eq!(header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(header("x-footfall-protocol").as_deref(), Some("1"));
    // base64("key-1:")
    assert_eq!(header("authorization").as_deref(), Some("Basic a2V5LTE6"));
    assert_eq!(seen[0].body["sentAt"], "2026-11-18T11:06:40.000Z");
}

#[test]
fn a_poison_event_is_bisected_into_dead_letters_and_the_rest_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|body, _| {
        if names(body).iter().any(|n| n == "poison") {
            ok(400, r#"{"error":{"code":"invalid_event","message":"event name 'poison' is rejected"}}"#)
        } else {
            ok(200, "{}")
        }
    });
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    track_n(&sdk, "good", 7);
    let poison = sdk.track(Event::new("poison")).unwrap();
    track_n(&sdk, "fine", 8);
    let report = sdk.flush().unwrap();
    assert_eq!((report.delivered, report.dead_lettered, report.remaining), (15, 1, 0));
    assert!(!server.delivered_names().contains(&"poison".to_string()));
    assert_eq!(server.delivered().len(), 15);
    assert!(
        server.request_count() <= 1 + 2 * 4,
        "bisection costs about 2·log2(n) requests, got {}",
        server.request_count()
    );
    let dead = sdk.dead_letters(10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].id, dead[0].status), (poison, Some(400)));
    assert_eq!(dead[0].reason, "HTTP 400: event name 'poison' is rejected");
    assert_eq!(sdk.status().unwrap().dead_lettered, 1);
}

#[test]
fn payload_too_large_splits_and_dead_letters_only_what_cannot_fit() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|body, _| {
        let batch = body["batch"].as_array().unwrap();
        let huge = batch.iter().any(|m| m["properties"]["blob"].is_string());
        if batch.len() > 3 || huge {
            ok(413, "")
        } else {
            ok(200, "{}")
        }
    });
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    track_n(&sdk, "e", 10);
    sdk.track(Event::new("big").properties(json!({"blob": "x".repeat(30_000)}))).unwrap();
    let report = sdk.flush().unwrap();
    assert_eq!((report.delivered, report.dead_lettered, report.remaining), (10, 1, 0));
    assert_eq!(sdk.dead_letters(1).unwrap()[0].status, Some(413));
}

#[test]
fn transient_failures_keep_everything_and_back_off_exponentially() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, _| ok(503, ""));
    let clock = ManualClock::new(T0);
    let sdk = open(dir.path(), &server, &clock);
    let ids = track_n(&sdk, "e", 5);
    let mut ceilings = Vec::new();
    for attempt in 1..=6u32 {
        let report = sdk.flush().unwrap();
        let FlushOutcome::RetryLater { after, .. } = report.outcome else { panic!("{report:?}") };
        let ceiling = Duration::from_secs(1 << (attempt - 1));
        assert!(after <= ceiling, "attempt {attempt}: {after:?} above {ceiling:?}");
        ceilings.push(after);
        assert_eq!(report.remaining, 5);
    }
    assert!(ceilings.iter().any(|d| *d > Duration::from_secs(1)), "the window grows: {ceilings:?}");
    let status = sdk.status().unwrap();
    assert_eq!((status.pending, status.in_flight, status.retries), (5, 0, 6), "leases are released on failure");
    assert_eq!(status.last_error.as_deref(), Some("HTTP 503"));

    server.set_rule(|_, _| ok(200, "{}"));
    assert_eq!(sdk.flush().unwrap().outcome, FlushOutcome::Drained);
    let ids_sent: Vec<String> = server.delivered().iter().map(|m| m["messageId"].as_str().unwrap().into()).collect();
    assert_eq!(ids_sent, ids, "ids never change across retries");
    let sent_at: Vec<String> = server.bodies().iter().map(|b| b["sentAt"].as_str().unwrap().into()).collect();
    assert_eq!(sent_at.len(), 7);
}

#[test]
fn sent_at_is_stamped_per_attempt_while_timestamp_stays() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, i| if i == 0 { ok(500, "") } else { ok(200, "{}") });
    let clock = ManualClock::new(T0);
    let sdk = open(dir.path(), &server, &clock);
    track_n(&sdk, "e", 1);
    sdk.flush().unwrap();
    clock.advance_ms(90_000);
    sdk.flush().unwrap();
    let bodies = server.bodies();
    assert_eq!(bodies[0]["sentAt"], "2026-11-18T11:06:40.000Z");
    assert_eq!(bodies[1]["sentAt"], "2026-11-18T11:08:10.000Z");
    assert_eq!(bodies[0]["batch"][0]["timestamp"], bodies[1]["batch"][0]["timestamp"]);
}

#[test]
fn retry_after_holds_back_even_an_explicit_flush() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, i| if i == 0 { with_header(429, "Retry-After", "30") } else { ok(200, "{}") });
    let clock = ManualClock::new(T0);
    let sdk = open(dir.path(), &server, &clock);
    track_n(&sdk, "e", 3);
    let report = sdk.flush().unwrap();
    assert!(
        matches!(report.outcome, FlushOutcome::Held { after, .. } if after == Duration::from_secs(30)),
        "{report:?}"
    );
    clock.advance_ms(29_000);
    let report = sdk.flush().unwrap();
    assert!(
        matches!(report.outcome, FlushOutcome::Held { after, .. } if after == Duration::from_secs(1)),
        "{report:?}"
    );
    assert_eq!(server.request_count(), 1, "nothing is sent before the server's Retry-After");
    clock.advance_ms(1_000);
    assert_eq!(sdk.flush().unwrap().delivered, 3);
}

#[test]
fn auth_failures_pause_and_keep_data_until_the_next_explicit_flush() {
    for status in [401, 403, 404] {
        let dir = tempfile::tempdir().unwrap();
        let server =
            FakeServer::new(move |_, _| ok(status, r#"{"error":{"code":"unauthorized","message":"bad key"}}"#));
        let sdk = open(dir.path(), &server, &ManualClock::new(T0));
        track_n(&sdk, "e", 4);
        let report = sdk.flush().unwrap();
        assert_eq!(report.outcome, FlushOutcome::Paused { reason: format!("HTTP {status}: bad key") });
        assert_eq!((report.remaining, sdk.status().unwrap().dead_lettered), (4, 0));
        server.set_rule(|_, _| ok(200, "{}"));
        assert_eq!(sdk.flush().unwrap().delivered, 4);
    }
}

#[test]
fn network_errors_and_timeouts_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, i| match i {
        0 => Err(TransportError::Connect("connection refused".into())),
        1 => Err(TransportError::Io("connection reset by peer".into())),
        _ => ok(200, "{}"),
    });
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    track_n(&sdk, "e", 2);
    assert!(
        matches!(sdk.flush().unwrap().outcome, FlushOutcome::RetryLater { reason, .. } if reason.contains("refused"))
    );
    assert!(
        matches!(sdk.flush().unwrap().outcome, FlushOutcome::RetryLater { reason, .. } if reason.contains("reset"))
    );
    assert_eq!(sdk.flush().unwrap().delivered, 2);
}

/// A transport that never answers: the SDK's own deadline must fire.
struct Hanging;

#[async_trait::async_trait]
impl footfall_core::HttpTransport for Hanging {
    async fn send(&self, _: footfall_core::HttpRequest) -> Result<footfall_core::HttpResponse, TransportError> {
        std::future::pending().await
    }
}

#[test]
fn a_transport_that_hangs_is_timed_out_by_the_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = manual_config(dir.path());
    config.retry.request_timeout = Duration::from_millis(50);
    let sdk = footfall_core::Footfall::builder(config).transport(std::sync::Arc::new(Hanging)).open().unwrap();
    sdk.track(Event::new("e")).unwrap();
    let report = sdk.flush().unwrap();
    assert!(
        matches!(report.outcome, FlushOutcome::RetryLater { ref reason, .. } if reason == "request timed out"),
        "{report:?}"
    );
    assert_eq!(report.remaining, 1);
}

#[test]
fn server_reported_duplicates_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, _| ok(200, r#"{"accepted":1,"duplicates":2}"#));
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    track_n(&sdk, "e", 3);
    assert_eq!(sdk.flush().unwrap().duplicates, 2);
    assert_eq!(sdk.status().unwrap().duplicates_reported, 2);
}

#[test]
fn count_threshold_triggers_a_background_upload() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let arrived = server.on_request();
    let mut config = manual_config(dir.path());
    config.flush.automatic = true;
    config.flush.count_threshold = 5;
    config.flush.on_start = false;
    config.flush.interval = Duration::from_secs(3600);
    let sdk = open_with(config, &server, &ManualClock::new(T0));
    track_n(&sdk, "e", 4);
    sdk.flush_to_disk().unwrap();
    assert_eq!(server.request_count(), 0, "below the threshold nothing is sent");
    track_n(&sdk, "e", 1);
    wait_for(&arrived, "the threshold upload");
    assert_eq!(server.delivered().len(), 5);
}

#[test]
fn pending_events_are_uploaded_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    {
        let sdk = footfall_core::Footfall::open(local_config(dir.path())).unwrap();
        sdk.track(Event::new("left_over")).unwrap();
        sdk.close();
    }
    let server = FakeServer::accepting();
    let arrived = server.on_request();
    let mut config = manual_config(dir.path());
    config.flush.automatic = true;
    config.flush.interval = Duration::from_secs(3600);
    let _sdk = open_with(config, &server, &ManualClock::new(T0));
    wait_for(&arrived, "the start-up upload");
    assert_eq!(server.delivered_names(), vec!["left_over"]);
}

/// Automatic uploads whose only trigger is the count threshold: the injected clock never moves, so neither the
/// interval nor a backoff ends on its own.
fn on_threshold_only(dir: &std::path::Path) -> footfall_core::Config {
    let mut config = manual_config(dir);
    config.flush.automatic = true;
    config.flush.count_threshold = 3;
    config.flush.on_start = false;
    config.flush.interval = Duration::from_secs(3600);
    config
}

#[test]
fn the_network_coming_back_retries_at_once_instead_of_waiting_out_the_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, i| {
        if i == 0 {
            Err(TransportError::Connect("network is unreachable".into()))
        } else {
            ok(200, "{}")
        }
    });
    let arrived = server.on_request();
    let sdk = open_with(on_threshold_only(dir.path()), &server, &ManualClock::new(T0));
    let ids = track_n(&sdk, "e", 3);
    wait_for(&arrived, "the threshold upload, which finds no network");
    sdk.network_available().unwrap();
    wait_for(&arrived, "the retry the network's return set off");
    let delivered: Vec<String> =
        server.delivered().iter().map(|m| m["messageId"].as_str().unwrap().to_string()).collect();
    assert_eq!(delivered, ids);
}

#[test]
fn the_network_coming_back_leaves_the_servers_retry_after_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, i| if i == 0 { with_header(503, "Retry-After", "60") } else { ok(200, "{}") });
    let arrived = server.on_request();
    let sdk = open_with(on_threshold_only(dir.path()), &server, &ManualClock::new(T0));
    track_n(&sdk, "e", 3);
    wait_for(&arrived, "the threshold upload, which the server holds back");
    sdk.network_available().unwrap();
    // The loop answers flushes before it looks at the network, so the second flush returns only after the pass
    // the network's return set off.
    for _ in 0..2 {
        let report = sdk.flush().unwrap();
        assert!(matches!(report.outcome, FlushOutcome::Held { .. }), "{report:?}");
    }
    assert_eq!(server.request_count(), 1, "nothing is sent before the server's Retry-After");
}

#[test]
fn the_network_coming_back_ends_the_wait_after_a_certificate_a_captive_portal_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, i| {
        if i == 0 {
            // The café's portal answers for the collector with its own certificate.
            Err(TransportError::Certificate(CertificateProblem::UnknownIssuer))
        } else {
            ok(200, "{}")
        }
    });
    let arrived = server.on_request();
    let sdk = open_with(on_threshold_only(dir.path()), &server, &ManualClock::new(T0));
    track_n(&sdk, "e", 3);
    wait_for(&arrived, "the threshold upload, refused by the portal's certificate");
    sdk.network_available().unwrap();
    wait_for(&arrived, "the retry on the next network");
    assert_eq!(server.delivered().len(), 3);
}
