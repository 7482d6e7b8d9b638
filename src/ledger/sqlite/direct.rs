//! Direct SQLite access for the ledger's hot paths: statements run through SQLite's C API
//! (rusqlite) on the transaction's own sqlx connection, so a page of thousands of rows costs
//! one hand-over instead of a round trip to sqlx's worker thread per statement and an owned
//! copy of every bound value. Same connection, same transaction: nothing else changes.
//! `execute_each` is the bulk path for rows of plain values (the copy of a PostgreSQL
//! ledger, `pg/copy.rs`): sqlx took 0.3 ms a row bound into multi-row INSERTs.

use rusqlite::types::ToSqlOutput;
use tokio::runtime::{Handle, RuntimeFlavor};

use super::SqliteTx;
use crate::ledger::sql::{json_list, Value};
use crate::ledger::{LedgerError, Result};

impl SqliteTx {
    /// Runs `f` on this transaction's connection. sqlx's worker thread is locked out of the
    /// connection until `f` returns. On a multi-threaded runtime the (blocking) work is
    /// announced with `block_in_place`, so other tasks move to another worker meanwhile.
    #[allow(unsafe_code)]
    pub(crate) async fn direct<R>(
        &mut self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R>,
    ) -> Result<R> {
        let mut locked = self.tx.lock_handle().await?;
        let raw = locked.as_raw_handle().as_ptr();
        let run = move || {
            // SAFETY: `raw` is the live handle of this transaction's connection, and the
            // lock keeps sqlx off it until `locked` is dropped, after this closure; the
            // borrowed rusqlite connection never closes it (its statements are finalised
            // when it drops, here).
            let conn = unsafe { rusqlite::Connection::from_handle(raw) }?;
            f(&conn)
        };
        let multi_threaded = Handle::try_current()
            .map(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
            .unwrap_or(false);
        let out = if multi_threaded {
            tokio::task::block_in_place(run)
        } else {
            run()
        };
        drop(locked);
        out.map_err(LedgerError::Direct)
    }
}

impl SqliteTx {
    /// Runs the one-row statement `sql` (parameters `?1` to `?N`) once per row of `rows`,
    /// prepared once.
    pub(crate) async fn execute_each(&mut self, sql: &str, rows: &[Vec<Value>]) -> Result<()> {
        self.direct(|conn| {
            let mut statement = conn.prepare(sql)?;
            for row in rows {
                statement.execute(rusqlite::params_from_iter(row))?;
            }
            Ok(())
        })
        .await
    }
}

/// A value bound as `sql.rs` binds it through sqlx (a list as a JSON array).
impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Value::Text(v) => v.to_sql(),
            Value::Int(v) => v.to_sql(),
            Value::Bool(v) => v.to_sql(),
            Value::Real(v) => v.to_sql(),
            Value::Texts(v) => Ok(ToSqlOutput::from(json_list(v))),
        }
    }
}
