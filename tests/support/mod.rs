//! Shared by the fault, crash and secrets suites: the three provider simulators on
//! loopback (rate limits off, short fault delays), seeded with the same people and
//! project names and with entries some of which are recorded in two providers; adapters
//! with fast retries for in-process engines; a config file for the real binary; an engine
//! built from a config text as the binary builds it; and what each provider holds, read
//! back through its adapter.
#![allow(dead_code)] // each suite uses part of it

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, DurationRound, Utc};
use timeweave::config::Mode;
use timeweave::ledger::Ledger;
use timeweave::sync::{ProviderHandle, SyncSettings};
use timeweave_contract::{
    Client, EntryKind, Kind, ListScope, PageItem, Person, Project, Provider, Record, RemoteId,
    TimeEntry, Window,
};
use timeweave_http::{Transport, TransportConfig};
use timeweave_simkit::SimulatorControl;

/// The engine and the handles of `names` (in that order) for the config text `toml`, written
/// into `dir` and loaded, built and opened exactly as the binary does (the ledger on the
/// running test's backend, see `timeweave::ledger::test_backend`).
pub async fn engine_from_config(
    dir: &Path,
    toml: &str,
    names: &[&str],
) -> (timeweave::sync::Engine, Vec<ProviderHandle>) {
    use timeweave::config::{self, Environment, PathOrigin};
    let path = dir.join("timeweave.toml");
    std::fs::write(&path, toml).unwrap();
    let cfg = config::load_file(&path, PathOrigin::Flag, &Environment::empty()).unwrap();
    let handles = names
        .iter()
        .map(|n| timeweave::registry::build(&cfg.providers[*n]).unwrap())
        .collect();
    // Inside `on_both_backends!`'s PostgreSQL half: a scratch database instead of the file.
    let ledger = match timeweave::ledger::test_backend::current() {
        timeweave::ledger::test_backend::TestBackend::Sqlite => {
            timeweave::ledger::Ledger::open(&cfg.ledger.path).await
        }
        timeweave::ledger::test_backend::TestBackend::Postgres(_) => {
            timeweave::ledger::test_backend::open_test_ledger(dir).await
        }
    }
    .unwrap();
    let engine = timeweave::sync::Engine::new(
        ledger,
        SyncSettings::from_config(&cfg),
        timeweave::sync::StopFlag::new(),
    );
    (engine, handles)
}

pub const NAMES: [&str; 3] = ["timetrack", "trackingtime", "timetracker"];
pub const PEOPLE: usize = 3;
/// How long a simulated timeout holds its answer (the fast transports give up after 400 ms).
pub const SIM_TIMEOUT_DELAY: StdDuration = StdDuration::from_millis(1500);

pub struct Sims {
    pub timetrack: timeweave_timetrack_sim::SimServer,
    pub trackingtime: timeweave_trackingtime_sim::SimServer,
    pub timetracker: timeweave_timetracker_sim::SimServer,
    /// Per simulator: its people (by index) and the shared project's id.
    pub refs: Vec<(Vec<RemoteId>, RemoteId)>,
}

impl Sims {
    pub async fn start() -> Sims {
        let timetrack =
            timeweave_timetrack_sim::SimServer::start(timeweave_timetrack_sim::SimOptions {
                timeout_delay: SIM_TIMEOUT_DELAY,
                ..Default::default()
            })
            .await;
        let trackingtime =
            timeweave_trackingtime_sim::SimServer::start(timeweave_trackingtime_sim::SimOptions {
                timeout_delay: SIM_TIMEOUT_DELAY,
                ..Default::default()
            })
            .await
            .expect("start the TrackingTime simulator");
        let timetracker =
            timeweave_timetracker_sim::SimServer::start(timeweave_timetracker_sim::SimOptions {
                timeout_fault_ms: SIM_TIMEOUT_DELAY.as_millis() as u64,
                ..Default::default()
            })
            .await;
        let mut sims = Sims {
            timetrack,
            trackingtime,
            timetracker,
            refs: Vec::new(),
        };
        for i in 0..3 {
            let sim = sims.get(i);
            sim.set_rate_limiting(false);
            let people = (0..PEOPLE).map(|p| sim.add_person(&person(p))).collect();
            let client = sim.add_client(&Client {
                name: "Acme Corp".into(),
                email: None,
                notes: None,
                archived: false,
            });
            let project = sim.add_project(&Project {
                client: Some(client),
                name: "Website Relaunch".into(),
                billable: true,
                hourly_rate_cents: None,
                archived: false,
            });
            sims.refs.push((people, project));
        }
        sims
    }

    pub fn get(&self, i: usize) -> &dyn SimulatorControl {
        match i {
            0 => &self.timetrack,
            1 => &self.trackingtime,
            _ => &self.timetracker,
        }
    }

    pub fn all(&self) -> [&dyn SimulatorControl; 3] {
        [self.get(0), self.get(1), self.get(2)]
    }

    /// Books distinct entry `u` in provider `i`.
    pub fn book(&self, i: usize, u: usize) -> RemoteId {
        let (people, project) = &self.refs[i];
        self.get(i)
            .add_entry(&entry(&people[person_of(u)], project, u))
    }

    /// Books `per_provider` entries in each provider, a tenth of each also in the next
    /// provider (a ring); returns the distinct entry numbers booked.
    pub fn book_ring(&self, per_provider: usize) -> BTreeSet<usize> {
        let shared = (per_provider / 10).max(1);
        let own = per_provider - 2 * shared;
        let mut booked = BTreeSet::new();
        let mut u = 0;
        for i in 0..3 {
            for _ in 0..own {
                self.book(i, u);
                booked.insert(u);
                u += 1;
            }
        }
        for q in 0..3 {
            for _ in 0..shared {
                self.book(q, u);
                self.book((q + 1) % 3, u);
                booked.insert(u);
                u += 1;
            }
        }
        booked
    }

    /// Adapters for in-process engines, with fast retries and a short timeout.
    pub fn handles(&self) -> Vec<ProviderHandle> {
        let t = |name: &str| Transport::new(fast_transport(name)).expect("transport");
        let mut out = Vec::new();
        for (i, name) in NAMES.iter().enumerate() {
            let transport = t(name);
            let stats = transport.stats().clone();
            let provider: Arc<dyn Provider> = match i {
                0 => Arc::new(
                    timeweave_timetrack::TimeTrackAdapter::new(
                        self.timetrack.settings(),
                        transport,
                    )
                    .expect("adapter"),
                ),
                1 => Arc::new(
                    timeweave_trackingtime::TrackingTimeAdapter::new(
                        self.trackingtime.settings(),
                        transport,
                    )
                    .expect("adapter"),
                ),
                _ => Arc::new(
                    timeweave_timetracker::TimeTrackerAdapter::new(
                        self.timetracker.settings(),
                        transport,
                    )
                    .expect("adapter"),
                ),
            };
            out.push(ProviderHandle {
                stats: Some(stats),
                ..ProviderHandle::new(*name, provider, Mode::Both)
            });
        }
        out
    }

    /// Each provider's entries as (entry number, remote id), read through a fresh adapter.
    pub async fn contents(&self) -> Vec<Vec<(usize, RemoteId)>> {
        let mut out = Vec::new();
        for h in self.handles() {
            out.push(entry_numbers(h.provider.as_ref()).await);
        }
        out
    }

    /// A config file for the real binary: every simulator, `both`, no client-side limit.
    pub fn config(&self, ledger: &Path, extra_provider_lines: &str) -> String {
        let mut toml = format!(
            "[ledger]\npath = {:?}\n\n[sync]\nconflict_policy = \"newest\"\ndeep_scan_horizon = \"{}\"\n",
            ledger.display().to_string(),
            (horizon()).format("%Y-%m-%d")
        );
        for (i, name) in NAMES.iter().enumerate() {
            toml.push_str(&timeweave::demo::simulator_section(
                name,
                self.get(i),
                &format!("mode = \"both\"\n{extra_provider_lines}"),
                "per_second = 10000",
            ));
        }
        toml
    }
}

pub fn fast_transport(name: &str) -> TransportConfig {
    let mut t = TransportConfig::new(name);
    t.timeout = StdDuration::from_millis(400);
    t.connect_timeout = StdDuration::from_millis(400);
    t.max_retries = 4;
    t.min_backoff = StdDuration::from_millis(10);
    t.max_backoff = StdDuration::from_millis(100);
    t.max_retry_after = StdDuration::from_secs(2);
    // A quota as every configured instance has one: the limiter's 429 brake slows requests
    // to a multiple of the quota's spacing (with no quota, of one second).
    t.quotas = vec![timeweave_http::Quota::per_second(1000)];
    t
}

pub fn person(i: usize) -> Person {
    Person {
        display_name: format!("Person {i}"),
        email: Some(format!("person{i}@example.com")),
        username: Some(format!("person{i}")),
    }
}

fn today() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Duration::days(1))
        .unwrap_or_else(|_| Utc::now())
}

/// Entry `u`: person `(u % 1000) % 3`, on day `(u % 1000) / 3` before two days ago
/// (recent entries in the hot window, older ones for the deep scan), at hour
/// `6 + (u / 1000) % 12` UTC (so each thousand of entry numbers has its own hour and never
/// meets another; clear of DST transitions in the simulators' zones), 40 minutes, notes
/// `entry u`.
pub fn start_of(u: usize) -> DateTime<Utc> {
    let day = ((u % 1000) / PEOPLE) as i64;
    today() - Duration::days(2 + day) + Duration::hours(6 + ((u / 1000) % 12) as i64)
}

pub fn person_of(u: usize) -> usize {
    (u % 1000) % PEOPLE
}

pub fn entry(person: &RemoteId, project: &RemoteId, u: usize) -> TimeEntry<RemoteId> {
    let start = start_of(u);
    TimeEntry {
        person: person.clone(),
        project: Some(project.clone()),
        task: None,
        client: None,
        started_at: start,
        ended_at: Some(start + Duration::minutes(40)),
        break_seconds: 0,
        duration_seconds: Some(40 * 60),
        source_tz: None,
        notes: Some(format!("entry {u}")),
        tags: BTreeSet::new(),
        billable: true,
        kind: EntryKind::Work,
    }
}

pub fn horizon() -> DateTime<Utc> {
    today() - Duration::days(400)
}

pub fn sync_settings() -> SyncSettings {
    SyncSettings::defaults(horizon())
}

/// Every entry a provider lists between the horizon and next week, as (number, id); the
/// number is read back from the notes (`entry u`), `usize::MAX` for anything else.
pub async fn entry_numbers(p: &dyn Provider) -> Vec<(usize, RemoteId)> {
    let mut out = Vec::new();
    let mut from = horizon();
    let end = today() + Duration::days(8);
    p.connect().await.expect("connect");
    // Some providers cap a listing's range: walk it in 30-day windows.
    while from < end {
        let to = (from + Duration::days(30)).min(end);
        let mut token = None;
        loop {
            let page = p
                .list_page(
                    Kind::TimeEntry,
                    ListScope::StartedIn(Window::new(from, to)),
                    token,
                )
                .await
                .expect("list entries");
            for item in page.items {
                if let PageItem::Record(r) = item {
                    if let Record::TimeEntry(e) = &r.record {
                        let n = e
                            .notes
                            .as_deref()
                            .and_then(|n| n.strip_prefix("entry "))
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(usize::MAX);
                        out.push((n, r.id.clone()));
                    }
                }
            }
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        from = to;
    }
    out
}

/// Asserts every provider holds each expected entry exactly once and nothing else.
pub fn assert_exactly_once(contents: &[Vec<(usize, RemoteId)>], expected: &BTreeSet<usize>) {
    for (i, held) in contents.iter().enumerate() {
        let mut count: BTreeMap<usize, usize> = BTreeMap::new();
        for (n, _) in held {
            *count.entry(*n).or_default() += 1;
        }
        let twice: Vec<_> = count.iter().filter(|(_, c)| **c > 1).collect();
        assert!(
            twice.is_empty(),
            "{} holds entries more than once (entry, times): {twice:?}",
            NAMES[i]
        );
        let held: BTreeSet<usize> = count.keys().copied().collect();
        let missing: Vec<_> = expected.difference(&held).collect();
        let extra: Vec<_> = held.difference(expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}: missing {missing:?}, unexpected {extra:?}",
            NAMES[i]
        );
    }
}

/// Asserts the ledger holds each expected entry once, linked once in every provider, with
/// no push intent left open.
pub async fn assert_ledger_exactly_once(ledger: &Ledger, expected: &BTreeSet<usize>) {
    let mut tx = ledger.read().await.unwrap();
    assert_eq!(
        tx.count_live(Kind::TimeEntry).await.unwrap() as usize,
        expected.len(),
        "the ledger holds each entry once"
    );
    for name in NAMES {
        assert_eq!(
            tx.count_live_links(name, Kind::TimeEntry).await.unwrap() as usize,
            expected.len(),
            "{name}: one live link per entry"
        );
    }
    assert_eq!(
        tx.count_intents(None).await.unwrap(),
        0,
        "no open push intents"
    );
}

/// Standard base64 (with padding), enough to spell an HTTP Basic credential.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Named values: (what it is, the value).
pub type Named = Vec<(String, String)>;

/// Every simulator's credentials, (what, value), and the forms they travel in: the raw
/// values and HTTP Basic values with the usual user names. Nothing of them may appear in
/// any output.
pub fn credential_forms(sims: &Sims) -> (Named, Named) {
    let mut secrets: Named = Vec::new();
    for sim in sims.all() {
        let c = sim.credentials();
        secrets.push((
            format!("{} api_secret", sim.kind_name()),
            c.api_secret.clone(),
        ));
        if let Some(key) = &c.api_key {
            secrets.push((format!("{} api_key", sim.kind_name()), key.clone()));
        }
    }
    let mut forms: Named = secrets.clone();
    for (what, s) in &secrets {
        for user in ["API_TOKEN", "", "x", "api"] {
            forms.push((
                format!("{what} as Basic {user}:…"),
                base64(format!("{user}:{s}").as_bytes()),
            ));
        }
    }
    (secrets, forms)
}
