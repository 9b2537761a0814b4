//! The consent snapshot every path consults: `track()` on the app's thread, the writer before it commits, the
//! uploader before it sends. Only the writer thread changes it, right after the change is durable, so a change is
//! ordered with every append; the send gate orders it with every upload.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

use tokio::sync::watch;

use super::policy::Policy;
use super::purpose;
use super::state::{ConsentState, Context};

/// What gating decisions are made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub policy: Policy,
    pub state: ConsentState,
    pub context: Context,
}

impl Snapshot {
    pub fn is_allowed(&self, purpose: &str, now_ms: i64) -> bool {
        self.state.is_allowed(purpose, &self.policy, &self.context, now_ms)
    }
}

pub struct ConsentView {
    /// When false every purpose is allowed (see `Config::enforce_consent`); decisions are still logged.
    enforce: bool,
    snapshot: RwLock<Snapshot>,
    /// False until the writer has read the log: until then `track()` cannot decide and the writer does.
    loaded: AtomicBool,
    /// Bumped by every change; an upload that leased under an older generation re-checks before it sends, and
    /// one in flight watches it to abandon a request whose contents a change may have denied.
    generation: watch::Sender<u64>,
    /// Held while an upload commits to sending and while a change is published: one happens before the other.
    send_gate: Mutex<()>,
}

impl ConsentView {
    pub fn new(enforce: bool) -> Self {
        ConsentView {
            enforce,
            snapshot: RwLock::new(Snapshot {
                policy: Policy::built_in(),
                state: ConsentState::default(),
                context: Context::default(),
            }),
            loaded: AtomicBool::new(false),
            generation: watch::Sender::new(0),
            send_gate: Mutex::new(()),
        }
    }
}

impl ConsentView {
    pub fn enforced(&self) -> bool {
        self.enforce
    }

    /// The decision for `purpose`, or `None` while the log has not been read yet (essential is always allowed).
    pub fn is_allowed(&self, purpose_id: &str, now_ms: i64) -> Option<bool> {
        if !self.enforce || purpose::is_essential(purpose_id) {
            return Some(true);
        }
        if !self.loaded.load(Ordering::Acquire) {
            return None;
        }
        Some(self.read().is_allowed(purpose_id, now_ms))
    }

    /// Every purpose the policy declares or the shopper decided.
    pub fn known_purposes(&self) -> Vec<String> {
        let snapshot = self.read();
        let declared = snapshot.policy.purposes.iter().map(|d| d.id.clone());
        declared.chain(snapshot.state.decisions.keys().cloned()).collect()
    }

    pub fn snapshot(&self) -> Snapshot {
        self.read().clone()
    }

    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Publishes a new snapshot (writer thread only, after the change is durable).
    pub(crate) fn publish(&self, snapshot: Snapshot) {
        let _gate = self.gate();
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = snapshot;
        self.loaded.store(true, Ordering::Release);
        self.generation.send_modify(|g| *g += 1);
    }

    pub(crate) fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    pub(crate) fn gate(&self) -> MutexGuard<'_, ()> {
        self.send_gate.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Watches for the next published change (subscribe under the gate, so none is missed).
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.snapshot.read().unwrap_or_else(|p| p.into_inner())
    }
}
