//! The `timeweave` binary end to end: `demo` runs and converges; `run` (the daemon) stops
//! cleanly on SIGTERM in the middle of a cycle — exit 0, within a bounded time, the ledger
//! consistent — and a later `sync` finishes the work with nothing lost or doubled (the
//! providers read back and compared with the ledger by content, not counted).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DurationRound, Utc};
use timeweave::ledger::{Ledger, RunStatus};
use timeweave_contract::{Kind, Window};
use timeweave_simkit::{work_entry, SimulatorControl};
use timeweave_testsupport::records;

const BIN: &str = env!("CARGO_BIN_EXE_timeweave");

#[test]
fn demo_runs_end_to_end_and_converges() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["demo", "--dir"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("converged: every provider and the ledger hold the same"),
        "{stdout}"
    );
    assert!(dir.path().join("ledger.db").exists());
    assert!(dir.path().join("timeweave.toml").exists());
}

fn demo(dir: &std::path::Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["demo", "--keep", "--dir"])
        .arg(dir)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn live_entries(dir: &std::path::Path) -> i64 {
    let ledger = Ledger::open_read_only(&dir.join("ledger.db"))
        .await
        .unwrap();
    let n = ledger
        .read()
        .await
        .unwrap()
        .count_live(Kind::TimeEntry)
        .await
        .unwrap();
    ledger.close().await;
    n
}

#[tokio::test]
async fn the_documented_demo_example_twice_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, text) = demo(dir.path(), &[]);
    assert!(ok, "{text}");
    let before = live_entries(dir.path()).await;
    let (ok, text) = demo(dir.path(), &[]);
    assert!(!ok, "the second run is refused: {text}");
    assert!(
        text.contains("--fresh") && text.contains("earlier demo"),
        "{text}"
    );
    assert_eq!(live_entries(dir.path()).await, before, "nothing deleted");
    let (ok, text) = demo(dir.path(), &["--fresh"]);
    assert!(ok, "{text}");
    assert!(text.contains("converged"), "{text}");
}

fn seed(sim: &dyn SimulatorControl, entries: i64) {
    let ada = records::person("Ada", Some("ada@example.com"), Some("ada"));
    let (person, _, project) = records::seed_account(sim, &ada, "Acme", "Website", None).ids();
    let base = (Utc::now() - chrono::Duration::days(20))
        .duration_trunc(chrono::Duration::days(1))
        .unwrap();
    for i in 0..entries {
        let start = base + chrono::Duration::minutes(40 * i);
        sim.add_entry(&work_entry(
            &person,
            Some(&project),
            start,
            30,
            &format!("entry {i}"),
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_cycle_exits_cleanly_and_loses_nothing() {
    let tt = timeweave_timetrack_sim::SimServer::start(Default::default()).await;
    let tm = timeweave_timetracker_sim::SimServer::start(Default::default()).await;
    tt.set_rate_limiting(false);
    tm.set_rate_limiting(false);
    seed(&tm, 300);
    tt.add_person(&records::person(
        "Ada",
        Some("ada@example.com"),
        Some("ada"),
    ));
    let dir = tempfile::tempdir().unwrap();
    let sims: [(&str, &str, &dyn SimulatorControl); 2] = [
        ("timetrack", "timetrack", &tt),
        ("timetracker", "timetracker", &tm),
    ];
    // Slow enough that SIGTERM lands mid-cycle: 20 requests per second, a cycle every 2 s.
    let toml = timeweave::demo::config_for_simulators(dir.path(), &sims)
        .replace("per_second = 200", "per_second = 20")
        .replace(
            "kind = \"timetrack\"\n",
            "kind = \"timetrack\"\nschedule = \"*/2 * * * * *\"\n",
        )
        .replace(
            "kind = \"timetracker\"\n",
            "kind = \"timetracker\"\nschedule = \"*/2 * * * * *\"\n",
        );
    let config = dir.path().join("timeweave.toml");
    std::fs::write(&config, toml).unwrap();

    let mut daemon = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("run")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until a cycle is running and has pushed something, then SIGTERM.
    let ledger_path = dir.path().join("ledger.db");
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no cycle started"
        );
        if tt.count(Kind::TimeEntry) > 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let term = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(s) = daemon.try_wait().unwrap() {
            break s;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(30),
            "the daemon did not stop within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(daemon.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "exit {status:?}\n{stderr}");
    assert!(tt.count(Kind::TimeEntry) < 300, "SIGTERM landed mid-cycle");

    // The ledger is consistent: no run left "running".
    let ledger = Ledger::open_read_only(&ledger_path).await.unwrap();
    let runs = ledger
        .read()
        .await
        .unwrap()
        .recent_runs(None, 100)
        .await
        .unwrap();
    assert!(!runs.is_empty());
    assert!(
        runs.iter().all(|r| r.status != RunStatus::Running),
        "{runs:?}"
    );
    ledger.close().await;

    // A sync finishes the job: every entry exactly once in the target.
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("sync")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(tt.count(Kind::TimeEntry), 300, "every entry exactly once");
    assert_eq!(tm.count(Kind::TimeEntry), 300, "the source is unchanged");
    // And the same 300: both providers read back and compared with the ledger by content.
    let mismatches = agreement(&config, &ledger_path).await;
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// The providers of the config at `config`, read back through fresh adapters, and the
/// ledger at `ledger`, compared by content (`timeweave::agreement`).
async fn agreement(
    config: &std::path::Path,
    ledger: &std::path::Path,
) -> Vec<timeweave::agreement::Mismatch> {
    let cfg = timeweave::config::load_file(
        config,
        timeweave::config::PathOrigin::Flag,
        &timeweave::config::Environment::empty(),
    )
    .unwrap();
    let handles: Vec<_> = cfg
        .enabled_providers()
        .map(|p| timeweave::registry::build(p).unwrap())
        .collect();
    let ledger = Ledger::open_read_only(ledger).await.unwrap();
    let now = Utc::now();
    let span = Window::new(
        now - chrono::Duration::days(30),
        now + chrono::Duration::days(1),
    );
    let found = timeweave::agreement::check(&ledger, &handles, span)
        .await
        .unwrap();
    ledger.close().await;
    found
}
