//! The projects and clients a token sees. A token without admin rights lists only those its
//! user created (spec §1), yet its user's entries may book on any other: such references are
//! derived from the entries (`mapping::reference_of_entry`) and remembered, so the entries
//! arrive with them and a later lookup by id finds them.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use timeweave_contract::{Kind, RemoteRecord};

use crate::mapping::{int_id, reference_of_entry};
use crate::wire;

#[derive(Debug, Default)]
pub struct References {
    /// Projects and clients the token's own listings showed.
    listed: Mutex<HashSet<(Kind, i64)>>,
    /// Projects and clients known only from the token's entries.
    derived: Mutex<HashMap<(Kind, i64), RemoteRecord>>,
}

impl References {
    /// Notes a project or client a listing showed.
    pub fn listed(&self, r: &RemoteRecord) {
        if let (Some(id), Ok(mut listed)) = (int_id(&r.id), self.listed.lock()) {
            listed.insert((r.kind(), id));
        }
    }

    pub fn is_listed(&self, kind: Kind, id: i64) -> bool {
        self.listed
            .lock()
            .is_ok_and(|listed| listed.contains(&(kind, id)))
    }

    /// The project or client entry `e` books on, when the token's listings do not show it
    /// (and remembers it).
    pub fn unlisted_of(&self, e: &wire::TimeEntry) -> Option<RemoteRecord> {
        let r = reference_of_entry(e)?;
        let key = (r.kind(), int_id(&r.id)?);
        if self.is_listed(key.0, key.1) {
            return None;
        }
        if let Ok(mut derived) = self.derived.lock() {
            derived.insert(key, r.clone());
        }
        Some(r)
    }

    /// A reference known only from the token's entries, by id.
    pub fn derived(&self, kind: Kind, id: i64) -> Option<RemoteRecord> {
        self.derived.lock().ok()?.get(&(kind, id)).cloned()
    }
}
