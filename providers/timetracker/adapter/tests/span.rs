//! `entry_span`: where an account's entries lie, from one-entry pages at both ends of the
//! listing the server sorts by start, newest first (it has no sort parameter).

mod common;

use chrono::{DateTime, TimeZone, Utc};
use timeweave_contract::{EntrySpan, Provider, RemoteId};
use timeweave_simkit::{work_entry, Fault, SimulatorControl};
use timeweave_testsupport::records;
use timeweave_timetracker_sim::SimServer;

fn project(sim: &SimServer) -> RemoteId {
    records::seed_project(sim, "Acme", "Website", None).1
}

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

#[tokio::test]
async fn an_empty_account_has_no_span() {
    let (_sim, a) = common::sim().await;
    a.connect().await.unwrap();
    assert_eq!(a.entry_span().await.unwrap(), EntrySpan::Empty);
}

#[tokio::test]
async fn the_span_runs_from_the_oldest_to_the_newest_start() {
    let (sim, a) = common::sim().await;
    let p = project(&sim);
    let admin = RemoteId("1".into());
    // Booked out of order, years back and more than a year ahead (DST and winter time).
    for start in [
        at(2026, 11, 20, 8),
        at(2013, 3, 4, 9),
        at(2028, 1, 15, 10),
        at(2020, 7, 1, 6),
    ] {
        sim.add_entry(&work_entry(&admin, Some(&p), start, 30, "booked"));
    }
    a.connect().await.unwrap();
    let before = sim.requests_served();
    assert_eq!(
        a.entry_span().await.unwrap(),
        EntrySpan::Between {
            oldest: at(2013, 3, 4, 9),
            newest: at(2028, 1, 15, 10),
        }
    );
    assert_eq!(sim.requests_served() - before, 2, "two one-entry pages");

    // A running timer started before everything else counts too.
    let mut running = work_entry(&admin, Some(&p), at(2012, 1, 1, 9), 30, "running");
    running.ended_at = None;
    running.duration_seconds = None;
    sim.add_entry(&running);
    let span = a.entry_span().await.unwrap();
    assert!(
        matches!(span, EntrySpan::Between { oldest, .. } if oldest == at(2012, 1, 1, 9)),
        "{span:?}"
    );
}

#[tokio::test]
async fn a_server_that_cannot_answer_is_an_error_not_a_guess() {
    let (sim, a) = common::sim().await;
    let p = project(&sim);
    sim.add_entry(&work_entry(
        &RemoteId("1".into()),
        Some(&p),
        at(2026, 1, 5, 9),
        30,
        "booked",
    ));
    a.connect().await.unwrap();
    sim.inject_faults(Fault::ServerError, 20);
    assert!(a.entry_span().await.is_err());
    sim.clear_faults();
    sim.inject_faults(Fault::MalformedJson, 20);
    assert!(a.entry_span().await.is_err());
}
