//! What every protocol endpoint shares: the rate limit, the request counter, API-key check, fault injection, and
//! for uploads the body pipeline (Content-Encoding, size limit, gzip-bomb-safe decompression, blocking work off
//! the workers).

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::header::{HeaderValue, CONTENT_ENCODING, DATE, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{HeaderMap, Response, StatusCode};

use crate::config::Endpoint;
use crate::faults::Plan;
use crate::http::{error, AbortConnection, Body, Req, Shared};
use crate::rate_limit::Client;

/// A request let through by [`admit`], with what fault injection still has to do to its answer.
pub(crate) struct Admitted {
    /// Process the request (store), then answer this status instead of the real answer.
    fail_after: Option<u16>,
    /// Wait this long after processing, before answering (scripted delay plus standing latency).
    wait_ms: u64,
}

impl Admitted {
    /// Applies the rest of the fault plan to the real answer: the substituted status, then the wait. The wait comes
    /// after storing, so a client that times out here has its upload stored but unacknowledged.
    pub async fn answer(self, real: Response<Body>) -> Response<Body> {
        let resp = match self.fail_after {
            Some(status) => injected(status, None),
            None => real,
        };
        sleep_ms(self.wait_ms).await;
        resp
    }
}

/// Counts the request, checks the API key, then takes the fault decision. `Ok(Err(resp))` is an answer to send as
/// it is (401, or an injected failure after the standing latency); `Err` drops the connection.
pub(crate) async fn admit(
    shared: &Shared,
    endpoint: Endpoint,
    headers: &HeaderMap,
) -> Result<Result<Admitted, Response<Body>>, AbortConnection> {
    shared.requests[endpoint.index()].fetch_add(1, Ordering::SeqCst);
    if !authorized(shared.api_key.as_deref(), headers) {
        let mut resp = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong API key (Authorization: Basic base64(key + \":\"))",
        );
        resp.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"footfall\""));
        return Ok(Err(resp));
    }
    let decision = shared.faults.decide(endpoint);
    let latency = decision.latency_ms;
    Ok(Ok(match decision.plan {
        Plan::Drop => return Err(AbortConnection),
        Plan::Fail { status, retry_after } => {
            sleep_ms(latency).await;
            return Ok(Err(injected(status, retry_after.as_deref())));
        }
        Plan::Normal => Admitted { fail_after: None, wait_ms: latency },
        Plan::StoreThenFail { status } => Admitted { fail_after: Some(status), wait_ms: latency },
        Plan::Delay { ms } => Admitted { fail_after: None, wait_ms: latency.saturating_add(ms) },
    }))
}

/// The whole pipeline of an upload endpoint: admit, read and decode the body, run `process` on it off the async
/// workers (parse, validate, store: all blocking), then answer through the fault plan. `invalid_code` is the
/// `error.code` of a body that is not valid gzip.
pub(crate) async fn upload<F>(
    shared: &Shared,
    endpoint: Endpoint,
    req: Req,
    invalid_code: &'static str,
    process: F,
) -> Result<Response<Body>, AbortConnection>
where
    F: FnOnce(&[u8]) -> Result<Response<Body>, Reject> + Send + 'static,
{
    let admitted = match admit(shared, endpoint, req.headers()).await? {
        Ok(admitted) => admitted,
        Err(resp) => return Ok(resp),
    };
    upload_admitted(shared, admitted, req, invalid_code, process).await
}

/// [`upload`] after [`admit`]: for endpoints that decide something between the two (the wallet answers 404
/// before reading a body when it is not offered).
pub(crate) async fn upload_admitted<F>(
    shared: &Shared,
    admitted: Admitted,
    req: Req,
    invalid_code: &'static str,
    process: F,
) -> Result<Response<Body>, AbortConnection>
where
    F: FnOnce(&[u8]) -> Result<Response<Body>, Reject> + Send + 'static,
{
    let real = match read(shared, req).await? {
        Err(reject) => reject.into_response(),
        Ok(raw) => {
            let max = shared.max_body_bytes;
            let outcome = tokio::task::spawn_blocking(move || -> Result<Response<Body>, Reject> {
                let body = raw.decode(max, invalid_code)?;
                process(&body)
            })
            .await;
            outcome
                .unwrap_or_else(|e| {
                    Err(Reject::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", e.to_string()))
                })
                .unwrap_or_else(Reject::into_response)
        }
    };
    Ok(admitted.answer(real).await)
}

/// A received body, still encoded.
pub(crate) struct RawBody {
    bytes: bytes::Bytes,
    gzip: bool,
}

impl RawBody {
    /// The decoded body, at most `max` bytes: a gzip bomb stops at the limit instead of filling memory.
    fn decode(self, max: usize, invalid_code: &'static str) -> Result<Vec<u8>, Reject> {
        if !self.gzip {
            return Ok(self.bytes.to_vec());
        }
        let mut out = Vec::new();
        let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
        flate2::read::GzDecoder::new(&self.bytes[..])
            .take(limit)
            .read_to_end(&mut out)
            .map_err(|e| Reject::new(StatusCode::BAD_REQUEST, invalid_code, format!("body is not valid gzip: {e}")))?;
        if out.len() > max {
            return Err(too_large(max));
        }
        Ok(out)
    }
}

/// Reads the body under the encoding and size rules. The outer error aborts the connection (the client vanished
/// mid-body); the inner one is an HTTP error response (415, 413).
async fn read(shared: &Shared, req: Req) -> Result<Result<RawBody, Reject>, AbortConnection> {
    let gzip = match req.headers().get(CONTENT_ENCODING).map(|v| v.to_str().map(str::trim)) {
        None => false,
        Some(Ok(v)) if v.eq_ignore_ascii_case("identity") || v.is_empty() => false,
        Some(Ok(v)) if v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("x-gzip") => true,
        Some(_) => {
            return Ok(Err(Reject::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_encoding",
                "Content-Encoding must be gzip or identity",
            )));
        }
    };
    let max = shared.max_body_bytes;
    // Gzip never grows incompressible data by more than a few bytes per 64 KiB block, so this raw cap only
    // refuses bodies that could not decompress to within `max` anyway.
    let raw_cap = if gzip { max.saturating_add(max / 8).saturating_add(4096) } else { max };
    // A body still arriving after the timeout is a client too slow to keep (or one trickling on purpose): the
    // connection goes, unanswered, like one the client dropped.
    let collected = tokio::time::timeout(shared.body_timeout, Limited::new(req.into_body(), raw_cap).collect());
    match collected.await.map_err(|_| AbortConnection)? {
        Ok(collected) => Ok(Ok(RawBody { bytes: collected.to_bytes(), gzip })),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Ok(Err(too_large(max))),
        Err(_) => Err(AbortConnection),
    }
}

/// The rate limit, checked by the router before the endpoint runs: before [`admit`], so before faults and before
/// any body is read. `Some(429)` when the client's bucket is empty, counted like every other refusal. The client
/// is the API key when the collector has one, otherwise the address the request came from (`peer`). A request
/// without the right key is let through to get its 401 from [`admit`]: it spends nobody's budget and takes no
/// room in the limiter's table, so forged keys can neither exhaust the real key's budget nor fill the table.
pub(crate) fn over_rate_limit(
    shared: &Shared,
    endpoint: Endpoint,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Option<Response<Body>> {
    let limiter = shared.rate_limiter.as_ref()?;
    let client = match shared.api_key.as_deref() {
        Some(key) if authorized(Some(key), headers) => Client::ApiKey,
        Some(_) => return None,
        // Always known in practice (the accept loop records it); a missing one shares one bucket.
        None => Client::address(peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.ip())),
    };
    let wait = limiter.take(client).err()?;
    shared.requests[endpoint.index()].fetch_add(1, Ordering::SeqCst);
    // Whole seconds, rounded up so a client that waits as told finds a token; at least 1 (`0` would mean now).
    let secs = u64::try_from(wait.as_nanos().div_ceil(1_000_000_000)).unwrap_or(u64::MAX).max(1);
    let whom = if shared.api_key.is_some() { "this API key" } else { "this client address" };
    let mut resp = error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        &format!("too many requests from {whom}: retry after {secs} s"),
    );
    resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    if matches!(endpoint, Endpoint::WalletChanges | Endpoint::WalletClips | Endpoint::WalletRedemptions) {
        // Every wallet answer carries `Date` from the collector's clock, as `wallet::answer::dated` sets it.
        if let Ok(value) = HeaderValue::from_str(&crate::timefmt::imf_fixdate(shared.now_secs())) {
            resp.headers_mut().insert(DATE, value);
        }
    }
    Some(resp)
}

/// Whether `headers` carry `Authorization: Basic base64(key + ":")` for the collector's key (any, without one).
/// The comparison takes the same time wherever the presented credentials differ from the key; it does reveal
/// whether their length matches (see [`crate::compare::constant_time_eq`]).
fn authorized(api_key: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(key) = api_key else { return true };
    let Some(header) = headers.get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, credentials)) = header.trim().split_once(' ') else { return false };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credentials.trim()) else { return false };
    crate::compare::constant_time_eq(&decoded, format!("{key}:").as_bytes())
}

async fn sleep_ms(ms: u64) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

fn injected(status: u16, retry_after: Option<&str>) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut resp = error(status, "injected_fault", &format!("fault injected by the collector: {status}"));
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        resp.headers_mut().insert(RETRY_AFTER, value);
    }
    resp
}

fn too_large(max: usize) -> Reject {
    Reject::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("decompressed body exceeds {max} bytes"))
}

/// A refused request, turned into a JSON error response at the end (kept small: it travels through Results).
pub(crate) struct Reject {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Reject {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Reject {
        Reject { status, code, message: message.into() }
    }

    /// 400 with this code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Reject {
        Reject::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 500 `storage_error`.
    pub fn storage(e: impl std::fmt::Display) -> Reject {
        Reject::new(StatusCode::INTERNAL_SERVER_ERROR, "storage_error", e.to_string())
    }

    pub fn into_response(self) -> Response<Body> {
        error(self.status, self.code, &self.message)
    }
}
