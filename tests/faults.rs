//! The fault suite (issue 9): every simulator fault switch during a three-provider sync,
//! then one more `--sync-once` converges with nothing lost or duplicated; lost answers to
//! writes never duplicate; bad records from a provider are skipped with a recorded reason
//! while the rest of the page is applied; and the real daemon process rides out every
//! fault without exiting on its own.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use timeweave::ledger::{Ledger, RunStatus};
use timeweave::sync::{CycleOptions, Engine, ProviderHandle, StopFlag};
use timeweave_contract::Kind;
use timeweave_simkit::Fault;

use support::{Sims, NAMES};

const EVERY_FAULT: [Fault; 8] = [
    Fault::ServerError,
    Fault::Timeout,
    Fault::ConnectionReset,
    Fault::MalformedJson,
    Fault::HtmlErrorPage,
    Fault::RateLimited {
        retry_after_secs: Some(1),
    },
    Fault::RateLimited {
        retry_after_secs: None,
    },
    Fault::TruncatedBody,
];

/// A round that takes longer than this is hung, not slow.
const ROUND_LIMIT: Duration = Duration::from_secs(45);

struct World {
    _dir: tempfile::TempDir,
    sims: Arc<Sims>,
    engine: Engine,
    ledger: Ledger,
    handles: Vec<ProviderHandle>,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let sims = Arc::new(Sims::start().await);
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    let engine = Engine::new(ledger.clone(), support::sync_settings(), StopFlag::new());
    let handles = sims.handles();
    World {
        _dir: dir,
        sims,
        engine,
        ledger,
        handles,
    }
}

impl World {
    /// One ordinary cycle of every provider; a ledger error (the only `Err`) fails the test.
    async fn round(&self) -> Vec<(String, RunStatus, Vec<String>)> {
        self.round_with(&self.engine).await
    }

    /// [`World::round`] through another engine (one with a progress hook).
    async fn round_with(&self, engine: &Engine) -> Vec<(String, RunStatus, Vec<String>)> {
        let mut out = Vec::new();
        for h in &self.handles {
            let r = engine
                .run_cycle(h, CycleOptions::default())
                .await
                .unwrap_or_else(|e| panic!("{}: the ledger failed: {e}", h.name));
            out.push((h.name.clone(), r.status, r.errors));
        }
        out
    }

    /// `--sync-once` as the binary runs it; returns whether every cycle was clean.
    async fn sync_once(&self) -> (bool, String) {
        let outcome = timeweave::once::run(self.engine.clone(), self.handles.clone(), false, false)
            .await
            .expect("sync-once");
        (outcome.clean(), outcome.summary())
    }

    async fn assert_converged(&self, expected: &BTreeSet<usize>) {
        support::assert_exactly_once(&self.sims.contents().await, expected);
        support::assert_ledger_exactly_once(&self.ledger, expected).await;
    }
}

/// Injects `count` faults into each simulator once it has served `after` more requests
/// than when called (0: at once), until `done`; returns at which request each one started.
async fn inject_after(
    sims: &Sims,
    fault: Fault,
    count: u32,
    after: u64,
    done: &AtomicBool,
) -> [Option<u64>; 3] {
    let base: Vec<u64> = sims.all().iter().map(|s| s.requests_served()).collect();
    let mut injected = [None; 3];
    loop {
        for (i, sim) in sims.all().into_iter().enumerate() {
            let served = sim.requests_served() - base[i];
            if injected[i].is_none() && served >= after {
                sim.inject_faults(fault, count);
                injected[i] = Some(served);
            }
        }
        if injected.iter().all(Option::is_some) || done.load(Ordering::SeqCst) {
            return injected;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_switch_during_a_three_provider_sync_then_one_more_round_converges() {
    let w = world().await;
    let mut expected = w.sims.book_ring(20);
    let mut next = 1000;
    let mut log = Vec::new();
    for (f, fault) in EVERY_FAULT.iter().enumerate() {
        // New work in every provider each time, so faults hit pulls and pushes alike.
        for i in 0..3 {
            w.sims.book(i, next);
            expected.insert(next);
            next += 1;
        }
        // Alternately fewer faults than retries (absorbed) and more (the request fails);
        // a 429 without Retry-After pauses 5 s each, so once is enough.
        let count = match (fault, f % 2) {
            (
                Fault::RateLimited {
                    retry_after_secs: None,
                },
                _,
            ) => 1,
            (_, 0) => 2,
            _ => 7,
        };
        let started = Instant::now();
        // The faults start mid-cycle: after a few requests of each provider's cycle (so
        // they hit listings and pushes, not only connect), except in the first two rounds.
        let after = if f < 2 { 0 } else { 2 + f as u64 % 4 };
        let done = AtomicBool::new(false);
        let round = async {
            let r = tokio::time::timeout(ROUND_LIMIT, w.round()).await;
            done.store(true, Ordering::SeqCst);
            r
        };
        let (round, injected) =
            tokio::join!(round, inject_after(&w.sims, *fault, count, after, &done));
        let round = round.unwrap_or_else(|_| {
                panic!(
                    "a round under {fault:?} x{count} did not finish within {ROUND_LIMIT:?}; before it:\n{}",
                    log.join("\n")
                )
            });
        for (i, (name, status, errors)) in round.into_iter().enumerate() {
            assert!(injected[i].is_some(), "{fault:?} never reached {name}");
            log.push(format!(
                "{fault:?} x{count} on {name} after {}: {} {errors:?} ({:.1} s round)",
                injected[i].map_or("never".to_string(), |n| format!("request {n}")),
                status.as_str(),
                started.elapsed().as_secs_f64()
            ));
        }
        eprintln!("{}", log[log.len() - 3..].join("\n"));
        for sim in w.sims.all() {
            sim.clear_faults();
        }
    }
    let (clean, summary) = w.sync_once().await;
    assert!(
        clean,
        "the round after the faults is clean:\n{summary}\nduring the faults:\n{}",
        log.join("\n")
    );
    w.assert_converged(&expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_to_writes_never_duplicate() {
    let w = world().await;
    let mut expected = w.sims.book_ring(10);
    // A first sync so later rounds push few, targeted writes.
    let (clean, summary) = w.sync_once().await;
    assert!(clean, "{summary}");
    // When an armed provider's push phase starts, its simulator loses the answers to the
    // next requests: the writes land, but the engine does not hear back.
    let armed: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let hook = {
        let (armed, sims) = (armed.clone(), w.sims.clone());
        Arc::new(move |p: &timeweave::sync::Progress<'_>| {
            if p.phase == "pushing" && armed.lock().unwrap().remove(p.provider) {
                let i = NAMES.iter().position(|n| *n == p.provider).unwrap();
                sims.get(i).inject_faults(Fault::LoseResponse, 3);
            }
        })
    };
    let engine = w.engine.clone().with_progress(hook);
    let mut next = 2000;
    for round in 0..3 {
        for i in 0..3 {
            w.sims.book(i, next);
            expected.insert(next);
            next += 1;
        }
        // Every provider but one pushes the two entries booked elsewhere, blind.
        *armed.lock().unwrap() = (0..3)
            .filter(|i| *i != round)
            .map(|i| NAMES[i].to_string())
            .collect();
        let report = w.round_with(&engine).await;
        assert!(
            armed.lock().unwrap().is_empty(),
            "every armed provider reached its push phase: {report:?}"
        );
        for (i, sim) in w.sims.all().into_iter().enumerate() {
            if i != round {
                assert_eq!(
                    sim.pending_faults(),
                    0,
                    "{}: three answers were lost while pushing",
                    NAMES[i]
                );
            }
        }
        for sim in w.sims.all() {
            sim.clear_faults();
        }
    }
    let (clean, summary) = w.sync_once().await;
    assert!(clean, "{summary}");
    w.assert_converged(&expected).await;
}

/// Runs one pull cycle of the TimeTracker simulator (the one with a raw-JSON hook) alone.
async fn pull_timetracker(w: &World) -> timeweave::sync::CycleReport {
    let mut h = w.handles[2].clone();
    h.mode = timeweave::config::Mode::Pull;
    w.engine
        .run_cycle(
            &h,
            CycleOptions {
                to_completion: true,
                dry_run: false,
            },
        )
        .await
        .expect("the ledger works")
}

fn int_id(id: &timeweave_contract::RemoteId) -> i64 {
    id.0.parse().expect("TimeTracker ids are integers")
}

/// Books 12 entries in TimeTracker, breaks the raw JSON of entries 1..=n one way each
/// (`cases`: field, value, what), pulls, and asserts each broken entry is skipped with a
/// recorded reason while every other entry of the same page is applied.
async fn assert_bad_records_skipped(cases: &[(&str, serde_json::Value, &str)]) {
    let w = world().await;
    let ids: Vec<_> = (0..12).map(|u| w.sims.book(2, u)).collect();
    let sim = &w.sims.timetracker;
    for (n, (field, value, _)) in cases.iter().enumerate() {
        assert!(sim.corrupt_entry(int_id(&ids[n + 1]), field, value.clone()));
    }

    let report = pull_timetracker(&w).await;
    assert_ne!(report.status, RunStatus::Failed, "{:?}", report.errors);

    let mut tx = w.ledger.read().await.unwrap();
    let issues = tx.issues(Some("timetracker")).await.unwrap();
    let mut missed = Vec::new();
    for (n, (field, value, what)) in cases.iter().enumerate() {
        let remote = &ids[n + 1];
        let link = tx
            .link_by_remote("timetracker", Kind::TimeEntry, remote)
            .await
            .unwrap();
        let issue = issues.iter().find(|i| i.record_id == remote.to_string());
        match (link, issue) {
            (None, Some(i)) if !i.reason.trim().is_empty() => {}
            (link, issue) => missed.push(format!(
                "{what} ({field} = {value}, entry {remote}): applied {}, issue {:?}",
                link.is_some(),
                issue.map(|i| &i.reason)
            )),
        }
    }
    assert!(
        missed.is_empty(),
        "bad records must be skipped with a recorded reason:\n{}",
        missed.join("\n")
    );
    // The good entries of the same page are all there.
    for (n, id) in ids.iter().enumerate().skip(cases.len() + 1) {
        assert!(
            tx.link_by_remote("timetracker", Kind::TimeEntry, id)
                .await
                .unwrap()
                .is_some(),
            "good entry {n} was applied"
        );
    }
    assert!(tx
        .link_by_remote("timetracker", Kind::TimeEntry, &ids[0])
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        tx.count_live(Kind::TimeEntry).await.unwrap() as usize,
        12 - cases.len()
    );
    assert!(
        report.counts.skipped as usize >= cases.len(),
        "skipped count {:?}",
        report.counts
    );
}

#[tokio::test]
async fn bad_records_are_skipped_with_a_reason_and_the_rest_of_the_page_applied() {
    assert_bad_records_skipped(&[
        (
            "end_time",
            serde_json::json!("2020-01-01T00:00:00"),
            "end before start",
        ),
        ("project_id", serde_json::json!(987_654), "unknown project"),
        ("user_id", serde_json::json!(987_655), "unknown person"),
        (
            "start_time",
            serde_json::json!("yesterday, roughly"),
            "unparseable timestamp",
        ),
        (
            "end_time",
            serde_json::json!("2026-13-45T99:00:00"),
            "unparseable timestamp",
        ),
    ])
    .await;
}

#[tokio::test]
async fn negative_durations_are_skipped_with_a_reason() {
    assert_bad_records_skipped(&[(
        "duration_seconds",
        serde_json::json!(-3600),
        "negative duration",
    )])
    .await;
}

#[tokio::test]
async fn duplicate_ids_on_a_page_are_skipped_with_a_reason() {
    let w = world().await;
    let ids: Vec<_> = (0..6).map(|u| w.sims.book(2, u)).collect();
    let sim = &w.sims.timetracker;
    // Entry 3 is listed under entry 2's id: the page holds id 2 twice, different content.
    assert!(sim.corrupt_entry(int_id(&ids[3]), "id", serde_json::json!(int_id(&ids[2]))));
    let report = pull_timetracker(&w).await;
    assert_ne!(report.status, RunStatus::Failed, "{:?}", report.errors);
    let mut tx = w.ledger.read().await.unwrap();
    let issues = tx.issues(Some("timetracker")).await.unwrap();
    assert!(
        issues
            .iter()
            .any(|i| i.record_id == ids[2].to_string() && !i.reason.trim().is_empty()),
        "the duplicate id is recorded as an issue: {issues:?}"
    );
    // The rest of the page is applied; the duplicated id is linked at most once.
    for n in [0, 1, 4, 5] {
        assert!(tx
            .link_by_remote("timetracker", Kind::TimeEntry, &ids[n])
            .await
            .unwrap()
            .is_some());
    }
    assert!(tx.count_live(Kind::TimeEntry).await.unwrap() <= 5);
}

/// The real daemon (`timeweave run`, every simulator each second) while every fault switch
/// is thrown in turn: it never exits on its own, and once the faults stop it converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_rides_out_every_fault_and_converges() {
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    let mut expected = sims.book_ring(10);
    let ledger_path = dir.path().join("ledger.db");
    let config_path = dir.path().join("timeweave.toml");
    std::fs::write(
        &config_path,
        sims.config(
            &ledger_path,
            "schedule = \"* * * * * *\"\ntimeout_seconds = 1\nmax_retries = 2\n",
        ),
    )
    .unwrap();
    let mut daemon = std::process::Command::new(env!("CARGO_BIN_EXE_timeweave"))
        .arg("--config")
        .arg(&config_path)
        .args(["--log-format", "json", "--log-level", "warn", "run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the daemon");
    let alive = |d: &mut std::process::Child, when: &str| {
        if let Some(status) = d.try_wait().unwrap() {
            panic!("the daemon exited on its own ({status}) {when}");
        }
    };
    let mut next = 3000;
    for fault in EVERY_FAULT {
        for i in 0..3 {
            sims.book(i, next);
            expected.insert(next);
            next += 1;
        }
        for sim in sims.all() {
            sim.inject_faults(fault, 6);
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        alive(&mut daemon, &format!("during {fault:?}"));
    }
    for sim in sims.all() {
        sim.clear_faults();
    }
    // Converges on its own schedule.
    let deadline = Instant::now() + Duration::from_secs(60);
    let last = loop {
        alive(&mut daemon, "after the faults");
        let held = sims.contents().await;
        let done = held.iter().all(|h| {
            h.len() == expected.len()
                && h.iter().map(|(n, _)| *n).collect::<BTreeSet<_>>() == expected
        });
        if done || Instant::now() > deadline {
            break held;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    // SIGTERM: it finishes the current page and exits 0.
    let pid = daemon.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let stopped = Instant::now();
    let status = loop {
        if let Some(s) = daemon.try_wait().unwrap() {
            break s;
        }
        if stopped.elapsed() > Duration::from_secs(20) {
            let _ = daemon.kill();
            panic!("the daemon did not stop within 20 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        status.success(),
        "SIGTERM ends the daemon with 0, got {status}"
    );
    support::assert_exactly_once(&last, &expected);
    let ledger = Ledger::open(&ledger_path).await.unwrap();
    let mut tx = ledger.read().await.unwrap();
    assert_eq!(
        tx.count_live(Kind::TimeEntry).await.unwrap() as usize,
        expected.len()
    );
}
