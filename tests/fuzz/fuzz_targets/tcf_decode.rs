//! An IAB TCF TC string from another CMP: decoded or refused with a typed one-line reason, never a panic, and
//! whatever is decoded keeps its invariants (version 2, sorted unique vendor ids, padding-insensitive).
#![no_main]

use footfall_core::consent::tcf::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match decode(&text) {
        Ok(tc) => {
            assert_eq!(tc.version, 2);
            let sections = [
                Some(&tc.vendor_consents),
                Some(&tc.vendor_legitimate_interests),
                tc.disclosed_vendors.as_ref(),
                tc.allowed_vendors.as_ref(),
            ];
            let sets = sections.iter().flatten().map(|s| &s.vendors).chain(tc.publisher_restrictions.iter().map(|r| &r.vendors));
            for set in sets {
                let ranges = set.ranges();
                assert!(ranges.iter().all(|&(start, end)| 1 <= start && start <= end));
                assert!(ranges.windows(2).all(|w| u32::from(w[0].1) + 1 < u32::from(w[1].0)));
            }
            assert!(tc.warnings.iter().all(|w| !w.contains('\n')));
            assert_eq!(decode(&format!("{text}=")).as_ref(), Ok(&tc));
        }
        Err(e) => {
            let reason = e.to_string();
            assert!(!reason.is_empty() && !reason.contains('\n'));
        }
    }
});
