//! `footfall proximity simulate|replay` as a tool user drives them: the simulation's trace replays to the same
//! scores, every transition is one JSON line, and a broken input exits 1 with one line.

use footfall_tests::footfall;
use serde_json::Value;

#[test]
fn a_simulated_trace_replays_to_the_same_scores() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    let out =
        footfall(&["proximity", "simulate", "--seed", "11", "--shoppers", "40", "--out", trace.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["shoppers"], 40);
    assert!(report["ours"]["true_visits"].as_u64().unwrap() >= 30, "{report}");
    assert!(report["altbeacon_defaults"]["false_exits"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["goal"]["false_exits_at_most_half"], true, "{report}");

    // The same seed prints the same report.
    let again = footfall(&["proximity", "simulate", "--seed", "11", "--shoppers", "40"]);
    assert_eq!(serde_json::from_slice::<Value>(&again.stdout).unwrap(), report);

    let zones = dir.path().join("zones.json");
    std::fs::write(&zones, serde_json::json!({ "zones": report["zones"] }).to_string()).unwrap();
    let replay =
        footfall(&["proximity", "replay", "--trace", trace.to_str().unwrap(), "--zones", zones.to_str().unwrap()]);
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    let lines: Vec<Value> =
        String::from_utf8(replay.stdout).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let (scores, transitions) = lines.split_last().unwrap();
    assert_eq!(scores["scores"]["ours"], report["ours"]);
    assert_eq!(scores["scores"]["altbeacon_defaults"], report["altbeacon_defaults"]);
    let enters = transitions.iter().filter(|t| t["type"] == "enter").count() as u64;
    assert_eq!(enters, report["ours"]["enters"].as_u64().unwrap());
    assert!(transitions.iter().all(|t| t["zone"] == "store" && t["atMs"].is_u64()), "{transitions:?}");
}

#[test]
fn a_trace_without_truth_prints_only_transitions_and_broken_inputs_exit_1_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let beacon = "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2";
    let zones = dir.path().join("zones.json");
    std::fs::write(&zones, format!(r#"[{{"id":"till","store":"s1","beacons":["{beacon}"],"enterRssi":-70}}]"#))
        .unwrap();
    let trace = dir.path().join("trace.jsonl");
    let mut text = String::new();
    for second in 0..5u64 {
        text.push_str(&format!("{{\"t\":{},\"beacon\":\"{beacon}\",\"rssi\":-60}}\n", second * 1_000 + 500));
        text.push_str(&format!("{{\"t\":{},\"scan\":\"tick\"}}\n", (second + 1) * 1_000));
    }
    std::fs::write(&trace, &text).unwrap();
    let out =
        footfall(&["proximity", "replay", "--trace", trace.to_str().unwrap(), "--zones", zones.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "{\"type\":\"enter\",\"zone\":\"till\",\"atMs\":1500}\n");

    std::fs::write(&trace, format!("{text}{{\"t\":9000,\"scan\":\"nap\"}}\n")).unwrap();
    let bad_trace =
        footfall(&["proximity", "replay", "--trace", trace.to_str().unwrap(), "--zones", zones.to_str().unwrap()]);
    std::fs::write(
        &zones,
        format!(r#"[{{"id":"till","store":"s1","beacons":["{beacon}"],"enterRssi":-70,"exitRssi":-60}}]"#),
    )
    .unwrap();
    let bad_zone =
        footfall(&["proximity", "replay", "--trace", trace.to_str().unwrap(), "--zones", zones.to_str().unwrap()]);
    for (out, expected) in [(bad_trace, "line 11"), (bad_zone, "zone 'till': exitRssi -60 must be below enterRssi -70")]
    {
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        let reason = String::from_utf8(out.stderr).unwrap();
        assert_eq!(reason.lines().count(), 1, "{reason}");
        assert!(reason.contains(expected), "{reason}");
    }
}

#[test]
fn replaying_into_a_data_dir_runs_the_sdk_consent_first_then_visits_offers_and_their_events() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("phone");
    let data_dir = data.to_str().unwrap();
    let beacon = "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2";
    let config = dir.path().join("config.json");
    let document = serde_json::json!({"proximity": {"version": 1,
        "zones": [{"id": "door", "store": "s1", "beacons": [beacon], "enterRssi": -70}],
        "campaigns": [{"id": "hello", "zones": ["door"], "trigger": "enter",
                       "offer": {"title": "offer.hello.title", "body": "offer.hello.body"}}]}});
    std::fs::write(&config, document.to_string()).unwrap();
    let trace = dir.path().join("trace.jsonl");
    let mut text = String::new();
    for second in 0..6u64 {
        text.push_str(&format!("{{\"t\":{},\"beacon\":\"{beacon}\",\"rssi\":-60}}\n", second * 1_000 + 500));
        text.push_str(&format!("{{\"t\":{},\"scan\":\"tick\"}}\n", (second + 1) * 1_000));
    }
    for second in 6..50u64 {
        text.push_str(&format!("{{\"t\":{},\"scan\":\"tick\"}}\n", (second + 1) * 1_000));
    }
    std::fs::write(&trace, &text).unwrap();
    let replay = || {
        footfall(&[
            "proximity",
            "replay",
            "--trace",
            trace.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data_dir,
            "--start",
            "2026-12-06T10:00:00Z",
        ])
    };

    let refused = replay();
    assert_eq!(refused.status.code(), Some(1), "without location every input is dropped");
    let reason = String::from_utf8(refused.stderr).unwrap();
    assert!(reason.contains("location is not granted"), "{reason}");

    assert!(footfall(&["consent", "grant", "--data-dir", data_dir, "location"]).status.success());
    let out = replay();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let phases: Vec<&str> = lines.iter().filter_map(|l| l["visit"]["phase"].as_str()).collect();
    assert_eq!(phases, ["entered", "ended"], "{lines:?}");
    assert_eq!(lines.iter().filter(|l| l["offer"]["campaign_id"] == "hello").count(), 1, "{lines:?}");
    let visits: Vec<&Value> = lines.iter().filter(|l| l["visit"].is_object()).collect();
    assert_eq!(visits[0]["visit"]["id"], visits[1]["visit"]["id"]);
    assert_eq!(visits[0]["visit"]["entered_at"], "2026-12-06T10:00:01.500Z", "dated on the trace's clock");
    let summary = lines.last().unwrap();
    assert_eq!(summary["summary"]["processed"], 56, "{summary}");

    let export = footfall(&["export", "--data-dir", data_dir]);
    let export: Value = serde_json::from_slice(&export.stdout).unwrap();
    let names: Vec<&str> = export["events"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["visit_started", "visit_ended"], "offer_shown needs marketing, which is not granted");
}
