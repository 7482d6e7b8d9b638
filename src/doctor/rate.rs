//! Rate limits: the configured quotas, the requests a scheduled cycle plans for the time
//! entries (the scan planner, from the ledger's cursor, within the cycle's budget), and the
//! rate-limit headers the provider sent while doctor talked to it.

use timeweave_http::TransportStats;

use super::history::Scheduled;
use super::{Finding, Verdict};
use crate::config::summary::quota;
use crate::config::ProviderConfig;

pub(super) fn finding(
    p: &ProviderConfig,
    budget: Option<u32>,
    scheduled: Option<Scheduled>,
    stats: Option<&TransportStats>,
) -> Finding {
    let quotas: Vec<String> = p.quotas.iter().map(quota).collect();
    let configured = match quotas.is_empty() {
        true => "no client-side quota".to_owned(),
        false => format!("configured {}", quotas.join(" and ")),
    };
    let cap = match budget {
        Some(n) => format!("within its budget of {n}"),
        None => "with no budget".to_owned(),
    };
    let per_cycle = match scheduled {
        Some(s) => format!(
            "; a scheduled cycle plans {} requests for time entries ({} listing windows, \
             from the ledger's cursor) {cap}, besides the reference listings",
            s.requests, s.windows
        ),
        None => match budget {
            Some(n) => format!("; a scheduled cycle makes at most {n} requests"),
            None => String::new(),
        },
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
