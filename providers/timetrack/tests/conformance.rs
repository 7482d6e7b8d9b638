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

/// The adapter must not lean on any lenient assumption: the same suite against a simulator
/// with every (A) switch in its strict or least helpful position.
#[tokio::test]
async fn conformance_against_a_strict_simulator() {
    use timeweave_timetrack::sim::{CreateAnswer, LimitAboveMax, UpdateAnswer};
    let strict = || SimOptions {
        reject_unknown_params: true,
        accept_user_param_alias: false,
        limit_above_max: LimitAboveMax::Reject,
        name_filter_case_sensitive: true,
        create_answer: CreateAnswer::Empty,
        update_answer: UpdateAnswer::Empty,
        deleted_answers_15020_on_write: false,
        attendance_aliases: false,
        ..SimOptions::unthrottled()
    };
    let (sim, adapter) = common::setup(strict(), true).await;
    conformance::entry_round_trip(&adapter, &sim).await;
    let (sim, adapter) = common::setup(strict(), true).await;
    conformance::lost_create_is_found(&adapter, &sim).await;
    let (sim, adapter) = common::setup(strict(), true).await;
    conformance::reference_kinds(&adapter, &sim).await;
    let (sim, adapter) = common::setup(strict(), true).await;
    conformance::pagination(&adapter, &sim, 1_500).await;
}

#[tokio::test]
async fn declared_fields() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    conformance::declared_fields(&adapter, &sim).await;
}
