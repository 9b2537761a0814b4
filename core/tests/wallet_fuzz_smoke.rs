//! A seeded fuzz pass over everything the wallet parses from outside: grant bytes (from the feed and inside
//! codes), key-set JSON and signed rotations, redemption code text at the till, dates and `Date` headers. Each
//! input gets a value or a typed error — never a panic — and both outcomes are reached.

use footfall_core::wallet::{
    decode_code, parse_imf_fixdate, present_code, sign_rotation, verify_grant, verify_redemption, Discount,
    Eligibility, Grant, Gtin, IssuerSigner, KeySet, LocalDate, LocalDates, OfflinePolicy, RedeemedSerials,
    SoftwareDeviceSigner, Validity,
};

const ITERATIONS: usize = 20_000;
const NOW: i64 = 1_798_000_000;
const BASE45: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

fn issuer() -> IssuerSigner {
    IssuerSigner::from_seed("k1", &[0x42; 32]).unwrap()
}

fn keys() -> KeySet {
    KeySet::new(1, vec![issuer().issuer_key(0, None)]).unwrap()
}

fn grant_bytes() -> Vec<u8> {
    Grant {
        coupon_id: "xmas10".into(),
        serial: "s-1".into(),
        terms_ref: String::new(),
        currency: "EUR".into(),
        discount: Discount::Amount { minor: 300 },
        eligibility: Eligibility::Gtins(vec![Gtin::parse("4901234567894").unwrap(), Gtin::parse("96385074").unwrap()]),
        min_basket_minor: 0,
        stack_group: None,
        uses_allowed: 3,
        validity: Validity::from_local_dates(
            LocalDates {
                first_day: LocalDate::parse("2026-12-01").unwrap(),
                last_day: LocalDate::parse("2026-12-31").unwrap(),
                zone: "Europe/Paris".into(),
            },
            60,
        )
        .unwrap(),
        offline: OfflinePolicy { accepted: true, max_uses: 2, max_value_minor: 1000 },
    }
    .sign(&issuer())
    .unwrap()
}

/// Flips, truncates, inserts or overwrites a few bytes; sometimes leaves the input alone.
fn mutate(rng: &mut fastrand::Rng, bytes: &mut Vec<u8>) {
    for _ in 0..rng.usize(0..4) {
        let at = rng.usize(0..=bytes.len());
        match rng.u8(0..4) {
            0 if at < bytes.len() => bytes[at] ^= 1 << rng.u8(0..8),
            1 => bytes.truncate(at),
            2 => bytes.insert(at, rng.u8(..)),
            _ if at < bytes.len() => bytes[at] = rng.u8(..),
            _ => {}
        }
    }
}

#[test]
fn any_grant_bytes_verify_or_get_a_typed_refusal() {
    let mut rng = fastrand::Rng::with_seed(21);
    let (seed, keys) = (grant_bytes(), keys());
    let (mut ok, mut refused) = (0, 0);
    for i in 0..ITERATIONS {
        let bytes = if i % 4 == 0 {
            (0..rng.usize(0..700)).map(|_| rng.u8(..)).collect()
        } else {
            let mut b = seed.clone();
            mutate(&mut rng, &mut b);
            b
        };
        match verify_grant(&bytes, &keys, NOW) {
            Ok(g) => {
                ok += 1;
                assert_eq!(g.bytes(), &seed[..], "only the genuine grant verifies");
            }
            Err(e) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(ok > 100 && refused > 1000, "{ok} verified, {refused} refused");
}

#[test]
fn any_key_set_or_rotation_is_read_or_refused() {
    let mut rng = fastrand::Rng::with_seed(22);
    let trusted = keys();
    let next = KeySet::new(
        2,
        vec![issuer().issuer_key(0, None), IssuerSigner::from_seed("k2", &[1; 32]).unwrap().issuer_key(5, Some(9))],
    )
    .unwrap();
    let (pinned, rotation) = (next.to_json().into_bytes(), sign_rotation(&next, &issuer()));
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..ITERATIONS {
        let mut a = pinned.clone();
        mutate(&mut rng, &mut a);
        let mut b = rotation.clone();
        mutate(&mut rng, &mut b);
        for result in [KeySet::from_json(&a), trusted.accept_rotation(&b, NOW)] {
            match result {
                Ok(set) => {
                    ok += 1;
                    assert!(!set.keys.is_empty() && set.keys.len() <= 16);
                }
                Err(e) => {
                    refused += 1;
                    assert!(!e.to_string().is_empty());
                }
            }
        }
    }
    assert!(ok > 100 && refused > 1000, "{ok} read, {refused} refused");
}

#[test]
fn any_code_text_at_the_till_is_verified_or_refused() {
    let mut rng = fastrand::Rng::with_seed(23);
    let keys = keys();
    let grant = verify_grant(&grant_bytes(), &keys, NOW).unwrap();
    let device = SoftwareDeviceSigner::generate().unwrap().0;
    let genuine = present_code(&grant, &device, 9, NOW, None).unwrap();
    let till = RedeemedSerials::default();
    let (mut ok, mut refused) = (0, 0);
    for i in 0..ITERATIONS {
        let text: String = if i % 5 == 0 {
            (0..rng.usize(0..900)).map(|_| char::from(BASE45[rng.usize(0..BASE45.len())])).collect()
        } else if i % 5 == 1 {
            (0..rng.usize(0..300)).map(|_| rng.char(..)).collect()
        } else {
            let mut b = genuine.clone().into_bytes();
            mutate(&mut rng, &mut b);
            String::from_utf8_lossy(&b).into_owned()
        };
        let _ = decode_code(&text);
        match verify_redemption(&text, &keys, NOW, "s1", &till, None) {
            Ok(r) => {
                ok += 1;
                assert_eq!((r.counter, r.grant.bytes()), (9, grant.bytes()));
            }
            Err(e) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(ok > 100 && refused > 1000, "{ok} verified, {refused} refused");
}

#[test]
fn dates_and_date_headers_parse_or_are_refused() {
    let mut rng = fastrand::Rng::with_seed(24);
    let alphabet: &[u8] = b"0123456789-:, GMTSunThuDecFeb+";
    let (mut ok, mut refused) = (0, 0);
    for i in 0..ITERATIONS {
        let text: String = if i % 2 == 0 {
            format!("{:04}-{:02}-{:02}", rng.i32(-10..12_000), rng.u8(0..15), rng.u8(0..35))
        } else if i % 4 == 1 {
            format!(
                "Thu, {:02} Dec {:04} {:02}:{:02}:{:02} GMT",
                rng.u8(0..40),
                rng.i32(0..10_000),
                rng.u8(0..30),
                rng.u8(0..70),
                rng.u8(0..70)
            )
        } else {
            (0..rng.usize(0..35)).map(|_| char::from(alphabet[rng.usize(0..alphabet.len())])).collect()
        };
        match (LocalDate::parse(&text).is_ok(), parse_imf_fixdate(&text).is_ok()) {
            (false, false) => refused += 1,
            _ => ok += 1,
        }
    }
    assert!(ok > 100 && refused > 100, "{ok} parsed, {refused} refused");
}

#[test]
fn any_feed_answer_is_applied_entry_by_entry_or_refused_whole() {
    use base64::Engine;
    use footfall_core::wallet::feed::{parse_page, read_tombstones, verify_upserts};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut rng = fastrand::Rng::with_seed(25);
    let keys = keys();
    let genuine = serde_json::json!({
        "cursor": "djE6MTI", "hasMore": false, "full": true,
        "upserts": [{"grant": b64.encode(grant_bytes()), "uses": 1}],
        "tombstones": [{"couponId": "a", "serial": "s", "reason": "revoked", "at": "2026-12-05T09:12:44.000Z"}],
    })
    .to_string()
    .into_bytes();
    let (mut pages, mut refused, mut kept) = (0, 0, 0);
    for _ in 0..ITERATIONS {
        let mut body = genuine.clone();
        mutate(&mut rng, &mut body);
        match parse_page(&body) {
            Ok(page) => {
                pages += 1;
                let (grants, bad) = verify_upserts(&page.upserts, &keys, NOW);
                let (_, bad_tombstones) = read_tombstones(&page.tombstones);
                kept += grants.len();
                for g in grants {
                    assert_eq!(g.grant.bytes(), &grant_bytes()[..], "only the genuine grant is kept");
                }
                assert!(bad.iter().chain(&bad_tombstones).all(|r| !r.reason.is_empty()));
            }
            Err(e) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(pages > 100 && refused > 100 && kept > 100, "{pages} pages, {refused} refused, {kept} grants kept");
}
