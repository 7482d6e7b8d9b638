//! Record versions that links still name (`record_versions`, migration 0005): kept when a
//! ledger record changes, read as the base of a three-way merge, pruned when no link names
//! them any more.

use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, ContentHash, Kind, Record};

use super::sqlite::SqliteTx;
use super::store::VersionStore;
use super::{to_text_precise, LedgerError, Result};

impl VersionStore for SqliteTx {
    /// Keeps `record` (hash `hash`) as a version of record `id`, for a link about to name it.
    async fn keep_version(
        &mut self,
        id: &CanonicalId,
        record: &Record<CanonicalId>,
        hash: &ContentHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.insert_version(id, record, hash, now, false).await
    }

    /// Before record `id` changes away from `old` (its current content, with hash
    /// `old_hash`): keeps that version if a link names it.
    async fn keep_version_if_linked(
        &mut self,
        id: &CanonicalId,
        old: &Record<CanonicalId>,
        old_hash: &ContentHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.insert_version(id, old, old_hash, now, true).await
    }

    /// The version of record `id` with hash `hash`, if kept.
    async fn record_version(
        &mut self,
        kind: Kind,
        id: &CanonicalId,
        hash: &ContentHash,
    ) -> Result<Option<Record<CanonicalId>>> {
        let json: Option<String> = sqlx::query_scalar(
            "SELECT record FROM record_versions WHERE canonical_id = ? AND content_hash = ?",
        )
        .bind(id.as_str())
        .bind(hash.as_str())
        .fetch_optional(self.conn())
        .await?;
        Ok(json.and_then(|json| read_version(&json, kind, id)))
    }

    /// Drops the versions no link names any more; returns how many.
    async fn prune_versions(&mut self) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM record_versions WHERE NOT EXISTS (SELECT 1 FROM links l \
             WHERE l.canonical_id = record_versions.canonical_id \
             AND l.canonical_hash = record_versions.content_hash \
             AND l.remote_deleted_at IS NULL)",
        )
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// How many record versions are kept (for tests and diagnostics).
    async fn count_versions(&mut self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM record_versions")
            .fetch_one(self.conn())
            .await?)
    }
}

impl SqliteTx {
    /// One statement: the version is inserted (once), only while a link names it when
    /// `only_if_linked`.
    async fn insert_version(
        &mut self,
        id: &CanonicalId,
        record: &Record<CanonicalId>,
        hash: &ContentHash,
        now: DateTime<Utc>,
        only_if_linked: bool,
    ) -> Result<()> {
        let json = serde_json::to_string(record)
            .map_err(|e| LedgerError::corrupt("a record version", e))?;
        sqlx::query(
            "INSERT OR IGNORE INTO record_versions (canonical_id, content_hash, record, saved_at) \
             SELECT ?1, ?2, ?3, ?4 WHERE ?5 = 0 OR EXISTS \
             (SELECT 1 FROM links WHERE canonical_id = ?1 AND canonical_hash = ?2)",
        )
        .bind(id.as_str())
        .bind(hash.as_str())
        .bind(json)
        .bind(to_text_precise(now))
        .bind(only_if_linked)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

/// A kept version's JSON as a record of `kind`. A version is an aid, never required: one
/// that no longer reads (a model change) means no merge, not a failed cycle.
pub(super) fn read_version(
    json: &str,
    kind: Kind,
    id: &CanonicalId,
) -> Option<Record<CanonicalId>> {
    match serde_json::from_str::<Record<CanonicalId>>(json) {
        Ok(record) => (record.kind() == kind).then_some(record),
        Err(e) => {
            tracing::warn!(canonical_id = %id, "a kept record version does not read: {e}");
            None
        }
    }
}
