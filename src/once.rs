//! `timeweave --sync-once` / `timeweave sync`: every selected provider once, with the deep
//! scan run to completion (a migration), sources (`pull`) first and targets (`push`) last,
//! then a second, budgeted round when later providers brought changes the earlier ones
//! have not received — so one invocation converges. A dry run plans every provider on one
//! private copy of the ledger, so a target's plan shows what the sources would bring. A
//! progress bar on a terminal, periodic log lines otherwise, both saying what a provider's
//! requests are waiting for (see `progress_line`); exit 0 only if every provider finished
//! cleanly.
//!
//! On a shared PostgreSQL ledger ([`run_leased`]) the invocation first takes the lease of
//! every selected instance, as a daemon's runner does (`leases.rs`), keeps them renewed
//! while it works, fences every cycle's ledger writes by the lease's token, gates the
//! provider writes on it, and releases them all at the end, on error or stop too. When a
//! live other process holds any of them, nothing is synced ([`OnceError::HeldElsewhere`]):
//! the rounds order sources before targets across every selected instance, so a subset
//! would be a half-converged run; `--provider` names the subset when that is wanted. A
//! dry run takes no lease (it works on a private copy).

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use timeweave_http::TransportStats;

use crate::config::Mode;
use crate::leases::{LeaseKeeper, Taken};
use crate::ledger::postgres::{Lease, LeaseHolder};
use crate::ledger::{LedgerError, RunStatus};
use crate::progress_line::{describe_wait, render, Snapshot, WindowClock};
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

/// Why a `--sync-once` stopped before its outcome.
#[derive(Debug, thiserror::Error)]
pub enum OnceError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Live other processes hold these instances' leases: nothing was synced.
    #[error("{}", held_elsewhere(.0))]
    HeldElsewhere(Vec<LeaseHolder>),
}

/// What [`OnceError::HeldElsewhere`] tells the operator: each instance, its holder and
/// until when, and what to do.
fn held_elsewhere(held: &[LeaseHolder]) -> String {
    let mut out = String::from("nothing was synced: another process works ");
    let each: Vec<String> = held
        .iter()
        .map(|l| {
            format!(
                "instance {} (its lease is held by {} until {}, fencing token {})",
                l.provider,
                l.owner.as_deref().unwrap_or("another process"),
                l.expires_at.format("%Y-%m-%d %H:%M:%S UTC"),
                l.token.0
            )
        })
        .collect();
    out.push_str(&each.join(", "));
    out.push_str(
        ". Stop that `timeweave run` (the owner is HOST/PID/START), or wait for its lease to \
         expire, then run the sync again; `timeweave status` shows who holds each lease. To \
         sync only the other instances now, name them with --provider.",
    );
    out
}

/// The leases a non-dry `--sync-once` on a shared PostgreSQL ledger works under: every
/// selected instance's, each renewed until released.
struct HeldLeases {
    keeper: Arc<LeaseKeeper>,
    leases: Vec<Lease>,
    renewing: Vec<tokio::task::JoinHandle<()>>,
}

impl HeldLeases {
    /// Takes every handle's lease and gates its provider writes on it; when another
    /// process holds any, gives back those taken and says who holds which.
    async fn take(
        keeper: Arc<LeaseKeeper>,
        engine: &Engine,
        handles: &[ProviderHandle],
    ) -> Result<HeldLeases, OnceError> {
        let mut held = HeldLeases {
            keeper,
            leases: Vec::new(),
            renewing: Vec::new(),
        };
        let mut elsewhere = Vec::new();
        for h in handles {
            match held.take_one(engine, h).await {
                Ok(true) => {}
                Ok(false) => elsewhere.push(h.name.as_str()),
                Err(e) => return Err(held.released(e.into()).await),
            }
        }
        if elsewhere.is_empty() {
            return Ok(held);
        }
        let holders = held.holders(&elsewhere).await;
        Err(held.released(holders).await)
    }

    /// Whether `h`'s lease is this process's now (renewed from here on).
    async fn take_one(&mut self, engine: &Engine, h: &ProviderHandle) -> Result<bool, LedgerError> {
        let Taken::Held { lease, .. } = self.keeper.take_for_work(engine.ledger(), &h.name).await?
        else {
            return Ok(false);
        };
        self.keeper.gate(h);
        self.renewing.push(self.keeper.keep_renewed(lease.clone()));
        self.leases.push(lease);
        Ok(true)
    }

    /// Who holds each of `names` (a lease released meanwhile is named as last held).
    async fn holders(&self, names: &[&str]) -> OnceError {
        match self.keeper.holders_of(names).await {
            Ok(held) => OnceError::HeldElsewhere(held),
            Err(e) => e.into(),
        }
    }

    fn lease(&self, provider: &str) -> Option<&Lease> {
        self.leases.iter().find(|l| l.provider == provider)
    }

    /// Stops renewing and gives every lease back; passes `e` on.
    async fn released<E>(self, e: E) -> E {
        self.release().await;
        e
    }

    async fn release(self) {
        for task in &self.renewing {
            task.abort();
        }
        self.keeper.release_all().await;
    }
}

fn order(m: Mode) -> u8 {
    match m {
        Mode::Pull => 0,
        Mode::Both => 1,
        Mode::Push => 2,
    }
}

/// The progress display: the engine's reports update what it shows; a ticker redraws it
/// with the current wait of the provider's transport (a bar's message every 200 ms on a
/// terminal, a log line every 10 s otherwise), so a wait is visible while nothing else
/// moves.
struct Display {
    bar: Option<ProgressBar>,
    shown: Mutex<Shown>,
    /// Each provider's transport counters and wait (none without a transport).
    transports: Vec<(String, Arc<TransportStats>)>,
}

#[derive(Default)]
struct Shown {
    snapshot: Option<Snapshot>,
    clock: WindowClock,
    /// The transport's request count when the cycle began.
    requests_before: u64,
}

impl Display {
    fn new(bar: Option<ProgressBar>, handles: &[ProviderHandle]) -> Arc<Display> {
        let transports = handles
            .iter()
            .filter_map(|h| Some((h.name.clone(), h.stats.clone()?)))
            .collect();
        Arc::new(Display {
            bar,
            shown: Mutex::default(),
            transports,
        })
    }

    fn transport(&self, provider: &str) -> Option<&TransportStats> {
        self.transports
            .iter()
            .find(|(name, _)| name == provider)
            .map(|(_, stats)| &**stats)
    }

    fn shown(&self) -> std::sync::MutexGuard<'_, Shown> {
        self.shown.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A cycle of `provider` begins: its waits show from its first request (connecting),
    /// before the engine's first report.
    fn starting(&self, provider: &str) {
        self.shown().requests_before = self
            .transport(provider)
            .map_or(0, |t| t.snapshot().requests);
        self.show(Snapshot {
            provider: provider.to_owned(),
            phase: "connecting".to_owned(),
            ..Snapshot::default()
        });
    }

    /// A report from the engine.
    fn report(&self, p: &Progress<'_>) {
        self.show(Snapshot::of(p));
    }

    /// Remembers what to show, moves the bar.
    fn show(&self, snapshot: Snapshot) {
        if let Some(b) = &self.bar {
            // No length while no windows are planned: indicatif draws a zero length full.
            if snapshot.windows_total > 0 {
                b.set_length(snapshot.windows_total as u64);
                b.set_position(snapshot.windows_done as u64);
            } else {
                b.unset_length();
            }
        }
        {
            let mut shown = self.shown();
            shown.clock.observe(&snapshot, Instant::now());
            shown.snapshot = Some(snapshot);
        }
        if self.bar.is_some() {
            self.redraw();
        }
    }

    /// The line as of now, once a cycle has begun: the requests and the wait read live
    /// from the transport, the rest as last reported.
    fn line(&self) -> Option<(String, String)> {
        let shown = self.shown();
        let mut s = shown.snapshot.clone()?;
        let transport = self.transport(&s.provider);
        if let Some(t) = transport {
            s.requests = t.snapshot().requests.saturating_sub(shown.requests_before);
        }
        let wait = transport.and_then(|t| t.wait.current()).and_then(|w| {
            let left = w
                .until
                .saturating_duration_since(tokio::time::Instant::now());
            describe_wait(&w.reason, left)
        });
        let eta = shown.clock.eta(&s, Instant::now());
        Some((s.provider.clone(), render(&s, wait, eta)))
    }

    fn redraw(&self) {
        let Some((provider, line)) = self.line() else {
            return;
        };
        match &self.bar {
            Some(b) => b.set_message(line),
            None => tracing::info!(provider = %provider, "progress: {line}"),
        }
    }

    /// Redraws on a timer until dropped.
    fn start_ticking(self: &Arc<Display>) -> Ticker {
        let every = if self.bar.is_some() {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(10)
        };
        let display = self.clone();
        Ticker(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await; // the first tick is immediate
            loop {
                ticks.tick().await;
                display.redraw();
            }
        }))
    }
}

/// The display's ticker task, stopped when dropped.
struct Ticker(tokio::task::JoinHandle<()>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the sync-once rounds. `show_progress`: draw a bar when stderr is a terminal.
pub async fn run(
    engine: Engine,
    handles: Vec<ProviderHandle>,
    dry_run: bool,
    show_progress: bool,
) -> Result<OnceOutcome, LedgerError> {
    rounds(engine, handles, dry_run, show_progress, None).await
}

/// [`run`] under every selected instance's lease when `leases` is a shared PostgreSQL
/// ledger's keeper (not for a dry run, which changes nothing); released at the end.
pub async fn run_leased(
    engine: Engine,
    handles: Vec<ProviderHandle>,
    dry_run: bool,
    show_progress: bool,
    leases: Option<Arc<LeaseKeeper>>,
) -> Result<OnceOutcome, OnceError> {
    let Some(keeper) = leases.filter(|_| !dry_run) else {
        return Ok(rounds(engine, handles, dry_run, show_progress, None).await?);
    };
    let held = HeldLeases::take(keeper, &engine, &handles).await?;
    let outcome = rounds(engine, handles, dry_run, show_progress, Some(&held)).await;
    held.release().await;
    Ok(outcome?)
}

/// One cycle of `h`, fenced by its lease when the invocation holds one.
async fn cycle(
    engine: &Engine,
    h: &ProviderHandle,
    opts: CycleOptions,
    held: Option<&HeldLeases>,
) -> Result<CycleReport, LedgerError> {
    match held.and_then(|l| l.lease(&h.name)) {
        Some(lease) => engine.run_cycle_fenced(h, opts, lease).await,
        None => engine.run_cycle(h, opts).await,
    }
}

/// A bar on stderr when asked for and stderr is a terminal.
fn progress_bar(show_progress: bool) -> Option<ProgressBar> {
    (show_progress && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::no_length();
        // No indicatif ETA: it knows only the bar's position, and says "0s" during a wait;
        // the message carries one from the planned windows.
        b.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.enable_steady_tick(Duration::from_millis(200));
        b
    })
}

/// The rounds of [`run`], each cycle under its instance's lease in `held`.
async fn rounds(
    engine: Engine,
    mut handles: Vec<ProviderHandle>,
    dry_run: bool,
    show_progress: bool,
    held: Option<&HeldLeases>,
) -> Result<OnceOutcome, LedgerError> {
    handles.sort_by_key(|h| order(h.mode));
    let bar = progress_bar(show_progress);
    // A dry run works on one private copy for the whole invocation, so a target's plan
    // follows what the sources before it would bring.
    let (engine, copy) = if dry_run {
        let (on_copy, copy) = engine.on_private_copy().await?;
        (on_copy, Some(copy))
    } else {
        (engine, None)
    };
    let display = Display::new(bar.clone(), &handles);
    let _ticker = display.start_ticking();
    let reporter = display.clone();
    let engine = engine.with_progress(Arc::new(move |p: &Progress<'_>| reporter.report(p)));
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
        display.starting(&h.name);
        let r = cycle(&engine, h, first, held).await?;
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
                display.starting(&h.name);
                reports.push(cycle(&engine, h, CycleOptions::default(), held).await?);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::RunCounts;
    use std::sync::atomic::Ordering;
    use timeweave_http::{Wait, WaitReason};

    fn handle(name: &str, stats: &Arc<TransportStats>) -> ProviderHandle {
        let provider = Arc::new(timeweave_testsupport::memory::MemoryProvider::new(10));
        ProviderHandle {
            stats: Some(stats.clone()),
            push_concurrency: 1,
            ..ProviderHandle::new(name, provider, Mode::Both)
        }
    }

    #[tokio::test]
    async fn the_line_says_what_the_current_provider_waits_for() {
        let (ours, other) = (
            Arc::new(TransportStats::default()),
            Arc::new(TransportStats::default()),
        );
        let display = Display::new(None, &[handle("a", &ours), handle("b", &other)]);
        assert_eq!(display.line(), None, "nothing to show before a cycle");
        display.starting("a");
        let connecting = ours.wait.begin(Wait {
            reason: WaitReason::Quota,
            until: tokio::time::Instant::now() + Duration::from_secs(3),
        });
        let shown = display.line().map(|(_, l)| l).unwrap_or_default();
        assert!(
            shown.starts_with("a: connecting") && shown.ends_with("waiting 3 s for quota"),
            "{shown}"
        );
        drop(connecting);
        ours.requests.fetch_add(2, Ordering::Relaxed);
        let shown = display.line().map(|(_, l)| l).unwrap_or_default();
        assert!(
            shown.ends_with("| 2 requests"),
            "requests count live: {shown}"
        );
        display.report(&Progress {
            provider: "a",
            phase: "listing time_entry",
            windows_done: 1,
            windows_total: 3,
            counts: &RunCounts::default(),
            requests: 2,
        });
        let quota = |secs| Wait {
            reason: WaitReason::Quota,
            until: tokio::time::Instant::now() + Duration::from_secs(secs),
        };
        let _elsewhere = other.wait.begin(quota(99));
        let line = || display.line().map(|(_, l)| l).unwrap_or_default();
        assert!(!line().contains("waiting"), "{}", line());
        let _waiting = ours.wait.begin(quota(12));
        assert!(
            line().ends_with("| 2 requests | waiting 12 s for quota"),
            "{}",
            line()
        );
        drop(_waiting);
        assert!(!line().contains("waiting"), "{}", line());
    }
}
