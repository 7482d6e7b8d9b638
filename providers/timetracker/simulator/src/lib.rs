//! A TimeTracker v1 server simulator, faithful to `shared/providers/timetracker-v1.md`
//! (v5.10.0 on SQLite by default), quirks and bugs included, each behind a documented switch
//! in [`SimOptions`]. It serves HTTP on a loopback port chosen by the OS (hyper, so faults can
//! drop a connection), keeps its state in memory, and stops when the [`SimServer`] is dropped.
//!
//! Start: `let sim = SimServer::start(SimOptions::default()).await;` then build an adapter
//! from `sim.settings()` (an admin token with `admin:all`).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
#![recursion_limit = "256"]

mod api_entries;
mod api_refs;
mod json;
mod options;
mod request;
mod serve;
mod store;
mod trail_log;

pub use options::{AwareBodyTimes, SimOptions};

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde_json::Value;
use timeweave_contract::{
    Client, Kind, Person, Project, Record, RemoteId, Secret, Task, TimeEntry,
};
use timeweave_simkit::{Fault, SimCredentials, SimRequest, SimulatorControl};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use request::{Body, Req, Resp};
use store::{ClientRec, EntryRec, ProjectRec, Store, TaskRec, User};
use timeweave_timetracker::mapping::{int_id, join_tags};
use timeweave_timetracker::time::utc_to_local;
use timeweave_timetracker::{Settings, KIND};

struct Faults {
    fault: Option<Fault>,
    /// Requests to let through before the fault starts.
    skip: u32,
    remaining: u32,
}

struct Shared {
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    connections: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn next_fault(&self) -> Option<Fault> {
        let mut f = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        if f.remaining == 0 {
            return None;
        }
        if f.skip > 0 {
            f.skip -= 1;
            return None;
        }
        f.remaining -= 1;
        let fault = f.fault;
        if f.remaining == 0 {
            f.fault = None;
        }
        fault
    }
}

/// A running simulator.
pub struct SimServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    admin_token: String,
    accept: JoinHandle<()>,
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.accept.abort();
        if let Ok(conns) = self.shared.connections.lock() {
            for c in conns.iter() {
                c.abort();
            }
        }
    }
}

impl SimServer {
    /// Starts a simulator on 127.0.0.1 with an admin user (id 1, `admin`) and an
    /// `admin:all` token for it.
    pub async fn start(opts: SimOptions) -> SimServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the simulator");
        Self::start_on(listener, opts).expect("local address")
    }

    /// Starts a simulator serving on `listener` (`timeweave demo --serve`'s fixed ports),
    /// with the same admin user and token as [`SimServer::start`].
    pub fn start_on(listener: TcpListener, opts: SimOptions) -> std::io::Result<SimServer> {
        let addr = listener.local_addr()?;
        let mut store = Store::new(opts);
        let now = store.utc_naive();
        let password = store.opts.admin_password.clone();
        store.users.insert(
            1,
            User {
                id: 1,
                username: "admin".into(),
                email: Some("admin@example.test".into()),
                full_name: Some("Admin".into()),
                role: "admin".into(),
                rbac_roles: Vec::new(),
                is_active: true,
                password: Some(password),
                created_at: now,
            },
        );
        let admin_token = store.new_token(1, &["admin:all"]);
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            faults: Mutex::new(Faults {
                fault: None,
                skip: 0,
                remaining: 0,
            }),
            connections: Mutex::new(Vec::new()),
        });
        let accept_shared = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let conn_shared = accept_shared.clone();
                let handle = tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let shared = conn_shared.clone();
                        async move { serve_one(shared, req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
                if let Ok(mut conns) = accept_shared.connections.lock() {
                    conns.retain(|c| !c.is_finished());
                    conns.push(handle.abort_handle());
                }
            }
        });
        Ok(SimServer {
            shared,
            addr,
            admin_token,
            accept,
        })
    }

    /// The server root (`http://127.0.0.1:port`); the adapter appends `/api/v1`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A request on `/api/v1/time-entries/{id}` with the admin token (and a JSON body).
    fn entry_request(
        &self,
        method: &'static str,
        id: &RemoteId,
        body: Option<String>,
    ) -> SimRequest {
        let mut headers = vec![(
            "Authorization".to_owned(),
            format!("Bearer {}", self.admin_token),
        )];
        if body.is_some() {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        SimRequest {
            method,
            url: format!("{}/api/v1/time-entries/{id}", self.url()),
            headers,
            body,
        }
    }

    /// Adapter settings with the admin token.
    pub fn settings(&self) -> Settings {
        Settings {
            base_url: self.url(),
            api_token: Secret::new(self.admin_token.clone()),
        }
    }

    /// Adapter settings with another token.
    pub fn settings_with_token(&self, token: &str) -> Settings {
        Settings {
            base_url: self.url(),
            api_token: Secret::new(token),
        }
    }

    pub fn admin_token(&self) -> String {
        self.admin_token.clone()
    }

    /// Adds a user (`role` "admin" or "user") and returns its id.
    pub fn add_user(
        &self,
        username: &str,
        email: Option<&str>,
        full_name: Option<&str>,
        role: &str,
    ) -> i64 {
        let mut s = self.shared.store();
        let id = s.next_id("users");
        let now = s.utc_naive();
        s.users.insert(
            id,
            User {
                id,
                username: username.into(),
                email: email.map(str::to_owned),
                full_name: full_name.map(str::to_owned),
                role: role.into(),
                rbac_roles: Vec::new(),
                is_active: true,
                password: None,
                created_at: now,
            },
        );
        s.audit("User", "created", id, None, Value::Null);
        id
    }

    /// Grants a user an RBAC role (`admin` and `super_admin` make an admin whatever the
    /// user's `role` field says; `/users/me` does not show RBAC roles).
    pub fn grant_rbac_role(&self, user_id: i64, role: &str) {
        if let Some(u) = self.shared.store().users.get_mut(&user_id) {
            u.rbac_roles.push(role.to_owned());
        }
    }

    /// Mints a token for a user with the given scopes (as the admin UI would).
    pub fn add_token(&self, user_id: i64, scopes: &[&str]) -> String {
        self.shared.store().new_token(user_id, scopes)
    }

    /// Sets when a token expires (401 "Token has expired" from then on).
    pub fn expire_token_at(&self, token: &str, at: DateTime<Utc>) {
        if let Some(t) = self.shared.store().tokens.get_mut(token) {
            t.expires_at = Some(at);
        }
    }

    /// Revokes a token.
    pub fn revoke_token(&self, token: &str) {
        if let Some(t) = self.shared.store().tokens.get_mut(token) {
            t.active = false;
        }
    }

    pub fn set_setup_required(&self, on: bool) {
        self.shared.store().opts.setup_required = on;
    }

    /// Freezes the simulator's clock at `at` (rate windows, `updated_at`, timers).
    pub fn freeze_clock(&self, at: DateTime<Utc>) {
        self.shared.store().clock.frozen = Some(at);
    }

    /// Moves the (frozen or real) clock forward.
    pub fn advance_clock(&self, by: Duration) {
        let mut s = self.shared.store();
        match s.clock.frozen.as_mut() {
            Some(t) => *t += by,
            None => s.clock.offset += by,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.shared.store().now_utc()
    }

    /// Adds an entry out of band with naive app-local times, exactly as a person would type
    /// them in the web app (DST gaps and folds included). Returns its id.
    pub fn add_entry_local(
        &self,
        user_id: i64,
        project_id: i64,
        start: NaiveDateTime,
        end: NaiveDateTime,
        notes: &str,
    ) -> i64 {
        let mut s = self.shared.store();
        let id = s.next_id("entries");
        let e = manual_entry(&s, id, user_id, project_id, (start, end), notes);
        s.insert_entry(e);
        s.web_app_entry_activity("created", id);
        id
    }

    /// Adds entries (user, naive app-local start and end, notes; on `project_id`) straight
    /// to the store with no audit row or activity, as if restored with the database: how a
    /// bench seeds an account of a million entries, which HTTP would take hours to. Returns
    /// their ids.
    pub fn seed_entries_local(
        &self,
        project_id: i64,
        entries: impl IntoIterator<Item = (i64, NaiveDateTime, NaiveDateTime, String)>,
    ) -> Vec<i64> {
        let mut s = self.shared.store();
        let mut ids = Vec::new();
        for (user_id, start, end, notes) in entries {
            let id = s.next_id("entries");
            let e = manual_entry(&s, id, user_id, project_id, (start, end), &notes);
            s.seed_entry(e);
            ids.push(id);
        }
        ids
    }

    /// Replaces a field of an entry's JSON with raw data (to test malformed records).
    pub fn corrupt_entry(&self, id: i64, field: &str, value: Value) -> bool {
        let mut s = self.shared.store();
        match s.entries.get_mut(&id) {
            Some(e) => {
                e.overrides.insert(field.to_owned(), value);
                true
            }
            None => false,
        }
    }

    /// The raw JSON the server would give for an entry (`None` if absent).
    pub fn entry_json(&self, id: i64) -> Option<Value> {
        let s = self.shared.store();
        s.entries.get(&id).map(|e| json::entry(&s, e))
    }

    /// The raw JSON the server would give for a task (`None` if absent).
    pub fn task_json(&self, id: i64) -> Option<Value> {
        let s = self.shared.store();
        s.tasks.get(&id).map(|t| json::task(&s, t))
    }

    /// The raw JSON the server would give for a project (`None` if absent).
    pub fn project_json(&self, id: i64) -> Option<Value> {
        let s = self.shared.store();
        s.projects.get(&id).map(|p| json::project(&s, p))
    }

    /// Every entry of a user, as stored (for assertions).
    pub fn entry_ids_of(&self, user_id: i64) -> BTreeSet<i64> {
        let s = self.shared.store();
        s.entries
            .values()
            .filter(|e| e.user_id == user_id)
            .map(|e| e.id)
            .collect()
    }

    /// Like `inject_faults`, but the first `skip` requests pass untouched (e.g. let a create
    /// land, then fail what follows it).
    pub fn inject_faults_after(&self, skip: u32, fault: Fault, count: u32) {
        let mut f = self.shared.faults.lock().unwrap_or_else(|p| p.into_inner());
        f.fault = Some(fault);
        f.skip = skip;
        f.remaining = count;
    }

    /// Changes the rate quotas at run time.
    pub fn set_rate_limits(&self, per_minute: u32, per_hour: u32) {
        let mut s = self.shared.store();
        s.opts.rate_limit_per_minute = per_minute;
        s.opts.rate_limit_per_hour = per_hour;
    }

    /// The options the simulator runs with (as changed at run time).
    pub fn options(&self) -> SimOptions {
        self.shared.store().opts.clone()
    }
}

async fn serve_one(
    shared: Arc<Shared>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<axum::body::Body>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(axum::body::Body::new(body), 16 * 1024 * 1024)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let (segments, query) = serve::split_target(parts.uri.path(), parts.uri.query());
    let headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    let request = Req {
        method: parts.method.as_str().to_owned(),
        segments,
        query,
        headers,
        body: bytes.to_vec(),
    };
    let fault = shared.next_fault();
    if fault == Some(Fault::Timeout) {
        let ms = shared.store().opts.timeout_fault_ms;
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let (resp, now) = {
        let mut store = shared.store();
        (serve::handle(&mut store, &request, fault), store.now_utc())
    };
    if resp.drop_connection || fault == Some(Fault::LoseResponse) {
        return Err(std::io::Error::other("simulated connection loss"));
    }
    Ok(to_http(
        resp,
        &request,
        now,
        fault == Some(Fault::TruncatedBody),
    ))
}

/// The HTTP `Date` of an answer: the simulator's clock (frozen or not), whole seconds, as
/// every real server sends it.
fn http_date(now: DateTime<Utc>) -> String {
    now.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn to_http(
    resp: Resp,
    req: &Req,
    now: DateTime<Utc>,
    truncate: bool,
) -> hyper::Response<axum::body::Body> {
    let (content_type, mut bytes) = match resp.body {
        Body::Json(v) => (
            "application/json",
            serde_json::to_vec(&v).unwrap_or_default(),
        ),
        Body::RawJson(b) => ("application/json", b),
        Body::Html(h) => ("text/html; charset=utf-8", h.into_bytes()),
        Body::Empty => ("text/plain", Vec::new()),
    };
    if truncate {
        bytes.truncate(bytes.len() / 2);
    }
    let mut builder = hyper::Response::builder()
        .status(resp.status)
        .header("Content-Type", content_type)
        .header("Date", http_date(now))
        .header(
            "Access-Control-Allow-Origin",
            req.header("origin").unwrap_or("*").to_owned(),
        );
    for (k, v) in resp.headers {
        builder = builder.header(k, v);
    }
    builder
        .body(axum::body::Body::from(bytes))
        .unwrap_or_else(|_| hyper::Response::new(axum::body::Body::empty()))
}

fn local_of(s: &Store, t: DateTime<Utc>) -> NaiveDateTime {
    utc_to_local(s.opts.timezone, timeweave_contract::model::whole_seconds(t))
}

/// A manual entry as the web app makes it (created and updated now).
fn manual_entry(
    s: &Store,
    id: i64,
    user_id: i64,
    project_id: i64,
    (start, end): (NaiveDateTime, NaiveDateTime),
    notes: &str,
) -> EntryRec {
    let now = s.local_naive();
    EntryRec {
        id,
        user_id,
        project_id: Some(project_id),
        client_id: None,
        task_id: None,
        start,
        end: Some(end),
        break_seconds: 0,
        paused_at: None,
        notes: Some(notes.to_owned()),
        tags: None,
        source: "manual",
        billable: true,
        paid: false,
        invoice_number: None,
        created_at: now,
        updated_at: now,
        overrides: serde_json::Map::new(),
    }
}

fn entry_from(
    s: &Store,
    id: i64,
    e: &TimeEntry<RemoteId>,
    created: Option<&EntryRec>,
) -> Option<EntryRec> {
    let user_id = int_id(&e.person)?;
    let project_id = e.project.as_ref().and_then(int_id);
    let now = s.local_naive();
    let tags = join_tags(&e.tags);
    Some(EntryRec {
        id,
        user_id,
        project_id,
        client_id: if project_id.is_some() {
            None
        } else {
            e.client.as_ref().and_then(int_id)
        },
        task_id: if project_id.is_some() {
            e.task.as_ref().and_then(int_id)
        } else {
            None
        },
        start: local_of(s, e.started_at),
        end: e.ended_at.map(|t| local_of(s, t)),
        break_seconds: e.break_seconds.max(0),
        paused_at: None,
        notes: e.notes.clone(),
        tags: (!tags.is_empty()).then_some(tags),
        source: if e.ended_at.is_some() {
            "manual"
        } else {
            "auto"
        },
        billable: e.billable,
        paid: created.is_some_and(|c| c.paid),
        invoice_number: created.and_then(|c| c.invoice_number.clone()),
        created_at: created.map_or(now, |c| c.created_at),
        updated_at: now,
        overrides: serde_json::Map::new(),
    })
}

impl SimulatorControl for SimServer {
    fn kind_name(&self) -> &'static str {
        KIND
    }

    fn base_url(&self) -> String {
        self.url()
    }

    fn credentials(&self) -> SimCredentials {
        SimCredentials {
            api_key: None,
            api_secret: self.admin_token.clone(),
            account_id: None,
        }
    }

    fn read_entry_request(&self, id: &RemoteId) -> Option<SimRequest> {
        Some(self.entry_request("GET", id, None))
    }

    fn edit_notes_request(&self, id: &RemoteId, notes: &str) -> Option<SimRequest> {
        let body = serde_json::json!({ "notes": notes }).to_string();
        Some(self.entry_request("PATCH", id, Some(body)))
    }

    fn add_person(&self, person: &Person) -> RemoteId {
        let username = person
            .username
            .clone()
            .unwrap_or_else(|| person.display_name.to_lowercase().replace(' ', "."));
        RemoteId::from(self.add_user(
            &username,
            person.email.as_deref(),
            Some(&person.display_name),
            "user",
        ))
    }

    fn add_client(&self, client: &Client) -> RemoteId {
        let mut s = self.shared.store();
        let id = s.next_id("clients");
        let now = s.utc_naive();
        s.clients.insert(
            id,
            ClientRec {
                id,
                name: client.name.clone(),
                email: client.email.clone(),
                description: client.notes.clone(),
                contact_person: None,
                phone: None,
                address: None,
                default_hourly_rate: None,
                custom_fields: serde_json::json!({}),
                status: if client.archived {
                    "inactive"
                } else {
                    "active"
                }
                .into(),
                created_by: 1,
                created_at: now,
                updated_at: now,
            },
        );
        s.audit("Client", "created", id, None, Value::Null);
        RemoteId::from(id)
    }

    fn add_project(&self, project: &Project<RemoteId>) -> RemoteId {
        let mut s = self.shared.store();
        let id = s.next_id("projects");
        let now = s.utc_naive();
        let client_id = project.client.as_ref().and_then(int_id).unwrap_or(0);
        s.projects.insert(
            id,
            ProjectRec {
                id,
                name: project.name.clone(),
                client_id,
                description: None,
                billable: project.billable,
                hourly_rate: project.hourly_rate_cents.map(|c| c as f64 / 100.0),
                code: None,
                status: if project.archived {
                    "archived"
                } else {
                    "active"
                }
                .into(),
                estimated_hours: None,
                budget_amount: None,
                billing_ref: None,
                created_by: 1,
                created_at: now,
                updated_at: now,
                archived_at: project.archived.then_some(now),
                archived_by: project.archived.then_some(1),
                archived_reason: None,
            },
        );
        s.audit("Project", "created", id, None, Value::Null);
        RemoteId::from(id)
    }

    fn add_task(&self, task: &Task<RemoteId>) -> RemoteId {
        let mut s = self.shared.store();
        let id = s.next_id("tasks");
        let now = s.local_naive();
        s.tasks.insert(
            id,
            TaskRec {
                id,
                project_id: int_id(&task.project).unwrap_or(0),
                name: task.name.clone(),
                description: None,
                status: if task.archived { "done" } else { "todo" }.into(),
                priority: "medium".into(),
                estimated_hours: None,
                due_date: None,
                assigned_to: None,
                created_by: 1,
                tags: None,
                created_at: now,
                updated_at: now,
                started_at: None,
                completed_at: task.archived.then_some(now),
            },
        );
        s.audit("Task", "created", id, None, Value::Null);
        RemoteId::from(id)
    }

    fn add_entry(&self, entry: &TimeEntry<RemoteId>) -> RemoteId {
        let mut s = self.shared.store();
        let id = s.next_id("entries");
        match entry_from(&s, id, entry, None) {
            Some(e) => {
                s.insert_entry(e);
                s.web_app_entry_activity("created", id);
                RemoteId::from(id)
            }
            None => RemoteId::new("invalid-person"),
        }
    }

    fn edit(&self, id: &RemoteId, record: &Record<RemoteId>) -> bool {
        let Some(n) = int_id(id) else { return false };
        let mut s = self.shared.store();
        let utc_now = s.utc_naive();
        let local_now = s.local_naive();
        match record {
            Record::TimeEntry(e) => {
                let Some(old) = s.entries.get(&n).cloned() else {
                    return false;
                };
                match entry_from(&s, n, e, Some(&old)) {
                    Some(new) => {
                        s.replace_entry(new);
                        s.web_app_entry_activity("updated", n);
                        true
                    }
                    None => false,
                }
            }
            Record::Client(c) => match s.clients.get_mut(&n) {
                Some(rec) => {
                    rec.name = c.name.clone();
                    rec.email = c.email.clone();
                    rec.description = c.notes.clone();
                    rec.status = if c.archived { "inactive" } else { "active" }.into();
                    rec.updated_at = utc_now;
                    s.audit("Client", "updated", n, None, Value::Null);
                    true
                }
                None => false,
            },
            Record::Project(p) => match s.projects.get_mut(&n) {
                Some(rec) => {
                    rec.name = p.name.clone();
                    if let Some(c) = p.client.as_ref().and_then(int_id) {
                        rec.client_id = c;
                    }
                    rec.billable = p.billable;
                    rec.hourly_rate = p.hourly_rate_cents.map(|c| c as f64 / 100.0);
                    rec.status = if p.archived { "archived" } else { "active" }.into();
                    rec.updated_at = utc_now;
                    s.audit("Project", "updated", n, None, Value::Null);
                    true
                }
                None => false,
            },
            Record::Task(t) => match s.tasks.get_mut(&n) {
                Some(rec) => {
                    rec.name = t.name.clone();
                    if let Some(p) = int_id(&t.project) {
                        rec.project_id = p;
                    }
                    let closed = matches!(rec.status.as_str(), "done" | "cancelled");
                    if t.archived != closed {
                        rec.status = if t.archived { "done" } else { "todo" }.into();
                    }
                    rec.updated_at = local_now;
                    s.audit("Task", "updated", n, None, Value::Null);
                    true
                }
                None => false,
            },
            Record::Person(p) => match s.users.get_mut(&n) {
                Some(u) => {
                    u.full_name = Some(p.display_name.clone());
                    u.email = p.email.clone();
                    if let Some(name) = &p.username {
                        u.username = name.clone();
                    }
                    s.audit("User", "updated", n, None, Value::Null);
                    true
                }
                None => false,
            },
        }
    }

    fn remove(&self, kind: Kind, id: &RemoteId) -> bool {
        let Some(n) = int_id(id) else { return false };
        let mut s = self.shared.store();
        match kind {
            Kind::TimeEntry => {
                if !s.entries.contains_key(&n) {
                    return false;
                }
                api_entries::delete_entry(&mut s, Some(1), n, None, "/time-entries");
                true
            }
            Kind::Task => {
                if !s.tasks.contains_key(&n) {
                    return false;
                }
                api_refs::delete_task(&mut s, n);
                true
            }
            Kind::Project => {
                if !s.projects.contains_key(&n) {
                    return false;
                }
                api_refs::archive_project(&mut s, n, Some(1));
                true
            }
            // The web app deletes clients (the API cannot).
            Kind::Client => {
                let gone = s.clients.remove(&n).is_some();
                if gone {
                    s.audit("Client", "deleted", n, None, Value::Null);
                }
                gone
            }
            Kind::Person => match s.users.get_mut(&n) {
                Some(u) => {
                    u.is_active = false;
                    s.audit("User", "updated", n, Some("is_active"), Value::Null);
                    true
                }
                None => false,
            },
        }
    }

    fn rename(&self, kind: Kind, id: &RemoteId, name: &str) -> bool {
        let Some(n) = int_id(id) else { return false };
        let mut s = self.shared.store();
        let utc_now = s.utc_naive();
        let local_now = s.local_naive();
        // Entries' denormalised names change without an updated_at bump (spec §6).
        let entity_type = match kind {
            Kind::Client => "Client",
            Kind::Project => "Project",
            _ => "Task",
        };
        let renamed = match kind {
            Kind::Client => s.clients.get_mut(&n).map(|c| {
                c.name = name.into();
                c.updated_at = utc_now;
            }),
            Kind::Project => s.projects.get_mut(&n).map(|p| {
                p.name = name.into();
                p.updated_at = utc_now;
            }),
            Kind::Task => s.tasks.get_mut(&n).map(|t| {
                t.name = name.into();
                t.updated_at = local_now;
            }),
            _ => None,
        }
        .is_some();
        if renamed {
            s.audit(entity_type, "updated", n, Some("name"), Value::Null);
        }
        renamed
    }

    fn inject_faults(&self, fault: Fault, count: u32) {
        let mut f = self.shared.faults.lock().unwrap_or_else(|p| p.into_inner());
        f.fault = Some(fault);
        f.skip = 0;
        f.remaining = count;
    }

    fn clear_faults(&self) {
        let mut f = self.shared.faults.lock().unwrap_or_else(|p| p.into_inner());
        f.fault = None;
        f.skip = 0;
        f.remaining = 0;
    }

    fn pending_faults(&self) -> u32 {
        let f = self.shared.faults.lock().unwrap_or_else(|p| p.into_inner());
        f.remaining
    }

    fn set_rate_limiting(&self, on: bool) {
        self.shared.store().opts.rate_limiting = on;
    }

    fn requests_served(&self) -> u64 {
        self.shared.store().requests
    }

    fn write_requests(&self) -> u64 {
        self.shared.store().write_requests
    }

    fn count(&self, kind: Kind) -> usize {
        let s = self.shared.store();
        match kind {
            Kind::Person => s.users.values().filter(|u| u.is_active).count(),
            Kind::Client => s.clients.len(),
            Kind::Project => s
                .projects
                .values()
                .filter(|p| p.status != "archived")
                .count(),
            Kind::Task => s.tasks.len(),
            Kind::TimeEntry => s.entries.len(),
        }
    }
}
