//! The segments' field sequences (core, DisclosedVendors, AllowedVendors, PublisherTC), publisher restrictions,
//! and the checks that turn tolerated oddities into warnings.

use super::bits::BitReader;
use super::flags::Flags;
use super::vendors::{self, entry_names, EntryNames, VendorIds};
use super::{
    li_allowed, PublisherRestriction, PublisherTc, RestrictionType, Segment, TcString, TcfError, UnknownSegment,
};

const RESTRICTION_ENTRIES: EntryNames = entry_names!("PublisherRestrictions");

/// Inclusive vendor id ranges as sent.
type Ranges = Vec<(u16, u16)>;

/// Two letters, 6 bits each, `A` = 0. Values above 25 are kept raw as `'A' + value` (`check` warns).
fn letters(r: &mut BitReader, field: &'static str) -> Result<String, TcfError> {
    let value = r.uint(12, field)?;
    Ok([value >> 6, value & 63].iter().map(|v| char::from(b'A' + *v as u8)).collect())
}

/// Deciseconds since the epoch as epoch milliseconds (36 bits × 100 fits an i64 easily).
fn date(r: &mut BitReader, field: &'static str) -> Result<i64, TcfError> {
    Ok(r.uint(36, field)? as i64 * 100)
}

fn flags(r: &mut BitReader, len: u8, field: &'static str) -> Result<Flags, TcfError> {
    Ok(Flags::from_field(r.uint(u32::from(len), field)?, len))
}

pub(super) fn read_core(r: &mut BitReader) -> Result<TcString, TcfError> {
    let version = r.u8(6, "Version")?;
    if version != 2 {
        return Err(TcfError::UnsupportedVersion(version));
    }
    let mut warnings = Vec::new();
    Ok(TcString {
        version,
        created: date(r, "Created")?,
        last_updated: date(r, "LastUpdated")?,
        cmp_id: r.u16(12, "CmpId")?,
        cmp_version: r.u16(12, "CmpVersion")?,
        consent_screen: r.u8(6, "ConsentScreen")?,
        consent_language: letters(r, "ConsentLanguage")?,
        vendor_list_version: r.u16(12, "VendorListVersion")?,
        policy_version: r.u8(6, "TcfPolicyVersion")?,
        is_service_specific: r.bit("IsServiceSpecific")?,
        use_non_standard_texts: r.bit("UseNonStandardTexts")?,
        special_feature_opt_ins: flags(r, 12, "SpecialFeatureOptIns")?,
        purpose_consents: flags(r, 24, "PurposesConsent")?,
        purpose_legitimate_interests: flags(r, 24, "PurposesLITransparency")?,
        purpose_one_treatment: r.bit("PurposeOneTreatment")?,
        publisher_cc: letters(r, "PublisherCC")?,
        vendor_consents: vendors::read_section(r, &vendors::VENDOR_CONSENTS, &mut warnings)?,
        vendor_legitimate_interests: vendors::read_section(r, &vendors::VENDOR_LI, &mut warnings)?,
        publisher_restrictions: read_restrictions(r, &mut warnings)?,
        disclosed_vendors: None,
        allowed_vendors: None,
        publisher_tc: None,
        unknown_segments: Vec::new(),
        warnings,
    })
}

/// NumPubRestrictions, then per restriction PurposeId, RestrictionType and a range list. A backwards range is
/// an error here: dropping it would lift a restriction, i.e. widen what a vendor may do.
fn read_restrictions(r: &mut BitReader, warnings: &mut Vec<String>) -> Result<Vec<PublisherRestriction>, TcfError> {
    let count = r.u16(12, "NumPubRestrictions")?;
    // (purpose, type, ranges) in first-seen order; at most 64 × 4 distinct pairs.
    let mut grouped: Vec<(u8, RestrictionType, Ranges)> = Vec::new();
    let mut repeated = 0usize;
    for _ in 0..count {
        let purpose = r.u8(6, "PublisherRestrictions.PurposeId")?;
        let restriction_type = RestrictionType::from_bits(r.u8(2, "PublisherRestrictions.RestrictionType")?);
        let entries = vendors::read_entries(r, &RESTRICTION_ENTRIES)?;
        if let Some(&(start, end)) = entries.iter().find(|(start, end)| end < start) {
            return Err(TcfError::InvalidRange { purpose, start, end });
        }
        match grouped.iter_mut().find(|(p, t, _)| *p == purpose && *t == restriction_type) {
            Some((_, _, ranges)) => {
                repeated += 1;
                ranges.extend(entries);
            }
            None => grouped.push((purpose, restriction_type, entries)),
        }
    }
    if repeated > 0 {
        warnings
            .push(format!("PublisherRestrictions: {repeated} restriction(s) repeat a (purpose, type) pair (merged)"));
    }
    let mut restrictions = Vec::with_capacity(grouped.len());
    for (purpose, restriction_type, mut ranges) in grouped {
        if ranges.iter().any(|&(start, _)| start == 0) {
            warnings
                .push(format!("PublisherRestrictions: vendor id 0 under purpose {purpose} (ignored; ids start at 1)"));
            ranges.retain(|&(_, end)| end > 0);
            ranges.iter_mut().for_each(|range| range.0 = range.0.max(1));
        }
        let (vendors, duplicates) = VendorIds::from_ranges(ranges);
        if duplicates > 0 {
            warnings.push(format!(
                "PublisherRestrictions: {duplicates} vendor id(s) listed more than once under purpose {purpose} (deduplicated)"
            ));
        }
        if !(1..=24).contains(&purpose) {
            warnings.push(format!("PublisherRestrictions: purpose {purpose} is not a TCF purpose (kept)"));
        }
        if restriction_type == RestrictionType::Undefined {
            warnings
                .push(format!("PublisherRestrictions: restriction type 3 under purpose {purpose} is undefined (kept)"));
        }
        restrictions.push(PublisherRestriction { purpose, restriction_type, vendors });
    }
    Ok(restrictions)
}

/// A segment after the core: `text` is its base64url text without padding, kept for unknown types.
pub(super) fn read_optional(r: &mut BitReader, text: &str, tc: &mut TcString) -> Result<(), TcfError> {
    let segment_type = r.u8(3, "SegmentType")?;
    match r.segment() {
        Segment::DisclosedVendors => {
            tc.disclosed_vendors = Some(vendors::read_section(r, &vendors::DISCLOSED_VENDORS, &mut tc.warnings)?)
        }
        Segment::AllowedVendors => {
            tc.allowed_vendors = Some(vendors::read_section(r, &vendors::ALLOWED_VENDORS, &mut tc.warnings)?)
        }
        Segment::PublisherTc => {
            let purpose_consents = flags(r, 24, "PubPurposesConsent")?;
            let purpose_legitimate_interests = flags(r, 24, "PubPurposesLITransparency")?;
            let num_custom_purposes = r.u8(6, "NumCustomPurposes")?;
            tc.publisher_tc = Some(PublisherTc {
                purpose_consents,
                purpose_legitimate_interests,
                num_custom_purposes,
                custom_purpose_consents: flags(r, num_custom_purposes, "CustomPurposesConsent")?,
                custom_purpose_legitimate_interests: flags(r, num_custom_purposes, "CustomPurposesLITransparency")?,
            });
        }
        // The core is never an optional segment (a second type-0 segment is a duplicate); listed for completeness.
        Segment::Core | Segment::Unknown(_) => {
            tc.warnings
                .push(format!("unknown segment type {segment_type} ({} characters) kept unread", text.chars().count()));
            tc.unknown_segments.push(UnknownSegment { segment_type, text: text.to_string() });
            // Opaque: nothing of it is read, so none of it is "trailing data".
            r.skip_rest();
        }
    }
    Ok(())
}

/// Oddities of a complete string that do not prevent reading it.
pub(super) fn check(tc: &mut TcString) {
    let mut notes = Vec::new();
    if tc.disclosed_vendors.is_none() && tc.policy_version >= 4 {
        notes.push("no DisclosedVendors segment (mandatory from TCF v2.2): vendor disclosure is unknown".to_string());
    }
    if !(2..=5).contains(&tc.policy_version) {
        notes.push(format!("TcfPolicyVersion {} is not a known policy version", tc.policy_version));
    }
    let invalid_li: Vec<String> = tc
        .purpose_legitimate_interests
        .ids()
        .filter(|n| !li_allowed(*n, tc.policy_version))
        .map(|n| n.to_string())
        .collect();
    if !invalid_li.is_empty() {
        notes.push(format!(
            "legitimate-interest bits set for purpose(s) {} where policy version {} does not allow LI (kept raw; purpose_li() says no)",
            invalid_li.join(", "),
            tc.policy_version
        ));
    }
    for (field, value) in [("ConsentLanguage", &tc.consent_language), ("PublisherCC", &tc.publisher_cc)] {
        if !value.chars().all(|c| c.is_ascii_uppercase()) {
            notes.push(format!("{field} {value:?} is not two letters A-Z"));
        }
    }
    if tc.cmp_id < 2 {
        notes.push(format!("CmpId {} is not a registered CMP id", tc.cmp_id));
    }
    tc.warnings.extend(notes);
}
