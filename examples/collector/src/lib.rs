//! Reference collector for the Footfall sync protocol (`docs/protocol.md`): `POST /v1/batch` stored in SQLite or
//! PostgreSQL ([`DatabaseUrl`]; several instances may share one PostgreSQL database) with dedupe by `messageId`; `GET /v1/config` served from a JSON file re-read on every request, or from the
//! revisions the console (`/console`, [`AdminCredential`]) publishes (ETag, 304);
//! `POST /v1/consent-records` with every record's hash verified, stored once per `record_id`;
//! `POST /v1/rights/deletion`, idempotent by `requestId`; with an issuer key, the coupon wallet ([`wallet`]: the
//! feed of signed grants, clips, and redemptions spent atomically). Plus fault injection (seeded failure rate, latency,
//! scripted one-shot faults, per endpoint) so the SDK's retry, bisect and dedupe paths can be exercised against
//! a real server on loopback.
//!
//! The server owns its tokio runtime, so sync code (the CLI, `#[test]` functions) and other runtimes can use it.

mod batch;
mod body;
mod collector;
mod compare;
mod config;
mod config_doc;
mod config_endpoint;
mod consent_records;
mod console;
mod db;
mod deletion;
mod deletion_request;
mod error;
mod faults;
mod http;
mod percent;
mod rate_limit;
mod record;
mod server;
mod store;
mod timefmt;
mod tls;
mod validate;
pub mod wallet;

pub use collector::Collector;
pub use config::{
    CollectorConfig, Endpoint, FaultConfig, RateLimit, ScriptedFault, TlsConfig, DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_RATE_LIMIT_CLIENTS,
};
pub use console::AdminCredential;
pub use db::{DatabaseUrl, DbError};
pub use error::CollectorError;
pub use store::{
    read_consent_records, read_deletion_requests, read_events, read_stats, Stats, StoredConsentRecord,
    StoredDeletionRequest, StoredEvent,
};
pub use tls::self_signed_for_localhost;

/// Entry points for the fuzz targets (`tests/fuzz`) and the in-suite fuzz smoke test; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses and validates a decompressed batch body the way `POST /v1/batch` does: the number of messages, or
    /// the error code and message the collector would answer 400 with.
    pub fn parse_batch(body: &[u8], reject_names: &[String]) -> Result<usize, (&'static str, String)> {
        crate::validate::parse_batch(body, reject_names)
            .map(|batch| batch.messages.len())
            .map_err(|invalid| (invalid.code(), invalid.message().to_string()))
    }

    /// Parses and verifies a decompressed `POST /v1/consent-records` body: the number of records, or the error
    /// code (`invalid_request`, `invalid_record`) and message of the 400.
    pub fn parse_consent_records(body: &[u8]) -> Result<usize, (&'static str, String)> {
        crate::record::parse_batch(body).map(|batch| batch.records.len())
    }

    /// Parses a decompressed `POST /v1/rights/deletion` body: the `requestId`, or the message of the 400.
    pub fn parse_deletion(body: &[u8]) -> Result<String, String> {
        crate::deletion_request::parse(body).map(|request| request.request_id)
    }

    /// The `ETag` the collector gives a config file's bytes.
    pub fn config_etag(bytes: &[u8]) -> String {
        crate::config_endpoint::etag(bytes)
    }
}
