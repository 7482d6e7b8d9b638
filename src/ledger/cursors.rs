//! Cursors: per provider instance and kind, where the deep scan stands (it walks history
//! backwards slice by slice across cycles) and how far a change feed has been read; per
//! instance, where its change trail was read up to (`TrailMark`). One implementation
//! serves both backends (`sql.rs`).

use chrono::{DateTime, Utc};
use timeweave_contract::Kind;

use super::row::ReadRow;
use super::sql::{Exec, Sql};
use super::store::CursorStore;
use super::time::{parse_instant, parse_opt, to_text, to_text_precise};
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

/// Where a provider's change trail was read up to, and from which deep-scan pass on it may
/// spare a cycle the full listings (see `migrations/0008_trail_positions.sql`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrailMark {
    /// The adapter's opaque position.
    pub position: String,
    pub trusted_after_pass: i64,
    /// Why the last read could not prove it held every change (`None`: it could).
    pub last_gap: Option<String>,
    /// When it was stored (set when read back; ignored on save).
    pub saved_at: Option<DateTime<Utc>>,
}

impl<B: Exec> CursorStore for B {
    async fn cursor(&mut self, provider: &str, kind: Kind) -> Result<Cursor> {
        let sql = Sql::new(
            "SELECT deep_scan_position, deep_scan_passes, change_watermark FROM cursors \
             WHERE provider = $1 AND kind = $2",
        )
        .bind(provider)
        .bind(kind.as_str());
        let Some(r) = self.fetch_optional(sql).await? else {
            return Ok(Cursor::default());
        };
        Ok(Cursor {
            deep_scan_position: parse_opt(r.get("deep_scan_position")?)?,
            deep_scan_passes: r.get("deep_scan_passes")?,
            change_watermark: parse_opt(r.get("change_watermark")?)?,
        })
    }

    /// Stores a cursor; called last in a cycle, after everything before it committed.
    async fn save_cursor(
        &mut self,
        provider: &str,
        kind: Kind,
        cursor: &Cursor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sql = Sql::new(
            "INSERT INTO cursors (provider, kind, deep_scan_position, deep_scan_passes, \
             change_watermark, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (provider, kind) DO UPDATE SET \
             deep_scan_position = excluded.deep_scan_position, \
             deep_scan_passes = excluded.deep_scan_passes, \
             change_watermark = excluded.change_watermark, updated_at = excluded.updated_at",
        )
        .bind(provider)
        .bind(kind.as_str())
        .bind(cursor.deep_scan_position.map(to_text))
        .bind(cursor.deep_scan_passes)
        .bind(cursor.change_watermark.map(to_text))
        .bind(to_text_precise(now));
        self.execute(sql).await?;
        Ok(())
    }

    async fn trail_mark(&mut self, provider: &str) -> Result<Option<TrailMark>> {
        let sql = Sql::new(
            "SELECT position, trusted_after_pass, last_gap, saved_at FROM trail_positions \
             WHERE provider = $1",
        );
        let Some(r) = self.fetch_optional(sql.bind(provider)).await? else {
            return Ok(None);
        };
        Ok(Some(TrailMark {
            position: r.get("position")?,
            trusted_after_pass: r.get("trusted_after_pass")?,
            last_gap: r.get("last_gap")?,
            saved_at: parse_opt(r.get("saved_at")?)?,
        }))
    }

    async fn save_trail_mark(
        &mut self,
        provider: &str,
        mark: &TrailMark,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sql = Sql::new(
            "INSERT INTO trail_positions (provider, position, trusted_after_pass, last_gap, \
             saved_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider) DO UPDATE SET \
             position = excluded.position, trusted_after_pass = excluded.trusted_after_pass, \
             last_gap = excluded.last_gap, saved_at = excluded.saved_at",
        )
        .bind(provider)
        .bind(&mark.position)
        .bind(mark.trusted_after_pass)
        .bind(mark.last_gap.as_deref())
        .bind(to_text_precise(now));
        self.execute(sql).await?;
        Ok(())
    }

    async fn last_windowed_scan(
        &mut self,
        provider: &str,
        kind: Kind,
    ) -> Result<Option<DateTime<Utc>>> {
        let sql = Sql::new("SELECT updated_at FROM cursors WHERE provider = $1 AND kind = $2")
            .bind(provider)
            .bind(kind.as_str());
        let Some(r) = self.fetch_optional(sql).await? else {
            return Ok(None);
        };
        Ok(Some(parse_instant(&r.get::<String>("updated_at")?)?))
    }
}
