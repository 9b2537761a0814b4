//! What every request of every lane shares: the endpoint, the credentials, the transport, the clock and the
//! retry policy, the common headers, and one bounded send. Lanes build on this; it knows no lane.

use std::sync::Arc;

use super::endpoint::Endpoint;
use super::transport::{HttpRequest, HttpResponse, HttpTransport, TransportError};
use super::wire;
use crate::clock::{Clock, Random};
use crate::config::RetryPolicy;

pub(crate) struct RequestContext {
    pub endpoint: Endpoint,
    pub api_key: Option<String>,
    pub transport: Arc<dyn HttpTransport>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub retry: RetryPolicy,
}

impl RequestContext {
    /// Headers every request carries: protocol version, user agent, credentials (one `Authorization`, from the
    /// API key only: the endpoint cannot carry credentials).
    pub fn common_headers(&self) -> Vec<(String, String)> {
        use base64::Engine;
        let mut headers = vec![
            ("X-Footfall-Protocol".to_string(), wire::PROTOCOL_VERSION.to_string()),
            (
                "User-Agent".to_string(),
                format!("{}/{} ({})", wire::LIBRARY_NAME, wire::LIBRARY_VERSION, std::env::consts::OS),
            ),
        ];
        if let Some(key) = &self.api_key {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
            headers.push(("Authorization".to_string(), format!("Basic {token}")));
        }
        headers
    }

    /// A gzip JSON POST of `body` to `path` with the common headers (not yet sent).
    pub fn json_post(&self, path: &str, body: &[u8]) -> HttpRequest {
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Content-Encoding".to_string(), "gzip".to_string()),
        ];
        headers.extend(self.common_headers());
        HttpRequest {
            method: "POST".into(),
            url: self.endpoint.url(path),
            headers,
            body: wire::gzip(body),
            timeout: self.retry.request_timeout,
        }
    }

    /// A GET of `path` with the common headers plus `extra` (not yet sent).
    pub fn get(&self, path: &str, extra: Vec<(String, String)>) -> HttpRequest {
        let mut headers = self.common_headers();
        headers.extend(extra);
        HttpRequest {
            method: "GET".into(),
            url: self.endpoint.url(path),
            headers,
            body: Vec::new(),
            timeout: self.retry.request_timeout,
        }
    }

    /// Sends, bounded by the request timeout whatever the transport does.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        match tokio::time::timeout(self.retry.request_timeout, self.transport.send(request)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::Timeout),
        }
    }
}
