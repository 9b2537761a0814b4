//! Parses and validates a batch body (protocol.md, "POST {base}/v1/batch"). Validation is all-or-nothing:
//! one bad message rejects the batch, so the SDK can bisect to the poison message.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::timefmt::is_rfc3339;

/// One validated message, flattened into the stored columns.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub id: String,
    pub kind: String,
    pub name: Option<String>,
    /// The properties (or traits) object as the client sent it: stored without being parsed or re-serialised.
    pub properties: String,
    pub purpose: Option<String>,
    pub timestamp: String,
    pub anonymous_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub seq: Option<i64>,
    pub raw: String,
}

#[derive(Debug)]
pub(crate) struct Batch {
    pub messages: Vec<Message>,
    pub sent_at: Option<String>,
}

/// Why a batch was refused; both map to 400 with the code as `error.code`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// The body is not a batch at all.
    Batch(String),
    /// A message inside is invalid; the text names it.
    Event(String),
}

impl Invalid {
    pub fn code(&self) -> &'static str {
        match self {
            Invalid::Batch(_) => "invalid_batch",
            Invalid::Event(_) => "invalid_event",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Invalid::Batch(m) | Invalid::Event(m) => m,
        }
    }
}

pub(crate) fn parse_batch(body: &[u8], reject_names: &[String]) -> Result<Batch, Invalid> {
    // The top level and each message are read as raw JSON first: a message is parsed once, and what is stored
    // verbatim (the message, its properties) is never rebuilt from parsed values.
    let Ok(mut root) = serde_json::from_slice::<BTreeMap<String, &RawValue>>(body) else {
        return Err(match serde_json::from_slice::<IgnoredAny>(body) {
            Err(e) => Invalid::Batch(format!("body is not valid JSON: {e}")),
            Ok(_) => Invalid::Batch("body must be a JSON object with a \"batch\" array".into()),
        });
    };
    let sent_at = match root.remove("sentAt").map(|raw| serde_json::from_str::<Value>(raw.get())) {
        None | Some(Ok(Value::Null)) => None,
        Some(Ok(Value::String(s))) if is_rfc3339(&s) => Some(s),
        Some(_) => return Err(Invalid::Batch("\"sentAt\" must be an RFC 3339 timestamp".into())),
    };
    let items = root
        .remove("batch")
        .and_then(|raw| serde_json::from_str::<Vec<&RawValue>>(raw.get()).ok())
        .ok_or_else(|| Invalid::Batch("\"batch\" must be an array of messages".into()))?;
    let messages = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| parse_message(index, item, reject_names))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Batch { messages, sent_at })
}

fn parse_message(index: usize, item: &RawValue, reject_names: &[String]) -> Result<Message, Invalid> {
    let not_object = || Invalid::Event(format!("event at index {index}: must be a JSON object"));
    let mut members = serde_json::from_str::<BTreeMap<String, &RawValue>>(item.get()).map_err(|_| not_object())?;
    // The properties (or traits) stay raw; the other members are small and read as values.
    let raw_properties = (members.remove("properties"), members.remove("traits"));
    let obj: Map<String, Value> = members
        .into_iter()
        .map(|(key, raw)| serde_json::from_str::<Value>(raw.get()).map(|value| (key, value)))
        .collect::<Result<_, _>>()
        .map_err(|_| not_object())?;
    let id = match obj.get("messageId") {
        Some(Value::String(id)) if is_uuid(id) => id.clone(),
        Some(Value::String(id)) => {
            return Err(Invalid::Event(format!("event at index {index}: messageId '{id}' is not a UUID")))
        }
        Some(_) => return Err(Invalid::Event(format!("event at index {index}: messageId must be a string"))),
        None => return Err(Invalid::Event(format!("event at index {index}: messageId is missing"))),
    };
    let bad = |problem: String| Invalid::Event(format!("event {id}: {problem}"));

    let kind = match obj.get("type").and_then(Value::as_str) {
        Some(t @ ("track" | "identify")) => t.to_string(),
        Some(other) => return Err(bad(format!("type '{other}' is not supported (expected track or identify)"))),
        None => return Err(bad("type is missing or not a string".into())),
    };
    let timestamp = match obj.get("timestamp").and_then(Value::as_str) {
        Some(ts) if is_rfc3339(ts) => ts.to_string(),
        Some(ts) => return Err(bad(format!("timestamp '{ts}' is not RFC 3339"))),
        None => return Err(bad("timestamp is missing or not a string".into())),
    };
    let name = if kind == "track" {
        match obj.get("event").and_then(Value::as_str) {
            Some("") | None => return Err(bad("a track event needs a non-empty \"event\" name".into())),
            Some(name) if reject_names.iter().any(|r| r == name) => {
                return Err(bad(format!("name '{name}' is rejected by this collector")));
            }
            Some(name) => Some(name.to_string()),
        }
    } else {
        None
    };
    let (props_key, props) = match kind.as_str() {
        "track" => ("properties", raw_properties.0),
        _ => ("traits", raw_properties.1),
    };
    let properties = match props.map(|raw| raw.get().trim_start()) {
        None => "{}".to_owned(),
        Some(text) if text.starts_with("null") => "{}".to_owned(),
        // RawValue holds valid JSON only, so one that opens with `{` is an object.
        Some(text) if text.starts_with('{') => text.trim_end().to_owned(),
        Some(_) => return Err(bad(format!("\"{props_key}\" must be an object"))),
    };
    let anonymous_id = optional_str(&obj, "anonymousId").map_err(bad)?;
    let user_id = optional_str(&obj, "userId").map_err(bad)?;

    let footfall = match obj.get("context").map(|c| (c, c.get("footfall"))) {
        None | Some((Value::Null, _)) => None,
        Some((Value::Object(_), None | Some(Value::Null))) => None,
        Some((Value::Object(_), Some(Value::Object(f)))) => Some(f),
        Some((Value::Object(_), Some(_))) => return Err(bad("context.footfall must be an object".into())),
        Some(_) => return Err(bad("context must be an object".into())),
    };
    let (purpose, session_id, seq) = match footfall {
        None => (None, None, None),
        Some(f) => {
            let seq = match f.get("seq") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_i64().ok_or_else(|| bad("context.footfall.seq must be an integer".into()))?),
            };
            let purpose = optional_str(f, "purpose").map_err(|p| bad(format!("context.footfall.{p}")))?;
            let session = optional_str(f, "sessionId").map_err(|p| bad(format!("context.footfall.{p}")))?;
            (purpose, session, seq)
        }
    };

    let raw = item.get().to_owned();
    Ok(Message { id, kind, name, properties, purpose, timestamp, anonymous_id, user_id, session_id, seq, raw })
}

/// Absent or null -> None; a string -> Some; anything else is an error naming the field.
fn optional_str(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

/// The canonical hyphenated form, 8-4-4-4-12 hex digits, any version.
pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "01936f2e-8c1a-7cc4-9a53-6f3f8e0f6f7a";

    fn one(msg: Value) -> Result<Batch, Invalid> {
        parse_batch(
            json!({"batch": [msg], "sentAt": "2026-11-22T10:20:00.000Z"}).to_string().as_bytes(),
            &["poison".into()],
        )
    }

    #[test]
    fn full_track_message_flattens() {
        let b = one(json!({"type":"track","messageId":ID,"timestamp":"2026-11-22T10:15:30.123Z","anonymousId":"a","userId":"u",
            "event":"product_viewed","properties":{"sku":"1"},"context":{"footfall":{"purpose":"analytics","seq":42,"sessionId":"s"}}}))
        .unwrap();
        let m = &b.messages[0];
        assert_eq!(
            (m.name.as_deref(), m.purpose.as_deref(), m.seq, m.session_id.as_deref()),
            (Some("product_viewed"), Some("analytics"), Some(42), Some("s"))
        );
        assert_eq!(serde_json::from_str::<Value>(&m.properties).unwrap(), json!({"sku":"1"}));
        assert_eq!(b.sent_at.as_deref(), Some("2026-11-22T10:20:00.000Z"));
    }

    #[test]
    fn properties_and_the_message_are_kept_as_sent() {
        let body = format!(
            r#"{{"batch": [ {{"type":"track", "messageId":"{ID}", "timestamp":"2026-11-22T10:15:30.123Z", "event":"e",
            "properties": {{ "sku" : "1", "n": 1.50 }} }} ], "sentAt": null}}"#
        );
        let batch = parse_batch(body.as_bytes(), &[]).unwrap();
        let m = &batch.messages[0];
        assert_eq!(m.properties, r#"{ "sku" : "1", "n": 1.50 }"#, "not re-serialised: 1.50 stays 1.50");
        assert!(m.raw.starts_with(r#"{"type":"track", "messageId""#) && m.raw.ends_with("} }"), "{}", m.raw);
        let null = one(
            json!({"type":"track","messageId":ID,"timestamp":"2026-11-22T10:15:30.123Z","event":"e","properties":null}),
        );
        assert_eq!(null.unwrap().messages[0].properties, "{}");
    }

    #[test]
    fn identify_keeps_traits() {
        let b = one(
            json!({"type":"identify","messageId":ID,"timestamp":"2026-11-22T10:15:30.123Z","traits":{"tier":"gold"}}),
        )
        .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&b.messages[0].properties).unwrap(), json!({"tier":"gold"}));
        assert_eq!(b.messages[0].name, None);
    }

    #[test]
    fn rejections_name_the_problem() {
        let base = json!({"type":"track","messageId":ID,"timestamp":"2026-11-22T10:15:30.123Z","event":"e"});
        let with = |k: &str, v: Value| {
            let mut m = base.clone();
            m[k] = v;
            one(m).unwrap_err()
        };
        assert!(with("messageId", json!("nope")).message().contains("not a UUID"));
        assert!(with("type", json!("page")).message().contains("type 'page'"));
        assert!(with("timestamp", json!("yesterday")).message().contains("RFC 3339"));
        assert!(with("event", json!("")).message().contains("non-empty"));
        assert_eq!(
            with("event", json!("poison")).message(),
            format!("event {ID}: name 'poison' is rejected by this collector")
        );
        assert!(with("context", json!({"footfall":{"seq":"x"}})).message().contains("seq"));
        assert!(with("properties", json!([1])).message().contains("\"properties\" must be an object"));
        assert!(with("properties", json!("x")).message().contains("must be an object"));
        let not_object = parse_batch(br#"{"batch":[42]}"#, &[]).unwrap_err();
        assert_eq!(not_object.message(), "event at index 0: must be a JSON object");
        assert_eq!(parse_batch(b"{", &[]).unwrap_err().code(), "invalid_batch");
        assert!(parse_batch(b"{", &[]).unwrap_err().message().starts_with("body is not valid JSON"));
        assert!(parse_batch(b"[]", &[]).unwrap_err().message().contains("must be a JSON object"));
        assert_eq!(parse_batch(b"[]", &[]).unwrap_err().code(), "invalid_batch");
        assert_eq!(parse_batch(br#"{"batch":{}}"#, &[]).unwrap_err().code(), "invalid_batch");
    }
}
