//! The SQLite ledger: opening (WAL, foreign keys, busy timeout), embedded migrations, and
//! typed access to every table. All SQL of timeweave lives under this module; the rest of the
//! program speaks in canonical records, links, cursors, intents, conflicts and runs.
//!
//! Every access goes through a [`Tx`]: `Ledger::write()` begins an IMMEDIATE transaction
//! (one writer at a time, no lock-upgrade deadlocks between concurrent cycles),
//! `Ledger::read()` a deferred one (a consistent snapshot for readers).
//!
//! Opening checks the file first: another application's database is refused
//! (`ownership.rs`), a damaged one reported with the ways to recover (`integrity.rs`). A
//! connection whose transaction could not be ended (a full disk makes SQLite roll back on
//! its own, and the ROLLBACK that follows fails) is closed on release instead of going
//! back to the pool, so the next cycle gets a clean one.

mod bindings;
mod conflicts;
mod cursors;
mod direct;
mod integrity;
mod issues;
mod links;
mod natural_key;
mod ownership;
mod pending;
pub mod postgres;
mod records;
mod reports;
mod runs;
mod time;
mod versions;

pub use bindings::Binding;
pub use conflicts::{ConflictRow, NewConflict};
pub use cursors::Cursor;
pub use issues::{Direction, NewIssue, RecordIssue};
pub use links::{Link, LinkUpdate};
pub use ownership::APPLICATION_ID;
pub use pending::{Claim, NewIntent, PendingPush, PushOp};
pub use records::{NaturalKeyCandidate, StoredRecord};
pub use reports::{
    DateRange, EntryRow, SyncHealthRow, TotalRow, TotalsBy, WeeklyBy, WeeklyHours, ENTRY_COLUMNS,
};
pub use runs::{RunCounts, RunStatus, RunTotals, SyncRun};
pub use time::{local_wall_time, offset_at, parse_instant, to_text, to_text_precise};

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Sqlite, Transaction};
use thiserror::Error;

/// How long a writer waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// The page cache of each connection, in KiB (SQLite's default is 2,000): a long import
/// walks four time-entry indexes and three link indexes, and with the default most page
/// reads went to the kernel (see docs/performance.md).
const PAGE_CACHE_KIB: u32 = 8192;
/// All of SQLite's memory in this process, in bytes (`soft_heap_limit`): the pool's
/// connections each grow their own cache, and together they stay under this (SQLite
/// recycles cache pages beyond it), so memory does not grow with the pool.
const SQLITE_HEAP_LIMIT: u64 = 20 << 20;
/// The level sqlx logs each statement at (target `sqlx::query`): trace, so `debug` stays
/// readable; `RUST_LOG=info,sqlx::query=trace` shows them. Slow ones still warn.
const STATEMENT_LOG_LEVEL: log::LevelFilter = log::LevelFilter::Trace;

#[derive(Debug, Error)]
pub enum LedgerError {
    #[error("cannot open the ledger at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate the ledger at {path}: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("cannot connect to the PostgreSQL ledger at {target}: {source}")]
    Connect {
        /// The URL without its password (`postgres::describe_url`).
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate the PostgreSQL ledger at {target}: {source}")]
    MigratePostgres {
        target: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error(
        "the lease of {provider} has moved to another process (fencing token {token} is no \
         longer current): this process no longer works {provider}, and its write was refused"
    )]
    LeaseLost { provider: String, token: i64 },
    #[error("ledger query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("ledger write failed: {0}")]
    Direct(#[source] rusqlite::Error),
    #[error("ledger holds data it cannot read ({what}): {detail}")]
    Corrupt { what: String, detail: String },
    #[error(
        "{path} is not a timeweave ledger ({detail}); timeweave does not add its tables to \
         another application's database: point ledger.path at a new file (it is created)"
    )]
    Foreign { path: PathBuf, detail: String },
    #[error(
        "the ledger at {path} is damaged (SQLite integrity check: {detail}). Stop timeweave, \
         then either restore the file from a backup, or move it aside (with its -wal and -shm \
         files) and run `timeweave sync` to rebuild it from the providers: records are \
         matched by natural key, nothing is duplicated; conflict history and skip notes are lost"
    )]
    Damaged { path: PathBuf, detail: String },
}

impl LedgerError {
    pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> Self {
        LedgerError::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// The ledger database. Cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub struct Ledger {
    pool: SqlitePool,
    path: PathBuf,
}

/// A transaction on the ledger; every typed query is a method of it (see the submodules).
/// Dropping it without `commit` rolls back.
pub struct Tx {
    tx: Transaction<'static, Sqlite>,
}

impl Ledger {
    /// Opens (creating if missing) the ledger at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Ledger> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| LedgerError::Open {
                    path: path.to_owned(),
                    source: sqlx::Error::Io(e),
                })?;
            }
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("cache_size", format!("-{PAGE_CACHE_KIB}"))
            .pragma("soft_heap_limit", SQLITE_HEAP_LIMIT.to_string())
            .log_statements(STATEMENT_LOG_LEVEL);
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
        let ledger = Ledger {
            pool,
            path: path.to_owned(),
        };
        ledger.migrate().await?;
        Ok(ledger)
    }

    /// Opens an existing ledger read-only (for reporting while the daemon writes): no
    /// migrations, no writes, WAL readers never block the writer.
    pub async fn open_read_only(path: &Path) -> Result<Ledger> {
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
        Ok(Ledger {
            pool,
            path: path.to_owned(),
        })
    }

    /// Applies the embedded migrations that are not applied yet (idempotent).
    pub async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(|source| LedgerError::Migrate {
                path: self.path.clone(),
                source,
            })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SQLite's quick integrity check (every page read once): `Damaged` with the ways to
    /// recover when the file is not sound. `open` runs it; `status` runs it on its
    /// read-only handle.
    pub async fn check_integrity(&self) -> Result<()> {
        integrity::quick_check(&self.pool, &self.path).await
    }

    /// Begins a write transaction (BEGIN IMMEDIATE: takes the write lock up front).
    pub async fn write(&self) -> Result<Tx> {
        Ok(Tx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
        })
    }

    /// Begins a read transaction: a consistent snapshot until dropped.
    pub async fn read(&self) -> Result<Tx> {
        Ok(Tx {
            tx: self.pool.begin().await?,
        })
    }

    /// Writes a consistent copy of the whole ledger to `path` (`VACUUM INTO`), e.g. for a
    /// dry run or a backup, while others keep reading and writing.
    pub async fn copy_to(&self, path: &Path) -> Result<()> {
        sqlx::query("VACUUM INTO ?")
            .bind(path.display().to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await
    }

    /// The applied migration versions, oldest first (for `timeweave migrate` and tests).
    pub async fn applied_migrations(&self) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }
}

#[cfg(test)]
mod file_tests;
#[cfg(test)]
mod tests;
