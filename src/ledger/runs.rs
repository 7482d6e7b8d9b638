//! Sync runs: one row per cycle per provider instance, opened when the cycle starts and
//! closed with its status, counts and errors (a trigger adds them to `sync_totals`). A row
//! left `running` by a killed process is marked `interrupted` at the next start. Rows older
//! than the retention are pruned. One implementation serves both backends (`sql.rs`).

use chrono::{DateTime, Utc};

use super::row::ReadRow;
use super::sql::{Exec, Sql};
use super::store::{ConflictStore, RunStore};
use super::time::{parse_instant, parse_opt, to_text_precise};
use super::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Ok,
    /// Finished, but some records were skipped or some windows failed.
    Partial,
    Failed,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
    fn parse(s: &str) -> RunStatus {
        match s {
            "running" => RunStatus::Running,
            "ok" => RunStatus::Ok,
            "partial" => RunStatus::Partial,
            "failed" => RunStatus::Failed,
            _ => RunStatus::Interrupted,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub pulled: i64,
    pub created: i64,
    pub updated: i64,
    pub deleted: i64,
    pub pushed: i64,
    pub conflicts: i64,
    pub skipped: i64,
    pub requests: i64,
    pub rate_limited: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SyncRun {
    pub id: i64,
    pub provider: String,
    pub mode: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    pub counts: RunCounts,
    pub errors: Vec<String>,
}

/// The counters of a row that has the `sync_runs` count columns (or sums named alike).
fn counts_from_row(r: &impl ReadRow) -> Result<RunCounts> {
    Ok(RunCounts {
        pulled: r.get("pulled")?,
        created: r.get("created")?,
        updated: r.get("updated")?,
        deleted: r.get("deleted")?,
        pushed: r.get("pushed")?,
        conflicts: r.get("conflicts")?,
        skipped: r.get("skipped")?,
        requests: r.get("requests")?,
        rate_limited: r.get("rate_limited")?,
    })
}

/// At most this many error messages are kept per run.
const MAX_ERRORS: usize = 50;

/// Everything the ledger knows about one provider's runs, for `status` and `/metrics`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunTotals {
    /// Cycles per status name.
    pub cycles: Vec<(String, i64)>,
    pub counts: RunCounts,
    /// When the last cycle that finished ok or partial finished.
    pub last_success: Option<DateTime<Utc>>,
}

/// The counters of a run, as `sync_runs` and `sync_totals` name their columns.
const COUNT_COLUMNS: [&str; 9] = [
    "pulled",
    "created",
    "updated",
    "deleted",
    "pushed",
    "conflicts",
    "skipped",
    "requests",
    "rate_limited",
];

impl<B: Exec + ConflictStore> RunStore for B {
    async fn start_run(&mut self, provider: &str, mode: &str, now: DateTime<Utc>) -> Result<i64> {
        let sql = Sql::new(
            "INSERT INTO sync_runs (provider, mode, started_at, status) \
             VALUES ($1, $2, $3, 'running') RETURNING id",
        );
        let sql = sql.bind(provider).bind(mode).bind(to_text_precise(now));
        self.fetch_one(sql, "a new run's id").await?.get("id")
    }

    async fn finish_run(
        &mut self,
        id: i64,
        status: RunStatus,
        counts: &RunCounts,
        errors: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sql = Sql::new(
            "UPDATE sync_runs SET finished_at = $2, status = $3, pulled = $4, created = $5, \
             updated = $6, deleted = $7, pushed = $8, conflicts = $9, skipped = $10, \
             requests = $11, rate_limited = $12, errors = $13 WHERE id = $1",
        );
        let sql = sql
            .bind(id)
            .bind(to_text_precise(now))
            .bind(status.as_str())
            .bind(counts.pulled)
            .bind(counts.created)
            .bind(counts.updated)
            .bind(counts.deleted)
            .bind(counts.pushed)
            .bind(counts.conflicts)
            .bind(counts.skipped)
            .bind(counts.requests)
            .bind(counts.rate_limited)
            .bind(errors_json(errors));
        self.execute(sql).await?;
        Ok(())
    }

    /// Marks runs left `running` by a process that died as `interrupted`.
    async fn mark_interrupted_runs(
        &mut self,
        provider: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let sql = Sql::new(
            "UPDATE sync_runs SET status = 'interrupted', finished_at = $1 \
             WHERE status = 'running' AND ($2 IS NULL OR provider = $2)",
        );
        self.execute(sql.bind(to_text_precise(now)).bind(provider))
            .await
    }

    /// The latest runs, newest first (optionally of one provider).
    async fn recent_runs(&mut self, provider: Option<&str>, limit: i64) -> Result<Vec<SyncRun>> {
        let sql = Sql::new(
            "SELECT * FROM sync_runs WHERE $1 IS NULL OR provider = $1 ORDER BY id DESC LIMIT $2",
        );
        let rows = self.fetch_all(sql.bind(provider).bind(limit)).await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Every cycle's counters summed, per provider: read from `sync_totals`, which a
    /// trigger keeps as runs finish, so it costs the same however long the history.
    async fn run_totals(&mut self, provider: &str) -> Result<RunTotals> {
        let sql =
            Sql::new("SELECT status, cycles FROM sync_totals WHERE provider = $1 ORDER BY status");
        let cycles = self.fetch_all(sql.bind(provider)).await?;
        let cycles = cycles
            .iter()
            .map(|r| Ok((r.get("status")?, r.get("cycles")?)))
            .collect::<Result<_>>()?;
        // A sum of BIGINTs is NUMERIC on PostgreSQL: cast back.
        let sums: Vec<String> = COUNT_COLUMNS
            .iter()
            .map(|c| format!("CAST(coalesce(sum({c}), 0) AS BIGINT) AS {c}"))
            .collect();
        let sql = Sql::new(format!(
            "SELECT {}, max(CASE WHEN status IN ('ok', 'partial') \
                               THEN nullif(last_finished_at, '') END) AS last_success \
             FROM sync_totals WHERE provider = $1",
            sums.join(", ")
        ));
        let r = self.fetch_one(sql.bind(provider), "run totals").await?;
        Ok(RunTotals {
            cycles,
            counts: counts_from_row(&r)?,
            last_success: parse_opt(r.get("last_success")?)?,
        })
    }

    /// Removes the history older than `before`: finished runs (their counts stay in the
    /// totals) and resolved conflicts. Returns the rows removed.
    async fn prune_history(&mut self, before: DateTime<Utc>) -> Result<u64> {
        let before = to_text_precise(before);
        let sql = Sql::new("DELETE FROM sync_runs WHERE status != 'running' AND started_at < $1");
        let runs = self.execute(sql.bind(&before)).await?;
        Ok(runs + self.prune_resolved_conflicts(&before).await?)
    }
}

/// A run's errors as stored: the first `MAX_ERRORS`, as a JSON array.
fn errors_json(errors: &[String]) -> String {
    let kept: Vec<&String> = errors.iter().take(MAX_ERRORS).collect();
    serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into())
}

fn run_from_row(r: &impl ReadRow) -> Result<SyncRun> {
    let errors: String = r.get("errors")?;
    let status: String = r.get("status")?;
    Ok(SyncRun {
        id: r.get("id")?,
        provider: r.get("provider")?,
        mode: r.get("mode")?,
        started_at: parse_instant(&r.get::<String>("started_at")?)?,
        finished_at: parse_opt(r.get("finished_at")?)?,
        status: RunStatus::parse(&status),
        counts: counts_from_row(r)?,
        errors: serde_json::from_str(&errors).unwrap_or_default(),
    })
}
