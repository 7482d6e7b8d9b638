//! The TimeTrack v2 adapter: the `Provider` implementation, its capabilities and write
//! checks, and the HTTP calls (both auth headers on every request, GET lists paged with
//! `page_number`/`limit=1000`), all sent through the shared `Transport`. Listing and name
//! resolution live in `listing.rs` and `refs.rs`, writes in `writes.rs`.

mod listing;
mod refs;
mod writes;

use std::sync::Mutex;

use async_trait::async_trait;
use reqwest::header::ACCEPT;
use reqwest::Method;
use serde_json::Value;
use timeweave_contract::{
    Capabilities, EntryKind, Field, Kind, KindSupport, ListScope, Observation, Page, PageToken,
    Provider, ProviderError, ProviderInfo, Record, RemoteId, RemoteRecord, UpdateTarget, WriteOp,
};
use timeweave_http::{Repeat, Transport};
use url::Url;

use crate::directory::Directory;
use crate::errors::{self, Fetched};
use crate::paging::{Cursor, PAGE_LIMIT};
use crate::{Settings, Timestamps, KIND};

/// The TimeTrack v2 adapter for one account. Cheap to share (`&self` everywhere).
pub struct TimeTrackAdapter {
    settings: Settings,
    /// The base URL with a trailing slash, so resource paths join below it.
    base: Url,
    transport: Transport,
    dir: Mutex<Directory>,
    /// The shapes of the last create and update answers, for `doctor`.
    answers: Mutex<crate::observe::WriteAnswers>,
}

impl std::fmt::Debug for TimeTrackAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeTrackAdapter")
            .field("base", &self.base.as_str())
            .field("attendances", &self.settings.attendances)
            .field("timestamps", &self.settings.timestamps)
            .finish()
    }
}

/// Checks the configured base URL: absolute http(s), HTTPS unless it points at loopback.
pub fn parse_base_url(raw: &str) -> Result<Url, ProviderError> {
    let setup = |m: String| ProviderError::Setup { message: m };
    let trimmed = raw.trim();
    let mut url = Url::parse(trimmed).map_err(|e| {
        setup(format!(
            "timetrack base_url `{trimmed}` is not a URL ({e}); expected e.g. \
             https://acme.timetrackenterprise.com/api/v2/ext"
        ))
    })?;
    timeweave_http::check_scheme(&url)
        .map_err(|m| setup(format!("timetrack base_url `{trimmed}` {m}")))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(setup(format!(
            "timetrack base_url `{trimmed}` must not carry a query or fragment"
        )));
    }
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

impl TimeTrackAdapter {
    /// `acme` of acme.timetrackenterprise.com; the whole host otherwise (on-premise, IPs).
    fn subdomain(&self) -> Option<String> {
        match self.base.host() {
            Some(url::Host::Domain(d)) if d.ends_with(".timetrackenterprise.com") => {
                d.split('.').next().map(str::to_owned)
            }
            Some(h) => Some(h.to_string()),
            None => None,
        }
    }

    /// Builds the adapter (no I/O). Fails with `Setup` on a bad base URL or empty credentials.
    pub fn new(settings: Settings, transport: Transport) -> Result<Self, ProviderError> {
        let base = parse_base_url(&settings.base_url)?;
        if settings.api_key.is_empty() || settings.api_secret.is_empty() {
            return Err(ProviderError::Setup {
                message: "timetrack needs both api_key and api_secret (Settings → General → API \
                          in the TimeTrack web app)"
                    .into(),
            });
        }
        Ok(TimeTrackAdapter {
            settings,
            base,
            transport,
            dir: Mutex::new(Directory::default()),
            answers: Mutex::new(Default::default()),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// How this account's timestamps are read and written.
    fn clock(&self) -> &Timestamps {
        &self.settings.timestamps
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Keeps the shape of a write's answer (`create`: true for a create) for `doctor`.
    fn note_answer(&self, create: bool, body: &[u8]) {
        let shape = Some(crate::observe::answer_shape(body));
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        match create {
            true => answers.create = shape,
            false => answers.update = shape,
        }
    }

    fn directory(&self) -> std::sync::MutexGuard<'_, Directory> {
        // A poisoned lock only means another task panicked mid-update of a cache.
        self.dir.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn endpoint(&self, path: &str) -> Result<Url, ProviderError> {
        self.base.join(path).map_err(|e| ProviderError::Setup {
            message: format!("cannot build a URL for `{path}` below the base URL: {e}"),
        })
    }

    fn request(&self, c: &reqwest::Client, method: Method, url: &Url) -> reqwest::RequestBuilder {
        c.request(method, url.clone())
            .header("X-TimeTrack-Api-Key", self.settings.api_key.expose())
            .header("X-TimeTrack-Api-Secret", self.settings.api_secret.expose())
            .header(ACCEPT, "application/json")
    }

    /// One page of a list: GET `resource` with the filters, `limit=1000` and `page_number`;
    /// a page repeating the previous one is an error (see `paging`).
    async fn list_raw(
        &self,
        resource: &str,
        filters: &[(&str, String)],
        cursor: Cursor,
    ) -> Result<Vec<Value>, ProviderError> {
        let page = cursor.page;
        let mut url = self.endpoint(resource)?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in filters {
                q.append_pair(k, v);
            }
            q.append_pair("limit", &PAGE_LIMIT.to_string());
            q.append_pair("page_number", &page.to_string());
        }
        let what = format!("GET /{resource} page {page}");
        let values = self
            .transport
            .execute(
                &what,
                Repeat::Safe,
                |c| self.request(c, Method::GET, &url),
                |raw| errors::list_body(raw, &what),
            )
            .await?;
        cursor.check(&values, &what)?;
        Ok(values)
    }

    /// Every page of a filtered list (for small look-ups by name).
    async fn list_every_page(
        &self,
        resource: &str,
        filters: &[(&str, String)],
    ) -> Result<Vec<Value>, ProviderError> {
        let mut out = Vec::new();
        let mut cursor = Some(Cursor::default());
        while let Some(c) = cursor {
            let values = self.list_raw(resource, filters, c).await?;
            cursor = c.after(&values);
            out.extend(values);
        }
        Ok(out)
    }

    /// GET `resource/id`.
    async fn fetch(&self, resource: &str, id: i64) -> Result<Fetched, ProviderError> {
        let url = self.endpoint(&format!("{resource}/{id}"))?;
        let what = format!("GET /{resource}/{id}");
        self.transport
            .execute(
                &what,
                Repeat::Safe,
                |c| self.request(c, Method::GET, &url),
                |raw| errors::fetched_body(raw, &what),
            )
            .await
    }

    /// POST or PUT a JSON body; returns the (possibly empty) success body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        repeat: Repeat,
    ) -> Result<Vec<u8>, ProviderError> {
        let url = self.endpoint(path)?;
        let what = format!("{method} /{path}");
        self.transport
            .execute(
                &what,
                repeat,
                |c| self.request(c, method.clone(), &url).json(body),
                |raw| errors::write_body(raw, &what),
            )
            .await
    }

    /// DELETE `resource/id`; a record already gone is `NotFound`.
    async fn remove(&self, resource: &str, id: i64) -> Result<(), ProviderError> {
        let url = self.endpoint(&format!("{resource}/{id}"))?;
        let what = format!("DELETE /{resource}/{id}");
        self.transport
            .execute(
                &what,
                // Deleting twice cannot do harm: the second one is a 404.
                Repeat::Safe,
                |c| self.request(c, Method::DELETE, &url),
                |raw| errors::write_body(raw, &what).map(|_| ()),
            )
            .await
    }
}

fn unsupported_op(op: WriteOp, kind: Kind, why: &str) -> ProviderError {
    let verb = op.as_str();
    ProviderError::unsupported(format!("timetrack cannot {verb} a {kind}: {why}"))
}

#[async_trait]
impl Provider for TimeTrackAdapter {
    fn kind_name(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // Users are read only: they map people by username and e-mail.
            person: KindSupport::READ_ONLY,
            // Clients: name and enabled cannot change (checked in `update`).
            client: KindSupport::FULL,
            project: KindSupport::FULL,
            // Tasks are global and keyed by an immutable name: they are created (or reused)
            // by name and arrive as derived records of entry listings; see README.
            task: KindSupport {
                list: false,
                create: true,
                update: false,
                delete: false,
                delete_archives: false,
            },
            time_entry: KindSupport::FULL,
            change_feed: false,
            entry_page_size: PAGE_LIMIT as u32,
            idempotent_create: false,
            // Projects have no billable flag (they read as billable); tasks have no status
            // (they read as active).
            unheld: vec![Field::ProjectBillable, Field::TaskArchived],
            read_only: Vec::new(),
        }
    }

    async fn connect(&self) -> Result<ProviderInfo, ProviderError> {
        // The cheapest authenticated call that also proves the users list (needed to map
        // people) is readable with these credentials.
        let mut url = self.endpoint("users")?;
        url.query_pairs_mut()
            .append_pair("limit", "1")
            .append_pair("page_number", "0");
        let what = "GET /users (connect)";
        self.transport
            .execute(
                what,
                Repeat::Safe,
                |c| self.request(c, Method::GET, &url),
                |raw| errors::list_body(raw, what),
            )
            .await?;
        Ok(ProviderInfo {
            server: "TimeTrack API v2 (ext)".into(),
            timezone: None,
            account: self.subdomain(),
        })
    }

    /// The newest entry's `from` under both readings (K1), the project name key (K2), and
    /// what the writes made so far were answered with.
    async fn observations(&self) -> Result<Vec<Observation>, ProviderError> {
        let raw = self.newest_from_raw().await?;
        let projects = self.first_projects_raw().await?;
        let answers = self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut seen = vec![
            crate::observe::newest_from(raw.as_deref(), self.clock()),
            crate::observe::project_name_key(&projects),
        ];
        seen.extend(answers.observations());
        Ok(seen)
    }

    /// The subdomain (or on-premise host) and the API key, which belongs to one user;
    /// TimeTrack has no "who am I" call. The key is named by its fingerprint only.
    async fn account_identity(&self) -> Result<String, ProviderError> {
        Ok(format!(
            "TimeTrack {} (API key {})",
            self.subdomain().unwrap_or_else(|| self.base.to_string()),
            self.settings.api_key.fingerprint()
        ))
    }

    async fn list_page(
        &self,
        kind: Kind,
        scope: ListScope,
        token: Option<PageToken>,
    ) -> Result<Page, ProviderError> {
        self.list_kind(kind, scope, token).await
    }

    async fn get(&self, kind: Kind, id: &RemoteId) -> Result<Option<RemoteRecord>, ProviderError> {
        self.get_record(kind, id).await
    }

    async fn create(
        &self,
        record: &Record<RemoteId>,
        _idempotency_key: &str,
    ) -> Result<RemoteRecord, ProviderError> {
        self.check_writable(WriteOp::Create, record)?;
        self.create_record(record).await
    }

    async fn update(
        &self,
        target: &UpdateTarget,
        record: &Record<RemoteId>,
    ) -> Result<RemoteRecord, ProviderError> {
        self.check_writable(WriteOp::Update, record)?;
        self.update_record(&target.id, record).await
    }

    async fn delete(&self, kind: Kind, id: &RemoteId) -> Result<(), ProviderError> {
        if !self.capabilities().support(kind).delete {
            return Err(unsupported_op(
                WriteOp::Delete,
                kind,
                match kind {
                    Kind::Person => "users are read-only for timeweave",
                    _ => "a task is one global record other projects may use",
                },
            ));
        }
        self.delete_record(kind, id).await
    }

    async fn find_created(
        &self,
        record: &Record<RemoteId>,
        _idempotency_key: &str,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        self.find_by_natural_key(record).await
    }

    fn check_writable(&self, op: WriteOp, record: &Record<RemoteId>) -> Result<(), ProviderError> {
        let kind = record.kind();
        if !self.capabilities().support(kind).allows(op) {
            let why = match (kind, op) {
                (Kind::Person, _) => "users are read-only for timeweave",
                (Kind::Task, WriteOp::Update) => "task names cannot change through the API",
                _ => "a task is one global record other projects may use",
            };
            return Err(unsupported_op(op, kind, why));
        }
        if op == WriteOp::Delete {
            return Ok(());
        }
        match record {
            Record::Project(p) if p.client.is_none() => Err(unsupported_op(
                op,
                kind,
                "TimeTrack projects need a client (clientName is required)",
            )),
            Record::TimeEntry(e) => match e.kind {
                EntryKind::Work if e.project.is_none() && e.client.is_some() => Err(unsupported_op(
                    op,
                    kind,
                    "client-only bookings have no place in TimeTrack (project time entries need a project)",
                )),
                EntryKind::Work if e.project.is_none() => Err(unsupported_op(
                    op,
                    kind,
                    "TimeTrack project time entries need a project",
                )),
                EntryKind::Attendance if !self.settings.attendances => Err(unsupported_op(
                    op,
                    kind,
                    "attendances are turned off in this provider's config (attendances = false)",
                )),
                EntryKind::Attendance if e.project.is_some() || e.task.is_some() || e.client.is_some() => {
                    Err(unsupported_op(
                        op,
                        kind,
                        "TimeTrack attendances carry no client, project or task",
                    ))
                }
                _ if e.ended_at.is_none() => Err(unsupported_op(
                    op,
                    kind,
                    "a running entry has no end time; TimeTrack entries need `to`",
                )),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_forms() {
        let u = parse_base_url("https://acme.timetrackenterprise.com/api/v2/ext").unwrap();
        assert_eq!(
            u.as_str(),
            "https://acme.timetrackenterprise.com/api/v2/ext/"
        );
        let u = parse_base_url("https://acme.timetrackenterprise.com/api/v2/ext/").unwrap();
        assert_eq!(u.join("clients").unwrap().path(), "/api/v2/ext/clients");
        assert!(parse_base_url("http://127.0.0.1:8080/api/v2/ext").is_ok());
        let e = parse_base_url("http://acme.timetrackenterprise.com/api/v2/ext").unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
        assert!(parse_base_url("acme.timetrackenterprise.com").is_err());
    }
}
