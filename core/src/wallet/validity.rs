//! When a coupon may be used. The issuer states validity the way a shopper reads it — store-local calendar days
//! in the store's IANA zone ("valid until 24 December", Asia/Tokyo) — and derives UTC instants from it; both
//! travel in the signed grant. Decisions use the signed UTC instants, so every phone and till agrees whatever its
//! own time-zone database says; the local dates are for display and for the issuer's derivation here.
//!
//! A local day runs from its first instant (usually midnight; later when a DST jump skips midnight) to the first
//! instant of the next day that exists locally, so days of 23 or 25 hours and a date the zone skipped (Samoa,
//! 30 December 2011) need no special cases. The grace extends the end, on purpose and signed, for the shopper who
//! queued at 23:59.

use jiff::civil::Date;
use jiff::tz::TimeZone;

/// Longest grace a grant may carry: a week. More is a validity period, not a grace.
pub const MAX_GRACE_SECS: u32 = 7 * 86_400;

/// A calendar date with no zone (`2026-12-24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDate {
    pub year: i16,
    pub month: u8,
    pub day: u8,
}

impl LocalDate {
    pub fn new(year: i16, month: u8, day: u8) -> Result<Self, ValidityError> {
        // Checked here without the zone library, so a device that only reads grants links none of it.
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 0,
        };
        if !(1970..=9999).contains(&year) || day == 0 || day > days_in_month {
            return Err(ValidityError::BadDate(format!("{year:04}-{month:02}-{day:02}")));
        }
        Ok(LocalDate { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, ValidityError> {
        let bad = || ValidityError::BadDate(text.chars().take(32).collect());
        let mut parts = text.split('-');
        let (y, m, d) = (parts.next(), parts.next(), parts.next());
        if parts.next().is_some() || text.len() != 10 {
            return Err(bad());
        }
        let year = y.and_then(|y| y.parse::<i16>().ok()).ok_or_else(bad)?;
        let month = m.and_then(|m| m.parse::<u8>().ok()).ok_or_else(bad)?;
        let day = d.and_then(|d| d.parse::<u8>().ok()).ok_or_else(bad)?;
        LocalDate::new(year, month, day).map_err(|_| bad())
    }

    /// `YYYYMMDD` as one number: the grant's compact and still readable form.
    pub(crate) fn packed(self) -> u32 {
        (self.year.max(0) as u32) * 10_000 + u32::from(self.month) * 100 + u32::from(self.day)
    }

    pub(crate) fn from_packed(packed: u32) -> Result<Self, ValidityError> {
        let year = i16::try_from(packed / 10_000).map_err(|_| ValidityError::BadDate(packed.to_string()))?;
        LocalDate::new(year, (packed / 100 % 100) as u8, (packed % 100) as u8)
    }

    fn civil(self) -> Result<Date, ValidityError> {
        // Always in range: `new` checked the parts.
        Date::new(self.year, self.month as i8, self.day as i8).map_err(|_| ValidityError::BadDate(self.to_string()))
    }
}

impl std::fmt::Display for LocalDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The store-local statement of validity: from the start of `first_day` to the end of `last_day`, in `zone`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalDates {
    pub first_day: LocalDate,
    pub last_day: LocalDate,
    /// IANA zone name (`Asia/Tokyo`).
    pub zone: String,
}

/// Why validity could not be computed or stated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidityError {
    #[error("'{0}' is not a calendar date between 1970 and 9999 (YYYY-MM-DD)")]
    BadDate(String),
    #[error("'{0}' is not a known IANA time zone")]
    UnknownZone(String),
    #[error("the validity ends before it starts")]
    EndsBeforeStart,
    #[error("grace of {0} s is above the limit of {MAX_GRACE_SECS} s")]
    GraceTooLong(u32),
}

/// Why a coupon is not usable at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutsideValidity {
    NotYetValid,
    Expired,
}

/// A grant's validity: UTC instants (seconds since the epoch; `not_after` exclusive) that decide, the grace, and
/// the local dates they were derived from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Validity {
    pub not_before: i64,
    pub not_after: i64,
    pub grace_secs: u32,
    pub local: Option<LocalDates>,
}

impl Validity {
    /// The issuer's constructor: UTC bounds derived from store-local days.
    pub fn from_local_dates(local: LocalDates, grace_secs: u32) -> Result<Self, ValidityError> {
        let (not_before, not_after) = local_day_bounds(local.first_day, local.last_day, &local.zone)?;
        Validity { not_before, not_after, grace_secs, local: Some(local) }.validated()
    }

    pub(crate) fn validated(self) -> Result<Self, ValidityError> {
        if self.not_after <= self.not_before {
            return Err(ValidityError::EndsBeforeStart);
        }
        if self.grace_secs > MAX_GRACE_SECS {
            return Err(ValidityError::GraceTooLong(self.grace_secs));
        }
        if let Some(local) = &self.local {
            if local.last_day < local.first_day {
                return Err(ValidityError::EndsBeforeStart);
            }
        }
        Ok(self)
    }

    /// Whether the coupon is usable at `now` (seconds, already corrected by [`ServerClock`]): from `not_before`
    /// inclusive to `not_after + grace` exclusive.
    pub fn check(&self, now: i64) -> Result<(), OutsideValidity> {
        if now < self.not_before {
            Err(OutsideValidity::NotYetValid)
        } else if now >= self.not_after.saturating_add(i64::from(self.grace_secs)) {
            Err(OutsideValidity::Expired)
        } else {
            Ok(())
        }
    }
}

/// UTC bounds (seconds; end exclusive) of the local days `first_day..=last_day` in `zone`.
pub fn local_day_bounds(first_day: LocalDate, last_day: LocalDate, zone: &str) -> Result<(i64, i64), ValidityError> {
    let tz = TimeZone::get(zone).map_err(|_| ValidityError::UnknownZone(zone.chars().take(64).collect()))?;
    if last_day < first_day {
        return Err(ValidityError::EndsBeforeStart);
    }
    let start = start_of_day(first_day.civil()?, &tz)?;
    let next = last_day.civil()?.tomorrow().map_err(|_| ValidityError::BadDate(last_day.to_string()))?;
    Ok((start, start_of_day(next, &tz)?))
}

fn start_of_day(date: Date, tz: &TimeZone) -> Result<i64, ValidityError> {
    // Midnight may not exist (a DST jump or a skipped date); start_of_day takes the first instant that does.
    let zoned = date
        .to_zoned_datetime(tz.clone())
        .and_then(|z| z.start_of_day())
        .map_err(|_| ValidityError::BadDate(format!("{date}")))?;
    Ok(zoned.timestamp().as_second())
}

/// The device's estimate of server time, kept from HTTP `Date` headers so a phone whose clock is wrong neither
/// shows a live coupon as expired nor the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerClock {
    /// Server time minus device time, in milliseconds.
    pub offset_ms: i64,
}

impl ServerClock {
    /// Keeps the offset a response's `Date` header shows; `device_now_ms` is the device clock when it arrived.
    pub fn from_date_header(date_header: &str, device_now_ms: i64) -> Result<Self, DateHeaderError> {
        let server_ms = parse_imf_fixdate(date_header)?;
        Ok(ServerClock { offset_ms: server_ms.saturating_sub(device_now_ms) })
    }

    /// The device time corrected to server time, in seconds (what validity is checked against).
    pub fn now_secs(&self, device_now_ms: i64) -> i64 {
        device_now_ms.saturating_add(self.offset_ms).div_euclid(1000)
    }
}

/// A `Date` header that is not an IMF-fixdate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an HTTP date (Sun, 06 Nov 1994 08:49:37 GMT)")]
pub struct DateHeaderError(pub String);

/// Milliseconds since the epoch of an IMF-fixdate (RFC 9110 §5.6.7), the form servers must send.
pub fn parse_imf_fixdate(value: &str) -> Result<i64, DateHeaderError> {
    let bad = || DateHeaderError(value.chars().take(40).collect());
    let value = value.trim();
    // RFC 2822 also allows numeric offsets and comments; an HTTP date is always exactly this shape, in GMT.
    if value.len() != 29 || !value.ends_with(" GMT") {
        return Err(bad());
    }
    // The queue's Retry-After parser already reads this shape; one parser, and no date-parsing code added.
    crate::clock::parse_http_date(value).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> LocalDate {
        LocalDate::parse(text).unwrap()
    }

    fn utc(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_second()
    }

    fn bounds(first: &str, last: &str, zone: &str) -> (i64, i64) {
        local_day_bounds(date(first), date(last), zone).unwrap()
    }

    #[test]
    fn valid_until_24_december_in_tokyo_ends_at_15_utc() {
        let (start, end) = bounds("2026-12-01", "2026-12-24", "Asia/Tokyo");
        assert_eq!(start, utc("2026-11-30T15:00:00Z"));
        assert_eq!(end, utc("2026-12-24T15:00:00Z"));
        let validity = Validity::from_local_dates(
            LocalDates { first_day: date("2026-12-01"), last_day: date("2026-12-24"), zone: "Asia/Tokyo".into() },
            0,
        )
        .unwrap();
        assert_eq!(validity.check(end - 1), Ok(()));
        assert_eq!(validity.check(end), Err(OutsideValidity::Expired));
        assert_eq!(validity.check(start - 1), Err(OutsideValidity::NotYetValid));
        assert_eq!(validity.check(start), Ok(()));
    }

    #[test]
    fn new_york_spring_forward_day_has_23_hours() {
        // 8 March 2026: 02:00 EST jumps to 03:00 EDT.
        let (start, end) = bounds("2026-03-08", "2026-03-08", "America/New_York");
        assert_eq!(start, utc("2026-03-08T05:00:00Z"));
        assert_eq!(end, utc("2026-03-09T04:00:00Z"));
        assert_eq!(end - start, 23 * 3600);
    }

    #[test]
    fn new_york_fall_back_day_has_25_hours() {
        // 1 November 2026: 02:00 EDT falls back to 01:00 EST.
        let (start, end) = bounds("2026-11-01", "2026-11-01", "America/New_York");
        assert_eq!(start, utc("2026-11-01T04:00:00Z"));
        assert_eq!(end, utc("2026-11-02T05:00:00Z"));
        assert_eq!(end - start, 25 * 3600);
    }

    #[test]
    fn the_same_local_date_ends_a_day_apart_across_the_date_line() {
        let (_, kiritimati) = bounds("2026-12-24", "2026-12-24", "Pacific/Kiritimati"); // UTC+14
        let (_, pago_pago) = bounds("2026-12-24", "2026-12-24", "Pacific/Pago_Pago"); // UTC−11
        assert_eq!(kiritimati, utc("2026-12-24T10:00:00Z"));
        assert_eq!(pago_pago, utc("2026-12-25T11:00:00Z"));
        assert_eq!(pago_pago - kiritimati, 25 * 3600);
    }

    #[test]
    fn a_day_samoa_skipped_is_not_a_problem() {
        // Apia went from 29 December 2011 (UTC−10) straight to 31 December (UTC+14).
        let (start, end) = bounds("2011-12-29", "2011-12-29", "Pacific/Apia");
        assert_eq!(start, utc("2011-12-29T10:00:00Z"));
        assert_eq!(end, utc("2011-12-30T10:00:00Z"));
        let (start, end) = bounds("2011-12-30", "2011-12-30", "Pacific/Apia");
        assert_eq!(start, end, "a date that never happened locally is an empty range");
    }

    #[test]
    fn grace_extends_the_end_and_only_the_end() {
        let v = Validity { not_before: 1000, not_after: 2000, grace_secs: 600, local: None };
        assert_eq!(v.check(2599), Ok(()));
        assert_eq!(v.check(2600), Err(OutsideValidity::Expired));
        assert_eq!(v.check(999), Err(OutsideValidity::NotYetValid));
        assert_eq!(v.clone().validated(), Ok(v));
        let too_long = Validity { not_before: 0, not_after: 1, grace_secs: MAX_GRACE_SECS + 1, local: None };
        assert_eq!(too_long.validated(), Err(ValidityError::GraceTooLong(MAX_GRACE_SECS + 1)));
    }

    #[test]
    fn bad_dates_and_zones_are_typed_errors() {
        assert!(matches!(LocalDate::parse("2026-02-30"), Err(ValidityError::BadDate(_))));
        assert!(matches!(LocalDate::parse("2026-2-3"), Err(ValidityError::BadDate(_))));
        assert!(matches!(LocalDate::parse("１２３"), Err(ValidityError::BadDate(_))));
        assert_eq!(
            local_day_bounds(date("2026-01-01"), date("2026-01-02"), "Mars/Olympus"),
            Err(ValidityError::UnknownZone("Mars/Olympus".into()))
        );
        assert_eq!(
            local_day_bounds(date("2026-01-02"), date("2026-01-01"), "UTC"),
            Err(ValidityError::EndsBeforeStart)
        );
        assert_eq!(LocalDate::from_packed(date("2026-12-24").packed()), Ok(date("2026-12-24")));
        assert!(LocalDate::from_packed(20261340).is_err());
        assert!(LocalDate::parse("2028-02-29").is_ok() && LocalDate::parse("2100-02-29").is_err());
        assert!(LocalDate::parse("2000-02-29").is_ok() && LocalDate::parse("1969-12-31").is_err());
        assert!(LocalDate::parse("2026-04-31").is_err() && LocalDate::parse("2026-00-10").is_err());
    }

    #[test]
    fn the_server_clock_corrects_a_device_that_is_wrong() {
        let device_now_ms = utc("2026-12-24T14:50:00Z") * 1000; // the phone is ten minutes slow
        let clock = ServerClock::from_date_header("Thu, 24 Dec 2026 15:00:00 GMT", device_now_ms).unwrap();
        assert_eq!(clock.offset_ms, 600_000);
        assert_eq!(clock.now_secs(device_now_ms + 5_000), utc("2026-12-24T15:00:05Z"));
        assert!(ServerClock::from_date_header("Thu, 24 Dec 2026 15:00:00 +0900", 0).is_err());
        assert!(ServerClock::from_date_header("yesterday", 0).is_err());
        assert_eq!(ServerClock::default().now_secs(-1), -1);
    }
}
