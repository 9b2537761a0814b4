//! Decides, per batch request, whether and how to misbehave. Decisions are taken under one mutex so a seed
//! yields the same sequence of outcomes whatever the connection interleaving.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::config::{FaultConfig, ScriptedFault};

const DEFAULT_FAIL_STATUS: u16 = 503;

/// What the handler must do with one batch request.
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

struct State {
    config: FaultConfig,
    rng: fastrand::Rng,
    script: VecDeque<ScriptedFault>,
}

pub(crate) struct Faults {
    state: Mutex<State>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        let rng = fastrand::Rng::with_seed(config.seed);
        Faults { state: Mutex::new(State { config, rng, script: VecDeque::new() }) }
    }

    /// Replaces the knobs and reseeds, so a test that sets faults gets a reproducible sequence from here on.
    /// Scripted faults already queued stay queued.
    pub fn set(&self, config: FaultConfig) {
        let mut state = self.lock();
        state.rng = fastrand::Rng::with_seed(config.seed);
        state.config = config;
    }

    pub fn script(&self, faults: Vec<ScriptedFault>) {
        self.lock().script.extend(faults);
    }

    pub fn decide(&self) -> Decision {
        let mut state = self.lock();
        let latency_ms = state.config.latency_ms;
        let plan = match state.script.pop_front() {
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
                    state.rng.f64() < rate
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
        faults.script(vec![ScriptedFault::DropConnection, ScriptedFault::Delay { ms: 5 }]);
        assert_eq!(faults.decide().plan, Plan::Drop);
        assert_eq!(faults.decide().plan, Plan::Delay { ms: 5 });
        assert_eq!(faults.decide().plan, Plan::Fail { status: 503, retry_after: None });
    }

    #[test]
    fn same_seed_same_sequence() {
        let run = |seed| {
            let f = Faults::new(FaultConfig { fail_rate: 0.5, seed, ..FaultConfig::default() });
            (0..50).map(|_| f.decide().plan == Plan::Normal).collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }
}
