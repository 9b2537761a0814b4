//! Optional certificate pinning for the built-in transport.
//!
//! A pin is the base64 SHA-256 of a certificate's DER `SubjectPublicKeyInfo` (its public key and algorithm): the
//! `sha256/…` strings OkHttp's `CertificatePinner` and Android's network security config use, so one list serves
//! the built-in transport and the platform stacks (`docs/guides/certificate-pinning.md`). Pinning the key rather
//! than the certificate lets a certificate be renewed on the same key without an app update.
//!
//! How the built-in transport enforces a [`PinSet`] (`PinningVerifier`):
//! - The normal WebPKI verdict comes first, unchanged (chain to a trusted root, validity, host name): pins only
//!   ever narrow trust, and an untrusted server fails with the same error as without pins.
//! - Then a path from the server's certificate to a trusted root must exist on which some certificate (the leaf,
//!   an intermediate, or the root) has a pinned key. Pins are matched against the *verified* path, not against
//!   whatever the server sent: anyone with a certificate misissued by any trusted CA can append a copy of the real
//!   (public) pinned intermediate to their chain, and matching the sent certificates would accept it (the OkHttp
//!   CVE-2016-2402 class). Matching the path also lets a root be pinned, though servers do not send their root.
//! - From `expires_at` on (UTC seconds, read from the time rustls verifies at) pinning is off and a warning is
//!   logged once: an app version still installed after its pins went stale keeps uploading instead of being
//!   bricked by a key rotation it could not know about. A refusal surfaces as
//!   [`CertificateProblem::PinMismatch`](super::transport::CertificateProblem::PinMismatch), which pauses the lane
//!   like any refused certificate.
//!
//! The certificate parsing is rustls-webpki's (the verifier's own, already in the binary): the pin check reads the
//! very bytes the path check verified, and no second DER parser is shipped.

use std::fmt;

use base64::Engine;

use crate::error::{Error, Result};

#[cfg(feature = "reqwest-transport")]
pub(crate) use tls::PinningVerifier;
#[cfg(feature = "reqwest-transport")]
pub use tls::{pin_of_certificate, pins_of_pem};

/// The fewest distinct pins a set accepts: the key in use and a backup key that is not (yet) in the served chain,
/// so the server can move to the backup without bricking the app versions that shipped the set.
pub const MIN_PINS: usize = 2;
/// 2020-01-01T00:00:00Z. An expiry before it is a mistake (0, an unset field), not a date.
const EARLIEST_EXPIRY: u64 = 1_577_836_800;
/// 9999-12-31T23:59:59Z. An expiry after it is almost surely milliseconds, not seconds.
const LATEST_EXPIRY: u64 = 253_402_300_799;
const PREFIX: &str = "sha256/";

/// Public-key pins for the built-in transport, valid by construction (see the module documentation).
#[derive(Clone, PartialEq, Eq)]
pub struct PinSet {
    /// SHA-256 of DER SubjectPublicKeyInfos, distinct, in the order given.
    digests: Vec<[u8; 32]>,
    /// UTC seconds since 1970; pinning is off from this second on.
    expires_at: u64,
}

impl PinSet {
    /// `pins`: `sha256/<base64>` (OkHttp's form) or the bare base64 (the network security config's `<pin>`), 44
    /// characters each; surrounding white space is ignored and a repeated pin counts once. `expires_at`: UTC
    /// seconds since 1970 after which pinning is off; pick a date well before the backup key could be needed and
    /// ship new pins before it (a year out is common).
    ///
    /// Refused with [`Error::Config`]: fewer than [`MIN_PINS`] distinct pins, a pin that is not SHA-256 (`sha1/`)
    /// or not base64 of 32 bytes, an expiry before 2020 or after 9999 (milliseconds passed as seconds). An expiry
    /// already past is accepted (pinning is then off): the same app keeps working after its pins go stale.
    pub fn new<I>(pins: I, expires_at: u64) -> Result<PinSet>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        if !(EARLIEST_EXPIRY..=LATEST_EXPIRY).contains(&expires_at) {
            return Err(refused(format!(
                "the expiry {expires_at} is not a date between 2020 and 9999 in UTC seconds since 1970 (milliseconds?)"
            )));
        }
        let mut given = 0;
        let mut digests: Vec<[u8; 32]> = Vec::new();
        for pin in pins {
            given += 1;
            let digest = parse_pin(given, pin.as_ref())?;
            if !digests.contains(&digest) {
                digests.push(digest);
            }
        }
        if digests.len() < MIN_PINS {
            return Err(refused(format!(
                "at least {MIN_PINS} distinct pins are needed, the key in use and a backup key not in the served \
                 chain (so a rotated certificate cannot lock this app version out); got {given} pin(s), {} distinct",
                digests.len()
            )));
        }
        Ok(PinSet { digests, expires_at })
    }

    /// UTC seconds since 1970 from which pinning is off.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Whether pinning is off at `now` (UTC seconds since 1970): true from `expires_at` on.
    pub fn is_expired_at(&self, now: u64) -> bool {
        now >= self.expires_at
    }

    /// The pins, distinct, in the order given, as `sha256/<base64>`.
    pub fn pins(&self) -> Vec<String> {
        self.digests.iter().map(format_pin).collect()
    }

    /// Whether the SHA-256 of `spki_der` (a DER SubjectPublicKeyInfo, outer SEQUENCE included) is pinned.
    pub fn pins_spki(&self, spki_der: &[u8]) -> bool {
        let digest = sha256(spki_der);
        self.digests.contains(&digest)
    }
}

impl fmt::Debug for PinSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinSet").field("pins", &self.pins()).field("expires_at", &self.expires_at).finish()
    }
}

fn parse_pin(position: usize, pin: &str) -> Result<[u8; 32]> {
    let text = pin.trim();
    let lower = text.to_ascii_lowercase();
    // Base64 uses '/', so only a known algorithm name before it marks a prefix.
    let encoded = if lower.starts_with(PREFIX) {
        text.get(PREFIX.len()..).unwrap_or_default()
    } else if let Some(other) = ["sha1/", "sha384/", "sha512/", "md5/"].iter().find(|p| lower.starts_with(**p)) {
        return Err(refused(format!(
            "pin {position} ({}) is '{other}': only sha256/ pins (SHA-256 of the SubjectPublicKeyInfo) are supported",
            shown(text)
        )));
    } else {
        text
    };
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| {
        refused(format!("pin {position} ({}) is not 'sha256/' and standard base64 with padding", shown(text)))
    })?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        refused(format!(
            "pin {position} ({}) decodes to {} bytes; a SHA-256 pin is 32 bytes (44 base64 characters)",
            shown(text),
            bytes.len()
        ))
    })
}

/// A pin as given, quoted and cut short for an error message (pins are public; a pasted blob need not be echoed).
fn shown(pin: &str) -> String {
    const MAX: usize = 60;
    let cut: String = pin.chars().take(MAX).collect();
    if pin.chars().count() > MAX {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

fn refused(reason: String) -> Error {
    Error::Config(format!("certificate pins: {reason}"))
}

fn format_pin(digest: &[u8; 32]) -> String {
    format!("{PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(digest))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(feature = "reqwest-transport")]
mod tls {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::client::WebPkiServerVerifier;
    use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
    use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
    use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

    use super::{format_pin, sha256, PinSet};
    use crate::error::{Error, Result};

    /// The pin (`sha256/<base64>`) of a DER certificate's public key: what to put in a [`PinSet`].
    pub fn pin_of_certificate(der: &[u8]) -> Result<String> {
        let der = CertificateDer::from(der);
        let cert = webpki::EndEntityCert::try_from(&der)
            .map_err(|e| Error::Config(format!("certificate pins: not an X.509 v3 certificate in DER: {e}")))?;
        Ok(format_pin(&sha256(cert.subject_public_key_info().as_ref())))
    }

    /// The pin of every certificate in a PEM bundle, in order (a server's chain file gives leaf, intermediates).
    pub fn pins_of_pem(pem: &str) -> Result<Vec<String>> {
        use rustls::pki_types::pem::PemObject;

        let mut pins = Vec::new();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| Error::Config(format!("certificate pins: not certificate PEM: {e}")))?;
            pins.push(pin_of_certificate(&cert)?);
        }
        if pins.is_empty() {
            return Err(Error::Config("certificate pins: the PEM holds no certificate".into()));
        }
        Ok(pins)
    }

    /// WebPKI verification, then the pin check on the verified path (see the module documentation).
    #[derive(Debug)]
    pub(crate) struct PinningVerifier {
        webpki: Arc<WebPkiServerVerifier>,
        roots: Arc<RootCertStore>,
        algorithms: WebPkiSupportedAlgorithms,
        pins: PinSet,
        expiry_reported: AtomicBool,
    }

    impl PinningVerifier {
        pub(crate) fn new(roots: RootCertStore, provider: Arc<CryptoProvider>, pins: PinSet) -> Result<Self> {
            let roots = Arc::new(roots);
            let algorithms = provider.signature_verification_algorithms;
            let webpki = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider)
                .build()
                .map_err(|e| Error::Config(format!("TLS setup failed: {e}")))?;
            Ok(PinningVerifier { webpki, roots, algorithms, pins, expiry_reported: AtomicBool::new(false) })
        }

        /// Whether some path from `end_entity` to a trusted root carries a pinned key. The path search is
        /// webpki's, with the pins as the path filter: a path without a pin is passed over and the next tried.
        fn pinned_path_exists(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            now: UnixTime,
        ) -> bool {
            let Ok(leaf) = webpki::EndEntityCert::try_from(end_entity) else { return false };
            let pinned = |path: &webpki::VerifiedPath<'_>| {
                let on_path = self.pins.pins_spki(path.end_entity().subject_public_key_info().as_ref())
                    || path
                        .intermediate_certificates()
                        .any(|c| self.pins.pins_spki(c.subject_public_key_info().as_ref()))
                    || self.pins.pins_spki(&anchor_spki(path.anchor()));
                // Any error rejects this candidate path; which one does not matter (the search goes on).
                if on_path {
                    Ok(())
                } else {
                    Err(webpki::Error::UnknownIssuer)
                }
            };
            leaf.verify_for_usage(
                self.algorithms.all,
                &self.roots.roots,
                intermediates,
                now,
                webpki::KeyUsage::server_auth(),
                None,
                Some(&pinned),
            )
            .is_ok()
        }
    }

    impl ServerCertVerifier for PinningVerifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            let verified =
                self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
            if self.pins.is_expired_at(now.as_secs()) {
                if !self.expiry_reported.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        expires_at = self.pins.expires_at(),
                        "the certificate pins have expired: the built-in transport no longer pins (ship new pins)"
                    );
                }
                return Ok(verified);
            }
            if self.pinned_path_exists(end_entity, intermediates, now) {
                return Ok(verified);
            }
            // The server's public keys, not personal data: what a developer compares with the app's pins.
            let sent: Vec<String> =
                std::iter::once(end_entity).chain(intermediates).filter_map(|c| pin_of_certificate(c).ok()).collect();
            tracing::warn!(
                sent = %sent.join(", "),
                "TLS certificate refused: no certificate on the verified chain has a pinned public key"
            );
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.webpki.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.webpki.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.webpki.supported_verify_schemes()
        }

        fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
            self.webpki.root_hint_subjects()
        }
    }

    /// A trust anchor keeps only the contents of its SubjectPublicKeyInfo (webpki drops the outer SEQUENCE, and
    /// webpki-roots stores it so); a pin hashes the whole element, so the SEQUENCE header goes back on.
    fn anchor_spki(anchor: &TrustAnchor<'_>) -> Vec<u8> {
        der_sequence(anchor.subject_public_key_info.as_ref())
    }

    /// `contents` as a DER SEQUENCE: tag 0x30, the length in the shortest form DER allows, the contents.
    pub(super) fn der_sequence(contents: &[u8]) -> Vec<u8> {
        let length = contents.len().to_be_bytes();
        let significant = &length[length.iter().take_while(|b| **b == 0).count()..];
        let mut out = Vec::with_capacity(contents.len() + 2 + significant.len());
        out.push(0x30);
        match significant {
            [] => out.push(0),
            [short] if *short < 0x80 => out.push(*short),
            long => {
                // At most size_of::<usize>() bytes, so the count fits the 7 bits.
                out.push(0x80 | long.len() as u8);
                out.extend_from_slice(long);
            }
        }
        out.extend_from_slice(contents);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2030-01-01T00:00:00Z.
    const LATER: u64 = 1_893_456_000;
    /// ISRG Root X1's pin, as Let's Encrypt publishes it and the brief's openssl pipeline computes it.
    const ISRG_X1: &str = "sha256/C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=";
    /// ISRG Root X2 (ECDSA P-384), computed with the same pipeline.
    const ISRG_X2: &str = "sha256/diGVwiVYbubAI3RW4hB9xU8e/CH2GnkuvVFZE8zmgzI=";

    fn config_error(result: Result<PinSet>) -> String {
        match result {
            Err(Error::Config(reason)) => reason,
            other => panic!("expected a Config error, got {other:?}"),
        }
    }

    #[test]
    fn a_pin_set_takes_both_spellings_and_gives_back_the_canonical_one() {
        let bare = ISRG_X2.trim_start_matches(PREFIX); // contains '/': must not be read as a prefix
        let shouted = format!("SHA256/{}", &ISRG_X1[PREFIX.len()..]);
        let set = PinSet::new([format!("  {ISRG_X1}\n"), bare.to_string(), shouted], LATER).unwrap();
        assert_eq!(set.pins(), [ISRG_X1, ISRG_X2], "distinct, in order, canonical");
        assert_eq!(set.expires_at(), LATER);
        assert!(!set.is_expired_at(LATER - 1) && set.is_expired_at(LATER) && set.is_expired_at(LATER + 1));
    }

    #[test]
    fn fewer_than_two_distinct_pins_are_refused_naming_the_backup() {
        for pins in [vec![], vec![ISRG_X1], vec![ISRG_X1, ISRG_X1]] {
            let reason = config_error(PinSet::new(&pins, LATER));
            assert!(reason.contains("at least 2 distinct pins") && reason.contains("backup"), "{reason}");
        }
        assert!(config_error(PinSet::new([ISRG_X1, ISRG_X1], LATER)).contains("got 2 pin(s), 1 distinct"));
    }

    #[test]
    fn malformed_pins_are_refused_with_their_position() {
        let sha1 = "sha1/".to_string() + &"A".repeat(27) + "=";
        let short = format!("sha256/{}", base64::engine::general_purpose::STANDARD.encode([7u8; 20]));
        let cases = [
            (sha1.as_str(), "only sha256/ pins"),
            ("sha256/not base64!", "not 'sha256/' and standard base64"),
            ("sha256/C5-lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=", "standard base64"), // URL-safe alphabet
            ("sha256/C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M", "standard base64"),  // padding dropped
            (short.as_str(), "decodes to 20 bytes"),
            ("sha256/", "decodes to 0 bytes"),
            ("", "decodes to 0 bytes"),
        ];
        for (bad, needle) in cases {
            let reason = config_error(PinSet::new([ISRG_X1, bad], LATER));
            assert!(reason.contains("pin 2") && reason.contains(needle), "{bad:?}: {reason}");
        }
        let long = "x".repeat(500);
        let reason = config_error(PinSet::new([ISRG_X1, &long], LATER));
        assert!(reason.len() < 200, "a pasted blob is not echoed whole: {reason}");
    }

    #[test]
    fn an_expiry_that_is_not_a_date_in_seconds_is_refused_but_a_past_one_is_accepted() {
        for bad in [0, EARLIEST_EXPIRY - 1, LATER * 1000, LATEST_EXPIRY + 1, u64::MAX] {
            let reason = config_error(PinSet::new([ISRG_X1, ISRG_X2], bad));
            assert!(reason.contains("milliseconds"), "{bad}: {reason}");
        }
        // Stale pins must not stop an old app version from opening: pinning is merely off.
        let stale = PinSet::new([ISRG_X1, ISRG_X2], EARLIEST_EXPIRY).unwrap();
        assert!(stale.is_expired_at(LATER));
    }

    #[test]
    fn arbitrary_pin_text_never_panics() {
        let mut rng = fastrand::Rng::with_seed(16);
        let alphabet: Vec<char> = "sha256/SHA1+=-_ \n\u{e9}\u{1F600}\0AZaz09".chars().collect();
        for _ in 0..20_000 {
            let len = rng.usize(0..64);
            let text: String = (0..len).map(|_| alphabet[rng.usize(..alphabet.len())]).collect();
            let _ = PinSet::new([ISRG_X1, text.as_str()], LATER);
        }
    }

    #[cfg(feature = "reqwest-transport")]
    mod tls {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        use std::time::Duration;

        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
            KeyUsagePurpose, PublicKeyData,
        };
        use rustls::client::danger::ServerCertVerifier;
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
        use rustls::CertificateError;

        use super::super::tls::der_sequence;
        use super::super::*;
        use super::{ISRG_X1, ISRG_X2, LATER};

        /// ISRG Root X1 (RSA 4096), the real certificate.
        const ISRG_ROOT_X1_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw
TzELMAkGA1UEBhMCVVMxKTAnBgNVBAoTIEludGVybmV0IFNlY3VyaXR5IFJlc2Vh
cmNoIEdyb3VwMRUwEwYDVQQDEwxJU1JHIFJvb3QgWDEwHhcNMTUwNjA0MTEwNDM4
WhcNMzUwNjA0MTEwNDM4WjBPMQswCQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJu
ZXQgU2VjdXJpdHkgUmVzZWFyY2ggR3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBY
MTCCAiIwDQYJKoZIhvcNAQEBBQADggIPADCCAgoCggIBAK3oJHP0FDfzm54rVygc
h77ct984kIxuPOZXoHj3dcKi/vVqbvYATyjb3miGbESTtrFj/RQSa78f0uoxmyF+
0TM8ukj13Xnfs7j/EvEhmkvBioZxaUpmZmyPfjxwv60pIgbz5MDmgK7iS4+3mX6U
A5/TR5d8mUgjU+g4rk8Kb4Mu0UlXjIB0ttov0DiNewNwIRt18jA8+o+u3dpjq+sW
T8KOEUt+zwvo/7V3LvSye0rgTBIlDHCNAymg4VMk7BPZ7hm/ELNKjD+Jo2FR3qyH
B5T0Y3HsLuJvW5iB4YlcNHlsdu87kGJ55tukmi8mxdAQ4Q7e2RCOFvu396j3x+UC
B5iPNgiV5+I3lg02dZ77DnKxHZu8A/lJBdiB3QW0KtZB6awBdpUKD9jf1b0SHzUv
KBds0pjBqAlkd25HN7rOrFleaJ1/ctaJxQZBKT5ZPt0m9STJEadao0xAH0ahmbWn
OlFuhjuefXKnEgV4We0+UXgVCwOPjdAvBbI+e0ocS3MFEvzG6uBQE3xDk3SzynTn
jh8BCNAw1FtxNrQHusEwMFxIt4I7mKZ9YIqioymCzLq9gwQbooMDQaHWBfEbwrbw
qHyGO0aoSCqI3Haadr8faqU9GY/rOPNk3sgrDQoo//fb4hVC1CLQJ13hef4Y53CI
rU7m2Ys6xt0nUW7/vGT1M0NPAgMBAAGjQjBAMA4GA1UdDwEB/wQEAwIBBjAPBgNV
HRMBAf8EBTADAQH/MB0GA1UdDgQWBBR5tFnme7bl5AFzgAiIyBpY9umbbjANBgkq
hkiG9w0BAQsFAAOCAgEAVR9YqbyyqFDQDLHYGmkgJykIrGF1XIpu+ILlaS/V9lZL
ubhzEFnTIZd+50xx+7LSYK05qAvqFyFWhfFQDlnrzuBZ6brJFe+GnY+EgPbk6ZGQ
3BebYhtF8GaV0nxvwuo77x/Py9auJ/GpsMiu/X1+mvoiBOv/2X/qkSsisRcOj/KK
NFtY2PwByVS5uCbMiogziUwthDyC3+6WVwW6LLv3xLfHTjuCvjHIInNzktHCgKQ5
ORAzI4JMPJ+GslWYHb4phowim57iaztXOoJwTdwJx4nLCgdNbOhdjsnvzqvHu7Ur
TkXWStAmzOVyyghqpZXjFaH3pO3JLF+l+/+sKAIuvtd7u+Nxe5AW0wdeRlN8NwdC
jNPElpzVmbUq4JUagEiuTDkHzsxHpFKVK7q4+63SM1N95R1NbdWhscdCb+ZAJzVc
oyi3B43njTOQ5yOf+1CceWxG1bQVs5ZufpsMljq4Ui0/1lvh+wjChP4kqKOJ2qxq
4RgqsahDYVvTH9w7jXbyLeiNdd8XM2w9U/t7y0Ff/9yi0GE44Za4rF2LN9d11TPA
mRGunUHBcnWEvgJBQl9nJEiU0Zsnvgc/ubhPgXRR4Xq37Z0j4r7g1SgEEzwxA57d
emyPxgcYxn/eR44/KJ4EBs+lVDR3veyJm+kXQ99b21/+jh5Xos1AnX5iItreGCc=
-----END CERTIFICATE-----
";
        /// ISRG Root X2 (ECDSA P-384), the real certificate.
        const ISRG_ROOT_X2_PEM: &str = "-----BEGIN CERTIFICATE-----
MIICGzCCAaGgAwIBAgIQQdKd0XLq7qeAwSxs6S+HUjAKBggqhkjOPQQDAzBPMQsw
CQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJuZXQgU2VjdXJpdHkgUmVzZWFyY2gg
R3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBYMjAeFw0yMDA5MDQwMDAwMDBaFw00
MDA5MTcxNjAwMDBaME8xCzAJBgNVBAYTAlVTMSkwJwYDVQQKEyBJbnRlcm5ldCBT
ZWN1cml0eSBSZXNlYXJjaCBHcm91cDEVMBMGA1UEAxMMSVNSRyBSb290IFgyMHYw
EAYHKoZIzj0CAQYFK4EEACIDYgAEzZvVn4CDCuwJSvMWSj5cz3es3mcFDR0HttwW
+1qLFNvicWDEukWVEYmO6gbf9yoWHKS5xcUy4APgHoIYOIvXRdgKam7mAHf7AlF9
ItgKbppbd9/w+kHsOdx1ymgHDB/qo0IwQDAOBgNVHQ8BAf8EBAMCAQYwDwYDVR0T
AQH/BAUwAwEB/zAdBgNVHQ4EFgQUfEKWrt5LSDv6kviejM9ti6lyN5UwCgYIKoZI
zj0EAwMDaAAwZQIwe3lORlCEwkSHRhtFcP9Ymd70/aTSVaYgLXTWNLxBo1BfASdW
tL4ndQavEi51mI38AjEAi/V3bNTIZargCyzuFJ0nN6T5U6VR5CmD1/iQMVtCnwr1
/q4AaOeMSQ+2b1tbFfLn
-----END CERTIFICATE-----
";

        fn der(pem: &str) -> CertificateDer<'static> {
            CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
        }

        fn at(secs: u64) -> UnixTime {
            UnixTime::since_unix_epoch(Duration::from_secs(secs))
        }

        fn pin_of_key(key: &KeyPair) -> String {
            format_pin(&sha256(&key.subject_public_key_info()))
        }

        /// A CA, an intermediate it signs, and a leaf for `localhost` the intermediate signs (rcgen's validity,
        /// 1975 to 4096, holds at every time these tests use).
        struct Pki {
            root: CertificateDer<'static>,
            root_key_pin: String,
            intermediate: CertificateDer<'static>,
            intermediate_key_pin: String,
            /// Signs more leaves: the intermediate's issuer.
            intermediate_issuer: Issuer<'static, KeyPair>,
            leaf: CertificateDer<'static>,
            leaf_key_pin: String,
        }

        fn ca_params(name: &str) -> CertificateParams {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
            params
        }

        fn leaf_for(issuer: &Issuer<'static, KeyPair>) -> (CertificateDer<'static>, String) {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            params.distinguished_name.push(DnType::CommonName, "localhost");
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let cert = params.signed_by(&key, issuer).unwrap();
            (cert.der().clone(), pin_of_key(&key))
        }

        fn pki(name: &str) -> Pki {
            let root_key = KeyPair::generate().unwrap();
            let root_params = ca_params(&format!("{name} root"));
            let root = root_params.self_signed(&root_key).unwrap().der().clone();
            let root_key_pin = pin_of_key(&root_key);
            let root_issuer = Issuer::new(root_params, root_key);
            let intermediate_key = KeyPair::generate().unwrap();
            let intermediate_params = ca_params(&format!("{name} intermediate"));
            let intermediate = intermediate_params.signed_by(&intermediate_key, &root_issuer).unwrap().der().clone();
            let intermediate_key_pin = pin_of_key(&intermediate_key);
            let intermediate_issuer = Issuer::new(intermediate_params, intermediate_key);
            let (leaf, leaf_key_pin) = leaf_for(&intermediate_issuer);
            Pki { root, root_key_pin, intermediate, intermediate_key_pin, intermediate_issuer, leaf, leaf_key_pin }
        }

        /// A pin no certificate here has: the backup a set needs.
        fn unused_pin() -> String {
            pin_of_key(&KeyPair::generate().unwrap())
        }

        fn verifier(trusted: &[&CertificateDer<'static>], pins: &[&str], expires_at: u64) -> PinningVerifier {
            let mut roots = rustls::RootCertStore::empty();
            for root in trusted {
                roots.add((*root).clone()).unwrap();
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            PinningVerifier::new(roots, provider, PinSet::new(pins, expires_at).unwrap()).unwrap()
        }

        fn verify(
            verifier: &PinningVerifier,
            leaf: &CertificateDer<'static>,
            intermediates: &[CertificateDer<'static>],
            now: u64,
        ) -> Result<(), rustls::Error> {
            let name = ServerName::try_from("localhost").unwrap();
            verifier.verify_server_cert(leaf, intermediates, &name, &[], at(now)).map(|_| ())
        }

        fn is_pin_mismatch(result: Result<(), rustls::Error>) -> bool {
            matches!(result, Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)))
        }

        #[test]
        fn real_certificates_have_the_pins_openssl_computes() {
            assert_eq!(pin_of_certificate(&der(ISRG_ROOT_X1_PEM)).unwrap(), ISRG_X1, "RSA");
            assert_eq!(pin_of_certificate(&der(ISRG_ROOT_X2_PEM)).unwrap(), ISRG_X2, "ECDSA P-384");
            let bundle = format!("{ISRG_ROOT_X1_PEM}{ISRG_ROOT_X2_PEM}");
            assert_eq!(pins_of_pem(&bundle).unwrap(), [ISRG_X1, ISRG_X2]);
            assert!(matches!(pins_of_pem("no PEM here"), Err(Error::Config(_))));
        }

        #[test]
        fn a_trust_anchors_pin_is_the_pin_of_its_certificate() {
            // webpki-roots keeps the SPKI contents only: the pin of the rebuilt element must be the published one.
            let x1 = webpki_roots::TLS_SERVER_ROOTS
                .iter()
                .find(|a| a.subject.as_ref().windows(12).any(|w| w == b"ISRG Root X1"))
                .expect("ISRG Root X1 in webpki-roots");
            assert_eq!(format_pin(&sha256(&der_sequence(x1.subject_public_key_info.as_ref()))), ISRG_X1);
            // And an anchor the app adds from PEM, against rcgen's own SubjectPublicKeyInfo encoding.
            let pki = pki("anchor");
            let anchor = webpki::anchor_from_trusted_cert(&pki.root).unwrap();
            let spki = der_sequence(anchor.subject_public_key_info.as_ref());
            assert_eq!(format_pin(&sha256(&spki)), pki.root_key_pin);
            assert_eq!(pin_of_certificate(&pki.root).unwrap(), pki.root_key_pin);
            assert_eq!(pin_of_certificate(&pki.leaf).unwrap(), pki.leaf_key_pin);
        }

        #[test]
        fn der_lengths_use_the_shortest_form() {
            let header = |len: usize| {
                let encoded = der_sequence(&vec![0xab; len]);
                assert!(encoded[encoded.len() - len..].iter().all(|b| *b == 0xab), "the contents follow the header");
                encoded[..encoded.len() - len].to_vec()
            };
            assert_eq!(header(0), [0x30, 0x00]);
            assert_eq!(header(0x7f), [0x30, 0x7f]);
            assert_eq!(header(0x80), [0x30, 0x81, 0x80]);
            assert_eq!(header(0xff), [0x30, 0x81, 0xff]);
            assert_eq!(header(0x100), [0x30, 0x82, 0x01, 0x00]);
            assert_eq!(header(0x1_0000), [0x30, 0x83, 0x01, 0x00, 0x00]);
        }

        #[test]
        fn truncated_and_mutated_certificates_are_errors_never_panics() {
            let mut rng = fastrand::Rng::with_seed(16);
            for pem in [ISRG_ROOT_X1_PEM, ISRG_ROOT_X2_PEM] {
                let real = der(pem).to_vec();
                for len in 0..real.len() {
                    assert!(pin_of_certificate(&real[..len]).is_err(), "a certificate cut at {len} bytes");
                }
                for round in 0..3_000 {
                    let mut bytes = real.clone();
                    for _ in 0..1 + round % 8 {
                        let i = rng.usize(..bytes.len());
                        match rng.u8(..3) {
                            0 => bytes[i] ^= 1 << rng.u8(..8),
                            1 => bytes[i] = rng.u8(..),
                            _ => bytes.insert(i, rng.u8(..)),
                        }
                    }
                    let _ = pin_of_certificate(&bytes);
                }
            }
            for len in 0..300 {
                let _ = pin_of_certificate(&(0..len).map(|_| rng.u8(..)).collect::<Vec<_>>());
            }
        }

        #[test]
        fn a_pin_of_the_leaf_the_intermediate_or_the_unsent_root_is_accepted() {
            let pki = pki("shop");
            let chain = [pki.intermediate.clone()];
            let backup = unused_pin();
            for pinned in [&pki.leaf_key_pin, &pki.intermediate_key_pin, &pki.root_key_pin] {
                let verifier = verifier(&[&pki.root], &[pinned, &backup], LATER);
                verify(&verifier, &pki.leaf, &chain, LATER - 1).unwrap();
            }
        }

        #[test]
        fn only_unknown_pins_refuse_with_the_pin_error_until_the_set_expires() {
            let pki = pki("shop");
            let chain = [pki.intermediate.clone()];
            let verifier = verifier(&[&pki.root], &[&unused_pin(), &unused_pin()], LATER);
            assert!(is_pin_mismatch(verify(&verifier, &pki.leaf, &chain, LATER - 1)), "the last pinned second");
            verify(&verifier, &pki.leaf, &chain, LATER).expect("expired at `expires_at`: pinning is off");
            verify(&verifier, &pki.leaf, &chain, LATER + 86_400).expect("and stays off");
        }

        #[test]
        fn pins_never_widen_trust() {
            // An untrusted chain with a pinned leaf fails as it would without pins, expired set or not.
            let pki = pki("shop");
            let chain = [pki.intermediate.clone()];
            let stranger = pki_root_only("stranger");
            for now in [LATER - 1, LATER] {
                let verifier = verifier(&[&stranger], &[&pki.leaf_key_pin, &pki.root_key_pin], LATER);
                let result = verify(&verifier, &pki.leaf, &chain, now);
                assert!(
                    matches!(result, Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))),
                    "{result:?}"
                );
            }
            // Nor does a pinned leaf make a wrong host name acceptable.
            let verifier = verifier(&[&pki.root], &[&pki.leaf_key_pin, &unused_pin()], LATER);
            let other = ServerName::try_from("collect.example.com").unwrap();
            let result = verifier.verify_server_cert(&pki.leaf, &chain, &other, &[], at(LATER - 1)).map(|_| ());
            assert!(
                matches!(
                    result,
                    Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. }))
                ),
                "{result:?}"
            );
        }

        fn pki_root_only(name: &str) -> CertificateDer<'static> {
            let key = KeyPair::generate().unwrap();
            ca_params(name).self_signed(&key).unwrap().der().clone()
        }

        #[test]
        fn a_pinned_intermediate_appended_to_another_chain_does_not_pass() {
            // The real server's intermediate is pinned. An attacker holds a localhost certificate from another
            // trusted CA (a misissuing public CA) and sends the real, public intermediate along with it.
            let real = pki("real");
            let rogue = pki("rogue");
            let verifier = verifier(&[&real.root, &rogue.root], &[&real.intermediate_key_pin, &unused_pin()], LATER);
            let chain = [rogue.intermediate.clone(), real.intermediate.clone()];
            assert!(is_pin_mismatch(verify(&verifier, &rogue.leaf, &chain, LATER - 1)));
            let reversed = [real.intermediate.clone(), rogue.intermediate.clone()];
            assert!(is_pin_mismatch(verify(&verifier, &rogue.leaf, &reversed, LATER - 1)));
            // The real server's own chain passes the same verifier.
            verify(&verifier, &real.leaf, std::slice::from_ref(&real.intermediate), LATER - 1).unwrap();
        }

        #[test]
        fn among_several_valid_paths_the_pinned_one_is_found() {
            // The same intermediate key cross-signed by two roots: the path through the first root found is not
            // pinned, the one through the other root is; the search must not stop at the first valid path.
            let pinned_root_key = KeyPair::generate().unwrap();
            let pinned_root_params = ca_params("pinned root");
            let pinned_root = pinned_root_params.self_signed(&pinned_root_key).unwrap().der().clone();
            let pinned_root_issuer = Issuer::new(pinned_root_params, pinned_root_key);
            let pki = pki("shop");
            // Re-sign the shop's intermediate (same name, same key) under the pinned root.
            let cross = ca_params("shop intermediate").signed_by(pki.intermediate_issuer.key(), &pinned_root_issuer);
            let cross = cross.unwrap().der().clone();
            let pinned_root_pin = pin_of_certificate(&pinned_root).unwrap();
            let verifier = verifier(&[&pki.root, &pinned_root], &[&pinned_root_pin, &unused_pin()], LATER);
            let chain = [pki.intermediate.clone(), cross];
            verify(&verifier, &pki.leaf, &chain, LATER - 1).unwrap();
            let unpinned_only = [pki.intermediate.clone()];
            assert!(is_pin_mismatch(verify(&verifier, &pki.leaf, &unpinned_only, LATER - 1)));
        }

        #[test]
        fn another_leaf_on_a_pinned_intermediate_passes() {
            // The point of pinning an intermediate (or a key, not a certificate): the leaf can be reissued.
            let pki = pki("shop");
            let (renewed, _) = leaf_for(&pki.intermediate_issuer);
            let verifier = verifier(&[&pki.root], &[&pki.intermediate_key_pin, &unused_pin()], LATER);
            verify(&verifier, &renewed, std::slice::from_ref(&pki.intermediate), LATER - 1).unwrap();
        }

        /// Counts `tracing` events (no span support needed: the verifier opens none).
        struct Counter(Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>);

        impl tracing::Subscriber for Counter {
            fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
                tracing::span::Id::from_u64(1)
            }
            fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
            fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
            fn event(&self, event: &tracing::Event<'_>) {
                struct Text<'a>(&'a mut String);
                impl tracing::field::Visit for Text<'_> {
                    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                        self.0.push_str(&format!("{}={:?} ", field.name(), value));
                    }
                }
                let mut text = String::new();
                event.record(&mut Text(&mut text));
                self.0.fetch_add(1, Ordering::SeqCst);
                self.1.lock().unwrap().push(text);
            }
            fn enter(&self, _: &tracing::span::Id) {}
            fn exit(&self, _: &tracing::span::Id) {}
        }

        #[test]
        fn expiry_is_logged_once_without_the_host() {
            let pki = pki("shop");
            let chain = [pki.intermediate.clone()];
            let verifier = verifier(&[&pki.root], &[&unused_pin(), &unused_pin()], LATER);
            let (count, lines) = (Arc::new(AtomicUsize::new(0)), Arc::default());
            let subscriber = Counter(count.clone(), Arc::clone(&lines));
            tracing::subscriber::with_default(subscriber, || {
                for _ in 0..3 {
                    verify(&verifier, &pki.leaf, &chain, LATER + 1).unwrap();
                }
            });
            let lines = lines.lock().unwrap();
            assert_eq!(count.load(Ordering::SeqCst), 1, "{lines:?}");
            assert!(lines[0].contains("expired") && lines[0].contains(&LATER.to_string()), "{lines:?}");
            assert!(!lines[0].contains("localhost"), "{lines:?}");
        }
    }
}
