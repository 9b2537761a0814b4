//! When a campaign may speak, read on a local wall clock: times of day (`"HH:MM"`), daily spans that may cross
//! midnight (quiet hours), weekly windows (days plus a span) and the bounds of a local calendar day. Pure: the
//! caller passes the instant and the zone, nothing here reads a clock.
//!
//! Wall-clock reading makes DST need no special case: on the night clocks jump forward the skipped hour simply
//! never shows; on the night they fall back the repeated hour is inside a span both times, as a shopper would read
//! it.

use std::fmt;

use jiff::civil::{DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

const MINUTES_PER_HOUR: u16 = 60;

/// A time of day, `"HH:MM"` on a 24-hour clock (`"00:00"` to `"23:59"`), kept as minutes since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    /// Exactly two digits, a colon, two digits: `"9:00"`, `"24:00"` and `"10:00:00"` are refused.
    pub fn parse(text: &str) -> Option<TimeOfDay> {
        let &[h1, h2, b':', m1, m2] = text.as_bytes() else {
            return None;
        };
        let digit = |b: u8| b.is_ascii_digit().then(|| u16::from(b - b'0'));
        let hour = digit(h1)? * 10 + digit(h2)?;
        let minute = digit(m1)? * 10 + digit(m2)?;
        (hour < 24 && minute < MINUTES_PER_HOUR).then_some(TimeOfDay(hour * MINUTES_PER_HOUR + minute))
    }

    pub fn minutes_since_midnight(self) -> u16 {
        self.0
    }

    /// The time of day a local date-time shows (seconds ignored: spans are whole minutes).
    pub fn of(at: DateTime) -> TimeOfDay {
        // jiff keeps hour in 0..=23 and minute in 0..=59, so the sum is below 1440.
        let hour = u16::try_from(at.hour()).unwrap_or(0);
        let minute = u16::try_from(at.minute()).unwrap_or(0);
        TimeOfDay(hour * MINUTES_PER_HOUR + minute)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / MINUTES_PER_HOUR, self.0 % MINUTES_PER_HOUR)
    }
}

/// Every day from `from` (inclusive) to `to` (exclusive); `from` later than `to` crosses midnight
/// (`21:00`–`08:00`). `from == to` is refused when parsed: it would be unclear whether it means nothing or all day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DailySpan {
    pub from: TimeOfDay,
    pub to: TimeOfDay,
}

impl DailySpan {
    pub fn new(from: TimeOfDay, to: TimeOfDay) -> Option<DailySpan> {
        (from != to).then_some(DailySpan { from, to })
    }

    pub fn crosses_midnight(&self) -> bool {
        self.from > self.to
    }

    pub fn contains(&self, at: TimeOfDay) -> bool {
        if self.crosses_midnight() {
            at >= self.from || at < self.to
        } else {
            at >= self.from && at < self.to
        }
    }
}

/// A set of weekdays, written `"mon"` … `"sun"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(u8);

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

impl Weekdays {
    pub const ALL: Weekdays = Weekdays(0b111_1111);

    /// `Err` carries the first name that is not one of `mon`…`sun` (lowercase, three letters).
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Weekdays, &'a str> {
        let mut bits = 0u8;
        for name in names {
            let day = DAY_NAMES.iter().find(|(n, _)| *n == name).map(|(_, d)| *d).ok_or(name)?;
            bits |= Weekdays::bit(day);
        }
        Ok(Weekdays(bits))
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & Weekdays::bit(day) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn bit(day: Weekday) -> u8 {
        1 << (day.to_monday_zero_offset() as u8)
    }
}

/// Part of a week when a campaign runs: on `days`, during `span`. A span crossing midnight belongs to the day it
/// starts on: `fri 22:00–02:00` covers Friday night until 02:00 on Saturday, not early Friday morning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub days: Weekdays,
    pub span: DailySpan,
}

impl Window {
    pub fn contains(&self, at: DateTime) -> bool {
        let time = TimeOfDay::of(at);
        if !self.span.contains(time) {
            return false;
        }
        let started_yesterday = self.span.crosses_midnight() && time < self.span.to;
        let day = if started_yesterday { at.weekday().previous() } else { at.weekday() };
        self.days.contains(day)
    }
}

/// `ms` (UTC milliseconds) as a timestamp, clamped to the years jiff can represent so any input has a local time.
pub fn timestamp(ms: i64) -> Timestamp {
    let ms = ms.clamp(Timestamp::MIN.as_millisecond(), Timestamp::MAX.as_millisecond());
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The wall clock in `tz` at `ms` (UTC milliseconds).
pub fn local_time(ms: i64, tz: &TimeZone) -> DateTime {
    tz.to_datetime(timestamp(ms))
}

/// UTC milliseconds `[start, end)` of the local calendar day in `tz` containing `ms`. A day runs from its first
/// instant to the next day's first instant, so 23- and 25-hour days need no special case.
pub fn local_day_ms(ms: i64, tz: &TimeZone) -> (i64, i64) {
    let today = timestamp(ms).to_zoned_datetime(tz.clone());
    let start = today.start_of_day();
    let end = today.date().tomorrow().and_then(|d| d.to_zoned_datetime(tz.clone())).and_then(|z| z.start_of_day());
    match (start, end) {
        (Ok(start), Ok(end)) => (start.timestamp().as_millisecond(), end.timestamp().as_millisecond()),
        // Only at the ends of representable time; a day without bounds counts everything, which errs on silence.
        _ => (i64::MIN, i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> TimeOfDay {
        TimeOfDay::parse(text).unwrap()
    }

    fn utc_ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn times_of_day_are_read_strictly() {
        assert_eq!(t("00:00").minutes_since_midnight(), 0);
        assert_eq!(t("23:59").minutes_since_midnight(), 1439);
        assert_eq!(t("08:30").to_string(), "08:30");
        for bad in ["24:00", "25:00", "9:00", "10:60", "10:00:00", "1O:00", "", "+1:00", "10-00", "١٠:٠٠"] {
            assert_eq!(TimeOfDay::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_span_crossing_midnight_covers_both_sides() {
        let quiet = DailySpan::new(t("21:00"), t("08:00")).unwrap();
        assert!(quiet.contains(t("21:00")) && quiet.contains(t("23:59")) && quiet.contains(t("00:00")));
        assert!(quiet.contains(t("07:59")) && !quiet.contains(t("08:00")) && !quiet.contains(t("20:59")));
        let day = DailySpan::new(t("10:00"), t("20:00")).unwrap();
        assert!(day.contains(t("10:00")) && !day.contains(t("20:00")) && !day.contains(t("09:59")));
        assert_eq!(DailySpan::new(t("10:00"), t("10:00")), None);
    }

    #[test]
    fn a_night_window_belongs_to_the_day_it_starts_on() {
        let days = Weekdays::parse(["fri"]).unwrap();
        let window = Window { days, span: DailySpan::new(t("22:00"), t("02:00")).unwrap() };
        let at = |s: &str| s.parse::<DateTime>().unwrap();
        // 2026-12-04 is a Friday.
        assert!(window.contains(at("2026-12-04T23:00")));
        assert!(window.contains(at("2026-12-05T01:59")));
        assert!(!window.contains(at("2026-12-05T02:00")));
        assert!(!window.contains(at("2026-12-04T01:00")), "early Friday belongs to Thursday's night");
        assert_eq!(Weekdays::parse(["mon", "Mon"]), Err("Mon"));
    }

    #[test]
    fn local_days_follow_the_zone_including_dst() {
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let (start, end) = local_day_ms(utc_ms("2026-12-05T16:00:00Z"), &tokyo);
        assert_eq!((start, end), (utc_ms("2026-12-05T15:00:00Z"), utc_ms("2026-12-06T15:00:00Z")));
        // New York falls back on 2026-11-01: a 25-hour day.
        let new_york = TimeZone::get("America/New_York").unwrap();
        let (start, end) = local_day_ms(utc_ms("2026-11-01T12:00:00Z"), &new_york);
        assert_eq!(end - start, 25 * 3_600_000);
        // Any instant has a local time, even far outside the calendar.
        let _ = local_time(i64::MIN, &tokyo);
        let _ = local_day_ms(i64::MAX, &tokyo);
    }
}
