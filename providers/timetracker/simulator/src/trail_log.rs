//! What the simulator writes to its audit log and activity feed, and the two routes that
//! read them (spec §5 "Deletion trail"; checked against v5.10.0's `app/utils/audit.py`
//! listener, `app/models/audit_log.py`, `app/models/activity.py` and `list_audit_logs` /
//! `list_activities` in `app/routes/api_v1.py`). The audit log gets a row for every change
//! of a tracked model (`created`; `updated` once per changed field; the two `deleted` rows
//! of an entry are written by `api_entries::delete_entry`), stamped app-local; activities
//! are written by the routes that call `Activity.log`, stamped UTC. Both routes answer the
//! newest `limit` rows, ordered by `created_at` desc, with no paging and no time filter.

use chrono::DateTime;
use chrono::Utc;
use serde_json::{json, Value};

use super::json;
use super::request::{Req, Resp};
use super::store::{EntryRec, LogRow, Store};

/// The entry columns the listener compares (its `EXCLUDED_FIELDS` leave out ids and times).
fn changed_entry_fields(old: &EntryRec, new: &EntryRec) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            fields.push(name);
        }
    };
    check("user_id", old.user_id != new.user_id);
    check("project_id", old.project_id != new.project_id);
    check("client_id", old.client_id != new.client_id);
    check("task_id", old.task_id != new.task_id);
    check("start_time", old.start != new.start);
    check("end_time", old.end != new.end);
    check("break_seconds", old.break_seconds != new.break_seconds);
    check("paused_at", old.paused_at != new.paused_at);
    check("notes", old.notes != new.notes);
    check("tags", old.tags != new.tags);
    check("billable", old.billable != new.billable);
    check("paid", old.paid != new.paid);
    check("invoice_number", old.invoice_number != new.invoice_number);
    fields
}

impl Store {
    /// An activity the web app writes for an entry made or edited there (as the admin).
    pub fn web_app_entry_activity(&mut self, action: &str, id: i64) {
        if let Some(e) = self.entries.get(&id).cloned() {
            super::api_entries::log_entry_activity(self, 1, action, &e, None);
        }
    }

    /// One audit row, as `AuditLog.log_change` writes it (the request's user, app-local time).
    pub fn audit(
        &mut self,
        entity_type: &str,
        action: &str,
        entity_id: i64,
        field: Option<&str>,
        old_state: Value,
    ) {
        let id = self.audit_logs.len() as i64 + 1;
        let user = self.actor.and_then(|u| self.users.get(&u)).cloned();
        let body = json!({
            "action": action,
            "change_description": format!("{} {} #{entity_id}", action, entity_type.to_lowercase()),
            "created_at": json::ts(self.local_naive()),
            "entity_id": entity_id, "entity_type": entity_type, "field_name": field,
            "full_old_state": old_state, "id": id,
            "user_id": user.as_ref().map(|u| u.id), "username": user.map(|u| u.username),
        });
        let at = self.now_utc();
        self.audit_logs.push(LogRow {
            body,
            entity_type: entity_type.into(),
            action: action.into(),
            user_id: self.actor,
            at,
        });
    }

    /// The audit rows of an entry written (`None` before: created).
    pub fn audit_entry(&mut self, old: Option<&EntryRec>, new: &EntryRec) {
        let Some(old) = old else {
            self.audit("TimeEntry", "created", new.id, None, Value::Null);
            return;
        };
        let state = json::entry(self, old);
        let fields = changed_entry_fields(old, new);
        if fields.is_empty() || !self.opts.audit_row_per_field {
            self.audit("TimeEntry", "updated", new.id, None, state);
            return;
        }
        for f in fields {
            self.audit("TimeEntry", "updated", new.id, Some(f), state.clone());
        }
    }
}

/// `limit` as the routes read it: `request.args.get("limit", type=int) or DEFAULT`, so a
/// missing, unreadable or zero value is the default; a negative one is SQLite's "no limit".
fn limit(req: &Req, default: usize) -> Option<usize> {
    match req.q("limit").and_then(|l| l.trim().parse::<i64>().ok()) {
        None | Some(0) => Some(default),
        Some(n) if n < 0 => None,
        Some(n) => Some(n as usize),
    }
}

/// Newest first by `created_at`; rows of the same instant newest written first.
fn newest_first<'a>(
    rows: &'a [LogRow],
    keep: impl Fn(&LogRow) -> bool,
    limit: Option<usize>,
) -> Vec<Value> {
    let mut picked: Vec<(DateTime<Utc>, usize, &'a LogRow)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| keep(r))
        .map(|(i, r)| (r.at, i, r))
        .collect();
    picked.sort_by_key(|&(at, i, _)| std::cmp::Reverse((at, i)));
    picked
        .into_iter()
        .take(limit.unwrap_or(usize::MAX))
        .map(|(_, _, r)| r.body.clone())
        .collect()
}

/// `GET /audit-logs?entity_type&user_id&action&limit` (admin:all; limit defaults to 100).
pub fn audit_logs(store: &Store, req: &Req) -> Resp {
    let et = req.q("entity_type").filter(|e| !e.is_empty());
    let action = req.q("action").filter(|a| !a.is_empty());
    let user = req
        .q("user_id")
        .and_then(|u| u.parse::<i64>().ok())
        .filter(|u| *u != 0);
    let rows = newest_first(
        &store.audit_logs,
        |r| {
            et.is_none_or(|e| r.entity_type == e)
                && action.is_none_or(|a| r.action == a)
                && user.is_none_or(|u| r.user_id == Some(u))
        },
        limit(req, 100),
    );
    Resp::json(200, json!({"audit_logs": rows}))
}

/// `GET /activities?entity_type&user_id&limit` (read:reports; limit defaults to 50).
pub fn activities(store: &Store, req: &Req) -> Resp {
    let et = req.q("entity_type").filter(|e| !e.is_empty());
    let user = req
        .q("user_id")
        .and_then(|u| u.parse::<i64>().ok())
        .filter(|u| *u != 0);
    let rows = newest_first(
        &store.activities,
        |r| et.is_none_or(|e| r.entity_type == e) && user.is_none_or(|u| r.user_id == Some(u)),
        limit(req, 50),
    );
    Resp::json(200, json!({"activities": rows}))
}
