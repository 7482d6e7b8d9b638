//! What each account answers for its rights and for the conventions no documentation
//! settles (the adapters' `Provider::observations`), weighed against the configured mode: a
//! limit on reading or writing is a warning when the mode reads or writes that account.

use timeweave_contract::{Observation, Provider};

use super::{Finding, Verdict};
use crate::config::ProviderConfig;

pub(super) async fn findings(p: &ProviderConfig, provider: &dyn Provider) -> Vec<Finding> {
    match provider.observations().await {
        Ok(seen) => seen.iter().map(|o| finding(p, o)).collect(),
        Err(e) => vec![Finding::new(
            "observed",
            Verdict::Warning,
            format!("the account's conventions could not be read: {e}"),
        )],
    }
}

fn finding(p: &ProviderConfig, o: &Observation) -> Finding {
    let mode = p.mode.as_str();
    let limited = if o.limits_writing && p.mode.pushes() {
        Some("writes to")
    } else if o.limits_reading && p.mode.pulls() {
        Some("reads from")
    } else {
        None
    };
    let seen = format!("{}: {}", o.key, o.value);
    match limited {
        None => Finding::new("observed", Verdict::Ok, format!("{seen} ({})", o.note)),
        Some(does) => Finding::new("observed", Verdict::Warning, seen).fix(format!(
            "mode = \"{mode}\" {does} this account, but {}",
            o.note
        )),
    }
}
