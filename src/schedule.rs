//! The scheduler of `timeweave run`: one tokio-cron-scheduler job per provider instance
//! (cron with seconds, evaluated in UTC, which sidesteps the library's DST issues), a
//! per-provider lock so cycles of one provider never overlap (a tick that finds the
//! previous cycle still running is skipped and logged, not queued), an optional random
//! jitter, and triggers that run a provider early (SIGHUP, webhooks). Shutdown stops new
//! cycles and waits, bounded, for running ones to finish their current page.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::status::ProviderFacts;
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

/// The time between two consecutive fire times of a cron expression (5 minutes when it
/// cannot be computed).
pub fn cron_interval(schedule: &str) -> Duration {
    let parsed = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(schedule);
    let Ok(cron) = parsed else {
        return Duration::from_secs(300);
    };
    let mut times = cron.iter_after(Utc::now());
    match (times.next(), times.next()) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or(Duration::from_secs(300)),
        _ => Duration::from_secs(300),
    }
}

/// One provider's cycle runner: the no-overlap lock lives here.
pub struct Runner {
    pub provider: ScheduledProvider,
    engine: Engine,
    busy: tokio::sync::Mutex<()>,
}

impl Runner {
    pub fn new(provider: ScheduledProvider, engine: Engine) -> Arc<Runner> {
        Arc::new(Runner {
            provider,
            engine,
            busy: tokio::sync::Mutex::new(()),
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
        match self
            .engine
            .run_cycle(&self.provider.handle, CycleOptions::default())
            .await
        {
            Ok(report) => Some(report),
            Err(e) => {
                tracing::error!(provider = %self.name(), "cycle could not write to the ledger: {e}");
                None
            }
        }
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

/// Every provider's runner on its cron schedule.
pub struct Scheduler {
    runners: Vec<Arc<Runner>>,
    jobs: JobScheduler,
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("cannot schedule {provider} with \"{schedule}\": {message}")]
    Job {
        provider: String,
        schedule: String,
        message: String,
    },
    #[error("the scheduler failed: {0}")]
    Scheduler(String),
}

impl Scheduler {
    /// Creates and starts one job per provider.
    pub async fn start(
        providers: Vec<ScheduledProvider>,
        engine: &Engine,
    ) -> Result<Scheduler, ScheduleError> {
        let jobs = JobScheduler::new()
            .await
            .map_err(|e| ScheduleError::Scheduler(e.to_string()))?;
        let mut runners = Vec::new();
        for p in providers {
            let runner = Runner::new(p, engine.clone());
            let for_job = runner.clone();
            let job =
                Job::new_async_tz(runner.provider.schedule.as_str(), Utc, move |_id, _lock| {
                    let r = for_job.clone();
                    Box::pin(async move {
                        // The cycle runs on its own task so a slow provider never holds up the
                        // scheduler's other jobs.
                        tokio::spawn(async move { r.tick("schedule", true).await });
                    })
                })
                .map_err(|e| ScheduleError::Job {
                    provider: runner.name().to_owned(),
                    schedule: runner.provider.schedule.clone(),
                    message: e.to_string(),
                })?;
            jobs.add(job)
                .await
                .map_err(|e| ScheduleError::Scheduler(e.to_string()))?;
            runners.push(runner);
        }
        jobs.start()
            .await
            .map_err(|e| ScheduleError::Scheduler(e.to_string()))?;
        Ok(Scheduler { runners, jobs })
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
    pub async fn shutdown(mut self, grace: Duration) -> bool {
        if let Err(e) = self.jobs.shutdown().await {
            tracing::warn!("scheduler shutdown: {e}");
        }
        let all_idle = futures::future::join_all(self.runners.iter().map(|r| r.idle()));
        tokio::time::timeout(grace, all_idle).await.is_ok()
    }
}
