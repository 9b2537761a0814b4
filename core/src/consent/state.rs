//! The current consent state, derived from the log, and the two questions asked of it: may this purpose be
//! collected now, and must the shopper be asked (which prompt, and why). Both are pure functions of
//! (records, policy, jurisdiction, now), so every answer is reproducible from the log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::policy::Policy;
use super::purpose::{self, AgeBand, Jurisdiction};
use super::record::{ConsentRecord, Method, RecordKind};

const DAY_MS: i64 = 86_400_000;

/// The latest decision about one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub granted: bool,
    pub policy_version: u32,
    pub timestamp_ms: i64,
    pub method: Method,
}

/// Decisions by purpose: the latest record that mentions each purpose wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConsentState {
    pub decisions: BTreeMap<String, Decision>,
}

impl ConsentState {
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a ConsentRecord>) -> Self {
        let mut state = ConsentState::default();
        for record in records.into_iter().filter(|r| r.kind == RecordKind::Decision) {
            for (purpose, granted) in &record.decisions {
                state.decisions.insert(
                    purpose.clone(),
                    Decision {
                        granted: *granted,
                        policy_version: record.policy_version,
                        timestamp_ms: record.timestamp_ms,
                        method: record.method.clone(),
                    },
                );
            }
        }
        state
    }

    /// Why the decision about `purpose` does not count under `policy` at `now`, or `None` when it does.
    fn invalid_because(&self, purpose: &str, policy: &Policy, now_ms: i64) -> Option<Reason> {
        let Some(decision) = self.decisions.get(purpose) else {
            return Some(if self.decisions.is_empty() { Reason::NoDecision } else { Reason::NewPurpose });
        };
        if let Some(def) = policy.purpose(purpose) {
            if decision.policy_version < def.material_change_version {
                return Some(Reason::PolicyMaterialChange);
            }
        }
        if let Some(days) = policy.max_consent_age_days {
            if now_ms.saturating_sub(decision.timestamp_ms) > i64::from(days) * DAY_MS {
                return Some(Reason::Expired);
            }
        }
        None
    }

    /// Whether the latest decision about `purpose` still counts (exists, not stale after a material change, not
    /// expired).
    pub fn decision_valid(&self, purpose: &str, policy: &Policy, now_ms: i64) -> bool {
        self.invalid_because(purpose, policy, now_ms).is_none()
    }

    /// The gating decision: a valid decision's answer, otherwise the jurisdiction's default. A stale or expired
    /// grant is not a grant: old grants never carry across a material change.
    pub fn is_allowed(&self, purpose: &str, policy: &Policy, context: &Context, now_ms: i64) -> bool {
        if purpose::is_essential(purpose) {
            return true;
        }
        if purpose::blocked_for_age(purpose, context.age_band) {
            return false;
        }
        match self.invalid_because(purpose, policy, now_ms) {
            None => self.decisions[purpose].granted,
            Some(_) => purpose::default_allowed(
                purpose,
                context.jurisdiction,
                context.global_privacy_control,
                context.age_band,
            ),
        }
    }

    /// Which prompt to show now, if any, and why. Pure: the same inputs always give the same answer.
    pub fn needs_prompt(&self, policy: &Policy, now_ms: i64) -> PromptNeed {
        let mut needing: Vec<(&str, Reason)> = Vec::new();
        for def in &policy.purposes {
            if let Some(reason) = self.invalid_because(&def.id, policy, now_ms) {
                needing.push((def.id.as_str(), reason));
            }
        }
        let Some(reason) = needing.iter().map(|(_, r)| *r).min() else {
            return PromptNeed { prompt: None, reason: Reason::UpToDate, purposes: Vec::new() };
        };
        let purposes: Vec<String> = needing.iter().map(|(p, _)| p.to_string()).collect();
        let prompt = policy
            .prompts
            .iter()
            .filter(|p| p.enabled)
            .find(|p| p.purposes.iter().any(|covered| purposes.contains(covered)));
        match prompt {
            Some(prompt) => PromptNeed { prompt: Some(prompt.id.clone()), reason, purposes },
            None => PromptNeed { prompt: None, reason: Reason::PromptDisabled, purposes },
        }
    }
}

/// Inputs the app supplies about the shopper's situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Context {
    pub jurisdiction: Jurisdiction,
    /// The browser/OS Global Privacy Control signal, as the app reads it.
    pub global_privacy_control: bool,
    /// None when the app does not know (then the jurisdiction alone decides).
    #[serde(default)]
    pub age_band: Option<AgeBand>,
}

/// Why a prompt is (or is not) needed. Ordered by precedence: the first that applies is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Nothing was ever decided.
    NoDecision,
    /// The notice of a purpose changed materially after the shopper decided.
    PolicyMaterialChange,
    /// A decision is older than the policy's maximum consent age.
    Expired,
    /// The policy declares a purpose the shopper was never asked about.
    NewPurpose,
    /// A decision is needed but every prompt that could ask for it is switched off.
    PromptDisabled,
    /// Every purpose has a valid decision.
    UpToDate,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::NoDecision => "no_decision",
            Reason::PolicyMaterialChange => "policy_material_change",
            Reason::Expired => "expired",
            Reason::NewPurpose => "new_purpose",
            Reason::PromptDisabled => "prompt_disabled",
            Reason::UpToDate => "up_to_date",
        }
    }
}

/// The answer of [`ConsentState::needs_prompt`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromptNeed {
    pub prompt: Option<String>,
    pub reason: Reason,
    /// The purposes that lack a valid decision.
    pub purposes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::policy::{PromptDef, PurposeDef};
    use crate::consent::record::{NewRecord, GENESIS_HASH};

    const NOW: i64 = 1_795_000_000_000;

    fn policy(version: u32, purposes: &[(&str, u32)], prompt_enabled: bool) -> Policy {
        Policy {
            policy_version: version,
            notice_hash: String::new(),
            max_consent_age_days: Some(365),
            purposes: purposes
                .iter()
                .map(|(id, v)| PurposeDef { id: id.to_string(), material_change_version: *v })
                .collect(),
            prompts: vec![PromptDef {
                id: "main".into(),
                enabled: prompt_enabled,
                purposes: purposes.iter().map(|(id, _)| id.to_string()).collect(),
                copy: Default::default(),
                triggers: vec![],
            }],
        }
    }

    fn decided(at: i64, version: u32, decisions: &[(&str, bool)]) -> ConsentRecord {
        NewRecord {
            record_id: format!("r{at}"),
            kind: RecordKind::Decision,
            subject_id: "anon".into(),
            timestamp_ms: at,
            policy_version: version,
            notice_hash: String::new(),
            decisions: decisions.iter().map(|(p, g)| (p.to_string(), *g)).collect(),
            method: Method::Prompt { prompt_id: "main".into() },
            jurisdiction: Jurisdiction::Gdpr,
            app_version: "1".into(),
        }
        .chain(GENESIS_HASH)
    }

    fn need(records: &[ConsentRecord], policy: &Policy, now: i64) -> (Option<String>, &'static str) {
        let n = ConsentState::from_records(records).needs_prompt(policy, now);
        (n.prompt, n.reason.code())
    }

    #[test]
    fn reason_codes() {
        let p = policy(2, &[("analytics", 1), ("marketing", 2)], true);
        let main = Some("main".to_string());
        assert_eq!(need(&[], &p, NOW), (main.clone(), "no_decision"));
        let both = decided(NOW, 2, &[("analytics", true), ("marketing", false)]);
        assert_eq!(need(std::slice::from_ref(&both), &p, NOW), (None, "up_to_date"));
        // marketing changed materially in v3; analytics did not.
        let v3 = policy(3, &[("analytics", 1), ("marketing", 3)], true);
        assert_eq!(need(std::slice::from_ref(&both), &v3, NOW), (main.clone(), "policy_material_change"));
        // A non-material bump carries decisions over.
        let v3_minor = policy(3, &[("analytics", 1), ("marketing", 2)], true);
        assert_eq!(need(std::slice::from_ref(&both), &v3_minor, NOW), (None, "up_to_date"));
        assert_eq!(need(std::slice::from_ref(&both), &p, NOW + 366 * DAY_MS), (main.clone(), "expired"));
        let with_new = policy(2, &[("analytics", 1), ("marketing", 2), ("loyalty", 2)], true);
        assert_eq!(need(std::slice::from_ref(&both), &with_new, NOW), (main.clone(), "new_purpose"));
        let disabled = policy(2, &[("analytics", 1), ("marketing", 2)], false);
        assert_eq!(need(&[], &disabled, NOW), (None, "prompt_disabled"));
    }

    #[test]
    fn a_prompt_shown_but_never_answered_is_no_decision() {
        let p = policy(1, &[("analytics", 0)], true);
        let mut shown = decided(NOW, 1, &[]);
        shown.kind = RecordKind::PromptShown;
        assert_eq!(need(&[shown.clone()], &p, NOW), (Some("main".into()), "no_decision"));
        let state = ConsentState::from_records([&shown]);
        assert!(!state.is_allowed("analytics", &p, &Context::default(), NOW));
    }

    #[test]
    fn gating_follows_valid_decisions_and_falls_back_to_the_jurisdiction() {
        let p = policy(2, &[("analytics", 1), ("marketing", 2)], true);
        let gdpr = Context { jurisdiction: Jurisdiction::Gdpr, global_privacy_control: false, age_band: None };
        let ccpa_gpc = Context { jurisdiction: Jurisdiction::Ccpa, global_privacy_control: true, age_band: None };
        let empty = ConsentState::default();
        assert!(!empty.is_allowed("analytics", &p, &gdpr, NOW), "default deny");
        assert!(empty.is_allowed("essential", &p, &gdpr, NOW), "essential is never gated");
        assert!(
            empty.is_allowed("analytics", &p, &ccpa_gpc, NOW) && !empty.is_allowed("marketing", &p, &ccpa_gpc, NOW)
        );

        let granted = ConsentState::from_records(&[decided(NOW, 2, &[("analytics", true), ("marketing", true)])]);
        assert!(granted.is_allowed("analytics", &p, &gdpr, NOW));
        let v3 = policy(3, &[("analytics", 1), ("marketing", 3)], true);
        assert!(!granted.is_allowed("marketing", &v3, &gdpr, NOW), "a grant does not survive a material change");
        assert!(granted.is_allowed("analytics", &v3, &gdpr, NOW));
        assert!(!granted.is_allowed("analytics", &p, &gdpr, NOW + 400 * DAY_MS), "an expired grant is not a grant");

        // The latest record wins: a withdrawal after a grant.
        let withdrawn = ConsentState::from_records(&[
            decided(NOW, 2, &[("analytics", true)]),
            decided(NOW + 1, 2, &[("analytics", false)]),
        ]);
        assert!(!withdrawn.is_allowed("analytics", &p, &gdpr, NOW + 2));
        // Under CCPA an explicit "no" beats the opt-out default.
        let ccpa = Context { jurisdiction: Jurisdiction::Ccpa, global_privacy_control: false, age_band: None };
        assert!(!withdrawn.is_allowed("analytics", &p, &ccpa, NOW + 2));
    }
}
