//! RFC 3339 and HTTP-date formatting and validation: the collector writes UTC instants (milliseconds for receipts,
//! seconds for wallet tombstones, IMF-fixdate for `Date`) and checks the shape of timestamps it receives.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn now_rfc3339_ms() -> String {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// The system clock in whole seconds since the epoch.
pub(crate) fn unix_now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339_secs(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Seconds since the epoch as an HTTP date (IMF-fixdate, RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn imf_fixdate(secs: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]; // 1970-01-01 was a Thursday
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(m as usize).saturating_sub(1).min(11)],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds since the epoch of an RFC 3339 timestamp (fractions dropped), or `None` when it is not one.
pub(crate) fn rfc3339_to_secs(s: &str) -> Option<i64> {
    if !is_rfc3339(s) {
        return None;
    }
    // The shape is checked above; jiff does the calendar and offset arithmetic (a space or lower-case `t`/`z` is
    // valid RFC 3339 but not every parser's taste, so normalise those first).
    let normal: String = s
        .char_indices()
        .map(|(i, c)| match (i, c) {
            (10, ' ' | 't') => 'T',
            (_, 'z') => 'Z',
            _ => c,
        })
        .collect();
    // A leap second (:60) is read as the next second, like most systems.
    let (normal, leap) = match normal.get(17..19) {
        Some("60") => (format!("{}59{}", &normal[..17], &normal[19..]), 1),
        _ => (normal, 0),
    };
    normal.parse::<jiff::Timestamp>().ok().map(|t| t.as_second() + leap)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// True for an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, `t`/`z`/space tolerated as RFC 3339 allows.
pub(crate) fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        if part.iter().all(u8::is_ascii_digit) {
            Some(part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
        } else {
            None
        }
    };
    let check = || -> Option<()> {
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let seps_ok =
            b[4] == b'-' && b[7] == b'-' && matches!(b[10], b'T' | b't' | b' ') && b[13] == b':' && b[16] == b':';
        // 60 allows a leap second.
        let ranges_ok = (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && hour < 24
            && min < 60
            && sec <= 60;
        if !seps_ok || !ranges_ok {
            return None;
        }
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            i += 1 + digits;
        }
        match b.get(i)? {
            b'Z' | b'z' if i + 1 == b.len() => Some(()),
            b'+' | b'-' if i + 6 == b.len() => {
                let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
                (b[i + 3] == b':' && oh < 24 && om < 60).then_some(())
            }
            _ => None,
        }
    };
    b.len() >= 20 && check().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        for ok in
            ["2026-11-22T10:15:30.123Z", "2026-11-22T10:15:30Z", "2024-02-29T00:00:00+09:00", "2026-01-01t00:00:00.1z"]
        {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T10:15:30",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-22T10:15:30.Z",
            "2026-11-22T10:15:30Zjunk",
            "yesterday",
            "2026-11-22T25:00:00Z",
            "２026-11-22T10:15:30Z",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn seconds_format_and_parse_back() {
        assert_eq!(rfc3339_secs(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_secs(1_798_000_000), "2026-12-23T04:26:40Z");
        assert_eq!(imf_fixdate(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(imf_fixdate(1_798_000_000), "Wed, 23 Dec 2026 04:26:40 GMT");
        for secs in [0, 951_782_400, 1_798_000_000, 4_102_444_799] {
            assert_eq!(rfc3339_to_secs(&rfc3339_secs(secs)), Some(secs));
        }
        assert_eq!(rfc3339_to_secs("2026-12-23T13:26:40.999+09:00"), Some(1_798_000_000));
        assert_eq!(rfc3339_to_secs("2026-12-23t04:26:40z"), Some(1_798_000_000));
        assert_eq!(rfc3339_to_secs("2026-12-23 04:26:40Z"), Some(1_798_000_000));
        assert_eq!(rfc3339_to_secs("2016-12-31T23:59:60Z"), Some(1_483_228_800));
        assert_eq!(rfc3339_to_secs("yesterday"), None);
        assert_eq!(rfc3339_to_secs("2026-12-23T08:26:40"), None);
    }

    #[test]
    fn now_is_valid() {
        let now = now_rfc3339_ms();
        assert!(is_rfc3339(&now), "{now}");
        assert_eq!(now.len(), 24);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
