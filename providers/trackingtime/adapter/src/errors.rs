//! Every TrackingTime answer goes through here (spec §4): the real HTTP status (401 auth,
//! 429, 5xx gateway pages), non-JSON bodies, and the `response.status` inside the JSON
//! envelope, which carries most errors under an HTTP 200.
//!
//! In-envelope codes: 500 generic error -> `Rejected` (TrackingTime uses it for validation
//! failures such as a duplicate customer name, which a retry cannot fix; the duplicate
//! case itself becomes `Conflict{Duplicate}`), 502 "user exception" (a timer conflict) ->
//! `Conflict{Other}`, 404 -> `NotFound`, 403 -> `Forbidden`, 402 (account suspended) ->
//! `Setup`, 401 -> `Auth`, 429 -> `RateLimited`, other 5xx -> `Retryable`.

use serde_json::Value;
use timeweave_contract::{ConflictReason, ProviderError};
use timeweave_http::RawResponse;

/// The body of a successful answer: the whole JSON document (`data` plus any sibling keys).
#[derive(Debug)]
pub struct Body(pub Value);

impl Body {
    pub fn data(&self) -> &Value {
        self.0.get("data").unwrap_or(&Value::Null)
    }

    pub fn into_data(mut self) -> Value {
        self.0
            .get_mut("data")
            .map(Value::take)
            .unwrap_or(Value::Null)
    }
}

/// An in-envelope error, before it is turned into a `ProviderError` (callers sometimes
/// need the code, e.g. `GET /events/{id}` answering 404 or 500 for a deleted event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeError {
    pub status: i64,
    pub message: String,
}

fn looks_like_html(raw: &RawResponse) -> bool {
    let ct_html = raw
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("html"));
    let first = raw.body.iter().find(|b| !b.is_ascii_whitespace());
    ct_html || first == Some(&b'<')
}

/// Reads the answer to `what` into a body or an error; in-envelope errors come back as
/// `Ok(Err(..))` so the caller can look at the code first.
pub fn read(raw: &RawResponse, what: &str) -> Result<Result<Body, EnvelopeError>, ProviderError> {
    if raw.status == 401 {
        return Err(ProviderError::Auth {
            message: format!(
                "TrackingTime answered HTTP 401 to {what}: the app password was refused \
                 (create a new App Password in TrackingTime's settings)"
            ),
        });
    }
    if raw.status == 429 {
        return Err(ProviderError::RateLimited {
            retry_after: raw.retry_after,
        });
    }
    let parsed: Option<Value> = serde_json::from_slice(&raw.body).ok();
    let Some(json) = parsed.filter(|v| v.is_object()) else {
        if raw.status >= 500 {
            return Err(ProviderError::Retryable {
                message: format!(
                    "TrackingTime answered HTTP {} with a non-JSON page of {} bytes to {what}",
                    raw.status,
                    raw.body.len()
                ),
                retry_after: raw.retry_after,
            });
        }
        if looks_like_html(raw) {
            return Err(ProviderError::rejected(format!(
                "TrackingTime answered an HTML page instead of JSON (HTTP {}) to {what}; \
                 this usually means the endpoint does not accept this HTTP method",
                raw.status
            )));
        }
        let why = timeweave_http::read_json::<serde_json::Map<String, Value>>(&raw.body)
            .err()
            .unwrap_or_default();
        return Err(ProviderError::malformed(format!(
            "TrackingTime's answer to {what} is not a JSON object (HTTP {}, {} bytes): {why}",
            raw.status,
            raw.body.len()
        )));
    };
    if raw.status >= 500 {
        return Err(ProviderError::Retryable {
            message: format!("TrackingTime answered HTTP {} to {what}", raw.status),
            retry_after: raw.retry_after,
        });
    }
    if let Some(e) = raw.status_error() {
        return Err(e);
    }
    let response = json.get("response");
    let status = response
        .and_then(|r| r.get("status"))
        .and_then(|s| match s {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .ok_or_else(|| {
            ProviderError::malformed(format!(
                "TrackingTime's answer to {what} has no response.status envelope"
            ))
        })?;
    if status == 200 {
        return Ok(Ok(Body(json)));
    }
    let message = response
        .and_then(|r| r.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    Ok(Err(EnvelopeError { status, message }))
}

/// Turns an in-envelope error into the typed error the engine acts on.
pub fn to_error(e: EnvelopeError, what: &str) -> ProviderError {
    let msg = format!("{what}: TrackingTime status {}: {}", e.status, e.message);
    match e.status {
        500 if is_duplicate_name(&e.message) => ProviderError::Conflict {
            reason: ConflictReason::Duplicate,
            message: msg,
        },
        500 => ProviderError::rejected(msg),
        502 => ProviderError::Conflict {
            reason: ConflictReason::Other,
            message: format!("{msg} (usually another timer is running)"),
        },
        404 => ProviderError::not_found(msg),
        403 => ProviderError::Forbidden {
            message: format!("{msg}; the user's role lacks this permission"),
        },
        402 => ProviderError::Setup {
            message: format!(
                "{msg}: the TrackingTime account is suspended (payment required); \
                 reactivate it in TrackingTime's billing settings"
            ),
        },
        401 => ProviderError::Auth { message: msg },
        429 => ProviderError::RateLimited { retry_after: None },
        503..=599 => ProviderError::retryable(msg),
        _ => ProviderError::rejected(msg),
    }
}

fn is_duplicate_name(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already another") || m.contains("already exists")
}

/// `read` and `to_error` together: the body, or any error.
#[cfg(test)]
pub fn expect_ok(raw: &RawResponse, what: &str) -> Result<Body, ProviderError> {
    read(raw, what)?.map_err(|e| to_error(e, what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, CONTENT_TYPE};

    fn raw(status: u16, ct: &str, body: &str) -> RawResponse {
        let mut raw = RawResponse::from_body(status, body);
        raw.headers
            .insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        raw
    }

    #[test]
    fn unreadable_bodies_are_described_never_quoted() {
        for (status, ct, body) in [
            (
                200,
                "application/json",
                r#"["ann.smith@example.com", "Ann Smith"]"#,
            ),
            (
                200,
                "text/html",
                "<html>Ann Smith ann.smith@example.com</html>",
            ),
            (
                502,
                "text/plain",
                "upstream: Ann Smith ann.smith@example.com",
            ),
        ] {
            let e = read(&raw(status, ct, body), "GET /users").unwrap_err();
            let text = e.to_string();
            assert!(
                !text.contains("ann.smith") && !text.contains("Ann Smith"),
                "{text}"
            );
            assert!(text.contains("GET /users"), "{text}");
        }
    }

    fn env(status: i64, message: &str) -> String {
        serde_json::json!({"response": {"status": status, "message": message}, "data": {}})
            .to_string()
    }

    #[test]
    fn in_band_errors_are_typed() {
        let j = "application/json";
        let cases: Vec<(i64, &str, &str)> = vec![
            (500, "Something failed", "rejected"),
            (
                500,
                "There is already another customer with that name.",
                "conflict",
            ),
            (502, "user exception", "conflict"),
            (404, "Not found", "not_found"),
            (403, "No permission", "forbidden"),
            (402, "Account suspended", "setup"),
        ];
        for (status, message, class) in cases {
            let e = expect_ok(&raw(200, j, &env(status, message)), "GET x").unwrap_err();
            assert_eq!(e.class(), class, "{status} {message}");
        }
        match expect_ok(
            &raw(200, j, &env(500, "There is already another customer")),
            "x",
        ) {
            Err(ProviderError::Conflict { reason, .. }) => {
                assert_eq!(reason, ConflictReason::Duplicate)
            }
            other => panic!("{other:?}"),
        }
        assert!(expect_ok(&raw(200, j, &env(200, "ok")), "x").is_ok());
    }

    #[test]
    fn html_and_http_statuses() {
        let page = "<html><body>502 Bad Gateway</body></html>";
        let e = expect_ok(&raw(502, "text/html", page), "x").unwrap_err();
        assert!(e.is_retryable(), "{e}");
        let e = expect_ok(&raw(200, "text/html", page), "x").unwrap_err();
        assert_eq!(e.class(), "rejected");
        let e = expect_ok(&raw(401, j(), "{}"), "x").unwrap_err();
        assert_eq!(e.class(), "auth");
        let e = expect_ok(&raw(200, j(), "{\"response\": {\"sta"), "x").unwrap_err();
        assert_eq!(e.class(), "malformed");
        let e = expect_ok(&raw(200, j(), "{\"data\": []}"), "x").unwrap_err();
        assert_eq!(e.class(), "malformed");
        let e = expect_ok(&raw(429, j(), "{}"), "x").unwrap_err();
        assert_eq!(e.class(), "rate_limited");
    }

    fn j() -> &'static str {
        "application/json"
    }
}
