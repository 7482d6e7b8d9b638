//! Sync runs on PostgreSQL (see `ledger/runs.rs`); the totals are kept by the same trigger
//! as on SQLite (a PL/pgSQL function here).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::PgTx;
use crate::ledger::runs::{counts_from_row, errors_json, run_from_row};
use crate::ledger::store::{ConflictStore, RunStore};
use crate::ledger::time::{parse_opt, to_text_precise};
use crate::ledger::{Result, RunCounts, RunStatus, RunTotals, SyncRun};

impl RunStore for PgTx {
    async fn start_run(&mut self, provider: &str, mode: &str, now: DateTime<Utc>) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as("INSERT INTO sync_runs (provider, mode, started_at, status) VALUES ($1, $2, $3, 'running') RETURNING id")
            .bind(provider).bind(mode).bind(to_text_precise(now))
            .fetch_one(self.conn()).await?;
        Ok(id)
    }

    async fn finish_run(
        &mut self,
        id: i64,
        status: RunStatus,
        counts: &RunCounts,
        errors: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE sync_runs SET finished_at = $2, status = $3, pulled = $4, created = $5, updated = $6, deleted = $7, pushed = $8, conflicts = $9, skipped = $10, requests = $11, rate_limited = $12, errors = $13 WHERE id = $1")
            .bind(id).bind(to_text_precise(now)).bind(status.as_str())
            .bind(counts.pulled).bind(counts.created).bind(counts.updated).bind(counts.deleted).bind(counts.pushed)
            .bind(counts.conflicts).bind(counts.skipped).bind(counts.requests).bind(counts.rate_limited)
            .bind(errors_json(errors))
            .execute(self.conn()).await?;
        Ok(())
    }

    async fn mark_interrupted_runs(
        &mut self,
        provider: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sync_runs SET status = 'interrupted', finished_at = $1 WHERE status = 'running' AND ($2::text IS NULL OR provider = $2)",
        )
        .bind(to_text_precise(now))
        .bind(provider)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    async fn recent_runs(&mut self, provider: Option<&str>, limit: i64) -> Result<Vec<SyncRun>> {
        let rows = sqlx::query(
            "SELECT * FROM sync_runs WHERE $1::text IS NULL OR provider = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(provider)
        .bind(limit)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    async fn run_totals(&mut self, provider: &str) -> Result<RunTotals> {
        let cycles: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, cycles FROM sync_totals WHERE provider = $1 ORDER BY status",
        )
        .bind(provider)
        .fetch_all(self.conn())
        .await?;
        let r = sqlx::query("SELECT coalesce(sum(pulled),0)::bigint AS pulled, coalesce(sum(created),0)::bigint AS created, coalesce(sum(updated),0)::bigint AS updated, coalesce(sum(deleted),0)::bigint AS deleted, \
                             coalesce(sum(pushed),0)::bigint AS pushed, coalesce(sum(conflicts),0)::bigint AS conflicts, coalesce(sum(skipped),0)::bigint AS skipped, coalesce(sum(requests),0)::bigint AS requests, \
                             coalesce(sum(rate_limited),0)::bigint AS rate_limited, max(CASE WHEN status IN ('ok','partial') THEN nullif(last_finished_at, '') END) AS last_success FROM sync_totals WHERE provider = $1")
            .bind(provider).fetch_one(self.conn()).await?;
        Ok(RunTotals {
            cycles,
            counts: counts_from_row(&r)?,
            last_success: parse_opt(r.try_get("last_success")?)?,
        })
    }

    async fn prune_history(&mut self, before: DateTime<Utc>) -> Result<u64> {
        let before = to_text_precise(before);
        let runs =
            sqlx::query("DELETE FROM sync_runs WHERE status != 'running' AND started_at < $1")
                .bind(&before)
                .execute(self.conn())
                .await?
                .rows_affected();
        Ok(runs + self.prune_resolved_conflicts(&before).await?)
    }
}
