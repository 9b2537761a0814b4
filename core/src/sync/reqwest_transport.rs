//! The built-in transport: reqwest over rustls with the `ring` provider and Mozilla's root store (no OpenSSL,
//! no platform TLS). Redirects are never followed, so credentials cannot be forwarded or downgraded.

use std::sync::Arc;

use super::transport::{HttpRequest, HttpResponse, HttpTransport, TransportError};
use crate::error::{Error, Result};

pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// `extra_roots_pem`: additional trust anchors (PEM), e.g. a staging CA.
    pub fn new(extra_roots_pem: &[String]) -> Result<Self> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;

        let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        for pem in extra_roots_pem {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| Error::Config(format!("extra root certificate is not valid PEM: {e}")))?;
                roots.add(cert).map_err(|e| Error::Config(format!("extra root certificate rejected: {e}")))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS setup failed: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| Error::Config(format!("HTTP client setup failed: {e}")))?;
        Ok(ReqwestTransport { client })
    }
}

#[async_trait::async_trait]
impl HttpTransport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| TransportError::Io(format!("bad method: {e}")))?;
        let mut builder = self.client.request(method, &request.url).timeout(request.timeout).body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = builder.send().await.map_err(map_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
            .collect();
        let body = response.bytes().await.map_err(map_error)?.to_vec();
        Ok(HttpResponse { status, headers, body })
    }
}

fn map_error(e: reqwest::Error) -> TransportError {
    // reqwest's Display omits the cause chain ("error sending request"); keep the root cause for diagnosis.
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    if e.is_timeout() {
        TransportError::Timeout
    } else if e.is_connect() {
        TransportError::Connect(detail)
    } else {
        TransportError::Io(detail)
    }
}
