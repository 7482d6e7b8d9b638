//! PostgreSQL's own part of the record store (`ledger/records.rs`): new time entries go in
//! by one `COPY ... FROM STDIN` per batch (`copy_in.rs`), the import's bulk path (which keeps
//! the table's planner statistics current: `statistics.rs`). Names are not matched in SQL:
//! no SQL function of PostgreSQL promises `name_key`'s Unicode lower case, so every name
//! passes and Rust matches them (`records/natural_keys.rs`).
use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, Record};

use super::copy_in::CopyRows;
use super::statistics::Grown;
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
        let rows = copy_rows(stored, origin, &to_text_precise(now));
        let copy = format!("COPY time_entries ({ENTRY_INSERT_COLUMNS}) FROM STDIN");
        self.copy_in(&copy, rows).await?;
        self.keep_statistics(Grown::TimeEntries, stored.len()).await
    }
}

/// New entries as `COPY` rows, in `ENTRY_INSERT_COLUMNS`' order.
fn copy_rows(stored: &[StoredRecord], origin: &str, now: &str) -> CopyRows {
    fn cid(c: &Option<CanonicalId>) -> Option<&str> {
        c.as_ref().map(CanonicalId::as_str)
    }
    let mut rows = CopyRows::with_capacity(stored.len() * 400);
    for s in stored {
        let Record::TimeEntry(e) = &s.record else {
            continue;
        };
        let cols = EntryColumns::of(e);
        let bookkeeping = [s.id.as_str(), s.hash.as_str(), origin, origin, now, now];
        for value in bookkeeping {
            rows.field(Some(value));
        }
        rows.field(Some(e.person.as_str()));
        rows.field(cid(&e.project));
        rows.field(cid(&e.task));
        rows.field(cid(&e.client));
        rows.field(Some(&cols.started_at));
        rows.field(cols.ended_at.as_deref());
        rows.field(Some(&e.break_seconds.to_string()));
        rows.field(e.duration_seconds.map(|d| d.to_string()).as_deref());
        rows.field(e.source_tz.as_deref());
        rows.field(Some(&cols.local_started_at));
        rows.field(cols.local_ended_at.as_deref());
        rows.field(Some(&cols.local_date));
        rows.field(e.notes.as_deref());
        rows.field(Some(&cols.tags));
        rows.field(Some(if e.billable { "t" } else { "f" }));
        rows.field(Some(e.kind.as_str()));
        rows.end_row();
    }
    rows
}
