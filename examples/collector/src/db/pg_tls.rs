//! TLS to PostgreSQL: the URL's libpq-style `sslmode` and `sslrootcert`, and the rustls client that verifies the
//! server. Whenever TLS is used the server's certificate and name are verified (libpq's `verify-full`): against
//! `sslrootcert` when given (a managed database's CA bundle), otherwise against the system's trust store.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::DbError;

/// A `postgres://` URL split into what the client parses and the trust anchor it does not know about.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PgTarget {
    /// The URL for `postgres::Config`: `sslrootcert` removed, `sslmode=verify-ca|verify-full` as `require`.
    pub url: String,
    pub root_cert: Option<PathBuf>,
}

impl PgTarget {
    pub fn parse(url: &str) -> PgTarget {
        let Some((base, query)) = url.split_once('?') else {
            return PgTarget { url: url.to_string(), root_cert: None };
        };
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslrootcert", path)) => {
                    root_cert = Some(PathBuf::from(crate::percent::decode(path).unwrap_or_else(|| path.to_string())))
                }
                // The client knows disable/prefer/require; it always verifies, so the stricter modes are require.
                Some(("sslmode", "verify-ca" | "verify-full")) => kept.push("sslmode=require".to_string()),
                _ => kept.push(pair.to_string()),
            }
        }
        let url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
        PgTarget { url, root_cert }
    }

    /// The TLS connector every connection of the pool uses (rustls with ring, TLS 1.2 and 1.3).
    pub fn connector(&self) -> Result<MakeRustlsConnect, DbError> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                let invalid = |why: String| DbError::Tls(format!("sslrootcert {}: {why}", path.display()));
                for cert in CertificateDer::pem_file_iter(path).map_err(|e| invalid(e.to_string()))? {
                    roots.add(cert.map_err(|e| invalid(e.to_string()))?).map_err(|e| invalid(e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(invalid("no certificate in the file".into()));
                }
            }
            None => {
                // Certificates the system store holds but rustls cannot parse are skipped, as browsers do.
                let _ = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| DbError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_certificate_leaves_the_url_and_strict_modes_become_require() {
        let target = PgTarget::parse(
            "postgres://app@db.example.com:5432/footfall?sslmode=verify-full&sslrootcert=%2Fetc%2Fssl%2Frds%20ca.pem&application_name=collector",
        );
        assert_eq!(
            target,
            PgTarget {
                url: "postgres://app@db.example.com:5432/footfall?sslmode=require&application_name=collector".into(),
                root_cert: Some(PathBuf::from("/etc/ssl/rds ca.pem")),
            }
        );
        let plain = PgTarget::parse("postgres://app@127.0.0.1/footfall");
        assert_eq!((plain.url.as_str(), plain.root_cert), ("postgres://app@127.0.0.1/footfall", None));
        let only_root = PgTarget::parse("postgres://app@h/db?sslrootcert=ca.pem");
        assert_eq!(only_root.url, "postgres://app@h/db");
    }

    #[test]
    fn a_root_certificate_file_without_certificates_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let target = PgTarget { url: "postgres://h/db".into(), root_cert: Some(empty.clone()) };
        let error = target.connector().err().unwrap().to_string();
        assert!(error.contains("empty.pem") && error.contains("no certificate"), "{error}");
        let missing = PgTarget { url: "postgres://h/db".into(), root_cert: Some(dir.path().join("gone.pem")) };
        assert!(missing.connector().err().unwrap().to_string().contains("gone.pem"));
    }
}
