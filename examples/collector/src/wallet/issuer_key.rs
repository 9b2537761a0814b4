//! The issuer's Ed25519 key file: `{"kid":"k1a2b3c4d","seed":"<base64url of 32 bytes>"}`, created on first use
//! with owner-only permissions. The key id is `k` and the first 8 hex digits of SHA-256(public key), so two key
//! files never share a kid by accident and a till's key set names the key it was made from.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use footfall_core::wallet::{IssuerSigner, KeySet};
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};

use crate::error::CollectorError;
use crate::record::hex;

/// The key set version the collector's own one-key set carries (a rotation document brings higher ones).
const OWN_KEYSET_VERSION: u64 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    kid: String,
    seed: String,
}

fn problem(path: &Path) -> impl Fn(String) -> CollectorError + '_ {
    move |problem| CollectorError::IssuerKey { path: path.to_path_buf(), problem }
}

/// Reads the key file at `path`; never creates it.
pub(crate) fn load(path: &Path) -> Result<IssuerSigner, CollectorError> {
    let fail = problem(path);
    let text = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let file: KeyFile = serde_json::from_slice(&text).map_err(|e| fail(format!("not a key file: {e}")))?;
    let seed: [u8; 32] = B64
        .decode(file.seed.trim())
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| fail("seed must be 32 bytes, base64url".into()))?;
    IssuerSigner::from_seed(&file.kid, &seed).map_err(|e| fail(e.to_string()))
}

/// Reads the key file at `path`, or creates it with a fresh key (mode 0600) when there is none.
pub(crate) fn load_or_create(path: &Path) -> Result<IssuerSigner, CollectorError> {
    if path.exists() {
        return load(path);
    }
    let fail = problem(path);
    let mut seed = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut seed).map_err(|_| fail("no randomness for a new key".into()))?;
    let kid = kid_for_seed(&seed).map_err(&fail)?;
    let text = serde_json::to_string(&KeyFile { kid: kid.clone(), seed: B64.encode(seed) }).unwrap_or_default();
    let mut options = std::fs::OpenOptions::new();
    // create_new: two collectors starting at once never overwrite each other's key; the loser reads the winner's.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(text.as_bytes()).and_then(|_| file.sync_all()).map_err(|e| fail(e.to_string()))?;
            IssuerSigner::from_seed(&kid, &seed).map_err(|e| fail(e.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load(path),
        Err(e) => Err(fail(e.to_string())),
    }
}

fn kid_for_seed(seed: &[u8; 32]) -> Result<String, String> {
    let public = IssuerSigner::from_seed("k", seed).map_err(|e| e.to_string())?.issuer_key(0, None).public_key;
    let digest = ring::digest::digest(&ring::digest::SHA256, &public);
    Ok(format!("k{}", &hex(digest.as_ref())[..8]))
}

/// The set a till loads and an app pins: this one key, valid from the epoch, until rotated out.
pub(crate) fn own_keyset(signer: &IssuerSigner) -> KeySet {
    KeySet { version: OWN_KEYSET_VERSION, keys: vec![signer.issuer_key(0, None)] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_file_is_private_and_reads_back_as_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issuer.json");
        let created = load_or_create(&path).unwrap();
        let again = load_or_create(&path).unwrap();
        assert_eq!(created.kid(), again.kid());
        assert_eq!(created.issuer_key(0, None), again.issuer_key(0, None));
        assert!(created.kid().starts_with('k') && created.kid().len() == 9, "{}", created.kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let json = own_keyset(&created).to_json();
        assert_eq!(KeySet::from_json(json.as_bytes()).unwrap(), own_keyset(&created));
    }

    #[test]
    fn a_broken_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issuer.json");
        std::fs::write(&path, r#"{"kid":"k1","seed":"AAAA"}"#).unwrap();
        assert!(load_or_create(&path).unwrap_err().to_string().contains("32 bytes"));
        assert!(load(&dir.path().join("missing.json")).is_err());
    }
}
