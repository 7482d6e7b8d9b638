//! The report as text: per instance a heading, then one line per finding,
//! `✓ / ⚠ / ✗  what was seen — the fix`.

use super::{InstanceReport, Verdict};

pub fn text(reports: &[InstanceReport]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!("{} ({})\n", r.name, r.kind));
        for f in &r.findings {
            out.push_str(&format!(
                "  {}  {:<11} {}",
                mark(f.verdict),
                f.check,
                f.seen
            ));
            if !f.fix.is_empty() {
                out.push_str(&format!(" — {}", f.fix));
            }
            out.push('\n');
        }
    }
    let errors = reports.iter().filter(|r| r.has_error()).count();
    out.push_str(&match errors {
        0 => "No problems found.\n".to_owned(),
        n => format!("{n} instance(s) will not work as configured: see the ✗ lines.\n"),
    });
    out
}

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "✓",
        Verdict::Warning => "⚠",
        Verdict::Error => "✗",
    }
}
