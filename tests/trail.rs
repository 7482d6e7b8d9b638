//! The engine and a provider's change trail (a TimeTracker simulator: its audit log): an
//! edit to an entry older than the hot window, and a delete, reach the ledger in the next
//! cycle; a trail that cannot prove it is complete sends the cycle back to its windows and
//! says so; a second `--sync-once` with nothing changed costs a handful of requests, and
//! `--full` lists everything again. On SQLite and on PostgreSQL.

mod support;

use chrono::{Duration, Utc};
use timeweave::sync::{CycleOptions, CycleReport, Engine, ProviderHandle};
use timeweave_contract::{Kind, Person, Record, RemoteId, TimeEntry};
use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::records;
use timeweave_timetracker_sim::{SimOptions, SimServer};

struct Env {
    _dir: tempfile::TempDir,
    sim: SimServer,
    engine: Engine,
    handle: ProviderHandle,
    project: RemoteId,
}

const MIGRATION: CycleOptions = CycleOptions {
    to_completion: true,
    dry_run: false,
};
const SCHEDULED: CycleOptions = CycleOptions {
    to_completion: false,
    dry_run: false,
};

impl Env {
    async fn new() -> Env {
        let sim = SimServer::start(SimOptions::default()).await;
        sim.set_rate_limiting(false);
        let dir = tempfile::tempdir().unwrap();
        let toml = timeweave::demo::config_for_simulators(
            dir.path(),
            &[("tt", "timetracker", &sim as &dyn SimulatorControl)],
        );
        let (engine, mut handles) = support::engine_from_config(dir.path(), &toml, &["tt"]).await;
        let (_, project) = records::seed_project(&sim, "Acme", "Web", None);
        Env {
            _dir: dir,
            sim,
            engine,
            handle: handles.remove(0),
            project,
        }
    }

    fn entry(&self, days_ago: i64, notes: &str) -> TimeEntry<RemoteId> {
        let start = (Utc::now() - Duration::days(days_ago))
            .date_naive()
            .and_hms_opt(9, 0, 0)
            .unwrap()
            .and_utc();
        TimeEntry {
            person: RemoteId::from(1),
            project: Some(self.project.clone()),
            client: None,
            task: None,
            started_at: start,
            ended_at: Some(start + Duration::hours(1)),
            break_seconds: 0,
            duration_seconds: Some(3600),
            source_tz: None,
            notes: Some(notes.into()),
            tags: Default::default(),
            billable: true,
            kind: Default::default(),
        }
    }

    /// Two years of history, one entry a week, and one this week.
    fn seed_history(&self) -> Vec<RemoteId> {
        (0..105)
            .map(|w| {
                self.sim
                    .add_entry(&self.entry(7 * w + 1, &format!("week {w}")))
            })
            .collect()
    }

    async fn cycle(&self, engine: &Engine, opts: CycleOptions) -> CycleReport {
        let r = engine.run_cycle(&self.handle, opts).await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        r
    }

    /// The ledger's notes of the entry `id`, and whether it is live.
    async fn ledger_entry(&self, id: &RemoteId) -> Option<(Option<String>, bool)> {
        let mut tx = self.engine.ledger().read().await.unwrap();
        let link = tx
            .link_by_remote("tt", Kind::TimeEntry, id)
            .await
            .unwrap()?;
        let rec = tx
            .get_record(Kind::TimeEntry, &link.canonical_id)
            .await
            .unwrap()?;
        let notes = match &rec.record {
            Record::TimeEntry(e) => e.notes.clone(),
            _ => None,
        };
        Some((notes, rec.is_live()))
    }
}

// Each test runs on both backends (`NAME::sqlite`, `NAME::postgres`).
timeweave::on_both_backends! {
#[tokio::test]
async fn an_old_edit_and_a_delete_reach_the_ledger_in_the_next_scheduled_cycle() {
    let env = Env::new().await;
    let ids = env.seed_history();
    env.cycle(&env.engine, MIGRATION).await;
    env.cycle(&env.engine, SCHEDULED).await;

    let (old, gone) = (&ids[100], &ids[90]); // about 700 and 630 days ago
    assert!(env.sim.edit(
        old,
        &Record::TimeEntry(env.entry(701, "edited two years on"))
    ));
    assert!(env.sim.remove(Kind::TimeEntry, gone));
    let r = env.cycle(&env.engine, SCHEDULED).await;
    assert_eq!(
        env.ledger_entry(old).await,
        Some((Some("edited two years on".into()), true))
    );
    assert_eq!(
        env.ledger_entry(gone).await.map(|(_, live)| live),
        Some(false)
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(
        r.counts.requests <= 8,
        "connect, the trail, the edited entry, the delete's check: {} requests",
        r.counts.requests
    );
}

#[tokio::test]
async fn two_people_swapping_addresses_land_together_by_the_trail() {
    let env = Env::new().await;
    let person = |name: &str, email: &str| Person {
        display_name: name.into(),
        email: Some(email.into()),
        username: Some(name.to_lowercase()),
    };
    let ada = env.sim.add_person(&person("Ada", "ada@example.com"));
    let bob = env.sim.add_person(&person("Bob", "bob@example.com"));
    env.cycle(&env.engine, MIGRATION).await;
    env.cycle(&env.engine, SCHEDULED).await;
    // The mailboxes are renamed: the audit log names both, and no listing runs.
    assert!(env.sim.edit(&ada, &Record::Person(person("Ada", "bob@example.com"))));
    assert!(env.sim.edit(&bob, &Record::Person(person("Bob", "ada@example.com"))));
    // Whether a listing of people reported progress (only listings do, after each batch).
    let people_listed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hook = {
        let listed = people_listed.clone();
        std::sync::Arc::new(move |p: &timeweave::sync::Progress<'_>| {
            if p.phase == Kind::Person.as_str() {
                listed.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    let r = env
        .cycle(&env.engine.clone().with_progress(hook), SCHEDULED)
        .await;
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(
        !people_listed.load(std::sync::atomic::Ordering::SeqCst),
        "the trail applied them, not a listing"
    );
    assert_eq!(r.counts.pulled, 2, "{:?}", r.counts);
    assert!(
        r.counts.requests <= 5,
        "connect (2), the trail, the two renamed people: {} requests",
        r.counts.requests
    );
    let mut tx = env.engine.ledger().read().await.unwrap();
    for (id, email) in [(&ada, "bob@example.com"), (&bob, "ada@example.com")] {
        let link = tx.link_by_remote("tt", Kind::Person, id).await.unwrap().unwrap();
        let holder = tx.live_person_with_email(email).await.unwrap();
        assert_eq!(holder, Some(link.canonical_id), "{email}");
    }
    let issues = tx.issues(Some("tt")).await.unwrap();
    assert!(issues.is_empty(), "{issues:?}");
}

#[tokio::test]
async fn a_trail_that_cannot_prove_it_is_complete_falls_back_to_windows_and_says_so() {
    let env = Env::new().await;
    env.seed_history();
    env.cycle(&env.engine, MIGRATION).await;
    // An entry two years back that no trail records (restored with a database), and more
    // changes than one read of the audit log returns.
    let day = (Utc::now() - Duration::days(720)).date_naive();
    let at = |h| day.and_hms_opt(h, 0, 0).unwrap();
    let project = env.project.as_str().parse().unwrap();
    let silent = env
        .sim
        .seed_entries_local(project, [(1, at(7), at(8), "silent".to_owned())]);
    for i in 0..501 {
        env.sim
            .add_entry(&env.entry(3 + i % 20, &format!("burst {i}")));
    }
    let r = env.cycle(&env.engine, MIGRATION).await;
    assert!(
        r.warnings.iter().any(
            |w| w.contains("cannot prove it holds every change") && w.contains("more than 500")
        ),
        "{:?}",
        r.warnings
    );
    let silent = RemoteId::from(silent[0]);
    assert_eq!(
        env.ledger_entry(&silent).await,
        Some((Some("silent".into()), true)),
        "the windows (the whole history, in a migration) found what the trail did not"
    );
    let mut tx = env.engine.ledger().read().await.unwrap();
    let mark = tx.trail_mark("tt").await.unwrap().unwrap();
    assert!(
        mark.last_gap.unwrap().contains("more than 500"),
        "status shows it"
    );
}

#[tokio::test]
async fn a_second_sync_once_with_nothing_changed_costs_a_handful_of_requests() {
    let env = Env::new().await;
    env.seed_history();
    let first = env.cycle(&env.engine, MIGRATION).await;
    assert!(first.counts.requests > 10, "{}", first.counts.requests);
    let second = env.cycle(&env.engine, MIGRATION).await;
    assert!(
        second.counts.requests <= 5,
        "connect (2) and the trail: {} requests",
        second.counts.requests
    );
    // `--full`: every listing again, the deep scan to the end.
    let full = env.engine.clone().with_full_listings();
    let again = env.cycle(&full, MIGRATION).await;
    assert!(
        again.counts.requests >= first.counts.requests - 2,
        "{} vs {}",
        again.counts.requests,
        first.counts.requests
    );
}
}
