//! The wallet's pure core through its public API, as the feed, the app and a till use it: grants are verified
//! before anything is returned, key sets rotate only under a trusted key, validity follows the store's zone,
//! the evaluator explains itself, and redemption codes are device-bound, fresh and single-use at the till.

use base64::Engine;
use footfall_core::wallet::{
    decode_code, encode_code, evaluate, local_day_bounds, present_code, qr_matrix, sign_rotation, verify_grant,
    verify_redemption, Basket, BasketLine, CouponState, Discount, Eligibility, Grant, GrantError, Gtin, IssuerSigner,
    KeySet, KeySetError, LocalDate, LocalDates, OfflinePolicy, Reason, RedeemedSerials, RedemptionRefused, ServerClock,
    SoftwareDeviceSigner, Validity, VerifiedGrant, WalletCoupon,
};

// 2026-12-23T04:26:40Z: inside the sample coupon's validity.
const NOW: i64 = 1_798_000_000;
// A P-256 key generated once by SoftwareDeviceSigner::generate() and committed, so every run is the same device.
const DEVICE_PKCS8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfT1SBWD0vYbVtB0IAumuQaESL53dsijs4j0QMP9KOHyhRANCAAREto6KwumIkkpTfxiNi2JWpA/NTuhxff59At/Kwj1UZKdx9m4eiJHDn+IDYxyxX5pbtRp8cH3zmriVs0NvMhH+";
const ITEM: &str = "4901234567894";

fn issuer() -> IssuerSigner {
    IssuerSigner::from_seed("k1", &[0x42; 32]).unwrap()
}

fn pinned() -> KeySet {
    KeySet::new(1, vec![issuer().issuer_key(0, None)]).unwrap()
}

fn device() -> SoftwareDeviceSigner {
    SoftwareDeviceSigner::from_pkcs8(&base64::engine::general_purpose::STANDARD.decode(DEVICE_PKCS8).unwrap()).unwrap()
}

fn date(text: &str) -> LocalDate {
    LocalDate::parse(text).unwrap()
}

fn utc(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_second()
}

fn coupon(first: &str, last: &str, zone: &str) -> Grant {
    Grant {
        coupon_id: "xmas10".into(),
        serial: "s-7f3a9c21".into(),
        terms_ref: "t/xmas10".into(),
        currency: "JPY".into(),
        discount: Discount::Percent { basis_points: 1000 },
        eligibility: Eligibility::Gtins(vec![Gtin::parse(ITEM).unwrap()]),
        min_basket_minor: 1000,
        stack_group: Some("seasonal".into()),
        uses_allowed: 1,
        validity: Validity::from_local_dates(
            LocalDates { first_day: date(first), last_day: date(last), zone: zone.into() },
            0,
        )
        .unwrap(),
        offline: OfflinePolicy { accepted: true, max_uses: 1, max_value_minor: 5000 },
    }
}

fn sample() -> Grant {
    coupon("2026-12-01", "2026-12-24", "Asia/Tokyo")
}

fn verified(grant: &Grant) -> VerifiedGrant {
    verify_grant(&grant.sign(&issuer()).unwrap(), &pinned(), NOW).unwrap()
}

fn basket(at: i64) -> Basket {
    Basket {
        store_id: "tokyo-01".into(),
        currency: "JPY".into(),
        lines: vec![BasketLine { gtin: Gtin::parse(ITEM).unwrap(), family: None, quantity: 1, unit_price_minor: 2000 }],
        at,
        online: true,
    }
}

fn reasons(grant: &VerifiedGrant, state: CouponState, basket: &Basket) -> Vec<Reason> {
    evaluate(&[WalletCoupon { grant, state }], basket).unwrap().remove(0).reasons
}

#[test]
fn a_forged_or_altered_grant_is_never_returned() {
    let bytes = sample().sign(&issuer()).unwrap();
    let keys = pinned();
    assert!(verify_grant(&bytes, &keys, NOW).is_ok());
    let flip = |i: usize| {
        let mut altered = bytes.clone();
        altered[i] ^= 0x20;
        verify_grant(&altered, &keys, NOW)
    };
    // The key id ("k1" at bytes 2-3), the payload, the signature (the last 64 bytes).
    assert_eq!(flip(2), Err(GrantError::UnknownKey("K1".into())));
    for i in [12, 40, bytes.len() - 70] {
        assert_eq!(flip(i), Err(GrantError::BadSignature), "payload byte {i}");
    }
    for i in [bytes.len() - 64, bytes.len() - 1] {
        assert_eq!(flip(i), Err(GrantError::BadSignature), "signature byte {i}");
    }
    // A well-formed grant from a key nobody trusts, an unknown version, truncation.
    let forged = sample().sign(&IssuerSigner::from_seed("k2", &[0x13; 32]).unwrap()).unwrap();
    assert_eq!(verify_grant(&forged, &keys, NOW), Err(GrantError::UnknownKey("k2".into())));
    let impostor = sample().sign(&IssuerSigner::from_seed("k1", &[0x13; 32]).unwrap()).unwrap();
    assert_eq!(verify_grant(&impostor, &keys, NOW), Err(GrantError::BadSignature));
    let mut v2 = bytes.clone();
    v2[0] = 2;
    assert_eq!(verify_grant(&v2, &keys, NOW), Err(GrantError::UnknownVersion(2)));
    assert!(matches!(verify_grant(&bytes[..60], &keys, NOW), Err(GrantError::BadSignature | GrantError::Malformed(_))));
    assert!(matches!(verify_grant(&[1, 2, b'k'], &keys, NOW), Err(GrantError::Malformed(_))));
    assert!(matches!(verify_grant(&[1; 4096], &keys, NOW), Err(GrantError::TooLarge { .. })));
}

#[test]
fn a_rotation_signed_by_a_trusted_key_is_accepted_and_one_by_an_unknown_key_refused() {
    let old = issuer();
    let new = IssuerSigner::from_seed("k2", &[0x24; 32]).unwrap();
    let next = KeySet::new(2, vec![old.issuer_key(0, Some(NOW + 86_400)), new.issuer_key(NOW - 60, None)]).unwrap();
    let grant_by_new = sample().sign(&new).unwrap();

    // Before rotation the new key's grants are refused; after, accepted. The pinned JSON survives a reload.
    assert_eq!(verify_grant(&grant_by_new, &pinned(), NOW), Err(GrantError::UnknownKey("k2".into())));
    let rotated = pinned().accept_rotation(&sign_rotation(&next, &old), NOW).unwrap();
    let reloaded = KeySet::from_json(rotated.to_json().as_bytes()).unwrap();
    assert_eq!(reloaded, next);
    assert!(verify_grant(&grant_by_new, &reloaded, NOW).is_ok());

    let stranger = IssuerSigner::from_seed("evil", &[0x66; 32]).unwrap();
    let hostile = KeySet::new(9, vec![stranger.issuer_key(0, None)]).unwrap();
    assert_eq!(
        pinned().accept_rotation(&sign_rotation(&hostile, &stranger), NOW),
        Err(KeySetError::UnknownSigner("evil".into()))
    );
}

#[test]
fn validity_ends_at_the_end_of_the_stores_local_day() {
    let cases = [
        // zone, last local day, the UTC instant it ends
        ("Asia/Tokyo", "2026-12-24", "2026-12-24T15:00:00Z"),
        ("America/New_York", "2026-03-07", "2026-03-08T05:00:00Z"), // EST; that night springs forward
        ("America/New_York", "2026-03-08", "2026-03-09T04:00:00Z"), // EDT
        ("America/New_York", "2026-10-31", "2026-11-01T04:00:00Z"), // EDT; that night falls back
        ("America/New_York", "2026-11-01", "2026-11-02T05:00:00Z"), // EST
        ("Pacific/Kiritimati", "2026-12-24", "2026-12-24T10:00:00Z"), // UTC+14
        ("Pacific/Pago_Pago", "2026-12-24", "2026-12-25T11:00:00Z"), // UTC−11, same date 25 h later
    ];
    for (zone, last, end) in cases {
        let grant = coupon("2026-01-01", last, zone);
        let end = utc(end);
        assert_eq!(grant.validity.not_after, end, "{zone} {last}");
        let g = verify_grant(&grant.sign(&issuer()).unwrap(), &pinned(), end - 1).unwrap();
        assert_eq!(reasons(&g, CouponState::default(), &basket(end - 1)), vec![], "{zone} {last}: last second");
        assert_eq!(reasons(&g, CouponState::default(), &basket(end)), vec![Reason::Expired], "{zone} {last}: end");
    }
    // The first instant too, in New York on the day clocks fall back (a 25-hour day).
    let (start, end) = local_day_bounds(date("2026-11-01"), date("2026-11-01"), "America/New_York").unwrap();
    assert_eq!((start, end - start), (utc("2026-11-01T04:00:00Z"), 25 * 3600));
    let g = verified(&coupon("2026-11-01", "2026-11-01", "America/New_York"));
    assert_eq!(reasons(&g, CouponState::default(), &basket(start - 1)), vec![Reason::NotYetValid]);
    assert_eq!(reasons(&g, CouponState::default(), &basket(start)), vec![]);
}

#[test]
fn grace_and_the_server_clock_decide_together() {
    let mut grant = sample();
    grant.validity.grace_secs = 600;
    let g = verified(&grant);
    let end = utc("2026-12-24T15:00:00Z");
    assert_eq!(reasons(&g, CouponState::default(), &basket(end + 599)), vec![]);
    assert_eq!(reasons(&g, CouponState::default(), &basket(end + 600)), vec![Reason::Expired]);
    // A phone 20 minutes fast would call it expired; corrected by the server's Date header it is still in grace.
    let device_ms = (end + 1200 + 300) * 1000;
    let clock = ServerClock::from_date_header("Thu, 24 Dec 2026 15:05:00 GMT", device_ms).unwrap();
    assert_eq!(reasons(&g, CouponState::default(), &basket(device_ms / 1000)), vec![Reason::Expired]);
    assert_eq!(reasons(&g, CouponState::default(), &basket(clock.now_secs(device_ms))), vec![]);
}

#[test]
fn every_reason_code_is_reachable() {
    let g = verified(&sample());
    let ok = basket(NOW);
    let none = CouponState::default();
    let mut seen = Vec::new();
    seen.extend(reasons(&g, CouponState { revoked: true, ..none }, &ok));
    seen.extend(reasons(&g, none, &basket(g.grant().validity.not_before - 1)));
    seen.extend(reasons(&g, none, &basket(g.grant().validity.not_after)));
    seen.extend(reasons(&g, CouponState { uses: 1, ..none }, &ok));
    let mut offline = ok.clone();
    offline.online = false;
    seen.extend(reasons(&g, CouponState { offline_uses_since_sync: 1, ..none }, &offline));
    let mut online_only = sample();
    online_only.offline.accepted = false;
    seen.extend(reasons(&verified(&online_only), none, &offline));
    let mut usd = ok.clone();
    usd.currency = "USD".into();
    seen.extend(reasons(&g, none, &usd));
    let mut other_item = ok.clone();
    other_item.lines[0].gtin = Gtin::parse("4901234567887").unwrap();
    seen.extend(reasons(&g, none, &other_item));
    let mut small = ok.clone();
    small.lines[0].unit_price_minor = 500;
    seen.extend(reasons(&g, none, &small));
    let mut rival = sample();
    rival.coupon_id = "xmas-bigger".into();
    rival.discount = Discount::Amount { minor: 500 };
    let rival = verified(&rival);
    let both =
        evaluate(&[WalletCoupon { grant: &g, state: none }, WalletCoupon { grant: &rival, state: none }], &ok).unwrap();
    assert_eq!((both[1].applies, both[1].discount_minor), (true, 500));
    seen.extend(both[0].reasons.iter().copied());
    seen.sort();
    let codes: Vec<_> = seen.iter().map(Reason::code).collect();
    assert_eq!(
        codes,
        [
            "revoked",
            "not_yet_valid",
            "expired",
            "uses_exhausted",
            "offline_not_accepted",
            "offline_limit",
            "currency_mismatch",
            "not_eligible_item",
            "min_basket",
            "stack_conflict"
        ]
    );
}

#[test]
fn a_redemption_code_round_trips_and_verifies_at_the_till() {
    let g = verified(&sample());
    let code = present_code(&g, &device(), 41, NOW, None).unwrap();
    let ok = verify_redemption(&code, &pinned(), NOW + 45, "tokyo-01", &RedeemedSerials::default(), None).unwrap();
    assert_eq!((ok.grant.grant().serial.as_str(), ok.counter, ok.store_id.as_str()), ("s-7f3a9c21", 41, "tokyo-01"));
    assert_eq!(ok.grant.bytes(), g.bytes());
    let decoded = decode_code(&code).unwrap();
    assert_eq!(encode_code(&decoded.grant_bytes, &decoded.proof).unwrap(), code);
}

#[test]
fn a_tampered_code_is_refused() {
    let g = verified(&sample());
    let decoded = decode_code(&present_code(&g, &device(), 41, NOW, None).unwrap()).unwrap();
    let till = RedeemedSerials::default();
    let verify = |grant: &[u8], proof| {
        verify_redemption(&encode_code(grant, &proof).unwrap(), &pinned(), NOW, "tokyo-01", &till, None)
    };
    let mut counter = decoded.proof.clone();
    counter.counter = 42;
    assert_eq!(verify(&decoded.grant_bytes, counter), Err(RedemptionRefused::BadProof));
    let mut proof = decoded.proof.clone();
    proof.signature[0] ^= 0x80;
    assert_eq!(verify(&decoded.grant_bytes, proof), Err(RedemptionRefused::BadProof));
    let mut grant = decoded.grant_bytes.clone();
    grant[20] ^= 0x01;
    assert_eq!(verify(&grant, decoded.proof.clone()), Err(RedemptionRefused::Grant(GrantError::BadSignature)));
    // A genuine grant with a higher uses_allowed, proof signed over the old one: refused.
    let mut generous = sample();
    generous.uses_allowed = 9;
    assert_eq!(verify(verified(&generous).bytes(), decoded.proof.clone()), Err(RedemptionRefused::BadProof));
}

#[test]
fn a_replayed_single_use_serial_is_refused_at_the_till() {
    let g = verified(&sample());
    let mut till = RedeemedSerials::default();
    let first = present_code(&g, &device(), 1, NOW, None).unwrap();
    let accepted = verify_redemption(&first, &pinned(), NOW, "tokyo-01", &till, None).unwrap();
    till.record(&accepted);
    assert_eq!(till.uses("xmas10", "s-7f3a9c21"), 1);
    // The same code again (a screenshot), and a fresh code from the same or another phone.
    assert!(matches!(
        verify_redemption(&first, &pinned(), NOW, "tokyo-01", &till, None),
        Err(RedemptionRefused::Replayed { counter: 1, .. })
    ));
    let again = present_code(&g, &device(), 2, NOW, None).unwrap();
    assert_eq!(
        verify_redemption(&again, &pinned(), NOW, "tokyo-01", &till, None),
        Err(RedemptionRefused::AlreadyRedeemed { uses: 1 })
    );
    let second_phone = SoftwareDeviceSigner::generate().unwrap().0;
    let other = present_code(&g, &second_phone, 1, NOW, None).unwrap();
    assert_eq!(
        verify_redemption(&other, &pinned(), NOW, "tokyo-01", &till, None),
        Err(RedemptionRefused::AlreadyRedeemed { uses: 1 })
    );
}

#[test]
fn a_stale_code_is_refused() {
    let g = verified(&sample());
    let code = present_code(&g, &device(), 1, NOW, None).unwrap();
    let till = RedeemedSerials::default();
    assert!(verify_redemption(&code, &pinned(), NOW + 90, "tokyo-01", &till, None).is_ok());
    assert!(matches!(
        verify_redemption(&code, &pinned(), NOW + 3600, "tokyo-01", &till, None),
        Err(RedemptionRefused::Stale { .. })
    ));
    assert!(matches!(
        verify_redemption(&code, &pinned(), NOW - 3600, "tokyo-01", &till, None),
        Err(RedemptionRefused::Stale { .. })
    ));
}

/// The sizes the docs quote: measured here on real codes.
#[test]
fn codes_fit_a_qr_code_a_phone_screen_and_a_till_scanner_read() {
    let typical = verified(&sample());
    let code = present_code(&typical, &device(), 1_000, NOW, Some(b"till-7")).unwrap();
    let bytes = typical.bytes().len();
    let matrix = qr_matrix(&code).unwrap();
    assert_eq!(bytes, 157, "typical grant bytes");
    assert_eq!(
        (code.len(), decode_code(&code).unwrap().grant_bytes.len()),
        (444, bytes),
        "typical code: 296 bytes as Base45"
    );
    assert_eq!((matrix.version, matrix.width), (13, 69), "typical QR version at level M");

    // The largest grant the format allows content-wise: 16 GTINs, 32-character ids.
    let mut worst = sample();
    worst.coupon_id = "c".repeat(32);
    worst.serial = "s".repeat(32);
    worst.terms_ref = "t".repeat(32);
    worst.eligibility = Eligibility::Gtins(vec![Gtin::parse("04901234567894").unwrap(); 16]);
    let worst = verified(&worst);
    let code = present_code(&worst, &device(), u64::from(u32::MAX), NOW, Some(&[7; 32])).unwrap();
    let matrix = qr_matrix(&code).unwrap();
    assert_eq!((worst.bytes().len(), code.len(), matrix.version), (334, 714, 17), "worst case: 476 bytes, QR 17-M");
}
