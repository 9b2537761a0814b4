//! What the endpoint handlers share with the server: the connection state, the response body type, the abort
//! signal and the response helpers. A leaf below the handlers and the router.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::json;

use crate::config::Endpoint;
use crate::console::state::Console;
use crate::faults::Faults;
use crate::rate_limit::RateLimiter;
use crate::store::Store;
use crate::timefmt::unix_now_secs;
use crate::wallet::issuer::WalletIssuer;

/// State every connection shares.
pub(crate) struct Shared {
    pub api_key: Option<String>,
    pub max_body_bytes: usize,
    pub body_timeout: std::time::Duration,
    pub reject_event_names: Vec<String>,
    pub config_path: Option<PathBuf>,
    /// Per-client token buckets on the protocol endpoints; `None`: no rate limit.
    pub rate_limiter: Option<RateLimiter>,
    pub faults: Faults,
    /// Requests received per endpoint (indexed by [`Endpoint::index`]), whatever their outcome.
    pub requests: [AtomicU64; Endpoint::ALL.len()],
    pub store: Arc<Store>,
    /// The wallet issuer, when started with an issuer key; `None`: the wallet endpoints answer 404.
    pub wallet: Option<Arc<WalletIssuer>>,
    /// Added to the system clock wherever the wallet reads the time (tests move time forward without sleeping).
    pub clock_offset_secs: AtomicI64,
    /// The console, when started with an admin credential; the remote config is then served from its revisions.
    pub console: Option<Arc<Console>>,
}

impl Shared {
    /// The collector's notion of now, UTC seconds.
    pub fn now_secs(&self) -> i64 {
        unix_now_secs().saturating_add(self.clock_offset_secs.load(Ordering::SeqCst))
    }
}

/// The address a request came from (the TCP peer: a proxy in front of the collector, if there is one), put in the
/// request's extensions by the accept loop.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientAddr(pub std::net::SocketAddr);

/// Returned by the service to make hyper drop the connection without writing a response.
#[derive(Debug)]
pub(crate) struct AbortConnection;

impl std::fmt::Display for AbortConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection aborted on purpose")
    }
}

impl std::error::Error for AbortConnection {}

pub(crate) type Body = Full<Bytes>;
/// A request as the router hands it to an endpoint.
pub(crate) type Req = hyper::Request<axum::body::Body>;

pub(crate) fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut resp = error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", &format!("allowed: {allow}"));
    resp.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    resp
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json_response(status, &json!({"error": {"code": code, "message": message}}))
}

pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    response(status, "application/json", value.to_string())
}

pub(crate) fn response(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
