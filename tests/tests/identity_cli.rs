//! `footfall identify` and `footfall reset` as a backend team drives them: user ids on the wire, a new
//! anonymous id after reset, and a deletion request that names every id the install used.

use footfall_tests::{collector_in, footfall};
use serde_json::Value;

fn ok(out: std::process::Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn identify_then_reset_then_forget_reaches_the_collector_with_every_id() {
    let dir = tempfile::tempdir().unwrap();
    let c = collector_in(dir.path(), |_| {});
    let data = dir.path().join("app");
    let (data, endpoint) = (data.to_str().unwrap(), c.base_url());

    // Signing in needs no consent; its identify message is gated like analytics events (none, and one line why).
    let unrecorded = footfall(&["identify", "--data-dir", data, "shopper-41"]);
    assert!(String::from_utf8_lossy(&unrecorded.stderr).contains("consent grant"), "{unrecorded:?}");
    assert_eq!(ok(unrecorded), serde_json::json!({"messageId": null, "userId": "shopper-41"}));
    assert_eq!(ok(footfall(&["export", "--data-dir", data]))["userId"], "shopper-41", "the sign-in stood");
    ok(footfall(&["consent", "grant", "--data-dir", data, "analytics"]));

    let identified = ok(footfall(&["identify", "--data-dir", data, "shopper-42", "--traits", r#"{"tier":"gold"}"#]));
    assert_eq!(identified["userId"], "shopper-42");
    let bad = footfall(&["identify", "--data-dir", data, "shopper-42", "--traits", "[1]"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("--traits"), "{bad:?}");
    ok(footfall(&["track", "--data-dir", data, "--endpoint", &endpoint, "--name", "as_shopper"]));
    ok(footfall(&["reset", "--data-dir", data]));
    ok(footfall(&["track", "--data-dir", data, "--endpoint", &endpoint, "--name", "after_reset"]));
    ok(footfall(&["flush", "--data-dir", data, "--endpoint", &endpoint]));

    let events = c.events().unwrap();
    let find = |t: &str, name: Option<&str>| {
        events.iter().find(|e| e.r#type == t && e.name.as_deref() == name).unwrap().clone()
    };
    assert_eq!(events.iter().filter(|e| e.r#type == "identify").count(), 1, "no message of the first sign-in");
    let identify = find("identify", None);
    assert_eq!((identify.user_id.as_deref(), identify.properties["tier"].as_str()), (Some("shopper-42"), Some("gold")));
    assert_eq!(identify.id, identified["messageId"].as_str().unwrap());
    let before = find("track", Some("as_shopper"));
    let after = find("track", Some("after_reset"));
    assert_eq!(before.user_id.as_deref(), Some("shopper-42"));
    assert_eq!(after.user_id, None, "reset forgets the user id");
    assert_ne!(before.anonymous_id, after.anonymous_id, "reset starts a new anonymous id");

    ok(footfall(&["forget", "--data-dir", data, "--endpoint", &endpoint]));
    let deletions = c.deletion_requests().unwrap();
    assert_eq!(deletions.len(), 1);
    let ids = &deletions[0].anonymous_ids;
    assert!(
        ids.contains(before.anonymous_id.as_ref().unwrap()) && ids.contains(after.anonymous_id.as_ref().unwrap()),
        "{ids:?}"
    );
}
