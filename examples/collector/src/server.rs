//! The HTTP side: accept loop (plain or TLS) and the axum router. Each endpoint lives in its own module (`batch`,
//! `config_endpoint`, `consent_records`, `deletion`, the wallet's `changes`, `clips`, `redemptions`, and the
//! `console`); what they share is in `body` and `http`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::Uri;
use axum::response::IntoResponse;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::Endpoint;
pub(crate) use crate::http::Shared;
use crate::http::{error, method_not_allowed, response, AbortConnection, Body, ClientAddr, Req};

/// An endpoint module's `handle(&Shared, Req)` as an axum handler, behind the rate limit (checked first, so a
/// refused request costs no body read).
macro_rules! endpoint {
    ($endpoint:expr, $handle:path) => {
        |State(shared): State<Arc<Shared>>, req: Req| async move {
            let peer = req.extensions().get::<ClientAddr>().map(|addr| addr.0);
            match crate::body::over_rate_limit(&shared, $endpoint, req.headers(), peer) {
                Some(refused) => refused.into_response(),
                None => respond($handle(&shared, req).await),
            }
        }
    };
}

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts until the task is dropped with the runtime. `_running` is held so `Collector::wait` can block on it.
/// Each connection holds one of `connections`' permits until it closes; with none left, the next connection
/// waits in the listen backlog.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    connections: Arc<Semaphore>,
    shared: Arc<Shared>,
    _running: std::sync::mpsc::Sender<()>,
) {
    let router = router(shared);
    loop {
        let Ok(permit) = connections.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // e.g. out of file descriptors: back off instead of spinning, and keep serving.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => serve_connection(TokioIo::new(stream), peer, router).await,
                Some(acceptor) => {
                    if let Ok(Ok(stream)) = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        serve_connection(TokioIo::new(stream), peer, router).await;
                    }
                }
            }
        });
    }
}

async fn serve_connection<I>(io: I, peer: SocketAddr, router: Router)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let router = router.clone();
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ClientAddr(peer));
        async move {
            let Ok(resp) = router.oneshot(req).await;
            // An endpoint asked for the connection to be dropped without an answer (a fault, a vanished client).
            if resp.extensions().get::<Abort>().is_some() {
                return Err(AbortConnection);
            }
            Ok(resp)
        }
    });
    // Errors here are the client going away or an aborted connection: nothing to report.
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(io, service)
        .await;
}

/// Marks a response the connection is to be dropped instead of (see [`AbortConnection`]).
#[derive(Clone, Copy)]
struct Abort;

/// Every route the collector serves; the console's when it is on.
fn router(shared: Arc<Shared>) -> Router {
    let console = match shared.console.clone() {
        Some(console) => crate::console::router(shared.clone(), console),
        None => {
            let none = || async {
                error(
                    StatusCode::NOT_FOUND,
                    "no_console",
                    "this collector serves no console (start it with an admin credential)",
                )
            };
            Router::new().route("/console", get(none)).route("/console/{*rest}", get(none).post(none))
        }
    };
    Router::new()
        .route("/v1/batch", only(post(endpoint!(Endpoint::Batch, crate::batch::handle)), "POST"))
        .route("/v1/config", only(get(endpoint!(Endpoint::Config, crate::config_endpoint::handle)), "GET, HEAD"))
        .route(
            "/v1/consent-records",
            only(post(endpoint!(Endpoint::ConsentRecords, crate::consent_records::handle)), "POST"),
        )
        .route("/v1/rights/deletion", only(post(endpoint!(Endpoint::Deletion, crate::deletion::handle)), "POST"))
        .route(
            "/v1/wallet/changes",
            only(get(endpoint!(Endpoint::WalletChanges, crate::wallet::changes::handle)), "GET"),
        )
        .route("/v1/wallet/clips", only(post(endpoint!(Endpoint::WalletClips, crate::wallet::clips::handle)), "POST"))
        .route(
            "/v1/wallet/redemptions",
            only(post(endpoint!(Endpoint::WalletRedemptions, crate::wallet::redemptions::handle)), "POST"),
        )
        .route("/healthz", only(get(|| async { response(StatusCode::OK, "text/plain", "ok") }), "GET, HEAD"))
        .fallback(|uri: Uri| async move {
            error(StatusCode::NOT_FOUND, "not_found", &format!("no route for {}", uri.path()))
        })
        .with_state(shared)
        .merge(console)
}

/// The protocol's JSON 405 (with `Allow`) for the methods a route does not take.
fn only(route: MethodRouter<Arc<Shared>>, allow: &'static str) -> MethodRouter<Arc<Shared>> {
    route.fallback(move || async move { method_not_allowed(allow) })
}

/// An endpoint's answer, or the marker that makes the connection drop.
fn respond(result: Result<hyper::Response<Body>, AbortConnection>) -> axum::response::Response {
    match result {
        Ok(resp) => resp.into_response(),
        Err(AbortConnection) => {
            let mut resp = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            resp.extensions_mut().insert(Abort);
            resp
        }
    }
}
