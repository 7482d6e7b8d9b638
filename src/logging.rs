//! Log output: tracing-subscriber's fmt layer in a human form (colours only on a terminal)
//! or as JSON (one object per line, for log shippers), filtered by an `EnvFilter`.
//!
//! `auto` picks human on a terminal and under journald (`JOURNAL_STREAM` set: journald adds
//! its own timestamps and `journalctl` is read by people), and JSON otherwise (output piped
//! to a file or a collector). Logs go to stderr; stdout is kept for command output
//! (`report`, `export`, `check`).
//!
//! Every event of a sync cycle is inside a `cycle` span carrying `provider` (the instance
//! name, the one key for it everywhere); the JSON form shows it under `span`. SQL
//! statements log at trace (`sqlx::query=trace` shows them), so `debug` stays readable.

use std::io::IsTerminal;

use serde::Deserialize;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The `[log] format` option and the `--log-format` flag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human on a terminal or under journald, JSON otherwise.
    #[default]
    Auto,
    /// Plain text lines.
    Human,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Auto => "auto",
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        }
    }
}

/// What `auto` (or an explicit format) means in this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Human text; `ansi` = colours, `timestamps` = our own time column.
    Human {
        ansi: bool,
        timestamps: bool,
    },
    Json,
}

/// Resolves `format` given whether stderr is a terminal and whether journald reads it.
pub fn resolve(format: LogFormat, stderr_is_terminal: bool, under_journald: bool) -> Resolved {
    let human = Resolved::Human {
        ansi: stderr_is_terminal,
        timestamps: !under_journald,
    };
    match format {
        LogFormat::Human => human,
        LogFormat::Json => Resolved::Json,
        LogFormat::Auto if stderr_is_terminal || under_journald => human,
        LogFormat::Auto => Resolved::Json,
    }
}

/// The filter: `flag` (`--log-level`) if given, else `RUST_LOG` if set, else `level`
/// (`[log] level`).
pub fn filter(level: &str, flag: Option<&str>) -> Result<EnvFilter, LoggingError> {
    let (directive, from) = match (
        flag,
        std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty()),
    ) {
        (Some(f), _) => (f.to_string(), "--log-level"),
        (None, Some(env)) => (env, "RUST_LOG"),
        (None, None) => (level.to_string(), "[log] level"),
    };
    EnvFilter::try_new(&directive).map_err(|e| LoggingError::BadFilter {
        from,
        directive,
        reason: e.to_string(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("{from}: `{directive}` is not a valid log filter ({reason}); expected e.g. \"info\", \"debug\" or \"info,timeweave::sync=debug\"")]
    BadFilter {
        from: &'static str,
        directive: String,
        reason: String,
    },
}

/// Installs the global subscriber. `level` is the config's `[log] level`; `level_flag` the
/// `--log-level` flag. A second call keeps the first subscriber (and returns `Ok`), so tests
/// and embedders may call it freely.
pub fn init(format: LogFormat, level: &str, level_flag: Option<&str>) -> Result<(), LoggingError> {
    let filter = filter(level, level_flag)?;
    let resolved = resolve(
        format,
        std::io::stderr().is_terminal(),
        std::env::var_os("JOURNAL_STREAM").is_some(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter.clone())
        .with_writer(std::io::stderr);
    // `try_init` fails only when a global subscriber is already set: keep that one.
    let _ = match resolved {
        Resolved::Json => json_subscriber(filter, std::io::stderr).try_init(),
        Resolved::Human {
            ansi,
            timestamps: true,
        } => builder.with_ansi(ansi).finish().try_init(),
        Resolved::Human {
            ansi,
            timestamps: false,
        } => builder.with_ansi(ansi).without_time().finish().try_init(),
    };
    Ok(())
}

/// The JSON form: one object per line, the event's fields at the top level and the current
/// span's (the `cycle` span's `provider`) under `span`.
pub fn json_subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_human_for_people_and_json_for_pipes() {
        assert_eq!(
            resolve(LogFormat::Auto, true, false),
            Resolved::Human {
                ansi: true,
                timestamps: true
            }
        );
        assert_eq!(
            resolve(LogFormat::Auto, false, true),
            Resolved::Human {
                ansi: false,
                timestamps: false
            }
        );
        assert_eq!(resolve(LogFormat::Auto, false, false), Resolved::Json);
        assert_eq!(resolve(LogFormat::Json, true, false), Resolved::Json);
        assert_eq!(
            resolve(LogFormat::Human, false, false),
            Resolved::Human {
                ansi: false,
                timestamps: true
            }
        );
    }

    #[test]
    fn flag_beats_config_and_bad_filters_are_named() {
        assert!(filter("info", Some("debug")).is_ok());
        let err = filter("info", Some("timeweave=notalevel"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--log-level") && err.contains("notalevel"),
            "{err}"
        );
    }

    #[test]
    fn init_twice_is_harmless() {
        init(LogFormat::Human, "warn", None).unwrap();
        init(LogFormat::Json, "warn", None).unwrap();
    }
}
