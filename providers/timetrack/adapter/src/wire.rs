//! TimeTrack's record shapes as the adapter reads them off the wire (§2 of the spec), parsed
//! leniently from JSON values. References are still *names* here; `mapping` and the
//! adapter's directory turn them into ids. A record that cannot be read yields a reason that
//! becomes a `PageItem::Invalid`.

use serde_json::Value;

use crate::clock::Stamp;
use crate::lenient::{self, BadField, Object};

/// Why one listed record could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub id: Option<i64>,
    pub reason: String,
}

impl From<BadField> for Unreadable {
    fn from(b: BadField) -> Self {
        Unreadable {
            id: None,
            reason: b.to_string(),
        }
    }
}

fn object(v: &Value) -> Result<&Object, Unreadable> {
    v.as_object().ok_or_else(|| Unreadable {
        id: None,
        reason: format!("expected a JSON object, got {}", lenient::kind_of(v)),
    })
}

/// Reads the record id (`id`, as the real clients read it; `ID` as the doc tables print it).
fn id_of(o: &Object) -> Result<i64, Unreadable> {
    match lenient::int(o, &["id", "ID"]) {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Err(Unreadable {
            id: None,
            reason: "the record has no `id`".into(),
        }),
        Err(b) => Err(b.into()),
    }
}

/// Reads one record object with `read` (given the object and its id), the record id
/// attached to any field error.
fn read_record<T>(
    v: &Value,
    read: impl FnOnce(&Object, i64) -> Result<T, BadField>,
) -> Result<T, Unreadable> {
    let o = object(v)?;
    let id = id_of(o)?;
    read(o, id).map_err(|b| Unreadable {
        id: Some(id),
        reason: b.to_string(),
    })
}

fn required_text(o: &Object, names: &[&str]) -> Result<String, BadField> {
    match lenient::text(o, names)? {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        _ => Err(BadField {
            field: names[0].to_owned(),
            expected: "non-empty text",
            found: "nothing".into(),
        }),
    }
}

fn opt_name(o: &Object, names: &[&str]) -> Result<Option<String>, BadField> {
    Ok(lenient::text(o, names)?
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty()))
}

/// Whether a listed record is flagged deleted (in case the server lists soft-deleted
/// records, §4.2: no flag is documented, so the usual spellings are checked).
fn deleted_flag(o: &Object) -> bool {
    lenient::boolean(o, &["deleted", "isDeleted"])
        .ok()
        .flatten()
        .unwrap_or(false)
}

#[derive(Debug, Clone, PartialEq)]
pub struct WireClient {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub notes: Option<String>,
    pub enabled: bool,
    pub deleted: bool,
}

pub fn client(v: &Value) -> Result<WireClient, Unreadable> {
    read_record(v, |o, id| {
        Ok(WireClient {
            id,
            // `clientName` for a client that some servers or clients name like projects (K2).
            name: required_text(o, &["name", "clientName"])?,
            email: lenient::text(o, &["email"])?,
            notes: lenient::text(o, &["notes"])?,
            enabled: lenient::boolean(o, &["enabled"])?.unwrap_or(true),
            deleted: deleted_flag(o),
        })
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct WireProject {
    pub id: i64,
    pub name: String,
    pub client_name: Option<String>,
    pub enabled: bool,
    pub notes: Option<String>,
    pub hour_rate: Option<f64>,
    pub deleted: bool,
}

pub fn project(v: &Value) -> Result<WireProject, Unreadable> {
    read_record(v, |o, id| {
        Ok(WireProject {
            id,
            // The documented `projectName` first; `name` as one public client reads it (K2).
            name: required_text(o, &["projectName", "name"])?,
            client_name: opt_name(o, &["clientName"])?,
            enabled: lenient::boolean(o, &["projectEnabled", "enabled"])?.unwrap_or(true),
            notes: lenient::text(o, &["notes"])?,
            hour_rate: lenient::number(o, &["hourRate"])?,
            deleted: deleted_flag(o),
        })
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct WireTask {
    pub id: i64,
    pub name: String,
    pub deleted: bool,
}

pub fn task(v: &Value) -> Result<WireTask, Unreadable> {
    read_record(v, |o, id| {
        Ok(WireTask {
            id,
            name: required_text(o, &["name"])?,
            deleted: deleted_flag(o),
        })
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct WireUser {
    pub id: i64,
    pub username: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub deleted: bool,
}

pub fn user(v: &Value) -> Result<WireUser, Unreadable> {
    read_record(v, |o, id| {
        Ok(WireUser {
            id,
            username: required_text(o, &["username", "user"])?,
            first_name: opt_name(o, &["firstName"])?,
            last_name: opt_name(o, &["lastName"])?,
            email: opt_name(o, &["email"])?,
            deleted: deleted_flag(o),
        })
    })
}

/// A project time entry or an attendance: the two share their time fields.
#[derive(Debug, Clone, PartialEq)]
pub struct WireEntry {
    pub id: i64,
    pub username: String,
    pub client_name: Option<String>,
    pub project_name: Option<String>,
    pub task: Option<String>,
    /// As sent: the instance's convention (`clock`) turns them into instants.
    pub from: Stamp,
    pub to: Option<Stamp>,
    pub worked_minutes: Option<i64>,
    pub break_minutes: Option<i64>,
    pub notes: Option<String>,
    pub tags: Option<String>,
    pub billable: Option<bool>,
    pub deleted: bool,
}

fn required_time(o: &Object, name: &str) -> Result<Stamp, BadField> {
    lenient::stamp(o, &[name])?.ok_or_else(|| BadField {
        field: name.to_owned(),
        expected: "a timestamp",
        found: "nothing".into(),
    })
}

/// A project time entry (§2.4). `tags` may be non-text or missing (the importer allows it).
pub fn project_entry(v: &Value) -> Result<WireEntry, Unreadable> {
    read_record(v, |o, id| {
        Ok(WireEntry {
            id,
            username: required_text(o, &["user", "username"])?,
            client_name: opt_name(o, &["clientName"])?,
            project_name: opt_name(o, &["projectName"])?,
            task: opt_name(o, &["task"])?,
            from: required_time(o, "from")?,
            to: lenient::stamp(o, &["to"])?,
            worked_minutes: lenient::int(o, &["workedMinutes"])?,
            break_minutes: lenient::int(o, &["breakMinutes"])?,
            notes: lenient::text(o, &["details"])?,
            tags: match o.get("tags") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            },
            billable: lenient::boolean(o, &["billable"])?,
            deleted: deleted_flag(o),
        })
    })
}

/// An attendance (§2.6), accepting the example spellings `minutesBreak`/`details` too.
pub fn attendance(v: &Value) -> Result<WireEntry, Unreadable> {
    read_record(v, |o, id| {
        Ok(WireEntry {
            id,
            username: required_text(o, &["user", "username"])?,
            client_name: None,
            project_name: None,
            task: None,
            from: required_time(o, "from")?,
            to: lenient::stamp(o, &["to"])?,
            worked_minutes: lenient::int(o, &["workedMinutes"])?,
            break_minutes: lenient::int(o, &["breakMinutes", "minutesBreak"])?,
            notes: lenient::text(o, &["notes", "details"])?,
            tags: None,
            billable: None,
            deleted: deleted_flag(o),
        })
    })
}

/// The id of an object the server echoed after a write, if it echoed one (§4.10: success
/// bodies are undocumented, so an empty or id-less body is possible).
pub fn echoed_id(body: &[u8]) -> Option<i64> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let o = match &v {
        Value::Object(o) => o,
        // Some APIs wrap a single created record in an array.
        Value::Array(a) if a.len() == 1 => a[0].as_object()?,
        _ => return None,
    };
    lenient::int(o, &["id", "ID"]).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_documented_project_entry() {
        let e = project_entry(&json!({
            "id": 7, "user": "test", "clientName": "ACME", "projectName": "Web",
            "task": "Development", "from": "2020-10-23T08:00:00.000Z", "to": "2020-10-23T10:00:00.000Z",
            "workedMinutes": 110, "breakMinutes": "10", "details": "hi", "tags": "#a #b",
            "billable": 1, "latitude": "48.1"
        }))
        .unwrap();
        assert_eq!(e.id, 7);
        assert_eq!(e.username, "test");
        assert_eq!(e.break_minutes, Some(10));
        assert_eq!(e.billable, Some(true));
        assert_eq!(e.tags.as_deref(), Some("#a #b"));
    }

    #[test]
    fn unreadable_records_say_why_and_keep_their_id() {
        let e = project_entry(&json!({"id": 9, "user": "x", "from": "yesterday"})).unwrap_err();
        assert_eq!(e.id, Some(9));
        assert!(e.reason.contains("`from`"), "{}", e.reason);
        let e = project_entry(&json!({"user": "x"})).unwrap_err();
        assert!(e.reason.contains("id"), "{}", e.reason);
        let e = client(&json!("not an object")).unwrap_err();
        assert!(e.reason.contains("a string"), "{}", e.reason);
    }

    #[test]
    fn project_and_client_names_in_either_spelling() {
        let p = project(&json!({"id": 1, "name": "Web", "clientName": "ACME"})).unwrap();
        assert_eq!(
            (p.name.as_str(), p.client_name.as_deref()),
            ("Web", Some("ACME"))
        );
        let p = project(&json!({"id": 1, "projectName": "Doc", "name": "Other"})).unwrap();
        assert_eq!(p.name, "Doc", "projectName stays first");
        let c = client(&json!({"id": 2, "clientName": "ACME"})).unwrap();
        assert_eq!(c.name, "ACME");
        let c = client(&json!({"id": 2, "name": "Doc", "clientName": "Other"})).unwrap();
        assert_eq!(c.name, "Doc", "name stays first");
        let e = project(&json!({"id": 3, "clientName": "ACME"})).unwrap_err();
        assert!(e.reason.contains("projectName"), "{}", e.reason);
        let e = client(&json!({"id": 4, "name": ""})).unwrap_err();
        assert!(e.reason.contains("`name`"), "{}", e.reason);
    }

    #[test]
    fn attendance_aliases() {
        let a = attendance(&json!({
            "id": 1, "user": "u", "from": "2020-10-23T08:00:00Z", "to": "2020-10-23T16:00:00Z",
            "minutesBreak": 30, "details": "office"
        }))
        .unwrap();
        assert_eq!(a.break_minutes, Some(30));
        assert_eq!(a.notes.as_deref(), Some("office"));
    }

    #[test]
    fn echoed_ids() {
        assert_eq!(echoed_id(br#"{"id":5,"name":"x"}"#), Some(5));
        assert_eq!(echoed_id(br#"[{"id":"6"}]"#), Some(6));
        assert_eq!(echoed_id(b""), None);
        assert_eq!(echoed_id(br#"{"success":true}"#), None);
    }
}
