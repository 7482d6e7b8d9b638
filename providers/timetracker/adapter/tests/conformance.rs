//! The shared `Provider` conformance suite, each function on a fresh simulator in its
//! strictest configuration (`SimOptions::strictest`: every observed quirk on, the real
//! quotas enforced), the adapter paced by the server's own quotas.

mod common;

use timeweave_testsupport::conformance;

#[tokio::test]
async fn entry_round_trip() {
    let (sim, a) = common::strictest().await;
    conformance::entry_round_trip(&a, &sim).await;
}

#[tokio::test]
async fn pagination() {
    let (sim, a) = common::strictest().await;
    conformance::pagination(&a, &sim, 250).await;
}

#[tokio::test]
async fn window_bounds() {
    let (sim, a) = common::strictest().await;
    conformance::window_bounds(&a, &sim).await;
}

#[tokio::test]
async fn out_of_band_delete() {
    let (sim, a) = common::strictest().await;
    conformance::out_of_band_delete(&a, &sim).await;
}

#[tokio::test]
async fn lost_create_is_found() {
    let (sim, a) = common::strictest().await;
    conformance::lost_create_is_found(&a, &sim).await;
}

#[tokio::test]
async fn reference_kinds() {
    let (sim, a) = common::strictest().await;
    conformance::reference_kinds(&a, &sim).await;
}

#[tokio::test]
async fn declared_fields() {
    let (sim, a) = common::strictest().await;
    conformance::declared_fields(&a, &sim).await;
}
