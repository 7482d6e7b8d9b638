//! The one reader of the time-zone labels providers write, and the conversions of naive
//! wall-clock times through them. It reads IANA names (`Europe/Rome`, any case), GMT/UTC
//! offsets (`GMT+01:00`, `GMT-3`, `UTC+0530`, `GMT`), bare offsets (`+01:00`, `-0330`,
//! `Z`) and city labels (`Berlin`: the one IANA zone whose last component is that city).
//! It works on characters and never panics, whatever the bytes: a label it cannot read is
//! a [`ZoneError`] saying why, never a silent UTC.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// The largest offset any real zone has had (Kiribati, +14:00).
const MAX_OFFSET_HOURS: u32 = 14;

/// The regions of canonical IANA names; a city label is matched only against these (not
/// `US/Pacific`, `Etc/GMT+3` and other legacy aliases).
const REGIONS: [&str; 9] = [
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
];

/// A zone naive wall-clock times are read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// A fixed offset from UTC (`GMT+01:00`).
    Fixed(FixedOffset),
    /// An IANA zone (`Europe/Rome`), with its daylight saving rules.
    Named(Tz),
}

/// Why a zone label could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("the time zone is empty")]
    Empty,
    #[error("time zone {label:?} is neither an IANA name (Europe/Berlin), an offset (GMT+01:00, +01:00) nor a known city")]
    Unknown { label: String },
    #[error("time zone {label:?} names a city found in several zones ({}); give the IANA name", candidates.join(", "))]
    Ambiguous {
        label: String,
        candidates: Vec<String>,
    },
}

impl Zone {
    pub const UTC: Zone = Zone::Fixed(match FixedOffset::east_opt(0) {
        Some(z) => z,
        None => unreachable!(),
    });

    /// Reads an offset form first, then an IANA name (in any case), then a city label.
    pub fn parse(label: &str) -> Result<Zone, ZoneError> {
        let s = label.trim();
        if s.is_empty() {
            return Err(ZoneError::Empty);
        }
        if let Some(offset) = parse_offset(s) {
            return Ok(Zone::Fixed(offset));
        }
        if let Some(tz) = iana_zone(s) {
            return Ok(Zone::Named(tz));
        }
        city_zone(s).map(Zone::Named)
    }

    /// The UTC instant of a naive local time. A time in a daylight saving gap is read as
    /// the instant the clock jumps past it (one hour later, as clocks do); in a fold, the
    /// earlier of the two instants.
    pub fn to_utc(&self, naive: NaiveDateTime) -> DateTime<Utc> {
        match self {
            Zone::Fixed(o) => {
                (naive - chrono::Duration::seconds(i64::from(o.local_minus_utc()))).and_utc()
            }
            Zone::Named(tz) => match tz.from_local_datetime(&naive) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
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

/// `s` without a case-insensitive ASCII `prefix` (never splitting a character).
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// Reads `GMT+01:00`, `GMT+1`, `GMT+0130`, `UTC-3`, `GMT`, `UTC`, `+01:00`, `-0330`, `Z`.
/// `None` for anything else, including offsets beyond ±14:00 or minutes beyond 59.
pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    let prefixed = strip_prefix_ci(s, "GMT").or_else(|| strip_prefix_ci(s, "UTC"));
    let rest = prefixed.unwrap_or(s).trim();
    if rest.is_empty() {
        // `GMT` or `UTC` alone; an empty label is no offset.
        return prefixed.and_then(|_| FixedOffset::east_opt(0));
    }
    if rest.eq_ignore_ascii_case("Z") {
        return FixedOffset::east_opt(0);
    }
    let mut chars = rest.chars();
    let sign: i32 = match chars.next()? {
        '+' => 1,
        '-' | '\u{2212}' => -1,
        _ => return None,
    };
    let digits = chars.as_str();
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.chars().count() == 4 => {
            let split = digits.char_indices().nth(2).map(|(i, _)| i)?;
            digits.split_at(split)
        }
        None => (digits, "0"),
    };
    let h = small_number(hours)?;
    let m = small_number(minutes)?;
    if h > MAX_OFFSET_HOURS || m > 59 {
        return None;
    }
    let secs = i32::try_from(h * 3600 + m * 60).ok()?;
    FixedOffset::east_opt(sign * secs)
}

/// One or two ASCII digits.
fn small_number(s: &str) -> Option<u32> {
    let n = s.chars().count();
    if !(1..=2).contains(&n) || !s.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// An IANA name, exactly or in another case.
fn iana_zone(s: &str) -> Option<Tz> {
    s.parse::<Tz>().ok().or_else(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .copied()
            .find(|tz| tz.name().eq_ignore_ascii_case(s))
    })
}

/// The IANA zone of a city label (`Berlin`, `new york`, `Buenos Aires`): the one
/// canonical zone whose last component is that city, spaces read as underscores.
pub fn city_zone(label: &str) -> Result<Tz, ZoneError> {
    let city = label.trim().replace(' ', "_");
    let unknown = || ZoneError::Unknown {
        label: label.to_owned(),
    };
    if city.is_empty() || city.contains('/') {
        return Err(unknown());
    }
    let found: Vec<Tz> = chrono_tz::TZ_VARIANTS
        .iter()
        .copied()
        .filter(|tz| {
            let name = tz.name();
            let region = name.split('/').next().unwrap_or_default();
            REGIONS.contains(&region)
                && name
                    .rsplit('/')
                    .next()
                    .is_some_and(|last| last.eq_ignore_ascii_case(&city))
        })
        .collect();
    settle(label, found)
}

/// One zone among the matches of a city label: none is unknown; several are one zone
/// when they keep the same clocks (an old alias beside its canonical name, such as
/// `America/Buenos_Aires` and `America/Argentina/Buenos_Aires`: the longer, canonical
/// name is taken), else ambiguous.
fn settle(label: &str, mut found: Vec<Tz>) -> Result<Tz, ZoneError> {
    found.sort_by_key(|tz| std::cmp::Reverse(tz.name().len()));
    match found.split_first() {
        None => Err(ZoneError::Unknown {
            label: label.to_owned(),
        }),
        Some((first, rest)) if rest.iter().all(|tz| same_clocks(*first, *tz)) => Ok(*first),
        Some(_) => Err(ZoneError::Ambiguous {
            label: label.to_owned(),
            candidates: found.iter().map(|tz| tz.name().to_owned()).collect(),
        }),
    }
}

/// Whether two zones show the same offset every January and July from 1970 to 2037.
fn same_clocks(a: Tz, b: Tz) -> bool {
    (1970..=2037).all(|year| {
        [1, 7].into_iter().all(|month| {
            let Some(t) = Utc.with_ymd_and_hms(year, month, 1, 12, 0, 0).single() else {
                return true;
            };
            Zone::Named(a).offset_at(t) == Zone::Named(b).offset_at(t)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> Option<i32> {
        parse_offset(s).map(|o| o.local_minus_utc())
    }

    #[test]
    fn offset_forms() {
        assert_eq!(secs("GMT+01:00"), Some(3600));
        assert_eq!(secs("gmt+3"), Some(3 * 3600));
        assert_eq!(secs("GMT-03:30"), Some(-(3 * 3600 + 1800)));
        assert_eq!(secs("UTC+0530"), Some(5 * 3600 + 1800));
        assert_eq!(secs("GMT"), Some(0));
        assert_eq!(secs("UTC"), Some(0));
        assert_eq!(secs("Z"), Some(0));
        assert_eq!(secs("+02:00"), Some(7200));
        assert_eq!(secs("-0330"), Some(-(3 * 3600 + 1800)));
        assert_eq!(secs("\u{2212}05:00"), Some(-5 * 3600));
    }

    #[test]
    fn offsets_out_of_range_or_malformed_are_refused() {
        for bad in [
            "",
            "GMT+15",
            "GMT+1:99",
            "+123",
            "+",
            "GMT+",
            "GMT+1:",
            "+1a",
            "Europe/Rome",
            "GMT+01:00:00",
            "++01",
            "0100",
        ] {
            assert_eq!(secs(bad), None, "{bad:?}");
        }
    }

    /// Multi-byte characters where digits are expected used to split a character and
    /// panic (`GMT+1é3`); they are refused instead.
    #[test]
    fn non_ascii_never_panics() {
        for bad in [
            "GMT+1é3",
            "GMT+é",
            "+1é",
            "GMT+1é:3",
            "é",
            "GMTé",
            "UTC+٣",
            "+１２",
        ] {
            assert_eq!(secs(bad), None, "{bad:?}");
            assert!(Zone::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn iana_names_in_any_case() {
        assert_eq!(Zone::parse("Europe/Rome").unwrap().label(), "Europe/Rome");
        assert_eq!(Zone::parse("europe/rome").unwrap().label(), "Europe/Rome");
        assert_eq!(Zone::parse("GMT+01:00").unwrap().label(), "+01:00");
    }

    #[test]
    fn city_labels_resolve_to_their_one_zone() {
        assert_eq!(Zone::parse("Berlin").unwrap().label(), "Europe/Berlin");
        assert_eq!(
            Zone::parse(" new york ").unwrap().label(),
            "America/New_York"
        );
        assert_eq!(
            Zone::parse("Buenos Aires").unwrap().label(),
            "America/Argentina/Buenos_Aires"
        );
    }

    #[test]
    fn unknown_and_ambiguous_cities_are_errors_that_say_so() {
        assert!(matches!(
            Zone::parse("Atlantis"),
            Err(ZoneError::Unknown { .. })
        ));
        assert_eq!(Zone::parse("  "), Err(ZoneError::Empty));
        // US/Pacific is a legacy alias, not a city.
        assert!(matches!(
            Zone::parse("Pacific"),
            Err(ZoneError::Unknown { .. })
        ));
        // An alias and its canonical name are one zone: the canonical name is taken.
        assert_eq!(
            Zone::parse("Indianapolis").unwrap().label(),
            "America/Indiana/Indianapolis"
        );
        // Two zones with different clocks under one label: no guess.
        match settle("Twin", vec![Tz::Europe__Berlin, Tz::America__New_York]) {
            Err(e @ ZoneError::Ambiguous { .. }) => {
                assert!(e.to_string().contains("America/New_York"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gap_and_fold() {
        let rome = Zone::parse("Europe/Rome").unwrap();
        let naive = |s| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        // 02:30 does not exist on 2026-03-29 in Rome: read as 03:30 CEST.
        assert_eq!(
            rome.to_utc(naive("2026-03-29 02:30:00")),
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap()
        );
        // 02:30 happens twice on 2026-10-25: the earlier (CEST) is taken.
        let t = rome.to_utc(naive("2026-10-25 02:30:00"));
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap());
        assert_eq!(offset_label(rome.offset_at(t)), "+02:00");
    }
}
