//! Deletion requests: `POST {base}/v1/rights/deletion`, an outbox of the essential lane. Each request made
//! durable by `Footfall::request_deletion()` is sent, one per request, with the same `requestId` and JSON until a
//! 2xx, surviving restarts. States: received → sent (attempted) → acknowledged (2xx); a 400/422/413 marks it
//! refused, not re-sent.

use super::outbox::Outbox;
use super::transport::HttpResponse;
use crate::error::Result;
use crate::storage::{RightsRequest, RightsState, Storage};

pub const DELETION_PATH: &str = "/v1/rights/deletion";

pub(crate) struct DeletionRequests;

impl Outbox for DeletionRequests {
    type Item = RightsRequest;

    fn path(&self) -> &'static str {
        DELETION_PATH
    }

    fn next_request(&self, storage: &Storage) -> Result<Vec<RightsRequest>> {
        Ok(storage.pending_rights()?.into_iter().take(1).collect())
    }

    fn body(&self, requests: &[RightsRequest], _sent_at_ms: i64) -> Vec<u8> {
        requests.iter().flat_map(|r| r.body.as_bytes().iter().copied()).collect()
    }

    fn attempting(&self, storage: &Storage, requests: &[RightsRequest], now_ms: i64) -> Result<()> {
        for request in requests.iter().filter(|r| r.state == RightsState::Received) {
            storage.set_rights_state(&request.id, RightsState::Sent, None, now_ms)?;
        }
        Ok(())
    }

    fn delivered(&self, storage: &Storage, requests: &[RightsRequest], _: &HttpResponse, now_ms: i64) -> Result<()> {
        for request in requests {
            storage.set_rights_state(&request.id, RightsState::Acknowledged, None, now_ms)?;
            tracing::info!(request_id = %request.id, "deletion request acknowledged");
        }
        Ok(())
    }

    fn refused(&self, storage: &Storage, request: &RightsRequest, reason: &str, now_ms: i64) -> Result<()> {
        storage.set_rights_state(&request.id, RightsState::Refused, Some(reason), now_ms)
    }

    fn interrupted(&self, storage: &Storage, requests: &[RightsRequest], reason: &str, now_ms: i64) -> Result<()> {
        for request in requests {
            storage.set_rights_state(&request.id, RightsState::Sent, Some(reason), now_ms)?;
        }
        Ok(())
    }
}
