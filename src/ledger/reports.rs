//! Report queries: typed reads of the reporting views (`migrations/0002_reporting.sql`,
//! documented in `docs/ledger.md`) for `timeweave report`, `timeweave export`, the HTML
//! report and the demo. Every query reads the views, never the tables behind them, so the
//! commands see exactly what external readers see.

use chrono::NaiveDate;
use futures::{Stream, StreamExt};
use sqlx::Row;
use timeweave_contract::CanonicalId;

use super::row::ReadRow;
use super::sqlite::SqliteTx;
use super::store::ReportStore;
use super::{LedgerError, Result};

/// An inclusive range of local work dates (`work_date`, the entry's date in its own zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    pub(super) fn bounds(&self) -> (String, String) {
        (
            self.from.format("%Y-%m-%d").to_string(),
            self.to.format("%Y-%m-%d").to_string(),
        )
    }
}

/// What report totals are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TotalsBy {
    /// One row per person (by id; people with the same name stay apart).
    Person,
    /// One row per client (the entry's client, else its project's), and one for none.
    Client,
    /// One row per project, and one for entries without a project.
    Project,
    /// One row per local work date that has entries.
    Day,
    /// One row per Monday-to-Sunday week (of local work dates) that has entries.
    Week,
    /// One row per calendar month (of local work dates) that has entries.
    Month,
}

impl TotalsBy {
    /// The SQL of this grouping over `report_time_entries`: the group's label and detail
    /// columns, what it groups by and how its rows are ordered.
    fn sql_parts(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            TotalsBy::Person => (
                "person",
                "person_email",
                "person_id",
                "person COLLATE NOCASE, person_id",
            ),
            TotalsBy::Client => (
                "client",
                "NULL",
                "client_id",
                "client IS NULL, client COLLATE NOCASE, client_id",
            ),
            TotalsBy::Project => (
                "project",
                "client",
                "project_id",
                "project IS NULL, project COLLATE NOCASE, project_id",
            ),
            TotalsBy::Day => ("work_date", "NULL", "work_date", "work_date"),
            TotalsBy::Week => ("week_start", "NULL", "week_start", "week_start"),
            TotalsBy::Month => ("month", "NULL", "month", "month"),
        }
    }
}

/// One row of report totals.
#[derive(Clone, Debug, PartialEq)]
pub struct TotalRow {
    /// The group's name: person, client, project or date; `None` for "no client/project".
    pub label: Option<String>,
    /// A second column: the person's e-mail, or the project's client.
    pub detail: Option<String>,
    pub entries: i64,
    /// Running timers in the group (they count 0 hours until stopped).
    pub running_entries: i64,
    pub seconds: i64,
    pub billable_seconds: i64,
    /// Billable time × each entry's project rate, in cents; `None` when no billable entry of
    /// the group has a rate.
    pub amount_cents: Option<i64>,
    /// Billable time of entries whose project has no rate (not in `amount_cents`).
    pub unpriced_billable_seconds: i64,
}

/// Hours of one series (a person or a project) in one week.
#[derive(Clone, Debug, PartialEq)]
pub struct WeeklyHours {
    /// Monday of the local work week, `YYYY-MM-DD`.
    pub week_start: String,
    /// The person's or project's id; `None` for entries without a project.
    pub key: Option<String>,
    pub label: Option<String>,
    pub seconds: i64,
}

/// Which series a weekly breakdown has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeeklyBy {
    Person,
    Project,
    Client,
}

/// One provider instance's row of `report_sync_health`.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncHealthRow {
    pub provider: String,
    pub last_run_status: Option<String>,
    pub last_run_finished_at: Option<String>,
    pub last_run_last_error: Option<String>,
    pub last_success_at: Option<String>,
    pub lag_seconds: Option<i64>,
    pub runs: i64,
    pub failed_runs: i64,
    pub open_conflicts: i64,
    pub pending_pushes: i64,
    pub record_issues: i64,
    pub linked_entries: i64,
}

/// One row of `report_time_entries`, as `timeweave export` writes it.
#[derive(Clone, Debug, PartialEq)]
pub struct EntryRow {
    pub entry_id: String,
    pub work_date: String,
    pub person: String,
    pub person_email: Option<String>,
    pub client: Option<String>,
    pub project: Option<String>,
    pub task: Option<String>,
    pub started_at_utc: String,
    pub ended_at_utc: Option<String>,
    pub started_at_local: String,
    pub ended_at_local: Option<String>,
    pub time_zone: String,
    pub running: bool,
    pub break_seconds: i64,
    pub duration_seconds: i64,
    pub hours: f64,
    pub billable: bool,
    pub kind: String,
    /// The tags as the JSON array text the ledger stores (sorted).
    pub tags: String,
    pub notes: Option<String>,
    /// Provider instances holding a copy, comma-separated, sorted.
    pub providers: Option<String>,
    pub origin: String,
    pub updated_at: String,
    /// Ledger ids: stable join keys where names may change.
    pub person_id: String,
    pub client_id: Option<String>,
    pub project_id: Option<String>,
    pub task_id: Option<String>,
}

/// The columns `export_entries` reads, in `EntryRow` order.
/// The columns of `report_time_entries` an [`EntryRow`] holds, in order: also the export's
/// CSV header and JSON keys.
pub const ENTRY_COLUMNS: [&str; 27] = [
    "entry_id",
    "work_date",
    "person",
    "person_email",
    "client",
    "project",
    "task",
    "started_at_utc",
    "ended_at_utc",
    "started_at_local",
    "ended_at_local",
    "time_zone",
    "running",
    "break_seconds",
    "duration_seconds",
    "hours",
    "billable",
    "kind",
    "tags",
    "notes",
    "providers",
    "origin",
    "updated_at",
    "person_id",
    "client_id",
    "project_id",
    "task_id",
];

pub(super) fn entry_from_row(r: &impl ReadRow) -> Result<EntryRow> {
    Ok(EntryRow {
        entry_id: r.get("entry_id")?,
        work_date: r.get("work_date")?,
        person: r.get("person")?,
        person_email: r.get("person_email")?,
        client: r.get("client")?,
        project: r.get("project")?,
        task: r.get("task")?,
        started_at_utc: r.get("started_at_utc")?,
        ended_at_utc: r.get("ended_at_utc")?,
        started_at_local: r.get("started_at_local")?,
        ended_at_local: r.get("ended_at_local")?,
        time_zone: r.get("time_zone")?,
        running: r.get("running")?,
        break_seconds: r.get("break_seconds")?,
        duration_seconds: r.get("duration_seconds")?,
        hours: r.get("hours")?,
        billable: r.get("billable")?,
        kind: r.get("kind")?,
        tags: r.get("tags")?,
        notes: r.get("notes")?,
        providers: r.get("providers")?,
        origin: r.get("origin")?,
        updated_at: r.get("updated_at")?,
        person_id: r.get("person_id")?,
        client_id: r.get("client_id")?,
        project_id: r.get("project_id")?,
        task_id: r.get("task_id")?,
    })
}

/// The views a reader of this version needs (migration 2).
pub(super) const REPORT_VIEWS: [&str; 5] = [
    "report_time_entries",
    "report_daily_hours",
    "report_project_totals",
    "report_sync_health",
    "report_deleted_entries",
];

/// Columns of those views a reader of this version needs that came later (migration 6).
pub(super) const REPORT_COLUMNS: [(&str, &str); 1] =
    [("report_time_entries", "billable_amount_cents")];

impl ReportStore for SqliteTx {
    /// The reporting views (and later view columns, as `view.column`) this version reads
    /// that the ledger lacks (empty when it is migrated far enough; a read-only reader cannot
    /// migrate it).
    async fn missing_report_views(&mut self) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for view in REPORT_VIEWS {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name = ?",
            )
            .bind(view)
            .fetch_one(self.conn())
            .await?;
            if n == 0 {
                missing.push(view.to_owned());
            }
        }
        for (view, column) in REPORT_COLUMNS {
            let (n,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2")
                    .bind(view)
                    .bind(column)
                    .fetch_one(self.conn())
                    .await?;
            if n == 0 && !missing.iter().any(|m| m == view) {
                missing.push(format!("{view}.{column}"));
            }
        }
        Ok(missing)
    }

    /// Totals over the live entries whose work date is in `range`, grouped `by`.
    async fn report_totals(&mut self, by: TotalsBy, range: DateRange) -> Result<Vec<TotalRow>> {
        let (label, detail, group, order) = by.sql_parts();
        let sql = format!(
            "SELECT {label} AS label, {detail} AS detail, count(*) AS entries, \
                    sum(running) AS running_entries, sum(duration_seconds) AS seconds, \
                    sum(CASE WHEN billable THEN duration_seconds ELSE 0 END) AS billable_seconds, \
                    sum(billable_amount_cents) AS amount_cents, \
                    sum(CASE WHEN billable AND hourly_rate_cents IS NULL THEN duration_seconds ELSE 0 END) \
                        AS unpriced_billable_seconds \
             FROM report_time_entries WHERE work_date BETWEEN ?1 AND ?2 \
             GROUP BY {group} ORDER BY {order}"
        );
        let (from, to) = range.bounds();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(to)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(total_from_row).collect()
    }

    /// The first and last work date with a live entry (`None` for an empty ledger).
    async fn work_date_span(&mut self) -> Result<Option<(String, String)>> {
        let (first, last): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT min(work_date), max(work_date) FROM report_time_entries")
                .fetch_one(self.conn())
                .await?;
        Ok(first.zip(last))
    }

    /// Hours per week (Monday to Sunday, local work dates) and person or project, over
    /// `range`; weeks without entries are left out. Oldest week first.
    async fn weekly_hours(&mut self, by: WeeklyBy, range: DateRange) -> Result<Vec<WeeklyHours>> {
        let sql = match by {
            WeeklyBy::Person => {
                "SELECT week_start, person_id AS key, person AS label, sum(duration_seconds) AS seconds \
                 FROM report_daily_hours WHERE work_date BETWEEN ?1 AND ?2 \
                 GROUP BY week_start, person_id ORDER BY week_start, person COLLATE NOCASE, person_id"
            }
            WeeklyBy::Project => {
                "SELECT week_start, project_id AS key, project AS label, sum(duration_seconds) AS seconds \
                 FROM report_daily_hours WHERE work_date BETWEEN ?1 AND ?2 \
                 GROUP BY week_start, project_id \
                 ORDER BY week_start, project IS NULL, project COLLATE NOCASE, project_id"
            }
            WeeklyBy::Client => {
                "SELECT week_start, client_id AS key, client AS label, sum(duration_seconds) AS seconds \
                 FROM report_daily_hours WHERE work_date BETWEEN ?1 AND ?2 \
                 GROUP BY week_start, client_id \
                 ORDER BY week_start, client IS NULL, client COLLATE NOCASE, client_id"
            }
        };
        let (from, to) = range.bounds();
        let rows = sqlx::query(sql)
            .bind(from)
            .bind(to)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(weekly_from_row).collect()
    }

    /// Every row of `report_sync_health`, by provider name.
    async fn sync_health(&mut self) -> Result<Vec<SyncHealthRow>> {
        let rows = sqlx::query(
            "SELECT provider, last_run_status, last_run_finished_at, last_run_last_error, \
                    last_success_at, lag_seconds, runs, failed_runs, open_conflicts, pending_pushes, record_issues, \
                    linked_entries \
             FROM report_sync_health ORDER BY provider",
        )
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(health_from_row).collect()
    }

    /// Hours per person and client over every live entry (client "-" for none).
    async fn hours_by_person_and_client(&mut self) -> Result<Vec<(String, String, f64)>> {
        let rows = sqlx::query(
            "SELECT person, coalesce(client, '-') AS client, round(sum(hours), 2) AS hours \
             FROM report_time_entries GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("person")?,
                    r.try_get("client")?,
                    r.try_get("hours")?,
                ))
            })
            .collect()
    }

    /// Test and benchmark support: inserts `count` finished 25-minute entries of `person`
    /// (on `project`, if given) in one statement, 40 a day from `first_day` on (UTC, so the
    /// work date is the UTC date), with a note that needs CSV quoting. Returns the count.
    #[doc(hidden)]
    async fn seed_synthetic_entries(
        &mut self,
        person: &CanonicalId,
        project: Option<&CanonicalId>,
        first_day: NaiveDate,
        count: i64,
    ) -> Result<u64> {
        let done = sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 0 WHERE ?4 > 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?4), \
             s(i, start) AS (SELECT i, datetime(?3, '+' || (i / 40) || ' days', '+' || ((i % 40) * 1800) || ' seconds') FROM n) \
             INSERT INTO time_entries (id, person_id, project_id, started_at, ended_at, duration_seconds, \
                 local_started_at, local_ended_at, local_date, notes, tags, content_hash, origin, changed_by, \
                 created_at, updated_at) \
             SELECT printf('synthetic-%09d', i), ?1, ?2, \
                 strftime('%Y-%m-%dT%H:%M:%SZ', start), strftime('%Y-%m-%dT%H:%M:%SZ', start, '+1500 seconds'), 1500, \
                 strftime('%Y-%m-%dT%H:%M:%S', start), strftime('%Y-%m-%dT%H:%M:%S', start, '+1500 seconds'), \
                 date(start), 'synthetic entry ' || i || ', \"quoted\"', '[\"bench\",\"synthetic\"]', \
                 'synthetic', 'synthetic', 'synthetic', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' \
             FROM s",
        )
        .bind(person.as_str())
        .bind(project.map(CanonicalId::as_str))
        .bind(first_day.format("%Y-%m-%d").to_string())
        .bind(count)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }
}

impl SqliteTx {
    /// The live entries whose work date is in `range`, by work date, start and id, as a
    /// stream: rows are read from SQLite as they are consumed (a bounded buffer), so memory
    /// stays constant however many entries the range holds. The transaction's snapshot keeps
    /// the export consistent while the daemon writes.
    pub fn export_entries(
        &mut self,
        range: DateRange,
    ) -> impl Stream<Item = Result<EntryRow>> + Send + '_ {
        let (from, to) = range.bounds();
        let sql = format!(
            "SELECT {} FROM report_time_entries WHERE work_date BETWEEN ?1 AND ?2 \
             ORDER BY work_date, started_at_utc, entry_id",
            ENTRY_COLUMNS.join(", ")
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(to)
            .fetch(self.conn())
            .map(|row| {
                row.map_err(LedgerError::from)
                    .and_then(|r| entry_from_row(&r))
            })
    }
}

pub(super) fn total_from_row(r: &impl ReadRow) -> Result<TotalRow> {
    Ok(TotalRow {
        label: r.get("label")?,
        detail: r.get("detail")?,
        entries: r.get("entries")?,
        running_entries: r.get("running_entries")?,
        seconds: r.get("seconds")?,
        billable_seconds: r.get("billable_seconds")?,
        amount_cents: r.get("amount_cents")?,
        unpriced_billable_seconds: r.get("unpriced_billable_seconds")?,
    })
}

pub(super) fn weekly_from_row(r: &impl ReadRow) -> Result<WeeklyHours> {
    Ok(WeeklyHours {
        week_start: r.get("week_start")?,
        key: r.get("key")?,
        label: r.get("label")?,
        seconds: r.get("seconds")?,
    })
}

pub(super) fn health_from_row(r: &impl ReadRow) -> Result<SyncHealthRow> {
    Ok(SyncHealthRow {
        provider: r.get("provider")?,
        last_run_status: r.get("last_run_status")?,
        last_run_finished_at: r.get("last_run_finished_at")?,
        last_run_last_error: r.get("last_run_last_error")?,
        last_success_at: r.get("last_success_at")?,
        lag_seconds: r.get("lag_seconds")?,
        runs: r.get("runs")?,
        failed_runs: r.get("failed_runs")?,
        open_conflicts: r.get("open_conflicts")?,
        pending_pushes: r.get("pending_pushes")?,
        record_issues: r.get("record_issues")?,
        linked_entries: r.get("linked_entries")?,
    })
}
