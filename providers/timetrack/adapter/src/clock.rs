//! TimeTrack's time convention (evidence K1): its `...Z` timestamps are either UTC or the
//! account's wall-clock time with a decorative `Z`. Owns the parsed form of a timestamp
//! ([`Stamp`]), turning a listed start and end into instants (DST gaps and folds resolved
//! the way a browser shows them, see the README), and the wall-clock text written for an
//! instant. Used by the adapter and, with the same switch, by the simulator.

use chrono::{
    DateTime, Duration, FixedOffset, LocalResult, NaiveDateTime, Offset, SecondsFormat, TimeZone,
    Utc,
};
use chrono_tz::Tz;

/// How `from`/`to` (and the list filters of the same name) are to be read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timestamps {
    /// `Z` means what it says: UTC.
    Utc,
    /// `Z` is decoration: the time is wall-clock time in this zone (the default, K1).
    Local(Tz),
}

/// The widest gap between an instant and its wall-clock reading that a DST change (or
/// another offset change) moves, plus margin: list filters written as wall-clock time reach
/// this much further on each side so that a window's listing stays complete.
const SHIFT_SLACK: Duration = Duration::hours(3);

/// A timestamp as TimeTrack sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// `2020-10-23T14:30:00.000Z`: UTC or wall-clock time, as the convention says.
    Zulu(NaiveDateTime),
    /// `2020-10-23T14:30:00`: wall-clock time; unreadable under [`Timestamps::Utc`].
    Bare(NaiveDateTime),
    /// `2020-10-23T16:30:00+02:00`: one instant under either convention.
    Offset(DateTime<FixedOffset>),
}

/// Reads `YYYY-MM-DDTHH:MM:SS(.fff)` followed by `Z`, a numeric offset or nothing.
pub fn parse_stamp(s: &str) -> Option<Stamp> {
    let s = s.trim();
    if let Some(wall) = s.strip_suffix(['Z', 'z']) {
        return naive(wall).map(Stamp::Zulu);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(Stamp::Offset(t));
    }
    naive(s).map(Stamp::Bare)
}

fn naive(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

/// Both readings of a wall-clock time: equal unless it falls in a fold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Readings {
    earlier: DateTime<Utc>,
    later: DateTime<Utc>,
}

impl Readings {
    fn one(t: DateTime<Utc>) -> Self {
        Readings {
            earlier: t,
            later: t,
        }
    }
    fn both(self) -> [DateTime<Utc>; 2] {
        [self.earlier, self.later]
    }
}

impl Timestamps {
    /// The zone entries are recorded in (`source_tz`).
    pub fn zone_name(&self) -> &'static str {
        match self {
            Timestamps::Utc => "UTC",
            Timestamps::Local(tz) => tz.name(),
        }
    }

    /// The wall-clock reading of an instant under this convention.
    pub fn wall(&self, t: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Timestamps::Utc => t.naive_utc(),
            // Checked: at the edge of chrono's range the offset would overflow.
            Timestamps::Local(tz) => {
                let offset = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
                t.naive_utc()
                    .checked_add_offset(offset)
                    .unwrap_or(t.naive_utc())
            }
        }
    }

    /// The text TimeTrack gets for an instant: `YYYY-MM-DDTHH:MM:SS.fffZ` of its reading.
    pub fn format(&self, t: DateTime<Utc>) -> String {
        self.wall(t)
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// A list filter bound: `t` moved by `slack` (earlier when negative), widened by the
    /// DST slack under local time, as TimeTrack text.
    pub fn filter_bound(&self, t: DateTime<Utc>, slack: Duration) -> String {
        let widen = match self {
            Timestamps::Utc => Duration::zero(),
            Timestamps::Local(_) if slack < Duration::zero() => -SHIFT_SLACK,
            Timestamps::Local(_) => SHIFT_SLACK,
        };
        let moved = t
            .checked_add_signed(slack + widen)
            .unwrap_or(if slack < Duration::zero() {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            });
        self.format(moved)
    }

    /// Where a stamp is held as wall-clock milliseconds (the simulator's storage: the
    /// naive time as if it were UTC); `None` for a bare time under UTC.
    pub fn wall_millis(&self, s: Stamp) -> Option<i64> {
        match (self, s) {
            (_, Stamp::Zulu(n)) | (Timestamps::Local(_), Stamp::Bare(n)) => {
                Some(n.and_utc().timestamp_millis())
            }
            (Timestamps::Utc, Stamp::Bare(_)) => None,
            (_, Stamp::Offset(t)) => Some(self.wall(t.to_utc()).and_utc().timestamp_millis()),
        }
    }

    /// A start without an end (a running entry): a fold's earlier reading.
    pub fn start(&self, from: Stamp) -> Result<DateTime<Utc>, String> {
        Ok(self.readings(from)?.earlier)
    }

    /// An entry's start and end. In a fold, the readings whose length best agrees with
    /// `length` (the entry's own worked + break minutes), else with the wall-clock length;
    /// ties go to the earlier readings, as a browser reads an ambiguous time.
    pub fn span(
        &self,
        from: Stamp,
        to: Stamp,
        length: Option<Duration>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
        let (starts, ends) = (self.readings(from)?, self.readings(to)?);
        let wall_length = || match (self.wall_millis(from), self.wall_millis(to)) {
            (Some(a), Some(b)) => Duration::try_milliseconds(b.saturating_sub(a)),
            _ => None,
        };
        let Some(want) = length.or_else(wall_length) else {
            return Ok((starts.earlier, ends.earlier));
        };
        let mut best = (starts.earlier, ends.earlier);
        let miss = |(s, e): (DateTime<Utc>, DateTime<Utc>)| ((e - s) - want).abs();
        for s in starts.both() {
            for e in ends.both() {
                if miss((s, e)) < miss(best) {
                    best = (s, e);
                }
            }
        }
        Ok(best)
    }

    fn readings(&self, s: Stamp) -> Result<Readings, String> {
        let wall = match (self, s) {
            (_, Stamp::Offset(t)) => return Ok(Readings::one(t.to_utc())),
            (Timestamps::Utc, Stamp::Zulu(n)) => return Ok(Readings::one(n.and_utc())),
            (Timestamps::Utc, Stamp::Bare(_)) => {
                return Err(
                    "has no zone (`Z` or an offset); with timestamps = \"utc\" a time \
                            without one is not guessed"
                        .into(),
                )
            }
            (Timestamps::Local(_), Stamp::Zulu(n) | Stamp::Bare(n)) => n,
        };
        let Timestamps::Local(tz) = self else {
            return Ok(Readings::one(wall.and_utc()));
        };
        if !(1..=9999).contains(&chrono::Datelike::year(&wall)) {
            return Err(format!("{wall} is outside the years 1 to 9999"));
        }
        match tz.from_local_datetime(&wall) {
            LocalResult::Single(t) => Ok(Readings::one(t.to_utc())),
            LocalResult::Ambiguous(a, b) => Ok(Readings {
                earlier: a.to_utc().min(b.to_utc()),
                later: a.to_utc().max(b.to_utc()),
            }),
            LocalResult::None => Ok(Readings::one(in_gap(*tz, wall)?)),
        }
    }
}

/// A wall-clock time a DST change skips (02:30 on a spring-forward day) read with the offset
/// in force before the change, as browsers do: it lands as far past the gap's end as it lay
/// past its start (02:30 in Berlin is 03:30 summer time).
fn in_gap(tz: Tz, wall: NaiveDateTime) -> Result<DateTime<Utc>, String> {
    let before = (1..=48)
        .filter_map(|half_hours| wall.checked_sub_signed(Duration::minutes(30 * half_hours)))
        .find_map(|w| tz.from_local_datetime(&w).latest())
        .map(|t| t.offset().fix())
        .ok_or_else(|| format!("{wall} does not exist in {} and no offset precedes it", tz))?;
    wall.checked_sub_signed(Duration::seconds(i64::from(before.local_minus_utc())))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{wall} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERLIN: Timestamps = Timestamps::Local(chrono_tz::Europe::Berlin);

    fn z(s: &str) -> Stamp {
        parse_stamp(s).unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn stamps_in_every_form() {
        assert!(matches!(z("2026-01-05T09:00:00.000Z"), Stamp::Zulu(_)));
        assert!(matches!(z("2026-01-05T09:00:00Z"), Stamp::Zulu(_)));
        assert!(matches!(z("2026-01-05T09:00:00"), Stamp::Bare(_)));
        assert!(matches!(z("2026-01-05T09:00:00+01:00"), Stamp::Offset(_)));
        for bad in [
            "",
            "Z",
            "2026-01-05 09:00",
            "yesterday",
            "2026-13-05T09:00:00Z",
        ] {
            assert_eq!(parse_stamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn utc_convention_reads_z_as_utc_and_refuses_bare_times() {
        let t = Timestamps::Utc;
        assert_eq!(
            t.start(z("2026-01-05T09:00:00.000Z")),
            Ok(utc("2026-01-05T09:00:00Z"))
        );
        assert_eq!(
            t.format(utc("2026-07-05T09:00:00Z")),
            "2026-07-05T09:00:00.000Z"
        );
        let err = t.start(z("2026-01-05T09:00:00")).unwrap_err();
        assert!(err.contains("timestamps = \"utc\""), "{err}");
    }

    #[test]
    fn local_convention_reads_and_writes_wall_clock_time() {
        // Winter +01:00, summer +02:00; a bare time reads like a `Z` one; an offset is kept.
        assert_eq!(
            BERLIN.start(z("2026-01-05T09:00:00.000Z")),
            Ok(utc("2026-01-05T08:00:00Z"))
        );
        assert_eq!(
            BERLIN.start(z("2026-07-05T09:00:00")),
            Ok(utc("2026-07-05T07:00:00Z"))
        );
        assert_eq!(
            BERLIN.start(z("2026-07-05T09:00:00+00:00")),
            Ok(utc("2026-07-05T09:00:00Z"))
        );
        assert_eq!(
            BERLIN.format(utc("2026-07-05T07:00:00Z")),
            "2026-07-05T09:00:00.000Z"
        );
        assert_eq!(BERLIN.zone_name(), "Europe/Berlin");
    }

    #[test]
    fn a_time_in_the_spring_gap_reads_with_the_offset_before_it() {
        // 2026-03-29 in Berlin: 02:00 → 03:00. 02:30 is shown as 03:30 summer time.
        assert_eq!(
            BERLIN.start(z("2026-03-29T02:30:00.000Z")),
            Ok(utc("2026-03-29T01:30:00Z"))
        );
        // An entry 01:30–02:30 keeps its wall-clock length of one hour.
        assert_eq!(
            BERLIN.span(z("2026-03-29T01:30:00Z"), z("2026-03-29T02:30:00Z"), None),
            Ok((utc("2026-03-29T00:30:00Z"), utc("2026-03-29T01:30:00Z")))
        );
        // Written back, the instant reads as the wall-clock time that exists.
        assert_eq!(
            BERLIN.format(utc("2026-03-29T01:30:00Z")),
            "2026-03-29T03:30:00.000Z"
        );
    }

    #[test]
    fn a_time_in_the_autumn_fold_takes_the_reading_its_length_agrees_with() {
        // 2026-10-25 in Berlin: 03:00 → 02:00; 02:30 is 00:30Z (summer) or 01:30Z (winter).
        let (from, to) = (z("2026-10-25T02:30:00Z"), z("2026-10-25T02:30:00Z"));
        assert_eq!(
            BERLIN.span(from, to, Some(Duration::minutes(60))),
            Ok((utc("2026-10-25T00:30:00Z"), utc("2026-10-25T01:30:00Z")))
        );
        // No length to go by: the earlier reading, as a browser shows it.
        assert_eq!(BERLIN.start(from), Ok(utc("2026-10-25T00:30:00Z")));
        assert_eq!(
            BERLIN.span(from, to, Some(Duration::zero())),
            Ok((utc("2026-10-25T00:30:00Z"), utc("2026-10-25T00:30:00Z")))
        );
        // 01:30 (unambiguous) to 02:15 (ambiguous), 105 minutes worked: the winter 02:15.
        assert_eq!(
            BERLIN.span(
                z("2026-10-25T01:30:00Z"),
                z("2026-10-25T02:15:00Z"),
                Some(Duration::minutes(105))
            ),
            Ok((utc("2026-10-24T23:30:00Z"), utc("2026-10-25T01:15:00Z")))
        );
        // Without minutes the wall-clock length (45 min) decides: the summer 02:15.
        assert_eq!(
            BERLIN.span(z("2026-10-25T01:30:00Z"), z("2026-10-25T02:15:00Z"), None),
            Ok((utc("2026-10-24T23:30:00Z"), utc("2026-10-25T00:15:00Z")))
        );
        // Both instants of the fold are written as the same wall-clock time.
        assert_eq!(
            BERLIN.format(utc("2026-10-25T00:30:00Z")),
            "2026-10-25T02:30:00.000Z"
        );
        assert_eq!(
            BERLIN.format(utc("2026-10-25T01:30:00Z")),
            "2026-10-25T02:30:00.000Z"
        );
    }

    #[test]
    fn filters_reach_past_dst_shifts_and_never_overflow() {
        let t = utc("2026-03-29T01:30:00Z");
        assert_eq!(
            BERLIN.filter_bound(t, -Duration::minutes(1)),
            "2026-03-28T23:29:00.000Z"
        );
        assert_eq!(
            Timestamps::Utc.filter_bound(t, -Duration::minutes(1)),
            "2026-03-29T01:29:00.000Z"
        );
        let _ = BERLIN.filter_bound(DateTime::<Utc>::MAX_UTC, Duration::days(1));
        let _ = BERLIN.filter_bound(DateTime::<Utc>::MIN_UTC, -Duration::days(1));
    }

    #[test]
    fn far_years_are_refused_not_panicked_on() {
        for s in ["+99999-01-01T00:00:00Z", "0000-01-01T00:00:00Z"] {
            if let Some(stamp) = parse_stamp(s) {
                assert!(BERLIN.start(stamp).is_err(), "{s}");
            }
        }
    }
}
