//! Links on SQLite: the bulk writes of a page of links (`LinkDialect`, see `ledger/links.rs`),
//! each one prepared statement run row by row on the connection itself (`direct.rs`): the
//! hot path of an import, and the incarnations the first cycle after an upgrade learns.

use timeweave_contract::{Kind, RemoteId};

use super::SqliteTx;
use crate::ledger::links::LinkDialect;
use crate::ledger::time::{to_text, to_text_precise};
use crate::ledger::{LinkUpdate, Result};

impl LinkDialect for SqliteTx {
    async fn upsert_link_rows(&mut self, links: &[LinkUpdate<'_>], now: &str) -> Result<()> {
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
                    now,
                ])?;
            }
            Ok(())
        })
        .await
    }

    async fn learn_incarnation_rows(
        &mut self,
        provider: &str,
        kind: Kind,
        learned: &[(&RemoteId, &str)],
    ) -> Result<()> {
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
}
