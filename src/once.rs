//! `timeweave --sync-once` / `timeweave sync`: every selected provider once, with the deep
//! scan run to completion (a migration), sources (`pull`) first and targets (`push`) last,
//! then a second, budgeted round when later providers brought changes the earlier ones
//! have not received — so one invocation converges. A dry run plans every provider on one
//! private copy of the ledger, so a target's plan shows what the sources would bring. A
//! progress bar on a terminal, periodic log lines otherwise; exit 0 only if every provider
//! finished cleanly.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Mode;
use crate::ledger::RunStatus;
use crate::sync::{CycleOptions, CycleReport, Engine, Progress, ProviderHandle};

/// What one `--sync-once` did, per provider and round.
pub struct OnceOutcome {
    pub reports: Vec<CycleReport>,
}

impl OnceOutcome {
    pub fn clean(&self) -> bool {
        self.reports.iter().all(|r| r.status == RunStatus::Ok)
    }

    /// One line per provider cycle, plus errors, plus (dry run) the plan.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for r in &self.reports {
            let c = &r.counts;
            out.push_str(&format!(
                "{:<16} {:<11} pulled {:>6}  created {:>5}  updated {:>5}  deleted {:>4}  pushed {:>5}  conflicts {:>3}  skipped {:>4}  requests {:>5}\n",
                r.provider,
                r.status.as_str(),
                c.pulled, c.created, c.updated, c.deleted, c.pushed, c.conflicts, c.skipped, c.requests
            ));
            for e in &r.errors {
                out.push_str(&format!("    error: {e}\n"));
            }
            for w in &r.warnings {
                out.push_str(&format!("    warning: {w}\n"));
            }
            for line in &r.plan {
                out.push_str(&format!("    would {line}\n"));
            }
        }
        out
    }
}

fn order(m: Mode) -> u8 {
    match m {
        Mode::Pull => 0,
        Mode::Both => 1,
        Mode::Push => 2,
    }
}

/// A progress receiver: a bar on a terminal, a log line every 10 s otherwise.
fn progress_reporter(bar: Option<ProgressBar>) -> crate::sync::ProgressFn {
    let last_log = Mutex::new(Instant::now());
    Arc::new(move |p: &Progress<'_>| {
        let c = p.counts;
        let windows = if p.windows_total > 0 {
            format!(
                " window {}/{}",
                p.windows_done.min(p.windows_total),
                p.windows_total
            )
        } else {
            String::new()
        };
        let msg = format!(
            "{}: {}{} | pulled {} created {} updated {} pushed {} | {} requests",
            p.provider, p.phase, windows, c.pulled, c.created, c.updated, c.pushed, p.requests
        );
        match &bar {
            Some(b) => {
                if p.windows_total > 0 {
                    b.set_length(p.windows_total as u64);
                    b.set_position(p.windows_done as u64);
                }
                b.set_message(msg);
            }
            None => {
                let mut last = last_log.lock().unwrap_or_else(|e| e.into_inner());
                if last.elapsed() >= Duration::from_secs(10) {
                    *last = Instant::now();
                    tracing::info!("progress: {msg}");
                }
            }
        }
    })
}

/// Runs the sync-once rounds. `show_progress`: draw a bar when stderr is a terminal.
pub async fn run(
    engine: Engine,
    mut handles: Vec<ProviderHandle>,
    dry_run: bool,
    show_progress: bool,
) -> anyhow::Result<OnceOutcome> {
    handles.sort_by_key(|h| order(h.mode));
    let bar = (show_progress && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} eta {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.enable_steady_tick(Duration::from_millis(200));
        b
    });
    // A dry run works on one private copy for the whole invocation, so a target's plan
    // follows what the sources before it would bring.
    let (engine, copy) = if dry_run {
        let (on_copy, copy) = engine.on_private_copy().await?;
        (on_copy, Some(copy))
    } else {
        (engine, None)
    };
    let engine = engine.with_progress(progress_reporter(bar.clone()));
    let mut reports = Vec::new();
    let first = CycleOptions {
        to_completion: true,
        dry_run,
    };
    let mut changed_after: Vec<bool> = Vec::new();
    for h in &handles {
        if engine.stop_flag().is_stopped() {
            break;
        }
        let r = engine.run_cycle(h, first).await?;
        let c = &r.counts;
        changed_after.push(c.created + c.updated + c.deleted > 0);
        reports.push(r);
    }
    // Providers earlier in the round missed what later ones brought in: one more, budgeted
    // round for those (the push side covers everything; only the hot window is listed).
    if !dry_run {
        for (i, h) in handles.iter().enumerate() {
            let later_changes = changed_after.iter().skip(i + 1).any(|c| *c);
            if later_changes && h.mode.pushes() && !engine.stop_flag().is_stopped() {
                reports.push(engine.run_cycle(h, CycleOptions::default()).await?);
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if copy.is_some() {
        engine.ledger().close().await;
    }
    drop(copy);
    Ok(OnceOutcome { reports })
}
