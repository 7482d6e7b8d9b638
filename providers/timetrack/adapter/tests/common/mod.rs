//! Shared set-up for adapter-vs-simulator tests: a simulator, and an adapter pointed at it
//! with short timeouts and backoffs so failure tests stay fast.
#![allow(dead_code)]

use std::time::Duration;

use timeweave_contract::{Client, Person, Project, RemoteId};
use timeweave_http::{Quota, Transport, TransportConfig};
use timeweave_simkit::SimulatorControl;
use timeweave_timetrack::{Settings, TimeTrackAdapter};
use timeweave_timetrack_sim::{SimOptions, SimServer};

pub fn transport(quotas: Vec<Quota>) -> Transport {
    let mut cfg = TransportConfig::new("timetrack-test");
    cfg.timeout = Duration::from_millis(1500);
    cfg.connect_timeout = Duration::from_millis(500);
    cfg.min_backoff = Duration::from_millis(10);
    cfg.max_backoff = Duration::from_millis(100);
    cfg.max_retries = 4;
    cfg.quotas = quotas;
    Transport::new(cfg).expect("transport")
}

pub fn adapter_for(settings: Settings, quotas: Vec<Quota>) -> TimeTrackAdapter {
    TimeTrackAdapter::new(settings, transport(quotas)).expect("adapter")
}

/// A simulator with `opts` and an unthrottled adapter (attendances as given).
pub async fn setup(opts: SimOptions, attendances: bool) -> (SimServer, TimeTrackAdapter) {
    let sim = SimServer::start(opts).await;
    let mut settings = sim.settings();
    settings.attendances = attendances;
    let adapter = adapter_for(settings, vec![]);
    (sim, adapter)
}

pub struct Seed {
    pub person: RemoteId,
    pub client: RemoteId,
    pub project: RemoteId,
}

pub fn seed(sim: &SimServer, tag: &str) -> Seed {
    let person = sim.add_person(&Person {
        display_name: format!("Ada {tag}"),
        email: Some(format!("ada.{tag}@example.com")),
        username: Some(format!("ada{tag}")),
    });
    let client = sim.add_client(&Client {
        name: format!("Client {tag}"),
        email: None,
        notes: None,
        archived: false,
    });
    let project = sim.add_project(&Project {
        client: Some(client.clone()),
        name: format!("Project {tag}"),
        billable: true,
        hourly_rate_cents: Some(8550),
        archived: false,
    });
    Seed {
        person,
        client,
        project,
    }
}
