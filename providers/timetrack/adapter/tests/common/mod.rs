//! Shared set-up for adapter-vs-simulator tests: a simulator, and an adapter pointed at it
//! with short timeouts and backoffs so failure tests stay fast.
#![allow(dead_code)]

use std::time::Duration;

use timeweave_http::{Quota, Transport, TransportConfig};
use timeweave_testsupport::records;
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

/// "Ada {tag}", "Client {tag}" and "Project {tag}" at 85.50 an hour.
pub fn seed(sim: &SimServer, tag: &str) -> records::Seeded {
    records::seed_tagged(sim, tag, Some(8550))
}
