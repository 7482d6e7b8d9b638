//! A PostgreSQL ledger copied into a new SQLite ledger file (`Ledger::copy_to`): what a dry
//! run works on, so it runs exactly as it does on SQLite and never writes to the shared
//! ledger. One snapshot of the server (a REPEATABLE READ, READ ONLY transaction: every
//! table as of one moment, while the daemons keep writing) is read table by table and
//! written in batches (one prepared INSERT through SQLite's C API, `sqlite/direct.rs`) into
//! a SQLite ledger made with SQLite's own migrations, all inside one SQLite write
//! transaction (a failed copy leaves an empty ledger, never half of one).
//!
//! Both schemas hold the same tables with the same columns (the header of
//! `postgres/migrations/0001_ledger.sql`). [`TABLES`] names every column of every table
//! once, with the one type that differs between them: BOOLEAN on PostgreSQL, 0/1 INTEGER on
//! SQLite. BIGINT and INTEGER are both 64-bit; times (RFC 3339 text), JSON (tags, payloads,
//! records, errors) and ids are TEXT on both and copied as they are: no timestamp, json,
//! bytea or array column exists in either ledger. Tests compare [`TABLES`] with both
//! schemas, column by column and type by type (`copy_tests.rs`), so a migration that adds
//! a table or a column to either backend fails them until the copy carries it.
//!
//! Not copied ([`NOT_COPIED`]): `leases`, which exists only on PostgreSQL (which process
//! works each instance): a dry run takes no lease and writes to no provider, so it has no
//! use for them. Nor the server's identity counters: the copy numbers the intents, conflicts
//! and runs a dry run adds after the highest id it holds, which may differ from the
//! server's next id; those rows are thrown away with the copy.

use std::path::Path;

use futures::StreamExt;
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::{PgLedger, PgTx};
use crate::ledger::sql::{Exec, Sql, Value};
use crate::ledger::sqlite::{SqliteLedger, SqliteTx};
use crate::ledger::Result;

/// How a column is stored, where the backends differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColumnType {
    /// TEXT on both.
    Text,
    /// BIGINT on PostgreSQL, INTEGER on SQLite.
    Int,
    /// BOOLEAN on PostgreSQL, INTEGER 0/1 on SQLite.
    Flag,
}

/// A ledger table and its columns, in the migrations' order.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) columns: &'static [(&'static str, ColumnType)],
}

use ColumnType::{Flag, Int, Text};

/// The columns every canonical record table ends with.
macro_rules! record_table {
    ($name:literal, $($column:literal: $ty:ident),* $(,)?) => {
        Table {
            name: $name,
            columns: &[
                $(($column, $ty),)*
                ("content_hash", Text),
                ("origin", Text),
                ("changed_by", Text),
                ("created_at", Text),
                ("updated_at", Text),
                ("deleted_at", Text),
            ],
        }
    };
}

/// Every table a copy carries, parents before the tables whose foreign keys name them.
pub(crate) const TABLES: &[Table] = &[
    record_table!("people", "id": Text, "display_name": Text, "email": Text, "username": Text),
    record_table!("clients", "id": Text, "name": Text, "email": Text, "notes": Text,
        "archived": Flag),
    record_table!("projects", "id": Text, "client_id": Text, "name": Text, "billable": Flag,
        "hourly_rate_cents": Int, "archived": Flag),
    record_table!("tasks", "id": Text, "project_id": Text, "name": Text, "archived": Flag),
    record_table!("time_entries", "id": Text, "person_id": Text, "project_id": Text,
        "task_id": Text, "client_id": Text, "started_at": Text, "ended_at": Text,
        "break_seconds": Int, "duration_seconds": Int, "source_tz": Text,
        "local_started_at": Text, "local_ended_at": Text, "local_date": Text, "notes": Text,
        "tags": Text, "billable": Flag, "kind": Text),
    Table {
        name: "links",
        columns: &[
            ("provider", Text),
            ("kind", Text),
            ("canonical_id", Text),
            ("remote_id", Text),
            ("remote_hash", Text),
            ("canonical_hash", Text),
            ("remote_version", Text),
            ("remote_updated_at", Text),
            ("remote_started_at", Text),
            ("remote_deleted_at", Text),
            ("synced_at", Text),
            ("remote_incarnation", Text),
        ],
    },
    Table {
        name: "cursors",
        columns: &[
            ("provider", Text),
            ("kind", Text),
            ("deep_scan_position", Text),
            ("deep_scan_passes", Int),
            ("change_watermark", Text),
            ("updated_at", Text),
        ],
    },
    Table {
        name: "pending_pushes",
        columns: &[
            ("id", Int),
            ("provider", Text),
            ("kind", Text),
            ("canonical_id", Text),
            ("op", Text),
            ("remote_id", Text),
            ("idempotency_key", Text),
            ("payload", Text),
            ("canonical_hash", Text),
            ("created_at", Text),
            ("claimed_by", Text),
        ],
    },
    Table {
        name: "conflicts",
        columns: &[
            ("id", Int),
            ("provider", Text),
            ("kind", Text),
            ("canonical_id", Text),
            ("remote_id", Text),
            ("ledger_record", Text),
            ("remote_record", Text),
            ("remote_hash", Text),
            ("remote_version", Text),
            ("policy", Text),
            ("winner", Text),
            ("detected_at", Text),
            ("resolved_at", Text),
            ("resolved_by", Text),
        ],
    },
    Table {
        name: "record_issues",
        columns: &[
            ("provider", Text),
            ("direction", Text),
            ("kind", Text),
            ("record_id", Text),
            ("content_hash", Text),
            ("reason", Text),
            ("first_seen_at", Text),
            ("last_seen_at", Text),
        ],
    },
    Table {
        name: "sync_runs",
        columns: &[
            ("id", Int),
            ("provider", Text),
            ("mode", Text),
            ("started_at", Text),
            ("finished_at", Text),
            ("status", Text),
            ("pulled", Int),
            ("created", Int),
            ("updated", Int),
            ("deleted", Int),
            ("pushed", Int),
            ("conflicts", Int),
            ("skipped", Int),
            ("requests", Int),
            ("rate_limited", Int),
            ("errors", Text),
        ],
    },
    Table {
        name: "record_versions",
        columns: &[
            ("canonical_id", Text),
            ("content_hash", Text),
            ("record", Text),
            ("saved_at", Text),
        ],
    },
    Table {
        name: "account_bindings",
        columns: &[("provider", Text), ("identity", Text), ("bound_at", Text)],
    },
    // Copied as it is: its trigger counts runs as they finish (an UPDATE), and inserting
    // the runs above counted nothing.
    Table {
        name: "sync_totals",
        columns: &[
            ("provider", Text),
            ("status", Text),
            ("cycles", Int),
            ("pulled", Int),
            ("created", Int),
            ("updated", Int),
            ("deleted", Int),
            ("pushed", Int),
            ("conflicts", Int),
            ("skipped", Int),
            ("requests", Int),
            ("rate_limited", Int),
            ("last_finished_at", Text),
        ],
    },
    Table {
        name: "trail_positions",
        columns: &[
            ("provider", Text),
            ("position", Text),
            ("trusted_after_pass", Int),
            ("last_gap", Text),
            ("saved_at", Text),
        ],
    },
];

/// The PostgreSQL ledger's tables a copy leaves out (see the top of this file); the
/// schema tests check that every other table is in [`TABLES`].
#[cfg(test)]
pub(crate) const NOT_COPIED: &[&str] = &["leases"];

/// Rows read from the snapshot before they are written, one prepared INSERT each.
const ROWS_PER_BATCH: usize = 1_000;

impl PgLedger {
    /// Writes one consistent snapshot of this ledger into a new SQLite ledger at `path` (a
    /// new or empty file).
    pub(crate) async fn copy_to(&self, path: &Path) -> Result<()> {
        let target = SqliteLedger::open(path).await?;
        let copied = self.copy_into(&target).await;
        target.close().await;
        copied
    }

    async fn copy_into(&self, target: &SqliteLedger) -> Result<()> {
        let mut snapshot = PgTx {
            tx: self
                .pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?,
        };
        let mut writer = target.write().await?;
        for table in TABLES {
            copy_table(&mut snapshot, &mut writer, table).await?;
        }
        writer.commit().await
        // The snapshot ends (rolled back) as it drops: it changed nothing.
    }
}

/// Streams every row of `table` from the snapshot into the SQLite transaction, in batches.
async fn copy_table(from: &mut PgTx, to: &mut SqliteTx, table: &Table) -> Result<()> {
    let insert = insert(table);
    let mut rows = from.fetch(Sql::new(select(table)));
    let mut batch = Vec::with_capacity(ROWS_PER_BATCH);
    while let Some(row) = rows.next().await {
        batch.push(values(table, &row?)?);
        if batch.len() == ROWS_PER_BATCH {
            to.execute_each(&insert, &batch).await?;
            batch.clear();
        }
    }
    to.execute_each(&insert, &batch).await
}

fn column_list(table: &Table) -> String {
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    names.join(", ")
}

fn select(table: &Table) -> String {
    format!("SELECT {} FROM {}", column_list(table), table.name)
}

/// One row's values, read by each column's type.
fn values(table: &Table, row: &PgRow) -> Result<Vec<Value>> {
    table
        .columns
        .iter()
        .map(|&(name, ty)| {
            Ok(match ty {
                Text => Value::Text(row.try_get(name)?),
                Int => Value::Int(row.try_get(name)?),
                Flag => Value::Bool(row.try_get(name)?),
            })
        })
        .collect()
}

/// `INSERT INTO table (columns) VALUES (?1, ..., ?N)`: one row.
fn insert(table: &Table) -> String {
    let params: Vec<String> = (1..=table.columns.len()).map(|n| format!("?{n}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        table.name,
        column_list(table),
        params.join(", ")
    )
}
