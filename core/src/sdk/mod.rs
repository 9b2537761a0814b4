//! `Footfall`, the one long-lived object an app holds. It wires the hand-off, the writer thread and the sync
//! thread together; the constructor does no disk or network I/O on the caller's thread.

mod consent;
mod proximity;
mod rights;
mod security;
mod tcf;
mod wallet;

pub use crate::consent::status::{ConsentSourceKind, ConsentStatus, PurposeStatus, RefusedPolicy};
pub use consent::ConsentLog;
pub use proximity::ProximityStatus;
pub use tcf::{TcfImport, TcfImportResult};

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::Value;
use uuid::Uuid;

use crate::clock::{Clock, Random, SeededRandom, SystemClock};
use crate::config::{Config, ConsentSource};
use crate::consent::changes::ConsentChanges;
use crate::consent::purpose::LOCATION;
use crate::consent::view::ConsentView;
use crate::error::{Error, Result, ValidationError};
use crate::event::{self, Event, MessageKind, MessageText, PendingMessage};
use crate::ids::IdGenerator;
use crate::listener::SdkListener;
use crate::proximity::audience_watch::AudienceWatch;
use crate::proximity::config::{ConfigCell, ProximityConfig};
use crate::proximity::record::Recorder;
use crate::proximity::service::Proximity;
use crate::status::Status;
use crate::storage::{DeadLetter, Storage};
use crate::sync::request::RequestContext;
use crate::sync::scheduler::{Reply, SyncHandle};
use crate::sync::uploader::UploaderSetup;
use crate::sync::{Endpoint, FlushReport, HttpTransport};
use crate::wallet::service::Wallet;
use crate::wallet::{DeviceSigner, KeySet};
use crate::writer::handoff::Command;
use crate::writer::thread::{Writer, WriterSetup};
use crate::writer::{Handoff, StorageCell};

pub struct Footfall {
    handoff: Arc<Handoff>,
    cell: Arc<StorageCell>,
    sync: Option<SyncHandle>,
    writer: Mutex<Option<JoinHandle<()>>>,
    clock: Arc<dyn Clock>,
    ids: IdGenerator,
    consent: Arc<ConsentView>,
    consent_changes: Arc<ConsentChanges>,
    consent_source: ConsentSource,
    wallet: Option<Arc<Wallet>>,
    proximity: Arc<Proximity>,
    proximity_recorder: Arc<Recorder>,
    listener: Option<Arc<dyn SdkListener>>,
}

/// Sets up an instance with injected clock, randomness or transport (tests, custom HTTP stacks).
pub struct Builder {
    config: Config,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    transport: Option<Arc<dyn HttpTransport>>,
    listener: Option<Arc<dyn SdkListener>>,
    consent_receipts: bool,
    device_signer: Option<Arc<dyn DeviceSigner>>,
}

impl Builder {
    /// Uploads the consent log's receipts in the essential lane (`POST /v1/consent-records`) after every pass
    /// (the default). An app that keeps its proof of consent elsewhere turns it off; deletion requests are always
    /// sent.
    pub fn consent_receipts(mut self, enabled: bool) -> Self {
        self.consent_receipts = enabled;
        self
    }

    /// The wallet's per-device P-256 key from the platform (Android Keystore, the Secure Enclave). Without one
    /// the wallet keeps a software key in its database: weaker, since a copy of the app's data can present as
    /// this device.
    pub fn device_signer(mut self, signer: Arc<dyn DeviceSigner>) -> Self {
        self.device_signer = Some(signer);
        self
    }

    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = random;
        self
    }

    /// Sends uploads through the app's own HTTP stack instead of the built-in one.
    pub fn transport(mut self, transport: Arc<dyn HttpTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Tells `listener` what each upload pass did (see [`crate::listener`]).
    pub fn listener(mut self, listener: Arc<dyn SdkListener>) -> Self {
        self.listener = Some(listener);
        self
    }

    pub fn open(self) -> Result<Footfall> {
        let Builder { config, clock, random, transport, listener, consent_receipts, device_signer } = self;
        config.validate()?;
        let wallet = match &config.wallet_keyset {
            Some(json) => {
                let pinned = KeySet::from_json(json.as_bytes()).map_err(|e| Error::Config(e.to_string()))?;
                Some(Arc::new(Wallet::new(pinned, device_signer, clock.clone())))
            }
            None => None,
        };
        let endpoint = config.endpoint.as_deref().map(Endpoint::parse).transpose()?;
        let bundled = match &config.proximity {
            Some(document) => {
                ProximityConfig::from_document(document.as_bytes()).map_err(|e| Error::Config(e.to_string()))?
            }
            None => ProximityConfig::empty(),
        };
        let shopper_tz = match &config.time_zone {
            Some(zone) => jiff::tz::TimeZone::get(zone).map_err(|e| Error::Config(format!("time zone: {e}")))?,
            None => jiff::tz::TimeZone::system(),
        };
        let proximity_config = Arc::new(ConfigCell::new(bundled));
        let (handoff, rx, shared) = Handoff::new(config.handoff.max_events, config.handoff.max_bytes);
        let handoff = Arc::new(handoff);
        let cell = Arc::new(StorageCell::default());
        let consent = Arc::new(ConsentView::new(config.enforce_consent));
        let recorder = Arc::new(Recorder {
            handoff: handoff.clone(),
            consent: consent.clone(),
            clock: clock.clone(),
            listener: listener.clone(),
            wallet: wallet.clone(),
            shopper_tz,
            config: proximity_config.clone(),
        });
        let proximity =
            Arc::new(Proximity::new(proximity_config.clone(), clock.clone(), consent.clone(), recorder.clone()));
        let consent_changes = Arc::new(ConsentChanges {
            handoff: handoff.clone(),
            view: consent.clone(),
            clock: clock.clone(),
            app_version: config.app_version.clone(),
            listener: listener.clone(),
            source: config.consent_source.into(),
            on_withdrawal: Default::default(),
        });
        // A withdrawal of location drops the presence state at once (its stored visits go in the same change).
        let forget = proximity.clone();
        consent_changes.on_withdrawal.lock().unwrap_or_else(|p| p.into_inner()).push(Box::new(move |denied| {
            if denied.iter().any(|p| p == LOCATION) {
                forget.forget();
            }
        }));
        let sync = match endpoint {
            Some(endpoint) => {
                let transport = match transport {
                    // Pins the app's transport would ignore are refused, not silently dropped.
                    Some(_) if config.certificate_pins.is_some() => {
                        return Err(Error::Config(PINS_NEED_BUILTIN.into()))
                    }
                    Some(t) => t,
                    None => default_transport(&config)?,
                };
                let request = RequestContext {
                    endpoint,
                    api_key: config.api_key.clone(),
                    transport,
                    clock: clock.clone(),
                    random,
                    retry: config.retry,
                };
                let setup = UploaderSetup {
                    request,
                    flush: config.flush,
                    limits: config.limits,
                    listener: listener.clone(),
                    consent: consent.clone(),
                    config_refresh: config.consent_refresh_interval,
                    consent_receipts,
                    wallet: wallet.clone(),
                    proximity: Some(proximity.clone()),
                };
                Some(SyncHandle::start(setup, cell.clone(), handoff.clone(), consent_changes.clone())?)
            }
            None => None,
        };
        let wake = sync.as_ref().map(|s| s.wake_handle());
        let stored = sync.as_ref().map(|s| s.stored_handle());
        let setup = WriterSetup {
            data_dir: config.data_dir.clone(),
            encryption: config.encryption.clone(),
            limits: config.limits,
            session_timeout_ms: config.session_timeout.as_millis() as i64,
            count_threshold: config.flush.count_threshold,
            clock: clock.clone(),
            on_threshold: Box::new(move || {
                if let Some(wake) = &wake {
                    wake.notify_one();
                }
            }),
            on_stored: Box::new(move || {
                if let Some(stored) = &stored {
                    stored.notify_one();
                }
            }),
            consent: consent.clone(),
            audience: Some(AudienceWatch { config: proximity_config, consent: consent.clone() }),
        };
        let writer = Writer::new(setup, rx, shared, cell.clone());
        let thread = std::thread::Builder::new()
            .name("footfall-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| Error::Internal(format!("cannot start the writer thread: {e}")))?;
        crate::proximity::service::start(&handoff, proximity.clone(), recorder.clone());
        Ok(Footfall {
            handoff,
            cell,
            sync,
            writer: Mutex::new(Some(thread)),
            clock,
            ids: IdGenerator::default(),
            consent,
            consent_changes,
            consent_source: config.consent_source,
            wallet,
            proximity,
            proximity_recorder: recorder,
            listener,
        })
    }
}

#[cfg(feature = "reqwest-transport")]
fn default_transport(config: &Config) -> Result<Arc<dyn HttpTransport>> {
    Ok(Arc::new(crate::sync::reqwest_transport::ReqwestTransport::new(
        &config.extra_root_certs_pem,
        config.certificate_pins.clone(),
    )?))
}

/// Why an instance given the app's own transport cannot take `certificate_pins`.
const PINS_NEED_BUILTIN: &str = "certificate_pins apply to the built-in HTTPS transport only; this instance sends \
     through the app's own transport, which must pin in the platform's stack (docs/guides/certificate-pinning.md)";

/// Why an instance with an endpoint and no transport cannot open in a build without the built-in one (the
/// Android and iOS libraries): the platform's HTTP stack must be passed in.
pub const NO_BUILTIN_TRANSPORT: &str = "no HttpTransport: this library is built without the built-in HTTPS \
     client (cargo feature reqwest-transport, off in the Android and iOS libraries); pass the platform's \
     (UrlConnectionTransport, URLSessionTransport) or the app's own";

#[cfg(not(feature = "reqwest-transport"))]
fn default_transport(_: &Config) -> Result<Arc<dyn HttpTransport>> {
    Err(Error::Config(NO_BUILTIN_TRANSPORT.into()))
}

impl Footfall {
    pub fn open(config: Config) -> Result<Footfall> {
        Footfall::builder(config).open()
    }

    pub fn builder(config: Config) -> Builder {
        Builder {
            config,
            clock: Arc::new(SystemClock::default()),
            random: Arc::new(SeededRandom::default()),
            transport: None,
            listener: None,
            consent_receipts: true,
            device_signer: None,
        }
    }

    /// Records an event and returns its id at once; it never waits for disk or network.
    ///
    /// With `enforce_consent`, an event whose purpose is denied is refused with [`Error::ConsentDenied`]. In the
    /// first moments after `open` (before the writer has read the consent log) the answer is not known yet: the
    /// event is accepted and the writer refuses it before it is stored (counted as `consent_refused`).
    pub fn track(&self, event: Event) -> Result<Uuid> {
        let text = self.message_text(&event)?;
        self.enqueue(MessageKind::Track, text, None, None)
    }

    /// `track` with the id and time stamped by the caller: what the Kotlin and Swift layers hand over in batches
    /// after answering `track()` on the app's thread (the id they returned is the one stored). The same checks
    /// apply, consent judged at `timestamp_ms`; a `QueueFull` leaves nothing recorded.
    pub fn track_stamped(&self, id: Uuid, timestamp_ms: i64, event: Event) -> Result<()> {
        let text = self.message_text(&event)?;
        self.enqueue(MessageKind::Track, text, None, Some((id, timestamp_ms))).map(|_| ())
    }

    /// Checks an event and writes it into a recycled buffer (given back when refused).
    fn message_text(&self, event: &Event) -> std::result::Result<MessageText, ValidationError> {
        let buffers = &self.handoff.shared.buffers;
        MessageText::write(buffers.take(), &event.name, &event.properties, &event.purpose).map_err(|(e, buf)| {
            buffers.give_back([buf]);
            e
        })
    }

    /// Hands over events the caller already accepted (stamped by [`Self::track_stamped`]'s rules), in order, and
    /// never refuses one for room: when the hand-off is full it waits for the writer to commit and tries again
    /// (not counted as `queue_full`: nothing was lost; only an event that never fits is). Counts the caller's own refusals (`queue_full`,
    /// `consent_refused`) with the core's. An event refused on its merits (a purpose denied since, properties
    /// the caller's checks let through) is skipped and reported; `Closed` or a storage failure stops the batch.
    pub fn track_batch(
        &self,
        events: impl IntoIterator<Item = (Uuid, i64, Event)>,
        queue_full: u64,
        consent_refused: u64,
    ) -> Result<BatchReport> {
        let shared = &self.handoff.shared;
        shared.queue_full.fetch_add(queue_full, Ordering::Relaxed);
        shared.consent_refused.fetch_add(consent_refused, Ordering::Relaxed);
        let mut report = BatchReport::default();
        for (id, timestamp_ms, event) in events {
            let text = match self.message_text(&event) {
                Ok(text) => text,
                Err(e) => {
                    tracing::warn!("a buffered event was refused: {e}");
                    report.invalid += 1;
                    continue;
                }
            };
            let stamp = Some((id, timestamp_ms));
            let mut waits = 0;
            let mut message = match self.admit(MessageKind::Track, text, None, stamp) {
                Ok(message) => message,
                Err(Error::ConsentDenied { .. }) => {
                    report.consent_refused += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            loop {
                match self.handoff.offer(message) {
                    Ok(()) => report.accepted += 1,
                    Err((Error::QueueFull, Some(refused))) if waits < MAX_BATCH_WAITS => {
                        // Room is made by the writer, not by the caller: take back the count and wait for it.
                        shared.queue_full.fetch_sub(1, Ordering::Relaxed);
                        self.flush_to_disk()?;
                        waits += 1;
                        message = *refused;
                        continue;
                    }
                    // Still no room with the writer caught up: larger than the hand-off's byte budget. Counted.
                    Err((Error::QueueFull, _)) => report.queue_full += 1,
                    Err((e, _)) => return Err(e),
                }
                break;
            }
        }
        Ok(report)
    }

    /// `track` with properties as JSON text, the form foreign callers pass.
    pub fn track_json(&self, name: &str, properties_json: &str, purpose: Option<&str>) -> Result<Uuid> {
        let properties = event::parse_object(properties_json)?;
        let mut event = Event::new(name).properties(properties);
        if let Some(purpose) = purpose {
            event = event.purpose(purpose);
        }
        self.track(event)
    }

    /// Signs the shopper in: everything after names them (the events of allowed purposes, and the wallet, a
    /// service they asked for). The `identify` message with the traits is recorded only while its purpose
    /// (`analytics`) is allowed: returns its id, or `None` when that is denied (the sign-in stands all the same).
    pub fn identify(&self, user_id: &str, traits: Value) -> Result<Option<Uuid>> {
        event::validate_user_id(user_id)?;
        let text = MessageText::compose(String::new(), "", &traits, event::DEFAULT_PURPOSE).map_err(|(e, _)| e)?;
        match self.enqueue(MessageKind::Identify, text, Some(user_id.into()), None) {
            Ok(id) => Ok(Some(id)),
            Err(Error::ConsentDenied { .. }) => {
                self.handoff.send_control(Command::SignIn { user_id: user_id.into() })?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Forgets the shopper: a new anonymous id, no user id and a new session for everything tracked after.
    pub fn reset(&self) -> Result<()> {
        self.handoff.send_control(Command::Reset { anonymous_id: Uuid::new_v4().to_string() })
    }

    fn enqueue(
        &self,
        kind: MessageKind,
        text: MessageText,
        user_id: Option<String>,
        stamp: Option<(Uuid, i64)>,
    ) -> Result<Uuid> {
        let message = self.admit(kind, text, user_id, stamp)?;
        let id = message.id;
        self.handoff.send(message)?;
        Ok(id)
    }

    /// What every message passes before the hand-off: the instance usable, the purpose not known to be denied;
    /// stamps the id and time unless the caller did.
    fn admit(
        &self,
        kind: MessageKind,
        text: MessageText,
        user_id: Option<String>,
        stamp: Option<(Uuid, i64)>,
    ) -> Result<PendingMessage> {
        // Closed before anything else, so a closed instance answers `Closed` whatever the event.
        if self.handoff.shared.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if self.handoff.shared.storage_failed.load(Ordering::Acquire) {
            // Say why instead of accepting what cannot be kept.
            return Err(self.cell.wait(Some(std::time::Duration::ZERO)).err().unwrap_or(Error::Closed));
        }
        let timestamp_ms = stamp.map_or_else(|| self.clock.now_ms(), |(_, at)| at);
        // Refused here when the answer is known; until the log is read the writer judges before committing.
        if self.consent.is_allowed(text.purpose(), timestamp_ms) == Some(false) {
            self.handoff.shared.consent_refused.fetch_add(1, Ordering::Relaxed);
            return Err(Error::ConsentDenied { purpose: text.purpose().to_owned() });
        }
        let id = stamp.map_or_else(|| self.ids.next(timestamp_ms), |(id, _)| id);
        Ok(PendingMessage::from_text(id, kind, text, timestamp_ms, user_id))
    }

    /// Returns once everything tracked before this call is durable on disk.
    pub fn flush_to_disk(&self) -> Result<()> {
        self.handoff.barrier()
    }

    #[cfg(test)]
    pub(crate) fn recycled_buffers(&self) -> usize {
        self.handoff.shared.buffers.kept()
    }

    /// Uploads what is queued now and reports the outcome. Blocks the calling thread; see [`Self::flush_async`].
    pub fn flush(&self) -> Result<FlushReport> {
        let sync = self.sync()?;
        let (tx, rx) = std::sync::mpsc::channel();
        sync.flush(Reply::Blocking(tx));
        rx.recv().map_err(|_| Error::Closed)?
    }

    /// Uploads what is queued now; cancel-safe (dropping the future leaves the pass to finish on its own).
    pub async fn flush_async(&self) -> Result<FlushReport> {
        let sync = self.sync()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        sync.flush(Reply::Async(tx));
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Tells the SDK the device's network came back (the platform layers call it from their connectivity
    /// callbacks): uploads waiting out a backoff after a failure, or the hour after a refused certificate (a
    /// captive portal's, perhaps), try at once. The server's `Retry-After` and a pause for credentials still hold.
    /// Calls coalesce, and with nothing waiting (the platforms also report the network at start-up) no pass runs;
    /// does nothing without automatic uploads (`FlushPolicy::automatic`), where the app decides when to flush.
    pub fn network_available(&self) -> Result<()> {
        self.sync()?.network_available();
        Ok(())
    }

    fn sync(&self) -> Result<&SyncHandle> {
        if self.handoff.shared.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        self.sync.as_ref().ok_or_else(|| Error::Config("no endpoint configured: nothing to upload to".into()))
    }

    pub fn status(&self) -> Result<Status> {
        let storage = self.storage()?;
        let shared = &self.handoff.shared;
        Status::collect(
            &storage,
            self.clock.now_ms(),
            shared.queue_full.load(Ordering::Relaxed),
            shared.consent_refused.load(Ordering::Relaxed),
        )
    }

    /// The most recent dead letters, newest first.
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        self.storage()?.dead_letters(limit)
    }

    fn storage(&self) -> Result<Arc<Storage>> {
        if self.handoff.shared.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        self.cell.wait(Some(std::time::Duration::from_secs(5)))
    }

    /// Commits everything tracked so far, stops the threads and releases the database. Safe to call twice.
    pub fn close(&self) {
        if self.handoff.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.cell.close();
        let _ = self.handoff.send_control(Command::Shutdown);
        if let Some(writer) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            crate::threads::join_unless_current(writer);
        }
        if let Some(sync) = &self.sync {
            sync.stop();
        }
    }
}

impl Drop for Footfall {
    fn drop(&mut self) {
        self.close();
    }
}

/// What [`Footfall::track_batch`] did with a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub accepted: u64,
    /// Refused because their purpose is denied now (counted as `consent_refused`).
    pub consent_refused: u64,
    /// Refused by the core's checks (logged).
    pub invalid: u64,
    /// Refused for room even after the writer caught up (larger than the hand-off's byte budget); counted.
    pub queue_full: u64,
}

/// How often [`Footfall::track_batch`] waits for the writer before it gives an event up as `QueueFull`.
const MAX_BATCH_WAITS: u32 = 3;

/// Status of the database in `data_dir` without starting an SDK instance (for tools).
pub fn read_status(data_dir: &Path) -> Result<Status> {
    let storage = Storage::open(data_dir)?;
    Status::collect(&storage, SystemClock::default().now_ms(), 0, 0)
}
