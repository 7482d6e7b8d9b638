//! The shared `Provider` conformance suite, each function on a fresh simulator in its
//! strictest configuration (`SimOptions::strictest`: every observed quirk on, the real
//! quotas enforced), the adapter paced by the server's own quotas.

mod common;

timeweave_testsupport::conformance_tests! {
    setup: common::strictest().await,
    pagination: 250,
}
