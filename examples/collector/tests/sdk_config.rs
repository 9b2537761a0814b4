//! The SDK's own `GET /v1/config` fetch (`Footfall::refresh_consent_policy`) against the collector serving a file:
//! the first fetch applies the policy, the next is a 304 on the cached ETag, an edit to the file is applied on the
//! next fetch, and a broken file or a missing config keeps the policy in force.

mod common;

use common::database::database;

use std::sync::Arc;

use common::Wire;
use footfall_collector::{Collector, CollectorConfig, Endpoint};
use footfall_core::{Config, Footfall};

fn policy(version: u32, enabled: bool) -> String {
    format!(
        r#"{{"consent":{{"policyVersion":{version},"purposes":[{{"id":"analytics"}},{{"id":"marketing","materialChangeVersion":{version}}}],
        "prompts":[{{"id":"main","enabled":{enabled},"purposes":["analytics","marketing"]}}]}}}}"#
    )
}

#[test]
fn the_sdk_fetches_revalidates_and_follows_edits_of_the_served_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, policy(1, false)).unwrap();
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), database(dir.path()));
    config.config_path = Some(file.clone());
    config.api_key = Some("k".into());
    let collector = Collector::start(config).unwrap();

    let mut sdk_config = Config::new(dir.path().join("sdk")).with_endpoint(collector.base_url());
    sdk_config.api_key = Some("k".into());
    sdk_config.flush.automatic = false;
    // Explicit refreshes only, so the request count below is exact (the start-up fetch is tested in the core).
    sdk_config.consent_refresh_interval = None;
    let sdk = Footfall::builder(sdk_config).transport(Arc::new(Wire { addr: collector.addr() })).open().unwrap();

    let first = sdk.refresh_consent_policy().unwrap();
    assert_eq!((first.changed, first.policy_version), (true, Some(1)));
    let again = sdk.refresh_consent_policy().unwrap();
    assert!(!again.changed, "the cached ETag earned a 304");

    std::fs::write(&file, policy(2, true)).unwrap();
    assert_eq!(sdk.refresh_consent_policy().unwrap().policy_version, Some(2));

    // A broken file: 500, and the policy in force stays.
    std::fs::write(&file, "{\"consent\":").unwrap();
    let err = sdk.refresh_consent_policy().unwrap_err().to_string();
    assert!(err.contains("500"), "{err}");
    // A file the collector serves but the SDK refuses (a purpose declared twice): the policy in force stays too.
    std::fs::write(&file, r#"{"consent":{"policyVersion":3,"purposes":[{"id":"analytics"},{"id":"analytics"}]}}"#)
        .unwrap();
    assert!(sdk.refresh_consent_policy().is_err());
    assert_eq!(sdk.consent_status().unwrap().policy_version, 2);

    assert_eq!(collector.requests_to(Endpoint::Config), 5);
    sdk.close();
    collector.shutdown();
}
