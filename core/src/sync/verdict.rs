//! The status table (docs/protocol.md § Responses) as a pure function, plus backoff with full jitter and
//! `Retry-After` parsing. No I/O and no clock reads here, so every row is unit-tested.

use std::time::Duration;

use super::transport::{HttpResponse, TransportError};
use crate::clock::parse_http_date;
use crate::config::RetryPolicy;

/// Longest server-supplied reason kept with a dead letter or shown as the last error.
pub const MAX_REASON_CHARS: usize = 512;

/// What the SDK does with a batch after one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// 2xx: delete exactly the sent ids.
    Delivered { duplicates: u64 },
    /// 400/422: something in the batch is invalid; bisect, and dead-letter a single message with this reason.
    Rejected { status: u16, reason: String },
    /// 413: split; a single message is dead-lettered.
    TooLarge { reason: String },
    /// 408/429/5xx or no answer: keep everything and retry later (after the server's delay when it gave one).
    Retry { after: Option<Duration>, reason: String },
    /// 401/403/404 and anything unexpected: keep everything and stop uploading until a flush or restart.
    Pause { reason: String },
    /// The server's TLS certificate was refused: keep everything, pause background uploads for a long wait.
    CertificateInvalid { reason: String },
}

pub fn classify(result: &Result<HttpResponse, TransportError>, now_ms: i64, retry: &RetryPolicy) -> Verdict {
    let response = match result {
        Ok(response) => response,
        Err(e @ TransportError::Certificate(_)) => return Verdict::CertificateInvalid { reason: e.to_string() },
        Err(e) => return Verdict::Retry { after: None, reason: e.to_string() },
    };
    let status = response.status;
    let reason = || server_reason(response);
    match status {
        200..=299 => Verdict::Delivered { duplicates: duplicates(&response.body) },
        400 | 422 => Verdict::Rejected { status, reason: reason() },
        413 => Verdict::TooLarge { reason: reason() },
        408 | 429 | 500..=599 => Verdict::Retry {
            after: response.header("retry-after").and_then(|v| parse_retry_after(v, now_ms)).map(|d| clamp(d, retry)),
            reason: reason(),
        },
        _ => Verdict::Pause { reason: reason() },
    }
}

/// `HTTP 400: <error.message>` from the protocol's error body, or the start of whatever the server sent.
fn server_reason(response: &HttpResponse) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
    let detail = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        // A member that is null counts as absent (docs/protocol.md § Error body).
        .and_then(|e| present(e.get("message")).or_else(|| present(e.get("code"))).or(Some(e)))
        .and_then(|m| m.as_str().map(String::from))
        .or_else(|| {
            let text = String::from_utf8_lossy(&response.body).trim().to_string();
            (!text.is_empty()).then_some(text)
        });
    let reason = match detail {
        Some(detail) => format!("HTTP {}: {detail}", response.status),
        None => format!("HTTP {}", response.status),
    };
    reason.chars().take(MAX_REASON_CHARS).collect()
}

fn present(value: Option<&serde_json::Value>) -> Option<&serde_json::Value> {
    value.filter(|v| !v.is_null())
}

fn duplicates(body: &[u8]) -> u64 {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("duplicates").and_then(|d| d.as_u64()))
        .unwrap_or(0)
}

fn clamp(delay: Duration, retry: &RetryPolicy) -> Duration {
    delay.clamp(retry.min_retry_after, retry.max_retry_after)
}

/// Full jitter: a uniform draw below `min(cap, base · 2^(failures−1))`.
pub fn backoff(consecutive_failures: u32, retry: &RetryPolicy, unit_random: f64) -> Duration {
    let exponent = consecutive_failures.saturating_sub(1).min(30);
    let ceiling = retry.base.saturating_mul(1u32 << exponent).min(retry.cap);
    ceiling.mul_f64(unit_random.clamp(0.0, 1.0))
}

/// `Retry-After` as delta-seconds or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at_ms = parse_http_date(value)?;
    Some(Duration::from_millis((at_ms - now_ms).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        })
    }

    fn verdict(r: Result<HttpResponse, TransportError>) -> Verdict {
        classify(&r, 0, &RetryPolicy::default())
    }

    #[test]
    fn every_row_of_the_status_table() {
        assert_eq!(
            verdict(response(200, &[], r#"{"accepted":3,"duplicates":2}"#)),
            Verdict::Delivered { duplicates: 2 }
        );
        assert_eq!(verdict(response(204, &[], "")), Verdict::Delivered { duplicates: 0 });
        assert_eq!(
            verdict(response(400, &[], r#"{"error":{"code":"invalid_event","message":"event 1: bad name"}}"#)),
            Verdict::Rejected { status: 400, reason: "HTTP 400: event 1: bad name".into() }
        );
        assert!(
            matches!(verdict(response(422, &[], "nope")), Verdict::Rejected { status: 422, reason } if reason == "HTTP 422: nope")
        );
        assert!(matches!(verdict(response(413, &[], "")), Verdict::TooLarge { .. }));
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(matches!(verdict(response(status, &[], "")), Verdict::Retry { after: None, .. }), "{status}");
        }
        for status in [401, 403, 404, 301, 307, 405, 415] {
            assert!(matches!(verdict(response(status, &[], "")), Verdict::Pause { .. }), "{status}");
        }
        for error in
            [TransportError::Timeout, TransportError::Connect("refused".into()), TransportError::Io("reset".into())]
        {
            assert!(matches!(verdict(Err(error)), Verdict::Retry { after: None, .. }));
        }
    }

    #[test]
    fn retry_after_is_honoured_and_clamped() {
        let policy = RetryPolicy::default();
        let after = |v: &str| match classify(&response(429, &[("Retry-After", v)], ""), 0, &policy) {
            Verdict::Retry { after, .. } => after,
            other => panic!("{other:?}"),
        };
        assert_eq!(after("7"), Some(Duration::from_secs(7)));
        assert_eq!(after("0"), Some(policy.min_retry_after));
        assert_eq!(after("86400"), Some(policy.max_retry_after));
        assert_eq!(after("soon"), None);
    }

    #[test]
    fn retry_after_http_date() {
        let now = 784_111_777_000 - 30_000; // 30 s before Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now + 60_000), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now), None);
    }

    #[test]
    fn backoff_doubles_under_a_cap_with_full_jitter() {
        let p = RetryPolicy::default();
        assert_eq!(backoff(1, &p, 0.999_999).as_millis(), 999);
        assert_eq!(backoff(2, &p, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(4, &p, 0.5), Duration::from_secs(4));
        assert_eq!(backoff(30, &p, 1.0), p.cap);
        assert_eq!(backoff(1000, &p, 1.0), p.cap);
        assert_eq!(backoff(3, &p, 0.0), Duration::ZERO);
    }

    #[test]
    fn a_null_error_member_counts_as_absent() {
        let reason = |body: &str| match verdict(response(400, &[], body)) {
            Verdict::Rejected { reason, .. } => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(r#"{"error":{"code":"invalid_event","message":null}}"#), "HTTP 400: invalid_event");
        assert_eq!(
            reason(r#"{"error":{"message":null,"code":null}}"#),
            r#"HTTP 400: {"error":{"message":null,"code":null}}"#
        );
        assert_eq!(reason(r#"{"error":"bad batch"}"#), "HTTP 400: bad batch");
        assert_eq!(reason(r#"{"error":{"message":7}}"#), r#"HTTP 400: {"error":{"message":7}}"#);
    }

    #[test]
    fn a_refused_certificate_is_its_own_verdict_not_a_network_blip() {
        use crate::sync::transport::CertificateProblem;
        match verdict(Err(TransportError::Certificate(CertificateProblem::UnknownIssuer))) {
            Verdict::CertificateInvalid { reason } => assert!(reason.contains("unknown issuer"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reasons_are_truncated() {
        let long = "x".repeat(5000);
        match verdict(response(400, &[], &long)) {
            Verdict::Rejected { reason, .. } => assert_eq!(reason.chars().count(), MAX_REASON_CHARS),
            other => panic!("{other:?}"),
        }
    }
}
