//! TimeTracker v1 (the self-hosted open-source server, DRYTRIX/TimeTracker): the adapter
//! (`adapter`), its JSON shapes (`wire`) and mapping (`mapping`), time-zone handling (`time`),
//! error mapping (`errors`), what a token may do (`observe`) and the server's `if_updated_at` tolerance (`tolerance`). The
//! simulator is the `timeweave-timetracker-sim` crate (`providers/timetracker/simulator`).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
#![recursion_limit = "256"]

pub mod adapter;

// Public only so the crate's own integration tests (the recorded samples) and the simulator
// can reach the adapter's JSON types, mapping and time handling; not part of the supported
// surface.
#[doc(hidden)]
pub mod errors;
#[doc(hidden)]
pub mod mapping;
mod observe;
mod paging;
mod references;
#[doc(hidden)]
pub mod time;
mod tolerance;
#[doc(hidden)]
pub mod trail;
#[doc(hidden)]
pub mod wire;

pub use adapter::TimeTrackerAdapter;

use timeweave_contract::Secret;
use timeweave_http::Quota;

/// The provider kind name used in config files (`kind = "timetracker"`).
pub const KIND: &str = "timetracker";

/// What the adapter needs from the config.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The server's root URL, e.g. `https://tt.example.com`. The adapter appends `/api/v1`;
    /// a URL already ending in `/api/v1` is accepted as well. Plain `http` only for loopback.
    pub base_url: String,
    /// The API token (`tt_…`), sent as `Authorization: Bearer`.
    pub api_token: Secret,
}

/// The server's documented per-token defaults: 100 per minute and 1000 per hour (both are
/// server settings, `API_TOKEN_RATE_LIMIT_PER_MINUTE/HOUR`: configure the quotas to match).
pub fn default_quotas() -> Vec<Quota> {
    vec![Quota::per_minute(100), Quota::per_hour(1000)]
}
