//! `POST {base}/v1/rights/deletion` in the essential lane: each request made durable by
//! `Footfall::request_deletion()` is sent with the same `requestId` and JSON until a 2xx, surviving restarts.
//! States: received → sent (attempted) → acknowledged (2xx); a 400/422/413 marks it refused, not re-sent.

use super::policy::{self, Verdict};
use super::receipts::{post, LaneStop};
use super::uploader::UploaderSetup;
use crate::error::Result;
use crate::storage::{RightsState, Storage};

pub const DELETION_PATH: &str = "/v1/rights/deletion";

/// Sends every pending request, oldest first; `Some` when the server said to stop.
pub(crate) async fn send_pending(setup: &UploaderSetup, storage: &Storage) -> Result<Option<LaneStop>> {
    for request in storage.pending_rights()? {
        let now = setup.clock.now_ms();
        if request.state == RightsState::Received {
            storage.set_rights_state(&request.id, RightsState::Sent, None, now)?;
        }
        let result = post(setup, DELETION_PATH, request.body.as_bytes()).await;
        let now = setup.clock.now_ms();
        match policy::classify(&result, now, &setup.retry) {
            Verdict::Delivered { .. } => {
                storage.set_rights_state(&request.id, RightsState::Acknowledged, None, now)?;
                tracing::info!(request_id = %request.id, "deletion request acknowledged");
            }
            Verdict::Rejected { reason, .. } | Verdict::TooLarge { reason } => {
                tracing::warn!(request_id = %request.id, reason = %reason, "the backend refused a deletion request");
                storage.set_rights_state(&request.id, RightsState::Refused, Some(&reason), now)?;
            }
            verdict => {
                let stop = LaneStop::from_verdict(verdict);
                let reason = stop.as_ref().map(LaneStop::reason);
                storage.set_rights_state(&request.id, RightsState::Sent, reason, now)?;
                return Ok(stop);
            }
        }
    }
    Ok(None)
}
