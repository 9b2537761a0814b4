//! The essential lane: consent receipts, deletion requests, then the wallet's redemptions and clips, drained after every upload pass whatever the
//! consent state (its requests are the proof of that state and the means to exercise rights), with its own
//! backoff, hold and pause so it never holds event uploads back, nor they it.

use super::consent_receipts::ConsentReceipts;
use super::deletion::DeletionRequests;
use super::lane::{LaneState, LaneStop};
use super::outbox;
use super::request::RequestContext;
use super::wallet_outbox::{WalletClips, WalletRedemptions};
use crate::error::Result;
use crate::storage::{Counter, Storage};

pub(crate) struct EssentialLane {
    state: LaneState,
    /// Whether consent receipts are uploaded (deletion requests always are).
    consent_receipts: bool,
    /// The wallet's redemptions (and clips), when the wallet is configured.
    wallet: Option<WalletRedemptions>,
}

impl EssentialLane {
    pub fn new(state: LaneState, consent_receipts: bool, wallet: Option<WalletRedemptions>) -> Self {
        EssentialLane { state, consent_receipts, wallet }
    }

    /// Whether a redemption was answered since the last call (the wallet feed is pulled after one).
    pub fn take_wallet_answered(&self) -> bool {
        self.wallet.as_ref().is_some_and(|w| w.answered.swap(false, std::sync::atomic::Ordering::AcqRel))
    }

    /// See [`LaneState::network_available`].
    pub fn network_available(&mut self) -> bool {
        self.state.network_available()
    }

    /// Milliseconds until the lane wants another run, when it is waiting on one.
    pub fn retry_in_ms(&self, now_mono: u64) -> Option<u64> {
        self.state.retry_in_ms(now_mono)
    }

    /// Drains every outbox. `explicit` (a flush) skips our own backoff and a pause, never the server's hold.
    pub async fn run(&mut self, request: &RequestContext, storage: &Storage, explicit: bool) -> Result<()> {
        if self.state.blocked(explicit, request.clock.monotonic_ms()).is_some() {
            return Ok(());
        }
        // A storage failure backs off like a transient one, so a broken disk cannot spin the sync thread.
        let stop = match self.drain(request, storage).await {
            Ok(stop) => stop,
            Err(e) => Some(LaneStop::Retry { after: None, reason: e.to_string() }),
        };
        match stop {
            None => self.state.on_success(storage),
            Some(stop) => {
                let wait = self.state.on_stop(storage, request, &stop)?;
                match &stop {
                    LaneStop::Retry { reason, .. } => {
                        tracing::info!(reason = %reason, retry_in_ms = wait.as_millis() as u64, "essential lane: will retry");
                        storage.add_counters(&[(Counter::Retries, 1)])
                    }
                    LaneStop::Pause { reason } | LaneStop::CertificateInvalid { reason } => {
                        tracing::warn!(reason = %reason, "essential lane paused (event uploads are not); items are kept");
                        Ok(())
                    }
                }
            }
        }
    }

    /// Consent receipts first (when on), then deletion requests, then the wallet's redemptions and clips; `Some`
    /// when the server said to stop.
    async fn drain(&self, request: &RequestContext, storage: &Storage) -> Result<Option<LaneStop>> {
        if self.consent_receipts {
            if let Some(stop) = outbox::drain(&ConsentReceipts, request, storage).await? {
                return Ok(Some(stop));
            }
        }
        if let Some(stop) = outbox::drain(&DeletionRequests, request, storage).await? {
            return Ok(Some(stop));
        }
        let Some(wallet) = &self.wallet else { return Ok(None) };
        if let Some(stop) = outbox::drain(wallet, request, storage).await? {
            return Ok(Some(stop));
        }
        outbox::drain(&WalletClips, request, storage).await
    }
}
