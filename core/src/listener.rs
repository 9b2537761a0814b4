//! SDK events for the app: what happened to its data, told after the fact. The sync thread delivers them after
//! each upload pass, with no lock held, before an explicit flush returns; a listener that panics is contained.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::consent::status::ConsentStatus;
use crate::proximity::views::{OfferView, PickupView, VisitView};
use crate::wallet::service::CouponView;

/// Something the SDK did that an app may want to count or show. Emitted only when it happened: a pass that was
/// held back by a backoff or a pause sends nothing, so no event repeats a previous one.
///
/// Non-exhaustive: later domains add variants.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SdkEvent {
    /// The server accepted `count` messages; `duplicates` of them it already had (re-sent after a lost answer).
    Delivered { count: u64, duplicates: u64 },
    /// The server refused `count` messages for this reason; they moved to the dead-letter table.
    DeadLettered { count: u64, status: Option<u16>, reason: String },
    /// An upload failed transiently; the data is kept and the next background attempt is due after `after`.
    RetryScheduled { after: Duration, reason: String },
    /// The server refused the credentials or the endpoint; uploads wait for an explicit flush, data is kept.
    Paused { reason: String },
    /// A consent change took effect: a decision was recorded, or a policy or context was applied (which may change
    /// what is allowed and which prompt `needs_prompt` returns). `purged` queued events of the purposes now denied
    /// were deleted with it. `status` is the consent status the change produced: observers keep it instead of
    /// reading it back. Sent from the writer thread right after the change is durable, before the call that made
    /// it returns; a prompt shown is not a change.
    ConsentChanged {
        record_id: Option<String>,
        now_allowed: Vec<String>,
        now_denied: Vec<String>,
        purged: u64,
        status: Box<ConsentStatus>,
    },
    /// The wallet changed: a feed sync brought coupons or tombstones, the server answered a redemption, or the
    /// shopper clipped or presented a coupon. `coupons` is the wallet as `wallet_coupons()` would return it now.
    WalletChanged { coupons: Vec<CouponView> },
    /// A store visit opened, became a dwell or ended (told once each, after it is durable with its event). Sent
    /// from the writer thread.
    VisitChanged { visit: VisitView },
    /// The campaign rules chose an offer for a visit: at most one per campaign and visit, within the caps.
    OfferMade { offer: OfferView },
    /// The shopper arrived at the store of an expected pickup, inside its window (once per order).
    PickupArrived { pickup: PickupView },
}

/// Receives [`SdkEvent`]s on the SDK's sync thread (upload events) or writer thread (consent changes). Keep it
/// quick (hand the event to a channel): the SDK waits for it. It must not call back into the SDK's blocking API
/// (`flush`, `close`, consent changes) from inside `on_event`.
pub trait SdkListener: Send + Sync + 'static {
    fn on_event(&self, event: &SdkEvent);
}

impl<F: Fn(&SdkEvent) + Send + Sync + 'static> SdkListener for F {
    fn on_event(&self, event: &SdkEvent) {
        self(event)
    }
}

/// Hands each event to the listener; a panicking listener loses that event and nothing else.
pub(crate) fn dispatch(listener: &dyn SdkListener, events: Vec<SdkEvent>) {
    for event in events {
        if catch_unwind(AssertUnwindSafe(|| listener.on_event(&event))).is_err() {
            tracing::warn!("an SDK event listener panicked; the event was dropped");
        }
    }
}

/// Collects the events of one pass in the order they happened; dead letters with the same reason merge.
#[derive(Debug, Default)]
pub(crate) struct PassEvents {
    delivered: u64,
    duplicates: u64,
    events: Vec<SdkEvent>,
}

impl PassEvents {
    pub fn delivered(&mut self, count: u64, duplicates: u64) {
        self.delivered += count;
        self.duplicates += duplicates;
    }

    pub fn dead_lettered(&mut self, count: u64, status: Option<u16>, reason: &str) {
        if count == 0 {
            return;
        }
        for event in &mut self.events {
            if let SdkEvent::DeadLettered { count: c, status: s, reason: r } = event {
                if *s == status && r == reason {
                    *c += count;
                    return;
                }
            }
        }
        self.events.push(SdkEvent::DeadLettered { count, status, reason: reason.to_string() });
    }

    pub fn push(&mut self, event: SdkEvent) {
        self.events.push(event);
    }

    /// The pass's events, the deliveries first (one total) and then the rest in the order they happened.
    pub fn take(&mut self) -> Vec<SdkEvent> {
        let mut events = Vec::with_capacity(self.events.len() + 1);
        if self.delivered > 0 || self.duplicates > 0 {
            events.push(SdkEvent::Delivered { count: self.delivered, duplicates: self.duplicates });
        }
        events.append(&mut self.events);
        self.delivered = 0;
        self.duplicates = 0;
        events
    }
}
