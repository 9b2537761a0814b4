//! Slows down password guessing at the console's sign-in: after a few failures in a row, sign-in is locked for a
//! while, doubling with each further failure. The lock is on the one admin account, not per address, so a guesser
//! cannot spread attempts over many addresses; a success (once unlocked) clears it.

use std::sync::Mutex;

/// Failures allowed in a row before the first lock.
const FREE_FAILURES: u32 = 5;
const FIRST_LOCK_SECS: i64 = 60;
const LONGEST_LOCK_SECS: i64 = 15 * 60;

#[derive(Default)]
pub(crate) struct SignInThrottle {
    state: Mutex<(u32, i64)>,
}

impl SignInThrottle {
    /// Seconds until sign-in may be tried again; 0 when it may now.
    pub(crate) fn wait_secs(&self, now: i64) -> i64 {
        let (_, locked_until) = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        (locked_until - now).max(0)
    }

    /// Counts a refused password; returns how long sign-in is now locked (0: not yet).
    pub(crate) fn failed(&self, now: i64) -> i64 {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0 += 1;
        if state.0 < FREE_FAILURES {
            return 0;
        }
        let doublings = (state.0 - FREE_FAILURES).min(10);
        let lock = (FIRST_LOCK_SECS << doublings).min(LONGEST_LOCK_SECS);
        state.1 = now + lock;
        lock
    }

    pub(crate) fn succeeded(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = (0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_for_a_minute_then_longer_up_to_a_quarter_hour() {
        let throttle = SignInThrottle::default();
        for _ in 0..4 {
            assert_eq!(throttle.failed(1_000), 0);
        }
        assert_eq!(throttle.failed(1_000), 60);
        assert_eq!((throttle.wait_secs(1_030), throttle.wait_secs(1_060)), (30, 0));
        assert_eq!(throttle.failed(1_060), 120, "each further failure doubles the lock");
        assert_eq!((0..10).map(|_| throttle.failed(2_000)).last(), Some(900), "never longer than 15 minutes");
        throttle.succeeded();
        assert_eq!((throttle.wait_secs(2_000), throttle.failed(2_000)), (0, 0), "a success starts the count again");
    }
}
