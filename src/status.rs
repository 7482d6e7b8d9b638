//! Provider health and counters, computed from the ledger (and, in the daemon, the live
//! transport counters): one model behind `timeweave status`, `/healthz` and `/metrics`.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use timeweave_http::StatsSnapshot;

use crate::ledger::postgres::{holders, LeaseHolder};
use timeweave_contract::Kind;

use crate::ledger::{Cursor, Ledger, LedgerError, RunStatus, RunTotals, SyncRun, TrailMark};
use crate::sync::coverage::Coverage;

/// What the status needs to know about one configured provider instance.
#[derive(Clone, Debug)]
pub struct ProviderFacts {
    pub name: String,
    pub kind: String,
    pub mode: String,
    pub schedule: String,
    /// The time between two scheduled cycles.
    pub interval: Duration,
    /// Live transport counters since the process started (daemon only).
    pub live: Option<StatsSnapshot>,
    /// The daemon's own measure of progress, on the monotonic clock (daemon only).
    pub uptime: Option<Uptime>,
}

/// What the daemon measures of an instance on the monotonic clock: setting the wall clock
/// back or forward changes neither, so health and the watchdog follow real time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uptime {
    /// Since this process started.
    pub since_start: Duration,
    /// Since this process's last successful cycle of the instance (`None`: none yet).
    pub since_success: Option<Duration>,
}

/// Seconds since the instance's last successful cycle: the daemon's monotonic measure when
/// it has one, else the ledger's record against the wall clock (never negative).
pub fn lag_seconds(
    facts: &ProviderFacts,
    last_success: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<i64> {
    match facts.uptime.and_then(|u| u.since_success) {
        Some(d) => Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        None => last_success.map(|t| (now - t).num_seconds().max(0)),
    }
}

#[derive(Clone, Debug)]
pub struct ProviderStatus {
    pub facts: ProviderFacts,
    pub last_run: Option<SyncRun>,
    pub totals: RunTotals,
    pub open_conflicts: i64,
    pub pending_pushes: i64,
    pub record_issues: i64,
    /// Seconds since the last successful cycle finished (`None`: never).
    pub lag_seconds: Option<i64>,
    /// Where its change trail was last read, and whether that read proved complete
    /// (`None`: no trail, or never read).
    pub trail: Option<TrailMark>,
    /// The entry cursor: how far the deep scan has come (during the first pass, new entries
    /// dated below it wait to be created there: `sync/coverage.rs`).
    pub history: Cursor,
    /// `None` when healthy; otherwise why not.
    pub problem: Option<String>,
    /// On a shared PostgreSQL ledger: who holds the instance's lease (`None`: SQLite, or
    /// never leased).
    pub lease: Option<LeaseHolder>,
}

impl ProviderStatus {
    pub fn healthy(&self) -> bool {
        self.problem.is_none()
    }
}

/// A provider is healthy when its last cycle succeeded (ok, or partial: finished with some
/// records or windows to retry) and finished within two intervals plus a minute.
pub async fn collect(
    ledger: &Ledger,
    providers: &[ProviderFacts],
    now: DateTime<Utc>,
) -> Result<Vec<ProviderStatus>, LedgerError> {
    let leases = match ledger.postgres_pool() {
        Some(pool) => holders(pool).await?,
        None => Vec::new(),
    };
    let mut tx = ledger.read().await?;
    let mut out = Vec::with_capacity(providers.len());
    for facts in providers {
        let last_run = tx
            .recent_runs(Some(&facts.name), 1)
            .await?
            .into_iter()
            .next();
        let totals = tx.run_totals(&facts.name).await?;
        let lag_seconds = lag_seconds(facts, totals.last_success, now);
        let allowed = facts.interval.as_secs() as i64 * 2 + 60;
        let problem = match (&last_run, lag_seconds) {
            (None, _) => Some("no cycle has run yet".to_owned()),
            (Some(run), _) if run.status == RunStatus::Failed => Some(format!(
                "the last cycle failed: {}",
                run.errors
                    .last()
                    .map(String::as_str)
                    .unwrap_or("see the logs")
            )),
            (Some(_), None) => Some("no cycle has succeeded yet".to_owned()),
            (Some(_), Some(lag)) if lag > allowed => Some(format!(
                "the last successful cycle finished {lag} s ago (expected every {} s)",
                facts.interval.as_secs()
            )),
            _ => None,
        };
        out.push(ProviderStatus {
            open_conflicts: tx.count_open_conflicts(Some(&facts.name)).await?,
            pending_pushes: tx.count_intents(Some(&facts.name)).await?,
            record_issues: tx.count_issues(&facts.name).await?,
            trail: tx.trail_mark(&facts.name).await?,
            history: tx.cursor(&facts.name, Kind::TimeEntry).await?,
            facts: facts.clone(),
            last_run,
            totals,
            lag_seconds,
            problem,
            lease: leases.iter().find(|l| l.provider == facts.name).cloned(),
        });
    }
    Ok(out)
}

/// The `/healthz` body: `{"healthy": bool, "providers": {name: {"healthy", "problem"}}}`.
pub fn health_json(statuses: &[ProviderStatus]) -> serde_json::Value {
    let providers: serde_json::Map<String, serde_json::Value> = statuses
        .iter()
        .map(|s| {
            (
                s.facts.name.clone(),
                serde_json::json!({
                    "healthy": s.healthy(),
                    "problem": s.problem,
                    "last_status": s.last_run.as_ref().map(|r| r.status.as_str()),
                    "lag_seconds": s.lag_seconds,
                }),
            )
        })
        .collect();
    serde_json::json!({
        "healthy": statuses.iter().all(ProviderStatus::healthy),
        "providers": providers,
    })
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family: its help, type and one line per labelled value.
fn family(out: &mut String, name: &str, kind: &str, help: &str, rows: Vec<(String, f64)>) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in rows {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

/// Prometheus text exposition of every provider's counters and gauges.
pub fn metrics_text(statuses: &[ProviderStatus]) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "timeweave_build_info",
        "gauge",
        "This timeweave's version (always 1).",
        vec![(
            format!("version=\"{}\"", escape(env!("CARGO_PKG_VERSION"))),
            1.0,
        )],
    );
    cycles_total(&mut out, statuses);
    cycle_durations(&mut out, statuses);
    let all: Vec<&ProviderStatus> = statuses.iter().collect();
    per_provider(&mut out, &all, &TOTALS);
    let live: Vec<&ProviderStatus> = statuses.iter().filter(|s| s.facts.live.is_some()).collect();
    if !live.is_empty() {
        per_provider(&mut out, &live, &PROCESS);
    }
    lease_held(&mut out, statuses);
    let leased: Vec<&ProviderStatus> = statuses.iter().filter(|s| s.lease.is_some()).collect();
    per_provider(&mut out, &leased, &LEASE);
    per_provider(&mut out, &all, &STATE);
    out
}

/// The `provider` label of a status's lines.
fn provider_label(s: &ProviderStatus) -> String {
    format!("provider=\"{}\"", escape(&s.facts.name))
}

/// A family with one line per provider: its name, type, help and the provider's value.
type PerProvider = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ProviderStatus) -> f64,
);

/// Each of `families`, with a line for each of `of`.
fn per_provider(out: &mut String, of: &[&ProviderStatus], families: &[PerProvider]) {
    for (name, kind, help, value) in families {
        let rows = of.iter().map(|s| (provider_label(s), value(s))).collect();
        family(out, name, kind, help, rows);
    }
}

/// A counter family of the ledger's run totals: name, help, and the `RunCounts` field.
macro_rules! run_totals {
    ($($name:literal, $help:literal, $field:ident;)*) => {
        [$(($name, "counter", $help, |s: &ProviderStatus| s.totals.counts.$field as f64),)*]
    };
}

/// Totals of the ledger's history of finished cycles.
const TOTALS: [PerProvider; 9] = run_totals![
    "timeweave_records_pulled_total", "Records listed from the provider.", pulled;
    "timeweave_records_created_total", "Ledger records created from the provider.", created;
    "timeweave_records_updated_total", "Ledger records updated from the provider.", updated;
    "timeweave_records_deleted_total", "Ledger records deleted because the provider deleted them.", deleted;
    "timeweave_records_pushed_total", "Creates, updates and deletes sent to the provider.", pushed;
    "timeweave_conflicts_total", "Conflicts detected with the provider.", conflicts;
    "timeweave_records_skipped_total", "Records skipped with a recorded reason.", skipped;
    "timeweave_requests_total", "HTTP requests made to the provider (ledger history of finished cycles).", requests;
    "timeweave_rate_limited_total", "429 answers from the provider (ledger history of finished cycles).", rate_limited;
];

/// This process's own transport counters (the daemon's instances).
const PROCESS: [PerProvider; 2] = [
    (
        "timeweave_process_requests_total",
        "counter",
        "HTTP requests made to the provider by this process, including the running cycle.",
        |s| s.facts.live.map(|l| l.requests).unwrap_or(0) as f64,
    ),
    (
        "timeweave_process_rate_limited_total",
        "counter",
        "429 answers received by this process.",
        |s| s.facts.live.map(|l| l.rate_limited).unwrap_or(0) as f64,
    ),
];

/// The lease on a shared PostgreSQL ledger (instances that have one).
const LEASE: [PerProvider; 2] = [
    (
        "timeweave_lease_expiry_timestamp_seconds",
        "gauge",
        "When the instance's lease runs out unless renewed (Unix time, the database's clock).",
        |s| s.lease.as_ref().map_or(0, |l| l.expires_at.timestamp()) as f64,
    ),
    (
        "timeweave_lease_fencing_token",
        "gauge",
        "The instance's current fencing token (one more each time it changes hands).",
        |s| s.lease.as_ref().map_or(0, |l| l.token.0) as f64,
    ),
];

/// What stands open and how recent the last success is.
const STATE: [PerProvider; 6] = [
    (
        "timeweave_open_conflicts",
        "gauge",
        "Conflicts waiting for an operator.",
        |s| s.open_conflicts as f64,
    ),
    (
        "timeweave_pending_pushes",
        "gauge",
        "Push intents whose outcome is not recorded yet.",
        |s| s.pending_pushes as f64,
    ),
    (
        "timeweave_record_issues",
        "gauge",
        "Records standing skipped with a recorded reason.",
        |s| s.record_issues as f64,
    ),
    (
        "timeweave_last_success_timestamp_seconds",
        "gauge",
        "When the last successful cycle finished (Unix time; 0: never).",
        |s| s.totals.last_success.map(|t| t.timestamp()).unwrap_or(0) as f64,
    ),
    (
        "timeweave_seconds_since_last_success",
        "gauge",
        "Seconds since the last successful cycle finished (-1: never).",
        |s| s.lag_seconds.unwrap_or(-1) as f64,
    ),
    (
        "timeweave_healthy",
        "gauge",
        "1 when the provider is healthy (see /healthz).",
        |s| if s.healthy() { 1.0 } else { 0.0 },
    ),
];

/// `timeweave_cycles_total`: every result of every provider, 0 included, so that a series
/// never comes and goes with a cycle.
fn cycles_total(out: &mut String, statuses: &[ProviderStatus]) {
    let rows = statuses
        .iter()
        .flat_map(|s| {
            FINISHED.iter().map(move |result| {
                let n = s
                    .totals
                    .cycles
                    .iter()
                    .find(|(r, _)| r == result.as_str())
                    .map_or(0, |(_, n)| *n);
                let labels = format!("{},result=\"{}\"", provider_label(s), result.as_str());
                (labels, n as f64)
            })
        })
        .collect();
    family(
        out,
        "timeweave_cycles_total",
        "counter",
        "Finished sync cycles by result.",
        rows,
    );
}

/// `timeweave_lease_held`: 1 or 0 for each instance with a lease, labelled with its owner.
fn lease_held(out: &mut String, statuses: &[ProviderStatus]) {
    let rows = statuses
        .iter()
        .filter_map(|s| s.lease.as_ref().map(|l| (s, l)))
        .map(|(s, l)| {
            let owner = escape(l.owner.as_deref().unwrap_or(""));
            let held = if l.live { 1.0 } else { 0.0 };
            (format!("{},owner=\"{owner}\"", provider_label(s)), held)
        })
        .collect();
    family(
        out,
        "timeweave_lease_held",
        "gauge",
        "1 while the instance's lease on a shared PostgreSQL ledger is held (by `owner`), else 0.",
        rows,
    );
}

/// The results a finished cycle can have.
const FINISHED: [RunStatus; 4] = [
    RunStatus::Ok,
    RunStatus::Partial,
    RunStatus::Failed,
    RunStatus::Interrupted,
];

/// `timeweave_cycle_duration_seconds`: this process's cycles of each provider.
fn cycle_durations(out: &mut String, statuses: &[ProviderStatus]) {
    let name = "timeweave_cycle_duration_seconds";
    let _ = writeln!(out, "# HELP {name} How long cycles took (this process).");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for s in statuses {
        let p = escape(&s.facts.name);
        let h = crate::cycle_durations::of(&s.facts.name);
        for (bound, n) in h.cumulative() {
            let _ = writeln!(out, "{name}_bucket{{provider=\"{p}\",le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{provider=\"{p}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(out, "{name}_sum{{provider=\"{p}\"}} {}", h.sum_seconds);
        let _ = writeln!(out, "{name}_count{{provider=\"{p}\"}} {}", h.count);
    }
}

/// Whether an instance is getting anywhere: a cycle succeeded within two schedule
/// intervals and a minute, counting from `since` (the process start) when none has since.
/// What the systemd watchdog is pinged on: failed cycles, a guard tripping every cycle, a
/// binding mismatch or a cycle running far beyond its interval all stop it.
/// In the daemon the measure is its own, on the monotonic clock.
pub fn making_progress(s: &ProviderStatus, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let allowed = s.facts.interval.as_secs() as i64 * 2 + 60;
    if let Some(u) = s.facts.uptime {
        let quiet = u.since_success.unwrap_or(u.since_start).as_secs();
        return i64::try_from(quiet).unwrap_or(i64::MAX) <= allowed;
    }
    let from = s.totals.last_success.map_or(since, |t| t.max(since));
    (now - from).num_seconds() <= allowed
}

/// Who holds a lease, in words.
fn lease_text(l: &LeaseHolder) -> String {
    let until = l.expires_at.format("%Y-%m-%d %H:%M:%S UTC");
    match (&l.owner, l.live) {
        (Some(owner), true) => format!("held by {owner} (token {}) until {until}", l.token.0),
        (Some(owner), false) => {
            format!("expired at {until} (last held by {owner}): free for any node")
        }
        (None, _) => "released: free for any node".to_owned(),
    }
}

/// `timeweave status` output: one block per provider.
pub fn render_text(statuses: &[ProviderStatus]) -> String {
    let mut out = String::new();
    for s in statuses {
        let _ = writeln!(
            out,
            "{} ({}, mode {}, schedule \"{}\"): {}",
            s.facts.name,
            s.facts.kind,
            s.facts.mode,
            s.facts.schedule,
            match &s.problem {
                None => "healthy".to_owned(),
                Some(p) => format!("UNHEALTHY: {p}"),
            }
        );
        match &s.last_run {
            Some(r) => {
                let c = &r.counts;
                let _ = writeln!(
                    out,
                    "  last cycle: {} at {} ({} pulled, {} created, {} updated, {} deleted, {} pushed, {} conflicts, {} skipped, {} requests, {} throttled)",
                    r.status.as_str(),
                    r.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    c.pulled, c.created, c.updated, c.deleted, c.pushed, c.conflicts, c.skipped, c.requests, c.rate_limited
                );
                for e in r.errors.iter().take(5) {
                    let _ = writeln!(out, "    error: {e}");
                }
            }
            None => {
                let _ = writeln!(out, "  last cycle: never");
            }
        }
        if let Some(line) = trail_line(s.trail.as_ref()) {
            let _ = writeln!(out, "{line}");
        }
        if let Some(line) = history_line(&s.history).filter(|_| s.facts.mode != "pull") {
            let _ = writeln!(out, "{line}");
        }
        let _ =
            writeln!(
            out,
            "  last success: {}   open conflicts: {}   pending pushes: {}   skipped records: {}",
            s.lag_seconds.map(|l| format!("{l} s ago")).unwrap_or_else(|| "never".into()),
            s.open_conflicts,
            s.pending_pushes,
            s.record_issues
        );
        if let Some(l) = &s.lease {
            let _ = writeln!(out, "  lease: {}", lease_text(l));
        }
    }
    out
}

/// How the instance finds changes, by its change trail's last read.
fn trail_line(mark: Option<&TrailMark>) -> Option<String> {
    let mark = mark?;
    let at = mark
        .saved_at
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "an unknown time".into());
    Some(match &mark.last_gap {
        None => format!("  change trail: read at {at}, complete: cycles fetch what changed"),
        Some(gap) => format!(
            "  change trail: read at {at}, could not prove it is complete ({gap}): windowed scans find changes"
        ),
    })
}

/// How far the first history scan has come, while it is under way (`None` once done);
/// shown for instances timeweave writes to, where new entries wait for it.
fn history_line(cursor: &Cursor) -> Option<String> {
    let unlisted = Coverage::after(cursor, None).not_yet_below()?;
    Some(format!(
        "  history: first scan under way: new entries dated {unlisted} wait to be created \
         here until it lists them"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, last_success: Option<DateTime<Utc>>) -> ProviderStatus {
        ProviderStatus {
            facts: ProviderFacts {
                name: name.into(),
                kind: "timetracker".into(),
                mode: "both".into(),
                schedule: "0 */5 * * * *".into(),
                interval: Duration::from_secs(300),
                live: None,
                uptime: None,
            },
            last_run: None,
            totals: RunTotals {
                cycles: vec![("ok".into(), 3)],
                last_success,
                ..RunTotals::default()
            },
            open_conflicts: 0,
            pending_pushes: 0,
            record_issues: 0,
            lag_seconds: None,
            trail: None,
            history: Cursor {
                deep_scan_position: None,
                deep_scan_passes: 1,
                change_watermark: None,
            },
            problem: None,
            lease: None,
        }
    }

    #[test]
    fn status_says_how_far_the_first_history_scan_has_come() {
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut s = status("tt", Some(at));
        assert!(
            !render_text(&[s.clone()]).contains("history:"),
            "a finished pass says nothing"
        );
        s.history.deep_scan_passes = 0;
        assert!(render_text(&[s.clone()])
            .contains("history: first scan under way: new entries dated anywhere wait"));
        s.history.deep_scan_position = Some(at);
        let text = render_text(&[s.clone()]);
        assert!(
            text.contains(
                "history: first scan under way: new entries dated before 2027-01-15 wait"
            ),
            "{text}"
        );
        s.facts.mode = "pull".into();
        assert!(
            !render_text(&[s]).contains("history:"),
            "nothing waits on a pull-only instance"
        );
    }

    #[test]
    fn status_and_metrics_name_the_lease_holder() {
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut s = status("tt", Some(at));
        s.lease = Some(LeaseHolder {
            provider: "tt".into(),
            owner: Some("node-1/42".into()),
            token: crate::ledger::postgres::FencingToken(3),
            acquired_at: at,
            expires_at: at,
            live: true,
        });
        let text = render_text(std::slice::from_ref(&s));
        assert!(
            text.contains("lease: held by node-1/42 (token 3)"),
            "{text}"
        );
        let metrics = metrics_text(std::slice::from_ref(&s));
        assert!(
            metrics.contains("timeweave_lease_held{provider=\"tt\",owner=\"node-1/42\"} 1"),
            "{metrics}"
        );
        for line in [
            "timeweave_lease_expiry_timestamp_seconds{provider=\"tt\"} 1800000000",
            "timeweave_lease_fencing_token{provider=\"tt\"} 3",
        ] {
            assert!(metrics.contains(line), "{line} missing in\n{metrics}");
        }
        s.lease = None;
        assert!(!render_text(&[s]).contains("lease"));
    }

    #[test]
    fn progress_is_a_success_within_two_intervals_counted_from_the_start() {
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let min = chrono::Duration::minutes;
        let cases = [
            // (last success, process start, now, making progress)
            (None, t0, t0 + min(5), true),
            (None, t0, t0 + min(12), false),
            (Some(t0 + min(9)), t0, t0 + min(19), true),
            (Some(t0 + min(1)), t0, t0 + min(13), false),
            // A success long before this process started: counted from the start.
            (Some(t0 - min(600)), t0, t0 + min(10), true),
            (Some(t0 - min(600)), t0, t0 + min(12), false),
        ];
        for (i, (last, since, now, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                making_progress(&status("tt", last), since, now),
                expected,
                "case {i}"
            );
        }
    }

    /// The wall clock set back an hour after the last success: the ledger's record lies in
    /// the future and reads as "just now". The daemon's monotonic measure still sees the
    /// instance quiet for 20 minutes: unhealthy, no watchdog ping.
    #[test]
    fn the_daemon_judges_progress_on_the_monotonic_clock() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let recorded = Some(now + chrono::Duration::minutes(40));
        let min = |m: u64| Duration::from_secs(m * 60);
        let with = |since_success: Option<Duration>| {
            let mut s = status("tt", recorded);
            s.facts.uptime = Some(Uptime {
                since_start: min(60),
                since_success,
            });
            s
        };
        let quiet = with(Some(min(20)));
        assert_eq!(lag_seconds(&quiet.facts, recorded, now), Some(1200));
        assert!(!making_progress(&quiet, now, now));
        let busy = with(Some(min(4)));
        assert_eq!(lag_seconds(&busy.facts, recorded, now), Some(240));
        assert!(making_progress(&busy, now, now));
        // No success in this process yet: quiet since it started.
        assert!(!making_progress(&with(None), now, now));
        // Outside the daemon (`status`): the ledger's record, never negative.
        let plain = status("tt", recorded);
        assert_eq!(lag_seconds(&plain.facts, recorded, now), Some(0));
        assert_eq!(
            lag_seconds(&plain.facts, Some(now - chrono::Duration::minutes(7)), now),
            Some(420)
        );
    }

    #[test]
    fn metrics_keep_every_series_and_name_the_build() {
        let text = metrics_text(&[status("tt", None)]);
        for line in [
            "timeweave_build_info{version=\"",
            "timeweave_cycles_total{provider=\"tt\",result=\"ok\"} 3",
            "timeweave_cycles_total{provider=\"tt\",result=\"failed\"} 0",
            "timeweave_cycles_total{provider=\"tt\",result=\"interrupted\"} 0",
            "timeweave_cycle_duration_seconds_bucket{provider=\"tt\",le=\"+Inf\"}",
            "timeweave_cycle_duration_seconds_count{provider=\"tt\"}",
            "# TYPE timeweave_cycle_duration_seconds histogram",
            "timeweave_seconds_since_last_success{provider=\"tt\"} -1",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        assert!(!text.contains("result=\"running\""), "{text}");
        assert!(!text.contains("cursor_lag"), "{text}");
    }
}
