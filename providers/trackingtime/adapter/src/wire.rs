//! The JSON shapes TrackingTime sends (spec §7), read leniently: ids may come as numbers or
//! numeric strings, flags as booleans, 0/1 or strings, and unknown fields (the `loc_*` and
//! `formated_duration` display twins, denormalised names, ...) are ignored.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn lenient_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn lenient_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn lenient_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An optional id: a number, a numeric string, or null. A present, non-null value that is
/// not an integer is an error (the record becomes invalid, not silently unreferenced).
pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => lenient_i64(&v)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("not an integer id: {v}"))),
    }
}

pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    lenient_i64(&v).ok_or_else(|| serde::de::Error::custom(format!("not an integer id: {v}")))
}

pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(lenient_bool))
}

pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(lenient_f64))
}

/// Text or null; numbers are written as text.
pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// An event, read from any of its three forms (T1) into the full form's names. The
/// listed `duration` is not read: the server computes it from start and end (T10), and
/// the documented samples show values that fit neither (`"d": 7202320` for two hours).
/// `type` is not read either: on events it may be the task's type (T8).
#[derive(Debug, Deserialize)]
pub struct Event {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub start: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub end: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub user_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub task_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub project_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub customer_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub is_billable: Option<bool>,
    #[serde(default, deserialize_with = "opt_text")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub updated_at: Option<String>,
}

/// The three shapes TrackingTime answers events in (spec §7.1, T1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventForm {
    /// `start`, `user_id`, `event_type`, ... (`GET /events/{id}`, older `/events`).
    Full,
    /// `s`, `uid`, `ety`, ... (the documented "List Events" answer, `/events/min`).
    Compact,
    /// `"Start"`, `"User Id"`, `"Event Type"`, ... (`/events/flat`).
    Flat,
}

/// Each event field the adapter reads, by form: (full, compact, flat). The flat form
/// documents no creation or update time.
const EVENT_KEYS: [(&str, &str, Option<&str>); 13] = [
    ("id", "id", Some("ID")),
    ("start", "s", Some("Start")),
    ("end", "e", Some("End")),
    ("user_id", "uid", Some("User Id")),
    ("task_id", "tid", Some("Task Id")),
    ("project_id", "pid", Some("Project Id")),
    ("customer_id", "cid", Some("Customer Id")),
    ("timezone", "tz", Some("Timezone")),
    ("notes", "n", Some("Notes")),
    ("is_billable", "b", Some("Is Billable")),
    ("event_type", "ety", Some("Event Type")),
    ("created_at", "cat", None),
    ("updated_at", "uat", None),
];

impl EventForm {
    /// The form of an event object, by the keys present: a Title-Case key with a space
    /// is the flat form; an abbreviated key without its full twin is the compact form.
    pub fn of(v: &Value) -> EventForm {
        let has = |k: &str| v.get(k).is_some();
        if has("ID") || has("User Id") || has("Start") {
            EventForm::Flat
        } else if (has("s") || has("uid") || has("ety")) && !has("start") && !has("user_id") {
            EventForm::Compact
        } else {
            EventForm::Full
        }
    }

    /// The object with this form's keys renamed to the full form's (other keys dropped).
    fn to_full(self, v: &Value) -> Value {
        let mut out = serde_json::Map::new();
        for (full, compact, flat) in EVENT_KEYS {
            let key = match self {
                EventForm::Full => Some(full),
                EventForm::Compact => Some(compact),
                EventForm::Flat => flat,
            };
            if let Some(value) = key.and_then(|k| v.get(k)) {
                out.insert(full.to_owned(), value.clone());
            }
        }
        Value::Object(out)
    }
}

/// Reads an event in whichever form it comes.
pub fn read_event(v: &Value) -> Result<Event, serde_json::Error> {
    match EventForm::of(v) {
        EventForm::Full => Event::deserialize(v),
        form => Event::deserialize(&form.to_full(v)),
    }
}

/// The `{id, name}` object a project carries for its customer.
#[derive(Debug, Deserialize)]
pub struct Ref {
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Billing {
    #[serde(default, deserialize_with = "opt_bool")]
    pub is_billable: Option<bool>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub hourly_rate: Option<f64>,
}

/// A customer (§7.4).
#[derive(Debug, Deserialize)]
pub struct Customer {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub notes: Option<String>,
    /// What responses hold (T2): null in every documented sample; a string that looks
    /// like an e-mail, or an object with an `email`, is read as the e-mail.
    #[serde(default)]
    pub contact: Option<Value>,
    /// What writes take; read too, should a server answer it.
    #[serde(default, deserialize_with = "opt_text")]
    pub contact_email: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub is_archived: Option<bool>,
}

/// A project (§7.3).
#[derive(Debug, Deserialize)]
pub struct Project {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub is_archived: Option<bool>,
    #[serde(default)]
    pub customer: Option<Ref>,
    #[serde(default, deserialize_with = "opt_id")]
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub billing: Option<Billing>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub is_billable: Option<bool>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub hourly_rate: Option<f64>,
}

/// A task (§7.2).
#[derive(Debug, Deserialize)]
pub struct Task {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub project_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub is_archived: Option<bool>,
}

/// A user (§7.5).
#[derive(Debug, Deserialize)]
pub struct User {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub surname: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub email: Option<String>,
}

/// One workspace in `GET /me` `teams[]`.
#[derive(Debug, Deserialize)]
pub struct Team {
    #[serde(deserialize_with = "id")]
    pub account_id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub company: Option<String>,
    /// `ADMIN`, `MANAGER`, `PROJECT_MANAGER` or `CO_WORKER` (§7.5).
    #[serde(default, deserialize_with = "opt_text")]
    pub role: Option<String>,
    /// `{"can_edit_time_entries": true, ...}` (the documented user sample); read by
    /// [`Team::permissions`], any other shape is none.
    #[serde(default)]
    pub permissions: Option<Value>,
}

impl Team {
    /// The permission flags this team entry lists, by name (non-flags are left out);
    /// `None` when it lists no `permissions` object.
    pub fn permissions(&self) -> Option<Vec<(String, bool)>> {
        let map = self.permissions.as_ref()?.as_object()?;
        Some(
            map.iter()
                .filter_map(|(k, v)| lenient_bool(v).map(|b| (k.clone(), b)))
                .collect(),
        )
    }
}

/// `GET /me` data (§8.1).
#[derive(Debug, Deserialize)]
pub struct Me {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_id")]
    pub account_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub timezone_iana: Option<String>,
    #[serde(default)]
    pub settings: Option<Settings>,
    #[serde(default)]
    pub teams: Vec<Team>,
}

/// A user's `settings` (T3: the documented user has `timezone: "Berlin"`, a city label,
/// beside `timezone_iana: null`).
#[derive(Debug, Default, Deserialize)]
pub struct Settings {
    #[serde(default, deserialize_with = "opt_text")]
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub timezone_iana: Option<String>,
}

impl Me {
    /// The account's zone label, IANA names first: `timezone_iana` (top level or in
    /// `settings`), then `timezone`, then `settings.timezone`.
    pub fn zone_label(&self) -> Option<&str> {
        let settings = self.settings.as_ref();
        [
            self.timezone_iana.as_deref(),
            settings.and_then(|s| s.timezone_iana.as_deref()),
            self.timezone.as_deref(),
            settings.and_then(|s| s.timezone.as_deref()),
        ]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
    }
}

/// Reads the `id` of a JSON object (`ID` in the flat event form), for naming an item
/// that failed to map and for paging.
pub fn id_of(v: &Value) -> Option<i64> {
    v.get("id").or_else(|| v.get("ID")).and_then(lenient_i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_reads() {
        let e: Event = serde_json::from_value(serde_json::json!({
            "id": "3490132317", "start": "2026-03-10 09:00:00", "end": null,
            "duration": 5400, "user_id": 2147483650_i64, "project_id": null,
            "is_billable": 1, "type": "PERSONAL", "loc_start": "10.03.2026 09:00",
        }))
        .unwrap();
        assert_eq!(e.event_type, None, "type is not the event type (T8)");
        assert_eq!(e.id, 3_490_132_317);
        assert_eq!(e.user_id, Some(2_147_483_650));
        assert_eq!(e.is_billable, Some(true));
        assert!(e.end.is_none() && e.project_id.is_none());
        let bad = serde_json::from_value::<Event>(serde_json::json!({"id": 1, "task_id": "x"}));
        assert!(bad.is_err());
    }
}
