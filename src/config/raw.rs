//! The config file's shape as serde sees it: every key optional (defaults are applied in
//! `validate`), unknown keys rejected so a typo is an error instead of a silent default.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use super::{ConflictPolicy, Mode};
use crate::logging::LogFormat;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub ledger: RawLedger,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub sync: RawSync,
    #[serde(default)]
    pub report: RawReport,
    #[serde(default)]
    pub people: BTreeMap<String, BTreeMap<String, Scalar>>,
    #[serde(default)]
    pub providers: BTreeMap<String, RawProvider>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLedger {
    pub path: Option<PathBuf>,
    pub url: Option<String>,
    pub password: Option<Scalar>,
    pub password_file: Option<PathBuf>,
    pub lease_ttl_seconds: Option<u64>,
    pub history_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReport {
    pub currency: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    pub format: Option<LogFormat>,
    pub level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub listen: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSync {
    pub conflict_policy: Option<ConflictPolicy>,
    pub prefer: Option<Vec<String>>,
    pub propagate_deletes: Option<bool>,
    pub hot_window_days_back: Option<u32>,
    pub hot_window_days_ahead: Option<u32>,
    pub deep_scan_slice_days: Option<u32>,
    pub deep_scan_horizon: Option<DateText>,
    pub trail_safety_scan_hours: Option<u32>,
    pub mass_delete_max_fraction: Option<f64>,
    pub mass_delete_min_count: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    pub kind: Option<String>,
    pub enabled: Option<bool>,
    pub base_url: Option<String>,
    pub mode: Option<Mode>,
    pub schedule: Option<String>,
    pub jitter_seconds: Option<u64>,
    pub api_secret: Option<Scalar>,
    pub api_secret_file: Option<PathBuf>,
    pub api_key: Option<Scalar>,
    pub api_key_file: Option<PathBuf>,
    pub webhook_secret: Option<Scalar>,
    pub webhook_secret_file: Option<PathBuf>,
    pub account_id: Option<i64>,
    pub contact: Option<String>,
    pub attendances: Option<bool>,
    pub timestamps: Option<String>,
    pub time_zone: Option<String>,
    pub propagate_deletes: Option<bool>,
    pub rate_limit: Option<RawRateLimit>,
    pub timeout_seconds: Option<u64>,
    pub max_retries: Option<usize>,
    pub max_pause_seconds: Option<u64>,
    pub max_response_mib: Option<u64>,
    pub push_concurrency: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateLimit {
    pub per_second: Option<u32>,
    pub per_minute: Option<u32>,
    pub per_hour: Option<u32>,
}

/// A value that is text to us but may arrive typed: an environment variable `12345` is
/// parsed as a number, a TOML date as a date. Its `Display` is the text.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scalar {
    Text(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Text(s) => f.write_str(s),
            Scalar::Int(n) => write!(f, "{n}"),
            Scalar::UInt(n) => write!(f, "{n}"),
            Scalar::Float(n) => write!(f, "{n}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Never shows the value: a `Scalar` may hold a secret.
impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scalar(..)")
    }
}

/// A date given as a string or as a TOML date literal (which reaches serde as a one-key
/// table holding its text).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum DateText {
    Text(String),
    Toml {
        #[serde(rename = "$__toml_private_datetime")]
        text: String,
    },
}

impl DateText {
    pub fn text(&self) -> &str {
        match self {
            DateText::Text(t) | DateText::Toml { text: t } => t,
        }
    }
}
