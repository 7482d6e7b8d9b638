//! Reach: whether the server at `base_url` answered at all (DNS, TCP, TLS, HTTP). The cause
//! of a failure is the transport's own description (`timeweave_http::describe_failure`),
//! the same text `sync` and `run` show.

use timeweave_contract::{ProviderError, ProviderInfo};

use super::{Finding, Verdict};

pub(super) fn finding(base_url: &str, connected: &Result<ProviderInfo, ProviderError>) -> Finding {
    match connected {
        Ok(info) => Finding::new(
            "reach",
            Verdict::Ok,
            format!("{base_url} answered: {}", info.server),
        ),
        // An answer about the credentials or the setup is an answer: the server is reached.
        Err(
            ProviderError::Auth { .. }
            | ProviderError::Forbidden { .. }
            | ProviderError::Setup { .. }
            | ProviderError::NotFound { .. },
        ) => Finding::new("reach", Verdict::Ok, format!("{base_url} answered")),
        // The transport's description names the cause and what to check.
        Err(ProviderError::Retryable { message, .. }) => Finding::new(
            "reach",
            Verdict::Error,
            format!("{base_url} could not be reached: {message}"),
        ),
        Err(e) => Finding::new(
            "reach",
            Verdict::Error,
            format!("{base_url} could not be reached: {e}"),
        )
        .fix("fix base_url or the network path"),
    }
}
