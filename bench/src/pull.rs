//! Benchmark 2, full pull over HTTP: `timeweave sync` (= `--sync-once`) of N entries from
//! the TimeTracker simulator with its rate limit off. The sync runs in a child process (the
//! real binary with a generated config) so its peak RSS is measured without the simulator,
//! which lives in this process. RSS is sampled from /proc/<pid>/status while it runs.

use std::process::Stdio;
use std::time::{Duration, Instant};

use timeweave::ledger::Ledger;
use timeweave_contract::testkit::SimulatorControl;
use timeweave_contract::Kind;

use crate::support::{self, metric, ConfigProvider, Layout};

const PEOPLE: usize = 100;
/// TimeTracker's page cap for time entries.
const PER_PAGE: u64 = 100;

/// The `timeweave` binary next to this one (`cargo build --release --bins`).
pub fn timeweave_binary() -> anyhow::Result<std::path::PathBuf> {
    let me = std::env::current_exe()?;
    let bin = me
        .parent()
        .map(|d| d.join("timeweave"))
        .ok_or_else(|| anyhow::anyhow!("cannot locate the bench binary's directory"))?;
    if !bin.exists() {
        anyhow::bail!(
            "{} not found: build it first with `cargo build --release --workspace --bins`",
            bin.display()
        );
    }
    Ok(bin)
}

/// With `cluster`, the ledger is a scratch database on that PostgreSQL server.
pub async fn run(entries: usize, cluster: Option<&url::Url>) -> anyhow::Result<()> {
    let on = match cluster {
        Some(url) => timeweave::ledger::postgres::describe_url(url),
        None => "SQLite".to_owned(),
    };
    println!("# pull: timeweave sync of {entries} entries from the TimeTracker simulator (rate limit off), ledger on {on}");
    let bin = timeweave_binary()?;
    let dir = tempfile::tempdir()?;
    let sim = timeweave_timetracker::sim::SimServer::start(Default::default()).await;
    sim.set_rate_limiting(false);
    let layout = Layout::new(PEOPLE);
    let (people, project) = support::seed_refs(&sim, PEOPLE);
    let seeding = Instant::now();
    for u in 0..entries {
        sim.add_entry(&layout.entry(u, &people[layout.person(u)], &project));
    }
    eprintln!(
        "seeded {entries} entries in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let ledger_path = dir.path().join("ledger.db");
    let config_path = dir.path().join("timeweave.toml");
    let database = match cluster {
        Some(url) => Some(timeweave::ledger::postgres::testing::scratch_database(url).await?),
        None => None,
    };
    let mut config = support::config(
        &ledger_path,
        &layout.horizon(entries),
        &[ConfigProvider {
            name: "timetracker",
            mode: "pull",
            sim: &sim,
            rate_limit: support::UNLIMITED,
        }],
    );
    if let Some(db) = &database {
        let path = format!("path = {:?}", ledger_path.display().to_string());
        config = config.replace(&path, &format!("url = {:?}", db.as_str()));
    }
    std::fs::write(&config_path, config)?;

    let before = sim.requests_served();
    let started = Instant::now();
    let mut child = std::process::Command::new(&bin)
        .arg("--config")
        .arg(&config_path)
        .args(["--log-format", "json", "sync"])
        // The cluster's TIMEWEAVE_TEST_* variables are no configuration of timeweave.
        .env_remove(timeweave::ledger::postgres::testing::URL_ENV)
        .env_remove(timeweave::ledger::postgres::testing::REQUIRE_ENV)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id().to_string();
    let mut at_tenth: Option<u64> = None;
    let mut peak = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(hwm) = support::proc_status_kb(&pid, "VmHWM:") {
            peak = peak.max(hwm);
            let pulled = sim.requests_served().saturating_sub(before) * PER_PAGE;
            if at_tenth.is_none() && pulled >= (entries as u64 / 10) {
                at_tenth = Some(hwm);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let secs = started.elapsed().as_secs_f64();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    let requests = sim.requests_served() - before;
    let ledger = match &database {
        Some(db) => Ledger::open_postgres_read_only(db, None).await?,
        None => Ledger::open_read_only(&ledger_path).await?,
    };
    let stored = ledger.read().await?.count_live(Kind::TimeEntry).await?;
    ledger.close().await;
    if !status.success() || stored as usize != entries {
        anyhow::bail!(
            "the sync exited with {status} and stored {stored} of {entries} entries; its log:\n{}",
            stderr.lines().rev().take(10).collect::<Vec<_>>().join("\n")
        );
    }
    metric("pull_entries", entries, "entries");
    metric("pull_seconds", format!("{secs:.2}"), "s");
    metric(
        "pull_rate",
        format!("{:.0}", entries as f64 / secs),
        "entries/s",
    );
    metric("pull_requests", requests, "requests");
    metric("pull_peak_rss", format!("{:.1}", support::mib(peak)), "MiB");
    if let Some(tenth) = at_tenth {
        metric(
            "pull_peak_rss_at_tenth",
            format!("{:.1}", support::mib(tenth)),
            &format!("MiB (after {} entries)", entries / 10),
        );
        metric(
            "pull_rss_growth_tenth_to_full",
            format!("{:.1}", (peak as f64 / tenth as f64 - 1.0) * 100.0),
            "%",
        );
    }
    // For diagnosis: the same entries listed by the adapter alone (no ledger), in process.
    let (listed, listing_secs) = adapter_only(&sim, &layout, entries).await?;
    metric(
        "pull_adapter_only_rate",
        format!("{:.0}", listed as f64 / listing_secs),
        "entries/s (adapter + simulator, no ledger, one process)",
    );
    metric("target_pull_rate", 20_000, "entries/s");
    metric("target_pull_peak_rss", 100, "MiB");
    metric("target_pull_rss_growth_tenth_to_full", 20, "%");
    Ok(())
}

/// Lists every entry through a TimeTracker adapter in 30-day windows, as a cycle would,
/// without a ledger: what HTTP, JSON and mapping cost on their own.
async fn adapter_only(
    sim: &timeweave_timetracker::sim::SimServer,
    layout: &Layout,
    entries: usize,
) -> anyhow::Result<(usize, f64)> {
    use timeweave_contract::{ListScope, PageItem, Provider, Window};
    let adapter = timeweave_timetracker::TimeTrackerAdapter::new(
        sim.settings(),
        timeweave_http::Transport::new(timeweave_http::TransportConfig::new("probe"))?,
    )?;
    adapter.connect().await?;
    let started = Instant::now();
    let mut listed = 0;
    let end = chrono::Utc::now() + chrono::Duration::days(1);
    let mut from = layout.oldest(entries) - chrono::Duration::days(1);
    while from < end {
        let to = (from + chrono::Duration::days(30)).min(end);
        let mut token = None;
        loop {
            let page = adapter
                .list_page(
                    Kind::TimeEntry,
                    ListScope::StartedIn(Window::new(from, to)),
                    token,
                )
                .await?;
            listed += page
                .items
                .iter()
                .filter(|i| matches!(i, PageItem::Record(_)))
                .count();
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        from = to;
    }
    Ok((listed, started.elapsed().as_secs_f64()))
}
