//! Which SQLite files are timeweave ledgers. Ours carry `PRAGMA application_id` =
//! [`APPLICATION_ID`]; a ledger made before the mark is recognised by its migrations table
//! (version 1, "ledger") and gets the mark. Any other non-empty database belongs to another
//! application: timeweave refuses it rather than add its tables to it.

use sqlx::SqlitePool;

use crate::ledger::{LedgerError, Result};

/// "TWLG": timeweave's mark in the SQLite header.
pub const APPLICATION_ID: i32 = 0x5457_4C47;

/// What a database file is, as far as timeweave is concerned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// Marked as a timeweave ledger.
    Ours,
    /// A timeweave ledger from before the mark.
    OursUnmarked,
    /// No tables at all: a new file.
    Empty,
    /// Another application's database: its application id and some of its tables.
    Foreign {
        application_id: i32,
        tables: Vec<String>,
    },
}

pub(crate) async fn owner(pool: &SqlitePool) -> Result<Owner> {
    let (application_id,): (i32,) = sqlx::query_as("PRAGMA application_id")
        .fetch_one(pool)
        .await?;
    if application_id == APPLICATION_ID {
        return Ok(Owner::Ours);
    }
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    let tables: Vec<String> = tables.into_iter().map(|(t,)| t).collect();
    if application_id == 0 && tables.is_empty() {
        return Ok(Owner::Empty);
    }
    if application_id == 0 && tables.iter().any(|t| t == "_sqlx_migrations") {
        let first: Option<(String,)> =
            sqlx::query_as("SELECT description FROM _sqlx_migrations WHERE version = 1")
                .fetch_optional(pool)
                .await?;
        if first.is_some_and(|(d,)| d == "ledger") && tables.iter().any(|t| t == "links") {
            return Ok(Owner::OursUnmarked);
        }
    }
    Ok(Owner::Foreign {
        application_id,
        tables,
    })
}

/// Refuses another application's database; marks ours (a new file or an unmarked ledger)
/// when `may_mark`.
pub(crate) async fn claim(pool: &SqlitePool, path: &std::path::Path, may_mark: bool) -> Result<()> {
    match owner(pool).await? {
        Owner::Ours => Ok(()),
        Owner::Empty | Owner::OursUnmarked if may_mark => {
            // A PRAGMA takes no bound parameters: the literal is APPLICATION_ID (a test
            // holds them equal).
            sqlx::query("PRAGMA application_id = 1415007303")
                .execute(pool)
                .await?;
            Ok(())
        }
        Owner::Empty | Owner::OursUnmarked => Ok(()),
        Owner::Foreign {
            application_id,
            tables,
        } => Err(LedgerError::Foreign {
            path: path.to_owned(),
            detail: describe_foreign(application_id, &tables),
        }),
    }
}

fn describe_foreign(application_id: i32, tables: &[String]) -> String {
    let mut shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
    if tables.len() > shown.len() {
        shown.push("…");
    }
    match application_id {
        0 => format!("it holds other tables ({})", shown.join(", ")),
        id => format!(
            "its application_id is {id:#x}, not timeweave's, and it holds {} table(s)",
            tables.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_marking_literal_is_the_application_id() {
        assert_eq!(super::APPLICATION_ID, 1_415_007_303);
    }
}
