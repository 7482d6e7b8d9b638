//! The simulated API itself: one function per endpoint family, each reading the merged
//! parameters and answering data or an in-envelope error exactly as spec §12 lists
//! (inclusive date filters, `sort_by`, per-endpoint paging quirks, default ACTIVE filters,
//! unique customer names, task delete cascade, custom fields and search by external id,
//! timer rules, webhooks).

use std::ops::Bound;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use reqwest::Method;
use serde_json::{json, Value};

use super::params::Params;
use super::render;
use super::store::{Account, Customer, Event, Key, Project, Task, Webhook};
use super::{World, THIRD_PARTY_ID, THIRD_PARTY_SERVICE};
use timeweave_trackingtime::zone::{gmt_label, parse_naive, Zone};

/// What an endpoint answers.
pub enum Reply {
    /// `status: 200` with `data`, plus sibling keys.
    Data(Value, Vec<(&'static str, Value)>),
    /// `status: 200` with `data` already serialised (large lists), plus sibling keys.
    DataJson(String, Vec<(&'static str, Value)>),
    /// An in-envelope error (HTTP 200, `data: {}`).
    Error(i64, String),
    /// An HTML page with this HTTP status (wrong method, unknown route).
    Html(u16, String),
}

type R = Result<Reply, Reply>;

fn ok(v: Value) -> R {
    Ok(Reply::Data(v, Vec::new()))
}
fn err(status: i64, msg: impl Into<String>) -> Reply {
    Reply::Error(status, msg.into())
}
fn e500(msg: impl Into<String>) -> Reply {
    err(500, msg)
}
fn bad(e: String) -> Reply {
    e500(e)
}
fn id_seg(s: &str) -> Result<i64, Reply> {
    s.parse()
        .map_err(|_| err(400, format!("{s} doesn't exist")))
}

/// The servlet error page a POST to a customer's or user's close/open answers with
/// (`html_on_post_close`); `Ok` where the route goes on.
fn post_close_page(w: &World, method: &Method) -> Result<(), Reply> {
    if *method == Method::POST && w.opts.html_on_post_close {
        return Err(Reply::Html(
            500,
            "<html><body><h1>HTTP Status 500 - Internal Server Error</h1></body></html>".into(),
        ));
    }
    Ok(())
}

/// Routes one request inside an account. `segs` is the path after `/api/v4/{account}`.
pub fn route(w: &mut World, acct: i64, method: &Method, segs: &[&str], p: &Params) -> Reply {
    if is_write_route(segs) || !matches!(*method, Method::GET | Method::HEAD) {
        w.write_requests += 1;
    }
    let is_delete_route =
        segs.contains(&"delete") || (segs.first() == Some(&"webhooks") && segs.len() == 2);
    let allowed = matches!(*method, Method::GET | Method::POST | Method::PUT)
        || (*method == Method::DELETE && is_delete_route);
    if !allowed {
        return Reply::Html(
            405,
            format!(
                "<html><body><h1>HTTP Status 405 - Method {method} Not Allowed</h1></body></html>"
            ),
        );
    }
    if let Some(refused) = without_permission(w, segs) {
        return refused;
    }
    let result = match segs {
        ["events"] => list_events(w, acct, p, false),
        ["events", "flat"] => list_events(w, acct, p, true),
        ["events", "add"] => add_event(w, acct, p),
        ["events", "update", id] | ["events", id, "update"] => {
            id_seg(id).and_then(|id| update_event(w, acct, id, p))
        }
        ["events", "delete", id] => id_seg(id).and_then(|id| delete_event(w, acct, id)),
        ["events", id] => id_seg(id).and_then(|id| get_event(w, acct, id)),
        ["search", "events"] if w.opts.search_by_external_id => search_events(w, acct, p),
        ["customers"] => list_customers(w, acct, p),
        ["customers", "add"] => add_customer(w, acct, p),
        ["customers", "update", id] => id_seg(id).and_then(|id| update_customer(w, acct, id, p)),
        ["customers", verb @ ("close" | "open"), id] => post_close_page(w, method)
            .and_then(|()| id_seg(id))
            .and_then(|id| archive(w, acct, "customers", id, *verb == "close")),
        ["customers", "delete", id] => id_seg(id).and_then(|id| delete_customer(w, acct, id)),
        ["customers", id] => id_seg(id).and_then(|id| get_one(w, acct, "customers", id)),
        ["projects"] => list_projects(w, acct, p),
        ["projects", "add"] => add_project(w, acct, p),
        ["projects", "update", id] => id_seg(id).and_then(|id| update_project(w, acct, id, p)),
        ["projects", verb @ ("close" | "open"), id] => {
            id_seg(id).and_then(|id| archive(w, acct, "projects", id, *verb == "close"))
        }
        ["projects", "delete", id] => id_seg(id).and_then(|id| delete_project(w, acct, id, p)),
        ["projects", id] => id_seg(id).and_then(|id| get_one(w, acct, "projects", id)),
        ["tasks"] => list_tasks(w, acct, p, w.opts.tasks_page_size_default),
        ["tasks", "paginated"] => list_tasks(w, acct, p, 500),
        ["tasks", "add"] => add_task(w, acct, p),
        ["tasks", "update", id] => id_seg(id).and_then(|id| update_task(w, acct, id, p)),
        ["tasks", verb @ ("close" | "open"), id] => {
            id_seg(id).and_then(|id| archive(w, acct, "tasks", id, *verb == "close"))
        }
        ["tasks", "delete", id] => id_seg(id).and_then(|id| delete_task(w, acct, id, p)),
        ["tasks", "track", id] => id_seg(id).and_then(|id| track(w, acct, id, p)),
        ["tasks", "stop", id] => id_seg(id).and_then(|id| stop(w, acct, id, p)),
        ["tasks", id] => id_seg(id).and_then(|id| get_one(w, acct, "tasks", id)),
        ["users"] => list_users(w, acct, p),
        ["users", verb @ ("close" | "open"), id] => post_close_page(w, method)
            .and_then(|()| id_seg(id))
            .and_then(|id| archive(w, acct, "users", id, *verb == "close")),
        ["users", id] => id_seg(id).and_then(|id| get_one(w, acct, "users", id)),
        ["webhooks"] => list_webhooks(w, acct),
        ["webhooks", "add"] => add_webhook(w, acct, p),
        ["webhooks", id, "delete"] => id_seg(id).and_then(|id| delete_webhook(w, acct, id)),
        ["webhooks", id] if *method == Method::DELETE => {
            id_seg(id).and_then(|id| delete_webhook(w, acct, id))
        }
        _ => Err(err(400, format!("/{} doesn't exist", segs.join("/")))),
    };
    result.unwrap_or_else(|e| e)
}

fn acct(w: &mut World, id: i64) -> &mut Account {
    w.accounts
        .get_mut(&id)
        .expect("routing checked the account exists")
}

// ------------------------------------------------------------------ timestamps

fn read_time(w: &World, p: &Params, k: &str) -> Result<Option<NaiveDateTime>, Reply> {
    let Some(s) = p.text(k) else { return Ok(None) };
    if let Some(t) = parse_naive(&s) {
        return Ok(Some(t));
    }
    if w.opts.accept_iso_timestamps {
        let trimmed = s.trim().trim_end_matches('Z');
        if let Ok(t) = NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S") {
            return Ok(Some(t));
        }
    }
    Err(e500(format!(
        "{k}: invalid date {s:?}, expected yyyy-MM-dd HH:mm:ss"
    )))
}

/// `GMT+3` -> `GMT+03:00`; IANA names kept.
fn read_zone(p: &Params, k: &str) -> Result<Option<String>, Reply> {
    let Some(s) = p.text(k) else { return Ok(None) };
    match Zone::parse(&s) {
        Ok(Zone::Fixed(o)) => Ok(Some(gmt_label(o))),
        Ok(Zone::Named(tz)) => Ok(Some(tz.name().to_owned())),
        Err(e) => Err(e500(format!("{k}: {e}"))),
    }
}

fn read_date(p: &Params, k: &str) -> Result<Option<NaiveDate>, Reply> {
    let Some(s) = p.text(k) else { return Ok(None) };
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map(Some)
        .map_err(|_| e500(format!("{k}: invalid date {s:?}, expected yyyy-MM-dd")))
}

/// Whether the route writes (under any method: TrackingTime answers GET and POST alike).
fn is_write_route(segs: &[&str]) -> bool {
    segs.iter()
        .any(|s| matches!(*s, "add" | "update" | "delete" | "close" | "open"))
}

/// A write the caller's permissions do not allow (`SimOptions::caller`): an in-envelope
/// 403, as TrackingTime answers "advanced user permissions" (§4).
fn without_permission(w: &World, segs: &[&str]) -> Option<Reply> {
    let c = &w.opts.caller;
    let write = is_write_route(segs);
    let allowed = match segs.first() {
        Some(&"events") => c.edit_time_entries,
        Some(&"projects") => c.edit_projects,
        Some(&"tasks") => c.edit_tasks,
        _ => true,
    };
    (write && !allowed).then(|| Reply::Error(403, "No permission".into()))
}

// ------------------------------------------------------------------ events

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SortBy {
    Start,
    Created,
    Updated,
}

fn list_events(w: &mut World, id: i64, p: &Params, flat: bool) -> R {
    let from = read_date(p, "from")?;
    let to = read_date(p, "to")?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(e500("from and to are required (yyyy-MM-dd)"));
    };
    let caller = w.caller;
    let filter = p.text("filter").map(|f| f.to_ascii_uppercase());
    let subject = p.int("id").map_err(bad)?;
    let (filter, subject) = match (filter.as_deref(), subject) {
        (None, s) => ("USER".to_owned(), Some(s.unwrap_or(caller))),
        (Some("COMPANY"), _) => ("COMPANY".to_owned(), None),
        (Some(f @ ("USER" | "PROJECT" | "CUSTOMER" | "TASK")), Some(s)) => (f.to_owned(), Some(s)),
        (Some(f @ ("USER" | "PROJECT" | "CUSTOMER" | "TASK")), None) => {
            return Err(e500(format!("filter {f} needs an id")))
        }
        (Some(f), _) => return Err(e500(format!("unknown filter {f}"))),
    };
    let sort = match p.text("sort_by").as_deref() {
        None | Some("") | Some("start") => SortBy::Start,
        Some("created_at") => SortBy::Created,
        Some("updated_at") => SortBy::Updated,
        Some(other) => return Err(e500(format!("unknown sort_by {other}"))),
    };
    let desc = p
        .text("order")
        .is_some_and(|o| o.eq_ignore_ascii_case("desc"));
    let page = p.int("page").map_err(bad)?.unwrap_or(0).max(0) as u32;
    let max = if flat {
        5000
    } else {
        w.opts.events_page_size_max
    };
    let mut size = p
        .int("page_size")
        .map_err(bad)?
        .unwrap_or(w.opts.events_page_size_default as i64)
        .clamp(1, max as i64) as usize;
    let mut offset = page as usize * size;
    if let (true, Some(cap)) = (flat, w.opts.flat_row_cap) {
        if offset >= cap {
            return ok(json!([]));
        }
        size = size.min(cap - offset);
    }
    let include_cf = p.bool("include_custom_fields").unwrap_or(false);
    let form = w.opts.event_form;
    let sees_others = w.opts.caller.view_others;
    let a = acct(w, id);
    let lo: Key = (from.and_time(NaiveTime::MIN), i64::MIN);
    let hi: Key = (to.and_hms_opt(23, 59, 59).expect("valid time"), i64::MAX);
    let signature = format!("{filter}|{subject:?}|{sort:?}|{desc}|{from}|{to}|{size}|{flat}");
    // Resume after the last key of the previous page when it was served in this same
    // generation of the data: pages cost O(page), not O(offset).
    let (lo, hi) = match a.cursors.get(&(signature.clone(), page)) {
        Some(k) if !desc => {
            offset = 0;
            (Bound::Excluded(*k), Bound::Included(hi))
        }
        Some(k) => {
            offset = 0;
            (Bound::Included(lo), Bound::Excluded(*k))
        }
        None => (Bound::Included(lo), Bound::Included(hi)),
    };
    let index = match sort {
        SortBy::Start => &a.by_start,
        SortBy::Created => &a.by_created,
        SortBy::Updated => &a.by_updated,
    };
    let range = index.range((lo, hi));
    let iter: Box<dyn Iterator<Item = &Key>> = if desc {
        Box::new(range.rev())
    } else {
        Box::new(range)
    };
    let matches = |e: &&Event| match (filter.as_str(), subject) {
        ("COMPANY", _) => sees_others || e.user_id == caller,
        ("USER", Some(s)) => e.user_id == s,
        ("PROJECT", Some(s)) => e.project_id == Some(s),
        ("TASK", Some(s)) => e.task_id == Some(s),
        ("CUSTOMER", Some(s)) => {
            e.customer_id == Some(s)
                || e.project_id
                    .and_then(|p| a.projects.get(&p))
                    .and_then(|p| p.customer_id)
                    == Some(s)
        }
        _ => false,
    };
    let mut last = None;
    let picked: Vec<&Event> = iter
        .filter_map(|k| a.events.get(&k.1).map(|e| (k, e)))
        .filter(|(_, e)| matches(e))
        .skip(offset)
        .take(size)
        .map(|(k, e)| {
            last = Some(*k);
            e
        })
        .collect();
    let data = if flat {
        Value::Array(picked.iter().map(|e| render::flat_event(a, e)).collect()).to_string()
    } else {
        render::events_json(a, &picked, form)
    };
    let siblings = if flat {
        vec![("users", json!([])), ("schedule_assignments", json!([]))]
    } else {
        vec![
            (
                "set_custom_fields",
                if include_cf {
                    render::custom_fields(picked.iter().copied())
                } else {
                    json!([])
                },
            ),
            (
                "available_custom_fields",
                json!([{"slug": THIRD_PARTY_ID}, {"slug": THIRD_PARTY_SERVICE}]),
            ),
            ("users", json!([])),
            ("schedule_assignments", json!([])),
        ]
    };
    if let (Some(k), true) = (last, picked.len() == size) {
        if a.cursors.len() > 4096 {
            a.cursors.clear();
        }
        a.cursors.insert((signature, page + 1), k);
    }
    Ok(Reply::DataJson(data, siblings))
}

fn get_event(w: &mut World, id: i64, event: i64) -> R {
    let status = w.opts.deleted_event_get_status;
    let form = w.opts.event_form;
    let a = acct(w, id);
    match a.events.get(&event) {
        Some(e) => ok(render::event(a, e, form)),
        None => Err(err(status, "Event not found")),
    }
}

fn read_custom_fields(p: &Params) -> Result<Option<Vec<(String, String)>>, Reply> {
    let Some(items) = p.array("custom_fields").map_err(bad)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for item in items {
        let slug = item
            .get("slug")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| item.get("id").map(|i| format!("#{i}")))
            .ok_or_else(|| e500("custom_fields items need a slug or an id"))?;
        let value = match item.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        };
        out.push((slug, value));
    }
    Ok(Some(out))
}

/// Resolves `task_id`/`task_name`, `project_id`/`project_name`, `customer_id`/
/// `customer_name` (names auto-create, spec §8.2); `Some(None)` means "set to none".
struct Links {
    task: Option<Option<i64>>,
    project: Option<Option<i64>>,
    customer: Option<Option<i64>>,
}

fn read_links(w: &mut World, id: i64, p: &Params) -> Result<Links, Reply> {
    let mut links = Links {
        task: None,
        project: None,
        customer: None,
    };
    if p.has("customer_id") {
        let c = p.int("customer_id").map_err(bad)?.filter(|&c| c != 0);
        if let Some(c) = c {
            if !acct(w, id).customers.contains_key(&c) {
                return Err(e500(format!("Customer {c} not found")));
            }
        }
        links.customer = Some(c);
    } else if let Some(name) = p.text("customer_name").filter(|n| !n.trim().is_empty()) {
        links.customer = Some(Some(customer_by_name(w, id, &name)));
    }
    if p.has("project_id") {
        let pr = p.int("project_id").map_err(bad)?.filter(|&c| c != 0);
        if let Some(pr) = pr {
            if !acct(w, id).projects.contains_key(&pr) {
                return Err(e500(format!("Project {pr} not found")));
            }
        }
        links.project = Some(pr);
    } else if let Some(name) = p.text("project_name").filter(|n| !n.trim().is_empty()) {
        links.project = Some(Some(project_by_name(
            w,
            id,
            &name,
            links.customer.flatten(),
        )));
    }
    if p.has("task_id") {
        let t = p.int("task_id").map_err(bad)?.filter(|&c| c != 0);
        if let Some(t) = t {
            let Some(task) = acct(w, id).tasks.get(&t) else {
                return Err(e500(format!("Task {t} not found")));
            };
            if links.project.is_none() {
                links.project = Some(task.project_id);
            }
        }
        links.task = Some(t);
    } else if let Some(name) = p.text("task_name").filter(|n| !n.trim().is_empty()) {
        let project = links.project.flatten();
        links.task = Some(Some(task_by_name(w, id, &name, project)));
    }
    Ok(links)
}

/// Whether a record's name is the one a `*_name` parameter gives (trimmed, ASCII case
/// ignored), as the by-name links look records up.
fn same_label(held: &str, given: &str) -> bool {
    held.trim().eq_ignore_ascii_case(given.trim())
}

fn customer_by_name(w: &mut World, id: i64, name: &str) -> i64 {
    if let Some(c) = acct(w, id)
        .customers
        .values()
        .find(|c| same_label(&c.name, name))
    {
        return c.id;
    }
    let cid = w.new_id();
    let now = w.now_account();
    acct(w, id)
        .customers
        .insert(cid, Customer::new(cid, name.trim().to_owned(), now));
    cid
}

fn project_by_name(w: &mut World, id: i64, name: &str, customer: Option<i64>) -> i64 {
    if let Some(p) = acct(w, id)
        .projects
        .values()
        .find(|p| same_label(&p.name, name))
    {
        return p.id;
    }
    let pid = w.new_id();
    let now = w.now_account();
    acct(w, id).projects.insert(
        pid,
        Project::new(pid, name.trim().to_owned(), customer, false, now),
    );
    pid
}

fn task_by_name(w: &mut World, id: i64, name: &str, project: Option<i64>) -> i64 {
    if let Some(t) = acct(w, id)
        .tasks
        .values()
        .find(|t| t.project_id == project && t.name.as_deref().is_some_and(|n| same_label(n, name)))
    {
        return t.id;
    }
    let tid = w.new_id();
    let now = w.now_account();
    acct(w, id).tasks.insert(
        tid,
        Task::new(
            tid,
            Some(name.trim().to_owned()),
            project,
            "EVERYONE".into(),
            now,
        ),
    );
    tid
}

/// An event's duration: the span between start and end when the server computes it
/// (T10), else the given one, checked when `server_validates_duration`.
fn check_duration(
    w: &World,
    start: NaiveDateTime,
    end: Option<NaiveDateTime>,
    given: Option<i64>,
) -> Result<i64, Reply> {
    let Some(end) = end else { return Ok(0) };
    let span = (end - start).num_seconds();
    if span < 0 {
        return Err(e500("end is before start"));
    }
    match given {
        _ if w.opts.server_computes_duration => Ok(span),
        None => Ok(span),
        Some(d) if w.opts.server_validates_duration && (d < 0 || d > span) => Err(e500(format!(
            "duration {d} does not fit between start and end ({span} seconds)"
        ))),
        Some(d) => Ok(d),
    }
}

fn add_event(w: &mut World, id: i64, p: &Params) -> R {
    let start = read_time(w, p, "start")?;
    let end = read_time(w, p, "end")?;
    let zone = read_zone(p, "timezone")?;
    let (Some(start), Some(end), Some(timezone)) = (start, end, zone) else {
        return Err(e500("start, end and timezone are required"));
    };
    let duration = check_duration(w, start, Some(end), p.int("duration").map_err(bad)?)?;
    let user_id = p.int("user_id").map_err(bad)?.unwrap_or(w.caller);
    if !acct(w, id).users.contains_key(&user_id) {
        return Err(e500(format!("User {user_id} not found")));
    }
    let links = read_links(w, id, p)?;
    let custom_fields = read_custom_fields(p)?.unwrap_or_default();
    let event_type = p
        .text("event_type")
        .unwrap_or_else(|| "WORK".into())
        .to_ascii_uppercase();
    let eid = w.new_id();
    let now = w.now_account();
    let project_id = links.project.flatten();
    let is_billable = match p.bool("is_billable") {
        Some(b) if w.opts.event_billable_param => b,
        _ => computed_billable(w, id, project_id),
    };
    let e = Event {
        id: eid,
        user_id,
        task_id: links.task.flatten(),
        project_id,
        customer_id: match project_id {
            None if w.opts.event_customer_param => links.customer.flatten(),
            _ => None,
        },
        start,
        end: Some(end),
        duration,
        timezone,
        notes: p.text("notes"),
        is_billable,
        is_billed: false,
        event_type,
        created_at: now,
        updated_at: None,
        custom_fields,
    };
    let form = w.opts.event_form;
    let a = acct(w, id);
    a.put_event(e);
    let out = render::event(a, &a.events[&eid], form);
    w.notify(id, "event.created", eid);
    ok(out)
}

/// Partial update: only the parameters present change (an explicit null clears a link).
fn update_event(w: &mut World, id: i64, event: i64, p: &Params) -> R {
    let Some(mut e) = acct(w, id).events.get(&event).cloned() else {
        return Err(err(404, "Event not found"));
    };
    let start = read_time(w, p, "start")?;
    let end = read_time(w, p, "end")?;
    if let Some(tz) = read_zone(p, "timezone")? {
        e.timezone = tz;
    }
    let times_changed = start.is_some() || end.is_some();
    if let Some(s) = start {
        e.start = s;
    }
    if let Some(x) = end {
        e.end = Some(x);
    }
    let given = p.int("duration").map_err(bad)?;
    if times_changed || given.is_some() {
        e.duration = check_duration(w, e.start, e.end, given)?;
    }
    if let Some(u) = p.int("user_id").map_err(bad)? {
        if !acct(w, id).users.contains_key(&u) {
            return Err(e500(format!("User {u} not found")));
        }
        e.user_id = u;
    }
    let links = read_links(w, id, p)?;
    if let Some(t) = links.task {
        e.task_id = t;
    }
    if let Some(pr) = links.project {
        e.project_id = pr;
    }
    match links.customer {
        Some(c) if w.opts.event_customer_param => e.customer_id = c,
        _ => {}
    }
    if e.project_id.is_some() {
        e.customer_id = None;
    }
    if p.has("notes") {
        e.notes = p.text("notes");
    }
    if !w.opts.event_billable_param {
        e.is_billable = computed_billable(w, id, e.project_id);
    } else if let Some(b) = p.bool("is_billable") {
        e.is_billable = b;
    }
    if let Some(b) = p.bool("is_billed") {
        e.is_billed = b;
    }
    if let Some(t) = p.text("event_type") {
        e.event_type = t.to_ascii_uppercase();
    }
    if let Some(cf) = read_custom_fields(p)? {
        for (slug, value) in cf {
            e.custom_fields.retain(|(s, _)| *s != slug);
            e.custom_fields.push((slug, value));
        }
    }
    e.updated_at = Some(w.now_account());
    let form = w.opts.event_form;
    let a = acct(w, id);
    a.take_event(event);
    a.put_event(e);
    let out = render::event(a, &a.events[&event], form);
    w.notify(id, "event.updated", event);
    ok(out)
}

/// The billable flag the server gives an event when it ignores the one sent (T5): its
/// project's, and billable without a project.
fn computed_billable(w: &mut World, id: i64, project: Option<i64>) -> bool {
    project
        .and_then(|p| acct(w, id).projects.get(&p))
        .is_none_or(|p| p.is_billable)
}

fn delete_event(w: &mut World, id: i64, event: i64) -> R {
    match acct(w, id).take_event(event) {
        Some(_) => ok(json!({})),
        None => Err(err(404, "Event not found")),
    }
}

fn search_events(w: &mut World, id: i64, p: &Params) -> R {
    let kind = p.text("type").unwrap_or_default();
    let ignores_key = w.opts.search_ignores_external_id;
    let with_fields = w.opts.search_returns_custom_fields;
    let form = w.opts.event_form;
    let a = acct(w, id);
    let ids: Vec<i64> = match kind.as_str() {
        "ByExternalID" if ignores_key => a.events.keys().copied().collect(),
        "ByExternalID" => {
            let Some(x) = p.text("external_id").or_else(|| p.text("third_party_id")) else {
                return Err(e500("external_id is required"));
            };
            let service = p.text("service");
            a.by_external
                .get(&x)
                .map(|s| s.iter().copied().collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .filter(|i| match (&service, a.events.get(i)) {
                    (Some(svc), Some(e)) => e
                        .custom(THIRD_PARTY_SERVICE)
                        .is_none_or(|v| v.eq_ignore_ascii_case(svc)),
                    _ => true,
                })
                .collect()
        }
        "ByID" => p
            .int("id")
            .map_err(bad)?
            .into_iter()
            .filter(|i| a.events.contains_key(i))
            .collect(),
        other => return Err(e500(format!("search type {other:?} is not simulated"))),
    };
    let found: Vec<&Event> = ids.iter().filter_map(|i| a.events.get(i)).collect();
    let data: Vec<Value> = found.iter().map(|e| render::event(a, e, form)).collect();
    // Custom fields come, as on `/events`, in a sibling of `data` when asked for (§4).
    let siblings = if with_fields && p.bool("include_custom_fields").unwrap_or(false) {
        vec![(
            "set_custom_fields",
            render::custom_fields(found.iter().copied()),
        )]
    } else {
        Vec::new()
    };
    Ok(Reply::Data(Value::Array(data), siblings))
}

// ------------------------------------------------------------------ reference kinds

fn status_filter(p: &Params) -> Result<String, Reply> {
    let f = p
        .text("filter")
        .unwrap_or_else(|| "ACTIVE".into())
        .to_ascii_uppercase();
    match f.as_str() {
        "ALL" | "ACTIVE" | "ARCHIVED" | "FOLLOWING" | "TRACKING" | "INVITED" => Ok(f),
        other => Err(e500(format!("unknown filter {other}"))),
    }
}

fn keep(filter: &str, archived: bool) -> bool {
    match filter {
        "ALL" => true,
        "ARCHIVED" => archived,
        _ => !archived,
    }
}

fn list_customers(w: &mut World, id: i64, p: &Params) -> R {
    let f = status_filter(p)?;
    // `page` is ignored entirely (spec §5): every page is the full list.
    let ignore_page = w.opts.customers_ignore_page;
    let page = p.int("page").map_err(bad)?.unwrap_or(0);
    let echo = w.opts.customer_contact_echo;
    let a = acct(w, id);
    if !ignore_page && page > 0 {
        return ok(json!([]));
    }
    ok(Value::Array(
        a.customers
            .values()
            .filter(|c| keep(&f, c.is_archived))
            .map(|c| render::customer(a, c, echo))
            .collect(),
    ))
}

fn list_projects(w: &mut World, id: i64, p: &Params) -> R {
    let f = status_filter(p)?;
    let page = p.int("page").map_err(bad)?.unwrap_or(0);
    let a = acct(w, id);
    // Everything on page 0, `[]` after (spec §5).
    if page > 0 {
        return ok(json!([]));
    }
    ok(Value::Array(
        a.projects
            .values()
            .filter(|x| keep(&f, x.is_archived))
            .map(|x| render::project(a, x))
            .collect(),
    ))
}

fn list_tasks(w: &mut World, id: i64, p: &Params, default_size: u32) -> R {
    let f = status_filter(p)?;
    let page = p.int("page").map_err(bad)?.unwrap_or(0).max(0) as usize;
    let size = p
        .int("page_size")
        .map_err(bad)?
        .unwrap_or(default_size as i64)
        .clamp(1, 1000) as usize;
    let project = p.int("project_id").map_err(bad)?;
    let a = acct(w, id);
    let tracking: std::collections::HashSet<i64> = a
        .running
        .values()
        .filter_map(|e| a.events.get(e))
        .filter_map(|e| e.task_id)
        .collect();
    let data: Vec<Value> = a
        .tasks
        .values()
        .filter(|t| {
            if f == "TRACKING" {
                tracking.contains(&t.id)
            } else {
                keep(&f, t.is_archived)
            }
        })
        .filter(|t| project.is_none_or(|pr| t.project_id == Some(pr)))
        .skip(page * size)
        .take(size)
        .map(|t| render::task(a, t))
        .collect();
    Ok(Reply::Data(
        Value::Array(data),
        vec![
            ("set_custom_fields", json!([])),
            ("available_custom_fields", json!([])),
            ("users", json!([])),
        ],
    ))
}

fn list_users(w: &mut World, id: i64, p: &Params) -> R {
    let f = status_filter(p)?;
    let a = acct(w, id);
    ok(Value::Array(
        a.users
            .values()
            .filter(|u| keep(&f, u.is_archived))
            .map(render::user)
            .collect(),
    ))
}

fn get_one(w: &mut World, id: i64, what: &str, rid: i64) -> R {
    let echo = w.opts.customer_contact_echo;
    let a = acct(w, id);
    let v = match what {
        "customers" => a.customers.get(&rid).map(|c| render::customer(a, c, echo)),
        "projects" => a.projects.get(&rid).map(|x| render::project(a, x)),
        "tasks" => a.tasks.get(&rid).map(|t| render::task(a, t)),
        _ => a.users.get(&rid).map(render::user),
    };
    v.map(|v| Reply::Data(v, Vec::new()))
        .ok_or_else(|| err(404, format!("{what} {rid} not found")))
}

fn archive(w: &mut World, id: i64, what: &str, rid: i64, close: bool) -> R {
    let now = w.now_account();
    let a = acct(w, id);
    let found = match what {
        "customers" => a.customers.get_mut(&rid).map(|c| {
            c.is_archived = close;
            c.updated_at = Some(now);
        }),
        "projects" => a.projects.get_mut(&rid).map(|c| {
            c.is_archived = close;
            c.updated_at = Some(now);
        }),
        "tasks" => a.tasks.get_mut(&rid).map(|c| {
            c.is_archived = close;
            c.updated_at = Some(now);
        }),
        _ => a.users.get_mut(&rid).map(|u| u.is_archived = close),
    };
    match found {
        Some(()) => get_one(w, id, what, rid),
        None => Err(err(404, format!("{what} {rid} not found"))),
    }
}

fn add_customer(w: &mut World, id: i64, p: &Params) -> R {
    let Some(name) = p.text("name").filter(|n| !n.trim().is_empty()) else {
        return Err(e500("name is required"));
    };
    if acct(w, id).customer_name_taken(&name, None) {
        return Err(e500(
            "There is already another customer with that name. Please choose a different one.",
        ));
    }
    let cid = w.new_id();
    let now = w.now_account();
    acct(w, id).customers.insert(
        cid,
        Customer {
            notes: p.text("notes").filter(|s| !s.is_empty()),
            contact_email: p.text("contact_email").filter(|s| !s.is_empty()),
            ..Customer::new(cid, name.trim().to_owned(), now)
        },
    );
    get_one(w, id, "customers", cid)
}

fn update_customer(w: &mut World, id: i64, cid: i64, p: &Params) -> R {
    if !acct(w, id).customers.contains_key(&cid) {
        return Err(err(404, format!("customers {cid} not found")));
    }
    // `name` is required even when unchanged (spec §8.6).
    let Some(name) = p.text("name").filter(|n| !n.trim().is_empty()) else {
        return Err(e500("name is required"));
    };
    if acct(w, id).customer_name_taken(&name, Some(cid)) {
        return Err(e500(
            "There is already another customer with that name. Please choose a different one.",
        ));
    }
    let now = w.now_account();
    let c = acct(w, id).customers.get_mut(&cid).expect("checked above");
    c.name = name.trim().to_owned();
    if p.has("notes") {
        c.notes = p.text("notes").filter(|s| !s.is_empty());
    }
    if p.has("contact_email") {
        c.contact_email = p.text("contact_email").filter(|s| !s.is_empty());
    }
    c.updated_at = Some(now);
    get_one(w, id, "customers", cid)
}

fn delete_customer(w: &mut World, id: i64, cid: i64) -> R {
    let a = acct(w, id);
    if a.customers.remove(&cid).is_none() {
        return Err(err(404, format!("customers {cid} not found")));
    }
    for p in a
        .projects
        .values_mut()
        .filter(|p| p.customer_id == Some(cid))
    {
        p.customer_id = None;
    }
    ok(json!({}))
}

fn apply_billing(w: &World, p: &Params, project: &mut Project) -> Result<(), Reply> {
    if !w.opts.accept_project_billing_params {
        return Ok(());
    }
    if let Some(b) = p.bool("is_billable") {
        project.is_billable = b;
    }
    if p.has("hourly_rate") {
        project.hourly_rate = match p.text("hourly_rate") {
            None => None,
            Some(s) => Some(
                s.trim()
                    .parse::<f64>()
                    .map_err(|_| e500("hourly_rate must be a number"))?,
            ),
        };
    }
    Ok(())
}

fn add_project(w: &mut World, id: i64, p: &Params) -> R {
    let Some(name) = p.text("name").filter(|n| !n.trim().is_empty()) else {
        return Err(e500("name is required"));
    };
    let links = read_links(w, id, p)?;
    let pid = w.new_id();
    let now = w.now_account();
    let mut project = Project::new(
        pid,
        name.trim().to_owned(),
        links.customer.flatten(),
        true,
        now,
    );
    apply_billing(w, p, &mut project)?;
    acct(w, id).projects.insert(pid, project);
    get_one(w, id, "projects", pid)
}

fn update_project(w: &mut World, id: i64, pid: i64, p: &Params) -> R {
    let Some(mut project) = acct(w, id).projects.get(&pid).cloned() else {
        return Err(err(404, format!("projects {pid} not found")));
    };
    if let Some(name) = p.text("name").filter(|n| !n.trim().is_empty()) {
        project.name = name.trim().to_owned();
    }
    let links = read_links(w, id, p)?;
    if let Some(c) = links.customer {
        project.customer_id = c;
    }
    apply_billing(w, p, &mut project)?;
    project.updated_at = Some(w.now_account());
    acct(w, id).projects.insert(pid, project);
    get_one(w, id, "projects", pid)
}

/// Deletes the events of a task or project unless `delete_all=false` (spec §8.4).
fn cascade(w: &mut World, id: i64, p: &Params, events: Vec<i64>) {
    let delete_all = p.bool("delete_all").unwrap_or(w.opts.delete_all_default);
    let a = acct(w, id);
    for e in events {
        if delete_all {
            a.take_event(e);
        } else if let Some(mut ev) = a.take_event(e) {
            // The events survive, detached from the deleted task.
            ev.task_id = None;
            a.put_event(ev);
        }
    }
}

fn delete_project(w: &mut World, id: i64, pid: i64, p: &Params) -> R {
    let a = acct(w, id);
    if a.projects.remove(&pid).is_none() {
        return Err(err(404, format!("projects {pid} not found")));
    }
    let tasks: Vec<i64> = a
        .tasks
        .values()
        .filter(|t| t.project_id == Some(pid))
        .map(|t| t.id)
        .collect();
    let mut events: Vec<i64> = Vec::new();
    for t in &tasks {
        a.tasks.remove(t);
        events.extend(a.by_task.remove(t).unwrap_or_default());
    }
    events.extend(
        a.events
            .values()
            .filter(|e| e.project_id == Some(pid) && e.task_id.is_none())
            .map(|e| e.id),
    );
    let delete_all = p.bool("delete_all").unwrap_or(w.opts.delete_all_default);
    let a = acct(w, id);
    for e in events {
        if let Some(mut ev) = a.take_event(e) {
            if !delete_all {
                ev.task_id = None;
                ev.project_id = None;
                a.put_event(ev);
            }
        }
    }
    ok(json!({}))
}

fn add_task(w: &mut World, id: i64, p: &Params) -> R {
    let links = read_links(w, id, p)?;
    let tid = w.new_id();
    let now = w.now_account();
    let kind = p
        .text("type")
        .unwrap_or_else(|| "PERSONAL".into())
        .to_ascii_uppercase();
    acct(w, id).tasks.insert(
        tid,
        Task::new(tid, p.text("name"), links.project.flatten(), kind, now),
    );
    get_one(w, id, "tasks", tid)
}

fn update_task(w: &mut World, id: i64, tid: i64, p: &Params) -> R {
    let Some(mut task) = acct(w, id).tasks.get(&tid).cloned() else {
        return Err(err(404, format!("tasks {tid} not found")));
    };
    if p.has("name") {
        task.name = p.text("name");
    }
    if p.has("project_id") {
        let pr = p.int("project_id").map_err(bad)?.filter(|&x| x != 0);
        if let Some(pr) = pr {
            if !acct(w, id).projects.contains_key(&pr) {
                return Err(e500(format!("Project {pr} not found")));
            }
        }
        task.project_id = pr;
    }
    if let Some(k) = p.text("type") {
        task.kind = k.to_ascii_uppercase();
    }
    task.updated_at = Some(w.now_account());
    acct(w, id).tasks.insert(tid, task);
    get_one(w, id, "tasks", tid)
}

fn delete_task(w: &mut World, id: i64, tid: i64, p: &Params) -> R {
    let a = acct(w, id);
    if a.tasks.remove(&tid).is_none() {
        return Err(err(404, format!("tasks {tid} not found")));
    }
    let events: Vec<i64> = a
        .by_task
        .remove(&tid)
        .unwrap_or_default()
        .into_iter()
        .collect();
    cascade(w, id, p, events);
    ok(json!({}))
}

// ------------------------------------------------------------------ timer

fn track(w: &mut World, id: i64, tid: i64, p: &Params) -> R {
    let user = p.int("user_id").map_err(bad)?.unwrap_or(w.caller);
    let zone = read_zone(p, "timezone")?.unwrap_or_else(|| w.opts.default_event_timezone.clone());
    let z = Zone::parse(&zone).unwrap_or(Zone::UTC);
    let date = read_time(w, p, "date")?.unwrap_or_else(|| z.from_utc(w.now_utc()));
    let Some(task) = acct(w, id).tasks.get(&tid).cloned() else {
        return Err(err(404, format!("tasks {tid} not found")));
    };
    if let Some(running) = acct(w, id).running_event_of(user) {
        if !p.bool("stop_running_task").unwrap_or(false) {
            return Err(err(
                502,
                "There is another task running. Stop it first or send stop_running_task=true",
            ));
        }
        // The old timer stops when the new one starts.
        close_event(w, id, running, Some(date))?;
    }
    let eid = w.new_id();
    let now = w.now_account();
    acct(w, id).put_event(Event {
        id: eid,
        user_id: user,
        task_id: Some(tid),
        project_id: task.project_id,
        customer_id: None,
        start: date,
        end: None,
        duration: 0,
        timezone: zone,
        notes: p.text("notes"),
        is_billable: false,
        is_billed: false,
        event_type: "WORK".into(),
        created_at: now,
        updated_at: None,
        custom_fields: Vec::new(),
    });
    w.notify(id, "event.created", eid);
    timer_answer(w, id, tid, eid, p)
}

fn close_event(w: &mut World, id: i64, eid: i64, date: Option<NaiveDateTime>) -> Result<(), Reply> {
    let now_utc = w.now_utc();
    let now = w.now_account();
    let a = acct(w, id);
    let Some(mut e) = a.take_event(eid) else {
        return Ok(());
    };
    let z = Zone::parse(&e.timezone).unwrap_or(Zone::UTC);
    let end = date.unwrap_or_else(|| z.from_utc(now_utc)).max(e.start);
    e.end = Some(end);
    e.duration = (end - e.start).num_seconds();
    e.updated_at = Some(now);
    a.put_event(e);
    w.notify(id, "event.updated", eid);
    Ok(())
}

fn stop(w: &mut World, id: i64, tid: i64, p: &Params) -> R {
    let user = p.int("user_id").map_err(bad)?.unwrap_or(w.caller);
    let Some(running) = acct(w, id).running_event_of(user) else {
        return Err(e500("There is no task running"));
    };
    let e = acct(w, id).events[&running].clone();
    if e.task_id != Some(tid) {
        return Err(e500("This task is not running"));
    }
    if let Some(tz) = read_zone(p, "timezone")? {
        if w.opts.stop_timezone_must_match && tz != e.timezone {
            return Err(e500(
                "The timezone does not match the one the timer started with",
            ));
        }
    }
    let date = read_time(w, p, "date")?;
    close_event(w, id, running, date)?;
    timer_answer(w, id, tid, running, p)
}

fn timer_answer(w: &mut World, id: i64, tid: i64, eid: i64, p: &Params) -> R {
    let form = w.opts.event_form;
    let a = acct(w, id);
    if p.bool("return_task").unwrap_or(false) {
        ok(render::task(a, &a.tasks[&tid]))
    } else {
        ok(render::event(a, &a.events[&eid], form))
    }
}

// ------------------------------------------------------------------ webhooks

fn list_webhooks(w: &mut World, id: i64) -> R {
    let a = acct(w, id);
    ok(Value::Array(
        a.webhooks
            .values()
            .map(|h| json!({"id": h.id, "url": h.url, "events": h.events.join(","), "token": h.secret, "status": "ACTIVE"}))
            .collect(),
    ))
}

fn add_webhook(w: &mut World, id: i64, p: &Params) -> R {
    let Some(url) = p.text("url").filter(|u| !u.trim().is_empty()) else {
        return Err(e500("url is required"));
    };
    let events: Vec<String> = p
        .text("events")
        .unwrap_or_else(|| "event.created,event.updated".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let hid = w.new_id();
    let secret = format!("whsec{hid:x}");
    acct(w, id).webhooks.insert(
        hid,
        Webhook {
            id: hid,
            url,
            events,
            secret: secret.clone(),
        },
    );
    ok(json!({"id": hid, "secret": secret}))
}

fn delete_webhook(w: &mut World, id: i64, hid: i64) -> R {
    match acct(w, id).webhooks.remove(&hid) {
        Some(_) => ok(json!({})),
        None => Err(err(404, "Webhook not found")),
    }
}
