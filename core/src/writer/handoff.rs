//! The bounded hand-off between the app's threads and the writer. `track()` never blocks on it: when either the
//! message count or the byte budget is exhausted the caller gets [`Error::QueueFull`] and the rejection is counted.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;

use super::job::{Job, WriterContext};
use super::recycle::BufferPool;
use crate::error::{Error, Result};
use crate::event::PendingMessage;

pub(crate) enum Command {
    Append(PendingMessage),
    /// Forget the user: new anonymous id, no user id, new session.
    Reset {
        anonymous_id: String,
    },
    /// Sign the shopper in without an identify message (its purpose is denied): the identity still names them.
    SignIn {
        user_id: String,
    },
    /// Answered once everything sent before it is committed.
    Barrier(mpsc::Sender<Result<()>>),
    /// Another domain's work (a consent change, a deletion request), run in order with the appends around it.
    Job(Job),
    Shutdown,
}

/// State shared by the hand-off's senders and the writer.
#[derive(Default)]
pub(crate) struct Shared {
    /// Bytes of messages accepted but not yet committed.
    pub in_memory_bytes: AtomicUsize,
    /// Rejections not yet written to the persistent counters.
    pub queue_full: AtomicU64,
    /// `track()` refusals for a denied purpose not yet written to the persistent counters.
    pub consent_refused: AtomicU64,
    pub closed: AtomicBool,
    /// The database could not be opened at all: `track()` says so instead of accepting what cannot be kept.
    pub storage_failed: AtomicBool,
    /// Message buffers the writer hands back for `track()` to reuse.
    pub(crate) buffers: BufferPool,
}

pub struct Handoff {
    tx: SyncSender<Command>,
    pub(crate) shared: Arc<Shared>,
    max_bytes: usize,
}

impl Handoff {
    pub(crate) fn new(max_events: usize, max_bytes: usize) -> (Handoff, mpsc::Receiver<Command>, Arc<Shared>) {
        let (tx, rx) = mpsc::sync_channel(max_events.max(1));
        let shared = Arc::new(Shared::default());
        (Handoff { tx, shared: shared.clone(), max_bytes }, rx, shared)
    }

    /// Hands a validated message to the writer without waiting.
    pub(crate) fn send(&self, message: PendingMessage) -> Result<()> {
        self.offer(message).map_err(|(e, _)| e)
    }

    /// [`Self::send`], handing a message refused for room (`QueueFull`) back, so a caller that waits for room
    /// retries it without having kept a copy (boxed: only a refusal pays for it).
    pub(crate) fn offer(
        &self,
        message: PendingMessage,
    ) -> std::result::Result<(), (Error, Option<Box<PendingMessage>>)> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err((Error::Closed, None));
        }
        let size = message.size();
        let before = self.shared.in_memory_bytes.fetch_add(size, Ordering::AcqRel);
        if before + size > self.max_bytes {
            return Err((self.reject(size), Some(Box::new(message))));
        }
        match self.tx.try_send(Command::Append(message)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(Command::Append(message))) => Err((self.reject(size), Some(Box::new(message)))),
            Err(TrySendError::Full(_)) => Err((self.reject(size), None)),
            Err(TrySendError::Disconnected(_)) => {
                self.shared.in_memory_bytes.fetch_sub(size, Ordering::AcqRel);
                Err((Error::Closed, None))
            }
        }
    }

    fn reject(&self, size: usize) -> Error {
        self.shared.in_memory_bytes.fetch_sub(size, Ordering::AcqRel);
        self.shared.queue_full.fetch_add(1, Ordering::Relaxed);
        Error::QueueFull
    }

    /// Sends a control command; these may wait for room because losing them would be wrong.
    pub(crate) fn send_control(&self, command: Command) -> Result<()> {
        if self.shared.closed.load(Ordering::Acquire) && !matches!(command, Command::Shutdown) {
            return Err(Error::Closed);
        }
        self.tx.send(command).map_err(|_| Error::Closed)
    }

    /// Runs `work` on the writer thread after everything handed off before it; returns its result.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut WriterContext<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (job, done) = Job::new(work);
        self.send_control(Command::Job(job))?;
        done.recv().map_err(|_| Error::Closed)?
    }

    /// Returns once everything handed off before this call is durable on disk.
    pub fn barrier(&self) -> Result<()> {
        let (reply, done) = mpsc::channel();
        self.send_control(Command::Barrier(reply))?;
        done.recv().map_err(|_| Error::Closed)?
    }
}
