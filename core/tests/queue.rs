//! The event queue through the public API: validation at the edge, durability across restarts, identity and
//! sessions, the bounded hand-off, a locked database, and closing.

mod support;

use std::time::Duration;

use footfall_core::{Error, Event, Footfall, ManualClock, ValidationError};
use serde_json::json;
use support::*;

#[test]
fn bad_input_gets_a_typed_error_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = Footfall::open(local_config(dir.path())).unwrap();
    let err = |e: Event| sdk.track(e).unwrap_err();
    assert_eq!(err(Event::new("")), Error::InvalidInput(ValidationError::EmptyName));
    assert!(matches!(err(Event::new("x".repeat(201))), Error::InvalidInput(ValidationError::NameTooLong { .. })));
    assert!(matches!(
        err(Event::new("e").properties(json!([1, 2]))),
        Error::InvalidInput(ValidationError::NotAnObject(_))
    ));
    assert!(matches!(
        err(Event::new("e").purpose("Not Valid")),
        Error::InvalidInput(ValidationError::InvalidPurpose(_))
    ));
    assert!(matches!(
        sdk.track_json("e", "{not json", None),
        Err(Error::InvalidInput(ValidationError::InvalidJson(_)))
    ));
    assert!(matches!(sdk.identify("", json!({})), Err(Error::InvalidInput(ValidationError::EmptyUserId))));
    sdk.flush_to_disk().unwrap();
    let status = sdk.status().unwrap();
    assert_eq!((status.tracked, status.pending), (0, 0));
}

#[test]
fn tracked_events_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<_> = {
        let sdk = Footfall::open(local_config(dir.path())).unwrap();
        let ids = (0..50).map(|i| sdk.track(Event::new("viewed").properties(json!({"i": i}))).unwrap()).collect();
        sdk.close();
        ids
    };
    assert_eq!(ids.len(), 50);
    let status = footfall_core::read_status(dir.path()).unwrap();
    assert_eq!((status.pending, status.tracked), (50, 50));
    assert!(status.bytes_on_disk > 0);

    let server = FakeServer::accepting();
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    assert_eq!(sdk.flush().unwrap().delivered, 50);
    let sent: Vec<_> = server.delivered().iter().map(|m| m["messageId"].as_str().unwrap().to_string()).collect();
    assert_eq!(sent, ids.iter().map(|i| i.to_string()).collect::<Vec<_>>());
}

#[test]
fn identify_and_reset_stamp_the_identity_in_force_at_track_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    sdk.track(Event::new("before")).unwrap();
    sdk.identify("shopper-42", json!({"tier": "gold"})).unwrap();
    sdk.track(Event::new("as_shopper")).unwrap();
    sdk.reset().unwrap();
    sdk.track(Event::new("after_reset")).unwrap();
    sdk.flush().unwrap();
    let m = server.delivered();
    assert_eq!(m.len(), 4);
    assert!(m[0].get("userId").is_none());
    assert_eq!(
        (m[1]["type"].as_str(), m[1]["userId"].as_str(), m[1]["traits"]["tier"].as_str()),
        (Some("identify"), Some("shopper-42"), Some("gold"))
    );
    assert_eq!(m[2]["userId"], "shopper-42");
    assert_eq!(
        m[0]["anonymousId"], m[2]["anonymousId"],
        "identify keeps the anonymous id: online and in-store link up"
    );
    assert!(m[3].get("userId").is_none());
    assert_ne!(m[3]["anonymousId"], m[0]["anonymousId"], "reset rotates the anonymous id");
    assert_ne!(m[3]["context"]["footfall"]["sessionId"], m[0]["context"]["footfall"]["sessionId"]);
}

#[test]
fn identity_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    {
        let sdk = open(dir.path(), &server, &ManualClock::new(T0));
        sdk.identify("shopper-7", json!({})).unwrap();
        sdk.close();
    }
    let sdk = open(dir.path(), &server, &ManualClock::new(T0 + 1000));
    sdk.track(Event::new("later")).unwrap();
    sdk.flush().unwrap();
    let m = server.delivered();
    assert_eq!(m[1]["userId"], "shopper-7");
    assert_eq!(m[0]["anonymousId"], m[1]["anonymousId"]);
    assert_eq!(m[0]["context"]["footfall"]["sessionId"], m[1]["context"]["footfall"]["sessionId"]);
}

#[test]
fn a_reset_is_saved_by_its_own_commit_not_left_for_the_next_event() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    sdk.identify("shopper-7", json!({})).unwrap();
    sdk.flush_to_disk().unwrap();
    let signed_in = saved_anonymous_id(dir.path());
    sdk.reset().unwrap();
    // The shopper signed out and nothing is tracked after it: a consent change is the next thing the writer
    // does, and it commits what came before it without adding an event or a barrier of its own.
    sdk.grant(&["analytics"], footfall_core::consent::record::Method::Api).unwrap();
    assert_ne!(
        saved_anonymous_id(dir.path()),
        signed_in,
        "a process killed now would start with the signed-out shopper's ids"
    );
}

/// The anonymous id the writer last saved, read from the database file as the next process would.
fn saved_anonymous_id(dir: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(dir.join(footfall_core::storage::DB_FILE)).unwrap();
    conn.query_row("SELECT value FROM meta WHERE key = 'anonymous_id'", [], |r| r.get(0)).unwrap()
}

#[test]
fn a_new_session_starts_after_thirty_idle_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let clock = ManualClock::new(T0);
    let sdk = open(dir.path(), &server, &clock);
    sdk.track(Event::new("a")).unwrap();
    clock.advance_ms(29 * 60_000);
    sdk.track(Event::new("b")).unwrap();
    clock.advance_ms(31 * 60_000);
    sdk.track(Event::new("c")).unwrap();
    sdk.flush().unwrap();
    let session = |i: usize| server.delivered()[i]["context"]["footfall"]["sessionId"].as_str().unwrap().to_string();
    assert_eq!(session(0), session(1));
    assert_ne!(session(1), session(2));
}

#[test]
fn a_full_hand_off_refuses_with_a_typed_error_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = local_config(dir.path());
    config.handoff.max_bytes = 1_000;
    let sdk = Footfall::open(config).unwrap();
    let big = Event::new("big").properties(json!({"blob": "x".repeat(2_000)}));
    assert_eq!(sdk.track(big).unwrap_err(), Error::QueueFull);
    sdk.track(Event::new("small")).unwrap();
    sdk.flush_to_disk().unwrap();
    let status = sdk.status().unwrap();
    assert_eq!((status.queue_full_rejections, status.pending), (1, 1));
}

#[test]
fn a_locked_database_delays_writes_but_loses_nothing_accepted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let sdk = Footfall::open(local_config(dir.path())).unwrap();
        sdk.track(Event::new("first")).unwrap();
        sdk.close();
    }
    // Another process holds the write lock: the writer must wait, the hand-off fills, track() refuses at once.
    let locker = rusqlite_lock(dir.path());
    let mut config = local_config(dir.path());
    config.handoff.max_events = 8;
    let sdk = Footfall::open(config).unwrap();
    let mut accepted = 0;
    let mut refused = false;
    for i in 0..100_000 {
        match sdk.track(Event::new("queued").properties(json!({"i": i}))) {
            Ok(_) => accepted += 1,
            Err(Error::QueueFull) => {
                refused = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused, "the bounded hand-off must refuse instead of growing");
    drop(locker);
    sdk.flush_to_disk().unwrap();
    let status = sdk.status().unwrap();
    assert_eq!(status.pending, 1 + accepted);
    assert_eq!(status.storage_recoveries, 0, "a locked file is never treated as corrupt");
    assert!(status.queue_full_rejections >= 1);
}

fn rusqlite_lock(dir: &std::path::Path) -> impl Drop {
    struct Lock(std::process::Child);
    impl Drop for Lock {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    // A separate process (sqlite3 may be absent, so python's sqlite3 module) holds an exclusive transaction.
    let db = dir.join("footfall.db");
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3,sys; c=sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()")
        .arg(&db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is needed for the lock test");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "locked");
    Lock(child)
}

#[test]
fn close_is_idempotent_and_use_after_close_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let sdk = open(dir.path(), &server, &ManualClock::new(T0));
    sdk.track(Event::new("last_words")).unwrap();
    sdk.close();
    sdk.close();
    assert_eq!(sdk.track(Event::new("too_late")).unwrap_err(), Error::Closed);
    assert_eq!(sdk.flush().unwrap_err(), Error::Closed);
    assert_eq!(sdk.status().unwrap_err(), Error::Closed);
    assert_eq!(footfall_core::read_status(dir.path()).unwrap().pending, 1, "close drains the writer");
}

#[test]
fn storage_limits_evict_oldest_and_count_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let mut config = manual_config(dir.path());
    config.limits.max_events = 10;
    let sdk = open_with(config, &server, &ManualClock::new(T0));
    for i in 0..25 {
        sdk.track(Event::new(format!("e{i}"))).unwrap();
    }
    sdk.flush().unwrap();
    let status = sdk.status().unwrap();
    assert_eq!(status.evicted.max_events, 15);
    assert_eq!(server.delivered_names(), (15..25).map(|i| format!("e{i}")).collect::<Vec<_>>());
}

#[test]
fn undelivered_events_expire_into_dead_letters_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, _| ok(503, ""));
    let clock = ManualClock::new(T0);
    let mut config = manual_config(dir.path());
    config.limits.max_age = Duration::from_secs(3600);
    let sdk = open_with(config, &server, &clock);
    sdk.track(Event::new("stale")).unwrap();
    sdk.flush().unwrap();
    clock.advance_ms(3_600_001);
    let report = sdk.flush().unwrap();
    assert_eq!(report.remaining, 0);
    let dead = sdk.dead_letters(5).unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.starts_with("expired"));
    assert_eq!(sdk.status().unwrap().evicted.max_age, 1);
}

#[test]
fn a_data_directory_that_cannot_be_used_is_reported_by_track_not_swallowed() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("a-file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let sdk = Footfall::open(local_config(&not_a_dir)).unwrap();
    // The writer opens storage off the caller's thread; once it has failed, every call says why.
    let err = sdk.flush_to_disk().unwrap_err();
    assert!(matches!(err, Error::Config(ref m) if m.contains("not a directory")), "{err}");
    let err = sdk.track(Event::new("lost?")).unwrap_err();
    assert!(matches!(err, Error::Config(ref m) if m.contains("not a directory")), "{err}");
    assert!(matches!(sdk.status(), Err(Error::Config(_))));
    sdk.close();
}

#[test]
fn a_batch_stores_the_caller_stamped_ids_in_order_and_waits_for_room() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let clock = ManualClock::new(T0);
    let mut config = manual_config(dir.path());
    config.handoff.max_events = 2; // smaller than the batch: the batch waits for the writer, nothing is refused
    let sdk = open_with(config, &server, &clock);
    let ids: Vec<uuid::Uuid> = (0..10).map(|_| uuid::Uuid::now_v7()).collect();
    let batch = ids.iter().enumerate().map(|(i, id)| (*id, T0 - 1_000 + i as i64, Event::new(format!("e{i}"))));
    let report = sdk.track_batch(batch, 3, 2).unwrap();
    assert_eq!((report.accepted, report.consent_refused, report.invalid, report.queue_full), (10, 0, 0, 0));
    sdk.flush().unwrap();
    let delivered = server.delivered();
    let got: Vec<String> = delivered.iter().map(|m| m["messageId"].as_str().unwrap().to_string()).collect();
    assert_eq!(got, ids.iter().map(|id| id.to_string()).collect::<Vec<_>>(), "the stamped ids, in order");
    assert_eq!(delivered[0]["event"], "e0");
    assert_eq!(delivered[0]["timestamp"], "2026-11-18T11:06:39.000Z", "the stamped time");
    let status = sdk.status().unwrap();
    assert_eq!((status.queue_full_rejections, status.consent_refused), (3, 2), "the caller's refusals, counted");
}
