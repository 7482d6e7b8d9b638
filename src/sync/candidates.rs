//! Natural-key matches for listed records that have no live link yet (DESIGN.md §4, "match
//! an existing canonical record by natural key before creating one"): entries by person,
//! start and end within 60 s and project, for a whole group in one query; other kinds by
//! name, people with the `[people]` overrides first.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use timeweave_contract::natural_key::same_name;
use timeweave_contract::{CanonicalId, Kind, Person, Record, RemoteId, RemoteRecord, TimeEntry};

use super::engine::{Abort, Cycle};
use super::observe::Mapped;
use crate::ledger::{Link, StoredRecord, Tx};

/// How far apart the starts (and the ends) of two copies of one entry may be.
const SLACK_SECONDS: i64 = 60;

impl Cycle<'_> {
    /// Per listed record, best first, the unlinked ledger records it may be a copy of: only
    /// for records with no live link whose references could be mapped.
    pub(super) async fn natural_key_matches(
        &self,
        tx: &mut Tx,
        kind: Kind,
        records: &[RemoteRecord],
        links: &HashMap<RemoteId, Link>,
        mapped: &[Result<Mapped, String>],
    ) -> Result<Vec<Vec<StoredRecord>>, Abort> {
        let unlinked: Vec<usize> = (0..records.len())
            .filter(|&i| {
                links.get(&records[i].id).is_none_or(|l| !l.is_live()) && mapped[i].is_ok()
            })
            .collect();
        let mut matches: Vec<Vec<StoredRecord>> = vec![Vec::new(); records.len()];
        if kind == Kind::TimeEntry {
            self.entry_matches(tx, mapped, &unlinked, &mut matches)
                .await?;
            return Ok(matches);
        }
        for &i in &unlinked {
            if let Ok(m) = &mapped[i] {
                matches[i] = self.name_matches(tx, &records[i], &m.record).await?;
            }
        }
        Ok(matches)
    }

    /// Natural-key matches, with `[people]` overrides first for people.
    async fn name_matches(
        &self,
        tx: &mut Tx,
        remote: &RemoteRecord,
        mapped: &Record<CanonicalId>,
    ) -> Result<Vec<StoredRecord>, Abort> {
        let name = &self.instance.name;
        if let Record::Person(p) = mapped {
            for (email, per_instance) in &self.settings.people {
                let Some(wanted) = per_instance.get(name) else {
                    continue;
                };
                let matches = wanted == remote.id.as_str()
                    || p.username.as_deref().is_some_and(|u| same_name(u, wanted))
                    || p.email.as_deref().is_some_and(|e| same_name(e, wanted));
                if matches {
                    let probe = Record::Person(Person {
                        display_name: p.display_name.clone(),
                        email: Some(email.clone()),
                        username: None,
                    });
                    return Ok(tx.natural_key_candidates(&probe, name).await?);
                }
            }
        }
        Ok(tx.natural_key_candidates(mapped, name).await?)
    }

    /// Natural-key matches of many entries in one query: same person, start and end within
    /// 60 s, same project (or project name); nearest start first.
    async fn entry_matches(
        &self,
        tx: &mut Tx,
        mapped: &[Result<Mapped, String>],
        unlinked: &[usize],
        out: &mut [Vec<StoredRecord>],
    ) -> Result<(), Abort> {
        let entries: Vec<(usize, &TimeEntry<CanonicalId>)> = unlinked
            .iter()
            .filter_map(|&i| match &mapped[i] {
                Ok(Mapped {
                    record: Record::TimeEntry(e),
                    ..
                }) => Some((i, e)),
                _ => None,
            })
            .collect();
        let Some(pool) = EntryPool::read(tx, &self.instance.name, &entries).await? else {
            return Ok(());
        };
        for (i, e) in entries {
            out[i] = pool.matches(e);
        }
        Ok(())
    }
}

/// The ledger's unlinked entries near a group's entries, indexed by person and start, with
/// the names of every project involved.
struct EntryPool {
    entries: Vec<StoredRecord>,
    /// Per person, the starts of their entries in `entries`, sorted.
    starts: HashMap<CanonicalId, Vec<(DateTime<Utc>, usize)>>,
    project_names: HashMap<CanonicalId, String>,
}

impl EntryPool {
    /// The pool for `wanted` (`None`: nothing in the ledger could match).
    async fn read(
        tx: &mut Tx,
        provider: &str,
        wanted: &[(usize, &TimeEntry<CanonicalId>)],
    ) -> Result<Option<EntryPool>, Abort> {
        let (Some(lo), Some(hi)) = (
            wanted.iter().map(|(_, e)| e.started_at).min(),
            wanted.iter().map(|(_, e)| e.started_at).max(),
        ) else {
            return Ok(None);
        };
        let slack = chrono::Duration::seconds(SLACK_SECONDS);
        let mut people: Vec<&CanonicalId> = wanted.iter().map(|(_, e)| &e.person).collect();
        people.sort();
        people.dedup();
        let entries = tx
            .entry_candidates(provider, &people, lo - slack, hi + slack)
            .await?;
        if entries.is_empty() {
            return Ok(None);
        }
        let mut projects: Vec<&CanonicalId> = Vec::new();
        let mut starts: HashMap<CanonicalId, Vec<(DateTime<Utc>, usize)>> = HashMap::new();
        for (j, c) in entries.iter().enumerate() {
            if let Record::TimeEntry(e) = &c.record {
                starts
                    .entry(e.person.clone())
                    .or_default()
                    .push((e.started_at, j));
                projects.extend(e.project.iter());
            }
        }
        for v in starts.values_mut() {
            v.sort();
        }
        projects.extend(wanted.iter().filter_map(|(_, e)| e.project.as_ref()));
        projects.sort();
        projects.dedup();
        let project_names = tx.names(Kind::Project, &projects).await?;
        Ok(Some(EntryPool {
            entries,
            starts,
            project_names,
        }))
    }

    /// The pool's copies of `e`, nearest start first.
    fn matches(&self, e: &TimeEntry<CanonicalId>) -> Vec<StoredRecord> {
        let Some(starts) = self.starts.get(&e.person) else {
            return Vec::new();
        };
        let slack = chrono::Duration::seconds(SLACK_SECONDS);
        let from = starts.partition_point(|(t, _)| *t < e.started_at - slack);
        let mut found: Vec<(i64, usize)> = Vec::new();
        for (t, j) in &starts[from..] {
            if *t > e.started_at + slack {
                break;
            }
            let Record::TimeEntry(c) = &self.entries[*j].record else {
                continue;
            };
            if same_end(c.ended_at, e.ended_at) && self.same_project(&c.project, &e.project) {
                found.push(((*t - e.started_at).num_seconds().abs(), *j));
            }
        }
        found.sort();
        found
            .into_iter()
            .map(|(_, j)| self.entries[j].clone())
            .collect()
    }

    /// The same project, or projects of the same name (copies in two providers).
    fn same_project(&self, a: &Option<CanonicalId>, b: &Option<CanonicalId>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(x), Some(y)) => {
                x == y
                    || matches!(
                        (self.project_names.get(x), self.project_names.get(y)),
                        (Some(p), Some(q)) if same_name(p, q)
                    )
            }
            _ => false,
        }
    }
}

/// Both running, or both ended within the slack of each other.
fn same_end(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).num_seconds().abs() <= SLACK_SECONDS,
        _ => false,
    }
}
