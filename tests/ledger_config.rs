//! `[ledger]` for a PostgreSQL ledger as an operator meets it: the URL checked offline, the
//! password from a file or the environment and never shown, one of `url` and `path`, and
//! the lease's length.

use std::path::PathBuf;
use std::time::Duration;

use timeweave::config::{
    default_lease_ttl, load_file, summary, Config, ConfigError, Environment, PathOrigin,
    SecretOrigin, MAX_DEFAULT_LEASE_TTL,
};

const PROVIDER: &str = r#"
[providers.tt]
kind = "timetracker"
base_url = "https://tt.example.com"
api_secret = "tt_minimal_token"
"#;

const PASSWORD: &str = "s3cr3t-Pa55";

fn load(
    dir: &tempfile::TempDir,
    ledger: &str,
    env: &[(&str, &str)],
) -> Result<Config, ConfigError> {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, format!("[ledger]\n{ledger}\n{PROVIDER}")).unwrap();
    load_file(
        &path,
        PathOrigin::Flag,
        &Environment::from_pairs(env.iter().copied()),
    )
}

fn password_file(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("pg-password");
    std::fs::write(&path, format!("{PASSWORD}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

/// The problem reported for `key`, whose text must not hold the password.
#[track_caller]
fn problem(result: Result<Config, ConfigError>, key: &str) -> String {
    let e = result.expect_err("a problem");
    let text = e.to_string();
    assert!(!text.contains(PASSWORD), "the password leaked: {text}");
    e.problems()
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("no problem with {key} in:\n{text}"))
        .to_string()
}

#[test]
fn a_postgres_url_with_a_password_file_loads_and_never_shows_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = password_file(&dir);
    let cfg = load(
        &dir,
        &format!(
            "url = \"postgres://timeweave@db.example:5433/ledger?sslmode=prefer\"\npassword_file = \"{}\"",
            file.display()
        ),
        &[],
    )
    .unwrap();
    let pg = cfg.ledger.postgres.as_ref().expect("a PostgreSQL ledger");
    assert_eq!(
        pg.url.as_str(),
        "postgres://timeweave@db.example:5433/ledger?sslmode=prefer"
    );
    assert_eq!(pg.password.as_ref().map(|s| s.expose()), Some(PASSWORD));
    assert_eq!(pg.password_origin, Some(SecretOrigin::File(file)));
    let shown = format!("{cfg:?}\n{}", summary::render(&cfg));
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(
        shown.contains("PostgreSQL postgres://timeweave@db.example:5433/ledger"),
        "{shown}"
    );
}

#[test]
fn the_password_may_come_from_the_environment_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let url = "url = \"postgresql://timeweave@db.example/ledger\"";
    let cfg = load(&dir, url, &[("TIMEWEAVE_LEDGER__PASSWORD", PASSWORD)]).unwrap();
    let pg = cfg.ledger.postgres.unwrap();
    assert_eq!(
        pg.password.map(|s| s.expose().to_owned()).as_deref(),
        Some(PASSWORD)
    );
    assert_eq!(
        pg.password_origin,
        Some(SecretOrigin::Env("TIMEWEAVE_LEDGER__PASSWORD".into()))
    );
    let trusted = load(&dir, url, &[]).unwrap().ledger.postgres.unwrap();
    assert_eq!((trusted.password, trusted.password_origin), (None, None));
}

#[test]
fn a_password_inside_the_url_is_refused_without_being_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("url = \"postgres://timeweave:{PASSWORD}@db.example/ledger\"");
    let message = problem(load(&dir, &url, &[]), "ledger.url");
    assert!(message.contains("contains a password"), "{message}");
    assert!(message.contains("password_file"), "{message}");
}

#[test]
fn url_forms_that_cannot_name_a_ledger_are_refused_offline() {
    let dir = tempfile::tempdir().unwrap();
    for (url, needle) in [
        ("mysql://u@db.example/ledger", "scheme `mysql`"),
        ("postgres://u@db.example", "names no database"),
        ("postgres://u@db.example/", "names no database"),
        ("db.example/ledger", "is not a URL"),
        (
            "postgres://u@db.example/ledger?sslmode=sometimes",
            "cannot use",
        ),
    ] {
        let message = problem(load(&dir, &format!("url = \"{url}\""), &[]), "ledger.url");
        assert!(message.contains(needle), "{url}: {message}");
    }
}

#[test]
fn url_and_path_are_one_or_the_other_and_a_password_needs_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let both = "url = \"postgres://u@db.example/ledger\"\npath = \"/var/lib/timeweave/ledger.db\"";
    assert!(problem(load(&dir, both, &[]), "ledger.url").contains("keep the one"));
    let stray = format!("password_file = \"{}\"", password_file(&dir).display());
    assert!(problem(load(&dir, &stray, &[]), "ledger.password_file").contains("ledger.url"));
}

#[test]
fn a_lease_lasts_twice_the_longest_schedule_interval_at_most_five_minutes() {
    let minutes = |m: u64| Duration::from_secs(60 * m);
    assert_eq!(
        default_lease_ttl([Duration::from_secs(10)]),
        Duration::from_secs(20)
    );
    assert_eq!(
        default_lease_ttl([minutes(1), Duration::from_secs(10)]),
        minutes(2)
    );
    assert_eq!(default_lease_ttl([minutes(5)]), MAX_DEFAULT_LEASE_TTL);
    assert_eq!(default_lease_ttl([minutes(60)]), minutes(5));
    assert_eq!(default_lease_ttl([]), minutes(5));

    let dir = tempfile::tempdir().unwrap();
    let url = "url = \"postgres://u@db.example/ledger\"";
    // The provider's default schedule: every 5 minutes.
    assert_eq!(load(&dir, url, &[]).unwrap().lease_ttl(), minutes(5));
    let set = format!("{url}\nlease_ttl_seconds = 45");
    assert_eq!(
        load(&dir, &set, &[]).unwrap().lease_ttl(),
        Duration::from_secs(45)
    );
    let zero = format!("{url}\nlease_ttl_seconds = 0");
    assert!(problem(load(&dir, &zero, &[]), "ledger.lease_ttl_seconds").contains("out of range"));
}
