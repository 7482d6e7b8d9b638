//! Reading a result row by column name the same way on both backends, so each table's
//! decoding (a record, a link, a conflict, a run...) is written once. `ReadRow::get` knows
//! the few types the ledger stores; a flag reads from SQLite's 0/1, PostgreSQL's BOOLEAN
//! (tables) or its 0/1 integers (the reporting views keep SQLite's contract).

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::Result;

/// A value the ledger reads from a column.
pub(crate) trait Cell: Sized {
    fn from_sqlite(row: &SqliteRow, column: &str) -> Result<Self>;
    fn from_pg(row: &PgRow, column: &str) -> Result<Self>;
}

/// A result row of either backend.
pub(crate) trait ReadRow {
    fn get<T: Cell>(&self, column: &str) -> Result<T>;
}

impl ReadRow for SqliteRow {
    fn get<T: Cell>(&self, column: &str) -> Result<T> {
        T::from_sqlite(self, column)
    }
}

impl ReadRow for PgRow {
    fn get<T: Cell>(&self, column: &str) -> Result<T> {
        T::from_pg(self, column)
    }
}

/// Types both drivers decode as they are.
macro_rules! plain_cells {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            fn from_sqlite(row: &SqliteRow, column: &str) -> Result<Self> {
                Ok(row.try_get(column)?)
            }
            fn from_pg(row: &PgRow, column: &str) -> Result<Self> {
                Ok(row.try_get(column)?)
            }
        }
    )*};
}

plain_cells!(String, Option<String>, i64, Option<i64>, f64);

impl Cell for bool {
    fn from_sqlite(row: &SqliteRow, column: &str) -> Result<Self> {
        Ok(row.try_get(column)?)
    }
    fn from_pg(row: &PgRow, column: &str) -> Result<Self> {
        match row.try_get::<bool, _>(column) {
            Ok(flag) => Ok(flag),
            Err(_) => Ok(row.try_get::<i32, _>(column)? != 0),
        }
    }
}
