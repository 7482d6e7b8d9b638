//! Deletions a cycle infers, held until every listing of the cycle is done, then weighed
//! under one guard (`plan::cycle_delete_guard`): every kind together and each alone, and a
//! kind listed empty where the ledger has links. When it trips, nothing of any kind is
//! deleted and the cycle sends no delete either, unless the operator confirmed the deletes
//! for this instance (`timeweave sync --allow-deletes INSTANCE`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use timeweave_contract::{Kind, RemoteId};

use super::engine::{Abort, Cycle};
use super::plan::{cycle_delete_guard, KindTally};

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
            .live_link_ids_in(&self.h.name, kind, window)
            .await?;
        let m = self.deletions.entry(kind).or_default();
        m.tally.linked += linked.len();
        m.tally.listed += seen.len();
        for id in linked.into_iter().filter(|id| !seen.contains(id)) {
            if m.ids.insert(id) {
                m.tally.missing += 1;
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
            let links = tx.links_by_remote(&self.h.name, kind, &wanted).await?;
            let live: Vec<RemoteId> = links
                .into_values()
                .filter(|l| l.is_live())
                .map(|l| l.remote_id)
                .collect();
            (live, tx.count_live_links(&self.h.name, kind).await?)
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
        if let Err(message) = cycle_delete_guard(self.s.guard, &tallies) {
            if !self.allow_deletes {
                self.deletes_held = true;
                self.error(message);
                return Ok(());
            }
            tracing::warn!(provider = %self.h.name, "{message} (deletes confirmed by the operator: applying them)");
        }
        for (kind, missing) in deletions {
            if !missing.ids.is_empty() {
                self.confirm_and_settle(kind, missing.ids).await?;
            }
        }
        Ok(())
    }

    /// Confirms each missing record with a get: still there, it is processed like a
    /// listed one; gone, the ledger follows (`settle_gone`).
    async fn confirm_and_settle(
        &mut self,
        kind: Kind,
        ids: BTreeSet<RemoteId>,
    ) -> Result<(), Abort> {
        let ids: Vec<&RemoteId> = ids.iter().collect();
        let mut by_id = self
            .ledger
            .read()
            .await?
            .links_by_remote(&self.h.name, kind, &ids)
            .await?;
        for id in ids {
            let Some(link) = by_id.remove(id) else {
                continue;
            };
            self.check_stop()?;
            let answer = match self.h.provider.get(kind, &link.remote_id).await {
                Ok(a) => a,
                Err(e) => {
                    self.provider_error(
                        &format!("confirming {kind} {} is gone", link.remote_id),
                        e,
                    )?;
                    continue;
                }
            };
            let mut tx = self.ledger.write().await?;
            match answer {
                // Not in its window, yet there: it moved out of it, or was changed.
                Some(r) => self.process_remote(&mut tx, &r).await?,
                None => self.settle_gone(&mut tx, &link).await?,
            }
            tx.commit().await?;
        }
        Ok(())
    }
}
