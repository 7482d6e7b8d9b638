//! Writing: creates (no idempotency key exists, so a create whose outcome is unknown is
//! looked up by natural key before it is sent again), updates (client name/enabled cannot
//! change; a project rename is a PUT of `projectName`), deletes, and `find_created`.

use reqwest::Method;
use serde_json::json;
use timeweave_contract::model::whole_seconds;
use timeweave_contract::natural_key::same_name;
use timeweave_contract::{
    Client, EntryKind, Kind, Project, ProviderError, Record, RemoteId, RemoteRecord, Task,
    TimeEntry, WriteOp,
};
use timeweave_http::Repeat;

use super::{unsupported_op, TimeTrackAdapter};
use crate::errors::Fetched;
use crate::mapping::{self, parse_entry_id, EntryNames, EntryRef};
use crate::wire::{self, echoed_id};

/// Sends of one create at most: the first, and re-sends after a look-up found nothing.
const CREATE_SENDS: usize = 3;

/// A failure after which TimeTrack may or may not have carried out a create.
fn outcome_unknown(e: &ProviderError) -> bool {
    matches!(
        e,
        ProviderError::Retryable { .. } | ProviderError::Malformed { .. }
    )
}

impl TimeTrackAdapter {
    pub(super) async fn create_record(
        &self,
        record: &Record<RemoteId>,
    ) -> Result<RemoteRecord, ProviderError> {
        let (path, body) = match record {
            Record::Client(c) => ("clients".to_owned(), mapping::client_create_body(c)),
            Record::Project(p) => {
                let client = p.client.as_ref().ok_or_else(|| {
                    unsupported_op(
                        WriteOp::Create,
                        Kind::Project,
                        "TimeTrack projects need a client",
                    )
                })?;
                let client_name = self.client_name_of(client).await?;
                (
                    "projects".to_owned(),
                    mapping::project_body(p, &client_name),
                )
            }
            Record::Task(t) => return self.ensure_task(t).await,
            Record::TimeEntry(e) => self.entry_request(e, None).await?,
            Record::Person(_) => {
                return Err(unsupported_op(
                    WriteOp::Create,
                    Kind::Person,
                    "users are read-only for timeweave",
                ))
            }
        };
        self.create_without_duplicates(record, &path, &body).await
    }

    /// POSTs a create that TimeTrack cannot de-duplicate. When the outcome is unknown (lost
    /// answer, timeout, 5xx), the record is looked up by natural key; only if it is not there
    /// is the create sent again.
    async fn create_without_duplicates(
        &self,
        record: &Record<RemoteId>,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<RemoteRecord, ProviderError> {
        let mut last_error = None;
        for attempt in 0..CREATE_SENDS {
            if attempt > 0 {
                if let Some(found) = self.find_by_natural_key(record).await? {
                    tracing::info!(
                        path,
                        "a create whose answer was lost had landed; not sending it again"
                    );
                    return Ok(found);
                }
                tracing::warn!(
                    path,
                    attempt,
                    "a create whose answer was lost had not landed; sending it again"
                );
            }
            match self
                .send(Method::POST, path, body, Repeat::OnlyIfNotReceived)
                .await
            {
                Ok(bytes) => {
                    self.note_answer(true, &bytes);
                    return self.created_from_answer(record, path, &bytes).await;
                }
                Err(e) if outcome_unknown(&e) => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        // The last send's outcome is unknown too: one more look before giving up.
        if let Some(found) = self.find_by_natural_key(record).await? {
            return Ok(found);
        }
        Err(last_error
            .unwrap_or_else(|| ProviderError::retryable(format!("POST /{path}: no answer"))))
    }

    /// The record a successful create made: from the echoed object when TimeTrack sends one,
    /// else by GET of the echoed id, else by natural key (success bodies are undocumented).
    async fn created_from_answer(
        &self,
        record: &Record<RemoteId>,
        path: &str,
        bytes: &[u8],
    ) -> Result<RemoteRecord, ProviderError> {
        if let Some(id) = echoed_id(bytes) {
            if let Some(r) = self.record_from_echo(record, id, bytes).await? {
                return Ok(r);
            }
        }
        self.find_by_natural_key(record).await?.ok_or_else(|| {
            ProviderError::malformed(format!(
                "POST /{path} succeeded but the created {} cannot be found",
                record.kind()
            ))
        })
    }

    /// Reads an echoed object; when it is not a full record, GETs it by id.
    async fn record_from_echo(
        &self,
        record: &Record<RemoteId>,
        id: i64,
        bytes: &[u8],
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        let echoed: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
        let kind = record.kind();
        if let Record::Task(t) = record {
            // A task's record is the pair (project, global task): the echo only adds the id.
            let name = echoed
                .as_ref()
                .and_then(|v| wire::task(v).ok())
                .map(|w| w.name)
                .unwrap_or_else(|| t.name.trim().to_owned());
            self.directory().tasks.insert(id, &name);
            return Ok(Some(RemoteRecord {
                id: mapping::task_id(&t.project, id),
                modified_at: None,
                version: None,
                incarnation: None,
                record: Record::Task(Task {
                    project: t.project.clone(),
                    name,
                    archived: false,
                })
                .normalised(),
            }));
        }
        let entry_kind = match record {
            Record::TimeEntry(e) => Some(e.kind),
            _ => None,
        };
        if let Some(v) = echoed.as_ref().filter(|v| v.is_object()) {
            let full = match entry_kind {
                Some(EntryKind::Work) => wire::project_entry(v).is_ok(),
                Some(EntryKind::Attendance) => wire::attendance(v).is_ok(),
                None => match kind {
                    Kind::Client => wire::client(v).is_ok(),
                    Kind::Project => wire::project(v).is_ok(),
                    _ => false,
                },
            };
            if full {
                return match entry_kind {
                    Some(k) => self.entry_from_value(k, v).await,
                    None => self.ref_from_value(kind, v).await,
                };
            }
        }
        let rid = match entry_kind {
            Some(EntryKind::Attendance) => mapping::attendance_id(id),
            _ => RemoteId::from(id),
        };
        self.get_record(kind, &rid).await
    }

    /// The path and body of an entry create (`existing` = None) or update.
    async fn entry_request(
        &self,
        e: &TimeEntry<RemoteId>,
        existing: Option<EntryRef>,
    ) -> Result<(String, serde_json::Value), ProviderError> {
        let update = existing.is_some();
        match e.kind {
            EntryKind::Work => {
                let project = e.project.as_ref().ok_or_else(|| {
                    unsupported_op(
                        WriteOp::Create,
                        Kind::TimeEntry,
                        "TimeTrack project time entries need a project",
                    )
                })?;
                let username = self.username_of(&e.person).await?;
                let (client_name, project_name) = self.project_names_of(project).await?;
                let task = match &e.task {
                    Some(t) => Some(self.task_name_of(t).await?),
                    None => None,
                };
                let body = mapping::entry_body(
                    e,
                    &EntryNames {
                        username: &username,
                        client_name: &client_name,
                        project_name: &project_name,
                        task: task.as_deref(),
                    },
                    update,
                    self.clock(),
                );
                let path = match existing {
                    Some(EntryRef::ProjectEntry(id)) => format!("project_time_entries/{id}"),
                    _ => "project_time_entries".into(),
                };
                Ok((path, body))
            }
            EntryKind::Attendance => match existing {
                None => {
                    let username = self.username_of(&e.person).await?;
                    Ok((
                        "attendances".into(),
                        mapping::attendance_body(e, Some(&username), self.clock()),
                    ))
                }
                Some(EntryRef::Attendance(id)) => Ok((
                    format!("attendances/{id}"),
                    mapping::attendance_body(e, None, self.clock()),
                )),
                Some(EntryRef::ProjectEntry(_)) => Err(unsupported_op(
                    WriteOp::Update,
                    Kind::TimeEntry,
                    "a project time entry cannot become an attendance",
                )),
            },
        }
    }

    /// Creating a canonical task: the global task of that name, created if missing.
    async fn ensure_task(&self, t: &Task<RemoteId>) -> Result<RemoteRecord, ProviderError> {
        if mapping::numeric_id(&t.project).is_none() {
            return Err(ProviderError::rejected(format!(
                "`{}` is not a TimeTrack project id",
                t.project
            )));
        }
        if t.archived {
            return Err(unsupported_op(
                WriteOp::Create,
                Kind::Task,
                "TimeTrack tasks cannot be archived",
            ));
        }
        let record = Record::Task(t.clone());
        if let Some(found) = self.find_by_natural_key(&record).await? {
            return Ok(found);
        }
        self.create_without_duplicates(&record, "tasks", &json!({ "name": t.name.trim() }))
            .await
    }

    pub(super) async fn update_record(
        &self,
        id: &RemoteId,
        record: &Record<RemoteId>,
    ) -> Result<RemoteRecord, ProviderError> {
        let bad_id =
            || ProviderError::rejected(format!("`{id}` is not a timetrack {} id", record.kind()));
        let (path, body) = match record {
            Record::Client(c) => {
                let n = mapping::numeric_id(id).ok_or_else(bad_id)?;
                self.check_client_update(n, c).await?;
                (format!("clients/{n}"), mapping::client_update_body(c))
            }
            Record::Project(p) => {
                let n = mapping::numeric_id(id).ok_or_else(bad_id)?;
                (format!("projects/{n}"), self.project_update_body(p).await?)
            }
            Record::TimeEntry(e) => {
                let existing = parse_entry_id(id).ok_or_else(bad_id)?;
                match (existing, e.kind) {
                    (EntryRef::Attendance(_), EntryKind::Work) => {
                        return Err(unsupported_op(
                            WriteOp::Update,
                            Kind::TimeEntry,
                            "an attendance cannot become a project time entry",
                        ))
                    }
                    (EntryRef::Attendance(n), EntryKind::Attendance) => {
                        self.check_attendance_user(n, e).await?
                    }
                    _ => {}
                }
                self.entry_request(e, Some(existing)).await?
            }
            Record::Task(_) | Record::Person(_) => {
                return Err(self.check_writable_kind(record).unwrap_or_else(|| {
                    unsupported_op(WriteOp::Update, record.kind(), "not supported")
                }))
            }
        };
        // A PUT of the same fields twice leaves the same state: safe to repeat.
        let bytes = self.send(Method::PUT, &path, &body, Repeat::Safe).await?;
        self.note_answer(false, &bytes);
        let echoed_same = echoed_id(&bytes).filter(|n| {
            mapping::numeric_id(id) == Some(*n)
                || parse_entry_id(id) == Some(EntryRef::Attendance(*n))
        });
        if let Some(n) = echoed_same {
            if let Some(r) = self.record_from_echo(record, n, &bytes).await? {
                return Ok(r);
            }
        }
        self.get_record(record.kind(), id).await?.ok_or_else(|| {
            ProviderError::not_found(format!(
                "timetrack {} {id} vanished after an update",
                record.kind()
            ))
        })
    }

    fn check_writable_kind(&self, record: &Record<RemoteId>) -> Option<ProviderError> {
        use timeweave_contract::Provider;
        self.check_writable(WriteOp::Update, record).err()
    }

    /// A client's `name` and `enabled` cannot change through the API (§2.1): such an update
    /// is reported as unsupported instead of being silently half-applied.
    async fn check_client_update(&self, id: i64, c: &Client) -> Result<(), ProviderError> {
        let current = match self.fetch("clients", id).await? {
            Fetched::Found(v) => {
                wire::client(&v).map_err(|u| ProviderError::malformed(u.reason))?
            }
            Fetched::Gone { .. } => {
                return Err(ProviderError::not_found(format!("timetrack client {id}")))
            }
        };
        if !same_name(&current.name, &c.name) {
            return Err(unsupported_op(
                WriteOp::Update,
                Kind::Client,
                &format!(
                    "a client cannot be renamed through the API (`{}` → `{}`); rename it in the TimeTrack web app",
                    current.name.trim(),
                    c.name.trim()
                ),
            ));
        }
        if current.enabled == c.archived {
            return Err(unsupported_op(
                WriteOp::Update,
                Kind::Client,
                &format!(
                    "a client cannot be {} through the API (`enabled` cannot change); do it in the TimeTrack web app",
                    if c.archived { "archived" } else { "unarchived" }
                ),
            ));
        }
        Ok(())
    }

    /// An attendance's `username` cannot change (§2.6).
    async fn check_attendance_user(
        &self,
        id: i64,
        e: &TimeEntry<RemoteId>,
    ) -> Result<(), ProviderError> {
        let current = match self.fetch("attendances", id).await? {
            Fetched::Found(v) => {
                wire::attendance(&v).map_err(|u| ProviderError::malformed(u.reason))?
            }
            Fetched::Gone { .. } => {
                return Err(ProviderError::not_found(format!(
                    "timetrack attendance {id}"
                )))
            }
        };
        let wanted = self.username_of(&e.person).await?;
        if current.username != wanted {
            return Err(unsupported_op(
                WriteOp::Update,
                Kind::TimeEntry,
                "an attendance cannot move to another user (username cannot change)",
            ));
        }
        Ok(())
    }

    /// PUT /projects/{id}: a rename is a new `projectName`; archive is `projectEnabled=false`.
    async fn project_update_body(
        &self,
        p: &Project<RemoteId>,
    ) -> Result<serde_json::Value, ProviderError> {
        let client = p.client.as_ref().ok_or_else(|| {
            unsupported_op(
                WriteOp::Update,
                Kind::Project,
                "TimeTrack projects need a client",
            )
        })?;
        let client_name = self.client_name_of(client).await?;
        Ok(mapping::project_body(p, &client_name))
    }

    pub(super) async fn delete_record(
        &self,
        kind: Kind,
        id: &RemoteId,
    ) -> Result<(), ProviderError> {
        let bad_id = || ProviderError::rejected(format!("`{id}` is not a timetrack {kind} id"));
        let result = match kind {
            Kind::TimeEntry => match parse_entry_id(id).ok_or_else(bad_id)? {
                EntryRef::ProjectEntry(n) => self.remove("project_time_entries", n).await,
                EntryRef::Attendance(n) => self.remove("attendances", n).await,
            },
            Kind::Client => {
                let n = mapping::numeric_id(id).ok_or_else(bad_id)?;
                let r = self.remove("clients", n).await;
                if r.is_ok() {
                    self.directory().clients.remove(n);
                }
                r
            }
            Kind::Project => {
                let n = mapping::numeric_id(id).ok_or_else(bad_id)?;
                let r = self.remove("projects", n).await;
                if r.is_ok() {
                    self.directory().projects.remove(n);
                }
                r
            }
            Kind::Person | Kind::Task => {
                Err(unsupported_op(WriteOp::Delete, kind, "not supported"))
            }
        };
        result
    }

    /// The record a create of `record` would have made, by natural key: entries by user,
    /// start, end and project in the entry's own window; clients, projects and tasks by name.
    pub(super) async fn find_by_natural_key(
        &self,
        record: &Record<RemoteId>,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        match record {
            Record::Person(_) => Ok(None),
            Record::Client(c) => {
                let found = self
                    .list_every_page("clients", &[("name", c.name.trim().to_owned())])
                    .await?;
                let best = found
                    .iter()
                    .filter_map(|v| wire::client(v).ok())
                    .filter(|w| !w.deleted && same_name(&w.name, &c.name))
                    .min_by_key(|w| w.id);
                match best {
                    Some(w) => self.get_record(Kind::Client, &w.id.into()).await,
                    None => Ok(None),
                }
            }
            Record::Project(p) => {
                let Some(client) = &p.client else {
                    return Ok(None);
                };
                let client_name = self.client_name_of(client).await?;
                let found = self
                    .list_every_page(
                        "projects",
                        &[
                            ("projectName", p.name.trim().to_owned()),
                            ("clientName", client_name.clone()),
                        ],
                    )
                    .await?;
                let best = found
                    .iter()
                    .filter_map(|v| wire::project(v).ok())
                    .filter(|w| {
                        !w.deleted
                            && same_name(&w.name, &p.name)
                            && w.client_name
                                .as_deref()
                                .is_some_and(|c| same_name(c, &client_name))
                    })
                    .min_by_key(|w| w.id);
                match best {
                    Some(w) => self.get_record(Kind::Project, &w.id.into()).await,
                    None => Ok(None),
                }
            }
            Record::Task(t) => {
                let found = self
                    .list_every_page("tasks", &[("name", t.name.trim().to_owned())])
                    .await?;
                let best = found
                    .iter()
                    .filter_map(|v| wire::task(v).ok())
                    .filter(|w| !w.deleted && same_name(&w.name, &t.name))
                    .min_by_key(|w| w.id);
                Ok(best.map(|w| {
                    self.directory().tasks.insert(w.id, &w.name);
                    RemoteRecord {
                        id: mapping::task_id(&t.project, w.id),
                        modified_at: None,
                        version: None,
                        incarnation: None,
                        record: Record::Task(Task {
                            project: t.project.clone(),
                            name: w.name,
                            archived: false,
                        })
                        .normalised(),
                    }
                }))
            }
            Record::TimeEntry(e) => {
                let username = self.username_of(&e.person).await?;
                let end = e.ended_at.unwrap_or(e.started_at);
                let candidates = self
                    .entries_near(e.kind, vec![("username", username)], e.started_at, end)
                    .await?;
                // Compared as TimeTrack holds them: both instants of a DST fold are one
                // wall-clock time, so the create reads back as either.
                let second = |t| self.clock().wall(whole_seconds(t));
                let want_start = second(e.started_at);
                let want_end = e.ended_at.map(second);
                Ok(candidates
                    .into_iter()
                    .filter(|r| match &r.record {
                        Record::TimeEntry(c) => {
                            c.person == e.person
                                && second(c.started_at) == want_start
                                && c.ended_at.map(second) == want_end
                                && c.project == e.project
                                && c.kind == e.kind
                        }
                        _ => false,
                    })
                    .min_by_key(|r| match parse_entry_id(&r.id) {
                        Some(EntryRef::ProjectEntry(n) | EntryRef::Attendance(n)) => n,
                        None => i64::MAX,
                    }))
            }
        }
    }
}
