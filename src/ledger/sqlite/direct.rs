//! Direct SQLite access for the ledger's hot paths: statements run through SQLite's C API
//! (rusqlite) on the transaction's own sqlx connection, so a page of thousands of rows costs
//! one hand-over instead of a round trip to sqlx's worker thread per statement and an owned
//! copy of every bound value. Same connection, same transaction: nothing else changes.

use tokio::runtime::{Handle, RuntimeFlavor};

use super::SqliteTx;
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
