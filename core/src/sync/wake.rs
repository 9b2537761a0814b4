//! When the sync thread wakes on its own. With nothing pending it arms no timer and sleeps until something happens:
//! a commit (a track, a consent change, a rights request, a wallet action), a flush, an explicit refresh or wallet
//! sync, or the close. The only timers are work that exists: the upload interval while something is queued, a
//! retry or hold that has something to retry, and the policy refresh when the app configured one.

use std::time::Duration;

use crate::config::FlushPolicy;

/// The sync loop's timers, as deadlines in monotonic milliseconds of the injected clock.
#[derive(Debug)]
pub(crate) struct Timers {
    interval_ms: u64,
    automatic: bool,
    refresh_every_ms: Option<u64>,
    /// The upload interval: armed when something becomes pending, cleared when nothing is.
    tick_due: Option<u64>,
    /// The lanes' backoff, hold or certificate wait, kept only while there is something to retry.
    retry_due: Option<u64>,
    refresh_due: Option<u64>,
}

/// What came due when the timer fired.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Fired {
    pub upload: bool,
    pub refresh: bool,
}

impl Timers {
    /// `now`: when the start-up refresh ran (the next one is a full period later).
    pub fn new(policy: &FlushPolicy, refresh_every: Option<Duration>, now: u64) -> Timers {
        let refresh_every_ms = refresh_every.map(|d| d.as_millis() as u64);
        Timers {
            interval_ms: policy.interval.as_millis() as u64,
            automatic: policy.automatic,
            refresh_every_ms,
            tick_due: None,
            retry_due: None,
            refresh_due: refresh_every_ms.map(|every| now + every),
        }
    }

    /// Arms or clears the upload timers for what is pending now (`retry_in_ms`: the lanes' wait, if any); returns
    /// the milliseconds until the earliest deadline, or `None`: sleep until told.
    pub fn plan(&mut self, now: u64, pending: bool, retry_in_ms: Option<u64>) -> Option<u64> {
        if self.automatic && pending {
            self.tick_due.get_or_insert(now + self.interval_ms);
            self.retry_due = retry_in_ms.map(|ms| now + ms);
        } else {
            // Nothing to send: neither the interval nor a backoff has anything to do. The next commit re-arms.
            self.tick_due = None;
            self.retry_due = None;
        }
        [self.tick_due, self.retry_due, self.refresh_due].into_iter().flatten().min().map(|due| due.saturating_sub(now))
    }

    /// Whether the upload interval is running (then commits need not wake the loop: the tick will come).
    pub fn tick_armed(&self) -> bool {
        self.tick_due.is_some()
    }

    /// What is due at `now`; an upload that comes due restarts the interval at the next `plan`.
    pub fn fired(&mut self, now: u64) -> Fired {
        let due = |deadline: Option<u64>| deadline.is_some_and(|t| t <= now);
        let fired = Fired { upload: due(self.tick_due) || due(self.retry_due), refresh: due(self.refresh_due) };
        if fired.upload {
            self.tick_due = None;
            self.retry_due = None;
        }
        if fired.refresh {
            self.refresh_due = self.refresh_every_ms.map(|every| now + every);
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    fn policy() -> FlushPolicy {
        FlushPolicy { interval: Duration::from_secs(30), ..FlushPolicy::default() }
    }

    #[test]
    fn nothing_pending_arms_nothing_whatever_the_lanes_remember() {
        let mut timers = Timers::new(&policy(), None, 0);
        assert_eq!(timers.plan(0, false, None), None);
        // A backoff left over from a failure, with nothing left to retry: no timer either.
        assert_eq!(timers.plan(5, false, Some(1_000)), None);
        assert!(!timers.tick_armed());
    }

    #[test]
    fn pending_work_arms_the_interval_once_and_a_backoff_comes_first() {
        let mut timers = Timers::new(&policy(), None, 0);
        assert_eq!(timers.plan(1_000, true, None), Some(30_000));
        // A later look does not push the interval back.
        assert_eq!(timers.plan(11_000, true, None), Some(20_000));
        assert_eq!(timers.plan(11_000, true, Some(2_000)), Some(2_000));
        assert_eq!(timers.fired(12_999), Fired::default());
        assert_eq!(timers.fired(13_000), Fired { upload: true, refresh: false });
        // Still pending after the pass: the interval starts again from now.
        assert_eq!(timers.plan(13_000, true, None), Some(30_000));
        // Drained: the timer goes.
        assert_eq!(timers.plan(14_000, false, None), None);
    }

    #[test]
    fn manual_uploads_arm_no_upload_timer() {
        let mut timers = Timers::new(&FlushPolicy { automatic: false, ..policy() }, None, 0);
        assert_eq!(timers.plan(0, true, Some(1_000)), None);
    }

    #[test]
    fn a_configured_refresh_is_the_one_timer_that_runs_with_nothing_pending() {
        let mut timers = Timers::new(&policy(), Some(Duration::from_secs(3_600)), 0);
        assert_eq!(timers.plan(MIN, false, None), Some(59 * MIN));
        assert_eq!(timers.fired(60 * MIN), Fired { upload: false, refresh: true });
        assert_eq!(timers.plan(60 * MIN, false, None), Some(60 * MIN));
    }
}
