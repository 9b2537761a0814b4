//! The collector over real sockets on 127.0.0.1, one behaviour per test.

mod common;

use common::database::database;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{batch, id, post, track, Conn};
use footfall_collector::{
    read_events, read_stats, Collector, CollectorConfig, CollectorError, FaultConfig, ScriptedFault, Stats,
};
use serde_json::json;

fn start(dir: &tempfile::TempDir, adjust: impl FnOnce(&mut CollectorConfig)) -> Collector {
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), database(dir.path()));
    adjust(&mut config);
    Collector::start(config).expect("collector starts")
}

fn stats(events: u64, duplicates: u64, batches: u64) -> Stats {
    Stats { events, duplicates, batches }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn accepted_batch_is_stored_with_every_column() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    assert!(c.base_url().starts_with("http://127.0.0.1:"));
    let identify = json!({"type": "identify", "messageId": id(2), "timestamp": "2026-11-22T10:15:31.000Z", "anonymousId": "anon-1",
        "userId": "shopper-42", "traits": {"tier": "gold"}, "context": {"footfall": {"purpose": "analytics", "seq": 2}}});
    let resp = post(&c, &batch(vec![track(1, "product_viewed"), identify]));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({"accepted": 2, "duplicates": 0}));

    let events = c.events().unwrap();
    assert_eq!(events.len(), 2);
    let (t, i) = (&events[0], &events[1]);
    assert_eq!(
        (t.id.as_str(), t.r#type.as_str(), t.name.as_deref()),
        (id(1).as_str(), "track", Some("product_viewed"))
    );
    assert_eq!(t.properties, json!({"n": 1}));
    assert_eq!((t.purpose.as_deref(), t.session_id.as_deref(), t.seq), (Some("analytics"), Some("sess-1"), Some(1)));
    assert_eq!(t.sent_at.as_deref(), Some("2026-11-22T10:20:00.000Z"));
    assert_eq!(t.anonymous_id.as_deref(), Some("anon-1"));
    assert_eq!(t.received_at.len(), "2026-11-22T10:20:00.000Z".len());
    assert_eq!((i.r#type.as_str(), i.name.as_deref(), i.user_id.as_deref()), ("identify", None, Some("shopper-42")));
    assert_eq!(i.properties, json!({"tier": "gold"}));
    // `type` keeps its wire name when serialised (the CLI prints these as JSON lines).
    assert_eq!(serde_json::to_value(t).unwrap()["type"], "track");

    assert_eq!(c.stats().unwrap(), stats(2, 0, 1));
    assert_eq!(c.requests(), 1);
}

#[test]
fn redelivered_ids_are_duplicates_stored_once_in_received_order() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    assert_eq!(post(&c, &batch(vec![track(1, "a"), track(2, "b")])).json(), json!({"accepted": 2, "duplicates": 0}));
    assert_eq!(post(&c, &batch(vec![track(2, "b"), track(3, "c")])).json(), json!({"accepted": 1, "duplicates": 1}));
    // The same id twice inside one batch.
    assert_eq!(post(&c, &batch(vec![track(4, "d"), track(4, "d")])).json(), json!({"accepted": 1, "duplicates": 1}));

    let ids: Vec<String> = c.events().unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![id(1), id(2), id(3), id(4)]);
    assert_eq!(c.stats().unwrap(), stats(4, 2, 3));
}

#[test]
fn gzip_and_identity_are_accepted_other_encodings_are_415() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    let body = gzip(batch(vec![track(1, "zipped")]).to_string().as_bytes());
    let resp = Conn::plain(&c)
        .send("POST", "/v1/batch", &[("Content-Type", "application/json"), ("Content-Encoding", "gzip")], &body)
        .unwrap();
    assert_eq!((resp.status, resp.json()), (200, json!({"accepted": 1, "duplicates": 0})));

    let plain = batch(vec![track(2, "plain")]).to_string();
    let resp =
        Conn::plain(&c).send("POST", "/v1/batch", &[("Content-Encoding", "identity")], plain.as_bytes()).unwrap();
    assert_eq!(resp.status, 200);

    let resp = Conn::plain(&c).send("POST", "/v1/batch", &[("Content-Encoding", "br")], plain.as_bytes()).unwrap();
    assert_eq!((resp.status, resp.error_code().as_str()), (415, "unsupported_encoding"));

    let resp = Conn::plain(&c).send("POST", "/v1/batch", &[("Content-Encoding", "gzip")], b"not gzip at all").unwrap();
    assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_batch"));
    assert_eq!(c.stats().unwrap(), stats(2, 0, 2));
}

#[test]
fn api_key_is_required_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |c| c.api_key = Some("right".into()));
    let body = batch(vec![track(1, "e")]).to_string();
    let send = |auth: Option<&str>| {
        let headers: Vec<(&str, &str)> = auth.map(|a| vec![("Authorization", a)]).unwrap_or_default();
        Conn::plain(&c).send("POST", "/v1/batch", &headers, body.as_bytes()).unwrap()
    };
    // base64("wrong:") and base64("right:")
    for wrong in [None, Some("Basic d3Jvbmc6"), Some("Bearer right"), Some("Basic !!!")] {
        let resp = send(wrong);
        assert_eq!((resp.status, resp.error_code().as_str()), (401, "unauthorized"), "{wrong:?}");
        assert!(resp.header("www-authenticate").is_some());
    }
    assert_eq!(c.stats().unwrap(), stats(0, 0, 0));
    assert_eq!(send(Some("Basic cmlnaHQ6")).status, 200);
    assert_eq!(c.requests(), 5, "rejected requests are counted too");
}

#[test]
fn invalid_batches_are_400_with_the_reason_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |c| c.reject_event_names = vec!["poison".into()]);

    let resp = Conn::plain(&c).send("POST", "/v1/batch", &[], b"{\"batch\": [").unwrap();
    assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_batch"));
    assert!(resp.json()["error"]["message"].as_str().unwrap().contains("not valid JSON"));

    let resp = post(&c, &json!({"events": []}));
    assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_batch"));

    let resp = post(&c, &batch(vec![track(1, "fine"), track(2, "poison")]));
    assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_event"));
    assert_eq!(
        resp.json()["error"]["message"],
        format!("event {}: name 'poison' is rejected by this collector", id(2))
    );

    let mut late = track(3, "fine");
    late["timestamp"] = json!("last tuesday");
    let resp = post(&c, &batch(vec![late]));
    assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_event"));
    let message = resp.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains(&id(3)) && message.contains("RFC 3339"), "{message}");

    let resp = post(
        &c,
        &batch(vec![json!({"type": "track", "messageId": "42", "timestamp": "2026-11-22T10:15:30Z", "event": "e"})]),
    );
    assert!(resp.json()["error"]["message"].as_str().unwrap().contains("not a UUID"));

    assert_eq!(c.stats().unwrap(), stats(0, 0, 0));
}

#[test]
fn bodies_over_the_limit_are_413_even_when_gzip_hides_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |c| c.max_body_bytes = 8 * 1024);
    let big = batch((0..200).map(|n| track(n, "bulky")).collect()).to_string();
    assert!(big.len() > 8 * 1024);

    let resp = Conn::plain(&c).send("POST", "/v1/batch", &[], big.as_bytes()).unwrap();
    assert_eq!((resp.status, resp.error_code().as_str()), (413, "payload_too_large"));

    // Compresses far below the limit, decompresses far above it.
    let zipped = gzip(big.as_bytes());
    assert!(zipped.len() < 8 * 1024);
    let resp = Conn::plain(&c).send("POST", "/v1/batch", &[("Content-Encoding", "gzip")], &zipped).unwrap();
    assert_eq!((resp.status, resp.error_code().as_str()), (413, "payload_too_large"));

    let small = batch(vec![track(1, "small")]);
    assert_eq!(post(&c, &small).status, 200);
    assert_eq!(c.stats().unwrap(), stats(1, 0, 1));
}

#[test]
fn scripted_status_carries_retry_after_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    c.script(vec![
        ScriptedFault::Status { status: 429, retry_after: Some("7".into()) },
        ScriptedFault::Status { status: 500, retry_after: None },
    ]);
    let body = batch(vec![track(1, "e")]);
    let first = post(&c, &body);
    assert_eq!(
        (first.status, first.header("retry-after"), first.error_code().as_str()),
        (429, Some("7"), "injected_fault")
    );
    let second = post(&c, &body);
    assert_eq!((second.status, second.header("retry-after")), (500, None));
    assert_eq!(c.stats().unwrap(), stats(0, 0, 0));
    // The script is used up: back to normal.
    assert_eq!(post(&c, &body).status, 200);
    assert_eq!(c.stats().unwrap(), stats(1, 0, 1));
}

#[test]
fn store_then_status_stores_and_the_resend_is_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    c.script(vec![ScriptedFault::StoreThenStatus { status: 503 }]);
    let body = batch(vec![track(1, "e"), track(2, "f")]);
    let lost = post(&c, &body);
    assert_eq!((lost.status, lost.error_code().as_str()), (503, "injected_fault"));
    assert_eq!(c.stats().unwrap(), stats(2, 0, 1));
    assert_eq!(post(&c, &body).json(), json!({"accepted": 0, "duplicates": 2}));
    assert_eq!(c.stats().unwrap(), stats(2, 2, 2));
}

#[test]
fn drop_connection_is_a_transport_error_even_on_a_kept_alive_connection() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    let mut conn = Conn::plain(&c);
    assert_eq!(conn.post_json(&batch(vec![track(1, "e")])).unwrap().status, 200);

    c.script(vec![ScriptedFault::DropConnection]);
    let err = conn.post_json(&batch(vec![track(2, "e")])).err().expect("no HTTP response at all");
    assert!(matches!(err.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset), "{err:?}");
    assert_eq!(c.requests(), 2);
    assert_eq!(c.stats().unwrap(), stats(1, 0, 1));

    assert_eq!(post(&c, &batch(vec![track(2, "e")])).status, 200);
}

#[test]
fn delay_stores_before_answering() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});

    // A short delay: the answer is a normal 200, just late.
    c.script(vec![ScriptedFault::Delay { ms: 150 }]);
    let started = Instant::now();
    assert_eq!(post(&c, &batch(vec![track(1, "e")])).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));

    // A delay no client waits out: the batch is stored while the answer is still pending.
    c.script(vec![ScriptedFault::Delay { ms: 600_000 }]);
    let mut conn = Conn::plain(&c);
    let client = std::thread::spawn(move || conn.post_json(&batch(vec![track(2, "slow")])));
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.stats().unwrap().events < 2 {
        assert!(Instant::now() < deadline, "the delayed batch was never stored");
        std::thread::sleep(Duration::from_millis(2)); // polling a condition with a deadline, not timing
    }
    // Shutting down abandons the pending answer: the client sees the connection end, not a status.
    c.shutdown();
    assert!(client.join().unwrap().is_err());
}

#[test]
fn seeded_fail_rate_is_reproducible() {
    let faults = FaultConfig { fail_rate: 0.5, fail_status: 502, seed: 42, ..FaultConfig::default() };
    let statuses =
        |c: &Collector| -> Vec<u16> { (0..20).map(|n| post(c, &batch(vec![track(n, "e")])).status).collect() };

    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(&d1, |c| c.faults = faults.clone());
    let b = start(&d2, |c| c.faults = faults.clone());
    let first = statuses(&a);
    assert_eq!(first, statuses(&b), "same seed, same sequence");
    assert!(first.contains(&200) && first.contains(&502), "{first:?}");
    assert_eq!(a.stats().unwrap().batches, first.iter().filter(|s| **s == 200).count() as u64);

    // set_faults reseeds, so the sequence starts over.
    a.set_faults(faults.clone());
    assert_eq!(statuses(&a), first);
}

#[test]
fn fail_rate_one_stores_nothing_until_the_network_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |c| {
        c.faults = FaultConfig { fail_rate: 1.0, retry_after: Some("1".into()), ..FaultConfig::default() }
    });
    for n in 0..5 {
        let resp = post(&c, &batch(vec![track(n, "e")]));
        assert_eq!((resp.status, resp.header("retry-after")), (503, Some("1")));
    }
    assert_eq!(c.stats().unwrap(), stats(0, 0, 0));
    assert_eq!(c.requests(), 5);

    c.set_faults(FaultConfig::default());
    assert_eq!(post(&c, &batch(vec![track(0, "e")])).status, 200);
}

#[test]
fn the_database_file_can_be_read_while_served_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let c = start(&dir, |_| {});
    post(&c, &batch(vec![track(1, "a"), track(2, "b")]));
    post(&c, &batch(vec![track(2, "b")]));
    assert_eq!(read_stats(&db).unwrap(), stats(2, 1, 2));
    assert_eq!(read_events(&db).unwrap().len(), 2);
    c.shutdown();

    assert_eq!(read_stats(&db).unwrap(), stats(2, 1, 2));
    // A restarted collector on the same file still dedupes against what it stored before.
    let again = start(&dir, |_| {});
    assert_eq!(
        post(&again, &batch(vec![track(1, "a"), track(3, "c")])).json(),
        json!({"accepted": 1, "duplicates": 1})
    );
    assert_eq!(again.stats().unwrap(), stats(3, 2, 3));

    let missing = dir.path().join("nope.db");
    assert!(matches!(read_stats(&missing), Err(CollectorError::MissingDatabase(_))));
    assert!(!missing.exists(), "reading must not create a database");
}

#[test]
fn routes_other_than_the_batch_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    let mut conn = Conn::plain(&c);
    let health = conn.send("GET", "/healthz", &[], b"").unwrap();
    assert_eq!((health.status, health.body.as_slice()), (200, b"ok".as_slice()));
    let missing = conn.send("GET", "/v1/nothing", &[], b"").unwrap();
    assert_eq!((missing.status, missing.error_code().as_str()), (404, "not_found"));
    let wrong = conn.send("GET", "/v1/batch", &[], b"").unwrap();
    assert_eq!((wrong.status, wrong.header("allow")), (405, Some("POST")));
    assert_eq!(c.requests(), 0, "only batch uploads are counted");
}

#[test]
fn tls_round_trip_with_the_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (tls, ca_pem) = footfall_collector::self_signed_for_localhost();
    let c = start(&dir, |c| c.tls = Some(tls));
    assert!(c.base_url().starts_with("https://127.0.0.1:"));
    let mut conn = Conn::tls(&c, &ca_pem);
    let resp = conn.post_json(&batch(vec![track(1, "secure")])).unwrap();
    assert_eq!((resp.status, resp.json()), (200, json!({"accepted": 1, "duplicates": 0})));
    assert_eq!(conn.send("GET", "/healthz", &[], b"").unwrap().status, 200);
    assert_eq!(c.stats().unwrap(), stats(1, 0, 1));
}

#[test]
fn bad_tls_material_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("c.db"));
    config.tls = Some(footfall_collector::TlsConfig { cert_pem: "garbage".into(), key_pem: "garbage".into() });
    assert!(matches!(Collector::start(config), Err(CollectorError::Tls(_))));
}

#[test]
fn dropping_inside_another_runtime_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let c = start(&dir, |_| {});
        let addr = c.addr();
        drop(c);
        // The socket is released by the background shutdown; nothing to assert beyond "no panic" and a valid addr.
        assert_ne!(addr.port(), 0);
    });
}

#[test]
fn a_file_from_before_versioned_migrations_keeps_its_events_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    // The first release's schema and counters, as a file in production holds them.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE events (rx INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
             name TEXT, properties TEXT NOT NULL, purpose TEXT, timestamp TEXT NOT NULL, anonymous_id TEXT, user_id TEXT,
             session_id TEXT, seq INTEGER, sent_at TEXT, received_at TEXT NOT NULL, raw TEXT NOT NULL);
             CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
             INSERT INTO counters VALUES ('duplicates', 7), ('batches', 3), ('wallet_revision', 4);
             INSERT INTO events (id, type, properties, timestamp, received_at, raw)
             VALUES ('01936f2e-8c1a-7cc4-9a53-000000000001', 'track', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', '{}');",
        )
        .unwrap();
    assert_eq!(read_stats(&db).unwrap(), stats(1, 7, 3), "read as it is, not migrated");

    let c = Collector::start(CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &db)).unwrap();
    assert_eq!(c.stats().unwrap(), stats(1, 7, 3), "migrated with its counts");
    assert_eq!(
        post(&c, &batch(vec![track(1, "again"), track(2, "new")])).json(),
        json!({"accepted": 1, "duplicates": 1})
    );
    assert_eq!(c.stats().unwrap(), stats(2, 8, 4));
    drop(c);
    // Started again, now as a wallet issuer: nothing is migrated twice, and the wallet's revision moves to the
    // wallet's own table (feed cursors already on phones are measured against it).
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &db);
    config.issuer_key = Some(dir.path().join("issuer.json"));
    let c = Collector::start(config).unwrap();
    assert_eq!(c.stats().unwrap(), stats(2, 8, 4));
    let file = rusqlite::Connection::open(&db).unwrap();
    let revision: i64 =
        file.query_row("SELECT value FROM wallet_counters WHERE name = 'revision'", [], |r| r.get(0)).unwrap();
    let left: i64 = file.query_row("SELECT COUNT(*) FROM counters", [], |r| r.get(0)).unwrap();
    assert_eq!((revision, left), (4, 0));
}
