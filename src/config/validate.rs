//! Raw config -> [`Config`]: applies defaults, checks every value, reads secret files, and
//! collects every problem (not just the first) with the key and where its value came from.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use figment::Figment;
use timeweave_contract::natural_key::looks_like_email;
use timeweave_contract::Secret;
use timeweave_http::Quota;

use super::env::Environment;
use super::error::{describe_origin, Problem};
use super::raw::{RawConfig, RawLedger, RawProvider, RawRateLimit, RawSync, Scalar};
use super::{
    default_quotas, var_name, Config, ConflictPolicy, LedgerConfig, LogConfig, LogFormat, Mode,
    PostgresLedger, ProviderConfig, ProviderKind, ReportConfig, SecretOrigin, Secrets,
    ServerConfig, SyncConfig, DEFAULT_MAX_PAUSE_SECONDS, DEFAULT_MAX_RESPONSE_MIB,
    DEFAULT_PUSH_CONCURRENCY, DEFAULT_SCHEDULE, MAX_PUSH_CONCURRENCY,
    TRACKINGTIME_DEFAULT_BASE_URL,
};

const CRON_EXAMPLE: &str = "\"0 */5 * * * *\" (every 5 minutes, at second 0)";

struct Ctx<'a> {
    figment: &'a Figment,
    env: &'a Environment,
    secrets: Secrets,
    problems: Vec<Problem>,
    /// Worth an operator's eye, not fatal: `key: message` lines.
    warnings: Vec<String>,
}

impl Ctx<'_> {
    /// Where the value at `key` (or, if absent, its nearest present parent) came from.
    fn origin(&self, key: &str) -> String {
        let keys: Vec<&str> = key.split('.').collect();
        for n in (1..=keys.len()).rev() {
            let sub = keys[..n].join(".");
            if let Some(md) = self.figment.find_metadata(&sub) {
                return describe_origin(md, &keys[..n]);
            }
        }
        "default".to_string()
    }

    fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        let origin = self.origin(&key);
        self.problems.push(Problem {
            key,
            origin,
            message: message.into(),
        });
    }

    fn warn(&mut self, key: &str, message: impl std::fmt::Display) {
        self.warnings.push(format!("{key}: {message}"));
    }

    fn is_env(&self, key: &str) -> bool {
        self.origin(key).starts_with("environment variable")
    }
}

pub(crate) fn validate(
    raw: RawConfig,
    figment: &Figment,
    source: Option<PathBuf>,
    env: &Environment,
    secrets: Secrets,
) -> Result<Config, super::ConfigError> {
    let mut cx = Ctx {
        figment,
        env,
        secrets,
        problems: Vec::new(),
        warnings: Vec::new(),
    };

    let ledger = validate_ledger(&mut cx, raw.ledger);

    let report = ReportConfig {
        currency: raw.report.currency.and_then(|code| {
            let valid = code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase());
            if !valid {
                cx.problem(
                    "report.currency",
                    format!(
                        "`{code}` is not a currency code; expected three capital letters (ISO 4217), e.g. \"EUR\" or \"USD\""
                    ),
                );
            }
            valid.then_some(code)
        }),
    };

    let log = LogConfig {
        format: raw.log.format.unwrap_or(LogFormat::Auto),
        level: match raw.log.level {
            Some(level) => {
                if let Err(e) = tracing_subscriber::EnvFilter::try_new(&level) {
                    cx.problem(
                        "log.level",
                        format!(
                            "`{level}` is not a valid tracing filter ({e}); expected e.g. \
                             \"info\", \"debug\" or \"info,timeweave::sync=debug\""
                        ),
                    );
                }
                level
            }
            None => "info".to_string(),
        },
    };

    let server = ServerConfig {
        listen: raw.server.listen.and_then(|v| {
            let text = v.to_string();
            match text.parse::<SocketAddr>() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    cx.problem(
                        "server.listen",
                        format!(
                            "`{text}` is not a socket address; expected IP:PORT, e.g. \
                             \"127.0.0.1:9187\" or \"[::1]:9187\" (remove the key for no \
                             HTTP listener)"
                        ),
                    );
                    None
                }
            }
        }),
    };

    let sync = validate_sync(&mut cx, raw.sync);

    // Every instance name, including ones that fail validation (so a reference to them is
    // not reported as unknown on top of their own problem).
    let all_names: BTreeSet<String> = raw.providers.keys().cloned().collect();
    let names: BTreeSet<&str> = all_names.iter().map(String::as_str).collect();
    let mut providers = BTreeMap::new();
    for (name, rp) in raw.providers {
        if let Some(p) = validate_provider(&mut cx, &name, rp, &sync) {
            providers.insert(name, p);
        }
    }
    if names.is_empty() {
        cx.problem(
            "providers",
            "no provider instance is configured; add at least one \
             [providers.<name>] table with kind = \"timetrack\", \"trackingtime\" or \
             \"timetracker\" (see config.example.toml)",
        );
    } else if !providers.is_empty() && providers.values().all(|p| !p.enabled) {
        cx.problem(
            "providers",
            "every provider instance has enabled = false; enable at least one",
        );
    }

    if sync.conflict_policy == ConflictPolicy::Prefer {
        if sync.prefer.is_empty() {
            cx.problem(
                "sync.prefer",
                "conflict_policy = \"prefer\" needs the instances in order of preference, \
                 e.g. prefer = [\"acme\", \"tt\"]",
            );
        }
        let mut seen = BTreeSet::new();
        for name in &sync.prefer {
            if !seen.insert(name) {
                cx.problem("sync.prefer", format!("`{name}` is listed twice"));
            } else if !names.contains(name.as_str()) {
                cx.problem(
                    "sync.prefer",
                    format!(
                        "`{name}` is not a configured provider instance; known: {}",
                        list(&names)
                    ),
                );
            }
        }
    } else if !sync.prefer.is_empty() {
        cx.problem(
            "sync.prefer",
            format!(
                "only used with conflict_policy = \"prefer\" (it is \"{}\"); remove it or \
                 set conflict_policy = \"prefer\"",
                sync.conflict_policy.as_str()
            ),
        );
    }

    let people = validate_people(&mut cx, raw.people, &names);

    if !cx.problems.is_empty() {
        return Err(super::ConfigError::Invalid(cx.problems));
    }
    Ok(Config {
        source,
        ledger,
        log,
        server,
        sync,
        report,
        people,
        providers,
        warnings: cx.warnings,
    })
}

fn validate_ledger(cx: &mut Ctx<'_>, raw: RawLedger) -> LedgerConfig {
    if raw.url.is_some() && raw.path.is_some() {
        cx.problem(
            "ledger.url",
            "both ledger.url (PostgreSQL) and ledger.path (SQLite) are set; keep the one the ledger is in",
        );
    }
    let path = match raw.path {
        Some(p) if p.as_os_str().is_empty() => {
            cx.problem(
                "ledger.path",
                "must not be empty; give the SQLite file's path",
            );
            PathBuf::new()
        }
        Some(p) => p,
        None => match cx.env.state_directory() {
            Some(dir) => dir.join("ledger.db"),
            None => PathBuf::from("./timeweave.db"),
        },
    };
    let postgres = match raw.url {
        Some(url) => validate_postgres(cx, &url, raw.password, raw.password_file),
        None => {
            for (set, key) in [
                (raw.password.is_some(), "ledger.password"),
                (raw.password_file.is_some(), "ledger.password_file"),
            ] {
                if set {
                    cx.problem(
                        key,
                        "is only for a PostgreSQL ledger (ledger.url), which is not set",
                    );
                }
            }
            None
        }
    };
    let lease_ttl = raw.lease_ttl_seconds.and_then(|s| {
        if (1..=LedgerConfig::MAX_LEASE_TTL_SECONDS).contains(&s) {
            Some(Duration::from_secs(s))
        } else {
            cx.problem(
                "ledger.lease_ttl_seconds",
                format!(
                    "{s} is out of range; expected 1 to {} seconds",
                    LedgerConfig::MAX_LEASE_TTL_SECONDS
                ),
            );
            None
        }
    });
    let history_days = match raw.history_days {
        Some(d) if !(1..=36_600).contains(&d) => {
            cx.problem(
                "ledger.history_days",
                format!("{d} is out of range; expected a whole number of days from 1 to 36600"),
            );
            LedgerConfig::DEFAULT_HISTORY_DAYS
        }
        Some(d) => d,
        None => LedgerConfig::DEFAULT_HISTORY_DAYS,
    };
    LedgerConfig {
        path,
        postgres,
        lease_ttl,
        history_days,
    }
}

/// `[ledger] url` and its password, checked offline: the form of the URL, never the server
/// (`doctor` goes there). A password inside the URL is refused and never echoed.
fn validate_postgres(
    cx: &mut Ctx<'_>,
    text: &str,
    password: Option<Scalar>,
    password_file: Option<PathBuf>,
) -> Option<PostgresLedger> {
    const FORM: &str = "expected postgres://USER@HOST[:PORT]/DATABASE (the password in \
                        ledger.password_file or TIMEWEAVE_LEDGER__PASSWORD, never in the URL)";
    let url = match url::Url::parse(text) {
        Ok(url) => url,
        // The URL may hold a password: the parser's reason only, never the text.
        Err(e) => {
            cx.problem("ledger.url", format!("is not a URL ({e}); {FORM}"));
            return None;
        }
    };
    let problem = if url.password().is_some() {
        Some("contains a password (user:password@); remove it from the URL and put it in ledger.password_file or TIMEWEAVE_LEDGER__PASSWORD".to_owned())
    } else if !matches!(url.scheme(), "postgres" | "postgresql") {
        Some(format!("has the scheme `{}`; {FORM}", url.scheme()))
    } else if url.host_str().is_none_or(str::is_empty) {
        Some(format!("names no host; {FORM}"))
    } else if url.path().trim_start_matches('/').is_empty() {
        Some(format!("names no database; {FORM}"))
    } else {
        crate::ledger::postgres::check_url(&url).err()
    };
    if let Some(message) = problem {
        cx.problem("ledger.url", message);
        return None;
    }
    let secret = match (cx.secrets, &password, &password_file) {
        (Secrets::NotRead, _, _) | (_, None, None) => None,
        (Secrets::Required, _, _) => resolve_secret(
            cx,
            "ledger-password",
            "ledger",
            "password",
            password,
            password_file,
            "the PostgreSQL password of the ledger's role",
        ),
    };
    let (password, password_origin) = match secret {
        Some((secret, origin)) => (Some(secret), Some(origin)),
        None => (None, None),
    };
    Some(PostgresLedger {
        url,
        password,
        password_origin,
    })
}

fn list(names: &BTreeSet<&str>) -> String {
    if names.is_empty() {
        "(none)".to_string()
    } else {
        names.iter().copied().collect::<Vec<_>>().join(", ")
    }
}

fn validate_sync(cx: &mut Ctx<'_>, raw: RawSync) -> SyncConfig {
    let d = SyncConfig::default();
    let mut days = |key: &str, value: Option<u32>, default: u32, min: u32, max: u32| {
        let v = value.unwrap_or(default);
        if v < min || v > max {
            cx.problem(
                format!("sync.{key}"),
                format!("{v} is out of range; expected a whole number of days from {min} to {max}"),
            );
        }
        v
    };
    let hot_window_days_back = days(
        "hot_window_days_back",
        raw.hot_window_days_back,
        d.hot_window_days_back,
        1,
        3660,
    );
    let hot_window_days_ahead = days(
        "hot_window_days_ahead",
        raw.hot_window_days_ahead,
        d.hot_window_days_ahead,
        0,
        366,
    );
    let deep_scan_slice_days = days(
        "deep_scan_slice_days",
        raw.deep_scan_slice_days,
        d.deep_scan_slice_days,
        1,
        366,
    );

    let deep_scan_horizon = match raw.deep_scan_horizon {
        None => d.deep_scan_horizon,
        Some(v) => {
            let text = v.text().to_string();
            match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
                Ok(date) if date > chrono::Utc::now().date_naive() => {
                    cx.problem(
                        "sync.deep_scan_horizon",
                        format!("{date} is in the future; expected the oldest date worth re-verifying, e.g. \"2015-01-01\""),
                    );
                    date
                }
                Ok(date) => date,
                Err(_) => {
                    cx.problem(
                        "sync.deep_scan_horizon",
                        format!("`{text}` is not a date; expected YYYY-MM-DD, e.g. \"2015-01-01\""),
                    );
                    d.deep_scan_horizon
                }
            }
        }
    };

    let trail_safety_scan_hours = raw
        .trail_safety_scan_hours
        .unwrap_or(d.trail_safety_scan_hours);
    if !(1..=8760).contains(&trail_safety_scan_hours) {
        cx.problem(
            "sync.trail_safety_scan_hours",
            format!("{trail_safety_scan_hours} is out of range; expected a whole number of hours from 1 to 8760"),
        );
    }

    let fraction = raw
        .mass_delete_max_fraction
        .unwrap_or(d.mass_delete_max_fraction);
    if !(fraction > 0.0 && fraction <= 1.0) {
        cx.problem(
            "sync.mass_delete_max_fraction",
            format!("{fraction} is out of range; expected a fraction above 0 and at most 1 (0.2 = 20 %)"),
        );
    }

    SyncConfig {
        conflict_policy: raw.conflict_policy.unwrap_or(d.conflict_policy),
        prefer: raw.prefer.unwrap_or_default(),
        propagate_deletes: raw.propagate_deletes.unwrap_or(d.propagate_deletes),
        hot_window_days_back,
        hot_window_days_ahead,
        deep_scan_slice_days,
        deep_scan_horizon,
        trail_safety_scan_hours,
        mass_delete_max_fraction: fraction,
        mass_delete_min_count: raw.mass_delete_min_count.unwrap_or(d.mass_delete_min_count),
    }
}

fn validate_people(
    cx: &mut Ctx<'_>,
    raw: BTreeMap<String, BTreeMap<String, Scalar>>,
    names: &BTreeSet<&str>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut people = BTreeMap::new();
    for (email, map) in raw {
        let key = format!("people.\"{email}\"");
        let canonical = email.trim().to_lowercase();
        if !looks_like_email(&canonical) {
            cx.problem(
                key.clone(),
                format!("`{email}` is not an e-mail address; people are keyed by their canonical e-mail, e.g. [people.\"ann@example.com\"]"),
            );
            continue;
        }
        if people.contains_key(&canonical) {
            cx.problem(
                key.clone(),
                format!("`{canonical}` is given twice (e-mails are compared lower-cased)"),
            );
            continue;
        }
        let mut out = BTreeMap::new();
        for (instance, remote) in map {
            let remote = remote.to_string();
            if !names.contains(instance.as_str()) {
                cx.problem(
                    format!("{key}.{instance}"),
                    format!(
                        "`{instance}` is not a configured provider instance; known: {}",
                        list(names)
                    ),
                );
            } else if remote.trim().is_empty() {
                cx.problem(
                    format!("{key}.{instance}"),
                    "empty; expected the person's username or id in that instance",
                );
            } else {
                out.insert(instance, remote.trim().to_string());
            }
        }
        people.insert(canonical, out);
    }
    people
}

/// Instance names: lowercase letters, digits, `_` and `-`, at most 64 characters.
pub fn valid_instance_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn validate_provider(
    cx: &mut Ctx<'_>,
    name: &str,
    raw: RawProvider,
    sync: &SyncConfig,
) -> Option<ProviderConfig> {
    let p = format!("providers.{name}");
    let before = cx.problems.len();
    if !valid_instance_name(name) {
        cx.problem(
            p.clone(),
            format!("instance name `{name}` is not allowed; use 1-64 lowercase letters, digits, `_` or `-` (e.g. \"acme\", \"tt-prod\")"),
        );
    }

    let kinds = "\"timetrack\", \"trackingtime\" or \"timetracker\"";
    let kind = match raw.kind.as_deref() {
        None => {
            cx.problem(format!("{p}.kind"), format!("missing; expected {kinds}"));
            return None;
        }
        Some(k) => match ProviderKind::parse(k) {
            Some(kind) => kind,
            None => {
                cx.problem(
                    format!("{p}.kind"),
                    format!("unknown kind `{k}`; expected {kinds}"),
                );
                return None;
            }
        },
    };

    // Options that only one kind understands.
    let only = |owner: ProviderKind, options: &[(&str, bool)], cx: &mut Ctx<'_>| {
        for (option, present) in options {
            if *present && kind != owner {
                cx.problem(
                    format!("{p}.{option}"),
                    format!(
                        "not an option of kind \"{kind}\" (only \"{owner}\" uses it); remove it"
                    ),
                );
            }
        }
    };
    only(
        ProviderKind::TimeTrack,
        &[
            ("api_key", raw.api_key.is_some()),
            ("api_key_file", raw.api_key_file.is_some()),
            ("attendances", raw.attendances.is_some()),
            ("timestamps", raw.timestamps.is_some()),
            ("time_zone", raw.time_zone.is_some()),
        ],
        cx,
    );
    let timestamps = match kind {
        ProviderKind::TimeTrack => match super::timestamps::timetrack_timestamps(
            raw.timestamps.as_deref(),
            raw.time_zone.as_deref(),
        ) {
            Ok(t) => Some(t),
            Err(problems) => {
                for (key, message) in problems {
                    cx.problem(format!("{p}.{key}"), message);
                }
                None
            }
        },
        _ => None,
    };
    only(
        ProviderKind::TrackingTime,
        &[
            ("account_id", raw.account_id.is_some()),
            ("contact", raw.contact.is_some()),
        ],
        cx,
    );

    let base_url = validate_base_url(cx, &p, kind, raw.base_url);

    let schedule = raw.schedule.unwrap_or_else(|| DEFAULT_SCHEDULE.to_string());
    if let Err(why) = validate_cron(&schedule) {
        cx.problem(format!("{p}.schedule"), why);
    }

    let jitter = raw.jitter_seconds.unwrap_or(0);
    if jitter > 3600 {
        cx.problem(
            format!("{p}.jitter_seconds"),
            format!("{jitter} is out of range; expected 0 to 3600 seconds"),
        );
    }
    let timeout = raw.timeout_seconds.unwrap_or(30);
    if !(1..=600).contains(&timeout) {
        cx.problem(
            format!("{p}.timeout_seconds"),
            format!("{timeout} is out of range; expected 1 to 600 seconds"),
        );
    }
    let max_retries = raw.max_retries.unwrap_or(5);
    if max_retries > 20 {
        cx.problem(
            format!("{p}.max_retries"),
            format!("{max_retries} is out of range; expected 0 to 20"),
        );
    }

    let max_pause = raw.max_pause_seconds.unwrap_or(DEFAULT_MAX_PAUSE_SECONDS);
    if !(1..=86_400).contains(&max_pause) {
        cx.problem(
            format!("{p}.max_pause_seconds"),
            format!("{max_pause} is out of range; expected 1 to 86400 seconds"),
        );
    }
    let max_response_mib = raw.max_response_mib.unwrap_or(DEFAULT_MAX_RESPONSE_MIB);
    if !(1..=4096).contains(&max_response_mib) {
        cx.problem(
            format!("{p}.max_response_mib"),
            format!("{max_response_mib} is out of range; expected 1 to 4096 MiB"),
        );
    }

    let push_concurrency = raw.push_concurrency.unwrap_or(DEFAULT_PUSH_CONCURRENCY);
    if !(1..=MAX_PUSH_CONCURRENCY).contains(&push_concurrency) {
        cx.problem(
            format!("{p}.push_concurrency"),
            format!("{push_concurrency} is out of range; expected 1 to {MAX_PUSH_CONCURRENCY}"),
        );
    }

    let quotas = match raw.rate_limit {
        None => default_quotas(kind),
        Some(rl) => validate_rate_limit(cx, &p, rl),
    };

    let secret = match cx.secrets {
        Secrets::Required => resolve_secret(
            cx,
            name,
            &p,
            "api_secret",
            raw.api_secret,
            raw.api_secret_file,
            kind.secret_description(),
        ),
        Secrets::NotRead => Some((Secret::new(""), SecretOrigin::NotRead)),
    };
    if let (Some((s, _)), ProviderKind::TimeTracker, Secrets::Required) =
        (&secret, kind, cx.secrets)
    {
        if !s.expose().starts_with("tt_") {
            cx.problem(
                format!("{p}.api_secret"),
                "does not look like a TimeTracker API token: tokens start with `tt_` (create one under Admin -> Security & Access -> Api-tokens; the value is shown once)",
            );
        }
    }
    let key = if kind == ProviderKind::TimeTrack && cx.secrets == Secrets::Required {
        resolve_secret(
            cx,
            name,
            &p,
            "api_key",
            raw.api_key,
            raw.api_key_file,
            "the TimeTrack API key (X-TimeTrack-Api-Key)",
        )
    } else {
        None
    };
    let webhook_secret = match (raw.webhook_secret, raw.webhook_secret_file, kind) {
        (None, None, _) => None,
        (inline, file, ProviderKind::TrackingTime | ProviderKind::TimeTracker) => resolve_secret(
            cx,
            name,
            &p,
            "webhook_secret",
            inline,
            file,
            "the token the provider's webhook callbacks carry (?token=...)",
        ),
        (_, _, other) => {
            cx.problem(
                format!("{p}.webhook_secret"),
                format!(
                    "only TrackingTime and TimeTracker instances take webhooks, and this one is {}; remove it",
                    other.as_str()
                ),
            );
            None
        }
    };

    if let Some(id) = raw.account_id {
        if id <= 0 {
            cx.problem(format!("{p}.account_id"), format!("{id} is not a TrackingTime account id; expected a positive integer (or remove it to discover the account with GET /me)"));
        }
    }
    let contact = raw.contact.map(|c| c.trim().to_string());
    if kind == ProviderKind::TrackingTime {
        match &contact {
            None => cx.problem(
                format!("{p}.contact"),
                "missing; TrackingTime asks every client to name a contact in its User-Agent: give an e-mail or URL, e.g. contact = \"ops@example.com\"",
            ),
            Some(c) if !(looks_like_email(c) || c.starts_with("https://") || c.starts_with("http://")) => cx.problem(
                format!("{p}.contact"),
                format!("`{c}` is neither an e-mail address nor an http(s) URL"),
            ),
            Some(_) => {}
        }
    }

    if cx.problems.len() > before {
        return None;
    }
    let (api_secret, api_secret_origin) = secret?;
    let (api_key, api_key_origin) = match key {
        Some((k, o)) => (Some(k), Some(o)),
        None => (None, None),
    };
    Some(ProviderConfig {
        name: name.to_string(),
        kind,
        enabled: raw.enabled.unwrap_or(true),
        base_url: base_url?,
        mode: raw.mode.unwrap_or(Mode::Both),
        schedule,
        jitter: Duration::from_secs(jitter),
        quotas,
        timeout: Duration::from_secs(timeout),
        max_retries,
        max_pause: Duration::from_secs(max_pause),
        max_response_bytes: max_response_mib * 1024 * 1024,
        push_concurrency,
        api_key,
        api_secret,
        account_id: raw.account_id,
        contact,
        attendances: raw.attendances.unwrap_or(false),
        timestamps,
        propagate_deletes: raw.propagate_deletes.unwrap_or(sync.propagate_deletes),
        api_secret_origin,
        api_key_origin,
        webhook_secret: webhook_secret.map(|(secret, _)| secret),
    })
}

fn validate_rate_limit(cx: &mut Ctx<'_>, p: &str, rl: RawRateLimit) -> Vec<Quota> {
    let mut quotas = Vec::new();
    for (key, value, make) in [
        (
            "per_second",
            rl.per_second,
            Quota::per_second as fn(u32) -> Quota,
        ),
        ("per_minute", rl.per_minute, Quota::per_minute),
        ("per_hour", rl.per_hour, Quota::per_hour),
    ] {
        match value {
            Some(0) => cx.problem(
                format!("{p}.rate_limit.{key}"),
                "0 would never allow a request; expected a positive number (remove the key for no limit of that length)",
            ),
            Some(n) => quotas.push(make(n)),
            None => {}
        }
    }
    if quotas.is_empty()
        && !cx
            .problems
            .iter()
            .any(|x| x.key.starts_with(&format!("{p}.rate_limit")))
    {
        cx.problem(
            format!("{p}.rate_limit"),
            "empty; give per_second, per_minute and/or per_hour, or remove the table for the kind's defaults",
        );
    }
    quotas
}

fn validate_base_url(
    cx: &mut Ctx<'_>,
    p: &str,
    kind: ProviderKind,
    value: Option<String>,
) -> Option<String> {
    let key = format!("{p}.base_url");
    let text = match (value, kind) {
        (Some(v), _) => v.trim().to_string(),
        (None, ProviderKind::TrackingTime) => {
            return Some(TRACKINGTIME_DEFAULT_BASE_URL.to_string())
        }
        (None, ProviderKind::TimeTrack) => {
            cx.problem(key, "missing; expected your account's API root, e.g. \"https://acme.timetrackenterprise.com/api/v2/ext\"");
            return None;
        }
        (None, ProviderKind::TimeTracker) => {
            cx.problem(key, "missing; expected your server's root URL, e.g. \"https://timetracker.example.com\" (timeweave adds /api/v1)");
            return None;
        }
    };
    let url = match url::Url::parse(&text) {
        Ok(u) => u,
        Err(e) => {
            cx.problem(
                key,
                format!("`{text}` is not a URL ({e}); expected e.g. \"https://host.example.com\""),
            );
            return None;
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo it: the URL holds credentials.
        cx.problem(key, "contains credentials (user:password@); remove them and use api_secret / api_secret_file instead");
        return None;
    }
    if url.query().is_some() || url.fragment().is_some() {
        cx.problem(
            key,
            format!("`{text}` has a query or fragment; expected a plain base URL"),
        );
        return None;
    }
    match url.scheme() {
        "https" => {}
        "http" if timeweave_http::is_loopback(&url) => {}
        "http" => {
            cx.problem(
                key,
                format!("`{text}` is plain http; https:// is required (plain http is only allowed for loopback hosts: 127.0.0.0/8, ::1, localhost)"),
            );
            return None;
        }
        other => {
            cx.problem(
                key,
                format!("`{text}` has scheme `{other}`; expected https://"),
            );
            return None;
        }
    }
    let trimmed = text.trim_end_matches('/').to_string();
    if kind == ProviderKind::TimeTracker && trimmed.ends_with("/api/v1") {
        cx.problem(
            key,
            format!("`{text}` ends with /api/v1; give the server's root URL, timeweave adds /api/v1 itself"),
        );
        return None;
    }
    Some(trimmed)
}

/// Validates a schedule with the parser tokio-cron-scheduler 0.15 itself uses (croner,
/// seconds required), after checking the field count ourselves for a clearer message.
pub fn validate_cron(expr: &str) -> Result<(), String> {
    let fields = expr.split_whitespace().count();
    if fields != 6 {
        let hint = if fields == 5 {
            " (a 5-field crontab line lacks the seconds field: put \"0 \" in front)"
        } else {
            ""
        };
        return Err(format!(
            "`{expr}` has {fields} fields; expected 6 (sec min hour day-of-month month day-of-week, in UTC){hint}, e.g. {CRON_EXAMPLE}"
        ));
    }
    match tokio_cron_scheduler::JobBuilder::new().with_schedule(expr) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "`{expr}` is not a valid cron expression; expected 6 fields (sec min hour day-of-month month day-of-week, in UTC), e.g. {CRON_EXAMPLE} or \"0 30 2 * * *\" (daily at 02:30 UTC)"
        )),
    }
}

/// Resolves `<option>` / `<option>_file` into a secret and where it came from.
#[allow(clippy::too_many_arguments)]
fn resolve_secret(
    cx: &mut Ctx<'_>,
    name: &str,
    p: &str,
    option: &str,
    inline: Option<Scalar>,
    file: Option<PathBuf>,
    what: &str,
) -> Option<(Secret, SecretOrigin)> {
    let key = format!("{p}.{option}");
    let file_key = format!("{p}.{option}_file");
    let env_var = var_name(&key.split('.').collect::<Vec<_>>());
    match (inline, file) {
        (Some(_), Some(_)) => {
            let (a, b) = (cx.origin(&key), cx.origin(&file_key));
            cx.problem(
                key,
                format!("both {option} (from {a}) and {option}_file (from {b}) are set; keep one"),
            );
            None
        }
        (Some(value), None) => {
            let value = value.to_string();
            if value.trim().is_empty() {
                cx.problem(key, format!("is empty; expected {what}"));
                return None;
            }
            let origin = if cx.is_env(&key) {
                SecretOrigin::Env(env_var.clone())
            } else {
                match cx
                    .figment
                    .find_metadata(&key)
                    .and_then(|m| m.source.clone())
                {
                    Some(figment::Source::File(path)) => SecretOrigin::ConfigFile(path),
                    _ => SecretOrigin::Inline,
                }
            };
            if let SecretOrigin::ConfigFile(path) = &origin {
                cx.warn(
                    &key,
                    format!(
                        "the secret is written in {}, where everyone who can read the config reads it; \
                         move it to {option}_file (a systemd LoadCredential= file) or the environment variable {}",
                        path.display(),
                        env_var
                    ),
                );
            }
            Some((Secret::new(value), origin))
        }
        (None, Some(path)) => {
            let path = match expand_credentials(&path, cx.env) {
                Ok(p) => p,
                Err(msg) => {
                    cx.problem(file_key, msg);
                    return None;
                }
            };
            match read_secret_file(&path) {
                Ok(SecretFile { text, shared }) => {
                    let value = text.trim_end_matches(['\n', '\r']);
                    if value.trim().is_empty() {
                        cx.problem(
                            file_key,
                            format!("{} is empty; expected it to hold {what}", path.display()),
                        );
                        return None;
                    }
                    if shared {
                        cx.warn(
                            &file_key,
                            format!(
                                "{} is readable by its group or by others; make it private: chmod 600 {}",
                                path.display(),
                                path.display()
                            ),
                        );
                    }
                    Some((Secret::new(value), SecretOrigin::File(path)))
                }
                Err(message) => {
                    cx.problem(file_key, message);
                    None
                }
            }
        }
        (None, None) => {
            cx.problem(
                key,
                format!(
                    "missing {what}; set {option}_file = \"/run/credentials/timeweave.service/{name}\" \
                     (a systemd LoadCredential= file; \"%d/{name}\" works too) or the environment \
                     variable {env_var}"
                ),
            );
            None
        }
    }
}

/// The largest secret file read: a credential is a few hundred bytes at most.
const SECRET_FILE_MAX_BYTES: u64 = 64 * 1024;

/// A secret file's text, and whether its group or others may read it.
struct SecretFile {
    text: String,
    shared: bool,
}

/// Reads a secret file, which must be a regular file of a sane size: a FIFO, a device or a
/// directory is refused before it is opened (a FIFO would block start-up forever). Error
/// text names the path, which is absolute (`expand_credentials`), never the content.
fn read_secret_file(path: &Path) -> Result<SecretFile, String> {
    let hint = "(under systemd, check the LoadCredential= line of the unit)";
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e} {hint}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "{} is not a regular file (a FIFO, device or directory); give a file that holds the secret",
            path.display()
        ));
    }
    if meta.len() > SECRET_FILE_MAX_BYTES {
        return Err(format!(
            "{} is {} bytes, too large for a secret (at most {SECRET_FILE_MAX_BYTES}); is it the right file?",
            path.display(),
            meta.len()
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e} {hint}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{} is not UTF-8 text; a secret is text", path.display()))?;
    Ok(SecretFile {
        text,
        shared: readable_by_others(&meta),
    })
}

#[cfg(unix)]
fn readable_by_others(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o044 != 0
}

#[cfg(not(unix))]
fn readable_by_others(_meta: &std::fs::Metadata) -> bool {
    false
}

/// The credential id under which the shipped unit loads the whole directory
/// `/etc/timeweave/credentials` (`LoadCredential=timeweave:/etc/timeweave/credentials`):
/// systemd names each file NAME of it `timeweave_NAME`.
const UNIT_CREDENTIAL_PREFIX: &str = "timeweave_";

/// `%d/NAME` means `$CREDENTIALS_DIRECTORY/NAME`, as `%d` does in systemd unit files; when
/// there is no `NAME` there but a `timeweave_NAME` (the shipped unit's directory credential),
/// that one. So one config works under the unit and, for `check`, with
/// `CREDENTIALS_DIRECTORY=/etc/timeweave/credentials` outside it. Any other value must be an
/// absolute path: a relative one is more likely the secret itself, put in the wrong key, and
/// is never echoed.
fn expand_credentials(path: &Path, env: &Environment) -> Result<PathBuf, String> {
    let text = path.to_string_lossy();
    match text.strip_prefix("%d/") {
        None if path.is_absolute() => Ok(path.to_path_buf()),
        None => Err("is not an absolute path or %d/NAME (its value is not shown: if it is the secret itself, \
             put it in a file and give that file's path, or use the environment variable)"
            .to_string()),
        Some(rest) => match env.credentials_directory() {
            Some(dir) => Ok(credential_in(&dir, rest)),
            None => Err(format!(
                "`{text}` uses %d, but CREDENTIALS_DIRECTORY is not set: systemd sets it for the service \
                 (the unit's LoadCredential=). To check the config as the service will see it, run \
                 `CREDENTIALS_DIRECTORY=/etc/timeweave/credentials timeweave check`, and to try them \
                 against the accounts, `CREDENTIALS_DIRECTORY=/etc/timeweave/credentials timeweave \
                 doctor`; outside systemd give a full path"
            )),
        },
    }
}

/// `dir/name`, or `dir/timeweave_name` when only that one exists.
fn credential_in(dir: &Path, name: &str) -> PathBuf {
    let plain = dir.join(name);
    let from_unit = dir.join(format!("{UNIT_CREDENTIAL_PREFIX}{name}"));
    if !plain.exists() && from_unit.exists() {
        from_unit
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names() {
        for ok in ["acme", "tt-prod", "a_1", "0"] {
            assert!(valid_instance_name(ok), "{ok}");
        }
        for bad in ["", "Acme", "a.b", "a b", "ä", &"x".repeat(65)] {
            assert!(!valid_instance_name(bad), "{bad}");
        }
    }

    #[test]
    fn cron_needs_six_valid_fields() {
        assert!(validate_cron("0 */5 * * * *").is_ok());
        assert!(validate_cron("0 30 2 * * Mon-Fri").is_ok());
        let five = validate_cron("*/5 * * * *").unwrap_err();
        assert!(
            five.contains("has 5 fields") && five.contains("seconds"),
            "{five}"
        );
        let bad = validate_cron("0 */5 * * * nope").unwrap_err();
        assert!(
            bad.contains("not a valid cron expression") && bad.contains("0 */5 * * * *"),
            "{bad}"
        );
        assert!(validate_cron("0 61 * * * *").is_err());
    }
}
