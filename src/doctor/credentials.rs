//! Credentials and rights: whether the account accepted the credentials (401/403 and the
//! providers' in-envelope refusals, as the adapters map them) and who they act as.

use timeweave_contract::{ProviderError, ProviderInfo};

use super::{Finding, Verdict};
use crate::config::ProviderConfig;

pub(super) fn findings(
    p: &ProviderConfig,
    connected: &Result<ProviderInfo, ProviderError>,
) -> Vec<Finding> {
    match connected {
        Ok(info) => vec![accepted(info)],
        Err(e @ ProviderError::Auth { .. }) => vec![Finding::new(
            "credentials",
            Verdict::Error,
            format!("the credentials were refused ({e})"),
        )
        .fix(format!(
            "set a valid api_secret{} in [providers.{}] (a revoked or mistyped token?)",
            if p.api_key.is_some() { " and api_key" } else { "" },
            p.name
        ))],
        Err(e @ ProviderError::Forbidden { .. }) => vec![Finding::new(
            "credentials",
            Verdict::Error,
            format!("the credentials are valid but lack a right timeweave needs ({e})"),
        )
        .fix("give the token's user the rights to read the time entries (an admin token sees every user's)")],
        Err(e @ (ProviderError::Setup { .. } | ProviderError::NotFound { .. })) => {
            vec![Finding::new("setup", Verdict::Error, e.to_string())
                .fix("see above; `timeweave check` validates the rest of the config")]
        }
        // Not reached: the reach finding says why; nothing is known about the credentials.
        Err(_) => Vec::new(),
    }
}

fn accepted(info: &ProviderInfo) -> Finding {
    match &info.account {
        Some(account) => Finding::new(
            "credentials",
            Verdict::Ok,
            format!("credentials accepted; they act as {account}"),
        )
        .private(account),
        None => Finding::new("credentials", Verdict::Ok, "credentials accepted"),
    }
}
