//! `footfall beacon parse` as a tool user drives it: one JSON object for a frame, exit 1 and one line for anything
//! else.

use footfall_tests::footfall;
use serde_json::{json, Value};

#[test]
fn a_frame_prints_one_json_object_and_a_broken_one_exits_1_with_one_line() {
    let out = footfall(&["beacon", "parse", "0201061aff4c0002152f234454cf6d4a0fadf2f4911ba9ffa601020304c5"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let frame: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        frame,
        json!({"format": "ibeacon", "uuid": "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6", "major": 258, "minor": 772,
               "tx_power": -59, "manufacturer": 76})
    );
    let uid = footfall(&["beacon", "parse", "0201060303aafe1716aafe00e78b0ca750e7a74e14bd990000000000010000"]);
    let uid: Value = serde_json::from_slice(&uid.stdout).unwrap();
    assert_eq!(
        uid,
        json!({"format": "eddystone_uid", "namespace": "8b0ca750e7a74e14bd99", "instance": "000000000001", "tx_power": -25})
    );

    let broken = footfall(&["beacon", "parse", "02011a1bff1801"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(broken.stdout.is_empty());
    let reason = String::from_utf8(broken.stderr).unwrap();
    assert_eq!(reason.lines().count(), 1, "{reason}");
}
