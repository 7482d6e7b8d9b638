//! Shared test helpers: a simulator with an adapter pointed at it, with short timeouts and
//! backoffs so failure paths run fast.

#![allow(dead_code)]

use std::time::Duration;

use timeweave_http::{Quota, Transport, TransportConfig};
use timeweave_timetracker::{Settings, TimeTrackerAdapter};
use timeweave_timetracker_sim::{SimOptions, SimServer};

pub fn transport(quotas: Vec<Quota>) -> Transport {
    let mut c = TransportConfig::new("timetracker-test");
    c.timeout = Duration::from_millis(1500);
    c.connect_timeout = Duration::from_millis(500);
    c.max_retries = 3;
    c.min_backoff = Duration::from_millis(5);
    c.max_backoff = Duration::from_millis(20);
    c.max_retry_after = Duration::from_secs(5);
    c.quotas = quotas;
    Transport::new(c).expect("transport")
}

pub fn adapter(settings: Settings) -> TimeTrackerAdapter {
    TimeTrackerAdapter::new(settings, transport(Vec::new())).expect("adapter")
}

pub async fn sim_with(opts: SimOptions) -> (SimServer, TimeTrackerAdapter) {
    let sim = SimServer::start(opts).await;
    let a = adapter(sim.settings());
    (sim, a)
}

pub async fn sim() -> (SimServer, TimeTrackerAdapter) {
    sim_with(SimOptions::default()).await
}

/// The strictest simulator, and an adapter pacing itself by the server's own quotas.
pub async fn strictest() -> (SimServer, TimeTrackerAdapter) {
    let sim = SimServer::start(SimOptions::strictest()).await;
    let transport = transport(timeweave_timetracker::default_quotas());
    let a = TimeTrackerAdapter::new(sim.settings(), transport).expect("adapter");
    (sim, a)
}
