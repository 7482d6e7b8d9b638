//! Mapping between TrackingTime's shapes and the canonical model, both ways: events <->
//! time entries, customers <-> clients, projects, tasks, users -> people. Reads turn one
//! JSON item into a `PageItem` (a record or an invalid item with a reason); writes turn a
//! canonical record into the JSON body of an `*/add` or `*/update` call.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use timeweave_contract::{
    Client, EntryKind, InvalidRecord, Kind, PageItem, Person, Project, ProviderError, Record,
    RemoteId, RemoteRecord, Task, TimeEntry,
};

use crate::wire;
use crate::zone::{format_naive, gmt_label, parse_naive, Zone};

/// The custom field slug holding the foreign id of an event (spec §8.2, from the official
/// n8n node).
pub const THIRD_PARTY_ID: &str = "EVENT_THIRD_PARTY_ID";
/// The custom field slug naming the foreign system.
pub const THIRD_PARTY_SERVICE: &str = "EVENT_THIRD_PARTY_SERVICE";
/// The value of `EVENT_THIRD_PARTY_SERVICE` on events timeweave creates.
pub const SERVICE_NAME: &str = "timeweave";

/// What the mapping needs to know about the account.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// The zone `created_at`/`updated_at` are written in (the account's), and the zone
    /// an event without `timezone` is read in.
    pub account_zone: Zone,
}

fn invalid(kind: Kind, id: Option<i64>, reason: impl Into<String>) -> PageItem {
    PageItem::Invalid(InvalidRecord {
        kind,
        remote_id: id.map(RemoteId::from),
        reason: reason.into(),
    })
}

fn record(id: i64, modified_at: Option<DateTime<Utc>>, record: Record<RemoteId>) -> PageItem {
    PageItem::Record(RemoteRecord {
        id: RemoteId::from(id),
        modified_at,
        version: None,
        incarnation: None,
        record: record.normalised(),
    })
}

fn parse_item<T: serde::de::DeserializeOwned>(kind: Kind, v: &Value) -> Result<T, Box<PageItem>> {
    timeweave_http::from_json_value(v).map_err(|why| {
        Box::new(invalid(
            kind,
            wire::id_of(v),
            format!("TrackingTime {kind} could not be read: {why}"),
        ))
    })
}

fn opt_ref(id: Option<i64>) -> Option<RemoteId> {
    id.filter(|&i| i > 0).map(RemoteId::from)
}

/// An event becomes a time entry (spec §6, §7.1). `start`/`end` are naive wall-clock
/// times in the event's `timezone`; `duration` is the worked seconds, and whatever the
/// span holds beyond it is the break. Non-work events (time off, holidays) are invalid
/// items, since timeweave only syncs work time.
pub fn event(v: &Value, ctx: &Ctx) -> PageItem {
    let e: wire::Event = match parse_item(Kind::TimeEntry, v) {
        Ok(e) => e,
        Err(item) => return *item,
    };
    let bad = |reason: String| invalid(Kind::TimeEntry, Some(e.id), reason);
    let event_type = e
        .kind
        .as_deref()
        .or(e.event_type.as_deref())
        .unwrap_or("WORK");
    if !event_type.eq_ignore_ascii_case("WORK") {
        return bad(format!(
            "event type {event_type} is not work time (time off, holidays and unlogged \
             events are not synced)"
        ));
    }
    let Some(user) = e.user_id else {
        return bad("event has no user_id".into());
    };
    let zone = match e.timezone.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(tz) => match Zone::parse(tz) {
            Some(z) => z,
            None => return bad(format!("unknown timezone {tz:?}")),
        },
        None => ctx.account_zone,
    };
    let Some(start) = e.start.as_deref() else {
        return bad("event has no start".into());
    };
    let Some(start) = parse_naive(start) else {
        return bad(format!("start {start:?} is not yyyy-MM-dd HH:mm:ss"));
    };
    let started_at = zone.to_utc(start);
    let ended_at = match e.end.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(end) => match parse_naive(end) {
            Some(n) => Some(zone.to_utc(n)),
            None => return bad(format!("end {end:?} is not yyyy-MM-dd HH:mm:ss")),
        },
    };
    let (duration, break_seconds) = match ended_at {
        None => (None, 0),
        Some(end) => {
            let span = (end - started_at).num_seconds();
            if span < 0 {
                return bad(format!("end {end} is before start {started_at}"));
            }
            match e.duration {
                Some(d) if d < 0 => return bad(format!("negative duration {d}")),
                Some(d) => (Some(d), (span - d).max(0)),
                None => (Some(span), 0),
            }
        }
    };
    let project = opt_ref(e.project_id);
    let client = if project.is_none() {
        opt_ref(e.customer_id)
    } else {
        None
    };
    let modified_at = e
        .updated_at
        .as_deref()
        .or(e.created_at.as_deref())
        .and_then(parse_naive)
        .map(|n| ctx.account_zone.to_utc(n));
    record(
        e.id,
        modified_at,
        Record::TimeEntry(TimeEntry {
            person: RemoteId::from(user),
            project,
            task: opt_ref(e.task_id),
            client,
            started_at,
            ended_at,
            break_seconds,
            duration_seconds: duration,
            source_tz: Some(zone.label()),
            notes: e.notes,
            tags: Default::default(),
            billable: e.is_billable.unwrap_or(false),
            kind: EntryKind::Work,
        }),
    )
}

pub fn customer(v: &Value) -> PageItem {
    let c: wire::Customer = match parse_item(Kind::Client, v) {
        Ok(c) => c,
        Err(item) => return *item,
    };
    let Some(name) = c.name.filter(|n| !n.trim().is_empty()) else {
        return invalid(Kind::Client, Some(c.id), "customer has no name");
    };
    record(
        c.id,
        None,
        Record::Client(Client {
            name,
            email: c.contact_email,
            notes: c.notes,
            archived: c.is_archived.unwrap_or(false),
        }),
    )
}

/// Hourly rates are fractional currency units; the canonical model holds cents.
fn to_cents(rate: f64) -> Option<i64> {
    rate.is_finite().then(|| (rate * 100.0).round() as i64)
}

pub fn project(v: &Value) -> PageItem {
    let p: wire::Project = match parse_item(Kind::Project, v) {
        Ok(p) => p,
        Err(item) => return *item,
    };
    let Some(name) = p.name.filter(|n| !n.trim().is_empty()) else {
        return invalid(Kind::Project, Some(p.id), "project has no name");
    };
    let billing = p.billing.unwrap_or_default();
    let client = p.customer.and_then(|c| c.id).or(p.customer_id);
    record(
        p.id,
        None,
        Record::Project(Project {
            client: opt_ref(client),
            name,
            billable: billing.is_billable.or(p.is_billable).unwrap_or(false),
            hourly_rate_cents: billing.hourly_rate.or(p.hourly_rate).and_then(to_cents),
            archived: p.is_archived.unwrap_or(false),
        }),
    )
}

/// The name given to a task TrackingTime holds without one (spec §7.2: `name` may be
/// `""` or null), stable so the record does not churn.
pub fn placeholder_task_name(id: i64) -> String {
    format!("(unnamed task {id})")
}

pub fn task(v: &Value) -> PageItem {
    let t: wire::Task = match parse_item(Kind::Task, v) {
        Ok(t) => t,
        Err(item) => return *item,
    };
    let Some(project) = opt_ref(t.project_id) else {
        return invalid(
            Kind::Task,
            Some(t.id),
            "task belongs to no project (timeweave tasks always belong to a project); \
             events booked on it still sync, without the task",
        );
    };
    let name = t
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| placeholder_task_name(t.id));
    record(
        t.id,
        None,
        Record::Task(Task {
            project,
            name,
            archived: t.is_archived.unwrap_or(false),
        }),
    )
}

pub fn user(v: &Value) -> PageItem {
    let u: wire::User = match parse_item(Kind::Person, v) {
        Ok(u) => u,
        Err(item) => return *item,
    };
    let full = [u.name.as_deref(), u.surname.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let display_name = if !full.is_empty() {
        full
    } else if let Some(email) = u.email.as_deref().filter(|e| !e.trim().is_empty()) {
        email.to_owned()
    } else {
        format!("TrackingTime user {}", u.id)
    };
    record(
        u.id,
        None,
        Record::Person(Person {
            display_name,
            email: u.email,
            username: None,
        }),
    )
}

/// Maps one item of a listing of `kind`.
pub fn item(kind: Kind, v: &Value, ctx: &Ctx) -> PageItem {
    match kind {
        Kind::Person => user(v),
        Kind::Client => customer(v),
        Kind::Project => project(v),
        Kind::Task => task(v),
        Kind::TimeEntry => event(v, ctx),
    }
}

/// The zone an entry is written in: its `source_tz` when that is an offset or an IANA
/// zone TrackingTime can be told as the offset in force at the start; UTC otherwise.
pub fn write_zone(entry: &TimeEntry<RemoteId>) -> Zone {
    entry
        .source_tz
        .as_deref()
        .and_then(Zone::parse)
        .map(|z| match z {
            Zone::Named(_) => Zone::Fixed(z.offset_at(entry.started_at)),
            fixed => fixed,
        })
        .unwrap_or(Zone::UTC)
}

fn id_value(r: Option<&RemoteId>, what: &str) -> Result<Value, ProviderError> {
    match r {
        None => Ok(Value::Null),
        Some(r) => parse_id(r, what).map(Value::from),
    }
}

/// A remote id as TrackingTime's integer id.
pub fn parse_id(r: &RemoteId, what: &str) -> Result<i64, ProviderError> {
    r.as_str().trim().parse::<i64>().map_err(|_| {
        ProviderError::rejected(format!(
            "{what} id {:?} is not a TrackingTime id (an integer)",
            r.as_str()
        ))
    })
}

/// The body of `events/add` / `events/update/{id}`: local wall-clock start and end in the
/// entry's zone, `timezone` as `GMT±HH:MM`, worked `duration`, user, project, task (or
/// customer for a client-only booking), notes, billable flag, and on creates the
/// external-id custom fields.
pub fn event_body(
    entry: &TimeEntry<RemoteId>,
    external_id: Option<&str>,
) -> Result<Value, ProviderError> {
    let Some(ended_at) = entry.ended_at else {
        return Err(ProviderError::unsupported(
            "a running time entry: TrackingTime's events/add needs an end (timers run on \
             tasks/track)",
        ));
    };
    if entry.kind != EntryKind::Work {
        return Err(ProviderError::unsupported(
            "an attendance entry: TrackingTime only holds work events",
        ));
    }
    let zone = write_zone(entry);
    let offset = zone.offset_at(entry.started_at);
    let fixed = Zone::Fixed(offset);
    let duration = entry
        .duration_seconds
        .or_else(|| entry.computed_duration())
        .unwrap_or(0)
        .max(0);
    let mut body = Map::new();
    body.insert(
        "start".into(),
        format_naive(fixed.from_utc(entry.started_at)).into(),
    );
    body.insert("end".into(), format_naive(fixed.from_utc(ended_at)).into());
    body.insert("timezone".into(), gmt_label(offset).into());
    body.insert("duration".into(), duration.into());
    body.insert("user_id".into(), id_value(Some(&entry.person), "person")?);
    body.insert(
        "project_id".into(),
        id_value(entry.project.as_ref(), "project")?,
    );
    body.insert("task_id".into(), id_value(entry.task.as_ref(), "task")?);
    if entry.project.is_none() {
        body.insert(
            "customer_id".into(),
            id_value(entry.client.as_ref(), "client")?,
        );
    }
    body.insert(
        "notes".into(),
        entry
            .notes
            .clone()
            .map(Value::from)
            .unwrap_or_else(|| "".into()),
    );
    body.insert("is_billable".into(), entry.billable.into());
    body.insert("event_type".into(), "WORK".into());
    if let Some(key) = external_id {
        body.insert(
            "custom_fields".into(),
            json!([
                {"slug": THIRD_PARTY_ID, "value": key},
                {"slug": THIRD_PARTY_SERVICE, "value": SERVICE_NAME},
            ]),
        );
    }
    Ok(Value::Object(body))
}

/// The body of `customers/add` / `customers/update/{id}` (`name` always: update needs it).
pub fn customer_body(c: &Client) -> Value {
    json!({
        "name": c.name,
        "notes": c.notes.clone().unwrap_or_default(),
        "contact_email": c.email.clone().unwrap_or_default(),
    })
}

/// Cents back to the fractional rate TrackingTime holds.
fn from_cents(c: i64) -> f64 {
    c as f64 / 100.0
}

pub fn project_body(p: &Project<RemoteId>) -> Result<Value, ProviderError> {
    Ok(json!({
        "name": p.name,
        "customer_id": id_value(p.client.as_ref(), "client")?,
        "is_billable": p.billable,
        "hourly_rate": p.hourly_rate_cents.map(from_cents),
    }))
}

/// The body of `tasks/add` (`create`) or `tasks/update/{id}`. Tasks timeweave creates
/// are `EVERYONE` tasks (anyone in the workspace may book on them); an update leaves the
/// type as it is.
pub fn task_body(t: &Task<RemoteId>, create: bool) -> Result<Value, ProviderError> {
    let mut body = json!({
        "name": t.name,
        "project_id": parse_id(&t.project, "project")?,
    });
    if create {
        body["type"] = "EVERYONE".into();
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ctx() -> Ctx {
        Ctx {
            account_zone: Zone::parse("GMT+01:00").unwrap(),
        }
    }

    fn entry_of(item: PageItem) -> (RemoteRecord, TimeEntry<RemoteId>) {
        match item {
            PageItem::Record(r) => match r.record.clone() {
                Record::TimeEntry(e) => (r, e),
                other => panic!("{other:?}"),
            },
            PageItem::Invalid(i) => panic!("invalid: {}", i.reason),
        }
    }

    #[test]
    fn event_west_of_utc_crosses_midnight() {
        let (r, e) = entry_of(event(
            &json!({"id": 3490132317_i64, "start": "2026-03-10 22:00:00",
                    "end": "2026-03-11 01:30:00", "duration": 11700, "user_id": 7,
                    "project_id": 9, "customer_id": 4, "timezone": "GMT-03:00",
                    "notes": " n ", "is_billable": true, "type": "WORK",
                    "created_at": "2026-03-11 06:00:00", "updated_at": null}),
            &ctx(),
        ));
        assert_eq!(r.id.as_str(), "3490132317");
        assert_eq!(
            e.started_at,
            Utc.with_ymd_and_hms(2026, 3, 11, 1, 0, 0).unwrap()
        );
        assert_eq!(
            e.ended_at,
            Some(Utc.with_ymd_and_hms(2026, 3, 11, 4, 30, 0).unwrap())
        );
        assert_eq!(e.duration_seconds, Some(11700));
        assert_eq!(e.break_seconds, 900);
        assert_eq!(e.source_tz.as_deref(), Some("-03:00"));
        assert_eq!(e.client, None, "the client comes from the project");
        assert_eq!(e.notes.as_deref(), Some("n"));
        // created_at in the account's zone (+01:00).
        assert_eq!(
            r.modified_at,
            Some(Utc.with_ymd_and_hms(2026, 3, 11, 5, 0, 0).unwrap())
        );
    }

    #[test]
    fn event_east_of_utc_and_write_back() {
        let (_, e) = entry_of(event(
            &json!({"id": 1, "start": "2026-03-10 00:15:00", "end": "2026-03-10 01:15:00",
                    "duration": 3600, "user_id": 7, "customer_id": 4,
                    "timezone": "GMT+3", "updated_at": "2026-03-12 10:00:00"}),
            &ctx(),
        ));
        assert_eq!(
            e.started_at,
            Utc.with_ymd_and_hms(2026, 3, 9, 21, 15, 0).unwrap()
        );
        assert_eq!(e.client.as_ref().map(|c| c.as_str()), Some("4"));
        assert_eq!(e.source_tz.as_deref(), Some("+03:00"));
        let body = event_body(&e, Some("k1")).unwrap();
        assert_eq!(body["start"], "2026-03-10 00:15:00");
        assert_eq!(body["end"], "2026-03-10 01:15:00");
        assert_eq!(body["timezone"], "GMT+03:00");
        assert_eq!(body["duration"], 3600);
        assert_eq!(body["customer_id"], 4);
        assert_eq!(body["custom_fields"][0]["slug"], THIRD_PARTY_ID);
        assert_eq!(body["custom_fields"][0]["value"], "k1");
        assert_eq!(body["custom_fields"][1]["value"], SERVICE_NAME);
    }

    #[test]
    fn running_and_odd_events() {
        let (_, e) = entry_of(event(
            &json!({"id": 2, "start": "2026-03-10 09:00:00", "end": null, "duration": 0,
                    "user_id": 7, "timezone": "GMT+00:00"}),
            &ctx(),
        ));
        assert!(e.ended_at.is_none() && e.duration_seconds.is_none());
        assert!(
            event_body(&e, None).is_err(),
            "a running entry cannot be written"
        );
        for bad in [
            json!({"id": 3, "start": "2026-03-10T09:00:00Z", "user_id": 7}),
            json!({"id": 3, "start": "2026-03-10 09:00:00", "end": "2026-03-10 08:00:00", "user_id": 7}),
            json!({"id": 3, "start": "2026-03-10 09:00:00", "user_id": 7, "timezone": "Mars/Base"}),
            json!({"id": 3, "start": "2026-03-10 09:00:00"}),
            json!({"id": 3, "start": "2026-03-10 09:00:00", "user_id": 7, "type": "TIME_OFF"}),
        ] {
            match event(&bad, &ctx()) {
                PageItem::Invalid(i) => {
                    assert_eq!(i.remote_id.as_ref().map(|r| r.as_str()), Some("3"));
                    assert!(!i.reason.is_empty());
                }
                other => panic!("{bad} should be invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn reference_kinds() {
        match task(&json!({"id": 5, "name": null, "project_id": 9, "is_archived": true})) {
            PageItem::Record(r) => match r.record {
                Record::Task(t) => {
                    assert_eq!(t.name, "(unnamed task 5)");
                    assert!(t.archived);
                }
                o => panic!("{o:?}"),
            },
            o => panic!("{o:?}"),
        }
        assert!(matches!(
            task(&json!({"id": 6, "name": "x"})),
            PageItem::Invalid(_)
        ));
        match project(
            &json!({"id": 9, "name": "P", "customer": {"id": 4, "name": "C"},
                              "billing": {"is_billable": true, "hourly_rate": 85.5}}),
        ) {
            PageItem::Record(r) => match r.record {
                Record::Project(p) => {
                    assert_eq!(p.client.unwrap().as_str(), "4");
                    assert_eq!(p.hourly_rate_cents, Some(8550));
                    assert!(p.billable);
                }
                o => panic!("{o:?}"),
            },
            o => panic!("{o:?}"),
        }
        match user(&json!({"id": 7, "name": "Ada", "surname": "Lovelace", "email": "A@X.io"})) {
            PageItem::Record(r) => match r.record {
                Record::Person(p) => {
                    assert_eq!(p.display_name, "Ada Lovelace");
                    assert_eq!(p.email.as_deref(), Some("a@x.io"));
                }
                o => panic!("{o:?}"),
            },
            o => panic!("{o:?}"),
        }
    }
}
