//! `footfall forget` against the real collector: a deletion request made while the collector fails survives the
//! process ending and reaches the collector exactly once on the next run, naming the anonymous id the events used.

use footfall_collector::{Endpoint, ScriptedFault};
use footfall_tests::{collector_in, footfall};

#[test]
fn a_deletion_request_survives_a_restart_and_reaches_the_collector_once() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_in(dir.path(), |_| {});
    let endpoint = collector.base_url();
    let data = dir.path().join("app");
    let data = data.to_str().unwrap();
    let tracked =
        footfall(&["track", "--data-dir", data, "--endpoint", &endpoint, "--name", "viewed", "--purpose", "essential"]);
    assert!(tracked.status.success(), "{}", String::from_utf8_lossy(&tracked.stderr));
    let flushed = footfall(&["flush", "--data-dir", data, "--endpoint", &endpoint]);
    assert!(flushed.status.success(), "{}", String::from_utf8_lossy(&flushed.stderr));
    let anonymous_id = collector.events().unwrap()[0].anonymous_id.clone().unwrap();

    collector.script_for(Endpoint::Deletion, vec![ScriptedFault::Status { status: 503, retry_after: None }; 3]);
    let first = footfall(&["forget", "--data-dir", data, "--endpoint", &endpoint, "--timeout-s", "0"]);
    assert!(!first.status.success(), "not acknowledged while the collector fails");
    assert!(collector.deletion_requests().unwrap().is_empty());
    let export: serde_json::Value = serde_json::from_slice(&footfall(&["export", "--data-dir", data]).stdout).unwrap();
    assert_eq!(export["rightsRequests"][0]["state"], "sent");
    assert_eq!(export["events"], serde_json::json!([]));
    assert_ne!(export["anonymousId"], anonymous_id.as_str(), "the identity was rotated");

    collector.script_for(Endpoint::Deletion, vec![]);
    let second = footfall(&["forget", "--data-dir", data, "--endpoint", &endpoint]);
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(printed["requestId"], export["rightsRequests"][0]["requestId"], "the same request resumed");
    assert_eq!(printed["state"], "acknowledged");
    let stored = collector.deletion_requests().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].duplicates, 0, "reached the collector once");
    assert!(stored[0].anonymous_ids.contains(&anonymous_id));
    assert_eq!(stored[0].erased_events, Some(1), "the collector erased the event it had of that install");
    assert!(collector.events().unwrap().is_empty());
}
