//! The essential lane, and its consent receipts: `POST {base}/v1/consent-records`. The lane runs after every
//! upload pass, whatever the consent state (its requests are the proof of that state), with its own backoff and
//! pause so it never holds event uploads back. Records go oldest first, verbatim as sealed and stored; a 2xx
//! marks them synced, 400/422/413 bisect, and a record refused on its own stays in the log, marked refused
//! (`synced = 2`, with the reason) and is not sent again. Nothing here is evicted or expires.

use std::time::Duration;

use super::deletion;
use super::lane::LaneState;
use super::policy::{self, Verdict};
use super::transport::{HttpRequest, HttpResponse, TransportError};
use super::uploader::UploaderSetup;
use super::wire;
use crate::clock::rfc3339_ms;
use crate::error::Result;
use crate::storage::{Counter, Storage, StoredConsent};

pub const CONSENT_RECORDS_PATH: &str = "/v1/consent-records";
/// At most this many records per request (docs/protocol.md § The essential lane).
pub const MAX_RECORDS_PER_REQUEST: usize = 100;
/// At most this many bytes of uncompressed body per request.
pub const MAX_REQUEST_BYTES: usize = 512_000;
const FRAME_OVERHEAD: usize = r#"{"records":[],"sentAt":"2026-11-22T10:15:30.123Z"}"#.len();

/// Why the lane stopped before it was done.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LaneStop {
    Retry { after: Option<Duration>, reason: String },
    Pause { reason: String },
    CertificateInvalid { reason: String },
}

impl LaneStop {
    /// The stop for a verdict that ends the lane's run, `None` for the verdicts a sender handles itself.
    pub(crate) fn from_verdict(verdict: Verdict) -> Option<LaneStop> {
        match verdict {
            Verdict::Retry { after, reason } => Some(LaneStop::Retry { after, reason }),
            Verdict::Pause { reason } => Some(LaneStop::Pause { reason }),
            Verdict::CertificateInvalid { reason } => Some(LaneStop::CertificateInvalid { reason }),
            Verdict::Delivered { .. } | Verdict::Rejected { .. } | Verdict::TooLarge { .. } => None,
        }
    }

    pub(crate) fn reason(&self) -> &str {
        match self {
            LaneStop::Retry { reason, .. } | LaneStop::Pause { reason } | LaneStop::CertificateInvalid { reason } => {
                reason
            }
        }
    }
}

/// The lane's own retry state: a failure here never delays or pauses event uploads, and vice versa.
pub(crate) struct EssentialLane {
    state: LaneState,
}

impl EssentialLane {
    pub fn new(state: LaneState) -> Self {
        EssentialLane { state }
    }

    /// Milliseconds until the lane wants another run, when it is waiting on one.
    pub fn retry_in_ms(&self, now_mono: u64) -> Option<u64> {
        self.state.retry_in_ms(now_mono)
    }

    /// Sends unsynced consent records, then pending rights requests. `explicit` (a flush) ignores our own
    /// backoff and a pause, never the server's `Retry-After`.
    pub async fn run(&mut self, setup: &UploaderSetup, storage: &Storage, explicit: bool) -> Result<()> {
        if self.state.blocked(explicit, setup.clock.monotonic_ms()).is_some() {
            return Ok(());
        }
        // A storage failure backs off like a transient one, so a broken disk cannot spin the sync thread.
        let stop = match self.send(setup, storage).await {
            Ok(stop) => stop,
            Err(e) => Some(LaneStop::Retry { after: None, reason: e.to_string() }),
        };
        let (mono, wall) = (setup.clock.monotonic_ms(), setup.clock.now_ms());
        match stop {
            None => self.state.on_success(storage)?,
            Some(LaneStop::Retry { after, reason }) => {
                let random = setup.random.next_f64();
                let delay = self.state.on_retry(storage, &setup.retry, after, &reason, random, mono, wall)?;
                tracing::info!(reason = %reason, retry_in_ms = delay.as_millis() as u64, "essential lane: will retry");
                storage.add_counters(&[(Counter::Retries, 1)])?;
            }
            Some(LaneStop::Pause { reason }) => {
                tracing::warn!(reason = %reason, "essential lane paused (event uploads are not); records are kept");
                self.state.on_pause(storage, &reason)?;
            }
            Some(LaneStop::CertificateInvalid { reason }) => {
                tracing::warn!(reason = %reason, "essential lane paused: the server's certificate was refused");
                self.state.on_certificate_invalid(storage, &setup.retry, &reason, mono, wall)?;
            }
        }
        Ok(())
    }
}

impl EssentialLane {
    /// Consent receipts first (when on), then rights requests; `Some` when the server said to stop.
    async fn send(&self, setup: &UploaderSetup, storage: &Storage) -> Result<Option<LaneStop>> {
        if setup.consent_receipts {
            if let Some(stop) = send_records(setup, storage).await? {
                return Ok(Some(stop));
            }
        }
        deletion::send_pending(setup, storage).await
    }
}

/// Sends every unsynced record, oldest first; `Some` when the server said to stop.
async fn send_records(setup: &UploaderSetup, storage: &Storage) -> Result<Option<LaneStop>> {
    loop {
        let records = fit(storage.unsynced_consent(MAX_RECORDS_PER_REQUEST)?);
        if records.is_empty() {
            return Ok(None);
        }
        let mut parts = vec![records];
        while let Some(mut part) = parts.pop() {
            let now = setup.clock.now_ms();
            let result = post(setup, CONSENT_RECORDS_PATH, &frame(&part, now)).await;
            let seqs: Vec<i64> = part.iter().map(|r| r.seq).collect();
            match policy::classify(&result, now, &setup.retry) {
                Verdict::Delivered { .. } => storage.mark_consent_synced(&seqs)?,
                Verdict::Rejected { reason, .. } | Verdict::TooLarge { reason } if part.len() == 1 => {
                    tracing::warn!(reason = %reason, "the backend refused a consent record; kept in the log, not re-sent");
                    storage.mark_consent_refused(seqs[0], &reason)?;
                }
                Verdict::Rejected { .. } | Verdict::TooLarge { .. } => {
                    // The older half goes first, keeping chain order.
                    let right = part.split_off(part.len() / 2);
                    parts.push(right);
                    parts.push(part);
                }
                stop => return Ok(LaneStop::from_verdict(stop)),
            }
        }
    }
}

/// The oldest records that fit one request's byte budget (at least one).
fn fit(records: Vec<StoredConsent>) -> Vec<StoredConsent> {
    let mut used = FRAME_OVERHEAD;
    let mut out = Vec::new();
    for record in records {
        let cost = record.body.len() + 1;
        if !out.is_empty() && used + cost > MAX_REQUEST_BYTES {
            break;
        }
        used += cost;
        out.push(record);
    }
    out
}

/// `{"records":[<stored bodies verbatim>],"sentAt":...}`: the bodies are the sealed JSON the hash covers.
fn frame(records: &[StoredConsent], sent_at_ms: i64) -> Vec<u8> {
    let bodies: Vec<&str> = records.iter().map(|r| r.body.as_str()).collect();
    format!("{{\"records\":[{}],\"sentAt\":\"{}\"}}", bodies.join(","), rfc3339_ms(sent_at_ms)).into_bytes()
}

/// One gzip JSON POST with the common headers, bounded by the request timeout.
pub(crate) async fn post(
    setup: &UploaderSetup,
    path: &str,
    body: &[u8],
) -> std::result::Result<HttpResponse, TransportError> {
    let mut headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Content-Encoding".to_string(), "gzip".to_string()),
    ];
    headers.extend(setup.common_headers());
    let request = HttpRequest {
        method: "POST".into(),
        url: setup.endpoint.url(path),
        headers,
        body: wire::gzip(body),
        timeout: setup.retry.request_timeout,
    };
    match tokio::time::timeout(setup.retry.request_timeout, setup.transport.send(request)).await {
        Ok(result) => result,
        Err(_) => Err(TransportError::Timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(seq: i64, len: usize) -> StoredConsent {
        StoredConsent { seq, body: format!("\"{}\"", "x".repeat(len)), synced: false }
    }

    #[test]
    fn framing_is_verbatim_and_fits_the_byte_budget() {
        let body = frame(&[stored(1, 1), stored(2, 2)], 0);
        assert_eq!(String::from_utf8(body).unwrap(), r#"{"records":["x","xx"],"sentAt":"1970-01-01T00:00:00.000Z"}"#);
        let big = fit(vec![stored(1, 300_000), stored(2, 300_000)]);
        assert_eq!(big.len(), 1);
        let huge = fit(vec![stored(1, 600_000)]);
        assert_eq!(huge.len(), 1, "a single record is always sent (the server may refuse it)");
    }
}
