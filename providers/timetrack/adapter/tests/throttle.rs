//! Throttling (30 requests per rolling minute per key, §1.7). The real-minute rule is checked
//! on a paused clock in `sim::throttle`'s unit tests; here the same rule runs over HTTP on a
//! compressed window: the adapter at its quota never meets a 429, and against a stricter
//! simulator (with and without `Retry-After`) it slows down and surfaces no error.

mod common;

use std::time::Duration;

use timeweave_contract::{Kind, Provider, RemoteId};
use timeweave_http::Quota;
use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::records;
use timeweave_timetrack_sim::{SimOptions, SimServer, Throttle};

async fn sim_with(throttle: Throttle) -> (SimServer, RemoteId) {
    let sim = SimServer::start(SimOptions {
        throttle: Some(throttle),
        ..SimOptions::default()
    })
    .await;
    let client = sim.add_client(&records::client("Throttled"));
    (sim, client)
}

async fn hammer(adapter: &timeweave_timetrack::TimeTrackAdapter, client: &RemoteId, n: usize) {
    for i in 0..n {
        let got = adapter
            .get(Kind::Client, client)
            .await
            .unwrap_or_else(|e| panic!("request {i} surfaced an error: {e}"));
        assert!(got.is_some());
    }
}

#[test]
fn defaults_are_the_documented_thirty_per_minute() {
    let q = timeweave_timetrack::default_quotas();
    assert_eq!(q, vec![Quota::per_minute(30)]);
    let t = SimOptions::default()
        .throttle
        .expect("throttle on by default");
    assert_eq!((t.limit, t.window), (30, Duration::from_secs(60)));
}

#[tokio::test]
async fn at_its_quota_the_adapter_never_meets_a_429() {
    // 30 per 3 s: the documented rule with the minute compressed 20 times (one request of
    // slack is then ~100 ms, enough for scheduling jitter on a busy machine).
    let window = Duration::from_secs(3);
    let (sim, client) = sim_with(Throttle {
        limit: 30,
        window,
        retry_after: true,
    })
    .await;
    let adapter = common::adapter_for(
        sim.settings(),
        vec![Quota {
            requests: 30,
            per: window,
        }],
    );
    hammer(&adapter, &client, 45).await;
    assert_eq!(sim.throttled(), 0, "no 429 at the configured pace");
    assert_eq!(adapter.transport().stats().snapshot().rate_limited, 0);
}

#[tokio::test]
async fn the_throttle_is_hit_and_honoured_via_retry_after() {
    // The server allows 10 per second; the adapter was told 30: it must meet 429s, honour
    // Retry-After, slow down, and still answer every call.
    let (sim, client) = sim_with(Throttle {
        limit: 10,
        window: Duration::from_secs(1),
        retry_after: true,
    })
    .await;
    let adapter = common::adapter_for(sim.settings(), vec![Quota::per_second(30)]);
    hammer(&adapter, &client, 30).await;
    assert!(
        sim.throttled() > 0,
        "the stricter server must have throttled"
    );
    let stats = adapter.transport().stats().snapshot();
    assert_eq!(stats.failures, 0);
    assert_eq!(stats.rate_limited, sim.throttled());
}

#[tokio::test]
async fn the_throttle_is_honoured_without_retry_after() {
    let (sim, client) = sim_with(Throttle {
        limit: 10,
        window: Duration::from_secs(1),
        retry_after: false,
    })
    .await;
    let adapter = common::adapter_for(sim.settings(), vec![Quota::per_second(15)]);
    hammer(&adapter, &client, 20).await;
    assert!(sim.throttled() > 0);
    assert_eq!(adapter.transport().stats().snapshot().failures, 0);
}

#[tokio::test]
async fn the_throttle_can_be_switched_off() {
    let (sim, client) = sim_with(Throttle {
        limit: 2,
        window: Duration::from_secs(60),
        retry_after: true,
    })
    .await;
    sim.set_rate_limiting(false);
    let adapter = common::adapter_for(sim.settings(), vec![]);
    hammer(&adapter, &client, 10).await;
    assert_eq!(sim.throttled(), 0);
}
