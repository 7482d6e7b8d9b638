//! Account bindings: the account each provider instance was first synced with, and the
//! rebind that starts an instance over with another account (its links, cursors, intents
//! and recorded issues dropped; no record deleted anywhere).

use chrono::{DateTime, Utc};

use super::sqlite::SqliteTx;
use super::store::BindingStore;
use super::time::{parse_instant, to_text};
use super::Result;

/// The account an instance is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub identity: String,
    pub bound_at: DateTime<Utc>,
}

impl BindingStore for SqliteTx {
    async fn account_binding(&mut self, provider: &str) -> Result<Option<Binding>> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT identity, bound_at FROM account_bindings WHERE provider = ?")
                .bind(provider)
                .fetch_optional(self.conn())
                .await?;
        row.map(|(identity, at)| {
            Ok(Binding {
                identity,
                bound_at: parse_instant(&at)?,
            })
        })
        .transpose()
    }

    /// Binds `provider` to `identity` unless it is bound already (the first binding stays).
    async fn bind_account(
        &mut self,
        provider: &str,
        identity: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO account_bindings (provider, identity, bound_at) VALUES (?, ?, ?) \
             ON CONFLICT (provider) DO NOTHING",
        )
        .bind(provider)
        .bind(identity)
        .bind(to_text(now))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Forgets what the ledger knows of `provider`'s account: its binding, links, cursors
    /// (trail position included), open intents and recorded issues. Canonical records stay; the next cycle matches
    /// the account's records by natural key and binds to it. Returns the links dropped.
    async fn forget_account(&mut self, provider: &str) -> Result<u64> {
        let links = sqlx::query("DELETE FROM links WHERE provider = ?")
            .bind(provider)
            .execute(self.conn())
            .await?
            .rows_affected();
        for table in [
            "account_bindings",
            "cursors",
            "trail_positions",
            "pending_pushes",
            "record_issues",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE provider = ?"
            )))
            .bind(provider)
            .execute(self.conn())
            .await?;
        }
        Ok(links)
    }
}
