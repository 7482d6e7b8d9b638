//! PostgreSQL's own part of the record store (`ledger/records.rs`): new time entries go in
//! by one `COPY ... FROM STDIN` per batch (text format), the import's bulk path: the
//! server's multi-row insert, a third cheaper than `INSERT ... SELECT FROM UNNEST` for a
//! page of 10,000 entries (which keeps the table's planner statistics current:
//! `statistics.rs`). Names are not matched in SQL: no SQL function of PostgreSQL promises
//! `name_key`'s Unicode lower case, so every name passes and Rust matches them
//! (`records/natural_keys.rs`).

use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, Record};

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
        let conn = self.conn();
        let mut copy = conn
            .copy_in_raw(&format!(
                "COPY time_entries ({ENTRY_INSERT_COLUMNS}) FROM STDIN"
            ))
            .await?;
        if let Err(e) = copy.send(rows.into_bytes()).await {
            // The server ends the COPY (and the transaction) on its side either way.
            let _ = copy.abort(e.to_string()).await;
            return Err(e.into());
        }
        copy.finish().await?;
        self.keep_statistics(Grown::TimeEntries, stored.len()).await
    }
}

/// New entries as `COPY`'s text format, in `ENTRY_INSERT_COLUMNS`' order: one line each,
/// columns separated by tabs, `\N` for NULL.
fn copy_rows(stored: &[StoredRecord], origin: &str, now: &str) -> String {
    let mut out = String::with_capacity(stored.len() * 400);
    for s in stored {
        let Record::TimeEntry(e) = &s.record else {
            continue;
        };
        let cols = EntryColumns::of(e);
        fn cid(c: &Option<CanonicalId>) -> Option<&str> {
            c.as_ref().map(CanonicalId::as_str)
        }
        let bookkeeping = [s.id.as_str(), s.hash.as_str(), origin, origin, now, now];
        for value in bookkeeping {
            field(&mut out, Some(value));
        }
        field(&mut out, Some(e.person.as_str()));
        field(&mut out, cid(&e.project));
        field(&mut out, cid(&e.task));
        field(&mut out, cid(&e.client));
        field(&mut out, Some(&cols.started_at));
        field(&mut out, cols.ended_at.as_deref());
        field(&mut out, Some(&e.break_seconds.to_string()));
        field(
            &mut out,
            e.duration_seconds.map(|d| d.to_string()).as_deref(),
        );
        field(&mut out, e.source_tz.as_deref());
        field(&mut out, Some(&cols.local_started_at));
        field(&mut out, cols.local_ended_at.as_deref());
        field(&mut out, Some(&cols.local_date));
        field(&mut out, e.notes.as_deref());
        field(&mut out, Some(&cols.tags));
        field(&mut out, Some(if e.billable { "t" } else { "f" }));
        out.push_str(e.kind.as_str());
        out.push('\n');
    }
    out
}

/// One column of a `COPY` text line and its tab: backslash, tab, newline and carriage
/// return escaped (provider text may hold any of them), `\N` for NULL.
fn field(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("\\N"),
        Some(v) => {
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
    out.push('\t');
}
