//! The coupon wallet on [`Footfall`]: list, clip, present, evaluate and sync. The rules are in
//! [`crate::wallet`]; this file finds the holder, runs the calls and tells the listener. Wallet calls are a
//! service the shopper asked for and are not gated by analytics consent; the analytics events about them
//! (`coupon_clipped`, `coupon_redeemed`) go through the normal, consent-gated queue.

use std::sync::Arc;

use serde_json::json;

use super::Footfall;
use crate::error::{Error, Result, WalletError};
use crate::event::Event;
use crate::listener::{self, SdkEvent};
use crate::storage::{Identity, Storage};
use crate::sync::scheduler::Reply;
use crate::sync::WalletSyncReport;
use crate::wallet::service::{CouponView, PresentedCode, Wallet};
use crate::wallet::{Basket, CouponOutcome};

/// The analytics purpose the wallet's events are recorded under (dropped when it is denied).
const WALLET_EVENTS_PURPOSE: &str = "analytics";

impl Footfall {
    /// Every coupon in the wallet with its state, validity (UTC and store-local) and whether it is usable now.
    /// `at` (UTC seconds) judges validity at another instant (a testing aid); by default the server-corrected now.
    pub fn wallet_coupons(&self, at: Option<i64>) -> Result<Vec<CouponView>> {
        let (wallet, storage) = self.wallet()?;
        wallet.coupons(&storage, at)
    }

    /// Clips a coupon (committed with its clip in the outbox, sent in the essential lane). Returns whether it
    /// changed (false: already clipped or presented).
    pub fn wallet_clip(&self, coupon_id: &str) -> Result<bool> {
        let (wallet, storage) = self.wallet()?;
        let holder = self.holder()?;
        let changed = wallet.clip(&storage, coupon_id, &holder)?;
        if changed {
            self.wallet_event("coupon_clipped", json!({"coupon_id": coupon_id}));
            self.wallet_changed(&wallet, &storage);
            self.wake_sync();
        }
        Ok(changed)
    }

    /// Presents a coupon at a till: returns the device-bound redemption code once its counter and its
    /// redemption are durable. Works offline; the redemption is sent when the network allows and only the
    /// server makes the coupon `redeemed`. Blocks for a local write and one signature: call it off the UI thread.
    pub fn wallet_present(&self, coupon_id: &str, store_id: &str, challenge: Option<&[u8]>) -> Result<PresentedCode> {
        let (wallet, storage) = self.wallet()?;
        let holder = self.holder()?;
        let code = wallet.present(&storage, coupon_id, store_id, challenge, &holder)?;
        self.wallet_event(
            "coupon_redeemed",
            json!({"coupon_id": code.coupon_id, "store_id": store_id, "redemption_id": code.redemption_id}),
        );
        self.wallet_changed(&wallet, &storage);
        self.wake_sync();
        Ok(code)
    }

    /// For each live coupon: whether it applies to `basket`, the discount, and the reasons it does not.
    pub fn wallet_evaluate(&self, basket: &Basket) -> Result<Vec<CouponOutcome>> {
        let (wallet, storage) = self.wallet()?;
        wallet.evaluate(&storage, basket)
    }

    /// Server-corrected UTC seconds, the time the wallet judges validity at.
    pub fn wallet_now(&self) -> Result<i64> {
        let (wallet, storage) = self.wallet()?;
        wallet.now_secs(&storage)
    }

    /// Pulls the coupon feed now (call it on foreground and when a push says the wallet changed).
    pub fn wallet_sync(&self) -> Result<WalletSyncReport> {
        self.wallet()?;
        let sync = self.sync()?;
        let (tx, rx) = std::sync::mpsc::channel();
        sync.wallet_sync(Reply::Blocking(tx));
        rx.recv().map_err(|_| Error::Closed)?
    }

    /// [`Self::wallet_sync`] for async callers; cancel-safe.
    pub async fn wallet_sync_async(&self) -> Result<WalletSyncReport> {
        self.wallet()?;
        let sync = self.sync()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        sync.wallet_sync(Reply::Async(tx));
        rx.await.map_err(|_| Error::Closed)?
    }

    fn wallet(&self) -> Result<(Arc<Wallet>, Arc<Storage>)> {
        let wallet = self.wallet.clone().ok_or(Error::Wallet(WalletError::NotConfigured))?;
        Ok((wallet, self.storage()?))
    }

    /// The shopper the wallet acts for: the writer's identity in force, after every `identify`/`reset` before.
    fn holder(&self) -> Result<Identity> {
        self.handoff.run(|ctx| Ok(ctx.identity().clone()))
    }

    /// Records an analytics event about the wallet; denied consent drops it (the wallet action still stands).
    fn wallet_event(&self, name: &str, properties: serde_json::Value) {
        match self.track(Event::new(name).properties(properties).purpose(WALLET_EVENTS_PURPOSE)) {
            Ok(_) | Err(Error::ConsentDenied { .. }) => {}
            Err(e) => tracing::info!(error = %e, event = name, "wallet analytics event not recorded"),
        }
    }

    fn wallet_changed(&self, wallet: &Wallet, storage: &Storage) {
        if let (Some(listener), Ok(coupons)) = (&self.listener, wallet.coupons(storage, None)) {
            listener::dispatch(listener.as_ref(), vec![SdkEvent::WalletChanged { coupons }]);
        }
    }

    /// The new outbox row goes out with the next pass.
    fn wake_sync(&self) {
        if let Some(sync) = &self.sync {
            sync.wake_handle().notify_one();
        }
    }
}
