//! The comparison catches what a count cannot: a changed field, a missing entry made up for
//! by a double, across id spaces that differ.

use chrono::{TimeZone, Utc};
use timeweave_contract::{Client, Person, Project, RemoteId};
use timeweave_simkit::work_entry;

use super::*;
use timeweave_testsupport::memory::MemoryProvider;

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, hour, 0, 0).unwrap()
}

fn span() -> Window {
    Window::new(at(0) - Duration::days(1), at(0) + Duration::days(1))
}

/// A provider holding Ada and the project "Acme / Website" (ids made by the provider, so
/// two of them never share ids, and one numbering for all kinds), with one entry per
/// `(hour, notes)`.
fn provider(entries: &[(u32, &str)]) -> MemoryProvider {
    let p = MemoryProvider::new(2);
    // Something else first, so the two providers' ids for Ada differ.
    p.put(Record::Client(Client {
        name: format!("Filler {}", entries.len()),
        email: None,
        notes: None,
        archived: false,
    }));
    let ada = p.put(Record::Person(Person {
        display_name: "Ada".into(),
        email: Some("Ada@Example.com".into()),
        username: None,
    }));
    let acme = p.put(Record::Client(Client {
        name: " ACME ".into(),
        email: None,
        notes: None,
        archived: false,
    }));
    let website = p.put(Record::Project(Project {
        client: Some(acme),
        name: "Website".into(),
        billable: true,
        hourly_rate_cents: None,
        archived: false,
    }));
    for (hour, notes) in entries {
        p.put(Record::TimeEntry(work_entry(
            &ada,
            Some(&website),
            at(*hour),
            30,
            notes,
        )));
    }
    p
}

async fn read(name: &str, p: &MemoryProvider) -> Holding {
    read_provider(name, p, span()).await.unwrap()
}

#[tokio::test]
async fn the_same_entries_in_other_id_spaces_agree() {
    let a = read("a", &provider(&[(8, "one"), (9, "two"), (10, "three")])).await;
    let b = read("b", &provider(&[(8, "one"), (9, "two"), (10, "three")])).await;
    assert_eq!(a.entries.len(), 3);
    assert_eq!(a.entries[0].person, "ada@example.com");
    assert_eq!(a.entries[0].project.as_deref(), Some("acme / website"));
    assert_eq!(compare_all(&a, &[b]), vec![]);
}

#[tokio::test]
async fn a_changed_field_is_caught_where_the_counts_agree() {
    let a = read(
        "ledger",
        &provider(&[(8, "one"), (9, "two"), (10, "three")]),
    )
    .await;
    let b = read("b", &provider(&[(8, "one"), (9, "TWO"), (10, "three")])).await;
    assert_eq!(a.entries.len(), b.entries.len(), "the same count");
    let found = compare_all(&a, &[b]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].side, "b");
    assert!(
        found[0].entry.contains("ada@example.com")
            && found[0].entry.contains("2026-03-10 09:00")
            && found[0].entry.contains("two"),
        "the entry is named: {}",
        found[0]
    );
    assert!(found[0].what.contains("notes"), "{}", found[0]);
}

#[tokio::test]
async fn a_missing_entry_made_up_for_by_a_double_is_caught() {
    let a = read("ledger", &provider(&[(8, "one"), (9, "two")])).await;
    let b = read("b", &provider(&[(8, "one"), (8, "one")])).await;
    assert_eq!(a.entries.len(), b.entries.len(), "the same count");
    let found: Vec<String> = compare_all(&a, &[b])
        .iter()
        .map(|m| m.to_string())
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|m| m.contains("2 times")), "{found:?}");
    assert!(
        found
            .iter()
            .any(|m| m.contains("lacks") && m.contains("09:00")),
        "{found:?}"
    );
}

#[tokio::test]
async fn fields_a_provider_does_not_hold_are_not_compared() {
    let a = read("ledger", &provider(&[(8, "one")])).await;
    let mut b = read("b", &provider(&[(8, "")])).await;
    assert_eq!(compare_all(&a, &[b.clone()]).len(), 1);
    b.unheld = vec![Field::EntryNotes];
    assert_eq!(compare_all(&a, &[b]), vec![]);
}

#[test]
fn an_unknown_reference_is_named_not_dropped() {
    let keys = reference_keys::<RemoteId>(vec![]);
    let e = keyed(
        Record::TimeEntry(work_entry(&RemoteId::new("7"), None, at(8), 30, "x")),
        &keys,
    )
    .unwrap();
    assert_eq!(e.person, "unknown person 7");
}

#[test]
fn a_person_and_a_project_may_share_an_id() {
    let keys = reference_keys(vec![
        (
            "1".to_owned(),
            Record::Person(Person {
                display_name: "Ada".into(),
                email: Some("ada@example.com".into()),
                username: None,
            }),
        ),
        (
            "1".to_owned(),
            Record::Project(Project::<RemoteId> {
                client: None,
                name: "Website".into(),
                billable: true,
                hourly_rate_cents: None,
                archived: false,
            }),
        ),
    ]);
    let one = RemoteId::new("1");
    let e = keyed(
        Record::TimeEntry(work_entry(&one, Some(&one), at(8), 30, "x")),
        &keys,
    )
    .unwrap();
    assert_eq!(e.person, "ada@example.com");
    assert_eq!(e.project.as_deref(), Some(" / website"));
}
