//! The shared conformance suite of `timeweave_testsupport`, each case on a fresh
//! simulator: every case in the strictest configuration (`SimOptions::strictest`:
//! compact events, durations computed by the server, billing, billable and customer
//! parameters ignored, forms only, no search by external id, ...) and in the documented
//! defaults.

mod common;

use timeweave_testsupport::conformance;
use timeweave_trackingtime::TrackingTimeAdapter;
use timeweave_trackingtime_sim::SimOptions;

async fn on(opts: SimOptions) -> (timeweave_trackingtime_sim::SimServer, TrackingTimeAdapter) {
    let sim = common::sim(opts).await;
    let a = common::adapter(sim.settings());
    (sim, a)
}

macro_rules! suite {
    ($config:ident, $opts:expr) => {
        mod $config {
            use super::*;

            #[tokio::test]
            async fn entry_round_trip() {
                let (sim, a) = on($opts).await;
                conformance::entry_round_trip(&a, &sim).await;
            }

            #[tokio::test]
            async fn pagination_over_many_pages() {
                let (sim, a) = on($opts).await;
                let a = a.with_events_page_size(7);
                conformance::pagination(&a, &sim, 60).await;
            }

            #[tokio::test]
            async fn pagination_default_page_size() {
                let (sim, a) = on($opts).await;
                conformance::pagination(&a, &sim, 1500).await;
            }

            #[tokio::test]
            async fn window_bounds() {
                let (sim, a) = on($opts).await;
                conformance::window_bounds(&a, &sim).await;
            }

            #[tokio::test]
            async fn out_of_band_delete() {
                let (sim, a) = on($opts).await;
                conformance::out_of_band_delete(&a, &sim).await;
            }

            #[tokio::test]
            async fn lost_create_is_found() {
                let (sim, a) = on($opts).await;
                conformance::lost_create_is_found(&a, &sim).await;
            }

            #[tokio::test]
            async fn reference_kinds() {
                let (sim, a) = on($opts).await;
                conformance::reference_kinds(&a, &sim).await;
            }

            #[tokio::test]
            async fn declared_fields() {
                let (sim, a) = on($opts).await;
                conformance::declared_fields(&a, &sim).await;
            }
        }
    };
}

suite!(strictest, SimOptions::strictest());
suite!(documented, SimOptions::default());

/// Whether the real search answers custom fields is unknown (spec §8.2): without them the
/// adapter falls back to matching the same work, and must still find its lost create.
#[tokio::test]
async fn lost_create_is_found_when_the_search_returns_no_custom_fields() {
    let (sim, a) = on(SimOptions {
        search_returns_custom_fields: false,
        ..Default::default()
    })
    .await;
    conformance::lost_create_is_found(&a, &sim).await;
}
