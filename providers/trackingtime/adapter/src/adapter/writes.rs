//! Reading one record, creates tagged with their external id and searched for before being
//! sent again, updates, archive-as-delete, and the lookup that finds a create whose answer was
//! lost.

use chrono::Duration;
use reqwest::Method;
use serde_json::Value;
use timeweave_contract::natural_key::same_natural_key;
use timeweave_contract::{
    Kind, ListScope, PageItem, Provider, ProviderError, Record, RemoteId, RemoteRecord, TimeEntry,
    UpdateTarget, WriteOp,
};
use timeweave_http::Repeat;

use super::listing::{custom_field_rows, people_unsupported};
use super::requests::{short, Call};
use super::TrackingTimeAdapter;
use crate::errors::{self, Body};
use crate::mapping::{self, Ctx};
use crate::paging::Phase;
use crate::wire;

/// How often a create whose outcome was unknown is looked up and sent again.
const CREATE_ATTEMPTS: u32 = 3;

/// The link an update meant to clear that the record still holds: an event's project
/// or task, a project's customer.
pub(super) fn uncleared_link(
    sent: &Record<RemoteId>,
    kept: &Record<RemoteId>,
) -> Option<&'static str> {
    match (sent, kept) {
        (Record::TimeEntry(s), Record::TimeEntry(k))
            if s.project.is_none() && k.project.is_some() =>
        {
            Some("project")
        }
        (Record::TimeEntry(s), Record::TimeEntry(k)) if s.task.is_none() && k.task.is_some() => {
            Some("task")
        }
        (Record::Project(s), Record::Project(k)) if s.client.is_none() && k.client.is_some() => {
            Some("customer")
        }
        _ => None,
    }
}

/// The same work as `entry`: the same person, start and end, and the same project when
/// the entry names one (the server may fill one in from the task).
pub(super) fn same_work(found: &RemoteRecord, entry: &TimeEntry<RemoteId>) -> bool {
    match &found.record {
        Record::TimeEntry(e) => {
            e.person == entry.person
                && e.started_at == entry.started_at
                && e.ended_at == entry.ended_at
                && (entry.project.is_none() || e.project == entry.project)
        }
        _ => false,
    }
}

impl TrackingTimeAdapter {
    pub(super) fn path_of(kind: Kind) -> &'static str {
        match kind {
            Kind::Person => "users",
            Kind::Client => "customers",
            Kind::Project => "projects",
            Kind::Task => "tasks",
            Kind::TimeEntry => "events",
        }
    }

    pub(super) fn one(
        &self,
        kind: Kind,
        v: &Value,
        ctx: &Ctx,
        what: &str,
    ) -> Result<RemoteRecord, ProviderError> {
        match mapping::item(kind, v, ctx) {
            PageItem::Record(r) => Ok(r),
            PageItem::Invalid(bad) => Err(ProviderError::rejected(format!(
                "{what}: TrackingTime holds a {kind} timeweave cannot read: {}",
                bad.reason
            ))),
        }
    }

    /// The record in a write's answer, or (when the answer has none) a fresh read.
    pub(super) async fn record_from(
        &self,
        kind: Kind,
        id: i64,
        body: &Body,
        what: &str,
    ) -> Result<RemoteRecord, ProviderError> {
        let data = body.data();
        if data.is_object() && wire::id_of(data) == Some(id) {
            let ctx = self.ctx().await?;
            return self.one(kind, data, &ctx, what);
        }
        self.get(kind, &RemoteId::from(id)).await?.ok_or_else(|| {
            ProviderError::not_found(format!("{kind} {id} vanished right after {what}"))
        })
    }

    pub(super) fn id_in(body: &Body, what: &str) -> Result<i64, ProviderError> {
        wire::id_of(body.data()).ok_or_else(|| {
            ProviderError::malformed(format!(
                "{what}: the answer names no id: {}",
                short(body.data())
            ))
        })
    }

    /// Archives (`close`) or reopens (`open`) a customer, project or task. PUT: customers
    /// answer POST with an HTML page (spec §3).
    pub(super) async fn set_archived(
        &self,
        kind: Kind,
        id: i64,
        archived: bool,
    ) -> Result<(), ProviderError> {
        let verb = if archived { "close" } else { "open" };
        let path = format!("{}/{verb}/{id}", Self::path_of(kind));
        let what = format!("PUT {path}");
        self.send_ok(&what, Repeat::Safe, &Call::with(Method::PUT, path, None))
            .await
            .map(|_| ())
    }

    pub(super) async fn create_once(
        &self,
        record: &Record<RemoteId>,
        key: &str,
    ) -> Result<RemoteRecord, ProviderError> {
        let (kind, path, body, archived) = match record {
            Record::TimeEntry(e) => (
                Kind::TimeEntry,
                "events/add",
                mapping::event_body(e, Some(key))?,
                false,
            ),
            Record::Client(c) => (
                Kind::Client,
                "customers/add",
                mapping::customer_body(c),
                c.archived,
            ),
            Record::Project(p) => (
                Kind::Project,
                "projects/add",
                mapping::project_body(p)?,
                p.archived,
            ),
            Record::Task(t) => (
                Kind::Task,
                "tasks/add",
                mapping::task_body(t, true)?,
                t.archived,
            ),
            Record::Person(_) => return Err(people_unsupported()),
        };
        let what = format!("POST {path}");
        let call = Call::with(Method::POST, path, Some(body));
        let answer = self
            .send_ok(&what, Repeat::OnlyIfNotReceived, &call)
            .await?;
        let id = Self::id_in(&answer, &what)?;
        if archived {
            self.set_archived(kind, id, true).await?;
            return self.get(kind, &RemoteId::from(id)).await?.ok_or_else(|| {
                ProviderError::not_found(format!("{kind} {id} vanished right after {what}"))
            });
        }
        self.record_from(kind, id, &answer, &what).await
    }

    /// Looks for an event by its `EVENT_THIRD_PARTY_ID` (spec §8.2). `Ok(None)` when the
    /// search answered and found nothing; `Err` when the search itself is unavailable.
    pub(super) async fn search_external_id(
        &self,
        key: &str,
        entry: &TimeEntry<RemoteId>,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        let call = super::listing::search_call(key, Some(mapping::SERVICE_NAME));
        let what = "GET search/events?type=ByExternalID";
        let body = match self.send(what, Repeat::Safe, &call, &[404]).await? {
            Ok(b) => b,
            Err(_) => return Ok(None),
        };
        let ctx = self.ctx().await?;
        let data = body.data();
        let items: Vec<&Value> = match data {
            Value::Array(items) => items.iter().collect(),
            Value::Object(m) if m.contains_key("id") => vec![data],
            _ => Vec::new(),
        };
        // The search's parameter names are not published (spec §8.2): a server reading
        // other names may answer unrelated events. A hit counts only when its custom fields
        // carry this key or, where none come back for it, when it is the same work.
        let fields = custom_field_rows(&body);
        let mut found: Vec<(i64, RemoteRecord)> = items
            .into_iter()
            .filter_map(|v| match mapping::event(v, &ctx) {
                PageItem::Record(r) => Some(r),
                PageItem::Invalid(_) => None,
            })
            .filter_map(|r| {
                let n = mapping::parse_id(&r.id, "time_entry").ok()?;
                let same = match fields.get(&n) {
                    Some(rows) => rows
                        .iter()
                        .any(|(slug, value)| slug == mapping::THIRD_PARTY_ID && value == key),
                    None => same_work(&r, entry),
                };
                same.then_some((n, r))
            })
            .collect();
        found.sort_by_key(|(n, _)| *n);
        if found.len() > 1 {
            tracing::warn!(
                key,
                count = found.len(),
                "several TrackingTime events carry the same external id; using the oldest"
            );
        }
        Ok(found.into_iter().next().map(|(_, r)| r))
    }

    /// The natural-key fallback when search by external id is unavailable: the same user,
    /// start and end, on the entry's day.
    pub(super) async fn find_event_by_content(
        &self,
        entry: &TimeEntry<RemoteId>,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        let user = mapping::parse_id(&entry.person, "person")?;
        let ctx = self.ctx().await?;
        let from = (entry.started_at - Duration::days(1)).date_naive();
        let to = (entry.started_at + Duration::days(1)).date_naive();
        for page in 0..self.max_pages {
            let (raw, _) = self
                .fetch_events(Phase::Start, page, from, to, Some(user))
                .await?;
            for v in &raw {
                if let PageItem::Record(r) = mapping::event(v, &ctx) {
                    if same_work(&r, entry) {
                        return Ok(Some(r));
                    }
                }
            }
            if raw.len() < self.events_page_size as usize {
                break;
            }
        }
        Ok(None)
    }

    pub(super) async fn get_record(
        &self,
        kind: Kind,
        id: &RemoteId,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        let n = mapping::parse_id(id, kind.as_str())?;
        let path = format!("{}/{n}", Self::path_of(kind));
        let what = format!("GET {path}");
        // A deleted event answers an error envelope, 404 or 500 (spec §8.2, §12.12). 500 is
        // also TrackingTime's generic error, so a 500 is believed only when asking again
        // gives it again: "gone" makes the engine delete the record everywhere.
        let gone: &[i64] = if kind == Kind::TimeEntry {
            &[404, 500]
        } else {
            &[404]
        };
        let mut answer = self
            .send(&what, Repeat::Safe, &Call::get(path.clone()), gone)
            .await?;
        if matches!(&answer, Err(e) if e.status == 500) {
            answer = self
                .send(&what, Repeat::Safe, &Call::get(path), gone)
                .await?;
        }
        let body = match answer {
            Ok(b) => b,
            Err(_) => return Ok(None),
        };
        let data = body.data();
        if data.as_object().is_none_or(|m| m.is_empty()) {
            return Ok(None);
        }
        let ctx = self.ctx().await?;
        self.one(kind, data, &ctx, &what).map(Some)
    }

    pub(super) async fn create_record(
        &self,
        record: &Record<RemoteId>,
        idempotency_key: &str,
    ) -> Result<RemoteRecord, ProviderError> {
        self.check_writable(WriteOp::Create, record)?;
        let mut last = None;
        for attempt in 0..CREATE_ATTEMPTS {
            if attempt > 0 {
                // The previous attempt may have landed: look before sending again.
                if let Some(found) = self.find_created(record, idempotency_key).await? {
                    return Ok(found);
                }
            }
            match self.create_once(record, idempotency_key).await {
                Ok(r) => return Ok(r),
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, "TrackingTime create outcome unknown; looking it up");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ProviderError::retryable("create failed")))
    }

    pub(super) async fn update_record(
        &self,
        target: &UpdateTarget,
        record: &Record<RemoteId>,
    ) -> Result<RemoteRecord, ProviderError> {
        self.check_writable(WriteOp::Update, record)?;
        let kind = record.kind();
        let id = mapping::parse_id(&target.id, kind.as_str())?;
        let (body, archived) = match record {
            Record::TimeEntry(e) => (mapping::event_body(e, None)?, None),
            Record::Client(c) => (mapping::customer_body(c), Some(c.archived)),
            Record::Project(p) => (mapping::project_body(p)?, Some(p.archived)),
            Record::Task(t) => (mapping::task_body(t, false)?, Some(t.archived)),
            Record::Person(_) => return Err(people_unsupported()),
        };
        let path = format!("{}/update/{id}", Self::path_of(kind));
        let what = format!("POST {path}");
        let answer = self
            .send_ok(
                &what,
                Repeat::Safe,
                &Call::with(Method::POST, path, Some(body)),
            )
            .await?;
        let mut current = self.record_from(kind, id, &answer, &what).await?;
        if let Some(link) = uncleared_link(record, &current.record) {
            return Err(ProviderError::unsupported(format!(
                "taking TrackingTime {kind} {id} off its {link}: absent parameters are never \
                 sent as null or \"\" (T4) and no other way to clear it is known; the \
                 record's other changes were written; clear the {link} in TrackingTime"
            )));
        }
        if let Some(want) = archived {
            let is = match &current.record {
                Record::Client(c) => c.archived,
                Record::Project(p) => p.archived,
                Record::Task(t) => t.archived,
                _ => want,
            };
            if is != want {
                self.set_archived(kind, id, want).await?;
                current = self.get(kind, &target.id).await?.ok_or_else(|| {
                    ProviderError::not_found(format!("{kind} {id} vanished during the update"))
                })?;
            }
        }
        Ok(current)
    }

    pub(super) async fn delete_record(
        &self,
        kind: Kind,
        id: &RemoteId,
    ) -> Result<(), ProviderError> {
        if kind == Kind::Person {
            return Err(people_unsupported());
        }
        let n = mapping::parse_id(id, kind.as_str())?;
        let mut call = Call::with(
            Method::DELETE,
            format!("{}/delete/{n}", Self::path_of(kind)),
            None,
        );
        if matches!(kind, Kind::Task | Kind::Project) {
            // Without it TrackingTime deletes every event booked on the task (spec §8.4).
            call = call.q("delete_all", "false");
        }
        let what = format!("DELETE {}", call.path);
        match self.send(&what, Repeat::Safe, &call, &[500]).await? {
            Ok(_) => Ok(()),
            // A generic error may mean "already gone": confirm with a read.
            Err(e) => match self.get(kind, id).await? {
                None => Err(ProviderError::not_found(format!(
                    "{kind} {n} is already gone"
                ))),
                Some(_) => Err(errors::to_error(e, &what)),
            },
        }
    }

    pub(super) async fn find_created_record(
        &self,
        record: &Record<RemoteId>,
        idempotency_key: &str,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        match record {
            Record::TimeEntry(entry) => match self.search_external_id(idempotency_key, entry).await
            {
                Ok(found) => Ok(found),
                Err(e) if !e.is_fatal_for_cycle() && !e.is_retryable() => {
                    tracing::warn!(error = %e, "search by external id failed; matching by content");
                    self.find_event_by_content(entry).await
                }
                Err(e) => Err(e),
            },
            Record::Person(_) => Ok(None),
            other => {
                let kind = other.kind();
                let want = other.clone();
                let mut token = None;
                loop {
                    let page = self.list_page(kind, ListScope::All, token).await?;
                    for item in page.items {
                        if let PageItem::Record(r) = item {
                            if same_natural_key(&r.record, &want) {
                                return Ok(Some(r));
                            }
                        }
                    }
                    match page.next {
                        Some(t) => token = Some(t),
                        None => return Ok(None),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_keys() {
        use timeweave_contract::{Client, Task};
        let c = |n: &str| {
            Record::Client(Client {
                name: n.into(),
                email: None,
                notes: None,
                archived: false,
            })
        };
        assert!(same_natural_key(&c("Acme "), &c("acme")));
        assert!(!same_natural_key(&c("Acme"), &c("Acme Inc")));
        let t = |p: &str| {
            Record::Task(Task {
                project: RemoteId::from(p),
                name: "T".into(),
                archived: false,
            })
        };
        assert!(!same_natural_key(&t("1"), &t("2")));
        assert!(!same_natural_key(&t("1"), &c("T")));
    }
}
