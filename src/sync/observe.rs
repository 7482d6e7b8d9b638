//! What the planner compares a listed record against (the inputs of DESIGN.md §4, step 3).
//! For a group of records of one kind: their links, the linked ledger records, their
//! references in canonical ids and their natural-key matches, read in a few queries (an id
//! that now names a later record settles the linked one first; of two people sharing an
//! address one is refused, and an address one person of the group leaves for another is
//! released first: `shared_email.rs`). Then per record: the fields this provider cannot
//! hold laid over from the ledger, the merge base, and the modification times a conflict is
//! decided on, as one `Observation` for `plan_remote`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use timeweave_contract::fields::any_unheld;
use timeweave_contract::{
    content_hash, CanonicalId, ContentHash, Kind, Record, RemoteId, RemoteRecord,
};

use super::engine::{Abort, Cycle};
use super::plan::{mass_delete_guard, LedgerSide, LinkSide, Observation};
use super::refs;
use crate::ledger::{Link, StoredRecord, Tx};

/// A remote record with its references as ledger ids, and its content hash.
#[derive(Clone, Debug)]
pub(super) struct Mapped {
    pub record: Record<CanonicalId>,
    pub hash: ContentHash,
}

impl Mapped {
    fn new(record: Record<CanonicalId>) -> Mapped {
        let hash = content_hash(&record);
        Mapped { record, hash }
    }
}

/// What the ledger holds about a group of listed records of one kind.
pub(super) struct GroupView {
    pub kind: Kind,
    pub records: Vec<RemoteRecord>,
    pub remote_hashes: Vec<ContentHash>,
    pub links: HashMap<RemoteId, Link>,
    /// The ledger records the links name.
    pub linked: HashMap<CanonicalId, StoredRecord>,
    /// Each record in ledger ids, or why its references cannot be mapped.
    pub mapped: Vec<Result<Mapped, String>>,
    /// Each unlinked record's natural-key matches, best first.
    pub matches: Vec<Vec<StoredRecord>>,
    /// People of the group whose address another record of the group takes (a swap, a
    /// renamed mailbox): released before the group is written (`shared_email.rs`).
    pub released: Vec<super::shared_email::Released>,
    /// Indices of the people refused over an address (`shared_email.rs`).
    pub refused_over_address: Vec<usize>,
}

/// One listed record with everything the planner compares it against.
pub(super) struct Listed<'g> {
    pub index: usize,
    pub remote: &'g RemoteRecord,
    pub remote_hash: &'g ContentHash,
    pub link: Option<&'g Link>,
    /// The ledger record the link names.
    pub ledger: Option<&'g StoredRecord>,
    /// Natural-key matches no earlier record of the group adopted, best first.
    pub candidates: Vec<&'g StoredRecord>,
    /// The record in ledger ids (the ledger's values in the fields this provider cannot
    /// hold), or why its references cannot be mapped.
    pub mapped: Result<Mapped, String>,
    /// When the ledger's content and each candidate's was made.
    ledger_modified_at: DateTime<Utc>,
    candidates_modified_at: Vec<DateTime<Utc>>,
    /// The version both sides held at the last sync, when both changed since.
    base: Option<Record<CanonicalId>>,
}

impl Listed<'_> {
    fn mapped_hash(&self) -> Option<&ContentHash> {
        self.mapped.as_ref().ok().map(|m| &m.hash)
    }

    /// The candidates as the planner sees them.
    pub fn candidate_sides(&self) -> Vec<LedgerSide<'_>> {
        self.candidates
            .iter()
            .zip(&self.candidates_modified_at)
            .map(|(c, t)| side(c, *t))
            .collect()
    }

    /// The planner's input for this record (`candidates` from `candidate_sides`).
    pub fn observation<'a>(
        &'a self,
        cycle: &'a Cycle<'_>,
        candidates: &'a [LedgerSide<'a>],
    ) -> Observation<'a> {
        Observation {
            provider: &cycle.instance.name,
            mode: cycle.instance.mode,
            policy: &cycle.settings.policy,
            remote_hash: self.remote_hash,
            remote_version: self.remote.version.as_deref(),
            remote_modified_at: self.remote.modified_at.unwrap_or(cycle.now),
            mapped: self
                .mapped
                .as_ref()
                .map(|m| &m.record)
                .map_err(String::as_str),
            link: self.link.map(|l| LinkSide {
                remote_hash: &l.remote_hash,
                canonical_hash: &l.canonical_hash,
                remote_version: l.remote_version.as_deref(),
                remote_deleted: !l.is_live(),
            }),
            ledger: self.ledger.map(|rec| side(rec, self.ledger_modified_at)),
            candidates,
            mapped_hash: self.mapped_hash(),
            base: self.base.as_ref(),
            keep_ours: &cycle.caps.read_only,
        }
    }
}

fn side(rec: &StoredRecord, modified_at: DateTime<Utc>) -> LedgerSide<'_> {
    LedgerSide {
        id: &rec.id,
        record: &rec.record,
        hash: &rec.hash,
        deleted: !rec.is_live(),
        changed_by: &rec.changed_by,
        modified_at,
    }
}

impl Cycle<'_> {
    /// Reads what the ledger holds about `records`; `None` when ids that look reused
    /// tripped the mass-delete guard (then nothing of the group is applied).
    pub(super) async fn read_group(
        &mut self,
        tx: &mut Tx,
        kind: Kind,
        records: Vec<RemoteRecord>,
    ) -> Result<Option<GroupView>, Abort> {
        let name = self.instance.name.clone();
        let ids: Vec<&RemoteId> = records.iter().map(|r| &r.id).collect();
        let mut links = tx.links_by_remote(&name, kind, &ids).await?;
        if !self
            .settle_reused_ids(tx, kind, &records, &mut links)
            .await?
        {
            return Ok(None);
        }
        let refmap = refs::remote_map(tx, &name, records.iter().map(|r| &r.record)).await?;
        let linked_ids: Vec<&CanonicalId> = links.values().map(|l| &l.canonical_id).collect();
        let linked = tx.get_records(kind, &linked_ids).await?;
        let remote_hashes = records.iter().map(|r| content_hash(&r.record)).collect();
        let mapped: Vec<Result<Mapped, String>> = records
            .iter()
            .map(|r| refs::to_canonical(&refmap, &name, &r.record).map(Mapped::new))
            .collect();
        let matches = self
            .natural_key_matches(tx, kind, &records, &links, &mapped)
            .await?;
        let mut view = GroupView {
            kind,
            records,
            remote_hashes,
            links,
            linked,
            mapped,
            matches,
            released: Vec::new(),
            refused_over_address: Vec::new(),
        };
        if kind == Kind::Person {
            view.refused_over_address = self.refuse_shared_emails(tx, &mut view).await?;
        }
        Ok(Some(view))
    }

    /// A listed id that now names a later record: the linked one is gone, and the listed
    /// one is new (it may still match a ledger record by natural key). Many at once look
    /// like a changed server, not reuse: the mass-delete guard decides, and when it trips
    /// nothing of this cycle is deleted (returns `false`). A link already marked gone needs
    /// nothing settled: the planner takes its listed record as new.
    async fn settle_reused_ids(
        &mut self,
        tx: &mut Tx,
        kind: Kind,
        records: &[RemoteRecord],
        links: &mut HashMap<RemoteId, Link>,
    ) -> Result<bool, Abort> {
        let reused: Vec<&RemoteId> = records
            .iter()
            .filter(|r| {
                links
                    .get(&r.id)
                    .is_some_and(|l| l.is_live() && l.is_reused_by(r))
            })
            .map(|r| &r.id)
            .collect();
        if reused.is_empty() {
            return Ok(true);
        }
        if let Err(message) = mass_delete_guard(self.settings.guard, reused.len(), links.len()) {
            // Nothing of this cycle is deleted, here or there.
            self.deletes_held = true;
            self.error(format!("{kind}: ids that look reused: {message}"));
            return Ok(false);
        }
        for id in reused {
            if let Some(old) = links.remove(id) {
                self.settle_reused(tx, &old).await?;
            }
        }
        Ok(true)
    }

    /// Record `index` of the group, ready to plan; `mapped` is its entry of
    /// `GroupView::mapped`, `adopted` the candidates earlier records of the group took.
    pub(super) async fn observe<'g>(
        &self,
        tx: &mut Tx,
        view: &'g GroupView,
        index: usize,
        mapped: Result<Mapped, String>,
        adopted: &HashSet<CanonicalId>,
    ) -> Result<Listed<'g>, Abort> {
        let remote = &view.records[index];
        let link = view.links.get(&remote.id);
        let mut listed = Listed {
            index,
            remote,
            remote_hash: &view.remote_hashes[index],
            link,
            ledger: link.and_then(|l| view.linked.get(&l.canonical_id)),
            candidates: view.matches[index]
                .iter()
                .filter(|c| !adopted.contains(&c.id))
                .collect(),
            mapped,
            ledger_modified_at: self.now,
            candidates_modified_at: Vec::new(),
            base: None,
        };
        self.lay_unheld_over(view.kind, &mut listed);
        listed.base = self.merge_base(tx, view.kind, &listed).await?;
        listed.ledger_modified_at = self.ledger_modified_at(tx, &listed).await?;
        listed.candidates_modified_at = self.candidates_modified_at(tx, &listed).await?;
        Ok(listed)
    }

    /// Fields this provider cannot hold keep the ledger's values (see `fields.rs`): those
    /// of the linked record, else of the natural-key match the planner would adopt.
    fn lay_unheld_over(&self, kind: Kind, listed: &mut Listed<'_>) {
        if !any_unheld(&self.caps.unheld, kind) {
            return;
        }
        let ours = match (listed.link, listed.ledger) {
            (Some(l), Some(rec)) if l.is_live() => Some(rec),
            _ => listed.candidates.first().copied(),
        };
        if let (Some(ours), Ok(m)) = (ours, &mut listed.mapped) {
            let kept = m
                .record
                .clone()
                .keep_unheld(&ours.record, &self.caps.unheld);
            if kept != m.record {
                *m = Mapped::new(kept);
            }
        }
    }

    /// Both changed: the version both held at the last sync, so edits of different fields
    /// merge (a change of the ledger's only in fields this provider cannot hold among them:
    /// those are laid over the listed record). Not when both already agree, nor while a
    /// conflict of this record waits for an operator: resolving it later would write over
    /// what a merge had combined.
    async fn merge_base(
        &self,
        tx: &mut Tx,
        kind: Kind,
        listed: &Listed<'_>,
    ) -> Result<Option<Record<CanonicalId>>, Abort> {
        let (true, Some(l), Some(rec)) = (self.instance.mode.pulls(), listed.link, listed.ledger)
        else {
            return Ok(None);
        };
        let both_changed = l.is_live()
            && rec.is_live()
            && *listed.remote_hash != l.remote_hash
            && rec.hash != l.canonical_hash
            && listed.mapped_hash() != Some(&rec.hash);
        if !both_changed
            || tx
                .has_open_conflict(&self.instance.name, kind, &rec.id)
                .await?
        {
            return Ok(None);
        }
        Ok(tx.record_version(kind, &rec.id, &l.canonical_hash).await?)
    }

    /// When the linked ledger content was made. Modification times cost a query each:
    /// only fetched where a conflict can arise.
    async fn ledger_modified_at(
        &self,
        tx: &mut Tx,
        listed: &Listed<'_>,
    ) -> Result<DateTime<Utc>, Abort> {
        Ok(match (listed.ledger, listed.link) {
            (Some(rec), Some(l))
                if *listed.remote_hash != l.remote_hash
                    && (!rec.is_live() || rec.hash != l.canonical_hash) =>
            {
                self.modified_at(tx, rec).await?
            }
            (Some(rec), _) => rec.updated_at,
            (None, _) => self.now,
        })
    }

    /// When each candidate's content was made (no query for a candidate equal to the
    /// listed record: no conflict can arise there).
    async fn candidates_modified_at(
        &self,
        tx: &mut Tx,
        listed: &Listed<'_>,
    ) -> Result<Vec<DateTime<Utc>>, Abort> {
        let mut times = Vec::with_capacity(listed.candidates.len());
        for c in &listed.candidates {
            times.push(if Some(&c.hash) == listed.mapped_hash() {
                c.updated_at
            } else {
                self.modified_at(tx, c).await?
            });
        }
        Ok(times)
    }

    /// When the ledger content was made: the source provider's modification time where
    /// it is known, else the ledger's own time.
    async fn modified_at(&self, tx: &mut Tx, rec: &StoredRecord) -> Result<DateTime<Utc>, Abort> {
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
}
