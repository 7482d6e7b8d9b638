//! Ledger tests: migrations, the uniqueness rules that make duplicates impossible, record
//! round trips, natural keys, the push scan, and readers alongside a writer.

use super::*;
use chrono::{TimeZone, Utc};
use std::collections::BTreeSet;
use timeweave_contract::{
    content_hash, CanonicalId, Client, ContentHash, EntryKind, Kind, Person, Project, Record,
    RemoteId, RemoteRecord, TimeEntry,
};

/// A new ledger on the running test's backend (SQLite unless run by `on_both_backends!`).
pub(crate) async fn temp_ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = test_backend::open_test_ledger(dir.path())
        .await
        .expect("open");
    (dir, ledger)
}

/// A new ledger as `temp_ledger` gives it, and a write transaction on it.
async fn temp_writer() -> (tempfile::TempDir, Ledger, Tx) {
    let (dir, ledger) = temp_ledger().await;
    let tx = ledger.write().await.expect("write");
    (dir, ledger, tx)
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn person(email: &str) -> Record<CanonicalId> {
    Record::Person(Person {
        display_name: "Ada Lovelace".into(),
        email: Some(email.into()),
        username: Some("ada".into()),
    })
}

fn entry(
    person: &CanonicalId,
    project: Option<&CanonicalId>,
    start_min: i64,
) -> Record<CanonicalId> {
    let start =
        Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap() + chrono::Duration::minutes(start_min);
    Record::TimeEntry(TimeEntry {
        person: person.clone(),
        project: project.cloned(),
        task: None,
        client: None,
        started_at: start,
        ended_at: Some(start + chrono::Duration::minutes(90)),
        break_seconds: 0,
        duration_seconds: Some(5400),
        source_tz: Some("Europe/Rome".into()),
        notes: Some("Design".into()),
        tags: BTreeSet::from(["b".to_string(), "a".to_string()]),
        billable: true,
        kind: EntryKind::Work,
    })
}

fn link<'a>(
    provider: &'a str,
    kind: Kind,
    cid: &'a CanonicalId,
    rid: &'a RemoteId,
    h: &'a ContentHash,
) -> LinkUpdate<'a> {
    LinkUpdate {
        provider,
        kind,
        canonical_id: cid,
        remote_id: rid,
        remote_hash: h,
        canonical_hash: h,
        remote_version: None,
        remote_updated_at: None,
        remote_started_at: None,
        remote_incarnation: None,
    }
}

/// Inserts `record` as provider tt's, now; returns it as stored.
async fn insert(tx: &mut Tx, record: &Record<CanonicalId>) -> StoredRecord {
    tx.insert_record(record, "tt", now()).await.unwrap()
}

/// Writes the link `u`, now.
async fn put_link(tx: &mut Tx, u: LinkUpdate<'_>) {
    tx.upsert_link(&u, now()).await.unwrap();
}

fn client(name: &str) -> Record<CanonicalId> {
    Record::Client(Client {
        name: name.into(),
        email: None,
        notes: None,
        archived: false,
    })
}

/// The billable project "Website", of `client`, at `hourly_rate_cents`.
fn website(client: Option<&CanonicalId>, hourly_rate_cents: Option<i64>) -> Record<CanonicalId> {
    Record::Project(Project {
        client: client.cloned(),
        name: "Website".into(),
        billable: true,
        hourly_rate_cents,
        archived: false,
    })
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_are_idempotent() {
    let (dir, ledger) = temp_ledger().await;
    let embedded: Vec<i64> = super::migrations::migrator()
        .iter()
        .map(|m| m.version)
        .collect();
    assert!(embedded.starts_with(&[1]), "{embedded:?}");
    let applied = ledger.applied_migrations().await.unwrap();
    assert_eq!(
        applied, embedded,
        "every embedded migration applied, in order"
    );
    ledger.migrate().await.unwrap();
    ledger.close().await;
    let again = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    assert_eq!(
        again.applied_migrations().await.unwrap(),
        embedded,
        "re-running applies nothing twice"
    );
    let mut tx = again.read().await.unwrap();
    assert_eq!(tx.count_live(Kind::TimeEntry).await.unwrap(), 0);
}

#[tokio::test]
async fn a_remote_record_links_to_one_canonical_record_and_back() {
    let (_d, ledger, mut tx) = temp_writer().await;
    let a = insert(&mut tx, &person("a@example.com")).await;
    let b = insert(&mut tx, &person("b@example.com")).await;
    let (r1, r2) = (RemoteId::from("1"), RemoteId::from("2"));
    put_link(&mut tx, link("tt", Kind::Person, &a.id, &r1, &a.hash)).await;
    tx.commit().await.unwrap();

    // The same canonical record cannot get a second remote id in one provider...
    let mut tx = ledger.write().await.unwrap();
    let err = tx
        .upsert_link(&link("tt", Kind::Person, &a.id, &r2, &a.hash), now())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    drop(tx);
    // ...and re-pointing remote id 1 at b would leave a with no link but must not create a
    // second row for remote id 1: the primary key holds it to one row.
    let mut tx = ledger.write().await.unwrap();
    put_link(&mut tx, link("tt", Kind::Person, &b.id, &r1, &b.hash)).await;
    assert_eq!(
        tx.live_link_ids_in("tt", Kind::Person, None).await.unwrap(),
        vec![r1.clone()]
    );
    let now_linked = tx.link_by_remote("tt", Kind::Person, &r1).await.unwrap();
    assert_eq!(now_linked.unwrap().canonical_id, b.id);
    // Other providers and kinds are independent.
    put_link(&mut tx, link("tm", Kind::Person, &b.id, &r1, &b.hash)).await;
    tx.commit().await.unwrap();

    // Raw SQL cannot sneak a duplicate in either.
    let mut tx = ledger.write().await.unwrap();
    let dup = sqlx::query("INSERT INTO links (provider, kind, canonical_id, remote_id, remote_hash, canonical_hash, synced_at) VALUES ('tt', 'person', ?, '1', 'h', 'h', 'now')")
        .bind(a.id.as_str())
        .execute(tx.conn())
        .await;
    assert!(
        dup.is_err(),
        "second link for the same remote id must be rejected"
    );
    let dup = sqlx::query("INSERT INTO links (provider, kind, canonical_id, remote_id, remote_hash, canonical_hash, synced_at) VALUES ('tt', 'person', ?, '99', 'h', 'h', 'now')")
        .bind(b.id.as_str())
        .execute(tx.conn())
        .await;
    assert!(
        dup.is_err(),
        "second link for the same canonical record must be rejected"
    );
}

#[tokio::test]
async fn readers_read_while_a_writer_writes() {
    let (dir, ledger) = temp_ledger().await;
    let path = dir.path().join("ledger.db");
    let mut tx = ledger.write().await.unwrap();
    let p = insert(&mut tx, &person("a@example.com")).await;
    tx.commit().await.unwrap();

    // Deterministic overlap first: while a write transaction holds an uncommitted insert,
    // a read-only handle reads without waiting and sees only what was committed.
    let ro = Ledger::open_read_only(&path).await.unwrap();
    let live = |ro: Ledger| async move {
        let mut tx = ro.read().await.expect("read");
        tx.count_live(Kind::TimeEntry).await.expect("count")
    };
    let mut open = ledger.write().await.unwrap();
    open.insert_record(&entry(&p.id, None, -100), "tt", now())
        .await
        .unwrap();
    let during = tokio::time::timeout(std::time::Duration::from_secs(10), live(ro.clone()))
        .await
        .expect("a read never waits for an open write transaction");
    assert_eq!(during, 0, "an uncommitted insert is invisible to readers");
    open.commit().await.unwrap();
    assert_eq!(live(ro.clone()).await, 1, "the committed insert is visible");
    ro.close().await;

    let writer = {
        let ledger = ledger.clone();
        let pid = p.id.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                let mut tx = ledger.write().await.expect("write lock");
                tx.insert_record(&entry(&pid, None, i * 100), "tt", now())
                    .await
                    .expect("insert");
                tx.commit().await.expect("commit");
            }
        })
    };
    // Two independent read-only handles, as reporting tools would open.
    let mut readers = Vec::new();
    for _ in 0..2 {
        let path = path.clone();
        readers.push(tokio::spawn(async move {
            let ro = Ledger::open_read_only(&path).await.expect("open read-only");
            let mut last = 0;
            for _ in 0..200 {
                let mut tx = ro.read().await.expect("read");
                let n = tx
                    .count_live(Kind::TimeEntry)
                    .await
                    .expect("count while writing");
                assert!(n >= last, "a reader never goes back in time");
                last = n;
            }
        }));
    }
    writer.await.unwrap();
    for r in readers {
        r.await.unwrap();
    }
    let mut tx = ledger.read().await.unwrap();
    assert_eq!(tx.count_live(Kind::TimeEntry).await.unwrap(), 201);
}

#[tokio::test]
async fn paths_are_file_names_not_urls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q?a=1 #frag 100%.db");
    let ledger = Ledger::open(&path).await.unwrap();
    let mut tx = ledger.write().await.unwrap();
    insert(&mut tx, &person("a@example.com")).await;
    tx.commit().await.unwrap();
    ledger.close().await;
    let ro = Ledger::open_read_only(&path).await.unwrap();
    let mut tx = ro.read().await.unwrap();
    assert_eq!(tx.count_live(Kind::Person).await.unwrap(), 1);
    assert!(
        !dir.path().join("q").exists(),
        "no file made from a URL prefix"
    );
}

#[tokio::test]
async fn read_only_handles_cannot_write() {
    let (dir, _ledger) = temp_ledger().await;
    let ro = Ledger::open_read_only(&dir.path().join("ledger.db"))
        .await
        .unwrap();
    let mut tx = ro.read().await.unwrap();
    assert!(tx
        .insert_record(&person("x@example.com"), "tt", now())
        .await
        .is_err());
}

/// What the intent tests send: a person, with remote references.
fn intent_payload() -> Record<RemoteId> {
    Record::Person(Person {
        display_name: "A".into(),
        email: None,
        username: None,
    })
}

/// A create of `p` in tm (idempotency key k1), claimed by `claimed_by`.
fn create_intent<'a>(
    p: &'a StoredRecord,
    payload: &'a Record<RemoteId>,
    claimed_by: &'a str,
) -> NewIntent<'a> {
    NewIntent {
        provider: "tm",
        canonical_id: &p.id,
        op: PushOp::Create,
        remote_id: None,
        idempotency_key: "k1",
        payload,
        canonical_hash: &p.hash,
        claimed_by,
    }
}

/// An open conflict in tm over `canonical_id` (remote id `rid`) under the manual policy, with
/// `p`'s record on both sides.
fn manual_conflict<'a>(
    canonical_id: &'a CanonicalId,
    rid: &'a RemoteId,
    p: &'a StoredRecord,
) -> NewConflict<'a> {
    NewConflict {
        provider: "tm",
        canonical_id,
        remote_id: rid,
        ledger_record: &p.record,
        remote_record: &p.record,
        remote_hash: &p.hash,
        remote_version: None,
        policy: "manual",
        winner: None,
    }
}

#[tokio::test]
async fn report_view_shows_live_entries_with_names_and_local_dates() {
    let (_d, _ledger, mut tx) = temp_writer().await;
    let p = insert(&mut tx, &person("a@example.com")).await;
    // 23:30 UTC on the 10th is already the 11th in Rome.
    let mut late = entry(&p.id, None, 15 * 60 + 30);
    if let Record::TimeEntry(t) = &mut late {
        t.ended_at = Some(t.started_at + chrono::Duration::minutes(30));
        t.duration_seconds = Some(1800);
    }
    let live = insert(&mut tx, &late).await;
    let gone = insert(&mut tx, &entry(&p.id, None, 0)).await;
    tx.tombstone(Kind::TimeEntry, &gone.id, "tt", now())
        .await
        .unwrap();
    let rows: Vec<(String, String, f64, String)> = sqlx::query_as(
        "SELECT entry_id, work_date, hours, started_at_local FROM report_time_entries",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, live.id.0);
    assert_eq!(rows[0].1, "2026-03-11");
    assert_eq!(rows[0].2, 0.5);
    assert_eq!(rows[0].3, "2026-03-11T00:30:00");
}

/// Names a person or provider may spell differently: case (ASCII and not), whitespace
/// (runs, tabs, no-break spaces), accents, special lower-casings.
const TRICKY_NAMES: [&str; 12] = [
    "Acme",
    "  ACME  ",
    "Acme\tGmbH",
    "ACME \u{a0} gmbh",
    "Müller",
    "MÜLLER",
    "Muller",
    "ΣΟΦΊΑ",
    "σοφία",
    "İstanbul",
    "ǅemal",
    "",
];

#[tokio::test]
async fn sql_natural_key_is_the_contracts_name_key() {
    let (_d, ledger) = temp_ledger().await;
    let mut tx = ledger.read().await.unwrap();
    for name in TRICKY_NAMES {
        let sql: Option<String> = sqlx::query_scalar("SELECT natural_key(?1)")
            .bind(name)
            .fetch_one(tx.conn())
            .await
            .unwrap();
        assert_eq!(
            sql.as_deref(),
            Some(timeweave_contract::natural_key::name_key(name).as_str()),
            "{name:?}"
        );
    }
    let null: Option<String> = sqlx::query_scalar("SELECT natural_key(NULL)")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(null, None);
}

// The tests below run on both backends (`NAME::sqlite`, `NAME::postgres`).
crate::on_both_backends! {
#[tokio::test]
async fn records_round_trip_normalised() {
    let (_d, ledger, mut tx) = temp_writer().await;
    let p = insert(&mut tx, &person("Ada@Example.com ")).await;
    let e = insert(&mut tx, &entry(&p.id, None, 0)).await;
    tx.commit().await.unwrap();
    let mut tx = ledger.read().await.unwrap();
    let got = tx.get_record(Kind::Person, &p.id).await.unwrap().unwrap();
    match &got.record {
        Record::Person(p) => assert_eq!(p.email.as_deref(), Some("ada@example.com")),
        other => panic!("{other:?}"),
    }
    let got = tx
        .get_record(Kind::TimeEntry, &e.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.record, entry(&p.id, None, 0).normalised());
    assert_eq!(got.hash, content_hash(&got.record));
    assert_eq!(got.origin, "tt");
}

#[tokio::test]
async fn one_live_person_per_email() {
    let (_d, _ledger, mut tx) = temp_writer().await;
    insert(&mut tx, &person("a@example.com")).await;
    assert!(tx
        .insert_record(&person("A@example.com"), "tm", now())
        .await
        .is_err());
}

#[tokio::test]
async fn a_link_keeps_its_incarnation_and_tells_a_reused_id() {
    let (_d, _ledger, mut tx) = temp_writer().await;
    let a = tx
        .insert_record(&person("a@example.com"), "tm", now())
        .await
        .unwrap();
    let r1 = RemoteId::from("1");
    let mut u = link("tm", Kind::Person, &a.id, &r1, &a.hash);
    u.remote_incarnation = Some("2026-11-22T07:13:05.276906");
    tx.upsert_link(&u, now()).await.unwrap();
    // A later write that knows no incarnation keeps the one stored.
    u.remote_incarnation = None;
    tx.upsert_link(&u, now()).await.unwrap();
    let stored = tx
        .link_by_remote("tm", Kind::Person, &r1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.remote_incarnation.as_deref(),
        Some("2026-11-22T07:13:05.276906")
    );
    let seen = |incarnation: Option<&str>| RemoteRecord {
        id: r1.clone(),
        modified_at: None,
        version: None,
        incarnation: incarnation.map(str::to_owned),
        record: Record::Person(Person {
            display_name: "Ada Lovelace".into(),
            email: None,
            username: None,
        }),
    };
    assert!(!stored.is_reused_by(&seen(Some("2026-11-22T07:13:05.276906"))));
    assert!(stored.is_reused_by(&seen(Some("2026-11-22T09:00:00.000001"))));
    assert!(
        !stored.is_reused_by(&seen(None)),
        "unknown is never a reuse"
    );
}

#[tokio::test]
async fn natural_keys_match_unlinked_records_only() {
    let (_d, _ledger, mut tx) = temp_writer().await;
    let p = insert(&mut tx, &person("a@example.com")).await;
    let acme = insert(&mut tx, &client("Acme")).await;
    let project = insert(&mut tx, &website(Some(&acme.id), None)).await;
    let e = insert(&mut tx, &entry(&p.id, Some(&project.id), 0)).await;

    // Same person, start 40 s later, end 30 s later, same project: a match.
    let mut probe = entry(&p.id, Some(&project.id), 0);
    if let Record::TimeEntry(t) = &mut probe {
        t.started_at += chrono::Duration::seconds(40);
        t.ended_at = t.ended_at.map(|x| x + chrono::Duration::seconds(30));
        t.notes = Some("other words".into());
    }
    let found = tx.natural_key_candidates(&probe, "tm").await.unwrap();
    assert_eq!(found.iter().map(|r| &r.id).collect::<Vec<_>>(), vec![&e.id]);
    // Two minutes off: no match.
    let far = entry(&p.id, Some(&project.id), 2);
    assert!(tx
        .natural_key_candidates(&far, "tm")
        .await
        .unwrap()
        .is_empty());
    // Case-insensitive names for clients and people by e-mail.
    let probe = client("ACME");
    assert_eq!(
        tx.natural_key_candidates(&probe, "tm").await.unwrap().len(),
        1
    );
    assert_eq!(
        tx.natural_key_candidates(&person("A@EXAMPLE.COM"), "tm")
            .await
            .unwrap()
            .len(),
        1
    );
    // Once linked in that provider, no longer a candidate there.
    let rid = RemoteId::from("7");
    put_link(&mut tx, link("tm", Kind::TimeEntry, &e.id, &rid, &e.hash)).await;
    let probe = entry(&p.id, Some(&project.id), 0);
    assert!(tx
        .natural_key_candidates(&probe, "tm")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        tx.natural_key_candidates(&probe, "other")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn push_scan_finds_new_changed_and_deleted_records() {
    let (_d, _ledger, mut tx) = temp_writer().await;
    let p = insert(&mut tx, &person("a@example.com")).await;
    let fresh = insert(&mut tx, &entry(&p.id, None, 0)).await;
    let synced = insert(&mut tx, &entry(&p.id, None, 200)).await;
    let changed = insert(&mut tx, &entry(&p.id, None, 400)).await;
    let deleted = insert(&mut tx, &entry(&p.id, None, 600)).await;
    for (i, r) in [&synced, &changed, &deleted].iter().enumerate() {
        let rid = RemoteId::from(format!("r{i}"));
        put_link(&mut tx, link("tm", Kind::TimeEntry, &r.id, &rid, &r.hash)).await;
    }
    let mut edited = changed.record.clone();
    if let Record::TimeEntry(t) = &mut edited {
        t.notes = Some("edited".into());
    }
    tx.update_record(&changed.id, &edited, "ledger", now())
        .await
        .unwrap();
    tx.tombstone(Kind::TimeEntry, &deleted.id, "tt", now())
        .await
        .unwrap();
    let found: BTreeSet<_> = tx
        .push_candidates("tm", Kind::TimeEntry, 100, None, true)
        .await
        .unwrap()
        .into_iter()
        .map(|(r, l)| (r.id, l.is_some()))
        .collect();
    assert_eq!(
        found,
        BTreeSet::from([
            (fresh.id.clone(), false),
            (changed.id.clone(), true),
            (deleted.id.clone(), true)
        ])
    );
    // Without delete propagation the tombstone is not a candidate.
    let n = tx
        .push_candidates("tm", Kind::TimeEntry, 100, None, false)
        .await
        .unwrap()
        .len();
    assert_eq!(n, 2);
    // Keyset paging walks them all, one at a time.
    let mut after: Option<(chrono::DateTime<Utc>, CanonicalId)> = None;
    let mut walked = 0;
    loop {
        let batch = tx
            .push_candidates(
                "tm",
                Kind::TimeEntry,
                1,
                after.as_ref().map(|(t, i)| (*t, i)),
                true,
            )
            .await
            .unwrap();
        let Some((r, _)) = batch.into_iter().next() else {
            break;
        };
        after = Some((r.updated_at, r.id));
        walked += 1;
    }
    assert_eq!(walked, 3);
    // A standing push issue for this content hides the record until its content changes.
    tx.record_issue(
        &NewIssue {
            provider: "tm",
            direction: Direction::Push,
            kind: Kind::TimeEntry,
            record_id: fresh.id.as_str(),
            content_hash: fresh.hash.as_str(),
            reason: "no project",
        },
        now(),
    )
    .await
    .unwrap();
    let ids: Vec<_> = tx
        .push_candidates("tm", Kind::TimeEntry, 100, None, true)
        .await
        .unwrap()
        .into_iter()
        .map(|(r, _)| r.id)
        .collect();
    assert!(!ids.contains(&fresh.id));
}

#[tokio::test]
async fn a_claimed_write_is_refused_to_every_other_claimant() {
    let (_d, _ledger, mut tx) = temp_writer().await;
    let p = insert(&mut tx, &person("a@example.com")).await;
    let payload = intent_payload();
    let by = |claimed_by| create_intent(&p, &payload, claimed_by);
    let Claim::Granted(first) = tx.claim_intent(&by("1 a"), now()).await.unwrap() else {
        panic!("the first claim is granted");
    };
    assert_eq!(
        tx.claim_intent(&by("2 b"), now()).await.unwrap(),
        Claim::Held(Some("1 a".into()))
    );
    // The claimant's own earlier intent is replaced.
    assert!(matches!(
        tx.claim_intent(&by("1 a"), now()).await.unwrap(),
        Claim::Granted(_)
    ));
    // Once the first create landed (linked, intent cleared), a create is refused too.
    let r7 = RemoteId::from("7");
    put_link(&mut tx, link("tm", Kind::Person, &p.id, &r7, &p.hash)).await;
    tx.clear_intent(first).await.unwrap();
    assert_eq!(
        tx.claim_intent(&by("2 b"), now()).await.unwrap(),
        Claim::Linked
    );
}

#[tokio::test]
async fn intents_conflicts_runs_and_cursors_round_trip() {
    let (_d, _ledger, mut tx) = temp_writer().await;
    let p = insert(&mut tx, &person("a@example.com")).await;
    let payload = intent_payload();
    let id = tx
        .insert_intent(
            &create_intent(&p, &payload, "1 a"),
            now(),
        )
        .await
        .unwrap();
    let open = tx.open_intents("tm").await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].payload, payload);
    tx.clear_intent(id).await.unwrap();
    assert!(tx.open_intents("tm").await.unwrap().is_empty());

    let rid = RemoteId::from("9");
    let c = manual_conflict(&p.id, &rid, &p);
    let c1 = tx.record_conflict(&c, now()).await.unwrap();
    let c2 = tx.record_conflict(&c, now()).await.unwrap();
    assert_eq!(c1, c2, "an open conflict is refreshed, not duplicated");
    assert_eq!(tx.count_open_conflicts(None).await.unwrap(), 1);
    tx.resolve_conflict(c1, "ledger", "operator", now())
        .await
        .unwrap();
    assert_eq!(tx.count_open_conflicts(Some("tm")).await.unwrap(), 0);

    let run = tx.start_run("tm", "both", now()).await.unwrap();
    let counts = RunCounts {
        pulled: 3,
        ..RunCounts::default()
    };
    tx.finish_run(run, RunStatus::Ok, &counts, &["x".into()], now())
        .await
        .unwrap();
    let runs = tx.recent_runs(Some("tm"), 5).await.unwrap();
    assert_eq!(runs[0].status, RunStatus::Ok);
    assert_eq!(runs[0].counts.pulled, 3);

    let cur = Cursor {
        deep_scan_position: Some(now()),
        deep_scan_passes: 2,
        change_watermark: None,
    };
    tx.save_cursor("tm", Kind::TimeEntry, &cur, now())
        .await
        .unwrap();
    assert_eq!(tx.cursor("tm", Kind::TimeEntry).await.unwrap(), cur);
    assert_eq!(
        tx.cursor("tm", Kind::Task).await.unwrap(),
        Cursor::default()
    );
}

#[tokio::test]
async fn a_trail_mark_is_kept_replaced_and_forgotten_with_the_account() {
    let (_d, ledger, mut tx) = temp_writer().await;
    assert_eq!(tx.trail_mark("tt").await.unwrap(), None);
    assert_eq!(
        tx.last_windowed_scan("tt", Kind::TimeEntry).await.unwrap(),
        None
    );
    let mut mark = TrailMark {
        position: "audit:41".into(),
        trusted_after_pass: 3,
        last_gap: Some("more changes than one read returns".into()),
        saved_at: None,
    };
    tx.save_trail_mark("tt", &mark, now()).await.unwrap();
    mark.position = "audit:42".into();
    mark.last_gap = None;
    tx.save_trail_mark("tt", &mark, now()).await.unwrap();
    tx.save_cursor("tt", Kind::TimeEntry, &Cursor::default(), now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = ledger.write().await.unwrap();
    let stored = tx.trail_mark("tt").await.unwrap().unwrap();
    assert_eq!(
        stored,
        TrailMark {
            saved_at: Some(now()),
            ..mark
        }
    );
    assert_eq!(tx.trail_mark("tm").await.unwrap(), None);
    assert_eq!(
        tx.last_windowed_scan("tt", Kind::TimeEntry).await.unwrap(),
        Some(now())
    );
    tx.forget_account("tt").await.unwrap();
    assert_eq!(tx.trail_mark("tt").await.unwrap(), None);
}

#[tokio::test]
async fn history_is_pruned_and_the_totals_keep_counting() {
    let (_d, _ledger, mut tx) = temp_writer().await;
    let day = chrono::Duration::days(1);
    let p = insert(&mut tx, &person("a@example.com")).await;
    for (started, status, pulled) in [
        (now() - day * 100, RunStatus::Ok, 5),
        (now() - day * 95, RunStatus::Failed, 0),
        (now() - day, RunStatus::Partial, 2),
    ] {
        let run = tx.start_run("tm", "both", started).await.unwrap();
        let counts = RunCounts {
            pulled,
            requests: 1,
            ..RunCounts::default()
        };
        tx.finish_run(
            run,
            status,
            &counts,
            &[],
            started + chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    }
    tx.start_run("tm", "both", now() - day * 200).await.unwrap(); // still running
    let rid = RemoteId::from("9");
    let conflict = |canonical_id| manual_conflict(canonical_id, &rid, &p);
    let old = tx
        .record_conflict(&conflict(&p.id), now() - day * 120)
        .await
        .unwrap();
    tx.resolve_conflict(old, "ledger", "operator", now() - day * 100)
        .await
        .unwrap();
    let q = insert(&mut tx, &person("b@example.com")).await;
    tx.record_conflict(&conflict(&q.id), now() - day * 120)
        .await
        .unwrap(); // open
    let before = tx.run_totals("tm").await.unwrap();
    assert_eq!(before.counts.pulled, 7);
    assert_eq!(before.counts.requests, 3);

    assert_eq!(tx.prune_history(now() - day * 90).await.unwrap(), 3);
    let runs = tx.recent_runs(Some("tm"), 10).await.unwrap();
    let kept: Vec<RunStatus> = runs.iter().map(|r| r.status).collect();
    assert_eq!(kept, [RunStatus::Running, RunStatus::Partial]);
    assert_eq!(
        tx.run_totals("tm").await.unwrap(),
        before,
        "totals never shrink"
    );
    assert_eq!(tx.count_open_conflicts(Some("tm")).await.unwrap(), 1);
    assert_eq!(
        tx.conflicts(false).await.unwrap().len(),
        1,
        "the resolved one is gone"
    );
    assert_eq!(
        before.last_success,
        Some(now() - day + chrono::Duration::minutes(1))
    );
}

#[tokio::test]
async fn entry_candidates_for_a_whole_page() {
    let (_d, _ledger, mut tx) = temp_writer().await;
    let p = insert(&mut tx, &person("a@example.com")).await;
    let q = insert(&mut tx, &person("b@example.com")).await;
    let e1 = insert(&mut tx, &entry(&p.id, None, 0)).await;
    insert(&mut tx, &entry(&q.id, None, 0)).await;
    insert(&mut tx, &entry(&p.id, None, 600)).await;
    /// Candidates in tm for p's entries starting within a minute of 08:00 on 10 March.
    async fn near_eight(tx: &mut Tx, p: &CanonicalId) -> Vec<CanonicalId> {
        let start = Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap();
        let minute = chrono::Duration::seconds(60);
        let found = tx
            .entry_candidates("tm", &[p], start - minute, start + minute)
            .await
            .unwrap();
        found.into_iter().map(|r| r.id).collect()
    }
    assert_eq!(near_eight(&mut tx, &p.id).await, vec![e1.id.clone()]);
    let rid = RemoteId::from("1");
    put_link(&mut tx, link("tm", Kind::TimeEntry, &e1.id, &rid, &e1.hash)).await;
    assert!(
        near_eight(&mut tx, &p.id).await.is_empty(),
        "linked in that provider: not a candidate there"
    );
}

#[tokio::test]
async fn a_version_links_still_name_is_kept_until_none_does() {
    let (_d, _ledger, mut tx) = temp_writer().await;
    let a = insert(&mut tx, &person("a@example.com")).await;
    let unlinked = insert(&mut tx, &person("u@example.com")).await;
    let r1 = RemoteId::from("1");
    put_link(&mut tx, link("tt", Kind::Person, &a.id, &r1, &a.hash)).await;
    // Changed away from the version the link names: kept, and readable as that record.
    let renamed = Record::Person(Person {
        display_name: "A. Person".into(),
        email: Some("a@example.com".into()),
        username: None,
    });
    let new_hash = tx
        .update_record(&a.id, &renamed, "tm", now())
        .await
        .unwrap();
    assert_eq!(
        tx.record_version(Kind::Person, &a.id, &a.hash)
            .await
            .unwrap(),
        Some(a.record.clone())
    );
    assert_eq!(
        tx.record_version(Kind::Client, &a.id, &a.hash)
            .await
            .unwrap(),
        None,
        "a version is read as its own kind only"
    );
    // A record no link names keeps no version.
    tx.update_record(&unlinked.id, &person("u2@example.com"), "tm", now())
        .await
        .unwrap();
    assert_eq!(tx.count_versions().await.unwrap(), 1);
    // While the link names it, pruning keeps it; once the link moves on, it goes.
    assert_eq!(tx.prune_versions().await.unwrap(), 0);
    put_link(&mut tx, link("tt", Kind::Person, &a.id, &r1, &new_hash)).await;
    assert_eq!(tx.prune_versions().await.unwrap(), 1);
    assert_eq!(tx.count_versions().await.unwrap(), 0);
}

#[tokio::test]
async fn the_ledger_matches_names_as_the_adapters_do() {
    let (_d, _ledger, mut tx) = temp_writer().await;
    let mut stored = Vec::new();
    for name in TRICKY_NAMES.iter().filter(|n| !n.trim().is_empty()) {
        stored.push(insert(&mut tx, &client(name)).await);
    }
    for probe in TRICKY_NAMES.iter().filter(|n| !n.trim().is_empty()) {
        let found: BTreeSet<_> = tx
            .natural_key_candidates(&client(probe), "tm")
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        let expected: BTreeSet<_> = stored
            .iter()
            .filter(|r| {
                timeweave_contract::natural_key::same_natural_key(&r.record, &client(probe))
            })
            .map(|r| r.id.clone())
            .collect();
        assert_eq!(found, expected, "{probe:?}");
        assert!(!found.is_empty(), "{probe:?} finds at least itself");
    }
}

/// The typed report reads give the same answers on both backends: totals by person,
/// project and week, weekly hours, the export stream, hours per person and client.
#[tokio::test]
async fn report_reads_give_the_same_answers_on_every_backend() {
    use futures::StreamExt;
    let (_d, ledger, mut tx) = temp_writer().await;
    let p = insert(&mut tx, &person("a@example.com")).await;
    let pr = insert(&mut tx, &website(None, Some(10_000))).await;
    for start in [0, 120, 24 * 60] {
        insert(&mut tx, &entry(&p.id, Some(&pr.id), start)).await;
    }
    insert(&mut tx, &entry(&p.id, None, 48 * 60)).await;
    tx.commit().await.unwrap();

    let mut tx = ledger.read().await.unwrap();
    let range = DateRange {
        from: "2026-03-01".parse().unwrap(),
        to: "2026-03-31".parse().unwrap(),
    };
    let by_person = tx.report_totals(TotalsBy::Person, range).await.unwrap();
    assert_eq!(by_person.len(), 1);
    assert_eq!(by_person[0].label.as_deref(), Some("Ada Lovelace"));
    assert_eq!(by_person[0].detail.as_deref(), Some("a@example.com"));
    assert_eq!((by_person[0].entries, by_person[0].seconds), (4, 4 * 5400));
    assert_eq!(by_person[0].amount_cents, Some(3 * 15_000));
    assert_eq!(by_person[0].unpriced_billable_seconds, 5400);
    let by_project = tx.report_totals(TotalsBy::Project, range).await.unwrap();
    let labels: Vec<_> = by_project.iter().map(|r| r.label.clone()).collect();
    assert_eq!(labels, [Some("Website".to_owned()), None]);
    let by_week = tx.report_totals(TotalsBy::Week, range).await.unwrap();
    assert_eq!(by_week[0].label.as_deref(), Some("2026-03-09"));
    let weekly = tx.weekly_hours(WeeklyBy::Project, range).await.unwrap();
    let weekly: Vec<_> = weekly.iter().map(|w| (w.label.clone(), w.seconds)).collect();
    assert_eq!(weekly, [(Some("Website".to_owned()), 3 * 5400), (None, 5400)]);
    assert_eq!(
        tx.work_date_span().await.unwrap(),
        Some(("2026-03-10".to_owned(), "2026-03-12".to_owned()))
    );
    let hours = tx.hours_by_person_and_client().await.unwrap();
    assert_eq!(hours, [("Ada Lovelace".to_owned(), "-".to_owned(), 6.0)]);
    let exported: Vec<EntryRow> = tx
        .export_entries(range)
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(exported.len(), 4);
    assert_eq!(exported[0].work_date, "2026-03-10");
    assert_eq!(exported[0].tags, "[\"a\",\"b\"]");
    assert!(exported.iter().all(|e| e.billable && !e.running));
    assert!(tx.missing_report_views().await.unwrap().is_empty());
}
}
