//! How instants are written in the ledger (RFC 3339 UTC text, which sorts as text) and the
//! wall-clock conversion reporting columns need (an entry's own zone: IANA name or offset).

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use timeweave_contract::Zone;

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

/// The wall-clock time of `t` in `zone` (an IANA name, an offset or a city label, read by
/// the one zone parser, `timeweave_contract::zone`); UTC when the zone is absent or
/// unreadable (these are reporting columns: the instant itself is always UTC).
pub fn local_wall_time(t: DateTime<Utc>, zone: Option<&str>) -> NaiveDateTime {
    match zone.map(Zone::parse) {
        Some(Ok(z)) => z.from_utc(t),
        Some(Err(_)) | None => t.naive_utc(),
    }
}

/// The UTC offset `zone` has at `t`, if the zone can be read.
pub fn offset_at(t: DateTime<Utc>, zone: &str) -> Option<FixedOffset> {
    Zone::parse(zone).ok().map(|z| z.offset_at(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn wall_time_in_zone_names_and_offsets() {
        let t = Utc.with_ymd_and_hms(2026, 3, 10, 23, 30, 0).unwrap();
        let fmt = |z| local_wall_time(t, z).format("%Y-%m-%d %H:%M").to_string();
        assert_eq!(fmt(Some("Europe/Rome")), "2026-03-11 00:30");
        assert_eq!(fmt(Some("+01:00")), "2026-03-11 00:30");
        assert_eq!(fmt(Some("GMT-03:00")), "2026-03-10 20:30");
        assert_eq!(fmt(Some("GMT+3")), "2026-03-11 02:30");
        assert_eq!(fmt(Some("Berlin")), "2026-03-11 00:30");
        assert_eq!(fmt(Some("nonsense")), "2026-03-10 23:30");
        // Multi-byte characters where digits belong once split a character and panicked.
        assert_eq!(fmt(Some("GMT+1é3")), "2026-03-10 23:30");
        assert_eq!(offset_at(t, "+1é"), None);
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
