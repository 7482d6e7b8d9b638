//! What a TimeTrack account answers for its time convention (real-world evidence K1), as an
//! observation for `doctor`: the newest entry's `from` as sent, read as UTC and as
//! wall-clock time in the configured zone, with the question that settles which is right;
//! and which key its projects carry their name in (K2).

use chrono::{DateTime, Utc};
use serde_json::Value;
use timeweave_contract::Observation;

use crate::clock::{parse_stamp, Stamp, Timestamps};

/// The observation for the newest `from` seen (`None`: no entry in the period looked at).
pub fn newest_from(raw: Option<&str>, configured: &Timestamps) -> Observation {
    let key = "newest_entry_from";
    let Some(raw) = raw else {
        return Observation::new(
            key,
            "no entry in the last 30 days",
            "book one in TimeTrack and run doctor again to confirm the time convention",
        );
    };
    let Some(stamp) = parse_stamp(raw) else {
        return Observation::new(key, format!("{raw:?} (unreadable)"), "not a timestamp");
    };
    let as_utc = Timestamps::Utc.start(stamp).ok();
    let as_local = configured.start(stamp).ok();
    let value = format!(
        "{raw:?}; read as UTC: {}; read as {} wall-clock: {}",
        shown(as_utc, configured),
        configured.zone_name(),
        shown(as_local, configured)
    );
    Observation::new(key, value, question(stamp, configured))
}

/// An instant as the clock of `configured` shows it, with its UTC time.
fn shown(t: Option<DateTime<Utc>>, configured: &Timestamps) -> String {
    match t {
        Some(t) => format!(
            "{} {} (= {} UTC)",
            configured.wall(t).format("%Y-%m-%d %H:%M"),
            configured.zone_name(),
            t.format("%H:%M")
        ),
        None => "(not readable this way)".to_owned(),
    }
}

fn question(stamp: Stamp, configured: &Timestamps) -> String {
    let wall = match stamp {
        Stamp::Zulu(n) | Stamp::Bare(n) => n.format("%H:%M").to_string(),
        Stamp::Offset(_) => {
            return "the time carries an offset: it is one instant under either setting".into()
        }
    };
    match configured {
        Timestamps::Local(_) => format!(
            "does TimeTrack's web app show this entry starting at {wall}? Then timestamps = \
             \"local\" (as configured) is right; if it shows the UTC reading above, set \
             timestamps = \"utc\""
        ),
        Timestamps::Utc => format!(
            "does TimeTrack's web app show this entry starting at {wall}? Then the times are \
             wall-clock: set timestamps = \"local\" and time_zone to the account's zone"
        ),
    }
}

/// How many of the listed projects name themselves in `projectName` and how many only in
/// `name` (K2; the adapter reads `projectName` first).
pub fn project_name_key(projects: &[Value]) -> Observation {
    let has = |p: &Value, key: &str| p.get(key).and_then(Value::as_str).is_some();
    let documented = projects.iter().filter(|p| has(p, "projectName")).count();
    let only_name = projects
        .iter()
        .filter(|p| !has(p, "projectName") && has(p, "name"))
        .count();
    Observation::new(
        "project_name_key",
        format!(
            "of {} projects listed, {documented} carry projectName, {only_name} only name",
            projects.len()
        ),
        "the key TimeTrack names projects with; timeweave reads projectName, else name",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_from_is_shown_raw_as_utc_and_as_wall_clock_with_the_question() {
        let berlin = Timestamps::Local(chrono_tz::Europe::Berlin);
        let seen = newest_from(Some("2026-03-10T09:00:00.000Z"), &berlin);
        assert_eq!(
            seen.value,
            "\"2026-03-10T09:00:00.000Z\"; read as UTC: 2026-03-10 10:00 Europe/Berlin (= 09:00 UTC); \
             read as Europe/Berlin wall-clock: 2026-03-10 09:00 Europe/Berlin (= 08:00 UTC)"
        );
        assert!(seen.note.contains("starting at 09:00"), "{}", seen.note);
        assert!(seen.note.contains("as configured"), "{}", seen.note);
        let utc = newest_from(Some("2026-03-10T09:00:00.000Z"), &Timestamps::Utc);
        assert!(
            utc.note.contains("set timestamps = \"local\""),
            "{}",
            utc.note
        );
        assert!(newest_from(Some("yesterday"), &berlin)
            .value
            .contains("unreadable"));
        assert!(newest_from(None, &berlin).value.contains("no entry"));
    }

    #[test]
    fn project_name_keys_are_counted() {
        let projects = [
            serde_json::json!({"id": 1, "projectName": "Web", "name": "x"}),
            serde_json::json!({"id": 2, "name": "App"}),
            serde_json::json!({"id": 3}),
        ];
        assert_eq!(
            project_name_key(&projects).value,
            "of 3 projects listed, 1 carry projectName, 1 only name"
        );
    }
}
