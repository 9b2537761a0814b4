//! The one writer thread: opens the storage, then commits whatever the hand-off holds in group transactions.
//! It also owns identity and sessions, so every message carries the identity in force when it was tracked.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::handoff::{Command, Shared};
use super::job::{Job, WriterContext, NO_EVENT_YET};
use super::storage_cell::StorageCell;
use crate::clock::Clock;
use crate::config::StorageLimits;
use crate::consent::service;
use crate::consent::view::ConsentView;
use crate::error::{Error, Result};
use crate::event::{MessageKind, PendingMessage};
use crate::proximity::audience_watch::AudienceWatch;
use crate::storage::{Counter, Identity, Storage};

/// Most commands folded into one transaction: big enough to amortise the commit, small enough to keep
/// `flush_to_disk()` latency low.
const MAX_GROUP: usize = 2_048;
/// Age limits are checked at most this often (they need a scan).
const AGE_CHECK_EVERY_MS: i64 = 60_000;

pub(crate) struct WriterSetup {
    pub data_dir: PathBuf,
    /// How the database's personal columns are sealed (the platform's key store, or the default key file).
    pub encryption: crate::crypto::Encryption,
    pub limits: StorageLimits,
    pub session_timeout_ms: i64,
    pub count_threshold: u64,
    pub clock: Arc<dyn Clock>,
    /// Called when enough new events are durable to be worth an upload.
    pub on_threshold: Box<dyn Fn() + Send>,
    /// Called after each commit of events and each job: the sync loop, asleep with nothing pending, re-plans.
    pub on_stored: Box<dyn Fn() + Send>,
    /// Consulted before each append is committed; loaded here at open, changed by consent jobs.
    pub consent: Arc<ConsentView>,
    /// Counts the committed events that campaign audience rules watch.
    pub audience: Option<AudienceWatch>,
}

pub(crate) struct Writer {
    setup: WriterSetup,
    rx: Receiver<Command>,
    shared: Arc<Shared>,
    cell: Arc<StorageCell>,
    storage: Option<Arc<Storage>>,
    identity: Option<(Identity, i64)>,
    /// Committed since the last upload trigger.
    since_trigger: u64,
    /// An upper bound on queued rows and bytes (deliveries only lower the truth), so the exact, scanning limit
    /// check runs only when the bound crosses a limit.
    approx_rows: u64,
    approx_bytes: u64,
    last_age_check_ms: i64,
    /// Messages whose commit failed; retried ahead of newer ones (their bytes stay charged to the hand-off).
    backlog: Vec<(PendingMessage, Arc<Identity>)>,
    /// The group being gathered, kept between groups: a full group is ~300 KB, and allocating, growing and
    /// freeing that per commit made glibc consolidate its heap (the allocator was a sixth of the writer's profile).
    group: Vec<Command>,
}

impl Writer {
    pub(crate) fn new(setup: WriterSetup, rx: Receiver<Command>, shared: Arc<Shared>, cell: Arc<StorageCell>) -> Self {
        Writer {
            setup,
            rx,
            shared,
            cell,
            storage: None,
            identity: None,
            since_trigger: 0,
            approx_rows: 0,
            approx_bytes: 0,
            last_age_check_ms: i64::MIN,
            backlog: Vec::new(),
            group: Vec::with_capacity(MAX_GROUP),
        }
    }

    pub(crate) fn run(mut self) {
        if let Err(e) = self.open() {
            tracing::error!(error = %e, "storage could not be opened; events are not recorded");
            self.shared.storage_failed.store(true, Ordering::Release);
            self.cell.fail(e.clone());
            self.refuse_all(e);
            return;
        }
        let mut stopping = false;
        while !stopping {
            let Ok(first) = self.rx.recv() else { break };
            // A job ends the group: what came before is committed (and, say, purged by a withdrawal), what comes
            // after is judged under its effect.
            let mut job = None;
            let mut group = std::mem::take(&mut self.group);
            match first {
                Command::Job(j) => job = Some(j),
                command => group.push(command),
            }
            while job.is_none() && group.len() < MAX_GROUP {
                match self.rx.try_recv() {
                    Ok(Command::Job(j)) => job = Some(j),
                    Ok(command) => group.push(command),
                    Err(_) => break,
                }
            }
            if !group.is_empty() {
                stopping = self.commit(&mut group);
            }
            self.group = group;
            if let Some(job) = job {
                self.run_job(job);
            }
        }
        // Whatever raced with close() is still committed.
        let mut rest: Vec<Command> = std::iter::from_fn(|| self.rx.try_recv().ok()).collect();
        if !rest.is_empty() || !self.backlog.is_empty() {
            self.commit(&mut rest);
        }
        if let Some(storage) = &self.storage {
            storage.stop_checkpoints();
        }
    }

    /// Opens the storage, retrying while the file is locked or the disk is busy.
    fn open(&mut self) -> Result<()> {
        let mut delay = Duration::from_millis(50);
        let storage = loop {
            match Storage::open_encrypted(&self.setup.data_dir, &self.setup.encryption) {
                Ok(storage) => break Arc::new(storage),
                Err(Error::Storage { retryable: true, message }) => {
                    if self.shared.closed.load(Ordering::Acquire) {
                        return Err(Error::Closed);
                    }
                    tracing::warn!(error = %message, "database busy; retrying");
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        };
        storage.release_all()?;
        storage.prune_contexts()?;
        let now = self.setup.clock.now_ms();
        self.identity = Some(match storage.load_identity()? {
            Some(state) => state,
            None => (new_identity(Uuid::new_v4().to_string(), None), NO_EVENT_YET),
        });
        self.setup.consent.publish(service::load(&storage)?);
        storage.enforce_limits(&self.setup.limits, now)?;
        self.last_age_check_ms = now;
        let counts = storage.queue_counts(now)?;
        self.approx_rows = counts.pending + counts.in_flight;
        self.approx_bytes = counts.queued_bytes;
        self.storage = Some(storage.clone());
        self.cell.ready(storage);
        Ok(())
    }

    /// Commits one group (leaving `group` empty, its capacity kept); returns true when a shutdown was requested.
    fn commit(&mut self, group: &mut Vec<Command>) -> bool {
        let Some(storage) = self.storage.clone() else { return true };
        let (identity, last_ms) =
            self.identity.get_or_insert_with(|| (new_identity(Uuid::new_v4().to_string(), None), NO_EVENT_YET));
        let mut messages = std::mem::take(&mut self.backlog);
        messages.reserve(group.len());
        let mut barriers = Vec::new();
        // One shared copy of the identity per run of messages under it, instead of a clone each.
        let mut shared: Option<Arc<Identity>> = None;
        // Consent cannot change inside a group (a consent job ends it, and only the writer publishes), so the
        // answer for a purpose is looked up once per group; the bench's stream has a single purpose.
        let mut verdict: Option<(String, Option<bool>)> = None;
        let mut stop = false;
        // A reset or sign-in with no message after it is still saved with this group, not with the next message.
        let mut identity_changed = false;
        let mut refused = (0u64, 0usize);
        let now = self.setup.clock.now_ms();
        let consent = &self.setup.consent;
        let mut allowed = |purpose: &str| match &verdict {
            Some((known, answer)) if known == purpose => *answer,
            _ => {
                let answer = consent.is_allowed(purpose, now);
                verdict = Some((purpose.to_owned(), answer));
                answer
            }
        };
        for command in group.drain(..) {
            match command {
                // Tracked before the log was read, or raced a withdrawal: judged now, before it is stored.
                Command::Append(message) if allowed(message.purpose()) == Some(false) => {
                    refused.0 += 1;
                    refused.1 += message.size();
                    // The identify message goes; the sign-in it carried stands, as when `identify` knew at once.
                    if message.kind == MessageKind::Identify {
                        identity.user_id = message.user_id.clone();
                        shared = None;
                        identity_changed = true;
                    }
                    self.shared.buffers.give_back([message.into_buffer()]);
                }
                Command::Append(message) => {
                    let timeout = self.setup.session_timeout_ms;
                    if *last_ms != NO_EVENT_YET && message.timestamp_ms - *last_ms > timeout {
                        identity.session_id = Uuid::now_v7().to_string();
                        shared = None;
                    }
                    *last_ms = (*last_ms).max(message.timestamp_ms);
                    if message.kind == MessageKind::Identify {
                        identity.user_id = message.user_id.clone();
                        shared = None;
                    }
                    let under = shared.get_or_insert_with(|| Arc::new(identity.clone())).clone();
                    messages.push((message, under));
                }
                Command::Reset { anonymous_id } => {
                    // Remembered for a later deletion request, which names every id the install used.
                    if let Err(e) = storage.remember_anonymous_id(&identity.anonymous_id, now) {
                        tracing::warn!(error = %e, "could not remember the replaced anonymous id");
                    }
                    *identity = new_identity(anonymous_id, None);
                    shared = None;
                    identity_changed = true;
                }
                Command::SignIn { user_id } => {
                    identity.user_id = Some(user_id);
                    shared = None;
                    identity_changed = true;
                }
                Command::Barrier(reply) => barriers.push(reply),
                Command::Shutdown => stop = true,
                // `run` takes jobs out of the group; one that arrives here raced `close()`.
                Command::Job(job) => job.refuse(Error::Closed),
            }
        }
        if refused.0 > 0 {
            self.shared.in_memory_bytes.fetch_sub(refused.1, Ordering::AcqRel);
            let _ = storage.add_counters(&[(Counter::ConsentRefused, refused.0)]);
        }
        let state = (identity.clone(), *last_ms);
        let bytes: usize = messages.iter().map(|(m, _)| m.size()).sum();
        let result = if messages.is_empty() && barriers.is_empty() && !stop && !identity_changed {
            Ok(())
        } else {
            storage.append(&messages, &state)
        };
        match result {
            Ok(()) => {
                self.shared.in_memory_bytes.fetch_sub(bytes, Ordering::AcqRel);
                if let Some(audience) = &self.setup.audience {
                    audience.tally(&storage, &messages, now);
                }
                self.after_commit(&storage, messages.len() as u64, bytes as u64);
                // The texts go back to `track()`; the vector, empty, is kept for the next group (see `group`).
                self.shared.buffers.give_back(messages.drain(..).map(|(m, _)| m.into_buffer()));
                self.backlog = messages;
                for reply in barriers {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, count = messages.len(), "commit failed; keeping the events in memory to retry");
                let _ = storage.add_counters(&[(Counter::StorageErrors, 1)]);
                self.backlog = messages;
                for reply in barriers {
                    let _ = reply.send(Err(e.clone()));
                }
                if !stop {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        stop
    }

    fn after_commit(&mut self, storage: &Storage, appended: u64, bytes: u64) {
        let rejected = self.shared.queue_full.swap(0, Ordering::Relaxed);
        let refused = self.shared.consent_refused.swap(0, Ordering::Relaxed);
        if rejected > 0 || refused > 0 {
            let _ =
                storage.add_counters(&[(Counter::QueueFullRejections, rejected), (Counter::ConsentRefused, refused)]);
        }
        self.approx_rows += appended;
        self.approx_bytes += bytes;
        let now = self.setup.clock.now_ms();
        let limits = &self.setup.limits;
        let over = self.approx_rows > limits.max_events || self.approx_bytes > limits.max_bytes;
        if over || now - self.last_age_check_ms >= AGE_CHECK_EVERY_MS {
            self.last_age_check_ms = now;
            let _ = storage.enforce_limits(limits, now);
            if let Ok(counts) = storage.queue_counts(now) {
                self.approx_rows = counts.pending + counts.in_flight;
                self.approx_bytes = counts.queued_bytes;
            }
        }
        if appended > 0 {
            (self.setup.on_stored)();
        }
        self.since_trigger += appended;
        if self.since_trigger >= self.setup.count_threshold.max(1) {
            self.since_trigger = 0;
            (self.setup.on_threshold)();
        }
    }

    /// Runs another domain's job; after a wipe (a deletion request) what the writer held in memory goes too.
    fn run_job(&mut self, job: Job) {
        let Some(storage) = self.storage.clone() else { return job.refuse(Error::Closed) };
        let identity =
            self.identity.get_or_insert_with(|| (new_identity(Uuid::new_v4().to_string(), None), NO_EVENT_YET));
        let mut ctx = WriterContext::new(&storage, identity);
        job.run(&mut ctx);
        (self.setup.on_stored)();
        if ctx.wiped() {
            let dropped: usize = self.backlog.drain(..).map(|(m, _)| m.size()).sum();
            self.shared.in_memory_bytes.fetch_sub(dropped, Ordering::AcqRel);
            self.approx_rows = 0;
            self.approx_bytes = 0;
        }
    }

    fn refuse_all(&self, error: Error) {
        while let Ok(command) = self.rx.recv() {
            match command {
                Command::Barrier(reply) => {
                    let _ = reply.send(Err(error.clone()));
                }
                Command::Job(job) => job.refuse(error.clone()),
                Command::Shutdown => break,
                _ => {}
            }
        }
    }
}

pub(crate) fn new_identity(anonymous_id: String, user_id: Option<String>) -> Identity {
    Identity { anonymous_id, user_id, session_id: Uuid::now_v7().to_string() }
}
