//! `POST /v1/consent-records`: sealed consent records from the SDK's essential lane. Every record's hash is
//! verified; one bad record refuses the whole request (all-or-nothing, so the SDK can bisect to it). Stored
//! once per `record_id`.

use hyper::{Response, StatusCode};
use serde_json::json;

use crate::body::{upload, Reject};
use crate::config::Endpoint;
use crate::http::{json_response, AbortConnection, Body, Req, Shared};
use crate::record::parse_batch;

pub(crate) async fn handle(shared: &Shared, req: Req) -> Result<Response<Body>, AbortConnection> {
    let store = shared.store.clone();
    upload(shared, Endpoint::ConsentRecords, req, "invalid_request", move |body| {
        let batch = parse_batch(body).map_err(|(code, message)| Reject::bad_request(code, message))?;
        let stored = store.store_consent_records(&batch).map_err(Reject::storage)?;
        Ok(json_response(StatusCode::OK, &json!({"accepted": stored.accepted, "duplicates": stored.duplicates})))
    })
    .await
}
