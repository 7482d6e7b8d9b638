//! Shared test setup: a fresh simulator and an adapter against it with short timeouts.

#![allow(dead_code)]

use timeweave_contract::{Provider, RemoteId};
use timeweave_http::Transport;
use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::records;
use timeweave_trackingtime::{Settings, TrackingTimeAdapter};
use timeweave_trackingtime_sim::{SimOptions, SimServer};

pub fn transport() -> Transport {
    timeweave_testsupport::fast_transport("trackingtime-test", Vec::new())
}

pub fn adapter(settings: Settings) -> TrackingTimeAdapter {
    TrackingTimeAdapter::new(settings, transport()).expect("adapter")
}

pub async fn sim(opts: SimOptions) -> SimServer {
    SimServer::start(opts).await.expect("simulator starts")
}

/// A simulator with `opts`, and an adapter against it.
pub async fn setup_with(opts: SimOptions) -> (SimServer, TrackingTimeAdapter) {
    let sim = sim(opts).await;
    let a = adapter(sim.settings());
    (sim, a)
}

/// [`setup_with`], the adapter connected.
pub async fn connected(opts: SimOptions) -> (SimServer, TrackingTimeAdapter) {
    let (sim, a) = setup_with(opts).await;
    a.connect().await.expect("connect");
    (sim, a)
}

pub async fn setup() -> (SimServer, TrackingTimeAdapter) {
    setup_with(SimOptions::default()).await
}

/// Grace Hopper, the client Navy and its project Compiler: (person, client, project).
pub fn seed(sim: &dyn SimulatorControl) -> (RemoteId, RemoteId, RemoteId) {
    let grace = records::person("Grace Hopper", Some("grace@example.com"), None);
    records::seed_account(sim, &grace, "Navy", "Compiler", Some(12_050)).ids()
}
