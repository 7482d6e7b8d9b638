//! Shared test setup: a fresh simulator and an adapter against it with short timeouts.

#![allow(dead_code)]

use timeweave_contract::{Client, Person, Project, RemoteId};
use timeweave_http::Transport;
use timeweave_simkit::SimulatorControl;
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

pub async fn setup() -> (SimServer, TrackingTimeAdapter) {
    let sim = sim(SimOptions::default()).await;
    let a = adapter(sim.settings());
    (sim, a)
}

/// Grace Hopper, the client Navy and its project Compiler: (person, client, project).
pub fn seed(sim: &dyn SimulatorControl) -> (RemoteId, RemoteId, RemoteId) {
    let person = sim.add_person(&Person {
        display_name: "Grace Hopper".into(),
        email: Some("grace@example.com".into()),
        username: None,
    });
    let client = sim.add_client(&Client {
        name: "Navy".into(),
        email: None,
        notes: None,
        archived: false,
    });
    let project = sim.add_project(&Project {
        client: Some(client.clone()),
        name: "Compiler".into(),
        billable: true,
        hourly_rate_cents: Some(12_050),
        archived: false,
    });
    (person, client, project)
}
