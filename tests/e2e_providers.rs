//! The engine against the three real simulators on loopback, through real adapters and a
//! generated config file: data created in each provider reaches the other two, edits and
//! deletes propagate (or not), conflicting edits settle by each policy, a pull -> push
//! migration copies exactly once, renames are followed, and shared data is linked.

// Provider indices address three parallel collections (simulators, handles, names).
#![allow(clippy::needless_range_loop)]

mod support;
use chrono::{Duration, DurationRound, Utc};
use timeweave::sync::{CycleOptions, Engine, ProviderHandle};
use timeweave_contract::{
    Client, Kind, ListScope, Person, Project, Record, RemoteId, RemoteRecord, TimeEntry, Window,
};
use timeweave_simkit::{work_entry, SimulatorControl};
use timeweave_testsupport::list_all;

struct Env {
    _dir: tempfile::TempDir,
    tt: timeweave_timetrack_sim::SimServer,
    tg: timeweave_trackingtime_sim::SimServer,
    tm: std::sync::Arc<timeweave_timetracker_sim::SimServer>,
    engine: Engine,
    handles: Vec<ProviderHandle>,
}

const NAMES: [&str; 3] = ["timetrack", "trackingtime", "timetracker"];

impl Env {
    async fn new(extra: &str) -> Env {
        Env::with_trackingtime(extra, Default::default()).await
    }

    async fn with_trackingtime(
        extra: &str,
        trackingtime: timeweave_trackingtime_sim::SimOptions,
    ) -> Env {
        let tt = timeweave_timetrack_sim::SimServer::start(Default::default()).await;
        let tg = timeweave_trackingtime_sim::SimServer::start(trackingtime)
            .await
            .unwrap();
        let tm = std::sync::Arc::new(
            timeweave_timetracker_sim::SimServer::start(Default::default()).await,
        );
        let dir = tempfile::tempdir().unwrap();
        let toml = {
            let sims: [(&str, &str, &dyn SimulatorControl); 3] = [
                (NAMES[0], NAMES[0], &tt),
                (NAMES[1], NAMES[1], &tg),
                (NAMES[2], NAMES[2], &*tm),
            ];
            for (_, _, s) in &sims {
                s.set_rate_limiting(false);
            }
            timeweave::demo::config_for_simulators(dir.path(), &sims)
        };
        let (engine, handles) =
            support::engine_from_config(dir.path(), &patch(&toml, extra), &NAMES).await;
        Env {
            _dir: dir,
            tt,
            tg,
            tm,
            engine,
            handles,
        }
    }

    fn sim(&self, i: usize) -> &dyn SimulatorControl {
        match i {
            0 => &self.tt,
            1 => &self.tg,
            _ => &*self.tm,
        }
    }

    async fn cycle(&self, i: usize) -> timeweave::sync::CycleReport {
        self.cycle_with(&self.engine, i).await
    }

    async fn cycle_with(&self, engine: &Engine, i: usize) -> timeweave::sync::CycleReport {
        engine
            .run_cycle(
                &self.handles[i],
                CycleOptions {
                    to_completion: true,
                    dry_run: false,
                },
            )
            .await
            .unwrap()
    }

    /// `n` rounds over every provider; every cycle must be clean.
    async fn rounds(&self, n: usize) {
        for _ in 0..n {
            for i in 0..3 {
                let r = self.cycle(i).await;
                assert!(r.errors.is_empty(), "{}: {:?}", r.provider, r.errors);
                assert!(r.warnings.is_empty(), "{}: {:?}", r.provider, r.warnings);
            }
        }
    }

    /// Every entry provider `i` holds (400 days back to 30 ahead), through its adapter.
    async fn listed(&self, i: usize) -> Vec<RemoteRecord> {
        list_all(
            self.handles[i].provider.as_ref(),
            Kind::TimeEntry,
            ListScope::StartedIn(Window::new(day(400), day(-30))),
        )
        .await
    }

    /// (start, notes) of every entry a provider holds, through its adapter.
    async fn entries(&self, i: usize) -> Vec<(String, String)> {
        let mut v: Vec<_> = self
            .listed(i)
            .await
            .into_iter()
            .map(|r| match r.record {
                Record::TimeEntry(e) => (e.started_at.to_rfc3339(), e.notes.unwrap_or_default()),
                _ => unreachable!(),
            })
            .collect();
        v.sort();
        v
    }

    /// Every provider's first entry carries `notes`.
    async fn assert_first_entry_notes(&self, notes: &str) {
        for i in 0..3 {
            assert_eq!(self.entries(i).await[0].1, notes, "{}", NAMES[i]);
        }
    }

    async fn assert_converged(&self, expected: usize) {
        let first = self.entries(0).await;
        assert_eq!(first.len(), expected, "{first:?}");
        for i in 1..3 {
            assert_eq!(
                self.entries(i).await,
                first,
                "{} differs from {}",
                NAMES[i],
                NAMES[0]
            );
        }
        let mut tx = self.engine.ledger().read().await.unwrap();
        assert_eq!(
            tx.count_live(Kind::TimeEntry).await.unwrap(),
            expected as i64
        );
    }
}

/// Applies `[providers.X] key = value` style overrides: lines "section|key = value".
fn patch(toml: &str, extra: &str) -> String {
    let mut out = toml.to_owned();
    for line in extra.lines().filter(|l| !l.trim().is_empty()) {
        let (section, kv) = line.split_once('|').expect("section|key = value");
        let header = format!("[{section}]\n");
        match out.find(&header) {
            Some(at) => out.insert_str(at + header.len(), &format!("{kv}\n")),
            None => out.push_str(&format!("\n{header}{kv}\n")),
        }
    }
    out
}

#[derive(Clone)]
struct Refs {
    person: RemoteId,
    project: RemoteId,
}

fn seed_people(sim: &dyn SimulatorControl) -> RemoteId {
    sim.add_person(&Person {
        display_name: "Ada Lovelace".into(),
        email: Some("ada@example.com".into()),
        username: Some("ada".into()),
    })
}

fn seed_project(sim: &dyn SimulatorControl, client: &str, project: &str) -> Refs {
    let person = seed_people(sim);
    let client = sim.add_client(&Client {
        name: client.into(),
        email: None,
        notes: None,
        archived: false,
    });
    let project = sim.add_project(&Project {
        client: Some(client),
        name: project.into(),
        billable: true,
        hourly_rate_cents: None,
        archived: false,
    });
    Refs { person, project }
}

fn day(days_ago: i64) -> chrono::DateTime<Utc> {
    (Utc::now() - Duration::days(days_ago))
        .duration_trunc(Duration::days(1))
        .unwrap()
}

fn entry(r: &Refs, days_ago: i64, hour: i64, notes: &str) -> TimeEntry<RemoteId> {
    work_entry(
        &r.person,
        Some(&r.project),
        day(days_ago) + Duration::hours(hour),
        50,
        notes,
    )
}

/// Every provider gets its own project and three entries, at hours that never overlap.
async fn seeded() -> (Env, Vec<Vec<RemoteId>>) {
    let env = Env::new("").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = seed_project(env.sim(i), "Acme", &format!("Project {i}"));
        ids.push(
            (0..3)
                .map(|d| {
                    env.sim(i).add_entry(&entry(
                        &r,
                        d + 1,
                        8 + 2 * i as i64,
                        &format!("{} day {d}", NAMES[i]),
                    ))
                })
                .collect(),
        );
    }
    (env, ids)
}

#[tokio::test]
async fn data_created_in_each_provider_reaches_the_other_two() {
    let (env, _) = seeded().await;
    env.rounds(2).await;
    env.assert_converged(9).await;
    for i in 0..3 {
        assert_eq!(
            env.sim(i).count(Kind::Project),
            3,
            "{}: every project, once",
            NAMES[i]
        );
        assert_eq!(
            env.sim(i).count(Kind::Client),
            1,
            "{}: one client, matched by name",
            NAMES[i]
        );
    }
    // A further round changes nothing.
    for i in 0..3 {
        let r = env.cycle(i).await;
        assert_eq!(
            (r.counts.created, r.counts.updated, r.counts.pushed),
            (0, 0, 0),
            "{}",
            NAMES[i]
        );
    }
}

#[tokio::test]
async fn an_edit_in_any_provider_propagates() {
    let (env, ids) = seeded().await;
    env.rounds(2).await;
    for (i, ids) in ids.iter().enumerate() {
        let id = &ids[0];
        let current = list_all(
            env.handles[i].provider.as_ref(),
            Kind::TimeEntry,
            ListScope::StartedIn(Window::new(day(3), day(-1))),
        )
        .await
        .into_iter()
        .find(|r| &r.id == id)
        .expect("listed");
        let mut rec = current.record.clone();
        if let Record::TimeEntry(e) = &mut rec {
            e.notes = Some(format!("edited in {}", NAMES[i]));
        }
        assert!(env.sim(i).edit(id, &rec));
        env.rounds(2).await;
        for j in 0..3 {
            assert!(
                env.entries(j)
                    .await
                    .iter()
                    .any(|(_, n)| *n == format!("edited in {}", NAMES[i])),
                "the edit in {} reached {}",
                NAMES[i],
                NAMES[j]
            );
        }
    }
    env.assert_converged(9).await;
}

#[tokio::test]
async fn a_delete_propagates() {
    let (env, ids) = seeded().await;
    env.rounds(2).await;
    assert!(env.sim(2).remove(Kind::TimeEntry, &ids[2][0]));
    env.rounds(2).await;
    env.assert_converged(8).await;
    assert!(env
        .entries(0)
        .await
        .iter()
        .all(|(_, n)| n != "timetracker day 0"));
}

#[tokio::test]
async fn a_delete_does_not_propagate_when_switched_off() {
    let env = Env::new("sync|propagate_deletes = false").await;
    let r = seed_project(env.sim(0), "Acme", "Website");
    let id = env.sim(0).add_entry(&entry(&r, 2, 9, "keep"));
    for i in 1..3 {
        seed_people(env.sim(i));
    }
    env.rounds(2).await;
    assert!(env.sim(0).remove(Kind::TimeEntry, &id));
    env.rounds(2).await;
    assert!(env.entries(0).await.is_empty());
    assert_eq!(env.entries(1).await.len(), 1, "trackingtime keeps its copy");
    assert_eq!(env.entries(2).await.len(), 1, "timetracker keeps its copy");
}

async fn conflict(policy_lines: &str) -> Env {
    let env = Env::new(policy_lines).await;
    let r = seed_project(env.sim(2), "Acme", "Website");
    env.sim(2).add_entry(&entry(&r, 2, 9, "original"));
    seed_people(env.sim(1));
    seed_people(env.sim(0));
    env.rounds(2).await;
    // Edit the same entry in trackingtime and timetracker before either syncs again.
    for i in [2usize, 1] {
        let listed = list_all(
            env.handles[i].provider.as_ref(),
            Kind::TimeEntry,
            ListScope::StartedIn(Window::new(day(3), day(-1))),
        )
        .await;
        let mut rec = listed[0].record.clone();
        if let Record::TimeEntry(e) = &mut rec {
            e.notes = Some(format!("edited in {}", NAMES[i]));
        }
        assert!(env.sim(i).edit(&listed[0].id, &rec));
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    env
}

#[tokio::test]
async fn conflicting_edits_settle_by_newest() {
    let env = conflict("").await;
    env.rounds(2).await;
    // trackingtime's edit was made last.
    env.assert_first_entry_notes("edited in trackingtime").await;
}

#[tokio::test]
async fn conflicting_edits_settle_by_preference() {
    let env = conflict("sync|conflict_policy = \"prefer\"\nsync|prefer = [\"timetracker\", \"trackingtime\", \"timetrack\"]").await;
    env.rounds(2).await;
    env.assert_first_entry_notes("edited in timetracker").await;
}

#[tokio::test]
async fn conflicting_edits_wait_for_an_operator_when_manual() {
    let env = conflict("sync|conflict_policy = \"manual\"").await;
    env.rounds(2).await;
    let mut tx = env.engine.ledger().read().await.unwrap();
    let open = tx.conflicts(true).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    drop(tx);
    // The operator takes trackingtime's version; it then reaches everyone.
    let line = timeweave::conflicts::resolve(
        env.engine.ledger(),
        open[0].id,
        &timeweave::cli::ConflictSide::Provider(open[0].provider.clone()),
    )
    .await
    .unwrap();
    assert!(line.contains("settled"), "{line}");
    env.rounds(2).await;
    env.assert_first_entry_notes(&format!("edited in {}", open[0].provider))
        .await;
}

#[tokio::test]
async fn a_migration_copies_everything_exactly_once() {
    let env = Env::new("providers.timetracker|mode = \"pull\"\nproviders.trackingtime|mode = \"push\"\nproviders.timetrack|enabled = false").await;
    let r = seed_project(env.sim(2), "Acme", "Website");
    for d in [1, 5, 40, 100, 250] {
        env.sim(2)
            .add_entry(&entry(&r, d, 9, &format!("{d} days ago")));
    }
    seed_people(env.sim(1));
    let before_source = env.entries(2).await;
    for _ in 0..2 {
        for i in [2usize, 1] {
            let r = env.cycle(i).await;
            assert!(r.errors.is_empty(), "{:?}", r.errors);
        }
    }
    assert_eq!(
        env.entries(1).await,
        before_source,
        "the target holds the source's entries"
    );
    assert_eq!(env.sim(1).count(Kind::TimeEntry), 5, "exactly once");
    assert_eq!(
        env.entries(2).await,
        before_source,
        "the source is untouched"
    );
}

#[tokio::test]
async fn an_out_of_band_project_rename_is_followed() {
    let env = Env::new("").await;
    let r = seed_project(env.sim(2), "Acme", "Website");
    env.sim(2).add_entry(&entry(&r, 2, 9, "on the website"));
    seed_people(env.sim(0));
    seed_people(env.sim(1));
    env.rounds(2).await;
    assert!(env.sim(2).rename(Kind::Project, &r.project, "Website 2027"));
    env.rounds(2).await;
    for i in 0..3 {
        let names: Vec<String> = list_all(
            env.handles[i].provider.as_ref(),
            Kind::Project,
            ListScope::All,
        )
        .await
        .into_iter()
        .filter_map(|p| match p.record {
            Record::Project(p) => Some(p.name),
            _ => None,
        })
        .collect();
        assert_eq!(names, vec!["Website 2027".to_string()], "{}", NAMES[i]);
    }
    env.assert_converged(1).await;
}

#[tokio::test]
async fn providers_already_holding_the_same_entries_are_linked() {
    let env = Env::new("").await;
    for i in 0..3 {
        let r = seed_project(env.sim(i), "Acme", "Website");
        env.sim(i).add_entry(&entry(&r, 3, 10, "the same meeting"));
        env.sim(i).add_entry(&entry(
            &r,
            4,
            8 + 2 * i as i64,
            &format!("only in {}", NAMES[i]),
        ));
    }
    env.rounds(2).await;
    env.assert_converged(4).await;
}

/// A provider's newest entry by id (SQLite TimeTracker gives its id out again once it is
/// deleted), with its notes and references.
async fn newest_entry(env: &Env, i: usize) -> (RemoteId, String, Refs) {
    let newest = env
        .listed(i)
        .await
        .into_iter()
        .max_by_key(|r| r.id.as_str().parse::<i64>().unwrap())
        .unwrap();
    match newest.record {
        Record::TimeEntry(e) => (
            newest.id,
            e.notes.unwrap_or_default(),
            Refs {
                person: e.person,
                project: e.project.unwrap(),
            },
        ),
        _ => unreachable!(),
    }
}

/// Every provider holds an entry with notes `present` (when given) and none with `gone`.
async fn assert_everywhere(env: &Env, present: Option<&str>, gone: &str) {
    for i in 0..3 {
        let notes: Vec<String> = env.entries(i).await.into_iter().map(|(_, n)| n).collect();
        if let Some(p) = present {
            assert!(notes.iter().any(|n| n == p), "{}: {notes:?}", NAMES[i]);
        }
        assert!(!notes.iter().any(|n| n == gone), "{}: {notes:?}", NAMES[i]);
    }
}

/// The id of the entry with `notes` in provider `i`.
async fn id_with_notes(env: &Env, i: usize, notes: &str) -> RemoteId {
    env.listed(i)
        .await
        .into_iter()
        .find(|e| matches!(&e.record, Record::TimeEntry(t) if t.notes.as_deref() == Some(notes)))
        .unwrap_or_else(|| panic!("no entry '{notes}' in {}", NAMES[i]))
        .id
}

async fn linked_canonical(env: &Env, remote: &RemoteId) -> Option<timeweave_contract::CanonicalId> {
    let mut tx = env.engine.ledger().read().await.unwrap();
    let link = tx
        .link_by_remote("timetracker", Kind::TimeEntry, remote)
        .await
        .unwrap();
    link.filter(|l| l.is_live()).map(|l| l.canonical_id)
}

/// Deletes TimeTracker's entry `id` out of band and books a new one ("booked after the
/// delete"), which the SQLite server gives the same id.
fn delete_and_rebook(env: &Env, id: &RemoteId, r: &Refs) {
    assert!(env.sim(2).remove(Kind::TimeEntry, id));
    let reused = env
        .sim(2)
        .add_entry(&entry(r, 6, 15, "booked after the delete"));
    assert_eq!(&reused, id, "the SQLite server gave the id out again");
}

async fn is_live(env: &Env, id: &timeweave_contract::CanonicalId) -> bool {
    let mut tx = env.engine.ledger().read().await.unwrap();
    let rec = tx.get_record(Kind::TimeEntry, id).await.unwrap();
    rec.is_some_and(|r| r.is_live())
}

#[tokio::test]
async fn a_reused_id_in_a_listing_is_a_new_entry_and_the_old_one_is_deleted() {
    let (env, _) = seeded().await;
    env.rounds(2).await;
    let (id, old_notes, r) = newest_entry(&env, 2).await;
    let old = linked_canonical(&env, &id).await.expect("linked");
    // Deleted and followed by a new entry before any cycle saw the delete.
    delete_and_rebook(&env, &id, &r);
    env.rounds(2).await;
    env.assert_converged(9).await;
    assert_everywhere(&env, Some("booked after the delete"), &old_notes).await;
    // In the ledger the old entry is deleted and the new one is a record of its own.
    assert!(
        !is_live(&env, &old).await,
        "the deleted entry is a tombstone"
    );
    let new = linked_canonical(&env, &id)
        .await
        .expect("the new entry is linked");
    assert_ne!(new, old);
}

#[tokio::test]
async fn a_create_answered_with_a_reused_id_settles_the_old_entry_as_deleted() {
    let (env, _) = seeded().await;
    env.rounds(2).await;
    let (id, old_notes, _) = newest_entry(&env, 2).await;
    let old = linked_canonical(&env, &id).await.expect("linked");
    let (_, _, r) = newest_entry(&env, 0).await;
    // New work in timetrack; TimeTracker's newest entry is deleted while TimeTracker's
    // cycle is already pushing (after its listing), so the create gets the freed id
    // before any listing saw the delete.
    env.sim(0)
        .add_entry(&entry(&r, 6, 15, "booked in timetrack"));
    let removed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hook = {
        let (tm, removed, id) = (env.tm.clone(), removed.clone(), id.clone());
        std::sync::Arc::new(move |p: &timeweave::sync::Progress<'_>| {
            if p.provider == "timetracker"
                && p.phase == "pushing"
                && !removed.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                assert!(tm.remove(Kind::TimeEntry, &id));
            }
        })
    };
    let engine = env.engine.clone().with_progress(hook);
    for i in 0..3 {
        let r = env.cycle_with(&engine, i).await;
        assert!(r.errors.is_empty(), "{}: {:?}", r.provider, r.errors);
    }
    assert!(removed.load(std::sync::atomic::Ordering::SeqCst));
    let new = linked_canonical(&env, &id)
        .await
        .expect("the pushed entry is linked");
    assert_ne!(new, old, "the freed id now names the pushed entry");
    assert!(
        !is_live(&env, &old).await,
        "the deleted entry is a tombstone"
    );
    // The delete reaches the other providers; the deleted entry is never re-created.
    env.rounds(2).await;
    env.assert_converged(9).await;
    assert_everywhere(&env, Some("booked in timetrack"), &old_notes).await;
}

#[tokio::test]
async fn a_delete_never_takes_a_later_record_under_the_same_id() {
    let (env, _) = seeded().await;
    env.rounds(2).await;
    let (id, old_notes, r) = newest_entry(&env, 2).await;
    // The entry is deleted in timetrack: the ledger follows, and TimeTracker's cycle will
    // push the delete by id. By then TimeTracker has deleted it too and given its id to a
    // new entry (after TimeTracker's listing, which therefore saw the old one).
    let in_timetrack = id_with_notes(&env, 0, &old_notes).await;
    assert!(env.sim(0).remove(Kind::TimeEntry, &in_timetrack));
    let rebooked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hook = {
        let (tm, rebooked, id, r) = (env.tm.clone(), rebooked.clone(), id.clone(), r.clone());
        std::sync::Arc::new(move |p: &timeweave::sync::Progress<'_>| {
            if p.provider == "timetracker"
                && p.phase == "pushing"
                && !rebooked.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                assert!(tm.remove(Kind::TimeEntry, &id));
                let reused = tm.add_entry(&entry(&r, 6, 15, "booked after the delete"));
                assert_eq!(reused, id, "the SQLite server gave the id out again");
            }
        })
    };
    let engine = env.engine.clone().with_progress(hook);
    for i in 0..3 {
        let report = env.cycle_with(&engine, i).await;
        assert!(
            report.errors.is_empty(),
            "{}: {:?}",
            report.provider,
            report.errors
        );
    }
    assert!(rebooked.load(std::sync::atomic::Ordering::SeqCst));
    // The new entry survived the delete, and reaches everyone.
    assert!(
        env.entries(2)
            .await
            .iter()
            .any(|(_, n)| n == "booked after the delete"),
        "the later entry under the reused id was not deleted"
    );
    env.rounds(2).await;
    env.assert_converged(9).await;
    assert_everywhere(&env, Some("booked after the delete"), &old_notes).await;
}

#[tokio::test]
async fn a_delete_to_an_id_that_cannot_be_read_is_held_back_and_recorded_once() {
    let (env, _) = seeded().await;
    env.rounds(2).await;
    let (id, notes, _) = newest_entry(&env, 2).await;
    // Deleted in timetrack; in TimeTracker the entry can no longer be read (its start is
    // garbage), so whether the id still names it is unknown.
    let in_timetrack = id_with_notes(&env, 0, &notes).await;
    assert!(env.sim(0).remove(Kind::TimeEntry, &in_timetrack));
    let n: i64 = id.as_str().parse().unwrap();
    assert!(env
        .tm
        .corrupt_entry(n, "start_time", serde_json::json!("not a time")));
    env.rounds(2).await; // no cycle errors: recorded once, not failing every cycle
    assert!(env.tm.entry_json(n).is_some(), "not deleted blind");
    let mut tx = env.engine.ledger().read().await.unwrap();
    let issues = tx.issues(Some("timetracker")).await.unwrap();
    assert!(
        issues
            .iter()
            .any(|i| i.reason.contains("can no longer be read to check")),
        "{issues:?}"
    );
}

/// TrackingTime documents no billing parameters for projects: its simulator ignores them
/// (the default) and the adapter declares project billable and rate read-only. No cycle
/// warns, and the values set in TimeTracker are never overwritten by what TrackingTime
/// holds. (The warning for a parameter a provider ignores undeclared is tested in
/// engine_memory.rs.)
#[tokio::test]
async fn project_billing_trackingtime_ignores_stays_where_it_is_held() {
    let env = Env::new("").await;
    let client = env.sim(2).add_client(&Client {
        name: "Acme".into(),
        email: None,
        notes: None,
        archived: false,
    });
    env.sim(2).add_project(&Project {
        client: Some(client),
        name: "Billable work".into(),
        billable: false,
        hourly_rate_cents: Some(9000),
        archived: false,
    });
    for _ in 0..2 {
        for i in [2, 1, 0] {
            let r = env.cycle(i).await;
            assert!(r.errors.is_empty(), "{}: {:?}", r.provider, r.errors);
            assert!(
                !r.warnings
                    .iter()
                    .any(|w| w.contains("did not keep project")),
                "{:?}",
                r.warnings
            );
        }
    }
    let env = &env;
    let project = |i: usize| async move {
        list_all(
            env.handles[i].provider.as_ref(),
            Kind::Project,
            ListScope::All,
        )
        .await
        .into_iter()
        .find_map(|r| match r.record {
            Record::Project(p) if p.name == "Billable work" => Some(p),
            _ => None,
        })
        .expect("the project is everywhere")
    };
    let held = project(2).await;
    assert_eq!((held.billable, held.hourly_rate_cents), (false, Some(9000)));
    let tracking = project(1).await;
    assert_eq!(
        (tracking.billable, tracking.hourly_rate_cents),
        (true, None),
        "what TrackingTime keeps of it"
    );
}

#[tokio::test]
async fn many_later_incarnations_at_once_trip_the_mass_delete_guard() {
    let (env, _) = seeded().await;
    let (_, _, r) = newest_entry(&env, 2).await;
    for k in 0..12 {
        env.sim(2)
            .add_entry(&entry(&r, 10 + k, 16, &format!("more {k}")));
    }
    env.rounds(2).await;
    env.assert_converged(21).await;
    // Every created_at moves at once (a restored or migrated server): not a reuse of ids.
    // No trail records a restore: the full listings (the safety scan, here `--full`) see it.
    for rec in &env.listed(2).await {
        let n = rec.id.as_str().parse::<i64>().unwrap();
        assert!(env.tm.corrupt_entry(
            n,
            "created_at",
            serde_json::json!("2030-01-01T00:00:00.000001")
        ));
    }
    let report = env
        .cycle_with(&env.engine.clone().with_full_listings(), 2)
        .await;
    assert!(
        report.errors.iter().any(|e| e.contains("look reused")),
        "{:?}",
        report.errors
    );
    env.assert_converged(21).await;
}

#[tokio::test]
async fn links_from_before_incarnations_learn_them_and_then_tell_a_reuse() {
    let (env, _) = seeded().await;
    env.rounds(2).await;
    let (id, old_notes, r) = newest_entry(&env, 2).await;
    // A ledger from before migration 0003: its links know no incarnation.
    let db = rusqlite::Connection::open(env._dir.path().join("ledger.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    db.execute("UPDATE links SET remote_incarnation = NULL", [])
        .unwrap();
    drop(db);
    // Learned from listings: a round that lists everything (as the safety scan does).
    let full = env.engine.clone().with_full_listings();
    for i in 0..3 {
        let r = env.cycle_with(&full, i).await;
        assert!(r.errors.is_empty(), "{}: {:?}", r.provider, r.errors);
    }
    {
        let mut tx = env.engine.ledger().read().await.unwrap();
        let link = tx
            .link_by_remote("timetracker", Kind::TimeEntry, &id)
            .await
            .unwrap()
            .unwrap();
        assert!(
            link.remote_incarnation.is_some(),
            "learned when seen unchanged"
        );
    }
    let old = linked_canonical(&env, &id).await.expect("linked");
    delete_and_rebook(&env, &id, &r);
    env.rounds(2).await;
    env.assert_converged(9).await;
    assert!(
        !is_live(&env, &old).await,
        "the deleted entry is a tombstone"
    );
    assert_everywhere(&env, None, &old_notes).await;
}
