//! The UTC calendar of block time: days and months since 1970-01-01, for periods that
//! follow the calendar (a carrier line's monthly statement, a merchant's monthly
//! insights, dates in the CLI's output).
//!
//! Pure integer arithmetic (Howard Hinnant's `days_from_civil` and `civil_from_days`
//! algorithms), valid for every day a `u64` millisecond count can name from 1970 on.
//! Every calendar period on the chain is UTC, like the tax day ([`super::PERIOD_MS`]).

use crate::types::TimeMs;

use super::PERIOD_MS;

/// A calendar date (UTC).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Date {
    /// The year (1970 on).
    pub year: u64,
    /// The month, 1 to 12.
    pub month: u64,
    /// The day of the month, 1 to 31.
    pub day: u64,
}

/// The date of a day index (days since 1970-01-01).
pub fn date_of_day(day: u64) -> Date {
    let z = day.saturating_add(719_468);
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    Date {
        year: yoe + era * 400 + u64::from(m <= 2),
        month: m,
        day: d,
    }
}

/// The day index (days since 1970-01-01) of the first day of `month` (1 to 12) of
/// `year` (1970 on; earlier dates give day 0).
pub fn first_day_of_month(year: u64, month: u64) -> u64 {
    let month = month.clamp(1, 12);
    let y = if month <= 2 {
        year.saturating_sub(1)
    } else {
        year
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

/// The month a block time falls in, counted from January 1970 (month 0):
/// `year * 12 + month - 1` relative to 1970.
pub fn month_index(time_ms: TimeMs) -> u64 {
    let d = date_of_day(time_ms / PERIOD_MS);
    (d.year - 1970) * 12 + (d.month - 1)
}

/// The first and one-past-the-last millisecond of a month index ([`month_index`]),
/// saturating at `u64::MAX`.
pub fn month_bounds(index: u64) -> (TimeMs, TimeMs) {
    let start = |i: u64| {
        let (year, month) = (1970u64.saturating_add(i / 12), i % 12 + 1);
        first_day_of_month(year, month).saturating_mul(PERIOD_MS)
    };
    (start(index), start(index.saturating_add(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_the_calendar() {
        let date = |year, month, day| Date { year, month, day };
        assert_eq!(date_of_day(0), date(1970, 1, 1));
        assert_eq!(date_of_day(11_016), date(2000, 2, 29));
        assert_eq!(date_of_day(20_794), date(2026, 12, 7));
        assert_eq!(first_day_of_month(2026, 12), 20_788);
        assert_eq!(
            first_day_of_month(2024, 3) - first_day_of_month(2024, 2),
            29
        );
        assert_eq!(
            first_day_of_month(2100, 3) - first_day_of_month(2100, 2),
            28
        );
    }

    #[test]
    fn every_day_lies_in_its_month_and_months_tile_time() {
        for day in (0u64..200_000)
            .step_by(7)
            .chain([59, 60, 365, 10_956, 20_794])
        {
            let t = day * PERIOD_MS + 12_345;
            let i = month_index(t);
            let (s, e) = month_bounds(i);
            assert!(s <= t && t < e, "day {day} month {i}");
            assert_eq!(month_bounds(i + 1).0, e);
            let d = date_of_day(day);
            assert_eq!(first_day_of_month(d.year, d.month) * PERIOD_MS, s);
            assert!((28..=31).contains(&((e - s) / PERIOD_MS)));
        }
        assert_eq!(month_index(0), 0);
        assert_eq!(month_index(20_794 * PERIOD_MS), 56 * 12 + 11);
    }
}
