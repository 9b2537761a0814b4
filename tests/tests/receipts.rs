//! Consent receipts against the real collector: decisions made while the network is down arrive once when it
//! returns, the collector verifies every hash (a record edited on the device is refused, the others stored), and
//! a withdrawal's record is sent although its purpose is now denied.

use footfall_collector::{Endpoint, ScriptedFault};
use footfall_core::consent::record::Method;
use footfall_core::{Config, Footfall};
use footfall_tests::collector_in;

fn sdk(dir: &std::path::Path, endpoint: &str) -> Footfall {
    let mut config = Config::new(dir).with_endpoint(endpoint);
    config.flush.automatic = false;
    config.enforce_consent = true;
    Footfall::builder(config).consent_receipts(true).open().unwrap()
}

#[test]
fn offline_decisions_reach_the_collector_once_and_a_withdrawal_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_in(dir.path(), |_| {});
    collector.script_for(
        Endpoint::ConsentRecords,
        vec![ScriptedFault::DropConnection, ScriptedFault::Status { status: 503, retry_after: None }],
    );
    let app = sdk(&dir.path().join("app"), &collector.base_url());
    app.grant(&["analytics"], Method::Api).unwrap();
    app.flush().unwrap();
    app.deny(&["analytics"], Method::Settings).unwrap();
    app.flush().unwrap();
    assert!(collector.consent_records().unwrap().is_empty(), "nothing stored while the network was down");

    app.flush().unwrap();
    app.flush().unwrap();
    let stored = collector.consent_records().unwrap();
    let log = app.consent_log().unwrap();
    assert_eq!(
        stored.iter().map(|r| r.record_id.clone()).collect::<Vec<_>>(),
        log.records.iter().map(|r| r.record_id.clone()).collect::<Vec<_>>()
    );
    assert!(stored.iter().all(|r| r.duplicates == 0), "each record once");
    assert_eq!(stored[1].record["decisions"]["analytics"], false, "the withdrawal reached the collector");
    assert_eq!(stored[0].record, serde_json::to_value(&log.records[0]).unwrap(), "verbatim as sealed");
}

#[test]
fn the_collector_refuses_a_tampered_record_and_stores_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_in(dir.path(), |_| {});
    let data = dir.path().join("app");
    let ids: Vec<String> = {
        let app = sdk(&data, &collector.base_url());
        app.grant(&["analytics"], Method::Api).unwrap();
        app.deny(&["marketing"], Method::Api).unwrap();
        app.grant(&["personalization"], Method::Api).unwrap();
        app.consent_log().unwrap().records.iter().map(|r| r.record_id.clone()).collect()
    };
    let conn = rusqlite::Connection::open(data.join("footfall.db")).unwrap();
    let edited = conn
        .execute("UPDATE consent_log SET body = replace(body, '\"marketing\":false', '\"marketing\":true') WHERE record_id = ?1", [&ids[1]])
        .unwrap();
    assert_eq!(edited, 1);
    drop(conn);
    let app = sdk(&data, &collector.base_url());
    app.flush().unwrap();
    let stored: Vec<String> = collector.consent_records().unwrap().into_iter().map(|r| r.record_id).collect();
    assert!(!stored.contains(&ids[1]), "the edited record was refused");
    assert!(stored.contains(&ids[0]));
    // Its successor links to a hash the collector never stored: still accepted (docs/protocol.md, links are
    // evidence, never a reason to refuse, or one refused record would block every later one).
    assert!(stored.contains(&ids[2]), "a record after a refused one is accepted");
    let export = app.export_data().unwrap();
    assert_eq!(export["consent"]["refusedByBackend"].as_array().unwrap().len(), 1);
    let requests = collector.requests_to(Endpoint::ConsentRecords);
    app.flush().unwrap();
    assert_eq!(collector.requests_to(Endpoint::ConsentRecords), requests, "a refused record is not re-sent");
}

#[test]
fn the_cli_flush_returns_once_the_consent_receipts_are_out_too() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_in(dir.path(), |_| {});
    // The receipts endpoint fails twice; events go through at once.
    let fault = ScriptedFault::Status { status: 503, retry_after: None };
    collector.script_for(Endpoint::ConsentRecords, vec![fault.clone(), fault]);
    let data = dir.path().join("app");
    let (data, endpoint) = (data.to_str().unwrap(), collector.base_url());
    let run = |args: &[&str]| footfall_tests::footfall(args);
    assert!(run(&["consent", "grant", "--data-dir", data, "analytics"]).status.success());
    assert!(run(&["track", "--data-dir", data, "--endpoint", &endpoint, "--name", "viewed"]).status.success());
    let flushed = run(&["flush", "--data-dir", data, "--endpoint", &endpoint, "--timeout-s", "30"]);
    assert!(flushed.status.success(), "{}", String::from_utf8_lossy(&flushed.stderr));
    assert_eq!(collector.stats().unwrap().events, 1);
    assert_eq!(collector.consent_records().unwrap().len(), 1, "flush returned before the receipt was stored");
}
