//! The storage opens on the writer thread (no disk I/O on the app's thread); everyone else waits for it here.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::storage::Storage;

enum State {
    Opening,
    Ready(Arc<Storage>),
    Failed(Error),
    Closed,
}

pub struct StorageCell {
    state: Mutex<State>,
    changed: Condvar,
}

impl Default for StorageCell {
    fn default() -> Self {
        StorageCell { state: Mutex::new(State::Opening), changed: Condvar::new() }
    }
}

impl StorageCell {
    pub fn ready(&self, storage: Arc<Storage>) {
        self.set(State::Ready(storage));
    }

    pub fn fail(&self, error: Error) {
        self.set(State::Failed(error));
    }

    pub fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*state, State::Opening) {
            *state = State::Closed;
            self.changed.notify_all();
        }
    }

    fn set(&self, new: State) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = new;
        self.changed.notify_all();
    }

    /// The storage once it is open; `timeout` bounds the wait while the file is locked or still opening.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<Arc<Storage>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            match &*state {
                State::Ready(storage) => return Ok(storage.clone()),
                State::Failed(e) => return Err(e.clone()),
                State::Closed => return Err(Error::Closed),
                State::Opening => {}
            }
            state = match deadline {
                None => self.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Err(Error::Storage {
                            message: "the database is not open yet (locked by another process?)".into(),
                            retryable: true,
                        });
                    }
                    self.changed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
    }
}
