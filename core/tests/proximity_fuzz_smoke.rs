//! A seeded fuzz pass over the beacon frame parser: mutated and random advertisements get a frame or a typed error,
//! never a panic, and both outcomes are reached.

use footfall_core::proximity::{parse_advertisement, BeaconFrame};

const ITERATIONS: usize = 50_000;
const SEEDS: [&str; 5] = [
    "0201061aff4c0002152f234454cf6d4a0fadf2f4911ba9ffa601020304c5",
    "02011a1bff1801beac2f234454cf6d4a0fadf2f4911ba9ffa600010002c509",
    "0201060303aafe1716aafe00e78b0ca750e7a74e14bd990000000000010000",
    "0201060303aafe0d16aafe10e702676f6f676c65000c09526164426561636f6e2047",
    "0201060303aafe1116aafe20000bb81780000003e800000e15",
];

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn any_advertisement_is_a_frame_or_a_typed_error() {
    let mut rng = fastrand::Rng::with_seed(13);
    let seeds: Vec<Vec<u8>> = SEEDS.iter().map(|s| hex(s)).collect();
    let (mut frames, mut errors) = (0, 0);
    for i in 0..ITERATIONS {
        let data: Vec<u8> = if i % 5 == 0 {
            (0..rng.usize(0..64)).map(|_| rng.u8(..)).collect()
        } else {
            let mut b = seeds[rng.usize(0..seeds.len())].clone();
            for _ in 0..rng.usize(0..4) {
                let at = rng.usize(0..=b.len());
                match rng.u8(0..4) {
                    0 if at < b.len() => b[at] ^= 1 << rng.u8(0..8),
                    1 => b.truncate(at),
                    2 => b.insert(at, rng.u8(..)),
                    _ if at < b.len() => b[at] = rng.u8(..),
                    _ => {}
                }
            }
            b
        };
        match parse_advertisement(&data) {
            Ok(frame) => {
                frames += 1;
                if let BeaconFrame::EddystoneUrl { url, .. } = frame {
                    assert!(url.starts_with("http"), "{url}");
                }
            }
            Err(e) => {
                errors += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(frames > 1_000 && errors > 1_000, "{frames} frames, {errors} errors");
}
