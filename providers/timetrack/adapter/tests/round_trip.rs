//! Round trip of every kind the adapter maps: people (read-only), clients, projects, tasks
//! (composite ids, derived from entries), project time entries and attendances.

mod common;

use std::collections::BTreeSet;

use chrono::Duration;
use timeweave_contract::{
    Client, EntryKind, Kind, ListScope, PageItem, Provider, ProviderError, Record, RemoteId, Task,
};
use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::{is_gone, list_all, list_entries, records, sample_entry, test_window};
use timeweave_timetrack_sim::SimOptions;

#[tokio::test]
async fn people_are_listed_and_read_only() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "p");
    let people = list_all(&adapter, Kind::Person, ListScope::All).await;
    let me = people
        .iter()
        .find(|r| r.id == s.person)
        .expect("person listed");
    match &me.record {
        Record::Person(p) => {
            assert_eq!(p.display_name, "Ada p");
            assert_eq!(p.email.as_deref(), Some("ada.p@example.com"));
            assert_eq!(p.username.as_deref(), Some("adap"));
        }
        other => panic!("{other:?}"),
    }
    let got = adapter.get(Kind::Person, &s.person).await.unwrap().unwrap();
    assert_eq!(got.record, me.record);
    let err = adapter.create(&me.record, "k").await.unwrap_err();
    assert!(matches!(err, ProviderError::Unsupported { .. }), "{err}");
    assert!(!adapter.capabilities().person.create);
}

#[tokio::test]
async fn clients_create_update_and_the_limits_of_the_api() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let client = Client {
        name: "Globex".into(),
        email: Some("ops@globex.example".into()),
        notes: Some("key account".into()),
        archived: false,
    };
    let created = adapter
        .create(&Record::Client(client.clone()), "c1")
        .await
        .unwrap();
    assert_eq!(created.record, Record::Client(client.clone()));
    assert_eq!(sim.count(Kind::Client), 1);

    // email and notes can change.
    let mut changed = client.clone();
    changed.email = Some("billing@globex.example".into());
    changed.notes = None;
    let updated = adapter
        .update(
            &records::target(&created.id, None),
            &Record::Client(changed.clone()),
        )
        .await
        .unwrap();
    assert_eq!(updated.record, Record::Client(changed.clone()));

    // A rename or an archive is not possible through the API: reported, nothing written.
    let mut renamed = changed.clone();
    renamed.name = "Globex Corp".into();
    let err = adapter
        .update(
            &records::target(&created.id, None),
            &Record::Client(renamed),
        )
        .await
        .unwrap_err();
    match &err {
        ProviderError::Unsupported { what } => assert!(what.contains("renamed"), "{what}"),
        other => panic!("{other:?}"),
    }
    let mut archived = changed.clone();
    archived.archived = true;
    let err = adapter
        .update(
            &records::target(&created.id, None),
            &Record::Client(archived),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unsupported { .. }), "{err}");
    let got = adapter
        .get(Kind::Client, &created.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.record,
        Record::Client(changed),
        "unchanged by the refused updates"
    );

    // Archived clients can be created (enabled=false is allowed on create) and are listed.
    let old = Client {
        archived: true,
        ..records::client("Initech")
    };
    let old_created = adapter
        .create(&Record::Client(old.clone()), "c2")
        .await
        .unwrap();
    let clients = list_all(&adapter, Kind::Client, ListScope::All).await;
    assert!(clients
        .iter()
        .any(|r| r.id == old_created.id && r.record == Record::Client(old.clone())));

    adapter.delete(Kind::Client, &old_created.id).await.unwrap();
    assert!(is_gone(&adapter, Kind::Client, &old_created.id).await);
    assert!(matches!(
        adapter.delete(Kind::Client, &old_created.id).await,
        Err(ProviderError::NotFound { .. })
    ));
}

#[tokio::test]
async fn projects_create_rename_archive_delete() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "pr");
    let project = records::project(Some(&s.client), "Website", Some(2050));
    let created = adapter
        .create(&Record::Project(project.clone()), "p1")
        .await
        .unwrap();
    assert_eq!(created.record, Record::Project(project.clone()));

    let mut renamed = project.clone();
    renamed.name = "Website relaunch".into();
    renamed.archived = true;
    renamed.hourly_rate_cents = Some(9000);
    let updated = adapter
        .update(
            &records::target(&created.id, None),
            &Record::Project(renamed.clone()),
        )
        .await
        .unwrap();
    assert_eq!(updated.record, Record::Project(renamed.clone()));
    let listed = list_all(&adapter, Kind::Project, ListScope::All).await;
    let seeded = listed
        .iter()
        .find(|r| r.id == s.project)
        .expect("seeded project");
    match &seeded.record {
        Record::Project(p) => {
            assert_eq!(
                p.client.as_ref(),
                Some(&s.client),
                "client linked by name, read as id"
            );
            assert_eq!(p.hourly_rate_cents, Some(8550));
        }
        other => panic!("{other:?}"),
    }
    assert!(listed
        .iter()
        .any(|r| r.id == created.id && r.record == Record::Project(renamed.clone())));

    // A project without a client cannot exist in TimeTrack.
    let mut orphan = project.clone();
    orphan.client = None;
    let err = adapter
        .create(&Record::Project(orphan), "p2")
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unsupported { .. }), "{err}");

    adapter.delete(Kind::Project, &created.id).await.unwrap();
    assert!(is_gone(&adapter, Kind::Project, &created.id).await);
}

#[tokio::test]
async fn tasks_are_global_by_name_with_composite_ids() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "t");
    let task = records::task(&s.project, "Development");
    let created = adapter
        .create(&Record::Task(task.clone()), "t1")
        .await
        .unwrap();
    assert!(
        created.id.as_str().starts_with(&format!("{}/", s.project)),
        "{}",
        created.id
    );
    assert_eq!(created.record, Record::Task(task.clone()));
    // The same name on another project reuses the one global task.
    let other = common::seed(&sim, "t2");
    let again = adapter
        .create(
            &Record::Task(Task {
                project: other.project.clone(),
                ..task.clone()
            }),
            "t2",
        )
        .await
        .unwrap();
    assert_eq!(sim.count(Kind::Task), 1, "one global task");
    assert_ne!(again.id, created.id, "one composite id per project");
    assert_eq!(
        adapter
            .get(Kind::Task, &created.id)
            .await
            .unwrap()
            .unwrap()
            .record,
        Record::Task(task.clone())
    );

    // An entry on the task yields a derived task record before it, once per page.
    let mut e = sample_entry(&s.person, Some(&s.project), 60, 30, "with task");
    e.task = Some(created.id.clone());
    let entry = adapter
        .create(&Record::TimeEntry(e.clone()), "e1")
        .await
        .unwrap();
    let mut e2 = sample_entry(&s.person, Some(&s.project), 120, 30, "with task again");
    e2.task = Some(created.id.clone());
    sim.add_entry(&e2);
    let page = adapter
        .list_page(Kind::TimeEntry, ListScope::StartedIn(test_window()), None)
        .await
        .unwrap();
    let kinds: Vec<Kind> = page
        .items
        .iter()
        .map(|i| match i {
            PageItem::Record(r) => r.kind(),
            PageItem::Invalid(bad) => panic!("{}", bad.reason),
        })
        .collect();
    assert_eq!(kinds, vec![Kind::Task, Kind::TimeEntry, Kind::TimeEntry]);
    match &page.items[0] {
        PageItem::Record(r) => {
            assert_eq!(r.id, created.id);
            assert_eq!(r.record, Record::Task(task.clone()));
        }
        _ => unreachable!(),
    }
    match &adapter
        .get(Kind::TimeEntry, &entry.id)
        .await
        .unwrap()
        .unwrap()
        .record
    {
        Record::TimeEntry(got) => assert_eq!(got.task.as_ref(), Some(&created.id)),
        other => panic!("{other:?}"),
    }

    // Task names cannot change and global tasks are not deleted by timeweave.
    let mut renamed = task.clone();
    renamed.name = "Dev".into();
    assert!(matches!(
        adapter
            .update(&records::target(&created.id, None), &Record::Task(renamed))
            .await,
        Err(ProviderError::Unsupported { .. })
    ));
    assert!(matches!(
        adapter.delete(Kind::Task, &created.id).await,
        Err(ProviderError::Unsupported { .. })
    ));
    // Out-of-band deletion of the global task: the pair is gone.
    assert!(sim.remove(Kind::Task, &created.id));
    assert!(is_gone(&adapter, Kind::Task, &created.id).await);
}

#[tokio::test]
async fn entries_keep_every_synced_field() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "e");
    let mut e = sample_entry(&s.person, Some(&s.project), 0, 120, "Design review");
    e.break_seconds = 15 * 60;
    e.duration_seconds = Some(105 * 60);
    e.tags = ["design", "client-a"]
        .iter()
        .map(|t| t.to_string())
        .collect();
    e.billable = false;
    let created = adapter
        .create(&Record::TimeEntry(e.clone()), "e1")
        .await
        .unwrap();
    let raw = sim.raw_entry(&created.id).unwrap();
    // The simulator's default account keeps Berlin wall-clock time (K1): 08:00Z is 09:00.
    assert_eq!(raw["from"], "2026-03-10T09:00:00.000Z");
    assert_eq!(raw["to"], "2026-03-10T11:00:00.000Z");
    assert_eq!(raw["breakMinutes"], 15);
    assert_eq!(raw["workedMinutes"], 105);
    assert_eq!(raw["user"], "adae");
    assert_eq!(raw["projectName"], "Project e");
    assert_eq!(raw["clientName"], "Client e");
    assert_eq!(raw["billable"], false);
    assert_eq!(raw["details"], "Design review");
    let listed = list_entries(&adapter).await;
    let got = listed.iter().find(|r| r.id == created.id).unwrap();
    match &got.record {
        Record::TimeEntry(g) => {
            assert_eq!(g.started_at, e.started_at);
            assert_eq!(g.ended_at, e.ended_at);
            assert_eq!(g.break_seconds, 900);
            assert_eq!(g.duration_seconds, Some(6300));
            assert_eq!(g.tags, e.tags);
            assert!(!g.billable);
            assert_eq!(g.kind, EntryKind::Work);
            assert_eq!(g.notes.as_deref(), Some("Design review"));
            assert_eq!(g.person, s.person);
            assert_eq!(g.project.as_ref(), Some(&s.project));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        got.record, created.record,
        "create returns what the listing shows"
    );
}

#[tokio::test]
async fn entry_shapes_timetrack_cannot_hold_are_refused_without_io() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "w");
    let served = sim.requests_served();
    use timeweave_contract::WriteOp;
    let no_project = sample_entry(&s.person, None, 0, 30, "x");
    let err = adapter
        .check_writable(WriteOp::Create, &Record::TimeEntry(no_project.clone()))
        .unwrap_err();
    assert!(err.to_string().contains("need a project"), "{err}");
    let mut client_only = no_project.clone();
    client_only.client = Some(s.client.clone());
    let err = adapter
        .check_writable(WriteOp::Create, &Record::TimeEntry(client_only))
        .unwrap_err();
    assert!(err.to_string().contains("client-only"), "{err}");
    let mut att = no_project.clone();
    att.kind = EntryKind::Attendance;
    let err = adapter
        .check_writable(WriteOp::Create, &Record::TimeEntry(att))
        .unwrap_err();
    assert!(
        err.to_string().contains("attendances are turned off"),
        "{err}"
    );
    let mut running = sample_entry(&s.person, Some(&s.project), 0, 30, "x");
    running.ended_at = None;
    running.duration_seconds = None;
    assert!(adapter
        .check_writable(WriteOp::Create, &Record::TimeEntry(running))
        .is_err());
    assert!(adapter
        .check_writable(
            WriteOp::Create,
            &Record::TimeEntry(sample_entry(&s.person, Some(&s.project), 0, 30, "x"))
        )
        .is_ok());
    // create() runs the same check first: nothing is sent.
    assert!(adapter
        .create(&Record::TimeEntry(no_project), "x")
        .await
        .is_err());
    assert_eq!(
        sim.requests_served(),
        served,
        "no request for a refused shape"
    );
}

#[tokio::test]
async fn attendances_round_trip_when_enabled() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), true).await;
    let s = common::seed(&sim, "a");
    let mut att = sample_entry(&s.person, None, 0, 8 * 60, "office");
    att.kind = EntryKind::Attendance;
    att.billable = false;
    att.break_seconds = 30 * 60;
    att.duration_seconds = Some(450 * 60);
    att.tags = BTreeSet::new();
    att.source_tz = Some("Europe/Berlin".into());
    let seeded_work = sim.add_entry(&sample_entry(&s.person, Some(&s.project), 60, 30, "work"));
    let created = adapter
        .create(&Record::TimeEntry(att.clone()), "a1")
        .await
        .unwrap();
    assert!(created.id.as_str().starts_with("a:"), "{}", created.id);
    assert_eq!(created.record, Record::TimeEntry(att.clone()));
    let raw = sim.raw_entry(&created.id).unwrap();
    assert_eq!(raw["manual"], true, "created through the API");
    assert_eq!(raw["breakMinutes"], 30);

    let listed = list_entries(&adapter).await;
    let ids: Vec<&RemoteId> = listed.iter().map(|r| &r.id).collect();
    assert!(
        ids.contains(&&created.id) && ids.contains(&&seeded_work),
        "{ids:?}"
    );

    let mut changed = att.clone();
    changed.ended_at = Some(att.started_at + Duration::hours(9));
    changed.duration_seconds = Some(510 * 60);
    changed.notes = Some("office, long day".into());
    let updated = adapter
        .update(
            &records::target(&created.id, None),
            &Record::TimeEntry(changed.clone()),
        )
        .await
        .unwrap();
    assert_eq!(updated.record, Record::TimeEntry(changed.clone()));

    // An attendance cannot move to another user, nor become a project entry.
    let other = common::seed(&sim, "a2");
    let mut moved = changed.clone();
    moved.person = other.person.clone();
    assert!(matches!(
        adapter
            .update(
                &records::target(&created.id, None),
                &Record::TimeEntry(moved)
            )
            .await,
        Err(ProviderError::Unsupported { .. })
    ));
    adapter.delete(Kind::TimeEntry, &created.id).await.unwrap();
    assert!(is_gone(&adapter, Kind::TimeEntry, &created.id).await);
    assert!(sim.is_soft_deleted(&created.id));
}
