//! One lane's retry state — consecutive failures, our backoff, the server's hold, a pause — shared by the event
//! lane and the essential lane. What must outlive the process is persisted: the server's hold (`Retry-After`),
//! because on mobile the process restarts constantly and a server could not throttle otherwise, and a refused
//! certificate's long wait. Our own backoff and an auth pause end with the process, as documented.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::request::RequestContext;
use super::verdict::Verdict;
use crate::clock::rfc3339_ms;
use crate::config::RetryPolicy;
use crate::error::Result;
use crate::storage::{MetaKey, Storage};

/// The two lanes; each keeps its own state under its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    Events,
    Essential,
}

impl Lane {
    fn meta_key(self) -> MetaKey {
        match self {
            Lane::Events => MetaKey::LaneStateEvents,
            Lane::Essential => MetaKey::LaneStateEssential,
        }
    }
}

/// What a lane is doing, as `status()` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaneCondition {
    /// The last attempt went through (or none was needed).
    Ok,
    /// A transient failure; the next attempt comes after backoff.
    Retrying,
    /// The server asked (`Retry-After`) that nothing be sent until `until`, not even on an explicit flush.
    Held,
    /// 401/403/404 or another status that needs a configuration change; an explicit flush or a restart tries again.
    Paused,
    /// The server's TLS certificate was refused; background passes wait long, an explicit flush tries again.
    CertificateInvalid,
}

/// A lane's condition as `status()` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaneStatus {
    pub state: LaneCondition,
    /// The last failure's reason (`HTTP 503: ...`, the certificate problem), when not `ok`.
    pub reason: Option<String>,
    /// When a hold or a certificate wait ends (RFC 3339, device clock).
    pub until: Option<String>,
    /// The same instant in Unix ms.
    #[serde(skip_serializing)]
    pub until_ms: Option<i64>,
}

impl LaneStatus {
    /// The state the last process on this database left, `ok` when none is stored.
    pub(crate) fn read(storage: &Storage, lane: Lane) -> Result<LaneStatus> {
        Ok(Stored::read(storage, lane)?.into())
    }
}

/// What is persisted per lane; [`LaneStatus`] is derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    state: LaneCondition,
    reason: Option<String>,
    until_ms: Option<i64>,
}

impl Stored {
    fn new(state: LaneCondition, reason: Option<&str>, until_ms: Option<i64>) -> Stored {
        Stored { state, reason: reason.map(str::to_string), until_ms }
    }

    fn read(storage: &Storage, lane: Lane) -> Result<Stored> {
        Ok(storage
            .meta(lane.meta_key())?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_else(|| Stored::new(LaneCondition::Ok, None, None)))
    }
}

impl From<Stored> for LaneStatus {
    fn from(s: Stored) -> LaneStatus {
        LaneStatus { state: s.state, reason: s.reason, until: s.until_ms.map(rfc3339_ms), until_ms: s.until_ms }
    }
}

/// Why a lane stopped before it was done (the verdicts that end a run).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LaneStop {
    Retry { after: Option<Duration>, reason: String },
    Pause { reason: String },
    CertificateInvalid { reason: String },
}

impl LaneStop {
    /// The stop for a verdict that ends the lane's run; `None` for the verdicts a sender settles itself.
    pub fn from_verdict(verdict: Verdict) -> Option<LaneStop> {
        match verdict {
            Verdict::Retry { after, reason } => Some(LaneStop::Retry { after, reason }),
            Verdict::Pause { reason } => Some(LaneStop::Pause { reason }),
            Verdict::CertificateInvalid { reason } => Some(LaneStop::CertificateInvalid { reason }),
            Verdict::Delivered { .. } | Verdict::Rejected { .. } | Verdict::TooLarge { .. } => None,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            LaneStop::Retry { reason, .. } | LaneStop::Pause { reason } | LaneStop::CertificateInvalid { reason } => {
                reason
            }
        }
    }
}

/// Why a lane does not send now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Blocked {
    /// The server's hold: nothing is sent before `until_ms` (wall clock), whoever asks.
    Held {
        after: Duration,
        until_ms: i64,
        reason: String,
    },
    Paused {
        reason: String,
    },
    BackingOff {
        after: Duration,
    },
}

#[derive(Debug, Clone)]
struct Pause {
    reason: String,
    /// Monotonic ms when background passes may try again (`None`: only an explicit flush or a restart).
    until_mono: Option<u64>,
}

pub(crate) struct LaneState {
    lane: Lane,
    consecutive_failures: u32,
    /// Monotonic ms before which background passes do not send (our backoff).
    backoff_until: Option<u64>,
    /// The server's hold, monotonic ms for this process and wall ms for the next.
    hold: Option<(u64, i64)>,
    pause: Option<Pause>,
    /// What is stored, so an unchanged state costs no write.
    persisted: Stored,
}

impl LaneState {
    /// Resumes what a previous process persisted: a hold or a certificate wait still running. A stored instant
    /// further ahead than the policy allows (the device clock was moved back) is clamped to what it allows.
    pub fn load(lane: Lane, storage: &Storage, retry: &RetryPolicy, now_mono: u64, now_wall: i64) -> Result<LaneState> {
        let persisted = Stored::read(storage, lane)?;
        let mut state = LaneState {
            lane,
            consecutive_failures: 0,
            backoff_until: None,
            hold: None,
            pause: None,
            persisted: persisted.clone(),
        };
        let remaining = |max: Duration| {
            persisted
                .until_ms
                .map(|until| (until - now_wall).max(0) as u64)
                .filter(|ms| *ms > 0)
                .map(|ms| ms.min(max.as_millis() as u64))
        };
        match persisted.state {
            LaneCondition::Held => {
                if let Some(ms) = remaining(retry.max_retry_after) {
                    state.hold = Some((now_mono + ms, now_wall + ms as i64));
                }
            }
            LaneCondition::CertificateInvalid => {
                if let Some(ms) = remaining(retry.certificate_retry) {
                    state.pause = Some(Pause {
                        reason: persisted.reason.clone().unwrap_or_default(),
                        until_mono: Some(now_mono + ms),
                    });
                }
            }
            LaneCondition::Ok | LaneCondition::Retrying | LaneCondition::Paused => {}
        }
        Ok(state)
    }

    /// A lane with nothing to resume (used when the stored state cannot be read: fail open to sending, which
    /// the server can still refuse).
    pub fn fresh(lane: Lane) -> LaneState {
        LaneState {
            lane,
            consecutive_failures: 0,
            backoff_until: None,
            hold: None,
            pause: None,
            persisted: Stored::new(LaneCondition::Ok, None, None),
        }
    }

    /// Whether the lane may send now. `explicit` (the app flushed) skips our backoff and a pause, never the
    /// server's hold.
    pub fn blocked(&self, explicit: bool, now_mono: u64) -> Option<Blocked> {
        if let Some((until_mono, until_ms)) = self.hold.filter(|(until, _)| *until > now_mono) {
            let reason = self.persisted.reason.clone().unwrap_or_default();
            return Some(Blocked::Held { after: Duration::from_millis(until_mono - now_mono), until_ms, reason });
        }
        if explicit {
            return None;
        }
        if let Some(pause) = &self.pause {
            if pause.until_mono.is_none_or(|until| until > now_mono) {
                return Some(Blocked::Paused { reason: pause.reason.clone() });
            }
        }
        self.backoff_until
            .filter(|until| *until > now_mono)
            .map(|until| Blocked::BackingOff { after: Duration::from_millis(until - now_mono) })
    }

    /// Milliseconds until a background attempt is due, when the lane waits for one; `None` when nothing is
    /// scheduled (all went through, or paused until the app flushes).
    pub fn retry_in_ms(&self, now_mono: u64) -> Option<u64> {
        let due = match &self.pause {
            Some(pause) => pause.until_mono,
            None => [self.backoff_until, self.hold.map(|(until, _)| until)].into_iter().flatten().max(),
        };
        due.map(|t| t.saturating_sub(now_mono))
    }

    /// The device's network came back: our own backoff after a failure has nothing left to wait for, so the next
    /// background pass tries at once; so does the long wait after a refused certificate, which on another network
    /// may have been that network's (a captive portal answering for the collector). The server's hold and a pause
    /// for credentials stay.
    /// Returns whether the lane was waiting for one of them (else there is nothing to try again).
    pub fn network_available(&mut self) -> bool {
        let backing_off = self.backoff_until.take().is_some();
        let certificate_wait = self.pause.as_ref().is_some_and(|pause| pause.until_mono.is_some());
        if certificate_wait {
            self.pause = None;
        }
        backing_off || certificate_wait
    }

    pub fn on_success(&mut self, storage: &Storage) -> Result<()> {
        self.consecutive_failures = 0;
        self.backoff_until = None;
        self.hold = None;
        self.pause = None;
        self.persist(storage, Stored::new(LaneCondition::Ok, None, None))
    }

    /// A transient failure: the server's delay when it gave one (and then a hold that even a flush respects),
    /// else backoff with full jitter. Returns the wait.
    #[allow(clippy::too_many_arguments)]
    pub fn on_retry(
        &mut self,
        storage: &Storage,
        retry: &RetryPolicy,
        server_delay: Option<Duration>,
        reason: &str,
        unit_random: f64,
        now_mono: u64,
        now_wall: i64,
    ) -> Result<Duration> {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.pause = None;
        let delay =
            server_delay.unwrap_or_else(|| super::verdict::backoff(self.consecutive_failures, retry, unit_random));
        let ms = delay.as_millis() as u64;
        self.backoff_until = Some(now_mono + ms);
        self.hold = server_delay.map(|_| (now_mono + ms, now_wall + ms as i64));
        let stored = match self.hold {
            Some((_, until_ms)) => Stored::new(LaneCondition::Held, Some(reason), Some(until_ms)),
            None => Stored::new(LaneCondition::Retrying, Some(reason), None),
        };
        self.persist(storage, stored)?;
        Ok(delay)
    }

    /// Records why the lane stopped; returns how long background passes now wait (zero for a pause that only a
    /// flush or a restart ends).
    pub fn on_stop(&mut self, storage: &Storage, request: &RequestContext, stop: &LaneStop) -> Result<Duration> {
        let (mono, wall) = (request.clock.monotonic_ms(), request.clock.now_ms());
        match stop {
            LaneStop::Retry { after, reason } => {
                let random = request.random.next_f64();
                self.on_retry(storage, &request.retry, *after, reason, random, mono, wall)
            }
            LaneStop::Pause { reason } => self.on_pause(storage, reason).map(|()| Duration::ZERO),
            LaneStop::CertificateInvalid { reason } => self
                .on_certificate_invalid(storage, &request.retry, reason, mono, wall)
                .map(|()| request.retry.certificate_retry),
        }
    }

    /// A pause until the app flushes or restarts (configuration problems).
    pub fn on_pause(&mut self, storage: &Storage, reason: &str) -> Result<()> {
        self.backoff_until = None;
        self.hold = None;
        self.pause = Some(Pause { reason: reason.to_string(), until_mono: None });
        self.persist(storage, Stored::new(LaneCondition::Paused, Some(reason), None))
    }

    /// A refused certificate: background passes wait `retry.certificate_retry`, across restarts too.
    pub fn on_certificate_invalid(
        &mut self,
        storage: &Storage,
        retry: &RetryPolicy,
        reason: &str,
        now_mono: u64,
        now_wall: i64,
    ) -> Result<()> {
        let ms = retry.certificate_retry.as_millis() as u64;
        self.backoff_until = None;
        self.hold = None;
        self.pause = Some(Pause { reason: reason.to_string(), until_mono: Some(now_mono + ms) });
        self.persist(storage, Stored::new(LaneCondition::CertificateInvalid, Some(reason), Some(now_wall + ms as i64)))
    }

    fn persist(&mut self, storage: &Storage, stored: Stored) -> Result<()> {
        if stored == self.persisted {
            return Ok(());
        }
        let json = serde_json::to_string(&stored).map_err(crate::error::Error::storage)?;
        storage.set_meta(self.lane.meta_key(), Some(&json))?;
        self.persisted = stored;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage() -> (tempfile::TempDir, Storage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        (dir, storage)
    }

    #[test]
    fn a_server_hold_survives_a_restart_and_blocks_even_a_flush() {
        let (_dir, storage) = storage();
        let retry = RetryPolicy::default();
        let mut lane = LaneState::load(Lane::Events, &storage, &retry, 1_000, 5_000_000).unwrap();
        let wait =
            lane.on_retry(&storage, &retry, Some(Duration::from_secs(600)), "HTTP 503", 0.5, 1_000, 5_000_000).unwrap();
        assert_eq!(wait, Duration::from_secs(600));

        // A new process: its monotonic clock starts elsewhere; 100 s of wall time have passed.
        let resumed = LaneState::load(Lane::Events, &storage, &retry, 7, 5_100_000).unwrap();
        assert_eq!(
            resumed.blocked(true, 7),
            Some(Blocked::Held { after: Duration::from_secs(500), until_ms: 5_600_000, reason: "HTTP 503".into() }),
            "an explicit flush must not send while the hold runs"
        );
        assert_eq!(resumed.retry_in_ms(7), Some(500_000));
        assert_eq!(resumed.blocked(true, 500_007), None, "the hold ends on time");

        // The other lane is not held.
        let essential = LaneState::load(Lane::Essential, &storage, &retry, 7, 5_100_000).unwrap();
        assert_eq!(essential.blocked(true, 7), None);

        // After the hold ran out, a later process sends at once.
        let later = LaneState::load(Lane::Events, &storage, &retry, 7, 5_600_001).unwrap();
        assert_eq!(later.blocked(false, 7), None);
    }

    #[test]
    fn a_hold_stored_by_a_clock_that_ran_ahead_is_clamped() {
        let (_dir, storage) = storage();
        let retry = RetryPolicy::default();
        let mut lane = LaneState::load(Lane::Events, &storage, &retry, 0, 10_000_000_000).unwrap();
        lane.on_retry(&storage, &retry, Some(Duration::from_secs(600)), "HTTP 429", 0.5, 0, 10_000_000_000).unwrap();
        // The device clock is set back a year: the stored instant is far ahead, but no hold lasts beyond the cap.
        let resumed = LaneState::load(Lane::Events, &storage, &retry, 0, 10_000_000_000 - 31_536_000_000).unwrap();
        assert_eq!(resumed.retry_in_ms(0), Some(retry.max_retry_after.as_millis() as u64));
    }

    #[test]
    fn success_clears_the_stored_hold_and_backoff_does_not_outlive_the_process() {
        let (_dir, storage) = storage();
        let retry = RetryPolicy::default();
        let mut lane = LaneState::load(Lane::Events, &storage, &retry, 0, 1_000).unwrap();
        lane.on_retry(&storage, &retry, Some(Duration::from_secs(60)), "HTTP 503", 0.5, 0, 1_000).unwrap();
        lane.on_success(&storage).unwrap();
        assert_eq!(LaneStatus::read(&storage, Lane::Events).unwrap().state, LaneCondition::Ok);

        lane.on_retry(&storage, &retry, None, "connection refused", 0.9, 0, 1_000).unwrap();
        assert!(matches!(lane.blocked(false, 0), Some(Blocked::BackingOff { .. })));
        assert_eq!(lane.blocked(true, 0), None, "an explicit flush skips our own backoff");
        let status = LaneStatus::read(&storage, Lane::Events).unwrap();
        assert_eq!((status.state, status.reason.as_deref()), (LaneCondition::Retrying, Some("connection refused")));
        let resumed = LaneState::load(Lane::Events, &storage, &retry, 0, 1_001).unwrap();
        assert_eq!(resumed.blocked(false, 0), None);
    }

    #[test]
    fn the_network_coming_back_ends_our_waits_but_never_the_servers_hold_or_a_credentials_pause() {
        let (_dir, storage) = storage();
        let retry = RetryPolicy::default();
        let mut lane = LaneState::load(Lane::Events, &storage, &retry, 0, 1_000).unwrap();
        assert!(!lane.network_available(), "nothing was waiting: nothing to try again");
        lane.on_retry(&storage, &retry, None, "connection refused", 0.9, 0, 1_000).unwrap();
        assert!(lane.network_available());
        assert_eq!(lane.blocked(false, 0), None, "our backoff");
        lane.on_certificate_invalid(&storage, &retry, "unknown issuer", 0, 1_000).unwrap();
        assert!(lane.network_available());
        assert_eq!(lane.blocked(false, 0), None, "the hour after a refused certificate");
        lane.on_retry(&storage, &retry, Some(Duration::from_secs(60)), "HTTP 503", 0.5, 0, 1_000).unwrap();
        lane.network_available();
        assert!(matches!(lane.blocked(false, 0), Some(Blocked::Held { .. })), "the server's Retry-After");
        lane.on_pause(&storage, "HTTP 401: bad key").unwrap();
        lane.network_available();
        assert!(matches!(lane.blocked(false, 0), Some(Blocked::Paused { .. })), "a pause for credentials");
    }

    #[test]
    fn a_certificate_pause_waits_long_in_the_background_but_not_for_a_flush() {
        let (_dir, storage) = storage();
        let retry = RetryPolicy::default();
        let mut lane = LaneState::load(Lane::Events, &storage, &retry, 0, 1_000).unwrap();
        lane.on_certificate_invalid(&storage, &retry, "unknown issuer", 0, 1_000).unwrap();
        let hour = retry.certificate_retry.as_millis() as u64;
        assert!(matches!(lane.blocked(false, hour - 1), Some(Blocked::Paused { .. })));
        assert_eq!(lane.blocked(false, hour), None);
        assert_eq!(lane.blocked(true, 0), None);
        assert_eq!(lane.retry_in_ms(0), Some(hour));

        let status = LaneStatus::read(&storage, Lane::Events).unwrap();
        assert_eq!(status.state, LaneCondition::CertificateInvalid);
        let resumed = LaneState::load(Lane::Events, &storage, &retry, 50, 1_000 + 1_000).unwrap();
        assert!(matches!(resumed.blocked(false, 50), Some(Blocked::Paused { reason }) if reason == "unknown issuer"));
        assert_eq!(resumed.retry_in_ms(50), Some(hour - 1_000));
    }

    #[test]
    fn an_auth_pause_lasts_until_a_flush_or_a_restart() {
        let (_dir, storage) = storage();
        let retry = RetryPolicy::default();
        let mut lane = LaneState::load(Lane::Essential, &storage, &retry, 0, 0).unwrap();
        lane.on_pause(&storage, "HTTP 401").unwrap();
        assert_eq!(lane.blocked(false, u64::MAX / 2), Some(Blocked::Paused { reason: "HTTP 401".into() }));
        assert_eq!(lane.retry_in_ms(0), None);
        assert_eq!(lane.blocked(true, 0), None);
        assert_eq!(LaneStatus::read(&storage, Lane::Essential).unwrap().state, LaneCondition::Paused);
        assert_eq!(LaneState::load(Lane::Essential, &storage, &retry, 0, 0).unwrap().blocked(false, 0), None);
    }
}
