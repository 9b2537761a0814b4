//! What the SDK can tell about itself; everything is read from storage so a new process sees the whole history.

use serde::Serialize;

use crate::error::Result;
use crate::storage::{Counter, Storage};
use crate::sync::lane::{Lane, LaneStatus};
use crate::sync::uploader::sync_history;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// Queued and waiting for an upload.
    pub pending: u64,
    /// Leased by an upload that has not answered yet.
    pub in_flight: u64,
    /// Given up on (rejected by the server or expired), kept for inspection.
    pub dead_lettered: u64,
    pub evicted: Evicted,
    /// Database and write-ahead log on disk.
    pub bytes_on_disk: u64,
    /// Payload bytes of queued messages (what the byte limit counts).
    pub queued_bytes: u64,
    pub tracked: u64,
    pub delivered: u64,
    /// Ids the server said it already had (re-sent after a lost answer).
    pub duplicates_reported: u64,
    pub upload_attempts: u64,
    pub upload_failures: u64,
    pub retries: u64,
    pub queue_full_rejections: u64,
    /// Events refused because their purpose was not allowed (at `track()` or before commit).
    pub consent_refused: u64,
    /// Queued events deleted because consent for their purpose was withdrawn.
    pub purged_by_consent: u64,
    pub storage_recoveries: u64,
    pub storage_errors: u64,
    /// Times the platform's key was lost (app data restored on another device, the key store wiped or the key
    /// invalidated, the key file deleted): what was sealed under it (queued events, the user id) could never be
    /// read again and started over. Not an error to handle; a count to watch.
    pub key_resets: u64,
    /// Sealed values that did not open (altered on disk, or moved to another row): their rows were removed,
    /// never shown or sent. Anything but 0 means the app's files were tampered with or damaged.
    pub unreadable_values: u64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub last_successful_sync: Option<String>,
    /// Event uploads: `ok`, `retrying`, `held` (the server's Retry-After, until `until`), `paused` or
    /// `certificate_invalid`.
    pub event_lane: LaneStatus,
    /// Consent receipts, rights requests and the wallet's redemptions and clips, with the same states.
    pub essential_lane: LaneStatus,
}

/// Events removed by the storage limits, by reason.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evicted {
    pub max_events: u64,
    pub max_bytes: u64,
    pub max_age: u64,
    pub dead_letters_dropped: u64,
}

impl Status {
    pub(crate) fn collect(
        storage: &Storage,
        now_ms: i64,
        unsaved_rejections: u64,
        unsaved_refusals: u64,
    ) -> Result<Status> {
        let counts = storage.queue_counts(now_ms)?;
        let counters = storage.counters()?;
        let get = |c: Counter| counters.get(c.key()).copied().unwrap_or(0);
        let (last_error, last_error_at, last_successful_sync) = sync_history(storage)?;
        Ok(Status {
            pending: counts.pending,
            in_flight: counts.in_flight,
            dead_lettered: counts.dead_lettered,
            evicted: Evicted {
                max_events: get(Counter::EvictedMaxEvents),
                max_bytes: get(Counter::EvictedMaxBytes),
                max_age: get(Counter::EvictedMaxAge),
                dead_letters_dropped: get(Counter::DeadLettersDropped),
            },
            bytes_on_disk: storage.bytes_on_disk(),
            queued_bytes: counts.queued_bytes,
            tracked: get(Counter::Tracked),
            delivered: get(Counter::Delivered),
            duplicates_reported: get(Counter::DuplicatesReported),
            upload_attempts: get(Counter::UploadAttempts),
            upload_failures: get(Counter::UploadFailures),
            retries: get(Counter::Retries),
            queue_full_rejections: get(Counter::QueueFullRejections) + unsaved_rejections,
            consent_refused: get(Counter::ConsentRefused) + unsaved_refusals,
            purged_by_consent: get(Counter::PurgedByConsent),
            storage_recoveries: get(Counter::StorageRecoveries),
            storage_errors: get(Counter::StorageErrors),
            key_resets: get(Counter::KeyResets),
            unreadable_values: get(Counter::UnreadableValues),
            last_error,
            last_error_at,
            last_successful_sync,
            event_lane: LaneStatus::read(storage, Lane::Events)?,
            essential_lane: LaneStatus::read(storage, Lane::Essential)?,
        })
    }
}
