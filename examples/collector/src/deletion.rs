//! `POST /v1/rights/deletion`: an erasure request from the SDK's essential lane, idempotent by `requestId`.
//! The reference collector acknowledges and records it; erasing is a real backend's job.

use hyper::{Response, StatusCode};
use serde_json::json;

use crate::body::{upload, Reject};
use crate::config::Endpoint;
use crate::deletion_request::parse;
use crate::http::{json_response, AbortConnection, Body, Req, Shared};

pub(crate) async fn handle(shared: &Shared, req: Req) -> Result<Response<Body>, AbortConnection> {
    let store = shared.store.clone();
    upload(shared, Endpoint::Deletion, req, "invalid_request", move |body| {
        let request = parse(body).map_err(|m| Reject::bad_request("invalid_request", m))?;
        // A repeat is acknowledged the same way: the first copy is the one kept.
        store.store_deletion(&request).map_err(Reject::storage)?;
        Ok(json_response(StatusCode::ACCEPTED, &json!({"status": "acknowledged", "requestId": request.request_id})))
    })
    .await
}
