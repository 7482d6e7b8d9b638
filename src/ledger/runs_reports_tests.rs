//! The run and report stores on both backends, where `tests.rs` leaves a method or a case
//! untried on PostgreSQL: interrupted runs, every totals grouping and its name order,
//! weekly series, sync health, the synthetic seed and its export, and missing views.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use futures::StreamExt;
use std::collections::BTreeSet;
use timeweave_contract::{CanonicalId, Client, EntryKind, Person, Project, Record, TimeEntry};

use super::sql::{Exec, Sql};
use super::test_backend::open_test_ledger;
use super::*;

/// A whole hour of 2026 (UTC).
fn at(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    at(4, 9, 12)
}

async fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open_test_ledger(dir.path()).await.expect("open");
    (dir, ledger)
}

/// Runs a statement as it is, on whichever backend the transaction is.
async fn run_raw(tx: &mut Tx, sql: &str) {
    match &mut tx.backend {
        TxBackend::Sqlite(t) => t.execute(Sql::new(sql)).await,
        TxBackend::Postgres(t) => t.execute(Sql::new(sql)).await,
    }
    .expect(sql);
}

async fn insert(tx: &mut Tx, record: Record<CanonicalId>) -> CanonicalId {
    tx.insert_record(&record, "tt", now()).await.unwrap().id
}

async fn person(tx: &mut Tx, name: &str) -> CanonicalId {
    let email = format!("{}@example.com", name.to_lowercase());
    let record = Record::Person(Person {
        display_name: name.into(),
        email: Some(email),
        username: None,
    });
    insert(tx, record).await
}

async fn project(tx: &mut Tx, name: &str, client: &str, rate: Option<i64>) -> CanonicalId {
    let client = Record::Client(Client {
        name: client.into(),
        email: None,
        notes: None,
        archived: false,
    });
    let client = insert(tx, client).await;
    let record = Record::Project(Project {
        client: Some(client),
        name: name.into(),
        billable: true,
        hourly_rate_cents: rate,
        archived: false,
    });
    insert(tx, record).await
}

/// An entry in UTC (so its work date is the UTC date); `None` minutes: a running timer.
fn entry(
    who: &CanonicalId,
    on: Option<&CanonicalId>,
    start: DateTime<Utc>,
    minutes: Option<i64>,
    billable: bool,
) -> Record<CanonicalId> {
    Record::TimeEntry(TimeEntry {
        person: who.clone(),
        project: on.cloned(),
        task: None,
        client: None,
        started_at: start,
        ended_at: minutes.map(|m| start + Duration::minutes(m)),
        break_seconds: 0,
        duration_seconds: minutes.map(|m| m * 60),
        source_tz: Some("UTC".into()),
        notes: None,
        tags: BTreeSet::new(),
        billable,
        kind: EntryKind::Work,
    })
}

/// Ada, bob and Carl (names whose byte order is not their case-blind order), projects
/// "Website" (client acme, priced) and "app" (client Beta, unpriced), and four entries over
/// two weeks and two months: Ada 60 min on Website (Mon 30 March), bob 30 min on app
/// (1 April), Carl 120 unbillable min on no project (7 April), bob's running timer on
/// Website (7 April).
async fn known_entries(ledger: &Ledger) {
    let mut tx = ledger.write().await.unwrap();
    let ada = person(&mut tx, "Ada").await;
    let bob = person(&mut tx, "bob").await;
    let carl = person(&mut tx, "Carl").await;
    let website = project(&mut tx, "Website", "acme", Some(10_000)).await;
    let app = project(&mut tx, "app", "Beta", None).await;
    for e in [
        entry(&ada, Some(&website), at(3, 30, 9), Some(60), true),
        entry(&bob, Some(&app), at(4, 1, 9), Some(30), true),
        entry(&carl, None, at(4, 7, 9), Some(120), false),
        entry(&bob, Some(&website), at(4, 7, 10), None, true),
    ] {
        insert(&mut tx, e).await;
    }
    tx.commit().await.unwrap();
}

fn spring() -> DateRange {
    DateRange {
        from: "2026-03-01".parse().unwrap(),
        to: "2026-04-30".parse().unwrap(),
    }
}

/// (label, detail, entries, running, seconds, billable, amount, unpriced) of each row.
type Totals = (
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    i64,
);

async fn totals(tx: &mut Tx, by: TotalsBy) -> Vec<Totals> {
    let rows = tx.report_totals(by, spring()).await.unwrap();
    rows.into_iter()
        .map(|r| {
            let (label, detail) = (r.label, r.detail);
            let counts = (r.entries, r.running_entries, r.seconds);
            let money = (
                r.billable_seconds,
                r.amount_cents,
                r.unpriced_billable_seconds,
            );
            (
                label, detail, counts.0, counts.1, counts.2, money.0, money.1, money.2,
            )
        })
        .collect()
}

fn s(text: &str) -> Option<String> {
    Some(text.to_owned())
}

crate::on_both_backends! {
    /// Every grouping sums alike on both backends and orders names case-blind (Ada, bob,
    /// Carl; "app" before "Website"), rows without a client or project last.
    #[tokio::test]
    async fn totals_group_and_order_alike_on_every_backend() {
        let (_d, ledger) = ledger().await;
        known_entries(&ledger).await;
        let mut tx = ledger.read().await.unwrap();
        let email = |n: &str| s(&format!("{n}@example.com"));
        assert_eq!(
            totals(&mut tx, TotalsBy::Person).await,
            [
                (s("Ada"), email("ada"), 1, 0, 3600, 3600, Some(10_000), 0),
                (s("bob"), email("bob"), 2, 1, 1800, 1800, Some(0), 1800),
                (s("Carl"), email("carl"), 1, 0, 7200, 0, None, 0),
            ]
        );
        assert_eq!(
            totals(&mut tx, TotalsBy::Client).await,
            [
                (s("acme"), None, 2, 1, 3600, 3600, Some(10_000), 0),
                (s("Beta"), None, 1, 0, 1800, 1800, None, 1800),
                (None, None, 1, 0, 7200, 0, None, 0),
            ]
        );
        assert_eq!(
            totals(&mut tx, TotalsBy::Project).await,
            [
                (s("app"), s("Beta"), 1, 0, 1800, 1800, None, 1800),
                (s("Website"), s("acme"), 2, 1, 3600, 3600, Some(10_000), 0),
                (None, None, 1, 0, 7200, 0, None, 0),
            ]
        );
        let labels = |rows: Vec<Totals>| -> Vec<_> { rows.into_iter().map(|r| (r.0, r.2)).collect() };
        assert_eq!(
            labels(totals(&mut tx, TotalsBy::Day).await),
            [(s("2026-03-30"), 1), (s("2026-04-01"), 1), (s("2026-04-07"), 2)]
        );
        assert_eq!(
            labels(totals(&mut tx, TotalsBy::Week).await),
            [(s("2026-03-30"), 2), (s("2026-04-06"), 2)]
        );
        assert_eq!(
            labels(totals(&mut tx, TotalsBy::Month).await),
            [(s("2026-03"), 1), (s("2026-04"), 3)]
        );
    }

    /// Weekly series by person and by client: oldest week first, names case-blind, the
    /// entries without a client last.
    #[tokio::test]
    async fn weekly_series_order_alike_on_every_backend() {
        let (_d, ledger) = ledger().await;
        known_entries(&ledger).await;
        let mut tx = ledger.read().await.unwrap();
        let week = |d: &str| d.to_owned();
        let by_person = [
            (week("2026-03-30"), s("Ada"), 3600),
            (week("2026-03-30"), s("bob"), 1800),
            (week("2026-04-06"), s("bob"), 0),
            (week("2026-04-06"), s("Carl"), 7200),
        ];
        let by_client = [
            (week("2026-03-30"), s("acme"), 3600),
            (week("2026-03-30"), s("Beta"), 1800),
            (week("2026-04-06"), s("acme"), 0),
            (week("2026-04-06"), None, 7200),
        ];
        for (by, expected) in [(WeeklyBy::Person, by_person), (WeeklyBy::Client, by_client)] {
            let rows = tx.weekly_hours(by, spring()).await.unwrap();
            let series: Vec<_> = rows.into_iter().map(|w| (w.week_start, w.label, w.seconds)).collect();
            assert_eq!(series, expected, "{by:?}");
        }
    }

    /// The synthetic seed writes the same entries on both backends: 40 a day, 25 minutes
    /// each, exported in order with the quoted note; the span and rounded hours follow.
    #[tokio::test]
    async fn seeded_entries_export_alike_on_every_backend() {
        let (_d, ledger) = ledger().await;
        let mut tx = ledger.write().await.unwrap();
        let ada = person(&mut tx, "Ada").await;
        let first_day: NaiveDate = "2026-03-30".parse().unwrap();
        assert_eq!(tx.seed_synthetic_entries(&ada, None, first_day, 85).await.unwrap(), 85);
        assert_eq!(tx.seed_synthetic_entries(&ada, None, first_day, 0).await.unwrap(), 0);
        tx.commit().await.unwrap();

        let mut tx = ledger.read().await.unwrap();
        let rows: Vec<EntryRow> = tx.export_entries(spring()).map(|r| r.unwrap()).collect().await;
        assert_eq!(rows.len(), 85);
        let last = &rows[84];
        assert_eq!(rows[0].entry_id, "synthetic-000000000");
        assert_eq!(rows[0].started_at_utc, "2026-03-30T00:00:00Z");
        assert_eq!(rows[0].ended_at_utc.as_deref(), Some("2026-03-30T00:25:00Z"));
        assert_eq!(rows[0].notes.as_deref(), Some("synthetic entry 0, \"quoted\""));
        assert_eq!(rows[0].tags, "[\"bench\",\"synthetic\"]");
        assert_eq!(rows[41].started_at_utc, "2026-03-31T00:30:00Z");
        assert_eq!((last.entry_id.as_str(), last.work_date.as_str()), ("synthetic-000000084", "2026-04-01"));
        assert!(rows.iter().all(|r| r.duration_seconds == 1500 && !r.running));
        assert_eq!(
            tx.work_date_span().await.unwrap(),
            Some(("2026-03-30".to_owned(), "2026-04-01".to_owned()))
        );
        // 85 × 25 min = 35.4166… h.
        let hours = tx.hours_by_person_and_client().await.unwrap();
        assert_eq!(hours, [("Ada".to_owned(), "-".to_owned(), 35.42)]);
    }

    /// An empty ledger has no span, no totals and no health rows.
    #[tokio::test]
    async fn an_empty_ledger_reports_nothing() {
        let (_d, ledger) = ledger().await;
        let mut tx = ledger.read().await.unwrap();
        assert_eq!(tx.work_date_span().await.unwrap(), None);
        assert!(tx.report_totals(TotalsBy::Person, spring()).await.unwrap().is_empty());
        assert!(tx.sync_health().await.unwrap().is_empty());
        assert!(tx.hours_by_person_and_client().await.unwrap().is_empty());
    }

    /// A ledger whose views are older than this version names what it lacks: a view, and
    /// a later column of a view that is there.
    #[tokio::test]
    async fn missing_views_and_columns_are_named_on_every_backend() {
        let (_d, ledger) = ledger().await;
        let mut tx = ledger.write().await.unwrap();
        assert!(tx.missing_report_views().await.unwrap().is_empty());
        run_raw(&mut tx, "DROP VIEW report_deleted_entries").await;
        let cascade = match tx.backend {
            TxBackend::Sqlite(_) => "",
            TxBackend::Postgres(_) => " CASCADE",
        };
        run_raw(&mut tx, &format!("DROP VIEW report_time_entries{cascade}")).await;
        run_raw(&mut tx, "CREATE VIEW report_time_entries AS SELECT 'x' AS entry_id").await;
        let missing = tx.missing_report_views().await.unwrap();
        assert!(missing.contains(&"report_deleted_entries".to_owned()), "{missing:?}");
        let column = "report_time_entries.billable_amount_cents".to_owned();
        assert!(missing.contains(&column), "{missing:?}");
        assert!(!missing.contains(&"report_time_entries".to_owned()), "{missing:?}");
    }

    /// Sync health shows each instance's last run, its last error and its counts.
    #[tokio::test]
    async fn sync_health_shows_each_instance_on_every_backend() {
        let (_d, ledger) = ledger().await;
        let mut tx = ledger.write().await.unwrap();
        let counts = RunCounts::default();
        let ok = tx.start_run("tm", "both", at(3, 30, 9)).await.unwrap();
        tx.finish_run(ok, RunStatus::Ok, &counts, &[], at(3, 30, 10)).await.unwrap();
        let failed = tx.start_run("tt", "pull", at(3, 30, 9)).await.unwrap();
        let errors = ["first".to_owned(), "last".to_owned()];
        tx.finish_run(failed, RunStatus::Failed, &counts, &errors, at(3, 30, 10))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = ledger.read().await.unwrap();
        let health = tx.sync_health().await.unwrap();
        let rows: Vec<_> = health
            .iter()
            .map(|h| {
                let status = (h.last_run_status.as_deref(), h.last_run_last_error.as_deref());
                (h.provider.as_str(), status, h.runs, h.failed_runs, h.last_success_at.is_some())
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("tm", (Some("ok"), None), 1, 0, true),
                ("tt", (Some("failed"), Some("last")), 1, 1, false),
            ]
        );
        assert!(health[0].lag_seconds.is_some_and(|lag| lag > 0));
        assert_eq!(health[1].lag_seconds, None);
    }

    /// Runs left running are marked interrupted for one instance or for all; the recent
    /// runs of all instances come newest first; the totals count cycles per status.
    #[tokio::test]
    async fn interrupted_runs_and_totals_on_every_backend() {
        let (_d, ledger) = ledger().await;
        let mut tx = ledger.write().await.unwrap();
        let first = tx.start_run("tm", "both", at(3, 30, 9)).await.unwrap();
        let counts = RunCounts { pulled: 4, requests: 2, ..RunCounts::default() };
        tx.finish_run(first, RunStatus::Partial, &counts, &[], at(3, 30, 10)).await.unwrap();
        tx.start_run("tm", "both", at(3, 31, 9)).await.unwrap();
        tx.start_run("tt", "pull", at(3, 31, 9)).await.unwrap();
        assert_eq!(tx.mark_interrupted_runs(Some("tt"), at(3, 31, 11)).await.unwrap(), 1);
        assert_eq!(tx.mark_interrupted_runs(Some("tt"), at(3, 31, 11)).await.unwrap(), 0);
        assert_eq!(tx.mark_interrupted_runs(None, at(3, 31, 12)).await.unwrap(), 1);
        tx.commit().await.unwrap();

        let mut tx = ledger.read().await.unwrap();
        let runs = tx.recent_runs(None, 10).await.unwrap();
        let seen: Vec<_> = runs
            .iter()
            .map(|r| (r.provider.as_str(), r.status, r.finished_at))
            .collect();
        assert_eq!(
            seen,
            [
                ("tt", RunStatus::Interrupted, Some(at(3, 31, 11))),
                ("tm", RunStatus::Interrupted, Some(at(3, 31, 12))),
                ("tm", RunStatus::Partial, Some(at(3, 30, 10))),
            ]
        );
        assert_eq!(tx.recent_runs(None, 1).await.unwrap().len(), 1);
        let totals = tx.run_totals("tm").await.unwrap();
        let cycles = [("interrupted".to_owned(), 1), ("partial".to_owned(), 1)];
        assert_eq!(totals.cycles, cycles);
        assert_eq!((totals.counts.pulled, totals.counts.requests), (4, 2));
        assert_eq!(totals.last_success, Some(at(3, 30, 10)));
        assert_eq!(tx.run_totals("none").await.unwrap(), RunTotals::default());
    }
}
