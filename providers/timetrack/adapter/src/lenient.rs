//! Lenient reading of TimeTrack JSON values. The API documents booleans as `true`/`false`
//! or `1`/`0`, prints some numbers as strings (`"hourRate":"50"`) and types some text fields
//! loosely, so every field is read through these helpers (by the adapter on responses and by
//! the simulator on request bodies) instead of strict serde types.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::clock::{parse_stamp, Stamp};

/// A JSON object, as TimeTrack sends records.
pub type Object = Map<String, Value>;

/// A field is present with a value that cannot be read as the expected type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadField {
    pub field: String,
    pub expected: &'static str,
    pub found: String,
}

impl std::fmt::Display for BadField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "field `{}` should be {} but is {}",
            self.field, self.expected, self.found
        )
    }
}

/// A field that could not be read, described by its type, never its content (which may be
/// an e-mail address or a name and would travel into logs and the ledger).
fn bad(field: &str, expected: &'static str, v: &Value) -> BadField {
    BadField {
        field: field.to_owned(),
        expected,
        found: kind_of(v).to_owned(),
    }
}

/// The kind of a JSON value, for errors that must not quote the value itself.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The first present, non-null value among `names` (aliases, e.g. `user`/`username`).
pub fn first<'a>(obj: &'a Object, names: &[&'a str]) -> Option<(&'a str, &'a Value)> {
    names.iter().find_map(|n| match obj.get(*n) {
        None | Some(Value::Null) => None,
        Some(v) => Some((*n, v)),
    })
}

/// The first present value among `names` read by `read`; `expected` names the type for
/// the error when it cannot be read.
fn field<T>(
    obj: &Object,
    names: &[&str],
    expected: &'static str,
    read: impl FnOnce(&Value) -> Option<T>,
) -> Result<Option<T>, BadField> {
    match first(obj, names) {
        None => Ok(None),
        Some((name, v)) => read(v).map(Some).ok_or_else(|| bad(name, expected, v)),
    }
}

/// Text: strings as they are, numbers and booleans in their JSON spelling (TimeTrack types
/// some "Text" fields as numbers). Absent or null is `None`.
pub fn text(obj: &Object, names: &[&str]) -> Result<Option<String>, BadField> {
    match first(obj, names) {
        None => Ok(None),
        Some((_, Value::String(s))) => Ok(Some(s.clone())),
        Some((_, Value::Number(n))) => Ok(Some(n.to_string())),
        Some((_, Value::Bool(b))) => Ok(Some(b.to_string())),
        Some((name, v)) => Err(bad(name, "text", v)),
    }
}

/// An integer: a JSON integer, a float with no fraction, or a numeric string.
pub fn int(obj: &Object, names: &[&str]) -> Result<Option<i64>, BadField> {
    field(obj, names, "an integer", value_int)
}

pub fn value_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

/// A decimal number: a JSON number or a numeric string (`"50"`, `"20.5"`).
pub fn number(obj: &Object, names: &[&str]) -> Result<Option<f64>, BadField> {
    field(obj, names, "a number", value_number)
}

pub fn value_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// A boolean: `true`/`false`, `1`/`0`, or those spelled as strings.
pub fn boolean(obj: &Object, names: &[&str]) -> Result<Option<bool>, BadField> {
    field(obj, names, "a boolean (true/false/1/0)", value_bool)
}

pub fn value_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A timestamp: `YYYY-MM-DDTHH:MM:SS(.fff)Z` (or any RFC 3339 offset), as an UTC instant.
pub fn timestamp(obj: &Object, names: &[&str]) -> Result<Option<DateTime<Utc>>, BadField> {
    time_field(obj, names, parse_timestamp)
}

/// A timestamp as sent (`...Z`, an offset, or none), read under the instance's convention
/// later (`clock`): `...Z` may be wall-clock time.
pub fn stamp(obj: &Object, names: &[&str]) -> Result<Option<Stamp>, BadField> {
    time_field(obj, names, parse_stamp)
}

/// A timestamp string read by `parse`; a blank string is no value.
fn time_field<T>(
    obj: &Object,
    names: &[&str],
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, BadField> {
    if let Some((_, Value::String(s))) = first(obj, names) {
        if s.trim().is_empty() {
            return Ok(None);
        }
    }
    field(
        obj,
        names,
        "a timestamp like 2020-10-23T14:30:00.000Z",
        |v| v.as_str().and_then(parse),
    )
}

/// Parses `2020-10-23T14:30:00Z`, `2020-10-23T14:30:00.000Z` or an RFC 3339 offset form.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The form TimeTrack documents for `from`/`to`: `2020-10-23T14:30:00.000Z`.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn booleans_in_every_documented_spelling() {
        let o = obj(json!({"a": true, "b": 0, "c": "1", "d": "false", "e": 2, "f": "yes"}));
        assert_eq!(boolean(&o, &["a"]), Ok(Some(true)));
        assert_eq!(boolean(&o, &["b"]), Ok(Some(false)));
        assert_eq!(boolean(&o, &["c"]), Ok(Some(true)));
        assert_eq!(boolean(&o, &["d"]), Ok(Some(false)));
        assert!(boolean(&o, &["e"]).is_err());
        let err = boolean(&o, &["f"]).unwrap_err();
        assert!(err.to_string().contains("`f`"), "{err}");
        assert_eq!(boolean(&o, &["missing"]), Ok(None));
    }

    #[test]
    fn numbers_as_strings() {
        let o =
            obj(json!({"rate": "50", "r2": 20.5, "n": "12", "f": 3.0, "x": "abc", "nul": null}));
        assert_eq!(number(&o, &["rate"]), Ok(Some(50.0)));
        assert_eq!(number(&o, &["r2"]), Ok(Some(20.5)));
        assert_eq!(int(&o, &["n"]), Ok(Some(12)));
        assert_eq!(int(&o, &["f"]), Ok(Some(3)));
        assert!(int(&o, &["x"]).is_err());
        assert_eq!(int(&o, &["nul"]), Ok(None));
    }

    #[test]
    fn aliases_take_the_first_present() {
        let o = obj(json!({"minutesBreak": 5, "details": "d"}));
        assert_eq!(int(&o, &["breakMinutes", "minutesBreak"]), Ok(Some(5)));
        assert_eq!(text(&o, &["notes", "details"]), Ok(Some("d".into())));
    }

    #[test]
    fn timestamps_with_and_without_millis() {
        let a = parse_timestamp("2020-10-23T14:30:00Z").unwrap();
        let b = parse_timestamp("2020-10-23T14:30:00.000Z").unwrap();
        let c = parse_timestamp("2020-10-23T16:30:00+02:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(format_timestamp(a), "2020-10-23T14:30:00.000Z");
        assert!(parse_timestamp("2020-10-23 14:30").is_none());
        assert!(
            parse_timestamp("2020-10-23T14:30:00").is_none(),
            "a zone is required"
        );
    }
}

#[cfg(test)]
mod found_tests {
    #[test]
    fn a_bad_field_names_the_kind_of_value_never_the_value() {
        let v = serde_json::Value::String("ann.smith@example.com".into());
        let text = super::bad("hourRate", "a number", &v).to_string();
        assert_eq!(text, "field `hourRate` should be a number but is a string");
        assert!(!text.contains("ann.smith"), "{text}");
    }
}
