//! Decides, per request, whether and how to misbehave. Decisions are taken under one mutex so a seed yields the
//! same sequence of outcomes whatever the connection interleaving. Each endpoint has its own script and its own
//! seeded roll sequence: an SDK polling `/v1/config` does not change which batch gets the next fault.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::config::{Endpoint, FaultConfig, ScriptedFault};

const DEFAULT_FAIL_STATUS: u16 = 503;

/// What the handler must do with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Process normally.
    Normal,
    /// Answer `status` without storing.
    Fail { status: u16, retry_after: Option<String> },
    /// Store, then answer `status`.
    StoreThenFail { status: u16 },
    /// Abort the connection without a response.
    Drop,
    /// Store, wait, then answer normally.
    Delay { ms: u64 },
}

/// A decision plus the standing latency in force when it was taken.
pub(crate) struct Decision {
    pub plan: Plan,
    pub latency_ms: u64,
}

/// One endpoint's rolls and one-shot faults.
struct Stream {
    rng: fastrand::Rng,
    script: VecDeque<ScriptedFault>,
}

struct State {
    config: FaultConfig,
    streams: [Stream; Endpoint::ALL.len()],
}

/// The roll seed of one endpoint: the batch endpoint keeps `seed` itself, so its sequence is what it always was.
fn stream_seed(seed: u64, endpoint: Endpoint) -> u64 {
    seed ^ (endpoint.index() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

pub(crate) struct Faults {
    state: Mutex<State>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        let streams = Endpoint::ALL
            .map(|e| Stream { rng: fastrand::Rng::with_seed(stream_seed(config.seed, e)), script: VecDeque::new() });
        Faults { state: Mutex::new(State { config, streams }) }
    }

    /// Replaces the knobs and reseeds every endpoint, so a test that sets faults gets a reproducible sequence
    /// from here on. Scripted faults already queued stay queued.
    pub fn set(&self, config: FaultConfig) {
        let mut state = self.lock();
        for endpoint in Endpoint::ALL {
            state.streams[endpoint.index()].rng = fastrand::Rng::with_seed(stream_seed(config.seed, endpoint));
        }
        state.config = config;
    }

    pub fn script(&self, endpoint: Endpoint, faults: Vec<ScriptedFault>) {
        self.lock().streams[endpoint.index()].script.extend(faults);
    }

    pub fn decide(&self, endpoint: Endpoint) -> Decision {
        let mut guard = self.lock();
        let state = &mut *guard;
        let latency_ms = state.config.latency_ms;
        let stream = &mut state.streams[endpoint.index()];
        let plan = match stream.script.pop_front() {
            Some(ScriptedFault::Status { status, retry_after }) => Plan::Fail { status, retry_after },
            Some(ScriptedFault::StoreThenStatus { status }) => Plan::StoreThenFail { status },
            Some(ScriptedFault::DropConnection) => Plan::Drop,
            Some(ScriptedFault::Delay { ms }) => Plan::Delay { ms },
            None => {
                let rate = state.config.fail_rate;
                // No roll at the extremes (or for NaN), so 0 and 1 never advance the sequence.
                let fail = if rate >= 1.0 {
                    true
                } else if rate > 0.0 {
                    stream.rng.f64() < rate
                } else {
                    false
                };
                if fail {
                    let status = match state.config.fail_status {
                        0 => DEFAULT_FAIL_STATUS,
                        s => s,
                    };
                    Plan::Fail { status, retry_after: state.config.retry_after.clone() }
                } else {
                    Plan::Normal
                }
            }
        };
        Decision { plan, latency_ms }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave State inconsistent (plain field writes), so recover.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_runs_before_rate_and_in_order() {
        let faults = Faults::new(FaultConfig { fail_rate: 1.0, ..FaultConfig::default() });
        faults.script(Endpoint::Batch, vec![ScriptedFault::DropConnection, ScriptedFault::Delay { ms: 5 }]);
        assert_eq!(faults.decide(Endpoint::Batch).plan, Plan::Drop);
        assert_eq!(faults.decide(Endpoint::Batch).plan, Plan::Delay { ms: 5 });
        assert_eq!(faults.decide(Endpoint::Batch).plan, Plan::Fail { status: 503, retry_after: None });
    }

    #[test]
    fn endpoints_have_their_own_script_and_rolls() {
        let faults = Faults::new(FaultConfig::default());
        faults.script(Endpoint::Config, vec![ScriptedFault::DropConnection]);
        assert_eq!(faults.decide(Endpoint::Batch).plan, Plan::Normal);
        assert_eq!(faults.decide(Endpoint::Config).plan, Plan::Drop);
        assert_eq!(faults.decide(Endpoint::Config).plan, Plan::Normal);

        // Interleaved config polls do not shift the batch sequence.
        let config = FaultConfig { fail_rate: 0.5, seed: 7, ..FaultConfig::default() };
        let alone = Faults::new(config.clone());
        let mixed = Faults::new(config);
        let batches_alone: Vec<Plan> = (0..30).map(|_| alone.decide(Endpoint::Batch).plan).collect();
        let batches_mixed: Vec<Plan> = (0..30)
            .map(|_| {
                mixed.decide(Endpoint::Config);
                mixed.decide(Endpoint::Deletion);
                mixed.decide(Endpoint::Batch).plan
            })
            .collect();
        assert_eq!(batches_alone, batches_mixed);
    }

    #[test]
    fn same_seed_same_sequence() {
        let run = |seed| {
            let f = Faults::new(FaultConfig { fail_rate: 0.5, seed, ..FaultConfig::default() });
            (0..50).map(|_| f.decide(Endpoint::Batch).plan == Plan::Normal).collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }
}
