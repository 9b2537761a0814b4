//! `POST /v1/batch`: events, validated all-or-nothing and stored with dedupe by `messageId`.

use hyper::{Response, StatusCode};
use serde_json::json;

use crate::body::{upload, Reject};
use crate::config::Endpoint;
use crate::http::{json_response, AbortConnection, Body, Req, Shared};
use crate::validate::parse_batch;

pub(crate) async fn handle(shared: &Shared, req: Req) -> Result<Response<Body>, AbortConnection> {
    let store = shared.store.clone();
    let reject_names = shared.reject_event_names.clone();
    upload(shared, Endpoint::Batch, req, "invalid_batch", move |body| {
        let batch = parse_batch(body, &reject_names)
            .map_err(|invalid| Reject::bad_request(invalid.code(), invalid.message()))?;
        let stored = store.store(&batch).map_err(Reject::storage)?;
        Ok(json_response(StatusCode::OK, &json!({"accepted": stored.accepted, "duplicates": stored.duplicates})))
    })
    .await
}
