//! Tests of the copy of a PostgreSQL ledger into a SQLite file (`copy.rs`): its list of
//! tables and columns is each schema's, column by column and type by type (a migration
//! that adds a table or a column to either backend fails here until the copy carries it),
//! and a populated ledger reads back equal through the store API from its copy.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use timeweave_contract::{
    Client, ContentHash, EntryKind, Kind, Person, Project, Record, RemoteId, Task, TimeEntry,
};

use super::copy::{ColumnType, NOT_COPIED, TABLES};
use crate::ledger::postgres::testing::scratch_ledger;
use crate::ledger::{
    Cursor, Direction, Ledger, LinkUpdate, NewConflict, NewIntent, NewIssue, PushOp, RunCounts,
    RunStatus, StoredRecord, TrailMark, Tx,
};

/// `(table, [(column, type as the backend declares it)])`, sorted by table.
type Schema = Vec<(String, Vec<(String, String)>)>;

/// What the copy carries, with each type as `declared` names it on one backend.
fn copied(declared: fn(ColumnType) -> &'static str) -> Schema {
    let mut tables: Schema = TABLES
        .iter()
        .map(|t| {
            let columns = t
                .columns
                .iter()
                .map(|&(name, ty)| (name.to_owned(), declared(ty).to_owned()))
                .collect();
            (t.name.to_owned(), columns)
        })
        .collect();
    tables.sort();
    tables
}

/// The copy's tables and columns are `schema`'s, table by table, or the test fails naming
/// the first table that differs.
fn assert_carries(copy: &Schema, schema: &Schema, backend: &str) {
    let names = |s: &Schema| s.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(copy),
        names(schema),
        "the copy's tables (left) are not the {backend} ledger's (right): list each in copy::TABLES"
    );
    for ((table, ours), (_, theirs)) in copy.iter().zip(schema) {
        assert_eq!(
            ours, theirs,
            "{table}: the copy's columns (left) are not the {backend} ledger's (right): \
             carry each in copy::TABLES"
        );
    }
}

fn sqlite_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text => "TEXT",
        ColumnType::Int | ColumnType::Flag => "INTEGER",
    }
}

fn postgres_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text => "text",
        ColumnType::Int => "bigint",
        ColumnType::Flag => "boolean",
    }
}

#[tokio::test]
async fn the_copy_carries_every_column_of_every_sqlite_table() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    let pool = ledger.sqlite_pool();
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_schema WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name != '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema: Schema = Vec::new();
    for (table,) in names {
        let columns: Vec<(String, String)> =
            sqlx::query_as("SELECT name, type FROM pragma_table_info(?) ORDER BY cid")
                .bind(&table)
                .fetch_all(pool)
                .await
                .unwrap();
        schema.push((table, columns));
    }
    assert_carries(&copied(sqlite_type), &schema, "SQLite");
    for table in NOT_COPIED {
        assert!(
            schema.iter().all(|(t, _)| t != table),
            "{table} is on SQLite"
        );
    }
}

#[tokio::test]
async fn the_copy_carries_every_column_of_every_postgres_table_but_the_leases() {
    let Some(ledger) =
        scratch_ledger("the_copy_carries_every_column_of_every_postgres_table_but_the_leases")
            .await
    else {
        return;
    };
    let pool = ledger.postgres_pool().unwrap();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text \
         FROM information_schema.columns c JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
           AND c.table_name != '_sqlx_migrations' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema: Schema = Vec::new();
    for (table, column, ty) in rows {
        match schema.last_mut() {
            Some((t, columns)) if *t == table => columns.push((column, ty)),
            _ => schema.push((table, vec![(column, ty)])),
        }
    }
    let (left_out, schema): (Schema, Schema) = schema
        .into_iter()
        .partition(|(t, _)| NOT_COPIED.contains(&t.as_str()));
    assert_carries(&copied(postgres_type), &schema, "PostgreSQL");
    let left_out: Vec<&str> = left_out.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(left_out, NOT_COPIED, "each table left out exists");
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn link<'a>(
    provider: &'a str,
    r: &'a StoredRecord,
    remote_id: &'a RemoteId,
    incarnation: Option<&'a str>,
) -> LinkUpdate<'a> {
    LinkUpdate {
        provider,
        kind: r.record.kind(),
        canonical_id: &r.id,
        remote_id,
        remote_hash: &r.hash,
        canonical_hash: &r.hash,
        remote_version: Some("v3"),
        remote_updated_at: Some(now() - Duration::hours(1)),
        remote_started_at: match &r.record {
            Record::TimeEntry(e) => Some(e.started_at),
            _ => None,
        },
        remote_incarnation: incarnation,
    }
}

/// One record of every kind, entries of both kinds (one running, one deleted).
async fn records(tx: &mut Tx) -> Vec<StoredRecord> {
    let mut kept = Vec::new();
    let person = Record::Person(Person {
        display_name: "Ada Lovelace".into(),
        email: Some("ada@example.com".into()),
        username: Some("ada".into()),
    });
    let ada = tx.insert_record(&person, "tt", now()).await.unwrap();
    let client = Record::Client(Client {
        name: "Acme \"Ltd\"".into(),
        email: None,
        notes: Some("line one\nline two".into()),
        archived: true,
    });
    let acme = tx.insert_record(&client, "tt", now()).await.unwrap();
    let project = Record::Project(Project {
        client: Some(acme.id.clone()),
        name: "Website".into(),
        billable: false,
        hourly_rate_cents: Some(12_345),
        archived: false,
    });
    let site = tx.insert_record(&project, "tm", now()).await.unwrap();
    let task = Record::Task(Task {
        project: site.id.clone(),
        name: "Design".into(),
        archived: false,
    });
    let design = tx.insert_record(&task, "tm", now()).await.unwrap();
    for (minutes, ended, kind) in [
        (0, true, EntryKind::Work),
        (120, true, EntryKind::Attendance),
        (240, false, EntryKind::Work),
    ] {
        let start = now() - Duration::days(3) + Duration::minutes(minutes);
        let entry = Record::TimeEntry(TimeEntry {
            person: ada.id.clone(),
            project: Some(site.id.clone()),
            task: Some(design.id.clone()),
            client: None,
            started_at: start,
            ended_at: ended.then(|| start + Duration::minutes(95)),
            break_seconds: 300,
            duration_seconds: ended.then_some(5400),
            source_tz: Some("Europe/Rome".into()),
            notes: Some("naïve ünïcode, \"quotes\"".into()),
            tags: BTreeSet::from(["b".to_string(), "a".to_string()]),
            billable: kind == EntryKind::Work,
            kind,
        });
        kept.push(tx.insert_record(&entry, "tm", now()).await.unwrap());
    }
    tx.tombstone(Kind::TimeEntry, &kept[1].id, "tt", now())
        .await
        .unwrap();
    kept.extend([ada, acme, site, design]);
    kept
}

/// A ledger with something in every table a copy carries.
async fn populate(ledger: &Ledger) -> Vec<StoredRecord> {
    let mut tx = ledger.write().await.unwrap();
    let kept = records(&mut tx).await;
    let remote: Vec<RemoteId> = (0..kept.len())
        .map(|i| RemoteId::from(format!("r{i}").as_str()))
        .collect();
    for (i, r) in kept.iter().enumerate() {
        let incarnation = (i % 2 == 0).then_some("2026-01-01T00:00:00Z");
        tx.upsert_link(&link("tm", r, &remote[i], incarnation), now())
            .await
            .unwrap();
    }
    tx.mark_link_remote_deleted("tm", Kind::TimeEntry, &remote[1], now())
        .await
        .unwrap();
    let cursor = Cursor {
        deep_scan_position: Some(now() - Duration::days(40)),
        deep_scan_passes: 3,
        change_watermark: Some(now() - Duration::minutes(5)),
    };
    tx.save_cursor("tm", Kind::TimeEntry, &cursor, now())
        .await
        .unwrap();
    let mark = TrailMark {
        position: "audit:42".into(),
        trusted_after_pass: 4,
        last_gap: Some("a gap".into()),
        saved_at: None,
    };
    tx.save_trail_mark("tm", &mark, now()).await.unwrap();
    bookkeeping(&mut tx, &kept[0]).await;
    tx.commit().await.unwrap();
    kept
}

/// An intent, an open and a settled conflict, an issue, a kept version, runs (finished and
/// running) and a binding, about `entry`.
async fn bookkeeping(tx: &mut Tx, entry: &StoredRecord) {
    let payload = Record::Person(Person {
        display_name: "A".into(),
        email: None,
        username: None,
    });
    let intent = NewIntent {
        provider: "tt",
        canonical_id: &entry.id,
        op: PushOp::Update,
        remote_id: Some(&RemoteId::from("77")),
        idempotency_key: "k1",
        payload: &payload,
        canonical_hash: &entry.hash,
        claimed_by: "1/2 cycle",
    };
    tx.insert_intent(&intent, now()).await.unwrap();
    let rid = RemoteId::from("r0");
    let conflict = |provider| NewConflict {
        provider,
        canonical_id: &entry.id,
        remote_id: &rid,
        ledger_record: &entry.record,
        remote_record: &entry.record,
        remote_hash: &entry.hash,
        remote_version: Some("v1"),
        policy: "manual",
        winner: None,
    };
    let settled = tx.record_conflict(&conflict("tt"), now()).await.unwrap();
    tx.resolve_conflict(settled, "provider", "operator", now())
        .await
        .unwrap();
    tx.record_conflict(&conflict("tm"), now()).await.unwrap();
    let issue = NewIssue {
        provider: "tm",
        direction: Direction::Push,
        kind: Kind::TimeEntry,
        record_id: entry.id.as_str(),
        content_hash: entry.hash.as_str(),
        reason: "too long",
    };
    tx.record_issue(&issue, now()).await.unwrap();
    tx.keep_version(&entry.id, &entry.record, &ContentHash("old".into()), now())
        .await
        .unwrap();
    let run = tx.start_run("tm", "both", now()).await.unwrap();
    let counts = RunCounts {
        pulled: 3,
        created: 2,
        ..RunCounts::default()
    };
    tx.finish_run(run, RunStatus::Partial, &counts, &["boom".into()], now())
        .await
        .unwrap();
    tx.start_run("tt", "push", now()).await.unwrap();
    tx.bind_account("tm", "account-1", now()).await.unwrap();
}

/// Everything the store API reads back about `kept`, as text.
async fn reading(ledger: &Ledger, kept: &[StoredRecord]) -> Vec<String> {
    let mut tx = ledger.read().await.unwrap();
    let mut seen = Vec::new();
    for kind in Kind::ALL {
        let mut live = tx.all_live(kind).await.unwrap();
        live.sort_by(|a, b| a.id.cmp(&b.id));
        seen.push(format!("{live:?}"));
    }
    for r in kept {
        let stored = tx.get_record(r.record.kind(), &r.id).await.unwrap();
        let links = tx.links_of(&r.id).await.unwrap();
        seen.push(format!("{stored:?} {links:?}"));
    }
    if let Some(first) = kept.first() {
        let old = ContentHash("old".into());
        let version = tx.record_version(Kind::TimeEntry, &first.id, &old).await;
        seen.push(format!("{:?}", version.unwrap()));
    }
    seen.push(format!("{}", tx.count_versions().await.unwrap()));
    seen.push(format!(
        "{:?}",
        tx.cursor("tm", Kind::TimeEntry).await.unwrap()
    ));
    seen.push(format!("{:?}", tx.trail_mark("tm").await.unwrap()));
    seen.push(format!("{:?}", tx.open_intents("tt").await.unwrap()));
    seen.push(format!("{:?}", tx.conflicts(false).await.unwrap()));
    seen.push(format!("{:?}", tx.issues(None).await.unwrap()));
    seen.push(format!("{:?}", tx.recent_runs(None, 10).await.unwrap()));
    seen.push(format!("{:?}", tx.run_totals("tm").await.unwrap()));
    seen.push(format!("{:?}", tx.account_binding("tm").await.unwrap()));
    seen.push(format!("{:?}", tx.sync_health().await.unwrap()));
    seen.push(format!("{:?}", tx.work_date_span().await.unwrap()));
    seen.push(format!(
        "{:?}",
        tx.hours_by_person_and_client().await.unwrap()
    ));
    seen
}

/// `ledger` copied into a new file (in the directory returned), opened as a dry run opens it.
async fn copy_of(ledger: &Ledger) -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.db");
    ledger.copy_to(&path).await.unwrap();
    let copy = Ledger::open(&path).await.unwrap();
    (dir, copy)
}

#[tokio::test]
async fn a_copy_of_a_populated_postgres_ledger_reads_back_the_same() {
    let Some(ledger) =
        scratch_ledger("a_copy_of_a_populated_postgres_ledger_reads_back_the_same").await
    else {
        return;
    };
    let kept = populate(&ledger).await;

    let (_dir, copy) = copy_of(&ledger).await;

    let original = reading(&ledger, &kept).await;
    assert_eq!(reading(&copy, &kept).await, original);
    // Not vacuously: both sides hold what was written.
    let mut tx = copy.read().await.unwrap();
    assert_eq!(tx.conflicts(false).await.unwrap().len(), 2);
    assert_eq!(tx.count_live(Kind::TimeEntry).await.unwrap(), 2);
    assert_eq!(tx.recent_runs(None, 10).await.unwrap().len(), 2);
    assert_eq!(tx.run_totals("tm").await.unwrap().counts.pulled, 3);
    // The copy is a ledger of its own: it takes writes, numbered after what it holds.
    drop(tx);
    let mut tx = copy.write().await.unwrap();
    let run = tx.start_run("tm", "both", now()).await.unwrap();
    tx.commit().await.unwrap();
    assert!(run > 2, "run id {run}");
}

#[tokio::test]
async fn an_empty_postgres_ledger_copies_to_an_empty_sqlite_ledger() {
    let Some(ledger) =
        scratch_ledger("an_empty_postgres_ledger_copies_to_an_empty_sqlite_ledger").await
    else {
        return;
    };
    let (_dir, copy) = copy_of(&ledger).await;
    assert_eq!(reading(&copy, &[]).await, reading(&ledger, &[]).await);
}
