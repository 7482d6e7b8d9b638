//! PostgreSQL's own part of the record store (`ledger/records.rs`): new time entries go in
//! one multi-row `INSERT ... SELECT FROM UNNEST` per batch, one round trip whatever its
//! size: the import's bulk path. Names are not matched in SQL: no SQL function of
//! PostgreSQL promises `name_key`'s Unicode lower case, so every name passes and Rust
//! matches them (`records/natural_keys.rs`).

use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, Record};

use super::PgTx;
use crate::ledger::records::{EntryColumns, RecordDialect, ENTRY_INSERT_COLUMNS};
use crate::ledger::time::to_text_precise;
use crate::ledger::{Result, StoredRecord};

impl RecordDialect for PgTx {
    fn name_key_is(_column: &str, n: usize) -> String {
        // Always true (the key is always bound): the match is Rust's.
        format!("CAST(${n} AS TEXT) IS NOT NULL")
    }

    async fn insert_entry_rows(
        &mut self,
        stored: &[StoredRecord],
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let columns = EntryArrays::of(stored);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO time_entries ({ENTRY_INSERT_COLUMNS}) \
             SELECT u.id, u.hash, $3, $3, $4, $4, u.person, u.project, u.task, u.client, u.started, u.ended, u.brk, u.dur, u.tz, u.lstart, u.lend, u.ldate, u.notes, u.tags, u.billable, u.kind \
             FROM UNNEST($1::text[], $2::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], \
                         $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::boolean[], $20::text[]) \
                  AS u(id, hash, person, project, task, client, started, ended, brk, dur, tz, lstart, lend, ldate, notes, tags, billable, kind)",
        )))
        .bind(columns.id)
        .bind(columns.hash)
        .bind(origin)
        .bind(to_text_precise(now))
        .bind(columns.person)
        .bind(columns.project)
        .bind(columns.task)
        .bind(columns.client)
        .bind(columns.started)
        .bind(columns.ended)
        .bind(columns.break_seconds)
        .bind(columns.duration)
        .bind(columns.zone)
        .bind(columns.local_start)
        .bind(columns.local_end)
        .bind(columns.local_date)
        .bind(columns.notes)
        .bind(columns.tags)
        .bind(columns.billable)
        .bind(columns.kind)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

/// New entries as one array per column (what `UNNEST` takes).
#[derive(Default)]
struct EntryArrays {
    id: Vec<String>,
    hash: Vec<String>,
    person: Vec<String>,
    project: Vec<Option<String>>,
    task: Vec<Option<String>>,
    client: Vec<Option<String>>,
    started: Vec<String>,
    ended: Vec<Option<String>>,
    break_seconds: Vec<i64>,
    duration: Vec<Option<i64>>,
    zone: Vec<Option<String>>,
    local_start: Vec<String>,
    local_end: Vec<Option<String>>,
    local_date: Vec<String>,
    notes: Vec<Option<String>>,
    tags: Vec<String>,
    billable: Vec<bool>,
    kind: Vec<&'static str>,
}

impl EntryArrays {
    fn of(stored: &[StoredRecord]) -> EntryArrays {
        let mut a = EntryArrays::default();
        let cid = |c: &Option<CanonicalId>| c.as_ref().map(|c| c.0.clone());
        for s in stored {
            let Record::TimeEntry(e) = &s.record else {
                continue;
            };
            let cols = EntryColumns::of(e);
            a.id.push(s.id.0.clone());
            a.hash.push(s.hash.0.clone());
            a.person.push(e.person.0.clone());
            a.project.push(cid(&e.project));
            a.task.push(cid(&e.task));
            a.client.push(cid(&e.client));
            a.started.push(cols.started_at);
            a.ended.push(cols.ended_at);
            a.break_seconds.push(e.break_seconds);
            a.duration.push(e.duration_seconds);
            a.zone.push(e.source_tz.clone());
            a.local_start.push(cols.local_started_at);
            a.local_end.push(cols.local_ended_at);
            a.local_date.push(cols.local_date);
            a.notes.push(e.notes.clone());
            a.tags.push(cols.tags);
            a.billable.push(e.billable);
            a.kind.push(e.kind.as_str());
        }
        a
    }
}
