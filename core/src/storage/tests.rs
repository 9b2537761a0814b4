use std::time::Duration;

use rusqlite::Connection;
use uuid::Uuid;

use super::schema::{LATEST, MIGRATIONS};
use super::*;
use crate::config::StorageLimits;
use crate::event::{MessageKind, PendingMessage};

fn message(name: &str, ts: i64) -> PendingMessage {
    message_for(name, "analytics", ts)
}

fn message_for(name: &str, purpose: &str, ts: i64) -> PendingMessage {
    PendingMessage::new(Uuid::now_v7(), MessageKind::Track, name, r#"{"sku":"1"}"#, purpose, ts, None)
}

fn identity() -> Identity {
    Identity { anonymous_id: "anon".into(), user_id: None, session_id: "s1".into() }
}

fn append(storage: &Storage, names: &[&str], ts: i64) {
    let rows: Vec<_> = names.iter().map(|n| (message(n, ts), identity())).collect();
    storage.append(&rows, &(identity(), ts)).unwrap();
}

fn names_in_queue(storage: &Storage) -> Vec<String> {
    storage.lease(i64::MAX - 1, 0, 1000, |_| true).unwrap().into_iter().map(|m| m.name).collect()
}

#[test]
fn migrates_from_every_earlier_version_keeping_data() {
    for from in 0..LATEST {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            for (i, sql) in MIGRATIONS.iter().enumerate().take(from as usize) {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", i as i64 + 1).unwrap();
            }
            if from >= 1 {
                conn.execute_batch(
                    "INSERT INTO contexts(id, anonymous_id, session_id) VALUES (1, 'a', 's');
                     INSERT INTO events(id, kind, name, payload, purpose, ts, ctx, size)
                     VALUES (x'00', 0, 'kept', '{}', 'analytics', 1, 1, 10);",
                )
                .unwrap();
            }
        }
        let storage = Storage::open(dir.path()).unwrap();
        let version: i64 = storage.lock().conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, LATEST, "from v{from}");
        if from >= 1 {
            assert_eq!(names_in_queue(&storage), vec!["kept"], "data survives migration from v{from}");
        }
        assert_eq!(storage.counters().unwrap().get("storage_recoveries"), None);
    }
}

#[test]
fn a_new_file_and_a_reopened_one_both_commit_in_wal_with_synchronous_normal() {
    // A new file is made with synchronous=OFF (no fsyncs while nothing is in it): what it commits after must
    // not inherit that.
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let storage = Storage::open(dir.path()).unwrap();
        let guard = storage.lock();
        let synchronous: i64 = guard.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        let journal: String = guard.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!((synchronous, journal.as_str()), (1, "wal"), "1 = NORMAL");
    }
}

#[test]
fn garbage_file_is_moved_aside_recreated_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DB_FILE), b"this is not a database, it is a shopping list".repeat(200)).unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    append(&storage, &["after_recovery"], 1);
    assert_eq!(names_in_queue(&storage), vec!["after_recovery"]);
    assert_eq!(storage.counters().unwrap()["storage_recoveries"], 1);
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("footfall.db.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file is kept for diagnosis: {aside:?}");
}

#[test]
fn damaged_pages_are_detected_and_recovered() {
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = Storage::open(dir.path()).unwrap();
        let names: Vec<String> = (0..2000).map(|i| format!("event_{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        append(&storage, &refs, 1);
        storage.lock().conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    }
    let path = dir.path().join(DB_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 16 * 4096);
    for b in &mut bytes[8 * 4096..12 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, bytes).unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(storage.counters().unwrap()["storage_recoveries"], 1);
    assert_eq!(storage.queued().unwrap(), 0);
}

#[test]
fn schema_from_a_newer_sdk_is_set_aside_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.pragma_update(None, "user_version", LATEST + 5).unwrap();
    }
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(storage.counters().unwrap()["storage_recoveries"], 1);
}

#[test]
fn a_locked_file_is_retryable_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = Storage::open(dir.path()).unwrap();
        append(&storage, &["precious"], 1);
    }
    let locker = Connection::open(dir.path().join(DB_FILE)).unwrap();
    locker.execute_batch("PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;").unwrap();
    let err = Storage::open(dir.path()).err().expect("locked");
    assert!(matches!(err, crate::Error::Storage { retryable: true, .. }), "{err}");
    locker.execute_batch("COMMIT").unwrap();
    drop(locker);
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(names_in_queue(&storage), vec!["precious"]);
    assert_eq!(storage.counters().unwrap().get("storage_recoveries"), None);
}

#[test]
fn evicts_oldest_first_by_count_and_bytes_and_dead_letters_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let day = 86_400_000;
    append(&storage, &["ancient"], 0);
    append(&storage, &["a", "b", "c", "d", "e"], 40 * day);
    let limits = StorageLimits {
        max_events: 3,
        max_bytes: u64::MAX,
        max_age: Duration::from_secs(30 * 86_400),
        max_dead_letters: 10,
    };
    let ev = storage.enforce_limits(&limits, 40 * day).unwrap();
    assert_eq!((ev.max_age, ev.max_events, ev.max_bytes), (1, 2, 0));
    assert_eq!(names_in_queue(&storage), vec!["c", "d", "e"]);
    let dead = storage.dead_letters(10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].name.as_str(), dead[0].status), ("ancient", None));
    assert!(dead[0].reason.contains("max_age"));

    let one = message("x", 0).size() as u64;
    let limits = StorageLimits { max_bytes: one, ..limits };
    let ev = storage.enforce_limits(&limits, 40 * day).unwrap();
    assert_eq!(ev.max_bytes, 2);
    assert_eq!(names_in_queue(&storage), vec!["e"]);
    let counters = storage.counters().unwrap();
    assert_eq!((counters["evicted_max_age"], counters["evicted_max_events"], counters["evicted_max_bytes"]), (1, 2, 2));
}

#[test]
fn leases_hide_rows_until_released_or_expired() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    append(&storage, &["a", "b", "c"], 1);
    let first = storage.lease(100, 200, 2, |_| true).unwrap();
    assert_eq!(first.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    let counts = storage.queue_counts(100).unwrap();
    assert_eq!((counts.pending, counts.in_flight), (1, 2));
    assert_eq!(storage.lease(150, 300, 10, |_| true).unwrap().len(), 1, "only c is free");
    assert_eq!(storage.lease(250, 300, 10, |_| true).unwrap().len(), 2, "a and b's lease expired at 200");
    storage.release_all().unwrap();
    assert_eq!(storage.queue_counts(250).unwrap().in_flight, 0);
    let seqs: Vec<i64> = first.iter().map(|m| m.seq).collect();
    assert_eq!(storage.delete_delivered(&seqs, 0).unwrap(), 2);
    assert_eq!(storage.delete_delivered(&seqs, 0).unwrap(), 0, "deleting twice is a no-op");
    assert_eq!(names_in_queue(&storage), vec!["c"]);
}

#[test]
fn sequence_never_goes_back_even_after_the_queue_empties() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    append(&storage, &["a", "b"], 1);
    let leased = storage.lease(1, 2, 10, |_| true).unwrap();
    let last = leased.last().unwrap().seq;
    storage.delete_delivered(&leased.iter().map(|m| m.seq).collect::<Vec<_>>(), 0).unwrap();
    drop(storage);
    let storage = Storage::open(dir.path()).unwrap();
    append(&storage, &["c"], 1);
    assert!(storage.lease(1, 2, 10, |_| true).unwrap()[0].seq > last);
}

mod consent_log {
    use std::collections::BTreeMap;

    use super::*;
    use crate::consent::purpose::Jurisdiction;
    use crate::consent::record::{verify_chain, ConsentRecord, Method, NewRecord, RecordKind};

    fn decision(id: &str, purpose: &str, granted: bool) -> NewRecord {
        NewRecord {
            record_id: id.into(),
            kind: RecordKind::Decision,
            subject_id: "anon".into(),
            timestamp_ms: 1_795_000_000_000,
            policy_version: 1,
            notice_hash: String::new(),
            decisions: BTreeMap::from([(purpose.to_string(), granted)]),
            method: Method::Settings,
            jurisdiction: Jurisdiction::Gdpr,
            app_version: "1".into(),
        }
    }

    fn append(storage: &Storage, record: NewRecord) -> ConsentRecord {
        storage.write(|tx| tx.append_consent(record)).unwrap()
    }

    fn parsed(storage: &Storage) -> Vec<ConsentRecord> {
        storage.consent_log().unwrap().iter().map(|s| serde_json::from_str(&s.body).unwrap()).collect()
    }

    fn append_with_purpose(storage: &Storage, name: &str, purpose: &str) {
        let m = message_for(name, purpose, 1);
        storage.append(&[(m, identity())], &(identity(), 1)).unwrap();
    }

    #[test]
    fn records_chain_across_restarts_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        {
            let storage = Storage::open(dir.path()).unwrap();
            append(&storage, decision("r1", "analytics", true));
        }
        let storage = Storage::open(dir.path()).unwrap();
        let second = append(&storage, decision("r2", "analytics", false));
        let records = parsed(&storage);
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].prev_hash, records[0].hash);
        assert_eq!(verify_chain(&records), Ok(second.hash));
    }

    #[test]
    fn editing_a_stored_record_fails_verification() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        append(&storage, decision("r1", "marketing", false));
        append(&storage, decision("r2", "analytics", true));
        // What an attacker (or a bug) with access to the file would do.
        storage
            .lock()
            .conn
            .execute("UPDATE consent_log SET body = replace(body, '\"marketing\":false', '\"marketing\":true') WHERE record_id = 'r1'", [])
            .unwrap();
        let records = parsed(&storage);
        assert!(records[0].decisions["marketing"], "the edit took");
        assert!(verify_chain(&records).is_err());
    }

    #[test]
    fn a_denial_purges_pending_and_leased_events_of_that_purpose_in_the_same_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        append_with_purpose(&storage, "leased_analytics", "analytics");
        append_with_purpose(&storage, "kept_marketing", "marketing");
        // The first row goes in flight, as if an upload had leased it.
        let leased = storage.lease(10, 1_000_000, 1, |_| true).unwrap();
        assert_eq!(leased[0].name, "leased_analytics");
        append_with_purpose(&storage, "pending_analytics", "analytics");

        let purged = storage
            .write(|tx| {
                tx.append_consent(decision("r1", "analytics", false))?;
                tx.withdraw(&["analytics".into()])
            })
            .unwrap();
        assert_eq!(purged, 2);
        assert_eq!(names_in_queue(&storage), vec!["kept_marketing"]);
        assert_eq!(storage.counters().unwrap()["purged_by_consent"], 2);
        // Deleting what was delivered meanwhile finds nothing: the in-flight rows are gone, not re-sendable.
        assert_eq!(storage.delete_delivered(&[leased[0].seq], 0).unwrap(), 0);
    }

    #[test]
    fn receipts_are_marked_synced_once_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        append(&storage, decision("r1", "analytics", true));
        append(&storage, decision("r2", "analytics", false));
        let unsynced = storage.unsynced_consent(10).unwrap();
        assert_eq!(unsynced.len(), 2);
        storage.mark_consent_synced(&[unsynced[0].seq]).unwrap();
        let left = storage.unsynced_consent(10).unwrap();
        assert_eq!(left.len(), 1);
        assert!(left[0].body.contains("\"r2\""));
    }
}

#[test]
fn a_group_of_several_chunks_keeps_order_ids_sizes_and_each_message_s_identity() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let first = std::sync::Arc::new(identity());
    let second = std::sync::Arc::new(Identity { user_id: Some("u1".into()), ..identity() });
    // 70 rows: two full multi-row statements and a remainder, the identity changing inside a chunk.
    let rows: Vec<_> = (0..70)
        .map(|i| (message(&format!("e{i}"), i), if (20..45).contains(&i) { second.clone() } else { first.clone() }))
        .collect();
    storage.append(&rows, &(identity(), 69)).unwrap();
    let leased = storage.lease(i64::MAX - 1, 0, 1000, |_| true).unwrap();
    assert_eq!(leased.len(), 70);
    for (i, (leased, (sent, under))) in leased.iter().zip(&rows).enumerate() {
        assert_eq!(leased.name, format!("e{i}"));
        assert_eq!(leased.id, sent.id);
        assert_eq!(leased.timestamp_ms, i as i64);
        assert_eq!(&leased.identity, &**under, "row {i}");
    }
    assert!(leased.windows(2).all(|w| w[0].seq < w[1].seq));
    let counts = storage.queue_counts(0).unwrap();
    assert_eq!(counts.queued_bytes, rows.iter().map(|(m, _)| m.size() as u64).sum::<u64>());
    assert_eq!(storage.counters().unwrap().get("tracked"), Some(&70));
}
