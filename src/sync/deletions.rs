//! Deletions a cycle infers, held until every listing of the cycle is done, then weighed
//! under one guard (`plan::cycle_delete_guard`): every kind together and each alone, and a
//! kind listed empty where the ledger has links. When it trips, nothing of any kind is
//! deleted and the cycle sends no delete either, unless the operator confirmed the deletes
//! for this instance (`timeweave sync --allow-deletes INSTANCE`). A record confirmed gone
//! (or whose id now names a later record) is settled here too (`settle_gone`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use timeweave_contract::{Kind, RemoteId};

use super::engine::{Abort, Cycle};
use super::plan::{cycle_delete_guard, plan_missing, KindTally, MissingAction};
use crate::describe::label;
use crate::ledger::{Link, Tx};

/// What the cycle's complete listings of one kind did not show.
#[derive(Debug, Default)]
pub(crate) struct Missing {
    tally: KindTally,
    ids: BTreeSet<RemoteId>,
}

/// Every kind's missing records, in the order their deletions are settled.
pub(crate) type Deletions = BTreeMap<Kind, Missing>;

impl Cycle<'_> {
    /// After a complete listing of `kind` (in `window`, for entries): notes the linked
    /// records it did not show, to be settled once every listing is done.
    pub(crate) async fn note_missing(
        &mut self,
        kind: Kind,
        window: Option<(DateTime<Utc>, DateTime<Utc>)>,
        seen: &HashSet<RemoteId>,
    ) -> Result<(), Abort> {
        let linked = self
            .ledger
            .read()
            .await?
            .live_link_ids_in(&self.instance.name, kind, window)
            .await?;
        let missing = self.deletions.entry(kind).or_default();
        missing.tally.linked += linked.len();
        missing.tally.listed += seen.len();
        for id in linked.into_iter().filter(|id| !seen.contains(id)) {
            if missing.ids.insert(id) {
                missing.tally.missing += 1;
            }
        }
        Ok(())
    }

    /// Records the change trail says are gone (or a get of a changed one no longer found):
    /// noted like the ones a listing did not show, so the same guard weighs them and a get
    /// confirms each. Ids not linked are nobody's business here.
    pub(crate) async fn note_trail_deletions(
        &mut self,
        kind: Kind,
        ids: &BTreeSet<RemoteId>,
    ) -> Result<(), Abort> {
        let (live, linked) = {
            let mut tx = self.ledger.read().await?;
            let wanted: Vec<&RemoteId> = ids.iter().collect();
            let links = tx
                .links_by_remote(&self.instance.name, kind, &wanted)
                .await?;
            let live: Vec<RemoteId> = links
                .into_values()
                .filter(|l| l.is_live())
                .map(|l| l.remote_id)
                .collect();
            (live, tx.count_live_links(&self.instance.name, kind).await?)
        };
        if live.is_empty() {
            return Ok(());
        }
        let linked = usize::try_from(linked).unwrap_or(0).max(live.len());
        let m = self.deletions.entry(kind).or_default();
        m.tally.linked += linked;
        // Not an empty listing (the guard's sign of a wrong account): the trail names each
        // deletion, and vouches for the rest of the kind. The fractions still apply.
        m.tally.listed += linked;
        for id in live {
            if m.ids.insert(id) {
                m.tally.missing += 1;
            }
        }
        Ok(())
    }

    /// After every listing: when the guard allows (or the operator confirmed), confirms
    /// each missing record with a get and settles it; otherwise records why nothing was
    /// deleted and holds this cycle's deletes to the provider too.
    pub(crate) async fn settle_deletions(&mut self) -> Result<(), Abort> {
        let deletions = std::mem::take(&mut self.deletions);
        if self.deletes_held {
            return Ok(()); // a guard already tripped this cycle (ids that look reused)
        }
        let tallies: Vec<(Kind, KindTally)> =
            deletions.iter().map(|(k, m)| (*k, m.tally)).collect();
        if let Err(message) = cycle_delete_guard(self.settings.guard, &tallies) {
            if !self.allow_deletes {
                self.deletes_held = true;
                self.error(message);
                return Ok(());
            }
            tracing::warn!(provider = %self.instance.name, "{message} (deletes confirmed by the operator: applying them)");
        }
        // Each confirmed with a get: still there (moved out of its window, or changed), it
        // is applied like a listed record; gone, the ledger follows (`settle_gone`).
        for (kind, missing) in deletions {
            if !missing.ids.is_empty() {
                let ids: Vec<RemoteId> = missing.ids.into_iter().collect();
                self.fetch_and_apply(kind, &ids, "to confirm it is gone")
                    .await?;
            }
        }
        Ok(())
    }

    /// The provider gave the linked record's id to a later record: the linked one is gone.
    pub(crate) async fn settle_reused(&mut self, tx: &mut Tx, old: &Link) -> Result<(), Abort> {
        tracing::info!(provider = %self.instance.name, kind = %old.kind, remote_id = %old.remote_id, "the provider reused the id of a deleted record");
        self.settle_gone(tx, old).await
    }

    /// The linked remote record is gone (confirmed missing, or its id now names a later
    /// record): the ledger follows as the mode and the record's state say.
    pub(crate) async fn settle_gone(&mut self, tx: &mut Tx, link: &Link) -> Result<(), Abort> {
        let kind = link.kind;
        let ledger = tx.get_record(kind, &link.canonical_id).await?;
        let action = plan_missing(
            self.instance.mode,
            false,
            &link.canonical_hash,
            ledger.as_ref().map(|r| (&r.hash, !r.is_live())),
        );
        if self.dry_run && action == MissingAction::Tombstone {
            if let Some(rec) = &ledger {
                self.plan.push(format!(
                    "delete {kind} '{}' in the ledger (deleted in {})",
                    label(&rec.record),
                    self.instance.name
                ));
            }
        }
        let name = &self.instance.name;
        match action {
            MissingAction::StillThere => {}
            MissingAction::Tombstone => {
                tx.tombstone(kind, &link.canonical_id, name, self.now)
                    .await?;
                tx.mark_link_remote_deleted(name, kind, &link.remote_id, self.now)
                    .await?;
                self.counts.deleted += 1;
            }
            MissingAction::MarkGone => {
                tx.mark_link_remote_deleted(name, kind, &link.remote_id, self.now)
                    .await?;
            }
            MissingAction::Unlink => tx.delete_link(name, kind, &link.remote_id).await?,
        }
        Ok(())
    }
}
