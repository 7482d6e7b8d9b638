//! The text of `--sync-once`'s progress line (the bar's message on a terminal, a log line
//! every 10 s otherwise): where the cycle is, what its requests are waiting for (the
//! transport's [`Wait`]), and an ETA from the observed pace of the planned windows, left
//! out when it cannot be estimated. Pure: the caller passes the clock's readings.

use std::time::{Duration, Instant};

use timeweave_http::WaitReason;

use crate::sync::Progress;

/// What the last progress report said, kept for the next tick.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub provider: String,
    pub phase: String,
    pub windows_done: usize,
    pub windows_total: usize,
    pub pulled: i64,
    pub created: i64,
    pub updated: i64,
    pub pushed: i64,
    pub requests: u64,
}

impl Snapshot {
    pub fn of(p: &Progress<'_>) -> Snapshot {
        Snapshot {
            provider: p.provider.to_owned(),
            phase: p.phase.to_owned(),
            windows_done: p.windows_done.min(p.windows_total),
            windows_total: p.windows_total,
            pulled: p.counts.pulled,
            created: p.counts.created,
            updated: p.counts.updated,
            pushed: p.counts.pushed,
            requests: p.requests,
        }
    }
}

/// When the current cycle was first seen listing its planned windows, to time them.
#[derive(Clone, Debug, Default)]
pub struct WindowClock {
    timing: Option<Timing>,
}

/// The cycle being timed: its provider and plan, and how far it was when first seen.
#[derive(Clone, Debug)]
struct Timing {
    provider: String,
    windows_total: usize,
    windows_done: usize,
    at: Instant,
}

impl WindowClock {
    /// Notes a progress report made at `now`: a new provider or a new plan restarts it.
    pub fn observe(&mut self, s: &Snapshot, now: Instant) {
        if s.windows_total == 0 {
            self.timing = None;
            return;
        }
        let same_cycle = self
            .timing
            .as_ref()
            .is_some_and(|t| t.provider == s.provider && t.windows_total == s.windows_total);
        if !same_cycle {
            self.timing = Some(Timing {
                provider: s.provider.clone(),
                windows_total: s.windows_total,
                windows_done: s.windows_done,
                at: now,
            });
        }
    }

    /// Time left for the remaining windows at the pace of those done while timed.
    pub fn eta(&self, s: &Snapshot, now: Instant) -> Option<Duration> {
        let t = self.timing.as_ref()?;
        eta(
            s.windows_done.saturating_sub(t.windows_done),
            s.windows_total.saturating_sub(s.windows_done),
            now.saturating_duration_since(t.at),
        )
    }
}

/// `remaining` windows at the pace of `done` windows in `elapsed`; `None` before one is
/// done (nothing to go by) and once none remain (what is left is not windows).
pub fn eta(done: usize, remaining: usize, elapsed: Duration) -> Option<Duration> {
    if done == 0 || remaining == 0 {
        return None;
    }
    let per_window = elapsed.checked_div(u32::try_from(done).ok()?)?;
    per_window.checked_mul(u32::try_from(remaining).ok()?)
}

/// A wait in words, with the time left (rounded up); `None` once it is over (the request
/// is about to go).
pub fn describe_wait(reason: &WaitReason, left: Duration) -> Option<String> {
    if left.is_zero() {
        return None;
    }
    let secs = whole_seconds_up(left);
    Some(match reason {
        WaitReason::Quota => format!("waiting {secs} s for quota"),
        WaitReason::Throttled => format!("waiting {secs} s (rate limited)"),
        WaitReason::Retry {
            attempt,
            max,
            cause,
        } => format!("retrying {attempt}/{max} in {secs} s: {cause}"),
        WaitReason::RetryAfter { attempt, max } => {
            format!("waiting {secs} s (Retry-After), then retry {attempt}/{max}")
        }
    })
}

/// "45 s", "3 min 20 s", "2 h 05 min".
pub fn describe_duration(d: Duration) -> String {
    let secs = whole_seconds_up(d);
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min {:02} s", secs / 60, secs % 60),
        _ => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
    }
}

fn whole_seconds_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The whole line: where the cycle is, then the wait (if any), then the ETA (if known).
pub fn render(s: &Snapshot, wait: Option<String>, eta: Option<Duration>) -> String {
    let windows = if s.windows_total > 0 {
        format!(" window {}/{}", s.windows_done, s.windows_total)
    } else {
        String::new()
    };
    let mut line = format!(
        "{}: {}{} | pulled {} created {} updated {} pushed {} | {} requests",
        s.provider, s.phase, windows, s.pulled, s.created, s.updated, s.pushed, s.requests
    );
    if let Some(wait) = wait {
        line.push_str(" | ");
        line.push_str(&wait);
    }
    if let Some(eta) = eta {
        line.push_str(" | eta ");
        line.push_str(&describe_duration(eta));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_window(done: usize, total: usize) -> Snapshot {
        Snapshot {
            provider: "tt".into(),
            phase: "listing time_entry".into(),
            windows_done: done,
            windows_total: total,
            ..Snapshot::default()
        }
    }

    #[test]
    fn waits_say_what_and_how_long() {
        let left = Duration::from_millis(11_200);
        let said = |reason: &WaitReason, left| describe_wait(reason, left).unwrap_or_default();
        assert_eq!(said(&WaitReason::Quota, left), "waiting 12 s for quota");
        assert_eq!(
            said(&WaitReason::Throttled, left),
            "waiting 12 s (rate limited)"
        );
        let retry = WaitReason::Retry {
            attempt: 2,
            max: 5,
            cause: "connection refused".into(),
        };
        assert_eq!(
            said(&retry, Duration::from_secs(4)),
            "retrying 2/5 in 4 s: connection refused"
        );
        let asked = WaitReason::RetryAfter { attempt: 1, max: 5 };
        assert_eq!(
            said(&asked, Duration::from_secs(30)),
            "waiting 30 s (Retry-After), then retry 1/5"
        );
        assert_eq!(
            said(&WaitReason::Quota, Duration::from_millis(1)),
            "waiting 1 s for quota"
        );
        assert_eq!(
            describe_wait(&WaitReason::Quota, Duration::ZERO),
            None,
            "a wait that is over is not shown"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(describe_duration(Duration::from_millis(100)), "1 s");
        assert_eq!(describe_duration(Duration::from_secs(59)), "59 s");
        assert_eq!(describe_duration(Duration::from_secs(200)), "3 min 20 s");
        assert_eq!(describe_duration(Duration::from_secs(7500)), "2 h 05 min");
    }

    #[test]
    fn eta_is_remaining_windows_at_the_observed_pace() {
        assert_eq!(
            eta(2, 8, Duration::from_secs(30)),
            Some(Duration::from_secs(120))
        );
        assert_eq!(eta(0, 10, Duration::from_secs(30)), None, "no pace yet");
        assert_eq!(eta(10, 0, Duration::from_secs(30)), None, "windows done");
    }

    #[test]
    fn the_clock_times_each_cycle_from_its_first_report() {
        let t0 = Instant::now();
        let mut clock = WindowClock::default();
        clock.observe(&at_window(0, 4), t0);
        assert_eq!(clock.eta(&at_window(0, 4), t0), None);
        let t1 = t0 + Duration::from_secs(10);
        clock.observe(&at_window(1, 4), t1);
        assert_eq!(
            clock.eta(&at_window(1, 4), t1),
            Some(Duration::from_secs(30))
        );
        // Another provider's cycle starts its own timing.
        let other = Snapshot {
            provider: "other".into(),
            ..at_window(0, 2)
        };
        clock.observe(&other, t1);
        let t2 = t1 + Duration::from_secs(5);
        let other_done_one = Snapshot {
            windows_done: 1,
            ..other.clone()
        };
        assert_eq!(clock.eta(&other_done_one, t2), Some(Duration::from_secs(5)));
        // A cycle first seen part-way is timed from there, not from its start.
        let mut late = WindowClock::default();
        late.observe(&at_window(3, 4), t0);
        assert_eq!(late.eta(&at_window(3, 4), t0), None);
        late.observe(&at_window(3, 4), t1);
        assert_eq!(late.eta(&at_window(3, 4), t1), None);
        // A phase without windows (connecting, pushing) has no ETA.
        let pushing = Snapshot {
            phase: "pushing".into(),
            ..Snapshot::default()
        };
        clock.observe(&pushing, t2);
        assert_eq!(clock.eta(&pushing, t2), None);
    }

    #[test]
    fn the_line_shows_the_wait_and_omits_an_unknown_eta() {
        let s = at_window(3, 8);
        assert_eq!(
            render(&s, Some("waiting 12 s for quota".into()), None),
            "tt: listing time_entry window 3/8 | pulled 0 created 0 updated 0 pushed 0 | 0 requests | waiting 12 s for quota"
        );
        assert_eq!(
            render(&s, None, Some(Duration::from_secs(90))),
            "tt: listing time_entry window 3/8 | pulled 0 created 0 updated 0 pushed 0 | 0 requests | eta 1 min 30 s"
        );
    }
}
