//! The issuer's Ed25519 keys the device and the till trust: a pinned set (kid → public key, with validity) that
//! an app bundles and a till loads as JSON, rotated only by a new set signed by a key already trusted. A set
//! signed by any other key is refused, so a compromised feed cannot swap in its own issuer.
//!
//! The signed rotation carries the new set's JSON as base64 text, and the signature covers exactly those bytes:
//! no JSON canonicalisation is needed to verify, and what was verified is what is parsed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};

use super::codec::is_short_ascii;

/// Largest key-set document (pinned JSON or signed rotation) accepted.
pub const MAX_KEYSET_BYTES: usize = 16 * 1024;
/// Most keys one set may hold (current, next, and a few retiring).
pub const MAX_KEYS: usize = 16;
/// Longest key id.
pub const MAX_KID_LEN: usize = 16;

// Domain separation: the same issuer key signs grants and key sets; neither can pass for the other.
pub(crate) const KEYSET_CONTEXT: &[u8] = b"footfall/keyset/v1\0";

/// One issuer public key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IssuerKey {
    pub kid: String,
    /// Raw Ed25519 public key.
    pub public_key: [u8; 32],
    /// Seconds since the epoch from which grants signed by this key are accepted.
    pub not_before: i64,
    /// Seconds since the epoch after which they are not (a retired key); `None`: until rotated out.
    pub not_after: Option<i64>,
}

impl IssuerKey {
    fn valid_at(&self, now: i64) -> bool {
        now >= self.not_before && self.not_after.is_none_or(|end| now < end)
    }
}

/// A trusted set of issuer keys. `version` only grows: an older set is never accepted over a newer one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeySet {
    pub version: u64,
    pub keys: Vec<IssuerKey>,
}

/// Why a key set, a rotation or a key lookup was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    #[error("key set is {len} bytes; the limit is {MAX_KEYSET_BYTES}")]
    TooLarge { len: usize },
    #[error("key set is not valid: {0}")]
    Malformed(String),
    #[error("key set has no keys")]
    Empty,
    #[error("key set has more than {MAX_KEYS} keys")]
    TooManyKeys,
    #[error("key id '{0}' appears twice")]
    DuplicateKid(String),
    #[error("key '{0}' is not a valid Ed25519 public key or key id")]
    BadKey(String),
    #[error("the rotation is signed by '{0}', a key this device does not trust")]
    UnknownSigner(String),
    #[error("the rotation is signed by '{0}', which is not valid now")]
    SignerNotValid(String),
    #[error("the rotation's signature does not verify")]
    BadSignature,
    #[error("the offered key set (version {offered}) is not newer than the trusted one (version {current})")]
    NotNewer { current: u64, offered: u64 },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySetDoc {
    version: u64,
    keys: Vec<KeyDoc>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyDoc {
    kid: String,
    alg: String,
    /// base64url, no padding.
    x: String,
    nbf: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
}

/// The envelope of a rotation: open to members a later protocol adds (the signed set inside is closed).
#[derive(Serialize, Deserialize)]
struct SignedKeySetDoc {
    keyset: String,
    kid: String,
    sig: String,
}

impl KeySet {
    /// A checked key set (ids unique and short, at least one key, at most [`MAX_KEYS`]).
    pub fn new(version: u64, keys: Vec<IssuerKey>) -> Result<Self, KeySetError> {
        if keys.is_empty() {
            return Err(KeySetError::Empty);
        }
        if keys.len() > MAX_KEYS {
            return Err(KeySetError::TooManyKeys);
        }
        for (i, key) in keys.iter().enumerate() {
            if key.kid.is_empty() || !is_short_ascii(&key.kid, MAX_KID_LEN) {
                return Err(KeySetError::BadKey(key.kid.chars().take(MAX_KID_LEN).collect()));
            }
            if keys[..i].iter().any(|k| k.kid == key.kid) {
                return Err(KeySetError::DuplicateKid(key.kid.clone()));
            }
        }
        Ok(KeySet { version, keys })
    }

    /// The pinned form: `{"version":N,"keys":[{"kid","alg":"Ed25519","x","nbf","exp"?}]}`.
    pub fn to_json(&self) -> String {
        let doc = KeySetDoc {
            version: self.version,
            keys: self
                .keys
                .iter()
                .map(|k| KeyDoc {
                    kid: k.kid.clone(),
                    alg: "Ed25519".into(),
                    x: B64.encode(k.public_key),
                    nbf: k.not_before,
                    exp: k.not_after,
                })
                .collect(),
        };
        serde_json::to_string(&doc).unwrap_or_default()
    }

    /// Reads a pinned key set (bundled with the app, loaded by a till). Trusted because of where it came from:
    /// updates arriving over the network go through [`KeySet::accept_rotation`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, KeySetError> {
        if bytes.len() > MAX_KEYSET_BYTES {
            return Err(KeySetError::TooLarge { len: bytes.len() });
        }
        let doc: KeySetDoc = serde_json::from_slice(bytes).map_err(|e| KeySetError::Malformed(e.to_string()))?;
        let mut keys = Vec::with_capacity(doc.keys.len().min(MAX_KEYS));
        for key in doc.keys {
            let raw = B64.decode(&key.x).ok().filter(|_| key.alg == "Ed25519");
            let public_key: [u8; 32] = raw
                .and_then(|r| r.try_into().ok())
                .ok_or_else(|| KeySetError::BadKey(key.kid.chars().take(MAX_KID_LEN).collect()))?;
            keys.push(IssuerKey { kid: key.kid, public_key, not_before: key.nbf, not_after: key.exp });
        }
        KeySet::new(doc.version, keys)
    }

    /// The key `kid` if this set holds it (whatever its validity window).
    pub fn get(&self, kid: &str) -> Option<&IssuerKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Whether `kid` is in the set and valid at `now`.
    pub(crate) fn key_valid_at(&self, kid: &str, now: i64) -> Option<Result<&IssuerKey, ()>> {
        self.get(kid).map(|k| if k.valid_at(now) { Ok(k) } else { Err(()) })
    }

    /// Accepts a signed rotation (see [`sign_rotation`]) only when a key of *this* set, valid at `now`, signed
    /// it and the new set is newer; returns the set to pin from now on.
    pub fn accept_rotation(&self, signed: &[u8], now: i64) -> Result<KeySet, KeySetError> {
        if signed.len() > MAX_KEYSET_BYTES {
            return Err(KeySetError::TooLarge { len: signed.len() });
        }
        let doc: SignedKeySetDoc = serde_json::from_slice(signed).map_err(|e| KeySetError::Malformed(e.to_string()))?;
        let kid: String = doc.kid.chars().take(MAX_KID_LEN).collect();
        let signer = match self.key_valid_at(&doc.kid, now) {
            None => return Err(KeySetError::UnknownSigner(kid)),
            Some(Err(())) => return Err(KeySetError::SignerNotValid(kid)),
            Some(Ok(key)) => key,
        };
        let body = B64.decode(&doc.keyset).map_err(|e| KeySetError::Malformed(format!("keyset: {e}")))?;
        let sig = B64.decode(&doc.sig).map_err(|e| KeySetError::Malformed(format!("sig: {e}")))?;
        let mut message = KEYSET_CONTEXT.to_vec();
        message.extend_from_slice(&body);
        UnparsedPublicKey::new(&ED25519, signer.public_key)
            .verify(&message, &sig)
            .map_err(|_| KeySetError::BadSignature)?;
        let offered = KeySet::from_json(&body)?;
        if offered.version <= self.version {
            return Err(KeySetError::NotNewer { current: self.version, offered: offered.version });
        }
        Ok(offered)
    }
}

/// An issuer signing key (the reference issuer's; tests'). Holds the private key: never on a shopper's device.
pub struct IssuerSigner {
    kid: String,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for IssuerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerSigner").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl IssuerSigner {
    /// From a 32-byte Ed25519 seed (the issuer's key file).
    pub fn from_seed(kid: &str, seed: &[u8; 32]) -> Result<Self, KeySetError> {
        if kid.is_empty() || !is_short_ascii(kid, MAX_KID_LEN) {
            return Err(KeySetError::BadKey(kid.chars().take(MAX_KID_LEN).collect()));
        }
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| KeySetError::BadKey(kid.to_string()))?;
        Ok(IssuerSigner { kid: kid.to_string(), pair })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, ready for a key set.
    pub fn issuer_key(&self, not_before: i64, not_after: Option<i64>) -> IssuerKey {
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(self.pair.public_key().as_ref());
        IssuerKey { kid: self.kid.clone(), public_key, not_before, not_after }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }
}

/// The issuer's side of a rotation: `new` signed by `signer` (a key the devices already trust).
pub fn sign_rotation(new: &KeySet, signer: &IssuerSigner) -> Vec<u8> {
    let body = new.to_json().into_bytes();
    let mut message = KEYSET_CONTEXT.to_vec();
    message.extend_from_slice(&body);
    let doc =
        SignedKeySetDoc { keyset: B64.encode(&body), kid: signer.kid.clone(), sig: B64.encode(signer.sign(&message)) };
    serde_json::to_vec(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000;

    fn signer(kid: &str, seed: u8) -> IssuerSigner {
        IssuerSigner::from_seed(kid, &[seed; 32]).unwrap()
    }

    fn set(version: u64, signers: &[&IssuerSigner]) -> KeySet {
        KeySet::new(version, signers.iter().map(|s| s.issuer_key(0, None)).collect()).unwrap()
    }

    #[test]
    fn pinned_json_round_trips() {
        let (a, b) = (signer("k1", 1), signer("k2", 2));
        let mut keys = set(3, &[&a, &b]);
        keys.keys[1].not_after = Some(NOW);
        let json = keys.to_json();
        assert!(json.contains(r#""alg":"Ed25519""#), "{json}");
        assert_eq!(KeySet::from_json(json.as_bytes()), Ok(keys));
    }

    #[test]
    fn a_rotation_signed_by_a_trusted_key_is_accepted() {
        let (old, new) = (signer("k1", 1), signer("k2", 2));
        let trusted = set(1, &[&old]);
        let next = set(2, &[&old, &new]);
        assert_eq!(trusted.accept_rotation(&sign_rotation(&next, &old), NOW), Ok(next.clone()));
        // And the new key can sign the one after, dropping the old key.
        let after = set(3, &[&new]);
        assert_eq!(next.accept_rotation(&sign_rotation(&after, &new), NOW), Ok(after));
    }

    #[test]
    fn a_rotation_signed_by_an_unknown_key_is_refused() {
        let (trusted_key, stranger) = (signer("k1", 1), signer("k9", 9));
        let trusted = set(1, &[&trusted_key]);
        let forged = sign_rotation(&set(2, &[&stranger]), &stranger);
        assert_eq!(trusted.accept_rotation(&forged, NOW), Err(KeySetError::UnknownSigner("k9".into())));
        // The stranger claiming a trusted kid fails on the signature.
        let impostor = signer("k1", 9);
        let forged = sign_rotation(&set(2, &[&impostor]), &impostor);
        assert_eq!(trusted.accept_rotation(&forged, NOW), Err(KeySetError::BadSignature));
    }

    #[test]
    fn an_altered_or_older_rotation_is_refused() {
        let key = signer("k1", 1);
        let trusted = set(5, &[&key]);
        let signed = sign_rotation(&set(6, &[&key, &signer("k2", 2)]), &key);
        let mut doc: serde_json::Value = serde_json::from_slice(&signed).unwrap();
        let body = B64.decode(doc["keyset"].as_str().unwrap()).unwrap();
        let altered = String::from_utf8(body).unwrap().replace("\"version\":6", "\"version\":7");
        doc["keyset"] = B64.encode(altered).into();
        assert_eq!(trusted.accept_rotation(&serde_json::to_vec(&doc).unwrap(), NOW), Err(KeySetError::BadSignature));
        let older = sign_rotation(&set(5, &[&key]), &key);
        assert_eq!(trusted.accept_rotation(&older, NOW), Err(KeySetError::NotNewer { current: 5, offered: 5 }));
    }

    #[test]
    fn a_retired_signer_cannot_rotate() {
        let key = signer("k1", 1);
        let mut trusted = set(1, &[&key]);
        trusted.keys[0].not_after = Some(NOW);
        let signed = sign_rotation(&set(2, &[&key]), &key);
        assert_eq!(trusted.accept_rotation(&signed, NOW), Err(KeySetError::SignerNotValid("k1".into())));
        assert!(trusted.accept_rotation(&signed, NOW - 1).is_ok());
    }

    #[test]
    fn malformed_sets_get_typed_errors() {
        assert!(matches!(KeySet::from_json(b"{"), Err(KeySetError::Malformed(_))));
        assert_eq!(KeySet::from_json(br#"{"version":1,"keys":[]}"#), Err(KeySetError::Empty));
        let short = br#"{"version":1,"keys":[{"kid":"k1","alg":"Ed25519","x":"AAAA","nbf":0}]}"#;
        assert_eq!(KeySet::from_json(short), Err(KeySetError::BadKey("k1".into())));
        let k = signer("k1", 1).issuer_key(0, None);
        assert_eq!(KeySet::new(1, vec![k.clone(), k.clone()]), Err(KeySetError::DuplicateKid("k1".into())));
        assert_eq!(KeySet::new(1, vec![k; MAX_KEYS + 1]), Err(KeySetError::TooManyKeys));
        assert_eq!(
            KeySet::from_json(&vec![b' '; MAX_KEYSET_BYTES + 1]),
            Err(KeySetError::TooLarge { len: MAX_KEYSET_BYTES + 1 })
        );
        assert!(IssuerSigner::from_seed("with space", &[0; 32]).is_err());
    }
}
