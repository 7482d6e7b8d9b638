//! What `timeweave demo --serve` prints once everything runs: where each simulator and the
//! daemon listen, and the steps to try, each a command to copy (a real entry, the
//! simulators' real credentials). Pure text; `serve.rs` gathers the facts.

use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;

/// The first line of the tour; scripts and tests wait for it.
pub const READY: &str = "ready: the simulators and the daemon are running";

/// Everything the tour names.
pub struct Tour<'a> {
    /// `(instance name, base URL)` of each simulator.
    pub simulators: Vec<(&'a str, String)>,
    pub status: SocketAddr,
    pub config: &'a Path,
    /// How to run timeweave (this binary's path).
    pub timeweave: String,
    /// The entry to edit, as a person would name it.
    pub entry: String,
    /// The `curl` that edits it in TimeTracker.
    pub edit: String,
    /// `(instance name, curl)` reading its copy in each other simulator.
    pub copies: Vec<(&'a str, String)>,
    /// The directory goes when the demo ends.
    pub temporary: bool,
}

impl Tour<'_> {
    pub fn render(&self) -> String {
        let mut out = format!("{READY}; every provider syncs every 10 s.\n\n");
        for (name, url) in &self.simulators {
            let _ = writeln!(out, "  {name:<13} {url}");
        }
        let _ = writeln!(
            out,
            "  {:<13} http://{} (/healthz, /metrics)",
            "daemon", self.status
        );
        let _ = writeln!(out, "  {:<13} {}", "config", self.config.display());
        out.push_str(&self.steps());
        if self.temporary {
            out.push_str("\n(the directory is temporary: `--dir DIR` keeps it)\n");
        }
        out.push_str("\nCtrl-C stops the daemon and the simulators.\n");
        out
    }

    fn steps(&self) -> String {
        let (tw, config, status) = (&self.timeweave, self.config.display(), self.status);
        let mut out = String::from("\nTry it, in another terminal:\n\n");
        let _ = writeln!(
            out,
            "1. Edit {} in TimeTracker, through its API:\n   {}\n",
            self.entry, self.edit
        );
        out.push_str(
            "2. Watch it arrive in the other two (their next cycles, within about 20 s):\n",
        );
        for (name, curl) in &self.copies {
            let _ = writeln!(out, "   {curl}    # {name}");
        }
        let _ = writeln!(
            out,
            "\n3. Sync health, and the daemon's counters (timeweave_cycles_total grows every 10 s):\n   \
             {tw} status --config {config}\n   curl -sS http://{status}/metrics\n"
        );
        let _ = writeln!(
            out,
            "4. A report of everything in the ledger:\n   {tw} report --config {config} --html report.html"
        );
        out
    }
}
