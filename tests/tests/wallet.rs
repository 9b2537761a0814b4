//! The coupon wallet across real processes and the reference issuer on loopback: two phones of one shopper
//! present the same single-use coupon in a basement, two offline tills accept both, and once the phones sync the
//! issuer has exactly one `accepted` and one `double_spend` naming the second phone's key; re-sending changes
//! nothing. And `footfall wallet present` SIGKILLed mid-way never hands out a counter twice nor loses a code it
//! printed.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use footfall_collector::{Collector, Endpoint, ScriptedFault};
use footfall_tests::{collector_in, footfall, footfall_bin};
use serde_json::Value;

fn ok(args: &[&str]) -> String {
    let out = footfall(args);
    assert!(out.status.success(), "footfall {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A collector issuing coupons, with its key set written where apps and tills read it.
fn issuer(dir: &Path) -> (Collector, String, String) {
    let collector = collector_in(dir, |c| c.issuer_key = Some(dir.join("issuer.json")));
    let db = dir.join("collector.db").to_str().unwrap().to_string();
    let keyset = dir.join("keyset.json");
    std::fs::write(&keyset, ok(&["collector", "keyset", "--db", &db])).unwrap();
    (collector, db, keyset.to_str().unwrap().to_string())
}

/// `footfall collector coupon add --db DB --id ID --title ID` with the coupon's own flags.
fn add_coupon(db: &str, id: &str, flags: &[&str]) {
    ok(&[&["collector", "coupon", "add", "--db", db, "--id", id, "--title", id][..], flags].concat());
}

fn redemptions(db: &str) -> Vec<Value> {
    json_lines(&ok(&["collector", "redemptions", "--db", db]))
}

#[test]
fn two_phones_present_one_single_use_coupon_offline_and_the_issuer_names_the_second_phone() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, db, keyset) = issuer(dir.path());
    let endpoint = collector.base_url();
    add_coupon(
        &db,
        "xmas10",
        &[
            "--discount",
            "300 JPY",
            "--valid-until-local",
            "2030-12-24",
            "--zone",
            "Asia/Tokyo",
            "--user",
            "shopper-1",
            "--max-uses",
            "1",
        ],
    );
    let phones: Vec<String> =
        ["phone-a", "phone-b"].iter().map(|p| dir.path().join(p).to_str().unwrap().into()).collect();
    let mut codes = Vec::new();
    for (i, phone) in phones.iter().enumerate() {
        // The wallet is a service the shopper asked for: on phone B analytics is denied, and signing in still
        // names the shopper, so B holds the same personal coupon (only the identify message is not recorded).
        if i == 0 {
            ok(&["consent", "grant", "--data-dir", phone, "analytics"]);
        }
        let wallet = ["--data-dir", phone.as_str(), "--endpoint", &endpoint, "--user-id", "shopper-1"];
        let synced: Value =
            serde_json::from_str(&ok(&[&["wallet", "sync", "--keyset", &keyset][..], &wallet].concat())).unwrap();
        assert_eq!(synced["refused"], serde_json::json!([]), "{synced}");
        let listed = json_lines(&ok(&[&["wallet", "list"][..], &wallet].concat()));
        assert_eq!((listed[0]["id"].as_str(), listed[0]["usable_now"].as_bool()), (Some("xmas10"), Some(true)));
        // In the basement: nothing is sent.
        let presented =
            ok(&[&["wallet", "present", "xmas10", "--store", "tokyo-1", "--no-send"][..], &wallet].concat());
        codes.push(serde_json::from_str::<Value>(&presented).unwrap());
    }
    let serials: BTreeSet<String> = phones
        .iter()
        .map(|p| {
            let export: Value = serde_json::from_str(&ok(&["export", "--data-dir", p])).unwrap();
            export["wallet"]["coupons"][0]["serial"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(serials.len(), 1, "one shopper on two phones holds one serial");
    assert_ne!(codes[0]["device"], codes[1]["device"], "each phone has its own device key");

    // Two offline tills, each with its own ledger, accept a code each: offline, single use cannot be enforced.
    for (i, code) in codes.iter().enumerate() {
        let ledger = dir.path().join(format!("till-{i}.ledger"));
        let verdict = ok(&[
            "pos",
            "verify",
            "--keyset",
            &keyset,
            "--store",
            "tokyo-1",
            "--ledger",
            ledger.to_str().unwrap(),
            code["code"].as_str().unwrap(),
        ]);
        let verdict: Value = serde_json::from_str(&verdict).unwrap();
        assert_eq!((verdict["valid"].as_bool(), &verdict["device"]), (Some(true), &code["device"]));
        // The same till refuses the second scan of the serial.
        let again = footfall(&[
            "pos",
            "verify",
            "--keyset",
            &keyset,
            "--store",
            "tokyo-1",
            "--ledger",
            ledger.to_str().unwrap(),
            codes[1 - i]["code"].as_str().unwrap(),
        ]);
        assert_eq!(again.status.code(), Some(1), "a till that already took the serial refuses it");
    }

    // Phone A syncs first; its answer is lost once (stored, then a 503), so it sends the same redemption again.
    collector.script_for(Endpoint::WalletRedemptions, vec![ScriptedFault::StoreThenStatus { status: 503 }]);
    for phone in &phones {
        ok(&["flush", "--data-dir", phone, "--endpoint", &endpoint, "--timeout-s", "20"]);
    }
    let recorded = redemptions(&db);
    let statuses: Vec<(&str, &str)> =
        recorded.iter().map(|r| (r["status"].as_str().unwrap(), r["device"].as_str().unwrap())).collect();
    assert_eq!(
        statuses,
        [("accepted", codes[0]["device"].as_str().unwrap()), ("double_spend", codes[1]["device"].as_str().unwrap())],
        "{recorded:?}"
    );
    // Re-sending either changes nothing (the phones have their answers; a flush sends nothing new).
    for phone in &phones {
        ok(&["flush", "--data-dir", phone, "--endpoint", &endpoint, "--timeout-s", "20"]);
    }
    assert_eq!(redemptions(&db), recorded);

    // The phones learn the outcome: A's coupon is redeemed (only the server made it so), B's tells why not.
    let wallet = |phone: &str| json_lines(&ok(&["wallet", "list", "--data-dir", phone, "--endpoint", &endpoint]));
    let a = &wallet(&phones[0])[0];
    assert_eq!((a["state"].as_str(), a["device"].as_str()), (Some("redeemed"), codes[0]["device"].as_str()));
    let b = &wallet(&phones[1])[0];
    assert!(b["state"] == "rejected" || b["state"] == "redeemed", "{b}");
    assert_eq!(b["usable_now"], false);
}

#[test]
fn present_killed_mid_way_never_reuses_a_counter_nor_loses_a_printed_code() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, db, keyset) = issuer(dir.path());
    let endpoint = collector.base_url();
    add_coupon(
        &db,
        "coffee",
        &[
            "--discount",
            "5%",
            "--valid-until-local",
            "2030-12-31",
            "--zone",
            "Europe/Paris",
            "--max-uses",
            "100000",
            "--offline-max-uses",
            "100000",
        ],
    );
    let phone = dir.path().join("phone").to_str().unwrap().to_string();
    ok(&["wallet", "sync", "--data-dir", &phone, "--endpoint", &endpoint, "--keyset", &keyset]);

    let mut rng = fastrand::Rng::with_seed(20261206);
    let mut printed: Vec<Value> = Vec::new();
    for _ in 0..8 {
        let kill_after = rng.usize(1..25);
        let mut child = Command::new(footfall_bin())
            .args(["wallet", "present", "coffee", "--store", "paris-2", "--no-send", "--count", "40"])
            .args(["--data-dir", &phone, "--endpoint", &endpoint])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for (n, line) in lines.by_ref().enumerate() {
            printed.push(serde_json::from_str(&line.unwrap()).unwrap());
            if n + 1 == kill_after {
                child.kill().unwrap(); // SIGKILL, in the middle of the next present
                break;
            }
        }
        // Lines already in the pipe were printed after their counter was durable.
        printed.extend(lines.map_while(Result::ok).map(|l| serde_json::from_str::<Value>(&l).unwrap()));
        child.wait().unwrap();
    }
    let counters: BTreeSet<u64> = printed.iter().map(|p| p["counter"].as_u64().unwrap()).collect();
    assert_eq!(counters.len(), printed.len(), "no two codes share a counter");

    // Every printed code is in the wallet's outbox, and reaches the issuer once the network is back.
    let export: Value = serde_json::from_str(&ok(&["export", "--data-dir", &phone])).unwrap();
    let queued: BTreeSet<String> = export["wallet"]["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "redemption")
        .map(|i| i["body"]["code"].as_str().unwrap().to_string())
        .collect();
    for code in &printed {
        assert!(queued.contains(code["code"].as_str().unwrap()), "a printed code has its redemption queued");
    }
    ok(&["flush", "--data-dir", &phone, "--endpoint", &endpoint, "--timeout-s", "60"]);
    let accepted: BTreeSet<u64> =
        redemptions(&db).iter().filter(|r| r["status"] == "accepted").map(|r| r["counter"].as_u64().unwrap()).collect();
    assert!(
        counters.is_subset(&accepted),
        "every printed code was accepted: missing {:?}",
        counters.difference(&accepted)
    );
}

#[test]
fn validity_follows_each_store_zone_at_the_boundary_instants() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, db, keyset) = issuer(dir.path());
    let endpoint = collector.base_url();
    // (coupon, first local day, last local day, zone, first instant, first instant no longer valid)
    let cases = [
        ("tokyo", "2030-12-01", "2030-12-24", "Asia/Tokyo", "2030-11-30T15:00:00Z", "2030-12-24T15:00:00Z"),
        // DST starts on 10 March (a 23-hour day) and ends on 3 November (25 hours): midnight is EST both times.
        ("newyork", "2030-03-10", "2030-11-03", "America/New_York", "2030-03-10T05:00:00Z", "2030-11-04T05:00:00Z"),
        // Either side of the date line: UTC+14 ends the day first, UTC-11 a whole day later.
        (
            "kiritimati",
            "2030-12-24",
            "2030-12-24",
            "Pacific/Kiritimati",
            "2030-12-23T10:00:00Z",
            "2030-12-24T10:00:00Z",
        ),
        ("pagopago", "2030-12-24", "2030-12-24", "Pacific/Pago_Pago", "2030-12-24T11:00:00Z", "2030-12-25T11:00:00Z"),
    ];
    for (id, first, last, zone, ..) in cases {
        add_coupon(
            &db,
            id,
            &["--discount", "10%", "--valid-from-local", first, "--valid-until-local", last, "--zone", zone],
        );
    }
    let phone = dir.path().join("phone").to_str().unwrap().to_string();
    ok(&["wallet", "sync", "--data-dir", &phone, "--endpoint", &endpoint, "--keyset", &keyset]);
    let list_at = |at: &str| -> Vec<Value> {
        json_lines(&ok(&["wallet", "list", "--data-dir", &phone, "--endpoint", &endpoint, "--at", at]))
    };
    for (id, _, last, zone, start, end) in cases {
        let find = |list: &[Value]| list.iter().find(|c| c["id"] == id).cloned().unwrap();
        let listed = find(&list_at(end));
        assert_eq!(listed["valid_until"], format!("{}.000Z", &end[..19]), "{id}");
        assert_eq!((listed["valid_until_local"].as_str(), listed["zone"].as_str()), (Some(last), Some(zone)));
        assert_eq!(
            (listed["usable_now"].as_bool(), listed["reasons"].clone()),
            (Some(false), serde_json::json!(["expired"])),
            "{id} at its end"
        );
        let just_before_end = find(&list_at(&one_second_before(end)));
        assert_eq!(just_before_end["usable_now"], true, "{id} one second before its end");
        let at_start = find(&list_at(start));
        assert_eq!(at_start["usable_now"], true, "{id} at its first instant");
        let before_start = find(&list_at(&one_second_before(start)));
        assert_eq!(before_start["reasons"], serde_json::json!(["not_yet_valid"]), "{id} before its first instant");
    }
}

/// `2030-12-24T15:00:00Z` → `2030-12-24T14:59:59Z` (the boundaries here are all on the hour).
fn one_second_before(instant: &str) -> String {
    let hour: u32 = instant[11..13].parse().unwrap();
    assert!(hour > 0 && instant.ends_with(":00:00Z"), "boundary {instant} is on an hour after midnight");
    format!("{}{:02}:59:59Z", &instant[..11], hour - 1)
}
