//! The engine between two TimeTracker simulators (defaults: a real v5.10 server on SQLite):
//! what only a TimeTracker-to-TimeTracker sync meets, such as a task delete, which gives the
//! task's entries a new `updated_at` on the server that receives it, and a token without
//! admin rights, which lists none of the projects its user books on.

mod support;
use chrono::{Duration, DurationRound, Utc};
use timeweave::config::{self, Environment, PathOrigin};
use timeweave::sync::{CycleOptions, CycleReport, Engine, ProviderHandle};
use timeweave_contract::{Client, Kind, ListScope, Person, Project, Record, RemoteId, Task};
use timeweave_simkit::{work_entry, SimulatorControl};
use timeweave_testsupport::list_all;
use timeweave_timetracker_sim::{SimOptions, SimServer};

const NAMES: [&str; 2] = ["source", "target"];

struct Env {
    _dir: tempfile::TempDir,
    sims: [SimServer; 2],
    engine: Engine,
    handles: Vec<ProviderHandle>,
}

impl Env {
    async fn new() -> Env {
        let sims = [
            SimServer::start(SimOptions::default()).await,
            SimServer::start(SimOptions::default()).await,
        ];
        for sim in &sims {
            sim.freeze_clock(Utc::now());
        }
        let dir = tempfile::tempdir().unwrap();
        let toml = {
            let listed: Vec<(&str, &str, &dyn SimulatorControl)> = sims
                .iter()
                .zip(NAMES)
                .map(|(s, n)| {
                    s.set_rate_limiting(false);
                    (n, "timetracker", s as &dyn SimulatorControl)
                })
                .collect();
            timeweave::demo::config_for_simulators(dir.path(), &listed)
        };
        let (engine, handles) = support::engine_from_config(dir.path(), &toml, &NAMES).await;
        Env {
            _dir: dir,
            sims,
            engine,
            handles,
        }
    }

    async fn cycle(&self, i: usize) -> CycleReport {
        self.cycle_of(&self.handles[i]).await
    }

    /// One complete cycle of an instance on this ledger.
    async fn cycle_of(&self, handle: &ProviderHandle) -> CycleReport {
        let options = CycleOptions {
            to_completion: true,
            dry_run: false,
        };
        self.engine.run_cycle(handle, options).await.unwrap()
    }

    /// A round over both instances; every cycle must be clean. The servers' clocks move
    /// on 10 s before each cycle, past their 2 s `if_updated_at` tolerance.
    async fn clean_round(&self) {
        for i in 0..2 {
            for sim in &self.sims {
                sim.advance_clock(Duration::seconds(10));
            }
            let r = self.cycle(i).await;
            assert!(r.errors.is_empty(), "{}: {:?}", r.provider, r.errors);
            assert!(r.warnings.is_empty(), "{}: {:?}", r.provider, r.warnings);
        }
    }

    /// The id and record of the task named `name` on instance `i`.
    async fn task_named(&self, i: usize, name: &str) -> (RemoteId, Record<RemoteId>) {
        let provider = self.handles[i].provider.as_ref();
        list_all(provider, Kind::Task, ListScope::All)
            .await
            .into_iter()
            .find(|r| matches!(&r.record, Record::Task(t) if t.name == name))
            .map(|r| (r.id, r.record))
            .unwrap()
    }

    async fn listed(&self, i: usize, kind: Kind, scope: ListScope) -> Vec<Record<RemoteId>> {
        let provider = self.handles[i].provider.as_ref();
        let records = list_all(provider, kind, scope).await;
        records.into_iter().map(|r| r.record).collect()
    }
}

/// Ada, on both servers (matched by e-mail): her id on each.
fn seed_ada(env: &Env) -> Vec<RemoteId> {
    env.sims
        .iter()
        .map(|sim| {
            sim.add_person(&Person {
                display_name: "Ada Lovelace".into(),
                email: Some("ada@example.com".into()),
                username: Some("ada".into()),
            })
        })
        .collect()
}

/// A client `Acme` (with `email` and `notes`) and its project `Website` on `sim`.
fn seed_project(sim: &SimServer, email: Option<&str>, notes: Option<&str>) -> (RemoteId, RemoteId) {
    let client = sim.add_client(&Client {
        name: "Acme".into(),
        email: email.map(str::to_owned),
        notes: notes.map(str::to_owned),
        archived: false,
    });
    let project = sim.add_project(&Project {
        client: Some(client.clone()),
        name: "Website".into(),
        billable: true,
        hourly_rate_cents: None,
        archived: false,
    });
    (client, project)
}

fn day(days_ago: i64) -> chrono::DateTime<Utc> {
    (Utc::now() - Duration::days(days_ago))
        .duration_trunc(Duration::days(1))
        .unwrap()
}

#[tokio::test]
async fn a_propagated_task_delete_completes_without_stale_versions() {
    let env = Env::new().await;
    let source = &env.sims[0];
    let people = seed_ada(&env);
    let ada = people[0].clone();
    let (_, project) = seed_project(source, None, None);
    let task = source.add_task(&Task {
        project: project.clone(),
        name: "Design".into(),
        archived: false,
    });
    for d in 1..4 {
        let mut e = work_entry(
            &ada,
            Some(&project),
            day(d) + Duration::hours(9),
            50,
            "on it",
        );
        e.task = Some(task.clone());
        source.add_entry(&e);
    }
    env.clean_round().await;
    env.clean_round().await;
    assert_eq!(env.sims[1].count(Kind::Task), 1);

    assert!(source.remove(Kind::Task, &task));
    env.clean_round().await;
    env.clean_round().await;

    assert_eq!(
        env.sims[1].count(Kind::Task),
        0,
        "the delete reached the target"
    );
    let window = timeweave_contract::Window::new(day(30), day(-1));
    let entries = env
        .listed(1, Kind::TimeEntry, ListScope::StartedIn(window))
        .await;
    assert_eq!(entries.len(), 3);
    assert!(entries
        .iter()
        .all(|r| matches!(r, Record::TimeEntry(e) if e.task.is_none())));
    let mut tx = env.engine.ledger().read().await.unwrap();
    assert_eq!(tx.count_open_conflicts(None).await.unwrap(), 0);
}

/// A token without admin rights lists only what its user created, yet its user books on an
/// admin's project and client: a pull imports exactly that user's entries, with the project
/// and the client they book on.
#[tokio::test]
async fn a_non_admin_token_imports_its_users_entries_with_their_references() {
    let env = Env::new().await;
    let source = &env.sims[0];
    let bob = source.add_user("bob", Some("bob@example.com"), Some("Bob"), "user");
    let bob_token = source.add_token(bob, &["read:*", "write:*"]);
    let ada = source.add_person(&Person {
        display_name: "Ada".into(),
        email: Some("ada@example.com".into()),
        username: Some("ada".into()),
    });
    let (client, project) = seed_project(source, None, None);
    let bob = RemoteId::from(bob);
    for d in 1..4 {
        source.add_entry(&work_entry(
            &bob,
            Some(&project),
            day(d) + Duration::hours(9),
            50,
            "bob",
        ));
        source.add_entry(&work_entry(
            &ada,
            Some(&project),
            day(d) + Duration::hours(9),
            50,
            "ada",
        ));
    }
    let mut direct = work_entry(&bob, None, day(5) + Duration::hours(9), 50, "bob, direct");
    direct.client = Some(client);
    source.add_entry(&direct);

    let handle = bob_handle(&env, &bob_token);
    let report = env.cycle_of(&handle).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.counts.skipped, 0, "nothing skipped");
    let mut tx = env.engine.ledger().read().await.unwrap();
    assert_eq!(
        tx.count_live(Kind::TimeEntry).await.unwrap(),
        4,
        "bob's four entries"
    );
    assert_eq!(tx.count_live(Kind::Project).await.unwrap(), 1);
    assert_eq!(tx.count_live(Kind::Client).await.unwrap(), 1);
    drop(tx);
    // The next cycle confirms them by id and changes nothing.
    let again = env.cycle_of(&handle).await;
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    let mut tx = env.engine.ledger().read().await.unwrap();
    assert_eq!(tx.count_live(Kind::Project).await.unwrap(), 1);
    assert_eq!(tx.count_live(Kind::Client).await.unwrap(), 1);
    assert_eq!(tx.count_live(Kind::TimeEntry).await.unwrap(), 4);
}

/// The source instance, read through `token` instead of the admin's, in pull mode.
fn bob_handle(env: &Env, token: &str) -> ProviderHandle {
    let sim = &env.sims[0];
    let section =
        timeweave::demo::simulator_section("bob", sim, "mode = \"pull\"\n", "per_second = 200");
    let section = section.replace(&sim.admin_token(), token);
    let dir = env._dir.path();
    let path = dir.join("bob.toml");
    let toml = format!(
        "[ledger]\npath = {:?}\n{section}",
        dir.join("ledger.db").display().to_string()
    );
    std::fs::write(&path, toml).unwrap();
    let cfg = config::load_file(&path, PathOrigin::Flag, &Environment::empty()).unwrap();
    timeweave::registry::build(&cfg.providers["bob"]).unwrap()
}

/// A running timer cannot be created through the API: the target records why, once, and
/// gets the entry when the timer stops. A stopped timer a few seconds long, with
/// fractional-second times, goes like any entry.
#[tokio::test]
async fn a_running_timer_waits_with_its_reason_and_goes_when_stopped() {
    let env = Env::new().await;
    let people = seed_ada(&env);
    let source = &env.sims[0];
    let (_, project) = seed_project(source, None, None);
    let started = day(1) + Duration::hours(9) + Duration::microseconds(939_315);
    let mut timer = work_entry(&people[0], Some(&project), started, 1, "timer run");
    timer.ended_at = None;
    timer.duration_seconds = None;
    let running = source.add_entry(&timer);
    let short_start = day(2) + Duration::hours(9) + Duration::microseconds(250_000);
    let mut short = work_entry(&people[0], Some(&project), short_start, 1, "short timer");
    short.ended_at = Some(short_start + Duration::milliseconds(3_400));
    short.duration_seconds = Some(3);
    source.add_entry(&short);

    let mut skipped = Vec::new();
    for _ in 0..2 {
        for i in 0..2 {
            let r = env.cycle(i).await;
            assert!(r.errors.is_empty(), "{}: {:?}", r.provider, r.errors);
            skipped.push(r.counts.skipped);
        }
    }
    assert_eq!(skipped, [0, 1, 0, 0], "reported once, by the target");
    let mut tx = env.engine.ledger().read().await.unwrap();
    let issues = tx.issues(Some("target")).await.unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].reason.contains("running"), "{}", issues[0].reason);
    drop(tx);
    let window = timeweave_contract::Window::new(day(30), day(-1));
    let notes_of = |records: Vec<Record<RemoteId>>| -> Vec<String> {
        let mut v: Vec<String> = records
            .into_iter()
            .filter_map(|r| match r {
                Record::TimeEntry(e) => e.notes,
                _ => None,
            })
            .collect();
        v.sort();
        v
    };
    let on_target = env
        .listed(1, Kind::TimeEntry, ListScope::StartedIn(window))
        .await;
    assert_eq!(notes_of(on_target), ["short timer"]);

    // The timer stops, 3.4 s after it started.
    timer.ended_at = Some(started + Duration::milliseconds(3_400));
    assert!(source.edit(&running, &Record::TimeEntry(timer)));
    env.clean_round().await;
    env.clean_round().await;
    let on_target = env
        .listed(1, Kind::TimeEntry, ListScope::StartedIn(window))
        .await;
    assert_eq!(notes_of(on_target), ["short timer", "timer run"]);
    let mut tx = env.engine.ledger().read().await.unwrap();
    assert!(tx.issues(Some("target")).await.unwrap().is_empty());
    assert_eq!(tx.count_live(Kind::TimeEntry).await.unwrap(), 2);
}

/// A task's status and a client's e-mail travel to the other server; the client's
/// description (which API v1 cannot write, declared read-only) stays behind without being
/// sent again; a status reopened on the target travels back.
#[tokio::test]
async fn task_status_and_client_details_travel_and_settle() {
    let env = Env::new().await;
    let source = &env.sims[0];
    let (_, project) = seed_project(source, Some("billing@acme.example"), Some("Net 30"));
    for (name, archived) in [("Done", true), ("Open", false)] {
        source.add_task(&Task {
            project: project.clone(),
            name: name.into(),
            archived,
        });
    }
    env.clean_round().await;
    env.clean_round().await;
    let clients = env.listed(1, Kind::Client, ListScope::All).await;
    match clients.as_slice() {
        [Record::Client(c)] => {
            assert_eq!(c.email.as_deref(), Some("billing@acme.example"));
            assert_eq!(c.notes, None, "API v1 cannot set a client's description");
        }
        other => panic!("{other:?}"),
    }
    let mut tasks: Vec<(String, bool)> = env
        .listed(1, Kind::Task, ListScope::All)
        .await
        .into_iter()
        .filter_map(|r| match r {
            Record::Task(t) => Some((t.name, t.archived)),
            _ => None,
        })
        .collect();
    tasks.sort();
    assert_eq!(
        tasks,
        [("Done".to_owned(), true), ("Open".to_owned(), false)]
    );
    // Nothing re-diffs: a further round sends nothing anywhere.
    for i in 0..2 {
        let r = env.cycle(i).await;
        assert_eq!(
            (r.counts.pushed, r.counts.updated),
            (0, 0),
            "{}",
            r.provider
        );
    }
    // Reopened on the target, the task reopens on the source.
    let (done, reopened) = env.task_named(1, "Done").await;
    let Record::Task(mut reopened) = reopened else {
        unreachable!()
    };
    reopened.archived = false;
    assert!(env.sims[1].edit(&done, &Record::Task(reopened)));
    env.clean_round().await;
    env.clean_round().await;
    let (done, _) = env.task_named(0, "Done").await;
    let n: i64 = done.as_str().parse().unwrap();
    assert_eq!(source.task_json(n).unwrap()["status"], "todo");
}
