//! Scratch PostgreSQL databases for tests and benchmarks, on the cluster that
//! `scripts/postgres-cluster` starts (its URL in [`URL_ENV`]). Each test gets a database
//! of its own, so tests run in parallel without seeing each other's rows; the cluster is
//! thrown away afterwards, and the databases with it.
//!
//! Without the variable the PostgreSQL tests skip with a note on stderr, unless `CI` or
//! `TIMEWEAVE_REQUIRE_POSTGRES` is set (`.ci/run`, `scripts/test`): then they fail, so CI
//! never passes without having run them.

use sqlx::postgres::PgPool;
use sqlx::Connection;
use url::Url;

use super::connect::connect;
use crate::ledger::Result;

/// The variable naming the throwaway cluster's database (a superuser's, no password).
pub const URL_ENV: &str = "TIMEWEAVE_TEST_POSTGRES_URL";
/// Set: a PostgreSQL test without [`URL_ENV`] fails instead of skipping.
pub const REQUIRE_ENV: &str = "TIMEWEAVE_REQUIRE_POSTGRES";

/// The cluster's URL from [`URL_ENV`]; `None` (after a note naming `test`) when there is
/// none and none is required.
///
/// # Panics
/// When there is none but `CI` or [`REQUIRE_ENV`] is set, or when it is not a URL.
pub fn cluster_url(test: &str) -> Option<Url> {
    let given = std::env::var(URL_ENV).ok().filter(|v| !v.trim().is_empty());
    let Some(text) = given else {
        let required = [REQUIRE_ENV, "CI"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        assert!(
            !required,
            "{test}: {URL_ENV} is not set, and PostgreSQL tests may not be skipped here \
             ({REQUIRE_ENV} or CI is set): run the suite through ./scripts/test"
        );
        eprintln!("{test}: skipped, no PostgreSQL ({URL_ENV} unset; ./scripts/test sets it)");
        return None;
    };
    Some(Url::parse(&text).unwrap_or_else(|e| panic!("{URL_ENV} is not a URL: {e}")))
}

/// Creates an empty database with a unique name on the cluster at `cluster` and returns
/// its URL (same role, same server).
pub async fn scratch_database(cluster: &Url) -> Result<Url> {
    let name = format!("timeweave_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::postgres::PgConnection::connect(cluster.as_str()).await?;
    // A quoted identifier made only of [a-z0-9_] above: nothing to escape.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let mut url = cluster.clone();
    url.set_path(&name);
    Ok(url)
}

/// A new, migrated ledger on a scratch database of the test cluster; `None` (after a
/// note) when `test` is skipped, as [`cluster_url`] says.
///
/// # Panics
/// When the cluster is required but missing, or the database cannot be made or migrated.
pub async fn scratch_ledger(test: &str) -> Option<crate::ledger::Ledger> {
    let cluster = cluster_url(test)?;
    let url = scratch_database(&cluster)
        .await
        .expect("a scratch database on the test cluster");
    Some(
        crate::ledger::Ledger::open_postgres(&url, None)
            .await
            .expect("the scratch ledger migrates"),
    )
}

/// A pool on a new scratch database of the cluster at `cluster` (not migrated).
pub async fn scratch_pool(cluster: &Url) -> Result<PgPool> {
    let url = scratch_database(cluster).await?;
    connect(&url, None).await
}
