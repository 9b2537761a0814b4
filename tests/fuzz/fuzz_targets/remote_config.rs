//! The `GET /v1/config` body a server sends: a policy or a typed refusal, never a panic. An accepted policy is
//! stored as JSON and read back at every start, so it must survive that round trip unchanged (a policy that did
//! not would silently fall back to the built-in one), and the re-prompt decision must be computable from it.
#![no_main]

use footfall_core::consent::policy::Policy;
use footfall_core::consent::state::ConsentState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Policy::from_remote_config(data) {
        Ok(policy) => {
            let stored = serde_json::to_string(&policy).expect("a policy serializes");
            let reloaded: Policy = serde_json::from_str(&stored).expect("the stored policy parses");
            assert_eq!(reloaded.validated().as_ref(), Ok(&policy));
            let _ = ConsentState::default().needs_prompt(&policy, 1_795_000_000_000);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
