//! Benchmark 5, convergence: the three simulators hold N entries each, 10 % of each shared
//! with the next provider (a ring), so 2.7 N distinct entries; rate limits off. Measures the
//! time until all three and the ledger hold 2.7 N entries (rounds of `--sync-once`), and
//! the requests made against a lower bound: every entry listed once (pages) plus one create
//! per entry a provider lacks. Then (untimed) every provider is read back and compared with
//! the ledger, and the ledger with the seeded entries, by content (`timeweave::agreement`):
//! "the same entries, none twice" is checked, not inferred from counts.

use std::time::Instant;

use chrono::{Duration, Utc};
use timeweave::agreement;
use timeweave::sync::StopFlag;
use timeweave_contract::{Kind, RemoteId, Window};

use crate::support::{self, metric, ConfigProvider, Layout};

const PEOPLE: usize = 3;
const MAX_ROUNDS: usize = 4;

/// Which providers hold distinct entry `u` of `n` per provider: 0.8 n own entries each,
/// then 0.1 n shared by provider q and q + 1 (mod 3) for each q.
fn holders(u: usize, n: usize) -> Vec<usize> {
    let own = n * 8 / 10;
    let shared = n / 10;
    if u < 3 * own {
        vec![u / own]
    } else {
        let q = (u - 3 * own) / shared;
        vec![q, (q + 1) % 3]
    }
}

pub async fn run(per_provider: usize) -> anyhow::Result<()> {
    let n = (per_provider / 10).max(1) * 10;
    let distinct = 3 * (n * 8 / 10) + 3 * (n / 10);
    println!("# convergence: 3 providers x {n} entries, 10 % overlapping ({distinct} distinct), rate limits off");
    let three = support::ThreeSims::start().await?;
    let sims = three.all();
    let layout = Layout::new(PEOPLE);
    let refs: Vec<(Vec<RemoteId>, RemoteId)> = sims
        .iter()
        .map(|(_, sim)| support::seed_refs(*sim, PEOPLE))
        .collect();
    for u in 0..distinct {
        for p in holders(u, n) {
            support::seed_entries(sims[p].1, &layout, &refs[p], [u]);
        }
    }
    for (name, sim) in &sims {
        let held = sim.count(Kind::TimeEntry);
        if held != n {
            anyhow::bail!("{name} holds {held} entries after seeding, expected {n}");
        }
    }

    let world = support::World::new()?;
    let providers: Vec<ConfigProvider<'_>> = sims
        .iter()
        .map(|(name, sim)| ConfigProvider::unlimited(name, "both", *sim))
        .collect();
    let cfg = world.configure(&layout.horizon(distinct), &providers)?;
    let support::Running {
        handles,
        ledger,
        engine,
    } = support::Running::start(&cfg, StopFlag::new()).await?;

    let served = || sims.iter().map(|(_, s)| s.requests_served()).sum::<u64>();
    let before = served();
    let started = Instant::now();
    let mut rounds = 0;
    let mut converged = false;
    let mut last_errors = Vec::new();
    while rounds < MAX_ROUNDS && !converged {
        rounds += 1;
        let outcome = timeweave::once::run(engine.clone(), handles.clone(), false, false).await?;
        last_errors = outcome
            .reports
            .iter()
            .flat_map(|r| r.errors.iter().take(2).cloned())
            .collect();
        let in_ledger = ledger.read().await?.count_live(Kind::TimeEntry).await? as usize;
        converged = in_ledger == distinct
            && sims
                .iter()
                .all(|(_, s)| s.count(Kind::TimeEntry) == distinct);
        eprintln!(
            "round {rounds}: ledger {in_ledger}, providers {:?}, {:.1} s",
            sims.iter()
                .map(|(_, s)| s.count(Kind::TimeEntry))
                .collect::<Vec<_>>(),
            started.elapsed().as_secs_f64()
        );
    }
    let secs = started.elapsed().as_secs_f64();
    let requests = served() - before;
    let mismatches = content_mismatches(&ledger, &handles, &layout, distinct).await?;
    ledger.close().await;

    let pages: u64 = handles
        .iter()
        .map(|h| (n as u64).div_ceil(h.provider.capabilities().entry_page_size.max(1) as u64))
        .sum();
    let creates = 3 * (distinct - n) as u64;
    metric("convergence_entries_per_provider", n, "entries");
    metric("convergence_distinct_entries", distinct, "entries");
    metric(
        "convergence_converged",
        converged && mismatches.is_empty(),
        "",
    );
    metric(
        "convergence_content_mismatches",
        mismatches.len(),
        "entries (providers and ledger read back, compared with the seeded entries by content)",
    );
    metric("convergence_rounds", rounds, "rounds of --sync-once");
    metric("convergence_seconds", format!("{secs:.2}"), "s");
    metric("convergence_requests", requests, "requests");
    metric(
        "convergence_requests_lower_bound",
        pages + creates,
        &format!("requests ({pages} listing pages + {creates} creates)"),
    );
    metric(
        "convergence_requests_ratio",
        format!("{:.2}", requests as f64 / (pages + creates) as f64),
        "x lower bound",
    );
    for (name, sim) in &sims {
        metric(
            &format!("convergence_entries_{name}"),
            sim.count(Kind::TimeEntry),
            "entries",
        );
    }
    if !converged {
        anyhow::bail!("did not converge in {MAX_ROUNDS} rounds; last errors: {last_errors:?}");
    }
    if let Some(first) = mismatches.first() {
        anyhow::bail!(
            "the counts agree but {} entries differ, the first: {first}",
            mismatches.len()
        );
    }
    Ok(())
}

/// Every provider read back through its adapter and compared with the ledger by content,
/// and the ledger with the `distinct` entries seeded (an in-memory copy of the layout): all
/// that differs.
async fn content_mismatches(
    ledger: &timeweave::ledger::Ledger,
    handles: &[timeweave::sync::ProviderHandle],
    layout: &Layout,
    distinct: usize,
) -> anyhow::Result<Vec<agreement::Mismatch>> {
    let span = Window::new(
        layout.oldest(distinct) - Duration::days(1),
        Utc::now() + Duration::days(8),
    );
    let mut found = agreement::check(ledger, handles, span).await?;
    let seeded = support::memory_source(layout, distinct, 10_000);
    let seeded = agreement::read_provider("seeded", &seeded, span).await?;
    found.extend(agreement::compare(
        &agreement::read_ledger(ledger).await?,
        &seeded,
    ));
    Ok(found)
}
