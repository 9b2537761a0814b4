//! Two collector instances on one database, as behind a load balancer: the same batch or the same redemption sent
//! to both at the same moment is stored once / accepted once. On SQLite the two share a file; with
//! `FOOTFALL_TEST_POSTGRES` set they share a PostgreSQL schema (`.ci/run` runs this file both ways).

mod common;

use std::collections::HashSet;
use std::sync::Barrier;

use common::console::{admin, hidden, Browser, PASSWORD};
use common::database::database;
use common::wallet::{code, device, now, redemption, rfc3339, Issuer, REDEMPTIONS};
use common::{batch, id, track, Conn};
use footfall_collector::wallet::read_redemptions;
use footfall_collector::{read_deletion_requests, read_events, read_stats, Collector, CollectorConfig, Stats};
use footfall_core::wallet::{device_id, DeviceSigner};
use serde_json::{json, Value};

const ROUNDS: u32 = 20;
const PER_BATCH: u32 = 50;

/// Posts `bodies[i]` to `collectors[i]` at the same moment (each from its own thread, released together), and
/// returns the answers in the same order, each checked to have `status`.
fn at_once(collectors: [&Collector; 2], path: &str, bodies: [&Value; 2], status: u16) -> Vec<Value> {
    let gate = Barrier::new(2);
    std::thread::scope(|scope| {
        let sent: Vec<_> = collectors
            .iter()
            .zip(bodies)
            .map(|(c, body)| {
                let gate = &gate;
                let mut conn = Conn::plain(c);
                scope.spawn(move || {
                    gate.wait();
                    let resp = conn.post_to(path, body).expect("a response");
                    assert_eq!(resp.status, status, "{}", String::from_utf8_lossy(&resp.body));
                    resp.json()
                })
            })
            .collect();
        sent.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

#[test]
fn a_batch_sent_to_both_instances_at_once_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let a = Collector::start(CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &db)).unwrap();
    let b = Collector::start(CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &db)).unwrap();

    for round in 0..ROUNDS {
        let body = batch((0..PER_BATCH).map(|i| track(round * PER_BATCH + i, "product_viewed")).collect());
        let answers = at_once([&a, &b], "/v1/batch", [&body, &body], 200);
        let accepted: u64 = answers.iter().map(|r| r["accepted"].as_u64().unwrap()).sum();
        let duplicates: u64 = answers.iter().map(|r| r["duplicates"].as_u64().unwrap()).sum();
        assert_eq!((accepted, duplicates), (u64::from(PER_BATCH), u64::from(PER_BATCH)), "round {round}: {answers:?}");
    }

    let total = u64::from(ROUNDS * PER_BATCH);
    assert_eq!(read_stats(&db).unwrap(), Stats { events: total, duplicates: total, batches: 2 * u64::from(ROUNDS) });
    let ids: HashSet<String> = read_events(&db).unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(ids, (0..ROUNDS * PER_BATCH).map(id).collect::<HashSet<_>>(), "every event once, none lost");
}

#[test]
fn a_deletion_request_sent_to_both_instances_at_once_is_recorded_and_honoured_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let a = Collector::start(CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &db)).unwrap();
    let b = Collector::start(CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &db)).unwrap();
    let stored = batch((0..PER_BATCH).map(|n| track(n, "product_viewed")).collect());
    at_once([&a, &b], "/v1/batch", [&stored, &stored], 200);

    let request =
        json!({"requestId": id(9_999), "anonymousIds": ["anon-1"], "requestedAt": "2026-11-22T10:15:30.123Z"});
    at_once([&a, &b], "/v1/rights/deletion", [&request, &request], 202);
    let recorded = read_deletion_requests(&db).unwrap();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!((recorded[0].duplicates, recorded[0].erased_events), (1, Some(u64::from(PER_BATCH))));
    assert!(read_events(&db).unwrap().is_empty(), "every event of the id erased");
}

#[test]
fn a_redemption_sent_to_both_instances_at_once_is_accepted_once() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &issuer.db);
    config.issuer_key = Some(issuer.key_file.clone());
    let other = Collector::start(config).unwrap();
    let coupons: Vec<String> = (0..10).map(|n| format!("single{n}")).collect();
    for coupon in &coupons {
        issuer.add(coupon, |_| {});
    }
    let grants = issuer.grants(&issuer.feed("anon-1", None));
    assert_eq!(grants.len(), coupons.len());
    let (phone, tablet) = (device(), device());
    let (phone_id, tablet_id) = (device_id(&phone.public_key().unwrap()), device_id(&tablet.public_key().unwrap()));
    let at = now() - 60;
    let body = |r: &Value| json!({"redemptions": [r], "sentAt": rfc3339(now())});

    for (n, grant) in grants.iter().enumerate() {
        let n = n as u32;
        // The same redemption (a retry that went to the other instance): both answers are the one decision.
        let same = redemption(100 + n, &code(grant, &phone, u64::from(n) + 1, at), at);
        let answers = at_once([&issuer.collector, &other], REDEMPTIONS, [&body(&same), &body(&same)], 200);
        for answer in &answers {
            assert_eq!(answer["results"][0]["status"], "accepted", "{answers:?}");
        }
        // The same single-use serial from another device of the same shopper, at the same moment as a third try
        // from the phone, one at each instance: still only the phone's first use counts.
        let copy = redemption(200 + n, &code(grant, &tablet, u64::from(n) + 1, at + 1), at + 1);
        let again = redemption(300 + n, &code(grant, &phone, u64::from(n) + 100, at + 1), at + 1);
        let answers = at_once([&issuer.collector, &other], REDEMPTIONS, [&body(&copy), &body(&again)], 200);
        for answer in &answers {
            assert_eq!(answer["results"][0]["status"], "double_spend", "{answers:?}");
        }
    }

    let stored = read_redemptions(&issuer.db).unwrap();
    assert_eq!(stored.len(), 3 * coupons.len(), "one row per redemption id, the repeated one included once");
    for grant in &grants {
        let of_serial: Vec<_> = stored.iter().filter(|r| r.serial.as_deref() == Some(&grant.grant().serial)).collect();
        let accepted: Vec<_> = of_serial.iter().filter(|r| r.status == "accepted").collect();
        assert_eq!(accepted.len(), 1, "{of_serial:?}");
        assert_eq!(accepted[0].device.as_deref(), Some(phone_id.as_str()));
        let tablet_try = of_serial.iter().find(|r| r.device.as_deref() == Some(tablet_id.as_str())).unwrap();
        assert_eq!(tablet_try.status, "double_spend", "attributed to the device that made it");
    }
}

#[test]
fn a_console_session_and_the_sign_in_lock_hold_on_every_instance() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let start = || {
        let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &db);
        config.console = Some(admin());
        Collector::start(config).unwrap()
    };
    let (a, b) = (start(), start());

    // Signed in on A; the next requests land on B.
    let mut on_a = Browser::new(&a);
    assert_eq!(on_a.sign_in(PASSWORD).status, 303);
    let mut on_b = on_a.on(&b);
    let page = on_b.get("/console/audit");
    assert_eq!(page.status, 200, "B knows the session A opened");
    // Signed out on B: the same cookie no longer opens A either.
    assert_eq!(on_b.post("/console/sign-out", &[("csrf", &hidden(&page, "csrf"))]).status, 303);
    assert_eq!(on_a.get("/console/audit").status, 303, "back to the sign-in page");

    // A guesser alternating between the instances is locked after five failures in all, on both.
    let (mut guess_a, mut guess_b) = (Browser::new(&a), Browser::new(&b));
    let statuses: Vec<u16> = (0..5)
        .map(|i| if i % 2 == 0 { guess_a.sign_in("not the password") } else { guess_b.sign_in("not the password") })
        .map(|resp| resp.status)
        .collect();
    assert_eq!(statuses, [401, 401, 401, 401, 429], "the fifth failure locks, whichever instance saw it");
    assert_eq!(Browser::new(&b).sign_in(PASSWORD).status, 429, "locked on B too, even for the right password");
}
