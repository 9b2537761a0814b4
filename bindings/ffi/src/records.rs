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
    /// Uploads are paused (credentials or endpoint refused); data is kept.
    Paused { reason: String },
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
    pub last_error: Option<String>,
    /// RFC 3339.
    pub last_error_at: Option<String>,
    /// RFC 3339.
    pub last_successful_sync: Option<String>,
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
            last_error: s.last_error,
            last_error_at: s.last_error_at,
            last_successful_sync: s.last_successful_sync,
        }
    }
}

impl From<footfall_core::DeadLetter> for DeadLetter {
    fn from(d: footfall_core::DeadLetter) -> Self {
        DeadLetter { id: d.id.to_string(), name: d.name, status: d.status.map(i32::from), reason: d.reason }
    }
}
