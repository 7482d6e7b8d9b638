//! Benchmark 3, the no-change cycle of the windowed safety net: a TimeTracker account of N
//! entries is synced once to completion, then a second, ordinary (scheduled) cycle with
//! full listings (`--full`: the change trail spares nothing) runs over an account that
//! changed nowhere. Prints the requests it made beside the minimum (connect, the trail read,
//! one listing of each reference kind, the hot window's pages and one deep-scan slice's
//! pages), the ledger rows it wrote, and its wall time. A cycle the trail spares is
//! `bench freshness`'s.
//!
//! Rows written are found by diffing every ledger table before and after the cycle (read
//! with plain SELECTs on the file: the benchmark checks the ledger from outside).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use chrono::Utc;
use sqlx::{ConnectOptions, Row};
use timeweave::ledger::Ledger;
use timeweave::sync::scan::{plan_scan, ScanInput};
use timeweave::sync::{CycleOptions, StopFlag, SyncSettings};
use timeweave_contract::{EntrySpan, Kind, ListScope, Provider};
use timeweave_simkit::SimulatorControl;

use crate::support::{self, metric, ConfigProvider, Layout};

const PEOPLE: usize = 25;

pub async fn run(entries: usize) -> anyhow::Result<()> {
    println!("# nochange: a second cycle over a {entries}-entry TimeTracker account that changed nowhere");
    let layout = Layout::new(PEOPLE);
    let sim = support::timetracker_with_entries(&layout, entries).await;
    let world = support::World::new()?;
    let cfg = world.configure(
        &layout.horizon(entries),
        &[ConfigProvider::unlimited("timetracker", "both", &sim)],
    )?;
    let ledger_path = &world.ledger_path;
    let settings = SyncSettings::from_config(&cfg);
    let running = support::Running::start(&cfg, StopFlag::new()).await?;
    let (ledger, engine) = (&running.ledger, &running.engine);
    let handle = running.handle()?;

    let first = Instant::now();
    let r1 = engine
        .run_cycle(
            handle,
            CycleOptions {
                to_completion: true,
                dry_run: false,
            },
        )
        .await?;
    let first_secs = first.elapsed().as_secs_f64();
    if !r1.is_clean() {
        anyhow::bail!("the first cycle was not clean: {:?}", r1.errors);
    }

    // The minimum: what a cycle cannot avoid, measured with a fresh adapter: connect, one
    // listing of each reference kind, where the entries lie (two one-entry pages), and (per
    // measured cycle, since each moves the deep-scan cursor) the pages of exactly the windows
    // that cycle lists, the hot window and the next deep-scan slice, planned from the
    // ledger's cursor as the engine plans them.
    let probe = timeweave_timetracker::TimeTrackerAdapter::new(
        sim.settings(),
        timeweave_http::Transport::new(timeweave_http::TransportConfig::new("probe"))?,
    )?;
    let at = sim.requests_served();
    probe.connect().await?;
    let connect = sim.requests_served() - at;
    let at = sim.requests_served();
    for kind in [Kind::Person, Kind::Client, Kind::Project, Kind::Task] {
        if probe.capabilities().support(kind).list {
            support::count_listed(&probe, kind, ListScope::All).await?;
        }
    }
    let refs = sim.requests_served() - at;
    // The cycle reads the change trail first, even when it lists everything.
    let at = sim.requests_served();
    probe.read_trail(None).await?;
    let trail = sim.requests_served() - at;
    metric("nochange_entries", entries, "entries");
    metric(
        "nochange_first_cycle_seconds",
        format!("{first_secs:.2}"),
        "s",
    );

    // Second cycle: the budget the config gives (the quota is effectively unlimited here).
    // Third cycle: a budget of exactly the hot window plus one deep-scan slice.
    let mut minimum = 0;
    for label in ["configured_budget", "one_slice_budget"] {
        // The engine asks where the entries lie every cycle, then plans from the answer.
        let at = sim.requests_served();
        let span = probe.entry_span().await?;
        let span_requests = sim.requests_served() - at;
        let windows = next_windows(ledger, &handle.name, &settings, span).await?;
        let mut window_pages = Vec::new();
        for w in &windows {
            let at = sim.requests_served();
            support::count_listed(&probe, Kind::TimeEntry, *w).await?;
            window_pages.push(sim.requests_served() - at);
        }
        minimum = connect + trail + refs + span_requests + window_pages.iter().sum::<u64>();
        let h = {
            let mut h = handle.clone();
            if label == "one_slice_budget" {
                h.budget = Some(window_pages.iter().sum::<u64>() as u32);
            }
            h
        };
        println!("# {label}");
        metric(
            &format!("nochange_{label}_requests_minimum"),
            minimum,
            &format!(
                "requests (connect {connect} + trail read {trail} + reference listings {refs} + hot window {} + one deep slice {})",
                window_pages.first().copied().unwrap_or(0),
                window_pages.get(1).copied().unwrap_or(0)
            ),
        );
        let before_rows = snapshot(ledger_path).await?;
        let before_requests = sim.requests_served();
        let started = Instant::now();
        let windowed = engine.clone().with_full_listings();
        let r = windowed.run_cycle(&h, CycleOptions::default()).await?;
        let secs = started.elapsed().as_secs_f64();
        let requests = sim.requests_served() - before_requests;
        let after_rows = snapshot(ledger_path).await?;
        let (written, per_table) = diff(&before_rows, &after_rows);
        let budget = h.budget.map_or("unlimited".to_string(), |b| b.to_string());
        metric(
            &format!("nochange_{label}_entry_listing_budget"),
            budget,
            "requests",
        );
        metric(&format!("nochange_{label}_status"), r.status.as_str(), "");
        metric(&format!("nochange_{label}_requests"), requests, "requests");
        metric(
            &format!("nochange_{label}_ledger_rows_written"),
            written,
            "rows (records, links, issues, conflicts, intents; the run's bookkeeping and positions excluded)",
        );
        metric(
            &format!("nochange_{label}_rows_changed_by_table"),
            if per_table.is_empty() {
                "none".to_string()
            } else {
                per_table.join(" ")
            },
            "",
        );
        metric(
            &format!("nochange_{label}_seconds"),
            format!("{secs:.3}"),
            "s",
        );
    }
    ledger.close().await;
    metric("target_nochange_ledger_rows_written", 0, "rows");
    metric(
        "target_nochange_requests",
        minimum,
        "requests (each cycle's minimum above)",
    );
    Ok(())
}

/// Rows added, changed or removed between two snapshots (the run's own rows left out;
/// cursors and the trail position left out of the total), and a per-table summary
/// including the positions.
fn diff(
    before: &BTreeMap<String, Vec<String>>,
    after: &BTreeMap<String, Vec<String>>,
) -> (usize, Vec<String>) {
    let mut written = 0usize;
    let mut per_table = Vec::new();
    for (table, rows) in after {
        // The run's own bookkeeping: its row and the totals a trigger adds from it.
        if table == "sync_runs" || table == "sync_totals" {
            continue;
        }
        let old: HashSet<&String> = before
            .get(table)
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        let new: HashSet<&String> = rows.iter().collect();
        let added = rows.iter().filter(|r| !old.contains(r)).count();
        let removed = before
            .get(table)
            .map_or(0, |b| b.iter().filter(|r| !new.contains(r)).count());
        let changed = added.max(removed);
        if changed > 0 {
            per_table.push(format!("{table}={changed}"));
        }
        // Positions move every cycle by design (the deep-scan cursor, the trail position).
        if table != "cursors" && table != "trail_positions" {
            written += changed;
        }
    }
    (written, per_table)
}

/// The windows the next scheduled cycle lists (hot window, next deep-scan slice), planned
/// from the ledger's cursor the way the engine plans them.
async fn next_windows(
    ledger: &Ledger,
    provider: &str,
    settings: &SyncSettings,
    span: EntrySpan,
) -> anyhow::Result<Vec<ListScope>> {
    let mut tx = ledger.read().await?;
    let cursor = tx.cursor(provider, Kind::TimeEntry).await?;
    let oldest = tx.oldest_linked_start(provider).await?;
    let plan = plan_scan(
        &ScanInput {
            now: Utc::now(),
            settings: settings.scan,
            cursor: &cursor,
            budget: None,
            change_feed: false,
            to_completion: false,
            oldest_known: oldest,
            span,
        },
        |_| 1,
    );
    Ok(plan.windows.iter().map(|w| w.scope).collect())
}

/// Every row of every table, each row as one text (quote() of every column). The table and
/// column names come from the file's own catalogue, not from outside input.
pub async fn snapshot(path: &Path) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await?;
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut conn)
    .await?
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{t}')"
        )))
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
        let expr = cols
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<String> =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {expr} FROM \"{t}\"")))
                .fetch_all(&mut conn)
                .await?
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect();
        out.insert(t, rows);
    }
    Ok(out)
}
