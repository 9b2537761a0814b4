//! Reference collector for the Footfall sync protocol (`docs/protocol.md`): `POST /v1/batch` stored in SQLite
//! with dedupe by `messageId`, plus fault injection (seeded failure rate, latency, scripted one-shot faults)
//! so the SDK's retry, bisect and dedupe paths can be exercised against a real server on loopback.
//!
//! The server owns its tokio runtime, so sync code (the CLI, `#[test]` functions) and other runtimes can use it.

mod collector;
mod config;
mod error;
mod faults;
mod server;
mod store;
mod timefmt;
mod tls;
mod validate;

pub use collector::Collector;
pub use config::{CollectorConfig, FaultConfig, ScriptedFault, TlsConfig, DEFAULT_MAX_BODY_BYTES};
pub use error::CollectorError;
pub use store::{read_events, read_stats, Stats, StoredEvent};
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
}
