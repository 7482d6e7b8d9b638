//! Name resolution for the adapter: filling the directory from listings and gets, refreshing
//! a reference list (at most once per page) when an entry names something unknown, and
//! turning canonical ids back into the names TimeTrack writes take.

use std::collections::HashSet;

use serde_json::Value;
use timeweave_contract::{ProviderError, RemoteId};

use super::{Cursor, TimeTrackAdapter};
use crate::directory::{Directory, RefKind};
use crate::errors::Fetched;
use crate::mapping::{numeric_id, split_task_id};
use crate::wire;

pub(super) fn resource_of(kind: RefKind) -> &'static str {
    match kind {
        RefKind::User => "users",
        RefKind::Client => "clients",
        RefKind::Project => "projects",
        RefKind::Task => "tasks",
    }
}

/// A name an entry or project refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Wanted {
    User(String),
    Client(String),
    Project(Option<String>, String),
    Task(String),
}

impl Wanted {
    fn kind(&self) -> RefKind {
        match self {
            Wanted::User(_) => RefKind::User,
            Wanted::Client(_) => RefKind::Client,
            Wanted::Project(..) => RefKind::Project,
            Wanted::Task(_) => RefKind::Task,
        }
    }

    fn miss_key(&self) -> String {
        match self {
            Wanted::Project(c, n) => format!("{}\u{1f}{n}", c.as_deref().unwrap_or("")),
            Wanted::User(n) | Wanted::Client(n) | Wanted::Task(n) => n.clone(),
        }
    }

    fn known(&self, dir: &Directory) -> bool {
        match self {
            Wanted::User(n) => dir.users.id(n).is_some(),
            Wanted::Client(n) => dir.clients.id(n).is_some(),
            Wanted::Project(c, n) => dir.projects.id(c.as_deref(), n).is_some(),
            Wanted::Task(n) => dir.tasks.id(n).is_some(),
        }
    }
}

/// Records one listed or fetched reference record in the directory (a record flagged
/// deleted is forgotten). Unreadable records are skipped here; listings report them.
pub(super) fn learn(dir: &mut Directory, kind: RefKind, v: &Value) {
    match kind {
        RefKind::User => {
            if let Ok(u) = wire::user(v) {
                if u.deleted {
                    dir.users.remove(u.id)
                } else {
                    dir.users.insert(u.id, &u.username)
                }
            }
        }
        RefKind::Client => {
            if let Ok(c) = wire::client(v) {
                if c.deleted {
                    dir.clients.remove(c.id)
                } else {
                    dir.clients.insert(c.id, &c.name)
                }
            }
        }
        RefKind::Project => {
            if let Ok(p) = wire::project(v) {
                if p.deleted {
                    dir.projects.remove(p.id)
                } else {
                    dir.projects.insert(p.id, p.client_name.as_deref(), &p.name)
                }
            }
        }
        RefKind::Task => {
            if let Ok(t) = wire::task(v) {
                if t.deleted {
                    dir.tasks.remove(t.id)
                } else {
                    dir.tasks.insert(t.id, &t.name)
                }
            }
        }
    }
}

impl TimeTrackAdapter {
    /// Lists a whole reference resource into the directory.
    pub(super) async fn refresh(&self, kind: RefKind) -> Result<(), ProviderError> {
        let resource = resource_of(kind);
        let mut cursor = Some(Cursor::default());
        while let Some(c) = cursor {
            let items = self.list_raw(resource, &[], c).await?;
            {
                let mut dir = self.directory();
                for v in &items {
                    learn(&mut dir, kind, v);
                }
            }
            cursor = c.after(&items);
        }
        self.directory().forget_misses(kind);
        Ok(())
    }

    /// Makes sure every wanted name is in the directory: each kind with an unknown name
    /// (not already known to be missing) is refreshed once; names still unknown afterwards
    /// are remembered as misses until that kind is listed again.
    pub(super) async fn resolve_names(
        &self,
        wanted: &HashSet<Wanted>,
    ) -> Result<(), ProviderError> {
        let stale: HashSet<RefKind> = {
            let dir = self.directory();
            wanted
                .iter()
                .filter(|w| !w.known(&dir) && !dir.known_miss(w.kind(), &w.miss_key()))
                .map(Wanted::kind)
                .collect()
        };
        for kind in [
            RefKind::User,
            RefKind::Client,
            RefKind::Project,
            RefKind::Task,
        ] {
            if stale.contains(&kind) {
                tracing::debug!(
                    resource = resource_of(kind),
                    "unknown name in a listing: refreshing"
                );
                self.refresh(kind).await?;
            }
        }
        let mut dir = self.directory();
        for w in wanted {
            if stale.contains(&w.kind()) && !w.known(&dir) {
                dir.note_miss(w.kind(), &w.miss_key());
            }
        }
        Ok(())
    }

    /// GET one reference record by id and learn it; `None` when TimeTrack says it is gone.
    async fn fetch_ref(&self, kind: RefKind, id: i64) -> Result<Option<Value>, ProviderError> {
        match self.fetch(resource_of(kind), id).await? {
            Fetched::Found(v) => {
                learn(&mut self.directory(), kind, &v);
                Ok(Some(v))
            }
            Fetched::Gone { .. } => Ok(None),
        }
    }

    /// The username of a person id (a TimeTrack user id).
    pub(super) async fn username_of(&self, person: &RemoteId) -> Result<String, ProviderError> {
        let id = numeric_id(person).ok_or_else(|| {
            ProviderError::rejected(format!("`{person}` is not a TimeTrack user id"))
        })?;
        if let Some(n) = self.directory().users.name(id) {
            return Ok(n.to_owned());
        }
        self.fetch_ref(RefKind::User, id).await?;
        self.directory()
            .users
            .name(id)
            .map(str::to_owned)
            .ok_or_else(|| ProviderError::rejected(format!("TimeTrack user {id} no longer exists")))
    }

    /// The name of a client id.
    pub(super) async fn client_name_of(&self, client: &RemoteId) -> Result<String, ProviderError> {
        let id = numeric_id(client).ok_or_else(|| {
            ProviderError::rejected(format!("`{client}` is not a TimeTrack client id"))
        })?;
        if let Some(n) = self.directory().clients.name(id) {
            return Ok(n.to_owned());
        }
        self.fetch_ref(RefKind::Client, id).await?;
        self.directory()
            .clients
            .name(id)
            .map(str::to_owned)
            .ok_or_else(|| {
                ProviderError::rejected(format!("TimeTrack client {id} no longer exists"))
            })
    }

    /// `(clientName, projectName)` of a project id; entries need both.
    pub(super) async fn project_names_of(
        &self,
        project: &RemoteId,
    ) -> Result<(String, String), ProviderError> {
        let id = numeric_id(project).ok_or_else(|| {
            ProviderError::rejected(format!("`{project}` is not a TimeTrack project id"))
        })?;
        let cached = |dir: &Directory| {
            dir.projects
                .names(id)
                .map(|(c, n)| (c.map(str::to_owned), n.to_owned()))
        };
        let hit = cached(&self.directory());
        let names = match hit {
            Some(n) => Some(n),
            None => {
                self.fetch_ref(RefKind::Project, id).await?;
                cached(&self.directory())
            }
        };
        match names {
            Some((Some(client), name)) => Ok((client, name)),
            Some((None, name)) => Err(ProviderError::rejected(format!(
                "TimeTrack project {id} ({name}) has no client, and entries need clientName"
            ))),
            None => Err(ProviderError::rejected(format!(
                "TimeTrack project {id} no longer exists"
            ))),
        }
    }

    /// The global task name behind a composite task id `<projectId>/<taskId>`.
    pub(super) async fn task_name_of(&self, task: &RemoteId) -> Result<String, ProviderError> {
        let (_, id) = split_task_id(task).ok_or_else(|| {
            ProviderError::rejected(format!(
                "`{task}` is not a TimeTrack task id (expected <projectId>/<taskId>)"
            ))
        })?;
        if let Some(n) = self.directory().tasks.name(id) {
            return Ok(n.to_owned());
        }
        self.fetch_ref(RefKind::Task, id).await?;
        self.directory()
            .tasks
            .name(id)
            .map(str::to_owned)
            .ok_or_else(|| ProviderError::rejected(format!("TimeTrack task {id} no longer exists")))
    }
}
