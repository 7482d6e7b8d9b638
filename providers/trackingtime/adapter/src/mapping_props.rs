//! No panic from provider bytes: arbitrary JSON, and the documented samples with keys
//! removed or given arbitrary values, go through the mapping of every kind and come out
//! as a record or an invalid item with a reason. Zone labels of any characters are read
//! or refused, never a panic (`GMT+1é3` once split a character).

use proptest::prelude::*;
use serde_json::{Map, Value};
use timeweave_contract::{Kind, PageItem, Record};

use crate::fixtures::RECORD_SAMPLES;
use crate::mapping::{self, Ctx};
use crate::zone::Zone;

/// Keys the mapping reads, in every form, so generated objects hit them.
const KEYS: [&str; 34] = [
    "id",
    "ID",
    "start",
    "s",
    "Start",
    "end",
    "e",
    "End",
    "duration",
    "d",
    "user_id",
    "uid",
    "User Id",
    "task_id",
    "tid",
    "project_id",
    "pid",
    "customer_id",
    "cid",
    "timezone",
    "tz",
    "Timezone",
    "event_type",
    "ety",
    "Event Type",
    "type",
    "name",
    "customer",
    "billing",
    "contact",
    "updated_at",
    "uat",
    "is_billable",
    "hourly_rate",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        "[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2} [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}".prop_map(Value::from),
        "(GMT|UTC|gmt)?[+-−]?[0-9é٣]{0,4}(:[0-9é]{0,2})?".prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
        ".{0,6}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..10)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// What every mapped item must be: an invalid item with a reason, or a record whose
/// times make sense.
fn check(item: PageItem) {
    match item {
        PageItem::Invalid(bad) => assert!(!bad.reason.trim().is_empty()),
        PageItem::Record(r) => {
            if let Record::TimeEntry(e) = &r.record {
                assert!(e.ended_at.is_none_or(|end| end >= e.started_at));
                assert!(e.duration_seconds.is_none_or(|d| d >= 0));
                assert_eq!(e.break_seconds, 0);
            }
        }
    }
}

fn contexts() -> [Ctx; 2] {
    [
        Ctx {
            account_zone: Zone::parse("Berlin").ok(),
        },
        Ctx { account_zone: None },
    ]
}

fn map_everything(v: &Value) {
    for ctx in contexts() {
        for kind in Kind::ALL {
            check(mapping::item(kind, v, &ctx));
        }
    }
}

/// The record objects of every sample.
fn sample_items() -> Vec<(Kind, Value)> {
    RECORD_SAMPLES
        .iter()
        .flat_map(|(kind, text)| {
            let doc: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            let items = match doc.get("data") {
                Some(Value::Array(items)) => items.clone(),
                Some(one) => vec![one.clone()],
                None => Vec::new(),
            };
            items.into_iter().map(move |v| (*kind, v))
        })
        .collect()
}

proptest! {
    #[test]
    fn arbitrary_json_never_panics(v in json()) {
        map_everything(&v);
    }

    #[test]
    fn mutated_samples_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), key(), json(), any::<u8>()),
            1..6,
        ),
    ) {
        let items = sample_items();
        let (kind, mut v) = which.get(&items).clone();
        if let Value::Object(m) = &mut v {
            for (pick, new_key, value, how) in edits {
                let keys: Vec<String> = m.keys().cloned().collect();
                let existing = pick.get(&keys).clone();
                match how % 3 {
                    0 => { m.remove(&existing); }
                    1 => { m.insert(existing, value); }
                    _ => { m.insert(new_key, value); }
                }
            }
        }
        for ctx in contexts() {
            check(mapping::item(kind, &v, &ctx));
        }
        map_everything(&v);
    }

    /// Every event sample with its zone replaced: offsets with other characters where
    /// digits belong (`GMT+1é3`) reach the zone parser behind a readable event.
    #[test]
    fn samples_with_any_zone_never_panic(zone in "(GMT|UTC)?[+-]?[0-9é٣:]{0,5}") {
        for (kind, mut v) in sample_items() {
            if let Value::Object(m) = &mut v {
                for key in ["timezone", "tz", "Timezone"] {
                    if m.contains_key(key) {
                        m.insert(key.to_owned(), Value::from(zone.clone()));
                    }
                }
            }
            for ctx in contexts() {
                check(mapping::item(kind, &v, &ctx));
            }
        }
    }

    #[test]
    fn zone_labels_of_any_characters_never_panic(s in ".{0,16}", t in "(GMT|UTC)?[+-]?.{0,5}") {
        let _ = Zone::parse(&s);
        let _ = Zone::parse(&t);
    }
}
