//! The wallet's share of `footfall bench`: how long `present` takes on the phone (a device proof over the grant,
//! encoded for the QR code) and how many codes an offline till verifies per second, against the bare cost of the
//! two signature checks every verification needs (Ed25519 on the grant, P-256 on the proof), measured in the same run.

use std::time::Instant;

use footfall_core::wallet::{
    present_code, verify_grant, verify_redemption, Discount, Eligibility, Grant, Gtin, IssuerSigner, KeySet,
    OfflinePolicy, RedeemedSerials, SoftwareDeviceSigner, Validity,
};
use ring::signature::{self, KeyPair};
use serde_json::{json, Value};

/// Inside the sample grant's validity (2026-12-23T08:26:40Z): the bench decides nothing by the wall clock.
const NOW: i64 = 1_798_000_000;
const CODES: usize = 2_000;

pub fn run() -> Result<Value, String> {
    let issuer = IssuerSigner::from_seed("bench", &[7; 32]).map_err(|e| e.to_string())?;
    let keys = KeySet::new(1, vec![issuer.issuer_key(0, None)]).map_err(|e| e.to_string())?;
    let signed = sample_grant()?.sign(&issuer).map_err(|e| e.to_string())?;
    let grant = verify_grant(&signed, &keys, NOW).map_err(|e| e.to_string())?;
    let (device, _) = SoftwareDeviceSigner::generate().map_err(|e| e.to_string())?;

    let mut codes = Vec::with_capacity(CODES);
    let mut present_ns = Vec::with_capacity(CODES);
    for counter in 0..CODES as u64 {
        let started = Instant::now();
        let code = present_code(&grant, &device, counter, NOW, None).map_err(|e| e.to_string())?;
        present_ns.push(started.elapsed().as_nanos() as u64);
        codes.push(code);
    }
    present_ns.sort_unstable();

    let till = RedeemedSerials::default();
    let started = Instant::now();
    for code in &codes {
        verify_redemption(code, &keys, NOW, "bench-store", &till, None).map_err(|e| e.to_string())?;
    }
    let verify_per_s = CODES as f64 / started.elapsed().as_secs_f64();
    let signatures_per_s = bare_signature_checks()?;
    let signing_p50 = present_ns[CODES / 2];
    let durable_p50 = durable_present_p50_ns()?;

    Ok(json!({
        "present_p50_ns": durable_p50,
        "present_signing_only_p50_ns": signing_p50,
        "present_vs_signing_only": (durable_p50 as f64 / signing_p50 as f64 * 100.0).round() / 100.0,
        "wallet_verify_per_s": verify_per_s.round(),
        "bare_signature_pairs_per_s": signatures_per_s.round(),
        "wallet_verify_vs_bare_signatures": (verify_per_s / signatures_per_s * 100.0).round() / 100.0,
        "code_chars": codes[0].len(),
    }))
}

/// How long `Footfall::wallet_present` takes end to end, as an app calls it: the coupon read and re-verified, the
/// counter committed, the proof signed with the software device key, the redemption committed with the coupon's
/// new state (two SQLite transactions on a real file), with the redemptions before it answered (as after a sync).
/// Its floor is the signing alone, measured above.
fn durable_present_p50_ns() -> Result<u64, String> {
    const PRESENTS: usize = 300;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = dir.path().join("issuer.db");
    let mut config = footfall_collector::CollectorConfig::new("127.0.0.1:0".parse().expect("literal"), &db);
    config.issuer_key = Some(dir.path().join("issuer.json"));
    let collector = footfall_collector::Collector::start(config).map_err(|e| e.to_string())?;
    let today = footfall_core::wallet::LocalDate::new(2099, 12, 31).map_err(|e| e.to_string())?;
    let mut spec = footfall_collector::wallet::CouponSpec::new(
        "bench-multi",
        "bench",
        Discount::Percent { basis_points: 500 },
        "EUR",
        today,
        "Europe/Paris",
    );
    spec.max_uses = 1_000_000;
    spec.offline = OfflinePolicy { accepted: true, max_uses: 1_000_000, max_value_minor: 1 << 40 };
    footfall_collector::wallet::add_coupon(&db, spec).map_err(|e| e.to_string())?;
    let keyset = collector.wallet_keyset_json().ok_or("no issuer key set")?;
    let mut sdk_config = footfall_core::Config::new(dir.path().join("phone"))
        .with_endpoint(collector.base_url())
        .with_wallet_keyset(keyset);
    // Nothing is sent while presenting: the measurement is the phone's own work.
    sdk_config.flush.automatic = false;
    let sdk = footfall_core::Footfall::open(sdk_config).map_err(|e| e.to_string())?;
    sdk.wallet_sync().map_err(|e| e.to_string())?;
    sdk.wallet_present("bench-multi", "bench-store", None).map_err(|e| e.to_string())?; // the device key is made once
    let mut times = Vec::with_capacity(PRESENTS);
    for _ in 0..PRESENTS {
        let started = Instant::now();
        sdk.wallet_present("bench-multi", "bench-store", None).map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_nanos() as u64);
        // Untimed: the phone syncs between visits, so a presentation finds few unanswered redemptions.
        sdk.flush().map_err(|e| e.to_string())?;
    }
    times.sort_unstable();
    Ok(times[PRESENTS / 2])
}

/// Ed25519 + P-256 verification of a message the size of a grant, with `ring` alone: the floor a till cannot beat.
fn bare_signature_checks() -> Result<f64, String> {
    let rng = ring::rand::SystemRandom::new();
    let message = [0x5a_u8; 160];
    let ed = signature::Ed25519KeyPair::from_seed_unchecked(&[9; 32]).map_err(|e| e.to_string())?;
    let ed_sig = ed.sign(&message);
    let ed_key = signature::UnparsedPublicKey::new(&signature::ED25519, ed.public_key().as_ref().to_vec());
    let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|e| e.to_string())?;
    let p256 = signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|e| e.to_string())?;
    let p256_sig = p256.sign(&rng, &message).map_err(|e| e.to_string())?;
    let p256_key =
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, p256.public_key().as_ref().to_vec());
    let started = Instant::now();
    for _ in 0..CODES {
        ed_key.verify(&message, ed_sig.as_ref()).map_err(|_| "ed25519 baseline failed".to_string())?;
        p256_key.verify(&message, p256_sig.as_ref()).map_err(|_| "p-256 baseline failed".to_string())?;
    }
    Ok(CODES as f64 / started.elapsed().as_secs_f64())
}

/// A coupon like the ones the demo issues: 10 % off one GTIN, single use, accepted offline once.
fn sample_grant() -> Result<Grant, String> {
    Ok(Grant {
        coupon_id: "bench10".into(),
        serial: "s-bench-0001".into(),
        terms_ref: "t/bench10".into(),
        currency: "JPY".into(),
        discount: Discount::Percent { basis_points: 1000 },
        eligibility: Eligibility::Gtins(vec![Gtin::parse("4901234567894").map_err(|e| e.to_string())?]),
        min_basket_minor: 1000,
        stack_group: Some("seasonal".into()),
        uses_allowed: 1,
        validity: Validity { not_before: NOW - 86_400, not_after: NOW + 86_400, grace_secs: 0, local: None },
        offline: OfflinePolicy { accepted: true, max_uses: 1, max_value_minor: 5000 },
    })
}
