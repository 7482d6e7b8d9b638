//! The shared conformance suite of `timeweave_testsupport`, each case on a fresh
//! simulator: every case in the strictest configuration (`SimOptions::strictest`:
//! compact events, durations computed by the server, billing, billable and customer
//! parameters ignored, forms only, no search by external id, ...) and in the documented
//! defaults.

mod common;

use timeweave_testsupport::conformance;
use timeweave_trackingtime_sim::SimOptions;

macro_rules! suite {
    ($config:ident, $opts:expr) => {
        mod $config {
            use super::*;

            timeweave_testsupport::conformance_tests! {
                setup: common::setup_with($opts).await,
                pagination_default_page_size: 1500,
            }

            #[tokio::test]
            async fn pagination_over_many_pages() {
                let (sim, a) = common::setup_with($opts).await;
                let a = a.with_events_page_size(7);
                conformance::pagination(&a, &sim, 60).await;
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
    let (sim, a) = common::setup_with(SimOptions {
        search_returns_custom_fields: false,
        ..Default::default()
    })
    .await;
    conformance::lost_create_is_found(&a, &sim).await;
}
