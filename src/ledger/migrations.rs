//! The ledger's schema migrations, embedded in the binary: `migrations/*.sql` in order, as a
//! sqlx `Migrator` built without sqlx's `migrate!` macro (which would compile SQLite a
//! second time, for the proc-macro). Each migration's version, description and SQL are the
//! ones `migrate!` took from the file name and text, so the checksums recorded in existing
//! ledgers' `_sqlx_migrations` match: a migration file never changes once released.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::SqlStr;

/// `(version, description, SQL)`: the description is the file name less its version and
/// `.sql`, underscores as spaces, as sqlx derives it. A new file here needs a line here too
/// (a test compares this list with `migrations/`).
const MIGRATIONS: [(i64, &str, &str); 8] = [
    (
        1,
        "ledger",
        include_str!("../../migrations/0001_ledger.sql"),
    ),
    (
        2,
        "reporting",
        include_str!("../../migrations/0002_reporting.sql"),
    ),
    (
        3,
        "link incarnation",
        include_str!("../../migrations/0003_link_incarnation.sql"),
    ),
    (
        4,
        "drop redundant index",
        include_str!("../../migrations/0004_drop_redundant_index.sql"),
    ),
    (
        5,
        "record versions",
        include_str!("../../migrations/0005_record_versions.sql"),
    ),
    (
        6,
        "report amounts",
        include_str!("../../migrations/0006_report_amounts.sql"),
    ),
    (
        7,
        "claims and bindings",
        include_str!("../../migrations/0007_claims_and_bindings.sql"),
    ),
    (
        8,
        "trail positions",
        include_str!("../../migrations/0008_trail_positions.sql"),
    ),
];

/// The migrator of every embedded migration (checksums: SHA-384 of the SQL, as sqlx's).
pub(super) fn migrator() -> Migrator {
    migrator_of(&MIGRATIONS)
}

/// A migrator of `(version, description, SQL)` migrations, as `migrate!` would build it
/// from the files (the PostgreSQL ledger's list too: `postgres/migrate.rs`).
pub(super) fn migrator_of(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect(),
    )
}

/// The `(version, description)` of every `.sql` file in `dir` (below the crate), as sqlx
/// derives them from the names, in order: what a list of embedded migrations must hold.
#[cfg(test)]
pub(super) fn files_in(dir: &str) -> Vec<(i64, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<(i64, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| {
            let (version, rest) = name.strip_suffix(".sql")?.split_once('_')?;
            Some((version.parse().ok()?, rest.replace('_', " ")))
        })
        .collect();
    files.sort();
    files
}

/// The `(version, description)` of each migration in a list.
#[cfg(test)]
pub(super) fn listed(migrations: &[(i64, &str, &str)]) -> Vec<(i64, String)> {
    migrations
        .iter()
        .map(|(v, d, _)| (*v, (*d).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksums the releases built with `sqlx::migrate!` recorded in every ledger's
    /// `_sqlx_migrations`: a mismatch would make every existing ledger refuse to open.
    const RECORDED: [(i64, &str, &str); 8] = [
        (1, "ledger", "6710acc2cd6ec3777bf96b7c03a0e6adace6d58a9691acd55647ea20c2b75280b6fd35c3e6fc18809528de4644e5dc7a"),
        (2, "reporting", "28bc729e6b1f62a8e0a093d5d29f8da2eafe446d026bc01b63452849166413e93f2b30106e690113466789ff236f6424"),
        (3, "link incarnation", "555f6f9c6268e7ccab22d6ab3072372ac249b5f65aa86705e528156500a6bc3e843a9c423372273a0d598afacec2c5af"),
        (4, "drop redundant index", "a7cefe3d4377b3d59f272fa2175e34f0bf6920c55f85bd188f5c56531f1fe117ff974483d9e438b87ffd7e3680bc8b98"),
        (5, "record versions", "7370ba5d7f28cdeaa42e3dc92b22aa169ddc06cc4e9342fe2b23ec0ef04ba315ff9abdddfac4c70d284a812aa8d5a5f1"),
        (6, "report amounts", "7f0400db7bba05043cda78c6790ec3efc23e2eb1af09e1ebc86ca51aa4c9005a42c4ec8b73ad9de46e10269f6955c24f"),
        (7, "claims and bindings", "d3a68a5960fff3ba3f19fac148823c9a509c9e21f4114c8534a45ed3376f7089d68690b0f16a52d7409325fb6c6221fb"),
        (8, "trail positions", "626aa0302024a5289c2a5e5819189394fdb5f9f29e221d385431a138dc1537f27881a220a104dca2698913e26c8c336f"),
    ];

    #[test]
    fn versions_descriptions_and_checksums_are_those_ledgers_recorded() {
        let embedded: Vec<(i64, String, String)> = migrator()
            .iter()
            .map(|m| {
                let hex: String = m.checksum.iter().map(|b| format!("{b:02x}")).collect();
                (m.version, m.description.to_string(), hex)
            })
            .collect();
        let recorded: Vec<(i64, String, String)> = RECORDED
            .iter()
            .map(|(v, d, c)| (*v, (*d).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(embedded, recorded);
        assert!(migrator().iter().all(|m| !m.no_tx));
    }

    #[test]
    fn every_file_in_the_migrations_folder_is_embedded() {
        assert_eq!(files_in("migrations"), listed(&MIGRATIONS));
    }
}
