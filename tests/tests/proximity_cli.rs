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
