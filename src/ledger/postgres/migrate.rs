//! The PostgreSQL ledger's embedded migrations (`migrations/` beside this file; append-only,
//! the schema SQLite's migrations reach, plus the lease table). sqlx's migrator takes an
//! advisory lock, so processes starting together on one database migrate it once.

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPool;

use crate::ledger::{LedgerError, Result};

static MIGRATOR: Migrator = sqlx::migrate!("./src/ledger/postgres/migrations");

/// Applies the embedded migrations that are not applied yet (idempotent). `target` names
/// the database in the error (see [`super::describe_url`]).
pub async fn migrate(pool: &PgPool, target: &str) -> Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|source| LedgerError::MigratePostgres {
            target: target.to_owned(),
            source,
        })
}

/// The versions of the embedded migrations, oldest first.
pub fn embedded_migrations() -> Vec<i64> {
    MIGRATOR.iter().map(|m| m.version).collect()
}

/// The applied migration versions, oldest first; empty for a database never migrated.
pub async fn applied_migrations(pool: &PgPool) -> Result<Vec<i64>> {
    let (exists,): (bool,) = sqlx::query_as("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}
