//! How `timeweave status` and `/metrics` show which process works each instance on a
//! shared PostgreSQL ledger: its lease's owner, expiry and fencing token. Nothing is shown
//! on SQLite, which has no leases.

use chrono::{DateTime, Utc};

use crate::status::{escape, family, ProviderStatus};

/// `status`'s line for the instance's lease; `None` when it has none.
pub fn lease_line(s: &ProviderStatus, now: DateTime<Utc>) -> Option<String> {
    let l = s.lease.as_ref()?;
    let token = l.token.0;
    Some(match (&l.owner, l.live) {
        (Some(owner), true) => format!(
            "  worked by {owner} (lease until {}, {} s left, fencing token {token})",
            l.expires_at.format("%Y-%m-%d %H:%M:%S UTC"),
            (l.expires_at - now).num_seconds().max(0)
        ),
        (Some(owner), false) => format!(
            "  lease of {owner} ran out at {} (fencing token {token}): the next process to \
             run a cycle takes the instance over",
            l.expires_at.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        (None, _) => format!(
            "  lease released (fencing token {token}): the next process to run a cycle takes it"
        ),
    })
}

/// The lease families of `/metrics`: owner (info), expiry and fencing token, one series
/// per instance that has a lease.
pub fn lease_metrics(out: &mut String, statuses: &[ProviderStatus]) {
    let leased: Vec<_> = statuses
        .iter()
        .filter_map(|s| Some((escape(&s.facts.name), s.lease.as_ref()?)))
        .collect();
    if leased.is_empty() {
        return;
    }
    family(
        out,
        "timeweave_lease_owner_info",
        "gauge",
        "Which process holds the instance's lease (1 while the lease is live, 0 once it \
         ran out or was released).",
        leased
            .iter()
            .map(|(p, l)| {
                let owner = escape(l.owner.as_deref().unwrap_or(""));
                let live = if l.live { 1.0 } else { 0.0 };
                (format!("provider=\"{p}\",owner=\"{owner}\""), live)
            })
            .collect(),
    );
    family(
        out,
        "timeweave_lease_expiry_timestamp_seconds",
        "gauge",
        "When the instance's lease runs out unless renewed (Unix time, the database's clock).",
        leased
            .iter()
            .map(|(p, l)| (format!("provider=\"{p}\""), l.expires_at.timestamp() as f64))
            .collect(),
    );
    family(
        out,
        "timeweave_lease_fencing_token",
        "gauge",
        "The instance's current fencing token (grows by one each time it changes hands).",
        leased
            .iter()
            .map(|(p, l)| (format!("provider=\"{p}\""), l.token.0 as f64))
            .collect(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::postgres::{FencingToken, LeaseHolder};
    use crate::status::{metrics_text, render_text};

    fn leased(owner: Option<&str>, live: bool) -> ProviderStatus {
        let mut s = crate::status::tests::status("tt", None);
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        s.lease = Some(LeaseHolder {
            provider: "tt".into(),
            owner: owner.map(str::to_owned),
            token: FencingToken(7),
            acquired_at: at,
            expires_at: at + chrono::Duration::seconds(30),
            live,
        });
        s
    }

    #[test]
    fn metrics_and_status_name_the_owner_the_expiry_and_the_token() {
        let s = leased(Some("node-a:42/9"), true);
        let text = metrics_text(std::slice::from_ref(&s));
        for line in [
            "timeweave_lease_owner_info{provider=\"tt\",owner=\"node-a:42/9\"} 1",
            "timeweave_lease_expiry_timestamp_seconds{provider=\"tt\"} 1800000030",
            "timeweave_lease_fencing_token{provider=\"tt\"} 7",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        let status = render_text(std::slice::from_ref(&s));
        assert!(status.contains("worked by node-a:42/9"), "{status}");
        assert!(status.contains("fencing token 7"), "{status}");
        let gone = leased(None, false);
        assert!(metrics_text(std::slice::from_ref(&gone))
            .contains("timeweave_lease_owner_info{provider=\"tt\",owner=\"\"} 0"));
        assert!(render_text(&[gone]).contains("lease released"));
    }

    #[test]
    fn without_a_lease_nothing_is_shown() {
        let s = crate::status::tests::status("tt", None);
        assert!(!metrics_text(std::slice::from_ref(&s)).contains("lease"));
        assert!(!render_text(&[s]).contains("lease"));
    }
}
