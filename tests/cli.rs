//! The `timeweave` binary as an operator runs it: `check` (summary, errors, exit codes, and
//! never a secret), the missing-config message, usage errors and `--help`.

use std::path::Path;
use std::process::{Command, Output};

const SECRET_FILE_VALUE: &str = "tt_FILE_SECRET_do_not_print";
const SECRET_ENV_VALUE: &str = "ENV_SECRET_do_not_print";
const KEY_ENV_VALUE: &str = "ENV_KEY_do_not_print";
const INLINE_VALUE: &str = "INLINE_SECRET_do_not_print";

/// Runs the binary with exactly these environment variables (nothing inherited).
fn timeweave(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timeweave"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run timeweave")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_config(dir: &Path, body: &str) -> String {
    let path = dir.join("config.toml");
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn check_prints_a_summary_without_any_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("tt-token");
    std::fs::write(&secret, format!("{SECRET_FILE_VALUE}\n")).unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[providers.tt]
kind = "timetracker"
base_url = "https://tt.example.com"
api_secret_file = "{}"

[providers.acme]
kind = "timetrack"
base_url = "http://127.0.0.1:8080"
mode = "pull"
time_zone = "Europe/Berlin"

[providers.trk]
kind = "trackingtime"
api_secret = "{INLINE_VALUE}"
contact = "ops@example.com"
"#,
            secret.display()
        ),
    );
    let out = timeweave(
        &["check", "--config", &config],
        &[
            ("TIMEWEAVE_PROVIDERS__ACME__API_SECRET", SECRET_ENV_VALUE),
            ("TIMEWEAVE_PROVIDERS__ACME__API_KEY", KEY_ENV_VALUE),
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for secret in [
        SECRET_FILE_VALUE,
        SECRET_ENV_VALUE,
        KEY_ENV_VALUE,
        INLINE_VALUE,
    ] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} leaked:\n{stdout}\n{stderr}"
        );
    }
    for expected in [
        "tt [timetracker]",
        "acme [timetrack]",
        "trk [trackingtime]",
        "https://api.trackingtime.co/api/v4",
        "mode: pull",
        "timestamps: wall-clock time in Europe/Berlin",
        "0 */5 * * * * (UTC)",
        "100/min and 1000/h",
        "30/min",
        "2/s",
        &format!("api_secret: set (from file {})", secret.display()),
        "api_secret: set (from env TIMEWEAVE_PROVIDERS__ACME__API_SECRET)",
        "api_key: set (from env TIMEWEAVE_PROVIDERS__ACME__API_KEY)",
        "api_secret: set (inline in",
        "ledger: ./timeweave.db",
        "conflict policy: newest",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }
}

#[test]
fn check_of_a_bad_config_lists_the_problems_and_exits_1_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[providers.tt]\nkind = \"timetracker\"\nbase_url = \"http://tt.example.com\"\napi_secret = \"{INLINE_VALUE}\"\nschedule = \"* * *\"\n"
        ),
    );
    let out = timeweave(&["check", "--config", &config], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("providers.tt.base_url") && stderr.contains("https://"),
        "{stderr}"
    );
    assert!(
        stderr.contains("providers.tt.schedule") && stderr.contains("`* * *`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("providers.tt.api_secret") && stderr.contains("tt_"),
        "{stderr}"
    );
    assert!(!stdout.contains(INLINE_VALUE) && !stderr.contains(INLINE_VALUE));
}

#[test]
fn a_missing_config_is_explained_and_other_commands_exit_78() {
    let out = timeweave(&["check"], &[("TIMEWEAVE_CONFIG", "/nonexistent/tw.toml")]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("/nonexistent/tw.toml")
            && stderr.contains("TIMEWEAVE_CONFIG environment variable"),
        "{stderr}"
    );
    assert!(stderr.contains("config.example.toml"), "{stderr}");

    let out = timeweave(&["run", "--config", "/nonexistent/tw.toml"], &[]);
    assert_eq!(out.status.code(), Some(78), "{:?}", text(&out));
    assert!(text(&out).1.contains("given with --config"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["--dry-run"],
        vec!["--sync-once", "status"],
        vec!["report", "--from", "31.01.2026"],
        vec!["frobnicate"],
    ] {
        let out = timeweave(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {:?}", text(&out));
    }
}

#[test]
fn help_lists_every_command_with_examples() {
    let out = timeweave(&["--help"], &[]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    for cmd in [
        "run",
        "sync",
        "status",
        "check",
        "conflicts",
        "report",
        "export",
        "demo",
        "migrate",
        "completions",
        "man",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{cmd} "))),
            "{cmd} missing from help:\n{stdout}"
        );
    }
    for flag in [
        "--config",
        "--log-format",
        "--log-level",
        "--sync-once",
        "--provider",
        "--dry-run",
        "Examples:",
    ] {
        assert!(stdout.contains(flag), "{flag} missing from help");
    }
    let out = timeweave(&["conflicts", "resolve", "--help"], &[]);
    assert!(text(&out).0.contains("--take"));
}

#[test]
fn check_reads_systemd_credentials_like_the_service_would() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("tt"), format!("{SECRET_FILE_VALUE}\n")).unwrap();
    let config = write_config(
        dir.path(),
        "[providers.tt]\nkind = \"timetracker\"\nbase_url = \"https://tt.example.com\"\napi_secret_file = \"%d/tt\"\n\n[providers.spare]\nkind = \"timetracker\"\nenabled = false\nbase_url = \"https://spare.example.com\"\napi_secret_file = \"%d/tt\"\n",
    );
    let out = timeweave(
        &["check", "--config", &config],
        &[
            ("CREDENTIALS_DIRECTORY", creds.to_str().unwrap()),
            ("STATE_DIRECTORY", "/var/lib/timeweave"),
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("set (from file {})", creds.join("tt").display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("ledger: /var/lib/timeweave/ledger.db"),
        "{stdout}"
    );
    assert!(
        stdout.contains("spare [timetracker] (disabled)"),
        "{stdout}"
    );
    assert!(stdout.contains("2 configured, 1 enabled"), "{stdout}");
    assert!(!stdout.contains(SECRET_FILE_VALUE) && !stderr.contains(SECRET_FILE_VALUE));

    // Without the credentials directory (outside systemd), %d is explained, with the way to
    // check as the service would.
    let out = timeweave(&["check", "--config", &config], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out).1;
    assert!(
        stderr.contains("CREDENTIALS_DIRECTORY is not set"),
        "{stderr}"
    );
    assert!(
        stderr.contains("CREDENTIALS_DIRECTORY=/etc/timeweave/credentials timeweave check"),
        "{stderr}"
    );
    assert!(
        stderr.contains("CREDENTIALS_DIRECTORY=/etc/timeweave/credentials timeweave doctor"),
        "{stderr}"
    );
}

/// The shipped unit loads the whole credentials directory with one line; systemd names its
/// file NAME `timeweave_NAME`. The README's sequence (write /etc/timeweave/credentials/NAME,
/// check with CREDENTIALS_DIRECTORY pointing there) and the service see the same config.
#[test]
fn one_credentials_directory_serves_the_unit_and_the_readme_check() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/timeweave.service"),
    )
    .unwrap();
    let loads: Vec<&str> = unit
        .lines()
        .filter(|l| l.starts_with("LoadCredential="))
        .collect();
    assert_eq!(
        loads,
        ["LoadCredential=timeweave:/etc/timeweave/credentials"],
        "one line for any number of providers"
    );

    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[providers.tt]\nkind = \"timetracker\"\nbase_url = \"https://tt.example.com\"\napi_secret_file = \"%d/timetracker\"\n\n[providers.trk]\nkind = \"trackingtime\"\naccount_id = 1\ncontact = \"ops@example.com\"\napi_secret_file = \"%d/trackingtime\"\n",
    );
    // As the README shows: the files under their own names.
    let etc = dir.path().join("etc-credentials");
    std::fs::create_dir(&etc).unwrap();
    for name in ["timetracker", "trackingtime"] {
        std::fs::write(etc.join(name), format!("{SECRET_FILE_VALUE}\n")).unwrap();
    }
    // As the unit loads them: the same files as timeweave_NAME.
    let service = dir.path().join("run-credentials");
    std::fs::create_dir(&service).unwrap();
    for name in ["timetracker", "trackingtime"] {
        std::fs::write(
            service.join(format!("timeweave_{name}")),
            format!("{SECRET_FILE_VALUE}\n"),
        )
        .unwrap();
    }
    for (creds, shown) in [(&etc, "timetracker"), (&service, "timeweave_timetracker")] {
        let out = timeweave(
            &["check", "--config", &config],
            &[("CREDENTIALS_DIRECTORY", creds.to_str().unwrap())],
        );
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("set (from file {})", creds.join(shown).display())),
            "{stdout}"
        );
        assert!(!stdout.contains(SECRET_FILE_VALUE) && !stderr.contains(SECRET_FILE_VALUE));
    }
    // A credential in neither form names the file it looked for.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = timeweave(
        &["check", "--config", &config],
        &[("CREDENTIALS_DIRECTORY", empty.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out)
            .1
            .contains(&format!("{}", empty.join("timetracker").display())),
        "{}",
        text(&out).1
    );
}

#[test]
fn completions_cover_every_command_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _timeweave"),
        ("zsh", "#compdef timeweave"),
        ("fish", "complete -c timeweave"),
    ] {
        let out = timeweave(&["completions", shell], &[]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{shell}: {stderr}");
        assert!(stdout.contains(marker), "{shell}: no {marker:?}");
        for word in ["sync", "export", "dry-run", "config"] {
            assert!(stdout.contains(word), "{shell}: {word} missing");
        }
    }
    let out = timeweave(&["completions", "tcsh"], &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    assert!(text(&out).1.contains("possible values"), "{}", text(&out).1);
}

#[test]
fn man_pages_come_from_the_command_line() {
    let out = timeweave(&["man"], &[]);
    let (page, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH timeweave 1"),
        "{page}"
    );
    for word in ["SYNOPSIS", "\\-\\-sync\\-once", "export", "completions"] {
        assert!(page.contains(word), "{word} missing from the page:\n{page}");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = timeweave(&["man", "--out-dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for expected in ["timeweave.1", "timeweave-sync.1", "timeweave-export.1"] {
        assert!(
            pages.iter().any(|p| p == expected),
            "{expected} not in {pages:?}"
        );
    }
    let sync = std::fs::read_to_string(dir.path().join("timeweave-sync.1")).unwrap();
    assert!(sync.contains("dry\\-run"), "{sync}");

    let out = timeweave(&["man", "--out-dir", "/nonexistent/dir"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out)
        .1
        .contains("cannot write the manual pages to /nonexistent/dir"));
}

/// Every file the Debian package takes from `target/assets` is one `deploy/generate-assets`
/// writes (from the binary itself), and the package ships the completions for three shells,
/// the man pages and the docs.
#[test]
fn the_debian_package_ships_completions_man_pages_and_docs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let deb = &manifest[manifest.find("[package.metadata.deb]").unwrap()..];
    let sources: Vec<&str> = deb
        .lines()
        .filter_map(|l| l.trim().strip_prefix("[\""))
        .filter_map(|l| l.split('"').next())
        .collect();
    for shipped in [
        "usr/share/bash-completion/completions/timeweave",
        "usr/share/zsh/vendor-completions/_timeweave",
        "usr/share/fish/vendor_completions.d/timeweave.fish",
        "usr/share/man/man1/",
        "usr/share/doc/timeweave/ledger.md",
        "usr/share/doc/timeweave/changelog.gz",
    ] {
        assert!(deb.contains(shipped), "the .deb lacks {shipped}");
    }

    let out = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .arg(root.join("deploy/generate-assets"))
        .arg(env!("CARGO_BIN_EXE_timeweave"))
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    let generated: Vec<&str> = sources
        .iter()
        .filter_map(|s| s.strip_prefix("target/assets/"))
        .collect();
    assert_eq!(generated.len(), 5, "{sources:?}");
    for asset in generated {
        match asset.strip_suffix("*.1.gz") {
            Some(dir) => {
                let pages = std::fs::read_dir(out.path().join(dir)).unwrap().count();
                assert!(pages > 5, "{pages} man pages in {dir}");
            }
            None => assert!(
                std::fs::metadata(out.path().join(asset)).unwrap().len() > 1000,
                "{asset} is missing or empty"
            ),
        }
    }
    let changelog = deb
        .lines()
        .find_map(|l| l.strip_prefix("changelog = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("a Debian changelog");
    let entry = std::fs::read_to_string(
        out.path()
            .join(changelog.strip_prefix("target/assets/").unwrap()),
    )
    .unwrap();
    assert!(
        entry.starts_with(&format!(
            "timeweave ({}-1) unstable;",
            env!("CARGO_PKG_VERSION")
        )),
        "{entry}"
    );
    for doc in sources.iter().filter(|s| !s.starts_with("target/")) {
        assert!(root.join(doc).is_file(), "{doc} is not in the repository");
    }
}

#[test]
fn ledger_only_commands_need_no_provider_secrets() {
    let dir = tempfile::tempdir().unwrap();
    // No secret for any provider, and a credential file outside systemd's reach.
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[ledger]
path = "{}"

[providers.tt]
kind = "timetracker"
base_url = "https://tt.example.com"

[providers.acme]
kind = "timetrack"
base_url = "https://acme.example.com"
api_secret_file = "%d/acme"
time_zone = "Europe/Berlin"

[providers.trk]
kind = "trackingtime"
contact = "ops@example.com"
"#,
            dir.path().join("ledger.db").display()
        ),
    );
    // (command, exit code): `status` is 1 because nothing has synced yet.
    for (args, code) in [
        (&["migrate"][..], 0),
        (&["status"][..], 1),
        (&["report"][..], 0),
        (&["export"][..], 0),
        (&["conflicts"][..], 0),
    ] {
        let mut line = args.to_vec();
        line.extend(["--config", &config]);
        let out = timeweave(&line, &[]);
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}:\n{stdout}\n{stderr}"
        );
        assert!(!stderr.contains("api_secret"), "{args:?}: {stderr}");
    }
    // `check` (and every command that talks to a provider) still names what is missing.
    for args in [&["check"][..], &["sync"][..]] {
        let mut line = args.to_vec();
        line.extend(["--config", &config]);
        let out = timeweave(&line, &[]);
        let (_, stderr) = text(&out);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        for key in [
            "providers.tt.api_secret",
            "providers.acme.api_secret_file",
            "providers.acme.api_key",
            "providers.trk.api_secret",
        ] {
            assert!(
                stderr.contains(key),
                "{args:?}: {key} missing from {stderr}"
            );
        }
    }
}
