//! The ledger: one storage boundary (`store.rs`, a small trait per table group) with two
//! backends, SQLite (`sqlite/`, the embedded default) and PostgreSQL (`pg/`). Each table
//! group's store is written once, in its file here, over `sql.rs` (one SQL text for both
//! backends); the backends keep only what their dialects do differently. All SQL of
//! timeweave lives under this module; the rest of the
//! program speaks in canonical records, links, cursors, intents, conflicts and runs, and
//! holds a [`Ledger`] and its [`Tx`] whatever the backend.
//!
//! Every access goes through a [`Tx`]: `Ledger::write()` begins a write transaction (SQLite:
//! IMMEDIATE, one writer at a time), `Ledger::read()` a consistent snapshot for readers.
//!
//! Opening a SQLite file checks it first: another application's database is refused
//! (`sqlite/ownership.rs`), a damaged one reported with the ways to recover
//! (`sqlite/integrity.rs`).

mod bindings;
mod conflicts;
mod cursors;
mod issues;
mod links;
mod migrations;
mod pending;
mod pg;
pub mod postgres;
mod records;
mod reports;
mod row;
mod runs;
mod sql;
mod sqlite;
mod store;
#[doc(hidden)]
pub mod test_backend;
mod time;
mod versions;
pub use bindings::Binding;
pub use conflicts::{ConflictRow, NewConflict};
pub use cursors::{Cursor, TrailMark};
pub use issues::{Direction, NewIssue, RecordIssue};
pub use links::{Link, LinkUpdate};
pub use pending::{Claim, NewIntent, PendingPush, PushOp};
pub use records::{NaturalKeyCandidate, StoredRecord};
pub use reports::{
    DateRange, EntryRow, SyncHealthRow, TotalRow, TotalsBy, WeeklyBy, WeeklyHours, ENTRY_COLUMNS,
};
pub use runs::{RunCounts, RunStatus, RunTotals, SyncRun};
pub use sqlite::APPLICATION_ID;
pub use sqlite::WRITER_PRAGMAS;
pub use time::{local_wall_time, offset_at, parse_instant, to_text, to_text_precise};

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use thiserror::Error;

use pg::{PgLedger, PgTx};
use sqlite::{SqliteLedger, SqliteTx};
use timeweave_contract::Secret;
use url::Url;

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
    backend: LedgerBackend,
    /// Every write transaction checks, just before it commits, that this lease is still
    /// held under this token (PostgreSQL; see `fenced`).
    fence: Option<Fence>,
}

/// A provider instance's lease: the fencing token it was taken with, and its ttl (how long
/// a fenced transaction may stay idle, see `PgLedger::write`).
#[derive(Clone, Debug)]
struct Fence {
    provider: String,
    token: postgres::FencingToken,
    ttl: std::time::Duration,
}

#[derive(Clone, Debug)]
enum LedgerBackend {
    Sqlite(SqliteLedger),
    Postgres(PgLedger),
}

/// A transaction on the ledger; every typed query is a method of it (declared in
/// `store.rs`, written per backend). Dropping it without `commit` rolls back.
pub struct Tx {
    backend: TxBackend,
    fence: Option<Fence>,
}

enum TxBackend {
    Sqlite(SqliteTx),
    Postgres(PgTx),
}

impl Ledger {
    /// Opens (creating if missing) the SQLite ledger at `path` and applies pending
    /// migrations.
    pub async fn open(path: &Path) -> Result<Ledger> {
        let sqlite = SqliteLedger::open(path).await?;
        Ok(Ledger {
            backend: LedgerBackend::Sqlite(sqlite),
            fence: None,
        })
    }

    /// Opens an existing SQLite ledger read-only (for reporting while the daemon writes):
    /// no migrations, no writes, WAL readers never block the writer.
    pub async fn open_read_only(path: &Path) -> Result<Ledger> {
        let sqlite = SqliteLedger::open_read_only(path).await?;
        Ok(Ledger {
            backend: LedgerBackend::Sqlite(sqlite),
            fence: None,
        })
    }

    /// Connects to the PostgreSQL ledger at `url` (`postgres://user@host/db`; the password
    /// from its secret, never in the URL) and applies pending migrations.
    pub async fn open_postgres(url: &Url, password: Option<&Secret>) -> Result<Ledger> {
        let pg = PgLedger::open(url, password).await?;
        Ok(Ledger {
            backend: LedgerBackend::Postgres(pg),
            fence: None,
        })
    }

    /// Connects to the PostgreSQL ledger at `url` without migrating it (readers).
    pub async fn open_postgres_read_only(url: &Url, password: Option<&Secret>) -> Result<Ledger> {
        let pg = PgLedger::open_read_only(url, password).await?;
        Ok(Ledger {
            backend: LedgerBackend::Postgres(pg),
            fence: None,
        })
    }

    /// Another handle (its own pool) on the same ledger, as another process would open it.
    pub async fn reopen(&self) -> Result<Ledger> {
        let backend = match &self.backend {
            LedgerBackend::Sqlite(l) => LedgerBackend::Sqlite(SqliteLedger::open(l.path()).await?),
            LedgerBackend::Postgres(l) => LedgerBackend::Postgres(l.reopen().await?),
        };
        Ok(Ledger {
            backend,
            fence: None,
        })
    }

    /// This ledger with every write transaction fenced by `lease`: its commit is refused
    /// ([`LedgerError::LeaseLost`], the transaction rolled back) unless the lease's token is
    /// still current, so a process that lost the lease (paused, partitioned) writes nothing
    /// more for that instance; and a fenced transaction left idle longer than the lease's
    /// ttl (the process paused inside it) is ended by the server, so it holds the ledger's
    /// writers off no longer than the lease. No effect on SQLite, which one process holds
    /// at a time (`lock.rs`).
    pub fn fenced(&self, lease: &postgres::Lease) -> Ledger {
        Ledger {
            backend: self.backend.clone(),
            fence: Some(Fence {
                provider: lease.provider.clone(),
                token: lease.token,
                ttl: lease.ttl,
            }),
        }
    }

    /// A failure of this handle's writes as what it was: on a fenced handle whose lease
    /// has moved to another process meanwhile, `LeaseLost` (whatever broke the write: the
    /// server ending a paused process's idle transaction gives a connection error); else
    /// `failure` itself.
    pub async fn explain_write_failure(&self, failure: LedgerError) -> LedgerError {
        match (&self.backend, &self.fence) {
            (LedgerBackend::Postgres(l), Some(fence)) => {
                postgres::explain_fenced_failure(l.pool(), &fence.provider, fence.token, failure)
                    .await
            }
            _ => failure,
        }
    }

    /// Whether this handle's writes are fenced by a lease (see `fenced`): the instance is
    /// worked by this process alone, whoever claimed its open intents before.
    pub fn is_fenced(&self) -> bool {
        self.fence.is_some()
    }

    /// The PostgreSQL pool (leases), `None` on SQLite.
    pub fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        match &self.backend {
            LedgerBackend::Sqlite(_) => None,
            LedgerBackend::Postgres(l) => Some(l.pool()),
        }
    }

    /// Applies the embedded migrations that are not applied yet (idempotent).
    pub async fn migrate(&self) -> Result<()> {
        match &self.backend {
            LedgerBackend::Sqlite(l) => l.migrate().await,
            LedgerBackend::Postgres(l) => l.migrate().await,
        }
    }

    /// The ledger file; `None` on PostgreSQL.
    pub fn path(&self) -> Option<&Path> {
        match &self.backend {
            LedgerBackend::Sqlite(l) => Some(l.path()),
            LedgerBackend::Postgres(_) => None,
        }
    }

    /// Where the ledger is, for messages: its file, or its database URL without password.
    pub fn location(&self) -> String {
        match &self.backend {
            LedgerBackend::Sqlite(l) => l.path().display().to_string(),
            LedgerBackend::Postgres(l) => l.target().to_owned(),
        }
    }

    /// Checks the ledger is sound (SQLite: the quick integrity check, every page read
    /// once): `Damaged` with the ways to recover when it is not. `open` runs it; `status`
    /// runs it on its read-only handle.
    pub async fn check_integrity(&self) -> Result<()> {
        match &self.backend {
            LedgerBackend::Sqlite(l) => l.check_integrity().await,
            // The server keeps its own files sound.
            LedgerBackend::Postgres(_) => Ok(()),
        }
    }

    /// Begins a write transaction.
    pub async fn write(&self) -> Result<Tx> {
        let backend = match &self.backend {
            LedgerBackend::Sqlite(l) => TxBackend::Sqlite(l.write().await?),
            LedgerBackend::Postgres(l) => {
                TxBackend::Postgres(l.write(self.fence.as_ref().map(|f| f.ttl)).await?)
            }
        };
        Ok(Tx {
            backend,
            fence: self.fence.clone(),
        })
    }

    /// Begins a read transaction: a consistent snapshot until dropped.
    pub async fn read(&self) -> Result<Tx> {
        let backend = match &self.backend {
            LedgerBackend::Sqlite(l) => TxBackend::Sqlite(l.read().await?),
            LedgerBackend::Postgres(l) => TxBackend::Postgres(l.read().await?),
        };
        Ok(Tx {
            backend,
            fence: None,
        })
    }

    /// Writes a consistent copy of the whole ledger to the SQLite file `path` (new or
    /// empty), e.g. for a dry run, while others keep reading and writing. SQLite: `VACUUM
    /// INTO`; PostgreSQL: one snapshot of every table a dry run reads, into a new SQLite
    /// ledger (`pg/copy.rs`).
    pub async fn copy_to(&self, path: &Path) -> Result<()> {
        match &self.backend {
            LedgerBackend::Sqlite(l) => l.copy_to(path).await,
            LedgerBackend::Postgres(l) => l.copy_to(path).await,
        }
    }

    pub async fn close(&self) {
        match &self.backend {
            LedgerBackend::Sqlite(l) => l.close().await,
            LedgerBackend::Postgres(l) => l.close().await,
        }
    }

    /// The applied migration versions, oldest first (for `timeweave migrate` and tests).
    pub async fn applied_migrations(&self) -> Result<Vec<i64>> {
        match &self.backend {
            LedgerBackend::Sqlite(l) => l.applied_migrations().await,
            LedgerBackend::Postgres(l) => l.applied_migrations().await,
        }
    }
}

#[cfg(test)]
impl Ledger {
    /// The SQLite pool (tests that write raw SQL).
    pub(crate) fn sqlite_pool(&self) -> &sqlx::SqlitePool {
        match &self.backend {
            LedgerBackend::Sqlite(l) => l.pool(),
            LedgerBackend::Postgres(_) => panic!("a SQLite test ran on PostgreSQL"),
        }
    }
}

impl Tx {
    /// Commits; a fenced write (see `Ledger::fenced`) is first checked against its lease,
    /// and rolled back with [`LedgerError::LeaseLost`] when the lease moved.
    pub async fn commit(self) -> Result<()> {
        match self.backend {
            TxBackend::Sqlite(tx) => tx.commit().await,
            TxBackend::Postgres(mut tx) => {
                if let Some(fence) = &self.fence {
                    postgres::check_fence(tx.conn(), &fence.provider, fence.token).await?;
                }
                tx.commit().await
            }
        }
    }

    /// Inserts or refreshes one link (see `upsert_links`).
    pub async fn upsert_link(&mut self, u: &LinkUpdate<'_>, now: DateTime<Utc>) -> Result<()> {
        self.upsert_links(std::slice::from_ref(u), now).await
    }

    /// Claims the write of one record, in this transaction: refused while an intent of
    /// another claimant for the record is open (in flight elsewhere, or left by one that
    /// died after this cycle reconciled: the next cycle reconciles it), and for a create
    /// when the record is linked there by now. The claimant's own earlier intent (its
    /// outcome reconciled before this cycle's pushes began) is replaced.
    pub async fn claim_intent(&mut self, i: &NewIntent<'_>, now: DateTime<Utc>) -> Result<Claim> {
        let kind = i.payload.kind();
        let held = self
            .intent_claimant(i.provider, kind, i.canonical_id)
            .await?;
        if let Some(by) = held.filter(|by| by.as_deref() != Some(i.claimed_by)) {
            return Ok(Claim::Held(by));
        }
        if i.op == PushOp::Create {
            let link = self
                .link_by_canonical(i.provider, kind, i.canonical_id)
                .await?;
            if link.is_some_and(|l| l.is_live()) {
                return Ok(Claim::Linked);
            }
        }
        self.insert_intent(i, now).await.map(Claim::Granted)
    }

    /// The live entries whose work date is in `range`, by work date, start and id, as a
    /// stream: rows are read as they are consumed (a bounded buffer), so memory stays
    /// constant however many entries the range holds. The transaction's snapshot keeps the
    /// export consistent while the daemon writes.
    pub fn export_entries(&mut self, range: DateRange) -> BoxStream<'_, Result<EntryRow>> {
        match &mut self.backend {
            TxBackend::Sqlite(tx) => reports::export_entries(tx, range),
            TxBackend::Postgres(tx) => reports::export_entries(tx, range),
        }
    }

    /// The SQLite connection of this transaction (tests that write raw SQL).
    #[cfg(test)]
    pub(crate) fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        match &mut self.backend {
            TxBackend::Sqlite(tx) => tx.conn(),
            TxBackend::Postgres(_) => panic!("a SQLite test ran on PostgreSQL"),
        }
    }
}

#[cfg(test)]
mod bookkeeping_tests;
#[cfg(test)]
mod file_tests;
#[cfg(test)]
mod link_tests;
#[cfg(test)]
mod record_tests;
#[cfg(test)]
mod runs_reports_tests;
#[cfg(test)]
mod tests;
