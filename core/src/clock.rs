//! Injected time and randomness, so every retry, backoff, session and expiry decision is testable without sleeping.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Wall-clock and monotonic time.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch (device wall clock; may jump).
    fn now_ms(&self) -> i64;
    /// Milliseconds on a clock that never goes backwards; used for deadlines within one process.
    fn monotonic_ms(&self) -> u64;
}

/// The real clocks.
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock { origin: Instant::now() }
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }
    fn monotonic_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }
}

/// A clock that moves only when told to; wall and monotonic time advance together.
#[derive(Debug)]
pub struct ManualClock {
    wall_ms: AtomicI64,
    mono_ms: AtomicU64,
}

impl ManualClock {
    pub fn new(wall_ms: i64) -> Arc<Self> {
        Arc::new(ManualClock { wall_ms: AtomicI64::new(wall_ms), mono_ms: AtomicU64::new(0) })
    }
    pub fn advance_ms(&self, ms: u64) {
        self.wall_ms.fetch_add(ms as i64, Ordering::SeqCst);
        self.mono_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.wall_ms.load(Ordering::SeqCst)
    }
    fn monotonic_ms(&self) -> u64 {
        self.mono_ms.load(Ordering::SeqCst)
    }
}

/// Uniform randomness for backoff jitter.
pub trait Random: Send + Sync + 'static {
    /// A number in [0, 1).
    fn next_f64(&self) -> f64;
}

/// Seeded randomness: the same seed gives the same jitter sequence.
#[derive(Debug)]
pub struct SeededRandom(Mutex<fastrand::Rng>);

impl SeededRandom {
    pub fn new(seed: u64) -> Arc<Self> {
        Arc::new(SeededRandom(Mutex::new(fastrand::Rng::with_seed(seed))))
    }
}

impl Default for SeededRandom {
    fn default() -> Self {
        SeededRandom(Mutex::new(fastrand::Rng::new()))
    }
}

impl Random for SeededRandom {
    fn next_f64(&self) -> f64 {
        self.0.lock().map(|mut r| r.f64()).unwrap_or(0.5)
    }
}

/// RFC 3339 UTC with milliseconds (`2026-11-22T10:15:30.123Z`), without pulling a date crate.
pub fn rfc3339_ms(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let ms = epoch_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", sod / 3600, (sod % 3600) / 60, sod % 60)
}

// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since the epoch for a civil date (inverse of the above), used to parse HTTP dates.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds since the epoch of an HTTP IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_http_date(value: &str) -> Option<i64> {
    let mut parts = value.split_whitespace();
    let _weekday = parts.next()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    // A four-digit year also keeps the day arithmetic below from overflowing on a hostile header.
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || !(0..=9999).contains(&year) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some((days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_millis() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_795_000_000_123), "2026-11-18T11:06:40.123Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn civil_round_trip() {
        for days in [-1000, 0, 59, 60, 11_016, 20_000, 30_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn http_dates_parse_and_absurd_years_are_refused_not_overflowed() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777_000));
        assert_eq!(parse_http_date("Sun, 06 Nov 9223372036854775807 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov -5 08:49:37 GMT"), None);
    }

    #[test]
    fn seeded_random_is_reproducible() {
        let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
        let xs: Vec<f64> = (0..5).map(|_| a.next_f64()).collect();
        let ys: Vec<f64> = (0..5).map(|_| b.next_f64()).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
    }
}
