//! Nothing personal reaches the logs, or the database file in clear. The whole flow — consent, sign-in with traits, tracked properties, upload,
//! the wallet's sync, clip and presentation, a deletion request — runs against the reference collector with every
//! `tracing` record at the most verbose level captured (formatted as the apps' log sinks receive them: message and
//! fields, spans included), then the capture is searched for the user id, the traits, the property values and the
//! coupon's serial and code.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use footfall_collector::wallet::{add_coupon, CouponSpec};
use footfall_core::consent::record::Method;
use footfall_core::wallet::{Discount, LocalDate};
use footfall_core::{Config, Event, Footfall};
use footfall_tests::collector_in;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::{Event as Record, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

const USER: &str = "shopper-7d1c@example.com";
const NAME: &str = "Hanako Yamada";
const PHONE: &str = "+81-90-1234-5678";
const SKU: &str = "4901234567894";
const STORE_NOTE: &str = "aisle-7-red-shoes";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, _: &tracing::span::Id, _: Context<'_, S>) {
        let mut line = format!("span {}:", attrs.metadata().name());
        attrs.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push_str(&(line + "\n"));
    }

    fn on_record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>, _: Context<'_, S>) {
        let mut line = String::from("span record:");
        values.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push_str(&(line + "\n"));
    }

    fn on_event(&self, event: &Record<'_>, _: Context<'_, S>) {
        let mut line = format!("{} {}:", event.metadata().level(), event.metadata().target());
        event.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push_str(&(line + "\n"));
    }
}

#[test]
fn a_trace_level_capture_of_the_whole_flow_holds_no_user_id_property_value_or_coupon_code() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(capture.clone())).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let collector = collector_in(dir.path(), |c| c.issuer_key = Some(dir.path().join("issuer.json")));
    let mut coupon = CouponSpec::new(
        "xmas10",
        "10 % off",
        Discount::Percent { basis_points: 1000 },
        "JPY",
        LocalDate::parse("2030-12-24").unwrap(),
        "Asia/Tokyo",
    );
    coupon.user = Some(USER.into());
    add_coupon(dir.path().join("collector.db"), coupon).unwrap();

    let config = Config::new(dir.path().join("sdk"))
        .with_endpoint(collector.base_url())
        .with_wallet_keyset(collector.wallet_keyset_json().unwrap());
    let sdk = Footfall::open(config).unwrap();
    sdk.grant(&["analytics", "personalization", "marketing"], Method::Api).unwrap();
    sdk.identify(USER, json!({"name": NAME, "phone": PHONE})).unwrap();
    sdk.track(Event::new("product_viewed").properties(json!({"sku": SKU, "note": STORE_NOTE}))).unwrap();
    sdk.flush().unwrap();
    assert_eq!(collector.events().unwrap().len(), 2, "the flow really uploaded");

    // The start-up pull may have brought it already; either way the wallet holds it after this one.
    sdk.wallet_sync().unwrap();
    let held: Vec<String> = sdk.wallet_coupons(None).unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(held, ["xmas10"]);
    sdk.wallet_clip("xmas10").unwrap();
    let presented = sdk.wallet_present("xmas10", "tokyo-1", None).unwrap();
    sdk.wallet_sync().unwrap();

    // The same secrets in the raw bytes of the SDK's database and its WAL, before the deletion wipes them.
    for secret in [USER, NAME, PHONE, SKU, STORE_NOTE, &presented.code] {
        for file in ["footfall.db", "footfall.db-wal"] {
            let bytes = std::fs::read(dir.path().join("sdk").join(file)).unwrap_or_default();
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret} is in {file} in clear");
        }
    }
    sdk.request_deletion().unwrap();
    sdk.flush().unwrap();
    sdk.close();

    let logs = capture.0.lock().unwrap().clone();
    assert!(logs.lines().count() > 5, "the capture saw the SDK at work:\n{logs}");
    for secret in [USER, NAME, PHONE, SKU, STORE_NOTE, &presented.code, &presented.serial] {
        let found: Vec<&str> = logs.lines().filter(|l| l.contains(secret)).collect();
        assert!(found.is_empty(), "{secret} is in the logs: {found:?}");
    }
}
