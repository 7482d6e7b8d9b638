//! How instants are written in the ledger (RFC 3339 UTC text, which sorts as text) and the
//! wall-clock conversion reporting columns need (an entry's own zone: IANA name or offset).

use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset, TimeZone, Utc};

use super::{LedgerError, Result};

/// Record instants: whole seconds, `2026-03-10T08:00:00Z`.
pub fn to_text(t: DateTime<Utc>) -> String {
    // to_rfc3339_opts writes directly (no format-string parsing): a hot path of imports.
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Ledger bookkeeping times: milliseconds, `2026-03-10T08:00:00.123Z`.
pub fn to_text_precise(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn parse_instant(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| LedgerError::corrupt(format!("timestamp {s:?}"), e))
}

pub(crate) fn parse_opt(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_instant).transpose()
}

/// Parses `+01:00`, `-03:30`, `GMT+01:00`, `UTC-5`, `Z`.
fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    let s = s
        .strip_prefix("GMT")
        .or_else(|| s.strip_prefix("UTC"))
        .unwrap_or(s);
    if s.is_empty() || s == "Z" {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
        None if rest.len() == 4 => (rest[..2].parse().ok()?, rest[2..].parse().ok()?),
        None => (rest.parse().ok()?, 0),
    };
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// The wall-clock time of `t` in `zone` (an IANA name or an offset); UTC when the zone is
/// absent or unknown.
pub fn local_wall_time(t: DateTime<Utc>, zone: Option<&str>) -> NaiveDateTime {
    match zone {
        Some(z) => {
            if let Ok(tz) = z.parse::<chrono_tz::Tz>() {
                return t.with_timezone(&tz).naive_local();
            }
            match parse_offset(z) {
                Some(off) => t.with_timezone(&off).naive_local(),
                None => t.naive_utc(),
            }
        }
        None => t.naive_utc(),
    }
}

/// The UTC offset `zone` has at `t`, if the zone is known.
pub fn offset_at(t: DateTime<Utc>, zone: &str) -> Option<FixedOffset> {
    if let Ok(tz) = zone.parse::<chrono_tz::Tz>() {
        return Some(tz.offset_from_utc_datetime(&t.naive_utc()).fix());
    }
    parse_offset(zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_time_in_zone_names_and_offsets() {
        let t = Utc.with_ymd_and_hms(2026, 3, 10, 23, 30, 0).unwrap();
        let fmt = |z| local_wall_time(t, z).format("%Y-%m-%d %H:%M").to_string();
        assert_eq!(fmt(Some("Europe/Rome")), "2026-03-11 00:30");
        assert_eq!(fmt(Some("+01:00")), "2026-03-11 00:30");
        assert_eq!(fmt(Some("GMT-03:00")), "2026-03-10 20:30");
        assert_eq!(fmt(Some("GMT+3")), "2026-03-11 02:30");
        assert_eq!(fmt(Some("nonsense")), "2026-03-10 23:30");
        assert_eq!(fmt(None), "2026-03-10 23:30");
    }

    #[test]
    fn text_round_trip_and_ordering() {
        let a = Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap();
        assert_eq!(to_text(a), "2026-03-10T08:00:00Z");
        assert_eq!(to_text_precise(a), "2026-03-10T08:00:00.000Z");
        let b = a + chrono::Duration::seconds(1);
        assert_eq!(parse_instant(&to_text(a)).unwrap(), a);
        assert!(to_text(a) < to_text(b));
        assert!(parse_instant("yesterday").is_err());
    }
}
