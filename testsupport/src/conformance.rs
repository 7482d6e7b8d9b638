//! The conformance suite. Each function seeds what it needs and panics on a violation;
//! adapters call them from their own tests against a fresh simulator, through
//! [`conformance_tests!`](crate::conformance_tests), which writes one test a case.

use std::collections::BTreeSet;

use chrono::Duration;
use timeweave_contract::{
    Client, Field, Kind, ListScope, Project, Provider, ProviderError, Record, RemoteId,
    RemoteRecord, TimeEntry, Window,
};
use timeweave_simkit::{Fault, SimulatorControl};

use crate::records;
use crate::{entry_ids_in, is_gone, list_all, list_entries, sample_entry, test_instant};

fn entry_of(r: &RemoteRecord) -> &TimeEntry<RemoteId> {
    match &r.record {
        Record::TimeEntry(e) => e,
        other => panic!("expected a time entry, got {other:?}"),
    }
}

/// The notes of the entry `id` as `get` answers them now (it must exist).
async fn notes_now(p: &dyn Provider, id: &RemoteId) -> Option<String> {
    let got = p.get(Kind::TimeEntry, id).await.expect("get");
    entry_of(&got.expect("the entry exists")).notes.clone()
}

/// Seeds a person and a project on a fresh client; returns (person, project).
pub fn seed_basics(sim: &dyn SimulatorControl, tag: &str) -> (RemoteId, RemoteId) {
    let seeded = records::seed_tagged(sim, tag, None);
    (seeded.person, seeded.project)
}

/// Entries seeded out of band are listed with their content; creates, updates and
/// deletes through the adapter are seen by the next listing and by `get`.
pub async fn entry_round_trip(p: &dyn Provider, sim: &dyn SimulatorControl) {
    p.connect().await.expect("connect");
    let (person, project) = seed_basics(sim, "rt");
    let seeded = sample_entry(&person, Some(&project), 0, 90, "seeded");
    let seeded_id = sim.add_entry(&seeded);
    let listed = list_entries(p).await;
    let found = listed
        .iter()
        .find(|r| r.id == seeded_id)
        .expect("the seeded entry is listed");
    let e = entry_of(found);
    assert_eq!(
        e.started_at, seeded.started_at,
        "start survives the round trip"
    );
    assert_eq!(e.ended_at, seeded.ended_at, "end survives the round trip");
    assert_eq!(e.person, person);
    assert_eq!(e.project.as_ref(), Some(&project));
    assert_eq!(e.notes.as_deref(), Some("seeded"));

    // Create through the adapter.
    let mut new = sample_entry(&person, Some(&project), 24 * 60, 45, "created");
    new.tags = ["alpha".to_string()].into_iter().collect();
    let created = p
        .create(&Record::TimeEntry(new.clone()), "conformance-create-1")
        .await
        .expect("create");
    assert_eq!(entry_of(&created).started_at, new.started_at);
    assert_eq!(entry_of(&created).ended_at, new.ended_at);
    assert_eq!(notes_now(p, &created.id).await.as_deref(), Some("created"));

    // Update through the adapter.
    let mut changed = new.clone();
    changed.notes = Some("changed".into());
    changed.ended_at = Some(new.started_at + Duration::minutes(60));
    changed.duration_seconds = Some(3600);
    let target = records::target(&created.id, created.version.clone());
    let updated = p
        .update(&target, &Record::TimeEntry(changed.clone()))
        .await
        .expect("update");
    assert_eq!(entry_of(&updated).notes.as_deref(), Some("changed"));
    assert_eq!(entry_of(&updated).ended_at, changed.ended_at);
    assert_eq!(notes_now(p, &created.id).await.as_deref(), Some("changed"));

    // Delete through the adapter; a second delete is NotFound; get says gone.
    p.delete(Kind::TimeEntry, &created.id)
        .await
        .expect("delete");
    assert!(is_gone(p, Kind::TimeEntry, &created.id).await);
    match p.delete(Kind::TimeEntry, &created.id).await {
        Err(ProviderError::NotFound { .. }) => {}
        other => panic!("second delete must be NotFound, got {other:?}"),
    }
    let listed = list_entries(p).await;
    assert!(
        listed.iter().all(|r| r.id != created.id),
        "deleted entry not listed"
    );
}

/// `Capabilities::unheld` and `read_only` tell the truth: a client, a project and an
/// entry created with every optional field away from its default (a break included)
/// come back, in the create's answer and from a `get`, with the fields the adapter
/// holds unchanged and the ones it cannot write at their constant
/// (`Record::forget_unheld`). An undeclared loss would let the engine overwrite what
/// another provider set; a wrong declaration would make it ignore real edits. (People
/// are read-only everywhere and TimeTrack refuses archived tasks, so those two kinds'
/// fields are not covered here.)
pub async fn declared_fields(p: &dyn Provider, sim: &dyn SimulatorControl) {
    p.connect().await.expect("connect");
    let unheld = p.capabilities().not_writable();
    let (person, _) = seed_basics(sim, "fields");
    let client = Record::Client(Client {
        email: Some("billing@fields.example".into()),
        notes: Some("Net 30".into()),
        ..records::client("Fields Client")
    });
    let created = create_holding(p, &client, "fields-client", &unheld).await;
    let project = Record::Project(Project {
        billable: false,
        ..records::project(Some(&created.id), "Fields Project", Some(4250))
    });
    let created = create_holding(p, &project, "fields-project", &unheld).await;
    let mut entry = sample_entry(&person, Some(&created.id), 3 * 60, 50, "fields");
    entry.tags = ["alpha".to_owned()].into();
    entry.billable = false;
    entry.break_seconds = 600;
    entry.duration_seconds = entry.computed_duration();
    let entry = Record::TimeEntry(entry);
    let created = p
        .create(&entry, "fields-entry")
        .await
        .expect("create entry");
    // What the create answers, and what the provider holds when asked again.
    let got_again = p
        .get(Kind::TimeEntry, &created.id)
        .await
        .expect("get entry")
        .expect("the created entry exists");
    let Record::TimeEntry(want) = entry.normalised().forget_unheld(&unheld) else {
        unreachable!()
    };
    for answer in [&created.record, &got_again.record] {
        let Record::TimeEntry(got) = answer else {
            panic!("expected a time entry, got {answer:?}")
        };
        assert_eq!(
            (
                &got.notes,
                &got.tags,
                got.billable,
                got.break_seconds,
                got.duration_seconds
            ),
            (
                &want.notes,
                &want.tags,
                want.billable,
                want.break_seconds,
                want.duration_seconds
            ),
            "entry: held fields survive, unheld ones read back as their constant"
        );
    }
}

/// Creates `record` (idempotency key `key`) and checks that the answer holds its held fields
/// unchanged and the `unheld` ones at their constant.
async fn create_holding(
    p: &dyn Provider,
    record: &Record<RemoteId>,
    key: &str,
    unheld: &[Field],
) -> RemoteRecord {
    let created = p
        .create(record, key)
        .await
        .unwrap_or_else(|e| panic!("{key}: the create failed: {e}"));
    assert_eq!(
        created.record,
        record.clone().normalised().forget_unheld(unheld),
        "{key}: held fields survive, unheld ones read back as their constant"
    );
    created
}

/// A listing over many pages returns every record exactly once.
pub async fn pagination(p: &dyn Provider, sim: &dyn SimulatorControl, n: usize) {
    let (person, project) = seed_basics(sim, "pg");
    let mut ids = BTreeSet::new();
    for i in 0..n as i64 {
        // Spread over days, no overlaps: 30-minute entries 40 minutes apart.
        ids.insert(sim.add_entry(&sample_entry(&person, Some(&project), i * 40, 30, "p")));
    }
    let window = Window::new(test_instant(-60), test_instant(n as i64 * 40 + 60));
    let listed = list_all(p, Kind::TimeEntry, ListScope::StartedIn(window)).await;
    let listed_ids: Vec<_> = listed.iter().map(|r| r.id.clone()).collect();
    let unique: BTreeSet<_> = listed_ids.iter().cloned().collect();
    assert_eq!(unique.len(), listed_ids.len(), "no record listed twice");
    assert!(ids.is_subset(&unique), "every seeded record listed");
}

/// A window listing holds only entries that start inside it.
pub async fn window_bounds(p: &dyn Provider, sim: &dyn SimulatorControl) {
    let (person, project) = seed_basics(sim, "wb");
    let on_day = |day: i64, notes: &str| {
        sim.add_entry(&sample_entry(
            &person,
            Some(&project),
            day * 24 * 60,
            30,
            notes,
        ))
    };
    let inside = on_day(10, "in");
    let before = on_day(8, "before");
    let after = on_day(12, "after");
    let window = Window::new(test_instant(9 * 24 * 60), test_instant(11 * 24 * 60));
    let ids = entry_ids_in(p, window).await;
    assert!(ids.contains(&inside));
    assert!(!ids.contains(&before) && !ids.contains(&after), "{ids:?}");
}

/// An out-of-band delete is seen: absent from the listing, and `get` says gone.
pub async fn out_of_band_delete(p: &dyn Provider, sim: &dyn SimulatorControl) {
    let (person, project) = seed_basics(sim, "del");
    let id = sim.add_entry(&sample_entry(&person, Some(&project), 3 * 24 * 60, 30, "x"));
    assert!(p.get(Kind::TimeEntry, &id).await.expect("get").is_some());
    assert!(sim.remove(Kind::TimeEntry, &id));
    assert!(is_gone(p, Kind::TimeEntry, &id).await);
    let listed = list_entries(p).await;
    assert!(listed.iter().all(|r| r.id != id));
}

/// A create whose answer is lost is found by `find_created`, so it is never sent twice.
pub async fn lost_create_is_found(p: &dyn Provider, sim: &dyn SimulatorControl) {
    let (person, project) = seed_basics(sim, "lost");
    let entry = sample_entry(&person, Some(&project), 5 * 24 * 60, 30, "lost answer");
    let record = Record::TimeEntry(entry);
    let key = "conformance-lost-1";
    assert!(p
        .find_created(&record, key)
        .await
        .expect("lookup")
        .is_none());
    let before = sim.count(Kind::TimeEntry);
    sim.inject_faults(Fault::LoseResponse, 1);
    let outcome = p.create(&record, key).await;
    sim.clear_faults();
    let found = match outcome {
        // An adapter may recover by itself (e.g. an idempotent replay).
        Ok(r) => r,
        Err(_) => p
            .find_created(&record, key)
            .await
            .expect("lookup")
            .expect("the create landed and must be found"),
    };
    assert_eq!(sim.count(Kind::TimeEntry), before + 1, "exactly one entry");
    // Whichever way the adapter recovered, the lookup itself must find the landed create.
    assert_eq!(
        p.find_created(&record, key)
            .await
            .expect("lookup")
            .map(|r| r.id),
        Some(found.id.clone()),
        "find_created finds the create whose answer was lost"
    );
    assert!(p
        .get(Kind::TimeEntry, &found.id)
        .await
        .expect("get")
        .is_some());
    assert_eq!(
        sim.count(Kind::TimeEntry),
        before + 1,
        "still exactly one entry"
    );
}

/// Reference kinds round-trip: clients, projects (with client) and tasks are listed
/// (archived ones included) and people are listed.
pub async fn reference_kinds(p: &dyn Provider, sim: &dyn SimulatorControl) {
    let (person, project) = seed_basics(sim, "ref");
    let caps = p.capabilities();
    let people = list_all(p, Kind::Person, ListScope::All).await;
    assert!(
        people.iter().any(|r| r.id == person),
        "seeded person listed"
    );
    if caps.project.list {
        let projects = list_all(p, Kind::Project, ListScope::All).await;
        assert!(
            projects.iter().any(|r| r.id == project),
            "seeded project listed"
        );
    }
    if caps.task.list && caps.task.create {
        let task = sim.add_task(&records::task(&project, "Design"));
        let tasks = list_all(p, Kind::Task, ListScope::All).await;
        assert!(tasks.iter().any(|r| r.id == task), "seeded task listed");
    }
    if caps.client.create {
        let created = p
            .create(
                &Record::Client(records::client("Made By Adapter")),
                "conformance-client-1",
            )
            .await
            .expect("create client");
        let clients = list_all(p, Kind::Client, ListScope::All).await;
        assert!(clients.iter().any(|r| r.id == created.id));
    }
}

/// Writes the suite's cases as `#[tokio::test]` functions of the calling test crate, each on
/// a fresh `(simulator, adapter)` pair from `setup` (an expression evaluated in each test,
/// e.g. `common::setup().await`); the pagination case takes the name given and lists that
/// many entries. A provider's own variants (other settings, other page sizes) stay next to
/// the call.
#[macro_export]
macro_rules! conformance_tests {
    (setup: $setup:expr, $pagination:ident: $entries:expr $(,)?) => {
        $crate::conformance_tests!(@cases $setup; entry_round_trip, window_bounds,
            out_of_band_delete, lost_create_is_found, reference_kinds, declared_fields);

        #[tokio::test]
        async fn $pagination() {
            let (sim, adapter) = $setup;
            $crate::conformance::pagination(&adapter, &sim, $entries).await;
        }
    };
    (@cases $setup:expr; $($case:ident),+) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (sim, adapter) = $setup;
                $crate::conformance::$case(&adapter, &sim).await;
            }
        )+
    };
}
