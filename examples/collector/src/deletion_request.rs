//! A deletion request body (`POST /v1/rights/deletion`), parsed and validated: what the handler stores.

use serde_json::Value;

use crate::timefmt::is_rfc3339;
use crate::validate::is_uuid;

/// A validated request.
#[derive(Debug, Clone)]
pub(crate) struct DeletionRequest {
    pub request_id: String,
    pub anonymous_ids: Vec<String>,
    pub user_id: Option<String>,
    pub requested_at: String,
    /// The body as received (decoded), kept verbatim.
    pub raw: String,
}

pub(crate) fn parse(body: &[u8]) -> Result<DeletionRequest, String> {
    let root: Value = serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    let Value::Object(obj) = &root else {
        return Err("body must be a JSON object (a deletion request)".into());
    };
    let request_id = match obj.get("requestId") {
        Some(Value::String(id)) if is_uuid(id) => id.clone(),
        Some(Value::String(id)) => return Err(format!("requestId '{id}' is not a UUID")),
        Some(_) => return Err("requestId must be a string".into()),
        None => return Err("requestId is missing".into()),
    };
    let bad = |problem: &str| format!("deletion request {request_id}: {problem}");
    let anonymous_ids = match obj.get("anonymousIds") {
        Some(Value::Array(ids)) if !ids.is_empty() => ids
            .iter()
            .map(|id| id.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("anonymousIds must hold non-empty strings only"))?,
        Some(Value::Array(_)) => {
            return Err(bad("anonymousIds is empty (it lists every anonymous id the install used)"))
        }
        Some(_) => return Err(bad("anonymousIds must be an array of strings")),
        None => return Err(bad("anonymousIds is missing")),
    };
    let user_id = match obj.get("userId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(_) => return Err(bad("userId must be a non-blank string when present")),
    };
    let requested_at = match obj.get("requestedAt") {
        Some(Value::String(s)) if is_rfc3339(s) => s.clone(),
        Some(_) => return Err(bad("requestedAt must be an RFC 3339 timestamp")),
        None => return Err(bad("requestedAt is missing")),
    };
    Ok(DeletionRequest { request_id, anonymous_ids, user_id, requested_at, raw: root.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01936f2e-8c1a-7cc4-9a53-6f3f8e0f6f7a";

    #[test]
    fn valid_and_invalid_requests() {
        let ok = parse(format!(r#"{{"requestId":"{ID}","anonymousIds":["a","b"],"userId":null,"requestedAt":"2026-11-22T10:15:30.123Z","x":1}}"#).as_bytes()).unwrap();
        assert_eq!((ok.anonymous_ids.len(), ok.user_id), (2, None));
        for (body, needle) in [
            ("[]".to_string(), "JSON object"),
            (r#"{"requestId":"nope"}"#.to_string(), "not a UUID"),
            (format!(r#"{{"requestId":"{ID}","anonymousIds":[],"requestedAt":"2026-11-22T10:15:30.123Z"}}"#), "empty"),
            (
                format!(r#"{{"requestId":"{ID}","anonymousIds":[1],"requestedAt":"2026-11-22T10:15:30.123Z"}}"#),
                "non-empty strings",
            ),
            (format!(r#"{{"requestId":"{ID}","anonymousIds":["a"],"requestedAt":"soon"}}"#), "RFC 3339"),
            (
                format!(
                    r#"{{"requestId":"{ID}","anonymousIds":["a"],"userId":" ","requestedAt":"2026-11-22T10:15:30.123Z"}}"#
                ),
                "userId",
            ),
        ] {
            let err = parse(body.as_bytes()).unwrap_err();
            assert!(err.contains(needle), "{body}: {err}");
        }
    }
}
