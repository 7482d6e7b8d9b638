//! SQLite's quick integrity check of the ledger file, run when it is opened for writing
//! (start-up of `run`, `sync`, `migrate`) and by `status`: a damaged file is reported with
//! the ways to recover, before any cycle reads or writes it.

use std::path::Path;

use sqlx::SqlitePool;

use crate::ledger::{LedgerError, Result};

/// SQLite's codes for a file it cannot read as a database: SQLITE_CORRUPT, SQLITE_NOTADB.
const DAMAGED_CODES: [&str; 2] = ["11", "26"];

/// The error of a failed open: `Damaged` (with the ways to recover) when SQLite says the
/// file is malformed or not a database, else `Open`.
pub(crate) fn open_error(path: &Path, source: sqlx::Error) -> LedgerError {
    let damaged = source
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| DAMAGED_CODES.contains(&code.as_ref()));
    if damaged {
        LedgerError::Damaged {
            path: path.to_owned(),
            detail: source.to_string(),
        }
    } else {
        LedgerError::Open {
            path: path.to_owned(),
            source,
        }
    }
}

pub(crate) async fn quick_check(pool: &SqlitePool, path: &Path) -> Result<()> {
    let rows: std::result::Result<Vec<(String,)>, sqlx::Error> =
        // The first three problems say enough.
        sqlx::query_as("PRAGMA quick_check(3)")
            .fetch_all(pool)
            .await;
    let problems = match rows {
        Ok(rows) if matches!(rows.as_slice(), [(ok,)] if ok == "ok") => return Ok(()),
        Ok(rows) => rows
            .into_iter()
            .map(|(p,)| p)
            .collect::<Vec<_>>()
            .join("; "),
        // A file too damaged to even run the check.
        Err(e) => e.to_string(),
    };
    Err(LedgerError::Damaged {
        path: path.to_owned(),
        detail: problems,
    })
}
