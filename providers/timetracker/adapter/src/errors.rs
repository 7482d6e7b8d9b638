//! Turns a TimeTracker HTTP response that is not a success into the typed `ProviderError`
//! (spec §2): the generic `400 error_code:"error"` is told apart by its English message
//! (overlap, duplicate name, not found, access denied), auth errors have no `success` key,
//! 405 carries an integer `error_code`, and HTML or non-JSON bodies are malformed (or
//! retryable when the status is 5xx).

use timeweave_contract::{ConflictReason, ProviderError};
use timeweave_http::RawResponse;

use crate::wire::ErrorBody;

/// Reads an error body, if it is the JSON the server documents.
pub fn error_body(raw: &RawResponse) -> Option<ErrorBody> {
    serde_json::from_slice::<ErrorBody>(&raw.body).ok()
}

/// Whether a body looks like an HTML page (setup wizard, proxy error page, wrong base URL).
pub fn looks_like_html(body: &[u8]) -> bool {
    let head: String = String::from_utf8_lossy(&body[..body.len().min(256)])
        .trim_start()
        .to_ascii_lowercase();
    head.starts_with("<!doctype") || head.starts_with("<html") || head.starts_with('<')
}

/// The `ProviderError` for a non-2xx response of call `what`.
pub fn map_error(what: &str, raw: &RawResponse) -> ProviderError {
    let body = error_body(raw);
    let text = body
        .as_ref()
        .map(|b| b.text())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            format!(
                "a body of {} bytes that is not its JSON error",
                raw.body.len()
            )
        });
    let code = body.as_ref().and_then(|b| b.code()).unwrap_or_default();
    let message = format!("{what}: HTTP {}: {text}", raw.status);
    match raw.status {
        300..=399 => ProviderError::Setup {
            message: format!(
                "{what}: the server redirected (HTTP {}); TimeTracker redirects every API call to \
                 its setup wizard until setup is finished: finish it in the web app, and check \
                 that base_url points at the server root",
                raw.status
            ),
        },
        401 => ProviderError::Auth { message },
        403 => {
            let scope = body
                .as_ref()
                .and_then(|b| b.required_scope.clone())
                .map(|s| format!(" (grant the token the `{s}` scope)"))
                .unwrap_or_default();
            ProviderError::Forbidden {
                message: format!("{message}{scope}"),
            }
        }
        404 => ProviderError::NotFound { what: message },
        405 => ProviderError::unsupported(format!(
            "{what}: TimeTracker API v1 does not allow this method here (HTTP 405)"
        )),
        409 if code == "conflict" => ProviderError::Conflict {
            reason: ConflictReason::Stale,
            message,
        },
        409 => ProviderError::Conflict {
            reason: ConflictReason::Other,
            message,
        },
        429 => ProviderError::RateLimited {
            retry_after: raw.retry_after,
        },
        400 => map_400(&message, &text, &code),
        408 | 500..=599 => ProviderError::Retryable {
            message,
            retry_after: raw.retry_after,
        },
        _ => ProviderError::rejected(message),
    }
}

/// Most business errors are `400 error_code:"error"`; only the English message tells them
/// apart (spec §2).
fn map_400(message: &str, text: &str, code: &str) -> ProviderError {
    let lower = text.to_lowercase();
    if code == "validation_error" {
        return ProviderError::rejected(message.to_owned());
    }
    if lower.contains("overlap") {
        ProviderError::Conflict {
            reason: ConflictReason::Overlap,
            message: message.to_owned(),
        }
    } else if lower.contains("already exists") {
        ProviderError::Conflict {
            reason: ConflictReason::Duplicate,
            message: message.to_owned(),
        }
    } else if lower.contains("not found") {
        ProviderError::not_found(message.to_owned())
    } else if lower.contains("access denied") {
        ProviderError::Forbidden {
            message: message.to_owned(),
        }
    } else if lower.contains("locked") || lower.contains("stop the timer") {
        ProviderError::Conflict {
            reason: ConflictReason::Other,
            message: message.to_owned(),
        }
    } else {
        ProviderError::rejected(message.to_owned())
    }
}

/// The error for a 2xx body that is not the documented JSON.
pub fn malformed(what: &str, raw: &RawResponse, detail: &str) -> ProviderError {
    if looks_like_html(&raw.body) {
        // A 2xx HTML page is the setup wizard (every API call is redirected to it until setup
        // is finished) or a base_url that is not the API: configuration, not a passing fault.
        ProviderError::Setup {
            message: format!(
                "{what}: got an HTML page where JSON was due: finish the TimeTracker setup \
                 wizard, and check that base_url is the server root"
            ),
        }
    } else {
        ProviderError::malformed(format!("{what}: {detail}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse::from_body(status, body)
    }

    #[test]
    fn a_wrongly_typed_available_scopes_breaks_no_error_body() {
        let forbidden = r#"{"success":false,"error":"Insufficient scope","available_scopes":7}"#;
        let body = error_body(&raw(403, forbidden)).expect("the rest is read");
        assert_eq!(body.error.as_deref(), Some("Insufficient scope"));
        assert_eq!(body.available_scopes, None);
        let listed = r#"{"success":false,"available_scopes":["read:*",3," write:tasks"]}"#;
        let body = error_body(&raw(403, listed)).unwrap();
        assert_eq!(body.available_scopes.unwrap(), ["read:*", " write:tasks"]);
        let text = r#"{"success":false,"available_scopes":"read:*, write:tasks"}"#;
        let body = error_body(&raw(403, text)).unwrap();
        assert_eq!(body.available_scopes.unwrap(), ["read:*", " write:tasks"]);
    }

    #[test]
    fn unreadable_bodies_are_described_never_quoted() {
        let private = r#"{"items": [{"email": "ann.smith@example.com", "name": "Ann Smith""#;
        let detail = crate::wire::ListPage::parse(private.as_bytes(), "items").unwrap_err();
        let texts = [
            malformed("GET /time-entries", &raw(200, private), &detail).to_string(),
            map_error("GET /time-entries", &raw(502, private)).to_string(),
        ];
        for text in texts {
            assert!(
                !text.contains("ann.smith") && !text.contains("Ann Smith"),
                "{text}"
            );
            assert!(text.contains("GET /time-entries"), "{text}");
        }
    }

    fn err(status: u16, msg: &str) -> String {
        format!(r#"{{"success":false,"error":"{msg}","message":"{msg}","error_code":"error"}}"#)
            .replace("{status}", &status.to_string())
    }

    #[test]
    fn generic_400s_are_told_apart_by_message() {
        let overlap = map_error(
            "POST",
            &raw(400, &err(400, "This time overlaps with an existing entry.")),
        );
        assert!(matches!(
            overlap,
            ProviderError::Conflict {
                reason: ConflictReason::Overlap,
                ..
            }
        ));
        let dup = map_error(
            "POST",
            &raw(400, &err(400, "A client with this name already exists")),
        );
        assert!(matches!(
            dup,
            ProviderError::Conflict {
                reason: ConflictReason::Duplicate,
                ..
            }
        ));
        let gone = map_error("DELETE", &raw(400, &err(400, "Time entry not found")));
        assert!(matches!(gone, ProviderError::NotFound { .. }));
        let denied = map_error("DELETE", &raw(400, &err(400, "Access denied")));
        assert!(matches!(denied, ProviderError::Forbidden { .. }));
        let other = map_error(
            "POST",
            &raw(400, &err(400, "End time must be after start time")),
        );
        assert!(matches!(other, ProviderError::Rejected { .. }));
    }

    #[test]
    fn validation_errors_name_the_field() {
        let body = r#"{"success":false,"error":"Validation failed","message":"Validation failed","error_code":"validation_error","errors":{"source":["Unknown field."]}}"#;
        match map_error("POST", &raw(400, body)) {
            ProviderError::Rejected { message } => {
                assert!(message.contains("source: Unknown field."), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn statuses() {
        let auth =
            r#"{"error":"Invalid token","message":"Token not found","error_code":"unauthorized"}"#;
        assert!(matches!(
            map_error("GET", &raw(401, auth)),
            ProviderError::Auth { .. }
        ));
        let scope = r#"{"error":"Insufficient permissions","message":"x","error_code":"forbidden","required_scope":"write:clients"}"#;
        match map_error("POST", &raw(403, scope)) {
            ProviderError::Forbidden { message } => assert!(message.contains("write:clients")),
            other => panic!("{other:?}"),
        }
        let m405 = r#"{"success":false,"error":"The method is not allowed for the requested URL.","message":"x","error_code":405}"#;
        assert!(matches!(
            map_error("PUT", &raw(405, m405)),
            ProviderError::Unsupported { .. }
        ));
        let stale = r#"{"success":false,"error":"Time entry was modified on the server.","error_code":"conflict"}"#;
        assert!(matches!(
            map_error("PUT", &raw(409, stale)),
            ProviderError::Conflict {
                reason: ConflictReason::Stale,
                ..
            }
        ));
        let mut limited = raw(429, "{}");
        limited.retry_after = Some(Duration::from_secs(47));
        assert_eq!(
            map_error("GET", &limited),
            ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(47))
            }
        );
        assert!(map_error("GET", &raw(502, "<html>bad gateway</html>")).is_retryable());
        assert!(matches!(
            map_error("GET", &raw(302, "")),
            ProviderError::Setup { .. }
        ));
        assert!(matches!(
            map_error("GET", &raw(404, "{}")),
            ProviderError::NotFound { .. }
        ));
    }

    #[test]
    fn html_bodies_are_called_out() {
        match malformed(
            "GET /clients",
            &raw(200, "<!DOCTYPE html><html>"),
            "not JSON",
        ) {
            ProviderError::Setup { message } => assert!(message.contains("HTML")),
            other => panic!("{other:?}"),
        }
        match malformed("GET /clients", &raw(200, "{\"clients\": [1,"), "EOF") {
            ProviderError::Malformed { message } => assert!(message.contains("EOF")),
            other => panic!("{other:?}"),
        }
    }
}
