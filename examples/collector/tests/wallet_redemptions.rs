//! `POST /v1/wallet/redemptions` over real sockets on 127.0.0.1: codes judged at their presentation time, one use
//! per single-use serial whatever the devices, double spends attributed, and every repeat answered the same.

mod common;

use std::sync::Arc;

use common::wallet::{code, device, now, redemption, rfc3339, Issuer, DAY};
use common::{id, post_to};
use footfall_collector::wallet::{read_redemptions, revoke_coupon, StoredRedemption};
use footfall_collector::{Endpoint, ScriptedFault};
use footfall_core::wallet::{
    decode_code, device_id, encode_code, present_code, verify_grant, DeviceSigner, IssuerSigner, KeySet, VerifiedGrant,
};
use serde_json::json;

/// The holder's grant of `coupon`, from a full listing.
fn grant_of(issuer: &Issuer, holder: &str, coupon: &str) -> VerifiedGrant {
    let feed = issuer.feed(holder, None);
    issuer.grants(&feed).into_iter().find(|g| g.grant().coupon_id == coupon).expect("the coupon is listed")
}

fn row(issuer: &Issuer, redemption_id: &str) -> StoredRedemption {
    read_redemptions(&issuer.db).unwrap().into_iter().find(|r| r.redemption_id == redemption_id).unwrap()
}

#[test]
fn two_devices_spend_one_single_use_serial_once_and_every_repeat_gets_the_first_answer() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    issuer.add("spring10", |_| {});
    let grant = grant_of(&issuer, "anon-1", "spring10");
    let (phone, copy) = (device(), device());
    let at = now() - 60;
    let first = redemption(1, &code(&grant, &phone, 1, at), at);
    let second = redemption(2, &code(&grant, &copy, 1, at + 5), at + 5);

    assert_eq!(issuer.redeem_statuses(std::slice::from_ref(&first)), ["accepted"]);
    assert_eq!(issuer.redeem_statuses(std::slice::from_ref(&second)), ["double_spend"]);
    let phone_id = device_id(&phone.public_key().unwrap());
    let copy_id = device_id(&copy.public_key().unwrap());
    let accepted = row(&issuer, &id(1));
    assert_eq!(
        (accepted.status.as_str(), accepted.device.as_deref(), accepted.serial.as_deref(), accepted.counter),
        ("accepted", Some(phone_id.as_str()), Some(grant.grant().serial.as_str()), Some(1))
    );
    let double = row(&issuer, &id(2));
    assert_eq!((double.status.as_str(), double.device.as_deref()), ("double_spend", Some(copy_id.as_str())));

    // Re-sent (a lost answer), alone or together: the same answers, nothing new recorded.
    assert_eq!(issuer.redeem_statuses(&[second.clone(), first.clone()]), ["double_spend", "accepted"]);
    // The phone's (key, counter) under a new redemptionId: the first answer again.
    let mut replay = first.clone();
    replay["redemptionId"] = json!(id(3));
    assert_eq!(issuer.redeem_statuses(&[replay]), ["accepted"]);
    assert_eq!(read_redemptions(&issuer.db).unwrap().len(), 2);

    // The holder's feed tombstones the serial as redeemed, naming the store and the device that used it.
    let feed = issuer.feed("anon-1", None);
    let tombstone = &feed["tombstones"][0];
    assert_eq!(
        (tombstone["reason"].as_str(), tombstone["storeId"].as_str(), tombstone["device"].as_str()),
        (Some("redeemed"), Some("tokyo-1"), Some(phone_id.as_str()))
    );
    assert_eq!(tombstone["at"].as_str(), Some(rfc3339(at).as_str()));
}

#[test]
fn concurrent_redemptions_of_one_serial_give_exactly_one_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Arc::new(Issuer::start(&dir));
    issuer.add("spring10", |_| {});
    let grant = grant_of(&issuer, "anon-1", "spring10");
    let at = now();
    let bodies: Vec<_> = (0..6).map(|n| redemption(10 + n, &code(&grant, &device(), 1, at), at)).collect();
    let threads: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let issuer = issuer.clone();
            std::thread::spawn(move || issuer.redeem_statuses(&[body]).remove(0))
        })
        .collect();
    let mut statuses: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, ["accepted", "double_spend", "double_spend", "double_spend", "double_spend", "double_spend"]);
}

#[test]
fn a_multi_use_serial_counts_its_uses_and_the_feed_follows() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    issuer.add("twice", |s| {
        s.max_uses = 2;
        s.offline.max_uses = 2;
    });
    let full = issuer.feed("anon-1", None);
    let grant = issuer.grants(&full).remove(0);
    let phone = device();
    let at = now();
    assert_eq!(issuer.redeem_statuses(&[redemption(1, &code(&grant, &phone, 1, at), at)]), ["accepted"]);
    let after_one = issuer.feed("anon-1", Some(full["cursor"].as_str().unwrap()));
    assert_eq!((after_one["upserts"][0]["uses"].as_u64(), after_one["tombstones"].clone()), (Some(1), json!([])));
    assert_eq!(
        issuer.redeem_statuses(&[
            redemption(2, &code(&grant, &phone, 2, at), at),
            redemption(3, &code(&grant, &phone, 3, at), at)
        ]),
        ["accepted", "double_spend"]
    );
    let after_two = issuer.feed("anon-1", Some(after_one["cursor"].as_str().unwrap()));
    assert_eq!(after_two["tombstones"][0]["reason"], "redeemed");
}

#[test]
fn a_code_presented_two_days_before_it_is_posted_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    issuer.add("spring10", |_| {});
    let grant = grant_of(&issuer, "anon-1", "spring10");
    let presented = now() - 2 * DAY;
    assert_eq!(
        issuer.redeem_statuses(&[redemption(1, &code(&grant, &device(), 1, presented), presented)]),
        ["accepted"]
    );
    assert_eq!(row(&issuer, &id(1)).presented_at, rfc3339(presented));
}

#[test]
fn codes_that_do_not_verify_or_coupons_not_good_then_are_rejected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    issuer.add("spring10", |_| {});
    issuer.add("gone", |_| {});
    let grant = grant_of(&issuer, "anon-1", "spring10");
    let phone = device();
    let at = now();

    // A proof that does not verify: the counter changed after signing.
    let genuine = decode_code(&code(&grant, &phone, 1, at)).unwrap();
    let mut altered = genuine.proof.clone();
    altered.counter = 2;
    let forged = encode_code(&genuine.grant_bytes, &altered).unwrap();
    // A challenge the proof does not answer.
    let answered = present_code(&grant, &phone, 3, at, Some(b"till-7")).unwrap();
    let mut wrong_challenge = redemption(3, &answered, at);
    wrong_challenge["challenge"] = json!("dGlsbC04"); // "till-8"
    let mut right_challenge = redemption(4, &answered, at);
    right_challenge["challenge"] = json!("dGlsbC03"); // "till-7"
                                                      // presentedAt far from the time the device signed: not fresh.
    let stale = redemption(5, &code(&grant, &phone, 5, at - 600), at);
    assert_eq!(
        issuer.redeem_statuses(&[redemption(2, &forged, at), wrong_challenge, stale, right_challenge]),
        ["rejected:bad_proof", "rejected:bad_proof", "rejected:stale", "accepted"]
    );
    let refused = row(&issuer, &id(2));
    assert_eq!(
        (refused.coupon_id.as_deref(), refused.device),
        (Some("spring10"), None),
        "an unproven device is not named"
    );

    // Revoked: a code presented before the revocation still counts, one presented after does not.
    let gone = grant_of(&issuer, "anon-1", "gone");
    let before = redemption(6, &code(&gone, &phone, 6, at - 30), at - 30);
    revoke_coupon(&issuer.db, "gone").unwrap();
    let after = redemption(7, &code(&gone, &device(), 1, at + 30), at + 30);
    assert_eq!(issuer.redeem_statuses(&[after, before]), ["rejected:revoked", "accepted"]);

    // A grant the issuer never signed, and a code that is not one.
    let stranger = IssuerSigner::from_seed("kforged", &[3; 32]).unwrap();
    let stranger_keys = KeySet::new(1, vec![stranger.issuer_key(0, None)]).unwrap();
    let forged_grant = verify_grant(&grant.grant().sign(&stranger).unwrap(), &stranger_keys, at).unwrap();
    assert_eq!(
        issuer.redeem_statuses(&[
            redemption(8, &code(&forged_grant, &phone, 8, at), at),
            redemption(9, "NOT A CODE", at)
        ]),
        ["rejected:unknown_key", "rejected:malformed"]
    );
}

#[test]
fn a_malformed_request_is_refused_whole_and_faults_apply() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start(&dir);
    issuer.add("spring10", |_| {});
    let grant = grant_of(&issuer, "anon-1", "spring10");
    let at = now();
    let good = redemption(1, &code(&grant, &device(), 1, at), at);
    let mut bad = redemption(2, "X", at);
    bad["presentedAt"] = json!("yesterday");
    let resp = post_to(&issuer.collector, common::wallet::REDEMPTIONS, &json!({"redemptions": [good.clone(), bad]}));
    assert_eq!((resp.status, resp.error_code().as_str()), (400, "invalid_request"));
    assert!(resp.json()["error"]["message"].as_str().unwrap().contains(&id(2)));
    assert!(resp.header("date").is_some());
    assert!(read_redemptions(&issuer.db).unwrap().is_empty(), "nothing of a refused request is decided");

    // The answer is lost after the use was spent: the re-send gets the same answer, not a double spend.
    issuer.collector.script_for(Endpoint::WalletRedemptions, vec![ScriptedFault::StoreThenStatus { status: 503 }]);
    assert_eq!(issuer.redeem(std::slice::from_ref(&good)).status, 503);
    assert_eq!(issuer.redeem_statuses(&[good]), ["accepted"]);
    assert_eq!(issuer.collector.requests_to(Endpoint::WalletRedemptions), 3);
}
