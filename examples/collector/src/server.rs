//! The HTTP side: accept loop (plain or TLS) and routing. Each endpoint lives in its own module (`batch`,
//! `config_endpoint`, `consent_records`, `deletion`, and the wallet's `changes`, `clips`, `redemptions`); what
//! they share is in `body` and `http`.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub(crate) use crate::http::Shared;
use crate::http::{error, method_not_allowed, response, AbortConnection, Body};

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

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
    if path == "/console" || path.starts_with("/console/") {
        return Ok(match shared.console.clone() {
            Some(console) => crate::console::serve(shared, console, req).await,
            None => error(
                StatusCode::NOT_FOUND,
                "no_console",
                "this collector serves no console (start it with an admin credential)",
            ),
        });
    }
    match (req.method(), path) {
        (&Method::POST, "/v1/batch") => crate::batch::handle(&shared, req).await,
        (_, "/v1/batch") => Ok(method_not_allowed("POST")),
        (&Method::GET | &Method::HEAD, "/v1/config") => crate::config_endpoint::handle(&shared, req).await,
        (_, "/v1/config") => Ok(method_not_allowed("GET, HEAD")),
        (&Method::POST, "/v1/consent-records") => crate::consent_records::handle(&shared, req).await,
        (_, "/v1/consent-records") => Ok(method_not_allowed("POST")),
        (&Method::POST, "/v1/rights/deletion") => crate::deletion::handle(&shared, req).await,
        (_, "/v1/rights/deletion") => Ok(method_not_allowed("POST")),
        (&Method::GET, "/v1/wallet/changes") => crate::wallet::changes::handle(&shared, req).await,
        (_, "/v1/wallet/changes") => Ok(method_not_allowed("GET")),
        (&Method::POST, "/v1/wallet/clips") => crate::wallet::clips::handle(&shared, req).await,
        (_, "/v1/wallet/clips") => Ok(method_not_allowed("POST")),
        (&Method::POST, "/v1/wallet/redemptions") => crate::wallet::redemptions::handle(&shared, req).await,
        (_, "/v1/wallet/redemptions") => Ok(method_not_allowed("POST")),
        (&Method::GET | &Method::HEAD, "/healthz") => Ok(response(StatusCode::OK, "text/plain", "ok")),
        (_, "/healthz") => Ok(method_not_allowed("GET, HEAD")),
        _ => Ok(error(StatusCode::NOT_FOUND, "not_found", &format!("no route for {path}"))),
    }
}
