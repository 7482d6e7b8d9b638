//! Mapping between TimeTracker JSON (`wire`) and the canonical model, both ways: reads turn
//! raw list items into `RemoteRecord`s (or a reason why not), writes turn normalised records
//! into the server's write bodies with naive app-local times.

use std::collections::BTreeSet;

use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde_json::Value;
use timeweave_contract::{
    Client, EntryKind, Person, Project, Record, RemoteId, RemoteRecord, Task, TimeEntry,
};

use chrono::NaiveDateTime;

use crate::time::{format_naive, naive_forms, parse_naive, read_local, read_utc};
use crate::wire;

/// The zone facts every conversion needs.
#[derive(Clone, Debug)]
pub struct Zone {
    pub tz: Tz,
    pub name: String,
}

/// Reads one raw item into its wire type, with a reason when it does not fit.
pub fn typed<T: DeserializeOwned>(item: &Value) -> Result<T, String> {
    timeweave_http::from_json_value(item).map_err(|why| format!("unexpected shape: {why}"))
}

/// The id of a raw item, if it has one (for `InvalidRecord`).
pub fn raw_id(item: &Value) -> Option<RemoteId> {
    item.get("id").and_then(Value::as_i64).map(RemoteId::from)
}

pub fn id_of(n: i64) -> RemoteId {
    RemoteId::from(n)
}

/// A remote id as the integer the API wants.
pub fn int_id(id: &RemoteId) -> Option<i64> {
    id.as_str().trim().parse::<i64>().ok()
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `created_at` as an incarnation: one fixed, sortable form (microseconds always written),
/// so a later record under a reused id compares greater and a change in how the server
/// prints the same instant changes nothing. Unparseable (an offset, which the server never
/// writes, included): unknown.
pub fn incarnation(created_at: Option<&str>) -> Option<String> {
    created_at
        .and_then(parse_naive)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
}

pub fn person(u: &wire::User) -> RemoteRecord {
    let display_name = non_empty(u.full_name.as_deref())
        .or_else(|| non_empty(u.display_name.as_deref()))
        .or_else(|| non_empty(u.username.as_deref()))
        .unwrap_or_else(|| format!("user {}", u.id));
    RemoteRecord {
        id: id_of(u.id),
        modified_at: None,
        version: None,
        incarnation: None,
        record: Record::Person(Person {
            display_name,
            email: non_empty(u.email.as_deref()),
            username: non_empty(u.username.as_deref()),
        })
        .normalised(),
    }
}

pub fn client(c: &wire::Client) -> RemoteRecord {
    let archived = c.status.as_deref() == Some("inactive") || c.is_active == Some(false);
    RemoteRecord {
        id: id_of(c.id),
        modified_at: c.updated_at.as_deref().and_then(read_utc),
        version: c.updated_at.clone(),
        incarnation: None,
        record: Record::Client(Client {
            name: c.name.clone(),
            email: non_empty(c.email.as_deref()),
            notes: non_empty(c.description.as_deref()),
            archived,
        })
        .normalised(),
    }
}

pub fn rate_to_cents(rate: Option<f64>) -> Option<i64> {
    rate.filter(|r| r.is_finite())
        .map(|r| (r * 100.0).round() as i64)
}

pub fn cents_to_rate(cents: Option<i64>) -> Option<f64> {
    cents.map(|c| c as f64 / 100.0)
}

pub fn project_archived(p: &wire::Project) -> bool {
    p.status.as_deref() == Some("archived") || p.is_archived == Some(true)
}

pub fn project(p: &wire::Project) -> Result<RemoteRecord, String> {
    let client_id = p
        .client_id
        .ok_or_else(|| "project without a client_id (the server requires one)".to_owned())?;
    Ok(RemoteRecord {
        id: id_of(p.id),
        modified_at: p.updated_at.as_deref().and_then(read_utc),
        version: p.updated_at.clone(),
        incarnation: None,
        record: Record::Project(Project {
            client: Some(id_of(client_id)),
            name: p.name.clone(),
            billable: p.billable,
            hourly_rate_cents: rate_to_cents(p.hourly_rate),
            archived: project_archived(p),
        })
        .normalised(),
    })
}

/// Task statuses that count as archived in the canonical model.
pub fn task_status_archived(status: Option<&str>) -> bool {
    matches!(status, Some("done") | Some("cancelled"))
}

pub fn task(t: &wire::Task, zone: &Zone) -> RemoteRecord {
    RemoteRecord {
        id: id_of(t.id),
        modified_at: t.updated_at.as_deref().and_then(|s| read_local(zone.tz, s)),
        version: t.updated_at.clone(),
        // SQLite servers reuse the highest id after a delete (spec §6).
        incarnation: incarnation(t.created_at.as_deref()),
        record: Record::Task(Task {
            project: id_of(t.project_id),
            name: t.name.clone(),
            archived: task_status_archived(t.status.as_deref()),
        })
        .normalised(),
    }
}

/// The project or client an entry books on, as far as the entry tells: a token without
/// admin rights lists only the projects and clients its user created, yet its entries may
/// book on others (spec §1). Such a reference carries the id and the name the entry shows;
/// a project's client is unknown (`None`), and its other fields are the server's defaults.
pub fn reference_of_entry(e: &wire::TimeEntry) -> Option<RemoteRecord> {
    let record = match (e.project_id, e.client_id) {
        (Some(id), _) => (
            id,
            Record::Project(Project {
                client: None,
                name: non_empty(e.project.as_deref())?,
                billable: true,
                hourly_rate_cents: None,
                archived: false,
            }),
        ),
        (None, Some(id)) => (
            id,
            Record::Client(Client {
                name: non_empty(e.client.as_deref())?,
                email: None,
                notes: None,
                archived: false,
            }),
        ),
        (None, None) => return None,
    };
    Some(RemoteRecord {
        id: id_of(record.0),
        modified_at: None,
        version: None,
        incarnation: None,
        record: record.1.normalised(),
    })
}

/// Splits the server's CSV tags into a set (trimmed, empties dropped).
pub fn split_tags(csv: Option<&str>) -> BTreeSet<String> {
    csv.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Joins a tag set into the server's CSV form (sorted, as the set is).
pub fn join_tags(tags: &BTreeSet<String>) -> String {
    tags.iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn entry(e: &wire::TimeEntry, zone: &Zone) -> Result<RemoteRecord, String> {
    let started_at = read_local(zone.tz, &e.start_time)
        .ok_or_else(|| format!("unreadable start_time {:?}", e.start_time))?;
    let ended_at = match e.end_time.as_deref() {
        None => None,
        Some(s) => {
            Some(read_local(zone.tz, s).ok_or_else(|| format!("unreadable end_time {s:?}"))?)
        }
    };
    if let Some(end) = ended_at {
        if end < started_at {
            return Err(format!("end before start ({} < {})", end, started_at));
        }
    }
    let (project, client, task) = match (e.project_id, e.client_id) {
        (Some(p), _) => (Some(id_of(p)), None, e.task_id.map(id_of)),
        (None, Some(c)) => (None, Some(id_of(c)), None),
        (None, None) => {
            return Err("entry has neither a project nor a client to book on".to_owned());
        }
    };
    if let Some(d) = e.duration_seconds.filter(|d| *d < 0) {
        return Err(format!("negative duration ({d} s)"));
    }
    if let Some(b) = e.break_seconds.filter(|b| *b < 0) {
        return Err(format!("negative break ({b} s)"));
    }
    let break_seconds = e.break_seconds.unwrap_or(0);
    let duration_seconds = ended_at.map(|end| entry_duration(e, end - started_at, break_seconds));
    Ok(RemoteRecord {
        id: id_of(e.id),
        modified_at: read_local(zone.tz, &e.updated_at),
        version: Some(e.updated_at.clone()),
        incarnation: incarnation(e.created_at.as_deref()),
        record: Record::TimeEntry(TimeEntry {
            person: id_of(e.user_id),
            project,
            task,
            client,
            started_at,
            ended_at,
            break_seconds,
            duration_seconds,
            source_tz: Some(zone.name.clone()),
            notes: non_empty(e.notes.as_deref()),
            tags: split_tags(e.tags.as_deref()),
            billable: e.billable,
            kind: EntryKind::Work,
        })
        .normalised(),
    })
}

/// The worked seconds of a stopped entry: the server's own figure, kept as it is (it is
/// computed on naive wall-clock times, and another TimeTracker server given the same naive
/// times computes the same). Without one, the same computation: naive end − start − break.
fn entry_duration(e: &wire::TimeEntry, real: chrono::Duration, break_seconds: i64) -> i64 {
    if let Some(d) = e.duration_seconds {
        return d;
    }
    let wall = match (
        parse_naive(&e.start_time),
        e.end_time.as_deref().and_then(parse_naive),
    ) {
        (Some(s), Some(n)) => n - s,
        _ => real,
    };
    (wall.num_seconds() - break_seconds).max(0)
}

/// The naive start and end a write sends. Where an instant has two naive forms (the hour
/// before a spring-forward gap, see `time::naive_forms`), the pair whose wall-clock span less
/// the break is the entry's duration is taken: an entry read at 02:30 inside the gap goes
/// out at 02:30 again, not at 01:30 with an hour more. Otherwise the usual forms.
fn entry_times(e: &TimeEntry<RemoteId>, zone: &Zone) -> Result<(String, Option<String>), String> {
    let starts = naive_forms(zone.tz, e.started_at);
    let usual_start = starts.first().copied().ok_or("no naive start time")?;
    let Some(end) = e.ended_at else {
        return Ok((format_naive(usual_start), None));
    };
    let ends = naive_forms(zone.tz, end);
    let usual_end = ends.first().copied().ok_or("no naive end time")?;
    let keeps_duration = |s: &NaiveDateTime, n: &NaiveDateTime| {
        e.duration_seconds == Some((*n - *s).num_seconds() - e.break_seconds.max(0))
    };
    let (start, end) = starts
        .iter()
        .flat_map(|s| ends.iter().map(move |n| (*s, *n)))
        .find(|(s, n)| n > s && keeps_duration(s, n))
        .unwrap_or((usual_start, usual_end));
    if end <= start {
        return Err(format!(
            "the entry cannot be written in {}: its end {} is not after its start {} in \
             wall-clock time (the hour a DST fall-back repeats)",
            zone.name,
            format_naive(end),
            format_naive(start)
        ));
    }
    Ok((format_naive(start), Some(format_naive(end))))
}

/// Where an entry books its time, as ids.
pub enum Target {
    Project(i64),
    Client(i64),
}

pub fn entry_target(e: &TimeEntry<RemoteId>) -> Result<Target, String> {
    if let Some(p) = &e.project {
        return int_id(p)
            .map(Target::Project)
            .ok_or_else(|| format!("project id {p:?} is not a TimeTracker id"));
    }
    if let Some(c) = &e.client {
        return int_id(c)
            .map(Target::Client)
            .ok_or_else(|| format!("client id {c:?} is not a TimeTracker id"));
    }
    Err("TimeTracker entries need a project or a client".to_owned())
}

/// The create body of an entry (no `task_id`: see the create bug, spec §5).
pub fn entry_create(
    e: &TimeEntry<RemoteId>,
    zone: &Zone,
    user_id: Option<i64>,
) -> Result<wire::EntryCreate, String> {
    let (start_time, end_time) = entry_times(e, zone)?;
    let end_time =
        end_time.ok_or_else(|| "a running entry cannot be created through the API".to_owned())?;
    let (project_id, client_id) = match entry_target(e)? {
        Target::Project(p) => (Some(p), None),
        Target::Client(c) => (None, Some(c)),
    };
    let tags = join_tags(&e.tags);
    Ok(wire::EntryCreate {
        project_id,
        client_id,
        start_time,
        end_time,
        break_seconds: e.break_seconds.max(0),
        notes: non_empty(e.notes.as_deref()),
        tags: (!tags.is_empty()).then_some(tags),
        billable: e.billable,
        user_id,
    })
}

/// The update body: every writable synced field, `""` to clear text (null is a no-op).
pub fn entry_patch(
    e: &TimeEntry<RemoteId>,
    zone: &Zone,
    version: Option<&str>,
) -> Result<wire::EntryPatch, String> {
    let (project_id, client_id) = match entry_target(e)? {
        Target::Project(p) => (Some(p), None),
        Target::Client(c) => (None, Some(c)),
    };
    let task_id = match (&e.task, project_id) {
        (Some(t), Some(_)) => {
            Some(int_id(t).ok_or_else(|| format!("task id {t:?} is not a TimeTracker id"))?)
        }
        _ => None,
    };
    let (start_time, end_time) = entry_times(e, zone)?;
    Ok(wire::EntryPatch {
        project_id,
        client_id,
        task_id,
        start_time: Some(start_time),
        end_time,
        break_seconds: Some(e.break_seconds.max(0)),
        notes: Some(non_empty(e.notes.as_deref()).unwrap_or_default()),
        tags: Some(join_tags(&e.tags)),
        billable: Some(e.billable),
        if_updated_at: version.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rome() -> Zone {
        Zone {
            tz: chrono_tz::Europe::Rome,
            name: "Europe/Rome".into(),
        }
    }

    fn raw_entry() -> Value {
        json!({"id": 7, "user_id": 1, "project_id": 3, "client_id": null, "task_id": 9,
            "start_time": "2026-11-20T09:00:00", "end_time": "2026-11-20T10:30:00",
            "duration_seconds": 4800, "break_seconds": 600, "notes": " hi ",
            "tags": "dev, backend,,", "billable": false, "updated_at": "2026-11-22T07:13:05.277334"})
    }

    #[test]
    fn entry_read() {
        let e: wire::TimeEntry = typed(&raw_entry()).unwrap();
        let r = entry(&e, &rome()).unwrap();
        assert_eq!(r.version.as_deref(), Some("2026-11-22T07:13:05.277334"));
        let Record::TimeEntry(t) = r.record else {
            panic!()
        };
        assert_eq!(t.started_at.to_rfc3339(), "2026-11-20T08:00:00+00:00");
        assert_eq!(t.duration_seconds, Some(4800));
        assert_eq!(t.break_seconds, 600);
        assert_eq!(t.project, Some(RemoteId::from(3)));
        assert_eq!(t.task, Some(RemoteId::from(9)));
        assert_eq!(t.client, None);
        assert_eq!(t.notes.as_deref(), Some("hi"));
        assert_eq!(
            t.tags.iter().cloned().collect::<Vec<_>>(),
            vec!["backend", "dev"]
        );
        assert_eq!(t.source_tz.as_deref(), Some("Europe/Rome"));
        assert!(!t.billable);
    }

    #[test]
    fn invalid_entries_have_reasons() {
        let mut v = raw_entry();
        v["end_time"] = json!("2026-11-20T08:00:00");
        let e: wire::TimeEntry = typed(&v).unwrap();
        assert!(entry(&e, &rome()).unwrap_err().contains("end before start"));
        let mut v = raw_entry();
        v["start_time"] = json!("soon");
        let e: wire::TimeEntry = typed(&v).unwrap();
        assert!(entry(&e, &rome()).unwrap_err().contains("start_time"));
        let mut v = raw_entry();
        v["project_id"] = json!(null);
        let e: wire::TimeEntry = typed(&v).unwrap();
        assert!(entry(&e, &rome()).unwrap_err().contains("neither"));
        assert!(typed::<wire::TimeEntry>(&json!({"id": "x"})).is_err());
    }

    /// Reads a raw entry with the given naive times and the server's duration.
    fn read_times(start: &str, end: &str, duration: i64) -> TimeEntry<RemoteId> {
        let mut v = raw_entry();
        v["start_time"] = json!(start);
        v["end_time"] = json!(end);
        v["break_seconds"] = json!(0);
        v["duration_seconds"] = json!(duration);
        let e: wire::TimeEntry = typed(&v).unwrap();
        let Record::TimeEntry(t) = entry(&e, &rome()).unwrap().record else {
            panic!()
        };
        t
    }

    /// The naive start and end (and the duration the server will compute) a write sends.
    fn written(t: &TimeEntry<RemoteId>) -> (String, String) {
        let body = serde_json::to_value(entry_create(t, &rome(), None).unwrap()).unwrap();
        let patch = serde_json::to_value(entry_patch(t, &rome(), None).unwrap()).unwrap();
        assert_eq!(body["start_time"], patch["start_time"]);
        assert_eq!(body["end_time"], patch["end_time"]);
        let s = |v: &Value| v.as_str().unwrap().to_owned();
        (s(&body["start_time"]), s(&body["end_time"]))
    }

    #[test]
    fn a_spring_gap_entry_keeps_its_naive_times_and_duration() {
        // Stored at 02:30, an hour that does not exist in Rome on 2026-03-29.
        let t = read_times("2026-03-29T02:30:00", "2026-03-29T04:00:00", 5400);
        assert_eq!(t.started_at.to_rfc3339(), "2026-03-29T00:30:00+00:00");
        assert_eq!(t.duration_seconds, Some(5400));
        let (start, end) = written(&t);
        assert_eq!(
            (start.as_str(), end.as_str()),
            ("2026-03-29T02:30:00", "2026-03-29T04:00:00")
        );
        // Ending in the gap: 01:00 to 02:30 (90 wall-clock minutes).
        let t = read_times("2026-03-29T01:00:00", "2026-03-29T02:30:00", 5400);
        assert_eq!(t.duration_seconds, Some(5400));
        assert_eq!(written(&t).1, "2026-03-29T02:30:00");
        // Across the jump from a real time: the server's wall-clock figure is kept, and the
        // usual forms reproduce it.
        let t = read_times("2026-03-29T01:45:00", "2026-03-29T03:15:00", 5400);
        assert_eq!(t.duration_seconds, Some(5400));
        let (start, end) = written(&t);
        assert_eq!(
            (start.as_str(), end.as_str()),
            ("2026-03-29T01:45:00", "2026-03-29T03:15:00")
        );
        let t = read_times("2026-03-29T01:30:00", "2026-03-29T04:00:00", 9000);
        assert_eq!(written(&t).0, "2026-03-29T01:30:00");
    }

    #[test]
    fn a_fall_back_entry_keeps_its_naive_times_and_duration() {
        // 01:30 (CEST) to 02:30 (read as CET, fold=1): two real hours, one on the wall clock.
        let t = read_times("2026-10-25T01:30:00", "2026-10-25T02:30:00", 3600);
        assert_eq!(t.started_at.to_rfc3339(), "2026-10-24T23:30:00+00:00");
        assert_eq!(
            t.ended_at.unwrap().to_rfc3339(),
            "2026-10-25T01:30:00+00:00"
        );
        assert_eq!(t.duration_seconds, Some(3600));
        let (start, end) = written(&t);
        assert_eq!(
            (start.as_str(), end.as_str()),
            ("2026-10-25T01:30:00", "2026-10-25T02:30:00")
        );
        // An hour inside the repeated hour, from elsewhere (first pass to second pass): both
        // ends are 02:30 on the wall clock; the write says why it cannot be sent.
        let mut t = t;
        t.started_at = "2026-10-25T00:30:00Z".parse().unwrap();
        t.ended_at = Some("2026-10-25T01:30:00Z".parse().unwrap());
        let err = entry_create(&t, &rome(), None).unwrap_err();
        assert!(
            err.contains("not after its start") && err.contains("Europe/Rome"),
            "{err}"
        );
        assert!(entry_patch(&t, &rome(), None).is_err());
    }

    #[test]
    fn an_entry_without_a_server_duration_gets_the_servers_computation() {
        let mut v = raw_entry();
        v["start_time"] = json!("2026-03-29T01:45:00");
        v["end_time"] = json!("2026-03-29T03:15:00");
        v["duration_seconds"] = json!(null);
        let e: wire::TimeEntry = typed(&v).unwrap();
        let Record::TimeEntry(t) = entry(&e, &rome()).unwrap().record else {
            panic!()
        };
        assert_eq!(t.duration_seconds, Some(5400 - 600));
    }

    #[test]
    fn client_only_and_running() {
        let mut v = raw_entry();
        v["project_id"] = json!(null);
        v["client_id"] = json!(4);
        v["end_time"] = json!(null);
        v["duration_seconds"] = json!(null);
        let e: wire::TimeEntry = typed(&v).unwrap();
        let Record::TimeEntry(t) = entry(&e, &rome()).unwrap().record else {
            panic!()
        };
        assert_eq!(t.client, Some(RemoteId::from(4)));
        assert_eq!(t.project, None);
        assert_eq!(t.task, None, "task only with a project");
        assert_eq!(t.ended_at, None);
        assert_eq!(t.duration_seconds, None);
    }

    #[test]
    fn write_bodies_are_naive_local_and_clear_with_empty_strings() {
        let e: wire::TimeEntry = typed(&raw_entry()).unwrap();
        let Record::TimeEntry(mut t) = entry(&e, &rome()).unwrap().record else {
            panic!()
        };
        let body = serde_json::to_value(entry_create(&t, &rome(), None).unwrap()).unwrap();
        assert_eq!(body["start_time"], "2026-11-20T09:00:00");
        assert_eq!(body["end_time"], "2026-11-20T10:30:00");
        assert_eq!(body["tags"], "backend,dev");
        assert!(body.get("task_id").is_none(), "never task_id on create");
        assert!(body.get("user_id").is_none());
        t.notes = None;
        t.tags.clear();
        let patch = serde_json::to_value(
            entry_patch(&t, &rome(), Some("2026-11-22T07:13:05.277334")).unwrap(),
        )
        .unwrap();
        assert_eq!(patch["notes"], "");
        assert_eq!(patch["tags"], "");
        assert_eq!(patch["task_id"], 9);
        assert_eq!(patch["if_updated_at"], "2026-11-22T07:13:05.277334");
    }

    #[test]
    fn user_lists_without_pagination_are_one_page() {
        let bare = br#"[{"id": 1, "username": "admin"}]"#;
        let l = wire::ListPage::parse_lenient(bare, "users").unwrap();
        assert_eq!((l.items.len(), l.pagination.has_next), (1, false));
        let obj = br#"{"users": [{"id": 1}, {"id": 2}]}"#;
        assert_eq!(
            wire::ListPage::parse_lenient(obj, "users")
                .unwrap()
                .items
                .len(),
            2
        );
        let paged = br#"{"users": [{"id": 1}], "pagination": {"page": 1, "per_page": 1, "has_next": true, "next_page": 2}}"#;
        assert!(
            wire::ListPage::parse_lenient(paged, "users")
                .unwrap()
                .pagination
                .has_next
        );
        assert!(
            wire::ListPage::parse(obj, "users").is_err(),
            "strict lists need pagination"
        );
    }

    #[test]
    fn rates_and_reference_kinds() {
        assert_eq!(rate_to_cents(Some(85.5)), Some(8550));
        assert_eq!(rate_to_cents(Some(0.1 + 0.2)), Some(30));
        assert_eq!(cents_to_rate(Some(7550)), Some(75.5));
        let p: wire::Project = typed(&json!({"id": 2, "name": "Old", "client_id": 1,
            "billable": true, "hourly_rate": null, "status": "archived", "is_archived": true,
            "updated_at": "2026-11-22T06:13:04.825730"}))
        .unwrap();
        let r = project(&p).unwrap();
        assert_eq!(
            r.modified_at.unwrap().to_rfc3339(),
            "2026-11-22T06:13:04.825730+00:00"
        );
        let Record::Project(p) = r.record else {
            panic!()
        };
        assert!(p.archived);
        assert!(task_status_archived(Some("done")));
        assert!(!task_status_archived(Some("in_progress")));
    }
}
