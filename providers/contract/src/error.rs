//! The typed error every provider operation returns. The variants are what the engine
//! needs to decide: retry (and when), give up on the cycle (auth, setup), record a conflict,
//! skip one record with a reason (rejected, unsupported), or treat a record as gone.

use std::time::Duration;

use thiserror::Error;

/// Why the provider refused a write as conflicting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictReason {
    /// Optimistic lock: the remote record changed since the version the write was based on.
    Stale,
    /// The provider refuses overlapping time entries for one person.
    Overlap,
    /// A record with the same unique name already exists.
    Duplicate,
    /// Another conflict the provider reported (a running timer, a locked period, ...).
    Other,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ProviderError {
    /// Credentials missing, wrong, revoked or expired (HTTP 401).
    #[error("authentication failed: {message}; check the provider's credentials in the config")]
    Auth { message: String },

    /// The credentials are valid but lack a permission or scope (HTTP 403).
    #[error("permission denied: {message}")]
    Forbidden { message: String },

    /// The provider throttled us; wait at least `retry_after` when it says so.
    #[error("rate limited by the provider{}", fmt_after(.retry_after))]
    RateLimited { retry_after: Option<Duration> },

    /// A passing failure: 5xx, a timeout, a reset connection, a gateway page.
    #[error("temporary failure: {message}{}", fmt_after(.retry_after))]
    Retryable {
        message: String,
        retry_after: Option<Duration>,
    },

    /// The body could not be read as the documented shape (bad JSON, truncated page, HTML
    /// where JSON was due). Retried a few times; a persistent one fails the cycle.
    #[error("malformed response: {message}")]
    Malformed { message: String },

    /// The record (or route) does not exist (any more).
    #[error("not found: {what}")]
    NotFound { what: String },

    /// The provider refused a write as conflicting.
    #[error("conflict ({reason:?}): {message}")]
    Conflict {
        reason: ConflictReason,
        message: String,
    },

    /// The provider refused the input (validation, unknown reference, ...). Not retried.
    #[error("rejected by the provider: {message}")]
    Rejected { message: String },

    /// The provider's API cannot do this (e.g. rename a TimeTrack client, update a
    /// TimeTracker client). Reported once, never retried.
    #[error("not supported by this provider: {what}")]
    Unsupported { what: String },

    /// The provider is not usable as configured (setup not finished, account ambiguous,
    /// bad base URL, ...). The message says what to change.
    #[error("provider not ready: {message}")]
    Setup { message: String },

    /// The transport gave up on a request by policy: an answer larger than the instance's
    /// bound, or a wait longer than its longest pause. The message names the bound and the
    /// option. Not retried; ends the cycle (the next one tries again).
    #[error("{message}")]
    LimitExceeded { message: String },

    /// The process is shutting down (SIGTERM): the request was not sent, or its wait ended.
    #[error("stopped: the process is shutting down")]
    Stopped,
}

fn fmt_after(d: &Option<Duration>) -> String {
    match d {
        Some(d) => format!(" (retry after {}s)", d.as_secs_f64()),
        None => String::new(),
    }
}

impl ProviderError {
    /// This error with every occurrence of each of `secrets` in its text replaced by
    /// `[redacted]`: a provider that quotes the credentials back in an error answer never
    /// puts them in a log line, a `sync_runs` row or `doctor`'s report.
    pub fn redacted(mut self, secrets: &[crate::Secret]) -> Self {
        use ProviderError::*;
        let text = match &mut self {
            Auth { message }
            | Forbidden { message }
            | Retryable { message, .. }
            | Malformed { message }
            | Conflict { message, .. }
            | Rejected { message }
            | Setup { message }
            | LimitExceeded { message } => message,
            NotFound { what } | Unsupported { what } => what,
            RateLimited { .. } | Stopped => return self,
        };
        for secret in secrets {
            secret.redact_in(text);
        }
        self
    }

    /// Worth trying the same request again after a pause.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::Retryable { .. }
                | ProviderError::Malformed { .. }
        )
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after }
            | ProviderError::Retryable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Failures that make the rest of the cycle pointless for this provider.
    pub fn is_fatal_for_cycle(&self) -> bool {
        matches!(
            self,
            ProviderError::Auth { .. }
                | ProviderError::Setup { .. }
                | ProviderError::LimitExceeded { .. }
                | ProviderError::Stopped
        )
    }

    pub fn retryable(message: impl Into<String>) -> Self {
        ProviderError::Retryable {
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        ProviderError::Malformed {
            message: message.into(),
        }
    }

    pub fn rejected(message: impl Into<String>) -> Self {
        ProviderError::Rejected {
            message: message.into(),
        }
    }

    pub fn unsupported(what: impl Into<String>) -> Self {
        ProviderError::Unsupported { what: what.into() }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ProviderError::NotFound { what: what.into() }
    }

    /// A short stable name for metrics and the ledger (`auth`, `rate_limited`, ...).
    pub fn class(&self) -> &'static str {
        match self {
            ProviderError::Auth { .. } => "auth",
            ProviderError::Forbidden { .. } => "forbidden",
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::Retryable { .. } => "retryable",
            ProviderError::Malformed { .. } => "malformed",
            ProviderError::NotFound { .. } => "not_found",
            ProviderError::Conflict { .. } => "conflict",
            ProviderError::Rejected { .. } => "rejected",
            ProviderError::Unsupported { .. } => "unsupported",
            ProviderError::Setup { .. } => "setup",
            ProviderError::LimitExceeded { .. } => "limit_exceeded",
            ProviderError::Stopped => "stopped",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let rl = ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(47)),
        };
        assert!(rl.is_retryable());
        assert_eq!(rl.retry_after(), Some(Duration::from_secs(47)));
        assert!(rl.to_string().contains("47"));
        assert!(ProviderError::retryable("502").is_retryable());
        assert!(ProviderError::malformed("eof").is_retryable());
        for e in [
            ProviderError::Auth {
                message: "x".into(),
            },
            ProviderError::not_found("x"),
            ProviderError::rejected("x"),
            ProviderError::unsupported("x"),
            ProviderError::Conflict {
                reason: ConflictReason::Stale,
                message: "x".into(),
            },
        ] {
            assert!(!e.is_retryable(), "{e}");
        }
        assert!(ProviderError::Auth {
            message: "x".into()
        }
        .is_fatal_for_cycle());
        for e in [
            ProviderError::Stopped,
            ProviderError::LimitExceeded {
                message: "x".into(),
            },
        ] {
            assert!(!e.is_retryable() && e.is_fatal_for_cycle(), "{e}");
        }
    }
}
