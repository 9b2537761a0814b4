//! The TC string reader against the IAB's own library, and its leniency and rejection rules.
//!
//! `tests/tcf-vectors/vectors.json` holds strings encoded by `@iabtcf/core` and that library's decoding of each
//! (regenerate with `tests/tcf-vectors/generate.mjs`); every field must agree. The lenient and broken cases are
//! built here bit by bit so each is exact.

mod support;

use footfall_core::consent::tcf::{decode, RestrictionType, Segment, TcString, TcfError, VendorEncoding};
use serde_json::Value;
use support::{tcf_string as vector, tcf_vectors as vectors};

// ------------------------------------------------------------------------------------------------------------
// The shared vectors.

fn ids<T: Into<u64>>(items: impl IntoIterator<Item = T>) -> Value {
    Value::from(items.into_iter().map(Into::into).collect::<Vec<u64>>())
}

fn vendor_section(section: Option<&footfall_core::consent::tcf::VendorSection>) -> Value {
    section.map_or(Value::Null, |s| ids(s.iter()))
}

/// Our decoding in the vectors' `expected` shape.
fn as_expected(tc: &TcString) -> Value {
    serde_json::json!({
        "version": tc.version,
        "created_ms": tc.created,
        "last_updated_ms": tc.last_updated,
        "cmp_id": tc.cmp_id,
        "cmp_version": tc.cmp_version,
        "consent_screen": tc.consent_screen,
        "consent_language": tc.consent_language,
        "vendor_list_version": tc.vendor_list_version,
        "policy_version": tc.policy_version,
        "is_service_specific": tc.is_service_specific,
        "use_non_standard_texts": tc.use_non_standard_texts,
        "purpose_one_treatment": tc.purpose_one_treatment,
        "publisher_cc": tc.publisher_cc,
        "special_feature_opt_ins": ids(tc.special_feature_opt_ins.ids()),
        "purpose_consents": ids(tc.purpose_consents.ids()),
        "purpose_legitimate_interests": ids(tc.purpose_legitimate_interests.ids()),
        "vendor_consents": ids(tc.vendor_consents.iter()),
        "vendor_legitimate_interests": ids(tc.vendor_legitimate_interests.iter()),
        // The library drops restrictions without vendors; we keep them for audit.
        "publisher_restrictions": tc.publisher_restrictions.iter().filter(|r| !r.vendors.is_empty()).map(|r| serde_json::json!({
            "purpose": r.purpose,
            "type": r.restriction_type.code(),
            "vendors": ids(r.vendors.iter()),
        })).collect::<Vec<_>>(),
        "disclosed_vendors": vendor_section(tc.disclosed_vendors.as_ref()),
        "allowed_vendors": vendor_section(tc.allowed_vendors.as_ref()),
        "publisher_tc": tc.publisher_tc.as_ref().map_or(Value::Null, |p| serde_json::json!({
            "purpose_consents": ids(p.purpose_consents.ids()),
            "purpose_legitimate_interests": ids(p.purpose_legitimate_interests.ids()),
            "num_custom_purposes": p.num_custom_purposes,
            "custom_purpose_consents": ids(p.custom_purpose_consents.ids()),
            "custom_purpose_legitimate_interests": ids(p.custom_purpose_legitimate_interests.ids()),
        })),
    })
}

#[test]
fn agrees_with_the_iab_library_on_every_vector() {
    let vectors = vectors();
    assert!(vectors.len() >= 60, "{} vectors", vectors.len());
    let mut encodings = std::collections::BTreeSet::new();
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let tc = decode(v["tc_string"].as_str().unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ours = as_expected(&tc);
        for (field, expected) in v["expected"].as_object().unwrap() {
            assert_eq!(&ours[field], expected, "{name}: field {field}");
        }
        assert_eq!(ours.as_object().unwrap().len(), v["expected"].as_object().unwrap().len(), "{name}: same field set");
        // The generator labels which encoding the library chose for each vendor section; we must see the same.
        let sections = [
            ("vendor_consents", Some(&tc.vendor_consents)),
            ("vendor_legitimate_interests", Some(&tc.vendor_legitimate_interests)),
            ("disclosed_vendors", tc.disclosed_vendors.as_ref()),
            ("allowed_vendors", tc.allowed_vendors.as_ref()),
        ];
        for (section, ours) in sections {
            let label = &v["vendor_encodings"][section];
            let ours = ours.map(|s| match s.encoding {
                VendorEncoding::Bitfield => "bitfield",
                VendorEncoding::Range => "range",
            });
            assert_eq!(label.as_str(), ours, "{name}: {section} encoding");
            if let Some(e) = ours {
                encodings.insert(format!("{section}:{e}"));
            }
        }
        assert!(tc.unknown_segments.is_empty(), "{name}");
        // Library output has no duplicated ids, backwards ranges or trailing data.
        assert!(
            !tc.warnings.iter().any(|w| w.contains("more than once") || w.contains("not zero padding")),
            "{name}: {:?}",
            tc.warnings
        );
    }
    assert_eq!(encodings.len(), 8, "both encodings of every vendor section are covered: {encodings:?}");
}

// ------------------------------------------------------------------------------------------------------------
// A bit writer to build exact strings.

#[derive(Clone, Default)]
struct Bits(Vec<bool>);

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Bits {
    fn of(segment: &str) -> Bits {
        let mut bits = Bits::default();
        for c in segment.trim_end_matches('=').bytes() {
            bits.push(ALPHABET.iter().position(|a| *a == c).unwrap() as u64, 6);
        }
        bits
    }
    fn push(&mut self, value: u64, width: u32) -> &mut Self {
        for i in (0..width).rev() {
            self.0.push((value >> i) & 1 == 1);
        }
        self
    }
    fn set(&mut self, at: usize, value: u64, width: u32) -> &mut Self {
        for i in 0..width as usize {
            self.0[at + i] = (value >> (width as usize - 1 - i)) & 1 == 1;
        }
        self
    }
    fn get(&self, at: usize, width: usize) -> u64 {
        self.0[at..at + width].iter().fold(0, |v, b| (v << 1) | u64::from(*b))
    }
    fn append(&mut self, other: &Bits) -> &mut Self {
        self.0.extend_from_slice(&other.0);
        self
    }
    /// Base64url, zero-padded to whole characters.
    fn encode(&self) -> String {
        self.0
            .chunks(6)
            .map(|c| {
                ALPHABET[c.iter().chain(std::iter::repeat(&false)).take(6).fold(0, |v, b| (v << 1) | usize::from(*b))]
                    as char
            })
            .collect()
    }
}

fn bitfield_section(max: u16, set: &[u16]) -> Bits {
    let mut b = Bits::default();
    b.push(max.into(), 16).push(0, 1);
    for id in 1..=max {
        b.push(set.contains(&id).into(), 1);
    }
    b
}

fn range_entries(entries: &[(u16, u16)]) -> Bits {
    let mut b = Bits::default();
    b.push(entries.len() as u64, 12);
    for &(start, end) in entries {
        if start == end {
            b.push(0, 1).push(start.into(), 16);
        } else {
            b.push(1, 1).push(start.into(), 16).push(end.into(), 16);
        }
    }
    b
}

fn range_section(max: u16, entries: &[(u16, u16)]) -> Bits {
    let mut b = Bits::default();
    b.push(max.into(), 16).push(1, 1).append(&range_entries(entries));
    b
}

/// (PurposeId, RestrictionType, range entries) per restriction.
type Restriction<'a> = (u8, u8, &'a [(u16, u16)]);

fn restrictions(list: &[Restriction]) -> Bits {
    let mut b = Bits::default();
    b.push(list.len() as u64, 12);
    for (purpose, kind, entries) in list {
        b.push(u64::from(*purpose), 6).push(u64::from(*kind), 2).append(&range_entries(entries));
    }
    b
}

const CREATED_DS: u64 = 17_159_382_123; // 2024-05-17T09:30:12.300Z
const POLICY_AT: usize = 132;
const PURPOSE_LI_AT: usize = 176;

/// A core segment with fixed header fields and the given sections.
fn core(policy_version: u64, consents: &Bits, li: &Bits, restrictions: &Bits) -> Bits {
    let mut b = Bits::default();
    b.push(2, 6).push(CREATED_DS, 36).push(CREATED_DS, 36).push(300, 12).push(2, 12).push(1, 6);
    b.push(4, 6).push(13, 6); // EN
    b.push(215, 12).push(policy_version, 6).push(0, 1).push(0, 1).push(0, 12);
    b.push(0b1100_0000_0000_0000_0000_0000, 24).push(0, 24).push(0, 1);
    b.push(3, 6).push(4, 6); // DE
    b.append(consents).append(li).append(restrictions);
    b
}

fn simple_core(policy_version: u64) -> Bits {
    core(policy_version, &bitfield_section(0, &[]), &bitfield_section(0, &[]), &restrictions(&[]))
}

fn segment_with_type(segment_type: u64, body: &Bits) -> Bits {
    let mut b = Bits::default();
    b.push(segment_type, 3).append(body);
    b
}

fn disclosed(ids: &[u16]) -> String {
    segment_with_type(1, &bitfield_section(ids.iter().copied().max().unwrap_or(0), ids)).encode()
}

#[test]
fn the_bit_writer_reproduces_the_library_layout() {
    let ours = decode(&simple_core(4).encode()).unwrap();
    assert_eq!(
        (ours.created, ours.last_updated, ours.cmp_id, ours.consent_language.as_str(), ours.publisher_cc.as_str()),
        (1_715_938_212_300, 1_715_938_212_300, 300, "EN", "DE")
    );
    assert_eq!(ours.purpose_consents.ids().collect::<Vec<_>>(), vec![1, 2]);
    // Same field offsets as a library-encoded string.
    let library = Bits::of(&vector("core-li-raw-bits-policy2"));
    assert_eq!(library.get(POLICY_AT, 6), 2);
    assert_eq!(library.get(PURPOSE_LI_AT, 7), 0b111_1111);
}

// ------------------------------------------------------------------------------------------------------------
// Rejections.

#[test]
fn rejects_versions_other_than_2() {
    let good = vector("core-bitfield-vendors");
    for version in [0, 1, 3, 63] {
        let mut bits = Bits::of(&good);
        bits.set(0, version, 6);
        assert_eq!(decode(&bits.encode()), Err(TcfError::UnsupportedVersion(version as u8)));
    }
    // A TCF v1 string (starts with 'B').
    assert_eq!(decode("BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA"), Err(TcfError::UnsupportedVersion(1)));
}

#[test]
fn rejects_reads_past_the_end() {
    let good = vector("core-bitfield-vendors");
    assert_eq!(decode(&good[..1]), Err(TcfError::Truncated { segment: Segment::Core, field: "Created" }));
    // 20 characters = 120 bits: exactly through ConsentLanguage.
    assert_eq!(decode(&good[..20]), Err(TcfError::Truncated { segment: Segment::Core, field: "VendorListVersion" }));
    // 36 characters = 216 bits: inside VendorConsents.MaxVendorId, which starts at bit 213.
    assert_eq!(
        decode(&good[..36]),
        Err(TcfError::Truncated { segment: Segment::Core, field: "VendorConsents.MaxVendorId" })
    );
    // Every shorter prefix fails with a typed error, and no prefix panics.
    for len in 1..good.len() {
        if let Ok(tc) = decode(&good[..len]) {
            assert!(len * 6 >= Bits::of(&good).0.len() - 24, "prefix {len} decoded: {tc:?}");
        }
    }
    // In an optional segment and in a range list.
    let core = simple_core(4).encode();
    let pubtc = segment_with_type(3, Bits::default().push(0, 24).push(0, 20)).encode();
    assert_eq!(
        decode(&format!("{core}.{pubtc}")),
        Err(TcfError::Truncated { segment: Segment::PublisherTc, field: "PubPurposesLITransparency" })
    );
    let mut entries = range_section(10, &[(1, 5), (7, 9)]);
    entries.0.truncate(entries.0.len() - 20);
    assert_eq!(
        decode(&format!("{core}.{}", segment_with_type(2, &entries).encode())),
        Err(TcfError::Truncated { segment: Segment::AllowedVendors, field: "AllowedVendors.StartOrOnlyVendorId" })
    );
    // Custom purposes longer than the segment.
    let custom = segment_with_type(3, Bits::default().push(0, 48).push(40, 6).push(u64::MAX, 40)).encode();
    assert_eq!(
        decode(&format!("{core}.{custom}")),
        Err(TcfError::Truncated { segment: Segment::PublisherTc, field: "CustomPurposesLITransparency" })
    );
}

#[test]
fn rejects_characters_outside_base64url() {
    let good = vector("all-segments");
    for bad in ['+', '/', ' ', 'é', '=', '\n'] {
        let at = 10;
        let text: String = good.chars().take(at).chain([bad]).chain(good.chars().skip(at + 1)).collect();
        assert_eq!(decode(&text), Err(TcfError::InvalidCharacter { position: at, character: bad }), "{bad:?}");
    }
    // Positions count over the whole string, dots included.
    let dot = good.find('.').unwrap();
    let text = format!("{}*{}", &good[..dot + 3], &good[dot + 4..]);
    assert_eq!(decode(&text), Err(TcfError::InvalidCharacter { position: dot + 3, character: '*' }));
}

#[test]
fn rejects_a_bitfield_shorter_than_max_vendor_id() {
    let core = simple_core(4).encode();
    // DisclosedVendors says 500 vendors but carries 100 bits.
    let mut body = Bits::default();
    body.push(500, 16).push(0, 1).push(u64::MAX, 60).push(u64::MAX, 40);
    let text = format!("{core}.{}", segment_with_type(1, &body).encode());
    match decode(&text) {
        Err(TcfError::BitfieldLength {
            segment: Segment::DisclosedVendors,
            field: "DisclosedVendors.BitField",
            max_vendor_id: 500,
            available,
        }) => {
            assert!((100..106).contains(&available), "{available}")
        }
        other => panic!("{other:?}"),
    }
    // In the core: MaxVendorId larger than what is left of the string.
    let mut bits = Bits::of(&vector("core-bitfield-vendors"));
    assert_eq!(bits.get(229, 1), 0, "bitfield");
    bits.set(213, 3000, 16);
    assert!(matches!(
        decode(&bits.encode()),
        Err(TcfError::BitfieldLength { segment: Segment::Core, max_vendor_id: 3000, .. })
    ));
}

#[test]
fn rejects_a_repeated_segment_type() {
    let good = vector("all-segments");
    let parts: Vec<&str> = good.split('.').collect();
    assert_eq!(parts.len(), 4);
    assert_eq!(decode(&format!("{good}.{}", parts[1])), Err(TcfError::DuplicateSegment(Segment::DisclosedVendors)));
    assert_eq!(decode(&format!("{good}.{}", parts[3])), Err(TcfError::DuplicateSegment(Segment::PublisherTc)));
    assert_eq!(decode(&format!("{good}.{}", parts[0])), Err(TcfError::DuplicateSegment(Segment::Core)));
    let unknown = segment_with_type(5, Bits::default().push(7, 9)).encode();
    assert_eq!(decode(&format!("{good}.{unknown}.{unknown}")), Err(TcfError::DuplicateSegment(Segment::Unknown(5))));
}

#[test]
fn rejects_empty_strings_and_segments() {
    let core = simple_core(4).encode();
    assert_eq!(decode(""), Err(TcfError::Empty));
    assert_eq!(decode(&format!("{core}.")), Err(TcfError::EmptySegment { index: 1 }));
    assert_eq!(decode(&format!("{core}..{}", disclosed(&[1]))), Err(TcfError::EmptySegment { index: 1 }));
    assert_eq!(decode(&format!(".{core}")), Err(TcfError::EmptySegment { index: 0 }));
    assert_eq!(decode("=="), Err(TcfError::EmptySegment { index: 0 }));
}

#[test]
fn rejects_a_backwards_publisher_restriction_range() {
    let text =
        core(4, &bitfield_section(0, &[]), &bitfield_section(0, &[]), &restrictions(&[(2, 0, &[(1, 3), (9, 4)])]))
            .encode();
    assert_eq!(decode(&text), Err(TcfError::InvalidRange { purpose: 2, start: 9, end: 4 }));
}

#[test]
fn errors_are_one_line() {
    let errors = [
        TcfError::Empty,
        TcfError::EmptySegment { index: 2 },
        TcfError::InvalidCharacter { position: 3, character: '\n' },
        TcfError::UnsupportedVersion(1),
        TcfError::Truncated { segment: Segment::Core, field: "Created" },
        TcfError::BitfieldLength {
            segment: Segment::Core,
            field: "VendorConsents.BitField",
            max_vendor_id: 9,
            available: 2,
        },
        TcfError::DuplicateSegment(Segment::Unknown(6)),
        TcfError::InvalidRange { purpose: 1, start: 3, end: 2 },
    ];
    for e in errors {
        let text = e.to_string();
        assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
    }
    assert_eq!(
        TcfError::Truncated { segment: Segment::PublisherTc, field: "NumCustomPurposes" }.to_string(),
        "the PublisherTC segment ends inside NumCustomPurposes"
    );
}

// ------------------------------------------------------------------------------------------------------------
// Leniency.

#[test]
fn accepts_trailing_padding() {
    let good = vector("all-segments");
    let expected = decode(&good).unwrap();
    let padded: Vec<String> = good.split('.').enumerate().map(|(i, s)| format!("{s}{}", "=".repeat(i % 3))).collect();
    assert_eq!(decode(&padded.join(".")).unwrap(), expected);
    assert_eq!(decode(&format!("{good}==")).unwrap(), expected);
}

#[test]
fn accepts_created_different_from_last_updated() {
    let mut bits = Bits::of(&vector("core-minimal"));
    bits.set(42, CREATED_DS + 864_000, 36); // a day later
    let tc = decode(&bits.encode()).unwrap();
    assert_eq!(tc.last_updated - tc.created, 86_400_000);
    // LastUpdated before Created is read as sent too.
    bits.set(42, CREATED_DS - 10, 36);
    assert_eq!(decode(&bits.encode()).unwrap().last_updated, tc.created - 1_000);
}

#[test]
fn merges_duplicated_range_ids_with_a_warning() {
    let consents = range_section(20, &[(1, 10), (5, 12), (7, 7), (20, 20)]);
    let text =
        format!("{}.{}", core(4, &consents, &bitfield_section(0, &[]), &restrictions(&[])).encode(), disclosed(&[1]));
    let tc = decode(&text).unwrap();
    assert_eq!(tc.vendor_consents.iter().collect::<Vec<_>>(), [(1..=12).collect::<Vec<u16>>(), vec![20]].concat());
    assert_eq!(tc.vendor_consents.encoding, VendorEncoding::Range);
    assert_eq!(
        tc.warnings,
        vec!["VendorConsents: 7 vendor id(s) listed more than once in the range list (deduplicated)".to_string()]
    );
    assert!(tc.vendor_consent(12) && tc.vendor_consent(20) && !tc.vendor_consent(13));
}

#[test]
fn tolerates_odd_range_entries_without_granting_more() {
    let li = range_section(30, &[(0, 2), (9, 4), (40, 41)]);
    let tc = decode(&core(2, &bitfield_section(0, &[]), &li, &restrictions(&[])).encode()).unwrap();
    assert_eq!(tc.vendor_legitimate_interests.iter().collect::<Vec<_>>(), vec![1, 2, 40, 41]);
    let w = tc.warnings.join("\n");
    assert!(w.contains("vendor id 0"), "{w}");
    assert!(w.contains("1 range entr(ies) end before they start"), "{w}");
    assert!(w.contains("vendor 41, above MaxVendorId 30"), "{w}");
}

#[test]
fn keeps_unknown_segments_opaque_with_a_warning() {
    let good = vector("disclosed-vendors-bitfield");
    let unknown = segment_with_type(6, Bits::default().push(0xABCDEF, 24).push(1, 1)).encode();
    let tc = decode(&format!("{good}.{unknown}")).unwrap();
    assert_eq!(tc.unknown_segments.len(), 1);
    assert_eq!((tc.unknown_segments[0].segment_type, tc.unknown_segments[0].text.as_str()), (6, unknown.as_str()));
    assert_eq!(tc.warnings, vec![format!("unknown segment type 6 ({} characters) kept unread", unknown.len())]);
    // Everything else reads as without it.
    let mut without = tc.clone();
    without.unknown_segments.clear();
    without.warnings.clear();
    assert_eq!(without, decode(&good).unwrap());
}

#[test]
fn warns_when_disclosed_vendors_is_missing_from_a_v2_2_string() {
    let core4 = simple_core(4).encode();
    assert!(decode(&core4).unwrap().warnings.iter().any(|w| w.contains("no DisclosedVendors segment")));
    assert!(decode(&format!("{core4}.{}", disclosed(&[3, 5]))).unwrap().warnings.is_empty());
    assert!(decode(&simple_core(2).encode()).unwrap().warnings.is_empty(), "optional before policy version 4");
    let tc = decode(&format!("{core4}.{}", disclosed(&[3, 5]))).unwrap();
    assert_eq!((tc.vendor_disclosed(5), tc.vendor_disclosed(4)), (Some(true), Some(false)));
    assert_eq!(decode(&core4).unwrap().vendor_disclosed(5), None);
}

#[test]
fn legitimate_interest_queries_apply_the_policy_but_raw_bits_are_kept() {
    for (policy, valid) in [(2u64, vec![2, 3, 4, 5, 6, 7, 24]), (4, vec![2, 7, 24]), (5, vec![2, 7, 24])] {
        let mut bits = simple_core(policy);
        bits.set(PURPOSE_LI_AT, 0b1111_1110_0000_0000_0000_0001, 24); // LI bits on purposes 1-7 and 24
        let tc = decode(&format!("{}.{}", bits.encode(), disclosed(&[1]))).unwrap();
        assert_eq!(
            tc.purpose_legitimate_interests.ids().collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5, 6, 7, 24],
            "raw bits kept"
        );
        assert_eq!((1..=24).filter(|n| tc.purpose_li(*n)).collect::<Vec<u8>>(), valid, "policy {policy}");
        assert!(!tc.purpose_li(0) && !tc.purpose_li(25));
        let warning = tc.warnings.iter().find(|w| w.contains("legitimate-interest bits")).unwrap();
        assert!(warning.contains(if policy >= 4 { "purpose(s) 1, 3, 4, 5, 6 " } else { "purpose(s) 1 " }), "{warning}");
    }
    // The library-encoded vector with raw LI bits on purposes 1 and 3-6 under policy 4.
    let tc = decode(&vector("core-li-raw-bits-policy4")).unwrap();
    assert!(tc.purpose_legitimate_interests.is_set(1) && tc.purpose_legitimate_interests.is_set(3));
    assert!(!tc.purpose_li(1) && !tc.purpose_li(3) && !tc.purpose_li(6) && tc.purpose_li(7) && tc.purpose_li(8));
    assert!(tc.purpose_consent(1) && tc.purpose_consent(3) && !tc.purpose_consent(2));
}

#[test]
fn publisher_restrictions_are_grouped_and_queryable() {
    let list = restrictions(&[(2, 0, &[(1, 3)]), (7, 1, &[(5, 5)]), (2, 0, &[(3, 4)]), (9, 3, &[(8, 8)]), (4, 2, &[])]);
    let tc = decode(&core(4, &bitfield_section(0, &[]), &bitfield_section(0, &[]), &list).encode()).unwrap();
    let summary: Vec<(u8, u8, Vec<u16>)> = tc
        .publisher_restrictions
        .iter()
        .map(|r| (r.purpose, r.restriction_type.code(), r.vendors.iter().collect()))
        .collect();
    assert_eq!(summary, vec![(2, 0, vec![1, 2, 3, 4]), (7, 1, vec![5]), (9, 3, vec![8]), (4, 2, vec![])]);
    assert_eq!(tc.restrictions_for(2, 4).collect::<Vec<_>>(), vec![RestrictionType::NotAllowed]);
    assert_eq!(tc.restrictions_for(2, 5).count(), 0);
    let w = tc.warnings.join("\n");
    assert!(w.contains("1 restriction(s) repeat a (purpose, type) pair"), "{w}");
    assert!(w.contains("1 vendor id(s) listed more than once under purpose 2"), "{w}");
    assert!(w.contains("restriction type 3 under purpose 9"), "{w}");
}

#[test]
fn huge_ranges_stay_small() {
    // 4095 entries each spanning every vendor id: stored as one range, answered at once.
    let entries = vec![(1u16, 65535u16); 4095];
    let tc = decode(&core(4, &range_section(65535, &entries), &bitfield_section(0, &[]), &restrictions(&[])).encode())
        .unwrap();
    assert_eq!(tc.vendor_consents.vendors.ranges(), &[(1, 65535)]);
    assert_eq!(tc.vendor_consents.vendors.len(), 65535);
    assert!(tc.warnings[0].contains("listed more than once"));
    // A bitfield of 65535 bits.
    let tc =
        decode(&core(2, &bitfield_section(65535, &[1, 65535]), &bitfield_section(0, &[]), &restrictions(&[])).encode())
            .unwrap();
    assert_eq!(tc.vendor_consents.iter().collect::<Vec<_>>(), vec![1, 65535]);
}

#[test]
fn trailing_data_after_the_last_field_is_a_warning() {
    let mut bits = simple_core(2);
    bits.push(0, 5).push(1, 1);
    let tc = decode(&bits.encode()).unwrap();
    assert_eq!(tc.warnings.len(), 1, "{:?}", tc.warnings);
    assert!(
        tc.warnings[0].starts_with("core: ")
            && tc.warnings[0].ends_with("bit(s) after the last field are not zero padding (ignored)")
    );
    // Zero padding of any length is silent.
    let mut bits = simple_core(2);
    bits.push(0, 40);
    assert!(decode(&bits.encode()).unwrap().warnings.is_empty());
}

// ------------------------------------------------------------------------------------------------------------
// The JSON the CLI prints.

#[test]
fn serializes_to_the_cli_json() {
    let tc = decode(&vector("all-segments")).unwrap();
    let json = serde_json::to_value(&tc).unwrap();
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = vec![
        "version",
        "created",
        "last_updated",
        "cmp_id",
        "cmp_version",
        "consent_screen",
        "consent_language",
        "vendor_list_version",
        "policy_version",
        "is_service_specific",
        "use_non_standard_texts",
        "purpose_one_treatment",
        "publisher_cc",
        "special_feature_opt_ins",
        "purpose_consents",
        "purpose_legitimate_interests",
        "vendor_consents",
        "vendor_legitimate_interests",
        "publisher_restrictions",
        "disclosed_vendors",
        "allowed_vendors",
        "publisher_tc",
        "warnings",
    ];
    let mut sorted = keys.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected);
    assert_eq!(json["created"], "2024-05-17T09:30:12.300Z");
    assert_eq!(json["vendor_consents"], serde_json::json!([1, 5]));
    assert_eq!(json["allowed_vendors"], serde_json::json!([1, 5, 9]));
    assert_eq!(json["publisher_tc"]["custom_purpose_consents"], serde_json::json!([2]));
    assert_eq!(json["publisher_tc"]["num_custom_purposes"], 2);

    let core_only = serde_json::to_value(decode(&vector("publisher-restrictions")).unwrap()).unwrap();
    for absent in ["disclosed_vendors", "allowed_vendors", "publisher_tc"] {
        assert!(core_only.get(absent).is_none(), "{absent}");
    }
    assert_eq!(core_only["publisher_restrictions"][1], serde_json::json!({"purpose": 2, "type": 1, "vendors": [5]}));
}
