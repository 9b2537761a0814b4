//! WAL checkpoints off the writer's thread. SQLite's auto-checkpoint runs inside the commit that crosses 1 000
//! pages: two `fsync`s and the copy of every page, on the thread that commits — about a third of the writer's time
//! in `footfall bench`. Here the writer's connection only *asks* (its WAL hook, after a commit added
//! [`REQUEST_EVERY_PAGES`] frames), and a second connection on its own thread runs PASSIVE checkpoints, which never
//! block a commit. Nothing runs on a timer: with nothing written, nothing is asked and the thread sleeps in `recv`.
//!
//! A PASSIVE checkpoint copies the frames committed before it started; while the writer keeps committing, the WAL
//! never becomes fully copied at the start of a write, so SQLite never rewinds it and the file would grow for as
//! long as the burst lasts. At [`MAX_WAL_PAGES`] the writer's hook therefore waits for a running checkpoint and
//! copies the rest itself; the next commit then rewinds the WAL, and `journal_size_limit` truncates the file.
//! Durability is SQLite's: WAL with `synchronous=NORMAL` on both connections (the WAL is synced before a
//! checkpoint copies it, the database after).

use std::ffi::c_int;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, OpenFlags};

/// New WAL frames (pages) between two requests: SQLite's own auto-checkpoint interval.
pub const REQUEST_EVERY_PAGES: c_int = 1_000;
/// Past this many frames the writer finishes the checkpoint itself, so the WAL is rewound (32 MB at 4 KB pages;
/// reached only by a burst of some 190 000 events with no pause for the checkpointer to catch up).
pub const MAX_WAL_PAGES: c_int = 8 * REQUEST_EVERY_PAGES;
/// What a rewound WAL is truncated to (SQLite keeps the file at its largest otherwise).
pub const JOURNAL_SIZE_LIMIT_BYTES: i64 = 4 * 1024 * 1024;
/// What the writer's connection goes back to once the checkpointer stops (SQLite's default).
const AUTOCHECKPOINT_PAGES: i64 = 1_000;

/// What the writer's WAL hook does after a commit that leaves `pages` frames in the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Nothing,
    /// Wake the checkpointer.
    Request,
    /// Wait for the checkpointer, then checkpoint on the writer's connection.
    CheckpointHere,
}

/// Decides the hook's [`Step`] from the WAL's frame count alone (no clock, no I/O).
#[derive(Debug)]
pub struct Policy {
    request_every: c_int,
    max_pages: c_int,
    /// The WAL's frame count at the last request.
    requested_at: c_int,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new(REQUEST_EVERY_PAGES, MAX_WAL_PAGES)
    }
}

impl Policy {
    /// Tests use small numbers to reach the bound with a few megabytes.
    pub fn new(request_every: c_int, max_pages: c_int) -> Self {
        Policy { request_every, max_pages, requested_at: 0 }
    }

    /// `copied_all`: a checkpoint since the last commit copied the whole WAL, so this commit's write rewound it (a
    /// smaller count says so too, but a rewound WAL can hold as many frames as it did at the last request).
    pub fn after_commit(&mut self, pages: c_int, copied_all: bool) -> Step {
        if copied_all || pages < self.requested_at {
            self.requested_at = 0;
        }
        if pages >= self.max_pages {
            self.requested_at = 0;
            Step::CheckpointHere
        } else if pages - self.requested_at >= self.request_every {
            self.requested_at = pages;
            Step::Request
        } else {
            Step::Nothing
        }
    }
}

/// How many checkpoints ran where (read by tests and diagnostics).
#[derive(Debug, Default)]
pub struct CheckpointCounts {
    pub requested: AtomicU64,
    pub by_checkpointer: AtomicU64,
    pub by_writer: AtomicU64,
    /// Set by a checkpoint that found nothing left to copy, taken by the writer's hook (see [`Policy::after_commit`]).
    copied_all: AtomicBool,
}

/// The checkpointer thread and the hook that feeds it. [`Checkpoints::stop`] (or drop) ends the thread.
pub struct Checkpoints {
    request: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    pub counts: Arc<CheckpointCounts>,
}

impl Checkpoints {
    /// Opens the checkpointer's connection and hooks `writer` to it. If the second connection cannot be opened the
    /// writer keeps SQLite's auto-checkpoint: slower, never unbounded.
    pub fn start(path: &Path, writer: &mut Connection, mut policy: Policy) -> rusqlite::Result<Checkpoints> {
        writer.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES)?;
        let counts = Arc::new(CheckpointCounts::default());
        let own = match open_checkpointer(path) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "no checkpointer connection; the writer checkpoints itself");
                return Ok(Checkpoints { request: None, thread: None, counts });
            }
        };
        // Held while a checkpoint runs, so the writer's own checkpoint starts after the checkpointer's ends.
        let running = Arc::new(Mutex::new(()));
        // One pending request is enough: a checkpoint copies everything committed before it starts.
        let (request, requests) = mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new().name("footfall-checkpoint".into()).spawn({
            let (running, counts) = (running.clone(), counts.clone());
            move || checkpointer(own, requests, &running, &counts)
        });
        let thread = match spawned {
            Ok(thread) => thread,
            Err(e) => {
                tracing::warn!(error = %e, "no checkpointer thread; the writer checkpoints itself");
                return Ok(Checkpoints { request: None, thread: None, counts });
            }
        };
        let hook_request = request.clone();
        let hook_counts = counts.clone();
        writer.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            match policy.after_commit(pages, hook_counts.copied_all.swap(false, Ordering::Relaxed)) {
                Step::Nothing => {}
                Step::Request => {
                    hook_counts.requested.fetch_add(1, Ordering::Relaxed);
                    let _ = hook_request.try_send(());
                }
                Step::CheckpointHere => {
                    let _running = running.lock().unwrap_or_else(|p| p.into_inner());
                    // The commit is already durable; a failed checkpoint is retried at the next one.
                    if wal.checkpoint_v2(CheckpointMode::PASSIVE).is_ok() {
                        hook_counts.by_writer.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Ok(())
        }))?;
        Ok(Checkpoints { request: Some(request), thread: Some(thread), counts })
    }

    /// Unhooks `writer` (back to SQLite's auto-checkpoint) and ends the thread after its running checkpoint.
    pub fn stop(&mut self, writer: &mut Connection) {
        if self.request.is_none() && self.thread.is_none() {
            return;
        }
        let _ = writer.wal_hook(None::<fn(&mut Wal, c_int) -> rusqlite::Result<()>>);
        let _ = writer.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES);
        self.end_thread();
    }

    fn end_thread(&mut self) {
        // The hook's copy of the sender went with the hook; dropping this one ends the thread's `recv`.
        self.request = None;
        if let Some(thread) = self.thread.take() {
            crate::threads::join_unless_current(thread);
        }
    }

    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

fn open_checkpointer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    // The same syncs as the writer's connection: the WAL before copying it, the database after.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

fn checkpointer(conn: Connection, requests: Receiver<()>, running: &Mutex<()>, counts: &CheckpointCounts) {
    while requests.recv().is_ok() {
        let _running = running.lock().unwrap_or_else(|p| p.into_inner());
        match conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
            Ok((log, copied)) => {
                counts.by_checkpointer.fetch_add(1, Ordering::Relaxed);
                // Wrong only if a commit landed during the checkpoint: then the writer asks one interval early.
                if log >= 0 && copied == log {
                    counts.copied_all.store(true, Ordering::Relaxed);
                }
            }
            Err(e) => tracing::debug!(error = %e, "background checkpoint failed; the next request retries"),
        }
    }
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
