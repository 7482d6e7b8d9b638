//! Rate limits: the configured quotas, the requests a scheduled cycle may make within them,
//! and the rate-limit headers the provider sent while doctor talked to it.

use timeweave_http::TransportStats;

use super::{Finding, Verdict};
use crate::config::summary::quota;
use crate::config::ProviderConfig;

pub(super) fn finding(
    p: &ProviderConfig,
    budget: Option<u32>,
    stats: Option<&TransportStats>,
) -> Finding {
    let quotas: Vec<String> = p.quotas.iter().map(quota).collect();
    let configured = match quotas.is_empty() {
        true => "no client-side quota".to_owned(),
        false => format!("configured {}", quotas.join(" and ")),
    };
    let per_cycle = match budget {
        Some(n) => format!("; a scheduled cycle makes at most {n} requests"),
        None => String::new(),
    };
    let headers = stats
        .map(TransportStats::rate_limit_headers)
        .unwrap_or_default();
    let seen = match headers.is_empty() {
        true => "no rate-limit headers seen".to_owned(),
        false => {
            let shown: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("headers seen: {}", shown.join(", "))
        }
    };
    Finding::new(
        "rate limits",
        Verdict::Ok,
        format!("{configured}{per_cycle}; {seen}"),
    )
}
