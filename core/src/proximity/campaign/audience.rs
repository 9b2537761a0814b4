//! Audience rules: "shoppers who sent `product_viewed` with `category = shoes` at least twice in the last 14
//! days". The rule only says what to count; the storage counts matching events per day under
//! [`AudienceRule::key`] and the decision asks it for the sum over `within_days`. Counting needs the
//! `personalization` consent; the decision refuses audience-gated offers without it.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use super::error::{clip, Problem};

/// The longest look-back a rule may ask for: the storage keeps daily counts this long.
pub const MAX_WITHIN_DAYS: u32 = 90;
/// Most `where` members one rule may test.
pub const MAX_WHERE_MEMBERS: usize = 16;
const MAX_WHERE_NAME_CHARS: usize = 64;
const MAX_WHERE_STRING_CHARS: usize = 256;
/// Floats with no fraction up to this magnitude are kept as integers, so `2` and `2.0` give one key.
const EXACT_FLOAT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Shoppers who sent `event` with every `where_` member equal to the event's top-level property of that name, at
/// least `at_least` times in the last `within_days` days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceRule {
    pub event: String,
    /// Scalar values only (string, number, boolean); numbers with no fraction are stored as integers.
    pub where_: BTreeMap<String, Value>,
    pub at_least: u32,
    pub within_days: u32,
}

impl AudienceRule {
    /// Checks the event name and the `where` members; the counts were range-checked by the caller.
    pub fn new(
        event: String,
        where_: Map<String, Value>,
        at_least: u32,
        within_days: u32,
    ) -> Result<AudienceRule, Problem> {
        if crate::event::validate_name(&event).is_err() {
            return Err(Problem::BadEvent(clip(&event)));
        }
        if where_.len() > MAX_WHERE_MEMBERS {
            let member = where_.keys().nth(MAX_WHERE_MEMBERS).map(|k| clip(k)).unwrap_or_default();
            return Err(Problem::BadWhere { member, reason: "more than 16 members" });
        }
        let mut normalized = BTreeMap::new();
        for (name, value) in where_ {
            let bad = |reason| Problem::BadWhere { member: clip(&name), reason };
            if name.is_empty() || name.chars().count() > MAX_WHERE_NAME_CHARS {
                return Err(bad("a property name is 1 to 64 characters"));
            }
            let value = match value {
                Value::String(s) if s.chars().count() > MAX_WHERE_STRING_CHARS => {
                    return Err(bad("strings are at most 256 characters"))
                }
                Value::Number(n) => Value::Number(normalized_number(n)),
                Value::String(_) | Value::Bool(_) => value,
                Value::Null | Value::Array(_) | Value::Object(_) => {
                    return Err(bad("only strings, numbers and booleans can be compared"))
                }
            };
            normalized.insert(name, value);
        }
        Ok(AudienceRule { event, where_: normalized, at_least, within_days })
    }

    /// Whether one event counts for this rule: same name, and each `where` member equal to the top-level
    /// property of that name (strings exactly, numbers by value so `2` equals `2.0`, booleans as such).
    pub fn matches(&self, event_name: &str, properties: &Value) -> bool {
        event_name == self.event
            && self.where_.iter().all(|(name, wanted)| properties.get(name).is_some_and(|found| same(wanted, found)))
    }

    /// A stable short id of what is counted (event and `where`, not the thresholds): 32 hex digits of SHA-256
    /// over a canonical JSON form. The same rule in a later document, even with another `atLeast` or
    /// `withinDays`, keeps its counts.
    pub fn key(&self) -> String {
        // serde_json writes a BTreeMap in key order and normalized numbers one way: the form is canonical.
        let canonical = serde_json::json!(["footfall.audience.v1", self.event, self.where_]).to_string();
        let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        digest.as_ref().iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

fn normalized_number(n: Number) -> Number {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() <= EXACT_FLOAT_INTEGER => Number::from(f as i64),
        _ => n,
    }
}

fn same(wanted: &Value, found: &Value) -> bool {
    match (wanted, found) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
            (Some(x), Some(y), _, _) => x == y,
            (_, _, Some(x), Some(y)) => x == y,
            _ => a.as_f64().zip(b.as_f64()).is_some_and(|(x, y)| x == y),
        },
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rule(event: &str, where_: Value) -> Result<AudienceRule, Problem> {
        let Value::Object(map) = where_ else { panic!("where must be an object") };
        AudienceRule::new(event.into(), map, 2, 14)
    }

    #[test]
    fn an_event_matches_when_every_where_member_equals_its_property() {
        let shoes = rule("product_viewed", json!({"category": "shoes", "size": 42, "sale": true})).unwrap();
        let props = json!({"category": "shoes", "size": 42.0, "sale": true, "colour": "red"});
        assert!(shoes.matches("product_viewed", &props));
        assert!(!shoes.matches("product_added", &props));
        assert!(!shoes.matches("product_viewed", &json!({"category": "Shoes", "size": 42, "sale": true})));
        assert!(!shoes.matches("product_viewed", &json!({"category": "shoes", "size": "42", "sale": true})));
        assert!(!shoes.matches("product_viewed", &json!({"category": "shoes", "sale": true})));
        assert!(!shoes.matches("product_viewed", &json!({"nested": {"category": "shoes"}})));
        assert!(!shoes.matches("product_viewed", &json!(["shoes"])));
        let any = rule("app_opened", json!({})).unwrap();
        assert!(any.matches("app_opened", &Value::Null));
    }

    #[test]
    fn the_key_is_stable_and_ignores_thresholds_and_number_spelling() {
        let a = rule("product_viewed", json!({"size": 42, "category": "shoes"})).unwrap();
        let mut b = rule("product_viewed", json!({"category": "shoes", "size": 42.0})).unwrap();
        b.at_least = 5;
        b.within_days = 90;
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key().len(), 32);
        assert_eq!(a.key(), "5107907c7da5009924d8b50eb2481113", "the key is stored: it must never change");
        assert_ne!(a.key(), rule("product_viewed", json!({"category": "shoes"})).unwrap().key());
        assert_ne!(a.key(), rule("product_added", json!({"size": 42, "category": "shoes"})).unwrap().key());
    }

    #[test]
    fn where_members_must_be_comparable_scalars() {
        for (value, needle) in [
            (json!({"a": null}), "only strings"),
            (json!({"a": [1]}), "only strings"),
            (json!({"a": {"b": 1}}), "only strings"),
            (json!({"": 1}), "1 to 64"),
            (json!({"a": "x".repeat(257)}), "256"),
        ] {
            let err = rule("e", value).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
        let many: Map<String, Value> = (0..17).map(|i| (format!("p{i:02}"), json!(i))).collect();
        assert!(AudienceRule::new("e".into(), many, 1, 1).is_err());
        assert!(matches!(rule(" ", json!({})), Err(Problem::BadEvent(_))));
    }
}
