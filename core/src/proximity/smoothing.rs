//! RSSI smoothing as a strategy: one filter state per beacon, fed its readings in time order.
//!
//! The default is a 1-D Kalman filter whose process noise grows with the time since the beacon's last reading:
//! readings every second move it a little (noise averages out), a reading after ten silent seconds moves it a lot
//! (the shopper may have walked since). A fixed-count filter (the trimmed mean, or an EWMA per reading) cannot
//! tell those apart, and dropouts of 10–40 % make the spacing of readings irregular. In the simulation (see the
//! `simulation` module and `docs/proximity-presence.md`) it gave fewer false exits than a time-constant EWMA at
//! the same enter latency, and it costs a few float operations and no allocation per reading.
//! [`SmoothingStrategy::TrimmedMean`] reproduces AltBeacon's `RunningAverageRssiFilter` for comparison.

use serde::{Deserialize, Serialize};

/// How a beacon's readings become one smoothed RSSI (dBm).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum SmoothingStrategy {
    /// 1-D Kalman filter on RSSI. `measurement_noise_db`: the σ of one reading (3.5–9 dB measured indoors);
    /// `process_noise_db_per_s`: how far (σ) the true RSSI may drift per second of silence, as a shopper walks.
    Kalman { measurement_noise_db: f32, process_noise_db_per_s: f32 },
    /// Exponential average whose weight depends on the time since the last reading: `1 - exp(-dt / time_constant)`.
    Ewma { time_constant_ms: u32 },
    /// AltBeacon's running average: the readings of the last `window_ms`, sorted, `trim` of them dropped at each
    /// end (as AltBeacon does: `n * trim + 1` each end once there are more than 2), the rest averaged.
    TrimmedMean { window_ms: u32, trim: f32 },
}

impl Default for SmoothingStrategy {
    fn default() -> Self {
        SmoothingStrategy::Kalman { measurement_noise_db: 7.0, process_noise_db_per_s: 1.5 }
    }
}

impl SmoothingStrategy {
    /// AltBeacon's defaults: a 20 s window, 10 % trimmed at each end.
    pub const ALTBEACON: SmoothingStrategy = SmoothingStrategy::TrimmedMean { window_ms: 20_000, trim: 0.1 };

    /// A fresh filter for one beacon.
    pub fn filter(&self) -> RssiFilter {
        let state = match *self {
            SmoothingStrategy::Kalman { measurement_noise_db, process_noise_db_per_s } => {
                let r = finite_or(measurement_noise_db, 7.0).max(0.1);
                let q = finite_or(process_noise_db_per_s, 1.5).max(0.0);
                FilterState::Kalman { r: r * r, q_per_ms: q * q / 1000.0, estimate: 0.0, variance: 0.0 }
            }
            SmoothingStrategy::Ewma { time_constant_ms } => {
                FilterState::Ewma { time_constant_ms: time_constant_ms.max(1) as f32, estimate: 0.0 }
            }
            SmoothingStrategy::TrimmedMean { window_ms, trim } => FilterState::TrimmedMean(Box::new(Window {
                window_ms: u64::from(window_ms),
                trim: finite_or(trim, 0.1).clamp(0.0, 0.45),
                readings: [(0, 0); WINDOW_CAPACITY],
                start: 0,
                len: 0,
            })),
        };
        RssiFilter { state, last_ms: None }
    }
}

fn finite_or(value: f32, fallback: f32) -> f32 {
    if value.is_finite() {
        value
    } else {
        fallback
    }
}

/// The Kalman variance never grows past this (20 dB)²: after a long silence a reading is taken almost as is,
/// and the arithmetic stays finite whatever the gap.
const MAX_VARIANCE: f32 = 400.0;

/// The most readings the trimmed mean keeps (AltBeacon keeps every one in the window; at 1–3 readings per second
/// 64 covers its 20 s, and a faster stream keeps its newest 64).
const WINDOW_CAPACITY: usize = 64;

/// One beacon's smoothing state.
#[derive(Debug, Clone)]
pub struct RssiFilter {
    state: FilterState,
    last_ms: Option<u64>,
}

#[derive(Debug, Clone)]
enum FilterState {
    Kalman { r: f32, q_per_ms: f32, estimate: f32, variance: f32 },
    Ewma { time_constant_ms: f32, estimate: f32 },
    TrimmedMean(Box<Window>),
}

#[derive(Debug, Clone)]
struct Window {
    window_ms: u64,
    trim: f32,
    /// A ring of (at_ms, rssi), oldest at `start`.
    readings: [(u64, i16); WINDOW_CAPACITY],
    start: usize,
    len: usize,
}

impl RssiFilter {
    /// Adds a reading and returns the smoothed RSSI. A reading older than the previous one is taken as if it
    /// arrived at the previous one's time (the filter's time never goes backwards).
    pub fn update(&mut self, rssi: i16, at_ms: u64) -> f32 {
        let at_ms = self.last_ms.map_or(at_ms, |last| at_ms.max(last));
        let dt_ms = self.last_ms.map(|last| at_ms - last);
        self.last_ms = Some(at_ms);
        let z = f32::from(rssi);
        match &mut self.state {
            FilterState::Kalman { r, q_per_ms, estimate, variance } => {
                match dt_ms {
                    None => (*estimate, *variance) = (z, *r),
                    Some(dt) => {
                        let prior = (*variance + *q_per_ms * dt as f32).min(MAX_VARIANCE);
                        let gain = prior / (prior + *r);
                        *estimate += gain * (z - *estimate);
                        *variance = (1.0 - gain) * prior;
                    }
                }
                *estimate
            }
            FilterState::Ewma { time_constant_ms, estimate } => {
                match dt_ms {
                    None => *estimate = z,
                    Some(dt) => *estimate += (1.0 - (-(dt as f32) / *time_constant_ms).exp()) * (z - *estimate),
                }
                *estimate
            }
            FilterState::TrimmedMean(window) => window.add(rssi, at_ms),
        }
    }

    /// The smoothed RSSI after the last reading (None before any).
    pub fn value(&self) -> Option<f32> {
        self.last_ms?;
        Some(match &self.state {
            FilterState::Kalman { estimate, .. } | FilterState::Ewma { estimate, .. } => *estimate,
            FilterState::TrimmedMean(window) => window.mean(),
        })
    }
}

impl Window {
    fn add(&mut self, rssi: i16, at_ms: u64) -> f32 {
        // Expire what left the window, then append (overwriting the oldest when full).
        while self.len > 0 && at_ms.saturating_sub(self.readings[self.start].0) > self.window_ms {
            self.start = (self.start + 1) % WINDOW_CAPACITY;
            self.len -= 1;
        }
        if self.len == WINDOW_CAPACITY {
            self.start = (self.start + 1) % WINDOW_CAPACITY;
            self.len -= 1;
        }
        self.readings[(self.start + self.len) % WINDOW_CAPACITY] = (at_ms, rssi);
        self.len += 1;
        self.mean()
    }

    fn mean(&self) -> f32 {
        let mut sorted = [0i16; WINDOW_CAPACITY];
        for (i, slot) in sorted.iter_mut().enumerate().take(self.len) {
            *slot = self.readings[(self.start + i) % WINDOW_CAPACITY].1;
        }
        let sorted = &mut sorted[..self.len];
        sorted.sort_unstable();
        let drop = if self.len > 2 { (self.len as f32 * self.trim) as usize + 1 } else { 0 };
        let kept = &sorted[drop.min(self.len)..self.len.saturating_sub(drop)];
        if kept.is_empty() {
            // Only reachable with a tiny window and a large trim: fall back to the median.
            return f32::from(sorted.get(self.len / 2).copied().unwrap_or(0));
        }
        kept.iter().map(|&r| f32::from(r)).sum::<f32>() / kept.len() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kalman_filter_moves_more_after_a_silence() {
        let strategy = SmoothingStrategy::default();
        let (mut steady, mut sparse) = (strategy.filter(), strategy.filter());
        for i in 0..20 {
            steady.update(-80, i * 1_000);
            sparse.update(-80, i * 1_000);
        }
        let after_one_second = steady.update(-60, 20_000);
        let after_a_silence = sparse.update(-60, 40_000);
        assert!(after_a_silence > after_one_second + 3.0, "{after_one_second} {after_a_silence}");
        assert!(after_one_second < -70.0);
    }

    #[test]
    fn the_trimmed_mean_drops_the_extremes_and_expires_old_readings() {
        let mut filter = SmoothingStrategy::ALTBEACON.filter();
        for (i, rssi) in [-70, -70, -70, -70, -70, -70, -70, -70, -70, -20].iter().enumerate() {
            filter.update(*rssi, i as u64 * 1_000);
        }
        // Ten readings: one dropped at each end, the -20 outlier among them.
        assert_eq!(filter.value(), Some(-70.0));
        // 21 s later everything before has expired.
        assert_eq!(filter.update(-90, 30_000), -90.0);
    }

    #[test]
    fn time_going_backwards_and_absurd_parameters_stay_finite() {
        let strategies = [
            SmoothingStrategy::Kalman { measurement_noise_db: f32::NAN, process_noise_db_per_s: f32::INFINITY },
            SmoothingStrategy::Ewma { time_constant_ms: 0 },
            SmoothingStrategy::TrimmedMean { window_ms: 0, trim: 9.0 },
        ];
        for strategy in strategies {
            let mut filter = strategy.filter();
            for (rssi, at) in [(-60, 5_000), (-90, 1_000), (-127, u64::MAX), (20, 0)] {
                assert!(filter.update(rssi, at).is_finite(), "{strategy:?}");
            }
        }
    }

    #[test]
    fn strategies_read_as_tagged_camel_case() {
        let parsed: SmoothingStrategy =
            serde_json::from_str(r#"{"kind":"trimmedMean","windowMs":20000,"trim":0.1}"#).unwrap();
        assert_eq!(parsed, SmoothingStrategy::ALTBEACON);
        let text = serde_json::to_string(&SmoothingStrategy::default()).unwrap();
        assert!(text.contains("\"kind\":\"kalman\"") && text.contains("measurementNoiseDb"), "{text}");
    }
}
