//! The issuer's signed coupon. A grant is compact canonical bytes — a redemption code carries it whole, inside a
//! QR code — and is verified against the pinned key set before anything is returned: the only way to hold a
//! [`VerifiedGrant`] is [`verify_grant`].
//!
//! Format version 1 (all integers unsigned LEB128, minimal; strings are a length byte and printable ASCII):
//!
//! ```text
//! version u8 = 1 | kid str8 | coupon_id str8 | serial str8 | terms_ref str8 | currency [3] (ISO 4217)
//! | discount: tag u8 (1 percent: basis points | 2 amount: minor units) varint
//! | eligibility: tag u8 (0 any item | 1 GTINs: count u8, each GTIN-14 as varint | 2 family code str8)
//! | min_basket varint | stack_group str8 (empty: stacks with anything) | uses_allowed varint
//! | not_before varint | not_after varint (UTC seconds, end exclusive) | grace_secs varint
//! | local: u8 0 | u8 1, first_day varint, last_day varint (YYYYMMDD), zone str8 (IANA)
//! | offline: flags u8 (bit 0: accepted offline), max_uses varint, max_value varint (minor units)
//! | signature [64]: Ed25519 over "footfall/grant/v1\0" ‖ every byte before it
//! ```
//!
//! Why bytes and not JSON: the signature must cover an exact byte string, and canonical JSON needs rules (key
//! order, number forms, escapes) that two implementations get subtly different; here a parsed grant re-encodes
//! to the very bytes it came from (checked), and a typical grant is about 160 bytes (a 64-byte signature included)
//! against 400+ as signed JSON.
//! Amounts are integer minor units of `currency`; percentages are basis points. No floats anywhere.

use ring::signature::{UnparsedPublicKey, ED25519};

use super::codec::{is_short_ascii, CodecError, Reader, Writer};
use super::keys::{IssuerSigner, KeySet};
use super::validity::{LocalDate, LocalDates, Validity, ValidityError};

/// The only grant format this build reads.
pub const GRANT_FORMAT_V1: u8 = 1;
/// Largest grant accepted (a QR code could not carry more anyway).
pub const MAX_GRANT_BYTES: usize = 512;
/// Most GTINs a grant may list; beyond that the issuer uses a family code.
pub const MAX_GTINS: usize = 16;
/// Longest coupon id, serial and terms reference.
pub const MAX_ID_LEN: usize = 32;
/// Longest stack group, family code.
pub const MAX_CODE_LEN: usize = 16;
/// Longest IANA zone name.
pub const MAX_ZONE_LEN: usize = 40;
const SIGNATURE_LEN: usize = 64;
const GRANT_CONTEXT: &[u8] = b"footfall/grant/v1\0";

/// A GS1 trade item number, held as its GTIN-14 value so GTIN-8/12/13 spellings of one item compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gtin(u64);

impl Gtin {
    /// Parses 8, 12, 13 or 14 digits with a correct GS1 check digit.
    pub fn parse(text: &str) -> Result<Self, GrantError> {
        let bad = || GrantError::Invalid(format!("'{}' is not a GTIN", text.chars().take(20).collect::<String>()));
        if ![8, 12, 13, 14].contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let value: u64 = text.parse().map_err(|_| bad())?;
        let gtin = Gtin(value);
        if gtin.has_valid_check_digit() {
            Ok(gtin)
        } else {
            Err(bad())
        }
    }

    fn has_valid_check_digit(self) -> bool {
        if self.0 >= 100_000_000_000_000 {
            return false;
        }
        let mut rest = self.0 / 10;
        let mut sum = 0;
        // From the right, excluding the check digit, weights alternate 3, 1, 3, ...
        for position in 0..13 {
            sum += (rest % 10) * if position % 2 == 0 { 3 } else { 1 };
            rest /= 10;
        }
        (10 - sum % 10) % 10 == self.0 % 10
    }

    /// The 14-digit form.
    pub fn as_gtin14(&self) -> String {
        format!("{:014}", self.0)
    }
}

/// What the coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Discount {
    /// Of the eligible items' value, in basis points (1000 = 10 %), rounded down to the minor unit.
    Percent { basis_points: u16 },
    /// A fixed amount in minor units of the grant's currency, never more than the eligible items' value.
    Amount { minor: u64 },
}

/// Which items the discount applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Eligibility {
    AnyItem,
    Gtins(Vec<Gtin>),
    /// A product family code, as the basket lines carry it.
    Family(String),
}

/// What the device and the till may do with no connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OfflinePolicy {
    /// May it be redeemed while the device (or till) cannot reach the issuer?
    pub accepted: bool,
    /// Most offline redemptions before the device syncs again.
    pub max_uses: u32,
    /// Most discount value (minor units) redeemed offline before the device syncs again.
    pub max_value_minor: u64,
}

/// A coupon as the issuer states it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grant {
    pub coupon_id: String,
    /// One per (coupon, shopper): the unit of single use and of double-spend detection.
    pub serial: String,
    /// Where the title and terms live (the app resolves it); may be empty.
    pub terms_ref: String,
    /// ISO 4217 code, upper case (`JPY`).
    pub currency: String,
    pub discount: Discount,
    pub eligibility: Eligibility,
    /// Least basket total (minor units) for the coupon to apply.
    pub min_basket_minor: u64,
    /// At most one coupon of a group applies to a basket; `None` stacks with anything.
    pub stack_group: Option<String>,
    pub uses_allowed: u32,
    pub validity: Validity,
    pub offline: OfflinePolicy,
}

/// A grant whose signature verified against a trusted key, with the exact bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiedGrant {
    grant: Grant,
    kid: String,
    bytes: Vec<u8>,
}

impl VerifiedGrant {
    pub fn grant(&self) -> &Grant {
        &self.grant
    }
    /// The issuer key that signed it.
    pub fn kid(&self) -> &str {
        &self.kid
    }
    /// The signed bytes, as stored and as a redemption code carries them.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// SHA-256 of [`VerifiedGrant::bytes`]; what a device proof signs.
    pub fn hash(&self) -> [u8; 32] {
        grant_hash(&self.bytes)
    }
}

/// The terms reference that binds a coupon's display document (`{"title":…,"terms":…}` as UTF-8 JSON) to its
/// signed grant: `d` + base64url of the first 12 bytes of its SHA-256. The feed carries the document unsigned;
/// the device shows it only when this matches the grant's `terms_ref`, so the title is as trusted as the grant.
pub fn display_terms_ref(display: &[u8]) -> String {
    use base64::Engine;
    let hash = grant_hash(display);
    format!("d{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&hash[..12]))
}

pub(crate) fn grant_hash(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

/// Why grant bytes were refused. Nothing of a refused grant is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("grant is {len} bytes; the limit is {MAX_GRANT_BYTES}")]
    TooLarge { len: usize },
    #[error("grant bytes are malformed: {0}")]
    Malformed(#[from] CodecError),
    #[error("grant format version {0} is not supported")]
    UnknownVersion(u8),
    #[error("grant is signed by key '{0}', which is not in the trusted key set")]
    UnknownKey(String),
    #[error("grant is signed by key '{0}', which is not valid now")]
    KeyNotValid(String),
    #[error("grant signature does not verify")]
    BadSignature,
    #[error("grant is signed but its content is invalid: {0}")]
    Invalid(String),
}

impl From<ValidityError> for GrantError {
    fn from(e: ValidityError) -> Self {
        GrantError::Invalid(e.to_string())
    }
}

impl Grant {
    /// The issuer's side: checks the grant and returns its signed bytes.
    pub fn sign(&self, signer: &IssuerSigner) -> Result<Vec<u8>, GrantError> {
        self.validate()?;
        let mut w = Writer::default();
        w.u8(GRANT_FORMAT_V1);
        w.str8(signer.kid());
        self.encode_body(&mut w);
        let mut message = GRANT_CONTEXT.to_vec();
        message.extend_from_slice(&w.bytes);
        w.raw(&signer.sign(&message));
        if w.bytes.len() > MAX_GRANT_BYTES {
            return Err(GrantError::TooLarge { len: w.bytes.len() });
        }
        Ok(w.bytes)
    }

    fn encode_body(&self, w: &mut Writer) {
        w.str8(&self.coupon_id);
        w.str8(&self.serial);
        w.str8(&self.terms_ref);
        w.raw(self.currency.as_bytes());
        match self.discount {
            Discount::Percent { basis_points } => {
                w.u8(1);
                w.varint(u64::from(basis_points));
            }
            Discount::Amount { minor } => {
                w.u8(2);
                w.varint(minor);
            }
        }
        match &self.eligibility {
            Eligibility::AnyItem => w.u8(0),
            Eligibility::Gtins(gtins) => {
                w.u8(1);
                w.u8(gtins.len() as u8);
                gtins.iter().for_each(|g| w.varint(g.0));
            }
            Eligibility::Family(code) => {
                w.u8(2);
                w.str8(code);
            }
        }
        w.varint(self.min_basket_minor);
        w.str8(self.stack_group.as_deref().unwrap_or(""));
        w.varint(u64::from(self.uses_allowed));
        let v = &self.validity;
        w.varint(v.not_before as u64);
        w.varint(v.not_after as u64);
        w.varint(u64::from(v.grace_secs));
        match &v.local {
            None => w.u8(0),
            Some(local) => {
                w.u8(1);
                w.varint(u64::from(local.first_day.packed()));
                w.varint(u64::from(local.last_day.packed()));
                w.str8(&local.zone);
            }
        }
        w.u8(u8::from(self.offline.accepted));
        w.varint(u64::from(self.offline.max_uses));
        w.varint(self.offline.max_value_minor);
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Grant, GrantError> {
        let coupon_id = r.str8("coupon_id")?;
        let serial = r.str8("serial")?;
        let terms_ref = r.str8("terms_ref")?;
        let currency = String::from_utf8_lossy(&r.array::<3>("currency")?).into_owned();
        let discount = match r.u8("discount")? {
            1 => Discount::Percent {
                basis_points: u16::try_from(r.varint("percent")?).map_err(|_| CodecError::OutOfRange("percent"))?,
            },
            2 => Discount::Amount { minor: r.varint("amount")? },
            _ => return Err(CodecError::OutOfRange("discount kind").into()),
        };
        let eligibility = match r.u8("eligibility")? {
            0 => Eligibility::AnyItem,
            1 => {
                let count = usize::from(r.u8("gtin count")?);
                if count > MAX_GTINS {
                    return Err(CodecError::OutOfRange("gtin count").into());
                }
                Eligibility::Gtins((0..count).map(|_| r.varint("gtin").map(Gtin)).collect::<Result<_, _>>()?)
            }
            2 => Eligibility::Family(r.str8("family")?),
            _ => return Err(CodecError::OutOfRange("eligibility kind").into()),
        };
        let min_basket_minor = r.varint("min_basket")?;
        let stack_group = Some(r.str8("stack_group")?).filter(|g| !g.is_empty());
        let uses_allowed = r.varint_u32("uses_allowed")?;
        let not_before = instant(r.varint("not_before")?)?;
        let not_after = instant(r.varint("not_after")?)?;
        let grace_secs = r.varint_u32("grace")?;
        let local = match r.u8("local")? {
            0 => None,
            1 => Some(LocalDates {
                first_day: LocalDate::from_packed(r.varint_u32("first_day")?)?,
                last_day: LocalDate::from_packed(r.varint_u32("last_day")?)?,
                zone: r.str8("zone")?,
            }),
            _ => return Err(CodecError::OutOfRange("local flag").into()),
        };
        let accepted = match r.u8("offline flags")? {
            0 => false,
            1 => true,
            _ => return Err(CodecError::OutOfRange("offline flags").into()),
        };
        let offline = OfflinePolicy {
            accepted,
            max_uses: r.varint_u32("offline max_uses")?,
            max_value_minor: r.varint("offline max_value")?,
        };
        Ok(Grant {
            coupon_id,
            serial,
            terms_ref,
            currency,
            discount,
            eligibility,
            min_basket_minor,
            stack_group,
            uses_allowed,
            validity: Validity { not_before, not_after, grace_secs, local },
            offline,
        })
    }

    /// The rules a grant must meet on both sides: what the issuer may sign and what a device accepts.
    pub fn validate(&self) -> Result<(), GrantError> {
        let invalid = |what: &str| Err(GrantError::Invalid(what.to_string()));
        if self.coupon_id.is_empty() || !is_short_ascii(&self.coupon_id, MAX_ID_LEN) {
            return invalid("coupon_id must be 1-32 printable ASCII characters");
        }
        if self.serial.is_empty() || !is_short_ascii(&self.serial, MAX_ID_LEN) {
            return invalid("serial must be 1-32 printable ASCII characters");
        }
        if !is_short_ascii(&self.terms_ref, MAX_ID_LEN) {
            return invalid("terms_ref must be at most 32 printable ASCII characters");
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return invalid("currency must be an ISO 4217 code (three upper-case letters)");
        }
        match self.discount {
            Discount::Percent { basis_points } if !(1..=10_000).contains(&basis_points) => {
                return invalid("a percentage is 1-10000 basis points")
            }
            Discount::Amount { minor: 0 } => return invalid("a fixed discount is above zero"),
            _ => {}
        }
        match &self.eligibility {
            Eligibility::Gtins(gtins) if gtins.is_empty() || gtins.len() > MAX_GTINS => {
                return invalid("a GTIN list holds 1-16 GTINs")
            }
            Eligibility::Gtins(gtins) if !gtins.iter().all(|g| g.has_valid_check_digit()) => {
                return invalid("a listed GTIN has a wrong check digit")
            }
            Eligibility::Family(code) if code.is_empty() || !is_short_ascii(code, MAX_CODE_LEN) => {
                return invalid("a family code is 1-16 printable ASCII characters")
            }
            _ => {}
        }
        if self.stack_group.as_ref().is_some_and(|g| g.is_empty() || !is_short_ascii(g, MAX_CODE_LEN)) {
            return invalid("a stack group is 1-16 printable ASCII characters");
        }
        if self.uses_allowed == 0 {
            return invalid("uses_allowed is at least 1");
        }
        if self.validity.not_before < 0 || self.validity.not_after > LATEST_INSTANT {
            return invalid("validity must lie between 1970 and 9999");
        }
        if let Some(local) = &self.validity.local {
            if local.zone.is_empty() || !is_short_ascii(&local.zone, MAX_ZONE_LEN) {
                return invalid("zone must be an IANA zone name");
            }
        }
        self.validity.clone().validated()?;
        Ok(())
    }
}

// 10000-01-01T00:00:00Z. Later is a mistake, and the bound keeps time arithmetic far from overflow.
const LATEST_INSTANT: i64 = 253_402_300_800;

fn instant(seconds: u64) -> Result<i64, CodecError> {
    if seconds > LATEST_INSTANT as u64 {
        return Err(CodecError::OutOfRange("instant"));
    }
    Ok(seconds as i64)
}

/// Checks `bytes` against `keys` at `now` (UTC seconds) and returns the grant only if everything holds: size,
/// version, a trusted kid valid now, the signature, then the content. Never panics on any input.
pub fn verify_grant(bytes: &[u8], keys: &KeySet, now: i64) -> Result<VerifiedGrant, GrantError> {
    if bytes.len() > MAX_GRANT_BYTES {
        return Err(GrantError::TooLarge { len: bytes.len() });
    }
    let version = *bytes.first().ok_or(CodecError::Truncated("version"))?;
    if version != GRANT_FORMAT_V1 {
        return Err(GrantError::UnknownVersion(version));
    }
    let signed_len =
        bytes.len().checked_sub(SIGNATURE_LEN).filter(|n| *n > 1).ok_or(CodecError::Truncated("signature"))?;
    let (signed, signature) = bytes.split_at(signed_len);
    let mut r = Reader::new(&signed[1..]);
    let kid = r.str8("kid")?;
    let key = match keys.key_valid_at(&kid, now) {
        None => return Err(GrantError::UnknownKey(kid)),
        Some(Err(())) => return Err(GrantError::KeyNotValid(kid)),
        Some(Ok(key)) => key,
    };
    let mut message = Vec::with_capacity(GRANT_CONTEXT.len() + signed.len());
    message.extend_from_slice(GRANT_CONTEXT);
    message.extend_from_slice(signed);
    UnparsedPublicKey::new(&ED25519, key.public_key)
        .verify(&message, signature)
        .map_err(|_| GrantError::BadSignature)?;

    let body_start = 1 + r.position();
    let grant = Grant::decode_body(&mut r)?;
    r.finish()?;
    grant.validate()?;
    // One grant, one byte form: a signed but non-canonical spelling (an issuer bug) is refused, not guessed at.
    let mut again = Writer::default();
    grant.encode_body(&mut again);
    if again.bytes != signed[body_start..] {
        return Err(GrantError::Invalid("not in canonical form".into()));
    }
    Ok(VerifiedGrant { grant, kid, bytes: bytes.to_vec() })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const NOW: i64 = 1_798_000_000; // 2026-12-23T04:26:40Z

    pub(crate) fn issuer() -> IssuerSigner {
        IssuerSigner::from_seed("k1", &[7; 32]).unwrap()
    }

    pub(crate) fn keys() -> KeySet {
        KeySet::new(1, vec![issuer().issuer_key(0, None)]).unwrap()
    }

    pub(crate) fn sample() -> Grant {
        Grant {
            coupon_id: "xmas10".into(),
            serial: "s-7f3a9c21".into(),
            terms_ref: "t/xmas10".into(),
            currency: "JPY".into(),
            discount: Discount::Percent { basis_points: 1000 },
            eligibility: Eligibility::Gtins(vec![Gtin::parse("4901234567894").unwrap()]),
            min_basket_minor: 1000,
            stack_group: Some("seasonal".into()),
            uses_allowed: 1,
            validity: Validity::from_local_dates(
                LocalDates {
                    first_day: LocalDate::parse("2026-12-01").unwrap(),
                    last_day: LocalDate::parse("2026-12-24").unwrap(),
                    zone: "Asia/Tokyo".into(),
                },
                900,
            )
            .unwrap(),
            offline: OfflinePolicy { accepted: true, max_uses: 1, max_value_minor: 5000 },
        }
    }

    #[test]
    fn a_signed_grant_verifies_to_the_same_grant() {
        let bytes = sample().sign(&issuer()).unwrap();
        let verified = verify_grant(&bytes, &keys(), NOW).unwrap();
        assert_eq!(verified.grant(), &sample());
        assert_eq!(verified.kid(), "k1");
        assert_eq!(verified.bytes(), &bytes[..]);
        assert!(bytes.len() <= 160, "a typical grant stays compact: {} bytes", bytes.len());
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let bytes = sample().sign(&issuer()).unwrap();
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 0x01;
            let err = verify_grant(&altered, &keys(), NOW).unwrap_err();
            let expected_kind = match i {
                0 => matches!(err, GrantError::UnknownVersion(0)),
                1 => matches!(err, GrantError::Malformed(_) | GrantError::UnknownKey(_)),
                2 | 3 => matches!(err, GrantError::UnknownKey(_)),
                _ => matches!(err, GrantError::BadSignature),
            };
            assert!(expected_kind, "byte {i}: {err:?}");
        }
    }

    #[test]
    fn unknown_or_retired_keys_are_refused() {
        let bytes = sample().sign(&IssuerSigner::from_seed("k9", &[9; 32]).unwrap()).unwrap();
        assert_eq!(verify_grant(&bytes, &keys(), NOW), Err(GrantError::UnknownKey("k9".into())));
        let retired = KeySet::new(1, vec![issuer().issuer_key(0, Some(NOW))]).unwrap();
        let bytes = sample().sign(&issuer()).unwrap();
        assert_eq!(verify_grant(&bytes, &retired, NOW), Err(GrantError::KeyNotValid("k1".into())));
    }

    #[test]
    fn malformed_and_oversized_bytes_get_typed_errors() {
        assert!(matches!(verify_grant(&[], &keys(), NOW), Err(GrantError::Malformed(_))));
        assert!(matches!(verify_grant(&[1, 2], &keys(), NOW), Err(GrantError::Malformed(_))));
        assert_eq!(verify_grant(&[2; 80], &keys(), NOW), Err(GrantError::UnknownVersion(2)));
        assert_eq!(verify_grant(&[1; 600], &keys(), NOW), Err(GrantError::TooLarge { len: 600 }));
    }

    #[test]
    fn the_issuer_cannot_sign_an_invalid_grant() {
        let signer = issuer();
        let mut g = sample();
        g.currency = "yen".into();
        assert!(matches!(g.sign(&signer), Err(GrantError::Invalid(_))));
        let mut g = sample();
        g.discount = Discount::Percent { basis_points: 10_001 };
        assert!(matches!(g.sign(&signer), Err(GrantError::Invalid(_))));
        let mut g = sample();
        g.uses_allowed = 0;
        assert!(matches!(g.sign(&signer), Err(GrantError::Invalid(_))));
        let mut g = sample();
        g.eligibility = Eligibility::Gtins(vec![Gtin(4901234567895)]);
        assert!(matches!(g.sign(&signer), Err(GrantError::Invalid(_))));
        let mut g = sample();
        g.validity.not_after = i64::MAX;
        assert!(matches!(g.sign(&signer), Err(GrantError::Invalid(_))));
        let mut g = sample();
        g.coupon_id = "a b".into();
        assert!(matches!(g.sign(&signer), Err(GrantError::Invalid(_))));
    }

    /// Random bytes rarely get past the signature, so this pass signs mutated bodies with the trusted key: the
    /// parser behind the signature (reached only by an issuer's bytes) must refuse or round-trip them too.
    #[test]
    fn signed_garbage_is_refused_or_read_back_exactly() {
        let signer = issuer();
        let genuine = sample().sign(&signer).unwrap();
        let body = genuine[4..genuine.len() - SIGNATURE_LEN].to_vec(); // after version and kid "k1"
        let mut rng = fastrand::Rng::with_seed(31);
        let (mut read, mut refused) = (0, 0);
        for i in 0..5_000 {
            let mut b = if i % 10 == 0 { (0..rng.usize(0..200)).map(|_| rng.u8(..)).collect() } else { body.clone() };
            for _ in 0..rng.usize(0..3) {
                let at = rng.usize(0..=b.len());
                match rng.u8(0..3) {
                    0 if at < b.len() => b[at] = rng.u8(..),
                    1 => b.truncate(at),
                    _ => b.insert(at, rng.u8(0..4)),
                }
            }
            let mut signed = vec![GRANT_FORMAT_V1, 2, b'k', b'1'];
            signed.extend_from_slice(&b);
            let mut message = GRANT_CONTEXT.to_vec();
            message.extend_from_slice(&signed);
            signed.extend_from_slice(&signer.sign(&message));
            match verify_grant(&signed, &keys(), NOW) {
                Ok(g) => {
                    read += 1;
                    g.grant().validate().unwrap();
                    let mut again = Writer::default();
                    g.grant().encode_body(&mut again);
                    assert_eq!(again.bytes, b);
                }
                Err(GrantError::Malformed(_) | GrantError::Invalid(_) | GrantError::TooLarge { .. }) => refused += 1,
                Err(other) => panic!("a correctly signed grant refused for {other:?}"),
            }
        }
        assert!(read > 50 && refused > 500, "{read} read, {refused} refused");
    }

    #[test]
    fn gtins_accept_every_gs1_length_and_check_the_check_digit() {
        assert_eq!(Gtin::parse("4901234567894").unwrap().as_gtin14(), "04901234567894");
        assert_eq!(Gtin::parse("04901234567894"), Gtin::parse("4901234567894"));
        assert!(Gtin::parse("96385074").is_ok()); // GTIN-8
        assert!(Gtin::parse("036000291452").is_ok()); // UPC-A
        assert!(Gtin::parse("4901234567895").is_err());
        assert!(Gtin::parse("49012345678").is_err());
        assert!(Gtin::parse("490123456789x").is_err());
    }
}
