//! What the app records, and the checks applied before anything is accepted.

use serde_json::Value;
use uuid::Uuid;

use crate::error::ValidationError;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_PROPERTIES_BYTES: usize = 32 * 1024;
pub const MAX_DEPTH: usize = 16;
pub const MAX_USER_ID_CHARS: usize = 256;
pub const DEFAULT_PURPOSE: &str = "analytics";

/// An event as the app describes it: `Event::new("product_viewed").properties(json!({...}))`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub properties: Value,
    /// The consent purpose this event serves; `analytics` unless set.
    pub purpose: String,
}

impl Event {
    pub fn new(name: impl Into<String>) -> Self {
        Event { name: name.into(), properties: Value::Object(Default::default()), purpose: DEFAULT_PURPOSE.into() }
    }

    pub fn properties(mut self, properties: Value) -> Self {
        self.properties = properties;
        self
    }

    pub fn purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = purpose.into();
        self
    }
}

/// Whether a queued message records an event or an identity change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Track = 0,
    Identify = 1,
}

impl MessageKind {
    pub fn from_i64(v: i64) -> Self {
        if v == 1 {
            MessageKind::Identify
        } else {
            MessageKind::Track
        }
    }
}

/// A validated message on its way from the caller's thread to the storage writer. Its name, payload and purpose
/// share one buffer: one allocation made on the caller's thread and one handed back after the commit (see
/// [`crate::writer::recycle`]), instead of three strings the writer frees into the caller's heap — with glibc that
/// free takes the caller's arena lock, and the writer slept on it once every few dozen events.
#[derive(Debug, Clone)]
pub struct PendingMessage {
    pub id: Uuid,
    pub kind: MessageKind,
    text: MessageText,
    pub timestamp_ms: i64,
    /// Set for identify: the user id the following events carry.
    pub user_id: Option<String>,
}

impl PendingMessage {
    /// A message from its parts, `payload` already serialized (tests, and messages the core records itself).
    pub fn new(
        id: Uuid,
        kind: MessageKind,
        name: &str,
        payload: &str,
        purpose: &str,
        timestamp_ms: i64,
        user_id: Option<String>,
    ) -> Self {
        let mut buf = String::with_capacity(name.len() + payload.len() + purpose.len());
        buf.push_str(name);
        let name_end = buf.len();
        buf.push_str(payload);
        let payload_end = buf.len();
        buf.push_str(purpose);
        PendingMessage { id, kind, text: MessageText { buf, name_end, payload_end }, timestamp_ms, user_id }
    }

    pub(crate) fn from_text(
        id: Uuid,
        kind: MessageKind,
        text: MessageText,
        timestamp_ms: i64,
        user_id: Option<String>,
    ) -> Self {
        PendingMessage { id, kind, text, timestamp_ms, user_id }
    }

    /// Event name; empty for identify.
    pub fn name(&self) -> &str {
        self.text.name()
    }

    /// Serialized JSON object: properties for track, traits for identify.
    pub fn payload(&self) -> &str {
        self.text.payload()
    }

    pub fn purpose(&self) -> &str {
        self.text.purpose()
    }

    /// Bytes this message costs against the storage and hand-off byte limits.
    pub fn size(&self) -> usize {
        self.text.buf.len() + self.user_id.as_ref().map_or(0, |u| u.len()) + 40
    }

    /// The shared buffer, for reuse once the message is stored.
    pub(crate) fn into_buffer(self) -> String {
        self.text.buf
    }
}

/// A message's name, serialized payload and purpose, in that order in one string.
#[derive(Debug, Clone)]
pub(crate) struct MessageText {
    buf: String,
    name_end: usize,
    payload_end: usize,
}

impl MessageText {
    /// Checks an event's parts and writes them into `buf` (emptied first; its capacity is what is reused). On a
    /// refusal the buffer is handed back with the error.
    pub(crate) fn write(
        buf: String,
        name: &str,
        properties: &Value,
        purpose: &str,
    ) -> Result<MessageText, (ValidationError, String)> {
        let checked = validate_name(name).and_then(|()| validate_purpose(purpose));
        if let Err(e) = checked {
            return Err((e, buf));
        }
        Self::compose(buf, name, properties, purpose)
    }

    /// [`Self::write`] without the name and purpose checks: for an identify (no name, the default purpose).
    pub(crate) fn compose(
        mut buf: String,
        name: &str,
        properties: &Value,
        purpose: &str,
    ) -> Result<MessageText, (ValidationError, String)> {
        buf.clear();
        buf.push_str(name);
        let name_end = buf.len();
        let mut bytes = buf.into_bytes();
        if let Err(e) = write_object(&mut bytes, properties) {
            bytes.clear();
            // Empty, so valid UTF-8.
            return Err((e, String::from_utf8(bytes).unwrap_or_default()));
        }
        // serde_json writes UTF-8 only, and the name before it is a `&str`.
        let mut buf = String::from_utf8(bytes).unwrap_or_default();
        let payload_end = buf.len();
        buf.push_str(purpose);
        Ok(MessageText { buf, name_end, payload_end })
    }

    pub(crate) fn name(&self) -> &str {
        &self.buf[..self.name_end]
    }

    pub(crate) fn payload(&self) -> &str {
        &self.buf[self.name_end..self.payload_end]
    }

    pub(crate) fn purpose(&self) -> &str {
        &self.buf[self.payload_end..]
    }
}

pub fn validate_name(name: &str) -> Result<(), ValidationError> {
    if name.trim().is_empty() {
        return Err(ValidationError::EmptyName);
    }
    let len = name.chars().count();
    if len > MAX_NAME_CHARS {
        return Err(ValidationError::NameTooLong { len, max: MAX_NAME_CHARS });
    }
    Ok(())
}

pub fn validate_purpose(purpose: &str) -> Result<(), ValidationError> {
    let ok = !purpose.is_empty()
        && purpose.len() <= 64
        && purpose.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::InvalidPurpose(purpose.chars().take(80).collect()))
    }
}

pub fn validate_user_id(user_id: &str) -> Result<(), ValidationError> {
    if user_id.trim().is_empty() {
        return Err(ValidationError::EmptyUserId);
    }
    let len = user_id.chars().count();
    if len > MAX_USER_ID_CHARS {
        return Err(ValidationError::UserIdTooLong { len, max: MAX_USER_ID_CHARS });
    }
    Ok(())
}

/// Checks a properties/traits value and returns it serialized (the form stored and sent).
pub fn serialize_object(value: &Value) -> Result<String, ValidationError> {
    // Sized for a typical retail event so serialization does not grow the buffer several times.
    let mut buf = Vec::with_capacity(256);
    write_object(&mut buf, value)?;
    // serde_json writes UTF-8 only.
    String::from_utf8(buf).map_err(|e| ValidationError::InvalidJson(e.to_string()))
}

/// Checks a properties/traits value and appends it serialized to `buf`.
fn write_object(buf: &mut Vec<u8>, value: &Value) -> Result<(), ValidationError> {
    let Value::Object(_) = value else {
        return Err(ValidationError::NotAnObject(type_name(value)));
    };
    let depth = depth(value);
    if depth > MAX_DEPTH {
        return Err(ValidationError::TooDeep { depth, max: MAX_DEPTH });
    }
    let start = buf.len();
    serde_json::to_writer(&mut *buf, value).map_err(|e| ValidationError::InvalidJson(e.to_string()))?;
    let size = buf.len() - start;
    if size > MAX_PROPERTIES_BYTES {
        return Err(ValidationError::TooLarge { size, max: MAX_PROPERTIES_BYTES });
    }
    Ok(())
}

/// Parses properties given as JSON text (the form the FFI passes) and checks them.
pub fn parse_object(json: &str) -> Result<Value, ValidationError> {
    if json.len() > 4 * MAX_PROPERTIES_BYTES {
        return Err(ValidationError::TooLarge { size: json.len(), max: MAX_PROPERTIES_BYTES });
    }
    let value: Value = serde_json::from_str(json).map_err(|e| ValidationError::InvalidJson(e.to_string()))?;
    Ok(value)
}

/// An event id handed over by a foreign layer that stamped it (a UUID in its text form).
pub fn parse_id(id: &str) -> Result<Uuid, ValidationError> {
    Uuid::parse_str(id).map_err(|e| ValidationError::InvalidJson(format!("not an event id: {e}")))
}

/// Nesting depth: a scalar is 0, `{}` is 1, `{"a":{}}` is 2.
fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        (1..levels).fold(json!({}), |inner, _| json!({ "a": inner }))
    }

    #[test]
    fn names_must_be_present_and_short() {
        assert_eq!(validate_name(""), Err(ValidationError::EmptyName));
        assert_eq!(validate_name("   "), Err(ValidationError::EmptyName));
        assert!(validate_name(&"é".repeat(200)).is_ok(), "200 characters is the limit, counted in chars");
        assert_eq!(validate_name(&"x".repeat(201)), Err(ValidationError::NameTooLong { len: 201, max: 200 }));
    }

    #[test]
    fn properties_must_be_an_object() {
        assert_eq!(serialize_object(&json!([1])), Err(ValidationError::NotAnObject("an array")));
        assert_eq!(serialize_object(&json!(null)), Err(ValidationError::NotAnObject("null")));
        assert_eq!(serialize_object(&json!({"sku": "1"})).unwrap(), r#"{"sku":"1"}"#);
    }

    #[test]
    fn depth_limit_is_sixteen_levels() {
        assert!(serialize_object(&nested(16)).is_ok());
        assert_eq!(serialize_object(&nested(17)), Err(ValidationError::TooDeep { depth: 17, max: 16 }));
    }

    #[test]
    fn size_limit_is_32_kib_serialized() {
        let fits = json!({ "s": "x".repeat(MAX_PROPERTIES_BYTES - 8) });
        assert_eq!(serde_json::to_string(&fits).unwrap().len(), MAX_PROPERTIES_BYTES);
        assert!(serialize_object(&fits).is_ok());
        let over = json!({ "s": "x".repeat(MAX_PROPERTIES_BYTES - 7) });
        assert!(matches!(serialize_object(&over), Err(ValidationError::TooLarge { .. })));
    }

    #[test]
    fn a_message_text_keeps_its_three_parts_apart_in_one_buffer() {
        let reused = String::from("left over from the last event");
        let text = MessageText::write(reused, "product_viewed", &json!({"sku": "é1"}), "marketing").unwrap();
        assert_eq!((text.name(), text.payload(), text.purpose()), ("product_viewed", r#"{"sku":"é1"}"#, "marketing"));
        let message = PendingMessage::from_text(Uuid::nil(), MessageKind::Track, text, 0, None);
        assert_eq!(message.size(), "product_viewed".len() + r#"{"sku":"é1"}"#.len() + "marketing".len() + 40);
    }

    #[test]
    fn a_refused_message_text_hands_its_buffer_back_with_the_error() {
        let buffer = String::with_capacity(512);
        let address = buffer.as_ptr();
        let (error, back) = MessageText::write(buffer, "ok", &json!([1]), "analytics").unwrap_err();
        assert_eq!(error, ValidationError::NotAnObject("an array"));
        assert_eq!((back.as_ptr(), back.len()), (address, 0), "the same allocation, emptied");
        let (error, _) = MessageText::write(String::new(), " ", &json!({}), "analytics").unwrap_err();
        assert_eq!(error, ValidationError::EmptyName);
        let (error, _) = MessageText::write(String::new(), "ok", &nested(17), "analytics").unwrap_err();
        assert_eq!(error, ValidationError::TooDeep { depth: 17, max: 16 });
    }

    #[test]
    fn purposes_are_simple_ids() {
        for ok in ["analytics", "marketing", "custom_1", "a-b"] {
            assert!(validate_purpose(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Analytics", "with space", &"x".repeat(65)] {
            assert!(validate_purpose(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_rejects_malformed_json() {
        assert!(matches!(parse_object("{"), Err(ValidationError::InvalidJson(_))));
        assert!(parse_object(r#"{"a":1}"#).is_ok());
    }
}
