//! Benchmark `freshness`: how soon a change anywhere in a large TimeTracker account reaches
//! the ledger, and what a cycle with nothing to do costs, now that cycles read the server's
//! change trail (its audit log) first. A simulator account of N entries (default
//! 1,000,000, seeded straight into its store: HTTP would take hours) is migrated once to
//! completion; then one scheduled cycle runs with nothing changed (requests printed; target
//! at most 5), then a two-year-old entry is edited and another deleted, and scheduled
//! cycles run until both are in the ledger (cycles and seconds printed; target: the next
//! cycle). The edit and the delete go through the simulator's web-app path, which writes
//! the audit rows the real server's ORM listener writes.

use std::time::Instant;

use chrono::Duration;
use timeweave::ledger::Ledger;
use timeweave::sync::{CycleOptions, Engine, ProviderHandle};
use timeweave_contract::{Kind, Record, RemoteId};
use timeweave_simkit::SimulatorControl;
use timeweave_timetracker::time::utc_to_local;

use crate::support::{self, metric, Layout, SLOTS_PER_DAY};

const PEOPLE: usize = 25;
/// Scheduled cycles tried before giving up on a change arriving.
const MAX_CYCLES: u32 = 10;

pub async fn run(entries: usize) -> anyhow::Result<()> {
    println!("# freshness: a {entries}-entry TimeTracker account, its change trail read first");
    let dir = tempfile::tempdir()?;
    let sim = timeweave_timetracker_sim::SimServer::start(Default::default()).await;
    sim.set_rate_limiting(false);
    let layout = Layout::new(PEOPLE);
    let (people, project) = support::seed_refs(&sim, PEOPLE);
    let seeding = Instant::now();
    let ids = seed(&sim, &layout, &people, &project, entries)?;
    eprintln!(
        "seeded {entries} entries in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let (handle, ledger, engine) =
        support::timetracker_engine(dir.path(), &sim, &layout.horizon(entries)).await?;

    let started = Instant::now();
    let migration = cycle(&engine, &handle, true).await?;
    metric("freshness_entries", entries, "entries");
    metric(
        "freshness_migration_seconds",
        format!("{:.1}", started.elapsed().as_secs_f64()),
        &format!("s ({} requests)", migration),
    );

    let at = sim.requests_served();
    cycle(&engine, &handle, false).await?;
    metric(
        "freshness_nochange_cycle_requests",
        sim.requests_served() - at,
        "requests (target <= 5)",
    );

    // A two-year-old entry edited, the one before it deleted, both in the web app.
    let old = two_years_back(entries);
    let (edited, deleted) = (RemoteId::from(ids[old]), RemoteId::from(ids[old + 1]));
    let mut entry = layout.entry(old, &people[layout.person(old)], &project);
    entry.notes = Some("edited two years on".into());
    let record = Record::TimeEntry(entry);
    let changed_at = Instant::now();
    anyhow::ensure!(
        sim.edit(&edited, &record),
        "the simulator has no entry {edited}"
    );
    anyhow::ensure!(sim.remove(Kind::TimeEntry, &deleted), "no entry {deleted}");
    let at = sim.requests_served();
    let mut cycles = 0;
    while cycles < MAX_CYCLES {
        cycles += 1;
        cycle(&engine, &handle, false).await?;
        if arrived(&ledger, &edited, &deleted).await? {
            break;
        }
    }
    let arrived_now = arrived(&ledger, &edited, &deleted).await?;
    metric(
        "freshness_change_cycles",
        if arrived_now {
            cycles.to_string()
        } else {
            format!("more than {MAX_CYCLES}")
        },
        "scheduled cycles until the edit and the delete were both in the ledger (target: 1)",
    );
    metric(
        "freshness_change_seconds",
        format!("{:.2}", changed_at.elapsed().as_secs_f64()),
        &format!(
            "s from the change to both in the ledger ({} requests)",
            sim.requests_served() - at
        ),
    );
    ledger.close().await;
    Ok(())
}

/// Every entry of the layout, straight into the simulator's store; their ids by index.
fn seed(
    sim: &timeweave_timetracker_sim::SimServer,
    layout: &Layout,
    people: &[RemoteId],
    project: &RemoteId,
    entries: usize,
) -> anyhow::Result<Vec<i64>> {
    let zone = sim.options().timezone;
    let number = |id: &RemoteId| -> anyhow::Result<i64> {
        id.as_str()
            .parse()
            .map_err(|_| anyhow::anyhow!("a simulator id that is not a number: {id}"))
    };
    let users: Vec<i64> = people.iter().map(number).collect::<anyhow::Result<_>>()?;
    let project = number(project)?;
    let minutes = Duration::minutes(support::ENTRY_MINUTES);
    Ok(sim.seed_entries_local(
        project,
        (0..entries).map(|u| {
            let start = layout.start(u);
            let local = |t| utc_to_local(zone, t);
            (
                users[layout.person(u)],
                local(start),
                local(start + minutes),
                format!("entry {u}"),
            )
        }),
    ))
}

/// The index of an entry about two years old (or the oldest, in a smaller account).
fn two_years_back(entries: usize) -> usize {
    (730 * SLOTS_PER_DAY * PEOPLE).min(entries.saturating_sub(2))
}

/// One cycle; its requests. A cycle that is not clean fails the benchmark.
async fn cycle(
    engine: &Engine,
    handle: &ProviderHandle,
    to_completion: bool,
) -> anyhow::Result<i64> {
    let options = CycleOptions {
        to_completion,
        dry_run: false,
    };
    let r = engine.run_cycle(handle, options).await?;
    anyhow::ensure!(r.is_clean(), "a cycle was not clean: {:?}", r.errors);
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    Ok(r.counts.requests)
}

/// Whether the ledger holds the edit and the delete.
async fn arrived(ledger: &Ledger, edited: &RemoteId, deleted: &RemoteId) -> anyhow::Result<bool> {
    let mut tx = ledger.read().await?;
    let Some(e) = tx
        .link_by_remote("timetracker", Kind::TimeEntry, edited)
        .await?
    else {
        return Ok(false);
    };
    let edit_in = match tx.get_record(Kind::TimeEntry, &e.canonical_id).await? {
        Some(rec) => {
            matches!(&rec.record, Record::TimeEntry(t) if t.notes.as_deref() == Some("edited two years on"))
        }
        None => false,
    };
    let Some(d) = tx
        .link_by_remote("timetracker", Kind::TimeEntry, deleted)
        .await?
    else {
        return Ok(false);
    };
    let delete_in = tx
        .get_record(Kind::TimeEntry, &d.canonical_id)
        .await?
        .is_some_and(|rec| !rec.is_live());
    Ok(edit_in && delete_in)
}
