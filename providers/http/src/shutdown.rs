//! The process's one shutdown broadcast. SIGTERM (or SIGINT) triggers it once; every wait a
//! request can make — the limiter, the backoff between attempts, a `Retry-After` pause —
//! selects on it and ends at once, as in tokio's mini-redis. Cheap to clone; a clone that
//! is never triggered (the default) never ends a wait.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown(Arc::new(watch::channel(false).0))
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Shutdown::default()
    }

    /// Tells every waiter, now and later, that the process is stopping.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once [`Shutdown::trigger`] was called (at once if it already was).
    pub async fn triggered(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }

    /// Sleeps for `wait`, or less when shutdown is triggered first.
    pub async fn sleep(&self, wait: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.triggered() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_trigger_ends_every_wait_at_once_even_later_ones() {
        let shutdown = Shutdown::new();
        let start = tokio::time::Instant::now();
        let waiter = {
            let s = shutdown.clone();
            tokio::spawn(async move { s.sleep(Duration::from_secs(86_400)).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        shutdown.trigger();
        waiter.await.unwrap();
        assert!(tokio::time::Instant::now() - start < Duration::from_secs(2));
        // A wait that starts after the trigger does not wait at all.
        let later = tokio::time::Instant::now();
        shutdown.sleep(Duration::from_secs(3600)).await;
        assert_eq!(tokio::time::Instant::now(), later);
        assert!(shutdown.is_triggered());
    }

    #[tokio::test(start_paused = true)]
    async fn untriggered_sleeps_the_full_wait() {
        let shutdown = Shutdown::new();
        let start = tokio::time::Instant::now();
        shutdown.sleep(Duration::from_secs(30)).await;
        assert_eq!(tokio::time::Instant::now() - start, Duration::from_secs(30));
    }
}
