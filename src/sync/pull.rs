//! The pull half of a cycle: list a kind (a full listing or one window) page by page,
//! plan each record against its link and ledger record, apply each page in one
//! transaction, then infer deletions from the complete listing (confirmed by a get, within
//! the mass-delete guard).

use std::collections::HashSet;

use timeweave_contract::{
    content_hash, CanonicalId, ContentHash, InvalidRecord, Kind, ListScope, PageItem, Person,
    Record, RemoteId, RemoteRecord, TimeEntry,
};

use super::engine::{Abort, Cycle};
use super::plan::{
    mass_delete_guard, plan_missing, plan_remote, LedgerSide, LinkSide, MissingAction, Observation,
    RemoteAction, Settle, Winner,
};
use super::refs;
use crate::ledger::{Direction, Link, LinkUpdate, NewConflict, NewIssue, StoredRecord, Tx};

/// Stored as a link's canonical hash to say "the ledger version has not reached this
/// provider": the push side then sends it.
pub const UNSYNCED: &str = "unsynced";

fn started_at(r: &Record<RemoteId>) -> Option<chrono::DateTime<chrono::Utc>> {
    match r {
        Record::TimeEntry(TimeEntry { started_at, .. }) => Some(*started_at),
        _ => None,
    }
}

impl Cycle<'_> {
    /// Lists `kind` in `scope` to the end and applies it. Returns whether the listing was
    /// complete (every page read).
    pub(crate) async fn pull_listing(
        &mut self,
        kind: Kind,
        scope: ListScope,
    ) -> Result<bool, Abort> {
        let mut token = None;
        let mut seen: HashSet<RemoteId> = HashSet::new();
        loop {
            self.check_stop()?;
            let page = match self.h.provider.list_page(kind, scope, token).await {
                Ok(p) => p,
                Err(e) => {
                    self.provider_error(&format!("listing {kind} ({scope:?})"), e)?;
                    return Ok(false);
                }
            };
            let mut tx = self.ledger.write().await?;
            for item in page.items {
                match item {
                    PageItem::Invalid(bad) => self.invalid(&mut tx, &bad).await?,
                    PageItem::Record(r) => {
                        if r.kind() == kind {
                            seen.insert(r.id.clone());
                        }
                        self.counts.pulled += 1;
                        self.process_remote(&mut tx, &r).await?;
                    }
                }
            }
            tx.commit().await?;
            self.report_progress(kind.as_str());
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        match scope {
            ListScope::All if kind != Kind::Person => {
                self.infer_deletions(kind, None, &seen).await?
            }
            ListScope::StartedIn(w) => {
                self.infer_deletions(kind, Some((w.from, w.to)), &seen)
                    .await?
            }
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
        let fresh = tx
            .record_issue(
                &NewIssue {
                    provider: self.name(),
                    direction: Direction::Pull,
                    kind: bad.kind,
                    record_id: &id,
                    content_hash: "-",
                    reason: &bad.reason,
                },
                self.now,
            )
            .await?;
        self.counts.skipped += 1;
        if fresh {
            tracing::warn!(provider = %self.h.name, kind = %bad.kind, remote_id = %id, "skipped: {}", bad.reason);
        }
        Ok(())
    }

    /// Plans and applies one listed (or fetched) remote record.
    pub(crate) async fn process_remote(
        &mut self,
        tx: &mut Tx,
        r: &RemoteRecord,
    ) -> Result<(), Abort> {
        let kind = r.kind();
        let name = self.h.name.clone();
        let remote_hash = content_hash(&r.record);
        let link = tx.link_by_remote(&name, kind, &r.id).await?;
        let mapped = refs::to_canonical(tx, &name, &r.record).await?;
        let ledger = match &link {
            Some(l) => tx.get_record(kind, &l.canonical_id).await?,
            None => None,
        };
        let needs_match = link.as_ref().is_none_or(|l| !l.is_live());
        let candidates: Vec<StoredRecord> = match (&mapped, needs_match) {
            (Ok(m), true) => self.candidates(tx, r, m).await?,
            _ => Vec::new(),
        };
        let ledger_time = match &ledger {
            Some(rec) => self.modified_at(tx, rec).await?,
            None => self.now,
        };
        let mut cand_times = Vec::with_capacity(candidates.len());
        for c in &candidates {
            cand_times.push(self.modified_at(tx, c).await?);
        }
        let cand_sides: Vec<LedgerSide> = candidates
            .iter()
            .zip(&cand_times)
            .map(|(c, t)| side(c, *t))
            .collect();
        let mapped_ref = mapped.as_ref().map_err(String::as_str);
        let obs = Observation {
            provider: &name,
            mode: self.h.mode,
            policy: &self.s.policy,
            remote_hash: &remote_hash,
            remote_version: r.version.as_deref(),
            remote_modified_at: r.modified_at.unwrap_or(self.now),
            mapped: mapped_ref,
            link: link.as_ref().map(|l| LinkSide {
                remote_hash: &l.remote_hash,
                canonical_hash: &l.canonical_hash,
                remote_version: l.remote_version.as_deref(),
                remote_deleted: !l.is_live(),
            }),
            ledger: ledger.as_ref().map(|rec| side(rec, ledger_time)),
            candidates: &cand_sides,
        };
        let action = plan_remote(&obs);
        self.apply(
            tx,
            r,
            &remote_hash,
            link.as_ref(),
            ledger.as_ref(),
            &candidates,
            mapped,
            action,
        )
        .await
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
        let name = self.h.name.clone();
        let kind = r.kind();
        if self.dry_run {
            if let Some(line) = describe(&action, &r.record, &name) {
                self.plan.push(line);
            }
        }
        let mapped = match (mapped, &action) {
            (Ok(m), _) => m,
            (Err(reason), _) => {
                let fresh = tx
                    .record_issue(
                        &NewIssue {
                            provider: &name,
                            direction: Direction::Pull,
                            kind,
                            record_id: r.id.as_str(),
                            content_hash: remote_hash.as_str(),
                            reason: &reason,
                        },
                        self.now,
                    )
                    .await?;
                self.counts.skipped += 1;
                if fresh {
                    tracing::warn!(provider = %name, %kind, remote_id = %r.id, "skipped: {reason}");
                }
                return Ok(());
            }
        };
        match action {
            RemoteAction::Unchanged | RemoteAction::Ignore { .. } => {}
            RemoteAction::Invalid { reason } => {
                // Only reached for a broken link; the record is left alone, on record.
                tx.record_issue(
                    &NewIssue {
                        provider: &name,
                        direction: Direction::Pull,
                        kind,
                        record_id: r.id.as_str(),
                        content_hash: remote_hash.as_str(),
                        reason: &reason,
                    },
                    self.now,
                )
                .await?;
                self.counts.skipped += 1;
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
            RemoteAction::Import => {
                if link.is_some() {
                    // A remote id we had seen deleted is live again (reused): start afresh.
                    tx.delete_link(&name, kind, &r.id).await?;
                }
                let stored = tx.insert_record(&mapped, &name, self.now).await?;
                self.link(tx, r, remote_hash, &stored.id, &stored.hash)
                    .await?;
                tx.clear_issue(&name, Direction::Pull, kind, r.id.as_str())
                    .await?;
                self.counts.created += 1;
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
            RemoteAction::Converged { canonical_id } => {
                let hash = content_hash(&mapped);
                self.link(tx, r, remote_hash, &canonical_id, &hash).await?;
            }
            RemoteAction::Conflict {
                canonical_id,
                winner,
            } => {
                let Some(ledger) = ledger else { return Ok(()) };
                self.conflict(tx, r, remote_hash, ledger, &mapped, winner)
                    .await?;
                match winner {
                    Some(Winner::Remote) => {
                        let hash = tx
                            .update_record(&canonical_id, &mapped, &name, self.now)
                            .await?;
                        self.link(tx, r, remote_hash, &canonical_id, &hash).await?;
                        self.counts.updated += 1;
                    }
                    // The ledger keeps its version; remember the remote as seen. The push
                    // side sends the ledger version (unless the conflict is open).
                    Some(Winner::Ledger) | None => {
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
            RemoteAction::Overwrite { canonical_id } => {
                self.link(
                    tx,
                    r,
                    remote_hash,
                    &canonical_id,
                    &ContentHash(UNSYNCED.into()),
                )
                .await?;
            }
        }
        Ok(())
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
            &LinkUpdate {
                provider: &self.h.name,
                kind: r.kind(),
                canonical_id,
                remote_id: &r.id,
                remote_hash,
                canonical_hash,
                remote_version: r.version.as_deref(),
                remote_updated_at: r.modified_at,
                remote_started_at: started_at(&r.record),
            },
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
            provider = %self.h.name,
            kind = %r.kind(),
            record = %ledger.record.label(),
            policy = self.s.policy.name(),
            winner = winner.map(Winner::as_str).unwrap_or("open"),
            "conflict"
        );
        tx.record_conflict(
            &NewConflict {
                provider: &self.h.name,
                canonical_id: &ledger.id,
                remote_id: &r.id,
                ledger_record: &ledger.record,
                remote_record: mapped,
                remote_hash,
                remote_version: r.version.as_deref(),
                policy: self.s.policy.name(),
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
            for (email, per_instance) in &self.s.people {
                let Some(wanted) = per_instance.get(&self.h.name) else {
                    continue;
                };
                let matches = wanted == r.id.as_str()
                    || p.username
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(wanted))
                    || p.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(wanted));
                if matches {
                    let probe = Record::Person(Person {
                        display_name: p.display_name.clone(),
                        email: Some(email.clone()),
                        username: None,
                    });
                    return Ok(tx.natural_key_candidates(&probe, &self.h.name).await?);
                }
            }
        }
        Ok(tx.natural_key_candidates(mapped, &self.h.name).await?)
    }

    /// When the ledger content was made: the source provider's modification time where
    /// it is known, else the ledger's own time.
    async fn modified_at(
        &self,
        tx: &mut Tx,
        rec: &StoredRecord,
    ) -> Result<chrono::DateTime<chrono::Utc>, Abort> {
        if rec.changed_by != self.h.name {
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

    /// After a complete listing: linked records it did not show are confirmed with a get;
    /// the confirmed-gone are deleted in the ledger (unless edited since), within the
    /// mass-delete guard.
    async fn infer_deletions(
        &mut self,
        kind: Kind,
        window: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
        seen: &HashSet<RemoteId>,
    ) -> Result<(), Abort> {
        let links = self
            .ledger
            .read()
            .await?
            .live_links_in(&self.h.name, kind, window)
            .await?;
        let missing: Vec<Link> = links
            .iter()
            .filter(|l| !seen.contains(&l.remote_id))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if let Err(message) = mass_delete_guard(self.s.guard, missing.len(), links.len()) {
            self.error(format!("{kind}: {message}"));
            return Ok(());
        }
        for link in missing {
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
            let ledger = tx.get_record(kind, &link.canonical_id).await?;
            let action = plan_missing(
                self.h.mode,
                answer.is_some(),
                &link.canonical_hash,
                ledger.as_ref().map(|r| (&r.hash, !r.is_live())),
            );
            if self.dry_run && action == MissingAction::Tombstone {
                if let Some(rec) = &ledger {
                    self.plan.push(format!(
                        "delete {kind} '{}' in the ledger (deleted in {})",
                        rec.record.label(),
                        self.h.name
                    ));
                }
            }
            match action {
                MissingAction::StillThere => {
                    if let Some(r) = answer {
                        self.process_remote(&mut tx, &r).await?;
                    }
                }
                MissingAction::Tombstone => {
                    tx.tombstone(kind, &link.canonical_id, &self.h.name, self.now)
                        .await?;
                    tx.mark_link_remote_deleted(&self.h.name, kind, &link.remote_id, self.now)
                        .await?;
                    self.counts.deleted += 1;
                }
                MissingAction::MarkGone => {
                    tx.mark_link_remote_deleted(&self.h.name, kind, &link.remote_id, self.now)
                        .await?;
                }
                MissingAction::Unlink => {
                    tx.delete_link(&self.h.name, kind, &link.remote_id).await?;
                }
            }
            tx.commit().await?;
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
    let what = format!("{} '{}'", record.kind(), record.label());
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
        RemoteAction::Invalid { reason } => format!("skip {what} from {provider}: {reason}"),
        RemoteAction::Overwrite { .. } => {
            format!("overwrite {what} in {provider} with the ledger version")
        }
        _ => return None,
    })
}
