//! What each command does once the CLI is parsed and the config loaded.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{ConflictsAction, ConflictsArgs, DemoArgs, ExportArgs, ReportArgs, SyncArgs};
use crate::config::{self, Config};
use crate::ledger::Ledger;
use crate::registry;
use crate::status::ProviderFacts;
use crate::sync::{Engine, StopFlag, SyncSettings};

/// `timeweave check` with a config that loaded: print its summary.
pub fn check(cfg: &Config) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    out.write_all(config::summary::render(cfg).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Opens (creating and migrating if needed) the configured ledger.
async fn open_ledger(cfg: &Config) -> anyhow::Result<Ledger> {
    Ledger::open(&cfg.ledger.path).await.with_context(|| {
        format!(
            "opening the ledger at {} (ledger.path)",
            cfg.ledger.path.display()
        )
    })
}

/// Sets the engine's stop flag on SIGTERM or SIGINT: every wait ends, the current page
/// finishes. The handlers are in place when this returns (not when the task first runs), so
/// a signal from then on never kills the process mid-write.
pub(crate) fn stop_on_signals(stop: StopFlag) {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::terminate()).and_then(|t| Ok((t, signal(SignalKind::interrupt())?)))
    };
    tokio::spawn(async move {
        #[cfg(unix)]
        match signals {
            Ok((mut term, mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping: waits end now, the current page finishes...");
        stop.stop();
    });
}

/// `timeweave run`: the daemon.
pub async fn run(cfg: &Config) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(cfg).await?;
    let stop = StopFlag::new();
    let providers = cfg
        .enabled_providers()
        .map(|p| registry::build_scheduled(p, stop.shutdown()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    crate::daemon::run(cfg, providers, ledger, stop).await
}

/// `timeweave sync` / `--sync-once`: one full cycle per provider.
pub async fn sync(cfg: &Config, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let selected = cfg.select_providers(&args.provider)?;
    let stop = StopFlag::new();
    let handles = selected
        .into_iter()
        .map(|p| registry::build_stoppable(p, stop.shutdown()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ledger = open_ledger(cfg).await?;
    {
        let mut tx = ledger.write().await?;
        tx.mark_interrupted_runs(chrono::Utc::now()).await?;
        tx.commit().await?;
    }
    stop_on_signals(stop.clone());
    let engine = Engine::new(ledger.clone(), SyncSettings::from_config(cfg), stop);
    let outcome = crate::once::run(engine, handles, args.dry_run, true).await?;
    print!("{}", outcome.summary());
    if args.dry_run {
        println!("dry run: nothing was changed, in the ledger or in any provider");
    }
    ledger.close().await;
    Ok(if outcome.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The status facts of every enabled provider (no live counters outside the daemon).
fn facts(cfg: &Config) -> Vec<ProviderFacts> {
    cfg.enabled_providers()
        .map(|p| ProviderFacts {
            name: p.name.clone(),
            kind: p.kind.as_str().to_owned(),
            mode: p.mode.as_str().to_owned(),
            schedule: p.schedule.clone(),
            interval: crate::schedule::cron_interval(&p.schedule),
            live: None,
        })
        .collect()
}

/// `timeweave status`: exit 0 when every provider is healthy, 1 otherwise.
pub async fn status(cfg: &Config) -> anyhow::Result<ExitCode> {
    if !cfg.ledger.path.exists() {
        anyhow::bail!(
            "no ledger at {} yet: run `timeweave sync` (or start the service) first",
            cfg.ledger.path.display()
        );
    }
    let ledger = Ledger::open_read_only(&cfg.ledger.path).await?;
    ledger.check_integrity().await?;
    let statuses = crate::status::collect(&ledger, &facts(cfg), chrono::Utc::now()).await?;
    print!("{}", crate::status::render_text(&statuses));
    Ok(if statuses.iter().all(|s| s.healthy()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `timeweave conflicts [list|resolve ID --take SIDE]`.
pub async fn conflicts(cfg: &Config, args: &ConflictsArgs) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(cfg).await?;
    match &args.action {
        None | Some(ConflictsAction::List) => {
            let open = ledger.read().await?.conflicts(true).await?;
            print!("{}", crate::conflicts::render(&open));
            Ok(ExitCode::SUCCESS)
        }
        Some(ConflictsAction::Resolve { id, take }) => {
            let id: i64 = id.parse().with_context(|| {
                format!("`{id}` is not a conflict id: use a number from `timeweave conflicts`")
            })?;
            let line = crate::conflicts::resolve(&ledger, id, take).await?;
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `timeweave report`: totals over a range of local work dates on stdout (table, CSV or
/// JSON) and optionally an HTML report; reads the ledger read-only, beside the daemon.
pub async fn report(cfg: &Config, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let today = chrono::Local::now().date_naive();
    let mut out = std::io::stdout().lock();
    let args = ReportArgs {
        currency: args
            .currency
            .clone()
            .or_else(|| cfg.report.currency.clone()),
        ..args.clone()
    };
    crate::report::report_command(&cfg.ledger.path, &args, today, &mut out).await?;
    Ok(ExitCode::SUCCESS)
}

/// `timeweave export`: time entries over a range as CSV or JSON Lines, streamed to
/// `--output` or stdout; reads the ledger read-only, beside the daemon.
pub async fn export(cfg: &Config, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let today = chrono::Local::now().date_naive();
    let mut out = std::io::stdout().lock();
    crate::report::export_command(&cfg.ledger.path, args, today, &mut out).await?;
    Ok(ExitCode::SUCCESS)
}

/// `timeweave demo`: needs no config file.
pub async fn demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    crate::demo::run(args).await
}

/// `timeweave migrate`: applies pending ledger migrations and exits.
pub async fn migrate(cfg: &Config) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(cfg).await?;
    let applied = ledger.applied_migrations().await?;
    println!(
        "ledger {} is at migration {} ({} applied)",
        cfg.ledger.path.display(),
        applied.last().copied().unwrap_or(0),
        applied.len()
    );
    ledger.close().await;
    Ok(ExitCode::SUCCESS)
}
