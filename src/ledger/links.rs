//! Links: which remote record (per provider instance) is which canonical record, with the
//! hashes both sides had at the last successful sync — the third leg of the three-way
//! comparison — and the remote version, modification time and start (window membership).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, ContentHash, Kind, RemoteId, RemoteRecord};

use super::row::ReadRow;
use super::sqlite::SqliteTx;
use super::store::LinkStore;
use super::time::{parse_instant, parse_opt, to_text, to_text_precise};
use super::{LedgerError, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub provider: String,
    pub kind: Kind,
    pub canonical_id: CanonicalId,
    pub remote_id: RemoteId,
    pub remote_hash: ContentHash,
    pub canonical_hash: ContentHash,
    pub remote_version: Option<String>,
    pub remote_updated_at: Option<DateTime<Utc>>,
    pub remote_started_at: Option<DateTime<Utc>>,
    pub remote_deleted_at: Option<DateTime<Utc>>,
    /// The adapter's incarnation of the remote record (see migration 0003).
    pub remote_incarnation: Option<String>,
    pub synced_at: DateTime<Utc>,
}

impl Link {
    pub fn is_live(&self) -> bool {
        self.remote_deleted_at.is_none()
    }

    /// `remote` carries this link's remote id but is a later record: the provider gave
    /// the id again after the linked record was deleted. Only decided when both sides
    /// know their incarnation, and only for a strictly later one.
    pub fn is_reused_by(&self, remote: &RemoteRecord) -> bool {
        matches!(
            (&self.remote_incarnation, &remote.incarnation),
            (Some(ours), Some(theirs)) if theirs > ours
        )
    }
}

/// What a successful sync of one record writes into its link.
#[derive(Clone, Debug)]
pub struct LinkUpdate<'a> {
    pub provider: &'a str,
    pub kind: Kind,
    pub canonical_id: &'a CanonicalId,
    pub remote_id: &'a RemoteId,
    pub remote_hash: &'a ContentHash,
    pub canonical_hash: &'a ContentHash,
    pub remote_version: Option<&'a str>,
    pub remote_updated_at: Option<DateTime<Utc>>,
    pub remote_started_at: Option<DateTime<Utc>>,
    pub remote_incarnation: Option<&'a str>,
}

impl<'a> LinkUpdate<'a> {
    /// The link of `canonical_id` to `remote` as the provider now holds it.
    pub fn of_remote(
        provider: &'a str,
        remote: &'a RemoteRecord,
        remote_hash: &'a ContentHash,
        canonical_id: &'a CanonicalId,
        canonical_hash: &'a ContentHash,
    ) -> LinkUpdate<'a> {
        LinkUpdate {
            provider,
            kind: remote.kind(),
            canonical_id,
            remote_id: &remote.id,
            remote_hash,
            canonical_hash,
            remote_version: remote.version.as_deref(),
            remote_updated_at: remote.modified_at,
            remote_started_at: remote.record.started_at(),
            remote_incarnation: remote.incarnation.as_deref(),
        }
    }
}

const LINK_COLS: &str = "provider, kind, canonical_id, remote_id, remote_hash, canonical_hash, remote_version, remote_updated_at, remote_started_at, remote_deleted_at, remote_incarnation, synced_at";

pub(super) fn row_to_link(row: &impl ReadRow) -> Result<Link> {
    let kind: String = row.get("kind")?;
    Ok(Link {
        provider: row.get("provider")?,
        kind: Kind::parse(&kind).ok_or_else(|| LedgerError::corrupt("links.kind", &kind))?,
        canonical_id: CanonicalId(row.get("canonical_id")?),
        remote_id: RemoteId(row.get("remote_id")?),
        remote_hash: ContentHash(row.get("remote_hash")?),
        canonical_hash: ContentHash(row.get("canonical_hash")?),
        remote_version: row.get("remote_version")?,
        remote_updated_at: parse_opt(row.get("remote_updated_at")?)?,
        remote_started_at: parse_opt(row.get("remote_started_at")?)?,
        remote_deleted_at: parse_opt(row.get("remote_deleted_at")?)?,
        remote_incarnation: row.get("remote_incarnation")?,
        synced_at: parse_instant(&row.get::<String>("synced_at")?)?,
    })
}

impl LinkStore for SqliteTx {
    async fn link_by_remote(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_id: &RemoteId,
    ) -> Result<Option<Link>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLS} FROM links WHERE provider = ? AND kind = ? AND remote_id = ?"
        )))
        .bind(provider)
        .bind(kind.as_str())
        .bind(remote_id.as_str())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(row_to_link).transpose()
    }

    /// Links for many remote ids of one kind at once (one query per 500 ids).
    async fn links_by_remote(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_ids: &[&RemoteId],
    ) -> Result<HashMap<RemoteId, Link>> {
        let mut out = HashMap::with_capacity(remote_ids.len());
        for chunk in remote_ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT {LINK_COLS} FROM links WHERE provider = ? AND kind = ? AND remote_id IN ({marks})"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(provider)
                .bind(kind.as_str());
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for row in q.fetch_all(self.conn()).await? {
                let link = row_to_link(&row)?;
                out.insert(link.remote_id.clone(), link);
            }
        }
        Ok(out)
    }

    async fn link_by_canonical(
        &mut self,
        provider: &str,
        kind: Kind,
        canonical_id: &CanonicalId,
    ) -> Result<Option<Link>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLS} FROM links WHERE provider = ? AND kind = ? AND canonical_id = ?"
        )))
        .bind(provider)
        .bind(kind.as_str())
        .bind(canonical_id.as_str())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(row_to_link).transpose()
    }

    /// Every link of a canonical record, across providers.
    async fn links_of(&mut self, canonical_id: &CanonicalId) -> Result<Vec<Link>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLS} FROM links WHERE canonical_id = ? ORDER BY provider"
        )))
        .bind(canonical_id.as_str())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(row_to_link).collect()
    }

    /// Upserts many links through one prepared statement on the connection itself (see
    /// `direct.rs`): the hot path of an import.
    async fn upsert_links(&mut self, links: &[LinkUpdate<'_>], now: DateTime<Utc>) -> Result<()> {
        if links.is_empty() {
            return Ok(());
        }
        let now = to_text_precise(now);
        self.direct(|conn| {
            let mut upsert = conn.prepare(
                "INSERT INTO links (provider, kind, canonical_id, remote_id, remote_hash, canonical_hash, remote_version, remote_updated_at, remote_started_at, remote_deleted_at, remote_incarnation, synced_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10, ?11) \
                 ON CONFLICT (provider, kind, remote_id) DO UPDATE SET \
                   canonical_id = excluded.canonical_id, remote_hash = excluded.remote_hash, canonical_hash = excluded.canonical_hash, \
                   remote_version = excluded.remote_version, remote_updated_at = excluded.remote_updated_at, \
                   remote_started_at = excluded.remote_started_at, remote_deleted_at = NULL, \
                   remote_incarnation = CASE WHEN canonical_id = excluded.canonical_id \
                     THEN coalesce(excluded.remote_incarnation, remote_incarnation) ELSE excluded.remote_incarnation END, \
                   synced_at = excluded.synced_at",
            )?;
            for u in links {
                upsert.execute(rusqlite::params![
                    u.provider,
                    u.kind.as_str(),
                    u.canonical_id.as_str(),
                    u.remote_id.as_str(),
                    u.remote_hash.0.as_str(),
                    u.canonical_hash.0.as_str(),
                    u.remote_version,
                    u.remote_updated_at.map(to_text_precise),
                    u.remote_started_at.map(to_text),
                    u.remote_incarnation,
                    now.as_str(),
                ])?;
            }
            Ok(())
        })
        .await
    }

    /// Sets the incarnation of links that had none (written before they were kept).
    async fn learn_incarnations(
        &mut self,
        provider: &str,
        kind: Kind,
        learned: &[(&RemoteId, &str)],
    ) -> Result<()> {
        if learned.is_empty() {
            return Ok(());
        }
        // After an upgrade the first cycle learns every listed link: one prepared
        // statement on the connection itself, like an import (see `direct.rs`).
        self.direct(|conn| {
            let mut learn = conn.prepare(
                "UPDATE links SET remote_incarnation = ?4 \
                 WHERE provider = ?1 AND kind = ?2 AND remote_id = ?3 AND remote_incarnation IS NULL",
            )?;
            for (remote_id, incarnation) in learned {
                learn.execute(rusqlite::params![
                    provider,
                    kind.as_str(),
                    remote_id.as_str(),
                    incarnation
                ])?;
            }
            Ok(())
        })
        .await
    }

    /// Records that the remote side was seen again with this hash (ledger side unchanged).
    async fn set_link_remote_hash(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_id: &RemoteId,
        remote_hash: &ContentHash,
        remote_version: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE links SET remote_hash = ?4, remote_version = ?5, synced_at = ?6 WHERE provider = ?1 AND kind = ?2 AND remote_id = ?3")
            .bind(provider)
            .bind(kind.as_str())
            .bind(remote_id.as_str())
            .bind(remote_hash.as_str())
            .bind(remote_version)
            .bind(to_text_precise(now))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Sets the canonical hash a link remembers (e.g. `unsynced`, so the ledger version is
    /// sent on the next push; or the new hash after taking the provider's version).
    async fn set_link_canonical_hash(
        &mut self,
        provider: &str,
        kind: Kind,
        canonical_id: &CanonicalId,
        canonical_hash: &ContentHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE links SET canonical_hash = ?4, synced_at = ?5 WHERE provider = ?1 AND kind = ?2 AND canonical_id = ?3")
            .bind(provider)
            .bind(kind.as_str())
            .bind(canonical_id.as_str())
            .bind(canonical_hash.as_str())
            .bind(to_text_precise(now))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// The remote record is gone (deleted remotely, or deleted/archived by our push). The
    /// link stays, so the record is never re-created there nor re-imported from there.
    async fn mark_link_remote_deleted(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_id: &RemoteId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE links SET remote_deleted_at = ?4, synced_at = ?4 WHERE provider = ?1 AND kind = ?2 AND remote_id = ?3")
            .bind(provider)
            .bind(kind.as_str())
            .bind(remote_id.as_str())
            .bind(to_text_precise(now))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// The remote ids of a provider's live links of one kind, those started in `window`
    /// when given: what a complete listing must have shown (ids only: a window can hold
    /// tens of thousands).
    async fn live_link_ids_in(
        &mut self,
        provider: &str,
        kind: Kind,
        window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<Vec<RemoteId>> {
        // Two statements, so the window one can use links_window.
        let ids: Vec<String> = match window {
            Some((from, to)) => sqlx::query_scalar(
                "SELECT remote_id FROM links WHERE provider = ? AND kind = ? AND remote_deleted_at IS NULL \
                 AND remote_started_at >= ? AND remote_started_at < ?",
            )
            .bind(provider)
            .bind(kind.as_str())
            .bind(to_text(from))
            .bind(to_text(to))
            .fetch_all(self.conn())
            .await?,
            None => sqlx::query_scalar(
                "SELECT remote_id FROM links WHERE provider = ? AND kind = ? AND remote_deleted_at IS NULL",
            )
            .bind(provider)
            .bind(kind.as_str())
            .fetch_all(self.conn())
            .await?,
        };
        Ok(ids.into_iter().map(RemoteId).collect())
    }

    /// Forgets a link (the record will be matched or sent again as new).
    async fn delete_link(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_id: &RemoteId,
    ) -> Result<()> {
        sqlx::query("DELETE FROM links WHERE provider = ? AND kind = ? AND remote_id = ?")
            .bind(provider)
            .bind(kind.as_str())
            .bind(remote_id.as_str())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Live entry links of a provider whose remote start lies in `[from, to)`.
    async fn count_links_in_window(
        &mut self,
        provider: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM links WHERE provider = ? AND kind = 'time_entry' AND remote_deleted_at IS NULL AND remote_started_at >= ? AND remote_started_at < ?")
            .bind(provider)
            .bind(to_text(from))
            .bind(to_text(to))
            .fetch_one(self.conn())
            .await?;
        Ok(n)
    }

    /// How many live links a provider has per kind.
    async fn count_live_links(&mut self, provider: &str, kind: Kind) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM links WHERE provider = ? AND kind = ? AND remote_deleted_at IS NULL")
            .bind(provider)
            .bind(kind.as_str())
            .fetch_one(self.conn())
            .await?;
        Ok(n)
    }

    /// The earliest remote start among a provider's live entry links (deep-scan hint).
    async fn oldest_linked_start(&mut self, provider: &str) -> Result<Option<DateTime<Utc>>> {
        let (t,): (Option<String>,) = sqlx::query_as("SELECT min(remote_started_at) FROM links WHERE provider = ? AND kind = 'time_entry' AND remote_deleted_at IS NULL")
            .bind(provider)
            .fetch_one(self.conn())
            .await?;
        parse_opt(t)
    }
}
