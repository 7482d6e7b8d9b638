//! How long cycles take, per provider instance, since this process started: a Prometheus
//! histogram the engine observes at the end of every cycle (dry runs excluded) and
//! `/metrics` renders (`timeweave_cycle_duration_seconds`). Fixed buckets, so memory does
//! not grow with time.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds (then `+Inf`).
pub const BUCKETS: [f64; 9] = [1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0];

/// One instance's histogram: a count per bucket (not cumulative), the sum and the count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    pub buckets: [u64; BUCKETS.len()],
    pub sum_seconds: f64,
    pub count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i] += 1;
        }
        self.sum_seconds += seconds;
        self.count += 1;
    }

    /// Cumulative counts per bucket bound, as Prometheus wants them (`+Inf` is `count`).
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        BUCKETS
            .iter()
            .zip(self.buckets.iter().scan(0, |acc, n| {
                *acc += n;
                Some(*acc)
            }))
            .map(|(b, n)| (*b, n))
    }
}

fn registry() -> &'static Mutex<BTreeMap<String, Histogram>> {
    static DURATIONS: OnceLock<Mutex<BTreeMap<String, Histogram>>> = OnceLock::new();
    DURATIONS.get_or_init(Default::default)
}

/// Records one finished cycle of `provider`.
pub fn observe(provider: &str, took: Duration) {
    if let Ok(mut m) = registry().lock() {
        m.entry(provider.to_owned())
            .or_default()
            .observe(took.as_secs_f64());
    }
}

/// `provider`'s histogram so far (empty when it has not finished a cycle here).
pub fn of(provider: &str) -> Histogram {
    registry()
        .lock()
        .ok()
        .and_then(|m| m.get(provider).cloned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_cumulative_buckets() {
        let name = "durations-test";
        observe(name, Duration::from_millis(500));
        observe(name, Duration::from_secs(20));
        observe(name, Duration::from_secs(7200));
        let h = of(name);
        assert_eq!(h.count, 3);
        assert!((h.sum_seconds - 7220.5).abs() < 1e-6);
        let c: Vec<(f64, u64)> = h.cumulative().collect();
        assert_eq!(c[0], (1.0, 1));
        assert_eq!(c[3], (30.0, 2));
        assert_eq!(c[8], (3600.0, 2), "beyond the last bound only in +Inf");
        assert_eq!(of("never-ran"), Histogram::default());
    }
}
