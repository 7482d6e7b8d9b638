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
}
