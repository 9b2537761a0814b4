//! The writer side of proximity: visit changes become rows and backend events in one transaction, on the writer
//! thread, in order with everything tracked around them. Offers are decided here (the rules read the offer
//! history and audience counts first), recorded once per (campaign, visit), and told to the app after the commit;
//! pickups waiting for the store are recognised at the same time.

use std::sync::Arc;

use serde_json::Value;
use uuid::Uuid;

use super::campaign::{decide, OfferContext, OfferRecord, Trigger};
use super::config::{ConfigCell, ProximityConfig};
use super::views::{self, OfferView, PickupView, VisitView};
use crate::clock::{rfc3339_ms, Clock};
use crate::consent::purpose::{LOCATION, MARKETING, PERSONALIZATION};
use crate::consent::view::ConsentView;
use crate::error::Result;
use crate::event::{MessageKind, PendingMessage};
use crate::listener::{self, SdkEvent, SdkListener};
use crate::storage::{Identity, Storage, StoredOffer, StoredPickup, StoredVisit, Tx, PROXIMITY_RETENTION_MS};
use crate::wallet::service::Wallet;
use crate::writer::handoff::Command;
use crate::writer::job::{Job, WriterContext};
use crate::writer::Handoff;

/// An open visit with nothing written for this long is closed at its last-seen time on the next start.
pub(crate) const STALE_AFTER_MS: i64 = 2 * 3_600_000;

/// A visit change the engine produced, in wall-clock milliseconds.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    Enter(StoredVisit),
    Dwell { visit_id: String, at_ms: i64 },
    Exit { visit_id: String, at_ms: i64, reason: &'static str },
    Touch { visit_id: String, at_ms: i64 },
}

pub(crate) struct Recorder {
    pub handoff: Arc<Handoff>,
    pub consent: Arc<ConsentView>,
    pub clock: Arc<dyn Clock>,
    pub listener: Option<Arc<dyn SdkListener>>,
    pub wallet: Option<Arc<Wallet>>,
    /// The shopper's time zone (quiet hours, the daily cap's day).
    pub shopper_tz: jiff::tz::TimeZone,
    pub config: Arc<ConfigCell>,
}

/// What one batch changed, told to the app after the commit.
#[derive(Default)]
struct Told {
    visits: Vec<VisitView>,
    offers: Vec<OfferView>,
    pickups: Vec<PickupView>,
}

impl Recorder {
    /// Hands `changes` to the writer without waiting (ingestion must not block the scan callback).
    pub fn record(self: &Arc<Self>, changes: Vec<Change>) {
        let this = self.clone();
        let (job, _ignored) = Job::new(move |ctx| this.apply(ctx, changes));
        if let Err(e) = self.handoff.send_control(Command::Job(job)) {
            tracing::info!(error = %e, "visit changes not recorded: the SDK is closing");
        }
    }

    pub(crate) fn apply(&self, ctx: &mut WriterContext<'_>, changes: Vec<Change>) -> Result<()> {
        let now = self.clock.now_ms();
        // Judged again here: a withdrawal that ran before this job already deleted what the changes refer to.
        if self.consent.is_allowed(LOCATION, now) != Some(true) {
            return Ok(());
        }
        let storage = ctx.storage;
        let identity = ctx.identity().clone();
        let config = self.config.get();
        let offers = self.plan_offers(storage, &config, &changes, now)?;
        let marketing = self.consent.is_allowed(MARKETING, now) == Some(true);
        let mut told = storage.write(|tx| {
            let mut told = Told::default();
            let mut triggered: Vec<String> = Vec::new();
            for change in &changes {
                match change {
                    Change::Enter(visit) => {
                        tx.open_visit(visit)?;
                        event(tx, &identity, views::visit_event("visit_started", visit), LOCATION, visit.entered_ms)?;
                        told.visits.push(VisitView::from(visit));
                        triggered.push(trigger_key(&visit.id, Trigger::Enter));
                        arrivals(tx, &identity, visit, visit.entered_ms, &mut told)?;
                    }
                    Change::Dwell { visit_id, at_ms } => {
                        if !tx.mark_dwell(visit_id, *at_ms)? {
                            continue;
                        }
                        let Some(visit) = tx.visit(visit_id)? else { continue };
                        event(tx, &identity, views::visit_event("visit_dwell", &visit), LOCATION, *at_ms)?;
                        told.visits.push(VisitView::from(&visit));
                        triggered.push(trigger_key(visit_id, Trigger::Dwell));
                        arrivals(tx, &identity, &visit, *at_ms, &mut told)?;
                    }
                    Change::Exit { visit_id, at_ms, reason } => {
                        if !tx.close_visit(visit_id, *at_ms, reason)? {
                            continue;
                        }
                        let Some(visit) = tx.visit(visit_id)? else { continue };
                        event(tx, &identity, views::visit_event("visit_ended", &visit), LOCATION, now)?;
                        told.visits.push(VisitView::from(&visit));
                        tx.prune_proximity(now)?;
                    }
                    Change::Touch { visit_id, at_ms } => tx.touch_visit(visit_id, *at_ms)?,
                }
            }
            for (trigger, offer) in &offers {
                // A dwell storage refused (told twice after a restart) makes no offer either.
                if !triggered.contains(trigger) {
                    continue;
                }
                let stored = StoredOffer {
                    offer_id: offer.offer_id.clone(),
                    campaign_id: offer.campaign_id.clone(),
                    zone: Some(offer.zone.clone()),
                    visit_id: Some(offer.visit_id.clone()),
                    coupon_id: offer.coupon_id.clone(),
                    at_ms: now,
                };
                if tx.record_offer(&stored)? {
                    if marketing {
                        event(tx, &identity, views::offer_event(&stored), MARKETING, now)?;
                    }
                    told.offers.push(offer.clone());
                }
            }
            Ok(told)
        })?;
        self.grant_coupons(storage, &identity, &mut told);
        self.tell(told);
        Ok(())
    }

    /// The rules' choice for each enter and dwell in the batch, against the history as it stands (offers chosen
    /// earlier in the batch count too).
    fn plan_offers(
        &self,
        storage: &Storage,
        config: &ProximityConfig,
        changes: &[Change],
        now: i64,
    ) -> Result<Vec<(String, OfferView)>> {
        if config.campaigns.campaigns.is_empty() {
            return Ok(Vec::new());
        }
        let mut history: Vec<OfferRecord> = storage
            .offers_since(now - PROXIMITY_RETENTION_MS)?
            .into_iter()
            .map(|o| OfferRecord {
                campaign_id: o.campaign_id,
                zone: o.zone.unwrap_or_default(),
                visit_id: o.visit_id.unwrap_or_default(),
                at_ms: o.at_ms,
            })
            .collect();
        let personalization_allowed = self.consent.is_allowed(PERSONALIZATION, now) == Some(true);
        let today = now.div_euclid(86_400_000);
        let audience_count = |rule: &super::campaign::AudienceRule| {
            let from = today - i64::from(rule.within_days) + 1;
            storage.audience_count(&rule.key(), from).unwrap_or(0)
        };
        let mut planned = Vec::new();
        for change in changes {
            let (trigger, visit_id, zone) = match change {
                Change::Enter(v) => (Trigger::Enter, v.id.clone(), v.zone.clone()),
                Change::Dwell { visit_id, .. } => match storage_zone_of(changes, storage, visit_id)? {
                    Some(zone) => (Trigger::Dwell, visit_id.clone(), zone),
                    None => continue,
                },
                _ => continue,
            };
            let store_tz = config.store_time_zone(&zone).unwrap_or_else(|| self.shopper_tz.clone());
            let ctx = OfferContext {
                trigger,
                zone: &zone,
                visit_id: &visit_id,
                now_ms: now,
                store_tz: &store_tz,
                shopper_tz: &self.shopper_tz,
                personalization_allowed,
                history: &history,
                audience_count: &audience_count,
            };
            let decision = decide(&config.campaigns, &ctx);
            for (campaign, reason) in &decision.skipped {
                tracing::debug!(campaign = %campaign, reason = ?reason, "campaign not offered");
            }
            if let Some(chosen) = decision.offer {
                history.push(OfferRecord {
                    campaign_id: chosen.campaign_id.clone(),
                    zone: zone.clone(),
                    visit_id: visit_id.clone(),
                    at_ms: now,
                });
                let view = OfferView {
                    offer_id: chosen.offer_id,
                    campaign_id: chosen.campaign_id,
                    visit_id: visit_id.clone(),
                    zone: zone.clone(),
                    title: chosen.title,
                    body: chosen.body,
                    coupon_id: chosen.coupon_id,
                    coupon_clipped: false,
                    at: rfc3339_ms(now),
                };
                planned.push((trigger_key(&visit_id, trigger), view));
            }
        }
        Ok(planned)
    }

    /// An offer that grants a coupon clips it when the wallet holds it (a service the shopper now has, so not
    /// gated by marketing); one the wallet does not hold yet stays named in the offer.
    fn grant_coupons(&self, storage: &Storage, identity: &Identity, told: &mut Told) {
        let Some(wallet) = &self.wallet else { return };
        let mut changed = false;
        for offer in told.offers.iter_mut() {
            if let Some(coupon) = &offer.coupon_id {
                match wallet.clip(storage, coupon, identity) {
                    Ok(clipped) => {
                        offer.coupon_clipped = clipped;
                        changed |= clipped;
                    }
                    Err(e) => tracing::info!(error = %e, "an offer's coupon is not in the wallet"),
                }
            }
        }
        if changed {
            if let (Some(listener), Ok(coupons)) = (&self.listener, wallet.coupons(storage, None)) {
                listener::dispatch(listener.as_ref(), vec![SdkEvent::WalletChanged { coupons }]);
            }
        }
    }

    fn tell(&self, told: Told) {
        let Some(listener) = &self.listener else { return };
        let mut events: Vec<SdkEvent> = told.visits.into_iter().map(|visit| SdkEvent::VisitChanged { visit }).collect();
        events.extend(told.pickups.into_iter().map(|pickup| SdkEvent::PickupArrived { pickup }));
        events.extend(told.offers.into_iter().map(|offer| SdkEvent::OfferMade { offer }));
        listener::dispatch(listener.as_ref(), events);
    }

    /// Records an expected pickup; when the shopper is already in that store inside the window, it has arrived.
    pub fn expect_pickup(
        &self,
        ctx: &mut WriterContext<'_>,
        pickup: StoredPickup,
        inside: Option<String>,
    ) -> Result<()> {
        let now = self.clock.now_ms();
        let identity = ctx.identity().clone();
        let located = self.consent.is_allowed(LOCATION, now) == Some(true);
        let told = ctx.storage.write(|tx| {
            tx.expect_pickup(&pickup)?;
            let mut told = Told::default();
            if let (Some(visit_id), true) = (inside, located) {
                if let Some(visit) = tx.visit(&visit_id)? {
                    arrivals(tx, &identity, &visit, now, &mut told)?;
                }
            }
            Ok(told)
        })?;
        self.tell(told);
        Ok(())
    }
}

/// Pickups of the visit's store waiting at `at_ms` arrive with it, each once.
fn arrivals(tx: &Tx<'_>, identity: &Identity, visit: &StoredVisit, at_ms: i64, told: &mut Told) -> Result<()> {
    for mut pickup in tx.waiting_pickups(&visit.store, at_ms)? {
        if tx.pickup_arrived(&pickup.order_id, at_ms, &visit.id)? {
            pickup.arrived_ms = Some(at_ms);
            pickup.visit_id = Some(visit.id.clone());
            event(tx, identity, views::pickup_event(&pickup), LOCATION, at_ms)?;
            told.pickups.push(PickupView::from(&pickup));
        }
    }
    Ok(())
}

fn event(tx: &Tx<'_>, identity: &Identity, (name, props): (String, Value), purpose: &str, at_ms: i64) -> Result<()> {
    let message =
        PendingMessage::new(Uuid::now_v7(), MessageKind::Track, &name, &props.to_string(), purpose, at_ms, None);
    tx.append_event(&message, identity)
}

fn trigger_key(visit_id: &str, trigger: Trigger) -> String {
    format!("{visit_id}/{trigger:?}")
}

/// The zone of a visit a dwell refers to: opened in this batch, or stored.
fn storage_zone_of(changes: &[Change], storage: &Storage, visit_id: &str) -> Result<Option<String>> {
    for change in changes {
        if let Change::Enter(v) = change {
            if v.id == visit_id {
                return Ok(Some(v.zone.clone()));
            }
        }
    }
    Ok(storage.open_visits()?.into_iter().find(|v| v.id == visit_id).map(|v| v.zone))
}
