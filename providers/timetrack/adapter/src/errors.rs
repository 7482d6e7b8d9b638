//! Reading TimeTrack responses: the `{"errors":[{title,status,code,detail}]}` envelope mapped
//! to the typed `ProviderError` (§1.6), bare-array list bodies (§1.4), single-object bodies,
//! and the "gone" answer of a get by id (404, with code 15020 for a deleted record).

use serde::Deserialize;
use serde_json::Value;
use timeweave_contract::{ConflictReason, ProviderError};
use timeweave_http::RawResponse;

/// The documented code of "TimeEntry exist but it is deleted".
pub const CODE_DELETED: i64 = 15020;

/// One item of the error envelope.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ApiError {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "loose_int")]
    pub status: Option<i64>,
    #[serde(default, deserialize_with = "loose_int")]
    pub code: Option<i64>,
    #[serde(default)]
    pub detail: Option<String>,
}

fn loose_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(crate::lenient::value_int(&v))
}

#[derive(Deserialize)]
struct Envelope {
    errors: Vec<ApiError>,
}

/// The envelope's first error, when the body is one.
pub fn envelope(body: &[u8]) -> Option<ApiError> {
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|e| e.errors.into_iter().next())
}

impl ApiError {
    fn describe(&self) -> String {
        let mut s = self.title.clone().unwrap_or_else(|| "error".into());
        if let Some(d) = self.detail.as_deref().filter(|d| !d.is_empty()) {
            s.push_str(": ");
            s.push_str(d);
        }
        if let Some(c) = self.code {
            s.push_str(&format!(" (code {c})"));
        }
        s
    }

    fn text(&self) -> String {
        format!(
            "{} {}",
            self.title.as_deref().unwrap_or(""),
            self.detail.as_deref().unwrap_or("")
        )
        .to_lowercase()
    }
}

/// The typed error a non-2xx response means; `None` for success. `what` names the call.
pub fn error_for(raw: &RawResponse, what: &str) -> Option<ProviderError> {
    if (200..300).contains(&raw.status) {
        return None;
    }
    let Some(api) = envelope(&raw.body) else {
        // Not TimeTrack's envelope (a proxy page, an empty body): the plain status decides.
        return raw.status_error().map(|e| prefix(e, what));
    };
    let msg = format!("{what}: HTTP {}: {}", raw.status, api.describe());
    Some(match raw.status {
        401 => ProviderError::Auth {
            message: format!(
                "{msg}; check api_key and api_secret (the secret may have been regenerated)"
            ),
        },
        403 => ProviderError::Forbidden { message: msg },
        404 => ProviderError::NotFound { what: msg },
        409 => ProviderError::Conflict {
            reason: conflict_reason(&api),
            message: msg,
        },
        422 if api.text().contains("conflict") => ProviderError::Conflict {
            reason: conflict_reason(&api),
            message: msg,
        },
        429 => ProviderError::RateLimited {
            retry_after: raw.retry_after,
        },
        408 | 500..=599 => ProviderError::Retryable {
            message: msg,
            retry_after: raw.retry_after,
        },
        _ => ProviderError::Rejected { message: msg },
    })
}

fn conflict_reason(api: &ApiError) -> ConflictReason {
    let t = api.text();
    if t.contains("overlap") {
        ConflictReason::Overlap
    } else if t.contains("already exist") || t.contains("duplicate") {
        ConflictReason::Duplicate
    } else {
        ConflictReason::Other
    }
}

fn prefix(e: ProviderError, what: &str) -> ProviderError {
    match e {
        ProviderError::Auth { message } => ProviderError::Auth {
            message: format!("{what}: {message}"),
        },
        ProviderError::Forbidden { message } => ProviderError::Forbidden {
            message: format!("{what}: {message}"),
        },
        ProviderError::NotFound { what: w } => ProviderError::NotFound {
            what: format!("{what}: {w}"),
        },
        ProviderError::Retryable {
            message,
            retry_after,
        } => ProviderError::Retryable {
            message: format!("{what}: {message}"),
            retry_after,
        },
        ProviderError::Rejected { message } => ProviderError::Rejected {
            message: format!("{what}: {message}"),
        },
        other => other,
    }
}

/// A success body parsed as JSON; an unreadable one is `Malformed` (retried by the transport).
pub fn json_body(raw: &RawResponse, what: &str) -> Result<Value, ProviderError> {
    timeweave_http::read_json(&raw.body).map_err(|why| {
        ProviderError::malformed(format!(
            "{what}: HTTP {} body of {} bytes is not JSON: {why}",
            raw.status,
            raw.body.len()
        ))
    })
}

/// A list response: a bare JSON array (§1.4).
pub fn list_body(raw: RawResponse, what: &str) -> Result<Vec<Value>, ProviderError> {
    if let Some(e) = error_for(&raw, what) {
        return Err(e);
    }
    match json_body(&raw, what)? {
        Value::Array(items) => Ok(items),
        other => Err(ProviderError::malformed(format!(
            "{what}: expected a bare JSON array, got {}",
            crate::lenient::kind_of(&other)
        ))),
    }
}

/// What a get by id found.
#[derive(Debug)]
pub enum Fetched {
    Found(Value),
    /// TimeTrack answered 404 with its error envelope: the record is deleted (code 15020) or
    /// never existed. A 404 without the envelope (wrong base URL, a proxy) is an error instead.
    Gone {
        code: Option<i64>,
    },
}

pub fn fetched_body(raw: RawResponse, what: &str) -> Result<Fetched, ProviderError> {
    if raw.status == 404 {
        if let Some(api) = envelope(&raw.body) {
            return Ok(Fetched::Gone { code: api.code });
        }
    }
    if let Some(e) = error_for(&raw, what) {
        return Err(e);
    }
    match json_body(&raw, what)? {
        v @ Value::Object(_) => Ok(Fetched::Found(v)),
        Value::Array(mut a) if a.len() == 1 => Ok(Fetched::Found(a.remove(0))),
        other => Err(ProviderError::malformed(format!(
            "{what}: expected one JSON object, got {}",
            crate::lenient::kind_of(&other)
        ))),
    }
}

/// A write's response: the error if any, else the raw body (possibly empty: §4.10).
pub fn write_body(raw: RawResponse, what: &str) -> Result<Vec<u8>, ProviderError> {
    match error_for(&raw, what) {
        Some(e) => Err(e),
        None => Ok(raw.body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse::from_body(status, body)
    }

    const DELETED: &str = r#"{"errors":[{"title":"TimeEntry exist but it is deleted","status":404,"code":15020,"detail":"TimeEntry is deleted and can not be used."}]}"#;

    #[test]
    fn statuses_map_to_typed_errors() {
        let env =
            |s: u16, t: &str| format!(r#"{{"errors":[{{"title":"{t}","status":{s},"code":1}}]}}"#);
        assert!(matches!(
            error_for(&raw(401, &env(401, "bad key")), "x"),
            Some(ProviderError::Auth { .. })
        ));
        assert!(matches!(
            error_for(&raw(403, &env(403, "no")), "x"),
            Some(ProviderError::Forbidden { .. })
        ));
        assert!(matches!(
            error_for(&raw(404, DELETED), "x"),
            Some(ProviderError::NotFound { .. })
        ));
        assert!(matches!(
            error_for(&raw(422, &env(422, "projectName is required")), "x"),
            Some(ProviderError::Rejected { .. })
        ));
        assert!(matches!(
            error_for(&raw(422, &env(422, "Conflict: entry overlaps")), "x"),
            Some(ProviderError::Conflict {
                reason: ConflictReason::Overlap,
                ..
            })
        ));
        assert!(matches!(
            error_for(&raw(500, &env(500, "oops")), "x"),
            Some(ProviderError::Retryable { .. })
        ));
        let mut r = raw(429, &env(429, "Too many requests"));
        r.retry_after = Some(Duration::from_secs(7));
        assert_eq!(
            error_for(&r, "x"),
            Some(ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            })
        );
        assert!(matches!(
            error_for(&raw(429, ""), "x"),
            Some(ProviderError::RateLimited { retry_after: None })
        ));
        assert!(matches!(
            error_for(&raw(502, "<html>bad gateway</html>"), "x"),
            Some(ProviderError::Retryable { .. })
        ));
        assert_eq!(error_for(&raw(200, "[]"), "x"), None);
    }

    #[test]
    fn messages_name_the_call_and_the_provider_text() {
        let e = error_for(&raw(404, DELETED), "GET /project_time_entries/5").unwrap();
        let s = e.to_string();
        assert!(
            s.contains("GET /project_time_entries/5")
                && s.contains("15020")
                && s.contains("deleted"),
            "{s}"
        );
    }

    #[test]
    fn gone_only_with_the_envelope() {
        assert!(matches!(
            fetched_body(raw(404, DELETED), "x"),
            Ok(Fetched::Gone {
                code: Some(CODE_DELETED)
            })
        ));
        assert!(matches!(
            fetched_body(raw(404, "<html>no route</html>"), "x"),
            Err(ProviderError::NotFound { .. })
        ));
        assert!(matches!(
            fetched_body(raw(200, r#"{"id":1}"#), "x"),
            Ok(Fetched::Found(_))
        ));
        assert!(matches!(
            fetched_body(raw(200, "{trunc"), "x"),
            Err(ProviderError::Malformed { .. })
        ));
    }

    #[test]
    fn lists_must_be_bare_arrays() {
        assert_eq!(list_body(raw(200, r#"[{"id":1}]"#), "x").unwrap().len(), 1);
        assert!(matches!(
            list_body(raw(200, r#"{"data":[]}"#), "x"),
            Err(ProviderError::Malformed { .. })
        ));
        assert!(matches!(
            list_body(raw(200, "not json"), "x"),
            Err(ProviderError::Malformed { .. })
        ));
    }
}
