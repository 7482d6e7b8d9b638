//! The simulator's view of one HTTP request and response, and the marshmallow-like field
//! readers the handlers validate bodies with (unknown keys, required fields, types).

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde_json::{Map, Value};

use super::json::error;
use super::options::AwareBodyTimes;
use timeweave_timetracker::time::parse_naive;

/// Who is calling (after token auth).
#[derive(Clone, Debug)]
pub struct Caller {
    pub token: String,
    pub user_id: i64,
    pub admin: bool,
}

#[derive(Debug)]
pub struct Req {
    pub method: String,
    /// Path segments after `/api/v1`.
    pub segments: Vec<String>,
    pub query: HashMap<String, String>,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn q(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// The JSON object body; an empty body is an empty object.
    pub fn json_object(&self) -> Result<Map<String, Value>, Resp> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(Value::Null) => Ok(Map::new()),
            _ => Err(Resp::json(
                400,
                super::json::error("validation_error", "Invalid JSON body"),
            )),
        }
    }
}

#[derive(Debug)]
pub enum Body {
    Json(Value),
    Html(String),
    /// Raw bytes with a JSON content type (malformed-body faults).
    RawJson(Vec<u8>),
    Empty,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Body,
    pub headers: Vec<(String, String)>,
    /// Drop the connection instead of answering (faults).
    pub drop_connection: bool,
}

impl Resp {
    pub fn json(status: u16, body: Value) -> Resp {
        Resp {
            status,
            body: Body::Json(body),
            headers: Vec::new(),
            drop_connection: false,
        }
    }

    pub fn with_header(mut self, name: &str, value: String) -> Resp {
        self.headers.push((name.to_owned(), value));
        self
    }
}

/// A datetime as marshmallow's `fields.DateTime` reads it: naive, or aware (kept aware).
#[derive(Clone, Copy, Debug)]
pub enum BodyTime {
    Naive(NaiveDateTime),
    Aware(DateTime<FixedOffset>),
}

impl BodyTime {
    pub fn parse(s: &str) -> Option<BodyTime> {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(BodyTime::Aware(t));
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f%:z",
            "%Y-%m-%dT%H:%M%:z",
            "%Y-%m-%dT%H:%M:%S%.f%z",
        ] {
            if let Ok(t) = DateTime::parse_from_str(s, fmt) {
                return Some(BodyTime::Aware(t));
            }
        }
        if let Some(stripped) = s.strip_suffix('Z') {
            if let Some(n) = parse_naive(stripped) {
                return Some(BodyTime::Aware(n.and_utc().fixed_offset()));
            }
        }
        parse_naive(s).map(BodyTime::Naive)
    }

    /// What the database ends up holding (spec §3).
    pub fn stored(self, mode: AwareBodyTimes, tz: chrono_tz::Tz) -> NaiveDateTime {
        match self {
            BodyTime::Naive(n) => n,
            BodyTime::Aware(a) => match mode {
                AwareBodyTimes::DropOffset => a.naive_local(),
                AwareBodyTimes::ConvertToAppZone => a.with_timezone(&tz).naive_local(),
            },
        }
    }
}

/// Collects marshmallow-style errors while reading a body.
#[derive(Default)]
pub struct Fields {
    pub errors: Map<String, Value>,
}

impl Fields {
    pub fn fail(&mut self, field: &str, msg: &str) {
        let entry = self
            .errors
            .entry(field.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = entry {
            a.push(Value::String(msg.to_owned()));
        }
    }

    pub fn unknown(&mut self, body: &Map<String, Value>, allowed: &[&str]) {
        for k in body.keys() {
            if !allowed.contains(&k.as_str()) {
                self.fail(k, "Unknown field.");
            }
        }
    }

    /// A field read by `read`; absent or null is `None`, and a value `read` refuses is
    /// failed with `invalid` (marshmallow's message for the type).
    fn read<T>(
        &mut self,
        body: &Map<String, Value>,
        field: &str,
        invalid: &str,
        read: impl FnOnce(&Value) -> Option<T>,
    ) -> Option<T> {
        let v = body.get(field).filter(|v| !v.is_null())?;
        let read = read(v);
        if read.is_none() {
            self.fail(field, invalid);
        }
        read
    }

    /// An integer field: a JSON integer or a numeric string.
    pub fn int(&mut self, body: &Map<String, Value>, field: &str) -> Option<i64> {
        self.read(body, field, "Not a valid integer.", |v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    }

    pub fn boolean(&mut self, body: &Map<String, Value>, field: &str) -> Option<bool> {
        self.read(body, field, "Not a valid boolean.", |v| match v {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_i64() {
                Some(1) => Some(true),
                Some(0) => Some(false),
                _ => None,
            },
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(true),
                "false" | "0" | "no" | "off" => Some(false),
                _ => None,
            },
            _ => None,
        })
    }

    pub fn string(&mut self, body: &Map<String, Value>, field: &str, max: usize) -> Option<String> {
        match body.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.chars().count() <= max => Some(s.clone()),
            Some(Value::String(_)) => {
                self.fail(field, &format!("Longer than maximum length {max}."));
                None
            }
            Some(_) => {
                self.fail(field, "Not a valid string.");
                None
            }
        }
    }

    pub fn datetime(&mut self, body: &Map<String, Value>, field: &str) -> Option<BodyTime> {
        self.read(body, field, "Not a valid datetime.", |v| {
            v.as_str().and_then(BodyTime::parse)
        })
    }

    pub fn number(&mut self, body: &Map<String, Value>, field: &str) -> Option<f64> {
        self.read(body, field, "Not a valid number.", |v| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    }
}

/// A 400 with the app's plain error body (no field errors).
pub fn bad(msg: &str) -> Resp {
    Resp::json(400, error("error", msg))
}

/// The 403 for a record the caller may not see.
pub fn forbidden() -> Resp {
    Resp::json(403, error("forbidden", "Access denied"))
}

/// A string field as sent; `None` when absent or not a string.
pub fn text(body: &Map<String, Value>, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// A string field without surrounding whitespace; empty when absent or not a string.
pub fn trimmed(body: &Map<String, Value>, field: &str) -> String {
    body.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn field_readers_take_lenient_forms_and_fail_the_rest_with_their_message() {
        let b = body(json!({
            "i": "12", "j": 7, "k": 1.5, "l": "x",
            "t": "On", "u": 0, "v": 2, "w": "maybe",
            "n": "2.5", "m": 3, "o": [],
            "d": "nonsense", "e": 5, "z": null,
        }));
        let mut f = Fields::default();
        assert_eq!(f.int(&b, "i"), Some(12));
        assert_eq!(f.int(&b, "j"), Some(7));
        assert_eq!(f.int(&b, "k"), None);
        assert_eq!(f.int(&b, "l"), None);
        assert_eq!(f.boolean(&b, "t"), Some(true));
        assert_eq!(f.boolean(&b, "u"), Some(false));
        assert_eq!(f.boolean(&b, "v"), None);
        assert_eq!(f.boolean(&b, "w"), None);
        assert_eq!(f.number(&b, "n"), Some(2.5));
        assert_eq!(f.number(&b, "m"), Some(3.0));
        assert_eq!(f.number(&b, "o"), None);
        assert!(f.datetime(&b, "d").is_none());
        assert!(f.datetime(&b, "e").is_none());
        assert_eq!(f.int(&b, "z"), None);
        assert_eq!(f.int(&b, "absent"), None);
        let failed = |m: &str| json!([m]);
        assert_eq!(
            Value::Object(f.errors),
            json!({
                "k": failed("Not a valid integer."), "l": failed("Not a valid integer."),
                "v": failed("Not a valid boolean."), "w": failed("Not a valid boolean."),
                "o": failed("Not a valid number."),
                "d": failed("Not a valid datetime."), "e": failed("Not a valid datetime."),
            })
        );
    }
}
