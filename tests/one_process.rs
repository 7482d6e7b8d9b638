//! One process per ledger, as an operator meets it: while one process syncs a ledger, a
//! second `sync`, `run` or `migrate` is refused with the holder's PID and command; the
//! read-only commands work beside it and never create a ledger.

use std::path::Path;
use std::process::{Command, Output};

use timeweave::ledger::Ledger;
use timeweave::lock::LedgerLock;

fn config(dir: &Path) -> String {
    let path = dir.join("config.toml");
    let body = format!(
        "[ledger]\npath = {:?}\n\n[providers.tt]\nkind = \"timetracker\"\nbase_url = \"http://127.0.0.1:9\"\n",
        dir.join("ledger.db").display().to_string()
    );
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

fn timeweave(config: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timeweave"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_clear()
        .env("TIMEWEAVE_PROVIDERS__TT__API_SECRET", "tt_test")
        .output()
        .expect("run timeweave")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_second_syncing_process_is_refused_with_the_holders_pid_and_command() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let _held = LedgerLock::acquire(&dir.path().join("ledger.db"), "timeweave run").unwrap();
    for command in [&["sync"][..], &["migrate"], &["run"]] {
        let out = timeweave(&cfg, command);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {err}");
        assert!(
            err.contains(&format!("PID {} (timeweave run", std::process::id())),
            "{command:?}: {err}"
        );
        assert!(err.contains("another timeweave process"), "{err}");
    }
    assert!(!dir.path().join("ledger.db").exists(), "nothing was opened");
}

#[tokio::test]
async fn read_only_commands_run_beside_the_holder_and_never_create_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let ledger_path = dir.path().join("ledger.db");
    for command in [
        &["conflicts"][..],
        &["status"],
        &["conflicts", "resolve", "1", "--take", "ledger"],
    ] {
        let out = timeweave(&cfg, command);
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        assert!(stderr(&out).contains("no ledger at"), "{}", stderr(&out));
        assert!(!ledger_path.exists(), "{command:?} created a ledger");
    }
    Ledger::open(&ledger_path).await.unwrap().close().await;
    let _held = LedgerLock::acquire(&ledger_path, "timeweave run").unwrap();
    let out = timeweave(&cfg, &["conflicts"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = timeweave(&cfg, &["status"]);
    assert!(
        !stderr(&out).contains("another timeweave process"),
        "{}",
        stderr(&out)
    );
}
