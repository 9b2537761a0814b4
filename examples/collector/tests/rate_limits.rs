//! Per-client rate limits on the protocol endpoints: a burst beyond the bucket is `429 rate_limited` with a
//! `Retry-After` that says when the next token is there, refused before the body is read and storing nothing;
//! all endpoints draw on one budget; a wrong key spends none; without a key each address has its own bucket, in a
//! table of bounded size; and the SDK's real upload holds for exactly the `Retry-After` the collector gives. Time
//! is a `ManualClock` the test moves: nothing sleeps.

mod common;

use common::database::database;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use common::{batch, get, track, Conn, Resp, Wire};
use footfall_collector::{Collector, CollectorConfig, Endpoint, RateLimit, Stats};
use footfall_core::{Config, Event, FlushOutcome, Footfall, ManualClock};
use serde_json::json;

/// base64("k:")
const AUTH: &str = "Basic azo=";

/// A collector with the key `k` (unless `adjust` says otherwise) and a rate limit on a clock the test moves.
fn start(
    dir: &tempfile::TempDir,
    per_second: f64,
    burst: u32,
    adjust: impl FnOnce(&mut CollectorConfig, &mut RateLimit),
) -> (Collector, Arc<ManualClock>) {
    let clock = ManualClock::new(1_796_000_000_000);
    let mut limit = RateLimit::new(per_second, burst);
    limit.clock = clock.clone();
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), database(dir.path()));
    config.api_key = Some("k".into());
    adjust(&mut config, &mut limit);
    config.rate_limit = Some(limit);
    (Collector::start(config).expect("collector starts"), clock)
}

fn send_batch(c: &Collector, n: u32) -> Resp {
    let body = batch(vec![track(n, "e")]).to_string();
    Conn::plain(c).send("POST", "/v1/batch", &[("Authorization", AUTH)], body.as_bytes()).unwrap()
}

/// Asserts a 429 in the protocol's error shape, and returns its `Retry-After`.
fn refused(resp: &Resp) -> u64 {
    assert_eq!(resp.status, 429, "{}", String::from_utf8_lossy(&resp.body));
    let body = resp.json();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("retry after")), "{body}");
    assert_eq!(resp.header("content-type"), Some("application/json"));
    resp.header("retry-after").expect("Retry-After").parse().expect("whole seconds")
}

fn events(c: &Collector) -> u64 {
    c.stats().unwrap().events
}

#[test]
fn a_burst_beyond_the_bucket_is_429_with_retry_after_until_the_next_token() {
    let dir = tempfile::tempdir().unwrap();
    // A token every 2 s, 3 at once.
    let (c, clock) = start(&dir, 0.5, 3, |_, _| {});
    for n in 1..=3 {
        assert_eq!(send_batch(&c, n).status, 200, "the burst");
    }
    assert_eq!(refused(&send_batch(&c, 4)), 2, "the next token comes in 2 s");
    clock.advance_ms(1500);
    assert_eq!(refused(&send_batch(&c, 4)), 1, "0.5 s left is rounded up to 1 s, never 0");
    clock.advance_ms(500);
    assert_eq!(send_batch(&c, 4).status, 200, "the token is there when Retry-After said");
    assert_eq!(refused(&send_batch(&c, 5)), 2, "one token, spent: the next in a full interval");
    // A long quiet spell refills the bucket, up to the burst and no further.
    clock.advance_ms(3_600_000);
    for n in 5..=7 {
        assert_eq!(send_batch(&c, n).status, 200);
    }
    assert_eq!(refused(&send_batch(&c, 8)), 2);
    assert_eq!(c.requests(), 11, "429s are counted with the other requests");
    assert_eq!(events(&c), 7);
}

#[test]
fn a_refused_request_stores_nothing_and_its_body_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let (c, clock) = start(&dir, 1.0, 1, |_, _| {});
    assert_eq!(send_batch(&c, 1).status, 200);
    assert_eq!(refused(&send_batch(&c, 2)), 1);
    // Bodies that would otherwise be 400 or 413: the 429 comes first.
    let garbage = Conn::plain(&c).send("POST", "/v1/batch", &[("Authorization", AUTH)], b"not json").unwrap();
    refused(&garbage);
    let deletion = Conn::plain(&c).send("POST", "/v1/rights/deletion", &[("Authorization", AUTH)], b"{}").unwrap();
    refused(&deletion);
    // A request announcing 10 MB it never sends: answered at once, so the collector did not wait for the body.
    let mut raw = std::net::TcpStream::connect(c.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(
        format!(
            "POST /v1/batch HTTP/1.1\r\nHost: localhost\r\nAuthorization: {AUTH}\r\nContent-Encoding: gzip\r\n\
             Content-Length: 10000000\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut head = [0u8; 12];
    raw.read_exact(&mut head).expect("an answer without the body");
    assert_eq!(&head, b"HTTP/1.1 429");
    assert_eq!(c.stats().unwrap(), Stats { events: 1, duplicates: 0, batches: 1 }, "nothing refused was stored");
    assert_eq!(c.deletion_requests().unwrap().len(), 0);

    clock.advance_ms(1000);
    let resp = send_batch(&c, 2);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({"accepted": 1, "duplicates": 0}), "the refused batch was never half-stored");
}

#[test]
fn every_protocol_endpoint_draws_on_the_one_budget_of_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (c, _) = start(&dir, 1.0, 2, |_, _| {});
    assert_eq!(send_batch(&c, 1).status, 200);
    assert_eq!(get(&c, "/v1/config", &[("Authorization", AUTH)]).status, 404, "no --config: a 404 spends a token too");
    let routes = [
        (Endpoint::Batch, "POST", "/v1/batch"),
        (Endpoint::Config, "GET", "/v1/config"),
        (Endpoint::Config, "HEAD", "/v1/config"),
        (Endpoint::ConsentRecords, "POST", "/v1/consent-records"),
        (Endpoint::Deletion, "POST", "/v1/rights/deletion"),
        (Endpoint::WalletChanges, "GET", "/v1/wallet/changes"),
        (Endpoint::WalletClips, "POST", "/v1/wallet/clips"),
        (Endpoint::WalletRedemptions, "POST", "/v1/wallet/redemptions"),
    ];
    for (_, method, path) in routes {
        let resp = Conn::plain(&c).send(method, path, &[("Authorization", AUTH)], b"{}").unwrap();
        assert_eq!(resp.status, 429, "{method} {path}");
        assert_eq!(resp.header("retry-after"), Some("1"), "{method} {path}");
        if method != "HEAD" {
            refused(&resp);
        }
        if path.starts_with("/v1/wallet/") {
            // Before the wallet's own 404 (no issuer key), and with the `Date` every wallet answer carries.
            assert!(resp.header("date").is_some_and(|d| d.ends_with(" GMT")), "{path}");
        }
    }
    for (endpoint, count) in [
        (Endpoint::Batch, 2),
        (Endpoint::Config, 3),
        (Endpoint::ConsentRecords, 1),
        (Endpoint::Deletion, 1),
        (Endpoint::WalletChanges, 1),
        (Endpoint::WalletClips, 1),
        (Endpoint::WalletRedemptions, 1),
    ] {
        assert_eq!(c.requests_to(endpoint), count, "{endpoint:?}");
    }
    assert_eq!(get(&c, "/healthz", &[]).status, 200, "the health check is not the protocol: never limited");
    assert_eq!(c.rate_limited_clients(), 1, "one key, one bucket");
}

#[test]
fn a_wrong_key_gets_401_spends_nothing_and_takes_no_room() {
    let dir = tempfile::tempdir().unwrap();
    let (c, _) = start(&dir, 1.0, 2, |_, limit| limit.max_clients = 1);
    let body = batch(vec![track(1, "e")]).to_string();
    let with = |auth: &str| Conn::plain(&c).send("POST", "/v1/batch", &[("Authorization", auth)], body.as_bytes());
    // base64("forged-N:"): a flood of forged keys.
    for n in 0..50 {
        let forged = format!("Basic {}", base64_of(&format!("forged-{n}:")));
        assert_eq!(with(&forged).unwrap().status, 401);
    }
    assert_eq!(Conn::plain(&c).send("POST", "/v1/batch", &[], body.as_bytes()).unwrap().status, 401);
    assert_eq!(c.rate_limited_clients(), 0, "forged keys never reach the table");
    assert_eq!(with(AUTH).unwrap().status, 200, "the real key's budget is whole");
    assert_eq!(with(AUTH).unwrap().json()["duplicates"], 1);
    refused(&with(AUTH).unwrap());
    assert_eq!(with("Basic d3Jvbmc6").unwrap().status, 401, "a wrong key is told so, not to wait");
    assert_eq!(c.requests(), 55);
}

#[cfg(target_os = "linux")]
#[test]
fn without_a_key_each_address_has_its_own_bucket_in_a_bounded_table() {
    use std::net::{IpAddr, Ipv4Addr};

    let dir = tempfile::tempdir().unwrap();
    let (c, clock) = start(&dir, 1.0, 1, |config, limit| {
        config.api_key = None;
        limit.max_clients = 4;
    });
    let from = |n: u8| {
        let resp = Conn::from_source(c.addr(), IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
            .post_json(&batch(vec![track(u32::from(n), "e")]))
            .unwrap();
        resp.status
    };
    assert_eq!((from(1), from(1)), (200, 429));
    assert_eq!((from(2), from(2)), (200, 429), "another address, another budget");
    // A flood of new addresses: the table keeps at most 4, forgetting the least recently seen.
    for n in 3..=40 {
        assert_eq!(from(n), 200);
        assert!(c.rate_limited_clients() <= 4, "{} clients tracked", c.rate_limited_clients());
    }
    assert_eq!(from(40), 429, "the most recent are still tracked");
    assert_eq!(from(1), 200, "an address forgotten in the flood starts again with a full bucket");
    clock.advance_ms(1000);
    assert_eq!(from(40), 200);
}

#[test]
fn the_sdk_holds_its_uploads_for_exactly_the_retry_after_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    // One token every 10 s; the device and the collector share the test's clock.
    let (c, clock) = start(&dir, 0.1, 1, |_, _| {});
    let mut config = Config::new(dir.path().join("sdk")).with_endpoint(c.base_url()).with_api_key("k");
    config.flush.automatic = false;
    config.consent_refresh_interval = None;
    config.enforce_consent = false;
    let sdk =
        Footfall::builder(config).transport(Arc::new(Wire { addr: c.addr() })).clock(clock.clone()).open().unwrap();

    sdk.track(Event::new("first")).unwrap();
    assert_eq!(sdk.flush().unwrap().outcome, FlushOutcome::Drained);
    sdk.track(Event::new("second")).unwrap();
    match sdk.flush().unwrap().outcome {
        FlushOutcome::Held { after, reason, .. } => {
            assert_eq!(after, Duration::from_secs(10));
            assert!(reason.starts_with("HTTP 429: too many requests"), "{reason}");
        }
        other => panic!("expected a hold, got {other:?}"),
    }
    assert_eq!(c.requests(), 2);
    clock.advance_ms(9_000);
    assert!(matches!(sdk.flush().unwrap().outcome, FlushOutcome::Held { .. }), "held: not even a flush sends");
    assert_eq!(c.requests(), 2, "nothing was sent while held");
    clock.advance_ms(1_000);
    let report = sdk.flush().unwrap();
    assert_eq!((report.outcome, report.delivered), (FlushOutcome::Drained, 1));
    assert_eq!((c.requests(), events(&c)), (3, 2), "one request when the token was back, and it went through");
    sdk.close();
    c.shutdown();
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn an_impossible_limit_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), database(dir.path()));
    for (per_second, burst) in [(0.0, 1), (f64::NAN, 1), (1.0, 0)] {
        config.rate_limit = Some(RateLimit::new(per_second, burst));
        let err = Collector::start(config.clone()).expect_err("refused").to_string();
        assert!(err.starts_with("invalid rate limit: "), "{err}");
    }
}
