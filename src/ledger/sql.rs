//! One SQL text for both backends. A statement is written once with PostgreSQL's `$N`
//! parameters (sqlx's SQLite driver reads `$N` as SQLite's `?N`), its values bound in
//! order, and run through [`Exec`] on a SQLite or a PostgreSQL transaction; the rows come
//! back readable alike (`row.rs`). Store logic whose SQL is the same on both backends is
//! written once over `Exec`; only what the dialects really do differently (the bulk paths,
//! name matching, date arithmetic) stays per backend, under `sqlite/` and `pg/`.
//!
//! Lists of texts are one bound value: [`Exec::in_list`] writes the test for it
//! (PostgreSQL: an array, `unnest`ed; SQLite: a JSON array, `json_each`ed), so a list never
//! runs into SQLite's limit of bound parameters and PostgreSQL plans one statement for any
//! length (see `pg/mod.rs` on why never `= ANY`).

use futures::stream::BoxStream;
use futures::StreamExt;
use sqlx::postgres::{PgArguments, PgRow, Postgres};
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteRow};

use super::pg::PgTx;
use super::row::ReadRow;
use super::sqlite::SqliteTx;
use super::{LedgerError, Result};

/// A value bound to a statement.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Real(Option<f64>),
    /// A list of texts, tested with [`Exec::in_list`].
    Texts(Vec<String>),
}

macro_rules! values_from {
    ($($variant:ident: $($t:ty => $conv:expr),*;)*) => {$($(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                #[allow(clippy::redundant_closure_call)]
                Value::$variant(($conv)(v))
            }
        }
    )*)*};
}

values_from! {
    Text: String => Some, &str => |s: &str| Some(s.to_owned()), &String => |s: &String| Some(s.clone()),
        Option<String> => |s| s, Option<&str> => |s: Option<&str>| s.map(str::to_owned),
        &Option<String> => |s: &Option<String>| s.clone();
    Int: i64 => Some, Option<i64> => |v| v;
    Bool: bool => Some, Option<bool> => |v| v;
    Real: f64 => Some;
    Texts: Vec<String> => |v| v;
}

impl<'a> From<&'a [&'a str]> for Value {
    fn from(list: &'a [&'a str]) -> Value {
        Value::Texts(list.iter().map(|s| (*s).to_owned()).collect())
    }
}

/// A statement and its values, in `$1, $2, ...` order.
#[derive(Clone, Debug)]
pub(crate) struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub(crate) fn new(text: impl Into<String>) -> Sql {
        Sql {
            text: text.into(),
            values: Vec::new(),
        }
    }

    /// Binds the next parameter.
    pub(crate) fn bind(mut self, value: impl Into<Value>) -> Sql {
        self.values.push(value.into());
        self
    }
}

/// A transaction a [`Sql`] statement runs on: `SqliteTx` or `PgTx`.
pub(crate) trait Exec: Send {
    type Row: ReadRow + Send;

    /// `column IN (the texts bound as parameter n)`.
    fn in_list(column: &str, n: usize) -> String;

    /// Runs a statement; returns how many rows it changed.
    async fn execute(&mut self, sql: Sql) -> Result<u64>;
    async fn fetch_all(&mut self, sql: Sql) -> Result<Vec<Self::Row>>;
    async fn fetch_optional(&mut self, sql: Sql) -> Result<Option<Self::Row>>;
    /// The rows as a stream, read as they are consumed (a bounded buffer).
    fn fetch(&mut self, sql: Sql) -> BoxStream<'_, Result<Self::Row>>;

    /// The one row a statement must return (`what` names it if none comes).
    async fn fetch_one(&mut self, sql: Sql, what: &str) -> Result<Self::Row> {
        self.fetch_optional(sql)
            .await?
            .ok_or_else(|| LedgerError::corrupt(what, "the statement returned no row"))
    }
}

/// Writes [`Exec`] for a backend's transaction: what it binds a list of texts as, and how
/// its SQL tests a column against that list; the rest is the same on both.
macro_rules! exec_for {
    ($tx:ty, $db:ty, $args:ty, $row:ty, texts: $texts:expr, in_list: $in_list:literal) => {
        impl $tx {
            fn bound_query(sql: Sql) -> Query<'static, $db, $args> {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.text));
                for value in sql.values {
                    query = match value {
                        Value::Text(v) => query.bind(v),
                        Value::Int(v) => query.bind(v),
                        Value::Bool(v) => query.bind(v),
                        Value::Real(v) => query.bind(v),
                        Value::Texts(v) => query.bind($texts(v)),
                    };
                }
                query
            }
        }

        impl Exec for $tx {
            type Row = $row;

            fn in_list(column: &str, n: usize) -> String {
                format!($in_list, column = column, n = n)
            }

            async fn execute(&mut self, sql: Sql) -> Result<u64> {
                let done = Self::bound_query(sql).execute(self.conn()).await?;
                Ok(done.rows_affected())
            }

            async fn fetch_all(&mut self, sql: Sql) -> Result<Vec<$row>> {
                Ok(Self::bound_query(sql).fetch_all(self.conn()).await?)
            }

            async fn fetch_optional(&mut self, sql: Sql) -> Result<Option<$row>> {
                Ok(Self::bound_query(sql).fetch_optional(self.conn()).await?)
            }

            fn fetch(&mut self, sql: Sql) -> BoxStream<'_, Result<$row>> {
                Self::bound_query(sql)
                    .fetch(self.conn())
                    .map(|row| row.map_err(LedgerError::from))
                    .boxed()
            }
        }
    };
}

/// SQLite binds a list as a JSON array.
fn json_array(texts: Vec<String>) -> String {
    json_list(&texts)
}

/// A list of texts as SQLite reads it, a JSON array (a list of strings cannot fail to
/// serialise).
pub(crate) fn json_list(texts: &[String]) -> String {
    serde_json::to_string(texts).unwrap_or_default()
}

exec_for!(SqliteTx, Sqlite, SqliteArguments, SqliteRow,
    texts: json_array,
    in_list: "{column} IN (SELECT value FROM json_each(${n}))");

exec_for!(PgTx, Postgres, PgArguments, PgRow,
    texts: std::convert::identity,
    in_list: "{column} IN (SELECT unnest(${n}::text[]))");
