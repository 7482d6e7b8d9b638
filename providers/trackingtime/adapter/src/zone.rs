//! Timestamps as TrackingTime writes them: naive `yyyy-MM-dd HH:mm:ss` strings read in an
//! event's `timezone` (`GMT±HH:MM`, also `GMT+3`, an IANA name since v4.83, or a city label
//! such as `Berlin` in user settings, T3), converted to UTC instants and back (spec §6).
//! The zone labels themselves are read by the one parser in `timeweave_contract::zone`.

use chrono::{FixedOffset, NaiveDateTime};

pub use timeweave_contract::zone::{offset_label, parse_offset, Zone, ZoneError};

/// The wire format of every TrackingTime datetime.
pub const NAIVE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// `GMT+01:00`, the form TrackingTime shows and accepts in `timezone`.
pub fn gmt_label(o: FixedOffset) -> String {
    format!("GMT{}", offset_label(o))
}

/// Reads a naive `yyyy-MM-dd HH:mm:ss` (no `T`, no zone), with a four-digit year: wider
/// years (chrono reads them) would overflow when moved by a zone's offset.
pub fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    use chrono::Datelike;
    NaiveDateTime::parse_from_str(s.trim(), NAIVE_FORMAT)
        .ok()
        .filter(|t| (0..=9999).contains(&t.year()))
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
    use chrono::{TimeZone, Utc};

    fn naive(s: &str) -> NaiveDateTime {
        parse_naive(s).unwrap()
    }

    #[test]
    fn gmt_forms() {
        assert_eq!(parse_offset("GMT+01:00").unwrap().local_minus_utc(), 3600);
        assert_eq!(parse_offset("GMT+3").unwrap().local_minus_utc(), 3 * 3600);
        assert_eq!(
            parse_offset("GMT-03:30").unwrap().local_minus_utc(),
            -(3 * 3600 + 1800)
        );
        assert_eq!(
            parse_offset("GMT+0530").unwrap().local_minus_utc(),
            5 * 3600 + 1800
        );
        assert_eq!(parse_offset("GMT").unwrap().local_minus_utc(), 0);
        assert_eq!(parse_offset("+02:00").unwrap().local_minus_utc(), 7200);
        assert!(parse_offset("GMT+15").is_none());
        assert!(parse_offset("GMT+1:99").is_none());
        assert!(parse_offset("Europe/Rome").is_none());
        assert_eq!(gmt_label(parse_offset("GMT+3").unwrap()), "GMT+03:00");
        assert_eq!(gmt_label(parse_offset("GMT-3:30").unwrap()), "GMT-03:30");
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
    fn naive_format_is_strict() {
        assert!(parse_naive("2026-03-10 08:00:00").is_some());
        assert!(parse_naive("2026-03-10T08:00:00Z").is_none());
        assert!(parse_naive("2026-03-10").is_none());
        // Years beyond four digits would overflow a zone's offset: refused.
        assert!(parse_naive("+262143-12-31 23:59:59").is_none());
        assert!(parse_naive("262143-12-31 23:59:59").is_none());
        assert!(parse_naive("-0001-01-01 00:00:00").is_none());
        let t = parse_naive("0999-01-02 03:04:05").unwrap();
        assert_eq!(format_naive(t), "0999-01-02 03:04:05");
        assert_eq!(format_naive(t), t.format(NAIVE_FORMAT).to_string());
    }
}
