//! The report as JSON for a bug report: the same findings, with every secret of the config,
//! every name or account a finding of the instance marks private (wherever it appears in
//! that instance's findings), and anything that looks like an e-mail address replaced by
//! `[redacted]`.

use serde::Serialize;

use super::{Finding, InstanceReport, Verdict};
use crate::config::ProviderConfig;

const REDACTED: &str = "[redacted]";

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    instances: Vec<Instance<'a>>,
}

#[derive(Serialize)]
struct Instance<'a> {
    name: &'a str,
    kind: &'a str,
    findings: Vec<Line>,
}

#[derive(Serialize)]
struct Line {
    check: &'static str,
    verdict: Verdict,
    seen: String,
    fix: String,
}

/// The redacted report; `instances` supplies the secrets to redact.
pub fn render(reports: &[InstanceReport], instances: &[&ProviderConfig]) -> String {
    let secrets: Vec<String> = instances.iter().flat_map(|p| secrets_of(p)).collect();
    let report = Report {
        ok: !reports.iter().any(InstanceReport::has_error),
        instances: reports
            .iter()
            .map(|r| {
                let hidden = hidden_in(r, &secrets);
                Instance {
                    name: &r.name,
                    kind: r.kind,
                    findings: r.findings.iter().map(|f| line(f, &hidden)).collect(),
                }
            })
            .collect(),
    };
    // Plain strings, enums and vectors: serialising cannot fail.
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

fn secrets_of(p: &ProviderConfig) -> Vec<String> {
    [
        Some(&p.api_secret),
        p.api_key.as_ref(),
        p.webhook_secret.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|s| s.expose().trim().to_owned())
    .filter(|s| !s.is_empty())
    .collect()
}

/// The secrets, and every value any finding of `r` marks private: a name one finding
/// shows as whom the credentials act as is hidden wherever it appears (e.g. a TimeTrack
/// account, its host, also in the URL the reach finding names).
fn hidden_in<'a>(r: &'a InstanceReport, secrets: &'a [String]) -> Vec<&'a String> {
    let mut hidden: Vec<&String> = secrets
        .iter()
        .chain(r.findings.iter().flat_map(|f| &f.private))
        .collect();
    // Longest first, so a value inside another is not replaced before it.
    hidden.sort_by_key(|h| std::cmp::Reverse(h.len()));
    hidden
}

fn line(f: &Finding, hidden: &[&String]) -> Line {
    Line {
        check: f.check,
        verdict: f.verdict,
        seen: redact(&f.seen, hidden),
        fix: redact(&f.fix, hidden),
    }
}

/// `text` with each of `hidden` and every e-mail-like word replaced.
fn redact(text: &str, hidden: &[&String]) -> String {
    let mut text = text.to_owned();
    for h in hidden.iter().filter(|h| !h.is_empty()) {
        text = text.replace(h.as_str(), REDACTED);
    }
    text.split(' ')
        .map(|word| {
            if looks_like_email(word) {
                REDACTED
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn looks_like_email(word: &str) -> bool {
    word.split_once('@')
        .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_marked_values_secrets_and_emails() {
        let private = "Ada Lovelace".to_owned();
        let secret = "tok_123".to_owned();
        let text = "acts as Ada Lovelace (ada@example.com) with tok_123; see https://x.example/a";
        assert_eq!(
            redact(text, &[&private, &secret]),
            "acts as [redacted] [redacted] with [redacted]; see https://x.example/a"
        );
    }
}
