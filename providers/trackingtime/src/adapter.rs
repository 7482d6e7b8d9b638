//! The TrackingTime v4 adapter: account discovery (`GET /me`), every request (Basic
//! `API_TOKEN:<app password>`, the timeweave User-Agent, the account id in the path),
//! listings with TrackingTime's per-endpoint paging, the event change feed
//! (`sort_by=updated_at` then `sort_by=created_at`), writes with external-id tagging and
//! search-before-resend, and the webhook registration calls.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::{Duration, NaiveDate};
use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use reqwest::Method;
use serde_json::Value;
use timeweave_contract::natural_key::same_natural_key;
use timeweave_contract::{
    Capabilities, EntryKind, Field, Kind, KindSupport, ListScope, Observation, Page, PageItem,
    PageToken, Provider, ProviderError, ProviderInfo, Record, RemoteId, RemoteRecord, Rights,
    Secret, TimeEntry, UpdateTarget, Window, WriteOp,
};
use timeweave_http::{Repeat, Transport};
use tokio::sync::Mutex;

use crate::envelope::{self, Body, EnvelopeError};
use crate::mapping::{self, Ctx};
use crate::observe::{self, SearchAnswer};
use crate::paging::{self, Cursor, Next, Phase};
use crate::wire;
use crate::zone::{parse_naive, Zone};
use crate::{Settings, KIND};

/// Events per page: the documented default (max 20,000), sent explicitly since older
/// servers defaulted to 50 (spec §5).
pub const DEFAULT_EVENTS_PAGE_SIZE: u32 = 1000;
/// Tasks per page: S4 observed `/tasks` paging properly at 100.
pub const DEFAULT_TASKS_PAGE_SIZE: u32 = 100;
/// No listing goes past this many pages (the robust rule of spec §5).
pub const DEFAULT_MAX_PAGES: u32 = 10_000;
/// How often a create whose outcome was unknown is looked up and sent again.
const CREATE_ATTEMPTS: u32 = 3;

/// What `connect` learned: the workspace every call is scoped to.
#[derive(Clone, Debug)]
struct Session {
    account_id: i64,
    company: Option<String>,
    user_id: i64,
    /// The zone `created_at`/`updated_at` are written in (the caller's `/me` timezone);
    /// `None` when `/me` names none timeweave can read (warned about at discovery).
    zone: Option<Zone>,
    /// `/me`'s time-zone value as answered, for `doctor` (T3).
    zone_label: Option<String>,
    /// The caller's role and permissions (`/me`'s user object), for `doctor`.
    user: observe::UserRights,
    version: Option<String>,
}

/// A webhook as `register_webhook` created it.
#[derive(Clone, Debug)]
pub struct WebhookRegistration {
    pub id: i64,
    /// The secret TrackingTime returns (how it signs callbacks is undocumented).
    pub secret: Option<Secret>,
}

/// A webhook as `list_webhooks` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookInfo {
    pub id: i64,
    pub url: Option<String>,
    pub events: Option<String>,
}

/// One request, before the account prefix is added.
struct Call {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
    /// `/me` and `/teams` live outside the account prefix.
    global: bool,
}

impl Call {
    fn get(path: impl Into<String>) -> Call {
        Call {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            global: false,
        }
    }
    fn with(method: Method, path: impl Into<String>, body: Option<Value>) -> Call {
        Call {
            body,
            method,
            ..Call::get(path)
        }
    }
    fn q(mut self, k: &str, v: impl ToString) -> Call {
        self.query.push((k.to_owned(), v.to_string()));
        self
    }
}

/// The TrackingTime v4 provider.
pub struct TrackingTimeAdapter {
    base: String,
    password: Secret,
    configured_account: Option<i64>,
    user_agent: String,
    transport: Transport,
    session: Mutex<Option<Session>>,
    events_page_size: u32,
    tasks_page_size: u32,
    max_pages: u32,
    /// Set once a write sent as JSON failed and the same write as a form succeeded: the
    /// server predates JSON bodies (v4.92.8, spec §3), so later writes go as forms.
    form_bodies: AtomicBool,
}

impl TrackingTimeAdapter {
    /// Checks the settings (no I/O): an http(s) base URL (plain http only on loopback), a
    /// non-empty app password and contact.
    pub fn new(settings: Settings, transport: Transport) -> Result<Self, ProviderError> {
        let setup = |m: String| ProviderError::Setup { message: m };
        let base = settings.base_url.trim().trim_end_matches('/').to_owned();
        let url = url::Url::parse(&base).map_err(|e| {
            setup(format!(
                "trackingtime base_url {base:?} is not a URL ({e}); the default is {}",
                crate::DEFAULT_BASE_URL
            ))
        })?;
        timeweave_http::check_scheme(&url)
            .map_err(|m| setup(format!("trackingtime base_url {base:?} {m}")))?;
        if settings.app_password.is_empty() {
            return Err(setup(
                "trackingtime app_password is empty: create an App Password in TrackingTime \
                 (Settings > Apps > App passwords) and configure it"
                    .into(),
            ));
        }
        if settings.contact.trim().is_empty() {
            return Err(setup(
                "trackingtime contact is empty: TrackingTime asks every API client to name a \
                 contact e-mail or URL in its User-Agent"
                    .into(),
            ));
        }
        if let Some(a) = settings.account_id.filter(|&a| a <= 0) {
            return Err(setup(format!(
                "trackingtime account_id {a} is not a valid account id"
            )));
        }
        Ok(TrackingTimeAdapter {
            base,
            user_agent: crate::user_agent(&settings.contact),
            password: settings.app_password,
            configured_account: settings.account_id,
            transport,
            session: Mutex::new(None),
            events_page_size: DEFAULT_EVENTS_PAGE_SIZE,
            tasks_page_size: DEFAULT_TASKS_PAGE_SIZE,
            max_pages: DEFAULT_MAX_PAGES,
            form_bodies: AtomicBool::new(false),
        })
    }

    /// Events per page (1..=20,000); tests use small pages to exercise paging.
    pub fn with_events_page_size(mut self, n: u32) -> Self {
        self.events_page_size = n.clamp(1, 20_000);
        self
    }

    /// Tasks per page (1..=1,000).
    pub fn with_tasks_page_size(mut self, n: u32) -> Self {
        self.tasks_page_size = n.clamp(1, 1000);
        self
    }

    /// The workspace the adapter works in, once known (after `connect` or a first call).
    pub async fn account_id(&self) -> Option<i64> {
        self.session.lock().await.as_ref().map(|s| s.account_id)
    }

    // ---------------------------------------------------------------- requests

    /// Sends one call. In-envelope errors whose status is in `keep` come back as
    /// `Ok(Err(..))` for the caller to judge; every other error is typed (and retried by
    /// the transport when `repeat` and the error allow it).
    async fn send(
        &self,
        what: &str,
        repeat: Repeat,
        call: &Call,
        keep: &[i64],
    ) -> Result<Result<Body, EnvelopeError>, ProviderError> {
        let url = if call.global {
            format!("{}/{}", self.base, call.path)
        } else {
            let s = self.session().await?;
            format!("{}/{}/{}", self.base, s.account_id, call.path)
        };
        let as_form = self.form_bodies.load(Ordering::Relaxed);
        let mut keep_all = keep.to_vec();
        keep_all.push(500);
        let mut result = self
            .send_to(&url, what, repeat, call, &keep_all, as_form)
            .await?;
        // Spec §3: a server that does not read JSON bodies answers a generic error (the
        // parameters seem missing); the same call with form parameters then works. An
        // error envelope means nothing was written, so sending again is safe.
        if let Err(e) = &result {
            let fallback = e.status == 500
                && call.body.is_some()
                && !as_form
                && envelope::to_error(e.clone(), what).class() != "conflict";
            if fallback {
                let again = self
                    .send_to(&url, what, repeat, call, &keep_all, true)
                    .await?;
                if again.is_ok() {
                    tracing::info!(
                        call = what,
                        "TrackingTime ignored the JSON body; sending form parameters from now on"
                    );
                    self.form_bodies.store(true, Ordering::Relaxed);
                }
                result = again;
            }
        }
        match result {
            Err(e) if !keep.contains(&e.status) => Err(envelope::to_error(e, what)),
            other => Ok(other),
        }
    }

    /// `send` with the URL already made (no session needed: `/me` goes through here).
    async fn send_to(
        &self,
        url: &str,
        what: &str,
        repeat: Repeat,
        call: &Call,
        keep: &[i64],
        as_form: bool,
    ) -> Result<Result<Body, EnvelopeError>, ProviderError> {
        let form = match (&call.body, as_form) {
            (Some(body), true) => Some(form_encode(body)),
            _ => None,
        };
        self.transport
            .execute(
                what,
                repeat,
                |c| {
                    let mut rb = c
                        .request(call.method.clone(), url)
                        .basic_auth("API_TOKEN", Some(self.password.expose()))
                        .header(USER_AGENT, &self.user_agent)
                        .header(ACCEPT, "application/json");
                    if !call.query.is_empty() {
                        rb = rb.query(&call.query);
                    }
                    match (&form, &call.body) {
                        (Some(f), _) => {
                            rb = rb
                                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                                .body(f.clone())
                        }
                        (None, Some(body)) => rb = rb.json(body),
                        (None, None) => {}
                    }
                    rb
                },
                |raw| match envelope::read(&raw, what)? {
                    Ok(body) => Ok(Ok(body)),
                    Err(e) if keep.contains(&e.status) => Ok(Err(e)),
                    Err(e) => Err(envelope::to_error(e, what)),
                },
            )
            .await
    }

    async fn send_ok(
        &self,
        what: &str,
        repeat: Repeat,
        call: &Call,
    ) -> Result<Body, ProviderError> {
        match self.send(what, repeat, call, &[]).await? {
            Ok(b) => Ok(b),
            Err(e) => Err(envelope::to_error(e, what)),
        }
    }

    async fn session(&self) -> Result<Session, ProviderError> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_ref() {
            return Ok(s.clone());
        }
        let s = self.discover().await?;
        *guard = Some(s.clone());
        Ok(s)
    }

    async fn ctx(&self) -> Result<Ctx, ProviderError> {
        Ok(Ctx {
            account_zone: self.session().await?.zone,
        })
    }

    /// `GET /me`: the caller, their workspaces and zone; picks the account (spec §1).
    async fn discover(&self) -> Result<Session, ProviderError> {
        let call = Call {
            global: true,
            ..Call::get("me")
        };
        let url = format!("{}/me", self.base);
        let body = match self
            .send_to(&url, "GET /me", Repeat::Safe, &call, &[], false)
            .await?
        {
            Ok(b) => b,
            Err(e) => return Err(envelope::to_error(e, "GET /me")),
        };
        let me: wire::Me = timeweave_http::from_json_value(body.data()).map_err(|why| {
            ProviderError::malformed(format!("TrackingTime GET /me could not be read: {why}"))
        })?;
        let version = body
            .0
            .get("response")
            .and_then(|r| r.get("version"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (account_id, company) = self.pick_account(&me).await?;
        let zone = account_zone(&me);
        let user = observe::UserRights {
            role: me.role.clone(),
            flags: me.permissions(),
        };
        Ok(Session {
            account_id,
            company,
            user_id: me.id,
            zone,
            zone_label: me.zone_label().map(str::to_owned),
            user,
            version,
        })
    }

    /// The workspace to work in (spec §1, T7): the configured one when `/me` lists it, lists
    /// no teams, or leaves it out but a probe there answers; unconfigured, the caller's one
    /// workspace, refusing to guess among several.
    async fn pick_account(&self, me: &wire::Me) -> Result<(i64, Option<String>), ProviderError> {
        let known = workspaces(me);
        let choices = || {
            known
                .iter()
                .map(|(id, company)| {
                    format!("{id} ({})", company.as_deref().unwrap_or("unnamed company"))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let setup = |message: String| Err(ProviderError::Setup { message });
        match self.configured_account {
            Some(a) => match me.teams.iter().find(|t| t.account_id == a) {
                Some(t) => Ok((a, t.company.clone())),
                // `teams` may leave out the account itself (T7): only an account that
                // refuses a read is not this user's.
                None if me.teams.is_empty() || self.account_answers(a, me.id).await? => {
                    Ok((a, None))
                }
                None => setup(format!(
                    "trackingtime account_id {a} is not one of this user's workspaces and \
                     refuses its requests; set account_id to one of: {}",
                    choices()
                )),
            },
            None => match known.as_slice() {
                [(id, company)] => Ok((*id, company.clone())),
                [] => setup(
                    "TrackingTime GET /me names no workspace; set trackingtime account_id \
                     in the config"
                        .into(),
                ),
                _ => setup(format!(
                    "this TrackingTime user belongs to {} workspaces and timeweave will not \
                     guess which one to sync; set trackingtime account_id to one of: {}",
                    known.len(),
                    choices()
                )),
            },
        }
    }

    /// Whether `account` answers a read of the caller there (`GET {account}/users/{me}`):
    /// the probe that settles a configured account `/me` does not list (T7). An error
    /// envelope is a refusal; transport failures are errors.
    async fn account_answers(&self, account: i64, me: i64) -> Result<bool, ProviderError> {
        let url = format!("{}/{account}/users/{me}", self.base);
        let what = format!("GET {account}/users/{me}");
        let call = Call::get(format!("users/{me}"));
        let answer = self
            .send_to(
                &url,
                &what,
                Repeat::Safe,
                &call,
                &[401, 402, 403, 404, 500],
                false,
            )
            .await?;
        Ok(answer.is_ok())
    }

    // ---------------------------------------------------------------- listings

    fn items_of(body: Body, what: &str) -> Result<Vec<Value>, ProviderError> {
        match body.into_data() {
            Value::Array(items) => Ok(items),
            Value::Null => Ok(Vec::new()),
            Value::Object(m) if m.is_empty() => Ok(Vec::new()),
            other => Err(ProviderError::malformed(format!(
                "{what}: expected a list in data, got {}",
                short(&other)
            ))),
        }
    }

    /// A reference kind that comes in one answer (users, customers, projects): the whole
    /// list, each id once (customers ignore `page`, projects answer all on page 0).
    async fn list_whole(&self, kind: Kind, path: &str) -> Result<Page, ProviderError> {
        let what = format!("GET {path}?filter=ALL");
        let call = Call::get(path).q("filter", "ALL");
        let body = self.send_ok(&what, Repeat::Safe, &call).await?;
        let ctx = self.ctx().await?;
        let mut seen = HashSet::new();
        let items = Self::items_of(body, &what)?
            .iter()
            .filter(|v| wire::id_of(v).is_none_or(|id| seen.insert(id)))
            .map(|v| mapping::item(kind, v, &ctx))
            .collect();
        Ok(Page { items, next: None })
    }

    /// Which key of the listed customers carries an e-mail (T2): counted, never shown.
    async fn customer_email_keys(&self) -> Result<observe::EmailKeys, ProviderError> {
        let what = "GET customers?filter=ALL";
        let call = Call::get("customers").q("filter", "ALL");
        let body = self.send_ok(what, Repeat::Safe, &call).await?;
        Ok(observe::EmailKeys::count(&Self::items_of(body, what)?))
    }

    async fn list_tasks(&self, token: Option<PageToken>) -> Result<Page, ProviderError> {
        let cursor = match &token {
            Some(t) => Cursor::parse(t)?,
            None => Cursor::first(Phase::Start),
        };
        let what = format!("GET tasks?filter=ALL page {}", cursor.page);
        let call = Call::get("tasks")
            .q("filter", "ALL")
            .q("page", cursor.page)
            .q("page_size", self.tasks_page_size);
        let body = self.send_ok(&what, Repeat::Safe, &call).await?;
        let raw = Self::items_of(body, &what)?;
        let ctx = self.ctx().await?;
        let ids: Vec<i64> = raw.iter().filter_map(wire::id_of).collect();
        let print = paging::fingerprint(&ids);
        let next = paging::next(
            &cursor,
            raw.len(),
            self.tasks_page_size,
            print,
            self.max_pages,
        )?;
        let items = if next == Next::Repeated {
            Vec::new()
        } else {
            raw.iter()
                .map(|v| mapping::item(Kind::Task, v, &ctx))
                .collect()
        };
        let next = match next {
            Next::More(p) => Some(
                Cursor {
                    page: cursor.page + 1,
                    previous: p,
                    ..cursor
                }
                .token(),
            ),
            Next::Done | Next::Repeated => None,
        };
        Ok(Page { items, next })
    }

    /// The inclusive date range and `sort_by` a phase of an event listing asks for. With
    /// the account's zone unknown, change dates are placed as if in UTC: the day of margin
    /// each side covers every real offset (these are request bounds, not data).
    fn event_dates(phase: Phase, window: &Window, zone: Option<Zone>) -> (NaiveDate, NaiveDate) {
        let zone = zone.unwrap_or(Zone::UTC);
        match phase {
            // Start dates are local to each event (offsets within ±14 h): a day of margin
            // each side, then the exact half-open UTC window is applied here.
            Phase::Start => (
                (window.from - Duration::days(1)).date_naive(),
                (window.to + Duration::days(1)).date_naive(),
            ),
            // Change dates are in the account's zone, at day granularity: one day of
            // overlap before the cursor, one after (spec §9).
            Phase::Updated | Phase::Created => (
                zone.date_of(window.from - Duration::days(1)),
                zone.date_of(window.to) + Duration::days(1),
            ),
        }
    }

    async fn list_events(
        &self,
        scope: ListScope,
        token: Option<PageToken>,
    ) -> Result<Page, ProviderError> {
        let (window, first) = match scope {
            ListScope::StartedIn(w) => (w, Phase::Start),
            ListScope::ChangedIn(w) => (w, Phase::Updated),
            ListScope::All => {
                return Err(ProviderError::unsupported(
                    "listing every TrackingTime event at once: list by start-date window",
                ))
            }
        };
        let cursor = match &token {
            Some(t) => Cursor::parse(t)?,
            None => Cursor::first(first),
        };
        if (first == Phase::Start) != (cursor.phase == Phase::Start) {
            return Err(ProviderError::rejected(
                "page token belongs to another listing",
            ));
        }
        let ctx = self.ctx().await?;
        let (from, to) = Self::event_dates(cursor.phase, &window, ctx.account_zone);
        let (raw, print) = self
            .fetch_events(cursor.phase, cursor.page, from, to, None)
            .await?;
        let next = paging::next(
            &cursor,
            raw.len(),
            self.events_page_size,
            print,
            self.max_pages,
        )?;
        let items = if next == Next::Repeated {
            Vec::new()
        } else {
            raw.iter()
                .filter(|v| !(cursor.phase == Phase::Created && updated_within(v, from, to)))
                .map(|v| mapping::event(v, &ctx))
                .filter(|item| match (cursor.phase, item) {
                    (Phase::Start, PageItem::Record(r)) => match &r.record {
                        Record::TimeEntry(e) => window.contains(e.started_at),
                        _ => false,
                    },
                    _ => true,
                })
                .collect()
        };
        let next = match next {
            Next::More(p) => Some(Cursor {
                page: cursor.page + 1,
                previous: p,
                ..cursor
            }),
            Next::Done | Next::Repeated if cursor.phase == Phase::Updated => {
                Some(Cursor::first(Phase::Created))
            }
            Next::Done | Next::Repeated => None,
        };
        Ok(Page {
            items,
            next: next.map(|c| c.token()),
        })
    }

    /// The first page of the last year's events with their custom fields, for `doctor`:
    /// the form the listing answers in (T1) and an external id to search for (T9).
    async fn recent_events(&self) -> Result<(Vec<Value>, CustomFields), ProviderError> {
        let zone = self.ctx().await?.account_zone;
        let now = chrono::Utc::now();
        let window = Window::new(now - Duration::days(365), now);
        let (from, to) = Self::event_dates(Phase::Start, &window, zone);
        let call = Call::get("events")
            .q("filter", "COMPANY")
            .q("from", from.format("%Y-%m-%d"))
            .q("to", to.format("%Y-%m-%d"))
            .q("page", 0)
            .q("page_size", self.events_page_size)
            .q("include_custom_fields", "true");
        let what = format!("GET events {from}..{to} page 0 (custom fields)");
        let body = self.send_ok(&what, Repeat::Safe, &call).await?;
        let fields = custom_field_rows(&body);
        Ok((Self::items_of(body, &what)?, fields))
    }

    /// What the search by external id answers (T9): for an id one of `fields` carries,
    /// whether it finds that event; with none, what it answers for an id nothing carries.
    async fn search_answer(&self, fields: &CustomFields) -> Result<SearchAnswer, ProviderError> {
        let known = fields.iter().find_map(|(id, rows)| {
            rows.iter()
                .find(|(slug, _)| slug == mapping::THIRD_PARTY_ID)
                .map(|(_, value)| (*id, value.clone()))
        });
        let key = match &known {
            Some((_, value)) => value.clone(),
            None => format!("timeweave-doctor-{}", chrono::Utc::now().timestamp()),
        };
        let what = "GET search/events?type=ByExternalID";
        let answer = self
            .send(
                what,
                Repeat::Safe,
                &search_call(&key, None),
                &[400, 403, 404],
            )
            .await;
        let body = match answer {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                let why = format!("status {}: {}", e.status, e.message);
                return Ok(SearchAnswer::Unavailable(why));
            }
            Err(e) if !e.is_fatal_for_cycle() && !e.is_retryable() => {
                return Ok(SearchAnswer::Unavailable(e.to_string()))
            }
            Err(e) => return Err(e),
        };
        let ids: Vec<i64> = match body.data() {
            Value::Array(items) => items.iter().filter_map(wire::id_of).collect(),
            one => wire::id_of(one).into_iter().collect(),
        };
        Ok(match known {
            Some((id, _)) => SearchAnswer::Known {
                found: ids.contains(&id),
                others: ids.iter().filter(|i| **i != id).count(),
            },
            None => SearchAnswer::Unknown {
                answered: ids.len(),
            },
        })
    }

    /// One page of `GET events?filter=COMPANY` (or `filter=USER&id=` when `user` is given).
    async fn fetch_events(
        &self,
        phase: Phase,
        page: u32,
        from: NaiveDate,
        to: NaiveDate,
        user: Option<i64>,
    ) -> Result<(Vec<Value>, u64), ProviderError> {
        let mut call = Call::get("events");
        call = match user {
            Some(u) => call.q("filter", "USER").q("id", u),
            None => call.q("filter", "COMPANY"),
        };
        call = call
            .q("from", from.format("%Y-%m-%d"))
            .q("to", to.format("%Y-%m-%d"))
            .q("page", page)
            .q("page_size", self.events_page_size)
            .q("order", "asc");
        let sort = match phase {
            Phase::Start => None,
            Phase::Updated => Some("updated_at"),
            Phase::Created => Some("created_at"),
        };
        if let Some(s) = sort {
            call = call.q("sort_by", s);
        }
        let what = format!(
            "GET events {from}..{to}{} page {page}",
            sort.map(|s| format!(" sort_by={s}")).unwrap_or_default()
        );
        let body = self.send_ok(&what, Repeat::Safe, &call).await?;
        let raw = Self::items_of(body, &what)?;
        let ids: Vec<i64> = raw.iter().filter_map(wire::id_of).collect();
        Ok((raw, paging::fingerprint(&ids)))
    }

    // ---------------------------------------------------------------- single records

    fn path_of(kind: Kind) -> &'static str {
        match kind {
            Kind::Person => "users",
            Kind::Client => "customers",
            Kind::Project => "projects",
            Kind::Task => "tasks",
            Kind::TimeEntry => "events",
        }
    }

    fn one(
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
    async fn record_from(
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

    fn id_in(body: &Body, what: &str) -> Result<i64, ProviderError> {
        wire::id_of(body.data()).ok_or_else(|| {
            ProviderError::malformed(format!(
                "{what}: the answer names no id: {}",
                short(body.data())
            ))
        })
    }

    /// Archives (`close`) or reopens (`open`) a customer, project or task. PUT: customers
    /// answer POST with an HTML page (spec §3).
    async fn set_archived(&self, kind: Kind, id: i64, archived: bool) -> Result<(), ProviderError> {
        let verb = if archived { "close" } else { "open" };
        let path = format!("{}/{verb}/{id}", Self::path_of(kind));
        let what = format!("PUT {path}");
        self.send_ok(&what, Repeat::Safe, &Call::with(Method::PUT, path, None))
            .await
            .map(|_| ())
    }

    async fn create_once(
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
    async fn search_external_id(
        &self,
        key: &str,
        entry: &TimeEntry<RemoteId>,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        let call = search_call(key, Some(mapping::SERVICE_NAME));
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
    async fn find_event_by_content(
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

    // ---------------------------------------------------------------- webhooks

    /// Registers a callback for `event.created` and `event.updated` (spec §10, the official
    /// n8n trigger's call). Returns the webhook id and secret.
    pub async fn register_webhook(&self, url: &str) -> Result<WebhookRegistration, ProviderError> {
        let call = Call::get("webhooks/add")
            .q("url", url)
            .q("events", "event.created,event.updated")
            .q("grouped", "false");
        let what = "GET webhooks/add";
        let body = self.send_ok(what, Repeat::OnlyIfNotReceived, &call).await?;
        let id = Self::id_in(&body, what)?;
        let secret = body
            .data()
            .get("secret")
            .and_then(Value::as_str)
            .map(Secret::new);
        Ok(WebhookRegistration { id, secret })
    }

    /// The account's webhooks. Reads both `data: [...]` and the `{webhooks: {data: [...]}}`
    /// shape the n8n node expects.
    pub async fn list_webhooks(&self) -> Result<Vec<WebhookInfo>, ProviderError> {
        let call = Call::get("webhooks").q("filter", "ALL");
        let body = self.send_ok("GET webhooks", Repeat::Safe, &call).await?;
        let data = body.data();
        let nested = |v: &Value| v.get("webhooks").and_then(|w| w.get("data")).cloned();
        let list = match data {
            Value::Array(_) => data.clone(),
            _ => nested(data)
                .or_else(|| nested(&body.0))
                .unwrap_or(Value::Null),
        };
        let text = |v: &Value, keys: &[&str]| {
            keys.iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str))
                .map(str::to_owned)
        };
        Ok(list
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| {
                Some(WebhookInfo {
                    id: wire::id_of(v)?,
                    url: text(v, &["url", "callback_url"]),
                    events: text(v, &["events", "event_name"]),
                })
            })
            .collect())
    }

    /// Deletes a webhook (`GET webhooks/{id}/delete`, the official n8n call).
    pub async fn delete_webhook(&self, id: i64) -> Result<(), ProviderError> {
        let path = format!("webhooks/{id}/delete");
        let what = format!("GET {path}");
        self.send_ok(&what, Repeat::Safe, &Call::get(path))
            .await
            .map(|_| ())
    }
}

/// A JSON object as form parameters: text as is, numbers and flags written out, arrays
/// and objects as JSON strings (how TrackingTime reads `custom_fields` in forms, spec
/// §3); nulls are left out (T4: never sent as empty).
fn form_encode(body: &Value) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    if let Value::Object(map) = body {
        for (k, v) in map {
            let text = match v {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                Value::Array(_) | Value::Object(_) => v.to_string(),
            };
            out.append_pair(k, &text);
        }
    }
    out.finish()
}

/// Whether an event's `updated_at` falls in the inclusive date range (so the
/// `sort_by=updated_at` phase already listed it).
fn updated_within(v: &Value, from: NaiveDate, to: NaiveDate) -> bool {
    wire::read_event(v)
        .ok()
        .and_then(|e| e.updated_at)
        .as_deref()
        .and_then(parse_naive)
        .is_some_and(|t| (from..=to).contains(&t.date()))
}

/// The caller's workspaces: `/me` `teams`, and `data.account_id` (the selected one),
/// which `teams` may leave out (T7).
fn workspaces(me: &wire::Me) -> Vec<(i64, Option<String>)> {
    let mut out: Vec<(i64, Option<String>)> = me
        .teams
        .iter()
        .map(|t| (t.account_id, t.company.clone()))
        .collect();
    if let Some(a) = me.account_id.filter(|a| out.iter().all(|(id, _)| id != a)) {
        out.push((a, None));
    }
    out
}

/// The account's zone from `/me` (T3): an IANA name, an offset or a city label. One that
/// cannot be read is a warning naming it, and no zone (never UTC by default): events then
/// need their own `timezone`.
fn account_zone(me: &wire::Me) -> Option<Zone> {
    let Some(label) = me.zone_label() else {
        tracing::warn!(
            "TrackingTime GET /me names no time zone: events without their own timezone \
             will be skipped; set the user's time zone in TrackingTime"
        );
        return None;
    };
    match Zone::parse(label) {
        Ok(zone) => Some(zone),
        Err(e) => {
            tracing::warn!(
                timezone = label,
                "TrackingTime account time zone cannot be read ({e}): events without their \
                 own timezone will be skipped; set the user's time zone in TrackingTime"
            );
            None
        }
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(200).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

fn people_unsupported() -> ProviderError {
    ProviderError::unsupported(
        "writing TrackingTime users: people are invited and managed in TrackingTime itself",
    )
}

#[async_trait]
impl Provider for TrackingTimeAdapter {
    fn kind_name(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            person: KindSupport::READ_ONLY,
            client: KindSupport::FULL,
            project: KindSupport::FULL,
            task: KindSupport::FULL,
            time_entry: KindSupport::FULL,
            change_feed: true,
            entry_page_size: self.events_page_size,
            // TrackingTime does not reject a replayed create by itself; the adapter tags
            // creates with an external id and searches before re-sending instead.
            idempotent_create: false,
            // Users have no username; events carry no tags in the API the adapter uses;
            // the server computes an event's duration from start and end, so a break is
            // lost (T10); a customer e-mail written is not known to read back (responses
            // hold `contact`, null in every sample: T2).
            unheld: vec![
                Field::PersonUsername,
                Field::EntryTags,
                Field::EntryBreak,
                Field::ClientEmail,
            ],
            // Listed, edited in TrackingTime's app, but not reliably written through the
            // API: `events/add` documents no `is_billable` and billability seems computed
            // (T5); projects/add documents no billing parameters.
            read_only: vec![
                Field::EntryBillable,
                Field::ProjectBillable,
                Field::ProjectHourlyRate,
            ],
        }
    }

    async fn connect(&self) -> Result<ProviderInfo, ProviderError> {
        let s = self.discover().await?;
        *self.session.lock().await = Some(s.clone());
        Ok(ProviderInfo {
            server: format!("TrackingTime API {}", s.version.as_deref().unwrap_or("v4")),
            timezone: s.zone.map(|z| z.label()),
            account: Some(match &s.company {
                Some(c) => format!("account {} ({c}), user {}", s.account_id, s.user_id),
                None => format!("account {}, user {}", s.account_id, s.user_id),
            }),
        })
    }

    /// `/me`'s zone and the event listing's form (T1, T3).
    async fn observations(&self) -> Result<Vec<Observation>, ProviderError> {
        let session = self.session().await?;
        let zone = observe::account_zone(session.zone_label.as_deref(), session.zone.as_ref());
        let (events, fields) = self.recent_events().await?;
        let form = observe::event_form(events.first().map(wire::EventForm::of));
        let search = observe::search_by_external_id(&self.search_answer(&fields).await?);
        let email = self.customer_email_keys().await?.observation();
        let visibility = observe::sees_all_users(&session.user);
        Ok(vec![visibility, zone, form, search, email])
    }

    /// `/me`'s id.
    async fn own_person(&self) -> Result<Option<RemoteId>, ProviderError> {
        Ok(Some(RemoteId::from(self.session().await?.user_id)))
    }

    async fn rights(&self) -> Result<Rights, ProviderError> {
        let session = self.session().await?;
        Ok(observe::rights(&session.user, &self.capabilities()))
    }

    /// The account id (a workspace): the same under either API host.
    async fn account_identity(&self) -> Result<String, ProviderError> {
        match self.account_id().await {
            Some(id) => Ok(format!("TrackingTime account {id}")),
            None => Err(ProviderError::Setup {
                message: "TrackingTime: the account is not known before connecting".into(),
            }),
        }
    }

    async fn list_page(
        &self,
        kind: Kind,
        scope: ListScope,
        token: Option<PageToken>,
    ) -> Result<Page, ProviderError> {
        if kind != Kind::TimeEntry && scope != ListScope::All {
            return Err(ProviderError::unsupported(format!(
                "listing TrackingTime {kind}s by window: they are listed whole"
            )));
        }
        match kind {
            Kind::Person => self.list_whole(kind, "users").await,
            Kind::Client => self.list_whole(kind, "customers").await,
            Kind::Project => self.list_whole(kind, "projects").await,
            Kind::Task => self.list_tasks(token).await,
            Kind::TimeEntry => self.list_events(scope, token).await,
        }
    }

    async fn get(&self, kind: Kind, id: &RemoteId) -> Result<Option<RemoteRecord>, ProviderError> {
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

    async fn create(
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

    async fn update(
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

    async fn delete(&self, kind: Kind, id: &RemoteId) -> Result<(), ProviderError> {
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
                Some(_) => Err(envelope::to_error(e, &what)),
            },
        }
    }

    async fn find_created(
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

    fn check_writable(&self, op: WriteOp, record: &Record<RemoteId>) -> Result<(), ProviderError> {
        if let Record::Person(_) = record {
            return Err(people_unsupported());
        }
        if let (Record::TimeEntry(e), WriteOp::Create | WriteOp::Update) = (record, op) {
            if e.ended_at.is_none() {
                return Err(ProviderError::unsupported(
                    "a running time entry: TrackingTime events need an end (timers run on tasks)",
                ));
            }
            if e.kind != EntryKind::Work {
                return Err(ProviderError::unsupported(
                    "an attendance entry: TrackingTime only holds work events",
                ));
            }
            if e.client.is_some() && e.project.is_none() {
                return Err(ProviderError::unsupported(
                    "a booking on a client without a project: TrackingTime's events/add \
                     takes no customer (T5); book it on one of the client's projects",
                ));
            }
        }
        Ok(())
    }
}

/// The link an update meant to clear that the record still holds: an event's project
/// or task, a project's customer.
fn uncleared_link(sent: &Record<RemoteId>, kept: &Record<RemoteId>) -> Option<&'static str> {
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
fn same_work(found: &RemoteRecord, entry: &TimeEntry<RemoteId>) -> bool {
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

/// `GET search/events?type=ByExternalID` for `key` (spec §8.2; the parameter names are
/// unpublished, T9): `external_id`, and `service` when given.
fn search_call(key: &str, service: Option<&str>) -> Call {
    let call = Call::get("search/events")
        .q("type", "ByExternalID")
        .q("entity", "Event")
        .q("external_id", key);
    match service {
        Some(s) => call.q("service", s),
        None => call,
    }
    .q("include_custom_fields", "true")
}

/// Custom-field rows `(slug, value)` by event id.
type CustomFields = HashMap<i64, Vec<(String, String)>>;

/// The custom-field rows of a `set_custom_fields` sibling (`[{entity_id, slug, value}]`)
/// by event id, as `(slug, value)`; events without rows (or a missing or odd sibling)
/// are absent.
fn custom_field_rows(body: &Body) -> CustomFields {
    let mut out: CustomFields = HashMap::new();
    let rows = body
        .0
        .get("set_custom_fields")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for f in rows {
        let id = f
            .get("entity_id")
            .and_then(|id| id.as_i64().or_else(|| id.as_str()?.parse().ok()));
        let slug = f.get("slug").and_then(Value::as_str);
        let value = f.get("value").and_then(Value::as_str);
        if let (Some(id), Some(slug), Some(value)) = (id, slug, value) {
            out.entry(id)
                .or_default()
                .push((slug.to_owned(), value.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn form_bodies() {
        let body = serde_json::json!({"name": "A&B", "n": 3, "b": true, "gone": null,
                                      "custom_fields": [{"slug": "X", "value": "1"}]});
        let form = form_encode(&body);
        let pairs: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(form.as_bytes())
                .into_owned()
                .collect();
        assert_eq!(pairs["name"], "A&B");
        assert_eq!(pairs["n"], "3");
        assert_eq!(pairs["b"], "true");
        assert!(!pairs.contains_key("gone"), "nulls are left out (T4)");
        assert_eq!(pairs["custom_fields"], r#"[{"slug":"X","value":"1"}]"#);
    }

    #[test]
    fn event_date_ranges() {
        let w = Window::new(
            Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 11, 0, 0, 0).unwrap(),
        );
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let madrid = Zone::parse("Europe/Madrid").unwrap();
        assert_eq!(
            TrackingTimeAdapter::event_dates(Phase::Start, &w, Some(madrid)),
            (d("2026-03-09"), d("2026-03-12"))
        );
        // 2026-03-08 23:00 UTC is already the 9th in Madrid.
        let late = Window::new(Utc.with_ymd_and_hms(2026, 3, 9, 23, 0, 0).unwrap(), w.to);
        assert_eq!(
            TrackingTimeAdapter::event_dates(Phase::Updated, &late, Some(madrid)),
            (d("2026-03-09"), d("2026-03-12"))
        );
    }

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
