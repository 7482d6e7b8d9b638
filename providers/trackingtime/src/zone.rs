//! Time zones and timestamps as TrackingTime writes them: naive `yyyy-MM-dd HH:mm:ss`
//! strings read in an event's `timezone` (`GMT±HH:MM`, also `GMT+3`, or an IANA name since
//! v4.83), converted to UTC instants and back (spec §6).

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// The wire format of every TrackingTime datetime.
pub const NAIVE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// A zone a naive TrackingTime time is read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// A fixed GMT offset (`GMT+01:00`).
    Fixed(FixedOffset),
    /// An IANA zone (`Europe/Rome`), with its daylight saving rules.
    Named(Tz),
}

impl Zone {
    pub const UTC: Zone = Zone::Fixed(match FixedOffset::east_opt(0) {
        Some(z) => z,
        None => unreachable!(),
    });

    /// Reads `GMT+01:00`, `GMT-3`, `GMT+0530`, `GMT`, `UTC`, `+01:00`, or an IANA name.
    pub fn parse(s: &str) -> Option<Zone> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if let Some(offset) = parse_gmt_offset(s) {
            return Some(Zone::Fixed(offset));
        }
        s.parse::<Tz>().ok().map(Zone::Named)
    }

    /// The UTC instant of a naive local time. A time that falls in a daylight saving gap
    /// is read as the instant the clock jumps past it (one hour later, as clocks do); in a
    /// fold, the earlier of the two instants.
    pub fn to_utc(&self, naive: NaiveDateTime) -> DateTime<Utc> {
        match self {
            Zone::Fixed(o) => {
                (naive - chrono::Duration::seconds(o.local_minus_utc() as i64)).and_utc()
            }
            Zone::Named(tz) => match tz.from_local_datetime(&naive) {
                LocalResult::Single(t) => t.with_timezone(&Utc),
                LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
                LocalResult::None => {
                    let later = naive + chrono::Duration::hours(1);
                    match tz.from_local_datetime(&later) {
                        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                            t.with_timezone(&Utc)
                        }
                        // No real zone has a gap longer than an hour twice in a row.
                        LocalResult::None => naive.and_utc(),
                    }
                }
            },
        }
    }

    /// The wall-clock time of an instant in this zone.
    pub fn from_utc(&self, t: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Fixed(o) => t.with_timezone(o).naive_local(),
            Zone::Named(tz) => t.with_timezone(tz).naive_local(),
        }
    }

    /// The offset in force at `t`.
    pub fn offset_at(&self, t: DateTime<Utc>) -> FixedOffset {
        match self {
            Zone::Fixed(o) => *o,
            Zone::Named(tz) => t.with_timezone(tz).offset().fix(),
        }
    }

    /// The canonical `source_tz`: `+01:00` for an offset, the IANA name for a named zone.
    pub fn label(&self) -> String {
        match self {
            Zone::Fixed(o) => offset_label(*o),
            Zone::Named(tz) => tz.name().to_owned(),
        }
    }

    /// The local date of an instant.
    pub fn date_of(&self, t: DateTime<Utc>) -> NaiveDate {
        self.from_utc(t).date()
    }
}

/// `+01:00` / `-03:30` for an offset.
pub fn offset_label(o: FixedOffset) -> String {
    let secs = o.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
}

/// `GMT+01:00`, the form TrackingTime shows and accepts in `timezone`.
pub fn gmt_label(o: FixedOffset) -> String {
    format!("GMT{}", offset_label(o))
}

/// Parses the offset forms `GMT+01:00`, `GMT+1`, `GMT+0130`, `UTC-3`, `GMT`, `+01:00`.
pub fn parse_gmt_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    let upper = s.to_ascii_uppercase();
    let rest = if let Some(r) = upper.strip_prefix("GMT") {
        r
    } else if let Some(r) = upper.strip_prefix("UTC") {
        r
    } else if upper.starts_with('+') || upper.starts_with('-') {
        &upper[..]
    } else {
        return None;
    };
    let rest = rest.trim();
    if rest.is_empty() || rest == "Z" {
        return FixedOffset::east_opt(0);
    }
    let (sign, digits) = match rest.as_bytes()[0] {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() == 4 => digits.split_at(2),
        None => (digits, "0"),
    };
    if h.is_empty() || h.len() > 2 || m.is_empty() || m.len() > 2 {
        return None;
    }
    if !h.bytes().all(|b| b.is_ascii_digit()) || !m.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Reads a naive `yyyy-MM-dd HH:mm:ss` (no `T`, no zone).
pub fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s.trim(), NAIVE_FORMAT).ok()
}

/// Writes `yyyy-MM-dd HH:mm:ss` (by hand: chrono's `format` interprets the pattern on
/// every call, and simulators write millions of these).
pub fn format_naive(t: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn naive(s: &str) -> NaiveDateTime {
        parse_naive(s).unwrap()
    }

    #[test]
    fn gmt_forms() {
        assert_eq!(
            parse_gmt_offset("GMT+01:00").unwrap().local_minus_utc(),
            3600
        );
        assert_eq!(
            parse_gmt_offset("GMT+3").unwrap().local_minus_utc(),
            3 * 3600
        );
        assert_eq!(
            parse_gmt_offset("GMT-03:30").unwrap().local_minus_utc(),
            -(3 * 3600 + 1800)
        );
        assert_eq!(
            parse_gmt_offset("GMT+0530").unwrap().local_minus_utc(),
            5 * 3600 + 1800
        );
        assert_eq!(parse_gmt_offset("GMT").unwrap().local_minus_utc(), 0);
        assert_eq!(parse_gmt_offset("+02:00").unwrap().local_minus_utc(), 7200);
        assert!(parse_gmt_offset("GMT+15").is_none());
        assert!(parse_gmt_offset("GMT+1:99").is_none());
        assert!(parse_gmt_offset("Europe/Rome").is_none());
        assert_eq!(gmt_label(parse_gmt_offset("GMT+3").unwrap()), "GMT+03:00");
        assert_eq!(
            gmt_label(parse_gmt_offset("GMT-3:30").unwrap()),
            "GMT-03:30"
        );
    }

    #[test]
    fn offsets_on_both_sides_of_utc_cross_day_boundaries() {
        // East of UTC: 00:30 local on the 10th is 22:30 UTC on the 9th.
        let east = Zone::parse("GMT+02:00").unwrap();
        let utc = east.to_utc(naive("2026-03-10 00:30:00"));
        assert_eq!(utc, Utc.with_ymd_and_hms(2026, 3, 9, 22, 30, 0).unwrap());
        assert_eq!(format_naive(east.from_utc(utc)), "2026-03-10 00:30:00");
        assert_eq!(east.label(), "+02:00");
        // West of UTC: 23:00 local on the 10th is 02:00 UTC on the 11th.
        let west = Zone::parse("GMT-03:00").unwrap();
        let utc = west.to_utc(naive("2026-03-10 23:00:00"));
        assert_eq!(utc, Utc.with_ymd_and_hms(2026, 3, 11, 2, 0, 0).unwrap());
        assert_eq!(format_naive(west.from_utc(utc)), "2026-03-10 23:00:00");
        assert_eq!(west.label(), "-03:00");
    }

    #[test]
    fn named_zones_gap_and_fold() {
        let rome = Zone::parse("Europe/Rome").unwrap();
        assert_eq!(rome.label(), "Europe/Rome");
        // 2026-03-29 02:30 does not exist in Rome (clocks jump 02:00 -> 03:00).
        let t = rome.to_utc(naive("2026-03-29 02:30:00"));
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap());
        // 2026-10-25 02:30 happens twice; the earlier (CEST, +02:00) is taken.
        let t = rome.to_utc(naive("2026-10-25 02:30:00"));
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap());
        assert_eq!(offset_label(rome.offset_at(t)), "+02:00");
    }

    #[test]
    fn naive_format_is_strict() {
        assert!(parse_naive("2026-03-10 08:00:00").is_some());
        assert!(parse_naive("2026-03-10T08:00:00Z").is_none());
        assert!(parse_naive("2026-03-10").is_none());
        let t = parse_naive("0999-01-02 03:04:05").unwrap();
        assert_eq!(format_naive(t), "0999-01-02 03:04:05");
        assert_eq!(format_naive(t), t.format(NAIVE_FORMAT).to_string());
    }
}
