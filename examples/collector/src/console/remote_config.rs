//! Changes the console makes to the remote config document, each checked with the SDK's own parsers (the consent
//! policy's and store proximity's) before it is published: the console can never publish a document devices would
//! refuse, nor roll a policy back. Edits work on the JSON document so members a server added (or a newer
//! protocol's) survive untouched.

use footfall_core::consent::policy::Policy;
use footfall_core::proximity::config::ProximityConfig;
use serde_json::Value;

/// What a product person asked for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Change {
    /// Switch one prompt on or off (the notice is unchanged: the same `policyVersion`).
    Prompt { id: String, enabled: bool },
    /// A new `policyVersion`; the listed purposes changed materially in it (decisions made before no longer count
    /// for them, so devices ask again with `policy_material_change`).
    Publish { material: Vec<String> },
    /// End a proximity campaign at `at` (RFC 3339): its `endsAt`, in a new `proximity.version`.
    StopCampaign { id: String, at: String },
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
            Change::StopCampaign { id, at } => format!("campaign '{id}' stopped at {at}"),
        }
    }
}

/// Applies `change` to the document in force; returns the new document's bytes and the summary.
pub(crate) fn apply(current: &str, change: &Change) -> Result<(String, String), String> {
    let in_force = Policy::from_remote_config(current.as_bytes()).map_err(|e| format!("the policy in force: {e}"))?;
    let mut doc: Value = serde_json::from_str(current).map_err(|e| e.to_string())?;
    let mut version = in_force.policy_version;
    match change {
        Change::Prompt { id, enabled } => {
            let prompts = consent(&mut doc)?
                .get_mut("prompts")
                .and_then(Value::as_array_mut)
                .ok_or("the policy has no prompts")?;
            let prompt = prompts
                .iter_mut()
                .find(|p| p.get("id").and_then(Value::as_str) == Some(id))
                .ok_or_else(|| format!("no prompt '{id}'"))?;
            prompt["enabled"] = Value::Bool(*enabled);
        }
        Change::Publish { material } => {
            version = version.checked_add(1).ok_or("the policy version cannot go higher")?;
            let consent = consent(&mut doc)?;
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
        Change::StopCampaign { id, at } => {
            let proximity = doc
                .get_mut("proximity")
                .and_then(Value::as_object_mut)
                .ok_or("the document has no proximity member")?;
            let next = proximity.get("version").and_then(Value::as_u64).unwrap_or(0).checked_add(1).ok_or("version")?;
            proximity.insert("version".into(), Value::from(next));
            let campaigns =
                proximity.get_mut("campaigns").and_then(Value::as_array_mut).ok_or("there are no campaigns")?;
            let campaign = campaigns
                .iter_mut()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(id))
                .ok_or_else(|| format!("no campaign '{id}'"))?;
            let instant = |text: &str| text.parse::<jiff::Timestamp>().map_err(|e| format!("'{text}': {e}"));
            if let Some(starts) = campaign.get("startsAt").and_then(Value::as_str) {
                if instant(starts)? >= instant(at)? {
                    return Err(format!("campaign '{id}' has not started yet: change its startsAt instead"));
                }
            }
            campaign["endsAt"] = Value::from(at.clone());
        }
    }
    let body = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    let next = Policy::from_remote_config(body.as_bytes()).map_err(|e| format!("the SDK would refuse it: {e}"))?;
    in_force.check_successor(&next).map_err(|e| e.to_string())?;
    ProximityConfig::from_remote_config(body.as_bytes()).map_err(|e| format!("the SDK would refuse it: {e}"))?;
    Ok((body, change.summary(version)))
}

fn consent(doc: &mut Value) -> Result<&mut serde_json::Map<String, Value>, String> {
    doc.get_mut("consent").and_then(Value::as_object_mut).ok_or_else(|| "the document has no consent object".into())
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

    const WITH_PROXIMITY: &str = r#"{"consent": {"policyVersion": 1, "purposes": [{"id": "location"}, {"id": "marketing"}]},
        "proximity": {"version": 2, "zones": [{"id": "tokyo-1/entrance", "store": "tokyo-1", "timeZone": "Asia/Tokyo",
            "beacons": ["2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2"], "enterRssi": -75}],
          "campaigns": [
            {"id": "welcome", "zones": ["tokyo-1/entrance"], "trigger": "enter",
             "offer": {"title": "offer.welcome.title", "body": "offer.welcome.body"}},
            {"id": "new-year", "zones": ["tokyo-1/entrance"], "trigger": "enter", "startsAt": "2027-01-01T00:00:00+09:00",
             "offer": {"title": "offer.ny.title", "body": "offer.ny.body"}}]}}"#;

    #[test]
    fn stopping_a_campaign_ends_it_now_in_a_new_proximity_version() {
        let at = "2026-12-06T15:00:00Z".to_owned();
        let (body, summary) =
            apply(WITH_PROXIMITY, &Change::StopCampaign { id: "welcome".into(), at: at.clone() }).unwrap();
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (doc["proximity"]["version"].as_u64(), doc["proximity"]["campaigns"][0]["endsAt"].as_str()),
            (Some(3), Some(at.as_str()))
        );
        assert_eq!(ProximityConfig::from_remote_config(body.as_bytes()).unwrap().unwrap().version, 3);
        assert_eq!(summary, "campaign 'welcome' stopped at 2026-12-06T15:00:00Z");
        let early = apply(WITH_PROXIMITY, &Change::StopCampaign { id: "new-year".into(), at: at.clone() });
        assert!(early.unwrap_err().contains("has not started yet"));
        let unknown = apply(WITH_PROXIMITY, &Change::StopCampaign { id: "nope".into(), at });
        assert_eq!(unknown.unwrap_err(), "no campaign 'nope'");
    }
}
