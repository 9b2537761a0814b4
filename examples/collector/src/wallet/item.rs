//! One item of a wallet upload (a clip, a redemption): a JSON object named by its idempotency key, whose string
//! members are read with errors that name the item, as the 400 the collector answers does.

use serde_json::{Map, Value};

use crate::validate::is_uuid;

pub(crate) struct Item<'a> {
    pub id: String,
    kind: &'static str,
    members: &'a Map<String, Value>,
}

impl<'a> Item<'a> {
    /// The item at `index`, which must be an object whose `id_member` is a UUID.
    pub fn read(kind: &'static str, id_member: &str, index: usize, item: &'a Value) -> Result<Item<'a>, String> {
        let Value::Object(members) = item else {
            return Err(format!("{kind} at index {index}: must be a JSON object"));
        };
        match members.get(id_member) {
            Some(Value::String(id)) if is_uuid(id) => Ok(Item { id: id.clone(), kind, members }),
            _ => Err(format!("{kind} at index {index}: {id_member} must be a UUID")),
        }
    }

    /// The 400 message for `problem` with this item.
    pub fn bad(&self, problem: &str) -> String {
        format!("{} {}: {problem}", self.kind, self.id)
    }

    /// A required non-empty string member.
    pub fn text(&self, name: &str) -> Result<String, String> {
        match self.members.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(self.bad(&format!("{name} must be a non-empty string"))),
        }
    }

    /// An optional non-empty string member (`null` counts as absent).
    pub fn optional(&self, name: &str) -> Result<Option<String>, String> {
        match self.members.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(&format!("{name} must be a non-empty string when present"))),
        }
    }
}
