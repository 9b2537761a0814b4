//! Encryption at rest through the SDK: what was tracked before a key rotation is uploaded intact after it, and a
//! lost key is a clean start that the status reports — never a crash, never a half-readable queue.

mod support;

use std::sync::Arc;

use footfall_core::crypto::KEY_FILE;
use footfall_core::{Event, ManualClock};
use serde_json::json;
use support::*;

#[test]
fn events_tracked_before_a_key_rotation_are_delivered_intact_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = (FakeServer::accepting(), Arc::new(ManualClock::new(T0)));
    let sdk = open(dir.path(), &server, &clock);
    sdk.identify("shopper-42", json!({"name": "Hanako"})).unwrap();
    sdk.track(Event::new("product_viewed").properties(json!({"sku": "4901234567894"}))).unwrap();
    let first = sdk.rotate_encryption_key().unwrap().expect("encryption is on by default");
    sdk.track(Event::new("added_to_cart").properties(json!({"sku": "4901234567894"}))).unwrap();
    assert_eq!(sdk.rotate_encryption_key().unwrap(), Some(first + 1));
    sdk.flush().unwrap();
    let delivered = server.delivered();
    assert_eq!(server.delivered_names(), ["", "product_viewed", "added_to_cart"]);
    assert_eq!(
        (delivered[0]["type"].as_str(), delivered[0]["traits"]["name"].as_str()),
        (Some("identify"), Some("Hanako"))
    );
    assert!(delivered.iter().all(|m| m["userId"] == "shopper-42"), "{delivered:?}");
    assert_eq!(delivered[2]["properties"]["sku"], "4901234567894");
}

#[test]
fn a_lost_key_starts_the_queue_over_and_the_status_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = (FakeServer::accepting(), Arc::new(ManualClock::new(T0)));
    let sdk = open(dir.path(), &server, &clock);
    sdk.track(Event::new("product_viewed")).unwrap();
    sdk.flush_to_disk().unwrap();
    sdk.close();
    std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();

    let sdk = open(dir.path(), &server, &clock);
    sdk.track(Event::new("after_the_reset")).unwrap();
    sdk.flush().unwrap();
    assert_eq!(server.delivered_names(), ["after_the_reset"], "the unreadable event is gone, the new one is sent");
    assert_eq!(sdk.status().unwrap().key_resets, 1);
}
