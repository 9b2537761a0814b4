//! A seeded fuzz pass over the TC string reader, run in the suite: random base64url text and bit mutations of
//! the shared vectors (`tests/tcf-vectors/vectors.json`). Every input must decode or return a typed error —
//! never panic — and both outcomes must be reached. The coverage-guided version is `tests/fuzz` `tcf_decode`.

mod support;

use std::collections::BTreeSet;

use footfall_core::consent::tcf::{decode, TcString, TcfError};

const ITERATIONS: usize = 20_000;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn vectors() -> Vec<String> {
    support::tcf_vectors().iter().map(|v| v["tc_string"].as_str().unwrap().to_string()).collect()
}

fn random_text(rng: &mut fastrand::Rng) -> String {
    let len = rng.usize(0..400);
    let mut text: String = (0..len)
        .map(|_| match rng.u8(0..100) {
            0..=2 => '.',
            3 => '=',
            4 => rng.char(..),
            _ => ALPHABET[rng.usize(0..64)] as char,
        })
        .collect();
    if rng.bool() {
        text.insert(0, 'C'); // version 2, so the reader gets past the first field
    }
    text
}

/// Flips bits inside characters, truncates, splices segments, inserts odd characters.
fn mutate(rng: &mut fastrand::Rng, base: &str, others: &[String]) -> String {
    let mut chars: Vec<u8> = base.bytes().collect();
    for _ in 0..rng.usize(1..4) {
        match rng.u8(0..6) {
            0 | 1 => {
                let i = rng.usize(0..chars.len().max(1)).min(chars.len().saturating_sub(1));
                if let Some(pos) = chars.get(i).and_then(|c| ALPHABET.iter().position(|a| a == c)) {
                    chars[i] = ALPHABET[pos ^ (1 << rng.u8(0..6))];
                }
            }
            2 => chars.truncate(rng.usize(0..=chars.len())),
            3 => {
                let other = &others[rng.usize(0..others.len())];
                if let Some(segment) = other.split('.').nth(rng.usize(0..3)) {
                    chars.push(b'.');
                    chars.extend(segment.bytes());
                }
            }
            4 => {
                let at = rng.usize(0..=chars.len());
                chars.insert(at, [b'.', b'=', b'+', b' ', b'A', b'_'][rng.usize(0..6)]);
            }
            _ => {
                let at = rng.usize(0..=chars.len());
                let run: Vec<u8> = (0..rng.usize(1..30)).map(|_| ALPHABET[rng.usize(0..64)]).collect();
                chars.splice(at..at, run);
            }
        }
    }
    String::from_utf8_lossy(&chars).into_owned()
}

fn check_ok(tc: &TcString, input: &str) {
    assert_eq!(tc.version, 2, "{input}");
    assert_eq!(tc.consent_language.chars().count(), 2);
    assert_eq!(tc.publisher_cc.chars().count(), 2);
    assert_eq!(tc.created % 100, 0);
    let sections = [
        Some(&tc.vendor_consents),
        Some(&tc.vendor_legitimate_interests),
        tc.disclosed_vendors.as_ref(),
        tc.allowed_vendors.as_ref(),
    ];
    let sets =
        sections.into_iter().flatten().map(|s| &s.vendors).chain(tc.publisher_restrictions.iter().map(|r| &r.vendors));
    for set in sets {
        // Sorted, disjoint, non-adjacent ranges of ids ≥ 1: i.e. sorted unique ids.
        let ranges = set.ranges();
        assert!(ranges.iter().all(|&(start, end)| 1 <= start && start <= end), "{input}");
        assert!(ranges.windows(2).all(|w| u32::from(w[0].1) + 1 < u32::from(w[1].0)), "{input}");
    }
    assert!(tc.warnings.iter().all(|w| !w.is_empty() && !w.contains('\n')));
    // Serializing expands every id; skip the few mutants whose ranges span tens of thousands (time, not safety).
    let ids: usize = sections.into_iter().flatten().map(|s| s.vendors.len()).sum();
    if ids < 10_000 {
        serde_json::to_string(tc).expect("serializes");
    }
    // Padding never changes the result.
    assert_eq!(decode(&format!("{input}==")).as_ref(), Ok(tc), "{input}");
}

fn kind(e: &TcfError) -> &'static str {
    match e {
        TcfError::Empty => "empty",
        TcfError::EmptySegment { .. } => "empty segment",
        TcfError::InvalidCharacter { .. } => "character",
        TcfError::UnsupportedVersion(_) => "version",
        TcfError::Truncated { .. } => "truncated",
        TcfError::BitfieldLength { .. } => "bitfield",
        TcfError::DuplicateSegment(_) => "duplicate",
        TcfError::InvalidRange { .. } => "range",
    }
}

#[test]
fn any_input_decodes_or_gets_a_typed_error() {
    let vectors = vectors();
    let mut rng = fastrand::Rng::with_seed(0x7CF);
    let (mut ok, mut warned) = (0usize, 0usize);
    let mut errors = BTreeSet::new();
    for i in 0..ITERATIONS {
        let input = if i % 3 == 0 {
            random_text(&mut rng)
        } else {
            let base = &vectors[rng.usize(0..vectors.len())];
            mutate(&mut rng, base, &vectors)
        };
        match decode(&input) {
            Ok(tc) => {
                check_ok(&tc, &input);
                ok += 1;
                warned += usize::from(!tc.warnings.is_empty());
            }
            Err(e) => {
                let text = e.to_string();
                assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
                assert_eq!(decode(&input).unwrap_err(), e, "deterministic");
                errors.insert(kind(&e));
            }
        }
    }
    eprintln!(
        "tcf fuzz smoke: {ok} decoded ({warned} with warnings), {} rejected; errors reached: {errors:?}",
        ITERATIONS - ok
    );
    assert!(ok > ITERATIONS / 20, "the success path is reached often: {ok}");
    assert!(warned > 0, "lenient paths are reached");
    for expected in ["empty segment", "character", "version", "truncated", "bitfield", "duplicate"] {
        assert!(errors.contains(expected), "{expected} not reached: {errors:?}");
    }
}
