//! `timeweave run`: the long-running service. Starts the scheduler and the optional status
//! listener, tells systemd READY (and STATUS after each cycle, WATCHDOG while every
//! instance makes progress), re-runs every provider on SIGHUP, and on SIGTERM/SIGINT (or its
//! stop flag set by an embedder) stops new cycles, ends every wait (the `stop` flag is the
//! transports' shutdown broadcast), lets running cycles finish their current page, tells
//! systemd STOPPING and exits 0.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sd_notify::NotifyState;

use crate::config::Config;
use crate::leases::LeaseKeeper;
use crate::ledger::{Ledger, LedgerError};
use crate::schedule::{ScheduleError, ScheduledProvider, Scheduler};
use crate::status;
use crate::sync::{Engine, StopFlag, SyncSettings};

/// How long running cycles get to finish their page after SIGTERM (the unit's
/// TimeoutStopSec is 60 s).
const STOP_GRACE: Duration = Duration::from_secs(45);

/// Why the daemon could not start, or could not wait for signals.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("starting the scheduler")]
    Scheduler(#[source] ScheduleError),
    #[error("cannot listen on {addr} (server.listen)")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("installing the {signal} handler")]
    Signal {
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
}

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!("sd_notify: {e}");
    }
}

pub async fn run(
    cfg: &Config,
    providers: Vec<ScheduledProvider>,
    ledger: Ledger,
    stop: StopFlag,
) -> Result<ExitCode, DaemonError> {
    // On a shared PostgreSQL ledger other processes' cycles may be running: an instance's
    // are marked when its lease is taken over (`schedule.rs`).
    let leases = LeaseKeeper::for_ledger(&ledger, cfg.lease_ttl());
    if leases.is_none() {
        let mut tx = ledger.write().await?;
        let n = tx.mark_interrupted_runs(None, Utc::now()).await?;
        tx.commit().await?;
        if n > 0 {
            tracing::warn!("{n} cycle(s) of a previous process were interrupted; their work is reconciled in the next cycles");
        }
    }
    let engine = Engine::new(ledger.clone(), SyncSettings::from_config(cfg), stop.clone())
        .with_history_days(cfg.ledger.history_days);
    let names: Vec<String> = providers.iter().map(|p| p.handle.name.clone()).collect();
    if let Some(leases) = &leases {
        tracing::info!(
            owner = leases.owner(),
            lease_ttl_seconds = cfg.lease_ttl().as_secs(),
            "shared PostgreSQL ledger: each instance is worked under a lease"
        );
    }
    let scheduler = Scheduler::start(providers, &engine, leases.clone())
        .await
        .map_err(DaemonError::Scheduler)?;
    let runners: Vec<_> = scheduler.runners().to_vec();
    let facts: crate::server::FactsSource =
        Arc::new(move || runners.iter().map(|r| r.facts()).collect::<Vec<_>>());
    let trigger: crate::server::Trigger = {
        let runners: Vec<_> = scheduler.runners().to_vec();
        Arc::new(move |name: &str| crate::schedule::trigger(&runners, name))
    };

    let _listener = match cfg.server.listen {
        Some(addr) => {
            let webhooks = Arc::new(crate::webhook_gate::WebhookGate::from_config(cfg));
            let (bound, task) =
                crate::server::serve(addr, ledger.clone(), facts.clone(), trigger, webhooks)
                    .await
                    .map_err(|source| DaemonError::Listen { addr, source })?;
            tracing::info!("status listener on http://{bound} (/healthz, /metrics)");
            Some(task)
        }
        None => None,
    };

    // systemd: ready, a status line kept current, and the watchdog.
    notify(&[
        NotifyState::Ready,
        NotifyState::Status(&format!("syncing {}", names.join(", "))),
    ]);
    let started = Utc::now();
    let status_task = {
        let ledger = ledger.clone();
        let facts = facts.clone();
        tokio::spawn(async move {
            let period = sd_notify::watchdog_enabled()
                .map(|d| d / 2)
                .unwrap_or(Duration::from_secs(30));
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let now = Utc::now();
                // The watchdog is pinged only while every instance makes progress: a
                // daemon whose cycles all fail, or hang, is restarted by systemd.
                if let Ok(statuses) = status::collect(&ledger, &facts(), now).await {
                    let unhealthy: Vec<&str> = statuses
                        .iter()
                        .filter(|s| !s.healthy())
                        .map(|s| s.facts.name.as_str())
                        .collect();
                    let line = if unhealthy.is_empty() {
                        format!("{} provider(s) healthy", statuses.len())
                    } else {
                        format!("unhealthy: {}", unhealthy.join(", "))
                    };
                    if statuses
                        .iter()
                        .all(|s| status::making_progress(s, started, now))
                    {
                        notify(&[NotifyState::Watchdog, NotifyState::Status(&line)]);
                    } else {
                        notify(&[NotifyState::Status(&line)]);
                    }
                }
            }
        })
    };
    tracing::info!(providers = %names.join(","), "timeweave running");

    wait_for_signals(&scheduler, &stop).await?;

    tracing::info!("stopping: no new cycles; waits end, running cycles finish their current page");
    notify(&[NotifyState::Stopping]);
    stop.stop();
    status_task.abort();
    if !scheduler.shutdown(STOP_GRACE).await {
        tracing::warn!(
            "some cycles did not stop within {} s; their work is reconciled next start",
            STOP_GRACE.as_secs()
        );
    }
    if let Some(leases) = &leases {
        // Another node takes the instances over at once, not after the ttl.
        leases.release_all().await;
    }
    ledger.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Sets the engine's stop flag on SIGTERM or SIGINT: every wait ends, the current page
/// finishes. The handlers are in place when this returns (not when the task first runs), so
/// a signal from then on never kills the process mid-write.
pub fn stop_on_signals(stop: StopFlag) {
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

/// Waits for SIGTERM or SIGINT, or for `stop` to be set by whoever embeds the daemon
/// (`demo --serve` sets it on a signal that came before the daemon listened).
#[cfg(unix)]
async fn wait_for_signals(scheduler: &Scheduler, stop: &StopFlag) -> Result<(), DaemonError> {
    use tokio::signal::unix::{signal, SignalKind};
    let handler = |kind: SignalKind, signal_name: &'static str| {
        signal(kind).map_err(|source| DaemonError::Signal {
            signal: signal_name,
            source,
        })
    };
    let mut term = handler(SignalKind::terminate(), "SIGTERM")?;
    let mut int = handler(SignalKind::interrupt(), "SIGINT")?;
    let mut hup = handler(SignalKind::hangup(), "SIGHUP")?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            _ = stop.shutdown().triggered() => return Ok(()),
            _ = hup.recv() => {
                tracing::info!("SIGHUP: running every provider now");
                scheduler.trigger_all();
            }
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signals(_scheduler: &Scheduler, stop: &StopFlag) -> Result<(), DaemonError> {
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.map_err(|source| DaemonError::Signal {
            signal: "Ctrl-C",
            source,
        })?,
        _ = stop.shutdown().triggered() => {}
    }
    Ok(())
}
