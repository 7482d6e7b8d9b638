//! Property tests of the mapping: arbitrary JSON, and the recorded v5.10 samples' records
//! mutated (a field replaced by arbitrary JSON, removed, or its text mangled), always map
//! to a record or to a reason, never a panic; what maps is well-formed; and any entry that
//! maps can be written back (or refused with a reason) without a panic.

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::{Map, Value};
use timeweave_contract::{Record, RemoteId, TimeEntry};
use timeweave_timetracker::mapping::{self, typed, Zone};
use timeweave_timetracker::wire;

/// The record kinds a body can hold, by the key they sit under.
const RECORD_KEYS: [(&str, &str); 10] = [
    ("time_entry", "entry"),
    ("time_entries", "entry"),
    ("timer", "entry"),
    ("project", "project"),
    ("projects", "project"),
    ("client", "client"),
    ("clients", "client"),
    ("task", "task"),
    ("tasks", "task"),
    ("user", "user"),
];

/// Every record object in the recorded samples, with the kind it is.
fn fixture_records() -> Vec<(&'static str, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recorded-v5.10");
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the recorded samples are part of the repository")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        for (key, kind) in RECORD_KEYS {
            match &v["body"][key] {
                Value::Object(_) => out.push((kind, v["body"][key].clone())),
                Value::Array(items) => out.extend(items.iter().map(|i| (kind, i.clone()))),
                _ => {}
            }
        }
    }
    out
}

fn rome() -> Zone {
    Zone {
        tz: chrono_tz::Europe::Rome,
        name: "Europe/Rome".into(),
    }
}

/// Maps one raw record of `kind`; a panic fails the property, an `Err` is a reason.
fn map(kind: &str, v: &Value) -> Result<Record<RemoteId>, String> {
    let zone = rome();
    match kind {
        "entry" => {
            let e: wire::TimeEntry = typed(v)?;
            let _ = mapping::reference_of_entry(&e);
            mapping::entry(&e, &zone).map(|r| r.record)
        }
        "project" => typed::<wire::Project>(v).and_then(|p| mapping::project(&p).map(|r| r.record)),
        "client" => typed::<wire::Client>(v).map(|c| mapping::client(&c).record),
        "task" => typed::<wire::Task>(v).map(|t| mapping::task(&t, &zone).record),
        _ => typed::<wire::User>(v).map(|u| mapping::person(&u).record),
    }
}

/// What every mapped record must satisfy, and an entry's way back out.
fn check(record: &Record<RemoteId>) {
    assert_eq!(
        record,
        &record.clone().normalised(),
        "records are normalised"
    );
    if let Record::TimeEntry(e) = record {
        check_entry(e);
    }
}

fn check_entry(e: &TimeEntry<RemoteId>) {
    if let Some(end) = e.ended_at {
        assert!(end >= e.started_at, "end before start mapped: {e:?}");
    }
    assert!(e.break_seconds >= 0 && e.duration_seconds.is_none_or(|d| d >= 0));
    let zone = rome();
    let _ = mapping::entry_create(e, &zone, None);
    let _ = mapping::entry_patch(e, &zone, Some("2026-11-22T07:13:05.277334"));
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}T[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?[Z+é]?"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,12}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A change to one field of a record: replaced, removed, or its text cut or added to (at
/// any character, so multi-byte text lands inside timestamps and names).
#[derive(Clone, Debug)]
enum Mutation {
    Replace(Value),
    Remove,
    Cut(usize),
    Insert(usize, String),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        arb_json().prop_map(Mutation::Replace),
        Just(Mutation::Remove),
        (0usize..40).prop_map(Mutation::Cut),
        (0usize..40, any::<String>()).prop_map(|(at, text)| Mutation::Insert(at, text)),
    ]
}

fn mutate(record: &mut Value, field: usize, m: &Mutation) {
    let Value::Object(map) = record else { return };
    let Some(key) = map.keys().nth(field % map.len().max(1)).cloned() else {
        return;
    };
    match m {
        Mutation::Replace(v) => {
            map.insert(key, v.clone());
        }
        Mutation::Remove => {
            map.remove(&key);
        }
        Mutation::Cut(at) => {
            if let Some(Value::String(s)) = map.get_mut(&key) {
                *s = s.chars().take(*at).collect();
            }
        }
        Mutation::Insert(at, text) => {
            if let Some(Value::String(s)) = map.get_mut(&key) {
                let at = s.char_indices().nth(*at).map_or(s.len(), |(i, _)| i);
                s.insert_str(at, text);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_maps_or_gives_a_reason(v in arb_json()) {
        for kind in ["entry", "project", "client", "task", "user"] {
            if let Ok(r) = map(kind, &v) {
                check(&r);
            }
        }
        let body = serde_json::to_vec(&v).unwrap();
        let _ = wire::ListPage::parse(&body, "time_entries");
        let _ = wire::ListPage::parse_lenient(&body, "users");
    }

    #[test]
    fn mutated_samples_map_or_give_a_reason(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec((any::<usize>(), arb_mutation()), 1..4),
    ) {
        let records = fixture_records();
        let (kind, mut v) = records[pick.index(records.len())].clone();
        for (field, m) in &mutations {
            mutate(&mut v, *field, m);
        }
        if let Ok(r) = map(kind, &v) {
            check(&r);
        }
    }
}

#[test]
fn every_sample_record_maps() {
    let records = fixture_records();
    assert!(records.len() > 40, "{} records", records.len());
    for (kind, v) in &records {
        let r = map(kind, v).unwrap_or_else(|e| panic!("{kind} {v}: {e}"));
        check(&r);
    }
}
