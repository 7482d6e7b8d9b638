//! Operator work on conflicts: list the open ones with both versions side by side, and
//! settle one by taking the ledger's or the provider's version. Taking the ledger marks the
//! link unsynced so the next push sends the ledger version to the provider (people, never
//! pushed, have the link name the ledger's version instead); taking the provider writes its
//! version into the ledger, from where every other provider gets it.

use std::fmt::Write as _;

use chrono::Utc;
use timeweave_contract::{CanonicalId, ContentHash, Kind};

use crate::cli::ConflictSide;
use crate::describe::label;
use crate::ledger::{ConflictRow, Ledger, LedgerError, Tx};
use crate::sync::{email_of, holder_other_than, UNSYNCED};

/// The fields where the two versions differ, as `field: ledger | provider` lines.
fn differences(c: &ConflictRow) -> Vec<(String, String, String)> {
    let ledger = serde_json::to_value(&c.ledger_record).unwrap_or_default();
    let remote = serde_json::to_value(&c.remote_record).unwrap_or_default();
    let (Some(l), Some(r)) = (ledger.as_object(), remote.as_object()) else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = l.keys().chain(r.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| l.get(*k) != r.get(*k))
        .map(|k| {
            let show = |v: Option<&serde_json::Value>| {
                v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
            };
            (k.clone(), show(l.get(k)), show(r.get(k)))
        })
        .collect()
}

/// `timeweave conflicts` output.
pub fn render(open: &[ConflictRow]) -> String {
    if open.is_empty() {
        return "no open conflicts\n".into();
    }
    let mut out = String::new();
    for c in open {
        let _ = writeln!(
            out,
            "#{} {} '{}' with {} (remote id {}), detected {}",
            c.id,
            c.kind,
            label(&c.ledger_record),
            c.provider,
            c.remote_id,
            c.detected_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        for (field, ledger, provider) in differences(c) {
            let _ = writeln!(out, "    {field:<18} ledger: {ledger}");
            let _ = writeln!(out, "    {:<18} {}: {provider}", "", c.provider);
        }
        let _ = writeln!(
            out,
            "    settle with: timeweave conflicts resolve {} --take ledger|{}",
            c.id, c.provider
        );
    }
    out
}

/// Why a conflict could not be settled.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("there is no conflict #{0}: see `timeweave conflicts`")]
    Unknown(i64),
    #[error("conflict #{id} was already settled ({winner} won)")]
    AlreadySettled { id: i64, winner: String },
    #[error(
        "conflict #{id} is between the ledger and {provider}, not {taken}: use --take ledger or --take {provider}"
    )]
    OtherProvider {
        id: i64,
        provider: String,
        taken: String,
    },
    #[error(
        "conflict #{id} cannot take {provider}'s version: it gives person '{person}' the e-mail \
         {email}, which ledger person '{holder}' (id {holder_id}) holds now, and the ledger keeps \
         one person per address. Settle it with --take ledger, or change the address of \
         '{holder}' at the provider that holds it first and let it sync"
    )]
    AddressHeld {
        id: i64,
        provider: String,
        person: String,
        email: String,
        holder: String,
        holder_id: CanonicalId,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Settles conflict `id`; returns a line saying what happened.
pub async fn resolve(
    ledger: &Ledger,
    id: i64,
    take: &ConflictSide,
) -> Result<String, ResolveError> {
    let mut tx = ledger.write().await?;
    let c = tx.conflict(id).await?.ok_or(ResolveError::Unknown(id))?;
    if c.resolved_at.is_some() {
        return Err(ResolveError::AlreadySettled {
            id,
            winner: c.winner.unwrap_or_else(|| "?".to_owned()),
        });
    }
    let now = Utc::now();
    let line = match take {
        ConflictSide::Ledger => {
            let (hash, line) = keep_ledger(&mut tx, &c).await?;
            tx.set_link_canonical_hash(&c.provider, c.kind, &c.canonical_id, &hash, now)
                .await?;
            tx.resolve_conflict(id, "ledger", "operator", now).await?;
            line
        }
        ConflictSide::Provider(name) if *name == c.provider => {
            if let Some(held) = address_held(&mut tx, &c).await? {
                return Err(held);
            }
            let hash = tx
                .update_record(&c.canonical_id, &c.remote_record, &c.provider, now)
                .await?;
            tx.set_link_canonical_hash(&c.provider, c.kind, &c.canonical_id, &hash, now)
                .await?;
            tx.resolve_conflict(id, "provider", "operator", now).await?;
            format!(
                "conflict #{id} settled: the ledger now holds {}'s version of {} '{}'; the other providers get it on their next cycles",
                c.provider,
                c.kind,
                label(&c.remote_record)
            )
        }
        ConflictSide::Provider(name) => {
            return Err(ResolveError::OtherProvider {
                id,
                provider: c.provider,
                taken: name.clone(),
            })
        }
    };
    tx.commit().await?;
    Ok(line)
}

/// Taking the ledger's version: the link's canonical hash, and the line saying what happens.
/// Records are sent to the provider (the link unsynced). People never are: the link names
/// the ledger's current version as the one both sides agreed on (the operator accepts the
/// difference), so the provider's next edit is compared with it, not with no base at all.
async fn keep_ledger(tx: &mut Tx, c: &ConflictRow) -> Result<(ContentHash, String), LedgerError> {
    let what = format!("{} '{}'", c.kind, label(&c.ledger_record));
    if c.kind != Kind::Person {
        let line = format!(
            "conflict #{} settled: the ledger version of {what} will be sent to {} on its next \
             cycle",
            c.id, c.provider
        );
        return Ok((ContentHash(UNSYNCED.into()), line));
    }
    let current = tx.get_record(Kind::Person, &c.canonical_id).await?;
    let hash = current
        .map(|r| r.hash)
        .unwrap_or_else(|| ContentHash(UNSYNCED.into()));
    let line = format!(
        "conflict #{} settled: the ledger keeps its version of {what}. People are never sent \
         to providers, so {} keeps its own: the difference is accepted, and its next edit is \
         compared with the ledger's version as it is now",
        c.id, c.provider
    );
    Ok((hash, line))
}

/// Taking the provider's version of a person whose address another live ledger person holds
/// by now (it came in after the conflict) would give the ledger two people with one address:
/// the refusal naming the holder, or `None` when the version can be taken.
async fn address_held(tx: &mut Tx, c: &ConflictRow) -> Result<Option<ResolveError>, LedgerError> {
    let Some(email) = email_of(&c.remote_record) else {
        return Ok(None);
    };
    let Some(holder_id) = holder_other_than(tx, &email, Some(&c.canonical_id)).await? else {
        return Ok(None);
    };
    let holder = tx.get_record(Kind::Person, &holder_id).await?;
    Ok(Some(ResolveError::AddressHeld {
        id: c.id,
        provider: c.provider.clone(),
        person: label(&c.ledger_record),
        email,
        holder: holder.map(|h| label(&h.record)).unwrap_or_default(),
        holder_id,
    }))
}
