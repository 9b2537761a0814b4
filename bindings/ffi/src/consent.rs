//! Consent and rights on the foreign `Footfall` object: decisions, the prompt lifecycle, policy, status, proof,
//! TCF import, export and deletion. Each method converts and calls the core; the records are in
//! `consent_records.rs`.
//!
//! The decision methods block until the change is durable (one SQLite transaction on the writer thread,
//! milliseconds); the Kotlin and Swift layers call them off the main thread.

use std::collections::HashMap;

use footfall_core::consent::purpose as core_purpose;
use footfall_core::consent::record as core_record;
use footfall_core::consent::state as core_state;

use crate::consent_records::*;
use crate::error::{FootfallError, Result};
use crate::footfall::Footfall;

#[uniffi::export]
impl Footfall {
    /// Records the shopper's answers (purpose → granted). Once it returns the record is durable, queued events
    /// of purposes now denied are purged (also those in flight) and `track()` refuses new ones.
    pub fn set_consent(&self, decisions: HashMap<String, bool>, method: ConsentMethod) -> Result<ConsentOutcome> {
        let decisions: Vec<(&str, bool)> = decisions.iter().map(|(p, g)| (p.as_str(), *g)).collect();
        Ok(self.core.set_consent(&decisions, core_method(method)?)?.into())
    }

    pub fn grant(&self, purposes: Vec<String>, method: ConsentMethod) -> Result<ConsentOutcome> {
        Ok(self.core.grant(&strs(&purposes), core_method(method)?)?.into())
    }

    /// Denies or withdraws; effective at once, as easy as granting.
    pub fn deny(&self, purposes: Vec<String>, method: ConsentMethod) -> Result<ConsentOutcome> {
        Ok(self.core.deny(&strs(&purposes), core_method(method)?)?.into())
    }

    /// Call just before the prompt renders. Logged, never a decision: a kill while it shows decides nothing.
    pub fn prompt_shown(&self, prompt_id: String) -> Result<()> {
        Ok(self.core.prompt_shown(&prompt_id)?)
    }

    /// The jurisdiction, Global Privacy Control signal and age band as the app determines them.
    #[uniffi::method(default(global_privacy_control = false, age_band = None))]
    pub fn set_consent_context(
        &self,
        jurisdiction: Jurisdiction,
        global_privacy_control: bool,
        age_band: Option<AgeBand>,
    ) -> Result<ConsentOutcome> {
        let age_band = age_band.map(|band| match band {
            AgeBand::Adult => core_purpose::AgeBand::Adult,
            AgeBand::Under16 => core_purpose::AgeBand::Under16,
            AgeBand::Under13 => core_purpose::AgeBand::Under13,
        });
        let context = core_state::Context { jurisdiction: jurisdiction.into(), global_privacy_control, age_band };
        Ok(self.core.set_consent_context(context)?.into())
    }

    /// Applies a policy document (the body of `GET /v1/config`, or one bundled with the app). An invalid one is
    /// refused with the reason and the current policy stays.
    pub fn apply_consent_policy(&self, remote_config_json: String) -> Result<ConsentOutcome> {
        Ok(self.core.apply_consent_policy(remote_config_json.as_bytes())?.into())
    }

    /// Fetches the policy now (with the cached ETag) and applies it; on failure the current one stays.
    pub async fn refresh_consent_policy(&self) -> Result<PolicyRefresh> {
        let refresh = self.core.refresh_consent_policy_async().await?;
        Ok(PolicyRefresh { changed: refresh.changed, policy_version: refresh.policy_version.map(i64::from) })
    }

    /// The prompt to show now, if any, and why. Pure: the same log, policy and time give the same answer.
    pub fn needs_prompt(&self) -> Result<PromptNeed> {
        let need = self.core.needs_prompt()?;
        Ok(PromptNeed { prompt_id: need.prompt, reason: need.reason.into(), purposes: need.purposes })
    }

    /// Whether events of `purpose` are collected now.
    pub fn is_allowed(&self, purpose: String) -> Result<bool> {
        Ok(self.core.is_allowed(&purpose)?)
    }

    pub fn consent_status(&self) -> Result<ConsentStatus> {
        Ok(self.core.consent_status()?.into())
    }

    /// Every consent record and whether the hash chain verifies.
    pub fn consent_log(&self) -> Result<ConsentLog> {
        let log = self.core.consent_log()?;
        Ok(ConsentLog {
            records: log.records.into_iter().map(ConsentRecord::from).collect(),
            verified: log.verified,
            problem: log.problem,
        })
    }

    /// TCF import mode: records what the CMP's TC string (`IABTCF_TCString`; None or empty when it has none)
    /// says. `gdpr_applies` is `IABTCF_gdprApplies` when set. The same answer twice records nothing.
    #[uniffi::method(default(gdpr_applies = None))]
    pub fn import_tcf(&self, tc_string: Option<String>, gdpr_applies: Option<bool>) -> Result<TcfImport> {
        let import = self.core.import_tcf(tc_string.as_deref(), gdpr_applies)?;
        Ok(TcfImport {
            result: match import.result {
                footfall_core::TcfImportResult::Recorded => TcfImportResult::Recorded,
                footfall_core::TcfImportResult::Unchanged => TcfImportResult::Unchanged,
                footfall_core::TcfImportResult::GdprDoesNotApply => TcfImportResult::GdprDoesNotApply,
                footfall_core::TcfImportResult::Cleared => TcfImportResult::Cleared,
            },
            decisions: import.decisions.into_iter().collect(),
            outcome: import.outcome.into(),
        })
    }

    /// Everything the SDK holds about the shopper, as one JSON document (identifiers, queued events, dead
    /// letters, the consent log and status, rights requests).
    pub fn export_data(&self) -> Result<String> {
        let export = self.core.export_data()?;
        serde_json::to_string_pretty(&export)
            .map_err(|e| FootfallError::Storage { reason: e.to_string(), retryable: false })
    }

    /// Asks for the shopper's data to be erased. Once it returns the request is durable and sent until the
    /// backend acknowledges it; local events and identity are wiped (the consent log is kept as proof) and a
    /// new anonymous id is in force. Returns the request id.
    pub fn request_deletion(&self) -> Result<String> {
        Ok(self.core.request_deletion()?)
    }

    /// Every rights request this install made, oldest first.
    pub fn rights_requests(&self) -> Result<Vec<RightsRequest>> {
        Ok(self
            .core
            .rights_requests()?
            .into_iter()
            .map(|r| RightsRequest {
                request_id: r.id,
                kind: r.kind,
                state: match r.state {
                    footfall_core::RightsState::Received => RightsState::Received,
                    footfall_core::RightsState::Sent => RightsState::Sent,
                    footfall_core::RightsState::Acknowledged => RightsState::Acknowledged,
                    footfall_core::RightsState::Refused => RightsState::Refused,
                },
                created_at_ms: r.created_ms,
                updated_at_ms: r.updated_ms,
                last_error: r.last_error,
            })
            .collect())
    }
}

fn strs(purposes: &[String]) -> Vec<&str> {
    purposes.iter().map(String::as_str).collect()
}

/// A conversion only: the core refuses a claimed TCF import (only `importTcf` records one).
fn core_method(method: ConsentMethod) -> Result<core_record::Method> {
    Ok(match method {
        ConsentMethod::Prompt { prompt_id } => core_record::Method::Prompt { prompt_id },
        ConsentMethod::Settings => core_record::Method::Settings,
        ConsentMethod::Api => core_record::Method::Api,
        ConsentMethod::TcfImport { cmp_id } => core_record::Method::TcfImport {
            cmp_id: u16::try_from(cmp_id)
                .map_err(|_| FootfallError::InvalidInput { reason: format!("CMP id must be 0-65535, got {cmp_id}") })?,
        },
    })
}
