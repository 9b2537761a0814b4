//! One upload pass: lease the oldest messages into a batch, send it, and act on the status table until the queue
//! is empty or the server says to stop. Rejected batches are bisected to isolate poison messages.

use std::sync::Arc;
use std::time::Duration;

use super::endpoint::Endpoint;
use super::lane::{Blocked, Lane, LaneState};
use super::policy::{self, Verdict};
use super::receipts::EssentialLane;
use super::transport::{HttpRequest, HttpTransport, TransportError};
use super::wire;
use crate::clock::{rfc3339_ms, Clock, Random};
use crate::config::{FlushPolicy, RetryPolicy, StorageLimits};
use crate::consent::view::ConsentView;
use crate::error::Result;
use crate::listener::{PassEvents, SdkEvent, SdkListener};
use crate::storage::{Counter, Storage};

const META_LAST_ERROR: &str = "last_error";
const META_LAST_ERROR_AT: &str = "last_error_at";
const META_LAST_SUCCESS_AT: &str = "last_success_at";

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
    pub endpoint: Endpoint,
    pub api_key: Option<String>,
    pub transport: Arc<dyn HttpTransport>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub flush: FlushPolicy,
    pub retry: RetryPolicy,
    pub limits: StorageLimits,
    /// Told what each pass did, on the sync thread after the pass.
    pub listener: Option<Arc<dyn SdkListener>>,
    /// Nothing of a purpose that is not allowed at the moment of sending leaves the device.
    pub consent: Arc<ConsentView>,
    /// How often the consent policy is fetched (and at start-up); `None`: only when the app asks.
    pub config_refresh: Option<Duration>,
    /// Whether the essential lane uploads consent receipts (deletion requests are always sent).
    pub consent_receipts: bool,
}

impl UploaderSetup {
    /// Headers every request carries: protocol version, user agent, credentials.
    pub(crate) fn common_headers(&self) -> Vec<(String, String)> {
        use base64::Engine;
        let mut headers = vec![
            ("X-Footfall-Protocol".to_string(), wire::PROTOCOL_VERSION.to_string()),
            (
                "User-Agent".to_string(),
                format!("{}/{} ({})", wire::LIBRARY_NAME, wire::LIBRARY_VERSION, std::env::consts::OS),
            ),
        ];
        if let Some(key) = &self.api_key {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
            headers.push(("Authorization".to_string(), format!("Basic {token}")));
        }
        headers
    }
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
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    Pause {
        reason: String,
    },
    CertificateInvalid {
        reason: String,
    },
}

struct Encoded {
    seq: i64,
    json: String,
}

impl Uploader {
    /// Resumes each lane's persisted hold or certificate wait from the previous process.
    pub fn new(setup: UploaderSetup, storage: Arc<Storage>) -> Self {
        let load = |lane| {
            let (mono, wall) = (setup.clock.monotonic_ms(), setup.clock.now_ms());
            LaneState::load(lane, &storage, &setup.retry, mono, wall).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "upload state unreadable; starting afresh");
                LaneState::fresh(lane)
            })
        };
        let lane = load(Lane::Events);
        let essential = EssentialLane::new(load(Lane::Essential));
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

    /// Milliseconds until the next background attempt is due, in either lane, if one is waiting.
    pub fn retry_in_ms(&self) -> Option<u64> {
        let now = self.setup.clock.monotonic_ms();
        [self.lane.retry_in_ms(now), self.essential.retry_in_ms(now)].into_iter().flatten().min()
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
        match self.lane.blocked(explicit, self.setup.clock.monotonic_ms()) {
            Some(Blocked::Held { after, until_ms, reason }) => {
                report.outcome = FlushOutcome::Held { after, until_ms, reason }
            }
            Some(Blocked::Paused { reason }) => report.outcome = FlushOutcome::Paused { reason },
            Some(Blocked::BackingOff { after }) => {
                report.outcome = FlushOutcome::RetryLater { after, reason: "backing off after a failure".into() }
            }
            None => {
                self.storage.enforce_limits(&self.setup.limits, self.setup.clock.now_ms())?;
                report.outcome = self.send_all(&mut report).await?;
                if report.outcome == FlushOutcome::Drained {
                    // Nothing failed (possibly nothing was left to send): no wait is pending any more.
                    self.lane.on_success(&self.storage)?;
                }
            }
        }
        report.remaining = self.storage.queued()?;
        // The essential lane is never gated by consent and never held back by the event lane's state.
        if let Err(e) = self.essential.run(&self.setup, &self.storage, explicit).await {
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
                Some(Stop::Retry { after, reason }) => return self.on_retry(after, reason),
                Some(Stop::Pause { reason }) => {
                    tracing::warn!(reason = %reason, "uploads paused; events are kept");
                    self.record_error(&reason)?;
                    self.lane.on_pause(&self.storage, &reason)?;
                    self.events.push(SdkEvent::Paused { reason: reason.clone() });
                    return Ok(FlushOutcome::Paused { reason });
                }
                Some(Stop::CertificateInvalid { reason }) => {
                    tracing::warn!(reason = %reason, "uploads paused: the server's certificate was refused; events are kept");
                    self.record_error(&reason)?;
                    let (mono, wall) = (self.setup.clock.monotonic_ms(), self.setup.clock.now_ms());
                    self.lane.on_certificate_invalid(&self.storage, &self.setup.retry, &reason, mono, wall)?;
                    self.events.push(SdkEvent::Paused { reason: reason.clone() });
                    return Ok(FlushOutcome::Paused { reason });
                }
            }
        }
    }

    /// Leases the oldest messages that fit the batch's count and byte limits (at least one).
    fn lease_batch(&mut self) -> Result<Vec<Encoded>> {
        let now = self.setup.clock.now_ms();
        // Read the generation first: a change after this point is caught before the batch is sent.
        self.leased_under = self.setup.consent.generation();
        let excluded = self.denied_purposes(now)?;
        // Long enough to outlive the request, short enough that a stuck lease recovers within this process.
        let lease_until = now + 2 * self.setup.retry.request_timeout.as_millis() as i64 + 10_000;
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
            self.pass_purposes = Some(self.storage.queued_purposes()?);
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
        let mut parts = vec![batch];
        while let Some(mut part) = parts.pop() {
            let Some(verdict) = self.attempt(&part).await? else {
                // Rows purged by the change are gone; the rest go back to pending and are leased again.
                let seqs: Vec<i64> = part.iter().map(|m| m.seq).collect();
                self.release(&seqs, &parts)?;
                return Ok(Some(Stop::ConsentChanged));
            };
            let seqs: Vec<i64> = part.iter().map(|m| m.seq).collect();
            match verdict {
                Verdict::Delivered { duplicates } => {
                    let delivered = self.storage.delete_delivered(&seqs, duplicates)?;
                    report.delivered += delivered;
                    report.duplicates += duplicates;
                    self.events.delivered(delivered, duplicates);
                }
                Verdict::Rejected { status, reason } if part.len() == 1 => {
                    tracing::warn!(status, "server rejected a message; moved to dead letters");
                    let count = self.storage.dead_letter(&seqs, Some(status), &reason, self.setup.clock.now_ms())?;
                    report.dead_lettered += count;
                    self.events.dead_lettered(count, Some(status), &reason);
                }
                Verdict::TooLarge { reason } if part.len() == 1 => {
                    let count = self.storage.dead_letter(&seqs, Some(413), &reason, self.setup.clock.now_ms())?;
                    report.dead_lettered += count;
                    self.events.dead_lettered(count, Some(413), &reason);
                }
                Verdict::Rejected { .. } | Verdict::TooLarge { .. } => {
                    let right = part.split_off(part.len() / 2);
                    parts.push(right);
                    parts.push(part);
                }
                Verdict::Retry { after, reason } => {
                    self.release(&seqs, &parts)?;
                    return Ok(Some(Stop::Retry { after, reason }));
                }
                Verdict::Pause { reason } => {
                    self.release(&seqs, &parts)?;
                    return Ok(Some(Stop::Pause { reason }));
                }
                Verdict::CertificateInvalid { reason } => {
                    self.release(&seqs, &parts)?;
                    return Ok(Some(Stop::CertificateInvalid { reason }));
                }
            }
        }
        Ok(None)
    }

    /// One request; `None` when consent changed after the batch was leased (before sending: nothing was sent;
    /// while in flight: the request was abandoned).
    async fn attempt(&self, part: &[Encoded]) -> Result<Option<Verdict>> {
        let now = self.setup.clock.now_ms();
        let body = wire::batch_body(part.iter().map(|m| m.json.as_str()), now);
        let request = HttpRequest {
            method: "POST".into(),
            url: self.setup.endpoint.url(wire::BATCH_PATH),
            headers: self.headers(),
            body: wire::gzip(&body),
            timeout: self.setup.retry.request_timeout,
        };
        self.storage.add_counters(&[(Counter::UploadAttempts, 1)])?;
        let timeout = self.setup.retry.request_timeout;
        let consent = &self.setup.consent;
        let (mut changes, send) = {
            // Commit to sending under the gate: a consent change is published either before (and this batch is
            // leased again under it) or after (and the request in flight is abandoned).
            let _gate = consent.gate();
            let changes = consent.watch();
            if *changes.borrow() != self.leased_under {
                return Ok(None);
            }
            (changes, tokio::time::timeout(timeout, self.setup.transport.send(request)))
        };
        let result = tokio::select! {
            biased;
            Ok(()) = changes.changed() => return Ok(None),
            result = send => match result {
                Ok(result) => result,
                Err(_) => Err(TransportError::Timeout),
            },
        };
        let verdict = policy::classify(&result, now, &self.setup.retry);
        if !matches!(verdict, Verdict::Delivered { .. }) {
            self.storage.add_counters(&[(Counter::UploadFailures, 1)])?;
        }
        tracing::debug!(messages = part.len(), status = result.as_ref().map(|r| r.status).ok(), "upload attempt");
        Ok(Some(verdict))
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Content-Encoding".to_string(), "gzip".to_string()),
        ];
        headers.extend(self.setup.common_headers());
        headers
    }

    fn release(&self, current: &[i64], waiting: &[Vec<Encoded>]) -> Result<()> {
        let mut seqs = current.to_vec();
        seqs.extend(waiting.iter().flatten().map(|m| m.seq));
        self.storage.release(&seqs)
    }

    fn on_success(&mut self) -> Result<()> {
        self.lane.on_success(&self.storage)?;
        self.storage.set_meta(META_LAST_SUCCESS_AT, Some(&rfc3339_ms(self.setup.clock.now_ms())))
    }

    fn on_retry(&mut self, server_delay: Option<Duration>, reason: String) -> Result<FlushOutcome> {
        let (mono, wall) = (self.setup.clock.monotonic_ms(), self.setup.clock.now_ms());
        let random = self.setup.random.next_f64();
        let delay = self.lane.on_retry(&self.storage, &self.setup.retry, server_delay, &reason, random, mono, wall)?;
        self.storage.add_counters(&[(Counter::Retries, 1)])?;
        self.record_error(&reason)?;
        tracing::info!(reason = %reason, retry_in_ms = delay.as_millis() as u64, "upload failed; will retry");
        self.events.push(SdkEvent::RetryScheduled { after: delay, reason: reason.clone() });
        Ok(match server_delay {
            Some(_) => FlushOutcome::Held { after: delay, until_ms: wall + delay.as_millis() as i64, reason },
            None => FlushOutcome::RetryLater { after: delay, reason },
        })
    }

    fn record_error(&self, reason: &str) -> Result<()> {
        self.storage.set_meta(META_LAST_ERROR, Some(reason))?;
        self.storage.set_meta(META_LAST_ERROR_AT, Some(&rfc3339_ms(self.setup.clock.now_ms())))
    }
}

/// The last error and last success recorded by any instance on this database.
pub(crate) fn sync_history(storage: &Storage) -> Result<(Option<String>, Option<String>, Option<String>)> {
    Ok((storage.meta(META_LAST_ERROR)?, storage.meta(META_LAST_ERROR_AT)?, storage.meta(META_LAST_SUCCESS_AT)?))
}
