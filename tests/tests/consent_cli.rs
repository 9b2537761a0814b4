//! `footfall consent tcf-decode`: the JSON it prints for strings encoded by the IAB's library
//! (`tests/tcf-vectors/vectors.json`), and the one-line refusal of invalid strings.

use footfall_tests::{footfall, tcf_vector as vector};
use serde_json::Value;

fn decode_ok(tc_string: &str) -> Value {
    let out = footfall(&["consent", "tcf-decode", tc_string]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

const ALWAYS: [&str; 20] = [
    "version",
    "created",
    "last_updated",
    "cmp_id",
    "cmp_version",
    "consent_screen",
    "consent_language",
    "vendor_list_version",
    "policy_version",
    "is_service_specific",
    "use_non_standard_texts",
    "purpose_one_treatment",
    "publisher_cc",
    "special_feature_opt_ins",
    "purpose_consents",
    "purpose_legitimate_interests",
    "vendor_consents",
    "vendor_legitimate_interests",
    "publisher_restrictions",
    "warnings",
];

fn keys(json: &Value) -> Vec<String> {
    let mut keys: Vec<String> = json.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn prints_every_field_of_a_string_with_all_segments() {
    let v = vector("all-segments");
    let json = decode_ok(v["tc_string"].as_str().unwrap());
    let mut expected: Vec<String> =
        ALWAYS.iter().chain(&["disclosed_vendors", "allowed_vendors", "publisher_tc"]).map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(keys(&json), expected);

    let e = &v["expected"];
    // Every field equals the IAB library's decoding, except the times (RFC 3339 here, epoch ms there) and ours.
    for same in expected.iter().filter(|k| !["created", "last_updated", "warnings"].contains(&k.as_str())) {
        let same = same.as_str();
        assert_eq!(json[same], e[same], "{same}");
    }
    assert_eq!(json["created"], "2024-05-17T09:30:12.300Z");
    assert_eq!(json["last_updated"], "2024-05-17T09:30:12.300Z");
    assert_eq!(json["consent_language"], "EN");
    assert_eq!(json["warnings"], serde_json::json!([]));
}

#[test]
fn optional_segments_are_printed_only_when_present_and_restrictions_as_objects() {
    let v = vector("publisher-restrictions");
    let json = decode_ok(v["tc_string"].as_str().unwrap());
    let mut expected: Vec<String> = ALWAYS.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(keys(&json), expected);
    assert_eq!(json["publisher_restrictions"], v["expected"]["publisher_restrictions"]);
    assert_eq!(json["publisher_restrictions"][1], serde_json::json!({"purpose": 2, "type": 1, "vendors": [5]}));
    // A v2.2 string without DisclosedVendors is read, with a warning.
    assert!(json["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("DisclosedVendors")));
}

#[test]
fn raw_li_bits_are_printed_as_sent() {
    let v = vector("core-li-raw-bits-policy4");
    let json = decode_ok(v["tc_string"].as_str().unwrap());
    assert_eq!(json["purpose_legitimate_interests"], serde_json::json!([1, 3, 4, 5, 6, 7, 8]));
    assert_eq!(json["policy_version"], 4);
}

#[test]
fn invalid_strings_exit_non_zero_with_one_line() {
    let good = vector("core-minimal")["tc_string"].as_str().unwrap().to_string();
    let cases = [
        (format!("B{}", &good[1..]), "unsupported TC string version"),
        (good[..10].to_string(), "ends inside"),
        (format!("{}+{}", &good[..5], &good[6..]), "invalid character '+' at position 5"),
        (format!("{good}.IH0A"), "needs MaxVendorId = 1000 bits but only 4 remain"),
        (String::new(), "empty"),
    ];
    for (input, reason) in cases {
        let out = footfall(&["consent", "tcf-decode", &input]);
        assert_eq!(out.status.code(), Some(1), "{input}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("footfall: invalid TC string: ") && stderr.contains(reason), "{input}: {stderr}");
    }
}

#[test]
fn help_documents_the_json_form() {
    let out = footfall(&["consent", "tcf-decode", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("RFC 3339") && help.contains("RAW bits") && help.contains("number"), "{help}");
}
