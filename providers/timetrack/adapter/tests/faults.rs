//! Failures on the way: 500s, timeouts, resets, malformed and truncated JSON, HTML gateway
//! pages and injected 429s are retried on reads; auth failures are not, and say what to do.

mod common;

use std::time::Duration;

use timeweave_contract::{Kind, Provider, ProviderError};
use timeweave_simkit::{Fault, SimulatorControl};
use timeweave_testsupport::{list_entries, sample_entry};
use timeweave_timetrack_sim::SimOptions;

#[tokio::test]
async fn reads_survive_every_transient_fault() {
    let opts = SimOptions {
        timeout_delay: Duration::from_secs(3),
        ..SimOptions::unthrottled()
    };
    let (sim, adapter) = common::setup(opts, false).await;
    let s = common::seed(&sim, "f");
    sim.add_entry(&sample_entry(&s.person, Some(&s.project), 0, 30, "x"));
    for fault in [
        Fault::ServerError,
        Fault::Timeout,
        Fault::ConnectionReset,
        Fault::MalformedJson,
        Fault::HtmlErrorPage,
        Fault::TruncatedBody,
        Fault::RateLimited {
            retry_after_secs: Some(1),
        },
        Fault::RateLimited {
            retry_after_secs: None,
        },
    ] {
        sim.inject_faults(fault, 1);
        let listed = list_entries(&adapter).await;
        assert_eq!(listed.len(), 1, "{fault:?}");
    }
    let stats = adapter.transport().stats().snapshot();
    assert_eq!(stats.failures, 0);
    assert!(stats.retries >= 8, "{stats:?}");
}

#[tokio::test]
async fn a_persistent_failure_is_reported_not_hidden() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    sim.inject_faults(Fault::ServerError, 100);
    let err = adapter.connect().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    sim.clear_faults();
    sim.inject_faults(Fault::MalformedJson, 100);
    let err = adapter.get(Kind::Client, &"1".into()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Malformed { .. }), "{err}");
}

#[tokio::test]
async fn wrong_credentials_fail_fast_with_auth() {
    let sim = timeweave_timetrack_sim::SimServer::start(SimOptions::unthrottled()).await;
    let mut settings = sim.settings();
    settings.api_secret = timeweave_contract::Secret::new("s3cr3t-XYZ-bad");
    let adapter = common::adapter_for(settings, vec![]);
    let before = sim.requests_served();
    let err = adapter.connect().await.unwrap_err();
    assert!(matches!(err, ProviderError::Auth { .. }), "{err}");
    assert!(err.is_fatal_for_cycle());
    assert!(err.to_string().contains("api_secret"), "{err}");
    assert!(
        !err.to_string().contains("s3cr3t-XYZ-bad"),
        "the secret never appears: {err}"
    );
    assert_eq!(sim.requests_served() - before, 1, "401 is never retried");
}

#[tokio::test]
async fn a_rotated_secret_locks_out_the_old_one() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    adapter.connect().await.unwrap();
    let new = sim.rotate_secret();
    assert!(matches!(
        adapter.connect().await,
        Err(ProviderError::Auth { .. })
    ));
    let mut settings = sim.settings();
    assert_eq!(settings.api_secret.expose(), new);
    settings.attendances = false;
    let fresh = common::adapter_for(settings, vec![]);
    let info = fresh.connect().await.unwrap();
    assert!(info.server.contains("TimeTrack"));
}
