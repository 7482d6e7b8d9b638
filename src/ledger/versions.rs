//! Record versions that links still name (`record_versions`, migration 0005): kept when a
//! ledger record changes, read as the base of a three-way merge, pruned when no link names
//! them any more. One implementation serves both backends (`sql.rs`); both ways of
//! keeping a version are the one statement of `insert_version`.

use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, ContentHash, Kind, Record};

use super::row::ReadRow;
use super::sql::{Exec, Sql};
use super::store::VersionStore;
use super::{to_text_precise, LedgerError, Result};

impl<B: Exec> VersionStore for B {
    /// Keeps `record` (hash `hash`) as a version of record `id`, for a link about to name it.
    async fn keep_version(
        &mut self,
        id: &CanonicalId,
        record: &Record<CanonicalId>,
        hash: &ContentHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        insert_version(self, id, record, hash, now, false).await
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
        insert_version(self, id, old, old_hash, now, true).await
    }

    /// The version of record `id` with hash `hash`, if kept.
    async fn record_version(
        &mut self,
        kind: Kind,
        id: &CanonicalId,
        hash: &ContentHash,
    ) -> Result<Option<Record<CanonicalId>>> {
        let sql = Sql::new(
            "SELECT record FROM record_versions WHERE canonical_id = $1 AND content_hash = $2",
        )
        .bind(id.as_str())
        .bind(hash.as_str());
        let Some(row) = self.fetch_optional(sql).await? else {
            return Ok(None);
        };
        Ok(read_version(&row.get::<String>("record")?, kind, id))
    }

    /// Drops the versions no link names any more; returns how many.
    async fn prune_versions(&mut self) -> Result<u64> {
        let sql = Sql::new(
            "DELETE FROM record_versions WHERE NOT EXISTS (SELECT 1 FROM links l \
             WHERE l.canonical_id = record_versions.canonical_id \
             AND l.canonical_hash = record_versions.content_hash \
             AND l.remote_deleted_at IS NULL)",
        );
        self.execute(sql).await
    }

    /// How many record versions are kept (for tests and diagnostics).
    async fn count_versions(&mut self) -> Result<i64> {
        let sql = Sql::new("SELECT count(*) AS n FROM record_versions");
        self.fetch_one(sql, "a count").await?.get("n")
    }
}

/// One statement: the version is inserted (once), only while a link names it when
/// `only_if_linked`.
async fn insert_version(
    tx: &mut impl Exec,
    id: &CanonicalId,
    record: &Record<CanonicalId>,
    hash: &ContentHash,
    now: DateTime<Utc>,
    only_if_linked: bool,
) -> Result<()> {
    let json =
        serde_json::to_string(record).map_err(|e| LedgerError::corrupt("a record version", e))?;
    let sql = Sql::new(
        "INSERT INTO record_versions (canonical_id, content_hash, record, saved_at) \
         SELECT $1, $2, $3, $4 WHERE NOT $5 OR EXISTS \
         (SELECT 1 FROM links WHERE canonical_id = $1 AND canonical_hash = $2) \
         ON CONFLICT DO NOTHING",
    )
    .bind(id.as_str())
    .bind(hash.as_str())
    .bind(json)
    .bind(to_text_precise(now))
    .bind(only_if_linked);
    tx.execute(sql).await?;
    Ok(())
}
/// A kept version's JSON as a record of `kind`. A version is an aid, never required: one
/// that no longer reads (a model change) means no merge, not a failed cycle.
fn read_version(json: &str, kind: Kind, id: &CanonicalId) -> Option<Record<CanonicalId>> {
    match serde_json::from_str::<Record<CanonicalId>>(json) {
        Ok(record) => (record.kind() == kind).then_some(record),
        Err(e) => {
            tracing::warn!(canonical_id = %id, "a kept record version does not read: {e}");
            None
        }
    }
}
