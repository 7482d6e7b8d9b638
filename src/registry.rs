//! Builds the adapter of each configured provider instance: its transport (limiter with
//! every quota, retries, timeouts), its kind-specific settings, and the handle the engine
//! and the scheduler drive (mode, delete propagation, per-cycle request budget).

use std::sync::Arc;

use timeweave_contract::{Provider, ProviderError, Secret};
use timeweave_http::{Shutdown, Transport};

use crate::config::{ProviderConfig, ProviderKind, SecretOrigin};
use crate::schedule::{cron_interval, ScheduledProvider};
use crate::sync::scan::cycle_budget;
use crate::sync::ProviderHandle;

/// Why an instance's adapter could not be built; each names the instance.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("provider {0}: the config was loaded without secrets, for a ledger-only command")]
    NoSecrets(String),
    #[error("provider {0}: no time convention validated")]
    NoTimestamps(String),
    #[error("provider {provider}: cannot set up HTTP")]
    Transport {
        provider: String,
        #[source]
        source: ProviderError,
    },
    #[error("provider {provider}")]
    Adapter {
        provider: String,
        #[source]
        source: ProviderError,
    },
}

/// The engine's handle for one configured instance, whose waits never end early (tests,
/// benchmarks, the demo).
pub fn build(p: &ProviderConfig) -> Result<ProviderHandle, BuildError> {
    build_stoppable(p, &Shutdown::default())
}

/// The engine's handle for one configured instance, every wait of whose requests ends
/// when `shutdown` is triggered (SIGTERM).
pub fn build_stoppable(
    p: &ProviderConfig,
    shutdown: &Shutdown,
) -> Result<ProviderHandle, BuildError> {
    if p.api_secret_origin == SecretOrigin::NotRead {
        return Err(BuildError::NoSecrets(p.name.clone()));
    }
    let mut transport_config = p.transport_config();
    transport_config.shutdown = shutdown.clone();
    let transport = Transport::new(transport_config).map_err(|source| BuildError::Transport {
        provider: p.name.clone(),
        source,
    })?;
    let adapter = |source| BuildError::Adapter {
        provider: p.name.clone(),
        source,
    };
    let stats = transport.stats().clone();
    let provider: Arc<dyn Provider> = match p.kind {
        ProviderKind::TimeTrack => Arc::new(
            timeweave_timetrack::TimeTrackAdapter::new(
                timeweave_timetrack::Settings {
                    base_url: p.base_url.clone(),
                    api_key: p.api_key.clone().unwrap_or_else(|| Secret::new("")),
                    api_secret: p.api_secret.clone(),
                    attendances: p.attendances,
                    timestamps: p
                        .timestamps
                        .ok_or_else(|| BuildError::NoTimestamps(p.name.clone()))?,
                },
                transport,
            )
            .map_err(adapter)?,
        ),
        ProviderKind::TrackingTime => Arc::new(
            timeweave_trackingtime::TrackingTimeAdapter::new(
                timeweave_trackingtime::Settings {
                    base_url: p.base_url.clone(),
                    app_password: p.api_secret.clone(),
                    account_id: p.account_id,
                    contact: p.contact.clone().unwrap_or_default(),
                },
                transport,
            )
            .map_err(adapter)?,
        ),
        ProviderKind::TimeTracker => Arc::new(
            timeweave_timetracker::TimeTrackerAdapter::new(
                timeweave_timetracker::Settings {
                    base_url: p.base_url.clone(),
                    api_token: p.api_secret.clone(),
                },
                transport,
            )
            .map_err(adapter)?,
        ),
    };
    Ok(ProviderHandle {
        name: p.name.clone(),
        provider,
        stats: Some(stats),
        mode: p.mode,
        propagate_deletes: p.propagate_deletes,
        budget: cycle_budget(&p.quotas, cron_interval(&p.schedule)),
        push_concurrency: p.push_concurrency,
    })
}

/// The handle plus its schedule, for the daemon.
pub fn build_scheduled(
    p: &ProviderConfig,
    shutdown: &Shutdown,
) -> Result<ScheduledProvider, BuildError> {
    Ok(ScheduledProvider {
        handle: build_stoppable(p, shutdown)?,
        kind: p.kind.as_str().to_owned(),
        schedule: p.schedule.clone(),
        jitter: p.jitter,
    })
}
