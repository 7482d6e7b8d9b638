//! Change trails: what a provider's own log of changes says changed since a position, and
//! whether that answer is provably complete. The engine reads the trail first and fetches
//! exactly the records it names; when the trail cannot prove it is complete, the cycle
//! falls back to its windowed scans and says why (`TrailRead::gap`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{Kind, RemoteId};
use crate::provider::RemoteRecord;

/// Where a trail was last read up to: opaque to the engine, stored verbatim in the ledger
/// and handed back on the next read. Only the adapter that made it reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailPosition(pub String);

/// One read of a change trail since a position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrailRead {
    /// Records created or changed since the position, per kind (fetch them by id).
    pub changed: BTreeMap<Kind, BTreeSet<RemoteId>>,
    /// Records the trail says were deleted since the position (confirm each by a get).
    pub deleted: BTreeMap<Kind, BTreeSet<RemoteId>>,
    /// Changed records the read already holds whole (a listing by change date): applied
    /// as they are, not fetched again. Their ids are in `changed` too.
    pub records: Vec<RemoteRecord>,
    /// The position to store once everything named above is applied; `None`: keep the old.
    pub position: Option<TrailPosition>,
    /// The kinds this trail lists every change of (a complete read then spares their full
    /// listings); changes it names of other kinds are still fetched early.
    pub covers: BTreeSet<Kind>,
    /// Whether the trail lists deletions of the kinds it covers; when it does not, only a
    /// complete listing can find them (the deep scan keeps its pace).
    pub sees_deletions: bool,
    /// Why this read cannot prove it holds every change since the position (no position
    /// yet, more changes than one read returns, a scope the credentials lack, a clock or
    /// ordering doubt); `None` when it can.
    pub gap: Option<String>,
}

impl TrailRead {
    /// A read that proves nothing, saying why (the position, if any, is still stored).
    pub fn incomplete(reason: impl Into<String>) -> TrailRead {
        TrailRead {
            gap: Some(reason.into()),
            ..TrailRead::default()
        }
    }

    pub fn is_complete(&self) -> bool {
        self.gap.is_none()
    }

    /// Ids changed or deleted, all kinds together.
    pub fn len(&self) -> usize {
        let count =
            |m: &BTreeMap<Kind, BTreeSet<RemoteId>>| m.values().map(BTreeSet::len).sum::<usize>();
        count(&self.changed) + count(&self.deleted)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Notes a change of `kind` `id` (notes are taken oldest first). After a deletion of
    /// the same id it is a new record under a reused id: both stay noted, and the get of
    /// the changed one settles which record the id names now.
    pub fn note_changed(&mut self, kind: Kind, id: RemoteId) {
        self.changed.entry(kind).or_default().insert(id);
    }

    /// Notes a deletion of `kind` `id`; a change of it noted before is superseded.
    pub fn note_deleted(&mut self, kind: Kind, id: RemoteId) {
        if let Some(c) = self.changed.get_mut(&kind) {
            c.remove(&id);
        }
        self.deleted.entry(kind).or_default().insert(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deletion_supersedes_an_earlier_change_and_a_later_one_is_kept() {
        let mut t = TrailRead::default();
        t.note_changed(Kind::TimeEntry, RemoteId::new("7"));
        t.note_deleted(Kind::TimeEntry, RemoteId::new("7"));
        assert_eq!(t.len(), 1);
        t.note_changed(Kind::TimeEntry, RemoteId::new("7"));
        assert_eq!(t.len(), 2, "a record made again under the reused id");
        assert!(t.deleted[&Kind::TimeEntry].contains(&RemoteId::new("7")));
        assert!(t.is_complete());
        assert!(!TrailRead::incomplete("no position yet").is_complete());
    }
}
