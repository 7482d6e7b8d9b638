//! TrackingTime v4 (trackingtime.co): the adapter, its JSON shapes and mapping, and a
//! simulator (`sim`) faithful to `shared/providers/trackingtime-v4.md`.
//!
//! (Being built: see issue 4.)

use timeweave_contract::Secret;
use timeweave_http::Quota;

/// The provider kind name used in config files (`kind = "trackingtime"`).
pub const KIND: &str = "trackingtime";

/// The documented default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.trackingtime.co/api/v4";

/// What the adapter needs from the config.
#[derive(Clone, Debug)]
pub struct Settings {
    /// e.g. `https://api.trackingtime.co/api/v4` (or the older `app.` host).
    pub base_url: String,
    /// The App Password, sent as HTTP Basic `API_TOKEN:<app password>`.
    pub app_password: Secret,
    /// The workspace; `None` means discover it with `GET /me` (refusing to guess among
    /// several workspaces).
    pub account_id: Option<i64>,
    /// Contact e-mail or URL for the User-Agent the API docs require.
    pub contact: String,
}

/// No limit is published; we throttle ourselves to 2 requests per second.
pub fn default_quotas() -> Vec<Quota> {
    vec![Quota::per_second(2)]
}
