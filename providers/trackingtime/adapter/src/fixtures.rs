//! Every response sample in TrackingTime's own documentation (`fixtures/documented/`,
//! copied verbatim from its Postman export) read through the envelope and the mapping,
//! and checked record by record: users, projects, tasks, instants in UTC, durations,
//! notes. Some sample values are anonymised and fit nothing (`"d": 7202320` for a
//! two-hour event, `"Duration": 45` for eighty minutes): the record is still read, with
//! the duration recomputed from start and end.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use timeweave_contract::{
    Client, ConflictReason, Kind, PageItem, Person, Project, ProviderError, Record, RemoteId,
    RemoteRecord, Task, TimeEntry,
};
use timeweave_http::RawResponse;

use crate::errors::{self, Body, EnvelopeError};
use crate::mapping::{self, Ctx};
use crate::wire;
use crate::zone::Zone;

/// Every sample whose `data` holds records, with their kind (for the property tests).
pub const RECORD_SAMPLES: [(Kind, &str); 8] = [
    (
        Kind::TimeEntry,
        include_str!("../../fixtures/documented/events_list.json"),
    ),
    (
        Kind::TimeEntry,
        include_str!("../../fixtures/documented/events_flat.json"),
    ),
    (
        Kind::Client,
        include_str!("../../fixtures/documented/customers_list.json"),
    ),
    (
        Kind::Client,
        include_str!("../../fixtures/documented/customer_get.json"),
    ),
    (
        Kind::Project,
        include_str!("../../fixtures/documented/projects_list.json"),
    ),
    (
        Kind::Task,
        include_str!("../../fixtures/documented/task_get.json"),
    ),
    (
        Kind::Task,
        include_str!("../../fixtures/documented/tasks_paginated.json"),
    ),
    (
        Kind::Person,
        include_str!("../../fixtures/documented/user_get.json"),
    ),
];

fn answer(json: &str) -> Result<Body, EnvelopeError> {
    let raw = RawResponse::from_body(200, json);
    errors::read(&raw, "fixture").expect("an envelope")
}

fn body(json: &str) -> Body {
    answer(json).expect("a status 200 envelope")
}

/// The sample account's zone (`/me` of `user_get.json`: `"Berlin"`).
fn ctx() -> Ctx {
    Ctx {
        account_zone: Zone::parse("Berlin").ok(),
    }
}

fn records(kind: Kind, data: &Value) -> Vec<RemoteRecord> {
    let items: Vec<&Value> = match data {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    items
        .into_iter()
        .map(|v| match mapping::item(kind, v, &ctx()) {
            PageItem::Record(r) => r,
            PageItem::Invalid(bad) => panic!("{kind} {v} is invalid: {}", bad.reason),
        })
        .collect()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn entry(r: &RemoteRecord) -> &TimeEntry<RemoteId> {
    match &r.record {
        Record::TimeEntry(e) => e,
        other => panic!("{other:?}"),
    }
}

fn id(n: i64) -> RemoteId {
    RemoteId::from(n)
}

/// The documented "List Events" answer: the compact form (T1).
#[test]
fn events_list_compact_form() {
    let b = body(include_str!("../../fixtures/documented/events_list.json"));
    let got = records(Kind::TimeEntry, b.data());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, id(3_490_132_317));
    let e = entry(&got[0]);
    assert_eq!(e.person, id(542_588));
    assert_eq!(e.project, Some(id(15_422_323_176)));
    assert_eq!(e.task, Some(id(9_462_325_383)));
    assert_eq!(e.client, None, "the customer comes from the project");
    // 10:00-12:00 at GMT-03:00.
    assert_eq!(e.started_at, utc(2023, 5, 11, 13, 0, 0));
    assert_eq!(e.ended_at, Some(utc(2023, 5, 11, 15, 0, 0)));
    assert_eq!(
        (e.duration_seconds, e.break_seconds),
        (Some(7200), 0),
        "the sample's d = 7202320 fits no two-hour event: recomputed"
    );
    assert_eq!(e.source_tz.as_deref(), Some("-03:00"));
    assert_eq!(e.notes.as_deref(), Some("Sample Notes"));
    assert!(e.billable);
    // The sample has no cat/uat: no modification time is made up.
    assert_eq!(got[0].modified_at, None);
}

/// `/events/flat`: Title-Case keys with spaces (T1).
#[test]
fn events_flat_form() {
    let b = body(include_str!("../../fixtures/documented/events_flat.json"));
    let got = records(Kind::TimeEntry, b.data());
    assert_eq!(got.len(), 2);
    let first = entry(&got[0]);
    assert_eq!(got[0].id, id(22_176_912));
    assert_eq!(first.person, id(79_634));
    assert_eq!(first.project, Some(id(813_712)));
    assert_eq!(first.task, Some(id(4_539_199)));
    assert_eq!(first.started_at, utc(2019, 1, 3, 12, 11, 38));
    assert_eq!(first.ended_at, Some(utc(2019, 1, 3, 13, 31, 38)));
    assert_eq!(
        first.duration_seconds,
        Some(80 * 60),
        "\"Duration\": 45 fits no eighty-minute event: recomputed"
    );
    assert_eq!(first.notes, None);
    assert!(first.billable);
    let second = entry(&got[1]);
    assert_eq!(got[1].id, id(22_187_704));
    assert_eq!(second.project, Some(id(32_323_232)));
    assert_eq!(second.task, Some(id(4_608_311)));
    assert_eq!(second.started_at, utc(2019, 1, 3, 16, 0, 0));
    assert_eq!(second.ended_at, Some(utc(2019, 1, 3, 19, 15, 0)));
    assert_eq!(second.duration_seconds, Some(11_700));
    assert_eq!(second.source_tz.as_deref(), Some("-03:00"));
}

fn sample_customer() -> Record<RemoteId> {
    Record::Client(Client {
        name: "Sample Customer".into(),
        email: None,
        notes: None,
        archived: false,
    })
}

#[test]
fn customers_list_and_get() {
    for json in [
        include_str!("../../fixtures/documented/customers_list.json"),
        include_str!("../../fixtures/documented/customer_get.json"),
    ] {
        let got = records(Kind::Client, body(json).data());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, id(123_456));
        assert_eq!(
            got[0].record,
            sample_customer(),
            "`contact: null` is no e-mail"
        );
    }
}

#[test]
fn projects_list() {
    let b = body(include_str!("../../fixtures/documented/projects_list.json"));
    let got = records(Kind::Project, b.data());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, id(1));
    assert_eq!(
        got[0].record,
        Record::Project(Project {
            client: None,
            name: "Sample Project".into(),
            billable: true,
            hourly_rate_cents: None,
            archived: false,
        })
    );
}

#[test]
fn task_get_and_paginated() {
    let want = Record::Task(Task {
        project: id(1_266_926),
        name: "Sample Task".into(),
        archived: false,
    });
    for json in [
        include_str!("../../fixtures/documented/task_get.json"),
        include_str!("../../fixtures/documented/tasks_paginated.json"),
    ] {
        let b = body(json);
        let got = records(Kind::Task, b.data());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, id(94_656_212_106));
        assert_eq!(got[0].record, want);
        // Siblings of `data` (custom fields, users) do not disturb the record.
        assert!(b.0.get("set_custom_fields").is_some());
    }
}

/// The documented user: a person, and as `/me` a city label for the zone (T3) and
/// teams that do not list `data.account_id` (T7).
#[test]
fn user_get_person_zone_and_teams() {
    let b = body(include_str!("../../fixtures/documented/user_get.json"));
    let got = records(Kind::Person, b.data());
    assert_eq!(got[0].id, id(79_634));
    assert_eq!(
        got[0].record,
        Record::Person(Person {
            display_name: "John Doe".into(),
            email: Some("johndoe@domain.com".into()),
            username: None,
        })
    );
    let me = <wire::Me as serde::Deserialize>::deserialize(b.data()).expect("a /me shape");
    assert_eq!(me.zone_label(), Some("Berlin"));
    assert_eq!(
        me.zone_label().map(Zone::parse),
        Some(Ok(Zone::parse("Europe/Berlin").unwrap()))
    );
    assert_eq!(me.account_id, Some(1));
    assert!(me.teams.iter().all(|t| t.account_id != 1), "T7: not listed");
}

#[test]
fn delete_ok_is_an_empty_success() {
    let b = body(include_str!("../../fixtures/documented/delete_ok.json"));
    assert_eq!(b.data(), &serde_json::json!({}));
}

#[test]
fn duplicate_customer_is_a_duplicate_conflict() {
    let e = answer(include_str!(
        "../../fixtures/documented/error_duplicate_customer.json"
    ))
    .expect_err("an in-envelope error");
    assert_eq!(e.status, 500);
    assert!(e.message.contains("already another customer"), "{e:?}");
    match errors::to_error(e, "POST customers/add") {
        ProviderError::Conflict {
            reason: ConflictReason::Duplicate,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
}

/// Every file in `fixtures/documented/` is read by a test above: a new sample without a
/// test fails here.
#[test]
fn every_sample_is_covered() {
    let covered = [
        "events_list.json",
        "events_flat.json",
        "customers_list.json",
        "customer_get.json",
        "projects_list.json",
        "task_get.json",
        "tasks_paginated.json",
        "user_get.json",
        "delete_ok.json",
        "error_duplicate_customer.json",
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/documented");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("the fixtures folder")
        .map(|f| {
            f.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    let mut want: Vec<String> = covered.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(files, want);
}
