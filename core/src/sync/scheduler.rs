//! The sync thread: a small single-threaded runtime that runs upload passes when a trigger fires (count
//! threshold, start-up, the interval or a retry while something is pending) or the app flushes. Triggers
//! coalesce; one pass runs at a time. With nothing pending the thread arms no timer (see [`super::wake`]).

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch, Notify};

use super::remote_config::{self, PolicyRefresh};
use super::uploader::{FlushReport, Uploader, UploaderSetup};
use super::wake::Timers;
use super::wallet_feed::WalletSyncReport;
use crate::consent::changes::ConsentChanges;
use crate::error::{Error, Result, WalletError};
use crate::listener::{self, SdkListener};
use crate::storage::Storage;
use crate::writer::{Handoff, StorageCell};

/// Where the answer to an explicit request goes: a blocked caller or an awaiting future.
pub(crate) enum Reply<T = FlushReport> {
    Blocking(std::sync::mpsc::Sender<Result<T>>),
    Async(oneshot::Sender<Result<T>>),
}

impl<T> Reply<T> {
    fn send(self, report: Result<T>) {
        match self {
            Reply::Blocking(tx) => drop(tx.send(report)),
            Reply::Async(tx) => drop(tx.send(report)),
        }
    }
}

/// Where the answer to an explicit policy refresh goes.
pub(crate) type RefreshReply = Reply<PolicyRefresh>;
/// Where the answer to an explicit wallet sync goes.
pub(crate) type WalletReply = Reply<WalletSyncReport>;

pub(crate) struct SyncHandle {
    ends: LoopEnds,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// The handle's ends of the loop's channels and triggers.
pub(super) struct LoopEnds {
    pub flushes: mpsc::UnboundedSender<Reply>,
    pub refreshes: mpsc::UnboundedSender<RefreshReply>,
    pub wallet_syncs: mpsc::UnboundedSender<WalletReply>,
    pub wake: Arc<Notify>,
    pub stored: Arc<Notify>,
    pub network: Arc<Notify>,
    pub shutdown: watch::Sender<bool>,
}

impl SyncHandle {
    pub fn start(
        setup: UploaderSetup,
        cell: Arc<StorageCell>,
        handoff: Arc<Handoff>,
        consent_changes: Arc<ConsentChanges>,
    ) -> Result<SyncHandle> {
        // Named, so the SDK's threads can be told apart (the bench counts their wake-ups): the blocking pool runs
        // the transport's DNS look-ups.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .thread_name("footfall-io")
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the sync runtime: {e}")))?;
        let (loop_state, ends) = SyncLoop::new(setup, cell, handoff, consent_changes);
        let thread = std::thread::Builder::new()
            .name("footfall-sync".into())
            .spawn(move || runtime.block_on(loop_state.run()))
            .map_err(|e| Error::Internal(format!("cannot start the sync thread: {e}")))?;
        Ok(SyncHandle { ends, thread: std::sync::Mutex::new(Some(thread)) })
    }

    /// The trigger the writer pulls when enough events are durable (coalesced with any pending one).
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.ends.wake.clone()
    }

    /// What the writer pulls after each commit: the loop, asleep with nothing pending, arms its timers.
    pub fn stored_handle(&self) -> Arc<Notify> {
        self.ends.stored.clone()
    }

    pub fn flush(&self, reply: Reply) {
        if let Err(mpsc::error::SendError(reply)) = self.ends.flushes.send(reply) {
            reply.send(Err(Error::Closed));
        }
    }

    /// The device's network came back (the platform layer says so): a background pass now, past our backoff;
    /// calls while one is due coalesce.
    pub fn network_available(&self) {
        self.ends.network.notify_one();
    }

    /// Fetches the consent policy on the sync thread (after any pass in progress).
    pub fn refresh_config(&self, reply: RefreshReply) {
        if let Err(mpsc::error::SendError(reply)) = self.ends.refreshes.send(reply) {
            reply.send(Err(Error::Closed));
        }
    }

    /// Pulls the wallet feed on the sync thread (after any pass in progress).
    pub fn wallet_sync(&self, reply: WalletReply) {
        if let Err(mpsc::error::SendError(reply)) = self.ends.wallet_syncs.send(reply) {
            reply.send(Err(Error::Closed));
        }
    }

    /// Stops the thread; an upload in flight is abandoned (its rows stay queued and are re-sent later).
    pub fn stop(&self) {
        let _ = self.ends.shutdown.send(true);
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            crate::threads::join_unless_current(thread);
        }
    }
}

struct SyncLoop {
    setup: Option<UploaderSetup>,
    cell: Arc<StorageCell>,
    handoff: Arc<Handoff>,
    /// Where a fetched policy is applied.
    consent_changes: Arc<ConsentChanges>,
    flush_rx: mpsc::UnboundedReceiver<Reply>,
    refresh_rx: mpsc::UnboundedReceiver<RefreshReply>,
    wallet_rx: mpsc::UnboundedReceiver<WalletReply>,
    wake: Arc<Notify>,
    /// Something was committed (see [`SyncHandle::stored_handle`]).
    stored: Arc<Notify>,
    /// The network came back (see [`SyncHandle::network_available`]).
    network: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
    /// How often the loop woke after start-up, whatever woke it (the tests' witness that idle means asleep).
    woke: Arc<std::sync::atomic::AtomicU64>,
}

impl SyncLoop {
    /// The loop, waiting to run, and the handle's ends of its channels.
    pub(super) fn new(
        setup: UploaderSetup,
        cell: Arc<StorageCell>,
        handoff: Arc<Handoff>,
        consent_changes: Arc<ConsentChanges>,
    ) -> (SyncLoop, LoopEnds) {
        let (flushes, flush_rx) = mpsc::unbounded_channel();
        let (refreshes, refresh_rx) = mpsc::unbounded_channel();
        let (wallet_syncs, wallet_rx) = mpsc::unbounded_channel();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let ends = LoopEnds {
            flushes,
            refreshes,
            wallet_syncs,
            wake: Arc::new(Notify::new()),
            stored: Arc::new(Notify::new()),
            network: Arc::new(Notify::new()),
            shutdown,
        };
        let sync_loop = SyncLoop {
            setup: Some(setup),
            cell,
            handoff,
            consent_changes,
            flush_rx,
            refresh_rx,
            wallet_rx,
            wake: ends.wake.clone(),
            stored: ends.stored.clone(),
            network: ends.network.clone(),
            shutdown: shutdown_rx,
            woke: Default::default(),
        };
        (sync_loop, ends)
    }

    async fn run(mut self) {
        let storage = loop {
            match self.cell.wait(Some(Duration::from_millis(200))) {
                Ok(storage) => break storage,
                Err(Error::Storage { retryable: true, .. }) if !*self.shutdown.borrow() => continue,
                Err(e) => {
                    self.flush_rx.close();
                    while let Some(reply) = self.flush_rx.recv().await {
                        reply.send(Err(e.clone()));
                    }
                    return;
                }
            }
        };
        let Some(setup) = self.setup.take() else { return };
        let policy = setup.flush;
        let listener = setup.listener.clone();
        let mut uploader = Uploader::new(setup, storage.clone());
        if policy.automatic && policy.on_start && pending(&storage) {
            self.wake.notify_one();
        }
        let refresh_every = uploader.setup().config_refresh;
        // At start-up, before anything else (prompts shown first thing should follow the current policy), then
        // every `refresh_every`.
        if refresh_every.is_some()
            && self.until_shutdown(background_refresh(&uploader, &storage, &self.consent_changes)).await.is_none()
        {
            return;
        }
        // The wallet at start-up: coupons shown first thing should be the current ones.
        if self.until_shutdown(wallet_sync(&uploader, &storage, &self.handoff, listener.as_deref())).await.is_none() {
            return;
        }
        let clock = uploader.setup().request.clock.clone();
        let mut timers = Timers::new(&policy, refresh_every, clock.monotonic_ms());
        loop {
            let now = clock.monotonic_ms();
            let due_in = timers.plan(now, policy.automatic && pending(&storage), uploader.retry_in_ms());
            let sleep = tokio::time::sleep(Duration::from_millis(due_in.unwrap_or(0)));
            let background = tokio::select! {
                biased;
                _ = self.shutdown.changed() => break,
                reply = self.flush_rx.recv() => match reply {
                    Some(reply) => {
                        let mut replies = vec![reply];
                        while let Ok(more) = self.flush_rx.try_recv() {
                            replies.push(more);
                        }
                        // Everything tracked before the flush call must be on disk before the pass leases.
                        let report = match self.handoff.barrier() {
                            Ok(()) => self.cancellable(uploader.pass(true)).await,
                            Err(e) => Some(Err(e)),
                        };
                        let Some(report) = report else { break };
                        // Before the replies, so a flush returns after its pass's events were told (and the
                        // wallet pulled when a redemption was answered).
                        notify(listener.as_deref(), &mut uploader);
                        if self.after_redemptions(&uploader, &storage, listener.as_deref()).await.is_none() {
                            break;
                        }
                        for reply in replies {
                            reply.send(report.clone());
                        }
                        false
                    }
                    None => break,
                },
                reply = self.refresh_rx.recv() => {
                    if let Some(reply) = reply {
                        let refreshed = self.until_shutdown(remote_config::refresh(&uploader.setup().request, &storage, &self.consent_changes, uploader.setup().proximity.as_deref())).await;
                        let Some(refreshed) = refreshed else { break };
                        reply.send(refreshed);
                    }
                    false
                }
                reply = self.wallet_rx.recv() => {
                    if let Some(reply) = reply {
                        let synced = self.until_shutdown(wallet_sync(&uploader, &storage, &self.handoff, listener.as_deref())).await;
                        let Some(synced) = synced else { break };
                        reply.send(synced);
                    }
                    false
                }
                _ = self.wake.notified(), if policy.automatic => true,
                // Only a lane that waited has something to try again: the platforms report a network at start-up
                // too, which must not cost a pass.
                _ = self.network.notified(), if policy.automatic => uploader.network_available(),
                // Nothing was pending when the timers were planned: a commit may have changed that.
                _ = self.stored.notified(), if policy.automatic && !timers.tick_armed() => false,
                _ = sleep, if due_in.is_some() => {
                    let fired = timers.fired(clock.monotonic_ms());
                    if fired.refresh
                        && self.until_shutdown(background_refresh(&uploader, &storage, &self.consent_changes)).await.is_none()
                    {
                        break;
                    }
                    fired.upload
                }
            };
            self.woke.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if background {
                if self.cancellable(uploader.pass(false)).await.is_none() {
                    break;
                }
                notify(listener.as_deref(), &mut uploader);
                if self.after_redemptions(&uploader, &storage, listener.as_deref()).await.is_none() {
                    break;
                }
            }
        }
    }

    /// Runs a pass unless shutdown comes first (then the pass is dropped at its next await point).
    async fn cancellable(
        &self,
        pass: impl std::future::Future<Output = Result<FlushReport>>,
    ) -> Option<Result<FlushReport>> {
        let report = self.until_shutdown(pass).await?;
        if let Err(e) = &report {
            tracing::error!(error = %e, "upload pass failed");
        }
        Some(report)
    }

    /// Pulls the wallet feed when the last pass got answers to redemptions (coupons may have ended elsewhere);
    /// None when the SDK closes first.
    async fn after_redemptions(
        &self,
        uploader: &Uploader,
        storage: &Storage,
        listener: Option<&dyn SdkListener>,
    ) -> Option<()> {
        if !uploader.take_wallet_answered() {
            return Some(());
        }
        if let Some(listener) = listener {
            wallet_changed(uploader, storage, listener);
        }
        self.until_shutdown(wallet_sync(uploader, storage, &self.handoff, listener)).await.map(|_| ())
    }

    /// `work`'s result, or None when the SDK closes first (a request in flight must not hold `close()` up).
    async fn until_shutdown<T>(&self, work: impl std::future::Future<Output = T>) -> Option<T> {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            out = work => Some(out),
            _ = shutdown.changed() => None,
        }
    }
}

/// Whether anything waits to be sent: queued events or an essential item. An unreadable answer counts as pending, so
/// the interval keeps trying rather than stopping silently.
fn pending(storage: &Storage) -> bool {
    storage.has_queued().unwrap_or(true) || storage.essential_pending().unwrap_or(true)
}

/// Tells the listener what the last pass did: on the sync thread, between passes, with no lock held.
fn notify(listener: Option<&dyn SdkListener>, uploader: &mut Uploader) {
    let events = uploader.take_events();
    if let Some(listener) = listener {
        listener::dispatch(listener, events);
    }
}

/// Pulls the wallet feed (when the wallet is configured) and tells the listener when the wallet changed.
async fn wallet_sync(
    uploader: &Uploader,
    storage: &Storage,
    handoff: &Handoff,
    listener: Option<&dyn SdkListener>,
) -> Result<WalletSyncReport> {
    let Some(wallet) = uploader.setup().wallet.as_deref() else {
        return Err(Error::Wallet(WalletError::NotConfigured));
    };
    let holder = handoff.run(|ctx| Ok(ctx.identity().clone()))?;
    let report = super::wallet_feed::sync(&uploader.setup().request, storage, wallet, &holder).await;
    match &report {
        Ok(report) if report.changed => {
            if let Some(listener) = listener {
                wallet_changed(uploader, storage, listener);
            }
        }
        Ok(_) => {}
        Err(e) => tracing::info!(error = %e, "wallet not synced; keeping the coupons the device has"),
    }
    report
}

fn wallet_changed(uploader: &Uploader, storage: &Storage, listener: &dyn SdkListener) {
    let Some(wallet) = uploader.setup().wallet.as_deref() else { return };
    match wallet.coupons(storage, None) {
        Ok(coupons) => listener::dispatch(listener, vec![listener::SdkEvent::WalletChanged { coupons }]),
        Err(e) => tracing::warn!(error = %e, "the wallet could not be read to tell the app"),
    }
}

/// A scheduled policy fetch; a failure keeps the policy in force and is retried at the next one.
async fn background_refresh(uploader: &Uploader, storage: &Storage, changes: &Arc<ConsentChanges>) {
    if let Err(e) =
        remote_config::refresh(&uploader.setup().request, storage, changes, uploader.setup().proximity.as_deref()).await
    {
        tracing::info!(error = %e, "consent policy not refreshed; keeping the current one");
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
