//! A process death in the middle of a store visit, for real: `footfall proximity replay --data-dir` feeds a long
//! trace to the SDK in a child process, which is SIGKILLed once the visit is durable. The next process, hearing
//! the shopper again, continues that visit (no second `visit_started`), and when she leaves ends it once, with the
//! enter time the first process recorded.

use std::process::{Command, Stdio};
use std::time::Duration;

use footfall_core::clock::rfc3339_ms;
use footfall_tests::{footfall, footfall_bin, wait_until};
use serde_json::Value;

const BEACON: &str = "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2";
const START: &str = "2026-12-06T10:00:00Z";

/// `seconds` of scan cycles, each hearing the beacon at -60 dBm when `near`, from trace time `from_s`.
fn trace(from_s: u64, seconds: u64, near: bool) -> String {
    let mut text = String::with_capacity(seconds as usize * 90);
    for s in from_s..from_s + seconds {
        if near {
            text.push_str(&format!("{{\"t\":{},\"beacon\":\"{BEACON}\",\"rssi\":-60}}\n", s * 1000 + 500));
        }
        text.push_str(&format!("{{\"t\":{},\"scan\":\"tick\"}}\n", (s + 1) * 1000));
    }
    text
}

fn visits(db: &std::path::Path) -> Vec<(String, i64, i64, Option<i64>)> {
    let Ok(conn) = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare("SELECT id, entered_ms, last_seen_ms, exited_ms FROM proximity_visits") else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

fn event_names(data_dir: &str) -> Vec<String> {
    let out = footfall(&["export", "--data-dir", data_dir]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let export: Value = serde_json::from_slice(&out.stdout).unwrap();
    export["events"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_visit_survives_sigkill_and_is_continued_then_ended_once_by_the_next_process() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("phone");
    let data_dir = data.to_str().unwrap();
    let db = data.join("footfall.db");
    let config = dir.path().join("config.json");
    let zone = format!(r#"{{"id": "door", "store": "s1", "beacons": ["{BEACON}"], "enterRssi": -70}}"#);
    std::fs::write(&config, format!(r#"{{"proximity": {{"version": 1, "zones": [{zone}]}}}}"#)).unwrap();
    assert!(footfall(&["consent", "grant", "--data-dir", data_dir, "location"]).status.success());

    // A week of readings: far longer to replay than it takes the first visit to become durable.
    let long = dir.path().join("long.jsonl");
    std::fs::write(&long, trace(0, 7 * 86_400, true)).unwrap();
    let mut child = Command::new(footfall_bin())
        .args(["proximity", "replay", "--trace", long.to_str().unwrap(), "--config", config.to_str().unwrap()])
        .args(["--data-dir", data_dir, "--start", START])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the first visit to be durable", Duration::from_secs(60), || !visits(&db).is_empty());
    child.kill().unwrap(); // SIGKILL: no close(), no flush
    let status = child.wait().unwrap();
    assert!(!status.success(), "the replay was killed before it finished (it would have exited 0)");

    let before = visits(&db);
    assert_eq!(before.len(), 1);
    let (id, entered_ms, last_seen_ms, exited_ms) = before[0].clone();
    assert_eq!(exited_ms, None, "open when the process died");
    // Opening the data directory without the zones (the export below does) leaves the open visit alone.
    let names = event_names(data_dir);
    assert_eq!(names.iter().filter(|n| *n == "visit_started").count(), 1, "its event committed with it: {names:?}");
    assert!(!names.contains(&"visit_ended".to_string()), "{names:?}");
    assert_eq!(visits(&db)[0].3, None, "still open after an instance without zones opened the directory");

    // The next process, 20 s after the last sighting the first one wrote: she is still there, then leaves.
    let resume = rfc3339_ms(last_seen_ms + 20_000);
    let rest = dir.path().join("rest.jsonl");
    std::fs::write(&rest, format!("{}{}", trace(0, 5, true), trace(5, 40, false))).unwrap();
    let out = footfall(&[
        "proximity",
        "replay",
        "--trace",
        rest.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data_dir,
        "--start",
        &resume,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let after = visits(&db);
    assert_eq!(after.len(), 1, "continued, not a second visit: {after:?}");
    assert_eq!(
        (&after[0].0, after[0].1),
        (&id, entered_ms),
        "the same visit, with the enter time of the first process"
    );
    assert!(after[0].3.is_some(), "ended after 30 s of observed absence");
    let names = event_names(data_dir);
    let count = |name: &str| names.iter().filter(|n| *n == name).count();
    assert_eq!((count("visit_started"), count("visit_ended")), (1, 1), "{names:?}");
}
