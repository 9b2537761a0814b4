//! `POST /v1/consent-records`: sealed consent records from the SDK's essential lane. Every record's hash is
//! verified; one bad record refuses the whole request (all-or-nothing, so the SDK can bisect to it). Stored
//! once per `record_id`.

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::body::{upload, Reject};
use crate::config::Endpoint;
use crate::record::{parse_record, Record};
use crate::server::{json_response, AbortConnection, Body, Shared};
use crate::timefmt::is_rfc3339;

/// A validated request.
#[derive(Debug)]
pub(crate) struct RecordBatch {
    pub records: Vec<Record>,
    pub sent_at: Option<String>,
}

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Result<Response<Body>, AbortConnection> {
    let store = shared.store.clone();
    upload(shared, Endpoint::ConsentRecords, req, "invalid_request", move |body| {
        let batch = parse(body).map_err(|(code, message)| Reject::bad_request(code, message))?;
        let stored = store.store_consent_records(&batch).map_err(Reject::storage)?;
        Ok(json_response(StatusCode::OK, &json!({"accepted": stored.accepted, "duplicates": stored.duplicates})))
    })
    .await
}

/// `{"records": [...], "sentAt": ...}`; the error is (`invalid_request` or `invalid_record`, message).
pub(crate) fn parse(body: &[u8]) -> Result<RecordBatch, (&'static str, String)> {
    let request = |m: String| ("invalid_request", m);
    let root: Value = serde_json::from_slice(body).map_err(|e| request(format!("body is not valid JSON: {e}")))?;
    let Value::Object(mut root) = root else {
        return Err(request("body must be a JSON object with a \"records\" array".into()));
    };
    let sent_at = match root.remove("sentAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_rfc3339(&s) => Some(s),
        Some(_) => return Err(request("\"sentAt\" must be an RFC 3339 timestamp".into())),
    };
    let Some(Value::Array(items)) = root.remove("records") else {
        return Err(request("\"records\" must be an array of consent records".into()));
    };
    let records = items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_record(index, item).map_err(|m| ("invalid_record", m)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch { records, sent_at })
}
