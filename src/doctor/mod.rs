//! `timeweave doctor`: proves a configuration against the live accounts, read-only. Per
//! selected instance a list of findings (✓ / ⚠ / ✗, what was seen, the fix), one file per
//! family of checks; the binary's edge only prints them and writes the redacted JSON.

mod account;
mod credentials;
mod history;
pub mod json;
mod ledger;
mod observations;
mod probe;
mod rate;
mod reach;
mod reading;
pub mod render;
mod rights;

use serde::Serialize;

use crate::config::{Config, ProviderConfig};
use crate::ledger::Ledger;
use crate::sync::scan::ScanSettings;
use crate::sync::SyncSettings;

/// How a finding bears on whether timeweave will work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Warning,
    Error,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The family of checks, e.g. "reach", "credentials", "account".
    pub check: &'static str,
    pub verdict: Verdict,
    /// What was seen.
    pub seen: String,
    /// What to do about it (empty when nothing).
    pub fix: String,
    /// Values in `seen` that name a person or account: never written to the JSON.
    pub private: Vec<String>,
}

impl Finding {
    fn new(check: &'static str, verdict: Verdict, seen: impl Into<String>) -> Self {
        Finding {
            check,
            verdict,
            seen: seen.into(),
            fix: String::new(),
            private: Vec::new(),
        }
    }

    /// `more` appended to what was seen.
    fn also(mut self, more: &str) -> Self {
        self.seen.push_str(more);
        self
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }

    fn private(mut self, value: &str) -> Self {
        self.private.push(value.to_owned());
        self
    }
}

/// The findings of one instance.
#[derive(Clone, Debug)]
pub struct InstanceReport {
    pub name: String,
    pub kind: &'static str,
    pub findings: Vec<Finding>,
}

impl InstanceReport {
    pub fn has_error(&self) -> bool {
        self.findings.iter().any(|f| f.verdict == Verdict::Error)
    }
}

/// Examines the PostgreSQL ledger when there is one, then each of `instances` in order. Never writes to a provider (unless `write_probe`:
/// one probe entry, deleted again) or the ledger: the ledger is opened read-only, and only
/// if it exists.
pub async fn examine(
    cfg: &Config,
    instances: &[&ProviderConfig],
    write_probe: bool,
) -> Vec<InstanceReport> {
    let ledger = open_ledger_if_any(cfg).await;
    let scan = SyncSettings::from_config(cfg).scan;
    let mut reports = Vec::new();
    if let Some(pg) = &cfg.ledger.postgres {
        reports.push(ledger::report(pg).await);
    }
    for p in instances {
        let ledger = ledger.as_ref().map(Option::as_ref);
        reports.push(examine_one(p, &scan, ledger, write_probe).await);
    }
    reports
}

/// The ledger, read-only; `None` when there is none yet.
async fn open_ledger_if_any(cfg: &Config) -> Result<Option<Ledger>, String> {
    if !cfg.ledger.path.exists() {
        return Ok(None);
    }
    Ledger::open_read_only(&cfg.ledger.path)
        .await
        .map(Some)
        .map_err(|e| format!("{e} (ledger.path = {})", cfg.ledger.path.display()))
}

async fn examine_one(
    p: &ProviderConfig,
    scan: &ScanSettings,
    ledger: Result<Option<&Ledger>, &String>,
    write_probe: bool,
) -> InstanceReport {
    let mut findings = Vec::new();
    let mut scheduled = None;
    match crate::registry::build(&single_attempt(p)) {
        Err(e) => findings.push(Finding::new("setup", Verdict::Error, format!("{e:#}")).fix(
            "fix the instance's section in the config (`timeweave check` lists every problem)",
        )),
        Ok(handle) => {
            let provider = handle.provider.as_ref();
            let connected = provider.connect().await;
            let answered = handle.stats.as_ref().is_some_and(|s| s.answers() > 0);
            findings.push(reach::finding(&p.base_url, &connected, answered));
            findings.extend(credentials::findings(p, &connected));
            if connected.is_ok() {
                findings.extend(account::findings(&p.name, provider, ledger).await);
                findings.extend(reading::findings(provider).await);
                findings.push(rights::finding(p, provider, write_probe).await);
                // Before the observations: some (what a write was answered with) need one.
                if write_probe && p.mode.pushes() {
                    findings.extend(probe::findings(provider).await);
                } else if write_probe {
                    findings.push(Finding::new(
                        "write probe",
                        Verdict::Ok,
                        "not made: mode = \"pull\" never writes to this account",
                    ));
                }
                findings.extend(observations::findings(p, provider).await);
                let cycle = history::Cycle {
                    budget: handle.budget,
                    cursor: history::entry_cursor(ledger.ok().flatten(), &p.name).await,
                };
                let (history, planned) = history::finding(provider, scan, &p.quotas, &cycle).await;
                findings.push(history);
                scheduled = planned;
            }
            let stats = handle.stats.as_deref();
            findings.push(rate::finding(p, handle.budget, scheduled, stats));
        }
    }
    InstanceReport {
        name: p.name.clone(),
        kind: p.kind.as_str(),
        findings,
    }
}

/// The instance as configured, but with no retries: `doctor` reports what the account
/// answers now, at once, instead of waiting out backoffs.
fn single_attempt(p: &ProviderConfig) -> ProviderConfig {
    let mut p = p.clone();
    p.max_retries = 0;
    p
}
