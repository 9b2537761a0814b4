//! The SDK over its real HTTPS/HTTP transport against the reference collector on 127.0.0.1, one test per row of
//! the status table and per network failure. Time-based decisions use an injected clock; nothing sleeps.

use std::time::Duration;

use footfall_collector::{self as collector, FaultConfig, ScriptedFault};
use footfall_core::{Config, Error, Event, FlushOutcome, FlushPolicy, Footfall, ManualClock, SeededRandom};
use footfall_tests::collector_in;
use serde_json::json;

const T0: i64 = 1_795_000_000_000;

fn config(dir: &std::path::Path, endpoint: String) -> Config {
    let mut config = Config::new(dir.join("app")).with_endpoint(endpoint);
    config.flush = FlushPolicy { automatic: false, ..FlushPolicy::default() };
    // Network faults on the event lane: the collector's injected faults and request counts must see event
    // uploads only (consent has its own cross-process suites: consent_cli, consent_flow_cli, receipts, rights).
    config.enforce_consent = false;
    config.consent_refresh_interval = None;
    config
}

fn sdk(config: Config, clock: &std::sync::Arc<ManualClock>) -> Footfall {
    Footfall::builder(config).clock(clock.clone()).random(SeededRandom::new(1)).open().unwrap()
}

fn track(sdk: &Footfall, n: usize, name: &str) -> Vec<String> {
    (0..n).map(|i| sdk.track(Event::new(name).properties(json!({"i": i}))).unwrap().to_string()).collect()
}

fn stored_ids(c: &collector::Collector) -> Vec<String> {
    c.events().unwrap().into_iter().map(|e| e.id).collect()
}

#[test]
fn server_errors_are_retried_until_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |_| {});
    c.script(vec![
        ScriptedFault::Status { status: 500, retry_after: None },
        ScriptedFault::Status { status: 503, retry_after: None },
    ]);
    let sdk = sdk(config(dir.path(), c.base_url()), &ManualClock::new(T0));
    let ids = track(&sdk, 30, "viewed");
    assert!(
        matches!(sdk.flush().unwrap().outcome, FlushOutcome::RetryLater { reason, .. } if reason.starts_with("HTTP 500"))
    );
    assert!(
        matches!(sdk.flush().unwrap().outcome, FlushOutcome::RetryLater { reason, .. } if reason.starts_with("HTTP 503"))
    );
    assert_eq!(sdk.flush().unwrap().outcome, FlushOutcome::Drained);
    assert_eq!(stored_ids(&c), ids);
    let stats = c.stats().unwrap();
    assert_eq!((stats.events, stats.duplicates), (30, 0));
}

#[test]
fn too_many_requests_with_retry_after_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |_| {});
    c.script(vec![ScriptedFault::Status { status: 429, retry_after: Some("5".into()) }]);
    let clock = ManualClock::new(T0);
    let sdk = sdk(config(dir.path(), c.base_url()), &clock);
    track(&sdk, 3, "viewed");
    let first = sdk.flush().unwrap();
    assert!(matches!(first.outcome, FlushOutcome::Held { after, .. } if after == Duration::from_secs(5)), "{first:?}");
    let requests = c.requests();
    sdk.flush().unwrap();
    assert_eq!(c.requests(), requests, "no request before Retry-After has passed");
    clock.advance_ms(5_000);
    assert_eq!(sdk.flush().unwrap().delivered, 3);
}

#[test]
fn a_timeout_after_the_server_stored_the_batch_is_resent_and_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |_| {});
    c.script(vec![ScriptedFault::Delay { ms: 3_000 }]);
    let mut config = config(dir.path(), c.base_url());
    config.retry.request_timeout = Duration::from_millis(300);
    let sdk = sdk(config, &ManualClock::new(T0));
    let ids = track(&sdk, 10, "viewed");
    let report = sdk.flush().unwrap();
    assert!(
        matches!(report.outcome, FlushOutcome::RetryLater { ref reason, .. } if reason.contains("timed out")),
        "{report:?}"
    );
    let report = sdk.flush().unwrap();
    assert_eq!((report.delivered, report.duplicates), (10, 10));
    let stats = c.stats().unwrap();
    assert_eq!((stats.events, stats.duplicates), (10, 10), "stored once, the re-send counted as duplicates");
    assert_eq!(stored_ids(&c), ids);
}

#[test]
fn a_dropped_connection_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |_| {});
    c.script(vec![ScriptedFault::DropConnection]);
    let sdk = sdk(config(dir.path(), c.base_url()), &ManualClock::new(T0));
    track(&sdk, 5, "viewed");
    let report = sdk.flush().unwrap();
    assert!(matches!(report.outcome, FlushOutcome::RetryLater { .. }), "{report:?}");
    assert_eq!(sdk.status().unwrap().pending, 5);
    assert_eq!(sdk.flush().unwrap().delivered, 5);
    assert_eq!(c.stats().unwrap().events, 5);
}

#[test]
fn a_refused_connection_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sdk = sdk(config(dir.path(), format!("http://127.0.0.1:{port}")), &ManualClock::new(T0));
    track(&sdk, 2, "viewed");
    let report = sdk.flush().unwrap();
    assert!(matches!(report.outcome, FlushOutcome::RetryLater { .. }), "{report:?}");
    assert_eq!(report.remaining, 2);
}

#[test]
fn a_poison_event_in_a_400_batch_is_dead_lettered_with_the_servers_reason() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |c| c.reject_event_names = vec!["poison".into()]);
    let sdk = sdk(config(dir.path(), c.base_url()), &ManualClock::new(T0));
    let mut good = track(&sdk, 40, "viewed");
    let poison = sdk.track(Event::new("poison")).unwrap();
    good.extend(track(&sdk, 59, "viewed"));
    let report = sdk.flush().unwrap();
    assert_eq!((report.delivered, report.dead_lettered, report.remaining), (99, 1, 0));
    let mut stored = stored_ids(&c);
    stored.sort();
    good.sort();
    assert_eq!(stored, good);
    let dead = sdk.dead_letters(5).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].id, dead[0].status), (poison, Some(400)));
    assert!(dead[0].reason.starts_with("HTTP 400: ") && dead[0].reason.contains("poison"), "{}", dead[0].reason);
}

#[test]
fn payload_too_large_is_split_until_it_fits() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |c| c.max_body_bytes = 8 * 1024);
    let sdk = sdk(config(dir.path(), c.base_url()), &ManualClock::new(T0));
    let ids = track(&sdk, 100, "viewed");
    let huge = sdk.track(Event::new("huge").properties(json!({"blob": "x".repeat(20_000)}))).unwrap();
    let report = sdk.flush().unwrap();
    assert_eq!((report.delivered, report.dead_lettered), (100, 1));
    assert_eq!(stored_ids(&c).len(), ids.len());
    let dead = sdk.dead_letters(1).unwrap();
    assert_eq!((dead[0].id, dead[0].status), (huge, Some(413)));
}

#[test]
fn a_wrong_api_key_pauses_and_keeps_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |c| c.api_key = Some("right".into()));
    let clock = ManualClock::new(T0);
    let wrong = config(dir.path(), c.base_url()).with_api_key("wrong");
    {
        let sdk = sdk(wrong, &clock);
        track(&sdk, 4, "viewed");
        let report = sdk.flush().unwrap();
        assert!(
            matches!(report.outcome, FlushOutcome::Paused { ref reason } if reason.starts_with("HTTP 401")),
            "{report:?}"
        );
        assert_eq!(report.remaining, 4);
    }
    let sdk = sdk(config(dir.path(), c.base_url()).with_api_key("right"), &clock);
    assert_eq!(sdk.flush().unwrap().delivered, 4);
}

#[test]
fn a_flaky_network_still_delivers_everything_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |c| {
        c.faults = FaultConfig { fail_rate: 0.5, fail_status: 502, seed: 3, ..FaultConfig::default() }
    });
    let sdk = sdk(config(dir.path(), c.base_url()), &ManualClock::new(T0));
    let mut ids = track(&sdk, 500, "viewed");
    for _ in 0..200 {
        if sdk.flush().unwrap().outcome == FlushOutcome::Drained {
            break;
        }
    }
    let mut stored = stored_ids(&c);
    assert_eq!(stored.len(), 500);
    stored.sort();
    ids.sort();
    assert_eq!(stored, ids);
    assert!(sdk.status().unwrap().retries > 0);
}

#[test]
fn https_with_a_pinned_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (tls, ca_pem) = collector::self_signed_for_localhost();
    let c = collector_in(dir.path(), |c| c.tls = Some(tls));
    assert!(c.base_url().starts_with("https://"));
    let mut trusted = config(dir.path(), c.base_url());
    trusted.extra_root_certs_pem = vec![ca_pem];
    let sdk = sdk(trusted, &ManualClock::new(T0));
    track(&sdk, 3, "viewed");
    assert_eq!(sdk.flush().unwrap().delivered, 3);
    sdk.close();

    // Without the CA the certificate is not trusted: nothing is sent, nothing is lost, and the lane pauses
    // (tests/transport.rs covers each certificate problem).
    let untrusted = sdk_without_ca(dir.path(), c.base_url());
    untrusted.track(Event::new("viewed")).unwrap();
    let report = untrusted.flush().unwrap();
    assert!(
        matches!(&report.outcome, FlushOutcome::Paused { reason } if reason.contains("unknown issuer")),
        "{report:?}"
    );
    assert_eq!(c.stats().unwrap().events, 3);
}

fn sdk_without_ca(dir: &std::path::Path, url: String) -> Footfall {
    let mut config = config(&dir.join("other"), url);
    config.data_dir = dir.join("other-app");
    Footfall::builder(config).open().unwrap()
}

#[test]
fn plain_http_to_a_remote_host_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let err = Footfall::open(Config::new(dir.path()).with_endpoint("http://collector.example.com")).err().unwrap();
    assert!(matches!(err, Error::Config(ref m) if m.contains("use https")), "{err}");
}
