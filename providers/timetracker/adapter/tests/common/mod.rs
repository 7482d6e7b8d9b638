//! Shared test helpers: a simulator with an adapter pointed at it, with short timeouts and
//! backoffs so failure paths run fast.

#![allow(dead_code)]

use timeweave_http::{Quota, Transport};
use timeweave_timetracker::{Settings, TimeTrackerAdapter};
use timeweave_timetracker_sim::{SimOptions, SimServer};

pub fn transport(quotas: Vec<Quota>) -> Transport {
    timeweave_testsupport::fast_transport("timetracker-test", quotas)
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
