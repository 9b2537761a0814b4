//! Consent records as the SDK seals them (`core/src/consent/record.rs`), re-implemented so the collector stays
//! independent of the SDK: the same fields in the same order, so serde_json re-serializes a received record to
//! exactly the canonical JSON the SDK hashed. `tests/consent_hash.rs` proves the two implementations agree.
//!
//! Parsing is strict: a record with a field this file does not know could not be re-hashed, so it is refused by
//! name rather than failing verification with a puzzling "hash mismatch".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::timefmt::is_rfc3339;

/// One sealed record. Field order is the canonical order: do not reorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub record_id: String,
    pub kind: Kind,
    pub subject_id: String,
    pub timestamp_ms: i64,
    pub policy_version: u32,
    pub notice_hash: String,
    /// A sorted map, as the SDK's: keys serialize in byte order.
    pub decisions: BTreeMap<String, bool>,
    pub method: Method,
    pub jurisdiction: Jurisdiction,
    pub app_version: String,
    pub sdk_version: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    Decision,
    PromptShown,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Decision => "decision",
            Kind::PromptShown => "prompt_shown",
        }
    }
}

/// Internally tagged like the SDK's: `kind` first, then the variant's fields in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Method {
    Prompt { prompt_id: String },
    Settings,
    Api,
    TcfImport { cmp_id: u16 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Jurisdiction {
    Gdpr,
    Appi,
    Ccpa,
    Unknown,
}

impl Record {
    /// Lowercase hex SHA-256 of the record's compact JSON with `hash` set to "" (what the SDK computes).
    pub fn compute_hash(&self) -> String {
        let mut unsealed = self.clone();
        unsealed.hash = String::new();
        // Serializing plain strings, integers, bools and a BTreeMap cannot fail.
        let canonical = serde_json::to_vec(&unsealed).expect("a record serializes");
        hex(ring::digest::digest(&ring::digest::SHA256, &canonical).as_ref())
    }

    /// The sealed record as JSON (the canonical form, `hash` included): what is stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a record serializes")
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

const FIELDS: [&str; 13] = [
    "record_id",
    "kind",
    "subject_id",
    "timestamp_ms",
    "policy_version",
    "notice_hash",
    "decisions",
    "method",
    "jurisdiction",
    "app_version",
    "sdk_version",
    "prev_hash",
    "hash",
];

/// Checks the shape of one record (naming the first problem), parses it and verifies its hash.
/// The error text starts with `record <record_id>` (or `record at index N` when there is no usable id).
pub(crate) fn parse_record(index: usize, value: &Value) -> Result<Record, String> {
    let Value::Object(obj) = value else {
        return Err(format!("record at index {index}: must be a JSON object"));
    };
    let id = match obj.get("record_id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::String(_)) => return Err(format!("record at index {index}: record_id is empty")),
        Some(_) => return Err(format!("record at index {index}: record_id must be a string")),
        None => return Err(format!("record at index {index}: record_id is missing")),
    };
    let bad = |problem: String| format!("record {id}: {problem}");
    shape(obj).map_err(bad)?;
    let record: Record = serde_json::from_value(value.clone()).map_err(|e| bad(e.to_string()))?;
    let computed = record.compute_hash();
    if computed != record.hash {
        return Err(bad(format!(
            "hash {} does not match its content (computed {computed}): the record was altered after it was sealed",
            record.hash
        )));
    }
    Ok(record)
}

/// Every field present with the right JSON type, no unknown field; the message names the field.
fn shape(obj: &Map<String, Value>) -> Result<(), String> {
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("unknown field '{unknown}' (a record's hash covers exactly the v1 fields)"));
    }
    let get = |key: &str| obj.get(key).ok_or_else(|| format!("{key} is missing"));
    let string =
        |key: &str| -> Result<&str, String> { get(key)?.as_str().ok_or_else(|| format!("{key} must be a string")) };
    let one_of = |key: &str, allowed: &[&str]| -> Result<(), String> {
        let v = string(key)?;
        if allowed.contains(&v) {
            Ok(())
        } else {
            Err(format!("{key} '{v}' is not one of {}", allowed.join(", ")))
        }
    };
    one_of("kind", &["decision", "prompt_shown"])?;
    for key in ["subject_id", "notice_hash", "app_version", "sdk_version"] {
        string(key)?;
    }
    if get("timestamp_ms")?.as_i64().is_none() {
        return Err("timestamp_ms must be an integer (Unix milliseconds)".into());
    }
    if get("policy_version")?.as_u64().is_none_or(|v| v > u64::from(u32::MAX)) {
        return Err("policy_version must be an integer from 0 to 4294967295".into());
    }
    match get("decisions")? {
        Value::Object(map) => {
            if let Some((purpose, _)) = map.iter().find(|(_, v)| !v.is_boolean()) {
                return Err(format!("decisions.{purpose} must be true or false"));
            }
        }
        _ => return Err("decisions must be an object of purpose -> true/false".into()),
    }
    method(get("method")?)?;
    one_of("jurisdiction", &["gdpr", "appi", "ccpa", "unknown"])?;
    for key in ["prev_hash", "hash"] {
        if !is_hash(string(key)?) {
            return Err(format!("{key} must be 64 lowercase hex digits (a SHA-256)"));
        }
    }
    Ok(())
}

fn method(value: &Value) -> Result<(), String> {
    let Value::Object(m) = value else {
        return Err("method must be an object with a \"kind\"".into());
    };
    let kind = m.get("kind").and_then(Value::as_str).ok_or("method.kind is missing or not a string")?;
    let (field, ok): (Option<&str>, fn(&Value) -> bool) = match kind {
        "prompt" => (Some("prompt_id"), Value::is_string),
        "tcf_import" => (Some("cmp_id"), |v| v.as_u64().is_some_and(|n| n <= u64::from(u16::MAX))),
        "settings" | "api" => (None, |_| true),
        other => return Err(format!("method.kind '{other}' is not one of prompt, settings, api, tcf_import")),
    };
    if let Some(unknown) = m.keys().find(|k| k.as_str() != "kind" && Some(k.as_str()) != field) {
        return Err(format!("method: unknown field '{unknown}' for kind '{kind}'"));
    }
    if let Some(field) = field {
        match m.get(field) {
            Some(v) if ok(v) => {}
            Some(_) if field == "cmp_id" => return Err("method.cmp_id must be an integer from 0 to 65535".into()),
            Some(_) => return Err(format!("method.{field} must be a string")),
            None => return Err(format!("method.{field} is missing (kind '{kind}')")),
        }
    }
    Ok(())
}

/// A validated request.
#[derive(Debug)]
pub(crate) struct RecordBatch {
    pub records: Vec<Record>,
    pub sent_at: Option<String>,
}

/// `{"records": [...], "sentAt": ...}`; the error is (`invalid_request` or `invalid_record`, message).
pub(crate) fn parse_batch(body: &[u8]) -> Result<RecordBatch, (&'static str, String)> {
    let request = |m: String| ("invalid_request", m);
    let root: Value = serde_json::from_slice(body).map_err(|e| request(format!("body is not valid JSON: {e}")))?;
    let Value::Object(mut root) = root else {
        return Err(request("body must be a JSON object with a \"records\" array".into()));
    };
    let sent_at = match root.remove("sentAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_rfc3339(&s) => Some(s),
        Some(_) => return Err(request("\"sentAt\" must be an RFC 3339 timestamp".into())),
    };
    let Some(Value::Array(items)) = root.remove("records") else {
        return Err(request("\"records\" must be an array of consent records".into()));
    };
    let records = items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_record(index, item).map_err(|m| ("invalid_record", m)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch { records, sent_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sealed(mut value: Value) -> Value {
        value["hash"] = json!("");
        let record: Record = serde_json::from_value(value.clone()).unwrap();
        value["hash"] = json!(record.compute_hash());
        value
    }

    fn example() -> Value {
        sealed(
            json!({"record_id": "r1", "kind": "decision", "subject_id": "anon-1", "timestamp_ms": 1_795_000_000_000i64,
            "policy_version": 3, "notice_hash": "sha256:abc", "decisions": {"marketing": false, "analytics": true},
            "method": {"kind": "tcf_import", "cmp_id": 300}, "jurisdiction": "gdpr", "app_version": "1.2.3", "sdk_version": "0.1.0",
            "prev_hash": "0".repeat(64), "hash": ""}),
        )
    }

    #[test]
    fn canonical_form_is_field_order_sorted_decisions_kind_first() {
        let record = parse_record(0, &example()).unwrap();
        let mut unsealed = record.clone();
        unsealed.hash.clear();
        let text = serde_json::to_string(&unsealed).unwrap();
        assert!(
            text.starts_with(
                r#"{"record_id":"r1","kind":"decision","subject_id":"anon-1","timestamp_ms":1795000000000,"#
            ),
            "{text}"
        );
        assert!(text.contains(r#""decisions":{"analytics":true,"marketing":false},"method":{"kind":"tcf_import","cmp_id":300},"jurisdiction":"gdpr""#), "{text}");
        assert!(text.ends_with(&format!(r#""prev_hash":"{}","hash":""}}"#, "0".repeat(64))), "{text}");
    }

    #[test]
    fn problems_are_named() {
        let with = |key: &str, v: Value| {
            let mut r = example();
            r[key] = v;
            parse_record(4, &r).unwrap_err()
        };
        assert!(with("decisions", json!({"analytics": "yes"})).contains("decisions.analytics"));
        assert!(with("timestamp_ms", json!(1.5)).contains("timestamp_ms"));
        assert!(with("hash", json!("ABC")).contains("64 lowercase hex"));
        assert!(with("method", json!({"kind": "prompt"})).contains("prompt_id is missing"));
        assert!(with("method", json!({"kind": "api", "x": 1})).contains("unknown field 'x'"));
        assert!(with("jurisdiction", json!("lgpd")).contains("jurisdiction 'lgpd'"));
        assert!(with("extra", json!(1)).contains("unknown field 'extra'"));
        assert!(with("record_id", json!(7)).starts_with("record at index 4"));
        let edited = with("subject_id", json!("anon-2"));
        assert!(edited.starts_with("record r1: hash ") && edited.contains("altered"), "{edited}");
    }
}
