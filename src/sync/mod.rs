//! Synchronisation: each provider instance against the ledger (hub and spoke), in the steps
//! of DESIGN.md §4. `engine` runs one cycle (connect, reconcile open intents, pull, deletions,
//! push, cursors, the `sync_runs` row); `scan` plans which windows it lists; the pull lists
//! (`pull`, `listing`), reads what the ledger holds (`observe`, `candidates`, `refs`), plans
//! each record (`plan`, pure) and applies the action (`apply`); `fetch` applies records read
//! by id; `deletions` weighs and settles what listings did not show; `push` sends the
//! ledger's changes.

mod apply;
mod binding;
mod candidates;
mod claim;
pub mod coverage;
mod deletions;
mod dry_run;
pub mod engine;
mod fetch;
mod listing;
mod observe;
pub mod plan;
mod pull;
mod push;
mod refs;
pub mod scan;
mod shared_email;
mod trail;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use timeweave_contract::Provider;
use timeweave_http::TransportStats;

use crate::config::{self, Config, Mode};

pub use apply::UNSYNCED;
pub use dry_run::DryRunCopy;
pub use engine::{CycleOptions, CycleReport, Engine, Progress, ProgressFn, StopFlag};
pub(crate) use shared_email::{email_of, holder_other_than};

/// The cross-provider settings of every cycle.
#[derive(Clone, Debug)]
pub struct SyncSettings {
    pub policy: plan::ConflictPolicy,
    pub guard: plan::MassDeleteGuard,
    pub scan: scan::ScanSettings,
    /// How old the last full listings may grow while a change trail proves it is complete.
    pub trail_safety_scan: Duration,
    /// Canonical e-mail -> instance -> remote username or id (config `[people]`).
    pub people: BTreeMap<String, BTreeMap<String, String>>,
}

impl SyncSettings {
    pub fn from_config(cfg: &Config) -> SyncSettings {
        Self::from_sync_config(&cfg.sync, cfg.people.clone())
    }

    /// What a config without a `[sync]` table or `[people]` gives (`SyncConfig::default()`:
    /// newest wins, the usual windows and guard), with the deep scan reaching back to
    /// `horizon`.
    pub fn defaults(horizon: DateTime<Utc>) -> SyncSettings {
        let mut settings = Self::from_sync_config(&config::SyncConfig::default(), BTreeMap::new());
        settings.scan.horizon = horizon;
        settings
    }

    fn from_sync_config(
        s: &config::SyncConfig,
        people: BTreeMap<String, BTreeMap<String, String>>,
    ) -> SyncSettings {
        let policy = match s.conflict_policy {
            config::ConflictPolicy::Newest => plan::ConflictPolicy::Newest,
            config::ConflictPolicy::Prefer => plan::ConflictPolicy::Prefer(s.prefer.clone()),
            config::ConflictPolicy::Manual => plan::ConflictPolicy::Manual,
        };
        SyncSettings {
            policy,
            guard: plan::MassDeleteGuard {
                max_fraction: s.mass_delete_max_fraction,
                min_count: s.mass_delete_min_count as usize,
            },
            scan: scan::ScanSettings {
                hot_back: Duration::days(s.hot_window_days_back.into()),
                hot_ahead: Duration::days(s.hot_window_days_ahead.into()),
                slice: Duration::days(s.deep_scan_slice_days.max(1).into()),
                horizon: Utc.from_utc_datetime(&s.deep_scan_horizon.and_time(NaiveTime::MIN)),
            },
            trail_safety_scan: Duration::hours(s.trail_safety_scan_hours.into()),
            people,
        }
    }
}

/// One provider instance as the engine drives it.
#[derive(Clone)]
pub struct ProviderHandle {
    /// The instance name (`[providers.<name>]`).
    pub name: String,
    pub provider: Arc<dyn Provider>,
    /// The transport's counters (requests, 429s) for the `sync_runs` row and metrics.
    pub stats: Option<Arc<TransportStats>>,
    pub mode: Mode,
    pub propagate_deletes: bool,
    /// Requests a scheduled cycle may spend (from quotas and schedule); `None`: unlimited.
    pub budget: Option<u32>,
    /// Time-entry writes in flight at once (1: one at a time).
    pub push_concurrency: usize,
}

impl ProviderHandle {
    /// An instance with every option at its config default (deletes propagated, no cycle
    /// budget, the default push concurrency) and no transport counters.
    pub fn new(name: impl Into<String>, provider: Arc<dyn Provider>, mode: Mode) -> Self {
        ProviderHandle {
            name: name.into(),
            provider,
            stats: None,
            mode,
            propagate_deletes: true,
            budget: None,
            push_concurrency: config::DEFAULT_PUSH_CONCURRENCY,
        }
    }
}

impl std::fmt::Debug for ProviderHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderHandle")
            .field("name", &self.name)
            .field("kind", &self.provider.kind_name())
            .field("mode", &self.mode)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config with one instance and nothing else: every other option at its default.
    pub(super) fn minimal_config() -> Config {
        let toml = r#"
            [providers.a]
            kind = "timetracker"
            base_url = "http://127.0.0.1:9"
            api_secret = "tt_0123456789abcdef0123456789abcdef"
        "#;
        crate::config::from_toml_str(toml).expect("the defaults validate")
    }

    #[test]
    fn the_defaults_are_what_a_config_without_sync_options_gives() {
        let configured = SyncSettings::from_config(&minimal_config());
        let defaults = SyncSettings::defaults(configured.scan.horizon);
        assert_eq!(format!("{defaults:?}"), format!("{configured:?}"));
    }

    #[test]
    fn a_new_handle_has_the_config_defaults_of_an_instance() {
        let config = minimal_config();
        let instance = &config.providers["a"];
        let provider = Arc::new(timeweave_testsupport::memory::MemoryProvider::new(7));
        let handle = ProviderHandle::new("a", provider, instance.mode);
        assert_eq!(handle.propagate_deletes, instance.propagate_deletes);
        assert_eq!(handle.push_concurrency, instance.push_concurrency);
        assert_eq!((handle.budget, handle.stats.is_none()), (None, true));
    }
}
