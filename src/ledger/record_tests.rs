//! Record store tests on both backends (`on_both_backends!`): every kind's content through
//! insert, update and the batch reads; an edit reviving a tombstone; natural keys of
//! projects, tasks, usernames and entries (the parts `tests.rs` does not reach).

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};
use timeweave_contract::{
    content_hash, CanonicalId, Client, EntryKind, Kind, Person, Project, Record, RemoteId, Task,
    TimeEntry,
};

use super::tests::temp_ledger;
use super::{LinkUpdate, StoredRecord, Tx};

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap() + chrono::Duration::minutes(minute)
}

fn someone(display_name: &str, email: Option<&str>, username: Option<&str>) -> Record<CanonicalId> {
    Record::Person(Person {
        display_name: display_name.into(),
        email: email.map(Into::into),
        username: username.map(Into::into),
    })
}

fn customer(name: &str) -> Record<CanonicalId> {
    Record::Client(Client {
        name: name.into(),
        email: Some("billing@example.com".into()),
        notes: None,
        archived: false,
    })
}

fn work(client: Option<&CanonicalId>, name: &str) -> Record<CanonicalId> {
    Record::Project(Project {
        client: client.cloned(),
        name: name.into(),
        billable: true,
        hourly_rate_cents: Some(8550),
        archived: false,
    })
}

fn chore(project: &CanonicalId, name: &str) -> Record<CanonicalId> {
    Record::Task(Task {
        project: project.clone(),
        name: name.into(),
        archived: false,
    })
}

/// An entry of `person` from `start` (minutes after 09:00) for an hour, or still running.
fn booked(
    person: &CanonicalId,
    project: Option<&CanonicalId>,
    start: i64,
    finished: bool,
) -> Record<CanonicalId> {
    Record::TimeEntry(TimeEntry {
        person: person.clone(),
        project: project.cloned(),
        task: None,
        client: None,
        started_at: at(start),
        ended_at: finished.then(|| at(start + 60)),
        break_seconds: 120,
        duration_seconds: finished.then_some(3480),
        source_tz: Some("+02:00".into()),
        notes: Some("Review".into()),
        tags: BTreeSet::from(["x".to_string()]),
        billable: false,
        kind: EntryKind::Work,
    })
}

async fn add(tx: &mut Tx, record: &Record<CanonicalId>) -> StoredRecord {
    tx.insert_record(record, "tt", at(0)).await.unwrap()
}

async fn link_to(tx: &mut Tx, provider: &str, s: &StoredRecord, remote: &str) {
    let rid = RemoteId::from(remote);
    let update = LinkUpdate {
        provider,
        kind: s.record.kind(),
        canonical_id: &s.id,
        remote_id: &rid,
        remote_hash: &s.hash,
        canonical_hash: &s.hash,
        remote_version: None,
        remote_updated_at: None,
        remote_started_at: None,
        remote_incarnation: None,
    };
    tx.upsert_link(&update, at(0)).await.unwrap();
}

fn ids(found: &[StoredRecord]) -> Vec<&CanonicalId> {
    found.iter().map(|r| &r.id).collect()
}

crate::on_both_backends! {

#[tokio::test]
async fn every_kind_round_trips_through_insert_update_and_batch_reads() {
    let (_d, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    let p = add(
        &mut tx,
        &someone("Grace", Some("grace@example.com"), Some("grace")),
    )
    .await;
    let c = add(&mut tx, &customer("Initech")).await;
    let pr = add(&mut tx, &work(Some(&c.id), "Migration")).await;
    let t = add(&mut tx, &chore(&pr.id, "Planning")).await;
    let e = add(&mut tx, &booked(&p.id, Some(&pr.id), 0, true)).await;
    let edits = [
        (&p, someone("Grace H.", None, Some("gh"))),
        (
            &c,
            Record::Client(Client {
                name: "Initech AG".into(),
                email: None,
                notes: Some("n".into()),
                archived: true,
            }),
        ),
        (&pr, work(None, "Migration 2")),
        (
            &t,
            Record::Task(Task {
                project: pr.id.clone(),
                name: "Plan".into(),
                archived: true,
            }),
        ),
        (&e, booked(&p.id, None, 30, false)),
    ];
    for (old, edit) in &edits {
        let hash = tx.update_record(&old.id, edit, "tm", at(5)).await.unwrap();
        assert_eq!(hash, content_hash(edit));
        let got = tx.get_record(edit.kind(), &old.id).await.unwrap().unwrap();
        assert_eq!(got.record, edit.clone().normalised(), "{}", edit.kind());
        assert_eq!(
            (got.hash, got.changed_by.as_str(), got.updated_at),
            (hash, "tm", at(5))
        );
        assert_eq!((got.origin.as_str(), got.created_at), ("tt", at(0)));
    }
    let missing = CanonicalId("no-such-id".into());
    assert!(tx.get_record(Kind::Task, &missing).await.unwrap().is_none());
    assert!(tx
        .update_record(&missing, &customer("X"), "tm", at(5))
        .await
        .is_err());

    // Batches: entries on the bulk path, other kinds one by one; both in order.
    let entries: Vec<_> = (1..=3)
        .map(|k| booked(&p.id, None, 100 * k, true))
        .map(|r| {
            let h = content_hash(&r);
            (r, h)
        })
        .collect();
    let stored = tx.insert_records(&entries, "tm", at(9)).await.unwrap();
    assert_eq!(stored.len(), 3);
    for (s, (r, h)) in stored.iter().zip(&entries) {
        assert_eq!((&s.record, &s.hash, s.origin.as_str()), (r, h, "tm"));
        assert_eq!(
            tx.get_record(Kind::TimeEntry, &s.id)
                .await
                .unwrap()
                .as_ref(),
            Some(s)
        );
    }
    let clients: Vec<_> = ["Umbrella", "Hooli"]
        .iter()
        .map(|n| {
            let r = customer(n);
            let h = content_hash(&r);
            (r, h)
        })
        .collect();
    let more = tx.insert_records(&clients, "tm", at(9)).await.unwrap();
    assert_eq!(
        more.iter().map(|s| &s.record).collect::<Vec<_>>(),
        vec![&clients[0].0, &clients[1].0]
    );
    assert!(tx
        .insert_records(&[], "tm", at(9))
        .await
        .unwrap()
        .is_empty());

    let wanted = [&stored[0].id, &stored[2].id, &missing];
    let got = tx.get_records(Kind::TimeEntry, &wanted).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got.get(&stored[2].id), Some(&stored[2]));
    let names = tx
        .names(Kind::Client, &[&c.id, &more[1].id, &missing])
        .await
        .unwrap();
    assert_eq!(names.get(&c.id).map(String::as_str), Some("Initech AG"));
    assert_eq!(names.get(&more[1].id).map(String::as_str), Some("Hooli"));
    assert_eq!(names.len(), 2);
    let names = tx.names(Kind::Task, &[&t.id]).await.unwrap();
    assert_eq!(names.get(&t.id).map(String::as_str), Some("Plan"));
    assert!(tx.names(Kind::Person, &[&p.id]).await.unwrap().is_empty());

    tx.tombstone(Kind::Client, &more[0].id, "tm", at(10))
        .await
        .unwrap();
    assert_eq!(tx.count_live(Kind::Client).await.unwrap(), 2);
    assert_eq!(tx.count_live(Kind::TimeEntry).await.unwrap(), 4);
    let mut live: Vec<_> = [&c.id, &more[1].id].into_iter().cloned().collect();
    live.sort();
    let all: Vec<_> = tx
        .all_live(Kind::Client)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(all, live);
}

/// The entries' bulk path (PostgreSQL: `COPY`'s text format) keeps every character a
/// provider may send, and NULL apart from the text `\N`; a U+0000, which no text means and
/// PostgreSQL cannot store, is dropped on both backends instead of failing the batch.
#[tokio::test]
async fn entries_with_awkward_text_and_missing_fields_come_back_as_written() {
    let (_d, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    let p = add(&mut tx, &someone("Zoë", Some("zoe@example.com"), None)).await;
    let awkward = "tab\there\nnew line\r\nCRLF back\\slash \\N \\t end\\ ünï 🎉";
    let full = match booked(&p.id, None, 0, true) {
        Record::TimeEntry(e) => TimeEntry {
            notes: Some(awkward.into()),
            source_tz: Some("Europe/Zürich\t".into()),
            tags: BTreeSet::from([awkward.to_string(), "\\N".to_string()]),
            ..e
        },
        _ => unreachable!(),
    };
    let bare = TimeEntry {
        notes: Some("\\N\0 after a NUL".into()),
        source_tz: None,
        tags: BTreeSet::new(),
        billable: true,
        kind: EntryKind::Attendance,
        ..match booked(&p.id, None, 200, false) {
            Record::TimeEntry(e) => e,
            _ => unreachable!(),
        }
    };
    let none = TimeEntry {
        notes: None,
        ..bare.clone()
    };
    let batch: Vec<_> = [full, bare, none]
        .into_iter()
        .map(|e| {
            let r = Record::TimeEntry(e);
            let h = content_hash(&r);
            (r, h)
        })
        .collect();
    let stored = tx.insert_records(&batch, "tm", at(9)).await.unwrap();
    assert_eq!(stored.len(), 3);
    for s in &stored {
        let got = tx.get_record(Kind::TimeEntry, &s.id).await.unwrap();
        assert_eq!(got.as_ref(), Some(s));
    }
    assert!(
        matches!(&stored[1].record, Record::TimeEntry(e) if e.notes.as_deref() == Some("\\N after a NUL")),
        "{:?}",
        stored[1].record
    );
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_edit_revives_a_tombstone_and_drops_only_its_dead_links() {
    let (_d, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    let c = add(&mut tx, &customer("Globex")).await;
    link_to(&mut tx, "gone", &c, "g1").await;
    link_to(&mut tx, "kept", &c, "k1").await;
    tx.mark_link_remote_deleted("gone", Kind::Client, &RemoteId::from("g1"), at(1))
        .await
        .unwrap();
    tx.tombstone(Kind::Client, &c.id, "kept", at(2))
        .await
        .unwrap();
    let dead = tx.get_record(Kind::Client, &c.id).await.unwrap().unwrap();
    assert_eq!(
        (dead.deleted_at, dead.changed_by.as_str()),
        (Some(at(2)), "kept")
    );
    // A second tombstone changes nothing.
    tx.tombstone(Kind::Client, &c.id, "other", at(3))
        .await
        .unwrap();
    let still = tx.get_record(Kind::Client, &c.id).await.unwrap().unwrap();
    assert_eq!(still, dead);

    tx.update_record(&c.id, &customer("Globex Corp"), "kept", at(4))
        .await
        .unwrap();
    let back = tx.get_record(Kind::Client, &c.id).await.unwrap().unwrap();
    assert!(back.is_live());
    let providers: BTreeSet<String> = tx
        .links_of(&c.id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.provider)
        .collect();
    assert_eq!(providers, BTreeSet::from(["kept".to_string()]));
}

#[tokio::test]
async fn natural_keys_of_projects_tasks_usernames_and_entries() {
    let (_d, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    let c = add(&mut tx, &customer("Acme")).await;
    let with_client = add(&mut tx, &work(Some(&c.id), "Web  Site")).await;
    let without = add(&mut tx, &work(None, "web site")).await;
    let found = tx
        .natural_key_candidates(&work(Some(&c.id), "WEB SITE"), "tm")
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![&with_client.id]);
    let found = tx
        .natural_key_candidates(&work(None, " Web Site "), "tm")
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![&without.id]);
    assert!(tx
        .natural_key_candidates(&work(None, "Web"), "tm")
        .await
        .unwrap()
        .is_empty());

    let task = add(&mut tx, &chore(&with_client.id, "Ünit Tests")).await;
    let found = tx
        .natural_key_candidates(&chore(&with_client.id, "üNIT tests"), "tm")
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![&task.id]);
    assert!(tx
        .natural_key_candidates(&chore(&without.id, "Ünit Tests"), "tm")
        .await
        .unwrap()
        .is_empty());

    // People: the e-mail first; else the username, among those without an e-mail.
    let mailed = tx
        .insert_record(
            &someone("Ann", Some("ann@example.com"), Some("Ann.B")),
            "tt",
            at(1),
        )
        .await
        .unwrap();
    let plain = tx
        .insert_record(&someone("Ann", None, Some("ann.b")), "tt", at(2))
        .await
        .unwrap();
    let found = tx
        .natural_key_candidates(&someone("A", Some("ANN@example.com"), None), "tm")
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![&mailed.id]);
    let found = tx
        .natural_key_candidates(&someone("A", Some("new@example.com"), Some("ANN.B")), "tm")
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![&plain.id]);
    let found = tx
        .natural_key_candidates(&someone("A", None, Some("ann.b")), "tm")
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![&mailed.id, &plain.id], "oldest first");
    assert!(tx
        .natural_key_candidates(&someone("A", None, None), "tm")
        .await
        .unwrap()
        .is_empty());

    // Entries: nearest start first; a project of the same name counts; running ones
    // match running ones only.
    let p = plain.id.clone();
    let far = add(&mut tx, &booked(&p, Some(&with_client.id), 1, true)).await;
    let near = add(&mut tx, &booked(&p, Some(&without.id), 0, true)).await;
    let other = add(&mut tx, &work(None, "Other")).await;
    add(&mut tx, &booked(&p, Some(&other.id), 0, true)).await;
    add(&mut tx, &booked(&p, None, 0, true)).await;
    let running = add(&mut tx, &booked(&p, Some(&without.id), 0, false)).await;
    let mut probe = booked(&p, Some(&with_client.id), 0, true);
    if let Record::TimeEntry(e) = &mut probe {
        e.started_at += chrono::Duration::seconds(10);
        e.ended_at = e.ended_at.map(|t| t + chrono::Duration::seconds(10));
    }
    let found = tx.natural_key_candidates(&probe, "tm").await.unwrap();
    assert_eq!(ids(&found), vec![&near.id, &far.id]);
    let found = tx
        .natural_key_candidates(&booked(&p, Some(&without.id), 0, false), "tm")
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![&running.id]);
}

#[tokio::test]
async fn the_live_holder_of_an_email_is_found_by_its_stored_form() {
    let (_dir, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    let ada = tx
        .insert_record(&someone("Ada", Some(" Ada@Example.com "), None), "tm", at(0))
        .await
        .unwrap();
    let held = tx.live_person_with_email("ada@example.com").await.unwrap();
    assert_eq!(held.as_ref(), Some(&ada.id));
    assert_eq!(tx.live_person_with_email("bob@example.com").await.unwrap(), None);
    tx.tombstone(Kind::Person, &ada.id, "tm", at(1)).await.unwrap();
    assert_eq!(
        tx.live_person_with_email("ada@example.com").await.unwrap(),
        None,
        "a deleted person holds no address"
    );
}
}
