//! Properties JSON handed in through the FFI: accepted within the limits or refused with a reason, never a panic.
#![no_main]

use footfall_core::event::{parse_object, serialize_object, MAX_PROPERTIES_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(value) = parse_object(text) {
        if let Ok(json) = serialize_object(&value) {
            assert!(json.starts_with('{') && json.len() <= MAX_PROPERTIES_BYTES);
        }
    }
});
