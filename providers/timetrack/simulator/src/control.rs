//! `SimulatorControl` for the TimeTrack simulator: seeding from canonical records (ids in the
//! adapter's scheme: decimal ids, `a:<id>` for attendances, `<projectId>/<taskId>` for
//! tasks), out-of-band edits, deletes and renames as the web app would make them (renames
//! the API forbids included), fault injection, the throttle switch and counters.

use std::sync::atomic::Ordering;

use serde_json::{json, Map};
use timeweave_contract::{
    Client, EntryKind, Kind, Person, Project, Record, RemoteId, Task, TimeEntry,
};
use timeweave_simkit::{Fault, SimCredentials, SimRequest, SimulatorControl};

use super::options::SimOptions;
use super::store::{ClientRow, EntryRow, ProjectRow, Resource, Store, TaskRow, UserRow};
use super::{lock, SimServer, BASE_PATH};
use timeweave_timetrack::clock::Timestamps;
use timeweave_timetrack::mapping::{
    attendance_id, cents_to_rate, format_tags, numeric_id, parse_entry_id, split_task_id, task_id,
    EntryRef,
};

fn username_for(p: &Person, store: &Store) -> String {
    let base = p
        .username
        .clone()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| {
            p.email
                .as_ref()
                .and_then(|e| e.split('@').next().map(str::to_owned))
        })
        .unwrap_or_else(|| {
            p.display_name
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(".")
        });
    let taken = |u: &str| store.users.rows.values().any(|r| r.username == u);
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}{n}"))
        .find(|u| !taken(u))
        .unwrap_or(base)
}

fn user_extra(p: &Person) -> Map<String, serde_json::Value> {
    let (first, last) = match p.display_name.trim().split_once(' ') {
        Some((f, l)) => (f.to_owned(), l.trim().to_owned()),
        None => (p.display_name.trim().to_owned(), String::new()),
    };
    let mut m = Map::new();
    m.insert("firstName".into(), json!(first));
    m.insert("lastName".into(), json!(last));
    m.insert("email".into(), json!(p.email));
    m
}

fn client_extra(extra: &mut Map<String, serde_json::Value>, c: &Client) {
    extra.insert("email".into(), json!(c.email));
    extra.insert("notes".into(), json!(c.notes));
}

/// A canonical entry as the server would hold it: `from`/`to` as wall-clock milliseconds
/// under the simulator's time convention.
fn entry_row(e: &TimeEntry<RemoteId>, opts: &SimOptions) -> Option<EntryRow> {
    let derive = opts.derive_worked_minutes;
    let wall = |t| opts.timestamps.wall(t).and_utc().timestamp_millis();
    let mut row = EntryRow {
        user: numeric_id(&e.person)?,
        project: match e.kind {
            EntryKind::Work => Some(numeric_id(e.project.as_ref()?)?),
            EntryKind::Attendance => None,
        },
        task: match (&e.task, e.kind) {
            (Some(t), EntryKind::Work) => Some(split_task_id(t)?.1),
            _ => None,
        },
        from: wall(e.started_at),
        to: e.ended_at.map(wall),
        break_minutes: e.break_seconds.max(0) / 60,
        worked_minutes: e.duration_seconds.map(|s| s / 60),
        billable: e.billable,
        manual: true,
        extra: Map::new(),
        deleted: false,
    };
    if derive || row.worked_minutes.is_none() {
        row.derive_worked();
    }
    match e.kind {
        EntryKind::Work => {
            row.extra.insert("details".into(), json!(e.notes));
            row.extra.insert("tags".into(), json!(format_tags(&e.tags)));
            row.extra.insert("flatRate".into(), json!(false));
        }
        EntryKind::Attendance => {
            row.extra.insert("notes".into(), json!(e.notes));
        }
    }
    Some(row)
}

impl SimServer {
    /// Seeds many entries under one lock (benchmarks: a million entries in seconds).
    /// Panics on ids that are not this simulator's, like `add_entry`.
    pub fn add_entries(&self, entries: &[TimeEntry<RemoteId>]) -> Vec<RemoteId> {
        let opts = self.shared.options();
        let mut store = self.shared.store();
        entries
            .iter()
            .map(|e| {
                let Some(row) = entry_row(e, &opts) else {
                    panic!("add_entries: ids are not this simulator's: {e:?}");
                };
                match e.kind {
                    EntryKind::Work => store.insert_entry(row).into(),
                    EntryKind::Attendance => attendance_id(store.insert_attendance(row)),
                }
            })
            .collect()
    }

    fn global_task(store: &mut Store, name: &str) -> i64 {
        match store.live_task_by_name(name) {
            Some(id) => id,
            None => store.insert_task(TaskRow {
                name: name.to_owned(),
                extra: Map::new(),
                deleted: false,
            }),
        }
    }
}

impl SimulatorControl for SimServer {
    fn kind_name(&self) -> &'static str {
        timeweave_timetrack::KIND
    }

    fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, BASE_PATH)
    }

    fn credentials(&self) -> SimCredentials {
        let s = self.settings();
        SimCredentials {
            api_key: Some(s.api_key.expose().to_owned()),
            api_secret: s.api_secret.expose().to_owned(),
            account_id: None,
        }
    }

    /// `GET /api/v2/ext/project_time_entries/{n}` (or `attendances/{n}`) with both headers.
    fn read_entry_request(&self, id: &RemoteId) -> Option<SimRequest> {
        let (resource, n) = match parse_entry_id(id)? {
            EntryRef::ProjectEntry(n) => ("project_time_entries", n),
            EntryRef::Attendance(n) => ("attendances", n),
        };
        let s = self.settings();
        Some(SimRequest {
            method: "GET",
            url: format!("{}/{resource}/{n}", self.base_url()),
            headers: vec![
                (
                    "X-TimeTrack-Api-Key".to_owned(),
                    s.api_key.expose().to_owned(),
                ),
                (
                    "X-TimeTrack-Api-Secret".to_owned(),
                    s.api_secret.expose().to_owned(),
                ),
            ],
            body: None,
        })
    }

    fn config_lines(&self) -> String {
        match self.shared.options().timestamps {
            Timestamps::Local(tz) => format!("timestamps = \"local\"\ntime_zone = \"{tz}\"\n"),
            Timestamps::Utc => "timestamps = \"utc\"\n".into(),
        }
    }

    fn add_person(&self, person: &Person) -> RemoteId {
        let mut store = self.shared.store();
        let username = username_for(person, &store);
        store
            .insert_user(UserRow {
                username,
                enabled: true,
                password: "secret".into(),
                extra: user_extra(person),
                deleted: false,
            })
            .into()
    }

    fn add_client(&self, client: &Client) -> RemoteId {
        let mut extra = Map::new();
        client_extra(&mut extra, client);
        self.shared
            .store()
            .insert_client(ClientRow {
                name: client.name.clone(),
                enabled: !client.archived,
                extra,
                deleted: false,
            })
            .into()
    }

    fn add_project(&self, project: &Project<RemoteId>) -> RemoteId {
        let mut extra = Map::new();
        extra.insert(
            "hourRate".into(),
            project
                .hourly_rate_cents
                .map(cents_to_rate)
                .unwrap_or_default(),
        );
        self.shared
            .store()
            .insert_project(ProjectRow {
                name: project.name.clone(),
                client: project.client.as_ref().and_then(numeric_id),
                enabled: !project.archived,
                extra,
                deleted: false,
            })
            .into()
    }

    fn add_task(&self, task: &Task<RemoteId>) -> RemoteId {
        let mut store = self.shared.store();
        let id = Self::global_task(&mut store, &task.name);
        task_id(&task.project, id)
    }

    fn add_entry(&self, entry: &TimeEntry<RemoteId>) -> RemoteId {
        let opts = self.shared.options();
        let Some(row) = entry_row(entry, &opts) else {
            panic!("add_entry: the entry's person/project/task ids are not this simulator's ids: {entry:?}");
        };
        let mut store = self.shared.store();
        match entry.kind {
            EntryKind::Work => store.insert_entry(row).into(),
            EntryKind::Attendance => attendance_id(store.insert_attendance(row)),
        }
    }

    fn edit(&self, id: &RemoteId, record: &Record<RemoteId>) -> bool {
        let opts = self.shared.options();
        let mut store = self.shared.store();
        store.touch();
        match record {
            Record::Person(p) => {
                let Some(row) = numeric_id(id).and_then(|n| store.users.rows.get_mut(&n)) else {
                    return false;
                };
                if let Some(u) = p.username.clone().filter(|u| !u.trim().is_empty()) {
                    row.username = u;
                }
                row.extra.extend(user_extra(p));
                true
            }
            Record::Client(c) => {
                let Some(row) = numeric_id(id).and_then(|n| store.clients.rows.get_mut(&n)) else {
                    return false;
                };
                row.name = c.name.clone();
                row.enabled = !c.archived;
                client_extra(&mut row.extra, c);
                true
            }
            Record::Project(p) => {
                let Some(row) = numeric_id(id).and_then(|n| store.projects.rows.get_mut(&n)) else {
                    return false;
                };
                row.name = p.name.clone();
                row.client = p.client.as_ref().and_then(numeric_id);
                row.enabled = !p.archived;
                row.extra.insert(
                    "hourRate".into(),
                    p.hourly_rate_cents.map(cents_to_rate).unwrap_or_default(),
                );
                true
            }
            Record::Task(t) => {
                let Some((_, n)) = split_task_id(id) else {
                    return false;
                };
                let Some(row) = store.tasks.rows.get_mut(&n) else {
                    return false;
                };
                row.name = t.name.clone();
                true
            }
            Record::TimeEntry(e) => {
                let Some(new) = entry_row(e, &opts) else {
                    return false;
                };
                match parse_entry_id(id) {
                    Some(EntryRef::ProjectEntry(n)) if e.kind == EntryKind::Work => store
                        .modify_entry(false, n, |r| {
                            let deleted = r.deleted;
                            *r = EntryRow { deleted, ..new };
                        }),
                    Some(EntryRef::Attendance(n)) if e.kind == EntryKind::Attendance => store
                        .modify_entry(true, n, |r| {
                            let deleted = r.deleted;
                            *r = EntryRow { deleted, ..new };
                        }),
                    _ => false,
                }
            }
        }
    }

    fn remove(&self, kind: Kind, id: &RemoteId) -> bool {
        let mut store = self.shared.store();
        let target = match kind {
            Kind::Person => numeric_id(id).map(|n| (Resource::Users, n)),
            Kind::Client => numeric_id(id).map(|n| (Resource::Clients, n)),
            Kind::Project => numeric_id(id).map(|n| (Resource::Projects, n)),
            Kind::Task => split_task_id(id).map(|(_, n)| (Resource::Tasks, n)),
            Kind::TimeEntry => match parse_entry_id(id) {
                Some(EntryRef::ProjectEntry(n)) => Some((Resource::Entries, n)),
                Some(EntryRef::Attendance(n)) => Some((Resource::Attendances, n)),
                None => None,
            },
        };
        match target {
            Some((res, n)) => store.mark_deleted(res, n),
            None => false,
        }
    }

    fn rename(&self, kind: Kind, id: &RemoteId, name: &str) -> bool {
        let mut store = self.shared.store();
        store.touch();
        let row_name = match kind {
            Kind::Client => numeric_id(id)
                .and_then(|n| store.clients.rows.get_mut(&n))
                .map(|r| &mut r.name),
            Kind::Project => numeric_id(id)
                .and_then(|n| store.projects.rows.get_mut(&n))
                .map(|r| &mut r.name),
            Kind::Task => split_task_id(id)
                .and_then(|(_, n)| store.tasks.rows.get_mut(&n))
                .map(|r| &mut r.name),
            Kind::Person | Kind::TimeEntry => None,
        };
        match row_name {
            Some(n) => {
                *n = name.to_owned();
                true
            }
            None => false,
        }
    }

    fn inject_faults(&self, fault: Fault, count: u32) {
        let mut q = lock(&self.shared.faults);
        for _ in 0..count {
            q.push_back(fault);
        }
    }

    fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    fn pending_faults(&self) -> u32 {
        lock(&self.shared.faults).len() as u32
    }

    fn set_rate_limiting(&self, on: bool) {
        self.shared.rate_limiting.store(on, Ordering::Relaxed);
    }

    fn requests_served(&self) -> u64 {
        self.shared.served.load(Ordering::Relaxed)
    }

    fn count(&self, kind: Kind) -> usize {
        let store = self.shared.store();
        match kind {
            Kind::Person => store.users.rows.values().filter(|r| !r.deleted).count(),
            Kind::Client => store.clients.rows.values().filter(|r| !r.deleted).count(),
            Kind::Project => store.projects.rows.values().filter(|r| !r.deleted).count(),
            Kind::Task => store.tasks.rows.values().filter(|r| !r.deleted).count(),
            Kind::TimeEntry => {
                store
                    .entries
                    .table
                    .rows
                    .values()
                    .filter(|r| !r.deleted)
                    .count()
                    + store
                        .attendances
                        .table
                        .rows
                        .values()
                        .filter(|r| !r.deleted)
                        .count()
            }
        }
    }
}
