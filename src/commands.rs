//! What each command does once the CLI is parsed and the config loaded: a module of the
//! binary, not of the library, and with `main.rs` the one place `anyhow` is used (the library
//! returns typed errors, which this layer gives their context).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use timeweave::cli::{
    ConflictsAction, ConflictsArgs, DemoArgs, DoctorArgs, ExportArgs, RebindArgs, ReportArgs,
    SyncArgs,
};
use timeweave::config::{self, Config};
use timeweave::leases::LeaseKeeper;
use timeweave::ledger::postgres::describe_url;
use timeweave::ledger::Ledger;
use timeweave::lock::LedgerLock;
use timeweave::registry;
use timeweave::status::ProviderFacts;
use timeweave::sync::{Engine, StopFlag, SyncSettings};

/// `timeweave check` with a config that loaded: print its summary.
pub(crate) fn check(cfg: &Config) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    out.write_all(config::summary::render(cfg).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `timeweave doctor`: examines each selected instance against its live account, prints
/// the findings, writes the redacted JSON when asked; exit 1 when any finding is an error.
pub(crate) async fn doctor(cfg: &Config, args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let instances = cfg.select_providers(&args.provider)?;
    let reports = timeweave::doctor::examine(cfg, &instances, args.write_probe).await;
    print!("{}", timeweave::doctor::render::text(&reports));
    if let Some(path) = &args.json {
        std::fs::write(
            path,
            timeweave::doctor::json::render(&reports, &instances, &cfg.ledger.path),
        )
        .with_context(|| format!("writing the doctor report to {}", path.display()))?;
    }
    Ok(if reports.iter().any(|r| r.has_error()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Opens (creating and migrating if needed) the configured ledger: the PostgreSQL database
/// of `ledger.url`, else the SQLite file of `ledger.path`.
async fn open_ledger(cfg: &Config) -> anyhow::Result<Ledger> {
    if let Some(pg) = &cfg.ledger.postgres {
        return Ledger::open_postgres(&pg.url, pg.password.as_ref())
            .await
            .with_context(|| {
                format!(
                    "opening the ledger at {} (ledger.url)",
                    describe_url(&pg.url)
                )
            });
    }
    Ledger::open(&cfg.ledger.path).await.with_context(|| {
        format!(
            "opening the ledger at {} (ledger.path)",
            cfg.ledger.path.display()
        )
    })
}

/// Takes the ledger's lock for `command` (refused while another process syncs it), then
/// opens the ledger, creating and migrating it if needed. Hold the lock as long as the
/// ledger is in use. A PostgreSQL ledger takes no file lock: any number of processes share
/// it (each write waits for the one before, see `ledger/pg`).
async fn open_ledger_locked(
    cfg: &Config,
    command: &str,
) -> anyhow::Result<(Option<LedgerLock>, Ledger)> {
    let lock = match cfg.ledger.postgres {
        Some(_) => None,
        None => Some(LedgerLock::acquire(
            &cfg.ledger.path,
            &format!("timeweave {command}"),
        )?),
    };
    Ok((lock, open_ledger(cfg).await?))
}

/// Fails unless the configured ledger exists (see [`timeweave::report::require_ledger`]);
/// a PostgreSQL ledger is checked when connecting.
fn require_ledger(cfg: &Config) -> anyhow::Result<()> {
    match cfg.ledger.postgres {
        Some(_) => Ok(()),
        None => Ok(timeweave::report::require_ledger(&cfg.ledger.path)?),
    }
}

/// Opens an existing ledger for reading; never creates one.
async fn open_existing_read_only(cfg: &Config) -> anyhow::Result<Ledger> {
    require_ledger(cfg)?;
    if let Some(pg) = &cfg.ledger.postgres {
        return Ok(Ledger::open_postgres_read_only(&pg.url, pg.password.as_ref()).await?);
    }
    Ok(Ledger::open_read_only(&cfg.ledger.path).await?)
}

/// `timeweave run`: the daemon.
pub(crate) async fn run(cfg: &Config) -> anyhow::Result<ExitCode> {
    let (_lock, ledger) = open_ledger_locked(cfg, "run").await?;
    let stop = StopFlag::new();
    let providers = cfg
        .enabled_providers()
        .map(|p| registry::build_scheduled(p, stop.shutdown()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(timeweave::daemon::run(cfg, providers, ledger, stop).await?)
}

/// `timeweave sync` / `--sync-once`: one full cycle per provider.
pub(crate) async fn sync(cfg: &Config, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let selected = cfg.select_providers(&args.provider)?;
    if !args.allow_deletes.is_empty() {
        cfg.select_providers(&args.allow_deletes)
            .context("--allow-deletes")?;
    }
    let stop = StopFlag::new();
    let handles = selected
        .into_iter()
        .map(|p| registry::build_stoppable(p, stop.shutdown()))
        .collect::<Result<Vec<_>, _>>()?;
    let (_lock, ledger) = open_ledger_locked(cfg, "sync").await?;
    // A shared PostgreSQL ledger's running cycles may be other processes': a `run` that
    // takes an instance's lease over marks that instance's (`schedule.rs`).
    if ledger.postgres_pool().is_none() {
        let mut tx = ledger.write().await?;
        tx.mark_interrupted_runs(None, chrono::Utc::now()).await?;
        tx.commit().await?;
    }
    timeweave::daemon::stop_on_signals(stop.clone());
    let mut engine = Engine::new(ledger.clone(), SyncSettings::from_config(cfg), stop)
        .with_deletes_allowed(args.allow_deletes.iter().cloned())
        .with_history_days(cfg.ledger.history_days);
    if args.full {
        engine = engine.with_full_listings();
    }
    // A shared PostgreSQL ledger: each instance is synced under its lease, as a daemon
    // works it (`once.rs`); none is synced while a live daemon holds one of them.
    let leases = LeaseKeeper::for_ledger(&ledger, cfg.lease_ttl());
    let outcome = timeweave::once::run_leased(engine, handles, args.dry_run, true, leases).await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            ledger.close().await;
            return Err(e.into());
        }
    };
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
            interval: timeweave::schedule::cron_interval(&p.schedule),
            live: None,
            uptime: None,
        })
        .collect()
}

/// `timeweave status`: exit 0 when every provider is healthy, 1 otherwise.
pub(crate) async fn status(cfg: &Config) -> anyhow::Result<ExitCode> {
    let ledger = open_existing_read_only(cfg).await?;
    ledger.check_integrity().await?;
    let statuses = timeweave::status::collect(&ledger, &facts(cfg), chrono::Utc::now()).await?;
    print!("{}", timeweave::status::render_text(&statuses));
    Ok(if statuses.iter().all(|s| s.healthy()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `timeweave conflicts [list|resolve ID --take SIDE]`.
pub(crate) async fn conflicts(cfg: &Config, args: &ConflictsArgs) -> anyhow::Result<ExitCode> {
    match &args.action {
        None | Some(ConflictsAction::List) => {
            let ledger = open_existing_read_only(cfg).await?;
            let open = ledger.read().await?.conflicts(true).await?;
            print!("{}", timeweave::conflicts::render(&open));
            Ok(ExitCode::SUCCESS)
        }
        Some(ConflictsAction::Resolve { id, take }) => {
            let id: i64 = id.parse().with_context(|| {
                format!("`{id}` is not a conflict id: use a number from `timeweave conflicts`")
            })?;
            // A resolution writes one row, beside a running daemon: no process lock, but
            // never a new ledger.
            require_ledger(cfg)?;
            let ledger = open_ledger(cfg).await?;
            let line = timeweave::conflicts::resolve(&ledger, id, take).await?;
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `timeweave report`: totals over a range of local work dates on stdout (table, CSV or
/// JSON) and optionally an HTML report; reads the ledger read-only, beside the daemon.
pub(crate) async fn report(cfg: &Config, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let today = chrono::Local::now().date_naive();
    let mut out = std::io::stdout().lock();
    let args = ReportArgs {
        currency: args
            .currency
            .clone()
            .or_else(|| cfg.report.currency.clone()),
        ..args.clone()
    };
    if cfg.ledger.postgres.is_some() {
        let ledger = open_existing_read_only(cfg).await?;
        timeweave::report::check_views(&ledger).await?;
        timeweave::report::report_on(ledger, &args, today, &mut out).await?;
        return Ok(ExitCode::SUCCESS);
    }
    timeweave::report::report_command(&cfg.ledger.path, &args, today, &mut out).await?;
    Ok(ExitCode::SUCCESS)
}

/// `timeweave export`: time entries over a range as CSV or JSON Lines, streamed to
/// `--output` or stdout; reads the ledger read-only, beside the daemon.
pub(crate) async fn export(cfg: &Config, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let today = chrono::Local::now().date_naive();
    let mut out = std::io::stdout().lock();
    if cfg.ledger.postgres.is_some() {
        let ledger = open_existing_read_only(cfg).await?;
        timeweave::report::check_views(&ledger).await?;
        timeweave::report::export_on(ledger, args, today, &mut out).await?;
        return Ok(ExitCode::SUCCESS);
    }
    timeweave::report::export_command(&cfg.ledger.path, args, today, &mut out).await?;
    Ok(ExitCode::SUCCESS)
}

/// `timeweave demo`: needs no config file.
pub(crate) async fn demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    Ok(timeweave::demo::run(args).await?)
}

/// `timeweave migrate`: applies pending ledger migrations and exits.
pub(crate) async fn migrate(cfg: &Config) -> anyhow::Result<ExitCode> {
    if let Some(pg) = &cfg.ledger.postgres {
        return migrate_postgres(pg).await;
    }
    let (_lock, ledger) = open_ledger_locked(cfg, "migrate").await?;
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

/// `timeweave migrate` on a PostgreSQL ledger: no file lock (processes on other hosts share
/// the database); the migrator's advisory lock keeps two from migrating at once.
async fn migrate_postgres(pg: &timeweave::config::PostgresLedger) -> anyhow::Result<ExitCode> {
    use timeweave::ledger::postgres;
    let target = postgres::describe_url(&pg.url);
    let pool = postgres::connect(&pg.url, pg.password.as_ref()).await?;
    postgres::migrate(&pool, &target).await?;
    let applied = postgres::applied_migrations(&pool).await?;
    println!(
        "ledger {target} is at migration {} ({} applied)",
        applied.last().copied().unwrap_or(0),
        applied.len()
    );
    pool.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `timeweave rebind INSTANCE`: the instance starts over with the account it reaches now.
pub(crate) async fn rebind(cfg: &Config, args: &RebindArgs) -> anyhow::Result<ExitCode> {
    let name = &args.instance;
    cfg.select_providers(std::slice::from_ref(name))?;
    require_ledger(cfg)?;
    let (_lock, ledger) = open_ledger_locked(cfg, "rebind").await?;
    let mut tx = ledger.write().await?;
    let was = tx.account_binding(name).await?;
    let links = tx.forget_account(name).await?;
    tx.commit().await?;
    ledger.close().await;
    let was = was.map_or_else(
        || "no account".to_owned(),
        |b| format!("\"{}\"", b.identity),
    );
    println!(
        "{name}: unbound from {was}; {links} links, its cursors and pending writes dropped. Its \
         next cycle matches the records of the account it reaches by natural key, binds to \
         that account and sends it what it lacks. Nothing was deleted."
    );
    Ok(ExitCode::SUCCESS)
}
