//! Mapping between TrackingTime's shapes and the canonical model, both ways: events <->
//! time entries, customers <-> clients, projects, tasks, users -> people. Reads turn one
//! JSON item into a `PageItem` (a record or an invalid item with a reason); writes turn a
//! canonical record into the JSON body of an `*/add` or `*/update` call.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use timeweave_contract::natural_key::looks_like_email;
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
    /// an event without `timezone` is read in; `None` when `/me` names none timeweave can
    /// read (never guessed as UTC, T3).
    pub account_zone: Option<Zone>,
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

/// An event, in any of its forms (full, compact, flat: T1), becomes a time entry (spec §6,
/// §7.1). `start`/`end` are naive wall-clock times in the event's `timezone`; the worked
/// duration is the span between them, as the server computes it (T10), so the break is
/// always 0 (declared unheld). Work and other events are told apart by the event type
/// alone (`event_type`/`ety`/`"Event Type"`, never `type`: T8); events of other types
/// (time off, unlogged) are invalid items, since timeweave only syncs work time.
pub fn event(v: &Value, ctx: &Ctx) -> PageItem {
    let e = match wire::read_event(v) {
        Ok(e) => e,
        Err(err) => {
            return invalid(
                Kind::TimeEntry,
                wire::id_of(v),
                format!("TrackingTime event could not be read: {err}"),
            )
        }
    };
    match work_entry(&e, ctx) {
        Ok(entry) => {
            let modified_at = e
                .updated_at
                .as_deref()
                .or(e.created_at.as_deref())
                .and_then(parse_naive)
                .zip(ctx.account_zone)
                .map(|(n, zone)| zone.to_utc(n));
            record(e.id, modified_at, Record::TimeEntry(entry))
        }
        Err(reason) => invalid(Kind::TimeEntry, Some(e.id), reason),
    }
}

/// The time entry of a work event, or why it is not one.
fn work_entry(e: &wire::Event, ctx: &Ctx) -> Result<TimeEntry<RemoteId>, String> {
    if let Some(kind) = e.event_type.as_deref().map(str::trim) {
        if !kind.is_empty() && !kind.eq_ignore_ascii_case("WORK") {
            return Err(format!(
                "event type {kind:?} is not work time (time off, holidays and unlogged \
                 events are not synced)"
            ));
        }
    }
    let user = e
        .user_id
        .ok_or("event names no user (user_id, uid or \"User Id\")")?;
    let zone = event_zone(e.timezone.as_deref(), ctx)?;
    let (started_at, ended_at) = event_span(e, zone)?;
    let project = opt_ref(e.project_id);
    let client = match project {
        None => opt_ref(e.customer_id),
        Some(_) => None,
    };
    Ok(TimeEntry {
        person: RemoteId::from(user),
        project,
        task: opt_ref(e.task_id),
        client,
        started_at,
        ended_at,
        break_seconds: 0,
        duration_seconds: ended_at.map(|end| (end - started_at).num_seconds()),
        source_tz: Some(zone.label()),
        notes: e.notes.clone(),
        tags: Default::default(),
        billable: e.is_billable.unwrap_or(false),
        kind: EntryKind::Work,
    })
}

/// An event's start and end (none while it runs) as UTC instants, read in `zone`.
fn event_span(
    e: &wire::Event,
    zone: Zone,
) -> Result<(DateTime<Utc>, Option<DateTime<Utc>>), String> {
    let start = e.start.as_deref().ok_or("event has no start")?;
    let started_at = parse_naive(start)
        .map(|n| zone.to_utc(n))
        .ok_or_else(|| format!("start {start:?} is not yyyy-MM-dd HH:mm:ss"))?;
    let ended_at = match e.end.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(end) => Some(
            parse_naive(end)
                .map(|n| zone.to_utc(n))
                .ok_or_else(|| format!("end {end:?} is not yyyy-MM-dd HH:mm:ss"))?,
        ),
    };
    match ended_at {
        Some(end) if end < started_at => Err(format!("end {end} is before start {started_at}")),
        _ => Ok((started_at, ended_at)),
    }
}

/// The zone an event's times are read in: its own `timezone`, else the account's. One
/// that cannot be read is the reason the event is invalid, never a silent UTC (T3).
fn event_zone(label: Option<&str>, ctx: &Ctx) -> Result<Zone, String> {
    match label.filter(|s| !s.trim().is_empty()) {
        Some(label) => Zone::parse(label).map_err(|e| format!("event timezone: {e}")),
        None => ctx.account_zone.ok_or_else(|| {
            "event names no timezone and the account's time zone is unknown (see the \
             warning at connect): set the user's time zone in TrackingTime"
                .to_owned()
        }),
    }
}

/// A customer's e-mail (T2): `contact` when it is, or holds, an e-mail address; else
/// `contact_email`.
fn customer_email(c: &wire::Customer) -> Option<String> {
    let contact = match &c.contact {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(Value::Object(m)) => m.get("email").and_then(Value::as_str),
        _ => None,
    };
    contact
        .filter(|s| looks_like_email(s))
        .or(c.contact_email.as_deref())
        .map(str::to_owned)
}

pub fn customer(v: &Value) -> PageItem {
    let c: wire::Customer = match parse_item(Kind::Client, v) {
        Ok(c) => c,
        Err(item) => return *item,
    };
    let email = customer_email(&c);
    let Some(name) = c.name.filter(|n| !n.trim().is_empty()) else {
        return invalid(Kind::Client, Some(c.id), "customer has no name");
    };
    record(
        c.id,
        None,
        Record::Client(Client {
            name,
            email,
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
        .and_then(|label| Zone::parse(label).ok())
        .map(|z| match z {
            Zone::Named(_) => Zone::Fixed(z.offset_at(entry.started_at)),
            fixed => fixed,
        })
        .unwrap_or(Zone::UTC)
}

/// Sets `key` to the integer id of `r`; absent references are left out (T4: absent
/// parameters are omitted, never sent as null or "").
fn put_id(
    body: &mut Map<String, Value>,
    key: &str,
    r: Option<&RemoteId>,
    what: &str,
) -> Result<(), ProviderError> {
    if let Some(r) = r {
        body.insert(key.into(), parse_id(r, what)?.into());
    }
    Ok(())
}

/// Sets `key` to `text` when there is one (T4).
fn put_text(body: &mut Map<String, Value>, key: &str, text: Option<&str>) {
    if let Some(t) = text {
        body.insert(key.into(), t.into());
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
/// entry's zone, `timezone` as `GMT±HH:MM`, the span as `duration` (the server computes it
/// from start and end anyway, T10), user, and the project, task and notes the entry has,
/// and on creates the external-id custom fields. Absent values are left out (T4); the
/// billable flag and a customer are not sent, since `events/add` documents neither (T5).
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
    let span = (ended_at - entry.started_at).num_seconds().max(0);
    let mut body = Map::new();
    body.insert(
        "start".into(),
        format_naive(fixed.from_utc(entry.started_at)).into(),
    );
    body.insert("end".into(), format_naive(fixed.from_utc(ended_at)).into());
    body.insert("timezone".into(), gmt_label(offset).into());
    body.insert("duration".into(), span.into());
    put_id(&mut body, "user_id", Some(&entry.person), "person")?;
    put_id(&mut body, "project_id", entry.project.as_ref(), "project")?;
    put_id(&mut body, "task_id", entry.task.as_ref(), "task")?;
    put_text(&mut body, "notes", entry.notes.as_deref());
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

/// The body of `customers/add` / `customers/update/{id}` (`name` always: update needs it;
/// notes and e-mail when there are some, T4).
pub fn customer_body(c: &Client) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), c.name.clone().into());
    put_text(&mut body, "notes", c.notes.as_deref());
    put_text(&mut body, "contact_email", c.email.as_deref());
    Value::Object(body)
}

/// Cents back to the rate TrackingTime holds: a whole number when it has no fraction
/// (the API documents an integer, T6), else the fractional rate.
fn rate_value(cents: i64) -> Value {
    if cents % 100 == 0 {
        Value::from(cents / 100)
    } else {
        Value::from(cents as f64 / 100.0)
    }
}

/// The body of `projects/add` / `projects/update/{id}`: name, customer and rate when there
/// are some (T4), and the billable flag. Whether the server keeps the billing
/// parameters is undocumented, so they are declared read-only (see `capabilities`).
pub fn project_body(p: &Project<RemoteId>) -> Result<Value, ProviderError> {
    let mut body = Map::new();
    body.insert("name".into(), p.name.clone().into());
    put_id(&mut body, "customer_id", p.client.as_ref(), "client")?;
    body.insert("is_billable".into(), p.billable.into());
    if let Some(cents) = p.hourly_rate_cents {
        body.insert("hourly_rate".into(), rate_value(cents));
    }
    Ok(Value::Object(body))
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
            account_zone: Zone::parse("GMT+01:00").ok(),
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

    fn reason_of(item: PageItem) -> String {
        match item {
            PageItem::Invalid(i) => i.reason,
            other => panic!("expected an invalid item, got {other:?}"),
        }
    }

    #[test]
    fn event_west_of_utc_crosses_midnight() {
        let (r, e) = entry_of(event(
            &json!({"id": 3490132317_i64, "start": "2026-03-10 22:00:00",
                    "end": "2026-03-11 01:30:00", "duration": 11700, "user_id": 7,
                    "project_id": 9, "customer_id": 4, "timezone": "GMT-03:00",
                    "notes": " n ", "is_billable": true, "event_type": "WORK",
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
        assert_eq!(e.source_tz.as_deref(), Some("-03:00"));
        assert_eq!(e.client, None, "the client comes from the project");
        assert_eq!(e.notes.as_deref(), Some("n"));
        // created_at in the account's zone (+01:00).
        assert_eq!(
            r.modified_at,
            Some(Utc.with_ymd_and_hms(2026, 3, 11, 5, 0, 0).unwrap())
        );
    }

    /// The server computes the duration from start and end (T10): the listed one is not
    /// taken as a break, and one that fits nothing (the samples' `d`) is recomputed.
    #[test]
    fn duration_is_the_span_and_the_break_zero() {
        for listed in [
            json!(11700),
            json!(7202320),
            json!(-5),
            json!("x"),
            json!(null),
        ] {
            let (_, e) = entry_of(event(
                &json!({"id": 1, "start": "2026-03-10 09:00:00", "end": "2026-03-10 12:30:00",
                        "duration": listed, "user_id": 7, "timezone": "GMT+00:00"}),
                &ctx(),
            ));
            assert_eq!(
                (e.duration_seconds, e.break_seconds),
                (Some(12600), 0),
                "{listed}"
            );
        }
    }

    /// The same event in the full, compact and flat forms maps to the same record (T1).
    #[test]
    fn three_forms_one_record() {
        let full = json!({"id": 11, "start": "2026-03-10 09:00:00", "end": "2026-03-10 10:00:00",
            "duration": 3600, "user_id": 7, "task_id": 5, "project_id": 9, "customer_id": 4,
            "timezone": "GMT-03:00", "notes": "n", "is_billable": false, "event_type": "WORK",
            "type": "PERSONAL", "created_at": "2026-03-10 11:00:00", "updated_at": null});
        let compact = json!({"id": 11, "s": "2026-03-10 09:00:00", "e": "2026-03-10 10:00:00",
            "d": 3600, "uid": 7, "u": "Ada", "tid": 5, "t": "T", "pid": 9, "p": "P", "cid": 4,
            "c": "C", "tz": "GMT-03:00", "n": "n", "b": false, "bd": false, "ety": "WORK",
            "tt": "PERSONAL", "cat": "2026-03-10 11:00:00", "uat": null});
        let flat = json!({"ID": 11, "Start": "2026-03-10 09:00:00", "End": "2026-03-10 10:00:00",
            "Duration": 3600, "User Id": 7, "Task Id": 5, "Project Id": 9, "Customer Id": 4,
            "Timezone": "GMT-03:00", "Notes": "n", "Is Billable": false, "Event Type": "WORK",
            "Task Type": "PERSONAL"});
        let (rf, ef) = entry_of(event(&full, &ctx()));
        let (rc, ec) = entry_of(event(&compact, &ctx()));
        let (rl, el) = entry_of(event(&flat, &ctx()));
        assert_eq!(ef, ec);
        assert_eq!(ef, el);
        assert_eq!(
            (rf.id.as_str(), rc.id.as_str(), rl.id.as_str()),
            ("11", "11", "11")
        );
        assert_eq!(ef.person.as_str(), "7");
        assert_eq!(ef.task.as_ref().map(RemoteId::as_str), Some("5"));
        assert_eq!(rf.modified_at, rc.modified_at, "cat is created_at");
        assert!(rf.modified_at.is_some());
    }

    /// Work and other events are told apart by the event type alone (T8).
    #[test]
    fn event_type_decides_never_type() {
        let base = json!({"id": 3, "start": "2026-03-10 09:00:00", "end": "2026-03-10 10:00:00",
                          "user_id": 7, "timezone": "GMT+00:00"});
        let with = |k: &str, v: &str| {
            let mut e = base.clone();
            e[k] = v.into();
            e
        };
        for task_type in ["PERSONAL", "EVERYONE", "GHOST", "TIME_OFF"] {
            entry_of(event(&with("type", task_type), &ctx()));
        }
        for (key, value) in [("event_type", "NOT_LOGGED"), ("event_type", "TIME_OFF")] {
            let reason = reason_of(event(&with(key, value), &ctx()));
            assert!(reason.contains(value), "{reason}");
        }
        let mut compact = json!({"id": 3, "s": "2026-03-10 09:00:00", "uid": 7, "tz": "GMT",
                                 "ety": "NOT_LOGGED", "tt": "PERSONAL"});
        assert!(reason_of(event(&compact, &ctx())).contains("NOT_LOGGED"));
        compact["ety"] = "work".into();
        entry_of(event(&compact, &ctx()));
        let flat = json!({"ID": 3, "Start": "2026-03-10 09:00:00", "User Id": 7,
                          "Timezone": "GMT", "Event Type": "TIME_OFF"});
        assert!(reason_of(event(&flat, &ctx())).contains("TIME_OFF"));
    }

    /// T3: a city label is resolved; an unreadable zone makes the event invalid with the
    /// reason, and an event without one in an account without a readable zone too.
    #[test]
    fn event_zones_city_unknown_and_missing() {
        let ev = |tz: Value| {
            json!({"id": 4, "start": "2026-07-10 09:00:00", "end": "2026-07-10 10:00:00",
                   "user_id": 7, "timezone": tz})
        };
        let (_, e) = entry_of(event(&ev("Berlin".into()), &ctx()));
        assert_eq!(e.source_tz.as_deref(), Some("Europe/Berlin"));
        assert_eq!(
            e.started_at,
            Utc.with_ymd_and_hms(2026, 7, 10, 7, 0, 0).unwrap()
        );
        let reason = reason_of(event(&ev("GMT+1é3".into()), &ctx()));
        assert!(reason.contains("GMT+1é3"), "{reason}");
        // No timezone: the account's; none readable: invalid, never UTC.
        let (_, e) = entry_of(event(&ev(Value::Null), &ctx()));
        assert_eq!(e.source_tz.as_deref(), Some("+01:00"));
        let no_zone = Ctx { account_zone: None };
        let reason = reason_of(event(&ev(Value::Null), &no_zone));
        assert!(reason.contains("time zone is unknown"), "{reason}");
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
            json!({"id": 3, "start": "2026-03-10 09:00:00", "user_id": 7, "event_type": "TIME_OFF"}),
            json!({"id": 3, "s": "2026-03-10 09:00:00"}),
            json!({"ID": 3, "Start": "2026-03-10 09:00:00", "User Id": "x"}),
            // A year chrono reads but a zone's offset would overflow.
            json!({"id": 3, "start": "+262143-12-31 23:00:00", "user_id": 7, "timezone": "GMT-12:00"}),
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
    fn event_east_of_utc_and_write_back() {
        let (_, mut e) = entry_of(event(
            &json!({"id": 1, "start": "2026-03-10 00:15:00", "end": "2026-03-10 01:15:00",
                    "duration": 3600, "user_id": 7, "project_id": 9,
                    "timezone": "GMT+3", "updated_at": "2026-03-12 10:00:00"}),
            &ctx(),
        ));
        assert_eq!(
            e.started_at,
            Utc.with_ymd_and_hms(2026, 3, 9, 21, 15, 0).unwrap()
        );
        assert_eq!(e.source_tz.as_deref(), Some("+03:00"));
        e.break_seconds = 600;
        e.duration_seconds = e.computed_duration();
        let body = event_body(&e, Some("k1")).unwrap();
        assert_eq!(body["start"], "2026-03-10 00:15:00");
        assert_eq!(body["end"], "2026-03-10 01:15:00");
        assert_eq!(body["timezone"], "GMT+03:00");
        assert_eq!(
            body["duration"], 3600,
            "the span: the server computes it (T10)"
        );
        assert_eq!(body["project_id"], 9);
        assert_eq!(body["custom_fields"][0]["slug"], THIRD_PARTY_ID);
        assert_eq!(body["custom_fields"][0]["value"], "k1");
        assert_eq!(body["custom_fields"][1]["value"], SERVICE_NAME);
    }

    /// T4 and T5: absent values are left out, never null or ""; billable and a customer
    /// are never sent on events.
    #[test]
    fn writes_leave_absent_values_out() {
        let (_, mut e) = entry_of(event(
            &json!({"id": 1, "start": "2026-03-10 09:00:00", "end": "2026-03-10 10:00:00",
                    "user_id": 7, "customer_id": 4, "timezone": "GMT"}),
            &ctx(),
        ));
        e.notes = None;
        let body = event_body(&e, None).unwrap();
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for absent in [
            "project_id",
            "task_id",
            "notes",
            "customer_id",
            "is_billable",
        ] {
            assert!(!keys.contains(&absent), "{absent} in {body}");
        }
        let no_nulls = |v: &Value| {
            v.as_object()
                .unwrap()
                .values()
                .all(|v| !v.is_null() && v != "")
        };
        assert!(no_nulls(&body), "{body}");
        let c = Client {
            name: "C".into(),
            email: None,
            notes: None,
            archived: false,
        };
        assert_eq!(customer_body(&c), json!({"name": "C"}));
        let p = Project {
            client: None,
            name: "P".into(),
            billable: false,
            hourly_rate_cents: None,
            archived: false,
        };
        assert_eq!(
            project_body(&p).unwrap(),
            json!({"name": "P", "is_billable": false})
        );
    }

    /// T6: the rate is a whole number when it has no fraction.
    #[test]
    fn hourly_rate_is_an_integer_when_whole() {
        let p = |cents| Project {
            client: Some(RemoteId::from(4)),
            name: "P".into(),
            billable: true,
            hourly_rate_cents: Some(cents),
            archived: false,
        };
        let whole = project_body(&p(8500)).unwrap();
        assert!(whole["hourly_rate"].is_i64(), "{whole}");
        assert_eq!(whole["hourly_rate"], 85);
        assert_eq!(whole["customer_id"], 4);
        let fraction = project_body(&p(8550)).unwrap();
        assert_eq!(fraction["hourly_rate"], 85.5);
    }

    /// T2: the e-mail is read from `contact` when it looks like one, else `contact_email`.
    #[test]
    fn customer_email_from_contact() {
        let email = |v: Value| match customer(&v) {
            PageItem::Record(r) => match r.record {
                Record::Client(c) => c.email,
                o => panic!("{o:?}"),
            },
            o => panic!("{o:?}"),
        };
        assert_eq!(
            email(json!({"id": 1, "name": "C", "contact": "Billing@Acme.io"})).as_deref(),
            Some("billing@acme.io")
        );
        assert_eq!(
            email(json!({"id": 1, "name": "C", "contact": {"email": "a@b.io"}})).as_deref(),
            Some("a@b.io")
        );
        assert_eq!(
            email(json!({"id": 1, "name": "C", "contact": "Jane Doe", "contact_email": "j@d.io"}))
                .as_deref(),
            Some("j@d.io")
        );
        assert_eq!(
            email(json!({"id": 1, "name": "C", "contact": "Jane Doe"})),
            None
        );
        assert_eq!(email(json!({"id": 1, "name": "C", "contact": null})), None);
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
