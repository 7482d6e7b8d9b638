//! A TimeTrack instance's time convention (`timestamps`, `time_zone`): whether its `...Z`
//! times are the account's wall-clock time in an IANA zone (`"local"`, the default) or UTC.
//! Pure: returns the convention or the problems, each with the key it is about.

use std::str::FromStr;

use timeweave_timetrack::{Timestamps, Tz};

/// A problem with one of the two keys: (`"timestamps"` or `"time_zone"`, message).
pub(super) type KeyProblem = (&'static str, String);

/// Reads the two keys of a TimeTrack instance.
pub(super) fn timetrack_timestamps(
    timestamps: Option<&str>,
    time_zone: Option<&str>,
) -> Result<Timestamps, Vec<KeyProblem>> {
    let zone = time_zone.map(str::trim);
    match timestamps.map(str::trim).unwrap_or("local") {
        "local" => match zone {
            None | Some("") => Err(vec![(
                "time_zone",
                "missing; with timestamps = \"local\" (the default) TimeTrack's times are the \
                 account's wall-clock time, so give its IANA zone, e.g. time_zone = \
                 \"Europe/Berlin\" (or set timestamps = \"utc\" if the account's times are UTC)"
                    .into(),
            )]),
            Some(name) => parse_zone(name)
                .map(Timestamps::Local)
                .map_err(|m| vec![("time_zone", m)]),
        },
        "utc" => match zone {
            None => Ok(Timestamps::Utc),
            Some(name) => Err(vec![(
                "time_zone",
                format!(
                    "`{name}` is not used with timestamps = \"utc\"; remove it, or set \
                     timestamps = \"local\" if the account's times are wall-clock time there"
                ),
            )]),
        },
        other => Err(vec![(
            "timestamps",
            format!(
                "`{other}` is not a time convention; expected \"local\" (wall-clock time in \
                 time_zone, what TimeTrack most likely sends) or \"utc\""
            ),
        )]),
    }
}

/// An IANA zone name; for a near miss (`berlin`, `europe/berlin`) the message names the zone.
fn parse_zone(name: &str) -> Result<Tz, String> {
    if let Ok(tz) = Tz::from_str(name) {
        return Ok(tz);
    }
    let wanted = name.to_ascii_lowercase().replace(' ', "_");
    let near: Vec<&str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .filter(|n| {
            let n = n.to_ascii_lowercase();
            n == wanted || n.rsplit('/').next() == Some(wanted.as_str())
        })
        .collect();
    let hint = match near.as_slice() {
        [one] => format!("did you mean \"{one}\"?"),
        _ => "expected an IANA zone name such as \"Europe/Berlin\" or \"America/New_York\"".into(),
    };
    Err(format!("`{name}` is not an IANA time zone name; {hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_with_a_zone_is_the_default() {
        assert_eq!(
            timetrack_timestamps(None, Some("Europe/Berlin")),
            Ok(Timestamps::Local(chrono_tz::Europe::Berlin))
        );
        assert_eq!(timetrack_timestamps(Some("utc"), None), Ok(Timestamps::Utc));
    }

    #[test]
    fn local_without_a_zone_names_the_key_and_the_fix() {
        for zone in [None, Some(" ")] {
            let problems = timetrack_timestamps(None, zone).unwrap_err();
            assert_eq!(problems.len(), 1);
            let (key, message) = &problems[0];
            assert_eq!(*key, "time_zone");
            assert!(
                message.contains("time_zone = \"Europe/Berlin\""),
                "{message}"
            );
            assert!(message.contains("timestamps = \"utc\""), "{message}");
        }
    }

    #[test]
    fn bad_values_are_named_with_a_hint() {
        let (key, m) = &timetrack_timestamps(None, Some("berlin")).unwrap_err()[0];
        assert_eq!(*key, "time_zone");
        assert!(m.contains("did you mean \"Europe/Berlin\""), "{m}");
        let (_, m) = &timetrack_timestamps(None, Some("Mars/Olympus")).unwrap_err()[0];
        assert!(m.contains("`Mars/Olympus`") && m.contains("IANA"), "{m}");
        let (key, m) = &timetrack_timestamps(Some("UTC+2"), None).unwrap_err()[0];
        assert_eq!(*key, "timestamps");
        assert!(m.contains("`UTC+2`"), "{m}");
        let (key, _) = &timetrack_timestamps(Some("utc"), Some("Europe/Berlin")).unwrap_err()[0];
        assert_eq!(*key, "time_zone");
    }
}
