//! TimeTracker v1 (the self-hosted open-source server, DRYTRIX/TimeTracker): the adapter
//! (`adapter`), its JSON shapes and mapping, and a simulator (`sim`) faithful to
//! `shared/providers/timetracker-v1.md`, bugs included.
//!
//! (Being built: see issue 3.)

use timeweave_contract::Secret;
use timeweave_http::Quota;

/// The provider kind name used in config files (`kind = "timetracker"`).
pub const KIND: &str = "timetracker";

/// What the adapter needs from the config.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The server's root URL, e.g. `https://tt.example.com` (the adapter appends `/api/v1`).
    pub base_url: String,
    /// The API token (`tt_…`), sent as `Authorization: Bearer`.
    pub api_token: Secret,
}

/// The server's documented per-token defaults: 100 per minute and 1000 per hour.
pub fn default_quotas() -> Vec<Quota> {
    vec![Quota::per_minute(100), Quota::per_hour(1000)]
}
