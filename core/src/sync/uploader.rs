//! The event lane: one upload pass leases the oldest messages into a batch, sends it, and acts on the status
//! table until the queue is empty or the server says to stop. Rejected batches are bisected to isolate poison
//! messages. The essential lane runs after every pass.

use std::sync::Arc;
use std::time::Duration;

use super::essential::EssentialLane;
use super::halves::Halves;
use super::lane::{Blocked, Lane, LaneState, LaneStop};
use super::request::RequestContext;
use super::transport::TransportError;
use super::verdict::{self, Verdict};
use super::wallet_outbox::WalletRedemptions;
use super::wire;
use crate::clock::rfc3339_ms;
use crate::config::{FlushPolicy, StorageLimits};
use crate::consent::view::ConsentView;
use crate::error::Result;
use crate::listener::{PassEvents, SdkEvent, SdkListener};
use crate::proximity::service::Proximity;
use crate::storage::{Counter, MetaKey, Storage};
use crate::wallet::service::Wallet;

/// What a flush achieved.
#[derive(Debug, Clone, PartialEq)]
pub struct FlushReport {
    pub delivered: u64,
    pub dead_lettered: u64,
    /// Duplicates the server reported (it had these ids already).
    pub duplicates: u64,
    /// Messages still queued after the pass.
    pub remaining: u64,
    pub outcome: FlushOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FlushOutcome {
    /// Nothing is left to send.
    Drained,
    /// A transient failure; the next attempt is due after this delay.
    RetryLater { after: Duration, reason: String },
    /// Uploads are paused (auth, configuration or a refused TLS certificate); data is kept.
    Paused { reason: String },
    /// The server asked (`Retry-After`) that nothing be sent before `until_ms` (Unix ms, device clock): not even
    /// an explicit flush sends until then, in this process or the next.
    Held { after: Duration, until_ms: i64, reason: String },
}

pub(crate) struct UploaderSetup {
    /// Endpoint, credentials, transport, clock, randomness and retry policy, shared by every request.
    pub request: RequestContext,
    pub flush: FlushPolicy,
    pub limits: StorageLimits,
    /// Told what each pass did, on the sync thread after the pass.
    pub listener: Option<Arc<dyn SdkListener>>,
    /// Nothing of a purpose that is not allowed at the moment of sending leaves the device.
    pub consent: Arc<ConsentView>,
    /// How often the consent policy is fetched (and at start-up); `None`: only when the app asks.
    pub config_refresh: Option<Duration>,
    /// Whether the essential lane uploads consent receipts (deletion requests are always sent).
    pub consent_receipts: bool,
    /// The coupon wallet, when configured: its outboxes join the essential lane and its feed is pulled.
    pub wallet: Option<Arc<Wallet>>,
    /// Store proximity: the remote configuration's zones and campaigns are applied to it.
    pub proximity: Option<Arc<Proximity>>,
}

pub(crate) struct Uploader {
    setup: UploaderSetup,
    storage: Arc<Storage>,
    lane: LaneState,
    /// What the current pass did, for the listener.
    events: PassEvents,
    /// The consent generation the current batch was leased under.
    leased_under: u64,
    /// The purposes queued when the current pass began (one scan per pass, not per batch; see `lease_batch`).
    pass_purposes: Option<Vec<String>>,
    /// Consent receipts and rights requests, run after every pass with their own backoff.
    essential: EssentialLane,
}

enum Stop {
    /// Consent changed while the batch was leased: lease again under the new decision.
    ConsentChanged,
    /// The server said to stop (retry later, pause).
    Lane(LaneStop),
}

struct Encoded {
    seq: i64,
    json: String,
}

impl Uploader {
    /// Resumes each lane's persisted hold or certificate wait from the previous process.
    pub fn new(setup: UploaderSetup, storage: Arc<Storage>) -> Self {
        let load = |lane| {
            let (mono, wall) = (setup.request.clock.monotonic_ms(), setup.request.clock.now_ms());
            LaneState::load(lane, &storage, &setup.request.retry, mono, wall).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "upload state unreadable; starting afresh");
                LaneState::fresh(lane)
            })
        };
        let lane = load(Lane::Events);
        let wallet = setup.wallet.clone().map(|wallet| WalletRedemptions {
            wallet,
            clock: setup.request.clock.clone(),
            answered: Default::default(),
        });
        let essential = EssentialLane::new(load(Lane::Essential), setup.consent_receipts, wallet);
        Uploader {
            setup,
            storage,
            lane,
            events: PassEvents::default(),
            leased_under: 0,
            pass_purposes: None,
            essential,
        }
    }

    /// The network came back: both lanes stop waiting out their backoff (never a server's hold or a pause).
    /// Whether either was waiting, so a pass is worth running.
    pub fn network_available(&mut self) -> bool {
        let events = self.lane.network_available();
        self.essential.network_available() | events
    }

    /// Milliseconds until the next background attempt is due, in either lane, if one is waiting.
    pub fn retry_in_ms(&self) -> Option<u64> {
        let now = self.setup.request.clock.monotonic_ms();
        [self.lane.retry_in_ms(now), self.essential.retry_in_ms(now)].into_iter().flatten().min()
    }

    /// Whether the server answered a redemption since the last call (the scheduler then pulls the feed).
    pub fn take_wallet_answered(&self) -> bool {
        self.essential.take_wallet_answered()
    }

    pub fn setup(&self) -> &UploaderSetup {
        &self.setup
    }

    /// What the passes since the last call did (emptied by the call).
    pub fn take_events(&mut self) -> Vec<SdkEvent> {
        self.events.take()
    }

    /// Runs one pass. `explicit` (the app asked to flush) ignores our own backoff and a pause, but never the
    /// server's `Retry-After`.
    pub async fn pass(&mut self, explicit: bool) -> Result<FlushReport> {
        self.pass_purposes = None;
        let mut report =
            FlushReport { delivered: 0, dead_lettered: 0, duplicates: 0, remaining: 0, outcome: FlushOutcome::Drained };
        match self.lane.blocked(explicit, self.setup.request.clock.monotonic_ms()) {
            Some(Blocked::Held { after, until_ms, reason }) => {
                report.outcome = FlushOutcome::Held { after, until_ms, reason }
            }
            Some(Blocked::Paused { reason }) => report.outcome = FlushOutcome::Paused { reason },
            Some(Blocked::BackingOff { after }) => {
                report.outcome = FlushOutcome::RetryLater { after, reason: "backing off after a failure".into() }
            }
            None => {
                self.storage.enforce_limits(&self.setup.limits, self.setup.request.clock.now_ms())?;
                report.outcome = self.send_all(&mut report).await?;
                if report.outcome == FlushOutcome::Drained {
                    // Nothing failed (possibly nothing was left to send): no wait is pending any more.
                    self.lane.on_success(&self.storage)?;
                }
            }
        }
        report.remaining = self.storage.queued()?;
        // The essential lane is never gated by consent and never held back by the event lane's state.
        if let Err(e) = self.essential.run(&self.setup.request, &self.storage, explicit).await {
            tracing::error!(error = %e, "essential lane failed; retried on the next pass");
        }
        Ok(report)
    }

    async fn send_all(&mut self, report: &mut FlushReport) -> Result<FlushOutcome> {
        loop {
            let batch = self.lease_batch()?;
            if batch.is_empty() {
                return Ok(FlushOutcome::Drained);
            }
            match self.deliver(batch, report).await? {
                None => self.on_success()?,
                Some(Stop::ConsentChanged) => continue,
                Some(Stop::Lane(stop)) => return self.on_stop(stop),
            }
        }
    }

    /// Leases the oldest messages that fit the batch's count and byte limits (at least one).
    fn lease_batch(&mut self) -> Result<Vec<Encoded>> {
        let now = self.setup.request.clock.now_ms();
        // Read the generation first: a change after this point is caught before the batch is sent.
        self.leased_under = self.setup.consent.generation();
        let excluded = self.denied_purposes(now)?;
        // Long enough to outlive the request, short enough that a stuck lease recovers within this process.
        let lease_until = now + 2 * self.setup.request.retry.request_timeout.as_millis() as i64 + 10_000;
        let budget = self.setup.flush.max_batch_bytes;
        let mut used = wire::FRAME_OVERHEAD;
        let mut encoded = Vec::new();
        self.storage.lease_excluding(
            now,
            lease_until,
            self.setup.flush.max_batch_events.max(1),
            &excluded,
            |message| {
                let json = wire::encode_message(message);
                let cost = json.len() + 1;
                if !encoded.is_empty() && used + cost > budget {
                    return false;
                }
                used += cost;
                encoded.push(Encoded { seq: message.seq, json });
                true
            },
        )?;
        Ok(encoded)
    }

    /// The purposes whose queued messages must not be leased now. A message was allowed when it was committed
    /// and every consent change since purged what it denied, so only a purpose with a decision (which can expire)
    /// or one queued before this pass began (enforcement turned on, a restart) can be denied now: those are
    /// checked, without scanning the queue for every batch.
    fn denied_purposes(&mut self, now: i64) -> Result<Vec<String>> {
        let consent = &self.setup.consent;
        if !consent.enforced() {
            return Ok(Vec::new());
        }
        if self.pass_purposes.is_none() {
            self.pass_purposes = Some(self.storage.held_purposes()?);
        }
        let mut candidates = consent.known_purposes();
        candidates.extend(self.pass_purposes.iter().flatten().cloned());
        candidates.sort_unstable();
        candidates.dedup();
        Ok(candidates.into_iter().filter(|p| consent.is_allowed(p, now) != Some(true)).collect())
    }

    /// Sends a batch, splitting it on 400/413 until every message is delivered or dead-lettered.
    /// Returns the reason to stop early; the leases of everything unsent are released then.
    async fn deliver(&mut self, batch: Vec<Encoded>, report: &mut FlushReport) -> Result<Option<Stop>> {
        let mut halves = Halves::new(batch);
        while let Some(part) = halves.next_part() {
            let Some(verdict) = self.attempt(&part).await? else {
                // Rows purged by the change are gone; the rest go back to pending and are leased again.
                self.release(halves.unsent(part))?;
                return Ok(Some(Stop::ConsentChanged));
            };
            let seqs: Vec<i64> = part.iter().map(|m| m.seq).collect();
            let now = self.setup.request.clock.now_ms();
            match verdict {
                Verdict::Delivered { duplicates } => {
                    let delivered = self.storage.delete_delivered(&seqs, duplicates)?;
                    report.delivered += delivered;
                    report.duplicates += duplicates;
                    self.events.delivered(delivered, duplicates);
                }
                Verdict::Rejected { status, reason } if part.len() == 1 => {
                    tracing::warn!(status, "server rejected a message; moved to dead letters");
                    self.dead_letter(&seqs, status, &reason, now, report)?;
                }
                Verdict::TooLarge { reason } if part.len() == 1 => {
                    self.dead_letter(&seqs, 413, &reason, now, report)?
                }
                Verdict::Rejected { .. } | Verdict::TooLarge { .. } => halves.split(part),
                verdict => {
                    self.release(halves.unsent(part))?;
                    return Ok(LaneStop::from_verdict(verdict).map(Stop::Lane));
                }
            }
        }
        Ok(None)
    }

    fn dead_letter(
        &mut self,
        seqs: &[i64],
        status: u16,
        reason: &str,
        now: i64,
        report: &mut FlushReport,
    ) -> Result<()> {
        let count = self.storage.dead_letter(seqs, Some(status), reason, now)?;
        report.dead_lettered += count;
        self.events.dead_lettered(count, Some(status), reason);
        Ok(())
    }

    /// One request; `None` when consent changed after the batch was leased (before sending: nothing was sent;
    /// while in flight: the request was abandoned).
    async fn attempt(&self, part: &[Encoded]) -> Result<Option<Verdict>> {
        let request = &self.setup.request;
        let now = request.clock.now_ms();
        let body = wire::batch_body(part.iter().map(|m| m.json.as_str()), now);
        let http = request.json_post(wire::BATCH_PATH, &body);
        self.storage.add_counters(&[(Counter::UploadAttempts, 1)])?;
        let consent = &self.setup.consent;
        let (mut changes, send) = {
            // Commit to sending under the gate: a consent change is published either before (and this batch is
            // leased again under it) or after (and the request in flight is abandoned).
            let _gate = consent.gate();
            let changes = consent.watch();
            if *changes.borrow() != self.leased_under {
                return Ok(None);
            }
            (changes, request.send(http))
        };
        let result: std::result::Result<_, TransportError> = tokio::select! {
            biased;
            Ok(()) = changes.changed() => return Ok(None),
            result = send => result,
        };
        let verdict = verdict::classify(&result, now, &request.retry);
        if !matches!(verdict, Verdict::Delivered { .. }) {
            self.storage.add_counters(&[(Counter::UploadFailures, 1)])?;
        }
        tracing::debug!(messages = part.len(), status = result.as_ref().map(|r| r.status).ok(), "upload attempt");
        Ok(Some(verdict))
    }

    fn release(&self, unsent: Vec<Encoded>) -> Result<()> {
        self.storage.release(&unsent.iter().map(|m| m.seq).collect::<Vec<_>>())
    }

    fn on_success(&mut self) -> Result<()> {
        self.lane.on_success(&self.storage)?;
        self.storage.set_meta(MetaKey::LastSuccessAt, Some(&rfc3339_ms(self.setup.request.clock.now_ms())))
    }

    /// The server said to stop: the lane records it (a hold, a backoff, a pause) and the pass reports it.
    fn on_stop(&mut self, stop: LaneStop) -> Result<FlushOutcome> {
        let wall = self.setup.request.clock.now_ms();
        let wait = self.lane.on_stop(&self.storage, &self.setup.request, &stop)?;
        self.record_error(stop.reason())?;
        Ok(match stop {
            LaneStop::Retry { after, reason } => {
                self.storage.add_counters(&[(Counter::Retries, 1)])?;
                tracing::info!(reason = %reason, retry_in_ms = wait.as_millis() as u64, "upload failed; will retry");
                self.events.push(SdkEvent::RetryScheduled { after: wait, reason: reason.clone() });
                match after {
                    Some(_) => FlushOutcome::Held { after: wait, until_ms: wall + wait.as_millis() as i64, reason },
                    None => FlushOutcome::RetryLater { after: wait, reason },
                }
            }
            LaneStop::Pause { reason } | LaneStop::CertificateInvalid { reason } => {
                tracing::warn!(reason = %reason, "uploads paused; events are kept");
                self.events.push(SdkEvent::Paused { reason: reason.clone() });
                FlushOutcome::Paused { reason }
            }
        })
    }

    fn record_error(&self, reason: &str) -> Result<()> {
        self.storage.set_meta(MetaKey::LastError, Some(reason))?;
        self.storage.set_meta(MetaKey::LastErrorAt, Some(&rfc3339_ms(self.setup.request.clock.now_ms())))
    }
}

/// The last error and last success recorded by any instance on this database.
pub(crate) fn sync_history(storage: &Storage) -> Result<(Option<String>, Option<String>, Option<String>)> {
    Ok((storage.meta(MetaKey::LastError)?, storage.meta(MetaKey::LastErrorAt)?, storage.meta(MetaKey::LastSuccessAt)?))
}
