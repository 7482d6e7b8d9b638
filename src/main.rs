//! The `timeweave` binary: parses the command line, loads the config, starts logging and
//! dispatches to [`commands`]. Exit codes: 0 success, 1 failure (and `check` of an
//! invalid config), 2 usage error or command not available yet, 78 (EX_CONFIG) invalid or
//! missing config for any other command (the systemd unit does not restart on 78).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::process::ExitCode;

use clap::Parser;
use timeweave::cli::{Cli, Command};
use timeweave::{config, logging, manual};

mod commands;

/// sysexits.h EX_CONFIG.
const EXIT_CONFIG: u8 = 78;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    timeweave::allocator::tune_process_memory();
    let cli = Cli::parse();
    if let Some(problem) = cli.usage_error() {
        eprintln!("error: {problem}");
        return ExitCode::from(EXIT_USAGE);
    }
    let command = cli.effective_command();

    match &command {
        Command::Completions { shell } => {
            return print_to_stdout(|out| manual::write_completions(*shell, out))
        }
        Command::Man { out_dir: None } => return print_to_stdout(manual::write_man_page),
        Command::Man { out_dir: Some(dir) } => {
            return match manual::write_man_pages(dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!(
                        "error: cannot write the manual pages to {}: {e}",
                        dir.display()
                    );
                    ExitCode::FAILURE
                }
            }
        }
        _ => {}
    }

    if let Command::Demo(args) = &command {
        let format = cli.log_format.unwrap_or_default();
        // The demo prints its own summary; logs show warnings unless asked for more.
        if let Err(e) = logging::init(format, "warn", cli.log_level.as_deref()) {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
        return block_on(commands::demo(args));
    }

    let cfg = match config::load(cli.config.as_deref(), secrets_needed(&command)) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(match command {
                Command::Check => 1,
                _ => EXIT_CONFIG,
            });
        }
    };

    if let Command::Check = command {
        return report(commands::check(&cfg));
    }

    let format = cli.log_format.unwrap_or(cfg.log.format);
    if let Err(e) = logging::init(format, &cfg.log.level, cli.log_level.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    for warning in &cfg.warnings {
        tracing::warn!("config: {warning}");
    }

    block_on(async {
        match &command {
            Command::Run => commands::run(&cfg).await,
            Command::Sync(args) => commands::sync(&cfg, args).await,
            Command::Status => commands::status(&cfg).await,
            Command::Conflicts(args) => commands::conflicts(&cfg, args).await,
            Command::Report(args) => commands::report(&cfg, args).await,
            Command::Export(args) => commands::export(&cfg, args).await,
            Command::Migrate => commands::migrate(&cfg).await,
            Command::Rebind(args) => commands::rebind(&cfg, args).await,
            Command::Doctor(args) => commands::doctor(&cfg, args).await,
            Command::Check
            | Command::Demo(_)
            | Command::Completions { .. }
            | Command::Man { .. } => {
                unreachable!("handled above")
            }
        }
    })
}

/// Writes what `write` produces to stdout; a closed pipe (`| head`) is no failure.
fn print_to_stdout(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match write(&mut out).and_then(|()| std::io::Write::flush(&mut out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Commands that read only the ledger need no provider secrets (an operator without access
/// to the credentials can run them); `check` reports missing ones.
fn secrets_needed(command: &Command) -> config::Secrets {
    match command {
        Command::Status
        | Command::Report(_)
        | Command::Export(_)
        | Command::Conflicts(_)
        | Command::Migrate => config::Secrets::NotRead,
        Command::Run
        | Command::Sync(_)
        | Command::Rebind(_)
        | Command::Doctor(_)
        | Command::Check
        | Command::Demo(_)
        | Command::Completions { .. }
        | Command::Man { .. } => config::Secrets::Required,
    }
}

fn block_on(fut: impl std::future::Future<Output = anyhow::Result<ExitCode>>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => report(rt.block_on(fut)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints an error with its chain of causes, one per line.
fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
