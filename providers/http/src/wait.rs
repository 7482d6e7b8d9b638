//! What an instance's requests are waiting for right now, published by the limiter and the
//! retry loop for progress displays to read: the reason (quota, a 429's pause, a backoff
//! before the next attempt, a `Retry-After`), until when, and for retries the attempt and
//! its cause. No text for people here: displays word it themselves.
//!
//! Publishing happens only when a wait begins and ends, so a request that does not wait
//! costs nothing here; concurrent requests of one instance show the latest wait begun.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

/// Why requests are not being sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// The configured quotas (or the slower pace after a 429) admit no request yet.
    Quota,
    /// The provider answered 429: every request of the instance pauses.
    Throttled,
    /// A failed attempt is retried after a backoff: `attempt` of `max` retries, `cause`
    /// the short reason the previous attempt failed ("connection refused", "HTTP 503").
    Retry {
        attempt: usize,
        max: usize,
        cause: String,
    },
    /// The provider asked for this pause (`Retry-After`) before the next attempt.
    RetryAfter { attempt: usize, max: usize },
}

/// One wait: why, and when it ends (on tokio's clock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wait {
    pub reason: WaitReason,
    pub until: Instant,
}

/// The current wait of one instance, shared by its transport and whoever displays it.
#[derive(Debug, Default)]
pub struct WaitBoard {
    current: Mutex<Option<(u64, Wait)>>,
    next_ticket: AtomicU64,
}

/// One published wait; dropping it (the wait ended, or was cancelled) clears it from the
/// board unless a later wait replaced it.
#[derive(Debug)]
#[must_use = "the wait is cleared when this is dropped"]
pub struct Waiting {
    board: Arc<WaitBoard>,
    ticket: u64,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut current = self.board.lock();
        if current.as_ref().is_some_and(|(t, _)| *t == self.ticket) {
            *current = None;
        }
    }
}

impl WaitBoard {
    /// Publishes `wait` as the current one (replacing any other) until the returned guard
    /// drops.
    pub fn begin(self: &Arc<Self>, wait: Wait) -> Waiting {
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        *self.lock() = Some((ticket, wait));
        Waiting {
            board: self.clone(),
            ticket,
        }
    }

    /// The wait in progress, if any.
    pub fn current(&self) -> Option<Wait> {
        self.lock().as_ref().map(|(_, w)| w.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Wait)>> {
        // A panic while holding this lock leaves nothing half-written: keep going.
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn quota_wait(secs: u64) -> Wait {
        Wait {
            reason: WaitReason::Quota,
            until: Instant::now() + Duration::from_secs(secs),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_is_shown_until_it_ends() {
        let board = Arc::new(WaitBoard::default());
        assert_eq!(board.current(), None);
        let waiting = board.begin(quota_wait(12));
        assert_eq!(board.current(), Some(quota_wait(12)));
        drop(waiting);
        assert_eq!(board.current(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_wait_ending_keeps_the_later_one() {
        let board = Arc::new(WaitBoard::default());
        let first = board.begin(quota_wait(5));
        let second = board.begin(quota_wait(9));
        drop(first);
        assert_eq!(board.current(), Some(quota_wait(9)));
        drop(second);
        assert_eq!(board.current(), None);
    }
}
