//! The per-instance rate limiter: a log of recent grants per quota (e.g. 100/min and
//! 1000/h), all of which must admit a request before it is sent, plus an adaptive brake
//! that a 429 pulls: a pause for `Retry-After` (never longer than the instance's longest
//! pause), then a slower pace (×1.5 per 429, at most ×4) for two minutes, so a provider that throttles harder than configured is respected
//! without crawling long after it recovered.
//!
//! A quota admits a request while fewer than its capacity were granted within its window
//! (plus a margin): each quota's whole burst is used at once (TimeTracker's 100/min and
//! 1000/h send 99 requests in the first second, not one per 3.6 s), and no window of
//! length `per` ever holds more than the provider's count, whether it counts in fixed
//! (TimeTracker) or rolling (TimeTrack) windows. The capacity keeps one request of slack
//! (for n ≥ 10) and the window a margin of `per / 60` (at most 1 s): clock skew and network
//! jitter at window edges stay within the quota. The clock is tokio's, so tests run the
//! limiter on a paused clock. Each wait is published on the instance's [`WaitBoard`]
//! while it lasts (a 429's pause as `Throttled`, anything else as `Quota`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::wait::{Wait, WaitBoard, WaitReason};

/// At most `requests` requests in any window of length `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub requests: u32,
    pub per: Duration,
}

impl Quota {
    pub fn per_second(requests: u32) -> Self {
        Quota {
            requests,
            per: Duration::from_secs(1),
        }
    }
    pub fn per_minute(requests: u32) -> Self {
        Quota {
            requests,
            per: Duration::from_secs(60),
        }
    }
    pub fn per_hour(requests: u32) -> Self {
        Quota {
            requests,
            per: Duration::from_secs(3600),
        }
    }

    /// The requests admitted per window: one of slack below the provider's count (for
    /// n ≥ 10), which absorbs clock skew and network jitter at window edges.
    pub fn capacity(&self) -> u32 {
        let n = self.requests.max(1);
        if n >= 10 {
            n - 1
        } else {
            n
        }
    }

    /// The average spacing of requests this quota allows over a long run (the unit the
    /// brake scales, and what cycle budgets are computed from).
    pub fn period(&self) -> Duration {
        self.per / self.capacity()
    }

    /// The window grants are counted in: `per` plus a margin for jitter.
    fn window(&self) -> Duration {
        self.per + (self.per / 60).min(Duration::from_secs(1))
    }
}

/// The recent grants of one quota, oldest first (at most its capacity).
#[derive(Debug)]
struct Log {
    quota: Quota,
    grants: VecDeque<Instant>,
}

impl Log {
    fn new(quota: Quota) -> Self {
        Log {
            quota,
            grants: VecDeque::new(),
        }
    }

    /// The earliest moment this quota admits one more request.
    fn admits_at(&self, now: Instant) -> Instant {
        if self.grants.len() < self.quota.capacity() as usize {
            return now;
        }
        match self.grants.front() {
            Some(oldest) => (*oldest + self.quota.window()).max(now),
            None => now,
        }
    }

    fn grant(&mut self, at: Instant) {
        self.grants.push_back(at);
        while self.grants.len() > self.quota.capacity() as usize {
            self.grants.pop_front();
        }
    }
}

/// How long the brake stays on after the last 429.
const BRAKE_HOLD: Duration = Duration::from_secs(120);
/// Each 429 multiplies the spacing by this much...
const BRAKE_STEP: f64 = 1.5;
/// ...up to this many times the normal spacing.
const BRAKE_MAX_FACTOR: f64 = 4.0;
/// The pause after a 429 that gave no `Retry-After`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(5);
/// The longest pause a 429 can impose unless [`Limiter::with_max_pause`] says otherwise.
const DEFAULT_MAX_PAUSE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Default)]
struct Brake {
    paused_until: Option<Instant>,
    factor: f64,
    until: Option<Instant>,
    last_grant: Option<Instant>,
}

/// What `acquire` updates, under one lock: the grant logs and the brake.
#[derive(Debug)]
struct State {
    /// Slowest quota first, so the binding one is asked first.
    logs: Vec<Log>,
    brake: Brake,
}

/// All quotas of one provider instance, shared by every request of that instance.
pub struct Limiter {
    quotas: Vec<Quota>,
    /// The spacing of the slowest quota (or 1 s with none), the unit the brake scales.
    base_spacing: Duration,
    /// Requests are admitted one at a time, so admission order is send order.
    state: tokio::sync::Mutex<State>,
    /// A 429's `Retry-After` pauses the instance for at most this long.
    max_pause: Duration,
    /// Where each wait is shown while it lasts.
    board: Arc<WaitBoard>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("quotas", &self.quotas())
            .finish()
    }
}

impl Limiter {
    pub fn new(quotas: &[Quota]) -> Self {
        let mut quotas: Vec<Quota> = quotas.iter().copied().filter(|q| q.requests > 0).collect();
        quotas.sort_by_key(|q| std::cmp::Reverse(q.period()));
        let base_spacing = quotas
            .first()
            .map(Quota::period)
            .unwrap_or(Duration::from_secs(1));
        Limiter {
            base_spacing,
            state: tokio::sync::Mutex::new(State {
                logs: quotas.iter().copied().map(Log::new).collect(),
                brake: Brake {
                    factor: 1.0,
                    ..Brake::default()
                },
            }),
            quotas,
            max_pause: DEFAULT_MAX_PAUSE,
            board: Arc::default(),
        }
    }

    /// Publishes every wait on `board` (the transport's, which progress displays read).
    pub fn with_board(mut self, board: Arc<WaitBoard>) -> Self {
        self.board = board;
        self
    }

    /// Caps the pause a 429 imposes (the transport fails a request that asks for more).
    pub fn with_max_pause(mut self, max_pause: Duration) -> Self {
        self.max_pause = max_pause;
        self
    }

    pub fn quotas(&self) -> Vec<Quota> {
        self.quotas.clone()
    }

    /// Waits until every quota (and the brake) admits one more request, and takes it.
    pub async fn acquire(&self) {
        let mut state = self.state.lock().await;
        loop {
            let now = Instant::now();
            let brake = &mut state.brake;
            if let Some(p) = brake.paused_until {
                if p > now {
                    self.wait_until(p, WaitReason::Throttled).await;
                    continue;
                }
                brake.paused_until = None;
            }
            if brake.until.is_some_and(|u| u <= now) {
                brake.factor = 1.0;
                brake.until = None;
            }
            if brake.factor > 1.0 {
                if let Some(last) = brake.last_grant {
                    let next = last + self.base_spacing.mul_f64(brake.factor);
                    if next > now {
                        self.wait_until(next, WaitReason::Quota).await;
                        continue;
                    }
                }
            }
            let admitted = state
                .logs
                .iter()
                .map(|log| log.admits_at(now))
                .max()
                .unwrap_or(now);
            if admitted > now {
                self.wait_until(admitted, WaitReason::Quota).await;
                continue;
            }
            for log in &mut state.logs {
                log.grant(now);
            }
            state.brake.last_grant = Some(now);
            return;
        }
    }

    /// Sleeps until `until`, showing the wait on the board meanwhile.
    async fn wait_until(&self, until: Instant, reason: WaitReason) {
        let _shown = self.board.begin(Wait { reason, until });
        tokio::time::sleep_until(until).await;
    }

    /// The provider answered 429: pause everyone for `retry_after` (or a few seconds), then
    /// go slower for a while, slower still on each further 429.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        // try_lock: acquire() holds the lock while it waits; the brake is then updated by
        // the next 429 instead of blocking the response path here.
        let now = Instant::now();
        let pause = retry_after.unwrap_or(DEFAULT_PAUSE).min(self.max_pause);
        if let Ok(mut state) = self.state.try_lock() {
            let brake = &mut state.brake;
            brake.paused_until = Some(now.checked_add(pause).unwrap_or(now));
            brake.factor = (brake.factor * BRAKE_STEP).clamp(BRAKE_STEP, BRAKE_MAX_FACTOR);
            brake.until = Some(now + BRAKE_HOLD);
        }
    }

    /// The current brake factor (1 = normal pace), for metrics and tests.
    pub async fn brake_factor(&self) -> f64 {
        self.state.lock().await.brake.factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn grant_times(limiter: &Limiter, n: usize) -> Vec<Instant> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            limiter.acquire().await;
            out.push(Instant::now());
        }
        out
    }

    fn max_in_any_window(times: &[Instant], window: Duration) -> usize {
        let mut best = 0;
        let mut j = 0;
        for i in 0..times.len() {
            while times[i] - times[j] >= window {
                j += 1;
            }
            best = best.max(i - j + 1);
        }
        best
    }

    #[tokio::test(start_paused = true)]
    async fn thirty_per_minute_never_exceeded_in_any_window() {
        let limiter = Limiter::new(&[Quota::per_minute(30)]);
        let start = Instant::now();
        let times = grant_times(&limiter, 200).await;
        assert!(max_in_any_window(&times, Duration::from_secs(60)) <= 30);
        // ...and not needlessly slow: 200 requests at 29/min take just under 7 minutes.
        let took = Instant::now() - start;
        assert!(took < Duration::from_secs(7 * 60), "{took:?}");
        assert!(took > Duration::from_secs(6 * 60), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn every_quota_applies_over_every_window() {
        // TimeTracker's defaults, for long enough to meet the hourly quota twice.
        let limiter = Limiter::new(&[Quota::per_minute(100), Quota::per_hour(1000)]);
        let times = grant_times(&limiter, 2500).await;
        assert!(max_in_any_window(&times, Duration::from_secs(60)) <= 100);
        assert!(max_in_any_window(&times, Duration::from_secs(3600)) <= 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn each_quota_burst_is_used_from_the_first_request() {
        let limiter = Limiter::new(&[Quota::per_minute(100), Quota::per_hour(1000)]);
        let start = Instant::now();
        let times = grant_times(&limiter, 1000).await;
        // 99 at once (one of slack), not one per 3.6 s as the hourly average would space them.
        assert!(times[..99].iter().all(|t| *t == start));
        assert!(times[99] > start);
        // The next minute's 99 follow once the first minute (and its margin) has passed.
        assert!(
            times[99] - start <= Duration::from_secs(62),
            "{:?}",
            times[99] - start
        );
        // The hourly quota then binds: 999 within the first ~10 minutes, the 1000th an hour on.
        assert!(times[998] - start < Duration::from_secs(11 * 60));
        assert!(times[999] - start >= Duration::from_secs(3600));
    }

    #[tokio::test(start_paused = true)]
    async fn shared_by_concurrent_callers() {
        let limiter = std::sync::Arc::new(Limiter::new(&[Quota::per_minute(60)]));
        let times = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (l, t) = (limiter.clone(), times.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..40 {
                    l.acquire().await;
                    t.lock().unwrap().push(Instant::now());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut times = times.lock().unwrap().clone();
        times.sort();
        assert_eq!(times.len(), 160);
        assert!(max_in_any_window(&times, Duration::from_secs(60)) <= 60);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_then_slows_down_for_a_while() {
        let limiter = Limiter::new(&[Quota::per_second(10)]);
        limiter.acquire().await;
        let t0 = Instant::now();
        limiter.throttled(Some(Duration::from_secs(30)));
        limiter.acquire().await;
        assert!(Instant::now() - t0 >= Duration::from_secs(30));
        assert_eq!(limiter.brake_factor().await, 1.5);
        let a = Instant::now();
        limiter.acquire().await;
        // Normal spacing is 100 ms; braked, one and a half times that.
        assert!(Instant::now() - a >= Duration::from_millis(150));
        // After the hold time the brake releases.
        tokio::time::sleep(BRAKE_HOLD).await;
        limiter.acquire().await;
        assert_eq!(limiter.brake_factor().await, 1.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_retry_after_pauses_no_longer_than_the_cap() {
        let limiter = Limiter::new(&[]).with_max_pause(Duration::from_secs(60));
        let t0 = Instant::now();
        limiter.throttled(Some(Duration::MAX));
        limiter.acquire().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(60));
        let t1 = Instant::now();
        limiter.throttled(Some(Duration::from_secs(u64::MAX)));
        limiter.acquire().await;
        assert_eq!(Instant::now() - t1, Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn no_quota_means_no_wait() {
        let limiter = Limiter::new(&[]);
        let start = Instant::now();
        grant_times(&limiter, 1000).await;
        assert_eq!(Instant::now(), start);
    }

    #[tokio::test(start_paused = true)]
    async fn each_wait_is_published_while_it_lasts() {
        let board = Arc::new(WaitBoard::default());
        let limiter = Arc::new(Limiter::new(&[Quota::per_minute(1)]).with_board(board.clone()));
        limiter.acquire().await;
        assert_eq!(
            board.current(),
            None,
            "a request that does not wait shows nothing"
        );
        let start = Instant::now();
        let second = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.acquire().await }
        });
        tokio::task::yield_now().await;
        // The window (60 s) plus its margin (1 s).
        let expected = Wait {
            reason: WaitReason::Quota,
            until: start + Duration::from_secs(61),
        };
        assert_eq!(board.current(), Some(expected));
        second.await.unwrap();
        assert_eq!(board.current(), None);

        limiter.throttled(Some(Duration::from_secs(30)));
        let paused = Instant::now();
        let third = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.acquire().await }
        });
        tokio::task::yield_now().await;
        let current = board.current().map(|w| (w.reason, w.until));
        assert_eq!(
            current,
            Some((WaitReason::Throttled, paused + Duration::from_secs(30)))
        );
        third.await.unwrap();
        assert_eq!(board.current(), None);
    }

    #[test]
    fn period_keeps_one_request_of_slack() {
        assert_eq!(
            Quota::per_minute(600).period(),
            Duration::from_secs(60) / 599
        );
        assert_eq!(Quota::per_second(2).period(), Duration::from_millis(500));
    }
}
