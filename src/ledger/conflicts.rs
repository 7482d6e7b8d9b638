//! Conflicts: a record changed in the ledger and in a provider since their last sync, to
//! different content. Both versions are kept with the policy applied and its outcome; a
//! `manual` conflict stays open until an operator settles it (`timeweave conflicts`). One
//! implementation serves both backends (`sql.rs`).

use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, ContentHash, Kind, Record, RemoteId};

use super::row::ReadRow;
use super::sql::{Exec, Sql};
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

impl<B: Exec> ConflictStore for B {
    /// Removes conflicts resolved before `before` (an instant as `to_text_precise` writes
    /// it): history. Open ones always stay.
    async fn prune_resolved_conflicts(&mut self, before: &str) -> Result<u64> {
        let sql =
            Sql::new("DELETE FROM conflicts WHERE resolved_at IS NOT NULL AND resolved_at < $1");
        self.execute(sql.bind(before)).await
    }

    /// Records a conflict. For an open one, an already open conflict of the same record and
    /// provider is refreshed instead of duplicated. Returns the conflict id.
    async fn record_conflict(&mut self, c: &NewConflict<'_>, now: DateTime<Utc>) -> Result<i64> {
        if c.winner.is_none() {
            if let Some(id) = open_conflict_id(self, c).await? {
                refresh_conflict(self, id, c).await?;
                return Ok(id);
            }
        }
        let now = to_text_precise(now);
        let (resolved_at, resolved_by) = match c.winner {
            Some(_) => (Some(now.clone()), Some(c.policy)),
            None => (None, None),
        };
        let sql = Sql::new(
            "INSERT INTO conflicts (provider, kind, canonical_id, remote_id, ledger_record, \
             remote_record, remote_hash, remote_version, policy, winner, detected_at, \
             resolved_at, resolved_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(c.provider)
        .bind(c.ledger_record.kind().as_str())
        .bind(c.canonical_id.as_str())
        .bind(c.remote_id.as_str())
        .bind(json(c.ledger_record)?)
        .bind(json(c.remote_record)?)
        .bind(c.remote_hash.as_str())
        .bind(c.remote_version)
        .bind(c.policy)
        .bind(c.winner)
        .bind(now)
        .bind(resolved_at)
        .bind(resolved_by);
        self.fetch_one(sql, "the new conflict's id")
            .await?
            .get("id")
    }

    async fn conflicts(&mut self, open_only: bool) -> Result<Vec<ConflictRow>> {
        let sql =
            Sql::new("SELECT * FROM conflicts WHERE (NOT $1 OR resolved_at IS NULL) ORDER BY id");
        let rows = self.fetch_all(sql.bind(open_only)).await?;
        rows.iter().map(row_to_conflict).collect()
    }

    async fn conflict(&mut self, id: i64) -> Result<Option<ConflictRow>> {
        let sql = Sql::new("SELECT * FROM conflicts WHERE id = $1").bind(id);
        let row = self.fetch_optional(sql).await?;
        row.as_ref().map(row_to_conflict).transpose()
    }

    async fn resolve_conflict(
        &mut self,
        id: i64,
        winner: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sql = Sql::new(
            "UPDATE conflicts SET winner = $2, resolved_at = $3, resolved_by = $4 \
             WHERE id = $1 AND resolved_at IS NULL",
        )
        .bind(id)
        .bind(winner)
        .bind(to_text_precise(now))
        .bind(by);
        self.execute(sql).await?;
        Ok(())
    }

    /// Whether a conflict of this record with this provider waits for an operator.
    async fn has_open_conflict(
        &mut self,
        provider: &str,
        kind: Kind,
        canonical_id: &CanonicalId,
    ) -> Result<bool> {
        let sql = Sql::new(
            "SELECT 1 FROM conflicts WHERE provider = $1 AND kind = $2 \
             AND canonical_id = $3 AND resolved_at IS NULL LIMIT 1",
        )
        .bind(provider)
        .bind(kind.as_str())
        .bind(canonical_id.as_str());
        Ok(self.fetch_optional(sql).await?.is_some())
    }

    async fn count_open_conflicts(&mut self, provider: Option<&str>) -> Result<i64> {
        let sql = Sql::new(
            "SELECT count(*) AS n FROM conflicts \
             WHERE resolved_at IS NULL AND ($1 IS NULL OR provider = $1)",
        );
        self.fetch_one(sql.bind(provider), "a count")
            .await?
            .get("n")
    }
}

/// The id of the open conflict of `c`'s record with `c`'s provider, if there is one.
async fn open_conflict_id(tx: &mut impl Exec, c: &NewConflict<'_>) -> Result<Option<i64>> {
    let sql = Sql::new(
        "SELECT id FROM conflicts WHERE provider = $1 AND kind = $2 AND canonical_id = $3 \
         AND resolved_at IS NULL",
    )
    .bind(c.provider)
    .bind(c.ledger_record.kind().as_str())
    .bind(c.canonical_id.as_str());
    let row = tx.fetch_optional(sql).await?;
    row.map(|r| r.get("id")).transpose()
}

/// Lays `c`'s versions over open conflict `id`.
async fn refresh_conflict(tx: &mut impl Exec, id: i64, c: &NewConflict<'_>) -> Result<()> {
    let sql = Sql::new(
        "UPDATE conflicts SET ledger_record = $2, remote_record = $3, remote_hash = $4, \
         remote_version = $5, remote_id = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(json(c.ledger_record)?)
    .bind(json(c.remote_record)?)
    .bind(c.remote_hash.as_str())
    .bind(c.remote_version)
    .bind(c.remote_id.as_str());
    tx.execute(sql).await?;
    Ok(())
}
fn row_to_conflict(r: &impl ReadRow) -> Result<ConflictRow> {
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
