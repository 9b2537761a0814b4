//! Reader for IAB TCF v2.2 TC strings: what a CMP (OneTrust, Didomi, …) already decided, so Footfall reads it
//! instead of fighting it. Layout: DESIGN-NOTES §3; the IAB's `@iabtcf/core` is the oracle for the tests
//! (`tests/tcf-vectors`).
//!
//! [`decode`] is lenient where real strings break the spec's own rules — Created ≠ LastUpdated, duplicated ids in
//! a range list (merged), a missing DisclosedVendors segment, unknown segment types (kept opaque) — and records
//! each such oddity in [`TcString::warnings`]. It rejects what cannot be read safely: a version other than 2,
//! a read past the end, a bitfield shorter than its MaxVendorId, a repeated segment type, a character outside
//! base64url, a publisher restriction range that ends before it starts. Trailing `=` padding is accepted.
//!
//! Raw bits are kept for audit; the query helpers ([`TcString::purpose_li`], …) apply the validity rules.
//! Decoding never panics, never recurses, and allocates in proportion to the input (a range entry is stored as
//! a range, never expanded).

mod bits;
mod flags;
mod segments;
mod vendors;

use serde::{Serialize, Serializer};

pub use flags::Flags;
pub use vendors::{VendorEncoding, VendorIds, VendorSection};

/// Why a TC string was rejected; each message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TcfError {
    #[error("the TC string is empty")]
    Empty,
    #[error("segment {index} is empty")]
    EmptySegment { index: usize },
    /// `position` counts characters from 0 over the whole string.
    #[error("invalid character {character:?} at position {position} (base64url expected)")]
    InvalidCharacter { position: usize, character: char },
    #[error("unsupported TC string version {0} (only version 2 is read)")]
    UnsupportedVersion(u8),
    #[error("the {segment} segment ends inside {field}")]
    Truncated { segment: Segment, field: &'static str },
    #[error("{field} in the {segment} segment needs MaxVendorId = {max_vendor_id} bits but only {available} remain")]
    BitfieldLength { segment: Segment, field: &'static str, max_vendor_id: u16, available: usize },
    #[error("the {0} segment appears more than once")]
    DuplicateSegment(Segment),
    #[error("publisher restriction for purpose {purpose}: vendor range {start}-{end} ends before it starts")]
    InvalidRange { purpose: u8, start: u16, end: u16 },
}

/// A segment of a TC string: the core, then optional segments identified by their 3-bit type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Segment {
    Core,
    DisclosedVendors,
    AllowedVendors,
    PublisherTc,
    /// Types 4–7, not defined by TCF v2.2.
    Unknown(u8),
}

impl Segment {
    fn from_type(segment_type: u8) -> Self {
        match segment_type {
            0 => Segment::Core,
            1 => Segment::DisclosedVendors,
            2 => Segment::AllowedVendors,
            3 => Segment::PublisherTc,
            other => Segment::Unknown(other),
        }
    }
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Segment::Core => f.write_str("core"),
            Segment::DisclosedVendors => f.write_str("DisclosedVendors"),
            Segment::AllowedVendors => f.write_str("AllowedVendors"),
            Segment::PublisherTc => f.write_str("PublisherTC"),
            Segment::Unknown(t) => write!(f, "type-{t}"),
        }
    }
}

/// A decoded TC string: every field as sent. Serializes to the JSON `footfall consent tcf-decode` prints
/// (dates as RFC 3339 UTC with milliseconds, flag fields and vendor sets as lists of ids, optional segments only
/// when present; unknown segments appear in `warnings` only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcString {
    pub version: u8,
    /// Epoch milliseconds (the string carries deciseconds).
    #[serde(serialize_with = "rfc3339")]
    pub created: i64,
    /// Epoch milliseconds (the string carries deciseconds).
    #[serde(serialize_with = "rfc3339")]
    pub last_updated: i64,
    pub cmp_id: u16,
    pub cmp_version: u16,
    pub consent_screen: u8,
    /// Two upper-case letters (`EN`). A 6-bit value above 25 is kept raw as the character `'A' + value`
    /// (`[`, `a`, …), with a warning.
    pub consent_language: String,
    pub vendor_list_version: u16,
    /// TcfPolicyVersion: 2 for TCF v2.0/v2.1, 4 for v2.2 (5 is seen in the wild).
    pub policy_version: u8,
    pub is_service_specific: bool,
    pub use_non_standard_texts: bool,
    pub purpose_one_treatment: bool,
    /// Two upper-case letters, read like `consent_language`.
    pub publisher_cc: String,
    pub special_feature_opt_ins: Flags,
    /// Raw bits; query with [`TcString::purpose_consent`].
    pub purpose_consents: Flags,
    /// Raw bits, including ones the policy makes invalid; query with [`TcString::purpose_li`].
    pub purpose_legitimate_interests: Flags,
    pub vendor_consents: VendorSection,
    pub vendor_legitimate_interests: VendorSection,
    pub publisher_restrictions: Vec<PublisherRestriction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosed_vendors: Option<VendorSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_vendors: Option<VendorSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher_tc: Option<PublisherTc>,
    /// Segments of a type TCF v2.2 does not define, kept unread.
    #[serde(skip)]
    pub unknown_segments: Vec<UnknownSegment>,
    /// Everything tolerated while reading, one line each.
    pub warnings: Vec<String>,
}

/// RestrictionType of a publisher restriction; serialized as its number (0–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestrictionType {
    NotAllowed,
    RequireConsent,
    RequireLegitimateInterest,
    /// Value 3, undefined by the spec (kept, with a warning).
    Undefined,
}

impl RestrictionType {
    fn from_bits(value: u8) -> Self {
        match value {
            0 => RestrictionType::NotAllowed,
            1 => RestrictionType::RequireConsent,
            2 => RestrictionType::RequireLegitimateInterest,
            _ => RestrictionType::Undefined,
        }
    }

    pub fn code(self) -> u8 {
        match self {
            RestrictionType::NotAllowed => 0,
            RestrictionType::RequireConsent => 1,
            RestrictionType::RequireLegitimateInterest => 2,
            RestrictionType::Undefined => 3,
        }
    }
}

impl Serialize for RestrictionType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

/// One publisher restriction; entries repeating a (purpose, type) pair are merged into the first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PublisherRestriction {
    pub purpose: u8,
    #[serde(rename = "type")]
    pub restriction_type: RestrictionType,
    pub vendors: VendorIds,
}

/// The PublisherTC segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PublisherTc {
    pub purpose_consents: Flags,
    pub purpose_legitimate_interests: Flags,
    pub num_custom_purposes: u8,
    pub custom_purpose_consents: Flags,
    pub custom_purpose_legitimate_interests: Flags,
}

/// A segment of an undefined type, as sent (base64url text without padding).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownSegment {
    pub segment_type: u8,
    pub text: String,
}

fn rfc3339<S: Serializer>(epoch_ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::clock::rfc3339_ms(*epoch_ms))
}

impl TcString {
    /// The user consented to purpose `n` (1–24).
    pub fn purpose_consent(&self, n: u8) -> bool {
        self.purpose_consents.is_set(n.into())
    }

    /// Legitimate interest for purpose `n` is established: its bit is set and the policy allows LI for it —
    /// never for purpose 1, and not for purposes 3–6 from policy version 4 (TCF v2.2).
    pub fn purpose_li(&self, n: u8) -> bool {
        li_allowed(n, self.policy_version) && self.purpose_legitimate_interests.is_set(n.into())
    }

    pub fn special_feature_opt_in(&self, n: u8) -> bool {
        self.special_feature_opt_ins.is_set(n.into())
    }

    pub fn vendor_consent(&self, vendor_id: u16) -> bool {
        self.vendor_consents.contains(vendor_id)
    }

    pub fn vendor_li(&self, vendor_id: u16) -> bool {
        self.vendor_legitimate_interests.contains(vendor_id)
    }

    /// Whether the CMP disclosed the vendor; `None` when the string has no DisclosedVendors segment.
    pub fn vendor_disclosed(&self, vendor_id: u16) -> Option<bool> {
        self.disclosed_vendors.as_ref().map(|d| d.contains(vendor_id))
    }

    /// The publisher's restrictions on `vendor_id` for `purpose`, in the order sent.
    pub fn restrictions_for(&self, purpose: u8, vendor_id: u16) -> impl Iterator<Item = RestrictionType> + '_ {
        self.publisher_restrictions
            .iter()
            .filter(move |r| r.purpose == purpose && r.vendors.contains(vendor_id))
            .map(|r| r.restriction_type)
    }
}

/// Whether legitimate interest may be the legal basis for purpose `n` under `policy_version`.
pub fn li_allowed(n: u8, policy_version: u8) -> bool {
    n != 1 && !(policy_version >= 4 && (3..=6).contains(&n))
}

/// Reads a TC string: the core segment, then any optional segments in any order.
pub fn decode(tc_string: &str) -> Result<TcString, TcfError> {
    if tc_string.is_empty() {
        return Err(TcfError::Empty);
    }
    let mut position = 0usize;
    let mut seen = [false; 8];
    let mut tc: Option<TcString> = None;
    for (index, text) in tc_string.split('.').enumerate() {
        let sextets = bits::sextets(text, position)?;
        position += text.chars().count() + 1;
        let Some(&first) = sextets.first() else {
            return Err(TcfError::EmptySegment { index });
        };
        // The core has no type field: its first 6 bits are the version, whose top 3 bits are 0 for version 2.
        let segment_type = if index == 0 { 0 } else { first >> 3 };
        let segment = Segment::from_type(segment_type);
        if std::mem::replace(&mut seen[usize::from(segment_type & 7)], true) {
            return Err(TcfError::DuplicateSegment(segment));
        }
        let mut reader = bits::BitReader::new(sextets, segment);
        match tc.as_mut() {
            None => tc = Some(segments::read_core(&mut reader)?),
            Some(tc) => segments::read_optional(&mut reader, text.trim_end_matches('='), tc)?,
        }
        if let Some(tc) = tc.as_mut().filter(|_| reader.rest_has_data()) {
            tc.warnings.push(format!(
                "{segment}: {} bit(s) after the last field are not zero padding (ignored)",
                reader.remaining()
            ));
        }
    }
    let mut tc = tc.ok_or(TcfError::Empty)?;
    segments::check(&mut tc);
    Ok(tc)
}
