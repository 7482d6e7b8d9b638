//! What each command does once the CLI is parsed and the config loaded. `check` is complete;
//! the others are placeholders until their issues land (the lead replaces their bodies).

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{ConflictsArgs, DemoArgs, ExportArgs, ReportArgs, SyncArgs};
use crate::config::{self, Config};

/// Exit code of a command that is not available yet.
const NOT_AVAILABLE: u8 = 2;

fn not_available(cmd: &str, issue: &str) -> anyhow::Result<ExitCode> {
    eprintln!("timeweave {cmd}: not available yet ({issue})");
    Ok(ExitCode::from(NOT_AVAILABLE))
}

const ENGINE: &str = "issue 6/7: sync engine and daemon";
const REPORTING: &str = "issue 8: reporting and export";

/// `timeweave check` with a config that loaded: print its summary.
pub fn check(cfg: &Config) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    out.write_all(config::summary::render(cfg).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `timeweave run`: the daemon.
pub async fn run(_cfg: &Config) -> anyhow::Result<ExitCode> {
    not_available("run", ENGINE)
}

/// `timeweave sync` / `--sync-once`: one full cycle per provider.
pub async fn sync(_cfg: &Config, _args: &SyncArgs) -> anyhow::Result<ExitCode> {
    not_available("sync", ENGINE)
}

/// `timeweave status`.
pub async fn status(_cfg: &Config) -> anyhow::Result<ExitCode> {
    not_available("status", ENGINE)
}

/// `timeweave conflicts [list|resolve ID --take SIDE]`.
pub async fn conflicts(_cfg: &Config, _args: &ConflictsArgs) -> anyhow::Result<ExitCode> {
    not_available("conflicts", ENGINE)
}

/// `timeweave report`.
pub async fn report(_cfg: &Config, _args: &ReportArgs) -> anyhow::Result<ExitCode> {
    not_available("report", REPORTING)
}

/// `timeweave export`.
pub async fn export(_cfg: &Config, _args: &ExportArgs) -> anyhow::Result<ExitCode> {
    not_available("export", REPORTING)
}

/// `timeweave demo`: needs no config file.
pub async fn demo(_args: &DemoArgs) -> anyhow::Result<ExitCode> {
    not_available("demo", ENGINE)
}

/// `timeweave migrate`.
pub async fn migrate(_cfg: &Config) -> anyhow::Result<ExitCode> {
    not_available("migrate", ENGINE)
}
