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

/// An event, full form (§7.1).
#[derive(Debug, Deserialize)]
pub struct Event {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub start: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub end: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub duration: Option<i64>,
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
    /// `type` in full events; `event_type` in writes and some reads.
    #[serde(default, rename = "type", deserialize_with = "opt_text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub updated_at: Option<String>,
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
    #[serde(default)]
    pub teams: Vec<Team>,
}

/// Reads the `id` of a JSON object, for naming an item that failed to map.
pub fn id_of(v: &Value) -> Option<i64> {
    v.get("id").and_then(lenient_i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_reads() {
        let e: Event = serde_json::from_value(serde_json::json!({
            "id": "3490132317", "start": "2026-03-10 09:00:00", "end": null,
            "duration": 5400, "user_id": 2147483650_i64, "project_id": null,
            "is_billable": 1, "type": "WORK", "loc_start": "10.03.2026 09:00",
        }))
        .unwrap();
        assert_eq!(e.id, 3_490_132_317);
        assert_eq!(e.user_id, Some(2_147_483_650));
        assert_eq!(e.is_billable, Some(true));
        assert!(e.end.is_none() && e.project_id.is_none());
        let bad = serde_json::from_value::<Event>(serde_json::json!({"id": 1, "task_id": "x"}));
        assert!(bad.is_err());
    }
}
