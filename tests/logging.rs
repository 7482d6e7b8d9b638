//! What the logs show an operator, through the JSON form the binary installs: every event
//! of a cycle carries the `cycle` span's `provider`, `cycle finished` its duration, and SQL
//! statements stay at trace. One process-wide subscriber (sqlx logs from its own worker
//! threads), set once for the tests of this file.

use std::sync::{Arc, Mutex, OnceLock};

use chrono::{Duration, Utc};
use serde_json::Value;
use timeweave::config::Mode;
use timeweave::ledger::Ledger;
use timeweave::logging::json_subscriber;
use timeweave::sync::{CycleOptions, Engine, ProviderHandle, StopFlag, SyncSettings};
use timeweave_testsupport::memory::MemoryProvider;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Everything logged in this process, as JSON lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Captured {
    type Writer = Captured;
    fn make_writer(&'w self) -> Captured {
        self.clone()
    }
}

/// The process's log so far, from a subscriber at `debug` that also asks for SQL
/// statements (`sqlx::query=trace`, as the README shows) and the memory provider's
/// per-page trace.
fn logged() -> Vec<Value> {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    let captured = CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let filter = EnvFilter::new("debug,sqlx::query=trace,timeweave_testsupport::memory=trace");
        tracing::subscriber::set_global_default(json_subscriber(filter, captured.clone())).unwrap();
        captured
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn settings() -> SyncSettings {
    SyncSettings::defaults(Utc::now() - Duration::days(100))
}

async fn one_cycle_of(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    let engine = Engine::new(ledger, settings(), StopFlag::new());
    let handle = ProviderHandle {
        push_concurrency: 1,
        ..ProviderHandle::new(name, Arc::new(MemoryProvider::new(5)), Mode::Both)
    };
    let opts = CycleOptions {
        to_completion: true,
        dry_run: false,
    };
    engine.run_cycle(&handle, opts).await.unwrap();
}

#[tokio::test]
async fn every_event_of_a_cycle_carries_its_provider_and_the_end_its_duration() {
    logged();
    one_cycle_of("spanned").await;
    let lines = logged();
    let of_cycle: Vec<&Value> = lines
        .iter()
        .filter(|l| l["span"]["provider"] == "spanned")
        .collect();
    // The engine's events and the provider's, whose read-ahead runs in a task of its own.
    assert!(
        of_cycle.iter().any(|l| l["message"] == "memory: list page"),
        "no provider event inside the cycle span among {} lines",
        lines.len()
    );
    for line in &lines {
        let target = line["target"].as_str().unwrap_or_default();
        if target.starts_with("timeweave::sync")
            || target.starts_with("timeweave_testsupport::memory")
        {
            assert_eq!(line["span"]["name"], "cycle", "{line}");
        }
    }
    let finished = of_cycle
        .iter()
        .find(|l| l["message"] == "cycle finished")
        .expect("a cycle finished line");
    assert!(finished["duration_ms"].is_u64(), "{finished}");
}

#[tokio::test]
async fn sql_statements_log_at_trace_only() {
    logged();
    one_cycle_of("statements").await;
    let statements: Vec<Value> = logged()
        .into_iter()
        .filter(|l| l["target"] == "sqlx::query")
        .collect();
    assert!(!statements.is_empty(), "statements show when asked for");
    for s in &statements {
        // Slow statements may warn; every other is at trace, below `debug`.
        assert!(s["level"] == "TRACE" || s["level"] == "WARN", "{s}");
    }
}
