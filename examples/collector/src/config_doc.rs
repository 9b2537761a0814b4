//! What the collector itself checks of a remote config document before serving or importing it: JSON with a
//! `consent` object. The SDK validates the policy in it.

use serde_json::Value;

pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    match serde_json::from_slice::<Value>(bytes) {
        Err(e) => Err(format!("is not valid JSON: {e}")),
        Ok(Value::Object(root)) if root.get("consent").is_some_and(Value::is_object) => Ok(()),
        Ok(_) => Err("must be a JSON object with a \"consent\" object".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_with_a_consent_object_is_served() {
        assert!(check(br#"{"consent":{"policyVersion":1},"other":true}"#).is_ok());
        assert!(check(b"{").unwrap_err().contains("not valid JSON"));
        assert!(check(br#"{"consent":[]}"#).unwrap_err().contains("\"consent\" object"));
        assert!(check(br#"[]"#).is_err());
    }
}
