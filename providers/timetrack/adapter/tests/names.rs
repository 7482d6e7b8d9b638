//! Name-based references: TimeTrack links entries to projects, clients, tasks and users by
//! name; the adapter's ids must survive renames, and unknown names become invalid items.

mod common;

use timeweave_contract::{Kind, ListScope, PageItem, Provider, Record};
use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::{list_all, list_entries, records, sample_entry, test_window};
use timeweave_timetrack_sim::SimOptions;

fn project_of(r: &timeweave_contract::RemoteRecord) -> Option<timeweave_contract::RemoteId> {
    match &r.record {
        Record::TimeEntry(e) => e.project.clone(),
        _ => None,
    }
}

#[tokio::test]
async fn references_survive_a_project_rename_through_the_adapter() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "rn");
    let entry = sim.add_entry(&sample_entry(
        &s.person,
        Some(&s.project),
        0,
        30,
        "before rename",
    ));
    let listed = list_entries(&adapter).await;
    assert_eq!(project_of(&listed[0]), Some(s.project.clone()));

    let renamed = records::project(Some(&s.client), "Project rn (renamed)", Some(8550));
    adapter
        .update(
            &records::target(&s.project, None),
            &Record::Project(renamed.clone()),
        )
        .await
        .expect("a project rename is a PUT of projectName");
    // The entry now carries the new name on the wire, and still maps to the same project.
    assert_eq!(
        sim.raw_entry(&entry).unwrap()["projectName"],
        "Project rn (renamed)"
    );
    let listed = list_entries(&adapter).await;
    assert_eq!(project_of(&listed[0]), Some(s.project.clone()));

    // Writes name the project by its new name.
    let created = adapter
        .create(
            &Record::TimeEntry(sample_entry(&s.person, Some(&s.project), 60, 30, "after")),
            "k",
        )
        .await
        .unwrap();
    assert_eq!(
        sim.raw_entry(&created.id).unwrap()["projectName"],
        "Project rn (renamed)"
    );
}

#[tokio::test]
async fn out_of_band_renames_are_picked_up_by_one_refresh() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "ob");
    sim.add_entry(&sample_entry(&s.person, Some(&s.project), 0, 30, "x"));
    // Fill the directory.
    list_all(&adapter, Kind::Project, ListScope::All).await;
    list_entries(&adapter).await;

    // Renamed in the web app: client and project.
    assert!(sim.rename(Kind::Client, &s.client, "Client ob GmbH"));
    assert!(sim.rename(Kind::Project, &s.project, "Project ob v2"));
    let before = sim.requests_served();
    let listed = list_entries(&adapter).await;
    assert_eq!(project_of(&listed[0]), Some(s.project.clone()));
    // One page of entries plus one refresh of /projects: not a request per entry.
    assert_eq!(sim.requests_served() - before, 2);
    let projects = list_all(&adapter, Kind::Project, ListScope::All).await;
    let p = projects.iter().find(|r| r.id == s.project).unwrap();
    match &p.record {
        Record::Project(p) => {
            assert_eq!(p.name, "Project ob v2");
            assert_eq!(p.client.as_ref(), Some(&s.client));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unknown_names_make_invalid_items_and_the_page_goes_on() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "un");
    let good = sim.add_entry(&sample_entry(&s.person, Some(&s.project), 0, 30, "good"));
    // An entry whose user was deleted in the web app: its username is no longer in /users.
    let other = common::seed(&sim, "gone");
    let orphan = sim.add_entry(&sample_entry(
        &other.person,
        Some(&s.project),
        60,
        30,
        "orphan",
    ));
    assert!(sim.remove(Kind::Person, &other.person));

    let page = adapter
        .list_page(Kind::TimeEntry, ListScope::StartedIn(test_window()), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    let mut saw_good = false;
    for item in &page.items {
        match item {
            PageItem::Record(r) => {
                assert_eq!(r.id, good);
                saw_good = true;
            }
            PageItem::Invalid(bad) => {
                assert_eq!(bad.remote_id.as_ref(), Some(&orphan));
                assert!(
                    bad.reason.contains("adagone") && bad.reason.contains("/users"),
                    "{}",
                    bad.reason
                );
            }
        }
    }
    assert!(saw_good);
    // The miss is remembered: the next page does not refresh /users again.
    let before = sim.requests_served();
    adapter
        .list_page(Kind::TimeEntry, ListScope::StartedIn(test_window()), None)
        .await
        .unwrap();
    assert_eq!(sim.requests_served() - before, 1);
}
