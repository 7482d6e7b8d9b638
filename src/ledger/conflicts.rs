//! Conflicts: a record changed in the ledger and in a provider since their last sync, to
//! different content. Both versions are kept with the policy applied and its outcome; a
//! `manual` conflict stays open until an operator settles it (`timeweave conflicts`).

use chrono::{DateTime, Utc};
use sqlx::Row;
use timeweave_contract::{CanonicalId, ContentHash, Kind, Record, RemoteId};

use super::row::ReadRow;
use super::sqlite::SqliteTx;
use super::store::ConflictStore;
use super::time::{parse_instant, parse_opt, to_text_precise};
use super::{LedgerError, Result};

#[derive(Clone, Debug, PartialEq)]
pub struct ConflictRow {
    pub id: i64,
    pub provider: String,
    pub kind: Kind,
    pub canonical_id: CanonicalId,
    pub remote_id: RemoteId,
    pub ledger_record: Record<CanonicalId>,
    pub remote_record: Record<CanonicalId>,
    pub remote_hash: ContentHash,
    pub remote_version: Option<String>,
    pub policy: String,
    /// `Some("ledger")` / `Some("provider")` once settled.
    pub winner: Option<String>,
    pub detected_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewConflict<'a> {
    pub provider: &'a str,
    pub canonical_id: &'a CanonicalId,
    pub remote_id: &'a RemoteId,
    pub ledger_record: &'a Record<CanonicalId>,
    pub remote_record: &'a Record<CanonicalId>,
    pub remote_hash: &'a ContentHash,
    pub remote_version: Option<&'a str>,
    pub policy: &'a str,
    /// `None` leaves it open (manual policy).
    pub winner: Option<&'a str>,
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| LedgerError::corrupt("conflict record", e))
}

impl ConflictStore for SqliteTx {
    /// Removes conflicts resolved before `before` (an instant as `to_text_precise` writes
    /// it): history. Open ones always stay.
    async fn prune_resolved_conflicts(&mut self, before: &str) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM conflicts WHERE resolved_at IS NOT NULL AND resolved_at < ?")
                .bind(before)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )
    }

    /// Records a conflict. For an open one, an already open conflict of the same record and
    /// provider is refreshed instead of duplicated. Returns the conflict id.
    async fn record_conflict(&mut self, c: &NewConflict<'_>, now: DateTime<Utc>) -> Result<i64> {
        let kind = c.ledger_record.kind();
        let now = to_text_precise(now);
        let (resolved_at, resolved_by) = match c.winner {
            Some(_) => (Some(now.clone()), Some(c.policy)),
            None => (None, None),
        };
        if c.winner.is_none() {
            let existing: Option<(i64,)> = sqlx::query_as("SELECT id FROM conflicts WHERE provider = ? AND kind = ? AND canonical_id = ? AND resolved_at IS NULL")
                .bind(c.provider).bind(kind.as_str()).bind(c.canonical_id.as_str())
                .fetch_optional(self.conn()).await?;
            if let Some((id,)) = existing {
                sqlx::query("UPDATE conflicts SET ledger_record = ?2, remote_record = ?3, remote_hash = ?4, remote_version = ?5, remote_id = ?6 WHERE id = ?1")
                    .bind(id).bind(json(c.ledger_record)?).bind(json(c.remote_record)?).bind(c.remote_hash.as_str()).bind(c.remote_version).bind(c.remote_id.as_str())
                    .execute(self.conn()).await?;
                return Ok(id);
            }
        }
        let row = sqlx::query("INSERT INTO conflicts (provider, kind, canonical_id, remote_id, ledger_record, remote_record, remote_hash, remote_version, policy, winner, detected_at, resolved_at, resolved_by) \
                               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id")
            .bind(c.provider).bind(kind.as_str()).bind(c.canonical_id.as_str()).bind(c.remote_id.as_str())
            .bind(json(c.ledger_record)?).bind(json(c.remote_record)?).bind(c.remote_hash.as_str()).bind(c.remote_version)
            .bind(c.policy).bind(c.winner).bind(&now).bind(resolved_at).bind(resolved_by)
            .fetch_one(self.conn()).await?;
        Ok(row.try_get(0)?)
    }

    async fn conflicts(&mut self, open_only: bool) -> Result<Vec<ConflictRow>> {
        let rows = sqlx::query(
            "SELECT * FROM conflicts WHERE (?1 = 0 OR resolved_at IS NULL) ORDER BY id",
        )
        .bind(open_only)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(row_to_conflict).collect()
    }

    async fn conflict(&mut self, id: i64) -> Result<Option<ConflictRow>> {
        let row = sqlx::query("SELECT * FROM conflicts WHERE id = ?")
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(row_to_conflict).transpose()
    }

    async fn resolve_conflict(
        &mut self,
        id: i64,
        winner: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE conflicts SET winner = ?2, resolved_at = ?3, resolved_by = ?4 WHERE id = ?1 AND resolved_at IS NULL")
            .bind(id).bind(winner).bind(to_text_precise(now)).bind(by)
            .execute(self.conn()).await?;
        Ok(())
    }

    /// Whether a conflict of this record with this provider waits for an operator.
    async fn has_open_conflict(
        &mut self,
        provider: &str,
        kind: Kind,
        canonical_id: &CanonicalId,
    ) -> Result<bool> {
        let open: Option<i64> = sqlx::query_scalar("SELECT 1 FROM conflicts WHERE provider = ? AND kind = ? AND canonical_id = ? AND resolved_at IS NULL LIMIT 1")
            .bind(provider).bind(kind.as_str()).bind(canonical_id.as_str())
            .fetch_optional(self.conn()).await?;
        Ok(open.is_some())
    }

    async fn count_open_conflicts(&mut self, provider: Option<&str>) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL AND (?1 IS NULL OR provider = ?1)")
            .bind(provider).fetch_one(self.conn()).await?;
        Ok(n)
    }
}

pub(super) fn row_to_conflict(r: &impl ReadRow) -> Result<ConflictRow> {
    let kind: String = r.get("kind")?;
    let parse = |col: &str| -> Result<Record<CanonicalId>> {
        let text: String = r.get(col)?;
        serde_json::from_str(&text).map_err(|e| LedgerError::corrupt(format!("conflicts.{col}"), e))
    };
    Ok(ConflictRow {
        id: r.get("id")?,
        provider: r.get("provider")?,
        kind: Kind::parse(&kind).ok_or_else(|| LedgerError::corrupt("conflicts.kind", &kind))?,
        canonical_id: CanonicalId(r.get("canonical_id")?),
        remote_id: RemoteId(r.get("remote_id")?),
        ledger_record: parse("ledger_record")?,
        remote_record: parse("remote_record")?,
        remote_hash: ContentHash(r.get("remote_hash")?),
        remote_version: r.get("remote_version")?,
        policy: r.get("policy")?,
        winner: r.get("winner")?,
        detected_at: parse_instant(&r.get::<String>("detected_at")?)?,
        resolved_at: parse_opt(r.get("resolved_at")?)?,
        resolved_by: r.get("resolved_by")?,
    })
}
