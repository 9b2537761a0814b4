//! The coupon wallet on the foreign `Footfall` object (list, clip, present, evaluate, sync) and what a till app
//! needs (`verify_redemption`, `Till`, `qr_code`). Each function converts and calls the core; the records are in
//! `wallet_records.rs`, the platform's device key in `device_signer.rs`.
//!
//! `wallet_coupons`, `wallet_clip`, `wallet_present` and `wallet_evaluate` block for a local read or write (and,
//! for `present`, one signature by the device key): the Kotlin and Swift layers call them off the main thread.
//! `wallet_sync` is async and completes on the SDK's sync thread.

use std::sync::{Arc, Mutex, PoisonError};

use footfall_core::wallet::{self as core_wallet, KeySet, RedeemedSerials};

use crate::error::{FootfallError, Result};
use crate::footfall::Footfall;
use crate::wallet_records::{
    Basket, Coupon, CouponOutcome, PresentedCode, QrCode, RedemptionVerdict, WalletSyncReport,
};

#[uniffi::export]
impl Footfall {
    /// Every coupon in the wallet with its state, validity and whether it is usable now. `at_secs` (UTC seconds)
    /// judges validity at another instant; by default the server-corrected now.
    #[uniffi::method(default(at_secs = None))]
    pub fn wallet_coupons(&self, at_secs: Option<i64>) -> Result<Vec<Coupon>> {
        Ok(self.core.wallet_coupons(at_secs)?.into_iter().map(Coupon::from).collect())
    }

    /// Clips a coupon; the clip reaches the issuer when the network allows. Returns whether it changed (false:
    /// already clipped or presented).
    pub fn wallet_clip(&self, coupon_id: String) -> Result<bool> {
        Ok(self.core.wallet_clip(&coupon_id)?)
    }

    /// Presents a coupon at a till: the device-bound code (text and QR symbol), returned once its redemption is
    /// durable. Works offline; the redemption is sent when the network allows and only the issuer's answer makes
    /// the coupon `Redeemed`. `challenge` is the till's nonce (at most 32 bytes) when it shows one.
    #[uniffi::method(default(challenge = None))]
    pub fn wallet_present(
        &self,
        coupon_id: String,
        store_id: String,
        challenge: Option<Vec<u8>>,
    ) -> Result<PresentedCode> {
        let code = self.core.wallet_present(&coupon_id, &store_id, challenge.as_deref())?;
        // Cannot fail for a code the core made (at most version 17 at level M); the coupon keeps the code as
        // `pending_code` either way, so nothing is lost if it did.
        let qr = qr_code(code.code.clone())?;
        Ok(PresentedCode::new(code, qr))
    }

    /// For each live coupon: whether it applies to `basket`, the discount, and every reason it does not.
    pub fn wallet_evaluate(&self, basket: Basket) -> Result<Vec<CouponOutcome>> {
        let at = match basket.at_secs {
            Some(at) => at,
            None => self.core.wallet_now()?,
        };
        let outcomes = self.core.wallet_evaluate(&basket.to_core(at)?)?;
        Ok(outcomes.into_iter().map(CouponOutcome::from).collect())
    }

    /// The server-corrected UTC seconds the wallet judges validity at.
    pub fn wallet_now_secs(&self) -> Result<i64> {
        Ok(self.core.wallet_now()?)
    }

    /// Pulls the coupon feed now: call it when the app comes to the foreground and when a push says the wallet
    /// changed. Cancel-safe: cancelling the caller leaves the sync to finish on the SDK's sync thread.
    pub async fn wallet_sync(&self) -> Result<WalletSyncReport> {
        Ok(self.core.wallet_sync_async().await?.into())
    }
}

/// The QR symbol of `text` (a redemption code, e.g. a coupon's `pending_code`) at error correction level M.
///
/// Fails with `InvalidInput` when the text does not fit a QR symbol.
#[uniffi::export]
pub fn qr_code(text: String) -> Result<QrCode> {
    core_wallet::qr_matrix(&text).map_err(|e| FootfallError::InvalidInput { reason: e.to_string() })?.try_into()
}

/// A till's offline check of a code, with no memory of earlier codes: the issuer's signature on the coupon
/// (against `keyset_json`, the issuer key set the till pins), the device proof (with the till's `challenge`, if
/// it showed one), freshness at `now_secs` (UTC), validity and the coupon's offline policy. It cannot catch a
/// code presented here before: a till keeps that record with a [`Till`].
///
/// Fails with `Config` when the key set is not usable; a refused code is a verdict, not an error.
#[uniffi::export(default(challenge = None))]
pub fn verify_redemption(
    code: String,
    keyset_json: String,
    now_secs: i64,
    store_id: String,
    challenge: Option<Vec<u8>>,
) -> Result<RedemptionVerdict> {
    let keys = keyset(&keyset_json)?;
    Ok(verdict(&code, &keys, now_secs, &store_id, &RedeemedSerials::default(), challenge.as_deref()).0)
}

/// One till (or one till app's process): the store it stands in, the issuer keys it trusts, and the redemptions
/// it has accepted, so a replayed code or a serial used up here is refused. The record is kept in memory for the
/// object's life; the issuer catches double spends across tills and restarts when the redemptions reach it.
#[derive(uniffi::Object)]
pub struct Till {
    keys: KeySet,
    store_id: String,
    redeemed: Mutex<RedeemedSerials>,
}

#[uniffi::export]
impl Till {
    /// A till for `store_id` trusting the issuer key set `keyset_json`. Fails with `Config` when the key set is not
    /// usable.
    #[uniffi::constructor]
    pub fn new(keyset_json: String, store_id: String) -> Result<Arc<Self>> {
        Ok(Arc::new(Till { keys: keyset(&keyset_json)?, store_id, redeemed: Mutex::new(RedeemedSerials::default()) }))
    }

    /// What [`Till::redeem`] would answer now, recording nothing (to show the coupon before the sale).
    #[uniffi::method(default(challenge = None))]
    pub fn check(&self, code: String, now_secs: i64, challenge: Option<Vec<u8>>) -> RedemptionVerdict {
        let redeemed = self.redeemed.lock().unwrap_or_else(PoisonError::into_inner);
        verdict(&code, &self.keys, now_secs, &self.store_id, &redeemed, challenge.as_deref()).0
    }

    /// Checks the code and, when it is valid, records it as redeemed here (call it as the sale completes): the
    /// same code again is `replayed`, the serial once its offline uses are spent `already_redeemed`.
    #[uniffi::method(default(challenge = None))]
    pub fn redeem(&self, code: String, now_secs: i64, challenge: Option<Vec<u8>>) -> RedemptionVerdict {
        // One lock for the check and the record: two scans of one code at once accept it once.
        let mut redeemed = self.redeemed.lock().unwrap_or_else(PoisonError::into_inner);
        let (verdict, accepted) = verdict(&code, &self.keys, now_secs, &self.store_id, &redeemed, challenge.as_deref());
        if let Some(accepted) = accepted {
            redeemed.record(&accepted);
        }
        verdict
    }
}

fn keyset(json: &str) -> Result<KeySet> {
    KeySet::from_json(json.as_bytes())
        .map_err(|e| FootfallError::Config { reason: format!("the issuer key set is not usable: {e}") })
}

/// The core's verdict as the record, with the accepted redemption for the till to record.
fn verdict(
    code: &str,
    keys: &KeySet,
    now: i64,
    store_id: &str,
    redeemed: &RedeemedSerials,
    challenge: Option<&[u8]>,
) -> (RedemptionVerdict, Option<core_wallet::VerifiedRedemption>) {
    match core_wallet::verify_redemption(code, keys, now, store_id, redeemed, challenge) {
        Ok(accepted) => (RedemptionVerdict::accepted(&accepted), Some(accepted)),
        Err(refused) => (RedemptionVerdict::refused(&refused), None),
    }
}

#[cfg(test)]
mod tests {
    use footfall_core::wallet::{
        present_code, verify_grant, Discount, Eligibility, Grant, IssuerSigner, OfflinePolicy, SoftwareDeviceSigner,
        Validity,
    };
    use footfall_core::WalletError;

    use super::*;
    use crate::error::WalletErrorKind;

    /// 2026-12-10T00:00:00Z: inside the test coupon's validity.
    const NOW: i64 = 1_796_860_800;

    fn issuer() -> IssuerSigner {
        IssuerSigner::from_seed("k1", &[7; 32]).unwrap()
    }

    fn keyset_json() -> String {
        KeySet::new(1, vec![issuer().issuer_key(NOW - 86_400, None)]).unwrap().to_json()
    }

    fn grant(coupon_id: &str, offline_uses: u32) -> Grant {
        Grant {
            coupon_id: coupon_id.into(),
            serial: "s-1".into(),
            terms_ref: String::new(),
            currency: "JPY".into(),
            discount: Discount::Percent { basis_points: 1000 },
            eligibility: Eligibility::AnyItem,
            min_basket_minor: 0,
            stack_group: None,
            uses_allowed: 1,
            validity: Validity { not_before: NOW - 3_600, not_after: NOW + 86_400, grace_secs: 0, local: None },
            offline: OfflinePolicy { accepted: offline_uses > 0, max_uses: offline_uses, max_value_minor: 5_000 },
        }
    }

    /// A code the core makes, as a phone would present it.
    fn code(grant: &Grant, device: &SoftwareDeviceSigner, counter: u64, challenge: Option<&[u8]>) -> String {
        let keys = KeySet::from_json(keyset_json().as_bytes()).unwrap();
        let verified = verify_grant(&grant.sign(&issuer()).unwrap(), &keys, NOW).unwrap();
        present_code(&verified, device, counter, NOW, challenge).unwrap()
    }

    fn device() -> SoftwareDeviceSigner {
        SoftwareDeviceSigner::generate().unwrap().0
    }

    #[test]
    fn a_code_the_core_made_verifies_with_its_parts_and_a_refusal_has_a_code() {
        let phone = device();
        let text = code(&grant("xmas10", 1), &phone, 7, None);
        let ok = verify_redemption(text.clone(), keyset_json(), NOW + 20, "tokyo-1".into(), None).unwrap();
        assert!(ok.valid, "{ok:?}");
        assert_eq!((ok.coupon_id.as_deref(), ok.serial.as_deref(), ok.counter), (Some("xmas10"), Some("s-1"), Some(7)));
        let device_key = core_wallet::DeviceSigner::public_key(&phone).unwrap();
        assert_eq!(ok.device, Some(core_wallet::device_id(&device_key)));
        assert_eq!((ok.reason, ok.detail), (None, None));

        // Three minutes later the code is no longer fresh.
        let stale = verify_redemption(text.clone(), keyset_json(), NOW + 180, "tokyo-1".into(), None).unwrap();
        assert!(!stale.valid);
        assert_eq!(stale.reason.as_deref(), Some("stale"));
        assert!(stale.detail.unwrap().contains("not fresh"));
        assert_eq!((stale.coupon_id, stale.counter), (None, None));

        // A till that showed a challenge needs it answered.
        let unanswered =
            verify_redemption(text, keyset_json(), NOW, "tokyo-1".into(), Some(b"nonce".to_vec())).unwrap();
        assert_eq!(unanswered.reason.as_deref(), Some("challenge_mismatch"));
        let answered = code(&grant("xmas10", 1), &phone, 8, Some(b"nonce"));
        assert!(
            verify_redemption(answered, keyset_json(), NOW, "tokyo-1".into(), Some(b"nonce".to_vec())).unwrap().valid
        );

        let garbage = verify_redemption("not a code!".into(), keyset_json(), NOW, "tokyo-1".into(), None).unwrap();
        assert_eq!(garbage.reason.as_deref(), Some("malformed"));
        let other_issuer = KeySet::new(1, vec![IssuerSigner::from_seed("k1", &[8; 32]).unwrap().issuer_key(0, None)])
            .unwrap()
            .to_json();
        let forged = verify_redemption(code(&grant("xmas10", 1), &phone, 9, None), other_issuer, NOW, "t".into(), None);
        assert_eq!(forged.unwrap().reason.as_deref(), Some("bad_signature"));
    }

    #[test]
    fn an_unusable_key_set_is_a_config_error() {
        for json in ["", "{}", r#"{"version":1,"keys":[]}"#] {
            let e = verify_redemption("x".into(), json.into(), NOW, "t".into(), None).unwrap_err();
            assert!(matches!(&e, FootfallError::Config { reason } if reason.contains("key set")), "{json}: {e:?}");
            assert!(matches!(Till::new(json.into(), "t".into()), Err(FootfallError::Config { .. })));
        }
    }

    #[test]
    fn a_till_accepts_a_code_once_and_refuses_the_serial_after_its_offline_uses() {
        let till = Till::new(keyset_json(), "tokyo-1".into()).unwrap();
        let phone = device();
        let first = code(&grant("xmas10", 1), &phone, 1, None);
        assert!(till.check(first.clone(), NOW, None).valid);
        assert!(till.check(first.clone(), NOW, None).valid, "check records nothing");
        assert!(till.redeem(first.clone(), NOW, None).valid);
        assert_eq!(till.redeem(first, NOW, None).reason.as_deref(), Some("replayed"));
        let second = code(&grant("xmas10", 1), &phone, 2, None);
        assert_eq!(till.check(second, NOW, None).reason.as_deref(), Some("already_redeemed"));
        // Another phone with the same serial is caught the same way; another coupon is not affected.
        assert_eq!(
            till.redeem(code(&grant("xmas10", 1), &device(), 1, None), NOW, None).reason.as_deref(),
            Some("already_redeemed")
        );
        assert!(till.redeem(code(&grant("spring5", 1), &phone, 3, None), NOW, None).valid);
        // Online-only coupons are refused by an offline till.
        assert_eq!(
            till.check(code(&grant("online", 0), &phone, 4, None), NOW, None).reason.as_deref(),
            Some("offline_not_accepted")
        );
    }

    #[test]
    fn the_qr_symbol_of_a_code_is_square_and_sized_by_its_version() {
        let text = code(&grant("xmas10", 1), &device(), 1, None);
        let qr = qr_code(text).unwrap();
        assert_eq!(qr.width, 17 + 4 * qr.version);
        assert_eq!(qr.modules.len(), (qr.width * qr.width) as usize);
        // The finder pattern's corners are dark, its separator light.
        let at = |x: i32, y: i32| qr.modules[(y * qr.width + x) as usize];
        assert!(at(0, 0) && at(qr.width - 1, 0) && at(0, qr.width - 1));
        assert!(!at(7, 0) && !at(0, 7));
        assert!(matches!(qr_code("A".repeat(5000)), Err(FootfallError::InvalidInput { .. })));
    }

    #[test]
    fn wallet_errors_keep_their_kind_coupon_and_reasons() {
        let e = FootfallError::from(footfall_core::Error::Wallet(WalletError::Unusable {
            coupon_id: "xmas10".into(),
            reasons: vec!["expired".into(), "uses_exhausted".into()],
        }));
        let FootfallError::Wallet { kind, coupon_id, reasons, detail } = e else { panic!("{e:?}") };
        assert_eq!(kind, WalletErrorKind::CouponUnusable);
        assert_eq!(coupon_id.as_deref(), Some("xmas10"));
        assert_eq!(reasons, ["expired", "uses_exhausted"]);
        assert!(detail.contains("expired, uses_exhausted"), "{detail}");

        let cases = [
            (WalletError::NotConfigured, WalletErrorKind::NotConfigured, None),
            (WalletError::UnknownCoupon("nope".into()), WalletErrorKind::UnknownCoupon, Some("nope")),
            (WalletError::DeviceKey("locked".into()), WalletErrorKind::DeviceKey, None),
            (WalletError::Invalid("store id".into()), WalletErrorKind::Invalid, None),
        ];
        for (core, expected, id) in cases {
            let FootfallError::Wallet { kind, coupon_id, reasons, .. } = FootfallError::from(core) else { panic!() };
            assert_eq!((kind, coupon_id.as_deref(), reasons.len()), (expected, id, 0));
        }
    }

    #[test]
    fn basket_lines_that_cannot_be_lines_are_invalid_wallet_requests() {
        use crate::wallet_records::BasketLine;
        let line = |gtin: &str, quantity: i64, price: i64| BasketLine {
            gtin: gtin.into(),
            family: None,
            quantity,
            unit_price_minor: price,
        };
        let basket =
            |lines| Basket { store_id: "s".into(), currency: "JPY".into(), lines, at_secs: None, online: true };
        let ok = basket(vec![line("4901234567894", 2, 980)]).to_core(NOW).unwrap();
        assert_eq!((ok.lines[0].quantity, ok.lines[0].unit_price_minor, ok.at), (2, 980, NOW));
        for bad in [line("4901234567890", 1, 1), line("4901234567894", -1, 1), line("4901234567894", 1, -5)] {
            let e = basket(vec![bad.clone()]).to_core(NOW).unwrap_err();
            assert!(
                matches!(&e, FootfallError::Wallet { kind: WalletErrorKind::Invalid, detail, .. } if detail.contains("basket line 0")),
                "{bad:?}: {e:?}"
            );
        }
    }
}
