//! History size: the date range of the time entries the account holds
//! (`Provider::entry_span`), how many entries that is (counted in its newest four weeks and
//! extrapolated over the range), and what a first `--sync-once` plans for them: the scan
//! planner's own windows, one request per page of entries, the reference listings, and the
//! time that takes at the configured quotas and the pace the account answered at.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use timeweave_contract::{EntrySpan, Kind, ListScope, Provider, ProviderError, Window};
use timeweave_http::Quota;

use super::{Finding, Verdict};
use crate::ledger::Cursor;
use crate::progress_line::describe_duration;
use crate::sync::scan::{plan_scan, ScanInput, ScanSettings};

/// The newest days of the range whose entries are counted.
const SAMPLE_DAYS: i64 = 28;
/// Pages of them listed at most; beyond, the count is a lower bound.
const MAX_SAMPLE_PAGES: u32 = 5;

/// The entries listed in the newest part of the range.
struct Sample {
    window: Window,
    entries: u64,
    /// Every page of the window was listed.
    complete: bool,
    /// The time the account took per page.
    per_page: Duration,
}

pub(super) async fn finding(
    provider: &dyn Provider,
    scan: &ScanSettings,
    quotas: &[Quota],
) -> Finding {
    let now = Utc::now();
    let span = match provider.entry_span().await {
        Ok(span) => span,
        Err(e) => return warning(format!("the date range could not be read: {e}")),
    };
    let range = range_of(span, scan, now);
    let sample = match sample(provider, range).await {
        Ok(sample) => sample,
        Err(e) => return warning(format!("the newest entries could not be listed: {e}")),
    };
    let estimate = Estimate::new(range, &sample);
    let page = provider.capabilities().entry_page_size.max(1);
    let plan = first_sync_plan(span, scan, now, |w| estimate.pages_in(w, page));
    let references = Kind::ALL
        .into_iter()
        .filter(|k| *k != Kind::TimeEntry && provider.capabilities().support(*k).list)
        .count() as u32;
    let requests = plan.1 + references;
    let time = first_sync_time(requests, quotas, sample.per_page);
    Finding::new(
        "history",
        Verdict::Ok,
        format!(
            "{}; {}; a first --sync-once plans {requests} requests ({} time-entry windows at \
             {page} entries a page, {references} reference listings; more for what it pushes) \
             and takes about {} at the configured quotas and the {} ms a page took",
            describe_range(span, scan),
            estimate.describe(&sample),
            plan.0,
            describe_duration(time),
            sample.per_page.as_millis()
        ),
    )
}

fn warning(seen: String) -> Finding {
    Finding::new("history", Verdict::Warning, seen)
}

/// Where the entries lie: the reported span (its end exclusive), or from the horizon to
/// now; `None` for an empty account.
fn range_of(span: EntrySpan, scan: &ScanSettings, now: DateTime<Utc>) -> Option<Window> {
    match span {
        EntrySpan::Empty => None,
        EntrySpan::Between { oldest, newest } => {
            Some(Window::new(oldest, newest + chrono::Duration::seconds(1)))
        }
        EntrySpan::Unknown => Some(Window::new(scan.horizon.min(now), now)),
    }
}

fn describe_range(span: EntrySpan, scan: &ScanSettings) -> String {
    match span {
        EntrySpan::Between { oldest, newest } => {
            let (from, to) = (oldest.date_naive(), newest.date_naive());
            let days = (to - from).num_days() + 1;
            format!("entries start from {from} to {to} ({days} days)")
        }
        EntrySpan::Empty => "the account holds no time entries".to_owned(),
        EntrySpan::Unknown => format!(
            "this provider cannot tell its date range cheaply: a first sync scans back to \
             sync.deep_scan_horizon ({})",
            scan.horizon.date_naive()
        ),
    }
}

/// Lists the entries of the newest `SAMPLE_DAYS` of `range`, at most `MAX_SAMPLE_PAGES`.
async fn sample(provider: &dyn Provider, range: Option<Window>) -> Result<Sample, ProviderError> {
    let Some(range) = range else {
        return Ok(Sample {
            window: Window::new(Utc::now(), Utc::now()),
            entries: 0,
            complete: true,
            per_page: Duration::ZERO,
        });
    };
    let from = (range.to - chrono::Duration::days(SAMPLE_DAYS)).max(range.from);
    let window = Window::new(from, range.to);
    let started = Instant::now();
    let (mut entries, mut pages, mut token) = (0, 0, None);
    loop {
        let page = provider
            .list_page(Kind::TimeEntry, ListScope::StartedIn(window), token)
            .await?;
        entries += page.items.len() as u64;
        pages += 1;
        token = page.next;
        if token.is_none() || pages >= MAX_SAMPLE_PAGES {
            break;
        }
    }
    Ok(Sample {
        window,
        entries,
        complete: token.is_none(),
        per_page: started.elapsed() / pages,
    })
}

/// Entries per day in the sample, spread over the range.
struct Estimate {
    range: Option<Window>,
    per_day: f64,
}

impl Estimate {
    fn new(range: Option<Window>, sample: &Sample) -> Estimate {
        Estimate {
            range,
            per_day: sample.entries as f64 / days(sample.window).max(1.0 / 24.0),
        }
    }

    /// Entries expected in `w`: the density over the part of `w` inside the range.
    fn entries_in(&self, w: Window) -> f64 {
        let Some(range) = self.range else { return 0.0 };
        let overlap = Window::new(w.from.max(range.from), w.to.min(range.to));
        self.per_day * days(overlap).max(0.0)
    }

    fn pages_in(&self, w: Window, page: u32) -> u32 {
        ((self.entries_in(w) / f64::from(page)).ceil() as u32).max(1)
    }

    fn describe(&self, sample: &Sample) -> String {
        let Some(range) = self.range else {
            return "no entries to list".to_owned();
        };
        if sample.window == range && sample.complete {
            return format!("{} entries (every one counted)", sample.entries);
        }
        let total = self.entries_in(range).round() as u64;
        let (about, counted) = match sample.complete {
            true => ("about", "the"),
            false => ("at least", "the first"),
        };
        format!(
            "{about} {total} entries (extrapolated from {counted} {} that start from {} to {})",
            sample.entries,
            sample.window.from.date_naive(),
            sample.window.to.date_naive()
        )
    }
}

fn days(w: Window) -> f64 {
    (w.to - w.from).num_seconds() as f64 / 86_400.0
}

/// What a first `--sync-once` plans for the entries: the scan planner run to completion
/// from an empty cursor, `pages(window)` requests each: (windows, requests).
fn first_sync_plan(
    span: EntrySpan,
    scan: &ScanSettings,
    now: DateTime<Utc>,
    pages: impl Fn(Window) -> u32,
) -> (usize, u32) {
    let cursor = Cursor::default();
    let plan = plan_scan(
        &ScanInput {
            now,
            settings: *scan,
            cursor: &cursor,
            budget: None,
            change_feed: false,
            to_completion: true,
            oldest_known: None,
            span,
        },
        pages,
    );
    let requests = plan.windows.iter().map(|w| w.estimated_requests).sum();
    (plan.windows.len(), requests)
}

/// `requests` one after the other: each quota lets its count go at once, then one count
/// per window; and never faster than the account answers.
fn first_sync_time(requests: u32, quotas: &[Quota], per_page: Duration) -> Duration {
    let waited = quotas
        .iter()
        .map(|q| q.per * (requests.saturating_sub(1) / q.requests.max(1)))
        .max()
        .unwrap_or_default();
    waited.max(per_page * requests)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
    }

    #[test]
    fn the_time_is_the_tightest_quota_or_the_accounts_pace() {
        let quotas = [Quota::per_minute(100), Quota::per_hour(1000)];
        let fast = Duration::from_millis(10);
        assert_eq!(first_sync_time(100, &quotas, fast), Duration::from_secs(1));
        assert_eq!(first_sync_time(101, &quotas, fast), Duration::from_secs(60));
        assert_eq!(
            first_sync_time(2500, &quotas, fast),
            Duration::from_secs(2 * 3600),
            "the hourly quota binds"
        );
        assert_eq!(first_sync_time(10, &[], fast), Duration::from_millis(100));
    }

    #[test]
    fn a_sample_of_the_newest_weeks_is_spread_over_the_range() {
        let range = Some(Window::new(at(1) - chrono::Duration::days(280), at(1)));
        let sample = Sample {
            window: Window::new(at(1) - chrono::Duration::days(28), at(1)),
            entries: 56,
            complete: true,
            per_page: Duration::ZERO,
        };
        let e = Estimate::new(range, &sample);
        assert_eq!(
            e.describe(&sample),
            "about 560 entries (extrapolated from the 56 that start from 2026-02-01 to 2026-03-01)"
        );
        let ten_days = Window::new(at(1) - chrono::Duration::days(10), at(1));
        assert_eq!(e.pages_in(ten_days, 100), 1);
        assert_eq!(e.pages_in(ten_days, 7), 3, "20 entries");
        let before = Window::new(
            at(1) - chrono::Duration::days(900),
            at(1) - chrono::Duration::days(800),
        );
        assert_eq!(e.entries_in(before), 0.0, "nothing before the oldest");
    }

    #[test]
    fn a_range_inside_the_sample_is_counted_not_extrapolated() {
        let range = Window::new(at(1), at(3));
        let sample = Sample {
            window: range,
            entries: 7,
            complete: true,
            per_page: Duration::ZERO,
        };
        let e = Estimate::new(Some(range), &sample);
        assert_eq!(e.describe(&sample), "7 entries (every one counted)");
        let partial = Sample {
            complete: false,
            ..sample
        };
        assert!(e
            .describe(&partial)
            .starts_with("at least 7 entries (extrapolated from the first 7"));
    }
}
