//! Push intents: claimed (and committed) before a remote create, update or delete, removed
//! together with the recorded outcome. Each names its claimant (the cycle that sends it):
//! while another claimant's intent for a record is open, nobody else claims that record.
//! An intent still open whose claimant is gone means the outcome is unknown; the engine
//! looks the record up remotely before sending anything.

use chrono::{DateTime, Utc};
use sqlx::Row;
use timeweave_contract::{CanonicalId, ContentHash, Kind, Record, RemoteId};

use super::row::ReadRow;
use super::sqlite::SqliteTx;
use super::store::IntentStore;
use super::time::{parse_instant, to_text_precise};
use super::{LedgerError, Result};

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
    /// The cycle that claimed it (`None` before migration 7).
    pub claimed_by: Option<String>,
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
    /// The claiming cycle (`sync::claim`).
    pub claimed_by: &'a str,
}

/// Whether a claim was granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The intent is committed under this id: send.
    Granted(i64),
    /// Another claimant's intent for the record is open (named here): do not send.
    Held(Option<String>),
    /// A create, but the record is linked there by now (another claimant's create landed).
    Linked,
}

impl IntentStore for SqliteTx {
    async fn intent_claimant(
        &mut self,
        provider: &str,
        kind: Kind,
        canonical_id: &CanonicalId,
    ) -> Result<Option<Option<String>>> {
        let held: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT claimed_by FROM pending_pushes WHERE provider = ? AND kind = ? AND canonical_id = ?",
        )
        .bind(provider)
        .bind(kind.as_str())
        .bind(canonical_id.as_str())
        .fetch_optional(self.conn())
        .await?;
        Ok(held.map(|(by,)| by))
    }

    /// Records an intent; replaces one for the same record.
    async fn insert_intent(&mut self, i: &NewIntent<'_>, now: DateTime<Utc>) -> Result<i64> {
        let payload = serde_json::to_string(i.payload)
            .map_err(|e| LedgerError::corrupt("intent payload", e))?;
        let row = sqlx::query("INSERT INTO pending_pushes (provider, kind, canonical_id, op, remote_id, idempotency_key, payload, canonical_hash, created_at, claimed_by) \
                               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                               ON CONFLICT (provider, kind, canonical_id) DO UPDATE SET op = excluded.op, remote_id = excluded.remote_id, \
                               idempotency_key = excluded.idempotency_key, payload = excluded.payload, canonical_hash = excluded.canonical_hash, created_at = excluded.created_at, \
                               claimed_by = excluded.claimed_by \
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
        Ok(row.try_get(0)?)
    }

    async fn clear_intent(&mut self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM pending_pushes WHERE id = ?")
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn open_intents(&mut self, provider: &str) -> Result<Vec<PendingPush>> {
        let rows = sqlx::query("SELECT id, provider, kind, canonical_id, op, remote_id, idempotency_key, payload, canonical_hash, created_at, claimed_by FROM pending_pushes WHERE provider = ? ORDER BY id")
            .bind(provider)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(intent_from_row).collect()
    }

    async fn count_intents(&mut self, provider: Option<&str>) -> Result<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM pending_pushes WHERE ?1 IS NULL OR provider = ?1")
                .bind(provider)
                .fetch_one(self.conn())
                .await?;
        Ok(n)
    }
}

pub(super) fn intent_from_row(r: &impl ReadRow) -> Result<PendingPush> {
    let kind: String = r.get("kind")?;
    let op: String = r.get("op")?;
    let payload: String = r.get("payload")?;
    Ok(PendingPush {
        id: r.get("id")?,
        provider: r.get("provider")?,
        kind: Kind::parse(&kind)
            .ok_or_else(|| LedgerError::corrupt("pending_pushes.kind", &kind))?,
        canonical_id: CanonicalId(r.get("canonical_id")?),
        op: PushOp::parse(&op).ok_or_else(|| LedgerError::corrupt("pending_pushes.op", &op))?,
        remote_id: r.get::<Option<String>>("remote_id")?.map(RemoteId),
        idempotency_key: r.get("idempotency_key")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| LedgerError::corrupt("pending_pushes.payload", e))?,
        canonical_hash: ContentHash(r.get("canonical_hash")?),
        created_at: parse_instant(&r.get::<String>("created_at")?)?,
        claimed_by: r.get("claimed_by")?,
    })
}
