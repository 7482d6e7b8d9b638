//! Reading one record by id, and finding a create whose answer was lost (by natural key, never
//! by replaying the `Idempotency-Key`, which would create when the first request never landed).

use std::collections::BTreeSet;

use chrono::Duration;
use serde_json::Value;
use timeweave_contract::natural_key::same_natural_key;
use timeweave_contract::{
    Kind, PageItem, ProviderError, Record, RemoteId, RemoteRecord, TimeEntry, Window,
};

use super::{Session, TimeTrackerAdapter};
use crate::mapping::{self, int_id, typed};
use crate::wire;

impl TimeTrackerAdapter {
    pub(super) async fn find_entry(
        &self,
        e: &TimeEntry<RemoteId>,
        session: &Session,
    ) -> Result<Option<wire::TimeEntry>, ProviderError> {
        let window = Window::new(
            e.started_at - Duration::seconds(60),
            e.started_at + Duration::seconds(61),
        );
        let person = Self::require_int(&e.person, Kind::Person)?;
        let user = session.admin.then_some(person);
        let want_project = e.project.as_ref().and_then(int_id);
        let want_client = if want_project.is_some() {
            None
        } else {
            e.client.as_ref().and_then(int_id)
        };
        let mut page = 1;
        let mut seen = BTreeSet::new();
        loop {
            let (list, ids) = self
                .list_entries(Some(window), user, page, &seen, session)
                .await?;
            for item in &list.items {
                let PageItem::Record(r) = item else { continue };
                let Record::TimeEntry(found) = &r.record else {
                    continue;
                };
                let close = |a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>| {
                    (a - b).num_seconds().abs() <= 1
                };
                let same_end = match (found.ended_at, e.ended_at) {
                    (Some(a), Some(b)) => close(a, b),
                    (None, None) => true,
                    _ => false,
                };
                if found.person == e.person
                    && close(found.started_at, e.started_at)
                    && same_end
                    && found.project.as_ref().and_then(int_id) == want_project
                    && found.client.as_ref().and_then(int_id) == want_client
                {
                    let id = Self::require_int(&r.id, Kind::TimeEntry)?;
                    let raw: Value = self
                        .get_json(
                            "GET /time-entries/{id}",
                            &format!("/time-entries/{id}"),
                            &[],
                        )
                        .await?;
                    let one = raw.get("time_entry").ok_or_else(|| {
                        ProviderError::malformed("no `time_entry` in the response")
                    })?;
                    return typed::<wire::TimeEntry>(one)
                        .map(Some)
                        .map_err(ProviderError::malformed);
                }
            }
            match list.next {
                Some(_) => {
                    page += 1;
                    seen = ids.into_iter().collect();
                }
                None => return Ok(None),
            }
        }
    }

    pub(super) async fn get_record(
        &self,
        kind: Kind,
        id: &RemoteId,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        let session = self.session().await?;
        let n = Self::require_int(id, kind)?;
        let gone = |r: Result<Option<RemoteRecord>, ProviderError>| match r {
            Err(ProviderError::NotFound { .. }) => Ok(None),
            other => other,
        };
        match kind {
            Kind::TimeEntry => gone(
                async {
                    let raw: Value = self
                        .get_json("GET /time-entries/{id}", &format!("/time-entries/{n}"), &[])
                        .await?;
                    let one = raw.get("time_entry").ok_or_else(|| {
                        ProviderError::malformed("no `time_entry` in the response")
                    })?;
                    let e = typed::<wire::TimeEntry>(one).map_err(ProviderError::malformed)?;
                    mapping::entry(&e, &session.zone).map(Some).map_err(|r| {
                        ProviderError::malformed(format!("time entry {n} is invalid: {r}"))
                    })
                }
                .await,
            ),
            Kind::Project => match self.get_project(n).await {
                Err(ProviderError::Forbidden { message }) if !session.admin => {
                    self.unlisted_project(n, message, &session).await
                }
                other => gone(other.and_then(|p| {
                    mapping::project(&p)
                        .map(Some)
                        .map_err(ProviderError::malformed)
                })),
            },
            Kind::Task => gone(
                async {
                    #[derive(serde::Deserialize)]
                    struct One {
                        task: wire::Task,
                    }
                    let t: One = self
                        .get_json("GET /tasks/{id}", &format!("/tasks/{n}"), &[])
                        .await?;
                    Ok(Some(mapping::task(&t.task, &session.zone)))
                }
                .await,
            ),
            // GET /clients/{id} is a 500 in v5.10.0 (spec §5): read the list instead.
            Kind::Client => {
                let listed = self.all_of(Kind::Client).await?;
                match listed.into_iter().find(|r| &r.id == id) {
                    Some(r) => Ok(Some(r)),
                    None if session.admin => Ok(None),
                    // Not listed to this token: absent or merely hidden from it.
                    None => self
                        .references
                        .derived(Kind::Client, n)
                        .map(Some)
                        .ok_or_else(|| ProviderError::Forbidden {
                            message: format!(
                                "this TimeTracker token (not an admin) does not see client {n}"
                            ),
                        }),
                }
            }
            Kind::Person => {
                let listable = self.users_listable.lock().ok().and_then(|g| *g);
                if n == session.me || listable != Some(false) {
                    let all = self.all_of(Kind::Person).await?;
                    let listable_now = self.users_listable.lock().ok().and_then(|g| *g);
                    if listable_now == Some(true) || all.iter().any(|r| &r.id == id) {
                        return Ok(all.into_iter().find(|r| &r.id == id));
                    }
                }
                Err(ProviderError::Forbidden {
                    message: format!(
                        "this TimeTracker token cannot see user {n} (listing users needs the \
                         admin:all scope)"
                    ),
                })
            }
        }
    }

    pub(super) async fn find_created_record(
        &self,
        record: &Record<RemoteId>,
        _idempotency_key: &str,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        // The Idempotency-Key store replays blindly and would *create* when the first request
        // never landed, so the lookup goes by natural key instead.
        let session = self.session().await?;
        match record {
            Record::TimeEntry(e) => match self.find_entry(e, &session).await? {
                None => Ok(None),
                Some(found) => {
                    // Finish a create interrupted between its POST and its task PATCH.
                    let done = self.complete_task(found, e.task.as_ref()).await?;
                    mapping::entry(&done, &session.zone)
                        .map(Some)
                        .map_err(ProviderError::malformed)
                }
            },
            Record::Client(_) | Record::Project(_) | Record::Task(_) => Ok(self
                .all_of(record.kind())
                .await?
                .into_iter()
                .find(|r| same_natural_key(&r.record, record))),
            Record::Person(_) => Ok(None),
        }
    }
}
