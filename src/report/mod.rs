//! Reporting on the ledger: `timeweave report` (totals as a terminal table, CSV or JSON, and
//! an offline HTML report with weekly charts) and `timeweave export` (time entries as CSV or
//! JSON Lines, streamed). The SQL lives in `ledger::reports`; this module only formats.
//!
//! Hours follow the views' rule: a running timer counts 0 hours until it is stopped.

mod chart;
mod command;
pub mod csv;
pub mod export;
pub mod html;
pub mod totals;

pub use command::{
    check_views, export_command, export_on, open_for_reading, report_command, report_on,
    require_ledger, ReportError,
};

use chrono::{Days, NaiveDate};

use crate::ledger::DateRange;

/// Days covered when `--from` is not given: the last 30 days up to `--to` (or today).
pub const DEFAULT_DAYS: u64 = 30;

/// The inclusive range of local work dates for `--from`/`--to`: both default to the last
/// [`DEFAULT_DAYS`] days ending `today`; only `--from` runs up to today; only `--to` covers the
/// 30 days ending there.
pub fn resolve_range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<DateRange, String> {
    let to = to.unwrap_or(today);
    let from = match from {
        Some(from) => from,
        None => to
            .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
            .unwrap_or(NaiveDate::MIN),
    };
    if from > to {
        return Err(format!(
            "--from {from} is after --to {to}: the range is inclusive, give --from on or before --to"
        ));
    }
    Ok(DateRange { from, to })
}

/// The inclusive range `export` covers: every entry of the ledger (`span`, its first and last
/// work dates) unless `--from`/`--to` narrow it. An empty ledger gives the one day asked for,
/// or `today`.
pub fn resolve_export_range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    span: Option<(NaiveDate, NaiveDate)>,
    today: NaiveDate,
) -> Result<DateRange, String> {
    let fallback = from.or(to).unwrap_or(today);
    let (first, last) = span.unwrap_or((fallback, fallback));
    let range = DateRange {
        from: from.unwrap_or(first),
        to: to.unwrap_or(last),
    };
    if range.from > range.to {
        let (what_from, what_to) = match (from, to) {
            (Some(_), Some(_)) => ("--from", "--to"),
            (Some(_), None) => ("--from", "the last entry's date"),
            _ => ("the first entry's date", "--to"),
        };
        return Err(format!(
            "{what_from} {} is after {what_to} {}: nothing to export (the ledger's entries run from {first} to {last})",
            range.from, range.to
        ));
    }
    Ok(range)
}

/// Seconds as hours, rounded to 4 decimals (the views' precision), for CSV and JSON.
pub fn hours_4(seconds: i64) -> f64 {
    (seconds as f64 / 3600.0 * 10_000.0).round() / 10_000.0
}

/// Seconds as hours with 2 decimals, for people to read.
pub fn hours_2(seconds: i64) -> String {
    format!("{:.2}", seconds as f64 / 3600.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_default_to_the_last_30_days() {
        let today = d("2026-03-31");
        assert_eq!(
            resolve_range(None, None, today).unwrap(),
            DateRange {
                from: d("2026-03-02"),
                to: today
            }
        );
        assert_eq!(
            resolve_range(Some(d("2026-01-01")), None, today).unwrap(),
            DateRange {
                from: d("2026-01-01"),
                to: today
            }
        );
        assert_eq!(
            resolve_range(None, Some(d("2026-01-30")), today).unwrap(),
            DateRange {
                from: d("2026-01-01"),
                to: d("2026-01-30")
            }
        );
        let one_day = resolve_range(Some(today), Some(today), today).unwrap();
        assert_eq!(one_day.from, one_day.to);
        let err = resolve_range(Some(d("2026-02-01")), Some(d("2026-01-01")), today).unwrap_err();
        assert!(
            err.contains("--from 2026-02-01 is after --to 2026-01-01"),
            "{err}"
        );
    }

    #[test]
    fn export_ranges_default_to_every_entry() {
        let today = d("2026-03-31");
        let span = Some((d("2019-05-01"), d("2027-02-01")));
        let range = |from, to| resolve_export_range(from, to, span, today);
        assert_eq!(
            range(None, None).unwrap(),
            DateRange {
                from: d("2019-05-01"),
                to: d("2027-02-01")
            },
            "entries years back and months ahead are all exported"
        );
        assert_eq!(
            range(Some(d("2026-01-01")), None).unwrap(),
            DateRange {
                from: d("2026-01-01"),
                to: d("2027-02-01")
            }
        );
        assert_eq!(
            range(None, Some(d("2020-01-31"))).unwrap(),
            DateRange {
                from: d("2019-05-01"),
                to: d("2020-01-31")
            }
        );
        let err = range(Some(d("2028-01-01")), None).unwrap_err();
        assert!(
            err.contains("--from 2028-01-01 is after the last entry's date 2027-02-01"),
            "{err}"
        );
        let err = range(Some(d("2026-02-01")), Some(d("2026-01-01"))).unwrap_err();
        assert!(
            err.contains("--from 2026-02-01 is after --to 2026-01-01"),
            "{err}"
        );
        let empty = resolve_export_range(None, None, None, today).unwrap();
        assert_eq!((empty.from, empty.to), (today, today));
    }

    #[test]
    fn hours_are_rounded_for_machines_and_people() {
        assert_eq!(hours_4(5400), 1.5);
        assert_eq!(hours_4(1), 0.0003);
        assert_eq!(hours_2(5400), "1.50");
        assert_eq!(hours_2(0), "0.00");
        assert_eq!(hours_2(-3600), "-1.00");
    }
}
