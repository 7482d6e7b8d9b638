//! Daemon behaviour in-process: a tick that finds the previous cycle still running is
//! skipped, `/healthz` and `/metrics` report a failing provider, and a TrackingTime webhook
//! makes that provider run now.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use timeweave::config::Mode;
use timeweave::ledger::Ledger;
use timeweave::schedule::{Runner, ScheduledProvider};
use timeweave::status::ProviderFacts;
use timeweave::sync::{CycleOptions, Engine, ProviderHandle, StopFlag, SyncSettings};
use timeweave_contract::ProviderError;
use timeweave_testsupport::memory::{MemoryFault, MemoryProvider};

fn settings() -> SyncSettings {
    SyncSettings::defaults(chrono::Utc::now() - chrono::Duration::days(100))
}

fn handle(name: &str, p: Arc<MemoryProvider>) -> ProviderHandle {
    ProviderHandle::new(name, p, Mode::Both)
}

async fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    (dir, Engine::new(ledger, settings(), StopFlag::new()))
}

fn facts(name: &str, kind: &str) -> ProviderFacts {
    ProviderFacts {
        name: name.into(),
        kind: kind.into(),
        mode: "both".into(),
        schedule: "0 */5 * * * *".into(),
        interval: Duration::from_secs(300),
        live: None,
        uptime: None,
    }
}

#[tokio::test]
async fn overlapping_ticks_never_run_two_cycles_of_one_provider() {
    let (_d, engine) = engine().await;
    let slow = Arc::new(MemoryProvider::new(10).with_latency(Duration::from_millis(150)));
    let runner = Runner::new(
        ScheduledProvider {
            handle: handle("slow", slow.clone()),
            kind: "memory".into(),
            schedule: "* * * * * *".into(),
            jitter: Duration::ZERO,
        },
        engine.clone(),
    );
    let (a, b, c) = tokio::join!(runner.tick("t1", false), runner.tick("t2", false), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        runner.tick("t3", false).await
    });
    let ran = [a.is_some(), b.is_some(), c.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    assert_eq!(ran, 1, "exactly one of the overlapping ticks ran a cycle");
    let mut tx = engine.ledger().read().await.unwrap();
    assert_eq!(tx.recent_runs(Some("slow"), 10).await.unwrap().len(), 1);
    drop(tx);
    // Once it is done, the next tick runs.
    assert!(runner.tick("t4", false).await.is_some());
}

/// The runner keeps its own record of progress on the monotonic clock: a successful cycle
/// is remembered, a failed one is not, whatever the wall clock says.
#[tokio::test]
async fn a_runner_measures_progress_on_the_monotonic_clock() {
    let (_d, engine) = engine().await;
    let provider = Arc::new(MemoryProvider::new(10));
    let runner = Runner::new(
        ScheduledProvider {
            handle: handle("mono", provider.clone()),
            kind: "memory".into(),
            schedule: "0 */5 * * * *".into(),
            jitter: Duration::ZERO,
        },
        engine,
    );
    let before = runner.facts().uptime.expect("the daemon measures uptime");
    assert_eq!(before.since_success, None);
    provider.inject(vec![MemoryFault::Fail(ProviderError::Auth {
        message: "HTTP 401".into(),
    })]);
    runner.tick("failing", false).await.unwrap();
    assert_eq!(
        runner.uptime().since_success,
        None,
        "a failed cycle is no progress"
    );
    runner.tick("working", false).await.unwrap();
    let after = runner.uptime();
    assert!(after
        .since_success
        .is_some_and(|d| d < Duration::from_secs(60)));
    assert!(after.since_start >= after.since_success.unwrap_or_default());
}

#[tokio::test]
async fn health_and_metrics_report_a_failing_provider() {
    let (_d, engine) = engine().await;
    let good = Arc::new(MemoryProvider::new(10));
    let bad = Arc::new(MemoryProvider::new(10));
    bad.inject(vec![MemoryFault::Fail(ProviderError::Auth {
        message: "HTTP 401: token revoked".into(),
    })]);
    for (name, p) in [("good", good), ("bad", bad)] {
        engine
            .run_cycle(&handle(name, p), CycleOptions::default())
            .await
            .unwrap();
    }
    let all = vec![facts("good", "memory"), facts("bad", "memory")];
    let source: timeweave::server::FactsSource = Arc::new(move || all.clone());
    let trigger: timeweave::server::Trigger = Arc::new(|_| true);
    let (addr, task) = timeweave::server::serve(
        "127.0.0.1:0".parse().unwrap(),
        engine.ledger().clone(),
        source,
        trigger,
        Arc::new(timeweave::webhook_gate::WebhookGate::new(Default::default())),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let health = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["healthy"], false);
    assert_eq!(body["providers"]["good"]["healthy"], true);
    assert_eq!(body["providers"]["bad"]["healthy"], false);
    assert!(
        body["providers"]["bad"]["problem"]
            .as_str()
            .unwrap()
            .contains("token revoked"),
        "{body}"
    );

    let metrics = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("timeweave_healthy{provider=\"bad\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("timeweave_healthy{provider=\"good\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("timeweave_cycles_total{provider=\"bad\",result=\"failed\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE timeweave_open_conflicts gauge"));
    task.abort();
}

#[tokio::test]
async fn healthy_when_every_provider_succeeded_recently() {
    let (_d, engine) = engine().await;
    engine
        .run_cycle(
            &handle("good", Arc::new(MemoryProvider::new(10))),
            CycleOptions::default(),
        )
        .await
        .unwrap();
    let statuses = timeweave::status::collect(
        engine.ledger(),
        &[facts("good", "memory")],
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert!(statuses[0].healthy(), "{:?}", statuses[0].problem);
    // Too long since the last success: unhealthy.
    let later = chrono::Utc::now() + chrono::Duration::minutes(30);
    let statuses = timeweave::status::collect(engine.ledger(), &[facts("good", "memory")], later)
        .await
        .unwrap();
    assert!(statuses[0]
        .problem
        .as_deref()
        .unwrap_or("")
        .contains("expected every 300 s"));
}

#[tokio::test]
async fn a_trackingtime_webhook_runs_that_provider_now() {
    let (_d, engine) = engine().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let trigger: timeweave::server::Trigger = Arc::new(move |name: &str| {
        assert_eq!(name, "tracking");
        h.fetch_add(1, Ordering::SeqCst);
        true
    });
    let all = vec![
        facts("tracking", "trackingtime"),
        facts("tm", "timetracker"),
    ];
    let source: timeweave::server::FactsSource = Arc::new(move || all.clone());
    let gate = timeweave::webhook_gate::WebhookGate::new(
        [(
            "tracking".to_owned(),
            timeweave_contract::Secret::new("hook-token"),
        )]
        .into(),
    );
    let (addr, task) = timeweave::server::serve(
        "127.0.0.1:0".parse().unwrap(),
        engine.ledger().clone(),
        source,
        trigger,
        Arc::new(gate),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let post = |path: &str, body: &'static str| {
        http.post(format!("http://{addr}{path}")).body(body).send()
    };
    let status = |path: &'static str| {
        let sent = post(path, "{}");
        async move { sent.await.unwrap().status().as_u16() }
    };
    // Without the token, or with a wrong one: refused, nothing runs.
    assert_eq!(status("/webhooks/tracking").await, 401);
    assert_eq!(status("/webhooks/tracking?token=guess").await, 401);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    let r = post(
        "/webhooks/tracking?token=hook-token",
        r#"{"event":"event.updated","data":{"id":3490132317}}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // A burst right after is coalesced into that cycle.
    assert_eq!(status("/webhooks/tracking?token=hook-token").await, 202);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // Unknown instances and instances without a webhook_secret are refused; nothing runs.
    assert_eq!(status("/webhooks/nope?token=hook-token").await, 404);
    assert_eq!(status("/webhooks/tm?token=hook-token").await, 404);
    // A flood is cut off.
    let mut last = 0;
    for _ in 0..timeweave::webhook_gate::WINDOW_CALLS {
        last = status("/webhooks/tracking?token=wrong").await;
    }
    assert_eq!(last, 429);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    task.abort();
}

/// An embedder (`demo --serve`) ends the daemon by setting its stop flag, as a signal
/// would: the daemon stops its cycles and returns 0 even when no signal reaches it.
#[tokio::test]
async fn setting_the_stop_flag_ends_the_daemon_like_a_signal() {
    use timeweave::config::{self, Environment, PathOrigin};
    use timeweave_simkit::SimulatorControl;

    let sim = timeweave_timetracker_sim::SimServer::start(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let sims: [(&str, &str, &dyn SimulatorControl); 1] = [("tm", "timetracker", &sim)];
    let path = dir.path().join("timeweave.toml");
    std::fs::write(
        &path,
        timeweave::demo::config_for_simulators(dir.path(), &sims),
    )
    .unwrap();
    let cfg = config::load_file(&path, PathOrigin::Flag, &Environment::empty()).unwrap();
    let stop = StopFlag::new();
    let providers = cfg
        .enabled_providers()
        .map(|p| timeweave::registry::build_scheduled(p, stop.shutdown()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let ledger = Ledger::open(&cfg.ledger.path).await.unwrap();
    let daemon = {
        let stop = stop.clone();
        tokio::spawn(async move { timeweave::daemon::run(&cfg, providers, ledger, stop).await })
    };
    stop.stop();
    let ended = tokio::time::timeout(Duration::from_secs(60), daemon).await;
    let code = ended
        .expect("the daemon kept running after its stop flag was set")
        .unwrap()
        .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
}
