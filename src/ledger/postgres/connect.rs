//! Opening a pool on a PostgreSQL ledger: the URL without its password plus the password
//! from the config's secret (never in the URL, never logged), the server-side settings every
//! connection gets, and the one way to name the server in messages (`describe_url`).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use timeweave_contract::Secret;
use url::Url;

use crate::ledger::{LedgerError, Result};

/// Connections a process keeps to the server at most.
const MAX_CONNECTIONS: u32 = 8;
/// How long to wait for a connection (the server, or a free one from the pool).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// A session left inside a transaction this long is ended by the server. A process paused
/// (SIGSTOP, a VM freeze) in the middle of a write transaction would otherwise hold the
/// locks it took, the writer lock and the lease row's among them, and no other process
/// could write, or take over its provider instances, until it woke. A write fenced by a
/// lease gets the lease's ttl instead (`PgLedger::write`).
pub(crate) const IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";
/// How long a statement waits for a lock before failing, so a takeover never hangs.
const LOCK_TIMEOUT: &str = "30s";

/// Opens a pool on the PostgreSQL database at `url` (`postgres://user@host:port/db`),
/// authenticating with `password` when given (a password inside the URL is used too, but
/// the config refuses one). Nothing is created or migrated: see [`super::migrate`].
pub async fn connect(url: &Url, password: Option<&Secret>) -> Result<PgPool> {
    let mut options =
        PgConnectOptions::from_url(url).map_err(|source| connect_error(url, source))?;
    if let Some(password) = password {
        options = options.password(password.expose());
    }
    let options = options
        .application_name("timeweave")
        .options([
            (
                "idle_in_transaction_session_timeout",
                IDLE_IN_TRANSACTION_TIMEOUT,
            ),
            ("lock_timeout", LOCK_TIMEOUT),
        ])
        .log_statements(log::LevelFilter::Trace);
    // One connection first, without the pool's retries: an unreachable server or a refused
    // login fails at once with the server's reason, instead of after the acquire timeout.
    let first = PgConnection::connect_with(&options)
        .await
        .map_err(|source| connect_error(url, source))?;
    first
        .close()
        .await
        .map_err(|source| connect_error(url, source))?;
    Ok(PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options))
}

/// Whether sqlx can read `url`'s settings (`sslmode`, `options`, ...), offline: the reason
/// when it cannot. The URL is not echoed.
pub fn check_url(url: &Url) -> std::result::Result<(), String> {
    PgConnectOptions::from_url(url)
        .map(|_| ())
        .map_err(|e| format!("has settings PostgreSQL's client cannot use: {e}"))
}

fn connect_error(url: &Url, source: sqlx::Error) -> LedgerError {
    LedgerError::Connect {
        target: describe_url(url),
        source,
    }
}

/// The URL as messages show it: without a password, whatever it held.
pub fn describe_url(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        // Only fails for URLs that cannot have a password, which then have none.
        let _ = shown.set_password(None);
    }
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_described_url_never_shows_a_password() {
        let url = Url::parse("postgres://ops:hunter2@db.example:5432/timeweave").unwrap();
        assert_eq!(
            describe_url(&url),
            "postgres://ops@db.example:5432/timeweave"
        );
    }
}
