//! The consent policy product teams edit remotely: version, purposes (with the version of their last material
//! change), maximum consent age and the prompts. Parsed strictly enough that a typo cannot grant anything.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::purpose::{self, ANALYTICS, ESSENTIAL, LOCATION, MARKETING, PERSONALIZATION};

/// Why a policy document was refused (the SDK then keeps the policy it had).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy is not valid JSON of the expected shape: {0}")]
    Shape(String),
    #[error("purpose '{0}' is not a valid purpose id")]
    InvalidPurpose(String),
    #[error("purpose '{0}' is declared twice")]
    DuplicatePurpose(String),
    #[error(
        "purpose '{purpose}' changed materially in version {changed_in}, after the policy's own version {version}"
    )]
    ChangeAfterVersion { purpose: String, changed_in: u32, version: u32 },
    #[error("prompt '{prompt}' asks about '{purpose}', which the policy does not declare")]
    UnknownPromptPurpose { prompt: String, purpose: String },
    #[error("prompt '{0}' is declared twice")]
    DuplicatePrompt(String),
    #[error("prompt '{0}' asks about no purpose")]
    EmptyPrompt(String),
    #[error("the document names a member twice: {0}")]
    RepeatedMember(String),
    #[error(
        "policy version {offered} is older than version {in_force}, which is in force; a policy is never rolled back"
    )]
    Rollback { offered: u32, in_force: u32 },
}

/// One purpose as the policy declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurposeDef {
    pub id: String,
    /// The policy version in which this purpose's notice last changed materially. Decisions recorded under an
    /// earlier version do not count for it any more. 0 (the default): never changed since it was introduced.
    #[serde(default)]
    pub material_change_version: u32,
}

/// Copy keys the app resolves to localised strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PromptCopy {
    pub title: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_all: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_all: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<String>,
}

/// A prompt definition; product teams switch `enabled` without an app release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptDef {
    pub id: String,
    pub enabled: bool,
    pub purposes: Vec<String>,
    #[serde(default)]
    pub copy: PromptCopy,
    /// When the app should offer it (`app_start`, `first_store_visit`, …); the app decides what a trigger means.
    #[serde(default)]
    pub triggers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub policy_version: u32,
    /// Hash of the notice text shown (recorded with every decision as proof of what was shown).
    #[serde(default)]
    pub notice_hash: String,
    /// Decisions older than this must be asked again. `None`: they do not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_consent_age_days: Option<u32>,
    pub purposes: Vec<PurposeDef>,
    #[serde(default)]
    pub prompts: Vec<PromptDef>,
}

/// The remote config document (`GET {base}/v1/config`); only `consent` is read today.
#[derive(Debug, Clone, Deserialize)]
struct RemoteConfig {
    consent: Policy,
}

impl Policy {
    /// Parses the `GET /v1/config` body and validates the policy in it.
    pub fn from_remote_config(json: &[u8]) -> Result<Policy, PolicyError> {
        super::unique_members::check(json).map_err(PolicyError::RepeatedMember)?;
        let config: RemoteConfig = serde_json::from_slice(json).map_err(|e| PolicyError::Shape(e.to_string()))?;
        config.consent.validated()
    }

    /// Refuses replacing `self` (in force) with an older version: a lower version could make grants that a
    /// material change had invalidated count again. The same version again is applied (it may fix a typo).
    pub fn check_successor(&self, next: &Policy) -> Result<(), PolicyError> {
        if next.policy_version < self.policy_version {
            return Err(PolicyError::Rollback { offered: next.policy_version, in_force: self.policy_version });
        }
        Ok(())
    }

    /// Checks ids, duplicates, prompt references and version order.
    pub fn validated(mut self) -> Result<Policy, PolicyError> {
        let mut ids = BTreeSet::new();
        for def in &self.purposes {
            purpose::validate(&def.id).map_err(|_| PolicyError::InvalidPurpose(def.id.clone()))?;
            if !ids.insert(def.id.clone()) {
                return Err(PolicyError::DuplicatePurpose(def.id.clone()));
            }
            if def.material_change_version > self.policy_version {
                return Err(PolicyError::ChangeAfterVersion {
                    purpose: def.id.clone(),
                    changed_in: def.material_change_version,
                    version: self.policy_version,
                });
            }
        }
        // `essential` is implied; declaring it is allowed but changes nothing.
        self.purposes.retain(|d| !purpose::is_essential(&d.id));
        let mut prompt_ids = BTreeSet::new();
        for prompt in &self.prompts {
            if !prompt_ids.insert(prompt.id.clone()) {
                return Err(PolicyError::DuplicatePrompt(prompt.id.clone()));
            }
            if prompt.purposes.is_empty() {
                return Err(PolicyError::EmptyPrompt(prompt.id.clone()));
            }
            if let Some(unknown) = prompt.purposes.iter().find(|p| !ids.contains(*p) || purpose::is_essential(p)) {
                return Err(PolicyError::UnknownPromptPurpose { prompt: prompt.id.clone(), purpose: unknown.clone() });
            }
        }
        Ok(self)
    }

    /// Used until the first remote config arrives and when the app bundles none: every built-in purpose, one
    /// prompt for all of them. Version 0, so the first real policy is always newer.
    pub fn built_in() -> Policy {
        let gated = [ANALYTICS, PERSONALIZATION, MARKETING, LOCATION];
        Policy {
            policy_version: 0,
            notice_hash: String::new(),
            max_consent_age_days: None,
            purposes: gated.iter().map(|id| PurposeDef { id: id.to_string(), material_change_version: 0 }).collect(),
            prompts: vec![PromptDef {
                id: "default".into(),
                enabled: true,
                purposes: gated.iter().map(|p| p.to_string()).collect(),
                copy: PromptCopy {
                    title: "footfall.consent.title".into(),
                    body: "footfall.consent.body".into(),
                    ..PromptCopy::default()
                },
                triggers: vec!["app_start".into()],
            }],
        }
    }

    pub fn purpose(&self, id: &str) -> Option<&PurposeDef> {
        self.purposes.iter().find(|d| d.id == id)
    }

    /// Whether `id` is something this policy lets the app track under (essential always is).
    pub fn declares(&self, id: &str) -> bool {
        id == ESSENTIAL || self.purpose(id).is_some()
    }

    pub fn prompt(&self, id: &str) -> Option<&PromptDef> {
        self.prompts.iter().find(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Policy, PolicyError> {
        Policy::from_remote_config(json.as_bytes())
    }

    const GOOD: &str = r#"{"consent":{"policyVersion":3,"noticeHash":"sha256:abc","maxConsentAgeDays":365,
        "purposes":[{"id":"analytics"},{"id":"marketing","materialChangeVersion":3},{"id":"loyalty_sync","materialChangeVersion":2}],
        "prompts":[{"id":"main","enabled":true,"purposes":["analytics","marketing"],"copy":{"title":"t","body":"b"},"triggers":["app_start"]}]},
        "somethingElse":{"ignored":true}}"#;

    #[test]
    fn a_full_policy_parses_with_defaults_and_custom_purposes() {
        let policy = parse(GOOD).unwrap();
        assert_eq!(policy.policy_version, 3);
        assert_eq!(policy.max_consent_age_days, Some(365));
        assert_eq!(policy.purpose("analytics").unwrap().material_change_version, 0);
        assert_eq!(policy.purpose("marketing").unwrap().material_change_version, 3);
        assert!(policy.declares("loyalty_sync") && policy.declares("essential") && !policy.declares("location"));
        assert!(policy.prompt("main").unwrap().enabled);
    }

    #[test]
    fn invalid_policies_are_refused_with_the_reason() {
        let cases = [
            (r#"{"consent":{"policyVersion":"3","purposes":[]}}"#, "expected shape"),
            (r#"{"consent":{"policyVersion":1,"purposes":[{"id":"Ads"}]}}"#, "not a valid purpose id"),
            (r#"{"consent":{"policyVersion":1,"purposes":[{"id":"a"},{"id":"a"}]}}"#, "declared twice"),
            (
                r#"{"consent":{"policyVersion":1,"purposes":[{"id":"a","materialChangeVersion":2}]}}"#,
                "after the policy's own version",
            ),
            (
                r#"{"consent":{"policyVersion":1,"purposes":[{"id":"a"}],"prompts":[{"id":"p","enabled":true,"purposes":["b"]}]}}"#,
                "does not declare",
            ),
            (
                r#"{"consent":{"policyVersion":1,"purposes":[{"id":"a"}],"prompts":[{"id":"p","enabled":true,"purposes":[]}]}}"#,
                "no purpose",
            ),
            (r#"{"notConsent":{}}"#, "expected shape"),
            (
                r#"{"consent":{"policyVersion":2,"purposes":[],"policyVersion":9}}"#,
                "member 'policyVersion' appears twice",
            ),
            (
                r#"{"consent":{"policyVersion":2,"purposes":[]},"consent":{"policyVersion":1,"purposes":[]}}"#,
                "member 'consent' appears twice",
            ),
            (r#"{"consent":{"policyVersion":2,"purposes":[{"id":"a","x":1,"x":2}]}}"#, "member 'x' appears twice"),
        ];
        for (json, needle) in cases {
            let err = parse(json).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn the_built_in_policy_is_valid_and_older_than_any_remote_one() {
        let policy = Policy::built_in().validated().unwrap();
        assert_eq!(policy.policy_version, 0);
        assert!(["analytics", "personalization", "marketing", "location"].iter().all(|p| policy.declares(p)));
    }
}
