//! Small value syntaxes of the definition format: durations, month-days, sizes, cron.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// `<n>m`, `<n>h`, `<n>d` or `<n>w` (minutes, hours, days, weeks); n from 0 to 3650 days' worth.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "bad duration `{text}`: write a whole number and a unit, e.g. `30m`, `12h`, `7d`, `2w`"
        )
    };
    if t.len() < 2 {
        return Err(bad());
    }
    let (num, unit) = t.split_at(t.len() - 1);
    let n: i64 = num.parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    let d = match unit {
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
    .ok_or_else(bad)?;
    if d > Duration::days(3650) {
        return Err(format!("duration `{text}` is longer than ten years"));
    }
    Ok(d)
}

/// A calendar day of the year, `MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthDay {
    pub month: u32,
    pub day: u32,
}

pub fn parse_month_day(text: &str) -> Result<MonthDay, String> {
    let bad = || format!("bad date `{text}`: write month and day as `MM-DD`, e.g. `03-31`");
    let (m, d) = text.trim().split_once('-').ok_or_else(bad)?;
    if m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let month: u32 = m.parse().map_err(|_| bad())?;
    let day: u32 = d.parse().map_err(|_| bad())?;
    // 2024 is a leap year, so 02-29 is accepted (and falls on 02-28 in other years).
    if NaiveDate::from_ymd_opt(2024, month, day).is_none() {
        return Err(format!("`{text}` is not a day of the year"));
    }
    Ok(MonthDay { month, day })
}

impl MonthDay {
    /// The end (23:59:59) of this day in `year`, in `tz`, as a UTC instant.
    pub fn end_of_day(self, year: i32, tz: Tz) -> Option<DateTime<Utc>> {
        let date = NaiveDate::from_ymd_opt(year, self.month, self.day)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.month, self.day - 1))?;
        end_of_day(date, tz)
    }
}

/// The end (23:59:59) of `date` in `tz`, as a UTC instant.
pub fn end_of_day(date: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    let local = date.and_hms_opt(23, 59, 59)?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// `<n>KB`, `<n>MB` or `<n>GB` (powers of 1024), or plain bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_uppercase();
    let bad = || format!("bad size `{text}`: write e.g. `500KB`, `20MB`");
    let (num, mult) = if let Some(n) = t.strip_suffix("GB") {
        (n, 1u64 << 30)
    } else if let Some(n) = t.strip_suffix("MB") {
        (n, 1 << 20)
    } else if let Some(n) = t.strip_suffix("KB") {
        (n, 1 << 10)
    } else if let Some(n) = t.strip_suffix('B') {
        (n, 1)
    } else {
        (t.as_str(), 1)
    };
    let n: u64 = num.trim().parse().map_err(|_| bad())?;
    let size = n.checked_mul(mult).ok_or_else(bad)?;
    if size == 0 {
        return Err(format!("size `{text}` must be more than zero"));
    }
    Ok(size)
}

/// A cron expression with a seconds field, as tokio-cron-scheduler wants it.
pub fn parse_cron(text: &str) -> Result<croner::Cron, String> {
    let fields = text.split_whitespace().count();
    if fields != 6 && fields != 7 {
        return Err(format!(
            "bad cron expression `{text}`: it has {fields} fields; write 6: `sec min hour day month weekday`, e.g. `0 0 9 * * Mon`"
        ));
    }
    croner::Cron::new(text)
        .with_seconds_required()
        .parse()
        .map_err(|e| format!("bad cron expression `{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d").unwrap(), Duration::days(7));
        assert_eq!(parse_duration("2w").unwrap(), Duration::days(14));
        assert_eq!(parse_duration("12h").unwrap(), Duration::hours(12));
        for bad in ["", "d", "7", "7x", "-1d", "1.5d", "99999w", "٣d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn month_days() {
        assert_eq!(
            parse_month_day("03-31").unwrap(),
            MonthDay { month: 3, day: 31 }
        );
        assert!(parse_month_day("02-29").is_ok());
        for bad in ["02-30", "13-01", "3-31", "0331", "aa-bb", ""] {
            assert!(parse_month_day(bad).is_err(), "{bad}");
        }
        let feb29 = parse_month_day("02-29").unwrap();
        let t = feb29.end_of_day(2026, chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-02-28T15:59:59+00:00");
    }

    #[test]
    fn sizes_and_cron() {
        assert_eq!(parse_size("20MB").unwrap(), 20 << 20);
        assert!(parse_size("0MB").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_cron("0 0 9 * * Mon").is_ok());
        assert!(parse_cron("0 9 * * *").is_err());
        assert!(parse_cron("0 0 25 * * *").is_err());
    }
}
