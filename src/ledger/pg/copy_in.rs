//! `COPY ... FROM STDIN` in text format: how the PostgreSQL bulk path of new time entries
//! hands the server a batch (its multi-row insert: as fast as the bench's plain `COPY`,
//! where `INSERT ... SELECT FROM UNNEST` took half as long again). Lines are built here,
//! every field escaped.

use super::PgTx;
use crate::ledger::Result;

/// Rows in `COPY`'s text format: fields separated by tabs, `\N` for NULL, a newline a row.
pub(super) struct CopyRows {
    text: String,
}

impl CopyRows {
    pub(super) fn with_capacity(bytes: usize) -> CopyRows {
        CopyRows {
            text: String::with_capacity(bytes),
        }
    }

    /// Adds a field to the current row: backslash, tab, newline and carriage return
    /// escaped (provider text may hold any of them).
    pub(super) fn field(&mut self, value: Option<&str>) {
        match value {
            None => self.text.push_str("\\N"),
            Some(v) => {
                for c in v.chars() {
                    match c {
                        '\\' => self.text.push_str("\\\\"),
                        '\t' => self.text.push_str("\\t"),
                        '\n' => self.text.push_str("\\n"),
                        '\r' => self.text.push_str("\\r"),
                        c => self.text.push(c),
                    }
                }
            }
        }
        self.text.push('\t');
    }

    /// Ends the current row (its last field's tab becomes the newline).
    pub(super) fn end_row(&mut self) {
        if self.text.ends_with('\t') {
            self.text.pop();
        }
        self.text.push('\n');
    }
}

impl PgTx {
    /// Runs `statement` (a `COPY ... FROM STDIN`) with these rows.
    pub(super) async fn copy_in(&mut self, statement: &str, rows: CopyRows) -> Result<()> {
        let mut copy = self.conn().copy_in_raw(statement).await?;
        if let Err(e) = copy.send(rows.text.into_bytes()).await {
            // The server ends the COPY (and fails the transaction) on its side either way.
            let _ = copy.abort(e.to_string()).await;
            return Err(e.into());
        }
        copy.finish().await?;
        Ok(())
    }
}
