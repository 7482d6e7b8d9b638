//! Reads of the reporting views on PostgreSQL (see `ledger/reports.rs`). The views have the
//! same names, columns and meaning as SQLite's (pginfra's migrations); the queries differ
//! where PostgreSQL is stricter: a grouped query names only grouped or aggregated columns,
//! sums of integers are cast back to BIGINT, and SQLite's ASCII-only `COLLATE NOCASE` order
//! is `lower()` of "C"-collated text, which is the same order.

use chrono::NaiveDate;
use futures::{Stream, StreamExt};
use sqlx::Row;
use timeweave_contract::CanonicalId;

use super::PgTx;
use crate::ledger::reports::{
    entry_from_row, health_from_row, total_from_row, weekly_from_row, REPORT_COLUMNS, REPORT_VIEWS,
};
use crate::ledger::store::ReportStore;
use crate::ledger::{
    DateRange, EntryRow, LedgerError, Result, SyncHealthRow, TotalRow, TotalsBy, WeeklyBy,
    WeeklyHours, ENTRY_COLUMNS,
};

/// A grouping's label, detail, group key and order (of the grouped rows `g`).
fn totals_parts(by: TotalsBy) -> (&'static str, &'static str, &'static str, &'static str) {
    match by {
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

impl ReportStore for PgTx {
    async fn missing_report_views(&mut self) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for view in REPORT_VIEWS {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM information_schema.views \
                 WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(view)
            .fetch_one(self.conn())
            .await?;
            if n == 0 {
                missing.push(view.to_owned());
            }
        }
        for (view, column) in REPORT_COLUMNS {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
            )
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

    async fn report_totals(&mut self, by: TotalsBy, range: DateRange) -> Result<Vec<TotalRow>> {
        let (label, detail, group, order) = totals_parts(by);
        let sql = format!(
            "SELECT label, detail, entries, running_entries, seconds, billable_seconds, amount_cents, unpriced_billable_seconds FROM ( \
               SELECT {group} AS grp, min({label}) AS label, min(({detail})::text) AS detail, count(*) AS entries, \
                      sum(running)::bigint AS running_entries, sum(duration_seconds)::bigint AS seconds, \
                      sum(CASE WHEN billable = 1 THEN duration_seconds ELSE 0 END)::bigint AS billable_seconds, \
                      sum(billable_amount_cents)::bigint AS amount_cents, \
                      sum(CASE WHEN billable = 1 AND hourly_rate_cents IS NULL THEN duration_seconds ELSE 0 END)::bigint \
                          AS unpriced_billable_seconds \
                 FROM report_time_entries WHERE work_date BETWEEN $1 AND $2 GROUP BY {group}) AS g \
             ORDER BY {order}"
        );
        let (from, to) = range.bounds();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(to)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(total_from_row).collect()
    }

    async fn work_date_span(&mut self) -> Result<Option<(String, String)>> {
        let (first, last): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT min(work_date), max(work_date) FROM report_time_entries")
                .fetch_one(self.conn())
                .await?;
        Ok(first.zip(last))
    }

    async fn weekly_hours(&mut self, by: WeeklyBy, range: DateRange) -> Result<Vec<WeeklyHours>> {
        let (key, label) = match by {
            WeeklyBy::Person => ("person_id", "person"),
            WeeklyBy::Project => ("project_id", "project"),
            WeeklyBy::Client => ("client_id", "client"),
        };
        let nulls_last = if by == WeeklyBy::Person {
            ""
        } else {
            "min({label}) IS NULL, "
        };
        let sql = format!(
            "SELECT week_start, {key} AS key, min({label}) AS label, sum(duration_seconds)::bigint AS seconds \
             FROM report_daily_hours WHERE work_date BETWEEN $1 AND $2 \
             GROUP BY week_start, {key} \
             ORDER BY week_start, {nulls}lower(min({label})), {key}",
            nulls = nulls_last.replace("{label}", label),
        );
        let (from, to) = range.bounds();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(to)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(weekly_from_row).collect()
    }

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

    async fn hours_by_person_and_client(&mut self) -> Result<Vec<(String, String, f64)>> {
        let rows = sqlx::query(
            "SELECT person, coalesce(client, '-') AS client, round(sum(hours)::numeric, 2)::double precision AS hours \
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

    async fn seed_synthetic_entries(
        &mut self,
        person: &CanonicalId,
        project: Option<&CanonicalId>,
        first_day: NaiveDate,
        count: i64,
    ) -> Result<u64> {
        let done = sqlx::query(
            "INSERT INTO time_entries (id, person_id, project_id, started_at, ended_at, duration_seconds, \
                 local_started_at, local_ended_at, local_date, notes, tags, content_hash, origin, changed_by, \
                 created_at, updated_at) \
             SELECT 'synthetic-' || lpad(i::text, 9, '0'), $1, $2, \
                 to_char(s.start, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
                 to_char(s.start + interval '1500 seconds', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 1500, \
                 to_char(s.start, 'YYYY-MM-DD\"T\"HH24:MI:SS'), \
                 to_char(s.start + interval '1500 seconds', 'YYYY-MM-DD\"T\"HH24:MI:SS'), \
                 to_char(s.start, 'YYYY-MM-DD'), 'synthetic entry ' || i || ', \"quoted\"', '[\"bench\",\"synthetic\"]', \
                 'synthetic', 'synthetic', 'synthetic', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' \
             FROM generate_series(0::bigint, $4::bigint - 1) AS i, \
                  LATERAL (SELECT $3::date + (i / 40) * interval '1 day' + (i % 40) * interval '1800 seconds' AS start) AS s",
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

impl PgTx {
    /// The live entries whose work date is in `range`, as a stream (see `Tx::export_entries`).
    pub(crate) fn export_entries(
        &mut self,
        range: DateRange,
    ) -> impl Stream<Item = Result<EntryRow>> + Send + '_ {
        let (from, to) = range.bounds();
        let sql = format!(
            "SELECT {} FROM report_time_entries WHERE work_date BETWEEN $1 AND $2 \
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
