//! `footfall demo`, part two: the coupon wallet. A shopper signed in on two phones holds one single-use coupon;
//! both present it in a basement with no signal, two offline tills accept both codes, and once the phones sync the
//! issuer accepts one and records the other as a double spend attributed to the second phone's device key.
//! Real core, real collector (with its reference issuer) on loopback.

use std::time::Duration;

use footfall_collector::wallet::{add_coupon, read_redemptions, CouponSpec};
use footfall_collector::{Collector, CollectorConfig, FaultConfig};
use footfall_core::consent::record::Method;
use footfall_core::wallet::{qr_matrix, verify_redemption, Discount, KeySet, LocalDate, RedeemedSerials};
use footfall_core::{Config, Footfall, RetryPolicy};
use serde_json::json;

const SHOPPER: &str = "shopper-42";
const COUPON: &str = "xmas-300";
const ZONE: &str = "Asia/Tokyo";

/// Runs the wallet story; Ok(true) when the issuer's record is exactly one accepted use and one double spend
/// naming the second phone.
pub fn run(workdir: &std::path::Path) -> Result<bool, String> {
    let db = workdir.join("issuer.db");
    let mut collector_config = CollectorConfig::new("127.0.0.1:0".parse().expect("literal address"), &db);
    collector_config.issuer_key = Some(workdir.join("issuer-key.json"));
    let collector = Collector::start(collector_config).map_err(|e| format!("cannot start the issuer: {e}"))?;
    let keyset = collector.wallet_keyset_json().ok_or("the issuer has no key set")?;

    println!("Part two: the coupon wallet");
    println!("  issuer     {} (reference collector with an Ed25519 issuer key)", collector.base_url());
    println!();
    println!(
        "6. The product team issues a ¥300 coupon to {SHOPPER}, single use, valid to a store-local day in {ZONE}."
    );
    let last_day = local_day_in(30)?;
    let mut spec =
        CouponSpec::new(COUPON, "¥300 off your next visit", Discount::Amount { minor: 300 }, "JPY", last_day, ZONE);
    spec.user = Some(SHOPPER.into());
    add_coupon(&db, spec).map_err(|e| e.to_string())?;

    let phone_a = Phone::open(workdir, "phone-a", &collector, &keyset)?;
    let phone_b = Phone::open(workdir, "phone-b", &collector, &keyset)?;
    let coupon = phone_a.sdk.wallet_coupons(None).map_err(|e| e.to_string())?;
    let coupon = coupon.first().ok_or("the coupon did not reach phone A")?;
    println!(
        "   phone A synced: {} \"{}\" {} — valid until {} {} (ends {}), usable now: {}",
        coupon.id,
        coupon.title.as_deref().unwrap_or(""),
        coupon.discount,
        coupon.valid_until_local.as_deref().unwrap_or("?"),
        coupon.zone.as_deref().unwrap_or(""),
        coupon.valid_until,
        coupon.usable_now
    );
    phone_a.sdk.wallet_clip(COUPON).map_err(|e| e.to_string())?;
    println!("   phone A clips it (state and clip committed together; the clip reaches the issuer)");
    println!("   phone B, the same shopper signed in on a second phone, holds the same serial: {}", phone_b.serial()?);

    println!();
    println!("7. In the store's basement, no signal (every request fails). Both phones present the coupon.");
    collector.set_faults(FaultConfig { fail_rate: 1.0, fail_status: 503, ..FaultConfig::default() });
    let mut codes = Vec::new();
    for (name, phone, store) in [("A", &phone_a, "tokyo-shibuya-01"), ("B", &phone_b, "tokyo-ginza-02")] {
        let code = phone.sdk.wallet_present(COUPON, store, None).map_err(|e| e.to_string())?;
        let qr = qr_matrix(&code.code).map_err(|e| e.to_string())?;
        println!(
            "   phone {name} at {store}: code #{} from device {} ({} characters, QR version {} = {}×{} modules)",
            code.counter,
            code.device,
            code.code.len(),
            qr.version,
            qr.width,
            qr.width
        );
        let state = &phone.sdk.wallet_coupons(None).map_err(|e| e.to_string())?[0];
        println!("     coupon is now {} (only the issuer can make it redeemed)", state.state);
        codes.push((code, store));
    }

    println!();
    println!("8. Each store's till is offline too; it checks the code with nothing but the issuer's key set.");
    let keys = KeySet::from_json(keyset.as_bytes()).map_err(|e| e.to_string())?;
    let now = phone_a.sdk.wallet_now().map_err(|e| e.to_string())?;
    for (code, store) in &codes {
        let mut till = RedeemedSerials::default();
        let accepted = verify_redemption(&code.code, &keys, now, store, &till, None).map_err(|e| e.to_string())?;
        till.record(&accepted);
        println!(
            "   till at {store}: ✓ {} serial {} from device {}, discount applied",
            COUPON,
            accepted.grant.grant().serial,
            accepted.device_id
        );
        match verify_redemption(&code.code, &keys, now, store, &till, None) {
            Err(refused) => println!("     the same code scanned again at this till: ✗ {refused}"),
            Ok(_) => return Err("a till accepted the same code twice".into()),
        }
    }
    println!("   (two offline tills cannot know about each other: the issuer settles it when the phones sync)");

    println!();
    println!("9. Back above ground: phone A syncs, then phone B.");
    collector.set_faults(FaultConfig::default());
    for phone in [&phone_a, &phone_b] {
        phone.sdk.flush().map_err(|e| e.to_string())?;
        let state = &phone.sdk.wallet_coupons(None).map_err(|e| e.to_string())?[0];
        let own = phone.own_redemption()?;
        println!(
            "   phone {}: its redemption was {}; the coupon is {} (at {} by device {})",
            phone.name,
            own,
            state.state,
            state.store_id.as_deref().unwrap_or("?"),
            state.device.as_deref().unwrap_or("?")
        );
    }
    let recorded = read_redemptions(&db).map_err(|e| e.to_string())?;
    println!("   the issuer's record:");
    for r in &recorded {
        println!(
            "     {}",
            json!({"coupon_id": r.coupon_id, "serial": r.serial, "device": r.device, "counter": r.counter,
                   "store": r.store_id, "status": r.status})
        );
    }
    let statuses: Vec<(&str, Option<&str>)> =
        recorded.iter().map(|r| (r.status.as_str(), r.device.as_deref())).collect();
    let caught = statuses
        == [("accepted", Some(codes[0].0.device.as_str())), ("double_spend", Some(codes[1].0.device.as_str()))];
    println!();
    if caught {
        println!(
            "✓ one use accepted; the second phone's attempt is caught as a double spend, attributed to its device key"
        );
    } else {
        println!("✗ expected one accepted use and one double spend by phone B, got {statuses:?}");
    }
    Ok(caught)
}

struct Phone {
    name: &'static str,
    sdk: Footfall,
}

impl Phone {
    /// A phone with the app: the shopper allows analytics, signs in, and the wallet syncs (at home, online).
    fn open(workdir: &std::path::Path, dir: &str, collector: &Collector, keyset: &str) -> Result<Phone, String> {
        let mut config = Config::new(workdir.join(dir)).with_endpoint(collector.base_url()).with_wallet_keyset(keyset);
        config.flush.automatic = false;
        config.retry =
            RetryPolicy { base: Duration::from_millis(100), cap: Duration::from_millis(800), ..RetryPolicy::default() };
        let sdk = Footfall::open(config).map_err(|e| e.to_string())?;
        sdk.grant(&["analytics"], Method::Settings).map_err(|e| e.to_string())?;
        sdk.identify(SHOPPER, json!({})).map_err(|e| e.to_string())?;
        sdk.wallet_sync().map_err(|e| e.to_string())?;
        Ok(Phone { name: if dir.ends_with('a') { "A" } else { "B" }, sdk })
    }

    /// What the issuer answered about this phone's redemption (the wallet's export keeps it).
    fn own_redemption(&self) -> Result<String, String> {
        let export = self.sdk.export_data().map_err(|e| e.to_string())?;
        let outbox = export["wallet"]["outbox"].as_array().cloned().unwrap_or_default();
        let last = outbox.iter().rev().find(|i| i["kind"] == "redemption").ok_or("no redemption on this phone")?;
        Ok(last["result"].as_str().unwrap_or("not answered").to_string())
    }

    fn serial(&self) -> Result<String, String> {
        let coupons = self.sdk.wallet_coupons(None).map_err(|e| e.to_string())?;
        Ok(coupons.first().map(|c| c.serial.clone()).unwrap_or_default())
    }
}

/// The UTC calendar day `days` from now (the coupon's last store-local day; a day either way does not matter).
fn local_day_in(days: i64) -> Result<LocalDate, String> {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days);
    let date = jiff::tz::TimeZone::UTC.to_datetime(at).date();
    LocalDate::new(date.year(), date.month() as u8, date.day() as u8).map_err(|e| e.to_string())
}
