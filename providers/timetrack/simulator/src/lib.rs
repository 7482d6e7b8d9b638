//! A TimeTrack v2 simulator faithful to `shared/providers/timetrack-v2.md` §5: an axum server
//! on a loopback port serving `/api/v2/ext/...` with both auth headers, bare-array paging,
//! substring name filters, the `username` filter, required-field 422s, update restrictions,
//! soft delete answered with 404 code 15020, the error envelope, a 30/min rolling throttle,
//! name-based links, out-of-band changes, fault injection and the documented quirks. Every
//! assumption is a switch in [`SimOptions`].
//!
//! Expenses, absences, absence types and work reports are simulated too (timeweave does not
//! sync them, but the API is whole); the project and attendance timers answer 501.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod control;
mod http;
mod options;
mod store;
mod throttle;

pub use http::BASE_PATH;
pub use options::{
    CreateAnswer, ForbiddenField, FromToSemantics, LimitAboveMax, SimOptions, Throttle,
    UpdateAnswer,
};
pub use store::codes;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use timeweave_contract::{RemoteId, Secret};
use timeweave_simkit::{Fault, Serving};

use store::{Resource, Store};
use throttle::RollingWindow;
use timeweave_timetrack::mapping::{parse_entry_id, EntryRef};
use timeweave_timetrack::Settings;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// State shared by the server task and the test-side handle.
pub(crate) struct Shared {
    options: Mutex<SimOptions>,
    store: Mutex<Store>,
    /// Secrets currently accepted (more than one after a non-revoking rotation).
    secrets: Mutex<Vec<String>>,
    faults: Mutex<VecDeque<Fault>>,
    window: Mutex<RollingWindow>,
    rate_limiting: AtomicBool,
    served: AtomicU64,
    /// Requests with a write method (`SimulatorControl::write_requests`).
    writes: AtomicU64,
    throttled: AtomicU64,
    rotations: AtomicU64,
}

impl Shared {
    fn options(&self) -> SimOptions {
        lock(&self.options).clone()
    }
    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }
    fn window(&self) -> MutexGuard<'_, RollingWindow> {
        lock(&self.window)
    }
    fn next_fault(&self) -> Option<Fault> {
        lock(&self.faults).pop_front()
    }
    fn secret_ok(&self, s: &str) -> bool {
        lock(&self.secrets).iter().any(|k| k == s)
    }
}

/// A running simulator; stopped when dropped.
pub struct SimServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _serving: Serving,
}

impl SimServer {
    /// Starts a simulator on 127.0.0.1 with a port chosen by the OS.
    pub async fn try_start(options: SimOptions) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::start_on(listener, options)
    }

    /// Starts a simulator serving on `listener` (`timeweave demo --serve`'s fixed ports).
    pub fn start_on(
        listener: tokio::net::TcpListener,
        options: SimOptions,
    ) -> std::io::Result<SimServer> {
        let shared = Arc::new(Shared {
            secrets: Mutex::new(vec![options.api_secret.clone()]),
            options: Mutex::new(options),
            store: Mutex::new(Store::default()),
            faults: Mutex::new(VecDeque::new()),
            window: Mutex::new(RollingWindow::default()),
            rate_limiting: AtomicBool::new(true),
            served: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            rotations: AtomicU64::new(0),
        });
        let app = axum::Router::new()
            .fallback(http::handle)
            .with_state(shared.clone());
        let serving = Serving::start(listener, app, "timetrack")?;
        Ok(SimServer {
            addr: serving.addr(),
            shared,
            _serving: serving,
        })
    }

    /// Starts a simulator; panics if no loopback port can be bound (tests and demos only).
    pub async fn start(options: SimOptions) -> SimServer {
        Self::try_start(options)
            .await
            .expect("bind a loopback port for the timetrack simulator")
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adapter settings pointing at this simulator (attendances off; switch them on as needed).
    pub fn settings(&self) -> Settings {
        let opts = self.shared.options();
        Settings {
            base_url: format!("http://{}{}", self.addr, BASE_PATH),
            api_key: Secret::new(opts.api_key),
            api_secret: Secret::new(self.current_secret()),
            attendances: false,
            timestamps: opts.timestamps,
        }
    }

    fn current_secret(&self) -> String {
        lock(&self.shared.secrets)
            .last()
            .cloned()
            .unwrap_or_default()
    }

    /// Changes switches at run time.
    pub fn configure(&self, f: impl FnOnce(&mut SimOptions)) {
        f(&mut lock(&self.shared.options));
    }

    pub fn options(&self) -> SimOptions {
        self.shared.options()
    }

    /// Regenerates the API secret, as Settings → General → API does in the web app; returns
    /// the new one. The old one stops working unless `rotation_revokes_old_secret` is off.
    pub fn rotate_secret(&self) -> String {
        let n = self.shared.rotations.fetch_add(1, Ordering::Relaxed) + 1;
        let new = format!("{}-rotated-{n}", self.shared.options().api_secret);
        let revoke = self.shared.options().rotation_revokes_old_secret;
        let mut secrets = lock(&self.shared.secrets);
        if revoke {
            secrets.clear();
        }
        secrets.push(new.clone());
        new
    }

    /// 429 answers served so far (throttle and injected).
    pub fn throttled(&self) -> u64 {
        self.shared.throttled.load(Ordering::Relaxed)
    }

    /// Forgets the throttle's recent requests (a fresh minute).
    pub fn reset_throttle(&self) {
        self.shared.window().reset();
    }

    /// The JSON a GET of this record would show, deleted or not (for test assertions).
    pub fn raw_entry(&self, id: &RemoteId) -> Option<Value> {
        let store = self.shared.store();
        let (res, n) = match parse_entry_id(id)? {
            EntryRef::ProjectEntry(n) => (Resource::Entries, n),
            EntryRef::Attendance(n) => (Resource::Attendances, n),
        };
        let exists = match res {
            Resource::Entries => store.entries.table.rows.contains_key(&n),
            _ => store.attendances.table.rows.contains_key(&n),
        };
        exists.then(|| store.render(res, n))
    }

    /// Sets an entry's `from`/`to` from text, as a booking typed into the web app is stored
    /// (read under the simulator's time convention; `workedMinutes` follows when derived).
    /// `false` if the entry is unknown or the text unreadable.
    pub fn set_wall_times(&self, id: &RemoteId, from: &str, to: &str) -> bool {
        let opts = self.shared.options();
        let wall = |s: &str| {
            timeweave_timetrack::clock::parse_stamp(s).and_then(|t| opts.timestamps.wall_millis(t))
        };
        let (Some(from), Some(to)) = (wall(from), wall(to)) else {
            return false;
        };
        let mut store = self.shared.store();
        let row = match parse_entry_id(id) {
            Some(EntryRef::ProjectEntry(n)) => store.entries.table.rows.get_mut(&n),
            Some(EntryRef::Attendance(n)) => store.attendances.table.rows.get_mut(&n),
            None => None,
        };
        let Some(row) = row else {
            return false;
        };
        row.from = from;
        row.to = Some(to);
        if opts.derive_worked_minutes {
            row.derive_worked();
        }
        true
    }

    /// Whether a record is soft-deleted (kept, flagged) rather than gone.
    pub fn is_soft_deleted(&self, id: &RemoteId) -> bool {
        self.raw_entry(id)
            .is_some_and(|v| v.get("deleted").and_then(Value::as_bool) == Some(true))
    }
}
