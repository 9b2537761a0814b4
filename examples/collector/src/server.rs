//! The HTTP side: accept loop (plain or TLS), routing and response helpers. Each endpoint lives in its own
//! module (`batch`, `config_endpoint`, `consent_records`, `deletion`); what they share is in `body`.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::config::Endpoint;
use crate::faults::Faults;
use crate::store::Store;

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// State every connection shares.
pub(crate) struct Shared {
    pub api_key: Option<String>,
    pub max_body_bytes: usize,
    pub reject_event_names: Vec<String>,
    pub config_path: Option<PathBuf>,
    pub faults: Faults,
    /// Requests received per endpoint (indexed by [`Endpoint::index`]), whatever their outcome.
    pub requests: [AtomicU64; Endpoint::ALL.len()],
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

pub(crate) type Body = Full<Bytes>;

/// Accepts until the task is dropped with the runtime. `_running` is held so `Collector::wait` can block on it.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    _running: std::sync::mpsc::Sender<()>,
) {
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
        (&Method::POST, "/v1/batch") => crate::batch::handle(&shared, req).await,
        (_, "/v1/batch") => Ok(method_not_allowed("POST")),
        (&Method::GET | &Method::HEAD, "/v1/config") => crate::config_endpoint::handle(&shared, req).await,
        (_, "/v1/config") => Ok(method_not_allowed("GET, HEAD")),
        (&Method::POST, "/v1/consent-records") => crate::consent_records::handle(&shared, req).await,
        (_, "/v1/consent-records") => Ok(method_not_allowed("POST")),
        (&Method::POST, "/v1/rights/deletion") => crate::deletion::handle(&shared, req).await,
        (_, "/v1/rights/deletion") => Ok(method_not_allowed("POST")),
        (&Method::GET | &Method::HEAD, "/healthz") => Ok(response(StatusCode::OK, "text/plain", "ok")),
        (_, "/healthz") => Ok(method_not_allowed("GET, HEAD")),
        _ => Ok(error(StatusCode::NOT_FOUND, "not_found", &format!("no route for {path}"))),
    }
}

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
