//! TimeTrack v2 (timetrackenterprise.com, API `/api/v2/ext`): the adapter, its JSON shapes
//! and name-based mapping. The simulator is the `timeweave-timetrack-sim` crate
//! (`providers/timetrack/simulator`).
//!
//! Public surface: [`Settings`], [`default_quotas`], [`KIND`], [`TimeTrackAdapter`] (the
//! `timeweave_contract::Provider`). Provider JSON never leaves this crate.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod adapter;
mod directory;
mod errors;
mod observe;
mod paging;
mod wire;

// Public only so the simulator (`timeweave-timetrack-sim`) reads and writes timestamps, ids
// and loose JSON the way the adapter does; not part of the supported surface.
#[doc(hidden)]
pub mod clock;
#[doc(hidden)]
pub mod lenient;
#[doc(hidden)]
pub mod mapping;

pub use adapter::TimeTrackAdapter;
pub use chrono_tz::Tz;
pub use clock::Timestamps;

use timeweave_contract::Secret;
use timeweave_http::Quota;

/// The provider kind name used in config files (`kind = "timetrack"`).
pub const KIND: &str = "timetrack";

/// What the adapter needs from the config.
#[derive(Clone, Debug)]
pub struct Settings {
    /// e.g. `https://acme.timetrackenterprise.com/api/v2/ext` (with or without a trailing
    /// slash). HTTPS is required except for loopback addresses.
    pub base_url: String,
    /// Sent as `X-TimeTrack-Api-Key`.
    pub api_key: Secret,
    /// Sent as `X-TimeTrack-Api-Secret`.
    pub api_secret: Secret,
    /// Sync attendances (entries without a project) as canonical `attendance` entries.
    pub attendances: bool,
    /// How `...Z` timestamps are meant (evidence K1): wall-clock time in the account's zone
    /// (`Timestamps::Local`, what TimeTrack most likely does) or UTC.
    pub timestamps: Timestamps,
}

/// The documented limit: 30 requests per minute per key.
pub fn default_quotas() -> Vec<Quota> {
    vec![Quota::per_minute(30)]
}
