//! Links on PostgreSQL (see `ledger/links.rs`). A page's links go in one `INSERT ... SELECT
//! FROM UNNEST ... ON CONFLICT` (the import's bulk path).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, ContentHash, Kind, RemoteId};

use super::PgTx;
use crate::ledger::links::row_to_link;
use crate::ledger::store::LinkStore;
use crate::ledger::time::{parse_opt, to_text, to_text_precise};
use crate::ledger::{Link, LinkUpdate, Result};

const LINK_COLS: &str = "provider, kind, canonical_id, remote_id, remote_hash, canonical_hash, remote_version, remote_updated_at, remote_started_at, remote_deleted_at, remote_incarnation, synced_at";

impl LinkStore for PgTx {
    async fn link_by_remote(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_id: &RemoteId,
    ) -> Result<Option<Link>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLS} FROM links WHERE provider = $1 AND kind = $2 AND remote_id = $3"
        )))
        .bind(provider)
        .bind(kind.as_str())
        .bind(remote_id.as_str())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(row_to_link).transpose()
    }

    async fn links_by_remote(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_ids: &[&RemoteId],
    ) -> Result<HashMap<RemoteId, Link>> {
        let ids: Vec<&str> = remote_ids.iter().map(|id| id.as_str()).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLS} FROM links WHERE provider = $1 AND kind = $2 AND remote_id IN (SELECT unnest($3::text[]))"
        )))
        .bind(provider)
        .bind(kind.as_str())
        .bind(ids)
        .fetch_all(self.conn())
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            let link = row_to_link(row)?;
            out.insert(link.remote_id.clone(), link);
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
            "SELECT {LINK_COLS} FROM links WHERE provider = $1 AND kind = $2 AND canonical_id = $3"
        )))
        .bind(provider)
        .bind(kind.as_str())
        .bind(canonical_id.as_str())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(row_to_link).transpose()
    }

    async fn links_of(&mut self, canonical_id: &CanonicalId) -> Result<Vec<Link>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLS} FROM links WHERE canonical_id = $1 ORDER BY provider"
        )))
        .bind(canonical_id.as_str())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(row_to_link).collect()
    }

    async fn upsert_links(&mut self, links: &[LinkUpdate<'_>], now: DateTime<Utc>) -> Result<()> {
        if links.is_empty() {
            return Ok(());
        }
        let a = LinkArrays::of(links);
        sqlx::query(
            "INSERT INTO links AS l (provider, kind, canonical_id, remote_id, remote_hash, canonical_hash, remote_version, remote_updated_at, remote_started_at, remote_deleted_at, remote_incarnation, synced_at) \
             SELECT u.provider, u.kind, u.canonical_id, u.remote_id, u.remote_hash, u.canonical_hash, u.remote_version, u.remote_updated_at, u.remote_started_at, NULL, u.remote_incarnation, $10 \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $11::text[]) \
                  AS u(provider, kind, canonical_id, remote_id, remote_hash, canonical_hash, remote_version, remote_updated_at, remote_started_at, remote_incarnation) \
             ON CONFLICT (provider, kind, remote_id) DO UPDATE SET \
               canonical_id = EXCLUDED.canonical_id, remote_hash = EXCLUDED.remote_hash, canonical_hash = EXCLUDED.canonical_hash, \
               remote_version = EXCLUDED.remote_version, remote_updated_at = EXCLUDED.remote_updated_at, \
               remote_started_at = EXCLUDED.remote_started_at, remote_deleted_at = NULL, \
               remote_incarnation = CASE WHEN l.canonical_id = EXCLUDED.canonical_id \
                 THEN coalesce(EXCLUDED.remote_incarnation, l.remote_incarnation) ELSE EXCLUDED.remote_incarnation END, \
               synced_at = EXCLUDED.synced_at",
        )
        .bind(a.provider)
        .bind(a.kind)
        .bind(a.canonical_id)
        .bind(a.remote_id)
        .bind(a.remote_hash)
        .bind(a.canonical_hash)
        .bind(a.remote_version)
        .bind(a.remote_updated_at)
        .bind(a.remote_started_at)
        .bind(to_text_precise(now))
        .bind(a.remote_incarnation)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn learn_incarnations(
        &mut self,
        provider: &str,
        kind: Kind,
        learned: &[(&RemoteId, &str)],
    ) -> Result<()> {
        if learned.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = learned.iter().map(|(id, _)| id.as_str()).collect();
        let incarnations: Vec<&str> = learned.iter().map(|(_, i)| *i).collect();
        sqlx::query(
            "UPDATE links l SET remote_incarnation = u.incarnation \
             FROM UNNEST($3::text[], $4::text[]) AS u(remote_id, incarnation) \
             WHERE l.provider = $1 AND l.kind = $2 AND l.remote_id = u.remote_id AND l.remote_incarnation IS NULL",
        )
        .bind(provider)
        .bind(kind.as_str())
        .bind(ids)
        .bind(incarnations)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn set_link_remote_hash(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_id: &RemoteId,
        remote_hash: &ContentHash,
        remote_version: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE links SET remote_hash = $4, remote_version = $5, synced_at = $6 WHERE provider = $1 AND kind = $2 AND remote_id = $3")
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

    async fn set_link_canonical_hash(
        &mut self,
        provider: &str,
        kind: Kind,
        canonical_id: &CanonicalId,
        canonical_hash: &ContentHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE links SET canonical_hash = $4, synced_at = $5 WHERE provider = $1 AND kind = $2 AND canonical_id = $3")
            .bind(provider)
            .bind(kind.as_str())
            .bind(canonical_id.as_str())
            .bind(canonical_hash.as_str())
            .bind(to_text_precise(now))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn mark_link_remote_deleted(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_id: &RemoteId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE links SET remote_deleted_at = $4, synced_at = $4 WHERE provider = $1 AND kind = $2 AND remote_id = $3")
            .bind(provider)
            .bind(kind.as_str())
            .bind(remote_id.as_str())
            .bind(to_text_precise(now))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn live_link_ids_in(
        &mut self,
        provider: &str,
        kind: Kind,
        window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<Vec<RemoteId>> {
        let ids: Vec<String> = match window {
            Some((from, to)) => sqlx::query_scalar(
                "SELECT remote_id FROM links WHERE provider = $1 AND kind = $2 AND remote_deleted_at IS NULL \
                 AND remote_started_at >= $3 AND remote_started_at < $4",
            )
            .bind(provider)
            .bind(kind.as_str())
            .bind(to_text(from))
            .bind(to_text(to))
            .fetch_all(self.conn())
            .await?,
            None => sqlx::query_scalar(
                "SELECT remote_id FROM links WHERE provider = $1 AND kind = $2 AND remote_deleted_at IS NULL",
            )
            .bind(provider)
            .bind(kind.as_str())
            .fetch_all(self.conn())
            .await?,
        };
        Ok(ids.into_iter().map(RemoteId).collect())
    }

    async fn delete_link(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_id: &RemoteId,
    ) -> Result<()> {
        sqlx::query("DELETE FROM links WHERE provider = $1 AND kind = $2 AND remote_id = $3")
            .bind(provider)
            .bind(kind.as_str())
            .bind(remote_id.as_str())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn count_links_in_window(
        &mut self,
        provider: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM links WHERE provider = $1 AND kind = 'time_entry' AND remote_deleted_at IS NULL AND remote_started_at >= $2 AND remote_started_at < $3")
            .bind(provider)
            .bind(to_text(from))
            .bind(to_text(to))
            .fetch_one(self.conn())
            .await?;
        Ok(n)
    }

    async fn count_live_links(&mut self, provider: &str, kind: Kind) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM links WHERE provider = $1 AND kind = $2 AND remote_deleted_at IS NULL")
            .bind(provider)
            .bind(kind.as_str())
            .fetch_one(self.conn())
            .await?;
        Ok(n)
    }

    async fn oldest_linked_start(&mut self, provider: &str) -> Result<Option<DateTime<Utc>>> {
        let (t,): (Option<String>,) = sqlx::query_as("SELECT min(remote_started_at) FROM links WHERE provider = $1 AND kind = 'time_entry' AND remote_deleted_at IS NULL")
            .bind(provider)
            .fetch_one(self.conn())
            .await?;
        parse_opt(t)
    }
}

/// Link updates as one array per column (what `UNNEST` takes). One update per remote
/// record, the last given (an `ON CONFLICT` statement may not touch a row twice; SQLite's
/// row-by-row upsert leaves the last one too).
#[derive(Default)]
struct LinkArrays<'a> {
    provider: Vec<&'a str>,
    kind: Vec<&'static str>,
    canonical_id: Vec<&'a str>,
    remote_id: Vec<&'a str>,
    remote_hash: Vec<&'a str>,
    canonical_hash: Vec<&'a str>,
    remote_version: Vec<Option<&'a str>>,
    remote_updated_at: Vec<Option<String>>,
    remote_started_at: Vec<Option<String>>,
    remote_incarnation: Vec<Option<&'a str>>,
}

impl<'a> LinkArrays<'a> {
    fn of(links: &'a [LinkUpdate<'a>]) -> LinkArrays<'a> {
        let mut last = HashMap::with_capacity(links.len());
        for (i, u) in links.iter().enumerate() {
            last.insert((u.provider, u.kind, u.remote_id.as_str()), i);
        }
        let mut a = LinkArrays::default();
        for (i, u) in links.iter().enumerate() {
            if last.get(&(u.provider, u.kind, u.remote_id.as_str())) != Some(&i) {
                continue;
            }
            a.provider.push(u.provider);
            a.kind.push(u.kind.as_str());
            a.canonical_id.push(u.canonical_id.as_str());
            a.remote_id.push(u.remote_id.as_str());
            a.remote_hash.push(u.remote_hash.as_str());
            a.canonical_hash.push(u.canonical_hash.as_str());
            a.remote_version.push(u.remote_version);
            a.remote_updated_at
                .push(u.remote_updated_at.map(to_text_precise));
            a.remote_started_at.push(u.remote_started_at.map(to_text));
            a.remote_incarnation.push(u.remote_incarnation);
        }
        a
    }
}
