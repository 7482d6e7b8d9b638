//! Push intents: written (and committed) before a remote create, update or delete, removed
//! together with the recorded outcome. An intent still open at the start of a cycle means
//! the outcome is unknown; the engine looks the record up remotely before sending anything.

use chrono::{DateTime, Utc};
use sqlx::Row;
use timeweave_contract::{CanonicalId, ContentHash, Kind, Record, RemoteId};

use super::time::{parse_instant, to_text_precise};
use super::{LedgerError, Result, Tx};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOp {
    Create,
    Update,
    Delete,
}

impl PushOp {
    pub fn as_str(self) -> &'static str {
        match self {
            PushOp::Create => "create",
            PushOp::Update => "update",
            PushOp::Delete => "delete",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "create" => Some(PushOp::Create),
            "update" => Some(PushOp::Update),
            "delete" => Some(PushOp::Delete),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PendingPush {
    pub id: i64,
    pub provider: String,
    pub kind: Kind,
    pub canonical_id: CanonicalId,
    pub op: PushOp,
    pub remote_id: Option<RemoteId>,
    pub idempotency_key: String,
    pub payload: Record<RemoteId>,
    pub canonical_hash: ContentHash,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewIntent<'a> {
    pub provider: &'a str,
    pub canonical_id: &'a CanonicalId,
    pub op: PushOp,
    pub remote_id: Option<&'a RemoteId>,
    pub idempotency_key: &'a str,
    pub payload: &'a Record<RemoteId>,
    pub canonical_hash: &'a ContentHash,
}

impl Tx {
    /// Records an intent; replaces a stale one for the same record (its outcome was
    /// reconciled before this cycle's pushes began).
    pub async fn insert_intent(&mut self, i: &NewIntent<'_>, now: DateTime<Utc>) -> Result<i64> {
        let payload = serde_json::to_string(i.payload)
            .map_err(|e| LedgerError::corrupt("intent payload", e))?;
        let row = sqlx::query("INSERT INTO pending_pushes (provider, kind, canonical_id, op, remote_id, idempotency_key, payload, canonical_hash, created_at) \
                               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                               ON CONFLICT (provider, kind, canonical_id) DO UPDATE SET op = excluded.op, remote_id = excluded.remote_id, \
                               idempotency_key = excluded.idempotency_key, payload = excluded.payload, canonical_hash = excluded.canonical_hash, created_at = excluded.created_at \
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
            .fetch_one(self.conn())
            .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn clear_intent(&mut self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM pending_pushes WHERE id = ?")
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn open_intents(&mut self, provider: &str) -> Result<Vec<PendingPush>> {
        let rows = sqlx::query("SELECT id, provider, kind, canonical_id, op, remote_id, idempotency_key, payload, canonical_hash, created_at FROM pending_pushes WHERE provider = ? ORDER BY id")
            .bind(provider)
            .fetch_all(self.conn())
            .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let op: String = r.try_get("op")?;
                let payload: String = r.try_get("payload")?;
                Ok(PendingPush {
                    id: r.try_get("id")?,
                    provider: r.try_get("provider")?,
                    kind: Kind::parse(&kind)
                        .ok_or_else(|| LedgerError::corrupt("pending_pushes.kind", &kind))?,
                    canonical_id: CanonicalId(r.try_get("canonical_id")?),
                    op: PushOp::parse(&op)
                        .ok_or_else(|| LedgerError::corrupt("pending_pushes.op", &op))?,
                    remote_id: r.try_get::<Option<String>, _>("remote_id")?.map(RemoteId),
                    idempotency_key: r.try_get("idempotency_key")?,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| LedgerError::corrupt("pending_pushes.payload", e))?,
                    canonical_hash: ContentHash(r.try_get("canonical_hash")?),
                    created_at: parse_instant(&r.try_get::<String, _>("created_at")?)?,
                })
            })
            .collect()
    }

    pub async fn count_intents(&mut self, provider: Option<&str>) -> Result<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM pending_pushes WHERE ?1 IS NULL OR provider = ?1")
                .bind(provider)
                .fetch_one(self.conn())
                .await?;
        Ok(n)
    }
}
