//! Changes the console makes to the remote config document, each checked with the SDK's own policy parser before
//! it is published: the console can never publish a document devices would refuse, nor roll a policy back.
//! Edits work on the JSON document so members a server added (or a newer protocol's) survive untouched.

use footfall_core::consent::policy::Policy;
use serde_json::Value;

/// What a product person asked for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Change {
    /// Switch one prompt on or off (the notice is unchanged: the same `policyVersion`).
    Prompt { id: String, enabled: bool },
    /// A new `policyVersion`; the listed purposes changed materially in it (decisions made before no longer count
    /// for them, so devices ask again with `policy_material_change`).
    Publish { material: Vec<String> },
}

impl Change {
    /// For the audit log and the revision history.
    pub(crate) fn summary(&self, next_version: u32) -> String {
        match self {
            Change::Prompt { id, enabled: true } => format!("prompt '{id}' switched on"),
            Change::Prompt { id, enabled: false } => format!("prompt '{id}' switched off"),
            Change::Publish { material } if material.is_empty() => format!("policy version {next_version} published"),
            Change::Publish { material } => {
                format!("policy version {next_version} published, material change for {}", material.join(", "))
            }
        }
    }
}

/// Applies `change` to the document in force; returns the new document's bytes and the summary.
pub(crate) fn apply(current: &str, change: &Change) -> Result<(String, String), String> {
    let in_force = Policy::from_remote_config(current.as_bytes()).map_err(|e| format!("the policy in force: {e}"))?;
    let mut doc: Value = serde_json::from_str(current).map_err(|e| e.to_string())?;
    let consent = doc.get_mut("consent").and_then(Value::as_object_mut).ok_or("the document has no consent object")?;
    let mut version = in_force.policy_version;
    match change {
        Change::Prompt { id, enabled } => {
            let prompts =
                consent.get_mut("prompts").and_then(Value::as_array_mut).ok_or("the policy has no prompts")?;
            let prompt = prompts
                .iter_mut()
                .find(|p| p.get("id").and_then(Value::as_str) == Some(id))
                .ok_or_else(|| format!("no prompt '{id}'"))?;
            prompt["enabled"] = Value::Bool(*enabled);
        }
        Change::Publish { material } => {
            version = version.checked_add(1).ok_or("the policy version cannot go higher")?;
            consent.insert("policyVersion".into(), Value::from(version));
            let purposes = consent.get_mut("purposes").and_then(Value::as_array_mut).ok_or("no purposes")?;
            for id in material {
                let purpose = purposes
                    .iter_mut()
                    .find(|p| p.get("id").and_then(Value::as_str) == Some(id))
                    .ok_or_else(|| format!("no purpose '{id}'"))?;
                purpose["materialChangeVersion"] = Value::from(version);
            }
        }
    }
    let body = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    let next = Policy::from_remote_config(body.as_bytes()).map_err(|e| format!("the SDK would refuse it: {e}"))?;
    in_force.check_successor(&next).map_err(|e| e.to_string())?;
    Ok((body, change.summary(version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"consent": {"policyVersion": 3, "purposes": [{"id": "analytics"}, {"id": "marketing"}],
        "prompts": [{"id": "main", "enabled": true, "purposes": ["analytics", "marketing"]}]},
        "serverOwn": {"kept": true}}"#;

    #[test]
    fn a_prompt_switch_keeps_the_version_and_everything_else() {
        let change = Change::Prompt { id: "main".into(), enabled: false };
        let (body, summary) = apply(DOC, &change).unwrap();
        let policy = Policy::from_remote_config(body.as_bytes()).unwrap();
        assert_eq!((policy.policy_version, policy.prompts[0].enabled), (3, false));
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["serverOwn"]["kept"], true);
        assert_eq!(summary, "prompt 'main' switched off");
    }

    #[test]
    fn publishing_bumps_the_version_and_marks_material_purposes() {
        let change = Change::Publish { material: vec!["marketing".into()] };
        let (body, summary) = apply(DOC, &change).unwrap();
        let policy = Policy::from_remote_config(body.as_bytes()).unwrap();
        assert_eq!(policy.policy_version, 4);
        assert_eq!(policy.purpose("marketing").unwrap().material_change_version, 4);
        assert_eq!(policy.purpose("analytics").unwrap().material_change_version, 0);
        assert_eq!(summary, "policy version 4 published, material change for marketing");
    }

    #[test]
    fn unknown_names_and_documents_the_sdk_refuses_are_not_published() {
        assert_eq!(apply(DOC, &Change::Prompt { id: "nope".into(), enabled: true }).unwrap_err(), "no prompt 'nope'");
        let material = Change::Publish { material: vec!["loyalty".into()] };
        assert_eq!(apply(DOC, &material).unwrap_err(), "no purpose 'loyalty'");
        let broken = r#"{"consent": {"policyVersion": 1, "purposes": [{"id": "a"}, {"id": "a"}]}}"#;
        assert!(apply(broken, &Change::Publish { material: vec![] }).unwrap_err().starts_with("the policy in force"));
    }
}
