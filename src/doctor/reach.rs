//! Reach: whether the server at `base_url` answered at all (DNS, TCP, TLS, HTTP). "Could
//! not be reached" is said only when no request got an answer (the transport's own
//! description, `timeweave_http::describe_failure`, the text `sync` and `run` show); a
//! server that answered with a throttle, a server error, a gateway page or a refusal
//! "answered, but …", with its own cause and fix.

use timeweave_contract::{ProviderError, ProviderInfo};

use super::{Finding, Verdict};

const CHECK: &str = "reach";

/// `answered`: whether any request of the connect got an answer from the server.
pub(super) fn finding(
    base_url: &str,
    connected: &Result<ProviderInfo, ProviderError>,
    answered: bool,
) -> Finding {
    match connected {
        Ok(info) => Finding::new(
            CHECK,
            Verdict::Ok,
            format!("{base_url} answered: {}", info.server),
        ),
        // An answer about the credentials or the setup is an answer: the server is reached.
        Err(
            ProviderError::Auth { .. }
            | ProviderError::Forbidden { .. }
            | ProviderError::Setup { .. }
            | ProviderError::NotFound { .. },
        ) => Finding::new(CHECK, Verdict::Ok, format!("{base_url} answered")),
        Err(e) if answered => answered_but(base_url, e),
        // The transport's description names the cause and what to check.
        Err(ProviderError::Retryable { message, .. }) => Finding::new(
            CHECK,
            Verdict::Error,
            format!("{base_url} could not be reached: {message}"),
        ),
        Err(e) => Finding::new(
            CHECK,
            Verdict::Error,
            format!("{base_url} could not be reached: {e}"),
        )
        .fix("fix base_url or the network path"),
    }
}

/// The server answered, but not with what timeweave asked for.
fn answered_but(base_url: &str, e: &ProviderError) -> Finding {
    let (cause, fix) = match e {
        ProviderError::RateLimited { .. } => (
            "throttled the request",
            "wait until the provider's limit resets and run doctor again; if it persists, \
             lower this instance's quotas (another client may share the account's budget)",
        ),
        ProviderError::Retryable { .. } => (
            "with a server or gateway error",
            "the provider's server (or a proxy in front of it) is failing: try again later, \
             and check the provider's status page or the proxy",
        ),
        ProviderError::Malformed { .. } => (
            "not in the API's documented shape (a web page, a login portal or a proxy?)",
            "check that base_url points at the API itself, and that no proxy or captive \
             portal answers in its place",
        ),
        ProviderError::Rejected { .. } | ProviderError::Conflict { .. } => (
            "refused the request",
            "check base_url (the API's path and version) against the provider's documentation",
        ),
        _ => (
            "could not be used",
            "see the cause; `timeweave check` validates the rest of the config",
        ),
    };
    Finding::new(
        CHECK,
        Verdict::Error,
        format!("{base_url} answered, but {cause}: {e}"),
    )
    .fix(fix)
}
