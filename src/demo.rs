//! `timeweave demo`: the main job on an embedded default. Starts the three provider
//! simulators on loopback, seeds each with realistic, different data (the same people,
//! overlapping clients and projects, a few hundred entries, some of the same work recorded
//! in two providers), writes a config and a ledger into a directory, runs a full
//! bidirectional sync exactly as `timeweave --sync-once` would, checks every provider ended
//! with the same entries (read back and compared by content, `agreement`), and prints a summary with the ledger path and a sample query.
//!
//! `timeweave demo --serve` (the [`serve`] module) keeps the simulators and the daemon
//! running afterwards, as a live playground.

mod ports;
mod serve;
mod tour;

pub use ports::{PortError, DEFAULT_PORT_BASE};

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{Datelike, Duration, DurationRound, Utc, Weekday};
use timeweave_contract::{Client, Kind, Person, Project, RemoteId, Task};
use timeweave_simkit::{work_entry, SimulatorControl};

use crate::cli::DemoArgs;
use crate::config::{self, Config, ConfigError, Environment, PathOrigin};
use crate::daemon::DaemonError;
use crate::ledger::{Ledger, LedgerError};
use crate::lock::LockError;
use crate::registry::{self, BuildError};
use crate::sync::{Engine, StopFlag, SyncSettings};

/// Why the demo could not run: each names the step, or is the error of the part that failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// `what`: the step, e.g. "creating DIR".
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Something the demo set up, or its first sync should have made, is missing.
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Ports(#[from] PortError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    #[error(transparent)]
    Agreement(#[from] crate::agreement::AgreementError),
}

/// Wraps an I/O error with the step that failed.
fn io_step(what: String) -> impl FnOnce(std::io::Error) -> DemoError {
    move |source| DemoError::Io { what, source }
}

const PEOPLE: [(&str, &str, &str); 3] = [
    ("Ada Lovelace", "ada@example.com", "ada"),
    ("Grace Hopper", "grace@example.com", "grace"),
    ("Alan Turing", "alan@example.com", "alan"),
];

/// (client, its projects) held by each simulated provider: overlapping by name.
fn catalogue(provider: usize) -> Vec<(&'static str, Vec<&'static str>)> {
    let acme = ("Acme Corp", vec!["Website Relaunch", "Mobile App"]);
    let globex = ("Globex", vec!["Data Warehouse"]);
    let initech = ("Initech", vec!["TPS Reports"]);
    match provider {
        0 => vec![acme, globex],
        1 => vec![acme, initech],
        _ => vec![globex, initech, ("Acme Corp", vec!["Website Relaunch"])],
    }
}

/// What one simulator was seeded with.
struct Seeded {
    people: Vec<RemoteId>,
    projects: Vec<(String, RemoteId)>,
}

fn seed(sim: &dyn SimulatorControl, provider: usize) -> Seeded {
    let people = PEOPLE
        .iter()
        .map(|(name, email, user)| {
            sim.add_person(&Person {
                display_name: (*name).into(),
                email: Some((*email).into()),
                username: Some((*user).into()),
            })
        })
        .collect();
    let mut projects = Vec::new();
    for (client, names) in catalogue(provider) {
        let client_id = sim.add_client(&Client {
            name: client.into(),
            email: None,
            notes: None,
            archived: false,
        });
        for name in names {
            let id = sim.add_project(&Project {
                client: Some(client_id.clone()),
                name: name.into(),
                billable: true,
                hourly_rate_cents: Some(9500),
                archived: false,
            });
            if name == "Website Relaunch" && provider > 0 {
                sim.add_task(&Task {
                    project: id.clone(),
                    name: "Design".into(),
                    archived: false,
                });
            }
            projects.push((name.to_owned(), id));
        }
    }
    Seeded { people, projects }
}

/// The working days the demo books: the last six weeks (the hot window) and a handful of
/// older ones (found by the deep scan).
fn days() -> Vec<chrono::DateTime<Utc>> {
    let today = Utc::now()
        .duration_trunc(Duration::days(1))
        .unwrap_or_else(|_| Utc::now());
    let recent = (1..=42).map(|d| today - Duration::days(d));
    let older = [60, 75, 90, 120, 150, 200, 250, 300]
        .into_iter()
        .map(|d| today - Duration::days(d));
    recent
        .chain(older)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .collect()
}

/// Books each person's working days: each provider owns its own slot of the day (so
/// nothing overlaps across providers), and every fifth day the same 16:30 meeting is
/// recorded in two providers (it must end up once everywhere, not twice).
fn book(sims: &[&dyn SimulatorControl], seeded: &[Seeded]) -> usize {
    let slots = [(8 * 60, 120), (10 * 60 + 30, 150), (13 * 60 + 30, 180)];
    let mut shared = 0;
    for (di, day) in days().into_iter().enumerate() {
        for (pi, _) in PEOPLE.iter().enumerate() {
            for (si, sim) in sims.iter().enumerate() {
                let s = &seeded[si];
                let (name, project) = &s.projects[(di + pi) % s.projects.len()];
                let (start, minutes) = slots[si];
                let start = day + Duration::minutes(start + 15 * pi as i64);
                sim.add_entry(&work_entry(
                    &s.people[pi],
                    Some(project),
                    start,
                    minutes - 15 * ((di % 3) as i64),
                    &format!("{name}: work block {}", di + 1),
                ));
            }
            if di % 5 == 0 {
                // The weekly client meeting on "Website Relaunch", booked in providers 0 and 1
                // (after everyone's last work block, which ends by 17:00).
                let start = day + Duration::minutes(17 * 60 + 30);
                for si in [0, 1] {
                    let s = &seeded[si];
                    let project = &s
                        .projects
                        .iter()
                        .find(|(n, _)| n == "Website Relaunch")
                        .expect("both have it")
                        .1;
                    sims[si].add_entry(&work_entry(
                        &s.people[pi],
                        Some(project),
                        start,
                        45,
                        "Client meeting",
                    ));
                }
                shared += 1;
            }
        }
    }
    shared
}

fn counts(sim: &dyn SimulatorControl) -> String {
    format!(
        "{:>3} people, {:>2} clients, {:>2} projects, {:>4} entries",
        sim.count(Kind::Person),
        sim.count(Kind::Client),
        sim.count(Kind::Project),
        sim.count(Kind::TimeEntry)
    )
}

/// A config file for running simulators: `(instance name, kind, simulator)` each, the
/// ledger in `dir`, the simulators' credentials inline, quotas raised. Used by the demo, the
/// end-to-end tests and the benchmarks.
pub fn config_for_simulators(dir: &Path, sims: &[(&str, &str, &dyn SimulatorControl)]) -> String {
    simulators_config(dir, sims, "", |_| String::new())
}

/// [`config_for_simulators`] with `sections` (such as `[server]`) before `[sync]`, and
/// `extra(i)` in the section of the `i`-th simulator (such as its `schedule`).
fn simulators_config(
    dir: &Path,
    sims: &[(&str, &str, &dyn SimulatorControl)],
    sections: &str,
    extra: impl Fn(usize) -> String,
) -> String {
    let mut toml = format!(
        "# Written by `timeweave demo`: three simulated providers on loopback.\n\
         # The simulators' own rate limits are off and the quotas raised, so the demo is quick;\n\
         # a real deployment keeps the providers' documented limits (see config.example.toml).\n\n\
         [ledger]\npath = {:?}\n\n{sections}[sync]\n",
        dir.join("ledger.db").display().to_string()
    );
    for (i, (name, kind, sim)) in sims.iter().enumerate() {
        debug_assert_eq!(*kind, sim.kind_name());
        toml.push_str(&simulator_section(
            name,
            *sim,
            &extra(i),
            "per_second = 200",
        ));
    }
    toml
}

/// The `[providers.<name>]` section of a config for a running simulator: its kind, URL and
/// credentials inline, `extra` lines (such as `mode = "both"\n`), and `rate_limit` as the
/// client-side quota (such as `per_second = 200`). Shared by the demo, tests and benchmarks.
pub fn simulator_section(
    name: &str,
    sim: &dyn SimulatorControl,
    extra: &str,
    rate_limit: &str,
) -> String {
    let c = sim.credentials();
    let mut toml = format!(
        "\n[providers.{name}]\nkind = \"{}\"\nbase_url = {:?}\napi_secret = {:?}\n{extra}",
        sim.kind_name(),
        sim.base_url(),
        c.api_secret
    );
    if let Some(key) = &c.api_key {
        toml.push_str(&format!("api_key = {key:?}\n"));
    }
    toml.push_str(&sim.config_lines());
    if sim.kind_name() == "trackingtime" {
        if let Some(account) = &c.account_id {
            toml.push_str(&format!("account_id = {account}\n"));
        }
        toml.push_str("contact = \"demo@example.com\"\n");
    }
    toml.push_str(&format!("[providers.{name}.rate_limit]\n{rate_limit}\n"));
    toml
}

/// A ledger an earlier demo left in the directory is bound to simulators that are gone:
/// syncing it with new ones would take every record it links for deleted. With `fresh` it
/// is removed (a new ledger is made); otherwise the refusal to print. `None`: go ahead.
fn earlier_ledger(ledger: &Path, fresh: bool) -> Result<Option<String>, DemoError> {
    if !ledger.exists() {
        return Ok(None);
    }
    if !fresh {
        let dir = ledger.parent().unwrap_or(ledger).display();
        return Ok(Some(format!(
            "{} holds the ledger of an earlier demo, bound to simulators that are gone: \
             syncing it with new ones would treat every record it links as deleted. Nothing \
             was changed. Run `timeweave demo --dir {dir} --keep --fresh` to start over with a \
             new ledger, or choose another --dir.",
            ledger.display()
        )));
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = ledger.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(PathBuf::from(&name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(io_step(format!("removing {}", ledger.display()))(e));
            }
        }
    }
    Ok(None)
}

/// The demo's directory: `--dir` (created if needed), or a temporary one, removed when the
/// returned guard drops unless `--keep`.
fn demo_dir(args: &DemoArgs) -> Result<(PathBuf, Option<tempfile::TempDir>), DemoError> {
    Ok(match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(io_step(format!("creating {}", d.display())))?;
            (d.clone(), None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("timeweave-demo-")
                .tempdir()
                .map_err(io_step("creating a temporary directory".to_owned()))?;
            if args.keep {
                (t.keep(), None)
            } else {
                (t.path().to_owned(), Some(t))
            }
        }
    })
}

/// The three running simulators; each stops when this is dropped.
struct Simulators {
    timetrack: timeweave_timetrack_sim::SimServer,
    trackingtime: timeweave_trackingtime_sim::SimServer,
    timetracker: timeweave_timetracker_sim::SimServer,
}

impl Simulators {
    /// On ports the OS chooses.
    async fn start() -> Result<Simulators, DemoError> {
        Ok(Simulators {
            timetrack: timeweave_timetrack_sim::SimServer::start(Default::default()).await,
            trackingtime: timeweave_trackingtime_sim::SimServer::start(Default::default())
                .await
                .map_err(io_step("starting the TrackingTime simulator".to_owned()))?,
            timetracker: timeweave_timetracker_sim::SimServer::start(Default::default()).await,
        })
    }

    /// `(instance name, kind, simulator)`, in the demo's order.
    fn named(&self) -> [(&'static str, &'static str, &dyn SimulatorControl); 3] {
        [
            ("timetrack", "timetrack", &self.timetrack),
            ("trackingtime", "trackingtime", &self.trackingtime),
            ("timetracker", "timetracker", &self.timetracker),
        ]
    }

    /// Switches the simulators' own rate limits off, seeds and books them, and prints what
    /// each holds. Returns what each was seeded with.
    fn seed(&self) -> Vec<Seeded> {
        let sims = self.named();
        for (_, _, sim) in &sims {
            sim.set_rate_limiting(false);
        }
        let sim_refs: Vec<&dyn SimulatorControl> = sims.iter().map(|(_, _, s)| *s).collect();
        let seeded: Vec<Seeded> = sim_refs
            .iter()
            .enumerate()
            .map(|(i, s)| seed(*s, i))
            .collect();
        let shared = book(&sim_refs, &seeded);
        println!("before the sync:");
        for (name, _, sim) in &sims {
            println!("  {name:<13} {}", counts(*sim));
        }
        println!(
            "  ({shared} meetings are booked in two providers: they must be linked, not copied)\n"
        );
        seeded
    }
}

/// Writes `toml` as the demo's config in `dir` and loads it as `--config` would.
fn write_config(dir: &Path, toml: &str) -> Result<(PathBuf, Config), DemoError> {
    let config_path = dir.join("timeweave.toml");
    std::fs::write(&config_path, toml)
        .map_err(io_step(format!("writing {}", config_path.display())))?;
    let cfg = config::load_file(&config_path, PathOrigin::Flag, &Environment::empty())?;
    Ok((config_path, cfg))
}

/// One `--sync-once` of every provider of `cfg`, its summary printed; `stop` ends it early.
async fn sync_once(
    cfg: &Config,
    ledger: &Ledger,
    stop: &StopFlag,
) -> Result<crate::once::OnceOutcome, DemoError> {
    let handles = cfg
        .enabled_providers()
        .map(|p| registry::build_stoppable(p, stop.shutdown()))
        .collect::<Result<Vec<_>, _>>()?;
    let engine = Engine::new(ledger.clone(), SyncSettings::from_config(cfg), stop.clone());
    let outcome = crate::once::run(engine, handles, false, true).await?;
    println!("sync (timeweave --sync-once):");
    for line in outcome.summary().lines() {
        println!("  {line}");
    }
    Ok(outcome)
}

pub async fn run(args: &DemoArgs) -> Result<ExitCode, DemoError> {
    let started = std::time::Instant::now();
    let (dir, _temp) = demo_dir(args)?;
    let ledger_path = dir.join("ledger.db");
    let _lock = crate::lock::LedgerLock::acquire(&ledger_path, "timeweave demo")?;
    if let Some(refusal) = earlier_ledger(&ledger_path, args.fresh)? {
        eprintln!("demo: {refusal}");
        return Ok(ExitCode::FAILURE);
    }
    if args.serve {
        return serve::run(args, &dir, _temp.is_some()).await;
    }

    println!("timeweave demo: three simulated providers, one ledger\n");
    let simulators = Simulators::start().await?;
    simulators.seed();
    let sims = simulators.named();
    let (config_path, cfg) = write_config(&dir, &config_for_simulators(&dir, &sims))?;
    let ledger = Ledger::open(&cfg.ledger.path).await?;
    let outcome = sync_once(&cfg, &ledger, &StopFlag::new()).await?;

    println!("\nafter the sync:");
    for (name, _, sim) in &sims {
        println!("  {name:<13} {}", counts(*sim));
    }
    let mismatches = agreement(&cfg, &ledger).await?;
    let mut tx = ledger.read().await?;
    let in_ledger = tx.count_live(Kind::TimeEntry).await?;
    let conflicts = tx.count_open_conflicts(None).await?;
    let sample = tx.hours_by_person_and_client().await?;
    drop(tx);
    ledger.close().await;

    println!(
        "\nledger: {}  ({in_ledger} entries, {conflicts} open conflicts)",
        cfg.ledger.path.display()
    );
    println!("config: {}", config_path.display());
    println!("\nhours per person and client (report_time_entries):");
    for (person, client, hours) in &sample {
        println!("  {person:<14} {client:<10} {hours:>7.2}");
    }
    println!(
        "\ntry it yourself:\n  sqlite3 {:?} \"SELECT person, client, round(sum(hours), 2) FROM report_time_entries GROUP BY 1, 2 ORDER BY 1, 2;\"",
        cfg.ledger.path.display().to_string()
    );
    if _temp.is_some() {
        println!(
            "  (the directory is temporary: run `timeweave demo --dir DIR` or `--keep` to keep it)"
        );
    }
    println!("\nfinished in {:.1} s", started.elapsed().as_secs_f64());
    if !mismatches.is_empty() || !outcome.clean() {
        eprintln!(
            "demo: the providers did not converge ({} entries differ):",
            mismatches.len()
        );
        for m in mismatches.iter().take(10) {
            eprintln!("  {m}");
        }
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "converged: every provider and the ledger hold the same {in_ledger} entries, none twice \
         (compared by person, start and every field)"
    );
    Ok(ExitCode::SUCCESS)
}

/// Every provider of `cfg` read back through a fresh adapter over the demo's year of
/// bookings and compared with the ledger by content: what differs.
async fn agreement(
    cfg: &Config,
    ledger: &Ledger,
) -> Result<Vec<crate::agreement::Mismatch>, DemoError> {
    let handles = cfg
        .enabled_providers()
        .map(registry::build)
        .collect::<Result<Vec<_>, _>>()?;
    let now = Utc::now();
    let span = timeweave_contract::Window::new(now - Duration::days(400), now + Duration::days(8));
    Ok(crate::agreement::check(ledger, &handles, span).await?)
}
