//! Cursors: per provider instance and kind, where the deep scan stands (it walks history
//! backwards slice by slice across cycles) and how far a change feed has been read.

use chrono::{DateTime, Utc};
use sqlx::Row;
use timeweave_contract::Kind;

use super::sqlite::SqliteTx;
use super::store::CursorStore;
use super::time::{parse_opt, to_text, to_text_precise};
use super::Result;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The next deep-scan slice ends here; `None`: start again from the hot window.
    pub deep_scan_position: Option<DateTime<Utc>>,
    /// Completed passes over the whole history.
    pub deep_scan_passes: i64,
    /// The change feed has been read up to here.
    pub change_watermark: Option<DateTime<Utc>>,
}

impl CursorStore for SqliteTx {
    async fn cursor(&mut self, provider: &str, kind: Kind) -> Result<Cursor> {
        let row = sqlx::query("SELECT deep_scan_position, deep_scan_passes, change_watermark FROM cursors WHERE provider = ? AND kind = ?")
            .bind(provider)
            .bind(kind.as_str())
            .fetch_optional(self.conn())
            .await?;
        match row {
            None => Ok(Cursor::default()),
            Some(r) => Ok(Cursor {
                deep_scan_position: parse_opt(r.try_get("deep_scan_position")?)?,
                deep_scan_passes: r.try_get("deep_scan_passes")?,
                change_watermark: parse_opt(r.try_get("change_watermark")?)?,
            }),
        }
    }

    /// Stores a cursor; called last in a cycle, after everything before it committed.
    async fn save_cursor(
        &mut self,
        provider: &str,
        kind: Kind,
        cursor: &Cursor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO cursors (provider, kind, deep_scan_position, deep_scan_passes, change_watermark, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                     ON CONFLICT (provider, kind) DO UPDATE SET deep_scan_position = excluded.deep_scan_position, deep_scan_passes = excluded.deep_scan_passes, \
                     change_watermark = excluded.change_watermark, updated_at = excluded.updated_at")
            .bind(provider)
            .bind(kind.as_str())
            .bind(cursor.deep_scan_position.map(to_text))
            .bind(cursor.deep_scan_passes)
            .bind(cursor.change_watermark.map(to_text))
            .bind(to_text_precise(now))
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
