//! The planner's statistics of the tables an import grows (`links`, `time_entries`), kept
//! current by the import itself. PostgreSQL plans every statement from the statistics of
//! its last `ANALYZE`; a new ledger has none, and autovacuum takes a minute or more to
//! gather them. Until then the planner takes `provider = $1 AND kind = $2` to match one
//! link and joins a page's ids against every link of the instance: each page's look-up
//! then costs (links so far) × (page size), 7 s a page at 40,000 links. So after each bulk
//! write a table that has grown past four times the size its statistics describe is
//! analysed in the same transaction (`ANALYZE` counts the transaction's own new rows): a
//! handful of `ANALYZE`s over a whole import, each a sample of at most 30,000 rows. (The
//! planner scales row counts by the table's current size itself; what goes stale with
//! growth is how the values spread, e.g. a new provider's share of the links.)

use sqlx::AssertSqlSafe;

use super::PgTx;
use crate::ledger::Result;

/// Batches smaller than this do not grow a table enough to check it (a round trip saved
/// on the engine's one-record writes); autovacuum keeps such slow growth analysed.
const MIN_BATCH: usize = 32;

/// Tables smaller than this (in pages of 8 KiB, about a thousand links) are left to
/// autovacuum: every plan is quick on them.
const MIN_PAGES: i64 = 32;

/// The tables whose statistics bulk writes keep (named in code only, never from input).
#[derive(Clone, Copy, Debug)]
pub(super) enum Grown {
    Links,
    TimeEntries,
}

impl Grown {
    fn table(self) -> &'static str {
        match self {
            Grown::Links => "links",
            Grown::TimeEntries => "time_entries",
        }
    }
}

impl PgTx {
    /// After a bulk write of `rows` rows to `table`: `ANALYZE`s it when it has grown to more
    /// than four times the pages its statistics were taken at (none yet counts as 0),
    /// provided this role owns it (else `ANALYZE` would only warn, every page).
    pub(super) async fn keep_statistics(&mut self, table: Grown, rows: usize) -> Result<()> {
        if rows < MIN_BATCH {
            return Ok(());
        }
        // `relpages` alone is not enough: `ANALYZE` sets it in place, so an import rolled
        // back after its `ANALYZE` leaves it covering a table that has no statistics.
        let stale: Option<bool> = sqlx::query_scalar(
            "SELECT (s.pages > greatest(4 * c.relpages::bigint, $2) \
                     OR (s.pages > $2 AND NOT EXISTS \
                         (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() \
                             AND tablename = $1))) \
                    AND pg_has_role(c.relowner, 'MEMBER') \
             FROM pg_class c, \
                  LATERAL (SELECT pg_relation_size(c.oid) \
                                  / current_setting('block_size')::bigint AS pages) s \
             WHERE c.oid = to_regclass($1)",
        )
        .bind(table.table())
        .bind(MIN_PAGES)
        .fetch_optional(self.conn())
        .await?;
        if stale == Some(true) {
            let analyze = format!("ANALYZE {}", table.table());
            sqlx::query(AssertSqlSafe(analyze))
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{DateTime, Duration, TimeZone, Utc};
    use timeweave_contract::{
        content_hash, CanonicalId, ContentHash, EntryKind, Kind, Person, Record, RemoteId,
        TimeEntry,
    };

    use crate::ledger::postgres::testing::scratch_ledger;
    use crate::ledger::{Ledger, LinkUpdate};

    const ROWS: usize = 5_000;

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn entry(person: &CanonicalId, k: usize) -> (Record<CanonicalId>, ContentHash) {
        let start = at(30 * k as i64);
        let record = Record::TimeEntry(TimeEntry {
            person: person.clone(),
            project: None,
            task: None,
            client: None,
            started_at: start,
            ended_at: Some(start + Duration::minutes(20)),
            break_seconds: 0,
            duration_seconds: Some(1200),
            source_tz: None,
            notes: Some(format!("entry {k}")),
            tags: BTreeSet::new(),
            billable: true,
            kind: EntryKind::Work,
        });
        let hash = content_hash(&record);
        (record, hash)
    }

    /// (planner statistics rows of the table's `provider`/`person_id` column, its reltuples)
    async fn statistics(ledger: &Ledger, table: &str, column: &str) -> (i64, f32) {
        let pool = ledger.postgres_pool().unwrap();
        let stats: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stats WHERE tablename = $1 AND attname = $2",
        )
        .bind(table)
        .bind(column)
        .fetch_one(pool)
        .await
        .unwrap();
        let tuples: f32 =
            sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)")
                .bind(table)
                .fetch_one(pool)
                .await
                .unwrap();
        (stats, tuples)
    }

    /// A first import's pages give the planner statistics at once: without them it joined
    /// each page's ids against every link (seconds a page); autovacuum would take a minute.
    #[tokio::test]
    async fn a_first_imports_bulk_writes_leave_the_tables_analysed() {
        let test =
            "ledger::pg::statistics::tests::a_first_imports_bulk_writes_leave_the_tables_analysed";
        let Some(ledger) = scratch_ledger(test).await else {
            return;
        };
        assert_eq!(statistics(&ledger, "links", "provider").await.0, 0);

        let mut tx = ledger.write().await.unwrap();
        import(&mut tx, 0..ROWS).await;
        tx.commit().await.unwrap();

        let (links, link_tuples) = statistics(&ledger, "links", "provider").await;
        assert_eq!(links, 1, "links has planner statistics");
        assert!(link_tuples >= ROWS as f32 / 2.0, "{link_tuples} links");
        let (entries, entry_tuples) = statistics(&ledger, "time_entries", "person_id").await;
        assert_eq!(entries, 1, "time_entries has planner statistics");
        assert!(entry_tuples >= ROWS as f32 / 2.0, "{entry_tuples} entries");
        ledger.close().await;
    }

    /// An import rolled back after its `ANALYZE` (a lost lease, an error) leaves the tables
    /// grown and `relpages` set, but no statistics: the next bulk write analyses them, even
    /// though the table has not grown since.
    #[tokio::test]
    async fn a_bulk_write_after_an_import_rolled_back_still_analyses() {
        let test =
            "ledger::pg::statistics::tests::a_bulk_write_after_an_import_rolled_back_still_analyses";
        let Some(ledger) = scratch_ledger(test).await else {
            return;
        };
        let mut rolled_back = ledger.write().await.unwrap();
        import(&mut rolled_back, 0..ROWS).await;
        drop(rolled_back);
        assert_eq!(statistics(&ledger, "links", "provider").await.0, 0);

        let mut tx = ledger.write().await.unwrap();
        import(&mut tx, 0..super::MIN_BATCH).await;
        tx.commit().await.unwrap();
        assert_eq!(statistics(&ledger, "links", "provider").await.0, 1);
        assert_eq!(statistics(&ledger, "time_entries", "person_id").await.0, 1);
        ledger.close().await;
    }

    /// A person, the entries `range` of theirs and a link of each, in bulk, in `tx`.
    async fn import(tx: &mut crate::ledger::Tx, range: std::ops::Range<usize>) {
        let ada = Record::Person(Person {
            display_name: "Ada".into(),
            email: None,
            username: None,
        });
        let ada = tx.insert_record(&ada, "tt", at(0)).await.unwrap();
        let entries: Vec<_> = range.clone().map(|k| entry(&ada.id, k)).collect();
        let stored = tx.insert_records(&entries, "tt", at(0)).await.unwrap();
        let remote_ids: Vec<RemoteId> = range.map(|k| RemoteId(k.to_string())).collect();
        let updates: Vec<LinkUpdate<'_>> = stored
            .iter()
            .zip(&remote_ids)
            .map(|(s, remote_id)| LinkUpdate {
                provider: "tt",
                kind: Kind::TimeEntry,
                canonical_id: &s.id,
                remote_id,
                remote_hash: &s.hash,
                canonical_hash: &s.hash,
                remote_version: None,
                remote_updated_at: None,
                remote_started_at: None,
                remote_incarnation: None,
            })
            .collect();
        tx.upsert_links(&updates, at(0)).await.unwrap();
    }
}
