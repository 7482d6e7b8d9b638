//! What a TimeTrack account answers for its time convention (real-world evidence K1), as an
//! observation for `doctor`: the newest entry's `from` as sent, read as UTC and as
//! wall-clock time in the configured zone, with the question that settles which is right;
//! which key its projects carry their name in (K2); and, once a write was made (`doctor
//! --write-probe`), what TimeTrack answered to a create and an update (undocumented).

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

/// The shapes of the last create and update answers this adapter received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteAnswers {
    pub create: Option<String>,
    pub update: Option<String>,
}

impl WriteAnswers {
    /// An observation for each write answered so far (none before the first write).
    pub fn observations(&self) -> Vec<Observation> {
        let note = "what TimeTrack answers to a write is undocumented; timeweave reads an \
                    echoed record, else GETs the echoed id, else looks the record up";
        [
            ("create_answer", &self.create),
            ("update_answer", &self.update),
        ]
        .into_iter()
        .filter_map(|(key, shape)| Some(Observation::new(key, shape.clone()?, note)))
        .collect()
    }
}

/// The shape of a write's answer, naming keys but never values: empty, a bare id, an
/// object and its keys, or something else.
pub fn answer_shape(body: &[u8]) -> String {
    if body.iter().all(u8::is_ascii_whitespace) {
        return "an empty body".to_owned();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Number(_)) => "a bare number (the id)".to_owned(),
        Ok(Value::Object(map)) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).take(16).collect();
            let more = map.len().saturating_sub(keys.len());
            format!(
                "an object with {}{}",
                keys.join(", "),
                if more > 0 {
                    format!(" and {more} more keys")
                } else {
                    String::new()
                }
            )
        }
        Ok(other) => format!(
            "JSON that is not an object ({})",
            crate::lenient::kind_of(&other)
        ),
        Err(_) => format!("{} bytes that are not JSON", body.len()),
    }
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
    fn write_answers_are_shown_by_shape_never_by_value() {
        assert_eq!(answer_shape(b""), "an empty body");
        assert_eq!(answer_shape(b"42"), "a bare number (the id)");
        assert_eq!(
            answer_shape(br#"{"id": 7, "description": "secret notes"}"#),
            "an object with description, id"
        );
        assert_eq!(answer_shape(b"<html>"), "6 bytes that are not JSON");
        let answers = WriteAnswers {
            create: Some(answer_shape(b"{}")),
            update: None,
        };
        let seen = answers.observations();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].key, "create_answer");
        assert!(WriteAnswers::default().observations().is_empty());
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
