//! The binary with a PostgreSQL ledger (`[ledger] url`), against the throwaway cluster of
//! `scripts/postgres-cluster`: `check` names it without the password, `migrate` brings it up
//! to date (twice is once), and `status` reads it (never a SQLite file instead); `sync`
//! refuses an instance a live daemon holds the lease of, naming the holder; `sync
//! --dry-run` prints the plan and changes neither the ledger nor any provider.

use std::process::{Command, Output};

use timeweave::ledger::postgres::testing::{cluster_url, scratch_database};

const PASSWORD: &str = "pg-password-do-not-print";

/// Runs the binary in `config`'s directory (where a default SQLite ledger would appear).
fn timeweave(args: &[&str], config: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timeweave"))
        .current_dir(config.parent().expect("a directory"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env_clear()
        .env("TIMEWEAVE_LEDGER__PASSWORD", PASSWORD)
        .output()
        .expect("run timeweave")
}

fn text(out: &Output) -> String {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(PASSWORD), "the password was shown:\n{all}");
    all
}

/// A config in `dir` with the ledger at `url` and one instance `tt` no request reaches.
fn config_for(url: &url::Url, dir: &std::path::Path) -> std::path::PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[ledger]\nurl = \"{url}\"\n\n[providers.tt]\nkind = \"timetracker\"\n\
             base_url = \"http://127.0.0.1:9\"\napi_secret = \"tt_token\"\n"
        ),
    )
    .unwrap();
    config
}

#[tokio::test]
async fn migrate_brings_a_postgres_ledger_up_to_date_and_status_reads_it() {
    let Some(cluster) =
        cluster_url("migrate_brings_a_postgres_ledger_up_to_date_and_status_reads_it")
    else {
        return;
    };
    let url = scratch_database(&cluster).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = &config_for(&url, dir.path());

    let check = timeweave(&["check"], config);
    let said = text(&check);
    assert!(check.status.success(), "{said}");
    assert!(
        said.contains(&format!("ledger: PostgreSQL {url}")),
        "{said}"
    );
    assert!(
        said.contains("password set (from env TIMEWEAVE_LEDGER__PASSWORD)"),
        "{said}"
    );

    for _ in 0..2 {
        let migrate = timeweave(&["migrate"], config);
        let said = text(&migrate);
        assert!(migrate.status.success(), "{said}");
        assert!(said.contains("is at migration 3 (3 applied)"), "{said}");
    }

    let status = timeweave(&["status"], config);
    let said = text(&status);
    // Unhealthy (exit 1) only because no cycle has run yet: the ledger was read.
    assert!(!status.status.success(), "{said}");
    assert!(said.contains("UNHEALTHY: no cycle has run yet"), "{said}");
    assert!(
        !dir.path().join("timeweave.db").exists(),
        "no SQLite file instead"
    );
}

#[tokio::test]
async fn sync_refuses_an_instance_whose_lease_a_live_daemon_holds_and_names_the_holder() {
    let test = "sync_refuses_an_instance_whose_lease_a_live_daemon_holds_and_names_the_holder";
    let Some(cluster) = cluster_url(test) else {
        return;
    };
    let url = scratch_database(&cluster).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = &config_for(&url, dir.path());
    let ledger = timeweave::ledger::Ledger::open_postgres(&url, None)
        .await
        .unwrap();
    let pool = ledger.postgres_pool().expect("PostgreSQL").clone();
    let daemon = "node-b/777/1700000000";
    let ttl = std::time::Duration::from_secs(60);
    let held = timeweave::ledger::postgres::acquire(&pool, "tt", daemon, ttl).await;
    assert!(held.unwrap().is_some(), "the lease was free");

    let sync = timeweave(&["sync"], config);
    let said = text(&sync);

    assert!(!sync.status.success(), "{said}");
    assert!(said.contains("nothing was synced"), "{said}");
    assert!(
        said.contains("instance tt") && said.contains(daemon),
        "{said}"
    );
    let mut tx = ledger.read().await.unwrap();
    assert!(
        tx.recent_runs(None, 10).await.unwrap().is_empty(),
        "no cycle ran"
    );
}

/// Every table of the database at `pool` with its row count and a digest of its rows.
async fn tables(pool: &sqlx::PgPool) -> Vec<(String, i64, String)> {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut seen = Vec::new();
    for (name,) in names {
        // Names read from the catalogue, quoted: nothing to escape in the ledger's.
        let sql = format!(
            "SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) \
             FROM \"{name}\" t"
        );
        let (rows, digest): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .unwrap();
        seen.push((name, rows, digest));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_dry_run_on_a_postgres_ledger_prints_the_plan_and_changes_nothing() {
    use timeweave_simkit::{work_entry, SimulatorControl};
    use timeweave_testsupport::records;
    let test = "sync_dry_run_on_a_postgres_ledger_prints_the_plan_and_changes_nothing";
    let Some(cluster) = cluster_url(test) else {
        return;
    };
    let url = scratch_database(&cluster).await.unwrap();
    let source = timeweave_timetracker_sim::SimServer::start(Default::default()).await;
    let target = timeweave_timetrack_sim::SimServer::start(Default::default()).await;
    source.set_rate_limiting(false);
    target.set_rate_limiting(false);
    let ada = records::person("Ada", Some("ada@example.com"), Some("ada"));
    let (person, _, project) = records::seed_account(&source, &ada, "Acme", "Website", None).ids();
    target.add_person(&ada);
    let day = chrono::Utc::now() - chrono::Duration::days(3);
    let book = |hour: i64, notes: &str| {
        let start = chrono::DurationRound::duration_trunc(day, chrono::Duration::days(1)).unwrap()
            + chrono::Duration::hours(hour);
        source.add_entry(&work_entry(&person, Some(&project), start, 30, notes))
    };
    book(8, "synced before");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let section = |name, sim: &dyn SimulatorControl, mode| {
        timeweave::demo::simulator_section(name, sim, mode, "per_second = 200")
    };
    let toml = format!(
        "[ledger]\nurl = \"{url}\"\n\n{}{}",
        section("source", &source, "mode = \"pull\"\n"),
        section("target", &target, "mode = \"push\"\n"),
    );
    std::fs::write(&config, toml).unwrap();
    let sync = tokio::task::block_in_place(|| timeweave(&["sync"], &config));
    assert!(sync.status.success(), "{}", text(&sync));
    assert_eq!(target.count(timeweave_contract::Kind::TimeEntry), 1);
    book(10, "new in the source");

    let ledger = timeweave::ledger::Ledger::open_postgres_read_only(&url, None)
        .await
        .unwrap();
    let pool = ledger.postgres_pool().expect("PostgreSQL").clone();
    let before = tables(&pool).await;
    let writes = (source.write_requests(), target.write_requests());
    let dry = tokio::task::block_in_place(|| timeweave(&["sync", "--dry-run"], &config));
    let said = text(&dry);

    assert!(dry.status.success(), "{said}");
    assert!(said.contains("would import time_entry"), "{said}");
    assert!(said.contains("would create time_entry"), "{said}");
    assert!(said.contains("dry run: nothing was changed"), "{said}");
    assert_eq!(tables(&pool).await, before, "the ledger changed");
    assert!(before
        .iter()
        .any(|(t, rows, _)| t == "time_entries" && *rows == 1));
    assert!(before
        .iter()
        .any(|(t, rows, _)| t == "leases" && *rows == 2));
    let after = (source.write_requests(), target.write_requests());
    assert_eq!(after, writes, "a provider was written to");
    ledger.close().await;
}
