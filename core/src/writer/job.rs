//! Work other domains hand the writer: it runs on the writer thread in order with the appends around it — what
//! was tracked before it is committed first, what is tracked after it is judged under its effect — without the
//! writer knowing what the work is. A consent change and a deletion request are jobs; a wallet redemption or a
//! visit will be too.

use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::storage::{Identity, Storage};

/// Session anchor of a fresh identity: its first event continues the session it was created with.
pub(crate) const NO_EVENT_YET: i64 = i64::MIN;

/// What a job may touch: the storage, and the identity the writer stamps on every message.
pub(crate) struct WriterContext<'a> {
    pub storage: &'a Storage,
    identity: &'a mut (Identity, i64),
    wiped: bool,
}

impl<'a> WriterContext<'a> {
    pub(super) fn new(storage: &'a Storage, identity: &'a mut (Identity, i64)) -> Self {
        WriterContext { storage, identity, wiped: false }
    }

    /// The identity in force now.
    pub fn identity(&self) -> &Identity {
        &self.identity.0
    }

    /// The job emptied the queue and rotated the identity (a deletion request): the writer drops what it still
    /// held in memory and stamps what comes next with `fresh`.
    pub fn wiped_and_replaced(&mut self, fresh: Identity) {
        *self.identity = (fresh, NO_EVENT_YET);
        self.wiped = true;
    }

    pub(super) fn wiped(&self) -> bool {
        self.wiped
    }
}

type Work = Box<dyn FnOnce(&mut WriterContext<'_>) + Send>;

pub(crate) struct Job {
    work: Work,
    /// Answers the waiting caller when the job cannot run (closed, storage unusable).
    refuse: Box<dyn FnOnce(Error) + Send>,
}

impl Job {
    /// A job whose result reaches the returned receiver, whether it runs or is refused.
    pub fn new<T: Send + 'static>(
        work: impl FnOnce(&mut WriterContext<'_>) -> Result<T> + Send + 'static,
    ) -> (Job, mpsc::Receiver<Result<T>>) {
        let (reply, done) = mpsc::channel();
        let refused = reply.clone();
        let job = Job {
            work: Box::new(move |ctx| drop(reply.send(work(ctx)))),
            refuse: Box::new(move |e| drop(refused.send(Err(e)))),
        };
        (job, done)
    }

    pub(super) fn run(self, ctx: &mut WriterContext<'_>) {
        (self.work)(ctx)
    }

    pub(super) fn refuse(self, error: Error) {
        (self.refuse)(error)
    }
}
