//! SDK events for the app through a foreign `EventListener`, adapted from the core's `SdkListener`.
//!
//! The core calls it on its sync thread after each upload pass, with no lock held, before an explicit flush
//! returns. A foreign exception is logged and dropped; the SDK goes on.

use std::sync::Arc;

use footfall_core::SdkEvent;

use crate::config::{millis, saturate};
use crate::error::FootfallError;

/// Something the SDK did. New variants will be added (consent changes, offers): match with an else branch.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum FootfallEvent {
    /// The server accepted `count` messages; `duplicates` of them it already had.
    Delivered { count: i64, duplicates: i64 },
    /// The server refused `count` messages with this status and reason; they are in the dead letters.
    DeadLettered { count: i64, status: Option<i32>, reason: String },
    /// An upload failed transiently; data is kept and the next attempt is due after `after_ms`.
    RetryScheduled { after_ms: i64, reason: String },
    /// The server refused the credentials or endpoint; uploads wait for an explicit flush; data is kept.
    Paused { reason: String },
}

/// Implemented by the app. Called on an SDK thread: hand the event over (a channel, a flow) and return quickly,
/// and do not call `flush()` or `close()` from inside.
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: FootfallEvent) -> Result<(), FootfallError>;
}

/// The core-side listener that forwards to the foreign one.
pub(crate) struct Forward(pub Arc<dyn EventListener>);

impl footfall_core::SdkListener for Forward {
    fn on_event(&self, event: &SdkEvent) {
        let Some(event) = convert(event) else { return };
        if let Err(e) = self.0.on_event(event) {
            tracing::warn!(error = %e, "the app's event listener failed");
        }
    }
}

/// None for core events this version of the facade does not know yet.
fn convert(event: &SdkEvent) -> Option<FootfallEvent> {
    Some(match event {
        SdkEvent::Delivered { count, duplicates } => {
            FootfallEvent::Delivered { count: saturate(*count), duplicates: saturate(*duplicates) }
        }
        SdkEvent::DeadLettered { count, status, reason } => FootfallEvent::DeadLettered {
            count: saturate(*count),
            status: status.map(i32::from),
            reason: reason.clone(),
        },
        SdkEvent::RetryScheduled { after, reason } => {
            FootfallEvent::RetryScheduled { after_ms: millis(*after), reason: reason.clone() }
        }
        SdkEvent::Paused { reason } => FootfallEvent::Paused { reason: reason.clone() },
        _ => return None,
    })
}
