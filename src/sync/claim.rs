//! Who is sending a push: every cycle has a claimant name (`PID/START cycle-token`) written
//! on the intents it commits, and is registered as running in this process for its life.
//! An intent whose claimant is still running (another process, or another cycle of this
//! one) is in flight: nobody else sends, reconciles or replaces it. Only an intent whose
//! claimant is gone is reconciled by the next cycle.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use crate::process::ProcessId;

/// The cycles running in this process, by token.
fn running() -> &'static Mutex<HashSet<String>> {
    static RUNNING: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    RUNNING.get_or_init(Default::default)
}

/// One cycle's claim on the intents it writes; registered until dropped (also on a panic).
#[derive(Debug)]
pub(crate) struct Claimant {
    name: String,
    token: String,
}

impl Claimant {
    pub(crate) fn register() -> Claimant {
        let token = uuid::Uuid::now_v7().simple().to_string();
        if let Ok(mut set) = running().lock() {
            set.insert(token.clone());
        }
        Claimant {
            name: format!("{} {token}", ProcessId::current()),
            token,
        }
    }

    /// What is written on the intents this cycle claims.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Claimant {
    fn drop(&mut self) {
        if let Ok(mut set) = running().lock() {
            set.remove(&self.token);
        }
    }
}

/// Whether the claimant named `claimed_by` (from an intent) may still send it: a cycle of
/// this process that is running, or a process that is running. Unknown (`None`, or a
/// name that does not parse) is gone.
pub(crate) fn is_running(claimed_by: Option<&str>) -> bool {
    match parse(claimed_by) {
        Some((process, token)) if process == ProcessId::current() => runs_here(token),
        Some((process, _)) => process.is_alive(),
        None => false,
    }
}

/// The process and cycle token of a claimant's name; `None` when it does not parse.
fn parse(claimed_by: Option<&str>) -> Option<(ProcessId, &str)> {
    let (process, token) = claimed_by?.split_once(' ')?;
    Some((ProcessId::parse(process)?, token))
}

/// Whether the cycle `token` of this process is running.
fn runs_here(token: &str) -> bool {
    running().lock().map(|s| s.contains(token)).unwrap_or(true)
}

/// Whether the claimant named `claimed_by` may still send it, for a cycle that holds its
/// instance's lease: only a cycle of this process can. Another process's claim is from a
/// holder that lost the lease (died, or paused past it): its ledger writes are refused by
/// the fencing token and its provider writes by its lease's local deadline, so its intents
/// are reconciled as after a crash even while that process lives.
pub(crate) fn is_running_under_lease(claimed_by: Option<&str>) -> bool {
    parse(claimed_by)
        .is_some_and(|(process, token)| process == ProcessId::current() && runs_here(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::finished_process;

    /// A live child process (`sleep 5`) and its id as a claim names it, start time unknown.
    fn sleeping_child() -> (std::process::Child, ProcessId) {
        let child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let alive = ProcessId {
            pid: child.id(),
            started: None,
        };
        (child, alive)
    }

    #[test]
    fn a_registered_cycle_is_running_until_dropped() {
        let c = Claimant::register();
        let name = c.name().to_owned();
        assert!(is_running(Some(&name)));
        drop(c);
        assert!(!is_running(Some(&name)));
    }

    #[test]
    fn another_live_process_is_running_and_a_finished_one_is_not() {
        let (mut child, alive) = sleeping_child();
        assert!(is_running(Some(&format!("{alive} any"))));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_running(Some(&format!("{} any", finished_process()))));
        assert!(!is_running(None));
        assert!(!is_running(Some("garbage")));
    }

    #[test]
    fn under_a_lease_only_this_process_runs_claims() {
        let (mut child, alive) = sleeping_child();
        assert!(!is_running_under_lease(Some(&format!("{alive} any"))));
        child.kill().unwrap();
        child.wait().unwrap();
        let c = Claimant::register();
        assert!(is_running_under_lease(Some(c.name())));
        let name = c.name().to_owned();
        drop(c);
        assert!(!is_running_under_lease(Some(&name)));
    }
}
