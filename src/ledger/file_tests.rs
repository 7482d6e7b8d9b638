//! The ledger file against hostile conditions: another application's database, a damaged
//! file, and a disk that fills up mid-transaction.

use super::tests::temp_ledger;
use super::*;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use timeweave_contract::{Person, Record};

async fn raw_pool(path: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap()
}

async fn application_id(path: &Path) -> i32 {
    let pool = raw_pool(path).await;
    let (id,): (i32,) = sqlx::query_as("PRAGMA application_id")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    id
}

async fn table_count(path: &Path) -> i64 {
    let pool = raw_pool(path).await;
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn a_new_ledger_is_marked_as_ours_and_opens_again() {
    let (dir, ledger) = temp_ledger().await;
    ledger.close().await;
    let path = dir.path().join("ledger.db");
    assert_eq!(application_id(&path).await, APPLICATION_ID);
    Ledger::open(&path).await.unwrap().close().await;
    Ledger::open_read_only(&path).await.unwrap().close().await;
}

#[tokio::test]
async fn another_applications_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("notes.db");
    let pool = raw_pool(&plain).await;
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let marked = dir.path().join("other.db");
    let pool = raw_pool(&marked).await;
    sqlx::query("PRAGMA application_id = 1234")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE t (x)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    for (path, says) in [(&plain, "notes"), (&marked, "0x4d2")] {
        let err = Ledger::open(path).await.unwrap_err();
        assert!(matches!(err, LedgerError::Foreign { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("is not a timeweave ledger") && text.contains(says),
            "{text}"
        );
        assert!(text.contains("ledger.path"), "{text}");
        assert_eq!(table_count(path).await, 1, "no table added");
        let err = Ledger::open_read_only(path).await.unwrap_err();
        assert!(matches!(err, LedgerError::Foreign { .. }), "{err}");
    }
}

#[tokio::test]
async fn a_ledger_from_before_the_mark_is_recognised_and_marked() {
    let (dir, ledger) = temp_ledger().await;
    ledger.close().await;
    let path = dir.path().join("ledger.db");
    let pool = raw_pool(&path).await;
    sqlx::query("PRAGMA application_id = 0")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(application_id(&path).await, 0);
    // Readers accept it without writing.
    Ledger::open_read_only(&path).await.unwrap().close().await;
    assert_eq!(application_id(&path).await, 0);
    Ledger::open(&path).await.unwrap().close().await;
    assert_eq!(application_id(&path).await, APPLICATION_ID);
}

#[tokio::test]
async fn a_damaged_file_is_reported_with_the_ways_to_recover() {
    let (dir, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    for i in 0..400 {
        let person = Record::Person(Person {
            display_name: format!("Person {i} with a name long enough to fill pages"),
            email: Some(format!("person{i}@example.com")),
            username: Some(format!("person{i}")),
        });
        tx.insert_record(&person, "test", chrono::Utc::now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    ledger.check_integrity().await.unwrap();
    ledger.close().await;

    // Garbage over a few pages in the middle of the file.
    let path = dir.path().join("ledger.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    let pages = bytes.len() / page;
    assert!(pages > 12, "{pages} pages");
    let middle = pages / 2 * page;
    for (i, b) in bytes[middle..middle + 3 * page].iter_mut().enumerate() {
        *b = (i * 131 % 251) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();

    let err = Ledger::open(&path).await.unwrap_err();
    assert!(matches!(err, LedgerError::Damaged { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("restore the file from a backup") && text.contains("timeweave sync"),
        "{text}"
    );
    // `status` opens read-only, then checks.
    let checked = match Ledger::open_read_only(&path).await {
        Ok(reader) => reader.check_integrity().await,
        Err(e) => Err(e),
    };
    assert!(
        matches!(checked, Err(LedgerError::Damaged { .. })),
        "{checked:?}"
    );
}

#[tokio::test]
async fn a_transaction_the_full_disk_rolled_back_leaves_every_connection_usable() {
    let (_dir, ledger) = temp_ledger().await;
    {
        let mut tx = ledger.write().await.unwrap();
        // The disk is full, as SQLite sees it: this connection may not grow the file.
        let (pages,): (i64,) = sqlx::query_as("PRAGMA page_count")
            .fetch_one(tx.conn())
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA max_page_count = {pages}"
        )))
        .execute(tx.conn())
        .await
        .unwrap();
        let full = sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
             INSERT INTO sync_runs (provider, mode, started_at, status) \
             SELECT 'p' || i, 'both', '2026-01-01T00:00:00Z', 'running' FROM n",
        )
        .execute(tx.conn())
        .await;
        assert!(full.is_err(), "the insert must hit the size limit");
        // Space comes back before the transaction is dropped.
        sqlx::query("PRAGMA max_page_count = 1073741823")
            .execute(tx.conn())
            .await
            .unwrap();
        // When the journal or the commit hits the full disk (SQLITE_FULL, SQLITE_IOERR),
        // SQLite rolls the whole transaction back itself; the ROLLBACK sent when the
        // transaction is dropped then fails, and sqlx still counts it as open.
        sqlx::query("ROLLBACK").execute(tx.conn()).await.unwrap();
    }
    // Every connection of the pool is usable at once: no "non-zero transaction depth".
    for attempt in 0..8 {
        let mut tx = ledger
            .write()
            .await
            .unwrap_or_else(|e| panic!("write {attempt} after the disk filled: {e}"));
        tx.start_run("p", "both", chrono::Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn every_writer_pragma_is_in_effect_on_a_ledger_connection() {
    let (_dir, ledger) = temp_ledger().await;
    let mut tx = ledger.read().await.unwrap();
    for (name, value) in WRITER_PRAGMAS {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
            .fetch_one(tx.conn())
            .await
            .unwrap();
        let got = sqlx::Row::try_get::<i64, _>(&row, 0)
            .map(|n| n.to_string())
            .or_else(|_| sqlx::Row::try_get::<String, _>(&row, 0))
            .unwrap();
        // SQLite answers synchronous and foreign_keys as numbers: NORMAL is 1, ON is 1.
        let expected = match value {
            "NORMAL" | "ON" => "1",
            "WAL" => "wal",
            v => v,
        };
        assert_eq!(got, expected, "PRAGMA {name}");
    }
}

#[tokio::test]
async fn a_ledger_migrated_by_the_migrate_macro_opens_and_keeps_its_checksums() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let pool = raw_pool(&path).await;
    sqlx::raw_sql(include_str!("fixtures/ledger_at_migration_7.sql"))
        .execute(&pool)
        .await
        .unwrap();
    let checksums = "SELECT version, checksum FROM _sqlx_migrations ORDER BY version";
    let before: Vec<(i64, Vec<u8>)> = sqlx::query_as(checksums).fetch_all(&pool).await.unwrap();
    pool.close().await;

    // sqlx refuses to run a migrator whose checksum of an applied migration differs.
    let ledger = Ledger::open(&path).await.unwrap();
    assert_eq!(
        ledger.applied_migrations().await.unwrap(),
        (1..=8).collect::<Vec<i64>>()
    );
    let after: Vec<(i64, Vec<u8>)> = sqlx::query_as(checksums)
        .fetch_all(ledger.sqlite_pool())
        .await
        .unwrap();
    // The migrations it held keep their checksums; later ones are added after them.
    assert_eq!(after[..before.len()], before[..]);
    ledger.close().await;
}
