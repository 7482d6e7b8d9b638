//! The `migrate` benchmark under each provider's documented quotas: 10,000 entries already
//! in the ledger are pushed into each simulator by the real adapter, the instance held to
//! its kind's default quotas (`config::default_quotas`: TimeTrack 30/min, TrackingTime 2/s,
//! TimeTracker 100/min and 1000/h), and the time it takes is printed beside the quota's
//! lower bound (requests made ÷ the rate the binding quota allows).
//!
//! Hours of waiting cannot run here, so the run is on a compressed clock: every quota's
//! window is divided by a time scale F (its count unchanged, so bursts are the same size),
//! the push is timed in real time, and the time is multiplied by F. F is chosen so the
//! compressed run lasts about a minute. The simulators' own limits are off (they count
//! windows on the wall clock; the `ratelimit` benchmark checks the limiter against one).
//! The figure errs long, never short: computing on the critical path is multiplied by F
//! too (the same push with no quota is printed for scale), and so are timer resolution
//! (1 ms) and the limiter's window margin where it is capped (1 s on an hour: +1.6 %).

use std::time::{Duration, Instant};

use timeweave::config::{default_quotas, ProviderKind};
use timeweave::sync::{CycleOptions, StopFlag};
use timeweave_contract::Kind;
use timeweave_http::Quota;

use crate::support::{self, metric, ConfigProvider, Layout};

const ENTRIES: usize = 10_000;
const PEOPLE: usize = 10;
/// About how long each compressed run takes, in real seconds.
const COMPRESSED_SECONDS: f64 = 60.0;

pub async fn run() -> anyhow::Result<()> {
    println!(
        "# migrate under quotas: push {ENTRIES} entries into each simulator at its kind's default quotas (compressed clock)"
    );
    for kind in ProviderKind::ALL {
        let quotas = default_quotas(kind);
        let free = push(kind, None).await?;
        let scale = ((lower_bound(&quotas, free.requests).as_secs_f64() / COMPRESSED_SECONDS)
            as u32)
            .max(1);
        let compressed: Vec<Quota> = quotas
            .iter()
            .map(|q| Quota {
                requests: q.requests,
                per: q.per / scale,
            })
            .collect();
        let paced = push(kind, Some(compressed)).await?;
        report(kind.as_str(), &quotas, scale, &free, &paced);
    }
    Ok(())
}

/// One push of the backlog into a fresh simulator.
struct Push {
    seconds: f64,
    requests: u64,
}

/// Pushes `ENTRIES` entries from a fresh ledger into a fresh simulator of `kind`, which
/// already holds the people, client and project; `quotas` replaces the instance's (none:
/// no client-side limit worth the name).
async fn push(kind: ProviderKind, quotas: Option<Vec<Quota>>) -> anyhow::Result<Push> {
    let three = support::ThreeSims::start().await?;
    let (name, sim) = three
        .all()
        .into_iter()
        .find(|(_, sim)| sim.kind_name() == kind.as_str())
        .ok_or_else(|| anyhow::anyhow!("no {} simulator", kind.as_str()))?;
    support::seed_refs(sim, PEOPLE);
    let layout = Layout::new(PEOPLE);
    let world = support::World::new()?;
    let mut cfg = world.configure(
        &layout.horizon(ENTRIES),
        &[ConfigProvider::unlimited(name, "push", sim)],
    )?;
    if let Some(quotas) = quotas {
        for p in cfg.providers.values_mut() {
            p.quotas = quotas.clone();
        }
    }
    let running = support::Running::start(&cfg, StopFlag::new()).await?;
    support::load_backlog(&running.engine, &layout, ENTRIES).await?;
    let before = sim.requests_served();
    let started = Instant::now();
    let report = running
        .engine
        .run_cycle(
            running.handle()?,
            CycleOptions {
                to_completion: true,
                dry_run: false,
            },
        )
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    let requests = sim.requests_served() - before;
    running.ledger.close().await;
    let held = sim.count(Kind::TimeEntry);
    anyhow::ensure!(
        report.is_clean() && held == ENTRIES,
        "{name} holds {held} of {ENTRIES} entries ({:?})",
        report.errors.iter().take(3).collect::<Vec<_>>()
    );
    Ok(Push { seconds, requests })
}

/// The least time `requests` requests take at the rate the binding quota allows (its
/// documented count per window, as a steady rate).
fn lower_bound(quotas: &[Quota], requests: u64) -> Duration {
    quotas
        .iter()
        .map(|q| q.per.mul_f64(requests as f64 / q.requests.max(1) as f64))
        .max()
        .unwrap_or_default()
}

fn report(kind: &str, quotas: &[Quota], scale: u32, free: &Push, paced: &Push) {
    let prefix = format!("migrate_quota_{kind}");
    let bound = lower_bound(quotas, paced.requests).as_secs_f64();
    let taken = paced.seconds * scale as f64;
    let described: Vec<String> = quotas
        .iter()
        .map(|q| format!("{}/{}s", q.requests, q.per.as_secs()))
        .collect();
    metric(&format!("{prefix}_quotas"), described.join(" and "), "");
    metric(&format!("{prefix}_requests"), paced.requests, "requests");
    metric(
        &format!("{prefix}_hours"),
        format!("{:.2}", taken / 3600.0),
        &format!("h ({:.1} s on a clock {scale}x faster)", paced.seconds),
    );
    metric(
        &format!("{prefix}_lower_bound_hours"),
        format!("{:.2}", bound / 3600.0),
        "h (requests / the binding quota's rate)",
    );
    metric(
        &format!("{prefix}_to_lower_bound"),
        format!("{:.3}", taken / bound),
        "",
    );
    metric(
        &format!("{prefix}_no_quota_seconds"),
        format!("{:.1}", free.seconds),
        &format!(
            "s (the same push with no quota: {} requests)",
            free.requests
        ),
    );
}
