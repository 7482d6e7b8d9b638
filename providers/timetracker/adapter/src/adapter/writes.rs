//! Creates, updates and deletes with the server's workarounds: an entry created without
//! `task_id` then PATCHed, `if_updated_at` echoed verbatim, a task dropped by booking the entry
//! on its client and back, project and task status settled after the write.

use reqwest::Method;
use timeweave_contract::{
    Kind, Provider, ProviderError, Record, RemoteId, RemoteRecord, TimeEntry, UpdateTarget, WriteOp,
};
use timeweave_http::Repeat;

use super::requests::idempotency_header;
use super::{Session, TimeTrackerAdapter};
use crate::mapping::{self, int_id};
use crate::wire;

impl TimeTrackerAdapter {
    pub(super) fn require_int(id: &RemoteId, kind: Kind) -> Result<i64, ProviderError> {
        int_id(id).ok_or_else(|| {
            ProviderError::rejected(format!(
                "{kind} id {:?} is not a TimeTracker id",
                id.as_str()
            ))
        })
    }

    pub(super) async fn patch_entry(
        &self,
        id: i64,
        body: &wire::EntryPatch,
        what: &str,
    ) -> Result<wire::TimeEntry, ProviderError> {
        self.write(
            what,
            Method::PATCH,
            &format!("/time-entries/{id}"),
            "time_entry",
            body,
            None,
            Repeat::Safe,
        )
        .await
    }

    /// Second step of an entry create: the server rejects `task_id` on create (spec §5), so
    /// it is set with a PATCH. Also used by `find_created` to finish an interrupted create.
    pub(super) async fn set_entry_task(
        &self,
        created: wire::TimeEntry,
        task: Option<&RemoteId>,
    ) -> Result<wire::TimeEntry, ProviderError> {
        let Some(task) = task else { return Ok(created) };
        let task_id = Self::require_int(task, Kind::Task)?;
        if created.task_id == Some(task_id) || created.project_id.is_none() {
            return Ok(created);
        }
        let body = wire::EntryPatch {
            task_id: Some(task_id),
            ..Default::default()
        };
        self.patch_entry(created.id, &body, "PATCH /time-entries task_id")
            .await
            .map_err(|e| match e {
                ProviderError::Rejected { message } => ProviderError::rejected(format!(
                    "time entry {} was created but its task could not be set: {message}",
                    created.id
                )),
                other => other,
            })
    }

    /// The task step of a create, once the entry exists. A passing failure (after the
    /// transport's retries) is returned, so the engine reconciles with `find_created`, which
    /// runs this step again. A permanent refusal (the task is gone or belongs elsewhere) is
    /// logged and the entry is returned as the server holds it, without the task.
    pub(super) async fn complete_task(
        &self,
        created: wire::TimeEntry,
        task: Option<&RemoteId>,
    ) -> Result<wire::TimeEntry, ProviderError> {
        match self.set_entry_task(created.clone(), task).await {
            Ok(done) => Ok(done),
            Err(e) if e.is_retryable() => Err(e),
            Err(e) => {
                tracing::warn!(
                    entry = created.id,
                    error = %e,
                    "TimeTracker entry created without its task: the server refused the task"
                );
                Ok(created)
            }
        }
    }

    pub(super) async fn create_entry(
        &self,
        e: &TimeEntry<RemoteId>,
        key: &str,
        session: &Session,
    ) -> Result<RemoteRecord, ProviderError> {
        let person = Self::require_int(&e.person, Kind::Person)?;
        let user_id = (person != session.me).then_some(person);
        let body =
            mapping::entry_create(e, &session.zone, user_id).map_err(ProviderError::rejected)?;
        let header = idempotency_header(key);
        // The server stores the 201 per token and replays it for the same key: safe to repeat.
        let created: wire::TimeEntry = self
            .write(
                "POST /time-entries",
                Method::POST,
                "/time-entries",
                "time_entry",
                &body,
                Some(&header),
                Repeat::Safe,
            )
            .await?;
        let done = self.complete_task(created, e.task.as_ref()).await?;
        mapping::entry(&done, &session.zone).map_err(|r| {
            ProviderError::malformed(format!(
                "created time entry {} reads back invalid: {r}",
                done.id
            ))
        })
    }

    pub(super) async fn update_entry(
        &self,
        target: &UpdateTarget,
        e: &TimeEntry<RemoteId>,
        session: &Session,
    ) -> Result<RemoteRecord, ProviderError> {
        let id = Self::require_int(&target.id, Kind::TimeEntry)?;
        let body = mapping::entry_patch(e, &session.zone, target.version.as_deref())
            .map_err(ProviderError::rejected)?;
        if let Some(version) = target.version.as_deref() {
            self.confirm_unchanged(id, version).await?;
        }
        let mut updated = self.patch_entry(id, &body, "PATCH /time-entries").await?;
        if e.task.is_none() && updated.task_id.is_some() {
            updated = self.clear_entry_task(updated).await?;
        }
        mapping::entry(&updated, &session.zone).map_err(|r| {
            ProviderError::malformed(format!("updated time entry {id} reads back invalid: {r}"))
        })
    }

    /// `task_id: null` is a no-op on the server; the only way to drop a task is to book the
    /// entry on the project's client (which clears project and task) and back on the project.
    pub(super) async fn clear_entry_task(
        &self,
        e: wire::TimeEntry,
    ) -> Result<wire::TimeEntry, ProviderError> {
        let Some(project_id) = e.project_id else {
            return Ok(e);
        };
        #[derive(serde::Deserialize)]
        struct One {
            project: wire::Project,
        }
        let p: One = self
            .get_json(
                "GET /projects/{id}",
                &format!("/projects/{project_id}"),
                &[],
            )
            .await?;
        let Some(client_id) = p.project.client_id else {
            return Ok(e);
        };
        let to_client = wire::EntryPatch {
            client_id: Some(client_id),
            ..Default::default()
        };
        self.patch_entry(e.id, &to_client, "PATCH /time-entries (clear task 1/2)")
            .await?;
        let back = wire::EntryPatch {
            project_id: Some(project_id),
            ..Default::default()
        };
        self.patch_entry(e.id, &back, "PATCH /time-entries (clear task 2/2)")
            .await
    }

    pub(super) async fn get_project(&self, id: i64) -> Result<wire::Project, ProviderError> {
        #[derive(serde::Deserialize)]
        struct One {
            project: wire::Project,
        }
        let p: One = self
            .get_json("GET /projects/{id}", &format!("/projects/{id}"), &[])
            .await?;
        Ok(p.project)
    }

    /// Brings a project's archived state to `archived` (DELETE archives; PUT status revives).
    pub(super) async fn settle_project_status(
        &self,
        p: wire::Project,
        archived: bool,
    ) -> Result<wire::Project, ProviderError> {
        if mapping::project_archived(&p) == archived {
            return Ok(p);
        }
        if archived {
            self.delete_call("DELETE /projects/{id}", &format!("/projects/{}", p.id))
                .await?;
            self.get_project(p.id).await
        } else {
            let body = serde_json::json!({"status": "active"});
            self.write(
                "PUT /projects/{id} status",
                Method::PUT,
                &format!("/projects/{}", p.id),
                "project",
                &body,
                None,
                Repeat::Safe,
            )
            .await
        }
    }

    pub(super) async fn settle_task_status(
        &self,
        t: wire::Task,
        archived: bool,
    ) -> Result<wire::Task, ProviderError> {
        if mapping::task_status_archived(t.status.as_deref()) == archived {
            return Ok(t);
        }
        let body = wire::TaskPatch {
            name: None,
            status: Some(if archived { "done" } else { "todo" }),
        };
        self.write(
            "PATCH /tasks/{id} status",
            Method::PATCH,
            &format!("/tasks/{}", t.id),
            "task",
            &body,
            None,
            Repeat::Safe,
        )
        .await
    }

    pub(super) async fn create_record(
        &self,
        record: &Record<RemoteId>,
        idempotency_key: &str,
    ) -> Result<RemoteRecord, ProviderError> {
        self.check_writable(WriteOp::Create, record)?;
        let session = self.session().await?;
        let key = idempotency_header(idempotency_key);
        match record {
            Record::TimeEntry(e) => {
                self.check_person(e, &session)?;
                self.create_entry(e, idempotency_key, &session).await
            }
            Record::Client(c) => {
                let body = wire::ClientCreate {
                    name: c.name.trim().to_owned(),
                    email: c.email.clone(),
                };
                let created: wire::Client = self
                    .write(
                        "POST /clients",
                        Method::POST,
                        "/clients",
                        "client",
                        &body,
                        Some(&key),
                        Repeat::OnlyIfNotReceived,
                    )
                    .await?;
                Ok(mapping::client(&created))
            }
            Record::Project(p) => {
                let client = p.client.as_ref().ok_or_else(|| {
                    ProviderError::unsupported("a TimeTracker project without a client")
                })?;
                let body = wire::ProjectCreate {
                    name: p.name.trim().to_owned(),
                    client_id: Self::require_int(client, Kind::Client)?,
                    billable: p.billable,
                    hourly_rate: mapping::cents_to_rate(p.hourly_rate_cents),
                };
                let created: wire::Project = self
                    .write(
                        "POST /projects",
                        Method::POST,
                        "/projects",
                        "project",
                        &body,
                        Some(&key),
                        Repeat::OnlyIfNotReceived,
                    )
                    .await?;
                let settled = self.settle_project_status(created, p.archived).await?;
                mapping::project(&settled).map_err(ProviderError::malformed)
            }
            Record::Task(t) => {
                let body = wire::TaskCreate {
                    name: t.name.trim().to_owned(),
                    project_id: Self::require_int(&t.project, Kind::Project)?,
                };
                let created: wire::Task = self
                    .write(
                        "POST /tasks",
                        Method::POST,
                        "/tasks",
                        "task",
                        &body,
                        Some(&key),
                        Repeat::OnlyIfNotReceived,
                    )
                    .await?;
                let settled = self.settle_task_status(created, t.archived).await?;
                Ok(mapping::task(&settled, &session.zone))
            }
            Record::Person(_) => Err(ProviderError::unsupported("creating TimeTracker users")),
        }
    }

    pub(super) async fn update_record(
        &self,
        target: &UpdateTarget,
        record: &Record<RemoteId>,
    ) -> Result<RemoteRecord, ProviderError> {
        self.check_writable(WriteOp::Update, record)?;
        let session = self.session().await?;
        let n = Self::require_int(&target.id, record.kind())?;
        match record {
            Record::TimeEntry(e) => {
                self.check_person(e, &session)?;
                self.update_entry(target, e, &session).await
            }
            Record::Project(p) => {
                self.check_listed(Kind::Project, n, &session)?;
                let client = p.client.as_ref().ok_or_else(|| {
                    ProviderError::unsupported("a TimeTracker project without a client")
                })?;
                let body = wire::ProjectUpdate {
                    name: p.name.trim().to_owned(),
                    client_id: Self::require_int(client, Kind::Client)?,
                    hourly_rate: mapping::cents_to_rate(p.hourly_rate_cents),
                    status: None,
                };
                let updated: wire::Project = self
                    .write(
                        "PUT /projects/{id}",
                        Method::PUT,
                        &format!("/projects/{n}"),
                        "project",
                        &body,
                        None,
                        Repeat::Safe,
                    )
                    .await?;
                let settled = self.settle_project_status(updated, p.archived).await?;
                mapping::project(&settled).map_err(ProviderError::malformed)
            }
            Record::Task(t) => {
                let body = wire::TaskPatch {
                    name: Some(t.name.trim().to_owned()),
                    status: None,
                };
                let updated: wire::Task = self
                    .write(
                        "PATCH /tasks/{id}",
                        Method::PATCH,
                        &format!("/tasks/{n}"),
                        "task",
                        &body,
                        None,
                        Repeat::Safe,
                    )
                    .await?;
                let settled = self.settle_task_status(updated, t.archived).await?;
                Ok(mapping::task(&settled, &session.zone))
            }
            Record::Client(_) | Record::Person(_) => Err(ProviderError::unsupported(format!(
                "updating a TimeTracker {}",
                record.kind()
            ))),
        }
    }

    pub(super) async fn delete_record(
        &self,
        kind: Kind,
        id: &RemoteId,
    ) -> Result<(), ProviderError> {
        let n = Self::require_int(id, kind)?;
        let session = self.session().await?;
        match kind {
            Kind::TimeEntry => {
                self.delete_call("DELETE /time-entries/{id}", &format!("/time-entries/{n}"))
                    .await
            }
            Kind::Task => {
                self.delete_call("DELETE /tasks/{id}", &format!("/tasks/{n}"))
                    .await
            }
            Kind::Project => {
                self.check_listed(Kind::Project, n, &session)?;
                self.delete_call("DELETE /projects/{id}", &format!("/projects/{n}"))
                    .await
            }
            Kind::Client => Err(ProviderError::unsupported(
                "deleting a TimeTracker client (API v1 has no DELETE /clients/{id}: 405)",
            )),
            Kind::Person => Err(ProviderError::unsupported("deleting TimeTracker users")),
        }
    }
}
