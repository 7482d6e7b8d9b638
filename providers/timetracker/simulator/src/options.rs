//! Every switch of the simulator: each quirk of the real server (spec section in brackets) can
//! be turned off to test the adapter against a "fixed" server, and every assumption the
//! simulator makes where the spec is silent is named here.

use chrono_tz::Tz;

/// How body timestamps that carry `Z` or an offset are stored (spec §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwareBodyTimes {
    /// SQLite: the offset is silently dropped (`09:00Z` is stored as 09:00 local).
    DropOffset,
    /// PostgreSQL with the DB session zone equal to the app zone: converted to app-local.
    ConvertToAppZone,
}

#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The app time zone (`Settings.timezone`, seeded from `TZ`; default Europe/Rome) [§3].
    pub timezone: Tz,
    /// `installation.json` says setup is not complete: `/info` reports `setup_required:true`
    /// and every other call but `/health` and `POST /auth/login` is 302-redirected to the
    /// HTML setup wizard [§1].
    pub setup_required: bool,
    /// Per-token fixed-window quotas: calendar minute and calendar hour (defaults 100 and
    /// 1000, `API_TOKEN_RATE_LIMIT_PER_MINUTE/HOUR`) [§7].
    pub rate_limit_per_minute: u32,
    pub rate_limit_per_hour: u32,
    /// Whether the per-token rate limit is enforced at all (the real server always does).
    pub rate_limiting: bool,
    /// `POST /auth/login` is limited to 5 per minute per IP by Flask-Limiter [§1].
    pub login_limit_per_minute: u32,
    /// `POST /time-entries` rejects any `task_id` with a validation error (marshmallow 3
    /// `@validates` bug) [§5]. Off: `task_id` is accepted when it belongs to the project.
    pub bug_task_id_on_create: bool,
    /// `GET /clients/{id}` always answers 500 `database_error` in v5.10.0 (joinedload on a
    /// dynamic relationship, upstream #716) [§5]. Off: it answers `{"client":{...}}`.
    pub bug_client_get_500: bool,
    /// `POST /tasks` with `due_date` answers 400 "Could not create task due to a database
    /// error" on SQLite (PostgreSQL accepts it) [§5].
    pub bug_task_due_date_sqlite: bool,
    /// An aware `if_updated_at` (with `Z` or an offset) crashes with 500 `internal_error`
    /// (naive-minus-aware TypeError), on SQLite and PostgreSQL alike [§5].
    pub bug_aware_if_updated_at_500: bool,
    /// `POST /time-entries` without `end_time` defaults it to `start_time` and fails with
    /// "End time must be after start time" [§5]. Off: it creates a running entry, as the
    /// upstream docs (wrongly) claim.
    pub bug_end_time_defaults_to_start: bool,
    /// The time-entry list's `billable` filter: only `"true"` (any case) selects billable
    /// entries, any other value (even `1`) non-billable ones [§5]. Off: `1`/`yes` also mean true.
    pub bug_billable_filter: bool,
    /// The task list's hand-written paginator: uncapped `per_page`, 500 on `per_page=0`,
    /// nonsense totals on `page=0`, estimated totals after page 1 [§5]. Off: paged like the
    /// other lists.
    pub bug_task_paginator: bool,
    /// `null` in a time-entry update leaves the field unchanged; `""` is needed to clear
    /// [§5]. Off: `null` clears notes, tags and the task.
    pub null_is_noop: bool,
    /// The server rejects an entry overlapping a completed entry of the same user (400
    /// "overlaps") on create and update [§5].
    pub reject_overlaps: bool,
    /// How aware body times are stored [§3]. Default: SQLite (the samples' backend).
    pub aware_body_times: AwareBodyTimes,
    /// The optimistic-lock tolerance of `if_updated_at`, in milliseconds (2 s) [§5].
    pub if_updated_at_tolerance_ms: i64,
    /// SQLite tables without AUTOINCREMENT reuse the highest id after it is deleted [§6].
    /// Default on, as the samples' backend; off (PostgreSQL sequences): ids are never reused.
    pub sqlite_id_reuse: bool,
    /// Deleting a task gives the entries that referenced it a new `updated_at` as their
    /// `task_id` is nullified (observed on a real v5.10 server; the spec said otherwise).
    /// Off: `task_id` is nullified and `updated_at` left as it was.
    pub task_delete_bumps_entries: bool,
    /// The audit listener writes one `updated` row per changed column of an entry, so one
    /// edit can take several of the newest `limit` rows (`app/utils/audit.py`) [§5 trail].
    /// Off: one row per update.
    pub audit_row_per_field: bool,
    /// The API's `/timer/start|stop|pause|resume` write an activity (the web app's timer
    /// routes do; v5.10.0's API routes do not, so by default they leave no activity; the
    /// audit log has them either way) [§5 trail].
    pub activities_from_api_timer: bool,
    /// Deleting a task writes audit rows for the entries whose `task_id` it nulls. Not
    /// established (a bulk update would write none): off, the least helpful [§5 trail].
    pub audit_task_delete_nulling: bool,
    /// How long `Idempotency-Key` replays are kept (24 h) [§5].
    pub idempotency_ttl_secs: i64,
    /// `Settings.single_active_timer` (default on): a second `timer/start` is a 409 [§5].
    pub single_active_timer: bool,
    /// The cap on `per_page` of clients, projects and time entries (100). Tasks are uncapped
    /// (hand-written paginator) [§5].
    pub per_page_cap: i64,
    /// How long a `Fault::Timeout` holds the answer back, in milliseconds (set it above the
    /// client's timeout).
    pub timeout_fault_ms: u64,
    /// The admin user's password for `POST /auth/login`.
    pub admin_password: String,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            timezone: chrono_tz::Europe::Rome,
            setup_required: false,
            rate_limit_per_minute: 100,
            rate_limit_per_hour: 1000,
            rate_limiting: true,
            login_limit_per_minute: 5,
            bug_task_id_on_create: true,
            bug_client_get_500: true,
            bug_task_due_date_sqlite: true,
            bug_aware_if_updated_at_500: true,
            bug_end_time_defaults_to_start: true,
            bug_billable_filter: true,
            bug_task_paginator: true,
            null_is_noop: true,
            reject_overlaps: true,
            aware_body_times: AwareBodyTimes::DropOffset,
            if_updated_at_tolerance_ms: 2000,
            sqlite_id_reuse: true,
            task_delete_bumps_entries: true,
            audit_row_per_field: true,
            activities_from_api_timer: false,
            audit_task_delete_nulling: false,
            idempotency_ttl_secs: 24 * 3600,
            single_active_timer: true,
            per_page_cap: 100,
            timeout_fault_ms: 3000,
            admin_password: "admin-password-123".into(),
        }
    }
}

impl SimOptions {
    /// The least helpful server the evidence allows: every observed quirk and bug on, the
    /// real quotas enforced, ids reused (SQLite), aware times losing their offset, task
    /// deletes bumping entries, the 2 s `if_updated_at` tolerance. Spelled out rather than
    /// `default()`, so a default made friendlier later does not weaken the conformance runs.
    pub fn strictest() -> Self {
        SimOptions {
            setup_required: false,
            rate_limit_per_minute: 100,
            rate_limit_per_hour: 1000,
            rate_limiting: true,
            bug_task_id_on_create: true,
            bug_client_get_500: true,
            bug_task_due_date_sqlite: true,
            bug_aware_if_updated_at_500: true,
            bug_end_time_defaults_to_start: true,
            bug_billable_filter: true,
            bug_task_paginator: true,
            null_is_noop: true,
            reject_overlaps: true,
            aware_body_times: AwareBodyTimes::DropOffset,
            if_updated_at_tolerance_ms: 2000,
            sqlite_id_reuse: true,
            task_delete_bumps_entries: true,
            audit_row_per_field: true,
            activities_from_api_timer: false,
            audit_task_delete_nulling: false,
            single_active_timer: true,
            per_page_cap: 100,
            ..SimOptions::default()
        }
    }
}
