//! Time-zone conversions between TimeTracker's naive timestamps and UTC instants.
//!
//! Time entries and tasks carry naive wall-clock time in the app zone (`/api/v1/info`
//! `timezone`); clients, projects and users carry naive UTC. Naive local values are read the
//! way the server resolves them (`_localize_with_timezone`, Python `fold=1`): an ambiguous
//! fall-back time is the later (standard-time) instant, and a spring-forward gap time uses
//! the offset after the transition. Writes always send naive local time, never `Z`.
//!
//! Because of the gap rule, an instant in the hour before a spring-forward transition has
//! two naive forms the server reads back as that instant (01:30 and 02:30 on the spring day
//! in Rome are both 00:30 UTC); `naive_forms` lists them, so a write can keep the one whose
//! wall-clock span gives the entry's duration (the form the entry was read in).

use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

/// Parses the naive ISO strings the server writes (`isoformat()`: seconds, optional
/// fraction up to microseconds). Also tolerates a space separator. `None` if unreadable.
pub fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    None
}

/// Formats like Python's `datetime.isoformat()`: microseconds only when non-zero.
pub fn format_naive(t: NaiveDateTime) -> String {
    if t.nanosecond() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// A naive app-local time as the instant the server means (fold=1 rules, see module doc).
/// `None` only for values at the edge of the representable range.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        // fold=1: the second occurrence, i.e. standard time after the fall-back.
        LocalResult::Ambiguous(_, later) => Some(later.with_timezone(&Utc)),
        LocalResult::None => {
            // A spring-forward gap: fold=1 applies the offset in force after the transition.
            let after = local.checked_add_signed(Duration::hours(3))?;
            let offset = tz.offset_from_utc_datetime(&after).fix();
            let secs = i64::from(offset.local_minus_utc());
            Some(local.checked_sub_signed(Duration::seconds(secs))?.and_utc())
        }
    }
}

/// An instant as naive wall-clock time in the app zone (what writes send). At the very edge
/// of the representable range, where the local time does not exist, the UTC time itself.
pub fn utc_to_local(tz: Tz, t: DateTime<Utc>) -> NaiveDateTime {
    let offset = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    t.naive_utc()
        .checked_add_signed(Duration::seconds(i64::from(offset.local_minus_utc())))
        .unwrap_or(t.naive_utc())
}

/// The naive app-local times the server reads as the instant `t`, usual form first: the
/// wall-clock time, and for an instant in the hour before a spring-forward gap also the
/// time inside the gap that `local_to_utc` maps to it. Whole seconds, as writes send them.
pub fn naive_forms(tz: Tz, t: DateTime<Utc>) -> Vec<NaiveDateTime> {
    let t = timeweave_contract::model::whole_seconds(t);
    let usual = utc_to_local(tz, t);
    let mut forms = vec![usual];
    let after = t.checked_add_signed(Duration::hours(3));
    let offset_after = after.map(|a| tz.offset_from_utc_datetime(&a.naive_utc()).fix());
    let in_gap = offset_after
        .and_then(|o| {
            t.naive_utc()
                .checked_add_signed(Duration::seconds(i64::from(o.local_minus_utc())))
        })
        .filter(|g| *g != usual)
        .filter(|g| matches!(tz.from_local_datetime(g), LocalResult::None))
        .filter(|g| local_to_utc(tz, *g) == Some(t));
    forms.extend(in_gap);
    forms
}

/// Reads a naive app-local string to UTC.
pub fn read_local(tz: Tz, s: &str) -> Option<DateTime<Utc>> {
    parse_naive(s).and_then(|t| local_to_utc(tz, t))
}

/// Reads a naive UTC string (clients, projects, users).
pub fn read_utc(s: &str) -> Option<DateTime<Utc>> {
    parse_naive(s).map(|t| t.and_utc())
}

/// The naive local string a write sends for an instant (whole seconds).
pub fn write_local(tz: Tz, t: DateTime<Utc>) -> String {
    format_naive(utc_to_local(
        tz,
        timeweave_contract::model::whole_seconds(t),
    ))
}

/// Parses an IANA zone name from `/info`.
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
}

/// A date-only string (`YYYY-MM-DD`).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rome() -> Tz {
        chrono_tz::Europe::Rome
    }

    fn naive(s: &str) -> NaiveDateTime {
        parse_naive(s).unwrap()
    }

    #[test]
    fn parses_and_formats_like_python() {
        let t = naive("2026-11-22T07:13:09.939315");
        assert_eq!(format_naive(t), "2026-11-22T07:13:09.939315");
        let t = naive("2026-11-20T09:00:00");
        assert_eq!(format_naive(t), "2026-11-20T09:00:00");
        assert!(parse_naive("yesterday").is_none());
        assert!(parse_naive("").is_none());
    }

    #[test]
    fn winter_and_summer_offsets() {
        let t = local_to_utc(rome(), naive("2026-11-20T09:00:00")).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-20T08:00:00+00:00");
        let t = local_to_utc(rome(), naive("2026-07-01T09:00:00")).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-07-01T07:00:00+00:00");
    }

    #[test]
    fn fall_back_fold_resolves_to_standard_time() {
        // 2026-10-25 02:30 happens twice in Rome; the server means the second (CET, +01:00).
        let t = local_to_utc(rome(), naive("2026-10-25T02:30:00")).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-10-25T01:30:00+00:00");
        // Both instants write as the same naive string: the first cannot be told apart.
        let first = "2026-10-25T00:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(write_local(rome(), first), "2026-10-25T02:30:00");
        assert_eq!(write_local(rome(), t), "2026-10-25T02:30:00");
    }

    #[test]
    fn spring_gap_uses_the_offset_after_the_transition() {
        // 2026-03-29 02:30 does not exist in Rome; fold=1 reads it with +02:00.
        let t = local_to_utc(rome(), naive("2026-03-29T02:30:00")).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-29T00:30:00+00:00");
        // An entry 02:30-03:30 keeps the server's one-hour duration.
        let end = local_to_utc(rome(), naive("2026-03-29T03:30:00")).unwrap();
        assert_eq!((end - t).num_seconds(), 3600);
        // Converting from UTC never lands in the gap.
        let w = write_local(rome(), "2026-03-29T01:00:00Z".parse().unwrap());
        assert_eq!(w, "2026-03-29T03:00:00");
    }

    #[test]
    fn an_instant_before_a_spring_gap_has_a_second_naive_form() {
        // 00:30 UTC is 01:30 CET, and the server also reads the gap time 02:30 as 00:30 UTC.
        let t = "2026-03-29T00:30:00Z".parse::<DateTime<Utc>>().unwrap();
        let forms: Vec<String> = naive_forms(rome(), t)
            .into_iter()
            .map(format_naive)
            .collect();
        assert_eq!(forms, ["2026-03-29T01:30:00", "2026-03-29T02:30:00"]);
        for f in naive_forms(rome(), t) {
            assert_eq!(local_to_utc(rome(), f), Some(t));
        }
        // Outside that hour, and in a fold, there is one form only.
        for other in [
            "2026-03-29T01:00:00Z",
            "2026-03-28T23:59:59Z",
            "2026-10-25T00:30:00Z",
            "2026-10-25T01:30:00Z",
            "2026-11-20T08:00:00Z",
        ] {
            let t = other.parse::<DateTime<Utc>>().unwrap();
            assert_eq!(naive_forms(rome(), t).len(), 1, "{other}");
        }
    }

    #[test]
    fn extreme_values_do_not_panic() {
        assert!(read_local(rome(), "9999-12-31T23:59:59").is_some());
        let max = NaiveDateTime::MAX;
        let _ = local_to_utc(chrono_tz::America::New_York, max);
        let _ = naive_forms(rome(), DateTime::<Utc>::MAX_UTC);
        let _ = naive_forms(rome(), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn writes_are_naive_whole_seconds() {
        let t = "2026-03-10T08:00:00.750Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(write_local(rome(), t), "2026-03-10T09:00:00");
    }

    #[test]
    fn zone_names() {
        assert_eq!(parse_zone("Europe/Rome"), Some(rome()));
        assert!(parse_zone("Mars/Olympus").is_none());
    }
}
