//! The PostgreSQL ledger's embedded migrations (`migrations/` beside this file; append-only,
//! the schema SQLite's migrations reach, plus the lease table). sqlx's migrator takes an
//! advisory lock, so processes starting together on one database migrate it once.
//!
//! Embedded as a `Migrator` built by hand from `include_str!`, as SQLite's are
//! (`ledger/migrations.rs`): sqlx's `migrate!` macro would compile SQLite a second time.

use std::sync::LazyLock;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPool;

use crate::ledger::migrations::migrator_of;
use crate::ledger::{LedgerError, Result};

/// `(version, description, SQL)`, the description as sqlx derives it from the file name
/// (underscores as spaces). A new file in `migrations/` needs a line here too (a test
/// compares this list with the folder).
const MIGRATIONS: [(i64, &str, &str); 3] = [
    (1, "ledger", include_str!("migrations/0001_ledger.sql")),
    (2, "leases", include_str!("migrations/0002_leases.sql")),
    (
        3,
        "trail positions",
        include_str!("migrations/0003_trail_positions.sql"),
    ),
];

static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| migrator_of(&MIGRATIONS));

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksums (SHA-384 of the SQL, as sqlx records them in `_sqlx_migrations`) of
    /// the migrations released so far: a migration that changes after release makes every
    /// PostgreSQL ledger it was applied to refuse to migrate.
    const RECORDED: [(i64, &str); 2] = [
        (1, "58e058cad5e0cf205ae6f0f0ffc32e8fe2a03c91429eb718db4c0c2abefebfdd5e4da9017cb4f7d6314fb8e10dbf85f4"),
        (2, "f6880d98a5e6f6ed5b7430cd77cdd0b5a84796b02fa39c3d24b0c9055e349fd266eeb72c5a6519c70e9e6e6328d7c58d"),
    ];

    #[test]
    fn the_released_migrations_keep_their_checksums() {
        for (version, checksum) in RECORDED {
            let migration = MIGRATOR.iter().find(|m| m.version == version).unwrap();
            let hex: String = migration
                .checksum
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(hex, checksum, "migration {version}");
        }
    }

    #[test]
    fn every_file_in_the_migrations_folder_is_embedded() {
        use crate::ledger::migrations::{files_in, listed};
        assert_eq!(
            files_in("src/ledger/postgres/migrations"),
            listed(&MIGRATIONS)
        );
    }
}
