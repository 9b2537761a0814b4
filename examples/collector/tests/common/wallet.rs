//! The wallet tests' shared setup: a collector with an issuer key, coupons valid around today, feed pulls and
//! redemption posts over a real socket, and the grants a feed answer carries, verified as a device would.

use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use footfall_collector::wallet::{add_coupon, CouponSpec};
use footfall_collector::{Collector, CollectorConfig, DatabaseUrl};
use footfall_core::wallet::{
    display_terms_ref, present_code, verify_grant, Discount, KeySet, LocalDate, SoftwareDeviceSigner, VerifiedGrant,
};
use serde_json::{json, Value};

use super::{get, Conn, Resp};

pub const CHANGES: &str = "/v1/wallet/changes";
pub const CLIPS: &str = "/v1/wallet/clips";
pub const REDEMPTIONS: &str = "/v1/wallet/redemptions";
pub const DAY: i64 = 86_400;
/// Coupons in the tests are stated in this zone: validity crosses a date line from UTC, as real ones do.
pub const ZONE: &str = "Asia/Tokyo";

pub struct Issuer {
    pub collector: Collector,
    pub db: DatabaseUrl,
    pub key_file: PathBuf,
}

impl Issuer {
    pub fn start(dir: &tempfile::TempDir) -> Issuer {
        Issuer::start_with(dir, |_| {})
    }

    /// [`Issuer::start`] with more configuration (the console, say).
    pub fn start_with(dir: &tempfile::TempDir, adjust: impl FnOnce(&mut CollectorConfig)) -> Issuer {
        let db = super::database::database(dir.path());
        let key_file = dir.path().join("issuer.json");
        let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &db);
        config.issuer_key = Some(key_file.clone());
        adjust(&mut config);
        let collector = Collector::start(config).expect("collector starts");
        Issuer { collector, db, key_file }
    }

    pub fn keys(&self) -> KeySet {
        KeySet::from_json(self.collector.wallet_keyset_json().expect("an issuer").as_bytes()).unwrap()
    }

    /// A coupon valid from 5 days ago to 5 days ahead (store-local), adjusted by `adjust`.
    pub fn add(&self, id: &str, adjust: impl FnOnce(&mut CouponSpec)) {
        let mut spec = CouponSpec::new(
            id,
            format!("{id}: 10 % off"),
            Discount::Percent { basis_points: 1000 },
            "JPY",
            local_day(5),
            ZONE,
        );
        spec.valid_from = Some(local_day(-5));
        spec.terms = "One per shopper.".into();
        adjust(&mut spec);
        add_coupon(&self.db, spec).expect("coupon added");
    }

    /// `GET /v1/wallet/changes` as the anonymous holder `anon` (and the user, when given).
    pub fn changes(&self, anon: &str, user: Option<&str>, since: Option<&str>, if_none_match: Option<&str>) -> Resp {
        let path = match since {
            Some(cursor) => format!("{CHANGES}?since={cursor}"),
            None => CHANGES.to_string(),
        };
        let mut headers = vec![("X-Footfall-Anonymous-Id", anon)];
        if let Some(user) = user {
            headers.push(("X-Footfall-User-Id", user));
        }
        if let Some(tag) = if_none_match {
            headers.push(("If-None-Match", tag));
        }
        get(&self.collector, &path, &headers)
    }

    /// A 200 feed answer as JSON.
    pub fn feed(&self, anon: &str, since: Option<&str>) -> Value {
        let resp = self.changes(anon, None, since, None);
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        resp.json()
    }

    /// The upserts of a feed answer, each verified against the collector's key set (and its display against the
    /// signed terms reference) exactly as a device would before storing anything.
    pub fn grants(&self, feed: &Value) -> Vec<VerifiedGrant> {
        let keys = self.keys();
        feed["upserts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                let bytes = B64.decode(u["grant"].as_str().unwrap()).unwrap();
                let grant = verify_grant(&bytes, &keys, now()).expect("the collector signs verifiable grants");
                let display = B64.decode(u["display"].as_str().unwrap()).unwrap();
                assert_eq!(grant.grant().terms_ref, display_terms_ref(&display), "the display is the signed one");
                grant
            })
            .collect()
    }

    /// `POST /v1/wallet/redemptions` with these redemptions.
    pub fn redeem(&self, redemptions: &[Value]) -> Resp {
        Conn::plain(&self.collector)
            .post_to(REDEMPTIONS, &json!({"redemptions": redemptions, "sentAt": rfc3339(now())}))
            .expect("a response")
    }

    /// The statuses (and reasons) a redemption post answered, in order.
    pub fn redeem_statuses(&self, redemptions: &[Value]) -> Vec<String> {
        let resp = self.redeem(redemptions);
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        resp.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| match r["reason"].as_str() {
                Some(reason) => format!("{}:{reason}", r["status"].as_str().unwrap()),
                None => r["status"].as_str().unwrap().to_string(),
            })
            .collect()
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Today plus `days`, as a store-local date in [`ZONE`].
pub fn local_day(days: i64) -> LocalDate {
    let date = jiff::Timestamp::from_second(now() + days * DAY).unwrap().in_tz(ZONE).unwrap().date();
    LocalDate::new(date.year(), date.month() as u8, date.day() as u8).unwrap()
}

pub fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).unwrap().to_string()
}

/// One redemption as the SDK sends it, for a code presented at `at`.
pub fn redemption(id: u32, code: &str, at: i64) -> Value {
    json!({"redemptionId": super::id(id), "code": code, "storeId": "tokyo-1", "presentedAt": rfc3339(at),
           "anonymousId": "anon-1"})
}

/// A code for `grant` from `device` at `at`.
pub fn code(grant: &VerifiedGrant, device: &SoftwareDeviceSigner, counter: u64, at: i64) -> String {
    present_code(grant, device, counter, at, None).unwrap()
}

pub fn device() -> SoftwareDeviceSigner {
    SoftwareDeviceSigner::generate().unwrap().0
}
