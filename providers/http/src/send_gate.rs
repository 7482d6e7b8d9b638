//! A check each request of an instance passes right before it goes on the wire, after the
//! limiter's wait: installed once by whoever runs the instance (the daemon, on a shared
//! PostgreSQL ledger, with its lease on the instance), so a process paused past its lease
//! sends nothing of what it had queued before the pause. Open until one is installed.

use std::fmt;
use std::sync::OnceLock;

type Check = Box<dyn Fn() -> bool + Send + Sync>;

#[derive(Default)]
pub struct SendGate(OnceLock<Check>);

impl SendGate {
    /// Installs `check`; `false` (and `check` dropped) when one is installed already.
    pub fn install(&self, check: impl Fn() -> bool + Send + Sync + 'static) -> bool {
        self.0.set(Box::new(check)).is_ok()
    }

    /// Whether a request may go now.
    pub fn open(&self) -> bool {
        self.0.get().is_none_or(|check| check())
    }
}

impl fmt::Debug for SendGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendGate")
            .field("installed", &self.0.get().is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn open_until_installed_then_as_its_check_says() {
        let gate = SendGate::default();
        assert!(gate.open());
        let held = Arc::new(AtomicBool::new(true));
        let h = held.clone();
        assert!(gate.install(move || h.load(Ordering::Relaxed)));
        assert!(gate.open());
        held.store(false, Ordering::Relaxed);
        assert!(!gate.open());
        assert!(!gate.install(|| true), "one gate per instance");
        assert!(!gate.open());
    }
}
