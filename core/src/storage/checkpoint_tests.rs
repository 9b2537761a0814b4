use std::sync::atomic::Ordering;

use uuid::Uuid;

use super::*;
use crate::crypto::Encryption;
use crate::event::{MessageKind, PendingMessage};
use crate::storage::{Identity, Storage, DB_FILE};

const PAGE: u64 = 4096;
/// A WAL frame is its page and a 24-byte header; the file starts with a 32-byte header.
const FRAME: u64 = PAGE + 24;
const WAL_HEADER: u64 = 32;

fn identity() -> Identity {
    Identity { anonymous_id: "anon".into(), user_id: None, session_id: "s1".into() }
}

/// `rows` messages of about one page each, so a commit adds a known number of WAL frames.
fn page_sized_rows(rows: usize) -> Vec<(PendingMessage, Identity)> {
    (0..rows)
        .map(|i| {
            let payload = format!(r#"{{"i":{i},"pad":"{}"}}"#, "x".repeat(3_000));
            let message = PendingMessage::new(
                Uuid::now_v7(),
                MessageKind::Track,
                "page_sized",
                &payload,
                "analytics",
                1_000,
                None,
            );
            (message, identity())
        })
        .collect()
}

fn len(storage: &Storage, suffix: &str) -> u64 {
    std::fs::metadata(format!("{}{suffix}", storage.path().display())).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn the_policy_asks_once_per_interval_and_checkpoints_on_the_writer_at_the_bound() {
    let mut policy = Policy::new(100, 400);
    assert_eq!(policy.after_commit(99, false), Step::Nothing);
    assert_eq!(policy.after_commit(100, false), Step::Request);
    assert_eq!(policy.after_commit(150, false), Step::Nothing, "asked already for these frames");
    assert_eq!(policy.after_commit(200, false), Step::Request);
    assert_eq!(policy.after_commit(399, false), Step::Request);
    assert_eq!(policy.after_commit(400, false), Step::CheckpointHere);
    assert_eq!(policy.after_commit(30, false), Step::Nothing, "the WAL was rewound: counting starts again");
    assert_eq!(policy.after_commit(100, false), Step::Request);
    assert_eq!(policy.after_commit(60, false), Step::Nothing, "rewound by a checkpoint the writer did not ask for");
    assert_eq!(policy.after_commit(160, false), Step::Request);
    // Rewound to as many frames as at the last request: only the checkpointer's word tells.
    assert_eq!(policy.after_commit(160, false), Step::Nothing);
    assert_eq!(policy.after_commit(160, true), Step::Request);
}

#[test]
fn commits_below_the_interval_ask_for_nothing_and_stopping_ends_the_thread() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    storage.append(&page_sized_rows(20), &(identity(), 1_000)).unwrap();
    let (counts, running) = storage.checkpoint_counts();
    assert!(running);
    // Nothing asked, so the thread stayed asleep in `recv`: no timer wakes it.
    assert_eq!(counts.requested.load(Ordering::Relaxed), 0);
    assert_eq!(counts.by_checkpointer.load(Ordering::Relaxed), 0);

    storage.stop_checkpoints();
    assert!(!storage.checkpoint_counts().1, "the checkpointer thread has ended");
    storage.stop_checkpoints();
    // The writer's connection checkpoints itself from here on, and keeps working.
    storage.append(&page_sized_rows(20), &(identity(), 1_000)).unwrap();
    assert_eq!(storage.queued().unwrap(), 40);
}

#[test]
fn a_requested_checkpoint_is_copied_into_the_database_by_the_time_stop_returns() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open_with(dir.path(), Policy::new(50, 10_000), &Encryption::default()).unwrap();
    let before = len(&storage, "");
    storage.append(&page_sized_rows(80), &(identity(), 1_000)).unwrap();
    let (counts, _) = storage.checkpoint_counts();
    assert_eq!(counts.requested.load(Ordering::Relaxed), 1);
    assert_eq!(len(&storage, ""), before, "the commit itself copies nothing into the database");

    // Stopping lets the thread finish what was asked before it ends.
    storage.stop_checkpoints();
    assert_eq!(counts.by_checkpointer.load(Ordering::Relaxed), 1);
    assert_eq!(counts.by_writer.load(Ordering::Relaxed), 0);
    assert!(len(&storage, "") >= before + 80 * PAGE, "the rows were copied into {DB_FILE}");
}

#[test]
fn the_wal_stays_under_its_bound_however_many_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (request_every, max_pages) = (50, 400);
    let storage =
        Storage::open_with(dir.path(), Policy::new(request_every, max_pages), &Encryption::default()).unwrap();
    let rows_per_commit = 40;
    // A commit adds its rows' pages and a few more (the tree's interior, meta, counters, sqlite_sequence). One
    // commit more of slack: a rewind can miss once if the checkpointer holds a read lock at that instant.
    let frames_per_commit = rows_per_commit as u64 + 20;
    let bound = WAL_HEADER + (max_pages as u64 + 2 * frames_per_commit) * FRAME;
    let commits = 100;
    let mut largest = 0;
    for _ in 0..commits {
        storage.append(&page_sized_rows(rows_per_commit), &(identity(), 1_000)).unwrap();
        let wal = len(&storage, "-wal");
        largest = largest.max(wal);
        assert!(wal <= bound, "WAL {wal} bytes after a commit, bound {bound}");
    }
    // Over five times the bound went through the WAL: it was rewound, not just left to grow.
    assert!(commits as u64 * rows_per_commit as u64 * PAGE > 5 * bound);
    assert!(largest > (max_pages as u64 / 2) * FRAME, "the WAL did fill up to near its bound ({largest} bytes)");
    assert_eq!(storage.queued().unwrap(), (commits * rows_per_commit) as u64);
}

#[test]
fn the_files_as_a_killed_app_leaves_them_mid_checkpoint_hold_every_committed_row() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open_with(dir.path(), Policy::new(50, 10_000), &Encryption::default()).unwrap();
    let mut committed = 0;
    let killed = tempfile::tempdir().unwrap();
    for round in 0..6 {
        storage.append(&page_sized_rows(60), &(identity(), 1_000)).unwrap();
        committed += 60;
        // What SIGKILL leaves is what the files hold at that instant (the page cache is the kernel's): copy them while
        // the checkpointer may be copying frames into the database. The WAL first: a checkpoint only writes pages the
        // WAL copy already holds, and only this thread's next commit could rewind the WAL.
        let snapshot = killed.path().join(format!("kill-{round}"));
        std::fs::create_dir_all(&snapshot).unwrap();
        for suffix in ["-wal", ""] {
            let from = format!("{}{suffix}", storage.path().display());
            if std::path::Path::new(&from).exists() {
                std::fs::copy(&from, snapshot.join(format!("{DB_FILE}{suffix}"))).unwrap();
            }
        }
        // The key file is written once, at creation: a killed app leaves it as it was.
        std::fs::copy(dir.path().join(crate::crypto::KEY_FILE), snapshot.join(crate::crypto::KEY_FILE)).unwrap();
        let reopened = Storage::open(&snapshot).unwrap();
        assert_eq!(reopened.queued().unwrap(), committed as u64, "after kill {round}");
    }
    let requested = storage.checkpoint_counts().0.requested.load(Ordering::Relaxed);
    assert!(requested >= 5, "{requested} checkpoints requested");
}
