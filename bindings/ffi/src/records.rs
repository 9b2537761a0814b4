//! What the SDK reports, as plain records: counters cross as i64 (Kotlin `Long`), durations as milliseconds.

use crate::config::{millis, saturate};

/// What a flush achieved.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FlushReport {
    pub delivered: i64,
    pub dead_lettered: i64,
    /// Messages the server said it already had.
    pub duplicates: i64,
    /// Messages still queued after the pass.
    pub remaining: i64,
    pub outcome: FlushOutcome,
}

#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum FlushOutcome {
    /// Nothing is left to send.
    Drained,
    /// A transient failure; data is kept and the next attempt is due after `after_ms`.
    RetryLater { after_ms: i64, reason: String },
    /// Uploads are paused (credentials, endpoint or the server's TLS certificate refused); data is kept.
    Paused { reason: String },
    /// The server asked (Retry-After) that nothing be sent before `until_ms` (Unix ms, device clock); not even
    /// a flush sends until then, in this process or the next.
    Held { after_ms: i64, until_ms: i64, reason: String },
}

/// What an upload lane is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LaneCondition {
    Ok,
    /// A transient failure; retried after backoff.
    Retrying,
    /// The server's Retry-After runs until `until`.
    Held,
    /// Credentials or endpoint refused; an explicit flush or a restart tries again.
    Paused,
    /// The server's TLS certificate was refused; background uploads wait until `until`.
    CertificateInvalid,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LaneStatus {
    pub state: LaneCondition,
    pub reason: Option<String>,
    /// RFC 3339, for `Held` and `CertificateInvalid`.
    pub until: Option<String>,
}

/// The queue and the sync history, read from storage.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Status {
    pub pending: i64,
    pub in_flight: i64,
    pub dead_lettered: i64,
    pub evicted: Evicted,
    pub bytes_on_disk: i64,
    pub queued_bytes: i64,
    pub tracked: i64,
    pub delivered: i64,
    pub duplicates_reported: i64,
    pub upload_attempts: i64,
    pub upload_failures: i64,
    pub retries: i64,
    pub queue_full_rejections: i64,
    /// Events refused because their purpose was not allowed.
    pub consent_refused: i64,
    /// Queued events deleted because consent for their purpose was withdrawn.
    pub purged_by_consent: i64,
    pub storage_recoveries: i64,
    pub storage_errors: i64,
    /// Times the platform's key that wraps the data key was lost (app data restored on another device, the key
    /// store wiped or the key invalidated): the queued events and the user id sealed under it could never be read
    /// again, so they were deleted and the SDK started over under a new key. Nothing to handle; a count to watch.
    pub key_resets: i64,
    /// Sealed values that did not open because they were altered on disk or moved to another row: their rows were
    /// removed, never shown or sent. Anything but 0 means the app's files were tampered with or damaged.
    pub unreadable_values: i64,
    pub last_error: Option<String>,
    /// RFC 3339.
    pub last_error_at: Option<String>,
    /// RFC 3339.
    pub last_successful_sync: Option<String>,
    /// Event uploads.
    pub event_lane: LaneStatus,
    /// Consent receipts and rights requests.
    pub essential_lane: LaneStatus,
}

/// Events removed by the storage limits, by reason.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Evicted {
    pub max_events: i64,
    pub max_bytes: i64,
    pub max_age: i64,
    pub dead_letters_dropped: i64,
}

/// An event the server refused, kept for inspection.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DeadLetter {
    pub id: String,
    pub name: String,
    /// HTTP status of the refusal; None when the SDK gave up by age.
    pub status: Option<i32>,
    pub reason: String,
}

impl From<footfall_core::FlushReport> for FlushReport {
    fn from(r: footfall_core::FlushReport) -> Self {
        FlushReport {
            delivered: saturate(r.delivered),
            dead_lettered: saturate(r.dead_lettered),
            duplicates: saturate(r.duplicates),
            remaining: saturate(r.remaining),
            outcome: match r.outcome {
                footfall_core::FlushOutcome::Drained => FlushOutcome::Drained,
                footfall_core::FlushOutcome::RetryLater { after, reason } => {
                    FlushOutcome::RetryLater { after_ms: millis(after), reason }
                }
                footfall_core::FlushOutcome::Paused { reason } => FlushOutcome::Paused { reason },
                footfall_core::FlushOutcome::Held { after, until_ms, reason } => {
                    FlushOutcome::Held { after_ms: millis(after), until_ms, reason }
                }
            },
        }
    }
}

impl From<footfall_core::Status> for Status {
    fn from(s: footfall_core::Status) -> Self {
        Status {
            pending: saturate(s.pending),
            in_flight: saturate(s.in_flight),
            dead_lettered: saturate(s.dead_lettered),
            evicted: Evicted {
                max_events: saturate(s.evicted.max_events),
                max_bytes: saturate(s.evicted.max_bytes),
                max_age: saturate(s.evicted.max_age),
                dead_letters_dropped: saturate(s.evicted.dead_letters_dropped),
            },
            bytes_on_disk: saturate(s.bytes_on_disk),
            queued_bytes: saturate(s.queued_bytes),
            tracked: saturate(s.tracked),
            delivered: saturate(s.delivered),
            duplicates_reported: saturate(s.duplicates_reported),
            upload_attempts: saturate(s.upload_attempts),
            upload_failures: saturate(s.upload_failures),
            retries: saturate(s.retries),
            queue_full_rejections: saturate(s.queue_full_rejections),
            consent_refused: saturate(s.consent_refused),
            purged_by_consent: saturate(s.purged_by_consent),
            storage_recoveries: saturate(s.storage_recoveries),
            storage_errors: saturate(s.storage_errors),
            key_resets: saturate(s.key_resets),
            unreadable_values: saturate(s.unreadable_values),
            last_error: s.last_error,
            last_error_at: s.last_error_at,
            last_successful_sync: s.last_successful_sync,
            event_lane: s.event_lane.into(),
            essential_lane: s.essential_lane.into(),
        }
    }
}

impl From<footfall_core::sync::LaneStatus> for LaneStatus {
    fn from(s: footfall_core::sync::LaneStatus) -> Self {
        use footfall_core::sync::LaneCondition as Core;
        let state = match s.state {
            Core::Ok => LaneCondition::Ok,
            Core::Retrying => LaneCondition::Retrying,
            Core::Held => LaneCondition::Held,
            Core::Paused => LaneCondition::Paused,
            Core::CertificateInvalid => LaneCondition::CertificateInvalid,
        };
        LaneStatus { state, reason: s.reason, until: s.until }
    }
}

impl From<footfall_core::DeadLetter> for DeadLetter {
    fn from(d: footfall_core::DeadLetter) -> Self {
        DeadLetter { id: d.id.to_string(), name: d.name, status: d.status.map(i32::from), reason: d.reason }
    }
}
