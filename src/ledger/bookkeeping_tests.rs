//! Tests of the bookkeeping stores (intents, conflicts, record issues, record versions) for
//! the methods the other ledger tests leave out, run on both backends: each store is
//! written once over `sql::Exec`, so each answer must be the same on SQLite and PostgreSQL.

use chrono::{DateTime, Duration, TimeZone, Utc};
use timeweave_contract::{CanonicalId, ContentHash, Kind, Person, Record, RemoteId};

use super::test_backend::open_test_ledger;
use super::{
    ConflictRow, Direction, Ledger, NewConflict, NewIntent, NewIssue, PushOp, RecordIssue,
    StoredRecord, Tx,
};

async fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open_test_ledger(dir.path()).await.expect("open");
    (dir, ledger)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn person(name: &str) -> Record<CanonicalId> {
    Record::Person(Person {
        display_name: name.into(),
        email: Some(format!("{name}@example.com")),
        username: None,
    })
}

async fn new_person(tx: &mut Tx, name: &str) -> StoredRecord {
    tx.insert_record(&person(name), "tt", now()).await.unwrap()
}

fn conflict<'a>(p: &'a StoredRecord, remote_id: &'a RemoteId) -> NewConflict<'a> {
    NewConflict {
        provider: "tm",
        canonical_id: &p.id,
        remote_id,
        ledger_record: &p.record,
        remote_record: &p.record,
        remote_hash: &p.hash,
        remote_version: Some("v1"),
        policy: "manual",
        winner: None,
    }
}

fn issue<'a>(record_id: &'a str, content_hash: &'a str, reason: &'a str) -> NewIssue<'a> {
    NewIssue {
        provider: "tm",
        direction: Direction::Pull,
        kind: Kind::TimeEntry,
        record_id,
        content_hash,
        reason,
    }
}

fn issue_ids(issues: &[RecordIssue]) -> Vec<&str> {
    issues.iter().map(|i| i.record_id.as_str()).collect()
}

crate::on_both_backends! {
#[tokio::test]
async fn an_intent_names_its_claimant_and_is_counted_per_provider() {
    let (_d, ledger) = ledger().await;
    let mut tx = ledger.write().await.unwrap();
    let p = new_person(&mut tx, "ada").await;
    assert_eq!(tx.intent_claimant("tm", Kind::Person, &p.id).await.unwrap(), None);
    let payload = Record::Person(Person {
        display_name: "ada".into(),
        email: None,
        username: None,
    });
    let rid = RemoteId::from("7");
    let intent = |provider, claimed_by| NewIntent {
        provider,
        canonical_id: &p.id,
        op: PushOp::Update,
        remote_id: Some(&rid),
        idempotency_key: "k1",
        payload: &payload,
        canonical_hash: &p.hash,
        claimed_by,
    };
    let first = tx.insert_intent(&intent("tm", "1 a"), now()).await.unwrap();
    let replaced = tx.insert_intent(&intent("tm", "2 b"), now()).await.unwrap();
    assert_eq!(first, replaced, "an intent for the same record is replaced in place");
    tx.insert_intent(&intent("kb", "1 a"), now()).await.unwrap();
    assert_eq!(
        tx.intent_claimant("tm", Kind::Person, &p.id).await.unwrap(),
        Some(Some("2 b".into()))
    );
    assert_eq!(tx.intent_claimant("tm", Kind::Client, &p.id).await.unwrap(), None);
    let open = tx.open_intents("tm").await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].remote_id, Some(rid.clone()));
    assert_eq!(open[0].op, PushOp::Update);
    assert_eq!(open[0].created_at, now());
    assert_eq!(tx.count_intents(Some("tm")).await.unwrap(), 1);
    assert_eq!(tx.count_intents(Some("other")).await.unwrap(), 0);
    assert_eq!(tx.count_intents(None).await.unwrap(), 2);
}

#[tokio::test]
async fn conflicts_are_read_filtered_settled_once_and_pruned_when_old() {
    let (_d, ledger) = ledger().await;
    let mut tx = ledger.write().await.unwrap();
    let p = new_person(&mut tx, "ada").await;
    let q = new_person(&mut tx, "bob").await;
    let (r1, r2) = (RemoteId::from("1"), RemoteId::from("2"));
    assert!(!tx.has_open_conflict("tm", Kind::Person, &p.id).await.unwrap());
    let open = tx.record_conflict(&conflict(&p, &r1), now()).await.unwrap();
    // A refreshed open conflict takes the new remote side.
    let again = tx.record_conflict(&conflict(&p, &r2), now()).await.unwrap();
    assert_eq!(open, again);
    let settled = NewConflict { winner: Some("ledger"), policy: "prefer", ..conflict(&q, &r1) };
    let settled = tx.record_conflict(&settled, now() - Duration::days(40)).await.unwrap();
    assert!(tx.has_open_conflict("tm", Kind::Person, &p.id).await.unwrap());
    assert!(!tx.has_open_conflict("tm", Kind::Person, &q.id).await.unwrap());
    assert!(!tx.has_open_conflict("kb", Kind::Person, &p.id).await.unwrap());

    let row = tx.conflict(open).await.unwrap().expect("the open conflict");
    assert_eq!(row.remote_id, r2);
    assert_eq!(row.remote_version.as_deref(), Some("v1"));
    assert_eq!((row.winner, row.resolved_at, row.detected_at), (None, None, now()));
    let row = tx.conflict(settled).await.unwrap().expect("the settled conflict");
    assert_eq!(row.winner.as_deref(), Some("ledger"));
    assert_eq!(row.resolved_by.as_deref(), Some("prefer"));
    assert_eq!(row.resolved_at, Some(now() - Duration::days(40)));
    assert_eq!(tx.conflict(settled + open + 1).await.unwrap(), None);

    let ids = |rows: Vec<ConflictRow>| rows.iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(ids(tx.conflicts(true).await.unwrap()), [open]);
    assert_eq!(ids(tx.conflicts(false).await.unwrap()), [open, settled]);
    assert_eq!(tx.count_open_conflicts(Some("kb")).await.unwrap(), 0);

    // Settling a settled conflict changes nothing.
    tx.resolve_conflict(settled, "provider", "operator", now()).await.unwrap();
    let row = tx.conflict(settled).await.unwrap().unwrap();
    assert_eq!(row.winner.as_deref(), Some("ledger"));
    // Pruning takes settled history before the cut only; open ones always stay.
    let cut = crate::ledger::to_text_precise(now() - Duration::days(30));
    assert_eq!(tx.prune_resolved_conflicts(&cut).await.unwrap(), 1);
    assert_eq!(ids(tx.conflicts(false).await.unwrap()), [open]);
    tx.resolve_conflict(open, "provider", "operator", now()).await.unwrap();
    assert_eq!(tx.prune_resolved_conflicts(&cut).await.unwrap(), 0);
    assert_eq!(tx.count_open_conflicts(None).await.unwrap(), 0);
}

#[tokio::test]
async fn an_issue_is_new_once_per_content_and_cleared_one_or_many_at_a_time() {
    let (_d, ledger) = ledger().await;
    let mut tx = ledger.write().await.unwrap();
    let later = now() + Duration::hours(1);
    assert!(tx.record_issue(&issue("r1", "h1", "no person"), now()).await.unwrap());
    assert!(!tx.record_issue(&issue("r1", "h1", "no person"), later).await.unwrap());
    let stored = tx.issues(Some("tm")).await.unwrap();
    assert_eq!((stored[0].first_seen_at, stored[0].last_seen_at), (now(), later));
    assert!(tx.record_issue(&issue("r1", "h1", "no project"), later).await.unwrap());
    assert_eq!(tx.issues(None).await.unwrap()[0].first_seen_at, now(), "same content");
    assert!(tx.record_issue(&issue("r1", "h2", "no project"), later).await.unwrap());
    let stored = tx.issues(None).await.unwrap();
    assert_eq!(stored[0].first_seen_at, later, "new content: seen first now");
    assert_eq!(stored[0].reason, "no project");

    for id in ["r2", "r3", "r4"] {
        tx.record_issue(&issue(id, "h", "bad"), later + Duration::minutes(1)).await.unwrap();
    }
    let pushed = NewIssue { direction: Direction::Push, ..issue("r2", "h", "bad") };
    tx.record_issue(&pushed, now()).await.unwrap();
    let elsewhere = NewIssue { provider: "kb", ..issue("r2", "h", "bad") };
    tx.record_issue(&elsewhere, now()).await.unwrap();
    assert_eq!(tx.count_issues("tm").await.unwrap(), 5);
    assert_eq!(issue_ids(&tx.issues(Some("kb")).await.unwrap()), ["r2"]);

    // Only the named records of this provider, direction and kind go.
    tx.clear_issues("tm", Direction::Pull, Kind::TimeEntry, &["r2", "r3", "absent"]).await.unwrap();
    tx.clear_issues("tm", Direction::Pull, Kind::TimeEntry, &[]).await.unwrap();
    tx.clear_issue("tm", Direction::Pull, Kind::Person, "r4").await.unwrap();
    let left = tx.issues(Some("tm")).await.unwrap();
    assert_eq!(left.len(), 3);
    assert!(left.iter().any(|i| i.record_id == "r2" && i.direction == Direction::Push));
    tx.clear_issue("tm", Direction::Pull, Kind::TimeEntry, "r4").await.unwrap();
    assert_eq!(issue_ids(&tx.issues(Some("tm")).await.unwrap()), ["r1", "r2"]);
    assert_eq!(tx.count_issues("kb").await.unwrap(), 1);
}

#[tokio::test]
async fn an_unlinked_version_is_kept_only_when_asked_and_once_per_hash() {
    let (_d, ledger) = ledger().await;
    let mut tx = ledger.write().await.unwrap();
    let p = new_person(&mut tx, "ada").await;
    let other = person("ada2");
    let other_hash = ContentHash("other".into());
    // Not linked: `keep_version_if_linked` keeps nothing, `keep_version` keeps it.
    tx.keep_version_if_linked(&p.id, &other, &other_hash, now()).await.unwrap();
    assert_eq!(tx.count_versions().await.unwrap(), 0);
    tx.keep_version(&p.id, &other, &other_hash, now()).await.unwrap();
    tx.keep_version(&p.id, &p.record, &other_hash, now()).await.unwrap();
    assert_eq!(tx.count_versions().await.unwrap(), 1, "kept once per hash");
    assert_eq!(
        tx.record_version(Kind::Person, &p.id, &other_hash).await.unwrap(),
        Some(other.clone()),
        "the first kept stays"
    );
    // Kept while a link names it: `tests.rs`, `a_version_links_still_name_is_kept_until_none_does`.
    assert_eq!(tx.prune_versions().await.unwrap(), 1, "no link names it");
    assert_eq!(tx.count_versions().await.unwrap(), 0);
}
}
