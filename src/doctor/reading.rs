//! Reading rights: the first page of each kind the adapter lists (time entries: the last
//! week), so a token that lacks a read scope or right is caught before the first sync, not
//! by it. Read-only, one request per kind.

use chrono::{Duration, Utc};
use timeweave_contract::{Kind, ListScope, Provider, ProviderError, Window};

use super::{Finding, Verdict};

pub(super) async fn findings(provider: &dyn Provider) -> Vec<Finding> {
    let caps = provider.capabilities();
    let mut listed = Vec::new();
    let mut findings = Vec::new();
    for kind in Kind::ALL.into_iter().filter(|k| caps.support(*k).list) {
        match provider.list_page(kind, scope_of(kind), None).await {
            Ok(_) => listed.push(kind.as_str()),
            Err(e) => findings.push(refused(kind, &e)),
        }
    }
    if !listed.is_empty() {
        findings.insert(
            0,
            Finding::new(
                "reading",
                Verdict::Ok,
                format!("lists {}", listed.join(", ")),
            ),
        );
    }
    findings
}

fn scope_of(kind: Kind) -> ListScope {
    match kind {
        Kind::TimeEntry => {
            let now = Utc::now();
            ListScope::StartedIn(Window::new(now - Duration::days(7), now))
        }
        _ => ListScope::All,
    }
}

fn refused(kind: Kind, e: &ProviderError) -> Finding {
    match e {
        ProviderError::Auth { .. } | ProviderError::Forbidden { .. } => Finding::new(
            "reading",
            Verdict::Error,
            format!("cannot list {kind}: {e}"),
        )
        .fix(format!(
            "give the token the right (scope) to read {kind}: every sync lists it"
        )),
        _ => Finding::new(
            "reading",
            Verdict::Warning,
            format!("listing {kind} failed: {e}"),
        ),
    }
}
