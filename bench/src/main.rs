//! `bench`: the performance harness (issue 9). Each benchmark prints its figures as
//! `metric: value unit` lines on stdout (progress notes go to stderr).
//!
//! ```text
//! cargo build --release --bins
//! target/release/bench [ingest|pull|nochange|ratelimit|convergence|migrate|freshness|soak|all] [--entries N] [--seconds S]
//! target/release/bench ingest --ledger postgres://USER@HOST:PORT/DB
//! target/release/bench dryrun --ledger postgres://USER@HOST:PORT/DB
//! ```
//!
//! `--entries` scales the benchmark's data set (defaults: ingest and pull 1,000,000,
//! nochange 100,000, convergence 10,000 per provider, migrate 500 at a 50 ms round trip;
//! migrate's runs under each provider's quotas always push 10,000; freshness 1,000,000);
//! `--seconds` the rate-limit run (120) and the soak (3600; `soak` runs only when named,
//! never in `all`). `--ledger` runs `ingest` or `pull` on a PostgreSQL server instead
//! (scratch databases on it, the role may create databases), and `dryrun` (only with
//! `--ledger`; 50,000 entries by default) times the copy a dry run makes of a ledger there.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod convergence;
mod dryrun;
mod freshness;
mod ingest;
mod ingest_pg;
mod migrate;
mod migrate_quota;
mod nochange;
mod pull;
mod ratelimit;
mod soak;
mod support;

use std::process::ExitCode;

const USAGE: &str =
    "usage: bench [ingest|pull|nochange|ratelimit|convergence|migrate|freshness|soak|dryrun|all] [--entries N] [--seconds S] [--ledger postgres://USER@HOST:PORT/DB]";

struct Args {
    which: String,
    entries: Option<usize>,
    seconds: Option<u64>,
    /// A PostgreSQL server for `ingest` and `pull` (`--ledger`): scratch databases on it.
    ledger: Option<url::Url>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        which: "all".into(),
        entries: None,
        seconds: None,
        ledger: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--entries" => {
                let v = it.next().ok_or("--entries needs a number")?;
                args.entries = Some(
                    v.replace('_', "")
                        .parse()
                        .map_err(|_| format!("--entries: `{v}` is not a number"))?,
                );
            }
            "--seconds" => {
                let v = it.next().ok_or("--seconds needs a number")?;
                args.seconds = Some(
                    v.parse()
                        .map_err(|_| format!("--seconds: `{v}` is not a number"))?,
                );
            }
            "--ledger" => {
                let v = it.next().ok_or("--ledger needs a postgres:// URL")?;
                let url = url::Url::parse(&v).map_err(|e| format!("--ledger: {e}"))?;
                args.ledger = Some(url);
            }
            "--bench" => {} // passed by `cargo bench`
            "-h" | "--help" => return Err(USAGE.into()),
            "ingest" | "pull" | "nochange" | "ratelimit" | "convergence" | "migrate"
            | "freshness" | "soak" | "dryrun" | "all" => args.which = a,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(args)
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let all = args.which == "all";
    if let Some(server) = &args.ledger {
        let entries = args.entries.unwrap_or(1_000_000);
        return match args.which.as_str() {
            "ingest" => ingest_pg::run(entries, server).await,
            "pull" => pull::run(entries, Some(server)).await,
            "dryrun" => dryrun::run(args.entries.unwrap_or(50_000), server).await,
            _ => anyhow::bail!("--ledger runs `ingest`, `pull` or `dryrun` only"),
        };
    }
    if args.which == "dryrun" {
        anyhow::bail!("`dryrun` copies a PostgreSQL ledger: give the server with --ledger");
    }
    if all || args.which == "ingest" {
        ingest::run(args.entries.unwrap_or(1_000_000)).await?;
    }
    if all || args.which == "pull" {
        pull::run(args.entries.unwrap_or(1_000_000), None).await?;
    }
    if all || args.which == "nochange" {
        nochange::run(args.entries.unwrap_or(100_000)).await?;
    }
    if all || args.which == "ratelimit" {
        ratelimit::run(args.seconds.unwrap_or(120)).await?;
    }
    if all || args.which == "convergence" {
        convergence::run(args.entries.unwrap_or(10_000)).await?;
    }
    if all || args.which == "migrate" {
        migrate::run(args.entries.unwrap_or(500)).await?;
        migrate_quota::run().await?;
    }
    if all || args.which == "freshness" {
        freshness::run(args.entries.unwrap_or(1_000_000)).await?;
    }
    if args.which == "soak" {
        soak::run(args.seconds.unwrap_or(3600), args.entries).await?;
    }
    Ok(())
}

fn main() -> ExitCode {
    timeweave::allocator::tune_process_memory();
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // Diagnostics on stderr when asked for (`RUST_LOG=timeweave_http=trace`), off otherwise.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
