//! One cycle of one provider instance against the ledger: open a `sync_runs` row, connect,
//! check the account is the bound one, reconcile push intents left open by a crash, pull
//! (reference kinds in full, then the planned entry windows), settle the deletions of every
//! listing under one guard, push, advance the cursors last, close the run row (a panic is
//! caught and recorded as a failed cycle).
//!
//! Nothing is lost on failure: a page is applied in one transaction with its links, a push
//! intent is committed before its remote write, and cursors only move once everything
//! before them committed. A stop request (SIGTERM) lets the current page finish.

use std::collections::{BTreeMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use timeweave_contract::{CanonicalId, Capabilities, EntrySpan, Kind, ListScope, ProviderError};
use timeweave_http::{Shutdown, StatsSnapshot};

use super::claim::Claimant;
use super::deletions::Deletions;
use super::dry_run::DryRunCopy;
use super::scan::{plan_scan, ScanInput};
use super::{ProviderHandle, SyncSettings};
use crate::ledger::postgres::FencingToken;
use crate::ledger::{Ledger, LedgerError, RunCounts, RunStatus};

/// Shared "please stop" flag: set by SIGTERM/SIGINT, checked between pages and pushes. It
/// is the process's one shutdown broadcast: the transports built with
/// [`StopFlag::shutdown`] end every wait (limiter, backoff, `Retry-After`) when it is set.
#[derive(Clone, Debug, Default)]
pub struct StopFlag(Shutdown);

impl StopFlag {
    pub fn new() -> Self {
        StopFlag::default()
    }
    pub fn stop(&self) {
        self.0.trigger()
    }
    pub fn is_stopped(&self) -> bool {
        self.0.is_triggered()
    }
    /// The broadcast to give the transports (`registry::build_stoppable`).
    pub fn shutdown(&self) -> &Shutdown {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CycleOptions {
    /// Run the deep scan to the horizon regardless of the budget (`--sync-once`).
    pub to_completion: bool,
    /// Plan and report, change nothing (locally or remotely).
    pub dry_run: bool,
}

/// Where a running cycle is, for progress displays.
#[derive(Clone, Debug)]
pub struct Progress<'a> {
    pub provider: &'a str,
    /// "listing time_entry", "pushing", ...
    pub phase: &'a str,
    /// Entry windows listed so far and planned in all.
    pub windows_done: usize,
    pub windows_total: usize,
    pub counts: &'a RunCounts,
    /// Requests so far in this cycle.
    pub requests: u64,
}

/// Receives progress reports (often: keep it cheap).
pub type ProgressFn = Arc<dyn Fn(&Progress<'_>) + Send + Sync>;

/// What a cycle did.
#[derive(Clone, Debug)]
pub struct CycleReport {
    pub provider: String,
    pub status: RunStatus,
    pub counts: RunCounts,
    pub errors: Vec<String>,
    /// Not errors, but worth an operator's eye: e.g. fields a provider did not keep as
    /// written.
    pub warnings: Vec<String>,
    /// With `dry_run`: one line per planned change.
    pub plan: Vec<String>,
}

impl CycleReport {
    pub fn is_clean(&self) -> bool {
        self.status == RunStatus::Ok
    }
}

/// Why a cycle stopped early.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Abort {
    #[error("{0}")]
    Provider(ProviderError),
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    #[error("stopped on request")]
    Stopped,
    /// The instance reaches another account than the one it is bound to.
    #[error("{0}")]
    OtherAccount(String),
    /// A bug: the cycle panicked (recorded as failed, never left `running`).
    #[error("the cycle panicked ({0}); it is recorded as failed and the next cycle starts over")]
    Panicked(String),
}

impl From<sqlx::Error> for Abort {
    fn from(e: sqlx::Error) -> Self {
        Abort::Ledger(LedgerError::Query(e))
    }
}

/// The state of one running cycle, shared by the pull and push halves.
pub(crate) struct Cycle<'a> {
    pub ledger: &'a Ledger,
    pub h: &'a ProviderHandle,
    pub s: &'a SyncSettings,
    pub caps: Capabilities,
    pub now: DateTime<Utc>,
    pub counts: RunCounts,
    pub errors: Vec<String>,
    pub dry_run: bool,
    pub plan: Vec<String>,
    pub stop: &'a StopFlag,
    /// Records whose last create has an unknown outcome that could not be reconciled yet.
    pub blocked: HashSet<CanonicalId>,
    pub progress: Option<ProgressFn>,
    pub windows_done: usize,
    pub windows_total: usize,
    pub requests_before: u64,
    /// Fields this provider answered writes with otherwise than sent: per field, how many
    /// writes and the first example.
    pub unkept: BTreeMap<&'static str, (u64, String)>,
    /// This cycle's name on the intents it claims; registered as running while it lives.
    pub claimant: Claimant,
    /// Linked records the listings did not show, settled after the last listing.
    pub deletions: Deletions,
    /// The operator confirmed this instance's deletes (`sync --allow-deletes`).
    pub allow_deletes: bool,
    /// The mass-delete guard tripped: this cycle deletes nothing, here or there.
    pub deletes_held: bool,
    /// History older than this is pruned at the end of the cycle.
    pub keep_history: Option<chrono::Duration>,
}

impl Cycle<'_> {
    pub fn name(&self) -> &str {
        &self.h.name
    }

    /// Tells the progress receiver, if any, where the cycle is.
    pub fn report_progress(&self, phase: &str) {
        if let Some(f) = &self.progress {
            f(&Progress {
                provider: &self.h.name,
                phase,
                windows_done: self.windows_done,
                windows_total: self.windows_total,
                counts: &self.counts,
                requests: stats(self.h).requests.saturating_sub(self.requests_before),
            });
        }
    }

    pub fn error(&mut self, message: String) {
        tracing::warn!(provider = %self.h.name, "{message}");
        self.errors.push(message);
    }

    pub fn check_stop(&self) -> Result<(), Abort> {
        if self.stop.is_stopped() {
            Err(Abort::Stopped)
        } else {
            Ok(())
        }
    }

    /// A provider error: fatal ones abort the cycle, others are recorded.
    pub fn provider_error(&mut self, context: &str, e: ProviderError) -> Result<(), Abort> {
        if e.is_fatal_for_cycle() {
            return Err(Abort::Provider(e));
        }
        self.error(format!("{context}: {e}"));
        Ok(())
    }
}

/// Runs cycles against one ledger.
#[derive(Clone)]
pub struct Engine {
    ledger: Ledger,
    settings: SyncSettings,
    stop: StopFlag,
    progress: Option<ProgressFn>,
    /// The ledger is a private copy (see [`Engine::on_private_copy`]): every cycle is a dry
    /// run on it.
    on_copy: bool,
    /// Instances whose deletes the operator confirmed past the mass-delete guard.
    allow_deletes: Arc<HashSet<String>>,
    /// How long run history is kept (`None`: forever).
    keep_history: Option<chrono::Duration>,
}

impl Engine {
    pub fn new(ledger: Ledger, settings: SyncSettings, stop: StopFlag) -> Engine {
        Engine {
            ledger,
            settings,
            stop,
            progress: None,
            on_copy: false,
            allow_deletes: Arc::default(),
            keep_history: None,
        }
    }

    /// An engine on one private copy of this ledger, for a dry run of several providers in
    /// a row (`--sync-once --dry-run`): each cycle plans against what the earlier ones would
    /// have brought, as the real run would (a target's creates from a source's imports).
    /// Every cycle of it is a dry run; the copy is removed when the returned guard drops.
    pub async fn on_private_copy(&self) -> Result<(Engine, DryRunCopy), LedgerError> {
        let copy = DryRunCopy::make(&self.ledger, &std::env::temp_dir()).await?;
        let ledger = Ledger::open(copy.path()).await?;
        let engine = Engine {
            ledger,
            on_copy: true,
            ..self.clone()
        };
        Ok((engine, copy))
    }

    /// Prunes run history older than `days` at the end of each cycle (`ledger.history_days`).
    pub fn with_history_days(mut self, days: u32) -> Engine {
        self.keep_history = Some(chrono::Duration::days(days.into()));
        self
    }

    /// Lets these instances' cycles apply deletes the mass-delete guard would hold (the
    /// operator confirmed them: `timeweave sync --allow-deletes INSTANCE`).
    pub fn with_deletes_allowed(mut self, instances: impl IntoIterator<Item = String>) -> Engine {
        self.allow_deletes = Arc::new(instances.into_iter().collect());
        self
    }

    /// Reports progress of every cycle to `f` (the `--sync-once` progress bar).
    pub fn with_progress(mut self, f: ProgressFn) -> Engine {
        self.progress = Some(f);
        self
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn stop_flag(&self) -> &StopFlag {
        &self.stop
    }

    /// Runs one cycle. A dry run works on a private copy of the ledger and never writes to
    /// the provider, so neither side changes. A cycle that panics (a bug, e.g. on bytes from
    /// the network) is recorded as failed with the panic's message instead of staying
    /// `running`, and reported like any failed cycle. Everything logged meanwhile (adapter
    /// and transport included) is inside a `cycle` span carrying `provider`.
    pub async fn run_cycle(
        &self,
        h: &ProviderHandle,
        opts: CycleOptions,
    ) -> Result<CycleReport, LedgerError> {
        self.cycle_on(&self.ledger, h, opts).await
    }

    /// Runs one cycle whose every ledger write is fenced by the instance's lease (a shared
    /// PostgreSQL ledger, see `Ledger::fenced`): once the lease moved to another process,
    /// the cycle's next commit fails with `LedgerError::LeaseLost` and nothing more is
    /// written for the instance.
    pub async fn run_cycle_fenced(
        &self,
        h: &ProviderHandle,
        opts: CycleOptions,
        token: FencingToken,
    ) -> Result<CycleReport, LedgerError> {
        self.cycle_on(&self.ledger.fenced(&h.name, token), h, opts)
            .await
    }

    async fn cycle_on(
        &self,
        ledger: &Ledger,
        h: &ProviderHandle,
        opts: CycleOptions,
    ) -> Result<CycleReport, LedgerError> {
        use tracing::Instrument;
        let span = tracing::info_span!("cycle", provider = %h.name);
        let opts = CycleOptions {
            dry_run: opts.dry_run || self.on_copy,
            ..opts
        };
        async {
            if opts.dry_run && !self.on_copy {
                // One private copy for this cycle alone, the way `on_private_copy` makes one
                // for a whole `--sync-once --dry-run`; removed when `_copy` drops.
                let (on_copy, _copy) = self.on_private_copy().await?;
                let result = run(&on_copy.ledger, &on_copy, h, opts).await;
                on_copy.ledger.close().await;
                return result;
            }
            run(ledger, self, h, opts).await
        }
        .instrument(span)
        .await
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("ledger", &self.ledger)
            .field("settings", &self.settings)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// One cycle on `ledger` (the engine's, or a dry run's copy).
async fn run(
    ledger: &Ledger,
    engine: &Engine,
    h: &ProviderHandle,
    opts: CycleOptions,
) -> Result<CycleReport, LedgerError> {
    let Engine {
        settings,
        stop,
        progress,
        allow_deletes: allowed,
        keep_history,
        ..
    } = engine;
    let progress = progress.clone();
    let started = Utc::now();
    let clock = std::time::Instant::now();
    let run_id = {
        let mut tx = ledger.write().await?;
        let id = tx.start_run(&h.name, h.mode.as_str(), started).await?;
        tx.commit().await?;
        id
    };
    let before = stats(h);
    let mut cycle = Cycle {
        ledger,
        h,
        s: settings,
        caps: h.provider.capabilities(),
        now: started,
        counts: RunCounts::default(),
        errors: Vec::new(),
        dry_run: opts.dry_run,
        plan: Vec::new(),
        stop,
        blocked: HashSet::new(),
        progress,
        windows_done: 0,
        windows_total: 0,
        requests_before: before.requests,
        unkept: BTreeMap::new(),
        claimant: Claimant::register(),
        deletions: Deletions::default(),
        allow_deletes: allowed.contains(&h.name),
        deletes_held: false,
        keep_history: *keep_history,
    };
    let outcome = match AssertUnwindSafe(steps(&mut cycle, opts))
        .catch_unwind()
        .await
    {
        Ok(outcome) => outcome,
        Err(panic) => Err(Abort::Panicked(panic_message(panic.as_ref()))),
    }
    .map_err(|abort| match abort {
        // A wait ended by SIGTERM is a stop on request, not a provider failure.
        Abort::Provider(ProviderError::Stopped) => Abort::Stopped,
        other => other,
    });
    if !opts.dry_run {
        crate::cycle_durations::observe(
            &h.name,
            (Utc::now() - started).to_std().unwrap_or_default(),
        );
    }
    let after = stats(h);
    cycle.counts.requests = (after.requests - before.requests) as i64;
    cycle.counts.rate_limited = (after.rate_limited - before.rate_limited) as i64;
    let status = match &outcome {
        // Deletes held by the guard: no progress, however much else went through.
        Ok(()) if cycle.deletes_held => RunStatus::Failed,
        Ok(()) if cycle.errors.is_empty() => RunStatus::Ok,
        Ok(()) => RunStatus::Partial,
        Err(Abort::Stopped) => RunStatus::Interrupted,
        Err(_) => RunStatus::Failed,
    };
    match outcome {
        Err(Abort::Ledger(e)) => {
            // The ledger itself failed: record what we can, then report the failure.
            cycle.errors.push(format!("ledger error: {e}"));
            if let Ok(mut tx) = ledger.write().await {
                let _ = tx
                    .finish_run(run_id, status, &cycle.counts, &cycle.errors, Utc::now())
                    .await;
                let _ = tx.commit().await;
            }
            return Err(e);
        }
        Err(Abort::Provider(e)) => {
            let message = format!("{}: {e}", h.name);
            tracing::error!(provider = %h.name, "cycle failed: {e}");
            cycle.errors.push(message);
        }
        Err(Abort::Panicked(message)) => {
            let message = format!("{}: the cycle panicked ({message})", h.name);
            tracing::error!(provider = %h.name, "{message}");
            cycle.errors.push(message);
        }
        Err(Abort::OtherAccount(message)) => {
            tracing::error!(provider = %h.name, "{message}");
            cycle.errors.push(message);
        }
        Err(Abort::Stopped) => {
            tracing::info!(provider = %h.name, "cycle stopped on request after the current page");
        }
        Ok(()) => {}
    }
    let mut tx = ledger.write().await?;
    tx.finish_run(run_id, status, &cycle.counts, &cycle.errors, Utc::now())
        .await?;
    tx.commit().await?;
    tracing::info!(
        provider = %h.name,
        status = status.as_str(),
        pulled = cycle.counts.pulled,
        created = cycle.counts.created,
        updated = cycle.counts.updated,
        deleted = cycle.counts.deleted,
        pushed = cycle.counts.pushed,
        conflicts = cycle.counts.conflicts,
        skipped = cycle.counts.skipped,
        requests = cycle.counts.requests,
        duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
        "cycle finished"
    );
    let warnings: Vec<String> = cycle
        .unkept
        .iter()
        .map(|(field, (n, example))| {
            format!(
                "{} did not keep {field} as written ({n} write{}; e.g. {example}): it ignores or rewrites that field, and an edit made there will carry its own value",
                h.name,
                if *n == 1 { "" } else { "s" }
            )
        })
        .collect();
    for w in &warnings {
        tracing::warn!(provider = %h.name, "{w}");
    }
    Ok(CycleReport {
        provider: h.name.clone(),
        status,
        counts: cycle.counts,
        errors: cycle.errors,
        warnings,
        plan: cycle.plan,
    })
}

/// The text of a panic's payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

fn stats(h: &ProviderHandle) -> StatsSnapshot {
    h.stats.as_ref().map(|s| s.snapshot()).unwrap_or_default()
}

async fn steps(c: &mut Cycle<'_>, opts: CycleOptions) -> Result<(), Abort> {
    let info = c.h.provider.connect().await.map_err(Abort::Provider)?;
    tracing::debug!(provider = %c.h.name, server = %info.server, "connected");
    let identity = c.check_account().await?;
    if !c.dry_run {
        c.reconcile_intents().await?;
    }

    // Pull: reference kinds in full (also in push mode: to link what is already there).
    for kind in [Kind::Person, Kind::Client, Kind::Project, Kind::Task] {
        if c.caps.support(kind).list {
            c.check_stop()?;
            c.pull_listing(kind, ListScope::All).await?;
        }
    }

    // Then the planned entry windows.
    let mut cursor_ok = true;
    let next_cursor = if c.caps.time_entry.list {
        let cursor = c
            .ledger
            .read()
            .await?
            .cursor(c.name(), Kind::TimeEntry)
            .await?;
        let oldest = c.ledger.read().await?.oldest_linked_start(c.name()).await?;
        let span = c.entry_span().await?;
        let page = c.caps.entry_page_size.max(1) as i64;
        let budget = if opts.to_completion { None } else { c.h.budget };
        let input = |budget, to_completion| ScanInput {
            now: c.now,
            settings: c.s.scan,
            cursor: &cursor,
            budget,
            change_feed: c.caps.change_feed,
            to_completion,
            oldest_known: oldest,
            span,
        };
        // Estimates matter only against a budget, and only for the windows a scheduled
        // cycle can list (the hot window, the change feed, the next slice): one request per
        // page of entries linked in the window, plus one.
        let mut counts = Vec::new();
        if budget.is_some() {
            let candidates = plan_scan(&input(None, false), |_| 1);
            let mut tx = c.ledger.read().await?;
            for w in &candidates.windows {
                if let ListScope::StartedIn(win) = w.scope {
                    let n = tx.count_links_in_window(c.name(), win.from, win.to).await?;
                    counts.push((win, (n / page) as u32 + 1));
                }
            }
        }
        let plan = plan_scan(&input(budget, opts.to_completion), |w| {
            counts
                .iter()
                .find(|(win, _)| *win == w)
                .map(|(_, n)| *n)
                .unwrap_or(1)
        });
        c.windows_total = plan.windows.len();
        for w in &plan.windows {
            c.check_stop()?;
            if !c.pull_listing(Kind::TimeEntry, w.scope).await? {
                cursor_ok = false;
            }
            c.windows_done += 1;
        }
        Some(plan.next_cursor)
    } else {
        None
    };

    // Deletions from every listing, weighed together.
    c.settle_deletions().await?;

    if c.h.mode.pushes() {
        c.push_all().await?;
    }

    if let (Some(next), true, false) = (next_cursor, cursor_ok, c.dry_run) {
        let mut tx = c.ledger.write().await?;
        tx.save_cursor(c.name(), Kind::TimeEntry, &next, c.now)
            .await?;
        tx.commit().await?;
    }
    // Versions kept for merges that no link names any more (this cycle's pushes and
    // pulls moved its links on). A first cycle that got this far binds the account.
    if !c.dry_run {
        let mut tx = c.ledger.write().await?;
        tx.prune_versions().await?;
        tx.bind_account(c.name(), &identity, c.now).await?;
        if let Some(keep) = c.keep_history {
            tx.prune_history(c.now - keep).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

impl Cycle<'_> {
    /// Where the provider says its entries lie. A failure to tell is no reason to skip the
    /// cycle: the scan falls back to the configured horizon, with a warning.
    async fn entry_span(&mut self) -> Result<EntrySpan, Abort> {
        match self.h.provider.entry_span().await {
            Ok(span) => Ok(span),
            Err(e) if e.is_fatal_for_cycle() => Err(Abort::Provider(e)),
            Err(e) => {
                tracing::warn!(provider = %self.h.name, "cannot tell the oldest and newest entry ({e}): scanning back to the configured horizon");
                Ok(EntrySpan::Unknown)
            }
        }
    }
}
