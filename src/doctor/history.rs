//! History size: the date range of the time entries the account holds, where the adapter
//! can tell cheaply (`Provider::entry_span`).

use timeweave_contract::{EntrySpan, Provider};

use super::{Finding, Verdict};

pub(super) async fn finding(provider: &dyn Provider) -> Finding {
    match provider.entry_span().await {
        Ok(EntrySpan::Between { oldest, newest }) => Finding::new(
            "history",
            Verdict::Ok,
            format!(
                "entries start from {} to {} ({} days)",
                oldest.format("%Y-%m-%d"),
                newest.format("%Y-%m-%d"),
                (newest.date_naive() - oldest.date_naive()).num_days() + 1
            ),
        ),
        Ok(EntrySpan::Empty) => Finding::new("history", Verdict::Ok, "the account holds no time entries"),
        Ok(EntrySpan::Unknown) => Finding::new(
            "history",
            Verdict::Ok,
            "this provider cannot tell its date range cheaply: a first sync scans back to sync.deep_scan_horizon",
        ),
        Err(e) => Finding::new(
            "history",
            Verdict::Warning,
            format!("the date range could not be read: {e}"),
        ),
    }
}
