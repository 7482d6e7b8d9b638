//! SQLite's own part of the record store (`ledger/records.rs`): new time entries go in
//! through one prepared statement on the connection itself (`direct.rs`), the import's hot
//! path; names are matched in SQL by `natural_key()` (the contract's `name_key`,
//! `natural_key.rs`), so only the matches are read (reading every candidate to match it in
//! Rust made a look-up among 2,000 clients 20 times slower).

use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, Record};

use super::SqliteTx;
use crate::ledger::records::{EntryColumns, RecordDialect, ENTRY_INSERT_COLUMNS};
use crate::ledger::time::to_text_precise;
use crate::ledger::{Result, StoredRecord};

impl RecordDialect for SqliteTx {
    fn name_key_is(column: &str, n: usize) -> String {
        format!("natural_key({column}) = ${n}")
    }

    async fn insert_entry_rows(
        &mut self,
        stored: &[StoredRecord],
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let now_text = to_text_precise(now);
        self.direct(|conn| {
            let mut insert = conn.prepare(&format!(
                "INSERT INTO time_entries ({ENTRY_INSERT_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            ))?;
            for s in stored {
                let Record::TimeEntry(e) = &s.record else {
                    continue;
                };
                let cols = EntryColumns::of(e);
                insert.execute(rusqlite::params![
                    s.id.as_str(),
                    s.hash.0.as_str(),
                    origin,
                    now_text.as_str(),
                    e.person.as_str(),
                    e.project.as_ref().map(CanonicalId::as_str),
                    e.task.as_ref().map(CanonicalId::as_str),
                    e.client.as_ref().map(CanonicalId::as_str),
                    cols.started_at,
                    cols.ended_at,
                    e.break_seconds,
                    e.duration_seconds,
                    e.source_tz.as_deref(),
                    cols.local_started_at,
                    cols.local_ended_at,
                    cols.local_date,
                    e.notes.as_deref(),
                    cols.tags,
                    e.billable,
                    e.kind.as_str(),
                ])?;
            }
            Ok(())
        })
        .await
    }
}
