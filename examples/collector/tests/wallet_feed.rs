//! The wallet feed (`GET /v1/wallet/changes`) and clips over real sockets on 127.0.0.1: full listing, incremental
//! changes with tombstones, start-over, ETag/304, paging, and grants a device verifies with the issuer's key set.

mod common;

use common::database::database;

use std::io::Write;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use common::wallet::{local_day, now, Issuer, CHANGES, CLIPS, DAY, REDEMPTIONS};
use common::{get, id, post_to, Conn};
use footfall_collector::wallet::{keyset_json, read_keyset, revoke_coupon, PAGE_SIZE};
use footfall_collector::{Collector, CollectorConfig, Endpoint, ScriptedFault};
use footfall_core::wallet::{parse_imf_fixdate, sign_rotation, verify_grant, IssuerSigner, KeySet};
use serde_json::{json, Value};

/// The coupon ids a feed answer upserts, from grants verified as a device verifies them.
fn upserted(issuer: &Issuer, feed: &Value) -> Vec<String> {
    issuer.grants(feed).iter().map(|g| g.grant().coupon_id.clone()).collect()
}

fn tombstoned(feed: &Value) -> Vec<String> {
    feed["tombstones"].as_array().unwrap().iter().map(|t| t["couponId"].as_str().unwrap().to_string()).collect()
}

fn cursor(feed: &Value) -> String {
    feed["cursor"].as_str().unwrap().to_string()
}

#[test]
fn without_an_issuer_key_the_wallet_is_not_offered() {
    let dir = tempfile::tempdir().unwrap();
    let c = Collector::start(CollectorConfig::new("127.0.0.1:0".parse().unwrap(), database(dir.path()))).unwrap();
    let resp = get(&c, CHANGES, &[("X-Footfall-Anonymous-Id", "anon-1")]);
    assert_eq!((resp.status, resp.error_code().as_str()), (404, "not_offered"));
    assert!(resp.header("date").is_some_and(|d| parse_imf_fixdate(d).is_ok()), "wallet answers carry a Date");
    for path in [CLIPS, REDEMPTIONS] {
        let resp = post_to(&c, path, &json!({}));
        assert_eq!((resp.status, resp.error_code().as_str()), (404, "not_offered"), "{path}");
    }
    assert_eq!(c.wallet_keyset_json(), None);
    assert_eq!(Conn::plain(&c).send("POST", CHANGES, &[], b"").unwrap().header("allow"), Some("GET"));
    assert_eq!(Conn::plain(&c).send("GET", REDEMPTIONS, &[], b"").unwrap().header("allow"), Some("POST"));
}

#[test]
fn a_full_listing_then_changes_with_a_revoke_tombstone() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    issuer.add("autumn5", |_| {});
    issuer.add("spring10", |s| s.gtins = vec![footfall_core::wallet::Gtin::parse("4901234567894").unwrap()]);
    issuer.add("vip20", |s| s.user = Some("shopper-42".into()));

    let full = issuer.feed("anon-1", None);
    assert_eq!((full["full"].as_bool(), full["hasMore"].as_bool()), (Some(true), Some(false)));
    assert_eq!(upserted(&issuer, &full), ["autumn5", "spring10"], "vip20 is for shopper-42 only");
    assert_eq!(full["tombstones"], json!([]));
    let grants = issuer.grants(&full);
    let serial = grants[0].grant().serial.clone();
    assert!(grants.iter().all(|g| g.kid() == issuer.keys().keys[0].kid));
    assert_eq!(full["upserts"][0]["uses"], 0);
    let display: Value =
        serde_json::from_slice(&B64.decode(full["upserts"][0]["display"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(display, json!({"title": "autumn5: 10 % off", "terms": "One per shopper."}));

    // Nothing changed: an empty answer with the same cursor; the serial is the holder's for good.
    let quiet = issuer.feed("anon-1", Some(&cursor(&full)));
    assert_eq!(
        (quiet["full"].as_bool(), quiet["upserts"].clone(), quiet["tombstones"].clone()),
        (Some(false), json!([]), json!([]))
    );
    assert_eq!(cursor(&quiet), cursor(&full));
    assert_eq!(issuer.grants(&issuer.feed("anon-1", None))[0].grant().serial, serial);

    // The signed-in shopper holds a serial of its own, and the coupon meant for it.
    let user = issuer.changes("anon-2", Some("shopper-42"), None, None).json();
    assert_eq!(upserted(&issuer, &user), ["autumn5", "spring10", "vip20"]);
    assert_ne!(issuer.grants(&user)[0].grant().serial, serial);

    revoke_coupon(&issuer.db, "autumn5").unwrap();
    issuer.add("winter15", |_| {});
    let changed = issuer.feed("anon-1", Some(&cursor(&full)));
    assert_eq!(upserted(&issuer, &changed), ["winter15"]);
    let tombstone = &changed["tombstones"][0];
    assert_eq!((tombstone["couponId"].as_str(), tombstone["reason"].as_str()), (Some("autumn5"), Some("revoked")));
    assert_eq!(tombstone["serial"].as_str(), Some(serial.as_str()));
    assert!(tombstone["at"].as_str().unwrap().ends_with('Z'));
    assert_ne!(cursor(&changed), cursor(&full));
    let after = issuer.feed("anon-1", Some(&cursor(&changed)));
    assert_eq!((after["upserts"].clone(), after["tombstones"].clone()), (json!([]), json!([])));

    // A full listing keeps the tombstone (the device may have missed it); a holder that never saw the coupon
    // gets neither.
    let again = issuer.feed("anon-1", None);
    assert_eq!(tombstoned(&again), ["autumn5"]);
    assert_eq!(tombstoned(&issuer.feed("anon-3", None)), Vec::<String>::new());
}

#[test]
fn an_unknown_or_future_cursor_is_gone_and_a_holder_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    issuer.add("spring10", |_| {});
    let future_revision = B64.encode("v1:99:0");
    let future_time = B64.encode(format!("v1:0:{}", now() + DAY));
    for since in ["bogus!", "djE6", future_revision.as_str(), future_time.as_str()] {
        let resp = issuer.changes("anon-1", None, Some(since), None);
        assert_eq!((resp.status, resp.error_code().as_str()), (410, "cursor_gone"), "{since}");
        assert!(resp.header("date").is_some());
    }
    let resp = get(&issuer.collector, CHANGES, &[]);
    assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_request"));
}

#[test]
fn an_unchanged_feed_answers_304_to_its_etag() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    issuer.add("spring10", |_| {});
    let first = issuer.changes("anon-1", None, None, None);
    let etag = first.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "strong: {etag}");
    let since = cursor(&first.json());

    let incremental = issuer.changes("anon-1", None, Some(&since), None);
    let tag = incremental.header("etag").unwrap().to_string();
    let unchanged = issuer.changes("anon-1", None, Some(&since), Some(&tag));
    assert_eq!((unchanged.status, unchanged.body.len()), (304, 0));
    assert_eq!(unchanged.header("etag"), Some(tag.as_str()));
    let date = unchanged.header("date").expect("a Date on a 304 too");
    assert!((parse_imf_fixdate(date).unwrap() / 1000 - now()).abs() < 60, "{date}");
    // The same full listing again is byte for byte the same (Ed25519 signs deterministically).
    assert_eq!(issuer.changes("anon-1", None, None, Some(&etag)).status, 304);

    revoke_coupon(&issuer.db, "spring10").unwrap();
    let changed = issuer.changes("anon-1", None, Some(&since), Some(&tag));
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), Some(tag.as_str()));
}

#[test]
fn grants_verify_only_with_the_issuers_key_set_and_every_reader_agrees_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    issuer.add("spring10", |_| {});
    let served = issuer.collector.wallet_keyset_json().unwrap();
    assert_eq!(read_keyset(&issuer.db).unwrap(), served);
    assert_eq!(keyset_json(&issuer.key_file).unwrap(), served);

    let feed = issuer.feed("anon-1", None);
    let bytes = B64.decode(feed["upserts"][0]["grant"].as_str().unwrap()).unwrap();
    assert!(verify_grant(&bytes, &issuer.keys(), now()).is_ok());
    // Another issuer's key under the same kid: the signature does not verify.
    let kid = issuer.keys().keys[0].kid.clone();
    let stranger = KeySet::new(1, vec![IssuerSigner::from_seed(&kid, &[9; 32]).unwrap().issuer_key(0, None)]).unwrap();
    assert!(verify_grant(&bytes, &stranger, now()).is_err());

    // Restarting with the same key file keeps the same key: grants already on phones stay valid.
    let config_db = issuer.db.clone();
    drop(issuer);
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &config_db);
    config.issuer_key = Some(dir.path().join("issuer.json"));
    assert_eq!(Collector::start(config).unwrap().wallet_keyset_json().unwrap(), served);
}

#[test]
fn a_coupon_that_expires_becomes_a_tombstone_once() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    issuer.add("short", |s| {
        s.valid_until = local_day(1);
        s.grace_secs = 600;
    });
    issuer.add("long", |s| s.valid_until = local_day(30));
    let full = issuer.feed("anon-1", None);
    assert_eq!(upserted(&issuer, &full), ["long", "short"]);
    let short_end = issuer.grants(&full)[1].grant().validity.not_after + 600;

    issuer.collector.set_clock_offset_secs(3 * DAY);
    let later = issuer.feed("anon-1", Some(&cursor(&full)));
    assert_eq!(tombstoned(&later), ["short"]);
    assert_eq!(later["tombstones"][0]["reason"], "expired");
    let at = later["tombstones"][0]["at"].as_str().unwrap();
    assert_eq!(at, jiff::Timestamp::from_second(short_end).unwrap().strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    assert_eq!(later["upserts"], json!([]));
    // Told once.
    assert_eq!(issuer.feed("anon-1", Some(&cursor(&later)))["tombstones"], json!([]));
}

#[test]
fn more_than_a_page_sets_has_more_and_the_pages_list_everything_once() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    let total = PAGE_SIZE + 5;
    for n in 0..total {
        issuer.add(&format!("c{n:03}"), |_| {});
    }
    let first = issuer.feed("anon-1", None);
    assert_eq!((first["hasMore"].as_bool(), first["full"].as_bool()), (Some(true), Some(true)));
    let mut seen = upserted(&issuer, &first);
    assert_eq!(seen.len(), PAGE_SIZE);
    // A coupon revoked between pages, behind the page boundary, is not lost: the final cursor predates it.
    revoke_coupon(&issuer.db, "c000").unwrap();
    let second = issuer.feed("anon-1", Some(&cursor(&first)));
    assert_eq!((second["hasMore"].as_bool(), second["full"].as_bool()), (Some(false), Some(true)));
    seen.extend(upserted(&issuer, &second));
    let expected: Vec<String> = (0..total).map(|n| format!("c{n:03}")).collect();
    assert_eq!(seen, expected);
    let next = issuer.feed("anon-1", Some(&cursor(&second)));
    assert_eq!(tombstoned(&next), ["c000"]);
    assert_eq!(next["upserts"], json!([]), "serials handed out on a later page are not repeated");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn clip(n: u32) -> Value {
    json!({"clipId": id(n), "couponId": "spring10", "serial": "s-1", "clippedAt": "2026-12-05T09:10:01.000Z",
           "anonymousId": "anon-1", "userId": "shopper-42"})
}

#[test]
fn clips_are_stored_once_per_clip_id() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    let c = &issuer.collector;
    let body = |clips: Vec<Value>| json!({"clips": clips, "sentAt": "2026-12-05T09:10:02.000Z"});
    let answer = |resp: common::Resp| {
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        assert!(resp.header("date").is_some());
        (resp.json()["accepted"].as_u64().unwrap(), resp.json()["duplicates"].as_u64().unwrap())
    };
    assert_eq!(answer(post_to(c, CLIPS, &body(vec![clip(1), clip(2)]))), (2, 0));
    assert_eq!(answer(post_to(c, CLIPS, &body(vec![clip(1), clip(2)]))), (0, 2));
    let gzipped = gzip(body(vec![clip(3), clip(1)]).to_string().as_bytes());
    let resp = Conn::plain(c).send("POST", CLIPS, &[("Content-Encoding", "gzip")], &gzipped).unwrap();
    assert_eq!(answer(resp), (1, 1));

    let mut bad = clip(4);
    bad["clippedAt"] = json!("yesterday");
    let resp = post_to(c, CLIPS, &body(vec![clip(5), bad]));
    assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_request"));
    assert!(resp.json()["error"]["message"].as_str().unwrap().contains(&id(4)));
    assert_eq!(answer(post_to(c, CLIPS, &body(vec![clip(5)]))), (1, 0), "nothing of a refused request is stored");

    // Fault injection applies here like everywhere: stored, then the answer is lost.
    c.script_for(Endpoint::WalletClips, vec![ScriptedFault::StoreThenStatus { status: 503 }]);
    assert_eq!(post_to(c, CLIPS, &body(vec![clip(6)])).status, 503);
    assert_eq!(answer(post_to(c, CLIPS, &body(vec![clip(6)]))), (0, 1));
    assert_eq!(c.requests_to(Endpoint::WalletClips), 7);
}

#[test]
fn a_configured_key_set_rotation_rides_along_with_every_answer() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    issuer.add("spring10", |_| {});
    let trusted = issuer.keys();
    // The operator signs the next set (current key plus a new one) with the current key, from the key file.
    let file: Value = serde_json::from_slice(&std::fs::read(&issuer.key_file).unwrap()).unwrap();
    let seed: [u8; 32] = B64.decode(file["seed"].as_str().unwrap()).unwrap().try_into().unwrap();
    let current = IssuerSigner::from_seed(file["kid"].as_str().unwrap(), &seed).unwrap();
    let next_key = IssuerSigner::from_seed("knext", &[5; 32]).unwrap();
    let next = KeySet::new(2, vec![current.issuer_key(0, None), next_key.issuer_key(0, None)]).unwrap();
    let rotation = dir.path().join("rotation.json");
    std::fs::write(&rotation, sign_rotation(&next, &current)).unwrap();
    let db = issuer.db.clone();
    drop(issuer);

    let start = |rotation_file: &std::path::Path| {
        let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), &db);
        config.issuer_key = Some(dir.path().join("issuer.json"));
        config.keyset_rotation = Some(rotation_file.to_path_buf());
        Collector::start(config)
    };
    let c = start(&rotation).unwrap();
    let feed = get(&c, CHANGES, &[("X-Footfall-Anonymous-Id", "anon-1")]).json();
    let offered = serde_json::to_vec(&feed["keyset"]).unwrap();
    assert_eq!(trusted.accept_rotation(&offered, now()), Ok(next.clone()), "a device applies it");
    drop(c);

    // A rotation the devices would refuse (signed by a key they do not trust) stops the collector at start.
    std::fs::write(&rotation, sign_rotation(&next, &next_key)).unwrap();
    let err = start(&rotation).unwrap_err().to_string();
    assert!(err.contains("rotation") && err.contains("refuse"), "{err}");
}
