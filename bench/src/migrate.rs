//! Benchmark 6, a migration's push over a slow link: N entries already in the ledger are
//! pushed to a provider whose every call takes a fixed round trip (an in-process
//! `MemoryProvider` with latency, standing in for a provider across the internet), once per
//! `push_concurrency` setting. Prints entries/s and requests for each, so the gain from
//! writes in flight at once is a measured figure, not a claim. (The rate limit, which also
//! caps a real migration, is the `ratelimit` benchmark's subject.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use timeweave::config::Mode;
use timeweave::ledger::Ledger;
use timeweave::sync::{CycleOptions, Engine, StopFlag, SyncSettings};
use timeweave_contract::{Kind, Record};
use timeweave_testsupport::memory::MemoryProvider;

use crate::support::{self, metric, Layout};

const PEOPLE: usize = 10;
/// A round trip to a hosted provider: the low end of what crossing the internet costs.
const ROUND_TRIP: Duration = Duration::from_millis(50);

pub async fn run(entries: usize) -> anyhow::Result<()> {
    println!(
        "# migrate: push {entries} entries to a provider with a {} ms round trip",
        ROUND_TRIP.as_millis()
    );
    let layout = Layout::new(PEOPLE);
    for concurrency in [1, 4, 8] {
        let dir = tempfile::tempdir()?;
        let source = Arc::new(support::memory_source(&layout, entries, 5_000));
        // The same people exist there (people are matched by e-mail), nothing else.
        let target = Arc::new(MemoryProvider::new(100).with_latency(ROUND_TRIP));
        for i in 0..PEOPLE {
            target.put(Record::Person(support::person(i)));
        }
        let ledger = Ledger::open(&dir.path().join("ledger.db")).await?;
        let engine = Engine::new(
            ledger.clone(),
            SyncSettings::defaults(layout.oldest(entries) - chrono::Duration::days(40)),
            StopFlag::new(),
        );
        let handle = |name: &str, p: Arc<MemoryProvider>, mode| {
            support::memory_handle(name, p, mode, concurrency)
        };
        let options = CycleOptions {
            to_completion: true,
            dry_run: false,
        };
        let pulled = engine
            .run_cycle(&handle("source", source.clone(), Mode::Pull), options)
            .await?;
        anyhow::ensure!(pulled.is_clean(), "source cycle: {:?}", pulled.errors);
        let before = target.requests();
        let started = Instant::now();
        let pushed = engine
            .run_cycle(&handle("target", target.clone(), Mode::Push), options)
            .await?;
        let secs = started.elapsed().as_secs_f64();
        ledger.close().await;
        let held = target.all(Kind::TimeEntry).len();
        anyhow::ensure!(
            pushed.is_clean() && held == entries,
            "target holds {held} of {entries} entries ({:?})",
            pushed.errors
        );
        let prefix = format!("migrate_concurrency_{concurrency}");
        metric(&format!("{prefix}_seconds"), format!("{secs:.2}"), "s");
        metric(
            &format!("{prefix}_rate"),
            format!("{:.0}", entries as f64 / secs),
            "entries/s",
        );
        metric(
            &format!("{prefix}_requests"),
            target.requests() - before,
            "requests",
        );
    }
    Ok(())
}
