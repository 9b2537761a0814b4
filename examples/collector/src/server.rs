//! The HTTP side: accept loop (plain or TLS), routing, and the `POST /v1/batch` pipeline
//! (count, auth, fault, decode, validate, store, answer).

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::faults::{Faults, Plan};
use crate::store::{Store, Stored};
use crate::validate::parse_batch;

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// State every connection shares.
pub(crate) struct Shared {
    pub api_key: Option<String>,
    pub max_body_bytes: usize,
    pub reject_event_names: Vec<String>,
    pub faults: Faults,
    pub requests: AtomicU64,
    pub store: Arc<Store>,
}

/// Returned by the service to make hyper drop the connection without writing a response.
#[derive(Debug)]
pub(crate) struct AbortConnection;

impl std::fmt::Display for AbortConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection aborted on purpose")
    }
}

impl std::error::Error for AbortConnection {}

type Body = Full<Bytes>;

/// Accepts until the task is dropped with the runtime. `_running` is held so `Collector::wait` can block on it.
pub(crate) async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, shared: Arc<Shared>, _running: std::sync::mpsc::Sender<()>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // e.g. out of file descriptors: back off instead of spinning, and keep serving.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(TokioIo::new(stream), shared).await,
                Some(acceptor) => {
                    if let Ok(Ok(stream)) = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        serve_connection(TokioIo::new(stream), shared).await;
                    }
                }
            }
        });
    }
}

async fn serve_connection<I>(io: I, shared: Arc<Shared>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(shared.clone(), req));
    // Errors here are the client going away or an aborted connection: nothing to report.
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(io, service)
        .await;
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, AbortConnection> {
    let path = req.uri().path();
    match (req.method(), path) {
        (&Method::POST, "/v1/batch") => batch(&shared, req).await,
        (_, "/v1/batch") => Ok(method_not_allowed("POST")),
        (&Method::GET | &Method::HEAD, "/healthz") => Ok(response(StatusCode::OK, "text/plain", "ok")),
        (_, "/healthz") => Ok(method_not_allowed("GET, HEAD")),
        _ => Ok(error(StatusCode::NOT_FOUND, "not_found", &format!("no route for {path}"))),
    }
}

async fn batch(shared: &Shared, req: Request<Incoming>) -> Result<Response<Body>, AbortConnection> {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if !authorized(shared.api_key.as_deref(), &req) {
        let mut resp = error(StatusCode::UNAUTHORIZED, "unauthorized", "missing or wrong API key (Authorization: Basic base64(key + \":\"))");
        resp.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"footfall\""));
        return Ok(resp);
    }

    let decision = shared.faults.decide();
    let (fail_after_store, delay_ms) = match decision.plan {
        Plan::Drop => return Err(AbortConnection),
        Plan::Fail { status, retry_after } => {
            sleep_ms(decision.latency_ms).await;
            return Ok(injected(status, retry_after.as_deref()));
        }
        Plan::Normal => (None, 0),
        Plan::StoreThenFail { status } => (Some(status), 0),
        Plan::Delay { ms } => (None, ms),
    };

    let resp = match receive(shared, req).await? {
        Ok(stored) => match fail_after_store {
            Some(status) => injected(status, None),
            None => json_response(StatusCode::OK, &json!({"accepted": stored.accepted, "duplicates": stored.duplicates})),
        },
        Err(reject) => reject.into_response(),
    };
    // After storing, before answering: a client that times out here has its batch stored but unacknowledged.
    sleep_ms(decision.latency_ms.saturating_add(delay_ms)).await;
    Ok(resp)
}

/// Reads, decodes, validates and stores the body. The outer error aborts the connection (the client vanished
/// mid-body); the inner one is an HTTP error response.
async fn receive(shared: &Shared, req: Request<Incoming>) -> Result<Result<Stored, Reject>, AbortConnection> {
    let gzip = match req.headers().get(CONTENT_ENCODING).map(|v| v.to_str().map(str::trim)) {
        None => false,
        Some(Ok(v)) if v.eq_ignore_ascii_case("identity") || v.is_empty() => false,
        Some(Ok(v)) if v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("x-gzip") => true,
        Some(_) => {
            return Ok(Err(Reject::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding", "Content-Encoding must be gzip or identity")));
        }
    };
    let max = shared.max_body_bytes;
    // Gzip never grows incompressible data by more than a few bytes per 64 KiB block, so this raw cap only
    // refuses bodies that could not decompress to within `max` anyway.
    let raw_cap = if gzip { max.saturating_add(max / 8).saturating_add(4096) } else { max };
    let raw = match Limited::new(req.into_body(), raw_cap).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Ok(Err(too_large(max))),
        Err(_) => return Err(AbortConnection),
    };

    let store = shared.store.clone();
    let reject = shared.reject_event_names.clone();
    // Decompression, JSON and SQLite are blocking work: keep them off the async workers.
    let outcome = tokio::task::spawn_blocking(move || -> Result<Stored, Reject> {
        let body = if gzip { gunzip(&raw, max)? } else { raw.to_vec() };
        let batch = parse_batch(&body, &reject).map_err(|invalid| Reject::new(StatusCode::BAD_REQUEST, invalid.code(), invalid.message()))?;
        store.store(&batch).map_err(|e| Reject::new(StatusCode::INTERNAL_SERVER_ERROR, "storage_error", e.to_string()))
    })
    .await;
    Ok(outcome.unwrap_or_else(|e| Err(Reject::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", e.to_string()))))
}

/// Decompresses at most `max` bytes: a gzip bomb stops at the limit instead of filling memory.
fn gunzip(raw: &[u8], max: usize) -> Result<Vec<u8>, Reject> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(raw)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Reject::new(StatusCode::BAD_REQUEST, "invalid_batch", format!("body is not valid gzip: {e}")))?;
    if out.len() > max {
        return Err(too_large(max));
    }
    Ok(out)
}

fn authorized(api_key: Option<&str>, req: &Request<Incoming>) -> bool {
    let Some(key) = api_key else { return true };
    let Some(header) = req.headers().get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, credentials)) = header.trim().split_once(' ') else { return false };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credentials.trim()) else { return false };
    constant_time_eq(&decoded, format!("{key}:").as_bytes())
}

/// Comparison whose time does not depend on where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

/// A refused batch, turned into a JSON error response at the end (kept small: it travels through Results).
pub(crate) struct Reject {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Reject {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Reject {
        Reject { status, code, message: message.into() }
    }

    fn into_response(self) -> Response<Body> {
        error(self.status, self.code, &self.message)
    }
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut resp = error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", &format!("allowed: {allow}"));
    resp.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    resp
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json_response(status, &json!({"error": {"code": code, "message": message}}))
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    response(status, "application/json", value.to_string())
}

fn response(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
