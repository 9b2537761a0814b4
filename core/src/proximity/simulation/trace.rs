//! A trace: one phone's timeline of readings and scan events, with the ground truth when it is known, and its
//! JSON Lines form (one object per line, parsed back strictly with the line number of any problem):
//! `{"t":ms,"beacon":"…","rssi":-70}`, `{"t":ms,"scan":"tick"|"start"|"stop"}`,
//! `{"t":ms,"truth":"enter"|"exit","zone":"…"}`.

use serde::{Deserialize, Serialize};

use crate::proximity::sighting::{BeaconId, RSSI_RANGE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEvent {
    Reading {
        t: u64,
        beacon: BeaconId,
        rssi: i16,
    },
    Scan {
        t: u64,
        scan: ScanEvent,
    },
    /// Ground truth, for scoring only: detectors never see it.
    Truth {
        t: u64,
        truth: TruthEvent,
        zone: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanEvent {
    /// A scan cycle ended with scanning on.
    Tick,
    /// The platform said scanning (re)started.
    Start,
    /// The platform said scanning stopped.
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TruthEvent {
    Enter,
    Exit,
}

impl TraceEvent {
    pub fn t(&self) -> u64 {
        match self {
            TraceEvent::Reading { t, .. } | TraceEvent::Scan { t, .. } | TraceEvent::Truth { t, .. } => *t,
        }
    }
}

/// Why a trace line is not a trace event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trace line {line}: {problem}")]
pub struct TraceError {
    pub line: usize,
    pub problem: String,
}

/// Every member any line may carry; which ones are present decides the kind.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Line {
    t: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    beacon: Option<BeaconId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rssi: Option<i16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scan: Option<ScanEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    truth: Option<TruthEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zone: Option<String>,
}

/// The JSON Lines text of a trace (each line ends with a newline).
pub fn to_jsonl(events: &[TraceEvent]) -> String {
    let mut text = String::with_capacity(events.len() * 64);
    for event in events {
        let line = match event {
            TraceEvent::Reading { t, beacon, rssi } => {
                Line { t: *t, beacon: Some(*beacon), rssi: Some(*rssi), ..Line::default() }
            }
            TraceEvent::Scan { t, scan } => Line { t: *t, scan: Some(*scan), ..Line::default() },
            TraceEvent::Truth { t, truth, zone } => {
                Line { t: *t, truth: Some(*truth), zone: Some(zone.clone()), ..Line::default() }
            }
        };
        // A struct of plain members always serialises.
        text.push_str(&serde_json::to_string(&line).unwrap_or_default());
        text.push('\n');
    }
    text
}

/// Parses JSON Lines back into events. Blank lines are skipped; anything else must be exactly one kind of line.
pub fn parse_jsonl(text: &str) -> Result<Vec<TraceEvent>, TraceError> {
    let mut events = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let error = |problem: String| TraceError { line: i + 1, problem };
        let line: Line = serde_json::from_str(raw).map_err(|e| error(e.to_string()))?;
        let event = match line {
            Line { t, beacon: Some(beacon), rssi: Some(rssi), scan: None, truth: None, zone: None } => {
                if rssi == 0 || !RSSI_RANGE.contains(&rssi) {
                    return Err(error(format!("rssi {rssi} is not a reading (-127 to 20, not 0)")));
                }
                TraceEvent::Reading { t, beacon, rssi }
            }
            Line { t, scan: Some(scan), beacon: None, rssi: None, truth: None, zone: None } => {
                TraceEvent::Scan { t, scan }
            }
            Line { t, truth: Some(truth), zone: Some(zone), beacon: None, rssi: None, scan: None } => {
                TraceEvent::Truth { t, truth, zone }
            }
            _ => {
                return Err(error(
                    "expected {t, beacon, rssi}, {t, scan} or {t, truth, zone}, and nothing else".to_string(),
                ))
            }
        };
        events.push(event);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let events = vec![
            TraceEvent::Scan { t: 0, scan: ScanEvent::Start },
            TraceEvent::Reading {
                t: 500,
                beacon: "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2".parse().unwrap(),
                rssi: -70,
            },
            TraceEvent::Truth { t: 900, truth: TruthEvent::Enter, zone: "store".into() },
            TraceEvent::Scan { t: 1_000, scan: ScanEvent::Tick },
        ];
        let text = to_jsonl(&events);
        assert!(text.starts_with("{\"t\":0,\"scan\":\"start\"}\n"), "{text}");
        assert!(text.contains("{\"t\":500,\"beacon\":\"2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2\",\"rssi\":-70}"));
        assert_eq!(parse_jsonl(&text).unwrap(), events);
    }

    #[test]
    fn a_bad_line_is_named_by_number() {
        for (text, expected) in [
            ("{\"t\":0,\"scan\":\"tick\"}\n{\"t\":1,\"scan\":\"nap\"}", "line 2"),
            ("{\"t\":0,\"scan\":\"tick\",\"rssi\":-70}", "line 1: expected"),
            ("\n{\"t\":0,\"beacon\":\"x\",\"rssi\":-70}", "line 2"),
            ("{\"t\":0,\"beacon\":\"2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2\",\"rssi\":0}", "not a reading"),
            ("{\"t\":-1,\"scan\":\"tick\"}", "line 1"),
            ("{\"t\":0,\"truth\":\"enter\"}", "expected"),
            ("{\"t\":0,\"scan\":\"tick\",\"extra\":1}", "unknown field"),
        ] {
            let message = parse_jsonl(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
