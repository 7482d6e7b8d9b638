//! `timeweave demo --serve`: the demo as a live playground. Binds the fixed ports, starts
//! and seeds the three simulators (plus one entry to edit), writes a config with every
//! provider scheduled every 10 s and the status listener on, runs the first sync, then runs
//! the real daemon in-process and prints the tour. SIGTERM or Ctrl-C, at any point, stops
//! the cycles, the daemon and the simulators, and exits 0.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use timeweave_contract::{Kind, RemoteId};
use timeweave_simkit::{work_entry, SimulatorControl};

use super::ports::{self, Bound};
use super::tour::Tour;
use super::{
    days, io_step, simulators_config, sync_once, write_config, DemoError, Seeded, Simulators,
};
use crate::cli::DemoArgs;
use crate::config::Config;
use crate::ledger::Ledger;
use crate::registry;
use crate::sync::StopFlag;

/// Each provider's schedule: every 10 s, staggered so the three do not start together.
const SCHEDULES: [&str; 3] = [
    "0,10,20,30,40,50 * * * * *",
    "3,13,23,33,43,53 * * * * *",
    "6,16,26,36,46,56 * * * * *",
];

/// The TimeTracker simulator's position in [`Simulators::named`].
const TIMETRACKER: usize = 2;

const TOUR_NOTES: &str = "Tour: edit me";
const EDITED_NOTES: &str = "Edited through the TimeTracker API";

/// Runs the playground in `dir` (removed afterwards when `temporary`) until a signal.
pub async fn run(args: &DemoArgs, dir: &Path, temporary: bool) -> Result<ExitCode, DemoError> {
    let bound = ports::bind(args.port_base).await?;
    let status_addr = bound
        .status
        .local_addr()
        .map_err(io_step("reading the status listener's address".to_owned()))?;
    let stop = StopFlag::new();
    crate::daemon::stop_on_signals(stop.clone());

    println!("timeweave demo --serve: three simulated providers, one ledger, the daemon\n");
    let (simulators, status) = start_simulators(bound)?;
    let seeded = simulators.seed();
    let (entry, entry_name) = add_tour_entry(&simulators, &seeded)?;
    let toml = serve_config(dir, &simulators, status_addr);
    let (config_path, cfg) = write_config(dir, &toml)?;
    let ledger = Ledger::open(&cfg.ledger.path).await?;
    sync_once(&cfg, &ledger, &stop).await?;
    if stop.is_stopped() {
        ledger.close().await;
        println!("stopped before the daemon started");
        return Ok(ExitCode::SUCCESS);
    }
    let tour = Tour {
        simulators: simulators
            .named()
            .iter()
            .map(|(n, _, s)| (*n, s.base_url()))
            .collect(),
        status: status_addr,
        config: &config_path,
        timeweave: this_binary(),
        entry: entry_name,
        edit: edit_curl(&simulators, &entry)?,
        copies: copies_of(&ledger, &simulators, &entry).await?,
        temporary,
    };
    drop(status);
    let code = run_daemon(&cfg, ledger, stop, &tour).await?;
    drop(simulators);
    println!("stopped: the daemon and the simulators");
    Ok(code)
}

/// The three simulators on their bound ports; the status port's listener is handed back,
/// still held.
fn start_simulators(bound: Bound) -> Result<(Simulators, tokio::net::TcpListener), DemoError> {
    let starting = |name: &str| io_step(format!("starting the {name} simulator"));
    let simulators = Simulators {
        timetrack: timeweave_timetrack_sim::SimServer::start_on(
            bound.timetrack,
            Default::default(),
        )
        .map_err(starting("TimeTrack"))?,
        trackingtime: timeweave_trackingtime_sim::SimServer::start_on(
            bound.trackingtime,
            Default::default(),
        )
        .map_err(starting("TrackingTime"))?,
        timetracker: timeweave_timetracker_sim::SimServer::start_on(
            bound.timetracker,
            Default::default(),
        )
        .map_err(starting("TimeTracker"))?,
    };
    Ok((simulators, bound.status))
}

/// The demo's config with the status listener on `status` and every provider every 10 s.
fn serve_config(dir: &Path, simulators: &Simulators, status: SocketAddr) -> String {
    simulators_config(dir, &simulators.named(), &server_section(status), |i| {
        SCHEDULES
            .get(i)
            .map(|s| format!("schedule = \"{s}\"\n"))
            .unwrap_or_default()
    })
}

/// The `curl` that sets the notes of TimeTracker's `entry`.
fn edit_curl(simulators: &Simulators, entry: &RemoteId) -> Result<String, DemoError> {
    let request = simulators
        .timetracker
        .edit_notes_request(entry, EDITED_NOTES)
        .ok_or_else(|| missing("the TimeTracker simulator offers no edit request"))?;
    Ok(request.to_curl())
}

/// The `[server]` section: the daemon's status listener on `addr`.
fn server_section(addr: SocketAddr) -> String {
    format!("[server]\nlisten = \"{addr}\"\n\n")
}

/// Books the entry the tour edits in TimeTracker: Ada's, on the latest working day, after
/// every other booking of that day. Returns its id and how the tour names it.
fn add_tour_entry(
    simulators: &Simulators,
    seeded: &[Seeded],
) -> Result<(RemoteId, String), DemoError> {
    let ours = seeded
        .get(TIMETRACKER)
        .ok_or_else(|| missing("the TimeTracker simulator was not seeded"))?;
    let (person, (project_name, project)) = ours
        .people
        .first()
        .zip(ours.projects.first())
        .ok_or_else(|| missing("the TimeTracker simulator has no person or project"))?;
    let day = days()
        .into_iter()
        .next()
        .ok_or_else(|| missing("the demo books no working day"))?;
    let start = day + chrono::Duration::hours(19);
    let entry = work_entry(person, Some(project), start, 30, TOUR_NOTES);
    let id = simulators.timetracker.add_entry(&entry);
    let name = format!(
        "Ada Lovelace's entry {} to 19:30 UTC on {project_name} (\"{TOUR_NOTES}\")",
        start.format("%Y-%m-%d %H:%M")
    );
    Ok((id, name))
}

/// `(instance, curl)` reading the copy of TimeTracker's `entry` in each other simulator,
/// found through the ledger's links after the first sync.
async fn copies_of(
    ledger: &Ledger,
    simulators: &Simulators,
    entry: &RemoteId,
) -> Result<Vec<(&'static str, String)>, DemoError> {
    let mut tx = ledger.read().await?;
    let link = tx
        .link_by_remote("timetracker", Kind::TimeEntry, entry)
        .await?
        .ok_or_else(|| {
            missing("the first sync did not link the tour's entry: see the sync summary above")
        })?;
    let links = tx.links_of(&link.canonical_id).await?;
    drop(tx);
    let mut copies = Vec::new();
    for (name, _, sim) in simulators.named() {
        if name == "timetracker" {
            continue;
        }
        let copy = links
            .iter()
            .find(|l| l.provider == name && l.is_live())
            .ok_or_else(|| {
                DemoError::Missing(format!(
                    "the first sync did not copy the tour's entry to {name}"
                ))
            })?;
        if let Some(request) = sim.read_entry_request(&copy.remote_id) {
            copies.push((name, request.to_curl()));
        }
    }
    Ok(copies)
}

/// How the tour runs timeweave: this binary's path, else its name.
fn this_binary() -> String {
    std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(Path::to_str)
        .map_or_else(|| "timeweave".to_owned(), str::to_owned)
}

/// Runs the real daemon until SIGTERM/Ctrl-C, printing the tour once its status listener
/// answers.
async fn run_daemon(
    cfg: &Config,
    ledger: Ledger,
    stop: StopFlag,
    tour: &Tour<'_>,
) -> Result<ExitCode, DemoError> {
    let providers = cfg
        .enabled_providers()
        .map(|p| registry::build_scheduled(p, stop.shutdown()))
        .collect::<Result<Vec<_>, _>>()?;
    let daemon = crate::daemon::run(cfg, providers, ledger, stop);
    tokio::pin!(daemon);
    tokio::select! {
        result = &mut daemon => return Ok(result?),
        () = listening(tour.status) => {}
    }
    print!("\n{}", tour.render());
    Ok(daemon.await?)
}

fn missing(what: &str) -> DemoError {
    DemoError::Missing(what.to_owned())
}

/// Resolves once `addr` accepts connections.
async fn listening(addr: SocketAddr) {
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
