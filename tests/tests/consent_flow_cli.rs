//! The consent commands of `footfall` on a real data directory, and `footfall track` gating on them — what a
//! developer scripting the SDK sees: refusals with no ids, purges on withdrawal, prompts that follow the policy
//! file the collector serves, and a log whose tampering shows.

use footfall_tests::{collector_in, footfall};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn track_refuses_a_denied_purpose_and_a_withdrawal_purges_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_in(dir.path(), |_| {});
    let data = dir.path().join("app");
    let data = data.to_str().unwrap();
    let endpoint = collector.base_url();
    let track = |count: &str| {
        footfall(&[
            "track",
            "--data-dir",
            data,
            "--endpoint",
            &endpoint,
            "--name",
            "viewed",
            "--count",
            count,
            "--print-ids",
        ])
    };

    // Default deny: nothing recorded, no id printed, the refusal said.
    let refused = track("3");
    assert_eq!(refused.status.code(), Some(3));
    assert!(refused.stdout.is_empty(), "no id for a refused event");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("refused 3 of 3") && stderr.contains("consent grant"), "{stderr}");

    let granted = json(&footfall(&["consent", "grant", "--data-dir", data, "analytics"]));
    assert_eq!(granted["now_allowed"], serde_json::json!(["analytics"]));
    let ids = track("4");
    assert!(ids.status.success());
    assert_eq!(String::from_utf8_lossy(&ids.stdout).lines().count(), 4);

    let denied = json(&footfall(&["consent", "deny", "--data-dir", data, "analytics"]));
    assert!(denied["purged"].as_u64().unwrap() <= 4, "whatever was still queued is purged: {denied}");
    let queue = json(&footfall(&["status", "--data-dir", data]));
    assert_eq!((queue["pending"].as_u64(), queue["in_flight"].as_u64()), (Some(0), Some(0)));
    // The background upload of `track` may have delivered some before the withdrawal; none arrives after it.
    let delivered_before = collector.stats().unwrap().events;
    let flush = footfall(&["flush", "--data-dir", data, "--endpoint", &endpoint]);
    assert!(flush.status.success(), "{}", String::from_utf8_lossy(&flush.stderr));
    assert_eq!(collector.stats().unwrap().events, delivered_before);
    // Every event went before the withdrawal or was purged by it. Both can be true of one event: `track` closing
    // abandons an upload in flight, so the collector may hold a batch whose answer the SDK never read.
    let purged = denied["purged"].as_u64().unwrap();
    assert!(delivered_before <= 4 && delivered_before + purged >= 4, "delivered {delivered_before}, purged {purged}");

    let status = json(&footfall(&["consent", "status", "--data-dir", data]));
    let analytics = status["purposes"].as_array().unwrap().iter().find(|p| p["id"] == "analytics").unwrap().clone();
    assert_eq!((analytics["allowed"].as_bool(), analytics["decision"].as_bool()), (Some(false), Some(false)));
    assert_eq!(status["jurisdiction"], "unknown");
}

#[test]
fn needs_prompt_follows_the_policy_file_the_collector_serves() {
    let dir = tempfile::tempdir().unwrap();
    let policy_file = dir.path().join("policy.json");
    let write = |version: u32, enabled: bool, marketing_changed: u32| {
        std::fs::write(
            &policy_file,
            format!(
                r#"{{"consent":{{"policyVersion":{version},"purposes":[{{"id":"analytics"}},{{"id":"marketing","materialChangeVersion":{marketing_changed}}}],
                "prompts":[{{"id":"main","enabled":{enabled},"purposes":["analytics","marketing"]}}]}}}}"#
            ),
        )
        .unwrap();
    };
    write(1, true, 0);
    let collector = collector_in(dir.path(), |c| c.config_path = Some(policy_file.clone()));
    let data = dir.path().join("app");
    let data = data.to_str().unwrap();
    let endpoint = collector.base_url();
    let needs = || json(&footfall(&["consent", "needs-prompt", "--data-dir", data, "--endpoint", &endpoint]));

    assert_eq!((needs()["prompt"].as_str(), needs()["reason"].as_str()), (Some("main"), Some("no_decision")));
    json(&footfall(&["consent", "grant", "--data-dir", data, "analytics", "marketing"]));
    assert_eq!(needs()["reason"], "up_to_date");

    // The product team bumps the policy with a material change to marketing: the next fetch re-prompts.
    write(2, true, 2);
    let need = needs();
    assert_eq!((need["prompt"].as_str(), need["reason"].as_str()), (Some("main"), Some("policy_material_change")));
    assert_eq!(need["purposes"], serde_json::json!(["marketing"]));
    // ... and switches the prompt off: still needed, no prompt offered.
    write(2, false, 2);
    let need = needs();
    assert_eq!((need["prompt"].clone(), need["reason"].as_str()), (Value::Null, Some("prompt_disabled")));
}

#[test]
fn the_log_verifies_until_a_stored_record_is_edited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("app");
    let data_arg = data.to_str().unwrap();
    json(&footfall(&["consent", "grant", "--data-dir", data_arg, "analytics"]));
    json(&footfall(&["consent", "deny", "--data-dir", data_arg, "marketing"]));
    let lines = |out: std::process::Output| -> Vec<Value> {
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let log = lines(footfall(&["consent", "log", "--data-dir", data_arg]));
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|r| r["verified"] == true));
    assert_eq!(log[1]["decisions"]["marketing"], false);

    let conn = rusqlite::Connection::open(data.join("footfall.db")).unwrap();
    conn.execute("UPDATE consent_log SET body = replace(body, '\"marketing\":false', '\"marketing\":true')", [])
        .unwrap();
    drop(conn);
    let out = footfall(&["consent", "log", "--data-dir", data_arg]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));
    let log = lines(out);
    assert_eq!((log[0]["verified"].as_bool(), log[1]["verified"].as_bool()), (Some(true), Some(false)));
}

fn vector(name: &str) -> String {
    footfall_tests::tcf_vector(name)["tc_string"].as_str().unwrap().to_string()
}

#[test]
fn import_tcf_lets_the_cmp_decide_and_track_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("app");
    let data = data.to_str().unwrap();
    let import = |tc: &str| footfall(&["consent", "import-tcf", "--data-dir", data, "--gdpr-applies", "true", tc]);
    let track = || footfall(&["track", "--data-dir", data, "--endpoint", "http://127.0.0.1:9", "--name", "viewed"]);

    // TCF purposes 1-11 consented (the IAB library's encoding), no precise-geolocation opt-in.
    let everything = vector("core-range-vendors");
    let recorded = json(&import(&everything));
    assert_eq!(recorded["result"], "recorded");
    assert_eq!(
        recorded["decisions"],
        serde_json::json!({"analytics": true, "location": false, "marketing": true, "personalization": true})
    );
    assert!(track().status.success());
    assert_eq!(json(&import(&everything))["result"], "unchanged", "the same answer records nothing");

    let bad = import("BO!x");
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("TC string") && stderr.contains("position 2"), "{stderr}");

    // Nothing consented in the CMP: the withdrawal purges what was queued and track refuses again.
    let nothing = json(&import(&vector("core-minimal")));
    assert_eq!(nothing["now_denied"], serde_json::json!(["analytics", "marketing", "personalization"]));
    assert_eq!(nothing["purged"], 1);
    assert_eq!(track().status.code(), Some(3));
    let log: Vec<Value> = String::from_utf8_lossy(&footfall(&["consent", "log", "--data-dir", data]).stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(log.len(), 2);
    assert!(log
        .iter()
        .all(|r| r["method"] == serde_json::json!({"kind": "tcf_import", "cmp_id": 300}) && r["verified"] == true));
}

#[test]
fn context_sets_jurisdiction_and_age_band_and_a_child_cannot_open_marketing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("app");
    let data = data.to_str().unwrap();
    json(&footfall(&["consent", "grant", "--data-dir", data, "marketing"]));
    let child =
        json(&footfall(&["consent", "context", "--data-dir", data, "--jurisdiction", "ccpa", "--age-band", "under13"]));
    assert_eq!(child["now_denied"], serde_json::json!(["marketing"]));
    let status = json(&footfall(&["consent", "status", "--data-dir", data]));
    assert_eq!(
        (status["jurisdiction"].as_str(), status["age_band"].as_str(), status["mode"].as_str()),
        (Some("ccpa"), Some("under13"), Some("opt_in"))
    );
    let marketing = status["purposes"].as_array().unwrap().iter().find(|p| p["id"] == "marketing").unwrap().clone();
    assert_eq!(
        (marketing["decision"].as_bool(), marketing["allowed"].as_bool()),
        (Some(true), Some(false)),
        "granted, yet closed"
    );

    let bad = footfall(&["consent", "context", "--data-dir", data, "--jurisdiction", "mars"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown jurisdiction 'mars'"));
}
