//! The pull half of a cycle, as DESIGN.md §4 steps 2 to 4: list a kind (a full listing or
//! one window: `pull_listing`), take every page that has arrived as one batch (pages are
//! read ahead, see `listing.rs`) and split it into groups of one kind (`apply_pages`), then
//! per group read what the ledger holds (`observe.rs`), plan each record (`plan_remote`)
//! and apply the action (`apply.rs`): `apply_group`. After a complete listing, what it did
//! not show is noted (settled after every listing, under one guard: `deletions.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use timeweave_contract::{InvalidRecord, Kind, ListScope, PageItem, RemoteId, RemoteRecord};

use super::apply::{describe, GroupWrites};
use super::engine::{Abort, Cycle};
use super::listing::{Batch, PageReader};
use super::observe::Listed;
use super::plan::{plan_remote, RemoteAction};
use crate::ledger::{Direction, Ledger, NewIssue, Tx};

impl Cycle<'_> {
    /// Lists `kind` in `scope` to the end and applies it. Returns whether the listing was
    /// complete (every page read). Pages are read ahead on their own task (`PageReader`);
    /// every page that has arrived is applied as one batch, and when more have arrived by
    /// then they join the open transaction (see `PagesTx::takes_more`), so a fast provider costs one
    /// commit, and one set of ledger queries, per many pages rather than per page.
    pub(crate) async fn pull_listing(
        &mut self,
        kind: Kind,
        scope: ListScope,
    ) -> Result<bool, Abort> {
        let mut seen: HashSet<RemoteId> = HashSet::new();
        let mut refused = RefusedOverAddress::default();
        let mut batches = 0;
        let mut reader = PageReader::start(self.instance.provider.clone(), kind, scope);
        let mut held: Option<PagesTx> = None;
        loop {
            if let Err(stop) = self.check_stop() {
                // What was applied is kept: the stop lands between batches.
                PagesTx::commit(held).await?;
                return Err(stop);
            }
            let pages = match reader.next_batch(PagesTx::MAX_ITEMS).await {
                Batch::Pages(pages) => pages,
                Batch::Done => break,
                Batch::Failed(e) => {
                    PagesTx::commit(held.take()).await?;
                    self.provider_error(&format!("listing {kind} ({scope:?})"), e)?;
                    return Ok(false);
                }
            };
            let mut pages_tx = match held.take() {
                Some(pages_tx) => pages_tx,
                None => PagesTx::begin(self.ledger).await?,
            };
            pages_tx.items += pages.iter().map(Vec::len).sum::<usize>();
            batches += 1;
            self.apply_pages(&mut pages_tx.tx, kind, pages, &mut seen, &mut refused)
                .await?;
            if pages_tx.takes_more(&reader) {
                held = Some(pages_tx);
            } else {
                pages_tx.tx.commit().await?;
            }
            self.report_progress(kind.as_str());
        }
        PagesTx::commit(held).await?;
        if batches > 1 {
            // In one batch every person was one group already: the same outcome again.
            self.reapply_refused_over_address(refused.0).await?;
        }
        match scope {
            ListScope::All if kind != Kind::Person => self.note_missing(kind, None, &seen).await?,
            ListScope::StartedIn(w) => self.note_missing(kind, Some((w.from, w.to)), &seen).await?,
            _ => {}
        }
        Ok(true)
    }

    /// People a listing of more than one batch refused over an address, applied again as
    /// one group once every page is in: two people swapping addresses whose records arrived
    /// in different batches land together (a lone one refused again is recorded once, as
    /// before).
    async fn reapply_refused_over_address(
        &mut self,
        refused: Vec<RemoteRecord>,
    ) -> Result<(), Abort> {
        if refused.is_empty() {
            return Ok(());
        }
        let counted = refused.len() as i64;
        let mut tx = self.ledger.write().await?;
        self.apply_group(&mut tx, Kind::Person, refused, &HashSet::new())
            .await?;
        // Each was counted skipped (and pulled) in its batch already: the re-apply counts
        // it again by its outcome (skipped once more, or updated), so its first count goes.
        self.counts.skipped -= counted;
        tx.commit().await?;
        Ok(())
    }

    /// An item listed but unreadable (or repeated on its page): recorded, skipped.
    async fn record_invalid(&mut self, tx: &mut Tx, bad: &InvalidRecord) -> Result<(), Abort> {
        let id = bad
            .remote_id
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "(no id)".into());
        self.pull_issue(tx, bad.kind, &id, "-", &bad.reason).await
    }

    /// Records a remote record that could not be taken in (once per content), counts it
    /// as skipped, and logs it when new.
    pub(super) async fn pull_issue(
        &mut self,
        tx: &mut Tx,
        kind: Kind,
        record_id: &str,
        content_hash: &str,
        reason: &str,
    ) -> Result<(), Abort> {
        let fresh = tx
            .record_issue(
                &NewIssue {
                    provider: &self.instance.name,
                    direction: Direction::Pull,
                    kind,
                    record_id,
                    content_hash,
                    reason,
                },
                self.now,
            )
            .await?;
        self.counts.skipped += 1;
        if fresh {
            tracing::warn!(provider = %self.instance.name, %kind, remote_id = record_id, "skipped: {reason}");
        }
        Ok(())
    }

    /// Splits pages into invalid items (recorded) and records, drops ids repeated on a
    /// page (recorded), and applies the records kind by kind, referenced kinds first. An
    /// id listed again on a later page (the listing shifted under offset paging) is taken
    /// once, in its later copy.
    async fn apply_pages(
        &mut self,
        tx: &mut Tx,
        kind: Kind,
        pages: Vec<Vec<PageItem>>,
        seen: &mut HashSet<RemoteId>,
        refused: &mut RefusedOverAddress,
    ) -> Result<(), Abort> {
        let mut groups: BTreeMap<Kind, Vec<RemoteRecord>> = BTreeMap::new();
        let mut placed: HashMap<(Kind, RemoteId), usize> = HashMap::new();
        let mut repeated: HashSet<(Kind, RemoteId)> = HashSet::new();
        for items in pages {
            let mut on_page: HashSet<(Kind, RemoteId)> = HashSet::new();
            for item in items {
                match item {
                    PageItem::Invalid(bad) => {
                        // Listed, only unreadable: present, so never inferred deleted.
                        if let (true, Some(id)) = (bad.kind == kind, &bad.remote_id) {
                            seen.insert(id.clone());
                        }
                        self.record_invalid(tx, &bad).await?
                    }
                    PageItem::Record(r) => {
                        let key = (r.kind(), r.id.clone());
                        if !on_page.insert(key.clone()) {
                            let bad = InvalidRecord {
                                kind: r.kind(),
                                remote_id: Some(r.id.clone()),
                                reason: "the same id appears twice on one page; the first copy \
                                         was taken"
                                    .into(),
                            };
                            self.record_invalid(tx, &bad).await?;
                            repeated.insert(key);
                            continue;
                        }
                        if r.kind() == kind {
                            seen.insert(r.id.clone());
                        }
                        let group = groups.entry(r.kind()).or_default();
                        match placed.get(&key) {
                            Some(&at) => group[at] = r,
                            None => {
                                self.counts.pulled += 1;
                                placed.insert(key, group.len());
                                group.push(r);
                            }
                        }
                    }
                }
            }
        }
        for (group_kind, group) in groups {
            refused.forget(&group);
            let refused_here = self.apply_group(tx, group_kind, group, &repeated).await?;
            refused.0.extend(refused_here);
        }
        Ok(())
    }

    /// Plans and applies listed records of one kind (DESIGN.md §4, steps 3 and 4): what the
    /// ledger holds about them is read in a few queries for the whole group (`observe.rs`),
    /// each record is planned (`plan_remote`, pure) and its action carried out (`apply.rs`),
    /// and the group's imports and link refreshes are written in multi-row statements at the
    /// end. Also the way in for records fetched by id (`fetch.rs`). Returns the people
    /// refused over an address (`shared_email.rs`), for a listing to apply again at its end.
    pub(crate) async fn apply_group(
        &mut self,
        tx: &mut Tx,
        kind: Kind,
        records: Vec<RemoteRecord>,
        repeated: &HashSet<(Kind, RemoteId)>,
    ) -> Result<Vec<RemoteRecord>, Abort> {
        let Some(mut view) = self.read_group(tx, kind, records).await? else {
            return Ok(Vec::new());
        };
        self.release_addresses(tx, &view).await?;
        let mapped = std::mem::take(&mut view.mapped);
        let mut writes = GroupWrites::default();
        for (index, mapped) in mapped.into_iter().enumerate() {
            let listed = self
                .observe(tx, &view, index, mapped, &writes.adopted)
                .await?;
            let action = self.plan(&listed);
            writes.note_valid(&listed, repeated);
            self.apply_action(tx, &listed, action, &mut writes).await?;
        }
        self.check_released(tx, &view).await?;
        self.write_group(tx, &view, writes).await?;
        let refused = view.refused_over_address.iter();
        Ok(refused.map(|&i| view.records[i].clone()).collect())
    }

    /// Plans and applies one remote record read on its own (by id): a group of one.
    pub(crate) async fn process_remote(
        &mut self,
        tx: &mut Tx,
        remote: &RemoteRecord,
    ) -> Result<(), Abort> {
        let no_repeats = HashSet::new();
        self.apply_group(tx, remote.kind(), vec![remote.clone()], &no_repeats)
            .await?;
        Ok(())
    }

    /// The planner's decision for one listed record (a line of the plan in a dry run).
    fn plan(&mut self, listed: &Listed<'_>) -> RemoteAction {
        let candidates = listed.candidate_sides();
        let action = plan_remote(&listed.observation(self, &candidates));
        if self.dry_run {
            if let Some(line) = describe(&action, &listed.remote.record, &self.instance.name) {
                self.plan.push(line);
            }
        }
        action
    }
}

/// The people a listing refused over an address so far, in listing order, each once: a
/// record listed again leaves it, and is back only if refused again.
#[derive(Default)]
struct RefusedOverAddress(Vec<RemoteRecord>);

impl RefusedOverAddress {
    /// Drops the earlier copies of people listed again in `group`.
    fn forget(&mut self, group: &[RemoteRecord]) {
        let people = group.iter().filter(|r| r.kind() == Kind::Person);
        let ids: HashSet<&RemoteId> = people.map(|r| &r.id).collect();
        self.0.retain(|r| !ids.contains(&r.id));
    }
}

/// A write transaction holding one or more pages of a listing.
struct PagesTx {
    tx: Tx,
    since: Instant,
    items: usize,
}

impl PagesTx {
    /// Pages per transaction are bounded in items and in time the write lock is held.
    const MAX_ITEMS: usize = 2_000;
    const MAX_HELD: Duration = Duration::from_millis(250);

    async fn begin(ledger: &Ledger) -> Result<PagesTx, Abort> {
        Ok(PagesTx {
            tx: ledger.write().await?,
            since: Instant::now(),
            items: 0,
        })
    }

    /// Commits the pages applied so far, if a transaction is held.
    async fn commit(held: Option<PagesTx>) -> Result<(), Abort> {
        if let Some(pages_tx) = held {
            pages_tx.tx.commit().await?;
        }
        Ok(())
    }

    /// Whether the next pages should join this transaction: only when they have arrived
    /// already (the write lock is never held while waiting for a provider) and the
    /// transaction is still small and young.
    fn takes_more(&self, reader: &PageReader) -> bool {
        reader.has_arrived()
            && self.items < Self::MAX_ITEMS
            && self.since.elapsed() < Self::MAX_HELD
    }
}
