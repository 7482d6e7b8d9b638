//! The reporting views are the same on both backends: both migrations applied, the same rows
//! written through plain SQL into a SQLite ledger and a PostgreSQL scratch database, then
//! every `report_*` view compared: names, columns in order, and every row's values with
//! their kinds (integer, real, text, NULL). The trigger-kept `sync_totals` is compared too.
//!
//! The rows cover what the views compute: running timers, durations given and derived,
//! breaks longer than the entry, non-billable and attendance entries, a client without a
//! project, deleted entries and projects, rates with a half-cent tie, tags that sort
//! differently under a locale than byte by byte, and runs with and without errors.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Column, Row, TypeInfo, ValueRef};

use super::testing::{cluster_url, scratch_pool};
use crate::ledger::tests::temp_ledger;

const VIEWS: &[&str] = &[
    "report_time_entries",
    "report_daily_hours",
    "report_project_totals",
    "report_sync_health",
    "report_deleted_entries",
];

/// A value as written.
#[derive(Clone, Copy, Debug)]
enum In {
    T(&'static str),
    I(i64),
    B(bool),
    N,
}
use In::{B, I, N, T};

/// A value as read back, the same on both backends when the views agree.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
enum Out {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

type Table = (
    &'static str,
    &'static [&'static str],
    &'static [&'static [In]],
);

const TS: &str = "2026-03-01T00:00:00.000Z";

#[rustfmt::skip]
const ROWS: &[Table] = &[
    (
        "people",
        &["id", "display_name", "email", "username", "content_hash", "origin", "changed_by", "created_at", "updated_at", "deleted_at"],
        &[
            &[T("p1"), T("Ada Lovelace"), T("ada@example.com"), T("ada"), T("h"), T("tt"), T("tt"), T(TS), T(TS), N],
            &[T("p2"), T("Émile Zola"), N, N, T("h"), T("tr"), T("tr"), T(TS), T(TS), N],
        ],
    ),
    (
        "clients",
        &["id", "name", "email", "notes", "archived", "content_hash", "origin", "changed_by", "created_at", "updated_at", "deleted_at"],
        &[
            &[T("c1"), T("Acme"), N, N, B(false), T("h"), T("tt"), T("tt"), T(TS), T(TS), N],
            &[T("c2"), T("beta GmbH"), N, T("direct"), B(true), T("h"), T("tr"), T("tr"), T(TS), T(TS), N],
        ],
    ),
    (
        "projects",
        &["id", "client_id", "name", "billable", "hourly_rate_cents", "archived", "content_hash", "origin", "changed_by", "created_at", "updated_at", "deleted_at"],
        &[
            &[T("pr1"), T("c1"), T("Website"), B(true), I(12000), B(false), T("h"), T("tt"), T("tt"), T(TS), T(TS), N],
            &[T("pr2"), N, T("Internal"), B(false), N, B(false), T("h"), T("tt"), T("tt"), T(TS), T(TS), N],
            &[T("pr3"), T("c1"), T("Old"), B(true), I(9999), B(false), T("h"), T("tt"), T("tt"), T(TS), T(TS), T(TS)],
            &[T("pr4"), T("c2"), T("Idle"), B(true), I(5000), B(true), T("h"), T("tr"), T("tr"), T(TS), T(TS), N],
        ],
    ),
    (
        "tasks",
        &["id", "project_id", "name", "archived", "content_hash", "origin", "changed_by", "created_at", "updated_at", "deleted_at"],
        &[&[T("t1"), T("pr1"), T("Design"), B(false), T("h"), T("tt"), T("tt"), T(TS), T(TS), N]],
    ),
    (
        "time_entries",
        &["id", "person_id", "project_id", "task_id", "client_id", "started_at", "ended_at", "break_seconds", "duration_seconds", "source_tz", "local_started_at", "local_ended_at", "local_date", "notes", "tags", "billable", "kind", "content_hash", "origin", "changed_by", "created_at", "updated_at", "deleted_at"],
        &[
            // Monday; duration derived: 2.5 h - 10 min break.
            &[T("e1"), T("p1"), T("pr1"), T("t1"), N, T("2026-03-09T08:00:00Z"), T("2026-03-09T10:30:00Z"), I(600), N, T("Europe/Rome"), T("2026-03-09T09:00:00"), T("2026-03-09T11:30:00"), T("2026-03-09"), T("Design review"), T(r#"["a","b"]"#), B(true), T("work"), T("h"), T("tt"), T("tt"), T(TS), T(TS), N],
            // Sunday of the same week; duration given; not billable; attendance.
            &[T("e2"), T("p1"), T("pr1"), N, N, T("2026-03-15T08:00:00Z"), T("2026-03-15T12:00:00Z"), I(0), I(3600), N, T("2026-03-15T08:00:00"), T("2026-03-15T12:00:00"), T("2026-03-15"), N, T("[]"), B(false), T("attendance"), T("h"), T("tr"), T("tr"), T(TS), T(TS), N],
            // A running timer on a client without a project.
            &[T("e3"), T("p2"), N, N, T("c2"), T("2026-03-10T07:00:00Z"), N, I(0), N, T("+01:00"), T("2026-03-10T08:00:00"), N, T("2026-03-10"), N, T("[]"), B(true), T("work"), T("h"), T("tr"), T("tr"), T(TS), T(TS), N],
            // No client, no rate; tags that a locale would order otherwise.
            &[T("e4"), T("p2"), T("pr2"), N, N, T("2026-03-10T09:00:00Z"), T("2026-03-10T09:30:01Z"), I(0), I(1801), T("UTC"), T("2026-03-10T09:00:00"), T("2026-03-10T09:30:01"), T("2026-03-10"), T("n"), T(r#"["Alpha","zeta","Ünïcode"]"#), B(true), T("work"), T("h"), T("tt"), T("tt"), T(TS), T(TS), N],
            // Deleted.
            &[T("e5"), T("p1"), T("pr1"), N, N, T("2026-03-11T08:00:00Z"), T("2026-03-11T09:00:00Z"), I(0), N, T("Europe/Rome"), T("2026-03-11T09:00:00"), T("2026-03-11T10:00:00"), T("2026-03-11"), N, T(r#"["x"]"#), B(true), T("work"), T("h"), T("tt"), T("tr"), T(TS), T(TS), T("2026-03-12T00:00:00.000Z")],
            // On a deleted project; half a cent exactly: 1800 s x 9999 / 3600.
            &[T("e6"), T("p1"), T("pr3"), N, N, T("2026-03-12T08:00:00Z"), T("2026-03-12T08:30:00Z"), I(0), I(1800), N, T("2026-03-12T08:00:00"), T("2026-03-12T08:30:00"), T("2026-03-12"), N, T("[]"), B(true), T("work"), T("h"), T("tt"), T("tt"), T(TS), T(TS), N],
            // A break longer than the entry: never negative. A Thursday into last year's week.
            &[T("e7"), T("p2"), T("pr1"), N, N, T("2026-01-01T08:00:00Z"), T("2026-01-01T08:10:00Z"), I(3600), N, N, T("2026-01-01T08:00:00"), T("2026-01-01T08:10:00"), T("2026-01-01"), N, T("[]"), B(true), T("work"), T("h"), T("tt"), T("tt"), T(TS), T(TS), N],
        ],
    ),
    (
        "links",
        &["provider", "kind", "canonical_id", "remote_id", "remote_hash", "canonical_hash", "remote_deleted_at", "synced_at"],
        &[
            &[T("tt"), T("time_entry"), T("e1"), T("1"), T("h"), T("h"), N, T(TS)],
            &[T("tr"), T("time_entry"), T("e1"), T("a"), T("h"), T("h"), N, T(TS)],
            &[T("Tk"), T("time_entry"), T("e1"), T("9"), T("h"), T("h"), T(TS), T(TS)],
            &[T("tt"), T("time_entry"), T("e5"), T("5"), T("h"), T("h"), T(TS), T(TS)],
            &[T("tr"), T("time_entry"), T("e5"), T("e"), T("h"), T("h"), N, T(TS)],
            &[T("tt"), T("person"), T("p1"), T("u1"), T("h"), T("h"), N, T(TS)],
        ],
    ),
    (
        "sync_runs",
        &["id", "provider", "mode", "started_at", "finished_at", "status", "pulled", "pushed", "errors"],
        &[
            &[I(1), T("tt"), T("sync"), T("2020-01-01T00:00:00.000Z"), T("2020-01-01T00:01:00.000Z"), T("running"), I(10), I(2), T("[]")],
            &[I(2), T("tt"), T("sync"), T("2020-01-02T00:00:00.000Z"), T("2020-01-02T00:01:00.000Z"), T("running"), I(1), I(0), T(r#"["first","the last one"]"#)],
            &[I(3), T("tr"), T("sync"), T("2020-01-03T00:00:00.000Z"), N, T("running"), I(0), I(0), T("[]")],
            &[I(4), T("tt"), T("sync"), T("2020-01-04T00:00:00.000Z"), T("2020-01-04T00:02:00.000Z"), T("running"), I(5), I(1), T("[]")],
        ],
    ),
    (
        "pending_pushes",
        &["id", "provider", "kind", "canonical_id", "op", "idempotency_key", "payload", "canonical_hash", "created_at"],
        &[&[I(1), T("tr"), T("time_entry"), T("e4"), T("create"), T("k"), T("{}"), T("h"), T("2026-03-02T00:00:00.000Z")]],
    ),
    (
        "conflicts",
        &["id", "provider", "kind", "canonical_id", "remote_id", "ledger_record", "remote_record", "remote_hash", "policy", "detected_at"],
        &[&[I(1), T("tt"), T("time_entry"), T("e1"), T("1"), T("{}"), T("{}"), T("h"), T("manual"), T(TS)]],
    ),
    (
        "record_issues",
        &["provider", "direction", "kind", "record_id", "content_hash", "reason", "first_seen_at", "last_seen_at"],
        &[&[T("tk"), T("pull"), T("time_entry"), T("77"), T("h"), T("invalid"), T(TS), T(TS)]],
    ),
];

/// Finishing runs fires the trigger that keeps `sync_totals` on both.
const FINISH_RUNS: &str =
    "UPDATE sync_runs SET status = CASE id WHEN 2 THEN 'failed' ELSE 'ok' END \
                           WHERE id IN (1, 2, 4)";

#[tokio::test]
async fn both_backends_give_the_same_views_on_the_same_rows() {
    let Some(cluster) = cluster_url("both_backends_give_the_same_views_on_the_same_rows") else {
        return;
    };
    let pg = scratch_pool(&cluster).await.expect("scratch database");
    super::migrate(&pg, "scratch")
        .await
        .expect("PostgreSQL migrations");
    let (_dir, ledger) = temp_ledger().await;
    let lite = ledger.sqlite_pool().clone();
    for (table, columns, rows) in ROWS {
        for row in *rows {
            insert_sqlite(&lite, table, columns, row).await;
            insert_postgres(&pg, table, columns, row).await;
        }
    }
    sqlx::query(FINISH_RUNS).execute(&lite).await.unwrap();
    sqlx::query(FINISH_RUNS).execute(&pg).await.unwrap();

    for view in VIEWS {
        let names = sqlite_columns(&lite, view).await;
        assert!(!names.is_empty(), "{view} missing on SQLite");
        assert_eq!(postgres_columns(&pg, view).await, names, "{view}: columns");
        let sqlite_rows = sqlite_rows(&lite, view).await;
        let postgres_rows = postgres_rows(&pg, view).await;
        assert!(!sqlite_rows.is_empty(), "{view}: the rows show something");
        assert_same_rows(view, &names, sqlite_rows, postgres_rows);
    }
    assert_same_rows(
        "sync_totals",
        &sqlite_columns(&lite, "sync_totals").await,
        sqlite_rows(&lite, "sync_totals").await,
        postgres_rows(&pg, "sync_totals").await,
    );
    assert_eq!(
        view_names_sqlite(&lite).await,
        view_names_postgres(&pg).await
    );
}

fn assert_same_rows(view: &str, names: &[String], mut lite: Vec<Vec<Out>>, mut pg: Vec<Vec<Out>>) {
    let by_text = |a: &Vec<Out>, b: &Vec<Out>| format!("{a:?}").cmp(&format!("{b:?}"));
    lite.sort_by(by_text);
    pg.sort_by(by_text);
    assert_eq!(
        lite.len(),
        pg.len(),
        "{view}: row count\nSQLite: {lite:#?}\nPostgreSQL: {pg:#?}"
    );
    for (a, b) in lite.iter().zip(&pg) {
        for ((name, x), y) in names.iter().zip(a).zip(b) {
            // The only value that depends on when the test runs: seconds since 2020.
            if let (true, Out::Int(x), Out::Int(y)) = (name == "lag_seconds", x, y) {
                assert!((x - y).abs() <= 60, "{view}.{name}: {x} / {y}");
                continue;
            }
            assert_eq!(
                x, y,
                "{view}.{name}\nSQLite row: {a:?}\nPostgreSQL row: {b:?}"
            );
        }
    }
}

fn placeholders(n: usize, mark: &str) -> String {
    (1..=n)
        .map(|i| format!("{mark}{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn insert_sqlite(pool: &SqlitePool, table: &str, columns: &[&str], row: &[In]) {
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        columns.join(", "),
        placeholders(columns.len(), "?")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in row {
        query = match *value {
            T(s) => query.bind(s),
            I(i) => query.bind(i),
            B(b) => query.bind(b),
            N => query.bind(None::<String>),
        };
    }
    query
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("SQLite {table}: {e}"));
}

async fn insert_postgres(pool: &PgPool, table: &str, columns: &[&str], row: &[In]) {
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        columns.join(", "),
        placeholders(columns.len(), "$")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (value, column) in row.iter().zip(columns) {
        query = match *value {
            T(s) => query.bind(s),
            I(i) => query.bind(i),
            B(b) => query.bind(b),
            // PostgreSQL types a NULL parameter: give it the column's kind.
            N if column.ends_with("_seconds") || column.ends_with("_cents") => {
                query.bind(None::<i64>)
            }
            N => query.bind(None::<String>),
        };
    }
    query
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL {table}: {e}"));
}

async fn sqlite_columns(pool: &SqlitePool, view: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .bind(view)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn postgres_columns(pool: &PgPool, view: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
          WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(view)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn view_names_sqlite(pool: &SqlitePool) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn view_names_postgres(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.views \
          WHERE table_schema = current_schema() ORDER BY table_name COLLATE \"C\"",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn sqlite_rows(pool: &SqlitePool, view: &str) -> Vec<Vec<Out>> {
    let rows: Vec<SqliteRow> = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {view}")))
        .fetch_all(pool)
        .await
        .unwrap();
    rows.iter()
        .map(|row| (0..row.len()).map(|i| sqlite_value(view, row, i)).collect())
        .collect()
}

fn sqlite_value(view: &str, row: &SqliteRow, i: usize) -> Out {
    let raw = row.try_get_raw(i).unwrap();
    if raw.is_null() {
        return Out::Null;
    }
    let kind = raw.type_info().name().to_owned();
    match kind.as_str() {
        "INTEGER" | "BOOLEAN" => Out::Int(row.get(i)),
        "REAL" => Out::Real(row.get(i)),
        "TEXT" => Out::Text(row.get(i)),
        other => panic!("{view}.{}: SQLite gave {other}", row.column(i).name()),
    }
}

async fn postgres_rows(pool: &PgPool, view: &str) -> Vec<Vec<Out>> {
    let rows: Vec<PgRow> = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {view}")))
        .fetch_all(pool)
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| postgres_value(view, row, i))
                .collect()
        })
        .collect()
}

fn postgres_value(view: &str, row: &PgRow, i: usize) -> Out {
    let raw = row.try_get_raw(i).unwrap();
    let kind = raw.type_info().name().to_owned();
    let null = raw.is_null();
    let value = match kind.as_str() {
        _ if null => Out::Null,
        "INT8" => Out::Int(row.get(i)),
        "INT4" => Out::Int(row.get::<i32, _>(i).into()),
        "FLOAT8" => Out::Real(row.get(i)),
        "TEXT" => Out::Text(row.get(i)),
        other => panic!(
            "{view}.{}: PostgreSQL gave {other}, not a type SQLite gives",
            row.column(i).name()
        ),
    };
    // Whatever the value, a column's type must be one that reads back like SQLite's.
    let known = ["INT8", "INT4", "FLOAT8", "TEXT"];
    assert!(
        known.contains(&kind.as_str()),
        "{view}.{}: {kind}",
        row.column(i).name()
    );
    value
}
