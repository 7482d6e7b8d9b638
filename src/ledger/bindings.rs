//! Account bindings: the account each provider instance was first synced with, and the
//! rebind that starts an instance over with another account (its links, cursors, intents
//! and recorded issues dropped; no record deleted anywhere). One implementation serves
//! both backends (`sql.rs`).

use chrono::{DateTime, Utc};

use super::row::ReadRow;
use super::sql::{Exec, Sql};
use super::store::BindingStore;
use super::time::{parse_instant, to_text};
use super::Result;

/// The account an instance is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub identity: String,
    pub bound_at: DateTime<Utc>,
}

impl<B: Exec> BindingStore for B {
    async fn account_binding(&mut self, provider: &str) -> Result<Option<Binding>> {
        let sql = Sql::new("SELECT identity, bound_at FROM account_bindings WHERE provider = $1")
            .bind(provider);
        let Some(row) = self.fetch_optional(sql).await? else {
            return Ok(None);
        };
        Ok(Some(Binding {
            identity: row.get("identity")?,
            bound_at: parse_instant(&row.get::<String>("bound_at")?)?,
        }))
    }

    /// Binds `provider` to `identity` unless it is bound already (the first binding stays).
    async fn bind_account(
        &mut self,
        provider: &str,
        identity: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sql = Sql::new(
            "INSERT INTO account_bindings (provider, identity, bound_at) VALUES ($1, $2, $3) \
             ON CONFLICT (provider) DO NOTHING",
        );
        self.execute(sql.bind(provider).bind(identity).bind(to_text(now)))
            .await?;
        Ok(())
    }

    /// Forgets what the ledger knows of `provider`'s account: its binding, links, cursors
    /// (trail position included), open intents and recorded issues. Canonical records
    /// stay; the next cycle matches the account's records by natural key and binds to it.
    /// Returns the links dropped.
    async fn forget_account(&mut self, provider: &str) -> Result<u64> {
        let links = self
            .execute(Sql::new("DELETE FROM links WHERE provider = $1").bind(provider))
            .await?;
        for table in [
            "account_bindings",
            "cursors",
            "trail_positions",
            "pending_pushes",
            "record_issues",
        ] {
            let sql = Sql::new(format!("DELETE FROM {table} WHERE provider = $1"));
            self.execute(sql.bind(provider)).await?;
        }
        Ok(links)
    }
}
