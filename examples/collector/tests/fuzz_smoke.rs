//! A deterministic fuzz pass over the batch, consent-records and deletion parsers, run in the suite: seeded
//! mutations of a valid body (bit flips, truncation, splices, type swaps) must each give a parsed body or a typed
//! 400, never a panic, and no altered consent record may verify. The coverage-guided version of the batch target
//! is `tests/fuzz` (`cargo +nightly fuzz run collector_batch`).

use footfall_collector::fuzzing::parse_batch;
use serde_json::{json, Value};

const ITERATIONS: usize = 20_000;

fn valid_body() -> Value {
    json!({
        "batch": [
            {"type": "track", "messageId": "01936f2e-8c1a-7cc4-9a53-6f3f8e0f6f7a", "timestamp": "2026-11-22T10:15:30.123Z",
             "anonymousId": "a", "event": "product_viewed", "properties": {"sku": "4901234567894", "price": 1980},
             "context": {"library": {"name": "footfall", "version": "0.1.0"},
                         "footfall": {"purpose": "analytics", "seq": 1, "sessionId": "s"}}},
            {"type": "identify", "messageId": "01936f2e-8c1a-7cc4-9a53-6f3f8e0f6f7b", "timestamp": "2026-11-22T10:15:31.000Z",
             "anonymousId": "a", "userId": "u", "traits": {"tier": "gold"}}
        ],
        "sentAt": "2026-11-22T10:20:00.000Z"
    })
}

fn random_value(rng: &mut fastrand::Rng) -> Value {
    match rng.u8(0..7) {
        0 => Value::Null,
        1 => json!(rng.bool()),
        2 => json!(rng.i64(..)),
        3 => json!(rng.f64() * 1e300),
        4 => json!((0..rng.usize(0..40)).map(|_| rng.char(..)).collect::<String>()),
        5 => json!([rng.u8(..)]),
        _ => json!({"k": rng.u32(..)}),
    }
}

/// Replaces one randomly chosen node of the JSON tree with a random value.
/// The `i`th fuzz input from `original`: a structural mutation of its JSON tree on even rounds, a byte-level one
/// on odd rounds.
fn mutated(original: &Value, i: usize, rng: &mut fastrand::Rng) -> Vec<u8> {
    if i.is_multiple_of(2) {
        let mut tree = original.clone();
        mutate_tree(&mut tree, rng);
        tree.to_string().into_bytes()
    } else {
        let mut bytes = original.to_string().into_bytes();
        mutate_bytes(&mut bytes, rng);
        bytes
    }
}

fn mutate_tree(value: &mut Value, rng: &mut fastrand::Rng) {
    match value {
        Value::Object(map) if !map.is_empty() && rng.u8(0..4) > 0 => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = &keys[rng.usize(0..keys.len())];
            if rng.u8(0..5) == 0 {
                map.remove(key);
            } else {
                mutate_tree(map.get_mut(key).expect("key exists"), rng);
            }
        }
        Value::Array(items) if !items.is_empty() && rng.u8(0..4) > 0 => {
            let i = rng.usize(0..items.len());
            mutate_tree(&mut items[i], rng);
        }
        other => *other = random_value(rng),
    }
}

fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut fastrand::Rng) {
    for _ in 0..rng.usize(1..8) {
        if bytes.is_empty() {
            bytes.push(rng.u8(..));
            continue;
        }
        let at = rng.usize(0..bytes.len());
        match rng.u8(0..4) {
            0 => bytes[at] ^= 1 << rng.u8(0..8),
            1 => bytes.truncate(at),
            2 => bytes.insert(at, rng.u8(..)),
            _ => {
                let end = (at + rng.usize(0..16)).min(bytes.len());
                let chunk = bytes[at..end].to_vec();
                let to = rng.usize(0..=bytes.len());
                bytes.splice(to..to, chunk);
            }
        }
    }
}

#[test]
fn the_valid_body_parses() {
    assert_eq!(parse_batch(valid_body().to_string().as_bytes(), &[]), Ok(2));
}

#[test]
fn mutated_bodies_never_panic_and_errors_are_typed() {
    let mut rng = fastrand::Rng::with_seed(0xF007_FA11);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..ITERATIONS {
        let body = mutated(&valid_body(), i, &mut rng);
        match parse_batch(&body, &["poison".into()]) {
            Ok(n) => {
                accepted += 1;
                assert!(n <= 2, "a mutation cannot add messages to the batch");
            }
            Err((code, message)) => {
                rejected += 1;
                assert!(matches!(code, "invalid_batch" | "invalid_event"), "{code}");
                assert!(!message.is_empty());
            }
        }
    }
    // The mutations must exercise both paths, or this test proves nothing.
    assert!(accepted > ITERATIONS / 50 && rejected > ITERATIONS / 2, "accepted {accepted}, rejected {rejected}");
}

/// The records example of docs/openapi.yaml: a chain of two records sealed from the documented canonical form.
fn valid_records() -> Value {
    let record = |id: &str, kind: &str, ts: i64, decisions: Value, prev: &str, hash: &str| {
        json!({"record_id": id, "kind": kind, "subject_id": "3f0b8f5e-2a52-4d7e-9d8e-5b7c2f0a9e11", "timestamp_ms": ts,
            "policy_version": 3, "notice_hash": "sha256:5d41402abc4b2a76b9719d911017c592", "decisions": decisions,
            "method": {"kind": "prompt", "prompt_id": "main"}, "jurisdiction": "gdpr", "app_version": "1.2.3", "sdk_version": "0.1.0",
            "prev_hash": prev, "hash": hash})
    };
    let first = "f8edaeaba76c55308d84a6154b6a8c1e2756030dfcb1a49a81524c0a388281e5";
    json!({"records": [
        record("01a202c0-a8aa-7a1b-8c2d-3e4f5a6b7c8d", "prompt_shown", 1_795_342_510_250, json!({}), &"0".repeat(64), first),
        record("01a202c0-ca78-7b2c-9d3e-4f5a6b7c8d9e", "decision", 1_795_342_518_904, json!({"analytics": true, "marketing": false}), first,
            "386985a8e64c0c6647bf70a12ef83de47633a0afbe7ffba731855771cc025a8b"),
    ], "sentAt": "2026-11-22T10:15:19.020Z"})
}

#[test]
fn mutated_consent_records_never_panic_and_no_altered_record_verifies() {
    use footfall_collector::fuzzing::parse_consent_records;
    let original = valid_records();
    assert_eq!(parse_consent_records(original.to_string().as_bytes()), Ok(2));
    let mut rng = fastrand::Rng::with_seed(0xC0_5E_17);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..ITERATIONS / 4 {
        let body = mutated(&original, i, &mut rng);
        match parse_consent_records(&body) {
            Ok(n) => {
                accepted += 1;
                // Whatever got through is made only of the original, untouched records.
                let parsed: Value = serde_json::from_slice(&body).unwrap();
                let records = parsed["records"].as_array().unwrap();
                assert_eq!(records.len(), n);
                for record in records {
                    assert!(
                        original["records"].as_array().unwrap().contains(record),
                        "an altered record verified: {record}"
                    );
                }
            }
            Err((code, message)) => {
                rejected += 1;
                assert!(matches!(code, "invalid_request" | "invalid_record"), "{code}");
                assert!(!message.is_empty());
            }
        }
    }
    assert!(accepted > 0 && rejected > ITERATIONS / 8, "accepted {accepted}, rejected {rejected}");
}

#[test]
fn mutated_deletion_requests_never_panic() {
    use footfall_collector::fuzzing::parse_deletion;
    let original = json!({"requestId": "01a202c2-3d10-7e4f-a1b2-c3d4e5f6a7b8", "anonymousIds": ["3f0b8f5e-2a52-4d7e-9d8e-5b7c2f0a9e11"],
        "userId": "shopper-42", "requestedAt": "2026-11-22T10:25:00.000Z"});
    assert!(parse_deletion(original.to_string().as_bytes()).is_ok());
    let mut rng = fastrand::Rng::with_seed(0xDE1E7E);
    for i in 0..ITERATIONS / 4 {
        let body = mutated(&original, i, &mut rng);
        if let Err(message) = parse_deletion(&body) {
            assert!(!message.is_empty());
        }
    }
}
