//! The simulator's in-memory data: accounts (workspaces) holding users, customers,
//! projects, tasks and events, with the indexes that keep every page cheap at a million
//! events (start, created and updated date indexes, events per task, external ids, and
//! per-task/per-project worked-time totals kept in step with the events).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;

/// A user (people who book time).
#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub surname: String,
    pub email: String,
    pub role: &'static str,
    pub is_archived: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub notes: Option<String>,
    pub contact_email: Option<String>,
    pub is_archived: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub customer_id: Option<i64>,
    pub is_billable: bool,
    pub hourly_rate: Option<f64>,
    pub is_archived: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug)]
pub struct Task {
    pub id: i64,
    /// TrackingTime allows tasks with no name (`null`).
    pub name: Option<String>,
    pub project_id: Option<i64>,
    pub is_archived: bool,
    pub kind: String,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

impl Customer {
    /// A live customer named `name`, made at `now`: no notes, no e-mail, never edited.
    pub fn new(id: i64, name: String, now: NaiveDateTime) -> Customer {
        Customer {
            id,
            name,
            notes: None,
            contact_email: None,
            is_archived: false,
            created_at: now,
            updated_at: None,
        }
    }
}

impl Project {
    /// A live project named `name`, made at `now`: no rate, never edited.
    pub fn new(
        id: i64,
        name: String,
        customer_id: Option<i64>,
        is_billable: bool,
        now: NaiveDateTime,
    ) -> Project {
        Project {
            id,
            name,
            customer_id,
            is_billable,
            hourly_rate: None,
            is_archived: false,
            created_at: now,
            updated_at: None,
        }
    }
}

impl Task {
    /// A live task of type `kind` (`PERSONAL`, `EVERYONE`), made at `now`, never edited.
    pub fn new(
        id: i64,
        name: Option<String>,
        project_id: Option<i64>,
        kind: String,
        now: NaiveDateTime,
    ) -> Task {
        Task {
            id,
            name,
            project_id,
            is_archived: false,
            kind,
            created_at: now,
            updated_at: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Event {
    pub id: i64,
    pub user_id: i64,
    pub task_id: Option<i64>,
    pub project_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// Naive wall-clock time in `timezone`.
    pub start: NaiveDateTime,
    /// `None` while the timer runs.
    pub end: Option<NaiveDateTime>,
    pub duration: i64,
    /// Normalised `GMT±HH:MM` (or an IANA name).
    pub timezone: String,
    pub notes: Option<String>,
    pub is_billable: bool,
    pub is_billed: bool,
    pub event_type: String,
    /// In the account's zone.
    pub created_at: NaiveDateTime,
    /// Null until the first edit.
    pub updated_at: Option<NaiveDateTime>,
    /// (slug, value) pairs.
    pub custom_fields: Vec<(String, String)>,
}

impl Event {
    pub fn custom(&self, slug: &str) -> Option<&str> {
        self.custom_fields
            .iter()
            .find(|(s, _)| s == slug)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
}

pub type Key = (NaiveDateTime, i64);

/// One workspace.
#[derive(Debug, Default)]
pub struct Account {
    pub id: i64,
    pub company: String,
    pub users: BTreeMap<i64, User>,
    pub customers: BTreeMap<i64, Customer>,
    pub projects: BTreeMap<i64, Project>,
    pub tasks: BTreeMap<i64, Task>,
    pub events: HashMap<i64, Event>,
    pub by_start: BTreeSet<Key>,
    pub by_created: BTreeSet<Key>,
    pub by_updated: BTreeSet<Key>,
    pub by_task: HashMap<i64, BTreeSet<i64>>,
    pub by_external: HashMap<String, BTreeSet<i64>>,
    pub task_seconds: HashMap<i64, i64>,
    pub project_seconds: HashMap<i64, i64>,
    /// Bumped on every event change; page cursors of an older generation are dropped.
    pub generation: u64,
    /// (query signature, page) -> the last index key of that page.
    pub cursors: HashMap<(String, u32), Key>,
    pub webhooks: BTreeMap<i64, Webhook>,
    /// user -> running event (one timer per user).
    pub running: HashMap<i64, i64>,
}

impl Account {
    pub fn new(id: i64, company: impl Into<String>) -> Account {
        Account {
            id,
            company: company.into(),
            ..Account::default()
        }
    }

    /// Adds an event to the store and every index.
    pub fn put_event(&mut self, e: Event) {
        self.by_start.insert((e.start, e.id));
        self.by_created.insert((e.created_at, e.id));
        if let Some(u) = e.updated_at {
            self.by_updated.insert((u, e.id));
        }
        if let Some(t) = e.task_id {
            self.by_task.entry(t).or_default().insert(e.id);
            *self.task_seconds.entry(t).or_default() += e.duration;
        }
        if let Some(p) = e.project_id {
            *self.project_seconds.entry(p).or_default() += e.duration;
        }
        if let Some(x) = e.custom(super::THIRD_PARTY_ID) {
            self.by_external
                .entry(x.to_owned())
                .or_default()
                .insert(e.id);
        }
        if e.end.is_none() {
            self.running.insert(e.user_id, e.id);
        }
        self.touch();
        self.events.insert(e.id, e);
    }

    /// Removes an event from the store and every index.
    pub fn take_event(&mut self, id: i64) -> Option<Event> {
        let e = self.events.remove(&id)?;
        self.by_start.remove(&(e.start, e.id));
        self.by_created.remove(&(e.created_at, e.id));
        if let Some(u) = e.updated_at {
            self.by_updated.remove(&(u, e.id));
        }
        if let Some(t) = e.task_id {
            if let Some(set) = self.by_task.get_mut(&t) {
                set.remove(&e.id);
            }
            *self.task_seconds.entry(t).or_default() -= e.duration;
        }
        if let Some(p) = e.project_id {
            *self.project_seconds.entry(p).or_default() -= e.duration;
        }
        if let Some(x) = e.custom(super::THIRD_PARTY_ID) {
            if let Some(set) = self.by_external.get_mut(x) {
                set.remove(&e.id);
            }
        }
        if self.running.get(&e.user_id) == Some(&e.id) {
            self.running.remove(&e.user_id);
        }
        self.touch();
        Some(e)
    }

    fn touch(&mut self) {
        self.generation += 1;
        if !self.cursors.is_empty() {
            self.cursors.clear();
        }
    }

    /// The running event of a user, if any (one timer per user).
    pub fn running_event_of(&self, user: i64) -> Option<i64> {
        self.running.get(&user).copied()
    }

    pub fn customer_name_taken(&self, name: &str, except: Option<i64>) -> bool {
        let n = name.trim().to_lowercase();
        self.customers
            .values()
            .any(|c| Some(c.id) != except && c.name.trim().to_lowercase() == n)
    }
}
