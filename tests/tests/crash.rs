//! Crash safety across real processes: `footfall track --print-ids` and `footfall flush` are SIGKILLed at
//! random points; afterwards every id that was printed as durable reaches the collector exactly once.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use footfall_collector::{FaultConfig, ScriptedFault};
use footfall_tests::{collector_in, footfall, footfall_bin, wait_until};

#[test]
fn killed_producers_and_uploaders_never_lose_a_durable_id_nor_store_one_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("app");
    let data_arg = data.to_str().unwrap().to_string();
    // Uploads happen in the background while events are tracked; a third of them fail.
    let collector = collector_in(dir.path(), |c| {
        c.faults = FaultConfig { fail_rate: 0.3, fail_status: 503, seed: 7, ..FaultConfig::default() }
    });
    let endpoint = collector.base_url();
    let mut rng = fastrand::Rng::with_seed(20261122);
    let mut printed = BTreeSet::new();
    let granted = footfall(&["consent", "grant", "--data-dir", &data_arg, "analytics"]);
    assert!(granted.status.success(), "{}", String::from_utf8_lossy(&granted.stderr));

    for round in 0..6 {
        // A producer killed after a random number of durable ids.
        let kill_after = rng.usize(1..2_500);
        let mut child = Command::new(footfall_bin())
            .args([
                "track",
                "--data-dir",
                &data_arg,
                "--endpoint",
                &endpoint,
                "--name",
                "crash_test",
                "--count",
                "3000",
                "--print-ids",
            ])
            .args(["--props", &format!(r#"{{"round":{round}}}"#)])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        for line in lines.by_ref() {
            printed.insert(line.unwrap());
            seen += 1;
            if seen == kill_after {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
        // Ids already written to the pipe before the kill were durable when printed.
        for line in lines.map_while(Result::ok) {
            printed.insert(line);
        }
        child.wait().unwrap();

        // An uploader killed while its batch is on the wire: the collector stores it, the answer never comes.
        collector.script(vec![ScriptedFault::Delay { ms: 30_000 }]);
        let before = collector.requests();
        let mut flusher = Command::new(footfall_bin())
            .args(["flush", "--data-dir", &data_arg, "--endpoint", &endpoint, "--timeout-s", "60"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until("the flush to reach the collector", Duration::from_secs(30), || collector.requests() > before);
        flusher.kill().unwrap();
        flusher.wait().unwrap();
    }
    assert!(printed.len() > 6, "the producers printed ids before they were killed");

    collector.set_faults(FaultConfig::default());
    let out = footfall(&["flush", "--data-dir", &data_arg, "--endpoint", &endpoint, "--timeout-s", "120"]);
    assert!(out.status.success(), "final flush: {}", String::from_utf8_lossy(&out.stderr));

    let stored: Vec<String> = collector.events().unwrap().into_iter().map(|e| e.id).collect();
    let stored_set: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), stored_set.len(), "the collector stored an id twice");
    let lost: Vec<_> = printed.difference(&stored_set).collect();
    assert!(lost.is_empty(), "{} ids printed as durable never arrived, e.g. {:?}", lost.len(), lost.first());

    let db = dir.path().join("collector.db");
    let stats = footfall(&["collector", "stats", "--db", db.to_str().unwrap()]);
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["events"].as_u64().unwrap() as usize, stored.len());
    assert!(stats["duplicates"].as_u64().unwrap() >= 1, "killed uploads were re-sent and deduplicated: {stats}");

    let status = footfall(&["status", "--data-dir", &data_arg]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!((status["pending"].as_u64(), status["in_flight"].as_u64()), (Some(0), Some(0)));
}
