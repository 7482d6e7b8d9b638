//! Links: which remote record (per provider instance) is which canonical record, with the
//! hashes both sides had at the last successful sync — the third leg of the three-way
//! comparison — and the remote version, modification time and start (window membership).
//! One `LinkStore` serves both backends (`sql.rs`); only the bulk writes of a page are each
//! backend's own ([`LinkDialect`]: `sqlite/links.rs`, `pg/links.rs`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, ContentHash, Kind, RemoteId, RemoteRecord};

use super::row::ReadRow;
use super::sql::{Exec, Sql};
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

fn row_to_link(row: &impl ReadRow) -> Result<Link> {
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

/// The bulk writes of a page of links, which each backend does its own fast way (SQLite:
/// one prepared statement run through its C API; PostgreSQL: one statement over arrays).
pub(crate) trait LinkDialect: Exec {
    /// Inserts or refreshes `links` (not empty), all synced at `now` (ledger time text).
    /// A link written again loses its deleted mark, and keeps its incarnation when it still
    /// names the same canonical record and the update brings none. Several updates of one
    /// remote record: the last one given stays.
    async fn upsert_link_rows(&mut self, links: &[LinkUpdate<'_>], now: &str) -> Result<()>;

    /// Sets the incarnation of each listed link (not empty) that has none.
    async fn learn_incarnation_rows(
        &mut self,
        provider: &str,
        kind: Kind,
        learned: &[(&RemoteId, &str)],
    ) -> Result<()>;
}

/// A statement on the one link of `provider`'s `kind` whose `column` (`remote_id` or
/// `canonical_id`) is `id`: `head` (a SELECT, UPDATE or DELETE of `links`) with
/// `provider`, `kind` and `id` bound as `$1`, `$2` and `$3`.
fn one_link(head: &str, provider: &str, kind: Kind, column: &str, id: &str) -> Sql {
    Sql::new(format!(
        "{head} WHERE provider = $1 AND kind = $2 AND {column} = $3"
    ))
    .bind(provider)
    .bind(kind.as_str())
    .bind(id)
}

/// `SELECT what FROM` the live links of `provider`'s `kind`, those started in `window` when
/// given. Two statement texts, so the window one can use `links_window`.
fn live_links(
    what: &str,
    provider: &str,
    kind: Kind,
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Sql {
    let live = format!(
        "SELECT {what} FROM links WHERE provider = $1 AND kind = $2 AND remote_deleted_at IS NULL"
    );
    let sql = |text: String| Sql::new(text).bind(provider).bind(kind.as_str());
    match window {
        Some((from, to)) => sql(format!(
            "{live} AND remote_started_at >= $3 AND remote_started_at < $4"
        ))
        .bind(to_text(from))
        .bind(to_text(to)),
        None => sql(live),
    }
}

impl<B: LinkDialect> LinkStore for B {
    async fn link_by_remote(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_id: &RemoteId,
    ) -> Result<Option<Link>> {
        let head = format!("SELECT {LINK_COLS} FROM links");
        let sql = one_link(&head, provider, kind, "remote_id", remote_id.as_str());
        let row = self.fetch_optional(sql).await?;
        row.as_ref().map(row_to_link).transpose()
    }

    /// Links for many remote ids of one kind at once (one statement, the ids bound as one
    /// list).
    async fn links_by_remote(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_ids: &[&RemoteId],
    ) -> Result<HashMap<RemoteId, Link>> {
        let ids: Vec<String> = remote_ids.iter().map(|id| id.as_str().to_owned()).collect();
        let sql = Sql::new(format!(
            "SELECT {LINK_COLS} FROM links WHERE provider = $1 AND kind = $2 AND {}",
            B::in_list("remote_id", 3)
        ));
        let rows = self
            .fetch_all(sql.bind(provider).bind(kind.as_str()).bind(ids))
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
        let head = format!("SELECT {LINK_COLS} FROM links");
        let sql = one_link(&head, provider, kind, "canonical_id", canonical_id.as_str());
        let row = self.fetch_optional(sql).await?;
        row.as_ref().map(row_to_link).transpose()
    }

    /// Every link of a canonical record, across providers.
    async fn links_of(&mut self, canonical_id: &CanonicalId) -> Result<Vec<Link>> {
        let sql = Sql::new(format!(
            "SELECT {LINK_COLS} FROM links WHERE canonical_id = $1 ORDER BY provider"
        ));
        let rows = self.fetch_all(sql.bind(canonical_id.as_str())).await?;
        rows.iter().map(row_to_link).collect()
    }

    /// Upserts a page of links through the backend's bulk path (`LinkDialect`): the hot
    /// path of an import.
    async fn upsert_links(&mut self, links: &[LinkUpdate<'_>], now: DateTime<Utc>) -> Result<()> {
        if links.is_empty() {
            return Ok(());
        }
        self.upsert_link_rows(links, &to_text_precise(now)).await
    }

    /// Sets the incarnation of links that had none (written before they were kept). After
    /// an upgrade the first cycle learns every listed link: the backend's bulk path.
    async fn learn_incarnations(
        &mut self,
        provider: &str,
        kind: Kind,
        learned: &[(&RemoteId, &str)],
    ) -> Result<()> {
        if learned.is_empty() {
            return Ok(());
        }
        self.learn_incarnation_rows(provider, kind, learned).await
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
        let head = "UPDATE links SET remote_hash = $4, remote_version = $5, synced_at = $6";
        let sql = one_link(head, provider, kind, "remote_id", remote_id.as_str())
            .bind(remote_hash.as_str())
            .bind(remote_version)
            .bind(to_text_precise(now));
        self.execute(sql).await?;
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
        let head = "UPDATE links SET canonical_hash = $4, synced_at = $5";
        let sql = one_link(head, provider, kind, "canonical_id", canonical_id.as_str())
            .bind(canonical_hash.as_str())
            .bind(to_text_precise(now));
        self.execute(sql).await?;
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
        let head = "UPDATE links SET remote_deleted_at = $4, synced_at = $4";
        let sql = one_link(head, provider, kind, "remote_id", remote_id.as_str())
            .bind(to_text_precise(now));
        self.execute(sql).await?;
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
        let rows = self
            .fetch_all(live_links("remote_id", provider, kind, window))
            .await?;
        rows.iter()
            .map(|row| row.get("remote_id").map(RemoteId))
            .collect()
    }

    /// Forgets a link (the record will be matched or sent again as new).
    async fn delete_link(
        &mut self,
        provider: &str,
        kind: Kind,
        remote_id: &RemoteId,
    ) -> Result<()> {
        let sql = one_link(
            "DELETE FROM links",
            provider,
            kind,
            "remote_id",
            remote_id.as_str(),
        );
        self.execute(sql).await?;
        Ok(())
    }

    /// Live entry links of a provider whose remote start lies in `[from, to)`.
    async fn count_links_in_window(
        &mut self,
        provider: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64> {
        let sql = live_links("count(*) AS n", provider, Kind::TimeEntry, Some((from, to)));
        self.fetch_one(sql, "links count").await?.get("n")
    }

    /// How many live links a provider has per kind.
    async fn count_live_links(&mut self, provider: &str, kind: Kind) -> Result<i64> {
        let sql = live_links("count(*) AS n", provider, kind, None);
        self.fetch_one(sql, "links count").await?.get("n")
    }

    /// The earliest remote start among a provider's live entry links (deep-scan hint).
    async fn oldest_linked_start(&mut self, provider: &str) -> Result<Option<DateTime<Utc>>> {
        let sql = live_links(
            "min(remote_started_at) AS t",
            provider,
            Kind::TimeEntry,
            None,
        );
        parse_opt(self.fetch_one(sql, "oldest linked start").await?.get("t")?)
    }
}
