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
