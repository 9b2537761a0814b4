//! The wallet on the device through `Footfall`, against a scripted issuer behind the transport port: only
//! grants that verify are stored or shown, rotations need a trusted signer, tombstones keep coupons with their
//! reason, a start-over reconciles, and present works offline with its counter and redemption durable first.

use std::io::Read;
use std::sync::{Arc, Mutex};

use base64::Engine;
use footfall_core::wallet::{
    sign_rotation, verify_redemption, Discount, Eligibility, Grant, IssuerSigner, KeySet, LocalDate, LocalDates,
    OfflinePolicy, RedeemedSerials, Validity,
};
use footfall_core::{
    Config, Error, FlushPolicy, Footfall, HttpRequest, HttpResponse, HttpTransport, ManualClock, SeededRandom,
    TransportError, WalletError,
};
use serde_json::{json, Value};

// 2026-12-23T04:26:40Z, and the same instant as an HTTP date: the issuer's clock.
const NOW: i64 = 1_798_000_000;
const NOW_HTTP: &str = "Wed, 23 Dec 2026 04:26:40 GMT";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

type FeedRule = Box<dyn Fn(Option<&str>, Option<&str>) -> HttpResponse + Send + Sync>;
type PostRule = Box<dyn Fn(&Value) -> Result<HttpResponse, TransportError> + Send + Sync>;

/// An issuer behind the transport: the feed answers by cursor (and `If-None-Match`), redemptions by rule.
struct Issuer {
    feed: Mutex<FeedRule>,
    redemptions: Mutex<PostRule>,
    /// (url, decoded body) of every request.
    seen: Mutex<Vec<(String, Value)>>,
}

impl Issuer {
    fn new(feed: impl Fn(Option<&str>, Option<&str>) -> HttpResponse + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Issuer {
            feed: Mutex::new(Box::new(feed)),
            redemptions: Mutex::new(Box::new(|_| Err(TransportError::Connect("no signal in the basement".into())))),
            seen: Mutex::new(Vec::new()),
        })
    }

    fn set_feed(&self, feed: impl Fn(Option<&str>, Option<&str>) -> HttpResponse + Send + Sync + 'static) {
        *self.feed.lock().unwrap() = Box::new(feed);
    }

    fn set_redemptions(&self, rule: impl Fn(&Value) -> Result<HttpResponse, TransportError> + Send + Sync + 'static) {
        *self.redemptions.lock().unwrap() = Box::new(rule);
    }

    fn posted(&self, path: &str) -> Vec<Value> {
        self.seen.lock().unwrap().iter().filter(|(url, _)| url.ends_with(path)).map(|(_, b)| b.clone()).collect()
    }
}

#[async_trait::async_trait]
impl HttpTransport for Issuer {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let header =
            |name: &str| request.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        let body: Value = if request.body.is_empty() {
            Value::Null
        } else {
            let mut text = Vec::new();
            flate2::read::GzDecoder::new(&request.body[..]).read_to_end(&mut text).unwrap();
            serde_json::from_slice(&text).unwrap()
        };
        self.seen.lock().unwrap().push((request.url.clone(), body.clone()));
        if request.url.contains("/v1/wallet/changes") {
            assert!(header("X-Footfall-Anonymous-Id").is_some(), "the feed names the holder");
            let since = request.url.split("since=").nth(1).map(String::from);
            return Ok((self.feed.lock().unwrap())(since.as_deref(), header("If-None-Match").as_deref()));
        }
        if request.url.ends_with("/v1/wallet/redemptions") {
            return (self.redemptions.lock().unwrap())(&body);
        }
        Ok(answer(200, json!({})))
    }
}

fn answer(status: u16, body: Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Date".into(), NOW_HTTP.into())],
        body: if body.is_null() { vec![] } else { body.to_string().into_bytes() },
    }
}

fn page(cursor: &str, full: bool, upserts: Vec<Value>, tombstones: Vec<Value>, etag: Option<&str>) -> HttpResponse {
    let mut response = answer(
        200,
        json!({"cursor": cursor, "hasMore": false, "full": full, "upserts": upserts, "tombstones": tombstones}),
    );
    if let Some(etag) = etag {
        response.headers.push(("ETag".into(), etag.into()));
    }
    response
}

fn issuer_key(kid: &str, seed: u8) -> IssuerSigner {
    IssuerSigner::from_seed(kid, &[seed; 32]).unwrap()
}

fn pinned() -> KeySet {
    KeySet::new(1, vec![issuer_key("k1", 0x42).issuer_key(0, None)]).unwrap()
}

fn grant(id: &str, discount: Discount, uses: u32) -> Grant {
    let day = |t: &str| LocalDate::parse(t).unwrap();
    Grant {
        coupon_id: id.into(),
        serial: format!("s-{id}"),
        terms_ref: format!("t/{id}"),
        currency: "JPY".into(),
        discount,
        eligibility: Eligibility::AnyItem,
        min_basket_minor: 0,
        stack_group: None,
        uses_allowed: uses,
        validity: Validity::from_local_dates(
            LocalDates { first_day: day("2026-12-01"), last_day: day("2026-12-24"), zone: "Asia/Tokyo".into() },
            0,
        )
        .unwrap(),
        offline: OfflinePolicy { accepted: true, max_uses: 2, max_value_minor: 5000 },
    }
}

fn signed(id: &str) -> Vec<u8> {
    grant(id, Discount::Percent { basis_points: 1000 }, 1).sign(&issuer_key("k1", 0x42)).unwrap()
}

fn upsert(bytes: &[u8]) -> Value {
    json!({"grant": B64.encode(bytes)})
}

fn tombstone(id: &str, reason: &str) -> Value {
    json!({"couponId": id, "serial": format!("s-{id}"), "reason": reason, "at": "2026-12-23T08:00:00Z"})
}

fn open(dir: &std::path::Path, issuer: &Arc<Issuer>) -> Footfall {
    let mut config = Config::new(dir).with_endpoint("https://issuer.test").with_wallet_keyset(pinned().to_json());
    config.flush = FlushPolicy { automatic: false, ..FlushPolicy::default() };
    config.enforce_consent = false;
    config.consent_refresh_interval = None;
    // The device clock is an hour slow; the wallet judges validity on the issuer's `Date`.
    let clock = ManualClock::new((NOW - 3600) * 1000);
    Footfall::builder(config).transport(issuer.clone()).clock(clock).random(SeededRandom::new(7)).open().unwrap()
}

fn states(sdk: &Footfall) -> Vec<(String, String)> {
    sdk.wallet_coupons(None).unwrap().into_iter().map(|c| (c.id, c.state.to_string())).collect()
}

#[test]
fn a_forged_or_altered_grant_is_never_stored_or_shown_and_the_rest_of_the_feed_applies() {
    let good = signed("good");
    let mut bad_signature = signed("sig");
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 0x01;
    let mut bad_payload = signed("payload");
    let coupon_id_at = 1 + 1 + 2 + 1; // version, kid length, "k1", coupon id length
    bad_payload[coupon_id_at] = b'q'; // "payload" becomes "qayload": still well formed, no longer signed
    let mut bad_kid = signed("kid");
    bad_kid[2] = b'j'; // signed by "k1", now claims "j1"
    let issuer = Issuer::new(move |_, _| {
        let upserts = vec![upsert(&good), upsert(&bad_signature), upsert(&bad_payload), upsert(&bad_kid)];
        page("c1", true, upserts, vec![], None)
    });
    let dir = tempfile::tempdir().unwrap();
    let sdk = open(dir.path(), &issuer);

    let report = sdk.wallet_sync().unwrap();
    let mut reasons: Vec<&str> = report.refused.iter().map(|r| r.reason).collect();
    reasons.sort();
    assert_eq!(reasons, ["bad_signature", "bad_signature", "unknown_key"]);
    assert_eq!(states(&sdk), [("good".to_string(), "available".to_string())]);
    let export = sdk.export_data().unwrap();
    let exported: Vec<&str> =
        export["wallet"]["coupons"].as_array().unwrap().iter().map(|c| c["couponId"].as_str().unwrap()).collect();
    assert_eq!(exported, ["good"], "nothing of a refused grant is stored");
    assert_eq!(sdk.wallet_now().unwrap(), NOW, "validity is judged on the issuer's clock, not the slow device's");
}

#[test]
fn a_rotation_signed_by_a_trusted_key_is_accepted_and_one_by_an_unknown_key_refused() {
    let k2 = issuer_key("k2", 0x43);
    let next = KeySet::new(2, vec![pinned().keys[0].clone(), k2.issuer_key(0, None)]).unwrap();
    let under_k2 = grant("new-key", Discount::Percent { basis_points: 500 }, 1).sign(&k2).unwrap();
    let self_signed: Value = serde_json::from_slice(&sign_rotation(&next, &k2)).unwrap();
    let (grant_bytes, rotation) = (under_k2.clone(), self_signed.clone());
    let issuer = Issuer::new(move |_, _| {
        let mut response = page("c1", true, vec![upsert(&grant_bytes)], vec![], None);
        let mut body: Value = serde_json::from_slice(&response.body).unwrap();
        body["keyset"] = rotation.clone();
        response.body = body.to_string().into_bytes();
        response
    });
    let dir = tempfile::tempdir().unwrap();
    let sdk = open(dir.path(), &issuer);

    let report = sdk.wallet_sync().unwrap();
    let reasons: Vec<&str> = report.refused.iter().map(|r| r.reason).collect();
    assert_eq!(reasons, ["keyset_unknown_signer", "unknown_key"]);
    assert!(states(&sdk).is_empty(), "a grant under a key nobody trusted is not kept");

    let trusted: Value = serde_json::from_slice(&sign_rotation(&next, &issuer_key("k1", 0x42))).unwrap();
    issuer.set_feed(move |_, _| {
        let mut response = page("c2", true, vec![upsert(&under_k2)], vec![], None);
        let mut body: Value = serde_json::from_slice(&response.body).unwrap();
        body["keyset"] = trusted.clone();
        response.body = body.to_string().into_bytes();
        response
    });
    let report = sdk.wallet_sync().unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.keyset_version, Some(2));
    assert_eq!(states(&sdk), [("new-key".to_string(), "available".to_string())]);
    drop(sdk);
    let reopened = open(dir.path(), &issuer);
    assert_eq!(states(&reopened).len(), 1, "the rotated key set is kept across restarts");
}

#[test]
fn tombstones_keep_the_coupon_with_its_reason_an_etag_saves_the_body_and_a_start_over_reconciles() {
    let (a, b, c) = (signed("a"), signed("b"), signed("c"));
    let issuer = Issuer::new(move |since, if_none_match| match (since, if_none_match) {
        (None, _) => page("c1", true, vec![upsert(&a), upsert(&b)], vec![], Some("\"e1\"")),
        (Some("c1"), Some("\"e2\"")) => answer(304, Value::Null),
        (Some(_), _) => page("c1", false, vec![], vec![tombstone("a", "revoked")], Some("\"e2\"")),
    });
    let dir = tempfile::tempdir().unwrap();
    let sdk = open(dir.path(), &issuer);
    // The start-up pull may have run the first of these; the state after them is the same either way.
    sdk.wallet_sync().unwrap();
    sdk.wallet_sync().unwrap();
    let report = sdk.wallet_sync().unwrap();
    assert!(!report.changed, "an unchanged feed answers 304 to the ETag it gave: {report:?}");
    let coupons = sdk.wallet_coupons(None).unwrap();
    let revoked = coupons.iter().find(|c| c.id == "a").unwrap();
    assert_eq!((revoked.state, revoked.usable_now), ("revoked", false));
    assert_eq!(revoked.ended_at.as_deref(), Some("2026-12-23T08:00:00Z"));
    assert_eq!(revoked.reasons, ["revoked"]);
    assert!(coupons.iter().any(|c| c.id == "b" && c.state == "available" && c.usable_now));

    // The server lost our cursor: list again; what it no longer names is kept as withdrawn, never dropped.
    issuer.set_feed(move |since, _| match since {
        Some(_) => answer(410, json!({"error": {"code": "cursor_expired", "message": "start over"}})),
        None => page("d1", true, vec![upsert(&c)], vec![], None),
    });
    let report = sdk.wallet_sync().unwrap();
    assert!(report.started_over);
    assert_eq!(report.withdrawn, 1);
    let mut now = states(&sdk);
    now.sort();
    let expected: Vec<(String, String)> = [("a", "revoked"), ("b", "withdrawn"), ("c", "available")]
        .iter()
        .map(|(i, s)| (i.to_string(), s.to_string()))
        .collect();
    assert_eq!(now, expected);
}

#[test]
fn present_works_offline_with_durable_counters_and_only_the_server_makes_a_coupon_redeemed() {
    let once = grant("once", Discount::Amount { minor: 300 }, 1).sign(&issuer_key("k1", 0x42)).unwrap();
    let twice = grant("twice", Discount::Percent { basis_points: 1000 }, 2).sign(&issuer_key("k1", 0x42)).unwrap();
    let issuer = Issuer::new(move |_, _| page("c1", true, vec![upsert(&once), upsert(&twice)], vec![], None));
    let dir = tempfile::tempdir().unwrap();
    let sdk = open(dir.path(), &issuer);
    sdk.wallet_sync().unwrap();
    assert!(sdk.wallet_clip("once").unwrap());
    assert!(!sdk.wallet_clip("once").unwrap(), "clipping twice changes nothing");
    let export = sdk.export_data().unwrap();
    let clipped = export["wallet"]["coupons"].as_array().unwrap().iter().find(|c| c["couponId"] == "once").cloned();
    assert!(clipped.unwrap()["clippedAtMs"].is_i64(), "the export says when the shopper clipped it");

    // The basement: every redemption upload fails; present still answers, from local state.
    let first = sdk.wallet_present("once", "tokyo-1", None).unwrap();
    let second = sdk.wallet_present("twice", "tokyo-1", None).unwrap();
    assert_eq!((first.counter, second.counter), (1, 2));
    let again = sdk.wallet_present("once", "tokyo-1", None).unwrap_err();
    assert!(
        matches!(&again, Error::Wallet(WalletError::Unusable { reasons, .. }) if reasons == &["uses_exhausted"]),
        "a single-use coupon waiting for the server is not presented twice: {again:?}"
    );
    let till = verify_redemption(&first.code, &pinned(), NOW + 20, "tokyo-1", &RedeemedSerials::default(), None)
        .expect("an offline till accepts the code");
    assert_eq!(
        (till.counter, till.device_id.as_str(), till.grant.grant().serial.as_str()),
        (1, first.device.as_str(), "s-once")
    );
    let flushed = sdk.flush().unwrap();
    assert!(matches!(flushed.outcome, footfall_core::FlushOutcome::Drained), "{flushed:?}");
    let pending = sdk.wallet_coupons(None).unwrap();
    let once_now = pending.iter().find(|c| c.id == "once").unwrap();
    assert_eq!(once_now.state, "pending_redeem", "nothing is redeemed until the server says so");
    assert_eq!(once_now.pending_code.as_deref(), Some(first.code.as_str()));

    // Signal again: the issuer accepts one and calls the other a double spend.
    let (once_id, twice_id) = (first.redemption_id.clone(), second.redemption_id.clone());
    issuer.set_redemptions(move |body| {
        let results: Vec<Value> = body["redemptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let id = r["redemptionId"].as_str().unwrap();
                let status = if id == once_id { "accepted" } else { "double_spend" };
                json!({"redemptionId": id, "status": status})
            })
            .collect();
        Ok(answer(200, json!({ "results": results })))
    });
    sdk.flush().unwrap();
    let sent = issuer.posted("/v1/wallet/redemptions");
    let last = sent.last().unwrap()["redemptions"].as_array().unwrap().clone();
    assert_eq!(last.len(), 2);
    assert_eq!(last[0]["redemptionId"], json!(first.redemption_id));
    assert_eq!(last[0]["code"], json!(first.code));
    assert_eq!(last[0]["storeId"], json!("tokyo-1"));
    assert_eq!(sent[0]["redemptions"][0]["redemptionId"], last[0]["redemptionId"], "re-sent with the same key");
    let coupons = sdk.wallet_coupons(None).unwrap();
    let once_now = coupons.iter().find(|c| c.id == "once").unwrap();
    assert_eq!(once_now.state, "redeemed");
    assert_eq!(once_now.store_id.as_deref(), Some("tokyo-1"));
    assert_eq!(once_now.device.as_deref(), Some(first.device.as_str()));
    assert_eq!(twice_id, second.redemption_id);
    let twice_now = coupons.iter().find(|c| c.id == "twice").unwrap();
    assert_eq!((twice_now.state, twice_now.state_reason.as_deref()), ("rejected", Some("double_spend")));

    // The analytics stream has the in-store redemption next to the clip.
    let events: Vec<String> = issuer
        .posted("/v1/batch")
        .iter()
        .flat_map(|b| b["batch"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["event"].as_str().map(String::from))
        .collect();
    assert!(
        events.contains(&"coupon_clipped".to_string()) && events.contains(&"coupon_redeemed".to_string()),
        "{events:?}"
    );
}

#[test]
fn a_deletion_request_wipes_the_wallet_and_a_wallet_without_a_key_set_says_so() {
    let issuer = Issuer::new(move |_, _| page("c1", true, vec![upsert(&signed("gone"))], vec![], None));
    let dir = tempfile::tempdir().unwrap();
    let sdk = open(dir.path(), &issuer);
    sdk.wallet_sync().unwrap();
    let before = sdk.wallet_present("gone", "tokyo-1", None).unwrap();
    assert_eq!(states(&sdk).len(), 1);
    sdk.request_deletion().unwrap();
    let export = sdk.export_data().unwrap();
    assert_eq!(export["wallet"]["coupons"], json!([]));
    assert_eq!(export["wallet"]["outbox"], json!([]));
    // A new holder lists the wallet afresh, and presents with a new device key: nothing links it to the old one.
    sdk.wallet_sync().unwrap();
    let after = sdk.wallet_present("gone", "tokyo-1", None).unwrap();
    assert_ne!(after.device, before.device);
    assert_eq!(after.counter, 1, "the counter belongs to the new key");

    let plain = Footfall::open(Config::new(tempfile::tempdir().unwrap().path())).unwrap();
    assert_eq!(plain.wallet_coupons(None).unwrap_err(), Error::Wallet(WalletError::NotConfigured));
}
