//! `timeweave check`'s report: what a valid config sets up, in plain text. Secrets appear
//! only as "set (from ...)", never with their value.

use std::fmt::Write;
use std::time::Duration;

use timeweave_http::Quota;

use super::{Config, ConflictPolicy, ProviderConfig};

/// Where the ledger is: the SQLite file, or the PostgreSQL database with where its password
/// comes from and how long a lease lasts (the URL holds no password: `validate` refuses one).
fn ledger_place(cfg: &Config) -> String {
    match &cfg.ledger.postgres {
        None => cfg.ledger.path.display().to_string(),
        Some(pg) => format!(
            "PostgreSQL {} (password {}; leases last {} s)",
            pg.url,
            pg.password_origin
                .as_ref()
                .map_or("none".to_owned(), |o| format!("set ({o})")),
            cfg.lease_ttl().as_secs()
        ),
    }
}

/// The human summary of a validated config.
pub fn render(cfg: &Config) -> String {
    let mut out = String::new();
    let source = match &cfg.source {
        Some(p) => p.display().to_string(),
        None => "(built in)".to_string(),
    };
    let _ = writeln!(out, "config: {source}: OK");
    for warning in &cfg.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    let _ = writeln!(
        out,
        "ledger: {} (history kept {} days)",
        ledger_place(cfg),
        cfg.ledger.history_days
    );
    if let Some(currency) = &cfg.report.currency {
        let _ = writeln!(out, "report currency: {currency}");
    }
    let _ = writeln!(
        out,
        "log: format {}, level {}",
        cfg.log.format.as_str(),
        cfg.log.level
    );
    let _ = writeln!(
        out,
        "http listener: {}",
        cfg.server
            .listen
            .map(|a| format!("{a} (/healthz, /metrics)"))
            .unwrap_or_else(|| "off".to_string())
    );

    let s = &cfg.sync;
    let policy = match s.conflict_policy {
        ConflictPolicy::Prefer => format!("prefer {}", s.prefer.join(" > ")),
        other => other.as_str().to_string(),
    };
    let _ = writeln!(out, "sync:");
    let _ = writeln!(out, "  conflict policy: {policy}");
    let _ = writeln!(out, "  propagate deletes: {}", yes_no(s.propagate_deletes));
    let _ = writeln!(
        out,
        "  hot window: {} days back, {} days ahead",
        s.hot_window_days_back, s.hot_window_days_ahead
    );
    let _ = writeln!(
        out,
        "  deep scan: {}-day slices back to {}",
        s.deep_scan_slice_days, s.deep_scan_horizon
    );
    let _ = writeln!(
        out,
        "  change trails: full listings every {} hours while a trail proves it is complete",
        s.trail_safety_scan_hours
    );
    let _ = writeln!(
        out,
        "  mass-delete guard: stop above {}% of a window and at least {} records",
        s.mass_delete_max_fraction * 100.0,
        s.mass_delete_min_count
    );

    let enabled = cfg.providers.values().filter(|p| p.enabled).count();
    let _ = writeln!(
        out,
        "providers: {} configured, {enabled} enabled",
        cfg.providers.len()
    );
    for p in cfg.providers.values() {
        provider(&mut out, p);
    }
    if !cfg.people.is_empty() {
        let _ = writeln!(out, "people overrides: {}", cfg.people.len());
        for (email, map) in &cfg.people {
            let pairs: Vec<String> = map.iter().map(|(i, r)| format!("{i}={r}")).collect();
            let _ = writeln!(out, "  {email}: {}", pairs.join(", "));
        }
    }
    out
}

fn provider(out: &mut String, p: &ProviderConfig) {
    let state = if p.enabled { "" } else { " (disabled)" };
    let _ = writeln!(out, "  {} [{}]{state}", p.name, p.kind);
    let _ = writeln!(out, "    base url: {}", p.base_url);
    let _ = writeln!(
        out,
        "    mode: {} (pull {}, push {})",
        p.mode.as_str(),
        yes_no(p.mode.pulls()),
        yes_no(p.mode.pushes())
    );
    let jitter = if p.jitter.is_zero() {
        String::new()
    } else {
        format!(" + up to {}s jitter", p.jitter.as_secs())
    };
    let _ = writeln!(out, "    schedule: {} (UTC){jitter}", p.schedule);
    let quotas: Vec<String> = p.quotas.iter().map(quota).collect();
    let _ = writeln!(out, "    rate limit: {}", quotas.join(" and "));
    let _ = writeln!(
        out,
        "    timeout: {}s, retries: {}, longest pause: {}s, largest answer: {} MiB",
        p.timeout.as_secs(),
        p.max_retries,
        p.max_pause.as_secs(),
        p.max_response_bytes / (1024 * 1024)
    );
    let _ = writeln!(out, "    api_secret: set ({})", p.api_secret_origin);
    if let Some(origin) = &p.api_key_origin {
        let _ = writeln!(out, "    api_key: set ({origin})");
    }
    if p.webhook_secret.is_some() {
        let _ = writeln!(out, "    webhooks: accepted with the webhook_secret token");
    }
    if let Some(id) = p.account_id {
        let _ = writeln!(out, "    account id: {id}");
    } else if p.kind == super::ProviderKind::TrackingTime {
        let _ = writeln!(out, "    account id: discovered with GET /me");
    }
    if let Some(c) = &p.contact {
        let _ = writeln!(out, "    contact: {c}");
    }
    if p.kind == super::ProviderKind::TimeTrack {
        let _ = writeln!(out, "    attendances: {}", yes_no(p.attendances));
    }
    match p.timestamps {
        Some(timeweave_timetrack::Timestamps::Local(tz)) => {
            let _ = writeln!(out, "    timestamps: wall-clock time in {tz}");
        }
        Some(timeweave_timetrack::Timestamps::Utc) => {
            let _ = writeln!(out, "    timestamps: UTC");
        }
        None => {}
    }
    let _ = writeln!(
        out,
        "    propagate deletes: {}",
        yes_no(p.propagate_deletes)
    );
    let _ = writeln!(out, "    push concurrency: {}", p.push_concurrency);
}

/// A quota as operators write it: `2/s`, `100/min`, `1000/h`.
pub fn quota(q: &Quota) -> String {
    let unit = match q.per {
        d if d == Duration::from_secs(1) => "s".to_string(),
        d if d == Duration::from_secs(60) => "min".to_string(),
        d if d == Duration::from_secs(3600) => "h".to_string(),
        d => format!("{}s", d.as_secs()),
    };
    format!("{}/{unit}", q.requests)
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
