//! The consent and rights records the foreign `Footfall` object takes and returns, mirroring the core's, with
//! their conversions. Kept apart from the methods (`consent.rs`) so events (`listener.rs`) can carry them.

use std::collections::HashMap;

use footfall_core::consent::purpose as core_purpose;
use footfall_core::consent::record as core_record;
use footfall_core::consent::service::ConsentOutcome as CoreOutcome;
use footfall_core::consent::state as core_state;

use crate::config::saturate;

/// The legal regime the app says applies to this shopper; it picks the default for undecided purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Jurisdiction {
    /// Opt-in.
    Gdpr,
    /// Opt-in.
    Appi,
    /// Opt-out, except `location`; a Global Privacy Control signal opts out of `marketing`.
    Ccpa,
    /// Not known: opt-in, the strictest.
    Unknown,
}

/// The shopper's age band, when the app knows it. Minors are opt-in for every purpose whatever the
/// jurisdiction; under 13, marketing, personalization and location never open (parental consent is the app's flow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AgeBand {
    Adult,
    /// 13 to 15.
    Under16,
    Under13,
}

/// How a decision was made, as recorded in the consent log.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ConsentMethod {
    /// The shopper answered this prompt.
    Prompt { prompt_id: String },
    /// The shopper changed it in the app's privacy settings.
    Settings,
    /// The app decided through the API.
    Api,
    /// Imported from the app's CMP (IAB TCF); only `importTcf` records it.
    TcfImport { cmp_id: i32 },
}

/// What a consent change did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentOutcome {
    /// The consent-log record written, if any.
    pub record_id: Option<String>,
    /// Queued events deleted because their purpose is no longer allowed.
    pub purged: i64,
    pub now_allowed: Vec<String>,
    pub now_denied: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PurposeStatus {
    pub id: String,
    /// The gating decision now: what `track()` and uploads apply.
    pub allowed: bool,
    /// The shopper's latest answer, if any (it may no longer count: see `decision_valid`).
    pub decision: Option<bool>,
    /// RFC 3339.
    pub decided_at: Option<String>,
    /// False when the answer predates a material change of the notice or is older than the maximum consent age.
    pub decision_valid: bool,
}

/// Google Consent Mode v2 signals derived from the gating decisions, for the app to forward to Firebase/gtag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct GoogleConsentMode {
    pub analytics_storage: bool,
    pub ad_storage: bool,
    pub ad_user_data: bool,
    pub ad_personalization: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentStatus {
    /// Whether this instance gates on consent.
    pub enforced: bool,
    /// True in TCF import mode: the app's CMP decides the purposes TCF covers.
    pub tcf_import: bool,
    pub policy_version: i64,
    pub jurisdiction: Jurisdiction,
    /// True when silence means yes (CCPA); false when it means no.
    pub opt_out_mode: bool,
    pub global_privacy_control: bool,
    /// None when the app has not said.
    pub age_band: Option<AgeBand>,
    pub purposes: Vec<PurposeStatus>,
    pub google_consent_mode: GoogleConsentMode,
    /// The last policy the server sent that was refused (invalid, or older than the one in force).
    pub refused_policy: Option<RefusedPolicy>,
    /// Grows with every consent change: of two statuses, the higher one is newer.
    pub revision: i64,
}

/// A served policy the SDK did not apply, and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefusedPolicy {
    pub version: Option<i64>,
    pub reason: String,
    /// RFC 3339.
    pub at: String,
}

/// Why a prompt is (or is not) needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PromptReason {
    NoDecision,
    PolicyMaterialChange,
    Expired,
    NewPurpose,
    /// A decision is needed but every prompt that could ask for it is switched off remotely.
    PromptDisabled,
    UpToDate,
}

/// The prompt to show now and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PromptNeed {
    /// None: show nothing (see `reason`).
    pub prompt_id: Option<String>,
    pub reason: PromptReason,
    /// The purposes that lack a valid decision.
    pub purposes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConsentRecordKind {
    Decision,
    /// A prompt was about to render; never a decision.
    PromptShown,
}

/// One entry of the append-only, hash-chained consent log.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentRecord {
    pub record_id: String,
    pub kind: ConsentRecordKind,
    /// The pseudonymous anonymous id in force; never the user id.
    pub subject_id: String,
    pub timestamp_ms: i64,
    pub policy_version: i64,
    pub notice_hash: String,
    pub decisions: HashMap<String, bool>,
    pub method: ConsentMethod,
    pub jurisdiction: Jurisdiction,
    pub app_version: String,
    pub sdk_version: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentLog {
    pub records: Vec<ConsentRecord>,
    /// False when a stored record was edited or removed.
    pub verified: bool,
    /// Where verification failed.
    pub problem: Option<String>,
}

/// What `refreshConsentPolicy()` found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PolicyRefresh {
    /// A new policy was applied; false when the server said the cached one is current.
    pub changed: bool,
    pub policy_version: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TcfImportResult {
    /// The CMP's answer was recorded.
    Recorded,
    /// Same answer as recorded; nothing written.
    Unchanged,
    /// `IABTCF_gdprApplies` = 0: nothing imported.
    GdprDoesNotApply,
    /// The CMP removed its string: the grants it made were withdrawn.
    Cleared,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TcfImport {
    pub result: TcfImportResult,
    /// What the string decided about each mapped purpose.
    pub decisions: HashMap<String, bool>,
    pub outcome: ConsentOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RightsState {
    /// Persisted; not yet sent.
    Received,
    /// Sent; waiting for the backend's acknowledgement.
    Sent,
    Acknowledged,
    /// The backend refused it for good (see `last_error`).
    Refused,
}

/// A data-subject request (today: deletion), persisted until the backend acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RightsRequest {
    pub request_id: String,
    pub kind: String,
    pub state: RightsState,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub last_error: Option<String>,
}

impl From<CoreOutcome> for ConsentOutcome {
    fn from(o: CoreOutcome) -> Self {
        ConsentOutcome {
            record_id: o.record_id,
            purged: saturate(o.purged),
            now_allowed: o.now_allowed,
            now_denied: o.now_denied,
        }
    }
}

impl From<Jurisdiction> for core_purpose::Jurisdiction {
    fn from(j: Jurisdiction) -> Self {
        match j {
            Jurisdiction::Gdpr => core_purpose::Jurisdiction::Gdpr,
            Jurisdiction::Appi => core_purpose::Jurisdiction::Appi,
            Jurisdiction::Ccpa => core_purpose::Jurisdiction::Ccpa,
            Jurisdiction::Unknown => core_purpose::Jurisdiction::Unknown,
        }
    }
}

impl From<core_purpose::Jurisdiction> for Jurisdiction {
    fn from(j: core_purpose::Jurisdiction) -> Self {
        match j {
            core_purpose::Jurisdiction::Gdpr => Jurisdiction::Gdpr,
            core_purpose::Jurisdiction::Appi => Jurisdiction::Appi,
            core_purpose::Jurisdiction::Ccpa => Jurisdiction::Ccpa,
            core_purpose::Jurisdiction::Unknown => Jurisdiction::Unknown,
        }
    }
}

impl From<core_state::Reason> for PromptReason {
    fn from(r: core_state::Reason) -> Self {
        match r {
            core_state::Reason::NoDecision => PromptReason::NoDecision,
            core_state::Reason::PolicyMaterialChange => PromptReason::PolicyMaterialChange,
            core_state::Reason::Expired => PromptReason::Expired,
            core_state::Reason::NewPurpose => PromptReason::NewPurpose,
            core_state::Reason::PromptDisabled => PromptReason::PromptDisabled,
            core_state::Reason::UpToDate => PromptReason::UpToDate,
        }
    }
}

impl From<core_record::ConsentRecord> for ConsentRecord {
    fn from(r: core_record::ConsentRecord) -> Self {
        ConsentRecord {
            record_id: r.record_id,
            kind: match r.kind {
                core_record::RecordKind::Decision => ConsentRecordKind::Decision,
                core_record::RecordKind::PromptShown => ConsentRecordKind::PromptShown,
            },
            subject_id: r.subject_id,
            timestamp_ms: r.timestamp_ms,
            policy_version: i64::from(r.policy_version),
            notice_hash: r.notice_hash,
            decisions: r.decisions.into_iter().collect(),
            method: match r.method {
                core_record::Method::Prompt { prompt_id } => ConsentMethod::Prompt { prompt_id },
                core_record::Method::Settings => ConsentMethod::Settings,
                core_record::Method::Api => ConsentMethod::Api,
                core_record::Method::TcfImport { cmp_id } => ConsentMethod::TcfImport { cmp_id: i32::from(cmp_id) },
            },
            jurisdiction: r.jurisdiction.into(),
            app_version: r.app_version,
            sdk_version: r.sdk_version,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

impl From<footfall_core::sdk::ConsentStatus> for ConsentStatus {
    fn from(s: footfall_core::sdk::ConsentStatus) -> Self {
        let g = s.google_consent_mode;
        ConsentStatus {
            enforced: s.enforced,
            tcf_import: s.source == footfall_core::sdk::ConsentSourceKind::Tcf,
            policy_version: i64::from(s.policy_version),
            jurisdiction: s.jurisdiction.into(),
            opt_out_mode: s.mode == core_purpose::Mode::OptOut,
            global_privacy_control: s.global_privacy_control,
            age_band: s.age_band.map(|band| match band {
                core_purpose::AgeBand::Adult => AgeBand::Adult,
                core_purpose::AgeBand::Under16 => AgeBand::Under16,
                core_purpose::AgeBand::Under13 => AgeBand::Under13,
            }),
            purposes: s
                .purposes
                .into_iter()
                .map(|p| PurposeStatus {
                    id: p.id,
                    allowed: p.allowed,
                    decision: p.decision,
                    decided_at: p.decided_at,
                    decision_valid: p.decision_valid,
                })
                .collect(),
            google_consent_mode: GoogleConsentMode {
                analytics_storage: g.analytics_storage,
                ad_storage: g.ad_storage,
                ad_user_data: g.ad_user_data,
                ad_personalization: g.ad_personalization,
            },
            refused_policy: s.refused_policy.map(|r| RefusedPolicy {
                version: r.version.map(i64::from),
                reason: r.reason,
                at: r.at,
            }),
            revision: s.revision as i64,
        }
    }
}
