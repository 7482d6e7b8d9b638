//! Simulated time-entry and timer endpoints (`api_v1_time_entries.py`, spec §5): listing with
//! its filters and paging, create with the `task_id` bug, unknown-key rejection, overlap
//! check and idempotency replay, update with `if_updated_at`, hard delete, and the timer.

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use super::json::{self, error, validation};
use super::request::{bad, forbidden, Body, BodyTime, Caller, Fields, Req, Resp};
use super::store::{EntryRec, ListCursor, Store};
use timeweave_timetracker::time::parse_date;

const OVERLAP: &str = "This time overlaps with an existing entry. Please choose a different time range or edit the existing entry.";

/// `parse_datetime` of query filters: naive is app-local; an offset is converted to local.
fn query_time(store: &Store, s: &str, end_of_day: bool) -> Option<NaiveDateTime> {
    if let Some(d) = parse_date(s) {
        let t = if end_of_day {
            d.and_hms_micro_opt(23, 59, 59, 999_999)
        } else {
            d.and_hms_opt(0, 0, 0)
        };
        return t;
    }
    match BodyTime::parse(s)? {
        BodyTime::Naive(n) => Some(n),
        BodyTime::Aware(a) => Some(a.with_timezone(&store.opts.timezone).naive_local()),
    }
}

/// `page`/`per_page` as the list routes read them.
pub fn paging(req: &Req, default: i64, cap: Option<i64>) -> (i64, i64) {
    let page = req
        .q("page")
        .and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .max(1);
    let per_page = req
        .q("per_page")
        .and_then(|p| p.trim().parse::<i64>().ok())
        .filter(|p| *p > 0)
        .unwrap_or(default);
    (page, cap.map_or(per_page, |c| per_page.min(c)))
}

pub fn list(store: &mut Store, caller: &Caller, req: &Req) -> Resp {
    let user_filter = match req.q("user_id").and_then(|u| u.trim().parse::<i64>().ok()) {
        Some(u) if !caller.admin && u != caller.user_id => return forbidden(),
        Some(u) => Some(u),
        None if caller.admin => None,
        None => Some(caller.user_id),
    };
    let project = req
        .q("project_id")
        .and_then(|p| p.trim().parse::<i64>().ok());
    let strict = store.opts.bug_billable_filter;
    let billable = req.q("billable").map(|b| {
        let b = b.trim().to_ascii_lowercase();
        b == "true" || (!strict && (b == "1" || b == "yes"))
    });
    let include_active = req.q("include_active") == Some("true");
    let start = req
        .q("start_date")
        .and_then(|s| query_time(store, s, false));
    let end = req.q("end_date").and_then(|s| query_time(store, s, true));
    let (page, per_page) = paging(req, 50, Some(store.opts.per_page_cap));

    let matches = |e: &EntryRec| {
        user_filter.is_none_or(|u| e.user_id == u)
            && project.is_none_or(|p| e.project_id == Some(p))
            && billable.is_none_or(|b| e.billable == b)
            && (include_active || e.end.is_some())
    };
    let lo = start.map(|s| (s, i64::MIN));
    let hi = end.map(|e| (e, i64::MAX));
    // The index range of the filter, optionally cut below a resume point (exclusive).
    let range = |below: Option<(NaiveDateTime, i64)>| {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let lower = lo.map_or(Unbounded, Included);
        let upper = match (below, hi) {
            (Some(b), Some(h)) if b <= h => Excluded(b),
            (Some(b), None) => Excluded(b),
            (_, Some(h)) => Included(h),
            (None, None) => Unbounded,
        };
        let empty = match (lower, upper) {
            (Included(l), Included(u)) => l > u,
            (Included(l), Excluded(u)) => l >= u,
            _ => false,
        };
        let r: Box<dyn DoubleEndedIterator<Item = &(NaiveDateTime, i64)>> = if empty {
            Box::new(std::iter::empty())
        } else {
            Box::new(store.by_start.range((lower, upper)))
        };
        r
    };
    let key = format!(
        "{user_filter:?}|{project:?}|{billable:?}|{include_active}|{start:?}|{end:?}|{per_page}"
    );
    let cached = store
        .cursors
        .get(&key)
        .filter(|c| c.generation == store.generation)
        .cloned();
    let total = match &cached {
        Some(c) => c.total,
        None => range(None)
            .filter(|(_, id)| store.entries.get(id).is_some_and(matches))
            .count() as i64,
    };
    let mut items = Vec::with_capacity(per_page as usize);
    let mut last = None;
    let resume = cached
        .as_ref()
        .filter(|c| c.next_page == page)
        .map(|c| c.after);
    let skip = match resume {
        Some(_) => 0,
        None => ((page - 1) * per_page) as usize,
    };
    for k in range(resume.flatten())
        .rev()
        .filter(|(_, id)| store.entries.get(id).is_some_and(matches))
        .skip(skip)
        .take(per_page as usize)
    {
        if let Some(e) = store.entries.get(&k.1) {
            items.push(json::listed_entry(store, e));
        }
        last = Some(*k);
    }
    #[derive(serde::Serialize)]
    struct Out<'a> {
        pagination: Value,
        time_entries: &'a [json::ListedEntry<'a>],
    }
    let body = serde_json::to_vec(&Out {
        pagination: json::pagination(page, per_page, total),
        time_entries: &items,
    })
    .unwrap_or_default();
    drop(items);
    if let Some(after) = last {
        store.cursors.insert(
            key,
            ListCursor {
                generation: store.generation,
                total,
                next_page: page + 1,
                after: Some(after),
            },
        );
    }
    Resp {
        status: 200,
        body: Body::RawJson(body),
        headers: Vec::new(),
        drop_connection: false,
    }
}

fn visible(e: &EntryRec, caller: &Caller) -> bool {
    caller.admin || e.user_id == caller.user_id
}

pub fn get(store: &Store, caller: &Caller, id: i64) -> Resp {
    match store.entries.get(&id) {
        None => Resp::json(404, error("not_found", "Resource not found")),
        Some(e) if !visible(e, caller) => forbidden(),
        Some(e) => Resp::json(200, json!({"time_entry": json::entry(store, e)})),
    }
}

/// The fields a time entry's create and update bodies both take (a create adds `user_id`,
/// an update `if_updated_at`); any other is an unknown field.
const ENTRY_FIELDS: [&str; 11] = [
    "project_id",
    "client_id",
    "task_id",
    "start_time",
    "end_time",
    "break_seconds",
    "notes",
    "tags",
    "billable",
    "paid",
    "invoice_number",
];

pub fn create(store: &mut Store, caller: &Caller, req: &Req) -> Resp {
    // Idempotency-Key: per token, at most 128 chars, only 201s stored, body not compared.
    let key = req
        .header("idempotency-key")
        .map(str::to_owned)
        .filter(|k| !k.is_empty() && k.len() <= 128);
    if let Some(k) = &key {
        if let Some((status, body)) = store.replay_idempotent(&caller.token, k) {
            return Resp::json(status, body);
        }
    }
    let body = match req.json_object() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut f = Fields::default();
    f.unknown(&body, &[ENTRY_FIELDS.as_slice(), &["user_id"]].concat());
    let project_id = f.int(&body, "project_id");
    let client_id = f.int(&body, "client_id");
    let task_id = f.int(&body, "task_id");
    let start = f.datetime(&body, "start_time");
    if !body.contains_key("start_time") {
        f.fail("start_time", "Missing data for required field.");
    }
    let end = f.datetime(&body, "end_time");
    let break_seconds = f.int(&body, "break_seconds");
    let notes = f.string(&body, "notes", 5000);
    let tags = f.string(&body, "tags", 500);
    let billable = f.boolean(&body, "billable");
    let paid = f.boolean(&body, "paid");
    let invoice_number = f.string(&body, "invoice_number", 100);
    let user_id = f.int(&body, "user_id");
    if task_id.is_some() && store.opts.bug_task_id_on_create {
        // marshmallow 3 never passes `data` to the @validates hook: always fails.
        f.fail(
            "task_id",
            "task_id can only be set when project_id is provided",
        );
    } else if task_id.is_some() && project_id.is_none() {
        f.fail(
            "task_id",
            "task_id can only be set when project_id is provided",
        );
    }
    if !f.errors.is_empty() {
        return Resp::json(400, validation(f.errors));
    }
    let Some(start) = start else {
        return Resp::json(400, validation(Map::new()));
    };
    let owner = match user_id {
        Some(u) if u != caller.user_id => {
            if !caller.admin {
                return forbidden();
            }
            match store.users.get(&u) {
                Some(usr) if usr.is_active => u,
                _ => return bad("Invalid user"),
            }
        }
        _ => caller.user_id,
    };
    let (mode, tz) = (store.opts.aware_body_times, store.opts.timezone);
    let start = start.stored(mode, tz);
    let end = match end {
        Some(e) => Some(e.stored(mode, tz)),
        None if store.opts.bug_end_time_defaults_to_start => Some(start),
        None => None,
    };
    if project_id.is_none() && client_id.is_none() {
        return bad("Either project_id or client_id is required");
    }
    if let Some(p) = project_id {
        if !store.projects.contains_key(&p) {
            return bad("Invalid project");
        }
    } else if let Some(c) = client_id {
        if !store.clients.contains_key(&c) {
            return bad("Invalid client");
        }
    }
    if let Some(t) = task_id {
        if store.tasks.get(&t).map(|t| Some(t.project_id)) != Some(project_id) {
            return bad("Invalid task for the selected project");
        }
    }
    if let Some(end) = end {
        if end <= start {
            return bad("End time must be after start time");
        }
        if store.opts.reject_overlaps && store.overlaps(owner, start, end, None) {
            return bad(OVERLAP);
        }
    }
    let now = store.local_naive();
    let id = store.next_id("entries");
    let e = EntryRec {
        id,
        user_id: owner,
        project_id,
        client_id: if project_id.is_some() {
            None
        } else {
            client_id
        },
        task_id,
        start,
        end,
        break_seconds: break_seconds.unwrap_or(0).max(0),
        paused_at: None,
        notes,
        tags,
        source: "manual",
        billable: billable.unwrap_or(true),
        paid: paid.unwrap_or(false),
        invoice_number,
        created_at: now,
        updated_at: now,
        overrides: Map::new(),
    };
    store.insert_entry(e.clone());
    log_entry_activity(store, caller.user_id, "created", &e, None);
    let body =
        json!({"message": "Time entry created successfully", "time_entry": json::entry(store, &e)});
    if let Some(k) = key {
        store.remember_idempotent(&caller.token, &k, 201, &body);
    }
    Resp::json(201, body)
}

fn entry_target_name(
    store: &Store,
    e: &EntryRec,
) -> (Option<String>, Option<String>, Option<String>) {
    (
        e.client_id
            .and_then(|c| store.clients.get(&c))
            .map(|c| c.name.clone()),
        e.project_id
            .and_then(|p| store.projects.get(&p))
            .map(|p| p.name.clone()),
        e.task_id
            .and_then(|t| store.tasks.get(&t))
            .map(|t| t.name.clone()),
    )
}

pub(super) fn log_entry_activity(
    store: &mut Store,
    user_id: i64,
    action: &str,
    e: &EntryRec,
    reason: Option<String>,
) {
    let (client, project, task) = entry_target_name(store, e);
    let name = project.clone().or(client.clone()).unwrap_or_default();
    let verb = match action {
        "created" => "Created",
        "updated" => "Updated",
        _ => "Deleted",
    };
    let (description, extra) = if action == "deleted" {
        let dur = e.duration_seconds().unwrap_or(0);
        let formatted = format!("{:02}:{:02}:{:02}", dur / 3600, (dur % 3600) / 60, dur % 60);
        (
            format!("{verb} time entry for {name} - {formatted}"),
            json!({"client_name": client, "duration_formatted": formatted, "project_name": project, "reason": reason}),
        )
    } else {
        (
            format!("{verb} time entry for {name}"),
            json!({"client_name": client, "project_name": project, "task_name": task}),
        )
    };
    store.log_activity(user_id, action, e.id, &name, description, extra);
}

pub fn update(store: &mut Store, caller: &Caller, req: &Req, id: i64) -> Resp {
    let body = match req.json_object() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut f = Fields::default();
    f.unknown(
        &body,
        &[ENTRY_FIELDS.as_slice(), &["if_updated_at"]].concat(),
    );
    let project_id = f.int(&body, "project_id");
    let client_id = f.int(&body, "client_id");
    let task_id = f.int(&body, "task_id");
    let start = f.datetime(&body, "start_time");
    let end = f.datetime(&body, "end_time");
    let break_seconds = f.int(&body, "break_seconds");
    let notes = f.string(&body, "notes", 5000);
    let tags = f.string(&body, "tags", 500);
    let billable = f.boolean(&body, "billable");
    let paid = f.boolean(&body, "paid");
    let invoice_number = f.string(&body, "invoice_number", 100);
    let if_updated_at = f.datetime(&body, "if_updated_at");
    if !f.errors.is_empty() {
        return Resp::json(400, validation(f.errors));
    }
    let Some(current) = store.entries.get(&id).cloned() else {
        return bad("Time entry not found");
    };
    if !visible(&current, caller) {
        return bad("Access denied");
    }
    if let Some(expected) = if_updated_at {
        let expected = match expected {
            BodyTime::Naive(n) => n,
            BodyTime::Aware(a) => {
                if store.opts.bug_aware_if_updated_at_500 {
                    // naive - aware: TypeError → 500 internal_error.
                    return Resp::json(500, error("internal_error", "An internal error occurred"));
                }
                a.with_timezone(&store.opts.timezone).naive_local()
            }
        };
        let drift = (current.updated_at - expected).num_milliseconds().abs();
        if drift > store.opts.if_updated_at_tolerance_ms {
            return Resp::json(
                409,
                error(
                    "conflict",
                    "Time entry was modified on the server. Refresh and try again.",
                ),
            );
        }
    }
    let (mode, tz) = (store.opts.aware_body_times, store.opts.timezone);
    let mut e = current.clone();
    if let Some(p) = project_id {
        if !store.projects.contains_key(&p) {
            return bad("Invalid project");
        }
        e.project_id = Some(p);
        e.client_id = None;
    }
    if let Some(c) = client_id {
        if !store.clients.contains_key(&c) {
            return bad("Invalid client");
        }
        e.client_id = Some(c);
        e.project_id = None;
        e.task_id = None;
    }
    if let Some(t) = task_id {
        match (store.tasks.get(&t), e.project_id) {
            (Some(task), Some(p)) if task.project_id == p => e.task_id = Some(t),
            (_, None) => return bad("A task can only be set on an entry with a project"),
            _ => return bad("Invalid task for the selected project"),
        }
    }
    if let Some(s) = start {
        e.start = s.stored(mode, tz);
    }
    if let Some(end) = end {
        if current.end.is_none() {
            return bad("Cannot set the end time of an active timer; stop the timer instead");
        }
        e.end = Some(end.stored(mode, tz));
    }
    if let Some(b) = break_seconds {
        e.break_seconds = b.max(0);
    }
    if let Some(n) = notes {
        e.notes = Some(n);
    }
    if let Some(t) = tags {
        e.tags = Some(t);
    }
    if let Some(b) = billable {
        e.billable = b;
    }
    if let Some(p) = paid {
        e.paid = p;
    }
    if let Some(i) = invoice_number {
        e.invoice_number = Some(i);
    }
    if !store.opts.null_is_noop {
        let null = |k: &str| body.get(k).is_some_and(Value::is_null);
        if null("notes") {
            e.notes = None;
        }
        if null("tags") {
            e.tags = None;
        }
        if null("task_id") {
            e.task_id = None;
        }
    }
    if let Some(end) = e.end {
        if end <= e.start {
            return bad("End time must be after start time");
        }
        if store.opts.reject_overlaps && store.overlaps(e.user_id, e.start, end, Some(e.id)) {
            return bad(OVERLAP);
        }
    }
    e.updated_at = store.local_naive();
    store.replace_entry(e.clone());
    log_entry_activity(store, caller.user_id, "updated", &e, None);
    Resp::json(
        200,
        json!({"message": "Time entry updated successfully", "time_entry": json::entry(store, &e)}),
    )
}

pub fn delete(store: &mut Store, caller: &Caller, req: &Req, id: i64) -> Resp {
    let reason = req
        .json_object()
        .ok()
        .and_then(|b| b.get("reason").and_then(Value::as_str).map(str::to_owned));
    let Some(e) = store.entries.get(&id).cloned() else {
        return bad("Time entry not found");
    };
    if !visible(&e, caller) {
        return bad("Access denied");
    }
    if e.end.is_none() {
        return bad("Cannot delete an active time entry. Stop the timer first.");
    }
    delete_entry(
        store,
        Some(caller.user_id),
        id,
        reason,
        "/api/v1/time-entries",
    );
    Resp::json(200, json!({"message": "Time entry deleted successfully"}))
}

/// Hard delete with the trail the real server leaves: two audit rows (ORM listener and
/// service) and one activity.
pub fn delete_entry(
    store: &mut Store,
    by: Option<i64>,
    id: i64,
    reason: Option<String>,
    path: &str,
) {
    let Some(e) = store.remove_entry(id) else {
        return;
    };
    let (client, project, task) = entry_target_name(store, &e);
    let owner = store.users.get(&e.user_id).map(|u| u.username.clone());
    let old = json!({
        "billable": e.billable, "client_id": e.client_id, "client_name": client,
        "created_at": json::ts(e.created_at), "duration_seconds": e.duration_seconds(),
        "end_time": json::ts_opt(e.end), "id": e.id, "invoice_number": e.invoice_number,
        "notes": e.notes, "paid": e.paid, "project_id": e.project_id, "project_name": project,
        "source": e.source, "start_time": json::ts(e.start), "tags": e.tags,
        "task_id": e.task_id, "task_name": task, "updated_at": json::ts(e.updated_at),
        "user_id": e.user_id, "user_name": owner,
    });
    let meta = json!({
        "client_id": e.client_id, "client_name": client, "created_at": json::ts(e.created_at),
        "project_id": e.project_id, "project_name": project, "task_id": e.task_id,
        "task_name": task, "user_id": e.user_id, "user_name": owner,
    });
    let target = project.clone().or(client.clone()).unwrap_or_default();
    let actor = by.and_then(|u| store.users.get(&u)).cloned();
    let dur = e.duration_seconds().unwrap_or(0);
    let formatted = format!("{:02}:{:02}:{:02}", dur / 3600, (dur % 3600) / 60, dur % 60);
    let now = json::ts(store.local_naive());
    let rows = [
        (
            format!(
                "Deleted timeentry '<TimeEntry {}: {} on {}>'",
                e.id,
                owner.clone().unwrap_or_default(),
                target
            ),
            format!(
                "<TimeEntry {}: {} on {}>",
                e.id,
                owner.clone().unwrap_or_default(),
                target
            ),
            None,
        ),
        (
            format!("Deleted time entry for {target} - {formatted}"),
            target.clone(),
            actor.clone(),
        ),
    ];
    for (description, entity_name, who) in rows {
        let row_id = store.audit_logs.len() as i64 + 1;
        let body = json!({
            "action": "deleted", "change_description": description, "created_at": now.clone(),
            "display_name": who.as_ref().map(|u| u.full_name.clone().unwrap_or_else(|| u.username.clone())),
            "entity_id": e.id, "entity_metadata": meta.clone(), "entity_name": entity_name,
            "entity_type": "TimeEntry", "field_name": Value::Null, "full_new_state": Value::Null,
            "full_old_state": old.clone(), "id": row_id, "ip_address": "127.0.0.1",
            "new_value": Value::Null, "old_value": Value::Null, "reason": reason.clone(),
            "request_path": format!("{path}/{}", e.id), "user_agent": "timeweave-sim",
            "user_id": who.as_ref().map(|u| u.id), "username": who.as_ref().map(|u| u.username.clone()),
        });
        store.audit_logs.push(super::store::LogRow {
            body,
            entity_type: "TimeEntry".into(),
            action: "deleted".into(),
            user_id: who.as_ref().map(|u| u.id),
            at: store.now_utc(),
        });
    }
    if let Some(by) = by {
        log_entry_activity(store, by, "deleted", &e, reason);
    }
}

// ----- timer ---------------------------------------------------------------------------

pub fn timer_status(store: &Store, caller: &Caller) -> Resp {
    match store.active_timer(caller.user_id) {
        Some(e) => Resp::json(200, json!({"active": true, "timer": json::entry(store, e)})),
        None => Resp::json(200, json!({"active": false, "timer": null})),
    }
}

pub fn timer_start(store: &mut Store, caller: &Caller, req: &Req) -> Resp {
    let body = match req.json_object() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut f = Fields::default();
    let project_id = f.int(&body, "project_id");
    let task_id = f.int(&body, "task_id");
    let notes = f.string(&body, "notes", 5000);
    if !f.errors.is_empty() {
        return Resp::json(400, validation(f.errors));
    }
    let Some(project_id) = project_id else {
        return Resp::json(400, error("validation_error", "project_id is required"));
    };
    if store.opts.single_active_timer && store.active_timer(caller.user_id).is_some() {
        return Resp::json(
            409,
            error(
                "timer_already_running",
                "You already have an active timer. Stop it before starting a new one.",
            ),
        );
    }
    let Some(project) = store.projects.get(&project_id).cloned() else {
        return bad("Invalid project");
    };
    match project.status.as_str() {
        "archived" => {
            return bad(
                "Cannot start timer for an archived project. Please unarchive the project first.",
            )
        }
        "inactive" => return bad("Cannot start timer for an inactive project"),
        _ => {}
    }
    if let Some(t) = task_id {
        if store.tasks.get(&t).map(|t| t.project_id) != Some(project_id) {
            return bad("Invalid task for the selected project");
        }
    }
    let now = store.local_naive();
    let id = store.next_id("entries");
    let e = EntryRec {
        id,
        user_id: caller.user_id,
        project_id: Some(project_id),
        client_id: None,
        task_id,
        start: now,
        end: None,
        break_seconds: 0,
        paused_at: None,
        notes,
        tags: None,
        source: "auto",
        billable: project.billable,
        paid: false,
        invoice_number: None,
        created_at: now,
        updated_at: now,
        overrides: Map::new(),
    };
    store.insert_entry(e.clone());
    if store.opts.activities_from_api_timer {
        log_entry_activity(store, caller.user_id, "started", &e, None);
    }
    Resp::json(
        201,
        json!({"message": "Timer started successfully", "timer": json::entry(store, &e)}),
    )
}

pub fn timer_action(store: &mut Store, caller: &Caller, action: &str) -> Resp {
    let Some(mut e) = store.active_timer(caller.user_id).cloned() else {
        let msg = match action {
            "stop" => "No active timer to stop",
            "pause" => "No active timer to pause",
            _ => "No active timer to resume",
        };
        return Resp::json(400, error("no_active_timer", msg));
    };
    let now = store.local_naive();
    let settle_pause = |e: &mut EntryRec| {
        if let Some(p) = e.paused_at.take() {
            e.break_seconds += (now - p).num_seconds().max(0);
        }
    };
    let message = match action {
        "pause" => {
            if e.paused_at.is_none() {
                e.paused_at = Some(now);
            }
            "Timer paused"
        }
        "resume" => {
            settle_pause(&mut e);
            "Timer resumed"
        }
        _ => {
            settle_pause(&mut e);
            e.end = Some(now);
            "Timer stopped successfully"
        }
    };
    e.updated_at = store.local_naive();
    store.replace_entry(e.clone());
    if store.opts.activities_from_api_timer {
        let verb = if action == "stop" {
            "stopped"
        } else {
            "updated"
        };
        log_entry_activity(store, caller.user_id, verb, &e, None);
    }
    Resp::json(
        200,
        json!({"message": message, "time_entry": json::entry(store, &e)}),
    )
}
