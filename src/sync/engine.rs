//! One cycle of one provider instance against the ledger: open a `sync_runs` row, connect,
//! check the account is the bound one, reconcile push intents left open by a crash, read
//! the change trail (`trail.rs`), pull (reference kinds in full, the records the trail
//! named, then the planned entry windows; the trail may spare the full listings), settle
//! the deletions of every listing under one guard, push, advance the entry cursor and the
//! trail position, then the closing writes, close the run row (a panic is caught and recorded as a failed cycle).
//!
//! Nothing is lost on failure: a page is applied in one transaction with its links, a push
//! intent is committed before its remote write, and cursors only move once everything
//! before them committed. A stop request (SIGTERM) lets the current page finish.

use std::collections::{BTreeMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use timeweave_contract::{
    CanonicalId, Capabilities, EntrySpan, Kind, ListScope, ProviderError, Window,
};
use timeweave_http::{Shutdown, StatsSnapshot};

use super::claim::Claimant;
use super::coverage::Coverage;
use super::deletions::Deletions;
use super::dry_run::DryRunCopy;
use super::scan::{plan_scan, Purpose, ScanInput, ScanPlan};
use super::trail::TrailPlan;
use super::{ProviderHandle, SyncSettings};
use crate::ledger::postgres::Lease;
use crate::ledger::{Cursor, Ledger, LedgerError, RunCounts, RunStatus};

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
    /// A bug caught before it was written: the cycle's own check of what it was about to
    /// commit failed; the open transaction rolls back.
    #[error("{0}")]
    Invariant(String),
}

impl From<sqlx::Error> for Abort {
    fn from(e: sqlx::Error) -> Self {
        Abort::Ledger(LedgerError::Query(e))
    }
}

/// The state of one running cycle, shared by the pull and push halves.
pub(crate) struct Cycle<'a> {
    pub ledger: &'a Ledger,
    /// The provider instance this cycle syncs.
    pub instance: &'a ProviderHandle,
    /// Conflict policy, mass-delete guard, scan settings and `[people]`.
    pub settings: &'a SyncSettings,
    /// What the provider can list, write and hold, asked once per cycle.
    pub caps: Capabilities,
    /// The cycle's start, the time its record, link and intent writes carry.
    pub now: DateTime<Utc>,
    pub counts: RunCounts,
    pub errors: Vec<String>,
    pub dry_run: bool,
    /// With `dry_run`: one line per planned change.
    pub plan: Vec<String>,
    pub stop: &'a StopFlag,
    /// Records not to be pushed this cycle: a create with an unknown outcome not
    /// reconciled yet, or a write another cycle holds or has just made.
    pub blocked: HashSet<CanonicalId>,
    pub progress: Option<ProgressFn>,
    /// Entry windows listed so far and planned in all (for progress).
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
    /// Warnings for the operator (`warn`), besides the fields a provider did not keep.
    pub warnings: Vec<String>,
    /// Every full listing runs, whatever the change trail says (`--full`).
    pub full: bool,
    /// Which entry dates this provider's listings have shown: new entries dated elsewhere
    /// wait (`coverage.rs`).
    pub coverage: Coverage,
    /// New entries that waited this cycle for the listings to reach their date.
    pub held_unlisted: u64,
    /// The first deep-scan pass made no progress this cycle (a listing failed, or the
    /// budget went on the hot window): entries that wait would wait on.
    pub history_stalled: bool,
}

impl Cycle<'_> {
    pub fn name(&self) -> &str {
        &self.instance.name
    }

    /// Tells the progress receiver, if any, where the cycle is.
    pub fn report_progress(&self, phase: &str) {
        if let Some(f) = &self.progress {
            f(&Progress {
                provider: &self.instance.name,
                phase,
                windows_done: self.windows_done,
                windows_total: self.windows_total,
                counts: &self.counts,
                requests: stats(self.instance)
                    .requests
                    .saturating_sub(self.requests_before),
            });
        }
    }

    pub fn error(&mut self, message: String) {
        tracing::warn!(provider = %self.instance.name, "{message}");
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
    /// Every cycle lists in full, whatever a change trail says (`--full`).
    full: bool,
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
            full: false,
        }
    }

    /// Every cycle of this engine lists everything it would without a change trail (the
    /// hot window, the deep scan, reference kinds in full): `--full`.
    pub fn with_full_listings(mut self) -> Engine {
        self.full = true;
        self
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
        instance: &ProviderHandle,
        opts: CycleOptions,
    ) -> Result<CycleReport, LedgerError> {
        self.cycle_on(&self.ledger, instance, opts).await
    }

    /// Runs one cycle whose every ledger write is fenced by the instance's lease (a shared
    /// PostgreSQL ledger, see `Ledger::fenced`): once the lease moved to another process,
    /// the cycle's next commit fails with `LedgerError::LeaseLost` and nothing more is
    /// written for the instance.
    pub async fn run_cycle_fenced(
        &self,
        instance: &ProviderHandle,
        opts: CycleOptions,
        lease: &Lease,
    ) -> Result<CycleReport, LedgerError> {
        self.cycle_on(&self.ledger.fenced(lease), instance, opts)
            .await
    }

    async fn cycle_on(
        &self,
        ledger: &Ledger,
        instance: &ProviderHandle,
        opts: CycleOptions,
    ) -> Result<CycleReport, LedgerError> {
        use tracing::Instrument;
        let span = tracing::info_span!("cycle", provider = %instance.name);
        let opts = CycleOptions {
            dry_run: opts.dry_run || self.on_copy,
            ..opts
        };
        async {
            if opts.dry_run && !self.on_copy {
                // One private copy for this cycle alone, the way `on_private_copy` makes one
                // for a whole `--sync-once --dry-run`; removed when `_copy` drops.
                let (on_copy, _copy) = self.on_private_copy().await?;
                let result = run(&on_copy.ledger, &on_copy, instance, opts).await;
                on_copy.ledger.close().await;
                return result;
            }
            match run(ledger, self, instance, opts).await {
                Err(e) => Err(ledger.explain_write_failure(e).await),
                done => done,
            }
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

/// One cycle on `ledger` (the engine's, or a dry run's copy): the `sync_runs` row opened,
/// the steps run (a panic caught), the outcome recorded and reported.
async fn run(
    ledger: &Ledger,
    engine: &Engine,
    instance: &ProviderHandle,
    opts: CycleOptions,
) -> Result<CycleReport, LedgerError> {
    let started = Utc::now();
    let clock = std::time::Instant::now();
    let run_id = {
        let mut tx = ledger.write().await?;
        let id = tx
            .start_run(&instance.name, instance.mode.as_str(), started)
            .await?;
        tx.commit().await?;
        id
    };
    let before = stats(instance);
    let mut cycle = Cycle::new(ledger, engine, instance, opts, started);
    let outcome = steps_caught(&mut cycle, opts).await;
    if !opts.dry_run {
        crate::cycle_durations::observe(
            &instance.name,
            (Utc::now() - started).to_std().unwrap_or_default(),
        );
    }
    let after = stats(instance);
    cycle.counts.requests = (after.requests - before.requests) as i64;
    cycle.counts.rate_limited = (after.rate_limited - before.rate_limited) as i64;
    let status = cycle.status(&outcome);
    if let Some(e) = cycle.note_outcome(outcome) {
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
    let mut tx = ledger.write().await?;
    tx.finish_run(run_id, status, &cycle.counts, &cycle.errors, Utc::now())
        .await?;
    tx.commit().await?;
    cycle.log_finished(status, clock.elapsed());
    Ok(cycle.report(status))
}

impl<'a> Cycle<'a> {
    pub(super) fn new(
        ledger: &'a Ledger,
        engine: &'a Engine,
        instance: &'a ProviderHandle,
        opts: CycleOptions,
        now: DateTime<Utc>,
    ) -> Cycle<'a> {
        Cycle {
            ledger,
            instance,
            settings: &engine.settings,
            caps: instance.provider.capabilities(),
            now,
            counts: RunCounts::default(),
            errors: Vec::new(),
            dry_run: opts.dry_run,
            plan: Vec::new(),
            stop: &engine.stop,
            blocked: HashSet::new(),
            progress: engine.progress.clone(),
            windows_done: 0,
            windows_total: 0,
            requests_before: stats(instance).requests,
            unkept: BTreeMap::new(),
            claimant: Claimant::register(),
            deletions: Deletions::default(),
            allow_deletes: engine.allow_deletes.contains(&instance.name),
            deletes_held: false,
            keep_history: engine.keep_history,
            warnings: Vec::new(),
            full: engine.full,
            // Until this cycle's listings say otherwise (a provider that lists no entries:
            // nothing to match, nothing to wait for).
            coverage: Coverage::Everything,
            held_unlisted: 0,
            history_stalled: false,
        }
    }

    /// How the cycle ended, for its `sync_runs` row.
    fn status(&self, outcome: &Result<(), Abort>) -> RunStatus {
        match outcome {
            // Deletes held by the guard: no progress, however much else went through.
            Ok(()) if self.deletes_held => RunStatus::Failed,
            Ok(()) if self.errors.is_empty() => RunStatus::Ok,
            Ok(()) => RunStatus::Partial,
            Err(Abort::Stopped) => RunStatus::Interrupted,
            Err(_) => RunStatus::Failed,
        }
    }

    /// Logs why the cycle stopped early and adds it to its errors; a failure of the
    /// ledger itself is handed back instead.
    fn note_outcome(&mut self, outcome: Result<(), Abort>) -> Option<LedgerError> {
        let name = &self.instance.name;
        let message = match outcome {
            Ok(()) => return None,
            Err(Abort::Ledger(e)) => return Some(e),
            Err(Abort::Stopped) => {
                tracing::info!(provider = %name, "cycle stopped on request after the current page");
                return None;
            }
            Err(Abort::Provider(e)) => {
                tracing::error!(provider = %name, "cycle failed: {e}");
                format!("{name}: {e}")
            }
            Err(Abort::Panicked(message)) => {
                let message = format!("{name}: the cycle panicked ({message})");
                tracing::error!(provider = %name, "{message}");
                message
            }
            Err(Abort::OtherAccount(message) | Abort::Invariant(message)) => {
                tracing::error!(provider = %name, "{message}");
                message
            }
        };
        self.errors.push(message);
        None
    }

    fn log_finished(&self, status: RunStatus, took: std::time::Duration) {
        let counts = &self.counts;
        tracing::info!(
            provider = %self.instance.name,
            status = status.as_str(),
            pulled = counts.pulled,
            created = counts.created,
            updated = counts.updated,
            deleted = counts.deleted,
            pushed = counts.pushed,
            conflicts = counts.conflicts,
            skipped = counts.skipped,
            requests = counts.requests,
            duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            "cycle finished"
        );
    }

    /// The cycle's report; fields the provider did not keep as written become warnings.
    fn report(mut self, status: RunStatus) -> CycleReport {
        let name = &self.instance.name;
        let mut warnings = std::mem::take(&mut self.warnings);
        let unkept: Vec<String> = self
            .unkept
            .iter()
            .map(|(field, (n, example))| {
                format!(
                    "{name} did not keep {field} as written ({n} write{}; e.g. {example}): it ignores or rewrites that field, and an edit made there will carry its own value",
                    if *n == 1 { "" } else { "s" }
                )
            })
            .collect();
        for w in &unkept {
            tracing::warn!(provider = %name, "{w}");
        }
        warnings.extend(unkept);
        CycleReport {
            provider: name.clone(),
            status,
            counts: self.counts,
            errors: self.errors,
            warnings,
            plan: self.plan,
        }
    }
}

/// The cycle's steps, a panic among them caught as `Abort::Panicked`; a wait ended by
/// SIGTERM is a stop on request, not a provider failure.
async fn steps_caught(cycle: &mut Cycle<'_>, opts: CycleOptions) -> Result<(), Abort> {
    match AssertUnwindSafe(steps(cycle, opts)).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(panic) => Err(Abort::Panicked(panic_message(panic.as_ref()))),
    }
    .map_err(|abort| match abort {
        Abort::Provider(ProviderError::Stopped) => Abort::Stopped,
        other => other,
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

fn stats(instance: &ProviderHandle) -> StatsSnapshot {
    instance
        .stats
        .as_ref()
        .map(|s| s.snapshot())
        .unwrap_or_default()
}

/// One cycle's steps in DESIGN.md §4's order: connect and check the account, reconcile
/// intents a crash left, pull (reference kinds in full, then the planned entry windows),
/// settle the deletions of every listing together, push, and last move the cursor and
/// finish.
async fn steps(cycle: &mut Cycle<'_>, opts: CycleOptions) -> Result<(), Abort> {
    let info = cycle
        .instance
        .provider
        .connect()
        .await
        .map_err(Abort::Provider)?;
    tracing::debug!(provider = %cycle.instance.name, server = %info.server, "connected");
    let identity = cycle.check_account().await?;
    if !cycle.dry_run {
        cycle.reconcile_intents().await?;
    }
    // What the provider's change trail says changed, and which full listings it spares.
    let mut trail = cycle.read_trail(cycle.full).await?;
    // Reference kinds in full (also in push mode: to link what is already there).
    for kind in [Kind::Person, Kind::Client, Kind::Project, Kind::Task] {
        if cycle.caps.support(kind).list && !trail.spares(kind) {
            cycle.check_stop()?;
            cycle.pull_listing(kind, ListScope::All).await?;
        }
    }
    // The records the trail named, fetched by id.
    cycle.apply_trail(&mut trail).await?;
    let next_cursor = if cycle.caps.time_entry.list {
        cycle.pull_entry_windows(opts, &trail).await?
    } else {
        None
    };
    cycle.settle_deletions().await?;
    if cycle.instance.mode.pushes() {
        cycle.push_all().await?;
    }
    cycle.finish(&identity, next_cursor, &trail).await
}

impl Cycle<'_> {
    /// Lists the entry windows the scan planner chose. The cursor to store at the end,
    /// `None` when a listing was incomplete (the same windows are planned again). A trail
    /// that spares entries (it lists every change of them, running timers included) leaves
    /// nothing to list, and the cursor where it was.
    async fn pull_entry_windows(
        &mut self,
        opts: CycleOptions,
        trail: &TrailPlan,
    ) -> Result<Option<Cursor>, Abort> {
        let stored = self.stored_entry_cursor().await?;
        if trail.spares(Kind::TimeEntry) {
            self.coverage = Coverage::after(&stored, None);
            return Ok(None);
        }
        let plan = self.plan_entry_scan(opts, trail, &stored).await?;
        self.windows_total = plan.windows.len();
        let mut complete = true;
        for w in &plan.windows {
            self.check_stop()?;
            if !self.pull_listing(Kind::TimeEntry, w.scope).await? {
                complete = false;
            }
            self.windows_done += 1;
        }
        let listed = if complete { &plan.next_cursor } else { &stored };
        self.coverage = Coverage::after(listed, complete.then(|| hot_window(&plan)).flatten());
        self.history_stalled = stored.deep_scan_passes == 0
            && listed.deep_scan_passes == 0
            && listed.deep_scan_position == stored.deep_scan_position;
        Ok(complete.then_some(plan.next_cursor))
    }

    async fn stored_entry_cursor(&self) -> Result<Cursor, Abort> {
        let name = self.name().to_owned();
        Ok(self
            .ledger
            .read()
            .await?
            .cursor(&name, Kind::TimeEntry)
            .await?)
    }

    /// This cycle's entry windows (`scan.rs`), from the stored cursor, the provider's span
    /// and, against a budget, estimates from the links in each window.
    async fn plan_entry_scan(
        &mut self,
        opts: CycleOptions,
        trail: &TrailPlan,
        cursor: &Cursor,
    ) -> Result<ScanPlan, Abort> {
        let name = self.name().to_owned();
        let oldest = self.ledger.read().await?.oldest_linked_start(&name).await?;
        let span = self.entry_span().await?;
        let budget = if opts.to_completion {
            None
        } else {
            self.instance.budget
        };
        // A trail lists what changed: the change feed would list it again.
        let change_feed = self.caps.change_feed && !trail.supported;
        let input = |budget, to_completion| ScanInput {
            now: self.now,
            settings: self.settings.scan,
            cursor,
            budget,
            change_feed,
            to_completion,
            oldest_known: oldest,
            span,
        };
        let estimates = match budget {
            Some(_) => {
                self.window_estimates(&plan_scan(&input(None, false), |_| 1))
                    .await?
            }
            None => Vec::new(),
        };
        Ok(plan_scan(&input(budget, opts.to_completion), |w| {
            estimates
                .iter()
                .find(|(win, _)| *win == w)
                .map(|(_, n)| *n)
                .unwrap_or(1)
        }))
    }

    /// Estimates matter only against a budget, and only for the windows a scheduled cycle
    /// can list (the hot window, the change feed, the next slice: a plan without budget): one
    /// request per page of entries linked in the window, plus one.
    async fn window_estimates(&self, candidates: &ScanPlan) -> Result<Vec<(Window, u32)>, Abort> {
        let page = self.caps.entry_page_size.max(1) as i64;
        let mut tx = self.ledger.read().await?;
        let mut estimates = Vec::new();
        for w in &candidates.windows {
            if let ListScope::StartedIn(win) = w.scope {
                let n = tx
                    .count_links_in_window(self.name(), win.from, win.to)
                    .await?;
                estimates.push((win, (n / page) as u32 + 1));
            }
        }
        Ok(estimates)
    }

    /// The cycle's last writes (not in a dry run): the entry cursor, when every window was
    /// listed completely; the trail position, once everything it named was applied;
    /// versions kept for merges that no link names any more (this cycle's pushes and pulls
    /// moved its links on); the account binding, on a first cycle that got this far;
    /// history past `keep_history`.
    async fn finish(
        &mut self,
        identity: &str,
        next_cursor: Option<Cursor>,
        trail: &TrailPlan,
    ) -> Result<(), Abort> {
        if self.dry_run {
            return Ok(());
        }
        if let Some(next) = next_cursor {
            let mut tx = self.ledger.write().await?;
            tx.save_cursor(self.name(), Kind::TimeEntry, &next, self.now)
                .await?;
            tx.commit().await?;
        }
        self.save_trail(trail).await?;
        let mut tx = self.ledger.write().await?;
        tx.prune_versions().await?;
        tx.bind_account(self.name(), identity, self.now).await?;
        if let Some(keep) = self.keep_history {
            tx.prune_history(self.now - keep).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The hot window a scan plan lists.
fn hot_window(plan: &ScanPlan) -> Option<Window> {
    plan.windows
        .iter()
        .find_map(|w| match (w.purpose, w.scope) {
            (Purpose::Hot, ListScope::StartedIn(window)) => Some(window),
            _ => None,
        })
}

impl Cycle<'_> {
    /// Where the provider says its entries lie. A failure to tell is no reason to skip the
    /// cycle: the scan falls back to the configured horizon, with a warning.
    async fn entry_span(&mut self) -> Result<EntrySpan, Abort> {
        match self.instance.provider.entry_span().await {
            Ok(span) => Ok(span),
            Err(e) if e.is_fatal_for_cycle() => Err(Abort::Provider(e)),
            Err(e) => {
                tracing::warn!(provider = %self.instance.name, "cannot tell the oldest and newest entry ({e}): scanning back to the configured horizon");
                Ok(EntrySpan::Unknown)
            }
        }
    }
}
