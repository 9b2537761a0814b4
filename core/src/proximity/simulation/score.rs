//! Scoring a detector's transitions against a trace's ground truth, per zone, summed.
//!
//! - **false exit**: an Exit detected while truly inside, more than [`EXIT_TOLERANCE_MS`] from any true exit;
//! - **false enter**: an Enter detected while truly outside, not within [`ENTER_TOLERANCE_MS`] before a true enter;
//! - **missed visit**: a true visit during which the detector was never inside;
//! - **enter latency**: from a true enter to the first Enter detected in `[enter − tolerance, exit]` (0 if early);
//! - **exit latency**: from a true exit to the detection of the Exit that closed the visit open at that moment
//!   (negative if early); a visit still open at the next true enter is a **missed exit** (two visits merged).

use std::collections::BTreeMap;

use serde::Serialize;

use super::trace::{TraceEvent, TruthEvent};
use crate::proximity::presence::Transition;

pub const ENTER_TOLERANCE_MS: u64 = 10_000;
pub const EXIT_TOLERANCE_MS: u64 = 20_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Score {
    pub true_visits: usize,
    pub enters: usize,
    pub exits: usize,
    pub false_exits: usize,
    pub false_enters: usize,
    pub missed_visits: usize,
    pub missed_exits: usize,
    pub enter_latency_ms: Percentiles,
    pub exit_latency_ms: Percentiles,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: i64,
    pub p90: i64,
    pub samples: usize,
}

impl Percentiles {
    fn of(mut samples: Vec<i64>) -> Percentiles {
        samples.sort_unstable();
        let at = |q: f64| samples.get(((samples.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0);
        Percentiles { p50: at(0.5), p90: at(0.9), samples: samples.len() }
    }
}

/// Whether a trace carries any ground truth.
pub fn has_truth(events: &[TraceEvent]) -> bool {
    events.iter().any(|event| matches!(event, TraceEvent::Truth { .. }))
}

pub fn score(events: &[TraceEvent], transitions: &[Transition]) -> Score {
    let end = events.iter().map(TraceEvent::t).max().unwrap_or(0);
    let mut truths: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    let mut open: BTreeMap<&str, u64> = BTreeMap::new();
    for event in events {
        if let TraceEvent::Truth { t, truth, zone } = event {
            match truth {
                TruthEvent::Enter => {
                    open.entry(zone).or_insert(*t);
                }
                TruthEvent::Exit => {
                    if let Some(entered) = open.remove(zone.as_str()) {
                        truths.entry(zone).or_default().push((entered, *t));
                    }
                }
            }
        }
    }
    for (zone, entered) in open {
        truths.entry(zone).or_default().push((entered, end));
    }
    let mut total = Score::default();
    let (mut enter_latencies, mut exit_latencies) = (Vec::new(), Vec::new());
    for (zone, visits) in &truths {
        let detected = detected_visits(zone, transitions);
        score_zone(visits, &detected, &mut total, &mut enter_latencies, &mut exit_latencies);
    }
    total.enter_latency_ms = Percentiles::of(enter_latencies);
    total.exit_latency_ms = Percentiles::of(exit_latencies);
    total
}

/// (entered at, exit detected at) of each detected visit in one zone; an open one has no exit.
fn detected_visits(zone: &str, transitions: &[Transition]) -> Vec<(u64, Option<u64>)> {
    let mut visits: Vec<(u64, Option<u64>)> = Vec::new();
    for transition in transitions.iter().filter(|t| t.zone() == zone) {
        match transition {
            Transition::Enter { at_ms, .. } => visits.push((*at_ms, None)),
            Transition::Exit { detected_at_ms, .. } => {
                if let Some(last) = visits.last_mut().filter(|v| v.1.is_none()) {
                    last.1 = Some(*detected_at_ms);
                }
            }
            Transition::Dwell { .. } => {}
        }
    }
    visits
}

fn score_zone(
    truths: &[(u64, u64)],
    detected: &[(u64, Option<u64>)],
    total: &mut Score,
    enter_latencies: &mut Vec<i64>,
    exit_latencies: &mut Vec<i64>,
) {
    let truly_inside = |t: u64| truths.iter().any(|&(a, b)| (a..b).contains(&t));
    total.true_visits += truths.len();
    total.enters += detected.len();
    for &(entered, exited) in detected {
        if !truly_inside(entered) && !truths.iter().any(|&(a, _)| (entered..=entered + ENTER_TOLERANCE_MS).contains(&a))
        {
            total.false_enters += 1;
        }
        if let Some(exited) = exited {
            total.exits += 1;
            if truly_inside(exited) && !truths.iter().any(|&(_, b)| b.abs_diff(exited) <= EXIT_TOLERANCE_MS) {
                total.false_exits += 1;
            }
        }
    }
    for (i, &(a, b)) in truths.iter().enumerate() {
        let overlaps = |&&(entered, exited): &&(u64, Option<u64>)| {
            entered <= b && exited.is_none_or(|x| x + ENTER_TOLERANCE_MS >= a)
        };
        if !detected.iter().any(|d| overlaps(&d)) {
            total.missed_visits += 1;
            continue;
        }
        if let Some(&(entered, _)) = detected.iter().find(|&&(e, _)| e + ENTER_TOLERANCE_MS >= a && e <= b) {
            enter_latencies.push(entered as i64 - a as i64);
        }
        // The detected visit open at the true exit (or closed within the tolerance before it).
        let open_at_exit = detected.iter().find(|&&(e, x)| e <= b && x.is_none_or(|x| x + EXIT_TOLERANCE_MS >= b));
        if let Some(&(_, exited)) = open_at_exit {
            let next_enter = truths.get(i + 1).map_or(u64::MAX, |&(a, _)| a);
            match exited {
                Some(x) if x < next_enter => exit_latencies.push(x as i64 - b as i64),
                _ => total.missed_exits += 1,
            }
        }
    }
    // Early enters (within the tolerance) count as no latency.
    for latency in enter_latencies.iter_mut() {
        *latency = (*latency).max(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proximity::simulation::trace::TruthEvent;
    use std::sync::Arc;

    fn truth(t: u64, truth: TruthEvent) -> TraceEvent {
        TraceEvent::Truth { t, truth, zone: "store".into() }
    }

    #[test]
    fn a_flap_inside_is_a_false_exit_and_a_false_enter_is_counted_outside() {
        let zone: Arc<str> = Arc::from("store");
        let events =
            vec![truth(10_000, TruthEvent::Enter), truth(300_000, TruthEvent::Exit), truth(900_000, TruthEvent::Enter)];
        let transitions = vec![
            Transition::Enter { zone: zone.clone(), at_ms: 14_000 },
            Transition::Exit { zone: zone.clone(), at_ms: 90_000, detected_at_ms: 100_000 },
            Transition::Enter { zone: zone.clone(), at_ms: 110_000 },
            Transition::Exit { zone: zone.clone(), at_ms: 300_000, detected_at_ms: 330_000 },
            Transition::Enter { zone: zone.clone(), at_ms: 500_000 },
            Transition::Exit { zone: zone.clone(), at_ms: 500_000, detected_at_ms: 520_000 },
        ];
        let score = score(&events, &transitions);
        assert_eq!((score.true_visits, score.false_exits, score.false_enters, score.missed_visits), (2, 1, 1, 1));
        assert_eq!(score.enter_latency_ms.p50, 4_000);
        assert_eq!(score.exit_latency_ms.p50, 30_000);
    }
}
