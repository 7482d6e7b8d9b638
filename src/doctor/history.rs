//! History size: the date range of the time entries the account holds, where the adapter
//! can tell cheaply (`Provider::entry_span`), and the least a first `--sync-once` takes to
//! list it within the configured quotas.

use chrono::{NaiveDate, Utc};
use timeweave_contract::{EntrySpan, Kind, Provider};
use timeweave_http::Quota;

use super::{Finding, Verdict};
use crate::config::SyncConfig;

pub(super) async fn finding(
    provider: &dyn Provider,
    sync: &SyncConfig,
    quotas: &[Quota],
) -> Finding {
    let today = Utc::now().date_naive();
    let (seen, days) = match provider.entry_span().await {
        Ok(EntrySpan::Between { oldest, newest }) => {
            let (from, to) = (oldest.date_naive(), newest.date_naive());
            let days = (to - from).num_days() + 1;
            (
                format!("entries start from {from} to {to} ({days} days)"),
                days,
            )
        }
        Ok(EntrySpan::Empty) => ("the account holds no time entries".to_owned(), 0),
        Ok(EntrySpan::Unknown) => (
            format!(
                "this provider cannot tell its date range cheaply: a first sync scans back to \
                 sync.deep_scan_horizon ({})",
                sync.deep_scan_horizon
            ),
            days_since(sync.deep_scan_horizon, today),
        ),
        Err(e) => {
            return Finding::new(
                "history",
                Verdict::Warning,
                format!("the date range could not be read: {e}"),
            )
        }
    };
    Finding::new(
        "history",
        Verdict::Ok,
        format!(
            "{seen}; {}",
            first_sync(days, sync.deep_scan_slice_days, quotas)
        ),
    )
}

fn days_since(date: NaiveDate, today: NaiveDate) -> i64 {
    (today - date).num_days().max(0) + 1
}

/// The least a first `--sync-once` lists: one request per reference kind and per deep-scan
/// slice (more where a slice holds more than a page), at the tightest quota's pace.
fn first_sync(days: i64, slice_days: u32, quotas: &[Quota]) -> String {
    let slices = (days.max(0) as u64).div_ceil(u64::from(slice_days.max(1)));
    let requests = slices + (Kind::ALL.len() as u64 - 1);
    let pace = quotas
        .iter()
        .map(|q| q.per.as_secs_f64() / f64::from(q.requests.max(1)))
        .fold(0.0, f64::max);
    let seconds = (requests as f64 * pace).ceil() as u64;
    format!(
        "a first --sync-once makes at least {requests} listing requests (one per \
         {slice_days}-day slice, more where a slice holds more than a page): at least {} at \
         the configured quotas",
        duration(seconds)
    )
}

fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s.div_ceil(60)),
        s => format!("{:.1} h", s as f64 / 3600.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_sync_estimate_counts_slices_and_reference_kinds_at_the_tightest_pace() {
        let quotas = [Quota::per_second(10), Quota::per_minute(60)];
        assert!(
            first_sync(365, 30, &quotas).contains("at least 17 listing requests"),
            "13 slices and 4 reference kinds"
        );
        assert!(
            first_sync(365, 30, &quotas).contains("at least 17 s"),
            "one per second"
        );
        assert!(first_sync(0, 30, &[]).contains("at least 4 listing requests"));
        assert!(first_sync(0, 30, &[]).contains("at least 0 s"));
        assert_eq!(duration(7200), "2.0 h");
        assert_eq!(duration(600), "10 min");
    }
}
