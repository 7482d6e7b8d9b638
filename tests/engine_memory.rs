//! The sync engine end to end against in-memory providers: convergence without duplicates,
//! edit and delete propagation, every conflict policy, crash safety of pushes, the
//! mass-delete guard, push-mode migrations and dry runs.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, DurationRound, Utc};
use timeweave::config::Mode;
use timeweave::ledger::postgres as lease;
use timeweave::ledger::test_backend::{on_backend, open_test_ledger, TestBackend};
use timeweave::ledger::{ConflictRow, LedgerError, RunStatus};
use timeweave::sync::plan::ConflictPolicy;
use timeweave::sync::{CycleOptions, Engine, ProviderHandle, StopFlag, SyncSettings};
use timeweave_contract::{
    Client, EntryKind, Field, Kind, Person, Project, ProviderError, Record, RemoteId, TimeEntry,
};
use timeweave_testsupport::memory::{MemoryFault, MemoryProvider};

struct World {
    _dir: tempfile::TempDir,
    engine: Engine,
    providers: Vec<(Arc<MemoryProvider>, ProviderHandle)>,
}

fn settings(policy: ConflictPolicy) -> SyncSettings {
    SyncSettings {
        policy,
        ..SyncSettings::defaults(Utc::now() - Duration::days(400))
    }
}

async fn world(names: &[(&str, Mode)], policy: ConflictPolicy) -> World {
    let providers = names
        .iter()
        .map(|(name, mode)| (*name, *mode, MemoryProvider::new(7)))
        .collect();
    world_of(providers, policy).await
}

/// Two providers syncing both ways: an ordinary `a`, and `b` as given.
async fn a_and_b(b: MemoryProvider, policy: ConflictPolicy) -> World {
    world_of(
        vec![
            ("a", Mode::Both, MemoryProvider::new(7)),
            ("b", Mode::Both, b),
        ],
        policy,
    )
    .await
}

async fn world_of(providers: Vec<(&str, Mode, MemoryProvider)>, policy: ConflictPolicy) -> World {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_test_ledger(dir.path()).await.unwrap();
    let engine = Engine::new(ledger, settings(policy), StopFlag::new());
    let providers = providers
        .into_iter()
        .map(|(name, mode, p)| {
            let p = Arc::new(p);
            let h = ProviderHandle::new(name, p.clone(), mode);
            (p, h)
        })
        .collect();
    World {
        _dir: dir,
        engine,
        providers,
    }
}

impl World {
    fn p(&self, i: usize) -> &MemoryProvider {
        &self.providers[i].0
    }

    async fn cycle(&self, i: usize) -> timeweave::sync::CycleReport {
        let report = self
            .engine
            .run_cycle(&self.providers[i].1, CycleOptions::default())
            .await
            .expect("ledger ok");
        report
    }

    /// A clean cycle of provider `i` that lists its whole history (as `--sync-once` does).
    async fn cycle_all_history(&self, i: usize) {
        let all_history = CycleOptions {
            to_completion: true,
            ..CycleOptions::default()
        };
        let r = self
            .engine
            .run_cycle(&self.providers[i].1, all_history)
            .await
            .expect("ledger ok");
        assert!(r.is_clean(), "{:?}", r.errors);
    }

    /// Cycles every provider `rounds` times, asserting each cycle was clean.
    async fn rounds(&self, rounds: usize) {
        for _ in 0..rounds {
            for i in 0..self.providers.len() {
                let r = self.cycle(i).await;
                assert!(r.errors.is_empty(), "{}: {:?}", r.provider, r.errors);
                // Declared fields are no surprise: nothing written comes back otherwise.
                assert!(r.warnings.is_empty(), "{}: {:?}", r.provider, r.warnings);
            }
        }
    }
}

fn person_record(email: &str) -> Record<RemoteId> {
    Record::Person(Person {
        display_name: email.into(),
        email: Some(email.into()),
        username: None,
    })
}

/// Seeds one person, a client and a project; returns (person, project).
fn seed_refs(p: &MemoryProvider, email: &str, project: &str) -> (RemoteId, RemoteId) {
    let person = p.put(person_record(email));
    (person, seed_project(p, project))
}

/// Seeds the client Acme and its billable project `name` (90.00 an hour); returns the
/// project.
fn seed_project(p: &MemoryProvider, name: &str) -> RemoteId {
    let client = p.put(Record::Client(Client {
        name: "Acme".into(),
        email: None,
        notes: None,
        archived: false,
    }));
    p.put(Record::Project(Project {
        client: Some(client),
        name: name.into(),
        billable: true,
        hourly_rate_cents: Some(9000),
        archived: false,
    }))
}

/// Two ordinary providers, a and b, syncing both ways.
async fn pair(policy: ConflictPolicy) -> World {
    a_and_b(MemoryProvider::new(7), policy).await
}

/// Ada, a client and the project "Website" in a, Ada alone in b; returns (person, project)
/// in a.
fn seed_ada(w: &World) -> (RemoteId, RemoteId) {
    let refs = seed_refs(w.p(0), "ada@example.com", "Website");
    w.p(1).put(person_record("ada@example.com"));
    refs
}

fn at(days_ago: i64, hour: i64) -> chrono::DateTime<Utc> {
    (Utc::now() - Duration::days(days_ago))
        .duration_trunc(Duration::days(1))
        .unwrap()
        + Duration::hours(hour)
}

fn entry(
    person: &RemoteId,
    project: &RemoteId,
    days_ago: i64,
    hour: i64,
    notes: &str,
) -> Record<RemoteId> {
    let start = at(days_ago, hour);
    Record::TimeEntry(TimeEntry {
        person: person.clone(),
        project: Some(project.clone()),
        task: None,
        client: None,
        started_at: start,
        ended_at: Some(start + Duration::minutes(45)),
        break_seconds: 0,
        duration_seconds: Some(2700),
        source_tz: None,
        notes: Some(notes.into()),
        tags: BTreeSet::new(),
        billable: true,
        kind: EntryKind::Work,
    })
}

/// Each provider's entries as (start, notes), sorted.
fn contents(p: &MemoryProvider) -> Vec<(String, String)> {
    let mut v: Vec<_> = p
        .all(Kind::TimeEntry)
        .into_iter()
        .map(|r| match r.record {
            Record::TimeEntry(e) => (e.started_at.to_rfc3339(), e.notes.unwrap_or_default()),
            _ => unreachable!(),
        })
        .collect();
    v.sort();
    v
}

timeweave::on_both_backends! {
#[tokio::test]
async fn three_providers_converge_without_duplicates() {
    let w = world(
        &[("a", Mode::Both), ("b", Mode::Both), ("c", Mode::Both)],
        ConflictPolicy::Newest,
    )
    .await;
    for (i, p) in [w.p(0), w.p(1), w.p(2)].into_iter().enumerate() {
        let (person, project) = seed_refs(p, "ada@example.com", "Website");
        for d in 0..5 {
            p.put(entry(
                &person,
                &project,
                d + 1,
                8 + i as i64,
                &format!("p{i} d{d}"),
            ));
        }
        // The same work recorded everywhere: must be linked, not tripled.
        p.put(entry(&person, &project, 20, 14, "shared"));
    }
    w.rounds(2).await;
    let expected = contents(w.p(0));
    assert_eq!(
        expected.len(),
        16,
        "5 + 5 + 5 own entries and one shared: {expected:?}"
    );
    assert_eq!(contents(w.p(1)), expected);
    assert_eq!(contents(w.p(2)), expected);
    for i in 0..3 {
        assert_eq!(w.p(i).all(Kind::Project).len(), 1, "one project each");
        assert_eq!(w.p(i).all(Kind::Client).len(), 1, "one client each");
    }
    assert_eq!(live(&w, Kind::TimeEntry).await, 16);
    assert_eq!(live(&w, Kind::Person).await, 1);
    // A further round changes nothing anywhere.
    let before = w.p(0).requests();
    let r = w.cycle(0).await;
    assert_eq!(
        (r.counts.created, r.counts.updated, r.counts.pushed),
        (0, 0, 0)
    );
    assert!(w.p(0).requests() > before);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn edits_and_deletes_propagate() {
    let w = pair(ConflictPolicy::Newest).await;
    let (person, project) = seed_ada(&w);
    let e1 = w.p(0).put(entry(&person, &project, 2, 9, "first"));
    let e2 = w.p(0).put(entry(&person, &project, 3, 9, "second"));
    w.rounds(1).await;
    assert_eq!(contents(w.p(1)).len(), 2);

    // An edit in b reaches a.
    let b_id = w
        .p(1)
        .all(Kind::TimeEntry)
        .into_iter()
        .find(|r| {
            r.record
                .label()
                .contains(&at(2, 9).format("%Y-%m-%d").to_string())
        })
        .unwrap()
        .id;
    edit_entry(w.p(1), &b_id, |e| {
        e.notes = Some("first, edited in b".into())
    });
    w.rounds(1).await;
    w.rounds(1).await;
    // In place: the same record in a carries the edit, and no copy appeared beside it.
    let a_now = contents(w.p(0));
    assert_eq!(a_now.len(), 2, "{a_now:?}");
    assert_eq!(
        entry_in(w.p(0), &e1).notes.as_deref(),
        Some("first, edited in b")
    );

    // A delete in a reaches b.
    assert!(w.p(0).remove(Kind::TimeEntry, &e2));
    w.rounds(2).await;
    assert_eq!(contents(w.p(1)).len(), 1, "{:?}", contents(w.p(1)));
    assert_eq!(live(&w, Kind::TimeEntry).await, 1);
}
}

/// Entry `id` as `p` holds it now.
fn entry_in(p: &MemoryProvider, id: &RemoteId) -> TimeEntry<RemoteId> {
    match p.get_now(Kind::TimeEntry, id).map(|r| r.record) {
        Some(Record::TimeEntry(e)) => e,
        other => panic!("entry {id:?}: {other:?}"),
    }
}

/// Project `id` as `p` holds it now.
fn project_in(p: &MemoryProvider, id: &RemoteId) -> Project<RemoteId> {
    match p.get_now(Kind::Project, id).map(|r| r.record) {
        Some(Record::Project(pr)) => pr,
        other => panic!("project {id:?}: {other:?}"),
    }
}

/// Edits project `id` in `p` out of band.
fn edit_project(p: &MemoryProvider, id: &RemoteId, change: impl FnOnce(&mut Project<RemoteId>)) {
    let mut pr = project_in(p, id);
    change(&mut pr);
    p.edit(id, Record::Project(pr));
}

/// The ledger's only live record of `kind`.
async fn ledger_only(w: &World, kind: Kind) -> Record<timeweave_contract::CanonicalId> {
    let mut tx = w.engine.ledger().read().await.unwrap();
    match tx.all_live(kind).await.unwrap().as_slice() {
        [r] => r.record.clone(),
        other => panic!("{other:?}"),
    }
}

/// Entry `id` in `p` has these notes and tags.
fn assert_notes_and_tags(p: &MemoryProvider, id: &RemoteId, notes: &str, tags: &[&str]) {
    let e = entry_in(p, id);
    assert_eq!(e.notes.as_deref(), Some(notes), "notes of {id:?}");
    let want: BTreeSet<String> = tags.iter().map(|t| t.to_string()).collect();
    assert_eq!(e.tags, want, "tags of {id:?}");
}

/// The conflicts the ledger recorded: all of them, or only those still open.
async fn conflicts(w: &World, open_only: bool) -> Vec<ConflictRow> {
    let mut tx = w.engine.ledger().read().await.unwrap();
    tx.conflicts(open_only).await.unwrap()
}

/// How many live records of `kind` the ledger holds.
async fn live(w: &World, kind: Kind) -> i64 {
    let mut tx = w.engine.ledger().read().await.unwrap();
    tx.count_live(kind).await.unwrap()
}

/// Edits entry `id` in `p` out of band (as someone in the provider's app).
fn edit_entry(p: &MemoryProvider, id: &RemoteId, change: impl FnOnce(&mut TimeEntry<RemoteId>)) {
    let mut e = entry_in(p, id);
    change(&mut e);
    p.edit(id, Record::TimeEntry(e));
}

/// The only record of `kind` in `p`.
fn only(p: &MemoryProvider, kind: Kind) -> (RemoteId, Record<RemoteId>) {
    let all = p.all(kind);
    assert_eq!(all.len(), 1, "{all:?}");
    (all[0].id.clone(), all[0].record.clone())
}

timeweave::on_both_backends! {
#[tokio::test]
async fn fields_a_provider_cannot_hold_survive_its_edits() {
    // b has no project billable flag and no entry tags: it reads them back as constants.
    let w = a_and_b(
        MemoryProvider::new(7).with_unheld(vec![Field::ProjectBillable, Field::EntryTags]),
        ConflictPolicy::Newest,
    )
    .await;
    let (person, project) = seed_ada(&w);
    edit_project(w.p(0), &project, |p| p.billable = false);
    let mut tagged = entry(&person, &project, 2, 9, "tagged");
    if let Record::TimeEntry(e) = &mut tagged {
        e.tags = ["support".to_owned()].into();
    }
    let a_entry = w.p(0).put(tagged);
    w.rounds(2).await;
    let (b_project, _) = only(w.p(1), Kind::Project);
    let (b_entry, b_copy) = only(w.p(1), Kind::TimeEntry);
    match &b_copy {
        Record::TimeEntry(e) => assert!(e.tags.is_empty(), "b cannot hold tags"),
        other => panic!("{other:?}"),
    }

    // Edits in b of what it does hold: a rename and new notes.
    edit_project(w.p(1), &b_project, |p| {
        assert!(p.billable, "b reads every project as billable");
        p.name = "Website 2".into();
    });
    edit_entry(w.p(1), &b_entry, |e| {
        e.notes = Some("tagged, edited in b".into())
    });
    w.rounds(2).await;

    // The edits arrive; what b cannot hold is what a set, in a and in the ledger.
    let p = project_in(w.p(0), &project);
    assert_eq!((p.name.as_str(), p.billable), ("Website 2", false));
    assert_notes_and_tags(w.p(0), &a_entry, "tagged, edited in b", &["support"]);
    assert!(
        matches!(ledger_only(&w, Kind::Project).await, Record::Project(p) if p.name == "Website 2" && !p.billable)
    );
    assert!(
        conflicts(&w, false).await.is_empty(),
        "an unheld field is no conflict"
    );

    // A change a makes to such a field still travels (and b still cannot hold it).
    edit_project(w.p(0), &project, |p| p.billable = true);
    w.rounds(2).await;
    assert!(matches!(ledger_only(&w, Kind::Project).await, Record::Project(p) if p.billable));

    // A change only to a field b cannot hold is not sent to b at all.
    let b_before = w.p(1).get_now(Kind::TimeEntry, &b_entry).unwrap();
    edit_entry(w.p(0), &a_entry, |e| {
        e.tags = ["support".to_owned(), "urgent".to_owned()].into()
    });
    w.rounds(2).await;
    assert_eq!(
        w.p(1).get_now(Kind::TimeEntry, &b_entry).unwrap(),
        b_before,
        "no write to b"
    );
    assert!(
        matches!(ledger_only(&w, Kind::TimeEntry).await, Record::TimeEntry(e) if e.tags.len() == 2)
    );
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_copy_that_differs_only_in_unheld_fields_is_adopted_without_a_conflict() {
    let w = a_and_b(
        MemoryProvider::new(7).with_unheld(vec![Field::ProjectBillable]),
        ConflictPolicy::Newest,
    )
    .await;
    // The same client and project in both, before any sync; b reads it as billable.
    for p in [w.p(0), w.p(1)] {
        let client = p.put(Record::Client(Client {
            name: "Acme".into(),
            email: None,
            notes: None,
            archived: false,
        }));
        p.put(Record::Project(Project {
            client: Some(client),
            name: "Internal".into(),
            billable: false,
            hourly_rate_cents: None,
            archived: false,
        }));
    }
    w.rounds(2).await;
    assert_eq!(w.p(1).all(Kind::Project).len(), 1, "adopted, not copied");
    assert!(conflicts(&w, false).await.is_empty());
    assert!(matches!(ledger_only(&w, Kind::Project).await, Record::Project(p) if !p.billable));
}
}

/// a and b (b as given) hold one synced entry; then, at the same time, b edits its notes
/// and a its tags, and every provider cycles twice. a would win any conflict, so without a
/// merge b's edit is lost. Returns the world and the entry's id in a and in b.
async fn notes_in_b_and_tags_in_a(b: MemoryProvider) -> (World, RemoteId, RemoteId) {
    let w = a_and_b(b, ConflictPolicy::Prefer(vec!["a".into(), "b".into()])).await;
    let (person, project) = seed_ada(&w);
    let a_entry = w.p(0).put(entry(&person, &project, 2, 9, "first"));
    w.rounds(2).await;
    let (b_entry, _) = only(w.p(1), Kind::TimeEntry);
    edit_entry(w.p(1), &b_entry, |e| e.notes = Some("notes from b".into()));
    edit_entry(w.p(0), &a_entry, |e| e.tags = ["from-a".to_owned()].into());
    w.rounds(2).await;
    (w, a_entry, b_entry)
}

timeweave::on_both_backends! {
#[tokio::test]
async fn an_edit_where_the_ledger_changed_only_unheld_fields_is_no_conflict() {
    // b cannot hold tags.
    let (w, a_entry, _) =
        notes_in_b_and_tags_in_a(MemoryProvider::new(7).with_unheld(vec![Field::EntryTags])).await;
    // Both edits everywhere they can be held; nothing to settle.
    assert_notes_and_tags(w.p(0), &a_entry, "notes from b", &["from-a"]);
    assert_eq!(conflicts(&w, false).await.len(), 0);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn edits_of_different_fields_in_two_providers_both_survive() {
    let (w, a_entry, b_entry) = notes_in_b_and_tags_in_a(MemoryProvider::new(7)).await;
    for (p, id) in [(w.p(0), &a_entry), (w.p(1), &b_entry)] {
        assert_notes_and_tags(p, id, "notes from b", &["from-a"]);
    }
    let mut tx = w.engine.ledger().read().await.unwrap();
    assert!(
        tx.conflicts(false).await.unwrap().is_empty(),
        "merged, no conflict"
    );
    assert_eq!(
        tx.count_versions().await.unwrap(),
        0,
        "versions no link names are pruned"
    );
    drop(tx);

    // The same field edited on both sides is still a conflict, settled by the policy for
    // that field only: b's edit of another field survives.
    edit_entry(w.p(1), &b_entry, |e| {
        e.notes = Some("b again".into());
        e.tags = ["from-b".to_owned()].into();
    });
    edit_entry(w.p(0), &a_entry, |e| e.notes = Some("a again".into()));
    w.rounds(2).await;
    assert_eq!(contents(w.p(1)), contents(w.p(0)));
    assert_eq!(contents(w.p(0))[0].1, "a again", "a wins by preference");
    for (p, id) in [(w.p(0), &a_entry), (w.p(1), &b_entry)] {
        assert_eq!(entry_in(p, id).tags, ["from-b".to_owned()].into());
    }
    assert_eq!(conflicts(&w, false).await.len(), 1);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_pull_only_provider_keeps_merging_against_what_it_holds() {
    // b is only read: the merged record never reaches it, so the next merge must use b's
    // own version as the base, not lose the ledger's side.
    let w = world_of(
        vec![
            ("a", Mode::Both, MemoryProvider::new(7)),
            ("b", Mode::Pull, MemoryProvider::new(7)),
        ],
        ConflictPolicy::Prefer(vec!["a".into(), "b".into()]),
    )
    .await;
    let (person, project) = seed_refs(w.p(0), "ada@example.com", "Website");
    let (b_person, b_project) = seed_refs(w.p(1), "ada@example.com", "Website");
    let start_entry = entry(&person, &project, 2, 9, "first");
    let a_entry = w.p(0).put(start_entry);
    let b_entry = w.p(1).put(entry(&b_person, &b_project, 2, 9, "first"));
    w.rounds(2).await;
    edit_entry(w.p(1), &b_entry, |e| e.notes = Some("b, once".into()));
    edit_entry(w.p(0), &a_entry, |e| e.tags = ["from-a".to_owned()].into());
    w.rounds(2).await;
    // Again in b: the base is b's last version, so a's tags stay.
    edit_entry(w.p(1), &b_entry, |e| e.notes = Some("b, twice".into()));
    w.rounds(2).await;
    assert_notes_and_tags(w.p(0), &a_entry, "b, twice", &["from-a"]);
    assert_eq!(conflicts(&w, false).await.len(), 0);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn no_merge_while_a_conflict_waits_for_an_operator() {
    let w = pair(ConflictPolicy::Manual).await;
    let (person, project) = seed_ada(&w);
    let a_entry = w.p(0).put(entry(&person, &project, 2, 9, "first"));
    w.rounds(2).await;
    let (b_entry, _) = only(w.p(1), Kind::TimeEntry);
    // The same field on both sides: a conflict left open.
    edit_entry(w.p(0), &a_entry, |e| e.notes = Some("a".into()));
    edit_entry(w.p(1), &b_entry, |e| e.notes = Some("b".into()));
    w.rounds(1).await;
    assert_eq!(conflicts(&w, true).await.len(), 1);
    // b then puts its notes back and changes another field: mergeable on its own, but no
    // merge behind the operator's back.
    edit_entry(w.p(1), &b_entry, |e| {
        e.notes = Some("first".into());
        e.tags = ["from-b".to_owned()].into();
    });
    w.rounds(1).await;
    assert_eq!(conflicts(&w, true).await.len(), 1, "still open");
    let e = ledger_only(&w, Kind::TimeEntry).await;
    assert!(
        matches!(&e, Record::TimeEntry(t) if t.notes.as_deref() == Some("a") && t.tags.is_empty()),
        "{e:?}"
    );
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_field_a_provider_drops_without_saying_so_is_reported() {
    let w = a_and_b(
        MemoryProvider::new(7).with_silently_dropped(vec![Field::ProjectBillable]),
        ConflictPolicy::Newest,
    )
    .await;
    let (_, project) = seed_refs(w.p(0), "ada@example.com", "Internal");
    edit_project(w.p(0), &project, |p| p.billable = false);
    assert!(w.cycle(0).await.warnings.is_empty());
    let b = w.cycle(1).await;
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    match &b.warnings[..] {
        [w] => {
            assert!(w.starts_with("b did not keep project.billable"), "{w}");
            assert!(w.contains("'Internal': sent false, holds true"), "{w}");
        }
        other => panic!("one warning expected: {other:?}"),
    }
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn time_entries_are_written_several_at_once_and_references_one_at_a_time() {
    for concurrency in [1, 6] {
        let mut w = world_of(
            vec![
                ("a", Mode::Both, MemoryProvider::new(50)),
                (
                    "b",
                    Mode::Both,
                    MemoryProvider::new(50).with_latency(std::time::Duration::from_millis(5)),
                ),
            ],
            ConflictPolicy::Newest,
        )
        .await;
        w.providers[1].1.push_concurrency = concurrency;
        let (person, first) = seed_ada(&w);
        let mut projects = vec![first];
        for name in ["Support", "Research"] {
            let mut p = w.p(0).get_now(Kind::Project, &projects[0]).unwrap().record;
            if let Record::Project(p) = &mut p {
                p.name = name.into();
            }
            projects.push(w.p(0).put(p));
        }
        for k in 0..20 {
            w.p(0).put(entry(
                &person,
                &projects[k % 3],
                1 + k as i64 / 4,
                8 + k as i64 % 4,
                &format!("entry {k}"),
            ));
        }
        w.rounds(2).await;
        assert_eq!(
            contents(w.p(1)),
            contents(w.p(0)),
            "concurrency {concurrency}"
        );
        assert_eq!(contents(w.p(1)).len(), 20);
        assert_eq!(
            w.p(1).max_writes_at_once(Kind::TimeEntry),
            concurrency,
            "entries in flight at once"
        );
        assert_eq!(w.p(1).max_writes_at_once(Kind::Project), 1);
        assert_eq!(w.p(1).max_writes_at_once(Kind::Client), 1);
    }
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn an_overlap_refused_within_a_batch_is_retried_alone() {
    let w = pair(ConflictPolicy::Newest).await;
    let (person, project) = seed_ada(&w);
    for k in 0..6 {
        w.p(0)
            .put(entry(&person, &project, 2 + k, 9, &format!("entry {k}")));
    }
    // The first write of b's first batch is refused as an overlap: sent alone, in order,
    // the slot would have been free (another write of the batch vacates it).
    let fired = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hook = {
        let (b, fired) = (w.providers[1].0.clone(), fired.clone());
        Arc::new(move |p: &timeweave::sync::Progress<'_>| {
            if p.provider == "b"
                && p.phase == "pushing"
                // The client and the project are in: the next write is an entry.
                && p.counts.pushed == 2
                && !fired.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                b.inject(vec![MemoryFault::Fail(ProviderError::Conflict {
                    reason: timeweave_contract::ConflictReason::Overlap,
                    message: "overlaps another entry".into(),
                })]);
            }
        })
    };
    let engine = w.engine.clone().with_progress(hook);
    for i in 0..2 {
        let r = engine
            .run_cycle(&w.providers[i].1, CycleOptions::default())
            .await
            .unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
    assert!(fired.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(contents(w.p(1)), contents(w.p(0)));
    assert_eq!(
        contents(w.p(1)).len(),
        6,
        "the refused entry was sent again"
    );
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn deletes_stay_when_propagation_is_off() {
    let mut w = pair(ConflictPolicy::Newest).await;
    w.providers[1].1.propagate_deletes = false;
    let (person, project) = seed_ada(&w);
    let e = w.p(0).put(entry(&person, &project, 2, 9, "keep me in b"));
    w.rounds(1).await;
    assert!(w.p(0).remove(Kind::TimeEntry, &e));
    w.rounds(2).await;
    assert_eq!(contents(w.p(1)).len(), 1, "b keeps its copy");
}
}

async fn conflict_world(policy: ConflictPolicy) -> (World, RemoteId, RemoteId) {
    let w = pair(policy).await;
    let (person, project) = seed_ada(&w);
    let a_id = w.p(0).put(entry(&person, &project, 2, 9, "original"));
    w.rounds(1).await;
    let b_id = w.p(1).all(Kind::TimeEntry)[0].id.clone();
    // Edit both sides before either syncs again: a first, then b (b is newer).
    edit_entry(w.p(0), &a_id, |e| e.notes = Some("edited in a".into()));
    edit_entry(w.p(1), &b_id, |e| e.notes = Some("edited in b".into()));
    (w, a_id, b_id)
}

timeweave::on_both_backends! {
#[tokio::test]
async fn conflict_policy_newest() {
    let (w, _, _) = conflict_world(ConflictPolicy::Newest).await;
    // a syncs first: its edit lands in the ledger; then b's newer edit conflicts and wins.
    w.rounds(2).await;
    assert_eq!(contents(w.p(0))[0].1, "edited in b");
    assert_eq!(contents(w.p(1))[0].1, "edited in b");
    let all = conflicts(&w, false).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].winner.as_deref(), Some("provider"));
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn conflict_policy_prefer() {
    let (w, _, _) = conflict_world(ConflictPolicy::Prefer(vec!["a".into(), "b".into()])).await;
    w.rounds(2).await;
    assert_eq!(contents(w.p(0))[0].1, "edited in a", "a is preferred");
    assert_eq!(contents(w.p(1))[0].1, "edited in a");
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn conflict_policy_manual_waits_for_an_operator() {
    let (w, _, _) = conflict_world(ConflictPolicy::Manual).await;
    w.rounds(2).await;
    assert_eq!(contents(w.p(0))[0].1, "edited in a");
    assert_eq!(
        contents(w.p(1))[0].1,
        "edited in b",
        "b keeps its version while the conflict is open"
    );
    let open = conflicts(&w, true).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].provider, "b");
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_lost_create_answer_never_duplicates() {
    let w = pair(ConflictPolicy::Newest).await;
    let (person, project) = seed_ada(&w);
    w.p(0).put(entry(&person, &project, 2, 9, "once"));
    w.cycle(0).await;
    // b: connect ok, 3 reference listings (person, client, project, task = 4), the entry
    // window listing(s)... simpler: lose the answer of every create.
    w.p(1)
        .inject((0..50).map(|_| MemoryFault::LoseAnswer).collect());
    // LoseAnswer only bites writes; reads consume it harmlessly, so inject generously.
    let r = w.cycle(1).await;
    assert!(
        r.errors.is_empty(),
        "a lost answer is looked up at once, not left for the next cycle: {:?}",
        r.errors
    );
    assert_eq!(contents(w.p(1)).len(), 1, "the entry landed once");
    w.p(1).inject(vec![]);
    w.rounds(2).await;
    assert_eq!(
        contents(w.p(1)).len(),
        1,
        "exactly one entry in b: {:?}",
        contents(w.p(1))
    );
    assert_eq!(w.p(1).all(Kind::Project).len(), 1);
    let mut tx = w.engine.ledger().read().await.unwrap();
    assert_eq!(
        tx.count_intents(None).await.unwrap(),
        0,
        "every intent reconciled"
    );
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn failing_provider_loses_nothing_and_recovers() {
    let w = pair(ConflictPolicy::Newest).await;
    let (person, project) = seed_ada(&w);
    for d in 0..10 {
        w.p(0)
            .put(entry(&person, &project, d + 1, 9, &format!("e{d}")));
    }
    w.cycle(0).await;
    // b fails every few calls for a while.
    let mut faults = Vec::new();
    for i in 0..40 {
        faults.push(if i % 3 == 0 {
            MemoryFault::Fail(ProviderError::retryable("502 from the gateway"))
        } else {
            MemoryFault::LoseAnswer
        });
    }
    w.p(1).inject(faults);
    for _ in 0..3 {
        w.cycle(1).await;
    }
    w.p(1).inject(vec![]);
    w.rounds(2).await;
    assert_eq!(contents(w.p(1)), contents(w.p(0)));
    assert_eq!(contents(w.p(1)).len(), 10);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn auth_failure_fails_the_cycle_and_leaves_the_cursor() {
    let w = world(&[("a", Mode::Both)], ConflictPolicy::Newest).await;
    w.p(0).inject(vec![MemoryFault::Fail(ProviderError::Auth {
        message: "HTTP 401".into(),
    })]);
    let r = w.cycle(0).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        r.errors[0].contains("authentication failed"),
        "{:?}",
        r.errors
    );
    let mut tx = w.engine.ledger().read().await.unwrap();
    assert_eq!(
        tx.cursor("a", Kind::TimeEntry).await.unwrap(),
        Default::default()
    );
    let runs = tx.recent_runs(Some("a"), 1).await.unwrap();
    assert_eq!(runs[0].status, RunStatus::Failed);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn mass_deletes_are_stopped_by_the_guard() {
    let w = pair(ConflictPolicy::Newest).await;
    let (person, project) = seed_ada(&w);
    let ids: Vec<_> = (0..30)
        .map(|d| {
            w.p(0)
                .put(entry(&person, &project, d % 30 + 1, 9 + d / 30, "x"))
        })
        .collect();
    w.rounds(1).await;
    for id in &ids[..20] {
        w.p(0).remove(Kind::TimeEntry, id);
    }
    let r = w.cycle(0).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        r.errors.iter().any(|e| e.contains("mass-delete guard")),
        "{:?}",
        r.errors
    );
    assert_eq!(live(&w, Kind::TimeEntry).await, 30, "nothing deleted");
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn migration_into_an_empty_provider_copies_everything_once() {
    let w = world(
        &[("source", Mode::Pull), ("target", Mode::Push)],
        ConflictPolicy::Newest,
    )
    .await;
    let (person, project) = seed_ada(&w);
    // Old history too: the deep scan must reach it in one --sync-once.
    for d in [1, 10, 50, 120, 300] {
        w.p(0)
            .put(entry(&person, &project, d, 9, &format!("{d} days ago")));
    }
    let once = CycleOptions {
        to_completion: true,
        dry_run: false,
    };
    for (_, h) in &w.providers {
        let r = w.engine.run_cycle(h, once).await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
    assert_eq!(contents(w.p(1)), contents(w.p(0)));
    assert_eq!(contents(w.p(1)).len(), 5);
    // Again: nothing new anywhere, and the source was never written to.
    let source_before = w.p(0).all(Kind::TimeEntry);
    for (_, h) in &w.providers {
        let r = w.engine.run_cycle(h, once).await.unwrap();
        assert_eq!(r.counts.pushed, 0);
        assert_eq!(r.counts.created, 0);
    }
    assert_eq!(contents(w.p(1)).len(), 5);
    assert_eq!(w.p(0).all(Kind::TimeEntry), source_before);
}
}

timeweave::on_both_backends! {
// On PostgreSQL the dry run works on a SQLite copy of one snapshot of the ledger.
#[tokio::test]
async fn dry_run_changes_nothing_anywhere() {
    let w = pair(ConflictPolicy::Newest).await;
    let (person, project) = seed_ada(&w);
    w.p(0).put(entry(&person, &project, 2, 9, "planned"));
    let dry = CycleOptions {
        to_completion: true,
        dry_run: true,
    };
    let r = w.engine.run_cycle(&w.providers[0].1, dry).await.unwrap();
    assert!(
        r.plan.iter().any(|l| l.starts_with("import time_entry")),
        "{:?}",
        r.plan
    );
    assert_eq!(live(&w, Kind::TimeEntry).await, 0, "ledger untouched");
    w.cycle(0).await;
    let r = w.engine.run_cycle(&w.providers[1].1, dry).await.unwrap();
    assert!(
        r.plan.iter().any(|l| l.starts_with("create time_entry")),
        "{:?}",
        r.plan
    );
    assert!(contents(w.p(1)).is_empty(), "provider untouched");
}

#[tokio::test]
async fn dry_run_lists_each_planned_change_once() {
    let w = world(&[("a", Mode::Both)], ConflictPolicy::Newest).await;
    let (person, project) = seed_refs(w.p(0), "ada@example.com", "Website");
    let id = w.p(0).put(entry(&person, &project, 2, 9, "before"));
    w.cycle(0).await;
    w.p(0).edit(&id, entry(&person, &project, 2, 9, "after"));
    let dry = CycleOptions {
        to_completion: false,
        dry_run: true,
    };
    let r = w.engine.run_cycle(&w.providers[0].1, dry).await.unwrap();
    let updates: Vec<&String> = r
        .plan
        .iter()
        .filter(|l| l.starts_with("update time_entry"))
        .collect();
    assert_eq!(updates.len(), 1, "{:?}", r.plan);
}
}

timeweave::on_both_backends! {
/// Pages are applied in transactions of one or a few pages while the next page is being
/// requested: a stop (SIGTERM) between pages keeps every page applied so far, abandons the
/// page in flight, and the next cycle finishes the listing without duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_between_pages_keeps_what_was_applied_and_the_next_cycle_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open_test_ledger(dir.path()).await.unwrap();
    // Pages of seven that take a while each: batches are then single pages.
    let p = Arc::new(MemoryProvider::new(7).with_latency(std::time::Duration::from_millis(20)));
    let (person, project) = seed_refs(&p, "ada@example.com", "Website");
    for k in 0..70 {
        p.put(entry(&person, &project, k % 30 + 1, 6 + k / 30, "x"));
    }
    let handle = ProviderHandle::new("a", p.clone(), Mode::Pull);
    let stop = StopFlag::new();
    // The stop comes with the first batch of entries applied.
    let stopper = stop.clone();
    let engine = Engine::new(ledger.clone(), settings(ConflictPolicy::Newest), stop).with_progress(
        Arc::new(move |pr| {
            if pr.phase == "time_entry" {
                stopper.stop();
            }
        }),
    );
    let report = engine
        .run_cycle(&handle, CycleOptions::default())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Interrupted, "{report:?}");
    let mut tx = ledger.read().await.unwrap();
    let applied = tx.count_live(Kind::TimeEntry).await.unwrap();
    assert!(
        applied > 0 && applied < 70,
        "stopped mid-listing: {applied}"
    );
    let mut held = 0;
    for kind in Kind::ALL {
        held += tx.count_live(kind).await.unwrap();
    }
    drop(tx);
    assert_eq!(
        report.counts.created, held,
        "everything the cycle created before the stop is committed"
    );

    let engine = Engine::new(
        ledger.clone(),
        settings(ConflictPolicy::Newest),
        StopFlag::new(),
    );
    let report = engine
        .run_cycle(&handle, CycleOptions::default())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
    let mut tx = ledger.read().await.unwrap();
    assert_eq!(tx.count_live(Kind::TimeEntry).await.unwrap(), 70);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn two_cycles_of_one_instance_at_once_never_send_a_create_twice() {
    // b answers slowly, so both cycles plan their pushes before any create lands: each
    // create is claimed by one of them, and the other leaves it alone.
    let b = MemoryProvider::new(7).with_latency(std::time::Duration::from_millis(5));
    let w = a_and_b(b, ConflictPolicy::Newest).await;
    let (person, project) = seed_ada(&w);
    for d in 0..24 {
        w.p(0).put(entry(&person, &project, d + 1, 9, "once"));
    }
    w.cycle(0).await;
    // A second engine on the same ledger: another process's connection pool.
    let other = Engine::new(
        w.engine.ledger().reopen().await.unwrap(),
        settings(ConflictPolicy::Newest),
        StopFlag::new(),
    );
    let h = &w.providers[1].1;
    let (first, second) = tokio::join!(
        w.engine.run_cycle(h, CycleOptions::default()),
        other.run_cycle(h, CycleOptions::default())
    );
    let pushed = first.unwrap().counts.pushed + second.unwrap().counts.pushed;
    assert_eq!(contents(w.p(1)).len(), 24, "every entry once in b");
    assert_eq!(w.p(1).all(Kind::Project).len(), 1);
    assert_eq!(w.p(1).all(Kind::Client).len(), 1);
    assert_eq!(pushed, 26, "each create sent by one cycle only");
    w.rounds(2).await;
    assert_eq!(contents(w.p(1)).len(), 24);
    assert_eq!(contents(w.p(0)).len(), 24);
}
}

/// a and b hold the same `n` entries (and person, client, project), synced.
async fn synced(n: i64) -> (World, Vec<RemoteId>) {
    let w = pair(ConflictPolicy::Newest).await;
    let (person, project) = seed_ada(&w);
    let ids = (0..n)
        .map(|d| w.p(0).put(entry(&person, &project, d + 1, 9, "x")))
        .collect();
    w.rounds(2).await;
    assert_eq!(contents(w.p(1)).len(), n as usize);
    (w, ids)
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_tripped_guard_deletes_nothing_and_sends_no_delete_until_confirmed() {
    let (w, ids) = synced(30).await;
    // One real delete in b reaches the ledger...
    let x = w.p(1).all(Kind::TimeEntry).remove(0);
    let Record::TimeEntry(x_entry) = &x.record else {
        unreachable!()
    };
    w.p(1).remove(Kind::TimeEntry, &x.id);
    w.cycle(1).await;
    assert_eq!(live(&w, Kind::TimeEntry).await, 29);
    // ...then 20 others vanish from a at once: a's cycle deletes none of them, and does
    // not send b's delete to a either.
    let vanish: Vec<&RemoteId> = ids
        .iter()
        .filter(|id| entry_in(w.p(0), id).started_at != x_entry.started_at)
        .take(20)
        .collect();
    for id in vanish {
        w.p(0).remove(Kind::TimeEntry, id);
    }
    let r = w.cycle(0).await;
    assert_eq!(r.status, RunStatus::Failed, "held deletes are no progress");
    assert!(!healthy(&w, "a").await, "health turns red");
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("mass-delete guard") && e.contains("--allow-deletes")),
        "{:?}",
        r.errors
    );
    assert_eq!(live(&w, Kind::TimeEntry).await, 29, "nothing deleted in the ledger");
    assert_eq!(contents(w.p(0)).len(), 10, "no delete sent to a");
    assert_eq!(r.counts.pushed, 0);

    // The operator confirms: the deletes apply, both ways.
    let confirmed = w.engine.clone().with_deletes_allowed(["a".to_string()]);
    let r = confirmed
        .run_cycle(&w.providers[0].1, CycleOptions::default())
        .await
        .unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(live(&w, Kind::TimeEntry).await, 9);
    assert_eq!(contents(w.p(0)).len(), 9);
    assert!(healthy(&w, "a").await, "green again");
}
}

/// What `timeweave status` and `/healthz` say of `provider` now.
async fn healthy(w: &World, provider: &str) -> bool {
    let facts = timeweave::status::ProviderFacts {
        name: provider.into(),
        kind: "memory".into(),
        mode: "both".into(),
        schedule: "0 */5 * * * *".into(),
        interval: std::time::Duration::from_secs(300),
        live: None,
        uptime: None,
    };
    let s = timeweave::status::collect(w.engine.ledger(), &[facts], Utc::now())
        .await
        .unwrap();
    s[0].healthy()
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_panicking_cycle_is_recorded_as_failed_and_the_next_one_runs() {
    let (w, _) = synced(3).await;
    w.p(0)
        .inject(vec![MemoryFault::Panic("a bug in an adapter")]);
    let r = w.cycle(0).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("panicked (a bug in an adapter)")),
        "{:?}",
        r.errors
    );
    let runs = w
        .engine
        .ledger()
        .read()
        .await
        .unwrap()
        .recent_runs(Some("a"), 1)
        .await
        .unwrap();
    assert_eq!(runs[0].status, RunStatus::Failed, "never left running");
    assert!(!healthy(&w, "a").await);
    w.rounds(1).await;
    assert!(healthy(&w, "a").await);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn an_emptied_account_deletes_nothing_whatever_the_counts() {
    // Fewer records than the guard's count threshold, but a lists nothing at all.
    let (w, _) = synced(5).await;
    for kind in [Kind::TimeEntry, Kind::Project, Kind::Client] {
        for r in w.p(0).all(kind) {
            w.p(0).remove(kind, &r.id);
        }
    }
    let r = w.cycle(0).await;
    assert!(
        r.errors.iter().any(|e| e.contains("listed nothing at all")),
        "{:?}",
        r.errors
    );
    assert_eq!(live(&w, Kind::TimeEntry).await, 5);
    assert_eq!(live(&w, Kind::Client).await, 1);
    assert_eq!(live(&w, Kind::Project).await, 1);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn another_account_behind_an_instance_is_refused_before_anything_is_listed() {
    let (w, _) = synced(5).await;
    // Same instance, same handle, but it now reaches another account (a reinstalled
    // server, another workspace): it holds none of the linked records.
    w.p(0).set_identity("memory account of someone else");
    for kind in [Kind::TimeEntry, Kind::Project, Kind::Client] {
        for r in w.p(0).all(kind) {
            w.p(0).remove(kind, &r.id);
        }
    }
    let person = w.p(0).all(Kind::Person).remove(0).id;
    let project = seed_project(w.p(0), "Website");
    w.p(0).put(entry(&person, &project, 3, 9, "x"));
    let requests = w.p(0).requests();
    let r = w.cycle(0).await;
    assert_eq!(r.status, RunStatus::Failed);
    let message = r.errors.join("\n");
    assert!(
        message.contains("memory account of someone else")
            && message.contains("bound to \"memory account ")
            && message.contains("timeweave rebind a"),
        "{message}"
    );
    assert!(w.p(0).requests() - requests <= 1, "only the connect");
    assert!(!healthy(&w, "a").await, "health turns red");
    assert_eq!(live(&w, Kind::TimeEntry).await, 5);
    assert_eq!(contents(w.p(0)).len(), 1, "nothing written there");

    // `timeweave rebind a`: links dropped, records matched again, nothing deleted.
    let mut tx = w.engine.ledger().write().await.unwrap();
    assert!(tx.forget_account("a").await.unwrap() > 0);
    tx.commit().await.unwrap();
    w.rounds(2).await;
    assert_eq!(
        live(&w, Kind::TimeEntry).await,
        5,
        "the new account's copy matched, none deleted"
    );
    assert_eq!(
        contents(w.p(0)).len(),
        5,
        "the new account receives what it lacks"
    );
    assert_eq!(contents(w.p(1)).len(), 5);
    assert!(healthy(&w, "a").await, "green again");
}
}

/// Live entries in the ledger, and cycles recorded.
async fn entries_and_runs(w: &World) -> (i64, usize) {
    let mut tx = w.engine.ledger().read().await.unwrap();
    let runs = tx.recent_runs(None, 1000).await.unwrap().len();
    drop(tx);
    (live(w, Kind::TimeEntry).await, runs)
}

/// A cycle fenced by a lease that has moved to another process writes nothing: its first
/// commit is refused with `LeaseLost`, while the new holder's cycle goes through.
/// PostgreSQL only: a SQLite ledger has one process at a time.
#[tokio::test]
async fn a_cycle_under_a_lease_that_moved_writes_nothing() {
    let test = "a_cycle_under_a_lease_that_moved_writes_nothing";
    let Some(cluster) = timeweave::ledger::postgres::testing::cluster_url(test) else {
        return;
    };
    on_backend(TestBackend::Postgres(cluster), async {
        let w = world(&[("a", Mode::Both)], ConflictPolicy::Newest).await;
        let h = &w.providers[0].1;
        let (person, project) = seed_refs(w.p(0), "ada@example.com", "Website");
        w.p(0).put(entry(&person, &project, 1, 9, "first"));
        let pool = w.engine.ledger().postgres_pool().unwrap().clone();
        let brief = std::time::Duration::from_millis(1);
        let ours = lease::acquire(&pool, "a", "node-1", brief)
            .await
            .unwrap()
            .unwrap();
        let first = w
            .engine
            .run_cycle_fenced(h, CycleOptions::default(), &ours)
            .await;
        assert!(first.unwrap().errors.is_empty());
        assert_eq!(entries_and_runs(&w).await, (1, 1));

        // node-1 pauses past its lease; node-2 takes the instance over.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let minute = std::time::Duration::from_secs(60);
        let theirs = lease::acquire(&pool, "a", "node-2", minute).await.unwrap();
        let theirs = theirs.expect("an expired lease is free");
        assert!(theirs.token > ours.token);

        w.p(0).put(entry(&person, &project, 2, 9, "second"));
        let stale = w
            .engine
            .run_cycle_fenced(h, CycleOptions::default(), &ours)
            .await;
        assert!(
            matches!(stale, Err(LedgerError::LeaseLost { .. })),
            "{stale:?}"
        );
        assert_eq!(
            entries_and_runs(&w).await,
            (1, 1),
            "the stale node wrote nothing"
        );

        let fresh = w
            .engine
            .run_cycle_fenced(h, CycleOptions::default(), &theirs)
            .await;
        assert!(fresh.unwrap().errors.is_empty());
        assert_eq!(entries_and_runs(&w).await, (2, 2));
    })
    .await
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_provider_added_later_gets_no_copies_of_history_it_has_not_listed_yet() {
    let w = pair(ConflictPolicy::Newest).await;
    let (person_a, project_a) = seed_refs(w.p(0), "ada@example.com", "Website");
    let (person_b, project_b) = seed_refs(w.p(1), "ada@example.com", "Website");
    // Old work booked in both accounts, and some booked only in a.
    w.p(0).put(entry(&person_a, &project_a, 200, 9, "in both"));
    w.p(1).put(entry(&person_b, &project_b, 200, 9, "in both"));
    w.p(0).put(entry(&person_a, &project_a, 200, 11, "only in a"));
    // a has been synced all along: its whole history is in the ledger.
    w.cycle_all_history(0).await;
    // b's first scheduled cycle lists its hot window and one slice of history, not day 200:
    // nothing dated there is created on b yet, since b may hold it (and does).
    let r = w.cycle(1).await;
    assert!(r.is_clean(), "{:?}", r.errors);
    assert_eq!(r.counts.pushed, 0, "nothing pushed before b's scan reached day 200");
    assert_eq!(contents(w.p(1)).len(), 1);
    // b's deep scan reaches day 200 within a few cycles: its copy is matched, the entry it
    // lacks is created, and nothing is duplicated anywhere.
    w.rounds(8).await;
    let expected = contents(w.p(0));
    assert_eq!(expected.len(), 2, "{expected:?}");
    assert_eq!(contents(w.p(1)), expected);
    assert_eq!(live(&w, Kind::TimeEntry).await, 2);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn two_people_with_one_email_in_a_provider_do_not_stop_its_sync() {
    let w = world(&[("a", Mode::Both), ("b", Mode::Both)], ConflictPolicy::Newest).await;
    seed_refs(w.p(0), "ada@example.com", "Website");
    let (person, project) = seed_refs(w.p(1), "ada@example.com", "Website");
    // The provider holds a second account with the same address (its own rules allow it).
    let twin = w.p(1).put(Record::Person(Person {
        display_name: "Ada (old account)".into(),
        email: Some("ADA@example.com".into()),
        username: Some("ada-old".into()),
    }));
    w.p(1).put(entry(&person, &project, 2, 9, "by ada"));
    w.p(1).put(entry(&twin, &project, 2, 11, "by the twin"));
    let r = w.cycle(1).await;
    assert_eq!(r.status, RunStatus::Ok, "{:?}", r.errors);
    // One of the two is the ledger's person; the other waits, with the reason on record.
    let mut tx = w.engine.ledger().read().await.unwrap();
    assert_eq!(tx.count_live(Kind::Person).await.unwrap(), 1);
    let issues = tx.issues(Some("b")).await.unwrap();
    assert!(
        issues.iter().any(|i| i.reason.contains("ada@example.com")),
        "{issues:?}"
    );
    drop(tx);
    // The rest of the account syncs: the entry of the matched person reaches a, the twin's
    // waits with its person.
    w.rounds(1).await;
    let notes: Vec<String> = contents(w.p(0)).into_iter().map(|(_, n)| n).collect();
    assert_eq!(notes, ["by ada"]);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_second_account_with_a_linked_persons_email_waits() {
    let w = world(&[("a", Mode::Both), ("b", Mode::Both)], ConflictPolicy::Newest).await;
    seed_refs(w.p(1), "ada@example.com", "Website");
    w.rounds(1).await;
    // Later the provider gets a second account with the address of one already linked.
    w.p(1).put(person_record("ada@example.com"));
    let r = w.cycle(1).await;
    assert_eq!(r.status, RunStatus::Ok, "{:?}", r.errors);
    let mut tx = w.engine.ledger().read().await.unwrap();
    assert_eq!(tx.count_live(Kind::Person).await.unwrap(), 1);
    let issues = tx.issues(Some("b")).await.unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].reason.contains("e-mail ada@example.com"), "{issues:?}");
}
}

/// Person `id` in `p` given the address `email`, as someone in the provider's app does.
fn edit_email(p: &MemoryProvider, id: &RemoteId, email: &str) {
    let Some(Record::Person(mut person)) = p.get_now(Kind::Person, id).map(|r| r.record) else {
        panic!("person {id:?}");
    };
    person.email = Some(email.into());
    p.edit(id, Record::Person(person));
}

/// The address of each live ledger person, by display name.
async fn ledger_emails(w: &World) -> BTreeSet<(String, String)> {
    let mut tx = w.engine.ledger().read().await.unwrap();
    let people = tx.all_live(Kind::Person).await.unwrap();
    people
        .into_iter()
        .filter_map(|r| match r.record {
            Record::Person(p) => Some((p.display_name, p.email.unwrap_or_default())),
            _ => None,
        })
        .collect()
}

/// The live ledger people as stored (content, hash, who changed them and when).
async fn stored_people(w: &World) -> Vec<timeweave::ledger::StoredRecord> {
    let mut tx = w.engine.ledger().read().await.unwrap();
    tx.all_live(Kind::Person).await.unwrap()
}

/// Ada synced between a and b (manual policy), then given a different address in each:
/// the world and its one open conflict.
async fn ada_address_conflict() -> (World, Vec<ConflictRow>) {
    let w = pair(ConflictPolicy::Manual).await;
    let (ada_a, _) = seed_ada(&w);
    w.rounds(1).await;
    let (ada_b, _) = only(w.p(1), Kind::Person);
    edit_email(w.p(0), &ada_a, "ada@a.example");
    edit_email(w.p(1), &ada_b, "ada@b.example");
    w.rounds(1).await;
    let open = conflicts(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    (w, open)
}

timeweave::on_both_backends! {
#[tokio::test]
async fn taking_a_providers_address_another_person_holds_now_is_refused_by_name() {
    // Both accounts change Ada's address, differently: a conflict waits for an operator.
    let (w, open) = ada_address_conflict().await;
    // Meanwhile someone else in a gets the address b gave Ada.
    w.p(0).put(Record::Person(Person {
        display_name: "Grace".into(),
        email: Some("ada@b.example".into()),
        username: None,
    }));
    w.rounds(1).await;
    let before = ledger_emails(&w).await;
    let grace = {
        let mut tx = w.engine.ledger().read().await.unwrap();
        tx.live_person_with_email("ada@b.example").await.unwrap().unwrap()
    };
    let err = timeweave::conflicts::resolve(
        w.engine.ledger(),
        open[0].id,
        &timeweave::cli::ConflictSide::Provider("b".into()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, timeweave::conflicts::ResolveError::AddressHeld { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    for part in [
        format!("conflict #{}", open[0].id),
        "ada@b.example".into(),
        "'Grace".into(),
        format!("(id {grace})"),
        "--take ledger".into(),
        "change the address of 'Grace".into(),
        "at the provider that holds it".into(),
    ] {
        assert!(message.contains(&part), "{part}: {message}");
    }
    // Nothing written: the conflict still waits, every person as it was.
    assert_eq!(conflicts(&w, true).await.len(), 1);
    assert_eq!(ledger_emails(&w).await, before);
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn keeping_the_ledgers_person_names_its_version_on_the_link_not_a_push() {
    let (w, open) = ada_address_conflict().await;
    let c = &open[0];
    let line = timeweave::conflicts::resolve(
        w.engine.ledger(),
        c.id,
        &timeweave::cli::ConflictSide::Ledger,
    )
    .await
    .unwrap();
    assert!(line.contains("People are never sent"), "{line}");
    assert!(!line.contains("will be sent"), "{line}");
    // People are never pushed: the link names the ledger's version as agreed, so the
    // provider's next edit has a base to be compared with.
    let mut tx = w.engine.ledger().read().await.unwrap();
    let ledger = tx.get_record(Kind::Person, &c.canonical_id).await.unwrap().unwrap();
    let link = tx
        .link_by_canonical(&c.provider, Kind::Person, &c.canonical_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.canonical_hash, ledger.hash);
}
}

/// A person with a display name and an address.
fn named(display_name: &str, email: &str) -> Record<RemoteId> {
    Record::Person(Person {
        display_name: display_name.into(),
        email: Some(email.into()),
        username: None,
    })
}

/// `(display name, address)` pairs, as `ledger_emails` returns them.
fn people(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs
        .iter()
        .map(|(n, e)| (n.to_string(), e.to_string()))
        .collect()
}

timeweave::on_both_backends! {
#[tokio::test]
async fn two_people_swapping_addresses_in_a_provider_swap_in_one_cycle() {
    let w = world(&[("a", Mode::Both), ("b", Mode::Both)], ConflictPolicy::Newest).await;
    let ada = w.p(1).put(named("Ada", "ada@example.com"));
    let bob = w.p(1).put(named("Bob", "bob@example.com"));
    w.rounds(1).await;
    // b's mailboxes are renamed: each takes the other's address, in one listing.
    edit_email(w.p(1), &ada, "bob@example.com");
    edit_email(w.p(1), &bob, "ada@example.com");
    b_lands_in_one_cycle(&w, &[("Ada", "bob@example.com"), ("Bob", "ada@example.com")]).await;
    // a knows Ada by her new address: she is matched to Ada, and her work reaches Ada's
    // account in b (not Bob's).
    let ada_in_a = w.p(0).put(named("Ada", "bob@example.com"));
    let project = seed_project(w.p(0), "Website");
    w.p(0).put(entry(&ada_in_a, &project, 2, 9, "by ada"));
    w.rounds(1).await;
    let (_, in_b) = only(w.p(1), Kind::TimeEntry);
    assert!(
        matches!(&in_b, Record::TimeEntry(e) if e.person == ada),
        "{in_b:?}"
    );
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_swap_whose_two_people_arrive_in_different_batches_of_a_listing_lands() {
    // b lists one person a page, slowly enough that each page is a batch of its own.
    let b = MemoryProvider::new(1).with_latency(std::time::Duration::from_millis(30));
    let w = a_and_b(b, ConflictPolicy::Newest).await;
    let ada = w.p(1).put(named("Ada", "ada@example.com"));
    w.p(1).put(named("Carl", "carl@example.com"));
    w.p(1).put(named("Dora", "dora@example.com"));
    let bob = w.p(1).put(named("Bob", "bob@example.com"));
    w.rounds(1).await;
    edit_email(w.p(1), &ada, "bob@example.com");
    edit_email(w.p(1), &bob, "ada@example.com");
    // The most people b's listing had skipped after any of its batches: Ada and Bob are
    // refused (counted skipped) only in batches without the other, so two proves the split.
    let skipped_mid_listing = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let hook = {
        let seen = skipped_mid_listing.clone();
        Arc::new(move |p: &timeweave::sync::Progress<'_>| {
            if p.provider == "b" && p.phase == Kind::Person.as_str() {
                seen.fetch_max(p.counts.skipped, std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    let engine = w.engine.clone().with_progress(hook);
    let r = engine
        .run_cycle(&w.providers[1].1, CycleOptions::default())
        .await
        .unwrap();
    assert_eq!(
        skipped_mid_listing.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "Ada and Bob, each refused in a batch without the other"
    );
    let expected = [
        ("Ada", "bob@example.com"),
        ("Bob", "ada@example.com"),
        ("Carl", "carl@example.com"),
        ("Dora", "dora@example.com"),
    ];
    b_landed(&w, &r, &expected).await;
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_swap_in_a_push_only_instance_stays_refused_and_releases_nothing() {
    let w = world(&[("a", Mode::Both), ("b", Mode::Push)], ConflictPolicy::Newest).await;
    w.p(0).put(named("Ada", "ada@example.com"));
    w.p(0).put(named("Bob", "bob@example.com"));
    let ada = w.p(1).put(named("Ada", "ada@example.com"));
    let bob = w.p(1).put(named("Bob", "bob@example.com"));
    w.rounds(1).await;
    let before = people(&[("Ada", "ada@example.com"), ("Bob", "bob@example.com")]);
    assert_eq!(ledger_emails(&w).await, before);
    let stored_before = stored_people(&w).await;
    edit_email(w.p(1), &ada, "bob@example.com");
    edit_email(w.p(1), &bob, "ada@example.com");
    let r = w.cycle(1).await;
    assert!(r.is_clean(), "{:?}", r.errors);
    // b's versions never reach the ledger: nobody leaves an address, so both are refused
    // and neither ledger person was written (not even without an address: the same
    // versions, hashes and update times as before).
    assert_eq!(ledger_emails(&w).await, before);
    assert_eq!(stored_people(&w).await, stored_before);
    assert_eq!(r.counts.updated, 0);
    let mut tx = w.engine.ledger().read().await.unwrap();
    let issues = tx.issues(Some("b")).await.unwrap();
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert!(
        issues
            .iter()
            .any(|i| i.reason.contains("never reaches the ledger (b only receives)")),
        "{issues:?}"
    );
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_swap_the_conflict_policy_keeps_from_the_ledger_says_what_to_settle() {
    // Both rename Ada, differently; b also swaps her address with Bob's.
    let (w, r) = renamed_in_a_then_swapped_in_b(ConflictPolicy::Manual, Some("Ada King")).await;
    assert_eq!(r.status, RunStatus::Ok, "{:?}", r.errors);
    assert_eq!(
        ledger_emails(&w).await,
        people(&[("Ada Lovelace", "ada@example.com"), ("Bob", "bob@example.com")])
    );
    let mut tx = w.engine.ledger().read().await.unwrap();
    let reasons: Vec<String> = tx
        .issues(Some("b"))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.reason)
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    // Bob waits for Ada's move, which the ledger does not take; Ada waits for Bob's.
    for part in [
        "its e-mail ada@example.com is held by Ada Lovelace (id ",
        "whose move to bob@example.com in b the ledger does not take",
        "conflict policy (manual)",
        "its e-mail bob@example.com is held by Bob (id ",
        "whose move to ada@example.com is refused itself",
    ] {
        assert!(reasons.iter().any(|r| r.contains(part)), "{part}: {reasons:?}");
    }
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn an_address_changed_only_in_case_and_spaces_is_not_left_for_another() {
    let w = world(&[("a", Mode::Both), ("b", Mode::Both)], ConflictPolicy::Newest).await;
    let ada = w.p(1).put(named("Ada", "ada@example.com"));
    let bob = w.p(1).put(named("Bob", "bob@example.com"));
    w.rounds(1).await;
    // Ada's address is written differently, not changed; Bob tries to take it.
    edit_email(w.p(1), &ada, "  ADA@Example.com ");
    edit_email(w.p(1), &bob, "ada@example.com");
    let r = w.cycle(1).await;
    assert_eq!(r.status, RunStatus::Ok, "{:?}", r.errors);
    assert_eq!(
        ledger_emails(&w).await,
        people(&[("Ada", "ada@example.com"), ("Bob", "bob@example.com")])
    );
    let mut tx = w.engine.ledger().read().await.unwrap();
    let issues = tx.issues(Some("b")).await.unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].reason.contains("another ledger person's, Ada"), "{issues:?}");
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn three_people_passing_addresses_round_land_in_one_cycle() {
    let w = world(&[("a", Mode::Both), ("b", Mode::Both)], ConflictPolicy::Newest).await;
    let ada = w.p(1).put(named("Ada", "ada@example.com"));
    let bob = w.p(1).put(named("Bob", "bob@example.com"));
    let carol = w.p(1).put(named("Carol", "carol@example.com"));
    w.rounds(1).await;
    edit_email(w.p(1), &ada, "bob@example.com");
    edit_email(w.p(1), &bob, "carol@example.com");
    edit_email(w.p(1), &carol, "ada@example.com");
    b_lands_in_one_cycle(
        &w,
        &[
            ("Ada", "bob@example.com"),
            ("Bob", "carol@example.com"),
            ("Carol", "ada@example.com"),
        ],
    )
    .await;
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn after_a_swap_the_other_providers_merge_base_is_the_real_old_version() {
    let w = world(&[("a", Mode::Both), ("b", Mode::Both)], ConflictPolicy::Newest).await;
    w.p(0).put(named("Ada", "ada@example.com"));
    let ada = w.p(1).put(named("Ada", "ada@example.com"));
    let bob = w.p(1).put(named("Bob", "bob@example.com"));
    w.rounds(1).await;
    edit_email(w.p(1), &ada, "bob@example.com");
    edit_email(w.p(1), &bob, "ada@example.com");
    let r = w.cycle(1).await;
    assert!(r.is_clean(), "{:?}", r.errors);
    // a's link still names the version a last agreed on: the one with Ada's old address,
    // never the address-less one written in between.
    let mut tx = w.engine.ledger().read().await.unwrap();
    let link = tx.link_by_remote("b", Kind::Person, &ada).await.unwrap().unwrap();
    let in_a = tx
        .link_by_canonical("a", Kind::Person, &link.canonical_id)
        .await
        .unwrap()
        .unwrap();
    let base = tx
        .record_version(Kind::Person, &link.canonical_id, &in_a.canonical_hash)
        .await
        .unwrap();
    assert_eq!(
        base,
        Some(Record::Person(Person {
            display_name: "Ada".into(),
            email: Some("ada@example.com".into()),
            username: None,
        }))
    );
}
}

/// One cycle of b is clean, leaves the ledger's people as `expected` and skips nobody.
async fn b_lands_in_one_cycle(w: &World, expected: &[(&str, &str)]) {
    let r = w.cycle(1).await;
    b_landed(w, &r, expected).await;
}

/// `r`, a cycle of b, is clean, left the ledger's people as `expected` and skipped nobody
/// (not even for a while: a person refused, then applied at the listing's end, counts once,
/// as updated).
async fn b_landed(w: &World, r: &timeweave::sync::CycleReport, expected: &[(&str, &str)]) {
    assert!(r.is_clean(), "{:?}", r.errors);
    assert_eq!(r.counts.skipped, 0, "{:?}", r.counts);
    assert_eq!(ledger_emails(w).await, people(expected));
    let mut tx = w.engine.ledger().read().await.unwrap();
    let issues = tx.issues(Some("b")).await.unwrap();
    assert!(issues.is_empty(), "{issues:?}");
}

/// Ada in a and b, Bob in b, synced; then a renames Ada "Ada Lovelace" (synced), and b
/// (renaming Ada `b_rename` too, if given) swaps Ada's and Bob's addresses: b's cycle.
async fn renamed_in_a_then_swapped_in_b(
    policy: ConflictPolicy,
    b_rename: Option<&str>,
) -> (World, timeweave::sync::CycleReport) {
    let w = world(&[("a", Mode::Both), ("b", Mode::Both)], policy).await;
    let ada_a = w.p(0).put(named("Ada", "ada@example.com"));
    let ada = w.p(1).put(named("Ada", "ada@example.com"));
    let bob = w.p(1).put(named("Bob", "bob@example.com"));
    w.rounds(1).await;
    rename_person(w.p(0), &ada_a, "Ada Lovelace");
    w.cycle(0).await;
    if let Some(name) = b_rename {
        rename_person(w.p(1), &ada, name);
    }
    edit_email(w.p(1), &ada, "bob@example.com");
    edit_email(w.p(1), &bob, "ada@example.com");
    let r = w.cycle(1).await;
    (w, r)
}

/// Person `id` in `p` renamed to `display_name`.
fn rename_person(p: &MemoryProvider, id: &RemoteId, display_name: &str) {
    let Some(Record::Person(mut person)) = p.get_now(Kind::Person, id).map(|r| r.record) else {
        panic!("person {id:?}");
    };
    person.display_name = display_name.into();
    p.edit(id, Record::Person(person));
}

timeweave::on_both_backends! {
#[tokio::test]
async fn a_swap_lands_when_one_of_the_two_was_changed_elsewhere_since() {
    // a renames Ada; b, not yet told, swaps Ada's and Bob's addresses.
    let (w, r) = renamed_in_a_then_swapped_in_b(ConflictPolicy::Newest, None).await;
    assert!(r.is_clean(), "{:?}", r.errors);
    // Ada's two edits merge (a's name, b's address), and Bob takes hers.
    assert_eq!(
        ledger_emails(&w).await,
        people(&[("Ada Lovelace", "bob@example.com"), ("Bob", "ada@example.com")])
    );
    let mut tx = w.engine.ledger().read().await.unwrap();
    let issues = tx.issues(Some("b")).await.unwrap();
    assert!(issues.is_empty(), "{issues:?}");
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn renames_onto_a_third_persons_address_wait_and_land_together_once_it_is_free() {
    let w = world(&[("a", Mode::Both), ("b", Mode::Both)], ConflictPolicy::Newest).await;
    let carol = w.p(0).put(named("Carol", "carol@example.com"));
    let ada = w.p(1).put(named("Ada", "ada@example.com"));
    let bob = w.p(1).put(named("Bob", "bob@example.com"));
    w.rounds(1).await;
    let before = people(&[
        ("Ada", "ada@example.com"),
        ("Bob", "bob@example.com"),
        ("Carol", "carol@example.com"),
    ]);
    assert_eq!(ledger_emails(&w).await, before);
    let mut tx = w.engine.ledger().read().await.unwrap();
    let bob_id = tx.live_person_with_email("bob@example.com").await.unwrap().unwrap();
    let carol_id = tx.live_person_with_email("carol@example.com").await.unwrap().unwrap();
    drop(tx);
    // In b Ada takes Bob's address and Bob takes Carol's, whom b does not know.
    edit_email(w.p(1), &ada, "bob@example.com");
    edit_email(w.p(1), &bob, "carol@example.com");
    let r = w.cycle(1).await;
    assert_eq!(r.status, RunStatus::Ok, "{:?}", r.errors);
    assert_eq!(ledger_emails(&w).await, before, "nothing half done");
    let mut tx = w.engine.ledger().read().await.unwrap();
    let mut reasons: Vec<String> = tx
        .issues(Some("b"))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.reason)
        .collect();
    reasons.sort();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    // Ada's waits for Bob's, which names whom it waits for.
    let chained = format!(
        "e-mail bob@example.com is held by Bob (id {bob_id}), whose move to carol@example.com \
         is refused itself: this waits for it"
    );
    assert!(reasons[0].contains(&chained), "{reasons:?}");
    let held =
        format!("e-mail carol@example.com is another ledger person's, Carol (id {carol_id})");
    assert!(reasons[1].contains(&held), "{reasons:?}");
    drop(tx);
    // Carol's address changes in a: b's renames land, both in b's next cycle.
    edit_email(w.p(0), &carol, "carol@new.example");
    w.cycle(0).await;
    let r = w.cycle(1).await;
    assert!(r.is_clean(), "{:?}", r.errors);
    assert_eq!(
        ledger_emails(&w).await,
        people(&[
            ("Ada", "bob@example.com"),
            ("Bob", "carol@example.com"),
            ("Carol", "carol@new.example"),
        ])
    );
}
}

timeweave::on_both_backends! {
#[tokio::test]
async fn entries_waiting_for_a_first_scan_that_cannot_progress_are_a_warning() {
    let mut w = pair(ConflictPolicy::Newest).await;
    let (person_a, project_a) = seed_refs(w.p(0), "ada@example.com", "Website");
    let (person_b, project_b) = seed_refs(w.p(1), "ada@example.com", "Website");
    w.p(0).put(entry(&person_a, &project_a, 200, 9, "old work"));
    // b has history of its own (an empty account would have nothing to wait for).
    w.p(1).put(entry(&person_b, &project_b, 300, 9, "older work"));
    w.cycle_all_history(0).await;
    // b's budget goes entirely on its hot window: the deep scan never takes a slice.
    w.providers[1].1.budget = Some(1);
    let r = w.cycle(1).await;
    assert_eq!(r.counts.pushed, 0);
    assert!(
        r.warnings.iter().any(|m| m.contains("1 new entries wait to be created on b")
            && m.contains("made no progress")),
        "{:?}",
        r.warnings
    );
}
}
