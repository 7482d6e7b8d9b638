//! The simulator's throttle: a rolling window of admitted requests per API key (§1.7: 30
//! requests per minute; rolling vs fixed is unknown, the simulator assumes rolling). Time is
//! passed in, so the rule can be checked against any clock.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::options::Throttle;

#[derive(Debug, Default)]
pub struct RollingWindow {
    per_key: HashMap<String, VecDeque<Instant>>,
}

impl RollingWindow {
    /// Admits one request of `key` at `now`, or says how long until a slot frees up.
    /// `count_refused`: a refused request still takes a slot (a stricter server).
    pub fn admit(
        &mut self,
        key: &str,
        now: Instant,
        rule: &Throttle,
        count_refused: bool,
    ) -> Result<(), Duration> {
        let q = self.per_key.entry(key.to_owned()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= rule.window)
        {
            q.pop_front();
        }
        if q.len() < rule.limit as usize {
            q.push_back(now);
            return Ok(());
        }
        let wait = q
            .front()
            .map(|oldest| rule.window.saturating_sub(now.duration_since(*oldest)))
            .unwrap_or(rule.window);
        if count_refused {
            q.push_back(now);
            q.pop_front();
        }
        Err(wait)
    }

    pub fn reset(&mut self) {
        self.per_key.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_per_rolling_minute() {
        let rule = Throttle::default();
        let mut w = RollingWindow::default();
        let t0 = Instant::now();
        for i in 0..30 {
            assert!(w
                .admit("k", t0 + Duration::from_millis(i * 10), &rule, false)
                .is_ok());
        }
        let wait = w
            .admit("k", t0 + Duration::from_secs(1), &rule, false)
            .unwrap_err();
        assert!(
            wait <= Duration::from_secs(59) && wait > Duration::from_secs(58),
            "{wait:?}"
        );
        assert!(
            w.admit("other", t0 + Duration::from_secs(1), &rule, false)
                .is_ok(),
            "per key"
        );
        // Rolling: the first slot frees 60 s after the first request, not at a minute boundary.
        assert!(w
            .admit("k", t0 + Duration::from_secs(60), &rule, false)
            .is_ok());
        assert!(w
            .admit("k", t0 + Duration::from_secs(60), &rule, false)
            .is_err());
    }

    /// The adapter's limiter at `default_quotas()` (30/min), run for 200 requests on a
    /// paused clock, never trips the simulator's rolling 30-per-minute window.
    #[tokio::test(start_paused = true)]
    async fn the_default_quota_never_trips_the_real_minute() {
        let limiter = timeweave_http::Limiter::new(&timeweave_timetrack::default_quotas());
        let rule = Throttle::default();
        let mut w = RollingWindow::default();
        let base = Instant::now();
        let start = tokio::time::Instant::now();
        for i in 0..200 {
            limiter.acquire().await;
            let at = base + (tokio::time::Instant::now() - start);
            assert!(
                w.admit("k", at, &rule, false).is_ok(),
                "request {i} would be throttled"
            );
        }
        // And the pace is not needlessly slow: 200 requests at 29/min.
        assert!(tokio::time::Instant::now() - start < Duration::from_secs(7 * 60));
    }

    /// A limiter faster than the rule does trip it (the check above can fail).
    #[tokio::test(start_paused = true)]
    async fn a_faster_pace_would_trip_it() {
        let limiter = timeweave_http::Limiter::new(&[timeweave_http::Quota::per_minute(40)]);
        let rule = Throttle::default();
        let mut w = RollingWindow::default();
        let base = Instant::now();
        let start = tokio::time::Instant::now();
        let mut refused = 0;
        for _ in 0..100 {
            limiter.acquire().await;
            let at = base + (tokio::time::Instant::now() - start);
            if w.admit("k", at, &rule, false).is_err() {
                refused += 1;
            }
        }
        assert!(refused > 0);
    }
}
