//! The change trail: the simulator's `/audit-logs` and `/activities` as v5.10.0 answers them
//! (scopes, newest first, `limit` with no paging, what each lists for creates, updates and
//! deletes, UTC vs app-local times), and the adapter's `read_trail` over them: what changed
//! since its position, and when it cannot prove it saw everything.

mod common;

use std::path::PathBuf;

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use timeweave_contract::{Kind, Provider, Record, RemoteId, TimeEntry};
use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::records;
use timeweave_timetracker::trail::{read_rows, Source};
use timeweave_timetracker_sim::{SimOptions, SimServer};

async fn get(sim: &SimServer, token: &str, path_and_query: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1{path_and_query}", sim.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn project(sim: &SimServer) -> RemoteId {
    records::seed_project(sim, "Acme", "Web", None).1
}

/// How many rows the list under `key` of an answer holds.
fn rows(answer: &Value, key: &str) -> usize {
    answer[key].as_array().unwrap().len()
}

fn entry(project: &RemoteId, day: u32, notes: &str) -> TimeEntry<RemoteId> {
    TimeEntry {
        person: RemoteId::from(1),
        project: Some(project.clone()),
        client: None,
        task: None,
        started_at: Utc.with_ymd_and_hms(2024, 3, day, 9, 0, 0).unwrap(),
        ended_at: Some(Utc.with_ymd_and_hms(2024, 3, day, 10, 0, 0).unwrap()),
        break_seconds: 0,
        notes: Some(notes.into()),
        tags: Default::default(),
        billable: true,
        source_tz: None,
        duration_seconds: Some(3600),
        kind: Default::default(),
    }
}

fn actions(rows: &Value, key: &str) -> Vec<(String, String, i64)> {
    rows[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["entity_type"].as_str().unwrap().to_owned(),
                r["action"].as_str().unwrap().to_owned(),
                r["entity_id"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn audit_logs_need_admin_all_and_activities_read_reports() {
    let sim = SimServer::start(SimOptions::default()).await;
    let reports = sim.add_token(1, &["read:reports"]);
    let entries_only = sim.add_token(1, &["read:time_entries"]);
    assert_eq!(get(&sim, &reports, "/audit-logs").await.0, 403);
    assert_eq!(get(&sim, &reports, "/activities").await.0, 200);
    assert_eq!(get(&sim, &entries_only, "/activities").await.0, 403);
    assert_eq!(get(&sim, &sim.admin_token(), "/audit-logs").await.0, 200);
}

#[tokio::test]
async fn trails_list_creates_updates_and_deletes_newest_first() {
    let sim = SimServer::start(SimOptions::default()).await;
    let p = project(&sim);
    let a = sim.add_entry(&entry(&p, 1, "one"));
    let b = sim.add_entry(&entry(&p, 2, "two"));
    sim.advance_clock(chrono::Duration::seconds(1));
    let mut changed = entry(&p, 1, "one, edited");
    changed.billable = false;
    assert!(sim.edit(&a, &Record::TimeEntry(changed)));
    sim.advance_clock(chrono::Duration::seconds(1));
    assert!(sim.remove(Kind::TimeEntry, &b));
    let admin = sim.admin_token();
    let (_, audit) = get(&sim, &admin, "/audit-logs?entity_type=TimeEntry").await;
    let (a, b) = (
        a.as_str().parse::<i64>().unwrap(),
        b.as_str().parse().unwrap(),
    );
    let te = |action: &str, id| ("TimeEntry".to_owned(), action.to_owned(), id);
    assert_eq!(
        actions(&audit, "audit_logs"),
        [
            te("deleted", b),
            te("deleted", b),
            te("updated", a),
            te("updated", a),
            te("created", b),
            te("created", a)
        ],
        "two rows per delete, one per changed field, newest first"
    );
    let (_, acts) = get(&sim, &admin, "/activities?entity_type=time_entry").await;
    let act = |action: &str, id| ("time_entry".to_owned(), action.to_owned(), id);
    assert_eq!(
        actions(&acts, "activities"),
        [
            act("deleted", b),
            act("updated", a),
            act("created", b),
            act("created", a)
        ]
    );
    // Times: audit rows app-local (Rome, UTC+1 in winter... the clock is real: compare the
    // two logs' newest rows, written in the same second).
    let local = audit["audit_logs"][0]["created_at"].as_str().unwrap();
    let utc = acts["activities"][0]["created_at"].as_str().unwrap();
    assert_ne!(
        &local[..13],
        &utc[..13],
        "audit rows are local, activities UTC"
    );
}

#[tokio::test]
async fn limit_takes_the_newest_rows_only_with_the_documented_defaults() {
    let sim = SimServer::start(SimOptions::default()).await;
    let p = project(&sim);
    for i in 0..120u32 {
        sim.add_entry(&entry(&p, 1 + i % 28, &format!("n{i}")));
    }
    let admin = sim.admin_token();
    let (_, acts) = get(&sim, &admin, "/activities").await;
    assert_eq!(rows(&acts, "activities"), 50, "default 50");
    let (_, acts) = get(&sim, &admin, "/activities?limit=0").await;
    assert_eq!(rows(&acts, "activities"), 50, "0 is the default");
    let (_, acts) = get(&sim, &admin, "/activities?limit=3&page=2").await;
    let ids: Vec<i64> = acts["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [120, 119, 118], "no paging: `page` is ignored");
    let (_, audit) = get(&sim, &admin, "/audit-logs").await;
    assert_eq!(rows(&audit, "audit_logs"), 100, "default 100");
    let (_, audit) = get(&sim, &admin, "/audit-logs?limit=1000").await;
    assert!(rows(&audit, "audit_logs") > 120, "no cap");
}

#[tokio::test]
async fn api_timers_leave_no_activity_but_an_audit_row_unless_switched() {
    for on in [false, true] {
        let sim = SimServer::start(SimOptions {
            activities_from_api_timer: on,
            ..SimOptions::default()
        })
        .await;
        let p = project(&sim);
        let admin = sim.admin_token();
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v1/timer/start", sim.url()))
            .bearer_auth(&admin)
            .json(&json!({"project_id": p.as_str().parse::<i64>().unwrap()}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let (_, acts) = get(&sim, &admin, "/activities?entity_type=time_entry").await;
        assert_eq!(rows(&acts, "activities"), usize::from(on));
        let (_, audit) = get(&sim, &admin, "/audit-logs?entity_type=TimeEntry").await;
        assert_eq!(rows(&audit, "audit_logs"), 1);
    }
}

#[tokio::test]
async fn the_adapter_reads_what_changed_since_its_position() {
    let (sim, adapter) = common::sim().await;
    let p = project(&sim);
    let old = sim.add_entry(&entry(&p, 1, "old"));
    let gone = sim.add_entry(&entry(&p, 2, "gone"));
    adapter.connect().await.unwrap();
    let first = adapter.read_trail(None).await.unwrap();
    assert!(first.gap.as_deref().unwrap().contains("no trail position"));
    let again = adapter.read_trail(first.position.as_ref()).await.unwrap();
    assert!(again.is_complete() && again.is_empty(), "{again:?}");
    assert!(
        again.covers.contains(&Kind::Project),
        "the audit log covers every kind"
    );

    assert!(sim.edit(&old, &Record::TimeEntry(entry(&p, 1, "edited"))));
    assert!(sim.remove(Kind::TimeEntry, &gone));
    let read = adapter.read_trail(again.position.as_ref()).await.unwrap();
    assert!(read.is_complete(), "{:?}", read.gap);
    assert_eq!(
        read.changed[&Kind::TimeEntry].iter().collect::<Vec<_>>(),
        [&old]
    );
    assert_eq!(
        read.deleted[&Kind::TimeEntry].iter().collect::<Vec<_>>(),
        [&gone]
    );
}

#[tokio::test]
async fn without_admin_all_the_adapter_reads_activities_and_without_reports_nothing() {
    let sim = SimServer::start(SimOptions::default()).await;
    let p = project(&sim);
    let reports = sim.add_token(1, &["read:reports", "read:time_entries", "read:users"]);
    let a = common::adapter(sim.settings_with_token(&reports));
    a.connect().await.unwrap();
    let first = a.read_trail(None).await.unwrap();
    let e = sim.add_entry(&entry(&p, 3, "new"));
    let read = a.read_trail(first.position.as_ref()).await.unwrap();
    assert!(read.is_complete());
    assert!(
        read.covers.is_empty(),
        "API timers write no activity: it spares no listing"
    );
    assert!(read.changed[&Kind::TimeEntry].contains(&e));

    let plain = sim.add_token(1, &["read:time_entries", "read:users"]);
    let a = common::adapter(sim.settings_with_token(&plain));
    a.connect().await.unwrap();
    let read = a.read_trail(first.position.as_ref()).await.unwrap();
    assert!(read.gap.unwrap().contains("neither admin:all"));
}

#[tokio::test]
async fn more_changes_than_one_read_returns_is_incomplete() {
    let (sim, adapter) = common::sim().await;
    let p = project(&sim);
    adapter.connect().await.unwrap();
    let start = adapter.read_trail(None).await.unwrap();
    // Each entry: one audit row; 501 of them pass the adapter's limit of 500.
    for i in 0..501u32 {
        sim.add_entry(&entry(&p, 1 + i % 28, &format!("n{i}")));
    }
    let read = adapter.read_trail(start.position.as_ref()).await.unwrap();
    assert!(read.gap.unwrap().contains("more than 500 changes"));
}

#[test]
fn the_recorded_trail_samples_read() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recorded-v5.10");
    let load = |name: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["body"].clone()
    };
    let zone = chrono_tz::Europe::Rome;
    let audit = read_rows(
        Source::AuditLogs,
        &load("76_audit_logs_time_entry_deleted.json"),
        zone,
    )
    .unwrap();
    let acts = read_rows(
        Source::Activities,
        &load("77_activities_time_entry.json"),
        zone,
    )
    .unwrap();
    assert!(audit
        .iter()
        .all(|r| r.deleted && r.kind == Some(Kind::TimeEntry)));
    // The same delete, in both logs: local 07:13 in Rome is 06:13 UTC.
    assert_eq!(audit[0].entity_id, Some(3));
    assert_eq!(acts[0].entity_id, Some(3));
    let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    assert_eq!(audit[0].at.date_naive(), day);
    assert!((audit[0].at - acts[0].at).num_seconds().abs() < 1);
}
