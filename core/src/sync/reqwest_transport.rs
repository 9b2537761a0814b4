//! The built-in transport: reqwest over rustls with the `ring` provider and Mozilla's root store (no OpenSSL,
//! no platform TLS). Redirects are never followed, so credentials cannot be forwarded or downgraded. Optional
//! public-key pins ([`PinSet`]) narrow trust further (see [`super::pinning`]).

use std::sync::Arc;

use super::pinning::{PinSet, PinningVerifier};
use super::transport::{CertificateProblem, HttpRequest, HttpResponse, HttpTransport, TransportError};
use crate::error::{Error, Result};

pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// `extra_roots_pem`: additional trust anchors (PEM), e.g. a staging CA. `pins`: the server must also present
    /// a chain with a pinned public key until the set expires (refused as [`CertificateProblem::PinMismatch`]).
    pub fn new(extra_roots_pem: &[String], pins: Option<PinSet>) -> Result<Self> {
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
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS setup failed: {e}")))?;
        let tls = match pins {
            None => builder.with_root_certificates(roots).with_no_client_auth(),
            // `dangerous()` is rustls' door to a custom verifier; this one runs the full WebPKI check first.
            Some(pins) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinningVerifier::new(roots, provider, pins)?))
                .with_no_client_auth(),
        };
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
        // Set, never append: a header the SDK gives twice is sent once, with its last value.
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| TransportError::Io(format!("bad header name '{name}': {e}")))?;
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|e| TransportError::Io(format!("bad value for header '{name}': {e}")))?;
            headers.insert(name, value);
        }
        let response = self
            .client
            .request(method, &request.url)
            .timeout(request.timeout)
            .headers(headers)
            .body(request.body)
            .send()
            .await
            .map_err(map_error)?;
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
    if let Some(problem) = certificate_problem(&e) {
        TransportError::Certificate(problem)
    } else if e.is_timeout() {
        TransportError::Timeout
    } else if e.is_connect() {
        TransportError::Connect(detail)
    } else {
        TransportError::Io(detail)
    }
}

/// The certificate verdict buried in reqwest's cause chain (rustls' error, inside one or more `io::Error`s).
fn certificate_problem(e: &reqwest::Error) -> Option<CertificateProblem> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = source {
        if let Some(rustls::Error::InvalidCertificate(certificate)) = rustls_error(cause) {
            return Some(describe(certificate));
        }
        source = cause.source();
    }
    None
}

/// `io::Error::source()` skips the error it wraps, so wrapped errors are unwrapped by hand.
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    rustls_error(inner)
}

fn describe(error: &rustls::CertificateError) -> CertificateProblem {
    use rustls::CertificateError as E;
    match error {
        E::UnknownIssuer => CertificateProblem::UnknownIssuer,
        E::Expired | E::ExpiredContext { .. } => CertificateProblem::Expired,
        E::NotValidYet | E::NotValidYetContext { .. } => CertificateProblem::NotValidYet,
        E::NotValidForName | E::NotValidForNameContext { .. } => CertificateProblem::NameMismatch,
        E::Revoked => CertificateProblem::Revoked,
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => CertificateProblem::WrongPurpose,
        // Only the pinning verifier rejects a chain webpki accepted.
        E::ApplicationVerificationFailure => CertificateProblem::PinMismatch,
        // webpki reports this one as an opaque "other" error that rustls passes through.
        E::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => CertificateProblem::CaUsedAsEndEntity,
        other => CertificateProblem::Other(other.to_string()),
    }
}
