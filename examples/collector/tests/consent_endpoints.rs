//! `GET /v1/config`, `POST /v1/consent-records` and `POST /v1/rights/deletion` over real sockets on 127.0.0.1.
//! Consent records are sealed by the SDK core's own code, so every test also exercises hash agreement.

mod common;

use common::database::database;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use common::{batch, get, post, post_to, track, Conn};
use footfall_collector::fuzzing::config_etag;
use footfall_collector::{
    read_consent_records, read_deletion_requests, Collector, CollectorConfig, Endpoint, FaultConfig, ScriptedFault,
};
use footfall_core::consent::purpose::Jurisdiction;
use footfall_core::consent::record::{verify_chain, ConsentRecord, Method, NewRecord, RecordKind, GENESIS_HASH};
use serde_json::{json, Value};

const RECORDS: &str = "/v1/consent-records";
const DELETION: &str = "/v1/rights/deletion";
const CONFIG: &str = "/v1/config";
const AUTH: (&str, &str) = ("Authorization", "Basic cmlnaHQ6"); // base64("right:")

fn start(dir: &tempfile::TempDir, adjust: impl FnOnce(&mut CollectorConfig)) -> Collector {
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), database(dir.path()));
    adjust(&mut config);
    Collector::start(config).expect("collector starts")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn policy(version: u32, prompt_enabled: bool) -> String {
    json!({"consent": {"policyVersion": version, "noticeHash": "sha256:abc", "maxConsentAgeDays": 365,
        "purposes": [{"id": "analytics"}, {"id": "marketing", "materialChangeVersion": version}],
        "prompts": [{"id": "main", "enabled": prompt_enabled, "purposes": ["analytics", "marketing"],
                     "copy": {"title": "consent.title", "body": "consent.body"}, "triggers": ["app_start"]}]},
        "somethingElse": {"ignored": true}})
    .to_string()
}

/// `n` records sealed by the SDK core in one chain, after `prev`.
fn sealed_chain(prefix: &str, n: usize, prev: &str) -> Vec<ConsentRecord> {
    let mut out: Vec<ConsentRecord> = Vec::new();
    for i in 0..n {
        let prev = out.last().map_or(prev.to_string(), |r| r.hash.clone());
        let record = NewRecord {
            record_id: format!("{prefix}-{i}"),
            kind: if i == 0 { RecordKind::PromptShown } else { RecordKind::Decision },
            subject_id: "anon-1".into(),
            timestamp_ms: 1_795_000_000_000 + i as i64,
            policy_version: 3,
            notice_hash: "sha256:abc".into(),
            decisions: if i == 0 { BTreeMap::new() } else { BTreeMap::from([("analytics".to_string(), i % 2 == 1)]) },
            method: Method::Prompt { prompt_id: "main".into() },
            jurisdiction: Jurisdiction::Gdpr,
            app_version: "1.2.3".into(),
        };
        out.push(record.chain(&prev));
    }
    out
}

fn records_body(records: &[ConsentRecord]) -> Value {
    json!({"records": records, "sentAt": "2026-11-22T10:20:00.000Z"})
}

fn deletion(n: u32) -> Value {
    json!({"requestId": common::id(n), "anonymousIds": ["anon-1", "anon-2"], "userId": "shopper-42", "requestedAt": "2026-11-22T10:15:30.123Z"})
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

// ------------------------------------------------------------------------------------------------ GET /v1/config

#[test]
fn config_is_served_with_a_strong_etag_and_304_when_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    let text = policy(3, true);
    write(&file, &text);
    let c = start(&dir, |c| c.config_path = Some(file.clone()));

    let first = get(&c, CONFIG, &[]);
    assert_eq!(first.status, 200);
    assert_eq!(first.body, text.as_bytes(), "the file is served byte for byte");
    let etag = first.header("etag").unwrap().to_string();
    assert_eq!(etag, config_etag(text.as_bytes()));
    assert!(etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"), "strong and quoted: {etag}");
    assert_eq!(
        (first.header("cache-control"), first.header("content-type")),
        (Some("no-cache"), Some("application/json"))
    );

    for matching in [etag.clone(), format!("\"stale\", {etag}"), format!("W/{etag}"), "*".to_string()] {
        let resp = get(&c, CONFIG, &[("If-None-Match", &matching)]);
        assert_eq!((resp.status, resp.body.len()), (304, 0), "{matching}");
        assert_eq!((resp.header("etag"), resp.header("cache-control")), (Some(etag.as_str()), Some("no-cache")));
    }
    assert_eq!(get(&c, CONFIG, &[("If-None-Match", "\"stale\"")]).status, 200);

    let mut conn = Conn::plain(&c);
    let head = conn.send("HEAD", CONFIG, &[], b"").unwrap();
    assert_eq!((head.status, head.header("etag"), head.body.len()), (200, Some(etag.as_str()), 0));
    let wrong = conn.send("POST", CONFIG, &[], b"{}").unwrap();
    assert_eq!((wrong.status, wrong.header("allow")), (405, Some("GET, HEAD")));
    assert_eq!(c.requests_to(Endpoint::Config), 7, "the 405 is not a config request");
    assert_eq!(c.requests(), 0, "batch requests are counted apart");
}

#[test]
fn editing_the_file_changes_the_etag_and_the_body_on_the_next_request() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    write(&file, &policy(3, true));
    let c = start(&dir, |c| c.config_path = Some(file.clone()));
    let old = get(&c, CONFIG, &[]);
    let old_etag = old.header("etag").unwrap().to_string();

    // A product team switches the prompt off and bumps the version: no restart.
    write(&file, &policy(4, false));
    let new = get(&c, CONFIG, &[("If-None-Match", &old_etag)]);
    assert_eq!(new.status, 200, "the old ETag no longer matches");
    assert_ne!(new.header("etag").unwrap(), old_etag);
    assert_eq!(new.json()["consent"]["policyVersion"], 4);
    assert_eq!(new.json()["consent"]["prompts"][0]["enabled"], false);
    // And the SDK core accepts what is served.
    let parsed = footfall_core::consent::policy::Policy::from_remote_config(&new.body).unwrap();
    assert_eq!(parsed.policy_version, 4);
}

#[test]
fn without_a_config_file_the_endpoint_is_404_no_config() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    let resp = get(&c, CONFIG, &[]);
    assert_eq!((resp.status, resp.error_code().as_str()), (404, "no_config"));
    assert!(resp.header("etag").is_none());
}

#[test]
fn a_malformed_or_missing_config_file_is_500_and_fixing_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    write(&file, "{\"consent\": {\"policyVersion\": 3,");
    let c = start(&dir, |c| c.config_path = Some(file.clone()));

    let resp = get(&c, CONFIG, &[]);
    assert_eq!((resp.status, resp.error_code().as_str()), (500, "invalid_config"));
    assert!(resp.json()["error"]["message"].as_str().unwrap().contains("not valid JSON"), "{:?}", resp.json());
    assert!(resp.header("etag").is_none(), "nothing to cache");

    write(&file, r#"{"consent": "yes"}"#);
    let resp = get(&c, CONFIG, &[]);
    assert_eq!((resp.status, resp.error_code().as_str()), (500, "invalid_config"));
    assert!(resp.json()["error"]["message"].as_str().unwrap().contains("\"consent\" object"));

    std::fs::remove_file(&file).unwrap();
    let resp = get(&c, CONFIG, &[]);
    assert_eq!((resp.status, resp.error_code().as_str()), (500, "config_unreadable"));

    write(&file, &policy(5, true));
    assert_eq!(get(&c, CONFIG, &[]).status, 200);
}

// ------------------------------------------------------------------------------------------------ POST /v1/consent-records

#[test]
fn consent_records_are_verified_and_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    let chain = sealed_chain("r", 4, GENESIS_HASH);

    let resp = post_to(&c, RECORDS, &records_body(&chain[..3]));
    assert_eq!((resp.status, resp.json()), (200, json!({"accepted": 3, "duplicates": 0})));
    // A lost answer: the SDK re-sends, with the next record appended.
    let resp = post_to(&c, RECORDS, &records_body(&chain));
    assert_eq!(resp.json(), json!({"accepted": 1, "duplicates": 3}));
    // The same record twice in one request.
    let resp = post_to(&c, RECORDS, &records_body(&[chain[3].clone(), chain[3].clone()]));
    assert_eq!(resp.json(), json!({"accepted": 0, "duplicates": 2}));

    let stored = c.consent_records().unwrap();
    let ids: Vec<&str> = stored.iter().map(|r| r.record_id.as_str()).collect();
    assert_eq!(ids, ["r-0", "r-1", "r-2", "r-3"]);
    assert_eq!(stored.iter().map(|r| r.duplicates).collect::<Vec<_>>(), [1, 1, 1, 2]);
    assert_eq!(
        (stored[1].subject_id.as_str(), stored[1].sent_at.as_deref()),
        ("anon-1", Some("2026-11-22T10:20:00.000Z"))
    );
    assert_eq!(stored[3].hash, chain[3].hash);

    // Stored losslessly: read back into the SDK's type, the chain still verifies from genesis.
    let back: Vec<ConsentRecord> = stored.iter().map(|r| serde_json::from_value(r.record.clone()).unwrap()).collect();
    assert_eq!(back, chain);
    assert_eq!(verify_chain(&back), Ok(chain[3].hash.clone()));
    assert_eq!(read_consent_records(database(dir.path())).unwrap(), stored);
    assert_eq!(c.stats().unwrap().events, 0, "records are not events");
    assert_eq!(c.requests_to(Endpoint::ConsentRecords), 3);
}

#[test]
fn a_tampered_record_refuses_the_request_naming_it_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    let mut chain = sealed_chain("t", 3, GENESIS_HASH);
    chain[2].decisions.insert("analytics".into(), true); // granted after the fact

    let resp = post_to(&c, RECORDS, &records_body(&chain));
    assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_record"));
    let message = resp.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("record t-2: hash ") && message.contains("altered"), "{message}");
    assert!(c.consent_records().unwrap().is_empty(), "all-or-nothing");

    // Shape problems are named too, and so are bodies that are not a records request.
    let mut value = serde_json::to_value(&chain[0]).unwrap();
    value["timestamp_ms"] = json!("yesterday");
    let resp = post_to(&c, RECORDS, &json!({"records": [value], "sentAt": "2026-11-22T10:20:00.000Z"}));
    assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_record"));
    assert!(resp.json()["error"]["message"].as_str().unwrap().starts_with("record t-0: timestamp_ms"));
    for bad in [json!({"batch": []}), json!({"records": [], "sentAt": "soon"}), json!([])] {
        let resp = post_to(&c, RECORDS, &bad);
        assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_request"), "{bad}");
    }
    let resp = Conn::plain(&c).send("POST", RECORDS, &[], b"{\"records\": [").unwrap();
    assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_request"));

    // The untouched prefix goes through (what the SDK's bisection ends up sending).
    assert_eq!(post_to(&c, RECORDS, &records_body(&chain[..2])).json(), json!({"accepted": 2, "duplicates": 0}));
}

// ------------------------------------------------------------------------------------------------ POST /v1/rights/deletion

#[test]
fn deletion_requests_are_acknowledged_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    let expected = json!({"status": "acknowledged", "requestId": common::id(1)});
    for _ in 0..3 {
        let resp = post_to(&c, DELETION, &deletion(1));
        assert_eq!((resp.status, resp.json()), (202, expected.clone()));
    }
    let mut anonymous = deletion(2);
    anonymous.as_object_mut().unwrap().remove("userId");
    assert_eq!(post_to(&c, DELETION, &anonymous).status, 202);

    let stored = c.deletion_requests().unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!((stored[0].request_id.as_str(), stored[0].duplicates), (common::id(1).as_str(), 2));
    assert_eq!(stored[0].anonymous_ids, ["anon-1", "anon-2"]);
    assert_eq!((stored[0].user_id.as_deref(), stored[1].user_id.as_deref()), (Some("shopper-42"), None));
    assert_eq!(stored[0].requested_at, "2026-11-22T10:15:30.123Z");
    assert_eq!(read_deletion_requests(database(dir.path())).unwrap(), stored);

    for (field, value) in
        [("requestId", json!("nope")), ("anonymousIds", json!([])), ("requestedAt", json!(null)), ("userId", json!(42))]
    {
        let mut bad = deletion(3);
        bad[field] = value;
        let resp = post_to(&c, DELETION, &bad);
        assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_request"), "{field}");
        assert!(resp.json()["error"]["message"].as_str().unwrap().contains(field), "{field}: {:?}", resp.json());
    }
    assert_eq!(c.deletion_requests().unwrap().len(), 2);
}

#[test]
fn a_deletion_request_erases_the_events_of_its_ids_once_and_keeps_everyone_elses() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |_| {});
    let event = |n: u32, anonymous: &str, user: Option<&str>| {
        let mut message = track(n, "product_viewed");
        message["anonymousId"] = json!(anonymous);
        if let Some(user) = user {
            message["userId"] = json!(user);
        }
        message
    };
    let sent = batch(vec![
        event(1, "anon-1", None),
        event(2, "anon-2", Some("shopper-42")),
        event(3, "anon-9", Some("shopper-42")),
        event(4, "anon-9", Some("someone-else")),
        event(5, "anon-7", None),
    ]);
    assert_eq!(post(&c, &sent).status, 200);

    assert_eq!(post_to(&c, DELETION, &deletion(1)).status, 202);
    let left: Vec<String> = c.events().unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(left, [common::id(4), common::id(5)], "the request's anonymous ids and user id, nobody else");
    let stored = &c.deletion_requests().unwrap()[0];
    assert_eq!(stored.erased_events, Some(3));
    assert!(stored.erased_at.is_some());

    // A repeat (a lost answer) is recognised and erases nothing more.
    assert_eq!(post(&c, &batch(vec![event(6, "anon-8", None)])).status, 200);
    assert_eq!(post_to(&c, DELETION, &deletion(1)).status, 202);
    assert_eq!(c.events().unwrap().len(), 3);
    assert_eq!(c.deletion_requests().unwrap()[0].erased_events, Some(3));
}

#[test]
fn a_database_from_before_erasure_gets_the_new_columns_and_erases_too() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("collector.db");
    let old = rusqlite::Connection::open(&db).unwrap();
    old.execute_batch(
        "CREATE TABLE deletion_requests (rx INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE,
         anonymous_ids TEXT NOT NULL, user_id TEXT, requested_at TEXT NOT NULL, received_at TEXT NOT NULL,
         duplicates INTEGER NOT NULL DEFAULT 0, raw TEXT NOT NULL);
         INSERT INTO deletion_requests (request_id, anonymous_ids, requested_at, received_at, raw)
         VALUES ('old', '[\"anon-0\"]', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', '{}');",
    )
    .unwrap();
    drop(old);
    assert_eq!(read_deletion_requests(&db).unwrap()[0].erased_events, None, "read as it is, not migrated");
    let c = Collector::start(CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &db)).unwrap();
    assert_eq!(post(&c, &batch(vec![track(1, "product_viewed")])).status, 200);
    assert_eq!(
        post_to(
            &c,
            DELETION,
            &json!({"requestId": common::id(2), "anonymousIds": ["anon-1"],
        "requestedAt": "2026-11-22T10:15:30.123Z"})
        )
        .status,
        202
    );
    let stored = c.deletion_requests().unwrap();
    assert_eq!((stored[0].erased_events, stored[1].erased_events), (None, Some(1)));
}

// ------------------------------------------------------------------------------------------------ shared behaviour

#[test]
fn auth_encodings_and_limits_on_the_new_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    write(&file, &policy(3, true));
    let c = start(&dir, |c| {
        c.api_key = Some("right".into());
        c.config_path = Some(file.clone());
        c.max_body_bytes = 16 * 1024;
    });
    let records = records_body(&sealed_chain("a", 2, GENESIS_HASH)).to_string();
    let del = deletion(1).to_string();
    let send = |method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]| {
        Conn::plain(&c).send(method, path, headers, body).unwrap()
    };

    for (method, path, body) in
        [("GET", CONFIG, ""), ("POST", RECORDS, records.as_str()), ("POST", DELETION, del.as_str())]
    {
        for wrong in [vec![], vec![("Authorization", "Basic d3Jvbmc6")], vec![("Authorization", "Bearer right")]] {
            let resp = send(method, path, &wrong, body.as_bytes());
            assert_eq!((resp.status, resp.error_code().as_str()), (401, "unauthorized"), "{path} {wrong:?}");
            assert_eq!(resp.header("www-authenticate"), Some("Basic realm=\"footfall\""));
        }
        // 405 needs no key, like /v1/batch.
        assert_eq!(send("PUT", path, &[], b"").status, 405);
    }
    assert_eq!(send("GET", CONFIG, &[AUTH], b"").status, 200);
    assert!(c.consent_records().unwrap().is_empty() && c.deletion_requests().unwrap().is_empty());

    for (path, body, ok) in [(RECORDS, records.as_str(), 200), (DELETION, del.as_str(), 202)] {
        let zipped = gzip(body.as_bytes());
        assert_eq!(send("POST", path, &[AUTH, ("Content-Encoding", "gzip")], &zipped).status, ok, "{path} gzip");
        assert_eq!(
            send("POST", path, &[AUTH, ("Content-Encoding", "identity")], body.as_bytes()).status,
            ok,
            "{path} identity"
        );
        assert_eq!(send("POST", path, &[AUTH, ("Content-Encoding", "x-gzip")], &zipped).status, ok, "{path} x-gzip");
        let resp = send("POST", path, &[AUTH, ("Content-Encoding", "br")], body.as_bytes());
        assert_eq!((resp.status, resp.error_code().as_str()), (415, "unsupported_encoding"), "{path}");
        let resp = send("POST", path, &[AUTH, ("Content-Encoding", "gzip")], b"not gzip");
        assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_request"), "{path}");

        // Compresses far below the limit, decompresses far above it.
        let big = json!({"records": [], "requestId": "x", "padding": "x".repeat(64 * 1024)}).to_string();
        let resp = send("POST", path, &[AUTH], big.as_bytes());
        assert_eq!((resp.status, resp.error_code().as_str()), (413, "payload_too_large"), "{path}");
        let resp = send("POST", path, &[AUTH, ("Content-Encoding", "gzip")], &gzip(big.as_bytes()));
        assert_eq!((resp.status, resp.error_code().as_str()), (413, "payload_too_large"), "{path} gzip");
    }
    let stored = c.consent_records().unwrap();
    assert_eq!((stored.len(), stored[0].duplicates), (2, 2));
    assert_eq!(c.deletion_requests().unwrap()[0].duplicates, 2);
}

#[test]
fn standing_faults_apply_to_every_endpoint_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    write(&file, &policy(3, true));
    let c = start(&dir, |c| {
        c.config_path = Some(file.clone());
        c.faults =
            FaultConfig { fail_rate: 1.0, fail_status: 502, retry_after: Some("3".into()), ..FaultConfig::default() };
    });
    let records = records_body(&sealed_chain("f", 1, GENESIS_HASH));
    let answers = [
        get(&c, CONFIG, &[]),
        post_to(&c, RECORDS, &records),
        post_to(&c, DELETION, &deletion(1)),
        post(&c, &batch(vec![track(1, "e")])),
    ];
    for resp in &answers {
        assert_eq!(
            (resp.status, resp.header("retry-after"), resp.error_code().as_str()),
            (502, Some("3"), "injected_fault")
        );
    }
    assert!(c.consent_records().unwrap().is_empty() && c.deletion_requests().unwrap().is_empty());
    let asked = [Endpoint::Batch, Endpoint::Config, Endpoint::ConsentRecords, Endpoint::Deletion];
    assert!(asked.iter().all(|e| c.requests_to(*e) == 1));

    c.set_faults(FaultConfig::default());
    assert_eq!(post_to(&c, RECORDS, &records).status, 200);
    assert_eq!(post_to(&c, DELETION, &deletion(1)).status, 202);
    assert_eq!(get(&c, CONFIG, &[]).status, 200);
}

#[test]
fn scripted_faults_are_per_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    write(&file, &policy(3, true));
    let c = start(&dir, |c| c.config_path = Some(file.clone()));
    let records = records_body(&sealed_chain("s", 2, GENESIS_HASH));

    // Lost answer: stored, then 503; the re-send is all duplicates.
    c.script_for(Endpoint::ConsentRecords, vec![ScriptedFault::StoreThenStatus { status: 503 }]);
    // A batch script does not touch the other endpoints.
    c.script(vec![ScriptedFault::Status { status: 500, retry_after: None }]);
    let lost = post_to(&c, RECORDS, &records);
    assert_eq!((lost.status, lost.error_code().as_str()), (503, "injected_fault"));
    assert_eq!(c.consent_records().unwrap().len(), 2);
    assert_eq!(post_to(&c, RECORDS, &records).json(), json!({"accepted": 0, "duplicates": 2}));
    assert_eq!(post(&c, &batch(vec![track(1, "e")])).status, 500, "the batch script waited for a batch");

    c.script_for(
        Endpoint::Deletion,
        vec![
            ScriptedFault::Status { status: 429, retry_after: Some("9".into()) },
            ScriptedFault::StoreThenStatus { status: 500 },
        ],
    );
    let limited = post_to(&c, DELETION, &deletion(1));
    assert_eq!((limited.status, limited.header("retry-after")), (429, Some("9")));
    assert!(c.deletion_requests().unwrap().is_empty());
    assert_eq!(post_to(&c, DELETION, &deletion(1)).status, 500);
    assert_eq!(c.deletion_requests().unwrap().len(), 1, "stored before the injected 500");
    assert_eq!(post_to(&c, DELETION, &deletion(1)).status, 202);

    c.script_for(
        Endpoint::Config,
        vec![
            ScriptedFault::DropConnection,
            ScriptedFault::StoreThenStatus { status: 504 },
            ScriptedFault::Delay { ms: 100 },
        ],
    );
    let err = Conn::plain(&c).send("GET", CONFIG, &[], b"").err().expect("no HTTP response at all");
    assert!(matches!(err.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset), "{err:?}");
    assert_eq!(get(&c, CONFIG, &[]).status, 504);
    let started = std::time::Instant::now();
    assert_eq!(get(&c, CONFIG, &[]).status, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(100));
    assert_eq!(c.requests_to(Endpoint::Config), 3);
}

#[test]
fn reading_a_database_from_before_these_tables_lists_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    rusqlite::Connection::open(&db).unwrap().execute_batch("CREATE TABLE events (id TEXT);").unwrap();
    assert!(read_consent_records(&db).unwrap().is_empty());
    assert!(read_deletion_requests(&db).unwrap().is_empty());
}
