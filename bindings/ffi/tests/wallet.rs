//! The coupon wallet through the facade, as the generated bindings drive it: a foreign transport plays the issuer
//! (feed, clips, redemptions) and can drop the network, a foreign device signer holds the key, and the listener
//! hears every change. The end-to-end run against the reference issuer is in the Kotlin and Swift suites.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use footfall_core::wallet::{
    self as core_wallet, Discount, Eligibility, Grant, IssuerSigner, KeySet, OfflinePolicy, SoftwareDeviceSigner,
    Validity,
};
use footfall_ffi::{
    verify_redemption, Basket, BasketLine, CouponState, DeviceSigner, EventListener, FlushPolicy, Footfall,
    FootfallConfig, FootfallError, FootfallEvent, HttpRequest, HttpResponse, HttpTransport, WalletErrorKind,
};

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn issuer() -> IssuerSigner {
    IssuerSigner::from_seed("k1", &[3; 32]).unwrap()
}

fn keyset_json() -> String {
    KeySet::new(1, vec![issuer().issuer_key(now_secs() - 86_400, None)]).unwrap().to_json()
}

/// 10 % off anything, single use, accepted offline once, valid for the next day.
fn grant_bytes() -> Vec<u8> {
    let now = now_secs();
    Grant {
        coupon_id: "autumn10".into(),
        serial: "s-42".into(),
        terms_ref: String::new(),
        currency: "JPY".into(),
        discount: Discount::Percent { basis_points: 1000 },
        eligibility: Eligibility::AnyItem,
        min_basket_minor: 1000,
        stack_group: None,
        uses_allowed: 1,
        validity: Validity { not_before: now - 3_600, not_after: now + 86_400, grace_secs: 0, local: None },
        offline: OfflinePolicy { accepted: true, max_uses: 1, max_value_minor: 10_000 },
    }
    .sign(&issuer())
    .unwrap()
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The issuer's side of the protocol for one coupon, with a switch that makes every request fail below HTTP.
struct FakeIssuer {
    grant: Vec<u8>,
    offline: AtomicBool,
    /// The redemption the issuer accepts (the test learns its id from the presented code).
    accept: Mutex<Option<String>>,
    redeemed: AtomicBool,
    paths: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl HttpTransport for FakeIssuer {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, FootfallError> {
        if self.offline.load(Ordering::SeqCst) {
            return Err(FootfallError::Network { reason: "connection refused".into() });
        }
        let path = request.url.trim_start_matches("https://issuer.test").split('?').next().unwrap().to_string();
        self.paths.lock().unwrap().push(path.clone());
        let body = match path.as_str() {
            "/v1/wallet/changes" if self.redeemed.load(Ordering::SeqCst) => r#"{"cursor":"c2","hasMore":false,"full":true,"upserts":[],"tombstones":[{"couponId":"autumn10","serial":"s-42","reason":"redeemed","at":"2026-01-01T00:00:00Z","storeId":"tokyo-1","device":"d"}]}"#
                .to_string(),
            "/v1/wallet/changes" => format!(
                r#"{{"cursor":"c1","hasMore":false,"full":true,"upserts":[{{"grant":"{}","uses":0}}],"tombstones":[]}}"#,
                base64url(&self.grant)
            ),
            "/v1/wallet/redemptions" => {
                let id = self.accept.lock().unwrap().clone().unwrap_or_default();
                self.redeemed.store(true, Ordering::SeqCst);
                format!(r#"{{"results":[{{"redemptionId":"{id}","status":"accepted"}}]}}"#)
            }
            _ => "{}".to_string(),
        };
        Ok(HttpResponse { status: 200, headers: vec![], body: body.into_bytes() })
    }
}

/// The platform key, played by a software key; counts the signatures it made.
struct CountingSigner {
    key: SoftwareDeviceSigner,
    signatures: AtomicUsize,
}

impl DeviceSigner for CountingSigner {
    fn public_key(&self) -> Result<Vec<u8>, FootfallError> {
        Ok(core_wallet::DeviceSigner::public_key(&self.key).unwrap())
    }
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, FootfallError> {
        self.signatures.fetch_add(1, Ordering::SeqCst);
        Ok(core_wallet::DeviceSigner::sign(&self.key, &message).unwrap())
    }
}

#[derive(Default)]
struct WalletEvents(Mutex<Vec<Vec<(String, CouponState)>>>);

impl EventListener for WalletEvents {
    fn on_event(&self, event: FootfallEvent) -> Result<(), FootfallError> {
        if let FootfallEvent::WalletChanged { coupons } = event {
            self.0.lock().unwrap().push(coupons.into_iter().map(|c| (c.id, c.state)).collect());
        }
        Ok(())
    }
}

impl WalletEvents {
    fn last(&self) -> Vec<(String, CouponState)> {
        self.0.lock().unwrap().last().cloned().unwrap_or_default()
    }
}

fn config(dir: &std::path::Path, keyset: Option<String>) -> FootfallConfig {
    let mut config = footfall_ffi::config::default_config(dir.to_string_lossy().into_owned());
    config.endpoint = Some("https://issuer.test".into());
    config.flush_policy = FlushPolicy { automatic: false, ..FlushPolicy::default() };
    config.consent.policy_refresh_interval_ms = 0;
    config.wallet_keyset = keyset;
    config
}

#[tokio::test]
async fn sync_clip_present_offline_then_the_issuers_answer_makes_it_redeemed() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Arc::new(FakeIssuer {
        grant: grant_bytes(),
        offline: AtomicBool::new(false),
        accept: Mutex::new(None),
        redeemed: AtomicBool::new(false),
        paths: Mutex::new(Vec::new()),
    });
    let signer = Arc::new(CountingSigner { key: SoftwareDeviceSigner::generate().unwrap().0, signatures: 0.into() });
    let events = Arc::new(WalletEvents::default());
    let sdk = Footfall::new(
        config(dir.path(), Some(keyset_json())),
        Some(issuer.clone()),
        Some(events.clone()),
        Some(signer.clone()),
        None,
    )
    .unwrap();

    let report = sdk.wallet_sync().await.unwrap();
    assert_eq!((report.changed, report.upserts, report.refused.len()), (true, 1, 0), "{report:?}");
    let coupons = sdk.wallet_coupons(None).unwrap();
    assert_eq!(coupons.len(), 1);
    let coupon = &coupons[0];
    assert_eq!(
        (coupon.id.as_str(), coupon.state, coupon.discount.as_str()),
        ("autumn10", CouponState::Available, "10%")
    );
    assert!(coupon.usable_now && coupon.reasons.is_empty());
    assert_eq!((coupon.uses, coupon.uses_allowed), (0, 1));
    assert_eq!(events.last(), [("autumn10".to_string(), CouponState::Available)]);

    assert!(sdk.wallet_clip("autumn10".into()).unwrap());
    assert!(!sdk.wallet_clip("autumn10".into()).unwrap(), "clipping twice changes nothing");
    assert_eq!(events.last(), [("autumn10".to_string(), CouponState::Clipped)]);

    let basket = |total: i64| Basket {
        store_id: "tokyo-1".into(),
        currency: "JPY".into(),
        lines: vec![BasketLine { gtin: "4901234567894".into(), family: None, quantity: 1, unit_price_minor: total }],
        at_secs: None,
        online: false,
    };
    let outcome = &sdk.wallet_evaluate(basket(2_000)).unwrap()[0];
    assert_eq!((outcome.applies, outcome.discount_minor), (true, 200));
    let outcome = &sdk.wallet_evaluate(basket(500)).unwrap()[0];
    assert_eq!((outcome.applies, outcome.reasons.as_slice()), (false, &["min_basket".to_string()][..]));

    // At the till with no network: the code comes from the device alone, signed by the app's key.
    issuer.offline.store(true, Ordering::SeqCst);
    let code = sdk.wallet_present("autumn10".into(), "tokyo-1".into(), None).unwrap();
    assert_eq!(signer.signatures.load(Ordering::SeqCst), 1);
    assert_eq!(code.device, core_wallet::device_id(&signer.public_key().unwrap()));
    assert_eq!((code.coupon_id.as_str(), code.serial.as_str()), ("autumn10", "s-42"));
    assert_eq!(code.qr.width, 17 + 4 * code.qr.version);
    assert_eq!(code.qr.modules.len(), (code.qr.width * code.qr.width) as usize);
    let till = verify_redemption(code.code.clone(), keyset_json(), now_secs(), "tokyo-1".into(), None).unwrap();
    assert!(till.valid, "{till:?}");
    assert_eq!((till.device.as_deref(), till.counter), (Some(code.device.as_str()), Some(code.counter)));
    let pending = &sdk.wallet_coupons(None).unwrap()[0];
    assert_eq!(pending.state, CouponState::PendingRedeem);
    assert_eq!(pending.pending_code.as_deref(), Some(code.code.as_str()));
    assert_eq!(events.last(), [("autumn10".to_string(), CouponState::PendingRedeem)]);
    let again = sdk.wallet_present("autumn10".into(), "tokyo-1".into(), None).unwrap_err();
    assert!(
        matches!(&again, FootfallError::Wallet { kind: WalletErrorKind::CouponUnusable, coupon_id: Some(id), reasons, .. }
            if id == "autumn10" && reasons.contains(&"uses_exhausted".to_string())),
        "{again:?}"
    );
    assert!(sdk.flush().await.is_ok());
    assert_eq!(sdk.wallet_coupons(None).unwrap()[0].state, CouponState::PendingRedeem, "offline, nothing answered");

    // The network is back: the flush delivers the redemption, the issuer accepts it, the feed ends the coupon.
    *issuer.accept.lock().unwrap() = Some(code.redemption_id.clone());
    issuer.offline.store(false, Ordering::SeqCst);
    sdk.flush().await.unwrap();
    assert!(issuer.paths.lock().unwrap().contains(&"/v1/wallet/redemptions".to_string()));
    sdk.wallet_sync().await.unwrap();
    let redeemed = &sdk.wallet_coupons(None).unwrap()[0];
    assert_eq!(redeemed.state, CouponState::Redeemed, "{redeemed:?}");
    assert_eq!(redeemed.pending_code, None);
    assert_eq!(events.last(), [("autumn10".to_string(), CouponState::Redeemed)]);
    sdk.close();
}

#[tokio::test]
async fn without_a_key_set_the_wallet_is_off_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = Footfall::new(config(dir.path(), None), Some(unreachable_transport()), None, None, None).unwrap();
    for e in [
        sdk.wallet_coupons(None).unwrap_err(),
        sdk.wallet_clip("x".into()).unwrap_err(),
        sdk.wallet_sync().await.unwrap_err(),
    ] {
        assert!(matches!(&e, FootfallError::Wallet { kind: WalletErrorKind::NotConfigured, .. }), "{e:?}");
    }
    sdk.close();
    let bad =
        Footfall::new(config(dir.path(), Some("{}".into())), Some(unreachable_transport()), None, None, None).err();
    assert!(matches!(bad, Some(FootfallError::Config { .. })), "{bad:?}");
}

#[tokio::test]
async fn a_device_signer_that_throws_refuses_the_presentation_with_a_device_key_error() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Arc::new(FakeIssuer {
        grant: grant_bytes(),
        offline: AtomicBool::new(false),
        accept: Mutex::new(None),
        redeemed: AtomicBool::new(false),
        paths: Mutex::new(Vec::new()),
    });
    let sdk =
        Footfall::new(config(dir.path(), Some(keyset_json())), Some(issuer), None, Some(Arc::new(FailingSigner)), None)
            .unwrap();
    sdk.wallet_sync().await.unwrap();
    let e = sdk.wallet_present("autumn10".into(), "tokyo-1".into(), None).unwrap_err();
    assert!(
        matches!(&e, FootfallError::Wallet { kind: WalletErrorKind::DeviceKey, detail, .. } if detail.contains("user not authenticated")),
        "{e:?}"
    );
    // Nothing was presented: the coupon is still available.
    assert_eq!(sdk.wallet_coupons(None).unwrap()[0].state, CouponState::Available);
    sdk.close();
}

/// A keystore that refuses, as an undeclared foreign exception arrives.
struct FailingSigner;

impl DeviceSigner for FailingSigner {
    fn public_key(&self) -> Result<Vec<u8>, FootfallError> {
        Err(FootfallError::Callback { reason: "UserNotAuthenticatedException: user not authenticated".into() })
    }
    fn sign(&self, _: Vec<u8>) -> Result<Vec<u8>, FootfallError> {
        Err(FootfallError::Callback { reason: "UserNotAuthenticatedException: user not authenticated".into() })
    }
}

fn unreachable_transport() -> Arc<dyn HttpTransport> {
    Arc::new(FakeIssuer {
        grant: Vec::new(),
        offline: AtomicBool::new(true),
        accept: Mutex::new(None),
        redeemed: AtomicBool::new(false),
        paths: Mutex::new(Vec::new()),
    })
}
