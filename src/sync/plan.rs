//! The pure three-way planner. Given what a provider holds (the remote record), what the
//! ledger holds (the canonical record) and what both held at their last sync (the link),
//! it decides what to do — no I/O, so every case is a table test.
//!
//! Pull side ([`plan_remote`]): new remote records (natural-key match before import),
//! remote-only changes, ledger-only changes, both changed (equal content: just re-link;
//! different: a conflict settled by the policy), edit-beats-delete.
//! Deletions ([`plan_missing`], [`cycle_delete_guard`]): a linked record absent from a
//! complete listing is confirmed with a get before it counts as deleted; too many at once,
//! of any kind or all together, or a kind listed empty, stop every delete of the cycle.
//! Push side ([`plan_push`]): create, update or delete on the remote, or skip with a reason.

use chrono::{DateTime, Utc};
use timeweave_contract::fields::{merge, merge_preferring};
use timeweave_contract::{content_hash, CanonicalId, ContentHash, Field, Kind, Record, RemoteId};

use crate::config::Mode;

/// How a conflict (both sides changed, to different content) is settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// The side changed last wins: the provider's modification time where it has one, else
    /// the time the change was observed.
    Newest,
    /// The provider earlier in the list wins; a provider not listed ranks last; the
    /// remote wins a tie.
    Prefer(Vec<String>),
    /// The ledger keeps its value and the conflict stays open for an operator.
    Manual,
}

impl ConflictPolicy {
    pub fn name(&self) -> &'static str {
        match self {
            ConflictPolicy::Newest => "newest",
            ConflictPolicy::Prefer(_) => "prefer",
            ConflictPolicy::Manual => "manual",
        }
    }
}

/// Which version wins a conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Winner {
    Ledger,
    Remote,
}

impl Winner {
    pub fn as_str(self) -> &'static str {
        match self {
            Winner::Ledger => "ledger",
            Winner::Remote => "provider",
        }
    }
}

/// The canonical side of a comparison.
#[derive(Clone, Debug)]
pub struct LedgerSide<'a> {
    pub id: &'a CanonicalId,
    pub record: &'a Record<CanonicalId>,
    pub hash: &'a ContentHash,
    pub deleted: bool,
    /// Who made the current ledger content (an instance name, or "ledger").
    pub changed_by: &'a str,
    /// When that content was made (the source's modification time where known).
    pub modified_at: DateTime<Utc>,
}

/// The link's memory of the last successful sync.
#[derive(Clone, Debug)]
pub struct LinkSide<'a> {
    pub remote_hash: &'a ContentHash,
    pub canonical_hash: &'a ContentHash,
    pub remote_version: Option<&'a str>,
    pub remote_deleted: bool,
}

/// Everything the planner needs about one listed remote record.
#[derive(Clone, Debug)]
pub struct Observation<'a> {
    pub provider: &'a str,
    pub mode: Mode,
    pub policy: &'a ConflictPolicy,
    /// The remote record's hash (remote ids).
    pub remote_hash: &'a ContentHash,
    pub remote_version: Option<&'a str>,
    /// The provider's modification time, or when this cycle observed the record.
    pub remote_modified_at: DateTime<Utc>,
    /// The remote record with its references mapped to canonical ids, or why not.
    pub mapped: Result<&'a Record<CanonicalId>, &'a str>,
    pub link: Option<LinkSide<'a>>,
    /// The linked canonical record (when linked).
    pub ledger: Option<LedgerSide<'a>>,
    /// Unlinked canonical records with the same natural key (when not linked), best first.
    pub candidates: &'a [LedgerSide<'a>],
    /// The hash of `mapped`, when the caller has it already (`None`: computed here).
    pub mapped_hash: Option<&'a ContentHash>,
    /// The linked record as both sides held it at the last sync (the ledger version the
    /// link's canonical hash names), when both changed since and the ledger still has it:
    /// edits of different fields then merge instead of conflicting.
    pub base: Option<&'a Record<CanonicalId>>,
    /// Fields the provider lists but cannot be written (`Capabilities::read_only`): in a
    /// merge they keep the ledger's value, since the base is the ledger's version and the
    /// provider's value there never was ours to set.
    pub keep_ours: &'a [Field],
}

/// What to do with one listed remote record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteAction {
    /// Nothing changed remotely; the link is current.
    Unchanged,
    /// Nothing changed in content but the provider's version moved: store the new version.
    RefreshVersion,
    /// The record cannot be taken in; the reason is recorded once.
    Invalid { reason: String },
    /// A remote record we do not take in (push mode, or the remote copy of a record we
    /// deleted there); with the reason.
    Ignore { reason: String },
    /// A new record: create it in the ledger and link it.
    Import,
    /// A new remote record that is a copy of an existing canonical record: link them, and
    /// settle any difference as `then` says.
    Adopt {
        canonical_id: CanonicalId,
        then: Settle,
    },
    /// Only the remote changed: the ledger takes the remote content.
    ApplyRemote { canonical_id: CanonicalId },
    /// The ledger record was deleted but the remote record was edited since: the edit wins,
    /// the ledger record comes back with the remote content.
    Revive { canonical_id: CanonicalId },
    /// Both changed to the same content: record the link as current.
    Converged { canonical_id: CanonicalId },
    /// Both changed, in different fields: the ledger takes `merged` (each field from the
    /// side that changed it), and the provider is sent it too.
    Merge {
        canonical_id: CanonicalId,
        merged: Box<Record<CanonicalId>>,
    },
    /// Both changed the same field to different values.
    Conflict {
        canonical_id: CanonicalId,
        /// `None`: left open (manual policy).
        winner: Option<Winner>,
        /// With the base known and a winner: the record settled field by field (the
        /// winner's value where both changed a field, every other edit of both sides kept).
        /// `None`: the winner's whole record.
        settled: Option<Box<Record<CanonicalId>>>,
    },
    /// The ledger is authoritative for this provider (push mode): remember the remote
    /// state as seen and push the ledger version over it.
    Overwrite { canonical_id: CanonicalId },
}

impl RemoteAction {
    /// What the linked ledger record becomes under this action, `mapped` being the listed
    /// record (in ledger ids, unheld fields laid over); `None` when its content stays.
    /// The apply step writes exactly this (`apply.rs`); `shared_email.rs` reads it to know
    /// which people leave their address.
    pub fn linked_becomes<'a>(
        &'a self,
        mapped: &'a Record<CanonicalId>,
    ) -> Option<&'a Record<CanonicalId>> {
        match self {
            RemoteAction::ApplyRemote { .. } | RemoteAction::Revive { .. } => Some(mapped),
            RemoteAction::Merge { merged, .. } => Some(merged),
            RemoteAction::Conflict {
                winner: Some(_),
                settled: Some(settled),
                ..
            } => Some(settled),
            RemoteAction::Conflict {
                winner: Some(Winner::Remote),
                settled: None,
                ..
            } => Some(mapped),
            _ => None,
        }
    }
}

/// How a difference between an adopted pair is settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// Same content: nothing to do but link.
    Equal,
    /// The ledger takes the remote content.
    TakeRemote,
    /// The ledger keeps its content and it is pushed to the remote.
    KeepLedger,
    /// A conflict (recorded), with its winner or open.
    Conflict(Option<Winner>),
}

fn rank(order: &[String], who: &str) -> usize {
    order.iter().position(|p| p == who).unwrap_or(usize::MAX)
}

/// The winner of a conflict under `policy`; `None` when it stays open.
pub fn decide(
    policy: &ConflictPolicy,
    provider: &str,
    remote_modified_at: DateTime<Utc>,
    ledger: &LedgerSide<'_>,
) -> Option<Winner> {
    match policy {
        ConflictPolicy::Manual => None,
        ConflictPolicy::Newest => Some(if remote_modified_at >= ledger.modified_at {
            Winner::Remote
        } else {
            Winner::Ledger
        }),
        ConflictPolicy::Prefer(order) => {
            Some(if rank(order, provider) <= rank(order, ledger.changed_by) {
                Winner::Remote
            } else {
                Winner::Ledger
            })
        }
    }
}

/// Plans one listed remote record.
pub fn plan_remote(o: &Observation<'_>) -> RemoteAction {
    let mapped = match o.mapped {
        Ok(m) => m,
        Err(reason) => {
            return RemoteAction::Invalid {
                reason: reason.to_owned(),
            }
        }
    };
    let mapped_hash = o
        .mapped_hash
        .cloned()
        .unwrap_or_else(|| content_hash(mapped));
    let pulls = o.mode.pulls();

    let (link, ledger) = match (&o.link, &o.ledger) {
        (Some(link), Some(ledger)) if !link.remote_deleted => (link, ledger),
        (Some(link), _) if link.remote_deleted && is_archived(mapped) => {
            return RemoteAction::Ignore {
                reason: "the remote copy of a record deleted there (archived)".into(),
            }
        }
        (Some(_), None) => {
            return RemoteAction::Invalid {
                reason: "linked to a ledger record that does not exist".into(),
            }
        }
        // Unlinked, or linked to a remote record known gone that is live again (a provider
        // reusing ids): a new remote record.
        _ => return plan_new(o, &mapped_hash),
    };

    let remote_changed = o.remote_hash != link.remote_hash;
    let ledger_changed = ledger.deleted || ledger.hash != link.canonical_hash;
    let id = ledger.id.clone();
    match (remote_changed, ledger_changed) {
        (false, _) => {
            if o.remote_version != link.remote_version {
                RemoteAction::RefreshVersion
            } else {
                RemoteAction::Unchanged
            }
        }
        (true, _) if !pulls => RemoteAction::Overwrite { canonical_id: id },
        (true, false) => RemoteAction::ApplyRemote { canonical_id: id },
        (true, true) if ledger.deleted => RemoteAction::Revive { canonical_id: id },
        (true, true) if &mapped_hash == ledger.hash => RemoteAction::Converged { canonical_id: id },
        (true, true) => {
            // With the base: the provider's side, its read-only fields as the ledger's.
            let sides = o
                .base
                .map(|base| (base, mapped.clone().keep_unheld(ledger.record, o.keep_ours)));
            if let Some((base, theirs)) = &sides {
                if let Some(merged) = merge(base, ledger.record, theirs) {
                    return RemoteAction::Merge {
                        canonical_id: id,
                        merged: Box::new(merged),
                    };
                }
            }
            let winner = decide(o.policy, o.provider, o.remote_modified_at, ledger);
            let settled = match (&sides, winner) {
                (Some((base, theirs)), Some(w)) => {
                    merge_preferring(base, ledger.record, theirs, w == Winner::Remote).map(Box::new)
                }
                _ => None,
            };
            RemoteAction::Conflict {
                canonical_id: id,
                winner,
                settled,
            }
        }
    }
}

fn plan_new(o: &Observation<'_>, mapped_hash: &ContentHash) -> RemoteAction {
    let pulls = o.mode.pulls();
    match o.candidates.first() {
        Some(candidate) => {
            // People are matched by e-mail; providers describe one person differently (a
            // username here, none there), which is no conflict: the first description stays.
            let then = if mapped_hash == candidate.hash || candidate.record.kind() == Kind::Person {
                Settle::Equal
            } else if !pulls {
                Settle::KeepLedger
            } else {
                match decide(o.policy, o.provider, o.remote_modified_at, candidate) {
                    Some(Winner::Remote) => Settle::Conflict(Some(Winner::Remote)),
                    Some(Winner::Ledger) => Settle::Conflict(Some(Winner::Ledger)),
                    None => Settle::Conflict(None),
                }
            };
            RemoteAction::Adopt {
                canonical_id: candidate.id.clone(),
                then,
            }
        }
        None if pulls => RemoteAction::Import,
        None => RemoteAction::Ignore {
            reason: format!(
                "{} is in push mode: records that exist only there are not imported",
                o.provider
            ),
        },
    }
}

fn is_archived<R>(r: &Record<R>) -> bool {
    match r {
        Record::Client(c) => c.archived,
        Record::Project(p) => p.archived,
        Record::Task(t) => t.archived,
        _ => false,
    }
}

/// What to do about a linked record missing from a complete listing, once the provider
/// answered a get for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MissingAction {
    /// Confirmed gone, ledger unchanged since: tombstone the ledger record.
    Tombstone,
    /// Confirmed gone but the ledger record was edited since (or this provider only
    /// receives): the edit wins; forget the link so the record is sent again.
    Unlink,
    /// Confirmed gone and the ledger record is already deleted: record it.
    MarkGone,
    /// Still there (moved out of the window, or missed by shifting pages): process the
    /// record the get returned like a listed one.
    StillThere,
}

/// Plans a linked record that a complete listing did not show. `still_exists`: the
/// provider's answer to a get by id.
pub fn plan_missing(
    mode: Mode,
    still_exists: bool,
    link_canonical_hash: &ContentHash,
    ledger: Option<(&ContentHash, bool)>,
) -> MissingAction {
    if still_exists {
        return MissingAction::StillThere;
    }
    match ledger {
        None | Some((_, true)) => MissingAction::MarkGone,
        Some(_) if !mode.pulls() => MissingAction::Unlink,
        Some((hash, false)) if hash == link_canonical_hash => MissingAction::Tombstone,
        Some(_) => MissingAction::Unlink,
    }
}

/// Limits on deletions inferred in one listing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MassDeleteGuard {
    /// Stop when more than this fraction of the listing's linked records vanished...
    pub max_fraction: f64,
    /// ...and more than this many.
    pub min_count: usize,
}

/// `Err(message)` when deleting `missing` of `linked` records at once looks like an outage
/// or a misconfiguration (an emptied account, a wrong workspace) rather than real deletes.
pub fn mass_delete_guard(
    guard: MassDeleteGuard,
    missing: usize,
    linked: usize,
) -> Result<(), String> {
    fractions(guard, missing, linked).map_err(|why| {
        format!(
            "mass-delete guard: {why}; nothing was deleted. If these deletions are real, \
             raise sync.mass_delete_max_fraction or sync.mass_delete_min_count for one run"
        )
    })
}

/// What one cycle's complete listings of one kind found against the ledger's links.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindTally {
    /// Live links in the listed scopes.
    pub linked: usize,
    /// Of those, how many the listings did not show.
    pub missing: usize,
    /// Records of the kind the listings showed.
    pub listed: usize,
}

/// The guard over a whole cycle: deletions inferred from every listing are weighed
/// together before any is applied. It trips when all kinds together, or any kind alone
/// (a handful of clients or projects vanishing is the loudest sign of a wrong account),
/// pass both thresholds; and, regardless of counts, when the provider listed nothing at
/// all where the ledger has links (an emptied account or a wrong workspace, not deletes).
/// `Err` names every reason.
pub fn cycle_delete_guard(
    guard: MassDeleteGuard,
    tallies: &[(Kind, KindTally)],
) -> Result<(), String> {
    let mut reasons = Vec::new();
    for (kind, t) in tallies {
        if let Err(why) = fractions(guard, t.missing, t.linked) {
            reasons.push(format!("{kind}: {why}"));
        }
    }
    let all = tallies
        .iter()
        .fold(KindTally::default(), |a, (_, t)| KindTally {
            linked: a.linked + t.linked,
            missing: a.missing + t.missing,
            listed: a.listed + t.listed,
        });
    if all.linked > 0 && all.listed == 0 {
        reasons.push(format!(
            "it listed nothing at all where the ledger links {} records",
            all.linked
        ));
    } else if let (Err(why), true) = (fractions(guard, all.missing, all.linked), tallies.len() > 1)
    {
        reasons.push(format!("all kinds together: {why}"));
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "mass-delete guard: {}; nothing was deleted and no delete was sent. If these \
             deletions are real, confirm them with `timeweave sync --allow-deletes INSTANCE` \
             (or raise sync.mass_delete_max_fraction / sync.mass_delete_min_count)",
            reasons.join("; ")
        ))
    }
}

/// `Err` when `missing` of `linked` passes both thresholds.
fn fractions(guard: MassDeleteGuard, missing: usize, linked: usize) -> Result<(), String> {
    let fraction = if linked == 0 {
        0.0
    } else {
        missing as f64 / linked as f64
    };
    if missing > guard.min_count && fraction > guard.max_fraction {
        Err(format!(
            "{missing} of {linked} linked records ({:.0} %) vanished at once",
            fraction * 100.0
        ))
    } else {
        Ok(())
    }
}

/// What the push side does with a ledger record for one provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushAction {
    Create,
    Update {
        target: RemoteId,
    },
    Delete {
        target: RemoteId,
    },
    /// Not sent; the reason is recorded once for this content.
    Skip {
        reason: String,
    },
    /// Not sent yet: a reference has no counterpart there yet; tried again next cycle.
    Wait {
        reason: String,
    },
}

/// Plans the push of one ledger record to one provider. `remote_link`: the live link's
/// remote id, if any. `mapped`: the record with references mapped to that provider's ids,
/// or why not.
pub fn plan_push(
    kind: Kind,
    deleted: bool,
    remote_link: Option<&RemoteId>,
    propagate_deletes: bool,
    mapped: Result<(), String>,
) -> PushAction {
    if deleted {
        return match remote_link {
            Some(target) if propagate_deletes => PushAction::Delete {
                target: target.clone(),
            },
            Some(_) => PushAction::Skip {
                reason: "deletes do not propagate to this provider (propagate_deletes = false)"
                    .into(),
            },
            None => PushAction::Skip {
                reason: "deleted before it ever reached this provider".into(),
            },
        };
    }
    if kind == Kind::Person {
        return PushAction::Skip {
            reason: "people are never created or changed by timeweave: create the account in \
                     the provider (matched by e-mail) or map it in [people]"
                .into(),
        };
    }
    if let Err(reason) = mapped {
        return PushAction::Wait { reason };
    }
    match remote_link {
        Some(target) => PushAction::Update {
            target: target.clone(),
        },
        None => PushAction::Create,
    }
}

#[cfg(test)]
mod tests;
