//! Simulated system, user, client, project, task and trail endpoints (spec §1, §5): `/info`,
//! `/health`, `/auth/login`, `/users[/me]`, clients (no update/delete, the GET-by-id 500),
//! projects (status filter defaulting to active, soft delete), tasks (the hand-written
//! paginator, the SQLite `due_date` bug, hard delete nullifying entries), audit logs and
//! activities.

use serde_json::{json, Value};

use super::api_entries::paging;
use super::json::{self, error, validation};
use super::request::{bad, forbidden, text, trimmed, Caller, Fields, Req, Resp};
use super::store::{ClientRec, ProjectRec, Store, TaskRec};

pub fn info(store: &Store) -> Resp {
    Resp::json(200, json::info(store))
}

pub fn health(store: &Store) -> Resp {
    Resp::json(
        200,
        json!({"status": "healthy", "timestamp": json::ts(store.local_naive())}),
    )
}

pub fn login(store: &mut Store, req: &Req) -> Resp {
    let minute = store.now_utc().timestamp().div_euclid(60);
    if store.login_window.0 != minute {
        store.login_window = (minute, 0);
    }
    store.login_window.1 += 1;
    if store.login_window.1 > store.opts.login_limit_per_minute {
        return Resp::json(429, json!({"error": "Too many requests"})).with_header(
            "Retry-After",
            (60 - store.now_utc().timestamp().rem_euclid(60)).to_string(),
        );
    }
    let body = req.json_object().unwrap_or_default();
    let username = body
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let password = body
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let user = store
        .users
        .values()
        .find(|u| u.username == username && u.is_active && u.password.as_deref() == Some(password))
        .cloned();
    match user {
        None => Resp::json(401, json!({"error": "Invalid username or password"})),
        Some(u) => {
            let scopes: &[&str] = if u.role == "admin" {
                &["admin:all"]
            } else {
                &["read:*", "write:*"]
            };
            let token = store.new_token(u.id, scopes);
            // API_TOKEN_DEFAULT_EXPIRY_DAYS = 90.
            let expires = store.now_utc() + chrono::Duration::days(90);
            if let Some(t) = store.tokens.get_mut(&token) {
                t.expires_at = Some(expires);
            }
            Resp::json(200, json!({"token": token}))
        }
    }
}

pub fn users_me(store: &Store, caller: &Caller) -> Resp {
    let Some(u) = store.users.get(&caller.user_id) else {
        return Resp::json(404, error("not_found", "Resource not found"));
    };
    Resp::json(
        200,
        json!({
            "enabled_modules": json::MODULES.to_vec(),
            "time_entry_requirements": {"description_min_length": 20, "require_description": false, "require_task": false},
            "user": json::user(store, u),
        }),
    )
}

/// `GET /users` (admin:all). Assumed envelope: `{"users":[...],"pagination":{...}}`.
pub fn users(store: &Store, req: &Req) -> Resp {
    let (page, per_page) = paging(req, 50, Some(store.opts.per_page_cap));
    let all: Vec<_> = store.users.values().collect();
    listed("users", &all, page, per_page, |u| json::user(store, u))
}

/// One page (`page` from 1) of `all` as `{"<key>": [...], "pagination": {...}}`, each
/// record drawn by `render`.
fn listed<T>(key: &str, all: &[T], page: i64, per_page: i64, render: impl Fn(&T) -> Value) -> Resp {
    let items: Vec<Value> = all
        .iter()
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .map(render)
        .collect();
    Resp::json(
        200,
        json!({key: items, "pagination": json::pagination(page, per_page, all.len() as i64)}),
    )
}

// ----- clients -------------------------------------------------------------------------

fn client_visible(store: &Store, caller: &Caller, c: &ClientRec) -> bool {
    caller.admin
        || c.created_by == caller.user_id
        || store
            .projects
            .values()
            .any(|p| p.client_id == c.id && p.created_by == caller.user_id)
}

pub fn clients(store: &Store, caller: &Caller, req: &Req) -> Resp {
    let (page, per_page) = paging(req, 50, Some(store.opts.per_page_cap));
    let mut all: Vec<&ClientRec> = store
        .clients
        .values()
        .filter(|c| client_visible(store, caller, c))
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    listed("clients", &all, page, per_page, |c| json::client(store, c))
}

pub fn client_get(store: &Store, caller: &Caller, id: i64) -> Resp {
    if store.opts.bug_client_get_500 {
        return Resp::json(500, error("database_error", "Database error occurred"));
    }
    match store.clients.get(&id) {
        Some(c) if client_visible(store, caller, c) => {
            Resp::json(200, json!({"client": json::client(store, c)}))
        }
        Some(_) => forbidden(),
        None => Resp::json(404, error("not_found", "Resource not found")),
    }
}

pub fn client_create(store: &mut Store, caller: &Caller, req: &Req) -> Resp {
    let body = match req.json_object() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = Some(trimmed(&body, "name")).filter(|n| !n.is_empty());
    let Some(name) = name else {
        let mut f = Fields::default();
        f.fail("name", "Client name is required");
        let mut v = validation(f.errors);
        v["error"] = json!("Client name is required");
        v["message"] = json!("Client name is required");
        return Resp::json(400, v);
    };
    if store.clients.values().any(|c| c.name == name) {
        return bad("A client with this name already exists");
    }
    let rate = match body.get("default_hourly_rate") {
        Some(Value::Number(n)) => n.as_f64().map(|r| format!("{r:.2}")),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().map(|r| format!("{r:.2}")),
        _ => None,
    };
    let s = |k: &str| text(&body, k);
    let now = store.utc_naive();
    let id = store.next_id("clients");
    let c = ClientRec {
        id,
        name,
        email: s("email"),
        description: None,
        contact_person: None,
        phone: s("phone"),
        address: s("address"),
        default_hourly_rate: rate,
        custom_fields: body
            .get("custom_fields")
            .cloned()
            .filter(Value::is_object)
            .unwrap_or(json!({})),
        status: "active".into(),
        created_by: caller.user_id,
        created_at: now,
        updated_at: now,
    };
    store.clients.insert(id, c.clone());
    store.audit("Client", "created", id, None, Value::Null);
    Resp::json(
        201,
        json!({"message": "Client created successfully", "client": json::client(store, &c)}),
    )
}

// ----- projects ------------------------------------------------------------------------

fn project_visible(caller: &Caller, p: &ProjectRec) -> bool {
    caller.admin || p.created_by == caller.user_id
}

pub fn projects(store: &Store, caller: &Caller, req: &Req) -> Resp {
    let (page, per_page) = paging(req, 50, Some(store.opts.per_page_cap));
    let status = req.q("status").unwrap_or("active");
    let client = req
        .q("client_id")
        .and_then(|c| c.trim().parse::<i64>().ok());
    let mut all: Vec<&ProjectRec> = store
        .projects
        .values()
        .filter(|p| project_visible(caller, p))
        .filter(|p| status == "all" || p.status == status)
        .filter(|p| client.is_none_or(|c| p.client_id == c))
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    listed("projects", &all, page, per_page, |p| {
        json::project(store, p)
    })
}

fn project_404(id: i64) -> Resp {
    Resp::json(
        404,
        error("not_found", &format!("Project with ID {id} not found")),
    )
}

pub fn project_get(store: &Store, caller: &Caller, id: i64) -> Resp {
    match store.projects.get(&id) {
        Some(p) if project_visible(caller, p) => {
            Resp::json(200, json!({"project": json::project(store, p)}))
        }
        Some(_) => forbidden(),
        None => project_404(id),
    }
}

pub fn project_create(store: &mut Store, caller: &Caller, req: &Req) -> Resp {
    let body = match req.json_object() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut f = Fields::default();
    let client_id = f.int(&body, "client_id");
    let hourly_rate = f.number(&body, "hourly_rate");
    let billable = f.boolean(&body, "billable");
    let budget_amount = f.number(&body, "budget_amount");
    if !f.errors.is_empty() {
        return Resp::json(400, validation(f.errors));
    }
    let name = trimmed(&body, "name");
    if name.is_empty() {
        let mut f = Fields::default();
        f.fail("name", "Project name is required");
        return Resp::json(400, validation(f.errors));
    }
    let Some(client_id) = client_id.filter(|c| store.clients.contains_key(c)) else {
        return bad("Invalid client");
    };
    if store
        .projects
        .values()
        .any(|p| p.client_id == client_id && p.name == name)
    {
        return bad("A project with this name already exists for this client");
    }
    let code = body
        .get("code")
        .and_then(Value::as_str)
        .map(|c| c.trim().to_uppercase())
        .filter(|c| !c.is_empty());
    if let Some(c) = &code {
        if store.projects.values().any(|p| p.code.as_ref() == Some(c)) {
            return bad("A project with this code already exists");
        }
    }
    let s = |k: &str| text(&body, k);
    let now = store.utc_naive();
    let id = store.next_id("projects");
    let p = ProjectRec {
        id,
        name,
        client_id,
        description: s("description"),
        billable: billable.unwrap_or(true),
        hourly_rate,
        code,
        status: "active".into(),
        estimated_hours: None,
        budget_amount,
        billing_ref: s("billing_ref"),
        created_by: caller.user_id,
        created_at: now,
        updated_at: now,
        archived_at: None,
        archived_by: None,
        archived_reason: None,
    };
    store.projects.insert(id, p.clone());
    store.audit("Project", "created", id, None, Value::Null);
    Resp::json(
        201,
        json!({"message": "Project created successfully", "project": json::project(store, &p)}),
    )
}

/// `ProjectService.update_project`: copies the listed fields straight onto the row.
pub fn project_update(store: &mut Store, caller: &Caller, req: &Req, id: i64) -> Resp {
    let body = match req.json_object() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let now = store.utc_naive();
    let Some(p) = store
        .projects
        .get_mut(&id)
        .filter(|p| project_visible(caller, p))
    else {
        return bad("Project not found");
    };
    let s = |k: &str| text(&body, k);
    let n = |k: &str| body.get(k).and_then(Value::as_f64);
    if let Some(v) = s("name") {
        p.name = v;
    }
    if body.contains_key("description") {
        p.description = s("description");
    }
    if let Some(c) = body.get("client_id").and_then(Value::as_i64) {
        p.client_id = c;
    }
    if body.contains_key("hourly_rate") {
        p.hourly_rate = n("hourly_rate");
    }
    if body.contains_key("estimated_hours") {
        p.estimated_hours = n("estimated_hours");
    }
    if let Some(v) = s("status") {
        // archived_at/archived_by are not cleared when a project is revived.
        p.status = v;
    }
    if body.contains_key("code") {
        p.code = s("code").map(|c| c.to_uppercase());
    }
    if body.contains_key("budget_amount") {
        p.budget_amount = n("budget_amount");
    }
    if body.contains_key("billing_ref") {
        p.billing_ref = s("billing_ref");
    }
    p.updated_at = now;
    let p = p.clone();
    store.audit("Project", "updated", id, None, Value::Null);
    store.touch();
    Resp::json(
        200,
        json!({"message": "Project updated successfully", "project": json::project(store, &p)}),
    )
}

pub fn project_delete(store: &mut Store, caller: &Caller, id: i64) -> Resp {
    if !store
        .projects
        .get(&id)
        .is_some_and(|p| project_visible(caller, p))
    {
        return project_404(id);
    }
    archive_project(store, id, Some(caller.user_id));
    Resp::json(200, json!({"message": "Project archived successfully"}))
}

pub fn archive_project(store: &mut Store, id: i64, by: Option<i64>) {
    let now = store.utc_naive();
    if let Some(p) = store.projects.get_mut(&id) {
        p.status = "archived".into();
        p.archived_at = Some(now);
        p.archived_by = by;
        p.archived_reason = Some("Archived via API".into());
        p.updated_at = now;
        store.audit("Project", "updated", id, Some("status"), Value::Null);
    }
    store.touch();
}

// ----- tasks ---------------------------------------------------------------------------

/// The hand-written paginator (`task_service.py:197-360`): uncapped `per_page`, 500 on
/// `per_page=0`, nonsense totals on `page=0`, estimated totals after page 1.
pub fn tasks(store: &Store, req: &Req) -> Resp {
    let quirky = store.opts.bug_task_paginator;
    let page = req
        .q("page")
        .and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(1);
    let per_page = req
        .q("per_page")
        .and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(50);
    if per_page == 0 && quirky {
        return Resp::json(500, error("internal_error", "An internal error occurred"));
    }
    let (page, per_page) = if quirky {
        (page, per_page.max(1))
    } else {
        paging(req, 50, Some(store.opts.per_page_cap))
    };
    let project = req
        .q("project_id")
        .and_then(|p| p.trim().parse::<i64>().ok());
    let status = req.q("status");
    let tag = req.q("tags");
    let mut all: Vec<&TaskRec> = store
        .tasks
        .values()
        .filter(|t| project.is_none_or(|p| t.project_id == p))
        .filter(|t| status.is_none_or(|s| t.status == s))
        .filter(|t| {
            tag.is_none_or(|g| {
                t.tags
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .any(|x| x.trim() == g)
            })
        })
        .collect();
    // priority desc (alphabetical: the column is a string), due_date asc, created_at asc.
    all.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.due_date.cmp(&b.due_date))
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id))
    });
    let offset = (page - 1) * per_page;
    let items: Vec<Value> = all
        .iter()
        .skip(offset.max(0) as usize)
        .take(per_page as usize)
        .map(|t| json::task(store, t))
        .collect();
    let has_more = (offset.max(0) + per_page) < all.len() as i64;
    let total = if page == 1 || !quirky {
        all.len() as i64
    } else {
        offset + items.len() as i64 + i64::from(has_more)
    };
    let pages = if total > 0 {
        (total + per_page - 1) / per_page
    } else {
        0
    };
    let pagination = json!({
        "page": page, "per_page": per_page, "total": total, "pages": pages,
        "has_next": has_more, "has_prev": page > 1,
        "next_page": if has_more { json!(page + 1) } else { Value::Null },
        "prev_page": if page > 1 { json!(page - 1) } else { Value::Null },
    });
    Resp::json(200, json!({"tasks": items, "pagination": pagination}))
}

pub fn task_get(store: &Store, id: i64) -> Resp {
    match store.tasks.get(&id) {
        Some(t) => Resp::json(200, json!({"task": json::task(store, t)})),
        None => Resp::json(404, error("not_found", "Task not found")),
    }
}

pub fn task_create(store: &mut Store, caller: &Caller, req: &Req) -> Resp {
    let body = match req.json_object() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut f = Fields::default();
    let project_id = f.int(&body, "project_id");
    let estimated_hours = f.number(&body, "estimated_hours");
    let assignee = f.int(&body, "assignee_id");
    let name = trimmed(&body, "name");
    if name.is_empty() {
        f.fail("name", "Missing data for required field.");
    }
    if project_id.is_none() && !f.errors.contains_key("project_id") {
        f.fail("project_id", "Missing data for required field.");
    }
    if !f.errors.is_empty() {
        return Resp::json(400, validation(f.errors));
    }
    let Some(project_id) = project_id.filter(|p| store.projects.contains_key(p)) else {
        return bad("Invalid project");
    };
    let due_date = text(&body, "due_date");
    if due_date.is_some() && store.opts.bug_task_due_date_sqlite {
        return bad("Could not create task due to a database error");
    }
    let s = |k: &str| text(&body, k);
    let now = store.local_naive();
    let id = store.next_id("tasks");
    let t = TaskRec {
        id,
        project_id,
        name,
        description: s("description"),
        status: "todo".into(),
        priority: s("priority").unwrap_or_else(|| "medium".into()),
        estimated_hours,
        due_date,
        assigned_to: assignee,
        created_by: caller.user_id,
        tags: s("tags"),
        created_at: now,
        updated_at: now,
        started_at: None,
        completed_at: None,
    };
    store.tasks.insert(id, t.clone());
    store.audit("Task", "created", id, None, Value::Null);
    Resp::json(
        201,
        json!({"message": "Task created successfully", "task": json::task(store, &t)}),
    )
}

pub fn task_update(store: &mut Store, req: &Req, id: i64) -> Resp {
    let body = match req.json_object() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let now = store.local_naive();
    let Some(t) = store.tasks.get_mut(&id) else {
        return bad("Task not found");
    };
    let s = |k: &str| text(&body, k);
    if let Some(v) = s("name") {
        t.name = v;
    }
    if body.contains_key("description") {
        t.description = s("description");
    }
    if let Some(v) = s("status") {
        if v == "done" && t.status != "done" {
            t.completed_at = Some(now);
        }
        t.status = v;
    }
    if let Some(v) = s("priority") {
        t.priority = v;
    }
    if body.contains_key("assignee_id") {
        t.assigned_to = body.get("assignee_id").and_then(Value::as_i64);
    }
    if body.contains_key("due_date") {
        t.due_date = s("due_date");
    }
    if body.contains_key("estimated_hours") {
        t.estimated_hours = body.get("estimated_hours").and_then(Value::as_f64);
    }
    if body.contains_key("tags") {
        t.tags = s("tags");
    }
    t.updated_at = now;
    let t = t.clone();
    store.audit("Task", "updated", id, None, Value::Null);
    store.touch();
    Resp::json(
        200,
        json!({"message": "Task updated successfully", "task": json::task(store, &t)}),
    )
}

pub fn task_delete(store: &mut Store, id: i64) -> Resp {
    if !store.tasks.contains_key(&id) {
        return Resp::json(404, error("not_found", "Task not found"));
    }
    delete_task(store, id);
    Resp::json(200, json!({"message": "Task deleted successfully"}))
}

/// Hard delete; entries referencing the task get `task_id = NULL` (SQLAlchemy nullifies the
/// foreign key), and with `task_delete_bumps_entries` (the real server) a new `updated_at`.
pub fn delete_task(store: &mut Store, id: i64) {
    if store.tasks.remove(&id).is_some() {
        store.audit("Task", "deleted", id, None, Value::Null);
    }
    let now = store.local_naive();
    let bump = store.opts.task_delete_bumps_entries;
    let affected: Vec<i64> = store
        .entries
        .values()
        .filter(|e| e.task_id == Some(id))
        .map(|e| e.id)
        .collect();
    for eid in affected {
        if let Some(e) = store.entries.get_mut(&eid) {
            e.task_id = None;
            if bump {
                e.updated_at = now;
            }
        }
        if store.opts.audit_task_delete_nulling {
            store.audit("TimeEntry", "updated", eid, Some("task_id"), Value::Null);
        }
    }
    store.touch();
}
