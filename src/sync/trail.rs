//! The change trail in a cycle: read what the provider's own log says changed since the
//! stored position (`Provider::read_trail`), fetch exactly those records by id and apply
//! them through the pull's own path, the records of a kind as one group (deletions are confirmed by a get, under the cycle's
//! delete guard, like any other), and decide which full listings the cycle may spare.
//!
//! A trail spares a listing only while it proves it holds every change since its position,
//! covers the kind (and sees deletions, for entries), a complete deep-scan pass has run
//! since it last could not prove that (`TrailMark::trusted_after_pass`), the last full
//! listings are younger than `sync.trail_safety_scan_hours`, and `--full` was not given.
//! Spared, a kind is not listed at all (entries: neither the hot window nor the deep scan)
//! until the safety scan is due. Otherwise the cycle lists as before, and when the trail
//! could not prove completeness it says so: a log line, a warning in the cycle report, and
//! `timeweave status`.

use std::collections::{BTreeSet, HashSet};

use timeweave_contract::{Kind, ProviderError, RemoteId, RemoteRecord, TrailPosition, TrailRead};

use super::engine::{Abort, Cycle};
use super::plan::mass_delete_guard;
use crate::ledger::{TrailMark, Tx};

/// The order records are applied in: referenced kinds first.
const KINDS: [Kind; 5] = [
    Kind::Person,
    Kind::Client,
    Kind::Project,
    Kind::Task,
    Kind::TimeEntry,
];

/// What this cycle's read of the trail allows and what it leaves to do.
#[derive(Debug, Default)]
pub(crate) struct TrailPlan {
    /// The provider has a trail at all.
    pub supported: bool,
    /// Kinds whose full listings (and, for entries, the deep scan) this cycle spares.
    spared: BTreeSet<Kind>,
    /// Changed and deleted ids, when the read proved complete.
    read: Option<TrailRead>,
    /// Stored at the end of the cycle, if every named record was fetched.
    mark: Option<TrailMark>,
    fetched_all: bool,
}

impl TrailPlan {
    pub fn spares(&self, kind: Kind) -> bool {
        self.spared.contains(&kind)
    }
}

/// What the cycle knows before it reads the trail.
struct Standing {
    mark: Option<TrailMark>,
    /// The first deep-scan pass that starts after now ends at this count.
    next_full_pass: i64,
    passes: i64,
    safety_due: bool,
}

impl Cycle<'_> {
    /// Reads the trail since the stored position and plans the cycle's listings by it.
    pub(crate) async fn read_trail(&mut self, full: bool) -> Result<TrailPlan, Abort> {
        let standing = self.trail_standing().await?;
        let since = standing
            .mark
            .as_ref()
            .map(|m| TrailPosition(m.position.clone()));
        let mut read = match self.instance.provider.read_trail(since.as_ref()).await {
            Ok(read) => read,
            Err(ProviderError::Unsupported { .. }) => return Ok(TrailPlan::default()),
            Err(e) if e.is_fatal_for_cycle() => return Err(Abort::Provider(e)),
            Err(e) => TrailRead::incomplete(format!("reading it failed: {e}")),
        };
        if let (None, Some(budget)) = (&read.gap, self.instance.budget) {
            // Records the read holds whole cost nothing more; the rest a get each.
            let to_fetch = read.len().saturating_sub(read.records.len());
            if to_fetch > budget as usize {
                read.gap = Some(format!(
                    "{to_fetch} records changed, more than this cycle's budget of {budget} \
                     requests fetches one by one"
                ));
            }
        }
        let trusted_after = match (&read.gap, &standing.mark) {
            (None, Some(m)) => m.trusted_after_pass,
            _ => standing.next_full_pass,
        };
        match (&read.gap, &standing.mark) {
            // A first read only sets the position: the cycle lists everything anyway.
            (Some(gap), None) => {
                tracing::info!(provider = %self.instance.name, "change trail: {gap}");
            }
            (Some(gap), Some(_)) => self.warn(format!(
                "{}: the change trail cannot prove it holds every change ({gap}); this cycle \
                 finds changes with the windowed scans",
                self.instance.name
            )),
            (None, _) => {}
        }
        let position = read
            .position
            .take()
            .map(|p| p.0)
            .or_else(|| standing.mark.as_ref().map(|m| m.position.clone()));
        let mark = position.map(|position| TrailMark {
            position,
            trusted_after_pass: trusted_after,
            last_gap: read.gap.clone(),
            saved_at: None,
        });
        let trusted = standing.passes >= trusted_after;
        let spared = if read.gap.is_none() && trusted && !standing.safety_due && !full {
            let mut kinds = read.covers.clone();
            if !read.sees_deletions {
                kinds.remove(&Kind::TimeEntry);
            }
            kinds
        } else {
            BTreeSet::new()
        };
        tracing::debug!(provider = %self.instance.name, changes = read.len(), complete = read.gap.is_none(), trusted, safety_due = standing.safety_due, spared = ?spared, "change trail read");
        Ok(TrailPlan {
            supported: true,
            spared,
            read: read.gap.is_none().then_some(read),
            mark,
            fetched_all: true,
        })
    }

    async fn trail_standing(&mut self) -> Result<Standing, Abort> {
        let mut tx = self.ledger.read().await?;
        let mark = tx.trail_mark(self.name()).await?;
        let cursor = tx.cursor(self.name(), Kind::TimeEntry).await?;
        let last_scan = tx.last_windowed_scan(self.name(), Kind::TimeEntry).await?;
        let passes = cursor.deep_scan_passes;
        // A pass under way started before now: only the one after it lists everything anew.
        let next_full_pass = passes
            + if cursor.deep_scan_position.is_some() {
                2
            } else {
                1
            };
        Ok(Standing {
            mark,
            next_full_pass,
            passes,
            safety_due: last_scan.is_none_or(|t| self.now - t >= self.settings.trail_safety_scan),
        })
    }

    /// Fetches every record the trail named and applies it, kinds in reference order; ids
    /// it says were deleted (or that a get no longer finds) join the cycle's deletions.
    pub(crate) async fn apply_trail(&mut self, plan: &mut TrailPlan) -> Result<(), Abort> {
        let Some(mut read) = plan.read.take() else {
            return Ok(());
        };
        for kind in KINDS {
            self.check_stop()?;
            let mut gone: BTreeSet<RemoteId> = read.deleted.get(&kind).cloned().unwrap_or_default();
            // Records the read holds whole are taken as they are; the rest fetched by id.
            let (held, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut read.records)
                .into_iter()
                .partition(|r| r.kind() == kind);
            read.records = rest;
            let mut wanted = read.changed.get(&kind).cloned().unwrap_or_default();
            for r in &held {
                wanted.remove(&r.id);
            }
            let (mut records, complete) = self.fetch(kind, &wanted, &mut gone).await?;
            records.extend(held);
            // Deleted, then there again under its id: a new record under a reused id.
            let reborn: Vec<RemoteId> = records
                .iter()
                .filter(|r| gone.remove(&r.id))
                .map(|r| r.id.clone())
                .collect();
            plan.fetched_all &= complete;
            if !records.is_empty() {
                let mut tx = self.ledger.write().await?;
                if !self
                    .settle_reborn(&mut tx, kind, &reborn, records.len())
                    .await?
                {
                    tx.commit().await?;
                    continue;
                }
                // One group, as a listing's batch: two people swapping addresses land
                // together (`shared_email.rs`).
                self.counts.pulled += records.len() as i64;
                self.apply_group(&mut tx, kind, records, &HashSet::new())
                    .await?;
                tx.commit().await?;
            }
            if !gone.is_empty() {
                self.note_trail_deletions(kind, &gone).await?;
            }
        }
        Ok(())
    }

    /// Ids the trail says were deleted and then given to a new record: the linked record is
    /// gone whatever the incarnations say (a link from before they were kept has none).
    /// Many at once look like a changed server: the mass-delete guard decides, and when it
    /// holds, nothing of this kind is applied (`false`).
    async fn settle_reborn(
        &mut self,
        tx: &mut Tx,
        kind: Kind,
        ids: &[RemoteId],
        fetched: usize,
    ) -> Result<bool, Abort> {
        if ids.is_empty() {
            return Ok(true);
        }
        if let Err(message) = mass_delete_guard(self.settings.guard, ids.len(), fetched) {
            self.deletes_held = true;
            self.error(format!(
                "{kind}: ids the change trail shows reused: {message}"
            ));
            return Ok(false);
        }
        for id in ids {
            if let Some(link) = tx.link_by_remote(&self.instance.name, kind, id).await? {
                if link.is_live() {
                    self.settle_reused(tx, &link).await?;
                }
            }
        }
        Ok(true)
    }

    /// Gets each id: present, it is returned; confirmed absent, it joins `gone`; hidden from
    /// these credentials (another user's entry), it is none of this instance's business.
    /// The flag says whether every get answered.
    async fn fetch(
        &mut self,
        kind: Kind,
        ids: &BTreeSet<RemoteId>,
        gone: &mut BTreeSet<RemoteId>,
    ) -> Result<(Vec<RemoteRecord>, bool), Abort> {
        let mut records = Vec::with_capacity(ids.len());
        let mut complete = true;
        for id in ids {
            self.check_stop()?;
            match self.instance.provider.get(kind, id).await {
                Ok(Some(r)) => records.push(r),
                Ok(None) => {
                    gone.insert(id.clone());
                }
                Err(ProviderError::Forbidden { .. }) => {
                    tracing::debug!(provider = %self.instance.name, %kind, remote_id = %id, "the trail names a record these credentials cannot read");
                }
                Err(e) => {
                    complete = false;
                    self.provider_error(
                        &format!("fetching {kind} {id} named by the change trail"),
                        e,
                    )?;
                }
            }
        }
        Ok((records, complete))
    }

    /// Stores the trail's position, once everything it named was applied.
    pub(crate) async fn save_trail(&mut self, plan: &TrailPlan) -> Result<(), Abort> {
        if let (Some(mark), true, false) = (&plan.mark, plan.fetched_all, self.dry_run) {
            let mut tx = self.ledger.write().await?;
            tx.save_trail_mark(self.name(), mark, self.now).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// A warning for the operator: logged, and in the cycle's report.
    pub(crate) fn warn(&mut self, message: String) {
        tracing::warn!(provider = %self.instance.name, "{message}");
        self.warnings.push(message);
    }
}
