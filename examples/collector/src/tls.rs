//! HTTPS: a rustls acceptor (ring provider) built from PEM, and a throwaway CA + localhost certificate for tests.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;
use crate::error::CollectorError;

pub(crate) fn acceptor(tls: &TlsConfig) -> Result<TlsAcceptor, CollectorError> {
    let certs = CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CollectorError::Tls(format!("certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(CollectorError::Tls("certificate PEM holds no certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes())
        .map_err(|e| CollectorError::Tls(format!("private key PEM: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| CollectorError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| CollectorError::Tls(e.to_string()))?;
    // The server speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A fresh CA and a certificate it signs for `localhost`, `127.0.0.1` and `::1`.
/// Returns the server's [`TlsConfig`] (leaf + CA chain, leaf key) and the CA certificate PEM that a client should
/// trust. A separate CA rather than one self-signed leaf, because webpki refuses a CA certificate as an end entity
/// and some verifiers refuse a non-CA certificate as a trust anchor.
pub fn self_signed_for_localhost() -> (TlsConfig, String) {
    // Only key generation from the system RNG can fail here, which is not something a test can recover from.
    generate().expect("generating a localhost test certificate")
}

fn generate() -> Result<(TlsConfig, String), rcgen::Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "Footfall collector test CA");
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate()?;
    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])?;
    leaf_params.distinguished_name.push(DnType::CommonName, "localhost");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params.signed_by(&leaf_key, &issuer)?;

    let ca_pem = ca_cert.pem();
    let config = TlsConfig { cert_pem: format!("{}{}", leaf.pem(), ca_pem), key_pem: leaf_key.serialize_pem() };
    Ok((config, ca_pem))
}
