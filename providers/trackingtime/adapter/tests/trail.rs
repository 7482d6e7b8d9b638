//! TrackingTime's change trail: the event listing by change date (`sort_by=updated_at`
//! and `created_at`, `uat`/`cat` in the compact form the simulator serves by default) read
//! since the last position, its records handed over whole; it sees no deletions and spares
//! no listing.

mod common;

use chrono::{Duration, Utc};
use timeweave_contract::{Kind, Provider, Record};
use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::sample_entry;

#[tokio::test]
async fn the_trail_brings_an_edit_to_an_old_event_whole_and_proves_nothing_first() {
    let (sim, a) = common::setup().await;
    let (person, _, project) = common::seed(&sim);
    let mut old = sample_entry(&person, Some(&project), 0, 60, "last year");
    old.started_at = Utc::now() - Duration::days(400);
    old.ended_at = Some(old.started_at + Duration::hours(1));
    let old_id = sim.add_entry(&old);
    a.connect().await.unwrap();

    let first = a.read_trail(None).await.unwrap();
    assert!(first.gap.unwrap().contains("no trail position"));
    let position = first.position.expect("a position to start from");

    let mut fixed = old.clone();
    fixed.notes = Some("last year, corrected".into());
    assert!(sim.edit(&old_id, &Record::TimeEntry(fixed)));
    let read = a.read_trail(Some(&position)).await.unwrap();
    assert!(read.is_complete(), "{:?}", read.gap);
    assert!(read.changed[&Kind::TimeEntry].contains(&old_id));
    let held = read.records.iter().find(|r| r.id == old_id).unwrap();
    assert!(
        matches!(&held.record, Record::TimeEntry(e) if e.notes.as_deref() == Some("last year, corrected"))
    );
    assert!(read.covers.is_empty() && !read.sees_deletions);

    // A malformed position is no position: it proves nothing, and never panics.
    let bad = timeweave_contract::TrailPosition("not a time".into());
    assert!(a.read_trail(Some(&bad)).await.unwrap().gap.is_some());
}
