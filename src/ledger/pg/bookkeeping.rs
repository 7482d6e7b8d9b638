//! Sync bookkeeping on PostgreSQL (see the SQLite files of the same names for what each
//! method means): cursors and trail positions, push intents, conflicts, record issues, record versions and
//! account bindings.

use chrono::{DateTime, Utc};
use sqlx::Row;
use timeweave_contract::{CanonicalId, ContentHash, Kind, Record, RemoteId};

use super::PgTx;
use crate::ledger::conflicts::row_to_conflict;
use crate::ledger::issues::issue_from_row;
use crate::ledger::pending::intent_from_row;
use crate::ledger::store::{ConflictStore, CursorStore, IntentStore, IssueStore, VersionStore};
use crate::ledger::time::{parse_instant, parse_opt, to_text, to_text_precise};
use crate::ledger::versions::read_version;
use crate::ledger::{
    ConflictRow, Cursor, Direction, LedgerError, NewConflict, NewIntent, NewIssue, PendingPush,
    RecordIssue, Result, TrailMark,
};

impl CursorStore for PgTx {
    async fn cursor(&mut self, provider: &str, kind: Kind) -> Result<Cursor> {
        let row = sqlx::query("SELECT deep_scan_position, deep_scan_passes, change_watermark FROM cursors WHERE provider = $1 AND kind = $2")
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

    async fn save_cursor(
        &mut self,
        provider: &str,
        kind: Kind,
        cursor: &Cursor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO cursors (provider, kind, deep_scan_position, deep_scan_passes, change_watermark, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (provider, kind) DO UPDATE SET deep_scan_position = EXCLUDED.deep_scan_position, deep_scan_passes = EXCLUDED.deep_scan_passes, \
                     change_watermark = EXCLUDED.change_watermark, updated_at = EXCLUDED.updated_at")
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

    async fn trail_mark(&mut self, provider: &str) -> Result<Option<TrailMark>> {
        let row = sqlx::query(
            "SELECT position, trusted_after_pass, last_gap, saved_at FROM trail_positions \
             WHERE provider = $1",
        )
        .bind(provider)
        .fetch_optional(self.conn())
        .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(TrailMark {
                position: r.try_get("position")?,
                trusted_after_pass: r.try_get("trusted_after_pass")?,
                last_gap: r.try_get("last_gap")?,
                saved_at: parse_opt(r.try_get("saved_at")?)?,
            })),
        }
    }

    async fn save_trail_mark(
        &mut self,
        provider: &str,
        mark: &TrailMark,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO trail_positions (provider, position, trusted_after_pass, last_gap, saved_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider) DO UPDATE SET \
             position = EXCLUDED.position, trusted_after_pass = EXCLUDED.trusted_after_pass, \
             last_gap = EXCLUDED.last_gap, saved_at = EXCLUDED.saved_at",
        )
        .bind(provider)
        .bind(&mark.position)
        .bind(mark.trusted_after_pass)
        .bind(mark.last_gap.as_deref())
        .bind(to_text_precise(now))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn last_windowed_scan(
        &mut self,
        provider: &str,
        kind: Kind,
    ) -> Result<Option<DateTime<Utc>>> {
        let at: Option<String> =
            sqlx::query_scalar("SELECT updated_at FROM cursors WHERE provider = $1 AND kind = $2")
                .bind(provider)
                .bind(kind.as_str())
                .fetch_optional(self.conn())
                .await?;
        at.as_deref().map(parse_instant).transpose()
    }
}

impl IntentStore for PgTx {
    async fn intent_claimant(
        &mut self,
        provider: &str,
        kind: Kind,
        canonical_id: &CanonicalId,
    ) -> Result<Option<Option<String>>> {
        let held: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT claimed_by FROM pending_pushes WHERE provider = $1 AND kind = $2 AND canonical_id = $3",
        )
        .bind(provider)
        .bind(kind.as_str())
        .bind(canonical_id.as_str())
        .fetch_optional(self.conn())
        .await?;
        Ok(held.map(|(by,)| by))
    }

    async fn insert_intent(&mut self, i: &NewIntent<'_>, now: DateTime<Utc>) -> Result<i64> {
        let payload = serde_json::to_string(i.payload)
            .map_err(|e| LedgerError::corrupt("intent payload", e))?;
        let (id,): (i64,) = sqlx::query_as("INSERT INTO pending_pushes (provider, kind, canonical_id, op, remote_id, idempotency_key, payload, canonical_hash, created_at, claimed_by) \
                               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                               ON CONFLICT (provider, kind, canonical_id) DO UPDATE SET op = EXCLUDED.op, remote_id = EXCLUDED.remote_id, \
                               idempotency_key = EXCLUDED.idempotency_key, payload = EXCLUDED.payload, canonical_hash = EXCLUDED.canonical_hash, created_at = EXCLUDED.created_at, \
                               claimed_by = EXCLUDED.claimed_by \
                               RETURNING id")
            .bind(i.provider)
            .bind(i.payload.kind().as_str())
            .bind(i.canonical_id.as_str())
            .bind(i.op.as_str())
            .bind(i.remote_id.map(RemoteId::as_str))
            .bind(i.idempotency_key)
            .bind(payload)
            .bind(i.canonical_hash.as_str())
            .bind(to_text_precise(now))
            .bind(i.claimed_by)
            .fetch_one(self.conn())
            .await?;
        Ok(id)
    }

    async fn clear_intent(&mut self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM pending_pushes WHERE id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn open_intents(&mut self, provider: &str) -> Result<Vec<PendingPush>> {
        let rows = sqlx::query("SELECT id, provider, kind, canonical_id, op, remote_id, idempotency_key, payload, canonical_hash, created_at, claimed_by FROM pending_pushes WHERE provider = $1 ORDER BY id")
            .bind(provider)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(intent_from_row).collect()
    }

    async fn count_intents(&mut self, provider: Option<&str>) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pending_pushes WHERE $1::text IS NULL OR provider = $1",
        )
        .bind(provider)
        .fetch_one(self.conn())
        .await?;
        Ok(n)
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| LedgerError::corrupt("conflict record", e))
}

impl ConflictStore for PgTx {
    async fn record_conflict(&mut self, c: &NewConflict<'_>, now: DateTime<Utc>) -> Result<i64> {
        let kind = c.ledger_record.kind();
        let now = to_text_precise(now);
        let (resolved_at, resolved_by) = match c.winner {
            Some(_) => (Some(now.clone()), Some(c.policy)),
            None => (None, None),
        };
        if c.winner.is_none() {
            let existing: Option<(i64,)> = sqlx::query_as("SELECT id FROM conflicts WHERE provider = $1 AND kind = $2 AND canonical_id = $3 AND resolved_at IS NULL")
                .bind(c.provider).bind(kind.as_str()).bind(c.canonical_id.as_str())
                .fetch_optional(self.conn()).await?;
            if let Some((id,)) = existing {
                sqlx::query("UPDATE conflicts SET ledger_record = $2, remote_record = $3, remote_hash = $4, remote_version = $5, remote_id = $6 WHERE id = $1")
                    .bind(id).bind(json(c.ledger_record)?).bind(json(c.remote_record)?).bind(c.remote_hash.as_str()).bind(c.remote_version).bind(c.remote_id.as_str())
                    .execute(self.conn()).await?;
                return Ok(id);
            }
        }
        let (id,): (i64,) = sqlx::query_as("INSERT INTO conflicts (provider, kind, canonical_id, remote_id, ledger_record, remote_record, remote_hash, remote_version, policy, winner, detected_at, resolved_at, resolved_by) \
                               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id")
            .bind(c.provider).bind(kind.as_str()).bind(c.canonical_id.as_str()).bind(c.remote_id.as_str())
            .bind(json(c.ledger_record)?).bind(json(c.remote_record)?).bind(c.remote_hash.as_str()).bind(c.remote_version)
            .bind(c.policy).bind(c.winner).bind(&now).bind(resolved_at).bind(resolved_by)
            .fetch_one(self.conn()).await?;
        Ok(id)
    }

    async fn conflicts(&mut self, open_only: bool) -> Result<Vec<ConflictRow>> {
        let rows = sqlx::query(
            "SELECT * FROM conflicts WHERE (NOT $1 OR resolved_at IS NULL) ORDER BY id",
        )
        .bind(open_only)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(row_to_conflict).collect()
    }

    async fn conflict(&mut self, id: i64) -> Result<Option<ConflictRow>> {
        let row = sqlx::query("SELECT * FROM conflicts WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(row_to_conflict).transpose()
    }

    async fn resolve_conflict(
        &mut self,
        id: i64,
        winner: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE conflicts SET winner = $2, resolved_at = $3, resolved_by = $4 WHERE id = $1 AND resolved_at IS NULL")
            .bind(id).bind(winner).bind(to_text_precise(now)).bind(by)
            .execute(self.conn()).await?;
        Ok(())
    }

    async fn has_open_conflict(
        &mut self,
        provider: &str,
        kind: Kind,
        canonical_id: &CanonicalId,
    ) -> Result<bool> {
        let open: Option<i32> = sqlx::query_scalar("SELECT 1 FROM conflicts WHERE provider = $1 AND kind = $2 AND canonical_id = $3 AND resolved_at IS NULL LIMIT 1")
            .bind(provider).bind(kind.as_str()).bind(canonical_id.as_str())
            .fetch_optional(self.conn()).await?;
        Ok(open.is_some())
    }

    async fn count_open_conflicts(&mut self, provider: Option<&str>) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL AND ($1::text IS NULL OR provider = $1)")
            .bind(provider).fetch_one(self.conn()).await?;
        Ok(n)
    }

    async fn prune_resolved_conflicts(&mut self, before: &str) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM conflicts WHERE resolved_at IS NOT NULL AND resolved_at < $1")
                .bind(before)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )
    }
}

impl IssueStore for PgTx {
    async fn record_issue(&mut self, issue: &NewIssue<'_>, now: DateTime<Utc>) -> Result<bool> {
        let NewIssue {
            provider,
            direction,
            kind,
            record_id,
            content_hash,
            reason,
        } = *issue;
        let existing: Option<(String, String)> = sqlx::query_as("SELECT content_hash, reason FROM record_issues WHERE provider = $1 AND direction = $2 AND kind = $3 AND record_id = $4")
            .bind(provider).bind(direction.as_str()).bind(kind.as_str()).bind(record_id)
            .fetch_optional(self.conn()).await?;
        let is_new = existing
            .as_ref()
            .is_none_or(|(h, r)| h != content_hash || r != reason);
        sqlx::query("INSERT INTO record_issues AS r (provider, direction, kind, record_id, content_hash, reason, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                     ON CONFLICT (provider, direction, kind, record_id) DO UPDATE SET content_hash = EXCLUDED.content_hash, reason = EXCLUDED.reason, last_seen_at = EXCLUDED.last_seen_at, \
                     first_seen_at = CASE WHEN r.content_hash = EXCLUDED.content_hash THEN r.first_seen_at ELSE EXCLUDED.first_seen_at END")
            .bind(provider).bind(direction.as_str()).bind(kind.as_str()).bind(record_id).bind(content_hash).bind(reason).bind(to_text_precise(now))
            .execute(self.conn()).await?;
        Ok(is_new)
    }

    async fn clear_issue(
        &mut self,
        provider: &str,
        direction: Direction,
        kind: Kind,
        record_id: &str,
    ) -> Result<()> {
        self.clear_issues(provider, direction, kind, &[record_id])
            .await
    }

    async fn clear_issues(
        &mut self,
        provider: &str,
        direction: Direction,
        kind: Kind,
        record_ids: &[&str],
    ) -> Result<()> {
        sqlx::query("DELETE FROM record_issues WHERE provider = $1 AND direction = $2 AND kind = $3 AND record_id IN (SELECT unnest($4::text[]))")
            .bind(provider)
            .bind(direction.as_str())
            .bind(kind.as_str())
            .bind(record_ids)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn issues(&mut self, provider: Option<&str>) -> Result<Vec<RecordIssue>> {
        let rows = sqlx::query("SELECT provider, direction, kind, record_id, content_hash, reason, first_seen_at, last_seen_at FROM record_issues WHERE $1::text IS NULL OR provider = $1 ORDER BY provider, last_seen_at DESC")
            .bind(provider)
            .fetch_all(self.conn()).await?;
        rows.iter().map(issue_from_row).collect()
    }

    async fn count_issues(&mut self, provider: &str) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM record_issues WHERE provider = $1")
            .bind(provider)
            .fetch_one(self.conn())
            .await?;
        Ok(n)
    }
}

impl VersionStore for PgTx {
    async fn keep_version(
        &mut self,
        id: &CanonicalId,
        record: &Record<CanonicalId>,
        hash: &ContentHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.insert_version(id, record, hash, now, false).await
    }

    async fn keep_version_if_linked(
        &mut self,
        id: &CanonicalId,
        old: &Record<CanonicalId>,
        old_hash: &ContentHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.insert_version(id, old, old_hash, now, true).await
    }

    async fn record_version(
        &mut self,
        kind: Kind,
        id: &CanonicalId,
        hash: &ContentHash,
    ) -> Result<Option<Record<CanonicalId>>> {
        let json: Option<String> = sqlx::query_scalar(
            "SELECT record FROM record_versions WHERE canonical_id = $1 AND content_hash = $2",
        )
        .bind(id.as_str())
        .bind(hash.as_str())
        .fetch_optional(self.conn())
        .await?;
        Ok(json.and_then(|json| read_version(&json, kind, id)))
    }

    async fn prune_versions(&mut self) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM record_versions v WHERE NOT EXISTS (SELECT 1 FROM links l \
             WHERE l.canonical_id = v.canonical_id AND l.canonical_hash = v.content_hash \
             AND l.remote_deleted_at IS NULL)",
        )
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    async fn count_versions(&mut self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM record_versions")
            .fetch_one(self.conn())
            .await?)
    }
}

impl PgTx {
    async fn insert_version(
        &mut self,
        id: &CanonicalId,
        record: &Record<CanonicalId>,
        hash: &ContentHash,
        now: DateTime<Utc>,
        only_if_linked: bool,
    ) -> Result<()> {
        let json = serde_json::to_string(record)
            .map_err(|e| LedgerError::corrupt("a record version", e))?;
        sqlx::query(
            "INSERT INTO record_versions (canonical_id, content_hash, record, saved_at) \
             SELECT $1, $2, $3, $4 WHERE NOT $5 OR EXISTS \
             (SELECT 1 FROM links WHERE canonical_id = $1 AND canonical_hash = $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id.as_str())
        .bind(hash.as_str())
        .bind(json)
        .bind(to_text_precise(now))
        .bind(only_if_linked)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
