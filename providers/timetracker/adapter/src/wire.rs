//! TimeTracker v1 JSON shapes, as the server's `to_dict()` produces them (spec §4) and as its
//! write schemas accept them. Only the fields timeweave reads are declared (unknown response
//! fields are ignored); request bodies carry only writable fields, because the server rejects
//! unknown keys with 400 (spec §5).
//!
//! List items are kept as raw `serde_json::Value`s by the envelopes, so one malformed record
//! becomes a `PageItem::Invalid` instead of failing the page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /api/v1/info` (no auth).
#[derive(Clone, Debug, Deserialize)]
pub struct Info {
    #[serde(default)]
    pub setup_required: bool,
    pub timezone: Option<String>,
    pub app_version: Option<String>,
    pub api_version: Option<String>,
}

/// `GET /api/v1/health` (no auth).
#[derive(Clone, Debug, Deserialize)]
pub struct Health {
    pub status: String,
    pub timestamp: String,
}

/// `POST /api/v1/auth/login` success.
#[derive(Clone, Debug, Deserialize)]
pub struct Login {
    pub token: String,
}

/// The `pagination` object of every list (spec §2).
#[derive(Clone, Debug, Deserialize)]
pub struct Pagination {
    pub page: i64,
    pub per_page: i64,
    pub total: Option<i64>,
    pub pages: Option<i64>,
    #[serde(default)]
    pub has_next: bool,
    pub next_page: Option<i64>,
}

/// `{"<plural>": [...], "pagination": {...}}`, items kept raw.
#[derive(Clone, Debug)]
pub struct ListPage {
    pub items: Vec<Value>,
    pub pagination: Pagination,
}

impl ListPage {
    /// Reads a list envelope whose array sits under `key`.
    pub fn parse(body: &[u8], key: &str) -> Result<ListPage, String> {
        let mut map: serde_json::Map<String, Value> = timeweave_http::read_json(body)?;
        let pagination = map
            .remove("pagination")
            .ok_or_else(|| "no `pagination` in the list envelope".to_owned())?;
        let pagination = timeweave_http::from_json_value(&pagination)
            .map_err(|why| format!("`pagination`: {why}"))?;
        let items = match map.remove(key) {
            Some(Value::Array(items)) => items,
            Some(_) => return Err(format!("`{key}` is not an array")),
            None => return Err(format!("no `{key}` array in the list envelope")),
        };
        Ok(ListPage { items, pagination })
    }

    /// Like `parse`, for lists whose envelope the spec does not pin down (`GET /users`):
    /// a bare array, or an object without `pagination`, is read as one complete page.
    pub fn parse_lenient(body: &[u8], key: &str) -> Result<ListPage, String> {
        let single = |items: Vec<Value>| ListPage {
            pagination: Pagination {
                page: 1,
                per_page: items.len() as i64,
                total: Some(items.len() as i64),
                pages: Some(1),
                has_next: false,
                next_page: None,
            },
            items,
        };
        match timeweave_http::read_json::<Value>(body)? {
            Value::Array(items) => Ok(single(items)),
            Value::Object(map) if !map.contains_key("pagination") => match map.get(key) {
                Some(Value::Array(items)) => Ok(single(items.clone())),
                _ => Err(format!("no `{key}` array in the list")),
            },
            _ => ListPage::parse(body, key),
        }
    }
}

/// A user (`/users/me` `user`, `/users` items).
#[derive(Clone, Debug, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: Option<String>,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub is_active: Option<bool>,
    pub timezone: Option<String>,
    /// Naive UTC; a reinstalled server's users are created anew.
    pub created_at: Option<String>,
}

/// `GET /users/me`.
#[derive(Clone, Debug, Deserialize)]
pub struct UserMe {
    pub user: User,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Client {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub is_active: Option<bool>,
    /// A string like `"85.50"` (unlike project rates, a float).
    pub default_hourly_rate: Option<String>,
    /// Naive UTC.
    pub updated_at: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub client_id: Option<i64>,
    #[serde(default)]
    pub billable: bool,
    pub hourly_rate: Option<f64>,
    pub status: Option<String>,
    pub is_archived: Option<bool>,
    /// Naive UTC.
    pub updated_at: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Task {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub status: Option<String>,
    /// String priority (`low|medium|high|urgent`), not the docs' integer.
    pub priority: Option<String>,
    /// Naive app-local.
    pub updated_at: Option<String>,
    /// Verbatim: tells this task from a later one reusing its id (SQLite, §6).
    pub created_at: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TimeEntry {
    pub id: i64,
    pub user_id: i64,
    pub project_id: Option<i64>,
    pub client_id: Option<i64>,
    pub task_id: Option<i64>,
    /// Naive app-local.
    pub start_time: String,
    /// Naive app-local; `null` while a timer runs.
    pub end_time: Option<String>,
    /// Net worked seconds; `null` while running.
    pub duration_seconds: Option<i64>,
    pub break_seconds: Option<i64>,
    pub notes: Option<String>,
    /// Comma-separated.
    pub tags: Option<String>,
    #[serde(default = "yes")]
    pub billable: bool,
    pub source: Option<String>,
    /// The project's name (denormalised), for a project booking.
    #[serde(default)]
    pub project: Option<String>,
    /// The client's name (denormalised), for a client-only booking.
    #[serde(default)]
    pub client: Option<String>,
    /// Naive app-local, verbatim for `if_updated_at`.
    pub updated_at: String,
    /// Verbatim: tells this entry from a later one reusing its id (SQLite, §6).
    pub created_at: Option<String>,
}

fn yes() -> bool {
    true
}

/// `GET /timer/status`.
#[derive(Clone, Debug, Deserialize)]
pub struct TimerStatus {
    pub active: bool,
    pub timer: Option<TimeEntry>,
}

/// `GET /audit-logs` (admin:all).
#[derive(Clone, Debug, Deserialize)]
pub struct AuditLogs {
    pub audit_logs: Vec<AuditLog>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AuditLog {
    pub id: i64,
    pub action: String,
    pub entity_type: String,
    pub entity_id: i64,
    pub full_old_state: Option<Value>,
    pub created_at: String,
}

/// `GET /activities` (read:reports).
#[derive(Clone, Debug, Deserialize)]
pub struct Activities {
    pub activities: Vec<Activity>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Activity {
    pub id: i64,
    pub action: String,
    pub entity_type: String,
    pub entity_id: i64,
    pub created_at: String,
}

/// Every error body: the standard envelope (`success:false`), auth errors (no `success`),
/// 405s with an integer `error_code`, the rate-limit body and the login failure.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ErrorBody {
    pub success: Option<bool>,
    pub error: Option<String>,
    pub message: Option<String>,
    /// A string code, or an integer (405).
    pub error_code: Option<Value>,
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    pub required_scope: Option<String>,
    /// The token's scopes, in a 403 for a missing scope (`scopes.split(",")`: untrimmed).
    pub available_scopes: Option<Vec<String>>,
    pub limit_per_minute: Option<i64>,
    pub limit_per_hour: Option<i64>,
}

impl ErrorBody {
    pub fn code(&self) -> Option<String> {
        match &self.error_code {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The human text: `error`, then `message`, then the per-field errors.
    pub fn text(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(e) = &self.error {
            parts.push(e.clone());
        }
        if let Some(m) = &self.message {
            if Some(m) != self.error.as_ref() {
                parts.push(m.clone());
            }
        }
        if let Some(errors) = &self.errors {
            for (field, msgs) in errors {
                parts.push(format!("{field}: {}", msgs.join("; ")));
            }
        }
        parts.join(" — ")
    }
}

/// `POST /time-entries` body (`TimeEntryCreateSchema`): never `task_id` (server bug), never
/// read-only fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EntryCreate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<i64>,
    pub start_time: String,
    pub end_time: String,
    pub break_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    pub billable: bool,
    /// Admin-only: books for another user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
}

/// `PUT|PATCH /time-entries/{id}` body. `null` is a no-op on the server, so absent fields are
/// omitted and cleared text is sent as `""`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EntryPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_updated_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClientCreate {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectCreate {
    pub name: String,
    pub client_id: i64,
    pub billable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hourly_rate: Option<f64>,
}

/// `PUT /projects/{id}`: the server copies these onto the row (`billable` is not among the
/// fields it takes on update, spec §5).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectUpdate {
    pub name: String,
    pub client_id: i64,
    /// Always sent: `null` clears the rate (the server copies the value onto the row).
    pub hourly_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
}

/// `POST /tasks`: never `due_date` (400 on SQLite servers).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskCreate {
    pub name: String,
    pub project_id: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TaskPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
}

/// `{"message": "..."}` (deletes, project archive).
#[derive(Clone, Debug, Deserialize)]
pub struct Message {
    pub message: String,
}
