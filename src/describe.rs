//! How messages name a record (issues, warnings, conflicts, dry-run lines): an entry by its
//! wall-clock times in its own zone, with the zone (`2026-11-21 09:00–12:00 Europe/Rome`),
//! never as unmarked UTC; every other kind by its name.

use chrono::{DateTime, Utc};
use timeweave_contract::Record;

use crate::ledger::{local_wall_time, offset_at};

/// The record as an operator would recognise it.
pub fn label<R>(record: &Record<R>) -> String {
    match record {
        Record::TimeEntry(e) => entry_times(e.started_at, e.ended_at, e.source_tz.as_deref()),
        other => other.label(),
    }
}

/// `2026-11-21 09:00–12:00 Europe/Rome`; the end's date too when it is another day; UTC
/// (said so) when the zone is absent or unknown.
pub fn entry_times(
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    zone: Option<&str>,
) -> String {
    let zone = zone.filter(|z| offset_at(started_at, z).is_some());
    let start = local_wall_time(started_at, zone);
    let end = match ended_at.map(|t| local_wall_time(t, zone)) {
        Some(end) if end.date() == start.date() => end.format("%H:%M").to_string(),
        Some(end) => end.format("%Y-%m-%d %H:%M").to_string(),
        None => "running".to_owned(),
    };
    format!(
        "{}–{end} {}",
        start.format("%Y-%m-%d %H:%M"),
        zone.unwrap_or("UTC")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
    }

    #[test]
    fn an_entry_is_named_by_its_wall_clock_times_in_its_own_zone() {
        let cases = [
            (
                at(21, 8),
                Some(at(21, 11)),
                Some("Europe/Rome"),
                "2026-11-21 09:00–12:00 Europe/Rome",
            ),
            (
                at(21, 8),
                Some(at(21, 11)),
                Some("+05:30"),
                "2026-11-21 13:30–16:30 +05:30",
            ),
            (
                at(21, 22),
                Some(at(22, 1)),
                Some("Europe/Rome"),
                "2026-11-21 23:00–2026-11-22 02:00 Europe/Rome",
            ),
            (
                at(21, 8),
                None,
                Some("America/New_York"),
                "2026-11-21 03:00–running America/New_York",
            ),
            (
                at(21, 8),
                Some(at(21, 11)),
                None,
                "2026-11-21 08:00–11:00 UTC",
            ),
            (
                at(21, 8),
                Some(at(21, 11)),
                Some("Mars/Olympus"),
                "2026-11-21 08:00–11:00 UTC",
            ),
        ];
        for (start, end, zone, expected) in cases {
            assert_eq!(entry_times(start, end, zone), expected, "{zone:?}");
        }
    }
}
