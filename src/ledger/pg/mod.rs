//! The PostgreSQL backend of the ledger: the pool and `PgTx`, the transaction every store
//! method runs in on PostgreSQL. The stores are written once for both backends beside each
//! table group in `ledger/` (over `sql::Exec`); `links.rs`, `records.rs` and `reports.rs`
//! here hold only PostgreSQL's side of the `LinkDialect`, `RecordDialect` and
//! `ReportDialect` hooks, with two helpers of their bulk paths: `copy_in.rs` (`COPY`'s
//! text format) and `statistics.rs` (the planner's statistics kept current during an
//! import); `copy.rs` is the copy of the ledger into a SQLite file that a dry run works on.
//! Connecting, migrations, leases and server checks are the plumbing in `postgres/`; the
//! schema and the reporting views are its migrations.
//!
//! Writers are serialised as on SQLite (`BEGIN IMMEDIATE` there): every write transaction
//! takes one transaction-scoped advisory lock first, so two processes never interleave the
//! read-then-write steps the engine relies on (a natural-key match before an insert, a
//! claim before an intent), and no row is ever duplicated by a race between nodes. Readers
//! take a REPEATABLE READ snapshot and never wait.
//!
//! Lists of ids are bound as one array and read as `IN (SELECT unnest($N::text[]))`, never
//! `= ANY($N)`: after a few runs PostgreSQL plans a prepared statement once for any values,
//! and for `= ANY` that generic plan filtered every link of an instance against the whole
//! array (16 s for 10,000 ids among 50,000 links, against 14 ms planned for the values).

mod copy;
mod copy_in;
#[cfg(test)]
mod copy_tests;
mod links;
mod records;
mod reports;
mod statistics;

use std::time::Duration;

use sqlx::postgres::{PgConnection, PgPool, Postgres};
use sqlx::Transaction;
use timeweave_contract::Secret;
use url::Url;

use super::postgres::{
    applied_migrations, connect, describe_url, migrate, IDLE_IN_TRANSACTION_TIMEOUT,
};
use super::Result;

/// The advisory lock every writer holds until its transaction ends ("TWLG", the ledger's
/// mark, as on SQLite's `application_id`).
const WRITER_LOCK: i64 = 0x5457_4C47;

/// The shortest idle limit a write transaction gets (`write`): a lease's shortest ttl.
const MIN_IDLE_LIMIT: Duration = Duration::from_secs(1);

/// A PostgreSQL ledger. Cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub(crate) struct PgLedger {
    pool: PgPool,
    /// The database as messages name it (the URL without a password).
    target: String,
    /// How it was reached (for another pool on it: `reopen`).
    url: Url,
    password: Option<Secret>,
}

/// A transaction on a PostgreSQL ledger. Dropping it without `commit` rolls back.
pub(crate) struct PgTx {
    tx: Transaction<'static, Postgres>,
}

impl PgLedger {
    /// Connects to the database at `url` and applies pending migrations.
    pub(crate) async fn open(url: &Url, password: Option<&Secret>) -> Result<PgLedger> {
        let ledger = PgLedger::open_read_only(url, password).await?;
        ledger.migrate().await?;
        Ok(ledger)
    }

    /// Connects without migrating (readers: `status`, reports, `doctor`).
    pub(crate) async fn open_read_only(url: &Url, password: Option<&Secret>) -> Result<PgLedger> {
        Ok(PgLedger {
            pool: connect(url, password).await?,
            target: describe_url(url),
            url: url.clone(),
            password: password.cloned(),
        })
    }

    pub(crate) async fn migrate(&self) -> Result<()> {
        migrate(&self.pool, &self.target).await
    }

    /// Another pool on the same database (another process's, as far as it can tell).
    pub(crate) async fn reopen(&self) -> Result<PgLedger> {
        PgLedger::open(&self.url, self.password.as_ref()).await
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Begins a write transaction, once no other writer holds the ledger. `idle_limit`:
    /// how long the transaction may wait for this process's next statement before the
    /// server ends its session (else `IDLE_IN_TRANSACTION_TIMEOUT`; at least a second). A
    /// writer holds every other writer off, so a fenced write gets its lease's ttl: a
    /// process paused mid-transaction blocks the ledger no longer than its lease would.
    pub(crate) async fn write(&self, idle_limit: Option<Duration>) -> Result<PgTx> {
        let mut tx = self.pool.begin().await?;
        let limit = idle_limit.map_or_else(
            || IDLE_IN_TRANSACTION_TIMEOUT.to_owned(),
            |d| format!("{}ms", d.max(MIN_IDLE_LIMIT).as_millis()),
        );
        sqlx::query(
            "SELECT pg_advisory_xact_lock($1), \
                    set_config('idle_in_transaction_session_timeout', $2, true)",
        )
        .bind(WRITER_LOCK)
        .bind(limit)
        .execute(&mut *tx)
        .await?;
        Ok(PgTx { tx })
    }

    /// Begins a read transaction: a consistent snapshot until dropped.
    pub(crate) async fn read(&self) -> Result<PgTx> {
        Ok(PgTx {
            tx: self
                .pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
                .await?,
        })
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await
    }

    pub(crate) async fn applied_migrations(&self) -> Result<Vec<i64>> {
        applied_migrations(&self.pool).await
    }
}

impl PgTx {
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}
