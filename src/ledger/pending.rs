//! Push intents: claimed (and committed) before a remote create, update or delete, removed
//! together with the recorded outcome. Each names its claimant (the cycle that sends it):
//! while another claimant's intent for a record is open, nobody else claims that record.
//! An intent still open whose claimant is gone means the outcome is unknown; the engine
//! looks the record up remotely before sending anything. One implementation serves both
//! backends (`sql.rs`); claiming (read the claimant, then write) is `Tx::claim_intent`.

use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, ContentHash, Kind, Record, RemoteId};

use super::row::ReadRow;
use super::sql::{Exec, Sql};
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

impl<B: Exec> IntentStore for B {
    async fn intent_claimant(
        &mut self,
        provider: &str,
        kind: Kind,
        canonical_id: &CanonicalId,
    ) -> Result<Option<Option<String>>> {
        let sql = Sql::new(
            "SELECT claimed_by FROM pending_pushes \
             WHERE provider = $1 AND kind = $2 AND canonical_id = $3",
        )
        .bind(provider)
        .bind(kind.as_str())
        .bind(canonical_id.as_str());
        let held = self.fetch_optional(sql).await?;
        held.map(|r| r.get("claimed_by")).transpose()
    }

    /// Records an intent; replaces one for the same record.
    async fn insert_intent(&mut self, i: &NewIntent<'_>, now: DateTime<Utc>) -> Result<i64> {
        let payload = serde_json::to_string(i.payload)
            .map_err(|e| LedgerError::corrupt("intent payload", e))?;
        let sql = Sql::new(
            "INSERT INTO pending_pushes (provider, kind, canonical_id, op, remote_id, \
             idempotency_key, payload, canonical_hash, created_at, claimed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (provider, kind, canonical_id) DO UPDATE SET op = excluded.op, \
             remote_id = excluded.remote_id, idempotency_key = excluded.idempotency_key, \
             payload = excluded.payload, canonical_hash = excluded.canonical_hash, \
             created_at = excluded.created_at, claimed_by = excluded.claimed_by \
             RETURNING id",
        )
        .bind(i.provider)
        .bind(i.payload.kind().as_str())
        .bind(i.canonical_id.as_str())
        .bind(i.op.as_str())
        .bind(i.remote_id.map(RemoteId::as_str))
        .bind(i.idempotency_key)
        .bind(payload)
        .bind(i.canonical_hash.as_str())
        .bind(to_text_precise(now))
        .bind(i.claimed_by);
        self.fetch_one(sql, "the new intent's id").await?.get("id")
    }

    async fn clear_intent(&mut self, id: i64) -> Result<()> {
        self.execute(Sql::new("DELETE FROM pending_pushes WHERE id = $1").bind(id))
            .await?;
        Ok(())
    }

    async fn open_intents(&mut self, provider: &str) -> Result<Vec<PendingPush>> {
        let sql = Sql::new(
            "SELECT id, provider, kind, canonical_id, op, remote_id, idempotency_key, payload, \
             canonical_hash, created_at, claimed_by FROM pending_pushes WHERE provider = $1 \
             ORDER BY id",
        );
        let rows = self.fetch_all(sql.bind(provider)).await?;
        rows.iter().map(intent_from_row).collect()
    }

    async fn count_intents(&mut self, provider: Option<&str>) -> Result<i64> {
        let sql =
            Sql::new("SELECT count(*) AS n FROM pending_pushes WHERE $1 IS NULL OR provider = $1");
        self.fetch_one(sql.bind(provider), "a count")
            .await?
            .get("n")
    }
}
fn intent_from_row(r: &impl ReadRow) -> Result<PendingPush> {
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
