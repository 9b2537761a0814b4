//! The settings record. Every field but the data directory has a default in the generated bindings, written as
//! literals because UniFFI needs them at generation time; `default_config` returns the core's own defaults so a
//! foreign test can prove the two agree.

use std::time::Duration;

use crate::error::{FootfallError, Result};

/// How an SDK instance is set up: `FootfallConfig(dataDir = …, endpoint = "https://…")` in Kotlin.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FootfallConfig {
    /// Directory the SDK owns (its database lives inside); created if missing.
    pub data_dir: String,
    /// Base URL of the collector (`https://…`; `http://` only to loopback). None: record only, never upload.
    #[uniffi(default = None)]
    pub endpoint: Option<String>,
    /// Sent as HTTP Basic credentials (`key:`).
    #[uniffi(default = None)]
    pub api_key: Option<String>,
    #[uniffi(default)]
    pub storage_limits: StorageLimits,
    #[uniffi(default)]
    pub flush_policy: FlushPolicy,
    /// A new session starts after this long without events.
    #[uniffi(default = 1800000)]
    pub session_timeout_ms: i64,
    /// One upload request gives up after this long (the SDK enforces it on any transport).
    #[uniffi(default = 30000)]
    pub request_timeout_ms: i64,
    /// Extra trust anchors (PEM) for the built-in HTTPS client, e.g. a staging CA.
    #[uniffi(default = [])]
    pub extra_root_certs_pem: Vec<String>,
    /// Public-key pins for the built-in HTTPS client, with their expiry. None: no pinning. The Android and iOS
    /// libraries have no built-in client: with pins set, opening with the app's transport is a `Config` error (pin
    /// in the platform's stack instead: network security config, a URLSession delegate).
    #[uniffi(default = None)]
    pub certificate_pins: Option<CertificatePins>,
    /// The host app's version, recorded in every consent record.
    #[uniffi(default = "")]
    pub app_version: String,
    #[uniffi(default)]
    pub consent: ConsentSettings,
    /// The coupon wallet's issuer key set, as the JSON the issuer publishes (bundled with the app). None: the
    /// wallet is off and its calls fail with a `NotConfigured` wallet error.
    #[uniffi(default = None)]
    pub wallet_keyset: Option<String>,
    /// Store proximity's zones and campaigns bundled with the app: the JSON document `{"proximity": {...}}` (the
    /// shape `GET /v1/config` serves); a newer version from the server replaces it. None: no zones until the
    /// server sends some. A document that cannot be read is a `Config` error.
    #[uniffi(default = None)]
    pub proximity: Option<String>,
    /// The shopper's IANA time zone (`Asia/Tokyo`) for quiet hours and the daily offer cap, when the app knows
    /// better than the device; None: the device's zone. An unknown zone is a `Config` error.
    #[uniffi(default = None)]
    pub time_zone: Option<String>,
}

/// Public-key pins (docs/guides/certificate-pinning.md). A refused server pauses uploads like any refused
/// certificate (`certificate_invalid`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CertificatePins {
    /// `sha256/<base64>` (OkHttp's form) or the bare base64 of the SHA-256 of a SubjectPublicKeyInfo; at least two
    /// distinct pins, the key in use and a backup key. A malformed pin is a `Config` error.
    pub pins: Vec<String>,
    /// UTC seconds (not milliseconds) since 1970 from which pinning is off, so an app version still in use after a
    /// key rotation keeps uploading.
    pub expires_at_epoch_seconds: i64,
}

/// How consent is gated and where decisions come from.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConsentSettings {
    /// Gate collection and upload on consent (default deny). Turning it off is for apps that gate elsewhere;
    /// decisions are still logged.
    #[uniffi(default = true)]
    pub enforce: bool,
    /// Fetch the consent policy (`GET /v1/config`) at start-up and this often; 0: only on
    /// `refreshConsentPolicy()`.
    #[uniffi(default = 3600000)]
    pub policy_refresh_interval_ms: i64,
    /// TCF import mode: the app's CMP decides analytics, personalization, marketing and location through its
    /// IAB TCF string (the platform glue passes `IABTCF_TCString` to `importTcf`).
    #[uniffi(default = false)]
    pub tcf_import: bool,
    /// The backend's IAB vendor id when it is a registered TCF vendor (1–65535); None reads the publisher's
    /// purpose consents.
    #[uniffi(default = None)]
    pub tcf_vendor_id: Option<i32>,
}

impl Default for ConsentSettings {
    fn default() -> Self {
        let core = footfall_core::Config::new("");
        ConsentSettings {
            enforce: core.enforce_consent,
            policy_refresh_interval_ms: core.consent_refresh_interval.map(millis).unwrap_or(0),
            tcf_import: false,
            tcf_vendor_id: None,
        }
    }
}

/// What the queue keeps on disk; the oldest events are evicted first and every eviction is counted.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StorageLimits {
    #[uniffi(default = 10000)]
    pub max_events: i64,
    #[uniffi(default = 10485760)]
    pub max_bytes: i64,
    /// Older events are given up on (moved to the dead letters, never dropped silently).
    #[uniffi(default = 2592000000)]
    pub max_age_ms: i64,
    #[uniffi(default = 1000)]
    pub max_dead_letters: i64,
}

/// When uploads happen and how big a batch is.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FlushPolicy {
    /// Upload once this many events are pending.
    #[uniffi(default = 20)]
    pub count_threshold: i64,
    /// Upload at least this often while events are pending.
    #[uniffi(default = 30000)]
    pub interval_ms: i64,
    /// Upload at start-up when events are pending.
    #[uniffi(default = true)]
    pub on_start: bool,
    /// Upload on the triggers above; false: only an explicit `flush()` uploads.
    #[uniffi(default = true)]
    pub automatic: bool,
    #[uniffi(default = 100)]
    pub max_batch_events: i64,
    /// Measured on the JSON body before compression.
    #[uniffi(default = 512000)]
    pub max_batch_bytes: i64,
}

impl Default for StorageLimits {
    fn default() -> Self {
        let core = footfall_core::StorageLimits::default();
        StorageLimits {
            max_events: saturate(core.max_events),
            max_bytes: saturate(core.max_bytes),
            max_age_ms: millis(core.max_age),
            max_dead_letters: saturate(core.max_dead_letters),
        }
    }
}

impl Default for FlushPolicy {
    fn default() -> Self {
        let core = footfall_core::FlushPolicy::default();
        FlushPolicy {
            count_threshold: saturate(core.count_threshold),
            interval_ms: millis(core.interval),
            on_start: core.on_start,
            automatic: core.automatic,
            max_batch_events: saturate(core.max_batch_events as u64),
            max_batch_bytes: saturate(core.max_batch_bytes as u64),
        }
    }
}

/// The core's defaults for a data directory, as the record the bindings default to.
#[uniffi::export]
pub fn default_config(data_dir: String) -> FootfallConfig {
    let core = footfall_core::Config::new(&data_dir);
    FootfallConfig {
        data_dir,
        endpoint: None,
        api_key: None,
        storage_limits: StorageLimits::default(),
        flush_policy: FlushPolicy::default(),
        session_timeout_ms: millis(core.session_timeout),
        request_timeout_ms: millis(core.retry.request_timeout),
        extra_root_certs_pem: Vec::new(),
        certificate_pins: None,
        app_version: String::new(),
        consent: ConsentSettings::default(),
        wallet_keyset: core.wallet_keyset,
        proximity: core.proximity,
        time_zone: core.time_zone,
    }
}

impl FootfallConfig {
    /// The core configuration, refusing values that cannot work instead of clamping them silently.
    /// Converts (a negative number or an out-of-range id cannot cross); the rules are the core's
    /// (`Config::validate`), applied here too so the app hears of a bad setting before anything starts.
    pub fn to_core(&self) -> Result<footfall_core::Config> {
        let mut config = footfall_core::Config::new(&self.data_dir);
        config.endpoint = self.endpoint.clone();
        config.api_key = self.api_key.clone();
        let l = &self.storage_limits;
        config.limits = footfall_core::StorageLimits {
            max_events: non_negative("storageLimits.maxEvents", l.max_events)?,
            max_bytes: non_negative("storageLimits.maxBytes", l.max_bytes)?,
            max_age: Duration::from_millis(non_negative("storageLimits.maxAgeMs", l.max_age_ms)?),
            max_dead_letters: non_negative("storageLimits.maxDeadLetters", l.max_dead_letters)?,
        };
        let f = &self.flush_policy;
        config.flush = footfall_core::FlushPolicy {
            count_threshold: non_negative("flushPolicy.countThreshold", f.count_threshold)?,
            interval: Duration::from_millis(non_negative("flushPolicy.intervalMs", f.interval_ms)?),
            on_start: f.on_start,
            automatic: f.automatic,
            max_batch_events: to_usize(
                "flushPolicy.maxBatchEvents",
                non_negative("flushPolicy.maxBatchEvents", f.max_batch_events)?,
            )?,
            max_batch_bytes: to_usize(
                "flushPolicy.maxBatchBytes",
                non_negative("flushPolicy.maxBatchBytes", f.max_batch_bytes)?,
            )?,
        };
        config.session_timeout = Duration::from_millis(non_negative("sessionTimeoutMs", self.session_timeout_ms)?);
        config.retry.request_timeout =
            Duration::from_millis(non_negative("requestTimeoutMs", self.request_timeout_ms)?);
        config.extra_root_certs_pem = self.extra_root_certs_pem.clone();
        if let Some(pins) = &self.certificate_pins {
            let expires_at = non_negative("certificatePins.expiresAtEpochSeconds", pins.expires_at_epoch_seconds)?;
            config.certificate_pins = Some(footfall_core::sync::PinSet::new(&pins.pins, expires_at)?);
        }
        config.app_version = self.app_version.clone();
        let c = &self.consent;
        config.enforce_consent = c.enforce;
        config.consent_refresh_interval =
            match non_negative("consent.policyRefreshIntervalMs", c.policy_refresh_interval_ms)? {
                0 => None,
                ms => Some(Duration::from_millis(ms)),
            };
        config.consent_source = match (c.tcf_import, c.tcf_vendor_id) {
            (false, None) => footfall_core::ConsentSource::Footfall,
            (false, Some(_)) => return Err(config_error("consent.tcfVendorId is set but consent.tcfImport is false")),
            (true, None) => footfall_core::ConsentSource::Tcf { vendor_id: None },
            (true, Some(id)) => match u16::try_from(id) {
                Ok(id) => footfall_core::ConsentSource::Tcf { vendor_id: Some(id) },
                Err(_) => return Err(config_error(format!("consent.tcfVendorId must be 1-65535, got {id}"))),
            },
        };
        config.wallet_keyset = self.wallet_keyset.clone();
        config.proximity = self.proximity.clone();
        config.time_zone = self.time_zone.clone();
        config.validate()?;
        Ok(config)
    }
}

fn config_error(reason: impl Into<String>) -> FootfallError {
    FootfallError::Config { reason: reason.into() }
}

fn non_negative(field: &str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| config_error(format!("{field} must not be negative, got {value}")))
}

fn to_usize(field: &str, value: u64) -> Result<usize> {
    usize::try_from(value).map_err(|_| config_error(format!("{field} is too large: {value}")))
}

/// Counters and limits cross as i64 (Kotlin `Long`); nothing real reaches i64::MAX, so saturating is exact.
pub(crate) fn saturate(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_to_the_core_defaults() {
        let config = default_config("/tmp/x".into()).to_core().unwrap();
        let core = footfall_core::Config::new("/tmp/x");
        assert_eq!(config.limits.max_events, core.limits.max_events);
        assert_eq!(config.limits.max_bytes, core.limits.max_bytes);
        assert_eq!(config.limits.max_age, core.limits.max_age);
        assert_eq!(config.limits.max_dead_letters, core.limits.max_dead_letters);
        assert_eq!(config.flush.count_threshold, core.flush.count_threshold);
        assert_eq!(config.flush.interval, core.flush.interval);
        assert_eq!((config.flush.on_start, config.flush.automatic), (core.flush.on_start, core.flush.automatic));
        assert_eq!(config.flush.max_batch_events, core.flush.max_batch_events);
        assert_eq!(config.flush.max_batch_bytes, core.flush.max_batch_bytes);
        assert_eq!(config.session_timeout, core.session_timeout);
        assert_eq!(
            (config.retry.request_timeout, config.retry.base, config.retry.cap),
            (core.retry.request_timeout, core.retry.base, core.retry.cap)
        );
        assert_eq!(config.enforce_consent, core.enforce_consent);
        assert_eq!(config.consent_refresh_interval, core.consent_refresh_interval);
        assert_eq!(config.consent_source, core.consent_source);
    }

    #[test]
    fn values_that_cannot_work_are_config_errors() {
        let mut config = default_config("/tmp/x".into());
        config.flush_policy.count_threshold = 0;
        assert!(
            matches!(config.to_core(), Err(FootfallError::Config { reason }) if reason.contains("count_threshold"))
        );
        let mut config = default_config("/tmp/x".into());
        config.storage_limits.max_bytes = -1;
        assert!(matches!(config.to_core(), Err(FootfallError::Config { .. })));
        assert!(matches!(default_config(" ".into()).to_core(), Err(FootfallError::Config { .. })));
        let mut config = default_config("/tmp/x".into());
        config.consent.tcf_import = true;
        config.consent.tcf_vendor_id = Some(70_000);
        assert!(matches!(config.to_core(), Err(FootfallError::Config { reason }) if reason.contains("tcfVendorId")));
    }

    #[test]
    fn certificate_pins_cross_as_the_cores_pin_set() {
        let (current, backup) =
            ("sha256/C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=", "sha256/".to_string() + &"A".repeat(43) + "=");
        let with = |pins: Vec<String>, expires_at_epoch_seconds| {
            let mut config = default_config("/tmp/x".into());
            config.certificate_pins = Some(CertificatePins { pins, expires_at_epoch_seconds });
            config.to_core()
        };
        let core = with(vec![current.into(), backup.clone()], 1_893_456_000).unwrap();
        let pins = core.certificate_pins.expect("pins");
        assert_eq!((pins.pins(), pins.expires_at()), (vec![current.to_string(), backup.clone()], 1_893_456_000));
        assert_eq!(default_config("/tmp/x".into()).to_core().unwrap().certificate_pins, None);

        let refused = |result: Result<footfall_core::Config>, needle: &str| match result {
            Err(FootfallError::Config { reason }) => assert!(reason.contains(needle), "{needle}: {reason}"),
            other => panic!("{needle}: {other:?}"),
        };
        refused(with(vec![current.into()], 1_893_456_000), "at least 2 distinct pins");
        refused(with(vec![current.into(), "sha1/abc=".into()], 1_893_456_000), "only sha256/");
        refused(with(vec![current.into(), backup.clone()], -1), "certificatePins.expiresAtEpochSeconds");
        refused(with(vec![current.into(), backup], 1_893_456_000_000), "milliseconds");
    }
}
