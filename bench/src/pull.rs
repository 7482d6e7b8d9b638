//! Benchmark 2, full pull over HTTP: `timeweave sync` (= `--sync-once`) of N entries from
//! the TimeTracker simulator with its rate limit off. The sync runs in a child process (the
//! real binary with a generated config) so its peak RSS is measured without the simulator,
//! which lives in this process. RSS is sampled from /proc/<pid>/status while it runs; the
//! figure "at a tenth" is taken when the ledger (read beside the child) holds a tenth of the
//! entries.

use std::process::Stdio;
use std::time::{Duration, Instant};

use timeweave::ledger::Ledger;
use timeweave_contract::Kind;
use timeweave_simkit::SimulatorControl;

use crate::support::{self, metric, ConfigProvider, Layout};

const PEOPLE: usize = 100;

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
    let layout = Layout::new(PEOPLE);
    let seeding = Instant::now();
    let sim = support::timetracker_with_entries(&layout, entries).await;
    eprintln!(
        "seeded {entries} entries in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let world = support::World::new()?;
    world.configure(
        &layout.horizon(entries),
        &[ConfigProvider::unlimited("timetracker", "pull", &sim)],
    )?;
    let ledger_path = &world.ledger_path;
    let database = match cluster {
        Some(url) => Some(timeweave::ledger::postgres::testing::scratch_database(url).await?),
        None => None,
    };
    if let Some(db) = &database {
        let config = std::fs::read_to_string(&world.config_path)?;
        let path = format!("path = {:?}", ledger_path.display().to_string());
        let config = config.replace(&path, &format!("url = {:?}", db.as_str()));
        std::fs::write(&world.config_path, config)?;
    }

    let before = sim.requests_served();
    let started = Instant::now();
    let mut child = std::process::Command::new(&bin)
        .arg("--config")
        .arg(&world.config_path)
        .args(["--log-format", "json", "sync"])
        // The cluster's TIMEWEAVE_TEST_* variables are no configuration of timeweave.
        .env_remove(timeweave::ledger::postgres::testing::URL_ENV)
        .env_remove(timeweave::ledger::postgres::testing::REQUIRE_ENV)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id().to_string();
    let mut tenth = TenthWatch::new(ledger_path, database.as_ref(), entries as i64 / 10);
    let mut peak = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(hwm) = support::proc_status_kb(&pid, "VmHWM:") {
            peak = peak.max(hwm);
            tenth.sample(hwm).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let at_tenth = tenth.finish().await;
    let secs = started.elapsed().as_secs_f64();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    let requests = sim.requests_served() - before;
    let ledger = match &database {
        Some(db) => Ledger::open_postgres_read_only(db, None).await?,
        None => Ledger::open_read_only(ledger_path).await?,
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
    support::seconds_and_rate("pull", entries, secs, "");
    metric("pull_requests", requests, "requests");
    metric("pull_peak_rss", format!("{:.1}", support::mib(peak)), "MiB");
    if let Some((tenth, stored_then)) = at_tenth {
        metric(
            "pull_peak_rss_at_tenth",
            format!("{:.1}", support::mib(tenth)),
            &format!("MiB (when the ledger held {stored_then} entries)"),
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

/// The child's peak RSS when a tenth of the entries are in the ledger: the ledger file (or
/// the PostgreSQL database) is opened read-only once the child has made it, and its live
/// entries are counted at each sample until they reach the tenth (a WAL reader never
/// blocks the writer).
struct TenthWatch<'a> {
    path: &'a std::path::Path,
    database: Option<&'a url::Url>,
    tenth: i64,
    ledger: Option<Ledger>,
    /// (VmHWM in kB, entries in the ledger then).
    found: Option<(u64, i64)>,
}

impl<'a> TenthWatch<'a> {
    fn new(path: &'a std::path::Path, database: Option<&'a url::Url>, tenth: i64) -> Self {
        TenthWatch {
            path,
            database,
            tenth: tenth.max(1),
            ledger: None,
            found: None,
        }
    }

    async fn sample(&mut self, hwm_kb: u64) {
        if self.found.is_some() {
            return;
        }
        if self.ledger.is_none() {
            // Not ours until the child has marked and migrated it: try again next sample.
            self.ledger = match self.database {
                Some(db) => Ledger::open_postgres_read_only(db, None).await.ok(),
                None if self.path.exists() => Ledger::open_read_only(self.path).await.ok(),
                None => None,
            };
        }
        let Some(ledger) = &self.ledger else { return };
        let stored = match ledger.read().await {
            Ok(mut tx) => tx.count_live(Kind::TimeEntry).await.unwrap_or(0),
            Err(_) => 0,
        };
        if stored >= self.tenth {
            self.found = Some((hwm_kb, stored));
        }
    }

    /// Closes the reader; what was found.
    async fn finish(self) -> Option<(u64, i64)> {
        if let Some(ledger) = self.ledger {
            ledger.close().await;
        }
        self.found
    }
}

/// Lists every entry through a TimeTracker adapter in 30-day windows, as a cycle would,
/// without a ledger: what HTTP, JSON and mapping cost on their own.
async fn adapter_only(
    sim: &timeweave_timetracker_sim::SimServer,
    layout: &Layout,
    entries: usize,
) -> anyhow::Result<(usize, f64)> {
    use timeweave_contract::{ListScope, Provider, Window};
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
        let scope = ListScope::StartedIn(Window::new(from, to));
        listed += support::count_listed(&adapter, Kind::TimeEntry, scope).await?;
        from = to;
    }
    Ok((listed, started.elapsed().as_secs_f64()))
}
