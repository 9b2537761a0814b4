//! Applying consent changes. Runs on the writer thread only, so a change is ordered with every append: events
//! tracked before a withdrawal are purged by it, events tracked after it are refused.

use std::collections::BTreeMap;

use super::policy::Policy;
use super::purpose;
use super::record::{verify_chain, ConsentRecord, Method, NewRecord, RecordKind};
use super::state::{ConsentState, Context, Decision};
use super::view::Snapshot;
use crate::error::{Error, Result, ValidationError};
use crate::storage::{MetaKey, Storage};

/// A change the app asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsentChange {
    /// purpose → granted.
    Decide {
        decisions: BTreeMap<String, bool>,
        method: Method,
    },
    /// Recorded before the prompt renders; never a decision.
    PromptShown {
        prompt_id: String,
    },
    SetContext(Context),
    ApplyPolicy(Policy),
}

/// What a change did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsentOutcome {
    /// The log record written, if the change is one that is logged.
    pub record_id: Option<String>,
    /// Queued events deleted because their purpose is no longer allowed.
    pub purged: u64,
    /// Purposes allowed before and denied after, and the reverse.
    pub now_denied: Vec<String>,
    pub now_allowed: Vec<String>,
}

/// Reads the log, the cached policy and the context. A log that fails verification still yields its decisions
/// (the log is the only record of them) — tampering is reported by `consent_log`, not hidden by losing consent.
pub(crate) fn load(storage: &Storage) -> Result<Snapshot> {
    let records = parse_log(storage)?;
    let policy = match storage.meta(MetaKey::ConsentPolicy)? {
        Some(json) => {
            serde_json::from_str::<Policy>(&json).ok().and_then(|p| p.validated().ok()).unwrap_or_else(Policy::built_in)
        }
        None => Policy::built_in(),
    };
    let context =
        storage.meta(MetaKey::ConsentContext)?.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default();
    Ok(Snapshot { policy, state: ConsentState::from_records(&records), context })
}

/// The stored log, parsed; an unreadable body is a storage error.
pub(crate) fn parse_log(storage: &Storage) -> Result<Vec<ConsentRecord>> {
    storage
        .consent_log()?
        .iter()
        .map(|stored| {
            serde_json::from_str(&stored.body)
                .map_err(|e| Error::storage(format!("consent record {} is unreadable: {e}", stored.seq)))
        })
        .collect()
}

/// The log with the result of verifying its hash chain.
pub fn verified_log(storage: &Storage) -> Result<(Vec<ConsentRecord>, Result<(), String>)> {
    let records = parse_log(storage)?;
    let verdict = verify_chain(&records).map(|_| ()).map_err(|e| e.to_string());
    Ok((records, verdict))
}

pub(crate) struct Applied {
    pub snapshot: Snapshot,
    pub outcome: ConsentOutcome,
}

/// Makes `change` durable (log record or setting, plus the purge, in one transaction) and returns the snapshot
/// to publish.
pub(crate) fn apply(
    storage: &Storage,
    current: &Snapshot,
    change: ConsentChange,
    subject_id: &str,
    app_version: &str,
    now_ms: i64,
    record_id: String,
) -> Result<Applied> {
    let mut next = current.clone();
    let mut record = None;
    let mut setting = None;
    match change {
        ConsentChange::Decide { decisions, method } => {
            if decisions.is_empty() {
                return Err(ValidationError::InvalidPurpose(String::new()).into());
            }
            for (purpose_id, granted) in &decisions {
                purpose::validate(purpose_id)?;
                if purpose::is_essential(purpose_id) {
                    return Err(Error::InvalidInput(ValidationError::InvalidPurpose(format!(
                        "{purpose_id} (essential is never gated and cannot be decided)"
                    ))));
                }
                next.state.decisions.insert(
                    purpose_id.clone(),
                    Decision {
                        granted: *granted,
                        policy_version: current.policy.policy_version,
                        timestamp_ms: now_ms,
                        method: method.clone(),
                    },
                );
            }
            record = Some(new_record(
                current,
                RecordKind::Decision,
                decisions,
                method,
                subject_id,
                app_version,
                now_ms,
                record_id,
            ));
        }
        ConsentChange::PromptShown { prompt_id } => {
            let method = Method::Prompt { prompt_id };
            record = Some(new_record(
                current,
                RecordKind::PromptShown,
                BTreeMap::new(),
                method,
                subject_id,
                app_version,
                now_ms,
                record_id,
            ));
        }
        ConsentChange::SetContext(context) => {
            setting = Some((MetaKey::ConsentContext, serde_json::to_string(&context).map_err(Error::storage)?));
            next.context = context;
        }
        ConsentChange::ApplyPolicy(policy) => {
            let policy = policy.validated().map_err(|e| Error::Config(e.to_string()))?;
            current.policy.check_successor(&policy).map_err(|e| Error::Config(e.to_string()))?;
            setting = Some((MetaKey::ConsentPolicy, serde_json::to_string(&policy).map_err(Error::storage)?));
            next.policy = policy;
        }
    }
    let record_id = record.as_ref().map(|r: &NewRecord| r.record_id.clone());

    let queued = storage.held_purposes()?;
    let purge: Vec<String> = queued.into_iter().filter(|p| !next.is_allowed(p, now_ms)).collect();
    let purged = storage.write(|tx| {
        if let Some(record) = record {
            tx.append_consent(record)?;
        }
        if let Some((key, value)) = &setting {
            tx.set_meta(*key, Some(value))?;
        }
        tx.withdraw(&purge)
    })?;
    let mut outcome = ConsentOutcome { record_id, purged, now_denied: Vec::new(), now_allowed: Vec::new() };
    let mut purposes: Vec<&str> = next.policy.purposes.iter().map(|d| d.id.as_str()).collect();
    purposes.extend(next.state.decisions.keys().map(String::as_str));
    purposes.sort_unstable();
    purposes.dedup();
    for p in purposes {
        match (current.is_allowed(p, now_ms), next.is_allowed(p, now_ms)) {
            (true, false) => outcome.now_denied.push(p.to_string()),
            (false, true) => outcome.now_allowed.push(p.to_string()),
            _ => {}
        }
    }
    Ok(Applied { snapshot: next, outcome })
}

#[allow(clippy::too_many_arguments)]
fn new_record(
    current: &Snapshot,
    kind: RecordKind,
    decisions: BTreeMap<String, bool>,
    method: Method,
    subject_id: &str,
    app_version: &str,
    now_ms: i64,
    record_id: String,
) -> NewRecord {
    NewRecord {
        record_id,
        kind,
        subject_id: subject_id.to_string(),
        timestamp_ms: now_ms,
        policy_version: current.policy.policy_version,
        notice_hash: current.policy.notice_hash.clone(),
        decisions,
        method,
        jurisdiction: current.context.jurisdiction,
        app_version: app_version.to_string(),
    }
}
