//! Benchmark 4, rate-limit utilisation: a backlog of entries in the ledger is pushed to a
//! TimeTracker simulator enforcing a 600/min quota (its fixed calendar-minute window), with
//! the instance configured for the same quota. After the measured period the cycle is told
//! to stop. Prints the achieved requests per minute as a fraction of the quota and the 429s.

use std::time::{Duration, Instant};

use timeweave::sync::{CycleOptions, StopFlag};
use timeweave_contract::Kind;
use timeweave_simkit::SimulatorControl;

use crate::support::{self, metric, ConfigProvider, Layout};

const QUOTA_PER_MINUTE: u32 = 600;
const PEOPLE: usize = 10;

pub async fn run(seconds: u64) -> anyhow::Result<()> {
    // Enough backlog that the push cannot finish inside the period.
    let backlog = (QUOTA_PER_MINUTE as u64 * seconds / 60 * 2 + 500) as usize;
    println!(
        "# ratelimit: push a backlog of {backlog} entries to a simulator with a {QUOTA_PER_MINUTE}/min quota for {seconds} s"
    );
    let layout = Layout::new(PEOPLE);

    // The target: the same people exist there (people are matched by e-mail), nothing else.
    let sim = timeweave_timetracker_sim::SimServer::start(Default::default()).await;
    sim.set_rate_limits(QUOTA_PER_MINUTE, 1_000_000);
    sim.set_rate_limiting(true);
    for i in 0..PEOPLE {
        sim.add_person(&support::person(i));
    }
    let world = support::World::new()?;
    let cfg = world.configure(
        &layout.horizon(backlog),
        &[ConfigProvider {
            name: "target",
            mode: "push",
            sim: &sim,
            rate_limit: &format!("per_minute = {QUOTA_PER_MINUTE}\nper_hour = 1000000"),
        }],
    )?;
    let stop = StopFlag::new();
    let running = support::Running::start(&cfg, stop.clone()).await?;
    let (ledger, engine) = (&running.ledger, &running.engine);
    let target = running.handle()?.clone();
    // The backlog: pulled into the ledger from an in-process source.
    support::load_backlog(engine, &layout, backlog).await?;

    let stats = target.stats.clone();
    let limited_before = stats.as_ref().map_or(0, |s| s.snapshot().rate_limited);
    let before = sim.requests_served();
    let started = Instant::now();
    let task = {
        let engine = engine.clone();
        let target = target.clone();
        tokio::spawn(async move {
            engine
                .run_cycle(
                    &target,
                    CycleOptions {
                        to_completion: true,
                        dry_run: false,
                    },
                )
                .await
        })
    };
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let served = sim.requests_served() - before;
    let elapsed = started.elapsed().as_secs_f64();
    let limited = stats.as_ref().map_or(0, |s| s.snapshot().rate_limited) - limited_before;
    stop.stop();
    let report = task.await??;
    let pushed_entries = sim.count(Kind::TimeEntry);
    ledger.close().await;

    let per_minute = served as f64 / (elapsed / 60.0);
    metric("ratelimit_seconds", format!("{elapsed:.1}"), "s");
    metric("ratelimit_quota", QUOTA_PER_MINUTE, "requests/min");
    metric("ratelimit_requests", served, "requests");
    metric("ratelimit_rate", format!("{per_minute:.1}"), "requests/min");
    metric(
        "ratelimit_utilisation",
        format!("{:.3}", per_minute / QUOTA_PER_MINUTE as f64),
        "of quota",
    );
    metric("ratelimit_429s", limited, "responses");
    metric("ratelimit_entries_pushed", pushed_entries, "entries");
    metric("ratelimit_cycle_status", report.status.as_str(), "");
    metric("target_ratelimit_utilisation", 0.95, "of quota");
    metric("target_ratelimit_429s", 0, "responses");
    Ok(())
}
