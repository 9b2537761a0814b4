//! The bytes of protocol v1 (`docs/protocol.md`): each queued message becomes a Segment-compatible JSON message,
//! batches are framed at send time with a fresh `sentAt`, and bodies are gzip-compressed.

use std::io::Write;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::clock::rfc3339_ms;
use crate::event::MessageKind;
use crate::storage::LeasedMessage;

pub const BATCH_PATH: &str = "/v1/batch";
pub const PROTOCOL_VERSION: &str = "1";
pub const LIBRARY_NAME: &str = "footfall";
pub const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message_id: String,
    timestamp: String,
    anonymous_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traits: Option<&'a RawValue>,
    context: WireContext<'a>,
}

#[derive(Serialize)]
struct WireContext<'a> {
    library: Library,
    footfall: FootfallContext<'a>,
}

#[derive(Serialize)]
struct Library {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FootfallContext<'a> {
    purpose: &'a str,
    seq: i64,
    session_id: &'a str,
}

/// One message's JSON, fixed for the life of a lease (only the batch's `sentAt` changes between attempts).
pub fn encode_message(message: &LeasedMessage) -> String {
    let payload: &RawValue =
        serde_json::from_str(&message.payload).unwrap_or_else(|_| serde_json::from_str("{}").expect("literal JSON"));
    let track = message.kind == MessageKind::Track;
    let wire = WireMessage {
        kind: if track { "track" } else { "identify" },
        message_id: message.id.to_string(),
        timestamp: rfc3339_ms(message.timestamp_ms),
        anonymous_id: &message.identity.anonymous_id,
        user_id: message.identity.user_id.as_deref(),
        event: track.then_some(message.name.as_str()),
        properties: track.then_some(payload),
        traits: (!track).then_some(payload),
        context: WireContext {
            library: Library { name: LIBRARY_NAME, version: LIBRARY_VERSION },
            footfall: FootfallContext {
                purpose: &message.purpose,
                seq: message.seq,
                session_id: &message.identity.session_id,
            },
        },
    };
    serde_json::to_string(&wire).unwrap_or_default()
}

/// Bytes a batch body adds around its messages, for sizing batches before they are framed.
pub const FRAME_OVERHEAD: usize = r#"{"batch":[],"sentAt":"2026-11-22T10:15:30.123Z"}"#.len();

/// `{"batch":[m1,m2,…],"sentAt":"…"}` from already-encoded messages.
pub fn batch_body<'a>(messages: impl IntoIterator<Item = &'a str>, sent_at_ms: i64) -> Vec<u8> {
    let mut body = Vec::with_capacity(4096);
    body.extend_from_slice(b"{\"batch\":[");
    for (i, message) in messages.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(message.as_bytes());
    }
    body.extend_from_slice(b"],\"sentAt\":\"");
    body.extend_from_slice(rfc3339_ms(sent_at_ms).as_bytes());
    body.extend_from_slice(b"\"}");
    body
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Identity;
    use serde_json::Value;
    use uuid::Uuid;

    fn message(kind: MessageKind, user: Option<&str>) -> LeasedMessage {
        LeasedMessage {
            seq: 7,
            id: Uuid::parse_str("01936f2e-8c1a-7cc4-9a53-6f3f8e0f6f7a").unwrap(),
            kind,
            name: "product_viewed".into(),
            payload: r#"{"sku":"4901234567894","price":1980}"#.into(),
            purpose: "analytics".into(),
            timestamp_ms: 1_795_000_000_123,
            identity: Identity {
                anonymous_id: "anon-1".into(),
                user_id: user.map(String::from),
                session_id: "sess-1".into(),
            },
        }
    }

    #[test]
    fn track_message_matches_the_protocol() {
        let json: Value = serde_json::from_str(&encode_message(&message(MessageKind::Track, None))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "track",
                "messageId": "01936f2e-8c1a-7cc4-9a53-6f3f8e0f6f7a",
                "timestamp": "2026-11-18T11:06:40.123Z",
                "anonymousId": "anon-1",
                "event": "product_viewed",
                "properties": {"sku": "4901234567894", "price": 1980},
                "context": {
                    "library": {"name": "footfall", "version": LIBRARY_VERSION},
                    "footfall": {"purpose": "analytics", "seq": 7, "sessionId": "sess-1"}
                }
            })
        );
    }

    #[test]
    fn identify_carries_traits_and_user_id() {
        let json: Value = serde_json::from_str(&encode_message(&message(MessageKind::Identify, Some("u-9")))).unwrap();
        assert_eq!(json["type"], "identify");
        assert_eq!(json["userId"], "u-9");
        assert_eq!(json["traits"]["price"], 1980);
        assert!(json.get("event").is_none() && json.get("properties").is_none());
    }

    #[test]
    fn batch_body_is_valid_json_and_gzip_round_trips() {
        let m = encode_message(&message(MessageKind::Track, None));
        let body = batch_body([m.as_str(), m.as_str()], 0);
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["batch"].as_array().unwrap().len(), 2);
        assert_eq!(json["sentAt"], "1970-01-01T00:00:00.000Z");
        let empty = batch_body(std::iter::empty(), 1_795_000_000_123);
        assert_eq!(empty.len(), FRAME_OVERHEAD);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzip(&body)[..]), &mut out).unwrap();
        assert_eq!(out, body);
    }
}
