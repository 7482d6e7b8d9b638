//! Links on PostgreSQL: the bulk writes of a page of links (`LinkDialect`, see
//! `ledger/links.rs`), each one statement over arrays: a page's links go in one `INSERT ...
//! SELECT FROM UNNEST ... ON CONFLICT` (the import's bulk path, which keeps the table's
//! planner statistics current: `statistics.rs`), learned incarnations in one `UPDATE ...
//! FROM UNNEST`.

use std::collections::HashMap;

use timeweave_contract::{Kind, RemoteId};

use super::statistics::Grown;
use super::PgTx;
use crate::ledger::links::LinkDialect;
use crate::ledger::time::{to_text, to_text_precise};
use crate::ledger::{LinkUpdate, Result};

impl LinkDialect for PgTx {
    async fn upsert_link_rows(&mut self, links: &[LinkUpdate<'_>], now: &str) -> Result<()> {
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
        .bind(now)
        .bind(a.remote_incarnation)
        .execute(self.conn())
        .await?;
        self.keep_statistics(Grown::Links, links.len()).await
    }

    async fn learn_incarnation_rows(
        &mut self,
        provider: &str,
        kind: Kind,
        learned: &[(&RemoteId, &str)],
    ) -> Result<()> {
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
