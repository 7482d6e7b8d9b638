//! A TimeTracker-to-TimeTracker migration as an operator runs it (`--sync-once`, a pull
//! source and a push target), through the real adapters against two simulators of a 5.10
//! server: every date is brought, nothing is listed before the account's oldest entry, the
//! dry run shows the target's writes, lost answers to reference creates are settled within
//! the same cycle, and messages name entries in their own zone.

mod support;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use timeweave::ledger::RunStatus;
use timeweave::once::OnceOutcome;
use timeweave::sync::{CycleOptions, CycleReport, Engine, ProviderHandle};
use timeweave_contract::{
    Client, Kind, ListScope, Project, Record, RemoteId, Task, TimeEntry, Window,
};
use timeweave_simkit::{work_entry, Fault, SimulatorControl};
use timeweave_testsupport::list_all;
use timeweave_timetracker_sim::SimServer;

/// The admin user both simulators start with (the same e-mail: matched, never pushed).
const ADMIN: &str = "1";

struct Migration {
    _dir: tempfile::TempDir,
    source: SimServer,
    target: Arc<SimServer>,
    engine: Engine,
    /// Source first, target second.
    handles: Vec<ProviderHandle>,
}

impl Migration {
    async fn new() -> Migration {
        let source = SimServer::start(Default::default()).await;
        let target = Arc::new(SimServer::start(Default::default()).await);
        for sim in [&source, &*target] {
            sim.set_rate_limiting(false);
        }
        let dir = tempfile::tempdir().unwrap();
        let toml = format!(
            "[ledger]\npath = {:?}\n{}{}",
            dir.path().join("ledger.db").display().to_string(),
            timeweave::demo::simulator_section(
                "source",
                &source,
                "mode = \"pull\"\n",
                "per_second = 200"
            ),
            timeweave::demo::simulator_section(
                "target",
                &*target,
                // A lost answer is not retried by the transport, so each fault below is one
                // lost request.
                "mode = \"push\"\nmax_retries = 0\n",
                "per_second = 200",
            ),
        );
        let (engine, handles) =
            support::engine_from_config(dir.path(), &toml, &["source", "target"]).await;
        Migration {
            _dir: dir,
            source,
            target,
            engine,
            handles,
        }
    }

    /// `timeweave --sync-once [--dry-run]`.
    async fn sync_once(&self, dry_run: bool) -> OnceOutcome {
        timeweave::once::run(self.engine.clone(), self.handles.clone(), dry_run, false)
            .await
            .unwrap()
    }

    /// One full cycle of one instance on `engine`.
    async fn cycle(&self, engine: &Engine, i: usize) -> CycleReport {
        let opts = CycleOptions {
            to_completion: true,
            dry_run: false,
        };
        engine.run_cycle(&self.handles[i], opts).await.unwrap()
    }

    /// Acme / Website / Build in the source.
    fn seed_references(&self) -> (RemoteId, RemoteId) {
        let client = self.source.add_client(&Client {
            name: "Acme".into(),
            email: Some("billing@acme.example".into()),
            notes: None,
            archived: false,
        });
        let project = self.source.add_project(&Project {
            client: Some(client),
            name: "Website".into(),
            billable: true,
            hourly_rate_cents: None,
            archived: false,
        });
        let task = self.source.add_task(&Task {
            project: project.clone(),
            name: "Build".into(),
            archived: false,
        });
        (project, task)
    }

    /// A 50-minute entry of the admin in the source.
    fn book(&self, project: &RemoteId, start: DateTime<Utc>, notes: &str) -> RemoteId {
        self.source.add_entry(&entry(project, start, notes))
    }

    /// The target holds the source's client, project and task once, and `entries` entries.
    fn assert_target_holds_each_once(&self, entries: usize) {
        for (kind, n) in [
            (Kind::Client, 1),
            (Kind::Project, 1),
            (Kind::Task, 1),
            (Kind::TimeEntry, entries),
        ] {
            assert_eq!(
                self.target.count(kind),
                n,
                "{kind} exactly once in the target"
            );
        }
    }

    /// The start of every entry instance `i` holds, through its adapter.
    async fn starts(&self, i: usize) -> Vec<DateTime<Utc>> {
        let everything = Window::new(
            Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap(),
        );
        let mut starts: Vec<_> = list_all(
            self.handles[i].provider.as_ref(),
            Kind::TimeEntry,
            ListScope::StartedIn(everything),
        )
        .await
        .into_iter()
        .filter_map(|r| match r.record {
            Record::TimeEntry(e) => Some(e.started_at),
            _ => None,
        })
        .collect();
        starts.sort();
        starts
    }
}

fn entry(project: &RemoteId, start: DateTime<Utc>, notes: &str) -> TimeEntry<RemoteId> {
    work_entry(&RemoteId(ADMIN.into()), Some(project), start, 50, notes)
}

/// Midnight UTC `days` from today (negative: in the past), plus `hour`.
fn day(days: i64, hour: i64) -> DateTime<Utc> {
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    today + Duration::days(days) + Duration::hours(hour)
}

/// Plan lines that start with `prefix`.
fn planned(plan: &[String], prefix: &str) -> usize {
    plan.iter().filter(|l| l.starts_with(prefix)).count()
}

fn report<'a>(outcome: &'a OnceOutcome, provider: &str) -> &'a CycleReport {
    outcome
        .reports
        .iter()
        .find(|r| r.provider == provider)
        .unwrap_or_else(|| panic!("no report of {provider}"))
}

#[tokio::test]
async fn a_migration_brings_every_date_and_lists_nothing_before_the_oldest_entry() {
    let m = Migration::new().await;
    let (project, _) = m.seed_references();
    m.book(&project, day(-1, 9), "yesterday");
    m.book(&project, day(-3, 9), "three days ago");

    let first = m.sync_once(false).await;
    assert!(first.clean(), "{}", first.summary());
    // Connect, the four reference listings, where the entries lie, the hot window: no
    // empty 30-day slices back to the configured horizon (2015: ~140 requests).
    let requests = report(&first, "source").counts.requests;
    assert!(
        requests <= 15,
        "the source took {requests} requests for two recent entries:\n{}",
        first.summary()
    );

    // Planned 14 months ahead, back-filled five years back and before the horizon.
    for (days, notes) in [
        (425, "next year"),
        (-5 * 365, "five years ago"),
        (-12 * 365, "before 2015"),
    ] {
        m.book(&project, day(days, 9), notes);
    }
    let second = m.sync_once(false).await;
    assert!(second.clean(), "{}", second.summary());
    let source = m.starts(0).await;
    assert_eq!(source.len(), 5);
    assert_eq!(
        m.starts(1).await,
        source,
        "the target holds every entry of every date"
    );
}

timeweave::on_both_backends! {
#[tokio::test]
async fn the_dry_run_of_a_migration_plans_the_targets_writes() {
    let m = Migration::new().await;
    let (project, task) = m.seed_references();
    let mut with_task = entry(&project, day(-2, 8), "with a task");
    with_task.task = Some(task);
    m.source.add_entry(&with_task);
    let edited = m.book(&project, day(-4, 8), "to be edited");
    let deleted = m.book(&project, day(-6, 8), "to be deleted");
    // An entry whose wall-clock time is known: 08:00 UTC is 09:00 in Rome in November.
    let start = Utc.with_ymd_and_hms(2025, 11, 21, 8, 0, 0).unwrap();
    let mut morning = entry(&project, start, "a November morning");
    morning.ended_at = Some(start + Duration::hours(3));
    morning.duration_seconds = Some(3 * 3600);
    m.source.add_entry(&morning);

    let dry = m.sync_once(true).await;
    assert!(dry.clean(), "{}", dry.summary());
    let plan = &report(&dry, "target").plan;
    let count = |prefix: &str| planned(plan, prefix);
    assert_eq!(count("create client 'Acme'"), 1, "{plan:#?}");
    assert_eq!(count("create project 'Website'"), 1, "{plan:#?}");
    assert_eq!(count("create task 'Build'"), 1, "{plan:#?}");
    assert_eq!(count("create time_entry"), 4, "{plan:#?}");
    assert!(
        plan.iter()
            .any(|l| l.contains("'2025-11-21 09:00–12:00 Europe/Rome'")),
        "an entry is named by its wall-clock time in its zone: {plan:#?}"
    );
    assert_eq!(
        m.target.count(Kind::TimeEntry),
        0,
        "the dry run wrote nothing"
    );
    let mut tx = m.engine.ledger().read().await.unwrap();
    assert_eq!(tx.count_live(Kind::TimeEntry).await.unwrap(), 0);
    drop(tx);

    let real = m.sync_once(false).await;
    assert!(real.clean(), "{}", real.summary());
    assert_eq!(m.target.count(Kind::TimeEntry), 4);

    let mut changed = entry(&project, day(-4, 8), "edited in the source");
    changed.task = None;
    assert!(m.source.edit(&edited, &Record::TimeEntry(changed)));
    assert!(m.source.remove(Kind::TimeEntry, &deleted));
    let writes = m.target.write_requests();
    let dry = m.sync_once(true).await;
    assert!(dry.clean(), "{}", dry.summary());
    let plan = &report(&dry, "target").plan;
    let count = |prefix: &str| planned(plan, prefix);
    assert_eq!(count("update time_entry"), 1, "{plan:#?}");
    assert_eq!(count("delete time_entry"), 1, "{plan:#?}");
    assert_eq!(count("create"), 0, "{plan:#?}");
    assert_eq!(
        m.target.count(Kind::TimeEntry),
        4,
        "the dry run wrote nothing"
    );
    assert_eq!(m.target.write_requests(), writes, "no write was sent");
}
}

/// Runs the source, then the target with `fault` served `per_reference` times on each of
/// the target's first three writes (its client, project and task creates).
async fn migrate_losing_reference_answers(
    fault: Fault,
    per_reference: u32,
) -> (Migration, CycleReport) {
    let m = Migration::new().await;
    let (project, _) = m.seed_references();
    for d in 1..=6 {
        m.book(&project, day(-d, 9), &format!("day {d}"));
    }
    let source = m.cycle(&m.engine, 0).await;
    assert!(source.is_clean(), "{:?}", source.errors);

    let armed = Arc::new(AtomicU32::new(0));
    let hook = {
        let (armed, target) = (armed.clone(), m.target.clone());
        Arc::new(move |p: &timeweave::sync::Progress<'_>| {
            let first_three = armed.load(Ordering::SeqCst) < 3;
            if p.provider == "target" && p.phase == "pushing" && first_three {
                armed.fetch_add(1, Ordering::SeqCst);
                target.inject_faults(fault, per_reference);
            }
        })
    };
    let engine = m.engine.clone().with_progress(hook);
    let report = m.cycle(&engine, 1).await;
    assert_eq!(
        armed.load(Ordering::SeqCst),
        3,
        "three reference creates were armed"
    );
    (m, report)
}

#[tokio::test]
async fn lost_answers_to_reference_creates_are_settled_within_the_cycle() {
    let (m, report) = migrate_losing_reference_answers(Fault::LoseResponse, 1).await;
    assert_eq!(report.status, RunStatus::Ok, "{:?}", report.errors);
    assert_eq!(report.counts.skipped, 0);
    m.assert_target_holds_each_once(6);
    assert_eq!(m.starts(1).await, m.starts(0).await);
}

#[tokio::test]
async fn a_create_that_never_arrived_is_sent_again_within_the_cycle() {
    // The connection drops before the server acts: the lookup finds nothing, so the create
    // is sent once more.
    let (m, report) = migrate_losing_reference_answers(Fault::ConnectionReset, 1).await;
    assert_eq!(report.status, RunStatus::Ok, "{:?}", report.errors);
    m.assert_target_holds_each_once(6);
}

#[tokio::test]
async fn a_lost_answer_that_cannot_be_looked_up_waits_for_the_next_run() {
    // The lookup's answer is lost too: the outcome stays unknown, what depends on the
    // record waits, and the next run settles it without a duplicate.
    let (m, report) = migrate_losing_reference_answers(Fault::LoseResponse, 2).await;
    assert_eq!(report.status, RunStatus::Partial);
    assert!(
        report.errors.iter().any(|e| e.contains("outcome unknown")),
        "{:?}",
        report.errors
    );
    m.target.clear_faults();
    let next = m.sync_once(false).await;
    assert!(next.clean(), "{}", next.summary());
    m.assert_target_holds_each_once(6);
}
