//! The daemon's configuration: defaults < TOML file < `TIMEWEAVE_*` environment (nested keys
//! split on `__`), loaded with figment, validated in full at load so that a bad config
//! fails at start-up with messages naming the key, where it came from and what is expected.
//!
//! Secrets come inline (`api_secret`, best from the environment) or from files
//! (`api_secret_file`, for systemd `LoadCredential=`), and are held as [`Secret`]s that never
//! print; commands that read only the ledger load it with [`Secrets::NotRead`]. `load`
//! requires at least one enabled provider: every command that reads the config talks to
//! providers or reports on their data (`demo` builds its own config).
//!
//! Submodules: `env` (the environment as a figment provider), `raw` (the serde shape),
//! `validate` (raw -> [`Config`]), `error` ([`ConfigError`]), `summary` (`timeweave check`).

mod env;
mod error;
mod raw;
pub mod summary;
mod timestamps;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use figment::providers::{Format, Toml};
use figment::Figment;
use serde::Deserialize;
use timeweave_contract::Secret;
use timeweave_http::Quota;

pub use crate::logging::LogFormat;
pub use env::{var_name, EnvProvider, Environment};
pub use error::{ConfigError, PathOrigin, Problem};
pub use validate::{valid_instance_name, validate_cron};

/// Where the config is read from when neither `--config` nor `TIMEWEAVE_CONFIG` is given.
pub const DEFAULT_PATH: &str = "/etc/timeweave/config.toml";
/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "TIMEWEAVE_CONFIG";
/// Every provider's default schedule: every five minutes, on the minute (UTC).
pub const DEFAULT_SCHEDULE: &str = "0 */5 * * * *";
/// Time-entry writes a provider instance has in flight at once, unless configured: with
/// a real provider's round trip of a tenth of a second or more, one at a time leaves most
/// of a quota unused during a migration.
pub const DEFAULT_PUSH_CONCURRENCY: usize = 4;
pub const MAX_PUSH_CONCURRENCY: usize = 32;
/// The longest `Retry-After` wait honoured per instance by default (`max_pause_seconds`).
pub const DEFAULT_MAX_PAUSE_SECONDS: u64 = 15 * 60;
/// The largest response body read per instance by default (`max_response_mib`).
pub const DEFAULT_MAX_RESPONSE_MIB: u64 = 64;
/// TrackingTime's documented API root.
pub const TRACKINGTIME_DEFAULT_BASE_URL: &str = "https://api.trackingtime.co/api/v4";

/// The whole, validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from (`None` when built from a string or figment).
    pub source: Option<PathBuf>,
    pub ledger: LedgerConfig,
    pub log: LogConfig,
    pub server: ServerConfig,
    pub sync: SyncConfig,
    pub report: ReportConfig,
    /// Explicit person mapping: canonical e-mail (lower-case) -> provider instance -> the
    /// remote username or id of that person in that instance.
    pub people: BTreeMap<String, BTreeMap<String, String>>,
    /// Provider instances by name (enabled and disabled).
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Not errors, but worth fixing (an inline secret, a secret file others can read):
    /// `key: message`, logged at start-up and printed by `check`. Never a secret's value.
    pub warnings: Vec<String>,
}

impl Config {
    /// How long a provider instance's lease on a shared PostgreSQL ledger lasts unless
    /// renewed: `[ledger] lease_ttl_seconds`, else [`default_lease_ttl`] of the enabled
    /// instances' schedules.
    pub fn lease_ttl(&self) -> Duration {
        self.ledger.lease_ttl.unwrap_or_else(|| {
            default_lease_ttl(
                self.enabled_providers()
                    .map(|p| crate::schedule::cron_interval(&p.schedule)),
            )
        })
    }

    /// The enabled provider instances, in name order.
    pub fn enabled_providers(&self) -> impl Iterator<Item = &ProviderConfig> {
        self.providers.values().filter(|p| p.enabled)
    }

    /// The instances a command works on: those named (`--provider NAME`, in the order
    /// given, each once), or every enabled one when `names` is empty. A name that is not
    /// configured, or is disabled, is an error that lists the usable names.
    pub fn select_providers(&self, names: &[String]) -> Result<Vec<&ProviderConfig>, SelectError> {
        if names.is_empty() {
            return Ok(self.enabled_providers().collect());
        }
        let enabled = || {
            self.enabled_providers()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out: Vec<&ProviderConfig> = Vec::new();
        for name in names {
            match self.providers.get(name) {
                None => {
                    return Err(SelectError::Unknown {
                        name: name.clone(),
                        known: enabled(),
                    })
                }
                Some(p) if !p.enabled => {
                    return Err(SelectError::Disabled {
                        name: name.clone(),
                        known: enabled(),
                    })
                }
                Some(p) if out.iter().any(|q| q.name == p.name) => {}
                Some(p) => out.push(p),
            }
        }
        Ok(out)
    }
}

/// A `--provider NAME` that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error(
        "--provider {name}: no such provider instance in the config; enabled instances: {known}"
    )]
    Unknown { name: String, known: String },
    #[error(
        "--provider {name}: the instance is disabled (enabled = false); enabled instances: {known}"
    )]
    Disabled { name: String, known: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerConfig {
    /// The SQLite file. Default: `$STATE_DIRECTORY/ledger.db` under systemd, else
    /// `./timeweave.db`. Unused when `postgres` is set.
    pub path: PathBuf,
    /// `[ledger] url`: the ledger is in this PostgreSQL database instead of `path`.
    pub postgres: Option<PostgresLedger>,
    /// `[ledger] lease_ttl_seconds`; `None`: [`default_lease_ttl`] of the schedules (see
    /// [`Config::lease_ttl`]).
    pub lease_ttl: Option<Duration>,
    /// Days of history kept (`sync_runs` rows, resolved conflicts); default 90.
    pub history_days: u32,
}

impl LedgerConfig {
    pub const DEFAULT_HISTORY_DAYS: u32 = 90;
    /// The longest `lease_ttl_seconds` accepted: an hour.
    pub const MAX_LEASE_TTL_SECONDS: u64 = 3600;
}

/// A PostgreSQL ledger: where, and the role's password (never in the URL, never printed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresLedger {
    /// `postgres://user@host:port/database[?sslmode=...]`, validated, without a password.
    pub url: url::Url,
    /// `password` / `password_file`; `None`: the server needs none (trust, peer, a
    /// `.pgpass` file), or the config was loaded without secrets.
    pub password: Option<Secret>,
    pub password_origin: Option<SecretOrigin>,
}

/// The longest default lease: a process that dies loses its instances within this.
pub const MAX_DEFAULT_LEASE_TTL: Duration = Duration::from_secs(5 * 60);

/// The default `lease_ttl`: twice the longest of `intervals` (the schedules' intervals), at
/// most [`MAX_DEFAULT_LEASE_TTL`]; that maximum when there are none.
pub fn default_lease_ttl(intervals: impl IntoIterator<Item = Duration>) -> Duration {
    intervals
        .into_iter()
        .max()
        .map_or(MAX_DEFAULT_LEASE_TTL, |longest| {
            longest.saturating_mul(2).min(MAX_DEFAULT_LEASE_TTL)
        })
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportConfig {
    /// The ISO 4217 code amounts are shown in (`EUR`); `None`: amounts without a currency.
    /// timeweave never converts: the ledger's rates are in the providers' own currency.
    pub currency: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing `EnvFilter` directive, e.g. `info` or `info,timeweave::sync=debug`.
    pub level: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where `/healthz` and `/metrics` are served; `None`: no HTTP listener.
    pub listen: Option<SocketAddr>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SyncConfig {
    pub conflict_policy: ConflictPolicy,
    /// Provider instances in order of preference (only with `ConflictPolicy::Prefer`,
    /// validated to name existing instances).
    pub prefer: Vec<String>,
    /// Default for every provider's `propagate_deletes`.
    pub propagate_deletes: bool,
    pub hot_window_days_back: u32,
    pub hot_window_days_ahead: u32,
    pub deep_scan_slice_days: u32,
    /// Where a provider cannot tell its oldest entry, the deep scan walks back to this date
    /// and then starts over.
    pub deep_scan_horizon: NaiveDate,
    /// Where a provider's change trail proves it lists every change, the full listings
    /// (reference kinds, the deep scan's slice) run only when the last ones are this many
    /// hours old: the safety net for changes no trail records.
    pub trail_safety_scan_hours: u32,
    /// Mass-delete guard: a cycle stops instead of deleting more than this fraction of a
    /// window ...
    pub mass_delete_max_fraction: f64,
    /// ... when it would also delete at least this many records.
    pub mass_delete_min_count: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            conflict_policy: ConflictPolicy::Newest,
            prefer: Vec::new(),
            propagate_deletes: true,
            hot_window_days_back: 35,
            hot_window_days_ahead: 7,
            deep_scan_slice_days: 30,
            deep_scan_horizon: NaiveDate::from_ymd_opt(2015, 1, 1).expect("valid date"),
            trail_safety_scan_hours: 6,
            mass_delete_max_fraction: 0.2,
            mass_delete_min_count: 10,
        }
    }
}

/// How a conflict (both sides changed, differently) is settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConflictPolicy {
    /// The most recently modified version wins.
    Newest,
    /// The version from the first instance in `sync.prefer` wins.
    Prefer,
    /// The ledger keeps its value; the conflict waits for `timeweave conflicts resolve`.
    Manual,
}

impl ConflictPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::Newest => "newest",
            ConflictPolicy::Prefer => "prefer",
            ConflictPolicy::Manual => "manual",
        }
    }
}

/// The provider products timeweave speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProviderKind {
    /// TimeTrack v2 (timetrackenterprise.com).
    TimeTrack,
    /// TrackingTime v4 (trackingtime.co).
    TrackingTime,
    /// TimeTracker v1 (self-hosted DRYTRIX/TimeTracker).
    TimeTracker,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::TimeTrack,
        ProviderKind::TrackingTime,
        ProviderKind::TimeTracker,
    ];

    /// The name used in config files (`kind = "..."`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::TimeTrack => "timetrack",
            ProviderKind::TrackingTime => "trackingtime",
            ProviderKind::TimeTracker => "timetracker",
        }
    }

    pub fn parse(name: &str) -> Option<ProviderKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// What `api_secret` is for this kind, in the provider's own words.
    pub fn secret_description(self) -> &'static str {
        match self {
            ProviderKind::TimeTrack => "the TimeTrack API secret (X-TimeTrack-Api-Secret)",
            ProviderKind::TrackingTime => "the TrackingTime app password",
            ProviderKind::TimeTracker => "the TimeTracker API token (tt_...)",
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way records flow between a provider instance and the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Read only: the provider is a source.
    Pull,
    /// Write only: the provider is a target (e.g. a migration).
    Push,
    /// Both ways.
    Both,
}

impl Mode {
    pub fn pulls(self) -> bool {
        matches!(self, Mode::Pull | Mode::Both)
    }
    pub fn pushes(self) -> bool {
        matches!(self, Mode::Push | Mode::Both)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Pull => "pull",
            Mode::Push => "push",
            Mode::Both => "both",
        }
    }
}

/// Where a secret was read from (for `timeweave check`; never the value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretOrigin {
    /// `*_file = PATH` (e.g. a systemd credential).
    File(PathBuf),
    /// A `TIMEWEAVE_*` environment variable.
    Env(String),
    /// Written inline in this config file.
    ConfigFile(PathBuf),
    /// Given inline in a config built from a string or figment.
    Inline,
    /// Not read: the config was loaded for a command that needs no secrets.
    NotRead,
}

impl std::fmt::Display for SecretOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretOrigin::File(p) => write!(f, "from file {}", p.display()),
            SecretOrigin::Env(var) => write!(f, "from env {var}"),
            SecretOrigin::ConfigFile(p) => write!(f, "inline in {}", p.display()),
            SecretOrigin::Inline => f.write_str("inline"),
            SecretOrigin::NotRead => f.write_str("not read (this command needs no secrets)"),
        }
    }
}

/// One provider instance, validated, with defaults applied.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// The instance name (`[providers.<name>]`): lowercase `[a-z0-9_-]`.
    pub name: String,
    pub kind: ProviderKind,
    pub enabled: bool,
    /// Without a trailing slash.
    pub base_url: String,
    pub mode: Mode,
    /// Cron with seconds (6 fields), evaluated in UTC.
    pub schedule: String,
    /// A random delay of up to this much before each scheduled cycle.
    pub jitter: Duration,
    /// Every rate quota of this instance (all apply).
    pub quotas: Vec<Quota>,
    pub timeout: Duration,
    pub max_retries: usize,
    /// The longest wait a provider may impose (`Retry-After`); more fails the cycle.
    pub max_pause: Duration,
    /// The largest response body read; a larger one fails the request.
    pub max_response_bytes: u64,
    /// Time-entry writes in flight at once (within the quotas).
    pub push_concurrency: usize,
    /// TimeTrack's API key (`X-TimeTrack-Api-Key`); `None` for other kinds.
    pub api_key: Option<Secret>,
    /// The TimeTrack API secret / TrackingTime app password / TimeTracker token.
    pub api_secret: Secret,
    /// TrackingTime workspace id; `None`: discover with `GET /me`.
    pub account_id: Option<i64>,
    /// TrackingTime: contact e-mail or URL for the User-Agent.
    pub contact: Option<String>,
    /// TimeTrack: also sync attendances (entries without a project).
    pub attendances: bool,
    /// TimeTrack: how its `...Z` times are meant (`timestamps`, `time_zone`); `None` for
    /// other kinds.
    pub timestamps: Option<timeweave_timetrack::Timestamps>,
    /// Resolved with the `[sync]` default.
    pub propagate_deletes: bool,
    pub api_secret_origin: SecretOrigin,
    pub api_key_origin: Option<SecretOrigin>,
    /// TrackingTime: the token `POST /webhooks/<instance>` callbacks must carry; `None`:
    /// webhooks for this instance are refused.
    pub webhook_secret: Option<Secret>,
}

impl ProviderConfig {
    /// The HTTP transport settings of this instance: its name, timeout, retries, longest
    /// pause, body bound, every quota and the secrets it must never quote; connect timeout and backoff keep the transport's
    /// defaults (the connect timeout never exceeds the request timeout). The shutdown
    /// broadcast is the registry's to set.
    pub fn transport_config(&self) -> timeweave_http::TransportConfig {
        let mut t = timeweave_http::TransportConfig::new(self.name.clone());
        t.timeout = self.timeout;
        t.connect_timeout = t.connect_timeout.min(self.timeout);
        t.max_retries = self.max_retries;
        t.max_retry_after = self.max_pause;
        t.max_response_bytes = self.max_response_bytes;
        t.quotas = self.quotas.clone();
        t.secrets = [
            Some(&self.api_secret),
            self.api_key.as_ref(),
            self.webhook_secret.as_ref(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        t
    }
}

/// The rate quotas a kind gets when its instance has no `[rate_limit]` table: TimeTrack's
/// documented 30/min, TrackingTime's self-imposed 2/s (no published limit), TimeTracker's
/// server defaults of 100/min and 1000/h.
pub fn default_quotas(kind: ProviderKind) -> Vec<Quota> {
    match kind {
        ProviderKind::TimeTrack => vec![Quota::per_minute(30)],
        ProviderKind::TrackingTime => vec![Quota::per_second(2)],
        ProviderKind::TimeTracker => vec![Quota::per_minute(100), Quota::per_hour(1000)],
    }
}

/// The config file to read: `--config`, else `TIMEWEAVE_CONFIG`, else [`DEFAULT_PATH`].
pub fn resolve_path(flag: Option<&Path>, env: &Environment) -> (PathBuf, PathOrigin) {
    if let Some(p) = flag {
        return (p.to_path_buf(), PathOrigin::Flag);
    }
    match env.get(CONFIG_ENV).filter(|v| !v.is_empty()) {
        Some(p) => (PathBuf::from(p), PathOrigin::EnvVar),
        None => (PathBuf::from(DEFAULT_PATH), PathOrigin::Default),
    }
}

/// Whether a command talks to providers and so needs their secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrets {
    /// Every enabled provider's secrets are read and must be set.
    Required,
    /// Commands that read only the ledger (`status`, `report`, `export`, `conflicts`,
    /// `migrate`): secrets are neither read nor required, so an operator without access to
    /// the credentials can run them. Their [`ProviderConfig`]s hold no usable secret.
    NotRead,
}

/// Loads and validates the config: the file from `path` (the `--config` flag), else
/// `TIMEWEAVE_CONFIG`, else `/etc/timeweave/config.toml`, overridden by `TIMEWEAVE_*`
/// variables of this process.
pub fn load(path: Option<&Path>, secrets: Secrets) -> Result<Config, ConfigError> {
    let env = Environment::from_process();
    let (path, origin) = resolve_path(path, &env);
    load_file_with(&path, origin, &env, secrets)
}

/// [`load`] with an explicit file and environment, secrets required.
pub fn load_file(
    path: &Path,
    origin: PathOrigin,
    env: &Environment,
) -> Result<Config, ConfigError> {
    load_file_with(path, origin, env, Secrets::Required)
}

/// [`load_file`], saying whether secrets are needed.
pub fn load_file_with(
    path: &Path,
    origin: PathOrigin,
    env: &Environment,
    secrets: Secrets,
) -> Result<Config, ConfigError> {
    match std::fs::File::open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::NotFound {
                path: path.to_path_buf(),
                origin,
            })
        }
        Err(source) => {
            return Err(ConfigError::Unreadable {
                path: path.to_path_buf(),
                source,
            })
        }
    }
    if path.is_dir() {
        return Err(ConfigError::Unreadable {
            path: path.to_path_buf(),
            source: std::io::Error::other("is a directory, not a file"),
        });
    }
    let figment = Figment::new()
        .merge(Toml::file_exact(path))
        .merge(env.provider());
    let raw = extract(&figment)?;
    validate::validate(raw, &figment, Some(path.to_path_buf()), env, secrets)
}

/// Loads from TOML text alone (no file, no environment overrides): for tests and `demo`.
pub fn from_toml_str(toml: &str) -> Result<Config, ConfigError> {
    let env = Environment::empty();
    from_figment(&Figment::from(Toml::string(toml)), None, &env)
}

/// Validates whatever a figment holds. `env` supplies `STATE_DIRECTORY` and
/// `CREDENTIALS_DIRECTORY` (its `TIMEWEAVE_*` variables are only used if the figment
/// merged `env.provider()`).
pub fn from_figment(
    figment: &Figment,
    source: Option<PathBuf>,
    env: &Environment,
) -> Result<Config, ConfigError> {
    validate::validate(extract(figment)?, figment, source, env, Secrets::Required)
}

fn extract(figment: &Figment) -> Result<raw::RawConfig, ConfigError> {
    figment
        .extract()
        .map_err(|e| ConfigError::Invalid(error::from_figment(e)))
}
