//! Reading: paged listings of users, clients and projects; windowed listings of project time
//! entries (then attendances, when enabled) with names resolved to ids and derived task
//! records placed before the entries that use them; and gets by id (404 means gone).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use timeweave_contract::{
    EntryKind, InvalidRecord, Kind, ListScope, Page, PageItem, PageToken, ProviderError, Record,
    RemoteId, RemoteRecord, Task,
};

use super::refs::{learn, resource_of, Wanted};
use super::{Cursor, TimeTrackAdapter};
use crate::directory::{Directory, RefKind};
use crate::errors::{Fetched, CODE_DELETED};
use crate::mapping::{self, attendance_id, parse_entry_id, split_task_id, EntryRef, EntryRefs};
use crate::wire::{self, Unreadable, WireEntry};

/// How far before the window's start the `from` filter reaches: covers a server that
/// compares `from` exclusively (§4.13). The adapter filters to the exact window itself.
const FROM_SLACK: Duration = Duration::minutes(1);
/// How far past the window's end the `to` filter reaches: covers a server that compares
/// `to` with the entry's *end* rather than its start (§4.13), for entries up to a day long.
const TO_SLACK: Duration = Duration::days(1);
/// The most pages `newest_from_raw` reads.
const NEWEST_PAGES: usize = 5;

fn ref_kind(kind: Kind) -> Option<RefKind> {
    match kind {
        Kind::Person => Some(RefKind::User),
        Kind::Client => Some(RefKind::Client),
        Kind::Project => Some(RefKind::Project),
        Kind::Task => Some(RefKind::Task),
        Kind::TimeEntry => None,
    }
}

fn bad_token(token: &PageToken) -> ProviderError {
    ProviderError::rejected(format!("`{}` is not a timetrack page token", token.0))
}

fn invalid(kind: Kind, id: Option<RemoteId>, reason: impl Into<String>) -> PageItem {
    PageItem::Invalid(InvalidRecord {
        kind,
        remote_id: id,
        reason: reason.into(),
    })
}

fn record(id: RemoteId, record: Record<RemoteId>) -> RemoteRecord {
    RemoteRecord {
        id,
        // TimeTrack has no modification time (§1.5) and no version.
        modified_at: None,
        version: None,
        incarnation: None,
        record: record.normalised(),
    }
}

/// Which resource an entry listing is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    ProjectEntries,
    Attendances,
}

impl Phase {
    fn resource(self) -> &'static str {
        match self {
            Phase::ProjectEntries => "project_time_entries",
            Phase::Attendances => "attendances",
        }
    }
    fn entry_kind(self) -> EntryKind {
        match self {
            Phase::ProjectEntries => EntryKind::Work,
            Phase::Attendances => EntryKind::Attendance,
        }
    }
    fn remote_id(self, id: i64) -> RemoteId {
        match self {
            Phase::ProjectEntries => RemoteId::from(id),
            Phase::Attendances => attendance_id(id),
        }
    }
    fn token(self, cursor: Cursor) -> PageToken {
        cursor.token(match self {
            Phase::ProjectEntries => "e",
            Phase::Attendances => "a",
        })
    }
}

fn parse_entry_token(token: Option<&PageToken>) -> Result<(Phase, Cursor), ProviderError> {
    let Some(t) = token else {
        return Ok((Phase::ProjectEntries, Cursor::default()));
    };
    match Cursor::parse(t).ok_or_else(|| bad_token(t))? {
        ("e", c) => Ok((Phase::ProjectEntries, c)),
        ("a", c) => Ok((Phase::Attendances, c)),
        _ => Err(bad_token(t)),
    }
}

/// A reference record (user, client, project) read into the canonical model.
fn ref_item(kind: Kind, v: &Value, dir: &Directory) -> Option<PageItem> {
    let unreadable = |u: Unreadable| Some(invalid(kind, u.id.map(RemoteId::from), u.reason));
    match kind {
        Kind::Person => match wire::user(v) {
            Ok(u) if u.deleted => None,
            Ok(u) => Some(PageItem::Record(record(
                u.id.into(),
                Record::Person(mapping::person(&u)),
            ))),
            Err(e) => unreadable(e),
        },
        Kind::Client => match wire::client(v) {
            Ok(c) if c.deleted => None,
            Ok(c) => Some(PageItem::Record(record(
                c.id.into(),
                Record::Client(mapping::client(&c)),
            ))),
            Err(e) => unreadable(e),
        },
        Kind::Project => match wire::project(v) {
            Ok(p) if p.deleted => None,
            Ok(p) => {
                let client = match p.client_name.as_deref() {
                    None => None,
                    Some(name) => match dir.clients.id(name) {
                        Some(id) => Some(RemoteId::from(id)),
                        None => {
                            return Some(invalid(
                                kind,
                                Some(p.id.into()),
                                format!(
                                    "project `{}` names client `{name}`, which is not in /clients",
                                    p.name
                                ),
                            ))
                        }
                    },
                };
                Some(PageItem::Record(record(
                    p.id.into(),
                    Record::Project(mapping::project(&p, client)),
                )))
            }
            Err(e) => unreadable(e),
        },
        Kind::Task | Kind::TimeEntry => None,
    }
}

impl TimeTrackAdapter {
    pub(super) async fn list_kind(
        &self,
        kind: Kind,
        scope: ListScope,
        token: Option<PageToken>,
    ) -> Result<Page, ProviderError> {
        match kind {
            Kind::TimeEntry => self.list_entries(scope, token.as_ref()).await,
            Kind::Task => Err(ProviderError::unsupported(
                "timetrack tasks are one global list without projects; canonical tasks arrive \
                 as derived records of time-entry listings",
            )),
            _ if scope != ListScope::All => Err(ProviderError::unsupported(format!(
                "timetrack lists {kind}s only in full (ListScope::All)"
            ))),
            _ => self.list_refs(kind, token.as_ref()).await,
        }
    }

    async fn list_refs(
        &self,
        kind: Kind,
        token: Option<&PageToken>,
    ) -> Result<Page, ProviderError> {
        let rk = ref_kind(kind)
            .ok_or_else(|| ProviderError::unsupported(format!("{kind} is not a reference kind")))?;
        let cursor = match token {
            None => Cursor::default(),
            Some(t) => match Cursor::parse(t) {
                Some(("p", c)) => c,
                _ => return Err(bad_token(t)),
            },
        };
        let values = self.list_raw(resource_of(rk), &[], cursor).await?;
        {
            let mut dir = self.directory();
            if cursor.page == 0 {
                dir.forget_misses(rk);
            }
            for v in &values {
                learn(&mut dir, rk, v);
            }
        }
        if kind == Kind::Project {
            let wanted: HashSet<Wanted> = values
                .iter()
                .filter_map(|v| wire::project(v).ok()?.client_name)
                .map(Wanted::Client)
                .collect();
            self.resolve_names(&wanted).await?;
        }
        let items = {
            let dir = self.directory();
            values
                .iter()
                .filter_map(|v| ref_item(kind, v, &dir))
                .collect()
        };
        Ok(Page {
            items,
            next: cursor.after(&values).map(|c| c.token("p")),
        })
    }

    async fn list_entries(
        &self,
        scope: ListScope,
        token: Option<&PageToken>,
    ) -> Result<Page, ProviderError> {
        let (phase, cursor) = parse_entry_token(token)?;
        if phase == Phase::Attendances && !self.settings.attendances {
            return Err(ProviderError::rejected(
                "attendance page token, but attendances are turned off in the config",
            ));
        }
        let (filters, window) = match scope {
            ListScope::All => (vec![], None),
            ListScope::StartedIn(w) => (
                vec![
                    ("from", self.clock().filter_bound(w.from, -FROM_SLACK)),
                    ("to", self.clock().filter_bound(w.to, TO_SLACK)),
                ],
                Some(w),
            ),
            ListScope::ChangedIn(_) => {
                return Err(ProviderError::unsupported(
                    "timetrack has no change feed (no modified-since filter, §1.5)",
                ))
            }
        };
        let values = self.list_raw(phase.resource(), &filters, cursor).await?;
        let keep = |t: DateTime<Utc>| window.is_none_or(|w| w.contains(t));
        let items = self.map_entries(phase, &values, keep).await?;
        let next = if let Some(c) = cursor.after(&values) {
            Some(phase.token(c))
        } else if phase == Phase::ProjectEntries && self.settings.attendances {
            Some(Phase::Attendances.token(Cursor::default()))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Maps listed entries to page items: unreadable ones become `Invalid`, deleted-flagged
    /// and out-of-window ones are dropped, names are resolved (refreshing once), and each
    /// (project, task) pair used yields a derived task record ahead of the entries.
    async fn map_entries(
        &self,
        phase: Phase,
        values: &[Value],
        keep: impl Fn(DateTime<Utc>) -> bool,
    ) -> Result<Vec<PageItem>, ProviderError> {
        let mut parsed: Vec<Result<WireEntry, Unreadable>> = Vec::with_capacity(values.len());
        for v in values {
            let w = match phase {
                Phase::ProjectEntries => wire::project_entry(v),
                Phase::Attendances => wire::attendance(v),
            };
            match w {
                Ok(e) if e.deleted => {}
                Ok(e) => match mapping::entry_times(&e, self.clock()) {
                    Ok((start, _)) if !keep(start) => {}
                    Ok(_) => parsed.push(Ok(e)),
                    Err(reason) => parsed.push(Err(Unreadable {
                        id: Some(e.id),
                        reason,
                    })),
                },
                Err(u) => parsed.push(Err(u)),
            }
        }
        let mut wanted = HashSet::new();
        for e in parsed.iter().flatten() {
            wanted.insert(Wanted::User(e.username.clone()));
            if let Some(p) = &e.project_name {
                wanted.insert(Wanted::Project(e.client_name.clone(), p.clone()));
            }
            if let Some(t) = &e.task {
                wanted.insert(Wanted::Task(t.clone()));
            }
        }
        self.resolve_names(&wanted).await?;

        let dir = self.directory();
        let mut tasks: Vec<PageItem> = Vec::new();
        let mut seen_tasks: HashMap<(i64, i64), ()> = HashMap::new();
        let mut entries = Vec::with_capacity(parsed.len());
        for w in parsed {
            let e = match w {
                Ok(e) => e,
                Err(u) => {
                    entries.push(invalid(
                        Kind::TimeEntry,
                        u.id.map(|id| phase.remote_id(id)),
                        u.reason,
                    ));
                    continue;
                }
            };
            let id = phase.remote_id(e.id);
            match resolve_entry(&e, phase, &dir) {
                Ok((refs, task_pair)) => {
                    match mapping::entry(&e, phase.entry_kind(), refs, self.clock()) {
                        Ok(entry) => {
                            if let Some((pid, tid, name)) = task_pair {
                                if seen_tasks.insert((pid, tid), ()).is_none() {
                                    tasks.push(PageItem::Record(record(
                                        mapping::task_id(&pid.into(), tid),
                                        Record::Task(Task {
                                            project: pid.into(),
                                            name,
                                            archived: false,
                                        }),
                                    )));
                                }
                            }
                            entries.push(PageItem::Record(record(id, Record::TimeEntry(entry))));
                        }
                        Err(reason) => entries.push(invalid(Kind::TimeEntry, Some(id), reason)),
                    }
                }
                Err(reason) => entries.push(invalid(Kind::TimeEntry, Some(id), reason)),
            }
        }
        tasks.extend(entries);
        Ok(tasks)
    }

    pub(super) async fn get_record(
        &self,
        kind: Kind,
        id: &RemoteId,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        let bad_id = || ProviderError::rejected(format!("`{id}` is not a timetrack {kind} id"));
        match kind {
            Kind::TimeEntry => {
                let (phase, n) = match parse_entry_id(id).ok_or_else(bad_id)? {
                    EntryRef::ProjectEntry(n) => (Phase::ProjectEntries, n),
                    EntryRef::Attendance(n) => (Phase::Attendances, n),
                };
                let v = match self.fetch(phase.resource(), n).await? {
                    Fetched::Found(v) => v,
                    Fetched::Gone { code } => {
                        tracing::debug!(
                            id = %id,
                            soft_deleted = code == Some(CODE_DELETED),
                            "timetrack says the entry is gone"
                        );
                        return Ok(None);
                    }
                };
                self.entry_from_value(phase, &v).await
            }
            Kind::Task => {
                let (pid, tid) = split_task_id(id).ok_or_else(bad_id)?;
                let task = match self.fetch("tasks", tid).await? {
                    Fetched::Found(v) => {
                        wire::task(&v).map_err(|u| ProviderError::malformed(u.reason))?
                    }
                    Fetched::Gone { .. } => return Ok(None),
                };
                if task.deleted
                    || matches!(self.fetch("projects", pid).await?, Fetched::Gone { .. })
                {
                    return Ok(None);
                }
                learn(
                    &mut self.directory(),
                    RefKind::Task,
                    &serde_json::json!({"id": task.id, "name": task.name}),
                );
                Ok(Some(record(
                    id.clone(),
                    Record::Task(Task {
                        project: pid.into(),
                        name: task.name,
                        archived: false,
                    }),
                )))
            }
            _ => {
                let n = mapping::numeric_id(id).ok_or_else(bad_id)?;
                let rk = ref_kind(kind).ok_or_else(bad_id)?;
                let v = match self.fetch(resource_of(rk), n).await? {
                    Fetched::Found(v) => v,
                    Fetched::Gone { .. } => return Ok(None),
                };
                self.ref_from_value(kind, &v).await
            }
        }
    }

    /// A fetched or echoed user, client or project as a record (`None` if flagged deleted).
    pub(super) async fn ref_from_value(
        &self,
        kind: Kind,
        v: &Value,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        if let Some(rk) = ref_kind(kind) {
            learn(&mut self.directory(), rk, v);
        }
        if kind == Kind::Project {
            if let Some(c) = wire::project(v).ok().and_then(|p| p.client_name) {
                self.resolve_names(&HashSet::from([Wanted::Client(c)]))
                    .await?;
            }
        }
        let item = ref_item(kind, v, &self.directory());
        match item {
            None => Ok(None),
            Some(PageItem::Record(r)) => Ok(Some(r)),
            Some(PageItem::Invalid(bad)) => Err(ProviderError::malformed(bad.reason)),
        }
    }

    /// A fetched or echoed entry as a record (`None` if flagged deleted).
    pub(super) async fn entry_from_value(
        &self,
        phase_kind: impl Into<EntryPhase>,
        v: &Value,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        let phase = phase_kind.into().0;
        let items = self
            .map_entries(phase, std::slice::from_ref(v), |_| true)
            .await?;
        let mut found = None;
        for item in items {
            match item {
                PageItem::Record(r) if r.kind() == Kind::TimeEntry => found = Some(r),
                PageItem::Record(_) => {}
                PageItem::Invalid(bad) => {
                    return Err(ProviderError::malformed(format!(
                        "timetrack entry {}: {}",
                        bad.remote_id.map(|i| i.0).unwrap_or_default(),
                        bad.reason
                    )))
                }
            }
        }
        Ok(found)
    }

    /// The `from` of the newest project entry started in the last 30 days, as sent (for
    /// `doctor`); at most a few pages.
    pub(super) async fn newest_from_raw(&self) -> Result<Option<String>, ProviderError> {
        let now = Utc::now();
        let filters = [
            (
                "from",
                self.clock()
                    .filter_bound(now - Duration::days(30), -FROM_SLACK),
            ),
            ("to", self.clock().filter_bound(now, TO_SLACK)),
        ];
        let mut newest: Option<(DateTime<Utc>, String)> = None;
        let mut cursor = Some(Cursor::default());
        for _ in 0..NEWEST_PAGES {
            let Some(c) = cursor else { break };
            let values = self
                .list_raw(Phase::ProjectEntries.resource(), &filters, c)
                .await?;
            for raw in values.iter().filter_map(|v| v.get("from")?.as_str()) {
                let start = crate::clock::parse_stamp(raw).and_then(|s| self.clock().start(s).ok());
                if let Some(start) = start.filter(|t| newest.as_ref().is_none_or(|(n, _)| t > n)) {
                    newest = Some((start, raw.to_owned()));
                }
            }
            cursor = c.after(&values);
        }
        Ok(newest.map(|(_, raw)| raw))
    }

    /// The first page of projects, as sent (for `doctor`: which name key they carry, K2).
    pub(super) async fn first_projects_raw(&self) -> Result<Vec<Value>, ProviderError> {
        self.list_raw("projects", &[], Cursor::default()).await
    }

    /// Lists one resource's entries in `[from, to]` (with the same slack as windows) with
    /// extra filters, mapped; used to find a create by natural key.
    pub(super) async fn entries_near(
        &self,
        kind: EntryKind,
        filters: Vec<(&str, String)>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<RemoteRecord>, ProviderError> {
        let phase = match kind {
            EntryKind::Work => Phase::ProjectEntries,
            EntryKind::Attendance => Phase::Attendances,
        };
        let mut filters = filters;
        filters.push(("from", self.clock().filter_bound(from, -FROM_SLACK)));
        filters.push(("to", self.clock().filter_bound(to, FROM_SLACK)));
        let mut out = Vec::new();
        let mut cursor = Some(Cursor::default());
        while let Some(c) = cursor {
            let values = self.list_raw(phase.resource(), &filters, c).await?;
            for item in self.map_entries(phase, &values, |_| true).await? {
                if let PageItem::Record(r) = item {
                    if r.kind() == Kind::TimeEntry {
                        out.push(r);
                    }
                }
            }
            cursor = c.after(&values);
        }
        Ok(out)
    }
}

/// Which entry resource a value came from (a public-to-the-module wrapper of `Phase`).
pub(super) struct EntryPhase(Phase);

impl From<EntryKind> for EntryPhase {
    fn from(k: EntryKind) -> Self {
        EntryPhase(match k {
            EntryKind::Work => Phase::ProjectEntries,
            EntryKind::Attendance => Phase::Attendances,
        })
    }
}

impl From<Phase> for EntryPhase {
    fn from(p: Phase) -> Self {
        EntryPhase(p)
    }
}

/// The ids an entry's names stand for, and its (project, task, task name) if it has a task.
#[allow(clippy::type_complexity)]
fn resolve_entry(
    e: &WireEntry,
    phase: Phase,
    dir: &Directory,
) -> Result<(EntryRefs, Option<(i64, i64, String)>), String> {
    let person = dir
        .users
        .id(&e.username)
        .ok_or_else(|| format!("names user `{}`, which is not in /users", e.username))?;
    if phase == Phase::Attendances {
        return Ok((
            EntryRefs {
                person: person.into(),
                project: None,
                task: None,
            },
            None,
        ));
    }
    let project_name = e
        .project_name
        .as_deref()
        .ok_or("has no projectName (a project time entry needs a project)")?;
    let project = dir
        .projects
        .id(e.client_name.as_deref(), project_name)
        .ok_or_else(|| {
            format!(
                "names project `{project_name}` of client `{}`, which is not in /projects",
                e.client_name.as_deref().unwrap_or("")
            )
        })?;
    let task = match e.task.as_deref() {
        None => None,
        Some(name) => {
            let tid = dir
                .tasks
                .id(name)
                .ok_or_else(|| format!("names task `{name}`, which is not in /tasks"))?;
            let canonical = dir.tasks.name(tid).unwrap_or(name).to_owned();
            Some((project, tid, canonical))
        }
    };
    Ok((
        EntryRefs {
            person: person.into(),
            project: Some(project.into()),
            task: task
                .as_ref()
                .map(|(p, t, _)| mapping::task_id(&(*p).into(), *t)),
        },
        task,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_tokens() {
        assert_eq!(
            parse_entry_token(None).unwrap(),
            (Phase::ProjectEntries, Cursor::default())
        );
        let c = Cursor {
            page: 3,
            prev_first: Some(9),
        };
        let t = Phase::Attendances.token(c);
        assert_eq!(
            parse_entry_token(Some(&t)).unwrap(),
            (Phase::Attendances, c)
        );
        assert!(parse_entry_token(Some(&PageToken("zz".into()))).is_err());
    }
}

#[cfg(test)]
#[path = "listing_prop.rs"]
mod prop;
