//! A served document in which an object names a member twice is refused: JSON parsers disagree on which value
//! wins (first, last, or an error), so a product team's console and the SDK could read two different policies
//! from the same bytes. App-supplied properties are different: there the last value wins, as documented.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// `Err` naming the first member that appears twice in one object, at any depth; also `Err` for invalid JSON.
pub(crate) fn check(json: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<Checked>(json).map(|_| ()).map_err(|e| e.to_string())
}

struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("member '{key}' appears twice in one object")));
            }
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn a_repeated_member_is_found_at_any_depth() {
        assert!(check(br#"{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}"#).is_ok());
        for doc in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"consent":{"policyVersion":1,"policyVersion":2}}}"#,
            r#"[{"k":[{"id":1,"id":1}]}]"#,
        ] {
            let err = check(doc.as_bytes()).unwrap_err();
            assert!(err.contains("appears twice"), "{doc}: {err}");
        }
        assert!(
            check(br#"{"a":"\u0061","\u0061":1}"#).unwrap_err().contains("'a' appears twice"),
            "escaped names are compared decoded"
        );
        assert!(check(b"{").is_err());
    }
}
