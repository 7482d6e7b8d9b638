//! The pull's apply step (DESIGN.md §4, step 4): each planned `RemoteAction` carried out on
//! the ledger, in the open transaction, one handler per action. Imports and link refreshes
//! gather in `GroupWrites` and go out in multi-row statements at the group's end
//! (`write_group`); the rarer rest is written at once.

use std::collections::HashSet;

use timeweave_contract::{content_hash, CanonicalId, ContentHash, Kind, Record, RemoteId};

use super::engine::{Abort, Cycle};
use super::observe::{GroupView, Listed, Mapped};
use super::plan::{RemoteAction, Settle, Winner};
use crate::describe::label;
use crate::ledger::{Direction, LinkUpdate, NewConflict, StoredRecord, Tx};

/// Stored as a link's canonical hash to say "the ledger version has not reached this
/// provider": the push side then sends it.
pub const UNSYNCED: &str = "unsynced";

/// What a group's records leave to be written together at its end.
#[derive(Default)]
pub(super) struct GroupWrites<'g> {
    /// Candidates adopted by a record of the group: no later record may adopt them too.
    pub adopted: HashSet<CanonicalId>,
    /// New ledger records, by index in the group.
    imports: Vec<(usize, Mapped)>,
    /// Links to write, by index in the group: the ledger record and its hash to name.
    relinks: Vec<(usize, CanonicalId, ContentHash)>,
    /// Incarnations learned by links written before they were kept.
    learned: Vec<(&'g RemoteId, &'g str)>,
    /// Ids whose pull issues are settled: mapped, and not repeated on a page.
    valid: Vec<&'g str>,
}

impl<'g> GroupWrites<'g> {
    /// Notes a record taken in; an id repeated on its page keeps its issue (the page itself
    /// was wrong).
    pub fn note_valid(&mut self, listed: &Listed<'g>, repeated: &HashSet<(Kind, RemoteId)>) {
        let remote = listed.remote;
        if listed.mapped.is_ok() && !repeated.contains(&(remote.kind(), remote.id.clone())) {
            self.valid.push(remote.id.as_str());
        }
    }

    fn relink(&mut self, listed: &Listed<'_>, canonical_id: CanonicalId, hash: ContentHash) {
        self.relinks.push((listed.index, canonical_id, hash));
    }

    /// Links written before incarnations were kept learn them when seen unchanged, so a
    /// later reuse of their id is recognised (once per link: then it is known).
    fn learn_incarnation(&mut self, listed: &Listed<'g>) {
        if let (Some(l), Some(inc)) = (listed.link, listed.remote.incarnation.as_deref()) {
            if l.remote_incarnation.is_none() {
                self.learned.push((&listed.remote.id, inc));
            }
        }
    }
}

impl Cycle<'_> {
    /// Carries out the planner's `action` for one listed record.
    pub(super) async fn apply_action<'g>(
        &mut self,
        tx: &mut Tx,
        listed: &Listed<'g>,
        action: RemoteAction,
        writes: &mut GroupWrites<'g>,
    ) -> Result<(), Abort> {
        let mapped = match &listed.mapped {
            Ok(m) => m,
            // The planner's answer to a record it cannot map is `Invalid`, with this reason.
            Err(reason) => return self.skip_listed(tx, listed, reason).await,
        };
        match action {
            RemoteAction::Unchanged | RemoteAction::Ignore { .. } => {
                writes.learn_incarnation(listed);
            }
            // Only reached for a broken link; the record is left alone, on record.
            RemoteAction::Invalid { reason } => self.skip_listed(tx, listed, &reason).await?,
            RemoteAction::RefreshVersion => self.remember_remote_seen(tx, listed).await?,
            RemoteAction::Import => {
                // A remote id we had seen deleted is live again (reused): afresh.
                self.drop_old_link(tx, listed).await?;
                writes.imports.push((listed.index, mapped.clone()));
            }
            RemoteAction::Adopt { canonical_id, then } => {
                self.adopt(tx, listed, mapped, canonical_id, then, writes)
                    .await?
            }
            RemoteAction::ApplyRemote { canonical_id } | RemoteAction::Revive { canonical_id } => {
                self.take_remote(tx, listed, &canonical_id, &mapped.record)
                    .await?
            }
            RemoteAction::Converged { canonical_id } => {
                writes.relink(listed, canonical_id, mapped.hash.clone())
            }
            RemoteAction::Merge {
                canonical_id,
                merged,
            } => {
                self.merge(tx, listed, &canonical_id, &merged, &mapped.record)
                    .await?
            }
            RemoteAction::Conflict {
                canonical_id,
                winner,
                settled,
            } => {
                let settled = settled.as_deref();
                self.settle_conflict(tx, listed, &canonical_id, winner, settled, &mapped.record)
                    .await?
            }
            // The ledger is authoritative here: the push sends its version over the remote.
            RemoteAction::Overwrite { canonical_id } => {
                writes.relink(listed, canonical_id, ContentHash(UNSYNCED.into()))
            }
        }
        Ok(())
    }

    /// Writes what the group's records left for its end: imports, links, learned
    /// incarnations, and the pull issues of records now taken in.
    pub(super) async fn write_group(
        &mut self,
        tx: &mut Tx,
        view: &GroupView,
        writes: GroupWrites<'_>,
    ) -> Result<(), Abort> {
        let name = self.instance.name.clone();
        let GroupWrites {
            imports,
            mut relinks,
            learned,
            valid,
            ..
        } = writes;
        let (indices, new): (Vec<usize>, Vec<(Record<CanonicalId>, ContentHash)>) = imports
            .into_iter()
            .map(|(i, m)| (i, (m.record, m.hash)))
            .unzip();
        let stored = tx.insert_records(&new, &name, self.now).await?;
        self.counts.created += stored.len() as i64;
        for (i, s) in indices.into_iter().zip(stored) {
            relinks.push((i, s.id, s.hash));
        }
        let updates: Vec<LinkUpdate> = relinks
            .iter()
            .map(|(i, cid, hash)| {
                let (remote, remote_hash) = (&view.records[*i], &view.remote_hashes[*i]);
                LinkUpdate::of_remote(&name, remote, remote_hash, cid, hash)
            })
            .collect();
        tx.upsert_links(&updates, self.now).await?;
        tx.learn_incarnations(&name, view.kind, &learned).await?;
        tx.clear_issues(&name, Direction::Pull, view.kind, &valid)
            .await?;
        Ok(())
    }

    /// A new remote record that is a copy of `canonical_id`: linked, and any difference
    /// settled as `then` says.
    async fn adopt<'g>(
        &mut self,
        tx: &mut Tx,
        listed: &Listed<'g>,
        mapped: &Mapped,
        canonical_id: CanonicalId,
        then: Settle,
        writes: &mut GroupWrites<'g>,
    ) -> Result<(), Abort> {
        writes.adopted.insert(canonical_id.clone());
        self.drop_old_link(tx, listed).await?;
        let Some(candidate) = listed.candidates.iter().find(|c| c.id == canonical_id) else {
            return Ok(());
        };
        let unsynced = ContentHash(UNSYNCED.into());
        match then {
            Settle::Equal => writes.relink(listed, canonical_id, candidate.hash.clone()),
            Settle::TakeRemote => {
                self.take_remote(tx, listed, &canonical_id, &mapped.record)
                    .await?
            }
            Settle::KeepLedger => self.link(tx, listed, &canonical_id, &unsynced).await?,
            Settle::Conflict(winner) => {
                self.record_conflict(tx, listed, candidate, &mapped.record, winner)
                    .await?;
                match winner {
                    Some(Winner::Remote) => {
                        self.take_remote(tx, listed, &canonical_id, &mapped.record)
                            .await?
                    }
                    Some(Winner::Ledger) => self.link(tx, listed, &canonical_id, &unsynced).await?,
                    None => {
                        self.link(tx, listed, &canonical_id, &candidate.hash)
                            .await?
                    }
                }
            }
        }
        Ok(())
    }

    /// The ledger takes the remote content, and the link names it.
    async fn take_remote(
        &mut self,
        tx: &mut Tx,
        listed: &Listed<'_>,
        canonical_id: &CanonicalId,
        mapped: &Record<CanonicalId>,
    ) -> Result<(), Abort> {
        let hash = tx
            .update_record(canonical_id, mapped, &self.instance.name, self.now)
            .await?;
        self.link(tx, listed, canonical_id, &hash).await?;
        self.counts.updated += 1;
        Ok(())
    }

    /// Both changed, in different fields: the ledger takes the merge (attributed as before:
    /// it holds the ledger's edits too, and the `prefer` policy ranks by who made the
    /// ledger's content).
    async fn merge(
        &mut self,
        tx: &mut Tx,
        listed: &Listed<'_>,
        canonical_id: &CanonicalId,
        merged: &Record<CanonicalId>,
        mapped: &Record<CanonicalId>,
    ) -> Result<(), Abort> {
        let Some(ledger) = listed.ledger else {
            return Ok(());
        };
        if content_hash(&merged.clone().normalised()) != ledger.hash {
            tx.update_record(canonical_id, merged, &ledger.changed_by, self.now)
                .await?;
        }
        self.link_to_their_version(tx, listed, canonical_id, mapped)
            .await?;
        self.counts.updated += 1;
        Ok(())
    }

    /// Both changed the same field: the conflict is recorded, and the winner's version (or,
    /// with the base known, the record `settled` field by field) goes to the ledger.
    async fn settle_conflict(
        &mut self,
        tx: &mut Tx,
        listed: &Listed<'_>,
        canonical_id: &CanonicalId,
        winner: Option<Winner>,
        settled: Option<&Record<CanonicalId>>,
        mapped: &Record<CanonicalId>,
    ) -> Result<(), Abort> {
        let Some(ledger) = listed.ledger else {
            return Ok(());
        };
        self.record_conflict(tx, listed, ledger, mapped, winner)
            .await?;
        match (winner, settled) {
            // Settled field by field: the ledger takes the result, and the link names the
            // provider's version, so the push sends the result there.
            (Some(w), Some(settled)) => {
                let by = match w {
                    Winner::Remote => self.instance.name.clone(),
                    Winner::Ledger => ledger.changed_by.clone(),
                };
                if content_hash(&settled.clone().normalised()) != ledger.hash {
                    tx.update_record(canonical_id, settled, &by, self.now)
                        .await?;
                    self.counts.updated += 1;
                }
                self.link_to_their_version(tx, listed, canonical_id, mapped)
                    .await
            }
            (Some(Winner::Remote), None) => {
                self.take_remote(tx, listed, canonical_id, mapped).await
            }
            // The ledger keeps its version; the push side sends it (unless the conflict is
            // open).
            (Some(Winner::Ledger) | None, _) => self.remember_remote_seen(tx, listed).await,
        }
    }

    /// The link remembers the remote content and version as seen, naming the same ledger
    /// version as before.
    async fn remember_remote_seen(&self, tx: &mut Tx, listed: &Listed<'_>) -> Result<(), Abort> {
        let remote = listed.remote;
        tx.set_link_remote_hash(
            &self.instance.name,
            remote.kind(),
            &remote.id,
            listed.remote_hash,
            remote.version.as_deref(),
            self.now,
        )
        .await?;
        Ok(())
    }

    /// A link left from a remote record known gone, before its id is linked afresh.
    async fn drop_old_link(&self, tx: &mut Tx, listed: &Listed<'_>) -> Result<(), Abort> {
        if listed.link.is_some() {
            let remote = listed.remote;
            tx.delete_link(&self.instance.name, remote.kind(), &remote.id)
                .await?;
        }
        Ok(())
    }

    /// Records a listed record that cannot be taken in (once per content).
    async fn skip_listed(
        &mut self,
        tx: &mut Tx,
        listed: &Listed<'_>,
        reason: &str,
    ) -> Result<(), Abort> {
        let remote = listed.remote;
        let (id, hash) = (remote.id.as_str(), listed.remote_hash.as_str());
        self.pull_issue(tx, remote.kind(), id, hash, reason).await
    }

    /// After a merge: the link names the version the provider holds, kept as the next
    /// merge's base. The ledger's differs from it, so the push sends the merge there (and if
    /// that push never lands, e.g. a pull-only provider, the base stays right).
    async fn link_to_their_version(
        &self,
        tx: &mut Tx,
        listed: &Listed<'_>,
        canonical_id: &CanonicalId,
        mapped: &Record<CanonicalId>,
    ) -> Result<(), Abort> {
        let theirs = mapped.clone().normalised();
        let theirs_hash = content_hash(&theirs);
        tx.keep_version(canonical_id, &theirs, &theirs_hash, self.now)
            .await?;
        self.link(tx, listed, canonical_id, &theirs_hash).await
    }

    /// Links the listed record to `canonical_id`, naming the ledger version `canonical_hash`.
    async fn link(
        &self,
        tx: &mut Tx,
        listed: &Listed<'_>,
        canonical_id: &CanonicalId,
        canonical_hash: &ContentHash,
    ) -> Result<(), Abort> {
        let (name, remote) = (&self.instance.name, listed.remote);
        let update = LinkUpdate::of_remote(
            name,
            remote,
            listed.remote_hash,
            canonical_id,
            canonical_hash,
        );
        tx.upsert_link(&update, self.now).await?;
        Ok(())
    }

    async fn record_conflict(
        &mut self,
        tx: &mut Tx,
        listed: &Listed<'_>,
        ledger: &StoredRecord,
        mapped: &Record<CanonicalId>,
        winner: Option<Winner>,
    ) -> Result<(), Abort> {
        self.counts.conflicts += 1;
        let remote = listed.remote;
        tracing::info!(
            provider = %self.instance.name,
            kind = %remote.kind(),
            record = %label(&ledger.record),
            policy = self.settings.policy.name(),
            winner = winner.map(Winner::as_str).unwrap_or("open"),
            "conflict"
        );
        let conflict = NewConflict {
            provider: &self.instance.name,
            canonical_id: &ledger.id,
            remote_id: &remote.id,
            ledger_record: &ledger.record,
            remote_record: mapped,
            remote_hash: listed.remote_hash,
            remote_version: remote.version.as_deref(),
            policy: self.settings.policy.name(),
            winner: winner.map(Winner::as_str),
        };
        tx.record_conflict(&conflict, self.now).await?;
        Ok(())
    }
}

/// A dry-run line for a ledger change, or `None` for no change.
pub(super) fn describe(
    action: &RemoteAction,
    record: &Record<RemoteId>,
    provider: &str,
) -> Option<String> {
    let what = format!("{} '{}'", record.kind(), label(record));
    Some(match action {
        RemoteAction::Import => format!("import {what} from {provider}"),
        RemoteAction::Adopt { then, .. } => {
            format!("link {what} in {provider} to the same record in the ledger ({then:?})")
        }
        RemoteAction::ApplyRemote { .. } => format!("update {what} in the ledger from {provider}"),
        RemoteAction::Revive { .. } => {
            format!("restore {what} in the ledger (edited in {provider} after its deletion)")
        }
        RemoteAction::Conflict { winner, .. } => format!(
            "conflict on {what} with {provider}: {}",
            winner
                .map(|w| format!("{} wins", w.as_str()))
                .unwrap_or_else(|| "left open".into())
        ),
        RemoteAction::Merge { .. } => {
            format!("merge {what} in the ledger with {provider}'s edits of other fields")
        }
        RemoteAction::Invalid { reason } => format!("skip {what} from {provider}: {reason}"),
        RemoteAction::Overwrite { .. } => {
            format!("overwrite {what} in {provider} with the ledger version")
        }
        _ => return None,
    })
}
