//! The TimeTracker v1 adapter: start-up checks (`/info`, `/users/me`), paged listings of every
//! kind, writes with the server's workarounds (create without `task_id` then PATCH it,
//! `if_updated_at` echoed verbatim, `Idempotency-Key` on creates), and the lookup that finds a
//! create whose answer was lost. All HTTP goes through the shared `Transport`.

use std::collections::BTreeSet;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use timeweave_contract::natural_key::same_natural_key;
use timeweave_contract::{
    Capabilities, ConflictReason, EntrySpan, Field, InvalidRecord, Kind, KindSupport, ListScope,
    Observation, Page, PageItem, PageToken, Provider, ProviderError, ProviderInfo, Record,
    RemoteId, RemoteRecord, Rights, TimeEntry, UpdateTarget, Window, WriteOp,
};
use timeweave_http::{RawResponse, Repeat, Transport};

use crate::errors::{malformed, map_error};
use crate::mapping::{self, int_id, raw_id, typed, Zone};
use crate::observe::{self, ScopeAnswer};
use crate::references::References;
use crate::time::{parse_zone, read_local, write_local};
use crate::tolerance::{server_now, unsafe_until, YoungVersions, TOLERANCE};
use crate::wire;
use crate::{Settings, KIND};

/// Records per page the adapter asks for (the server caps time entries at 100).
pub const PAGE_SIZE: i64 = 100;
/// The longest `Idempotency-Key` the server honours; longer keys are silently ignored, so
/// the adapter hashes them down.
const MAX_IDEMPOTENCY_KEY: usize = 128;

/// One request of `call_raw`.
struct Request<'a> {
    method: Method,
    path: &'a str,
    query: &'a [(&'a str, String)],
    body: Option<Value>,
    idempotency_key: Option<&'a str>,
    repeat: Repeat,
    auth: bool,
}

impl<'a> Request<'a> {
    /// A GET with the token, safe to repeat.
    fn get(path: &'a str, query: &'a [(&'a str, String)]) -> Self {
        Request {
            method: Method::GET,
            path,
            query,
            body: None,
            idempotency_key: None,
            repeat: Repeat::Safe,
            auth: true,
        }
    }
}

/// What `connect` learned, used by every later call.
#[derive(Clone, Debug)]
struct Session {
    zone: Zone,
    me: i64,
    admin: bool,
    /// The account behind the token (`account_identity`).
    identity: String,
}

/// What `doctor` shows of a session: whose entries the token sees and writes, and the zone
/// naive times are read in.
fn observations_of(session: &Session) -> Vec<Observation> {
    let rights = if session.admin {
        Observation::new(
            "sees_all_users",
            "yes (admin)",
            "the token lists and writes every user's entries",
        )
    } else {
        Observation {
            limits_reading: true,
            limits_writing: true,
            ..Observation::new(
                "sees_all_users",
                format!("no: only user {}'s own entries", session.me),
                "other users' entries are neither listed nor written; use an admin's token \
                 (role admin, or an admin RBAC role) to sync everyone's",
            )
        }
    };
    let zone = Observation::new(
        "server_time_zone",
        session.zone.name.clone(),
        "the server's app time zone (GET /info): its naive times are read and written in it",
    );
    vec![rights, zone]
}

/// The server, the token's user and when that user was created: a server reinstalled at
/// the same URL (its ids starting over) has the "same" user, created anew.
fn identity_of(api: &str, user: &wire::User) -> String {
    let name = user.username.as_deref().unwrap_or("(no username)");
    match &user.created_at {
        Some(created) => format!(
            "TimeTracker at {api}, user {name} (id {}, created {created})",
            user.id
        ),
        None => format!("TimeTracker at {api}, user {name} (id {})", user.id),
    }
}

/// The TimeTracker v1 provider adapter.
pub struct TimeTrackerAdapter {
    api: String,
    settings: Settings,
    transport: Transport,
    session: Mutex<Option<Session>>,
    /// Whether `GET /users` works for this token (`admin:all`); learned on first use.
    users_listable: Mutex<Option<bool>>,
    /// Entries listed within the server's `if_updated_at` tolerance of their version.
    young: YoungVersions,
    /// Projects and clients the token lists, and those only its entries show.
    references: References,
}

/// Normalises the configured base URL to the API root (`…/api/v1`), accepting it with or
/// without the `/api/v1` suffix. HTTPS is required except for loopback hosts.
pub fn api_root(base_url: &str) -> Result<String, ProviderError> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let root = trimmed
        .strip_suffix("/api/v1")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    let url = url::Url::parse(root).map_err(|e| ProviderError::Setup {
        message: format!(
            "TimeTracker base_url {root:?} is not a URL ({e}); give the server root, e.g. \
             https://tt.example.com"
        ),
    })?;
    timeweave_http::check_scheme(&url).map_err(|m| ProviderError::Setup {
        message: format!("TimeTracker base_url {root:?} {m}"),
    })?;
    Ok(format!("{root}/api/v1"))
}

/// The key actually sent: the engine's key, or its SHA-256 when longer than the server keeps.
pub fn idempotency_header(key: &str) -> String {
    if key.len() <= MAX_IDEMPOTENCY_KEY && key.is_ascii() {
        key.to_owned()
    } else {
        format!("sha256-{}", hex::encode(Sha256::digest(key.as_bytes())))
    }
}

fn kind_word(op: WriteOp) -> &'static str {
    match op {
        WriteOp::Create => "create",
        WriteOp::Update => "update",
        WriteOp::Delete => "delete",
    }
}

/// A page token: the next page number, plus the ids of the page just returned (to drop
/// records that shift into the next page when data changes mid-listing).
fn encode_token(next: i64, seen: &[i64]) -> PageToken {
    let ids: Vec<String> = seen.iter().map(i64::to_string).collect();
    PageToken(format!("{next}:{}", ids.join(",")))
}

fn decode_token(token: Option<&PageToken>) -> Result<(i64, BTreeSet<i64>), ProviderError> {
    let Some(token) = token else {
        return Ok((1, BTreeSet::new()));
    };
    let bad = || ProviderError::rejected(format!("not a TimeTracker page token: {:?}", token.0));
    let (page, ids) = token.0.split_once(':').ok_or_else(bad)?;
    let page = page.parse::<i64>().map_err(|_| bad())?;
    let seen = ids
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    Ok((page.max(1), seen))
}

impl TimeTrackerAdapter {
    /// Builds the adapter (no I/O). Fails on a missing token or an unusable base URL.
    pub fn new(settings: Settings, transport: Transport) -> Result<Self, ProviderError> {
        if settings.api_token.is_empty() {
            return Err(ProviderError::Setup {
                message: "TimeTracker api_token is empty; create one in Admin → Security & \
                          Access → Api-tokens (it starts with tt_)"
                    .into(),
            });
        }
        if !settings.api_token.expose().starts_with("tt_") {
            return Err(ProviderError::Setup {
                message: "TimeTracker api_token must start with `tt_` (the server rejects \
                          other tokens as \"Invalid token format\")"
                    .into(),
            });
        }
        Ok(TimeTrackerAdapter {
            api: api_root(&settings.base_url)?,
            settings,
            transport,
            session: Mutex::new(None),
            users_listable: Mutex::new(None),
            young: YoungVersions::default(),
            references: References::default(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.api, path)
    }

    fn cached_session(&self) -> Option<Session> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    async fn session(&self) -> Result<Session, ProviderError> {
        if let Some(s) = self.cached_session() {
            return Ok(s);
        }
        self.connect().await?;
        self.cached_session()
            .ok_or_else(|| ProviderError::retryable("TimeTracker session was not established"))
    }

    /// One API call: sends `body` as JSON, maps non-2xx to `ProviderError`, parses 2xx with
    /// `parse` (a parse failure is `Malformed`).
    #[allow(clippy::too_many_arguments)]
    async fn call<T>(
        &self,
        what: &str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
        idempotency_key: Option<&str>,
        repeat: Repeat,
        auth: bool,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, ProviderError> {
        let request = Request {
            method,
            path,
            query,
            body,
            idempotency_key,
            repeat,
            auth,
        };
        self.call_raw(what, request, |raw| parse(&raw.body)).await
    }

    /// `call` with a parser that also sees the answer's headers.
    async fn call_raw<T>(
        &self,
        what: &str,
        request: Request<'_>,
        parse: impl Fn(&RawResponse) -> Result<T, String>,
    ) -> Result<T, ProviderError> {
        self.exchange(what, request, |raw| {
            if !(200..300).contains(&raw.status) {
                return Err(map_error(what, &raw));
            }
            parse(&raw).map_err(|e| malformed(what, &raw, &e))
        })
        .await
    }

    /// One request through the transport; `interpret` sees every answer, errors included.
    async fn exchange<T>(
        &self,
        what: &str,
        request: Request<'_>,
        interpret: impl Fn(RawResponse) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let url = self.url(request.path);
        let token = self.settings.api_token.clone();
        let r = &request;
        self.transport
            .execute(
                what,
                r.repeat,
                |client| {
                    let mut rb = client
                        .request(r.method.clone(), &url)
                        .header(reqwest::header::ACCEPT, "application/json");
                    if !r.query.is_empty() {
                        rb = rb.query(r.query);
                    }
                    if r.auth {
                        rb = rb.bearer_auth(token.expose());
                    }
                    if let Some(k) = r.idempotency_key {
                        rb = rb.header("Idempotency-Key", k);
                    }
                    if let Some(b) = &r.body {
                        rb = rb.json(b);
                    }
                    rb
                },
                interpret,
            )
            .await
    }

    /// What `GET /users?per_page=1`, which only `admin:all` may call, tells of the token:
    /// a 2xx means every scope, a 403 lists the scopes it holds (spec §2). Read-only.
    async fn scope_answer(&self) -> Result<ScopeAnswer, ProviderError> {
        let what = "GET /users (scope check)";
        let query = [("per_page", "1".to_owned())];
        self.exchange(what, Request::get("/users", &query), |raw| {
            match raw.status {
                200..=299 => Ok(ScopeAnswer::Everything),
                403 => Ok(ScopeAnswer::Listed(
                    crate::errors::error_body(&raw).and_then(|b| b.available_scopes),
                )),
                _ => Err(map_error(what, &raw)),
            }
        })
        .await
    }

    /// Whether the token's user sees other users' entries: an admin by RBAC role (`admin`,
    /// `super_admin`) while `role` says otherwise, which `/users/me` does not show (§1). A
    /// non-admin asking for another user's entries gets 403; an admin gets a (maybe empty)
    /// list, whether or not that user exists.
    async fn sees_others(&self, me: i64) -> Result<bool, ProviderError> {
        let other = if me == 1 { 2 } else { 1 };
        let probe = self
            .get_json::<Value>(
                "GET /time-entries (admin check)",
                "/time-entries",
                &[("user_id", other.to_string()), ("per_page", "1".into())],
            )
            .await;
        match probe {
            Ok(_) => Ok(true),
            Err(ProviderError::Forbidden { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        self.call(
            what,
            Method::GET,
            path,
            query,
            None,
            None,
            Repeat::Safe,
            true,
            |b| timeweave_http::read_json::<T>(b),
        )
        .await
    }

    async fn list_raw(
        &self,
        what: &str,
        path: &str,
        key: &'static str,
        query: Vec<(&str, String)>,
    ) -> Result<wire::ListPage, ProviderError> {
        self.call(
            what,
            Method::GET,
            path,
            &query,
            None,
            None,
            Repeat::Safe,
            true,
            |b| wire::ListPage::parse(b, key),
        )
        .await
    }

    /// A write whose 2xx body holds the record under `key`.
    #[allow(clippy::too_many_arguments)]
    async fn write<T: DeserializeOwned, B: Serialize>(
        &self,
        what: &str,
        method: Method,
        path: &str,
        key: &'static str,
        body: &B,
        idempotency_key: Option<&str>,
        repeat: Repeat,
    ) -> Result<T, ProviderError> {
        let body = serde_json::to_value(body)
            .map_err(|e| ProviderError::rejected(format!("{what}: cannot encode body: {e}")))?;
        self.call(
            what,
            method,
            path,
            &[],
            Some(body),
            idempotency_key,
            repeat,
            true,
            |b| {
                let v: Value = timeweave_http::read_json(b)?;
                let inner = v
                    .get(key)
                    .ok_or_else(|| format!("no `{key}` in the response"))?;
                timeweave_http::from_json_value(inner).map_err(|why| format!("`{key}`: {why}"))
            },
        )
        .await
    }

    async fn delete_call(&self, what: &str, path: &str) -> Result<(), ProviderError> {
        self.call(
            what,
            Method::DELETE,
            path,
            &[],
            None,
            None,
            Repeat::Safe,
            true,
            |_| Ok(()),
        )
        .await
    }

    // ----- listings -------------------------------------------------------------------

    async fn list_people(&self, page: i64) -> Result<Page, ProviderError> {
        let listable = self.users_listable.lock().ok().and_then(|g| *g);
        if listable != Some(false) {
            let query = vec![
                ("page", page.to_string()),
                ("per_page", PAGE_SIZE.to_string()),
            ];
            let users = self.call(
                "GET /users",
                Method::GET,
                "/users",
                &query,
                None,
                None,
                Repeat::Safe,
                true,
                |b| wire::ListPage::parse_lenient(b, "users"),
            );
            match users.await {
                Ok(list) => {
                    if let Ok(mut g) = self.users_listable.lock() {
                        *g = Some(true);
                    }
                    let items = list
                        .items
                        .iter()
                        .map(|item| match typed::<wire::User>(item) {
                            Ok(u) => PageItem::Record(mapping::person(&u)),
                            Err(reason) => invalid(Kind::Person, item, reason),
                        })
                        .collect();
                    return Ok(Page {
                        items,
                        next: next_page(&list, page, false).map(|n| encode_token(n, &[])),
                    });
                }
                Err(ProviderError::Forbidden { .. }) if page == 1 => {
                    tracing::info!(
                        "TimeTracker token cannot list /users (needs admin:all); listing only \
                         the token's own user"
                    );
                    if let Ok(mut g) = self.users_listable.lock() {
                        *g = Some(false);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let me: wire::UserMe = self.get_json("GET /users/me", "/users/me", &[]).await?;
        Ok(Page {
            items: vec![PageItem::Record(mapping::person(&me.user))],
            next: None,
        })
    }

    async fn list_simple(&self, kind: Kind, page: i64, zone: &Zone) -> Result<Page, ProviderError> {
        let mut query = vec![
            ("page", page.to_string()),
            ("per_page", PAGE_SIZE.to_string()),
        ];
        let (what, path, key) = match kind {
            Kind::Client => ("GET /clients", "/clients", "clients"),
            Kind::Project => {
                query.push(("status", "all".into()));
                ("GET /projects", "/projects", "projects")
            }
            _ => ("GET /tasks", "/tasks", "tasks"),
        };
        let list = self.list_raw(what, path, key, query).await?;
        let items = list
            .items
            .iter()
            .map(|item| {
                let mapped = match kind {
                    Kind::Client => typed::<wire::Client>(item).map(|c| mapping::client(&c)),
                    Kind::Project => {
                        typed::<wire::Project>(item).and_then(|p| mapping::project(&p))
                    }
                    _ => typed::<wire::Task>(item).map(|t| mapping::task(&t, zone)),
                };
                match mapped {
                    Ok(r) => {
                        self.references.listed(&r);
                        PageItem::Record(r)
                    }
                    Err(reason) => invalid(kind, item, reason),
                }
            })
            .collect();
        // The task paginator's `total` is only an estimate on later pages: a full page means
        // there may be more.
        let next = next_page(&list, page, kind == Kind::Task);
        Ok(Page {
            items,
            next: next.map(|n| encode_token(n, &[])),
        })
    }

    async fn list_entries(
        &self,
        window: Option<Window>,
        user_id: Option<i64>,
        page: i64,
        seen: &BTreeSet<i64>,
        session: &Session,
    ) -> Result<(Page, Vec<i64>), ProviderError> {
        let zone = &session.zone;
        let mut query = vec![
            ("include_active", "true".to_owned()),
            ("per_page", PAGE_SIZE.to_string()),
            ("page", page.to_string()),
        ];
        if let Some(w) = window {
            // The server compares naive local start times, inclusive at both ends. Ask for an
            // hour more on each side (a DST fold makes naive bounds ambiguous) and keep the
            // half-open UTC window on our side.
            let hour = Duration::hours(1);
            let from = w.from.checked_sub_signed(hour).unwrap_or(w.from);
            let to = w.to.checked_add_signed(hour).unwrap_or(w.to);
            query.push(("start_date", write_local(zone.tz, from)));
            query.push(("end_date", write_local(zone.tz, to)));
        }
        if let Some(u) = user_id {
            query.push(("user_id", u.to_string()));
        }
        let (list, now) = self
            .call_raw(
                "GET /time-entries",
                Request::get("/time-entries", &query),
                |raw| {
                    Ok((
                        wire::ListPage::parse(&raw.body, "time_entries")?,
                        server_now(&raw.headers),
                    ))
                },
            )
            .await?;
        let mut ids = Vec::with_capacity(list.items.len());
        let mut items = Vec::with_capacity(list.items.len());
        let mut derived = std::collections::HashSet::new();
        for item in &list.items {
            if let Some(id) = item.get("id").and_then(Value::as_i64) {
                ids.push(id);
                if seen.contains(&id) {
                    continue; // shifted in from the previous page
                }
            }
            let wire_entry = typed::<wire::TimeEntry>(item);
            match wire_entry.and_then(|e| mapping::entry(&e, zone).map(|r| (e, r))) {
                Ok((e, r)) => {
                    self.note_listed(&r, now);
                    let keep = match (&r.record, window) {
                        (Record::TimeEntry(e), Some(w)) => w.contains(e.started_at),
                        _ => true,
                    };
                    if !keep {
                        continue;
                    }
                    // A reference the token cannot list comes before the entry booked on it.
                    let unlisted = (!session.admin)
                        .then(|| self.references.unlisted_of(&e))
                        .flatten()
                        .filter(|u| derived.insert((u.kind(), u.id.clone())));
                    items.extend(unlisted.map(PageItem::Record));
                    items.push(PageItem::Record(r));
                }
                Err(reason) => items.push(invalid(Kind::TimeEntry, item, reason)),
            }
        }
        let next = next_page(&list, page, false);
        Ok((
            Page {
                items,
                next: next.map(|n| encode_token(n, &ids)),
            },
            ids,
        ))
    }

    /// One entry of the unfiltered listing (sorted by start, newest first), at `page` of
    /// one-entry pages: its start, if it can be read, and the listing's total.
    async fn entry_at(
        &self,
        page: i64,
        zone: &Zone,
    ) -> Result<(Option<chrono::DateTime<chrono::Utc>>, Option<i64>), ProviderError> {
        let query = vec![
            ("include_active", "true".to_owned()),
            ("per_page", "1".to_owned()),
            ("page", page.to_string()),
        ];
        let list = self
            .list_raw("GET /time-entries", "/time-entries", "time_entries", query)
            .await?;
        let start = list
            .items
            .first()
            .and_then(|e| e.get("start_time"))
            .and_then(Value::as_str)
            .and_then(|s| read_local(zone.tz, s));
        let total = list.pagination.total.or(list.pagination.pages);
        Ok((start, total))
    }

    /// Every record of a reference kind (used by `get` of clients and by `find_created`).
    async fn all_of(&self, kind: Kind) -> Result<Vec<RemoteRecord>, ProviderError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self.list_page(kind, ListScope::All, token).await?;
            out.extend(page.items.into_iter().filter_map(|i| match i {
                PageItem::Record(r) if r.kind() == kind => Some(r),
                _ => None,
            }));
            match page.next {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    // ----- writes ---------------------------------------------------------------------

    fn require_int(id: &RemoteId, kind: Kind) -> Result<i64, ProviderError> {
        int_id(id).ok_or_else(|| {
            ProviderError::rejected(format!(
                "{kind} id {:?} is not a TimeTracker id",
                id.as_str()
            ))
        })
    }

    async fn patch_entry(
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
    async fn set_entry_task(
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
    async fn complete_task(
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

    async fn create_entry(
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

    async fn update_entry(
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

    /// Remembers an entry listed within the server's `if_updated_at` tolerance of its version.
    fn note_listed(&self, r: &RemoteRecord, now: DateTime<Utc>) {
        let (Some(id), Some(version), Some(modified_at)) =
            (int_id(&r.id), r.version.as_deref(), r.modified_at)
        else {
            return;
        };
        self.young.note(id, version, modified_at, now);
    }

    /// An update of an entry listed within the tolerance of its version could overwrite an
    /// edit the server would not report (sample 46). The entry is read again; if the
    /// tolerance has not passed yet on the server's clock, once more after it has. A changed
    /// version is a stale conflict, as a 409 would be, and the engine merges or settles it
    /// on its next pull.
    async fn confirm_unchanged(&self, id: i64, version: &str) -> Result<(), ProviderError> {
        let Some(young) = self.young.take(id, version) else {
            return Ok(());
        };
        let now = self.current_version_is(id, version).await?;
        let wait = (unsafe_until(young.modified_at) - now)
            .min(TOLERANCE * 2)
            .to_std()
            .unwrap_or_default();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
            self.current_version_is(id, version).await?;
        }
        Ok(())
    }

    /// Reads an entry's `updated_at`: the server's time if it is still `version`, else a
    /// stale conflict naming both.
    async fn current_version_is(
        &self,
        id: i64,
        version: &str,
    ) -> Result<DateTime<Utc>, ProviderError> {
        let path = format!("/time-entries/{id}");
        let (current, now) = self
            .call_raw(
                "GET /time-entries/{id} (before an update)",
                Request::get(&path, &[]),
                |raw| {
                    let v: Value = serde_json::from_slice(&raw.body).map_err(|e| e.to_string())?;
                    let updated_at = v
                        .get("time_entry")
                        .and_then(|e| e.get("updated_at"))
                        .and_then(Value::as_str)
                        .ok_or("no `time_entry.updated_at` in the response")?;
                    Ok((updated_at.to_owned(), server_now(&raw.headers)))
                },
            )
            .await?;
        if current != version {
            return Err(ProviderError::Conflict {
                reason: ConflictReason::Stale,
                message: format!(
                    "time entry {id} changed on the server (updated_at {current}) since it was \
                     listed at {version}, within the server's 2 s if_updated_at tolerance: not \
                     overwritten"
                ),
            });
        }
        Ok(now)
    }

    /// A project a token without admin rights cannot read (403): as its user's entries show
    /// it (one of them, by `project_id`), else as they showed it earlier; the 403 when no
    /// entry of the user books on it.
    async fn unlisted_project(
        &self,
        id: i64,
        forbidden: String,
        session: &Session,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        let query = vec![
            ("project_id", id.to_string()),
            ("include_active", "true".to_owned()),
            ("per_page", "1".to_owned()),
        ];
        let listed = self
            .list_raw(
                "GET /time-entries (a project's name)",
                "/time-entries",
                "time_entries",
                query,
            )
            .await;
        let items = match listed {
            Ok(list) => list.items,
            // A server that also checks the project on this filter: what the entries showed.
            Err(ProviderError::Forbidden { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let from_entry = items
            .first()
            .and_then(|item| typed::<wire::TimeEntry>(item).ok())
            .filter(|e| e.user_id == session.me)
            .and_then(|e| mapping::reference_of_entry(&e));
        from_entry
            .or_else(|| self.references.derived(Kind::Project, id))
            .map(Some)
            .ok_or(ProviderError::Forbidden {
                message: format!(
                    "{forbidden} (project {id}; no entry of this token's user books on it)"
                ),
            })
    }

    /// A token without admin rights cannot change a project it does not list (the server
    /// answers as if it did not exist).
    fn check_listed(&self, kind: Kind, id: i64, session: &Session) -> Result<(), ProviderError> {
        if session.admin || self.references.is_listed(kind, id) {
            return Ok(());
        }
        Err(ProviderError::unsupported(format!(
            "changing {kind} {id} with this TimeTracker token: its user (not an admin) books \
             time on it but cannot see it"
        )))
    }

    /// `task_id: null` is a no-op on the server; the only way to drop a task is to book the
    /// entry on the project's client (which clears project and task) and back on the project.
    async fn clear_entry_task(&self, e: wire::TimeEntry) -> Result<wire::TimeEntry, ProviderError> {
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

    async fn get_project(&self, id: i64) -> Result<wire::Project, ProviderError> {
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
    async fn settle_project_status(
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

    async fn settle_task_status(
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

    async fn find_entry(
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
}

fn invalid(kind: Kind, item: &Value, reason: String) -> PageItem {
    PageItem::Invalid(InvalidRecord {
        kind,
        remote_id: raw_id(item),
        reason,
    })
}

/// The next page number of a list, if any. `full_page_means_more` covers paginators whose
/// totals are estimates (tasks).
fn next_page(list: &wire::ListPage, page: i64, full_page_means_more: bool) -> Option<i64> {
    if list.items.is_empty() {
        return None;
    }
    if list.pagination.has_next || list.pagination.next_page.is_some() {
        return Some(list.pagination.next_page.unwrap_or(page + 1).max(page + 1));
    }
    (full_page_means_more && list.items.len() as i64 >= list.pagination.per_page.max(1))
        .then_some(page + 1)
}

#[async_trait]
impl Provider for TimeTrackerAdapter {
    fn kind_name(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            person: KindSupport::READ_ONLY,
            client: KindSupport {
                list: true,
                create: true,
                update: false,
                delete: false,
                delete_archives: false,
            },
            project: KindSupport {
                delete_archives: true,
                ..KindSupport::FULL
            },
            task: KindSupport::FULL,
            time_entry: KindSupport::FULL,
            change_feed: false,
            entry_page_size: PAGE_SIZE as u32,
            // Time-entry creates are de-duplicated by `Idempotency-Key`, but client, project
            // and task creates are not: the engine must use `find_created` after an unknown
            // outcome.
            idempotent_create: false,
            unheld: Vec::new(),
            // Clients are created with a name and an e-mail only, and never updated: the
            // `description` the server lists (edited in its web app) is not ours to set.
            read_only: vec![Field::ClientNotes],
        }
    }

    async fn connect(&self) -> Result<ProviderInfo, ProviderError> {
        let info: wire::Info = self
            .call(
                "GET /info",
                Method::GET,
                "/info",
                &[],
                None,
                None,
                Repeat::Safe,
                false,
                timeweave_http::read_json,
            )
            .await
            .map_err(|e| match e {
                ProviderError::NotFound { .. } => ProviderError::Setup {
                    message: format!(
                        "no TimeTracker API at {}/info (HTTP 404); check base_url",
                        self.api
                    ),
                },
                other => other,
            })?;
        if info.setup_required {
            return Err(ProviderError::Setup {
                message: "the TimeTracker server reports setup_required: finish the setup \
                          wizard in its web app first (until then every API call is redirected \
                          to it)"
                    .into(),
            });
        }
        let tz_name = info.timezone.clone().unwrap_or_default();
        let tz = parse_zone(&tz_name).ok_or_else(|| ProviderError::Setup {
            message: format!(
                "the TimeTracker server's time zone {tz_name:?} (GET /info `timezone`) is not a \
                 known IANA zone; fix it in the server settings"
            ),
        })?;
        let me: wire::UserMe = self.get_json("GET /users/me", "/users/me", &[]).await?;
        let admin =
            me.user.role.as_deref() == Some("admin") || self.sees_others(me.user.id).await?;
        let server = format!(
            "TimeTracker {}",
            info.app_version
                .unwrap_or_else(|| "(unknown version)".into())
        );
        let account = me
            .user
            .username
            .clone()
            .unwrap_or_else(|| format!("user {}", me.user.id));
        let session = Session {
            zone: Zone {
                tz,
                name: tz.name().to_owned(),
            },
            me: me.user.id,
            admin,
            identity: identity_of(&self.api, &me.user),
        };
        if let Ok(mut g) = self.session.lock() {
            *g = Some(session);
        }
        // Scopes may have changed since the last cycle: learn again whether /users works.
        if let Ok(mut g) = self.users_listable.lock() {
            *g = None;
        }
        Ok(ProviderInfo {
            server,
            timezone: Some(tz.name().to_owned()),
            account: Some(account),
        })
    }

    async fn account_identity(&self) -> Result<String, ProviderError> {
        Ok(self.session().await?.identity)
    }

    async fn observations(&self) -> Result<Vec<Observation>, ProviderError> {
        Ok(observations_of(&self.session().await?))
    }

    /// `/users/me`'s id.
    async fn own_person(&self) -> Result<Option<RemoteId>, ProviderError> {
        Ok(Some(RemoteId::from(self.session().await?.me)))
    }

    async fn rights(&self) -> Result<Rights, ProviderError> {
        self.session().await?;
        Ok(observe::rights(
            self.scope_answer().await?,
            &self.capabilities(),
        ))
    }

    async fn list_page(
        &self,
        kind: Kind,
        scope: ListScope,
        token: Option<PageToken>,
    ) -> Result<Page, ProviderError> {
        let session = self.session().await?;
        let (page, seen) = decode_token(token.as_ref())?;
        match (kind, scope) {
            (_, ListScope::ChangedIn(_)) => Err(ProviderError::unsupported(
                "TimeTracker has no change feed (no updated_since filter); list by start window",
            )),
            (Kind::TimeEntry, ListScope::StartedIn(w)) => Ok(self
                .list_entries(Some(w), None, page, &seen, &session)
                .await?
                .0),
            (Kind::TimeEntry, ListScope::All) => Ok(self
                .list_entries(None, None, page, &seen, &session)
                .await?
                .0),
            (Kind::Person, ListScope::All) => self.list_people(page).await,
            (_, ListScope::All) => self.list_simple(kind, page, &session.zone).await,
            (_, ListScope::StartedIn(_)) => Err(ProviderError::unsupported(format!(
                "a start-window listing of {kind} (only time entries have start times)"
            ))),
        }
    }

    async fn entry_span(&self) -> Result<EntrySpan, ProviderError> {
        // The listing has no sort parameter but is always by start, newest first: the first
        // one-entry page holds the newest, page `total` the oldest (two requests). An entry
        // booked between the two shifts the oldest one page on: follow the new total.
        let session = self.session().await?;
        let (newest, mut total) = self.entry_at(1, &session.zone).await?;
        for _ in 0..3 {
            let (Some(newest), Some(last)) = (newest, total) else {
                break;
            };
            if last <= 0 {
                break; // an entry listed, yet a total of none: no telling
            }
            let (oldest, now_total) = self.entry_at(last, &session.zone).await?;
            if now_total == total {
                return Ok(match oldest {
                    Some(oldest) => EntrySpan::Between { oldest, newest },
                    None => EntrySpan::Unknown,
                });
            }
            total = now_total;
        }
        Ok(match (newest, total) {
            (None, Some(0)) => EntrySpan::Empty,
            _ => EntrySpan::Unknown,
        })
    }

    async fn get(&self, kind: Kind, id: &RemoteId) -> Result<Option<RemoteRecord>, ProviderError> {
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

    async fn create(
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

    async fn update(
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

    async fn delete(&self, kind: Kind, id: &RemoteId) -> Result<(), ProviderError> {
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

    async fn find_created(
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

    fn check_writable(&self, op: WriteOp, record: &Record<RemoteId>) -> Result<(), ProviderError> {
        let kind = record.kind();
        if !self.capabilities().support(kind).allows(op) {
            let why = match kind {
                Kind::Client => " (API v1 has no PUT/DELETE for clients: 405)",
                Kind::Person => " (API v1 has no user writes)",
                _ => "",
            };
            return Err(ProviderError::unsupported(format!(
                "TimeTracker cannot {} a {kind}{why}",
                kind_word(op)
            )));
        }
        if op == WriteOp::Delete {
            return Ok(());
        }
        match record {
            Record::Project(p) if p.client.is_none() => Err(ProviderError::unsupported(
                "a TimeTracker project needs a client (client_id is required)",
            )),
            Record::Project(p) if p.name.trim().chars().count() > 200 => Err(
                ProviderError::unsupported("TimeTracker project names are at most 200 characters"),
            ),
            Record::Client(c) if c.name.trim().chars().count() > 200 => Err(
                ProviderError::unsupported("TimeTracker client names are at most 200 characters"),
            ),
            Record::TimeEntry(e) => {
                check_entry(op, e)?;
                if let Some(session) = self.cached_session() {
                    self.check_person(e, &session)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl TimeTrackerAdapter {
    /// A non-admin token can only write its own entries.
    fn check_person(
        &self,
        e: &TimeEntry<RemoteId>,
        session: &Session,
    ) -> Result<(), ProviderError> {
        let person = int_id(&e.person);
        if !session.admin && person != Some(session.me) {
            return Err(ProviderError::unsupported(format!(
                "this TimeTracker token (user {}) is not an admin and cannot write entries of \
                 another user ({})",
                session.me, e.person
            )));
        }
        Ok(())
    }
}

/// What a TimeTracker entry can hold, checked without I/O.
fn check_entry(op: WriteOp, e: &TimeEntry<RemoteId>) -> Result<(), ProviderError> {
    if e.kind == timeweave_contract::EntryKind::Attendance {
        return Err(ProviderError::unsupported(
            "attendance entries (TimeTracker books time on a project or a client)",
        ));
    }
    if e.project.is_none() && e.client.is_none() {
        return Err(ProviderError::unsupported(
            "a TimeTracker entry needs a project or a client",
        ));
    }
    if e.project.is_none() && e.task.is_some() {
        return Err(ProviderError::unsupported(
            "a TimeTracker entry with a task needs a project (client-only bookings have no task)",
        ));
    }
    if op == WriteOp::Create && e.ended_at.is_none() {
        return Err(ProviderError::unsupported(
            "creating a running TimeTracker entry (POST needs an end_time; timers start at the \
             server's clock)",
        ));
    }
    if let Some(end) = e.ended_at {
        if end < e.started_at {
            return Err(ProviderError::rejected(format!(
                "entry {} ends before it starts",
                e.started_at
            )));
        }
        if end == e.started_at {
            return Err(ProviderError::unsupported(
                "a zero-length TimeTracker entry (the server needs end_time after start_time)",
            ));
        }
    }
    if e.notes.as_deref().is_some_and(|n| n.chars().count() > 5000) {
        return Err(ProviderError::unsupported(
            "TimeTracker notes longer than 5000 characters",
        ));
    }
    if e.tags.iter().any(|t| t.contains(',')) {
        return Err(ProviderError::unsupported(
            "a TimeTracker tag containing a comma (tags are stored comma-separated)",
        ));
    }
    if mapping::join_tags(&e.tags).chars().count() > 500 {
        return Err(ProviderError::unsupported(
            "TimeTracker tags longer than 500 characters in all",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            api_root("https://tt.example.com").unwrap(),
            "https://tt.example.com/api/v1"
        );
        assert_eq!(
            api_root("https://tt.example.com/").unwrap(),
            "https://tt.example.com/api/v1"
        );
        assert_eq!(
            api_root("https://tt.example.com/api/v1/").unwrap(),
            "https://tt.example.com/api/v1"
        );
        assert_eq!(
            api_root("https://x.org/tt/api/v1").unwrap(),
            "https://x.org/tt/api/v1"
        );
        assert_eq!(
            api_root("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/api/v1"
        );
        assert!(matches!(
            api_root("http://tt.example.com"),
            Err(ProviderError::Setup { .. })
        ));
        assert!(matches!(
            api_root("tt.example.com"),
            Err(ProviderError::Setup { .. })
        ));
    }

    #[test]
    fn long_idempotency_keys_are_hashed_to_fit() {
        assert_eq!(idempotency_header("abc"), "abc");
        let long = "k".repeat(300);
        let h = idempotency_header(&long);
        assert!(h.len() <= MAX_IDEMPOTENCY_KEY);
        assert_eq!(h, idempotency_header(&long), "stable");
    }

    #[test]
    fn page_tokens() {
        let t = encode_token(3, &[5, 9]);
        let (page, seen) = decode_token(Some(&t)).unwrap();
        assert_eq!(page, 3);
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![5, 9]);
        assert_eq!(decode_token(None).unwrap().0, 1);
        assert!(decode_token(Some(&PageToken("x".into()))).is_err());
    }
}
