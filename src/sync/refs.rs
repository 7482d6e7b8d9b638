//! Reference mapping between id spaces, through the links table: a remote record's
//! references become canonical ids on the way in, a canonical record's references become
//! one provider's remote ids on the way out (or a reason why not yet).

use std::collections::HashMap;

use timeweave_contract::{CanonicalId, Kind, Record, RemoteId};

use crate::describe::label;
use crate::ledger::{Result, Tx};

/// Every reference of `records` (remote ids) resolved to canonical ids at once: one query
/// per referenced kind. Unresolvable references are simply absent.
pub(crate) async fn remote_map<'r>(
    tx: &mut Tx,
    provider: &str,
    records: impl Iterator<Item = &'r Record<RemoteId>>,
) -> Result<HashMap<(Kind, RemoteId), CanonicalId>> {
    let mut wanted: HashMap<Kind, Vec<&RemoteId>> = HashMap::new();
    for r in records {
        for (kind, rid) in r.references() {
            wanted.entry(kind).or_default().push(rid);
        }
    }
    let mut map = HashMap::new();
    for (kind, mut ids) in wanted {
        ids.sort();
        ids.dedup();
        for (rid, link) in tx.links_by_remote(provider, kind, &ids).await? {
            map.insert((kind, rid), link.canonical_id);
        }
    }
    Ok(map)
}

/// The remote record with canonical references from `map`, or why it cannot be taken in.
pub(crate) fn to_canonical(
    map: &HashMap<(Kind, RemoteId), CanonicalId>,
    provider: &str,
    record: &Record<RemoteId>,
) -> std::result::Result<Record<CanonicalId>, String> {
    record.clone().try_map_refs(|kind, rid| {
        map.get(&(kind, rid.clone())).cloned().ok_or_else(|| {
            format!(
                "references {kind} {rid} of {provider}, which is not in the ledger (not listed, or skipped as invalid)"
            )
        })
    })
}

/// The canonical record with `provider`'s remote references, or a `waiting: ...` reason
/// naming the first reference that has no live counterpart there yet.
pub(crate) async fn to_remote(
    tx: &mut Tx,
    provider: &str,
    record: &Record<CanonicalId>,
) -> Result<std::result::Result<Record<RemoteId>, String>> {
    let mut map: HashMap<(Kind, CanonicalId), RemoteId> = HashMap::new();
    for (kind, cid) in record.references() {
        match tx.link_by_canonical(provider, kind, cid).await? {
            Some(link) if link.is_live() => {
                map.insert((kind, cid.clone()), link.remote_id);
            }
            _ => {
                let label = match tx.get_record(kind, cid).await? {
                    Some(r) => format!("'{}'", label(&r.record)),
                    None => cid.to_string(),
                };
                return Ok(Err(format!(
                    "waiting: {kind} {label} has no counterpart in {provider} yet"
                )));
            }
        }
    }
    Ok(record
        .clone()
        .try_map_refs(|kind, cid| map.get(&(kind, cid.clone())).cloned().ok_or(()))
        .map_err(|()| "waiting: reference mapping failed".to_owned()))
}
