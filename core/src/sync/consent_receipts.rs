//! Consent receipts: `POST {base}/v1/consent-records`, an outbox of the essential lane. Records go oldest first,
//! verbatim as sealed and stored; a 2xx marks them synced, and a record refused on its own stays in the log,
//! marked refused with the reason, and is not sent again. Nothing here is evicted or expires.

use super::outbox::Outbox;
use super::transport::HttpResponse;
use crate::clock::rfc3339_ms;
use crate::error::Result;
use crate::storage::{Storage, StoredConsent};

pub const CONSENT_RECORDS_PATH: &str = "/v1/consent-records";
/// At most this many records per request (docs/protocol.md § The essential lane).
pub const MAX_RECORDS_PER_REQUEST: usize = 100;
/// At most this many bytes of uncompressed body per request.
pub const MAX_REQUEST_BYTES: usize = 512_000;
const FRAME_OVERHEAD: usize = r#"{"records":[],"sentAt":"2026-11-22T10:15:30.123Z"}"#.len();

pub(crate) struct ConsentReceipts;

impl Outbox for ConsentReceipts {
    type Item = StoredConsent;

    fn path(&self) -> &'static str {
        CONSENT_RECORDS_PATH
    }

    fn next_request(&self, storage: &Storage) -> Result<Vec<StoredConsent>> {
        Ok(fit(storage.unsynced_consent(MAX_RECORDS_PER_REQUEST)?))
    }

    fn body(&self, records: &[StoredConsent], sent_at_ms: i64) -> Vec<u8> {
        frame(records, sent_at_ms)
    }

    fn delivered(&self, storage: &Storage, records: &[StoredConsent], _: &HttpResponse, _now_ms: i64) -> Result<()> {
        storage.mark_consent_synced(&records.iter().map(|r| r.seq).collect::<Vec<_>>())
    }

    fn refused(&self, storage: &Storage, record: &StoredConsent, reason: &str, _now_ms: i64) -> Result<()> {
        storage.mark_consent_refused(record.seq, reason)
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
