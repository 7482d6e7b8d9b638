//! The reporting views and the `report`/`export` commands against a known ledger: every
//! view's rows and columns, tombstones kept out (and listed in `report_deleted_entries`),
//! running timers counted as 0 hours, ranges on local work dates, and the binary's output.

mod report_support;

use std::process::Command;

use report_support::{date, known_ledger, write_config, Fixture, BOB};
use sqlx::Row;
use timeweave::cli::{ExportArgs, ExportFormat, ReportArgs, ReportBy, ReportFormat};
use timeweave::ledger::{DateRange, TotalsBy};

/// The range of the one work date `d`.
fn one_day(d: &str) -> DateRange {
    DateRange {
        from: date(d),
        to: date(d),
    }
}

fn march() -> DateRange {
    DateRange {
        from: date("2026-03-01"),
        to: date("2026-03-31"),
    }
}

/// Runs `sql` on a plain read-only SQLite connection, as an outside tool would, and returns
/// every row as text (NULL as "∅").
async fn rows(f: &Fixture, sql: &str) -> Vec<Vec<String>> {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, ValueRef};
    let mut conn = SqliteConnectOptions::new()
        .filename(&f.path)
        .read_only(true)
        .connect()
        .await
        .unwrap();
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(&mut conn)
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (0..r.columns().len())
                .map(|i| {
                    if r.try_get_raw(i).unwrap().is_null() {
                        return "∅".to_owned();
                    }
                    r.try_get::<String, _>(i)
                        .or_else(|_| r.try_get::<i64, _>(i).map(|v| v.to_string()))
                        .or_else(|_| r.try_get::<f64, _>(i).map(|v| v.to_string()))
                        .unwrap()
                })
                .collect()
        })
        .collect()
}

/// Rows of cells written as text: a row a line, cells parted by ` | `; blank lines and
/// `#` comments are left out.
fn table(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.split(" | ").collect())
        .collect()
}

fn strs(rows: &[Vec<String>]) -> Vec<Vec<&str>> {
    rows.iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect()
}

#[tokio::test]
async fn report_time_entries_lists_live_entries_with_names_zones_and_providers() {
    let f = known_ledger().await;
    let got = rows(
        &f,
        "SELECT person, person_email, client, project, task, started_at_utc, ended_at_utc, \
                started_at_local, ended_at_local, time_zone, work_date, week_start, month, running, \
                break_seconds, duration_seconds, hours, billable_hours, billable, tags, tag_list, \
                notes, providers \
         FROM report_time_entries ORDER BY started_at_utc",
    )
    .await;
    let expect = format!(
        r#"
        # E7: outside March, but the view holds everything live.
        Ada Lovelace | ada@example.com | Acme | Apollo | ∅ | 2026-02-27T08:00:00Z | 2026-02-27T09:00:00Z | 2026-02-27T08:00:00 | 2026-02-27T09:00:00 | UTC | 2026-02-27 | 2026-02-23 | 2026-02 | 0 | 0 | 3600 | 1 | 1 | 1 | [] | ∅ | ∅ | ∅
        Ada Lovelace | ada@example.com | Acme | Apollo | Design | 2026-03-02T08:00:00Z | 2026-03-02T10:00:00Z | 2026-03-02T09:00:00 | 2026-03-02T11:00:00 | Europe/Rome | 2026-03-02 | 2026-03-02 | 2026-03 | 0 | 0 | 7200 | 2 | 2 | 1 | ["a","b"] | a, b | Kick-off, "phase 1" | tm,tt
        Ada Lovelace | ada@example.com | Globex | Zephyr | ∅ | 2026-03-03T23:30:00Z | 2026-03-04T00:30:00Z | 2026-03-04T00:30:00 | 2026-03-04T01:30:00 | Europe/Rome | 2026-03-04 | 2026-03-02 | 2026-03 | 0 | 0 | 3600 | 1 | 0 | 0 | [] | ∅ | ∅ | tt
        {BOB} | bob@example.com | Acme | Apollo | ∅ | 2026-03-09T09:00:00Z | 2026-03-09T12:00:00Z | 2026-03-09T09:00:00 | 2026-03-09T12:00:00 | UTC | 2026-03-09 | 2026-03-09 | 2026-03 | 0 | 1800 | 9000 | 2.5 | 2.5 | 1 | [] | ∅ | ∅ | tm
        {BOB} | bob@example.com | Globex | ∅ | ∅ | 2026-03-10T13:00:00Z | 2026-03-10T13:45:00Z | 2026-03-10T13:00:00 | 2026-03-10T13:45:00 | UTC | 2026-03-10 | 2026-03-09 | 2026-03 | 0 | 0 | 2700 | 0.75 | 0.75 | 1 | [] | ∅ | ∅ | ∅
        # E5: a running timer counts 0 hours until stopped.
        Ada Lovelace | ada@example.com | Acme | Apollo | ∅ | 2026-03-20T11:00:00Z | ∅ | 2026-03-20T12:00:00 | ∅ | Europe/Rome | 2026-03-20 | 2026-03-16 | 2026-03 | 1 | 0 | 0 | 0 | 0 | 1 | [] | ∅ | ∅ | ∅
        "#
    );
    assert_eq!(strs(&got), table(&expect));

    // The ids and the first version's columns are all there.
    let ids = rows(&f, "SELECT entry_id, person_id, project_id, client_id, kind, origin FROM report_time_entries WHERE entry_id = (SELECT entry_id FROM report_time_entries WHERE client = 'Globex' AND project IS NULL)").await;
    assert_eq!(ids[0][0], f.entries[3].0);
    assert_eq!(ids[0][1], f.bob.0);
    assert_eq!(ids[0][2], "∅");
    assert_eq!(ids[0][3], f.globex.0);
    assert_eq!(&ids[0][4..], ["work", "tt"]);
    assert!(
        rows(
            &f,
            &format!(
                "SELECT 1 FROM report_time_entries WHERE entry_id = '{}'",
                f.entries[5].0
            )
        )
        .await
        .is_empty(),
        "tombstoned entries never appear"
    );
}

#[tokio::test]
async fn daily_hours_are_per_person_work_date_and_project() {
    let f = known_ledger().await;
    let got = rows(
        &f,
        "SELECT person, work_date, week_start, client, project, entries, running_entries, duration_seconds, hours, billable_hours \
         FROM report_daily_hours WHERE work_date BETWEEN '2026-03-01' AND '2026-03-31' ORDER BY work_date, person",
    )
    .await;
    assert_eq!(
        strs(&got),
        table(&format!(
            r#"
            Ada Lovelace | 2026-03-02 | 2026-03-02 | Acme | Apollo | 1 | 0 | 7200 | 2 | 2
            Ada Lovelace | 2026-03-04 | 2026-03-02 | Globex | Zephyr | 1 | 0 | 3600 | 1 | 0
            {BOB} | 2026-03-09 | 2026-03-09 | Acme | Apollo | 1 | 0 | 9000 | 2.5 | 2.5
            {BOB} | 2026-03-10 | 2026-03-09 | Globex | ∅ | 1 | 0 | 2700 | 0.75 | 0.75
            Ada Lovelace | 2026-03-20 | 2026-03-16 | Acme | Apollo | 1 | 1 | 0 | 0 | 0
            "#
        ))
    );
}

#[tokio::test]
async fn project_totals_cover_live_projects_and_entries_without_one() {
    let f = known_ledger().await;
    let got = rows(
        &f,
        "SELECT project, client, project_billable, hourly_rate_cents, entries, running_entries, people, \
                duration_seconds, hours, billable_hours, billable_amount_cents, first_work_date, last_work_date \
         FROM report_project_totals ORDER BY project IS NULL, project",
    )
    .await;
    assert_eq!(
        strs(&got),
        table(
            r#"
            # Apollo: E7 1 h + E1 2 h + E3 2.5 h + E5 running; 5.5 h at 100.00 = 550.00.
            Apollo | Acme | 1 | 10000 | 4 | 1 | 2 | 19800 | 5.5 | 5.5 | 55000 | 2026-02-27 | 2026-03-20
            Idle | Acme | 1 | ∅ | 0 | 0 | 0 | 0 | 0 | 0 | ∅ | ∅ | ∅
            Zephyr | Globex | 1 | ∅ | 1 | 0 | 1 | 3600 | 1 | 0 | ∅ | 2026-03-04 | 2026-03-04
            ∅ | ∅ | ∅ | ∅ | 1 | 0 | 1 | 2700 | 0.75 | 0.75 | ∅ | 2026-03-10 | 2026-03-10
            "#
        ),
        "the tombstoned project `Old` is left out"
    );
    let idle = rows(
        &f,
        "SELECT project_id FROM report_project_totals WHERE project = 'Idle'",
    )
    .await;
    assert_eq!(idle[0][0], f.idle.0);
}

#[tokio::test]
async fn sync_health_shows_last_result_lag_and_backlog_per_provider() {
    let f = known_ledger().await;
    let got = rows(
        &f,
        "SELECT provider, last_run_status, last_run_started_at, last_run_finished_at, last_run_error_count, \
                last_run_last_error, last_success_at, runs, failed_runs, open_conflicts, pending_pushes, \
                oldest_pending_push_at, record_issues, linked_entries \
         FROM report_sync_health ORDER BY provider",
    )
    .await;
    assert_eq!(
        strs(&got),
        table(
            r#"
            tm | ok | 2026-03-20T11:00:00.000Z | 2026-03-20T11:05:00.000Z | 0 | ∅ | 2026-03-20T11:05:00.000Z | 1 | 0 | 0 | 1 | 2026-03-20T11:04:00.000Z | 0 | 2
            tt | failed | 2026-03-20T11:00:00.000Z | 2026-03-20T11:02:00.000Z | 2 | boom <2> | 2026-03-20T10:01:00.000Z | 2 | 1 | 1 | 0 | ∅ | 1 | 3
            "#
        )
    );
    // Lag is measured against the clock: at least the time since 2026-03-20 10:01.
    let lag = rows(&f, "SELECT lag_seconds, CAST(round((julianday('now') - julianday('2026-03-20T10:01:00Z')) * 86400) AS INTEGER) FROM report_sync_health WHERE provider = 'tt'").await;
    let (lag, expected): (i64, i64) = (lag[0][0].parse().unwrap(), lag[0][1].parse().unwrap());
    assert!((lag - expected).abs() <= 2, "{lag} vs {expected}");
    let mut tx = f.ledger.read().await.unwrap();
    let health = tx.sync_health().await.unwrap();
    assert_eq!(health[1].provider, "tt");
    assert_eq!(health[1].last_run_last_error.as_deref(), Some("boom <2>"));
    assert_eq!(
        (
            health[0].pending_pushes,
            health[1].open_conflicts,
            health[1].record_issues
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn deleted_entries_show_what_was_deleted_when_and_by_whom() {
    let f = known_ledger().await;
    let got = rows(
        &f,
        "SELECT entry_id, person, project, client, started_at_utc, work_date, hours, deleted_at, deleted_by, providers_still_holding \
         FROM report_deleted_entries",
    )
    .await;
    assert_eq!(
        strs(&got),
        vec![vec![
            f.entries[5].0.as_str(),
            "Ada Lovelace",
            "Apollo",
            "Acme",
            "2026-03-05T08:00:00Z",
            "2026-03-05",
            "1",
            "2026-03-06T07:00:00.000Z",
            "tm",
            "tt"
        ]]
    );
}

/// Label, detail, entries, running entries, seconds, billable seconds.
type Summary = (Option<String>, Option<String>, i64, i64, i64, i64);

#[tokio::test]
async fn report_totals_group_over_the_range() {
    let f = known_ledger().await;
    let mut tx = f.ledger.read().await.unwrap();
    let summary = |rows: Vec<timeweave::ledger::TotalRow>| -> Vec<Summary> {
        rows.into_iter()
            .map(|r| {
                (
                    r.label,
                    r.detail,
                    r.entries,
                    r.running_entries,
                    r.seconds,
                    r.billable_seconds,
                )
            })
            .collect()
    };
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        summary(tx.report_totals(TotalsBy::Person, march()).await.unwrap()),
        vec![
            (s("Ada Lovelace"), s("ada@example.com"), 3, 1, 10_800, 7200),
            (s(BOB), s("bob@example.com"), 2, 0, 11_700, 11_700),
        ]
    );
    assert_eq!(
        summary(tx.report_totals(TotalsBy::Client, march()).await.unwrap()),
        vec![
            (s("Acme"), None, 3, 1, 16_200, 16_200),
            (s("Globex"), None, 2, 0, 6300, 2700)
        ]
    );
    assert_eq!(
        summary(tx.report_totals(TotalsBy::Project, march()).await.unwrap()),
        vec![
            (s("Apollo"), s("Acme"), 3, 1, 16_200, 16_200),
            (s("Zephyr"), s("Globex"), 1, 0, 3600, 0),
            (None, s("Globex"), 1, 0, 2700, 2700),
        ]
    );
    assert_eq!(
        summary(tx.report_totals(TotalsBy::Day, march()).await.unwrap()),
        vec![
            (s("2026-03-02"), None, 1, 0, 7200, 7200),
            (s("2026-03-04"), None, 1, 0, 3600, 0),
            (s("2026-03-09"), None, 1, 0, 9000, 9000),
            (s("2026-03-10"), None, 1, 0, 2700, 2700),
            (s("2026-03-20"), None, 1, 1, 0, 0),
        ]
    );
    // The range is on local work dates: E2 started on the 3rd (UTC) but is worked on the 4th.
    let the_3rd = one_day("2026-03-03");
    assert!(tx
        .report_totals(TotalsBy::Person, the_3rd)
        .await
        .unwrap()
        .is_empty());
    let the_4th = one_day("2026-03-04");
    assert_eq!(
        tx.report_totals(TotalsBy::Person, the_4th).await.unwrap()[0].seconds,
        3600
    );
}

fn report_args(by: ReportBy, format: ReportFormat) -> ReportArgs {
    ReportArgs {
        from: Some(date("2026-03-01")),
        to: Some(date("2026-03-31")),
        by,
        format,
        html: None,
        currency: None,
    }
}

/// What `timeweave report` writes on stdout for `args` on `today`.
async fn report_text(f: &Fixture, args: ReportArgs, today: chrono::NaiveDate) -> String {
    let mut out = Vec::new();
    timeweave::report::report_command(&f.path, &args, today, &mut out)
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn report_command_writes_each_format() {
    let f = known_ledger().await;
    let today = date("2026-03-20");
    let run = |by, format| report_text(&f, report_args(by, format), today);
    let csv = run(ReportBy::Client, ReportFormat::Csv).await;
    assert_eq!(
        csv,
        "client,entries,running_entries,hours,billable_hours,billable_amount,currency\nAcme,3,1,4.5,4.5,450.00,\nGlobex,2,0,1.75,0.75,,\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&run(ReportBy::Person, ReportFormat::Json).await).unwrap();
    assert_eq!(json["rows"][1]["person"], BOB);
    assert_eq!(json["rows"][1]["email"], "bob@example.com");
    assert_eq!(json["total"]["hours"], 6.25);
    assert_eq!(json["total"]["running_entries"], 1);
    let table = run(ReportBy::Project, ReportFormat::Table).await;
    for needle in ["Apollo", "(no project)", "4.50", "6.25", "Total"] {
        assert!(table.contains(needle), "{needle} missing:\n{table}");
    }
    // The default range is the 30 days up to today (2026-02-19..=2026-03-20): E7 counts.
    let args = ReportArgs {
        from: None,
        to: None,
        ..report_args(ReportBy::Day, ReportFormat::Csv)
    };
    assert!(report_text(&f, args, today)
        .await
        .contains("\n2026-02-27,1,0,1,1,100.00,\n"));
}

/// Money: billable hours × the project's rate (Apollo 100.00/h; Zephyr and entries without a
/// project have none), per project and in total, in the configured currency; and weeks and
/// months as groupings.
#[tokio::test]
async fn report_shows_amounts_and_groups_by_week_and_month() {
    let f = known_ledger().await;
    let run = |by, currency: Option<&str>| {
        let args = ReportArgs {
            currency: currency.map(Into::into),
            ..report_args(by, ReportFormat::Json)
        };
        let text = report_text(&f, args, date("2026-03-20"));
        async move { serde_json::from_str::<serde_json::Value>(&text.await).unwrap() }
    };
    let v = run(ReportBy::Project, Some("EUR")).await;
    assert_eq!(v["currency"], "EUR");
    let apollo = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["project"] == "Apollo")
        .unwrap();
    assert_eq!(
        apollo["billable_amount"], 450.0,
        "E1 2 h + E3 2.5 h at 100.00"
    );
    let zephyr = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["project"] == "Zephyr")
        .unwrap();
    assert!(zephyr["billable_amount"].is_null(), "no rate: no amount");
    assert_eq!(v["total"]["billable_amount"], 450.0);
    assert_eq!(
        v["total"]["unpriced_billable_hours"], 0.75,
        "E4 has no project, so no rate"
    );

    let weeks = run(ReportBy::Week, None).await;
    let labels: Vec<&str> = weeks["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["week"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["2026-03-02", "2026-03-09", "2026-03-16"],
        "Mondays"
    );
    assert_eq!(
        weeks["rows"][0]["hours"], 3.0,
        "E1 and E2 (work date 2026-03-04)"
    );
    assert_eq!(weeks["rows"][0]["billable_amount"], 200.0);

    let months = run(ReportBy::Month, None).await;
    assert_eq!(months["rows"].as_array().unwrap().len(), 1);
    assert_eq!(months["rows"][0]["month"], "2026-03");
    assert_eq!(months["total"]["hours"], 6.25);

    let args = ReportArgs {
        currency: Some("CHF".into()),
        ..report_args(ReportBy::Project, ReportFormat::Table)
    };
    let table = report_text(&f, args, date("2026-03-20")).await;
    assert!(
        table.contains("amount CHF") && table.contains("450.00"),
        "{table}"
    );
    assert!(
        table.contains("0.75 billable hours are on projects without an hourly rate"),
        "{table}"
    );
}

#[tokio::test]
async fn export_command_streams_the_range_to_a_file() {
    let f = known_ledger().await;
    let output = f.dir.path().join("out").join("entries.csv");
    std::fs::create_dir_all(output.parent().unwrap()).unwrap();
    let args = ExportArgs {
        from: Some(date("2026-03-01")),
        to: Some(date("2026-03-31")),
        format: ExportFormat::Csv,
        output: Some(output.clone()),
    };
    let n =
        timeweave::report::export_command(&f.path, &args, date("2026-03-20"), &mut std::io::sink())
            .await
            .unwrap();
    assert_eq!(n, 5);
    let text = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6);
    assert!(lines[0].starts_with("entry_id,work_date,person,"));
    assert!(lines[1].starts_with(&format!("{},2026-03-02,Ada Lovelace,", f.entries[0].0)));
    assert!(
        lines[1].contains(",\"Kick-off, \"\"phase 1\"\"\",\"tm,tt\","),
        "{}",
        lines[1]
    );
    assert!(
        lines[3].contains(",\"Bob <&> \"\"Builder\"\"\","),
        "{}",
        lines[3]
    );
    assert_eq!(
        std::fs::read_dir(output.parent().unwrap()).unwrap().count(),
        1,
        "no partial file left behind"
    );

    let mut out = Vec::new();
    let args = ExportArgs {
        format: ExportFormat::Jsonl,
        output: None,
        ..args
    };
    assert_eq!(
        timeweave::report::export_command(&f.path, &args, date("2026-03-20"), &mut out)
            .await
            .unwrap(),
        5
    );
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8(out).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(first["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(first["providers"], serde_json::json!(["tm", "tt"]));
    assert_eq!(first["hours"], 2.0);
    assert_eq!(first["person_id"], f.ada.0.as_str());
    assert_eq!(first["project_id"], f.apollo.0.as_str());
    assert_eq!(first["client_id"], report_views_client_of_apollo(&f).await);
}

#[tokio::test]
async fn export_without_a_range_exports_every_entry() {
    let f = known_ledger().await;
    let args = ExportArgs {
        from: None,
        to: None,
        format: ExportFormat::Jsonl,
        output: None,
    };
    // Weeks after the last entry: a default "last 30 days" would export nothing.
    let mut out = Vec::new();
    let n = timeweave::report::export_command(&f.path, &args, date("2026-06-30"), &mut out)
        .await
        .unwrap();
    assert_eq!(n, 6, "E1..E5 and E7: every live entry, E6 is deleted");
    let dates: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["work_date"].to_string())
        .collect();
    assert_eq!(dates.first().map(String::as_str), Some("\"2026-02-27\""));
    assert_eq!(dates.last().map(String::as_str), Some("\"2026-03-20\""));

    let only_to = ExportArgs {
        to: Some(date("2026-03-02")),
        ..args.clone()
    };
    let n =
        timeweave::report::export_command(&f.path, &only_to, date("2026-06-30"), &mut Vec::new())
            .await
            .unwrap();
    assert_eq!(n, 2, "--to alone keeps everything before it: E7 and E1");
    let after_last = ExportArgs {
        from: Some(date("2026-04-01")),
        ..args
    };
    let err = timeweave::report::export_command(
        &f.path,
        &after_last,
        date("2026-06-30"),
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("after the last entry's date 2026-03-20"),
        "{err:#}"
    );
}

#[tokio::test]
async fn clear_errors_for_a_missing_ledger_and_a_backwards_range() {
    let f = known_ledger().await;
    let missing = f.dir.path().join("nope.db");
    let err = timeweave::report::report_command(
        &missing,
        &report_args(ReportBy::Person, ReportFormat::Table),
        date("2026-03-20"),
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("no ledger at"), "{err:#}");
    let args = ReportArgs {
        from: Some(date("2026-04-01")),
        ..report_args(ReportBy::Person, ReportFormat::Table)
    };
    let err =
        timeweave::report::report_command(&f.path, &args, date("2026-03-20"), &mut Vec::new())
            .await
            .unwrap_err();
    assert!(
        err.to_string()
            .contains("--from 2026-04-01 is after --to 2026-03-31"),
        "{err}"
    );
    assert!(!missing.exists(), "reading never creates a ledger");
}

/// The stdout of a run that must have succeeded (its stderr if it did not).
fn stdout_of(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn the_binary_reports_and_exports() {
    let f = known_ledger().await;
    f.ledger.close().await;
    let config = write_config(&f);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_timeweave"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_clear()
            .output()
            .unwrap()
    };
    let out = run(&[
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--by",
        "day",
        "--format",
        "csv",
    ]);
    let csv = stdout_of(out);
    assert!(
        csv.starts_with("date,entries,running_entries,hours,billable_hours,billable_amount,currency\n2026-03-02,1,0,2,2,200.00,\n"),
        "{csv}"
    );
    assert!(csv.ends_with("2026-03-20,1,1,0,0,0.00,\n"), "{csv}");

    let html = f.dir.path().join("report.html");
    let out = run(&[
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(stdout_of(out).contains("Hours by person"));
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));

    let out = run(&[
        "export",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        "jsonl",
    ]);
    assert_eq!(stdout_of(out).lines().count(), 5);

    let out = run(&["report", "--from", "2025-01-01", "--to", "2025-01-31"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("No entries in this range."));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the ledger has entries from 2026-02-27 to 2026-03-20"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run(&["export", "--from", "2026-03-31", "--to", "2026-03-01"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is after --to"));
}

#[tokio::test]
async fn the_documented_example_queries_run() {
    let f = known_ledger().await;
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ledger.md")).unwrap();
    let queries: Vec<&str> = doc
        .split("```sql\n")
        .skip(1)
        .map(|block| &block[..block.find("```").unwrap()])
        .collect();
    assert!(queries.len() >= 6, "docs/ledger.md lost its examples");
    for q in &queries {
        rows(&f, q).await; // panics on an error
    }
    let running = queries
        .iter()
        .find(|q| q.contains("WHERE running"))
        .unwrap();
    assert_eq!(rows(&f, running).await.len(), 1);
    let amounts = queries
        .iter()
        .find(|q| q.contains("billable_amount_cents) / 100.0"))
        .unwrap();
    assert_eq!(strs(&rows(&f, amounts).await), vec![vec!["Acme", "550"]]);
}

async fn report_views_client_of_apollo(f: &Fixture) -> String {
    rows(
        f,
        &format!(
            "SELECT client_id FROM report_project_totals WHERE project_id = '{}'",
            f.apollo.0
        ),
    )
    .await[0][0]
        .clone()
}

#[tokio::test]
async fn a_finished_entry_without_a_provider_duration_counts_end_minus_start_minus_break() {
    let f = known_ledger().await;
    let mut tx = f.ledger.write().await.unwrap();
    let mut spec =
        report_support::EntrySpec::new(&f.bob, None, report_support::at(2026, 3, 11, 8, 0), 90);
    spec.break_seconds = 600;
    let mut record = spec.record();
    if let timeweave_contract::Record::TimeEntry(e) = &mut record {
        e.duration_seconds = None;
    }
    let id = report_support::insert(&mut tx, record).await;
    tx.commit().await.unwrap();
    let got = rows(
        &f,
        &format!(
            "SELECT duration_seconds, hours, billable_hours FROM report_time_entries WHERE entry_id = '{}'",
            id.0
        ),
    )
    .await;
    assert_eq!(strs(&got), vec![vec!["4800", "1.3333", "1.3333"]]);
    let mut tx = f.ledger.read().await.unwrap();
    let the_11th = one_day("2026-03-11");
    assert_eq!(
        tx.report_totals(TotalsBy::Day, the_11th).await.unwrap()[0].seconds,
        4800
    );
}
