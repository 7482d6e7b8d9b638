//! Hostile and broken inputs against the real binary: a loopback server that answers every
//! request the way a hostile or broken proxy might, and what `timeweave` must do about it —
//! never panic, never wait longer than `max_pause_seconds`, end every wait on SIGTERM, and
//! leave the ledger consistent.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use timeweave::ledger::{Ledger, RunStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_timeweave");
/// The token of the `hostile` instance, from the environment as in production.
const SECRET: &[(&str, &str)] = &[(
    "TIMEWEAVE_PROVIDERS__HOSTILE__API_SECRET",
    "tt_hostile_test",
)];

/// A loopback server answering every request with `status` and `headers` (and an empty
/// body); counts the requests it answered.
async fn hostile_server(status: &'static str, headers: String) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let counter = counter.clone();
            let headers = headers.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let answer = format!(
                    "HTTP/1.1 {status}\r\n{headers}content-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), hits)
}

/// A config with one TimeTracker instance at `base_url`, its ledger in `dir`.
fn config(dir: &Path, base_url: &str) -> PathBuf {
    let toml = format!(
        "[ledger]\npath = {:?}\n\n[providers.hostile]\nkind = \"timetracker\"\nbase_url = {base_url:?}\nschedule = \"* * * * * *\"\nmax_retries = 20\n",
        dir.join("ledger.db").display().to_string()
    );
    let path = dir.join("timeweave.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// The binary running `command` on `config`, with `env` set, its output piped.
fn start(config: &Path, command: &str, env: &[(&str, &str)]) -> Child {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg(command)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the process to exit, at most `limit`; kills it (and fails) beyond.
async fn exit_within(child: &mut Child, limit: Duration, what: &str) -> (ExitStatus, String) {
    let since = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if since.elapsed() > limit {
            let _ = child.kill();
            panic!("{what}: still running after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut output = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut output).unwrap();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut output).unwrap();
    (status, output)
}

async fn runs(dir: &Path) -> Vec<timeweave::ledger::SyncRun> {
    let ledger = Ledger::open_read_only(&dir.join("ledger.db"))
        .await
        .unwrap();
    let runs = ledger
        .read()
        .await
        .unwrap()
        .recent_runs(None, 100)
        .await
        .unwrap();
    ledger.close().await;
    runs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_long_retry_after_exits_within_five_seconds() {
    for command in ["sync", "run"] {
        // Ten minutes: within the default max_pause (15 min), so it is honoured.
        let (url, hits) =
            hostile_server("503 Service Unavailable", "retry-after: 600\r\n".into()).await;
        let dir = tempfile::tempdir().unwrap();
        let mut child = start(&config(dir.path(), &url), command, SECRET);
        let since = Instant::now();
        while hits.load(Ordering::SeqCst) == 0 {
            assert!(
                since.elapsed() < Duration::from_secs(30),
                "{command}: no request"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let term = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let (status, output) = exit_within(&mut child, Duration::from_secs(5), command).await;
        if command == "run" {
            assert!(status.success(), "{command}: {status:?}\n{output}");
        }
        assert!(!output.contains("panicked"), "{output}");
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "{command}: no request after SIGTERM"
        );
        let runs = runs(dir.path()).await;
        assert!(!runs.is_empty(), "{command}");
        assert!(
            runs.iter().all(|r| r.status == RunStatus::Interrupted),
            "{command}: {runs:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_retry_after_ends_the_cycle_as_failed_with_the_reason() {
    for value in [
        "1e30",
        "86400",
        "18446744073709551615",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        let (url, _hits) =
            hostile_server("429 Too Many Requests", format!("retry-after: {value}\r\n")).await;
        let dir = tempfile::tempdir().unwrap();
        let mut child = start(&config(dir.path(), &url), "sync", SECRET);
        let (status, output) = exit_within(&mut child, Duration::from_secs(30), value).await;
        assert!(!status.success(), "{value}: {output}");
        assert!(!output.contains("panicked"), "{value}: {output}");
        assert!(
            output.contains("max_pause_seconds = 900 s"),
            "{value}: {output}"
        );
        let runs = runs(dir.path()).await;
        assert!(
            !runs.is_empty() && runs.iter().all(|r| r.status == RunStatus::Failed),
            "{value}: {runs:?}"
        );
        assert!(
            runs.iter()
                .all(|r| r.errors.iter().any(|e| e.contains("Retry-After"))),
            "{value}: {runs:?}"
        );
    }
}

/// `timeweave check` on a TimeTracker config whose secret line is `secret_line`, with a
/// 10 s bound (a FIFO must not block it).
async fn check_with(dir: &Path, secret_line: &str) -> (ExitStatus, String) {
    let toml = format!(
        "[ledger]\npath = {:?}\n\n[providers.tt]\nkind = \"timetracker\"\nbase_url = \"https://tt.example.com\"\n{secret_line}\n",
        dir.join("ledger.db").display().to_string()
    );
    let path = dir.join("timeweave.toml");
    std::fs::write(&path, toml).unwrap();
    let mut child = start(&path, "check", &[]);
    exit_within(&mut child, Duration::from_secs(10), secret_line).await
}

#[tokio::test]
async fn a_token_given_as_the_secret_file_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let token = "tt_cb46f0e2a9d84c1b8e7f3a5d2c6b9e01";
    let (status, output) = check_with(dir.path(), &format!("api_secret_file = {token:?}")).await;
    assert!(!status.success(), "{output}");
    assert!(!output.contains("cb46"), "the token leaked: {output}");
    assert!(
        output.contains("providers.tt.api_secret_file") && output.contains("not an absolute path"),
        "{output}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_or_device_as_the_secret_file_is_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("secret.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for path in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
        let (status, output) = check_with(
            dir.path(),
            &format!("api_secret_file = {:?}", path.display().to_string()),
        )
        .await;
        assert!(!status.success(), "{output}");
        assert!(output.contains("not a regular file"), "{path:?}: {output}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn shared_secret_files_and_inline_secrets_are_warned_about_without_the_value() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tt-token");
    std::fs::write(&file, "tt_private_value_123\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let line = format!("api_secret_file = {:?}", file.display().to_string());
    let (status, output) = check_with(dir.path(), &line).await;
    assert!(status.success(), "{output}");
    assert!(
        output.contains("warning: providers.tt.api_secret_file") && output.contains("chmod 600"),
        "{output}"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (status, output) = check_with(dir.path(), &line).await;
    assert!(status.success() && !output.contains("warning"), "{output}");
    assert!(
        output.contains("longest pause: 900s, largest answer: 64 MiB"),
        "{output}"
    );

    let (status, output) = check_with(dir.path(), "api_secret = \"tt_inline_value_456\"").await;
    assert!(status.success(), "{output}");
    assert!(
        output.contains("warning: providers.tt.api_secret")
            && output.contains("TIMEWEAVE_PROVIDERS__TT__API_SECRET"),
        "{output}"
    );
    assert!(!output.contains("inline_value"), "{output}");
}

#[tokio::test]
async fn a_panicking_provider_call_fails_its_cycle_instead_of_leaving_it_running() {
    use timeweave::sync::{CycleOptions, Engine, ProviderHandle, StopFlag};
    use timeweave_testsupport::memory::{MemoryFault, MemoryProvider};
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    let cfg = timeweave::config::from_toml_str(
        "[providers.mem]\nkind = \"timetracker\"\nbase_url = \"https://tt.example.com\"\napi_secret = \"tt_x\"\n",
    )
    .unwrap();
    let engine = Engine::new(
        ledger.clone(),
        timeweave::sync::SyncSettings::from_config(&cfg),
        StopFlag::new(),
    );
    let provider = std::sync::Arc::new(MemoryProvider::new(10));
    provider.inject(vec![MemoryFault::Panic("injected provider panic")]);
    let handle = ProviderHandle {
        push_concurrency: 1,
        ..ProviderHandle::new("mem", provider.clone(), timeweave::config::Mode::Both)
    };
    let report = engine
        .run_cycle(&handle, CycleOptions::default())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Failed);
    assert!(
        report.errors[0].contains("injected provider panic"),
        "{report:?}"
    );
    let runs = runs(dir.path()).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Failed, "{runs:?}");
    assert!(runs[0].errors[0].contains("panicked"), "{runs:?}");
    // The next cycle runs normally.
    let report = engine
        .run_cycle(&handle, CycleOptions::default())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Ok, "{report:?}");
}

#[tokio::test]
async fn status_and_migrate_report_a_damaged_ledger_with_the_ways_to_recover() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "https://tt.example.com");
    let (status, output) = exit_within(
        &mut start(&config, "migrate", SECRET),
        Duration::from_secs(30),
        "migrate",
    )
    .await;
    assert!(status.success(), "{output}");
    // Garbage over three pages in the middle of the file.
    let path = dir.path().join("ledger.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    let middle = bytes.len() / page / 2 * page;
    assert!(middle >= page, "{} bytes", bytes.len());
    for (i, b) in bytes[middle..middle + 3 * page].iter_mut().enumerate() {
        *b = (i * 131 % 251) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    for command in ["status", "migrate"] {
        let (status, output) = exit_within(
            &mut start(&config, command, SECRET),
            Duration::from_secs(30),
            command,
        )
        .await;
        assert!(!status.success(), "{command}: {output}");
        assert!(
            output.contains("is damaged") && output.contains("restore the file from a backup"),
            "{command}: {output}"
        );
    }
}
