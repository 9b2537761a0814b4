//! The live side of proximity: sightings in, transitions out. Ingestion runs on the caller's thread (the platform's
//! scan callback) and never touches the disk: it checks `location` consent, feeds the presence engine under a short
//! lock, and hands any visit changes to the writer thread as a job ([`super::record`]) that commits the visit rows
//! and their events together.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

use super::config::{ConfigCell, ProximityConfig};
use super::presence::{PresenceEngine, Transition};
use super::record::{Change, Recorder, STALE_AFTER_MS};
use super::sighting::Sighting;
use crate::clock::Clock;
use crate::consent::purpose::LOCATION;
use crate::consent::view::ConsentView;
use crate::storage::{MetaKey, Storage, StoredVisit};
use crate::writer::handoff::Command;
use crate::writer::job::Job;
use crate::writer::Handoff;

/// An open visit's last-seen time is written at most this often (a restart closes it at most this early).
const TOUCH_EVERY_MS: u64 = 10_000;

/// What became of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Fed to the presence engine.
    Processed,
    /// `location` is not granted (or not known yet): dropped, nothing kept.
    NoConsent,
    /// The SDK is still starting (reading the consent log and the visits left open by the last run): dropped.
    NotReady,
}

/// Counts since the instance started (shown in `proximity_status()`).
#[derive(Debug, Default)]
pub struct IngestCounts {
    pub processed: AtomicU64,
    pub without_consent: AtomicU64,
    pub refused: AtomicU64,
}

pub struct Proximity {
    clock: Arc<dyn Clock>,
    consent: Arc<ConsentView>,
    recorder: Arc<Recorder>,
    live: Mutex<Live>,
    config: Arc<ConfigCell>,
    pub counts: IngestCounts,
}

struct Live {
    ready: bool,
    engine: PresenceEngine,
    /// Zone id → the visit open in it.
    open: HashMap<String, OpenVisit>,
    out: Vec<Transition>,
}

#[derive(Debug, Clone)]
struct OpenVisit {
    id: String,
    store: String,
    /// Set for a visit restored after a restart: an exit whose absence began before this instant began while the
    /// process was gone, so the exit time is the last-seen time it had written.
    restored_at_mono: Option<u64>,
    last_seen_ms: i64,
    last_touch_mono: u64,
}

impl Proximity {
    pub(crate) fn new(
        config: Arc<ConfigCell>,
        clock: Arc<dyn Clock>,
        consent: Arc<ConsentView>,
        recorder: Arc<Recorder>,
    ) -> Proximity {
        let engine = config.get().engine();
        Proximity {
            clock,
            consent,
            recorder,
            live: Mutex::new(Live { ready: false, engine, open: HashMap::new(), out: Vec::new() }),
            config,
            counts: IngestCounts::default(),
        }
    }

    pub fn config(&self) -> Arc<ProximityConfig> {
        self.config.get()
    }

    /// A reading. `at_mono` is on the SDK clock's monotonic timeline.
    pub fn observe(&self, sighting: &Sighting) -> Ingested {
        self.feed(sighting.at_ms, |engine, out| engine.observe(sighting, out), Some(sighting))
    }

    /// The platform finished a scan cycle at `at_mono` with scanning on.
    pub fn tick(&self, at_mono: u64) -> Ingested {
        self.feed(at_mono, |engine, out| engine.tick(at_mono, out), None)
    }

    /// Scanning stopped (background, Bluetooth off) or started again: time while stopped is unknown.
    pub fn scanning(&self, active: bool, at_mono: u64) -> Ingested {
        self.feed(at_mono, |engine, out| engine.scanning(active, at_mono, out), None)
    }

    fn feed(
        &self,
        at_mono: u64,
        step: impl FnOnce(&mut PresenceEngine, &mut Vec<Transition>),
        sighting: Option<&Sighting>,
    ) -> Ingested {
        let now_ms = self.clock.now_ms();
        let mut live = self.lock();
        let allowed = self.consent.is_allowed(LOCATION, now_ms);
        if allowed.is_none() {
            // The consent log is still being read (the first moments after open): nothing can be decided yet.
            return Ingested::NotReady;
        }
        if allowed == Some(false) {
            self.counts.without_consent.fetch_add(1, Ordering::Relaxed);
            // Denied: nothing is kept (the withdrawal hook already dropped what there was).
            return Ingested::NoConsent;
        }
        if !live.ready {
            return Ingested::NotReady;
        }
        self.counts.processed.fetch_add(1, Ordering::Relaxed);
        // Read once per input: every transition and the touch below judge against the same configuration.
        let config = self.config();
        let mut out = std::mem::take(&mut live.out);
        out.clear();
        step(&mut live.engine, &mut out);
        let mono_now = self.clock.monotonic_ms();
        let wall = |at: u64| now_ms - mono_now.saturating_sub(at) as i64;
        let mut changes = Vec::new();
        for transition in out.drain(..) {
            match transition {
                Transition::Enter { zone, at_ms } => {
                    let Some(def) = config.zone(&zone) else { continue };
                    let entered_ms = wall(at_ms);
                    let visit = StoredVisit {
                        id: Uuid::now_v7().to_string(),
                        zone: zone.to_string(),
                        store: def.store.clone(),
                        entered_ms,
                        last_seen_ms: entered_ms,
                        dwell_ms: None,
                        exited_ms: None,
                        end_reason: None,
                    };
                    live.open.insert(
                        zone.to_string(),
                        OpenVisit {
                            id: visit.id.clone(),
                            store: def.store.clone(),
                            restored_at_mono: None,
                            last_seen_ms: entered_ms,
                            last_touch_mono: at_ms,
                        },
                    );
                    changes.push(Change::Enter(visit));
                }
                Transition::Dwell { zone, at_ms, .. } => {
                    if let Some(open) = live.open.get(&*zone) {
                        changes.push(Change::Dwell { visit_id: open.id.clone(), at_ms: wall(at_ms) });
                    }
                }
                Transition::Exit { zone, at_ms, .. } => {
                    if let Some(open) = live.open.remove(&*zone) {
                        let exited_ms = match open.restored_at_mono {
                            Some(restored) if at_ms <= restored => open.last_seen_ms,
                            _ => wall(at_ms).max(open.last_seen_ms),
                        };
                        changes.push(Change::Exit { visit_id: open.id, at_ms: exited_ms, reason: "absence" });
                    }
                }
            }
        }
        if let Some(sighting) = sighting {
            touch(&mut live, &config, sighting, at_mono, wall(at_mono), &mut changes);
        }
        live.out = out;
        drop(live);
        if !changes.is_empty() {
            self.recorder.record(changes);
        }
        Ingested::Processed
    }

    /// Takes the visits the last run left open: a stale one (nothing written for longer than the zone could
    /// possibly still hold the shopper) is closed at its last-seen time; the others continue in the engine, so
    /// a new reading continues the visit instead of opening a second one.
    pub(crate) fn restore(&self, open: Vec<StoredVisit>, stale_after_ms: i64) -> Vec<Change> {
        let now_ms = self.clock.now_ms();
        let mono_now = self.clock.monotonic_ms();
        let config = self.config();
        let mut live = self.lock();
        let mut changes = Vec::new();
        for visit in open {
            if live.open.values().any(|o| o.id == visit.id) {
                continue;
            }
            let reason = match config.zone(&visit.zone) {
                // Nothing configured yet (an instance opened without zones, before the server's arrive): the
                // visit is neither continued nor ended; a configuration that lacks its zone will end it.
                None if config.version == 0 => None,
                None => Some("zone_removed"),
                Some(_) if now_ms - visit.last_seen_ms > stale_after_ms => Some("stale"),
                Some(_) => None,
            };
            if let Some(reason) = reason {
                changes.push(Change::Exit { visit_id: visit.id, at_ms: visit.last_seen_ms, reason });
                continue;
            }
            let entered_mono = mono_now.saturating_sub((now_ms - visit.entered_ms).max(0) as u64);
            // A dwell the engine tells again is refused by storage (marked once), and so are its offers.
            live.engine.restore(&visit.zone, entered_mono);
            live.open.insert(
                visit.zone.clone(),
                OpenVisit {
                    id: visit.id,
                    store: visit.store,
                    restored_at_mono: Some(mono_now),
                    last_seen_ms: visit.last_seen_ms,
                    last_touch_mono: mono_now,
                },
            );
        }
        live.ready = true;
        changes
    }

    /// A new configuration: the engine starts again with the new zones; visits in zones that remain continue,
    /// the others end (`zone_removed`).
    pub(crate) fn apply_config(&self, config: ProximityConfig) {
        let mut live = self.lock();
        let mut engine = config.engine();
        let mut changes = Vec::new();
        let now_ms = self.clock.now_ms();
        let mono_now = self.clock.monotonic_ms();
        live.open.retain(|zone, open| {
            if config.zone(zone).is_some() {
                let entered = open.restored_at_mono.unwrap_or(open.last_touch_mono);
                engine.restore(zone, entered.min(mono_now));
                open.restored_at_mono = Some(mono_now);
                true
            } else {
                changes.push(Change::Exit {
                    visit_id: open.id.clone(),
                    at_ms: open.last_seen_ms.min(now_ms),
                    reason: "zone_removed",
                });
                false
            }
        });
        live.engine = engine;
        self.config.set(config);
        drop(live);
        if !changes.is_empty() {
            self.recorder.record(changes);
        }
    }

    /// Drops the presence state (a deletion request wiped the visits it referred to).
    pub(crate) fn forget(&self) {
        let mut live = self.lock();
        live.open.clear();
        live.engine = self.config().engine();
    }

    /// Zones the shopper is in now, with their visit ids.
    pub fn inside(&self) -> Vec<(String, String)> {
        let live = self.lock();
        let mut inside: Vec<(String, String)> = live.open.iter().map(|(z, v)| (z.clone(), v.id.clone())).collect();
        inside.sort();
        inside
    }

    /// The open visit in one of `store`'s zones, if any.
    pub(crate) fn open_visit_in_store(&self, store: &str) -> Option<String> {
        self.lock().open.values().find(|v| v.store == store).map(|v| v.id.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A near reading of a zone the shopper is in moves its last-seen time, written every [`TOUCH_EVERY_MS`].
fn touch(live: &mut Live, config: &ProximityConfig, s: &Sighting, at_mono: u64, at_ms: i64, changes: &mut Vec<Change>) {
    for (zone, open) in live.open.iter_mut() {
        let Some(def) = config.zone(zone) else { continue };
        if s.rssi < def.exit_rssi || !def.beacons.contains(&s.beacon) {
            continue;
        }
        open.last_seen_ms = open.last_seen_ms.max(at_ms);
        if at_mono.saturating_sub(open.last_touch_mono) >= TOUCH_EVERY_MS {
            open.last_touch_mono = at_mono;
            changes.push(Change::Touch { visit_id: open.id.clone(), at_ms: open.last_seen_ms });
        }
    }
}

/// Starts proximity on the writer thread, before any visit change can be written: the server's cached
/// configuration (when it is newer than the app's), then the visits the last run left open.
pub(crate) fn start(handoff: &Handoff, proximity: Arc<Proximity>, recorder: Arc<Recorder>) {
    let (job, _ignored) = Job::new(move |ctx| {
        if let Some(cached) = ctx.storage.meta(MetaKey::ProximityConfig)? {
            match ProximityConfig::from_document(cached.as_bytes()) {
                Ok(config) if config.version >= proximity.config().version => proximity.apply_config(config),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the cached proximity configuration is not usable"),
            }
        }
        let open = ctx.storage.open_visits()?;
        let changes = proximity.restore(open, STALE_AFTER_MS);
        recorder.apply(ctx, changes)
    });
    if let Err(e) = handoff.send_control(Command::Job(job)) {
        tracing::info!(error = %e, "proximity not started: the SDK is closing");
    }
}

/// A configuration document the server sent: its `proximity` member, when it is valid and not older than the one
/// in force, replaces it and is kept for the next start. Never fails the refresh (the consent policy in the
/// same document stands on its own).
pub(crate) fn apply_remote(storage: &Storage, proximity: &Proximity, body: &[u8]) {
    match ProximityConfig::from_remote_config(body) {
        Ok(None) => {}
        Ok(Some(config)) => {
            // The same document again (a refresh whose consent part was refused gets no 304): nothing to redo, and
            // the engine keeps its smoothing and k-of-m state.
            let body_text = std::str::from_utf8(body).ok();
            if body_text.is_some() && storage.meta(MetaKey::ProximityConfig).ok().flatten().as_deref() == body_text {
                return;
            }
            if let Err(e) = proximity.config().check_successor(&config) {
                tracing::warn!(error = %e, "the server's proximity configuration was refused");
                return;
            }
            if let Err(e) = storage.set_meta(MetaKey::ProximityConfig, body_text) {
                tracing::warn!(error = %e, "the proximity configuration was applied but not kept");
            }
            proximity.apply_config(config);
        }
        Err(e) => tracing::warn!(error = %e, "the server's proximity configuration was refused"),
    }
}
