//! What the wallet reads from outside: grant bytes (feed, codes), pinned key-set JSON, signed rotations,
//! redemption code text at the till and feed answers. Each is accepted or refused with a typed reason, never a panic; a refused
//! input leaves nothing behind, and an accepted grant is exactly the bytes that were verified.
#![no_main]

use footfall_core::wallet::{verify_grant, verify_redemption, IssuerSigner, KeySet, RedeemedSerials};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_798_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else { return };
    let keys = KeySet::new(1, vec![IssuerSigner::from_seed("k1", &[0x42; 32]).unwrap().issuer_key(0, None)]).unwrap();
    match selector % 5 {
        0 => match verify_grant(input, &keys, NOW) {
            Ok(g) => assert_eq!(g.bytes(), input),
            Err(e) => assert!(!e.to_string().is_empty()),
        },
        1 => {
            if let Ok(set) = KeySet::from_json(input) {
                assert_eq!(KeySet::from_json(set.to_json().as_bytes()).as_ref(), Ok(&set));
            }
        }
        2 => {
            if let Ok(set) = keys.accept_rotation(input, NOW) {
                assert!(set.version > keys.version);
            }
        }
        3 => {
            if let Ok(page) = footfall_core::wallet::feed::parse_page(input) {
                for upsert in footfall_core::wallet::feed::verify_upserts(&page.upserts, &keys, NOW).0 {
                    assert!(upsert.grant.bytes().len() <= 512);
                }
                let _ = footfall_core::wallet::feed::read_tombstones(&page.tombstones);
            }
        }
        _ => {
            let text = String::from_utf8_lossy(input);
            if let Ok(r) = verify_redemption(&text, &keys, NOW, "s1", &RedeemedSerials::default(), None) {
                assert_eq!(r.device_key.len(), 65);
            }
        }
    }
});
