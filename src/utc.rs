//! Times as people and logs read them: the wall clock in seconds, RFC 3339 in UTC, computed from seconds since the
//! Unix epoch without a time-zone database (Howard Hinnant's `civil_from_days`).
//!
//! ```text
//! rfc3339(1_796_132_400, None)      -> "2026-12-01T13:40:00Z"
//! rfc3339(1_796_132_400, Some(123)) -> "2026-12-01T13:40:00.123Z"
//! ```

/// Seconds since the Unix epoch, now (the one reading of the wall clock for stamps).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `secs` since the epoch as RFC 3339 UTC, with milliseconds when given.
pub fn rfc3339(secs: u64, millis: Option<u32>) -> String {
    let (y, m, day) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    let s = secs % 86_400;
    let frac = millis.map_or(String::new(), |ms| format!(".{:03}", ms.min(999)));
    format!("{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}{frac}Z", s / 3600, s % 3600 / 60, s % 60)
}

/// `secs` since the epoch as a mail `Date:` header (RFC 5322) in UTC:
/// `Fri, 04 Dec 2026 22:40:00 +0000`.
pub fn rfc5322(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = secs / 86_400;
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    let weekday = DAYS[usize::try_from(days % 7).unwrap_or(0)];
    let month = MONTHS[usize::try_from(m - 1).unwrap_or(0).min(11)];
    let s = secs % 86_400;
    format!("{weekday}, {d:02} {month} {y:04} {:02}:{:02}:{:02} +0000", s / 3600, s % 3600 / 60, s % 60)
}

/// (year, month, day) of the `z`th day after 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{rfc3339, rfc5322};

    #[test]
    fn mail_dates() {
        assert_eq!(rfc5322(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(rfc5322(1_796_132_400), "Tue, 01 Dec 2026 13:40:00 +0000");
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0, None), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400, None), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_132_400, Some(123)), "2026-12-01T13:40:00.123Z");
        assert_eq!(rfc3339(4_102_444_799, Some(5)), "2099-12-31T23:59:59.005Z");
    }
}
