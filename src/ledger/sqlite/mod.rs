//! The SQLite backend of the ledger: opening the file (WAL, foreign keys, busy timeout,
//! page cache, `natural_key()`), its integrity check and ownership mark, the
//! migrations `ledger/migrations.rs` embeds, and the transaction every SQLite store method runs in.
//! Store logic shared with PostgreSQL lives beside each table group in `ledger/` (over
//! `sql::Exec`); what only SQLite does (the import's direct C-API paths, such as the bulk
//! insert of time entries in `records.rs`; `natural_key()`; the reporting SQL of its
//! dialect in `reports.rs`) lives here.
//!
//! Every access goes through a [`SqliteTx`]: a write begins an IMMEDIATE transaction (one
//! writer at a time, no lock-upgrade deadlocks between concurrent cycles), a read a
//! deferred one (a consistent snapshot for readers). A connection whose transaction could
//! not be ended (a full disk makes SQLite roll back on its own, and the ROLLBACK that
//! follows fails) is closed on release instead of going back to the pool, so the next
//! cycle gets a clean one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection, Sqlite, Transaction};

mod direct;
mod integrity;
mod links;
mod natural_key;
mod ownership;
mod records;
mod reports;

pub use ownership::APPLICATION_ID;

use super::{migrations, LedgerError, Result};

/// How long a writer waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// The pragmas every read-write connection of the ledger runs when it opens, as
/// `(name, value)`. Public so that the benchmark's SQLite bounds run under the ledger's
/// own settings rather than a copy of them.
///
/// - WAL, `synchronous = NORMAL`, foreign keys on.
/// - `cache_size`: the page cache of each connection, 8 MiB (negative: KiB; SQLite's
///   default is 2,000 KiB): a long import walks four time-entry indexes and three link
///   indexes, and with the default most page reads went to the kernel (see
///   docs/performance.md).
/// - `soft_heap_limit`: all of SQLite's memory in this process, 20 MiB: the pool's
///   connections each grow their own cache, and together they stay under this (SQLite
///   recycles cache pages beyond it), so memory does not grow with the pool.
pub const WRITER_PRAGMAS: [(&str, &str); 5] = [
    ("journal_mode", "WAL"),
    ("synchronous", "NORMAL"),
    ("foreign_keys", "ON"),
    ("cache_size", "-8192"),
    ("soft_heap_limit", "20971520"),
];
/// The level sqlx logs each statement at (target `sqlx::query`): trace, so `debug` stays
/// readable; `RUST_LOG=info,sqlx::query=trace` shows them. Slow ones still warn.
const STATEMENT_LOG_LEVEL: log::LevelFilter = log::LevelFilter::Trace;

/// A SQLite ledger file. Cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub(crate) struct SqliteLedger {
    pool: SqlitePool,
    path: PathBuf,
}

/// A transaction on a SQLite ledger. Dropping it without `commit` rolls back.
pub(crate) struct SqliteTx {
    pub(super) tx: Transaction<'static, Sqlite>,
}

impl SqliteLedger {
    /// Opens (creating if missing) the ledger at `path` and applies pending migrations.
    pub(crate) async fn open(path: &Path) -> Result<SqliteLedger> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| LedgerError::Open {
                    path: path.to_owned(),
                    source: sqlx::Error::Io(e),
                })?;
            }
        }
        let options = WRITER_PRAGMAS.iter().fold(
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .busy_timeout(BUSY_TIMEOUT)
                .log_statements(STATEMENT_LOG_LEVEL),
            |options, (name, value)| options.pragma(*name, *value),
        );
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| Box::pin(natural_key::register(conn)))
            .after_release(|conn, _| {
                Box::pin(async move {
                    // The ping runs after any rollback queued on release, so the depth read
                    // next is settled; a transaction still open means its end failed.
                    conn.ping().await?;
                    Ok(!conn.is_in_transaction())
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| integrity::open_error(path, source))?;
        integrity::quick_check(&pool, path).await?;
        ownership::claim(&pool, path, true).await?;
        let ledger = SqliteLedger {
            pool,
            path: path.to_owned(),
        };
        ledger.migrate().await?;
        Ok(ledger)
    }

    /// Opens an existing ledger read-only (for reporting while the daemon writes): no
    /// migrations, no writes, WAL readers never block the writer.
    pub(crate) async fn open_read_only(path: &Path) -> Result<SqliteLedger> {
        // A file name, not a URL: `?`, `#` and `%` in a path are just characters.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(BUSY_TIMEOUT)
            .log_statements(STATEMENT_LOG_LEVEL);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .after_connect(|conn, _| Box::pin(natural_key::register(conn)))
            .connect_with(options)
            .await
            .map_err(|source| integrity::open_error(path, source))?;
        ownership::claim(&pool, path, false).await?;
        Ok(SqliteLedger {
            pool,
            path: path.to_owned(),
        })
    }

    /// Applies the embedded migrations that are not applied yet (idempotent).
    pub(crate) async fn migrate(&self) -> Result<()> {
        migrations::migrator()
            .run(&self.pool)
            .await
            .map_err(|source| LedgerError::Migrate {
                path: self.path.clone(),
                source,
            })
    }

    #[cfg(test)]
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// SQLite's quick integrity check (every page read once).
    pub(crate) async fn check_integrity(&self) -> Result<()> {
        integrity::quick_check(&self.pool, &self.path).await
    }

    /// Begins a write transaction (BEGIN IMMEDIATE: takes the write lock up front).
    pub(crate) async fn write(&self) -> Result<SqliteTx> {
        Ok(SqliteTx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
        })
    }

    /// Begins a read transaction: a consistent snapshot until dropped.
    pub(crate) async fn read(&self) -> Result<SqliteTx> {
        Ok(SqliteTx {
            tx: self.pool.begin().await?,
        })
    }

    /// Writes a consistent copy of the whole ledger to `path` (`VACUUM INTO`).
    pub(crate) async fn copy_to(&self, path: &Path) -> Result<()> {
        sqlx::query("VACUUM INTO ?")
            .bind(path.display().to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await
    }

    /// The applied migration versions, oldest first.
    pub(crate) async fn applied_migrations(&self) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }
}

impl SqliteTx {
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }
}
