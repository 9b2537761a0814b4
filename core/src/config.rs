//! SDK configuration with the defaults a production app wants. Everything has a default except the data directory.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::sync::pinning::PinSet;

/// How an SDK instance is set up. Build with [`Config::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory the SDK owns; the database file `footfall.db` lives inside it.
    pub data_dir: PathBuf,
    /// Base URL of the collector (`https://…`; `http://` only to 127.0.0.0/8 or ::1). `None`: record only, never upload.
    pub endpoint: Option<String>,
    /// Sent as `Authorization: Basic base64(key + ":")`.
    pub api_key: Option<String>,
    pub limits: StorageLimits,
    pub flush: FlushPolicy,
    pub retry: RetryPolicy,
    pub handoff: HandoffLimits,
    /// A new session starts after this long without events.
    pub session_timeout: Duration,
    /// Extra trust anchors (PEM) for the built-in HTTPS transport, e.g. a private CA in a staging environment.
    pub extra_root_certs_pem: Vec<String>,
    /// Public-key pins for the built-in HTTPS transport, with their expiry (see [`PinSet`]). `None`, the default:
    /// no pinning. An instance given the app's own transport refuses to open with pins set: that transport must
    /// pin in the platform's stack (`docs/guides/certificate-pinning.md`).
    pub certificate_pins: Option<PinSet>,
    /// The host app's version, recorded in every consent record.
    pub app_version: String,
    /// Gate collection and upload on consent (default deny, the default). An app that gates elsewhere turns it
    /// off; decisions are still logged.
    pub enforce_consent: bool,
    /// Fetch the consent policy (`GET /v1/config`, with the cached ETag) at start-up and this often (hourly by
    /// default), so toggled prompts reach the app without a release. `None`: only on `refresh_consent_policy()`.
    pub consent_refresh_interval: Option<Duration>,
    /// Who asks the shopper about the purposes TCF covers: Footfall's own prompts, or the app's CMP through its
    /// IAB TCF string (see [`crate::consent::tcf_mapping`]).
    pub consent_source: ConsentSource,
    /// The coupon wallet's pinned issuer key set (its JSON, bundled with the app; `docs/wallet.md`). `None`: the
    /// wallet is off. Rotations arriving in the feed are accepted only when signed by a key trusted now.
    pub wallet_keyset: Option<String>,
    /// Store proximity's zones and campaigns bundled with the app (a document of the shape `GET /v1/config`
    /// serves under `proximity`, as `{"proximity": {...}}`); a newer version from the server replaces it. `None`:
    /// no zones until the server sends some.
    pub proximity: Option<String>,
    /// The shopper's IANA time zone for quiet hours and the daily offer cap. `None`: the device's zone.
    pub time_zone: Option<String>,
    /// How personal values are encrypted at rest: under a data key wrapped by the platform's key store (the
    /// platform layers set it), or by an owner-only key file in the data directory (the default; weaker).
    pub encryption: crate::crypto::Encryption,
}

/// Where decisions about `analytics`, `personalization`, `marketing` and `location` come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsentSource {
    /// Footfall's prompts and the app's calls (`grant`, `deny`, `set_consent`).
    #[default]
    Footfall,
    /// TCF import mode: the app's CMP decides; the app (or the platform glue) passes its TC string to
    /// `import_tcf`. `vendor_id` is the backend's IAB vendor id when it is a registered vendor; without it the
    /// publisher's purpose consents are read.
    Tcf { vendor_id: Option<u16> },
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            endpoint: None,
            api_key: None,
            limits: StorageLimits::default(),
            flush: FlushPolicy::default(),
            retry: RetryPolicy::default(),
            handoff: HandoffLimits::default(),
            session_timeout: Duration::from_secs(30 * 60),
            extra_root_certs_pem: Vec::new(),
            certificate_pins: None,
            app_version: String::new(),
            enforce_consent: true,
            consent_refresh_interval: Some(Duration::from_secs(60 * 60)),
            consent_source: ConsentSource::Footfall,
            wallet_keyset: None,
            proximity: None,
            time_zone: None,
            encryption: crate::crypto::Encryption::default(),
        }
    }

    /// Turns the coupon wallet on with the issuer key set the app pins (its JSON).
    pub fn with_wallet_keyset(mut self, keyset_json: impl Into<String>) -> Self {
        self.wallet_keyset = Some(keyset_json.into());
        self
    }

    /// Bundles store proximity's zones and campaigns with the app (see [`Config::proximity`]).
    pub fn with_proximity(mut self, document_json: impl Into<String>) -> Self {
        self.proximity = Some(document_json.into());
        self
    }

    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Pins the built-in transport to these public keys until they expire: `PinSet::new(["sha256/…", "sha256/…"],
    /// expires_at)?` (at least two pins, one a backup key; see [`PinSet::new`]).
    pub fn with_certificate_pins(mut self, pins: PinSet) -> Self {
        self.certificate_pins = Some(pins);
        self
    }

    /// Refuses a configuration that cannot work, naming the setting; `Footfall::open` calls it, so every
    /// caller (Rust, the bindings, the CLI) gets the same rules.
    pub fn validate(&self) -> Result<()> {
        if self.data_dir.to_str().is_some_and(|dir| dir.trim().is_empty()) {
            return Err(invalid("the data directory is empty"));
        }
        let zero = Duration::ZERO;
        let positive = [
            ("storage limit max_events", self.limits.max_events == 0),
            ("storage limit max_bytes", self.limits.max_bytes == 0),
            ("storage limit max_age", self.limits.max_age == zero),
            ("flush count_threshold", self.flush.count_threshold == 0),
            ("flush interval", self.flush.interval == zero),
            ("flush max_batch_events", self.flush.max_batch_events == 0),
            ("flush max_batch_bytes", self.flush.max_batch_bytes == 0),
            ("session_timeout", self.session_timeout == zero),
            ("request timeout", self.retry.request_timeout == zero),
            ("backoff base", self.retry.base == zero),
            ("hand-off max_events", self.handoff.max_events == 0),
            ("hand-off max_bytes", self.handoff.max_bytes == 0),
            (
                "consent_refresh_interval (use None to turn the schedule off)",
                self.consent_refresh_interval == Some(zero),
            ),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, is_zero)| *is_zero) {
            return Err(invalid(&format!("{name} must be positive")));
        }
        if let Some(keyset) = &self.wallet_keyset {
            crate::wallet::KeySet::from_json(keyset.as_bytes())
                .map_err(|e| invalid(&format!("the wallet key set is not usable: {e}")))?;
        }
        if let Some(document) = &self.proximity {
            crate::proximity::config::ProximityConfig::from_document(document.as_bytes())
                .map_err(|e| invalid(&format!("the bundled proximity configuration is not usable: {e}")))?;
        }
        if let Some(zone) = &self.time_zone {
            jiff::tz::TimeZone::get(zone).map_err(|_| invalid(&format!("time zone '{zone}' is not an IANA zone")))?;
        }
        if self.retry.cap < self.retry.base || self.retry.max_retry_after < self.retry.min_retry_after {
            return Err(invalid(
                "retry bounds are inverted (cap below base, or max_retry_after below min_retry_after)",
            ));
        }
        if self.consent_source == (ConsentSource::Tcf { vendor_id: Some(0) }) {
            return Err(invalid("the TCF vendor id must be 1-65535"));
        }
        Ok(())
    }
}

fn invalid(reason: &str) -> Error {
    Error::Config(reason.to_string())
}

/// Bounds on what the queue keeps on disk; the oldest events are evicted first and every eviction is counted.
#[derive(Debug, Clone, Copy)]
pub struct StorageLimits {
    pub max_events: u64,
    pub max_bytes: u64,
    /// Events older than this are given up on: moved to the dead-letter table, never silently dropped.
    pub max_age: Duration,
    /// Dead-lettered events kept for inspection.
    pub max_dead_letters: u64,
}

impl Default for StorageLimits {
    fn default() -> Self {
        StorageLimits {
            max_events: 10_000,
            max_bytes: 10 * 1024 * 1024,
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_dead_letters: 1_000,
        }
    }
}

/// When uploads happen and how big a batch is.
#[derive(Debug, Clone, Copy)]
pub struct FlushPolicy {
    /// Upload once this many events are pending.
    pub count_threshold: u64,
    /// Upload at least this often while events are pending.
    pub interval: Duration,
    /// Upload at start-up when events are pending.
    pub on_start: bool,
    /// Upload on the background triggers above; an explicit flush works either way.
    pub automatic: bool,
    pub max_batch_events: usize,
    /// Measured on the JSON body before compression.
    pub max_batch_bytes: usize,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy {
            count_threshold: 20,
            interval: Duration::from_secs(30),
            on_start: true,
            automatic: true,
            max_batch_events: 100,
            max_batch_bytes: 500 * 1024,
        }
    }
}

/// Backoff and time-outs for uploads.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First backoff ceiling; doubles per consecutive failure (full jitter draws below it).
    pub base: Duration,
    pub cap: Duration,
    /// `Retry-After` is clamped into [min_retry_after, max_retry_after].
    pub min_retry_after: Duration,
    pub max_retry_after: Duration,
    pub request_timeout: Duration,
    /// After a server certificate was refused, background passes wait this long (an explicit flush does not).
    pub certificate_retry: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(5 * 60),
            min_retry_after: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(10 * 60),
            request_timeout: Duration::from_secs(30),
            certificate_retry: Duration::from_secs(60 * 60),
        }
    }
}

/// Bounds on the in-memory hand-off from `track()` to the storage writer.
#[derive(Debug, Clone, Copy)]
pub struct HandoffLimits {
    pub max_events: usize,
    pub max_bytes: usize,
}

impl Default for HandoffLimits {
    fn default() -> Self {
        HandoffLimits { max_events: 10_000, max_bytes: 16 * 1024 * 1024 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_each_rule_names_its_setting() {
        Config::new("/data").validate().unwrap();
        type Breaks = fn(&mut Config);
        let cases: [(&str, Breaks); 6] = [
            ("data directory", |c| c.data_dir = PathBuf::new()),
            ("max_events", |c| c.limits.max_events = 0),
            ("flush interval", |c| c.flush.interval = Duration::ZERO),
            ("use None", |c| c.consent_refresh_interval = Some(Duration::ZERO)),
            ("inverted", |c| c.retry.cap = Duration::from_millis(1)),
            ("vendor id", |c| c.consent_source = ConsentSource::Tcf { vendor_id: Some(0) }),
        ];
        for (needle, break_it) in cases {
            let mut config = Config::new("/data");
            break_it(&mut config);
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }
}
