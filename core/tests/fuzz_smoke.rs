//! A deterministic fuzz pass over everything the core parses from outside, run in the suite: server answers
//! (status, headers, body), `Retry-After` values and the properties JSON the FFI hands in. Each must give a
//! verdict or a typed error within its documented bounds — never a panic. The coverage-guided versions of these
//! targets live in `tests/fuzz`.

use std::time::Duration;

use footfall_core::event::{parse_object, serialize_object};
use footfall_core::sync::verdict::{classify, parse_retry_after, Verdict, MAX_REASON_CHARS};
use footfall_core::{HttpResponse, RetryPolicy};

const ITERATIONS: usize = 20_000;

fn random_text(rng: &mut fastrand::Rng, max: usize) -> String {
    let alphabet: &[u8] = b"0123456789 ,:-GMTSunMonNovDec{}[]\"error\"message\"code\"duplicates\"\\\n";
    (0..rng.usize(0..max))
        .map(|_| if rng.u8(0..8) == 0 { rng.char(..) } else { alphabet[rng.usize(0..alphabet.len())] as char })
        .collect()
}

#[test]
fn any_server_answer_gets_a_bounded_verdict() {
    let mut rng = fastrand::Rng::with_seed(7);
    let policy = RetryPolicy::default();
    let mut seen = [0usize; 5];
    for _ in 0..ITERATIONS {
        let status = if rng.bool() { rng.u16(..) } else { [200, 400, 413, 429, 503, 401][rng.usize(0..6)] };
        let mut headers = Vec::new();
        for _ in 0..rng.usize(0..3) {
            let name = ["Retry-After", "retry-after", "Content-Type", "X-Other"][rng.usize(0..4)];
            headers.push((name.to_string(), random_text(&mut rng, 40)));
        }
        let body = match rng.u8(0..3) {
            0 => random_text(&mut rng, 2_000).into_bytes(),
            1 => (0..rng.usize(0..600)).map(|_| rng.u8(..)).collect(),
            _ => format!(
                r#"{{"error":{{"message":{}}},"duplicates":{}}}"#,
                serde_json::json!(random_text(&mut rng, 900)),
                rng.i64(..)
            )
            .into_bytes(),
        };
        let response = HttpResponse { status, headers, body };
        let verdict = classify(&Ok(response), 1_795_000_000_000, &policy);
        match verdict {
            Verdict::Delivered { .. } => seen[0] += 1,
            Verdict::Rejected { reason, .. }
            | Verdict::TooLarge { reason }
            | Verdict::Pause { reason }
            | Verdict::CertificateInvalid { reason } => {
                assert!(reason.chars().count() <= MAX_REASON_CHARS);
                seen[1] += 1;
            }
            Verdict::Retry { after, reason } => {
                assert!(reason.chars().count() <= MAX_REASON_CHARS);
                if let Some(after) = after {
                    assert!(after >= policy.min_retry_after && after <= policy.max_retry_after, "{after:?}");
                    seen[3] += 1;
                }
                seen[2] += 1;
            }
        }
    }
    assert!(seen.iter().take(4).all(|n| *n > 0), "every verdict kind was reached: {seen:?}");
}

#[test]
fn retry_after_parsing_never_panics_and_never_goes_negative() {
    let mut rng = fastrand::Rng::with_seed(11);
    for _ in 0..ITERATIONS {
        let text = if rng.bool() {
            random_text(&mut rng, 40)
        } else {
            format!(
                "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
                ["Sun", "Mon", "X"][rng.usize(0..3)],
                rng.u32(0..40),
                ["Jan", "Feb", "Nov", "Foo"][rng.usize(0..4)],
                rng.i64(-5000..100_000),
                rng.u32(0..30),
                rng.u32(0..70),
                rng.u32(0..70)
            )
        };
        if let Some(delay) = parse_retry_after(&text, 1_795_000_000_000) {
            assert!(delay >= Duration::ZERO);
        }
    }
}

#[test]
fn properties_json_from_the_app_is_parsed_or_refused_with_a_reason() {
    let mut rng = fastrand::Rng::with_seed(13);
    let valid = r#"{"sku":"4901234567894","price":1980,"tags":["a",{"b":[1,2,{"c":null}]}],"ok":true}"#;
    let (mut ok, mut refused) = (0, 0);
    for i in 0..ITERATIONS {
        let mut bytes = valid.as_bytes().to_vec();
        if i % 3 == 0 {
            bytes = "[".repeat(rng.usize(0..200)).into_bytes();
        } else {
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(0..bytes.len().max(1));
                if at < bytes.len() && rng.bool() {
                    bytes[at] = rng.u8(..);
                } else {
                    bytes.truncate(at);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        match parse_object(&text)
            .map_err(|e| e.to_string())
            .and_then(|v| serialize_object(&v).map_err(|e| e.to_string()))
        {
            Ok(json) => {
                ok += 1;
                assert!(json.starts_with('{') && json.len() <= footfall_core::event::MAX_PROPERTIES_BYTES);
            }
            Err(reason) => {
                refused += 1;
                assert!(!reason.is_empty());
            }
        }
    }
    assert!(ok > 0 && refused > 0, "ok {ok}, refused {refused}");
}

/// The `GET /v1/config` body: a policy or a typed refusal. An accepted policy is stored as JSON and read back at
/// every start, so it must survive that round trip unchanged (else the SDK would fall back to the built-in one).
#[test]
fn any_remote_config_is_a_policy_that_reloads_unchanged_or_a_refusal() {
    use footfall_core::consent::policy::Policy;
    use footfall_core::consent::state::ConsentState;
    const SEED: &str = r#"{"consent":{"policyVersion":3,"noticeHash":"sha256:abc","maxConsentAgeDays":365,
        "purposes":[{"id":"analytics"},{"id":"marketing","materialChangeVersion":3},{"id":"essential"}],
        "prompts":[{"id":"main","enabled":true,"purposes":["analytics","marketing"],"copy":{"title":"t","body":"b","acceptAll":"a"},"triggers":["app_start"]}]}}"#;
    const PIECES: [&str; 16] = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"analytics\"",
        "\"id\"",
        "\"materialChangeVersion\"",
        "4294967295",
        "-1",
        "\"essential\"",
        "null",
        "\"policyVersion\"",
        "\"Ads\"",
        "\"\\u0000\"",
    ];
    let mut rng = fastrand::Rng::with_seed(11);
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..ITERATIONS {
        let mut text = SEED.to_string();
        for _ in 0..rng.usize(0..4) {
            let at = (0..=text.len()).filter(|i| text.is_char_boundary(*i)).nth(rng.usize(0..=text.len())).unwrap_or(0);
            match rng.u8(0..3) {
                0 => text.insert_str(at, PIECES[rng.usize(0..PIECES.len())]),
                1 => {
                    let end = (at + rng.usize(1..12)).min(text.len());
                    if text.is_char_boundary(end) {
                        text.replace_range(at..end, "");
                    }
                }
                _ => text = text.replacen("analytics", PIECES[rng.usize(0..PIECES.len())].trim_matches('"'), 1),
            }
        }
        match Policy::from_remote_config(text.as_bytes()) {
            Ok(policy) => {
                accepted += 1;
                let stored = serde_json::to_string(&policy).unwrap();
                let reloaded: Policy = serde_json::from_str(&stored).unwrap();
                assert_eq!(reloaded.validated().as_ref(), Ok(&policy), "{text}");
                let _ = ConsentState::default().needs_prompt(&policy, 1_795_000_000_000);
            }
            Err(e) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(accepted > 100 && refused > 100, "both outcomes reached: {accepted} accepted, {refused} refused");
}
