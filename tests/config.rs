//! The config loader as an operator meets it: files, environment overrides, secret files,
//! and the message of every validation error (naming the key, its origin and the fix).

use std::path::{Path, PathBuf};
use std::time::Duration;

use timeweave::config::{
    default_quotas, from_toml_str, load_file, ConfigError, ConflictPolicy, Environment, Mode,
    PathOrigin, ProviderKind, SecretOrigin, DEFAULT_SCHEDULE,
};
use timeweave_http::Quota;

/// A config with one TimeTracker instance and an inline token.
const MINIMAL: &str = r#"
[providers.tt]
kind = "timetracker"
base_url = "https://tt.example.com"
api_secret = "tt_minimal_token"
"#;

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

fn load(toml: &str, env: &[(&str, &str)]) -> Result<timeweave::config::Config, ConfigError> {
    let dir = Dir::new();
    let path = dir.write("config.toml", toml);
    load_file(
        &path,
        PathOrigin::Flag,
        &Environment::from_pairs(env.iter().copied()),
    )
}

/// The whole error text, with a check that it names `key` and contains every `needle`.
#[track_caller]
fn err(
    result: Result<timeweave::config::Config, ConfigError>,
    key: &str,
    needles: &[&str],
) -> String {
    let e = match result {
        Ok(cfg) => panic!("expected an error about {key}, got a config: {cfg:?}"),
        Err(e) => e,
    };
    let text = e.to_string();
    let problem = e
        .problems()
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("no problem with key {key:?} in:\n{text}"));
    for n in needles {
        assert!(
            problem.to_string().contains(n),
            "problem for {key} lacks {n:?}:\n{problem}"
        );
    }
    text
}

fn with_provider(extra: &str) -> String {
    format!("{MINIMAL}{extra}\n")
}

#[test]
fn minimal_config_gets_every_default() {
    let cfg = load(MINIMAL, &[]).unwrap();
    assert!(cfg.source.as_ref().unwrap().ends_with("config.toml"));
    assert_eq!(cfg.ledger.path, PathBuf::from("./timeweave.db"));
    assert_eq!(cfg.log.level, "info");
    assert_eq!(cfg.server.listen, None);
    let s = &cfg.sync;
    assert_eq!(s.conflict_policy, ConflictPolicy::Newest);
    assert!(s.propagate_deletes);
    assert_eq!(
        (
            s.hot_window_days_back,
            s.hot_window_days_ahead,
            s.deep_scan_slice_days
        ),
        (35, 7, 30)
    );
    assert_eq!(s.deep_scan_horizon.to_string(), "2015-01-01");
    assert_eq!(
        (s.mass_delete_max_fraction, s.mass_delete_min_count),
        (0.2, 10)
    );
    assert_eq!(cfg.ledger.history_days, 90);
    let p = &cfg.providers["tt"];
    assert_eq!(p.name, "tt");
    assert_eq!(p.kind, ProviderKind::TimeTracker);
    assert!(p.enabled);
    assert_eq!(p.mode, Mode::Both);
    assert!(p.mode.pulls() && p.mode.pushes());
    assert_eq!(p.schedule, DEFAULT_SCHEDULE);
    assert_eq!(p.jitter, Duration::ZERO);
    assert_eq!(p.timeout, Duration::from_secs(30));
    assert_eq!(p.max_retries, 5);
    assert_eq!(p.push_concurrency, 4);
    assert_eq!(
        p.quotas,
        vec![Quota::per_minute(100), Quota::per_hour(1000)]
    );
    assert_eq!(p.api_secret.expose(), "tt_minimal_token");
    assert!(matches!(p.api_secret_origin, SecretOrigin::ConfigFile(_)));
    assert!(p.api_key.is_none() && p.account_id.is_none() && p.contact.is_none());
    assert!(!p.attendances);
    assert!(p.propagate_deletes);
}

#[test]
fn default_quotas_are_the_documented_ones() {
    assert_eq!(
        default_quotas(ProviderKind::TimeTrack),
        vec![Quota::per_minute(30)]
    );
    assert_eq!(
        default_quotas(ProviderKind::TrackingTime),
        vec![Quota::per_second(2)]
    );
    assert_eq!(
        default_quotas(ProviderKind::TimeTracker),
        vec![Quota::per_minute(100), Quota::per_hour(1000)]
    );
    assert_eq!(ProviderKind::TrackingTime.as_str(), "trackingtime");
}

#[test]
fn ledger_defaults_to_the_systemd_state_directory() {
    let cfg = load(MINIMAL, &[("STATE_DIRECTORY", "/var/lib/timeweave")]).unwrap();
    assert_eq!(
        cfg.ledger.path,
        PathBuf::from("/var/lib/timeweave/ledger.db")
    );
    let cfg = load(
        &format!("[ledger]\npath = \"/srv/l.db\"\n{MINIMAL}"),
        &[("STATE_DIRECTORY", "/var/lib/timeweave")],
    )
    .unwrap();
    assert_eq!(cfg.ledger.path, PathBuf::from("/srv/l.db"));
}

#[test]
fn environment_overrides_the_file_with_nested_keys() {
    let toml =
        format!("[sync]\nhot_window_days_back = 20\n[ledger]\npath = \"/file.db\"\n{MINIMAL}");
    let cfg = load(
        &toml,
        &[
            ("TIMEWEAVE_SYNC__HOT_WINDOW_DAYS_BACK", "40"),
            ("TIMEWEAVE_LEDGER__PATH", "/env.db"),
            ("TIMEWEAVE_PROVIDERS__TT__SCHEDULE", "0 0 * * * *"),
            ("TIMEWEAVE_PROVIDERS__TT__MODE", "pull"),
            ("TIMEWEAVE_PROVIDERS__TT__API_SECRET", "tt_from_env"),
            ("TIMEWEAVE_SYNC__MASS_DELETE_MAX_FRACTION", "0.5"),
            ("TIMEWEAVE_SERVER__LISTEN", "127.0.0.1:9187"),
            ("TIMEWEAVE_CONFIG", "/ignored/by/the/loader.toml"),
        ],
    )
    .unwrap();
    assert_eq!(cfg.sync.hot_window_days_back, 40);
    assert_eq!(cfg.ledger.path, PathBuf::from("/env.db"));
    assert_eq!(cfg.sync.mass_delete_max_fraction, 0.5);
    assert_eq!(cfg.server.listen, Some("127.0.0.1:9187".parse().unwrap()));
    let p = &cfg.providers["tt"];
    assert_eq!(p.schedule, "0 0 * * * *");
    assert_eq!(p.mode, Mode::Pull);
    assert!(!p.mode.pushes());
    assert_eq!(p.api_secret.expose(), "tt_from_env");
    assert_eq!(
        p.api_secret_origin,
        SecretOrigin::Env("TIMEWEAVE_PROVIDERS__TT__API_SECRET".into())
    );
}

#[test]
fn a_whole_provider_can_come_from_the_environment() {
    let cfg = load(
        MINIMAL,
        &[
            ("TIMEWEAVE_PROVIDERS__TRK__KIND", "trackingtime"),
            ("TIMEWEAVE_PROVIDERS__TRK__API_SECRET", "12345"),
            ("TIMEWEAVE_PROVIDERS__TRK__CONTACT", "ops@example.com"),
            ("TIMEWEAVE_PROVIDERS__TRK__ACCOUNT_ID", "777"),
        ],
    )
    .unwrap();
    let p = &cfg.providers["trk"];
    assert_eq!(p.kind, ProviderKind::TrackingTime);
    assert_eq!(p.base_url, "https://api.trackingtime.co/api/v4");
    // A numeric-looking secret stays the same text.
    assert_eq!(p.api_secret.expose(), "12345");
    assert_eq!(p.account_id, Some(777));
    assert_eq!(p.quotas, vec![Quota::per_second(2)]);
}

#[test]
fn a_misspelt_environment_variable_is_named() {
    let text = err(
        load(MINIMAL, &[("TIMEWEAVE_LEDGER_PATH", "/x.db")]),
        "ledger_path",
        &[
            "environment variable TIMEWEAVE_LEDGER_PATH",
            "unknown option `ledger_path`",
        ],
    );
    assert!(text.contains("invalid configuration"));
}

#[test]
fn a_misspelt_key_in_the_file_is_named_with_a_suggestion() {
    let text = err(
        load(&with_provider("scheduel = \"0 * * * * *\""), &[]),
        "providers.tt.scheduel",
        &[
            "unknown option `scheduel`",
            "did you mean `schedule`?",
            "config.toml",
        ],
    );
    assert!(text.contains("valid here:"), "{text}");
    err(
        load(
            &format!("[sync]\nconflict_polcy = \"manual\"\n{MINIMAL}"),
            &[],
        ),
        "sync.conflict_polcy",
        &["did you mean `conflict_policy`?"],
    );
    err(
        load(&format!("[sinc]\n{MINIMAL}"), &[]),
        "sinc",
        &["did you mean `sync`?"],
    );
}

#[test]
fn wrong_types_and_enum_values_name_the_key_and_the_choices() {
    err(
        load(
            &format!("[sync]\nhot_window_days_back = \"many\"\n{MINIMAL}"),
            &[],
        ),
        "sync.hot_window_days_back",
        &["wrong type", "config.toml"],
    );
    err(
        load(&with_provider("mode = \"sideways\""), &[]),
        "providers.tt.mode",
        &["`sideways`", "\"pull\", \"push\", \"both\""],
    );
    err(
        load(&format!("[log]\nformat = \"xml\"\n{MINIMAL}"), &[]),
        "log.format",
        &["\"auto\", \"human\", \"json\""],
    );
    err(
        load(
            &format!("[sync]\nconflict_policy = \"oldest\"\n{MINIMAL}"),
            &[],
        ),
        "sync.conflict_policy",
        &["\"newest\", \"prefer\", \"manual\""],
    );
}

#[test]
fn secret_files_are_read_and_trimmed() {
    let dir = Dir::new();
    let secret = dir.write("secret", "tt_from_file\r\n");
    let key = dir.write("key", "key with  inner spaces\n\n");
    let toml = format!(
        r#"
[providers.tt]
kind = "timetracker"
base_url = "https://tt.example.com"
api_secret_file = "{}"

[providers.acme]
kind = "timetrack"
base_url = "https://acme.timetrackenterprise.com/api/v2/ext"
api_key_file = "{}"
api_secret = "s3cr3t"
time_zone = "Europe/Berlin"
"#,
        secret.display(),
        key.display()
    );
    let cfg = load(&toml, &[]).unwrap();
    let tt = &cfg.providers["tt"];
    assert_eq!(tt.api_secret.expose(), "tt_from_file");
    assert_eq!(tt.api_secret_origin, SecretOrigin::File(secret));
    let acme = &cfg.providers["acme"];
    assert_eq!(
        acme.api_key.as_ref().unwrap().expose(),
        "key with  inner spaces"
    );
    assert_eq!(acme.api_key_origin, Some(SecretOrigin::File(key)));
}

#[test]
fn percent_d_means_the_systemd_credentials_directory() {
    let dir = Dir::new();
    dir.write("tt", "tt_credential\n");
    let toml = "[providers.tt]\nkind = \"timetracker\"\nbase_url = \"https://tt.example.com\"\napi_secret_file = \"%d/tt\"\n";
    let creds = dir.path().to_str().unwrap();
    let cfg = load(toml, &[("CREDENTIALS_DIRECTORY", creds)]).unwrap();
    assert_eq!(cfg.providers["tt"].api_secret.expose(), "tt_credential");
    err(
        load(toml, &[]),
        "providers.tt.api_secret_file",
        &["%d", "CREDENTIALS_DIRECTORY is not set"],
    );
}

#[test]
fn an_unreadable_or_empty_secret_file_is_named() {
    let toml = "[providers.tt]\nkind = \"timetracker\"\nbase_url = \"https://tt.example.com\"\napi_secret_file = \"/nonexistent/tt-token\"\n";
    err(
        load(toml, &[]),
        "providers.tt.api_secret_file",
        &["cannot read /nonexistent/tt-token", "LoadCredential"],
    );
    let dir = Dir::new();
    let empty = dir.write("empty", "\n");
    let toml = toml.replace("/nonexistent/tt-token", empty.to_str().unwrap());
    err(
        load(&toml, &[]),
        "providers.tt.api_secret_file",
        &["is empty"],
    );
}

#[test]
fn a_secret_given_twice_is_an_error() {
    let dir = Dir::new();
    let f = dir.write("s", "tt_x");
    err(
        load(
            &with_provider(&format!("api_secret_file = \"{}\"", f.display())),
            &[],
        ),
        "providers.tt.api_secret",
        &["both api_secret", "api_secret_file", "keep one"],
    );
    // Also when one comes from the environment.
    let toml = format!(
        "[providers.tt]\nkind = \"timetracker\"\nbase_url = \"https://tt.example.com\"\napi_secret_file = \"{}\"\n",
        f.display()
    );
    err(
        load(&toml, &[("TIMEWEAVE_PROVIDERS__TT__API_SECRET", "tt_y")]),
        "providers.tt.api_secret",
        &[
            "environment variable TIMEWEAVE_PROVIDERS__TT__API_SECRET",
            "keep one",
        ],
    );
}

#[test]
fn a_missing_secret_says_both_ways_to_give_it() {
    let toml = "[providers.tt]\nkind = \"timetracker\"\nbase_url = \"https://tt.example.com\"\n";
    err(
        load(toml, &[]),
        "providers.tt.api_secret",
        &[
            "missing the TimeTracker API token",
            "api_secret_file = \"/run/credentials/timeweave.service/tt\"",
            "TIMEWEAVE_PROVIDERS__TT__API_SECRET",
        ],
    );
    let toml = "[providers.acme]\nkind = \"timetrack\"\nbase_url = \"https://a.example.com\"\napi_secret = \"x\"\n";
    err(
        load(toml, &[]),
        "providers.acme.api_key",
        &[
            "TimeTrack API key",
            "api_key_file",
            "TIMEWEAVE_PROVIDERS__ACME__API_KEY",
        ],
    );
}

#[test]
fn timetracker_tokens_must_look_like_tokens_and_are_not_echoed() {
    let text = err(
        load(&MINIMAL.replace("tt_minimal_token", "hunter2-secret"), &[]),
        "providers.tt.api_secret",
        &["start with `tt_`"],
    );
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn https_is_required_except_for_loopback() {
    for ok in [
        "https://tt.example.com",
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://[::1]:9000",
        "http://localhost:3000/",
    ] {
        let cfg = load(&MINIMAL.replace("https://tt.example.com", ok), &[])
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert!(!cfg.providers["tt"].base_url.ends_with('/'));
    }
    for bad in [
        "http://tt.example.com",
        "http://10.0.0.5",
        "http://localhost.evil.com",
    ] {
        err(
            load(&MINIMAL.replace("https://tt.example.com", bad), &[]),
            "providers.tt.base_url",
            &["https:// is required", "loopback", bad],
        );
    }
    err(
        load(
            &MINIMAL.replace("https://tt.example.com", "ftp://tt.example.com"),
            &[],
        ),
        "providers.tt.base_url",
        &["scheme `ftp`"],
    );
    err(
        load(&MINIMAL.replace("https://tt.example.com", "not a url"), &[]),
        "providers.tt.base_url",
        &["is not a URL"],
    );
    let text = err(
        load(
            &MINIMAL.replace(
                "https://tt.example.com",
                "https://bob:pa55word@tt.example.com",
            ),
            &[],
        ),
        "providers.tt.base_url",
        &["contains credentials"],
    );
    assert!(!text.contains("pa55word"), "{text}");
    err(
        load(
            &MINIMAL.replace("https://tt.example.com", "https://tt.example.com/api/v1"),
            &[],
        ),
        "providers.tt.base_url",
        &["adds /api/v1"],
    );
}

#[test]
fn timetrack_wall_clock_time_needs_its_zone() {
    let acme = "[providers.acme]\nkind = \"timetrack\"\nbase_url = \"https://a.example.com\"\napi_key = \"k\"\napi_secret = \"s\"\n";
    err(
        load(acme, &[]),
        "providers.acme.time_zone",
        &[
            "missing",
            "time_zone = \"Europe/Berlin\"",
            "timestamps = \"utc\"",
        ],
    );
    err(
        load(&format!("{acme}time_zone = \"Berlin\"\n"), &[]),
        "providers.acme.time_zone",
        &["`Berlin`", "did you mean \"Europe/Berlin\""],
    );
    let cfg = load(
        acme,
        &[("TIMEWEAVE_PROVIDERS__ACME__TIME_ZONE", "America/New_York")],
    )
    .unwrap();
    assert_eq!(
        cfg.providers["acme"].timestamps,
        Some(timeweave_timetrack::Timestamps::Local(
            chrono_tz::America::New_York
        ))
    );
    let cfg = load(&format!("{acme}timestamps = \"utc\"\n"), &[]).unwrap();
    assert_eq!(
        cfg.providers["acme"].timestamps,
        Some(timeweave_timetrack::Timestamps::Utc)
    );
    let tt = "[providers.tt]\nkind = \"timetracker\"\nbase_url = \"https://tt.example.com\"\napi_secret = \"tt_x\"\ntime_zone = \"Europe/Berlin\"\n";
    err(
        load(tt, &[]),
        "providers.tt.time_zone",
        &["only \"timetrack\""],
    );
}

#[test]
fn base_url_is_required_where_there_is_no_default() {
    err(
        load(
            "[providers.tt]\nkind = \"timetracker\"\napi_secret = \"tt_x\"\n",
            &[],
        ),
        "providers.tt.base_url",
        &["missing", "https://timetracker.example.com"],
    );
    err(
        load(
            "[providers.a]\nkind = \"timetrack\"\napi_key = \"k\"\napi_secret = \"s\"\n",
            &[],
        ),
        "providers.a.base_url",
        &["missing", "timetrackenterprise.com/api/v2/ext"],
    );
}

#[test]
fn a_bad_schedule_shows_the_expression_and_an_example() {
    err(
        load(&with_provider("schedule = \"0 */5 * * * nope\""), &[]),
        "providers.tt.schedule",
        &[
            "`0 */5 * * * nope`",
            "not a valid cron expression",
            "\"0 */5 * * * *\"",
        ],
    );
    err(
        load(&with_provider("schedule = \"*/5 * * * *\""), &[]),
        "providers.tt.schedule",
        &["has 5 fields", "expected 6", "seconds"],
    );
    err(
        load(&with_provider("schedule = \"0 0 25 * * *\""), &[]),
        "providers.tt.schedule",
        &["`0 0 25 * * *`"],
    );
    let cfg = load(&with_provider("schedule = \"0 30 2 * * Mon-Fri\""), &[]).unwrap();
    assert_eq!(cfg.providers["tt"].schedule, "0 30 2 * * Mon-Fri");
}

#[test]
fn an_unknown_kind_lists_the_three() {
    err(
        load("[providers.x]\nkind = \"toggl\"\n", &[]),
        "providers.x.kind",
        &[
            "unknown kind `toggl`",
            "\"timetrack\", \"trackingtime\" or \"timetracker\"",
        ],
    );
    err(
        load("[providers.x]\nenabled = true\n", &[]),
        "providers.x.kind",
        &["missing"],
    );
}

#[test]
fn options_of_another_kind_are_refused() {
    err(
        load(&with_provider("account_id = 5"), &[]),
        "providers.tt.account_id",
        &[
            "not an option of kind \"timetracker\"",
            "only \"trackingtime\"",
        ],
    );
    err(
        load(&with_provider("attendances = true"), &[]),
        "providers.tt.attendances",
        &["only \"timetrack\""],
    );
    err(
        load(&with_provider("contact = \"ops@example.com\""), &[]),
        "providers.tt.contact",
        &["only \"trackingtime\""],
    );
    let trk = "[providers.trk]\nkind = \"trackingtime\"\napi_secret = \"p\"\ncontact = \"ops@example.com\"\napi_key = \"k\"\n";
    err(
        load(trk, &[]),
        "providers.trk.api_key",
        &["not an option of kind \"trackingtime\""],
    );
}

#[test]
fn trackingtime_needs_a_contact_and_a_sane_account_id() {
    let trk = "[providers.trk]\nkind = \"trackingtime\"\napi_secret = \"p\"\n";
    err(
        load(trk, &[]),
        "providers.trk.contact",
        &["missing", "User-Agent"],
    );
    err(
        load(&format!("{trk}contact = \"bob\"\n"), &[]),
        "providers.trk.contact",
        &["neither an e-mail address nor an http(s) URL"],
    );
    err(
        load(
            &format!("{trk}contact = \"ops@example.com\"\naccount_id = -3\n"),
            &[],
        ),
        "providers.trk.account_id",
        &["positive integer"],
    );
}

#[test]
fn rate_limits_replace_the_kind_defaults() {
    let cfg = load(
        &with_provider("[providers.tt.rate_limit]\nper_second = 5\nper_hour = 500"),
        &[],
    )
    .unwrap();
    assert_eq!(
        cfg.providers["tt"].quotas,
        vec![Quota::per_second(5), Quota::per_hour(500)]
    );
    err(
        load(
            &with_provider("[providers.tt.rate_limit]\nper_minute = 0"),
            &[],
        ),
        "providers.tt.rate_limit.per_minute",
        &["positive number"],
    );
    err(
        load(&with_provider("[providers.tt.rate_limit]"), &[]),
        "providers.tt.rate_limit",
        &["empty"],
    );
    err(
        load(
            &with_provider("[providers.tt.rate_limit]\nper_day = 5"),
            &[],
        ),
        "providers.tt.rate_limit.per_day",
        &["unknown option"],
    );
}

#[test]
fn numeric_ranges_are_checked() {
    err(
        load(&with_provider("timeout_seconds = 0"), &[]),
        "providers.tt.timeout_seconds",
        &["1 to 600"],
    );
    err(
        load(&with_provider("jitter_seconds = 99999"), &[]),
        "providers.tt.jitter_seconds",
        &["0 to 3600"],
    );
    err(
        load(&with_provider("max_retries = 100"), &[]),
        "providers.tt.max_retries",
        &["0 to 20"],
    );
    err(
        load(&with_provider("push_concurrency = 0"), &[]),
        "providers.tt.push_concurrency",
        &["1 to 32"],
    );
    err(
        load(&with_provider("push_concurrency = 64"), &[]),
        "providers.tt.push_concurrency",
        &["1 to 32"],
    );
    err(
        load(
            &format!("[sync]\nmass_delete_max_fraction = 1.5\n{MINIMAL}"),
            &[],
        ),
        "sync.mass_delete_max_fraction",
        &["above 0 and at most 1"],
    );
    err(
        load(&format!("[ledger]\nhistory_days = 0\n{MINIMAL}"), &[]),
        "ledger.history_days",
        &["from 1 to 36600"],
    );
    err(
        load(&format!("[sync]\ndeep_scan_slice_days = 0\n{MINIMAL}"), &[]),
        "sync.deep_scan_slice_days",
        &["from 1 to 366"],
    );
    err(
        load(
            &format!("[sync]\ntrail_safety_scan_hours = 0\n{MINIMAL}"),
            &[],
        ),
        "sync.trail_safety_scan_hours",
        &["from 1 to 8760"],
    );
    err(
        load(
            &format!("[sync]\ndeep_scan_horizon = \"last year\"\n{MINIMAL}"),
            &[],
        ),
        "sync.deep_scan_horizon",
        &["YYYY-MM-DD"],
    );
    err(
        load(&format!("[server]\nlisten = \"localhost\"\n{MINIMAL}"), &[]),
        "server.listen",
        &["127.0.0.1:9187"],
    );
    err(
        load(&format!("[log]\nlevel = \"info,[[[\"\n{MINIMAL}"), &[]),
        "log.level",
        &["not a valid tracing filter"],
    );
}

#[test]
fn a_toml_date_is_accepted_as_horizon() {
    let cfg = load(
        &format!("[sync]\ndeep_scan_horizon = 2020-06-01\n{MINIMAL}"),
        &[],
    )
    .unwrap();
    assert_eq!(cfg.sync.deep_scan_horizon.to_string(), "2020-06-01");
}

#[test]
fn prefer_policy_is_validated_against_the_instances() {
    let two = format!("{MINIMAL}\n[providers.acme]\nkind = \"timetrack\"\nbase_url = \"https://a.example.com\"\napi_key = \"k\"\napi_secret = \"s\"\ntime_zone = \"Europe/Vienna\"\n");
    let cfg = load(
        &format!("[sync]\nconflict_policy = \"prefer\"\nprefer = [\"acme\", \"tt\"]\n{two}"),
        &[],
    )
    .unwrap();
    assert_eq!(cfg.sync.conflict_policy, ConflictPolicy::Prefer);
    assert_eq!(cfg.sync.prefer, ["acme", "tt"]);

    err(
        load(&format!("[sync]\nconflict_policy = \"prefer\"\n{two}"), &[]),
        "sync.prefer",
        &["needs the instances in order of preference"],
    );
    err(
        load(
            &format!("[sync]\nconflict_policy = \"prefer\"\nprefer = [\"acme\", \"nope\"]\n{two}"),
            &[],
        ),
        "sync.prefer",
        &["`nope` is not a configured provider instance", "acme, tt"],
    );
    err(
        load(
            &format!("[sync]\nconflict_policy = \"prefer\"\nprefer = [\"tt\", \"tt\"]\n{two}"),
            &[],
        ),
        "sync.prefer",
        &["listed twice"],
    );
    err(
        load(&format!("[sync]\nprefer = [\"tt\"]\n{two}"), &[]),
        "sync.prefer",
        &["only used with conflict_policy = \"prefer\""],
    );
}

#[test]
fn people_overrides_are_checked_against_the_instances() {
    let cfg = load(
        &format!("{MINIMAL}\n[people.\"Ann@Example.com\"]\ntt = \"ann\"\n"),
        &[],
    )
    .unwrap();
    assert_eq!(cfg.people["ann@example.com"]["tt"], "ann");
    err(
        load(
            &format!("{MINIMAL}\n[people.\"ann@example.com\"]\nacme = \"ann\"\n"),
            &[],
        ),
        "people.\"ann@example.com\".acme",
        &["`acme` is not a configured provider instance"],
    );
    err(
        load(&format!("{MINIMAL}\n[people.ann]\ntt = \"ann\"\n"), &[]),
        "people.\"ann\"",
        &["not an e-mail address"],
    );
}

#[test]
fn instance_names_are_restricted() {
    err(
        load(
            &MINIMAL.replace("[providers.tt]", "[providers.\"Prod TT\"]"),
            &[],
        ),
        "providers.Prod TT",
        &["not allowed", "lowercase"],
    );
}

#[test]
fn at_least_one_enabled_provider_is_required() {
    err(
        load("[sync]\n", &[]),
        "providers",
        &["no provider instance", "config.example.toml"],
    );
    err(
        load(&with_provider("enabled = false"), &[]),
        "providers",
        &["enabled = false"],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = load(
        "[sync]\nhot_window_days_back = 0\n[providers.tt]\nkind = \"timetracker\"\nbase_url = \"http://tt.example.com\"\nschedule = \"bad\"\n",
        &[],
    )
    .unwrap_err();
    let keys: Vec<&str> = e.problems().iter().map(|p| p.key.as_str()).collect();
    for k in [
        "sync.hot_window_days_back",
        "providers.tt.base_url",
        "providers.tt.schedule",
        "providers.tt.api_secret",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    assert!(e.to_string().contains("4 problems"), "{e}");
}

#[test]
fn a_missing_file_says_where_it_looked_and_how_to_start() {
    let e = load_file(
        Path::new("/nonexistent/timeweave.toml"),
        PathOrigin::Default,
        &Environment::empty(),
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, ConfigError::NotFound { .. }));
    for n in [
        "/nonexistent/timeweave.toml",
        "config.example.toml",
        "--config",
        "TIMEWEAVE_CONFIG",
        "default location",
    ] {
        assert!(text.contains(n), "{n:?} missing from {text}");
    }
}

#[test]
fn a_toml_syntax_error_names_the_file_and_line() {
    let text = load("[providers.tt\nkind = 1\n", &[])
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("config.toml") && text.contains("line 1"),
        "{text}"
    );
}

#[test]
fn config_from_a_string_needs_no_file() {
    let cfg = from_toml_str(MINIMAL).unwrap();
    assert!(cfg.source.is_none());
    assert_eq!(cfg.providers["tt"].api_secret_origin, SecretOrigin::Inline);
}

#[test]
fn the_example_config_loads_cleanly() {
    let dir = Dir::new();
    for name in [
        "timetrack-key",
        "timetrack-secret",
        "trackingtime",
        "trackingtime-webhook",
        "timetracker",
        "timetracker-webhook",
    ] {
        let value = if name == "timetracker" {
            "tt_example_token\n"
        } else {
            "example\n"
        };
        dir.write(name, value);
    }
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let env = Environment::from_pairs([("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap())]);
    let cfg = load_file(&example, PathOrigin::Flag, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.providers.len(), 3);
    let kinds: Vec<ProviderKind> = cfg.providers.values().map(|p| p.kind).collect();
    for k in ProviderKind::ALL {
        assert!(kinds.contains(&k), "{k} missing");
    }
    // Its values are the documented defaults.
    assert_eq!(cfg.sync.hot_window_days_back, 35);
    assert_eq!(
        cfg.providers["timetrack"].quotas,
        default_quotas(ProviderKind::TimeTrack)
    );
    assert_eq!(
        cfg.providers["timetracker"].quotas,
        default_quotas(ProviderKind::TimeTracker)
    );
    assert_eq!(
        cfg.providers["timetrack"]
            .api_key
            .as_ref()
            .unwrap()
            .expose(),
        "example"
    );

    // Every commented-out option in it is valid too: uncomment the `key = value` lines.
    let text = std::fs::read_to_string(&example).unwrap();
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if is_setting(rest) || rest.starts_with('[') => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let uncommented = uncommented.replace(
        "conflict_policy = \"newest\"",
        "conflict_policy = \"prefer\"",
    );
    let path = dir.write("uncommented.toml", &uncommented);
    let cfg = load_file(&path, PathOrigin::Flag, &env)
        .unwrap_or_else(|e| panic!("{e}\n---\n{uncommented}"));
    assert_eq!(cfg.providers["trackingtime"].account_id, Some(123456));
    assert_eq!(cfg.sync.prefer, ["timetracker", "timetrack"]);
    assert_eq!(cfg.people["ann@example.com"]["timetrack"], "ann.smith");
    assert!(cfg.server.listen.is_some());
}

/// `key = value` with a lower-case key at the start of the line (not prose).
fn is_setting(line: &str) -> bool {
    match line.split_once(" = ") {
        Some((key, _)) => {
            !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        }
        None => false,
    }
}

#[test]
fn provider_selection_names_the_usable_instances() {
    let toml = format!(
        "{MINIMAL}\n[providers.old]\nkind = \"timetracker\"\nenabled = false\nbase_url = \"https://old.example.com\"\napi_secret = \"tt_old\"\n"
    );
    let cfg = load(&toml, &[]).unwrap();
    let all: Vec<&str> = cfg
        .select_providers(&[])
        .unwrap()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(all, ["tt"]);
    let picked = cfg.select_providers(&["tt".into(), "tt".into()]).unwrap();
    assert_eq!(picked.len(), 1);
    let e = cfg
        .select_providers(&["nope".into()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--provider nope") && e.contains("enabled instances: tt"),
        "{e}"
    );
    let e = cfg
        .select_providers(&["old".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("disabled"), "{e}");
}

#[test]
fn a_wrong_type_from_the_environment_names_the_variable() {
    err(
        load(MINIMAL, &[("TIMEWEAVE_SYNC__HOT_WINDOW_DAYS_BACK", "soon")]),
        "sync.hot_window_days_back",
        &[
            "environment variable TIMEWEAVE_SYNC__HOT_WINDOW_DAYS_BACK",
            "wrong type",
        ],
    );
}

#[test]
fn transport_settings_follow_the_instance() {
    let cfg = load(
        &with_provider(
            "timeout_seconds = 5\nmax_retries = 2\n[providers.tt.rate_limit]\nper_minute = 7",
        ),
        &[],
    )
    .unwrap();
    let t = cfg.providers["tt"].transport_config();
    assert_eq!(t.instance, "tt");
    assert_eq!(t.timeout, Duration::from_secs(5));
    assert!(t.connect_timeout <= Duration::from_secs(5));
    assert_eq!(t.max_retries, 2);
    assert_eq!(t.quotas, vec![Quota::per_minute(7)]);
    let secrets: Vec<&str> = t.secrets.iter().map(|s| s.expose()).collect();
    assert_eq!(secrets, ["tt_minimal_token"], "never quoted in its errors");
}

#[test]
fn the_env_example_applies_to_the_example_config() {
    let dir = Dir::new();
    for name in ["timetrack-key", "timetrack-secret", "trackingtime"] {
        dir.write(name, "example\n");
    }
    dir.write("timetracker", "tt_example\n");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let env_text = std::fs::read_to_string(root.join("deploy/timeweave.env.example")).unwrap();
    let mut pairs: Vec<(String, String)> = env_text
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter(|l| l.starts_with("TIMEWEAVE_"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert!(pairs.len() >= 5, "{pairs:?}");
    pairs.push((
        "CREDENTIALS_DIRECTORY".into(),
        dir.path().to_str().unwrap().into(),
    ));
    let cfg = load_file(
        &root.join("config.example.toml"),
        PathOrigin::Flag,
        &Environment::from_pairs(pairs),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.sync.conflict_policy, ConflictPolicy::Manual);
    assert_eq!(cfg.log.level, "info,timeweave::sync=debug");
    assert!(!cfg.providers["timetracker"].enabled);
    assert_eq!(cfg.providers["timetracker"].schedule, "0 */15 * * * *");
}

#[test]
fn the_report_currency_is_an_iso_code() {
    assert_eq!(load(MINIMAL, &[]).unwrap().report.currency, None);
    let cfg = load(&format!("[report]\ncurrency = \"EUR\"\n{MINIMAL}"), &[]).unwrap();
    assert_eq!(cfg.report.currency.as_deref(), Some("EUR"));
    let cfg = load(MINIMAL, &[("TIMEWEAVE_REPORT__CURRENCY", "CHF")]).unwrap();
    assert_eq!(cfg.report.currency.as_deref(), Some("CHF"));
    for bad in ["eur", "€", "EURO", ""] {
        err(
            load(&format!("[report]\ncurrency = \"{bad}\"\n{MINIMAL}"), &[]),
            "report.currency",
            &[
                "not a currency code",
                "three capital letters (ISO 4217)",
                "\"EUR\"",
            ],
        );
    }
}

#[test]
fn timetracker_takes_webhooks_and_the_trail_safety_scan_has_a_default() {
    let cfg = load(&format!("{MINIMAL}webhook_secret = \"hook-token\"\n"), &[]).unwrap();
    assert!(cfg.providers["tt"].webhook_secret.is_some());
    assert_eq!(cfg.sync.trail_safety_scan_hours, 6);
    let cfg = load(
        &format!("[sync]\ntrail_safety_scan_hours = 24\n{MINIMAL}"),
        &[],
    )
    .unwrap();
    assert_eq!(cfg.sync.trail_safety_scan_hours, 24);
}
