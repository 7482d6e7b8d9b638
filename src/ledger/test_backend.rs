//! Test support: one test body run against both backends. `on_both_backends!` turns each
//! test into a `NAME::sqlite` and a `NAME::postgres` test; inside the second, every ledger a
//! test opens through [`open_test_ledger`] is a new scratch database on the throwaway
//! cluster (`scripts/postgres-cluster`, its URL in `TIMEWEAVE_TEST_POSTGRES_URL`). Without
//! the cluster the PostgreSQL variant skips with a note, unless `CI` or
//! `TIMEWEAVE_REQUIRE_POSTGRES` is set: then it fails (`postgres::testing::cluster_url`).

use std::future::Future;
use std::path::Path;

use url::Url;

use super::postgres::testing::scratch_database;
use super::{Ledger, Result};

/// The backend a test's ledgers are opened on.
#[derive(Clone, Debug)]
pub enum TestBackend {
    Sqlite,
    /// The cluster's URL (scratch databases are made on it).
    Postgres(Url),
}

tokio::task_local! {
    static BACKEND: TestBackend;
}

/// Runs `test` with its ledgers on `backend`.
pub async fn on_backend<F: Future>(backend: TestBackend, test: F) -> F::Output {
    BACKEND.scope(backend, test).await
}

/// The backend of the running test (SQLite outside `on_backend`).
pub fn current() -> TestBackend {
    BACKEND
        .try_with(Clone::clone)
        .unwrap_or(TestBackend::Sqlite)
}

/// A new, empty, migrated ledger on the running test's backend: `ledger.db` in `dir`, or a
/// new scratch database on the test cluster.
pub async fn open_test_ledger(dir: &Path) -> Result<Ledger> {
    match current() {
        TestBackend::Sqlite => Ledger::open(&dir.join("ledger.db")).await,
        TestBackend::Postgres(cluster) => {
            let url = scratch_database(&cluster).await?;
            Ledger::open_postgres(&url, None).await
        }
    }
}

/// Declares each `async fn NAME() { ... }` (with its `#[tokio::test]` attribute) once, and
/// tests `NAME::sqlite` and `NAME::postgres` that run it on each backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($(#[$meta:meta])* async fn $name:ident() $body:block)*) => {
        $(
            async fn $name() $body

            mod $name {
                $(#[$meta])*
                async fn sqlite() {
                    super::$name().await
                }

                $(#[$meta])*
                async fn postgres() {
                    use $crate::ledger::test_backend::{on_backend, TestBackend};
                    let test = concat!(module_path!(), "::postgres");
                    if let Some(url) = $crate::ledger::postgres::testing::cluster_url(test) {
                        on_backend(TestBackend::Postgres(url), super::$name()).await
                    }
                }
            }
        )*
    };
}
