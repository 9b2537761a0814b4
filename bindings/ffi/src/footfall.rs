//! `Footfall`, the one long-lived object foreign code holds: each method converts its arguments, calls the core
//! and converts the answer. Kotlin must `close()` it (the idiomatic layer does on `close()`/`use {}`).

use std::sync::Arc;

use crate::config::FootfallConfig;
use crate::device_signer::{self, DeviceSigner};
use crate::error::{FootfallError, Result};
use crate::key_provider::{self, KeyProvider};
use crate::listener::{self, EventListener};
use crate::records::{DeadLetter, FlushReport, Status};
use crate::transport::{self, HttpTransport};

/// An event for [`Footfall::track_event`].
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TrackedEvent {
    pub name: String,
    /// A JSON object.
    #[uniffi(default = "{}")]
    pub properties_json: String,
    /// Defaults to `analytics`.
    #[uniffi(default = None)]
    pub purpose: Option<String>,
}

/// An event the Kotlin or Swift layer accepted on the app's thread and stamped there, for
/// [`Footfall::track_batch`]: the id it returned (a UUIDv7) and the time it was tracked.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StampedEvent {
    pub id: String,
    pub timestamp_ms: i64,
    pub name: String,
    /// A JSON object.
    pub properties_json: String,
    pub purpose: String,
}

/// What [`Footfall::track_batch`] did with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct BatchReport {
    pub accepted: u64,
    /// Refused because their purpose is denied now (counted in the status as `consent_refused`).
    pub consent_refused: u64,
    /// Refused by the core's checks (ids that are not UUIDs, properties that are not JSON, properties the layer's checks let through).
    pub invalid: u64,
    /// Refused for room even with the writer caught up (larger than the hand-off's byte budget).
    pub queue_full: u64,
}

#[derive(uniffi::Object)]
pub struct Footfall {
    pub(crate) core: footfall_core::Footfall,
}

#[uniffi::export]
impl Footfall {
    /// Starts an instance; no disk or network I/O happens on the calling thread. Without `transport` uploads
    /// use the built-in HTTPS client (a `Config` error in builds without it). `listener` hears SDK events.
    /// `device_signer` is the wallet's platform key (Android Keystore, Secure Enclave); without one the wallet
    /// keeps a software key in its database. `key_provider` is the platform's key store (Android Keystore, the
    /// Keychain) that wraps the data key personal values are sealed with; without one the wrapping key is a file
    /// in `data_dir` (`footfall.key`). A database is refused (`Config`) by a provider other than the one it was
    /// sealed under, so pass the same one on every start.
    #[uniffi::constructor(default(transport = None, listener = None, device_signer = None, key_provider = None))]
    pub fn new(
        config: FootfallConfig,
        transport: Option<Arc<dyn HttpTransport>>,
        listener: Option<Arc<dyn EventListener>>,
        device_signer: Option<Arc<dyn DeviceSigner>>,
        key_provider: Option<Arc<dyn KeyProvider>>,
    ) -> Result<Arc<Self>> {
        let mut config = config.to_core()?;
        if let Some(provider) = key_provider {
            let provider = key_provider::ForeignKeyProvider::new(provider)
                .map_err(|e| FootfallError::Config { reason: format!("the key provider did not name itself: {e}") })?;
            let provider = Arc::new(provider);
            config.encryption = footfall_core::crypto::Encryption::Provider(provider);
        }
        let mut builder = footfall_core::Footfall::builder(config);
        if let Some(transport) = transport {
            builder = builder.transport(Arc::new(transport::Foreign(transport)));
        }
        if let Some(listener) = listener {
            builder = builder.listener(Arc::new(listener::Forward(listener)));
        }
        if let Some(signer) = device_signer {
            builder = builder.device_signer(Arc::new(device_signer::ForeignSigner(signer)));
        }
        Ok(Arc::new(Footfall { core: builder.open()? }))
    }

    /// Records an event and returns its id (a UUIDv7) without waiting for disk or network.
    /// `properties_json` must be a JSON object; `purpose` defaults to `analytics`.
    #[uniffi::method(default(properties_json = "{}", purpose = None))]
    pub fn track(&self, name: String, properties_json: String, purpose: Option<String>) -> Result<String> {
        Ok(self.core.track_json(&name, &properties_json, purpose.as_deref())?.to_string())
    }

    /// [`Self::track`] with the event as one record: what the Kotlin and Swift layers call, because the record
    /// crosses the FFI as one buffer where three strings need three (each crossing costs microseconds on JNA).
    pub fn track_event(&self, event: TrackedEvent) -> Result<String> {
        Ok(self.core.track_json(&event.name, &event.properties_json, event.purpose.as_deref())?.to_string())
    }

    /// Hands over, in order, events the Kotlin or Swift layer already answered `track()` for (one crossing per
    /// batch instead of one per event); waits for room rather than refusing one. `queue_full` and
    /// `consent_refused` are the layer's own refusals since its last batch, added to the status counters.
    #[uniffi::method(default(queue_full = 0, consent_refused = 0))]
    pub fn track_batch(&self, events: Vec<StampedEvent>, queue_full: u64, consent_refused: u64) -> Result<BatchReport> {
        let mut invalid = 0;
        let mut stamped = Vec::with_capacity(events.len());
        for e in events {
            let parsed = footfall_core::event::parse_id(&e.id)
                .ok()
                .zip(footfall_core::event::parse_object(&e.properties_json).ok());
            match parsed {
                Some((id, properties)) => {
                    let event = footfall_core::Event::new(e.name).properties(properties).purpose(e.purpose);
                    stamped.push((id, e.timestamp_ms, event));
                }
                None => invalid += 1,
            }
        }
        let report = self.core.track_batch(stamped, queue_full, consent_refused)?;
        Ok(BatchReport {
            accepted: report.accepted,
            consent_refused: report.consent_refused,
            invalid: report.invalid + invalid,
            queue_full: report.queue_full,
        })
    }

    /// Signs the shopper in and records an identify message with the traits (a JSON object) while `analytics` is
    /// allowed: its id, or none when it is denied (the sign-in stands all the same).
    #[uniffi::method(default(traits_json = "{}"))]
    pub fn identify(&self, user_id: String, traits_json: String) -> Result<Option<String>> {
        let traits = footfall_core::event::parse_object(&traits_json)?;
        Ok(self.core.identify(&user_id, traits)?.map(|id| id.to_string()))
    }

    /// Forgets the user: a new anonymous id and session for everything tracked after.
    pub fn reset(&self) -> Result<()> {
        Ok(self.core.reset()?)
    }

    /// Uploads what is queued now. Cancel-safe: cancelling the caller leaves the pass to finish on the SDK's
    /// sync thread. The future only awaits a channel, so it needs no particular async runtime.
    pub async fn flush(&self) -> Result<FlushReport> {
        Ok(self.core.flush_async().await?.into())
    }

    /// The device's network came back: uploads waiting out a backoff, or the hour after a refused certificate,
    /// try at once (the server's Retry-After and a pause for credentials still hold). Never blocks; calls coalesce.
    pub fn network_available(&self) -> Result<()> {
        Ok(self.core.network_available()?)
    }

    /// Blocks until everything tracked before the call is durable on disk.
    pub fn flush_to_disk(&self) -> Result<()> {
        Ok(self.core.flush_to_disk()?)
    }

    pub fn status(&self) -> Result<Status> {
        Ok(self.core.status()?.into())
    }

    /// Re-encrypts everything the SDK keeps encrypted under a new data key, wrapped by the key provider's key as
    /// it is now (call it after rotating the Keystore or Keychain key). Events tracked before the call are
    /// included. The new key's id; None when encryption is off.
    pub fn rotate_encryption_key(&self) -> Result<Option<u32>> {
        Ok(self.core.rotate_encryption_key()?)
    }

    /// The most recent dead letters, newest first.
    pub fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(self.core.dead_letters(limit)?.into_iter().map(DeadLetter::from).collect())
    }

    /// Commits what was tracked, stops the SDK's threads and releases the database. Safe to call twice; every
    /// other method then fails with `Closed`. (Kotlin sees it as `shutdown()`: `close()` frees the handle.)
    pub fn close(&self) {
        self.core.close();
    }
}
