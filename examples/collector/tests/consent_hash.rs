//! The collector re-implements the consent record hash instead of depending on the SDK. These tests feed it records
//! sealed by the SDK's own `NewRecord::chain`, over every method and kind and awkward strings, so the two
//! implementations are proven to agree byte for byte; and show that an edit the SDK detects, the collector does too.

use std::collections::BTreeMap;

use footfall_collector::fuzzing::parse_consent_records;
use footfall_core::consent::purpose::Jurisdiction;
use footfall_core::consent::record::{verify_chain, ConsentRecord, Method, NewRecord, RecordKind, GENESIS_HASH};
use serde_json::{json, Value};

fn new(
    id: &str,
    kind: RecordKind,
    method: Method,
    jurisdiction: Jurisdiction,
    decisions: &[(&str, bool)],
) -> NewRecord {
    NewRecord {
        record_id: id.into(),
        kind,
        subject_id: "3f0b8f5e-2a52-4d7e-9d8e-5b7c2f0a9e11".into(),
        timestamp_ms: 1_795_000_000_123,
        policy_version: 3,
        notice_hash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        decisions: decisions.iter().map(|(p, g)| (p.to_string(), *g)).collect::<BTreeMap<_, _>>(),
        method,
        jurisdiction,
        app_version: "1.2.3".into(),
    }
}

/// A chain covering every method, both kinds, every jurisdiction, unsorted decision keys, and strings that need
/// escaping or are not ASCII.
fn sdk_chain() -> Vec<ConsentRecord> {
    let records = vec![
        new(
            "r-prompt-shown",
            RecordKind::PromptShown,
            Method::Prompt { prompt_id: "main".into() },
            Jurisdiction::Gdpr,
            &[],
        ),
        new(
            "r-prompt",
            RecordKind::Decision,
            Method::Prompt { prompt_id: "main".into() },
            Jurisdiction::Gdpr,
            &[("marketing", false), ("analytics", true)],
        ),
        new("r-settings", RecordKind::Decision, Method::Settings, Jurisdiction::Appi, &[("location", true)]),
        new(
            "r-api",
            RecordKind::Decision,
            Method::Api,
            Jurisdiction::Ccpa,
            &[("personalization", false), ("loyalty_sync", true)],
        ),
        new(
            "r-tcf",
            RecordKind::Decision,
            Method::TcfImport { cmp_id: 65_535 },
            Jurisdiction::Unknown,
            &[("analytics", true)],
        ),
        {
            let mut odd = new(
                "r-\"quoted\"\\ \u{1f}\n\t/é漢字🙂\u{2028}",
                RecordKind::Decision,
                Method::Prompt { prompt_id: "ｐ\u{7f}".into() },
                Jurisdiction::Gdpr,
                &[("é", true), ("z", false), ("a-b_c", true)],
            );
            odd.timestamp_ms = -1;
            odd.policy_version = u32::MAX;
            odd.app_version = String::new();
            odd
        },
    ];
    let mut out: Vec<ConsentRecord> = Vec::new();
    for record in records {
        let prev = out.last().map_or(GENESIS_HASH.to_string(), |r| r.hash.clone());
        out.push(record.chain(&prev));
    }
    assert!(verify_chain(&out).is_ok());
    out
}

fn body(records: &[Value]) -> Vec<u8> {
    json!({"records": records, "sentAt": "2026-11-22T10:20:00.000Z"}).to_string().into_bytes()
}

#[test]
fn records_sealed_by_the_sdk_verify_in_the_collector() {
    let chain = sdk_chain();
    let values: Vec<Value> = chain.iter().map(|r| serde_json::to_value(r).unwrap()).collect();
    assert_eq!(parse_consent_records(&body(&values)), Ok(chain.len()));

    // Byte-exact too: the SDK's own serialization of each record, spliced in verbatim as it would be sent.
    let verbatim = format!(
        r#"{{"records":[{}],"sentAt":"2026-11-22T10:20:00.000Z"}}"#,
        chain.iter().map(|r| serde_json::to_string(r).unwrap()).collect::<Vec<_>>().join(",")
    );
    assert_eq!(parse_consent_records(verbatim.as_bytes()), Ok(chain.len()));
}

#[test]
fn an_edit_the_sdk_detects_the_collector_refuses_naming_the_record() {
    let chain = sdk_chain();
    type Edit = Box<dyn Fn(&mut ConsentRecord)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("a decision", Box::new(|r| *r.decisions.get_mut("analytics").unwrap() ^= true)),
        ("the time", Box::new(|r| r.timestamp_ms += 1)),
        ("the method", Box::new(|r| r.method = Method::Api)),
        ("the link", Box::new(|r| r.prev_hash = GENESIS_HASH.into())),
        ("the sdk version", Box::new(|r| r.sdk_version.push('x'))),
    ];
    for (what, edit) in edits {
        let mut tampered = chain.clone();
        edit(&mut tampered[1]);
        assert!(verify_chain(&tampered).is_err(), "{what}: the SDK detects it");
        let values: Vec<Value> = tampered.iter().map(|r| serde_json::to_value(r).unwrap()).collect();
        let (code, message) = parse_consent_records(&body(&values)).unwrap_err();
        assert_eq!(code, "invalid_record", "{what}");
        assert!(message.starts_with("record r-prompt: hash "), "{what}: {message}");
    }
}
