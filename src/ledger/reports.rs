//! Report queries: typed reads of the reporting views (`migrations/0002_reporting.sql`,
//! documented in `docs/ledger.md`) for `timeweave report`, `timeweave export`, the HTML
//! report and the demo. Every query reads the views, never the tables behind them, so the
//! commands see exactly what external readers see. The views have the same names, columns
//! and meaning on both backends, so one implementation serves both (`sql.rs`); the little
//! SQL the dialects write differently is [`ReportDialect`]'s (`sqlite/reports.rs`,
//! `pg/reports.rs`).

use chrono::NaiveDate;
use futures::stream::BoxStream;
use futures::StreamExt;
use timeweave_contract::CanonicalId;

use super::row::ReadRow;
use super::sql::{Exec, Sql};
use super::store::ReportStore;
use super::Result;

/// An inclusive range of local work dates (`work_date`, the entry's date in its own zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    fn bounds(&self) -> (String, String) {
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
    /// columns, what it groups by, and how the grouped rows (`label`, `grp`) are ordered.
    /// Names sort by `lower()`, ASCII-only on SQLite and of "C"-collated text on
    /// PostgreSQL: SQLite's `COLLATE NOCASE` order on both.
    fn sql_parts(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            TotalsBy::Person => ("person", "person_email", "person_id", "lower(label), grp"),
            TotalsBy::Client => (
                "client",
                "NULL",
                "client_id",
                "label IS NULL, lower(label), grp",
            ),
            TotalsBy::Project => (
                "project",
                "client",
                "project_id",
                "label IS NULL, lower(label), grp",
            ),
            TotalsBy::Day => ("work_date", "NULL", "work_date", "grp"),
            TotalsBy::Week => ("week_start", "NULL", "week_start", "grp"),
            TotalsBy::Month => ("month", "NULL", "month", "grp"),
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

impl WeeklyBy {
    /// The series' key and label columns of `report_daily_hours`, and whether rows without
    /// a label (no project, no client) sort last.
    fn sql_parts(self) -> (&'static str, &'static str, bool) {
        match self {
            WeeklyBy::Person => ("person_id", "person", false),
            WeeklyBy::Project => ("project_id", "project", true),
            WeeklyBy::Client => ("client_id", "client", true),
        }
    }
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

fn entry_from_row(r: &impl ReadRow) -> Result<EntryRow> {
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
const REPORT_VIEWS: [&str; 5] = [
    "report_time_entries",
    "report_daily_hours",
    "report_project_totals",
    "report_sync_health",
    "report_deleted_entries",
];

/// Columns of those views a reader of this version needs that came later (migration 6).
const REPORT_COLUMNS: [(&str, &str); 1] = [("report_time_entries", "billable_amount_cents")];

/// What the backends' SQL says differently around the reporting views: their catalogues,
/// and the bulk insert of synthetic entries (date arithmetic and row generators).
/// Implemented in `sqlite/reports.rs` and `pg/reports.rs`.
pub(crate) trait ReportDialect: Exec {
    /// `count(*) AS n` of the views named `$1` (0 or 1).
    const VIEW_COUNT: &'static str;
    /// `count(*) AS n` of the columns named `$2` of the view `$1` (0 or 1).
    const VIEW_COLUMN_COUNT: &'static str;
    /// Inserts `$4` synthetic entries of person `$1` on project `$2` (or none), 40 a day
    /// from the date `$3` on: see `seed_synthetic_entries`.
    const SEED_SYNTHETIC_ENTRIES: &'static str;
}

/// The same query for both backends holds to PostgreSQL's stricter rules: a grouped query
/// names only grouped or aggregated columns, and sums are cast back to BIGINT (PostgreSQL
/// sums BIGINTs as NUMERIC; the casts change nothing on SQLite).
impl<B: ReportDialect> ReportStore for B {
    /// The reporting views (and later view columns, as `view.column`) this version reads
    /// that the ledger lacks (empty when it is migrated far enough; a read-only reader cannot
    /// migrate it).
    async fn missing_report_views(&mut self) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for view in REPORT_VIEWS {
            let sql = Sql::new(B::VIEW_COUNT).bind(view);
            if self.fetch_one(sql, "a view count").await?.get::<i64>("n")? == 0 {
                missing.push(view.to_owned());
            }
        }
        for (view, column) in REPORT_COLUMNS {
            let sql = Sql::new(B::VIEW_COLUMN_COUNT).bind(view).bind(column);
            let n: i64 = self.fetch_one(sql, "a view column count").await?.get("n")?;
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
            "SELECT label, detail, entries, running_entries, seconds, billable_seconds, \
                    amount_cents, unpriced_billable_seconds FROM ( \
               SELECT {group} AS grp, min({label}) AS label, \
                      min(CAST({detail} AS TEXT)) AS detail, count(*) AS entries, \
                      CAST(sum(running) AS BIGINT) AS running_entries, \
                      CAST(sum(duration_seconds) AS BIGINT) AS seconds, \
                      CAST(sum(CASE WHEN billable = 1 THEN duration_seconds ELSE 0 END) AS BIGINT) \
                          AS billable_seconds, \
                      CAST(sum(billable_amount_cents) AS BIGINT) AS amount_cents, \
                      CAST(sum(CASE WHEN billable = 1 AND hourly_rate_cents IS NULL \
                                    THEN duration_seconds ELSE 0 END) AS BIGINT) \
                          AS unpriced_billable_seconds \
               FROM report_time_entries WHERE work_date BETWEEN $1 AND $2 GROUP BY {group}) AS g \
             ORDER BY {order}"
        );
        let (from, to) = range.bounds();
        let rows = self.fetch_all(Sql::new(sql).bind(from).bind(to)).await?;
        rows.iter().map(total_from_row).collect()
    }

    /// The first and last work date with a live entry (`None` for an empty ledger).
    async fn work_date_span(&mut self) -> Result<Option<(String, String)>> {
        let sql = Sql::new(
            "SELECT min(work_date) AS first_date, max(work_date) AS last_date FROM report_time_entries",
        );
        let row = self.fetch_one(sql, "the work date span").await?;
        let first: Option<String> = row.get("first_date")?;
        let last: Option<String> = row.get("last_date")?;
        Ok(first.zip(last))
    }

    /// Hours per week (Monday to Sunday, local work dates) and person or project, over
    /// `range`; weeks without entries are left out. Oldest week first.
    async fn weekly_hours(&mut self, by: WeeklyBy, range: DateRange) -> Result<Vec<WeeklyHours>> {
        let (key, label, unlabelled_last) = by.sql_parts();
        let nulls_last = if unlabelled_last {
            format!("min({label}) IS NULL, ")
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT week_start, {key} AS key, min({label}) AS label, \
                    CAST(sum(duration_seconds) AS BIGINT) AS seconds \
             FROM report_daily_hours WHERE work_date BETWEEN $1 AND $2 \
             GROUP BY week_start, {key} \
             ORDER BY week_start, {nulls_last}lower(min({label})), {key}"
        );
        let (from, to) = range.bounds();
        let rows = self.fetch_all(Sql::new(sql).bind(from).bind(to)).await?;
        rows.iter().map(weekly_from_row).collect()
    }

    /// Every row of `report_sync_health`, by provider name.
    async fn sync_health(&mut self) -> Result<Vec<SyncHealthRow>> {
        let sql = Sql::new(
            "SELECT provider, last_run_status, last_run_finished_at, last_run_last_error, \
                    last_success_at, lag_seconds, runs, failed_runs, open_conflicts, \
                    pending_pushes, record_issues, linked_entries \
             FROM report_sync_health ORDER BY provider",
        );
        let rows = self.fetch_all(sql).await?;
        rows.iter().map(health_from_row).collect()
    }

    /// Hours per person and client over every live entry (client "-" for none).
    async fn hours_by_person_and_client(&mut self) -> Result<Vec<(String, String, f64)>> {
        // PostgreSQL rounds a NUMERIC to places, not a double; SQLite's NUMERIC keeps the
        // value (an integer when whole), and the result is a double on both.
        let sql = Sql::new(
            "SELECT person, coalesce(client, '-') AS client, \
                    CAST(round(CAST(sum(hours) AS NUMERIC), 2) AS DOUBLE PRECISION) AS hours \
             FROM report_time_entries GROUP BY 1, 2 ORDER BY 1, 2",
        );
        let rows = self.fetch_all(sql).await?;
        rows.iter()
            .map(|r| Ok((r.get("person")?, r.get("client")?, r.get("hours")?)))
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
        let sql = Sql::new(B::SEED_SYNTHETIC_ENTRIES)
            .bind(person.as_str())
            .bind(project.map(CanonicalId::as_str))
            .bind(first_day.format("%Y-%m-%d").to_string())
            .bind(count);
        self.execute(sql).await
    }
}

/// The live entries whose work date is in `range`, by work date, start and id, as a stream
/// (see `Tx::export_entries`).
pub(super) fn export_entries<B: Exec>(
    tx: &mut B,
    range: DateRange,
) -> BoxStream<'_, Result<EntryRow>> {
    let (from, to) = range.bounds();
    let sql = format!(
        "SELECT {} FROM report_time_entries WHERE work_date BETWEEN $1 AND $2 \
         ORDER BY work_date, started_at_utc, entry_id",
        ENTRY_COLUMNS.join(", ")
    );
    tx.fetch(Sql::new(sql).bind(from).bind(to))
        .map(|row| row.and_then(|r| entry_from_row(&r)))
        .boxed()
}

fn total_from_row(r: &impl ReadRow) -> Result<TotalRow> {
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

fn weekly_from_row(r: &impl ReadRow) -> Result<WeeklyHours> {
    Ok(WeeklyHours {
        week_start: r.get("week_start")?,
        key: r.get("key")?,
        label: r.get("label")?,
        seconds: r.get("seconds")?,
    })
}

fn health_from_row(r: &impl ReadRow) -> Result<SyncHealthRow> {
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
