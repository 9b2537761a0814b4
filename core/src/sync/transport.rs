//! The port through which every byte leaves the device. The built-in implementation is reqwest + rustls; an app
//! can bring its own HTTP stack (OkHttp, URLSession) by implementing [`HttpTransport`].

use std::time::Duration;

/// One HTTP request, fully assembled by the SDK (body already compressed, headers final).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The transport should give up after this long; the SDK also enforces it.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Failures below HTTP. Network failures are retried with backoff; a certificate the SDK cannot trust will not
/// fix itself in a few seconds, so it pauses the lane and is tried again only after a long wait.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransportError {
    #[error("request timed out")]
    Timeout,
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("connection failed: {0}")]
    Io(String),
    #[error("the server's TLS certificate was refused: {0}")]
    Certificate(CertificateProblem),
}

/// Why a server certificate was refused, in words an app developer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateProblem {
    #[error("unknown issuer (it does not chain to a trusted root; a private CA must be added to the SDK's roots)")]
    UnknownIssuer,
    #[error("expired")]
    Expired,
    #[error("not valid yet (or the device clock is wrong)")]
    NotValidYet,
    #[error("name mismatch (it is not valid for the endpoint's host name)")]
    NameMismatch,
    #[error("a CA certificate used as the server's own certificate (serve a leaf certificate signed by the CA)")]
    CaUsedAsEndEntity,
    #[error("revoked")]
    Revoked,
    #[error("not valid for server authentication (extended key usage)")]
    WrongPurpose,
    /// The chain is trusted but no certificate on it has a public key the app pins (`Config::certificate_pins`):
    /// the server moved to a key the app does not know, or something is intercepting the connection.
    #[error(
        "public key not pinned (no certificate on the verified chain has a key in the app's certificate pins: a \
         server key the pins do not cover, or an intercepting proxy)"
    )]
    PinMismatch,
    #[error("{0}")]
    Other(String),
}

#[async_trait::async_trait]
pub trait HttpTransport: Send + Sync + 'static {
    /// Sends the request and returns whatever status the server answered; only failures to get an answer are
    /// errors. Must not follow redirects.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}
