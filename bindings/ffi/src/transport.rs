//! The app's own HTTP client (OkHttp, URLSession, java.net.http) as a foreign trait, adapted to the core's
//! async `HttpTransport` port.
//!
//! `send` is async on purpose (Kotlin `suspend fun`, Swift `async`). A blocking foreign call would pin a thread
//! for the whole request, and the SDK's request deadline could not stop it: the core wraps `send` in a timeout
//! and, with an async method, dropping the Rust future makes UniFFI cancel the Kotlin coroutine (or the Swift
//! task), so a hung request is abandoned instead of leaking a thread. The core's sync thread stays free to
//! notice `close()` while a request is out. Kotlin runs the call in a coroutine on `Dispatchers.Default`;
//! implementations with blocking clients move to `Dispatchers.IO` themselves.

use std::sync::Arc;

use footfall_core::sync::CertificateProblem;
use footfall_core::TransportError;

use crate::config::millis;
use crate::error::FootfallError;

/// One header; a list keeps repeated names and their order.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// A request fully assembled by the SDK: body already gzip-compressed, headers final. Send it as is.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
    /// Give up after this long; the SDK enforces it too (it cancels `send`).
    pub timeout_ms: i64,
}

/// Whatever the server answered, any status: the SDK decides what a status means. Do not follow redirects.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HttpResponse {
    pub status: i32,
    #[uniffi(default)]
    pub headers: Vec<HttpHeader>,
    #[uniffi(default)]
    pub body: Vec<u8>,
}

/// Implemented by the app to carry uploads. Return every HTTP answer as a response; throw
/// `FootfallError::Network` (Kotlin `FootfallException.Network`) only when no answer came (DNS, connect, TLS,
/// reset, timeout): retried with backoff. Throw `FootfallError::CertificateInvalid` when the server's
/// certificate was refused: the lane pauses (background uploads wait an hour; a flush tries again). Anything
/// else thrown is treated as a network failure.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait HttpTransport: Send + Sync {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, FootfallError>;
}

/// The core-side transport that forwards to the foreign one.
pub(crate) struct Foreign(pub Arc<dyn HttpTransport>);

#[async_trait::async_trait]
impl footfall_core::HttpTransport for Foreign {
    async fn send(&self, request: footfall_core::HttpRequest) -> Result<footfall_core::HttpResponse, TransportError> {
        let response = self.0.send(to_foreign(request)).await.map_err(|e| match e {
            FootfallError::Network { reason } => TransportError::Io(reason),
            FootfallError::CertificateInvalid { reason } => {
                TransportError::Certificate(CertificateProblem::Other(reason))
            }
            other => TransportError::Io(format!("the app's transport failed: {other}")),
        })?;
        from_foreign(response)
    }
}

fn to_foreign(r: footfall_core::HttpRequest) -> HttpRequest {
    HttpRequest {
        method: r.method,
        url: r.url,
        headers: r.headers.into_iter().map(|(name, value)| HttpHeader { name, value }).collect(),
        body: r.body,
        timeout_ms: millis(r.timeout),
    }
}

fn from_foreign(r: HttpResponse) -> Result<footfall_core::HttpResponse, TransportError> {
    let status = u16::try_from(r.status).ok().filter(|s| (100..=599).contains(s)).ok_or_else(|| {
        TransportError::Io(format!("the app's transport returned an invalid HTTP status {}", r.status))
    })?;
    Ok(footfall_core::HttpResponse {
        status,
        headers: r.headers.into_iter().map(|h| (h.name, h.value)).collect(),
        body: r.body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_outside_http_are_transport_errors() {
        for status in [-1, 0, 99, 600, 70_000] {
            let r = HttpResponse { status, headers: vec![], body: vec![] };
            assert!(matches!(from_foreign(r), Err(TransportError::Io(_))), "{status}");
        }
        let r = HttpResponse {
            status: 503,
            headers: vec![HttpHeader { name: "Retry-After".into(), value: "5".into() }],
            body: vec![],
        };
        let core = from_foreign(r).unwrap();
        assert_eq!((core.status, core.header("retry-after")), (503, Some("5")));
    }
}
