//! Property test of the mapping from provider bytes: arbitrary JSON, and the documented
//! record shapes with fields mutated, dropped or replaced, go through exactly what a listing
//! runs (wire parsing, the time convention, name resolution, the canonical mapping) and
//! always come out as a record or an invalid item with a reason, never a panic.

use proptest::prelude::*;
use serde_json::{json, Value};
use timeweave_contract::{Kind, PageItem};

use super::{ref_item, resolve_entry, Phase};
use crate::clock::Timestamps;
use crate::directory::Directory;
use crate::mapping;
use crate::wire;

/// The documented shapes (spec §2), as a listing would serve them.
fn seeds() -> Vec<(Kind, Option<Phase>, Value)> {
    vec![
        (
            Kind::TimeEntry,
            Some(Phase::ProjectEntries),
            json!({"id": 7, "user": "test", "clientName": "ACME", "projectName": "Web",
                   "task": "Development", "from": "2026-10-25T02:30:00.000Z",
                   "to": "2026-10-25T02:30:00.000Z", "workedMinutes": 60, "breakMinutes": "0",
                   "details": "fold", "tags": "#a #b", "billable": 1}),
        ),
        (
            Kind::TimeEntry,
            Some(Phase::Attendances),
            json!({"id": 3, "user": "test", "from": "2026-03-29T02:30:00Z",
                   "to": "2026-03-29T04:00:00Z", "minutesBreak": 30, "details": "gap"}),
        ),
        (
            Kind::Client,
            None,
            json!({"id": 1, "name": "ACME", "email": "a@example.com", "notes": "n", "enabled": "0"}),
        ),
        (
            Kind::Project,
            None,
            json!({"id": 2, "projectName": "Web", "clientName": "ACME", "hourRate": "85.5",
                   "projectEnabled": true}),
        ),
        (
            Kind::Person,
            None,
            json!({"id": 4, "username": "test", "firstName": "Ada", "lastName": "L",
                   "email": "ada@example.com"}),
        ),
    ]
}

fn directory() -> Directory {
    let mut dir = Directory::default();
    dir.users.insert(4, "test");
    dir.clients.insert(1, "ACME");
    dir.projects.insert(2, Some("ACME"), "Web");
    dir.tasks.insert(9, "Development");
    dir
}

/// What a listing makes of one value: `Ok` a record, `Err` the invalid item's reason.
fn map_one(kind: Kind, phase: Option<Phase>, v: &Value, clock: &Timestamps) -> Result<(), String> {
    let dir = directory();
    let Some(phase) = phase else {
        return match ref_item(kind, v, &dir) {
            None | Some(PageItem::Record(_)) => Ok(()),
            Some(PageItem::Invalid(bad)) => Err(bad.reason),
        };
    };
    let parsed = match phase {
        Phase::ProjectEntries => wire::project_entry(v),
        Phase::Attendances => wire::attendance(v),
    };
    let e = parsed.map_err(|u| u.reason)?;
    mapping::entry_times(&e, clock)?;
    let (refs, _) = resolve_entry(&e, phase, &dir)?;
    mapping::entry(&e, phase.entry_kind(), refs, clock).map(|_| ())
}

/// Values at the edges of what the mapping computes with.
fn edge_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            json!(i64::MAX),
            json!(i64::MIN),
            json!(i64::MAX / 60 + 1),
            json!(-1),
            json!(1e300),
            json!("9223372036854775807"),
            json!("-0"),
            json!(""),
            json!("+262143-12-31T23:59:59.999Z"),
            json!("0000-01-01T00:00:00Z"),
            json!("9999-12-31T23:59:59.999Z"),
            json!("2026-03-29T02:30:00"),
            json!("2026-10-25T02:30:00.000Z"),
        ]),
        timestamp_text().prop_map(Value::String),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        timestamp_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Timestamp-like text near every edge: far and zero years, gaps, folds, bad fields.
fn timestamp_text() -> impl Strategy<Value = String> {
    "[+-]?[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}T[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})?"
}

/// One change to a seed: a field replaced, dropped, or a key added.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, Value),
    Edge(usize, Value),
    Drop(usize),
    Add(String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        (any::<usize>(), edge_value()).prop_map(|(i, v)| Mutation::Edge(i, v)),
        any::<usize>().prop_map(Mutation::Drop),
        ("[a-zA-Z]{1,12}", any_json()).prop_map(|(k, v)| Mutation::Add(k, v)),
    ]
}

fn mutate(mut v: Value, mutations: &[Mutation]) -> Value {
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    for m in mutations {
        let keys: Vec<String> = obj.keys().cloned().collect();
        let key = |i: &usize| keys.get(i % keys.len().max(1)).cloned();
        match m {
            Mutation::Replace(i, new) | Mutation::Edge(i, new) => {
                if let Some(k) = key(i) {
                    obj.insert(k, new.clone());
                }
            }
            Mutation::Drop(i) => {
                if let Some(k) = key(i) {
                    obj.remove(&k);
                }
            }
            Mutation::Add(k, new) => {
                obj.insert(k.clone(), new.clone());
            }
        }
    }
    v
}

fn clocks() -> [Timestamps; 3] {
    [
        Timestamps::Utc,
        Timestamps::Local(chrono_tz::Europe::Berlin),
        Timestamps::Local(chrono_tz::Australia::Lord_Howe),
    ]
}

#[test]
fn every_seed_maps_to_a_record() {
    for clock in clocks() {
        for (kind, phase, v) in seeds() {
            assert_eq!(map_one(kind, phase, &v, &clock), Ok(()), "{v}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_records_map_or_say_why(
        seed in 0usize..5,
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let (kind, phase, v) = seeds().swap_remove(seed);
        let v = mutate(v, &mutations);
        for clock in clocks() {
            if let Err(reason) = map_one(kind, phase, &v, &clock) {
                prop_assert!(!reason.trim().is_empty(), "an invalid item needs a reason: {v}");
            }
        }
    }

    #[test]
    fn arbitrary_json_maps_or_says_why(v in any_json(), seed in 0usize..5) {
        let (kind, phase, _) = seeds().swap_remove(seed);
        for clock in clocks() {
            if let Err(reason) = map_one(kind, phase, &v, &clock) {
                prop_assert!(!reason.trim().is_empty(), "an invalid item needs a reason: {v}");
            }
        }
    }
}
