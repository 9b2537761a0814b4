//! What the three wallet endpoints share: admission (key, faults, "not offered") and the `Date` header every
//! wallet answer carries, because the device corrects its clock from it before judging coupon validity.

use std::sync::Arc;

use hyper::header::{HeaderValue, DATE};
use hyper::{HeaderMap, Response, StatusCode};

use super::issuer::WalletIssuer;
use crate::body::{admit, Admitted};
use crate::config::Endpoint;
use crate::http::{error, AbortConnection, Body, Shared};
use crate::timefmt::imf_fixdate;

/// `resp` with a `Date` from the collector's clock (test clock offset included), replacing hyper's own.
pub(crate) fn dated(mut resp: Response<Body>, now: i64) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(&imf_fixdate(now)) {
        resp.headers_mut().insert(DATE, value);
    }
    resp
}

/// A request the wallet will process, or the answer already decided (401, an injected fault, 404 not offered).
pub(crate) enum Admission {
    Proceed(Admitted, Arc<WalletIssuer>),
    Answered(Response<Body>),
}

/// Counts the request, checks the key and takes the fault decision like every endpoint; then answers 404
/// `not_offered` (before any body is read) when the collector runs without an issuer key.
pub(crate) async fn admit_wallet(
    shared: &Shared,
    endpoint: Endpoint,
    headers: &HeaderMap,
) -> Result<Admission, AbortConnection> {
    let admitted = match admit(shared, endpoint, headers).await? {
        Ok(admitted) => admitted,
        Err(resp) => return Ok(Admission::Answered(dated(resp, shared.now_secs()))),
    };
    Ok(match shared.wallet.clone() {
        Some(issuer) => Admission::Proceed(admitted, issuer),
        None => {
            let resp = error(
                StatusCode::NOT_FOUND,
                "not_offered",
                "this collector issues no coupons (start it with --issuer-key FILE)",
            );
            Admission::Answered(dated(admitted.answer(resp).await, shared.now_secs()))
        }
    })
}
