//! Device-bound redemption codes and the offline till's verdict on them.
//!
//! `present` (storage layer) persists the next counter, then asks [`present_code`] for a code: the grant bytes
//! plus a proof that a per-device P-256 key signed (grant hash, counter, 30-second time bucket, optional till
//! challenge). A screenshot replays at most within the freshness window and is caught by its counter; a copied
//! grant without the device key cannot make a proof; two phones sharing a serial produce proofs the issuer
//! attributes to each device key.
//!
//! Code format version 2, carried as Base45 text (QR alphanumeric mode, error correction M):
//!
//! ```text
//! version u8 = 2 | device_key [33] (compressed SEC1 P-256 point: 0x02/0x03 ‖ x)
//! | counter varint | time_bucket varint (UTC seconds / 30) | challenge u8 (0 none, 1 bound)
//! | signature [64] | grant: the grant's till part, to the end
//! signature = ECDSA P-256 SHA-256 (r ‖ s) over
//!   "footfall/redeem/v2\0" ‖ SHA-256(till part) ‖ device_key [33] ‖ counter u64 BE ‖ time_bucket u64 BE
//!   ‖ challenge_len u8 ‖ challenge
//! ```
//!
//! The code carries the grant's till part only (see [`grant`](super::grant)): the display part (terms reference,
//! local dates) stays on the device, covered by the issuer's second signature. The device key travels
//! compressed; [`decode_code`] restores the 65-byte point (RustCrypto `p256` does the decompression, `ring`
//! verifies the proof), so [`Proof::device_key`], [`device_id`] and what the issuer records are unchanged. Every
//! code has one byte form: the key's compression is unique, the varints are minimal, and the grant must be exactly
//! a till part. Version 1 (the whole grant, an uncompressed key) never shipped and is refused as
//! [`RedemptionRefused::UnknownVersion`].
//!
//! Beyond the till part (which carries the issuer's 64-byte signature) a code adds about 105 bytes: the device
//! key (33), the proof signature (64) and about 8 of version, counter, bucket and flag. Measured in
//! `tests/wallet.rs`: a typical coupon (a 127-byte till part) makes a 232-byte code, 348 Base45 characters, QR
//! version 11 at level M (61 × 61 modules; version 1 made 296 bytes, version 13); the largest till part the format
//! allows (16 GTINs, 32-character ids, 289 bytes) with a 32-byte challenge makes 397 bytes, version 15-M.

use std::collections::BTreeMap;

use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING,
};

use super::base45;
use super::codec::{CodecError, Reader, Writer};
use super::grant::{grant_hash, till_part_len, verify_grant, GrantError, VerifiedGrant, MAX_GRANT_BYTES};
use super::keys::KeySet;

/// The only code format this build reads.
pub const CODE_FORMAT_V2: u8 = 2;
/// Width of a time bucket, seconds.
pub const BUCKET_SECS: i64 = 30;
/// How many buckets old a code may be at the till (two minutes: the shopper queued with the code on screen).
pub const MAX_AGE_BUCKETS: i64 = 4;
/// How many buckets ahead of the till's clock a code may be (phone and till clocks differ a little).
pub const MAX_AHEAD_BUCKETS: i64 = 1;
/// Longest till challenge.
pub const MAX_CHALLENGE_BYTES: usize = 32;
/// Longest code text a till reads.
pub const MAX_CODE_CHARS: usize = (MAX_GRANT_BYTES + 200) * 3 / 2;
const DEVICE_KEY_LEN: usize = 65;
const COMPRESSED_KEY_LEN: usize = 33;
const PROOF_SIGNATURE_LEN: usize = 64;
const PROOF_CONTEXT: &[u8] = b"footfall/redeem/v2\0";

/// A failure inside a device signer (a keystore that is locked, gone or refused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("device signer: {0}")]
pub struct DeviceSignerError(pub String);

/// The per-device P-256 key. The platform layers implement it with Android Keystore or the Secure Enclave
/// (the private key never leaves them); [`SoftwareDeviceSigner`] is the documented weaker default.
pub trait DeviceSigner: Send + Sync {
    /// The 65-byte uncompressed SEC1 public key (`0x04 ‖ x ‖ y`).
    fn public_key(&self) -> Result<Vec<u8>, DeviceSignerError>;
    /// ECDSA P-256 with SHA-256 over `message`, as 64 bytes `r ‖ s` (not DER).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DeviceSignerError>;
}

/// A P-256 key held in memory, from PKCS#8 the storage layer keeps. Weaker than a hardware key: anyone who
/// copies the app's data can present as this device.
pub struct SoftwareDeviceSigner {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for SoftwareDeviceSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareDeviceSigner").finish_non_exhaustive()
    }
}

impl SoftwareDeviceSigner {
    /// A new key; returns the PKCS#8 bytes to persist with it.
    pub fn generate() -> Result<(Self, Vec<u8>), DeviceSignerError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| DeviceSignerError("could not generate a P-256 key".into()))?;
        let signer = Self::from_pkcs8(pkcs8.as_ref())?;
        Ok((signer, pkcs8.as_ref().to_vec()))
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, DeviceSignerError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|_| DeviceSignerError("not a P-256 PKCS#8 key".into()))?;
        Ok(SoftwareDeviceSigner { pair, rng })
    }
}

impl DeviceSigner for SoftwareDeviceSigner {
    fn public_key(&self) -> Result<Vec<u8>, DeviceSignerError> {
        Ok(self.pair.public_key().as_ref().to_vec())
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DeviceSignerError> {
        let signature =
            self.pair.sign(&self.rng, message).map_err(|_| DeviceSignerError("P-256 signing failed".into()))?;
        Ok(signature.as_ref().to_vec())
    }
}

/// The device's signed statement about one presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The uncompressed SEC1 point (`0x04 ‖ x ‖ y`), as the device signer gives it and [`device_id`] hashes it;
    /// a code carries it compressed.
    pub device_key: [u8; DEVICE_KEY_LEN],
    pub counter: u64,
    pub time_bucket: u64,
    pub challenge_bound: bool,
    pub signature: [u8; PROOF_SIGNATURE_LEN],
}

/// Why a code could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresentError {
    #[error(transparent)]
    Signer(#[from] DeviceSignerError),
    #[error("the device signer returned a {0}-byte public key, not an uncompressed P-256 key (0x04 ‖ x ‖ y)")]
    BadPublicKey(usize),
    #[error("the device signer returned a {0}-byte signature; 64 bytes (r ‖ s) are required")]
    BadSignature(usize),
    #[error("the till challenge is {0} bytes; the limit is {MAX_CHALLENGE_BYTES}")]
    ChallengeTooLong(usize),
    #[error("the grant is {0} bytes; the limit is {MAX_GRANT_BYTES}")]
    GrantTooLarge(usize),
    #[error("the instant is before 1970")]
    BeforeEpoch,
}

pub fn time_bucket(now: i64) -> u64 {
    now.div_euclid(BUCKET_SECS).max(0) as u64
}

/// The SEC1 compressed form (`0x02` for an even y, `0x03` for odd, then x) of an uncompressed point. Callers
/// pass a key whose first byte is `0x04`; whether it is on the curve is the verifier's business.
fn compress(device_key: &[u8; DEVICE_KEY_LEN]) -> [u8; COMPRESSED_KEY_LEN] {
    let mut out = [0u8; COMPRESSED_KEY_LEN];
    out[0] = 0x02 | (device_key[DEVICE_KEY_LEN - 1] & 1);
    out[1..].copy_from_slice(&device_key[1..COMPRESSED_KEY_LEN]);
    out
}

/// The uncompressed point of a compressed key, or `None` when the bytes are not a P-256 point (a tag other than
/// `0x02`/`0x03`, an x not below the field prime, or an x with no point on the curve). RustCrypto's `p256` does the
/// field arithmetic (the square root that finds y).
fn decompress(key: &[u8; COMPRESSED_KEY_LEN]) -> Option<[u8; DEVICE_KEY_LEN]> {
    use p256::elliptic_curve::point::{AffineCoordinates, DecompressPoint};
    use p256::elliptic_curve::subtle::Choice;
    if !matches!(key[0], 0x02 | 0x03) {
        return None;
    }
    let x = p256::FieldBytes::try_from(&key[1..]).ok()?;
    let point = p256::AffinePoint::decompress(&x, Choice::from(key[0] & 1)).into_option()?;
    let mut out = [0u8; DEVICE_KEY_LEN];
    out[0] = 0x04;
    out[1..COMPRESSED_KEY_LEN].copy_from_slice(&point.x());
    out[COMPRESSED_KEY_LEN..].copy_from_slice(&point.y());
    // One byte form: the parity asked for is the one found (a y of 0 would have both; P-256 has no such point).
    Some(out).filter(|out| compress(out) == *key)
}

/// What the device signs. `till_part` is the grant's till part (what the code carries); the key is signed in its
/// compressed form (what the code carries).
pub(crate) fn proof_message(
    till_part: &[u8],
    device_key: &[u8; DEVICE_KEY_LEN],
    counter: u64,
    bucket: u64,
    challenge: Option<&[u8]>,
) -> Vec<u8> {
    let challenge = challenge.unwrap_or_default();
    let mut m = Vec::with_capacity(PROOF_CONTEXT.len() + 32 + COMPRESSED_KEY_LEN + 17 + challenge.len());
    m.extend_from_slice(PROOF_CONTEXT);
    m.extend_from_slice(&grant_hash(till_part));
    m.extend_from_slice(&compress(device_key));
    m.extend_from_slice(&counter.to_be_bytes());
    m.extend_from_slice(&bucket.to_be_bytes());
    m.push(challenge.len() as u8);
    m.extend_from_slice(challenge);
    m
}

/// The till part at the start of `grant_bytes` (a whole grant from the feed, or a till part from a code); bytes
/// that are not a framed grant are taken as they are (a till refuses them).
fn till_part(grant_bytes: &[u8]) -> &[u8] {
    &grant_bytes[..till_part_len(grant_bytes).unwrap_or(grant_bytes.len())]
}

/// Signs a proof for a grant (either form: the proof covers its till part) with the device key. `counter` must
/// already be durable (the storage layer persists it first), so no two codes ever share one; `now` is
/// server-corrected UTC seconds.
pub fn sign_proof(
    signer: &dyn DeviceSigner,
    grant_bytes: &[u8],
    counter: u64,
    now: i64,
    challenge: Option<&[u8]>,
) -> Result<Proof, PresentError> {
    if let Some(c) = challenge.filter(|c| c.len() > MAX_CHALLENGE_BYTES) {
        return Err(PresentError::ChallengeTooLong(c.len()));
    }
    if now < 0 {
        return Err(PresentError::BeforeEpoch);
    }
    let key = signer.public_key()?;
    let device_key: [u8; DEVICE_KEY_LEN] = key
        .as_slice()
        .try_into()
        .ok()
        .filter(|k: &[u8; DEVICE_KEY_LEN]| k[0] == 0x04)
        .ok_or(PresentError::BadPublicKey(key.len()))?;
    let bucket = time_bucket(now);
    let signature = signer.sign(&proof_message(till_part(grant_bytes), &device_key, counter, bucket, challenge))?;
    let signature: [u8; PROOF_SIGNATURE_LEN] =
        signature.as_slice().try_into().map_err(|_| PresentError::BadSignature(signature.len()))?;
    Ok(Proof { device_key, counter, time_bucket: bucket, challenge_bound: challenge.is_some(), signature })
}

/// The code text (Base45) for a grant (either form: the code carries its till part) and its proof.
pub fn encode_code(grant_bytes: &[u8], proof: &Proof) -> Result<String, PresentError> {
    if grant_bytes.len() > MAX_GRANT_BYTES {
        return Err(PresentError::GrantTooLarge(grant_bytes.len()));
    }
    if proof.device_key[0] != 0x04 {
        return Err(PresentError::BadPublicKey(DEVICE_KEY_LEN));
    }
    Ok(base45::encode(&code_bytes(till_part(grant_bytes), proof)))
}

pub(crate) fn code_bytes(till_part: &[u8], proof: &Proof) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(CODE_FORMAT_V2);
    w.raw(&compress(&proof.device_key));
    w.varint(proof.counter);
    w.varint(proof.time_bucket);
    w.u8(u8::from(proof.challenge_bound));
    w.raw(&proof.signature);
    w.raw(till_part);
    w.bytes
}

/// [`sign_proof`] then [`encode_code`]: what `present` returns to the app.
pub fn present_code(
    grant: &VerifiedGrant,
    signer: &dyn DeviceSigner,
    counter: u64,
    now: i64,
    challenge: Option<&[u8]>,
) -> Result<String, PresentError> {
    let proof = sign_proof(signer, grant.till_bytes(), counter, now, challenge)?;
    encode_code(grant.till_bytes(), &proof)
}

/// A code's parts, before any check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedCode {
    /// The grant's till part (verify it with [`verify_grant`]).
    pub grant_bytes: Vec<u8>,
    pub proof: Proof,
}

/// Splits code text into its parts; refuses text that is not a well-formed version-2 code: a device key that is
/// not a P-256 point, or a grant that is not exactly a till part, is `Malformed` (a grant of an unknown version is
/// `Grant(UnknownVersion)`). Nothing is verified.
pub fn decode_code(text: &str) -> Result<DecodedCode, RedemptionRefused> {
    if text.len() > MAX_CODE_CHARS {
        return Err(RedemptionRefused::TooLarge { len: text.len() });
    }
    // Not `trim()`: a space is a Base45 digit. Only a scanner's line ending is dropped.
    let bytes =
        base45::decode(text.trim_end_matches(['\r', '\n'])).map_err(|e| RedemptionRefused::Malformed(e.to_string()))?;
    let mut r = Reader::new(&bytes);
    let version = r.u8("code version")?;
    if version != CODE_FORMAT_V2 {
        return Err(RedemptionRefused::UnknownVersion(version));
    }
    let device_key = decompress(&r.array::<COMPRESSED_KEY_LEN>("device key")?)
        .ok_or_else(|| RedemptionRefused::Malformed("the device key is not a compressed P-256 point".into()))?;
    let counter = r.varint("counter")?;
    let time_bucket = r.varint("time bucket")?;
    let challenge_bound = match r.u8("challenge flag")? {
        0 => false,
        1 => true,
        _ => return Err(CodecError::OutOfRange("challenge flag").into()),
    };
    let signature = r.array::<PROOF_SIGNATURE_LEN>("proof signature")?;
    let grant_bytes = &bytes[r.position()..];
    if grant_bytes.len() > MAX_GRANT_BYTES {
        return Err(RedemptionRefused::Malformed("grant length above the limit".into()));
    }
    if till_part_len(grant_bytes)? != grant_bytes.len() {
        return Err(RedemptionRefused::Malformed("the code carries more than the grant's till part".into()));
    }
    Ok(DecodedCode {
        grant_bytes: grant_bytes.to_vec(),
        proof: Proof { device_key, counter, time_bucket, challenge_bound, signature },
    })
}

/// What a till holds about redemptions it accepted (persisted by the till app; here a value it passes in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedeemedSerials {
    uses: BTreeMap<(String, String), u32>,
    last_counter: BTreeMap<Vec<u8>, u64>,
}

impl RedeemedSerials {
    /// How many times this till accepted (coupon, serial).
    pub fn uses(&self, coupon_id: &str, serial: &str) -> u32 {
        self.uses.get(&(coupon_id.to_string(), serial.to_string())).copied().unwrap_or(0)
    }

    /// Records an accepted redemption (after the sale went through).
    pub fn record(&mut self, redemption: &VerifiedRedemption) {
        let g = redemption.grant.grant();
        *self.uses.entry((g.coupon_id.clone(), g.serial.clone())).or_default() += 1;
        let last = self.last_counter.entry(redemption.device_key.clone()).or_default();
        *last = (*last).max(redemption.counter);
    }

    fn last_counter(&self, device_key: &[u8]) -> Option<u64> {
        self.last_counter.get(device_key).copied()
    }
}

/// A code the till accepted: what to apply and what to report to the issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRedemption {
    pub grant: VerifiedGrant,
    /// The device's P-256 public key (uncompressed); the issuer attributes double spends to it.
    pub device_key: Vec<u8>,
    /// A short, stable name for the device key: hex of the first 8 bytes of its SHA-256.
    pub device_id: String,
    pub counter: u64,
    pub time_bucket: u64,
    pub store_id: String,
}

/// Why a till refused a code. Each is final for this code; the shopper's app can present a fresh one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedemptionRefused {
    #[error("code is {len} characters; the limit is {MAX_CODE_CHARS}")]
    TooLarge { len: usize },
    #[error("code is malformed: {0}")]
    Malformed(String),
    #[error("code format version {0} is not supported")]
    UnknownVersion(u8),
    #[error("the coupon inside the code is refused: {0}")]
    Grant(#[from] GrantError),
    #[error("the device proof does not verify (altered code or not this grant)")]
    BadProof,
    #[error("the till asked for a challenge and the code does not answer it, or the reverse")]
    ChallengeMismatch,
    #[error("the code was made at bucket {code_bucket}, the till is at {till_bucket}: not fresh")]
    Stale { code_bucket: u64, till_bucket: u64 },
    #[error("the coupon is not valid yet")]
    NotYetValid,
    #[error("the coupon has expired")]
    Expired,
    #[error("the coupon may not be redeemed offline")]
    OfflineNotAccepted,
    #[error("this device already presented counter {counter} here (last seen {last_seen}): a replayed code")]
    Replayed { counter: u64, last_seen: u64 },
    #[error("this serial was already redeemed here {uses} time(s), the limit offline")]
    AlreadyRedeemed { uses: u32 },
}

impl From<CodecError> for RedemptionRefused {
    fn from(e: CodecError) -> Self {
        RedemptionRefused::Malformed(e.to_string())
    }
}

/// The offline till's check of a code: the issuer's signature on the grant, the device proof (with the till's
/// challenge, if it issued one), freshness, validity, the grant's offline policy, and this till's own record of
/// counters and serials. `now` is the till's UTC seconds. Pure: the caller records an accepted redemption in
/// `redeemed` once the sale completes.
pub fn verify_redemption(
    code: &str,
    keys: &KeySet,
    now: i64,
    store_id: &str,
    redeemed: &RedeemedSerials,
    challenge: Option<&[u8]>,
) -> Result<VerifiedRedemption, RedemptionRefused> {
    let (grant, proof) = check_code(code, keys, now, challenge)?;
    let g = grant.grant();
    if !g.offline.accepted {
        return Err(RedemptionRefused::OfflineNotAccepted);
    }
    if let Some(last_seen) = redeemed.last_counter(&proof.device_key).filter(|last| proof.counter <= *last) {
        return Err(RedemptionRefused::Replayed { counter: proof.counter, last_seen });
    }
    let uses = redeemed.uses(&g.coupon_id, &g.serial);
    if uses >= g.uses_allowed.min(g.offline.max_uses) {
        return Err(RedemptionRefused::AlreadyRedeemed { uses });
    }
    Ok(VerifiedRedemption {
        device_id: device_id(&proof.device_key),
        device_key: proof.device_key.to_vec(),
        counter: proof.counter,
        time_bucket: proof.time_bucket,
        store_id: store_id.to_string(),
        grant,
    })
}

/// What a till and the issuer both check, at `at` (the till's now, the issuer's `presentedAt`): the code's form,
/// the issuer's signature on its grant, the challenge, the device proof, the code's freshness and the coupon's
/// validity. Returns the verified grant and the proof.
pub(crate) fn check_code(
    code: &str,
    keys: &KeySet,
    at: i64,
    challenge: Option<&[u8]>,
) -> Result<(VerifiedGrant, Proof), RedemptionRefused> {
    let decoded = decode_code(code)?;
    let grant = verify_grant(&decoded.grant_bytes, keys, at)?;
    let proof = decoded.proof;
    if proof.challenge_bound != challenge.is_some() || challenge.is_some_and(|c| c.len() > MAX_CHALLENGE_BYTES) {
        return Err(RedemptionRefused::ChallengeMismatch);
    }
    let message = proof_message(&decoded.grant_bytes, &proof.device_key, proof.counter, proof.time_bucket, challenge);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &proof.device_key)
        .verify(&message, &proof.signature)
        .map_err(|_| RedemptionRefused::BadProof)?;
    // A short window around `at`: the code's bucket comes from the device's server-corrected clock.
    let till_bucket = time_bucket(at);
    let age = i128::from(till_bucket) - i128::from(proof.time_bucket);
    if age > i128::from(MAX_AGE_BUCKETS) || age < -i128::from(MAX_AHEAD_BUCKETS) {
        return Err(RedemptionRefused::Stale { code_bucket: proof.time_bucket, till_bucket });
    }
    match grant.grant().validity.check(at) {
        Ok(()) => {}
        Err(super::validity::OutsideValidity::NotYetValid) => return Err(RedemptionRefused::NotYetValid),
        Err(super::validity::OutsideValidity::Expired) => return Err(RedemptionRefused::Expired),
    }
    Ok((grant, proof))
}

/// Hex of the first 8 bytes of SHA-256(device key): short enough to show, long enough not to collide in a store.
pub fn device_id(device_key: &[u8]) -> String {
    grant_hash(device_key)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::grant::tests::{issuer, keys, sample, till_fields, NOW};
    use super::*;

    // Generated once with SoftwareDeviceSigner::generate() and committed: every run uses the same device key.
    pub(crate) const DEVICE_PKCS8_B64: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfT1SBWD0vYbVtB0IAumuQaESL53dsijs4j0QMP9KOHyhRANCAAREto6KwumIkkpTfxiNi2JWpA/NTuhxff59At/Kwj1UZKdx9m4eiJHDn+IDYxyxX5pbtRp8cH3zmriVs0NvMhH+";

    fn device() -> SoftwareDeviceSigner {
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD.decode(DEVICE_PKCS8_B64).unwrap();
        SoftwareDeviceSigner::from_pkcs8(&der).unwrap()
    }

    fn grant() -> VerifiedGrant {
        verify_grant(&sample().sign(&issuer()).unwrap(), &keys(), NOW).unwrap()
    }

    fn code(counter: u64, at: i64, challenge: Option<&[u8]>) -> String {
        present_code(&grant(), &device(), counter, at, challenge).unwrap()
    }

    fn verify(
        code: &str,
        at: i64,
        redeemed: &RedeemedSerials,
        challenge: Option<&[u8]>,
    ) -> Result<VerifiedRedemption, RedemptionRefused> {
        verify_redemption(code, &keys(), at, "tokyo-01", redeemed, challenge)
    }

    #[test]
    fn a_code_round_trips_and_verifies() {
        let text = code(7, NOW, None);
        let ok = verify(&text, NOW + 20, &RedeemedSerials::default(), None).unwrap();
        assert_eq!((ok.counter, ok.grant.grant(), ok.store_id.as_str()), (7, &till_fields(sample()), "tokyo-01"));
        assert_eq!(ok.grant.bytes(), grant().till_bytes(), "the code carries the till part alone");
        assert_eq!(ok.device_key, device().public_key().unwrap(), "the key comes back uncompressed");
        assert_eq!(ok.device_id, device_id(&device().public_key().unwrap()));
        assert_eq!(ok.device_id.len(), 16);
        let decoded = decode_code(&text).unwrap();
        assert_eq!(encode_code(&decoded.grant_bytes, &decoded.proof).unwrap(), text);
        // Made from the whole grant or from its till part, the code is the same.
        assert_eq!(encode_code(grant().bytes(), &decoded.proof).unwrap(), text);
        let bytes = base45::decode(&text).unwrap();
        assert_eq!(bytes[0], CODE_FORMAT_V2);
        assert_eq!(&bytes[1..34], &compress(&decoded.proof.device_key)[..]);
        assert!(bytes.ends_with(grant().till_bytes()));
    }

    #[test]
    fn compression_round_trips_for_either_parity_and_refuses_what_is_not_a_point() {
        let mut parities = [false; 2];
        for _ in 0..16 {
            let key: [u8; DEVICE_KEY_LEN] =
                SoftwareDeviceSigner::generate().unwrap().0.public_key().unwrap().try_into().unwrap();
            let compressed = compress(&key);
            parities[usize::from(compressed[0] & 1)] = true;
            assert_eq!(decompress(&compressed), Some(key));
        }
        assert_eq!(parities, [true, true], "both y parities were seen");
        let key: [u8; DEVICE_KEY_LEN] = device().public_key().unwrap().try_into().unwrap();
        let mut bad_tag = compress(&key);
        bad_tag[0] = 0x04;
        assert_eq!(decompress(&bad_tag), None);
        // x = p (not reduced) and an x with no point on the curve.
        let mut unreduced = [0xffu8; COMPRESSED_KEY_LEN];
        unreduced[0] = 0x02;
        unreduced[1..5].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        unreduced[5..9].copy_from_slice(&[0, 0, 0, 1]);
        unreduced[9..21].fill(0);
        assert_eq!(decompress(&unreduced), None);
        let off_curve = (0u8..=255)
            .map(|i| {
                let mut k = compress(&key);
                k[32] = i;
                k
            })
            .find(|k| decompress(k).is_none())
            .unwrap();
        assert_eq!(decompress(&off_curve), None);
        let text = code(1, NOW, None);
        let mut bytes = base45::decode(&text).unwrap();
        bytes[1..34].copy_from_slice(&off_curve);
        assert!(matches!(
            verify(&base45::encode(&bytes), NOW, &RedeemedSerials::default(), None),
            Err(RedemptionRefused::Malformed(_))
        ));
    }

    #[test]
    fn tampering_with_any_part_is_refused() {
        let decoded = decode_code(&code(7, NOW, None)).unwrap();
        let fresh = RedeemedSerials::default();
        let mut counter = decoded.proof.clone();
        counter.counter = 8;
        assert_eq!(
            verify(&encode_code(&decoded.grant_bytes, &counter).unwrap(), NOW, &fresh, None),
            Err(RedemptionRefused::BadProof)
        );
        let mut bucket = decoded.proof.clone();
        bucket.time_bucket += 1;
        assert_eq!(
            verify(&encode_code(&decoded.grant_bytes, &bucket).unwrap(), NOW, &fresh, None),
            Err(RedemptionRefused::BadProof)
        );
        let mut signature = decoded.proof.clone();
        signature.signature[10] ^= 1;
        assert_eq!(
            verify(&encode_code(&decoded.grant_bytes, &signature).unwrap(), NOW, &fresh, None),
            Err(RedemptionRefused::BadProof)
        );
        let mut grant_bytes = decoded.grant_bytes.clone();
        grant_bytes[12] ^= 1;
        assert_eq!(
            verify(&encode_code(&grant_bytes, &decoded.proof).unwrap(), NOW, &fresh, None),
            Err(RedemptionRefused::Grant(GrantError::BadSignature))
        );
        // Another device's key with this device's signature.
        let mut other_key = decoded.proof.clone();
        other_key.device_key = SoftwareDeviceSigner::generate().unwrap().0.public_key().unwrap().try_into().unwrap();
        assert_eq!(
            verify(&encode_code(&decoded.grant_bytes, &other_key).unwrap(), NOW, &fresh, None),
            Err(RedemptionRefused::BadProof)
        );
    }

    #[test]
    fn the_till_challenge_must_be_answered() {
        let fresh = RedeemedSerials::default();
        let answered = code(1, NOW, Some(b"till-42:nonce-9"));
        assert!(verify(&answered, NOW, &fresh, Some(b"till-42:nonce-9")).is_ok());
        assert_eq!(verify(&answered, NOW, &fresh, Some(b"till-42:nonce-8")), Err(RedemptionRefused::BadProof));
        assert_eq!(verify(&answered, NOW, &fresh, None), Err(RedemptionRefused::ChallengeMismatch));
        assert_eq!(verify(&code(1, NOW, None), NOW, &fresh, Some(b"x")), Err(RedemptionRefused::ChallengeMismatch));
        assert_eq!(sign_proof(&device(), b"g", 1, NOW, Some(&[0; 33])), Err(PresentError::ChallengeTooLong(33)));
    }

    #[test]
    fn freshness_is_two_minutes_back_and_one_bucket_ahead() {
        let fresh = RedeemedSerials::default();
        let at = time_bucket(NOW) as i64 * BUCKET_SECS; // the start of a bucket
        let text = code(1, at, None);
        assert!(verify(&text, at + MAX_AGE_BUCKETS * BUCKET_SECS + BUCKET_SECS - 1, &fresh, None).is_ok());
        assert!(matches!(
            verify(&text, at + (MAX_AGE_BUCKETS + 1) * BUCKET_SECS, &fresh, None),
            Err(RedemptionRefused::Stale { .. })
        ));
        assert!(verify(&text, at - BUCKET_SECS, &fresh, None).is_ok());
        assert!(matches!(verify(&text, at - BUCKET_SECS - 1, &fresh, None), Err(RedemptionRefused::Stale { .. })));
    }

    #[test]
    fn a_single_use_serial_is_refused_the_second_time_and_a_replay_always() {
        let mut till = RedeemedSerials::default();
        let first = verify(&code(1, NOW, None), NOW, &till, None).unwrap();
        till.record(&first);
        assert_eq!(
            verify(&code(1, NOW, None), NOW, &till, None),
            Err(RedemptionRefused::Replayed { counter: 1, last_seen: 1 })
        );
        assert_eq!(verify(&code(2, NOW, None), NOW, &till, None), Err(RedemptionRefused::AlreadyRedeemed { uses: 1 }));
        // A second phone with the same serial is caught the same way.
        let other_phone = SoftwareDeviceSigner::generate().unwrap().0;
        let text = present_code(&grant(), &other_phone, 1, NOW, None).unwrap();
        assert_eq!(verify(&text, NOW, &till, None), Err(RedemptionRefused::AlreadyRedeemed { uses: 1 }));
    }

    #[test]
    fn validity_and_offline_policy_apply_at_the_till() {
        let fresh = RedeemedSerials::default();
        let end = sample().validity.not_after + 900;
        assert_eq!(verify(&code(1, end, None), end, &fresh, None), Err(RedemptionRefused::Expired));
        let start = sample().validity.not_before - 1;
        assert_eq!(verify(&code(1, start, None), start, &fresh, None), Err(RedemptionRefused::NotYetValid));
        let mut online_only = sample();
        online_only.offline.accepted = false;
        let g = verify_grant(&online_only.sign(&issuer()).unwrap(), &keys(), NOW).unwrap();
        let text = present_code(&g, &device(), 1, NOW, None).unwrap();
        assert_eq!(verify(&text, NOW, &fresh, None), Err(RedemptionRefused::OfflineNotAccepted));
    }

    #[test]
    fn malformed_codes_get_typed_errors() {
        let fresh = RedeemedSerials::default();
        assert!(matches!(verify("not base45!", NOW, &fresh, None), Err(RedemptionRefused::Malformed(_))));
        assert!(matches!(verify("", NOW, &fresh, None), Err(RedemptionRefused::Malformed(_))));
        assert_eq!(verify(&base45::encode(&[9, 0]), NOW, &fresh, None), Err(RedemptionRefused::UnknownVersion(9)));
        // Version 1 never shipped: refused like any other unknown version.
        assert_eq!(verify(&base45::encode(&[1, 0]), NOW, &fresh, None), Err(RedemptionRefused::UnknownVersion(1)));
        // A code must carry exactly the till part: not the whole grant, nothing after it.
        let decoded = decode_code(&code(1, NOW, None)).unwrap();
        let mut whole = base45::decode(&code(1, NOW, None)).unwrap();
        whole.extend_from_slice(&grant().bytes()[grant().till_bytes().len()..]);
        assert!(matches!(verify(&base45::encode(&whole), NOW, &fresh, None), Err(RedemptionRefused::Malformed(_))));
        let mut old_grant = decoded.grant_bytes.clone();
        old_grant[0] = 1;
        let mut bytes = base45::decode(&code(1, NOW, None)).unwrap();
        let at = bytes.len() - old_grant.len();
        bytes[at..].copy_from_slice(&old_grant);
        assert_eq!(
            verify(&base45::encode(&bytes), NOW, &fresh, None),
            Err(RedemptionRefused::Grant(GrantError::UnknownVersion(1)))
        );
        let scanned = format!("{}\r\n", code(1, NOW, None));
        assert!(verify(&scanned, NOW, &fresh, None).is_ok(), "a scanner's line ending is tolerated");
        let long = "0".repeat(MAX_CODE_CHARS + 1);
        assert_eq!(verify(&long, NOW, &fresh, None), Err(RedemptionRefused::TooLarge { len: MAX_CODE_CHARS + 1 }));
        let mut bytes = base45::decode(&code(1, NOW, None)).unwrap();
        bytes.push(0);
        assert!(matches!(verify(&base45::encode(&bytes), NOW, &fresh, None), Err(RedemptionRefused::Malformed(_))));
    }

    struct BrokenSigner;
    impl DeviceSigner for BrokenSigner {
        fn public_key(&self) -> Result<Vec<u8>, DeviceSignerError> {
            Ok(vec![4; 33])
        }
        fn sign(&self, _: &[u8]) -> Result<Vec<u8>, DeviceSignerError> {
            Err(DeviceSignerError("keystore locked".into()))
        }
    }

    #[test]
    fn a_misbehaving_platform_signer_is_a_typed_error() {
        assert_eq!(present_code(&grant(), &BrokenSigner, 1, NOW, None), Err(PresentError::BadPublicKey(33)));
    }
}
