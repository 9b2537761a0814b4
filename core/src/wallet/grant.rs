//! The issuer's signed coupon. A grant is compact canonical bytes in two signed parts: the **till part** — what
//! a till needs to decide, and all a redemption code carries inside its QR code — and the **display part** — the
//! terms reference and the store-local dates, which only the device shows. It is verified against the pinned key
//! set before anything is returned: the only way to hold a [`VerifiedGrant`] is [`verify_grant`].
//!
//! Format version 2 (all integers unsigned LEB128, minimal; strings are a length byte and printable ASCII):
//!
//! ```text
//! till part:
//!   version u8 = 2 | kid str8 | body_len varint | body | till_signature [64]
//!   body = coupon_id str8 | serial str8 | currency [3] (ISO 4217)
//!     | discount: tag u8 (1 percent: basis points | 2 amount: minor units) varint
//!     | eligibility: tag u8 (0 any item | 1 GTINs: count u8, each GTIN-14 as varint | 2 family code str8)
//!     | min_basket varint | stack_group str8 (empty: stacks with anything) | uses_allowed varint
//!     | not_before varint | length varint (not_after − not_before, UTC seconds, end exclusive) | grace_secs varint
//!     | offline: flags u8 (bit 0: accepted offline), max_uses varint, max_value varint (minor units)
//!   till_signature: Ed25519 over "footfall/grant/v2\0" ‖ every byte before it
//! display part (feed and storage only; absent from a code):
//!   terms_ref str8 | local: u8 0 | u8 1, first_day varint, last_day varint (YYYYMMDD), zone str8 (IANA)
//!   | display_signature [64]: Ed25519 over "footfall/grant-display/v2\0" ‖ every byte before it (the whole
//!     till part, its signature included, then the display fields)
//! ```
//!
//! The feed serves both parts and the device stores and verifies both; a code carries the till part alone, which
//! verifies on its own (the returned grant then has an empty `terms_ref` and no local dates:
//! [`VerifiedGrant::has_display_part`]). The display signature covers the till part, so a display part cannot be
//! moved to another grant, and each signature has its own context, so neither passes for the other (or for a key
//! set's). `body_len` lets the verifier find the till signature and check it before it reads the body. A feed
//! entry that is a till part alone still verifies (it then shows no terms or local dates); the feed layer can
//! tell it by [`VerifiedGrant::has_display_part`].
//!
//! Why bytes and not JSON: the signatures must cover exact byte strings, and canonical JSON needs rules (key
//! order, number forms, escapes) that two implementations get subtly different; here a parsed grant re-encodes
//! to the very bytes it came from (checked), and a typical till part is about 130 bytes (its 64-byte signature
//! included) against 400+ as signed JSON.
//! Amounts are integer minor units of `currency`; percentages are basis points. No floats anywhere.

use ring::signature::{UnparsedPublicKey, ED25519};

use super::codec::{is_short_ascii, CodecError, Reader, Writer};
use super::keys::{IssuerSigner, KeySet};
use super::validity::{LocalDate, LocalDates, Validity, ValidityError};

/// The only grant format this build reads. Version 1 (one signature over every field, the whole grant inside a
/// code) never shipped and is refused as [`GrantError::UnknownVersion`].
pub const GRANT_FORMAT_V2: u8 = 2;
/// Largest grant accepted, both parts together (a QR code could not carry more anyway).
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
const GRANT_CONTEXT: &[u8] = b"footfall/grant/v2\0";
const DISPLAY_CONTEXT: &[u8] = b"footfall/grant-display/v2\0";

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

/// A grant whose signature(s) verified against a trusted key, with the exact bytes it came from: both parts (from
/// the feed or storage) or the till part alone (from a redemption code).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiedGrant {
    grant: Grant,
    kid: String,
    bytes: Vec<u8>,
    /// Where the till part ends in `bytes` (`bytes.len()` when there is no display part).
    till_len: usize,
}

impl VerifiedGrant {
    /// The grant. Verified from its till part alone (a code), `terms_ref` is empty and `validity.local` is `None`.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }
    /// The issuer key that signed it.
    pub fn kid(&self) -> &str {
        &self.kid
    }
    /// The signed bytes as verified: both parts as the feed serves and the device stores them, or the till part
    /// alone as a code carries it.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The till part: what a redemption code carries.
    pub fn till_bytes(&self) -> &[u8] {
        &self.bytes[..self.till_len]
    }
    /// Whether the display part (terms reference, local dates) came with it and verified.
    pub fn has_display_part(&self) -> bool {
        self.till_len < self.bytes.len()
    }
    /// SHA-256 of [`VerifiedGrant::till_bytes`]; what a device proof signs.
    pub fn hash(&self) -> [u8; 32] {
        grant_hash(self.till_bytes())
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
    /// The issuer's side: checks the grant and returns its signed bytes, both parts.
    pub fn sign(&self, signer: &IssuerSigner) -> Result<Vec<u8>, GrantError> {
        self.validate()?;
        let mut body = Writer::default();
        self.encode_till_body(&mut body);
        let mut w = Writer::default();
        w.u8(GRANT_FORMAT_V2);
        w.str8(signer.kid());
        w.varint(body.bytes.len() as u64);
        w.raw(&body.bytes);
        w.raw(&signer.sign(&[GRANT_CONTEXT, &w.bytes].concat()));
        self.encode_display(&mut w);
        w.raw(&signer.sign(&[DISPLAY_CONTEXT, &w.bytes].concat()));
        if w.bytes.len() > MAX_GRANT_BYTES {
            return Err(GrantError::TooLarge { len: w.bytes.len() });
        }
        Ok(w.bytes)
    }

    fn encode_till_body(&self, w: &mut Writer) {
        w.str8(&self.coupon_id);
        w.str8(&self.serial);
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
        // Validated: not_before < not_after, both within 1970..=9999.
        w.varint((v.not_after - v.not_before) as u64);
        w.varint(u64::from(v.grace_secs));
        w.u8(u8::from(self.offline.accepted));
        w.varint(u64::from(self.offline.max_uses));
        w.varint(self.offline.max_value_minor);
    }

    fn encode_display(&self, w: &mut Writer) {
        w.str8(&self.terms_ref);
        match &self.validity.local {
            None => w.u8(0),
            Some(local) => {
                w.u8(1);
                w.varint(u64::from(local.first_day.packed()));
                w.varint(u64::from(local.last_day.packed()));
                w.str8(&local.zone);
            }
        }
    }

    /// The till part's body; the display fields are left empty (`terms_ref` "", no local dates).
    fn decode_till_body(r: &mut Reader<'_>) -> Result<Grant, GrantError> {
        let coupon_id = r.str8("coupon_id")?;
        let serial = r.str8("serial")?;
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
        let length = r.varint("validity length")?;
        let not_after = instant((not_before as u64).checked_add(length).ok_or(CodecError::OutOfRange("instant"))?)?;
        let grace_secs = r.varint_u32("grace")?;
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
            terms_ref: String::new(),
            currency,
            discount,
            eligibility,
            min_basket_minor,
            stack_group,
            uses_allowed,
            validity: Validity { not_before, not_after, grace_secs, local: None },
            offline,
        })
    }

    /// The display fields, into a grant read from its till part.
    fn decode_display(&mut self, r: &mut Reader<'_>) -> Result<(), GrantError> {
        self.terms_ref = r.str8("terms_ref")?;
        self.validity.local = match r.u8("local")? {
            0 => None,
            1 => Some(LocalDates {
                first_day: LocalDate::from_packed(r.varint_u32("first_day")?)?,
                last_day: LocalDate::from_packed(r.varint_u32("last_day")?)?,
                zone: r.str8("zone")?,
            }),
            _ => return Err(CodecError::OutOfRange("local flag").into()),
        };
        Ok(())
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

/// Where the till part of `bytes` ends, from its framing alone (version, kid, body length, body, signature):
/// nothing is verified here.
pub(crate) fn till_part_len(bytes: &[u8]) -> Result<usize, GrantError> {
    let version = *bytes.first().ok_or(CodecError::Truncated("version"))?;
    if version != GRANT_FORMAT_V2 {
        return Err(GrantError::UnknownVersion(version));
    }
    let mut r = Reader::new(&bytes[1..]);
    r.str8("kid")?;
    let body_len = usize::try_from(r.varint("till body length")?).unwrap_or(usize::MAX);
    r.take(body_len, "till part")?;
    r.take(SIGNATURE_LEN, "signature")?;
    Ok(1 + r.position())
}

/// Checks `bytes` against `keys` at `now` (UTC seconds) and returns the grant only if everything holds: size,
/// version, a trusted kid valid now, the till part's signature, the display part's (when there is one), then the
/// content. `bytes` is both parts (the feed, storage) or the till part alone (a code). Never panics on any input.
pub fn verify_grant(bytes: &[u8], keys: &KeySet, now: i64) -> Result<VerifiedGrant, GrantError> {
    if bytes.len() > MAX_GRANT_BYTES {
        return Err(GrantError::TooLarge { len: bytes.len() });
    }
    let version = *bytes.first().ok_or(CodecError::Truncated("version"))?;
    if version != GRANT_FORMAT_V2 {
        return Err(GrantError::UnknownVersion(version));
    }
    let mut r = Reader::new(&bytes[1..]);
    let kid = r.str8("kid")?;
    let key = match keys.key_valid_at(&kid, now) {
        None => return Err(GrantError::UnknownKey(kid)),
        Some(Err(())) => return Err(GrantError::KeyNotValid(kid)),
        Some(Ok(key)) => key,
    };
    let body_len = usize::try_from(r.varint("till body length")?).unwrap_or(usize::MAX);
    let body = r.take(body_len, "till part")?;
    let till_signature = r.take(SIGNATURE_LEN, "signature")?;
    let till_len = 1 + r.position();
    let issuer = UnparsedPublicKey::new(&ED25519, key.public_key);
    let signed_by_issuer = |context: &[u8], signed: &[u8], signature: &[u8]| {
        issuer.verify(&[context, signed].concat(), signature).map_err(|_| GrantError::BadSignature)
    };
    signed_by_issuer(GRANT_CONTEXT, &bytes[..till_len - SIGNATURE_LEN], till_signature)?;
    let display = if till_len == bytes.len() {
        None
    } else {
        let signed_len = bytes
            .len()
            .checked_sub(SIGNATURE_LEN)
            .filter(|n| *n > till_len)
            .ok_or(CodecError::Truncated("display signature"))?;
        signed_by_issuer(DISPLAY_CONTEXT, &bytes[..signed_len], &bytes[signed_len..])?;
        Some(&bytes[till_len..signed_len])
    };

    let mut body_reader = Reader::new(body);
    let mut grant = Grant::decode_till_body(&mut body_reader)?;
    body_reader.finish()?;
    if let Some(display) = display {
        let mut display_reader = Reader::new(display);
        grant.decode_display(&mut display_reader)?;
        display_reader.finish()?;
    }
    grant.validate()?;
    // One grant, one byte form: a signed but non-canonical spelling (an issuer bug) is refused, not guessed at.
    let mut again = Writer::default();
    grant.encode_till_body(&mut again);
    let mut display_again = Writer::default();
    if display.is_some() {
        grant.encode_display(&mut display_again);
    }
    if again.bytes != body || display_again.bytes != display.unwrap_or_default() {
        return Err(GrantError::Invalid("not in canonical form".into()));
    }
    Ok(VerifiedGrant { grant, kid, bytes: bytes.to_vec(), till_len })
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

    /// What a grant verified from its till part alone (a code) reads as: the display fields left empty.
    pub(crate) fn till_fields(mut grant: Grant) -> Grant {
        grant.terms_ref.clear();
        grant.validity.local = None;
        grant
    }

    #[test]
    fn a_signed_grant_verifies_to_the_same_grant() {
        let bytes = sample().sign(&issuer()).unwrap();
        let verified = verify_grant(&bytes, &keys(), NOW).unwrap();
        assert_eq!(verified.grant(), &sample());
        assert_eq!(verified.kid(), "k1");
        assert_eq!(verified.bytes(), &bytes[..]);
        assert!(verified.has_display_part());
        assert!(
            verified.till_bytes().len() <= 130,
            "a typical till part stays compact: {}",
            verified.till_bytes().len()
        );
        assert_eq!(till_part_len(&bytes), Ok(verified.till_bytes().len()));
    }

    #[test]
    fn the_till_part_verifies_alone_without_the_display_fields() {
        let full = verify_grant(&sample().sign(&issuer()).unwrap(), &keys(), NOW).unwrap();
        let till = verify_grant(full.till_bytes(), &keys(), NOW).unwrap();
        assert_eq!(till.grant(), &till_fields(sample()));
        assert_eq!((till.bytes(), till.till_bytes()), (full.till_bytes(), full.till_bytes()));
        assert!(!till.has_display_part());
        assert_eq!(till.hash(), full.hash(), "a proof signs the till part, whichever form the grant was read in");
        // A display part does not attach to another grant: its signature covers the till part it came with.
        let mut other_serial = sample();
        other_serial.serial = "s-other".into();
        let foreign = other_serial.sign(&issuer()).unwrap();
        let mut moved = foreign[..till_part_len(&foreign).unwrap()].to_vec();
        moved.extend_from_slice(&full.bytes()[full.till_bytes().len()..]);
        assert_eq!(verify_grant(&moved, &keys(), NOW), Err(GrantError::BadSignature));
        // A cut display part, or a display signature with no display fields.
        let mut truncated = full.bytes().to_vec();
        truncated.truncate(full.bytes().len() - 1);
        assert_eq!(verify_grant(&truncated, &keys(), NOW), Err(GrantError::BadSignature));
        let mut bare = full.till_bytes().to_vec();
        bare.extend_from_slice(&full.bytes()[full.bytes().len() - SIGNATURE_LEN..]);
        assert!(matches!(verify_grant(&bare, &keys(), NOW), Err(GrantError::Malformed(_))));
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let bytes = sample().sign(&issuer()).unwrap();
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 0x01;
            let err = verify_grant(&altered, &keys(), NOW).unwrap_err();
            let expected_kind = match i {
                0 => matches!(err, GrantError::UnknownVersion(3)),
                1 => matches!(err, GrantError::Malformed(_) | GrantError::UnknownKey(_)),
                2 | 3 => matches!(err, GrantError::UnknownKey(_)),
                // The till body's length: the till signature is then looked for elsewhere.
                4 => matches!(err, GrantError::Malformed(_) | GrantError::BadSignature),
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
    fn malformed_old_and_oversized_bytes_get_typed_errors() {
        assert!(matches!(verify_grant(&[], &keys(), NOW), Err(GrantError::Malformed(_))));
        assert!(matches!(verify_grant(&[2, 2], &keys(), NOW), Err(GrantError::Malformed(_))));
        // Version 1 never shipped: refused like any other unknown version.
        assert_eq!(verify_grant(&[1; 80], &keys(), NOW), Err(GrantError::UnknownVersion(1)));
        assert_eq!(verify_grant(&[3; 80], &keys(), NOW), Err(GrantError::UnknownVersion(3)));
        assert_eq!(verify_grant(&[2; 600], &keys(), NOW), Err(GrantError::TooLarge { len: 600 }));
        assert_eq!(till_part_len(&[1, 2]), Err(GrantError::UnknownVersion(1)));
        assert!(matches!(till_part_len(&[2, 2, b'k', b'1', 5, 0]), Err(GrantError::Malformed(_))));
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
        g.validity.not_after = g.validity.not_before;
        assert!(matches!(g.sign(&signer), Err(GrantError::Invalid(_))));
        let mut g = sample();
        g.coupon_id = "a b".into();
        assert!(matches!(g.sign(&signer), Err(GrantError::Invalid(_))));
    }

    /// Signs `body` (a till body) and, when given, `display` (display fields) as the issuer would.
    fn sign_parts(signer: &IssuerSigner, body: &[u8], display: Option<&[u8]>) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(GRANT_FORMAT_V2);
        w.str8(signer.kid());
        w.varint(body.len() as u64);
        w.raw(body);
        w.raw(&signer.sign(&[GRANT_CONTEXT, &w.bytes].concat()));
        if let Some(display) = display {
            w.raw(display);
            w.raw(&signer.sign(&[DISPLAY_CONTEXT, &w.bytes].concat()));
        }
        w.bytes
    }

    #[test]
    fn neither_signature_passes_for_the_other() {
        let signer = issuer();
        let (mut body, mut display) = (Writer::default(), Writer::default());
        sample().encode_till_body(&mut body);
        sample().encode_display(&mut display);
        let mut head = Writer::default();
        head.u8(GRANT_FORMAT_V2);
        head.str8(signer.kid());
        head.varint(body.bytes.len() as u64);
        head.raw(&body.bytes);
        // The till part signed under the display context.
        let mut till = head.bytes.clone();
        till.extend_from_slice(&signer.sign(&[DISPLAY_CONTEXT, &head.bytes].concat()));
        assert_eq!(verify_grant(&till, &keys(), NOW), Err(GrantError::BadSignature));
        // A genuine till part, its display part signed under the till context.
        let mut genuine = head.bytes.clone();
        genuine.extend_from_slice(&signer.sign(&[GRANT_CONTEXT, &head.bytes].concat()));
        assert!(verify_grant(&genuine, &keys(), NOW).is_ok());
        genuine.extend_from_slice(&display.bytes);
        let signature = signer.sign(&[GRANT_CONTEXT, &genuine].concat());
        genuine.extend_from_slice(&signature);
        assert_eq!(verify_grant(&genuine, &keys(), NOW), Err(GrantError::BadSignature));
        assert_eq!(sign_parts(&signer, &body.bytes, Some(&display.bytes)), sample().sign(&signer).unwrap());
    }

    /// Random bytes rarely get past the signature, so this pass signs mutated bodies and display fields with the
    /// trusted key: the parser behind the signatures (reached only by an issuer's bytes) must refuse or round-trip
    /// them too.
    #[test]
    fn signed_garbage_is_refused_or_read_back_exactly() {
        let signer = issuer();
        let (mut body, mut display) = (Writer::default(), Writer::default());
        sample().encode_till_body(&mut body);
        sample().encode_display(&mut display);
        let mut rng = fastrand::Rng::with_seed(31);
        let mutate = |rng: &mut fastrand::Rng, genuine: &[u8]| -> Vec<u8> {
            let mut b: Vec<u8> = if rng.u8(0..10) == 0 {
                (0..rng.usize(0..200)).map(|_| rng.u8(..)).collect()
            } else {
                genuine.to_vec()
            };
            for _ in 0..rng.usize(0..3) {
                let at = rng.usize(0..=b.len());
                match rng.u8(0..3) {
                    0 if at < b.len() => b[at] = rng.u8(..),
                    1 => b.truncate(at),
                    _ => b.insert(at, rng.u8(0..4)),
                }
            }
            b
        };
        let (mut read, mut refused) = (0, 0);
        for i in 0..5_000 {
            let b = if i % 2 == 0 { mutate(&mut rng, &body.bytes) } else { body.bytes.clone() };
            let d = match i % 4 {
                0 => None,
                1 | 2 => Some(mutate(&mut rng, &display.bytes)),
                _ => Some(display.bytes.clone()),
            };
            let signed = sign_parts(&signer, &b, d.as_deref());
            match verify_grant(&signed, &keys(), NOW) {
                Ok(g) => {
                    read += 1;
                    g.grant().validate().unwrap();
                    let (mut b_again, mut d_again) = (Writer::default(), Writer::default());
                    g.grant().encode_till_body(&mut b_again);
                    assert_eq!(b_again.bytes, b);
                    if let Some(d) = d {
                        g.grant().encode_display(&mut d_again);
                        assert_eq!(d_again.bytes, d);
                    }
                }
                Err(GrantError::Malformed(_) | GrantError::Invalid(_) | GrantError::TooLarge { .. }) => refused += 1,
                Err(other) => panic!("a correctly signed grant refused for {other:?}"),
            }
        }
        assert!(read > 500 && refused > 500, "{read} read, {refused} refused");
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
