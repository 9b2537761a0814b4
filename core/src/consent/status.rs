//! The consent status as apps see it: each purpose's gating decision and answer, the mode, Google Consent Mode
//! signals and the last refused policy. Built from a snapshot; the writer publishes it with every change
//! (`SdkEvent::ConsentChanged`), so the platform layers never read it back after a change.

use serde::{Deserialize, Serialize};

use super::purpose::{self, AgeBand, GoogleConsentMode, Jurisdiction, Mode};
use super::view::Snapshot;
use crate::clock::rfc3339_ms;
use crate::config::ConsentSource;
use crate::error::Result;
use crate::storage::{MetaKey, Storage};

/// Each purpose the policy declares (or the shopper decided), and what gating makes of it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurposeStatus {
    pub id: String,
    /// The gating decision now: what `track()` and the uploader apply.
    pub allowed: bool,
    /// The shopper's latest answer, if any (it may no longer count: see `decision_valid`).
    pub decision: Option<bool>,
    pub decided_at: Option<String>,
    /// False when the answer predates a material change or is older than the maximum consent age.
    pub decision_valid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentStatus {
    /// Whether this instance gates on consent (`Config::enforce_consent`).
    pub enforced: bool,
    /// Who decides the purposes TCF covers: `footfall` (its prompts and the app's calls) or `tcf` (the CMP).
    pub source: ConsentSourceKind,
    pub policy_version: u32,
    pub jurisdiction: Jurisdiction,
    pub mode: Mode,
    pub global_privacy_control: bool,
    pub age_band: Option<AgeBand>,
    pub purposes: Vec<PurposeStatus>,
    pub google_consent_mode: GoogleConsentMode,
    /// The last policy the server sent that was refused (invalid, or older than the one in force), until one
    /// is applied: product teams see why their change did not reach the app.
    pub refused_policy: Option<RefusedPolicy>,
    /// Grows with every consent change this instance applied: of two statuses, the higher one is newer.
    pub revision: u64,
}

/// [`ConsentSource`] without its settings, as `consent_status()` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSourceKind {
    Footfall,
    Tcf,
}

impl From<ConsentSource> for ConsentSourceKind {
    fn from(source: ConsentSource) -> Self {
        match source {
            ConsentSource::Footfall => ConsentSourceKind::Footfall,
            ConsentSource::Tcf { .. } => ConsentSourceKind::Tcf,
        }
    }
}

/// The last policy the server sent that the SDK refused (cleared when a policy is applied or served again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedPolicy {
    /// Its `policyVersion`, when the document got that far.
    pub version: Option<u32>,
    pub reason: String,
    /// When it was refused (RFC 3339, device clock).
    pub at: String,
}

impl RefusedPolicy {
    pub(crate) fn load(storage: &Storage) -> Result<Option<RefusedPolicy>> {
        Ok(storage.meta(MetaKey::ConsentPolicyRefused)?.and_then(|json| serde_json::from_str(&json).ok()))
    }

    pub(crate) fn save(refusal: Option<&RefusedPolicy>, storage: &Storage) -> Result<()> {
        let json = refusal.map(serde_json::to_string).transpose().map_err(crate::error::Error::storage)?;
        storage.set_meta(MetaKey::ConsentPolicyRefused, json.as_deref())
    }
}

/// The status `snapshot` gives at `now_ms`.
pub(crate) fn status_of(
    snapshot: &Snapshot,
    enforced: bool,
    source: ConsentSourceKind,
    refused_policy: Option<RefusedPolicy>,
    revision: u64,
    now_ms: i64,
) -> ConsentStatus {
    let mut ids: Vec<&str> = snapshot.policy.purposes.iter().map(|d| d.id.as_str()).collect();
    ids.extend(snapshot.state.decisions.keys().map(String::as_str));
    ids.sort_unstable();
    ids.dedup();
    let need = snapshot.state.needs_prompt(&snapshot.policy, now_ms);
    let purposes = ids
        .into_iter()
        .map(|id| {
            let decision = snapshot.state.decisions.get(id);
            PurposeStatus {
                id: id.to_string(),
                allowed: snapshot.is_allowed(id, now_ms),
                decision: decision.map(|d| d.granted),
                decided_at: decision.map(|d| rfc3339_ms(d.timestamp_ms)),
                decision_valid: decision.is_some() && !need.purposes.iter().any(|p| p == id),
            }
        })
        .collect();
    ConsentStatus {
        enforced,
        source,
        policy_version: snapshot.policy.policy_version,
        jurisdiction: snapshot.context.jurisdiction,
        mode: purpose::mode_for(snapshot.context.jurisdiction, snapshot.context.age_band),
        global_privacy_control: snapshot.context.global_privacy_control,
        age_band: snapshot.context.age_band,
        purposes,
        google_consent_mode: GoogleConsentMode::from_decisions(|p| snapshot.is_allowed(p, now_ms)),
        refused_policy,
        revision,
    }
}
