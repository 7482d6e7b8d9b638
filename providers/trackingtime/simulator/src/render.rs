//! How the simulator writes records as JSON: events in the compact form (abbreviated keys,
//! the documented "List Events" answer), the full form with its denormalised names and
//! `loc_*`/`formated_duration` display twins, or the Title-Case `/events/flat` form; and
//! customers, projects, tasks and users (spec §7, T1).

use serde::Serialize;
use serde_json::{json, Value};

use super::store::{Account, Customer, Event, Project, Task, User};
use super::EventForm;
use timeweave_trackingtime::zone::format_naive;

fn hms(secs: i64) -> String {
    let s = secs.max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

fn loc(t: chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:02}.{:02}.{:04} {:02}:{:02}:{:02}",
        t.day(),
        t.month(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn user_name(a: &Account, id: i64) -> Option<String> {
    a.users
        .get(&id)
        .map(|u| format!("{} {}", u.name, u.surname).trim().to_owned())
}

/// The customer an event is shown with: its own, else its project's.
fn event_customer(a: &Account, e: &Event) -> Option<i64> {
    e.customer_id.or_else(|| {
        e.project_id
            .and_then(|p| a.projects.get(&p))
            .and_then(|p| p.customer_id)
    })
}

/// The full event form, typed so a page of a thousand serialises without building a
/// JSON tree per event.
#[derive(Serialize)]
struct EventOut<'a> {
    id: i64,
    start: String,
    end: Option<String>,
    duration: i64,
    loc_start: String,
    loc_end: Option<String>,
    loc_duration: String,
    formated_duration: String,
    user_id: i64,
    user: Option<String>,
    task_id: Option<i64>,
    task: Option<&'a str>,
    project_id: Option<i64>,
    project: Option<&'a str>,
    customer_id: Option<i64>,
    customer: Option<&'a str>,
    service_id: Option<i64>,
    service: Option<&'a str>,
    is_archived: bool,
    timezone: &'a str,
    notes: Option<&'a str>,
    is_billable: bool,
    is_billed: bool,
    hourly_rate: Option<f64>,
    /// The task's type (`PERSONAL`, `EVERYONE`), not the event's (T8).
    #[serde(rename = "type")]
    task_type: Option<&'a str>,
    event_type: &'a str,
    repeat: Option<&'a str>,
    created_at: String,
    updated_at: Option<String>,
    json: Option<&'a str>,
}

fn event_out<'a>(a: &'a Account, e: &'a Event) -> EventOut<'a> {
    let customer = event_customer(a, e);
    let task = e.task_id.and_then(|t| a.tasks.get(&t));
    let project = e.project_id.and_then(|p| a.projects.get(&p));
    EventOut {
        id: e.id,
        start: format_naive(e.start),
        end: e.end.map(format_naive),
        duration: e.duration,
        loc_start: loc(e.start),
        loc_end: e.end.map(loc),
        loc_duration: hms(e.duration),
        formated_duration: hms(e.duration),
        user_id: e.user_id,
        user: user_name(a, e.user_id),
        task_id: e.task_id,
        task: task.and_then(|t| t.name.as_deref()),
        project_id: e.project_id,
        project: project.map(|p| p.name.as_str()),
        customer_id: customer,
        customer: customer
            .and_then(|c| a.customers.get(&c))
            .map(|c| c.name.as_str()),
        service_id: None,
        service: None,
        is_archived: task
            .map(|t| t.is_archived)
            .or(project.map(|p| p.is_archived))
            .unwrap_or(false),
        timezone: &e.timezone,
        notes: e.notes.as_deref(),
        is_billable: e.is_billable,
        is_billed: e.is_billed,
        hourly_rate: project.and_then(|p| p.hourly_rate),
        task_type: task.map(|t| t.kind.as_str()),
        event_type: &e.event_type,
        repeat: None,
        created_at: format_naive(e.created_at),
        updated_at: e.updated_at.map(format_naive),
        json: None,
    }
}

/// The compact form (spec §7.1 table; `cat`/`uat` since v4.95.41), made from the full
/// one so both say the same.
#[derive(Serialize)]
struct CompactOut<'a> {
    id: i64,
    s: String,
    e: Option<String>,
    d: i64,
    se: Option<&'a str>,
    seid: Option<i64>,
    c: Option<&'a str>,
    cid: Option<i64>,
    p: Option<&'a str>,
    pid: Option<i64>,
    t: Option<&'a str>,
    tid: Option<i64>,
    tt: Option<&'a str>,
    a: bool,
    u: Option<String>,
    uid: i64,
    tz: &'a str,
    n: Option<&'a str>,
    r: Option<f64>,
    b: bool,
    bd: bool,
    ety: &'a str,
    cat: String,
    uat: Option<String>,
}

impl<'a> From<EventOut<'a>> for CompactOut<'a> {
    fn from(f: EventOut<'a>) -> Self {
        CompactOut {
            id: f.id,
            s: f.start,
            e: f.end,
            d: f.duration,
            se: f.service,
            seid: f.service_id,
            c: f.customer,
            cid: f.customer_id,
            p: f.project,
            pid: f.project_id,
            t: f.task,
            tid: f.task_id,
            tt: f.task_type,
            a: f.is_archived,
            u: f.user,
            uid: f.user_id,
            tz: f.timezone,
            n: f.notes,
            r: f.hourly_rate,
            b: f.is_billable,
            bd: f.is_billed,
            ety: f.event_type,
            cat: f.created_at,
            uat: f.updated_at,
        }
    }
}

pub fn event(a: &Account, e: &Event, form: EventForm) -> Value {
    let full = event_out(a, e);
    match form {
        EventForm::Full => serde_json::to_value(full),
        EventForm::Compact => serde_json::to_value(CompactOut::from(full)),
    }
    .unwrap_or(Value::Null)
}

/// A page of events in `form`, as JSON text.
pub fn events_json(a: &Account, events: &[&Event], form: EventForm) -> String {
    let full = events.iter().map(|e| event_out(a, e));
    match form {
        EventForm::Full => serde_json::to_string(&full.collect::<Vec<_>>()),
        EventForm::Compact => {
            serde_json::to_string(&full.map(CompactOut::from).collect::<Vec<_>>())
        }
    }
    .unwrap_or_else(|_| "[]".into())
}

pub fn flat_event(a: &Account, e: &Event) -> Value {
    json!({
        "ID": e.id,
        "Start": format_naive(e.start),
        "End": e.end.map(format_naive),
        "Duration": e.duration,
        "User Id": e.user_id,
        "User": user_name(a, e.user_id),
        "Task Id": e.task_id,
        "Project Id": e.project_id,
        "Customer Id": event_customer(a, e),
        "Service Id": null,
        "Notes": e.notes,
        "Timezone": e.timezone,
        "Is Billable": e.is_billable,
        "Is Billed": e.is_billed,
        "Event Type": e.event_type,
        "Time Off Id": null,
        "Repeat Rrequency": null,
    })
}

/// `set_custom_fields` sibling: the custom field values of the listed events.
pub fn custom_fields<'a>(events: impl Iterator<Item = &'a Event>) -> Value {
    Value::Array(
        events
            .flat_map(|e| {
                e.custom_fields.iter().map(
                    move |(slug, value)| json!({"entity_id": e.id, "slug": slug, "value": value}),
                )
            })
            .collect(),
    )
}

/// A customer as the documented samples show it (T2): `contact`, no `contact_email`.
/// `contact` holds the written e-mail only when `echo_contact` (unconfirmed on a live
/// account); else null, as in every sample.
pub fn customer(a: &Account, c: &Customer, echo_contact: bool) -> Value {
    let projects: Vec<&Project> = a
        .projects
        .values()
        .filter(|p| p.customer_id == Some(c.id))
        .collect();
    let seconds: i64 = projects
        .iter()
        .map(|p| a.project_seconds.get(&p.id).copied().unwrap_or(0))
        .sum();
    json!({
        "id": c.id,
        "name": c.name,
        "notes": c.notes,
        "contact": if echo_contact { c.contact_email.as_deref() } else { None },
        "is_archived": c.is_archived,
        "color_index": 0,
        "worked_hours": seconds as f64 / 3600.0,
        "total_projects": projects.len(),
        "active_projects": projects.iter().filter(|p| !p.is_archived).count(),
        "archived_projects": projects.iter().filter(|p| p.is_archived).count(),
        "created_at": format_naive(c.created_at),
        "updated_at": c.updated_at.map(format_naive),
        "json": null,
    })
}

pub fn project(a: &Account, p: &Project) -> Value {
    let seconds = a.project_seconds.get(&p.id).copied().unwrap_or(0);
    json!({
        "id": p.id,
        "name": p.name,
        "is_archived": p.is_archived,
        "customer": p.customer_id.and_then(|c| a.customers.get(&c)).map(|c| json!({"id": c.id, "name": c.name})),
        "service": null,
        "billing": {"is_billable": p.is_billable, "hourly_rate": p.hourly_rate, "hourly_cost": null, "fixed_rate": null},
        "accumulated_time": seconds,
        "worked_hours": seconds as f64 / 3600.0,
        "estimated_time": 0,
        "created_at": format_naive(p.created_at),
        "updated_at": p.updated_at.map(format_naive),
        "json": null,
    })
}

pub fn task(a: &Account, t: &Task) -> Value {
    let seconds = a.task_seconds.get(&t.id).copied().unwrap_or(0);
    let project = t.project_id.and_then(|p| a.projects.get(&p));
    let running: Vec<&Event> = a
        .running
        .values()
        .filter_map(|id| a.events.get(id))
        .filter(|e| e.task_id == Some(t.id))
        .collect();
    let users: Vec<Value> = running
        .iter()
        .map(|e| {
            json!({"id": e.user_id, "event": {"id": e.id, "start": format_naive(e.start), "end": null,
                   "formated_duration": hms(0)}, "accumulated_time": seconds})
        })
        .collect();
    json!({
        "id": t.id,
        "name": t.name,
        "type": t.kind,
        "project_id": t.project_id,
        "project": project.map(|p| p.name.clone()),
        "customer_id": project.and_then(|p| p.customer_id),
        "is_archived": t.is_archived,
        "accumulated_time": seconds,
        "accumulated_time_display": hms(seconds),
        "worked_hours": seconds as f64 / 3600.0,
        "estimated_time": 0,
        "tracking": !running.is_empty(),
        "tracking_event": running.first().map(|e| event(a, e, EventForm::Full)),
        "users": users,
        "start_date": format_naive(t.created_at),
        "created_at": format_naive(t.created_at),
        "updated_at": t.updated_at.map(format_naive),
    })
}

pub fn user(u: &User) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "surname": u.surname,
        "email": u.email,
        "role": u.role,
        "status": "VERIFIED",
        "is_archived": u.is_archived,
        "created_at": format_naive(u.created_at),
        "billing": {"hourly_rate": null, "hourly_cost": null},
    })
}
