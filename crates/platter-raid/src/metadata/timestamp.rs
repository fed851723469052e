//! Unix seconds to RFC 3339 text, without a date library.
//!
//! The civil-from-days conversion is Howard Hinnant's algorithm
//! ("chrono-Compatible Low-Level Date Algorithms", `civil_from_days`),
//! valid for the whole proleptic Gregorian calendar.

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
///
/// Values beyond year 9999 (which no RAID metadata records honestly) are
/// still formatted, with a wider year field.
///
/// ```
/// assert_eq!(platter_raid::metadata::rfc3339(0), "1970-01-01T00:00:00Z");
/// assert_eq!(platter_raid::metadata::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
/// ```
pub fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month (1–12) and day (1–31) of a day count since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(86_399), "1970-01-01T23:59:59Z");
        // `date -u -d @1700000000 +%FT%TZ`
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        // Leap days: 2000 is a leap year, 2100 is not.
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(rfc3339(u64::from(u32::MAX)), "2106-02-07T06:28:15Z");
    }

    #[test]
    fn huge_values_do_not_panic() {
        let s = rfc3339((1u64 << 40) - 1);
        assert!(s.ends_with('Z'), "{s}");
        let _ = rfc3339(u64::MAX);
    }
}
