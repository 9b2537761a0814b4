//! The reference collector's batch parser on arbitrary bytes: a batch or a typed 400, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Err((code, _)) = footfall_collector::fuzzing::parse_batch(body, &["poison".to_string()]) {
        assert!(code == "invalid_batch" || code == "invalid_event");
    }
});
