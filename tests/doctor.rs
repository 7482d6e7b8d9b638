//! `timeweave doctor`, the real binary against each simulator: a good configuration, a
//! refused token, tokens and roles missing rights for the mode, a refused port, an
//! unresolvable host, a TLS failure, each convention switch, an account other than the one
//! the ledger is bound to, and the write probe; the verdict lines, the exit code and the
//! redacted JSON (no credential in any output even at TRACE).

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{Sims, NAMES};

fn doctor(config: &Path, extra: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_timeweave"))
        .arg("--config")
        .arg(config)
        .arg("doctor")
        .args(extra)
        .output()
        .expect("run timeweave");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

/// The findings lines of one instance (from its heading to the next heading).
fn section<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| !l.starts_with(&format!("{name} (")))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect()
}

fn line_of<'a>(lines: &[&'a str], check: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l[5..].trim_start().starts_with(check))
        .copied()
        .unwrap_or_else(|| panic!("no {check} line in {lines:#?}"))
}

fn write(dir: &Path, toml: &str) -> std::path::PathBuf {
    let path = dir.join("timeweave.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_configuration_passes_every_check_and_the_json_hides_secrets_and_names() {
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    sims.book(2, 0);
    sims.book(2, 1000 + 30);
    let config = write(dir.path(), &sims.config(&dir.path().join("ledger.db"), ""));
    let json = dir.path().join("doctor.json");
    let (out, text) = doctor(&config, &["--json", json.to_str().unwrap()]);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("✓  observed    sees_all_users: yes (admin)"),
        "{text}"
    );
    assert!(
        text.contains("customer_email_key: of 1 customers, 0 carry an e-mail in contact"),
        "{text}"
    );
    for name in NAMES {
        let lines = section(&text, name);
        for check in ["reach", "credentials", "account"] {
            assert!(line_of(&lines, check).starts_with("  ✓"), "{name}: {text}");
        }
        assert!(
            line_of(&lines, "account").contains("not bound yet"),
            "{text}"
        );
    }
    assert!(text.contains("No problems found."), "{text}");
    let span = format!(
        "entries start from {} to {} (11 days)",
        support::start_of(1030).format("%Y-%m-%d"),
        support::start_of(0).format("%Y-%m-%d")
    );
    let history = line_of(&section(&text, "timetracker"), "history");
    assert!(history.contains(&span), "{history}");
    assert!(
        history.contains("2 entries (every one counted)"),
        "{history}"
    );
    assert!(
        history.contains("a first --sync-once plans 5 requests (1 time-entry windows"),
        "the hot window holds both entries, and four reference kinds: {history}"
    );
    for name in ["timetrack", "trackingtime"] {
        let history = line_of(&section(&text, name), "history");
        assert!(
            history.contains("scans back to sync.deep_scan_horizon")
                && history.contains("about ")
                && history.contains("entries (extrapolated from the "),
            "{history}"
        );
    }
    for name in NAMES {
        let reading = line_of(&section(&text, name), "reading");
        assert!(reading.starts_with("  ✓"), "{reading}");
        assert!(reading.contains("time_entry"), "{reading}");
        let rate = line_of(&section(&text, name), "rate limits");
        assert!(rate.starts_with("  ✓"), "{rate}");
        assert!(
            rate.contains("configured 10000/s; a scheduled cycle makes at most"),
            "{rate}"
        );
        assert!(rate.contains("no rate-limit headers seen"), "{rate}");
    }
    assert!(
        !dir.path().join("ledger.db").exists(),
        "doctor creates no ledger"
    );

    let report = std::fs::read_to_string(&json).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(parsed["ok"], true);
    assert_eq!(parsed["instances"].as_array().unwrap().len(), 3);
    for sim in sims.all() {
        let c = sim.credentials();
        assert!(
            !report.contains(&c.api_secret),
            "{} secret leaked",
            sim.kind_name()
        );
        if let Some(key) = &c.api_key {
            assert!(!report.contains(key), "{} key leaked", sim.kind_name());
        }
    }
    assert!(!report.contains('@'), "an e-mail address in {report}");
    // Who the credentials act as is shown in the text and hidden in the JSON.
    for (i, name) in NAMES.iter().enumerate() {
        let seen = line_of(&section(&text, name), "credentials");
        assert!(seen.contains("they act as "), "{seen}");
        let findings = &parsed["instances"][i]["findings"];
        assert_eq!(findings[1]["check"], "credentials");
        assert_eq!(
            findings[1]["seen"],
            "credentials accepted; they act as [redacted]"
        );
    }
    assert!(report.contains("[redacted]"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_an_error_naming_the_credentials_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    let mut toml = sims.config(&dir.path().join("ledger.db"), "");
    for sim in sims.all() {
        let secret = sim.credentials().api_secret;
        toml = toml.replace(&format!("{secret:?}"), "\"tt_wrong_token_000\"");
    }
    let config = write(dir.path(), &toml);
    let (out, text) = doctor(&config, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}{stderr}");
    for name in NAMES {
        let lines = section(&text, name);
        assert!(line_of(&lines, "reach").starts_with("  ✓"), "{text}");
        let creds = line_of(&lines, "credentials");
        assert!(creds.starts_with("  ✗"), "{name}: {text}");
        assert!(creds.contains("refused"), "{name}: {creds}");
        assert!(creds.contains("api_secret"), "{name}: {creds}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_port_and_an_unresolvable_host_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let toml = sims
        .config(&dir.path().join("ledger.db"), "")
        .replace(
            &format!("{:?}", sims.get(0).base_url()),
            &format!("\"http://{closed_addr}\""),
        )
        .replace(
            &format!("{:?}", sims.get(2).base_url()),
            "\"https://timeweave-doctor.invalid\"",
        );
    let config = write(dir.path(), &toml);
    let (out, text) = doctor(&config, &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");

    let refused = line_of(&section(&text, NAMES[0]), "reach");
    assert!(refused.starts_with("  ✗"), "{text}");
    assert!(
        refused.contains(&format!("connection refused by {closed_addr}")),
        "{refused}"
    );
    let dns = line_of(&section(&text, NAMES[2]), "reach");
    assert!(dns.starts_with("  ✗"), "{text}");
    assert!(
        dns.contains("DNS resolution failed for timeweave-doctor.invalid"),
        "{dns}"
    );
    assert!(!dns.contains("refused"), "{dns}");
    // The one reached instance is unaffected; --provider selects.
    assert!(
        line_of(&section(&text, NAMES[1]), "reach").starts_with("  ✓"),
        "{text}"
    );
    let (out, text) = doctor(&config, &["--provider", NAMES[1]]);
    assert!(out.status.success(), "{text}");
    assert!(section(&text, NAMES[0]).is_empty(), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bound_account_matches_and_another_account_is_an_error_with_the_rebind_fix() {
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    let ledger = dir.path().join("ledger.db");
    let config = write(dir.path(), &sims.config(&ledger, ""));
    let sync = Command::new(env!("CARGO_BIN_EXE_timeweave"))
        .arg("--config")
        .arg(&config)
        .arg("sync")
        .output()
        .unwrap();
    assert!(
        sync.status.success(),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    let before = std::fs::read(&ledger).unwrap();

    let (out, text) = doctor(&config, &[]);
    assert!(out.status.success(), "{text}");
    for name in NAMES {
        let account = line_of(&section(&text, name), "account");
        assert!(account.starts_with("  ✓"), "{text}");
        assert!(
            account.contains("the account the ledger is bound to"),
            "{account}"
        );
    }

    // The same URL now answers as another TimeTracker server: the binding differs.
    let other = Sims::start().await;
    let toml = sims.config(&ledger, "").replace(
        &timeweave::demo::simulator_section(
            NAMES[2],
            sims.get(2),
            "mode = \"both\"\n",
            "per_second = 10000",
        ),
        &timeweave::demo::simulator_section(
            NAMES[2],
            other.get(2),
            "mode = \"both\"\n",
            "per_second = 10000",
        ),
    );
    let config = write(dir.path(), &toml);
    let (out, text) = doctor(&config, &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let account = line_of(&section(&text, NAMES[2]), "account");
    assert!(account.starts_with("  ✗"), "{text}");
    assert!(
        account.contains("timeweave rebind timetracker"),
        "{account}"
    );
    assert_eq!(
        std::fs::read(&ledger).unwrap(),
        before,
        "doctor wrote to the ledger"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_sees_only_its_own_entries_is_a_warning_when_the_mode_uses_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    let bob = sims.timetracker.add_user("bob", None, None, "user");
    let token = sims.timetracker.add_token(bob, &["read:*", "write:*"]);
    let admin = sims.timetracker.admin_token();
    let toml = sims
        .config(&dir.path().join("ledger.db"), "")
        .replace(&format!("{admin:?}"), &format!("{token:?}"));
    let config = write(dir.path(), &toml);
    let (out, text) = doctor(&config, &["--provider", "timetracker"]);
    assert!(out.status.success(), "a warning is no error: {text}");
    let rights = line_of(&section(&text, "timetracker"), "observed");
    assert!(rights.starts_with("  ⚠"), "{text}");
    assert!(
        rights.contains(&format!(
            "sees_all_users: no: only user {bob}'s own entries"
        )),
        "{rights}"
    );
    assert!(
        rights.contains("mode = \"both\" writes to this account"),
        "{rights}"
    );
}

/// Seeds `sim` with one person, one client's project and one entry (returned, with its
/// id), and writes a config of that one simulator as instance `name`.
fn seeded_config(
    dir: &Path,
    name: &str,
    sim: &dyn timeweave_simkit::SimulatorControl,
) -> (
    std::path::PathBuf,
    timeweave_contract::TimeEntry<timeweave_contract::RemoteId>,
    timeweave_contract::RemoteId,
) {
    sim.set_rate_limiting(false);
    let person = sim.add_person(&support::person(0));
    let client = sim.add_client(&timeweave_contract::Client {
        name: "Acme".into(),
        email: None,
        notes: None,
        archived: false,
    });
    let project = sim.add_project(&timeweave_contract::Project {
        client: Some(client),
        name: "Website".into(),
        billable: true,
        hourly_rate_cents: None,
        archived: false,
    });
    let entry = support::entry(&person, &project, 0);
    let id = sim.add_entry(&entry);
    let toml = format!(
        "[ledger]\npath = {:?}\n{}",
        dir.join("ledger.db").display().to_string(),
        timeweave::demo::simulator_section(name, sim, "mode = \"both\"\n", "per_second = 10000")
    );
    (write(dir, &toml), entry, id)
}

/// A TrackingTime simulator with `opts`, seeded, and a config of it as instance `tt`.
async fn trackingtime_with(
    dir: &Path,
    opts: timeweave_trackingtime_sim::SimOptions,
) -> (timeweave_trackingtime_sim::SimServer, std::path::PathBuf) {
    let sim = timeweave_trackingtime_sim::SimServer::start(opts)
        .await
        .unwrap();
    let (config, _, _) = seeded_config(dir, "tt", &sim);
    (sim, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackingtime_event_forms_and_me_time_zones_are_told_apart() {
    use timeweave_trackingtime_sim::{EventForm, SimOptions};
    let cases = [
        (
            EventForm::Compact,
            false,
            "event_form: compact",
            "\"Madrid\" → Europe/Madrid",
        ),
        (
            EventForm::Full,
            true,
            "event_form: full",
            "\"Europe/Madrid\" → Europe/Madrid",
        ),
    ];
    for (form, iana, form_seen, zone_seen) in cases {
        let dir = tempfile::tempdir().unwrap();
        let opts = SimOptions {
            event_form: form,
            me_timezone_iana: iana,
            ..Default::default()
        };
        let (_sim, config) = trackingtime_with(dir.path(), opts).await;
        let (out, text) = doctor(&config, &[]);
        assert!(out.status.success(), "{text}");
        let lines = section(&text, "tt");
        let observed: Vec<&str> = lines
            .iter()
            .filter(|l| l.contains("observed"))
            .copied()
            .collect();
        assert!(
            observed.iter().any(|l| l.contains(form_seen)),
            "{form:?}: {text}"
        );
        assert!(
            observed
                .iter()
                .any(|l| l.starts_with("  ✓") && l.contains(zone_seen)),
            "{form:?}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_trackingtime_zone_is_a_warning_naming_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let opts = timeweave_trackingtime_sim::SimOptions {
        account_timezone: "Atlantis/Nowhere".into(),
        ..Default::default()
    };
    let (_sim, config) = trackingtime_with(dir.path(), opts).await;
    let (out, text) = doctor(&config, &[]);
    assert!(out.status.success(), "a warning is no error: {text}");
    let zone = section(&text, "tt")
        .into_iter()
        .find(|l| l.contains("account_time_zone"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(zone.starts_with("  ⚠"), "{zone}");
    assert!(zone.contains("not a zone timeweave can read"), "{zone}");
    assert!(zone.contains("set the user's time zone"), "{zone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timetrack_shows_the_newest_from_raw_as_utc_and_in_the_configured_zone() {
    use timeweave_timetrack::Timestamps;
    use timeweave_timetrack_sim as sim;
    for convention in [
        Timestamps::Local(chrono_tz::Europe::Berlin),
        Timestamps::Utc,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let sim = sim::SimServer::start(sim::SimOptions {
            timestamps: convention,
            ..Default::default()
        })
        .await;
        let (config, entry, _) = seeded_config(dir.path(), "tk", &sim);
        let (out, text) = doctor(&config, &[]);
        assert!(out.status.success(), "{text}");
        let seen = section(&text, "tk")
            .into_iter()
            .find(|l| l.contains("newest_entry_from"))
            .unwrap_or_else(|| panic!("{text}"));
        let raw = convention.format(entry.started_at);
        assert!(
            seen.contains(&format!("newest_entry_from: {raw:?}")),
            "{seen}"
        );
        let configured = format!("read as {} wall-clock: ", convention.zone_name());
        let (_, reading) = seen
            .split_once(&configured)
            .unwrap_or_else(|| panic!("{seen}"));
        let utc = entry.started_at.format("(= %H:%M UTC)").to_string();
        assert!(reading.contains(&utc), "{convention:?}: {seen}");
        assert!(
            text.contains(
                "project_name_key: of 1 projects listed, 1 carry projectName, 0 only name"
            ),
            "{text}"
        );
        assert!(
            seen.contains("does TimeTrack's web app show this entry starting at"),
            "{seen}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_server_setup_and_a_token_without_a_read_scope_are_errors() {
    use timeweave_timetracker_sim as sim;
    let dir = tempfile::tempdir().unwrap();
    let unfinished = sim::SimServer::start(sim::SimOptions {
        setup_required: true,
        ..Default::default()
    })
    .await;
    let (config, _, _) = seeded_config(dir.path(), "tr", &unfinished);
    let (out, text) = doctor(&config, &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let setup = line_of(&section(&text, "tr"), "setup");
    assert!(setup.starts_with("  ✗"), "{text}");
    assert!(setup.contains("setup_required"), "{setup}");

    let server = sim::SimServer::start(sim::SimOptions::default()).await;
    let bob = server.add_user("bob", None, None, "user");
    let scopeless = server.add_token(bob, &["read:users"]);
    let (config, _, _) = seeded_config(dir.path(), "tr", &server);
    let toml = std::fs::read_to_string(&config).unwrap().replace(
        &format!("{:?}", server.admin_token()),
        &format!("{scopeless:?}"),
    );
    let config = write(dir.path(), &toml);
    let (out, text) = doctor(&config, &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let entries = section(&text, "tr")
        .into_iter()
        .find(|l| l.contains("cannot list time_entry"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(entries.starts_with("  ✗"), "{entries}");
    assert!(
        entries.contains("give the token the right (scope) to read time_entry"),
        "{entries}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_that_cannot_be_opened_is_a_warning_and_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    let ledger = dir.path().join("ledger.db");
    std::fs::write(&ledger, b"not a database, and it stays that way").unwrap();
    let config = write(dir.path(), &sims.config(&ledger, ""));
    let (out, text) = doctor(&config, &["--provider", "timetracker"]);
    assert!(out.status.success(), "a warning is no error: {text}");
    let account = line_of(&section(&text, "timetracker"), "account");
    assert!(account.starts_with("  ⚠"), "{account}");
    assert!(
        account.contains("its binding is unknown: the ledger could not be opened"),
        "{account}"
    );
    assert_eq!(
        std::fs::read(&ledger).unwrap(),
        b"not a database, and it stays that way"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_write_probe_creates_updates_and_deletes_one_entry_and_only_when_asked() {
    use timeweave_contract::Kind;
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    let config = write(dir.path(), &sims.config(&dir.path().join("ledger.db"), ""));
    let before: Vec<usize> = sims
        .all()
        .iter()
        .map(|s| s.count(Kind::TimeEntry))
        .collect();

    let (out, text) = doctor(&config, &[]);
    assert!(out.status.success(), "{text}");
    assert!(
        !text.contains("write probe"),
        "no probe unless asked: {text}"
    );
    let served: Vec<u64> = sims.all().iter().map(|s| s.requests_served()).collect();

    let (out, text) = doctor(&config, &["--write-probe"]);
    assert!(out.status.success(), "{text}");
    for name in NAMES {
        let probe: Vec<&str> = section(&text, name)
            .into_iter()
            .filter(|l| l.contains("write probe"))
            .collect();
        assert_eq!(probe.len(), 4, "create, look-up, update, delete: {text}");
        assert!(
            probe[0].starts_with("  ✓") && probe[0].contains("create: every writable field"),
            "the break, billable and tags are kept or declared unheld: {text}"
        );
        assert!(
            probe[1].starts_with("  ✓") && probe[1].contains("look-up: found again"),
            "{text}"
        );
        assert!(
            probe[2].starts_with("  ✓") && probe[2].contains("update: every writable field"),
            "{text}"
        );
        assert!(
            probe[3].starts_with("  ✓") && probe[3].contains("the probe entry is gone"),
            "{text}"
        );
        assert!(!probe.iter().any(|l| l.starts_with("  ✗")), "{text}");
    }
    let after: Vec<usize> = sims
        .all()
        .iter()
        .map(|s| s.count(Kind::TimeEntry))
        .collect();
    assert_eq!(after, before, "the probe entry is deleted again");
    let now: Vec<u64> = sims.all().iter().map(|s| s.requests_served()).collect();
    assert!(now.iter().zip(&served).all(|(n, s)| n > s));

    // A pulling instance is never written to.
    let pull = sims
        .config(&dir.path().join("ledger.db"), "")
        .replace("mode = \"both\"", "mode = \"pull\"");
    let config = write(dir.path(), &pull);
    let (out, text) = doctor(&config, &["--write-probe", "--provider", "timetracker"]);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("not made: mode = \"pull\" never writes"),
        "{text}"
    );
}

/// The config at `config` with every `mode = "both"` set to `mode`.
fn with_mode(dir: &Path, config: &Path, mode: &str) -> std::path::PathBuf {
    let toml = std::fs::read_to_string(config).unwrap();
    write(
        dir,
        &toml.replace("mode = \"both\"", &format!("mode = \"{mode}\"")),
    )
}

/// The findings of the one instance in a `--json` report, as (check, verdict, seen).
fn json_findings(report: &str) -> Vec<(String, String, String)> {
    let parsed: serde_json::Value = serde_json::from_str(report).unwrap();
    parsed["instances"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("check"), s("verdict"), s("seen"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timetracker_scopes_are_weighed_against_the_mode_and_never_reach_the_json() {
    use timeweave_timetracker_sim as sim;
    let dir = tempfile::tempdir().unwrap();
    let server = sim::SimServer::start(sim::SimOptions::default()).await;
    let (config, _, _) = seeded_config(dir.path(), "tr", &server);
    let ro = server.add_user("ro", None, None, "admin");
    let toml = std::fs::read_to_string(&config).unwrap();
    let with_token = |scopes: &[&str]| {
        let token = server.add_token(ro, scopes);
        let config = write(
            dir.path(),
            &toml.replace(
                &format!("{:?}", server.admin_token()),
                &format!("{token:?}"),
            ),
        );
        (config, token)
    };

    // A read-only token where the mode writes: an error naming the missing write scopes.
    let (config, token) = with_token(&["read:*"]);
    let json = dir.path().join("doctor.json");
    let (out, text) = doctor(&config, &["--json", json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let rights = line_of(&section(&text, "tr"), "rights");
    assert!(rights.starts_with("  ✗"), "{text}");
    assert!(
        rights.contains("hold scopes read:*, but mode = \"both\" writes to this account and they lack write:clients, write:projects, write:tasks, write:time_entries"),
        "{rights}"
    );
    assert!(rights.contains("Api-tokens"), "{rights}");
    let report = std::fs::read_to_string(&json).unwrap();
    assert!(!report.contains(&token), "the token leaked: {report}");
    assert!(
        json_findings(&report)
            .iter()
            .any(|(check, verdict, seen)| check == "rights"
                && verdict == "error"
                && seen.contains("they lack write:clients")),
        "{report}"
    );

    // The same token for an instance that only reads: enough.
    let (out, text) = doctor(&with_mode(dir.path(), &config, "pull"), &[]);
    assert!(out.status.success(), "{text}");
    let rights = line_of(&section(&text, "tr"), "rights");
    assert!(rights.starts_with("  ✓"), "{text}");
    assert!(
        rights.contains("enough for mode = \"pull\", which never writes"),
        "{rights}"
    );

    // A token that may write but not list clients, projects and tasks: an error in any mode.
    let (config, _) = with_token(&["write:*", "read:users", "read:time_entries"]);
    let (out, text) = doctor(&with_mode(dir.path(), &config, "pull"), &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let rights = line_of(&section(&text, "tr"), "rights");
    assert!(rights.starts_with("  ✗"), "{text}");
    assert!(
        rights.contains("they also need read:clients, read:projects, read:tasks"),
        "{rights}"
    );

    // Every scope: nothing missing.
    let (config, _) = with_token(&["read:*", "write:*"]);
    let (out, text) = doctor(&config, &[]);
    assert!(out.status.success(), "{text}");
    let rights = line_of(&section(&text, "tr"), "rights");
    assert!(
        rights.starts_with("  ✓") && rights.contains("every right mode = \"both\" needs"),
        "{rights}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackingtime_permissions_decide_visibility_and_write_rights() {
    use timeweave_trackingtime_sim::{CallerRights, SimOptions};
    let dir = tempfile::tempdir().unwrap();
    let co_worker = CallerRights {
        role: "CO_WORKER".into(),
        view_others: false,
        edit_time_entries: false,
        ..CallerRights::admin()
    };
    let opts = SimOptions {
        caller: co_worker.clone(),
        ..Default::default()
    };
    let (_sim, config) = trackingtime_with(dir.path(), opts).await;
    let (out, text) = doctor(&config, &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let lines = section(&text, "tt");
    let seen = lines
        .iter()
        .find(|l| l.contains("sees_all_users"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(seen.starts_with("  ⚠"), "{seen}");
    assert!(
        seen.contains("no: role CO_WORKER without can_view_time_entries_from_others"),
        "{seen}"
    );
    let rights = line_of(&lines, "rights");
    assert!(rights.starts_with("  ✗"), "{text}");
    assert!(
        rights.contains("they lack can_edit_time_entries"),
        "{rights}"
    );

    // A probe where the role may not edit entries: the create is refused, an error.
    let (_, text) = doctor(&config, &["--write-probe"]);
    let probe = line_of(&section(&text, "tt"), "write probe");
    assert!(
        probe.starts_with("  ✗") && probe.contains("create failed"),
        "{probe}"
    );

    // The same role pulling: no write right needed, but the visibility still warns.
    let (out, text) = doctor(&with_mode(dir.path(), &config, "pull"), &[]);
    assert!(out.status.success(), "{text}");
    assert!(
        line_of(&section(&text, "tt"), "rights").starts_with("  ✓"),
        "{text}"
    );
    assert!(text.contains("⚠  observed    sees_all_users: no"), "{text}");

    // No permissions listed for the account: rights unknown, the probe is the way to learn.
    let dir = tempfile::tempdir().unwrap();
    let opts = SimOptions {
        caller: CallerRights {
            listed: false,
            ..CallerRights::admin()
        },
        ..Default::default()
    };
    let (_sim, config) = trackingtime_with(dir.path(), opts).await;
    let (out, text) = doctor(&config, &[]);
    assert!(out.status.success(), "a warning is no error: {text}");
    let rights = line_of(&section(&text, "tt"), "rights");
    assert!(rights.starts_with("  ⚠"), "{text}");
    assert!(
        rights.contains("GET /me lists no role permissions for this account"),
        "{rights}"
    );
    assert!(
        rights.contains("run `timeweave doctor --write-probe --provider tt`"),
        "{rights}"
    );
    assert!(
        text.contains("⚠  observed    sees_all_users: unknown"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timetrack_cannot_tell_its_rights_so_a_writing_mode_is_pointed_at_the_probe() {
    use timeweave_timetrack_sim as sim;
    let dir = tempfile::tempdir().unwrap();
    let server = sim::SimServer::start(sim::SimOptions::default()).await;
    let (config, _, _) = seeded_config(dir.path(), "tk", &server);
    let (out, text) = doctor(&config, &[]);
    assert!(out.status.success(), "{text}");
    let rights = line_of(&section(&text, "tk"), "rights");
    assert!(rights.starts_with("  ⚠"), "{text}");
    assert!(
        rights.contains("run `timeweave doctor --write-probe --provider tk`"),
        "{rights}"
    );
    let (_, text) = doctor(&config, &["--write-probe"]);
    let rights = line_of(&section(&text, "tk"), "rights");
    assert!(
        rights.starts_with("  ✓") && rights.contains("the probe entry below tries it"),
        "{rights}"
    );
    let (_, text) = doctor(&with_mode(dir.path(), &config, "pull"), &[]);
    let rights = line_of(&section(&text, "tk"), "rights");
    assert!(
        rights.starts_with("  ✓") && rights.contains("mode = \"pull\" never writes"),
        "{rights}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trackingtime_search_by_external_id_answers_are_told_apart() {
    use timeweave_trackingtime_sim::{SimOptions, SimServer};
    /// A simulator switch, whether an event carries an external id, what doctor says.
    type Case = (fn(&mut SimOptions), bool, &'static str);
    let cases: [Case; 4] = [
        (|_| {}, true, "finds an event by its external id"),
        (|_| {}, false, "answers nothing for an id no event carries"),
        (
            |o| o.search_ignores_external_id = true,
            true,
            "found the event carrying the id, and 1 other events",
        ),
        (
            |o| o.search_by_external_id = false,
            true,
            "search_by_external_id: unavailable",
        ),
    ];
    for (switch, tagged, seen) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = SimOptions::default();
        switch(&mut opts);
        let sim = SimServer::start(opts).await.unwrap();
        let (config, entry, id) = seeded_config(dir.path(), "tt", &sim);
        let mut other = entry.clone();
        other.started_at += chrono::Duration::hours(3);
        other.ended_at = other.ended_at.map(|t| t + chrono::Duration::hours(3));
        timeweave_simkit::SimulatorControl::add_entry(&sim, &other);
        if tagged {
            sim.set_custom_field(&id, "EVENT_THIRD_PARTY_ID", "elsewhere-42");
        }
        let (out, text) = doctor(&config, &[]);
        assert!(out.status.success(), "{text}");
        let line = section(&text, "tt")
            .into_iter()
            .find(|l| l.contains("search_by_external_id"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(line.contains(seen), "{seen}: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_a_server_that_speaks_plain_http_is_a_tls_failure() {
    let dir = tempfile::tempdir().unwrap();
    let sim = timeweave_trackingtime_sim::SimServer::start(Default::default())
        .await
        .unwrap();
    let (config, _, _) = seeded_config(dir.path(), "tt", &sim);
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("\"http://127.0.0.1", "\"https://127.0.0.1");
    let (out, text) = doctor(&write(dir.path(), &toml), &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let reach = line_of(&section(&text, "tt"), "reach");
    assert!(reach.starts_with("  ✗"), "{text}");
    assert!(
        reach.contains("TLS handshake with 127.0.0.1 failed"),
        "{reach}"
    );
    assert!(
        !reach.contains("refused") && !reach.contains("DNS"),
        "{reach}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_trace_level_no_credential_reaches_any_output_and_the_json_names_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    sims.book_ring(10);
    let config = write(dir.path(), &sims.config(&dir.path().join("ledger.db"), ""));
    let json = dir.path().join("doctor.json");
    let out = Command::new(env!("CARGO_BIN_EXE_timeweave"))
        .arg("--config")
        .arg(&config)
        .args(["--log-format", "json", "--log-level", "trace", "doctor"])
        .args(["--write-probe", "--json", json.to_str().unwrap()])
        .env("RUST_LOG", "trace")
        .output()
        .expect("run timeweave");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(out.stderr.len() > 10_000, "TRACE logging is on");
    let report = std::fs::read_to_string(&json).unwrap();
    let (secrets, forms) = support::credential_forms(&sims);
    assert!(
        secrets.iter().all(|(_, s)| s.len() >= 8),
        "meaningful secrets"
    );
    let places = [
        ("stdout", text.clone()),
        ("stderr", String::from_utf8_lossy(&out.stderr).into_owned()),
        ("json", report.clone()),
    ];
    for (place, content) in &places {
        for (what, form) in &forms {
            assert!(
                !content.contains(form.as_str()),
                "{what} appears in {place}"
            );
        }
    }
    // Who the credentials act as (anywhere in that instance's findings), and every person
    // and e-mail of the accounts: in the text for the operator, never in the report they
    // attach to a bug.
    let parsed: serde_json::Value = serde_json::from_str(&report).unwrap();
    for (i, name) in NAMES.iter().enumerate() {
        let line = line_of(&section(&text, name), "credentials");
        let acting = line.split_once("they act as ").unwrap().1;
        let instance = parsed["instances"][i].to_string();
        assert!(!instance.contains(acting), "{acting:?} in {instance}");
    }
    assert!(!report.contains("Simulated Company"), "{report}");
    for i in 0..support::PEOPLE {
        let p = support::person(i);
        assert!(!report.contains(&p.display_name), "{report}");
    }
    assert!(!report.contains('@'), "an e-mail address in {report}");
    let checks: Vec<&str> = parsed["instances"][2]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    for check in [
        "reach",
        "credentials",
        "account",
        "reading",
        "rights",
        "history",
    ] {
        assert!(checks.contains(&check), "{check} in {checks:?}");
    }
    assert!(checks.contains(&"write probe"), "{checks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timetrack_create_and_update_answers_are_told_apart_by_the_probe() {
    use timeweave_timetrack_sim::{self as sim, CreateAnswer, UpdateAnswer};
    let cases = [
        (
            CreateAnswer::FullObject,
            UpdateAnswer::FullObject,
            "create_answer: an object with ",
            "update_answer: an object with ",
        ),
        (
            CreateAnswer::IdOnly,
            UpdateAnswer::Empty,
            "create_answer: an object with id (",
            "update_answer: an empty body",
        ),
        (
            CreateAnswer::Empty,
            UpdateAnswer::Empty,
            "create_answer: an empty body",
            "update_answer: an empty body",
        ),
    ];
    for (create, update, create_seen, update_seen) in cases {
        let dir = tempfile::tempdir().unwrap();
        let server = sim::SimServer::start(sim::SimOptions {
            create_answer: create,
            update_answer: update,
            ..Default::default()
        })
        .await;
        let (config, _, _) = seeded_config(dir.path(), "tk", &server);
        let (out, text) = doctor(&config, &[]);
        assert!(out.status.success(), "{text}");
        assert!(
            !text.contains("create_answer"),
            "no write, no answer: {text}"
        );
        let (out, text) = doctor(&config, &["--write-probe"]);
        assert!(out.status.success(), "{text}");
        assert!(text.contains(create_seen), "{create:?}: {text}");
        assert!(text.contains(update_seen), "{update:?}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_on_a_task_tells_whether_an_update_takes_an_entry_off_it() {
    use timeweave_contract::{Kind, Task};
    use timeweave_simkit::SimulatorControl;
    let dir = tempfile::tempdir().unwrap();
    let sim = timeweave_trackingtime_sim::SimServer::start(Default::default())
        .await
        .unwrap();
    let (config, entry, _) = seeded_config(dir.path(), "tt", &sim);
    let project = entry.project.clone().unwrap();
    sim.add_task(&Task {
        project,
        name: "Design".into(),
        archived: false,
    });
    let before = sim.count(Kind::TimeEntry);
    let (_, text) = doctor(&config, &["--write-probe"]);
    let off = section(&text, "tt")
        .into_iter()
        .find(|l| l.contains("update taking it off its task"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(off.starts_with("  ⚠"), "{off}");
    assert!(
        off.contains("(T4)"),
        "TrackingTime cannot clear a task: {off}"
    );
    assert_eq!(
        sim.count(Kind::TimeEntry),
        before,
        "the probe entry is gone"
    );

    let dir = tempfile::tempdir().unwrap();
    let server = timeweave_timetracker_sim::SimServer::start(
        timeweave_timetracker_sim::SimOptions::default(),
    )
    .await;
    let (config, entry, _) = seeded_config(dir.path(), "tr", &server);
    server.add_task(&Task {
        project: entry.project.clone().unwrap(),
        name: "Design".into(),
        archived: false,
    });
    let (_, text) = doctor(&config, &["--write-probe"]);
    let off = section(&text, "tr")
        .into_iter()
        .find(|l| l.contains("update taking it off its task"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(off.starts_with("  ✓"), "TimeTracker clears it: {text}");
}
