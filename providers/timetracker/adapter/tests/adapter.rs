//! The adapter against the simulator: round trips of every kind, the server's workarounds,
//! every error path, paging, rate limits, DST and idempotent creates.

mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use timeweave_contract::{
    Client, ConflictReason, Kind, ListScope, PageItem, Project, Provider, ProviderError, Record,
    RemoteId, TimeEntry, Window, WriteOp,
};
use timeweave_simkit::{Fault, SimulatorControl};
use timeweave_testsupport::{
    entry_ids_in, is_gone, list_all, list_entries, records, sample_entry, test_instant, test_window,
};
use timeweave_timetracker::{default_quotas, Settings, TimeTrackerAdapter};
use timeweave_timetracker_sim::{SimOptions, SimServer};

fn entry(r: &timeweave_contract::RemoteRecord) -> &TimeEntry<RemoteId> {
    match &r.record {
        Record::TimeEntry(e) => e,
        other => panic!("not an entry: {other:?}"),
    }
}

fn n(id: &RemoteId) -> i64 {
    id.as_str().parse().unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn naive(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
}

/// A person, a client and a project on it.
fn seed(sim: &SimServer) -> (RemoteId, RemoteId, RemoteId) {
    let ada = records::person("Ada Lovelace", Some("ada@example.com"), Some("ada"));
    records::seed_account(sim, &ada, "Acme", "Website", Some(7550)).ids()
}

#[tokio::test]
async fn connect_reads_zone_and_user() {
    let (_sim, a) = common::sim().await;
    let info = a.connect().await.unwrap();
    assert_eq!(info.server, "TimeTracker 5.10.0");
    assert_eq!(info.timezone.as_deref(), Some("Europe/Rome"));
    assert_eq!(info.account.as_deref(), Some("admin"));
}

#[tokio::test]
async fn connect_refuses_an_unfinished_setup() {
    let (sim, a) = common::sim_with(SimOptions {
        setup_required: true,
        ..SimOptions::default()
    })
    .await;
    match a.connect().await {
        Err(ProviderError::Setup { message }) => {
            assert!(message.contains("setup wizard"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Without connect, a listing hits the redirect: still a Setup error, never data.
    sim.set_setup_required(false);
    a.connect().await.unwrap();
    sim.set_setup_required(true);
    match a.list_page(Kind::Client, ListScope::All, None).await {
        Err(ProviderError::Setup { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn other_time_zones_are_used_for_entries_only() {
    let (sim, a) = common::sim_with(SimOptions {
        timezone: chrono_tz::America::New_York,
        ..SimOptions::default()
    })
    .await;
    let (person, _, project) = seed(&sim);
    let id = sim.add_entry_local(
        n(&person),
        n(&project),
        naive("2026-03-10T09:00:00"),
        naive("2026-03-10T10:00:00"),
        "ny",
    );
    let info = a.connect().await.unwrap();
    assert_eq!(info.timezone.as_deref(), Some("America/New_York"));
    let got = a
        .get(Kind::TimeEntry, &RemoteId::from(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry(&got).started_at, utc("2026-03-10T13:00:00Z"));
    assert_eq!(entry(&got).source_tz.as_deref(), Some("America/New_York"));
}

#[tokio::test]
async fn bad_credentials_are_auth_errors() {
    let sim = SimServer::start(SimOptions::default()).await;
    let a = common::adapter(sim.settings_with_token("tt_notarealtokennotarealtoken0000"));
    assert!(matches!(a.connect().await, Err(ProviderError::Auth { .. })));
    let revoked = sim.add_token(1, &["admin:all"]);
    sim.revoke_token(&revoked);
    let a = common::adapter(sim.settings_with_token(&revoked));
    assert!(matches!(a.connect().await, Err(ProviderError::Auth { .. })));
    // The server's own format check is caught before any request.
    let bad = TimeTrackerAdapter::new(
        Settings {
            base_url: sim.url(),
            api_token: timeweave_contract::Secret::new("abc"),
        },
        common::transport(vec![]),
    );
    assert!(matches!(bad, Err(ProviderError::Setup { .. })));
}

#[tokio::test]
async fn base_url_may_carry_the_api_path() {
    let sim = SimServer::start(SimOptions::default()).await;
    let mut s = sim.settings();
    s.base_url = format!("{}/api/v1/", sim.url());
    let a = common::adapter(s);
    a.connect().await.unwrap();
}

#[tokio::test]
async fn missing_scopes_are_forbidden_with_the_scope_named() {
    let sim = SimServer::start(SimOptions::default()).await;
    let (person, client, _) = seed(&sim);
    let _ = person;
    let token = sim.add_token(1, &["read:*", "write:time_entries"]);
    let a = common::adapter(sim.settings_with_token(&token));
    a.connect().await.unwrap();
    let made = a
        .create(&Record::Client(records::client("New")), "k1")
        .await;
    match made {
        Err(ProviderError::Forbidden { message }) => {
            assert!(message.contains("write:clients"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let _ = client;
}

#[tokio::test]
async fn every_kind_round_trips() {
    let (sim, a) = common::sim().await;
    let (person, _, _) = seed(&sim);
    a.connect().await.unwrap();

    // People: an admin token lists every user.
    let people = list_all(&a, Kind::Person, ListScope::All).await;
    let ada = people
        .iter()
        .find(|r| r.id == person)
        .expect("seeded person listed");
    match &ada.record {
        Record::Person(p) => {
            assert_eq!(p.display_name, "Ada Lovelace");
            assert_eq!(p.email.as_deref(), Some("ada@example.com"));
        }
        other => panic!("{other:?}"),
    }
    assert!(a.get(Kind::Person, &person).await.unwrap().is_some());

    // Clients: create, list, get (through the list: GET /clients/{id} is a 500), duplicate.
    let c = Client {
        name: "Globex".into(),
        email: Some("ops@globex.test".into()),
        notes: None,
        archived: false,
    };
    let client = a
        .create(&Record::Client(c.clone()), "client-1")
        .await
        .unwrap();
    assert_eq!(client.record, Record::Client(c.clone()));
    let got = a
        .get(Kind::Client, &client.id)
        .await
        .unwrap()
        .expect("client found via the list");
    assert_eq!(got.record, client.record);
    assert!(a
        .get(Kind::Client, &RemoteId::from(999))
        .await
        .unwrap()
        .is_none());
    match a.create(&Record::Client(c.clone()), "client-2").await {
        Err(ProviderError::Conflict {
            reason: ConflictReason::Duplicate,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        a.find_created(&Record::Client(c.clone()), "client-1")
            .await
            .unwrap()
            .unwrap()
            .id,
        client.id
    );
    let target = records::target(&client.id, client.version.clone());
    assert!(matches!(
        a.update(&target, &Record::Client(c.clone())).await,
        Err(ProviderError::Unsupported { .. })
    ));
    assert!(matches!(
        a.delete(Kind::Client, &client.id).await,
        Err(ProviderError::Unsupported { .. })
    ));

    // Projects: create with a rate, rename, archive by update and by delete; listed archived.
    let p = records::project(Some(&client.id), "Portal", Some(8550));
    let project = a
        .create(&Record::Project(p.clone()), "project-1")
        .await
        .unwrap();
    assert_eq!(project.record, Record::Project(p.clone()));
    let raw = sim.project_json(n(&project.id)).unwrap();
    assert_eq!(raw["hourly_rate"], 85.5);
    let mut p2 = p.clone();
    p2.name = "Portal v2".into();
    p2.hourly_rate_cents = Some(9000);
    p2.archived = true;
    let updated = a
        .update(
            &records::target(&project.id, project.version.clone()),
            &Record::Project(p2.clone()),
        )
        .await
        .unwrap();
    assert_eq!(updated.record, Record::Project(p2.clone()));
    let mut p3 = p2.clone();
    p3.archived = false;
    let revived = a
        .update(
            &records::target(&project.id, None),
            &Record::Project(p3.clone()),
        )
        .await
        .unwrap();
    assert_eq!(revived.record, Record::Project(p3.clone()));
    let mut p4 = p3;
    p4.hourly_rate_cents = None;
    let cleared = a
        .update(
            &records::target(&project.id, None),
            &Record::Project(p4.clone()),
        )
        .await
        .unwrap();
    assert_eq!(cleared.record, Record::Project(p4), "a rate can be cleared");
    a.delete(Kind::Project, &project.id).await.unwrap();
    let projects = list_all(&a, Kind::Project, ListScope::All).await;
    let listed = projects
        .iter()
        .find(|r| r.id == project.id)
        .expect("archived projects are listed");
    assert!(matches!(&listed.record, Record::Project(p) if p.archived));

    // Tasks: create, rename, archive (status done), hard delete.
    let live = Project {
        billable: false,
        ..records::project(Some(&client.id), "Live", None)
    };
    let live = a.create(&Record::Project(live), "project-2").await.unwrap();
    let t = records::task(&live.id, "Design");
    let task = a.create(&Record::Task(t.clone()), "task-1").await.unwrap();
    assert_eq!(task.record, Record::Task(t.clone()));
    let mut t2 = t.clone();
    t2.name = "Design (done)".into();
    t2.archived = true;
    let done = a
        .update(
            &records::target(&task.id, task.version.clone()),
            &Record::Task(t2.clone()),
        )
        .await
        .unwrap();
    assert_eq!(done.record, Record::Task(t2));
    assert_eq!(sim.task_json(n(&task.id)).unwrap()["status"], "done");
    let tasks = list_all(&a, Kind::Task, ListScope::All).await;
    assert!(tasks.iter().any(|r| r.id == task.id));

    // Entries on that task (the task_id create workaround) and a client-only booking.
    let mut e = sample_entry(&person, Some(&live.id), 0, 90, "on a task");
    e.task = Some(task.id.clone());
    e.break_seconds = 600;
    e.tags = ["b".to_string(), "a".to_string()].into_iter().collect();
    let made = a
        .create(&Record::TimeEntry(e.clone()), "entry-1")
        .await
        .unwrap();
    assert_eq!(entry(&made).task, Some(task.id.clone()));
    assert_eq!(entry(&made).duration_seconds, Some(90 * 60 - 600));
    let raw = sim.entry_json(n(&made.id)).unwrap();
    assert_eq!(raw["task_id"], n(&task.id));
    assert_eq!(raw["tags"], "a,b");
    assert_eq!(raw["user_id"], n(&person));
    assert_eq!(raw["start_time"], "2026-03-10T09:00:00", "naive Rome time");
    let mut c_only = sample_entry(&person, None, 120, 30, "client only");
    c_only.client = Some(client.id.clone());
    c_only.billable = false;
    let made2 = a
        .create(&Record::TimeEntry(c_only.clone()), "entry-2")
        .await
        .unwrap();
    assert_eq!(entry(&made2).client, Some(client.id.clone()));
    assert_eq!(entry(&made2).project, None);
    let listed = list_entries(&a).await;
    assert_eq!(listed.len(), 2);

    // Update: clear notes, tags and the task (null is a no-op on the server).
    let mut e2 = entry(&made).clone();
    e2.notes = None;
    e2.tags.clear();
    e2.task = None;
    let upd = a
        .update(
            &records::target(&made.id, made.version.clone()),
            &Record::TimeEntry(e2.clone()),
        )
        .await
        .unwrap();
    assert_eq!(entry(&upd).notes, None);
    assert!(entry(&upd).tags.is_empty());
    assert_eq!(
        entry(&upd).task,
        None,
        "task cleared via the client/project hop"
    );
    assert_eq!(entry(&upd).project, Some(live.id.clone()));
    let raw = sim.entry_json(n(&made.id)).unwrap();
    assert_eq!(raw["notes"], "");
    assert!(raw["task_id"].is_null());

    // Deleting the task is hard, and nullifies entries' task_id.
    let mut e3 = entry(&upd).clone();
    e3.task = Some(task.id.clone());
    let upd = a
        .update(
            &records::target(&made.id, upd.version.clone()),
            &Record::TimeEntry(e3),
        )
        .await
        .unwrap();
    assert_eq!(entry(&upd).task, Some(task.id.clone()));
    a.delete(Kind::Task, &task.id).await.unwrap();
    assert!(is_gone(&a, Kind::Task, &task.id).await);
    assert!(matches!(
        a.delete(Kind::Task, &task.id).await,
        Err(ProviderError::NotFound { .. })
    ));
    let after = a.get(Kind::TimeEntry, &made.id).await.unwrap().unwrap();
    assert_eq!(entry(&after).task, None);
    assert_ne!(
        after.version, upd.version,
        "updated_at is bumped by the task delete (as on a real v5.10 server)"
    );

    // Entry delete is hard; a second delete is NotFound.
    a.delete(Kind::TimeEntry, &made2.id).await.unwrap();
    assert!(is_gone(&a, Kind::TimeEntry, &made2.id).await);
    assert!(matches!(
        a.delete(Kind::TimeEntry, &made2.id).await,
        Err(ProviderError::NotFound { .. })
    ));
}

#[tokio::test]
async fn stale_updates_are_conflicts_but_fresh_ones_pass() {
    let (sim, a) = common::sim().await;
    let (person, _, project) = seed(&sim);
    sim.freeze_clock(Utc.with_ymd_and_hms(2026, 4, 1, 8, 0, 0).unwrap());
    let e = sample_entry(&person, Some(&project), 0, 60, "v1");
    let made = a
        .create(&Record::TimeEntry(e.clone()), "stale-1")
        .await
        .unwrap();
    // Someone edits the entry in the web app 3 s later.
    sim.advance_clock(Duration::seconds(3));
    let mut web = e.clone();
    web.notes = Some("web edit".into());
    assert!(sim.edit(&made.id, &Record::TimeEntry(web)));
    let mut mine = e.clone();
    mine.notes = Some("sync edit".into());
    let target = records::target(&made.id, made.version.clone());
    match a.update(&target, &Record::TimeEntry(mine.clone())).await {
        Err(ProviderError::Conflict {
            reason: ConflictReason::Stale,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // With the current version the update passes; the version is echoed verbatim.
    let current = a.get(Kind::TimeEntry, &made.id).await.unwrap().unwrap();
    let ok = a
        .update(
            &records::target(&made.id, current.version.clone()),
            &Record::TimeEntry(mine),
        )
        .await
        .unwrap();
    assert_eq!(entry(&ok).notes.as_deref(), Some("sync edit"));
    // An update of a deleted entry (400 "Time entry not found") is NotFound.
    sim.remove(Kind::TimeEntry, &made.id);
    let gone = a
        .update(
            &records::target(&made.id, ok.version.clone()),
            &Record::TimeEntry(e),
        )
        .await;
    assert!(
        matches!(gone, Err(ProviderError::NotFound { .. })),
        "{gone:?}"
    );
}

/// An entry created at `T0` on a frozen clock and listed half a second later (young).
async fn listed_young(
    sim: &SimServer,
    a: &TimeTrackerAdapter,
) -> (TimeEntry<RemoteId>, timeweave_contract::RemoteRecord) {
    let (person, _, project) = seed(sim);
    sim.freeze_clock(Utc.with_ymd_and_hms(2026, 3, 10, 7, 0, 0).unwrap());
    let e = sample_entry(&person, Some(&project), 0, 60, "v1");
    a.create(&Record::TimeEntry(e.clone()), "young-1")
        .await
        .unwrap();
    sim.advance_clock(Duration::milliseconds(500));
    let listed = list_entries(a).await;
    (e, listed.into_iter().next().unwrap())
}

/// Sample 46: the server takes an `if_updated_at` up to 2 s old, so a web edit made 1.5 s
/// after the version timeweave listed would be overwritten by its update.
#[tokio::test]
async fn an_edit_within_the_servers_tolerance_is_not_overwritten() {
    let (sim, a) = common::sim().await;
    let (e, listed) = listed_young(&sim, &a).await;
    sim.advance_clock(Duration::seconds(1));
    let mut web = e.clone();
    web.notes = Some("web edit".into());
    assert!(sim.edit(&listed.id, &Record::TimeEntry(web)));
    let mut mine = e;
    mine.notes = Some("sync edit".into());
    let target = records::target(&listed.id, listed.version.clone());
    match a.update(&target, &Record::TimeEntry(mine)).await {
        Err(ProviderError::Conflict {
            reason: ConflictReason::Stale,
            message,
        }) => assert!(message.contains("tolerance"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.entry_json(n(&listed.id)).unwrap()["notes"], "web edit");
}

/// A young version nobody changed is written once the tolerance has passed; a version
/// listed well after it is written without a look first.
#[tokio::test]
async fn young_versions_are_read_again_before_a_write_and_old_ones_are_not() {
    let (sim, a) = common::sim().await;
    let (e, listed) = listed_young(&sim, &a).await;
    sim.advance_clock(Duration::seconds(2));
    let mut mine = e.clone();
    mine.notes = Some("sync edit".into());
    let target = records::target(&listed.id, listed.version.clone());
    let before = sim.requests_served();
    let done = a.update(&target, &Record::TimeEntry(mine)).await.unwrap();
    assert_eq!(
        sim.requests_served() - before,
        3,
        "GET, GET after the tolerance, PATCH"
    );
    assert_eq!(entry(&done).notes.as_deref(), Some("sync edit"));
    // Listed 10 s after its last change: one request, the PATCH.
    sim.advance_clock(Duration::seconds(10));
    let listed = list_entries(&a).await;
    let mut again = e;
    again.notes = Some("second".into());
    let target = records::target(&listed[0].id, listed[0].version.clone());
    let before = sim.requests_served();
    a.update(&target, &Record::TimeEntry(again)).await.unwrap();
    assert_eq!(sim.requests_served() - before, 1);
}

#[tokio::test]
async fn overlaps_are_per_entry_conflicts() {
    let (sim, a) = common::sim().await;
    let (person, _, project) = seed(&sim);
    sim.add_entry(&sample_entry(&person, Some(&project), 0, 60, "existing"));
    let clash = sample_entry(&person, Some(&project), 30, 60, "clash");
    match a.create(&Record::TimeEntry(clash), "overlap-1").await {
        Err(ProviderError::Conflict {
            reason: ConflictReason::Overlap,
            message,
        }) => {
            assert!(message.contains("overlaps"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // The next entry still goes through.
    a.create(
        &Record::TimeEntry(sample_entry(&person, Some(&project), 60, 30, "next")),
        "overlap-2",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn check_writable_says_what_cannot_be_held() {
    let (sim, a) = common::sim().await;
    let (person, client, project) = seed(&sim);
    let e = sample_entry(&person, Some(&project), 0, 60, "x");
    assert!(a
        .check_writable(WriteOp::Create, &Record::TimeEntry(e.clone()))
        .is_ok());
    let mut running = e.clone();
    running.ended_at = None;
    assert!(matches!(
        a.check_writable(WriteOp::Create, &Record::TimeEntry(running)),
        Err(ProviderError::Unsupported { .. })
    ));
    let mut nowhere = e.clone();
    nowhere.project = None;
    assert!(matches!(
        a.check_writable(WriteOp::Create, &Record::TimeEntry(nowhere.clone())),
        Err(ProviderError::Unsupported { .. })
    ));
    nowhere.client = Some(client.clone());
    nowhere.task = Some(RemoteId::from(1));
    assert!(matches!(
        a.check_writable(WriteOp::Create, &Record::TimeEntry(nowhere)),
        Err(ProviderError::Unsupported { .. })
    ));
    let mut comma = e.clone();
    comma.tags.insert("a,b".into());
    assert!(matches!(
        a.check_writable(WriteOp::Update, &Record::TimeEntry(comma)),
        Err(ProviderError::Unsupported { .. })
    ));
    let c = Record::Client(records::client("x"));
    assert!(a.check_writable(WriteOp::Create, &c).is_ok());
    match a.check_writable(WriteOp::Update, &c) {
        Err(ProviderError::Unsupported { what }) => assert!(what.contains("405"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        a.check_writable(WriteOp::Delete, &c),
        Err(ProviderError::Unsupported { .. })
    ));
    let orphan = Record::Project(records::project(None, "x", None));
    assert!(matches!(
        a.check_writable(WriteOp::Create, &orphan),
        Err(ProviderError::Unsupported { .. })
    ));
    let caps = a.capabilities();
    assert!(!caps.client.update && !caps.client.delete && caps.project.delete_archives);
    assert!(!caps.change_feed && caps.entry_page_size == 100);
    assert!(sim.requests_served() == 0, "no I/O");
}

#[tokio::test]
async fn non_admin_tokens_see_and_write_only_their_own() {
    let sim = SimServer::start(SimOptions::default()).await;
    let (ada, _, project) = seed(&sim);
    let bob = sim.add_user("bob", Some("bob@example.com"), Some("Bob"), "user");
    let token = sim.add_token(bob, &["read:*", "write:*"]);
    let a = common::adapter(sim.settings_with_token(&token));
    a.connect().await.unwrap();
    let people = list_all(&a, Kind::Person, ListScope::All).await;
    assert_eq!(people.len(), 1, "only /users/me without admin:all");
    assert_eq!(n(&people[0].id), bob);
    sim.add_entry(&sample_entry(&ada, Some(&project), 0, 30, "ada's"));
    let bobs = sim.add_entry(&sample_entry(
        &RemoteId::from(bob),
        Some(&project),
        60,
        30,
        "bob's",
    ));
    let listed = list_entries(&a).await;
    assert_eq!(
        listed.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![bobs]
    );
    let foreign = Record::TimeEntry(sample_entry(&ada, Some(&project), 120, 30, "for ada"));
    assert!(matches!(
        a.check_writable(WriteOp::Create, &foreign),
        Err(ProviderError::Unsupported { .. })
    ));
    assert!(matches!(
        a.create(&foreign, "k").await,
        Err(ProviderError::Unsupported { .. })
    ));
    // Bob can book on a project he cannot list (the server does no project-scope check).
    a.create(
        &Record::TimeEntry(sample_entry(
            &RemoteId::from(bob),
            Some(&project),
            120,
            30,
            "mine",
        )),
        "k2",
    )
    .await
    .unwrap();
}

/// Every record a listing's pages carry, references of other kinds included, in order.
async fn every_record(a: &TimeTrackerAdapter, kind: Kind) -> Vec<timeweave_contract::RemoteRecord> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let scope = ListScope::StartedIn(test_window());
        let page = a.list_page(kind, scope, token).await.unwrap();
        out.extend(page.items.into_iter().map(|i| match i {
            PageItem::Record(r) => r,
            PageItem::Invalid(bad) => panic!("{bad:?}"),
        }));
        match page.next {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
}

/// A token without admin rights lists no project or client an admin created (spec §1), yet
/// its user books on them: its entry pages bring each such project and client, by id, with
/// the name the entries show, before the entries; a lookup by id finds them too.
#[tokio::test]
async fn a_non_admin_token_brings_the_projects_and_clients_its_entries_book_on() {
    let sim = SimServer::start(SimOptions::default()).await;
    let (_, client, project) = seed(&sim);
    let bob = sim.add_user("bob", Some("bob@example.com"), Some("Bob"), "user");
    let token = sim.add_token(bob, &["read:*", "write:*"]);
    let a = common::adapter(sim.settings_with_token(&token));
    a.connect().await.unwrap();
    let me = RemoteId::from(bob);
    sim.add_entry(&sample_entry(&me, Some(&project), 0, 30, "on the project"));
    let mut direct = sample_entry(&me, None, 60, 30, "on the client");
    direct.client = Some(client.clone());
    sim.add_entry(&direct);
    assert!(list_all(&a, Kind::Project, ListScope::All).await.is_empty());
    assert!(list_all(&a, Kind::Client, ListScope::All).await.is_empty());
    let listed = every_record(&a, Kind::TimeEntry).await;
    let kinds: Vec<Kind> = listed.iter().map(|r| r.kind()).collect();
    assert_eq!(
        kinds,
        [
            Kind::Client,
            Kind::TimeEntry,
            Kind::Project,
            Kind::TimeEntry
        ],
        "each reference before its entry (newest entry first)"
    );
    let by_kind = |k: Kind| listed.iter().find(|r| r.kind() == k).unwrap();
    assert_eq!(by_kind(Kind::Project).id, project);
    match &by_kind(Kind::Project).record {
        Record::Project(p) => assert_eq!((p.name.as_str(), p.client.as_ref()), ("Website", None)),
        other => panic!("{other:?}"),
    }
    assert_eq!(by_kind(Kind::Client).id, client);
    // Confirming they still exist works by id (GET /projects/{id} is a 403 for this token).
    let p = a.get(Kind::Project, &project).await.unwrap().unwrap();
    assert_eq!(p.id, project);
    let c = a.get(Kind::Client, &client).await.unwrap().unwrap();
    assert_eq!(c.id, client);
    // But they are not this token's to change.
    let rename = match p.record {
        Record::Project(mut p) => {
            p.name = "Renamed".into();
            p.client = Some(client.clone());
            Record::Project(p)
        }
        other => panic!("{other:?}"),
    };
    let target = records::target(&project, None);
    assert!(matches!(
        a.update(&target, &rename).await,
        Err(ProviderError::Unsupported { .. })
    ));
    // An admin token lists them as they are and derives nothing.
    let admin = common::adapter(sim.settings());
    let listed = every_record(&admin, Kind::TimeEntry).await;
    assert!(listed.iter().all(|r| r.kind() == Kind::TimeEntry));
}

#[tokio::test]
async fn an_rbac_admin_sees_and_writes_everyones_entries() {
    let sim = SimServer::start(SimOptions::default()).await;
    let (ada, _, project) = seed(&sim);
    // `role` says "user"; the RBAC role, which /users/me does not show, makes an admin.
    let carol = sim.add_user("carol", Some("carol@example.com"), Some("Carol"), "user");
    sim.grant_rbac_role(carol, "super_admin");
    let token = sim.add_token(carol, &["read:*", "write:*"]);
    let a = common::adapter(sim.settings_with_token(&token));
    a.connect().await.unwrap();
    let adas = sim.add_entry(&sample_entry(&ada, Some(&project), 0, 30, "ada's"));
    let listed = list_entries(&a).await;
    assert_eq!(
        listed.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![adas],
        "an admin lists every user's entries"
    );
    let foreign = Record::TimeEntry(sample_entry(&ada, Some(&project), 120, 30, "for ada"));
    a.check_writable(WriteOp::Create, &foreign)
        .expect("an admin may write others' entries");
    a.create(&foreign, "k").await.unwrap();
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let (sim, a) = common::sim().await;
    a.connect().await.unwrap();
    sim.inject_faults(Fault::ServerError, 2);
    let page = a.list_page(Kind::Client, ListScope::All, None).await;
    assert!(page.is_ok(), "two 500s are retried: {page:?}");
    sim.inject_faults(Fault::ServerError, 10);
    let err = a
        .list_page(Kind::Client, ListScope::All, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Retryable { .. }), "{err:?}");
    sim.inject_faults(Fault::HtmlErrorPage, 10);
    assert!(a
        .list_page(Kind::Client, ListScope::All, None)
        .await
        .unwrap_err()
        .is_retryable());
    sim.inject_faults(Fault::MalformedJson, 10);
    assert!(matches!(
        a.list_page(Kind::Client, ListScope::All, None).await,
        Err(ProviderError::Malformed { .. })
    ));
    sim.inject_faults(Fault::TruncatedBody, 10);
    assert!(matches!(
        a.list_page(Kind::Project, ListScope::All, None).await,
        Err(ProviderError::Malformed { .. })
    ));
    sim.inject_faults(Fault::ConnectionReset, 10);
    assert!(matches!(
        a.list_page(Kind::Task, ListScope::All, None).await,
        Err(ProviderError::Retryable { .. })
    ));
    sim.clear_faults();
    sim.inject_faults(Fault::MalformedJson, 1);
    assert!(
        a.list_page(Kind::Client, ListScope::All, None)
            .await
            .is_ok(),
        "one bad body is retried"
    );
}

#[tokio::test]
async fn timeouts_are_retryable() {
    let (sim, a) = common::sim_with(SimOptions {
        timeout_fault_ms: 2500,
        ..SimOptions::default()
    })
    .await;
    a.connect().await.unwrap();
    sim.inject_faults(Fault::Timeout, 1);
    // The first attempt times out (1.5 s), the retry succeeds.
    assert!(a
        .list_page(Kind::Client, ListScope::All, None)
        .await
        .is_ok());
}

#[tokio::test]
async fn a_429_is_honoured() {
    let (sim, a) = common::sim().await;
    a.connect().await.unwrap();
    sim.inject_faults(
        Fault::RateLimited {
            retry_after_secs: Some(1),
        },
        1,
    );
    let started = std::time::Instant::now();
    a.list_page(Kind::Client, ListScope::All, None)
        .await
        .unwrap();
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(950),
        "waited for Retry-After"
    );
}

#[tokio::test]
async fn the_servers_own_quota_is_hit_and_honoured() {
    let sim = SimServer::start(SimOptions::default()).await;
    let transport = common::transport(Vec::new());
    let a = TimeTrackerAdapter::new(sim.settings(), transport.clone()).unwrap();
    a.connect().await.unwrap(); // one counted request (/users/me)
    sim.set_rate_limits(3, 1000);
    // Move the clock so the calendar minute ends in about two seconds.
    let into_minute = sim.now().timestamp().rem_euclid(60);
    sim.advance_clock(Duration::seconds(58 - into_minute));
    let started = std::time::Instant::now();
    for _ in 0..4 {
        a.list_page(Kind::Client, ListScope::All, None)
            .await
            .unwrap();
    }
    let stats = transport.stats().snapshot();
    assert!(
        stats.rate_limited >= 1,
        "the server's quota was hit: {stats:?}"
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "waited for the window"
    );
}

#[tokio::test]
async fn both_quotas_are_declared_to_the_limiter() {
    let quotas: Vec<(u32, u64)> = default_quotas()
        .iter()
        .map(|q| (q.requests, q.per.as_secs()))
        .collect();
    assert_eq!(quotas, vec![(100, 60), (1000, 3600)]);
}

#[tokio::test]
async fn idempotent_create_after_a_lost_response_makes_one_entry() {
    let (sim, a) = common::sim().await;
    let (person, _, project) = seed(&sim);
    let task = sim.add_task(&records::task(&project, "T"));
    let mut e = sample_entry(&person, Some(&project), 0, 45, "once");
    e.task = Some(task.clone());
    a.connect().await.unwrap();
    let before = sim.count(Kind::TimeEntry);
    sim.inject_faults(Fault::LoseResponse, 1);
    let made = a
        .create(&Record::TimeEntry(e.clone()), "op-0001")
        .await
        .unwrap();
    assert_eq!(
        sim.count(Kind::TimeEntry),
        before + 1,
        "the replay did not create a second entry"
    );
    assert_eq!(entry(&made).task, Some(task.clone()));
    // The engine may send the create again later with the same key: still one entry.
    let again = a
        .create(&Record::TimeEntry(e.clone()), "op-0001")
        .await
        .unwrap();
    assert_eq!(again.id, made.id);
    assert_eq!(sim.count(Kind::TimeEntry), before + 1);
    // find_created finds it by natural key.
    let found = a
        .find_created(&Record::TimeEntry(e), "op-0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, made.id);
}

#[tokio::test]
async fn find_created_finishes_a_create_interrupted_before_its_task_patch() {
    let (sim, a) = common::sim().await;
    let (person, _, project) = seed(&sim);
    let task = sim.add_task(&records::task(&project, "T"));
    let mut e = sample_entry(&person, Some(&project), 0, 45, "half done");
    // The POST landed (out of band here) but the task PATCH never ran.
    let mut bare = e.clone();
    bare.task = None;
    let id = sim.add_entry(&bare);
    e.task = Some(task.clone());
    let found = a
        .find_created(&Record::TimeEntry(e), "k")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, id);
    assert_eq!(entry(&found).task, Some(task));
    let other = sample_entry(&person, Some(&project), 500, 45, "never sent");
    assert!(a
        .find_created(&Record::TimeEntry(other), "k2")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_task_id_workaround_also_works_on_a_fixed_server() {
    let (sim, a) = common::sim_with(SimOptions {
        bug_task_id_on_create: false,
        bug_client_get_500: false,
        ..SimOptions::default()
    })
    .await;
    let (person, client, project) = seed(&sim);
    let task = sim.add_task(&records::task(&project, "T"));
    let mut e = sample_entry(&person, Some(&project), 0, 45, "fixed");
    e.task = Some(task.clone());
    let made = a.create(&Record::TimeEntry(e), "k").await.unwrap();
    assert_eq!(entry(&made).task, Some(task));
    assert!(a.get(Kind::Client, &client).await.unwrap().is_some());
}

#[tokio::test]
async fn invalid_records_do_not_sink_the_page() {
    let (sim, a) = common::sim().await;
    let (person, _, project) = seed(&sim);
    let good = sim.add_entry(&sample_entry(&person, Some(&project), 0, 30, "good"));
    let bad = sim.add_entry(&sample_entry(&person, Some(&project), 60, 30, "bad"));
    let worse = sim.add_entry(&sample_entry(&person, Some(&project), 120, 30, "worse"));
    sim.corrupt_entry(
        n(&bad),
        "end_time",
        serde_json::json!("2026-03-10T08:00:00"),
    );
    sim.corrupt_entry(n(&worse), "user_id", serde_json::json!("nobody"));
    let page = a
        .list_page(Kind::TimeEntry, ListScope::StartedIn(test_window()), None)
        .await
        .unwrap();
    let mut ok = BTreeSet::new();
    let mut reasons = Vec::new();
    for item in page.items {
        match item {
            PageItem::Record(r) => {
                ok.insert(r.id);
            }
            PageItem::Invalid(i) => reasons.push((i.remote_id, i.reason)),
        }
    }
    assert_eq!(ok, [good].into_iter().collect());
    assert_eq!(reasons.len(), 2);
    assert!(
        reasons
            .iter()
            .any(|(id, r)| id.as_ref() == Some(&bad) && r.contains("end before start")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|(id, _)| id.as_ref() == Some(&worse)));
}

#[tokio::test]
async fn listing_pages_stay_unique_when_data_shifts() {
    let (sim, a) = common::sim().await;
    let (person, _, project) = seed(&sim);
    for i in 0..150 {
        sim.add_entry(&sample_entry(&person, Some(&project), i * 40, 30, "p"));
    }
    let w = test_window();
    let first = a
        .list_page(Kind::TimeEntry, ListScope::StartedIn(w), None)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 100);
    // A newer entry arrives mid-listing: every older record shifts one place down.
    sim.add_entry(&sample_entry(&person, Some(&project), 200 * 40, 30, "new"));
    let second = a
        .list_page(Kind::TimeEntry, ListScope::StartedIn(w), first.next.clone())
        .await
        .unwrap();
    assert!(second.next.is_none());
    let mut ids: Vec<RemoteId> = Vec::new();
    for item in first.items.into_iter().chain(second.items) {
        if let PageItem::Record(r) = item {
            ids.push(r.id);
        }
    }
    let unique: BTreeSet<_> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "no duplicates");
    assert_eq!(ids.len(), 150);
}

#[tokio::test]
async fn windows_are_half_open_and_include_running_entries() {
    let (sim, a) = common::sim().await;
    let (person, _, project) = seed(&sim);
    let at_from = sim.add_entry(&sample_entry(&person, Some(&project), 0, 30, "at from"));
    let at_to = sim.add_entry(&sample_entry(&person, Some(&project), 60, 30, "at to"));
    let mut running = sample_entry(&person, Some(&project), 40, 0, "running");
    running.ended_at = None;
    running.duration_seconds = None;
    let run = sim.add_entry(&running);
    let w = Window::new(test_instant(0), test_instant(60));
    let ids = entry_ids_in(&a, w).await;
    assert!(ids.contains(&at_from) && ids.contains(&run));
    assert!(!ids.contains(&at_to), "end is exclusive");
    let got = a.get(Kind::TimeEntry, &run).await.unwrap().unwrap();
    assert_eq!(entry(&got).ended_at, None);
    assert_eq!(entry(&got).duration_seconds, None);
    assert!(matches!(
        a.list_page(Kind::TimeEntry, ListScope::ChangedIn(w), None)
            .await,
        Err(ProviderError::Unsupported { .. })
    ));
}

#[tokio::test]
async fn dst_gap_and_fold_in_rome() {
    let (sim, a) = common::sim().await;
    let (person, _, project) = seed(&sim);
    let p = n(&person);
    // Typed in the web app: 02:30-03:30 on 2026-03-29 (02:30 does not exist in Rome).
    let gap = sim.add_entry_local(
        p,
        n(&project),
        naive("2026-03-29T02:30:00"),
        naive("2026-03-29T03:30:00"),
        "gap",
    );
    // 02:30-02:50 on 2026-10-25 happens twice; the server means the second (CET).
    let fold = sim.add_entry_local(
        p,
        n(&project),
        naive("2026-10-25T02:30:00"),
        naive("2026-10-25T02:50:00"),
        "fold",
    );
    let g = a
        .get(Kind::TimeEntry, &RemoteId::from(gap))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry(&g).started_at, utc("2026-03-29T00:30:00Z"));
    assert_eq!(entry(&g).ended_at, Some(utc("2026-03-29T01:30:00Z")));
    assert_eq!(
        entry(&g).duration_seconds,
        Some(3600),
        "the server's duration agrees"
    );
    let f = a
        .get(Kind::TimeEntry, &RemoteId::from(fold))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry(&f).started_at, utc("2026-10-25T01:30:00Z"));
    assert_eq!(entry(&f).ended_at, Some(utc("2026-10-25T01:50:00Z")));
    // Windows around both transitions find them.
    let around = |from: &str, to: &str| Window::new(utc(from), utc(to));
    let ids = entry_ids_in(&a, around("2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z")).await;
    assert!(ids.contains(&RemoteId::from(fold)));
    let ids = entry_ids_in(&a, around("2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z")).await;
    assert!(ids.contains(&RemoteId::from(gap)));

    // Writes send naive local time: across the spring jump 01:30 UTC is 03:30 CEST.
    let other = sim.add_person(&records::person("Bo", None, Some("bo")));
    let mut e = sample_entry(&other, Some(&project), 0, 60, "w1");
    e.started_at = utc("2026-03-29T00:45:00Z");
    e.ended_at = Some(utc("2026-03-29T01:15:00Z"));
    let spring = a
        .create(&Record::TimeEntry(e.clone()), "dst-1")
        .await
        .unwrap();
    let raw = sim.entry_json(n(&spring.id)).unwrap();
    assert_eq!(
        (raw["start_time"].as_str(), raw["end_time"].as_str()),
        (Some("2026-03-29T01:45:00"), Some("2026-03-29T03:15:00"))
    );
    assert_eq!(entry(&spring).started_at, e.started_at);
    assert_eq!(
        entry(&spring).duration_seconds,
        Some(5400),
        "the server's wall-clock figure, which another TimeTracker server computes alike"
    );
    // A fold instant in standard time round-trips exactly.
    let mut e2 = sample_entry(&person, Some(&project), 0, 10, "w2");
    e2.started_at = utc("2026-10-25T01:55:00Z");
    e2.ended_at = Some(utc("2026-10-25T02:05:00Z"));
    let autumn = a
        .create(&Record::TimeEntry(e2.clone()), "dst-2")
        .await
        .unwrap();
    assert_eq!(
        sim.entry_json(n(&autumn.id)).unwrap()["start_time"],
        "2026-10-25T02:55:00"
    );
    assert_eq!(entry(&autumn).started_at, e2.started_at);
}

/// An entry read from one server and created on another (same zone) arrives with the same
/// naive start, end and duration, in a spring gap and across a fall-back fold.
#[tokio::test]
async fn dst_entries_arrive_on_another_server_as_typed() {
    let (source, from) = common::sim().await;
    let (target, to) = common::sim().await;
    let (person, _, project) = seed(&source);
    let (t_person, _, t_project) = seed(&target);
    let typed = [
        ("2026-03-29T02:30:00", "2026-03-29T04:00:00", 5400),
        ("2026-03-29T01:00:00", "2026-03-29T02:30:00", 5400),
        ("2026-10-25T01:30:00", "2026-10-25T02:30:00", 3600),
        ("2026-10-25T02:35:00", "2026-10-25T02:55:00", 1200),
    ];
    for (i, (start, end, duration)) in typed.into_iter().enumerate() {
        let id = source.add_entry_local(n(&person), n(&project), naive(start), naive(end), "dst");
        assert_eq!(source.entry_json(id).unwrap()["duration_seconds"], duration);
        let read = from
            .get(Kind::TimeEntry, &RemoteId::from(id))
            .await
            .unwrap()
            .unwrap();
        let mut e = entry(&read).clone();
        e.person = t_person.clone();
        e.project = Some(t_project.clone());
        let created = to
            .create(&Record::TimeEntry(e.clone()), &format!("dst-{i}"))
            .await
            .unwrap();
        let raw = target.entry_json(n(&created.id)).unwrap();
        assert_eq!(
            (raw["start_time"].as_str(), raw["end_time"].as_str()),
            (Some(start), Some(end)),
            "{start} - {end}"
        );
        assert_eq!(raw["duration_seconds"], duration, "{start} - {end}");
        assert_eq!(entry(&created).started_at, e.started_at);
        assert_eq!(entry(&created).duration_seconds, e.duration_seconds);
        // An update sends the same naive times.
        let target_id = records::target(&created.id, created.version.clone());
        to.update(&target_id, &Record::TimeEntry(e)).await.unwrap();
        let raw = target.entry_json(n(&created.id)).unwrap();
        assert_eq!(raw["start_time"].as_str(), Some(start));
        assert_eq!(raw["duration_seconds"], duration);
    }
}

#[tokio::test]
async fn deep_history_pages_through_many_pages() {
    let (sim, a) = common::sim().await;
    let (person, _, project) = seed(&sim);
    for i in 0..420 {
        sim.add_entry(&sample_entry(&person, Some(&project), i * 40, 30, "h"));
    }
    let mut pages = 0;
    let mut token = None;
    let mut count = 0;
    loop {
        let page = a
            .list_page(Kind::TimeEntry, ListScope::StartedIn(test_window()), token)
            .await
            .unwrap();
        pages += 1;
        count += page.items.len();
        match page.next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!((pages, count), (5, 420));
}

#[tokio::test]
async fn a_refused_task_leaves_the_entry_without_it_and_a_passing_failure_is_reported() {
    let (sim, a) = common::sim().await;
    let (person, client, project) = seed(&sim);
    let elsewhere = sim.add_project(&records::project(Some(&client), "Elsewhere", None));
    let foreign_task = sim.add_task(&records::task(&elsewhere, "Not here"));
    let mut e = sample_entry(&person, Some(&project), 0, 30, "task refused");
    e.task = Some(foreign_task);
    let made = a.create(&Record::TimeEntry(e), "refused-1").await.unwrap();
    assert_eq!(entry(&made).task, None, "the record as the server holds it");
    assert!(sim.entry_json(n(&made.id)).is_some());

    // A task PATCH that keeps failing with 5xx: the error comes back (the POST landed), and
    // find_created completes the create afterwards without a second entry.
    let task = sim.add_task(&records::task(&project, "Good"));
    let mut e2 = sample_entry(&person, Some(&project), 60, 30, "task later");
    e2.task = Some(task.clone());
    a.connect().await.unwrap();
    let before = sim.count(Kind::TimeEntry);
    sim.inject_faults_after(1, Fault::ServerError, 20); // the POST passes, the PATCHes fail
    let err = a
        .create(&Record::TimeEntry(e2.clone()), "later-1")
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    sim.clear_faults();
    assert_eq!(sim.count(Kind::TimeEntry), before + 1, "the POST landed");
    let found = a
        .find_created(&Record::TimeEntry(e2), "later-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry(&found).task, Some(task));
    assert_eq!(sim.count(Kind::TimeEntry), before + 1);
    assert_eq!(sim.entry_json(n(&found.id)).unwrap()["notes"], "task later");
}
