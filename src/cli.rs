//! The command line (clap derive): global flags, the commands and their arguments. Parsing
//! only; `main.rs` dispatches and `commands` does the work.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::logging::LogFormat;

const EXAMPLES: &str = "\
Examples:
  timeweave demo                              three simulators and a full sync, no config needed
  timeweave check --config ./config.toml      validate a config and print what it sets up
  timeweave run                               the daemon (default command; what systemd runs)
  timeweave --sync-once                       one full cycle of every provider, then exit
  timeweave sync --provider acme --dry-run    show what one cycle of `acme` would change
  timeweave conflicts resolve 42 --take ledger
  timeweave report --from 2026-01-01 --to 2026-01-31 --by project
  timeweave export --format csv --output entries.csv

The config file is --config PATH, else $TIMEWEAVE_CONFIG, else /etc/timeweave/config.toml;
TIMEWEAVE_SECTION__KEY environment variables override it (see config.example.toml).";

/// timeweave: keeps TimeTrack, TrackingTime and TimeTracker accounts in sync through one
/// SQLite ledger.
#[derive(Debug, Parser)]
#[command(
    name = "timeweave",
    version,
    about = "Sync/ETL daemon for time-tracking data: TimeTrack, TrackingTime and TimeTracker in one SQLite ledger",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Config file [default: $TIMEWEAVE_CONFIG, else /etc/timeweave/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log output format (overrides [log] format)
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Log filter, e.g. "debug" or "info,timeweave::sync=trace" (overrides RUST_LOG and [log] level)
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,

    /// Run one full cycle of every provider (deep scan to the horizon: a migration) and exit;
    /// the same as the `sync` command. After a first complete migration, a provider whose
    /// change trail proves it is complete fetches only what changed (see --full)
    #[arg(long)]
    pub sync_once: bool,

    #[command(flatten)]
    pub sync: SyncArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The command to run: `--sync-once` means `sync`; no command means `run`.
    pub fn effective_command(&self) -> Command {
        match (&self.command, self.sync_once) {
            (Some(cmd), _) => cmd.clone(),
            (None, true) => Command::Sync(self.sync.clone()),
            (None, false) => Command::Run,
        }
    }

    /// Flags in a combination clap cannot express: `--sync-once` with a command, or
    /// `--provider`/`--dry-run` outside a one-shot sync. `None` when the line makes sense.
    pub fn usage_error(&self) -> Option<String> {
        let top_sync_flag = if !self.sync.provider.is_empty() {
            Some("--provider")
        } else if !self.sync.allow_deletes.is_empty() {
            Some("--allow-deletes")
        } else if self.sync.dry_run {
            Some("--dry-run")
        } else if self.sync.full {
            Some("--full")
        } else {
            None
        };
        match (&self.command, self.sync_once, top_sync_flag) {
            (Some(cmd), true, _) => Some(format!(
                "--sync-once cannot be combined with the `{}` command (`timeweave sync` is the same as --sync-once)",
                cmd.name()
            )),
            (Some(Command::Sync(_)), false, Some(flag)) => Some(format!(
                "put {flag} after the command: `timeweave sync {flag} ...`"
            )),
            (Some(cmd), false, Some(flag)) => Some(format!(
                "{flag} only applies to one-shot syncs, not to `{}`",
                cmd.name()
            )),
            (None, false, Some(flag)) => Some(format!(
                "{flag} only applies to one-shot syncs: add --sync-once, or use `timeweave sync {flag} ...`"
            )),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: every provider on its schedule until SIGTERM (the default)
    Run,
    /// One full cycle of each provider, then exit (alias of --sync-once)
    #[command(
        after_help = "Examples:\n  timeweave sync\n  timeweave sync --provider acme --provider tt --dry-run\n  timeweave sync --allow-deletes acme"
    )]
    Sync(SyncArgs),
    /// Print sync health per provider from the ledger: last runs, errors, open conflicts
    Status,
    /// Validate the config and print what it sets up (secrets are never shown); exit 1 on errors
    #[command(after_help = "Example:\n  timeweave check --config /etc/timeweave/config.toml")]
    Check,
    /// Prove the config against the live accounts: reach, credentials, account binding; read-only; exit 1 on any ✗
    #[command(
        after_help = "Examples:\n  timeweave doctor\n  timeweave doctor --provider acme\n  timeweave doctor --json doctor.json   # redacted, to attach to a bug report\n  timeweave doctor --provider acme --write-probe\n\nNothing is written to a provider or the ledger, except with --write-probe: one probe entry, deleted again. Each line: ✓ / ⚠ / ✗, what was seen, the fix."
    )]
    Doctor(DoctorArgs),
    /// List or resolve conflicts kept for manual resolution
    Conflicts(ConflictsArgs),
    /// Hours and billable amounts from the ledger, by person, client, project, day, week or month
    #[command(
        after_help = "Examples:\n  timeweave report --from 2026-01-01 --to 2026-01-31 --by person\n  timeweave report --from 2026-01-01 --by month --currency EUR\n  timeweave report --by day --format csv > hours.csv\n  timeweave report --html report.html"
    )]
    Report(ReportArgs),
    /// Export time entries from the ledger as CSV or JSON lines
    #[command(
        after_help = "Examples:\n  timeweave export --from 2026-01-01 --format jsonl --output entries.jsonl\n  timeweave export --format csv | head"
    )]
    Export(ExportArgs),
    /// Start three provider simulators and run a full sync between them (needs no config)
    #[command(
        after_help = "Examples:\n  timeweave demo\n  timeweave demo --dir ./demo --keep\n  timeweave demo --dir ./demo --keep --fresh   # replace the ledger an earlier demo left there\n  timeweave demo --serve                   # keep everything running: a live playground\n  timeweave demo --serve --dir ./demo --port-base 9000"
    )]
    Demo(DemoArgs),
    /// Apply the ledger's database migrations and exit
    Migrate,
    /// Print a shell completion script for bash, zsh, fish, elvish or powershell
    #[command(
        after_help = "Examples:\n  timeweave completions bash > /etc/bash_completion.d/timeweave\n  timeweave completions zsh > /usr/local/share/zsh/site-functions/_timeweave\n  timeweave completions fish > ~/.config/fish/completions/timeweave.fish\n\nThe Debian package installs all three."
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff: `timeweave man | man -l -`), or write every page to a directory
    #[command(
        after_help = "Examples:\n  timeweave man | man -l -\n  timeweave man --out-dir target/man"
    )]
    Man {
        /// Write timeweave.1 and one timeweave-COMMAND.1 page per command into this directory
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Start an instance over with the account it now reaches: drop its links, match again by natural key, delete nothing
    #[command(after_help = "Example:\n  timeweave rebind acme")]
    Rebind(RebindArgs),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run => "run",
            Command::Sync(_) => "sync",
            Command::Status => "status",
            Command::Check => "check",
            Command::Doctor(_) => "doctor",
            Command::Conflicts(_) => "conflicts",
            Command::Report(_) => "report",
            Command::Export(_) => "export",
            Command::Demo(_) => "demo",
            Command::Migrate => "migrate",
            Command::Completions { .. } => "completions",
            Command::Man { .. } => "man",
            Command::Rebind(_) => "rebind",
        }
    }
}

#[derive(Clone, Debug, Default, Args)]
pub struct SyncArgs {
    /// Only this provider instance (repeatable) [default: every enabled instance]
    #[arg(long = "provider", value_name = "NAME")]
    pub provider: Vec<String>,

    /// Scan, pull and plan, print what would change, write nothing anywhere
    #[arg(long)]
    pub dry_run: bool,

    /// Apply this instance's deletes even when the mass-delete guard holds them (repeatable;
    /// after checking they are real, e.g. with --dry-run)
    #[arg(long = "allow-deletes", value_name = "INSTANCE")]
    pub allow_deletes: Vec<String>,

    /// List every provider's whole history again, even where its change trail proves
    /// nothing changed (the trail is still read, to keep its position)
    #[arg(long)]
    pub full: bool,
}

#[derive(Clone, Debug, Args)]
pub struct ConflictsArgs {
    #[command(subcommand)]
    pub action: Option<ConflictsAction>,
}

#[derive(Clone, Debug, Subcommand)]
pub enum ConflictsAction {
    /// List open conflicts (the default)
    List,
    /// Settle one conflict by taking one side's version
    #[command(
        after_help = "Examples:\n  timeweave conflicts resolve 42 --take acme\n  timeweave conflicts resolve 42 --take ledger"
    )]
    Resolve {
        /// The conflict id, as `conflicts list` shows it
        id: String,
        /// Whose version wins: a provider instance name, or `ledger`
        #[arg(long, value_name = "INSTANCE|ledger", value_parser = parse_side)]
        take: ConflictSide,
    },
}

/// The side a conflict resolution takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConflictSide {
    Ledger,
    Provider(String),
}

fn parse_side(s: &str) -> Result<ConflictSide, String> {
    if s == "ledger" {
        Ok(ConflictSide::Ledger)
    } else if crate::config::valid_instance_name(s) {
        Ok(ConflictSide::Provider(s.to_string()))
    } else {
        Err(format!(
            "`{s}` is neither `ledger` nor a provider instance name (lowercase letters, digits, `_`, `-`)"
        ))
    }
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date; expected YYYY-MM-DD, e.g. 2026-01-31"))
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportBy {
    #[default]
    Person,
    Client,
    Project,
    Day,
    /// Monday-to-Sunday weeks
    Week,
    Month,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    #[default]
    Table,
    Csv,
    Json,
}

#[derive(Clone, Debug, Args)]
pub struct ReportArgs {
    /// First day included (local date of the entry), YYYY-MM-DD
    #[arg(long, value_parser = parse_date, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Last day included, YYYY-MM-DD
    #[arg(long, value_parser = parse_date, value_name = "DATE")]
    pub to: Option<NaiveDate>,
    /// Grouping
    #[arg(long, value_enum, default_value_t = ReportBy::Person)]
    pub by: ReportBy,
    /// Output format on stdout
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Also write an HTML report to this file
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Currency code the amounts are shown in [default: [report] currency]
    #[arg(long, value_parser = parse_currency, value_name = "CODE")]
    pub currency: Option<String>,
}

fn parse_currency(s: &str) -> Result<String, String> {
    if s.len() == 3 && s.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(s.to_ascii_uppercase())
    } else {
        Err(format!(
            "`{s}` is not a currency code; expected three letters (ISO 4217), e.g. EUR"
        ))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    #[default]
    Csv,
    Jsonl,
}

#[derive(Clone, Debug, Args)]
pub struct ExportArgs {
    /// First work date included, YYYY-MM-DD (default: the ledger's first entry)
    #[arg(long, value_parser = parse_date, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Last work date included, YYYY-MM-DD (default: the ledger's last entry)
    #[arg(long, value_parser = parse_date, value_name = "DATE")]
    pub to: Option<NaiveDate>,
    /// Output format
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// Write to this file instead of stdout
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, Args)]
pub struct DoctorArgs {
    /// Only this provider instance (repeatable) [default: every enabled instance]
    #[arg(long = "provider", value_name = "NAME")]
    pub provider: Vec<String>,
    /// Also write the findings as JSON to this file, every secret, e-mail and name redacted
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also create, update and delete one entry named `timeweave doctor probe <time>` per
    /// instance whose mode writes, and report which fields read back as written
    #[arg(long)]
    pub write_probe: bool,
}

#[derive(Clone, Debug, Args)]
pub struct RebindArgs {
    /// The provider instance (`[providers.<name>]`) now meant to reach another account
    pub instance: String,
}

#[derive(Clone, Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's ledger and files in this directory [default: a temporary directory]
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Do not delete the directory at the end
    #[arg(long)]
    pub keep: bool,
    /// Replace a ledger an earlier demo left in --dir (its simulators are gone)
    #[arg(long)]
    pub fresh: bool,
    /// Keep the simulators and the daemon running after the first sync, until Ctrl-C
    #[arg(long)]
    pub serve: bool,
    /// With --serve: the first of four loopback ports (TimeTrack, TrackingTime, TimeTracker,
    /// the daemon's status listener)
    #[arg(long, value_name = "N", requires = "serve", default_value_t = crate::demo::DEFAULT_PORT_BASE)]
    pub port_base: u16,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("timeweave").chain(args.iter().copied()))
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_is_the_default_and_sync_once_means_sync() {
        assert!(matches!(
            parse(&[]).unwrap().effective_command(),
            Command::Run
        ));
        let cli = parse(&[
            "--sync-once",
            "--provider",
            "a",
            "--provider",
            "b",
            "--dry-run",
        ])
        .unwrap();
        match cli.effective_command() {
            Command::Sync(args) => {
                assert_eq!(args.provider, ["a", "b"]);
                assert!(args.dry_run);
            }
            other => panic!("{other:?}"),
        }
        let cli = parse(&["sync", "--provider", "a"]).unwrap();
        assert!(matches!(cli.effective_command(), Command::Sync(a) if a.provider == ["a"]));
    }

    #[test]
    fn stray_flags_and_conflicting_forms_are_refused() {
        let usage = |args: &[&str]| parse(args).unwrap().usage_error();
        assert!(usage(&["--dry-run"]).unwrap().contains("--sync-once"));
        assert!(usage(&["--sync-once", "status"])
            .unwrap()
            .contains("cannot be combined"));
        assert!(usage(&["--provider", "a", "sync"])
            .unwrap()
            .contains("after the command"));
        assert!(usage(&["--dry-run", "report"])
            .unwrap()
            .contains("not to `report`"));
        assert_eq!(usage(&["--sync-once", "--dry-run"]), None);
        assert_eq!(usage(&["sync", "--dry-run"]), None);
        assert_eq!(usage(&["--config", "/x", "status"]), None);
    }

    #[test]
    fn global_flags_work_after_the_command() {
        let cli = parse(&["check", "--config", "/x.toml", "--log-format", "json"]).unwrap();
        assert_eq!(cli.config.as_deref(), Some(std::path::Path::new("/x.toml")));
        assert_eq!(cli.log_format, Some(LogFormat::Json));
    }

    #[test]
    fn conflicts_and_reports_parse() {
        let cli = parse(&["conflicts", "resolve", "42", "--take", "ledger"]).unwrap();
        match cli.effective_command() {
            Command::Conflicts(ConflictsArgs {
                action: Some(ConflictsAction::Resolve { id, take }),
            }) => {
                assert_eq!(id, "42");
                assert_eq!(take, ConflictSide::Ledger);
            }
            other => panic!("{other:?}"),
        }
        assert!(parse(&["conflicts", "resolve", "42", "--take", "Bad Name"]).is_err());
        let cli = parse(&[
            "report",
            "--from",
            "2026-01-01",
            "--by",
            "day",
            "--format",
            "csv",
        ])
        .unwrap();
        assert!(
            matches!(cli.effective_command(), Command::Report(r) if r.by == ReportBy::Day && r.from.is_some())
        );
        assert!(parse(&["report", "--from", "01/02/2026"]).is_err());
        assert!(parse(&["export", "--format", "xml"]).is_err());
    }
}
