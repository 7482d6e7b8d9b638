//! The shared conformance suite of `timeweave_contract::testkit`, each case on a fresh
//! simulator.

mod common;

use timeweave_contract::testkit::conformance;

#[tokio::test]
async fn entry_round_trip() {
    let (sim, a) = common::setup().await;
    conformance::entry_round_trip(&a, &sim).await;
}

#[tokio::test]
async fn pagination_over_many_pages() {
    let (sim, a) = common::setup().await;
    let a = a.with_events_page_size(7);
    conformance::pagination(&a, &sim, 60).await;
}

#[tokio::test]
async fn pagination_default_page_size() {
    let (sim, a) = common::setup().await;
    conformance::pagination(&a, &sim, 1500).await;
}

#[tokio::test]
async fn window_bounds() {
    let (sim, a) = common::setup().await;
    conformance::window_bounds(&a, &sim).await;
}

#[tokio::test]
async fn out_of_band_delete() {
    let (sim, a) = common::setup().await;
    conformance::out_of_band_delete(&a, &sim).await;
}

#[tokio::test]
async fn lost_create_is_found() {
    let (sim, a) = common::setup().await;
    conformance::lost_create_is_found(&a, &sim).await;
}

/// Whether the real search answers custom fields is unknown (spec §8.2): without them the
/// adapter falls back to matching the same work, and must still find its lost create.
#[tokio::test]
async fn lost_create_is_found_when_the_search_returns_no_custom_fields() {
    let sim = common::sim(timeweave_trackingtime::sim::SimOptions {
        search_returns_custom_fields: false,
        ..Default::default()
    })
    .await;
    let a = common::adapter(sim.settings());
    conformance::lost_create_is_found(&a, &sim).await;
}

#[tokio::test]
async fn reference_kinds() {
    let (sim, a) = common::setup().await;
    conformance::reference_kinds(&a, &sim).await;
}

#[tokio::test]
async fn declared_fields() {
    let (sim, a) = common::setup().await;
    conformance::declared_fields(&a, &sim).await;
}
