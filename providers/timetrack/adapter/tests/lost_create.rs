//! No idempotency key exists in TimeTrack: a create whose answer is lost is looked up by
//! natural key (user, from, to, project) before anything is sent again, so it never
//! produces a duplicate; and the undocumented success bodies (full echo, id only, empty)
//! all lead to the created record.

mod common;

use timeweave_contract::{Kind, Provider, Record};
use timeweave_simkit::{Fault, SimulatorControl};
use timeweave_testsupport::{records, sample_entry};
use timeweave_timetrack_sim::{CreateAnswer, SimOptions, UpdateAnswer};

#[tokio::test]
async fn a_lost_create_answer_is_retried_without_a_duplicate() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "lc");
    let entry = Record::TimeEntry(sample_entry(&s.person, Some(&s.project), 0, 45, "lost"));
    sim.inject_faults(Fault::LoseResponse, 1);
    let created = adapter
        .create(&entry, "k1")
        .await
        .expect("recovered by natural key");
    assert_eq!(sim.count(Kind::TimeEntry), 1, "exactly one entry");
    assert_eq!(
        created.record,
        adapter
            .get(Kind::TimeEntry, &created.id)
            .await
            .unwrap()
            .unwrap()
            .record
    );
    // The engine's own reconciliation finds the same record.
    let found = adapter.find_created(&entry, "k1").await.unwrap().unwrap();
    assert_eq!(found.id, created.id);
}

#[tokio::test]
async fn a_create_that_did_not_land_is_sent_again_once_looked_up() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "nl");
    let entry = Record::TimeEntry(sample_entry(
        &s.person,
        Some(&s.project),
        0,
        45,
        "500 first",
    ));
    // A 500 leaves the outcome unknown (the transport does not repeat such a create): the
    // adapter looks, finds nothing, and sends again.
    sim.inject_faults(Fault::ServerError, 1);
    adapter
        .create(&entry, "k")
        .await
        .expect("second send succeeds");
    assert_eq!(sim.count(Kind::TimeEntry), 1);
    // A connection reset before any answer: same.
    let entry2 = Record::TimeEntry(sample_entry(&s.person, Some(&s.project), 60, 45, "reset"));
    sim.inject_faults(Fault::ConnectionReset, 1);
    adapter
        .create(&entry2, "k2")
        .await
        .expect("second send succeeds");
    assert_eq!(sim.count(Kind::TimeEntry), 2);
}

#[tokio::test]
async fn lost_client_creates_are_found_by_name() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let client = Record::Client(records::client("Umbrella"));
    sim.inject_faults(Fault::LoseResponse, 1);
    adapter.create(&client, "c").await.unwrap();
    assert_eq!(sim.count(Kind::Client), 1);
}

#[tokio::test]
async fn every_success_body_shape_leads_to_the_record() {
    for answer in [
        CreateAnswer::FullObject,
        CreateAnswer::IdOnly,
        CreateAnswer::Empty,
    ] {
        let opts = SimOptions {
            create_answer: answer,
            update_answer: if answer == CreateAnswer::Empty {
                UpdateAnswer::Empty
            } else {
                UpdateAnswer::FullObject
            },
            ..SimOptions::unthrottled()
        };
        let (sim, adapter) = common::setup(opts, false).await;
        let s = common::seed(&sim, "sb");
        let e = sample_entry(&s.person, Some(&s.project), 0, 30, "shape");
        let created = adapter
            .create(&Record::TimeEntry(e.clone()), "k")
            .await
            .unwrap();
        assert_eq!(created.id.as_str(), "1", "{answer:?}");
        let mut changed = e.clone();
        changed.notes = Some("changed".into());
        let updated = adapter
            .update(
                &records::target(&created.id, None),
                &Record::TimeEntry(changed),
            )
            .await
            .unwrap();
        match updated.record {
            Record::TimeEntry(u) => assert_eq!(u.notes.as_deref(), Some("changed"), "{answer:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(sim.count(Kind::TimeEntry), 1, "{answer:?}");
    }
}
