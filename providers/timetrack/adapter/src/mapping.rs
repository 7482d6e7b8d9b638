//! Pure translation between TimeTrack's shapes and the canonical model: records read off the
//! wire (with names already resolved to ids by the adapter's directory) to canonical records,
//! canonical records to request bodies, the hashtag rule for `tags`, money and minutes, and
//! the adapter's remote-id scheme:
//!
//! - clients, projects, users, project time entries: TimeTrack's integer id in decimal;
//! - attendances: `a:<id>`, because attendance and project-entry ids are separate sequences
//!   and both are listed as canonical time entries;
//! - tasks: `<projectId>/<taskId>`, because a TimeTrack task is one global record keyed by
//!   name while a canonical task belongs to a project.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};
use timeweave_contract::{Client, EntryKind, Person, Project, RemoteId, TimeEntry};

use crate::clock::Timestamps;
use crate::wire::{WireClient, WireEntry, WireProject, WireUser};

/// Which TimeTrack resource an entry id points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryRef {
    ProjectEntry(i64),
    Attendance(i64),
}

pub fn attendance_id(id: i64) -> RemoteId {
    RemoteId::new(format!("a:{id}"))
}

pub fn parse_entry_id(id: &RemoteId) -> Option<EntryRef> {
    let s = id.as_str();
    match s.strip_prefix("a:") {
        Some(rest) => rest.parse().ok().map(EntryRef::Attendance),
        None => s.parse().ok().map(EntryRef::ProjectEntry),
    }
}

pub fn task_id(project: &RemoteId, task: i64) -> RemoteId {
    RemoteId::new(format!("{project}/{task}"))
}

/// `(project id, task id)` of a composite task id.
pub fn split_task_id(id: &RemoteId) -> Option<(i64, i64)> {
    let (p, t) = id.as_str().split_once('/')?;
    Some((p.parse().ok()?, t.parse().ok()?))
}

pub fn numeric_id(id: &RemoteId) -> Option<i64> {
    id.as_str().parse().ok()
}

/// Reads the hashtag text: tags are separated by whitespace or commas, a leading `#` is
/// dropped (`"#design #client-a"` and `"design, client-a"` are the same set).
pub fn parse_tags(text: Option<&str>) -> BTreeSet<String> {
    text.unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|t| t.trim_start_matches('#'))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Writes a tag set as hashtags (`"#a #b"`). Whitespace, commas and `#` inside a tag would
/// split it on the way back, so they become `_` (`"client work"` is held as `#client_work`).
pub fn format_tags(tags: &BTreeSet<String>) -> String {
    tags.iter()
        .map(|t| {
            let t: String = t
                .trim()
                .trim_start_matches('#')
                .chars()
                .map(|c| {
                    if c.is_whitespace() || c == ',' || c == '#' {
                        '_'
                    } else {
                        c
                    }
                })
                .collect();
            t
        })
        .filter(|t| !t.is_empty())
        .map(|t| format!("#{t}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `hourRate` (a decimal number) in hundredths.
pub fn rate_to_cents(rate: f64) -> i64 {
    (rate * 100.0).round() as i64
}

pub fn cents_to_rate(cents: i64) -> Value {
    if cents % 100 == 0 {
        json!(cents / 100)
    } else {
        json!(cents as f64 / 100.0)
    }
}

/// Seconds to whole minutes, rounded to the nearest minute.
pub fn minutes(seconds: i64) -> i64 {
    (seconds.max(0) + 30) / 60
}

pub fn person(u: &WireUser) -> Person {
    let name = [u.first_name.as_deref(), u.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Person {
        display_name: if name.trim().is_empty() {
            u.username.clone()
        } else {
            name
        },
        email: u.email.clone(),
        username: Some(u.username.clone()),
    }
}

pub fn client(c: &WireClient) -> Client {
    Client {
        name: c.name.clone(),
        email: c.email.clone(),
        notes: c.notes.clone(),
        archived: !c.enabled,
    }
}

/// A project. TimeTrack projects have no billable flag: they read as billable (entries carry
/// their own `billable`).
pub fn project(p: &WireProject, client: Option<RemoteId>) -> Project<RemoteId> {
    Project {
        client,
        name: p.name.clone(),
        billable: true,
        hourly_rate_cents: p.hour_rate.map(rate_to_cents),
        archived: !p.enabled,
    }
}

/// The ids an entry's names resolved to.
pub struct EntryRefs {
    pub person: RemoteId,
    pub project: Option<RemoteId>,
    pub task: Option<RemoteId>,
}

/// An entry's start and end as instants under the instance's time convention; `Err` says
/// why they cannot be read.
pub fn entry_times(
    e: &WireEntry,
    clock: &Timestamps,
) -> Result<(DateTime<Utc>, Option<DateTime<Utc>>), String> {
    let Some(to) = e.to else {
        return Ok((
            clock.start(e.from).map_err(|m| format!("`from` {m}"))?,
            None,
        ));
    };
    // The entry's own minutes settle which reading of a DST fold is meant.
    let length = e
        .worked_minutes
        .and_then(|w| w.checked_add(e.break_minutes.unwrap_or(0).max(0)))
        .and_then(Duration::try_minutes);
    let (from, to) = clock
        .span(e.from, to, length)
        .map_err(|m| format!("`from`/`to` {m}"))?;
    if to < from {
        return Err(format!(
            "ends ({}) before it starts ({}) in {}",
            clock.format(to),
            clock.format(from),
            clock.zone_name()
        ));
    }
    Ok((from, Some(to)))
}

fn minutes_to_seconds(field: &str, m: i64) -> Result<i64, String> {
    m.checked_mul(60)
        .ok_or_else(|| format!("{field} is out of range ({m})"))
}

/// A project time entry or attendance as a canonical entry; `Err` says why it cannot be one.
pub fn entry(
    e: &WireEntry,
    kind: EntryKind,
    refs: EntryRefs,
    clock: &Timestamps,
) -> Result<TimeEntry<RemoteId>, String> {
    let (started_at, ended_at) = entry_times(e, clock)?;
    let break_seconds = minutes_to_seconds("breakMinutes", e.break_minutes.unwrap_or(0).max(0))?;
    let duration_seconds = match (e.worked_minutes, ended_at) {
        (_, None) => None,
        (Some(m), Some(_)) if m >= 0 => Some(minutes_to_seconds("workedMinutes", m)?),
        (Some(m), Some(_)) => return Err(format!("workedMinutes is negative ({m})")),
        (None, Some(to)) => Some(((to - started_at).num_seconds() - break_seconds).max(0)),
    };
    Ok(TimeEntry {
        person: refs.person,
        project: refs.project,
        task: refs.task,
        client: None,
        started_at,
        ended_at,
        break_seconds,
        duration_seconds,
        source_tz: Some(clock.zone_name().into()),
        notes: e.notes.clone(),
        tags: match kind {
            EntryKind::Work => parse_tags(e.tags.as_deref()),
            EntryKind::Attendance => BTreeSet::new(),
        },
        billable: match kind {
            // "billable by default" (§2.4).
            EntryKind::Work => e.billable.unwrap_or(true),
            EntryKind::Attendance => false,
        },
        kind,
    })
}

fn put_opt(m: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    m.insert(
        key.into(),
        v.map_or(Value::String(String::new()), |s| json!(s)),
    );
}

/// POST /clients: every synced field (`enabled` may be set on create, not on update).
pub fn client_create_body(c: &Client) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    put_opt(&mut m, "email", c.email.as_deref());
    put_opt(&mut m, "notes", c.notes.as_deref());
    m.insert("enabled".into(), json!(!c.archived));
    Value::Object(m)
}

/// PUT /clients/{id}: `name` and `enabled` cannot change, so they are never sent.
pub fn client_update_body(c: &Client) -> Value {
    let mut m = Map::new();
    put_opt(&mut m, "email", c.email.as_deref());
    put_opt(&mut m, "notes", c.notes.as_deref());
    Value::Object(m)
}

/// POST and PUT /projects. A rate of `None` is left out: the API documents no way to clear one.
pub fn project_body(p: &Project<RemoteId>, client_name: &str) -> Value {
    let mut m = Map::new();
    m.insert("projectName".into(), json!(p.name));
    m.insert("clientName".into(), json!(client_name));
    m.insert("projectEnabled".into(), json!(!p.archived));
    if let Some(c) = p.hourly_rate_cents {
        m.insert("hourRate".into(), cents_to_rate(c));
    }
    Value::Object(m)
}

/// The names a project time entry is written with.
pub struct EntryNames<'a> {
    pub username: &'a str,
    pub client_name: &'a str,
    pub project_name: &'a str,
    pub task: Option<&'a str>,
}

fn time_fields(m: &mut Map<String, Value>, e: &TimeEntry<RemoteId>, clock: &Timestamps) {
    m.insert("from".into(), json!(clock.format(e.started_at)));
    if let Some(to) = e.ended_at {
        m.insert("to".into(), json!(clock.format(to)));
    }
    m.insert("breakMinutes".into(), json!(minutes(e.break_seconds)));
    if let Some(worked) = e.duration_seconds.or_else(|| e.computed_duration()) {
        m.insert("workedMinutes".into(), json!(minutes(worked)));
    }
}

/// POST and PUT /project_time_entries. Without a task, a create leaves `task` out and an
/// update sends it empty (to clear it).
pub fn entry_body(
    e: &TimeEntry<RemoteId>,
    names: &EntryNames<'_>,
    update: bool,
    clock: &Timestamps,
) -> Value {
    let mut m = Map::new();
    m.insert("username".into(), json!(names.username));
    m.insert("clientName".into(), json!(names.client_name));
    m.insert("projectName".into(), json!(names.project_name));
    if names.task.is_some() || update {
        put_opt(&mut m, "task", names.task);
    }
    time_fields(&mut m, e, clock);
    put_opt(&mut m, "details", e.notes.as_deref());
    m.insert("tags".into(), json!(format_tags(&e.tags)));
    m.insert("billable".into(), json!(e.billable));
    Value::Object(m)
}

/// POST /attendances (with `username`) and PUT /attendances/{id} (without: it cannot change).
/// The table spellings `breakMinutes`/`notes` are sent.
pub fn attendance_body(
    e: &TimeEntry<RemoteId>,
    username: Option<&str>,
    clock: &Timestamps,
) -> Value {
    let mut m = Map::new();
    if let Some(u) = username {
        m.insert("username".into(), json!(u));
    }
    time_fields(&mut m, e, clock);
    put_opt(&mut m, "notes", e.notes.as_deref());
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_stamp;
    use crate::lenient::format_timestamp;

    const UTC: Timestamps = Timestamps::Utc;
    const BERLIN: Timestamps = Timestamps::Local(chrono_tz::Europe::Berlin);

    fn tags(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hashtag_rule_round_trips() {
        assert_eq!(
            parse_tags(Some("#design #client-a")),
            tags(&["design", "client-a"])
        );
        assert_eq!(
            parse_tags(Some("design, client-a,,")),
            tags(&["design", "client-a"])
        );
        assert_eq!(parse_tags(None), tags(&[]));
        let t = tags(&["b", "a", "client work"]);
        let text = format_tags(&t);
        assert_eq!(text, "#a #b #client_work");
        assert_eq!(parse_tags(Some(&text)), tags(&["a", "b", "client_work"]));
    }

    #[test]
    fn ids() {
        assert_eq!(
            parse_entry_id(&"12".into()),
            Some(EntryRef::ProjectEntry(12))
        );
        assert_eq!(
            parse_entry_id(&attendance_id(12)),
            Some(EntryRef::Attendance(12))
        );
        assert_eq!(parse_entry_id(&"x".into()), None);
        assert_eq!(split_task_id(&task_id(&"3".into(), 9)), Some((3, 9)));
        assert_eq!(split_task_id(&"3".into()), None);
    }

    #[test]
    fn money_and_minutes() {
        assert_eq!(rate_to_cents(20.5), 2050);
        assert_eq!(rate_to_cents(85.55), 8555);
        assert_eq!(cents_to_rate(5000), json!(50));
        assert_eq!(cents_to_rate(2050), json!(20.5));
        assert_eq!(minutes(89), 1);
        assert_eq!(minutes(29), 0);
        assert_eq!(minutes(-5), 0);
    }

    fn wire(from: &str, to: Option<&str>, worked: Option<i64>, brk: Option<i64>) -> WireEntry {
        WireEntry {
            id: 1,
            username: "u".into(),
            client_name: Some("C".into()),
            project_name: Some("P".into()),
            task: None,
            from: parse_stamp(from).unwrap(),
            to: to.map(|t| parse_stamp(t).unwrap()),
            worked_minutes: worked,
            break_minutes: brk,
            notes: None,
            tags: Some("#x".into()),
            billable: None,
            deleted: false,
        }
    }

    fn refs() -> EntryRefs {
        EntryRefs {
            person: "1".into(),
            project: Some("2".into()),
            task: None,
        }
    }

    #[test]
    fn entry_minutes_map_to_seconds() {
        let e = entry(
            &wire(
                "2020-10-23T08:00:00.000Z",
                Some("2020-10-23T10:00:00.000Z"),
                Some(110),
                Some(10),
            ),
            EntryKind::Work,
            refs(),
            &UTC,
        )
        .unwrap();
        assert_eq!(e.duration_seconds, Some(6600));
        assert_eq!(e.break_seconds, 600);
        assert!(e.billable, "billable by default");
        assert_eq!(e.tags, tags(&["x"]));
        // No workedMinutes: computed from the times.
        let e = entry(
            &wire(
                "2020-10-23T08:00:00Z",
                Some("2020-10-23T09:00:00Z"),
                None,
                Some(15),
            ),
            EntryKind::Work,
            refs(),
            &UTC,
        )
        .unwrap();
        assert_eq!(e.duration_seconds, Some(2700));
    }

    #[test]
    fn bad_entries_are_refused_with_a_reason() {
        let err = entry(
            &wire(
                "2020-10-23T10:00:00Z",
                Some("2020-10-23T09:00:00Z"),
                None,
                None,
            ),
            EntryKind::Work,
            refs(),
            &UTC,
        )
        .unwrap_err();
        assert!(err.contains("before it starts"), "{err}");
        let err = entry(
            &wire(
                "2020-10-23T08:00:00Z",
                Some("2020-10-23T09:00:00Z"),
                Some(-3),
                None,
            ),
            EntryKind::Work,
            refs(),
            &UTC,
        )
        .unwrap_err();
        assert!(err.contains("negative"), "{err}");
    }

    #[test]
    fn entry_body_uses_names_and_documented_formats() {
        let e = entry(
            &wire(
                "2020-10-23T08:00:00Z",
                Some("2020-10-23T10:00:00Z"),
                Some(110),
                Some(10),
            ),
            EntryKind::Work,
            refs(),
            &UTC,
        )
        .unwrap();
        let body = entry_body(
            &e,
            &EntryNames {
                username: "test",
                client_name: "ACME",
                project_name: "Web",
                task: Some("Dev"),
            },
            false,
            &UTC,
        );
        assert_eq!(body["from"], "2020-10-23T08:00:00.000Z");
        assert_eq!(body["to"], "2020-10-23T10:00:00.000Z");
        assert_eq!(body["breakMinutes"], 10);
        assert_eq!(body["workedMinutes"], 110);
        assert_eq!(body["projectName"], "Web");
        assert_eq!(body["task"], "Dev");
        assert_eq!(body["tags"], "#x");
        let att = attendance_body(&e, None, &UTC);
        assert!(
            att.get("username").is_none(),
            "username cannot change on update"
        );
        assert!(att.get("projectName").is_none());
    }

    #[test]
    fn utc_instants_cross_dst_changes_untouched() {
        // TimeTrack speaks UTC (`Z`): an entry over the Europe/Berlin spring-forward gap
        // (2026-03-29 01:00Z) and one over the autumn fold keep their instants and length.
        for (from, to, minutes) in [
            ("2026-03-29T00:30:00.000Z", "2026-03-29T02:30:00.000Z", 120),
            ("2026-10-25T00:30:00.000Z", "2026-10-25T01:30:00.000Z", 60),
        ] {
            let e = entry(
                &wire(from, Some(to), None, None),
                EntryKind::Work,
                refs(),
                &UTC,
            )
            .unwrap();
            assert_eq!(e.duration_seconds, Some(minutes * 60));
            let body = entry_body(
                &e,
                &EntryNames {
                    username: "u",
                    client_name: "C",
                    project_name: "P",
                    task: None,
                },
                false,
                &UTC,
            );
            assert_eq!(
                (body["from"].as_str(), body["to"].as_str()),
                (Some(from), Some(to))
            );
        }
        // An offset on input is the same instant in UTC.
        let e = entry(
            &wire(
                "2026-03-29T03:30:00+02:00",
                Some("2026-03-29T04:30:00+02:00"),
                None,
                None,
            ),
            EntryKind::Work,
            refs(),
            &UTC,
        )
        .unwrap();
        assert_eq!(format_timestamp(e.started_at), "2026-03-29T01:30:00.000Z");
    }

    fn names() -> EntryNames<'static> {
        EntryNames {
            username: "u",
            client_name: "C",
            project_name: "P",
            task: None,
        }
    }

    fn local_entry(from: &str, to: &str, worked: Option<i64>) -> TimeEntry<RemoteId> {
        entry(
            &wire(from, Some(to), worked, None),
            EntryKind::Work,
            refs(),
            &BERLIN,
        )
        .unwrap()
    }

    #[test]
    fn local_wall_clock_is_read_in_the_zone_and_written_back_the_same() {
        let e = local_entry(
            "2026-07-01T09:00:00.000Z",
            "2026-07-01T10:00:00.000Z",
            Some(60),
        );
        assert_eq!(format_timestamp(e.started_at), "2026-07-01T07:00:00.000Z");
        assert_eq!(e.source_tz.as_deref(), Some("Europe/Berlin"));
        let body = entry_body(&e, &names(), false, &BERLIN);
        assert_eq!(body["from"], "2026-07-01T09:00:00.000Z");
        assert_eq!(body["to"], "2026-07-01T10:00:00.000Z");
    }

    #[test]
    fn local_spring_gap_on_read_and_write() {
        // Berlin 2026-03-29 skips 02:00–03:00. An entry 01:30–02:30 as TimeTrack holds it
        // reads as 01:30 CET – 03:30 CEST: one hour, as its workedMinutes say.
        let e = local_entry(
            "2026-03-29T01:30:00.000Z",
            "2026-03-29T02:30:00.000Z",
            Some(60),
        );
        assert_eq!(format_timestamp(e.started_at), "2026-03-29T00:30:00.000Z");
        assert_eq!(
            e.ended_at.map(format_timestamp).as_deref(),
            Some("2026-03-29T01:30:00.000Z")
        );
        assert_eq!(e.duration_seconds, Some(3600));
        // Written back, the end is the wall-clock time that exists; the minutes are kept.
        let body = entry_body(&e, &names(), false, &BERLIN);
        assert_eq!(body["from"], "2026-03-29T01:30:00.000Z");
        assert_eq!(body["to"], "2026-03-29T03:30:00.000Z");
        assert_eq!(body["workedMinutes"], 60);
        // Which reads as the same instants again.
        let again = local_entry(
            "2026-03-29T01:30:00.000Z",
            "2026-03-29T03:30:00.000Z",
            Some(60),
        );
        assert_eq!(
            (again.started_at, again.ended_at),
            (e.started_at, e.ended_at)
        );
    }

    #[test]
    fn local_autumn_fold_on_read_and_write() {
        // Berlin 2026-10-25 repeats 02:00–03:00. One hour from the summer 02:30 to the
        // winter 02:30 is written as 02:30–02:30 with 60 minutes...
        let summer = chrono::DateTime::parse_from_rfc3339("2026-10-25T00:30:00Z")
            .unwrap()
            .to_utc();
        let mut e = local_entry("2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", Some(30));
        e.started_at = summer;
        e.ended_at = Some(summer + Duration::hours(1));
        e.duration_seconds = Some(3600);
        let body = entry_body(&e, &names(), false, &BERLIN);
        assert_eq!(body["from"], "2026-10-25T02:30:00.000Z");
        assert_eq!(body["to"], "2026-10-25T02:30:00.000Z");
        assert_eq!(body["workedMinutes"], 60);
        // ...and read back as the same hour, its minutes settling the fold.
        let back = local_entry(
            "2026-10-25T02:30:00.000Z",
            "2026-10-25T02:30:00.000Z",
            Some(60),
        );
        assert_eq!((back.started_at, back.ended_at), (e.started_at, e.ended_at));
        // Without minutes, the wall-clock length (none) and the earlier reading.
        let bare = local_entry("2026-10-25T02:30:00.000Z", "2026-10-25T02:30:00.000Z", None);
        assert_eq!(bare.started_at, summer);
        assert_eq!(bare.duration_seconds, Some(0));
    }

    #[test]
    fn out_of_range_minutes_are_refused_not_overflowed() {
        for (worked, brk) in [(Some(i64::MAX / 2), None), (None, Some(i64::MAX / 2))] {
            let err = entry(
                &wire(
                    "2026-07-01T09:00:00Z",
                    Some("2026-07-01T10:00:00Z"),
                    worked,
                    brk,
                ),
                EntryKind::Work,
                refs(),
                &BERLIN,
            )
            .unwrap_err();
            assert!(err.contains("out of range"), "{err}");
        }
        let err = entry(
            &wire("2026-07-01T09:00:00", None, None, None),
            EntryKind::Work,
            refs(),
            &UTC,
        )
        .unwrap_err();
        assert!(err.contains("`from`"), "{err}");
    }
}
