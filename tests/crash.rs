//! SIGKILL suite (issues 6 and 9, one suite): the real `timeweave sync` binary runs a
//! three-provider sync against simulators in this process and is killed with SIGKILL at
//! random moments (seeded, bounded: 6 kills); after each pair of kills a rerun goes to
//! completion, and then every provider and the ledger hold each entry exactly once.
//!
//! `CRASH_TEST_SEED=N` replays another sequence of kill moments.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use timeweave::ledger::Ledger;

use support::Sims;

const ROUNDS: usize = 3;
/// Entries per provider at the start (a tenth shared with the next provider).
const PER_PROVIDER: usize = 300;
/// Entries booked in each provider before each later round.
const FRESH_PER_ROUND: usize = 100;
const KILLS_PER_ROUND: usize = 2;

fn sync(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_timeweave"));
    c.arg("--config")
        .arg(config)
        .args(["--log-format", "json", "--log-level", "warn", "sync"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// What became of a sync that was to be killed.
enum KillOutcome {
    Killed,
    /// It exited 0 after this long, before the kill.
    Finished(Duration),
}

/// Starts a sync and SIGKILLs it after `after` (if it has not finished by then).
fn run_and_kill(config: &Path, after: Duration) -> KillOutcome {
    let mut child = sync(config).spawn().expect("start timeweave");
    let started = Instant::now();
    while started.elapsed() < after {
        if let Some(status) = child.try_wait().unwrap() {
            let mut log = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut log);
            }
            assert!(
                status.success(),
                "the sync failed on its own ({status}):\n{log}"
            );
            return KillOutcome::Finished(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
    child.wait().unwrap();
    KillOutcome::Killed
}

/// Reruns until a sync exits 0 (a rerun may itself report a partial cycle once).
fn run_to_completion(config: &Path) {
    let mut last = String::new();
    for _ in 0..3 {
        let out = sync(config).output().expect("run timeweave");
        if out.status.success() {
            return;
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
    }
    panic!("three reruns did not finish cleanly; the last one logged:\n{last}");
}

async fn assert_ledger_exactly_once(path: &Path, expected: &BTreeSet<usize>) {
    let ledger = Ledger::open(path).await.unwrap();
    support::assert_ledger_exactly_once(&ledger, expected).await;
    ledger.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_then_rerun_converges_exactly_once() {
    let seed: u64 = std::env::var("CRASH_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(9);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    let ledger = dir.path().join("ledger.db");
    let config = dir.path().join("timeweave.toml");
    std::fs::write(&config, sims.config(&ledger, "")).unwrap();

    let mut expected = sims.book_ring(PER_PROVIDER);
    let mut next = 10_000;
    let mut story = Vec::new();
    for round in 0..ROUNDS {
        if round > 0 {
            // Fresh work everywhere, so each round has pulls and pushes to interrupt.
            for i in 0..3 {
                for _ in 0..FRESH_PER_ROUND {
                    sims.book(i, next);
                    expected.insert(next);
                    next += 1;
                }
            }
        }
        // A sync that finishes before its kill tells how long a sync takes now: fresh work
        // is booked (so the next sync has some) and the next kill is drawn within that.
        let mut landed = 0;
        let mut latest = Duration::from_millis(1200);
        for _ in 0..KILLS_PER_ROUND * 3 {
            if landed == KILLS_PER_ROUND {
                break;
            }
            let top = latest.as_millis().max(30) as u64;
            let after = Duration::from_millis(rng.random_range(20..top));
            let outcome = tokio::task::spawn_blocking({
                let config = config.clone();
                move || run_and_kill(&config, after)
            })
            .await
            .unwrap();
            let what = match outcome {
                KillOutcome::Killed => {
                    landed += 1;
                    "killed".to_string()
                }
                KillOutcome::Finished(took) => {
                    latest = took;
                    for i in 0..3 {
                        for _ in 0..FRESH_PER_ROUND / 2 {
                            sims.book(i, next);
                            expected.insert(next);
                            next += 1;
                        }
                    }
                    format!("finished after {took:?}, before the kill; more work booked")
                }
            };
            story.push(format!("round {round}: SIGKILL after {after:?}: {what}"));
        }
        assert!(
            landed > 0,
            "seed {seed}: no kill landed in round {round}: {}",
            story.join("; ")
        );
        let cfg = config.clone();
        tokio::task::spawn_blocking(move || run_to_completion(&cfg))
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: {}", story.join("; ")));
        eprintln!("seed {seed}: {}", story.join("; "));
        support::assert_exactly_once(&sims.contents().await, &expected);
        assert_ledger_exactly_once(&ledger, &expected).await;
    }
}
