//! What several benchmarks share: synthetic entries that never collide on the natural key,
//! seeding simulators, the simulator world (a directory with a config for the real adapters,
//! the ledger and an engine built from that config as the binary builds them), and reading
//! RSS.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, DurationRound, Utc};
use timeweave_contract::{
    Client, Kind, ListScope, PageItem, Person, Project, Provider, Record, RemoteId, TimeEntry,
};
use timeweave_simkit::{work_entry, SimulatorControl};
use timeweave_testsupport::memory::MemoryProvider;

/// How synthetic entries are laid out: entry `u` belongs to person `u % people`; each person
/// books `SLOTS_PER_DAY` hour-long slots a working day (08:00 to 16:00 UTC), 20 minutes
/// each, going back one day at a time from `newest`. The density per day is constant, so a
/// bigger data set means a longer history, not fuller windows. No two entries of a person
/// come within 60 s of each other, so none match by natural key.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub people: usize,
    pub newest: DateTime<Utc>,
}

pub const SLOTS_PER_DAY: usize = 8;
pub const ENTRY_MINUTES: i64 = 20;

impl Layout {
    /// Entries end two days ago at the latest (inside the hot window).
    pub fn new(people: usize) -> Layout {
        let today = Utc::now()
            .duration_trunc(Duration::days(1))
            .unwrap_or_else(|_| Utc::now());
        Layout {
            people: people.max(1),
            newest: today - Duration::days(2) + Duration::hours(8),
        }
    }

    pub fn person(&self, u: usize) -> usize {
        u % self.people
    }

    pub fn start(&self, u: usize) -> DateTime<Utc> {
        let k = u / self.people;
        self.newest - Duration::days((k / SLOTS_PER_DAY) as i64)
            + Duration::hours((k % SLOTS_PER_DAY) as i64)
    }

    /// Entry `u`'s start and end as the ledger's rows hold them (UTC, `...T08:00:00Z`), for
    /// the benchmarks that write those rows themselves.
    pub fn stored_span(&self, u: usize) -> (String, String) {
        let start = self.start(u);
        let end = start + Duration::minutes(ENTRY_MINUTES);
        let text = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        (text(start), text(end))
    }

    /// The oldest start among `n` entries (to the day).
    pub fn oldest(&self, n: usize) -> DateTime<Utc> {
        let k = n.saturating_sub(1) / self.people;
        self.newest - Duration::days((k / SLOTS_PER_DAY) as i64)
    }

    /// A deep-scan horizon (a date) safely before the oldest of `n` entries.
    pub fn horizon(&self, n: usize) -> String {
        (self.oldest(n) - Duration::days(40))
            .format("%Y-%m-%d")
            .to_string()
    }

    pub fn entry(&self, u: usize, person: &RemoteId, project: &RemoteId) -> TimeEntry<RemoteId> {
        work_entry(
            person,
            Some(project),
            self.start(u),
            ENTRY_MINUTES,
            &format!("bench entry {u}"),
        )
    }
}

/// An in-process source holding the layout's people, one client and project, and `entries`
/// entries of them, served in pages of `page_size`.
pub fn memory_source(layout: &Layout, entries: usize, page_size: usize) -> MemoryProvider {
    let source = MemoryProvider::new(page_size);
    let people: Vec<_> = (0..layout.people)
        .map(|i| source.put(Record::Person(person(i))))
        .collect();
    let client = source.put(Record::Client(client()));
    let project = source.put(Record::Project(project(client)));
    for u in 0..entries {
        source.put(Record::TimeEntry(layout.entry(
            u,
            &people[layout.person(u)],
            &project,
        )));
    }
    source
}

/// The engine's handle for an in-process provider (no transport, no budget).
pub fn memory_handle(
    name: &str,
    provider: std::sync::Arc<MemoryProvider>,
    mode: timeweave::config::Mode,
    push_concurrency: usize,
) -> timeweave::sync::ProviderHandle {
    timeweave::sync::ProviderHandle {
        push_concurrency,
        ..timeweave::sync::ProviderHandle::new(name, provider, mode)
    }
}

/// Puts the layout's first `entries` entries into the ledger behind `engine`, pulled to
/// completion from an in-process source (instance `source`): a backlog to push.
pub async fn load_backlog(
    engine: &timeweave::sync::Engine,
    layout: &Layout,
    entries: usize,
) -> anyhow::Result<()> {
    let source = std::sync::Arc::new(memory_source(layout, entries, 5_000));
    let handle = memory_handle(
        "source",
        source,
        timeweave::config::Mode::Pull,
        timeweave::config::DEFAULT_PUSH_CONCURRENCY,
    );
    let report = engine
        .run_cycle(
            &handle,
            timeweave::sync::CycleOptions {
                to_completion: true,
                dry_run: false,
            },
        )
        .await?;
    anyhow::ensure!(
        report.is_clean(),
        "loading the backlog failed: {:?}",
        report.errors
    );
    Ok(())
}

pub fn person(i: usize) -> Person {
    Person {
        display_name: format!("Bench Person {i}"),
        email: Some(format!("person{i}@bench.example")),
        username: Some(format!("person{i}")),
    }
}

/// The same client and project (by name) everywhere.
pub fn client() -> Client {
    Client {
        name: "Bench Client".into(),
        email: None,
        notes: None,
        archived: false,
    }
}

pub fn project(client: RemoteId) -> Project<RemoteId> {
    Project {
        client: Some(client),
        name: "Bench Project".into(),
        billable: true,
        hourly_rate_cents: None,
        archived: false,
    }
}

/// Seeds people, the client and project on a simulator; returns (people, project).
pub fn seed_refs(sim: &dyn SimulatorControl, people: usize) -> (Vec<RemoteId>, RemoteId) {
    let ids = (0..people).map(|i| sim.add_person(&person(i))).collect();
    let client = sim.add_client(&client());
    let project = sim.add_project(&project(client));
    (ids, project)
}

/// Books the layout's entries `numbers` on a simulator seeded by [`seed_refs`].
pub fn seed_entries(
    sim: &dyn SimulatorControl,
    layout: &Layout,
    (people, project): &(Vec<RemoteId>, RemoteId),
    numbers: impl IntoIterator<Item = usize>,
) {
    for u in numbers {
        sim.add_entry(&layout.entry(u, &people[layout.person(u)], project));
    }
}

/// A TimeTracker simulator, its own rate limit off, holding the layout's people, the
/// project and its first `entries` entries.
pub async fn timetracker_with_entries(
    layout: &Layout,
    entries: usize,
) -> timeweave_timetracker_sim::SimServer {
    let sim = timeweave_timetracker_sim::SimServer::start(Default::default()).await;
    sim.set_rate_limiting(false);
    let refs = seed_refs(&sim, layout.people);
    seed_entries(&sim, layout, &refs, 0..entries);
    sim
}

/// A benchmark's world on simulators: a temporary directory holding the config file and
/// the ledger.
pub struct World {
    /// Removed (with the ledger) when the world is dropped.
    _dir: tempfile::TempDir,
    pub ledger_path: PathBuf,
    pub config_path: PathBuf,
}

impl World {
    pub fn new() -> anyhow::Result<World> {
        let dir = tempfile::tempdir()?;
        Ok(World {
            ledger_path: dir.path().join("ledger.db"),
            config_path: dir.path().join("timeweave.toml"),
            _dir: dir,
        })
    }

    /// Writes the config for `providers` (see [`config`]) and loads it as the binary does.
    pub fn configure(
        &self,
        horizon: &str,
        providers: &[ConfigProvider<'_>],
    ) -> anyhow::Result<timeweave::config::Config> {
        std::fs::write(
            &self.config_path,
            config(&self.ledger_path, horizon, providers),
        )?;
        load_config(&self.config_path)
    }
}

/// What the binary builds from a config: every enabled instance's handle, the ledger and
/// an engine with the config's sync settings.
pub struct Running {
    pub handles: Vec<timeweave::sync::ProviderHandle>,
    pub ledger: timeweave::ledger::Ledger,
    pub engine: timeweave::sync::Engine,
}

impl Running {
    pub async fn start(
        cfg: &timeweave::config::Config,
        stop: timeweave::sync::StopFlag,
    ) -> anyhow::Result<Running> {
        let handles = cfg
            .enabled_providers()
            .map(timeweave::registry::build)
            .collect::<Result<Vec<_>, _>>()?;
        let ledger = timeweave::ledger::Ledger::open(&cfg.ledger.path).await?;
        let engine = timeweave::sync::Engine::new(
            ledger.clone(),
            timeweave::sync::SyncSettings::from_config(cfg),
            stop,
        );
        Ok(Running {
            handles,
            ledger,
            engine,
        })
    }

    /// The first (in a one-provider config, the only) handle.
    pub fn handle(&self) -> anyhow::Result<&timeweave::sync::ProviderHandle> {
        self.handles
            .first()
            .ok_or_else(|| anyhow::anyhow!("no provider in the generated config"))
    }
}

/// One provider instance of a generated config.
pub struct ConfigProvider<'a> {
    pub name: &'a str,
    pub mode: &'a str,
    pub sim: &'a dyn SimulatorControl,
    /// Extra lines of the `[providers.NAME.rate_limit]` table.
    pub rate_limit: &'a str,
}

impl<'a> ConfigProvider<'a> {
    /// An instance with no client-side limit worth the name ([`UNLIMITED`]).
    pub fn unlimited(name: &'a str, mode: &'a str, sim: &'a dyn SimulatorControl) -> Self {
        ConfigProvider {
            name,
            mode,
            sim,
            rate_limit: UNLIMITED,
        }
    }
}

/// The three simulators on loopback, their own rate limits off.
pub struct ThreeSims {
    pub timetrack: timeweave_timetrack_sim::SimServer,
    pub trackingtime: timeweave_trackingtime_sim::SimServer,
    pub timetracker: timeweave_timetracker_sim::SimServer,
}

impl ThreeSims {
    pub async fn start() -> anyhow::Result<ThreeSims> {
        let sims = ThreeSims {
            timetrack: timeweave_timetrack_sim::SimServer::start(Default::default()).await,
            trackingtime: timeweave_trackingtime_sim::SimServer::start(Default::default()).await?,
            timetracker: timeweave_timetracker_sim::SimServer::start(Default::default()).await,
        };
        for (_, sim) in sims.all() {
            sim.set_rate_limiting(false);
        }
        Ok(sims)
    }

    /// Each with its instance name (the same as its kind).
    pub fn all(&self) -> [(&'static str, &dyn SimulatorControl); 3] {
        [
            ("timetrack", &self.timetrack),
            ("trackingtime", &self.trackingtime),
            ("timetracker", &self.timetracker),
        ]
    }
}

/// A config file as `timeweave demo` writes one: the ledger, the horizon, and each
/// simulator with its credentials.
pub fn config(ledger: &Path, horizon: &str, providers: &[ConfigProvider<'_>]) -> String {
    let mut toml = format!(
        "[ledger]\npath = {:?}\n\n[log]\nlevel = \"warn\"\n\n[sync]\nconflict_policy = \"newest\"\ndeep_scan_horizon = \"{horizon}\"\n",
        ledger.display().to_string()
    );
    for p in providers {
        toml.push_str(&timeweave::demo::simulator_section(
            p.name,
            p.sim,
            &format!("mode = \"{}\"\n", p.mode),
            p.rate_limit,
        ));
    }
    toml
}

/// No client-side limit worth the name (the simulators' own limits are off).
pub const UNLIMITED: &str = "per_second = 100000";

/// A value in kB from /proc/<pid>/status (`VmHWM`, `VmRSS`), if readable.
pub fn proc_status_kb(pid: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Loads a generated config exactly as the binary does.
pub fn load_config(path: &Path) -> anyhow::Result<timeweave::config::Config> {
    Ok(timeweave::config::load_file(
        path,
        timeweave::config::PathOrigin::Flag,
        &timeweave::config::Environment::empty(),
    )?)
}

/// Prints `{name}_seconds` and `{name}_rate`: `entries` handled in `secs`, as entries a
/// second (`note` after the unit).
pub fn seconds_and_rate(name: &str, entries: usize, secs: f64, note: &str) {
    metric(&format!("{name}_seconds"), format!("{secs:.2}"), "s");
    let rate = entries as f64 / secs;
    metric(
        &format!("{name}_rate"),
        format!("{rate:.0}"),
        &format!("entries/s{note}"),
    );
}

/// How many records `p` lists of `kind` in `scope`, every page read.
pub async fn count_listed(p: &dyn Provider, kind: Kind, scope: ListScope) -> anyhow::Result<usize> {
    let mut token = None;
    let mut n = 0;
    loop {
        let page = p.list_page(kind, scope, token).await?;
        n += page
            .items
            .iter()
            .filter(|i| matches!(i, PageItem::Record(_)))
            .count();
        match page.next {
            Some(t) => token = Some(t),
            None => return Ok(n),
        }
    }
}

/// Prints one metric line.
pub fn metric(name: &str, value: impl std::fmt::Display, unit: &str) {
    if unit.is_empty() {
        println!("{name}: {value}");
    } else {
        println!("{name}: {value} {unit}");
    }
}

/// One TimeTracker simulator synced into a fresh ledger in `dir`, built from a generated
/// config exactly as the binary builds it (no client-side limit): its handle, ledger and
/// engine.
pub async fn timetracker_engine(
    dir: &Path,
    sim: &dyn SimulatorControl,
    horizon: &str,
) -> anyhow::Result<(
    timeweave::sync::ProviderHandle,
    timeweave::ledger::Ledger,
    timeweave::sync::Engine,
)> {
    let ledger_path = dir.join("ledger.db");
    let config_path = dir.join("timeweave.toml");
    let provider = ConfigProvider {
        name: "timetracker",
        mode: "both",
        sim,
        rate_limit: UNLIMITED,
    };
    std::fs::write(&config_path, config(&ledger_path, horizon, &[provider]))?;
    let cfg = load_config(&config_path)?;
    let handle = cfg
        .enabled_providers()
        .map(timeweave::registry::build)
        .next()
        .ok_or_else(|| anyhow::anyhow!("no provider in the generated config"))??;
    let ledger = timeweave::ledger::Ledger::open(&ledger_path).await?;
    let engine = timeweave::sync::Engine::new(
        ledger.clone(),
        timeweave::sync::SyncSettings::from_config(&cfg),
        timeweave::sync::StopFlag::new(),
    );
    Ok((handle, ledger, engine))
}
