//! The adapter's name↔id directory. TimeTrack links records by name (`username`,
//! `clientName`, `projectName`, `task`) while the contract wants ids, so the adapter keeps
//! what it learned from listings and gets here: users by username, clients by name, projects
//! by (client name, project name), tasks by name. It also remembers names that were still
//! unknown after a refresh, so one bad name does not trigger a refresh on every page.

use std::collections::{HashMap, HashSet};

/// The reference kinds entries name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    User,
    Client,
    Project,
    Task,
}

/// A two-way map between integer ids and unique names.
#[derive(Debug, Default)]
pub struct NameMap {
    by_id: HashMap<i64, String>,
    by_name: HashMap<String, i64>,
}

impl NameMap {
    /// Records `id` under `name`, forgetting the id's previous name (a rename). With two
    /// records of one name, the lower id wins (stable whatever the listing order).
    pub fn insert(&mut self, id: i64, name: &str) {
        if let Some(old) = self.by_id.insert(id, name.to_owned()) {
            if old != name && self.by_name.get(&old) == Some(&id) {
                self.by_name.remove(&old);
            }
        }
        let slot = self.by_name.entry(name.to_owned()).or_insert(id);
        if *slot > id {
            *slot = id;
        }
    }

    pub fn remove(&mut self, id: i64) {
        if let Some(name) = self.by_id.remove(&id) {
            if self.by_name.get(&name) == Some(&id) {
                self.by_name.remove(&name);
            }
        }
    }

    pub fn id(&self, name: &str) -> Option<i64> {
        self.by_name.get(name).copied()
    }

    pub fn name(&self, id: i64) -> Option<&str> {
        self.by_id.get(&id).map(String::as_str)
    }
}

/// Projects by id and by (client name, project name).
#[derive(Debug, Default)]
pub struct ProjectMap {
    by_id: HashMap<i64, (Option<String>, String)>,
    by_key: HashMap<(Option<String>, String), i64>,
}

impl ProjectMap {
    pub fn insert(&mut self, id: i64, client: Option<&str>, name: &str) {
        let key = (client.map(str::to_owned), name.to_owned());
        if let Some(old) = self.by_id.insert(id, key.clone()) {
            if old != key && self.by_key.get(&old) == Some(&id) {
                self.by_key.remove(&old);
            }
        }
        let slot = self.by_key.entry(key).or_insert(id);
        if *slot > id {
            *slot = id;
        }
    }

    pub fn remove(&mut self, id: i64) {
        if let Some(key) = self.by_id.remove(&id) {
            if self.by_key.get(&key) == Some(&id) {
                self.by_key.remove(&key);
            }
        }
    }

    /// The project an entry names. Without a client name, a project name that is unique
    /// across clients still resolves.
    pub fn id(&self, client: Option<&str>, name: &str) -> Option<i64> {
        if let Some(id) = self
            .by_key
            .get(&(client.map(str::to_owned), name.to_owned()))
        {
            return Some(*id);
        }
        if client.is_some() {
            return None;
        }
        let mut found = self.by_id.iter().filter(|(_, (_, n))| n == name);
        match (found.next(), found.next()) {
            (Some((id, _)), None) => Some(*id),
            _ => None,
        }
    }

    /// `(client name, project name)` of a project id.
    pub fn names(&self, id: i64) -> Option<(Option<&str>, &str)> {
        self.by_id.get(&id).map(|(c, n)| (c.as_deref(), n.as_str()))
    }
}

#[derive(Debug, Default)]
pub struct Directory {
    pub users: NameMap,
    pub clients: NameMap,
    pub projects: ProjectMap,
    pub tasks: NameMap,
    misses: HashSet<(RefKind, String)>,
}

impl Directory {
    /// Remembers that `name` was still unknown after a refresh of `kind`.
    pub fn note_miss(&mut self, kind: RefKind, name: &str) {
        self.misses.insert((kind, name.to_owned()));
    }

    pub fn known_miss(&self, kind: RefKind, name: &str) -> bool {
        self.misses.contains(&(kind, name.to_owned()))
    }

    /// A fresh listing of `kind` started: every name deserves a new look-up.
    pub fn forget_misses(&mut self, kind: RefKind) {
        self.misses.retain(|(k, _)| *k != kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_moves_the_name() {
        let mut m = NameMap::default();
        m.insert(5, "Old");
        m.insert(5, "New");
        assert_eq!(m.id("New"), Some(5));
        assert_eq!(m.id("Old"), None);
        assert_eq!(m.name(5), Some("New"));
        m.insert(3, "New");
        assert_eq!(m.id("New"), Some(3), "lowest id wins a shared name");
        m.remove(3);
        assert_eq!(m.id("New"), None);
    }

    #[test]
    fn projects_by_client_and_name() {
        let mut p = ProjectMap::default();
        p.insert(1, Some("A"), "Web");
        p.insert(2, Some("B"), "Web");
        p.insert(3, Some("B"), "App");
        assert_eq!(p.id(Some("B"), "Web"), Some(2));
        assert_eq!(p.id(None, "Web"), None, "ambiguous without a client");
        assert_eq!(p.id(None, "App"), Some(3));
        p.insert(3, Some("B"), "Mobile");
        assert_eq!(p.id(Some("B"), "App"), None);
        assert_eq!(p.names(3), Some((Some("B"), "Mobile")));
    }

    #[test]
    fn misses_are_forgotten_on_refresh() {
        let mut d = Directory::default();
        d.note_miss(RefKind::User, "ghost");
        assert!(d.known_miss(RefKind::User, "ghost"));
        d.forget_misses(RefKind::Project);
        assert!(d.known_miss(RefKind::User, "ghost"));
        d.forget_misses(RefKind::User);
        assert!(!d.known_miss(RefKind::User, "ghost"));
    }
}
