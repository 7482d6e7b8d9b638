//! The scheduler of `timeweave run`: one task per provider instance that sleeps until the
//! next fire time of its cron (with seconds, in UTC) and starts a cycle; a per-provider
//! lock so cycles of one provider never overlap (a tick that finds the previous cycle still
//! running is skipped and logged, not queued), an optional random jitter, and triggers that
//! run a provider early (SIGHUP, webhooks). Shutdown stops new cycles and waits, bounded,
//! for running ones to finish their current page.
//!
//! The wall clock only says *which* fire time is next; the wait is slept on the monotonic
//! clock and computed afresh after every fire, so a wall clock set back by an hour delays
//! no cycle by more than one interval (a deadline on the wall clock would wait the hour).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

use crate::leases::{LeaseKeeper, Taken};
use crate::ledger::{LedgerError, RunStatus};
use crate::status::{ProviderFacts, Uptime};
use crate::sync::{CycleOptions, CycleReport, Engine, ProviderHandle};

/// A provider instance with its schedule.
#[derive(Clone, Debug)]
pub struct ScheduledProvider {
    pub handle: ProviderHandle,
    pub kind: String,
    /// Cron with seconds (6 fields), UTC.
    pub schedule: String,
    /// Up to this much random delay before each scheduled cycle.
    pub jitter: Duration,
}

/// The interval assumed when a schedule's fire times cannot be computed.
const FALLBACK_INTERVAL: Duration = Duration::from_secs(300);
/// A fire time closer than this to the moment the previous one fired is the same one
/// (the monotonic and wall clocks drift a little apart): the next is taken instead.
const SAME_FIRE: chrono::TimeDelta = chrono::TimeDelta::milliseconds(500);

fn parse_cron(schedule: &str) -> Option<croner::Cron> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(schedule)
        .ok()
}

/// The time between two consecutive fire times of a cron expression (5 minutes when it
/// cannot be computed).
pub fn cron_interval(schedule: &str) -> Duration {
    let Some(cron) = parse_cron(schedule) else {
        return FALLBACK_INTERVAL;
    };
    let mut times = cron.iter_after(Utc::now());
    match (times.next(), times.next()) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or(FALLBACK_INTERVAL),
        _ => FALLBACK_INTERVAL,
    }
}

/// How long to sleep, from `now` on the wall clock, until the schedule's next fire time
/// (at least [`SAME_FIRE`] ahead, so a wake-up a hair early does not fire twice).
pub fn wait_until_next(schedule: &str, now: DateTime<Utc>) -> Duration {
    // Whole seconds: cron fire times are, and croner keeps a start's fraction.
    let from = (now + SAME_FIRE).trunc_subsecs(0);
    let next = parse_cron(schedule).and_then(|cron| cron.iter_after(from).next());
    match next {
        Some(at) => (at - now).to_std().unwrap_or(Duration::ZERO),
        None => FALLBACK_INTERVAL,
    }
}

/// One provider's cycle runner: the no-overlap lock lives here, and the monotonic record of
/// its progress ([`Uptime`]).
pub struct Runner {
    pub provider: ScheduledProvider,
    engine: Engine,
    busy: tokio::sync::Mutex<()>,
    started: std::time::Instant,
    last_success: std::sync::Mutex<Option<std::time::Instant>>,
    /// A shared PostgreSQL ledger's leases: a cycle runs only under this instance's lease.
    leases: Option<Arc<LeaseKeeper>>,
}

impl Runner {
    pub fn new(provider: ScheduledProvider, engine: Engine) -> Arc<Runner> {
        Runner::leased(provider, engine, None)
    }

    /// A runner whose cycles each take the instance's lease first (see `leases.rs`); its
    /// transport sends a request only while the lease is this process's, before its local
    /// deadline (`LeaseKeeper::may_write`), checked after the limiter's wait.
    pub fn leased(
        provider: ScheduledProvider,
        engine: Engine,
        leases: Option<Arc<LeaseKeeper>>,
    ) -> Arc<Runner> {
        if let Some(leases) = &leases {
            leases.gate(&provider.handle);
        }
        Arc::new(Runner {
            leases,
            provider,
            engine,
            busy: tokio::sync::Mutex::new(()),
            started: std::time::Instant::now(),
            last_success: std::sync::Mutex::new(None),
        })
    }

    pub fn name(&self) -> &str {
        &self.provider.handle.name
    }

    /// Runs a cycle now, unless one is running (then this tick is skipped) or the daemon is
    /// stopping. `why` names the trigger in the log.
    pub async fn tick(&self, why: &str, jitter: bool) -> Option<CycleReport> {
        let Ok(_guard) = self.busy.try_lock() else {
            tracing::warn!(provider = %self.name(), trigger = why, "the previous cycle is still running: this tick is skipped");
            return None;
        };
        if jitter && !self.provider.jitter.is_zero() {
            let wait = self.provider.jitter.mul_f64(rand::random::<f64>());
            self.engine.stop_flag().shutdown().sleep(wait).await;
        }
        if self.engine.stop_flag().is_stopped() {
            return None;
        }
        tracing::info!(provider = %self.name(), trigger = why, "cycle starting");
        match self.cycle().await? {
            Ok(report) => {
                if matches!(report.status, RunStatus::Ok | RunStatus::Partial) {
                    *self.last_success.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(std::time::Instant::now());
                }
                Some(report)
            }
            Err(e @ LedgerError::LeaseLost { .. }) => {
                tracing::warn!(provider = %self.name(), "{e}; this process backs off while another holds the lease");
                None
            }
            Err(e) => {
                tracing::error!(provider = %self.name(), "cycle could not write to the ledger: {e}");
                None
            }
        }
    }

    /// One cycle: plain on SQLite; on a shared PostgreSQL ledger under the instance's lease
    /// (renewed while it runs, every write fenced by its token), or none (`None`) while
    /// another process holds it.
    async fn cycle(&self) -> Option<Result<CycleReport, LedgerError>> {
        let h = &self.provider.handle;
        let Some(leases) = &self.leases else {
            return Some(self.engine.run_cycle(h, CycleOptions::default()).await);
        };
        let lease = match leases
            .take_for_work(self.engine.ledger(), self.name())
            .await
        {
            Ok(Taken::Held { lease, .. }) => lease,
            Ok(Taken::Elsewhere) => {
                tracing::debug!(provider = %self.name(), "another process holds the lease: no cycle here");
                return None;
            }
            Err(e) => return Some(Err(e)),
        };
        let renewing = leases.keep_renewed(lease.clone());
        let report = self
            .engine
            .run_cycle_fenced(h, CycleOptions::default(), &lease)
            .await;
        renewing.abort();
        Some(report)
    }

    /// Waits until no cycle of this provider runs.
    async fn idle(&self) {
        let _guard = self.busy.lock().await;
    }

    pub fn facts(&self) -> ProviderFacts {
        let h = &self.provider.handle;
        ProviderFacts {
            name: h.name.clone(),
            kind: self.provider.kind.clone(),
            mode: h.mode.as_str().to_owned(),
            schedule: self.provider.schedule.clone(),
            interval: cron_interval(&self.provider.schedule),
            live: h.stats.as_ref().map(|s| s.snapshot()),
            // A process on standby (another holds the lease) measures nothing of its own:
            // the instance's progress is the ledger's, whichever process works it.
            uptime: (!self.standby()).then(|| self.uptime()),
        }
    }

    /// Whether another process works this instance (its lease is not this one's).
    pub fn standby(&self) -> bool {
        self.leases.as_ref().is_some_and(|l| !l.holds(self.name()))
    }

    /// Since the process started, and since this runner's last successful cycle.
    pub fn uptime(&self) -> Uptime {
        let last = *self.last_success.lock().unwrap_or_else(|p| p.into_inner());
        Uptime {
            since_start: self.started.elapsed(),
            since_success: last.map(|t| t.elapsed()),
        }
    }
}

/// Runs the named provider's cycle now, unless one is running; `false` if unknown.
pub fn trigger(runners: &[Arc<Runner>], name: &str) -> bool {
    match runners.iter().find(|r| r.name() == name) {
        Some(r) => {
            let r = r.clone();
            tokio::spawn(async move { r.tick("trigger", false).await });
            true
        }
        None => false,
    }
}

/// Sleeps (monotonic clock) until the runner's next fire time and starts its cycle on its
/// own task, so a slow provider never holds up its next tick's skip or another provider;
/// ends when the daemon stops.
async fn schedule_loop(runner: Arc<Runner>) {
    let stop = runner.engine.stop_flag().clone();
    loop {
        let wait = wait_until_next(&runner.provider.schedule, Utc::now());
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.shutdown().triggered() => return,
        }
        let r = runner.clone();
        tokio::spawn(async move { r.tick("schedule", true).await });
    }
}

/// Every provider's runner on its cron schedule.
pub struct Scheduler {
    runners: Vec<Arc<Runner>>,
    /// One loop per runner: sleep until the next fire time, start a cycle, repeat.
    loops: Vec<tokio::task::JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("cannot schedule {provider} with \"{schedule}\": not a cron expression with seconds")]
    Job { provider: String, schedule: String },
}

impl Scheduler {
    /// Starts one loop per provider.
    pub async fn start(
        providers: Vec<ScheduledProvider>,
        engine: &Engine,
        leases: Option<Arc<LeaseKeeper>>,
    ) -> Result<Scheduler, ScheduleError> {
        let mut runners = Vec::new();
        let mut loops = Vec::new();
        for p in providers {
            if parse_cron(&p.schedule).is_none() {
                return Err(ScheduleError::Job {
                    provider: p.handle.name.clone(),
                    schedule: p.schedule.clone(),
                });
            }
            let runner = Runner::leased(p, engine.clone(), leases.clone());
            loops.push(tokio::spawn(schedule_loop(runner.clone())));
            runners.push(runner);
        }
        Ok(Scheduler { runners, loops })
    }

    pub fn runners(&self) -> &[Arc<Runner>] {
        &self.runners
    }

    /// Runs a provider's cycle now (webhooks); `false` if unknown.
    pub fn trigger(&self, name: &str) -> bool {
        trigger(&self.runners, name)
    }

    /// Runs every provider's cycle now (SIGHUP).
    pub fn trigger_all(&self) {
        for r in &self.runners {
            let r = r.clone();
            tokio::spawn(async move { r.tick("SIGHUP", false).await });
        }
    }

    /// Stops scheduling and waits up to `grace` for running cycles (they stop after their
    /// current page, as the engine's stop flag is set by the caller). Returns whether all
    /// finished in time.
    pub async fn shutdown(self, grace: Duration) -> bool {
        for l in &self.loops {
            l.abort();
        }
        let all_idle = futures::future::join_all(self.runners.iter().map(|r| r.idle()));
        tokio::time::timeout(grace, all_idle).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32, ms: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, h, m, s).unwrap() + chrono::TimeDelta::milliseconds(ms)
    }

    #[test]
    fn the_wait_runs_to_the_next_fire_time_and_never_fires_twice() {
        let every5 = "0 */5 * * * *";
        assert_eq!(
            wait_until_next(every5, at(10, 0, 0, 2)),
            Duration::from_millis(299_998)
        );
        // Woken a hair before the fire time it slept for: the next one, not the same.
        assert_eq!(
            wait_until_next(every5, at(9, 59, 59, 998)),
            Duration::from_millis(300_002)
        );
        assert_eq!(
            wait_until_next("* * * * * *", at(10, 0, 0, 2)),
            Duration::from_millis(998)
        );
    }

    #[test]
    fn a_wall_clock_set_back_delays_no_cycle_beyond_one_interval() {
        // Fired at 10:00; the clock is then set back by an hour. The next wait is taken
        // from the wall clock as it reads now, so it is at most one interval, never the
        // hour a deadline of 10:05 on the wall clock would wait.
        let every5 = "0 */5 * * * *";
        let after_jump = at(9, 1, 0, 0);
        let wait = wait_until_next(every5, after_jump);
        assert!(wait <= cron_interval(every5), "{wait:?}");
        assert_eq!(wait, Duration::from_secs(240));
    }
}
