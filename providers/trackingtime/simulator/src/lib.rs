//! A TrackingTime v4 simulator faithful to `shared/providers/trackingtime-v4.md` §12: an
//! axum server on a loopback port with the API's routing (both path forms, `/me` and
//! `/teams` outside the account prefix), Basic auth with the username ignored, parameters
//! merged from query, form and JSON, errors inside HTTP-200 envelopes, large i64 ids,
//! naive timestamps with a per-event timezone, and every listed quirk as a documented
//! switch in [`SimOptions`]. It implements [`SimulatorControl`] for tests, the demo and the
//! benchmarks: seeding, out-of-band edits and deletes, fault injection, counters.
//!
//! Submodules: `params` (parameter merging), `store` (data and indexes), `routes` (the
//! endpoints), `render` (JSON forms), `http` (the server: auth, faults, envelopes).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod http;
mod params;
mod render;
mod routes;
mod store;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use serde_json::{json, Value};
use timeweave_contract::{
    Client, Kind, Person, Project, Record, RemoteId, Secret, Task, TimeEntry,
};
use timeweave_simkit::{Fault, Serving, SimCredentials, SimRequest, SimulatorControl};

use store::{Account, Customer, Event, User};
use timeweave_trackingtime::zone::{gmt_label, Zone};
use timeweave_trackingtime::Settings;

pub(crate) use timeweave_trackingtime::{THIRD_PARTY_ID, THIRD_PARTY_SERVICE};

/// The shape events are answered in (T1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EventForm {
    /// Abbreviated keys (`s`, `e`, `uid`, `ety`, ...): the documented "List Events" answer.
    #[default]
    Compact,
    /// Full keys (`start`, `end`, `user_id`, `event_type`, ...), as S8's generated model
    /// and older clients read them.
    Full,
}

/// The caller's role and permissions in the account, as `GET /me` lists them: by default
/// the documented shape (§7's get form: `role` and `permissions{…}` on the user object,
/// none in `teams[]`), naming only the one flag the spec documents,
/// `can_view_time_entries_from_others` (§8.2); every other shape is a switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerRights {
    /// `ADMIN`, `MANAGER`, `PROJECT_MANAGER` or `CO_WORKER` (§7.5).
    pub role: String,
    /// `can_view_time_entries_from_others` (and `can_view_others`): without it,
    /// `filter=COMPANY` answers only the caller's own events, silently (§8.2 believes the
    /// filter needs it; what the server does without it is unknown: the least helpful).
    pub view_others: bool,
    /// `can_edit_time_entries`: without it, `events/add|update|delete` answer an
    /// in-envelope 403 "No permission".
    pub edit_time_entries: bool,
    /// `can_edit_projects`: the same for `projects/*` writes.
    pub edit_projects: bool,
    /// `can_edit_tasks`: the same for `tasks/*` writes.
    pub edit_tasks: bool,
    /// `GET /me` carries a `permissions` object at all; off: none.
    pub listed: bool,
    /// `permissions` also names the edit flags of the documented user sample
    /// (`can_edit_time_entries`, `can_edit_projects_and_tasks`, `can_edit_projects`,
    /// `can_edit_tasks`), whose meaning no text documents; off (the default): only
    /// `can_view_time_entries_from_others`.
    pub lists_edit_flags: bool,
    /// `permissions` sits in each `teams[]` entry instead of on the user object (an
    /// earlier reading of the sample); off (the default): on the user object only.
    pub in_teams: bool,
}

impl CallerRights {
    /// The documented sample: an owner with the `ADMIN` role and every permission, of
    /// which `GET /me` names only the one documented flag.
    pub fn admin() -> CallerRights {
        CallerRights {
            role: "ADMIN".into(),
            view_others: true,
            edit_time_entries: true,
            edit_projects: true,
            edit_tasks: true,
            listed: true,
            lists_edit_flags: false,
            in_teams: false,
        }
    }
}

/// Every quirk and assumption of the simulator, each a switch. The defaults are the real
/// API's behaviour as the spec and `real-world-evidence.md` describe it, and the least
/// helpful reading where the evidence is unclear; [`SimOptions::strictest`] also turns
/// every unknown against the adapter.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The App Password accepted in Basic auth; the username is ignored (spec §2: a
    /// nonexistent e-mail or `x` still authenticates with an App Password).
    pub app_password: String,
    /// Optional `email:login_password` Basic auth (the original documented form, §2).
    pub login: Option<(String, String)>,
    /// The company name of the primary workspace.
    pub company: String,
    /// Further workspaces the caller belongs to (empty), for the "refuse to guess" case of
    /// `GET /me` with several teams (§1).
    pub extra_workspaces: Vec<String>,
    /// The account's zone: `created_at`/`updated_at` are written in it (release notes
    /// v4.80, §6) and `/me` reports it as the caller's `timezone`.
    pub account_timezone: String,
    /// The `timezone` of events seeded without a `source_tz`.
    pub default_event_timezone: String,
    /// Accept ISO `T`/`Z` timestamps in writes (unverified, §12.6); off: rejected with an
    /// error envelope, never silently normalised.
    pub accept_iso_timestamps: bool,
    /// `/events` `page_size` default (docs: 1,000; older clients assumed 50, §5).
    pub events_page_size_default: u32,
    /// `/events` `page_size` maximum (docs: 20,000).
    pub events_page_size_max: u32,
    /// `/tasks` `page_size` default (`/tasks/paginated` defaults to 500, v4.94.7).
    pub tasks_page_size_default: u32,
    /// `/events/flat` stops at this many rows even when more exist (S4 measured 5,000).
    pub flat_row_cap: Option<usize>,
    /// `/customers` ignores `page`: every page is the whole list (S4, §5).
    pub customers_ignore_page: bool,
    /// `POST customers/close|open` and `POST users/close|open` answer an HTML error page;
    /// PUT works (S3 CHANGELOG, §3).
    pub html_on_post_close: bool,
    /// Refuse requests without a User-Agent naming the app and a contact (the docs ask
    /// for one; what the real server does without it is unknown, so off by default: the
    /// simulator then only logs a warning).
    pub require_user_agent: bool,
    /// The in-envelope status of `GET /events/{id}` for a deleted event (404 or 500, §12.12).
    pub deleted_event_get_status: i64,
    /// `delete_all` when not given: `true` deletes a task's (or project's) events with it
    /// (the documented default, §8.4).
    pub delete_all_default: bool,
    /// Event answers (listings, get, add, update, search) use this form (T1).
    pub event_form: EventForm,
    /// The server computes an event's `duration` from `start` and `end` and ignores the
    /// one sent (release notes "now calculating duration on server", T10). Off: the old
    /// behaviour, where the given duration is stored (checked by
    /// `server_validates_duration`).
    pub server_computes_duration: bool,
    /// With `server_computes_duration` off: `duration` must fit between `start` and `end`
    /// (§12.11); off too: any given duration is stored.
    pub server_validates_duration: bool,
    /// `events/add|update` honour `is_billable` (not in the official schema, T5). Off: it
    /// is ignored and an event is billable as its project is (billable without one).
    pub event_billable_param: bool,
    /// `events/add|update` honour `customer_id` for an event without a project (not in the
    /// official schema, T5). Off: ignored.
    pub event_customer_param: bool,
    /// Customers answer the written `contact_email` in `contact` (unconfirmed, T2). Off:
    /// `contact` is null, as in every documented sample.
    pub customer_contact_echo: bool,
    /// `GET /me` gives the account's zone as its IANA name (`timezone`, `timezone_iana`).
    /// Off: as the documented user does, a city label (`"Madrid"`) in `timezone` and
    /// `settings.timezone`, and `timezone_iana: null` (T3).
    pub me_timezone_iana: bool,
    /// `GET /me` `teams[]` leaves out the account the caller is in (anonymised samples
    /// show it can, T7).
    pub teams_omit_account: bool,
    /// `tasks/stop` answers 500 when its `timezone` differs from the start's (S14 claim).
    pub stop_timezone_must_match: bool,
    /// `projects/add|update` honour `is_billable` and `hourly_rate` (undocumented for
    /// projects; `tasks/add` takes `is_billable` per the official MCP). Off: ignored like
    /// any unknown parameter, and a new project is billable without a rate (as the
    /// documented sample project).
    pub accept_project_billing_params: bool,
    /// Webhook callbacks are POSTed this long after the change (the server batches them).
    pub webhook_delay: Duration,
    /// How long `Fault::Timeout` holds an answer back (longer than the client's timeout).
    /// The request itself is carried out first, as a slow server would.
    pub timeout_delay: Duration,
    /// Every answer is delayed this long (slow-server fault injection, §12.16).
    pub slow_responses: Option<Duration>,
    /// With rate limiting on, requests beyond this many per second answer HTTP 429
    /// (never observed on the real API, §9, but the adapter must survive it).
    pub rate_limit_per_second: u32,
    /// The `Retry-After` (seconds) of rate-limit answers; `None` sends none.
    pub rate_limit_retry_after: Option<u64>,
    /// Every n-th request answers an HTML 502 gateway page (background flakiness).
    pub html_502_every: Option<u64>,
    /// `GET search/events?type=ByExternalID` is served (from the official n8n node, §8.2;
    /// its parameter names are not published: the simulator reads `external_id` and an
    /// optional `service`). Off: the route answers 400 "doesn't exist", as an account or
    /// server without it might.
    pub search_by_external_id: bool,
    /// The search ignores `external_id` (as a server reading another parameter name would,
    /// since the names are not published) and answers every event of the account.
    pub search_ignores_external_id: bool,
    /// The search answers `set_custom_fields` when asked (`include_custom_fields`), as
    /// `/events` does; off: no custom fields come back (unknown for the real search).
    pub search_returns_custom_fields: bool,
    /// JSON request bodies are read (release notes v4.92.8, May 2023: "Added support for
    /// sending JSON in the body of POST requests"). Off: an older server, which reads only
    /// the query string and form bodies.
    pub accept_json_body: bool,
    /// The caller's role and permissions (the documented sample's admin by default).
    pub caller: CallerRights,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            app_password: "sim-app-password".into(),
            login: None,
            company: "Simulated Company".into(),
            extra_workspaces: Vec::new(),
            account_timezone: "Europe/Madrid".into(),
            default_event_timezone: "GMT+01:00".into(),
            accept_iso_timestamps: false,
            events_page_size_default: 1000,
            events_page_size_max: 20_000,
            tasks_page_size_default: 1000,
            flat_row_cap: Some(5000),
            customers_ignore_page: true,
            html_on_post_close: true,
            require_user_agent: false,
            deleted_event_get_status: 404,
            delete_all_default: true,
            event_form: EventForm::Compact,
            server_computes_duration: true,
            server_validates_duration: true,
            event_billable_param: false,
            event_customer_param: false,
            customer_contact_echo: false,
            me_timezone_iana: false,
            teams_omit_account: false,
            stop_timezone_must_match: false,
            accept_project_billing_params: false,
            webhook_delay: Duration::from_millis(100),
            timeout_delay: Duration::from_secs(35),
            slow_responses: None,
            rate_limit_per_second: 5,
            rate_limit_retry_after: Some(1),
            html_502_every: None,
            search_by_external_id: true,
            search_ignores_external_id: false,
            search_returns_custom_fields: true,
            accept_json_body: true,
            caller: CallerRights::admin(),
        }
    }
}

impl SimOptions {
    /// Every unknown turned against the adapter: compact events, durations computed by the
    /// server, billing, customer and billable parameters ignored, no e-mail read back, a
    /// city label for the account zone, no JSON bodies (forms only), no search by external
    /// id, deleted events answering the generic 500, a User-Agent required, `/me` teams
    /// without the account, and the stop timezone checked.
    pub fn strictest() -> SimOptions {
        SimOptions {
            event_form: EventForm::Compact,
            server_computes_duration: true,
            event_billable_param: false,
            event_customer_param: false,
            customer_contact_echo: false,
            me_timezone_iana: false,
            teams_omit_account: true,
            accept_project_billing_params: false,
            accept_iso_timestamps: false,
            accept_json_body: false,
            search_by_external_id: false,
            search_returns_custom_fields: false,
            deleted_event_get_status: 500,
            require_user_agent: true,
            stop_timezone_must_match: true,
            customers_ignore_page: true,
            html_on_post_close: true,
            delete_all_default: true,
            events_page_size_default: 50,
            ..SimOptions::default()
        }
    }
}

/// An event as the simulator stores it: naive times in `timezone`, `created_at` and
/// `updated_at` in the account's zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEvent {
    pub start: String,
    pub end: Option<String>,
    pub timezone: String,
    pub created_at: String,
    pub updated_at: Option<String>,
}

/// One request as the simulator saw it (for tests that check what the adapter sent).
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    /// The path after `/api/v4`, e.g. `/2147483700/events`.
    pub path: String,
    /// The merged parameters.
    pub params: Value,
    /// The Basic auth username (never the password).
    pub username: Option<String>,
    pub user_agent: Option<String>,
}

/// The whole simulated service.
pub struct World {
    pub(crate) opts: SimOptions,
    next_id: i64,
    pub(crate) accounts: BTreeMap<i64, Account>,
    pub(crate) primary: i64,
    pub(crate) caller: i64,
    clock: Option<DateTime<Utc>>,
    faults: VecDeque<Fault>,
    requests: u64,
    /// Requests to a write route or with a write method (`write_requests`).
    pub(crate) write_requests: u64,
    rate_limiting: bool,
    rate_window: (Option<std::time::Instant>, u32),
    log: VecDeque<LoggedRequest>,
    /// Webhook callbacks waiting to be sent: (url, body).
    outbox: Vec<(String, Value)>,
    /// In-envelope errors the next requests answer (HTTP 200, `response.status` != 200).
    envelope_errors: VecDeque<(i64, String)>,
}

/// Ids start above 2^31 so that i32 bugs surface (§12.5).
const FIRST_ID: i64 = (1 << 31) + 1_000;

impl World {
    fn new(opts: SimOptions) -> World {
        let mut w = World {
            opts,
            next_id: FIRST_ID,
            accounts: BTreeMap::new(),
            primary: 0,
            caller: 0,
            clock: None,
            faults: VecDeque::new(),
            requests: 0,
            write_requests: 0,
            rate_limiting: false,
            rate_window: (None, 0),
            log: VecDeque::new(),
            outbox: Vec::new(),
            envelope_errors: VecDeque::new(),
        };
        let primary = w.new_id();
        w.primary = primary;
        w.accounts
            .insert(primary, Account::new(primary, w.opts.company.clone()));
        for company in w.opts.extra_workspaces.clone() {
            let id = w.new_id();
            w.accounts.insert(id, Account::new(id, company));
        }
        let caller = w.new_id();
        w.caller = caller;
        let now = w.now_account();
        let owner = User {
            id: caller,
            name: "Sim".into(),
            surname: "Owner".into(),
            email: "owner@sim.example".into(),
            role: "ADMIN",
            is_archived: false,
            created_at: now,
        };
        for a in w.accounts.values_mut() {
            a.users.insert(caller, owner.clone());
        }
        w
    }

    pub(crate) fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn now_utc(&self) -> DateTime<Utc> {
        self.clock.unwrap_or_else(Utc::now)
    }

    pub(crate) fn account_zone(&self) -> Zone {
        Zone::parse(&self.opts.account_timezone).unwrap_or(Zone::UTC)
    }

    /// Now, as a naive time in the account's zone (how `created_at`/`updated_at` read).
    pub(crate) fn now_account(&self) -> NaiveDateTime {
        self.account_zone()
            .from_utc(self.now_utc())
            .with_nanosecond(0)
            .unwrap_or_default()
    }

    /// Queues webhook callbacks for a change (only event.created / event.updated exist).
    pub(crate) fn notify(&mut self, acct: i64, event: &str, id: i64) {
        let Some(a) = self.accounts.get(&acct) else {
            return;
        };
        for h in a
            .webhooks
            .values()
            .filter(|h| h.events.iter().any(|e| e == event))
        {
            self.outbox
                .push((h.url.clone(), json!({"event": event, "data": {"id": id}})));
        }
    }

    fn primary(&mut self) -> &mut Account {
        let p = self.primary;
        self.accounts
            .get_mut(&p)
            .expect("the primary account exists")
    }
}

struct Shared {
    world: Mutex<World>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock leaves consistent data (every change is one
        // statement on the maps); keep serving.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running simulator; stops when dropped.
pub struct SimServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _serving: Serving,
}

impl SimServer {
    /// Starts a simulator on 127.0.0.1 with an OS-chosen port.
    pub async fn start(opts: SimOptions) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::start_on(listener, opts)
    }

    /// Starts a simulator serving on `listener` (`timeweave demo --serve`'s fixed ports).
    pub fn start_on(
        listener: tokio::net::TcpListener,
        opts: SimOptions,
    ) -> std::io::Result<SimServer> {
        let shared = Arc::new(Shared {
            world: Mutex::new(World::new(opts)),
        });
        let app = http::router(shared.clone());
        let serving = Serving::start(listener, app, "trackingtime")?;
        Ok(SimServer {
            addr: serving.addr(),
            shared,
            _serving: serving,
        })
    }

    /// Settings for an adapter against this simulator (account id left to discovery).
    pub fn settings(&self) -> Settings {
        Settings {
            base_url: self.base_url(),
            app_password: Secret::new(self.shared.lock().opts.app_password.clone()),
            account_id: None,
            contact: "tests@timeweave.example".into(),
        }
    }

    /// The primary workspace's account id.
    pub fn account_id(&self) -> i64 {
        self.shared.lock().primary
    }

    /// The account ids of the extra workspaces.
    pub fn extra_account_ids(&self) -> Vec<i64> {
        let w = self.shared.lock();
        w.accounts
            .keys()
            .copied()
            .filter(|&a| a != w.primary)
            .collect()
    }

    /// The API user (the owner of the app password).
    pub fn caller_id(&self) -> i64 {
        self.shared.lock().caller
    }

    /// Freezes the simulator's clock at `t` (`None`: the real clock again). Records made
    /// while it is set carry that `created_at`/`updated_at`.
    pub fn set_clock(&self, t: Option<DateTime<Utc>>) {
        self.shared.lock().clock = t;
    }

    /// Changes options on the fly.
    pub fn configure(&self, f: impl FnOnce(&mut SimOptions)) {
        f(&mut self.shared.lock().opts)
    }

    /// The next `count` authenticated requests answer HTTP 200 with an error envelope of
    /// `status` (500 generic, 502 timer conflict, 404, 403, 402 suspended, ...).
    pub fn inject_envelope_error(&self, status: i64, message: &str, count: u32) {
        let mut w = self.shared.lock();
        for _ in 0..count {
            w.envelope_errors.push_back((status, message.to_owned()));
        }
    }

    /// The requests seen so far (the latest 2,000).
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.iter().cloned().collect()
    }

    pub fn clear_request_log(&self) {
        self.shared.lock().log.clear();
    }

    /// Seeds a task with no name (TrackingTime allows `null`).
    pub fn add_unnamed_task(&self, project: &RemoteId) -> RemoteId {
        let id = self.add_task(&Task {
            project: project.clone(),
            name: "x".into(),
            archived: false,
        });
        let mut w = self.shared.lock();
        if let Some(t) = w.primary().tasks.get_mut(&parse(&id)) {
            t.name = None;
        }
        id
    }

    /// Seeds a task with no project.
    pub fn add_orphan_task(&self, name: &str) -> RemoteId {
        let mut w = self.shared.lock();
        let id = w.new_id();
        let now = w.now_account();
        w.primary().tasks.insert(
            id,
            store::Task::new(id, Some(name.into()), None, "PERSONAL".into(), now),
        );
        RemoteId::from(id)
    }

    /// Seeds a non-work event (time off) of a user.
    pub fn add_time_off(&self, person: &RemoteId, start: DateTime<Utc>, hours: i64) -> RemoteId {
        let entry = timeweave_simkit::work_entry(person, None, start, hours * 60, "time off");
        let entry = TimeEntry {
            started_at: start,
            ended_at: Some(start + chrono::Duration::hours(hours)),
            ..entry
        };
        let id = self.add_entry(&entry);
        let mut w = self.shared.lock();
        let n = parse(&id);
        if let Some(mut e) = w.primary().take_event(n) {
            e.event_type = "TIME_OFF".into();
            w.primary().put_event(e);
        }
        id
    }

    /// Custom field values of an event.
    pub fn custom_fields(&self, event: &RemoteId) -> Vec<(String, String)> {
        let mut w = self.shared.lock();
        w.primary()
            .events
            .get(&parse(event))
            .map(|e| e.custom_fields.clone())
            .unwrap_or_default()
    }

    /// Sets a custom field of an event out of band, as another integration tagging it
    /// would (e.g. `EVENT_THIRD_PARTY_ID`, which the search by external id finds).
    pub fn set_custom_field(&self, event: &RemoteId, slug: &str, value: &str) {
        let mut w = self.shared.lock();
        let a = w.primary();
        if let Some(mut e) = a.take_event(parse(event)) {
            e.custom_fields.retain(|(s, _)| s != slug);
            e.custom_fields.push((slug.to_owned(), value.to_owned()));
            a.put_event(e);
        }
    }

    /// An event's fields as stored (naive strings, as the API shows them).
    pub fn raw_event(&self, event: &RemoteId) -> Option<RawEvent> {
        use timeweave_trackingtime::zone::format_naive as f;
        let mut w = self.shared.lock();
        w.primary().events.get(&parse(event)).map(|e| RawEvent {
            start: f(e.start),
            end: e.end.map(f),
            timezone: e.timezone.clone(),
            created_at: f(e.created_at),
            updated_at: e.updated_at.map(f),
        })
    }

    /// Whether a customer, project, task or user is archived (`None`: unknown id).
    pub fn is_archived(&self, kind: Kind, id: &RemoteId) -> Option<bool> {
        let mut w = self.shared.lock();
        let a = w.primary();
        let n = parse(id);
        match kind {
            Kind::Client => a.customers.get(&n).map(|c| c.is_archived),
            Kind::Project => a.projects.get(&n).map(|c| c.is_archived),
            Kind::Task => a.tasks.get(&n).map(|c| c.is_archived),
            Kind::Person => a.users.get(&n).map(|c| c.is_archived),
            Kind::TimeEntry => None,
        }
    }

    /// Registered webhooks: (id, url).
    pub fn webhooks(&self) -> Vec<(i64, String)> {
        let mut w = self.shared.lock();
        w.primary()
            .webhooks
            .values()
            .map(|h| (h.id, h.url.clone()))
            .collect()
    }
}

fn parse(id: &RemoteId) -> i64 {
    id.as_str().parse().unwrap_or(-1)
}

fn entry_zone(w: &World, e: &TimeEntry<RemoteId>) -> (Zone, String) {
    let given = e.source_tz.as_deref().and_then(|z| Zone::parse(z).ok());
    let zone =
        given.unwrap_or_else(|| Zone::parse(&w.opts.default_event_timezone).unwrap_or(Zone::UTC));
    let label = match zone {
        Zone::Fixed(o) => gmt_label(o),
        Zone::Named(tz) => tz.name().to_owned(),
    };
    (zone, label)
}

fn event_from_entry(
    w: &World,
    id: i64,
    e: &TimeEntry<RemoteId>,
    created_at: NaiveDateTime,
) -> Event {
    let (zone, timezone) = entry_zone(w, e);
    // Entered in the web app: the server computes the duration there too (T10).
    let duration = if w.opts.server_computes_duration {
        e.ended_at.map(|end| (end - e.started_at).num_seconds())
    } else {
        e.duration_seconds.or_else(|| e.computed_duration())
    }
    .unwrap_or(0);
    let project_id = e.project.as_ref().map(parse);
    Event {
        id,
        user_id: parse(&e.person),
        task_id: e.task.as_ref().map(parse),
        project_id,
        customer_id: if project_id.is_some() {
            None
        } else {
            e.client.as_ref().map(parse)
        },
        start: zone.from_utc(e.started_at),
        end: e.ended_at.map(|t| zone.from_utc(t)),
        duration: if e.ended_at.is_some() { duration } else { 0 },
        timezone,
        notes: e.notes.clone(),
        is_billable: e.billable,
        is_billed: false,
        event_type: "WORK".into(),
        created_at,
        updated_at: None,
        custom_fields: Vec::new(),
    }
}

fn split_name(display: &str) -> (String, String) {
    match display.trim().split_once(' ') {
        Some((a, b)) => (a.to_owned(), b.trim().to_owned()),
        None => (display.trim().to_owned(), String::new()),
    }
}

impl SimulatorControl for SimServer {
    fn kind_name(&self) -> &'static str {
        timeweave_trackingtime::KIND
    }

    fn base_url(&self) -> String {
        format!("http://{}/api/v4", self.addr)
    }

    fn credentials(&self) -> SimCredentials {
        let w = self.shared.lock();
        SimCredentials {
            api_key: None,
            api_secret: w.opts.app_password.clone(),
            account_id: Some(w.primary.to_string()),
        }
    }

    /// `GET /api/v4/{account}/events/{id}`, Basic `API_TOKEN:<app password>`, and a
    /// User-Agent naming the app and a contact, as TrackingTime asks.
    fn read_entry_request(&self, id: &RemoteId) -> Option<SimRequest> {
        let (account, password) = {
            let w = self.shared.lock();
            (w.primary, w.opts.app_password.clone())
        };
        let basic = http::encode_base64(format!("API_TOKEN:{password}").as_bytes());
        Some(SimRequest {
            method: "GET",
            url: format!("{}/{account}/events/{id}", self.base_url()),
            headers: vec![
                ("Authorization".to_owned(), format!("Basic {basic}")),
                (
                    "User-Agent".to_owned(),
                    "timeweave-demo (demo@example.com)".to_owned(),
                ),
            ],
            body: None,
        })
    }

    fn add_person(&self, person: &Person) -> RemoteId {
        let mut w = self.shared.lock();
        let id = w.new_id();
        let now = w.now_account();
        let (name, surname) = split_name(&person.display_name);
        w.primary().users.insert(
            id,
            User {
                id,
                name,
                surname,
                email: person.email.clone().unwrap_or_default(),
                role: "CO_WORKER",
                is_archived: false,
                created_at: now,
            },
        );
        RemoteId::from(id)
    }

    fn add_client(&self, client: &Client) -> RemoteId {
        let mut w = self.shared.lock();
        let id = w.new_id();
        let now = w.now_account();
        w.primary().customers.insert(
            id,
            Customer {
                notes: client.notes.clone(),
                contact_email: client.email.clone(),
                is_archived: client.archived,
                ..Customer::new(id, client.name.clone(), now)
            },
        );
        RemoteId::from(id)
    }

    fn add_project(&self, project: &Project<RemoteId>) -> RemoteId {
        let mut w = self.shared.lock();
        let id = w.new_id();
        let now = w.now_account();
        w.primary().projects.insert(
            id,
            store::Project {
                hourly_rate: project.hourly_rate_cents.map(|c| c as f64 / 100.0),
                is_archived: project.archived,
                ..store::Project::new(
                    id,
                    project.name.clone(),
                    project.client.as_ref().map(parse),
                    project.billable,
                    now,
                )
            },
        );
        RemoteId::from(id)
    }

    fn add_task(&self, task: &Task<RemoteId>) -> RemoteId {
        let mut w = self.shared.lock();
        let id = w.new_id();
        let now = w.now_account();
        w.primary().tasks.insert(
            id,
            store::Task {
                is_archived: task.archived,
                ..store::Task::new(
                    id,
                    Some(task.name.clone()),
                    Some(parse(&task.project)),
                    "EVERYONE".into(),
                    now,
                )
            },
        );
        RemoteId::from(id)
    }

    fn add_entry(&self, entry: &TimeEntry<RemoteId>) -> RemoteId {
        let mut w = self.shared.lock();
        let id = w.new_id();
        let now = w.now_account();
        let e = event_from_entry(&w, id, entry, now);
        w.primary().put_event(e);
        RemoteId::from(id)
    }

    fn edit(&self, id: &RemoteId, record: &Record<RemoteId>) -> bool {
        let mut w = self.shared.lock();
        let n = parse(id);
        let now = w.now_account();
        let primary = w.primary;
        match record {
            Record::TimeEntry(entry) => {
                let Some(old) = w.primary().take_event(n) else {
                    return false;
                };
                let mut e = event_from_entry(&w, n, entry, old.created_at);
                e.custom_fields = old.custom_fields;
                e.updated_at = Some(now);
                w.primary().put_event(e);
                w.notify(primary, "event.updated", n);
                true
            }
            Record::Client(c) => w
                .primary()
                .customers
                .get_mut(&n)
                .map(|x| {
                    x.name = c.name.clone();
                    x.notes = c.notes.clone();
                    x.contact_email = c.email.clone();
                    x.is_archived = c.archived;
                    x.updated_at = Some(now);
                })
                .is_some(),
            Record::Project(p) => w
                .primary()
                .projects
                .get_mut(&n)
                .map(|x| {
                    x.name = p.name.clone();
                    x.customer_id = p.client.as_ref().map(parse);
                    x.is_billable = p.billable;
                    x.hourly_rate = p.hourly_rate_cents.map(|c| c as f64 / 100.0);
                    x.is_archived = p.archived;
                    x.updated_at = Some(now);
                })
                .is_some(),
            Record::Task(t) => w
                .primary()
                .tasks
                .get_mut(&n)
                .map(|x| {
                    x.name = Some(t.name.clone());
                    x.project_id = Some(parse(&t.project));
                    x.is_archived = t.archived;
                    x.updated_at = Some(now);
                })
                .is_some(),
            Record::Person(p) => w
                .primary()
                .users
                .get_mut(&n)
                .map(|u| {
                    let (name, surname) = split_name(&p.display_name);
                    u.name = name;
                    u.surname = surname;
                    u.email = p.email.clone().unwrap_or_default();
                })
                .is_some(),
        }
    }

    /// Deletes as the web app does: events and customers and projects are deleted (a
    /// task's events go with it, the default `delete_all`), users are archived.
    fn remove(&self, kind: Kind, id: &RemoteId) -> bool {
        let mut w = self.shared.lock();
        let n = parse(id);
        let a = w.primary();
        match kind {
            Kind::TimeEntry => a.take_event(n).is_some(),
            Kind::Client => a.customers.remove(&n).is_some(),
            Kind::Project => a.projects.remove(&n).is_some(),
            Kind::Task => {
                let gone = a.tasks.remove(&n).is_some();
                for e in a.by_task.remove(&n).unwrap_or_default() {
                    a.take_event(e);
                }
                gone
            }
            Kind::Person => a.users.get_mut(&n).map(|u| u.is_archived = true).is_some(),
        }
    }

    fn rename(&self, kind: Kind, id: &RemoteId, name: &str) -> bool {
        let mut w = self.shared.lock();
        let n = parse(id);
        let a = w.primary();
        match kind {
            Kind::Client => a
                .customers
                .get_mut(&n)
                .map(|c| c.name = name.into())
                .is_some(),
            Kind::Project => a
                .projects
                .get_mut(&n)
                .map(|c| c.name = name.into())
                .is_some(),
            Kind::Task => a
                .tasks
                .get_mut(&n)
                .map(|c| c.name = Some(name.into()))
                .is_some(),
            _ => false,
        }
    }

    fn inject_faults(&self, fault: Fault, count: u32) {
        let mut w = self.shared.lock();
        for _ in 0..count {
            w.faults.push_back(fault);
        }
    }

    fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    fn pending_faults(&self) -> u32 {
        self.shared.lock().faults.len() as u32
    }

    fn set_rate_limiting(&self, on: bool) {
        let mut w = self.shared.lock();
        w.rate_limiting = on;
        w.rate_window = (None, 0);
    }

    fn requests_served(&self) -> u64 {
        self.shared.lock().requests
    }

    fn write_requests(&self) -> u64 {
        self.shared.lock().write_requests
    }

    fn count(&self, kind: Kind) -> usize {
        let mut w = self.shared.lock();
        let a = w.primary();
        match kind {
            Kind::Person => a.users.len(),
            Kind::Client => a.customers.len(),
            Kind::Project => a.projects.len(),
            Kind::Task => a.tasks.len(),
            Kind::TimeEntry => a.events.len(),
        }
    }
}
