//! The consent API of [`Footfall`]: decisions, the prompt lifecycle, policy and context, status and proof.
//! Every change goes through the writer thread, so it is ordered with the events tracked around it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Footfall;
use crate::consent::policy::Policy;
use crate::consent::purpose;
use crate::consent::record::{ConsentRecord, Method};
use crate::consent::service::{self, ConsentChange, ConsentOutcome};
use crate::consent::state::{Context, PromptNeed};
use crate::consent::status::{status_of, ConsentSourceKind, ConsentStatus, RefusedPolicy};
use crate::consent::view::Snapshot;
use crate::error::{Error, Result};
use crate::sync::scheduler::Reply;
use crate::sync::PolicyRefresh;

/// The consent log and whether its hash chain verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentLog {
    pub records: Vec<ConsentRecord>,
    pub verified: bool,
    /// Where verification failed.
    pub problem: Option<String>,
}

impl Footfall {
    /// Records the shopper's answers (purpose → granted). Once it returns the record is durable, events of the
    /// purposes now denied are purged from the queue — in flight or not — and `track()` refuses new ones.
    /// In TCF import mode the purposes TCF covers are refused here (`DecidedByCmp`): the app's CMP decides them.
    pub fn set_consent(&self, decisions: &[(&str, bool)], method: Method) -> Result<ConsentOutcome> {
        let purposes: Vec<&str> = decisions.iter().map(|(p, _)| *p).collect();
        self.check_decidable(&purposes, &method)?;
        let decisions: BTreeMap<String, bool> = decisions.iter().map(|(p, g)| (p.to_string(), *g)).collect();
        self.change_consent(ConsentChange::Decide { decisions, method })
    }

    pub fn grant(&self, purposes: &[&str], method: Method) -> Result<ConsentOutcome> {
        let decisions: Vec<(&str, bool)> = purposes.iter().map(|p| (*p, true)).collect();
        self.set_consent(&decisions, method)
    }

    /// Denies or withdraws: as easy as granting, and effective at once (see [`Self::set_consent`]).
    pub fn deny(&self, purposes: &[&str], method: Method) -> Result<ConsentOutcome> {
        let decisions: Vec<(&str, bool)> = purposes.iter().map(|p| (*p, false)).collect();
        self.set_consent(&decisions, method)
    }

    /// Call just before the prompt renders. It is logged, and it is never a decision: an app killed while the
    /// prompt is visible has decided nothing.
    pub fn prompt_shown(&self, prompt_id: &str) -> Result<()> {
        self.change_consent(ConsentChange::PromptShown { prompt_id: prompt_id.to_string() }).map(|_| ())
    }

    /// The jurisdiction, Global Privacy Control signal and age band, as the app determines them; they set the
    /// defaults (and, for under-13s, which purposes can open at all).
    pub fn set_consent_context(&self, context: Context) -> Result<ConsentOutcome> {
        self.change_consent(ConsentChange::SetContext(context))
    }

    /// Applies a policy document (the body of `GET /v1/config`, or one the app bundles). An invalid document is
    /// refused with the reason and the current policy stays.
    pub fn apply_consent_policy(&self, remote_config_json: &[u8]) -> Result<ConsentOutcome> {
        let policy = Policy::from_remote_config(remote_config_json).map_err(|e| Error::Config(e.to_string()))?;
        self.change_consent(ConsentChange::ApplyPolicy(policy))
    }

    /// Fetches the consent policy from the endpoint now (`GET /v1/config`, with the cached ETag) and applies it.
    /// On any failure the current policy stays and the reason is returned.
    pub fn refresh_consent_policy(&self) -> Result<PolicyRefresh> {
        let sync = self.sync()?;
        let (tx, rx) = std::sync::mpsc::channel();
        sync.refresh_config(Reply::Blocking(tx));
        rx.recv().map_err(|_| Error::Closed)?
    }

    /// [`Self::refresh_consent_policy`] for async callers; cancel-safe like `flush_async`.
    pub async fn refresh_consent_policy_async(&self) -> Result<PolicyRefresh> {
        let sync = self.sync()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        sync.refresh_config(Reply::Async(tx));
        rx.await.map_err(|_| Error::Closed)?
    }

    /// The prompt to show now, if any, and why (`no_decision`, `policy_material_change`, `expired`, …).
    /// In TCF import mode the purposes the CMP decides are left out: only Footfall's own (custom) purposes
    /// can make it ask. So are purposes closed to the shopper's age band.
    pub fn needs_prompt(&self) -> Result<PromptNeed> {
        let mut snapshot = self.loaded_consent()?;
        let age_band = snapshot.context.age_band;
        // Nobody is asked about what their answer cannot open (a child's marketing).
        snapshot
            .policy
            .purposes
            .retain(|def| self.prompts_for(&def.id) && !purpose::blocked_for_age(&def.id, age_band));
        Ok(snapshot.state.needs_prompt(&snapshot.policy, self.clock.now_ms()))
    }

    /// Whether events of `purpose` are collected now.
    pub fn is_allowed(&self, purpose: &str) -> Result<bool> {
        self.storage()?;
        Ok(self.consent.is_allowed(purpose, self.clock.now_ms()).unwrap_or(false))
    }

    pub fn consent_status(&self) -> Result<ConsentStatus> {
        // The revision is read before the snapshot: a change landing in between makes the status newer than its
        // revision says, never older, so a status published with that change is not replaced by this one.
        let revision = self.consent.generation();
        let snapshot = self.loaded_consent()?;
        let source = ConsentSourceKind::from(self.consent_source);
        let refused = RefusedPolicy::load(&*self.storage()?)?;
        Ok(status_of(&snapshot, self.consent.enforced(), source, refused, revision, self.clock.now_ms()))
    }

    /// Every consent record, with the verification of the hash chain (tampering shows as `verified: false`).
    pub fn consent_log(&self) -> Result<ConsentLog> {
        let storage = self.storage()?;
        let (records, verdict) = service::verified_log(&storage)?;
        Ok(ConsentLog { records, verified: verdict.is_ok(), problem: verdict.err() })
    }

    pub(super) fn change_consent(&self, change: ConsentChange) -> Result<ConsentOutcome> {
        self.storage()?;
        self.consent_changes.apply(change)
    }

    /// The snapshot once the writer has read the log (waits for the storage to open, like `status()`).
    pub(super) fn loaded_consent(&self) -> Result<Snapshot> {
        self.storage()?;
        // The writer publishes the log before it marks the storage ready.
        Ok(self.consent.snapshot())
    }
}
