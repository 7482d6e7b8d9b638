//! High availability on a shared PostgreSQL ledger: three real `timeweave run` processes
//! share one ledger and three simulators, each instance worked by whichever holds its lease
//! (`lease_ttl_seconds = 3`, cycles every second, pushes paced by the client-side limit so
//! they take seconds).
//!
//! The owner of an instance is SIGKILLed mid-push: every instance it held is taken over by
//! another process once its lease ran out (never before: no two holders overlap), and within
//! the ttl plus one schedule tick. Another owner is then SIGSTOPped mid-cycle past its ttl
//! (taken over as soon, even when paused inside a write transaction: the server ends that
//! after the ttl) and SIGCONTed: its next ledger write is refused by the fencing token and
//! it backs off. After fresh work, every entry is exactly once in every provider and in the
//! ledger, with no intent left open; a clean stop releases every lease.
//!
//! Runs on the throwaway cluster of `scripts/postgres-cluster` (`scripts/test`); skipped
//! without it, failing instead when `CI` or `TIMEWEAVE_REQUIRE_POSTGRES` is set.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use timeweave::ledger::postgres::{self, testing, LeaseHolder};
use timeweave::ledger::{Ledger, RunStatus};
use timeweave_contract::{Kind, RemoteId};
use url::Url;

use support::{Sims, NAMES};

const LEASE_TTL: Duration = Duration::from_secs(3);
/// The schedule's interval: a free lease is taken at the next tick.
const TICK: Duration = Duration::from_secs(1);
/// Entries per provider, a tenth shared with the next one: all within the hot window (the
/// last 35 days), so every cycle lists them all and the test watches the lease, not how a
/// first deep scan spread over budgeted cycles meets pushes.
const PER_PROVIDER: usize = 33;
/// How long the test waits for anything before it fails (never reached when it works).
const PATIENCE: Duration = Duration::from_secs(120);

/// One `timeweave run` process and its log.
struct Node {
    child: Child,
    log: PathBuf,
    stopped: bool,
}

impl Node {
    fn start(config: &Path, dir: &Path, i: usize) -> Node {
        let log = dir.join(format!("node{i}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_timeweave"))
            .arg("--config")
            .arg(config)
            .args(["--log-format", "json", "--log-level", "info", "run"])
            // The test's own TIMEWEAVE_* variables are no configuration of the daemon.
            .env_remove(testing::URL_ENV)
            .env_remove(testing::REQUIRE_ENV)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("node log"))
            .spawn()
            .expect("start timeweave run");
        Node {
            child,
            log,
            stopped: false,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    #[allow(unsafe_code)]
    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid()).expect("pid");
        // SAFETY: a signal to a child this test started and has not reaped.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "signal {signal}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Node {
    /// A failing test leaves no daemon behind.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            if self.stopped {
                self.signal(libc::SIGCONT);
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The PID in a lease owner's name (`HOST/PID/START`).
fn owner_pid(owner: &str) -> Option<u32> {
    owner.split('/').nth(1)?.parse().ok()
}

/// The config of every node: the simulators, the shared ledger, cycles every second.
fn config(sims: &Sims, url: &Url) -> String {
    let placeholder = Path::new("/nonexistent/ledger.db");
    let text = sims.config(placeholder, "schedule = \"* * * * * *\"\n");
    let ledger = format!(
        "url = {:?}\nlease_ttl_seconds = {}",
        url.as_str(),
        LEASE_TTL.as_secs()
    );
    let text = text.replace(
        &format!("path = {:?}", placeholder.display().to_string()),
        &ledger,
    );
    // Pushes paced by the client-side limit, so a push lasts long enough to be interrupted.
    text.replace("per_second = 10000", "per_second = 15")
}

fn live_holders(holders: &[LeaseHolder]) -> BTreeMap<String, LeaseHolder> {
    holders
        .iter()
        .filter(|l| l.live)
        .map(|l| (l.provider.clone(), l.clone()))
        .collect()
}

/// Waits until `pick` finds what it looks for in the ledger (polled every 100 ms).
async fn wait_for<T>(what: &str, mut pick: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = pick().await {
            return found;
        }
        assert!(started.elapsed() < PATIENCE, "waited in vain for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An instance mid-push: its lease is live and held by one of `nodes` (not stopped), its
/// latest cycle is running and intents of it are open. Returns the node's index and the
/// instances it holds.
async fn owner_mid_push(
    ledger: &Ledger,
    pool: &PgPool,
    nodes: &[Node],
) -> Option<(usize, Vec<LeaseHolder>)> {
    let held = live_holders(&postgres::holders(pool).await.ok()?);
    let mut tx = ledger.read().await.ok()?;
    for (name, lease) in &held {
        let running = tx.recent_runs(Some(name), 1).await.ok()?.into_iter().next();
        let pushing = tx.count_intents(Some(name)).await.ok()? > 0;
        if !pushing || running.is_none_or(|r| r.status != RunStatus::Running) {
            continue;
        }
        let pid = lease.owner.as_deref().and_then(owner_pid);
        let Some(i) = nodes
            .iter()
            .position(|n| Some(n.pid()) == pid && !n.stopped)
        else {
            continue;
        };
        let pid = Some(nodes[i].pid());
        let its = held
            .values()
            .filter(|l| l.owner.as_deref().and_then(owner_pid) == pid)
            .cloned()
            .collect();
        return Some((i, its));
    }
    None
}

/// SIGSTOPs an owner mid-push whose cycle is still running once the signal landed (one
/// seen mid-push may finish its cycle in the moment before: it has no write left for a
/// fence to refuse, and is let go on to pick another). Returns its index and the
/// instances it holds.
async fn pause_an_owner_mid_cycle(
    ledger: &Ledger,
    pool: &PgPool,
    nodes: &mut [Node],
) -> (usize, Vec<LeaseHolder>) {
    loop {
        let (i, held) = wait_for("an owner mid-push", async || {
            owner_mid_push(ledger, pool, nodes).await
        })
        .await;
        nodes[i].signal(libc::SIGSTOP);
        nodes[i].stopped = true;
        // A commit already on its way when the signal landed is in by now.
        tokio::time::sleep(Duration::from_millis(300)).await;
        if cycle_running(ledger, &held).await {
            return (i, held);
        }
        nodes[i].signal(libc::SIGCONT);
        nodes[i].stopped = false;
    }
}

/// Whether the latest cycle of any of `instances` is still running.
async fn cycle_running(ledger: &Ledger, instances: &[LeaseHolder]) -> bool {
    let Ok(mut tx) = ledger.read().await else {
        return false;
    };
    for lease in instances {
        let latest = tx.recent_runs(Some(&lease.provider), 1).await;
        if latest.is_ok_and(|runs| runs.first().is_some_and(|r| r.status == RunStatus::Running)) {
            return true;
        }
    }
    false
}

/// Waits until each of `lost` is held live by another process under a later token;
/// returns the new leases.
async fn taken_over(pool: &PgPool, lost: &[LeaseHolder]) -> Vec<LeaseHolder> {
    wait_for("the instances to be taken over", async || {
        let held = live_holders(&postgres::holders(pool).await.ok()?);
        lost.iter()
            .map(|old| {
                held.get(&old.provider)
                    .filter(|new| new.token > old.token && new.owner != old.owner)
                    .cloned()
            })
            .collect()
    })
    .await
}

/// Whether every provider holds each of `expected` exactly once, and nothing else.
fn exactly_once(contents: &[Vec<(usize, RemoteId)>], expected: &BTreeSet<usize>) -> bool {
    contents.iter().all(|held| {
        let numbers: Vec<usize> = held.iter().map(|(n, _)| *n).collect();
        let distinct: BTreeSet<usize> = numbers.iter().copied().collect();
        distinct.len() == numbers.len() && &distinct == expected
    })
}

async fn ledger_settled(ledger: &Ledger, expected: usize) -> bool {
    let Ok(mut tx) = ledger.read().await else {
        return false;
    };
    let mut counts = vec![tx.count_live(Kind::TimeEntry).await.ok()];
    for name in NAMES {
        counts.push(tx.count_live_links(name, Kind::TimeEntry).await.ok());
    }
    let open = tx.count_intents(None).await.ok();
    counts.iter().all(|c| *c == Some(expected as i64)) && open == Some(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_share_a_ledger_through_kills_and_pauses_exactly_once() {
    let test = "three_daemons_share_a_ledger_through_kills_and_pauses_exactly_once";
    let Some(cluster) = testing::cluster_url(test) else {
        return;
    };
    let url = testing::scratch_database(&cluster)
        .await
        .expect("scratch db");
    let ledger = Ledger::open_postgres(&url, None).await.expect("migrate");
    let pool = postgres::connect(&url, None).await.expect("connect");
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    let mut expected = sims.book_ring(PER_PROVIDER);
    let config_path = dir.path().join("timeweave.toml");
    std::fs::write(&config_path, config(&sims, &url)).unwrap();
    let mut nodes: Vec<Node> = (0..3)
        .map(|i| Node::start(&config_path, dir.path(), i))
        .collect();

    // SIGKILL an owner mid-push.
    let (killed, lost) = wait_for("an owner mid-push", async || {
        owner_mid_push(&ledger, &pool, &nodes).await
    })
    .await;
    nodes[killed].child.kill().expect("SIGKILL");
    nodes[killed].child.wait().unwrap();
    let killed_at = Instant::now();
    // Its leases as it left them: dead, it renews nothing more.
    let held = live_holders(&postgres::holders(&pool).await.unwrap());
    let lost: Vec<LeaseHolder> = lost
        .iter()
        .map(|l| held.get(&l.provider).cloned().unwrap_or_else(|| l.clone()))
        .collect();
    let new = taken_over(&pool, &lost).await;
    let took = killed_at.elapsed();
    for (old, new) in lost.iter().zip(&new) {
        assert!(
            new.acquired_at >= old.expires_at,
            "{}: taken over at {} before the killed node's lease ran out at {}",
            old.provider,
            new.acquired_at,
            old.expires_at
        );
    }
    // Bounds of correctness, not of speed: the lease runs out within the ttl of the kill,
    // and a free lease is taken at the next tick (a second of slack for a busy machine).
    assert!(
        took <= LEASE_TTL + TICK + Duration::from_secs(1),
        "taken over {took:?} after the kill (ttl {LEASE_TTL:?})"
    );

    // SIGSTOP another owner mid-push past its ttl, then SIGCONT it.
    let (paused, held_by_paused) = pause_an_owner_mid_cycle(&ledger, &pool, &mut nodes).await;
    let stopped_at = Instant::now();
    taken_over(&pool, &held_by_paused).await;
    let took = stopped_at.elapsed();
    // Its lease runs out within the ttl; were it paused inside a write transaction, the
    // server ends that after the ttl too, so nothing holds the takeover up longer.
    assert!(
        took <= LEASE_TTL + TICK + Duration::from_secs(2),
        "taken over {took:?} after the pause (ttl {LEASE_TTL:?})"
    );
    nodes[paused].signal(libc::SIGCONT);
    nodes[paused].stopped = false;
    let resumed = Instant::now();
    while !nodes[paused].log().contains("has moved to another process") {
        assert!(
            resumed.elapsed() < PATIENCE,
            "waited in vain for the paused node's stale write to be refused; its log:\n{}",
            nodes[paused].log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Fresh work after the chaos, then everything settles exactly once.
    for i in 0..3 {
        for u in 0..10 {
            // Days 0 to 9 at 07:00 (`support::start_of`): clear of the first entries.
            let n = 1_000 + i * 10 + u;
            sims.book(i, n);
            expected.insert(n);
        }
    }
    let settle_by = Instant::now() + PATIENCE;
    loop {
        let contents = sims.contents().await;
        if exactly_once(&contents, &expected) && ledger_settled(&ledger, expected.len()).await {
            break;
        }
        if Instant::now() > settle_by {
            support::assert_exactly_once(&contents, &expected);
            panic!("the providers hold every entry once, but the ledger does not");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A clean stop gives every lease up.
    for (i, node) in nodes.iter_mut().enumerate() {
        if i == killed {
            continue;
        }
        node.signal(libc::SIGTERM);
        let status = node.child.wait().unwrap();
        assert!(
            status.success(),
            "node {i} stopped with {status}:\n{}",
            node.log()
        );
    }
    let holders = postgres::holders(&pool).await.unwrap();
    assert!(
        holders.iter().all(|l| l.owner.is_none()),
        "leases left held after a clean stop: {holders:?}"
    );
    ledger.close().await;
}
