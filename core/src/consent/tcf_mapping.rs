//! TCF import mode: the app's CMP (OneTrust, Didomi, …) asks the shopper, Footfall reads the answer from the TC
//! string instead of asking again. Pure mapping from a decoded [`TcString`] to decisions about our purposes.
//!
//! A Footfall purpose is granted only when every TCF purpose its processing involves has **consent** (legitimate
//! interest is not enough: we collect on consent only, so silence or an LI-only signal stays a denial):
//!
//! | Footfall          | TCF v2.2                                                                  |
//! |-------------------|---------------------------------------------------------------------------|
//! | `analytics`       | 1 store/access on device, 8 measure content performance, 9 audience research |
//! | `personalization` | 1, 5 create content profiles, 6 use content profiles                       |
//! | `marketing`       | 1, 2 basic ads, 3 create ad profiles, 4 use ad profiles, 7 measure ads      |
//! | `location`        | 1 and special feature 1 (precise geolocation)                              |
//!
//! Whose consent: Footfall usually collects first-party for the app's publisher, so the PublisherTC segment's
//! purpose consents are read when present and the core segment's otherwise. When the backend is a registered
//! TCF vendor (`vendor_id`), the core purposes are read and the vendor must also have consent and no
//! "not allowed" publisher restriction for each purpose. Custom purposes are not mapped: they stay with
//! Footfall's own prompts.

use std::collections::BTreeMap;

use super::purpose::{ANALYTICS, LOCATION, MARKETING, PERSONALIZATION};
use super::tcf::{RestrictionType, TcString};

/// TCF special feature 1: use precise geolocation data.
const PRECISE_GEOLOCATION: u8 = 1;

/// Our purposes decided by the CMP in TCF import mode, with the TCF purposes each needs.
pub const MAPPING: [(&str, &[u8]); 4] =
    [(ANALYTICS, &[1, 8, 9]), (PERSONALIZATION, &[1, 5, 6]), (MARKETING, &[1, 2, 3, 4, 7]), (LOCATION, &[1])];

/// Whether `purpose` is decided by the CMP in TCF import mode.
pub fn is_mapped(purpose: &str) -> bool {
    MAPPING.iter().any(|(p, _)| *p == purpose)
}

/// Decisions about every mapped purpose, read from `tc`.
pub fn decisions(tc: &TcString, vendor_id: Option<u16>) -> BTreeMap<String, bool> {
    MAPPING
        .iter()
        .map(|(purpose, tcf_purposes)| {
            let mut granted = tcf_purposes.iter().all(|n| purpose_consent(tc, *n, vendor_id));
            if *purpose == LOCATION {
                granted &= tc.special_feature_opt_in(PRECISE_GEOLOCATION);
            }
            if let Some(vendor) = vendor_id {
                granted &= tc.vendor_consent(vendor);
            }
            (purpose.to_string(), granted)
        })
        .collect()
}

fn purpose_consent(tc: &TcString, n: u8, vendor_id: Option<u16>) -> bool {
    match (vendor_id, &tc.publisher_tc) {
        (Some(vendor), _) => {
            tc.purpose_consent(n) && !tc.restrictions_for(n, vendor).any(|r| r == RestrictionType::NotAllowed)
        }
        (None, Some(publisher)) => publisher.purpose_consents.is_set(n.into()),
        (None, None) => tc.purpose_consent(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::tcf::decode;

    fn vector(name: &str) -> String {
        let path = format!("{}/../tests/tcf-vectors/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Strings built with `@iabtcf/core` (see tests/tcf-vectors) whose purpose bits are known.
    fn vectors() -> Vec<(String, TcString)> {
        let text = vector("vectors.json");
        let file: serde_json::Value = serde_json::from_str(&text).unwrap();
        file["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| {
                let s = v["tc_string"].as_str()?.to_string();
                decode(&s).ok().map(|tc| (s, tc))
            })
            .collect()
    }

    #[test]
    fn every_mapped_purpose_needs_all_its_tcf_purposes() {
        let mut seen_grant = false;
        let mut seen_deny = false;
        for (s, tc) in vectors() {
            let got = decisions(&tc, None);
            assert_eq!(got.len(), MAPPING.len());
            let bits = match &tc.publisher_tc {
                Some(p) => &p.purpose_consents,
                None => &tc.purpose_consents,
            };
            for (purpose, needed) in MAPPING {
                let mut expected = needed.iter().all(|n| bits.is_set((*n).into()));
                if purpose == LOCATION {
                    expected &= tc.special_feature_opt_ins.is_set(1);
                }
                assert_eq!(got[purpose], expected, "{purpose} from {s}");
                seen_grant |= expected;
                seen_deny |= !expected;
            }
        }
        assert!(seen_grant && seen_deny, "the vectors exercise both answers");
    }

    #[test]
    fn a_vendor_needs_its_own_consent_and_no_restriction() {
        let (mut checked, mut restricted_seen) = (0, false);
        for (s, tc) in vectors() {
            let Some(vendor) = tc.vendor_consents.iter().next() else { continue };
            checked += 1;
            let as_vendor = decisions(&tc, Some(vendor));
            for (purpose, needed) in MAPPING {
                let restricted =
                    needed.iter().any(|n| tc.restrictions_for(*n, vendor).any(|r| r == RestrictionType::NotAllowed));
                restricted_seen |= restricted;
                let mut expected = needed.iter().all(|n| tc.purpose_consent(*n)) && !restricted;
                if purpose == LOCATION {
                    expected &= tc.special_feature_opt_in(1);
                }
                assert_eq!(as_vendor[purpose], expected, "{purpose} for vendor {vendor} from {s}");
            }
            let absent = (1..=u16::MAX).find(|id| !tc.vendor_consent(*id)).unwrap();
            assert!(decisions(&tc, Some(absent)).values().all(|g| !g), "no vendor consent, no grant: {s}");
        }
        assert!(checked > 10, "vendor consents exercised: {checked}");
        assert!(restricted_seen, "a \"not allowed\" publisher restriction was exercised");
    }

    #[test]
    fn is_mapped_covers_the_table_and_nothing_else() {
        for p in [ANALYTICS, PERSONALIZATION, MARKETING, LOCATION] {
            assert!(is_mapped(p));
        }
        assert!(!is_mapped("essential") && !is_mapped("loyalty_sync"));
    }
}
