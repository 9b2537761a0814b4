//! A server's `Retry-After` outlives the process: on mobile the app restarts constantly, and a server that asked
//! for ten minutes of quiet must get them from the next launch too — not even an explicit flush sends before the
//! hold ends. The in-process half uses injected clocks; the CLI half runs real `footfall` processes.

use std::time::Duration;

use footfall_collector::{Endpoint, ScriptedFault};
use footfall_core::sync::LaneCondition;
use footfall_core::{Config, Event, FlushOutcome, FlushPolicy, Footfall, ManualClock, SeededRandom};
use footfall_tests::{collector_in, footfall};

const T0: i64 = 1_795_000_000_000;

fn open(dir: &std::path::Path, endpoint: &str, clock: &std::sync::Arc<ManualClock>) -> Footfall {
    let mut config = Config::new(dir.join("app")).with_endpoint(endpoint);
    config.flush = FlushPolicy { automatic: false, ..FlushPolicy::default() };
    config.enforce_consent = false;
    config.consent_refresh_interval = None;
    Footfall::builder(config).clock(clock.clone()).random(SeededRandom::new(7)).open().unwrap()
}

#[test]
fn a_retry_after_hold_is_honoured_by_the_next_process_even_on_flush() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |_| {});
    c.script(vec![ScriptedFault::Status { status: 503, retry_after: Some("600".into()) }]);

    let first = open(dir.path(), &c.base_url(), &ManualClock::new(T0));
    first.track(Event::new("viewed")).unwrap();
    let report = first.flush().unwrap();
    assert_eq!(
        report.outcome,
        FlushOutcome::Held {
            after: Duration::from_secs(600),
            until_ms: T0 + 600_000,
            reason: "HTTP 503: fault injected by the collector: 503 Service Unavailable".into()
        },
    );
    first.close();
    let requests = c.requests_to(Endpoint::Batch);

    // The app is relaunched 100 s later (a new monotonic clock), tracks 25 events and flushes.
    let clock = ManualClock::new(T0 + 100_000);
    let relaunched = open(dir.path(), &c.base_url(), &clock);
    for _ in 0..25 {
        relaunched.track(Event::new("viewed")).unwrap();
    }
    let report = relaunched.flush().unwrap();
    assert!(
        matches!(&report.outcome, FlushOutcome::Held { after, until_ms, .. } if *after == Duration::from_secs(500) && *until_ms == T0 + 600_000),
        "{report:?}"
    );
    assert_eq!(c.requests_to(Endpoint::Batch), requests, "nothing is sent while the server's hold runs");
    let lane = relaunched.status().unwrap().event_lane;
    assert_eq!(lane.state, LaneCondition::Held);
    assert_eq!(lane.until.as_deref(), Some("2026-11-18T11:16:40.000Z"));

    clock.advance_ms(500_000);
    let report = relaunched.flush().unwrap();
    assert_eq!((report.delivered, report.outcome), (26, FlushOutcome::Drained));
    assert_eq!(relaunched.status().unwrap().event_lane.state, LaneCondition::Ok);
    assert_eq!(c.stats().unwrap().events, 26);
}

#[test]
fn the_essential_lane_keeps_its_own_hold_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |_| {});
    c.script_for(Endpoint::Deletion, vec![ScriptedFault::Status { status: 429, retry_after: Some("120".into()) }]);
    let first = open(dir.path(), &c.base_url(), &ManualClock::new(T0));
    first.request_deletion().unwrap();
    first.flush().unwrap();
    first.close();
    let sent = c.requests_to(Endpoint::Deletion);
    assert_eq!(sent, 1);

    let clock = ManualClock::new(T0 + 60_000);
    let relaunched = open(dir.path(), &c.base_url(), &clock);
    relaunched.track(Event::new("viewed")).unwrap();
    assert_eq!(relaunched.flush().unwrap().delivered, 1, "the event lane is not held by the essential lane");
    assert_eq!(c.requests_to(Endpoint::Deletion), sent, "the deletion request waits out its lane's hold");
    assert_eq!(relaunched.status().unwrap().essential_lane.state, LaneCondition::Held);
    clock.advance_ms(60_000);
    relaunched.flush().unwrap();
    assert_eq!(c.deletion_requests().unwrap().len(), 1);
}

#[test]
fn the_cli_says_the_server_asked_to_wait_and_sends_nothing_on_relaunch() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |_| {});
    c.script(vec![ScriptedFault::Status { status: 503, retry_after: Some("600".into()) }]);
    let data = dir.path().join("app");
    let (data, endpoint) = (data.to_str().unwrap(), c.base_url());
    assert!(footfall(&["consent", "grant", "--data-dir", data, "analytics"]).status.success());
    // `track` uploads in the background too; pointed at a closed port it cannot take the scripted fault (a start-up
    // pass abandoned at its exit would consume it without recording the hold).
    let track = |count: &str| {
        let args =
            ["track", "--data-dir", data, "--endpoint", "http://127.0.0.1:9", "--name", "viewed", "--count", count];
        assert!(footfall(&args).status.success())
    };
    let flush = || footfall(&["flush", "--data-dir", data, "--endpoint", &endpoint, "--timeout-s", "5"]);

    track("1");
    let held = flush();
    let stderr = String::from_utf8_lossy(&held.stderr);
    assert!(!held.status.success());
    assert!(stderr.contains("the server asked to wait until 20") && stderr.contains("HTTP 503"), "{stderr}");
    assert!(!stderr.contains("timed out"), "{stderr}");
    let requests = c.requests_to(Endpoint::Batch);

    track("25");
    let again = flush();
    assert!(String::from_utf8_lossy(&again.stderr).contains("the server asked to wait until"), "{again:?}");
    assert_eq!(c.requests_to(Endpoint::Batch), requests, "a relaunched CLI sends no batch while the hold runs");
    let status: serde_json::Value = serde_json::from_slice(&footfall(&["status", "--data-dir", data]).stdout).unwrap();
    assert_eq!(status["event_lane"]["state"], "held");
    assert_eq!(status["pending"], 26);
}
