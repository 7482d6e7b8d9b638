//! The contract's conformance suite, each case on a fresh, unthrottled simulator.

mod common;

use timeweave_contract::testkit::conformance;
use timeweave_timetrack::sim::SimOptions;

#[tokio::test]
async fn entry_round_trip() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    conformance::entry_round_trip(&adapter, &sim).await;
}

#[tokio::test]
async fn pagination_over_two_thousand() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    conformance::pagination(&adapter, &sim, 2_100).await;
}

#[tokio::test]
async fn window_bounds() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    conformance::window_bounds(&adapter, &sim).await;
}

#[tokio::test]
async fn out_of_band_delete() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    conformance::out_of_band_delete(&adapter, &sim).await;
}

#[tokio::test]
async fn lost_create_is_found() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    conformance::lost_create_is_found(&adapter, &sim).await;
}

#[tokio::test]
async fn reference_kinds() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    conformance::reference_kinds(&adapter, &sim).await;
}

#[tokio::test]
async fn conformance_with_attendances_on() {
    // Attendances add a second listing phase; the suite must still hold.
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), true).await;
    conformance::entry_round_trip(&adapter, &sim).await;
    conformance::window_bounds(&adapter, &sim).await;
}
