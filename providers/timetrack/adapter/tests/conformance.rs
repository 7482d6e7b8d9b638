//! The contract's conformance suite, each case on a fresh, unthrottled simulator.

mod common;

use timeweave_testsupport::conformance;
use timeweave_timetrack_sim::{
    CreateAnswer, ForbiddenField, FromToSemantics, LimitAboveMax, SimOptions, UpdateAnswer,
};

timeweave_testsupport::conformance_tests! {
    setup: common::setup(SimOptions::unthrottled(), false).await,
    pagination_over_two_thousand: 2_100,
}

#[tokio::test]
async fn conformance_with_attendances_on() {
    // Attendances add a second listing phase; the suite must still hold.
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), true).await;
    conformance::entry_round_trip(&adapter, &sim).await;
    conformance::window_bounds(&adapter, &sim).await;
}

/// Every (A) switch in its strict or least helpful position, with the realistic wall-clock
/// time convention; only the throttle is off (it is `throttle.rs`'s subject, and 30
/// requests a minute would make this suite take minutes).
fn strict() -> SimOptions {
    SimOptions {
        reject_unknown_params: true,
        accept_user_param_alias: false,
        limit_above_max: LimitAboveMax::Reject,
        name_filter_case_sensitive: true,
        entry_name_filter_substring: true,
        deleted_listed: true,
        create_answer: CreateAnswer::Empty,
        update_answer: UpdateAnswer::Empty,
        deleted_answers_15020_on_write: false,
        attendance_aliases: false,
        forbidden_update_field: ForbiddenField::Reject,
        project_requires_existing_client: true,
        entry_unknown_task_rejected: true,
        derive_worked_minutes: true,
        ..SimOptions::unthrottled()
    }
}

/// The adapter must not lean on any lenient assumption: the whole suite, `declared_fields`
/// included, against the strictest simulator (attendances on: a second listing phase).
#[tokio::test]
async fn conformance_against_a_strict_simulator() {
    let (sim, adapter) = common::setup(strict(), true).await;
    conformance::entry_round_trip(&adapter, &sim).await;
    let (sim, adapter) = common::setup(strict(), true).await;
    conformance::lost_create_is_found(&adapter, &sim).await;
    let (sim, adapter) = common::setup(strict(), true).await;
    conformance::reference_kinds(&adapter, &sim).await;
    let (sim, adapter) = common::setup(strict(), true).await;
    conformance::pagination(&adapter, &sim, 1_500).await;
    let (sim, adapter) = common::setup(strict(), true).await;
    conformance::out_of_band_delete(&adapter, &sim).await;
    let (sim, adapter) = common::setup(strict(), true).await;
    conformance::declared_fields(&adapter, &sim).await;
}

/// Window listings are complete and exact whatever `from`/`to` mean on the server (§4.13).
#[tokio::test]
async fn window_bounds_under_every_from_to_reading() {
    for from_to in [
        FromToSemantics::StartInclusive,
        FromToSemantics::StartHalfOpen,
        FromToSemantics::Overlap,
        FromToSemantics::Contained,
    ] {
        let (sim, adapter) = common::setup(
            SimOptions {
                from_to,
                ..strict()
            },
            true,
        )
        .await;
        conformance::window_bounds(&adapter, &sim).await;
    }
}
