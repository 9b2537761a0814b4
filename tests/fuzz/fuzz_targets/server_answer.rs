//! Whatever a server answers (status, Retry-After, body) becomes a bounded verdict in the SDK, never a panic.
#![no_main]

use footfall_core::sync::verdict::{classify, Verdict, MAX_REASON_CHARS};
use footfall_core::{HttpResponse, RetryPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u16, String, Vec<u8>)| {
    let (status, retry_after, body) = input;
    let policy = RetryPolicy::default();
    let response = HttpResponse { status, headers: vec![("Retry-After".into(), retry_after)], body };
    match classify(&Ok(response), 1_795_000_000_000, &policy) {
        Verdict::Delivered { .. } => {}
        Verdict::Retry { after, reason } => {
            assert!(reason.chars().count() <= MAX_REASON_CHARS);
            if let Some(after) = after {
                assert!(after >= policy.min_retry_after && after <= policy.max_retry_after);
            }
        }
        Verdict::Rejected { reason, .. }
            | Verdict::TooLarge { reason }
            | Verdict::Pause { reason }
            | Verdict::CertificateInvalid { reason } => {
            assert!(reason.chars().count() <= MAX_REASON_CHARS);
        }
    }
});
