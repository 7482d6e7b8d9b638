//! Which process holds something (the ledger lock, a push intent, a dry-run copy), and
//! whether it is still running. A process is its PID plus, where the system tells it, its
//! start time (so a PID reused after a crash or a reboot is not taken for the holder).

use std::fmt;

/// A running or finished process, as recorded beside what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessId {
    pub pid: u32,
    /// Clock ticks after boot the process started (`/proc/PID/stat`, field 22); `None`
    /// where there is no `/proc`.
    pub started: Option<u64>,
}

impl ProcessId {
    /// This process.
    pub fn current() -> ProcessId {
        let pid = std::process::id();
        ProcessId {
            pid,
            started: start_time(pid),
        }
    }

    /// Reads the form [`fmt::Display`] writes (`PID` or `PID/STARTED`); `None` otherwise.
    pub fn parse(s: &str) -> Option<ProcessId> {
        let (pid, started) = match s.trim().split_once('/') {
            Some((pid, started)) => (pid, Some(started.parse().ok()?)),
            None => (s.trim(), None),
        };
        Some(ProcessId {
            pid: pid.parse().ok()?,
            started,
        })
    }

    /// Whether this process is still running: its PID exists and, when both start times
    /// are known, it is the same process.
    pub fn is_alive(&self) -> bool {
        if !pid_exists(self.pid) {
            return false;
        }
        match (self.started, start_time(self.pid)) {
            (Some(recorded), Some(now)) => recorded == now,
            _ => true,
        }
    }
}

impl fmt::Display for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.started {
            Some(started) => write!(f, "{}/{started}", self.pid),
            None => write!(f, "{}", self.pid),
        }
    }
}

/// Field 22 of `/proc/PID/stat`, counted after the command name (which may hold spaces
/// and parentheses, so the fields start after its last `)`).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    // After the name come field 3 (state) onwards: field 22 is the 20th of them.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn pid_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let found = unsafe { libc::kill(pid, 0) } == 0;
    found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn pid_exists(_pid: u32) -> bool {
    true // unknown: never take another process's claim for dead
}

/// A process that has exited (reaped), so its PID names nobody or somebody else.
#[cfg(test)]
pub(crate) fn finished_process() -> ProcessId {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    let started = start_time(pid);
    child.wait().unwrap();
    ProcessId { pid, started }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_round_trips() {
        let me = ProcessId::current();
        assert!(me.is_alive());
        assert_eq!(ProcessId::parse(&me.to_string()), Some(me));
        assert!(me.started.is_some(), "Linux has /proc");
    }

    #[test]
    fn a_finished_process_is_not_alive() {
        assert!(!finished_process().is_alive());
    }

    #[test]
    fn a_reused_pid_is_not_the_recorded_process() {
        let me = ProcessId::current();
        let earlier = ProcessId {
            pid: me.pid,
            started: me.started.map(|s| s.wrapping_sub(1)),
        };
        assert!(!earlier.is_alive());
    }

    #[test]
    fn garbage_does_not_parse() {
        for s in ["", "abc", "12/x", "-1", "1/2/3"] {
            assert_eq!(ProcessId::parse(s), None, "{s}");
        }
        assert_eq!(
            ProcessId::parse("42"),
            Some(ProcessId {
                pid: 42,
                started: None
            })
        );
    }
}
