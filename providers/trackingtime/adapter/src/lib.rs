//! TrackingTime v4 (trackingtime.co): the adapter, its JSON shapes and mapping. The simulator
//! is the `timeweave-trackingtime-sim` crate (`providers/trackingtime/simulator`).
//!
//! Module map:
//! - [`adapter`]: [`TrackingTimeAdapter`], the `Provider` implementation, with one module per
//!   job (requests, account discovery, listing, writes, webhook registration calls).
//! - `errors`: turns every HTTP answer into data or a typed `ProviderError`.
//! - `wire`: the JSON shapes TrackingTime sends, read leniently.
//! - `mapping`: wire shapes to canonical records and canonical records to request bodies.
//! - `zone`: `GMT±HH:MM` / IANA zones and the naive `yyyy-MM-dd HH:mm:ss` timestamps.
//! - `paging`: page tokens and the "stop when a page brings nothing new" rule.
//! - [`webhook`]: tolerant parsing of webhook callbacks into a "sync sooner" hint.
//! - `fixtures` (tests only): every documented sample in `fixtures/documented/` mapped.
//! - `mapping_props` (tests only): arbitrary and mutated JSON never panics the mapping.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod adapter;
mod errors;
#[cfg(test)]
mod fixtures;
mod mapping;
#[cfg(test)]
mod mapping_props;
mod observe;
mod paging;
mod trail;
pub mod webhook;
mod wire;
pub mod zone;

pub use adapter::{TrackingTimeAdapter, WebhookInfo, WebhookRegistration};
pub use webhook::{parse_webhook, WebhookHint};

/// The custom fields events carry their external id in; public for the simulator only.
#[doc(hidden)]
pub use mapping::{THIRD_PARTY_ID, THIRD_PARTY_SERVICE};

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

/// The User-Agent every request carries: `timeweave/<version> (<contact>)`.
pub fn user_agent(contact: &str) -> String {
    format!(
        "timeweave/{} ({})",
        env!("CARGO_PKG_VERSION"),
        contact.trim()
    )
}
