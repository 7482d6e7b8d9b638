//! The simulator's `to_dict()`: the exact JSON the real server produces for each object
//! (spec §4, checked against the recorded samples), plus the envelopes and error bodies.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::store::{ClientRec, EntryRec, ProjectRec, Store, TaskRec, User};
use timeweave_timetracker::time::format_naive;

pub fn ts(t: NaiveDateTime) -> Value {
    Value::String(format_naive(t))
}

pub fn ts_opt(t: Option<NaiveDateTime>) -> Value {
    t.map(ts).unwrap_or(Value::Null)
}

fn hms(secs: i64) -> String {
    let secs = secs.max(0);
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// A naive timestamp serialised like `isoformat()`.
pub struct Ts(pub NaiveDateTime);

impl Serialize for Ts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_naive(self.0))
    }
}

/// `round(duration/3600, 2)`, or Python's int `0` when the duration is null or zero.
pub enum Hours {
    Zero,
    Value(f64),
}

impl Serialize for Hours {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Hours::Zero => s.serialize_i64(0),
            Hours::Value(v) => s.serialize_f64(*v),
        }
    }
}

/// `TimeEntry.to_dict()`, serialised straight from the record (listing hot path).
#[derive(Serialize)]
pub struct EntryOut<'a> {
    billable: bool,
    break_seconds: i64,
    client: Option<&'a str>,
    client_id: Option<i64>,
    created_at: Ts,
    duration_formatted: String,
    duration_hours: Hours,
    duration_seconds: Option<i64>,
    end_time: Option<Ts>,
    id: i64,
    invoice_number: Option<&'a str>,
    is_active: bool,
    notes: Option<&'a str>,
    paid: bool,
    paused_at: Option<Ts>,
    project: Option<&'a str>,
    project_id: Option<i64>,
    source: &'a str,
    start_time: Ts,
    tag_list: Vec<&'a str>,
    tags: Option<&'a str>,
    task: Option<&'a str>,
    task_id: Option<i64>,
    updated_at: Ts,
    user: Option<&'a str>,
    user_id: i64,
}

pub fn entry_out<'a>(store: &'a Store, e: &'a EntryRec) -> EntryOut<'a> {
    let duration = e.duration_seconds();
    let live = match e.end {
        Some(_) => duration.unwrap_or(0),
        None => {
            let until = e.paused_at.unwrap_or_else(|| store.local_naive());
            ((until - e.start).num_seconds() - e.break_seconds).max(0)
        }
    };
    EntryOut {
        billable: e.billable,
        break_seconds: e.break_seconds,
        client: e
            .client_id
            .and_then(|c| store.clients.get(&c))
            .map(|c| c.name.as_str()),
        client_id: e.client_id,
        created_at: Ts(e.created_at),
        duration_formatted: hms(live),
        duration_hours: match duration {
            Some(d) if d != 0 => Hours::Value(((d as f64 / 3600.0) * 100.0).round() / 100.0),
            _ => Hours::Zero,
        },
        duration_seconds: duration,
        end_time: e.end.map(Ts),
        id: e.id,
        invoice_number: e.invoice_number.as_deref(),
        is_active: e.end.is_none(),
        notes: e.notes.as_deref(),
        paid: e.paid,
        paused_at: e.paused_at.map(Ts),
        project: e
            .project_id
            .and_then(|p| store.projects.get(&p))
            .map(|p| p.name.as_str()),
        project_id: e.project_id,
        source: e.source,
        start_time: Ts(e.start),
        tag_list: e
            .tags
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect(),
        tags: e.tags.as_deref(),
        task: e
            .task_id
            .and_then(|t| store.tasks.get(&t))
            .map(|t| t.name.as_str()),
        task_id: e.task_id,
        updated_at: Ts(e.updated_at),
        user: store.users.get(&e.user_id).map(|u| u.username.as_str()),
        user_id: e.user_id,
    }
}

/// An entry as listed: straight from the record, or as a `Value` when a test hook replaced
/// some of its fields.
#[derive(Serialize)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // one short-lived page of these; boxing would only allocate
pub enum ListedEntry<'a> {
    Direct(EntryOut<'a>),
    Patched(Value),
}

pub fn listed_entry<'a>(store: &'a Store, e: &'a EntryRec) -> ListedEntry<'a> {
    if e.overrides.is_empty() {
        ListedEntry::Direct(entry_out(store, e))
    } else {
        ListedEntry::Patched(entry(store, e))
    }
}

pub fn entry(store: &Store, e: &EntryRec) -> Value {
    let mut v = serde_json::to_value(entry_out(store, e)).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        for (k, val) in &e.overrides {
            map.insert(k.clone(), val.clone());
        }
    }
    v
}

pub fn client(store: &Store, c: &ClientRec) -> Value {
    let projects: Vec<&ProjectRec> = store
        .projects
        .values()
        .filter(|p| p.client_id == c.id)
        .collect();
    json!({
        "active_projects": projects.iter().filter(|p| p.status == "active").count(),
        "address": c.address,
        "contact_person": c.contact_person,
        "created_at": ts(c.created_at),
        "custom_fields": c.custom_fields,
        "default_hourly_rate": c.default_hourly_rate,
        "description": c.description,
        "email": c.email,
        "id": c.id,
        "is_active": c.status == "active",
        "name": c.name,
        "phone": c.phone,
        "prepaid_hours_monthly": Value::Null,
        "prepaid_reset_day": 1,
        "status": c.status,
        "total_projects": projects.len(),
        "updated_at": ts(c.updated_at),
    })
}

/// `code_display`: the code, or the first four letters/digits of the name, upper-cased.
fn code_display(p: &ProjectRec) -> String {
    match &p.code {
        Some(c) => c.clone(),
        None => p
            .name
            .chars()
            .filter(|c| c.is_alphanumeric())
            .take(4)
            .collect::<String>()
            .to_uppercase(),
    }
}

pub fn project(store: &Store, p: &ProjectRec) -> Value {
    let client = store.clients.get(&p.client_id);
    json!({
        "archived_at": ts_opt(p.archived_at),
        "archived_by": p.archived_by,
        "archived_reason": p.archived_reason,
        "billable": p.billable,
        "billing_ref": p.billing_ref,
        "budget_amount": p.budget_amount,
        "budget_consumed_amount": 0.0,
        "budget_threshold_exceeded": false,
        "budget_threshold_percent": 80,
        "client": client.map(|c| c.name.clone()),
        "client_id": p.client_id,
        "code": p.code,
        "code_display": code_display(p),
        "color": Value::Null,
        "created_at": ts(p.created_at),
        "custom_fields": {},
        "description": p.description,
        "estimated_cost": Value::Null,
        "estimated_hours": p.estimated_hours,
        "hourly_rate": p.hourly_rate,
        "id": p.id,
        "is_archived": p.status == "archived",
        "name": p.name,
        "status": p.status,
        "total_billable_costs": 0.0,
        "total_billable_hours": 0.0,
        "total_costs": 0.0,
        "total_hours": 0.0,
        "total_project_value": 0.0,
        "updated_at": ts(p.updated_at),
    })
}

fn title(s: &str) -> String {
    s.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn task(store: &Store, t: &TaskRec) -> Value {
    let status_display = match t.status.as_str() {
        "todo" => "To Do".to_owned(),
        other => title(other),
    };
    let tag_list: Vec<String> = t
        .tags
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let creator = store.users.get(&t.created_by).map(|u| u.username.clone());
    let assigned = t
        .assigned_to
        .and_then(|a| store.users.get(&a))
        .map(|u| u.username.clone());
    let today = store.local_naive().date();
    let overdue = t
        .due_date
        .as_deref()
        .and_then(timeweave_timetracker::time::parse_date)
        .is_some_and(|d| d < today && t.status != "done");
    json!({
        "assigned_to": t.assigned_to,
        "assigned_user": assigned,
        "completed_at": ts_opt(t.completed_at),
        "created_at": ts(t.created_at),
        "created_by": t.created_by,
        "creator": creator,
        "description": t.description,
        "due_date": t.due_date,
        "estimated_hours": t.estimated_hours,
        "id": t.id,
        "is_active": !matches!(t.status.as_str(), "done" | "cancelled"),
        "is_overdue": overdue,
        "name": t.name,
        "priority": t.priority,
        "priority_class": format!("priority-{}", t.priority),
        "priority_display": title(&t.priority),
        "progress_percentage": if t.status == "done" { 100.0 } else { 0.0 },
        "project_id": t.project_id,
        "started_at": ts_opt(t.started_at),
        "status": t.status,
        "status_display": status_display,
        "tag_list": tag_list,
        "tags": t.tags,
        "total_billable_hours": 0.0,
        "total_hours": 0.0,
        "updated_at": ts(t.updated_at),
    })
}

pub fn user(store: &Store, u: &User) -> Value {
    json!({
        "avatar_url": Value::Null,
        "created_at": ts(u.created_at),
        "date_format": "YYYY-MM-DD",
        "display_name": u.full_name.clone().unwrap_or_else(|| u.username.clone()),
        "email": u.email,
        "full_name": u.full_name,
        "id": u.id,
        "is_active": u.is_active,
        "last_login": Value::Null,
        "overtime_include_weekends": true,
        "role": u.role,
        "standard_hours_per_day": 8.0,
        "status": "offline",
        "time_format": "24h",
        "timezone": store.opts.timezone.name(),
        "total_hours": 0.0,
        "username": u.username,
    })
}

pub const MODULES: [&str; 41] = [
    "workflows",
    "time_approvals",
    "activity_feed",
    "recurring_tasks",
    "team_chat",
    "client_portal",
    "kiosk",
    "analytics",
    "auth",
    "main",
    "projects",
    "timer",
    "tasks",
    "clients",
    "quotes",
    "contacts",
    "deals",
    "leads",
    "reports",
    "custom_reports",
    "scheduled_reports",
    "invoices",
    "invoice_approvals",
    "recurring_invoices",
    "payments",
    "payment_gateways",
    "expenses",
    "mileage",
    "per_diem",
    "budget_alerts",
    "inventory",
    "project_templates",
    "gantt",
    "kanban",
    "issues",
    "calendar",
    "weekly_goals",
    "time_entry_templates",
    "integrations",
    "import_export",
    "saved_filters",
];

pub fn info(store: &Store) -> Value {
    let e = |p: &str| format!("/api/v1/{p}");
    json!({
        "api_version": "v1",
        "app_version": "5.10.0",
        "authentication": "API Token (Bearer or X-API-Key header)",
        "documentation_url": "/api/docs",
        "enabled_modules": MODULES.to_vec(),
        "endpoints": {
            "activities": e("activities"), "ai": e("ai/chat"), "audit_logs": e("audit-logs"),
            "budget_alerts": e("budget-alerts"), "calendar_events": e("calendar/events"),
            "capacity_report": e("reports/capacity"),
            "client_invoice_unbilled": e("clients/<client_id>/invoice-unbilled"),
            "client_notes": e("clients/<client_id>/notes"), "clients": e("clients"),
            "comments": e("comments"),
            "compliance_reports": {
                "audit_events": e("reports/compliance/audit-events"),
                "locked_periods": e("reports/compliance/locked-periods")
            },
            "contacts": e("clients/<client_id>/contacts"), "credit_notes": e("credit-notes"),
            "currencies": e("currencies"), "deals": e("deals"),
            "exchange_rates": e("exchange-rates"), "expenses": e("expenses"),
            "favorites": e("users/me/favorites/projects"),
            "inventory": {
                "items": e("inventory/items"), "movements": e("inventory/movements"),
                "purchase_orders": e("inventory/purchase-orders"),
                "reports": {
                    "low_stock": e("inventory/reports/low-stock"),
                    "movement_history": e("inventory/reports/movement-history"),
                    "turnover": e("inventory/reports/turnover"),
                    "valuation": e("inventory/reports/valuation")
                },
                "stock_levels": e("inventory/stock-levels"), "suppliers": e("inventory/suppliers"),
                "transfers": e("inventory/transfers"), "warehouses": e("inventory/warehouses")
            },
            "invoice_pdf_templates": e("invoice-pdf-templates"),
            "invoice_templates": e("invoice-templates"), "invoices": e("invoices"),
            "issues": e("issues"), "kanban_columns": e("kanban/columns"), "leads": e("leads"),
            "mileage": e("mileage"), "mileage_gps": e("mileage/gps"), "payments": e("payments"),
            "payroll_export": e("exports/payroll"), "per_diem_rates": e("per-diem-rates"),
            "per_diems": e("per-diems"), "project_costs": e("projects/<project_id>/costs"),
            "projects": e("projects"), "recurring_invoices": e("recurring-invoices"),
            "reports": e("reports"), "saved_filters": e("saved-filters"), "search": e("search"),
            "tasks": e("tasks"), "tax_rules": e("tax-rules"), "time_entries": e("time-entries"),
            "time_entry_approvals": e("time-entry-approvals"),
            "time_entry_templates": e("time-entry-templates"),
            "time_off": {
                "balances": e("time-off/balances"), "holidays": e("time-off/holidays"),
                "leave_types": e("time-off/leave-types"), "requests": e("time-off/requests")
            },
            "timesheet_periods": e("timesheet-periods"), "timesheet_policy": e("timesheet-policy"),
            "users": e("users"), "webhooks": e("webhooks")
        },
        "setup_required": store.opts.setup_required,
        "timezone": store.opts.timezone.name(),
    })
}

/// The pagination object (`api_v1_common.py:9-29`).
pub fn pagination(page: i64, per_page: i64, total: i64) -> Value {
    let pages = if per_page > 0 && total > 0 {
        (total + per_page - 1) / per_page
    } else {
        0
    };
    let has_next = page < pages;
    let has_prev = page > 1;
    json!({
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": pages,
        "has_next": has_next,
        "has_prev": has_prev,
        "next_page": if has_next { json!(page + 1) } else { Value::Null },
        "prev_page": if has_prev { json!(page - 1) } else { Value::Null },
    })
}

/// `{"success":false,"error","message","error_code"}` (`api_responses.py`).
pub fn error(code: &str, message: &str) -> Value {
    json!({"success": false, "error": message, "message": message, "error_code": code})
}

/// A marshmallow validation failure with per-field messages.
pub fn validation(errors: Map<String, Value>) -> Value {
    json!({
        "success": false,
        "error": "Validation failed",
        "message": "Validation failed",
        "error_code": "validation_error",
        "errors": errors,
    })
}
