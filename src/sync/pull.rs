//! The pull half of a cycle: list a kind (a full listing or one window), plan each record
//! against its link and ledger record, apply the pages in batches of every page that has
//! arrived (pages are read ahead, see `listing.rs`), then note what the complete listing
//! did not show (settled after every listing, under one guard: `deletions.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use timeweave_contract::fields::any_unheld;
use timeweave_contract::natural_key::same_name;
use timeweave_contract::{
    content_hash, CanonicalId, ContentHash, Field, InvalidRecord, Kind, ListScope, PageItem,
    Person, Record, RemoteId, RemoteRecord, TimeEntry,
};

use super::engine::{Abort, Cycle};
use super::listing::{Batch, PageReader};
use super::plan::{
    mass_delete_guard, plan_missing, plan_remote, LedgerSide, LinkSide, MissingAction, Observation,
    RemoteAction, Settle, Winner,
};
use super::refs;
use crate::describe::label;
use crate::ledger::{Direction, Link, LinkUpdate, NewConflict, NewIssue, StoredRecord, Tx};

/// Stored as a link's canonical hash to say "the ledger version has not reached this
/// provider": the push side then sends it.
pub const UNSYNCED: &str = "unsynced";

impl Cycle<'_> {
    /// Lists `kind` in `scope` to the end and applies it. Returns whether the listing was
    /// complete (every page read). Pages are read ahead on their own task (`PageReader`);
    /// every page that has arrived is applied as one batch, and when more have arrived by
    /// then they join the open transaction (see `keep_open`), so a fast provider costs one
    /// commit, and one set of ledger queries, per many pages rather than per page.
    pub(crate) async fn pull_listing(
        &mut self,
        kind: Kind,
        scope: ListScope,
    ) -> Result<bool, Abort> {
        let mut seen: HashSet<RemoteId> = HashSet::new();
        let mut reader = PageReader::start(self.instance.provider.clone(), kind, scope);
        let mut open: Option<OpenTx> = None;
        loop {
            if let Err(stop) = self.check_stop() {
                // What was applied is kept: the stop lands between batches.
                OpenTx::commit(open).await?;
                return Err(stop);
            }
            let pages = match reader.next_batch(OpenTx::MAX_ITEMS).await {
                Batch::Pages(pages) => pages,
                Batch::Done => break,
                Batch::Failed(e) => {
                    OpenTx::commit(open.take()).await?;
                    self.provider_error(&format!("listing {kind} ({scope:?})"), e)?;
                    return Ok(false);
                }
            };
            let mut o = match open.take() {
                Some(o) => o,
                None => OpenTx {
                    tx: self.ledger.write().await?,
                    since: Instant::now(),
                    items: 0,
                },
            };
            o.items += pages.iter().map(Vec::len).sum::<usize>();
            self.process_pages(&mut o.tx, kind, pages, &mut seen)
                .await?;
            if o.keep_open(&reader) {
                open = Some(o);
            } else {
                o.tx.commit().await?;
            }
            self.report_progress(kind.as_str());
        }
        OpenTx::commit(open).await?;
        match scope {
            ListScope::All if kind != Kind::Person => self.note_missing(kind, None, &seen).await?,
            ListScope::StartedIn(w) => self.note_missing(kind, Some((w.from, w.to)), &seen).await?,
            _ => {}
        }
        Ok(true)
    }

    async fn invalid(&mut self, tx: &mut Tx, bad: &InvalidRecord) -> Result<(), Abort> {
        let id = bad
            .remote_id
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "(no id)".into());
        self.pull_issue(tx, bad.kind, &id, "-", &bad.reason).await
    }

    /// Records a remote record that could not be taken in (once per content), counts it
    /// as skipped, and logs it when new.
    async fn pull_issue(
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
    /// page (recorded), and processes the records kind by kind, referenced kinds first. An
    /// id listed again on a later page (the listing shifted under offset paging) is taken
    /// once, in its later copy.
    async fn process_pages(
        &mut self,
        tx: &mut Tx,
        kind: Kind,
        pages: Vec<Vec<PageItem>>,
        seen: &mut HashSet<RemoteId>,
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
                        self.invalid(tx, &bad).await?
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
                            self.invalid(tx, &bad).await?;
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
        for (k, group) in groups {
            self.process_group(tx, k, group, &repeated).await?;
        }
        Ok(())
    }

    /// Plans and applies one listed (or fetched) remote record.
    pub(crate) async fn process_remote(
        &mut self,
        tx: &mut Tx,
        r: &RemoteRecord,
    ) -> Result<(), Abort> {
        self.process_group(tx, r.kind(), vec![r.clone()], &HashSet::new())
            .await
    }

    /// Plans and applies records of one kind: links, references, linked ledger records and
    /// natural-key candidates are read in a few queries for the whole group; imports and
    /// link refreshes are written in multi-row statements; the rare rest one by one.
    async fn process_group(
        &mut self,
        tx: &mut Tx,
        kind: Kind,
        group: Vec<RemoteRecord>,
        repeated: &HashSet<(Kind, RemoteId)>,
    ) -> Result<(), Abort> {
        let name = self.instance.name.clone();
        let ids: Vec<&RemoteId> = group.iter().map(|r| &r.id).collect();
        let mut links = tx.links_by_remote(&name, kind, &ids).await?;
        // A listed id that now names a later record: the linked one is gone, and the
        // listed one is new (it may still match a ledger record by natural key). Many at
        // once look like a changed server, not reuse: the mass-delete guard decides. (A
        // link already marked gone needs nothing settled: the planner takes its listed
        // record as new.)
        let reused: Vec<&RemoteId> = group
            .iter()
            .filter(|r| {
                links
                    .get(&r.id)
                    .is_some_and(|l| l.is_live() && l.is_reused_by(r))
            })
            .map(|r| &r.id)
            .collect();
        if !reused.is_empty() {
            match mass_delete_guard(self.settings.guard, reused.len(), links.len()) {
                Err(message) => {
                    // Nothing of this cycle is deleted, here or there.
                    self.deletes_held = true;
                    self.error(format!("{kind}: ids that look reused: {message}"));
                    return Ok(());
                }
                Ok(()) => {
                    for id in reused {
                        if let Some(old) = links.remove(id) {
                            self.settle_reused(tx, &old).await?;
                        }
                    }
                }
            }
        }
        let refmap = refs::remote_map(tx, &name, group.iter().map(|r| &r.record)).await?;
        let linked: Vec<&CanonicalId> = links.values().map(|l| &l.canonical_id).collect();
        let ledger_recs = tx.get_records(kind, &linked).await?;
        let hashes: Vec<ContentHash> = group.iter().map(|r| content_hash(&r.record)).collect();
        let mut mapped: Vec<Result<Record<CanonicalId>, String>> = group
            .iter()
            .map(|r| refs::to_canonical(&refmap, &name, &r.record))
            .collect();
        let mut mapped_hashes: Vec<Option<ContentHash>> = mapped
            .iter()
            .map(|m| m.as_ref().ok().map(content_hash))
            .collect();
        let needs_match: Vec<usize> = (0..group.len())
            .filter(|&i| links.get(&group[i].id).is_none_or(|l| !l.is_live()) && mapped[i].is_ok())
            .collect();
        let mut candidates: Vec<Vec<StoredRecord>> = vec![Vec::new(); group.len()];
        if kind == Kind::TimeEntry {
            self.entry_candidates(tx, &mapped, &needs_match, &mut candidates)
                .await?;
        } else {
            for &i in &needs_match {
                if let Ok(m) = &mapped[i] {
                    candidates[i] = self.candidates(tx, &group[i], m).await?;
                }
            }
        }

        // Fields this provider cannot hold keep the ledger's values (see `fields.rs`).
        let unheld: Vec<Field> = if any_unheld(&self.caps.unheld, kind) {
            self.caps.unheld.clone()
        } else {
            Vec::new()
        };
        let read_only: Vec<Field> = self.caps.read_only.clone();
        let mut claimed: HashSet<CanonicalId> = HashSet::new();
        let mut imports: Vec<(usize, Record<CanonicalId>)> = Vec::new();
        let mut relink: Vec<(usize, CanonicalId, ContentHash)> = Vec::new();
        // Links written before incarnations were kept learn them when seen unchanged, so
        // a later reuse of their id is recognised (once per link: then it is known).
        let mut learned: Vec<(&RemoteId, &str)> = Vec::new();
        for (i, r) in group.iter().enumerate() {
            let link = links.get(&r.id);
            let ledger = link.and_then(|l| ledger_recs.get(&l.canonical_id));
            let open: Vec<&StoredRecord> = candidates[i]
                .iter()
                .filter(|c| !claimed.contains(&c.id))
                .collect();
            if !unheld.is_empty() {
                // The ledger's version of this record: the linked one, else the natural-key
                // match the planner would adopt.
                let base = match (link, ledger) {
                    (Some(l), Some(rec)) if l.is_live() => Some(rec),
                    _ => open.first().copied(),
                };
                if let (Some(base), Ok(m)) = (base, &mapped[i]) {
                    let kept = m.clone().keep_unheld(&base.record, &unheld);
                    if &kept != m {
                        mapped_hashes[i] = Some(content_hash(&kept));
                        mapped[i] = Ok(kept);
                    }
                }
            }
            // Both changed: the version both held at the last sync, so edits of different
            // fields merge (a change of the ledger's only in fields this provider cannot
            // hold among them: those are laid over the listed record above).
            let mut base: Option<Record<CanonicalId>> = None;
            if let (true, Some(l), Some(rec)) = (self.instance.mode.pulls(), link, ledger) {
                // Not when both already agree, nor while a conflict of this record waits for
                // an operator: resolving it later would write over what a merge had combined.
                if l.is_live()
                    && rec.is_live()
                    && hashes[i] != l.remote_hash
                    && rec.hash != l.canonical_hash
                    && mapped_hashes[i].as_ref() != Some(&rec.hash)
                    && !tx.has_open_conflict(&name, kind, &rec.id).await?
                {
                    base = tx.record_version(kind, &rec.id, &l.canonical_hash).await?;
                }
            }
            let mapped_hash = &mapped_hashes[i];
            // Modification times cost a query each: only fetched where a conflict can arise.
            let ledger_time = match (ledger, link) {
                (Some(rec), Some(l))
                    if hashes[i] != l.remote_hash
                        && (!rec.is_live() || rec.hash != l.canonical_hash) =>
                {
                    self.modified_at(tx, rec).await?
                }
                (Some(rec), _) => rec.updated_at,
                (None, _) => self.now,
            };
            let mut cand_times = Vec::with_capacity(open.len());
            for c in &open {
                cand_times.push(if Some(&c.hash) == mapped_hash.as_ref() {
                    c.updated_at
                } else {
                    self.modified_at(tx, c).await?
                });
            }
            let cand_sides: Vec<LedgerSide> = open
                .iter()
                .zip(&cand_times)
                .map(|(c, t)| side(c, *t))
                .collect();
            let obs = Observation {
                provider: &name,
                mode: self.instance.mode,
                policy: &self.settings.policy,
                remote_hash: &hashes[i],
                remote_version: r.version.as_deref(),
                remote_modified_at: r.modified_at.unwrap_or(self.now),
                mapped: mapped[i].as_ref().map_err(String::as_str),
                link: link.map(|l| LinkSide {
                    remote_hash: &l.remote_hash,
                    canonical_hash: &l.canonical_hash,
                    remote_version: l.remote_version.as_deref(),
                    remote_deleted: !l.is_live(),
                }),
                ledger: ledger.map(|rec| side(rec, ledger_time)),
                candidates: &cand_sides,
                mapped_hash: mapped_hash.as_ref(),
                base: base.as_ref(),
                keep_ours: &read_only,
            };
            let action = plan_remote(&obs);
            if self.dry_run {
                if let Some(line) = describe(&action, &r.record, &name) {
                    self.plan.push(line);
                }
            }
            match (&action, &mapped[i]) {
                (RemoteAction::Unchanged | RemoteAction::Ignore { .. }, _) => {
                    if let (Some(l), Some(inc)) = (link, r.incarnation.as_deref()) {
                        if l.remote_incarnation.is_none() {
                            learned.push((&r.id, inc));
                        }
                    }
                }
                (RemoteAction::Import, Ok(m)) => {
                    if link.is_some() {
                        // A remote id we had seen deleted is live again (reused): afresh.
                        tx.delete_link(&name, kind, &r.id).await?;
                    }
                    imports.push((i, m.clone()));
                }
                (
                    RemoteAction::Adopt {
                        canonical_id,
                        then: Settle::Equal,
                    },
                    Ok(_),
                ) => {
                    claimed.insert(canonical_id.clone());
                    if link.is_some() {
                        tx.delete_link(&name, kind, &r.id).await?;
                    }
                    let hash = open
                        .iter()
                        .find(|c| &c.id == canonical_id)
                        .map(|c| c.hash.clone());
                    if let Some(hash) = hash {
                        relink.push((i, canonical_id.clone(), hash));
                    }
                }
                (RemoteAction::Converged { canonical_id }, Ok(_)) => {
                    if let Some(hash) = mapped_hash {
                        relink.push((i, canonical_id.clone(), hash.clone()));
                    }
                }
                (RemoteAction::Overwrite { canonical_id }, Ok(_)) => {
                    relink.push((i, canonical_id.clone(), ContentHash(UNSYNCED.into())));
                }
                _ => {
                    if let RemoteAction::Adopt { canonical_id, .. } = &action {
                        claimed.insert(canonical_id.clone());
                    }
                    let open_owned: Vec<StoredRecord> = open.iter().map(|c| (*c).clone()).collect();
                    self.apply(
                        tx,
                        r,
                        &hashes[i],
                        link,
                        ledger,
                        &open_owned,
                        mapped[i].clone(),
                        action,
                    )
                    .await?;
                }
            }
        }

        let to_insert: Vec<(Record<CanonicalId>, ContentHash)> = imports
            .iter()
            .filter_map(|(i, m)| mapped_hashes[*i].clone().map(|h| (m.clone(), h)))
            .collect();
        let stored = tx.insert_records(&to_insert, &name, self.now).await?;
        self.counts.created += stored.len() as i64;
        for ((i, _), s) in imports.iter().zip(stored) {
            relink.push((*i, s.id, s.hash));
        }
        let updates: Vec<LinkUpdate> = relink
            .iter()
            .map(|(i, cid, hash)| LinkUpdate::of_remote(&name, &group[*i], &hashes[*i], cid, hash))
            .collect();
        tx.upsert_links(&updates, self.now).await?;
        tx.learn_incarnations(&name, kind, &learned).await?;
        let valid: Vec<&str> = group
            .iter()
            .zip(&mapped)
            // An id repeated on the page keeps its issue: the page itself was wrong.
            .filter(|(r, m)| m.is_ok() && !repeated.contains(&(kind, r.id.clone())))
            .map(|(r, _)| r.id.as_str())
            .collect();
        tx.clear_issues(&name, Direction::Pull, kind, &valid)
            .await?;
        Ok(())
    }

    /// Natural-key candidates of many entries in one query: same person, start and end
    /// within 60 s, same project (or project name).
    async fn entry_candidates(
        &mut self,
        tx: &mut Tx,
        mapped: &[Result<Record<CanonicalId>, String>],
        needs: &[usize],
        out: &mut [Vec<StoredRecord>],
    ) -> Result<(), Abort> {
        let entries: Vec<(usize, &TimeEntry<CanonicalId>)> = needs
            .iter()
            .filter_map(|&i| match &mapped[i] {
                Ok(Record::TimeEntry(e)) => Some((i, e)),
                _ => None,
            })
            .collect();
        let (Some(lo), Some(hi)) = (
            entries.iter().map(|(_, e)| e.started_at).min(),
            entries.iter().map(|(_, e)| e.started_at).max(),
        ) else {
            return Ok(());
        };
        let slack = chrono::Duration::seconds(60);
        let mut people: Vec<&CanonicalId> = entries.iter().map(|(_, e)| &e.person).collect();
        people.sort();
        people.dedup();
        let pool = tx
            .entry_candidates(&self.instance.name, &people, lo - slack, hi + slack)
            .await?;
        if pool.is_empty() {
            return Ok(());
        }
        let mut projects: Vec<&CanonicalId> = Vec::new();
        let mut by_person: HashMap<&CanonicalId, Vec<(chrono::DateTime<chrono::Utc>, usize)>> =
            HashMap::new();
        for (j, c) in pool.iter().enumerate() {
            if let Record::TimeEntry(e) = &c.record {
                by_person
                    .entry(&e.person)
                    .or_default()
                    .push((e.started_at, j));
                projects.extend(e.project.iter());
            }
        }
        for v in by_person.values_mut() {
            v.sort();
        }
        projects.extend(entries.iter().filter_map(|(_, e)| e.project.as_ref()));
        projects.sort();
        projects.dedup();
        let names = tx.names(Kind::Project, &projects).await?;
        let same_project = |a: &Option<CanonicalId>, b: &Option<CanonicalId>| match (a, b) {
            (None, None) => true,
            (Some(x), Some(y)) => {
                x == y
                    || matches!((names.get(x), names.get(y)), (Some(p), Some(q)) if same_name(p, q))
            }
            _ => false,
        };
        for (i, e) in entries {
            let Some(starts) = by_person.get(&e.person) else {
                continue;
            };
            let from = starts.partition_point(|(t, _)| *t < e.started_at - slack);
            let mut found: Vec<(i64, usize)> = Vec::new();
            for (t, j) in &starts[from..] {
                if *t > e.started_at + slack {
                    break;
                }
                let Record::TimeEntry(c) = &pool[*j].record else {
                    continue;
                };
                let ends_match = match (c.ended_at, e.ended_at) {
                    (None, None) => true,
                    (Some(a), Some(b)) => (a - b).num_seconds().abs() <= 60,
                    _ => false,
                };
                if ends_match && same_project(&c.project, &e.project) {
                    found.push(((*t - e.started_at).num_seconds().abs(), *j));
                }
            }
            found.sort();
            out[i] = found.into_iter().map(|(_, j)| pool[j].clone()).collect();
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply(
        &mut self,
        tx: &mut Tx,
        r: &RemoteRecord,
        remote_hash: &ContentHash,
        link: Option<&Link>,
        ledger: Option<&StoredRecord>,
        candidates: &[StoredRecord],
        mapped: Result<Record<CanonicalId>, String>,
        action: RemoteAction,
    ) -> Result<(), Abort> {
        let name = self.instance.name.clone();
        let kind = r.kind();
        let mapped = match mapped {
            Ok(m) => m,
            Err(reason) => {
                return self
                    .pull_issue(tx, kind, r.id.as_str(), remote_hash.as_str(), &reason)
                    .await;
            }
        };
        match action {
            // Batched by `process_group` (with the links of the whole group).
            RemoteAction::Unchanged
            | RemoteAction::Ignore { .. }
            | RemoteAction::Import
            | RemoteAction::Converged { .. }
            | RemoteAction::Overwrite { .. } => {}
            RemoteAction::Invalid { reason } => {
                // Only reached for a broken link; the record is left alone, on record.
                self.pull_issue(tx, kind, r.id.as_str(), remote_hash.as_str(), &reason)
                    .await?;
            }
            RemoteAction::RefreshVersion => {
                tx.set_link_remote_hash(
                    &name,
                    kind,
                    &r.id,
                    remote_hash,
                    r.version.as_deref(),
                    self.now,
                )
                .await?;
            }
            RemoteAction::Adopt { canonical_id, then } => {
                if link.is_some() {
                    tx.delete_link(&name, kind, &r.id).await?;
                }
                let Some(candidate) = candidates.iter().find(|c| c.id == canonical_id) else {
                    return Ok(());
                };
                match then {
                    Settle::Equal => {
                        self.link(tx, r, remote_hash, &canonical_id, &candidate.hash)
                            .await?;
                    }
                    Settle::TakeRemote | Settle::Conflict(Some(Winner::Remote)) => {
                        if matches!(then, Settle::Conflict(_)) {
                            self.conflict(
                                tx,
                                r,
                                remote_hash,
                                candidate,
                                &mapped,
                                Some(Winner::Remote),
                            )
                            .await?;
                        }
                        let hash = tx
                            .update_record(&canonical_id, &mapped, &name, self.now)
                            .await?;
                        self.link(tx, r, remote_hash, &canonical_id, &hash).await?;
                        self.counts.updated += 1;
                    }
                    Settle::KeepLedger | Settle::Conflict(Some(Winner::Ledger)) => {
                        if matches!(then, Settle::Conflict(_)) {
                            self.conflict(
                                tx,
                                r,
                                remote_hash,
                                candidate,
                                &mapped,
                                Some(Winner::Ledger),
                            )
                            .await?;
                        }
                        self.link(
                            tx,
                            r,
                            remote_hash,
                            &canonical_id,
                            &ContentHash(UNSYNCED.into()),
                        )
                        .await?;
                    }
                    Settle::Conflict(None) => {
                        self.conflict(tx, r, remote_hash, candidate, &mapped, None)
                            .await?;
                        self.link(tx, r, remote_hash, &canonical_id, &candidate.hash)
                            .await?;
                    }
                }
            }
            RemoteAction::ApplyRemote { canonical_id } | RemoteAction::Revive { canonical_id } => {
                let hash = tx
                    .update_record(&canonical_id, &mapped, &name, self.now)
                    .await?;
                self.link(tx, r, remote_hash, &canonical_id, &hash).await?;
                self.counts.updated += 1;
            }
            RemoteAction::Merge {
                canonical_id,
                merged,
            } => {
                let Some(ledger) = ledger else { return Ok(()) };
                if content_hash(&merged.clone().normalised()) != ledger.hash {
                    // Attributed as before: the merge holds the ledger's edits too, and the
                    // `prefer` policy ranks by who made the ledger's content.
                    tx.update_record(&canonical_id, &merged, &ledger.changed_by, self.now)
                        .await?;
                }
                self.link_to_their_version(tx, r, remote_hash, &canonical_id, &mapped)
                    .await?;
                self.counts.updated += 1;
            }
            RemoteAction::Conflict {
                canonical_id,
                winner,
                settled,
            } => {
                let Some(ledger) = ledger else { return Ok(()) };
                self.conflict(tx, r, remote_hash, ledger, &mapped, winner)
                    .await?;
                match (winner, settled) {
                    // Settled field by field: the ledger takes the result, and the link
                    // names the provider's version, so the push sends the result there.
                    (Some(w), Some(settled)) => {
                        let by = match w {
                            Winner::Remote => name.as_str(),
                            Winner::Ledger => ledger.changed_by.as_str(),
                        };
                        if content_hash(&settled.clone().normalised()) != ledger.hash {
                            tx.update_record(&canonical_id, &settled, by, self.now)
                                .await?;
                            self.counts.updated += 1;
                        }
                        self.link_to_their_version(tx, r, remote_hash, &canonical_id, &mapped)
                            .await?;
                    }
                    (Some(Winner::Remote), None) => {
                        let hash = tx
                            .update_record(&canonical_id, &mapped, &name, self.now)
                            .await?;
                        self.link(tx, r, remote_hash, &canonical_id, &hash).await?;
                        self.counts.updated += 1;
                    }
                    // The ledger keeps its version; remember the remote as seen. The push
                    // side sends the ledger version (unless the conflict is open).
                    (Some(Winner::Ledger) | None, _) => {
                        tx.set_link_remote_hash(
                            &name,
                            kind,
                            &r.id,
                            remote_hash,
                            r.version.as_deref(),
                            self.now,
                        )
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// After a merge: the link names the version the provider holds, kept as the next
    /// merge's base. The ledger's differs from it, so the push sends the merge there (and if
    /// that push never lands, e.g. a pull-only provider, the base stays right).
    async fn link_to_their_version(
        &self,
        tx: &mut Tx,
        r: &RemoteRecord,
        remote_hash: &ContentHash,
        canonical_id: &CanonicalId,
        mapped: &Record<CanonicalId>,
    ) -> Result<(), Abort> {
        let theirs = mapped.clone().normalised();
        let theirs_hash = content_hash(&theirs);
        tx.keep_version(canonical_id, &theirs, &theirs_hash, self.now)
            .await?;
        self.link(tx, r, remote_hash, canonical_id, &theirs_hash)
            .await
    }

    async fn link(
        &self,
        tx: &mut Tx,
        r: &RemoteRecord,
        remote_hash: &ContentHash,
        canonical_id: &CanonicalId,
        canonical_hash: &ContentHash,
    ) -> Result<(), Abort> {
        tx.upsert_link(
            &LinkUpdate::of_remote(
                &self.instance.name,
                r,
                remote_hash,
                canonical_id,
                canonical_hash,
            ),
            self.now,
        )
        .await?;
        Ok(())
    }

    async fn conflict(
        &mut self,
        tx: &mut Tx,
        r: &RemoteRecord,
        remote_hash: &ContentHash,
        ledger: &StoredRecord,
        mapped: &Record<CanonicalId>,
        winner: Option<Winner>,
    ) -> Result<(), Abort> {
        self.counts.conflicts += 1;
        tracing::info!(
            provider = %self.instance.name,
            kind = %r.kind(),
            record = %label(&ledger.record),
            policy = self.settings.policy.name(),
            winner = winner.map(Winner::as_str).unwrap_or("open"),
            "conflict"
        );
        tx.record_conflict(
            &NewConflict {
                provider: &self.instance.name,
                canonical_id: &ledger.id,
                remote_id: &r.id,
                ledger_record: &ledger.record,
                remote_record: mapped,
                remote_hash,
                remote_version: r.version.as_deref(),
                policy: self.settings.policy.name(),
                winner: winner.map(Winner::as_str),
            },
            self.now,
        )
        .await?;
        Ok(())
    }

    /// Natural-key matches, with `[people]` overrides first for people.
    async fn candidates(
        &self,
        tx: &mut Tx,
        r: &RemoteRecord,
        mapped: &Record<CanonicalId>,
    ) -> Result<Vec<StoredRecord>, Abort> {
        if let Record::Person(p) = mapped {
            for (email, per_instance) in &self.settings.people {
                let Some(wanted) = per_instance.get(&self.instance.name) else {
                    continue;
                };
                let matches = wanted == r.id.as_str()
                    || p.username.as_deref().is_some_and(|u| same_name(u, wanted))
                    || p.email.as_deref().is_some_and(|e| same_name(e, wanted));
                if matches {
                    let probe = Record::Person(Person {
                        display_name: p.display_name.clone(),
                        email: Some(email.clone()),
                        username: None,
                    });
                    return Ok(tx
                        .natural_key_candidates(&probe, &self.instance.name)
                        .await?);
                }
            }
        }
        Ok(tx
            .natural_key_candidates(mapped, &self.instance.name)
            .await?)
    }

    /// When the ledger content was made: the source provider's modification time where
    /// it is known, else the ledger's own time.
    async fn modified_at(
        &self,
        tx: &mut Tx,
        rec: &StoredRecord,
    ) -> Result<chrono::DateTime<chrono::Utc>, Abort> {
        if rec.changed_by != self.instance.name {
            if let Some(link) = tx
                .link_by_canonical(&rec.changed_by, rec.record.kind(), &rec.id)
                .await?
            {
                if let Some(t) = link.remote_updated_at {
                    return Ok(t);
                }
            }
        }
        Ok(rec.updated_at)
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
        match action {
            MissingAction::StillThere => {}
            MissingAction::Tombstone => {
                tx.tombstone(kind, &link.canonical_id, &self.instance.name, self.now)
                    .await?;
                tx.mark_link_remote_deleted(&self.instance.name, kind, &link.remote_id, self.now)
                    .await?;
                self.counts.deleted += 1;
            }
            MissingAction::MarkGone => {
                tx.mark_link_remote_deleted(&self.instance.name, kind, &link.remote_id, self.now)
                    .await?;
            }
            MissingAction::Unlink => {
                tx.delete_link(&self.instance.name, kind, &link.remote_id)
                    .await?;
            }
        }
        Ok(())
    }
}

fn side(rec: &StoredRecord, modified_at: chrono::DateTime<chrono::Utc>) -> LedgerSide<'_> {
    LedgerSide {
        id: &rec.id,
        record: &rec.record,
        hash: &rec.hash,
        deleted: !rec.is_live(),
        changed_by: &rec.changed_by,
        modified_at,
    }
}

/// A dry-run line for a ledger change, or `None` for no change.
fn describe(action: &RemoteAction, record: &Record<RemoteId>, provider: &str) -> Option<String> {
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

/// A write transaction holding one or more pages of a listing.
struct OpenTx {
    tx: Tx,
    since: Instant,
    items: usize,
}

impl OpenTx {
    /// Pages per transaction are bounded in items and in time the write lock is held.
    const MAX_ITEMS: usize = 2_000;
    const MAX_HELD: Duration = Duration::from_millis(250);

    /// Commits the pages applied so far, if a transaction is open.
    async fn commit(open: Option<OpenTx>) -> Result<(), Abort> {
        if let Some(o) = open {
            o.tx.commit().await?;
        }
        Ok(())
    }

    /// Whether the next pages should join this transaction: only when they have arrived
    /// already (the write lock is never held while waiting for a provider) and the
    /// transaction is still small and young.
    fn keep_open(&self, reader: &PageReader) -> bool {
        reader.has_arrived()
            && self.items < Self::MAX_ITEMS
            && self.since.elapsed() < Self::MAX_HELD
    }
}
